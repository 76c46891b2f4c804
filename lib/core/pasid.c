// SPDX-License-Identifier: MIT
/*
 * The context's global PASID space (the kernel's iommu_alloc_global_pasid()
 * and the mm PASID allocator): the lowest free PASID from 1, below the
 * asking device's max_pasids. A 2^20-bit bitmap, allocated at first use,
 * followed by a summary with one bit per bitmap word that is full, so an
 * allocation looks at 256 summary words at most instead of 16384 words.
 */
#include <errno.h>

#include "iommu-priv.h"
#include "pasid.h"

#define WORDS	(IOPF_PASID_MAX / 64)
#define SUMMARY (WORDS / 64)

static void trace_pasid(struct iopf_ctx *ctx, uint32_t type,
			struct iopf_device *dev, uint32_t pasid)
{
	if (iopf_trace_on(ctx))
		iopf_trace_dev(ctx, type, dev, pasid, "global", 0);
}

/* The lowest clear bit of word @w, or 64; PASID 0 (the RID) never counts. */
static unsigned int word_first_free(const uint64_t *map, uint32_t w)
{
	uint64_t free_bits = ~map[w];

	if (w == 0)
		free_bits &= ~1ull;
	return free_bits ? (unsigned int)__builtin_ctzll(free_bits) : 64;
}

static int find_lowest_free(const uint64_t *map, uint32_t limit, uint32_t *out)
{
	const uint64_t *summary = map + WORDS;

	for (uint32_t s = 0; s < SUMMARY && s * 64 * 64 < limit; s++) {
		/* words of this summary word that are not full, lowest first */
		for (uint64_t m = ~summary[s]; m; m &= m - 1) {
			uint32_t w = s * 64 + (uint32_t)__builtin_ctzll(m);
			unsigned int bit = word_first_free(map, w);

			if (bit == 64)
				continue; /* word 0 with only PASID 0 clear */
			if (w * 64 + bit >= limit)
				return -ENOSPC;
			*out = w * 64 + bit;
			return 0;
		}
	}
	return -ENOSPC;
}

static void pasid_set(uint64_t *map, uint32_t p)
{
	map[p / 64] |= 1ull << (p % 64);
	if (map[p / 64] == ~0ull)
		map[WORDS + p / 4096] |= 1ull << (p / 64 % 64);
}

static bool pasid_clear(uint64_t *map, uint32_t p)
{
	uint64_t bit = 1ull << (p % 64);
	bool was_set = map[p / 64] & bit;

	map[p / 64] &= ~bit;
	map[WORDS + p / 4096] &= ~(1ull << (p / 64 % 64));
	return was_set;
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
		ctx->pasid_bitmap =
			iopf_calloc(WORDS + SUMMARY, sizeof(uint64_t));
	if (!ctx->pasid_bitmap) {
		pthread_mutex_unlock(&ctx->pasid_lock);
		return -ENOMEM;
	}
	ret = find_lowest_free(ctx->pasid_bitmap, dev->max_pasids, &p);
	if (!ret)
		pasid_set(ctx->pasid_bitmap, p);
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
	if (ctx->pasid_bitmap)
		was_set = pasid_clear(ctx->pasid_bitmap, pasid);
	pthread_mutex_unlock(&ctx->pasid_lock);
	if (was_set)
		trace_pasid(ctx, IOPF_TRACE_PASID_FREED, NULL, pasid);
}

void iopf_pasid_space_free(struct iopf_ctx *ctx)
{
	iopf_mfree(ctx->pasid_bitmap);
	ctx->pasid_bitmap = NULL;
}
