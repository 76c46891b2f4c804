// SPDX-License-Identifier: MIT
/*
 * The shared fixture of the core suites (see fixtures.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <iopf/testing.h>

#include "fixtures.h"
#include "invariants.h"

/* ---- allocation checks -------------------------------------------------- */

bool fx_fault_injection(void)
{
	return iopf_testing_live_allocations() != -EOPNOTSUPP;
}

void fx_assert_no_live_allocations(void)
{
	long live = iopf_testing_live_allocations();

	if (live != -EOPNOTSUPP)
		assert_int_equal(live, 0);
}

/* ---- recorder ----------------------------------------------------------- */

void fx_rec_init(struct fx_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_init(&rec->lock, NULL);
	pthread_cond_init(&rec->cond, NULL);
	rec->mode = FX_HOLD;
	rec->code = IOPF_PAGE_RESP_SUCCESS;
	rec->fail_ret = -ENOSPC;
}

void fx_rec_destroy(struct fx_rec *rec)
{
	free(rec->calls);
	free(rec->held);
	pthread_cond_destroy(&rec->cond);
	pthread_mutex_destroy(&rec->lock);
}

static void *grow(void *arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(arr, ncap * elem);

	assert_non_null(p);
	*cap = ncap;
	return p;
}

/* With rec->lock held. */
static void record_call(struct fx_rec *rec, struct iopf_group *group)
{
	struct fx_call *c;
	size_t n = iopf_group_fault_count(group);

	if (rec->nr_calls == rec->cap_calls)
		rec->calls = grow(rec->calls, &rec->cap_calls, sizeof(*c));
	c = &rec->calls[rec->nr_calls++];
	memset(c, 0, sizeof(*c));
	c->dev_id = iopf_device_id(iopf_group_device(group));
	c->handle = iopf_group_attach_handle(group);
	c->domain = c->handle ? c->handle->domain : NULL;
	c->fault_count = n;
	for (size_t i = 0; i < n && i < FX_MAX_FAULTS; i++)
		c->faults[i] = *iopf_group_fault_at(group, i);
	c->last = *iopf_group_last_fault(group);
}

static void hold(struct fx_rec *rec, struct iopf_group *group)
{
	if (rec->nr_held == rec->cap_held)
		rec->held = grow(rec->held, &rec->cap_held, sizeof(*rec->held));
	rec->held[rec->nr_held++] = group;
}

static struct fx_rec *group_rec(struct iopf_group *group)
{
	struct iopf_attach_handle *handle = iopf_group_attach_handle(group);

	return iopf_domain_priv(handle->domain);
}

static void answer_and_free(struct fx_rec *rec, struct iopf_group *group,
			    uint32_t code)
{
	iopf_group_response(group, code);
	if (rec->inv)
		inv_group_freed(rec->inv, group);
	iopf_free_group(group);
}

void fx_work(struct iopf_group *group)
{
	struct fx_rec *rec = group_rec(group);
	uint32_t code;

	pthread_mutex_lock(&rec->lock);
	rec->works_started++;
	pthread_cond_broadcast(&rec->cond);
	while (rec->gate_closed)
		pthread_cond_wait(&rec->cond, &rec->lock);
	code = rec->code;
	pthread_mutex_unlock(&rec->lock);

	answer_and_free(rec, group, code);

	pthread_mutex_lock(&rec->lock);
	rec->works_done++;
	pthread_cond_broadcast(&rec->cond);
	pthread_mutex_unlock(&rec->lock);
}

int fx_handler(struct iopf_group *group)
{
	struct fx_rec *rec = group_rec(group);
	enum fx_mode mode;
	uint32_t code;
	int ret = 0;

	pthread_mutex_lock(&rec->lock);
	record_call(rec, group);
	mode = rec->mode;
	code = rec->code;
	if (mode == FX_HOLD)
		hold(rec, group);
	if (mode == FX_FAIL)
		ret = rec->fail_ret;
	pthread_cond_broadcast(&rec->cond);
	pthread_mutex_unlock(&rec->lock);

	if (rec->inv && mode != FX_FAIL)
		inv_group_delivered(rec->inv, group);
	if (mode == FX_RESPOND)
		answer_and_free(rec, group, code);
	if (mode == FX_WORK)
		ret = iopf_queue_work(group, fx_work);
	if (ret && mode == FX_WORK && rec->inv)
		inv_group_freed(rec->inv, group); /* the core frees it */
	return ret;
}

int fx_domain_new(struct fx *f, enum iopf_domain_type type, struct fx_rec *rec,
		  struct iopf_domain **out)
{
	return iopf_domain_new(f->ctx, type, fx_handler, rec, out);
}

size_t fx_nr_calls(struct fx_rec *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = rec->nr_calls;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

struct fx_call fx_call_at(struct fx_rec *rec, size_t i)
{
	struct fx_call c;

	pthread_mutex_lock(&rec->lock);
	assert_true(i < rec->nr_calls);
	c = rec->calls[i];
	pthread_mutex_unlock(&rec->lock);
	return c;
}

static struct timespec deadline_in(unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void fx_wait_calls(struct fx_rec *rec, size_t n)
{
	struct timespec ts = deadline_in(FX_TIMEOUT_MS);
	int err = 0;

	pthread_mutex_lock(&rec->lock);
	while (rec->nr_calls < n && !err)
		err = pthread_cond_timedwait(&rec->cond, &rec->lock, &ts);
	pthread_mutex_unlock(&rec->lock);
	assert_true(fx_nr_calls(rec) >= n);
}

void fx_wait_works(struct fx_rec *rec, size_t started, size_t done)
{
	struct timespec ts = deadline_in(FX_TIMEOUT_MS);
	bool ok;
	int err = 0;

	pthread_mutex_lock(&rec->lock);
	while ((rec->works_started < started || rec->works_done < done) && !err)
		err = pthread_cond_timedwait(&rec->cond, &rec->lock, &ts);
	ok = rec->works_started >= started && rec->works_done >= done;
	pthread_mutex_unlock(&rec->lock);
	assert_true(ok);
}

size_t fx_nr_held(struct fx_rec *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = rec->nr_held;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

struct iopf_group *fx_take_held(struct fx_rec *rec)
{
	struct iopf_group *group = NULL;

	pthread_mutex_lock(&rec->lock);
	if (rec->nr_held) {
		group = rec->held[0];
		memmove(rec->held, rec->held + 1,
			--rec->nr_held * sizeof(*rec->held));
	}
	pthread_mutex_unlock(&rec->lock);
	return group;
}

void fx_gate_close(struct fx_rec *rec)
{
	pthread_mutex_lock(&rec->lock);
	rec->gate_closed = true;
	pthread_mutex_unlock(&rec->lock);
}

void fx_gate_open(struct fx_rec *rec)
{
	pthread_mutex_lock(&rec->lock);
	rec->gate_closed = false;
	pthread_cond_broadcast(&rec->cond);
	pthread_mutex_unlock(&rec->lock);
}

/* ---- devices and faults ------------------------------------------------- */

struct iopf_device *fx_device_new(struct iopf_iommu *iommu, uint32_t id,
				  uint32_t max_pasids)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = id,
		.max_pasids = max_pasids,
	};
	struct iopf_device *dev = NULL;

	assert_int_equal(iopf_device_new(iommu, &attr, &dev), 0);
	assert_non_null(dev);
	return dev;
}

struct iopf_fault fx_fault(uint32_t flags, uint32_t pasid, uint32_t grpid,
			   uint64_t addr)
{
	struct iopf_fault evt = {
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = {
			.flags = flags,
			.pasid = pasid,
			.grpid = grpid,
			.perm = IOPF_FAULT_PERM_READ,
			.addr = addr,
		},
	};

	return evt;
}

int fx_report(struct iopf_device *dev, uint32_t flags, uint32_t pasid,
	      uint32_t grpid, uint64_t addr)
{
	struct iopf_fault evt = fx_fault(flags, pasid, grpid, addr);

	return iopf_report_device_fault(dev, &evt);
}

void fx_assert_fault_equal(const struct iopf_fault *a,
			   const struct iopf_fault *b)
{
	assert_int_equal(a->type, b->type);
	assert_memory_equal(&a->prm, &b->prm, sizeof(a->prm));
}

/* ---- mock responses ------------------------------------------------------ */

size_t fx_nr_responses(struct fx *f)
{
	return iopf_mock_response_count(f->mock);
}

struct iopf_mock_response fx_response_at(struct fx *f, size_t i)
{
	struct iopf_mock_response r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(iopf_mock_response_at(f->mock, i, &r), 0);
	return r;
}

void fx_assert_response(struct fx *f, size_t i, uint32_t dev_id, uint32_t pasid,
			uint32_t grpid, uint32_t code)
{
	struct iopf_mock_response r = fx_response_at(f, i);

	assert_int_equal(r.dev_id, dev_id);
	assert_int_equal(r.msg.pasid, pasid);
	assert_int_equal(r.msg.grpid, grpid);
	assert_int_equal(r.msg.code, code);
	/* The core answers with the (last) fault's own PASID and index. */
	assert_int_equal(r.evt.prm.pasid, pasid);
	assert_int_equal(r.evt.prm.grpid, grpid);
}

/* ---- setup and teardown -------------------------------------------------- */

int fx_setup_opts(void **state, const struct fx_opts *opts)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr) };
	struct fx *f = calloc(1, sizeof(*f));
	uint32_t max_pasids;

	assert_non_null(f);
	f->opts = *opts;
	f->nr_devs = opts->nr_devs ? opts->nr_devs : 1;
	assert_true(f->nr_devs <= FX_MAX_DEVS);
	max_pasids = opts->max_pasids ? opts->max_pasids : FX_MAX_PASIDS;
	qattr.nr_workers = opts->nr_workers;
	qattr.flags = opts->queue_flags;
	fx_rec_init(&f->rec);

	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	assert_int_equal(
		iopf_mock_new(f->ctx, "mock", opts->user_pasid_table, &f->mock),
		0);
	f->iommu = iopf_mock_iommu(f->mock);
	assert_int_equal(iopf_queue_alloc(f->ctx, "fxq", &qattr, &f->queue), 0);
	assert_int_equal(
		fx_domain_new(f, IOPF_DOMAIN_PAGING, &f->rec, &f->domain), 0);
	for (unsigned int i = 0; i < f->nr_devs; i++) {
		f->dev[i] = fx_device_new(f->iommu, FX_DEV_ID(i), max_pasids);
		if (!opts->no_queue_add)
			assert_int_equal(
				iopf_queue_add_device(f->queue, f->dev[i]), 0);
		if (!opts->no_attach)
			assert_int_equal(iopf_attach_device(f->domain,
							    f->dev[i],
							    &f->handle[i]),
					 0);
	}
	*state = f;
	return 0;
}

int fx_setup_manual(void **state)
{
	struct fx_opts opts = { 0 };

	return fx_setup_opts(state, &opts);
}

int fx_setup_threaded(void **state)
{
	struct fx_opts opts = { .nr_workers = 2 };

	return fx_setup_opts(state, &opts);
}

int fx_setup_percpu(void **state)
{
	struct fx_opts opts = { .nr_workers = 2,
				.queue_flags = IOPF_QUEUE_PERCPU };

	return fx_setup_opts(state, &opts);
}

int fx_setup_bare(void **state)
{
	struct fx_opts opts = { .no_attach = true, .no_queue_add = true };

	return fx_setup_opts(state, &opts);
}

int fx_setup_upt(void **state)
{
	struct fx_opts opts = { .user_pasid_table = true, .no_attach = true };

	return fx_setup_opts(state, &opts);
}

int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	/* Open any gate, so that queued work can run to completion. */
	fx_gate_open(&f->rec);
	/* Held groups are answered INVALID and freed by the context. */
	iopf_ctx_free(f->ctx);
	fx_rec_destroy(&f->rec);
	free(f);
	*state = NULL;
	fx_assert_no_live_allocations();
	return 0;
}
