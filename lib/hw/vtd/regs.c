// SPDX-License-Identifier: MIT
/*
 * The VT-d page request hardware: PRQ registers (§11.4.11), the ring of
 * page_req_dsc in memory, page request events (§7.5) and what the
 * hardware does with an arriving Page Request (§7.4, Table 31).
 *
 * The PRQ lives in real memory and PQA holds its address, as the hardware
 * register would hold a physical one. PQH and PQT are byte offsets (bits
 * 18:5). The queue is empty when PQH == PQT and full when PQT is one entry
 * behind PQH, so it holds N - 1 descriptors.
 *
 * Locking: hw_lock protects every register and the ring; see vtd-priv.h.
 */
#include <errno.h>
#include <string.h>

#include "vtd-priv.h"

void vtd_regs_init(struct iopf_vtd *vtd, unsigned int pqs)
{
	pthread_mutex_lock(&vtd->hw_lock);
	/* As intel_iommu_enable_prq(): head = tail = 0, then the address. */
	vtd->pqh = 0;
	vtd->pqt = 0;
	vtd->pqa =
		(uint64_t)(uintptr_t)vtd->prq | (pqs & IOPF_VTD_PQA_PQS_MASK);
	vtd->prs = 0;
	/* Reset value has IM set; the driver unmasks when it requests the IRQ. */
	vtd->pectl = 0;
	pthread_mutex_unlock(&vtd->hw_lock);
}

void vtd_trace_desc(struct iopf_vtd *vtd, uint32_t type, uint32_t from,
		    uint32_t to, const struct iopf_vtd_desc *desc, uint16_t rid)
{
	uint8_t bytes[IOPF_VTD_DESC_SIZE];
	struct iopf_trace_event ev = {
		.type = type,
		.from = from,
		.to = to,
		.iommu = vtd->name,
		.dev_id = rid,
		.pasid = IOPF_PASID_INVALID,
		.code = -1,
		.desc = bytes,
		.desc_len = sizeof(bytes),
	};

	if (!iopf_trace_on(vtd->ctx))
		return;
	iopf_vtd_desc_to_bytes(desc, bytes);
	ev.name = iopf_vtd_desc_name(iopf_vtd_desc_type(desc));
	iopf_trace_emit(vtd->ctx, &ev);
}

/* ---- events (§7.5), hw_lock held --------------------------------------- */

static void prq_send_msi(struct iopf_vtd *vtd)
{
	vtd->pectl &= ~IOPF_VTD_PECTL_IP;
	vtd_stat_inc(vtd, VS_EVENTS);
	vtd_raise_irq(vtd);
}

/* An event only when neither PPR nor PRO was already set. */
static void prq_event(struct iopf_vtd *vtd, uint32_t old_prs)
{
	if (old_prs & (IOPF_VTD_PRS_PPR | IOPF_VTD_PRS_PRO))
		return;
	vtd->pectl |= IOPF_VTD_PECTL_IP;
	if (!(vtd->pectl & IOPF_VTD_PECTL_IM))
		prq_send_msi(vtd);
}

/* ---- registers -------------------------------------------------------- */

IOPF_EXPORT int iopf_vtd_reg_read(struct iopf_vtd *vtd, unsigned int offset,
				  uint64_t *val)
{
	int ret = 0;

	if (!vtd || !val)
		return -EINVAL;
	if (offset == IOPF_VTD_IQH_REG || offset == IOPF_VTD_IQT_REG ||
	    offset == IOPF_VTD_IQA_REG) {
		pthread_mutex_lock(&vtd->qi_lock);
		*val = offset == IOPF_VTD_IQH_REG ? vtd->iqh :
		       offset == IOPF_VTD_IQT_REG ? vtd->iqt :
						    vtd->iqa;
		pthread_mutex_unlock(&vtd->qi_lock);
		return 0;
	}
	pthread_mutex_lock(&vtd->hw_lock);
	switch (offset) {
	case IOPF_VTD_ECAP_REG:
		*val = IOPF_VTD_ECAP_PRS | IOPF_VTD_ECAP_NWFS |
		       IOPF_VTD_ECAP_PDS;
		break;
	case IOPF_VTD_PQH_REG:
		*val = vtd->pqh;
		break;
	case IOPF_VTD_PQT_REG:
		*val = vtd->pqt;
		break;
	case IOPF_VTD_PQA_REG:
		*val = vtd->pqa;
		break;
	case IOPF_VTD_PRS_REG:
		*val = vtd->prs;
		break;
	case IOPF_VTD_PECTL_REG:
		*val = vtd->pectl;
		break;
	case IOPF_VTD_PEDATA_REG:
		*val = vtd->pedata;
		break;
	case IOPF_VTD_PEADDR_REG:
		*val = vtd->peaddr;
		break;
	case IOPF_VTD_PEUADDR_REG:
		*val = vtd->peuaddr;
		break;
	default:
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&vtd->hw_lock);
	return ret;
}

static void reg_write_prs(struct iopf_vtd *vtd, uint64_t val)
{
	vtd->prs &= ~((uint32_t)val & (IOPF_VTD_PRS_PPR | IOPF_VTD_PRS_PRO));
	/* Servicing the conditions also clears a pending interrupt. */
	if (!(vtd->prs & (IOPF_VTD_PRS_PPR | IOPF_VTD_PRS_PRO)))
		vtd->pectl &= ~IOPF_VTD_PECTL_IP;
}

static void reg_write_pectl(struct iopf_vtd *vtd, uint64_t val)
{
	vtd->pectl = (vtd->pectl & IOPF_VTD_PECTL_IP) |
		     ((uint32_t)val & IOPF_VTD_PECTL_IM);
	if (!(vtd->pectl & IOPF_VTD_PECTL_IM) &&
	    (vtd->pectl & IOPF_VTD_PECTL_IP))
		prq_send_msi(vtd);
}

IOPF_EXPORT int iopf_vtd_reg_write(struct iopf_vtd *vtd, unsigned int offset,
				   uint64_t val)
{
	uint64_t mask;
	int ret = 0;

	if (!vtd)
		return -EINVAL;
	pthread_mutex_lock(&vtd->hw_lock);
	mask = IOPF_VTD_PQ_OFF_MASK & (vtd->prq_bytes - 1);
	switch (offset) {
	case IOPF_VTD_PQH_REG:
		vtd->pqh = val & mask;
		break;
	case IOPF_VTD_PQT_REG:
		vtd->pqt = val & mask;
		break;
	case IOPF_VTD_PRS_REG:
		reg_write_prs(vtd, val);
		break;
	case IOPF_VTD_PECTL_REG:
		reg_write_pectl(vtd, val);
		break;
	case IOPF_VTD_PEDATA_REG:
		vtd->pedata = (uint32_t)val & 0xffff;
		break;
	case IOPF_VTD_PEADDR_REG:
		vtd->peaddr = (uint32_t)val & ~3u;
		break;
	case IOPF_VTD_PEUADDR_REG:
		vtd->peuaddr = (uint32_t)val;
		break;
	case IOPF_VTD_ECAP_REG:
	case IOPF_VTD_PQA_REG:
	case IOPF_VTD_IQH_REG:
	case IOPF_VTD_IQT_REG:
	case IOPF_VTD_IQA_REG:
		ret = -EPERM;
		break;
	default:
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&vtd->hw_lock);
	return ret;
}

IOPF_EXPORT size_t iopf_vtd_prq_entries(struct iopf_vtd *vtd)
{
	return vtd ? vtd->prq_bytes / IOPF_VTD_DESC_SIZE : 0;
}

IOPF_EXPORT int iopf_vtd_prq_read(struct iopf_vtd *vtd, size_t index,
				  struct iopf_vtd_desc *desc)
{
	if (!vtd || !desc || index >= vtd->prq_bytes / IOPF_VTD_DESC_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&vtd->hw_lock);
	iopf_vtd_desc_from_bytes(vtd->prq + index * IOPF_VTD_DESC_SIZE, desc);
	pthread_mutex_unlock(&vtd->hw_lock);
	return 0;
}

/* ---- an arriving page request (§7.4) ------------------------------------ */

static void page_req_to_desc(const struct iopf_pci_page_request *pr,
			     struct iopf_vtd_desc *desc)
{
	struct iopf_vtd_page_req f = {
		.pasid_present = pr->pasid_present,
		.rid = pr->rid,
		.pasid = pr->pasid_present ? pr->pasid : 0,
		.exe_req = pr->pasid_present && pr->exe,
		.pm_req = pr->pasid_present && pr->priv,
		.rd_req = pr->read,
		.wr_req = pr->write,
		.lpig = pr->last,
		.prg_index = pr->prgi,
		.addr = pr->addr,
	};

	iopf_vtd_page_req_encode(&f, desc);
}

/* Write at PQT or discard; hw_lock held. Return 0 or -ENOSPC. */
static int prq_accept(struct iopf_vtd *vtd, const struct iopf_vtd_desc *desc)
{
	uint64_t next = (vtd->pqt + IOPF_VTD_DESC_SIZE) & (vtd->prq_bytes - 1);
	uint32_t old = vtd->prs;

	if (vtd->prs & IOPF_VTD_PRS_PRO)
		return -ENOSPC; /* no new event while PRO is set */
	if (next == vtd->pqh) {
		vtd->prs |= IOPF_VTD_PRS_PRO;
		vtd_stat_inc(vtd, VS_OVERFLOWS);
		prq_event(vtd, old);
		return -ENOSPC;
	}
	iopf_vtd_desc_to_bytes(desc, vtd->prq + vtd->pqt);
	vtd->pqt = next;
	vtd->prs |= IOPF_VTD_PRS_PPR;
	prq_event(vtd, old);
	return 0;
}

static void prq_trace_discard(struct iopf_vtd *vtd,
			      const struct iopf_pci_page_request *pr)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_OVERFLOW,
		.from = IOPF_LAYER_ENDPOINT,
		.to = IOPF_LAYER_HW,
		.iommu = vtd->name,
		.dev_id = pr->rid,
		.pasid = pr->pasid_present ? pr->pasid : IOPF_PASID_INVALID,
		.grpid = pr->prgi,
		.addr = pr->addr,
		.code = -1,
		.name = "prq_discard",
	};

	if (iopf_trace_on(vtd->ctx))
		iopf_trace_emit(vtd->ctx, &ev);
}

/* Table 31: a discarded last-in-group request gets Success from hardware. */
static void prq_auto_success(struct iopf_vtd *vtd,
			     const struct iopf_pci_page_request *pr)
{
	struct iopf_pci_prg_response resp = {
		.rid = pr->rid,
		.pasid_present = pr->pasid_present,
		.pasid = pr->pasid_present ? pr->pasid : 0,
		.prgi = pr->prgi,
		.code = IOPF_PCI_PRG_RESP_SUCCESS,
	};
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_RESPONSE_SENT,
		.from = IOPF_LAYER_HW,
		.to = IOPF_LAYER_ENDPOINT,
		.iommu = vtd->name,
		.dev_id = pr->rid,
		.pasid = pr->pasid_present ? pr->pasid : IOPF_PASID_INVALID,
		.grpid = pr->prgi,
		.addr = pr->addr,
		.code = IOPF_PCI_PRG_RESP_SUCCESS,
		.origin = IOPF_ORIGIN_AUTO,
		.name = "auto_success",
	};

	vtd_stat_inc(vtd, VS_AUTO_SUCCESS);
	if (iopf_trace_on(vtd->ctx))
		iopf_trace_emit(vtd->ctx, &ev);
	vtd_deliver_response(vtd, &resp);
}

IOPF_EXPORT int iopf_vtd_page_request(struct iopf_vtd *vtd,
				      const struct iopf_pci_page_request *pr)
{
	struct iopf_vtd_desc desc;
	bool stop_marker;
	int ret;

	if (!vtd || !pr)
		return -EINVAL;
	page_req_to_desc(pr, &desc);
	stop_marker = pr->pasid_present && pr->last && !pr->read && !pr->write;
	/*
	 * Trace under hw_lock: the prq thread needs it to read PQT, so the
	 * descriptor's "in" event always comes before its "out" event.
	 */
	pthread_mutex_lock(&vtd->hw_lock);
	ret = prq_accept(vtd, &desc);
	if (!ret)
		vtd_trace_desc(vtd, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_ENDPOINT,
			       IOPF_LAYER_HW, &desc, pr->rid);
	pthread_mutex_unlock(&vtd->hw_lock);
	if (!ret) {
		vtd_stat_inc(vtd, VS_PRQ_WRITTEN);
		return 0;
	}
	vtd_stat_inc(vtd, VS_PRQ_DISCARDED);
	prq_trace_discard(vtd, pr);
	if (pr->last && !stop_marker)
		prq_auto_success(vtd, pr);
	return ret;
}
