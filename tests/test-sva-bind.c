// SPDX-License-Identifier: MIT
/*
 * Bind and unbind: errors, double bind with a use count, several devices
 * sharing one mm, the teardown order at unbind (remove_dev_pasid while the
 * routing entry is still there, queued work run before unbind returns),
 * and what iopf_ctx_free() and iopf_device_free() leave to clean up.
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

#define PG    IOPF_MM_PAGE_SIZE
#define RWX   (IOPF_PROT_READ | IOPF_PROT_WRITE | IOPF_PROT_EXEC)
#define VALID IOPF_FAULT_PAGE_REQUEST_PASID_VALID
#define LAST  IOPF_FAULT_PAGE_REQUEST_LAST_PAGE

/* A backend that records responses and what remove_dev_pasid saw. */
struct backend {
	struct iopf_iommu *iommu;
	unsigned int responses;
	uint32_t last_code;
	unsigned int set_calls;
	unsigned int remove_calls;
	uint32_t removed_pasid;
	int handle_at_remove; /* iopf_attach_handle_get() inside remove */
	unsigned int responses_at_remove;
};

struct fixture {
	struct iopf_ctx *ctx;
	struct backend be;
	struct iopf_queue *queue; /* manual mode */
	struct iopf_device *dev; /* max_pasids 2^20 */
	struct iopf_device *dev2; /* max_pasids 2^20 */
	struct iopf_mm *mm;
};

static void be_page_response(struct iopf_device *dev,
			     const struct iopf_fault *evt,
			     const struct iopf_page_response *msg)
{
	struct backend *be = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)evt;
	be->responses++;
	be->last_code = msg->code;
}

static int be_set_dev_pasid(struct iopf_device *dev, uint32_t pasid,
			    struct iopf_domain *domain)
{
	struct backend *be = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)pasid;
	(void)domain;
	be->set_calls++;
	return 0;
}

static void be_remove_dev_pasid(struct iopf_device *dev, uint32_t pasid,
				struct iopf_domain *domain)
{
	struct backend *be = iopf_iommu_drvdata(iopf_device_iommu(dev));
	struct iopf_attach_handle *h;

	/* no cmocka assertion here: it would leave the core's lock held */
	if (iopf_domain_type(domain) != IOPF_DOMAIN_SVA)
		return;
	be->remove_calls++;
	be->removed_pasid = pasid;
	be->handle_at_remove =
		iopf_attach_handle_get(dev, pasid, IOPF_DOMAIN_SVA, &h);
	be->responses_at_remove = be->responses;
}

static struct iopf_device *new_dev(struct fixture *f, uint32_t id, uint32_t max)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = id,
		.max_pasids = max,
	};
	struct iopf_device *dev;

	assert_int_equal(iopf_device_new(f->be.iommu, &attr, &dev), 0);
	return dev;
}

static int setup(void **state)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = be_page_response,
		.set_dev_pasid = be_set_dev_pasid,
		.remove_dev_pasid = be_remove_dev_pasid,
	};
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 0 };
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	assert_int_equal(
		iopf_iommu_new(f->ctx, "be", &ops, &f->be, &f->be.iommu), 0);
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &qattr, &f->queue), 0);
	assert_int_equal(iopf_iommu_set_queue(f->be.iommu, f->queue), 0);
	f->dev = new_dev(f, 1, 1u << 20);
	f->dev2 = new_dev(f, 2, 1u << 20);
	assert_int_equal(iopf_mm_new(f->ctx, &f->mm), 0);
	assert_int_equal(iopf_mm_map(f->mm, 0x10000, 16 * PG, RWX), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iopf_ctx_free(f->ctx);
	free(f);
	return 0;
}

static int report(struct iopf_device *dev, uint32_t pasid, uint64_t addr)
{
	struct iopf_fault evt = {
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = { .flags = VALID | LAST,
			 .pasid = pasid,
			 .grpid = 1,
			 .perm = IOPF_FAULT_PERM_READ,
			 .addr = addr },
	};

	return iopf_report_device_fault(dev, &evt);
}

static void test_bind_errors(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *sva = (struct iopf_sva *)0x1, *s2 = NULL;
	struct iopf_device *nopasid = new_dev(f, 3, 0),
			   *tiny = new_dev(f, 4, 4);
	struct iopf_ctx *ctx2;
	struct iopf_mm *other;

	assert_int_equal(iopf_sva_bind_device(NULL, f->mm, &sva), -EINVAL);
	assert_int_equal(iopf_sva_bind_device(f->dev, NULL, &sva), -EINVAL);
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, NULL), -EINVAL);
	assert_int_equal(iopf_sva_bind_device(nopasid, f->mm, &sva), -EINVAL);
	assert_ptr_equal(sva, (struct iopf_sva *)0x1);
	assert_int_equal(iopf_mm_pasid(f->mm), IOPF_PASID_INVALID);
	/* an mm of another context */
	assert_int_equal(iopf_ctx_new(&ctx2), 0);
	assert_int_equal(iopf_mm_new(ctx2, &other), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, other, &sva), -EINVAL);
	iopf_ctx_free(ctx2);
	/* the mm's PASID is 5, not below the tiny device's max_pasids */
	for (uint32_t i = 1; i <= 4; i++) {
		uint32_t p;

		assert_int_equal(iopf_alloc_global_pasid(f->dev, &p), 0);
		assert_int_equal(p, i);
	}
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &sva), 0);
	assert_int_equal(iopf_sva_get_pasid(sva), 5);
	assert_int_equal(iopf_sva_bind_device(tiny, f->mm, &s2), -EINVAL);
	assert_null(s2);
	iopf_sva_unbind_device(sva);
	assert_int_equal(iopf_sva_get_pasid(NULL), IOPF_PASID_INVALID);
	iopf_sva_unbind_device(NULL);
}

static void test_bind_exited(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *sva, *s2 = NULL;
	struct iopf_mm *mm2;

	/* a bind keeps the mm; after the owner's put a new bind is refused */
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &sva), 0);
	iopf_mm_put(f->mm);
	assert_int_equal(iopf_sva_bind_device(f->dev2, f->mm, &s2), -EINVAL);
	assert_null(s2);
	/* a re-bind of the same pair is refused too */
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &s2), -EINVAL);
	iopf_sva_unbind_device(sva);
	f->mm = NULL;
	/* the PASID came back with the release */
	assert_int_equal(iopf_mm_new(f->ctx, &mm2), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, mm2, &sva), 0);
	assert_int_equal(iopf_sva_get_pasid(sva), 1);
}

static void test_double_bind(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *a, *b;
	struct iopf_attach_handle *h;
	uint32_t pasid;

	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &a), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &b), 0);
	assert_ptr_equal(a, b);
	pasid = iopf_sva_get_pasid(a);
	assert_int_equal(f->be.set_calls, 1);
	assert_int_equal(
		iopf_attach_handle_get(f->dev, pasid, IOPF_DOMAIN_SVA, &h), 0);
	/* the SVA domain belongs to the SVA layer */
	assert_int_equal(iopf_domain_free(h->domain), -EBUSY);
	/* one unbind: still bound, faults still handled */
	iopf_sva_unbind_device(b);
	assert_int_equal(f->be.remove_calls, 0);
	assert_int_equal(report(f->dev, pasid, 0x10000), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(f->be.last_code, IOPF_PAGE_RESP_SUCCESS);
	assert_true(iopf_mm_page_present(f->mm, 0x10000));
	/* the second: detached */
	iopf_sva_unbind_device(a);
	assert_int_equal(f->be.remove_calls, 1);
	assert_int_equal(f->be.removed_pasid, pasid);
	assert_int_equal(
		iopf_attach_handle_get(f->dev, pasid, IOPF_DOMAIN_ANY, &h),
		-ENOENT);
	assert_int_equal(report(f->dev, pasid, 0x11000), -EINVAL);
	assert_int_equal(f->be.responses, 2);
	assert_int_equal(f->be.last_code, IOPF_PAGE_RESP_INVALID);
	assert_false(iopf_mm_page_present(f->mm, 0x11000));
	/* bound again: same PASID, a new handle */
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &a), 0);
	assert_int_equal(iopf_sva_get_pasid(a), pasid);
}

static void test_two_devices(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *a, *b;
	struct iopf_attach_handle *ha, *hb;
	uint32_t pasid;

	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &a), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev2, f->mm, &b), 0);
	assert_ptr_not_equal(a, b);
	pasid = iopf_sva_get_pasid(a);
	assert_int_equal(iopf_sva_get_pasid(b), pasid);
	assert_int_equal(
		iopf_attach_handle_get(f->dev, pasid, IOPF_DOMAIN_SVA, &ha), 0);
	assert_int_equal(
		iopf_attach_handle_get(f->dev2, pasid, IOPF_DOMAIN_SVA, &hb),
		0);
	assert_ptr_not_equal(ha, hb);
	assert_ptr_equal(ha->domain, hb->domain); /* one SVA domain per mm */
	iopf_sva_unbind_device(a);
	/* the other device still resolves faults against the mm */
	assert_int_equal(report(f->dev2, pasid, 0x12000), 0);
	iopf_queue_run(f->queue, SIZE_MAX);
	assert_int_equal(f->be.last_code, IOPF_PAGE_RESP_SUCCESS);
	assert_true(iopf_mm_page_present(f->mm, 0x12000));
	assert_int_equal(report(f->dev, pasid, 0x13000), -EINVAL);
	iopf_sva_unbind_device(b);
}

/* Unbind: remove_dev_pasid first, with the entry still routed; work done. */
static void test_unbind_order(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *sva;
	uint32_t pasid;

	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &sva), 0);
	pasid = iopf_sva_get_pasid(sva);
	/* queued, not run: unbind must run it before returning */
	assert_int_equal(report(f->dev, pasid, 0x14000), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	assert_int_equal(f->be.responses, 0);
	iopf_sva_unbind_device(sva);
	assert_int_equal(f->be.remove_calls, 1);
	assert_int_equal(f->be.handle_at_remove, 0);
	assert_int_equal(f->be.responses_at_remove, 0);
	assert_int_equal(f->be.responses, 1);
	assert_int_equal(f->be.last_code, IOPF_PAGE_RESP_SUCCESS);
	assert_true(iopf_mm_page_present(f->mm, 0x14000));
	assert_int_equal(iopf_queue_pending(f->queue), 0);
}

/* The PASID taken on the device by someone else: -EBUSY, nothing left. */
static void test_pasid_busy(void **state)
{
	struct fixture *f = *state;
	struct iopf_domain *paging;
	struct iopf_sva *sva = NULL;

	assert_int_equal(iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL,
					 &paging),
			 0);
	assert_int_equal(iopf_attach_device_pasid(paging, f->dev, 1, NULL), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &sva), -EBUSY);
	assert_null(sva);
	/* the other device can still bind the mm at that PASID */
	assert_int_equal(iopf_sva_bind_device(f->dev2, f->mm, &sva), 0);
	assert_int_equal(iopf_sva_get_pasid(sva), 1);
	iopf_sva_unbind_device(sva);
	iopf_detach_device_pasid(paging, f->dev, 1);
	assert_int_equal(iopf_domain_free(paging), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &sva), 0);
	iopf_sva_unbind_device(sva);
}

/* The device goes first; the bind's unbind still works. */
static void test_device_freed_while_bound(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *sva;

	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &sva), 0);
	iopf_device_free(f->dev);
	f->dev = NULL;
	assert_int_equal(f->be.remove_calls, 1);
	iopf_sva_unbind_device(sva);
	assert_int_equal(f->be.remove_calls, 1);
}

/* Binds, domains and mms left to iopf_ctx_free() (ASan checks leaks). */
static void test_ctx_free_cleans_up(void **state)
{
	struct fixture *f = *state;
	struct iopf_sva *a, *b, *c;
	struct iopf_mm *mm2;

	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &a), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, f->mm, &a), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev2, f->mm, &b), 0);
	assert_int_equal(iopf_mm_new(f->ctx, &mm2), 0);
	assert_int_equal(iopf_sva_bind_device(f->dev, mm2, &c), 0);
	iopf_mm_put(mm2);
	/* one fault left queued: answered before the context goes */
	assert_int_equal(report(f->dev, iopf_sva_get_pasid(a), 0x10000), 0);
	iopf_ctx_free(f->ctx);
	assert_int_equal(f->be.responses, 1);
	assert_int_equal(f->be.remove_calls, 3);
	f->ctx = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bind_exited, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_double_bind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_devices, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unbind_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pasid_busy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_device_freed_while_bound,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_free_cleans_up, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
