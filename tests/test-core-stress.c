// SPDX-License-Identifier: MIT
/*
 * Stress: 4 threads report page request groups (partials + last) across
 * 64 devices on a threaded queue while 2 other threads detach, re-attach,
 * replace, remove from and re-add to the queue. Afterwards every last-page
 * request got exactly one response and no partial got any (beyond the
 * error path's INVALID, which the report's -EINVAL announces), every group
 * a handler received was freed once, and nothing leaked.
 *
 * The handler answers a third of the groups in place, queues a third on
 * the fault queue (answered by the work) and fails a third (the core
 * answers FAILURE). The checker is helpers/invariants.c.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <iopf/iopf.h>

#include "fixtures.h"
#include "invariants.h"

#define NR_DEVS	       64
#define NR_REPORTERS   4
#define NR_CHURNERS    2
#define NR_GROUPS      5000 /* per reporter */
#define MIN_CHURN      100 /* churn operations spread over the reports */
#define MAX_PACE_SPINS 100000 /* at most ~10 s of pacing per reporter */
#define PASID	       1

struct stress {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_queue *queue;
	struct iopf_domain *domain;
	struct iopf_device *dev[NR_DEVS];
	struct iopf_attach_handle rid[NR_DEVS][2], pasid[NR_DEVS];
	/* per device, under lock[d]: which RID handle is installed */
	pthread_mutex_t lock[NR_DEVS];
	unsigned int cur[NR_DEVS];
	bool auto_enable; /* IOPF enabled by attach, not by queue add */
	struct inv *inv;
	atomic_bool stop;
	atomic_uint churn_ops;
};

struct worker {
	struct stress *s;
	unsigned int id;
	pthread_t thread;
};

/* ---- handler ---------------------------------------------------------------- */

static struct stress *group_stress(struct iopf_group *group)
{
	return iopf_domain_priv(iopf_group_attach_handle(group)->domain);
}

static void stress_work(struct iopf_group *group)
{
	struct stress *s = group_stress(group);
	uint64_t tag = inv_fault_tag(iopf_group_last_fault(group));

	iopf_group_response(group, tag & 8 ? IOPF_PAGE_RESP_INVALID :
					     IOPF_PAGE_RESP_SUCCESS);
	inv_group_freed(s->inv, group);
	iopf_free_group(group);
}

static int stress_handler(struct iopf_group *group)
{
	struct stress *s = group_stress(group);
	uint64_t tag = inv_fault_tag(iopf_group_last_fault(group));
	int ret;

	inv_group_delivered(s->inv, group);
	switch (tag % 3) {
	case 0:
		iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
		inv_group_freed(s->inv, group);
		iopf_free_group(group);
		return 0;
	case 1:
		ret = iopf_queue_work(group, stress_work);
		if (ret) /* the queue is gone: the core aborts and frees */
			inv_group_freed(s->inv, group);
		return ret;
	default:
		inv_group_freed(s->inv, group); /* the core frees it */
		return -EAGAIN;
	}
}

/* ---- reporters -------------------------------------------------------------- */

static void report_one(struct stress *s, unsigned int d, uint32_t flags,
		       uint32_t grpid, uint64_t addr)
{
	struct iopf_fault evt = fx_fault(flags, PASID, grpid, addr);
	int ret;

	if (!(flags & FX_PV))
		evt.prm.pasid = 0;
	inv_tag(s->inv, &evt);
	ret = iopf_report_device_fault(s->dev[d], &evt);
	inv_reported(s->inv, iopf_device_id(s->dev[d]), &evt, ret);
}

/*
 * Attach and detach wait for grace periods, so they are far slower than
 * reports: pace the reporters so that at least MIN_CHURN churn operations
 * are spread over the run (bounded, so a slow machine still finishes).
 */
static void pace(struct stress *s, unsigned int i, unsigned int *spins)
{
	unsigned int want = i * MIN_CHURN / NR_GROUPS;

	while (atomic_load(&s->churn_ops) < want && *spins < MAX_PACE_SPINS) {
		(*spins)++;
		usleep(100);
	}
}

static void *reporter(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	unsigned int spins = 0;

	for (unsigned int i = 0; i < NR_GROUPS; i++) {
		pace(s, i, &spins);
		unsigned int d = (w->id * 17 + i * 7) % NR_DEVS;
		uint32_t pv = i & 1 ? FX_PV : 0;
		uint32_t grpid = (w->id << 8) | (i & 0xff);

		for (unsigned int p = 0; p < i % 3; p++)
			report_one(s, d, pv, grpid, 0x1000 * p);
		report_one(s, d, pv | FX_LAST, grpid, 0x1000 * (i % 3));
	}
	return NULL;
}

/* ---- churners ----------------------------------------------------------------- */

static void churn(struct stress *s, unsigned int d, unsigned int op)
{
	struct iopf_device *dev = s->dev[d];
	unsigned int next = s->cur[d] ^ 1;

	switch (op) {
	case 0: /* detach and re-attach the RID */
		iopf_detach_device(s->domain, dev);
		assert_int_equal(iopf_attach_device(s->domain, dev,
						    &s->rid[d][s->cur[d]]),
				 0);
		break;
	case 1: /* detach and re-attach the PASID */
		iopf_detach_device_pasid(s->domain, dev, PASID);
		assert_int_equal(iopf_attach_device_pasid(s->domain, dev, PASID,
							  &s->pasid[d]),
				 0);
		break;
	case 2: /* replace the RID handle */
		assert_int_equal(
			iopf_replace_device(s->domain, dev, &s->rid[d][next]),
			0);
		s->cur[d] = next;
		break;
	default: /* off the queue and back */
		if (s->auto_enable)
			return churn(s, d, 0);
		iopf_queue_remove_device(s->queue, dev);
		assert_int_equal(iopf_queue_add_device(s->queue, dev), 0);
		break;
	}
}

static void *churner(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	unsigned int seed = 12345u + w->id;

	while (!atomic_load(&s->stop)) {
		unsigned int d = (unsigned int)rand_r(&seed) % NR_DEVS;

		pthread_mutex_lock(&s->lock[d]);
		churn(s, d, (unsigned int)rand_r(&seed) % 4);
		pthread_mutex_unlock(&s->lock[d]);
		atomic_fetch_add(&s->churn_ops, 1);
	}
	return NULL;
}

/* ---- the test ----------------------------------------------------------------- */

static void stress_setup(struct stress *s, bool auto_enable)
{
	struct iopf_queue_attr attr = { .size = sizeof(attr), .nr_workers = 4 };
	struct iopf_iommu *iommu;

	memset(s, 0, sizeof(*s));
	s->auto_enable = auto_enable;
	assert_int_equal(inv_new(&s->inv), 0);
	assert_int_equal(iopf_ctx_new(&s->ctx), 0);
	assert_int_equal(iopf_mock_new(s->ctx, "stress", false, &s->mock), 0);
	iommu = iopf_mock_iommu(s->mock);
	assert_int_equal(iopf_queue_alloc(s->ctx, "stress", &attr, &s->queue),
			 0);
	if (auto_enable)
		assert_int_equal(iopf_iommu_set_queue(iommu, s->queue), 0);
	assert_int_equal(iopf_domain_new(s->ctx, IOPF_DOMAIN_PAGING,
					 stress_handler, s, &s->domain),
			 0);
	for (unsigned int d = 0; d < NR_DEVS; d++) {
		pthread_mutex_init(&s->lock[d], NULL);
		s->dev[d] = fx_device_new(iommu, d, 4);
		if (!auto_enable)
			assert_int_equal(
				iopf_queue_add_device(s->queue, s->dev[d]), 0);
		assert_int_equal(
			iopf_attach_device(s->domain, s->dev[d], &s->rid[d][0]),
			0);
		assert_int_equal(iopf_attach_device_pasid(s->domain, s->dev[d],
							  PASID, &s->pasid[d]),
				 0);
	}
}

/* Partials (i % 3 per group) plus the last-page requests. */
static size_t reports_per_reporter(void)
{
	size_t n = 0;

	for (unsigned int i = 0; i < NR_GROUPS; i++)
		n += i % 3 + 1;
	return n;
}

static void run_stress(bool auto_enable)
{
	static struct stress s;
	struct worker rep[NR_REPORTERS], ch[NR_CHURNERS];
	struct inv_stats st;
	size_t cursor = 0, violations;

	stress_setup(&s, auto_enable);
	for (unsigned int i = 0; i < NR_CHURNERS; i++) {
		ch[i] = (struct worker){ .s = &s, .id = i };
		assert_int_equal(
			pthread_create(&ch[i].thread, NULL, churner, &ch[i]),
			0);
	}
	for (unsigned int i = 0; i < NR_REPORTERS; i++) {
		rep[i] = (struct worker){ .s = &s, .id = i };
		assert_int_equal(
			pthread_create(&rep[i].thread, NULL, reporter, &rep[i]),
			0);
	}
	for (unsigned int i = 0; i < NR_REPORTERS; i++)
		pthread_join(rep[i].thread, NULL);
	atomic_store(&s.stop, true);
	for (unsigned int i = 0; i < NR_CHURNERS; i++)
		pthread_join(ch[i].thread, NULL);

	/* Every device is attached and on the queue again: flush it all. */
	assert_int_equal(iopf_queue_flush_dev(s.dev[0]), 0);
	inv_stats(s.inv, &st);
	assert_int_equal(st.reported, NR_REPORTERS * reports_per_reporter());
	assert_int_equal(st.reported_last, NR_REPORTERS * NR_GROUPS);
	assert_int_equal(iopf_mock_wait_responses(s.mock, st.expected_responses,
						  FX_TIMEOUT_MS),
			 0);
	inv_feed_mock(s.inv, s.mock, &cursor);
	violations = inv_check(s.inv, INV_ALL_FREED, stderr);
	inv_stats(s.inv, &st);
	fprintf(stderr,
		"stress(%s): %zu reports, %zu groups delivered, %zu responses,"
		" %u churn ops\n",
		auto_enable ? "auto" : "queue", st.reported, st.delivered,
		st.responses, atomic_load(&s.churn_ops));
	assert_int_equal(violations, 0);
	assert_int_equal(st.responses, st.expected_responses);
	assert_int_equal(st.delivered, st.freed);
	/* The churn really happened alongside the reports. */
	assert_true(atomic_load(&s.churn_ops) > 0);
	assert_true(st.delivered > 0);

	iopf_ctx_free(s.ctx);
	/* Nothing was pending: the teardown sent no response of its own. */
	for (unsigned int d = 0; d < NR_DEVS; d++)
		pthread_mutex_destroy(&s.lock[d]);
	inv_free(s.inv);
	fx_assert_no_live_allocations();
}

static void stress_queue_churn(void **state)
{
	(void)state;
	run_stress(false);
}

static void stress_auto_enable(void **state)
{
	(void)state;
	run_stress(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stress_queue_churn),
		cmocka_unit_test(stress_auto_enable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
