// SPDX-License-Identifier: MIT
/*
 * Case "vtd": endpoint DMAs through the Intel VT-d model with SVA
 * resolution, the whole stack: the endpoint's ATS translation misses, it
 * sends a Page Request Group, the model writes page_req_dsc into the PRQ
 * ring, the prq side reports them to the core, the SVA handler faults the
 * pages in on the fault queue, a page_grp_resp_dsc goes back through the
 * invalidation queue as a PRG Response, the endpoint translates again and
 * the DMA completes.
 *
 * Every DMA touches pages that are not resident yet (a fresh page each
 * time; between runs the mapping is unmapped and mapped again, untimed), so
 * every DMA takes the full round trip.
 *
 *  - manual: no thread of its own (nr_prq_threads = 0): one endpoint, the
 *    DMA pumps the PRQ and the fault queue while it waits. Single thread,
 *    timed with its CPU clock, like the inline case.
 *  - threaded: a prq thread and W fault workers; E = 1, 2 endpoint threads,
 *    each with its own address space (PASID), one synchronous DMA at a time
 *    each. Wall-clock DMAs/s, CPU per DMA of every thread, DMA latency.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <iopf/iopf.h>
#include <iopf/sva.h>
#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#include "bench.h"

#define VTD_VA	   0x10000000ull
#define VTD_RW	   (IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE)
#define VTD_MAX_EP 2

struct vtd_env {
	struct iopf_ctx *ctx;
	struct iopf_vtd *vtd;
	unsigned int nr;
	uint64_t pages; /* mapped per address space */
	struct iopf_pci_endpoint *ep[VTD_MAX_EP];
	struct iopf_mm *mm[VTD_MAX_EP];
	struct iopf_sva *sva[VTD_MAX_EP];
	uint32_t pasid[VTD_MAX_EP];
};

static void vtd_check(const char *what, int ret)
{
	if (ret)
		bench_die(what, ret);
}

static void vtd_endpoint(struct vtd_env *env, unsigned int i)
{
	struct iopf_device_attr da = { .size = sizeof(da),
				       .id = 0x100 + i,
				       .max_pasids = 64 };
	struct iopf_pci_endpoint_attr ea = {
		.size = sizeof(ea),
		.rid = (uint16_t)(0x100 + i),
		.name = "bench-ep",
		.pri_capacity = 32,
		.prg_resp_pasid_required = true,
	};
	struct iopf_device *dev;

	vtd_check("vtd device",
		  iopf_device_new(iopf_vtd_iommu(env->vtd), &da, &dev));
	vtd_check("endpoint",
		  iopf_pci_endpoint_new(env->ctx, &ea, &env->ep[i]));
	vtd_check("connect", iopf_vtd_connect(env->vtd, env->ep[i]));
	vtd_check("enable PRI", iopf_pci_enable_pri(env->ep[i], 32));
	vtd_check("mm", iopf_mm_new(env->ctx, &env->mm[i]));
	vtd_check("map", iopf_mm_map(env->mm[i], VTD_VA,
				     env->pages * IOPF_MM_PAGE_SIZE,
				     IOPF_PROT_READ | IOPF_PROT_WRITE));
	vtd_check("bind", iopf_sva_bind_device(dev, env->mm[i], &env->sva[i]));
	env->pasid[i] = iopf_sva_get_pasid(env->sva[i]);
}

static void vtd_env_new(struct vtd_env *env, unsigned int nr, uint64_t pages,
			unsigned int prq_threads, unsigned int workers)
{
	struct iopf_vtd_attr va = {
		.size = sizeof(va),
		.pqs = 2, /* 512 entries */
		.nr_prq_threads = prq_threads,
		.nr_fault_workers = workers,
	};

	env->nr = nr;
	env->pages = pages;
	vtd_check("ctx", iopf_ctx_new(&env->ctx));
	vtd_check("vtd", iopf_vtd_new(env->ctx, &va, &env->vtd));
	for (unsigned int i = 0; i < nr; i++)
		vtd_endpoint(env, i);
}

/* Make every page non-resident again, so the next DMAs fault (untimed). */
static void vtd_env_reset(struct vtd_env *env)
{
	for (unsigned int i = 0; i < env->nr; i++) {
		vtd_check("unmap",
			  iopf_mm_unmap(env->mm[i], VTD_VA,
					env->pages * IOPF_MM_PAGE_SIZE));
		vtd_check("remap",
			  iopf_mm_map(env->mm[i], VTD_VA,
				      env->pages * IOPF_MM_PAGE_SIZE,
				      IOPF_PROT_READ | IOPF_PROT_WRITE));
	}
}

static void vtd_env_free(struct vtd_env *env)
{
	for (unsigned int i = 0; i < env->nr; i++) {
		iopf_sva_unbind_device(env->sva[i]);
		iopf_mm_put(env->mm[i]);
	}
	iopf_ctx_free(env->ctx); /* the model, devices and endpoints */
}

/* @n DMAs of @pages pages each, all on non-resident pages of endpoint @i. */
static void __attribute__((noinline))
vtd_dma_loop(struct vtd_env *env, unsigned int i, unsigned long n,
	     unsigned int pages, bool timed)
{
	uint64_t len = (uint64_t)pages * IOPF_MM_PAGE_SIZE;

	for (unsigned long k = 0; k < n; k++) {
		uint64_t addr = VTD_VA + k * len;
		uint64_t t0 =
			timed && !(k & BENCH_SAMPLE_MASK) ? bench_now_ns() : 0;
		int ret = iopf_pci_dma(env->ep[i], env->pasid[i], addr, len,
				       VTD_RW);

		if (ret)
			bench_die("iopf_pci_dma", ret);
		if (t0)
			bench_hist_record(bench_now_ns() - t0);
	}
}

/* ---- manual mode ---------------------------------------------------------- */

int bench_vtd_manual_count(unsigned long n)
{
	struct vtd_env env = { 0 };

	vtd_env_new(&env, 1, n, 0, 0);
	vtd_dma_loop(&env, 0, n, 1, false);
	vtd_env_free(&env);
	return 0;
}

/* CPU ns of this thread per DMA of @pages pages. */
static double manual_run(struct vtd_env *env, unsigned long n,
			 unsigned int pages)
{
	uint64_t t0;

	vtd_env_reset(env);
	t0 = bench_thread_ns();
	vtd_dma_loop(env, 0, n, pages, false);
	return (double)(bench_thread_ns() - t0) / (double)n;
}

static void vtd_manual(const struct bench_opts *o, struct bench_results *r)
{
	unsigned long n = o->quick ? 20000 : 50000;
	struct bench_stat one = { 0 }, four = { 0 };
	struct vtd_env env = { 0 };

	vtd_env_new(&env, 1, n, 0, 0);
	manual_run(&env, n / 4, 1); /* warm up */
	for (unsigned int i = 0; i < o->runs; i++) {
		bench_stat_add(&one, manual_run(&env, n, 1));
		bench_stat_add(&four, manual_run(&env, n / 4, 4));
	}
	vtd_env_free(&env);
	bench_row("vtd", "manual 1-page DMA", "ns/DMA", &one);
	bench_row("vtd", "manual 4-page DMA", "ns/DMA", &four);
	r->vtd_manual_ns = bench_median(&one);
	r->vtd_manual_4p_ns = bench_median(&four);
}

/* ---- threaded --------------------------------------------------------------- */

struct vtd_thread {
	pthread_t thread;
	struct vtd_env *env;
	unsigned int i;
	unsigned long n;
};

static void *vtd_thread_fn(void *arg)
{
	struct vtd_thread *t = arg;

	vtd_dma_loop(t->env, t->i, t->n, 1, true);
	return NULL;
}

static struct mt_run threaded_run(struct vtd_env *env, unsigned int nr,
				  unsigned long n)
{
	struct vtd_thread t[VTD_MAX_EP];
	uint64_t t0, c0, w0;
	struct mt_run r;

	vtd_env_reset(env);
	bench_hist_reset_all();
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	w0 = bench_csw();
	for (unsigned int i = 0; i < nr; i++) {
		t[i] = (struct vtd_thread){ .env = env, .i = i, .n = n / nr };
		if (pthread_create(&t[i].thread, NULL, vtd_thread_fn, &t[i]))
			bench_die("pthread_create", 11);
	}
	for (unsigned int i = 0; i < nr; i++)
		pthread_join(t[i].thread, NULL);
	r.gps = (double)n * 1e9 / (double)(bench_now_ns() - t0);
	r.cpu_ns = (double)(bench_cpu_ns() - c0) / (double)n;
	r.csw = (double)(bench_csw() - w0) * 1000.0 / (double)n;
	r.p50 = bench_hist_percentile(50);
	r.p99 = bench_hist_percentile(99);
	return r;
}

static const char *const thr_name[][6] = {
	{ "threaded E=1 throughput", "threaded E=1 CPU",
	  "threaded E=1 latency p50", "threaded E=1 latency p99",
	  "threaded E=1 context switches", "threaded E=1 CPUs busy" },
	{ "threaded E=2 throughput", "threaded E=2 CPU",
	  "threaded E=2 latency p50", "threaded E=2 latency p99",
	  "threaded E=2 context switches", "threaded E=2 CPUs busy" },
};

static void vtd_threaded(const struct bench_opts *o, struct bench_results *r)
{
	unsigned long n = o->quick ? 4000 : 8000;
	struct vtd_env env = { 0 };

	/* Two endpoints, each with n pages: E=1 uses the first only. */
	vtd_env_new(&env, VTD_MAX_EP, n, 1, o->workers);
	threaded_run(&env, VTD_MAX_EP, n / 4); /* warm up */
	for (unsigned int k = 0; k < 2; k++) {
		struct bench_stat s[6] = { 0 };

		for (unsigned int i = 0; i < o->runs; i++) {
			struct mt_run x = threaded_run(&env, k + 1, n);

			bench_stat_add(&s[0], x.gps);
			bench_stat_add(&s[1], x.cpu_ns);
			bench_stat_add(&s[2], x.p50);
			bench_stat_add(&s[3], x.p99);
			bench_stat_add(&s[4], x.csw);
			bench_stat_add(&s[5], x.cpu_ns * x.gps / 1e9);
		}
		bench_row("vtd", thr_name[k][0], "DMAs/s", &s[0]);
		bench_row("vtd", thr_name[k][1], "ns/DMA", &s[1]);
		bench_row("vtd", thr_name[k][2], "ns", &s[2]);
		bench_row("vtd", thr_name[k][3], "ns", &s[3]);
		bench_row("vtd", thr_name[k][4], "per 1K", &s[4]);
		bench_row("vtd", thr_name[k][5], "CPUs", &s[5]);
		r->vtd_threaded_dps[k] = bench_median(&s[0]);
		r->vtd_threaded_cpu_ns[k] = bench_median(&s[1]);
	}
	vtd_env_free(&env);
}

/* ---- the floor under a synchronous threaded DMA ----------------------------- */

/*
 * A threaded DMA is a chain of three sleeping threads: the endpoint wakes
 * the prq thread, the prq thread hands the group to a fault worker, the
 * worker's response wakes the endpoint. This ring passes one token through
 * three threads with a mutex and condition variable each, doing nothing
 * else: what those three wake-ups alone cost on this machine. Unpinned, the
 * scheduler decides whether a wake-up crosses CPUs, and the result is
 * bimodal; so the ring also runs with every hop on one CPU and with
 * consecutive hops on different CPUs (each wake-up an IPI).
 */
#define RING_HOPS 3

enum ring_pin { RING_FREE, RING_SAME_CPU, RING_CROSS_CPU };

struct ring_hop {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long token; /* rounds handed to this hop */
};

struct ring {
	struct ring_hop hop[RING_HOPS];
	unsigned long rounds;
	enum ring_pin pin;
};

struct ring_arg {
	struct ring *ring;
	unsigned int i;
};

static void ring_take(struct ring_hop *h, unsigned long want)
{
	pthread_mutex_lock(&h->lock);
	while (h->token < want)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void ring_give(struct ring_hop *h)
{
	pthread_mutex_lock(&h->lock);
	h->token++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void ring_pin_self(const struct ring *ring, unsigned int i)
{
	cpu_set_t set;

	if (ring->pin == RING_FREE)
		return;
	CPU_ZERO(&set);
	CPU_SET(ring->pin == RING_CROSS_CPU ? i % 2 : 0, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Hop 0 is the endpoint: it starts each round and waits for its end. */
static void *ring_fn(void *arg)
{
	struct ring_arg *a = arg;
	struct ring *ring = a->ring;
	unsigned int next = (a->i + 1) % RING_HOPS;

	ring_pin_self(ring, a->i);
	for (unsigned long k = 1; k <= ring->rounds; k++) {
		if (a->i == 0) {
			ring_give(&ring->hop[next]);
			ring_take(&ring->hop[0], k);
		} else {
			ring_take(&ring->hop[a->i], k);
			ring_give(&ring->hop[next]);
		}
	}
	return NULL;
}

static struct mt_run ring_run(unsigned long rounds, enum ring_pin pin)
{
	struct ring ring = { .rounds = rounds, .pin = pin };
	struct ring_arg args[RING_HOPS];
	pthread_t t[RING_HOPS];
	uint64_t t0, c0, w0;
	struct mt_run r = { 0 };

	for (unsigned int i = 0; i < RING_HOPS; i++) {
		pthread_mutex_init(&ring.hop[i].lock, NULL);
		pthread_cond_init(&ring.hop[i].cond, NULL);
		ring.hop[i].token = 0;
	}
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	w0 = bench_csw();
	for (unsigned int i = 0; i < RING_HOPS; i++) {
		args[i] = (struct ring_arg){ .ring = &ring, .i = i };
		if (pthread_create(&t[i], NULL, ring_fn, &args[i]))
			bench_die("pthread_create", 11);
	}
	for (unsigned int i = 0; i < RING_HOPS; i++)
		pthread_join(t[i], NULL);
	r.gps = (double)rounds * 1e9 / (double)(bench_now_ns() - t0);
	r.cpu_ns = (double)(bench_cpu_ns() - c0) / (double)rounds;
	r.csw = (double)(bench_csw() - w0) * 1000.0 / (double)rounds;
	for (unsigned int i = 0; i < RING_HOPS; i++) {
		pthread_mutex_destroy(&ring.hop[i].lock);
		pthread_cond_destroy(&ring.hop[i].cond);
	}
	return r;
}

static const char *const ring_name[][2] = {
	{ "wake ring, unpinned", "wake ring, unpinned, CPU" },
	{ "wake ring, one CPU", "wake ring, one CPU, CPU" },
	{ "wake ring, across CPUs", "wake ring, across CPUs, CPU" },
};

static void vtd_ring(const struct bench_opts *o, struct bench_results *r)
{
	unsigned long n = o->quick ? 2000 : 6000;
	unsigned int pins = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 3 : 2;

	ring_run(n / 4, RING_FREE);
	for (unsigned int p = 0; p < pins; p++) {
		struct bench_stat gps = { 0 }, cpu = { 0 };

		for (unsigned int i = 0; i < o->runs; i++) {
			struct mt_run x = ring_run(n, (enum ring_pin)p);

			bench_stat_add(&gps, x.gps);
			bench_stat_add(&cpu, x.cpu_ns);
		}
		bench_row("vtd", ring_name[p][0], "rounds/s", &gps);
		bench_row("vtd", ring_name[p][1], "ns/round", &cpu);
		r->vtd_ring_rps[p] = bench_median(&gps);
		r->vtd_ring_cpu_ns[p] = bench_median(&cpu);
	}
}

void bench_vtd(const struct bench_opts *o, struct bench_results *r)
{
	vtd_manual(o, r);
	vtd_threaded(o, r);
	vtd_ring(o, r);
}
