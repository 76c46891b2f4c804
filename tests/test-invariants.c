// SPDX-License-Identifier: MIT
/*
 * Deterministic regressions for invariants the fuzzers (tests/fuzz) and the
 * soak test (tests/soak) broke, each reduced to the shortest sequence in
 * manual mode. One test per finding; the fuzz inputs themselves are kept in
 * tests/fuzz/crashes/<target>/ and replayed by the fuzz-<target> tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iopf/iopf.h>

#include "fixtures.h"

#define MAP_BASE 0x100000ull

/*
 * A group's work item is queued, the device leaves the queue (its group is
 * answered INVALID), then the attachment is detached: when the detach
 * returns no work of that attachment may be left to run. (Found by
 * fuzz-ops: crashes/ops/work-after-detach-off-queue.)
 */
static void work_after_detach_off_queue(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, MAP_BASE), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	fx_assert_response(f, 0, FX_DEV_ID(0), 0, 1, IOPF_PAGE_RESP_INVALID);
	iopf_detach_device(f->domain, f->dev[0]);
	/* The detach must have flushed the queue the work sits on. */
	assert_int_equal(iopf_queue_pending(f->queue), 0);
	assert_int_equal(f->rec.works_done, 1);
}

/*
 * The same with SVA: after iopf_sva_unbind_device() returns no fault of
 * the bind is being handled and none will be, even if the device left
 * its queue meanwhile; otherwise the work reads the freed bind (found by
 * the soak test as a heap-use-after-free in iommu_sva_handle_iopf()).
 */
static void sva_work_after_unbind_off_queue(void **state)
{
	struct fx *f = *state;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	uint32_t pasid;

	assert_int_equal(iopf_mm_new(f->ctx, &mm), 0);
	assert_int_equal(iopf_mm_map(mm, MAP_BASE, 0x10000,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	assert_int_equal(iopf_sva_bind_device(f->dev[0], mm, &sva), 0);
	pasid = iopf_sva_get_pasid(sva);
	assert_int_equal(
		fx_report(f->dev[0], FX_LAST | FX_PV, pasid, 2, MAP_BASE), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	fx_assert_response(f, 0, FX_DEV_ID(0), pasid, 2,
			   IOPF_PAGE_RESP_INVALID);
	iopf_sva_unbind_device(sva);
	/* Nothing of the bind may run from now on. */
	assert_int_equal(iopf_queue_pending(f->queue), 0);
	iopf_mm_put(mm);
}

/* On the queue, nothing attached. */
static int setup_unattached(void **state)
{
	struct fx_opts opts = { .no_attach = true };

	return fx_setup_opts(state, &opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(work_after_detach_off_queue,
						fx_setup_manual, fx_teardown),
		cmocka_unit_test_setup_teardown(sva_work_after_unbind_off_queue,
						setup_unattached, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
