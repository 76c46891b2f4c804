// SPDX-License-Identifier: MIT
/*
 * The PCIe Page Request Interface of an endpoint (PCIe §10.4, §10.5.2):
 * the capability registers, Outstanding Page Request credits, 9-bit PRG
 * Indexes, PRG Response handling and the two ways to stop a PASID.
 *
 * Locking: see pci-priv.h. Port operations, trace sinks and the response
 * callback are always called without ep->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pci-priv.h"

#define PRI_DEFAULT_CAPACITY   32
#define PRI_DEFAULT_TIMEOUT_MS 10000
#define PRI_DEFAULT_RETRIES    16
#define PRI_PUMP_SLICE_NS      1000000L

/* ---- trace -------------------------------------------------------------- */

static const uint8_t pri_dir_layers[][2] = {
	[PRI_TO_HW] = { IOPF_LAYER_ENDPOINT, IOPF_LAYER_HW },
	[PRI_FROM_HW] = { IOPF_LAYER_HW, IOPF_LAYER_ENDPOINT },
	[PRI_FROM_DRIVER] = { IOPF_LAYER_DRIVER, IOPF_LAYER_ENDPOINT },
	[PRI_LOCAL] = { IOPF_LAYER_ENDPOINT, IOPF_LAYER_ENDPOINT },
};

void pri_trace(struct iopf_pci_endpoint *ep, enum pri_dir dir, const char *what,
	       uint32_t pasid, uint64_t addr, uint32_t grpid, int32_t code,
	       int32_t ret, uint32_t count)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_DEVICE_EVENT,
		.from = pri_dir_layers[dir][0],
		.to = pri_dir_layers[dir][1],
		.device = ep->name,
		.dev_id = ep->rid,
		.pasid = pasid,
		.grpid = grpid,
		.addr = addr,
		.code = code,
		.ret = ret,
		.count = count,
		.name = what,
	};

	if (!iopf_trace_on(ep->ctx))
		return;
	iopf_trace_emit(ep->ctx, &ev);
}

/* ---- waiting ------------------------------------------------------------ */

static void ts_add_ns(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void pri_deadline(const struct iopf_pci_endpoint *ep, struct timespec *deadline)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ep->timeout_ms / 1000;
	ts_add_ns(deadline, (long)(ep->timeout_ms % 1000) * 1000000L);
}

/*
 * One step of a wait, with ep->lock held (dropped inside). In manual mode
 * the IOMMU model is pumped first: if that made progress the caller
 * re-checks its condition at once. Otherwise sleep until woken (or a short
 * slice when pumping, since another thread may be the one pumping).
 */
int pri_wait_step(struct iopf_pci_endpoint *ep, const struct timespec *deadline)
{
	int (*pump)(void *priv) = ep->connected ? ep->port.pump : NULL;
	void *priv = ep->port_priv;
	struct timespec now, until;

	if (pump) {
		int n;

		pthread_mutex_unlock(&ep->lock);
		n = pump(priv);
		pthread_mutex_lock(&ep->lock);
		if (n > 0)
			return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!ts_before(&now, deadline))
		return -ETIMEDOUT;
	until = *deadline;
	if (pump) {
		ts_add_ns(&now, PRI_PUMP_SLICE_NS);
		if (ts_before(&now, &until))
			until = now;
	}
	pthread_cond_timedwait(&ep->cond, &ep->lock, &until);
	return 0;
}

/* Wait for a group's response; ep->lock held. */
int pri_wait(struct iopf_pci_endpoint *ep, struct prg_waiter *waiter)
{
	struct timespec deadline;
	int ret;

	pri_deadline(ep, &deadline);
	while (!waiter->done) {
		ret = pri_wait_step(ep, &deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- credits, indexes, PASIDs ------------------------------------------ */

uint32_t pri_allocation(const struct iopf_pci_endpoint *ep)
{
	return ep->alloc < ep->capacity ? ep->alloc : ep->capacity;
}

bool pri_pasid_stopped(const struct iopf_pci_endpoint *ep, uint32_t pasid)
{
	for (size_t i = 0; i < ep->nr_stopped; i++)
		if (ep->stopped[i] == pasid)
			return true;
	return false;
}

/* Indexes are handed out round-robin and never reused while outstanding. */
static int pri_alloc_prgi(struct iopf_pci_endpoint *ep)
{
	for (unsigned int i = 0; i < IOPF_PCI_NR_PRGI; i++) {
		unsigned int idx = (ep->next_prgi + i) % IOPF_PCI_NR_PRGI;

		if (ep->prg[idx].state == PRG_FREE) {
			ep->next_prgi = (idx + 1) % IOPF_PCI_NR_PRGI;
			return (int)idx;
		}
	}
	return -1;
}

/* Stopped reads 1 once Enable is clear and nothing is outstanding. */
static void pri_update_stopped(struct iopf_pci_endpoint *ep)
{
	if (!(ep->ctrl & IOPF_PCI_PRI_CTRL_ENABLE) && !ep->credits_used)
		ep->status |= IOPF_PCI_PRI_STATUS_STOPPED;
}

static void pri_release_slot(struct iopf_pci_endpoint *ep,
			     struct prg_slot *slot)
{
	ep->credits_used -= slot->nr_reqs;
	memset(slot, 0, sizeof(*slot));
	pri_update_stopped(ep);
}

static void pri_fail_waiters(struct iopf_pci_endpoint *ep, bool all,
			     uint32_t pasid, int err)
{
	for (unsigned int i = 0; i < IOPF_PCI_NR_PRGI; i++) {
		struct prg_slot *slot = &ep->prg[i];

		if (!slot->waiter || (!all && slot->pasid != pasid))
			continue;
		slot->waiter->done = true;
		slot->waiter->err = err;
		slot->waiter = NULL;
	}
}

/* Why a group cannot be sent now, or 0; ep->lock held. */
static int pri_send_check(struct iopf_pci_endpoint *ep, uint32_t pasid,
			  unsigned int n)
{
	if (!ep->connected)
		return -ENOTCONN;
	if (!(ep->ctrl & IOPF_PCI_PRI_CTRL_ENABLE))
		return -EPERM;
	if (ep->status & IOPF_PCI_PRI_STATUS_RF)
		return -EIO;
	if (pasid && pri_pasid_stopped(ep, pasid))
		return -ESHUTDOWN;
	if (n > pri_allocation(ep))
		return -ENOSPC;
	return 0;
}

static void pri_post_group(struct iopf_pci_endpoint *ep,
			   const struct iopf_pci_port_ops *port, void *priv,
			   uint32_t pasid, uint32_t perm, const uint64_t *addrs,
			   unsigned int n, uint16_t prgi)
{
	struct iopf_pci_page_request pr = {
		.rid = ep->rid,
		.pasid_present = pasid != 0,
		.pasid = pasid,
		.exe = perm & IOPF_FAULT_PERM_EXEC,
		.priv = perm & IOPF_FAULT_PERM_PRIV,
		.read = perm & IOPF_FAULT_PERM_READ,
		.write = perm & IOPF_FAULT_PERM_WRITE,
		.prgi = prgi,
	};

	/* A request with neither R nor W would read as a Stop Marker. */
	if (!pr.read && !pr.write)
		pr.read = true;
	for (unsigned int i = 0; i < n; i++) {
		pr.addr = addrs[i] & IOPF_PCI_PRM_ADDR_MASK;
		pr.last = i == n - 1;
		pri_trace(ep, PRI_TO_HW, "page_request", pasid, pr.addr, prgi,
			  -1, 0, pr.last);
		port->page_request(priv, &pr);
	}
}

int pri_send_group(struct iopf_pci_endpoint *ep, uint32_t pasid, uint32_t perm,
		   const uint64_t *addrs, unsigned int n,
		   struct prg_waiter *waiter, bool block, uint16_t *prgi)
{
	struct iopf_pci_port_ops port;
	struct timespec deadline;
	struct prg_slot *slot;
	void *priv;
	int idx, ret;

	if (!n)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	pri_deadline(ep, &deadline);
	for (;;) {
		ret = pri_send_check(ep, pasid, n);
		if (ret)
			goto out_unlock;
		if (ep->credits_used + n <= pri_allocation(ep)) {
			idx = pri_alloc_prgi(ep);
			if (idx >= 0)
				break;
		}
		ret = -EAGAIN;
		if (!block)
			goto out_unlock;
		ret = pri_wait_step(ep, &deadline);
		if (ret)
			goto out_unlock;
	}
	slot = &ep->prg[idx];
	slot->state = PRG_OUTSTANDING;
	slot->pasid_present = pasid != 0;
	slot->pasid = pasid;
	slot->nr_reqs = n;
	slot->waiter = waiter;
	ep->credits_used += n;
	if (ep->credits_used > ep->stats.max_credits_used)
		ep->stats.max_credits_used = ep->credits_used;
	ep->stats.groups++;
	ep->stats.page_requests += n;
	ep->sending++;
	port = ep->port;
	priv = ep->port_priv;
	pthread_mutex_unlock(&ep->lock);

	pri_post_group(ep, &port, priv, pasid, perm, addrs, n, (uint16_t)idx);

	pthread_mutex_lock(&ep->lock);
	ep->sending--;
	pthread_cond_broadcast(&ep->cond);
	if (prgi)
		*prgi = (uint16_t)idx;
	ret = 0;
out_unlock:
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

/* ---- responses ---------------------------------------------------------- */

static bool pri_resp_matches(const struct iopf_pci_endpoint *ep,
			     const struct prg_slot *slot,
			     const struct iopf_pci_prg_response *resp)
{
	if (slot->state == PRG_FREE)
		return false;
	if (!(ep->status & IOPF_PCI_PRI_STATUS_PASID) || !slot->pasid_present)
		return true;
	return resp->pasid_present && resp->pasid == slot->pasid;
}

/* Apply a response to its slot; ep->lock held. */
static int pri_take_response(struct iopf_pci_endpoint *ep,
			     const struct iopf_pci_prg_response *resp)
{
	struct prg_slot *slot = &ep->prg[resp->prgi % IOPF_PCI_NR_PRGI];
	struct prg_waiter *waiter;

	if (ep->status & IOPF_PCI_PRI_STATUS_RF)
		return IOPF_PCI_RESP_IGNORED;
	if (!pri_resp_matches(ep, slot, resp)) {
		if (!(ep->ctrl & IOPF_PCI_PRI_CTRL_ENABLE))
			return IOPF_PCI_RESP_IGNORED;
		ep->status |= IOPF_PCI_PRI_STATUS_UPRGI;
		return IOPF_PCI_RESP_UNEXPECTED;
	}
	if (slot->state == PRG_ORPHAN) {
		pri_release_slot(ep, slot);
		return IOPF_PCI_RESP_STALE;
	}
	waiter = slot->waiter;
	pri_release_slot(ep, slot);
	if (waiter) {
		waiter->done = true;
		waiter->err = 0;
		waiter->code = resp->code;
	}
	if (resp->code != IOPF_PCI_PRG_RESP_SUCCESS &&
	    resp->code != IOPF_PCI_PRG_RESP_INVALID) {
		/* Response Failure, or a reserved code handled as one. */
		ep->status |= IOPF_PCI_PRI_STATUS_RF;
		pri_fail_waiters(ep, true, 0, -EIO);
	}
	return IOPF_PCI_RESP_ACCEPTED;
}

IOPF_EXPORT int iopf_pci_prg_response(struct iopf_pci_endpoint *ep,
				      const struct iopf_pci_prg_response *resp)
{
	int disp;

	if (!ep || !resp)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	disp = pri_take_response(ep, resp);
	ep->stats.responses[disp]++;
	pthread_cond_broadcast(&ep->cond);
	pthread_mutex_unlock(&ep->lock);
	pri_trace(ep, PRI_FROM_HW, "prg_response",
		  resp->pasid_present ? resp->pasid : IOPF_PASID_INVALID, 0,
		  resp->prgi, resp->code, disp, 0);
	if (ep->response_cb)
		ep->response_cb(ep, resp, (unsigned int)disp, ep->cb_priv);
	return disp;
}

IOPF_EXPORT int iopf_pci_ats_invalidate(struct iopf_pci_endpoint *ep,
					bool pasid_present, uint32_t pasid)
{
	if (!ep)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	ep->stats.ats_invalidations++;
	pthread_mutex_unlock(&ep->lock);
	pri_trace(ep, PRI_FROM_HW, "ats_invalidate",
		  pasid_present ? pasid : IOPF_PASID_INVALID, 0, 0, -1, 0, 0);
	return 0;
}

/* ---- the capability registers ------------------------------------------ */

IOPF_EXPORT int iopf_pci_pri_read(struct iopf_pci_endpoint *ep,
				  unsigned int offset, uint32_t *val)
{
	int ret = 0;

	if (!ep || !val)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	switch (offset) {
	case IOPF_PCI_PRI_CTRL:
		*val = ep->ctrl;
		break;
	case IOPF_PCI_PRI_STATUS:
		*val = ep->status;
		break;
	case IOPF_PCI_PRI_MAX_REQ:
		*val = ep->capacity;
		break;
	case IOPF_PCI_PRI_ALLOC_REQ:
		*val = ep->alloc;
		break;
	default:
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

/* Reset: forget every outstanding group, give every credit back. */
static void pri_reset(struct iopf_pci_endpoint *ep)
{
	pri_fail_waiters(ep, true, 0, -EIO);
	memset(ep->prg, 0, sizeof(ep->prg));
	ep->credits_used = 0;
	pri_update_stopped(ep);
}

static void pri_write_ctrl(struct iopf_pci_endpoint *ep, uint32_t val)
{
	bool was = ep->ctrl & IOPF_PCI_PRI_CTRL_ENABLE;
	bool now = val & IOPF_PCI_PRI_CTRL_ENABLE;

	if (!was && now) {
		ep->ctrl |= IOPF_PCI_PRI_CTRL_ENABLE;
		ep->status &=
			~(IOPF_PCI_PRI_STATUS_STOPPED | IOPF_PCI_PRI_STATUS_RF |
			  IOPF_PCI_PRI_STATUS_UPRGI);
	} else if (was && !now) {
		ep->ctrl &= ~IOPF_PCI_PRI_CTRL_ENABLE;
		pri_update_stopped(ep);
	}
	if ((val & IOPF_PCI_PRI_CTRL_RESET) && !now)
		pri_reset(ep);
}

IOPF_EXPORT int iopf_pci_pri_write(struct iopf_pci_endpoint *ep,
				   unsigned int offset, uint32_t val)
{
	int ret = 0;

	if (!ep)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	switch (offset) {
	case IOPF_PCI_PRI_CTRL:
		pri_write_ctrl(ep, val);
		break;
	case IOPF_PCI_PRI_STATUS:
		ep->status &= ~(val & (IOPF_PCI_PRI_STATUS_RF |
				       IOPF_PCI_PRI_STATUS_UPRGI));
		break;
	case IOPF_PCI_PRI_ALLOC_REQ:
		if (!(ep->ctrl & IOPF_PCI_PRI_CTRL_ENABLE))
			ep->alloc = val;
		break;
	default:
		ret = -EINVAL;
	}
	pthread_cond_broadcast(&ep->cond);
	pthread_mutex_unlock(&ep->lock);
	if (!ret)
		pri_trace(ep, PRI_FROM_DRIVER, "pri_write", IOPF_PASID_INVALID,
			  offset, 0, -1, (int32_t)val, 0);
	return ret;
}

IOPF_EXPORT int iopf_pci_enable_pri(struct iopf_pci_endpoint *ep, uint32_t reqs)
{
	uint32_t ctrl, status, cap;

	if (!ep || !reqs)
		return -EINVAL;
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_CTRL, &ctrl);
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_STATUS, &status);
	if ((ctrl & IOPF_PCI_PRI_CTRL_ENABLE) ||
	    !(status & IOPF_PCI_PRI_STATUS_STOPPED))
		return -EBUSY;
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_MAX_REQ, &cap);
	iopf_pci_pri_write(ep, IOPF_PCI_PRI_ALLOC_REQ, reqs < cap ? reqs : cap);
	return iopf_pci_pri_write(ep, IOPF_PCI_PRI_CTRL,
				  ctrl | IOPF_PCI_PRI_CTRL_ENABLE);
}

IOPF_EXPORT int iopf_pci_disable_pri(struct iopf_pci_endpoint *ep)
{
	uint32_t ctrl;

	if (!ep)
		return -EINVAL;
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_CTRL, &ctrl);
	return iopf_pci_pri_write(ep, IOPF_PCI_PRI_CTRL,
				  ctrl & ~IOPF_PCI_PRI_CTRL_ENABLE);
}

IOPF_EXPORT int iopf_pci_reset_pri(struct iopf_pci_endpoint *ep)
{
	uint32_t ctrl;

	if (!ep)
		return -EINVAL;
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_CTRL, &ctrl);
	if (ctrl & IOPF_PCI_PRI_CTRL_ENABLE)
		return -EBUSY;
	return iopf_pci_pri_write(ep, IOPF_PCI_PRI_CTRL,
				  IOPF_PCI_PRI_CTRL_RESET);
}

IOPF_EXPORT bool iopf_pci_prg_resp_pasid_required(struct iopf_pci_endpoint *ep)
{
	uint32_t status = 0;

	if (!ep)
		return false;
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_STATUS, &status);
	return status & IOPF_PCI_PRI_STATUS_PASID;
}

/* ---- sending without waiting -------------------------------------------- */

IOPF_EXPORT int iopf_pci_pri_send(struct iopf_pci_endpoint *ep, uint32_t pasid,
				  uint32_t perm, const uint64_t *addrs,
				  unsigned int n, uint16_t *prgi)
{
	if (!ep || !addrs || !n || pasid >= (1u << IOPF_PASID_BITS))
		return -EINVAL;
	return pri_send_group(ep, pasid, perm, addrs, n, NULL, false, prgi);
}

IOPF_EXPORT int iopf_pci_send_raw(struct iopf_pci_endpoint *ep,
				  const struct iopf_pci_page_request *pr)
{
	struct iopf_pci_page_request msg;
	struct iopf_pci_port_ops port;
	void *priv;

	if (!ep || !pr)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	if (!ep->connected) {
		pthread_mutex_unlock(&ep->lock);
		return -ENOTCONN;
	}
	port = ep->port;
	priv = ep->port_priv;
	ep->stats.raw_requests++;
	pthread_mutex_unlock(&ep->lock);
	msg = *pr;
	msg.rid = ep->rid;
	pri_trace(ep, PRI_TO_HW, "raw_request",
		  msg.pasid_present ? msg.pasid : IOPF_PASID_INVALID, msg.addr,
		  msg.prgi, -1, 0, msg.last);
	port.page_request(priv, &msg);
	return 0;
}

IOPF_EXPORT int iopf_pci_prg_outstanding(struct iopf_pci_endpoint *ep,
					 uint16_t prgi)
{
	int ret;

	if (!ep || prgi >= IOPF_PCI_NR_PRGI)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	ret = ep->prg[prgi].state != PRG_FREE;
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

/* ---- stopping a PASID (PCIe §10.4.1.2) ---------------------------------- */

static int pri_mark_stopped(struct iopf_pci_endpoint *ep, uint32_t pasid)
{
	if (pri_pasid_stopped(ep, pasid))
		return 0;
	if (ep->nr_stopped == ep->max_stopped) {
		size_t max = ep->max_stopped ? ep->max_stopped * 2 : 8;
		uint32_t *s = iopf_calloc(max, sizeof(*s));

		if (!s)
			return -ENOMEM;
		if (ep->nr_stopped)
			memcpy(s, ep->stopped, ep->nr_stopped * sizeof(*s));
		iopf_mfree(ep->stopped);
		ep->stopped = s;
		ep->max_stopped = max;
	}
	ep->stopped[ep->nr_stopped++] = pasid;
	return 0;
}

static bool pri_pasid_outstanding(const struct iopf_pci_endpoint *ep,
				  uint32_t pasid)
{
	for (unsigned int i = 0; i < IOPF_PCI_NR_PRGI; i++)
		if (ep->prg[i].state != PRG_FREE && ep->prg[i].pasid_present &&
		    ep->prg[i].pasid == pasid)
			return true;
	return false;
}

/* Stop Marker variant: orphan the PASID's groups, then post the marker. */
static int pri_stop_marker(struct iopf_pci_endpoint *ep, uint32_t pasid)
{
	struct iopf_pci_page_request pr = {
		.rid = ep->rid,
		.pasid_present = true,
		.pasid = pasid,
		.last = true,
	};
	struct iopf_pci_port_ops port;
	void *priv;

	if (!ep->connected) {
		pthread_mutex_unlock(&ep->lock);
		return -ENOTCONN;
	}
	for (unsigned int i = 0; i < IOPF_PCI_NR_PRGI; i++) {
		struct prg_slot *slot = &ep->prg[i];

		if (slot->state == PRG_OUTSTANDING && slot->pasid_present &&
		    slot->pasid == pasid)
			slot->state = PRG_ORPHAN;
	}
	pri_fail_waiters(ep, false, pasid, -ESHUTDOWN);
	ep->stats.stop_markers++;
	port = ep->port;
	priv = ep->port_priv;
	pthread_cond_broadcast(&ep->cond);
	pthread_mutex_unlock(&ep->lock);
	pri_trace(ep, PRI_TO_HW, "stop_marker", pasid, 0, 0, -1, 0, 1);
	port.page_request(priv, &pr);
	return 0;
}

IOPF_EXPORT int iopf_pci_stop_pasid(struct iopf_pci_endpoint *ep,
				    uint32_t pasid,
				    enum iopf_pci_stop_style style)
{
	struct timespec deadline;
	int ret;

	if (!ep || !pasid || pasid >= (1u << IOPF_PASID_BITS) ||
	    (style != IOPF_PCI_STOP_WAIT && style != IOPF_PCI_STOP_MARKER))
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	ret = pri_mark_stopped(ep, pasid);
	if (ret)
		goto out_unlock;
	/* (a)+(b): no new request, and every group being posted is complete. */
	pri_deadline(ep, &deadline);
	while (ep->sending && pthread_cond_timedwait(&ep->cond, &ep->lock,
						     &deadline) != ETIMEDOUT)
		;
	if (style == IOPF_PCI_STOP_MARKER)
		return pri_stop_marker(ep, pasid);
	/* (c): wait for the responses, unless RF means none will be taken. */
	while (pri_pasid_outstanding(ep, pasid) &&
	       !(ep->status & IOPF_PCI_PRI_STATUS_RF)) {
		ret = pri_wait_step(ep, &deadline);
		if (ret)
			goto out_unlock;
	}
out_unlock:
	pthread_mutex_unlock(&ep->lock);
	if (!ret)
		pri_trace(ep, PRI_LOCAL, "pasid_stopped", pasid, 0, 0, -1, 0,
			  0);
	return ret;
}

IOPF_EXPORT int iopf_pci_start_pasid(struct iopf_pci_endpoint *ep,
				     uint32_t pasid)
{
	int ret = -ENOENT;

	if (!ep || !pasid || pasid >= (1u << IOPF_PASID_BITS))
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	for (size_t i = 0; i < ep->nr_stopped; i++) {
		if (ep->stopped[i] != pasid)
			continue;
		ep->stopped[i] = ep->stopped[--ep->nr_stopped];
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

/* ---- lifetime ----------------------------------------------------------- */

static void ep_destroy(struct iopf_ctx_member *member)
{
	struct iopf_pci_endpoint *ep =
		container_of(member, struct iopf_pci_endpoint, member);
	void (*unplug)(void *priv, struct iopf_pci_endpoint *ep) = NULL;
	void *priv = NULL;

	pthread_mutex_lock(&ep->lock);
	if (ep->connected) {
		unplug = ep->port.unplug;
		priv = ep->port_priv;
	}
	pthread_mutex_unlock(&ep->lock);
	if (unplug)
		unplug(priv, ep);
	pthread_cond_destroy(&ep->cond);
	pthread_mutex_destroy(&ep->lock);
	iopf_mfree(ep->stopped);
	iopf_mfree(ep->name);
	iopf_mfree(ep);
}

static int ep_init_sync(struct iopf_pci_endpoint *ep)
{
	pthread_condattr_t ca;
	int ret;

	ret = pthread_condattr_init(&ca);
	if (ret)
		return -ret;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&ep->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return -ret;
	pthread_mutex_init(&ep->lock, NULL);
	return 0;
}

IOPF_EXPORT int iopf_pci_endpoint_new(struct iopf_ctx *ctx,
				      const struct iopf_pci_endpoint_attr *attr,
				      struct iopf_pci_endpoint **out)
{
	struct iopf_pci_endpoint *ep;
	char buf[16];
	int ret;

	if (!ctx || !attr || !out || attr->size != sizeof(*attr))
		return -EINVAL;
	ep = iopf_zalloc(sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	snprintf(buf, sizeof(buf), "ep%04x", attr->rid);
	ep->name = iopf_strdup(attr->name ? attr->name : buf);
	if (!ep->name) {
		iopf_mfree(ep);
		return -ENOMEM;
	}
	ret = ep_init_sync(ep);
	if (ret) {
		iopf_mfree(ep->name);
		iopf_mfree(ep);
		return ret;
	}
	ep->ctx = ctx;
	ep->rid = attr->rid;
	ep->capacity =
		attr->pri_capacity ? attr->pri_capacity : PRI_DEFAULT_CAPACITY;
	ep->timeout_ms =
		attr->timeout_ms ? attr->timeout_ms : PRI_DEFAULT_TIMEOUT_MS;
	ep->max_retries =
		attr->max_retries ? attr->max_retries : PRI_DEFAULT_RETRIES;
	ep->response_cb = attr->response_cb;
	ep->cb_priv = attr->priv;
	ep->status = IOPF_PCI_PRI_STATUS_STOPPED;
	if (attr->prg_resp_pasid_required)
		ep->status |= IOPF_PCI_PRI_STATUS_PASID;
	iopf_ctx_link(ctx, &ep->member, ep_destroy);
	*out = ep;
	return 0;
}

IOPF_EXPORT void iopf_pci_endpoint_free(struct iopf_pci_endpoint *ep)
{
	if (!ep)
		return;
	iopf_ctx_unlink(ep->ctx, &ep->member);
	ep_destroy(&ep->member);
}

IOPF_EXPORT uint16_t iopf_pci_endpoint_rid(const struct iopf_pci_endpoint *ep)
{
	return ep ? ep->rid : 0;
}

IOPF_EXPORT const char *
iopf_pci_endpoint_name(const struct iopf_pci_endpoint *ep)
{
	return ep ? ep->name : NULL;
}

IOPF_EXPORT int iopf_pci_endpoint_connect(struct iopf_pci_endpoint *ep,
					  const struct iopf_pci_port_ops *ops,
					  void *priv)
{
	int ret = 0;

	if (!ep || !ops || ops->size != sizeof(*ops) || !ops->translate ||
	    !ops->page_request)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	if (ep->connected) {
		ret = -EBUSY;
	} else {
		ep->port = *ops;
		ep->port_priv = priv;
		ep->connected = true;
	}
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

IOPF_EXPORT int iopf_pci_endpoint_disconnect(struct iopf_pci_endpoint *ep)
{
	int ret = 0;

	if (!ep)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	if (!ep->connected) {
		ret = -ENOTCONN;
	} else {
		ep->connected = false;
		memset(&ep->port, 0, sizeof(ep->port));
		ep->port_priv = NULL;
		pthread_cond_broadcast(&ep->cond);
	}
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

IOPF_EXPORT int iopf_pci_endpoint_stats(struct iopf_pci_endpoint *ep,
					struct iopf_pci_endpoint_stats *stats)
{
	size_t size;

	if (!ep || !stats || stats->size < sizeof(size_t) + sizeof(uint64_t) ||
	    stats->size > sizeof(*stats))
		return -EINVAL;
	size = stats->size;
	pthread_mutex_lock(&ep->lock);
	ep->stats.credits_used = ep->credits_used;
	memcpy((char *)stats + sizeof(size_t),
	       (char *)&ep->stats + sizeof(size_t), size - sizeof(size_t));
	pthread_mutex_unlock(&ep->lock);
	stats->size = size;
	return 0;
}
