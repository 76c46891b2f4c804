// SPDX-License-Identifier: MIT
/*
 * The PCIe PRI endpoint against a fake root port: the capability
 * registers, credits, PRG Index reuse, response handling (UPRGI, Response
 * Failure and recovery), both ways to stop a PASID, and the DMA loop in
 * manual (pump) and threaded mode.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/hw/pci.h>

#define BASE	 0x100000ull
#define NR_PAGES 64
#define MAX_REQS 4096
#define RID	 0x0100

/* The fake root port: records requests; answers them in pump or a thread. */
struct fport {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct iopf_pci_page_request reqs[MAX_REQS];
	size_t nr, answered, group_start;
	bool resident[NR_PAGES];
	uint8_t code;
	bool stop;
	bool unplugged;
	struct iopf_pci_endpoint *ep;
	/* response callback record */
	unsigned int disp[4];
	struct iopf_pci_prg_response last_resp;
};

struct fx {
	struct iopf_ctx *ctx;
	struct iopf_pci_endpoint *ep;
	struct fport port;
	pthread_t responder;
	bool threaded;
};

static int fp_translate(void *priv, uint16_t rid, bool pp, uint32_t pasid,
			uint64_t addr, uint32_t perm)
{
	struct fport *p = priv;
	uint64_t i = (addr - BASE) / 4096;
	int ret;

	(void)pp;
	(void)pasid;
	(void)perm;
	assert_int_equal(rid, RID);
	if (addr < BASE || i >= NR_PAGES)
		return -ENODEV;
	pthread_mutex_lock(&p->lock);
	ret = p->resident[i] ? 0 : -EFAULT;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static void fp_page_request(void *priv, const struct iopf_pci_page_request *pr)
{
	struct fport *p = priv;

	pthread_mutex_lock(&p->lock);
	assert_true(p->nr < MAX_REQS);
	p->reqs[p->nr++] = *pr;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Answer every complete group recorded so far; lock held, dropped to answer. */
static int fp_answer(struct fport *p)
{
	int n = 0;

	while (p->answered < p->nr) {
		struct iopf_pci_page_request pr = p->reqs[p->answered++];
		struct iopf_pci_prg_response resp = {
			.rid = pr.rid,
			.pasid_present = pr.pasid_present,
			.pasid = pr.pasid,
			.prgi = pr.prgi,
			.code = p->code,
		};

		if (!pr.last || (!pr.read && !pr.write)) {
			if (!pr.last)
				continue;
			p->group_start =
				p->answered; /* stop marker: no response */
			continue;
		}
		if (p->code == IOPF_PCI_PRG_RESP_SUCCESS)
			for (size_t i = p->group_start; i < p->answered; i++)
				p->resident[(p->reqs[i].addr - BASE) / 4096] =
					true;
		p->group_start = p->answered;
		pthread_mutex_unlock(&p->lock);
		iopf_pci_prg_response(p->ep, &resp);
		pthread_mutex_lock(&p->lock);
		n++;
	}
	return n;
}

static int fp_pump(void *priv)
{
	struct fport *p = priv;
	int n;

	pthread_mutex_lock(&p->lock);
	n = fp_answer(p);
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void fp_unplug(void *priv, struct iopf_pci_endpoint *ep)
{
	struct fport *p = priv;

	assert_ptr_equal(ep, p->ep);
	p->unplugged = true;
}

static void *fp_responder(void *arg)
{
	struct fport *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->answered == p->nr) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		fp_answer(p);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void resp_cb(struct iopf_pci_endpoint *ep,
		    const struct iopf_pci_prg_response *resp, unsigned int disp,
		    void *priv)
{
	struct fport *p = priv;

	(void)ep;
	pthread_mutex_lock(&p->lock);
	p->disp[disp]++;
	p->last_resp = *resp;
	pthread_mutex_unlock(&p->lock);
}

static int fx_setup(void **state, bool pump, bool threaded, bool pasid_req,
		    uint32_t cap)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct iopf_pci_endpoint_attr attr = {
		.size = sizeof(attr),
		.rid = RID,
		.pri_capacity = cap,
		.prg_resp_pasid_required = pasid_req,
		.timeout_ms = 5000,
		.response_cb = resp_cb,
	};
	struct iopf_pci_port_ops ops = {
		.size = sizeof(ops),
		.translate = fp_translate,
		.page_request = fp_page_request,
		.pump = pump ? fp_pump : NULL,
		.unplug = fp_unplug,
	};

	assert_non_null(fx);
	pthread_mutex_init(&fx->port.lock, NULL);
	pthread_cond_init(&fx->port.cond, NULL);
	attr.priv = &fx->port;
	assert_int_equal(iopf_ctx_new(&fx->ctx), 0);
	assert_int_equal(iopf_pci_endpoint_new(fx->ctx, &attr, &fx->ep), 0);
	fx->port.ep = fx->ep;
	assert_int_equal(iopf_pci_endpoint_connect(fx->ep, &ops, &fx->port), 0);
	assert_int_equal(iopf_pci_endpoint_connect(fx->ep, &ops, &fx->port),
			 -EBUSY);
	fx->threaded = threaded;
	if (threaded)
		assert_int_equal(pthread_create(&fx->responder, NULL,
						fp_responder, &fx->port),
				 0);
	*state = fx;
	return 0;
}

static int setup_plain(void **state)
{
	return fx_setup(state, false, false, false, 8);
}

static int setup_pasid_req(void **state)
{
	return fx_setup(state, false, false, true, 8);
}

static int setup_pump(void **state)
{
	return fx_setup(state, true, false, true, 8);
}

static int setup_threaded(void **state)
{
	return fx_setup(state, false, true, true, 4);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->threaded) {
		pthread_mutex_lock(&fx->port.lock);
		fx->port.stop = true;
		pthread_cond_broadcast(&fx->port.cond);
		pthread_mutex_unlock(&fx->port.lock);
		pthread_join(fx->responder, NULL);
	}
	iopf_pci_endpoint_free(fx->ep);
	assert_true(fx->port.unplugged);
	iopf_ctx_free(fx->ctx);
	pthread_cond_destroy(&fx->port.cond);
	pthread_mutex_destroy(&fx->port.lock);
	free(fx);
	return 0;
}

static uint32_t reg(struct fx *fx, unsigned int off)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(iopf_pci_pri_read(fx->ep, off, &v), 0);
	return v;
}

static struct iopf_pci_endpoint_stats stats(struct fx *fx)
{
	struct iopf_pci_endpoint_stats s = { .size = sizeof(s) };

	assert_int_equal(iopf_pci_endpoint_stats(fx->ep, &s), 0);
	return s;
}

static int respond(struct fx *fx, uint16_t prgi, uint32_t pasid, uint8_t code)
{
	struct iopf_pci_prg_response r = {
		.rid = RID,
		.pasid_present = pasid != 0,
		.pasid = pasid,
		.prgi = prgi,
		.code = code,
	};

	return iopf_pci_prg_response(fx->ep, &r);
}

static uint16_t send1(struct fx *fx, uint32_t pasid, uint64_t page)
{
	uint64_t addr = BASE + page * 4096;
	uint16_t prgi = 0xffff;

	assert_int_equal(iopf_pci_pri_send(fx->ep, pasid, IOPF_FAULT_PERM_READ,
					   &addr, 1, &prgi),
			 0);
	return prgi;
}

/* ---- registers ---------------------------------------------------------- */

static void test_reset_state(void **state)
{
	struct fx *fx = *state;
	uint32_t v;

	assert_int_equal(reg(fx, IOPF_PCI_PRI_CTRL), 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS),
			 IOPF_PCI_PRI_STATUS_STOPPED);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_MAX_REQ), 8);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_ALLOC_REQ), 0);
	assert_false(iopf_pci_prg_resp_pasid_required(fx->ep));
	assert_int_equal(iopf_pci_pri_read(fx->ep, 0x0a, &v), -EINVAL);
	assert_int_equal(iopf_pci_pri_write(fx->ep, IOPF_PCI_PRI_MAX_REQ, 1),
			 -EINVAL);
	/* Not enabled: nothing is sent. */
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, IOPF_FAULT_PERM_READ,
					   &(uint64_t){ BASE }, 1, NULL),
			 -EPERM);
	assert_int_equal(iopf_pci_dma(fx->ep, 1, BASE, 1, IOPF_FAULT_PERM_READ),
			 -EPERM);
	assert_int_equal(fx->port.nr, 0);
	assert_int_equal(iopf_pci_endpoint_rid(fx->ep), RID);
	assert_string_equal(iopf_pci_endpoint_name(fx->ep), "ep0100");
}

static void test_pasid_required_bit(void **state)
{
	struct fx *fx = *state;

	assert_true(iopf_pci_prg_resp_pasid_required(fx->ep));
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS),
			 IOPF_PCI_PRI_STATUS_STOPPED |
				 IOPF_PCI_PRI_STATUS_PASID);
	/* Read-only: writing 1s there changes nothing. */
	iopf_pci_pri_write(fx->ep, IOPF_PCI_PRI_STATUS, 0xffff);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS),
			 IOPF_PCI_PRI_STATUS_STOPPED |
				 IOPF_PCI_PRI_STATUS_PASID);
}

static void test_enable(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 0), -EINVAL);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 100), 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_ALLOC_REQ),
			 8); /* clamped to capacity */
	assert_int_equal(reg(fx, IOPF_PCI_PRI_CTRL), IOPF_PCI_PRI_CTRL_ENABLE);
	assert_int_equal(
		reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_STOPPED, 0);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), -EBUSY);
	/* Allocation is not writable while enabled. */
	assert_int_equal(iopf_pci_pri_write(fx->ep, IOPF_PCI_PRI_ALLOC_REQ, 2),
			 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_ALLOC_REQ), 8);
	assert_int_equal(iopf_pci_reset_pri(fx->ep), -EBUSY);
	assert_int_equal(iopf_pci_disable_pri(fx->ep), 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS),
			 IOPF_PCI_PRI_STATUS_STOPPED);
	/* Reset reads back 0. */
	assert_int_equal(iopf_pci_reset_pri(fx->ep), 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_CTRL), 0);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 3), 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_ALLOC_REQ), 3);
}

/* ---- credits and indexes ------------------------------------------------ */

static void test_credits(void **state)
{
	struct fx *fx = *state;
	uint64_t addrs[5] = { BASE, BASE + 4096, BASE + 8192, BASE + 12288,
			      BASE + 16384 };
	uint16_t p[4];

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, 0, addrs, 5, NULL),
			 -ENOSPC);
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, 0, addrs, 3, &p[0]), 0);
	assert_int_equal(stats(fx).credits_used, 3);
	/* A 2-request group does not fit in the one credit left. */
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, 0, addrs, 2, NULL),
			 -EAGAIN);
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, 0, addrs, 1, &p[1]), 0);
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, 0, addrs, 1, NULL),
			 -EAGAIN);
	assert_int_equal(stats(fx).max_credits_used, 4);
	assert_int_equal(fx->port.nr, 4);
	/* The group's response returns every credit of the group. */
	assert_int_equal(respond(fx, p[0], 1, 0), IOPF_PCI_RESP_ACCEPTED);
	assert_int_equal(stats(fx).credits_used, 1);
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, 0, addrs, 3, &p[2]), 0);
	assert_int_equal(stats(fx).max_credits_used, 4);
	assert_int_equal(stats(fx).groups, 3);
	assert_int_equal(stats(fx).page_requests, 7);
	/* L only on the last request of a group; all share the index. */
	for (size_t i = 4; i < 7; i++) {
		assert_int_equal(fx->port.reqs[i].prgi, p[2]);
		assert_int_equal(fx->port.reqs[i].last, i == 6);
		assert_true(fx->port.reqs[i].read);
		assert_int_equal(fx->port.reqs[i].addr, addrs[i - 4]);
		assert_true(fx->port.reqs[i].pasid_present);
		assert_int_equal(fx->port.reqs[i].pasid, 1);
	}
}

static void test_prgi_reuse(void **state)
{
	struct fx *fx = *state;
	uint16_t held, prgi, prev;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 2), 0);
	held = send1(fx, 1, 0);
	assert_int_equal(held, 0);
	assert_int_equal(iopf_pci_prg_outstanding(fx->ep, held), 1);
	prev = held;
	for (int i = 0; i < 1100; i++) {
		prgi = send1(fx, 1, 1);
		/* Never the outstanding index; otherwise round-robin over 9 bits. */
		assert_int_not_equal(prgi, held);
		assert_int_equal(prgi, prev == 511 ? 1 : prev + 1);
		assert_int_equal(respond(fx, prgi, 1, 0),
				 IOPF_PCI_RESP_ACCEPTED);
		assert_int_equal(iopf_pci_prg_outstanding(fx->ep, prgi), 0);
		prev = prgi;
		fx->port.nr = 0;
	}
	assert_int_equal(respond(fx, held, 1, 0), IOPF_PCI_RESP_ACCEPTED);
	/* Free again: index 0 comes back when the round reaches it. */
	for (int i = prev + 1; i <= 511; i++)
		respond(fx, send1(fx, 1, 1), 1, 0);
	assert_int_equal(send1(fx, 1, 1), 0);
	assert_int_equal(iopf_pci_prg_outstanding(fx->ep, 512), -EINVAL);
}

/* ---- responses ---------------------------------------------------------- */

static void test_uprgi(void **state)
{
	struct fx *fx = *state;
	uint16_t prgi;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	prgi = send1(fx, 5, 0);
	assert_int_equal(respond(fx, prgi + 1, 5, 0), IOPF_PCI_RESP_UNEXPECTED);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS),
			 IOPF_PCI_PRI_STATUS_UPRGI | IOPF_PCI_PRI_STATUS_PASID);
	/* PASID required: a response without the group's PASID does not match. */
	assert_int_equal(respond(fx, prgi, 0, 0), IOPF_PCI_RESP_UNEXPECTED);
	assert_int_equal(respond(fx, prgi, 6, 0), IOPF_PCI_RESP_UNEXPECTED);
	assert_int_equal(iopf_pci_prg_outstanding(fx->ep, prgi), 1);
	assert_int_equal(respond(fx, prgi, 5, IOPF_PCI_PRG_RESP_INVALID),
			 IOPF_PCI_RESP_ACCEPTED);
	/* A second response for the same index is unexpected. */
	assert_int_equal(respond(fx, prgi, 5, 0), IOPF_PCI_RESP_UNEXPECTED);
	assert_int_equal(fx->port.disp[IOPF_PCI_RESP_UNEXPECTED], 4);
	assert_int_equal(fx->port.disp[IOPF_PCI_RESP_ACCEPTED], 1);
	/* W1C; Invalid Request leaves PRI enabled. */
	assert_int_equal(iopf_pci_pri_write(fx->ep, IOPF_PCI_PRI_STATUS,
					    IOPF_PCI_PRI_STATUS_UPRGI),
			 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS),
			 IOPF_PCI_PRI_STATUS_PASID);
	send1(fx, 5, 0);
	assert_int_equal(stats(fx).responses[IOPF_PCI_RESP_UNEXPECTED], 4);
}

static void rf_then_recover(struct fx *fx, uint8_t code)
{
	uint16_t a, b;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	a = send1(fx, 3, 0);
	b = send1(fx, 3, 1);
	assert_int_equal(respond(fx, a, 3, code), IOPF_PCI_RESP_ACCEPTED);
	assert_true(reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_RF);
	/* No further request, and later responses are ignored. */
	assert_int_equal(
		iopf_pci_pri_send(fx->ep, 3, 0, &(uint64_t){ BASE }, 1, NULL),
		-EIO);
	assert_int_equal(iopf_pci_dma(fx->ep, 3, BASE, 1, IOPF_FAULT_PERM_READ),
			 -EIO);
	assert_int_equal(respond(fx, b, 3, 0), IOPF_PCI_RESP_IGNORED);
	assert_int_equal(iopf_pci_prg_outstanding(fx->ep, b), 1);
	/* Linux's recovery: disable, (Stopped stays 0), reset, enable. */
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), -EBUSY);
	assert_int_equal(iopf_pci_disable_pri(fx->ep), 0);
	assert_int_equal(
		reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_STOPPED, 0);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), -EBUSY);
	assert_int_equal(iopf_pci_reset_pri(fx->ep), 0);
	assert_true(reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_STOPPED);
	assert_int_equal(stats(fx).credits_used, 0);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_RF,
			 0);
	a = send1(fx, 3, 2);
	assert_int_equal(respond(fx, a, 3, 0), IOPF_PCI_RESP_ACCEPTED);
}

static void test_rf_reserved_code(void **state)
{
	rf_then_recover(*state, 2); /* what Linux sends for FAILURE */
}

static void test_rf_failure_code(void **state)
{
	rf_then_recover(*state, IOPF_PCI_PRG_RESP_FAILURE);
}

static void test_disable_with_outstanding(void **state)
{
	struct fx *fx = *state;
	uint16_t a;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	a = send1(fx, 3, 0);
	assert_int_equal(iopf_pci_disable_pri(fx->ep), 0);
	assert_int_equal(
		reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_STOPPED, 0);
	assert_int_equal(
		iopf_pci_pri_send(fx->ep, 3, 0, &(uint64_t){ BASE }, 1, NULL),
		-EPERM);
	/* Outstanding requests still get their response; then Stopped. */
	assert_int_equal(respond(fx, a, 3, 0), IOPF_PCI_RESP_ACCEPTED);
	assert_true(reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_STOPPED);
	/* Disabled: an unmatched response is discarded without UPRGI. */
	assert_int_equal(respond(fx, a, 3, 0), IOPF_PCI_RESP_IGNORED);
	assert_int_equal(
		reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_UPRGI, 0);
}

/* ---- stopping a PASID ----------------------------------------------------- */

static void test_stop_marker(void **state)
{
	struct fx *fx = *state;
	struct iopf_pci_page_request *m;
	uint16_t a, b, c;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	a = send1(fx, 7, 0);
	b = send1(fx, 7, 1);
	c = send1(fx, 8, 2);
	assert_int_equal(iopf_pci_stop_pasid(fx->ep, 7, IOPF_PCI_STOP_MARKER),
			 0);
	assert_int_equal(fx->port.nr, 4);
	m = &fx->port.reqs[3];
	assert_true(m->pasid_present && m->last && !m->read && !m->write);
	assert_int_equal(m->pasid, 7);
	assert_int_equal(stats(fx).stop_markers, 1);
	assert_int_equal(stats(fx).page_requests,
			 3); /* the marker is not a request */
	assert_int_equal(stats(fx).credits_used, 3); /* and takes no credit */
	assert_int_equal(
		iopf_pci_pri_send(fx->ep, 7, 0, &(uint64_t){ BASE }, 1, NULL),
		-ESHUTDOWN);
	assert_int_equal(iopf_pci_dma(fx->ep, 7, BASE, 1, IOPF_FAULT_PERM_READ),
			 -ESHUTDOWN);
	/* Late responses are dropped; their indexes stayed reserved until then. */
	assert_int_equal(iopf_pci_prg_outstanding(fx->ep, a), 1);
	assert_int_equal(respond(fx, a, 7, 0), IOPF_PCI_RESP_STALE);
	assert_int_equal(respond(fx, b, 7, 0), IOPF_PCI_RESP_STALE);
	assert_int_equal(respond(fx, c, 8, 0), IOPF_PCI_RESP_ACCEPTED);
	assert_int_equal(stats(fx).credits_used, 0);
	assert_int_equal(
		reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_UPRGI, 0);
	assert_int_equal(iopf_pci_start_pasid(fx->ep, 7), 0);
	assert_int_equal(iopf_pci_start_pasid(fx->ep, 7), -ENOENT);
	a = send1(fx, 7, 0);
	assert_int_equal(respond(fx, a, 7, 0), IOPF_PCI_RESP_ACCEPTED);
	assert_int_equal(iopf_pci_stop_pasid(fx->ep, 0, IOPF_PCI_STOP_MARKER),
			 -EINVAL);
}

static void test_stop_wait(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	send1(fx, 7, 0);
	send1(fx, 7, 1);
	/* Pumps the port until both responses are in. */
	assert_int_equal(iopf_pci_stop_pasid(fx->ep, 7, IOPF_PCI_STOP_WAIT), 0);
	assert_int_equal(stats(fx).credits_used, 0);
	assert_int_equal(stats(fx).responses[IOPF_PCI_RESP_ACCEPTED], 2);
	assert_int_equal(stats(fx).stop_markers, 0);
	assert_int_equal(iopf_pci_dma(fx->ep, 7, BASE, 1, IOPF_FAULT_PERM_READ),
			 -ESHUTDOWN);
	assert_int_equal(iopf_pci_start_pasid(fx->ep, 7), 0);
}

/* ---- DMA ------------------------------------------------------------------ */

static void test_dma_pump(void **state)
{
	struct fx *fx = *state;
	struct iopf_pci_endpoint_stats s;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	/* Starts mid-page and spans three pages: one group of three. */
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE + 0x800, 0x2100,
			     IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE),
		0);
	assert_int_equal(fx->port.nr, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(fx->port.reqs[i].addr, BASE + i * 4096);
		assert_int_equal(fx->port.reqs[i].prgi, fx->port.reqs[0].prgi);
		assert_int_equal(fx->port.reqs[i].last, i == 2);
		assert_true(fx->port.reqs[i].read && fx->port.reqs[i].write);
		assert_false(fx->port.reqs[i].exe || fx->port.reqs[i].priv);
	}
	/* Resident now: no request. */
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE, 3 * 4096, IOPF_FAULT_PERM_READ),
		0);
	assert_int_equal(fx->port.nr, 3);
	s = stats(fx);
	assert_int_equal(s.dma_ok, 2);
	assert_int_equal(s.groups, 1);
	assert_int_equal(s.credits_used, 0);
	/* Exec and Priv go in the PASID prefix; without a PASID they are refused. */
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE + 10 * 4096, 1,
			     IOPF_FAULT_PERM_EXEC | IOPF_FAULT_PERM_PRIV),
		0);
	assert_true(fx->port.reqs[3].exe && fx->port.reqs[3].priv &&
		    fx->port.reqs[3].read);
	assert_int_equal(iopf_pci_dma(fx->ep, 0, BASE, 1, IOPF_FAULT_PERM_EXEC),
			 -EINVAL);
	assert_int_equal(iopf_pci_dma(fx->ep, 0, BASE + 20 * 4096, 1,
				      IOPF_FAULT_PERM_READ),
			 0);
	assert_false(fx->port.reqs[4].pasid_present);
}

static void test_dma_split_by_credits(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 2), 0);
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE, 5 * 4096, IOPF_FAULT_PERM_WRITE),
		0);
	assert_int_equal(fx->port.nr, 5);
	assert_int_equal(stats(fx).groups, 3);
	assert_int_equal(stats(fx).retries, 2);
	assert_int_equal(stats(fx).max_credits_used, 2);
	assert_true(fx->port.reqs[1].last && fx->port.reqs[3].last &&
		    fx->port.reqs[4].last);
	assert_false(fx->port.reqs[0].last || fx->port.reqs[2].last);
}

static void test_dma_invalid_and_failure(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	fx->port.code = IOPF_PCI_PRG_RESP_INVALID;
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE, 4096, IOPF_FAULT_PERM_READ),
		-EFAULT);
	assert_int_equal(reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_RF,
			 0);
	fx->port.code = 0x2;
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE, 4096, IOPF_FAULT_PERM_READ),
		-EIO);
	assert_true(reg(fx, IOPF_PCI_PRI_STATUS) & IOPF_PCI_PRI_STATUS_RF);
	assert_int_equal(stats(fx).dma_failed, 2);
	/* Bad arguments change nothing. */
	assert_int_equal(iopf_pci_dma(fx->ep, 2, BASE, 0, IOPF_FAULT_PERM_READ),
			 -EINVAL);
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, ~0ull, 2, IOPF_FAULT_PERM_READ),
		-EINVAL);
	assert_int_equal(
		iopf_pci_dma(fx->ep, 1u << 20, BASE, 1, IOPF_FAULT_PERM_READ),
		-EINVAL);
	assert_int_equal(iopf_pci_dma(fx->ep, 2, BASE, 1, 0), -EINVAL);
	assert_int_equal(iopf_pci_dma(NULL, 2, BASE, 1, IOPF_FAULT_PERM_READ),
			 -EINVAL);
	/* A translation error other than "no translation" fails the DMA. */
	assert_int_equal(iopf_pci_disable_pri(fx->ep), 0);
	assert_int_equal(iopf_pci_reset_pri(fx->ep), 0);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	assert_int_equal(
		iopf_pci_dma(fx->ep, 2, BASE - 4096, 1, IOPF_FAULT_PERM_READ),
		-ENODEV);
}

static void test_raw_and_disconnect(void **state)
{
	struct fx *fx = *state;
	struct iopf_pci_page_request pr = { .rid = 0x9999,
					    .read = true,
					    .prgi = 77 };

	assert_int_equal(iopf_pci_send_raw(fx->ep, &pr),
			 0); /* no Enable check */
	assert_int_equal(fx->port.reqs[0].rid, RID);
	assert_int_equal(fx->port.reqs[0].prgi, 77);
	assert_int_equal(stats(fx).raw_requests, 1);
	assert_int_equal(iopf_pci_endpoint_disconnect(fx->ep), 0);
	assert_int_equal(iopf_pci_endpoint_disconnect(fx->ep), -ENOTCONN);
	assert_int_equal(iopf_pci_send_raw(fx->ep, &pr), -ENOTCONN);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	assert_int_equal(iopf_pci_dma(fx->ep, 2, BASE, 1, IOPF_FAULT_PERM_READ),
			 -ENOTCONN);
	fx->port.unplugged = true; /* no port: no unplug call at free */
}

/* ---- threads: credits are never exceeded --------------------------------- */

struct dma_arg {
	struct fx *fx;
	unsigned int id;
	int ret;
};

static void *dma_thread(void *arg)
{
	struct dma_arg *a = arg;

	/* Three pages each, four credits in all: groups wait for credits. */
	a->ret = iopf_pci_dma(a->fx->ep, 1 + a->id, BASE + a->id * 3 * 4096,
			      3 * 4096, IOPF_FAULT_PERM_READ);
	return NULL;
}

static void test_dma_threads(void **state)
{
	struct fx *fx = *state;
	struct dma_arg args[8];
	pthread_t t[8];
	struct iopf_pci_endpoint_stats s;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 4), 0);
	for (unsigned int i = 0; i < 8; i++) {
		args[i] = (struct dma_arg){ .fx = fx, .id = i };
		assert_int_equal(
			pthread_create(&t[i], NULL, dma_thread, &args[i]), 0);
	}
	for (unsigned int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].ret, 0);
	}
	s = stats(fx);
	assert_int_equal(s.dma_ok, 8);
	assert_int_equal(s.page_requests, 24);
	assert_true(s.max_credits_used <= 4);
	assert_int_equal(s.credits_used, 0);
	for (unsigned int i = 0; i < 24; i++)
		assert_true(fx->port.resident[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_pasid_required_bit,
						setup_pasid_req, teardown),
		cmocka_unit_test_setup_teardown(test_enable, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_credits, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_prgi_reuse, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_uprgi, setup_pasid_req,
						teardown),
		cmocka_unit_test_setup_teardown(test_rf_reserved_code,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_rf_failure_code,
						setup_pasid_req, teardown),
		cmocka_unit_test_setup_teardown(test_disable_with_outstanding,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_stop_marker,
						setup_pasid_req, teardown),
		cmocka_unit_test_setup_teardown(test_stop_wait, setup_pump,
						teardown),
		cmocka_unit_test_setup_teardown(test_dma_pump, setup_pump,
						teardown),
		cmocka_unit_test_setup_teardown(test_dma_split_by_credits,
						setup_pump, teardown),
		cmocka_unit_test_setup_teardown(test_dma_invalid_and_failure,
						setup_pump, teardown),
		cmocka_unit_test_setup_teardown(test_raw_and_disconnect,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_dma_threads,
						setup_threaded, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
