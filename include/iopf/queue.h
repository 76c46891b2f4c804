/* SPDX-License-Identifier: MIT */
/*
 * libiopf - fault queues, fault reports and page request groups
 * (the kernel's drivers/iommu/io-pgfault.c).
 *
 * A driver model reports each page request with iopf_report_device_fault().
 * Requests without LAST_PAGE are kept on the device's partial list; the
 * LAST_PAGE request forms a group with every partial of the same group index
 * and hands it to the handler of the domain attached at the request's PASID.
 * The handler answers the group once (iopf_group_response()) and frees it
 * once (iopf_free_group()).
 *
 * A fault queue runs work items (iopf_queue_work()) on pthread workers, or,
 * with nr_workers = 0 ("manual mode"), only when the caller calls
 * iopf_queue_run(), in FIFO order, which makes a simulation reproducible.
 *
 * Thread safety: iopf_report_device_fault(), iopf_iommu_report_fault(),
 * iopf_group_response(), iopf_free_group(), iopf_queue_work() and the group
 * accessors may be called from any thread concurrently. Queue management
 * functions are serialised by the queue's lock.
 */
#ifndef IOPF_QUEUE_H
#define IOPF_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <iopf/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_device;
struct iopf_iommu;
struct iopf_queue;
struct iopf_group;
struct iopf_attach_handle;

/*
 * IOPF_QUEUE_PERCPU: one work list per CPU of the process's affinity mask
 * (its main thread's, read at iopf_queue_alloc(); at most one list per
 * worker), its workers bound to that CPU, and iopf_queue_work() queues on
 * the list of the CPU it runs on, as the kernel's bound (per-CPU)
 * workqueues run work where it was queued: a group stays in one CPU's
 * caches from the report to the free, instead of moving to whichever CPU
 * runs a worker. Unlike the kernel's, a list's workers are fixed: there is
 * no stealing and no extra worker when one blocks, so a work function that
 * blocks holds up the work queued behind it on its CPU. With fewer workers
 * than CPUs, CPUs share lists. The default (unbound: one list for all
 * workers) is what the kernel's iopf queues use (WQ_UNBOUND).
 */
#define IOPF_QUEUE_PERCPU (1u << 0)

/**
 * struct iopf_queue_attr - how to create a fault queue
 * @size: sizeof(struct iopf_queue_attr), for versioning
 * @nr_workers: worker threads; 0 is manual mode
 * @flags: IOPF_QUEUE_PERCPU or 0 (0 for a caller whose @size ends before it)
 */
struct iopf_queue_attr {
	size_t size;
	unsigned int nr_workers;
	/* past the first version's 16 bytes, tail padding included */
	uint64_t flags;
};

/**
 * iopf_queue_alloc() - create a fault queue
 * @ctx: the context
 * @name: name for traces (copied); NULL gives "iopfq<N>"
 * @attr: attributes; NULL for one worker per online CPU
 * @out: the new queue; untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @ctx or @out, bad @attr->size, more than 1024
 * workers, unknown flags, IOPF_QUEUE_PERCPU without workers), -ENOMEM, or
 * -EAGAIN if a worker thread could not be started.
 */
int iopf_queue_alloc(struct iopf_ctx *ctx, const char *name,
		     const struct iopf_queue_attr *attr,
		     struct iopf_queue **out);

/**
 * iopf_queue_free() - free a fault queue
 * @queue: the queue, or NULL
 *
 * Runs the work already queued, removes the devices still on the queue
 * (answering their pending groups INVALID), then stops the workers. (The
 * kernel removes first and destroys the workqueue after, which runs queued
 * work on groups remove_device already freed.)
 *
 * Context: not from a work function, a handler or an RCU read-side section
 * (it waits for a grace period, so that no iopf_queue_work() still uses
 * the queue); no report may target the queue's devices concurrently.
 */
void iopf_queue_free(struct iopf_queue *queue);

/**
 * iopf_queue_add_device() - enable IOPF on a device through a queue
 * @queue: the queue
 * @dev: the device
 *
 * Publishes the device's fault param (partial and pending lists).
 *
 * Context: any thread, not from a handler.
 * Return: 0, -EINVAL (NULL argument, objects of different contexts),
 * -ENODEV (the device's IOMMU has no page_response), -EBUSY (the device is
 * on a queue already), -ENOMEM.
 */
int iopf_queue_add_device(struct iopf_queue *queue, struct iopf_device *dev);

/**
 * iopf_queue_remove_device() - disable IOPF on a device
 * @queue: the queue the device is on
 * @dev: the device
 *
 * Frees the device's partial faults (no response) and answers each pending
 * group IOPF_PAGE_RESP_INVALID; it never frees a group: its holder still
 * calls iopf_free_group(), and a later iopf_group_response() is a no-op.
 * The caller should have stopped the hardware from queueing new requests.
 * Work already queued for the device's groups still runs later (a detach
 * of the device waits for it). Does nothing if @dev is not on @queue.
 *
 * Context: any thread, not from a handler.
 */
void iopf_queue_remove_device(struct iopf_queue *queue,
			      struct iopf_device *dev);

/**
 * iopf_queue_flush_dev() - wait for the work queued for a device's queue
 * @dev: the device
 *
 * Returns once every work item queued on the device's queue before the call
 * has finished (the whole queue is flushed, as in the kernel). In manual
 * mode the caller runs the queue's pending work until none is left.
 *
 * Context: not from a work function of the same queue.
 * Return: 0, -EINVAL if @dev is NULL, -ENODEV if the device is on no queue.
 */
int iopf_queue_flush_dev(struct iopf_device *dev);

/**
 * iopf_queue_discard_partial() - drop every partial fault of a queue
 * @queue: the queue
 *
 * For hardware queue overflow, where LAST_PAGE requests may have been lost:
 * frees the partial faults of every device on @queue, sending no response.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if @queue is NULL.
 */
int iopf_queue_discard_partial(struct iopf_queue *queue);

/**
 * iopf_queue_work() - run a function on a group's fault queue
 * @group: the group
 * @fn: the work function; it owns the group while it runs
 *
 * What the SVA handler does: @fn runs later on a worker of the queue the
 * group was formed on (or in iopf_queue_run() in manual mode).
 *
 * Context: any thread; typically the handler.
 * Return: 0, -EINVAL (NULL argument), -EBUSY (the group is queued already),
 * -ENODEV (the device left that queue).
 */
int iopf_queue_work(struct iopf_group *group,
		    void (*fn)(struct iopf_group *group));

/**
 * iopf_queue_run() - run queued work in the caller (manual mode)
 * @queue: a queue with nr_workers = 0
 * @max: the most work items to run
 *
 * Context: any thread, not from a work function.
 * Return: how many work items ran; 0 for a queue with workers or NULL.
 */
size_t iopf_queue_run(struct iopf_queue *queue, size_t max);

/**
 * iopf_queue_pending() - how many work items are queued and not yet run
 * @queue: the queue
 *
 * Context: any thread; the value may be stale by the time it is used.
 * Return: the count, 0 for NULL.
 */
size_t iopf_queue_pending(const struct iopf_queue *queue);

/**
 * iopf_report_device_fault() - report a page request (driver side)
 * @dev: the faulting device
 * @evt: the fault; copied, the caller keeps it
 *
 * The kernel's iommu_report_device_fault() (v6.11+ semantics). A request
 * without LAST_PAGE is stored as a partial; a LAST_PAGE request forms a
 * group and calls the handler of the attachment the request routes to.
 * Responses the core sends itself:
 *  - no handler found, or the device is not on a queue: INVALID for this
 *    request (last or not), return -EINVAL;
 *  - partial could not be stored: no response, -ENOMEM;
 *  - group allocation failed or the handler returned non-zero: FAILURE, 0.
 * Input the kernel trusts drivers never to produce is rejected first with
 * -EINVAL and no effect at all: NULL @dev or @evt, a type other than
 * IOPF_FAULT_PAGE_REQ, PASID_VALID with a PASID of 2^20 or more.
 *
 * Context: any thread; may block (mutexes, memory allocation, the handler).
 * Return: 0, -EINVAL or -ENOMEM as above.
 */
int iopf_report_device_fault(struct iopf_device *dev,
			     const struct iopf_fault *evt);

/**
 * iopf_iommu_report_fault() - report a page request by requester/stream ID
 * @iommu: the IOMMU that received the request
 * @id: the requester or stream ID it carries (as given to iopf_device_new())
 * @evt: the fault; copied, the caller keeps it
 *
 * iopf_device_find() + iopf_report_device_fault() + iopf_device_put() in
 * one call and one RCU read-side section (what a hardware model's page
 * request thread does for every descriptor, the kernel's VT-d PRQ thread
 * with its device tree, SMMUv3's with its stream tree): the same
 * semantics, responses and trace as iopf_report_device_fault() once the
 * device is found, for less work than the three calls.
 *
 * Context: any thread; may block (mutexes, memory allocation, the handler).
 * Return: -ENODEV if no device with @id is on @iommu: nothing is sent, the
 * IOMMU model answers (or not) as its hardware would; -EINVAL for a NULL
 * @iommu or @evt, or as iopf_report_device_fault(); otherwise as
 * iopf_report_device_fault().
 */
int iopf_iommu_report_fault(struct iopf_iommu *iommu, uint32_t id,
			    const struct iopf_fault *evt);

/**
 * iopf_report_device_faults() - report a batch of page requests of a device
 * @dev: the faulting device
 * @evts: @n faults, in arrival order; copied, the caller keeps them
 * @n: how many
 * @rets: NULL, or @n ints: what iopf_report_device_fault() returned for each
 *
 * The same as iopf_report_device_fault() on each fault in order (the same
 * responses, handler calls and trace), for a hardware model that drains a
 * ring: while one request is reported, the routing slots of the next ones
 * are prefetched, so with many PASIDs their cache misses overlap. The batch
 * runs in one RCU read-side section: handlers see no difference.
 *
 * Context: any thread; may block (mutexes, memory allocation, handlers).
 * Return: 0, or -EINVAL (NULL @dev, NULL @evts with @n > 0) and nothing
 * reported.
 */
int iopf_report_device_faults(struct iopf_device *dev,
			      const struct iopf_fault *evts, size_t n,
			      int *rets);

/**
 * iopf_iommu_report_faults() - report a batch of page requests by ID
 * @iommu: the IOMMU that received them
 * @ids: @n requester or stream IDs, one per fault
 * @evts: @n faults, in arrival order; copied, the caller keeps them
 * @n: how many
 * @rets: NULL, or @n ints: what iopf_iommu_report_fault() returned for each
 *
 * The same as iopf_iommu_report_fault() on each (ID, fault) in order, with
 * the device table slot, the device, its fault param and routing slot of
 * the next requests prefetched in stages while one is reported: with many
 * devices, their cache misses overlap. One RCU read-side section.
 *
 * Context: any thread; may block (mutexes, memory allocation, handlers).
 * Return: 0, or -EINVAL (NULL @iommu, NULL @ids or @evts with @n > 0) and
 * nothing reported.
 */
int iopf_iommu_report_faults(struct iopf_iommu *iommu, const uint32_t *ids,
			     const struct iopf_fault *evts, size_t n,
			     int *rets);

/**
 * iopf_group_response() - answer a page request group
 * @group: the group
 * @status: the code sent to the device
 *
 * Sends @status with the PASID and group index of the group's last fault
 * through the IOMMU's page_response, at most once per group: later calls,
 * and calls after iopf_queue_remove_device() answered the group, do
 * nothing. The status is passed through unvalidated, as in the kernel.
 *
 * Context: any thread; not from page_response.
 */
void iopf_group_response(struct iopf_group *group,
			 enum iopf_page_response_code status);

/**
 * iopf_free_group() - release a group
 * @group: the group, or NULL
 *
 * Frees the group's faults and drops its device reference. A group nobody
 * answered is answered INVALID first, so a dropped group never leaves the
 * device waiting. Must be called exactly once per group by its holder.
 *
 * Context: any thread.
 */
void iopf_free_group(struct iopf_group *group);

/**
 * iopf_group_fault_count() - number of faults in a group
 * @group: the group
 *
 * Context: any thread holding the group.
 * Return: the count (at least 1), or 0 if @group is NULL.
 */
size_t iopf_group_fault_count(const struct iopf_group *group);

/**
 * iopf_group_fault_at() - a fault of a group, in arrival order
 * @group: the group
 * @i: 0 .. count - 1; the last-page fault is at count - 1
 *
 * Context: any thread holding the group.
 * Return: the fault, valid while the group is, or NULL if out of range.
 */
const struct iopf_fault *iopf_group_fault_at(const struct iopf_group *group,
					     size_t i);

/**
 * iopf_group_last_fault() - the last-page fault of a group
 * @group: the group
 *
 * Context: any thread holding the group.
 * Return: the fault, or NULL if @group is NULL.
 */
const struct iopf_fault *iopf_group_last_fault(const struct iopf_group *group);

/**
 * iopf_group_attach_handle() - the attachment a group was routed to
 * @group: the group
 *
 * Context: any thread holding the group, while that attachment is attached.
 * Return: the handle, or NULL if @group is NULL.
 */
struct iopf_attach_handle *
iopf_group_attach_handle(const struct iopf_group *group);

/**
 * iopf_group_device() - the device a group came from
 * @group: the group
 *
 * Context: any thread holding the group.
 * Return: the device (kept alive by the group), or NULL if @group is NULL.
 */
struct iopf_device *iopf_group_device(const struct iopf_group *group);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_QUEUE_H */
