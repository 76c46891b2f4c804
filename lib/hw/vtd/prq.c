// SPDX-License-Identifier: MIT
/*
 * The VT-d driver side of page requests, as Linux's drivers/iommu/intel/
 * prq.c: the prq thread (prq_event_thread), the bad-request path, the
 * page group response (intel_iommu_page_response) and the drain of VT-d
 * §7.10 on PASID teardown (intel_iommu_drain_pasid_prq).
 *
 * The driver touches the hardware only through the registers and the ring
 * memory, as the kernel does through MMIO. Descriptors between PQH and PQT
 * are read without hw_lock: the hardware writes a slot only while it is
 * outside head..tail, and reading PQT under hw_lock orders the reads after
 * the writes.
 *
 * Locking: prq_mutex serialises the thread body; faults are reported with
 * it held (as Linux holds iommu->iopf_lock). See vtd-priv.h for the order.
 */
#include <errno.h>
#include <time.h>

#include "vtd-priv.h"

#define PRQ_KICK_NS 100000000L

static uint64_t reg_read(struct iopf_vtd *vtd, unsigned int offset)
{
	uint64_t v = 0;

	iopf_vtd_reg_read(vtd, offset, &v);
	return v;
}

static void reg_write(struct iopf_vtd *vtd, unsigned int offset, uint64_t val)
{
	iopf_vtd_reg_write(vtd, offset, val);
}

static void prq_trace(struct iopf_vtd *vtd, uint32_t type,
		      const struct iopf_vtd_page_req *f, const char *name,
		      int32_t code, uint32_t origin, uint32_t count)
{
	struct iopf_trace_event ev = {
		.type = type,
		.from = IOPF_LAYER_DRIVER,
		.to = type == IOPF_TRACE_RESPONSE_SENT ? IOPF_LAYER_ENDPOINT :
							 IOPF_LAYER_DRIVER,
		.iommu = vtd->name,
		.pasid = IOPF_PASID_INVALID,
		.code = code,
		.origin = origin,
		.count = count,
		.name = name,
	};

	if (!iopf_trace_on(vtd->ctx))
		return;
	if (f) {
		ev.dev_id = f->rid;
		ev.pasid = f->pasid_present ? f->pasid : IOPF_PASID_INVALID;
		ev.grpid = f->prg_index;
		ev.addr = f->addr;
	}
	iopf_trace_emit(vtd->ctx, &ev);
}

/* ---- the interrupt ------------------------------------------------------ */

/* The MSI: wake the prq thread (or leave it pending for manual mode). */
void vtd_raise_irq(struct iopf_vtd *vtd)
{
	pthread_mutex_lock(&vtd->irq_lock);
	vtd->irq_pending = true;
	pthread_cond_signal(&vtd->irq_cond);
	pthread_mutex_unlock(&vtd->irq_lock);
}

static uint64_t prq_seq(struct iopf_vtd *vtd)
{
	uint64_t seq;

	pthread_mutex_lock(&vtd->irq_lock);
	seq = vtd->prq_seq;
	pthread_mutex_unlock(&vtd->irq_lock);
	return seq;
}

/* complete(&iommu->prq_complete) */
static void prq_complete(struct iopf_vtd *vtd)
{
	pthread_mutex_lock(&vtd->irq_lock);
	vtd->prq_seq++;
	pthread_cond_broadcast(&vtd->done_cond);
	pthread_mutex_unlock(&vtd->irq_lock);
}

/*
 * wait_for_completion(&iommu->prq_complete), where @seq was read before
 * the condition was checked. With no thread the body runs in the caller.
 */
static void prq_wait_complete(struct iopf_vtd *vtd, uint64_t seq)
{
	pthread_mutex_lock(&vtd->irq_lock);
	if (!vtd->thread_running) {
		pthread_mutex_unlock(&vtd->irq_lock);
		vtd_prq_event(vtd);
		return;
	}
	while (vtd->prq_seq == seq && vtd->thread_running) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PRQ_KICK_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_nsec -= 1000000000L;
			until.tv_sec++;
		}
		/*
		 * No completion for a while (events masked through PECTL.IM,
		 * say): kick the thread as a spurious interrupt would.
		 */
		if (pthread_cond_timedwait(&vtd->done_cond, &vtd->irq_lock,
					   &until) == ETIMEDOUT) {
			vtd->irq_pending = true;
			pthread_cond_signal(&vtd->irq_cond);
		}
	}
	pthread_mutex_unlock(&vtd->irq_lock);
}

/* ---- bad requests and reports ------------------------------------------- */

static void prq_respond(struct iopf_vtd *vtd, const struct iopf_vtd_page_req *f,
			uint8_t code)
{
	struct iopf_vtd_page_grp_resp r = {
		.pasid_present = f->pasid_present,
		.resp_code = code,
		.rid = f->rid,
		.pasid = f->pasid,
		.prg_index = f->prg_index,
	};
	struct iopf_vtd_desc desc;

	iopf_vtd_page_grp_resp_encode(&r, &desc);
	vtd_qi_submit_sync(vtd, &desc, 1, false);
}

/* handle_bad_prq_event(): answer INVALID, but only a last-in-group request. */
static void prq_bad_request(struct iopf_vtd *vtd,
			    const struct iopf_vtd_page_req *f,
			    const char *reason)
{
	vtd_stat_inc(vtd, VS_BAD_REQUESTS);
	prq_trace(vtd, IOPF_TRACE_BAD_REQUEST, f, reason, -1, IOPF_ORIGIN_NONE,
		  0);
	if (!f->lpig)
		return;
	vtd_stat_inc(vtd, VS_BAD_RESPONSES);
	prq_trace(vtd, IOPF_TRACE_RESPONSE_SENT, f, "bad_request",
		  IOPF_VTD_RESP_INVALID, IOPF_ORIGIN_DRIVER, 1);
	prq_respond(vtd, f, IOPF_VTD_RESP_INVALID);
}

static bool prq_canonical(const struct iopf_vtd *vtd, uint64_t addr)
{
	unsigned int shift = 64 - vtd->va_bits;

	if (!shift)
		return true;
	return (uint64_t)((int64_t)(addr << shift) >> shift) == addr;
}

/* intel_prq_report() */
static void prq_report(struct iopf_device *dev,
		       const struct iopf_vtd_page_req *f)
{
	struct iopf_fault evt = { .type = IOPF_FAULT_PAGE_REQ };

	evt.prm.addr = f->addr;
	evt.prm.pasid = f->pasid;
	evt.prm.grpid = f->prg_index;
	if (f->rd_req)
		evt.prm.perm |= IOPF_FAULT_PERM_READ;
	if (f->wr_req)
		evt.prm.perm |= IOPF_FAULT_PERM_WRITE;
	if (f->exe_req)
		evt.prm.perm |= IOPF_FAULT_PERM_EXEC;
	if (f->pm_req)
		evt.prm.perm |= IOPF_FAULT_PERM_PRIV;
	if (f->lpig)
		evt.prm.flags |= IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
	if (f->pasid_present)
		evt.prm.flags |= IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
				 IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID;
	/* The return value is ignored: the core answers on its error paths. */
	iopf_report_device_fault(dev, &evt);
}

/* One descriptor of the walk. */
static void prq_handle_one(struct iopf_vtd *vtd,
			   const struct iopf_vtd_page_req *f)
{
	struct iopf_device *dev;

	if (!prq_canonical(vtd, f->addr))
		return prq_bad_request(vtd, f, "non_canonical_address");
	if (f->pm_req && (f->rd_req || f->wr_req))
		return prq_bad_request(vtd, f, "supervisor_request");
	if (f->exe_req && f->rd_req)
		return prq_bad_request(vtd, f, "execution_request");
	/* Stop Marker: no report, no response. */
	if (f->lpig && !f->rd_req && !f->wr_req) {
		vtd_stat_inc(vtd, VS_STOP_MARKERS);
		prq_trace(vtd, IOPF_TRACE_STOP_MARKER_DROPPED, f, "stop_marker",
			  -1, IOPF_ORIGIN_NONE, 0);
		return;
	}
	dev = iopf_device_find(vtd->iommu, f->rid);
	if (!dev)
		return prq_bad_request(vtd, f, "unknown_requester");
	vtd_stat_inc(vtd, VS_REPORTED);
	prq_report(dev, f);
	iopf_device_put(dev); /* Pair with iopf_device_find() */
}

/*
 * A slot between PQH and PQT that holds no page_req_dsc (software moved
 * PQT over slots the hardware never wrote): nothing to decode, nobody to
 * answer. Skip it. A page_req_dsc with reserved bits set is handled as
 * usual: Linux does not check them.
 */
static void prq_not_a_request(struct iopf_vtd *vtd)
{
	/* The hw_desc_out event just before carries the raw slot. */
	vtd_stat_inc(vtd, VS_BAD_REQUESTS);
	prq_trace(vtd, IOPF_TRACE_BAD_REQUEST, NULL, "not_page_request", -1,
		  IOPF_ORIGIN_NONE, 0);
}

/* PRO: discard partial groups only once the ring is empty, then clear PRO. */
static void prq_overflow(struct iopf_vtd *vtd)
{
	uint64_t head, tail;

	prq_trace(vtd, IOPF_TRACE_OVERFLOW, NULL, "prq_overflow_detected", -1,
		  IOPF_ORIGIN_NONE, 0);
	head = reg_read(vtd, IOPF_VTD_PQH_REG) & IOPF_VTD_PQ_OFF_MASK;
	tail = reg_read(vtd, IOPF_VTD_PQT_REG) & IOPF_VTD_PQ_OFF_MASK;
	if (head != tail)
		return;
	iopf_queue_discard_partial(vtd->queue);
	reg_write(vtd, IOPF_VTD_PRS_REG, IOPF_VTD_PRS_PRO);
	vtd_stat_inc(vtd, VS_PRO_CLEARED);
	prq_trace(vtd, IOPF_TRACE_OVERFLOW, NULL, "prq_overflow_cleared", -1,
		  IOPF_ORIGIN_NONE, 0);
}

/* prq_event_thread() */
int vtd_prq_event(struct iopf_vtd *vtd)
{
	uint64_t head, tail, mask = vtd->prq_bytes - 1;
	struct iopf_vtd_page_req f;
	struct iopf_vtd_desc desc;
	int handled = 0;

	pthread_mutex_lock(&vtd->prq_mutex);
	/* Clear PPR first, so a request arriving from now on raises an event. */
	reg_write(vtd, IOPF_VTD_PRS_REG, IOPF_VTD_PRS_PPR);
	tail = reg_read(vtd, IOPF_VTD_PQT_REG) & IOPF_VTD_PQ_OFF_MASK;
	head = reg_read(vtd, IOPF_VTD_PQH_REG) & IOPF_VTD_PQ_OFF_MASK;
	while (head != tail) {
		iopf_vtd_desc_from_bytes(vtd->prq + head, &desc);
		vtd_trace_desc(vtd, IOPF_TRACE_HW_DESC_OUT, IOPF_LAYER_HW,
			       IOPF_LAYER_DRIVER, &desc,
			       (uint16_t)(desc.qw[0] >> 16));
		if (iopf_vtd_page_req_decode(&desc, &f) == -EINVAL)
			prq_not_a_request(vtd);
		else
			prq_handle_one(vtd, &f);
		head = (head + IOPF_VTD_DESC_SIZE) & mask;
		handled++;
	}
	reg_write(vtd, IOPF_VTD_PQH_REG, tail);
	if (reg_read(vtd, IOPF_VTD_PRS_REG) & IOPF_VTD_PRS_PRO)
		prq_overflow(vtd);
	prq_complete(vtd);
	pthread_mutex_unlock(&vtd->prq_mutex);
	return handled;
}

IOPF_EXPORT int iopf_vtd_process_prq(struct iopf_vtd *vtd)
{
	if (!vtd)
		return -EINVAL;
	pthread_mutex_lock(&vtd->irq_lock);
	vtd->irq_pending = false;
	pthread_mutex_unlock(&vtd->irq_lock);
	return vtd_prq_event(vtd);
}

IOPF_EXPORT int iopf_vtd_pump(struct iopf_vtd *vtd)
{
	int n;

	if (!vtd)
		return -EINVAL;
	n = iopf_vtd_process_prq(vtd);
	n += (int)iopf_queue_run(vtd->queue, SIZE_MAX);
	return n;
}

/* ---- the thread --------------------------------------------------------- */

static void *prq_thread_fn(void *arg)
{
	struct iopf_vtd *vtd = arg;

	pthread_mutex_lock(&vtd->irq_lock);
	while (!vtd->stopping) {
		if (!vtd->irq_pending) {
			pthread_cond_wait(&vtd->irq_cond, &vtd->irq_lock);
			continue;
		}
		vtd->irq_pending = false;
		pthread_mutex_unlock(&vtd->irq_lock);
		vtd_prq_event(vtd);
		pthread_mutex_lock(&vtd->irq_lock);
	}
	pthread_mutex_unlock(&vtd->irq_lock);
	return NULL;
}

int vtd_prq_thread_start(struct iopf_vtd *vtd)
{
	int ret;

	pthread_mutex_lock(&vtd->irq_lock);
	vtd->thread_running = true;
	pthread_mutex_unlock(&vtd->irq_lock);
	ret = pthread_create(&vtd->thread, NULL, prq_thread_fn, vtd);
	if (ret) {
		pthread_mutex_lock(&vtd->irq_lock);
		vtd->thread_running = false;
		pthread_mutex_unlock(&vtd->irq_lock);
		return -EAGAIN;
	}
	return 0;
}

void vtd_prq_thread_stop(struct iopf_vtd *vtd)
{
	bool running;

	pthread_mutex_lock(&vtd->irq_lock);
	running = vtd->thread_running;
	vtd->stopping = true;
	pthread_cond_signal(&vtd->irq_cond);
	pthread_mutex_unlock(&vtd->irq_lock);
	if (!running)
		return;
	pthread_join(vtd->thread, NULL);
	pthread_mutex_lock(&vtd->irq_lock);
	vtd->thread_running = false;
	pthread_cond_broadcast(&vtd->done_cond);
	pthread_mutex_unlock(&vtd->irq_lock);
}

/* ---- page_response (intel_iommu_page_response) -------------------------- */

static uint8_t vtd_resp_code(const struct iopf_vtd *vtd, uint32_t code)
{
	if (vtd->resp_encoding == IOPF_VTD_RESP_SPEC &&
	    code == IOPF_PAGE_RESP_FAILURE)
		return IOPF_VTD_RESP_FAILURE;
	/* Linux: QI_PGRP_RESP_CODE(msg->code), so FAILURE goes out as 2. */
	return code & 0xf;
}

void vtd_page_response(struct iopf_device *dev, const struct iopf_fault *evt,
		       const struct iopf_page_response *msg)
{
	struct iopf_vtd *vtd = iopf_iommu_drvdata(iopf_device_iommu(dev));
	const struct iopf_fault_page_request *prm = &evt->prm;
	struct iopf_vtd_page_grp_resp r = {
		/* PASID and index come from the original fault, the code from msg. */
		.pasid_present =
			prm->flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID,
		.resp_code = vtd_resp_code(vtd, msg->code),
		.rid = (uint16_t)iopf_device_id(dev),
		.pasid = prm->pasid,
		.prg_index = (uint16_t)prm->grpid,
	};
	struct iopf_vtd_desc desc;

	iopf_vtd_page_grp_resp_encode(&r, &desc);
	vtd_qi_submit_sync(vtd, &desc, 1, false);
}

/* ---- the drain (intel_iommu_drain_pasid_prq, VT-d §7.10) ----------------- */

/* Is a descriptor for @sid / @pasid still between PQH and PQT? */
static bool prq_pending_for(struct iopf_vtd *vtd, uint16_t sid, uint32_t pasid)
{
	uint64_t head, tail, mask = vtd->prq_bytes - 1;
	struct iopf_vtd_page_req f;
	struct iopf_vtd_desc desc;

	tail = reg_read(vtd, IOPF_VTD_PQT_REG) & IOPF_VTD_PQ_OFF_MASK;
	head = reg_read(vtd, IOPF_VTD_PQH_REG) & IOPF_VTD_PQ_OFF_MASK;
	for (; head != tail; head = (head + IOPF_VTD_DESC_SIZE) & mask) {
		/* The slot may be reused once the prq thread moves PQH: copy it under hw_lock. */
		if (iopf_vtd_prq_read(vtd, head / IOPF_VTD_DESC_SIZE, &desc))
			break;
		if (iopf_vtd_page_req_decode(&desc, &f) == -EINVAL ||
		    f.rid != sid)
			continue;
		if (pasid == IOPF_NO_PASID ?
			    !f.pasid_present :
			    (f.pasid_present && f.pasid == pasid))
			return true;
	}
	return false;
}

static void drain_trace(struct iopf_vtd *vtd, uint32_t type,
			struct iopf_device *dev, uint32_t pasid, uint32_t count)
{
	struct iopf_trace_event ev = {
		.type = type,
		.from = IOPF_LAYER_DRIVER,
		.to = IOPF_LAYER_HW,
		.iommu = vtd->name,
		.device = iopf_device_name(dev),
		.dev_id = iopf_device_id(dev),
		.pasid = pasid,
		.code = -1,
		.count = count,
		.name = "vtd_drain_pasid_prq",
	};

	if (iopf_trace_on(vtd->ctx))
		iopf_trace_emit(vtd->ctx, &ev);
}

void vtd_remove_dev_pasid(struct iopf_device *dev, uint32_t pasid,
			  struct iopf_domain *domain)
{
	struct iopf_vtd *vtd = iopf_iommu_drvdata(iopf_device_iommu(dev));
	uint16_t sid = (uint16_t)iopf_device_id(dev);
	bool pp = pasid != IOPF_NO_PASID;
	struct iopf_vtd_desc desc[3];
	struct iopf_vtd_inv_wait fence = { .fence = true };
	uint32_t rounds = 0;
	uint64_t seq;

	(void)domain;
	vtd_stat_inc(vtd, VS_DRAINS);
	drain_trace(vtd, IOPF_TRACE_DRAIN_BEGIN, dev, pasid, 0);
	/* 1. Wait until the prq thread consumed every request of this PASID. */
	for (;;) {
		seq = prq_seq(vtd);
		if (!prq_pending_for(vtd, sid, pasid))
			break;
		prq_wait_complete(vtd, seq);
	}
	/* 2. Wait for the work those requests queued. */
	iopf_queue_flush_dev(dev);
	/* 3. Fence, IOTLB and device-TLB invalidation, then a drain wait. */
	iopf_vtd_inv_wait_encode(&fence, &desc[0]);
	vtd_iotlb_inv_desc(&desc[1], VTD_DID, pp, pasid);
	vtd_dev_tlb_inv_desc(&desc[2], sid, pp, pasid);
	for (;;) {
		seq = prq_seq(vtd);
		vtd_qi_submit_sync(vtd, desc, 3, true);
		/* 4. An overflow auto-answered Success: the device may post again. */
		if (!(reg_read(vtd, IOPF_VTD_PRS_REG) & IOPF_VTD_PRS_PRO))
			break;
		vtd_stat_inc(vtd, VS_DRAIN_RETRIES);
		rounds++;
		prq_wait_complete(vtd, seq);
	}
	drain_trace(vtd, IOPF_TRACE_DRAIN_END, dev, pasid, rounds);
}
