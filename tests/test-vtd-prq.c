// SPDX-License-Identifier: MIT
/*
 * The VT-d page request queue in manual mode: registers, descriptors in
 * the ring, events, wrap-around, overflow (PRO, automatic Success, partial
 * discard only on an empty ring), Stop Markers, every bad request, slots
 * that hold no page request, the
 * page group response (Linux's FAILURE = 2 quirk and the spec encoding),
 * UPRGI, and the §7.10 drain with and without an overflow.
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
#include <iopf/hw/vtd.h>

#define RID	 0x0100
#define RID2	 0x0200 /* an endpoint with no device behind the IOMMU */
#define MAX_EV	 4096
#define MAX_RESP 1024

enum hmode { H_RESPOND, H_POST };

struct ev {
	uint32_t type;
	char name[32];
	int32_t code;
	uint32_t origin, count, pasid, grpid;
	uint8_t desc[IOPF_VTD_DESC_SIZE];
	size_t desc_len;
};

struct fx {
	struct iopf_ctx *ctx;
	struct iopf_vtd *vtd;
	struct iopf_device *dev;
	struct iopf_domain *dom;
	struct iopf_attach_handle h1, h2, hrid;
	struct iopf_pci_endpoint *ep, *ep2;
	/* handler */
	enum hmode mode;
	uint32_t code;
	unsigned int post_n;
	size_t calls;
	size_t last_count;
	struct iopf_fault last[4];
	/* endpoint responses */
	size_t nr_resp;
	struct iopf_pci_prg_response resp[MAX_RESP];
	unsigned int disp[MAX_RESP];
	/* trace */
	pthread_mutex_t ev_lock;
	size_t nr_ev;
	struct ev ev[MAX_EV];
};

static struct fx *g_fx;

static void sink(const struct iopf_trace_event *e, void *priv)
{
	struct fx *fx = priv;
	struct ev *r;

	pthread_mutex_lock(&fx->ev_lock);
	if (fx->nr_ev < MAX_EV) {
		r = &fx->ev[fx->nr_ev++];
		r->type = e->type;
		snprintf(r->name, sizeof(r->name), "%s",
			 e->name ? e->name : "");
		r->code = e->code;
		r->origin = e->origin;
		r->count = e->count;
		r->pasid = e->pasid;
		r->grpid = e->grpid;
		r->desc_len = e->desc_len;
		if (e->desc && e->desc_len == IOPF_VTD_DESC_SIZE)
			memcpy(r->desc, e->desc, IOPF_VTD_DESC_SIZE);
	}
	pthread_mutex_unlock(&fx->ev_lock);
}

static void post(struct fx *fx, uint16_t rid, uint32_t pasid, bool r, bool w,
		 bool l, uint16_t prgi, uint64_t addr);

static int handler(struct iopf_group *group)
{
	struct fx *fx = g_fx;
	size_t n = iopf_group_fault_count(group);

	fx->calls++;
	fx->last_count = n;
	for (size_t i = 0; i < n && i < 4; i++)
		fx->last[i] = *iopf_group_fault_at(group, i);
	if (fx->mode == H_POST) {
		/* Refill the ring while the prq thread is walking it. */
		for (unsigned int i = 0; i < fx->post_n; i++)
			post(fx, RID, 1, true, false, false, 50,
			     0x900000 + i * 4096ull);
		fx->mode = H_RESPOND;
	}
	iopf_group_response(group, fx->code);
	iopf_free_group(group);
	return 0;
}

static void resp_cb(struct iopf_pci_endpoint *ep,
		    const struct iopf_pci_prg_response *r, unsigned int disp,
		    void *priv)
{
	struct fx *fx = priv;

	(void)ep;
	assert_true(fx->nr_resp < MAX_RESP);
	fx->resp[fx->nr_resp] = *r;
	fx->disp[fx->nr_resp++] = disp;
}

static struct iopf_pci_endpoint *ep_new(struct fx *fx, uint16_t rid)
{
	struct iopf_pci_endpoint_attr a = {
		.size = sizeof(a),
		.rid = rid,
		.pri_capacity = 32,
		.prg_resp_pasid_required = true,
		.response_cb = resp_cb,
		.priv = fx,
		.timeout_ms = 5000,
	};
	struct iopf_pci_endpoint *ep;

	assert_int_equal(iopf_pci_endpoint_new(fx->ctx, &a, &ep), 0);
	assert_int_equal(iopf_vtd_connect(fx->vtd, ep), 0);
	return ep;
}

static int setup_enc(void **state, unsigned int enc)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct iopf_vtd_attr va = { .size = sizeof(va),
				    .pqs = 0,
				    .resp_encoding = enc };
	struct iopf_device_attr da = { .size = sizeof(da),
				       .id = RID,
				       .max_pasids = 64 };

	assert_non_null(fx);
	g_fx = fx;
	pthread_mutex_init(&fx->ev_lock, NULL);
	assert_int_equal(iopf_ctx_new(&fx->ctx), 0);
	assert_int_equal(iopf_trace_set_sink(fx->ctx, sink, fx), 0);
	assert_int_equal(iopf_vtd_new(fx->ctx, &va, &fx->vtd), 0);
	assert_int_equal(
		iopf_device_new(iopf_vtd_iommu(fx->vtd), &da, &fx->dev), 0);
	assert_int_equal(iopf_domain_new(fx->ctx, IOPF_DOMAIN_PAGING, handler,
					 fx, &fx->dom),
			 0);
	assert_int_equal(iopf_attach_device_pasid(fx->dom, fx->dev, 1, &fx->h1),
			 0);
	assert_int_equal(iopf_attach_device_pasid(fx->dom, fx->dev, 2, &fx->h2),
			 0);
	assert_int_equal(iopf_attach_device(fx->dom, fx->dev, &fx->hrid), 0);
	fx->ep = ep_new(fx, RID);
	fx->ep2 = ep_new(fx, RID2);
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_enc(state, IOPF_VTD_RESP_LINUX);
}

static int setup_spec(void **state)
{
	return setup_enc(state, IOPF_VTD_RESP_SPEC);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	/* The context frees the model, the endpoints, the device and the domain. */
	iopf_ctx_free(fx->ctx);
	pthread_mutex_destroy(&fx->ev_lock);
	free(fx);
	return 0;
}

static void post(struct fx *fx, uint16_t rid, uint32_t pasid, bool r, bool w,
		 bool l, uint16_t prgi, uint64_t addr)
{
	struct iopf_pci_page_request pr = {
		.rid = rid,
		.pasid_present = pasid != 0,
		.pasid = pasid,
		.read = r,
		.write = w,
		.last = l,
		.prgi = prgi,
		.addr = addr,
	};

	iopf_vtd_page_request(fx->vtd, &pr);
}

static uint64_t reg(struct fx *fx, unsigned int off)
{
	uint64_t v = ~0ull;

	assert_int_equal(iopf_vtd_reg_read(fx->vtd, off, &v), 0);
	return v;
}

static struct iopf_vtd_stats vstats(struct fx *fx)
{
	struct iopf_vtd_stats s = { .size = sizeof(s) };

	assert_int_equal(iopf_vtd_stats(fx->vtd, &s), 0);
	return s;
}

static size_t count_ev(struct fx *fx, uint32_t type, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < fx->nr_ev; i++)
		if (fx->ev[i].type == type &&
		    (!name || !strcmp(fx->ev[i].name, name)))
			n++;
	return n;
}

/* ---- registers and the ring ------------------------------------------- */

static void test_regs(void **state)
{
	struct fx *fx = *state;
	uint64_t pqa = reg(fx, IOPF_VTD_PQA_REG);

	assert_int_equal(pqa & 0xfff, 0); /* PQS = 0, 4 KiB aligned */
	assert_int_equal(iopf_vtd_prq_entries(fx->vtd), 128);
	assert_int_equal(reg(fx, IOPF_VTD_PQH_REG), 0);
	assert_int_equal(reg(fx, IOPF_VTD_PQT_REG), 0);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), 0);
	assert_int_equal(reg(fx, IOPF_VTD_PECTL_REG), 0);
	assert_true(reg(fx, IOPF_VTD_ECAP_REG) & IOPF_VTD_ECAP_PRS);
	assert_true(reg(fx, IOPF_VTD_ECAP_REG) & IOPF_VTD_ECAP_PDS);
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PQA_REG, 0),
			 -EPERM);
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_IQT_REG, 0),
			 -EPERM);
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, 0x44, 0), -EINVAL);
	assert_int_equal(reg(fx, IOPF_VTD_PQA_REG), pqa);
	/* PQH keeps bits 18:5 inside the ring. */
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PQH_REG, 0x1f3f),
			 0);
	assert_int_equal(reg(fx, IOPF_VTD_PQH_REG), 0xf20);
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PQH_REG, 0), 0);
}

static void test_descriptor_and_events(void **state)
{
	struct fx *fx = *state;
	struct iopf_vtd_page_req f;
	struct iopf_vtd_desc d;

	post(fx, RID, 1, true, true, true, 0x1ab, 0x00007fff12345000ull);
	assert_int_equal(reg(fx, IOPF_VTD_PQT_REG), 32);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), IOPF_VTD_PRS_PPR);
	assert_int_equal(iopf_vtd_prq_read(fx->vtd, 0, &d), 0);
	assert_int_equal(d.qw[0], 0x0000000101000101ull);
	assert_int_equal(d.qw[1], 0x00007fff12345d5full);
	assert_int_equal(d.qw[2] | d.qw[3], 0);
	assert_int_equal(iopf_vtd_page_req_decode(&d, &f), 0);
	assert_int_equal(vstats(fx).events, 1);
	/* PPR already set: no new event. */
	post(fx, RID, 1, true, false, true, 2, 0x1000);
	assert_int_equal(vstats(fx).events, 1);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 2);
	assert_int_equal(reg(fx, IOPF_VTD_PQH_REG), 64);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), 0);
	assert_int_equal(fx->calls, 2);
	assert_int_equal(count_ev(fx, IOPF_TRACE_HW_DESC_IN, "page_req_dsc"),
			 2);
	assert_int_equal(count_ev(fx, IOPF_TRACE_HW_DESC_OUT, "page_req_dsc"),
			 2);
	/* Masked: IP pends; unmasking delivers it. */
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PECTL_REG,
					    IOPF_VTD_PECTL_IM),
			 0);
	post(fx, RID, 1, true, false, true, 3, 0x2000);
	assert_int_equal(vstats(fx).events, 1);
	assert_int_equal(reg(fx, IOPF_VTD_PECTL_REG),
			 IOPF_VTD_PECTL_IM | IOPF_VTD_PECTL_IP);
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PECTL_REG, 0), 0);
	assert_int_equal(vstats(fx).events, 2);
	assert_int_equal(reg(fx, IOPF_VTD_PECTL_REG), 0);
	/* Writing 1 to PPR clears it (RW1CS). */
	assert_int_equal(
		iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PRS_REG, IOPF_VTD_PRS_PPR),
		0);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), 0);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 1);
}

static void test_report_fields(void **state)
{
	struct fx *fx = *state;
	const uint32_t pv = IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
			    IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID;

	post(fx, RID, 2, false, true, false, 7, 0x5000);
	post(fx, RID, 2, true, true, true, 7, 0x6000);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 2);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->last_count, 2);
	assert_int_equal(fx->last[0].prm.flags, pv);
	assert_int_equal(fx->last[0].prm.perm, IOPF_FAULT_PERM_WRITE);
	assert_int_equal(fx->last[1].prm.flags,
			 pv | IOPF_FAULT_PAGE_REQUEST_LAST_PAGE);
	assert_int_equal(fx->last[1].prm.perm,
			 IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE);
	assert_int_equal(fx->last[1].prm.pasid, 2);
	assert_int_equal(fx->last[1].prm.grpid, 7);
	assert_int_equal(fx->last[1].prm.addr, 0x6000);
	/* Without a PASID: neither PASID_VALID nor NEEDS_PASID; routed to the RID. */
	post(fx, RID, 0, true, false, true, 8, 0x7000);
	iopf_vtd_process_prq(fx->vtd);
	assert_int_equal(fx->calls, 2);
	assert_int_equal(fx->last[0].prm.flags,
			 IOPF_FAULT_PAGE_REQUEST_LAST_PAGE);
	/* Execute with write only, and a canonical high address, are fine. */
	{
		struct iopf_pci_page_request pr = {
			.rid = RID,
			.pasid_present = true,
			.pasid = 1,
			.exe = true,
			.write = true,
			.last = true,
			.prgi = 9,
			.addr = 0xffff800000000000ull,
		};

		iopf_vtd_page_request(fx->vtd, &pr);
	}
	iopf_vtd_process_prq(fx->vtd);
	assert_int_equal(fx->calls, 3);
	assert_int_equal(fx->last[0].prm.perm,
			 IOPF_FAULT_PERM_WRITE | IOPF_FAULT_PERM_EXEC);
	/* Each group got its response through a page_grp_resp_dsc. */
	assert_int_equal(vstats(fx).prg_responses, 3);
	assert_int_equal(
		count_ev(fx, IOPF_TRACE_HW_DESC_IN, "page_grp_resp_dsc"), 3);
	assert_int_equal(count_ev(fx, IOPF_TRACE_HW_DESC_IN, "inv_wait_dsc"),
			 3);
}

static void test_wrap_around(void **state)
{
	struct fx *fx = *state;
	uint64_t tail, prev = 0;
	size_t wraps = 0, calls = 0;

	for (int round = 0; round < 7; round++) {
		for (int i = 0; i < 100; i++) {
			struct iopf_vtd_desc d;
			struct iopf_vtd_page_req f;
			uint64_t addr = ((uint64_t)round * 100 + i) << 12;

			tail = reg(fx, IOPF_VTD_PQT_REG);
			if (tail < prev)
				wraps++;
			prev = tail;
			post(fx, RID, 1, true, false, true, (uint16_t)i, addr);
			assert_int_equal(
				iopf_vtd_prq_read(fx->vtd, tail / 32, &d), 0);
			assert_int_equal(iopf_vtd_page_req_decode(&d, &f), 0);
			assert_int_equal(f.addr, addr);
			assert_int_equal(f.prg_index, i);
		}
		assert_int_equal(iopf_vtd_process_prq(fx->vtd), 100);
		calls += 100;
		assert_int_equal(fx->calls, calls);
		assert_int_equal(fx->last[0].prm.addr,
				 ((uint64_t)round * 100 + 99) << 12);
		assert_int_equal(reg(fx, IOPF_VTD_PQH_REG),
				 reg(fx, IOPF_VTD_PQT_REG));
	}
	assert_true(wraps >= 5);
	assert_int_equal(vstats(fx).prq_discarded, 0);
	assert_int_equal(reg(fx, IOPF_VTD_PQT_REG), (700 * 32) % 4096);
}

/* ---- overflow ------------------------------------------------------------ */

static void test_overflow(void **state)
{
	struct fx *fx = *state;
	size_t base_resp;

	/* Group 5 starts before the overflow: its partial is in the core. */
	post(fx, RID, 1, true, false, false, 5, 0x1000);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 1);
	/* 127 entries fill the ring (N - 1 usable). */
	for (int i = 0; i < 127; i++)
		post(fx, RID, 2, true, false, false, 6, 0x100000 + i * 4096ull);
	assert_int_equal(vstats(fx).prq_written, 128);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), IOPF_VTD_PRS_PPR);
	/* Full: PRO set, discarded, automatic Success for last-in-group. */
	base_resp = fx->nr_resp;
	post(fx, RID, 1, true, false, true, 9, 0x3000);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG),
			 IOPF_VTD_PRS_PPR | IOPF_VTD_PRS_PRO);
	assert_int_equal(vstats(fx).overflows, 1);
	assert_int_equal(fx->nr_resp, base_resp + 1);
	assert_int_equal(fx->resp[base_resp].code, IOPF_PCI_PRG_RESP_SUCCESS);
	assert_int_equal(fx->resp[base_resp].prgi, 9);
	assert_true(fx->resp[base_resp].pasid_present);
	assert_int_equal(fx->resp[base_resp].pasid, 1);
	assert_int_equal(count_ev(fx, IOPF_TRACE_RESPONSE_SENT, "auto_success"),
			 1);
	for (size_t i = 0; i < fx->nr_ev; i++)
		if (fx->ev[i].type == IOPF_TRACE_RESPONSE_SENT &&
		    !strcmp(fx->ev[i].name, "auto_success"))
			assert_int_equal(fx->ev[i].origin, IOPF_ORIGIN_AUTO);
	/* While PRO is set: the same; non-last and Stop Markers get nothing. */
	post(fx, RID, 1, true, false, true, 10, 0x4000);
	post(fx, RID, 1, true, false, false, 11, 0x5000);
	post(fx, RID, 1, false, false, true, 0, 0);
	assert_int_equal(fx->nr_resp, base_resp + 2);
	assert_int_equal(fx->resp[base_resp + 1].prgi, 10);
	assert_int_equal(vstats(fx).prq_discarded, 4);
	assert_int_equal(vstats(fx).auto_success, 2);
	assert_int_equal(vstats(fx).overflows, 1);
	assert_int_equal(vstats(fx).prq_written, 128);
	/* The prq thread empties the ring, discards partials, clears PRO. */
	assert_int_equal(count_ev(fx, IOPF_TRACE_PARTIALS_DISCARDED, NULL), 0);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 127);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), 0);
	assert_int_equal(vstats(fx).pro_cleared, 1);
	assert_int_equal(count_ev(fx, IOPF_TRACE_PARTIALS_DISCARDED, NULL), 1);
	/* Group 5's partial is gone: its last request forms a group of one. */
	post(fx, RID, 1, true, false, true, 5, 0x2000);
	iopf_vtd_process_prq(fx->vtd);
	assert_int_equal(fx->last_count, 1);
	assert_int_equal(fx->last[0].prm.addr, 0x2000);
}

static void test_overflow_ring_not_empty(void **state)
{
	struct fx *fx = *state;

	post(fx, RID, 1, true, false, false, 5,
	     0x1000); /* partial of group 5 */
	/* When the handler runs, it fills the ring past full (PQH not moved yet). */
	fx->mode = H_POST;
	fx->post_n = 126;
	post(fx, RID, 2, true, false, true, 6, 0x2000);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 2);
	/* PRO set but the ring holds 125 new entries: no discard, PRO kept. */
	assert_int_equal(vstats(fx).overflows, 1);
	assert_true(reg(fx, IOPF_VTD_PRS_REG) & IOPF_VTD_PRS_PRO);
	assert_int_equal(reg(fx, IOPF_VTD_PQT_REG) - reg(fx, IOPF_VTD_PQH_REG),
			 125 * 32);
	assert_int_equal(vstats(fx).pro_cleared, 0);
	assert_int_equal(count_ev(fx, IOPF_TRACE_PARTIALS_DISCARDED, NULL), 0);
	assert_int_equal(
		count_ev(fx, IOPF_TRACE_OVERFLOW, "prq_overflow_detected"), 1);
	/* Next run: ring empty at the end, so now partials go and PRO clears. */
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 125);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), 0);
	assert_int_equal(vstats(fx).pro_cleared, 1);
	assert_int_equal(count_ev(fx, IOPF_TRACE_PARTIALS_DISCARDED, NULL), 1);
}

/* ---- stop markers and bad requests ------------------------------------- */

static void test_stop_marker(void **state)
{
	struct fx *fx = *state;
	uint64_t qi = vstats(fx).qi_descs;

	post(fx, RID, 1, false, false, true, 0, 0);
	assert_int_equal(vstats(fx).prq_written, 1); /* queued like a request */
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 1);
	assert_int_equal(fx->calls, 0); /* never reported */
	assert_int_equal(vstats(fx).qi_descs, qi); /* never answered */
	assert_int_equal(fx->nr_resp, 0);
	assert_int_equal(vstats(fx).stop_markers, 1);
	assert_int_equal(count_ev(fx, IOPF_TRACE_STOP_MARKER_DROPPED, NULL), 1);
	assert_int_equal(count_ev(fx, IOPF_TRACE_FAULT_REPORTED, NULL), 0);
}

struct bad_case {
	const char *reason;
	struct iopf_pci_page_request pr;
};

static void test_bad_requests(void **state)
{
	struct fx *fx = *state;
	const struct bad_case cases[] = {
		{ "non_canonical_address",
		  { .rid = RID,
		    .pasid_present = true,
		    .pasid = 1,
		    .read = true,
		    .addr = 0x0000800000000000ull } },
		{ "non_canonical_address",
		  { .rid = RID,
		    .pasid_present = true,
		    .pasid = 1,
		    .read = true,
		    .addr = 0x7fff000000000000ull } },
		{ "supervisor_request",
		  { .rid = RID,
		    .pasid_present = true,
		    .pasid = 1,
		    .priv = true,
		    .read = true,
		    .addr = 0x1000 } },
		{ "supervisor_request",
		  { .rid = RID,
		    .pasid_present = true,
		    .pasid = 1,
		    .priv = true,
		    .write = true,
		    .addr = 0x1000 } },
		{ "execution_request",
		  { .rid = RID,
		    .pasid_present = true,
		    .pasid = 1,
		    .exe = true,
		    .read = true,
		    .addr = 0x1000 } },
		{ "unknown_requester",
		  { .rid = RID2,
		    .pasid_present = true,
		    .pasid = 3,
		    .read = true,
		    .addr = 0x1000 } },
		{ "unknown_requester",
		  { .rid = RID2, .write = true, .addr = 0x1000 } },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		for (int last = 0; last <= 1; last++) {
			struct iopf_pci_page_request pr = cases[i].pr;
			size_t before = fx->nr_resp,
			       bad = count_ev(fx, IOPF_TRACE_BAD_REQUEST,
					      cases[i].reason);

			pr.last = last;
			pr.prgi = (uint16_t)(i * 2 + last);
			iopf_vtd_page_request(fx->vtd, &pr);
			assert_int_equal(iopf_vtd_process_prq(fx->vtd), 1);
			assert_int_equal(fx->calls, 0);
			assert_int_equal(count_ev(fx, IOPF_TRACE_BAD_REQUEST,
						  cases[i].reason),
					 bad + 1);
			if (!last) {
				assert_int_equal(fx->nr_resp, before);
				continue;
			}
			/* INVALID, with the request's PASID, RID and index. */
			assert_int_equal(fx->nr_resp, before + 1);
			assert_int_equal(fx->resp[before].code,
					 IOPF_PCI_PRG_RESP_INVALID);
			assert_int_equal(fx->resp[before].rid, pr.rid);
			assert_int_equal(fx->resp[before].prgi, pr.prgi);
			assert_int_equal(fx->resp[before].pasid_present,
					 pr.pasid_present);
			assert_int_equal(fx->resp[before].pasid,
					 pr.pasid_present ? pr.pasid : 0);
		}
	}
	assert_int_equal(vstats(fx).bad_requests, 2 * n);
	assert_int_equal(vstats(fx).bad_responses, n);
	assert_int_equal(vstats(fx).reported, 0);
	for (size_t i = 0; i < fx->nr_ev; i++)
		if (fx->ev[i].type == IOPF_TRACE_RESPONSE_SENT)
			assert_int_equal(fx->ev[i].origin, IOPF_ORIGIN_DRIVER);
}

/*
 * Software moves PQT over slots the hardware never wrote (zeroed memory,
 * type 0): the prq thread skips them, a bad_request each, no response, no
 * report; the real request among them is handled as usual.
 */
static void test_stale_slots(void **state)
{
	struct fx *fx = *state;
	struct iopf_vtd_desc d;

	post(fx, RID, 1, true, false, true, 7, 0x3000);
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PQT_REG, 4 * 32),
			 0);
	assert_int_equal(iopf_vtd_prq_read(fx->vtd, 2, &d), 0);
	assert_int_equal(iopf_vtd_desc_type(&d), 0);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 4);
	assert_int_equal(reg(fx, IOPF_VTD_PQH_REG), 4 * 32);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fx->nr_resp, 1); /* the real request's answer */
	assert_int_equal(fx->resp[0].prgi, 7);
	assert_int_equal(vstats(fx).reported, 1);
	assert_int_equal(vstats(fx).bad_requests, 3);
	assert_int_equal(vstats(fx).bad_responses, 0);
	assert_int_equal(
		count_ev(fx, IOPF_TRACE_BAD_REQUEST, "not_page_request"), 3);
	/* The drain walks the same slots: they belong to nobody. */
	assert_int_equal(iopf_vtd_reg_write(fx->vtd, IOPF_VTD_PQT_REG, 6 * 32),
			 0);
	iopf_detach_device_pasid(fx->dom, fx->dev, 2);
	assert_int_equal(vstats(fx).drains, 1);
	assert_int_equal(iopf_vtd_process_prq(fx->vtd), 2);
	assert_int_equal(vstats(fx).bad_requests, 5);
	assert_int_equal(fx->nr_resp, 1);
}

/* ---- responses ------------------------------------------------------------ */

static uint8_t last_grp_resp_rc(struct fx *fx)
{
	struct iopf_vtd_page_grp_resp f;
	struct iopf_vtd_desc d;

	for (size_t i = fx->nr_ev; i-- > 0;) {
		if (fx->ev[i].type != IOPF_TRACE_HW_DESC_IN ||
		    strcmp(fx->ev[i].name, "page_grp_resp_dsc"))
			continue;
		iopf_vtd_desc_from_bytes(fx->ev[i].desc, &d);
		assert_int_equal(iopf_vtd_page_grp_resp_decode(&d, &f), 0);
		return f.resp_code;
	}
	fail();
	return 0xff;
}

static void failure_then_recover(struct fx *fx, uint8_t wire)
{
	uint64_t addr = 0x1000;
	uint32_t status = 0;
	uint16_t prgi;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	fx->code = IOPF_PAGE_RESP_FAILURE;
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, IOPF_FAULT_PERM_READ,
					   &addr, 1, &prgi),
			 0);
	iopf_vtd_process_prq(fx->vtd);
	assert_int_equal(last_grp_resp_rc(fx), wire);
	/* Reserved code or Response Failure: both set RF at the endpoint. */
	assert_int_equal(fx->disp[fx->nr_resp - 1], IOPF_PCI_RESP_ACCEPTED);
	iopf_pci_pri_read(fx->ep, IOPF_PCI_PRI_STATUS, &status);
	assert_true(status & IOPF_PCI_PRI_STATUS_RF);
	assert_int_equal(
		iopf_pci_dma(fx->ep, 1, 0x1000, 1, IOPF_FAULT_PERM_READ), -EIO);
	/* Recovery by re-enabling PRI. */
	fx->code = IOPF_PAGE_RESP_SUCCESS;
	assert_int_equal(iopf_pci_disable_pri(fx->ep), 0);
	assert_int_equal(iopf_pci_reset_pri(fx->ep), 0);
	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	assert_int_equal(iopf_pci_pri_send(fx->ep, 1, IOPF_FAULT_PERM_READ,
					   &addr, 1, &prgi),
			 0);
	iopf_vtd_process_prq(fx->vtd);
	assert_int_equal(last_grp_resp_rc(fx), 0);
	assert_int_equal(fx->disp[fx->nr_resp - 1], IOPF_PCI_RESP_ACCEPTED);
	assert_int_equal(iopf_pci_prg_outstanding(fx->ep, prgi), 0);
}

static void test_failure_linux_encoding(void **state)
{
	failure_then_recover(*state, 2);
}

static void test_failure_spec_encoding(void **state)
{
	failure_then_recover(*state, 0xf);
}

static void test_uprgi_and_qi_errors(void **state)
{
	struct fx *fx = *state;
	struct iopf_vtd_page_grp_resp r = {
		.pasid_present = true,
		.rid = RID,
		.pasid = 1,
		.prg_index = 100,
	};
	struct iopf_vtd_desc d[2];
	uint32_t status = 0;

	assert_int_equal(iopf_pci_enable_pri(fx->ep, 8), 0);
	iopf_vtd_page_grp_resp_encode(&r, &d[0]);
	assert_int_equal(iopf_vtd_qi_submit_sync(fx->vtd, d, 1, false), 0);
	assert_int_equal(fx->disp[fx->nr_resp - 1], IOPF_PCI_RESP_UNEXPECTED);
	iopf_pci_pri_read(fx->ep, IOPF_PCI_PRI_STATUS, &status);
	assert_true(status & IOPF_PCI_PRI_STATUS_UPRGI);
	/* An unknown descriptor type stops the queue: nothing after it runs. */
	d[0] = (struct iopf_vtd_desc){ { 0xf } };
	iopf_vtd_page_grp_resp_encode(&r, &d[1]);
	assert_int_equal(iopf_vtd_qi_submit_sync(fx->vtd, d, 2, false),
			 -EINVAL);
	assert_int_equal(fx->nr_resp, 1);
	assert_int_equal(iopf_vtd_qi_submit_sync(fx->vtd, d, 0, false),
			 -EINVAL);
	/*
	 * So does a known type with a reserved bit set (-EBADMSG from the
	 * decoder): the same Invalidation Queue Error, -EINVAL.
	 */
	iopf_vtd_page_grp_resp_encode(&r, &d[0]);
	d[0].qw[0] |= 1ull << 5;
	assert_int_equal(iopf_vtd_qi_submit_sync(fx->vtd, d, 2, false),
			 -EINVAL);
	assert_int_equal(fx->nr_resp, 1);
	iopf_vtd_inv_wait_encode(&(struct iopf_vtd_inv_wait){ .fence = true },
				 &d[0]);
	d[0].qw[3] = 1;
	assert_int_equal(iopf_vtd_qi_submit_sync(fx->vtd, d, 2, false),
			 -EINVAL);
	assert_int_equal(fx->nr_resp, 1);
	/* The queue goes on after an error. */
	assert_int_equal(iopf_vtd_qi_submit_sync(fx->vtd, &d[1], 1, false), 0);
	assert_int_equal(fx->nr_resp, 2);
	assert_int_equal(reg(fx, IOPF_VTD_IQH_REG), reg(fx, IOPF_VTD_IQT_REG));
}

/* ---- the drain ------------------------------------------------------------ */

static size_t find_ev(struct fx *fx, size_t from, uint32_t type,
		      const char *name)
{
	for (size_t i = from; i < fx->nr_ev; i++)
		if (fx->ev[i].type == type &&
		    (!name || !strcmp(fx->ev[i].name, name)))
			return i;
	return SIZE_MAX;
}

static size_t prev_desc_in(struct fx *fx, size_t at)
{
	while (at-- > 0)
		if (fx->ev[at].type == IOPF_TRACE_HW_DESC_IN)
			return at;
	fail();
	return 0;
}

static void assert_wait(struct fx *fx, size_t at, bool drain)
{
	struct iopf_vtd_inv_wait w;
	struct iopf_vtd_desc d;

	assert_string_equal(fx->ev[at].name, "inv_wait_dsc");
	iopf_vtd_desc_from_bytes(fx->ev[at].desc, &d);
	assert_int_equal(iopf_vtd_inv_wait_decode(&d, &w), 0);
	assert_true(w.fence);
	assert_int_equal(w.prq_drain, drain);
	assert_int_equal(w.status_write, drain);
}

static void test_drain(void **state)
{
	struct fx *fx = *state;
	struct iopf_pci_endpoint_stats es = { .size = sizeof(es) };
	size_t begin, inv, at;

	post(fx, RID, 1, true, false, true, 1, 0x1000);
	post(fx, RID, 2, true, false, true, 2, 0x2000);
	post(fx, RID, 1, true, false, true, 3, 0x3000);
	/* Detach runs remove_dev_pasid: the ring is drained of PASID 1 first. */
	iopf_detach_device_pasid(fx->dom, fx->dev, 1);
	assert_int_equal(fx->calls, 3);
	assert_int_equal(reg(fx, IOPF_VTD_PQH_REG), reg(fx, IOPF_VTD_PQT_REG));
	begin = find_ev(fx, 0, IOPF_TRACE_DRAIN_BEGIN, NULL);
	assert_true(begin != SIZE_MAX);
	assert_int_equal(fx->ev[begin].pasid, 1);
	/* The ring's requests were reported before the hardware drain. */
	inv = find_ev(fx, begin, IOPF_TRACE_HW_DESC_IN, "p_iotlb_inv_dsc");
	assert_true(inv != SIZE_MAX);
	assert_true(find_ev(fx, begin, IOPF_TRACE_HW_DESC_OUT, "page_req_dsc") <
		    inv);
	/* Fence, PASID IOTLB, PASID device-TLB, then the drain wait (SW + PD). */
	assert_wait(fx, prev_desc_in(fx, inv), false);
	at = find_ev(fx, inv + 1, IOPF_TRACE_HW_DESC_IN, NULL);
	assert_string_equal(fx->ev[at].name, "p_dev_tlb_inv_dsc");
	at = find_ev(fx, at + 1, IOPF_TRACE_HW_DESC_IN, NULL);
	assert_wait(fx, at, true);
	assert_true(find_ev(fx, at, IOPF_TRACE_DRAIN_END, NULL) != SIZE_MAX);
	assert_int_equal(iopf_pci_endpoint_stats(fx->ep, &es), 0);
	assert_int_equal(es.ats_invalidations, 1);
	assert_int_equal(vstats(fx).drains, 1);
	assert_int_equal(vstats(fx).drain_retries, 0);
}

static void test_drain_retry_after_overflow(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < 130; i++)
		post(fx, RID, 2, true, false, false, 6, 0x100000 + i * 4096ull);
	assert_true(reg(fx, IOPF_VTD_PRS_REG) & IOPF_VTD_PRS_PRO);
	/* Nothing queued for PASID 1, but PRO is set: steps 2-3 run twice. */
	iopf_detach_device_pasid(fx->dom, fx->dev, 1);
	assert_int_equal(vstats(fx).drain_retries, 1);
	assert_int_equal(reg(fx, IOPF_VTD_PRS_REG), 0);
	assert_int_equal(reg(fx, IOPF_VTD_PQH_REG), reg(fx, IOPF_VTD_PQT_REG));
	assert_int_equal(
		count_ev(fx, IOPF_TRACE_HW_DESC_IN, "p_dev_tlb_inv_dsc"), 2);
}

static void test_bad_args(void **state)
{
	struct fx *fx = *state;
	struct iopf_vtd_attr a = { .size = sizeof(a) };
	struct iopf_vtd *v = (void *)0x1;

	assert_int_equal(iopf_vtd_new(NULL, &a, &v), -EINVAL);
	a.pqs = 8;
	assert_int_equal(iopf_vtd_new(fx->ctx, &a, &v), -EINVAL);
	a.pqs = 0;
	a.nr_prq_threads = 2;
	assert_int_equal(iopf_vtd_new(fx->ctx, &a, &v), -EINVAL);
	a.nr_prq_threads = 0;
	a.size = 8;
	assert_int_equal(iopf_vtd_new(fx->ctx, &a, &v), -EINVAL);
	assert_ptr_equal(v, (void *)0x1);
	assert_int_equal(iopf_vtd_connect(fx->vtd, fx->ep), -EEXIST);
	assert_int_equal(iopf_vtd_process_prq(NULL), -EINVAL);
	assert_int_equal(iopf_vtd_page_request(fx->vtd, NULL), -EINVAL);
	assert_int_equal(iopf_vtd_prq_read(fx->vtd, 128,
					   &(struct iopf_vtd_desc){ { 0 } }),
			 -EINVAL);
	assert_int_equal(iopf_vtd_disconnect(fx->vtd, fx->ep2), 0);
	assert_int_equal(iopf_vtd_disconnect(fx->vtd, fx->ep2), -ENOENT);
	iopf_vtd_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_and_events,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrap_around, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_ring_not_empty,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_marker, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_slots, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failure_linux_encoding,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_spec_encoding,
						setup_spec, teardown),
		cmocka_unit_test_setup_teardown(test_uprgi_and_qi_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_retry_after_overflow,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
