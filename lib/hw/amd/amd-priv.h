/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the AMD IOMMU model (hardware and driver).
 *
 * Lock order (outer first):
 *   amd->ppr_mutex     (driver: one PPR-log consumer at a time)
 *   amd->cmd_mutex     (driver: one command issuer at a time)
 *   amd->ports.lock    (PCIe endpoints; held while delivering a response)
 *   amd->devs_lock     (the device table)
 *   amd->hw_lock       (registers, the PPR log, the command buffer)
 * No model lock but ppr_mutex/cmd_mutex/ports.lock is held while calling
 * into the core or out to an endpoint.
 */
#ifndef IOPF_HW_AMD_PRIV_H
#define IOPF_HW_AMD_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/list.h>

#include <iopf/hw/amd.h>
#include <iopf/trace.h>

#include "hw/pci/port-table.h"
#include "iommu-priv.h"

#define AMD_PPR_DEFAULT_ENTRIES 512
#define AMD_PPR_MIN_ENTRIES	256
#define AMD_PPR_MAX_ENTRIES	32768
#define AMD_CMD_ENTRIES		256
#define AMD_LOOP_TIMEOUT	2000

struct amd_dev {
	struct cds_list_head node;
	uint16_t devid;
	bool pri_tlp; /* COMPLETE_PPR carries the PASID */
	bool ppr; /* on the fault queue */
	struct iopf_device *dev;
};

/* An entry whose memory write the erratum delays. */
struct amd_late_write {
	uint32_t offset;
	uint64_t raw[2];
	unsigned int polls_left;
};

/* What a consumed command asks the world outside the IOMMU to do. */
struct amd_prg_resp {
	bool valid;
	uint16_t devid;
	uint16_t prgi;
	uint8_t code;
	bool pasid_valid;
	uint32_t pasid;
};

struct iopf_amd {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu;
	struct iopf_queue *iopf_queue;
	char *name;

	iopf_amd_prg_response_t prg_response;
	void *endpoint_priv;
	bool irq_before_entry;
	unsigned int erratum_polls;
	unsigned int loop_timeout;

	/* hardware */
	pthread_mutex_t hw_lock;
	uint64_t control;
	uint64_t status;
	uint64_t ppr_log_base; /* the MMIO_PPR_LOG register */
	uint64_t *ppr_log;
	uint32_t ppr_log_size; /* bytes */
	uint32_t ppr_head; /* byte offsets */
	uint32_t ppr_tail;
	struct amd_late_write *late; /* FIFO of delayed writes */
	unsigned int nr_late;
	uint32_t *cmd_buf;
	uint32_t cmd_head;
	uint32_t cmd_tail;
	struct iopf_amd_stats stats;
	pthread_cond_t irq_cond;
	bool ppr_irq;
	bool stopping;

	/* device table */
	pthread_mutex_t devs_lock;
	struct cds_list_head devs;

	/* root port */
	struct iopf_pci_port_table ports;

	/* driver */
	pthread_mutex_t ppr_mutex;
	pthread_mutex_t cmd_mutex;
	bool threads;
	pthread_t ppr_thread;
};

/* log.c: hardware */
void amd_hw_init_log(struct iopf_amd *amd, unsigned int entries);
uint64_t amd_hw_read_reg(struct iopf_amd *amd, uint32_t offset);
void amd_hw_write_reg(struct iopf_amd *amd, uint32_t offset, uint64_t val);
void amd_hw_read_ppr_slot(struct iopf_amd *amd, uint32_t offset,
			  uint64_t raw[2]);
void amd_hw_zero_ppr_slot(struct iopf_amd *amd, uint32_t offset);
int amd_hw_log_raw(struct iopf_amd *amd, const uint64_t raw[2]);
void amd_hw_cmd_consume(struct iopf_amd *amd);
void amd_trace(struct iopf_amd *amd, uint32_t type, uint32_t from, uint32_t to,
	       const char *name, uint32_t devid, uint32_t pasid,
	       const void *desc, size_t desc_len);
void amd_trace_response(struct iopf_amd *amd, uint32_t from, uint32_t origin,
			const char *name, uint32_t devid, uint32_t pasid,
			uint16_t grpid, int32_t code);

/* port.c */
void amd_port_deliver(struct iopf_amd *amd, const struct amd_prg_resp *r);
void amd_ports_release(struct iopf_amd *amd);

/* devices (amd.c) */
struct amd_dev *amd_find_dev_locked(struct iopf_amd *amd, uint16_t devid);

/* driver (ppr.c, cmd.c) */
int amd_iommu_queue_command(struct iopf_amd *amd, const uint32_t raw[4]);
int amd_iommu_complete_ppr(struct iopf_amd *amd, uint16_t devid, uint32_t pasid,
			   uint32_t status, uint32_t tag);
void amd_iommu_page_response(struct iopf_device *dev,
			     const struct iopf_fault *evt,
			     const struct iopf_page_response *resp);
int amd_iommu_handle_ppr_irq(struct iopf_amd *amd);
int amd_iommu_poll_ppr_log(struct iopf_amd *amd);

#endif /* IOPF_HW_AMD_PRIV_H */
