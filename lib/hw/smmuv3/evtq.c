// SPDX-License-Identifier: MIT
/*
 * SMMUv3 driver side: the event queue thread and page_response, as Linux's
 * arm_smmu_evtq_thread(), arm_smmu_handle_event() and
 * arm_smmu_page_response().
 *
 * A stall record becomes one page request that is its own group (LAST_PAGE,
 * grpid = STAG, PASID_VALID when SSV, never NEEDS_PASID): there are no
 * partial groups to discard after an overflow. The answer is CMD_RESUME to
 * the master's first StreamID: SUCCESS retries, INVALID and FAILURE abort,
 * anything else terminates. No CMD_SYNC follows: consuming a RESUME already
 * guarantees the transaction ends.
 */
#include <errno.h>

#include "smmuv3-priv.h"

/* queue_remove_raw(): copy the entry at our CONS and publish the new CONS. */
int smmu_queue_remove_raw(struct iopf_smmuv3 *smmu, struct smmu_hwq *q,
			  struct smmu_llq *llq, uint32_t cons_reg,
			  uint64_t *ent, const char *name)
{
	if (q_empty(q->log2size, llq->prod, llq->cons))
		return -EAGAIN;
	smmu_hw_read_entry(smmu, q, llq->cons, ent);
	llq->cons = q_inc(q->log2size, llq->cons);
	smmu_trace(smmu, IOPF_TRACE_HW_DESC_OUT, IOPF_LAYER_DRIVER,
		   IOPF_LAYER_HW, name,
		   (uint32_t)(ent[0] >> (q->ent_dwords == 4 ? 32 : 0)),
		   IOPF_PASID_INVALID, ent, q->ent_dwords * 8);
	smmu_hw_write_reg(smmu, cons_reg, llq->cons);
	return 0;
}

/* queue_sync_prod_in(): read PROD; a toggled OVFLG means entries were lost. */
int smmu_queue_sync_prod_in(struct iopf_smmuv3 *smmu, struct smmu_llq *llq,
			    uint32_t prod_reg)
{
	uint32_t prod = smmu_hw_read_reg(smmu, prod_reg);
	int ret = q_ovf(prod) != q_ovf(llq->prod) ? -EOVERFLOW : 0;

	llq->prod = prod;
	return ret;
}

/* queue_sync_cons_ovf(): acknowledge the overflow, we are up to speed. */
void smmu_queue_sync_cons_ovf(struct iopf_smmuv3 *smmu, struct smmu_hwq *q,
			      struct smmu_llq *llq, uint32_t cons_reg)
{
	if (q_ovf(llq->prod) == q_ovf(llq->cons))
		return;
	llq->cons = q_ovf(llq->prod) | q_wrp(q->log2size, llq->cons) |
		    q_idx(q->log2size, llq->cons);
	smmu_hw_write_reg(smmu, cons_reg, llq->cons);
}

static bool event_is_handled(uint8_t id)
{
	switch (id) {
	case IOPF_SMMUV3_EVT_C_BAD_STE:
	case IOPF_SMMUV3_EVT_F_STREAM_DISABLED:
	case IOPF_SMMUV3_EVT_C_BAD_SUBSTREAMID:
	case IOPF_SMMUV3_EVT_C_BAD_CD:
	case IOPF_SMMUV3_EVT_F_TRANSLATION:
	case IOPF_SMMUV3_EVT_F_ADDR_SIZE:
	case IOPF_SMMUV3_EVT_F_ACCESS:
	case IOPF_SMMUV3_EVT_F_PERMISSION:
		return true;
	default:
		return false;
	}
}

static void stall_to_fault(const struct iopf_smmuv3_event *evt,
			   struct iopf_fault *flt)
{
	uint32_t perm = evt->rnw ? IOPF_FAULT_PERM_READ : IOPF_FAULT_PERM_WRITE;

	if (evt->ind)
		perm |= IOPF_FAULT_PERM_EXEC;
	if (evt->pnu)
		perm |= IOPF_FAULT_PERM_PRIV;
	*flt = (struct iopf_fault){
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = {
			.flags = IOPF_FAULT_PAGE_REQUEST_LAST_PAGE,
			.grpid = evt->stag,
			.perm = perm,
			.addr = evt->iova,
		},
	};
	if (evt->ssv) {
		flt->prm.flags |= IOPF_FAULT_PAGE_REQUEST_PASID_VALID;
		flt->prm.pasid = evt->ssid;
	}
}

/*
 * arm_smmu_handle_event(). Linux reports with streams_mutex held; here the
 * device reference is taken under masters_lock and the lock is dropped
 * before reporting, because the core may call page_response synchronously.
 */
static int arm_smmu_handle_evt(struct iopf_smmuv3 *smmu, const uint64_t raw[4])
{
	struct iopf_device *dev = NULL;
	struct iopf_smmuv3_event evt;
	struct smmu_master *master;
	struct iopf_fault flt;
	int ret;

	iopf_smmuv3_event_decode(raw, &evt);
	if (!event_is_handled(evt.id))
		return -EOPNOTSUPP;
	if (evt.stall)
		stall_to_fault(&evt, &flt);

	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, evt.sid);
	if (master)
		dev = iopf_device_find(smmu->iommu, master->sid);
	pthread_mutex_unlock(&smmu->masters_lock);
	if (!dev)
		return -EINVAL;

	if (evt.stall)
		ret = iopf_report_device_fault(dev, &flt);
	else
		ret = -EOPNOTSUPP; /* unhandled events should be pinned */
	iopf_device_put(dev);
	return ret;
}

/* An event the driver did not handle is dumped (rate-limited in Linux). */
static void arm_smmu_dump_event(struct iopf_smmuv3 *smmu, const uint64_t raw[4],
				int ret)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_BAD_REQUEST,
		.from = IOPF_LAYER_DRIVER,
		.to = IOPF_LAYER_DRIVER,
		.iommu = smmu->name,
		.dev_id = (uint32_t)(raw[0] >> 32),
		.pasid = IOPF_PASID_INVALID,
		.addr = raw[2],
		.code = -1,
		.ret = ret,
		.name = "evt_dump",
		.desc = raw,
		.desc_len = IOPF_SMMUV3_EVT_SIZE,
	};

	if (iopf_trace_on(smmu->ctx))
		iopf_trace_emit(smmu->ctx, &ev);
}

int arm_smmu_evtq_thread(struct iopf_smmuv3 *smmu)
{
	struct smmu_llq *llq = &smmu->evtq_llq;
	uint64_t raw[4];
	int n = 0, ret;

	pthread_mutex_lock(&smmu->evtq_mutex);
	do {
		while (!smmu_queue_remove_raw(smmu, &smmu->evtq, llq,
					      IOPF_SMMUV3_EVTQ_CONS, raw,
					      "evt")) {
			n++;
			ret = arm_smmu_handle_evt(smmu, raw);
			if (ret)
				arm_smmu_dump_event(smmu, raw, ret);
		}
		/* Not much to do on overflow: say so and keep going. */
		if (smmu_queue_sync_prod_in(smmu, llq, IOPF_SMMUV3_EVTQ_PROD) ==
		    -EOVERFLOW)
			smmu_trace(smmu, IOPF_TRACE_OVERFLOW, IOPF_LAYER_DRIVER,
				   IOPF_LAYER_HW, "evtq_lost", 0,
				   IOPF_PASID_INVALID, NULL, 0);
	} while (!q_empty(smmu->evtq.log2size, llq->prod, llq->cons));
	smmu_queue_sync_cons_ovf(smmu, &smmu->evtq, llq, IOPF_SMMUV3_EVTQ_CONS);
	pthread_mutex_unlock(&smmu->evtq_mutex);
	return n;
}

IOPF_EXPORT int iopf_smmuv3_process_evtq(struct iopf_smmuv3 *smmu)
{
	if (!smmu)
		return -EINVAL;
	return arm_smmu_evtq_thread(smmu);
}

static uint8_t resume_action(uint32_t code)
{
	switch (code) {
	case IOPF_PAGE_RESP_INVALID:
	case IOPF_PAGE_RESP_FAILURE:
		return IOPF_SMMUV3_RESUME_ABORT;
	case IOPF_PAGE_RESP_SUCCESS:
		return IOPF_SMMUV3_RESUME_RETRY;
	default:
		return IOPF_SMMUV3_RESUME_TERM;
	}
}

void arm_smmu_page_response(struct iopf_device *dev,
			    const struct iopf_fault *evt,
			    const struct iopf_page_response *resp)
{
	struct iopf_smmuv3 *smmu = iopf_iommu_drvdata(iopf_device_iommu(dev));
	struct iopf_smmuv3_cmd cmd = { .opcode = IOPF_SMMUV3_CMD_RESUME };
	struct smmu_master *master;
	bool stall_enabled = false;

	(void)evt;
	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, iopf_device_id(dev));
	if (master) {
		stall_enabled = master->stall_enabled;
		cmd.sid = master->sid; /* streams[0] */
	}
	pthread_mutex_unlock(&smmu->masters_lock);
	/* Linux WARNs: only stall masters have IOPF enabled. */
	if (!stall_enabled)
		return;

	cmd.stag = (uint16_t)resp->grpid;
	cmd.resp = resume_action(resp->code);
	arm_smmu_cmdq_issue_cmd(smmu, &cmd);
}
