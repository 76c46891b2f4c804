// SPDX-License-Identifier: MIT
/*
 * Fault queues: the work side of drivers/iommu/io-pgfault.c.
 *
 * The kernel gives each iopf queue an unbound, unordered workqueue: groups
 * may complete out of order, faults inside a group are handled in order by
 * one work item. Here a queue is one or more lanes of groups (workers.c)
 * drained by pthread workers, or, with no workers ("manual mode"), by the
 * caller of iopf_queue_run(), in FIFO order, so a simulation is
 * reproducible bit for bit.
 *
 * Flush (flush_workqueue) waits for the work queued before it and not for
 * work queued after it: every item counts itself in one of two epochs, as
 * SRCU readers do, and a flush flips the epoch and waits for the old one to
 * drain.
 *
 * Lock order: queue->lock (devices), then per-device locks. flush_mutex,
 * then flush_lock; the lanes' wake_locks are leaves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iommu-priv.h"

#define IOPF_MAX_WORKERS 1024

/* ---- flush epochs ------------------------------------------------------- */

static void wake_flushers(struct iopf_queue *queue)
{
	if (atomic_load(&queue->flush_waiters)) {
		pthread_mutex_lock(&queue->flush_lock);
		pthread_cond_broadcast(&queue->flush_cond);
		pthread_mutex_unlock(&queue->flush_lock);
	}
}

/* Take back a count of work_begin(): it may be what a flusher waits for. */
static void work_uncount(struct iopf_queue *queue, struct iopf_queue_lane *lane,
			 unsigned int idx)
{
	atomic_fetch_sub(&lane->queued[idx], 1);
	wake_flushers(queue);
}

static uint8_t work_begin(struct iopf_queue *queue,
			  struct iopf_queue_lane *lane)
{
	unsigned int idx;

	/*
	 * Count ourselves in the current epoch; if a flush flipped it in the
	 * meantime, count in the new one instead (seq_cst on both sides: the
	 * flusher either sees our increment or we see its flip).
	 */
	for (;;) {
		idx = atomic_load(&queue->epoch) & 1;
		atomic_fetch_add(&lane->queued[idx], 1);
		if ((atomic_load(&queue->epoch) & 1) == idx)
			return (uint8_t)idx;
		work_uncount(queue, lane, idx);
	}
}

static void work_end(struct iopf_queue_lane *lane, uint8_t idx)
{
	atomic_fetch_add(&lane->done[idx], 1);
	wake_flushers(lane->queue);
}

static bool epoch_drained(struct iopf_queue *queue, unsigned int idx)
{
	unsigned long done = 0, queued = 0;

	/*
	 * done first: in each lane it never passes queued, so equal sums
	 * mean every lane drained, never a yes too early.
	 */
	for (unsigned int i = 0; i < queue->nr_lanes; i++)
		done += atomic_load(&queue->lanes[i].done[idx]);
	for (unsigned int i = 0; i < queue->nr_lanes; i++)
		queued += atomic_load(&queue->lanes[i].queued[idx]);
	return queued == done;
}

/* ---- running work ------------------------------------------------------- */

/* Run @group, dequeued from @lane (work counts in the lane it was queued on). */
void iopf_queue_run_one(struct iopf_queue_lane *lane, struct iopf_group *group)
{
	void (*fn)(struct iopf_group * group);
	uint8_t idx;

	/* Pair with the release in queue_enqueue(): the handoff, for TSan. */
	(void)atomic_load_explicit(&group->queued, memory_order_acquire);
	fn = group->work_fn;
	idx = group->work_epoch;
	atomic_fetch_add(&lane->started, 1);
	/* Queued no more: fn may queue it again. */
	atomic_store(&group->queued, false);
	fn(group);
	work_end(lane, idx);
}

/*
 * Count @group in the flush epoch, then check its device is still on
 * @queue: a remove_device() that cleared fp->queue before a flush flipped
 * the epoch is seen here (seq_cst on both sides), and one after is waited
 * for by that flush (manual mode too), so iopf_queue_free() never stops
 * with the group still to come. -ENODEV, uncounted, if the device left.
 */
static int queue_enqueue(struct iopf_fault_param *fp, struct iopf_queue *queue,
			 struct iopf_group *group,
			 void (*fn)(struct iopf_group *group))
{
	struct iopf_queue_lane *lane = iopf_lane_here(queue);
	uint8_t idx = work_begin(queue, lane);

	if (atomic_load(&fp->queue) != queue) {
		work_uncount(queue, lane, idx);
		return -ENODEV;
	}
	/* Traced while counted but not queued: no worker can free it yet. */
	if (iopf_trace_on(fp->dev->ctx))
		iopf_trace_fault(fp->dev->ctx, IOPF_TRACE_WORK_QUEUED, fp->dev,
				 &group->last_fault.fault, -1, IOPF_ORIGIN_NONE,
				 0, group->fault_count);
	group->work_fn = fn;
	group->work_epoch = idx;
	cds_wfcq_node_init(&group->work_node);
	/* Publish the fields above to the worker that dequeues it. */
	atomic_store_explicit(&group->queued, true, memory_order_release);
	iopf_lane_enqueue(lane, group);
	return 0;
}

IOPF_EXPORT int iopf_queue_work(struct iopf_group *group,
				void (*fn)(struct iopf_group *group))
{
	struct iopf_fault_param *fp;
	struct iopf_queue *queue;
	int ret;

	if (!group || !fn)
		return -EINVAL;
	if (atomic_exchange(&group->queued, true))
		return -EBUSY;
	fp = group->fault_param;
	/*
	 * No lock: queue_enqueue() re-checks after counting. The read-side
	 * section (nested when the handler calls us) covers every touch of
	 * @queue, up to the wake-up after the link, by which time a worker
	 * may have freed the group and the queue may have lost every other
	 * reference: queue_destroy() waits for a grace period before it
	 * drops its own.
	 */
	iopf_rcu_read_lock();
	/*
	 * Off its queue, the device may have lost its IOMMU too (a group a
	 * handler holds outlives both): say so before the trace reads them.
	 */
	queue = atomic_load(&fp->queue);
	ret = queue ? queue_enqueue(fp, queue, group, fn) : -ENODEV;
	iopf_rcu_read_unlock();
	if (ret)
		atomic_store(&group->queued, false);
	return ret;
}

static size_t run_locked(struct iopf_queue *queue, size_t max)
{
	struct iopf_group *group;
	size_t ran = 0;

	/* Manual mode: one lane. */
	while (ran < max && (group = iopf_lane_dequeue(&queue->lanes[0]))) {
		iopf_queue_run_one(&queue->lanes[0], group);
		ran++;
	}
	return ran;
}

IOPF_EXPORT size_t iopf_queue_run(struct iopf_queue *queue, size_t max)
{
	size_t ran;

	if (!queue || queue->nr_workers)
		return 0;
	/* One runner at a time keeps the FIFO order across callers. */
	pthread_mutex_lock(&queue->run_lock);
	ran = run_locked(queue, max);
	pthread_mutex_unlock(&queue->run_lock);
	return ran;
}

IOPF_EXPORT size_t iopf_queue_pending(const struct iopf_queue *queue)
{
	unsigned long started, queued;

	if (!queue)
		return 0;
	started = queued = 0;
	for (unsigned int i = 0; i < queue->nr_lanes; i++) {
		struct iopf_queue_lane *lane = &queue->lanes[i];

		started += atomic_load(&lane->started);
		queued += atomic_load(&lane->queued[0]) +
			  atomic_load(&lane->queued[1]);
	}
	return queued > started ? queued - started : 0;
}

/* ---- flush -------------------------------------------------------------- */

static void wait_epoch(struct iopf_queue *queue, unsigned int idx)
{
	pthread_mutex_lock(&queue->flush_lock);
	atomic_fetch_add(&queue->flush_waiters, 1);
	while (!epoch_drained(queue, idx))
		pthread_cond_wait(&queue->flush_cond, &queue->flush_lock);
	atomic_fetch_sub(&queue->flush_waiters, 1);
	pthread_mutex_unlock(&queue->flush_lock);
}

/* Wait for (manual mode: run) every work item queued before the call. */
void iopf_queue_flush(struct iopf_queue *queue)
{
	unsigned int old;

	if (!queue->nr_workers) {
		unsigned int tries = 0;

		/*
		 * Work may queue more work: run until nothing is left, and
		 * until every item counted before the flip is queued and run
		 * (an iopf_queue_work() between its count and its link).
		 */
		pthread_mutex_lock(&queue->run_lock);
		old = atomic_fetch_add(&queue->epoch, 1) & 1;
		for (;;) {
			if (run_locked(queue, SIZE_MAX)) {
				tries = 0;
				continue;
			}
			if (epoch_drained(queue, old))
				break;
			iopf_stall_wait(&tries);
		}
		pthread_mutex_unlock(&queue->run_lock);
		return;
	}
	pthread_mutex_lock(&queue->flush_mutex);
	old = atomic_fetch_add(&queue->epoch, 1) & 1;
	wait_epoch(queue, old);
	pthread_mutex_unlock(&queue->flush_mutex);
}

/* iopf_ctx_free(): run what every queue holds; no queue is freed meanwhile. */
void iopf_ctx_flush_queues(struct iopf_ctx *ctx)
{
	struct iopf_queue *queue;

	cds_list_for_each_entry(queue, &ctx->queues, ctx_node)
		iopf_queue_flush(queue);
}

/* Flush @queue on behalf of @dev, and say so in the trace. */
static void flush_for_dev(struct iopf_queue *queue, struct iopf_device *dev)
{
	iopf_queue_flush(queue);
	if (iopf_trace_on(dev->ctx))
		iopf_trace_dev(dev->ctx, IOPF_TRACE_QUEUE_FLUSHED, dev,
			       IOPF_PASID_INVALID, queue->name, 0);
}

/*
 * Detach: wait for the work of the queue the device last used, even if the
 * device has left it since (the kernel's flush_dev would miss that work).
 */
void iopf_device_flush_work(struct iopf_device *dev)
{
	struct iopf_queue *queue;

	pthread_mutex_lock(&dev->iommu_lock);
	queue = dev->work_queue;
	if (queue)
		iopf_queue_get(queue);
	pthread_mutex_unlock(&dev->iommu_lock);
	if (!queue)
		return;
	if (!atomic_load(&queue->dead))
		flush_for_dev(queue, dev);
	iopf_queue_put(queue);
}

IOPF_EXPORT int iopf_queue_flush_dev(struct iopf_device *dev)
{
	struct iopf_fault_param *fp;
	struct iopf_queue *queue = NULL;

	if (!dev)
		return -EINVAL;
	fp = iopf_get_dev_fault_param(dev);
	if (fp) {
		queue = fp->queue;
		iopf_put_dev_fault_param(fp);
	}
	if (!queue)
		return -ENODEV;
	flush_for_dev(queue, dev);
	return 0;
}

/* ---- alloc and free ----------------------------------------------------- */

static void queue_release(struct iopf_queue *queue)
{
	iopf_lanes_free(queue);
	pthread_cond_destroy(&queue->flush_cond);
	pthread_mutex_destroy(&queue->run_lock);
	pthread_mutex_destroy(&queue->flush_mutex);
	pthread_mutex_destroy(&queue->flush_lock);
	pthread_mutex_destroy(&queue->lock);
	iopf_mfree(queue->workers);
	iopf_mfree(queue->name);
	iopf_mfree(queue);
}

static struct iopf_device *queue_first_device(struct iopf_queue *queue)
{
	struct iopf_fault_param *fp;
	struct iopf_device *dev = NULL;

	pthread_mutex_lock(&queue->lock);
	if (!cds_list_empty(&queue->devices)) {
		fp = cds_list_first_entry(&queue->devices,
					  struct iopf_fault_param, queue_list);
		dev = fp->dev;
		iopf_device_get(dev);
	}
	pthread_mutex_unlock(&queue->lock);
	return dev;
}

static void queue_destroy(struct iopf_ctx_member *member)
{
	struct iopf_queue *queue =
		container_of(member, struct iopf_queue, member);
	struct iopf_device *dev;

	/*
	 * Run the work first, then answer what is left: the kernel's order
	 * (remove, then destroy the workqueue) runs work on freed groups.
	 */
	iopf_ctx_forget_queue(queue->ctx, queue);
	pthread_mutex_lock(&queue->ctx->lock);
	cds_list_del(&queue->ctx_node);
	pthread_mutex_unlock(&queue->ctx->lock);
	iopf_queue_flush(queue);
	while ((dev = queue_first_device(queue))) {
		iopf_queue_remove_device(queue, dev);
		iopf_device_put(dev);
	}
	iopf_queue_flush(queue);
	atomic_store(&queue->dead, true);
	iopf_workers_stop(queue);
	/* An iopf_queue_work() may still be past its link: see there. */
	iopf_synchronize_rcu();
	/* Pair with iopf_queue_alloc(); devices that used it may hold more. */
	iopf_queue_put(queue);
}

void iopf_queue_get(struct iopf_queue *queue)
{
	iopf_ref_get(&queue->ref);
}

void iopf_queue_put(struct iopf_queue *queue)
{
	if (queue && iopf_ref_put(&queue->ref))
		queue_release(queue);
}

#define ATTR_HAS(attr, field) \
	((attr)->size >=      \
	 offsetof(struct iopf_queue_attr, field) + sizeof((attr)->field))

static int queue_workers_from_attr(const struct iopf_queue_attr *attr,
				   unsigned int *nr, bool *percpu)
{
	uint64_t flags;
	long cpus;

	*percpu = false;
	if (!attr) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		*nr = cpus > 0 ? (unsigned int)cpus : 1;
		return 0;
	}
	if (!ATTR_HAS(attr, nr_workers) || attr->size > sizeof(*attr) ||
	    attr->nr_workers > IOPF_MAX_WORKERS)
		return -EINVAL;
	flags = ATTR_HAS(attr, flags) ? attr->flags : 0;
	/* Unknown flags, or per-CPU lanes with nobody to bind. */
	if ((flags & ~(uint64_t)IOPF_QUEUE_PERCPU) ||
	    ((flags & IOPF_QUEUE_PERCPU) && !attr->nr_workers))
		return -EINVAL;
	*nr = attr->nr_workers;
	*percpu = flags & IOPF_QUEUE_PERCPU;
	return 0;
}

static struct iopf_queue *queue_new(struct iopf_ctx *ctx, const char *name)
{
	struct iopf_queue *queue = iopf_zalloc(sizeof(*queue));
	char buf[32];

	if (!queue)
		return NULL;
	if (!name) {
		pthread_mutex_lock(&ctx->lock);
		snprintf(buf, sizeof(buf), "iopfq%u", ctx->nr_queues++);
		pthread_mutex_unlock(&ctx->lock);
		name = buf;
	}
	queue->name = iopf_strdup(name);
	if (!queue->name) {
		iopf_mfree(queue);
		return NULL;
	}
	queue->ctx = ctx;
	iopf_ref_init(&queue->ref);
	pthread_mutex_init(&queue->lock, NULL);
	pthread_mutex_init(&queue->flush_mutex, NULL);
	pthread_mutex_init(&queue->flush_lock, NULL);
	pthread_mutex_init(&queue->run_lock, NULL);
	pthread_cond_init(&queue->flush_cond, NULL);
	CDS_INIT_LIST_HEAD(&queue->devices);
	return queue;
}

IOPF_EXPORT int iopf_queue_alloc(struct iopf_ctx *ctx, const char *name,
				 const struct iopf_queue_attr *attr,
				 struct iopf_queue **out)
{
	struct iopf_queue *queue;
	unsigned int nr;
	bool percpu;
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	ret = queue_workers_from_attr(attr, &nr, &percpu);
	if (ret)
		return ret;
	queue = queue_new(ctx, name);
	if (!queue)
		return -ENOMEM;
	queue->nr_workers = nr;
	ret = iopf_lanes_alloc(queue, nr, percpu);
	if (!ret)
		ret = iopf_workers_start(queue);
	if (ret) {
		queue_release(queue);
		return ret;
	}
	pthread_mutex_lock(&ctx->lock);
	cds_list_add_tail(&queue->ctx_node, &ctx->queues);
	pthread_mutex_unlock(&ctx->lock);
	iopf_ctx_link(ctx, &queue->member, queue_destroy);
	*out = queue;
	return 0;
}

IOPF_EXPORT void iopf_queue_free(struct iopf_queue *queue)
{
	if (!queue)
		return;
	iopf_ctx_unlink(queue->ctx, &queue->member);
	queue_destroy(&queue->member);
}
