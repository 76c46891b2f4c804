// SPDX-License-Identifier: MIT
/*
 * Attach, replace and detach (API.md §3, the kernel's iommu.c rules) and
 * IOPF enabling on attach of a fault-capable domain (API.md §4, kernel
 * >= 6.16), against a backend whose ops count their calls.
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

#define NR_PASIDS 64
#define SUCCESS	  IOPF_PAGE_RESP_SUCCESS
#define INVALID	  IOPF_PAGE_RESP_INVALID

struct backend {
	int set_calls, remove_calls;
	uint32_t set_pasid, remove_pasid;
	struct iopf_domain *set_domain, *remove_domain;
	int set_fail;
	size_t nr_resp;
	struct iopf_page_response resp[64];
};

struct ef {
	struct iopf_ctx *ctx;
	struct backend be;
	struct iopf_iommu *iommu;
	struct iopf_queue *queue;
	struct iopf_device *dev;
	struct fx_rec rec;
	struct iopf_domain *a, *b; /* fault-capable PAGING */
	struct iopf_domain *plain; /* no handler */
};

static void be_page_response(struct iopf_device *dev,
			     const struct iopf_fault *evt,
			     const struct iopf_page_response *msg)
{
	struct backend *be = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)evt;
	if (be->nr_resp < 64)
		be->resp[be->nr_resp] = *msg;
	be->nr_resp++;
}

static int be_set_dev_pasid(struct iopf_device *dev, uint32_t pasid,
			    struct iopf_domain *domain)
{
	struct backend *be = iopf_iommu_drvdata(iopf_device_iommu(dev));

	if (be->set_fail)
		return be->set_fail;
	be->set_calls++;
	be->set_pasid = pasid;
	be->set_domain = domain;
	return 0;
}

static void be_remove_dev_pasid(struct iopf_device *dev, uint32_t pasid,
				struct iopf_domain *domain)
{
	struct backend *be = iopf_iommu_drvdata(iopf_device_iommu(dev));

	be->remove_calls++;
	be->remove_pasid = pasid;
	be->remove_domain = domain;
}

static int ef_setup(void **state)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = be_page_response,
		.set_dev_pasid = be_set_dev_pasid,
		.remove_dev_pasid = be_remove_dev_pasid,
	};
	struct iopf_queue_attr qattr = { .size = sizeof(qattr) };
	struct ef *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	fx_rec_init(&e->rec);
	assert_int_equal(iopf_ctx_new(&e->ctx), 0);
	assert_int_equal(iopf_iommu_new(e->ctx, "be", &ops, &e->be, &e->iommu),
			 0);
	assert_int_equal(iopf_queue_alloc(e->ctx, "q", &qattr, &e->queue), 0);
	e->dev = fx_device_new(e->iommu, 1, NR_PASIDS);
	assert_int_equal(iopf_domain_new(e->ctx, IOPF_DOMAIN_PAGING, fx_handler,
					 &e->rec, &e->a),
			 0);
	assert_int_equal(iopf_domain_new(e->ctx, IOPF_DOMAIN_PAGING, fx_handler,
					 &e->rec, &e->b),
			 0);
	assert_int_equal(iopf_domain_new(e->ctx, IOPF_DOMAIN_PAGING, NULL, NULL,
					 &e->plain),
			 0);
	*state = e;
	return 0;
}

static int ef_teardown(void **state)
{
	struct ef *e = *state;

	iopf_ctx_free(e->ctx);
	fx_rec_destroy(&e->rec);
	free(e);
	fx_assert_no_live_allocations();
	return 0;
}

static bool on_queue(struct ef *e)
{
	int ret = iopf_queue_flush_dev(e->dev);

	assert_true(ret == 0 || ret == -ENODEV);
	return ret == 0;
}

/* The fault reaches @handle (0) or takes the error path (-EINVAL). */
static void assert_routed(struct ef *e, uint32_t pasid,
			  struct iopf_attach_handle *handle)
{
	uint32_t flags = FX_LAST | (pasid ? FX_PV : 0);
	size_t calls = fx_nr_calls(&e->rec);
	int ret = fx_report(e->dev, flags, pasid, 1, 0);

	if (!handle) {
		assert_int_equal(ret, -EINVAL);
		assert_int_equal(fx_nr_calls(&e->rec), calls);
		return;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(fx_nr_calls(&e->rec), calls + 1);
	assert_ptr_equal(fx_call_at(&e->rec, calls).handle, handle);
	iopf_free_group(fx_take_held(&e->rec));
}

/* ---- attach --------------------------------------------------------------- */

static void attach_pasid_rules(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h = { .domain = NULL }, h2;
	struct iopf_domain *blocked;
	struct iopf_device *nopasid = fx_device_new(e->iommu, 2, 0);

	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), 0);
	assert_int_equal(
		iopf_attach_device_pasid(e->a, e->dev, IOPF_NO_PASID, &h),
		-EINVAL);
	assert_int_equal(iopf_attach_device_pasid(e->a, e->dev, NR_PASIDS, &h),
			 -EINVAL);
	assert_int_equal(iopf_attach_device_pasid(e->a, nopasid, 1, &h),
			 -EINVAL);
	assert_int_equal(iopf_attach_device_pasid(NULL, e->dev, 1, &h),
			 -EINVAL);
	assert_int_equal(iopf_attach_device_pasid(e->a, NULL, 1, &h), -EINVAL);
	assert_int_equal(e->be.set_calls, 0);
	assert_null(h.domain);

	assert_int_equal(
		iopf_attach_device_pasid(e->a, e->dev, NR_PASIDS - 1, &h), 0);
	assert_ptr_equal(h.domain, e->a);
	assert_int_equal(e->be.set_calls, 1);
	assert_int_equal(e->be.set_pasid, NR_PASIDS - 1);
	assert_ptr_equal(e->be.set_domain, e->a);
	assert_routed(e, NR_PASIDS - 1, &h);
	/* Taken, whatever the domain. */
	assert_int_equal(
		iopf_attach_device_pasid(e->b, e->dev, NR_PASIDS - 1, &h2),
		-EBUSY);
	assert_int_equal(
		iopf_attach_device_pasid(e->a, e->dev, NR_PASIDS - 1, NULL),
		-EBUSY);
	assert_int_equal(e->be.set_calls, 1);
	/* A blocked domain cannot be attached at a PASID. */
	assert_int_equal(iopf_domain_new(e->ctx, IOPF_DOMAIN_BLOCKED, NULL,
					 NULL, &blocked),
			 0);
	assert_int_equal(iopf_attach_device_pasid(blocked, e->dev, 3, NULL),
			 -EOPNOTSUPP);
	/* ... but at the RID. */
	assert_int_equal(iopf_attach_device(blocked, e->dev, NULL), 0);
	assert_int_equal(e->be.set_pasid, IOPF_NO_PASID);
	iopf_detach_device(blocked, e->dev);
	assert_int_equal(e->be.remove_pasid, IOPF_NO_PASID);
	assert_ptr_equal(e->be.remove_domain, blocked);
	assert_int_equal(iopf_domain_free(blocked), 0);
}

static void attach_rid_rules(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h, h2;

	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_int_equal(e->be.set_calls, 1);
	assert_int_equal(e->be.set_pasid, IOPF_NO_PASID);
	assert_int_equal(iopf_attach_device(e->b, e->dev, &h2), -EBUSY);
	assert_int_equal(iopf_attach_device(e->a, e->dev, NULL), -EBUSY);
	assert_int_equal(iopf_attach_device(NULL, e->dev, &h2), -EINVAL);
	assert_int_equal(iopf_attach_device(e->a, NULL, &h2), -EINVAL);
	assert_routed(e, 0, &h);
	iopf_detach_device(e->a, e->dev);
	assert_int_equal(e->be.remove_calls, 1);
	assert_int_equal(e->be.remove_pasid, IOPF_NO_PASID);
	assert_ptr_equal(e->be.remove_domain, e->a);
	assert_routed(e, 0, NULL);
	/* Free again after a detach. */
	assert_int_equal(iopf_attach_device(e->b, e->dev, &h2), 0);
	assert_routed(e, 0, &h2);
}

/* The backend refuses: the attach fails and nothing is attached. */
static void attach_backend_fails(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h = { .domain = NULL };
	struct iopf_attach_handle *out = NULL;

	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	e->be.set_fail = -EIO;
	assert_int_equal(iopf_attach_device_pasid(e->a, e->dev, 4, &h), -EIO);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), -EIO);
	assert_null(h.domain);
	assert_int_equal(
		iopf_attach_handle_get(e->dev, 4, IOPF_DOMAIN_ANY, &out),
		-ENOENT);
	assert_int_equal(
		iopf_attach_handle_get(e->dev, 0, IOPF_DOMAIN_ANY, &out),
		-ENOENT);
	/* IOPF was enabled for the attempt and disabled again. */
	assert_false(on_queue(e));
	assert_int_equal(iopf_iommu_set_queue(e->iommu, NULL), 0);
	assert_int_equal(iopf_domain_free(e->a), 0);
	e->be.set_fail = 0;
	assert_int_equal(iopf_attach_device_pasid(e->b, e->dev, 4, &h), 0);
}

/* ---- detach --------------------------------------------------------------- */

static void detach_not_attached(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h, h5;

	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_int_equal(iopf_attach_device_pasid(e->a, e->dev, 5, &h5), 0);
	iopf_detach_device(e->b, e->dev); /* other domain */
	iopf_detach_device_pasid(e->b, e->dev, 5); /* other domain */
	iopf_detach_device_pasid(e->a, e->dev, 6); /* nothing there */
	iopf_detach_device_pasid(e->a, e->dev, 0); /* not a PASID */
	iopf_detach_device_pasid(e->a, e->dev, NR_PASIDS + 5);
	iopf_detach_device(NULL, e->dev);
	iopf_detach_device(e->a, NULL);
	assert_int_equal(e->be.remove_calls, 0);
	assert_routed(e, 0, &h);
	assert_routed(e, 5, &h5);
	assert_int_equal(iopf_domain_free(e->a), -EBUSY);
	iopf_detach_device_pasid(e->a, e->dev, 5);
	assert_int_equal(e->be.remove_calls, 1);
	assert_int_equal(e->be.remove_pasid, 5);
	assert_routed(e, 5, NULL);
	assert_routed(e, 0, &h);
	/* Still attached at the RID. */
	assert_int_equal(iopf_domain_free(e->a), -EBUSY);
	iopf_detach_device(e->a, e->dev);
	assert_int_equal(iopf_domain_free(e->a), 0);
	assert_int_equal(iopf_domain_free(NULL), 0);
}

/* ---- replace -------------------------------------------------------------- */

static void replace_rules(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h1, h2, h3, h4;

	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), 0);
	assert_int_equal(iopf_replace_device(e->a, e->dev, NULL), -EINVAL);
	assert_int_equal(iopf_replace_device_pasid(e->a, e->dev, 3, &h1),
			 -EINVAL); /* nothing at the PASID */
	assert_int_equal(iopf_replace_device_pasid(e->a, e->dev, 0, &h1),
			 -EINVAL);
	assert_int_equal(e->be.set_calls, 0);

	/* A RID replace of an empty RID is an attach. */
	assert_int_equal(iopf_replace_device(e->a, e->dev, &h1), 0);
	assert_int_equal(e->be.set_calls, 1);
	assert_ptr_equal(h1.domain, e->a);
	assert_routed(e, 0, &h1);
	/* The very handle that is installed. */
	assert_int_equal(iopf_replace_device(e->b, e->dev, &h1), -EINVAL);
	/* Another domain: set_dev_pasid, never remove_dev_pasid. */
	assert_int_equal(iopf_replace_device(e->b, e->dev, &h2), 0);
	assert_int_equal(e->be.set_calls, 2);
	assert_ptr_equal(e->be.set_domain, e->b);
	assert_int_equal(e->be.remove_calls, 0);
	assert_routed(e, 0, &h2);
	/* Same domain, new handle: the backend is not called at all. */
	assert_int_equal(iopf_replace_device(e->b, e->dev, &h3), 0);
	assert_int_equal(e->be.set_calls, 2);
	assert_int_equal(e->be.remove_calls, 0);
	assert_routed(e, 0, &h3);

	/* PASIDs follow the same rules. */
	assert_int_equal(iopf_attach_device_pasid(e->a, e->dev, 3, NULL), 0);
	assert_int_equal(e->be.set_calls, 3);
	assert_routed(e, 3, NULL);
	assert_int_equal(iopf_replace_device_pasid(e->a, e->dev, 3, NULL),
			 -EINVAL);
	assert_int_equal(iopf_replace_device_pasid(e->a, e->dev, 3, &h4), 0);
	assert_int_equal(e->be.set_calls, 3); /* same domain */
	assert_routed(e, 3, &h4);
	assert_int_equal(iopf_replace_device_pasid(e->a, e->dev, 3, &h4),
			 -EINVAL);
	assert_int_equal(iopf_replace_device_pasid(e->b, e->dev, 3, &h1), 0);
	assert_int_equal(e->be.set_calls, 4);
	assert_int_equal(e->be.set_pasid, 3);
	assert_routed(e, 3, &h1);
	assert_int_equal(e->be.remove_calls, 0);
	/* a is attached nowhere now. */
	assert_int_equal(iopf_domain_free(e->a), 0);
	assert_int_equal(iopf_domain_free(e->b), -EBUSY);
}

/* The backend refuses a replace: the old attachment stays. */
static void replace_backend_fails(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h1, h2;

	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h1), 0);
	e->be.set_fail = -EIO;
	assert_int_equal(iopf_replace_device(e->b, e->dev, &h2), -EIO);
	assert_routed(e, 0, &h1);
	assert_int_equal(iopf_domain_free(e->b), 0);
}

/* ---- IOPF enabling -------------------------------------------------------- */

static void enable_first_attach_last_detach(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h0, h1, h2, hp;

	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	assert_false(on_queue(e));
	/* Not fault-capable: a bare attach, a domain with no handler. */
	assert_int_equal(iopf_attach_device_pasid(e->a, e->dev, 1, NULL), 0);
	assert_int_equal(iopf_attach_device_pasid(e->plain, e->dev, 2, &hp), 0);
	assert_false(on_queue(e));
	/* The first fault-capable attach adds the device. */
	assert_int_equal(iopf_attach_device_pasid(e->b, e->dev, 3, &h2), 0);
	assert_true(on_queue(e));
	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), -EBUSY);
	assert_routed(e, 3, &h2);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h0), 0);
	assert_int_equal(iopf_attach_device_pasid(e->a, e->dev, 4, &h1), 0);
	iopf_detach_device_pasid(e->b, e->dev, 3);
	assert_true(on_queue(e));
	iopf_detach_device(e->a, e->dev);
	assert_true(on_queue(e));
	/* Detaching what is not fault-capable changes nothing. */
	iopf_detach_device_pasid(e->a, e->dev, 1);
	iopf_detach_device_pasid(e->plain, e->dev, 2);
	assert_true(on_queue(e));
	/* The last one removes it. */
	iopf_detach_device_pasid(e->a, e->dev, 4);
	assert_false(on_queue(e));
	/* And again from the start. */
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h0), 0);
	assert_true(on_queue(e));
}

/* The last detach removes the device: its pending groups get INVALID. */
static void enable_last_detach_answers(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h;
	struct iopf_group *g;

	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_int_equal(fx_report(e->dev, FX_LAST, 0, 9, 0), 0);
	g = fx_take_held(&e->rec);
	iopf_detach_device(e->a, e->dev);
	assert_false(on_queue(e));
	assert_int_equal(e->be.nr_resp, 1);
	assert_int_equal(e->be.resp[0].code, INVALID);
	assert_int_equal(e->be.resp[0].grpid, 9);
	iopf_group_response(g, SUCCESS);
	iopf_free_group(g);
	assert_int_equal(e->be.nr_resp, 1);
}

/* A device the caller added itself is left alone. */
static void enable_caller_added(void **state)
{
	struct ef *e = *state;
	struct iopf_queue *q2;
	struct iopf_attach_handle h;

	assert_int_equal(iopf_queue_alloc(e->ctx, "q2", NULL, &q2), 0);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	assert_int_equal(iopf_queue_add_device(q2, e->dev), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_routed(e, 0, &h);
	/* Not enabled through the IOMMU's queue: set_queue is free. */
	assert_int_equal(iopf_iommu_set_queue(e->iommu, NULL), 0);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	iopf_detach_device(e->a, e->dev);
	assert_true(on_queue(e));
	/* Still on q2, not on the IOMMU's queue. */
	assert_int_equal(iopf_queue_add_device(e->queue, e->dev), -EBUSY);
	iopf_queue_remove_device(q2, e->dev);
	assert_false(on_queue(e));
}

/* Enabling fails (no page_response): the attach fails, nothing attached. */
static void enable_failure(void **state)
{
	struct ef *e = *state;
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.set_dev_pasid = be_set_dev_pasid,
		.remove_dev_pasid = be_remove_dev_pasid,
	};
	struct iopf_attach_handle h = { .domain = NULL }, *out = NULL;
	struct iopf_iommu *mute;
	struct iopf_device *dev;
	int before;

	assert_int_equal(iopf_iommu_new(e->ctx, "mute", &ops, &e->be, &mute),
			 0);
	dev = fx_device_new(mute, 1, NR_PASIDS);
	assert_int_equal(iopf_queue_add_device(e->queue, dev), -ENODEV);
	assert_int_equal(iopf_iommu_set_queue(mute, e->queue), 0);
	before = e->be.set_calls;
	assert_int_equal(iopf_attach_device(e->a, dev, &h), -ENODEV);
	assert_int_equal(iopf_attach_device_pasid(e->a, dev, 2, &h), -ENODEV);
	assert_int_equal(iopf_replace_device(e->a, dev, &h), -ENODEV);
	assert_int_equal(e->be.set_calls, before);
	assert_null(h.domain);
	assert_int_equal(iopf_attach_handle_get(dev, 0, IOPF_DOMAIN_ANY, &out),
			 -ENOENT);
	assert_int_equal(iopf_attach_handle_get(dev, 2, IOPF_DOMAIN_ANY, &out),
			 -ENOENT);
	assert_int_equal(iopf_domain_free(e->b), 0);
	/* Nothing enabled: set_queue may change. */
	assert_int_equal(iopf_iommu_set_queue(mute, NULL), 0);
	/* Not fault-capable attaches work on it. */
	assert_int_equal(iopf_attach_device(e->plain, dev, &h), 0);
	assert_int_equal(iopf_attach_device_pasid(e->a, dev, 2, NULL), 0);
	/* A report there cannot even be answered; it fails cleanly. */
	assert_int_equal(fx_report(dev, FX_LAST, 0, 1, 0), -EINVAL);
	iopf_iommu_free(mute);
}

static void set_queue_rules(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h;
	struct iopf_queue *q2;
	struct iopf_ctx *other;
	struct iopf_queue *foreign;

	assert_int_equal(iopf_queue_alloc(e->ctx, "q2", NULL, &q2), 0);
	assert_int_equal(iopf_ctx_new(&other), 0);
	assert_int_equal(iopf_queue_alloc(other, "f", NULL, &foreign), 0);
	assert_int_equal(iopf_iommu_set_queue(NULL, e->queue), -EINVAL);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, foreign), -EINVAL);
	iopf_ctx_free(other);

	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, q2), 0);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_true(on_queue(e));
	assert_int_equal(iopf_iommu_set_queue(e->iommu, q2), -EBUSY);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, NULL), -EBUSY);
	iopf_detach_device(e->a, e->dev);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, NULL), 0);
	/* No queue: a fault-capable attach enables nothing. */
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_false(on_queue(e));
	assert_routed(e, 0, NULL);
	iopf_detach_device(e->a, e->dev);
	/* The queue named by set_queue goes away: forgotten. */
	assert_int_equal(iopf_iommu_set_queue(e->iommu, q2), 0);
	iopf_queue_free(q2);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_false(on_queue(e));
	iopf_detach_device(e->a, e->dev);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
}

/* A queue freed while devices are enabled through it. */
static void enable_queue_freed(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h;
	struct iopf_queue *q2;

	assert_int_equal(iopf_queue_alloc(e->ctx, "q2", NULL, &q2), 0);
	assert_int_equal(iopf_iommu_set_queue(e->iommu, q2), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_true(on_queue(e));
	iopf_queue_free(q2);
	assert_false(on_queue(e));
	/* Nothing is enabled through a current queue any more. */
	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	iopf_detach_device(e->a, e->dev);
	assert_int_equal(iopf_attach_device(e->a, e->dev, &h), 0);
	assert_true(on_queue(e));
}

/* A replace is the attach of the new domain and the detach of the old. */
static void enable_replace(void **state)
{
	struct ef *e = *state;
	struct iopf_attach_handle h1, h2, h3;
	struct iopf_group *g;

	assert_int_equal(iopf_iommu_set_queue(e->iommu, e->queue), 0);
	assert_int_equal(iopf_attach_device(e->a, e->dev, NULL), 0);
	assert_false(on_queue(e));
	assert_int_equal(iopf_replace_device(e->a, e->dev, &h1), 0);
	assert_true(on_queue(e));
	assert_int_equal(fx_report(e->dev, FX_LAST, 0, 9, 0), 0);
	g = fx_take_held(&e->rec);
	/* Fault-capable to fault-capable: stays enabled, nothing answered. */
	assert_int_equal(iopf_replace_device(e->b, e->dev, &h2), 0);
	assert_true(on_queue(e));
	assert_int_equal(e->be.nr_resp, 0);
	assert_routed(e, 0, &h2); /* frees its group unanswered: INVALID */
	assert_int_equal(e->be.nr_resp, 1);
	/* To a domain without handler: disabled, pending answered. */
	assert_int_equal(iopf_replace_device(e->plain, e->dev, &h3), 0);
	assert_false(on_queue(e));
	assert_int_equal(e->be.nr_resp, 2);
	assert_int_equal(e->be.resp[1].code, INVALID);
	assert_int_equal(e->be.resp[1].grpid, 9);
	iopf_free_group(g);
	assert_int_equal(e->be.nr_resp, 2);
	assert_int_equal(e->be.remove_calls, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ef_setup, ef_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(attach_pasid_rules),
		T(attach_rid_rules),
		T(attach_backend_fails),
		T(detach_not_attached),
		T(replace_rules),
		T(replace_backend_fails),
		T(enable_first_attach_last_detach),
		T(enable_last_detach_answers),
		T(enable_caller_added),
		T(enable_failure),
		T(set_queue_rules),
		T(enable_queue_freed),
		T(enable_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
