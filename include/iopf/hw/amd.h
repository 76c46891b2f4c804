/* SPDX-License-Identifier: MIT */
/*
 * libiopf - AMD IOMMU backend: the PPR log and COMPLETE_PPR_REQUEST.
 *
 * The hardware model keeps the Peripheral Page Request log as a ring of
 * 16-byte entries (DeviceID, PASID split across QW0 31:16 and 45:42, tag =
 * PRG index + Last bit 9, EXEC/READ/WRITE/US/RVSD/GN flags, Type, address)
 * with head and tail registers, the PprOverflow/PprInt/PprRun status bits
 * and the control bits of the log; the command buffer takes 16-byte
 * COMPLETE_PPR_REQUEST commands. An option delivers the interrupt before
 * the entry is written (the hardware erratum Linux polls for).
 *
 * The driver side is Linux's drivers/iommu/amd/ppr.c: poll the log, zero
 * each entry and advance the head before handling it; an unknown request
 * type or device gets no response; GN = 0 (no PASID), the reserved-format
 * flag, PASID 0 or a PASID beyond the device's max_pasids are answered
 * FAILURE; everything else is reported with PASID_VALID | NEEDS_PASID,
 * PRIV when US is clear, LAST_PAGE from the tag. page_response passes the
 * generic response code through as the 4-bit status (so FAILURE goes out
 * as the reserved PCIe code 2). An overflow restarts the log.
 *
 * Thread safety: every function may be called from any thread. With
 * iopf_amd_attr.nr_threads == 0 nothing runs on its own: the caller drives
 * the driver with iopf_amd_handle_ppr_irq() (or iopf_amd_pump()) and
 * iopf_queue_run() on iopf_amd_iopf_queue(), which makes a run
 * reproducible. Otherwise a PPR-log interrupt thread and nr_threads
 * fault-queue workers run until iopf_amd_free().
 */
#ifndef IOPF_HW_AMD_H
#define IOPF_HW_AMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_iommu;
struct iopf_device;
struct iopf_queue;
struct iopf_amd;
struct iopf_pci_endpoint;

#define IOPF_AMD_PPR_ENTRY_SIZE 16
#define IOPF_AMD_CMD_SIZE	16

/* Flags of a PPR log entry (the 12-bit field at QW0 59:48) */
#define IOPF_AMD_PPR_FLAG_EXEC	0x002
#define IOPF_AMD_PPR_FLAG_READ	0x004
#define IOPF_AMD_PPR_FLAG_WRITE 0x020
#define IOPF_AMD_PPR_FLAG_US	0x040 /* 1: user, 0: supervisor */
#define IOPF_AMD_PPR_FLAG_RVSD	0x080 /* a reserved bit was set: bad format */
#define IOPF_AMD_PPR_FLAG_GN	0x100 /* guest/PASID valid */

#define IOPF_AMD_PPR_REQ_FAULT 0x1 /* Type: page service request */
#define IOPF_AMD_PPR_TAG_LAST  0x200 /* Last bit of the tag */

#define IOPF_AMD_CMD_COMPLETE_PPR 0x7

/* MMIO registers */
#define IOPF_AMD_MMIO_CONTROL  0x0018
#define IOPF_AMD_MMIO_PPR_LOG  0x0038 /* base 51:12, length 59:56 */
#define IOPF_AMD_MMIO_CMD_HEAD 0x2000
#define IOPF_AMD_MMIO_CMD_TAIL 0x2008
#define IOPF_AMD_MMIO_STATUS   0x2020
#define IOPF_AMD_MMIO_PPR_HEAD 0x2030
#define IOPF_AMD_MMIO_PPR_TAIL 0x2038

/* Control register bits */
#define IOPF_AMD_CONTROL_IOMMU_EN  (1ull << 0)
#define IOPF_AMD_CONTROL_CMDBUF_EN (1ull << 12)
#define IOPF_AMD_CONTROL_PPRLOG_EN (1ull << 13)
#define IOPF_AMD_CONTROL_PPRINT_EN (1ull << 14)
#define IOPF_AMD_CONTROL_PPR_EN	   (1ull << 15)

/* Status register bits (PprOverflow and PprInt are write-1-to-clear) */
#define IOPF_AMD_STATUS_PPR_OVERFLOW (1ull << 5)
#define IOPF_AMD_STATUS_PPR_INT	     (1ull << 6)
#define IOPF_AMD_STATUS_PPR_RUN	     (1ull << 7)

/**
 * struct iopf_amd_ppr_entry - the decoded fields of a PPR log entry
 * @devid: DeviceID, QW0 15:0
 * @pasid: PASID, QW0 31:16 (bits 15:0) and 45:42 (bits 19:16)
 * @prgi: PRG index, tag bits 8:0 (QW0 40:32)
 * @last: last request of the group, tag bit 9 (QW0 41)
 * @flags: IOPF_AMD_PPR_FLAG_*, QW0 59:48
 * @type: request type, QW0 63:60 (IOPF_AMD_PPR_REQ_FAULT; 0 = not written)
 * @addr: the address, QW1
 */
struct iopf_amd_ppr_entry {
	uint16_t devid;
	uint32_t pasid;
	uint16_t prgi;
	bool last;
	uint16_t flags;
	uint8_t type;
	uint64_t addr;
};

/**
 * iopf_amd_ppr_encode() - build a 16-byte PPR log entry
 * @e: the fields
 * @raw: the two quad words
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, @pasid above 20 bits, @prgi above 9
 * bits, @flags above 12 bits, @type above 4 bits).
 */
int iopf_amd_ppr_encode(const struct iopf_amd_ppr_entry *e, uint64_t raw[2]);

/**
 * iopf_amd_ppr_decode() - decode a 16-byte PPR log entry
 * @raw: the two quad words
 * @e: the fields
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if an argument is NULL.
 */
int iopf_amd_ppr_decode(const uint64_t raw[2], struct iopf_amd_ppr_entry *e);

/**
 * struct iopf_amd_complete_ppr - COMPLETE_PPR_REQUEST (opcode 0x7)
 * @devid: DeviceID, DW0 15:0
 * @pasid: PASID, DW1 19:0 (meaningful with @gn)
 * @gn: the response carries the PASID, DW2 bit 2
 * @tag: completion tag (PRG index), DW3 8:0
 * @status: the PCIe response code, DW3 15:12
 */
struct iopf_amd_complete_ppr {
	uint16_t devid;
	uint32_t pasid;
	bool gn;
	uint16_t tag;
	uint8_t status;
};

/**
 * iopf_amd_complete_ppr_encode() - build a COMPLETE_PPR_REQUEST command
 * @c: the fields
 * @raw: the four double words
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, @pasid above 20 bits, @tag above 9
 * bits, @status above 4 bits).
 */
int iopf_amd_complete_ppr_encode(const struct iopf_amd_complete_ppr *c,
				 uint32_t raw[4]);

/**
 * iopf_amd_complete_ppr_decode() - decode a COMPLETE_PPR_REQUEST command
 * @raw: the four double words
 * @c: the fields
 *
 * Context: any thread.
 * Return: 0, -EINVAL if an argument is NULL, -EPROTO if the opcode is not
 * 0x7 or a reserved bit is set (the hardware's ILLEGAL_COMMAND_ERROR).
 */
int iopf_amd_complete_ppr_decode(const uint32_t raw[4],
				 struct iopf_amd_complete_ppr *c);

/**
 * typedef iopf_amd_prg_response_t - a PRG Response leaves the IOMMU
 * @priv: iopf_amd_attr.endpoint_priv
 * @devid: destination DeviceID
 * @prgi: PRG index
 * @code: the 4-bit status of the command, passed through
 * @pasid_valid: the response carries a PASID (GN)
 * @pasid: the PASID, if @pasid_valid
 */
typedef void (*iopf_amd_prg_response_t)(void *priv, uint16_t devid,
					uint16_t prgi, uint8_t code,
					bool pasid_valid, uint32_t pasid);

/**
 * struct iopf_amd_attr - how to build an AMD IOMMU
 * @size: sizeof(struct iopf_amd_attr), for versioning
 * @name: name of the IOMMU (copied); NULL: "amd-iommu"
 * @nr_threads: 0 for manual mode; else the PPR-log interrupt thread runs
 *	and the fault queue gets @nr_threads workers
 * @ppr_log_entries: entries of the PPR log, a power of two from 256 to
 *	32768; 0: 512 (Linux's size)
 * @irq_before_entry: the erratum: the interrupt (and the tail update) come
 *	before the entry is written to memory
 * @erratum_polls: with @irq_before_entry, how many reads of the slot by the
 *	driver return an unwritten entry before the write lands
 * @loop_timeout: how many times the driver polls for a written entry
 *	(Linux's LOOP_TIMEOUT); 0: 2000
 * @prg_response: optional observer of every PRG Response; a connected
 *	endpoint with that DeviceID gets them too
 * @endpoint_priv: passed to @prg_response
 */
struct iopf_amd_attr {
	size_t size;
	const char *name;
	unsigned int nr_threads;
	unsigned int ppr_log_entries;
	bool irq_before_entry;
	unsigned int erratum_polls;
	unsigned int loop_timeout;
	iopf_amd_prg_response_t prg_response;
	void *endpoint_priv;
};

/**
 * iopf_amd_new() - create an AMD IOMMU model and its driver
 * @ctx: the context
 * @attr: the configuration; NULL for the defaults
 * @out: the new IOMMU model; untouched on failure
 *
 * Registers an IOMMU with the core, allocates its fault queue
 * ("amdvi-<name>"), and enables the PPR log as amd_iommu_enable_ppr_log()
 * does (PPR, head = tail = 0, PPR interrupt, PPR log). Freed with its
 * context if the caller does not free it first.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @ctx or @out, bad @attr), -ENOMEM, or the error
 * of pthread_create().
 */
int iopf_amd_new(struct iopf_ctx *ctx, const struct iopf_amd_attr *attr,
		 struct iopf_amd **out);

/**
 * iopf_amd_free() - stop the thread and free the model, its IOMMU and its
 * devices
 * @amd: the model, or NULL
 *
 * Context: not from a handler, a work function or a model callback.
 */
void iopf_amd_free(struct iopf_amd *amd);

/**
 * iopf_amd_iommu() - the IOMMU the model registered with the core
 * @amd: the model
 *
 * Context: any thread.
 * Return: the IOMMU, or NULL if @amd is NULL.
 */
struct iopf_iommu *iopf_amd_iommu(struct iopf_amd *amd);

/**
 * iopf_amd_iopf_queue() - the fault queue PPRs are reported on
 * @amd: the model
 *
 * Context: any thread.
 * Return: the queue, or NULL if @amd is NULL.
 */
struct iopf_queue *iopf_amd_iopf_queue(struct iopf_amd *amd);

/**
 * struct iopf_amd_dev_attr - a device behind the IOMMU
 * @size: sizeof(struct iopf_amd_dev_attr), for versioning
 * @devid: DeviceID (PCI BDF), also the core device's ID
 * @max_pasids: as iopf_device_attr.max_pasids
 * @pri: PRI is enabled: the device is added to the fault queue
 *	(amd_iommu_iopf_add_device())
 * @prg_resp_pasid_required: the driver's pri_tlp: COMPLETE_PPR carries the
 *	PASID (GN)
 * @name: name for traces (copied); NULL: derived from @devid
 * @drvdata: returned by iopf_device_drvdata()
 */
struct iopf_amd_dev_attr {
	size_t size;
	uint16_t devid;
	uint32_t max_pasids;
	bool pri;
	bool prg_resp_pasid_required;
	const char *name;
	void *drvdata;
};

/**
 * iopf_amd_add_device() - add a device behind the IOMMU
 * @amd: the model
 * @attr: the device
 * @out: the core device (owned by the model); untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, bad @attr), -EEXIST, -ENOMEM.
 */
int iopf_amd_add_device(struct iopf_amd *amd,
			const struct iopf_amd_dev_attr *attr,
			struct iopf_device **out);

/**
 * iopf_amd_log_ppr() - the IOMMU logs a peripheral page request
 * @amd: the model
 * @e: the entry to write (written as given: tests may log malformed ones)
 *
 * Dropped when PPR logging is off or stopped by an overflow; a full log
 * sets PprOverflow, clears PprRun and stops logging. Otherwise the entry is
 * written at the tail (late, with @irq_before_entry), the tail advances and
 * PprInt is raised.
 *
 * Context: any thread.
 * Return: 0 (logged), -ENOSPC (dropped: log off, stopped or full),
 * -EINVAL (NULL argument, bad field).
 */
int iopf_amd_log_ppr(struct iopf_amd *amd, const struct iopf_amd_ppr_entry *e);

/**
 * iopf_amd_connect() - plug a PCIe endpoint into the IOMMU
 * @amd: the model
 * @ep: the endpoint; its DeviceID is its RID, unique on @amd
 *
 * Page requests of @ep are logged (GN and the PASID from the prefix, US =
 * not Privileged, Type = 1); its ATS translations go to
 * iopf_device_translate() of the device with that DeviceID; PRG Responses
 * for it come back to it. In manual mode the port pumps with
 * iopf_amd_pump().
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL), -EEXIST (DeviceID taken), -EBUSY (connected
 * elsewhere), -ENOMEM.
 */
int iopf_amd_connect(struct iopf_amd *amd, struct iopf_pci_endpoint *ep);

/**
 * iopf_amd_disconnect() - unplug an endpoint
 * @amd: the model
 * @ep: the endpoint
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL), -ENOENT (not connected to @amd).
 */
int iopf_amd_disconnect(struct iopf_amd *amd, struct iopf_pci_endpoint *ep);

/**
 * iopf_amd_handle_ppr_irq() - run the PPR-log interrupt thread once
 * @amd: the model
 *
 * Linux's amd_iommu_handle_irq() for the PPR log: while PprInt or
 * PprOverflow is set, clear them, poll the log, restart it after an
 * overflow, read the status again.
 *
 * Context: any thread; not from a handler.
 * Return: the number of entries consumed, or -EINVAL if @amd is NULL.
 */
int iopf_amd_handle_ppr_irq(struct iopf_amd *amd);

/**
 * iopf_amd_poll_ppr_log() - Linux's amd_iommu_poll_ppr_log(), once
 * @amd: the model
 *
 * Context: any thread; not from a handler.
 * Return: the number of entries consumed, or -EINVAL if @amd is NULL.
 */
int iopf_amd_poll_ppr_log(struct iopf_amd *amd);

/**
 * iopf_amd_pump() - make a manual-mode model progress
 * @amd: the model
 *
 * iopf_amd_handle_ppr_irq() and iopf_queue_run() until both are idle.
 *
 * Context: any thread, not from a handler, a work function or a callback.
 * Return: steps done, 0 when idle, or -EINVAL if @amd is NULL.
 */
int iopf_amd_pump(struct iopf_amd *amd);

/**
 * iopf_amd_read_reg() - read an MMIO register
 * @amd: the model
 * @offset: IOPF_AMD_MMIO_*
 * @val: the value
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, unknown register).
 */
int iopf_amd_read_reg(struct iopf_amd *amd, uint32_t offset, uint64_t *val);

/**
 * iopf_amd_write_reg() - write an MMIO register, as software would
 * @amd: the model
 * @offset: IOPF_AMD_MMIO_CONTROL, _STATUS (write 1 to clear), _PPR_HEAD
 * @val: the value
 *
 * Setting PprLogEn starts logging (PprRun); clearing it stops it. Writing
 * the head races with the driver: use it in manual mode.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL @amd, read-only or unknown register).
 */
int iopf_amd_write_reg(struct iopf_amd *amd, uint32_t offset, uint64_t val);

/**
 * struct iopf_amd_stats - counters of the model
 * @ppr_logged: entries written to the log
 * @ppr_dropped: requests not logged (off, stopped, full)
 * @overflows: times the log overflowed
 * @late_writes: entries written after their interrupt (erratum)
 * @cmds: commands consumed
 * @cmd_errors: commands rejected (ILLEGAL_COMMAND_ERROR)
 * @prg_responses: PRG Responses sent
 * @restarts: PPR log restarts by the driver
 */
struct iopf_amd_stats {
	uint64_t ppr_logged;
	uint64_t ppr_dropped;
	uint64_t overflows;
	uint64_t late_writes;
	uint64_t cmds;
	uint64_t cmd_errors;
	uint64_t prg_responses;
	uint64_t restarts;
};

/**
 * iopf_amd_get_stats() - read the counters
 * @amd: the model
 * @stats: where they go
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if an argument is NULL.
 */
int iopf_amd_get_stats(struct iopf_amd *amd, struct iopf_amd_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_HW_AMD_H */
