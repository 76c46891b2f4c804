// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 PRI queue, hardware side (spec §8).
 *
 * A page request is written to the PRI queue. When the queue is full the
 * hardware toggles PRIQ_PROD.OVFLG; while the overflow is active (OVFLG !=
 * PRIQ_CONS.OVACKFLG) nothing more is written: a last-in-group request gets
 * an automatic PRG Response Success, other requests and stop markers are
 * dropped. With the PRI queue disabled every request except a stop marker
 * gets an automatic Response Failure without PASID.
 */
#include <errno.h>

#include "smmuv3-priv.h"

#define PCI_PRG_RESP_SUCCESS 0x0
#define PCI_PRG_RESP_INVALID 0x1
#define PCI_PRG_RESP_FAILURE 0xf

static bool ppr_is_stop_marker(const struct iopf_smmuv3_ppr *ppr)
{
	return ppr->last && !ppr->read && !ppr->write && ppr->ssv;
}

/* The iopf response code a PCIe code means, for traces. */
static int32_t pci_code_to_iopf(uint8_t code)
{
	switch (code) {
	case PCI_PRG_RESP_SUCCESS:
		return IOPF_PAGE_RESP_SUCCESS;
	case PCI_PRG_RESP_INVALID:
		return IOPF_PAGE_RESP_INVALID;
	default:
		return IOPF_PAGE_RESP_FAILURE;
	}
}

/* Deliver a PRG Response to the endpoint; no SMMU lock held. */
void smmu_send_prg_response(struct iopf_smmuv3 *smmu,
			    const struct smmu_effect *fx)
{
	if (smmu->prg_response)
		smmu->prg_response(smmu->endpoint_priv, fx->sid, fx->prgi,
				   fx->code, fx->pasid_valid, fx->pasid);
	smmu_port_deliver(smmu, fx);
}

static void auto_response_locked(struct iopf_smmuv3 *smmu,
				 const struct iopf_smmuv3_ppr *ppr,
				 uint8_t code, bool pasid_valid,
				 struct smmu_effect *fx)
{
	*fx = (struct smmu_effect){
		.kind = SMMU_FX_PRG_RESP,
		.sid = ppr->sid,
		.prgi = ppr->prgi,
		.code = code,
		.pasid_valid = pasid_valid,
		.pasid = pasid_valid ? ppr->ssid : 0,
	};
	smmu->stats.auto_responses++;
	smmu_trace_response(smmu, IOPF_LAYER_HW, IOPF_ORIGIN_AUTO, "priq_auto",
			    ppr->sid,
			    pasid_valid ? ppr->ssid : IOPF_PASID_INVALID,
			    ppr->prgi, pci_code_to_iopf(code));
}

/* Overflow auto-response Success carries the PASID per IDR3.PPS/STE.PPAR. */
static bool auto_success_pasid(struct iopf_smmuv3 *smmu,
			       const struct iopf_smmuv3_ppr *ppr)
{
	struct smmu_master *master;
	bool ppar = false;

	if (!ppr->ssv)
		return false;
	if (smmu->pps)
		return true;
	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, ppr->sid);
	if (master)
		ppar = master->ppar;
	pthread_mutex_unlock(&smmu->masters_lock);
	return ppar;
}

static void priq_drop_locked(struct iopf_smmuv3 *smmu,
			     const struct iopf_smmuv3_ppr *ppr, bool pasid,
			     struct smmu_effect *fx)
{
	smmu->stats.priq_dropped++;
	if (ppr->last && !ppr_is_stop_marker(ppr))
		auto_response_locked(smmu, ppr, PCI_PRG_RESP_SUCCESS, pasid,
				     fx);
}

static void priq_write_locked(struct iopf_smmuv3 *smmu,
			      const struct iopf_smmuv3_ppr *ppr, bool pasid,
			      struct smmu_effect *fx)
{
	struct smmu_hwq *q = &smmu->priq;
	uint64_t raw[2];

	if (!(smmu->cr0 & IOPF_SMMUV3_CR0_PRIQEN) ||
	    !(smmu->cr0 & IOPF_SMMUV3_CR0_SMMUEN)) {
		if (!ppr_is_stop_marker(ppr))
			auto_response_locked(smmu, ppr, PCI_PRG_RESP_FAILURE,
					     false, fx);
		else
			smmu->stats.priq_dropped++;
		return;
	}
	if (q_ovf(q->prod) != q_ovf(q->cons)) {
		priq_drop_locked(smmu, ppr, pasid, fx);
		return;
	}
	if (q_full(q->log2size, q->prod, q->cons)) {
		q->prod ^= IOPF_SMMUV3_Q_OVF;
		smmu_trace(smmu, IOPF_TRACE_OVERFLOW, IOPF_LAYER_HW,
			   IOPF_LAYER_DRIVER, "priq", ppr->sid,
			   IOPF_PASID_INVALID, NULL, 0);
		smmu_raise_irq_locked(smmu, &smmu->priq_irq);
		priq_drop_locked(smmu, ppr, pasid, fx);
		return;
	}
	iopf_smmuv3_ppr_encode(ppr, raw);
	smmu_hwq_write(q, raw);
	smmu->stats.priq_written++;
	smmu_trace(smmu, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_HW,
		   IOPF_LAYER_DRIVER, "priq", ppr->sid,
		   ppr->ssv ? ppr->ssid : IOPF_PASID_INVALID, raw,
		   IOPF_SMMUV3_PRIQ_SIZE);
	smmu_raise_irq_locked(smmu, &smmu->priq_irq);
}

IOPF_EXPORT int iopf_smmuv3_pri_request(struct iopf_smmuv3 *smmu,
					const struct iopf_smmuv3_ppr *ppr)
{
	struct smmu_effect fx = { .kind = SMMU_FX_NONE };
	struct iopf_smmuv3_ppr req;
	uint64_t raw[2];
	bool pasid;

	if (!smmu || !ppr || iopf_smmuv3_ppr_encode(ppr, raw))
		return -EINVAL;
	req = *ppr;
	/* Priv and Exec travel in the PASID prefix: without one they read 0. */
	if (!req.ssv) {
		req.priv = false;
		req.exec = false;
		req.ssid = 0;
	}
	pasid = auto_success_pasid(smmu, &req);

	pthread_mutex_lock(&smmu->hw_lock);
	if (!smmu->pri) {
		pthread_mutex_unlock(&smmu->hw_lock);
		return -ENODEV;
	}
	priq_write_locked(smmu, &req, pasid, &fx);
	pthread_mutex_unlock(&smmu->hw_lock);

	if (fx.kind == SMMU_FX_PRG_RESP)
		smmu_send_prg_response(smmu, &fx);
	return 0;
}
