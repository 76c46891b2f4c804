// SPDX-License-Identifier: MIT
/*
 * iopf-sim: run a scenario through libiopf and print the trace.
 *
 *   iopf-sim [--format text|json|mermaid|svg] [-o FILE] [--threads N]
 *            [--no-echo] SCENARIO
 *
 * Exit status: 0 when every line ran and every expect held, 1 on a syntax
 * error, a failed expect or a command error nobody expected (the message
 * is "file:line: ..."), 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "sim.h"

#define LINE_MAX_LEN 4096

extern const struct sim_backend sim_backend_mock;
#ifdef IOPF_SIM_VTD
extern const struct sim_backend sim_backend_vtd;
#endif
#ifdef IOPF_SIM_SMMUV3
extern const struct sim_backend sim_backend_smmuv3;
#endif
#ifdef IOPF_SIM_AMD
extern const struct sim_backend sim_backend_amd;
#endif

const struct sim_backend *const sim_backends[] = {
	&sim_backend_mock,
#ifdef IOPF_SIM_VTD
	&sim_backend_vtd,
#endif
#ifdef IOPF_SIM_SMMUV3
	&sim_backend_smmuv3,
#endif
#ifdef IOPF_SIM_AMD
	&sim_backend_amd,
#endif
	NULL,
};

static const struct sim_cmd *const cmd_tables[] = {
	sim_core_cmds,	  sim_handler_cmds, sim_hw_cmds,
#ifdef IOPF_SIM_PCI
	sim_pci_cmds,
#endif
#ifdef IOPF_SIM_SVA
	sim_sva_cmds,
#endif
#ifdef IOPF_SIM_CHANNEL
	sim_channel_cmds,
#endif
	sim_expect_cmds,
};

static const struct sim_cmd *lookup(const char *name)
{
	for (size_t t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (const struct sim_cmd *c = cmd_tables[t]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	for (size_t b = 0; sim_backends[b]; b++)
		for (const struct sim_cmd *c = sim_backends[b]->cmds;
		     c && c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

/* The trace sink: keep what expect lines check, then format. */
static void sim_sink(const struct iopf_trace_event *ev, void *priv)
{
	struct sim *sim = priv;
	bool hidden;

	pthread_mutex_lock(&sim->log_lock);
	hidden = sim_hidden_event(sim, ev);
	sim->events[ev->type < IOPF_TRACE_TYPE_MAX ? ev->type :
						     IOPF_TRACE_TYPE_MAX]++;
	if (ev->type == IOPF_TRACE_RESPONSE_SENT) {
		if (sim->nr_resp == sim->max_resp) {
			size_t max = sim->max_resp ? sim->max_resp * 2 : 64;
			struct sim_response *r =
				realloc(sim->resp, max * sizeof(*r));

			if (r) {
				sim->resp = r;
				sim->max_resp = max;
			}
		}
		if (sim->nr_resp < sim->max_resp) {
			struct sim_response *r = &sim->resp[sim->nr_resp++];

			snprintf(r->dev, sizeof(r->dev), "%s",
				 ev->device ? ev->device : "");
			r->pasid = ev->pasid;
			r->grpid = ev->grpid;
			r->code = ev->code;
			r->origin = ev->origin;
		} else {
			sim->log_nomem = true;
		}
	}
	pthread_mutex_unlock(&sim->log_lock);
	if (!hidden)
		iopf_trace_format_sink(ev, sim->fmt);
}

/* A command that failed must be followed by "expect ret". */
static int check_unexpected(struct sim *sim)
{
	const char *name = sim_errno_name(sim->last_ret);
	unsigned int line = sim->line;
	char value[32];
	int ret;

	if (!sim->ret_unchecked)
		return 0;
	if (name)
		snprintf(value, sizeof(value), "-%s", name);
	else
		snprintf(value, sizeof(value), "%ld", sim->last_ret);
	sim->line = sim->ret_line;
	ret = sim_error(
		sim,
		"%s failed with %s (write 'expect ret %s' after it if that "
		"is the point)",
		sim->ret_cmd, value, value);
	sim->line = line;
	return ret;
}

static void echo(struct sim *sim, const char *line)
{
	char note[LINE_MAX_LEN + 16];
	size_t n;

	while (*line == ' ' || *line == '\t')
		line++;
	snprintf(note, sizeof(note), "%u: %s", sim->line, line);
	n = strlen(note);
	while (n && (note[n - 1] == '\n' || note[n - 1] == '\r' ||
		     note[n - 1] == ' ' || note[n - 1] == '\t'))
		note[--n] = '\0';
	iopf_trace_formatter_note(sim->fmt, note);
}

static int run_line(struct sim *sim, char *line)
{
	char copy[LINE_MAX_LEN + 1];
	const struct sim_cmd *cmd;
	struct sim_args args;
	bool manual;
	char *p;

	/*
	 * "manual: LINE" runs only in manual mode (it checks an ordering
	 * --threads cannot promise); the prefix is blanked, the echo keeps it.
	 */
	p = line + strspn(line, " \t");
	manual = !strncmp(p, "manual:", 7) && (p[7] == ' ' || p[7] == '\t');
	if (manual && sim->threads)
		return 0;
	snprintf(copy, sizeof(copy), "%s", line);
	if (manual)
		memset(p, ' ', 7);
	if (sim_tokenize(sim, line, &args))
		return -1;
	if (!args.argc)
		return 0;
	/* the raw text after the command word, spaces kept (for "note") */
	args.rest = copy + (args.rest - line);
	cmd = lookup(args.argv[0]);
	if (!cmd)
		return sim_error(sim, "unknown command '%s'", args.argv[0]);
	if (!(cmd->fn == sim_expect_cmds[0].fn && args.argc > 1 &&
	      !strcmp(args.argv[1], "ret")) &&
	    check_unexpected(sim))
		return -1;
	if (!cmd->quiet && sim->echo)
		echo(sim, copy);
	sim->cmd = cmd->name;
	return cmd->fn(sim, &args);
}

int sim_run_file(struct sim *sim, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	sim->line = 0;
	while (!ret && (n = getline(&line, &cap, in)) >= 0) {
		sim->line++;
		if ((size_t)n != strlen(line))
			ret = sim_error(sim, "NUL byte in line");
		else if (n > LINE_MAX_LEN)
			ret = sim_error(sim, "line longer than %d bytes",
					LINE_MAX_LEN);
		else
			ret = run_line(sim, line);
	}
	free(line);
	if (!ret && ferror(in))
		ret = sim_error(sim, "read error");
	if (!ret)
		ret = check_unexpected(sim);
	if (!ret && sim->log_nomem)
		ret = sim_error(sim, "out of memory for the response log");
	return ret;
}

static void usage(FILE *f)
{
	fputs("usage: iopf-sim [--format text|json|mermaid|svg] [-o FILE] "
	      "[--threads N]\n"
	      "                [--no-echo] SCENARIO\n"
	      "Runs a scenario (docs/scenario-format.md) and prints its "
	      "trace.\n",
	      f);
}

struct options {
	enum iopf_trace_format format;
	const char *output;
	const char *input;
	unsigned int threads;
	bool echo;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "no-echo", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->echo = true;
	while ((c = getopt_long(argc, argv, "f:o:t:nh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			if (iopf_trace_format_parse(optarg, &o->format)) {
				fprintf(stderr,
					"iopf-sim: unknown format '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'o':
			o->output = optarg;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 64) {
				fprintf(stderr,
					"iopf-sim: --threads takes 1 to 64\n");
				return -1;
			}
			o->threads = (unsigned int)v;
			break;
		case 'n':
			o->echo = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	o->input = argv[optind];
	return 0;
}

static int setup(struct sim *sim, const struct options *o, FILE *out)
{
	int ret = iopf_trace_formatter_new(out, o->format, &sim->fmt);

	if (!ret)
		ret = iopf_ctx_new(&sim->ctx);
	if (!ret)
		ret = iopf_trace_set_sink(sim->ctx, sim_sink, sim);
	if (ret)
		fprintf(stderr, "iopf-sim: cannot start: %s\n", strerror(-ret));
	return ret;
}

/* The end of the scenario: free in the library's order, trace included. */
static int teardown(struct sim *sim)
{
	int ret = 0;

	if (sim->ctx) {
		if (sim->echo)
			iopf_trace_formatter_note(sim->fmt,
						  "end: iopf_ctx_free()");
		sim_objs_release(sim);
		iopf_ctx_free(sim->ctx);
	}
	sim_attaches_free(sim);
	sim_objs_free(sim);
	sim_hidden_free(sim);
	if (sim->fmt) {
		ret = iopf_trace_formatter_finish(sim->fmt);
		iopf_trace_formatter_free(sim->fmt);
	}
	free(sim->resp);
	if (ret)
		fprintf(stderr, "iopf-sim: writing the trace: %s\n",
			strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	struct sim sim = { .echo = true };
	struct options o;
	FILE *in, *out = stdout;
	int ret;

	if (parse_options(argc, argv, &o))
		return 2;
	in = strcmp(o.input, "-") ? fopen(o.input, "r") : stdin;
	if (!in) {
		fprintf(stderr, "iopf-sim: %s: %s\n", o.input, strerror(errno));
		return 2;
	}
	if (o.output && !(out = fopen(o.output, "w"))) {
		fprintf(stderr, "iopf-sim: %s: %s\n", o.output,
			strerror(errno));
		if (in != stdin)
			fclose(in);
		return 2;
	}
	sim.file = o.input;
	sim.threads = o.threads;
	sim.echo = o.echo;
	pthread_mutex_init(&sim.log_lock, NULL);
	ret = setup(&sim, &o, out) ? 1 : sim_run_file(&sim, in) ? 1 : 0;
	if (teardown(&sim))
		ret = 1;
	pthread_mutex_destroy(&sim.log_lock);
	if (in != stdin)
		fclose(in);
	if (out != stdout && fclose(out))
		ret = 1;
	return ret;
}
