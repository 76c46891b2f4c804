// SPDX-License-Identifier: MIT
/*
 * VT-d descriptor layouts, bit for bit: page_req_dsc (§7.4.1),
 * page_grp_resp_dsc (§7.6, Table 32), inv_wait_dsc (§6.5.2.9) and the
 * IOTLB / device-TLB invalidations the §7.10 drain submits. Pure functions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vtd-priv.h"

/* page_req_dsc */
#define PRQ_PP		(1ull << 8)
#define PRQ_RID_SHIFT	16
#define PRQ_PASID_SHIFT 32
#define PRQ_EXR		(1ull << 52)
#define PRQ_PMR		(1ull << 53)
#define PRQ_QW0_RSVD	(0xf0ull | 0xfe00ull | (0x3ffull << 54)) /* 7:4 too */
#define PRQ_RDR		(1ull << 0)
#define PRQ_WRR		(1ull << 1)
#define PRQ_LPIG	(1ull << 2)
#define PRGI_SHIFT	3
#define PRGI_MASK	0x1ffull
#define PAGE_MASK_4K	(~0xfffull)
#define PASID_MASK	0xfffffull

/* page_grp_resp_dsc */
#define PGRP_PP	      (1ull << 4)
#define PGRP_RC_SHIFT 12
#define PGRP_QW0_RSVD (0x1e0ull | (0xfffull << 52))
#define PGRP_QW1_RSVD \
	(~(PRGI_MASK << PRGI_SHIFT | 0x4ull)) /* bit 2: old LPIG, ignored */

/* inv_wait_dsc */
#define IWD_IF	     (1ull << 4)
#define IWD_SW	     (1ull << 5)
#define IWD_FN	     (1ull << 6)
#define IWD_PD	     (1ull << 7)
#define IWD_QW0_RSVD (0xfffff100ull)
#define IWD_QW1_RSVD 0x3ull

/* IOTLB and device-TLB invalidations (the fields the drain uses) */
#define IOTLB_DR	       (1ull << 7)
#define IOTLB_DW	       (1ull << 6)
#define IOTLB_GRAN_DOMAIN      (2ull << 4)
#define EIOTLB_GRAN_NONG_PASID (2ull << 4)
#define DID_SHIFT	       16
#define DIOTLB_SID_SHIFT       32
#define DEIOTLB_SID_SHIFT      16
#define DEV_TLB_ALL_ADDR       ((~0ull >> 1) & PAGE_MASK_4K)
#define DIOTLB_SIZE	       1ull
#define DEIOTLB_SIZE	       (1ull << 11)

static uint64_t pfsid_bits(uint16_t pfsid)
{
	return ((uint64_t)(pfsid & 0xf) << 12) |
	       ((uint64_t)((pfsid >> 4) & 0xfff) << 52);
}

IOPF_EXPORT unsigned int iopf_vtd_desc_type(const struct iopf_vtd_desc *desc)
{
	if (!desc)
		return 0;
	return (unsigned int)((desc->qw[0] & 0xf) | ((desc->qw[0] >> 9) & 0x7)
							    << 4);
}

IOPF_EXPORT const char *iopf_vtd_desc_name(unsigned int type)
{
	switch (type) {
	case IOPF_VTD_PAGE_REQ_TYPE:
		return "page_req_dsc";
	case IOPF_VTD_QI_IOTLB_TYPE:
		return "iotlb_inv_dsc";
	case IOPF_VTD_QI_DIOTLB_TYPE:
		return "dev_tlb_inv_dsc";
	case IOPF_VTD_QI_IWD_TYPE:
		return "inv_wait_dsc";
	case IOPF_VTD_QI_EIOTLB_TYPE:
		return "p_iotlb_inv_dsc";
	case IOPF_VTD_QI_DEIOTLB_TYPE:
		return "p_dev_tlb_inv_dsc";
	case IOPF_VTD_QI_PGRP_RESP_TYPE:
		return "page_grp_resp_dsc";
	default:
		return "unknown_dsc";
	}
}

IOPF_EXPORT void iopf_vtd_desc_to_bytes(const struct iopf_vtd_desc *desc,
					uint8_t bytes[IOPF_VTD_DESC_SIZE])
{
	for (int q = 0; q < 4; q++)
		for (int b = 0; b < 8; b++)
			bytes[q * 8 + b] = (uint8_t)(desc->qw[q] >> (8 * b));
}

IOPF_EXPORT void
iopf_vtd_desc_from_bytes(const uint8_t bytes[IOPF_VTD_DESC_SIZE],
			 struct iopf_vtd_desc *desc)
{
	for (int q = 0; q < 4; q++) {
		desc->qw[q] = 0;
		for (int b = 0; b < 8; b++)
			desc->qw[q] |= (uint64_t)bytes[q * 8 + b] << (8 * b);
	}
}

IOPF_EXPORT int iopf_vtd_page_req_encode(const struct iopf_vtd_page_req *f,
					 struct iopf_vtd_desc *desc)
{
	uint64_t qw0 = IOPF_VTD_PAGE_REQ_TYPE, qw1;

	if (!f || !desc)
		return -EINVAL;
	qw0 |= f->pasid_present ? PRQ_PP : 0;
	qw0 |= (uint64_t)f->rid << PRQ_RID_SHIFT;
	qw0 |= ((uint64_t)f->pasid & PASID_MASK) << PRQ_PASID_SHIFT;
	qw0 |= f->exe_req ? PRQ_EXR : 0;
	qw0 |= f->pm_req ? PRQ_PMR : 0;
	qw1 = f->addr & PAGE_MASK_4K;
	qw1 |= ((uint64_t)f->prg_index & PRGI_MASK) << PRGI_SHIFT;
	qw1 |= f->rd_req ? PRQ_RDR : 0;
	qw1 |= f->wr_req ? PRQ_WRR : 0;
	qw1 |= f->lpig ? PRQ_LPIG : 0;
	desc->qw[0] = qw0;
	desc->qw[1] = qw1;
	desc->qw[2] = 0;
	desc->qw[3] = 0;
	return 0;
}

/*
 * The type is iopf_vtd_desc_type(), as everywhere else (the format helpers,
 * the prq walk); bits 7:4, the rest of Linux's 8-bit type field, are then
 * reserved bits like any other.
 */
IOPF_EXPORT int iopf_vtd_page_req_decode(const struct iopf_vtd_desc *desc,
					 struct iopf_vtd_page_req *f)
{
	uint64_t qw0, qw1;

	if (!desc || !f || iopf_vtd_desc_type(desc) != IOPF_VTD_PAGE_REQ_TYPE)
		return -EINVAL;
	qw0 = desc->qw[0];
	qw1 = desc->qw[1];
	/* Padding too, as the other backends' decoders: memcmp() may compare. */
	memset(f, 0, sizeof(*f));
	f->pasid_present = qw0 & PRQ_PP;
	f->rid = (uint16_t)(qw0 >> PRQ_RID_SHIFT);
	f->pasid = (uint32_t)((qw0 >> PRQ_PASID_SHIFT) & PASID_MASK);
	f->exe_req = qw0 & PRQ_EXR;
	f->pm_req = qw0 & PRQ_PMR;
	f->rd_req = qw1 & PRQ_RDR;
	f->wr_req = qw1 & PRQ_WRR;
	f->lpig = qw1 & PRQ_LPIG;
	f->prg_index = (uint16_t)((qw1 >> PRGI_SHIFT) & PRGI_MASK);
	f->addr = qw1 & PAGE_MASK_4K;
	if ((qw0 & PRQ_QW0_RSVD) || desc->qw[2] || desc->qw[3])
		return -EBADMSG;
	return 0;
}

IOPF_EXPORT int
iopf_vtd_page_grp_resp_encode(const struct iopf_vtd_page_grp_resp *f,
			      struct iopf_vtd_desc *desc)
{
	if (!f || !desc)
		return -EINVAL;
	desc->qw[0] = IOPF_VTD_QI_PGRP_RESP_TYPE |
		      (f->pasid_present ? PGRP_PP : 0) |
		      ((uint64_t)(f->resp_code & 0xf) << PGRP_RC_SHIFT) |
		      ((uint64_t)f->rid << DID_SHIFT) |
		      (((uint64_t)f->pasid & PASID_MASK) << PRQ_PASID_SHIFT);
	desc->qw[1] = ((uint64_t)f->prg_index & PRGI_MASK) << PRGI_SHIFT;
	desc->qw[2] = 0;
	desc->qw[3] = 0;
	return 0;
}

IOPF_EXPORT int iopf_vtd_page_grp_resp_decode(const struct iopf_vtd_desc *desc,
					      struct iopf_vtd_page_grp_resp *f)
{
	uint64_t qw0;

	if (!desc || !f ||
	    iopf_vtd_desc_type(desc) != IOPF_VTD_QI_PGRP_RESP_TYPE)
		return -EINVAL;
	qw0 = desc->qw[0];
	memset(f, 0, sizeof(*f));
	f->pasid_present = qw0 & PGRP_PP;
	f->resp_code = (uint8_t)((qw0 >> PGRP_RC_SHIFT) & 0xf);
	f->rid = (uint16_t)(qw0 >> DID_SHIFT);
	f->pasid = (uint32_t)((qw0 >> PRQ_PASID_SHIFT) & PASID_MASK);
	f->prg_index = (uint16_t)((desc->qw[1] >> PRGI_SHIFT) & PRGI_MASK);
	if ((qw0 & PGRP_QW0_RSVD) || (desc->qw[1] & PGRP_QW1_RSVD) ||
	    desc->qw[2] || desc->qw[3])
		return -EBADMSG;
	return 0;
}

IOPF_EXPORT int iopf_vtd_inv_wait_encode(const struct iopf_vtd_inv_wait *f,
					 struct iopf_vtd_desc *desc)
{
	if (!f || !desc)
		return -EINVAL;
	desc->qw[0] = IOPF_VTD_QI_IWD_TYPE | (f->intr ? IWD_IF : 0) |
		      (f->status_write ? IWD_SW : 0) | (f->fence ? IWD_FN : 0) |
		      (f->prq_drain ? IWD_PD : 0) |
		      ((uint64_t)f->status_data << 32);
	desc->qw[1] = f->status_addr & ~IWD_QW1_RSVD;
	desc->qw[2] = 0;
	desc->qw[3] = 0;
	return 0;
}

IOPF_EXPORT int iopf_vtd_inv_wait_decode(const struct iopf_vtd_desc *desc,
					 struct iopf_vtd_inv_wait *f)
{
	uint64_t qw0;

	if (!desc || !f || iopf_vtd_desc_type(desc) != IOPF_VTD_QI_IWD_TYPE)
		return -EINVAL;
	qw0 = desc->qw[0];
	memset(f, 0, sizeof(*f));
	f->intr = qw0 & IWD_IF;
	f->status_write = qw0 & IWD_SW;
	f->fence = qw0 & IWD_FN;
	f->prq_drain = qw0 & IWD_PD;
	f->status_data = (uint32_t)(qw0 >> 32);
	f->status_addr = desc->qw[1] & ~IWD_QW1_RSVD;
	if ((qw0 & IWD_QW0_RSVD) || (desc->qw[1] & IWD_QW1_RSVD) ||
	    desc->qw[2] || desc->qw[3])
		return -EBADMSG;
	return 0;
}

/* Domain-selective IOTLB, or non-global PASID-based IOTLB within @pasid. */
void vtd_iotlb_inv_desc(struct iopf_vtd_desc *desc, uint16_t did,
			bool pasid_present, uint32_t pasid)
{
	memset(desc, 0, sizeof(*desc));
	if (pasid_present)
		desc->qw[0] =
			IOPF_VTD_QI_EIOTLB_TYPE | EIOTLB_GRAN_NONG_PASID |
			((uint64_t)did << DID_SHIFT) |
			(((uint64_t)pasid & PASID_MASK) << PRQ_PASID_SHIFT);
	else
		desc->qw[0] = IOPF_VTD_QI_IOTLB_TYPE | IOTLB_DR | IOTLB_DW |
			      IOTLB_GRAN_DOMAIN | ((uint64_t)did << DID_SHIFT);
}

/* Device-TLB invalidation of every address (the PF's SID is @sid itself). */
void vtd_dev_tlb_inv_desc(struct iopf_vtd_desc *desc, uint16_t sid,
			  bool pasid_present, uint32_t pasid)
{
	memset(desc, 0, sizeof(*desc));
	if (pasid_present) {
		desc->qw[0] =
			IOPF_VTD_QI_DEIOTLB_TYPE |
			((uint64_t)sid << DEIOTLB_SID_SHIFT) |
			(((uint64_t)pasid & PASID_MASK) << PRQ_PASID_SHIFT) |
			pfsid_bits(sid);
		desc->qw[1] = DEV_TLB_ALL_ADDR | DEIOTLB_SIZE;
	} else {
		desc->qw[0] = IOPF_VTD_QI_DIOTLB_TYPE |
			      ((uint64_t)sid << DIOTLB_SID_SHIFT) |
			      pfsid_bits(sid);
		desc->qw[1] = DEV_TLB_ALL_ADDR | DIOTLB_SIZE;
	}
}

int vtd_dev_tlb_inv_target(const struct iopf_vtd_desc *desc, uint16_t *sid,
			   bool *pasid_present, uint32_t *pasid)
{
	switch (iopf_vtd_desc_type(desc)) {
	case IOPF_VTD_QI_DIOTLB_TYPE:
		*sid = (uint16_t)(desc->qw[0] >> DIOTLB_SID_SHIFT);
		*pasid_present = false;
		*pasid = 0;
		return 0;
	case IOPF_VTD_QI_DEIOTLB_TYPE:
		*sid = (uint16_t)(desc->qw[0] >> DEIOTLB_SID_SHIFT);
		*pasid_present = true;
		*pasid = (uint32_t)((desc->qw[0] >> PRQ_PASID_SHIFT) &
				    PASID_MASK);
		return 0;
	default:
		return -EINVAL;
	}
}

static int format_unknown(const struct iopf_vtd_desc *desc, char *buf,
			  size_t len)
{
	return snprintf(buf, len, "unknown_dsc type=0x%x",
			iopf_vtd_desc_type(desc));
}

/*
 * The format helpers print what the decoders fill: -EBADMSG (reserved bits
 * set) still fills every field, -EINVAL fills none.
 */
static int format_page_req(const struct iopf_vtd_desc *desc, char *buf,
			   size_t len)
{
	struct iopf_vtd_page_req f;

	if (iopf_vtd_page_req_decode(desc, &f) == -EINVAL)
		return format_unknown(desc, buf, len);
	return snprintf(buf, len,
			"page_req_dsc rid=0x%04x pp=%d pasid=0x%x exe=%d pm=%d "
			"rd=%d wr=%d "
			"lpig=%d prgi=%u addr=0x%llx",
			f.rid, f.pasid_present, f.pasid, f.exe_req, f.pm_req,
			f.rd_req, f.wr_req, f.lpig, f.prg_index,
			(unsigned long long)f.addr);
}

static int format_grp_resp(const struct iopf_vtd_desc *desc, char *buf,
			   size_t len)
{
	struct iopf_vtd_page_grp_resp f;

	if (iopf_vtd_page_grp_resp_decode(desc, &f) == -EINVAL)
		return format_unknown(desc, buf, len);
	return snprintf(
		buf, len,
		"page_grp_resp_dsc rid=0x%04x pp=%d pasid=0x%x prgi=%u rc=0x%x",
		f.rid, f.pasid_present, f.pasid, f.prg_index, f.resp_code);
}

static int format_inv_wait(const struct iopf_vtd_desc *desc, char *buf,
			   size_t len)
{
	struct iopf_vtd_inv_wait f;

	if (iopf_vtd_inv_wait_decode(desc, &f) == -EINVAL)
		return format_unknown(desc, buf, len);
	return snprintf(
		buf, len, "inv_wait_dsc if=%d sw=%d fn=%d pd=%d data=0x%x",
		f.intr, f.status_write, f.fence, f.prq_drain, f.status_data);
}

IOPF_EXPORT int iopf_vtd_desc_format(const struct iopf_vtd_desc *desc,
				     char *buf, size_t len)
{
	unsigned int type;
	uint16_t sid = 0;
	uint32_t pasid = 0;
	bool pp = false;

	if (!desc || !buf)
		return -EINVAL;
	type = iopf_vtd_desc_type(desc);
	switch (type) {
	case IOPF_VTD_PAGE_REQ_TYPE:
		return format_page_req(desc, buf, len);
	case IOPF_VTD_QI_PGRP_RESP_TYPE:
		return format_grp_resp(desc, buf, len);
	case IOPF_VTD_QI_IWD_TYPE:
		return format_inv_wait(desc, buf, len);
	case IOPF_VTD_QI_DIOTLB_TYPE:
	case IOPF_VTD_QI_DEIOTLB_TYPE:
		vtd_dev_tlb_inv_target(desc, &sid, &pp, &pasid);
		return snprintf(buf, len, "%s sid=0x%04x pasid=0x%x",
				iopf_vtd_desc_name(type), sid, pp ? pasid : 0);
	case IOPF_VTD_QI_IOTLB_TYPE:
	case IOPF_VTD_QI_EIOTLB_TYPE:
		return snprintf(
			buf, len, "%s did=%u pasid=0x%x",
			iopf_vtd_desc_name(type),
			(unsigned int)((desc->qw[0] >> DID_SHIFT) & 0xffff),
			type == IOPF_VTD_QI_EIOTLB_TYPE ?
				(unsigned int)((desc->qw[0] >> 32) &
					       PASID_MASK) :
				0);
	default:
		return format_unknown(desc, buf, len);
	}
}
