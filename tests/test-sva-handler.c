// SPDX-License-Identifier: MIT
/*
 * The SVA fault handler, run in a manual-mode queue so every step is
 * deterministic: the permission matrix, sticky errors in multi-fault
 * groups, exited mm, unmap/refault, the no-PASID case and ATS translate.
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
#include <iopf/sva.h>

#include "sva/mm.h"

#define PG	   IOPF_MM_PAGE_SIZE
#define RWX	   (IOPF_PROT_READ | IOPF_PROT_WRITE | IOPF_PROT_EXEC)
#define R	   IOPF_FAULT_PERM_READ
#define W	   IOPF_FAULT_PERM_WRITE
#define X	   IOPF_FAULT_PERM_EXEC
#define PRIV	   IOPF_FAULT_PERM_PRIV
#define VALID	   IOPF_FAULT_PAGE_REQUEST_PASID_VALID
#define LAST	   IOPF_FAULT_PAGE_REQUEST_LAST_PAGE
#define MAX_EVENTS 512

struct fixture {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_queue *queue;
	struct iopf_device *dev;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	uint32_t pasid;
	size_t nr_events;
	struct iopf_trace_event events[MAX_EVENTS];
};

/* Manual mode: the sink runs in the test's thread only. */
static void sink(const struct iopf_trace_event *ev, void *priv)
{
	struct fixture *f = priv;

	if (ev->type == IOPF_TRACE_MM_FAULT && f->nr_events < MAX_EVENTS)
		f->events[f->nr_events++] = *ev;
}

static int setup(void **state)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 0 };
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = 0x10,
		.max_pasids = 1u << 20,
	};
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	assert_int_equal(iopf_trace_set_sink(f->ctx, sink, f), 0);
	assert_int_equal(iopf_mock_new(f->ctx, "mock", false, &f->mock), 0);
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &qattr, &f->queue), 0);
	assert_int_equal(
		iopf_iommu_set_queue(iopf_mock_iommu(f->mock), f->queue), 0);
	assert_int_equal(
		iopf_device_new(iopf_mock_iommu(f->mock), &dattr, &f->dev), 0);
	assert_int_equal(iopf_mm_new(f->ctx, &f->mm), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &f->sva), 0);
	f->pasid = iopf_sva_get_pasid(f->sva);
	assert_int_equal(f->pasid, 1);
	assert_int_equal(iopf_mm_pasid(f->mm), 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* binds and the mm (if not put) go with the context */
	iopf_ctx_free(f->ctx);
	free(f);
	return 0;
}

static int report(struct fixture *f, uint32_t flags, uint32_t grpid,
		  uint64_t addr, uint32_t perm)
{
	struct iopf_fault evt = {
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = { .flags = flags,
			 .pasid = f->pasid,
			 .grpid = grpid,
			 .perm = perm,
			 .addr = addr },
	};

	return iopf_report_device_fault(f->dev, &evt);
}

/* Report a one-fault group, run the queue, return the response code. */
static uint32_t fault1(struct fixture *f, uint32_t grpid, uint64_t addr,
		       uint32_t perm)
{
	size_t n = iopf_mock_response_count(f->mock);
	struct iopf_mock_response r;

	assert_int_equal(report(f, VALID | LAST, grpid, addr, perm), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(iopf_mock_response_count(f->mock), n + 1);
	assert_int_equal(iopf_mock_response_at(f->mock, n, &r), 0);
	assert_int_equal(r.msg.grpid, grpid);
	assert_int_equal(r.msg.pasid, f->pasid);
	return r.msg.code;
}

static void test_deferred_to_queue(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, PG, RWX), 0);
	assert_int_equal(report(f, VALID | LAST, 1, 0x10000, R), 0);
	/* the handler only queued the work */
	assert_int_equal(iopf_mock_response_count(f->mock), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	assert_false(iopf_mm_page_present(f->mm, 0x10000));
	assert_int_equal(iopf_queue_run(f->queue, SIZE_MAX), 1);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_true(iopf_mm_page_present(f->mm, 0x10000));
	assert_int_equal(f->nr_events, 1);
	assert_int_equal(f->events[0].addr, 0x10000);
	assert_int_equal(f->events[0].pasid, f->pasid);
	assert_int_equal(f->events[0].code, IOPF_PAGE_RESP_SUCCESS);
	assert_int_equal(f->events[0].from, IOPF_LAYER_HANDLER);
	assert_int_equal(f->events[0].to, IOPF_LAYER_USER);
	assert_string_equal(f->events[0].name, "sva");
}

/* Every R/W/X/PRIV request against every protection. */
static void test_permission_matrix(void **state)
{
	struct fixture *f = *state;
	uint32_t grpid = 0;

	for (unsigned int prot = 0; prot < 8; prot++)
		assert_int_equal(iopf_mm_map(f->mm, 0x100000 * (prot + 1),
					     16 * PG, prot),
				 0);
	for (unsigned int prot = 0; prot < 8; prot++) {
		for (uint32_t perm = 0; perm < 16; perm++) {
			uint64_t addr =
				0x100000 * (prot + 1) + perm * PG + 0x123;
			unsigned int want = 0;
			bool ok;

			if (perm & R)
				want |= IOPF_PROT_READ;
			if (perm & W)
				want |= IOPF_PROT_WRITE;
			if (perm & X)
				want |= IOPF_PROT_EXEC;
			/* PRIV changes nothing; no R/W/X bit passes the check */
			ok = !(want & ~prot);
			assert_int_equal(fault1(f, grpid++ % 512, addr, perm),
					 ok ? IOPF_PAGE_RESP_SUCCESS :
					      IOPF_PAGE_RESP_INVALID);
			assert_int_equal(iopf_mm_page_present(f->mm, addr), ok);
			assert_int_equal(
				iopf_device_translate(f->dev, f->pasid, addr,
						      perm & (R | W | X)),
				ok ? 0 : -EFAULT);
		}
	}
	assert_int_equal(f->nr_events, 128);
	for (size_t i = 0; i < f->nr_events; i++)
		assert_int_equal(f->events[i].ret,
				 f->events[i].code == IOPF_PAGE_RESP_SUCCESS ?
					 0 :
					 -EACCES);
}

static void test_group_failure_in_middle(void **state)
{
	struct fixture *f = *state;
	struct iopf_mock_response r;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, 4 * PG, IOPF_PROT_READ),
			 0);
	/* A ok, B not mapped, C ok: C is never handled */
	assert_int_equal(report(f, VALID, 7, 0x10000, R), 0);
	assert_int_equal(report(f, VALID, 7, 0x90000, R), 0);
	assert_int_equal(report(f, VALID | LAST, 7, 0x11000, R), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_int_equal(iopf_mock_response_at(f->mock, 0, &r), 0);
	assert_int_equal(r.msg.code, IOPF_PAGE_RESP_INVALID);
	assert_int_equal(r.msg.grpid, 7);
	assert_int_equal(r.evt.prm.addr, 0x11000);
	assert_true(iopf_mm_page_present(f->mm, 0x10000));
	assert_false(iopf_mm_page_present(f->mm, 0x11000));
	assert_int_equal(f->nr_events, 2);
	assert_int_equal(f->events[0].addr, 0x10000);
	assert_int_equal(f->events[0].code, IOPF_PAGE_RESP_SUCCESS);
	assert_int_equal(f->events[1].addr, 0x90000);
	assert_int_equal(f->events[1].code, IOPF_PAGE_RESP_INVALID);
	assert_int_equal(f->events[1].ret, -EFAULT);

	/* a permission failure in the middle stops the group the same way */
	assert_int_equal(report(f, VALID, 8, 0x12000, R), 0);
	assert_int_equal(report(f, VALID, 8, 0x12000, W), 0);
	assert_int_equal(report(f, VALID, 8, 0x13000, R), 0);
	assert_int_equal(report(f, VALID | LAST, 8, 0x13000, R), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(iopf_mock_response_at(f->mock, 1, &r), 0);
	assert_int_equal(r.msg.code, IOPF_PAGE_RESP_INVALID);
	assert_true(iopf_mm_page_present(f->mm, 0x12000));
	assert_false(iopf_mm_page_present(f->mm, 0x13000));
	assert_int_equal(f->nr_events, 4);

	/* the first fault failing: nothing else is handled */
	assert_int_equal(report(f, VALID, 9, 0x90000, R), 0);
	assert_int_equal(report(f, VALID | LAST, 9, 0x13000, R), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(iopf_mock_response_at(f->mock, 2, &r), 0);
	assert_int_equal(r.msg.code, IOPF_PAGE_RESP_INVALID);
	assert_false(iopf_mm_page_present(f->mm, 0x13000));
	assert_int_equal(f->nr_events, 5);
}

static void test_group_all_ok(void **state)
{
	struct fixture *f = *state;
	struct iopf_mock_response r;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, 4 * PG, RWX), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(report(f, VALID, 3, 0x10000 + i * PG, W), 0);
	assert_int_equal(report(f, VALID | LAST, 3, 0x13000, X | PRIV), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(iopf_mock_response_at(f->mock, 0, &r), 0);
	assert_int_equal(r.msg.code, IOPF_PAGE_RESP_SUCCESS);
	assert_int_equal(iopf_mm_resident_pages(f->mm), 4);
	/* handled in arrival order */
	assert_int_equal(f->nr_events, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(f->events[i].addr, 0x10000 + i * PG);
}

static void test_exited_mm(void **state)
{
	struct fixture *f = *state;
	uint32_t pasid = f->pasid, p2;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, PG, RWX), 0);
	assert_int_equal(fault1(f, 1, 0x10000, R), IOPF_PAGE_RESP_SUCCESS);
	/* the process exits; the bind keeps the mm and its PASID */
	iopf_mm_put(f->mm);
	f->mm = NULL;
	assert_int_equal(fault1(f, 2, 0x10000, R), IOPF_PAGE_RESP_INVALID);
	assert_int_equal(f->events[f->nr_events - 1].ret, -ESRCH);
	assert_int_equal(iopf_device_translate(f->dev, pasid, 0x10000, R),
			 -EFAULT);
	/* the PASID is still taken until the last unbind releases the mm */
	assert_int_equal(iopf_alloc_global_pasid(f->dev, &p2), 0);
	assert_int_not_equal(p2, pasid);
	iopf_free_global_pasid(f->ctx, p2);
	iopf_sva_unbind_device(f->sva);
	f->sva = NULL;
	assert_int_equal(iopf_alloc_global_pasid(f->dev, &p2), 0);
	assert_int_equal(p2, pasid);
	iopf_free_global_pasid(f->ctx, p2);
}

static void test_unmap_refaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(iopf_mm_map(f->mm, 0x200000, 8 * PG,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	assert_int_equal(iopf_device_translate(f->dev, f->pasid, 0x203000, W),
			 -EFAULT);
	assert_int_equal(fault1(f, 1, 0x203000, W), IOPF_PAGE_RESP_SUCCESS);
	assert_int_equal(iopf_device_translate(f->dev, f->pasid, 0x203000, W),
			 0);
	assert_int_equal(iopf_device_translate(f->dev, f->pasid, 0x203000, X),
			 -EFAULT);
	assert_int_equal(iopf_device_translate(f->dev, f->pasid, 0x204000, R),
			 -EFAULT);
	assert_int_equal(iopf_mm_unmap(f->mm, 0x202000, 2 * PG), 0);
	assert_false(iopf_mm_page_present(f->mm, 0x203000));
	assert_int_equal(iopf_device_translate(f->dev, f->pasid, 0x203000, W),
			 -EFAULT);
	/* no mapping any more: the fault fails */
	assert_int_equal(fault1(f, 2, 0x203000, W), IOPF_PAGE_RESP_INVALID);
	/* mapped again: it faults in again */
	assert_int_equal(iopf_mm_map(f->mm, 0x202000, 2 * PG, IOPF_PROT_WRITE),
			 0);
	assert_int_equal(fault1(f, 3, 0x203000, W), IOPF_PAGE_RESP_SUCCESS);
	assert_true(iopf_mm_page_present(f->mm, 0x203000));
	/* a PASID nothing is attached to */
	assert_int_equal(
		iopf_device_translate(f->dev, f->pasid + 1, 0x203000, W),
		-ENOENT);
}

/*
 * A fault without PASID_VALID never routes to a PASID; attach the SVA
 * domain at the RID by hand to reach the handler's own check.
 */
static void test_no_pasid(void **state)
{
	struct fixture *f = *state;
	struct iopf_attach_handle rid_handle = { 0 };
	struct iopf_mock_response r;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, PG, RWX), 0);
	assert_int_equal(iopf_attach_device(f->mm->domain, f->dev, &rid_handle),
			 0);
	assert_int_equal(report(f, LAST, 4, 0x10000, R), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(iopf_mock_response_at(f->mock, 0, &r), 0);
	assert_int_equal(r.msg.code, IOPF_PAGE_RESP_INVALID);
	assert_false(iopf_mm_page_present(f->mm, 0x10000));
	assert_int_equal(f->nr_events, 1);
	assert_int_equal(f->events[0].pasid, IOPF_PASID_INVALID);
	assert_int_equal(f->events[0].ret, -EINVAL);
	iopf_detach_device(f->mm->domain, f->dev);
}

/* After unbind, the PASID has no handler: the core answers INVALID. */
static void test_after_unbind(void **state)
{
	struct fixture *f = *state;
	struct iopf_mock_response r;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, PG, RWX), 0);
	iopf_sva_unbind_device(f->sva);
	f->sva = NULL;
	assert_int_equal(report(f, VALID | LAST, 5, 0x10000, R), -EINVAL);
	assert_int_equal(iopf_queue_pending(f->queue), 0);
	assert_int_equal(iopf_mock_response_at(f->mock, 0, &r), 0);
	assert_int_equal(r.msg.code, IOPF_PAGE_RESP_INVALID);
	assert_false(iopf_mm_page_present(f->mm, 0x10000));
	assert_int_equal(f->nr_events, 0);
	/* the mm keeps its PASID until it is released */
	assert_int_equal(iopf_mm_pasid(f->mm), f->pasid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deferred_to_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_permission_matrix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_group_failure_in_middle,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_all_ok, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exited_mm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unmap_refaults, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_pasid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_after_unbind, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
