// SPDX-License-Identifier: MIT
/*
 * Batched reports: what a hardware model does when it drains a page request
 * ring, with the same result as one report after the other.
 *
 * With many devices or PASIDs, each report's first touch of its routing
 * slot, device and fault param is a cache (and TLB) miss that one report
 * alone cannot hide. A batch knows what comes next: while request i is
 * reported, the lines request i + AHEAD will need are already requested
 * (software prefetch), so the misses of several requests overlap instead
 * of adding up. Lookups by ID prefetch in stages, each one reading what the
 * previous stage brought in: the device table's slot, then the device, then
 * its fault param and routing slot.
 *
 * The whole batch runs in one RCU read-side section (the single-report
 * paths nest in it), which the prefetch stages need to read the tables.
 */
#include <errno.h>

#include "iommu-priv.h"

#define AHEAD 8 /* requests in flight ahead of the one being reported */

static void prefetch_route(struct iopf_device *dev,
			   const struct iopf_fault *evt)
{
	const struct iopf_fault_page_request *prm = &evt->prm;
	struct iopf_route *r;

	if (!(prm->flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID))
		r = &dev->rid;
	else if (prm->pasid < IOPF_PASID_MAX)
		r = iopf_route_find(dev, prm->pasid);
	else
		return;
	if (r)
		__builtin_prefetch(r);
}

IOPF_EXPORT int iopf_report_device_faults(struct iopf_device *dev,
					  const struct iopf_fault *evts,
					  size_t n, int *rets)
{
	int ret;

	if (!dev || (n && !evts))
		return -EINVAL;
	iopf_rcu_read_lock();
	/* From i = -AHEAD: the first requests are prefetched too. */
	for (long i = -AHEAD; i < (long)n; i++) {
		if (i + AHEAD < (long)n)
			prefetch_route(dev, &evts[i + AHEAD]);
		if (i < 0)
			continue;
		ret = iopf_report_device_fault(dev, &evts[i]);
		if (rets)
			rets[i] = ret;
	}
	iopf_rcu_read_unlock();
	return 0;
}

/*
 * The device at @id in the direct table, without looking at it (its
 * reference count is on a line that may not be here yet). IDs on the hash
 * path are not prefetched.
 */
static struct iopf_device *peek_device(struct iopf_iommu *iommu, uint32_t id)
{
	return id < IOPF_DEV_TABLE_IDS ? iopf_dev_table_lookup(iommu, id) :
					 NULL;
}

/* Stage 1: the device table's slot for @id. */
static void prefetch_id(struct iopf_iommu *iommu, uint32_t id)
{
	_Atomic(struct iopf_device *) *slot;

	if (id >= IOPF_DEV_TABLE_IDS)
		return;
	slot = iopf_dev_table_slot(iommu, id);
	if (slot)
		__builtin_prefetch(slot);
}

/*
 * Stage 2: the device's first line (what a report at the RID reads), and
 * its second (the PASID table) for a request with a PASID.
 */
static void prefetch_device(struct iopf_iommu *iommu, uint32_t id,
			    const struct iopf_fault *evt)
{
	struct iopf_device *dev = peek_device(iommu, id);

	if (!dev)
		return;
	__builtin_prefetch(dev);
	if (evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID)
		__builtin_prefetch(&dev->pasid_dir);
}

/* Stage 3: the fault param and the routing slot the request needs. */
static void prefetch_fault_param(struct iopf_iommu *iommu, uint32_t id,
				 const struct iopf_fault *evt)
{
	struct iopf_device *dev = peek_device(iommu, id);
	struct iopf_fault_param *fp;

	if (!dev)
		return;
	fp = atomic_load_explicit(&dev->fault_param, memory_order_relaxed);
	/* Its lock and reference, then its lists (the group goes there). */
	if (fp) {
		__builtin_prefetch(fp, 1);
		__builtin_prefetch((char *)fp + 64, 1);
	}
	prefetch_route(dev, evt);
}

IOPF_EXPORT int iopf_iommu_report_faults(struct iopf_iommu *iommu,
					 const uint32_t *ids,
					 const struct iopf_fault *evts,
					 size_t n, int *rets)
{
	int ret;

	if (!iommu || (n && (!ids || !evts)))
		return -EINVAL;
	iopf_rcu_read_lock();
	/* From i = -3 AHEAD: the first requests go through the stages too. */
	for (long i = -3 * AHEAD; i < (long)n; i++) {
		if (i + 3 * AHEAD < (long)n)
			prefetch_id(iommu, ids[i + 3 * AHEAD]);
		if (i + 2 * AHEAD >= 0 && i + 2 * AHEAD < (long)n)
			prefetch_device(iommu, ids[i + 2 * AHEAD],
					&evts[i + 2 * AHEAD]);
		if (i + AHEAD >= 0 && i + AHEAD < (long)n)
			prefetch_fault_param(iommu, ids[i + AHEAD],
					     &evts[i + AHEAD]);
		if (i < 0)
			continue;
		ret = iopf_iommu_report_fault(iommu, ids[i], &evts[i]);
		if (rets)
			rets[i] = ret;
	}
	iopf_rcu_read_unlock();
	return 0;
}
