// SPDX-License-Identifier: MIT
/*
 * iopf_queue_remove_device() (KERNEL-SEMANTICS.md §1.4, §1.6): partials
 * dropped silently, every pending group answered INVALID, answered groups
 * untouched, and (libiopf's ownership rule, DESIGN.md §4) no group freed
 * under its holder: late responses are no-ops and the holder still frees.
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

static struct iopf_group *held_group(struct fx *f, uint32_t grpid,
				     uint64_t addr)
{
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, grpid, addr), 0);
	return fx_take_held(&f->rec);
}

static void remove_answers_pending(void **state)
{
	struct fx *f = *state;
	struct iopf_group *g1, *g2, *g3;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 7, 0x70), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 7, 0x71), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0x10), 0);
	g1 = held_group(f, 1, 0x11);
	g2 = held_group(f, 2, 0x20);
	g3 = held_group(f, 3, 0x30);
	iopf_group_response(g3, SUCCESS); /* answered, still held */
	assert_int_equal(fx_nr_responses(f), 1);

	iopf_queue_remove_device(f->queue, f->dev[0]);
	/* One INVALID per pending group, with its last fault; none else. */
	assert_int_equal(fx_nr_responses(f), 3);
	fx_assert_response(f, 1, ID0, 0, 1, INVALID);
	assert_int_equal(fx_response_at(f, 1).evt.prm.addr, 0x11);
	fx_assert_response(f, 2, ID0, 0, 2, INVALID);
	assert_int_equal(fx_response_at(f, 2).evt.prm.addr, 0x20);

	/* The groups are still the holder's: readable, answers are no-ops. */
	assert_int_equal(iopf_group_fault_count(g1), 2);
	assert_ptr_equal(iopf_group_device(g1), f->dev[0]);
	iopf_group_response(g1, SUCCESS);
	iopf_group_response(g2, FAILURE);
	iopf_group_response(g3, SUCCESS);
	assert_int_equal(fx_nr_responses(f), 3);
	iopf_free_group(g1);
	iopf_free_group(g2);
	iopf_free_group(g3);
	assert_int_equal(fx_nr_responses(f), 3);

	/* Off the queue: flush fails, reports take the error path. */
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), -ENODEV);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 7, 0), -EINVAL);
	fx_assert_response(f, 3, ID0, 0, 7, INVALID);
	/* Back on: the partials of grpid 7 were dropped. */
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 7, 0x72), 0);
	assert_int_equal(fx_call_at(&f->rec, 3).fault_count, 1);
	assert_int_equal(fx_nr_responses(f), 4);
}

/* Only partials: dropped without a single response. */
static void remove_partials_silent(void **state)
{
	struct fx *f = *state;

	for (uint32_t g = 0; g < 20; g++)
		assert_int_equal(fx_report(f->dev[0], 0, 0, g, g), 0);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* A device not on that queue (or on none): nothing changes. */
static void remove_not_on_queue(void **state)
{
	struct fx *f = *state;
	struct iopf_queue *q2;
	struct iopf_group *g;

	assert_int_equal(iopf_queue_alloc(f->ctx, "q2", NULL, &q2), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 5, 0x1), 0);
	g = held_group(f, 1, 0);
	iopf_queue_remove_device(q2, f->dev[0]);
	iopf_queue_remove_device(NULL, f->dev[0]);
	iopf_queue_remove_device(f->queue, NULL);
	/* A device on no queue at all. */
	iopf_queue_remove_device(f->queue, f->dev[1]);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
	assert_int_equal(iopf_queue_flush_dev(f->dev[1]), -ENODEV);
	/* The group is still pending, the partial still kept. */
	iopf_group_response(g, SUCCESS);
	fx_assert_response(f, 0, ID0, 0, 1, SUCCESS);
	iopf_free_group(g);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 5, 0x2), 0);
	assert_int_equal(fx_call_at(&f->rec, 1).fault_count, 2);
	/* Still on f->queue: q2 may not take it. */
	assert_int_equal(iopf_queue_add_device(q2, f->dev[0]), -EBUSY);
	iopf_queue_free(q2);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
}

static int setup_dev1_off(void **state)
{
	struct fx_opts opts = { .nr_devs = 2 };
	struct fx *f;

	fx_setup_opts(state, &opts);
	f = *state;
	iopf_queue_remove_device(f->queue, f->dev[1]);
	return 0;
}

/* An old group outlives a remove + re-add and does not disturb the new. */
static void remove_readd(void **state)
{
	struct fx *f = *state;
	struct iopf_group *old, *fresh;

	old = held_group(f, 1, 0x1);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), 0);
	fresh = held_group(f, 1, 0x2);
	iopf_free_group(old); /* answered by remove: nothing sent */
	assert_int_equal(fx_nr_responses(f), 1);
	iopf_group_response(fresh, SUCCESS);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_assert_response(f, 1, ID0, 0, 1, SUCCESS);
	assert_int_equal(fx_response_at(f, 1).evt.prm.addr, 0x2);
	iopf_free_group(fresh);
	assert_int_equal(fx_nr_responses(f), 2);
}

/* Work queued for a group that remove answered still runs, sends nothing. */
static void remove_with_queued_work(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0), 0);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(fx_nr_responses(f), 2);
	assert_int_equal(iopf_queue_run(f->queue, SIZE_MAX), 2);
	assert_int_equal(f->rec.works_done, 2);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_assert_response(f, 0, ID0, 0, 1, INVALID);
	fx_assert_response(f, 1, ID0, 0, 2, INVALID);
}

/* Same on workers: the work that is blocked answers nothing afterwards. */
static void remove_while_work_runs(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	fx_gate_close(&f->rec);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0), 0);
	fx_wait_works(&f->rec, 1, 0);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_gate_open(&f->rec);
	fx_wait_works(&f->rec, 2, 2);
	assert_int_equal(fx_nr_responses(f), 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(fx_response_at(f, i).msg.code, INVALID);
}

/* iopf_device_free() removes the device; the holder still frees later. */
static void device_free_with_held_group(void **state)
{
	struct fx *f = *state;
	struct iopf_group *g;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0x1), 0);
	g = held_group(f, 1, 0x2);
	iopf_device_free(f->dev[0]);
	f->dev[0] = NULL;
	assert_null(iopf_device_find(f->iommu, ID0));
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 1, INVALID);
	/* The group keeps its device alive. */
	assert_int_equal(iopf_device_id(iopf_group_device(g)), ID0);
	assert_int_equal(iopf_group_fault_count(g), 2);
	iopf_group_response(g, SUCCESS);
	iopf_free_group(g);
	assert_int_equal(fx_nr_responses(f), 1);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(remove_answers_pending, fx_setup_manual),
		T(remove_answers_pending, fx_setup_threaded),
		T(remove_partials_silent, fx_setup_manual),
		T(remove_not_on_queue, setup_dev1_off),
		T(remove_readd, fx_setup_manual),
		T(remove_with_queued_work, fx_setup_manual),
		T(remove_while_work_runs, fx_setup_threaded),
		T(device_free_with_held_group, fx_setup_manual),
		T(device_free_with_held_group, fx_setup_threaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
