// SPDX-License-Identifier: MIT
/*
 * The context, IOMMUs and the device registry (the userspace iommu.c).
 *
 * Devices are published for lock-free lookup by ID, so a driver model's
 * interrupt thread can map a requester or stream ID to a device without a
 * lock: in the IOMMU's direct table (dev-table.c) for IDs below
 * IOPF_DEV_TABLE_IDS, in one RCU hash table per context keyed by (IOMMU, ID)
 * for the sparse IDs above. Devices are refcounted; the memory goes with
 * the last put, after a grace period.
 *
 * Lock order: iommu->lock, then ctx->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iommu-priv.h"
#include "pasid.h"

#ifdef IOPF_TSAN
atomic_ulong iopf_tsan_rcu_clock;
#endif

/* ---- context and its members ---------------------------------------- */

void iopf_ctx_link(struct iopf_ctx *ctx, struct iopf_ctx_member *member,
		   void (*destroy)(struct iopf_ctx_member *member))
{
	member->destroy = destroy;
	pthread_mutex_lock(&ctx->lock);
	cds_list_add_tail(&member->node, &ctx->members);
	pthread_mutex_unlock(&ctx->lock);
}

void iopf_ctx_unlink(struct iopf_ctx *ctx, struct iopf_ctx_member *member)
{
	pthread_mutex_lock(&ctx->lock);
	cds_list_del_init(&member->node);
	pthread_mutex_unlock(&ctx->lock);
}

IOPF_EXPORT int iopf_ctx_new(struct iopf_ctx **out)
{
	struct iopf_ctx *ctx;

	if (!out)
		return -EINVAL;
	ctx = iopf_zalloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	/* No cds_lfht_new_flavor() OOM test: liburcu aborts there (0.13.2). */
	ctx->devices = cds_lfht_new_flavor(
		64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
		&urcu_bp_flavor, NULL);
	if (!ctx->devices) {
		iopf_mfree(ctx);
		return -ENOMEM;
	}
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->pasid_lock, NULL);
	CDS_INIT_LIST_HEAD(&ctx->members);
	CDS_INIT_LIST_HEAD(&ctx->fault_params);
	CDS_INIT_LIST_HEAD(&ctx->iommus);
	CDS_INIT_LIST_HEAD(&ctx->queues);
	*out = ctx;
	return 0;
}

/*
 * Members go in reverse creation order: an object is always created after
 * what it depends on, so each destructor finds its dependencies alive.
 */
static struct iopf_ctx_member *ctx_last_member(struct iopf_ctx *ctx)
{
	struct iopf_ctx_member *m = NULL;

	pthread_mutex_lock(&ctx->lock);
	if (!cds_list_empty(&ctx->members))
		m = cds_list_entry(ctx->members.prev, struct iopf_ctx_member,
				   node);
	pthread_mutex_unlock(&ctx->lock);
	return m;
}

IOPF_EXPORT void iopf_ctx_free(struct iopf_ctx *ctx)
{
	struct iopf_ctx_member *m;

	if (!ctx)
		return;
	/* The work already queued runs first, while everything it uses lives. */
	iopf_ctx_flush_queues(ctx);
	while ((m = ctx_last_member(ctx))) {
		iopf_ctx_unlink(ctx, m);
		m->destroy(m);
	}
	/* Groups a custom handler still held were answered; free them now. */
	iopf_ctx_free_groups(ctx);
	/* Device and fault-param memory goes through call_rcu. */
	urcu_bp_barrier();
	cds_lfht_destroy(ctx->devices, NULL);
	iopf_pasid_space_free(ctx);
	pthread_mutex_destroy(&ctx->pasid_lock);
	pthread_mutex_destroy(&ctx->lock);
	iopf_mfree(ctx);
}

/* ---- IOMMUs ----------------------------------------------------------- */

static void iommu_destroy(struct iopf_ctx_member *member)
{
	struct iopf_iommu *iommu =
		container_of(member, struct iopf_iommu, member);
	struct iopf_device *dev;

	for (;;) {
		pthread_mutex_lock(&iommu->lock);
		dev = cds_list_empty(&iommu->devices) ?
			      NULL :
			      cds_list_first_entry(&iommu->devices,
						   struct iopf_device,
						   iommu_node);
		pthread_mutex_unlock(&iommu->lock);
		if (!dev)
			break;
		iopf_device_free(dev);
	}
	iopf_dev_table_free(iommu);
	pthread_mutex_lock(&iommu->ctx->lock);
	cds_list_del(&iommu->ctx_node);
	pthread_mutex_unlock(&iommu->ctx->lock);
	pthread_mutex_destroy(&iommu->lock);
	iopf_mfree(iommu->name);
	iopf_mfree(iommu);
}

IOPF_EXPORT int iopf_iommu_new(struct iopf_ctx *ctx, const char *name,
			       const struct iopf_iommu_ops *ops, void *drvdata,
			       struct iopf_iommu **out)
{
	struct iopf_iommu *iommu;
	char buf[32];

	if (!ctx || !ops || !out)
		return -EINVAL;
	if (ops->size < offsetof(struct iopf_iommu_ops, user_pasid_table) +
				sizeof(bool) ||
	    ops->size > sizeof(*ops))
		return -EINVAL;
	iommu = iopf_zalloc(sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	if (!name) {
		pthread_mutex_lock(&ctx->lock);
		snprintf(buf, sizeof(buf), "iommu%u", ctx->nr_iommus++);
		pthread_mutex_unlock(&ctx->lock);
		name = buf;
	}
	iommu->name = iopf_strdup(name);
	if (!iommu->name) {
		iopf_mfree(iommu);
		return -ENOMEM;
	}
	memcpy(&iommu->ops, ops, ops->size);
	iommu->ops.size = sizeof(iommu->ops);
	iommu->ctx = ctx;
	iommu->drvdata = drvdata;
	pthread_mutex_init(&iommu->lock, NULL);
	CDS_INIT_LIST_HEAD(&iommu->devices);
	pthread_mutex_lock(&ctx->lock);
	cds_list_add_tail(&iommu->ctx_node, &ctx->iommus);
	pthread_mutex_unlock(&ctx->lock);
	iopf_ctx_link(ctx, &iommu->member, iommu_destroy);
	*out = iommu;
	return 0;
}

IOPF_EXPORT void iopf_iommu_free(struct iopf_iommu *iommu)
{
	if (!iommu)
		return;
	iopf_ctx_unlink(iommu->ctx, &iommu->member);
	iommu_destroy(&iommu->member);
}

IOPF_EXPORT void *iopf_iommu_drvdata(const struct iopf_iommu *iommu)
{
	return iommu ? iommu->drvdata : NULL;
}

IOPF_EXPORT const char *iopf_iommu_name(const struct iopf_iommu *iommu)
{
	return iommu ? iommu->name : NULL;
}

IOPF_EXPORT struct iopf_ctx *iopf_iommu_ctx(const struct iopf_iommu *iommu)
{
	return iommu ? iommu->ctx : NULL;
}

/* Is a device of @iommu enabled through its current queue? iommu->lock held. */
static bool iommu_queue_in_use(struct iopf_iommu *iommu)
{
	struct iopf_queue *cur = atomic_load(&iommu->queue);
	struct iopf_fault_param *fp;
	struct iopf_device *dev;
	bool busy = false;

	if (!cur)
		return false;
	cds_list_for_each_entry(dev, &iommu->devices, iommu_node) {
		if (!dev->iopf_auto)
			continue;
		fp = iopf_get_dev_fault_param(dev);
		if (fp) {
			busy = fp->queue == cur;
			iopf_put_dev_fault_param(fp);
		}
		if (busy)
			break;
	}
	return busy;
}

IOPF_EXPORT int iopf_iommu_set_queue(struct iopf_iommu *iommu,
				     struct iopf_queue *queue)
{
	int ret = 0;

	if (!iommu || (queue && queue->ctx != iommu->ctx))
		return -EINVAL;
	pthread_mutex_lock(&iommu->lock);
	if (iommu_queue_in_use(iommu))
		ret = -EBUSY;
	else
		atomic_store(&iommu->queue, queue);
	pthread_mutex_unlock(&iommu->lock);
	return ret;
}

/* A queue is going away: no IOMMU may enable IOPF through it any more. */
void iopf_ctx_forget_queue(struct iopf_ctx *ctx, struct iopf_queue *queue)
{
	struct iopf_iommu *iommu;

	pthread_mutex_lock(&ctx->lock);
	cds_list_for_each_entry(iommu, &ctx->iommus, ctx_node) {
		struct iopf_queue *expected = queue;

		atomic_compare_exchange_strong(&iommu->queue, &expected, NULL);
	}
	pthread_mutex_unlock(&ctx->lock);
}

/* ---- devices ---------------------------------------------------------- */

static unsigned long device_hash(const struct iopf_iommu *iommu, uint32_t id)
{
	uint64_t k = ((uint64_t)(uintptr_t)iommu >> 4) * 0x9e3779b97f4a7c15ull;

	k ^= (uint64_t)id * 0xc2b2ae3d27d4eb4full;
	return (unsigned long)(k ^ (k >> 29));
}

struct device_key {
	const struct iopf_iommu *iommu;
	uint32_t id;
};

static int device_match(struct cds_lfht_node *node, const void *key)
{
	const struct iopf_device *dev =
		container_of(node, struct iopf_device, ht_node);
	const struct device_key *k = key;

	/* Pair with the release in iopf_device_new(), for TSan's sake. */
	if (!atomic_load_explicit(&dev->live, memory_order_acquire))
		return 0;
	return dev->iommu == k->iommu && dev->id == k->id;
}

static void device_free_rcu(struct rcu_head *head)
{
	struct iopf_device *dev = container_of(head, struct iopf_device, rcu);
	struct iopf_pasid_dir *dir;

	/* After a grace period: pair with iopf_call_rcu(), for TSan. */
	iopf_tsan_gp_begin();
	dir = atomic_load(&dev->pasid_dir);
	if (dir) {
		for (size_t i = 0; i < IOPF_DIR_SIZE; i++)
			iopf_mfree(atomic_load(&dir->leaf[i]));
		iopf_mfree(dir);
	}
	/* Pair with iopf_queue_add_device(). */
	iopf_queue_put(dev->work_queue);
	pthread_mutex_destroy(&dev->group_mutex);
	pthread_mutex_destroy(&dev->iommu_lock);
	iopf_mfree(dev->name);
	iopf_mfree(dev);
}

void iopf_device_get(struct iopf_device *dev)
{
	iopf_ref_get(&dev->ref);
}

IOPF_EXPORT void iopf_device_put(struct iopf_device *dev)
{
	/* Lock-free lookups may still see it: free after a grace period. */
	if (dev && iopf_ref_put(&dev->ref))
		iopf_call_rcu(&dev->rcu, device_free_rcu);
}

static int device_attr_check(const struct iopf_device_attr *attr)
{
	if (attr->size < offsetof(struct iopf_device_attr, drvdata) +
				 sizeof(void *) ||
	    attr->size > sizeof(*attr))
		return -EINVAL;
	if (attr->max_pasids > IOPF_PASID_MAX)
		return -EINVAL;
	return 0;
}

static struct iopf_device *device_alloc(struct iopf_iommu *iommu,
					const struct iopf_device_attr *attr)
{
	struct iopf_device *dev;
	char buf[32];

	/* Aligned, so that its hot fields and RID slot are whole lines. */
	dev = iopf_zalloc_aligned(IOPF_DEVICE_ALIGN, sizeof(*dev));
	if (!dev)
		return NULL;
	if (!attr->name)
		snprintf(buf, sizeof(buf), "dev%x", attr->id);
	dev->name = iopf_strdup(attr->name ? attr->name : buf);
	if (!dev->name) {
		iopf_mfree(dev);
		return NULL;
	}
	dev->ctx = iommu->ctx;
	dev->iommu = iommu;
	dev->id = attr->id;
	dev->max_pasids = attr->max_pasids;
	dev->drvdata = attr->drvdata;
	iopf_ref_init(&dev->ref);
	cds_lfht_node_init(&dev->ht_node);
	pthread_mutex_init(&dev->group_mutex, NULL);
	pthread_mutex_init(&dev->iommu_lock, NULL);
	CDS_INIT_LIST_HEAD(&dev->attachments);
	CDS_INIT_LIST_HEAD(&dev->iommu_node);
	return dev;
}

/* The hash path: -EEXIST if the ID is taken on the IOMMU. iommu->lock held. */
static int device_hash_add(struct iopf_iommu *iommu, struct iopf_device *dev)
{
	struct device_key key = { .iommu = iommu, .id = dev->id };
	struct cds_lfht_node *node;

	atomic_store_explicit(&dev->live, true, memory_order_release);
	iopf_rcu_read_lock();
	node = cds_lfht_add_unique(iommu->ctx->devices,
				   device_hash(iommu, dev->id), device_match,
				   &key, &dev->ht_node);
	iopf_rcu_read_unlock();
	return node == &dev->ht_node ? 0 : -EEXIST;
}

/* Make @dev, fully initialised, visible to iopf_device_find(). */
static int device_publish(struct iopf_iommu *iommu, struct iopf_device *dev)
{
	if (dev->id < IOPF_DEV_TABLE_IDS)
		return iopf_dev_table_insert(iommu, dev);
	return device_hash_add(iommu, dev);
}

IOPF_EXPORT int iopf_device_new(struct iopf_iommu *iommu,
				const struct iopf_device_attr *attr,
				struct iopf_device **out)
{
	struct iopf_device *dev;
	int ret;

	if (!iommu || !attr || !out)
		return -EINVAL;
	ret = device_attr_check(attr);
	if (ret)
		return ret;
	dev = device_alloc(iommu, attr);
	if (!dev)
		return -ENOMEM;
	pthread_mutex_lock(&iommu->lock);
	ret = device_publish(iommu, dev);
	if (ret) {
		pthread_mutex_unlock(&iommu->lock);
		/* Never published: no grace period needed. */
		device_free_rcu(&dev->rcu);
		return ret;
	}
	dev->published = true;
	cds_list_add_tail(&dev->iommu_node, &iommu->devices);
	pthread_mutex_unlock(&iommu->lock);
	*out = dev;
	return 0;
}

static void device_unpublish(struct iopf_device *dev)
{
	struct iopf_iommu *iommu = dev->iommu;

	pthread_mutex_lock(&iommu->lock);
	if (dev->published) {
		if (dev->id < IOPF_DEV_TABLE_IDS) {
			iopf_dev_table_remove(iommu, dev);
		} else {
			iopf_rcu_read_lock();
			cds_lfht_del(iommu->ctx->devices, &dev->ht_node);
			iopf_rcu_read_unlock();
		}
		cds_list_del_init(&dev->iommu_node);
		dev->published = false;
	}
	pthread_mutex_unlock(&iommu->lock);
}

IOPF_EXPORT void iopf_device_free(struct iopf_device *dev)
{
	struct iopf_fault_param *fp;

	if (!dev)
		return;
	/* As the kernel: detach (draining the hardware) before unpublishing. */
	iopf_device_detach_all(dev);
	/* A device the caller added to a queue itself is still on it. */
	fp = iopf_get_dev_fault_param(dev);
	if (fp) {
		struct iopf_queue *queue = fp->queue;

		iopf_put_dev_fault_param(fp);
		if (queue)
			iopf_queue_remove_device(queue, dev);
	}
	device_unpublish(dev);
	/* Pair with iopf_device_new(): the caller's reference. */
	iopf_device_put(dev);
}

/* The hash path, under the RCU read lock. */
static struct iopf_device *device_hash_lookup(struct iopf_iommu *iommu,
					      uint32_t id)
{
	struct device_key key = { .iommu = iommu, .id = id };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_lookup(iommu->ctx->devices, device_hash(iommu, id),
			device_match, &key, &iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? container_of(node, struct iopf_device, ht_node) : NULL;
}

/* The device published at @id, whatever its references; read-side section. */
static struct iopf_device *device_published(struct iopf_iommu *iommu,
					    uint32_t id)
{
	if (id < IOPF_DEV_TABLE_IDS)
		return iopf_dev_table_lookup(iommu, id);
	return device_hash_lookup(iommu, id);
}

/*
 * The device at @id, valid until the caller's read-side section ends, or
 * NULL; no reference taken. An unpublished device whose last reference is
 * gone is not returned, as by iopf_device_find().
 */
struct iopf_device *iopf_device_lookup_rcu(struct iopf_iommu *iommu,
					   uint32_t id)
{
	struct iopf_device *dev = device_published(iommu, id);

	if (dev && !atomic_load_explicit(&dev->ref.count, memory_order_relaxed))
		dev = NULL;
	return dev;
}

IOPF_EXPORT struct iopf_device *iopf_device_find(struct iopf_iommu *iommu,
						 uint32_t id)
{
	struct iopf_device *dev;

	if (!iommu)
		return NULL;
	iopf_rcu_read_lock();
	dev = device_published(iommu, id);
	/* Unpublished but not yet freed: its last reference may be gone. */
	if (dev && !iopf_ref_get_unless_zero(&dev->ref))
		dev = NULL;
	iopf_rcu_read_unlock();
	return dev;
}

IOPF_EXPORT uint32_t iopf_device_id(const struct iopf_device *dev)
{
	return dev ? dev->id : 0;
}

IOPF_EXPORT void *iopf_device_drvdata(const struct iopf_device *dev)
{
	return dev ? dev->drvdata : NULL;
}

IOPF_EXPORT const char *iopf_device_name(const struct iopf_device *dev)
{
	return dev ? dev->name : NULL;
}

IOPF_EXPORT uint32_t iopf_device_max_pasids(const struct iopf_device *dev)
{
	return dev ? dev->max_pasids : 0;
}

IOPF_EXPORT struct iopf_iommu *iopf_device_iommu(const struct iopf_device *dev)
{
	return dev ? dev->iommu : NULL;
}
