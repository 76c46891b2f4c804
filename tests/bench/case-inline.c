// SPDX-License-Identifier: MIT
/*
 * Case "inline": manual mode, one thread, a handler that answers and frees
 * the group at once. What one group costs when nothing is handed over:
 * device lookup by requester ID, report, routing, grouping, handler,
 * response, free.
 */
#include <stdio.h>

#include "libenv.h"

/* Single-page groups; @lookup: from the wire (RID), else a device pointer. */
static void __attribute__((noinline))
inline_loop(struct lib_env *env, unsigned long n, bool lookup)
{
	struct iopf_device *dev = env->devs[0];
	struct iopf_fault f;

	for (unsigned long i = 0; i < n; i++) {
		bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511), i << 12, true,
			    0);
		if (lookup)
			lib_report_rid(env->iommu, BENCH_RID(0), &f);
		else
			iopf_report_device_fault(dev, &f);
	}
}

/* Groups of @pages requests, every request looked up by RID. */
static void inline_loop_pages(struct lib_env *env, unsigned long n,
			      unsigned int pages)
{
	struct iopf_fault f;

	for (unsigned long i = 0; i < n; i++) {
		for (unsigned int p = 0; p < pages; p++) {
			bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511),
				    (i * pages + p) << 12, p == pages - 1, 0);
			lib_report_rid(env->iommu, BENCH_RID(0), &f);
		}
	}
}

static void env_inline(struct lib_env *env, struct bench_port *port)
{
	bench_port_init(port);
	lib_env_new(env, 0, 1, 1u << IOPF_PASID_BITS, BENCH_PASID,
		    bench_answer_now, port, true);
}

int bench_inline_count(unsigned long n, bool lookup)
{
	struct bench_port port;
	struct lib_env env;

	env_inline(&env, &port);
	inline_loop(&env, n, lookup);
	lib_env_free(&env);
	return atomic_load(&port.answered) == n ? 0 : 1;
}

/* CPU time of this thread per group (a shared machine's load doesn't count). */
static double one_run(struct lib_env *env, struct bench_port *port,
		      unsigned long n, int mode)
{
	unsigned long before = atomic_load(&port->answered);
	uint64_t t0 = bench_thread_ns();
	double ns;

	if (mode == 4)
		inline_loop_pages(env, n, 4);
	else
		inline_loop(env, n, mode == 1);
	ns = (double)(bench_thread_ns() - t0) / (double)n;
	if (atomic_load(&port->answered) - before != n)
		bench_die("inline: lost responses", 5);
	return ns;
}

void bench_inline(const struct bench_opts *o, struct bench_results *r)
{
	unsigned long n = o->quick ? 50000 : 200000;
	struct bench_stat lk = { 0 }, bare = { 0 }, four = { 0 };
	struct bench_port port;
	struct lib_env env;

	env_inline(&env, &port);
	one_run(&env, &port, n / 4, 1); /* warm caches and lazy binding */
	for (unsigned int i = 0; i < o->runs; i++) {
		bench_stat_add(&lk, one_run(&env, &port, n, 1));
		bench_stat_add(&bare, one_run(&env, &port, n, 0));
		bench_stat_add(&four, one_run(&env, &port, n / 4, 4));
	}
	lib_env_free(&env);
	bench_row("inline", "1-page group, RID lookup", "ns/group", &lk);
	bench_row("inline", "1-page group, device pointer", "ns/group", &bare);
	bench_row("inline", "4-page group, RID lookup", "ns/group", &four);
	r->inline_ns = bench_median(&lk);
	r->inline_cpu_ns = r->inline_ns;
	r->inline_bare_ns = bench_median(&bare);
	r->inline_4p_ns = bench_median(&four);
}
