// SPDX-License-Identifier: MIT
/*
 * Domains, attach handles and PASID routing (the attach half of the
 * kernel's iommu.c).
 *
 * Each device has a routing table: one slot for the RID and a two-level
 * table (1024 x 1024) for the 2^20 PASIDs, so a lookup is three dependent
 * loads whatever the number of attached PASIDs. A slot (struct iopf_route)
 * holds the domain and caller's handle (none for a bare attach) under a
 * sequence count, and the struct iopf_attachment they belong to, so that
 * a fault reads the slot and never the attachment. Slots are written under
 * the device's group mutex and published only once the attach has fully
 * succeeded.
 *
 * Detach order: the backend's remove_dev_pasid (which drains the hardware;
 * faults it pushes out still reach the old handler), flush of the fault
 * queue, unpublish, a grace period (report calls that found the entry have
 * returned), a second flush (work they queued has run), the owning layer's
 * handle_detached (a channel answers what it holds), then IOPF disable.
 *
 * Lock order: dev->group_mutex, iommu->lock, queue->lock, dev->iommu_lock,
 * domain->lock.
 */
#include <errno.h>
#include <string.h>

#include "iommu-priv.h"

/* ---- routing table ------------------------------------------------------ */

/*
 * Publish @a (NULL: unpublish) in @r. With dev->group_mutex held, so the
 * writers of a slot are serialised. A reader that loads any of the new
 * pointers also sees @seq odd or advanced (the release stores order the
 * odd @seq before them) and retries; the read side is iopf_route_get().
 */
static void route_publish(struct iopf_route *r, struct iopf_attachment *a)
{
	unsigned int seq = atomic_load_explicit(&r->seq, memory_order_relaxed);

	atomic_store_explicit(&r->seq, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&r->domain, a ? a->domain : NULL,
			      memory_order_release);
	atomic_store_explicit(&r->handle, a ? a->handle : NULL,
			      memory_order_release);
	atomic_store_explicit(&r->attachment, a, memory_order_relaxed);
	atomic_store_explicit(&r->seq, seq + 2, memory_order_release);
}

/* The attachment in @r; for writers, with dev->group_mutex held. */
static struct iopf_attachment *route_attachment(struct iopf_route *r)
{
	return r ? atomic_load_explicit(&r->attachment, memory_order_relaxed) :
		   NULL;
}

/*
 * The slot of @pasid, allocating the table on the way if @create. Tables
 * are never freed before the device, so readers need no grace period.
 * With dev->group_mutex held.
 */
static struct iopf_route *pasid_slot(struct iopf_device *dev, uint32_t pasid,
				     bool create)
{
	struct iopf_pasid_dir *dir = atomic_load(&dev->pasid_dir);
	struct iopf_pasid_leaf *leaf;
	uint32_t hi = pasid >> IOPF_LEAF_BITS;

	if (pasid == IOPF_NO_PASID)
		return &dev->rid;
	if (!dir) {
		if (!create)
			return NULL;
		dir = iopf_zalloc(sizeof(*dir));
		if (!dir)
			return NULL;
		iopf_rcu_assign(dev->pasid_dir, dir);
	}
	leaf = atomic_load(&dir->leaf[hi]);
	if (!leaf) {
		if (!create)
			return NULL;
		/* Aligned: no 32-byte slot straddles two cache lines. */
		leaf = iopf_zalloc_aligned(IOPF_LEAF_ALIGN, sizeof(*leaf));
		if (!leaf)
			return NULL;
		iopf_rcu_assign(dir->leaf[hi], leaf);
	}
	return &leaf->slot[pasid & (IOPF_LEAF_SIZE - 1)];
}

/* ---- domains ------------------------------------------------------------ */

static void domain_member_destroy(struct iopf_ctx_member *member)
{
	iopf_domain_destroy(container_of(member, struct iopf_domain, member));
}

int iopf_domain_alloc_ops(struct iopf_ctx *ctx, enum iopf_domain_type type,
			  iopf_handler_t handler, void *priv,
			  const struct iopf_domain_ops *ops,
			  struct iopf_domain **out)
{
	struct iopf_domain *domain;

	if (!ctx || !out || type <= IOPF_DOMAIN_ANY || type > IOPF_DOMAIN_SVA)
		return -EINVAL;
	domain = iopf_zalloc(sizeof(*domain));
	if (!domain)
		return -ENOMEM;
	domain->ctx = ctx;
	domain->type = type;
	domain->iopf_handler = handler;
	domain->priv = priv;
	domain->ops = ops;
	pthread_mutex_init(&domain->lock, NULL);
	CDS_INIT_LIST_HEAD(&domain->attachments);
	iopf_ctx_link(ctx, &domain->member, domain_member_destroy);
	*out = domain;
	return 0;
}

IOPF_EXPORT int iopf_domain_new(struct iopf_ctx *ctx,
				enum iopf_domain_type type,
				iopf_handler_t handler, void *priv,
				struct iopf_domain **out)
{
	return iopf_domain_alloc_ops(ctx, type, handler, priv, NULL, out);
}

static struct iopf_attachment *
domain_first_attachment(struct iopf_domain *domain)
{
	struct iopf_attachment *a = NULL;

	pthread_mutex_lock(&domain->lock);
	if (!cds_list_empty(&domain->attachments))
		a = cds_list_first_entry(&domain->attachments,
					 struct iopf_attachment, dom_node);
	pthread_mutex_unlock(&domain->lock);
	return a;
}

static void detach_pasid(struct iopf_domain *domain, struct iopf_device *dev,
			 uint32_t pasid);

/* Detach from everything, then free. For the owning layer and ctx teardown. */
void iopf_domain_destroy(struct iopf_domain *domain)
{
	struct iopf_attachment *a;

	while ((a = domain_first_attachment(domain)))
		detach_pasid(domain, a->dev, a->pasid);
	iopf_ctx_unlink(domain->ctx, &domain->member);
	if (domain->ops && domain->ops->release)
		domain->ops->release(domain);
	pthread_mutex_destroy(&domain->lock);
	iopf_mfree(domain);
}

IOPF_EXPORT int iopf_domain_free(struct iopf_domain *domain)
{
	bool busy;

	if (!domain)
		return 0;
	pthread_mutex_lock(&domain->lock);
	busy = domain->owned || !cds_list_empty(&domain->attachments);
	pthread_mutex_unlock(&domain->lock);
	if (busy)
		return -EBUSY;
	iopf_domain_destroy(domain);
	return 0;
}

IOPF_EXPORT void *iopf_domain_priv(const struct iopf_domain *domain)
{
	return domain ? domain->priv : NULL;
}

IOPF_EXPORT enum iopf_domain_type
iopf_domain_type(const struct iopf_domain *domain)
{
	return domain ? domain->type : IOPF_DOMAIN_ANY;
}

/* ---- IOPF enabling (the drivers' attach-path refcount, >= v6.16) -------- */

static bool fault_capable(const struct iopf_domain *domain,
			  const struct iopf_attach_handle *handle)
{
	return handle && domain->iopf_handler;
}

int iopf_enable_for_domain(struct iopf_device *dev, struct iopf_domain *domain,
			   struct iopf_attach_handle *handle)
{
	struct iopf_iommu *iommu = dev->iommu;
	struct iopf_fault_param *fp;
	struct iopf_queue *queue;
	int ret = 0;

	if (!fault_capable(domain, handle) || dev->iopf_refcount++)
		return 0;
	pthread_mutex_lock(&iommu->lock);
	fp = iopf_get_dev_fault_param(dev);
	queue = atomic_load(&iommu->queue);
	if (fp) {
		/* Added by the caller: left alone. */
		iopf_put_dev_fault_param(fp);
	} else if (queue) {
		ret = iopf_queue_add_device(queue, dev);
		dev->iopf_auto = !ret;
	}
	pthread_mutex_unlock(&iommu->lock);
	if (ret)
		dev->iopf_refcount--;
	return ret;
}

void iopf_disable_for_domain(struct iopf_device *dev,
			     struct iopf_domain *domain,
			     struct iopf_attach_handle *handle)
{
	struct iopf_iommu *iommu = dev->iommu;
	struct iopf_fault_param *fp;
	struct iopf_queue *queue = NULL;

	if (!fault_capable(domain, handle) || --dev->iopf_refcount)
		return;
	pthread_mutex_lock(&iommu->lock);
	if (dev->iopf_auto) {
		fp = iopf_get_dev_fault_param(dev);
		if (fp) {
			queue = fp->queue;
			iopf_put_dev_fault_param(fp);
		}
		/* The queue may be gone already (iopf_queue_free()). */
		if (queue)
			iopf_queue_remove_device(queue, dev);
		dev->iopf_auto = false;
	}
	pthread_mutex_unlock(&iommu->lock);
}

/* ---- attach ------------------------------------------------------------- */

static int attach_check(struct iopf_domain *domain, struct iopf_device *dev,
			uint32_t pasid)
{
	if (!domain || !dev || domain->ctx != dev->ctx)
		return -EINVAL;
	if (pasid != IOPF_NO_PASID && pasid >= dev->max_pasids)
		return -EINVAL;
	if (pasid != IOPF_NO_PASID && domain->type == IOPF_DOMAIN_BLOCKED)
		return -EOPNOTSUPP;
	return 0;
}

static void trace_attach(struct iopf_device *dev, uint32_t type, uint32_t pasid,
			 struct iopf_domain *domain, int ret)
{
	static const char *const names[] = {
		[IOPF_DOMAIN_ANY] = "any",
		[IOPF_DOMAIN_BLOCKED] = "blocked",
		[IOPF_DOMAIN_IDENTITY] = "identity",
		[IOPF_DOMAIN_PAGING] = "paging",
		[IOPF_DOMAIN_NESTED] = "nested",
		[IOPF_DOMAIN_SVA] = "sva",
	};

	if (iopf_trace_on(dev->ctx))
		iopf_trace_dev(dev->ctx, type, dev, pasid, names[domain->type],
			       ret);
}

static void link_attachment(struct iopf_attachment *a)
{
	cds_list_add_tail(&a->dev_node, &a->dev->attachments);
	pthread_mutex_lock(&a->domain->lock);
	cds_list_add_tail(&a->dom_node, &a->domain->attachments);
	pthread_mutex_unlock(&a->domain->lock);
}

static void unlink_attachment(struct iopf_attachment *a)
{
	cds_list_del(&a->dev_node);
	pthread_mutex_lock(&a->domain->lock);
	cds_list_del(&a->dom_node);
	pthread_mutex_unlock(&a->domain->lock);
}

/*
 * Enable IOPF and program the backend for @a; the caller publishes it.
 * @program is false when a replace keeps the same domain.
 */
static int install_attachment(struct iopf_attachment *a, bool program)
{
	struct iopf_device *dev = a->dev;
	int ret;

	ret = iopf_enable_for_domain(dev, a->domain, a->handle);
	if (ret)
		return ret;
	if (program && dev->iommu->ops.set_dev_pasid) {
		ret = dev->iommu->ops.set_dev_pasid(dev, a->pasid, a->domain);
		if (ret) {
			iopf_disable_for_domain(dev, a->domain, a->handle);
			return ret;
		}
	}
	if (a->handle)
		a->handle->domain = a->domain;
	link_attachment(a);
	return 0;
}

static struct iopf_attachment *new_attachment(struct iopf_domain *domain,
					      struct iopf_device *dev,
					      uint32_t pasid,
					      struct iopf_attach_handle *handle)
{
	struct iopf_attachment *a = iopf_zalloc(sizeof(*a));

	if (a) {
		a->domain = domain;
		a->dev = dev;
		a->pasid = pasid;
		a->handle = handle;
	}
	return a;
}

/* With dev->group_mutex held. */
static int attach_locked(struct iopf_domain *domain, struct iopf_device *dev,
			 uint32_t pasid, struct iopf_attach_handle *handle)
{
	struct iopf_route *slot;
	struct iopf_attachment *a;
	int ret;

	slot = pasid_slot(dev, pasid, true);
	if (!slot)
		return -ENOMEM;
	if (route_attachment(slot))
		return -EBUSY;
	a = new_attachment(domain, dev, pasid, handle);
	if (!a)
		return -ENOMEM;
	ret = install_attachment(a, true);
	if (ret) {
		iopf_mfree(a);
		return ret;
	}
	/* Visible to the fault path only now that everything succeeded. */
	route_publish(slot, a);
	return 0;
}

static int attach_pasid(struct iopf_domain *domain, struct iopf_device *dev,
			uint32_t pasid, struct iopf_attach_handle *handle)
{
	int ret = attach_check(domain, dev, pasid);

	if (ret)
		return ret;
	pthread_mutex_lock(&dev->group_mutex);
	ret = attach_locked(domain, dev, pasid, handle);
	pthread_mutex_unlock(&dev->group_mutex);
	trace_attach(dev, IOPF_TRACE_PASID_ATTACHED, pasid, domain, ret);
	return ret;
}

IOPF_EXPORT int iopf_attach_device(struct iopf_domain *domain,
				   struct iopf_device *dev,
				   struct iopf_attach_handle *handle)
{
	return attach_pasid(domain, dev, IOPF_NO_PASID, handle);
}

IOPF_EXPORT int iopf_attach_device_pasid(struct iopf_domain *domain,
					 struct iopf_device *dev,
					 uint32_t pasid,
					 struct iopf_attach_handle *handle)
{
	if (pasid == IOPF_NO_PASID)
		return -EINVAL;
	return attach_pasid(domain, dev, pasid, handle);
}

/* ---- detach ------------------------------------------------------------- */

/*
 * The old attachment @a is unpublished: wait for report calls that may
 * still use it, run what they queued, let the owning layer answer what it
 * holds, then drop IOPF and free it. With dev->group_mutex held.
 */
static void retire_attachment(struct iopf_device *dev,
			      struct iopf_attachment *a)
{
	struct iopf_domain *domain = a->domain;

	iopf_synchronize_rcu();
	iopf_device_flush_work(dev);
	if (a->handle && domain->ops && domain->ops->handle_detached)
		domain->ops->handle_detached(domain, a->handle);
	iopf_disable_for_domain(dev, domain, a->handle);
	unlink_attachment(a);
	iopf_mfree(a);
}

static void detach_pasid(struct iopf_domain *domain, struct iopf_device *dev,
			 uint32_t pasid)
{
	struct iopf_route *slot;
	struct iopf_attachment *a;

	if (!domain || !dev ||
	    (pasid != IOPF_NO_PASID && pasid >= dev->max_pasids))
		return;
	pthread_mutex_lock(&dev->group_mutex);
	slot = pasid_slot(dev, pasid, false);
	a = route_attachment(slot);
	if (!a || a->domain != domain) {
		pthread_mutex_unlock(&dev->group_mutex);
		return;
	}
	if (dev->iommu->ops.remove_dev_pasid)
		dev->iommu->ops.remove_dev_pasid(dev, pasid, domain);
	iopf_device_flush_work(dev);
	route_publish(slot, NULL);
	retire_attachment(dev, a);
	pthread_mutex_unlock(&dev->group_mutex);
	trace_attach(dev, IOPF_TRACE_PASID_DETACHED, pasid, domain, 0);
}

IOPF_EXPORT void iopf_detach_device(struct iopf_domain *domain,
				    struct iopf_device *dev)
{
	detach_pasid(domain, dev, IOPF_NO_PASID);
}

IOPF_EXPORT void iopf_detach_device_pasid(struct iopf_domain *domain,
					  struct iopf_device *dev,
					  uint32_t pasid)
{
	if (pasid != IOPF_NO_PASID)
		detach_pasid(domain, dev, pasid);
}

void iopf_device_detach_all(struct iopf_device *dev)
{
	struct iopf_attachment *a;

	for (;;) {
		pthread_mutex_lock(&dev->group_mutex);
		a = cds_list_empty(&dev->attachments) ?
			    NULL :
			    cds_list_first_entry(&dev->attachments,
						 struct iopf_attachment,
						 dev_node);
		pthread_mutex_unlock(&dev->group_mutex);
		if (!a)
			break;
		detach_pasid(a->domain, dev, a->pasid);
	}
}

/* ---- replace ------------------------------------------------------------ */

static int replace_locked(struct iopf_domain *domain, struct iopf_device *dev,
			  uint32_t pasid, struct iopf_attach_handle *handle)
{
	struct iopf_route *slot;
	struct iopf_attachment *old, *a;
	int ret;

	slot = pasid_slot(dev, pasid, false);
	old = route_attachment(slot);
	if (!old)
		return pasid == IOPF_NO_PASID ?
			       attach_locked(domain, dev, pasid, handle) :
			       -EINVAL;
	if (old->handle == handle)
		return -EINVAL;
	a = new_attachment(domain, dev, pasid, handle);
	if (!a)
		return -ENOMEM;
	/* The new attachment is enabled before the old one is dropped. */
	ret = install_attachment(a, old->domain != domain);
	if (ret) {
		iopf_mfree(a);
		return ret;
	}
	route_publish(slot, a);
	retire_attachment(dev, old);
	return 0;
}

static int replace_pasid(struct iopf_domain *domain, struct iopf_device *dev,
			 uint32_t pasid, struct iopf_attach_handle *handle)
{
	int ret;

	if (!handle)
		return -EINVAL;
	ret = attach_check(domain, dev, pasid);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->group_mutex);
	ret = replace_locked(domain, dev, pasid, handle);
	pthread_mutex_unlock(&dev->group_mutex);
	trace_attach(dev, IOPF_TRACE_PASID_ATTACHED, pasid, domain, ret);
	return ret;
}

IOPF_EXPORT int iopf_replace_device(struct iopf_domain *domain,
				    struct iopf_device *dev,
				    struct iopf_attach_handle *handle)
{
	return replace_pasid(domain, dev, IOPF_NO_PASID, handle);
}

IOPF_EXPORT int iopf_replace_device_pasid(struct iopf_domain *domain,
					  struct iopf_device *dev,
					  uint32_t pasid,
					  struct iopf_attach_handle *handle)
{
	if (pasid == IOPF_NO_PASID)
		return -EINVAL;
	return replace_pasid(domain, dev, pasid, handle);
}

/* ---- lookups ------------------------------------------------------------ */

static bool pasid_in_range(const struct iopf_device *dev, uint32_t pasid)
{
	return pasid == IOPF_NO_PASID || pasid < dev->max_pasids;
}

IOPF_EXPORT int iopf_attach_handle_get(struct iopf_device *dev, uint32_t pasid,
				       enum iopf_domain_type type,
				       struct iopf_attach_handle **out)
{
	struct iopf_route_snap r;
	int ret = 0;

	if (!dev || !out || !pasid_in_range(dev, pasid))
		return -EINVAL;
	iopf_rcu_read_lock();
	iopf_route_get(dev, pasid, &r);
	if (!r.handle)
		ret = -ENOENT;
	else if (type != IOPF_DOMAIN_ANY && r.domain->type != type)
		ret = -EBUSY;
	else
		*out = r.handle;
	iopf_rcu_read_unlock();
	return ret;
}

IOPF_EXPORT int iopf_device_translate(struct iopf_device *dev, uint32_t pasid,
				      uint64_t addr, uint32_t perm)
{
	struct iopf_route_snap r;
	int ret;

	if (!dev || !pasid_in_range(dev, pasid))
		return -EINVAL;
	iopf_rcu_read_lock();
	iopf_route_get(dev, pasid, &r);
	if (!r.domain)
		ret = -ENOENT;
	else if (!r.domain->ops || !r.domain->ops->translate)
		ret = -EOPNOTSUPP;
	else
		ret = r.domain->ops->translate(r.domain, addr, perm);
	iopf_rcu_read_unlock();
	return ret;
}
