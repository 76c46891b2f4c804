// SPDX-License-Identifier: MIT
/*
 * The address-space model (the parts of mm_struct and the VMA tree that
 * the SVA fault path uses): sorted, non-overlapping mappings with R/W/X
 * protection, the resident pages, a reference count and "exited".
 *
 * References follow the kernel's two counters folded into one: the owner's
 * reference is mm_users (dropping it is exit_mmap: the mappings go and the
 * mm is marked exited), binds and the SVA domain hold mm_count references
 * (mmgrab), which keep the structure and its PASID alive.
 */
#include <errno.h>
#include <string.h>

#include "mm.h"

#define PAGE_MASK (IOPF_MM_PAGE_SIZE - 1)
#define PROT_ALL  (IOPF_PROT_READ | IOPF_PROT_WRITE | IOPF_PROT_EXEC)

/* ---- lifetime -------------------------------------------------------- */

static void mm_exit_mmap(struct iopf_mm *mm)
{
	pthread_mutex_lock(&mm->lock);
	atomic_store(&mm->exited, true);
	iopf_mfree(mm->vmas);
	mm->vmas = NULL;
	mm->nr_vmas = 0;
	mm->max_vmas = 0;
	iopf_pageset_fini(&mm->resident);
	pthread_mutex_unlock(&mm->lock);
}

static void mm_release(struct iopf_mm *mm)
{
	uint32_t pasid = atomic_load(&mm->pasid);

	iopf_ctx_unlink(mm->ctx, &mm->member);
	/* Every bind is gone and its faults flushed: the PASID may be reused. */
	if (pasid != IOPF_PASID_INVALID)
		iopf_free_global_pasid(mm->ctx, pasid);
	iopf_mfree(mm->vmas);
	iopf_pageset_fini(&mm->resident);
	pthread_mutex_destroy(&mm->lock);
	pthread_mutex_destroy(&mm->bind_lock);
	iopf_mfree(mm);
}

void iopf_mm_get(struct iopf_mm *mm)
{
	atomic_fetch_add(&mm->users, 1);
}

void iopf_mm_drop(struct iopf_mm *mm)
{
	if (atomic_fetch_sub(&mm->users, 1) == 1)
		mm_release(mm);
}

/*
 * iopf_ctx_free(): binds and the SVA domain were created after the mm and
 * are gone already, so this drops the owner's reference if the user did not.
 */
static void mm_ctx_destroy(struct iopf_ctx_member *member)
{
	struct iopf_mm *mm = container_of(member, struct iopf_mm, member);

	if (!atomic_load(&mm->exited)) {
		mm_exit_mmap(mm);
		iopf_mm_drop(mm);
	}
}

IOPF_EXPORT int iopf_mm_new(struct iopf_ctx *ctx, struct iopf_mm **out)
{
	struct iopf_mm *mm;

	if (!ctx || !out)
		return -EINVAL;
	mm = iopf_zalloc(sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->ctx = ctx;
	atomic_init(&mm->users, 1);
	atomic_init(&mm->exited, false);
	atomic_init(&mm->pasid, IOPF_PASID_INVALID);
	pthread_mutex_init(&mm->lock, NULL);
	pthread_mutex_init(&mm->bind_lock, NULL);
	iopf_pageset_init(&mm->resident);
	CDS_INIT_LIST_HEAD(&mm->binds);
	iopf_ctx_link(ctx, &mm->member, mm_ctx_destroy);
	*out = mm;
	return 0;
}

IOPF_EXPORT void iopf_mm_put(struct iopf_mm *mm)
{
	if (!mm)
		return;
	mm_exit_mmap(mm);
	iopf_mm_drop(mm);
}

IOPF_EXPORT uint32_t iopf_mm_pasid(const struct iopf_mm *mm)
{
	return mm ? atomic_load(&mm->pasid) : IOPF_PASID_INVALID;
}

/* ---- mappings -------------------------------------------------------- */

/* Index of the first mapping ending after @addr (nr_vmas if none). */
static size_t vma_index_after(const struct iopf_mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The kernel's vma_lookup(): the mapping containing @addr, or NULL. */
static struct iopf_vma *vma_lookup(struct iopf_mm *mm, uint64_t addr)
{
	size_t i = vma_index_after(mm, addr);

	if (i < mm->nr_vmas && mm->vmas[i].start <= addr)
		return &mm->vmas[i];
	return NULL;
}

static int vma_reserve(struct iopf_mm *mm, size_t nr)
{
	struct iopf_vma *v;
	size_t max;

	if (nr <= mm->max_vmas)
		return 0;
	max = mm->max_vmas ? mm->max_vmas * 2 : 8;
	v = iopf_calloc(max, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (mm->nr_vmas)
		memcpy(v, mm->vmas, mm->nr_vmas * sizeof(*v));
	iopf_mfree(mm->vmas);
	mm->vmas = v;
	mm->max_vmas = max;
	return 0;
}

static void vma_insert_at(struct iopf_mm *mm, size_t i,
			  const struct iopf_vma *vma)
{
	memmove(&mm->vmas[i + 1], &mm->vmas[i],
		(mm->nr_vmas - i) * sizeof(*vma));
	mm->vmas[i] = *vma;
	mm->nr_vmas++;
}

static int range_check(uint64_t start, uint64_t length, uint64_t *end)
{
	if (!length || (start & PAGE_MASK) || (length & PAGE_MASK))
		return -EINVAL;
	*end = start + length;
	/* An end of 2^64 wraps to 0 and is refused with the rest. */
	if (*end <= start)
		return -EINVAL;
	return 0;
}

IOPF_EXPORT int iopf_mm_map(struct iopf_mm *mm, uint64_t start, uint64_t length,
			    unsigned int prot)
{
	struct iopf_vma vma = { .start = start, .prot = prot };
	size_t i;
	int ret;

	if (!mm || (prot & ~PROT_ALL))
		return -EINVAL;
	ret = range_check(start, length, &vma.end);
	if (ret)
		return ret;
	pthread_mutex_lock(&mm->lock);
	if (atomic_load(&mm->exited)) {
		ret = -EINVAL;
		goto out;
	}
	i = vma_index_after(mm, start);
	if (i < mm->nr_vmas && mm->vmas[i].start < vma.end) {
		ret = -EEXIST;
		goto out;
	}
	ret = vma_reserve(mm, mm->nr_vmas + 1);
	if (!ret)
		vma_insert_at(mm, i, &vma);
out:
	pthread_mutex_unlock(&mm->lock);
	return ret;
}

/* Remove [start, end) from the mappings starting at index @i. */
static void vma_cut(struct iopf_mm *mm, size_t i, uint64_t start, uint64_t end)
{
	size_t j;

	if (mm->vmas[i].start < start) {
		mm->vmas[i].end = start; /* keep the head */
		i++;
	}
	for (j = i; j < mm->nr_vmas && mm->vmas[j].end <= end; j++)
		;
	if (j < mm->nr_vmas && mm->vmas[j].start < end)
		mm->vmas[j].start = end; /* keep the tail */
	memmove(&mm->vmas[i], &mm->vmas[j],
		(mm->nr_vmas - j) * sizeof(mm->vmas[0]));
	mm->nr_vmas -= j - i;
}

IOPF_EXPORT int iopf_mm_unmap(struct iopf_mm *mm, uint64_t start,
			      uint64_t length)
{
	uint64_t end;
	size_t i;
	int ret;

	if (!mm)
		return -EINVAL;
	ret = range_check(start, length, &end);
	if (ret)
		return ret;
	pthread_mutex_lock(&mm->lock);
	i = vma_index_after(mm, start);
	if (i == mm->nr_vmas || mm->vmas[i].start >= end)
		goto out; /* nothing mapped there */
	if (mm->vmas[i].start < start && mm->vmas[i].end > end) {
		/* A hole in the middle of one mapping: split it. */
		struct iopf_vma tail = mm->vmas[i];

		ret = vma_reserve(mm, mm->nr_vmas + 1);
		if (ret)
			goto out;
		tail.start = end;
		mm->vmas[i].end = start;
		vma_insert_at(mm, i + 1, &tail);
	} else {
		vma_cut(mm, i, start, end);
	}
	iopf_pageset_clear_range(&mm->resident, start >> IOPF_MM_PAGE_SHIFT,
				 end >> IOPF_MM_PAGE_SHIFT);
out:
	pthread_mutex_unlock(&mm->lock);
	return ret;
}

/* ---- residency and faults ------------------------------------------- */

IOPF_EXPORT bool iopf_mm_page_present(struct iopf_mm *mm, uint64_t addr)
{
	bool present;

	if (!mm)
		return false;
	pthread_mutex_lock(&mm->lock);
	present = iopf_pageset_test(&mm->resident, addr >> IOPF_MM_PAGE_SHIFT);
	pthread_mutex_unlock(&mm->lock);
	return present;
}

IOPF_EXPORT uint64_t iopf_mm_resident_pages(struct iopf_mm *mm)
{
	uint64_t n;

	if (!mm)
		return 0;
	pthread_mutex_lock(&mm->lock);
	n = mm->resident.nr_pages;
	pthread_mutex_unlock(&mm->lock);
	return n;
}

static unsigned int perm_to_prot(uint32_t perm)
{
	unsigned int prot = 0;

	if (perm & IOPF_FAULT_PERM_READ)
		prot |= IOPF_PROT_READ;
	if (perm & IOPF_FAULT_PERM_WRITE)
		prot |= IOPF_PROT_WRITE;
	if (perm & IOPF_FAULT_PERM_EXEC)
		prot |= IOPF_PROT_EXEC;
	return prot;
}

int iopf_mm_handle_fault(struct iopf_mm *mm, uint64_t addr, uint32_t perm)
{
	struct iopf_vma *vma;
	int ret;

	pthread_mutex_lock(&mm->lock);
	if (atomic_load(&mm->exited)) {
		ret = -ESRCH;
		goto out;
	}
	vma = vma_lookup(mm, addr);
	if (!vma) {
		ret = -EFAULT;
		goto out;
	}
	/*
	 * The SVA access check: every requested R/W/X right must be in the
	 * mapping. PRIV only changes the fault flags (no FAULT_FLAG_USER),
	 * and a request with no R/W/X bit passes and is faulted as a read.
	 */
	if (perm_to_prot(perm) & ~vma->prot) {
		ret = -EACCES;
		goto out;
	}
	ret = iopf_pageset_add(&mm->resident, addr >> IOPF_MM_PAGE_SHIFT);
out:
	pthread_mutex_unlock(&mm->lock);
	return ret;
}

int iopf_mm_translate(struct iopf_mm *mm, uint64_t addr, uint32_t perm)
{
	struct iopf_vma *vma;
	int ret = -EFAULT;

	pthread_mutex_lock(&mm->lock);
	vma = vma_lookup(mm, addr);
	if (vma && !(perm_to_prot(perm) & ~vma->prot) &&
	    iopf_pageset_test(&mm->resident, addr >> IOPF_MM_PAGE_SHIFT))
		ret = 0;
	pthread_mutex_unlock(&mm->lock);
	return ret;
}

struct resident_walk {
	void (*fn)(uint64_t addr, void *priv);
	void *priv;
};

static void resident_page(uint64_t page, void *priv)
{
	struct resident_walk *w = priv;

	w->fn(page << IOPF_MM_PAGE_SHIFT, w->priv);
}

void iopf_mm_for_each_resident(struct iopf_mm *mm,
			       void (*fn)(uint64_t addr, void *priv),
			       void *priv)
{
	struct resident_walk w = { .fn = fn, .priv = priv };

	pthread_mutex_lock(&mm->lock);
	iopf_pageset_for_each(&mm->resident, resident_page, &w);
	pthread_mutex_unlock(&mm->lock);
}
