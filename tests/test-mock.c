// SPDX-License-Identifier: MIT
/*
 * The mock backend (API.md §7): it records every response in order, waits
 * for a count on threaded queues, never runs a manual queue itself.
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

static void mock_new_args(void **state)
{
	struct iopf_ctx *ctx;
	struct iopf_mock *m = (struct iopf_mock *)&ctx, *keep = m;

	(void)state;
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	assert_int_equal(iopf_mock_new(NULL, "m", false, &m), -EINVAL);
	assert_int_equal(iopf_mock_new(ctx, "m", false, NULL), -EINVAL);
	assert_ptr_equal(m, keep);
	assert_int_equal(iopf_mock_new(ctx, NULL, false, &m), 0);
	assert_string_equal(iopf_iommu_name(iopf_mock_iommu(m)), "mock");
	assert_ptr_equal(iopf_iommu_ctx(iopf_mock_iommu(m)), ctx);
	assert_null(iopf_mock_iommu(NULL));
	assert_int_equal(iopf_mock_response_count(NULL), 0);
	assert_int_equal(iopf_mock_wait_responses(NULL, 0, 0), -EINVAL);
	iopf_mock_reset(NULL);
	/* Its devices go with it. */
	fx_device_new(iopf_mock_iommu(m), 1, 4);
	iopf_mock_free(m);
	iopf_ctx_free(ctx);
	fx_assert_no_live_allocations();
}

/* Every response, in order, with the device, the fault and the message. */
static void mock_records(void **state)
{
	struct fx *f = *state;
	struct iopf_mock_response r;
	struct iopf_group *g1, *g2;
	struct iopf_fault evt = fx_fault(FX_LAST, 0, 2, 0x2000);

	evt.prm.perm = IOPF_FAULT_PERM_EXEC;
	evt.prm.private_data[1] = 77;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0x1000), 0);
	assert_int_equal(iopf_report_device_fault(f->dev[1], &evt), 0);
	g1 = fx_take_held(&f->rec);
	g2 = fx_take_held(&f->rec);
	iopf_group_response(g2, FAILURE);
	iopf_group_response(g1, SUCCESS);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
	assert_int_equal(iopf_mock_response_at(f->mock, 0, &r), 0);
	assert_int_equal(r.dev_id, FX_DEV_ID(1));
	assert_int_equal(r.evt.type, IOPF_FAULT_PAGE_REQ);
	assert_memory_equal(&r.evt.prm, &evt.prm, sizeof(evt.prm));
	assert_int_equal(r.msg.code, FAILURE);
	assert_int_equal(r.msg.grpid, 2);
	assert_int_equal(iopf_mock_response_at(f->mock, 1, &r), 0);
	assert_int_equal(r.dev_id, ID0);
	assert_int_equal(r.msg.code, SUCCESS);
	assert_int_equal(r.evt.prm.addr, 0x1000);
	assert_int_equal(iopf_mock_response_at(f->mock, 2, &r), -ERANGE);
	assert_int_equal(iopf_mock_response_at(f->mock, (size_t)-1, &r),
			 -ERANGE);
	assert_int_equal(iopf_mock_response_at(NULL, 0, &r), -EINVAL);
	assert_int_equal(iopf_mock_response_at(f->mock, 0, NULL), -EINVAL);
	iopf_free_group(g1);
	iopf_free_group(g2);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
}

static int setup_two(void **state)
{
	struct fx_opts opts = { .nr_devs = 2 };

	return fx_setup_opts(state, &opts);
}

/* The log grows past its first allocation, order kept. */
static void mock_many(void **state)
{
	struct fx *f = *state;
	const uint32_t n = 1000;

	f->rec.mode = FX_RESPOND;
	for (uint32_t g = 0; g < n; g++) {
		f->rec.code = g % 3;
		assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, g, g), 0);
	}
	assert_int_equal(iopf_mock_response_count(f->mock), n);
	for (uint32_t g = 0; g < n; g++)
		fx_assert_response(f, g, ID0, 0, g, g % 3);
	iopf_mock_reset(f->mock);
	assert_int_equal(iopf_mock_response_count(f->mock), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 5, 0), 0);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	fx_assert_response(f, 0, ID0, 0, 5, (n - 1) % 3);
}

/* wait: at once when reached, -ETIMEDOUT otherwise, never runs the queue. */
static void mock_wait_manual(void **state)
{
	struct fx *f = *state;

	assert_int_equal(iopf_mock_wait_responses(f->mock, 0, 0), 0);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 1, 0), -ETIMEDOUT);
	f->rec.mode = FX_WORK;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 1, 20), -ETIMEDOUT);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	assert_int_equal(iopf_queue_run(f->queue, 1), 1);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 1, 0), 0);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 1, 1500), 0);
}

/* Threaded: wait returns once workers have answered. */
static void mock_wait_threaded(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	for (uint32_t g = 0; g < 64; g++)
		assert_int_equal(fx_report(f->dev[g & 1], FX_LAST, 0, g, 0), 0);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 64, FX_TIMEOUT_MS),
			 0);
	assert_true(iopf_mock_response_count(f->mock) >= 64);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 65, 10), -ETIMEDOUT);
}

static int setup_two_threaded(void **state)
{
	struct fx_opts opts = { .nr_devs = 2, .nr_workers = 3 };

	return fx_setup_opts(state, &opts);
}

static int setup_no_attach(void **state)
{
	struct fx_opts opts = { .no_attach = true };

	return fx_setup_opts(state, &opts);
}

/* The user_pasid_table flag reaches the IOMMU's ops. */
static void mock_user_pasid_table(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *nested;
	struct iopf_attach_handle h;

	assert_int_equal(fx_domain_new(f, IOPF_DOMAIN_NESTED, &f->rec, &nested),
			 0);
	assert_int_equal(iopf_attach_device(nested, f->dev[0], &h), 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV | FX_LAST, 5, 1, 0),
			 f->opts.user_pasid_table ? 0 : -EINVAL);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mock_new_args),
		T(mock_records, setup_two),
		T(mock_many, fx_setup_manual),
		T(mock_wait_manual, fx_setup_manual),
		T(mock_wait_threaded, setup_two_threaded),
		T(mock_user_pasid_table, fx_setup_upt),
		T(mock_user_pasid_table, setup_no_attach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
