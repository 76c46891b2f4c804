// SPDX-License-Identifier: MIT
/*
 * AMD IOMMU driver side, as Linux's drivers/iommu/amd/ppr.c and the PPR-log
 * interrupt handler of iommu.c.
 *
 * amd_iommu_poll_ppr_log() walks head..tail. For each slot it polls until
 * the Type field is non-zero (the erratum: the interrupt can come before the
 * entry is in memory), gives up after loop_timeout reads, copies the entry,
 * zeroes the slot, writes the new head and only then handles the copy.
 */
#include <errno.h>
#include <string.h>

#include "amd-priv.h"

static void ppr_trace(struct iopf_amd *amd, const char *why,
		      const struct iopf_amd_ppr_entry *e, const uint64_t raw[2])
{
	amd_trace(amd, IOPF_TRACE_BAD_REQUEST, IOPF_LAYER_DRIVER,
		  IOPF_LAYER_DRIVER, why, e->devid, e->pasid, raw,
		  IOPF_AMD_PPR_ENTRY_SIZE);
}

static uint32_t ppr_flag_to_fault_perm(uint16_t flags)
{
	uint32_t perm = 0;

	if (flags & IOPF_AMD_PPR_FLAG_READ)
		perm |= IOPF_FAULT_PERM_READ;
	if (flags & IOPF_AMD_PPR_FLAG_WRITE)
		perm |= IOPF_FAULT_PERM_WRITE;
	if (flags & IOPF_AMD_PPR_FLAG_EXEC)
		perm |= IOPF_FAULT_PERM_EXEC;
	if (!(flags & IOPF_AMD_PPR_FLAG_US))
		perm |= IOPF_FAULT_PERM_PRIV;
	return perm;
}

/* GN = 0 ("request ignored") or the reserved-format flag: not valid. */
static bool ppr_is_valid(const struct iopf_amd_ppr_entry *e)
{
	return (e->flags & IOPF_AMD_PPR_FLAG_GN) &&
	       !(e->flags & IOPF_AMD_PPR_FLAG_RVSD);
}

/* "Nobody cared, abort": the generic FAILURE, passed through as status 2. */
static void ppr_abort(struct iopf_amd *amd, const struct iopf_amd_ppr_entry *e)
{
	amd_trace_response(amd, IOPF_LAYER_DRIVER, IOPF_ORIGIN_DRIVER,
			   "ppr_failure", e->devid, e->pasid, e->prgi,
			   IOPF_PAGE_RESP_FAILURE);
	amd_iommu_complete_ppr(amd, e->devid, e->pasid, IOPF_PAGE_RESP_FAILURE,
			       e->prgi);
}

static void iommu_call_iopf_notifier(struct iopf_amd *amd,
				     const uint64_t raw[2])
{
	struct iopf_amd_ppr_entry e;
	struct iopf_device *dev;
	struct iopf_fault evt;

	iopf_amd_ppr_decode(raw, &e);
	if (e.type != IOPF_AMD_PPR_REQ_FAULT) {
		ppr_trace(amd, "ppr_unknown_request", &e, raw);
		return;
	}
	dev = iopf_device_find(amd->iommu, e.devid);
	if (!dev) {
		ppr_trace(amd, "ppr_no_device", &e, raw);
		return;
	}
	if (!ppr_is_valid(&e) || e.pasid == 0 ||
	    e.pasid >= iopf_device_max_pasids(dev)) {
		ppr_trace(amd, "ppr_invalid", &e, raw);
		ppr_abort(amd, &e);
		iopf_device_put(dev);
		return;
	}

	evt = (struct iopf_fault){
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = {
			.flags = IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID |
				 IOPF_FAULT_PAGE_REQUEST_PASID_VALID,
			.pasid = e.pasid,
			.grpid = e.prgi,
			.perm = ppr_flag_to_fault_perm(e.flags),
			.addr = e.addr & ~0xfffull,
		},
	};
	if (e.last)
		evt.prm.flags |= IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
	iopf_report_device_fault(dev, &evt); /* the return value is ignored */
	iopf_device_put(dev);
}

static uint8_t slot_type(const uint64_t raw[2])
{
	return raw[0] >> 60;
}

int amd_iommu_poll_ppr_log(struct iopf_amd *amd)
{
	uint32_t head, tail;
	uint64_t raw[2];
	int n = 0;

	pthread_mutex_lock(&amd->ppr_mutex);
	head = (uint32_t)amd_hw_read_reg(amd, IOPF_AMD_MMIO_PPR_HEAD);
	tail = (uint32_t)amd_hw_read_reg(amd, IOPF_AMD_MMIO_PPR_TAIL);
	while (head != tail) {
		for (unsigned int i = 0; i < amd->loop_timeout; i++) {
			amd_hw_read_ppr_slot(amd, head, raw);
			if (slot_type(raw))
				break;
		}
		amd_hw_zero_ppr_slot(amd, head);
		amd_trace(amd, IOPF_TRACE_HW_DESC_OUT, IOPF_LAYER_DRIVER,
			  IOPF_LAYER_HW, "ppr_log", raw[0] & 0xffff,
			  IOPF_PASID_INVALID, raw, IOPF_AMD_PPR_ENTRY_SIZE);
		head = (head + IOPF_AMD_PPR_ENTRY_SIZE) % amd->ppr_log_size;
		amd_hw_write_reg(amd, IOPF_AMD_MMIO_PPR_HEAD, head);
		iommu_call_iopf_notifier(amd, raw);
		n++;
	}
	pthread_mutex_unlock(&amd->ppr_mutex);
	return n;
}

/*
 * amd_iommu_restart_ppr_log(): nothing to do while PprRun is set; else
 * PprLogEn and PprIntEn off, clear PprOverflow, PprIntEn and PprLogEn on.
 */
static void amd_iommu_restart_ppr_log(struct iopf_amd *amd)
{
	uint64_t ctrl;

	if (amd_hw_read_reg(amd, IOPF_AMD_MMIO_STATUS) &
	    IOPF_AMD_STATUS_PPR_RUN)
		return;
	amd_trace(amd, IOPF_TRACE_OVERFLOW, IOPF_LAYER_DRIVER, IOPF_LAYER_HW,
		  "ppr_log_restart", 0, IOPF_PASID_INVALID, NULL, 0);
	ctrl = amd_hw_read_reg(amd, IOPF_AMD_MMIO_CONTROL);
	ctrl &= ~IOPF_AMD_CONTROL_PPRLOG_EN;
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
	ctrl &= ~IOPF_AMD_CONTROL_PPRINT_EN;
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_STATUS,
			 IOPF_AMD_STATUS_PPR_OVERFLOW);
	ctrl |= IOPF_AMD_CONTROL_PPRINT_EN;
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
	ctrl |= IOPF_AMD_CONTROL_PPRLOG_EN;
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
	pthread_mutex_lock(&amd->hw_lock);
	amd->stats.restarts++;
	pthread_mutex_unlock(&amd->hw_lock);
}

/* amd_iommu_handle_irq() for the PPR log. */
int amd_iommu_handle_ppr_irq(struct iopf_amd *amd)
{
	const uint64_t mask =
		IOPF_AMD_STATUS_PPR_INT | IOPF_AMD_STATUS_PPR_OVERFLOW;
	uint64_t status = amd_hw_read_reg(amd, IOPF_AMD_MMIO_STATUS);
	int n = 0;

	while (status & mask) {
		/* enable the interrupt sources again (write 1 to clear) */
		amd_hw_write_reg(amd, IOPF_AMD_MMIO_STATUS, mask);
		n += amd_iommu_poll_ppr_log(amd);
		if (status & IOPF_AMD_STATUS_PPR_OVERFLOW)
			amd_iommu_restart_ppr_log(amd);
		status = amd_hw_read_reg(amd, IOPF_AMD_MMIO_STATUS);
	}
	return n;
}

IOPF_EXPORT int iopf_amd_handle_ppr_irq(struct iopf_amd *amd)
{
	if (!amd)
		return -EINVAL;
	return amd_iommu_handle_ppr_irq(amd);
}

IOPF_EXPORT int iopf_amd_poll_ppr_log(struct iopf_amd *amd)
{
	if (!amd)
		return -EINVAL;
	return amd_iommu_poll_ppr_log(amd);
}

/* ---- commands --------------------------------------------------------- */

int amd_iommu_queue_command(struct iopf_amd *amd, const uint32_t raw[4])
{
	uint32_t tail, next, head;
	const uint32_t size = AMD_CMD_ENTRIES * IOPF_AMD_CMD_SIZE;

	pthread_mutex_lock(&amd->cmd_mutex);
	for (;;) {
		tail = (uint32_t)amd_hw_read_reg(amd, IOPF_AMD_MMIO_CMD_TAIL);
		head = (uint32_t)amd_hw_read_reg(amd, IOPF_AMD_MMIO_CMD_HEAD);
		next = (tail + IOPF_AMD_CMD_SIZE) % size;
		if (next != head)
			break;
		amd_hw_cmd_consume(amd); /* full: let the hardware catch up */
	}
	pthread_mutex_lock(&amd->hw_lock);
	memcpy(amd->cmd_buf + tail / 4, raw, IOPF_AMD_CMD_SIZE);
	amd_trace(amd, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_DRIVER, IOPF_LAYER_HW,
		  "complete_ppr", raw[0] & 0xffff, IOPF_PASID_INVALID, raw,
		  IOPF_AMD_CMD_SIZE);
	pthread_mutex_unlock(&amd->hw_lock);
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CMD_TAIL, next);
	pthread_mutex_unlock(&amd->cmd_mutex);
	amd_hw_cmd_consume(amd);
	return 0;
}

/*
 * amd_iommu_complete_ppr(): DeviceID; the PASID and GN only when the
 * device wants the PASID back (pri_tlp); tag = PRG index; the status is
 * the caller's code, unchanged.
 */
int amd_iommu_complete_ppr(struct iopf_amd *amd, uint16_t devid, uint32_t pasid,
			   uint32_t status, uint32_t tag)
{
	struct iopf_amd_complete_ppr c = {
		.devid = devid,
		.tag = tag & 0x1ff,
		.status = status & 0xf,
	};
	struct amd_dev *d;
	uint32_t raw[4];

	pthread_mutex_lock(&amd->devs_lock);
	d = amd_find_dev_locked(amd, devid);
	if (d && d->pri_tlp) {
		c.gn = true;
		c.pasid = pasid & 0xfffff;
	}
	pthread_mutex_unlock(&amd->devs_lock);
	iopf_amd_complete_ppr_encode(&c, raw);
	return amd_iommu_queue_command(amd, raw);
}

void amd_iommu_page_response(struct iopf_device *dev,
			     const struct iopf_fault *evt,
			     const struct iopf_page_response *resp)
{
	struct iopf_amd *amd = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)evt;
	amd_iommu_complete_ppr(amd, (uint16_t)iopf_device_id(dev), resp->pasid,
			       resp->code, resp->grpid);
}
