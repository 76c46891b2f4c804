/* SPDX-License-Identifier: MIT */
/*
 * libiopf - an Intel VT-d IOMMU model: the page request queue, bit for bit.
 *
 * Hardware side: the Page Request Queue is a ring of 32-byte page_req_dsc
 * in memory, with the PQH, PQT, PQA, PRS and PECTL registers of VT-d
 * §11.4.11 (2^(PQS+7) entries, N-1 usable; queue full or PRO set: the
 * request is discarded and a last-in-group request gets an automatic
 * Success). The invalidation queue takes 256-bit descriptors: a
 * page_grp_resp_dsc (type 9) becomes a PRG Response to the endpoint, an
 * inv_wait_dsc honours Status Write, Fence and Page-request Drain.
 *
 * Driver side, as Linux's drivers/iommu/intel/prq.c: the prq thread (clear
 * PPR first; skip slots that hold no page_req_dsc; reject bad requests,
 * answering INVALID only when last in group; drop Stop Markers; report the
 * rest to the core, reserved bits unchecked as in Linux; head = tail; on
 * overflow discard partial groups once the ring is empty, then clear PRO),
 * page_response (one page_grp_resp_dsc; the response code passed through
 * as Linux does, so FAILURE goes out as the reserved code 2, or the spec
 * encoding 0xF as an option), and remove_dev_pasid running the drain of
 * VT-d §7.10.
 *
 * The model owns an IOMMU (iopf_vtd_iommu()) and its fault queue: devices
 * are created on that IOMMU with iopf_device_new() and the requester ID as
 * id, and endpoints (<iopf/hw/pci.h>) are plugged in with
 * iopf_vtd_connect().
 *
 * Modes: with nr_prq_threads = 1 a prq thread services page request events
 * and the fault queue has workers. With 0 (manual mode) nothing runs by
 * itself: the caller calls iopf_vtd_process_prq() / iopf_vtd_pump(), and
 * endpoints pump while they wait, so one thread gives the same result on
 * every run.
 *
 * Thread safety: every function may be called from any thread, except
 * iopf_vtd_free(), which must not race with other calls on the model.
 * Descriptor encoders and decoders are pure functions.
 */
#ifndef IOPF_HW_VTD_H
#define IOPF_HW_VTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_iommu;
struct iopf_queue;
struct iopf_vtd;
struct iopf_pci_endpoint;
struct iopf_pci_page_request;

/* Registers (VT-d §11.4) */
#define IOPF_VTD_ECAP_REG    0x10
#define IOPF_VTD_IQH_REG     0x80
#define IOPF_VTD_IQT_REG     0x88
#define IOPF_VTD_IQA_REG     0x90
#define IOPF_VTD_PQH_REG     0xc0
#define IOPF_VTD_PQT_REG     0xc8
#define IOPF_VTD_PQA_REG     0xd0
#define IOPF_VTD_PRS_REG     0xdc
#define IOPF_VTD_PECTL_REG   0xe0
#define IOPF_VTD_PEDATA_REG  0xe4
#define IOPF_VTD_PEADDR_REG  0xe8
#define IOPF_VTD_PEUADDR_REG 0xec

#define IOPF_VTD_ECAP_PRS     (1ull << 29)
#define IOPF_VTD_ECAP_NWFS    (1ull << 33)
#define IOPF_VTD_ECAP_PDS     (1ull << 42)
#define IOPF_VTD_PQ_OFF_MASK  0x7ffe0ull /* PQH/PQT bits 18:5 */
#define IOPF_VTD_PQA_PQS_MASK 0x7ull
#define IOPF_VTD_PRS_PPR      (1u << 0)
#define IOPF_VTD_PRS_PRO      (1u << 1)
#define IOPF_VTD_PECTL_IP     (1u << 30)
#define IOPF_VTD_PECTL_IM     (1u << 31)

#define IOPF_VTD_DESC_SIZE 32

/* Descriptor types (bits 3:0; bits 11:9 are zero for all of these) */
#define IOPF_VTD_PAGE_REQ_TYPE	   0x1 /* page_req_dsc, in the PRQ */
#define IOPF_VTD_QI_IOTLB_TYPE	   0x2
#define IOPF_VTD_QI_DIOTLB_TYPE	   0x3
#define IOPF_VTD_QI_IWD_TYPE	   0x5
#define IOPF_VTD_QI_EIOTLB_TYPE	   0x6 /* PASID-based IOTLB */
#define IOPF_VTD_QI_DEIOTLB_TYPE   0x8 /* PASID-based device-TLB */
#define IOPF_VTD_QI_PGRP_RESP_TYPE 0x9

/* page_grp_resp_dsc response codes (VT-d Table 32) */
#define IOPF_VTD_RESP_SUCCESS 0x0
#define IOPF_VTD_RESP_INVALID 0x1
#define IOPF_VTD_RESP_FAILURE 0xf

/**
 * struct iopf_vtd_desc - one 256-bit descriptor as four quadwords
 * @qw: quadword 0..3, in CPU order (stored little-endian in the rings)
 */
struct iopf_vtd_desc {
	uint64_t qw[4];
};

/**
 * struct iopf_vtd_page_req - the fields of a page_req_dsc (VT-d §7.4.1)
 * @pasid_present: PP, qw0 bit 8
 * @rid: requester ID, qw0 bits 31:16
 * @pasid: qw0 bits 51:32
 * @exe_req: EXR, qw0 bit 52
 * @pm_req: PMR, qw0 bit 53
 * @rd_req: RDR, qw1 bit 0
 * @wr_req: WRR, qw1 bit 1
 * @lpig: last page in group, qw1 bit 2
 * @prg_index: qw1 bits 11:3
 * @addr: page address, qw1 bits 63:12 (a byte address, low 12 bits zero)
 */
struct iopf_vtd_page_req {
	bool pasid_present;
	uint16_t rid;
	uint32_t pasid;
	bool exe_req;
	bool pm_req;
	bool rd_req;
	bool wr_req;
	bool lpig;
	uint16_t prg_index;
	uint64_t addr;
};

/**
 * struct iopf_vtd_page_grp_resp - the fields of a page_grp_resp_dsc (§7.6)
 * @pasid_present: PP, qw0 bit 4
 * @resp_code: RC, qw0 bits 15:12
 * @rid: requester ID, qw0 bits 31:16
 * @pasid: qw0 bits 51:32
 * @prg_index: qw1 bits 11:3
 */
struct iopf_vtd_page_grp_resp {
	bool pasid_present;
	uint8_t resp_code;
	uint16_t rid;
	uint32_t pasid;
	uint16_t prg_index;
};

/**
 * struct iopf_vtd_inv_wait - the fields of an inv_wait_dsc (§6.5.2.9)
 * @intr: IF, qw0 bit 4
 * @status_write: SW, qw0 bit 5
 * @fence: FN, qw0 bit 6
 * @prq_drain: PD, qw0 bit 7
 * @status_data: qw0 bits 63:32
 * @status_addr: qw1 bits 63:2 (4-byte aligned address)
 */
struct iopf_vtd_inv_wait {
	bool intr;
	bool status_write;
	bool fence;
	bool prq_drain;
	uint32_t status_data;
	uint64_t status_addr;
};

/**
 * iopf_vtd_desc_type() - the type of a descriptor
 * @desc: the descriptor
 *
 * Every decoder checks its type with this function: a descriptor of type
 * 1 is a page_req_dsc whatever its bits 7:4 hold (Linux's 8-bit type field;
 * the decoder reports them as reserved bits).
 *
 * Context: any thread.
 * Return: bits 3:0 | bits 11:9 << 4, or 0 for NULL.
 */
unsigned int iopf_vtd_desc_type(const struct iopf_vtd_desc *desc);

/**
 * iopf_vtd_desc_name() - the Linux name of a descriptor type
 * @type: a type from iopf_vtd_desc_type()
 *
 * Context: any thread.
 * Return: "page_req_dsc", "page_grp_resp_dsc", "inv_wait_dsc", ... or
 * "unknown_dsc".
 */
const char *iopf_vtd_desc_name(unsigned int type);

/**
 * iopf_vtd_desc_to_bytes() - a descriptor as it sits in ring memory
 * @desc: the descriptor
 * @bytes: 32 bytes, little-endian quadwords
 *
 * Context: any thread.
 */
void iopf_vtd_desc_to_bytes(const struct iopf_vtd_desc *desc,
			    uint8_t bytes[IOPF_VTD_DESC_SIZE]);

/**
 * iopf_vtd_desc_from_bytes() - read a descriptor from ring memory
 * @bytes: 32 bytes, little-endian quadwords
 * @desc: the descriptor
 *
 * Context: any thread.
 */
void iopf_vtd_desc_from_bytes(const uint8_t bytes[IOPF_VTD_DESC_SIZE],
			      struct iopf_vtd_desc *desc);

/**
 * iopf_vtd_page_req_encode() - build a page_req_dsc
 * @f: the fields (pasid masked to 20 bits, prg_index to 9)
 * @desc: the descriptor; reserved bits are zero
 *
 * Context: any thread.
 * Return: 0, or -EINVAL for NULL.
 */
int iopf_vtd_page_req_encode(const struct iopf_vtd_page_req *f,
			     struct iopf_vtd_desc *desc);

/**
 * iopf_vtd_page_req_decode() - read a page_req_dsc
 * @desc: the descriptor
 * @f: the fields; wholly overwritten (padding zeroed) unless -EINVAL,
 *     so two decodes compare equal with memcmp()
 *
 * Context: any thread.
 * Return: 0; -EINVAL (NULL, iopf_vtd_desc_type() is not 1: @f untouched);
 * -EBADMSG (a reserved bit is set, bits 7:4 included: @f is filled anyway).
 */
int iopf_vtd_page_req_decode(const struct iopf_vtd_desc *desc,
			     struct iopf_vtd_page_req *f);

/**
 * iopf_vtd_page_grp_resp_encode() - build a page_grp_resp_dsc
 * @f: the fields (resp_code masked to 4 bits)
 * @desc: the descriptor
 *
 * Context: any thread.
 * Return: 0, or -EINVAL for NULL.
 */
int iopf_vtd_page_grp_resp_encode(const struct iopf_vtd_page_grp_resp *f,
				  struct iopf_vtd_desc *desc);

/**
 * iopf_vtd_page_grp_resp_decode() - read a page_grp_resp_dsc
 * @desc: the descriptor
 * @f: the fields; wholly overwritten (padding zeroed) unless -EINVAL,
 *     so two decodes compare equal with memcmp()
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, wrong type: @f untouched), -EBADMSG (reserved
 * bit set: @f is filled anyway).
 */
int iopf_vtd_page_grp_resp_decode(const struct iopf_vtd_desc *desc,
				  struct iopf_vtd_page_grp_resp *f);

/**
 * iopf_vtd_inv_wait_encode() - build an inv_wait_dsc
 * @f: the fields (status_addr's low 2 bits are dropped)
 * @desc: the descriptor
 *
 * Context: any thread.
 * Return: 0, or -EINVAL for NULL.
 */
int iopf_vtd_inv_wait_encode(const struct iopf_vtd_inv_wait *f,
			     struct iopf_vtd_desc *desc);

/**
 * iopf_vtd_inv_wait_decode() - read an inv_wait_dsc
 * @desc: the descriptor
 * @f: the fields; wholly overwritten (padding zeroed) unless -EINVAL,
 *     so two decodes compare equal with memcmp()
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, wrong type: @f untouched), -EBADMSG (reserved
 * bit set: @f is filled anyway).
 */
int iopf_vtd_inv_wait_decode(const struct iopf_vtd_desc *desc,
			     struct iopf_vtd_inv_wait *f);

/**
 * iopf_vtd_desc_format() - describe a descriptor in one line
 * @desc: the descriptor
 * @buf: output, NUL-terminated
 * @len: size of @buf
 *
 * E.g. "page_req_dsc rid=0x0100 pp=1 pasid=0x1 rd=1 wr=1 lpig=1 prgi=0
 * addr=0x400000". The type is iopf_vtd_desc_type(); fields are printed
 * even when reserved bits are set. Context: any thread.
 * Return: what snprintf() returns.
 */
int iopf_vtd_desc_format(const struct iopf_vtd_desc *desc, char *buf,
			 size_t len);

/** enum iopf_vtd_resp_encoding - how page_response encodes the generic code */
enum iopf_vtd_resp_encoding {
	IOPF_VTD_RESP_LINUX =
		0, /* the code verbatim: FAILURE (2) is a reserved code */
	IOPF_VTD_RESP_SPEC, /* SUCCESS 0, INVALID 1, FAILURE 0xF */
};

/**
 * struct iopf_vtd_attr - how to create a VT-d model
 * @size: sizeof(struct iopf_vtd_attr), for versioning
 * @name: IOMMU name (copied), e.g. "dmar0"; NULL: the core names it
 * @pqs: PQA.PQS, 0..7: 2^(pqs+7) ring entries
 * @nr_prq_threads: 0 (manual mode) or 1 (a prq thread)
 * @nr_fault_workers: workers of the IOMMU's fault queue when
 *	@nr_prq_threads is 1 (0 gives 1); in manual mode the queue has none
 * @resp_encoding: enum iopf_vtd_resp_encoding
 * @va_bits: canonical address width for the bad-request check (0 gives 48)
 */
struct iopf_vtd_attr {
	size_t size;
	const char *name;
	unsigned int pqs;
	unsigned int nr_prq_threads;
	unsigned int nr_fault_workers;
	unsigned int resp_encoding;
	unsigned int va_bits;
};

/**
 * iopf_vtd_new() - create a VT-d model, its IOMMU and its fault queue
 * @ctx: the context
 * @attr: the attributes
 * @out: the new model; untouched on failure
 *
 * The IOMMU's queue is set (iopf_iommu_set_queue()), so attaching a
 * fault-capable domain (e.g. an SVA bind) enables IOPF on a device. The
 * queue is programmed as Linux does: PQH = PQT = 0, PQA, PECTL.IM clear.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, bad size, pqs > 7, more than one prq
 * thread, unknown encoding, va_bits outside 32..64), -ENOMEM, -EAGAIN (the
 * thread could not start).
 */
int iopf_vtd_new(struct iopf_ctx *ctx, const struct iopf_vtd_attr *attr,
		 struct iopf_vtd **out);

/**
 * iopf_vtd_free() - stop the prq thread and free the model
 * @vtd: the model, or NULL
 *
 * Frees the IOMMU (and the devices still on it, draining them), unplugs
 * the endpoints and frees the fault queue. Also done by iopf_ctx_free().
 *
 * Context: not from a handler, a work function or the response callback.
 */
void iopf_vtd_free(struct iopf_vtd *vtd);

/**
 * iopf_vtd_iommu() - the IOMMU of the model
 * @vtd: the model
 *
 * Context: any thread.
 * Return: the IOMMU, owned by @vtd; NULL for NULL.
 */
struct iopf_iommu *iopf_vtd_iommu(struct iopf_vtd *vtd);

/**
 * iopf_vtd_queue() - the IOMMU's fault queue ("<name>-iopfq")
 * @vtd: the model
 *
 * Context: any thread.
 * Return: the queue, owned by @vtd; NULL for NULL.
 */
struct iopf_queue *iopf_vtd_queue(struct iopf_vtd *vtd);

/**
 * iopf_vtd_reg_read() - read a register
 * @vtd: the model
 * @offset: IOPF_VTD_*_REG
 * @val: the value
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, unknown offset).
 */
int iopf_vtd_reg_read(struct iopf_vtd *vtd, unsigned int offset, uint64_t *val);

/**
 * iopf_vtd_reg_write() - write a register, as software does
 * @vtd: the model
 * @offset: IOPF_VTD_PQH_REG, _PQT_REG, _PRS_REG (write 1 to clear PPR, PRO),
 *	_PECTL_REG (IM), _PEDATA_REG, _PEADDR_REG, _PEUADDR_REG
 * @val: the value
 *
 * Clearing PECTL.IM with IP set delivers the pending event. PQA, ECAP and
 * the invalidation queue registers are read-only here: the model owns the
 * memory behind them.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, unknown offset), -EPERM (read-only register).
 */
int iopf_vtd_reg_write(struct iopf_vtd *vtd, unsigned int offset, uint64_t val);

/**
 * iopf_vtd_prq_entries() - number of 32-byte entries in the PRQ ring
 * @vtd: the model
 *
 * Context: any thread.
 * Return: 2^(PQS+7), 0 for NULL.
 */
size_t iopf_vtd_prq_entries(struct iopf_vtd *vtd);

/**
 * iopf_vtd_prq_read() - copy a descriptor out of the PRQ ring memory
 * @vtd: the model
 * @index: entry index (PQH or PQT >> 5)
 * @desc: the descriptor as it sits in memory (stale for free slots)
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, index out of range).
 */
int iopf_vtd_prq_read(struct iopf_vtd *vtd, size_t index,
		      struct iopf_vtd_desc *desc);

/**
 * iopf_vtd_page_request() - a page request arriving at the IOMMU
 * @vtd: the model
 * @pr: the PCIe Page Request Message (or Stop Marker)
 *
 * What a root port delivers (endpoints connected with iopf_vtd_connect()
 * arrive here). PRO set: discarded; queue full: PRO set, discarded; in
 * both cases a last-in-group request that is not a Stop Marker gets an
 * automatic Success. Otherwise the page_req_dsc is written at PQT, PQT
 * advances, PPR is set and the event is raised per §7.5.
 *
 * Context: any thread.
 * Return: 0 (queued), -ENOSPC (discarded by overflow), -EINVAL (NULL).
 */
int iopf_vtd_page_request(struct iopf_vtd *vtd,
			  const struct iopf_pci_page_request *pr);

/**
 * iopf_vtd_connect() - plug an endpoint into the model's root port
 * @vtd: the model
 * @ep: the endpoint; its RID must be unique on @vtd
 *
 * Page requests of @ep go to iopf_vtd_page_request(); its translations to
 * iopf_device_translate() of the device with the same RID (created with
 * iopf_device_new() on iopf_vtd_iommu()); PRG Responses for its RID come
 * back to it. In manual mode the port pumps with iopf_vtd_pump().
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL), -EEXIST (RID taken), -EBUSY (@ep connected
 * elsewhere), -ENOMEM.
 */
int iopf_vtd_connect(struct iopf_vtd *vtd, struct iopf_pci_endpoint *ep);

/**
 * iopf_vtd_disconnect() - unplug an endpoint
 * @vtd: the model
 * @ep: the endpoint
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL), -ENOENT (not connected to @vtd).
 */
int iopf_vtd_disconnect(struct iopf_vtd *vtd, struct iopf_pci_endpoint *ep);

/**
 * iopf_vtd_process_prq() - run the prq thread's body once, in the caller
 * @vtd: the model
 *
 * Linux's prq_event_thread(): clear PPR, walk PQH..PQT, reject bad
 * requests, drop Stop Markers, report the rest, PQH = PQT, handle PRO,
 * complete waiters. A slot whose type is not page_req_dsc (software moved
 * PQT over slots never written) is skipped: a bad_request trace event, no
 * response. Serialised with the prq thread.
 *
 * Context: any thread, not from a handler or page_response.
 * Return: descriptors consumed (>= 0), or -EINVAL for NULL.
 */
int iopf_vtd_process_prq(struct iopf_vtd *vtd);

/**
 * iopf_vtd_pump() - make a manual-mode model progress
 * @vtd: the model
 *
 * iopf_vtd_process_prq(), then iopf_queue_run() on the fault queue until
 * it is empty.
 *
 * Context: any thread, not from a handler or a work function.
 * Return: steps done (descriptors + work items), 0 when idle, -EINVAL.
 */
int iopf_vtd_pump(struct iopf_vtd *vtd);

/**
 * iopf_vtd_qi_submit_sync() - submit descriptors to the invalidation queue
 * @vtd: the model
 * @descs: 256-bit descriptors
 * @count: how many (1 .. 64)
 * @wait_drain: set Page-request Drain on the appended wait descriptor
 *
 * Linux's qi_submit_sync(): appends an inv_wait_dsc (SW, FN, and PD when
 * @wait_drain), lets the hardware process everything in order and waits
 * for the status write. A page_grp_resp_dsc is delivered to the endpoint
 * with that RID as a PRG Response (PASID only when PP is set); a device-TLB
 * invalidation reaches the endpoint as an ATS Invalidate Request.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, bad count; or an invalid descriptor, the
 * Invalidation Queue Error: nothing after it in @descs runs.
 * A descriptor is invalid when its type is unknown, or when it is a
 * page_grp_resp_dsc or an inv_wait_dsc with a reserved bit set, which
 * iopf_vtd_page_grp_resp_decode() and iopf_vtd_inv_wait_decode() report as
 * -EBADMSG), -EIO (the status write did not happen).
 */
int iopf_vtd_qi_submit_sync(struct iopf_vtd *vtd,
			    const struct iopf_vtd_desc *descs,
			    unsigned int count, bool wait_drain);

/**
 * struct iopf_vtd_stats - counters of a VT-d model
 * @size: set by the caller to sizeof(struct iopf_vtd_stats)
 * @prq_written: page_req_dsc written to the ring
 * @prq_discarded: page requests discarded (PRO set or queue full)
 * @auto_success: automatic Success responses sent by the hardware
 * @overflows: times PRO went from 0 to 1
 * @events: page request events (MSIs) delivered
 * @reported: requests reported to the core
 * @bad_requests: requests rejected by the prq thread, and ring slots it
 *	skipped because they held no page_req_dsc
 * @bad_responses: INVALID responses the prq thread sent for them
 * @stop_markers: Stop Markers dropped by the prq thread
 * @pro_cleared: times the prq thread cleared PRO
 * @qi_descs: descriptors processed by the invalidation queue
 * @prg_responses: PRG Responses delivered to endpoints
 * @drains: remove_dev_pasid drains
 * @drain_retries: hardware drain repetitions because PRO was set
 */
struct iopf_vtd_stats {
	size_t size;
	uint64_t prq_written;
	uint64_t prq_discarded;
	uint64_t auto_success;
	uint64_t overflows;
	uint64_t events;
	uint64_t reported;
	uint64_t bad_requests;
	uint64_t bad_responses;
	uint64_t stop_markers;
	uint64_t pro_cleared;
	uint64_t qi_descs;
	uint64_t prg_responses;
	uint64_t drains;
	uint64_t drain_retries;
};

/**
 * iopf_vtd_stats() - read the model's counters
 * @vtd: the model
 * @stats: filled up to @stats->size
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, bad size).
 */
int iopf_vtd_stats(struct iopf_vtd *vtd, struct iopf_vtd_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_HW_VTD_H */
