/* SPDX-License-Identifier: MIT */
/*
 * libiopf - shared virtual addressing (the kernel's iommu-sva.c).
 *
 * An iopf_mm models a process address space (struct mm_struct): mappings
 * with R/W/X protection and the pages that are resident. Binding a device
 * to an mm attaches the mm's SVA domain at the mm's PASID, taken from the
 * context's global PASID space at the first bind. Page requests for that
 * PASID are then resolved against the mm on the device's fault queue, as
 * the kernel's SVA handler does: a fault succeeds when its address lies in
 * a mapping that allows every requested R/W/X access, and success makes the
 * page resident.
 *
 * Unbind runs the kernel's teardown order (the backend's remove_dev_pasid
 * drains the hardware, the fault queue is flushed, the routing entry goes,
 * the queue is flushed again): after iopf_sva_unbind_device() returns, no
 * fault for that bind is being handled and none will be. The mm's PASID is
 * freed when the mm is released after its last unbind, so it can never be
 * handed to another mm while a fault for the old one is in flight.
 *
 * Thread safety: every function may be called from any thread. An mm's
 * mappings are protected by the mm's own lock (its "mmap lock"), which the
 * fault path takes too. Bind and unbind may not be called from a handler,
 * a work function or an RCU read-side critical section (unbind waits for
 * the fault queue). After iopf_mm_put() the caller must not use the mm.
 */
#ifndef IOPF_SVA_H
#define IOPF_SVA_H

#include <stdbool.h>
#include <stdint.h>

#include <iopf/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_device;
struct iopf_mm;
struct iopf_sva;

/* Protection bits of a mapping (the values of PROT_READ/WRITE/EXEC) */
#define IOPF_PROT_READ	(1u << 0)
#define IOPF_PROT_WRITE (1u << 1)
#define IOPF_PROT_EXEC	(1u << 2)

/* Address spaces use 4 KiB pages. */
#define IOPF_MM_PAGE_SHIFT 12
#define IOPF_MM_PAGE_SIZE  (1ull << IOPF_MM_PAGE_SHIFT)

/**
 * iopf_mm_new() - create an address space
 * @ctx: the context
 * @out: the new mm, holding the owner's reference; untouched on failure
 *
 * The mm has no mappings and no PASID (iopf_mm_pasid() returns
 * IOPF_PASID_INVALID until the first bind).
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument) or -ENOMEM.
 */
int iopf_mm_new(struct iopf_ctx *ctx, struct iopf_mm **out);

/**
 * iopf_mm_put() - drop the owner's reference: "the process exits"
 * @mm: the mm, or NULL
 *
 * The mm is marked exited and its mappings and resident pages are torn
 * down; faults still routed to it are answered INVALID. Binds keep its
 * memory (and PASID) alive until the last unbind. The caller must not use
 * @mm afterwards.
 *
 * Context: any thread, not from a handler or a work function.
 */
void iopf_mm_put(struct iopf_mm *mm);

/**
 * iopf_mm_map() - add a mapping (mmap with MAP_FIXED_NOREPLACE)
 * @mm: the mm
 * @start: first address, page-aligned
 * @length: size in bytes, page-aligned, not zero
 * @prot: IOPF_PROT_* bits (0 is PROT_NONE)
 *
 * No page of the new mapping is resident: each becomes resident at its
 * first successful fault.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @mm, zero or unaligned @start/@length, a range
 * past the end of the address space, unknown @prot bits, exited mm),
 * -EEXIST (the range overlaps a mapping) or -ENOMEM.
 */
int iopf_mm_map(struct iopf_mm *mm, uint64_t start, uint64_t length,
		unsigned int prot);

/**
 * iopf_mm_unmap() - remove every mapping in a range (munmap)
 * @mm: the mm
 * @start: first address, page-aligned
 * @length: size in bytes, page-aligned, not zero
 *
 * Parts of mappings may be unmapped; mappings are cut or split as needed.
 * The range's resident pages are dropped, so a later access faults again.
 * A range with nothing mapped is not an error.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @mm, zero or unaligned @start/@length, a range
 * past the end of the address space) or -ENOMEM (a mapping had to be split
 * and the mapping table could not grow; nothing changed).
 */
int iopf_mm_unmap(struct iopf_mm *mm, uint64_t start, uint64_t length);

/**
 * iopf_mm_page_present() - whether the page holding an address is resident
 * @mm: the mm
 * @addr: any address
 *
 * Context: any thread.
 * Return: true if a successful fault made the page resident and it has not
 * been unmapped since; false otherwise or if @mm is NULL.
 */
bool iopf_mm_page_present(struct iopf_mm *mm, uint64_t addr);

/**
 * iopf_mm_resident_pages() - how many pages of an mm are resident
 * @mm: the mm
 *
 * Context: any thread.
 * Return: the count, 0 if @mm is NULL.
 */
uint64_t iopf_mm_resident_pages(struct iopf_mm *mm);

/**
 * iopf_mm_pasid() - the PASID of an mm
 * @mm: the mm
 *
 * Context: any thread.
 * Return: the PASID allocated at the first bind, or IOPF_PASID_INVALID
 * before it (or if @mm is NULL).
 */
uint32_t iopf_mm_pasid(const struct iopf_mm *mm);

/**
 * iopf_alloc_global_pasid() - allocate from the context's global PASID space
 * @dev: the device the PASID is for (its context and max_pasids are used)
 * @pasid: where the PASID is stored; untouched on failure
 *
 * The kernel's iommu_alloc_global_pasid(): the lowest free PASID from 1,
 * below the device's max_pasids.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument), -ENOSPC (no free PASID below
 * max_pasids, including devices without PASID support) or -ENOMEM.
 */
int iopf_alloc_global_pasid(struct iopf_device *dev, uint32_t *pasid);

/**
 * iopf_free_global_pasid() - give a PASID back to the global PASID space
 * @ctx: the context
 * @pasid: a PASID from iopf_alloc_global_pasid()
 *
 * Freeing IOPF_NO_PASID, a PASID out of range or a free PASID does nothing.
 *
 * Context: any thread.
 */
void iopf_free_global_pasid(struct iopf_ctx *ctx, uint32_t pasid);

/**
 * iopf_sva_bind_device() - share an address space with a device
 * @dev: the device
 * @mm: the address space
 * @out: the bind handle; untouched on failure
 *
 * Allocates the mm's PASID at its first bind, creates the mm's SVA domain
 * at its first bind, and attaches it to @dev at the PASID with an attach
 * handle, so the device's page requests for the PASID reach the SVA
 * handler. IOPF is enabled on the device by the attach if its IOMMU has a
 * queue set (iopf_iommu_set_queue()); otherwise the device must be on a
 * fault queue already for its faults to be handled. Binding the same
 * (@dev, @mm) again returns the same handle and counts one more use.
 *
 * Context: see the header comment.
 * Return: 0, -EINVAL (NULL argument, objects of different contexts, an
 * exited mm, a device without PASID support, the mm's PASID not below the
 * device's max_pasids), -ENOSPC (no PASID left), -EBUSY (the PASID is
 * taken on @dev by another attachment), -ENOMEM, or the error of the
 * attach (-ENODEV, the backend's).
 */
int iopf_sva_bind_device(struct iopf_device *dev, struct iopf_mm *mm,
			 struct iopf_sva **out);

/**
 * iopf_sva_get_pasid() - the PASID a bind uses
 * @handle: the bind handle
 *
 * Context: any thread.
 * Return: the mm's PASID, or IOPF_PASID_INVALID if @handle is NULL.
 */
uint32_t iopf_sva_get_pasid(const struct iopf_sva *handle);

/**
 * iopf_sva_unbind_device() - drop one use of a bind
 * @handle: the bind handle, or NULL
 *
 * At the last use, detaches the SVA domain from the PASID: the backend's
 * remove_dev_pasid drains the hardware, the fault queue is flushed, the
 * routing entry is removed and the queue flushed again. When it returns,
 * no fault of this bind is being handled and none will be. Then the handle
 * is freed and the mm reference it held is dropped; an mm released that
 * way frees its PASID.
 *
 * Context: see the header comment.
 */
void iopf_sva_unbind_device(struct iopf_sva *handle);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_SVA_H */
