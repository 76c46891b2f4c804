/* SPDX-License-Identifier: MIT */
/*
 * Private state of the PCIe PRI endpoint model.
 *
 * Locking: ep->lock protects the PRI registers, the credit count, the PRG
 * Index table, the stopped-PASID list, the waiters and the statistics.
 * It is never held across a port operation, a trace sink call or the
 * response callback, so an IOMMU model may answer from inside page_request.
 */
#ifndef IOPF_HW_PCI_PRIV_H
#define IOPF_HW_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <iopf/hw/pci.h>

#include "iommu-priv.h"

enum prg_state {
	PRG_FREE = 0,
	PRG_OUTSTANDING, /* waiting for its PRG Response */
	PRG_ORPHAN, /* its PASID was stopped with a Stop Marker */
};

/* A DMA waiting for the response of its group (lives on the DMA's stack). */
struct prg_waiter {
	bool done;
	int err; /* 0: @code is valid; else why the wait ended */
	uint8_t code;
};

struct prg_slot {
	uint8_t state;
	bool pasid_present;
	uint32_t pasid;
	uint16_t nr_reqs; /* credits held */
	struct prg_waiter *waiter;
};

struct iopf_pci_endpoint {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	char *name;
	uint16_t rid;
	unsigned int timeout_ms;
	unsigned int max_retries;
	iopf_pci_response_cb_t response_cb;
	void *cb_priv;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* responses, credits, PRG Indexes, sends */
	/* PRI capability */
	uint16_t ctrl;
	uint16_t status;
	uint32_t capacity;
	uint32_t alloc;
	/* request tracking */
	uint32_t credits_used;
	uint16_t next_prgi;
	unsigned int sending; /* groups being posted right now */
	struct prg_slot prg[IOPF_PCI_NR_PRGI];
	uint32_t *stopped; /* stopped PASIDs */
	size_t nr_stopped, max_stopped;
	/* the root port */
	bool connected;
	struct iopf_pci_port_ops port;
	void *port_priv;
	struct iopf_pci_endpoint_stats stats;
};

/* pri.c */
uint32_t pri_allocation(const struct iopf_pci_endpoint *ep);
bool pri_pasid_stopped(const struct iopf_pci_endpoint *ep, uint32_t pasid);
int pri_send_group(struct iopf_pci_endpoint *ep, uint32_t pasid, uint32_t perm,
		   const uint64_t *addrs, unsigned int n,
		   struct prg_waiter *waiter, bool block, uint16_t *prgi);
int pri_wait(struct iopf_pci_endpoint *ep, struct prg_waiter *waiter);
int pri_wait_step(struct iopf_pci_endpoint *ep,
		  const struct timespec *deadline);
void pri_deadline(const struct iopf_pci_endpoint *ep,
		  struct timespec *deadline);
/* Which way a traced endpoint event goes, for the diagrams' arrows. */
enum pri_dir {
	PRI_TO_HW, /* a message the endpoint sends (request, stop marker) */
	PRI_FROM_HW, /* a message it receives (PRG Response, invalidation) */
	PRI_FROM_DRIVER, /* software writes its PRI capability */
	PRI_LOCAL, /* the endpoint's own step (a DMA, a PASID stopped) */
};

void pri_trace(struct iopf_pci_endpoint *ep, enum pri_dir dir, const char *what,
	       uint32_t pasid, uint64_t addr, uint32_t grpid, int32_t code,
	       int32_t ret, uint32_t count);

#endif /* IOPF_HW_PCI_PRIV_H */
