/* SPDX-License-Identifier: MIT */
/*
 * libiopf - context, IOMMUs and devices.
 *
 * A context (struct iopf_ctx) holds every other object; there is no global
 * state outside it. An IOMMU is a hardware backend behind an ops table, the
 * userspace form of the kernel's struct iommu_device + iommu_ops. A device
 * sits behind one IOMMU and is identified there by its requester/stream ID.
 *
 * Thread safety: every function may be called from any thread unless its
 * Context: line says otherwise. Constructors and destructors of one object
 * must not race with other calls on that same object.
 */
#ifndef IOPF_IOMMU_H
#define IOPF_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iopf/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_iommu;
struct iopf_device;
struct iopf_domain;
struct iopf_queue;

/**
 * iopf_ctx_new() - create a library context
 * @out: where the new context is stored; untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL if @out is NULL, or -ENOMEM.
 */
int iopf_ctx_new(struct iopf_ctx **out);

/**
 * iopf_ctx_free() - free a context and everything still in it
 * @ctx: the context, or NULL
 *
 * Runs the work already queued on every fault queue, tears down channels,
 * SVA binds and attachments, answers every group still pending with
 * IOPF_PAGE_RESP_INVALID, stops the workers and frees every object, in the
 * reverse order of creation. No handler may touch a group after it returns.
 *
 * Context: not from a handler, a work function or an RCU read-side section;
 * no other call on objects of @ctx may run concurrently.
 */
void iopf_ctx_free(struct iopf_ctx *ctx);

/**
 * struct iopf_iommu_ops - the backend side of an IOMMU (kernel iommu_ops)
 * @size: sizeof(struct iopf_iommu_ops), for versioning
 * @page_response: deliver a response to the device; mandatory for IOPF.
 *	@evt is the group's last fault (the driver decides from its flags
 *	whether a PASID goes into the response). Called with the device's
 *	fault-param lock held: it must not call back into the core.
 * @set_dev_pasid: optional; program the hardware for an attach of @domain at
 *	@pasid (IOPF_NO_PASID for the RID). A negative return fails the attach.
 * @remove_dev_pasid: optional; tear down @pasid and drain its page requests
 *	(VT-d 7.10). Faults the drain pushes out are still routed to the
 *	attachment being removed while this runs.
 * @user_pasid_table: faults for PASIDs with no attachment of their own are
 *	routed to a NESTED domain attached at the RID
 */
struct iopf_iommu_ops {
	size_t size;
	void (*page_response)(struct iopf_device *dev,
			      const struct iopf_fault *evt,
			      const struct iopf_page_response *msg);
	int (*set_dev_pasid)(struct iopf_device *dev, uint32_t pasid,
			     struct iopf_domain *domain);
	void (*remove_dev_pasid)(struct iopf_device *dev, uint32_t pasid,
				 struct iopf_domain *domain);
	bool user_pasid_table;
};

/**
 * iopf_iommu_new() - register an IOMMU (a hardware backend)
 * @ctx: the context
 * @name: name for traces (copied); NULL gives "iommu<N>"
 * @ops: the backend's ops table (copied); @ops->size must be valid
 * @drvdata: backend data, returned by iopf_iommu_drvdata()
 * @out: the new IOMMU; untouched on failure
 *
 * An IOMMU whose ops lack page_response can host devices, but IOPF cannot
 * be enabled on them (iopf_queue_add_device() returns -ENODEV).
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, bad @ops->size) or -ENOMEM.
 */
int iopf_iommu_new(struct iopf_ctx *ctx, const char *name,
		   const struct iopf_iommu_ops *ops, void *drvdata,
		   struct iopf_iommu **out);

/**
 * iopf_iommu_free() - unregister an IOMMU and free the devices still on it
 * @iommu: the IOMMU, or NULL
 *
 * Context: not from a handler or a work function.
 */
void iopf_iommu_free(struct iopf_iommu *iommu);

/**
 * iopf_iommu_drvdata() - the backend data given to iopf_iommu_new()
 * @iommu: the IOMMU
 *
 * Context: any thread.
 * Return: the pointer, or NULL if @iommu is NULL.
 */
void *iopf_iommu_drvdata(const struct iopf_iommu *iommu);

/**
 * iopf_iommu_name() - the name of an IOMMU
 * @iommu: the IOMMU
 *
 * Context: any thread.
 * Return: a string owned by @iommu, or NULL if @iommu is NULL.
 */
const char *iopf_iommu_name(const struct iopf_iommu *iommu);

/**
 * iopf_iommu_ctx() - the context an IOMMU belongs to
 * @iommu: the IOMMU
 *
 * Context: any thread.
 * Return: the context, or NULL if @iommu is NULL.
 */
struct iopf_ctx *iopf_iommu_ctx(const struct iopf_iommu *iommu);

/**
 * iopf_iommu_set_queue() - set the queue IOPF is enabled on by attach
 * @iommu: the IOMMU
 * @queue: the fault queue, or NULL to clear
 *
 * When a queue is set, the first attach of a fault-capable domain with a
 * handle to a device adds the device to @queue and the last detach removes
 * it (what the kernel's drivers do in their attach paths since v6.16).
 *
 * Context: any thread; serialised with attach and detach.
 * Return: 0, -EINVAL if @iommu is NULL or @queue belongs to another
 * context, -EBUSY while devices are enabled through the current queue.
 */
int iopf_iommu_set_queue(struct iopf_iommu *iommu, struct iopf_queue *queue);

/**
 * struct iopf_device_attr - how to create a device
 * @size: sizeof(struct iopf_device_attr), for versioning
 * @id: requester/stream ID, unique per IOMMU
 * @max_pasids: 0 for no PASID support, else PASIDs 1..max_pasids-1 are
 *	usable; at most 1 << IOPF_PASID_BITS
 * @name: name for traces (copied); NULL derives "dev<id>"
 * @drvdata: backend or caller data, returned by iopf_device_drvdata()
 */
struct iopf_device_attr {
	size_t size;
	uint32_t id;
	uint32_t max_pasids;
	const char *name;
	void *drvdata;
};

/**
 * iopf_device_new() - add a device behind an IOMMU
 * @iommu: the IOMMU
 * @attr: the device's attributes
 * @out: the new device (the caller's reference); untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, bad @attr->size, max_pasids above
 * 1 << IOPF_PASID_BITS), -EEXIST if @attr->id is taken on @iommu, -ENOMEM.
 */
int iopf_device_new(struct iopf_iommu *iommu,
		    const struct iopf_device_attr *attr,
		    struct iopf_device **out);

/**
 * iopf_device_free() - remove a device
 * @dev: the device, or NULL
 *
 * Detaches everything attached to @dev, removes it from its fault queue
 * (answering its pending groups INVALID) and unpublishes it, so that
 * iopf_device_find() no longer returns it. The memory goes with the last
 * reference; every group of the device holds one.
 *
 * Context: not from a handler, a work function or an RCU read-side section.
 */
void iopf_device_free(struct iopf_device *dev);

/**
 * iopf_device_find() - look a device up by ID
 * @iommu: the IOMMU
 * @id: the requester/stream ID
 *
 * Context: any thread; lock-free (RCU).
 * Return: a new reference, to be dropped with iopf_device_put(), or NULL.
 */
struct iopf_device *iopf_device_find(struct iopf_iommu *iommu, uint32_t id);

/**
 * iopf_device_put() - drop a reference taken by iopf_device_find()
 * @dev: the device, or NULL
 *
 * Context: any thread.
 */
void iopf_device_put(struct iopf_device *dev);

/**
 * iopf_device_id() - the requester/stream ID of a device
 * @dev: the device
 *
 * Context: any thread.
 * Return: the ID, or 0 if @dev is NULL.
 */
uint32_t iopf_device_id(const struct iopf_device *dev);

/**
 * iopf_device_drvdata() - the data given in iopf_device_attr.drvdata
 * @dev: the device
 *
 * Context: any thread.
 * Return: the pointer, or NULL if @dev is NULL.
 */
void *iopf_device_drvdata(const struct iopf_device *dev);

/**
 * iopf_device_name() - the name of a device
 * @dev: the device
 *
 * Context: any thread.
 * Return: a string owned by @dev, or NULL if @dev is NULL.
 */
const char *iopf_device_name(const struct iopf_device *dev);

/**
 * iopf_device_max_pasids() - the device's PASID limit
 * @dev: the device
 *
 * Context: any thread.
 * Return: iopf_device_attr.max_pasids, or 0 if @dev is NULL.
 */
uint32_t iopf_device_max_pasids(const struct iopf_device *dev);

/**
 * iopf_device_iommu() - the IOMMU a device sits behind
 * @dev: the device
 *
 * Context: any thread.
 * Return: the IOMMU, or NULL if @dev is NULL.
 */
struct iopf_iommu *iopf_device_iommu(const struct iopf_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_IOMMU_H */
