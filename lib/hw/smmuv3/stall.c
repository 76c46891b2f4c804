// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 stall model (spec §3.12, §4.7).
 *
 * A master's transaction is translated through the domain attached at its
 * SubstreamID. A translation fault on a stream configured to stall holds the
 * transaction and writes an event record with STALL=1 and a stall tag.
 * Stall records are never lost: when the event queue is full, or no tag is
 * free, they wait (in arrival order) and are written as soon as software
 * frees queue space or a tag. Ordinary events are lost on overflow. A tag is
 * reused only after CMD_RESUME or CMD_STALL_TERM released it; RESUME with
 * Retry runs the transaction again as a new arrival, and it may fault again.
 */
#include <errno.h>
#include <time.h>

#include "smmuv3-priv.h"

static void txn_set_state_locked(struct iopf_smmuv3_txn *txn, uint32_t state)
{
	pthread_mutex_lock(&txn->lock);
	txn->info.state = state;
	if (state != IOPF_SMMUV3_TXN_STALLED) {
		txn->info.stag = 0;
		txn->info.record_written = false;
	}
	pthread_cond_broadcast(&txn->cond);
	pthread_mutex_unlock(&txn->lock);
}

static void txn_trace(struct iopf_smmuv3 *smmu, struct iopf_smmuv3_txn *txn,
		      const char *step)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_DEVICE_EVENT,
		.from = IOPF_LAYER_ENDPOINT,
		.to = IOPF_LAYER_HW,
		.iommu = smmu->name,
		.dev_id = txn->sid,
		.pasid = txn->ssv ? txn->ssid : IOPF_PASID_INVALID,
		.perm = txn->perm,
		.addr = txn->addr,
		.code = -1,
		.ret = (int32_t)txn->info.state,
		.count = txn->info.nr_stalls,
		.name = step,
	};

	if (!iopf_trace_on(smmu->ctx))
		return;
	iopf_trace_emit(smmu->ctx, &ev);
}

void smmu_txn_put(struct iopf_smmuv3_txn *txn)
{
	if (!txn || atomic_fetch_sub(&txn->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&txn->lock);
	pthread_cond_destroy(&txn->cond);
	iopf_mfree(txn);
}

/* Finish a transaction the hardware held: final state, drop its reference. */
static void txn_finish_locked(struct iopf_smmuv3 *smmu,
			      struct iopf_smmuv3_txn *txn, uint32_t state)
{
	txn_set_state_locked(txn, state);
	txn_trace(smmu, txn,
		  state == IOPF_SMMUV3_TXN_ABORTED ? "abort" : "terminate");
	smmu_txn_put(txn);
}

static bool evtq_enabled(const struct iopf_smmuv3 *smmu)
{
	return (smmu->cr0 & IOPF_SMMUV3_CR0_EVTQEN) &&
	       (smmu->cr0 & IOPF_SMMUV3_CR0_SMMUEN);
}

static void evtq_put_record_locked(struct iopf_smmuv3 *smmu,
				   const uint64_t raw[4],
				   const struct iopf_smmuv3_event *evt)
{
	smmu_hwq_write(&smmu->evtq, raw);
	smmu->stats.events_written++;
	smmu_trace(smmu, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_HW,
		   IOPF_LAYER_DRIVER, evt->stall ? "evt_stall" : "evt",
		   evt->sid, evt->ssv ? evt->ssid : IOPF_PASID_INVALID, raw,
		   IOPF_SMMUV3_EVT_SIZE);
	smmu_raise_irq_locked(smmu, &smmu->evtq_irq);
}

/* An ordinary (non-stall) event: lost if the queue is full. */
void smmu_evtq_write_locked(struct iopf_smmuv3 *smmu,
			    const struct iopf_smmuv3_event *evt)
{
	struct smmu_hwq *q = &smmu->evtq;
	uint64_t raw[4];

	if (!evtq_enabled(smmu) || iopf_smmuv3_event_encode(evt, raw))
		return;
	if (q_full(q->log2size, q->prod, q->cons)) {
		smmu->stats.events_lost++;
		if (q_ovf(q->prod) == q_ovf(q->cons)) {
			q->prod ^= IOPF_SMMUV3_Q_OVF;
			smmu_trace(smmu, IOPF_TRACE_OVERFLOW, IOPF_LAYER_HW,
				   IOPF_LAYER_DRIVER, "evtq", evt->sid,
				   IOPF_PASID_INVALID, NULL, 0);
			smmu_raise_irq_locked(smmu, &smmu->evtq_irq);
		}
		return;
	}
	evtq_put_record_locked(smmu, raw, evt);
}

static int stag_alloc_locked(struct iopf_smmuv3 *smmu)
{
	unsigned int i;

	/* Lowest free tag: deterministic, and shows a tag coming back. */
	for (i = 0; i < smmu->nr_stags; i++)
		if (!smmu->stags[i])
			return (int)i;
	return -EBUSY;
}

static void fill_fault_event(const struct iopf_smmuv3_txn *txn,
			     struct iopf_smmuv3_event *evt, uint8_t id)
{
	*evt = (struct iopf_smmuv3_event){
		.id = id,
		.ssv = txn->ssv,
		.ssid = txn->ssv ? txn->ssid : 0,
		.sid = txn->sid,
		.pnu = txn->perm & IOPF_FAULT_PERM_PRIV,
		.ind = txn->perm & IOPF_FAULT_PERM_EXEC,
		.rnw = !(txn->perm & IOPF_FAULT_PERM_WRITE),
		.class = IOPF_SMMUV3_EVT_CLASS_IN,
		.iova = txn->addr,
	};
}

/* Write the stall records that wait, in order, while tags and space last. */
void smmu_stall_flush_locked(struct iopf_smmuv3 *smmu)
{
	struct iopf_smmuv3_event evt;
	struct iopf_smmuv3_txn *txn;
	uint64_t raw[4];
	int stag;

	while (!cds_list_empty(&smmu->stall_wait)) {
		txn = cds_list_first_entry(&smmu->stall_wait,
					   struct iopf_smmuv3_txn, wait_node);
		if (!evtq_enabled(smmu) ||
		    q_full(smmu->evtq.log2size, smmu->evtq.prod,
			   smmu->evtq.cons))
			return;
		stag = stag_alloc_locked(smmu);
		if (stag < 0)
			return;
		smmu->stags[stag] = txn;
		smmu->stats.stalls_active++;
		cds_list_del(&txn->wait_node);
		txn->waiting = false;
		smmu->stats.stalls_waiting--;

		fill_fault_event(txn, &evt, txn->info.event_id);
		evt.stall = true;
		evt.stag = (uint16_t)stag;
		iopf_smmuv3_event_encode(&evt, raw);
		pthread_mutex_lock(&txn->lock);
		txn->info.stag = (uint16_t)stag;
		txn->info.record_written = true;
		pthread_mutex_unlock(&txn->lock);
		evtq_put_record_locked(smmu, raw, &evt);
	}
}

static bool stream_stalls(const struct iopf_smmuv3 *smmu, bool master_stall)
{
	switch (smmu->stall_model) {
	case IOPF_SMMUV3_STALL_MODEL_FORCED:
		return true;
	case IOPF_SMMUV3_STALL_MODEL_TERM:
		return false;
	default:
		return master_stall;
	}
}

static void txn_stall_locked(struct iopf_smmuv3 *smmu,
			     struct iopf_smmuv3_txn *txn)
{
	atomic_fetch_add(&txn->refs, 1); /* the hardware holds it */
	pthread_mutex_lock(&txn->lock);
	txn->info.state = IOPF_SMMUV3_TXN_STALLED;
	txn->info.nr_stalls++;
	txn->info.event_id = IOPF_SMMUV3_EVT_F_TRANSLATION;
	pthread_mutex_unlock(&txn->lock);
	cds_list_add_tail(&txn->node, &smmu->txns);
	cds_list_add_tail(&txn->wait_node, &smmu->stall_wait);
	txn->waiting = true;
	smmu->stats.stalls_waiting++;
	txn_trace(smmu, txn, "stall");
	smmu_stall_flush_locked(smmu);
}

/* A fault that does not stall: record it (if there is room) and abort. */
static void txn_fault_locked(struct iopf_smmuv3 *smmu,
			     struct iopf_smmuv3_txn *txn, uint8_t id)
{
	struct iopf_smmuv3_event evt;

	fill_fault_event(txn, &evt, id);
	smmu_evtq_write_locked(smmu, &evt);
	pthread_mutex_lock(&txn->lock);
	txn->info.event_id = id;
	pthread_mutex_unlock(&txn->lock);
	txn_set_state_locked(txn, IOPF_SMMUV3_TXN_ABORTED);
	txn_trace(smmu, txn, "abort");
}

static void txn_complete_locked(struct iopf_smmuv3 *smmu,
				struct iopf_smmuv3_txn *txn, int ret,
				bool stalls)
{
	switch (ret) {
	case 0:
	case -EOPNOTSUPP: /* a domain without a page table: bypass */
		txn_set_state_locked(txn, IOPF_SMMUV3_TXN_DONE);
		txn_trace(smmu, txn, "done");
		break;
	case -EFAULT:
		if (stalls)
			txn_stall_locked(smmu, txn);
		else
			txn_fault_locked(smmu, txn,
					 IOPF_SMMUV3_EVT_F_TRANSLATION);
		break;
	case -ENOENT:
		txn_fault_locked(smmu, txn,
				 txn->ssv ? IOPF_SMMUV3_EVT_C_BAD_SUBSTREAMID :
					    IOPF_SMMUV3_EVT_C_BAD_STE);
		break;
	default:
		txn_fault_locked(smmu, txn, IOPF_SMMUV3_EVT_C_BAD_SUBSTREAMID);
		break;
	}
}

/*
 * Run (or re-run, after RESUME Retry) a transaction. No SMMU lock may be
 * held: the translation asks the core. Returns -ENODEV when no master uses
 * the StreamID (the transaction is aborted with C_BAD_STREAMID), else 0.
 */
int smmu_txn_run(struct iopf_smmuv3 *smmu, struct iopf_smmuv3_txn *txn)
{
	struct iopf_device *dev = NULL;
	struct smmu_master *master;
	bool stalls = false, removing = false, known;
	int ret = -ENODEV;

	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, txn->sid);
	known = master;
	if (master) {
		removing = master->removing;
		stalls = stream_stalls(smmu, master->stall);
		if (!removing)
			dev = iopf_device_find(smmu->iommu, master->sid);
	}
	pthread_mutex_unlock(&smmu->masters_lock);

	if (dev) {
		ret = iopf_device_translate(
			dev, txn->ssv ? txn->ssid : IOPF_NO_PASID, txn->addr,
			txn->perm);
		iopf_device_put(dev);
	}

	pthread_mutex_lock(&smmu->hw_lock);
	if (!known) {
		txn_fault_locked(smmu, txn, IOPF_SMMUV3_EVT_C_BAD_STREAMID);
	} else if (removing || !dev) {
		/* STE.Config = abort: terminated without an event */
		txn_set_state_locked(txn, IOPF_SMMUV3_TXN_ABORTED);
		txn_trace(smmu, txn, "abort");
	} else {
		txn_complete_locked(smmu, txn, ret, stalls);
	}
	pthread_mutex_unlock(&smmu->hw_lock);
	return known ? 0 : -ENODEV;
}

static void stag_release_locked(struct iopf_smmuv3 *smmu,
				struct iopf_smmuv3_txn *txn)
{
	smmu->stags[txn->info.stag] = NULL;
	smmu->stats.stalls_active--;
	cds_list_del(&txn->node);
}

/* CMD_RESUME: an unknown tag or a StreamID mismatch is a no-op. */
void smmu_resume_locked(struct iopf_smmuv3 *smmu,
			const struct iopf_smmuv3_cmd *cmd,
			struct smmu_effect *fx)
{
	struct iopf_smmuv3_txn *txn = NULL;

	if (cmd->stag < smmu->nr_stags)
		txn = smmu->stags[cmd->stag];
	if (!txn || txn->sid != cmd->sid)
		return;

	stag_release_locked(smmu, txn);
	if (cmd->resp & IOPF_SMMUV3_RESUME_RETRY) {
		pthread_mutex_lock(&txn->lock);
		txn->info.stag = 0;
		txn->info.record_written = false;
		pthread_mutex_unlock(&txn->lock);
		txn_trace(smmu, txn, "retry");
		fx->kind = SMMU_FX_RETRY;
		fx->txn =
			txn; /* the hardware's reference moves to the effect */
	} else if (cmd->resp == IOPF_SMMUV3_RESUME_ABORT || smmu->term_model) {
		txn_finish_locked(smmu, txn, IOPF_SMMUV3_TXN_ABORTED);
	} else {
		txn_finish_locked(smmu, txn, IOPF_SMMUV3_TXN_TERMINATED);
	}
	smmu_stall_flush_locked(smmu);
}

static bool sid_in(uint32_t sid, uint32_t first, uint32_t nr)
{
	return sid >= first && sid - first < nr;
}

/* CMD_STALL_TERM for the streams [sid, sid + nr_sids): abort every stall. */
void smmu_stall_term_locked(struct iopf_smmuv3 *smmu, uint32_t sid,
			    uint32_t nr_sids)
{
	struct iopf_smmuv3_txn *txn, *tmp;

	cds_list_for_each_entry_safe(txn, tmp, &smmu->txns, node) {
		if (!sid_in(txn->sid, sid, nr_sids))
			continue;
		if (txn->waiting) {
			cds_list_del(&txn->wait_node);
			txn->waiting = false;
			smmu->stats.stalls_waiting--;
			cds_list_del(&txn->node);
		} else {
			stag_release_locked(smmu, txn);
		}
		txn_finish_locked(smmu, txn, IOPF_SMMUV3_TXN_ABORTED);
	}
	smmu_stall_flush_locked(smmu);
}

/* SMMUEN = 0 at teardown: every stalled transaction is terminated. */
void smmu_stall_abort_all(struct iopf_smmuv3 *smmu)
{
	pthread_mutex_lock(&smmu->hw_lock);
	smmu->cr0 = 0;
	smmu_stall_term_locked(smmu, 0, UINT32_MAX);
	pthread_mutex_unlock(&smmu->hw_lock);
}

IOPF_EXPORT int iopf_smmuv3_dma(struct iopf_smmuv3 *smmu, uint32_t sid,
				uint32_t pasid, uint64_t addr, uint32_t perm,
				struct iopf_smmuv3_txn **out)
{
	struct iopf_smmuv3_txn *txn;
	int ret;

	if (!smmu || pasid >> IOPF_PASID_BITS)
		return -EINVAL;
	txn = iopf_zalloc(sizeof(*txn));
	if (!txn)
		return -ENOMEM;
	atomic_init(&txn->refs, 1);
	txn->smmu = smmu;
	txn->sid = sid;
	txn->ssv = pasid != IOPF_NO_PASID;
	txn->ssid = pasid;
	txn->addr = addr;
	txn->perm = perm;
	pthread_mutex_init(&txn->lock, NULL);
	pthread_cond_init(&txn->cond, NULL);
	CDS_INIT_LIST_HEAD(&txn->node);
	CDS_INIT_LIST_HEAD(&txn->wait_node);

	txn_trace(smmu, txn, "dma");
	ret = smmu_txn_run(smmu, txn);
	/* API convention: *out only on success, else the reference goes. */
	if (out && !ret)
		*out = txn;
	else
		smmu_txn_put(txn);
	return ret;
}

IOPF_EXPORT int iopf_smmuv3_txn_info(struct iopf_smmuv3_txn *txn,
				     struct iopf_smmuv3_txn_info *info)
{
	if (!txn || !info)
		return -EINVAL;
	pthread_mutex_lock(&txn->lock);
	*info = txn->info;
	pthread_mutex_unlock(&txn->lock);
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_txn_wait(struct iopf_smmuv3_txn *txn,
				     unsigned int timeout_ms,
				     struct iopf_smmuv3_txn_info *info)
{
	struct timespec ts;
	int ret = 0;

	if (!txn)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&txn->lock);
	while (txn->info.state == IOPF_SMMUV3_TXN_STALLED && !ret)
		if (pthread_cond_timedwait(&txn->cond, &txn->lock, &ts))
			ret = -ETIMEDOUT;
	if (txn->info.state != IOPF_SMMUV3_TXN_STALLED)
		ret = 0;
	if (info)
		*info = txn->info;
	pthread_mutex_unlock(&txn->lock);
	return ret;
}

IOPF_EXPORT void iopf_smmuv3_txn_put(struct iopf_smmuv3_txn *txn)
{
	smmu_txn_put(txn);
}
