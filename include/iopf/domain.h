/* SPDX-License-Identifier: MIT */
/*
 * libiopf - domains, attach handles and PASID routing.
 *
 * A domain is an address space a device can be attached to, at its RID
 * (IOPF_NO_PASID) or at a PASID. A domain with an iopf handler is "fault
 * capable". Attaching it with an attach handle publishes a routing entry, and
 * page requests for that RID/PASID are then delivered to the handler. A bare
 * attach (no handle) never receives faults, as in the kernel.
 *
 * Thread safety: attach, replace and detach of one device are serialised by
 * the device's group mutex and may be called from any thread, but not from
 * an iopf handler, a work function or an RCU read-side critical section
 * (detach waits for a grace period and for the fault queue).
 */
#ifndef IOPF_DOMAIN_H
#define IOPF_DOMAIN_H

#include <stdint.h>

#include <iopf/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_device;
struct iopf_domain;
struct iopf_group;

/** enum iopf_domain_type - the kernel's domain types */
enum iopf_domain_type {
	IOPF_DOMAIN_ANY = 0, /* only as a lookup filter */
	IOPF_DOMAIN_BLOCKED,
	IOPF_DOMAIN_IDENTITY,
	IOPF_DOMAIN_PAGING,
	IOPF_DOMAIN_NESTED,
	IOPF_DOMAIN_SVA,
};

/**
 * typedef iopf_handler_t - a domain's fault handler (domain->iopf_handler)
 * @group: the page request group, owned by the handler from now on
 *
 * Called with no library lock held, inside an RCU read-side critical
 * section: it may block, but must not attach, detach, replace or free
 * anything. Returning 0 accepts the group: the handler must then answer it
 * with iopf_group_response() and release it with iopf_free_group(), now or
 * later. A non-zero return makes the core answer IOPF_PAGE_RESP_FAILURE and
 * free the group.
 */
typedef int (*iopf_handler_t)(struct iopf_group *group);

/**
 * iopf_domain_new() - create a domain
 * @ctx: the context
 * @type: IOPF_DOMAIN_BLOCKED .. IOPF_DOMAIN_SVA
 * @handler: the iopf handler; NULL makes the domain not fault-capable
 * @priv: caller data, returned by iopf_domain_priv()
 * @out: the new domain; untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @ctx or @out, @type out of range) or -ENOMEM.
 */
int iopf_domain_new(struct iopf_ctx *ctx, enum iopf_domain_type type,
		    iopf_handler_t handler, void *priv,
		    struct iopf_domain **out);

/**
 * iopf_domain_free() - free a domain
 * @domain: the domain, or NULL
 *
 * Context: any thread, not from a handler.
 * Return: 0 (also for NULL), or -EBUSY while the domain is attached anywhere
 * or is owned by a layer above the core (an SVA or channel domain still in
 * use).
 */
int iopf_domain_free(struct iopf_domain *domain);

/**
 * iopf_domain_priv() - the caller data of a domain
 * @domain: the domain
 *
 * Context: any thread.
 * Return: the pointer given at creation, or NULL if @domain is NULL.
 */
void *iopf_domain_priv(const struct iopf_domain *domain);

/**
 * iopf_domain_type() - the type of a domain
 * @domain: the domain
 *
 * Context: any thread.
 * Return: the type, or IOPF_DOMAIN_ANY if @domain is NULL.
 */
enum iopf_domain_type iopf_domain_type(const struct iopf_domain *domain);

/**
 * struct iopf_attach_handle - one attachment of a domain (caller-owned)
 * @domain: set by the core when the attach succeeds
 *
 * Embed it in your own structure and use container_of() to get back to it
 * from iopf_group_attach_handle(). It must stay valid from attach until the
 * detach (or the replace that drops it) has returned.
 */
struct iopf_attach_handle {
	struct iopf_domain *domain;
};

/**
 * iopf_attach_device() - attach a domain to a device's RID
 * @domain: the domain
 * @dev: the device
 * @handle: the attach handle, or NULL for a bare attach (no faults)
 *
 * The routing entry becomes visible to the fault path only after the
 * backend's set_dev_pasid succeeded and, for a fault-capable domain with a
 * handle, IOPF was enabled on the device (see iopf_iommu_set_queue()).
 *
 * Context: see the header comment.
 * Return: 0, -EINVAL (NULL @domain or @dev, objects of different
 * contexts), -EBUSY (the RID is taken), -ENOMEM, -ENODEV (IOPF could not be
 * enabled), or the backend's error.
 */
int iopf_attach_device(struct iopf_domain *domain, struct iopf_device *dev,
		       struct iopf_attach_handle *handle);

/**
 * iopf_attach_device_pasid() - attach a domain to a PASID of a device
 * @domain: the domain
 * @dev: the device
 * @pasid: 1 .. max_pasids - 1
 * @handle: the attach handle, or NULL for a bare attach (no faults)
 *
 * Context: see the header comment.
 * Return: 0, -EINVAL (NULL argument, objects of different contexts, @pasid
 * is IOPF_NO_PASID or not below the device's max_pasids), -EOPNOTSUPP (a
 * BLOCKED domain), -EBUSY (the PASID is taken), -ENOMEM, -ENODEV (IOPF could
 * not be enabled), or the backend's error.
 */
int iopf_attach_device_pasid(struct iopf_domain *domain,
			     struct iopf_device *dev, uint32_t pasid,
			     struct iopf_attach_handle *handle);

/**
 * iopf_replace_device() - replace what is attached at a device's RID
 * @domain: the new domain
 * @dev: the device
 * @handle: the new attach handle (mandatory, never the one installed)
 *
 * set_dev_pasid runs only if the domain changes; remove_dev_pasid is not
 * called. The old handle is then treated as detached: the queue is flushed,
 * a channel answers its groups INVALID, and IOPF is disabled if it was the
 * last fault-capable attachment. On an empty RID this is an attach.
 *
 * Context: see the header comment.
 * Return: 0, -EINVAL (NULL argument, the installed handle), or the errors of
 * iopf_attach_device().
 */
int iopf_replace_device(struct iopf_domain *domain, struct iopf_device *dev,
			struct iopf_attach_handle *handle);

/**
 * iopf_replace_device_pasid() - replace what is attached at a PASID
 * @domain: the new domain
 * @dev: the device
 * @pasid: an attached PASID
 * @handle: the new attach handle (mandatory, never the one installed)
 *
 * Context: see the header comment.
 * Return: 0, -EINVAL (NULL argument, @pasid invalid or not attached, the
 * installed handle), or the errors of iopf_attach_device_pasid().
 */
int iopf_replace_device_pasid(struct iopf_domain *domain,
			      struct iopf_device *dev, uint32_t pasid,
			      struct iopf_attach_handle *handle);

/**
 * iopf_detach_device() - detach a domain from a device's RID
 * @domain: the domain attached there
 * @dev: the device
 *
 * Runs the backend's remove_dev_pasid (IOPF_NO_PASID), flushes the fault
 * queue, unpublishes the routing entry, waits for reports in flight, flushes
 * again, lets a channel answer the handle's groups INVALID, and disables
 * IOPF after the last fault-capable attachment. After it returns no handler
 * call for that attachment starts. Naming a domain that is not the one
 * attached does nothing.
 *
 * Context: see the header comment.
 */
void iopf_detach_device(struct iopf_domain *domain, struct iopf_device *dev);

/**
 * iopf_detach_device_pasid() - detach a domain from a PASID of a device
 * @domain: the domain attached there
 * @dev: the device
 * @pasid: the PASID
 *
 * As iopf_detach_device(), for @pasid.
 *
 * Context: see the header comment.
 */
void iopf_detach_device_pasid(struct iopf_domain *domain,
			      struct iopf_device *dev, uint32_t pasid);

/**
 * iopf_attach_handle_get() - the attach handle installed at a PASID
 * @dev: the device
 * @pasid: the PASID, or IOPF_NO_PASID for the RID
 * @type: required domain type, or IOPF_DOMAIN_ANY
 * @out: the handle; untouched on failure
 *
 * No reference is taken (as in the kernel): the handle is valid until it is
 * detached, and the caller must synchronise with attach and detach.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, @pasid out of range), -ENOENT (nothing
 * or a bare attach there), -EBUSY (the domain type does not match).
 */
int iopf_attach_handle_get(struct iopf_device *dev, uint32_t pasid,
			   enum iopf_domain_type type,
			   struct iopf_attach_handle **out);

/**
 * iopf_device_translate() - translate an address as the IOMMU would (ATS)
 * @dev: the device
 * @pasid: the PASID, or IOPF_NO_PASID for the RID
 * @addr: the untranslated address
 * @perm: IOPF_FAULT_PERM_* bits the access needs
 *
 * For endpoint models: asks the domain attached at @pasid whether @addr is
 * mapped with @perm (an SVA domain asks its address space whether the page
 * is resident and the mapping allows the access).
 *
 * Context: any thread; lock-free (RCU) apart from the domain's own lock.
 * Return: 0 (translated), -EFAULT (not present or not permitted: a page
 * request is needed), -ENOENT (nothing attached there), -EOPNOTSUPP (the
 * domain cannot translate), -EINVAL (NULL @dev, @pasid out of range).
 */
int iopf_device_translate(struct iopf_device *dev, uint32_t pasid,
			  uint64_t addr, uint32_t perm);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_DOMAIN_H */
