// SPDX-License-Identifier: MIT
/*
 * Bad input returns a clear negative errno and changes nothing (API.md
 * conventions): NULL objects, malformed faults, PASIDs a device cannot
 * have, double add, removal from the wrong queue, bad struct sizes.
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
#define INVALID IOPF_PAGE_RESP_INVALID

/* Nothing happened: no response, no handler call; partials unchanged. */
static void assert_nothing(struct fx *f)
{
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
}

/* The next group of @grpid has @count faults (so no partial was kept). */
static void assert_group_size(struct fx *f, uint32_t grpid, size_t count)
{
	size_t calls = fx_nr_calls(&f->rec);

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, grpid, 0), 0);
	assert_int_equal(fx_call_at(&f->rec, calls).fault_count, count);
}

static void report_null(void **state)
{
	struct fx *f = *state;
	struct iopf_fault evt = fx_fault(FX_LAST, 0, 1, 0);

	assert_int_equal(iopf_report_device_fault(NULL, &evt), -EINVAL);
	assert_int_equal(iopf_report_device_fault(f->dev[0], NULL), -EINVAL);
	assert_int_equal(iopf_report_device_fault(NULL, NULL), -EINVAL);
	assert_nothing(f);
}

static void report_bad_type(void **state)
{
	static const uint32_t types[] = { 0, 2, 3, 0x80000000u, 0xffffffffu };
	struct fx *f = *state;

	for (size_t i = 0; i < 5; i++) {
		struct iopf_fault evt = fx_fault(0, 0, 1, 0);

		evt.type = types[i];
		assert_int_equal(iopf_report_device_fault(f->dev[0], &evt),
				 -EINVAL);
		evt.prm.flags = FX_LAST;
		assert_int_equal(iopf_report_device_fault(f->dev[0], &evt),
				 -EINVAL);
		/* With no handler either: still no response. */
		evt.prm.flags = FX_PV | FX_LAST;
		evt.prm.pasid = 7;
		assert_int_equal(iopf_report_device_fault(f->dev[0], &evt),
				 -EINVAL);
	}
	assert_nothing(f);
	assert_group_size(f, 1, 1);
}

static void report_pasid_too_big(void **state)
{
	static const uint32_t pasids[] = { 1u << IOPF_PASID_BITS,
					   (1u << IOPF_PASID_BITS) + 1,
					   0x7fffffffu, IOPF_PASID_INVALID };
	struct fx *f = *state;

	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(fx_report(f->dev[0], FX_PV, pasids[i], 2, 0),
				 -EINVAL);
		assert_int_equal(
			fx_report(f->dev[0], FX_PV | FX_LAST, pasids[i], 2, 0),
			-EINVAL);
	}
	assert_nothing(f);
	assert_group_size(f, 2, 1);
	/* Without PASID_VALID the pasid field is not looked at. */
	assert_int_equal(
		fx_report(f->dev[0], FX_LAST, IOPF_PASID_INVALID, 3, 0), 0);
	assert_int_equal(fx_call_at(&f->rec, 1).last.prm.pasid,
			 IOPF_PASID_INVALID);
}

static int setup_nopasid(void **state)
{
	struct fx_opts opts = { .max_pasids = 0 };
	struct fx *f;

	fx_setup_opts(state, &opts);
	f = *state;
	/* max_pasids 0 means "use the default" for the fixture: swap it. */
	iopf_device_free(f->dev[0]);
	f->dev[0] = fx_device_new(f->iommu, ID0, 0);
	assert_int_equal(iopf_device_max_pasids(f->dev[0]), 0);
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), 0);
	assert_int_equal(
		iopf_attach_device(f->domain, f->dev[0], &f->handle[0]), 0);
	return 0;
}

static int setup_nopasid_upt(void **state)
{
	struct fx_opts opts = { .user_pasid_table = true, .no_attach = true };
	struct fx *f;
	struct iopf_domain *nested;

	fx_setup_opts(state, &opts);
	f = *state;
	iopf_device_free(f->dev[0]);
	f->dev[0] = fx_device_new(f->iommu, ID0, 0);
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), 0);
	assert_int_equal(fx_domain_new(f, IOPF_DOMAIN_NESTED, &f->rec, &nested),
			 0);
	assert_int_equal(iopf_attach_device(nested, f->dev[0], &f->handle[0]),
			 0);
	return 0;
}

/* A PASID on a device without PASIDs: no handler, INVALID, -EINVAL. */
static void pasid_on_nopasid_device(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;

	assert_int_equal(iopf_attach_device_pasid(f->domain, f->dev[0], 1, &h),
			 -EINVAL);
	assert_int_equal(fx_report(f->dev[0], FX_PV | FX_LAST, 1, 4, 0),
			 -EINVAL);
	assert_int_equal(fx_report(f->dev[0], FX_PV, 1, 4, 0), -EINVAL);
	assert_int_equal(fx_nr_responses(f), 2);
	fx_assert_response(f, 0, ID0, 1, 4, INVALID);
	fx_assert_response(f, 1, ID0, 1, 4, INVALID);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
	/* The RID still works. */
	assert_group_size(f, 4, 1);
}

/* ... unless user_pasid_table routes it to a NESTED RID handle. */
static void pasid_on_nopasid_device_upt(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_report(f->dev[0], FX_PV, 1, 4, 0x1), 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV | FX_LAST, 1, 4, 0x2), 0);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 2);
	assert_ptr_equal(fx_call_at(&f->rec, 0).handle, &f->handle[0]);
}

static void add_device_errors(void **state)
{
	struct fx *f = *state;
	struct iopf_queue *q2, *foreign;
	struct iopf_ctx *other;

	assert_int_equal(iopf_queue_alloc(f->ctx, "q2", NULL, &q2), 0);
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), -EBUSY);
	assert_int_equal(iopf_queue_add_device(q2, f->dev[0]), -EBUSY);
	assert_int_equal(iopf_queue_add_device(NULL, f->dev[0]), -EINVAL);
	assert_int_equal(iopf_queue_add_device(q2, NULL), -EINVAL);
	assert_int_equal(iopf_ctx_new(&other), 0);
	assert_int_equal(iopf_queue_alloc(other, "f", NULL, &foreign), 0);
	assert_int_equal(iopf_queue_add_device(foreign, f->dev[0]), -EINVAL);
	iopf_ctx_free(other);
	/* Nothing changed: still on f->queue (manual), routed there. */
	f->rec.mode = FX_WORK;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	assert_int_equal(iopf_queue_pending(q2), 0);
	assert_int_equal(iopf_queue_run(f->queue, 1), 1);
	assert_int_equal(fx_nr_responses(f), 1);
	/* Removal from the wrong queue changes nothing either. */
	iopf_queue_remove_device(q2, f->dev[0]);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
	assert_int_equal(iopf_queue_add_device(q2, f->dev[0]), -EBUSY);
	iopf_queue_free(q2);
}

static void struct_sizes(void **state)
{
	struct fx *f = *state;
	struct iopf_device_attr attr = { .size = sizeof(attr), .id = 9 };
	struct iopf_iommu_ops ops = { .size = sizeof(ops) };
	struct iopf_device *dev = (struct iopf_device *)&attr, *keepd = dev;
	struct iopf_iommu *iommu = (struct iopf_iommu *)&ops, *keepi = iommu;
	static const size_t dev_sizes[] = { 0, 1, sizeof(attr) - 1,
					    sizeof(attr) + 1, 4096 };
	static const size_t ops_sizes[] = { 0, sizeof(size_t), sizeof(ops) + 8,
					    4096 };

	for (size_t i = 0; i < 5; i++) {
		attr.size = dev_sizes[i];
		assert_int_equal(iopf_device_new(f->iommu, &attr, &dev),
				 -EINVAL);
	}
	assert_ptr_equal(dev, keepd);
	assert_null(iopf_device_find(f->iommu, 9));
	for (size_t i = 0; i < 4; i++) {
		ops.size = ops_sizes[i];
		assert_int_equal(
			iopf_iommu_new(f->ctx, "x", &ops, NULL, &iommu),
			-EINVAL);
	}
	assert_ptr_equal(iommu, keepi);
}

static void device_new_errors(void **state)
{
	struct fx *f = *state;
	struct iopf_device_attr attr = { .size = sizeof(attr), .id = ID0 };
	struct iopf_device *dev = NULL, *found;
	struct iopf_mock *m2;

	assert_int_equal(iopf_device_new(f->iommu, &attr, &dev), -EEXIST);
	assert_null(dev);
	/* The first one is untouched. */
	found = iopf_device_find(f->iommu, ID0);
	assert_ptr_equal(found, f->dev[0]);
	iopf_device_put(found);
	/* The same ID on another IOMMU is another device. */
	assert_int_equal(iopf_mock_new(f->ctx, "m2", false, &m2), 0);
	assert_int_equal(iopf_device_new(iopf_mock_iommu(m2), &attr, &dev), 0);
	assert_ptr_not_equal(dev, f->dev[0]);
	dev = NULL;
	attr.id = 0x999;
	attr.max_pasids = (1u << IOPF_PASID_BITS) + 1;
	assert_int_equal(iopf_device_new(f->iommu, &attr, &dev), -EINVAL);
	attr.max_pasids = 0xffffffffu;
	assert_int_equal(iopf_device_new(f->iommu, &attr, &dev), -EINVAL);
	assert_null(dev);
	assert_null(iopf_device_find(f->iommu, 0x999));
	attr.max_pasids = 1u << IOPF_PASID_BITS;
	assert_int_equal(iopf_device_new(f->iommu, &attr, &dev), 0);
	assert_int_equal(iopf_device_max_pasids(dev), 1u << IOPF_PASID_BITS);
	assert_int_equal(iopf_device_new(NULL, &attr, &dev), -EINVAL);
	assert_int_equal(iopf_device_new(f->iommu, NULL, &dev), -EINVAL);
	attr.id = 0x99a;
	assert_int_equal(iopf_device_new(f->iommu, &attr, NULL), -EINVAL);
	assert_null(iopf_device_find(f->iommu, 0x99a));
	iopf_mock_free(m2);
}

static void domain_errors(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *d = NULL, *foreign;
	struct iopf_ctx *other;
	struct iopf_attach_handle h;

	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_ANY, fx_handler, NULL, &d),
		-EINVAL);
	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_SVA + 1, NULL, NULL, &d),
		-EINVAL);
	assert_int_equal(iopf_domain_new(f->ctx, (enum iopf_domain_type) - 1,
					 NULL, NULL, &d),
			 -EINVAL);
	assert_int_equal(
		iopf_domain_new(NULL, IOPF_DOMAIN_PAGING, NULL, NULL, &d),
		-EINVAL);
	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL, NULL),
		-EINVAL);
	assert_null(d);
	/* A domain of another context cannot be attached here. */
	assert_int_equal(iopf_ctx_new(&other), 0);
	assert_int_equal(iopf_domain_new(other, IOPF_DOMAIN_PAGING, fx_handler,
					 &f->rec, &foreign),
			 0);
	assert_int_equal(iopf_attach_device_pasid(foreign, f->dev[0], 1, &h),
			 -EINVAL);
	assert_int_equal(iopf_replace_device(foreign, f->dev[0], &h), -EINVAL);
	iopf_detach_device(foreign, f->dev[0]);
	iopf_ctx_free(other);
	/* The RID attachment is still there. */
	assert_group_size(f, 1, 1);
}

/* Every free takes NULL; every accessor survives it. */
static void null_objects(void **state)
{
	(void)state;
	iopf_ctx_free(NULL);
	iopf_iommu_free(NULL);
	iopf_device_free(NULL);
	iopf_device_put(NULL);
	assert_int_equal(iopf_domain_free(NULL), 0);
	iopf_queue_free(NULL);
	iopf_mock_free(NULL);
	iopf_free_group(NULL);
	iopf_group_response(NULL, INVALID);
	assert_int_equal(iopf_ctx_new(NULL), -EINVAL);
	assert_null(iopf_iommu_drvdata(NULL));
	assert_null(iopf_iommu_name(NULL));
	assert_null(iopf_iommu_ctx(NULL));
	assert_null(iopf_device_find(NULL, 1));
	assert_int_equal(iopf_device_id(NULL), 0);
	assert_null(iopf_device_drvdata(NULL));
	assert_null(iopf_device_name(NULL));
	assert_int_equal(iopf_device_max_pasids(NULL), 0);
	assert_null(iopf_device_iommu(NULL));
	assert_null(iopf_domain_priv(NULL));
	assert_int_equal(iopf_domain_type(NULL), IOPF_DOMAIN_ANY);
	assert_int_equal(iopf_queue_flush_dev(NULL), -EINVAL);
	assert_int_equal(iopf_queue_discard_partial(NULL), -EINVAL);
	assert_int_equal(iopf_queue_work(NULL, NULL), -EINVAL);
	assert_int_equal(iopf_queue_run(NULL, 1), 0);
	iopf_queue_remove_device(NULL, NULL);
	assert_int_equal(iopf_queue_add_device(NULL, NULL), -EINVAL);
	assert_int_equal(iopf_iommu_set_queue(NULL, NULL), -EINVAL);
	assert_int_equal(iopf_attach_device(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(iopf_attach_device_pasid(NULL, NULL, 1, NULL),
			 -EINVAL);
	assert_int_equal(iopf_replace_device(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(iopf_replace_device_pasid(NULL, NULL, 1, NULL),
			 -EINVAL);
	iopf_detach_device(NULL, NULL);
	iopf_detach_device_pasid(NULL, NULL, 1);
	assert_int_equal(iopf_attach_handle_get(NULL, 0, IOPF_DOMAIN_ANY, NULL),
			 -EINVAL);
	assert_int_equal(iopf_iommu_new(NULL, "x", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(iopf_device_new(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(iopf_queue_alloc(NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(
		iopf_domain_new(NULL, IOPF_DOMAIN_PAGING, NULL, NULL, NULL),
		-EINVAL);
}

/* A NULL handle on a replace, and the handle check before anything. */
static void replace_null_handle(void **state)
{
	struct fx *f = *state;

	assert_int_equal(iopf_replace_device(f->domain, f->dev[0], NULL),
			 -EINVAL);
	assert_int_equal(
		iopf_replace_device_pasid(f->domain, f->dev[0], 1, NULL),
		-EINVAL);
	assert_group_size(f, 1, 1);
	assert_ptr_equal(fx_call_at(&f->rec, 0).handle, &f->handle[0]);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(report_null, fx_setup_manual),
		T(report_bad_type, fx_setup_manual),
		T(report_pasid_too_big, fx_setup_manual),
		T(pasid_on_nopasid_device, setup_nopasid),
		T(pasid_on_nopasid_device_upt, setup_nopasid_upt),
		T(add_device_errors, fx_setup_manual),
		T(struct_sizes, fx_setup_manual),
		T(device_new_errors, fx_setup_manual),
		T(domain_errors, fx_setup_manual),
		cmocka_unit_test(null_objects),
		T(replace_null_handle, fx_setup_manual),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
