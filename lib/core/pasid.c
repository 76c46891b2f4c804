// SPDX-License-Identifier: MIT
/*
 * The context's global PASID space (the kernel's iommu_alloc_global_pasid()
 * and the mm PASID allocator): the lowest free PASID from 1, below the
 * asking device's max_pasids. A 2^20-bit bitmap, allocated at first use.
 */
#include <errno.h>

#include "iommu-priv.h"
#include "pasid.h"

#define WORDS (IOPF_PASID_MAX / 64)

static void trace_pasid(struct iopf_ctx *ctx, uint32_t type,
			struct iopf_device *dev, uint32_t pasid)
{
	if (iopf_trace_on(ctx))
		iopf_trace_dev(ctx, type, dev, pasid, "global", 0);
}

static int find_lowest_free(const uint64_t *map, uint32_t limit, uint32_t *out)
{
	for (uint32_t w = 0; w * 64 < limit; w++) {
		uint64_t free_bits = ~map[w];

		if (w == 0)
			free_bits &= ~1ull; /* PASID 0 is the RID */
		if (!free_bits)
			continue;
		uint32_t bit = w * 64 + (uint32_t)__builtin_ctzll(free_bits);

		if (bit >= limit)
			return -ENOSPC;
		*out = bit;
		return 0;
	}
	return -ENOSPC;
}

IOPF_EXPORT int iopf_alloc_global_pasid(struct iopf_device *dev,
					uint32_t *pasid)
{
	struct iopf_ctx *ctx;
	uint32_t p = 0;
	int ret;

	if (!dev || !pasid)
		return -EINVAL;
	if (dev->max_pasids <= 1)
		return -ENOSPC;
	ctx = dev->ctx;
	pthread_mutex_lock(&ctx->pasid_lock);
	if (!ctx->pasid_bitmap)
		ctx->pasid_bitmap = iopf_calloc(WORDS, sizeof(uint64_t));
	if (!ctx->pasid_bitmap) {
		pthread_mutex_unlock(&ctx->pasid_lock);
		return -ENOMEM;
	}
	ret = find_lowest_free(ctx->pasid_bitmap, dev->max_pasids, &p);
	if (!ret)
		ctx->pasid_bitmap[p / 64] |= 1ull << (p % 64);
	pthread_mutex_unlock(&ctx->pasid_lock);
	if (!ret) {
		*pasid = p;
		trace_pasid(ctx, IOPF_TRACE_PASID_ALLOCATED, dev, p);
	}
	return ret;
}

IOPF_EXPORT void iopf_free_global_pasid(struct iopf_ctx *ctx, uint32_t pasid)
{
	bool was_set = false;

	if (!ctx || pasid == IOPF_NO_PASID || pasid >= IOPF_PASID_MAX)
		return;
	pthread_mutex_lock(&ctx->pasid_lock);
	if (ctx->pasid_bitmap) {
		uint64_t bit = 1ull << (pasid % 64);

		was_set = ctx->pasid_bitmap[pasid / 64] & bit;
		ctx->pasid_bitmap[pasid / 64] &= ~bit;
	}
	pthread_mutex_unlock(&ctx->pasid_lock);
	if (was_set)
		trace_pasid(ctx, IOPF_TRACE_PASID_FREED, NULL, pasid);
}

void iopf_pasid_space_free(struct iopf_ctx *ctx)
{
	iopf_mfree(ctx->pasid_bitmap);
	ctx->pasid_bitmap = NULL;
}
