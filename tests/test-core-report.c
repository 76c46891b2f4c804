// SPDX-License-Identifier: MIT
/*
 * The report path: every row of the response table of
 * iommu_report_device_fault() (KERNEL-SEMANTICS.md §1.4, v6.11+).
 *
 * The allocation-failure rows need a -Dfault_injection=true build; they
 * skip elsewhere.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
#define INVALID IOPF_PAGE_RESP_INVALID
#define FAILURE IOPF_PAGE_RESP_FAILURE
#define SUCCESS IOPF_PAGE_RESP_SUCCESS

static int setup_no_attach(void **state)
{
	struct fx_opts opts = { .no_attach = true };

	return fx_setup_opts(state, &opts);
}

static int setup_no_queue(void **state)
{
	struct fx_opts opts = { .no_queue_add = true };

	return fx_setup_opts(state, &opts);
}

static void skip_without_fault_injection(void)
{
	if (iopf_testing_fail_nth(0) == -EOPNOTSUPP)
		skip();
}

/* The error path: INVALID for this one request (last or not), -EINVAL. */
static void assert_error_path(struct fx *f, uint32_t flags, uint32_t pasid,
			      uint32_t grpid)
{
	size_t n = fx_nr_responses(f);
	struct iopf_mock_response r;

	assert_int_equal(fx_report(f->dev[0], flags, pasid, grpid, 0x1000),
			 -EINVAL);
	assert_int_equal(fx_nr_responses(f), n + 1);
	fx_assert_response(f, n, ID0, pasid, grpid, INVALID);
	r = fx_response_at(f, n);
	/* The answered request is the reported one, flags included. */
	assert_int_equal(r.evt.prm.flags, flags);
	assert_int_equal(r.evt.prm.addr, 0x1000);
}

/* Row 1: no attach handle at the RID or PASID. */
static void report_no_handle(void **state)
{
	struct fx *f = *state;

	assert_error_path(f, FX_LAST, 0, 1);
	assert_error_path(f, 0, 0, 2); /* a partial is answered too */
	assert_error_path(f, FX_PV | FX_LAST, 5, 3);
	assert_error_path(f, FX_PV, 5, 4);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* Row 1: a bare attach (no handle) never receives faults. */
static void report_bare_attach(void **state)
{
	struct fx *f = *state;

	assert_int_equal(iopf_attach_device(f->domain, f->dev[0], NULL), 0);
	assert_int_equal(
		iopf_attach_device_pasid(f->domain, f->dev[0], 3, NULL), 0);
	assert_error_path(f, FX_LAST, 0, 1);
	assert_error_path(f, FX_PV | FX_LAST, 3, 2);
	assert_error_path(f, FX_PV, 3, 3);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* Row 1: a handle whose domain has no iopf_handler. */
static void report_no_iopf_handler(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h0, h3;
	struct iopf_domain *dom;

	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL, &dom),
		0);
	assert_int_equal(iopf_attach_device(dom, f->dev[0], &h0), 0);
	assert_int_equal(iopf_attach_device_pasid(dom, f->dev[0], 3, &h3), 0);
	assert_ptr_equal(h0.domain, dom);
	assert_error_path(f, FX_LAST, 0, 1);
	assert_error_path(f, FX_PV | FX_LAST, 3, 2);
	/* Not fault-capable: attaching it did not enable IOPF either. */
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* Row 1: user_pasid_table, but the RID handle is not NESTED. */
static void report_upt_no_nested(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *nested;

	/* f->domain is PAGING, attached with a handle at the RID. */
	assert_int_equal(
		iopf_attach_device(f->domain, f->dev[0], &f->handle[0]), 0);
	assert_error_path(f, FX_PV | FX_LAST, 7, 1);
	assert_error_path(f, FX_PV, 7, 2);
	/* A bare NESTED RID attach does not route either. */
	iopf_detach_device(f->domain, f->dev[0]);
	assert_int_equal(fx_domain_new(f, IOPF_DOMAIN_NESTED, &f->rec, &nested),
			 0);
	assert_int_equal(iopf_attach_device(nested, f->dev[0], NULL), 0);
	assert_error_path(f, FX_PV | FX_LAST, 7, 3);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* Row 2: a handler, but the device is on no fault queue. */
static void report_not_on_queue(void **state)
{
	struct fx *f = *state;

	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), -ENODEV);
	assert_error_path(f, FX_LAST, 0, 1);
	assert_error_path(f, 0, 0, 2);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* Row 4: a partial is queued, no response, no handler call. */
static void report_partial_queued(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 9, 0x1000), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 9, 0x2000), 0);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
	/* They were kept: the last request gathers them. */
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 9, 0x3000), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 1);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 3);
	assert_int_equal(fx_nr_responses(f), 0);
}

/* Row 3: the partial cannot be stored: -ENOMEM, no response, lost. */
static void report_partial_nomem(void **state)
{
	struct fx *f = *state;

	skip_without_fault_injection();
	assert_int_equal(iopf_testing_fail_nth(1), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 9, 0x1000), -ENOMEM);
	assert_int_equal(iopf_testing_fail_nth(0), 0);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 9, 0x2000), 0);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 1);
}

/* Row 5: the group cannot be allocated: FAILURE, 0, partials consumed. */
static void report_group_nomem(void **state)
{
	struct fx *f = *state;

	skip_without_fault_injection();
	assert_int_equal(fx_report(f->dev[0], 0, 0, 4, 0x1000), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 5, 0x2000), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 4, 0x3000), 0);
	assert_int_equal(iopf_testing_fail_nth(1), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 4, 0x4000), 0);
	assert_int_equal(iopf_testing_fail_nth(0), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 4, FAILURE);
	assert_int_equal(fx_response_at(f, 0).evt.prm.addr, 0x4000);
	/* grpid 4's partials went with the aborted group; grpid 5's stayed. */
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 4, 0x5000), 0);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 1);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 5, 0x6000), 0);
	assert_int_equal(fx_call_at(&f->rec, 1).fault_count, 2);
}

/* Row 6: the handler fails: FAILURE, 0, the group and its partials freed. */
static void report_handler_fails(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_FAIL;
	assert_int_equal(fx_report(f->dev[0], 0, 0, 2, 0x1000), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0x2000), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 1);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 2);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 2, FAILURE);
	assert_int_equal(fx_response_at(f, 0).evt.prm.addr, 0x2000);
	assert_int_equal(fx_nr_held(&f->rec), 0);
	/* Any non-zero value counts as a failure. */
	f->rec.fail_ret = 1;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0x3000), 0);
	assert_int_equal(fx_call_at(&f->rec, 1).fault_count, 1);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_assert_response(f, 1, ID0, 0, 2, FAILURE);
}

/* Row 7: the handler accepted: it sends the one response, later. */
static void report_handler_accepts(void **state)
{
	struct fx *f = *state;
	struct iopf_fault evt =
		fx_fault(FX_PV | FX_LAST | FX_NEEDS, 0, 3, 0x7000);
	struct iopf_mock_response r;
	struct iopf_group *group;

	evt.prm.perm = IOPF_FAULT_PERM_WRITE | IOPF_FAULT_PERM_PRIV;
	evt.prm.private_data[0] = 0xabcd;
	evt.prm.private_data[1] = 0x1234;
	/* PASID 0 with PASID_VALID routes to the RID (§3.3 rule 6). */
	assert_int_equal(iopf_report_device_fault(f->dev[0], &evt), 0);
	assert_int_equal(fx_nr_responses(f), 0);
	group = fx_take_held(&f->rec);
	assert_non_null(group);
	assert_ptr_equal(iopf_group_device(group), f->dev[0]);
	assert_ptr_equal(iopf_group_attach_handle(group), &f->handle[0]);
	fx_assert_fault_equal(iopf_group_last_fault(group), &evt);
	iopf_group_response(group, SUCCESS);
	assert_int_equal(fx_nr_responses(f), 1);
	r = fx_response_at(f, 0);
	assert_int_equal(r.dev_id, ID0);
	fx_assert_fault_equal(&r.evt, &evt);
	assert_int_equal(r.msg.code, SUCCESS);
	assert_int_equal(r.msg.grpid, 3);
	assert_int_equal(r.msg.pasid, 0);
	iopf_free_group(group);
	assert_int_equal(fx_nr_responses(f), 1);

	/* A handler that answers at once: the response precedes the return. */
	f->rec.mode = FX_RESPOND;
	f->rec.code = FAILURE;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 4, 0x8000), 0);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_assert_response(f, 1, ID0, 0, 4, FAILURE);
}

/* The error path does not clean the partials of that grpid (kernel). */
static void report_error_keeps_partials(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 6, 0x1000), 0);
	assert_error_path(f, FX_PV | FX_LAST, 9, 6);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 6, 0x2000), 0);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 2);
	assert_int_equal(fx_call_at(&f->rec, 0).faults[0].prm.addr, 0x1000);
}

/* Routing happens per request: a partial with no handler is answered. */
static void report_partial_routed_each(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0x1000), 0);
	iopf_detach_device(f->domain, f->dev[0]);
	assert_error_path(f, 0, 0, 1);
	assert_int_equal(
		iopf_attach_device(f->domain, f->dev[0], &f->handle[0]), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0x3000), 0);
	/* The first partial was kept; the second was answered and dropped. */
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 2);
}

/* iopf_iommu_report_fault(): the same path, the device found by its ID. */
static void report_by_id(void **state)
{
	struct fx *f = *state;
	struct iopf_fault evt = fx_fault(FX_LAST, 0, 7, 0x9000);
	struct iopf_fault bad = evt;

	assert_int_equal(iopf_iommu_report_fault(f->iommu, ID0, &evt), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 1);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 1);
	assert_int_equal(fx_nr_responses(f), 0);
	/* Partials group with a LAST_PAGE request reported either way. */
	evt.prm.flags = 0;
	assert_int_equal(iopf_iommu_report_fault(f->iommu, ID0, &evt), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 7, 0xa000), 0);
	assert_int_equal(fx_call_at(&f->rec, 1).fault_count, 2);

	/* No device with that ID: -ENODEV, nothing sent, nothing called. */
	evt.prm.flags = FX_LAST;
	assert_int_equal(iopf_iommu_report_fault(f->iommu, 0xbeef, &evt),
			 -ENODEV);
	assert_int_equal(iopf_iommu_report_fault(f->iommu, 1u << 20, &evt),
			 -ENODEV);
	assert_int_equal(iopf_iommu_report_fault(f->iommu, UINT32_MAX, &evt),
			 -ENODEV);
	/* Bad input: -EINVAL, nothing sent. */
	assert_int_equal(iopf_iommu_report_fault(NULL, ID0, &evt), -EINVAL);
	assert_int_equal(iopf_iommu_report_fault(f->iommu, ID0, NULL), -EINVAL);
	bad.type = 0;
	assert_int_equal(iopf_iommu_report_fault(f->iommu, ID0, &bad), -EINVAL);
	bad = evt;
	bad.prm.flags |= FX_PV;
	bad.prm.pasid = 1u << 20;
	assert_int_equal(iopf_iommu_report_fault(f->iommu, ID0, &bad), -EINVAL);
	assert_int_equal(fx_nr_calls(&f->rec), 2);
	assert_int_equal(fx_nr_responses(f), 0);

	/* No handler: INVALID for the request and -EINVAL, as by pointer. */
	iopf_detach_device(f->domain, f->dev[0]);
	assert_int_equal(iopf_iommu_report_fault(f->iommu, ID0, &evt), -EINVAL);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 7, INVALID);
}

/*
 * iopf_iommu_report_fault() while the device with that ID comes and goes:
 * every report finds a whole device or none, and every request is
 * answered exactly once, or not at all when no device had the ID.
 */
#define CHURN_ID 0x77

struct churn {
	struct fx *f;
	atomic_bool stop;
	atomic_uint rounds;
};

static void *churn_device(void *arg)
{
	struct churn *c = arg;
	struct iopf_device_attr attr = { .size = sizeof(attr), .id = CHURN_ID };
	struct iopf_attach_handle handle;
	struct iopf_device *dev;

	while (!atomic_load(&c->stop)) {
		if (iopf_device_new(c->f->iommu, &attr, &dev) ||
		    iopf_queue_add_device(c->f->queue, dev) ||
		    iopf_attach_device(c->f->domain, dev, &handle))
			abort();
		/*
		 * Yield in both states: a scheduler that switches threads
		 * only on time slices or blocking calls (valgrind's) could
		 * otherwise let the reporter see just one of them.
		 */
		sched_yield();
		iopf_device_free(dev);
		atomic_fetch_add(&c->rounds, 1);
		sched_yield();
	}
	return NULL;
}

static void report_by_id_races_device_free(void **state)
{
	struct fx *f = *state;
	struct iopf_fault evt = fx_fault(FX_LAST, 0, 1, 0x1000);
	struct churn c = { .f = f };
	size_t answered = 0, absent = 0, before = fx_nr_responses(f);
	pthread_t thread;
	int ret;

	f->rec.mode = FX_RESPOND;
	f->rec.code = SUCCESS;
	assert_int_equal(pthread_create(&thread, NULL, churn_device, &c), 0);
	/* Until both outcomes were seen (bounded: the asserts say if not). */
	for (unsigned long i = 0; (i < 20000 || atomic_load(&c.rounds) < 50 ||
				   !answered || !absent) &&
				  i < 20000000;
	     i++) {
		ret = iopf_iommu_report_fault(f->iommu, CHURN_ID, &evt);
		if (ret == -ENODEV)
			absent++;
		else if (ret == 0 || ret == -EINVAL)
			answered++;
		else
			fail_msg("unexpected %d", ret);
	}
	atomic_store(&c.stop, true);
	assert_int_equal(pthread_join(thread, NULL), 0);
	/* Found (handler: SUCCESS; no handler yet/any more: INVALID): one. */
	assert_int_equal(fx_nr_responses(f) - before, answered);
	assert_true(answered > 0);
	assert_true(absent > 0);
}

/* Batches: bad input changes nothing; n = 0 and rets = NULL are fine. */
static void report_batch_args(void **state)
{
	struct fx *f = *state;
	struct iopf_fault evt = fx_fault(FX_LAST, 0, 1, 0x1000);
	uint32_t id = ID0;
	int ret = 12345;

	assert_int_equal(iopf_report_device_faults(NULL, &evt, 1, &ret),
			 -EINVAL);
	assert_int_equal(iopf_report_device_faults(f->dev[0], NULL, 1, &ret),
			 -EINVAL);
	assert_int_equal(iopf_iommu_report_faults(NULL, &id, &evt, 1, &ret),
			 -EINVAL);
	assert_int_equal(
		iopf_iommu_report_faults(f->iommu, NULL, &evt, 1, &ret),
		-EINVAL);
	assert_int_equal(iopf_iommu_report_faults(f->iommu, &id, NULL, 1, &ret),
			 -EINVAL);
	assert_int_equal(ret, 12345);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
	assert_int_equal(iopf_report_device_faults(f->dev[0], NULL, 0, NULL),
			 0);
	assert_int_equal(
		iopf_iommu_report_faults(f->iommu, NULL, NULL, 0, NULL), 0);
	assert_int_equal(iopf_report_device_faults(f->dev[0], &evt, 1, NULL),
			 0);
	assert_int_equal(fx_nr_calls(&f->rec), 1);
}

/*
 * A batch is the same as one report after the other: the same returns,
 * handler calls (grouping across the batch included) and responses, in
 * the same order, by pointer and by ID (an unknown ID: -ENODEV).
 */
#define BATCH_N 40

static void batch_faults(struct iopf_fault *evts, uint32_t *ids)
{
	for (uint32_t i = 0; i < BATCH_N; i++) {
		/* partials of grpid 3, a bad PASID, unrouted PASIDs, lasts */
		uint32_t flags = i % 5 == 4 ? 0 : FX_LAST;
		uint32_t grpid = flags ? i : 3;

		evts[i] = fx_fault(flags, 0, grpid, 0x1000u * i);
		if (i % 7 == 3) {
			evts[i].prm.flags |= FX_PV;
			evts[i].prm.pasid = i % 2 ? 1u << 20 : 9;
		}
		ids[i] = i % 11 == 10 ? 0xdead : ID0;
	}
}

static void run_batch(struct fx *f, bool by_id, bool batched, int *rets,
		      struct iopf_mock_response *resp, size_t *nr_resp,
		      struct fx_call *calls, size_t *nr_calls)
{
	struct iopf_fault evts[BATCH_N];
	uint32_t ids[BATCH_N];

	batch_faults(evts, ids);
	f->rec.mode = FX_RESPOND;
	f->rec.code = SUCCESS;
	if (batched && by_id)
		assert_int_equal(iopf_iommu_report_faults(f->iommu, ids, evts,
							  BATCH_N, rets),
				 0);
	else if (batched)
		assert_int_equal(iopf_report_device_faults(f->dev[0], evts,
							   BATCH_N, rets),
				 0);
	for (size_t i = 0; !batched && i < BATCH_N; i++)
		rets[i] = by_id ? iopf_iommu_report_fault(f->iommu, ids[i],
							  &evts[i]) :
				  iopf_report_device_fault(f->dev[0], &evts[i]);
	*nr_resp = fx_nr_responses(f);
	for (size_t i = 0; i < *nr_resp; i++)
		resp[i] = fx_response_at(f, i);
	*nr_calls = fx_nr_calls(&f->rec);
	for (size_t i = 0; i < *nr_calls; i++)
		calls[i] = fx_call_at(&f->rec, i);
}

static void assert_batch_same(bool by_id)
{
	struct iopf_mock_response resp[2][BATCH_N];
	struct fx_call calls[2][BATCH_N];
	size_t nr_resp[2], nr_calls[2];
	int rets[2][BATCH_N];
	void *state;

	for (int b = 0; b < 2; b++) {
		assert_int_equal(fx_setup_manual(&state), 0);
		run_batch(state, by_id, b, rets[b], resp[b], &nr_resp[b],
			  calls[b], &nr_calls[b]);
		assert_int_equal(fx_teardown(&state), 0);
	}
	assert_memory_equal(rets[0], rets[1], sizeof(rets[0]));
	assert_int_equal(nr_resp[0], nr_resp[1]);
	assert_int_equal(nr_calls[0], nr_calls[1]);
	/* Not a vacuous match: the mix gave every kind of outcome. */
	assert_true(nr_calls[0] > 10 && nr_resp[0] > nr_calls[0]);
	for (size_t i = 0; i < nr_resp[0]; i++) {
		assert_int_equal(resp[0][i].msg.code, resp[1][i].msg.code);
		assert_int_equal(resp[0][i].msg.grpid, resp[1][i].msg.grpid);
		fx_assert_fault_equal(&resp[0][i].evt, &resp[1][i].evt);
	}
	for (size_t i = 0; i < nr_calls[0]; i++)
		assert_int_equal(calls[0][i].fault_count,
				 calls[1][i].fault_count);
	if (by_id)
		assert_int_equal(rets[0][10], -ENODEV);
	assert_int_equal(rets[0][3], -EINVAL); /* PASID 2^20 */
}

static void report_batch_same(void **state)
{
	(void)state;
	assert_batch_same(false);
	assert_batch_same(true);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(report_no_handle, setup_no_attach),
		T(report_bare_attach, setup_no_attach),
		T(report_no_iopf_handler, setup_no_attach),
		T(report_upt_no_nested, fx_setup_upt),
		T(report_not_on_queue, setup_no_queue),
		T(report_partial_queued, fx_setup_manual),
		T(report_partial_nomem, fx_setup_manual),
		T(report_group_nomem, fx_setup_manual),
		T(report_handler_fails, fx_setup_manual),
		T(report_handler_accepts, fx_setup_manual),
		T(report_error_keeps_partials, fx_setup_manual),
		T(report_partial_routed_each, fx_setup_manual),
		T(report_by_id, fx_setup_manual),
		T(report_by_id_races_device_free, fx_setup_manual),
		T(report_batch_args, fx_setup_manual),
		cmocka_unit_test(report_batch_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
