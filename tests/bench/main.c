// SPDX-License-Identifier: MIT
/*
 * iopf-bench: every case of the libiopf benchmark in one invocation.
 *
 *	iopf-bench [--json] [--runs N] [--quick] [--workers W] [--reporters R]
 *		   [--valgrind PATH] [--no-callgrind] [--only CASE,...]
 *	iopf-bench --check-budget --valgrind PATH     (the bench-suite test)
 *
 * Prints one table (median, spread over the runs), or one JSON object with
 * --json. See tests/bench/README.md for the method.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define INSTR_BUDGET 1000.0

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static void json_num(const char *key, double v, bool comma)
{
	if (isnan(v) || isinf(v))
		printf("\"%s\":null%s", key, comma ? "," : "");
	else
		printf("\"%s\":%.6g%s", key, v, comma ? "," : "");
}

struct summary {
	double cpu_ratio, vs_baseline, r1m, r100k;
	double cpu_ratio_unbound;
};

static struct summary summarize(const struct bench_results *r)
{
	struct summary s;

	/*
	 * Same workload on both sides: RID lookup, single-page groups, R = 2.
	 * The headline is the per-CPU queue (the configuration for a
	 * simulator's hot loop) against the per-CPU floor; the unbound queue
	 * (the default) against the unbound floor is reported beside it.
	 */
	s.cpu_ratio = ratio(r->pc_threaded_cpu_ns[1],
			    r->inline_cpu_ns + r->pc_floor_cpu_ns[1]);
	s.cpu_ratio_unbound = ratio(r->threaded_cpu_ns[1],
				    r->inline_cpu_ns + r->floor_cpu_ns[1]);
	s.vs_baseline = r->pc_vs_baseline[1];
	/*
	 * Routing: uniformly random PASIDs / devices reported in batches of
	 * 64 (a ring drain, the batch API), the only way past one dependent
	 * cache and TLB miss per report; single reports are reported beside.
	 */
	s.r1m = ratio(r->routing_batch_1m_ns, r->routing_batch_1k_ns);
	s.r100k = ratio(r->devices_batch_100k_ns, r->devices_batch_100_ns);
	return s;
}

static void print_json(const struct bench_opts *o,
		       const struct bench_results *r)
{
	struct summary s = summarize(r);

	printf("{");
	/* Say which configuration the headline keys measure, in the output. */
	printf("\"headline_configuration\":\"threaded_*: IOPF_QUEUE_PERCPU "
	       "queue vs per-CPU floor (default unbound queue: *_unbound); "
	       "routing_*: batches of 64 (one report at a time: *_single)\",");
	json_num("threaded_cpu_vs_inline_plus_floor", s.cpu_ratio, true);
	json_num("threaded_cpu_vs_inline_plus_floor_r1",
		 ratio(r->pc_threaded_cpu_ns[0],
		       r->inline_cpu_ns + r->pc_floor_cpu_ns[0]),
		 true);
	json_num("threaded_cpu_vs_inline_plus_floor_unbound",
		 s.cpu_ratio_unbound, true);
	json_num("threaded_cpu_vs_inline_plus_floor_unbound_r1",
		 ratio(r->threaded_cpu_ns[0],
		       r->inline_cpu_ns + r->floor_cpu_ns[0]),
		 true);
	json_num("threaded_vs_baseline", s.vs_baseline, true);
	json_num("threaded_vs_baseline_r1", r->pc_vs_baseline[0], true);
	json_num("threaded_vs_baseline_cpu", r->pc_vs_baseline_cpu[1], true);
	json_num("threaded_vs_baseline_cpu_r1", r->pc_vs_baseline_cpu[0], true);
	json_num("threaded_vs_baseline_unbound", r->vs_baseline[1], true);
	json_num("threaded_vs_baseline_unbound_r1", r->vs_baseline[0], true);
	json_num("threaded_vs_baseline_cpu_unbound", r->vs_baseline_cpu[1],
		 true);
	json_num("inline_instructions_per_group", r->inline_instr, true);
	json_num("inline_lookup_instructions_per_group", r->inline_lookup_instr,
		 true);
	json_num("threaded_instr_vs_inline_plus_floor",
		 ratio(r->threaded_instr,
		       r->inline_lookup_instr + r->floor_instr),
		 true);
	json_num("threaded_instr_vs_baseline",
		 ratio(r->baseline_instr, r->threaded_instr), true);
	printf("\"instructions_from\":\"%s\",",
	       r->instr_source ? r->instr_source : "none");
	json_num("routing_1m_vs_1k", s.r1m, true);
	json_num("routing_1m_vs_1k_hot",
		 ratio(r->routing_hot_1m_ns, r->routing_hot_1k_ns), true);
	json_num("routing_1m_vs_1k_single",
		 ratio(r->routing_1m_ns, r->routing_1k_ns), true);
	json_num("routing_100k_vs_100_devices", s.r100k, true);
	json_num("routing_100k_vs_100_devices_single",
		 ratio(r->devices_100k_ns, r->devices_100_ns), true);
	json_num("routing_100k_vs_100_devices_hot",
		 ratio(r->devices_hot_100k_ns, r->devices_hot_100_ns), true);
	json_num("baseline_routing_100k_vs_100_devices",
		 r->baseline_devices_ratio, true);
	json_num("bytes_per_partial", r->bytes_per_partial, true);
	json_num("bytes_per_pending_group", r->bytes_per_group, true);
	json_num("inline_ns_per_group", r->inline_ns, true);
	json_num("inline_4page_ns_per_group", r->inline_4p_ns, true);
	json_num("threaded_groups_per_s", r->pc_threaded_gps[1], true);
	json_num("threaded_unbound_groups_per_s", r->threaded_gps[1], true);
	json_num("baseline_groups_per_s", r->baseline_gps[1], true);
	json_num("vtd_dma_per_s_manual",
		 r->vtd_manual_ns > 0 ? 1e9 / r->vtd_manual_ns : NAN, true);
	json_num("vtd_dma_4page_per_s_manual",
		 r->vtd_manual_4p_ns > 0 ? 1e9 / r->vtd_manual_4p_ns : NAN,
		 true);
	json_num("vtd_dma_per_s_threaded", r->vtd_threaded_dps[1], true);
	json_num("vtd_dma_per_s_threaded_e1", r->vtd_threaded_dps[0], true);
	json_num("vtd_cpu_ns_per_dma_manual", r->vtd_manual_ns, true);
	json_num("vtd_cpu_ns_per_dma_threaded", r->vtd_threaded_cpu_ns[1],
		 true);
	json_num("vtd_instructions_per_dma_manual", r->vtd_manual_instr, true);
	json_num("vtd_wake_ring_rounds_per_s", r->vtd_ring_rps[0], true);
	json_num("vtd_wake_ring_one_cpu_rounds_per_s", r->vtd_ring_rps[1],
		 true);
	json_num("vtd_wake_ring_across_cpus_rounds_per_s", r->vtd_ring_rps[2],
		 true);
	printf("\"runs\":%u,\"workers\":%u,", o->runs, o->workers);
	bench_print_rows_json();
	printf("}\n");
}

static void target(const char *name, double v, double limit, bool at_most)
{
	bool ok = at_most ? v <= limit : v >= limit;

	printf("  %-36s %10.3f  %s %-6g %s\n", name, v,
	       at_most ? "<=" : ">=", limit,
	       isnan(v) ? "n/a" :
	       ok	? "met" :
			  "MISSED");
}

static void print_text(const struct bench_results *r)
{
	struct summary s = summarize(r);

	bench_print_table();
	printf("\ntargets:\n");
	target("threaded_cpu_vs_inline_plus_floor", s.cpu_ratio, 1.5, true);
	target("threaded_vs_baseline", s.vs_baseline, 1.2, false);
	target("(threaded_vs_baseline_cpu)", r->pc_vs_baseline_cpu[1], 1.2,
	       false);
	target("(..._cpu_vs_inline_plus_floor_unbound)", s.cpu_ratio_unbound,
	       1.5, true);
	target("(threaded_vs_baseline_unbound)", r->vs_baseline[1], 1.2, false);
	target("(threaded_instr_vs_inline_plus_floor)",
	       ratio(r->threaded_instr,
		     r->inline_lookup_instr + r->floor_instr),
	       1.5, true);
	target("(threaded_instr_vs_baseline)",
	       ratio(r->baseline_instr, r->threaded_instr), 1.2, false);
	target("inline_instructions_per_group", r->inline_instr, INSTR_BUDGET,
	       true);
	target("routing_1m_vs_1k", s.r1m, 1.5, true);
	target("routing_100k_vs_100_devices", s.r100k, 1.5, true);
	target("(routing_1m_vs_1k_single)",
	       ratio(r->routing_1m_ns, r->routing_1k_ns), 1.5, true);
	target("(routing_100k_vs_100_devices_single)",
	       ratio(r->devices_100k_ns, r->devices_100_ns), 1.5, true);
	target("bytes_per_partial", r->bytes_per_partial, 96, true);
	target("bytes_per_pending_group", r->bytes_per_group, 256, true);
}

static void bench_results_init(struct bench_results *r)
{
	double *v = (double *)r;

	/* Every number starts as "not measured". */
	memset(r, 0, sizeof(*r));
	for (size_t i = 0;
	     i < offsetof(struct bench_results, instr_source) / sizeof(double);
	     i++)
		v[i] = NAN;
}

/* For callgrind: one run of a multi-threaded case, two workers. */
static int mt_count(const char *which, unsigned long n, unsigned int nr_rep)
{
	if (!strcmp(which, "threaded"))
		bench_threaded_run(nr_rep, 2, n);
	else if (!strcmp(which, "floor"))
		bench_floor_run(nr_rep, 2, n);
	else if (!strcmp(which, "baseline"))
		bench_baseline_run(nr_rep, 2, n);
	else
		return 2;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: iopf-bench [--json] [--runs N] [--quick] "
		"[--workers W] [--valgrind PATH] [--no-callgrind] "
		"[--only inline,threaded,floor,baseline,scale,vtd,instr] "
		"[--check-budget]\n");
	exit(2);
}

static bool wanted(const char *only, const char *name)
{
	return !only || strstr(only, name);
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .runs = 5, .workers = 2, .self = argv[0] };
	static char self[4096];
	ssize_t len;
	struct bench_results r;
	const char *only = NULL;
	bool check = false;

	bench_results_init(&r);
	/* The callgrind re-run needs this binary's path, not how we were called. */
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = '\0';
		o.self = self;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--inline-count") && v)
			return bench_inline_count(strtoul(v, NULL, 0), false);
		if (!strcmp(a, "--lookup-count") && v)
			return bench_inline_count(strtoul(v, NULL, 0), true);
		if (!strcmp(a, "--baseline-count") && v)
			return bench_baseline_inline_count(strtoul(v, NULL, 0));
		if (!strcmp(a, "--vtd-count") && v)
			return bench_vtd_manual_count(strtoul(v, NULL, 0));
		if (!strcmp(a, "--mt-count") && i + 3 < argc)
			return mt_count(argv[i + 1],
					strtoul(argv[i + 2], NULL, 0),
					(unsigned int)atoi(argv[i + 3]));
		if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "--quick")) {
			o.quick = true;
		} else if (!strcmp(a, "--no-callgrind")) {
			o.no_callgrind = true;
		} else if (!strcmp(a, "--check-budget")) {
			check = true;
		} else if (v && !strcmp(a, "--runs")) {
			o.runs = (unsigned int)atoi(v);
			i++;
		} else if (v && !strcmp(a, "--reporters")) {
			o.reporters = (unsigned int)atoi(v);
			i++;
		} else if (v && !strcmp(a, "--workers")) {
			o.workers = (unsigned int)atoi(v);
			i++;
		} else if (v && !strcmp(a, "--valgrind")) {
			o.valgrind = v;
			i++;
		} else if (v && !strcmp(a, "--only")) {
			only = v;
			i++;
		} else {
			usage();
		}
	}
	if (check)
		return bench_check_budget(&o, INSTR_BUDGET);
	if (!o.runs || o.runs > BENCH_MAX_RUNS || !o.workers ||
	    o.workers > BENCH_MAX_THREADS)
		usage();
	if (wanted(only, "inline"))
		bench_inline(&o, &r);
	if (wanted(only, "threaded") || wanted(only, "floor") ||
	    wanted(only, "baseline"))
		bench_threads(&o, &r, wanted(only, "threaded"),
			      wanted(only, "floor"), wanted(only, "baseline"));
	if (wanted(only, "scale"))
		bench_scale(&o, &r);
	if (wanted(only, "vtd"))
		bench_vtd(&o, &r);
	if (wanted(only, "instr"))
		bench_instructions(&o, &r);
	if (o.json)
		print_json(&o, &r);
	else
		print_text(&r);
	return 0;
}
