/* SPDX-License-Identifier: MIT */
/*
 * The address-space model behind struct iopf_mm (the kernel's mm_struct).
 *
 * Lock order: mm->bind_lock (binds, SVA domain, PASID assignment; held
 * across attach and detach, as the kernel's iommu_sva_lock), then the
 * device's group mutex (core), then mm->lock (the "mmap lock": mappings and
 * resident pages; taken by the fault work, so never held across a detach).
 */
#ifndef IOPF_SVA_MM_H
#define IOPF_SVA_MM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <iopf/sva.h>

#include "iommu-priv.h"
#include "pageset.h"

/* One mapping (a VMA): [start, end) with its protection. */
struct iopf_vma {
	uint64_t start;
	uint64_t end;
	unsigned int prot;
};

struct iopf_mm {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	/* the owner's reference, one per bind, one for the SVA domain */
	atomic_uint users;
	atomic_bool exited;
	_Atomic uint32_t pasid;
	/* the mmap lock */
	pthread_mutex_t lock;
	struct iopf_vma *vmas; /* sorted by start, not overlapping */
	size_t nr_vmas;
	size_t max_vmas;
	struct iopf_pageset resident;
	/* SVA state (iommu-sva.c) */
	pthread_mutex_t bind_lock;
	struct cds_list_head binds; /* struct iopf_sva.mm_node */
	struct iopf_domain *domain; /* the mm's SVA domain while bound */
};

/* A reference for a bind or a domain (the kernel's mmgrab). */
void iopf_mm_get(struct iopf_mm *mm);
/* Drops it; the last one frees the mm and its PASID (mmdrop). */
void iopf_mm_drop(struct iopf_mm *mm);

/*
 * The fault side of the mm (handle_mm_fault after the SVA access check):
 * 0 when @addr lies in a mapping that allows every R/W/X bit of @perm (no
 * bit: a read) and its page is now resident; -ESRCH for an exited mm,
 * -EFAULT with no mapping there, -EACCES for a missing permission, -ENOMEM.
 */
int iopf_mm_handle_fault(struct iopf_mm *mm, uint64_t addr, uint32_t perm);

/* An ATS walk: 0 if resident and @perm allowed, else -EFAULT. */
int iopf_mm_translate(struct iopf_mm *mm, uint64_t addr, uint32_t perm);

/* Calls fn for each resident page (by address), under the mm's lock. */
void iopf_mm_for_each_resident(struct iopf_mm *mm,
			       void (*fn)(uint64_t addr, void *priv),
			       void *priv);

#endif /* IOPF_SVA_MM_H */
