// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 command queue: the driver's issue path and the hardware's
 * consumption of CMD_PRI_RESP, CMD_RESUME, CMD_STALL_TERM and CMD_SYNC.
 *
 * The hardware consumes synchronously, in the thread that rang the
 * doorbell, one command at a time under hw_lock. What a command does outside
 * the SMMU (a PRG Response to an endpoint, a retried transaction) runs after
 * hw_lock is dropped. An illegal command stops consumption with
 * CMDQ_CONS.ERR = CERROR_ILL and GERROR.CMDQ_ERR toggled, until the driver
 * replaces it with a CMD_SYNC and acknowledges GERRORN, as Linux's
 * arm_smmu_cmdq_skip_err() does.
 */
#include <errno.h>
#include <string.h>

#include "smmuv3-priv.h"

#define CMDQ_ERR_FIELD (IOPF_SMMUV3_CMDQ_ERR_MASK << IOPF_SMMUV3_CMDQ_ERR_SHIFT)

static const char *cmd_name(uint8_t opcode)
{
	switch (opcode) {
	case IOPF_SMMUV3_CMD_PRI_RESP:
		return "cmd_pri_resp";
	case IOPF_SMMUV3_CMD_RESUME:
		return "cmd_resume";
	case IOPF_SMMUV3_CMD_STALL_TERM:
		return "cmd_stall_term";
	case IOPF_SMMUV3_CMD_SYNC:
		return "cmd_sync";
	default:
		return "cmd";
	}
}

static uint8_t pri_resp_to_pci(uint8_t resp)
{
	switch (resp) {
	case IOPF_SMMUV3_PRI_RESP_SUCCESS:
		return 0x0;
	case IOPF_SMMUV3_PRI_RESP_INVALID:
		return 0x1;
	default:
		return 0xf; /* Response Failure */
	}
}

static bool cmd_is_legal(const struct iopf_smmuv3 *smmu,
			 const struct iopf_smmuv3_cmd *cmd)
{
	switch (cmd->opcode) {
	case IOPF_SMMUV3_CMD_PRI_RESP:
		return smmu->pri;
	case IOPF_SMMUV3_CMD_RESUME:
	case IOPF_SMMUV3_CMD_STALL_TERM:
		return smmu->stall_model != IOPF_SMMUV3_STALL_MODEL_TERM;
	default:
		return true;
	}
}

static void cmd_execute_locked(struct iopf_smmuv3 *smmu,
			       const struct iopf_smmuv3_cmd *cmd,
			       struct smmu_effect *fx)
{
	switch (cmd->opcode) {
	case IOPF_SMMUV3_CMD_PRI_RESP:
		*fx = (struct smmu_effect){
			.kind = SMMU_FX_PRG_RESP,
			.sid = cmd->sid,
			.prgi = cmd->grpid,
			.code = pri_resp_to_pci(cmd->resp),
			.pasid_valid = cmd->ssv,
			.pasid = cmd->ssv ? cmd->ssid : 0,
		};
		smmu->stats.prg_responses++;
		break;
	case IOPF_SMMUV3_CMD_RESUME:
		smmu_resume_locked(smmu, cmd, fx);
		break;
	case IOPF_SMMUV3_CMD_STALL_TERM:
		smmu_stall_term_locked(smmu, cmd->sid, 1);
		break;
	default:
		break; /* CMD_SYNC: our writes are visible already */
	}
}

static void cmdq_error_locked(struct iopf_smmuv3 *smmu, const uint64_t raw[2])
{
	struct smmu_hwq *q = &smmu->cmdq;

	q->cons = (q->cons & ~CMDQ_ERR_FIELD) |
		  (uint32_t)IOPF_SMMUV3_CERROR_ILL
			  << IOPF_SMMUV3_CMDQ_ERR_SHIFT;
	smmu->gerror ^= IOPF_SMMUV3_GERROR_CMDQ_ERR;
	smmu->stats.cmd_errors++;
	smmu_trace(smmu, IOPF_TRACE_BAD_REQUEST, IOPF_LAYER_HW,
		   IOPF_LAYER_DRIVER, "cerror_ill", 0, IOPF_PASID_INVALID, raw,
		   IOPF_SMMUV3_CMD_SIZE);
}

/*
 * Consume the command at CONS. Return: 1 if one was consumed, 0 if there
 * is nothing to do, -EPROTO while stopped on an error.
 */
static int cmdq_consume_one_locked(struct iopf_smmuv3 *smmu,
				   struct smmu_effect *fx)
{
	struct smmu_hwq *q = &smmu->cmdq;
	struct iopf_smmuv3_cmd cmd;
	uint64_t raw[2];
	uint32_t idx;

	if (!(smmu->cr0 & IOPF_SMMUV3_CR0_CMDQEN))
		return 0;
	if ((smmu->gerror ^ smmu->gerrorn) & IOPF_SMMUV3_GERROR_CMDQ_ERR)
		return -EPROTO;
	if (q_empty(q->log2size, q->prod, q->cons))
		return 0;

	idx = q_idx(q->log2size, q->cons);
	memcpy(raw, q->base + (size_t)idx * q->ent_dwords, sizeof(raw));
	if (iopf_smmuv3_cmd_decode(raw, &cmd) || !cmd_is_legal(smmu, &cmd)) {
		cmdq_error_locked(smmu, raw);
		return -EPROTO;
	}
	smmu_trace(smmu, IOPF_TRACE_HW_DESC_OUT, IOPF_LAYER_HW,
		   IOPF_LAYER_ENDPOINT, cmd_name(cmd.opcode), cmd.sid,
		   cmd.ssv ? cmd.ssid : IOPF_PASID_INVALID, raw,
		   IOPF_SMMUV3_CMD_SIZE);
	cmd_execute_locked(smmu, &cmd, fx);
	q->cons = q_inc(q->log2size, q->cons & ~CMDQ_ERR_FIELD);
	smmu->stats.cmds++;
	return 1;
}

static void run_effect(struct iopf_smmuv3 *smmu, struct smmu_effect *fx)
{
	switch (fx->kind) {
	case SMMU_FX_PRG_RESP:
		smmu_send_prg_response(smmu, fx);
		break;
	case SMMU_FX_RETRY:
		smmu_txn_run(smmu, fx->txn);
		smmu_txn_put(fx->txn);
		break;
	default:
		break;
	}
}

/*
 * The driver's GERROR handling for the command queue: log, replace the
 * command at CONS by a CMD_SYNC, acknowledge.
 */
static void arm_smmu_cmdq_skip_err(struct iopf_smmuv3 *smmu)
{
	struct iopf_smmuv3_cmd sync = { .opcode = IOPF_SMMUV3_CMD_SYNC };
	struct smmu_hwq *q = &smmu->cmdq;
	uint64_t raw[2];
	uint32_t idx;

	iopf_smmuv3_cmd_encode(&sync, raw);
	pthread_mutex_lock(&smmu->hw_lock);
	idx = q_idx(q->log2size, q->cons);
	memcpy(q->base + (size_t)idx * q->ent_dwords, raw, sizeof(raw));
	smmu->gerrorn = smmu->gerror;
	pthread_mutex_unlock(&smmu->hw_lock);
}

/* The hardware drains the command queue in the caller's thread. */
static void smmu_cmdq_run(struct iopf_smmuv3 *smmu)
{
	struct smmu_effect fx;
	int ret;

	for (;;) {
		fx.kind = SMMU_FX_NONE;
		pthread_mutex_lock(&smmu->hw_lock);
		ret = cmdq_consume_one_locked(smmu, &fx);
		pthread_mutex_unlock(&smmu->hw_lock);
		run_effect(smmu, &fx);
		if (ret == -EPROTO)
			arm_smmu_cmdq_skip_err(smmu);
		else if (ret == 0)
			return;
	}
}

/* Write @raw at the driver's PROD, or fail if the queue is full. */
static bool cmdq_insert(struct iopf_smmuv3 *smmu,
			const struct iopf_smmuv3_cmd *cmd,
			const uint64_t raw[2])
{
	struct smmu_hwq *q = &smmu->cmdq;
	struct smmu_llq *llq = &smmu->cmdq_llq;
	bool ok = false;
	uint32_t idx;

	pthread_mutex_lock(&smmu->hw_lock);
	llq->cons = q->cons;
	if (!q_full(q->log2size, llq->prod, llq->cons)) {
		idx = q_idx(q->log2size, llq->prod);
		memcpy(q->base + (size_t)idx * q->ent_dwords, raw, 16);
		llq->prod = q_inc(q->log2size, llq->prod);
		q->prod = llq->prod; /* the doorbell: CMDQ_PROD */
		ok = true;
		smmu_trace(smmu, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_DRIVER,
			   IOPF_LAYER_HW, cmd_name(cmd->opcode), cmd->sid,
			   cmd->ssv ? cmd->ssid : IOPF_PASID_INVALID, raw,
			   IOPF_SMMUV3_CMD_SIZE);
	}
	pthread_mutex_unlock(&smmu->hw_lock);
	return ok;
}

int arm_smmu_cmdq_issue_cmd(struct iopf_smmuv3 *smmu,
			    const struct iopf_smmuv3_cmd *cmd)
{
	uint64_t raw[2];
	bool ok;

	if (iopf_smmuv3_cmd_encode(cmd, raw))
		return -EINVAL;
	/* A disabled command queue consumes nothing (teardown). */
	if (!(smmu_hw_read_reg(smmu, IOPF_SMMUV3_CR0) & IOPF_SMMUV3_CR0_CMDQEN))
		return -ENODEV;
	for (;;) {
		pthread_mutex_lock(&smmu->cmdq_mutex);
		ok = cmdq_insert(smmu, cmd, raw);
		pthread_mutex_unlock(&smmu->cmdq_mutex);
		if (ok)
			break;
		smmu_cmdq_run(smmu);
	}
	smmu_cmdq_run(smmu);
	return 0;
}
