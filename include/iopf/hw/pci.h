/* SPDX-License-Identifier: MIT */
/*
 * libiopf - a PCIe endpoint with the Page Request Interface (PRI) and ATS.
 *
 * The endpoint is the device side of IO page faults: a PCIe function with
 * the PRI extended capability (PCIe §10.5.2), Outstanding Page Request
 * credits, 9-bit PRG indexes, Stop Markers and PRG Response handling
 * (PCIe §10.4), and a DMA engine that runs the ATS loop: translate, on a
 * miss send one Page Request Group, wait for the PRG Response, retry.
 *
 * An endpoint is plugged into an IOMMU model through a small "root port"
 * interface (struct iopf_pci_port_ops): the IOMMU model receives Page
 * Requests and translation requests through it and calls
 * iopf_pci_prg_response() to deliver a PRG Response. Any IOMMU model
 * (VT-d, SMMUv3 PRI, AMD) can host the same endpoint.
 *
 * Waiting: a DMA blocks on the endpoint's condition variable until the
 * response arrives. When the IOMMU model runs no threads (manual mode) its
 * port provides a pump callback; every wait then pumps the IOMMU in the
 * caller's thread (process the page request queue, run the fault queue)
 * until the response is there, so a single-threaded program gets the same
 * result, bit for bit, on every run.
 *
 * Thread safety: every function may be called from any thread. DMAs and
 * page request groups may run concurrently on one endpoint. The endpoint
 * never calls a port operation with its own lock held, so a port may call
 * iopf_pci_prg_response() from inside page_request (a hardware automatic
 * response). iopf_pci_endpoint_free() must not race with other calls on the
 * same endpoint. The response callback of the attributes runs in the thread
 * that delivers the response, possibly with IOMMU-model locks held: it must
 * not call back into the library.
 */
#ifndef IOPF_HW_PCI_H
#define IOPF_HW_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_pci_endpoint;

/* PRI extended capability: register offsets and bits (PCIe §10.5.2) */
#define IOPF_PCI_PRI_CTRL	    0x04 /* 16 bits */
#define IOPF_PCI_PRI_CTRL_ENABLE    0x0001
#define IOPF_PCI_PRI_CTRL_RESET	    0x0002
#define IOPF_PCI_PRI_STATUS	    0x06 /* 16 bits */
#define IOPF_PCI_PRI_STATUS_RF	    0x0001 /* Response Failure, RW1C */
#define IOPF_PCI_PRI_STATUS_UPRGI   0x0002 /* Unexpected PRG Index, RW1C */
#define IOPF_PCI_PRI_STATUS_STOPPED 0x0100 /* RO */
#define IOPF_PCI_PRI_STATUS_PASID   0x8000 /* PRG Response PASID Required, RO */
#define IOPF_PCI_PRI_MAX_REQ	    0x08 /* 32 bits, Outstanding PR Capacity, RO */
#define IOPF_PCI_PRI_ALLOC_REQ	    0x0c /* 32 bits, Outstanding PR Allocation */

/* The 64-bit payload of a Page Request Message (PCIe §10.4.1) */
#define IOPF_PCI_PRM_R		(1ull << 0)
#define IOPF_PCI_PRM_W		(1ull << 1)
#define IOPF_PCI_PRM_L		(1ull << 2)
#define IOPF_PCI_PRM_PRGI_SHIFT 3
#define IOPF_PCI_PRM_PRGI_MASK	0x1ffull
#define IOPF_PCI_PRM_ADDR_MASK	(~0xfffull)

#define IOPF_PCI_NR_PRGI   512 /* 9-bit PRG indexes */
#define IOPF_PCI_PAGE_SIZE 4096u

/** enum iopf_pci_prg_resp_code - PRG Response codes (4 bits, PCIe §10.4.2) */
enum iopf_pci_prg_resp_code {
	IOPF_PCI_PRG_RESP_SUCCESS = 0x0,
	IOPF_PCI_PRG_RESP_INVALID = 0x1,
	/* 0x2 .. 0xe are reserved: a function treats them as Response Failure */
	IOPF_PCI_PRG_RESP_FAILURE = 0xf,
};

/**
 * struct iopf_pci_page_request - one Page Request Message, decoded
 * @rid: Requester ID (header)
 * @pasid_present: a PASID TLP prefix is present
 * @pasid: the prefix's PASID (20 bits)
 * @exe: Execute Requested (prefix)
 * @priv: Privileged Mode Requested (prefix)
 * @read: R, payload bit 0
 * @write: W, payload bit 1
 * @last: L, last request of the group, payload bit 2
 * @prgi: PRG Index, payload bits 11:3
 * @addr: page address, payload bits 63:12 (the low 12 bits are zero)
 *
 * A Stop Marker is a request with a PASID, @last set and neither @read nor
 * @write.
 */
struct iopf_pci_page_request {
	uint16_t rid;
	bool pasid_present;
	uint32_t pasid;
	bool exe;
	bool priv;
	bool read;
	bool write;
	bool last;
	uint16_t prgi;
	uint64_t addr;
};

/**
 * struct iopf_pci_prg_response - one PRG Response Message, decoded
 * @rid: Destination Device ID
 * @pasid_present: a PASID TLP prefix is present
 * @pasid: the prefix's PASID
 * @prgi: PRG Index being answered, bits 8:0
 * @code: Response Code, bits 15:12 (enum iopf_pci_prg_resp_code or reserved)
 */
struct iopf_pci_prg_response {
	uint16_t rid;
	bool pasid_present;
	uint32_t pasid;
	uint16_t prgi;
	uint8_t code;
};

/**
 * iopf_pci_prm_payload() - encode the 64-bit payload of a Page Request
 * @pr: the request (R, W, L, PRGI, page address are used)
 *
 * Context: any thread.
 * Return: the payload (0 for a NULL @pr).
 */
uint64_t iopf_pci_prm_payload(const struct iopf_pci_page_request *pr);

/**
 * iopf_pci_prm_decode() - decode a Page Request payload into @pr
 * @payload: the 64-bit payload
 * @pr: R, W, L, PRGI and address are written; the rest is left alone
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if @pr is NULL.
 */
int iopf_pci_prm_decode(uint64_t payload, struct iopf_pci_page_request *pr);

/**
 * iopf_pci_prg_resp_dword() - encode the PRG Response dword
 * @resp: the response
 *
 * Bits 8:0 PRG Index, 15:12 Response Code, 31:16 Destination Device ID.
 *
 * Context: any thread.
 * Return: the dword (0 for a NULL @resp).
 */
uint32_t iopf_pci_prg_resp_dword(const struct iopf_pci_prg_response *resp);

/**
 * iopf_pci_prg_resp_decode() - decode a PRG Response dword into @resp
 * @dword: the dword
 * @resp: PRG Index, code and RID are written; the PASID fields are left alone
 *
 * Context: any thread.
 * Return: 0, or -EINVAL if @resp is NULL.
 */
int iopf_pci_prg_resp_decode(uint32_t dword,
			     struct iopf_pci_prg_response *resp);

/**
 * struct iopf_pci_port_ops - what an IOMMU model offers an endpoint
 * @size: sizeof(struct iopf_pci_port_ops), for versioning
 * @translate: an ATS Translation Request. @perm holds IOPF_FAULT_PERM_*
 *	bits. Return 0 (translated), -EFAULT or -ENOENT (no translation: a
 *	page request is needed), -EOPNOTSUPP (the IOMMU cannot tell: one
 *	Success response for the page counts as a translation), another
 *	negative errno (the DMA fails with it). Mandatory.
 * @page_request: a Page Request Message (or Stop Marker) towards the root
 *	complex. Posted: the endpoint learns nothing from the call. The IOMMU
 *	may call iopf_pci_prg_response() from inside it. Mandatory.
 * @pump: manual mode only, else NULL: make the IOMMU model progress in the
 *	caller's thread; return how many steps were done (0 when idle).
 * @unplug: optional; the endpoint is being freed or connected elsewhere,
 *	the IOMMU model must forget it. Called with no endpoint lock held.
 */
struct iopf_pci_port_ops {
	size_t size;
	int (*translate)(void *priv, uint16_t rid, bool pasid_present,
			 uint32_t pasid, uint64_t addr, uint32_t perm);
	void (*page_request)(void *priv,
			     const struct iopf_pci_page_request *pr);
	int (*pump)(void *priv);
	void (*unplug)(void *priv, struct iopf_pci_endpoint *ep);
};

/** enum iopf_pci_resp_disposition - what the endpoint did with a response */
enum iopf_pci_resp_disposition {
	IOPF_PCI_RESP_ACCEPTED = 0, /* matched an outstanding group */
	IOPF_PCI_RESP_STALE, /* a group of a PASID stopped with a Stop Marker: dropped */
	IOPF_PCI_RESP_UNEXPECTED, /* no such outstanding group: UPRGI set */
	IOPF_PCI_RESP_IGNORED, /* Response Failure set or PRI reset: ignored */
};

/**
 * typedef iopf_pci_response_cb_t - observe every PRG Response an endpoint gets
 * @ep: the endpoint
 * @resp: the response
 * @disp: enum iopf_pci_resp_disposition
 * @priv: iopf_pci_endpoint_attr.priv
 */
typedef void (*iopf_pci_response_cb_t)(struct iopf_pci_endpoint *ep,
				       const struct iopf_pci_prg_response *resp,
				       unsigned int disp, void *priv);

/**
 * struct iopf_pci_endpoint_attr - how to create an endpoint
 * @size: sizeof(struct iopf_pci_endpoint_attr), for versioning
 * @rid: Requester ID (bus << 8 | devfn)
 * @name: name for traces (copied); NULL gives "ep<rid>"
 * @pri_capacity: Outstanding Page Request Capacity (0 gives 32)
 * @prg_resp_pasid_required: the "PRG Response PASID Required" status bit
 * @timeout_ms: longest wait of a DMA or a stop for a response (0 gives 10 s)
 * @max_retries: page request rounds per DMA before -EAGAIN (0 gives 16)
 * @response_cb: optional observer of every PRG Response
 * @priv: passed to @response_cb
 */
struct iopf_pci_endpoint_attr {
	size_t size;
	uint16_t rid;
	const char *name;
	uint32_t pri_capacity;
	bool prg_resp_pasid_required;
	unsigned int timeout_ms;
	unsigned int max_retries;
	iopf_pci_response_cb_t response_cb;
	void *priv;
};

/**
 * iopf_pci_endpoint_new() - create a PCIe endpoint with PRI
 * @ctx: the context (traces; freed with it if still alive)
 * @attr: the attributes
 * @out: the new endpoint; untouched on failure
 *
 * The PRI capability starts at its reset state: Enable=0, Stopped=1,
 * Allocation=0. Enable it with iopf_pci_enable_pri().
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, bad @attr->size), -ENOMEM.
 */
int iopf_pci_endpoint_new(struct iopf_ctx *ctx,
			  const struct iopf_pci_endpoint_attr *attr,
			  struct iopf_pci_endpoint **out);

/**
 * iopf_pci_endpoint_free() - unplug and free an endpoint
 * @ep: the endpoint, or NULL
 *
 * Calls the port's unplug. No DMA or stop may be running on @ep.
 *
 * Context: any thread.
 */
void iopf_pci_endpoint_free(struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_endpoint_rid() - the Requester ID of an endpoint
 * @ep: the endpoint
 *
 * Context: any thread.
 * Return: the RID, 0 for NULL.
 */
uint16_t iopf_pci_endpoint_rid(const struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_endpoint_name() - the name of an endpoint
 * @ep: the endpoint
 *
 * Context: any thread.
 * Return: a string owned by @ep, NULL for NULL.
 */
const char *iopf_pci_endpoint_name(const struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_endpoint_connect() - plug an endpoint into an IOMMU model's port
 * @ep: the endpoint
 * @ops: the port operations (copied)
 * @priv: passed to every port operation
 *
 * Used by IOMMU models (e.g. iopf_vtd_connect()), not by applications.
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL argument, bad @ops->size, a mandatory operation
 * missing), -EBUSY (already connected).
 */
int iopf_pci_endpoint_connect(struct iopf_pci_endpoint *ep,
			      const struct iopf_pci_port_ops *ops, void *priv);

/**
 * iopf_pci_endpoint_disconnect() - unplug an endpoint from its port
 * @ep: the endpoint
 *
 * Does not call the port's unplug (the caller is the port's owner).
 *
 * Context: any thread, while no DMA runs on @ep.
 * Return: 0, -EINVAL (NULL), -ENOTCONN (not connected).
 */
int iopf_pci_endpoint_disconnect(struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_prg_response() - deliver a PRG Response to the endpoint
 * @ep: the endpoint
 * @resp: the response
 *
 * What the function does with it (PCIe §10.4.2): a response matching an
 * outstanding group returns the group's credits and completes it (Success:
 * the DMA retries its translations; Invalid Request: the DMA fails; Response
 * Failure or a reserved code: the Response Failure bit is set, every waiting
 * DMA fails and no further request is sent until PRI is re-enabled); a
 * response for a group of a PASID stopped with a Stop Marker is dropped; a
 * response with an index that is not outstanding (or, when PRG Response
 * PASID Required is set, without the group's PASID) sets Unexpected PRG
 * Index; while Response Failure is set every response is ignored.
 *
 * Context: any thread; called by the IOMMU model.
 * Return: enum iopf_pci_resp_disposition, or -EINVAL for NULL arguments.
 */
int iopf_pci_prg_response(struct iopf_pci_endpoint *ep,
			  const struct iopf_pci_prg_response *resp);

/**
 * iopf_pci_ats_invalidate() - an ATS Invalidate Request to the endpoint
 * @ep: the endpoint
 * @pasid_present: the request carries a PASID
 * @pasid: the PASID
 *
 * The endpoint caches no translation; the request is counted and traced
 * and completes at once (it is ordered behind the endpoint's earlier page
 * requests because those are posted synchronously).
 *
 * Context: any thread; called by the IOMMU model.
 * Return: 0, or -EINVAL for NULL.
 */
int iopf_pci_ats_invalidate(struct iopf_pci_endpoint *ep, bool pasid_present,
			    uint32_t pasid);

/**
 * iopf_pci_pri_read() - read a PRI capability register
 * @ep: the endpoint
 * @offset: IOPF_PCI_PRI_CTRL, _STATUS, _MAX_REQ or _ALLOC_REQ
 * @val: the value
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, unknown offset).
 */
int iopf_pci_pri_read(struct iopf_pci_endpoint *ep, unsigned int offset,
		      uint32_t *val);

/**
 * iopf_pci_pri_write() - write a PRI capability register
 * @ep: the endpoint
 * @offset: IOPF_PCI_PRI_CTRL, _STATUS or _ALLOC_REQ
 * @val: the value
 *
 * Control: setting Enable clears Stopped, Response Failure and UPRGI;
 * clearing it stops new requests (outstanding ones still get their
 * responses; Stopped is set once none is left); Reset (only with Enable
 * clear, reads back 0) drops every outstanding group, fails their DMAs and
 * returns all credits. Status: RF and UPRGI are write-1-to-clear.
 * Allocation is writable only while Enable is clear.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, unknown or read-only offset).
 */
int iopf_pci_pri_write(struct iopf_pci_endpoint *ep, unsigned int offset,
		       uint32_t val);

/**
 * iopf_pci_enable_pri() - enable PRI as Linux's pci_enable_pri() does
 * @ep: the endpoint
 * @reqs: outstanding requests to allocate (clamped to the capacity)
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, @reqs 0), -EBUSY (Enable set, or Stopped clear:
 * responses are still outstanding).
 */
int iopf_pci_enable_pri(struct iopf_pci_endpoint *ep, uint32_t reqs);

/**
 * iopf_pci_disable_pri() - clear Enable (pci_disable_pri())
 * @ep: the endpoint
 *
 * Context: any thread.
 * Return: 0, -EINVAL for NULL.
 */
int iopf_pci_disable_pri(struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_reset_pri() - write Reset (pci_reset_pri()); Enable must be clear
 * @ep: the endpoint
 *
 * Context: any thread.
 * Return: 0, -EINVAL for NULL, -EBUSY while Enable is set.
 */
int iopf_pci_reset_pri(struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_prg_resp_pasid_required() - the PRG Response PASID Required bit
 * @ep: the endpoint
 *
 * Context: any thread.
 * Return: the bit, false for NULL.
 */
bool iopf_pci_prg_resp_pasid_required(struct iopf_pci_endpoint *ep);

/**
 * iopf_pci_dma() - a DMA through ATS and PRI
 * @ep: the endpoint
 * @pasid: the PASID, or 0 (IOPF_NO_PASID) for a request without a prefix
 * @addr: untranslated start address
 * @len: length in bytes (> 0)
 * @perm: IOPF_FAULT_PERM_READ / _WRITE / _EXEC / _PRIV
 *
 * The ATS loop: translate every page; if some miss, send them as one Page
 * Request Group (one credit each, at most the allocation; L on the last),
 * wait for the PRG Response, and on Success translate again, which may miss
 * again and start a new group.
 *
 * Context: any thread; blocks (or pumps the IOMMU in manual mode).
 * Return: 0 (every page translated), -EFAULT (Invalid Request), -EIO
 * (Response Failure or a reserved code; or RF already set), -EPERM (PRI not
 * enabled), -ESHUTDOWN (@pasid is stopped), -ENOTCONN (no port),
 * -ETIMEDOUT, -EAGAIN (max_retries rounds), -EINVAL (bad arguments), or the
 * port's translation error.
 */
int iopf_pci_dma(struct iopf_pci_endpoint *ep, uint32_t pasid, uint64_t addr,
		 uint64_t len, uint32_t perm);

/**
 * iopf_pci_pri_send() - send one Page Request Group without waiting
 * @ep: the endpoint
 * @pasid: the PASID, or 0 for no prefix
 * @perm: IOPF_FAULT_PERM_* of every request (no R/W bit: a read is asked)
 * @addrs: page addresses (the low 12 bits are ignored)
 * @n: number of requests, 1 .. allocation
 * @prgi: the PRG Index chosen; may be NULL
 *
 * For tests and simulators that need several groups in flight: credits and
 * the PRG Index are taken as for a DMA; the response is visible through
 * the response callback, the statistics and iopf_pci_prg_outstanding().
 *
 * Context: any thread; never blocks.
 * Return: 0, -EAGAIN (not enough credits or no free PRG Index), -ENOSPC
 * (@n above the allocation), -EPERM, -EIO, -ESHUTDOWN, -ENOTCONN, -EINVAL.
 */
int iopf_pci_pri_send(struct iopf_pci_endpoint *ep, uint32_t pasid,
		      uint32_t perm, const uint64_t *addrs, unsigned int n,
		      uint16_t *prgi);

/**
 * iopf_pci_send_raw() - send any Page Request Message, bypassing PRI rules
 * @ep: the endpoint
 * @pr: the message (@pr->rid is replaced by the endpoint's RID)
 *
 * Fault injection: no credit, no PRG Index tracking, no Enable check.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL), -ENOTCONN.
 */
int iopf_pci_send_raw(struct iopf_pci_endpoint *ep,
		      const struct iopf_pci_page_request *pr);

/**
 * iopf_pci_prg_outstanding() - is a PRG Index outstanding?
 * @ep: the endpoint
 * @prgi: the index
 *
 * Context: any thread.
 * Return: 1 (waiting for its response), 0 (free), -EINVAL.
 */
int iopf_pci_prg_outstanding(struct iopf_pci_endpoint *ep, uint16_t prgi);

/** enum iopf_pci_stop_style - how a function stops using a PASID (PCIe §10.4.1.2) */
enum iopf_pci_stop_style {
	IOPF_PCI_STOP_WAIT = 0, /* wait for every outstanding response */
	IOPF_PCI_STOP_MARKER, /* send a Stop Marker, drop late responses */
};

/**
 * iopf_pci_stop_pasid() - the device-specific "stop using PASID" request
 * @ep: the endpoint
 * @pasid: the PASID (1 .. 2^20 - 1)
 * @style: enum iopf_pci_stop_style
 *
 * New DMAs and groups for @pasid fail with -ESHUTDOWN from now on. WAIT
 * returns once no group of @pasid is outstanding. MARKER fails the DMAs
 * waiting on @pasid, keeps their PRG Indexes reserved until their
 * responses arrive (and drops those responses), sends a Stop Marker (no
 * credit) and returns at once.
 *
 * Context: any thread; WAIT blocks (or pumps in manual mode).
 * Return: 0, -EINVAL, -ENOTCONN (MARKER without a port), -ETIMEDOUT (WAIT).
 */
int iopf_pci_stop_pasid(struct iopf_pci_endpoint *ep, uint32_t pasid,
			enum iopf_pci_stop_style style);

/**
 * iopf_pci_start_pasid() - allow a stopped PASID again (the PASID is reused)
 * @ep: the endpoint
 * @pasid: the PASID
 *
 * Context: any thread.
 * Return: 0, -EINVAL, -ENOENT (not stopped).
 */
int iopf_pci_start_pasid(struct iopf_pci_endpoint *ep, uint32_t pasid);

/**
 * struct iopf_pci_endpoint_stats - counters of an endpoint
 * @size: set by the caller to sizeof(struct iopf_pci_endpoint_stats)
 * @page_requests: Page Request Messages sent (Stop Markers excluded)
 * @groups: groups sent
 * @stop_markers: Stop Markers sent
 * @raw_requests: messages sent with iopf_pci_send_raw()
 * @responses: responses received, by enum iopf_pci_resp_disposition
 * @max_credits_used: highest number of credits in use at once
 * @credits_used: credits in use now
 * @dma_ok: DMAs that completed
 * @dma_failed: DMAs that failed
 * @retries: translation rounds after a Success response
 * @ats_invalidations: ATS Invalidate Requests received
 */
struct iopf_pci_endpoint_stats {
	size_t size;
	uint64_t page_requests;
	uint64_t groups;
	uint64_t stop_markers;
	uint64_t raw_requests;
	uint64_t responses[4];
	uint32_t max_credits_used;
	uint32_t credits_used;
	uint64_t dma_ok;
	uint64_t dma_failed;
	uint64_t retries;
	uint64_t ats_invalidations;
};

/**
 * iopf_pci_endpoint_stats() - read an endpoint's counters
 * @ep: the endpoint
 * @stats: filled up to @stats->size
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL, bad @stats->size).
 */
int iopf_pci_endpoint_stats(struct iopf_pci_endpoint *ep,
			    struct iopf_pci_endpoint_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_HW_PCI_H */
