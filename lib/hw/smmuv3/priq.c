// SPDX-License-Identifier: MIT
/*
 * SMMUv3 driver side: the PRI queue thread, as Linux's arm_smmu_priq_thread()
 * and arm_smmu_handle_ppr().
 *
 * Mainline Linux does not use PRI for IOPF on SMMUv3: every PRI request is
 * "unexpected". A last-in-group request (a stop marker too: Linux does not
 * tell them apart) is answered with CMD_PRI_RESP and Linux's PRI_RESP_DENY,
 * which is 0b00 in the Resp field: the specification's Response Failure. A
 * PCIe function that receives Response Failure sets its Response Failure
 * status bit and stops issuing page requests until PRI is re-enabled. An
 * overflow is only noted, then acknowledged.
 */
#include <errno.h>

#include "smmuv3-priv.h"

static void arm_smmu_handle_ppr(struct iopf_smmuv3 *smmu, const uint64_t raw[2])
{
	struct iopf_smmuv3_cmd cmd = { .opcode = IOPF_SMMUV3_CMD_PRI_RESP };
	struct iopf_smmuv3_ppr ppr;

	iopf_smmuv3_ppr_decode(raw, &ppr);
	/* "unexpected PRI request received" */
	smmu_trace(smmu, IOPF_TRACE_BAD_REQUEST, IOPF_LAYER_DRIVER,
		   IOPF_LAYER_DRIVER, "unexpected_pri", ppr.sid,
		   ppr.ssv ? ppr.ssid : IOPF_PASID_INVALID, raw,
		   IOPF_SMMUV3_PRIQ_SIZE);
	if (!ppr.last)
		return;

	cmd.ssv = ppr.ssv;
	cmd.ssid = ppr.ssv ? ppr.ssid : 0;
	cmd.sid = ppr.sid;
	cmd.grpid = ppr.prgi;
	cmd.resp = IOPF_SMMUV3_PRI_RESP_FAILURE; /* Linux's PRI_RESP_DENY */
	smmu_trace_response(smmu, IOPF_LAYER_DRIVER, IOPF_ORIGIN_DRIVER,
			    "pri_resp_deny", ppr.sid,
			    ppr.ssv ? ppr.ssid : IOPF_PASID_INVALID, ppr.prgi,
			    IOPF_PAGE_RESP_FAILURE);
	arm_smmu_cmdq_issue_cmd(smmu, &cmd);
}

int arm_smmu_priq_thread(struct iopf_smmuv3 *smmu)
{
	struct smmu_llq *llq = &smmu->priq_llq;
	uint64_t raw[2];
	int n = 0;

	pthread_mutex_lock(&smmu->priq_mutex);
	do {
		while (!smmu_queue_remove_raw(smmu, &smmu->priq, llq,
					      IOPF_SMMUV3_PRIQ_CONS, raw,
					      "priq")) {
			n++;
			arm_smmu_handle_ppr(smmu, raw);
		}
		/* "PRIQ overflow detected -- requests lost" */
		if (smmu_queue_sync_prod_in(smmu, llq, IOPF_SMMUV3_PRIQ_PROD) ==
		    -EOVERFLOW)
			smmu_trace(smmu, IOPF_TRACE_OVERFLOW, IOPF_LAYER_DRIVER,
				   IOPF_LAYER_HW, "priq_lost", 0,
				   IOPF_PASID_INVALID, NULL, 0);
	} while (!q_empty(smmu->priq.log2size, llq->prod, llq->cons));
	smmu_queue_sync_cons_ovf(smmu, &smmu->priq, llq, IOPF_SMMUV3_PRIQ_CONS);
	pthread_mutex_unlock(&smmu->priq_mutex);
	return n;
}

IOPF_EXPORT int iopf_smmuv3_process_priq(struct iopf_smmuv3 *smmu)
{
	if (!smmu)
		return -EINVAL;
	return arm_smmu_priq_thread(smmu);
}
