/* SPDX-License-Identifier: MIT */
/*
 * libiopf - plain data of the IO page fault path.
 *
 * These are the records that travel between an IOMMU driver model and the
 * core: the page request a driver reports (struct iopf_fault) and the
 * response the core hands back to the driver (struct iopf_page_response).
 * Values and bit numbers are the kernel's, in the numbering introduced by
 * the v6.9 rework (NEEDS_PASID is bit 2, PRIV_DATA no longer exists).
 *
 * Thread safety: plain data, no functions.
 */
#ifndef IOPF_FAULT_H
#define IOPF_FAULT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOPF_NO_PASID	   0u /* the RID (no-PASID) attachment */
#define IOPF_PASID_INVALID (~0u) /* "no PASID allocated" */
#define IOPF_PASID_BITS	   20 /* PASIDs are 20-bit */

/** enum iopf_fault_type - kind of fault reported (only page requests remain) */
enum iopf_fault_type {
	IOPF_FAULT_PAGE_REQ = 1,
};

/* Permission bits of iopf_fault_page_request.perm */
#define IOPF_FAULT_PERM_READ  (1u << 0)
#define IOPF_FAULT_PERM_WRITE (1u << 1)
#define IOPF_FAULT_PERM_EXEC  (1u << 2)
#define IOPF_FAULT_PERM_PRIV  (1u << 3)

/* Flag bits of iopf_fault_page_request.flags */
#define IOPF_FAULT_PAGE_REQUEST_PASID_VALID  (1u << 0)
#define IOPF_FAULT_PAGE_REQUEST_LAST_PAGE    (1u << 1)
#define IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID (1u << 2)

/**
 * struct iopf_fault_page_request - one page request (PCIe PRI or a stall)
 * @flags: IOPF_FAULT_PAGE_REQUEST_* and IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID
 * @pasid: process address space ID, meaningful when PASID_VALID is set
 * @grpid: page request group index (PRGI, or the stall tag)
 * @perm: requested permissions, IOPF_FAULT_PERM_*
 * @addr: faulting address
 * @private_data: driver data carried along unchanged
 */
struct iopf_fault_page_request {
	uint32_t flags;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t perm;
	uint64_t addr;
	uint64_t private_data[2];
};

/**
 * struct iopf_fault - a fault as reported by a driver
 * @type: enum iopf_fault_type
 * @prm: the page request
 */
struct iopf_fault {
	uint32_t type;
	struct iopf_fault_page_request prm;
};

/** enum iopf_page_response_code - the generic response codes */
enum iopf_page_response_code {
	IOPF_PAGE_RESP_SUCCESS =
		0, /* handled; retry the access (PCIe Success) */
	IOPF_PAGE_RESP_INVALID =
		1, /* could not handle; don't retry (Invalid Request) */
	IOPF_PAGE_RESP_FAILURE = 2, /* general error (Response Failure) */
};

/**
 * struct iopf_page_response - what the core asks a driver to send
 * @pasid: PASID of the group's last page request
 * @grpid: group index of the group's last page request
 * @code: enum iopf_page_response_code
 */
struct iopf_page_response {
	uint32_t pasid;
	uint32_t grpid;
	uint32_t code;
};

#ifdef __cplusplus
}
#endif

#endif /* IOPF_FAULT_H */
