/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the SMMUv3 model (hardware and driver).
 *
 * Lock order (outer first):
 *   smmu->evtq_mutex, smmu->priq_mutex (driver thread bodies, held while
 *                        reporting; the core may call page_response inside)
 *   the core's fault-param lock (page_response runs under it)
 *   smmu->ports.lock     (PCIe endpoints; held while delivering a response)
 *   smmu->masters_lock   (the stream table; the kernel's streams_mutex)
 *   smmu->cmdq_mutex     (driver: one command writer at a time)
 *   smmu->hw_lock        (registers, queues, stall tags, transactions)
 *   txn->lock            (a transaction's visible state)
 * ports.lock and masters_lock are never nested. No SMMU lock but the
 * first two is held while calling into the core (translate, report, device
 * creation): what a command does outside the SMMU (a PRG Response, a
 * retried transaction) is collected under hw_lock and run after it.
 */
#ifndef IOPF_HW_SMMUV3_PRIV_H
#define IOPF_HW_SMMUV3_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/list.h>

#include <iopf/hw/smmuv3.h>
#include <iopf/trace.h>

#include "hw/pci/port-table.h"
#include "iommu-priv.h"

#define GENMASK64(h, l) ((~0ull >> (63 - (h))) & ~((1ull << (l)) - 1))

#define SMMU_Q_DEFAULT_LOG2    7
#define SMMU_CMDQ_DEFAULT_LOG2 8
#define SMMU_Q_MAX_LOG2	       19
#define SMMU_DEFAULT_STAGS     256
#define SMMU_MAX_STAGS	       65536

/* A hardware queue: memory plus its PROD and CONS registers. */
struct smmu_hwq {
	uint64_t *base;
	unsigned int ent_dwords;
	unsigned int log2size;
	uint32_t prod;
	uint32_t cons;
};

/* The driver's copy of a queue's indexes (the kernel's arm_smmu_ll_queue). */
struct smmu_llq {
	uint32_t prod;
	uint32_t cons;
};

static inline uint32_t q_idx(unsigned int log2size, uint32_t p)
{
	return p & ((1u << log2size) - 1);
}

static inline uint32_t q_wrp(unsigned int log2size, uint32_t p)
{
	return p & (1u << log2size);
}

static inline uint32_t q_ovf(uint32_t p)
{
	return p & IOPF_SMMUV3_Q_OVF;
}

static inline bool q_full(unsigned int log2size, uint32_t prod, uint32_t cons)
{
	return q_idx(log2size, prod) == q_idx(log2size, cons) &&
	       q_wrp(log2size, prod) != q_wrp(log2size, cons);
}

static inline bool q_empty(unsigned int log2size, uint32_t prod, uint32_t cons)
{
	return q_idx(log2size, prod) == q_idx(log2size, cons) &&
	       q_wrp(log2size, prod) == q_wrp(log2size, cons);
}

/* index + wrap incremented by one, other bits of @p kept */
static inline uint32_t q_inc(unsigned int log2size, uint32_t p)
{
	uint32_t mask = (2u << log2size) - 1;

	return (p & ~mask) | ((p + 1) & mask);
}

struct smmu_master {
	struct cds_list_head node;
	uint32_t sid;
	uint32_t nr_sids;
	bool stall; /* STE/CD configured to stall */
	bool stall_enabled; /* the driver's master->stall_enabled */
	bool ppar;
	bool iopf_enabled;
	bool removing; /* STE.Config = abort: no new transactions */
	struct iopf_device *dev;
};

struct iopf_smmuv3_txn {
	atomic_int refs;
	struct iopf_smmuv3 *smmu;
	struct cds_list_head node; /* smmu->txns while STALLED */
	struct cds_list_head wait_node; /* smmu->stall_wait while waiting */
	uint32_t sid;
	uint32_t ssid;
	bool ssv;
	uint64_t addr;
	uint32_t perm;
	bool waiting; /* on stall_wait */
	/* visible state, written under hw_lock and lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct iopf_smmuv3_txn_info info;
};

/* What a consumed command asks the world outside the SMMU to do. */
struct smmu_effect {
	enum { SMMU_FX_NONE, SMMU_FX_PRG_RESP, SMMU_FX_RETRY } kind;
	uint32_t sid;
	uint16_t prgi;
	uint8_t code;
	bool pasid_valid;
	uint32_t pasid;
	struct iopf_smmuv3_txn *txn; /* SMMU_FX_RETRY, holds a reference */
};

struct iopf_smmuv3 {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu;
	struct iopf_queue *iopf_queue;
	char *name; /* for traces; outlives the IOMMU */

	/* ID registers and wiring */
	unsigned int stall_model;
	bool term_model;
	bool pri;
	bool pps;
	unsigned int nr_stags;
	iopf_smmuv3_prg_response_t prg_response;
	void *endpoint_priv;

	/* hardware */
	pthread_mutex_t hw_lock;
	uint32_t cr0;
	uint32_t gerror;
	uint32_t gerrorn;
	struct smmu_hwq evtq;
	struct smmu_hwq priq;
	struct smmu_hwq cmdq;
	struct iopf_smmuv3_txn **stags;
	struct cds_list_head stall_wait;
	struct cds_list_head txns;
	struct iopf_smmuv3_stats stats;
	pthread_cond_t irq_cond;
	bool evtq_irq;
	bool priq_irq;
	bool stopping;

	/* stream table */
	pthread_mutex_t masters_lock;
	struct cds_list_head masters;

	/* root port: PCIe endpoints (port.c) */
	struct iopf_pci_port_table ports;

	/* driver */
	pthread_mutex_t cmdq_mutex;
	pthread_mutex_t evtq_mutex;
	pthread_mutex_t priq_mutex;
	struct smmu_llq evtq_llq;
	struct smmu_llq priq_llq;
	struct smmu_llq cmdq_llq;
	bool threads;
	pthread_t evtq_thread;
	pthread_t priq_thread;
};

/* hw.c: registers, queues, interrupts, traces */
int smmu_hwq_init(struct smmu_hwq *q, unsigned int log2size, size_t ent_size);
void smmu_hwq_destroy(struct smmu_hwq *q);
void smmu_hwq_write(struct smmu_hwq *q, const uint64_t *ent);
void smmu_hw_read_entry(struct iopf_smmuv3 *smmu, struct smmu_hwq *q,
			uint32_t cons, uint64_t *ent);
uint32_t smmu_hw_read_reg(struct iopf_smmuv3 *smmu, uint32_t offset);
void smmu_hw_write_reg(struct iopf_smmuv3 *smmu, uint32_t offset, uint32_t val);
void smmu_raise_irq_locked(struct iopf_smmuv3 *smmu, bool *irq);
void smmu_trace(struct iopf_smmuv3 *smmu, uint32_t type, uint32_t from,
		uint32_t to, const char *name, uint32_t sid, uint32_t pasid,
		const void *desc, size_t desc_len);
void smmu_trace_response(struct iopf_smmuv3 *smmu, uint32_t from,
			 uint32_t origin, const char *name, uint32_t sid,
			 uint32_t pasid, uint16_t grpid, int32_t code);

/* stall.c: the stall model */
void smmu_evtq_write_locked(struct iopf_smmuv3 *smmu,
			    const struct iopf_smmuv3_event *evt);
void smmu_stall_flush_locked(struct iopf_smmuv3 *smmu);
int smmu_txn_run(struct iopf_smmuv3 *smmu, struct iopf_smmuv3_txn *txn);
void smmu_txn_put(struct iopf_smmuv3_txn *txn);
void smmu_resume_locked(struct iopf_smmuv3 *smmu,
			const struct iopf_smmuv3_cmd *cmd,
			struct smmu_effect *fx);
void smmu_stall_term_locked(struct iopf_smmuv3 *smmu, uint32_t sid,
			    uint32_t nr_sids);
void smmu_stall_abort_all(struct iopf_smmuv3 *smmu);

/* pri.c: the PRI queue write path and PRG Responses */
void smmu_send_prg_response(struct iopf_smmuv3 *smmu,
			    const struct smmu_effect *fx);

/* port.c: PCIe endpoints */
void smmu_port_deliver(struct iopf_smmuv3 *smmu, const struct smmu_effect *fx);
void smmu_ports_release(struct iopf_smmuv3 *smmu);

/* cmdq.c: command consumption, and the driver's issue path */
void smmu_cmdq_consume_locked(struct iopf_smmuv3 *smmu, struct smmu_effect *fx);
int arm_smmu_cmdq_issue_cmd(struct iopf_smmuv3 *smmu,
			    const struct iopf_smmuv3_cmd *cmd);

/* masters (smmu.c) */
struct smmu_master *smmu_find_master_locked(struct iopf_smmuv3 *smmu,
					    uint32_t sid);

/* driver queue helpers (evtq.c), the kernel's queue_* functions */
int smmu_queue_remove_raw(struct iopf_smmuv3 *smmu, struct smmu_hwq *q,
			  struct smmu_llq *llq, uint32_t cons_reg,
			  uint64_t *ent, const char *name);
int smmu_queue_sync_prod_in(struct iopf_smmuv3 *smmu, struct smmu_llq *llq,
			    uint32_t prod_reg);
void smmu_queue_sync_cons_ovf(struct iopf_smmuv3 *smmu, struct smmu_hwq *q,
			      struct smmu_llq *llq, uint32_t cons_reg);

/* driver threads (evtq.c, priq.c) */
int arm_smmu_evtq_thread(struct iopf_smmuv3 *smmu);
int arm_smmu_priq_thread(struct iopf_smmuv3 *smmu);
void arm_smmu_page_response(struct iopf_device *dev,
			    const struct iopf_fault *evt,
			    const struct iopf_page_response *resp);
int arm_smmu_set_dev_pasid(struct iopf_device *dev, uint32_t pasid,
			   struct iopf_domain *domain);

#endif /* IOPF_HW_SMMUV3_PRIV_H */
