// SPDX-License-Identifier: MIT
/*
 * The allocation-failure walk: the kernel's iommufd fail_nth selftest.
 *
 * Each scenario below is run again and again with the Nth allocation of
 * the library made to fail, for N = 1, 2, ... until a run makes fewer than
 * N allocations, i.e. the whole scenario ran with no failure. Every step
 * knows whether the failure struck inside it (the allocation count crossed
 * N during the call) and checks the kernel's outcome for that step:
 *
 *  - a constructor returns -ENOMEM, leaves *out untouched and leaves no
 *    allocation behind;
 *  - a partial request is lost: -ENOMEM and no response;
 *  - a last-page request whose group can't be allocated is answered
 *    FAILURE by the core and the report returns 0;
 *  - an attach fails with -ENOMEM and nothing is routed;
 *  - a step that should not allocate does not.
 *
 * Each run ends with iopf_ctx_free(), after which the live allocation
 * count must be back where it started (and ASan/LSan see no leak).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-bp.h>

#include <iopf/iopf.h>
#include <iopf/testing.h>

#if __has_include(<iopf/hw/vtd.h>) && __has_include(<iopf/hw/pci.h>)
#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>
#define WALK_VTD 1
#endif
#if __has_include(<iopf/hw/smmuv3.h>)
#include <iopf/hw/smmuv3.h>
#define WALK_SMMUV3 1
#endif
#if __has_include(<iopf/hw/amd.h>)
#include <iopf/hw/amd.h>
#define WALK_AMD 1
#endif

/* No scenario comes close: a walk that reaches it never terminates. */
#define WALK_MAX 5000
#define NOT_SET	 ((void *)(uintptr_t)0x5afe)
#define DEV_ID	 0x10u
#define MAP_BASE 0x100000ull
#define MAX_HELD 16

#define LAST IOPF_FAULT_PAGE_REQUEST_LAST_PAGE
#define RW   (IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE)

struct walk {
	long n; /* the allocation armed to fail */
	bool struck; /* it failed */
	const char *step; /* the step being checked, for messages */
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_device *dev;
	struct iopf_queue *queue;
	size_t nresp; /* mock responses checked so far */
	/* the custom handler's record */
	int handler_ret;
	size_t calls;
	size_t last_count;
	struct iopf_attach_handle *last_handle;
	struct iopf_group *held[MAX_HELD];
	size_t nr_held;
};

#define WCHECK(w, cond)                                                \
	do {                                                           \
		if (!(cond))                                           \
			fail_msg("fail_nth=%ld step '%s': %s", (w)->n, \
				 (w)->step, #cond);                    \
	} while (0)

static long live_now(void)
{
	return iopf_testing_live_allocations();
}

/* The count once objects freed after a grace period (devices) are gone. */
static long live_settled(void)
{
	urcu_bp_barrier();
	return iopf_testing_live_allocations();
}

/* Did the armed allocation fail during the step that just ran? */
static bool struck(struct walk *w)
{
	if (w->struck || iopf_testing_alloc_count() < w->n)
		return false;
	w->struck = true;
	return true;
}

/* A step that must not allocate. */
static void quiet(struct walk *w, const char *step)
{
	w->step = step;
	WCHECK(w, !struck(w));
}

/*
 * The outcome of a constructor: true on success; on the injected failure
 * -ENOMEM, *out untouched and, if @strict, no allocation left behind.
 */
static bool ctor_ok(struct walk *w, const char *step, int ret, const void *out,
		    long live, bool strict)
{
	w->step = step;
	if (struck(w)) {
		WCHECK(w, ret == -ENOMEM);
		WCHECK(w, out == NOT_SET);
		if (strict)
			WCHECK(w, live_settled() == live);
		return false;
	}
	WCHECK(w, ret == 0);
	WCHECK(w, out != NOT_SET && out != NULL);
	return true;
}

/* Exactly @n responses since the last check, the last one @grpid/@code. */
static void expect_resp(struct walk *w, size_t n, uint32_t grpid, uint32_t code)
{
	size_t count = iopf_mock_response_count(w->mock);
	struct iopf_mock_response r;

	WCHECK(w, count == w->nresp + n);
	if (n && count) {
		WCHECK(w, iopf_mock_response_at(w->mock, count - 1, &r) == 0);
		WCHECK(w, r.dev_id == DEV_ID);
		WCHECK(w, r.msg.grpid == grpid);
		WCHECK(w, r.msg.code == code);
	}
	w->nresp = count;
}

static int report(struct walk *w, uint32_t flags, uint32_t pasid,
		  uint32_t grpid, uint64_t addr)
{
	struct iopf_fault evt = {
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = {
			.flags = flags,
			.pasid = pasid,
			.grpid = grpid,
			.perm = RW,
			.addr = addr,
		},
	};

	if (pasid != IOPF_NO_PASID)
		evt.prm.flags |= IOPF_FAULT_PAGE_REQUEST_PASID_VALID;
	return iopf_report_device_fault(w->dev, &evt);
}

static uint64_t grp_addr(uint32_t grpid)
{
	return MAP_BASE + (uint64_t)grpid * 0x1000;
}

/* A request nobody routes: -EINVAL and INVALID, whatever fails. */
static void step_unrouted(struct walk *w, uint32_t pasid, uint32_t grpid)
{
	int ret = report(w, LAST, pasid, grpid, grp_addr(grpid));

	quiet(w, "unrouted report");
	WCHECK(w, ret == -EINVAL);
	expect_resp(w, 1, grpid, IOPF_PAGE_RESP_INVALID);
}

/* A partial request: 1 if it was stored, 0 if it was lost. */
static int step_partial(struct walk *w, uint32_t pasid, uint32_t grpid)
{
	int ret = report(w, 0, pasid, grpid, grp_addr(grpid));

	w->step = "partial";
	expect_resp(w, 0, 0, 0);
	if (struck(w)) {
		WCHECK(w, ret == -ENOMEM);
		return 0;
	}
	WCHECK(w, ret == 0);
	return 1;
}

/*
 * A last-page request reaching a handler that does not respond at once
 * (held, queued or delivered to a channel): false if the group could not
 * be allocated, which the core answers FAILURE.
 */
static bool step_last(struct walk *w, uint32_t pasid, uint32_t grpid)
{
	int ret = report(w, LAST, pasid, grpid, grp_addr(grpid));

	w->step = "last";
	WCHECK(w, ret == 0);
	if (struck(w)) {
		expect_resp(w, 1, grpid, IOPF_PAGE_RESP_FAILURE);
		return false;
	}
	expect_resp(w, 0, 0, 0);
	return true;
}

/* As step_last() for the custom handler, checking what it saw. */
static bool step_last_held(struct walk *w, uint32_t pasid, uint32_t grpid,
			   int partials)
{
	size_t calls = w->calls;
	bool ok;

	w->handler_ret = 0;
	ok = step_last(w, pasid, grpid);
	WCHECK(w, w->calls == calls + ok);
	if (ok)
		WCHECK(w, w->last_count == (size_t)partials + 1);
	return ok;
}

/* The newest held group; older ones are left for the context to reclaim. */
static struct iopf_group *take_held(struct walk *w)
{
	struct iopf_group *group;

	WCHECK(w, w->nr_held > 0);
	group = w->held[--w->nr_held];
	return group;
}

/* The custom handler: count, then hold the group or refuse it. */
static int walk_handler(struct iopf_group *group)
{
	struct iopf_attach_handle *handle = iopf_group_attach_handle(group);
	struct walk *w = iopf_domain_priv(handle->domain);

	w->calls++;
	w->last_count = iopf_group_fault_count(group);
	w->last_handle = handle;
	if (w->handler_ret)
		return w->handler_ret;
	if (w->nr_held == MAX_HELD)
		return -ENOSPC;
	w->held[w->nr_held++] = group;
	return 0;
}

/* Attach @dom at @pasid: on failure -ENOMEM and nothing routed. */
static bool step_attach(struct walk *w, struct iopf_domain *dom, uint32_t pasid,
			struct iopf_attach_handle *h)
{
	struct iopf_attach_handle *got = NOT_SET;
	int ret;

	if (pasid == IOPF_NO_PASID)
		ret = iopf_attach_device(dom, w->dev, h);
	else
		ret = iopf_attach_device_pasid(dom, w->dev, pasid, h);
	w->step = "attach";
	if (struck(w)) {
		WCHECK(w, ret == -ENOMEM);
		WCHECK(w, iopf_attach_handle_get(w->dev, pasid, IOPF_DOMAIN_ANY,
						 &got) == -ENOENT);
		if (w->mock)
			step_unrouted(w, pasid, 99);
		return false;
	}
	WCHECK(w, ret == 0);
	WCHECK(w, iopf_attach_handle_get(w->dev, pasid, IOPF_DOMAIN_ANY,
					 &got) == 0);
	WCHECK(w, got == h);
	return true;
}

enum walk_enable {
	WALK_ADD_DEVICE, /* iopf_queue_add_device() */
	WALK_SET_QUEUE, /* iopf_iommu_set_queue(): attach enables IOPF */
};

/*
 * Context, mock, device, a first response (the mock's record grows at the
 * first one: get that allocation out of the way), a manual queue, IOPF.
 */
static bool walk_setup(struct walk *w, enum walk_enable enable)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = DEV_ID,
		.max_pasids = 64,
	};
	struct iopf_queue_attr qattr = { .size = sizeof(qattr) };
	struct iopf_ctx *ctx = NOT_SET;
	struct iopf_mock *mock = NOT_SET;
	struct iopf_device *dev = NOT_SET;
	struct iopf_queue *queue = NOT_SET;
	long live = live_now();
	size_t count;
	int ret;

	ret = iopf_ctx_new(&ctx);
	if (!ctor_ok(w, "ctx_new", ret, ctx, live, true))
		return false;
	w->ctx = ctx;
	live = live_now();
	ret = iopf_mock_new(ctx, "mock0", false, &mock);
	if (!ctor_ok(w, "mock_new", ret, mock, live, true))
		return false;
	w->mock = mock;
	live = live_now();
	ret = iopf_device_new(iopf_mock_iommu(mock), &attr, &dev);
	if (!ctor_ok(w, "device_new", ret, dev, live, true))
		return false;
	w->dev = dev;

	ret = report(w, LAST, IOPF_NO_PASID, 0, MAP_BASE);
	w->step = "first response";
	WCHECK(w, ret == -EINVAL);
	count = iopf_mock_response_count(mock);
	/* The mock's record is best effort: the response itself happened. */
	WCHECK(w, count == 1 || (struck(w) && count == 0));
	w->nresp = count;

	live = live_now();
	ret = iopf_queue_alloc(ctx, "walkq", &qattr, &queue);
	if (!ctor_ok(w, "queue_alloc", ret, queue, live, true))
		return false;
	w->queue = queue;
	if (enable == WALK_SET_QUEUE) {
		ret = iopf_iommu_set_queue(iopf_mock_iommu(mock), queue);
		quiet(w, "set_queue");
		WCHECK(w, ret == 0);
		return true;
	}
	live = live_now();
	ret = iopf_queue_add_device(queue, dev);
	w->step = "queue_add_device";
	if (struck(w)) {
		WCHECK(w, ret == -ENOMEM);
		WCHECK(w, live_settled() == live);
		WCHECK(w, iopf_queue_flush_dev(dev) == -ENODEV);
		return false;
	}
	WCHECK(w, ret == 0);
	return true;
}

/* Whatever is left goes with the context. */
static void walk_finish(struct walk *w)
{
	iopf_ctx_free(w->ctx);
}

/* ---- the core ----------------------------------------------------------- */

static bool domain_new(struct walk *w, struct iopf_domain **out)
{
	struct iopf_domain *dom = NOT_SET;
	long live = live_now();
	int ret;

	ret = iopf_domain_new(w->ctx, IOPF_DOMAIN_PAGING, walk_handler, w,
			      &dom);
	if (!ctor_ok(w, "domain_new", ret, dom, live, true))
		return false;
	*out = dom;
	return true;
}

/* A group of partials answered SUCCESS, answered again, then freed. */
static void core_answered_group(struct walk *w)
{
	struct iopf_group *group;
	int n;

	n = step_partial(w, IOPF_NO_PASID, 1);
	n += step_partial(w, IOPF_NO_PASID, 1);
	if (!step_last_held(w, IOPF_NO_PASID, 1, n))
		return;
	group = take_held(w);
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	quiet(w, "response");
	expect_resp(w, 1, 1, IOPF_PAGE_RESP_SUCCESS);
	/* A double response is a no-op. */
	iopf_group_response(group, IOPF_PAGE_RESP_INVALID);
	iopf_free_group(group);
	quiet(w, "double response, free");
	expect_resp(w, 0, 0, 0);
}

/* A PASID group dropped unanswered: free answers INVALID. */
static void core_dropped_group(struct walk *w)
{
	int n = step_partial(w, 5, 2);

	if (!step_last_held(w, 5, 2, n))
		return;
	iopf_free_group(take_held(w));
	quiet(w, "free unanswered");
	expect_resp(w, 1, 2, IOPF_PAGE_RESP_INVALID);
}

/* The handler refuses: FAILURE either way, and the partial is consumed. */
static void core_refused_group(struct walk *w)
{
	size_t calls = w->calls;
	int n = step_partial(w, IOPF_NO_PASID, 3);
	int ret;

	w->handler_ret = -EIO;
	ret = report(w, LAST, IOPF_NO_PASID, 3, grp_addr(3));
	w->handler_ret = 0;
	w->step = "refused";
	WCHECK(w, ret == 0);
	expect_resp(w, 1, 3, IOPF_PAGE_RESP_FAILURE);
	if (struck(w)) {
		WCHECK(w, w->calls == calls);
		return;
	}
	WCHECK(w, w->calls == calls + 1);
	WCHECK(w, w->last_count == (size_t)n + 1);
	/* Nothing of grpid 3 is left behind. */
	if (!step_last_held(w, IOPF_NO_PASID, 3, 0))
		return;
	iopf_free_group(take_held(w));
	quiet(w, "free refused follow-up");
	expect_resp(w, 1, 3, IOPF_PAGE_RESP_INVALID);
}

/* Overflow: discarded partials never join a group. */
static void core_discard(struct walk *w)
{
	step_partial(w, IOPF_NO_PASID, 4);
	WCHECK(w, iopf_queue_discard_partial(w->queue) == 0);
	quiet(w, "discard");
	expect_resp(w, 0, 0, 0);
	if (!step_last_held(w, IOPF_NO_PASID, 4, 0))
		return;
	iopf_group_response(take_held(w), IOPF_PAGE_RESP_SUCCESS);
	expect_resp(w, 1, 4, IOPF_PAGE_RESP_SUCCESS);
	/* Answered but not freed: the context reclaims it. */
}

/*
 * The device leaves its queue with a group outstanding: INVALID once, the
 * holder's late answer is a no-op, its free is still needed. Then it comes
 * back.
 */
static bool core_remove_readd(struct walk *w)
{
	struct iopf_group *group = NULL;
	long live;
	int ret;
	int n = step_partial(w, 5, 6);

	if (step_last_held(w, 5, 6, n))
		group = w->held[w->nr_held - 1];
	iopf_queue_remove_device(w->queue, w->dev);
	quiet(w, "remove_device");
	if (group) {
		expect_resp(w, 1, 6, IOPF_PAGE_RESP_INVALID);
		iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
		quiet(w, "response after remove");
		expect_resp(w, 0, 0, 0);
	}
	/* Off the queue: routed, but no fault param. */
	step_unrouted(w, IOPF_NO_PASID, 7);

	live = live_now();
	ret = iopf_queue_add_device(w->queue, w->dev);
	w->step = "re-add";
	if (struck(w)) {
		WCHECK(w, ret == -ENOMEM);
		WCHECK(w, live_settled() == live);
		return false;
	}
	WCHECK(w, ret == 0);
	return true;
}

/* Replace: on failure the old handle keeps receiving the faults. */
static void core_replace(struct walk *w, struct iopf_domain *dom2,
			 struct iopf_attach_handle *old,
			 struct iopf_attach_handle *h)
{
	int ret = iopf_replace_device(dom2, w->dev, h);

	w->step = "replace";
	if (struck(w))
		WCHECK(w, ret == -ENOMEM);
	else
		WCHECK(w, ret == 0);
	if (!step_last_held(w, IOPF_NO_PASID, 8, 0))
		return;
	w->step = "after replace";
	WCHECK(w, w->last_handle == (ret ? old : h));
	iopf_group_response(take_held(w), IOPF_PAGE_RESP_SUCCESS);
	expect_resp(w, 1, 8, IOPF_PAGE_RESP_SUCCESS);
}

static void scenario_core(struct walk *w)
{
	struct iopf_attach_handle h_rid, h_pasid, h_new;
	struct iopf_domain *dom, *dom2;

	if (!walk_setup(w, WALK_ADD_DEVICE) || !domain_new(w, &dom))
		goto out;
	if (!step_attach(w, dom, IOPF_NO_PASID, &h_rid) ||
	    !step_attach(w, dom, 5, &h_pasid))
		goto out;
	core_answered_group(w);
	core_dropped_group(w);
	core_refused_group(w);
	core_discard(w);
	if (!core_remove_readd(w) || !domain_new(w, &dom2))
		goto out;
	core_replace(w, dom2, &h_rid, &h_new);

	/* Explicit teardown; one group is still held for the context. */
	iopf_detach_device(dom, w->dev);
	iopf_detach_device(dom2, w->dev);
	iopf_detach_device_pasid(dom, w->dev, 5);
	quiet(w, "detach");
	WCHECK(w, iopf_domain_free(dom) == 0);
	WCHECK(w, iopf_domain_free(dom2) == 0);
	iopf_queue_remove_device(w->queue, w->dev);
	iopf_device_free(w->dev);
	iopf_queue_free(w->queue);
	iopf_mock_free(w->mock);
	quiet(w, "teardown");
out:
	walk_finish(w);
}

/* ---- SVA ---------------------------------------------------------------- */

/* Run the SVA work of one group: SUCCESS, or INVALID if it ran out of memory. */
static void sva_run(struct walk *w, struct iopf_mm *mm, uint32_t grpid,
		    bool mapped)
{
	size_t ran = iopf_queue_run(w->queue, 8);

	w->step = "sva work";
	WCHECK(w, ran == 1);
	if (struck(w) || !mapped) {
		expect_resp(w, 1, grpid, IOPF_PAGE_RESP_INVALID);
		return;
	}
	expect_resp(w, 1, grpid, IOPF_PAGE_RESP_SUCCESS);
	WCHECK(w, iopf_mm_page_present(mm, grp_addr(grpid)));
}

static void scenario_sva(struct walk *w)
{
	struct iopf_sva *sva = NOT_SET, *again = NOT_SET;
	struct iopf_mm *mm = NOT_SET;
	uint32_t pasid;
	long live;
	int ret;

	/* IOPF is enabled by the bind's attach: its failure is walked too. */
	if (!walk_setup(w, WALK_SET_QUEUE))
		goto out;
	live = live_now();
	ret = iopf_mm_new(w->ctx, &mm);
	if (!ctor_ok(w, "mm_new", ret, mm, live, true))
		goto out;
	ret = iopf_mm_map(mm, MAP_BASE, 0x40000,
			  IOPF_PROT_READ | IOPF_PROT_WRITE);
	w->step = "mm_map";
	WCHECK(w, ret == (struck(w) ? -ENOMEM : 0));
	if (ret)
		goto out;
	/* PASID tables and the PASID bitmap may stay: not strict. */
	ret = iopf_sva_bind_device(w->dev, mm, &sva);
	if (!ctor_ok(w, "sva_bind", ret, sva, live, false)) {
		step_unrouted(w, 1, 99);
		goto out;
	}
	pasid = iopf_sva_get_pasid(sva);
	WCHECK(w, pasid == iopf_mm_pasid(mm) && pasid != IOPF_PASID_INVALID);
	WCHECK(w, iopf_sva_bind_device(w->dev, mm, &again) == 0);
	quiet(w, "bind again");
	WCHECK(w, again == sva);

	/* A fault in the mapping, and one outside it. */
	step_partial(w, pasid, 1);
	if (step_last(w, pasid, 1))
		sva_run(w, mm, 1, true);
	if (step_last(w, pasid, 0x80))
		sva_run(w, mm, 0x80, false);

	iopf_sva_unbind_device(sva);
	quiet(w, "unbind (still bound)");
	if (step_last(w, pasid, 2))
		sva_run(w, mm, 2, true);
	iopf_sva_unbind_device(again);
	quiet(w, "unbind");
	step_unrouted(w, pasid, 3);
	iopf_mm_put(mm);
	quiet(w, "mm_put");
out:
	walk_finish(w);
}

/* ---- the user fault channel -------------------------------------------- */

/* Read one whole group of @nr faults (a failed cookie leaves it waiting). */
static uint32_t channel_read_group(struct walk *w, struct iopf_channel *ch,
				   size_t nr)
{
	struct iopf_user_fault buf[4];
	ssize_t r = iopf_channel_read(ch, buf, sizeof(buf));

	w->step = "channel_read";
	if (struck(w)) {
		WCHECK(w, r == -ENOMEM);
		r = iopf_channel_read(ch, buf, sizeof(buf));
		quiet(w, "channel_read again");
	}
	WCHECK(w, r == (ssize_t)(nr * sizeof(buf[0])));
	WCHECK(w, buf[nr - 1].flags & LAST);
	WCHECK(w, buf[0].cookie == buf[nr - 1].cookie);
	return buf[0].cookie;
}

static ssize_t channel_answer(struct iopf_channel *ch, uint32_t cookie,
			      uint32_t code)
{
	struct iopf_user_response resp = { .cookie = cookie, .code = code };

	return iopf_channel_write(ch, &resp, sizeof(resp));
}

static void scenario_channel(struct walk *w)
{
	struct iopf_channel *ch = NOT_SET;
	struct iopf_domain *dom = NOT_SET;
	struct iopf_attach_handle h;
	uint32_t cookie;
	bool unread;
	long live;
	int ret, n;

	if (!walk_setup(w, WALK_ADD_DEVICE))
		goto out;
	live = live_now();
	ret = iopf_channel_new(w->ctx, &ch);
	if (!ctor_ok(w, "channel_new", ret, ch, live, true))
		goto out;
	live = live_now();
	ret = iopf_channel_domain_new(ch, IOPF_DOMAIN_PAGING, &dom);
	if (!ctor_ok(w, "channel_domain_new", ret, dom, live, true))
		goto out;
	if (!step_attach(w, dom, 3, &h))
		goto out;

	/* A group read and answered; the answer can't be given twice. */
	n = step_partial(w, 3, 1);
	if (step_last(w, 3, 1)) {
		cookie = channel_read_group(w, ch, (size_t)n + 1);
		WCHECK(w,
		       channel_answer(ch, cookie, IOPF_PAGE_RESP_SUCCESS) == 8);
		quiet(w, "channel_write");
		expect_resp(w, 1, 1, IOPF_PAGE_RESP_SUCCESS);
		WCHECK(w, channel_answer(ch, cookie, IOPF_PAGE_RESP_SUCCESS) ==
				  -EINVAL);
		expect_resp(w, 0, 0, 0);
	}
	/* Read, not answered: detach answers INVALID, the cookie dies. */
	cookie = 0;
	if (step_last(w, 3, 2))
		cookie = channel_read_group(w, ch, 1);
	/* Not read: detach answers it too. */
	unread = step_last(w, 3, 3);
	iopf_detach_device_pasid(dom, w->dev, 3);
	quiet(w, "detach");
	/* Undelivered groups are answered first, then the read ones. */
	expect_resp(w, (cookie != 0) + unread, cookie ? 2 : 3,
		    IOPF_PAGE_RESP_INVALID);
	if (cookie)
		WCHECK(w, channel_answer(ch, cookie, IOPF_PAGE_RESP_SUCCESS) ==
				  -EINVAL);
	WCHECK(w, iopf_channel_free(ch) == -EBUSY);
	WCHECK(w, iopf_domain_free(dom) == 0);
	WCHECK(w, iopf_channel_free(ch) == 0);
	quiet(w, "channel teardown");
out:
	walk_finish(w);
}

/* ---- the walk ----------------------------------------------------------- */

static void walk(void (*scenario)(struct walk *w), const char *name)
{
	long live0 = live_settled(), seen = 0, n;
	struct walk w;

	for (n = 1; n < WALK_MAX; n++) {
		memset(&w, 0, sizeof(w));
		w.n = n;
		w.step = "start";
		assert_int_equal(iopf_testing_fail_nth(n), 0);
		scenario(&w);
		seen = iopf_testing_alloc_count();
		assert_int_equal(iopf_testing_fail_nth(0), 0);
		if (live_settled() != live0)
			fail_msg(
				"%s: fail_nth=%ld (step '%s'): %ld allocations "
				"left after iopf_ctx_free()",
				name, n, w.step, live_settled() - live0);
		if (seen < n)
			break;
		/* The failure struck, so some step must have seen it. */
		if (!w.struck)
			fail_msg("%s: fail_nth=%ld: the failed allocation was "
				 "in teardown, which must not allocate",
				 name, n);
	}
	assert_true(n < WALK_MAX);
	print_message("%s: walked %ld allocations\n", name, seen);
	/* A scenario that allocates next to nothing walks nothing. */
	assert_true(seen >= 8);
}

/* The walk needs the test-only controls of a -Dfault_injection=true build. */
#define SKIP_UNLESS_INJECTION()                                          \
	do {                                                             \
		if (iopf_testing_fail_nth(0) == -EOPNOTSUPP) {           \
			print_message("skipped: fault injection is off " \
				      "(configure with "                 \
				      "-Dfault_injection=true)\n");      \
			skip();                                          \
		}                                                        \
	} while (0)

static void test_walk_core(void **state)
{
	(void)state;
	SKIP_UNLESS_INJECTION();
	walk(scenario_core, "core");
}

static void test_walk_sva(void **state)
{
	(void)state;
	SKIP_UNLESS_INJECTION();
	walk(scenario_sva, "sva");
}

static void test_walk_channel(void **state)
{
	(void)state;
	SKIP_UNLESS_INJECTION();
	walk(scenario_channel, "channel");
}

/* ---- hardware models: ring setup and one fault ------------------------- */

/* The context and a custom domain for the hardware walks. */
static bool hw_setup(struct walk *w)
{
	struct iopf_ctx *ctx = NOT_SET;
	long live = live_now();
	int ret = iopf_ctx_new(&ctx);

	if (!ctor_ok(w, "ctx_new", ret, ctx, live, true))
		return false;
	w->ctx = ctx;
	return true;
}

/*
 * The driver's thread ran a fault through the core: the group reached the
 * handler (true), or its allocation failed and the core answered FAILURE
 * through the driver, which @responses (the model's response counter,
 * before and after) must show.
 */
static bool hw_fault_handled(struct walk *w, const char *step, size_t calls,
			     uint64_t before, uint64_t after)
{
	w->step = step;
	if (struck(w)) {
		WCHECK(w, w->calls == calls);
		WCHECK(w, after == before + 1);
		return false;
	}
	WCHECK(w, w->calls == calls + 1);
	WCHECK(w, w->nr_held == 1);
	WCHECK(w, after == before);
	return true;
}

#ifdef WALK_VTD
static uint64_t vtd_responses(struct iopf_vtd *vtd)
{
	struct iopf_vtd_stats st = { .size = sizeof(st) };

	iopf_vtd_stats(vtd, &st);
	return st.prg_responses;
}

static void scenario_vtd(struct walk *w)
{
	struct iopf_vtd_attr attr = { .size = sizeof(attr) };
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = 0x100,
		.max_pasids = 8,
	};
	struct iopf_pci_page_request pr = {
		.rid = 0x100,
		.read = true,
		.last = true,
		.prgi = 3,
		.addr = MAP_BASE,
	};
	struct iopf_vtd *vtd = NOT_SET;
	struct iopf_device *dev = NOT_SET;
	struct iopf_attach_handle h;
	struct iopf_domain *dom;
	uint64_t before;
	size_t calls;
	long live;
	int ret;

	if (!hw_setup(w))
		goto out;
	live = live_now();
	ret = iopf_vtd_new(w->ctx, &attr, &vtd);
	if (!ctor_ok(w, "vtd_new", ret, vtd, live, true))
		goto out;
	live = live_now();
	ret = iopf_device_new(iopf_vtd_iommu(vtd), &dattr, &dev);
	if (!ctor_ok(w, "device_new", ret, dev, live, true))
		goto out;
	w->dev = dev;
	/* The attach enables IOPF on the model's queue. */
	if (!domain_new(w, &dom) || !step_attach(w, dom, IOPF_NO_PASID, &h))
		goto out;
	before = vtd_responses(vtd);
	WCHECK(w, iopf_vtd_page_request(vtd, &pr) == 0);
	quiet(w, "page_request");
	calls = w->calls;
	WCHECK(w, iopf_vtd_process_prq(vtd) == 1);
	if (!hw_fault_handled(w, "process_prq", calls, before,
			      vtd_responses(vtd)))
		goto out;
	iopf_group_response(take_held(w), IOPF_PAGE_RESP_SUCCESS);
	quiet(w, "response");
	WCHECK(w, vtd_responses(vtd) == before + 1);
out:
	walk_finish(w);
}

static void test_walk_vtd(void **state)
{
	(void)state;
	SKIP_UNLESS_INJECTION();
	walk(scenario_vtd, "vtd");
}
#endif

#ifdef WALK_SMMUV3
/*
 * An IOMMU allocates its device table (directory, leaf) at the first device
 * with an ID in a leaf and keeps it until the IOMMU goes: a constructor that
 * fails after its core device was published leaves that table, by design.
 * Create it beforehand with a core device at a neighbouring ID, so that the
 * strict check still covers everything the constructor owns.
 */
static bool prime_dev_table(struct walk *w, struct iopf_iommu *iommu,
			    uint32_t id)
{
	struct iopf_device_attr dattr = { .size = sizeof(dattr), .id = id };
	struct iopf_device *dev = NOT_SET;
	long live = live_now();
	int ret;

	ret = iopf_device_new(iommu, &dattr, &dev);
	if (!ctor_ok(w, "dev_table", ret, dev, live, true))
		return false;
	iopf_device_free(dev);
	return true;
}

/* A stall resolved by SVA: custom domains have no page table (bypass). */
static void scenario_smmuv3(struct walk *w)
{
	struct iopf_smmuv3_attr attr = { .size = sizeof(attr) };
	struct iopf_smmuv3_master_attr mattr = {
		.size = sizeof(mattr),
		.sid = 0x10,
		.max_pasids = 8,
		.stall = true,
	};
	struct iopf_smmuv3_txn *txn = NOT_SET;
	struct iopf_smmuv3_txn_info info;
	struct iopf_smmuv3 *smmu = NOT_SET;
	struct iopf_device *dev = NOT_SET;
	struct iopf_sva *sva = NOT_SET;
	struct iopf_mm *mm = NOT_SET;
	bool failed = false;
	long live;
	int ret;

	if (!hw_setup(w))
		goto out;
	live = live_now();
	ret = iopf_smmuv3_new(w->ctx, &attr, &smmu);
	if (!ctor_ok(w, "smmuv3_new", ret, smmu, live, true))
		goto out;
	if (!prime_dev_table(w, iopf_smmuv3_iommu(smmu), mattr.sid + 1))
		goto out;
	live = live_settled();
	ret = iopf_smmuv3_add_master(smmu, &mattr, &dev);
	if (!ctor_ok(w, "add_master", ret, dev, live, true))
		goto out;
	live = live_now();
	ret = iopf_mm_new(w->ctx, &mm);
	if (!ctor_ok(w, "mm_new", ret, mm, live, true))
		goto out;
	ret = iopf_mm_map(mm, MAP_BASE, 0x10000, IOPF_PROT_READ);
	w->step = "mm_map";
	WCHECK(w, ret == (struck(w) ? -ENOMEM : 0));
	if (ret)
		goto out;
	ret = iopf_sva_bind_device(dev, mm, &sva);
	if (!ctor_ok(w, "sva_bind", ret, sva, live, false))
		goto out;
	live = live_now();
	ret = iopf_smmuv3_dma(smmu, 0x10, iopf_sva_get_pasid(sva), MAP_BASE,
			      IOPF_FAULT_PERM_READ, &txn);
	if (!ctor_ok(w, "dma", ret, txn, live, true))
		goto out;
	/* The stall record reaches the core: group, then SVA work. */
	WCHECK(w, iopf_smmuv3_process_evtq(smmu) == 1);
	w->step = "process_evtq";
	failed = struck(w);
	iopf_queue_run(iopf_smmuv3_iopf_queue(smmu), 8);
	w->step = "sva work";
	failed |= struck(w);
	WCHECK(w, iopf_smmuv3_pump(smmu) >= 0);
	quiet(w, "pump");
	/* SUCCESS retries and completes; FAILURE or INVALID ends it. */
	WCHECK(w, iopf_smmuv3_txn_info(txn, &info) == 0);
	if (failed)
		WCHECK(w, info.state == IOPF_SMMUV3_TXN_ABORTED ||
				  info.state == IOPF_SMMUV3_TXN_TERMINATED);
	else
		WCHECK(w, info.state == IOPF_SMMUV3_TXN_DONE);
	iopf_smmuv3_txn_put(txn);
out:
	walk_finish(w);
}

static void test_walk_smmuv3(void **state)
{
	(void)state;
	SKIP_UNLESS_INJECTION();
	walk(scenario_smmuv3, "smmuv3");
}
#endif

#ifdef WALK_AMD
static uint64_t amd_responses(struct iopf_amd *amd)
{
	struct iopf_amd_stats st;

	iopf_amd_get_stats(amd, &st);
	return st.prg_responses;
}

static void scenario_amd(struct walk *w)
{
	struct iopf_amd_attr attr = { .size = sizeof(attr) };
	struct iopf_amd_dev_attr dattr = {
		.size = sizeof(dattr),
		.devid = 0x10,
		.max_pasids = 8,
		.pri = true,
	};
	struct iopf_amd_ppr_entry e = {
		.devid = 0x10,
		.pasid = 1,
		.prgi = 2,
		.last = true,
		.flags = IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_READ |
			 IOPF_AMD_PPR_FLAG_US,
		.type = IOPF_AMD_PPR_REQ_FAULT,
		.addr = MAP_BASE,
	};
	struct iopf_amd *amd = NOT_SET;
	struct iopf_device *dev = NOT_SET;
	struct iopf_attach_handle h;
	struct iopf_domain *dom;
	uint64_t before;
	size_t calls;
	long live;
	int ret;

	if (!hw_setup(w))
		goto out;
	live = live_now();
	ret = iopf_amd_new(w->ctx, &attr, &amd);
	if (!ctor_ok(w, "amd_new", ret, amd, live, true))
		goto out;
	/* A PRI device joins the fault queue here: not strict. */
	live = live_now();
	ret = iopf_amd_add_device(amd, &dattr, &dev);
	if (!ctor_ok(w, "add_device", ret, dev, live, false))
		goto out;
	w->dev = dev;
	if (!domain_new(w, &dom) || !step_attach(w, dom, 1, &h))
		goto out;
	before = amd_responses(amd);
	WCHECK(w, iopf_amd_log_ppr(amd, &e) == 0);
	quiet(w, "log_ppr");
	calls = w->calls;
	WCHECK(w, iopf_amd_handle_ppr_irq(amd) == 1);
	if (!hw_fault_handled(w, "ppr irq", calls, before, amd_responses(amd)))
		goto out;
	iopf_group_response(take_held(w), IOPF_PAGE_RESP_SUCCESS);
	quiet(w, "response");
	WCHECK(w, amd_responses(amd) == before + 1);
out:
	walk_finish(w);
}

static void test_walk_amd(void **state)
{
	(void)state;
	SKIP_UNLESS_INJECTION();
	walk(scenario_amd, "amd");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_core),
		cmocka_unit_test(test_walk_sva),
		cmocka_unit_test(test_walk_channel),
#ifdef WALK_VTD
		cmocka_unit_test(test_walk_vtd),
#endif
#ifdef WALK_SMMUV3
		cmocka_unit_test(test_walk_smmuv3),
#endif
#ifdef WALK_AMD
		cmocka_unit_test(test_walk_amd),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
