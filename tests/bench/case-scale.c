// SPDX-License-Identifier: MIT
/*
 * Case "scale": does the fault path cost the same when the tables are big?
 *
 *  - routing: one device with 1 K or 1 M PASIDs attached (one handle each);
 *    single-page groups at PASIDs drawn uniformly from every attached one
 *    (the worst case for caches), and from the first 1000 only ("hot": the
 *    table's own cost, without the cache misses of a bigger working set);
 *  - devices: 100 or 100 K devices on one IOMMU, attached at the RID;
 *    groups from uniformly random requester IDs, looked up on each report,
 *    and from the first 100 IDs only ("hot");
 *  - the machine's own cost of a random read in a small and a big working
 *    set, to tell the table's cost from the memory hierarchy's;
 *  - memory per stored partial fault and per pending single-page group,
 *    from the allocator's own count (mallinfo2), not from sizeof.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "libenv.h"

/* ---- routing -------------------------------------------------------------- */

static void attach_pasids(struct lib_env *env, uint32_t nr,
			  struct iopf_attach_handle *handles)
{
	/* PASID 1 came with the environment. */
	for (uint32_t p = 2; p <= nr; p++) {
		int ret = iopf_attach_device_pasid(env->domain, env->devs[0], p,
						   &handles[p]);

		if (ret)
			bench_die("attach", ret);
	}
}

static double __attribute__((noinline))
routing_loop(struct lib_env *env, unsigned long n, uint32_t span, uint64_t seed)
{
	struct iopf_device *dev = env->devs[0];
	uint64_t t0 = bench_thread_ns();
	struct iopf_fault f;

	for (unsigned long i = 0; i < n; i++) {
		uint32_t pasid = 1 + (uint32_t)(bench_rand(&seed) % span);

		bench_fault(&f, pasid, (uint32_t)(i & 511), i << 12, true, 0);
		iopf_report_device_fault(dev, &f);
	}
	return (double)(bench_thread_ns() - t0) / (double)n;
}

#define BATCH 64

/* The same, reported BATCH at a time (a ring drain). */
static double __attribute__((noinline))
routing_loop_batched(struct lib_env *env, unsigned long n, uint32_t span,
		     uint64_t seed)
{
	struct iopf_device *dev = env->devs[0];
	struct iopf_fault f[BATCH];
	uint64_t t0 = bench_thread_ns();

	for (unsigned long i = 0; i < n; i += BATCH) {
		for (unsigned int b = 0; b < BATCH; b++) {
			uint32_t pasid =
				1 + (uint32_t)(bench_rand(&seed) % span);

			bench_fault(&f[b], pasid, (uint32_t)((i + b) & 511),
				    (i + b) << 12, true, 0);
		}
		iopf_report_device_faults(dev, f, BATCH, NULL);
	}
	return (double)(bench_thread_ns() - t0) / (double)n;
}

static void routing(const struct bench_opts *o, uint32_t nr, double *all,
		    double *hot, double *batched)
{
	unsigned long n = o->quick ? 100000 : 200000;
	struct bench_stat s_all = { 0 }, s_hot = { 0 }, s_b = { 0 };
	struct iopf_attach_handle *handles;
	struct bench_port port;
	struct lib_env env;
	uint64_t t0;

	handles = calloc((size_t)nr + 1, sizeof(*handles));
	if (!handles)
		bench_die("calloc", 12);
	bench_port_init(&port);
	lib_env_new(&env, 0, 1, 1u << IOPF_PASID_BITS, BENCH_PASID,
		    bench_answer_now, &port, true);
	t0 = bench_now_ns();
	attach_pasids(&env, nr, handles);
	bench_row1("scale", nr > 1024 ? "attach 1M PASIDs" : "attach 1K PASIDs",
		   "ms", (double)(bench_now_ns() - t0) / 1e6);
	routing_loop(&env, n / 4, nr, 1);
	for (unsigned int i = 0; i < o->runs; i++) {
		bench_stat_add(&s_all, routing_loop(&env, n, nr, 7 + i));
		bench_stat_add(&s_hot, routing_loop(&env, n, 1000, 7 + i));
		bench_stat_add(&s_b, routing_loop_batched(&env, n, nr, 7 + i));
	}
	t0 = bench_now_ns();
	lib_env_free(&env);
	bench_row1("scale",
		   nr > 1024 ? "ctx_free, 1M PASIDs" : "ctx_free, 1K PASIDs",
		   "ms", (double)(bench_now_ns() - t0) / 1e6);
	free(handles);
	bench_row("scale",
		  nr > 1024 ? "route, 1M PASIDs, uniform" :
			      "route, 1K PASIDs, uniform",
		  "ns/group", &s_all);
	bench_row("scale",
		  nr > 1024 ? "route, 1M PASIDs, hot 1000" :
			      "route, 1K PASIDs, hot 1000",
		  "ns/group", &s_hot);
	bench_row("scale",
		  nr > 1024 ? "route, 1M PASIDs, uniform, batch 64" :
			      "route, 1K PASIDs, uniform, batch 64",
		  "ns/group", &s_b);
	*all = bench_median(&s_all);
	*hot = bench_median(&s_hot);
	*batched = bench_median(&s_b);
}

/* ---- devices --------------------------------------------------------------- */

static double __attribute__((noinline))
devices_loop(struct lib_env *env, unsigned long n, uint32_t nr, uint64_t seed)
{
	uint64_t t0 = bench_thread_ns();
	struct iopf_fault f;

	for (unsigned long i = 0; i < n; i++) {
		uint32_t d = (uint32_t)(bench_rand(&seed) % nr);

		bench_fault(&f, IOPF_NO_PASID, (uint32_t)(i & 511), i << 12,
			    true, 0);
		lib_report_rid(env->iommu, BENCH_RID(d), &f);
	}
	return (double)(bench_thread_ns() - t0) / (double)n;
}

static double __attribute__((noinline))
devices_loop_batched(struct lib_env *env, unsigned long n, uint32_t nr,
		     uint64_t seed)
{
	struct iopf_fault f[BATCH];
	uint32_t ids[BATCH];
	uint64_t t0 = bench_thread_ns();

	for (unsigned long i = 0; i < n; i += BATCH) {
		for (unsigned int b = 0; b < BATCH; b++) {
			ids[b] = BENCH_RID(bench_rand(&seed) % nr);
			bench_fault(&f[b], IOPF_NO_PASID,
				    (uint32_t)((i + b) & 511), (i + b) << 12,
				    true, 0);
		}
		iopf_iommu_report_faults(env->iommu, ids, f, BATCH, NULL);
	}
	return (double)(bench_thread_ns() - t0) / (double)n;
}

static void devices(const struct bench_opts *o, uint32_t nr, double *all,
		    double *hot, double *batched)
{
	unsigned long n = o->quick ? 100000 : 200000;
	struct bench_stat s_all = { 0 }, s_hot = { 0 }, s_b = { 0 };
	bool big = nr > 1000;
	struct bench_port port;
	struct lib_env env;
	uint64_t t0;

	bench_port_init(&port);
	t0 = bench_now_ns();
	lib_env_new(&env, 0, nr, 0, IOPF_NO_PASID, bench_answer_now, &port,
		    true);
	bench_row1("scale", big ? "setup 100K devices" : "setup 100 devices",
		   "ms", (double)(bench_now_ns() - t0) / 1e6);
	devices_loop(&env, n / 4, nr, 1);
	for (unsigned int i = 0; i < o->runs; i++) {
		bench_stat_add(&s_all, devices_loop(&env, n, nr, 7 + i));
		bench_stat_add(&s_hot, devices_loop(&env, n, 100, 7 + i));
		bench_stat_add(&s_b, devices_loop_batched(&env, n, nr, 7 + i));
	}
	t0 = bench_now_ns();
	lib_env_free(&env);
	bench_row1("scale",
		   big ? "ctx_free, 100K devices" : "ctx_free, 100 devices",
		   "ms", (double)(bench_now_ns() - t0) / 1e6);
	bench_row("scale",
		  big ? "route, 100K devices, uniform" :
			"route, 100 devices, uniform",
		  "ns/group", &s_all);
	bench_row("scale",
		  big ? "route, 100K devices, hot 100" :
			"route, 100 devices, hot 100",
		  "ns/group", &s_hot);
	bench_row("scale",
		  big ? "route, 100K devices, uniform, batch 64" :
			"route, 100 devices, uniform, batch 64",
		  "ns/group", &s_b);
	*all = bench_median(&s_all);
	*hot = bench_median(&s_hot);
	*batched = bench_median(&s_b);
}

/*
 * What one dependent random read from a working set of @bytes costs on
 * this machine (cache and TLB misses, nested paging in a VM): the floor
 * under any routing table that big, however it is built.
 */
static volatile size_t sink;

static double random_read_ns(size_t bytes)
{
	size_t nr = bytes / 64, steps = 2000000;
	uint64_t t0, seed = 3;
	size_t *next, i, j;

	next = malloc(nr * 64);
	if (!next)
		bench_die("malloc", 12);
	/* One random cycle through every line (Sattolo's shuffle). */
	for (i = 0; i < nr; i++)
		next[i * 8] = i;
	for (i = nr - 1; i > 0; i--) {
		size_t t;

		j = (size_t)(bench_rand(&seed) % i);
		t = next[i * 8];
		next[i * 8] = next[j * 8];
		next[j * 8] = t;
	}
	j = 0;
	t0 = bench_thread_ns();
	for (i = 0; i < steps; i++)
		j = next[j * 8];
	t0 = bench_thread_ns() - t0;
	free(next);
	sink = j; /* keep the chase */
	return (double)t0 / (double)steps;
}

/* ---- memory ---------------------------------------------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static struct iopf_group **held;
static unsigned long nr_held;

static int hold_group(struct iopf_group *group)
{
	held[nr_held++] = group;
	return 0;
}

static double bytes_per_partial(unsigned long k)
{
	struct bench_port port;
	struct lib_env env;
	struct iopf_fault f;
	size_t before, after;

	bench_port_init(&port);
	lib_env_new(&env, 0, 1, 1u << IOPF_PASID_BITS, BENCH_PASID,
		    bench_answer_now, &port, true);
	before = heap_in_use();
	for (unsigned long i = 0; i < k; i++) {
		bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511), i << 12,
			    false, 0);
		if (iopf_report_device_fault(env.devs[0], &f))
			bench_die("partial", 12);
	}
	after = heap_in_use();
	lib_env_free(&env);
	/* A sanitizer's allocator does not feed mallinfo2(). */
	return after > before ? (double)(after - before) / (double)k : NAN;
}

static double bytes_per_group(unsigned long k)
{
	struct bench_port port;
	struct lib_env env;
	struct iopf_fault f;
	size_t before, after;

	held = calloc(k, sizeof(*held));
	if (!held)
		bench_die("calloc", 12);
	nr_held = 0;
	bench_port_init(&port);
	lib_env_new(&env, 0, 1, 1u << IOPF_PASID_BITS, BENCH_PASID, hold_group,
		    &port, true);
	before = heap_in_use();
	for (unsigned long i = 0; i < k; i++) {
		bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511), i << 12, true,
			    0);
		iopf_report_device_fault(env.devs[0], &f);
	}
	after = heap_in_use();
	if (nr_held != k)
		bench_die("pending groups", 5);
	for (unsigned long i = 0; i < k; i++)
		bench_answer_now(held[i]);
	lib_env_free(&env);
	free(held);
	/* A sanitizer's allocator does not feed mallinfo2(). */
	return after > before ? (double)(after - before) / (double)k : NAN;
}

void bench_scale(const struct bench_opts *o, struct bench_results *r)
{
	unsigned long k = 100000;

	routing(o, 1000, &r->routing_1k_ns, &r->routing_hot_1k_ns,
		&r->routing_batch_1k_ns);
	routing(o, o->quick ? 100000 : 1000000, &r->routing_1m_ns,
		&r->routing_hot_1m_ns, &r->routing_batch_1m_ns);
	devices(o, 100, &r->devices_100_ns, &r->devices_hot_100_ns,
		&r->devices_batch_100_ns);
	devices(o, o->quick ? 10000 : 100000, &r->devices_100k_ns,
		&r->devices_hot_100k_ns, &r->devices_batch_100k_ns);
	{
		uint32_t big = o->quick ? 10000 : 100000;
		unsigned long n = o->quick ? 100000 : 200000;
		double b100 = bench_baseline_devices(100, 100, n, o->runs);
		double b100k = bench_baseline_devices(big, big, n, o->runs);

		bench_row1("scale", "baseline: route, 100 devices", "ns/group",
			   b100);
		bench_row1("scale", "baseline: route, 100K devices", "ns/group",
			   b100k);
		r->baseline_devices_ratio = b100k / b100;
	}
	bench_row1("scale", "random read, 64 KB working set", "ns/read",
		   random_read_ns(64 << 10));
	bench_row1("scale", "random read, 64 MB working set", "ns/read",
		   random_read_ns(64 << 20));
	r->bytes_per_partial = bytes_per_partial(k);
	r->bytes_per_group = bytes_per_group(k);
	bench_row1("scale", "memory per stored partial", "bytes",
		   r->bytes_per_partial);
	bench_row1("scale", "memory per pending 1-page group", "bytes",
		   r->bytes_per_group);
}
