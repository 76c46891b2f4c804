// SPDX-License-Identifier: MIT
/*
 * Case "threaded": R reporter threads, each the PRQ thread of one device,
 * report single-page groups from the wire (RID lookup); the handler hands
 * each group to a queue worker with iopf_queue_work() (as the SVA handler
 * does) and the worker answers and frees it. On an unbound queue (the
 * default) and on a per-CPU one (IOPF_QUEUE_PERCPU).
 */
#include <pthread.h>
#include <stdio.h>

#include "libenv.h"

struct reporter {
	pthread_t thread;
	struct iopf_iommu *iommu;
	unsigned int idx;
	unsigned long n;
	struct bench_port *port;
};

static void *reporter_fn(void *arg)
{
	struct reporter *rep = arg;
	struct bench_port *port = rep->port;
	struct iopf_fault f;

	for (unsigned long i = 0; i < rep->n; i++) {
		bench_port_get_credit(port);
		bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511), i << 12, true,
			    bench_port_stamp(port));
		port->sent++;
		lib_report_rid(rep->iommu, BENCH_RID(rep->idx), &f);
	}
	bench_port_drain(port);
	return NULL;
}

static struct mt_run threaded_run(unsigned int nr_rep, unsigned int workers,
				  unsigned long n, uint32_t queue_flags)
{
	struct bench_port ports[BENCH_MAX_THREADS];
	struct reporter reps[BENCH_MAX_THREADS];
	struct mt_run r;
	struct lib_env env;
	uint64_t t0, c0, t, c, w0;

	for (unsigned int i = 0; i < nr_rep; i++)
		bench_port_init(&ports[i]);
	lib_env_new_queue(&env, workers, queue_flags, nr_rep,
			  1u << IOPF_PASID_BITS, BENCH_PASID,
			  bench_answer_later, ports, false);
	bench_hist_reset_all();
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	w0 = bench_csw();
	for (unsigned int i = 0; i < nr_rep; i++) {
		reps[i] = (struct reporter){ .iommu = env.iommu,
					     .idx = i,
					     .n = n / nr_rep,
					     .port = &ports[i] };
		if (pthread_create(&reps[i].thread, NULL, reporter_fn,
				   &reps[i]))
			bench_die("pthread_create", 11);
	}
	for (unsigned int i = 0; i < nr_rep; i++)
		pthread_join(reps[i].thread, NULL);
	t = bench_now_ns() - t0;
	c = bench_cpu_ns() - c0;
	r.gps = (double)n * 1e9 / (double)t;
	r.cpu_ns = (double)c / (double)n;
	r.csw = (double)(bench_csw() - w0) * 1000.0 / (double)n;
	r.p50 = bench_hist_percentile(50);
	r.p99 = bench_hist_percentile(99);
	lib_env_free(&env);
	return r;
}

/* The default queue: one lane for every worker (the kernel's WQ_UNBOUND). */
struct mt_run bench_threaded_run(unsigned int nr_rep, unsigned int workers,
				 unsigned long n)
{
	return threaded_run(nr_rep, workers, n, 0);
}

/* IOPF_QUEUE_PERCPU: a lane per worker, work stays on the reporter's CPU. */
struct mt_run bench_threaded_percpu_run(unsigned int nr_rep,
					unsigned int workers, unsigned long n)
{
	return threaded_run(nr_rep, workers, n, IOPF_QUEUE_PERCPU);
}
