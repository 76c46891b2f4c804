// SPDX-License-Identifier: MIT
/*
 * Groups: how partial requests are gathered (grpid only, arrival order,
 * last at the tail, leftovers joining a later group with the same grpid,
 * KERNEL-SEMANTICS.md §1.4 iopf_group_alloc()), the group accessors, and
 * exactly-once responses (iopf_group_response(), iopf_free_group()).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>

#include "fixtures.h"

#define ID0	FX_DEV_ID(0)
#define SUCCESS IOPF_PAGE_RESP_SUCCESS
#define INVALID IOPF_PAGE_RESP_INVALID
#define FAILURE IOPF_PAGE_RESP_FAILURE

static void assert_addrs(const struct fx_call *c, const uint64_t *addrs,
			 size_t n)
{
	assert_int_equal(c->fault_count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(c->faults[i].prm.addr, addrs[i]);
	/* The last-page request is at the tail. */
	assert_true(c->faults[n - 1].prm.flags & FX_LAST);
	fx_assert_fault_equal(&c->faults[n - 1], &c->last);
	for (size_t i = 0; i + 1 < n; i++)
		assert_false(c->faults[i].prm.flags & FX_LAST);
}

/* A lone last-page request is a group of one. */
static void group_single(void **state)
{
	struct fx *f = *state;
	static const uint64_t a[] = { 0x1000 };
	struct fx_call c;

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0x1000), 0);
	c = fx_call_at(&f->rec, 0);
	assert_addrs(&c, a, 1);
}

/* Arrival order, the last-page request at the tail. */
static void group_arrival_order(void **state)
{
	struct fx *f = *state;
	static const uint64_t a[] = { 0x5000, 0x1000, 0x3000, 0x2000, 0x4000 };
	struct iopf_group *group;
	struct fx_call c;

	for (size_t i = 0; i < 4; i++)
		assert_int_equal(fx_report(f->dev[0], 0, 0, 7, a[i]), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 7, a[4]), 0);
	c = fx_call_at(&f->rec, 0);
	assert_addrs(&c, a, 5);

	/* The accessors agree with what the handler saw. */
	group = fx_take_held(&f->rec);
	assert_int_equal(iopf_group_fault_count(group), 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(iopf_group_fault_at(group, i)->prm.addr, a[i]);
	assert_ptr_equal(iopf_group_fault_at(group, 4),
			 iopf_group_last_fault(group));
	assert_null(iopf_group_fault_at(group, 5));
	assert_null(iopf_group_fault_at(group, (size_t)-1));
	iopf_free_group(group);
}

/* Grouping is by grpid only: other PASIDs with the same grpid merge. */
static void group_grpid_only(void **state)
{
	struct fx *f = *state;
	static const uint64_t a[] = { 0x1000, 0x2000, 0x3000, 0x4000 };
	struct iopf_attach_handle h1, h2;
	struct fx_call c;

	assert_int_equal(iopf_attach_device_pasid(f->domain, f->dev[0], 1, &h1),
			 0);
	assert_int_equal(iopf_attach_device_pasid(f->domain, f->dev[0], 2, &h2),
			 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV, 1, 3, a[0]), 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV, 2, 3, a[1]), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 3, a[2]), 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV | FX_LAST, 1, 3, a[3]), 0);
	c = fx_call_at(&f->rec, 0);
	assert_addrs(&c, a, 4);
	assert_int_equal(c.faults[1].prm.pasid, 2);
	/* Routed by the last request's PASID. */
	assert_ptr_equal(c.handle, &h1);
}

/* Interleaved groups each take their own partials. */
static void group_interleaved(void **state)
{
	struct fx *f = *state;
	static const uint64_t a[] = { 0xa1, 0xa2, 0xa3 };
	static const uint64_t b[] = { 0xb1, 0xb2, 0xb3 };
	struct fx_call c;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0xa1), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 2, 0xb1), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0xa2), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 2, 0xb2), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0xa3), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0xb3), 0);
	c = fx_call_at(&f->rec, 0);
	assert_addrs(&c, a, 3);
	c = fx_call_at(&f->rec, 1);
	assert_addrs(&c, b, 3);
}

/* Partials left without a last request join a later group of that grpid. */
static void group_leftovers_join_later(void **state)
{
	struct fx *f = *state;
	static const uint64_t first[] = { 0x1, 0x2 };
	static const uint64_t later[] = { 0x9, 0xa, 0xb, 0xc };
	struct fx_call c;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 5, 0x1), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 5, 0x2), 0);
	/* A group whose last request never comes (lost by the device). */
	assert_int_equal(fx_report(f->dev[0], 0, 0, 9, 0x9), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 9, 0xa), 0);
	/* Unrelated traffic in between. */
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 5, 0x7), 0);
	/* The device reuses index 9 for a new group: the leftovers merge. */
	assert_int_equal(fx_report(f->dev[0], 0, 0, 9, 0xb), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 9, 0xc), 0);
	c = fx_call_at(&f->rec, 0);
	assert_addrs(&c, first, 2);
	assert_int_equal(fx_call_at(&f->rec, 1).fault_count, 1);
	c = fx_call_at(&f->rec, 2);
	assert_addrs(&c, later, 4);
	/* All consumed: the next group of 9 starts empty. */
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 9, 0xd), 0);
	assert_int_equal(fx_call_at(&f->rec, 3).fault_count, 1);
	assert_int_equal(fx_nr_responses(f), 0);
}

/* The accessors on NULL. */
static void group_accessors_null(void **state)
{
	(void)state;
	assert_int_equal(iopf_group_fault_count(NULL), 0);
	assert_null(iopf_group_fault_at(NULL, 0));
	assert_null(iopf_group_last_fault(NULL));
	assert_null(iopf_group_attach_handle(NULL));
	assert_null(iopf_group_device(NULL));
	iopf_group_response(NULL, SUCCESS);
	iopf_free_group(NULL);
}

static struct iopf_group *one_group(struct fx *f, uint32_t grpid)
{
	size_t held = fx_nr_held(&f->rec);

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, grpid, 0x1000), 0);
	assert_int_equal(fx_nr_held(&f->rec), held + 1);
	return fx_take_held(&f->rec);
}

/* Two responses: only the first is sent. */
static void group_double_response(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group = one_group(f, 1);

	iopf_group_response(group, SUCCESS);
	iopf_group_response(group, FAILURE);
	iopf_group_response(group, SUCCESS);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 1, SUCCESS);
	iopf_free_group(group);
	assert_int_equal(fx_nr_responses(f), 1);
}

/* Response, then free: the free sends nothing. */
static void group_response_then_free(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group = one_group(f, 2);

	iopf_group_response(group, FAILURE);
	iopf_free_group(group);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 2, FAILURE);
}

/* Free of an unanswered group answers it INVALID, once. */
static void group_free_unanswered(void **state)
{
	struct fx *f = *state;
	struct iopf_group *g1 = one_group(f, 3);
	struct iopf_group *g2 = one_group(f, 4);

	iopf_free_group(g2);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 4, INVALID);
	iopf_group_response(g1, SUCCESS);
	iopf_free_group(g1);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_assert_response(f, 1, ID0, 0, 3, SUCCESS);
}

/* Groups are answered independently, in any order. */
static void group_out_of_order(void **state)
{
	struct fx *f = *state;
	struct iopf_group *g[4];

	for (uint32_t i = 0; i < 4; i++)
		g[i] = one_group(f, 10 + i);
	for (int i = 3; i >= 0; i--)
		iopf_group_response(g[i], SUCCESS);
	for (uint32_t i = 0; i < 4; i++) {
		fx_assert_response(f, i, ID0, 0, 13 - i, SUCCESS);
		iopf_free_group(g[i]);
	}
	assert_int_equal(fx_nr_responses(f), 4);
}

/* Two groups with the same grpid pending at once are distinct groups. */
static void group_same_grpid_pending(void **state)
{
	struct fx *f = *state;
	struct iopf_group *g1, *g2;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 6, 0x1), 0);
	g1 = one_group(f, 6);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 6, 0x2), 0);
	g2 = one_group(f, 6);
	assert_ptr_not_equal(g1, g2);
	assert_int_equal(iopf_group_fault_count(g1), 2);
	assert_int_equal(iopf_group_fault_count(g2), 2);
	assert_int_equal(iopf_group_fault_at(g2, 0)->prm.addr, 0x2);
	iopf_group_response(g2, FAILURE);
	iopf_group_response(g1, SUCCESS);
	fx_assert_response(f, 0, ID0, 0, 6, FAILURE);
	fx_assert_response(f, 1, ID0, 0, 6, SUCCESS);
	iopf_free_group(g1);
	iopf_free_group(g2);
	assert_int_equal(fx_nr_responses(f), 2);
}

/* The response carries the last fault: NEEDS_PASID and PASID survive. */
static void group_response_fields(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;
	struct iopf_mock_response r;
	struct iopf_group *group;

	assert_int_equal(iopf_attach_device_pasid(f->domain, f->dev[0], 42, &h),
			 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV, 42, 8, 0x1000), 0);
	assert_int_equal(
		fx_report(f->dev[0], FX_PV | FX_LAST | FX_NEEDS, 42, 8, 0x2000),
		0);
	group = fx_take_held(&f->rec);
	assert_ptr_equal(iopf_group_attach_handle(group), &h);
	iopf_group_response(group, SUCCESS);
	r = fx_response_at(f, 0);
	assert_int_equal(r.msg.pasid, 42);
	assert_int_equal(r.msg.grpid, 8);
	assert_int_equal(r.evt.prm.flags, FX_PV | FX_LAST | FX_NEEDS);
	assert_int_equal(r.evt.prm.addr, 0x2000);
	iopf_free_group(group);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_manual, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(group_single),
		T(group_arrival_order),
		T(group_grpid_only),
		T(group_interleaved),
		T(group_leftovers_join_later),
		T(group_accessors_null),
		T(group_double_response),
		T(group_response_then_free),
		T(group_free_unanswered),
		T(group_out_of_order),
		T(group_same_grpid_pending),
		T(group_response_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
