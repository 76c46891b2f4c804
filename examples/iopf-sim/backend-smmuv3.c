// SPDX-License-Identifier: MIT
/*
 * The Arm SMMUv3 backend (<iopf/hw/smmuv3.h>):
 *
 *   iommu NAME smmuv3 [stall_model=stall|term|forced] [no_pri] [pps]
 *   device NAME IOMMU id=SID [pasids=N] stall        a stalling master
 *   device NAME IOMMU id=RID [pasids=N] [endpoint options]
 *                                                    a PCIe function (PRI)
 *   evtq IOMMU     the event thread runs once (arm_smmu_evtq_thread)
 *   priq IOMMU     the PRI thread runs once (arm_smmu_priq_thread)
 *
 * A stalling master DMAs with "dma DEV addr=A [pasid=P] [perm=w]
 * [nowait]": one transaction, held by the SMMU on a translation fault
 * until CMD_RESUME. Without nowait the command runs the driver until the
 * transaction completes (0), aborts (-EFAULT) or is terminated (-EIO).
 * The fault queue is declared as "NAME-iopfq".
 */
#include <errno.h>
#include <string.h>

#include <iopf/hw/pci.h>
#include <iopf/hw/smmuv3.h>

#include "sim.h"

#define WAIT_ROUNDS 1000
#define WAIT_MS	    10000

const struct sim_backend sim_backend_smmuv3;

static const char *const stall_models[] = {
	[IOPF_SMMUV3_STALL_MODEL_STALL] = "stall",
	[IOPF_SMMUV3_STALL_MODEL_TERM] = "term",
	[IOPF_SMMUV3_STALL_MODEL_FORCED] = "forced",
};

static int smmu_create(struct sim *sim, struct sim_obj *obj,
		       struct sim_args *args)
{
	struct iopf_smmuv3_attr attr = {
		.size = sizeof(attr),
		.name = obj->name,
		.nr_threads = sim->threads,
	};
	struct iopf_smmuv3 *smmu;
	const char *m = sim_opt(args, "stall_model");
	int ret;

	if (m) {
		for (attr.stall_model = 0; attr.stall_model < 3;
		     attr.stall_model++)
			if (!strcmp(m, stall_models[attr.stall_model]))
				break;
		if (attr.stall_model == 3) {
			sim_error(sim,
				  "stall_model: '%s' is not stall, term "
				  "or forced",
				  m);
			return 1;
		}
	}
	attr.no_pri = sim_flag(args, "no_pri");
	attr.pps = sim_flag(args, "pps");
	ret = iopf_smmuv3_new(sim->ctx, &attr, &smmu);
	if (!ret)
		obj->ptr = smmu;
	return ret;
}

static struct iopf_iommu *smmu_iommu(struct sim_obj *obj)
{
	return iopf_smmuv3_iommu(obj->ptr);
}

static struct iopf_queue *smmu_queue(struct sim_obj *obj)
{
	return iopf_smmuv3_iopf_queue(obj->ptr);
}

static void txn_release(void *hw)
{
	iopf_smmuv3_txn_put(hw);
}

static int smmu_device_new(struct sim *sim, struct sim_obj *iommu,
			   struct sim_obj *dev,
			   const struct iopf_device_attr *attr,
			   struct sim_args *args, struct iopf_device **out)
{
	struct iopf_smmuv3_master_attr m = {
		.size = sizeof(m),
		.sid = attr->id,
		.max_pasids = attr->max_pasids,
		.name = attr->name,
	};
	struct iopf_pci_endpoint *ep = NULL;
	struct sim_dev *sd;
	int ret;

	m.stall = sim_flag(args, "stall");
	m.ppar = sim_flag(args, "ppar");
	if (!m.stall) {
		ret = sim_endpoint_new(sim, dev, args, attr->id, &ep);
		if (ret)
			return ret;
	}
	ret = iopf_smmuv3_add_master(iommu->ptr, &m, out);
	if (!ret && ep && (ret = iopf_smmuv3_connect(iommu->ptr, ep)))
		iopf_smmuv3_remove_master(iommu->ptr, m.sid);
	if (ret) {
		iopf_pci_endpoint_free(ep);
		return ret;
	}
	sd = sim_hw_dev_new(sim, iommu, dev, attr->id);
	if (!sd)
		return 1;
	sd->ep = ep;
	sd->hw_release = txn_release;
	return 0;
}

static int smmu_pump(struct sim *sim, struct sim_obj *iommu)
{
	(void)sim;
	return iopf_smmuv3_pump(iommu->ptr);
}

static uint32_t q_pending(struct sim_obj *iommu, uint32_t prod_reg,
			  uint32_t cons_reg)
{
	uint32_t prod = 0, cons = 0;

	iopf_smmuv3_read_reg(iommu->ptr, prod_reg, &prod);
	iopf_smmuv3_read_reg(iommu->ptr, cons_reg, &cons);
	return (prod & ~IOPF_SMMUV3_Q_OVF) != (cons & ~IOPF_SMMUV3_Q_OVF);
}

static bool smmu_idle(struct sim_obj *iommu)
{
	struct iopf_smmuv3_stats st;

	if (q_pending(iommu, IOPF_SMMUV3_EVTQ_PROD, IOPF_SMMUV3_EVTQ_CONS) ||
	    q_pending(iommu, IOPF_SMMUV3_PRIQ_PROD, IOPF_SMMUV3_PRIQ_CONS))
		return false;
	/*
	 * The event and PRI threads move CONS before they report what they
	 * took: running their bodies here waits for a drain in progress
	 * (they hold the queue's mutex) and takes what came in since.
	 */
	if (iopf_smmuv3_process_evtq(iommu->ptr) > 0 ||
	    iopf_smmuv3_process_priq(iommu->ptr) > 0)
		return false;
	return iopf_smmuv3_get_stats(iommu->ptr, &st) || !st.stalls_waiting;
}

static int smmu_stat(struct sim_obj *iommu, const char *key, char *buf,
		     size_t len)
{
	struct iopf_smmuv3_stats st;
	static const struct {
		const char *key;
		size_t off;
	} counters[] = {
#define C(f) { #f, offsetof(struct iopf_smmuv3_stats, f) }
		C(events_written), C(events_lost),   C(stalls_waiting),
		C(stalls_active),  C(priq_written),  C(priq_dropped),
		C(auto_responses), C(prg_responses), C(cmd_errors),
		C(cmds),
#undef C
	};

	if (!strcmp(key, "evtq_pending"))
		return sim_stat_bool(buf, len,
				     q_pending(iommu, IOPF_SMMUV3_EVTQ_PROD,
					       IOPF_SMMUV3_EVTQ_CONS));
	if (!strcmp(key, "priq_pending"))
		return sim_stat_bool(buf, len,
				     q_pending(iommu, IOPF_SMMUV3_PRIQ_PROD,
					       IOPF_SMMUV3_PRIQ_CONS));
	if (iopf_smmuv3_get_stats(iommu->ptr, &st))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		if (!strcmp(key, counters[i].key))
			return sim_stat_u64(
				buf, len,
				*(const uint64_t *)((const char *)&st +
						    counters[i].off));
	return -ENOENT;
}

static const char *const txn_states[] = {
	[0] = "none",
	[IOPF_SMMUV3_TXN_STALLED] = "stalled",
	[IOPF_SMMUV3_TXN_DONE] = "done",
	[IOPF_SMMUV3_TXN_TERMINATED] = "terminated",
	[IOPF_SMMUV3_TXN_ABORTED] = "aborted",
};

/* "expect device MASTER state=... stalls=N stag=N": its last transaction */
static int smmu_dev_stat(struct sim_obj *dev, const char *key, char *buf,
			 size_t len)
{
	struct sim_dev *sd = dev->data;
	struct iopf_smmuv3_txn_info info = { 0 };

	if (sd->hw)
		iopf_smmuv3_txn_info(sd->hw, &info);
	if (!strcmp(key, "state"))
		return snprintf(buf, len, "%s",
				info.state <= IOPF_SMMUV3_TXN_ABORTED ?
					txn_states[info.state] :
					"?") < 0;
	if (!strcmp(key, "stalls"))
		return sim_stat_u64(buf, len, info.nr_stalls);
	if (!strcmp(key, "stag"))
		return sim_stat_u64(buf, len, info.stag);
	if (!strcmp(key, "event"))
		return sim_stat_u64(buf, len, info.event_id);
	return -ENOENT;
}

static int txn_result(const struct iopf_smmuv3_txn_info *info)
{
	switch (info->state) {
	case IOPF_SMMUV3_TXN_DONE:
		return 0;
	case IOPF_SMMUV3_TXN_ABORTED:
		return -EFAULT;
	case IOPF_SMMUV3_TXN_TERMINATED:
		return -EIO;
	default:
		return -EBUSY; /* still stalled: nobody answered */
	}
}

static int smmu_dma(struct sim *sim, struct sim_obj *dev, uint32_t pasid,
		    uint64_t addr, uint32_t perm, bool nowait)
{
	struct sim_dev *sd = dev->data;
	struct iopf_smmuv3 *smmu = sd->iommu->ptr;
	struct iopf_smmuv3_txn_info info = { 0 };
	struct iopf_smmuv3_txn *txn;
	int ret;

	ret = iopf_smmuv3_dma(smmu, sd->id, pasid, addr, perm, &txn);
	if (ret)
		return ret;
	iopf_smmuv3_txn_put(sd->hw);
	sd->hw = txn;
	if (nowait)
		return 0;
	if (sim->threads) {
		ret = iopf_smmuv3_txn_wait(txn, WAIT_MS, &info);
		return ret ? ret : txn_result(&info);
	}
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		iopf_smmuv3_txn_info(txn, &info);
		if (info.state != IOPF_SMMUV3_TXN_STALLED ||
		    iopf_smmuv3_pump(smmu) <= 0)
			break;
	}
	iopf_smmuv3_txn_info(txn, &info);
	return txn_result(&info);
}

/* evtq IOMMU: the event thread runs once (manual mode) */
static int cmd_evtq(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o = sim_backend_iommu(sim, args, &sim_backend_smmuv3);

	if (!o)
		return -1;
	if (sim->threads)
		return sim_result(sim, sim_settle(sim));
	return sim_result(sim, iopf_smmuv3_process_evtq(o->ptr));
}

/* priq IOMMU: the PRI thread runs once (manual mode) */
static int cmd_priq(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o = sim_backend_iommu(sim, args, &sim_backend_smmuv3);

	if (!o)
		return -1;
	if (sim->threads)
		return sim_result(sim, sim_settle(sim));
	return sim_result(sim, iopf_smmuv3_process_priq(o->ptr));
}

static const struct sim_cmd smmu_cmds[] = {
	{ "evtq", cmd_evtq, false },
	{ "priq", cmd_priq, false },
	{ NULL, NULL, false },
};

const struct sim_backend sim_backend_smmuv3 = {
	.name = "smmuv3",
	.create = smmu_create,
	.iommu = smmu_iommu,
	.queue = smmu_queue,
	.device_new = smmu_device_new,
	.pump = smmu_pump,
	.idle = smmu_idle,
	.dma = smmu_dma,
	.stat = smmu_stat,
	.dev_stat = smmu_dev_stat,
	.cmds = smmu_cmds,
};
