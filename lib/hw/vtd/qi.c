// SPDX-License-Identifier: MIT
/*
 * The VT-d invalidation queue (§6.5.2): a ring of 256-bit descriptors that
 * the hardware processes in order. The model runs them synchronously
 * inside the submission, under qi_lock, which gives the ordering rules of
 * §7.8 for free: page group responses and device-TLB invalidations reach
 * the endpoints in submission order, and a Page-request Drain wait
 * completes after every page request received before it, since a page
 * request is written to the PRQ before the endpoint's posting call returns.
 */
#include <errno.h>
#include <string.h>

#include "vtd-priv.h"

/* Status values of the wait descriptor, as Linux's enum qi_status */
#define QI_IN_USE 1
#define QI_DONE	  2

static int qi_run_grp_resp(struct iopf_vtd *vtd,
			   const struct iopf_vtd_desc *desc)
{
	struct iopf_vtd_page_grp_resp f;
	struct iopf_pci_prg_response resp;
	int ret;

	ret = iopf_vtd_page_grp_resp_decode(desc, &f);
	if (ret)
		return ret;
	resp.rid = f.rid;
	resp.pasid_present = f.pasid_present;
	resp.pasid = f.pasid_present ? f.pasid : 0;
	resp.prgi = f.prg_index;
	resp.code = f.resp_code;
	vtd_stat_inc(vtd, VS_PRG_RESPONSES);
	vtd_deliver_response(vtd, &resp);
	return 0;
}

/*
 * Status writes land in the model's status page, which sits at a fixed
 * "physical" address so that descriptors (and traces) are the same on
 * every run. A write elsewhere is dropped.
 */
static int qi_run_inv_wait(struct iopf_vtd *vtd,
			   const struct iopf_vtd_desc *desc)
{
	struct iopf_vtd_inv_wait f;
	uint64_t off;
	int ret;

	ret = iopf_vtd_inv_wait_decode(desc, &f);
	if (ret)
		return ret;
	/* Fence and drain hold trivially: everything before ran already. */
	off = f.status_addr - VTD_QI_STATUS_BASE;
	if (f.status_write && f.status_addr >= VTD_QI_STATUS_BASE &&
	    off < sizeof(vtd->qi_status))
		vtd->qi_status[off / sizeof(vtd->qi_status[0])] = f.status_data;
	return 0;
}

/*
 * What the hardware does with one descriptor. An unknown type and a
 * reserved bit set (-EBADMSG from the decoders) are the same error to the
 * hardware: an invalid descriptor, Invalidation Queue Error (-EINVAL).
 */
static int qi_run_one(struct iopf_vtd *vtd, const struct iopf_vtd_desc *desc)
{
	uint16_t sid;
	uint32_t pasid;
	bool pp;

	switch (iopf_vtd_desc_type(desc)) {
	case IOPF_VTD_QI_PGRP_RESP_TYPE:
		return qi_run_grp_resp(vtd, desc) ? -EINVAL : 0;
	case IOPF_VTD_QI_IWD_TYPE:
		return qi_run_inv_wait(vtd, desc) ? -EINVAL : 0;
	case IOPF_VTD_QI_IOTLB_TYPE:
	case IOPF_VTD_QI_EIOTLB_TYPE:
		return 0; /* the model caches no translation */
	case IOPF_VTD_QI_DIOTLB_TYPE:
	case IOPF_VTD_QI_DEIOTLB_TYPE:
		vtd_dev_tlb_inv_target(desc, &sid, &pp, &pasid);
		vtd_deliver_ats_inv(vtd, sid, pp, pasid);
		return 0;
	default:
		return -EINVAL; /* Invalidation Queue Error */
	}
}

/* The requester a descriptor is about, for traces. */
static uint16_t qi_desc_rid(const struct iopf_vtd_desc *desc)
{
	uint16_t sid = 0;
	uint32_t pasid;
	bool pp;

	if (iopf_vtd_desc_type(desc) == IOPF_VTD_QI_PGRP_RESP_TYPE)
		return (uint16_t)(desc->qw[0] >> 16);
	vtd_dev_tlb_inv_target(desc, &sid, &pp, &pasid);
	return sid;
}

static void qi_write(struct iopf_vtd *vtd, const struct iopf_vtd_desc *desc)
{
	iopf_vtd_desc_to_bytes(desc, vtd->iq + vtd->iqt);
	vtd->iqt = (vtd->iqt + IOPF_VTD_DESC_SIZE) %
		   (VTD_QI_ENTRIES * IOPF_VTD_DESC_SIZE);
	vtd_trace_desc(vtd, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_DRIVER,
		       IOPF_LAYER_HW, desc, qi_desc_rid(desc));
}

/* The hardware side: fetch at IQH until IQT; qi_lock held. */
static int qi_process(struct iopf_vtd *vtd)
{
	struct iopf_vtd_desc desc;
	int ret = 0;

	while (vtd->iqh != vtd->iqt) {
		iopf_vtd_desc_from_bytes(vtd->iq + vtd->iqh, &desc);
		vtd->iqh = (vtd->iqh + IOPF_VTD_DESC_SIZE) %
			   (VTD_QI_ENTRIES * IOPF_VTD_DESC_SIZE);
		vtd_stat_inc(vtd, VS_QI_DESCS);
		if (ret)
			continue; /* after an error nothing else runs */
		vtd_trace_desc(vtd, IOPF_TRACE_HW_DESC_OUT, IOPF_LAYER_HW,
			       qi_desc_rid(&desc) ? IOPF_LAYER_ENDPOINT :
						    IOPF_LAYER_HW,
			       &desc, qi_desc_rid(&desc));
		ret = qi_run_one(vtd, &desc);
	}
	return ret;
}

int vtd_qi_submit_sync(struct iopf_vtd *vtd, const struct iopf_vtd_desc *descs,
		       unsigned int count, bool wait_drain)
{
	struct iopf_vtd_inv_wait w = {
		.status_write = true,
		.fence = true,
		.prq_drain = wait_drain,
		.status_data = QI_DONE,
	};
	struct iopf_vtd_desc wait_desc;
	size_t slot;
	int ret;

	if (!count || count > VTD_QI_MAX_SUBMIT)
		return -EINVAL;
	pthread_mutex_lock(&vtd->qi_lock);
	/* The wait descriptor's status slot is the IQ slot it sits in. */
	slot = (vtd->iqt / IOPF_VTD_DESC_SIZE + count) % VTD_QI_ENTRIES;
	vtd->qi_status[slot] = QI_IN_USE;
	w.status_addr = VTD_QI_STATUS_BASE + slot * sizeof(vtd->qi_status[0]);
	iopf_vtd_inv_wait_encode(&w, &wait_desc);
	for (unsigned int i = 0; i < count; i++)
		qi_write(vtd, &descs[i]);
	qi_write(vtd, &wait_desc);
	ret = qi_process(vtd);
	if (!ret && vtd->qi_status[slot] != QI_DONE)
		ret = -EIO;
	pthread_mutex_unlock(&vtd->qi_lock);
	return ret;
}

IOPF_EXPORT int iopf_vtd_qi_submit_sync(struct iopf_vtd *vtd,
					const struct iopf_vtd_desc *descs,
					unsigned int count, bool wait_drain)
{
	if (!vtd || !descs)
		return -EINVAL;
	return vtd_qi_submit_sync(vtd, descs, count, wait_drain);
}
