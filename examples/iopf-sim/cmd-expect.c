// SPDX-License-Identifier: MIT
/*
 * "expect" lines: assertions on the previous command's result, on the
 * responses and events seen in the trace, and on the state of objects.
 * A failed expectation ends the run with the line number and what was
 * found instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "handlers.h"
#include "sim.h"

#ifdef IOPF_SIM_SVA
#include <iopf/sva.h>
#endif

static int fail(struct sim *sim, const char *what, long want, long got)
{
	return sim_error(sim, "expect failed: %s: expected %ld, got %ld", what,
			 want, got);
}

/* expect ret VALUE */
static int exp_ret(struct sim *sim, struct sim_args *args)
{
	const char *v = sim_pos(sim, args, 1, "value");
	long want;

	if (!v || sim_errno(sim, v, &want) || sim_done(sim, args))
		return -1;
	sim->ret_unchecked = false;
	if (want != sim->last_ret) {
		const char *w = sim_errno_name(want),
			   *g = sim_errno_name(sim->last_ret);

		return sim_error(sim,
				 "expect failed: line %u returned %ld%s%s%s, "
				 "expected %ld%s%s%s",
				 sim->ret_line, sim->last_ret, g ? " (-" : "",
				 g ? g : "", g ? ")" : "", want, w ? " (-" : "",
				 w ? w : "", w ? ")" : "");
	}
	return 0;
}

/* The filter of "expect response(s)": every key given must match. */
struct resp_filter {
	const char *dev;
	bool has_pasid, has_grpid, has_code, has_origin;
	uint32_t pasid, grpid, code, origin;
};

static int parse_filter(struct sim *sim, struct sim_args *args,
			struct resp_filter *f)
{
	const char *s;

	memset(f, 0, sizeof(*f));
	f->dev = sim_opt(args, "dev");
	if ((s = sim_opt(args, "pasid"))) {
		f->has_pasid = true;
		if (!strcmp(s, "none"))
			f->pasid = IOPF_PASID_INVALID;
		else if (sim_pasid_arg(sim, s, &f->pasid))
			return -1;
	}
	if ((s = sim_opt(args, "grpid"))) {
		f->has_grpid = true;
		if (sim_u32(sim, s, "grpid", &f->grpid))
			return -1;
	}
	if ((s = sim_opt(args, "code"))) {
		f->has_code = true;
		if (sim_code(sim, s, &f->code))
			return -1;
	}
	if ((s = sim_opt(args, "origin"))) {
		f->has_origin = true;
		for (f->origin = 0; f->origin < 32; f->origin++)
			if (!strcmp(iopf_trace_origin_name(f->origin), s))
				break;
		if (f->origin == 32)
			return sim_error(sim, "origin: unknown origin '%s'", s);
	}
	return 0;
}

static bool match(const struct resp_filter *f, const struct sim_response *r)
{
	return (!f->dev || !strcmp(f->dev, r->dev)) &&
	       (!f->has_pasid || f->pasid == r->pasid) &&
	       (!f->has_grpid || f->grpid == r->grpid) &&
	       (!f->has_code || (int32_t)f->code == r->code) &&
	       (!f->has_origin || f->origin == r->origin);
}

static void describe(struct sim *sim, size_t i, const struct sim_response *r)
{
	const char *code = r->code == 0 ? "SUCCESS" :
			   r->code == 1 ? "INVALID" :
			   r->code == 2 ? "FAILURE" :
					  "?";

	fprintf(stderr,
		"%s:%u:   response %zu: dev=%s pasid=%" PRId32 " grpid=%" PRIu32
		" code=%s origin=%s\n",
		sim->file, sim->line, i + 1, r->dev,
		r->pasid == IOPF_PASID_INVALID ? -1 : (int32_t)r->pasid,
		r->grpid, code, iopf_trace_origin_name(r->origin));
}

/* expect response [index=N] [dev=D] [pasid=P] [grpid=G] [code=C] [origin=O] */
static int exp_response(struct sim *sim, struct sim_args *args)
{
	struct resp_filter f;
	uint32_t index = 0;
	bool found = false;

	if (sim_opt_u32(sim, args, "index", &index) ||
	    parse_filter(sim, args, &f) || sim_done(sim, args))
		return -1;
	pthread_mutex_lock(&sim->log_lock);
	for (size_t i = 0; i < sim->nr_resp && !found; i++)
		if ((!index || i + 1 == index) && match(&f, &sim->resp[i]))
			found = true;
	pthread_mutex_unlock(&sim->log_lock);
	if (found)
		return 0;
	pthread_mutex_lock(&sim->log_lock);
	sim_error(sim, "expect failed: no such response%s (%zu seen)",
		  index ? " at that index" : "", sim->nr_resp);
	for (size_t i = 0; i < sim->nr_resp; i++)
		describe(sim, i, &sim->resp[i]);
	pthread_mutex_unlock(&sim->log_lock);
	return -1;
}

/* expect responses N [filter]: how many responses match */
static int exp_responses(struct sim *sim, struct sim_args *args)
{
	struct resp_filter f;
	uint32_t want;
	long n = 0;

	if (sim_u32(sim, sim_pos(sim, args, 1, "count"), "count", &want) ||
	    parse_filter(sim, args, &f) || sim_done(sim, args))
		return -1;
	pthread_mutex_lock(&sim->log_lock);
	for (size_t i = 0; i < sim->nr_resp; i++)
		n += match(&f, &sim->resp[i]);
	pthread_mutex_unlock(&sim->log_lock);
	return n == want ? 0 : fail(sim, "responses", want, n);
}

/* expect events TYPE N: how many trace events of a type so far */
static int exp_events(struct sim *sim, struct sim_args *args)
{
	const char *t = sim_pos(sim, args, 1, "event type");
	uint32_t type, want;
	uint64_t n;

	if (!t)
		return -1;
	for (type = 1; type < IOPF_TRACE_TYPE_MAX; type++)
		if (!strcmp(iopf_trace_type_name(type), t))
			break;
	if (type == IOPF_TRACE_TYPE_MAX)
		return sim_error(sim, "expect events: unknown event type '%s'",
				 t);
	if (sim_u32(sim, sim_pos(sim, args, 2, "count"), "count", &want) ||
	    sim_done(sim, args))
		return -1;
	pthread_mutex_lock(&sim->log_lock);
	n = sim->events[type];
	pthread_mutex_unlock(&sim->log_lock);
	return n == want ? 0 : fail(sim, t, want, (long)n);
}

/* expect pending QUEUE N: work items queued and not yet run */
static int exp_pending(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *q =
		sim_get(sim, SIM_QUEUE, sim_pos(sim, args, 1, "queue"));
	uint32_t want;
	size_t n;

	if (!q ||
	    sim_u32(sim, sim_pos(sim, args, 2, "count"), "count", &want) ||
	    sim_done(sim, args))
		return -1;
	n = iopf_queue_pending(q->ptr);
	return n == want ? 0 : fail(sim, "pending work", want, (long)n);
}

/* expect held DOMAIN N: groups a "hold" handler keeps */
static int exp_held(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DOMAIN, sim_pos(sim, args, 1, "domain"));
	uint32_t want;
	long n;

	if (!d ||
	    sim_u32(sim, sim_pos(sim, args, 2, "count"), "count", &want) ||
	    sim_done(sim, args))
		return -1;
	n = sim_domain_held(d);
	if (n < 0)
		return sim_error(
			sim, "expect held: domain '%s' has no scripted handler",
			d->name);
	return n == want ? 0 : fail(sim, "held groups", want, n);
}

#ifdef IOPF_SIM_SVA
/* expect resident MM ADDR yes|no */
static int exp_resident(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *mm = sim_get(sim, SIM_MM, sim_pos(sim, args, 1, "mm"));
	const char *want;
	uint64_t addr;
	bool present;

	if (!mm ||
	    sim_u64(sim, sim_pos(sim, args, 2, "address"), "address", &addr))
		return -1;
	want = sim_pos(sim, args, 3, "yes|no");
	if (!want || sim_done(sim, args))
		return -1;
	if (strcmp(want, "yes") && strcmp(want, "no"))
		return sim_error(sim, "expect resident: '%s' is not yes or no",
				 want);
	present = iopf_mm_page_present(mm->ptr, addr);
	if (present != !strcmp(want, "yes"))
		return sim_error(sim,
				 "expect failed: page 0x%" PRIx64
				 " of '%s' is %sresident",
				 addr, mm->name, present ? "" : "not ");
	return 0;
}

/* expect pasid MM|BIND N|none */
static int exp_pasid(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 1, "mm or bind");
	const char *v = name ? sim_pos(sim, args, 2, "pasid") : NULL;
	uint32_t got, want = IOPF_PASID_INVALID;

	if (!v || sim_pasid_arg(sim, name, &got) ||
	    (strcmp(v, "none") && sim_u32(sim, v, "pasid", &want)) ||
	    sim_done(sim, args))
		return -1;
	if (got != want)
		return sim_error(sim,
				 "expect failed: pasid of '%s': expected %s, "
				 "got %" PRIu32,
				 name, v, got);
	return 0;
}
#endif

static const struct {
	const char *name;
	sim_cmd_fn fn;
} checks[] = {
	{ "ret", exp_ret },
	{ "response", exp_response },
	{ "responses", exp_responses },
	{ "events", exp_events },
	{ "pending", exp_pending },
	{ "held", exp_held },
#ifdef IOPF_SIM_SVA
	{ "resident", exp_resident },
	{ "pasid", exp_pasid },
#endif
#ifdef IOPF_SIM_CHANNEL
	{ "readable", sim_expect_readable },
#endif
	{ "hw", sim_expect_hw },
#ifdef IOPF_SIM_PCI
	{ "device", sim_expect_device },
#endif
};

static int cmd_expect(struct sim *sim, struct sim_args *args)
{
	const char *what = sim_pos(sim, args, 0, "what to check");

	if (!what)
		return -1;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(checks[i].name, what))
			return checks[i].fn(sim, args);
	return sim_error(sim, "expect: unknown check '%s'", what);
}

const struct sim_cmd sim_expect_cmds[] = {
	{ "expect", cmd_expect, true },
	{ NULL, NULL, false },
};
