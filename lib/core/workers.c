// SPDX-License-Identifier: MIT
/*
 * The worker threads of a fault queue and the lanes they drain.
 *
 * A lane is one wait-free liburcu wfcqueue of groups with the workers that
 * sleep on it. An unbound queue (the default, as the kernel's iopf
 * workqueues are WQ_UNBOUND) has one lane shared by all its workers. A
 * per-CPU queue (IOPF_QUEUE_PERCPU) has one lane per worker, the worker
 * bound to a CPU of the process's affinity mask, and iopf_queue_work()
 * queues on the lane of the CPU it runs on, as the kernel's bound
 * workqueues run work on the CPU that queued it: a group then stays in one
 * CPU's caches from the report to the free. A manual-mode queue has one
 * lane and no workers.
 *
 * Wake-up: an enqueuer signals a lane only when it made it non-empty and a
 * worker sleeps there; a worker that dequeues with more work behind and a
 * sleeping colleague wakes one. A worker takes up to 8 groups per
 * acquisition of the lane's head lock, but only one while a colleague
 * sleeps, so that a burst still spreads over the workers. Sleepers re-check
 * the lane under its wake_lock, which enqueuers take to signal, so no
 * wake-up is lost.
 *
 * No dequeue sleeps in liburcu: an enqueuer that was preempted between its
 * tail exchange and its link store leaves a node the head cannot reach
 * yet, and liburcu's blocking dequeue then sleeps 10 ms in poll() with the
 * head lock held, stalling every worker of the lane (with more threads than
 * CPUs, several times a second). Workers and manual runs yield to the
 * enqueuer instead (iopf_stall_wait()).
 */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "iommu-priv.h"

static struct iopf_group *work_to_group(struct cds_wfcq_node *node)
{
	return container_of(node, struct iopf_group, work_node);
}

/*
 * Up to @max groups in one acquisition of the lane's head lock (the dequeue
 * side's only lock). Returns how many; *stalled when it stopped at a node
 * whose enqueuer has not linked it yet.
 */
static unsigned int lane_take(struct iopf_queue_lane *lane,
			      struct iopf_group **batch, unsigned int max,
			      bool *stalled)
{
	struct cds_wfcq_node *node = NULL;
	unsigned int n = 0;

	cds_wfcq_dequeue_lock(&lane->head, &lane->tail);
	while (n < max) {
		node = __cds_wfcq_dequeue_nonblocking(&lane->head, &lane->tail);
		if (!node || node == CDS_WFCQ_WOULDBLOCK)
			break;
		batch[n++] = work_to_group(node);
	}
	cds_wfcq_dequeue_unlock(&lane->head, &lane->tail);
	*stalled = node == CDS_WFCQ_WOULDBLOCK;
	return n;
}

/*
 * A worker takes up to IOPF_WORKER_BATCH groups, or one while a colleague
 * sleeps: then the rest is left for it (worker_fn() wakes it), so a burst
 * still spreads over the workers.
 */
#define IOPF_WORKER_BATCH 8

static unsigned int lane_dequeue_batch(struct iopf_queue_lane *lane,
				       struct iopf_group **batch, bool *stalled)
{
	unsigned int max = atomic_load(&lane->sleepers) ? 1 : IOPF_WORKER_BATCH;

	return lane_take(lane, batch, max, stalled);
}

/*
 * An enqueuer is half-way through: let it run (it may be waiting for this
 * CPU), and after a few yields back off 50 us at a time, which is still
 * 200 times shorter than liburcu's poll().
 */
void iopf_stall_wait(unsigned int *tries)
{
	if (++*tries < 8)
		sched_yield();
	else
		usleep(50);
}

/* One group for a manual run, waiting (as workers do) for a late link. */
struct iopf_group *iopf_lane_dequeue(struct iopf_queue_lane *lane)
{
	struct iopf_group *group;
	unsigned int tries = 0;
	bool stalled;

	while (!lane_take(lane, &group, 1, &stalled)) {
		if (!stalled)
			return NULL;
		iopf_stall_wait(&tries);
	}
	return group;
}

static bool lane_empty(struct iopf_queue_lane *lane)
{
	return cds_wfcq_empty(&lane->head, &lane->tail);
}

static void wake_one(struct iopf_queue_lane *lane)
{
	pthread_mutex_lock(&lane->wake_lock);
	pthread_cond_signal(&lane->wake_cond);
	pthread_mutex_unlock(&lane->wake_lock);
}

/* The lane of the CPU the caller runs on (per-CPU queues), else lane 0. */
struct iopf_queue_lane *iopf_lane_here(struct iopf_queue *queue)
{
	int cpu;

	if (queue->nr_lanes == 1)
		return &queue->lanes[0];
	cpu = sched_getcpu();
	if (cpu < 0)
		return &queue->lanes[0];
	if ((unsigned int)cpu < queue->nr_cpu_lane)
		return &queue->lanes[queue->cpu_lane[cpu]];
	return &queue->lanes[(unsigned int)cpu % queue->nr_lanes];
}

void iopf_lane_enqueue(struct iopf_queue_lane *lane, struct iopf_group *group)
{
	bool was_busy;

	was_busy =
		cds_wfcq_enqueue(&lane->head, &lane->tail, &group->work_node);
	if (!was_busy && lane->nr_workers && atomic_load(&lane->sleepers))
		wake_one(lane);
}

/* Sleep until the lane has work or the queue stops. */
static void worker_wait(struct iopf_queue_lane *lane)
{
	struct iopf_queue *queue = lane->queue;

	pthread_mutex_lock(&lane->wake_lock);
	atomic_fetch_add(&lane->sleepers, 1);
	while (lane_empty(lane) && !atomic_load(&queue->stopping))
		pthread_cond_wait(&lane->wake_cond, &lane->wake_lock);
	atomic_fetch_sub(&lane->sleepers, 1);
	pthread_mutex_unlock(&lane->wake_lock);
}

/* Bind the calling worker to its lane's CPU; unbound if that fails. */
static void worker_bind(struct iopf_queue_lane *lane)
{
	cpu_set_t set;

	if (lane->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(lane->cpu, &set);
	/* A cpuset that changed since alloc: the lane still works, unbound. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_fn(void *arg)
{
	struct iopf_queue_lane *lane = arg;
	struct iopf_queue *queue = lane->queue;
	struct iopf_group *batch[IOPF_WORKER_BATCH];
	unsigned int n, tries = 0;
	bool stalled;

	urcu_bp_register_thread();
	worker_bind(lane);
	for (;;) {
		n = lane_dequeue_batch(lane, batch, &stalled);
		if (!n && stalled) {
			iopf_stall_wait(&tries);
			continue;
		}
		tries = 0;
		if (!n) {
			if (atomic_load(&queue->stopping))
				break;
			worker_wait(lane);
			continue;
		}
		/* More work behind these and a sleeping worker: share it. */
		if (atomic_load(&lane->sleepers) && !lane_empty(lane))
			wake_one(lane);
		for (unsigned int i = 0; i < n; i++)
			iopf_queue_run_one(lane, batch[i]);
	}
	return NULL;
}

/* ---- lanes ----------------------------------------------------------------- */

static void lane_init(struct iopf_queue *queue, struct iopf_queue_lane *lane)
{
	lane->queue = queue;
	lane->cpu = -1;
	cds_wfcq_init(&lane->head, &lane->tail);
	pthread_mutex_init(&lane->wake_lock, NULL);
	pthread_cond_init(&lane->wake_cond, NULL);
}

/*
 * Per-CPU: lane i bound to the i-th CPU of the process's affinity mask
 * (the main thread's, not the caller's, which may be pinned). cpu_lane maps
 * each CPU of the mask to its lane; CPUs beyond the lanes (fewer workers
 * than CPUs) and CPUs outside the mask share lanes round robin.
 */
static int lanes_bind(struct iopf_queue *queue, const cpu_set_t *set)
{
	unsigned int max_cpu = 0, lane = 0, extra = 0;

	for (unsigned int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			max_cpu = c;
	queue->cpu_lane = iopf_calloc(max_cpu + 1, sizeof(*queue->cpu_lane));
	if (!queue->cpu_lane)
		return -ENOMEM;
	queue->nr_cpu_lane = max_cpu + 1;
	for (unsigned int c = 0; c <= max_cpu; c++) {
		if (!CPU_ISSET(c, set)) {
			queue->cpu_lane[c] = c % queue->nr_lanes;
		} else if (lane < queue->nr_lanes) {
			queue->lanes[lane].cpu = (int)c;
			queue->cpu_lane[c] = lane++;
		} else {
			queue->cpu_lane[c] = extra++ % queue->nr_lanes;
		}
	}
	return 0;
}

/*
 * One lane (unbound), or one per CPU of the process's mask, at most one per
 * worker (per-CPU; more workers than CPUs share their CPU's lane).
 */
int iopf_lanes_alloc(struct iopf_queue *queue, unsigned int nr_workers,
		     bool percpu)
{
	unsigned int nr = 1, nr_cpus = 0;
	cpu_set_t set;
	int ret = 0;

	if (percpu) {
		/* An unknown mask: a lane per worker, unbound. */
		if (!sched_getaffinity(getpid(), sizeof(set), &set))
			nr_cpus = (unsigned int)CPU_COUNT(&set);
		nr = nr_cpus && nr_cpus < nr_workers ? nr_cpus : nr_workers;
	}
	queue->lanes = iopf_zalloc_aligned(_Alignof(struct iopf_queue_lane),
					   nr * sizeof(*queue->lanes));
	if (!queue->lanes)
		return -ENOMEM;
	queue->nr_lanes = nr;
	for (unsigned int i = 0; i < nr; i++)
		lane_init(queue, &queue->lanes[i]);
	for (unsigned int i = 0; i < nr_workers; i++)
		queue->lanes[i % nr].nr_workers++;
	if (percpu && nr_cpus)
		ret = lanes_bind(queue, &set);
	return ret;
}

void iopf_lanes_free(struct iopf_queue *queue)
{
	for (unsigned int i = 0; i < queue->nr_lanes; i++) {
		struct iopf_queue_lane *lane = &queue->lanes[i];

		cds_wfcq_destroy(&lane->head, &lane->tail);
		pthread_cond_destroy(&lane->wake_cond);
		pthread_mutex_destroy(&lane->wake_lock);
	}
	iopf_mfree(queue->lanes);
	iopf_mfree(queue->cpu_lane);
}

/* ---- workers --------------------------------------------------------------- */

void iopf_workers_stop(struct iopf_queue *queue)
{
	atomic_store(&queue->stopping, true);
	for (unsigned int i = 0; i < queue->nr_lanes; i++) {
		struct iopf_queue_lane *lane = &queue->lanes[i];

		pthread_mutex_lock(&lane->wake_lock);
		pthread_cond_broadcast(&lane->wake_cond);
		pthread_mutex_unlock(&lane->wake_lock);
	}
	for (unsigned int i = 0; i < queue->nr_workers; i++)
		pthread_join(queue->workers[i], NULL);
}

int iopf_workers_start(struct iopf_queue *queue)
{
	queue->workers = iopf_calloc(queue->nr_workers ? queue->nr_workers : 1,
				     sizeof(pthread_t));
	if (!queue->workers)
		return -ENOMEM;
	for (unsigned int i = 0; i < queue->nr_workers; i++) {
		struct iopf_queue_lane *lane =
			&queue->lanes[i % queue->nr_lanes];

		if (pthread_create(&queue->workers[i], NULL, worker_fn, lane)) {
			queue->nr_workers = i;
			iopf_workers_stop(queue);
			return -EAGAIN;
		}
	}
	return 0;
}
