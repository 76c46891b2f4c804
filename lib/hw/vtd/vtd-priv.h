/* SPDX-License-Identifier: MIT */
/*
 * Private state of the VT-d model.
 *
 * Hardware (regs.c, qi.c) and driver (prq.c) share this structure the way
 * the kernel's intel_iommu shares the MMIO registers: the driver only goes
 * through the register accessors and the rings.
 *
 * Lock order (outer first):
 *   prq_mutex   serialises the prq thread body (iopf_vtd_process_prq())
 *   qi_lock     the invalidation queue; descriptors run under it, in order
 *   eps_lock    (rwlock) the RID -> endpoint table; read-held to deliver
 *   endpoint    (its own lock, in lib/hw/pci)
 *   hw_lock     registers and PRQ ring; a leaf: nothing is called under it
 *               except the event delivery, which takes irq_lock
 *   irq_lock    the MSI (irq_pending) and the prq_complete sequence
 * Core locks may be taken under prq_mutex (reporting) and qi_lock is taken
 * under the core's fault-param lock (page_response).
 */
#ifndef IOPF_HW_VTD_PRIV_H
#define IOPF_HW_VTD_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#include "iommu-priv.h"

#define VTD_QI_ENTRIES	  256
#define VTD_QI_MAX_SUBMIT 64
#define VTD_DID		  1 /* the one domain ID the model uses */
#define VTD_QI_STATUS_BASE \
	0xfed90000ull /* "physical" address of the status page */

struct vtd_ep {
	uint16_t rid;
	struct iopf_pci_endpoint *ep;
};

struct vtd_stats {
	atomic_uint_fast64_t v[14];
};

enum {
	VS_PRQ_WRITTEN,
	VS_PRQ_DISCARDED,
	VS_AUTO_SUCCESS,
	VS_OVERFLOWS,
	VS_EVENTS,
	VS_REPORTED,
	VS_BAD_REQUESTS,
	VS_BAD_RESPONSES,
	VS_STOP_MARKERS,
	VS_PRO_CLEARED,
	VS_QI_DESCS,
	VS_PRG_RESPONSES,
	VS_DRAINS,
	VS_DRAIN_RETRIES,
};

struct iopf_vtd {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu;
	struct iopf_queue *queue;
	const char *name; /* the IOMMU's */
	unsigned int resp_encoding;
	unsigned int va_bits;

	/* hardware: PRQ registers and ring */
	pthread_mutex_t hw_lock;
	void *prq_mem;
	uint8_t *prq; /* 4 KiB aligned inside prq_mem */
	size_t prq_bytes;
	uint64_t pqh, pqt, pqa;
	uint32_t prs, pectl, pedata, peaddr, peuaddr;

	/* hardware: invalidation queue */
	pthread_mutex_t qi_lock;
	void *iq_mem;
	uint8_t *iq;
	uint64_t iqh, iqt, iqa;
	uint32_t qi_status[VTD_QI_ENTRIES]; /* the status page */

	/* root port: endpoints by RID */
	pthread_rwlock_t eps_lock;
	struct vtd_ep *eps;
	size_t nr_eps, max_eps;

	/* driver: prq thread, interrupt, prq_complete */
	pthread_mutex_t prq_mutex;
	pthread_mutex_t irq_lock;
	pthread_cond_t irq_cond;
	pthread_cond_t done_cond;
	bool irq_pending;
	bool stopping;
	bool thread_running;
	uint64_t prq_seq;
	pthread_t thread;

	struct vtd_stats stats;
};

static inline void vtd_stat_inc(struct iopf_vtd *vtd, unsigned int i)
{
	atomic_fetch_add_explicit(&vtd->stats.v[i], 1, memory_order_relaxed);
}

/* desc.c: descriptors the driver builds for the drain */
void vtd_iotlb_inv_desc(struct iopf_vtd_desc *desc, uint16_t did,
			bool pasid_present, uint32_t pasid);
void vtd_dev_tlb_inv_desc(struct iopf_vtd_desc *desc, uint16_t sid,
			  bool pasid_present, uint32_t pasid);
int vtd_dev_tlb_inv_target(const struct iopf_vtd_desc *desc, uint16_t *sid,
			   bool *pasid_present, uint32_t *pasid);

/* regs.c */
void vtd_regs_init(struct iopf_vtd *vtd, unsigned int pqs);
void vtd_trace_desc(struct iopf_vtd *vtd, uint32_t type, uint32_t from,
		    uint32_t to, const struct iopf_vtd_desc *desc,
		    uint16_t rid);

/* vtd.c: the root port */
void vtd_deliver_response(struct iopf_vtd *vtd,
			  const struct iopf_pci_prg_response *resp);
void vtd_deliver_ats_inv(struct iopf_vtd *vtd, uint16_t sid, bool pasid_present,
			 uint32_t pasid);

/* qi.c */
int vtd_qi_submit_sync(struct iopf_vtd *vtd, const struct iopf_vtd_desc *descs,
		       unsigned int count, bool wait_drain);

/* prq.c */
int vtd_prq_event(struct iopf_vtd *vtd);
void vtd_raise_irq(struct iopf_vtd *vtd);
int vtd_prq_thread_start(struct iopf_vtd *vtd);
void vtd_prq_thread_stop(struct iopf_vtd *vtd);
void vtd_page_response(struct iopf_device *dev, const struct iopf_fault *evt,
		       const struct iopf_page_response *msg);
void vtd_remove_dev_pasid(struct iopf_device *dev, uint32_t pasid,
			  struct iopf_domain *domain);

#endif /* IOPF_HW_VTD_PRIV_H */
