// SPDX-License-Identifier: MIT
/*
 * SMMUv3 hardware model: queue memory, the register file and interrupts.
 *
 * Everything here runs with smmu->hw_lock held unless its name says
 * otherwise; the public register accessors take it.
 */
#include <errno.h>
#include <string.h>

#include "smmuv3-priv.h"

int smmu_hwq_init(struct smmu_hwq *q, unsigned int log2size, size_t ent_size)
{
	q->base = iopf_calloc((size_t)1 << log2size, ent_size);
	if (!q->base)
		return -ENOMEM;
	q->ent_dwords = ent_size / 8;
	q->log2size = log2size;
	q->prod = 0;
	q->cons = 0;
	return 0;
}

void smmu_hwq_destroy(struct smmu_hwq *q)
{
	iopf_mfree(q->base);
	q->base = NULL;
}

/* Write @ent at PROD and advance PROD; the caller checked for space. */
void smmu_hwq_write(struct smmu_hwq *q, const uint64_t *ent)
{
	uint32_t idx = q_idx(q->log2size, q->prod);

	memcpy(q->base + (size_t)idx * q->ent_dwords, ent, q->ent_dwords * 8);
	q->prod = q_inc(q->log2size, q->prod);
}

void smmu_hw_read_entry(struct iopf_smmuv3 *smmu, struct smmu_hwq *q,
			uint32_t cons, uint64_t *ent)
{
	uint32_t idx;

	pthread_mutex_lock(&smmu->hw_lock);
	idx = q_idx(q->log2size, cons);
	memcpy(ent, q->base + (size_t)idx * q->ent_dwords, q->ent_dwords * 8);
	pthread_mutex_unlock(&smmu->hw_lock);
}

void smmu_raise_irq_locked(struct iopf_smmuv3 *smmu, bool *irq)
{
	*irq = true;
	pthread_cond_broadcast(&smmu->irq_cond);
}

static int reg_ptr(struct iopf_smmuv3 *smmu, uint32_t offset, uint32_t **reg)
{
	switch (offset) {
	case IOPF_SMMUV3_CR0:
		*reg = &smmu->cr0;
		break;
	case IOPF_SMMUV3_GERROR:
		*reg = &smmu->gerror;
		break;
	case IOPF_SMMUV3_GERRORN:
		*reg = &smmu->gerrorn;
		break;
	case IOPF_SMMUV3_CMDQ_PROD:
		*reg = &smmu->cmdq.prod;
		break;
	case IOPF_SMMUV3_CMDQ_CONS:
		*reg = &smmu->cmdq.cons;
		break;
	case IOPF_SMMUV3_EVTQ_PROD:
		*reg = &smmu->evtq.prod;
		break;
	case IOPF_SMMUV3_EVTQ_CONS:
		*reg = &smmu->evtq.cons;
		break;
	case IOPF_SMMUV3_PRIQ_PROD:
		*reg = &smmu->priq.prod;
		break;
	case IOPF_SMMUV3_PRIQ_CONS:
		*reg = &smmu->priq.cons;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

uint32_t smmu_hw_read_reg(struct iopf_smmuv3 *smmu, uint32_t offset)
{
	uint32_t *reg, val = 0;

	pthread_mutex_lock(&smmu->hw_lock);
	if (!reg_ptr(smmu, offset, &reg))
		val = *reg;
	pthread_mutex_unlock(&smmu->hw_lock);
	return val;
}

static void write_cr0_locked(struct iopf_smmuv3 *smmu, uint32_t val)
{
	uint32_t mask = IOPF_SMMUV3_CR0_SMMUEN | IOPF_SMMUV3_CR0_EVTQEN |
			IOPF_SMMUV3_CR0_CMDQEN;

	if (smmu->pri)
		mask |= IOPF_SMMUV3_CR0_PRIQEN;
	smmu->cr0 = val & mask;
	/* Enabling the event queue lets waiting stall records in. */
	smmu_stall_flush_locked(smmu);
}

/*
 * Software writes: a CONS register moves RD (and OVACKFLG); the event queue
 * then has room for stall records that were waiting.
 */
void smmu_hw_write_reg(struct iopf_smmuv3 *smmu, uint32_t offset, uint32_t val)
{
	pthread_mutex_lock(&smmu->hw_lock);
	switch (offset) {
	case IOPF_SMMUV3_CR0:
		write_cr0_locked(smmu, val);
		break;
	case IOPF_SMMUV3_GERRORN:
		smmu->gerrorn = val;
		break;
	case IOPF_SMMUV3_CMDQ_PROD:
		smmu->cmdq.prod = val & ((2u << smmu->cmdq.log2size) - 1);
		break;
	case IOPF_SMMUV3_EVTQ_CONS:
		smmu->evtq.cons = val & (IOPF_SMMUV3_Q_OVF |
					 ((2u << smmu->evtq.log2size) - 1));
		smmu_stall_flush_locked(smmu);
		break;
	case IOPF_SMMUV3_PRIQ_CONS:
		smmu->priq.cons = val & (IOPF_SMMUV3_Q_OVF |
					 ((2u << smmu->priq.log2size) - 1));
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&smmu->hw_lock);
}

IOPF_EXPORT int iopf_smmuv3_read_reg(struct iopf_smmuv3 *smmu, uint32_t offset,
				     uint32_t *val)
{
	uint32_t *reg;

	if (!smmu || !val || reg_ptr(smmu, offset, &reg))
		return -EINVAL;
	*val = smmu_hw_read_reg(smmu, offset);
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_write_reg(struct iopf_smmuv3 *smmu, uint32_t offset,
				      uint32_t val)
{
	if (!smmu)
		return -EINVAL;
	if (offset != IOPF_SMMUV3_CR0 && offset != IOPF_SMMUV3_EVTQ_CONS &&
	    offset != IOPF_SMMUV3_PRIQ_CONS)
		return -EINVAL;
	smmu_hw_write_reg(smmu, offset, val);
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_get_stats(struct iopf_smmuv3 *smmu,
				      struct iopf_smmuv3_stats *stats)
{
	if (!smmu || !stats)
		return -EINVAL;
	pthread_mutex_lock(&smmu->hw_lock);
	*stats = smmu->stats;
	pthread_mutex_unlock(&smmu->hw_lock);
	return 0;
}

void smmu_trace(struct iopf_smmuv3 *smmu, uint32_t type, uint32_t from,
		uint32_t to, const char *name, uint32_t sid, uint32_t pasid,
		const void *desc, size_t desc_len)
{
	struct iopf_trace_event ev = {
		.type = type,
		.from = from,
		.to = to,
		.iommu = smmu->name,
		.dev_id = sid,
		.pasid = pasid,
		.code = -1,
		.name = name,
		.desc = desc,
		.desc_len = desc_len,
	};

	if (!iopf_trace_on(smmu->ctx))
		return;
	iopf_trace_emit(smmu->ctx, &ev);
}

void smmu_trace_response(struct iopf_smmuv3 *smmu, uint32_t from,
			 uint32_t origin, const char *name, uint32_t sid,
			 uint32_t pasid, uint16_t grpid, int32_t code)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_RESPONSE_SENT,
		.from = from,
		.to = IOPF_LAYER_ENDPOINT,
		.iommu = smmu->name,
		.dev_id = sid,
		.pasid = pasid,
		.grpid = grpid,
		.code = code,
		.origin = origin,
		.name = name,
	};

	if (!iopf_trace_on(smmu->ctx))
		return;
	iopf_trace_emit(smmu->ctx, &ev);
}
