// SPDX-License-Identifier: MIT
/*
 * The VT-d model as an object: creation (ring memory, IOMMU, fault queue,
 * prq thread), the root port endpoints plug into, statistics, teardown.
 *
 * Teardown order: stop the prq thread (drains then run the prq body in the
 * caller), free the IOMMU (its devices are detached and drained while the
 * endpoints can still take responses), unplug the endpoints, free the
 * fault queue and the rings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vtd-priv.h"

#define VTD_RING_ALIGN 4096u

/* ---- the root port ------------------------------------------------------ */

/* Find an endpoint by RID; eps_lock held. */
static struct vtd_ep *vtd_ep_find(struct iopf_vtd *vtd, uint16_t rid)
{
	for (size_t i = 0; i < vtd->nr_eps; i++)
		if (vtd->eps[i].rid == rid)
			return &vtd->eps[i];
	return NULL;
}

void vtd_deliver_response(struct iopf_vtd *vtd,
			  const struct iopf_pci_prg_response *resp)
{
	struct vtd_ep *e;

	pthread_rwlock_rdlock(&vtd->eps_lock);
	e = vtd_ep_find(vtd, resp->rid);
	if (e)
		iopf_pci_prg_response(e->ep, resp);
	pthread_rwlock_unlock(&vtd->eps_lock);
}

void vtd_deliver_ats_inv(struct iopf_vtd *vtd, uint16_t sid, bool pasid_present,
			 uint32_t pasid)
{
	struct vtd_ep *e;

	pthread_rwlock_rdlock(&vtd->eps_lock);
	e = vtd_ep_find(vtd, sid);
	if (e)
		iopf_pci_ats_invalidate(e->ep, pasid_present, pasid);
	pthread_rwlock_unlock(&vtd->eps_lock);
}

static int port_translate(void *priv, uint16_t rid, bool pasid_present,
			  uint32_t pasid, uint64_t addr, uint32_t perm)
{
	struct iopf_vtd *vtd = priv;
	struct iopf_device *dev;
	int ret;

	dev = iopf_device_find(vtd->iommu, rid);
	if (!dev)
		return -ENODEV;
	ret = iopf_device_translate(dev, pasid_present ? pasid : IOPF_NO_PASID,
				    addr, perm);
	iopf_device_put(dev); /* Pair with iopf_device_find() */
	return ret;
}

static void port_page_request(void *priv,
			      const struct iopf_pci_page_request *pr)
{
	iopf_vtd_page_request(priv, pr);
}

static int port_pump(void *priv)
{
	return iopf_vtd_pump(priv);
}

static void vtd_ep_remove(struct iopf_vtd *vtd, struct iopf_pci_endpoint *ep)
{
	for (size_t i = 0; i < vtd->nr_eps; i++) {
		if (vtd->eps[i].ep != ep)
			continue;
		vtd->eps[i] = vtd->eps[--vtd->nr_eps];
		return;
	}
}

static void port_unplug(void *priv, struct iopf_pci_endpoint *ep)
{
	struct iopf_vtd *vtd = priv;

	pthread_rwlock_wrlock(&vtd->eps_lock);
	vtd_ep_remove(vtd, ep);
	pthread_rwlock_unlock(&vtd->eps_lock);
}

static int vtd_ep_add(struct iopf_vtd *vtd, struct iopf_pci_endpoint *ep)
{
	if (vtd_ep_find(vtd, iopf_pci_endpoint_rid(ep)))
		return -EEXIST;
	if (vtd->nr_eps == vtd->max_eps) {
		size_t max = vtd->max_eps ? vtd->max_eps * 2 : 8;
		struct vtd_ep *eps = iopf_calloc(max, sizeof(*eps));

		if (!eps)
			return -ENOMEM;
		if (vtd->nr_eps)
			memcpy(eps, vtd->eps, vtd->nr_eps * sizeof(*eps));
		iopf_mfree(vtd->eps);
		vtd->eps = eps;
		vtd->max_eps = max;
	}
	vtd->eps[vtd->nr_eps].rid = iopf_pci_endpoint_rid(ep);
	vtd->eps[vtd->nr_eps].ep = ep;
	vtd->nr_eps++;
	return 0;
}

IOPF_EXPORT int iopf_vtd_connect(struct iopf_vtd *vtd,
				 struct iopf_pci_endpoint *ep)
{
	struct iopf_pci_port_ops ops = {
		.size = sizeof(ops),
		.translate = port_translate,
		.page_request = port_page_request,
		.unplug = port_unplug,
	};
	bool manual;
	int ret;

	if (!vtd || !ep)
		return -EINVAL;
	pthread_mutex_lock(&vtd->irq_lock);
	manual = !vtd->thread_running;
	pthread_mutex_unlock(&vtd->irq_lock);
	if (manual)
		ops.pump = port_pump;
	pthread_rwlock_wrlock(&vtd->eps_lock);
	ret = vtd_ep_add(vtd, ep);
	if (!ret) {
		ret = iopf_pci_endpoint_connect(ep, &ops, vtd);
		if (ret)
			vtd_ep_remove(vtd, ep);
	}
	pthread_rwlock_unlock(&vtd->eps_lock);
	return ret;
}

IOPF_EXPORT int iopf_vtd_disconnect(struct iopf_vtd *vtd,
				    struct iopf_pci_endpoint *ep)
{
	struct vtd_ep *e;
	int ret = -ENOENT;

	if (!vtd || !ep)
		return -EINVAL;
	pthread_rwlock_wrlock(&vtd->eps_lock);
	e = vtd_ep_find(vtd, iopf_pci_endpoint_rid(ep));
	if (e && e->ep == ep) {
		vtd_ep_remove(vtd, ep);
		iopf_pci_endpoint_disconnect(ep);
		ret = 0;
	}
	pthread_rwlock_unlock(&vtd->eps_lock);
	return ret;
}

/* ---- lifetime ----------------------------------------------------------- */

static void *ring_alloc(size_t bytes, void **mem)
{
	uintptr_t p;

	*mem = iopf_zalloc(bytes + VTD_RING_ALIGN);
	if (!*mem)
		return NULL;
	p = ((uintptr_t)*mem + VTD_RING_ALIGN - 1) &
	    ~(uintptr_t)(VTD_RING_ALIGN - 1);
	return (void *)p;
}

static int vtd_init_sync(struct iopf_vtd *vtd)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca))
		return -ENOMEM;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vtd->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&vtd->irq_cond, NULL);
	pthread_mutex_init(&vtd->hw_lock, NULL);
	pthread_mutex_init(&vtd->qi_lock, NULL);
	pthread_mutex_init(&vtd->prq_mutex, NULL);
	pthread_mutex_init(&vtd->irq_lock, NULL);
	pthread_rwlock_init(&vtd->eps_lock, NULL);
	return 0;
}

static void vtd_release(struct iopf_vtd *vtd)
{
	pthread_rwlock_destroy(&vtd->eps_lock);
	pthread_mutex_destroy(&vtd->irq_lock);
	pthread_mutex_destroy(&vtd->prq_mutex);
	pthread_mutex_destroy(&vtd->qi_lock);
	pthread_mutex_destroy(&vtd->hw_lock);
	pthread_cond_destroy(&vtd->irq_cond);
	pthread_cond_destroy(&vtd->done_cond);
	iopf_mfree(vtd->eps);
	iopf_mfree(vtd->iq_mem);
	iopf_mfree(vtd->prq_mem);
	iopf_mfree(vtd);
}

static void vtd_unplug_all(struct iopf_vtd *vtd)
{
	pthread_rwlock_wrlock(&vtd->eps_lock);
	while (vtd->nr_eps) {
		iopf_pci_endpoint_disconnect(vtd->eps[vtd->nr_eps - 1].ep);
		vtd->nr_eps--;
	}
	pthread_rwlock_unlock(&vtd->eps_lock);
}

static void vtd_destroy(struct iopf_ctx_member *member)
{
	struct iopf_vtd *vtd = container_of(member, struct iopf_vtd, member);

	vtd_prq_thread_stop(vtd);
	iopf_iommu_free(vtd->iommu);
	vtd_unplug_all(vtd);
	iopf_queue_free(vtd->queue);
	vtd_release(vtd);
}

static bool vtd_attr_ok(const struct iopf_vtd_attr *attr)
{
	if (attr->size != sizeof(*attr) || attr->pqs > 7 ||
	    attr->nr_prq_threads > 1)
		return false;
	if (attr->resp_encoding > IOPF_VTD_RESP_SPEC ||
	    attr->nr_fault_workers > 1024)
		return false;
	return !attr->va_bits || (attr->va_bits >= 32 && attr->va_bits <= 64);
}

/* The IOMMU and its fault queue, named as Linux names them. */
static int vtd_core_objects(struct iopf_ctx *ctx, struct iopf_vtd *vtd,
			    const struct iopf_vtd_attr *attr)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = vtd_page_response,
		.remove_dev_pasid = vtd_remove_dev_pasid,
	};
	struct iopf_queue_attr qattr = { .size = sizeof(qattr) };
	char qname[64];
	int ret;

	if (attr->nr_prq_threads)
		qattr.nr_workers =
			attr->nr_fault_workers ? attr->nr_fault_workers : 1;
	ret = iopf_iommu_new(ctx, attr->name, &ops, vtd, &vtd->iommu);
	if (ret)
		return ret;
	vtd->name = iopf_iommu_name(vtd->iommu);
	snprintf(qname, sizeof(qname), "%s-iopfq", vtd->name);
	ret = iopf_queue_alloc(ctx, qname, &qattr, &vtd->queue);
	if (!ret)
		ret = iopf_iommu_set_queue(vtd->iommu, vtd->queue);
	if (ret) {
		iopf_queue_free(vtd->queue);
		iopf_iommu_free(vtd->iommu);
		vtd->queue = NULL;
		vtd->iommu = NULL;
	}
	return ret;
}

IOPF_EXPORT int iopf_vtd_new(struct iopf_ctx *ctx,
			     const struct iopf_vtd_attr *attr,
			     struct iopf_vtd **out)
{
	struct iopf_vtd *vtd;
	int ret = -ENOMEM;

	if (!ctx || !attr || !out || !vtd_attr_ok(attr))
		return -EINVAL;
	vtd = iopf_zalloc(sizeof(*vtd));
	if (!vtd)
		return -ENOMEM;
	vtd->ctx = ctx;
	vtd->resp_encoding = attr->resp_encoding;
	vtd->va_bits = attr->va_bits ? attr->va_bits : 48;
	vtd->prq_bytes = (size_t)IOPF_VTD_DESC_SIZE << (attr->pqs + 7);
	vtd->prq = ring_alloc(vtd->prq_bytes, &vtd->prq_mem);
	vtd->iq = ring_alloc(VTD_QI_ENTRIES * IOPF_VTD_DESC_SIZE, &vtd->iq_mem);
	if (!vtd->prq || !vtd->iq || vtd_init_sync(vtd)) {
		iopf_mfree(vtd->prq_mem);
		iopf_mfree(vtd->iq_mem);
		iopf_mfree(vtd);
		return -ENOMEM;
	}
	/* IQA: the ring address with DW=1 (256-bit) and QS=1 (256 entries). */
	vtd->iqa = (uint64_t)(uintptr_t)vtd->iq | (1ull << 11) | 1;
	vtd_regs_init(vtd, attr->pqs);
	ret = vtd_core_objects(ctx, vtd, attr);
	if (!ret && attr->nr_prq_threads)
		ret = vtd_prq_thread_start(vtd);
	if (ret) {
		if (vtd->iommu) {
			iopf_iommu_free(vtd->iommu);
			iopf_queue_free(vtd->queue);
		}
		vtd_release(vtd);
		return ret;
	}
	iopf_ctx_link(ctx, &vtd->member, vtd_destroy);
	*out = vtd;
	return 0;
}

IOPF_EXPORT void iopf_vtd_free(struct iopf_vtd *vtd)
{
	if (!vtd)
		return;
	iopf_ctx_unlink(vtd->ctx, &vtd->member);
	vtd_destroy(&vtd->member);
}

IOPF_EXPORT struct iopf_iommu *iopf_vtd_iommu(struct iopf_vtd *vtd)
{
	return vtd ? vtd->iommu : NULL;
}

IOPF_EXPORT struct iopf_queue *iopf_vtd_queue(struct iopf_vtd *vtd)
{
	return vtd ? vtd->queue : NULL;
}

IOPF_EXPORT int iopf_vtd_stats(struct iopf_vtd *vtd,
			       struct iopf_vtd_stats *stats)
{
	uint64_t *dst;
	size_t n;

	if (!vtd || !stats || stats->size < sizeof(size_t) + sizeof(uint64_t) ||
	    stats->size > sizeof(*stats))
		return -EINVAL;
	n = (stats->size - offsetof(struct iopf_vtd_stats, prq_written)) /
	    sizeof(uint64_t);
	dst = &stats->prq_written;
	for (size_t i = 0; i < n && i < 14; i++)
		dst[i] = atomic_load_explicit(&vtd->stats.v[i],
					      memory_order_relaxed);
	return 0;
}
