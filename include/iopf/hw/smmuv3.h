/* SPDX-License-Identifier: MIT */
/*
 * libiopf - Arm SMMUv3 backend: the stall model and the PRI queue.
 *
 * The hardware model keeps the event queue (32-byte records), the PRI queue
 * (16-byte entries) and the command queue (16-byte commands) in the layouts
 * of the SMMUv3 specification (IHI0070), with producer/consumer registers,
 * wrap bits and the OVFLG/OVACKFLG overflow protocol. Masters issue
 * transactions (iopf_smmuv3_dma()); a translation fault on a stream that is
 * configured to stall holds the transaction and writes a stall record
 * (STALL=1, STAG). PCIe endpoints send page requests to the PRI queue.
 *
 * The driver side does what Linux's arm-smmu-v3 driver does: the event
 * thread reports each stall as a single last-page fault and page_response
 * answers with CMD_RESUME; the PRI thread treats every PRI request as
 * unexpected and answers a last-in-group request with CMD_PRI_RESP "DENY"
 * (the specification's Response Failure).
 *
 * Thread safety: every function may be called from any thread. With
 * iopf_smmuv3_attr.nr_threads == 0 nothing runs on its own: the caller
 * drives the driver with iopf_smmuv3_process_evtq(),
 * iopf_smmuv3_process_priq() and iopf_queue_run() on iopf_smmuv3_iopf_queue(),
 * which makes a run reproducible. Otherwise an event thread and a PRI thread
 * (the kernel's threaded IRQ handlers) and nr_threads fault-queue workers run
 * until iopf_smmuv3_free().
 */
#ifndef IOPF_HW_SMMUV3_H
#define IOPF_HW_SMMUV3_H

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
struct iopf_smmuv3;
struct iopf_smmuv3_txn;
struct iopf_pci_endpoint;

/* Sizes of queue entries, in bytes */
#define IOPF_SMMUV3_EVT_SIZE  32
#define IOPF_SMMUV3_PRIQ_SIZE 16
#define IOPF_SMMUV3_CMD_SIZE  16

/* Event record IDs (spec §7.3) */
#define IOPF_SMMUV3_EVT_F_UUT		  0x01
#define IOPF_SMMUV3_EVT_C_BAD_STREAMID	  0x02
#define IOPF_SMMUV3_EVT_C_BAD_STE	  0x04
#define IOPF_SMMUV3_EVT_F_STREAM_DISABLED 0x06
#define IOPF_SMMUV3_EVT_C_BAD_SUBSTREAMID 0x08
#define IOPF_SMMUV3_EVT_C_BAD_CD	  0x0a
#define IOPF_SMMUV3_EVT_F_TRANSLATION	  0x10
#define IOPF_SMMUV3_EVT_F_ADDR_SIZE	  0x11
#define IOPF_SMMUV3_EVT_F_ACCESS	  0x12
#define IOPF_SMMUV3_EVT_F_PERMISSION	  0x13

/* Event record CLASS field */
#define IOPF_SMMUV3_EVT_CLASS_CD  0
#define IOPF_SMMUV3_EVT_CLASS_TTD 1
#define IOPF_SMMUV3_EVT_CLASS_IN  2

/**
 * struct iopf_smmuv3_event - the decoded fields of a 32-byte event record
 * @id: event ID, DW0 7:0
 * @ssv: SubstreamID valid, DW0 11
 * @ssid: SubstreamID (PASID), DW0 31:12
 * @sid: StreamID, DW0 63:32
 * @stag: stall tag, DW1 15:0
 * @stall: the transaction is stalled, DW1 31
 * @pnu: privileged, DW1 33
 * @ind: instruction fetch, DW1 34
 * @rnw: read (1) or write (0), DW1 35
 * @s2: stage-2 fault, DW1 39
 * @class: CLASS, DW1 41:40
 * @tt_read: the table walk was a read, DW1 44
 * @iova: input address, DW2
 * @ipa: intermediate physical address, DW3 51:12 (page aligned)
 */
struct iopf_smmuv3_event {
	uint8_t id;
	bool ssv;
	uint32_t ssid;
	uint32_t sid;
	uint16_t stag;
	bool stall;
	bool pnu;
	bool ind;
	bool rnw;
	bool s2;
	uint8_t class;
	bool tt_read;
	uint64_t iova;
	uint64_t ipa;
};

/**
 * iopf_smmuv3_event_encode() - build a 32-byte event record
 * @evt: the fields
 * @raw: the four little-endian double words
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, @ssid above 20 bits, @class above
 * 3, @ipa not page aligned or above 52 bits).
 */
int iopf_smmuv3_event_encode(const struct iopf_smmuv3_event *evt,
			     uint64_t raw[4]);

/**
 * iopf_smmuv3_event_decode() - decode a 32-byte event record
 * @raw: the four double words
 * @evt: the fields
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if an argument is NULL.
 */
int iopf_smmuv3_event_decode(const uint64_t raw[4],
			     struct iopf_smmuv3_event *evt);

/**
 * struct iopf_smmuv3_ppr - a PRI queue entry (a PCIe page request)
 * @sid: StreamID (requester), DW0 31:0
 * @ssid: SubstreamID (PASID), DW0 51:32
 * @priv: privileged mode requested, DW0 58
 * @exec: execute requested, DW0 59
 * @read: read requested, DW0 60
 * @write: write requested, DW0 61
 * @last: last request in the page request group, DW0 62
 * @ssv: the request has a PASID, DW0 63
 * @prgi: page request group index, DW1 8:0
 * @addr: page address, DW1 63:12
 *
 * A stop marker is @last with neither @read nor @write, and @ssv set.
 */
struct iopf_smmuv3_ppr {
	uint32_t sid;
	uint32_t ssid;
	bool priv;
	bool exec;
	bool read;
	bool write;
	bool last;
	bool ssv;
	uint16_t prgi;
	uint64_t addr;
};

/**
 * iopf_smmuv3_ppr_encode() - build a 16-byte PRI queue entry
 * @ppr: the fields
 * @raw: the two double words
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, @ssid above 20 bits, @prgi above 9
 * bits, @addr not page aligned).
 */
int iopf_smmuv3_ppr_encode(const struct iopf_smmuv3_ppr *ppr, uint64_t raw[2]);

/**
 * iopf_smmuv3_ppr_decode() - decode a 16-byte PRI queue entry
 * @raw: the two double words
 * @ppr: the fields
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if an argument is NULL.
 */
int iopf_smmuv3_ppr_decode(const uint64_t raw[2], struct iopf_smmuv3_ppr *ppr);

/* Command opcodes */
#define IOPF_SMMUV3_CMD_PRI_RESP   0x41
#define IOPF_SMMUV3_CMD_RESUME	   0x44
#define IOPF_SMMUV3_CMD_STALL_TERM 0x45
#define IOPF_SMMUV3_CMD_SYNC	   0x46

/* CMD_PRI_RESP Resp (spec names; Linux calls 0 "DENY", 1 "FAIL", 2 "SUCC") */
#define IOPF_SMMUV3_PRI_RESP_FAILURE 0 /* Response Failure: disables PRI */
#define IOPF_SMMUV3_PRI_RESP_INVALID 1 /* Invalid Request */
#define IOPF_SMMUV3_PRI_RESP_SUCCESS 2
#define IOPF_SMMUV3_PRI_RESP_ILLEGAL 3 /* CERROR_ILL */

/* CMD_RESUME {Ab, Ac} in DW0 13:12, Linux's names */
#define IOPF_SMMUV3_RESUME_TERM	 0 /* terminate, RAZ/WI */
#define IOPF_SMMUV3_RESUME_RETRY 1 /* retry as a new transaction */
#define IOPF_SMMUV3_RESUME_ABORT 2 /* terminate with an abort */
/* 3 (Ab=1, Ac=1) is a retry: Ab is ignored when Ac is set */

/* CMD_SYNC CS field */
#define IOPF_SMMUV3_SYNC_CS_NONE 0
#define IOPF_SMMUV3_SYNC_CS_IRQ	 1
#define IOPF_SMMUV3_SYNC_CS_SEV	 2

/**
 * struct iopf_smmuv3_cmd - the decoded fields of a 16-byte command
 * @opcode: DW0 7:0
 * @ssv: CMD_PRI_RESP: the response carries a PASID, DW0 11
 * @ssid: CMD_PRI_RESP: the PASID, DW0 31:12
 * @sid: CMD_PRI_RESP, CMD_RESUME, CMD_STALL_TERM: StreamID, DW0 63:32
 * @resp: CMD_PRI_RESP: Resp, DW1 13:12; CMD_RESUME: action, DW0 13:12
 * @grpid: CMD_PRI_RESP: PRG index, DW1 8:0
 * @stag: CMD_RESUME: stall tag, DW1 15:0
 * @cs: CMD_SYNC: completion signal, DW0 13:12
 * @msidata: CMD_SYNC: DW0 63:32
 * @msiaddr: CMD_SYNC: DW1 51:2 (4-byte aligned address)
 */
struct iopf_smmuv3_cmd {
	uint8_t opcode;
	bool ssv;
	uint32_t ssid;
	uint32_t sid;
	uint8_t resp;
	uint16_t grpid;
	uint16_t stag;
	uint8_t cs;
	uint32_t msidata;
	uint64_t msiaddr;
};

/**
 * iopf_smmuv3_cmd_encode() - build a 16-byte command
 * @cmd: the fields; those the opcode does not use are ignored
 * @raw: the two double words
 *
 * CMD_PRI_RESP with @resp 3 can be encoded: it is the illegal command the
 * hardware rejects with CERROR_ILL.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, unknown opcode, field too wide).
 */
int iopf_smmuv3_cmd_encode(const struct iopf_smmuv3_cmd *cmd, uint64_t raw[2]);

/**
 * iopf_smmuv3_cmd_decode() - decode a 16-byte command
 * @raw: the two double words
 * @cmd: the fields, filled even for an illegal command
 *
 * Context: any thread.
 * Return: 0, -EINVAL if an argument is NULL, or -EPROTO for a command the
 * hardware rejects with CERROR_ILL (unknown opcode, CMD_PRI_RESP Resp 0b11).
 */
int iopf_smmuv3_cmd_decode(const uint64_t raw[2], struct iopf_smmuv3_cmd *cmd);

/* Register offsets (page 0 and page 1 of the SMMU_ register file) */
#define IOPF_SMMUV3_CR0	      0x20
#define IOPF_SMMUV3_GERROR    0x60
#define IOPF_SMMUV3_GERRORN   0x64
#define IOPF_SMMUV3_CMDQ_PROD 0x98
#define IOPF_SMMUV3_CMDQ_CONS 0x9c
#define IOPF_SMMUV3_EVTQ_PROD 0x100a8
#define IOPF_SMMUV3_EVTQ_CONS 0x100ac
#define IOPF_SMMUV3_PRIQ_PROD 0x100c8
#define IOPF_SMMUV3_PRIQ_CONS 0x100cc

/* CR0 bits */
#define IOPF_SMMUV3_CR0_SMMUEN (1u << 0)
#define IOPF_SMMUV3_CR0_PRIQEN (1u << 1)
#define IOPF_SMMUV3_CR0_EVTQEN (1u << 2)
#define IOPF_SMMUV3_CR0_CMDQEN (1u << 3)

/* GERROR bits */
#define IOPF_SMMUV3_GERROR_CMDQ_ERR (1u << 0)

/* PROD/CONS: index and wrap bit in the low bits, overflow flag at 31 */
#define IOPF_SMMUV3_Q_OVF	   (1u << 31)
#define IOPF_SMMUV3_CMDQ_ERR_SHIFT 24
#define IOPF_SMMUV3_CMDQ_ERR_MASK  0x7fu
#define IOPF_SMMUV3_CERROR_NONE	   0
#define IOPF_SMMUV3_CERROR_ILL	   1

/* IDR0.STALL_MODEL */
#define IOPF_SMMUV3_STALL_MODEL_STALL  0 /* stall and terminate */
#define IOPF_SMMUV3_STALL_MODEL_TERM   1 /* terminate only: no stalls */
#define IOPF_SMMUV3_STALL_MODEL_FORCED 2 /* every stream stalls */

/**
 * typedef iopf_smmuv3_prg_response_t - a PRG Response leaves the SMMU
 * @priv: iopf_smmuv3_attr.endpoint_priv
 * @sid: destination StreamID (the endpoint's requester ID)
 * @prgi: page request group index
 * @code: the PCIe response code (0 Success, 1 Invalid Request, 0xf
 *	Response Failure)
 * @pasid_valid: the response carries a PASID prefix
 * @pasid: the PASID, if @pasid_valid
 *
 * Called without SMMU locks held; the endpoint may send a new page request
 * from it.
 */
typedef void (*iopf_smmuv3_prg_response_t)(void *priv, uint32_t sid,
					   uint16_t prgi, uint8_t code,
					   bool pasid_valid, uint32_t pasid);

/**
 * struct iopf_smmuv3_attr - how to build an SMMU
 * @size: sizeof(struct iopf_smmuv3_attr), for versioning
 * @name: name of the IOMMU (copied); NULL: "smmuv3"
 * @nr_threads: 0 for manual mode; else the event and PRI threads run and
 *	the fault queue gets @nr_threads workers
 * @evtq_log2size: log2 of the event queue entries; 0: 7 (at most 19)
 * @priq_log2size: log2 of the PRI queue entries; 0: 7 (at most 19)
 * @cmdq_log2size: log2 of the command queue entries; 0: 8 (at most 19)
 * @nr_stags: number of stall tags the model hands out; 0: 256 (at most
 *	65536). A stall with no free tag waits, like one with no queue space.
 * @stall_model: IDR0.STALL_MODEL (IOPF_SMMUV3_STALL_MODEL_*)
 * @term_model: IDR0.TERM_MODEL: a terminated transaction always aborts
 * @no_pri: IDR0.PRI clear: no PRI queue (PRIQEN stays 0)
 * @pps: IDR3.PPS: overflow auto-responses carry the request's PASID
 * @prg_response: optional observer of every PRG Response (CMD_PRI_RESP,
 *	auto responses); a connected endpoint with that RID gets them too
 * @endpoint_priv: passed to @prg_response
 */
struct iopf_smmuv3_attr {
	size_t size;
	const char *name;
	unsigned int nr_threads;
	unsigned int evtq_log2size;
	unsigned int priq_log2size;
	unsigned int cmdq_log2size;
	unsigned int nr_stags;
	unsigned int stall_model;
	bool term_model;
	bool no_pri;
	bool pps;
	iopf_smmuv3_prg_response_t prg_response;
	void *endpoint_priv;
};

/**
 * iopf_smmuv3_new() - create an SMMUv3 model and its driver
 * @ctx: the context
 * @attr: the configuration; NULL for the defaults
 * @out: the new SMMU; untouched on failure
 *
 * Registers an IOMMU with the core and allocates the fault queue the
 * event thread reports to (the kernel's evtq.iopf). The driver enables the
 * queues and the SMMU (CR0 = SMMUEN | PRIQEN | EVTQEN | CMDQEN). The SMMU
 * is freed with its context if the caller does not free it first.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @ctx or @out, bad @attr), -ENOMEM, or the error
 * of pthread_create().
 */
int iopf_smmuv3_new(struct iopf_ctx *ctx, const struct iopf_smmuv3_attr *attr,
		    struct iopf_smmuv3 **out);

/**
 * iopf_smmuv3_free() - stop the threads and free the SMMU, its IOMMU, its
 * masters and its transactions
 * @smmu: the SMMU, or NULL
 *
 * Stalled transactions are terminated (aborted). Transactions the caller
 * still holds stay readable until iopf_smmuv3_txn_put().
 *
 * Context: not from a handler, a work function or an SMMU callback.
 */
void iopf_smmuv3_free(struct iopf_smmuv3 *smmu);

/**
 * iopf_smmuv3_iommu() - the IOMMU the SMMU registered with the core
 * @smmu: the SMMU
 *
 * Context: any thread.
 * Return: the IOMMU, or NULL if @smmu is NULL.
 */
struct iopf_iommu *iopf_smmuv3_iommu(struct iopf_smmuv3 *smmu);

/**
 * iopf_smmuv3_iopf_queue() - the fault queue stall faults are reported on
 * @smmu: the SMMU
 *
 * In manual mode, run it with iopf_queue_run().
 *
 * Context: any thread.
 * Return: the queue, or NULL if @smmu is NULL.
 */
struct iopf_queue *iopf_smmuv3_iopf_queue(struct iopf_smmuv3 *smmu);

/**
 * struct iopf_smmuv3_master_attr - a master (a client device of the SMMU)
 * @size: sizeof(struct iopf_smmuv3_master_attr), for versioning
 * @sid: its first StreamID, also the core device's ID
 * @nr_sids: how many consecutive StreamIDs it has; 0 means 1
 * @max_pasids: SubstreamIDs it may use, as iopf_device_attr.max_pasids
 * @stall: the master can stall ("dma-can-stall"): its streams are
 *	configured to stall on translation faults
 * @ppar: STE.PPAR: PRG Responses for PASID requests carry the PASID
 * @name: name for traces (copied); NULL: derived from @sid
 * @drvdata: returned by iopf_device_drvdata()
 *
 * As in Linux, IOPF is enabled (the device is added to the SMMU's fault
 * queue) only for a stall master with exactly one StreamID.
 */
struct iopf_smmuv3_master_attr {
	size_t size;
	uint32_t sid;
	uint32_t nr_sids;
	uint32_t max_pasids;
	bool stall;
	bool ppar;
	const char *name;
	void *drvdata;
};

/**
 * iopf_smmuv3_add_master() - add a master behind the SMMU
 * @smmu: the SMMU
 * @attr: the master
 * @out: the core device (owned by the SMMU); untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, bad @attr), -EEXIST (a StreamID is
 * taken), -ENOMEM, or the errors of iopf_device_new().
 */
int iopf_smmuv3_add_master(struct iopf_smmuv3 *smmu,
			   const struct iopf_smmuv3_master_attr *attr,
			   struct iopf_device **out);

/**
 * iopf_smmuv3_remove_master() - remove a master
 * @smmu: the SMMU
 * @sid: its first StreamID
 *
 * Follows the stream shutdown sequence of spec §4.7.2: new transactions
 * are terminated, CMD_STALL_TERM aborts the stalled ones, then the device
 * is freed (answering its pending groups).
 *
 * Context: not from a handler or a work function.
 * Return: 0, -EINVAL if @smmu is NULL, -ENOENT if no master has @sid.
 */
int iopf_smmuv3_remove_master(struct iopf_smmuv3 *smmu, uint32_t sid);

/** enum iopf_smmuv3_txn_state - where a transaction is */
enum iopf_smmuv3_txn_state {
	IOPF_SMMUV3_TXN_STALLED = 1, /* held; its stall record may still wait */
	IOPF_SMMUV3_TXN_DONE, /* translated and completed */
	IOPF_SMMUV3_TXN_TERMINATED, /* terminated, RAZ/WI */
	IOPF_SMMUV3_TXN_ABORTED, /* terminated with an abort to the master */
};

/**
 * struct iopf_smmuv3_txn_info - what happened to a transaction
 * @state: enum iopf_smmuv3_txn_state
 * @stag: the stall tag while stalled with its record written, else 0
 * @record_written: the stall record of the current stall is in the queue
 * @nr_stalls: how many times it stalled (a RESUME RETRY may stall again)
 * @event_id: the ID of the last event it raised, 0 if none
 */
struct iopf_smmuv3_txn_info {
	uint32_t state;
	uint16_t stag;
	bool record_written;
	uint32_t nr_stalls;
	uint8_t event_id;
};

/**
 * iopf_smmuv3_dma() - a master issues a transaction
 * @smmu: the SMMU
 * @sid: the StreamID it uses
 * @pasid: the SubstreamID, or IOPF_NO_PASID for none (SSV=0)
 * @addr: the input address (IOVA)
 * @perm: IOPF_FAULT_PERM_* bits: WRITE or read, EXEC, PRIV
 * @out: the transaction (a reference for the caller), or NULL to let it
 *	run unobserved; untouched on failure
 *
 * The SMMU translates through the domain attached at @pasid
 * (iopf_device_translate()). A translation fault on a stalling stream
 * stalls the transaction and writes a stall record; any other fault is
 * recorded as an ordinary event and aborts the transaction.
 *
 * Context: any thread, not from an SMMU callback.
 * Return: 0, -EINVAL (NULL @smmu, @pasid above 20 bits), -ENODEV (no
 * master uses @sid: the transaction was aborted and a C_BAD_STREAMID event
 * recorded, no reference is returned), -ENOMEM.
 */
int iopf_smmuv3_dma(struct iopf_smmuv3 *smmu, uint32_t sid, uint32_t pasid,
		    uint64_t addr, uint32_t perm, struct iopf_smmuv3_txn **out);

/**
 * iopf_smmuv3_txn_info() - read the state of a transaction
 * @txn: the transaction
 * @info: where the state goes
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if an argument is NULL.
 */
int iopf_smmuv3_txn_info(struct iopf_smmuv3_txn *txn,
			 struct iopf_smmuv3_txn_info *info);

/**
 * iopf_smmuv3_txn_wait() - wait until a transaction leaves STALLED
 * @txn: the transaction
 * @timeout_ms: how long to wait
 * @info: the final state, or NULL
 *
 * Context: any thread; with manual mode, something else must drive the
 * driver meanwhile.
 * Return: 0, -EINVAL if @txn is NULL, -ETIMEDOUT.
 */
int iopf_smmuv3_txn_wait(struct iopf_smmuv3_txn *txn, unsigned int timeout_ms,
			 struct iopf_smmuv3_txn_info *info);

/**
 * iopf_smmuv3_txn_put() - drop the caller's reference to a transaction
 * @txn: the transaction, or NULL
 *
 * A stalled transaction keeps running inside the SMMU.
 *
 * Context: any thread.
 */
void iopf_smmuv3_txn_put(struct iopf_smmuv3_txn *txn);

/**
 * iopf_smmuv3_pri_request() - a PCIe page request reaches the PRI queue
 * @smmu: the SMMU
 * @ppr: the request (a stop marker is a request too)
 *
 * With the PRI queue disabled every request but a stop marker gets an
 * automatic Response Failure without PASID. While a PRI queue overflow is
 * active nothing is written: a last-in-group request gets an automatic
 * Success, the others and stop markers are dropped.
 *
 * Context: any thread, also from the prg_response callback.
 * Return: 0 (also when the request was dropped or auto-answered),
 * -EINVAL (NULL argument, field out of range), -ENODEV (the SMMU was built
 * with @no_pri).
 */
int iopf_smmuv3_pri_request(struct iopf_smmuv3 *smmu,
			    const struct iopf_smmuv3_ppr *ppr);

/**
 * iopf_smmuv3_connect() - plug a PCIe endpoint into the SMMU's root port
 * @smmu: the SMMU
 * @ep: the endpoint; its StreamID is its RID, unique on @smmu
 *
 * The endpoint's page requests go to iopf_smmuv3_pri_request(); its ATS
 * translations to iopf_device_translate() of the master whose StreamID is
 * the RID (create it with iopf_smmuv3_add_master(), without @stall: PCIe
 * streams use PRI); PRG Responses for its RID come back to it. In manual
 * mode the port pumps with iopf_smmuv3_pump().
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL), -EEXIST (RID taken), -EBUSY (@ep connected
 * elsewhere), -ENOMEM.
 */
int iopf_smmuv3_connect(struct iopf_smmuv3 *smmu, struct iopf_pci_endpoint *ep);

/**
 * iopf_smmuv3_disconnect() - unplug an endpoint
 * @smmu: the SMMU
 * @ep: the endpoint
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL), -ENOENT (not connected to @smmu).
 */
int iopf_smmuv3_disconnect(struct iopf_smmuv3 *smmu,
			   struct iopf_pci_endpoint *ep);

/**
 * iopf_smmuv3_pump() - make a manual-mode SMMU progress
 * @smmu: the SMMU
 *
 * Runs the PRI thread, the event thread and the fault queue until none of
 * them has anything left to do.
 *
 * Context: any thread, not from a handler, a work function or a callback.
 * Return: steps done (entries, records and work items), 0 when idle, or
 * -EINVAL if @smmu is NULL.
 */
int iopf_smmuv3_pump(struct iopf_smmuv3 *smmu);

/**
 * iopf_smmuv3_process_evtq() - run the event thread once (manual mode)
 * @smmu: the SMMU
 *
 * Drains the event queue as arm_smmu_evtq_thread() does, then acknowledges
 * an overflow.
 *
 * Context: any thread; not from a handler.
 * Return: the number of records consumed, or -EINVAL if @smmu is NULL.
 */
int iopf_smmuv3_process_evtq(struct iopf_smmuv3 *smmu);

/**
 * iopf_smmuv3_process_priq() - run the PRI thread once (manual mode)
 * @smmu: the SMMU
 *
 * Context: any thread; not from a handler.
 * Return: the number of entries consumed, or -EINVAL if @smmu is NULL.
 */
int iopf_smmuv3_process_priq(struct iopf_smmuv3 *smmu);

/**
 * iopf_smmuv3_read_reg() - read a register
 * @smmu: the SMMU
 * @offset: IOPF_SMMUV3_CR0 .. IOPF_SMMUV3_PRIQ_CONS
 * @val: the value
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, unknown register).
 */
int iopf_smmuv3_read_reg(struct iopf_smmuv3 *smmu, uint32_t offset,
			 uint32_t *val);

/**
 * iopf_smmuv3_write_reg() - write a register, as software would
 * @smmu: the SMMU
 * @offset: IOPF_SMMUV3_CR0 (PRIQEN and EVTQEN), IOPF_SMMUV3_EVTQ_CONS or
 *	IOPF_SMMUV3_PRIQ_CONS
 * @val: the value
 *
 * Writing a CONS register races with the driver: use it in manual mode.
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL @smmu, read-only or unknown register).
 */
int iopf_smmuv3_write_reg(struct iopf_smmuv3 *smmu, uint32_t offset,
			  uint32_t val);

/**
 * struct iopf_smmuv3_stats - counters of the model
 * @events_written: event records written (stall and others)
 * @events_lost: ordinary events lost to a full event queue
 * @stalls_waiting: stall records waiting for a tag or queue space now
 * @stalls_active: transactions stalled now (tags in use)
 * @priq_written: PRI queue entries written
 * @priq_dropped: PRI requests dropped (overflow, stop markers)
 * @auto_responses: PRG Responses the hardware sent by itself
 * @prg_responses: PRG Responses sent for CMD_PRI_RESP
 * @cmd_errors: commands rejected with CERROR_ILL
 * @cmds: commands consumed
 */
struct iopf_smmuv3_stats {
	uint64_t events_written;
	uint64_t events_lost;
	uint64_t stalls_waiting;
	uint64_t stalls_active;
	uint64_t priq_written;
	uint64_t priq_dropped;
	uint64_t auto_responses;
	uint64_t prg_responses;
	uint64_t cmd_errors;
	uint64_t cmds;
};

/**
 * iopf_smmuv3_get_stats() - read the counters
 * @smmu: the SMMU
 * @stats: where they go
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if an argument is NULL.
 */
int iopf_smmuv3_get_stats(struct iopf_smmuv3 *smmu,
			  struct iopf_smmuv3_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_HW_SMMUV3_H */
