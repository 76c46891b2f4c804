// SPDX-License-Identifier: MIT
/*
 * Shared virtual addressing: the SVA domain, its fault handler and
 * bind/unbind (the kernel's drivers/iommu/iommu-sva.c).
 *
 * Each mm has at most one SVA domain, created at its first bind and freed
 * at its last unbind. (The kernel keeps one per mm per IOMMU driver instance
 * because domains are hardware objects; here a domain is only a routing
 * target, so one per mm is enough and faults behave the same.)
 *
 * Why a PASID can't leak a fault into the next mm: unbind detaches the
 * PASID, and the core's detach drains the backend, flushes the fault queue,
 * unpublishes the routing entry, waits for reports in flight and flushes
 * again. Only then is the bind's mm reference dropped, and the PASID is
 * freed only when the mm is released, after its last bind.
 *
 * Lock order: see mm.h.
 */
#include <errno.h>
#include <string.h>

#include "mm.h"

struct iopf_sva {
	struct iopf_attach_handle handle; /* what the routing entry points to */
	struct iopf_ctx_member member;
	struct cds_list_head mm_node; /* in mm->binds, under bind_lock */
	struct iopf_device *dev; /* a device reference */
	struct iopf_mm *mm; /* an mm reference */
	unsigned int users; /* under mm->bind_lock */
};

/* ---- the fault path --------------------------------------------------- */

static void trace_mm_fault(struct iopf_group *group,
			   const struct iopf_fault *fault,
			   enum iopf_page_response_code status, int ret)
{
	struct iopf_device *dev = iopf_group_device(group);
	struct iopf_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = IOPF_TRACE_MM_FAULT;
	ev.from = IOPF_LAYER_HANDLER;
	ev.to = IOPF_LAYER_USER;
	ev.device = dev->name;
	ev.dev_id = dev->id;
	ev.iommu = dev->iommu->name;
	ev.pasid = fault->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID ?
			   fault->prm.pasid :
			   IOPF_PASID_INVALID;
	ev.grpid = fault->prm.grpid;
	ev.flags = fault->prm.flags;
	ev.perm = fault->prm.perm;
	ev.addr = fault->prm.addr;
	ev.code = (int32_t)status;
	ev.ret = ret;
	ev.name = "sva";
	iopf_trace_emit(dev->ctx, &ev);
}

/*
 * One fault against the mm (iommu_sva_handle_mm): no PASID, an exited mm,
 * no mapping or a missing permission is INVALID; SUCCESS makes the page
 * resident. The SVA path never answers FAILURE itself.
 */
static enum iopf_page_response_code
iommu_sva_handle_mm(const struct iopf_fault *fault, struct iopf_mm *mm,
		    int *ret)
{
	if (!(fault->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID)) {
		*ret = -EINVAL;
		return IOPF_PAGE_RESP_INVALID;
	}
	*ret = iopf_mm_handle_fault(mm, fault->prm.addr, fault->prm.perm);
	return *ret ? IOPF_PAGE_RESP_INVALID : IOPF_PAGE_RESP_SUCCESS;
}

/*
 * The work (iommu_sva_handle_iopf): faults in arrival order, the first
 * failure is sticky and the rest of the group is not handled.
 */
static void iommu_sva_handle_iopf(struct iopf_group *group)
{
	struct iopf_attach_handle *handle = iopf_group_attach_handle(group);
	struct iopf_mm *mm = iopf_domain_priv(handle->domain);
	enum iopf_page_response_code status = IOPF_PAGE_RESP_SUCCESS;
	struct iopf_ctx *ctx = mm->ctx;
	size_t n = iopf_group_fault_count(group);

	for (size_t i = 0; i < n && status == IOPF_PAGE_RESP_SUCCESS; i++) {
		const struct iopf_fault *fault = iopf_group_fault_at(group, i);
		int ret;

		status = iommu_sva_handle_mm(fault, mm, &ret);
		if (iopf_trace_on(ctx))
			trace_mm_fault(group, fault, status, ret);
	}
	iopf_group_response(group, status);
	iopf_free_group(group);
}

/* The SVA domain's iopf_handler: defer to the device's fault queue. */
static int iommu_sva_iopf_handler(struct iopf_group *group)
{
	return iopf_queue_work(group, iommu_sva_handle_iopf);
}

/* ---- the SVA domain ----------------------------------------------------- */

static int sva_domain_translate(struct iopf_domain *domain, uint64_t addr,
				uint32_t perm)
{
	return iopf_mm_translate(domain->priv, addr, perm);
}

/* The domain holds an mm reference (the kernel's mmgrab in domain_alloc). */
static void sva_domain_release(struct iopf_domain *domain)
{
	struct iopf_mm *mm = domain->priv;

	pthread_mutex_lock(&mm->bind_lock);
	if (mm->domain == domain)
		mm->domain = NULL;
	pthread_mutex_unlock(&mm->bind_lock);
	iopf_mm_drop(mm);
}

static const struct iopf_domain_ops sva_domain_ops = {
	.release = sva_domain_release,
	.translate = sva_domain_translate,
};

/* With mm->bind_lock held. */
static int sva_domain_get(struct iopf_mm *mm, struct iopf_ctx *ctx)
{
	struct iopf_domain *domain;
	int ret;

	if (mm->domain)
		return 0;
	iopf_mm_get(mm);
	ret = iopf_domain_alloc_ops(ctx, IOPF_DOMAIN_SVA,
				    iommu_sva_iopf_handler, mm, &sva_domain_ops,
				    &domain);
	if (ret) {
		/* Not the last reference: the caller's bind keeps the mm. */
		atomic_fetch_sub(&mm->users, 1);
		return ret;
	}
	domain->owned = true; /* iopf_domain_free() refuses it */
	mm->domain = domain;
	return 0;
}

/* With mm->bind_lock held: the domain to destroy once the lock is dropped. */
static struct iopf_domain *sva_domain_unused(struct iopf_mm *mm)
{
	struct iopf_domain *domain = NULL;

	if (cds_list_empty(&mm->binds)) {
		domain = mm->domain;
		mm->domain = NULL;
	}
	return domain;
}

/* ---- bind and unbind ---------------------------------------------------- */

/* With mm->bind_lock held (iommu_sva_alloc_pasid). */
static int sva_pasid_get(struct iopf_mm *mm, struct iopf_device *dev)
{
	uint32_t pasid = atomic_load(&mm->pasid);
	int ret;

	if (pasid != IOPF_PASID_INVALID)
		return pasid < dev->max_pasids ? 0 : -EINVAL;
	ret = iopf_alloc_global_pasid(dev, &pasid);
	if (!ret)
		atomic_store(&mm->pasid, pasid);
	return ret;
}

static struct iopf_sva *sva_find(struct iopf_mm *mm, struct iopf_device *dev)
{
	struct iopf_sva *sva;

	cds_list_for_each_entry(sva, &mm->binds, mm_node)
		if (sva->dev == dev)
			return sva;
	return NULL;
}

static void sva_ctx_destroy(struct iopf_ctx_member *member);

/* With mm->bind_lock held. */
static int sva_attach(struct iopf_device *dev, struct iopf_mm *mm,
		      struct iopf_sva **out)
{
	struct iopf_sva *sva;
	int ret;

	sva = iopf_zalloc(sizeof(*sva));
	if (!sva)
		return -ENOMEM;
	ret = iopf_attach_device_pasid(mm->domain, dev, atomic_load(&mm->pasid),
				       &sva->handle);
	if (ret) {
		iopf_mfree(sva);
		return ret;
	}
	sva->dev = dev;
	sva->mm = mm;
	sva->users = 1;
	iopf_device_get(dev);
	iopf_mm_get(mm);
	cds_list_add_tail(&sva->mm_node, &mm->binds);
	iopf_ctx_link(mm->ctx, &sva->member, sva_ctx_destroy);
	*out = sva;
	return 0;
}

IOPF_EXPORT int iopf_sva_bind_device(struct iopf_device *dev,
				     struct iopf_mm *mm, struct iopf_sva **out)
{
	struct iopf_domain *unused = NULL;
	struct iopf_sva *sva;
	int ret;

	if (!dev || !mm || !out || dev->ctx != mm->ctx || !dev->max_pasids)
		return -EINVAL;
	pthread_mutex_lock(&mm->bind_lock);
	if (atomic_load(&mm->exited)) {
		ret = -EINVAL;
		goto out;
	}
	ret = sva_pasid_get(mm, dev);
	if (ret)
		goto out;
	sva = sva_find(mm, dev);
	if (sva) {
		sva->users++;
		*out = sva;
		goto out;
	}
	ret = sva_domain_get(mm, dev->ctx);
	if (ret)
		goto out;
	ret = sva_attach(dev, mm, out);
	if (ret)
		unused = sva_domain_unused(mm);
out:
	pthread_mutex_unlock(&mm->bind_lock);
	/* The release hook takes bind_lock, and the mm's owner keeps it alive. */
	if (unused)
		iopf_domain_destroy(unused);
	return ret;
}

IOPF_EXPORT uint32_t iopf_sva_get_pasid(const struct iopf_sva *handle)
{
	return handle ? atomic_load(&handle->mm->pasid) : IOPF_PASID_INVALID;
}

/* Drop one use of @sva (all if @all); at zero, detach and free it. */
static void sva_unbind(struct iopf_sva *sva, bool all)
{
	struct iopf_mm *mm = sva->mm;
	struct iopf_domain *unused;

	pthread_mutex_lock(&mm->bind_lock);
	if (!all && --sva->users) {
		pthread_mutex_unlock(&mm->bind_lock);
		return;
	}
	cds_list_del(&sva->mm_node);
	/* Drains, flushes and unpublishes: no work of this bind runs after. */
	iopf_detach_device_pasid(mm->domain, sva->dev, atomic_load(&mm->pasid));
	unused = sva_domain_unused(mm);
	pthread_mutex_unlock(&mm->bind_lock);

	iopf_ctx_unlink(mm->ctx, &sva->member);
	if (unused)
		iopf_domain_destroy(unused);
	iopf_device_put(sva->dev);
	iopf_mfree(sva);
	/* The last reference frees the mm and with it the PASID. */
	iopf_mm_drop(mm);
}

/* iopf_ctx_free(): a bind the user left is unbound whatever its use count. */
static void sva_ctx_destroy(struct iopf_ctx_member *member)
{
	sva_unbind(container_of(member, struct iopf_sva, member), true);
}

IOPF_EXPORT void iopf_sva_unbind_device(struct iopf_sva *handle)
{
	if (handle)
		sva_unbind(handle, false);
}
