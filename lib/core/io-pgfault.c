// SPDX-License-Identifier: MIT
/*
 * Handle page requests: the userspace drivers/iommu/io-pgfault.c.
 *
 * A driver reports each page request with iopf_report_device_fault().
 * Requests that are not the last of their page request group wait on the
 * device's partial list. The LAST_PAGE request gathers every partial with
 * the same group index into a group (iopf_group_alloc()), which is routed
 * by PASID to the attached domain's handler (find_fault_handler()). The
 * group is pending (on the device's live list, not yet answered: the
 * kernel's pending list) until it is answered, exactly once, by whoever
 * answers first: the handler (iopf_group_response()),
 * iopf_queue_remove_device(), or iopf_free_group() of an unanswered group.
 * Reports of a ring drain can come in batches (batch.c).
 *
 * Memory ownership is stricter than the kernel's: answering and freeing are
 * separate, remove_device never frees a group its holder may still use, and
 * every live group is tracked so that iopf_ctx_free() can reclaim it.
 *
 * Lock order: queue->lock, dev->iommu_lock, fault_param->lock, ctx->lock.
 * The report path takes fault_param->lock only, under the RCU read lock.
 */
#include <errno.h>
#include <string.h>

#include "iommu-priv.h"

/* ---- per-device fault data (iommu_fault_param) --------------------------- */

static void group_cache_reap_locked(struct iopf_fault_param *fp);

static void fault_param_free_rcu(struct rcu_head *head)
{
	struct iopf_fault_param *fp =
		container_of(head, struct iopf_fault_param, rcu);
	struct iopf_group *group, *next;

	/* After a grace period: pair with iopf_call_rcu(), for TSan. */
	iopf_tsan_gp_begin();
	/* Nobody else can see @fp now: the lock is not needed. */
	group_cache_reap_locked(fp);
	cds_list_for_each_entry_safe(group, next, &fp->cache, live_node)
		iopf_mfree(group);
	pthread_mutex_destroy(&fp->lock);
	iopf_mfree(fp);
}

/* iopf_get_dev_fault_param(), in a read-side section already (report path). */
static struct iopf_fault_param *fault_param_get_rcu(struct iopf_device *dev)
{
	struct iopf_fault_param *fp = iopf_rcu_deref(dev->fault_param);

	if (fp && !iopf_ref_get_unless_zero(&fp->users))
		fp = NULL;
	return fp;
}

/*
 * Find the device's fault param and take a reference, as the kernel's
 * iopf_get_dev_fault_param(): NULL when the device is on no queue.
 */
struct iopf_fault_param *iopf_get_dev_fault_param(struct iopf_device *dev)
{
	struct iopf_fault_param *fp;

	iopf_rcu_read_lock();
	fp = fault_param_get_rcu(dev);
	iopf_rcu_read_unlock();
	return fp;
}

void iopf_put_dev_fault_param(struct iopf_fault_param *fp)
{
	struct iopf_device *dev = fp->dev;
	struct iopf_ctx *ctx;

	if (!iopf_ref_put(&fp->users))
		return;
	ctx = dev->ctx;
	pthread_mutex_lock(&ctx->lock);
	cds_list_del(&fp->ctx_node);
	pthread_mutex_unlock(&ctx->lock);
	/* Lock-free readers may still hold the pointer: free after a GP. */
	iopf_call_rcu(&fp->rcu, fault_param_free_rcu);
	/* Pair with iopf_queue_add_device(). */
	iopf_device_put(dev);
}

/* ---- responses ------------------------------------------------------------ */

static void trace_response(struct iopf_device *dev,
			   const struct iopf_fault *evt, uint32_t code,
			   uint32_t origin)
{
	/* dev->iommu->ctx: the IOMMU's line is shared by every device. */
	if (iopf_trace_on(dev->iommu->ctx))
		iopf_trace_fault(dev->ctx, IOPF_TRACE_RESPONSE_SENT, dev, evt,
				 (int32_t)code, origin, 0, 0);
}

static void send_response(struct iopf_device *dev, const struct iopf_fault *evt,
			  uint32_t code)
{
	struct iopf_page_response resp = {
		.pasid = evt->prm.pasid,
		.grpid = evt->prm.grpid,
		.code = code,
	};

	dev->iommu->ops.page_response(dev, evt, &resp);
}

/*
 * Answer @group if nobody has; with fault_param->lock held. Returns true
 * if this call sent the response.
 */
static bool group_respond_locked(struct iopf_group *group, uint32_t code)
{
	if (atomic_load_explicit(&group->responded, memory_order_relaxed))
		return false;
	send_response(group->fault_param->dev, &group->last_fault.fault, code);
	/* Lets iopf_free_group() skip the lock (acquire there). */
	atomic_store_explicit(&group->responded, true, memory_order_release);
	return true;
}

static void group_response(struct iopf_group *group, uint32_t code,
			   uint32_t origin)
{
	struct iopf_fault_param *fp = group->fault_param;
	bool sent;

	pthread_mutex_lock(&fp->lock);
	sent = group_respond_locked(group, code);
	pthread_mutex_unlock(&fp->lock);
	if (sent)
		trace_response(fp->dev, &group->last_fault.fault, code, origin);
}

void iopf_group_response_origin(struct iopf_group *group, uint32_t code,
				uint32_t origin)
{
	group_response(group, code, origin);
}

IOPF_EXPORT void iopf_group_response(struct iopf_group *group,
				     enum iopf_page_response_code status)
{
	if (group)
		group_response(group, status, IOPF_ORIGIN_HANDLER);
}

/* The kernel's iopf_error_response(): INVALID for this one request. */
static void iopf_error_response(struct iopf_device *dev,
				const struct iopf_fault *evt)
{
	/* An IOMMU without page_response can't answer at all. */
	if (!dev->iommu->ops.page_response)
		return;
	send_response(dev, evt, IOPF_PAGE_RESP_INVALID);
	trace_response(dev, evt, IOPF_PAGE_RESP_INVALID, IOPF_ORIGIN_ERROR);
}

/* ---- groups ------------------------------------------------------------- */

static void free_fault_list(struct iopf_group *group)
{
	struct iopf_fault_node *node, *next;

	cds_list_for_each_entry_safe(node, next, &group->faults, list) {
		if (node != &group->last_fault)
			iopf_mfree(node);
	}
}

/* Free the partials of a group and drop its reference (__iopf_free_group). */
static void __iopf_free_group(struct iopf_group *group)
{
	struct iopf_fault_param *fp = group->fault_param;

	pthread_mutex_lock(&fp->lock);
	cds_list_del(&group->live_node);
	pthread_mutex_unlock(&fp->lock);
	free_fault_list(group);
	/* Pair with iopf_report_device_fault(): the reference moved to the group. */
	iopf_put_dev_fault_param(group->fault_param);
}

/*
 * Keep an answered group for the device's next report: push it on the
 * freed stack without taking fp->lock, which the worker that frees and the
 * reporter that allocates would otherwise fight over. False when the cache
 * is full. The group must not be touched after a successful push.
 */
static bool group_cache_push(struct iopf_fault_param *fp,
			     struct iopf_group *group)
{
	struct iopf_group *head;

	if (atomic_fetch_add_explicit(&fp->nr_cached, 1,
				      memory_order_relaxed) >=
	    IOPF_GROUP_CACHE) {
		atomic_fetch_sub_explicit(&fp->nr_cached, 1,
					  memory_order_relaxed);
		return false;
	}
	head = atomic_load_explicit(&fp->freed, memory_order_relaxed);
	do {
		group->free_next = head;
	} while (!atomic_compare_exchange_weak_explicit(
		&fp->freed, &head, group, memory_order_release,
		memory_order_relaxed));
	return true;
}

/* Move the freed stack to the cache, off the live list; fp->lock held. */
static void group_cache_reap_locked(struct iopf_fault_param *fp)
{
	struct iopf_group *group = atomic_exchange_explicit(
		&fp->freed, NULL, memory_order_acquire);

	for (; group; group = group->free_next) {
		cds_list_del(&group->live_node);
		cds_list_add(&group->live_node, &fp->cache);
	}
}

/* A group freed earlier on this device, or NULL; with fp->lock held. */
static struct iopf_group *group_cache_pop_locked(struct iopf_fault_param *fp)
{
	struct iopf_group *group;

	if (cds_list_empty(&fp->cache))
		group_cache_reap_locked(fp);
	if (cds_list_empty(&fp->cache))
		return NULL;
	group = cds_list_first_entry(&fp->cache, struct iopf_group, live_node);
	cds_list_del(&group->live_node);
	atomic_fetch_sub_explicit(&fp->nr_cached, 1, memory_order_relaxed);
	return group;
}

IOPF_EXPORT void iopf_free_group(struct iopf_group *group)
{
	struct iopf_fault_param *fp;
	bool sent;

	if (!group)
		return;
	fp = group->fault_param;
	/* The partials are the holder's own: no lock needed. */
	free_fault_list(group);
	/*
	 * Answered (by anyone; pair with group_respond_locked()) while the
	 * device has other groups in flight (a worker frees what a reporter
	 * allocated): keep it, no lock. An idle device (its users are the
	 * queue's and this group's) gives it back to malloc, whose per-thread
	 * cache serves a same-thread reuse better and keeps a cold device's
	 * group from being a cache miss at its next fault. A stale count only
	 * picks the other, equally correct, path.
	 */
	if (atomic_load_explicit(&group->responded, memory_order_acquire) &&
	    atomic_load_explicit(&fp->users.count, memory_order_relaxed) > 2 &&
	    group_cache_push(fp, group)) {
		/* Pair with iopf_report_device_fault(): the group's reference. */
		iopf_put_dev_fault_param(fp);
		return;
	}
	pthread_mutex_lock(&fp->lock);
	/* A dropped group must not leave the device waiting. */
	sent = group_respond_locked(group, IOPF_PAGE_RESP_INVALID);
	cds_list_del(&group->live_node);
	pthread_mutex_unlock(&fp->lock);
	if (sent)
		trace_response(fp->dev, &group->last_fault.fault,
			       IOPF_PAGE_RESP_INVALID, IOPF_ORIGIN_FREE_GROUP);
	/* Pair with iopf_report_device_fault(): the reference moved to the group. */
	iopf_put_dev_fault_param(fp);
	iopf_mfree(group);
}

/*
 * Build the group of @evt: its partials with the same group index (grpid
 * only, as in the kernel: PASID and address are not compared), in arrival
 * order, then the last fault. If the allocation fails, @abort_group (on the
 * caller's stack) is used, because the request must still be answered.
 */
static struct iopf_group *iopf_group_alloc(struct iopf_fault_param *fp,
					   const struct iopf_fault *evt,
					   struct iopf_group *abort_group)
{
	struct iopf_fault_node *node, *next;
	struct iopf_group *group;
	uint32_t count = 1;

	/* An unlocked peek: a wrong guess costs a malloc or a second lock. */
	if (!atomic_load_explicit(&fp->nr_cached, memory_order_relaxed)) {
		group = iopf_malloc(sizeof(*group));
		pthread_mutex_lock(&fp->lock);
	} else {
		pthread_mutex_lock(&fp->lock);
		group = group_cache_pop_locked(fp);
		if (!group) {
			pthread_mutex_unlock(&fp->lock);
			group = iopf_malloc(sizeof(*group));
			pthread_mutex_lock(&fp->lock);
		}
	}
	if (!group) {
		group = abort_group;
		memset(group, 0, sizeof(*group));
	}
	group->on_stack = group == abort_group;
	group->fault_param = fp;
	group->last_fault.fault = *evt;
	group->attach_handle = NULL;
	group->work_fn = NULL;
	group->cookie = 0;
	atomic_init(&group->responded, false);
	atomic_init(&group->queued, false);
	CDS_INIT_LIST_HEAD(&group->faults);
	CDS_INIT_LIST_HEAD(&group->node);
	cds_list_add(&group->last_fault.list, &group->faults);
	/* The partial list is newest first; moving to the head restores order. */
	cds_list_for_each_entry_safe(node, next, &fp->partial, list) {
		if (node->fault.prm.grpid == evt->prm.grpid) {
			cds_list_move(&node->list, &group->faults);
			count++;
		}
	}
	/* Unanswered on the live list = the kernel's pending list. */
	cds_list_add_tail(&group->live_node, &fp->groups);
	pthread_mutex_unlock(&fp->lock);
	group->fault_count = count;
	return group;
}

IOPF_EXPORT size_t iopf_group_fault_count(const struct iopf_group *group)
{
	return group ? group->fault_count : 0;
}

IOPF_EXPORT const struct iopf_fault *
iopf_group_fault_at(const struct iopf_group *group, size_t i)
{
	const struct iopf_fault_node *node;

	if (!group || i >= group->fault_count)
		return NULL;
	if (i == group->fault_count - 1)
		return &group->last_fault.fault;
	cds_list_for_each_entry(node, &group->faults, list) {
		if (!i--)
			return &node->fault;
	}
	return NULL;
}

IOPF_EXPORT const struct iopf_fault *
iopf_group_last_fault(const struct iopf_group *group)
{
	return group ? &group->last_fault.fault : NULL;
}

IOPF_EXPORT struct iopf_attach_handle *
iopf_group_attach_handle(const struct iopf_group *group)
{
	return group ? group->attach_handle : NULL;
}

IOPF_EXPORT struct iopf_device *
iopf_group_device(const struct iopf_group *group)
{
	return group ? group->fault_param->dev : NULL;
}

/* ---- the report path ------------------------------------------------------ */

static int report_partial_fault(struct iopf_fault_param *fp,
				const struct iopf_fault *evt)
{
	struct iopf_fault_node *node = iopf_malloc(sizeof(*node));

	if (!node)
		return -ENOMEM;
	node->fault = *evt;
	pthread_mutex_lock(&fp->lock);
	/*
	 * The device left its queue after we found it: remove_device already
	 * dropped its partials, so this one goes too (the kernel leaks it).
	 */
	if (!fp->queue) {
		pthread_mutex_unlock(&fp->lock);
		iopf_mfree(node);
		return 0;
	}
	cds_list_add(&node->list, &fp->partial);
	pthread_mutex_unlock(&fp->lock);
	return 0;
}

/*
 * Where a fault routes to (the kernel's find_fault_handler()): true with
 * the domain and handle in @r, false for no handler. It reads the routing
 * slots only, never the attachment: one cache line for a random PASID.
 * Under the RCU read lock.
 */
static bool find_fault_handler(struct iopf_device *dev,
			       const struct iopf_fault *evt,
			       struct iopf_route_snap *r)
{
	const struct iopf_fault_page_request *prm = &evt->prm;

	if (prm->flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID) {
		iopf_route_get(dev, prm->pasid, r);
		if (!r->handle) {
			/* A user-managed PASID table lives under a NESTED RID domain. */
			if (!dev->iommu->ops.user_pasid_table)
				return false;
			iopf_route_get(dev, IOPF_NO_PASID, r);
			if (!r->handle || r->domain->type != IOPF_DOMAIN_NESTED)
				return false;
		}
	} else {
		iopf_route_get(dev, IOPF_NO_PASID, r);
		if (!r->handle)
			return false;
	}
	return r->domain->iopf_handler != NULL;
}

/* Input the kernel trusts its drivers never to produce. */
static bool fault_is_malformed(const struct iopf_fault *evt)
{
	if (evt->type != IOPF_FAULT_PAGE_REQ)
		return true;
	return (evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID) &&
	       evt->prm.pasid >= IOPF_PASID_MAX;
}

static void trace_report(struct iopf_device *dev, uint32_t type,
			 const struct iopf_fault *evt, int ret, uint32_t count)
{
	if (iopf_trace_on(dev->iommu->ctx))
		iopf_trace_fault(dev->ctx, type, dev, evt, -1, IOPF_ORIGIN_NONE,
				 ret, count);
}

/* Form the group and hand it to the handler; under the RCU read lock. */
static int
report_last_fault(struct iopf_device *dev, struct iopf_fault_param *fp,
		  const struct iopf_route_snap *r, const struct iopf_fault *evt,
		  struct iopf_group *abort_group, struct iopf_group **out)
{
	struct iopf_group *group = iopf_group_alloc(fp, evt, abort_group);

	*out = group;
	if (group == abort_group)
		return -ENOMEM;
	group->attach_handle = r->handle;
	trace_report(dev, IOPF_TRACE_GROUP_FORMED, evt, 0, group->fault_count);
	trace_report(dev, IOPF_TRACE_HANDLER_CALLED, evt, 0,
		     group->fault_count);
	return r->domain->iopf_handler(group);
}

/* The core answers FAILURE and frees the group (the kernel's abort path). */
static void abort_group_response(struct iopf_group *group)
{
	group_response(group, IOPF_PAGE_RESP_FAILURE, IOPF_ORIGIN_ABORT);
	if (group->on_stack)
		__iopf_free_group(group);
	else
		iopf_free_group(group);
}

/*
 * The report from routing on (find_fault_handler() to the handler), called
 * under the RCU read lock, which it drops: the lock covers the handler
 * call, so a detach that has waited for a grace period knows no handler
 * call for it is in progress.
 */
static int report_rcu(struct iopf_device *dev, const struct iopf_fault *evt)
{
	struct iopf_group abort_group, *group;
	struct iopf_fault_param *fp;
	struct iopf_route_snap r;
	int ret;

	fp = find_fault_handler(dev, evt, &r) ? fault_param_get_rcu(dev) : NULL;
	if (!fp) {
		/*
		 * No handler, or a handler but the device is on no queue.
		 * Answered inside the section: a device found by ID has no
		 * other reference keeping it.
		 */
		iopf_error_response(dev, evt);
		iopf_rcu_read_unlock();
		return -EINVAL;
	}
	/* From here @fp (and the device reference it holds) keeps @dev. */
	if (!(evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE)) {
		iopf_rcu_read_unlock();
		ret = report_partial_fault(fp, evt);
		trace_report(dev, IOPF_TRACE_PARTIAL_STORED, evt, ret, 0);
		iopf_put_dev_fault_param(fp);
		/* A partial needs no response; a lost one gets none either. */
		return ret;
	}
	ret = report_last_fault(dev, fp, &r, evt, &abort_group, &group);
	iopf_rcu_read_unlock();
	if (ret)
		abort_group_response(group);
	return 0;
}

IOPF_EXPORT int iopf_report_device_fault(struct iopf_device *dev,
					 const struct iopf_fault *evt)
{
	if (!dev || !evt)
		return -EINVAL;
	if (fault_is_malformed(evt)) {
		trace_report(dev, IOPF_TRACE_FAULT_REJECTED, evt, -EINVAL, 0);
		return -EINVAL;
	}
	trace_report(dev, IOPF_TRACE_FAULT_REPORTED, evt, 0, 0);
	iopf_rcu_read_lock();
	return report_rcu(dev, evt);
}

IOPF_EXPORT int iopf_iommu_report_fault(struct iopf_iommu *iommu, uint32_t id,
					const struct iopf_fault *evt)
{
	struct iopf_device *dev;

	if (!iommu || !evt)
		return -EINVAL;
	/*
	 * One read-side section for the lookup and the report, and no
	 * reference: the section keeps the device's memory, and report_rcu()
	 * uses it outside only through a fault param, which holds one. Not
	 * writing the device's reference count keeps its first cache line
	 * shared with the workers that read it.
	 */
	iopf_rcu_read_lock();
	dev = iopf_device_lookup_rcu(iommu, id);
	if (!dev) {
		iopf_rcu_read_unlock();
		return -ENODEV;
	}
	if (fault_is_malformed(evt)) {
		trace_report(dev, IOPF_TRACE_FAULT_REJECTED, evt, -EINVAL, 0);
		iopf_rcu_read_unlock();
		return -EINVAL;
	}
	trace_report(dev, IOPF_TRACE_FAULT_REPORTED, evt, 0, 0);
	return report_rcu(dev, evt);
}

/* ---- enabling, removal and discard ------------------------------------- */

static void trace_queue_dev(struct iopf_device *dev, uint32_t type,
			    const struct iopf_queue *queue, int ret,
			    uint32_t count)
{
	struct iopf_trace_event ev;

	if (!iopf_trace_on(dev->ctx))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.device = dev->name;
	ev.dev_id = dev->id;
	ev.iommu = dev->iommu->name;
	ev.pasid = IOPF_PASID_INVALID;
	ev.code = -1;
	ev.ret = ret;
	ev.count = count;
	ev.name = queue->name;
	ev.from = IOPF_LAYER_CORE;
	ev.to = IOPF_LAYER_CORE;
	iopf_trace_emit(dev->ctx, &ev);
}

static struct iopf_fault_param *fault_param_new(struct iopf_queue *queue,
						struct iopf_device *dev)
{
	/* On a line of its own: its hot fields take two, not three. */
	struct iopf_fault_param *fp = iopf_zalloc_aligned(64, sizeof(*fp));

	if (!fp)
		return NULL;
	pthread_mutex_init(&fp->lock, NULL);
	iopf_ref_init(&fp->users);
	fp->queue = queue;
	fp->dev = dev;
	CDS_INIT_LIST_HEAD(&fp->partial);
	CDS_INIT_LIST_HEAD(&fp->groups);
	CDS_INIT_LIST_HEAD(&fp->cache);
	return fp;
}

IOPF_EXPORT int iopf_queue_add_device(struct iopf_queue *queue,
				      struct iopf_device *dev)
{
	struct iopf_fault_param *fp;
	int ret = 0;

	if (!queue || !dev || queue->ctx != dev->ctx)
		return -EINVAL;
	if (!dev->iommu->ops.page_response)
		return -ENODEV;
	pthread_mutex_lock(&queue->lock);
	pthread_mutex_lock(&dev->iommu_lock);
	if (atomic_load(&dev->fault_param)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	fp = fault_param_new(queue, dev);
	if (!fp) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	/* Pair with iopf_put_dev_fault_param(). */
	iopf_device_get(dev);
	/* Where the device's work goes, remembered past its removal. */
	if (dev->work_queue != queue) {
		iopf_queue_put(dev->work_queue);
		iopf_queue_get(queue);
		dev->work_queue = queue;
	}
	cds_list_add_tail(&fp->queue_list, &queue->devices);
	pthread_mutex_lock(&dev->ctx->lock);
	cds_list_add_tail(&fp->ctx_node, &dev->ctx->fault_params);
	pthread_mutex_unlock(&dev->ctx->lock);
	iopf_rcu_assign(dev->fault_param, fp);
out_unlock:
	pthread_mutex_unlock(&dev->iommu_lock);
	pthread_mutex_unlock(&queue->lock);
	trace_queue_dev(dev, IOPF_TRACE_DEVICE_ADDED, queue, ret, 0);
	return ret;
}

static uint32_t free_partials_locked(struct iopf_fault_param *fp)
{
	struct iopf_fault_node *node, *next;
	uint32_t count = 0;

	cds_list_for_each_entry_safe(node, next, &fp->partial, list) {
		cds_list_del(&node->list);
		iopf_mfree(node);
		count++;
	}
	return count;
}

/* Answer every pending group INVALID; with fp->lock held. */
static void answer_pending_locked(struct iopf_fault_param *fp)
{
	struct iopf_group *group, *next;

	cds_list_for_each_entry_safe(group, next, &fp->groups, live_node) {
		if (group_respond_locked(group, IOPF_PAGE_RESP_INVALID))
			trace_response(fp->dev, &group->last_fault.fault,
				       IOPF_PAGE_RESP_INVALID,
				       IOPF_ORIGIN_REMOVE_DEVICE);
	}
}

IOPF_EXPORT void iopf_queue_remove_device(struct iopf_queue *queue,
					  struct iopf_device *dev)
{
	struct iopf_fault_param *fp;
	uint32_t dropped = 0;

	if (!queue || !dev)
		return;
	pthread_mutex_lock(&queue->lock);
	pthread_mutex_lock(&dev->iommu_lock);
	fp = atomic_load(&dev->fault_param);
	if (!fp || fp->queue != queue) {
		/* The kernel WARNs; nothing changes. */
		pthread_mutex_unlock(&dev->iommu_lock);
		pthread_mutex_unlock(&queue->lock);
		return;
	}
	pthread_mutex_lock(&fp->lock);
	dropped = free_partials_locked(fp);
	answer_pending_locked(fp);
	fp->queue = NULL;
	pthread_mutex_unlock(&fp->lock);
	cds_list_del(&fp->queue_list);
	iopf_rcu_assign(dev->fault_param, NULL);
	pthread_mutex_unlock(&dev->iommu_lock);
	pthread_mutex_unlock(&queue->lock);
	if (dropped)
		trace_queue_dev(dev, IOPF_TRACE_PARTIALS_DISCARDED, queue, 0,
				dropped);
	trace_queue_dev(dev, IOPF_TRACE_DEVICE_REMOVED, queue, 0, dropped);
	/* Pair with iopf_queue_add_device(): the registration reference. */
	iopf_put_dev_fault_param(fp);
}

IOPF_EXPORT int iopf_queue_discard_partial(struct iopf_queue *queue)
{
	struct iopf_fault_param *fp;
	uint32_t count;

	if (!queue)
		return -EINVAL;
	pthread_mutex_lock(&queue->lock);
	cds_list_for_each_entry(fp, &queue->devices, queue_list) {
		pthread_mutex_lock(&fp->lock);
		count = free_partials_locked(fp);
		pthread_mutex_unlock(&fp->lock);
		if (count)
			trace_queue_dev(fp->dev, IOPF_TRACE_PARTIALS_DISCARDED,
					queue, 0, count);
	}
	pthread_mutex_unlock(&queue->lock);
	return 0;
}

/*
 * iopf_ctx_free(): free the groups custom handlers still hold. Every device
 * was removed from its queue by then, so all of them were answered.
 */
static struct iopf_group *ctx_next_live_group(struct iopf_ctx *ctx)
{
	struct iopf_fault_param *fp;
	struct iopf_group *group = NULL;

	pthread_mutex_lock(&ctx->lock);
	cds_list_for_each_entry(fp, &ctx->fault_params, ctx_node) {
		pthread_mutex_lock(&fp->lock);
		/* Freed groups are still on the live list until reaped. */
		group_cache_reap_locked(fp);
		if (!cds_list_empty(&fp->groups))
			group = cds_list_first_entry(
				&fp->groups, struct iopf_group, live_node);
		pthread_mutex_unlock(&fp->lock);
		if (group)
			break;
	}
	pthread_mutex_unlock(&ctx->lock);
	return group;
}

void iopf_ctx_free_groups(struct iopf_ctx *ctx)
{
	struct iopf_group *group;

	while ((group = ctx_next_live_group(ctx)))
		iopf_free_group(group);
}
