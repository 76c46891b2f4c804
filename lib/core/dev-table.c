// SPDX-License-Identifier: MIT
/*
 * The IOMMU's direct device table: a directory of 1024 leaves of 1024 device
 * pointers for the IDs below IOPF_DEV_TABLE_IDS, so that mapping a requester
 * or stream ID to its device is two dependent loads with no hashing (the
 * kernel keeps a per-IOMMU device tree in VT-d, a per-SMMU stream tree in
 * SMMUv3, for the same reason).
 *
 * Writers hold iommu->lock. The directory and the leaves are allocated at
 * the first device that needs them and freed only with the IOMMU: readers
 * need a grace period for a device, never for the table.
 */
#include <errno.h>

#include "iommu-priv.h"

static uint32_t id_hi(uint32_t id)
{
	return id >> IOPF_LEAF_BITS;
}

static uint32_t id_lo(uint32_t id)
{
	return id & (IOPF_LEAF_SIZE - 1);
}

/* The leaf of @id, or NULL if it does not exist yet. */
static struct iopf_dev_leaf *leaf_of(struct iopf_iommu *iommu, uint32_t id)
{
	struct iopf_dev_dir *dir = atomic_load(&iommu->dev_dir);

	return dir ? atomic_load(&dir->leaf[id_hi(id)]) : NULL;
}

/*
 * Allocate what @id lacks: the directory (*new_dir) and the leaf
 * (*new_leaf), or NULL where it exists. Nothing is published here, so a
 * failure frees all it allocated and leaves the table as it was.
 */
static int table_prepare(struct iopf_iommu *iommu, uint32_t id,
			 struct iopf_dev_dir **new_dir,
			 struct iopf_dev_leaf **new_leaf)
{
	*new_dir = NULL;
	*new_leaf = NULL;
	if (!atomic_load(&iommu->dev_dir)) {
		*new_dir = iopf_zalloc(sizeof(**new_dir));
		if (!*new_dir)
			return -ENOMEM;
	}
	if (!leaf_of(iommu, id)) {
		*new_leaf = iopf_zalloc(sizeof(**new_leaf));
		if (!*new_leaf) {
			iopf_mfree(*new_dir);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Publish @dev, fully initialised, at its ID: 0, -EEXIST if the ID is
 * taken on @iommu, -ENOMEM. Innermost first, each with a release store,
 * so a reader that finds a new leaf or directory finds the device in it.
 */
int iopf_dev_table_insert(struct iopf_iommu *iommu, struct iopf_device *dev)
{
	struct iopf_dev_leaf *leaf = leaf_of(iommu, dev->id), *new_leaf;
	struct iopf_dev_dir *dir, *new_dir;
	uint32_t lo = id_lo(dev->id);
	int ret;

	if (leaf && atomic_load(&leaf->slot[lo]))
		return -EEXIST;
	ret = table_prepare(iommu, dev->id, &new_dir, &new_leaf);
	if (ret)
		return ret;
	if (new_leaf)
		leaf = new_leaf;
	iopf_rcu_assign(leaf->slot[lo], dev);
	dir = new_dir ? new_dir : atomic_load(&iommu->dev_dir);
	if (new_leaf)
		iopf_rcu_assign(dir->leaf[id_hi(dev->id)], new_leaf);
	if (new_dir)
		iopf_rcu_assign(iommu->dev_dir, new_dir);
	return 0;
}

/* Readers that still see @dev hold the RCU read lock: its memory waits. */
void iopf_dev_table_remove(struct iopf_iommu *iommu, struct iopf_device *dev)
{
	struct iopf_dev_leaf *leaf = leaf_of(iommu, dev->id);

	iopf_rcu_assign(leaf->slot[id_lo(dev->id)], NULL);
}

/*
 * iommu_destroy() freed every device on iommu->devices first, and a device
 * is in the table exactly while it is on that list (both change together
 * under iommu->lock): the slots are all empty. No reader may use an IOMMU
 * being freed, so no grace period either.
 */
void iopf_dev_table_free(struct iopf_iommu *iommu)
{
	struct iopf_dev_dir *dir = atomic_load(&iommu->dev_dir);

	if (!dir)
		return;
	for (uint32_t i = 0; i < IOPF_DEV_DIR_SIZE; i++)
		iopf_mfree(atomic_load(&dir->leaf[i]));
	iopf_mfree(dir);
	atomic_store(&iommu->dev_dir, NULL);
}
