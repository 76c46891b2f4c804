// SPDX-License-Identifier: MIT
/*
 * Case "floor": the handoff alone. The same reporter threads hand the same
 * number of records to the same number of worker threads through a bare
 * liburcu wfcqueue, with the wake-up scheme of lib/core/queue.c: enqueue
 * signals a sleeping worker when the queue went from empty to non-empty, a
 * worker that dequeued with more work behind it wakes the next sleeper
 * (cascade), sleepers re-check emptiness under the wake lock. A worker
 * "answers" a record through the same device model as every other case.
 * Records are preallocated: allocation belongs to the fault path, not to
 * the handoff. Per-CPU (the floor of IOPF_QUEUE_PERCPU, lib/core/
 * workers.c): one queue per worker, worker i bound to the i-th CPU of the
 * affinity mask, a record queued on the queue of the reporter's CPU.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <urcu/wfcqueue.h>

#include "bench.h"

struct record {
	struct cds_wfcq_node node;
	struct bench_port *port;
	uint64_t stamp;
	atomic_bool
		queued; /* the handoff, made visible to TSan as in queue.c */
};

struct floor_queue {
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake_cond;
	atomic_uint sleepers;
	atomic_bool stopping;
	int cpu; /* bound workers' CPU, or -1 */
} __attribute__((aligned(64)));

/* The lanes: one (unbound) or one per worker (per-CPU). */
struct floor {
	unsigned int nr;
	struct floor_queue q[BENCH_MAX_THREADS];
	int cpu_lane[CPU_SETSIZE];
};

/* Lane i on the i-th CPU of the mask; every CPU maps to a lane. */
static void floor_bind(struct floor *fl)
{
	unsigned int nr_cpus = 0, cpus[CPU_SETSIZE];
	cpu_set_t set;

	for (unsigned int c = 0; c < CPU_SETSIZE; c++)
		fl->cpu_lane[c] = (int)(c % fl->nr);
	if (fl->nr == 1 || sched_getaffinity(0, sizeof(set), &set))
		return;
	for (unsigned int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[nr_cpus++] = c;
	for (unsigned int i = fl->nr; i-- > 0;) {
		fl->q[i].cpu = (int)cpus[i % nr_cpus];
		fl->cpu_lane[cpus[i % nr_cpus]] = (int)i;
	}
}

static struct floor_queue *floor_here(struct floor *fl)
{
	int cpu = fl->nr == 1 ? -1 : sched_getcpu();

	return &fl->q[cpu < 0 ? 0 : fl->cpu_lane[cpu % CPU_SETSIZE]];
}

static void wake_one(struct floor_queue *q)
{
	pthread_mutex_lock(&q->wake_lock);
	pthread_cond_signal(&q->wake_cond);
	pthread_mutex_unlock(&q->wake_lock);
}

static void worker_wait(struct floor_queue *q)
{
	pthread_mutex_lock(&q->wake_lock);
	atomic_fetch_add(&q->sleepers, 1);
	while (cds_wfcq_empty(&q->head, &q->tail) && !atomic_load(&q->stopping))
		pthread_cond_wait(&q->wake_cond, &q->wake_lock);
	atomic_fetch_sub(&q->sleepers, 1);
	pthread_mutex_unlock(&q->wake_lock);
}

static void *worker_fn(void *arg)
{
	struct floor_queue *q = arg;
	struct cds_wfcq_node *node;
	unsigned int tries = 0;
	struct record *rec;

	if (q->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(q->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (;;) {
		/* As workers.c: up to 8 at once, one while a colleague sleeps. */
		unsigned int max = atomic_load(&q->sleepers) ? 1 : 8, n = 0;
		struct record *batch[8];

		/* Never blocking, as workers.c: a stalled enqueuer, a yield. */
		node = NULL;
		cds_wfcq_dequeue_lock(&q->head, &q->tail);
		while (n < max) {
			node = __cds_wfcq_dequeue_nonblocking(&q->head,
							      &q->tail);
			if (!node || node == CDS_WFCQ_WOULDBLOCK)
				break;
			batch[n++] =
				caa_container_of(node, struct record, node);
		}
		cds_wfcq_dequeue_unlock(&q->head, &q->tail);
		if (!n && node == CDS_WFCQ_WOULDBLOCK) {
			if (++tries < 8)
				sched_yield();
			else
				usleep(50);
			continue;
		}
		tries = 0;
		if (!n) {
			if (atomic_load(&q->stopping))
				break;
			worker_wait(q);
			continue;
		}
		if (atomic_load(&q->sleepers) &&
		    !cds_wfcq_empty(&q->head, &q->tail))
			wake_one(q);
		for (unsigned int i = 0; i < n; i++) {
			rec = batch[i];
			(void)atomic_load_explicit(&rec->queued,
						   memory_order_acquire);
			bench_port_answer(rec->port, rec->stamp);
		}
	}
	return NULL;
}

struct reporter {
	pthread_t thread;
	struct floor *fl;
	struct record *recs;
	unsigned long n;
	struct bench_port port;
};

static void *reporter_fn(void *arg)
{
	struct reporter *rep = arg;

	for (unsigned long i = 0; i < rep->n; i++) {
		struct record *rec = &rep->recs[i];
		struct floor_queue *q = floor_here(rep->fl);

		bench_port_get_credit(&rep->port);
		rec->stamp = bench_port_stamp(&rep->port);
		rec->port = &rep->port;
		rep->port.sent++;
		cds_wfcq_node_init(&rec->node);
		atomic_store_explicit(&rec->queued, true, memory_order_release);
		if (!cds_wfcq_enqueue(&q->head, &q->tail, &rec->node) &&
		    atomic_load(&q->sleepers))
			wake_one(q);
	}
	bench_port_drain(&rep->port);
	return NULL;
}

static void floor_init(struct floor *fl, unsigned int nr)
{
	fl->nr = nr;
	for (unsigned int i = 0; i < nr; i++) {
		struct floor_queue *q = &fl->q[i];

		cds_wfcq_init(&q->head, &q->tail);
		pthread_mutex_init(&q->wake_lock, NULL);
		pthread_cond_init(&q->wake_cond, NULL);
		atomic_init(&q->sleepers, 0);
		atomic_init(&q->stopping, false);
		q->cpu = -1;
	}
	floor_bind(fl);
}

static void floor_stop(struct floor *fl, pthread_t *wk, unsigned int workers)
{
	for (unsigned int i = 0; i < fl->nr; i++) {
		struct floor_queue *q = &fl->q[i];

		pthread_mutex_lock(&q->wake_lock);
		atomic_store(&q->stopping, true);
		pthread_cond_broadcast(&q->wake_cond);
		pthread_mutex_unlock(&q->wake_lock);
	}
	for (unsigned int i = 0; i < workers; i++)
		pthread_join(wk[i], NULL);
	for (unsigned int i = 0; i < fl->nr; i++) {
		cds_wfcq_destroy(&fl->q[i].head, &fl->q[i].tail);
		pthread_cond_destroy(&fl->q[i].wake_cond);
		pthread_mutex_destroy(&fl->q[i].wake_lock);
	}
}

static struct mt_run floor_run(unsigned int nr_rep, unsigned int workers,
			       unsigned long n, bool percpu)
{
	struct reporter reps[BENCH_MAX_THREADS];
	pthread_t wk[BENCH_MAX_THREADS];
	struct floor *fl = aligned_alloc(64, sizeof(*fl));
	uint64_t t0, c0, t, c, w0;
	struct mt_run r;

	if (!fl)
		bench_die("aligned_alloc", 12);
	floor_init(fl, percpu ? workers : 1);
	for (unsigned int i = 0; i < nr_rep; i++) {
		reps[i].fl = fl;
		reps[i].n = n / nr_rep;
		/* Touched now, so page faults don't land in the measurement. */
		reps[i].recs = calloc(reps[i].n, sizeof(struct record));
		if (!reps[i].recs)
			bench_die("calloc", 12);
		bench_port_init(&reps[i].port);
	}
	for (unsigned int i = 0; i < workers; i++)
		if (pthread_create(&wk[i], NULL, worker_fn,
				   &fl->q[percpu ? i : 0]))
			bench_die("pthread_create", 11);
	bench_hist_reset_all();
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	w0 = bench_csw();
	for (unsigned int i = 0; i < nr_rep; i++)
		if (pthread_create(&reps[i].thread, NULL, reporter_fn,
				   &reps[i]))
			bench_die("pthread_create", 11);
	for (unsigned int i = 0; i < nr_rep; i++)
		pthread_join(reps[i].thread, NULL);
	t = bench_now_ns() - t0;
	c = bench_cpu_ns() - c0;
	r.gps = (double)n * 1e9 / (double)t;
	r.cpu_ns = (double)c / (double)n;
	r.csw = (double)(bench_csw() - w0) * 1000.0 / (double)n;
	r.p50 = bench_hist_percentile(50);
	r.p99 = bench_hist_percentile(99);
	floor_stop(fl, wk, workers);
	for (unsigned int i = 0; i < nr_rep; i++)
		free(reps[i].recs);
	free(fl);
	return r;
}

struct mt_run bench_floor_run(unsigned int nr_rep, unsigned int workers,
			      unsigned long n)
{
	return floor_run(nr_rep, workers, n, false);
}

struct mt_run bench_floor_percpu_run(unsigned int nr_rep, unsigned int workers,
				     unsigned long n)
{
	return floor_run(nr_rep, workers, n, true);
}
