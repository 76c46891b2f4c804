// SPDX-License-Identifier: MIT
/*
 * Context, IOMMU and device lifetimes: iopf_ctx_free() with live objects
 * (answers pending groups INVALID, runs queued work, leaks nothing),
 * device registry and references, and the trace sink.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/testing.h>

#include "fixtures.h"

#define SUCCESS IOPF_PAGE_RESP_SUCCESS
#define INVALID IOPF_PAGE_RESP_INVALID

/* A backend that records outside the context, to be read after its free. */
struct log {
	pthread_mutex_t lock; /* workers answer concurrently */
	size_t n;
	struct {
		uint32_t dev_id;
		struct iopf_page_response msg;
	} r[512];
	int removes;
};

static void log_page_response(struct iopf_device *dev,
			      const struct iopf_fault *evt,
			      const struct iopf_page_response *msg)
{
	struct log *log = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)evt;
	pthread_mutex_lock(&log->lock);
	if (log->n < 512) {
		log->r[log->n].dev_id = iopf_device_id(dev);
		log->r[log->n].msg = *msg;
	}
	log->n++;
	pthread_mutex_unlock(&log->lock);
}

static void log_remove_dev_pasid(struct iopf_device *dev, uint32_t pasid,
				 struct iopf_domain *domain)
{
	struct log *log = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)pasid;
	(void)domain;
	log->removes++;
}

static struct iopf_iommu *log_iommu(struct iopf_ctx *ctx, struct log *log)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = log_page_response,
		.remove_dev_pasid = log_remove_dev_pasid,
	};
	struct iopf_iommu *iommu;

	pthread_mutex_init(&log->lock, NULL);
	assert_int_equal(iopf_iommu_new(ctx, NULL, &ops, log, &iommu), 0);
	return iommu;
}

/* Responses for @grpid, and the code of the first one. */
static size_t count_grpid(const struct log *log, uint32_t dev_id,
			  uint32_t grpid, uint32_t *code)
{
	size_t n = 0;

	for (size_t i = 0; i < log->n; i++) {
		if (log->r[i].dev_id != dev_id || log->r[i].msg.grpid != grpid)
			continue;
		if (!n++)
			*code = log->r[i].msg.code;
	}
	return n;
}

static void ctx_empty(void **state)
{
	struct iopf_ctx *ctx;

	(void)state;
	assert_int_equal(iopf_ctx_new(NULL), -EINVAL);
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	iopf_ctx_free(ctx);
	fx_assert_no_live_allocations();
}

/*
 * Free a context full of live objects: two queues (manual, threaded),
 * devices on both, attachments at RIDs and PASIDs, groups held by the
 * handler, work queued and not run, partials. Everything is answered once
 * (queued work runs first and answers SUCCESS; held groups get INVALID),
 * partials get nothing, nothing leaks.
 */
static void ctx_free_live_objects(void **state)
{
	static struct log log;
	struct iopf_queue_attr manual = { .size = sizeof(manual) };
	struct iopf_queue_attr threaded = { .size = sizeof(threaded),
					    .nr_workers = 3 };
	struct iopf_attach_handle rid[4], pasid[4];
	struct iopf_device *dev[4];
	struct iopf_queue *qm, *qt;
	struct iopf_domain *dom;
	struct iopf_iommu *iommu;
	struct iopf_ctx *ctx;
	struct fx_rec rec;
	uint32_t code = 0;

	(void)state;
	memset(&log, 0, sizeof(log));
	fx_rec_init(&rec);
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	iommu = log_iommu(ctx, &log);
	assert_int_equal(iopf_queue_alloc(ctx, "m", &manual, &qm), 0);
	assert_int_equal(iopf_queue_alloc(ctx, "t", &threaded, &qt), 0);
	assert_int_equal(iopf_domain_new(ctx, IOPF_DOMAIN_PAGING, fx_handler,
					 &rec, &dom),
			 0);
	for (uint32_t i = 0; i < 4; i++) {
		dev[i] = fx_device_new(iommu, i, 16);
		assert_int_equal(iopf_queue_add_device(i & 1 ? qt : qm, dev[i]),
				 0);
		assert_int_equal(iopf_attach_device(dom, dev[i], &rid[i]), 0);
		assert_int_equal(
			iopf_attach_device_pasid(dom, dev[i], 3, &pasid[i]), 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		/* held groups 10, 11 */
		rec.mode = FX_HOLD;
		assert_int_equal(fx_report(dev[i], FX_LAST, 0, 10, 0), 0);
		assert_int_equal(fx_report(dev[i], FX_PV | FX_LAST, 3, 11, 0),
				 0);
		/* queued work 20 (runs on qt's workers at once, SUCCESS) */
		rec.mode = FX_WORK;
		assert_int_equal(fx_report(dev[i], FX_LAST, 0, 20, 0), 0);
		/* partials 30 */
		assert_int_equal(fx_report(dev[i], 0, 0, 30, 0), 0);
		assert_int_equal(fx_report(dev[i], FX_PV, 3, 30, 0), 0);
	}
	/* One held group already answered: not answered again. */
	iopf_group_response(rec.held[0], SUCCESS);
	assert_int_equal(iopf_queue_pending(qm), 2);

	iopf_ctx_free(ctx);

	assert_int_equal(log.n, 4 * 3);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(count_grpid(&log, i, 10, &code), 1);
		assert_int_equal(code, i == 0 ? SUCCESS : INVALID);
		assert_int_equal(count_grpid(&log, i, 11, &code), 1);
		assert_int_equal(code, INVALID);
		assert_int_equal(count_grpid(&log, i, 20, &code), 1);
		assert_int_equal(code, SUCCESS);
		assert_int_equal(count_grpid(&log, i, 30, &code), 0);
	}
	/* Every attachment was detached through the backend. */
	assert_int_equal(log.removes, 8);
	assert_int_equal(rec.works_done, 4);
	fx_rec_destroy(&rec);
	fx_assert_no_live_allocations();
}

/* Free a context right after a burst on a threaded queue. */
static void ctx_free_threaded_burst(void **state)
{
	static struct log log;
	struct iopf_queue_attr attr = { .size = sizeof(attr), .nr_workers = 4 };
	struct iopf_attach_handle h;
	struct iopf_device *dev;
	struct iopf_queue *q;
	struct iopf_domain *dom;
	struct iopf_ctx *ctx;
	struct fx_rec rec;
	uint32_t code = 0;

	(void)state;
	memset(&log, 0, sizeof(log));
	fx_rec_init(&rec);
	rec.mode = FX_WORK;
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	dev = fx_device_new(log_iommu(ctx, &log), 1, 0);
	assert_int_equal(iopf_queue_alloc(ctx, "t", &attr, &q), 0);
	assert_int_equal(iopf_iommu_set_queue(iopf_device_iommu(dev), q), 0);
	assert_int_equal(iopf_domain_new(ctx, IOPF_DOMAIN_PAGING, fx_handler,
					 &rec, &dom),
			 0);
	assert_int_equal(iopf_attach_device(dom, dev, &h), 0);
	for (uint32_t g = 0; g < 300; g++)
		assert_int_equal(fx_report(dev, FX_LAST, 0, g, 0), 0);
	iopf_ctx_free(ctx);
	assert_int_equal(log.n, 300);
	for (uint32_t g = 0; g < 300; g++) {
		assert_int_equal(count_grpid(&log, 1, g, &code), 1);
		assert_int_equal(code, SUCCESS);
	}
	fx_rec_destroy(&rec);
	fx_assert_no_live_allocations();
}

/* Objects may also be freed one by one, in any order that is allowed. */
static void ctx_free_piecewise(void **state)
{
	static struct log log;
	struct iopf_attach_handle h;
	struct iopf_device *dev;
	struct iopf_iommu *iommu;
	struct iopf_queue *q;
	struct iopf_domain *dom;
	struct iopf_ctx *ctx;
	struct iopf_group *g;
	struct fx_rec rec;

	(void)state;
	memset(&log, 0, sizeof(log));
	fx_rec_init(&rec);
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	iommu = log_iommu(ctx, &log);
	dev = fx_device_new(iommu, 1, 8);
	assert_int_equal(iopf_queue_alloc(ctx, NULL, NULL, &q), 0);
	assert_int_equal(iopf_queue_add_device(q, dev), 0);
	assert_int_equal(
		iopf_domain_new(ctx, IOPF_DOMAIN_SVA, fx_handler, &rec, &dom),
		0);
	assert_int_equal(iopf_attach_device_pasid(dom, dev, 1, &h), 0);
	assert_int_equal(fx_report(dev, FX_PV | FX_LAST, 1, 1, 0), 0);
	g = fx_take_held(&rec);
	assert_int_equal(iopf_domain_free(dom), -EBUSY);
	/* The IOMMU goes with its devices; the group keeps its own. */
	iopf_iommu_free(iommu);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.r[0].msg.code, INVALID);
	assert_int_equal(iopf_domain_free(dom), 0);
	iopf_queue_free(q);
	iopf_free_group(g);
	assert_int_equal(log.n, 1);
	iopf_ctx_free(ctx);
	fx_rec_destroy(&rec);
	fx_assert_no_live_allocations();
}

static void iommu_and_device_registry(void **state)
{
	struct iopf_iommu_ops ops = { .size = sizeof(ops) };
	struct iopf_device_attr attr = { .size = sizeof(attr), .id = 0x2a };
	struct iopf_iommu *i0, *i1;
	struct iopf_device *dev, *found;
	struct iopf_ctx *ctx;
	int drv;

	(void)state;
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	assert_int_equal(iopf_iommu_new(ctx, NULL, &ops, &drv, &i0), 0);
	assert_int_equal(iopf_iommu_new(ctx, "named", &ops, NULL, &i1), 0);
	assert_string_equal(iopf_iommu_name(i0), "iommu0");
	assert_string_equal(iopf_iommu_name(i1), "named");
	assert_ptr_equal(iopf_iommu_drvdata(i0), &drv);
	assert_ptr_equal(iopf_iommu_ctx(i1), ctx);

	attr.drvdata = &drv;
	assert_int_equal(iopf_device_new(i0, &attr, &dev), 0);
	assert_string_equal(iopf_device_name(dev), "dev2a");
	assert_int_equal(iopf_device_id(dev), 0x2a);
	assert_ptr_equal(iopf_device_drvdata(dev), &drv);
	assert_ptr_equal(iopf_device_iommu(dev), i0);
	assert_null(iopf_device_find(i1, 0x2a));
	found = iopf_device_find(i0, 0x2a);
	assert_ptr_equal(found, dev);
	/* The found reference outlives the device's unpublication. */
	iopf_device_free(dev);
	assert_null(iopf_device_find(i0, 0x2a));
	assert_int_equal(iopf_device_id(found), 0x2a);
	iopf_device_put(found);
	/* The ID is free again; a name is copied. */
	{
		char name[] = "gpu";

		attr.name = name;
		assert_int_equal(iopf_device_new(i0, &attr, &dev), 0);
		name[0] = 'x';
		assert_string_equal(iopf_device_name(dev), "gpu");
	}
	/* iopf_iommu_free() frees its devices. */
	iopf_iommu_free(i0);
	iopf_ctx_free(ctx);
	fx_assert_no_live_allocations();
}

/*
 * IDs below 2^20 live in the IOMMU's direct table, the others in the
 * context's hash table: both ends of each, and one ID inside each.
 */
static const uint32_t edge_ids[] = {
	0, 0x2a, (1u << 20) - 1, 1u << 20, 0x12345678, UINT32_MAX,
};
#define NR_EDGE_IDS (sizeof(edge_ids) / sizeof(edge_ids[0]))

static void assert_found(struct iopf_iommu *iommu, uint32_t id,
			 struct iopf_device *dev)
{
	struct iopf_device *found = iopf_device_find(iommu, id);

	assert_ptr_equal(found, dev);
	assert_int_equal(iopf_device_id(found), id);
	iopf_device_put(found);
}

/* The same ID on two IOMMUs is two devices, on either path. */
static void new_edge_devices(struct iopf_iommu *i0, struct iopf_iommu *i1,
			     struct iopf_device **d0, struct iopf_device **d1)
{
	struct iopf_device_attr attr = { .size = sizeof(attr) };

	for (size_t i = 0; i < NR_EDGE_IDS; i++) {
		attr.id = edge_ids[i];
		assert_int_equal(iopf_device_new(i0, &attr, &d0[i]), 0);
		assert_int_equal(iopf_device_new(i1, &attr, &d1[i]), 0);
		assert_ptr_not_equal(d0[i], d1[i]);
	}
	for (size_t i = 0; i < NR_EDGE_IDS; i++) {
		assert_found(i0, edge_ids[i], d0[i]);
		assert_found(i1, edge_ids[i], d1[i]);
	}
}

/* A duplicate ID fails and changes nothing: no allocation, same device. */
static void assert_duplicates_fail(struct iopf_iommu *iommu,
				   struct iopf_device **devs)
{
	struct iopf_device_attr attr = { .size = sizeof(attr) };
	struct iopf_device *dev, *keep = (struct iopf_device *)&attr;
	long live;

	for (size_t i = 0; i < NR_EDGE_IDS; i++) {
		attr.id = edge_ids[i];
		dev = keep;
		live = iopf_testing_live_allocations();
		assert_int_equal(iopf_device_new(iommu, &attr, &dev), -EEXIST);
		assert_ptr_equal(dev, keep);
		assert_int_equal(iopf_testing_live_allocations(), live);
		assert_found(iommu, edge_ids[i], devs[i]);
	}
}

static void device_ids_table_and_hash(void **state)
{
	struct iopf_iommu_ops ops = { .size = sizeof(ops) };
	struct iopf_device_attr attr = { .size = sizeof(attr) };
	struct iopf_device *d0[NR_EDGE_IDS], *d1[NR_EDGE_IDS];
	struct iopf_iommu *i0, *i1;
	struct iopf_ctx *ctx;

	(void)state;
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	assert_int_equal(iopf_iommu_new(ctx, NULL, &ops, NULL, &i0), 0);
	assert_int_equal(iopf_iommu_new(ctx, NULL, &ops, NULL, &i1), 0);
	/* Before any device: no table yet, an empty hash. */
	for (size_t i = 0; i < NR_EDGE_IDS; i++)
		assert_null(iopf_device_find(i0, edge_ids[i]));
	new_edge_devices(i0, i1, d0, d1);
	/* Neighbours: same leaf, a leaf never allocated, the hash. */
	assert_null(iopf_device_find(i0, 1));
	assert_null(iopf_device_find(i0, 0x400));
	assert_null(iopf_device_find(i0, (1u << 20) - 2));
	assert_null(iopf_device_find(i0, (1u << 20) + 1));
	assert_null(iopf_device_find(i0, UINT32_MAX - 1));
	assert_duplicates_fail(i0, d0);
	/* Freed: gone from its IOMMU only, and its ID can be taken again. */
	for (size_t i = 0; i < NR_EDGE_IDS; i++) {
		iopf_device_free(d0[i]);
		assert_null(iopf_device_find(i0, edge_ids[i]));
		assert_found(i1, edge_ids[i], d1[i]);
	}
	for (size_t i = 0; i < NR_EDGE_IDS; i++) {
		attr.id = edge_ids[i];
		assert_int_equal(iopf_device_new(i0, &attr, &d0[i]), 0);
		assert_found(i0, edge_ids[i], d0[i]);
	}
	/* The IOMMU frees its devices, then its table; ctx_free the rest. */
	iopf_iommu_free(i0);
	for (size_t i = 0; i < NR_EDGE_IDS; i++)
		assert_found(i1, edge_ids[i], d1[i]);
	iopf_ctx_free(ctx);
	fx_assert_no_live_allocations();
}

/*
 * Lock-free lookups while the same IDs come and go, on both paths: a
 * device found is whole (TSan checks the publication) and stays valid
 * until put, whatever the writer does meanwhile.
 */
struct churn {
	struct iopf_iommu *iommu;
	atomic_bool stop;
	atomic_ulong found;
};

static const uint32_t churn_ids[] = { 5, (1u << 20) + 5 };

static void *churn_reader(void *arg)
{
	struct churn *c = arg;
	struct iopf_device *dev;

	while (!atomic_load(&c->stop)) {
		for (size_t i = 0; i < 2; i++) {
			dev = iopf_device_find(c->iommu, churn_ids[i]);
			if (!dev)
				continue;
			if (iopf_device_id(dev) != churn_ids[i] ||
			    !iopf_device_name(dev))
				abort();
			atomic_fetch_add(&c->found, 1);
			iopf_device_put(dev);
		}
	}
	return NULL;
}

static void device_find_races_free(void **state)
{
	struct iopf_iommu_ops ops = { .size = sizeof(ops) };
	struct iopf_device_attr attr = { .size = sizeof(attr) };
	struct iopf_device *devs[2];
	struct iopf_ctx *ctx;
	struct churn c = { 0 };
	pthread_t readers[2];

	(void)state;
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	assert_int_equal(iopf_iommu_new(ctx, NULL, &ops, NULL, &c.iommu), 0);
	for (size_t t = 0; t < 2; t++)
		assert_int_equal(
			pthread_create(&readers[t], NULL, churn_reader, &c), 0);
	/*
	 * Fewer hash inserts than liburcu's 1024-insert counter commit: that
	 * launches a resize on its worker thread, a handoff TSan cannot see.
	 */
	for (int round = 0; round < 500; round++) {
		for (size_t i = 0; i < 2; i++) {
			attr.id = churn_ids[i];
			assert_int_equal(
				iopf_device_new(c.iommu, &attr, &devs[i]), 0);
		}
		for (size_t i = 0; i < 2; i++)
			iopf_device_free(devs[i]);
	}
	atomic_store(&c.stop, true);
	for (size_t t = 0; t < 2; t++)
		pthread_join(readers[t], NULL);
	print_message("found %lu times\n", atomic_load(&c.found));
	iopf_ctx_free(ctx);
	fx_assert_no_live_allocations();
}

/* ---- trace sink ---------------------------------------------------------- */

struct seen {
	size_t n;
	uint64_t last_seq;
	bool ordered;
	unsigned int types[IOPF_TRACE_TYPE_MAX];
	unsigned int handler_responses;
};

static void sink(const struct iopf_trace_event *ev, void *priv)
{
	struct seen *s = priv;

	if (s->n && ev->seq <= s->last_seq)
		s->ordered = false;
	s->last_seq = ev->seq;
	s->n++;
	if (ev->type < IOPF_TRACE_TYPE_MAX)
		s->types[ev->type]++;
	if (ev->type == IOPF_TRACE_RESPONSE_SENT &&
	    ev->origin == IOPF_ORIGIN_HANDLER)
		s->handler_responses++;
}

static void trace_sink_sanity(void **state)
{
	struct fx *f = *state;
	struct seen s = { .ordered = true };
	size_t n;

	f->rec.mode = FX_RESPOND;
	assert_int_equal(iopf_trace_set_sink(f->ctx, sink, &s), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_PV | FX_LAST, 9, 2, 0),
			 -EINVAL);
	assert_true(s.ordered);
	assert_true(s.n >= 6);
	assert_int_equal(s.types[IOPF_TRACE_FAULT_REPORTED], 3);
	assert_int_equal(s.types[IOPF_TRACE_PARTIAL_STORED], 1);
	assert_int_equal(s.types[IOPF_TRACE_GROUP_FORMED], 1);
	assert_int_equal(s.types[IOPF_TRACE_HANDLER_CALLED], 1);
	assert_int_equal(s.types[IOPF_TRACE_RESPONSE_SENT], 2);
	assert_int_equal(s.handler_responses, 1);
	/* Detached: nothing more arrives. */
	assert_int_equal(iopf_trace_set_sink(f->ctx, NULL, NULL), 0);
	n = s.n;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 3, 0), 0);
	assert_int_equal(s.n, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ctx_empty),
		cmocka_unit_test(ctx_free_live_objects),
		cmocka_unit_test(ctx_free_threaded_burst),
		cmocka_unit_test(ctx_free_piecewise),
		cmocka_unit_test(iommu_and_device_registry),
		cmocka_unit_test(device_ids_table_and_hash),
		cmocka_unit_test(device_find_races_free),
		cmocka_unit_test_setup_teardown(trace_sink_sanity,
						fx_setup_manual, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
