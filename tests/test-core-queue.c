// SPDX-License-Identifier: MIT
/*
 * Fault queues: manual mode (FIFO, run in the caller, deterministic),
 * threaded workers, iopf_queue_work(), iopf_queue_flush_dev() (waits for
 * the work queued before it, and only that), discard_partial and
 * iopf_queue_free().
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
#include <time.h>

#include <cmocka.h>

#include <iopf/iopf.h>

#include "fixtures.h"
#include "iommu-priv.h" /* queue->epoch, to see a flush begin */

#define ID0	FX_DEV_ID(0)
#define SUCCESS IOPF_PAGE_RESP_SUCCESS
#define INVALID IOPF_PAGE_RESP_INVALID
#define FAILURE IOPF_PAGE_RESP_FAILURE

/* ---- allocation and modes ------------------------------------------------- */

static void queue_alloc_args(void **state)
{
	struct fx *f = *state;
	struct iopf_queue_attr attr = { .size = sizeof(attr) };
	struct iopf_queue *q = (struct iopf_queue *)&attr, *keep = q;

	assert_int_equal(iopf_queue_alloc(NULL, "q", &attr, &q), -EINVAL);
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, NULL), -EINVAL);
	attr.size = 0;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), -EINVAL);
	attr.size = sizeof(attr) + 8;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), -EINVAL);
	attr.size = sizeof(attr);
	attr.nr_workers = 100000;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), -EINVAL);
	/* Unknown flags; per-CPU lanes in manual mode (no worker to bind). */
	attr.nr_workers = 1;
	attr.flags = 1u << 7;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), -EINVAL);
	attr.flags = 1ull << 40 | IOPF_QUEUE_PERCPU;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), -EINVAL);
	attr.nr_workers = 0;
	attr.flags = IOPF_QUEUE_PERCPU;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), -EINVAL);
	assert_ptr_equal(q, keep);
	/*
	 * An older caller's struct (16 bytes) without flags: unbound, whatever
	 * its tail padding held.
	 */
	attr.size = offsetof(struct iopf_queue_attr, flags);
	assert_int_equal(attr.size, 16);
	attr.nr_workers = 1;
	attr.flags = ~0ull;
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &attr, &q), 0);
	assert_int_equal(q->nr_lanes, 1);
	iopf_queue_free(q);
	/* NULL attr: workers, so iopf_queue_run() does nothing. */
	assert_int_equal(iopf_queue_alloc(f->ctx, NULL, NULL, &q), 0);
	assert_int_equal(iopf_queue_run(q, 10), 0);
	iopf_queue_free(q);
	iopf_queue_free(NULL);
	assert_int_equal(iopf_queue_run(NULL, 1), 0);
	assert_int_equal(iopf_queue_pending(NULL), 0);
}

/* Manual mode: nothing runs until iopf_queue_run(), then FIFO. */
static void queue_manual_fifo(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	for (uint32_t g = 1; g <= 3; g++)
		assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, g, 0), 0);
	assert_int_equal(fx_nr_calls(&f->rec), 3);
	assert_int_equal(iopf_queue_pending(f->queue), 3);
	assert_int_equal(f->rec.works_started, 0);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(iopf_queue_run(f->queue, 1), 1);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 1, SUCCESS);
	assert_int_equal(iopf_queue_run(f->queue, 0), 0);
	assert_int_equal(iopf_queue_run(f->queue, SIZE_MAX), 2);
	fx_assert_response(f, 1, ID0, 0, 2, SUCCESS);
	fx_assert_response(f, 2, ID0, 0, 3, SUCCESS);
	assert_int_equal(iopf_queue_run(f->queue, SIZE_MAX), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 0);
	assert_int_equal(f->rec.works_done, 3);
}

/* @n responses, SUCCESS, each for a different grpid (0 .. n - 1). */
static void assert_answered_once(struct fx *f, size_t n)
{
	unsigned char *seen = calloc(n, 1);

	assert_non_null(seen);
	assert_int_equal(fx_nr_responses(f), n);
	for (size_t i = 0; i < n; i++) {
		struct iopf_mock_response r = fx_response_at(f, i);

		assert_int_equal(r.msg.code, SUCCESS);
		assert_true(r.msg.grpid < n);
		assert_false(seen[r.msg.grpid]);
		seen[r.msg.grpid] = 1;
	}
	free(seen);
}

/* Workers: every group answered, iopf_queue_run() does nothing. */
static void queue_threaded(void **state)
{
	struct fx *f = *state;
	const uint32_t n = 200;

	f->rec.mode = FX_WORK;
	for (uint32_t g = 0; g < n; g++) {
		if (g % 3 == 0)
			assert_int_equal(fx_report(f->dev[0], 0, 0, g, 1), 0);
		assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, g, 2), 0);
	}
	assert_int_equal(iopf_queue_run(f->queue, SIZE_MAX), 0);
	assert_int_equal(iopf_mock_wait_responses(f->mock, n, FX_TIMEOUT_MS),
			 0);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
	assert_answered_once(f, n);
	assert_int_equal(iopf_queue_pending(f->queue), 0);
}

/*
 * Per-CPU lanes: reports from several threads (on whatever CPUs they run)
 * are all answered once, flush waits for every lane, nothing is left.
 */
struct percpu_reporter {
	struct fx *f;
	unsigned int idx;
	pthread_t thread;
};

#define PERCPU_REPORTERS 4
#define PERCPU_GROUPS	 300

static void *percpu_report(void *arg)
{
	struct percpu_reporter *r = arg;

	for (uint32_t g = 0; g < PERCPU_GROUPS; g++)
		if (fx_report(r->f->dev[0], FX_LAST, 0,
			      r->idx * PERCPU_GROUPS + g, 0))
			abort();
	return NULL;
}

static void queue_percpu_threads(void **state)
{
	const size_t n = PERCPU_REPORTERS * PERCPU_GROUPS;
	struct percpu_reporter r[PERCPU_REPORTERS];
	struct fx *f = *state;
	cpu_set_t set;

	/* A lane per CPU of the mask, at most one per worker, each bound. */
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(f->queue->nr_lanes, CPU_COUNT(&set) < 2 ? 1 : 2);
	for (unsigned int i = 0; i < f->queue->nr_lanes; i++)
		assert_true(CPU_ISSET(f->queue->lanes[i].cpu, &set));
	f->rec.mode = FX_WORK;
	for (unsigned int i = 0; i < PERCPU_REPORTERS; i++) {
		r[i] = (struct percpu_reporter){ .f = f, .idx = i };
		assert_int_equal(pthread_create(&r[i].thread, NULL,
						percpu_report, &r[i]),
				 0);
	}
	for (unsigned int i = 0; i < PERCPU_REPORTERS; i++)
		assert_int_equal(pthread_join(r[i].thread, NULL), 0);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
	/* Flushed: every work item ran, so every group was answered. */
	assert_answered_once(f, n);
	assert_int_equal(iopf_queue_pending(f->queue), 0);
}

/* ---- iopf_queue_work() ------------------------------------------------------ */

static void queue_work_ebusy(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group;

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	group = fx_take_held(&f->rec);
	assert_int_equal(iopf_queue_work(NULL, fx_work), -EINVAL);
	assert_int_equal(iopf_queue_work(group, NULL), -EINVAL);
	assert_int_equal(iopf_queue_work(group, fx_work), 0);
	assert_int_equal(iopf_queue_work(group, fx_work), -EBUSY);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	assert_int_equal(iopf_queue_run(f->queue, SIZE_MAX), 1);
	assert_int_equal(f->rec.works_done, 1);
	assert_int_equal(fx_nr_responses(f), 1);
}

static void queue_work_enodev(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group;

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	group = fx_take_held(&f->rec);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, ID0, 0, 1, INVALID);
	assert_int_equal(iopf_queue_work(group, fx_work), -ENODEV);
	/* Still not queued: a second try gives the same answer. */
	assert_int_equal(iopf_queue_work(group, fx_work), -ENODEV);
	assert_int_equal(iopf_queue_pending(f->queue), 0);
	iopf_free_group(group);
	assert_int_equal(fx_nr_responses(f), 1);
}

static void count_events(const struct iopf_trace_event *ev, void *priv)
{
	(void)ev;
	(*(unsigned int *)priv)++;
}

/*
 * A group a handler holds outlives its device's IOMMU: queueing it then is
 * -ENODEV, with tracing on, and reads nothing that was freed (ASan).
 */
static void queue_work_after_iommu_free(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group;
	unsigned int events = 0;

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	group = fx_take_held(&f->rec);
	assert_non_null(group);
	iopf_trace_set_sink(f->ctx, count_events, &events);
	iopf_mock_free(f->mock);
	f->mock = NULL;
	f->dev[0] = NULL;
	events = 0;
	assert_int_equal(iopf_queue_work(group, fx_work), -ENODEV);
	assert_int_equal(events, 0);
	iopf_free_group(group);
	iopf_trace_set_sink(f->ctx, NULL, NULL);
}

/* The handler's queue_work fails (device gone): the core aborts. */
static void queue_work_fail_aborts(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	/* Device off the queue but still attached: the error path. */
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), -EINVAL);
	assert_int_equal(fx_nr_calls(&f->rec), 0);
	fx_assert_response(f, 0, ID0, 0, 1, INVALID);
}

static int requeues;

/* Queue itself once more from inside the work, then answer. */
static void requeue_work(struct iopf_group *group)
{
	if (requeues++ == 0) {
		assert_int_equal(iopf_queue_work(group, requeue_work), 0);
		return;
	}
	iopf_group_response(group, SUCCESS);
	iopf_free_group(group);
}

static void queue_work_requeue(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group;

	requeues = 0;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	group = fx_take_held(&f->rec);
	assert_int_equal(iopf_queue_work(group, requeue_work), 0);
	assert_int_equal(iopf_queue_run(f->queue, 1), 1);
	assert_int_equal(requeues, 1);
	assert_int_equal(fx_nr_responses(f), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 1);
	assert_int_equal(iopf_queue_run(f->queue, 1), 1);
	assert_int_equal(fx_nr_responses(f), 1);
}

/* ---- flush ------------------------------------------------------------------ */

static void flush_manual_runs_pending(void **state)
{
	struct fx *f = *state;
	struct iopf_group *group;

	f->rec.mode = FX_WORK;
	for (uint32_t g = 1; g <= 3; g++)
		assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, g, 0), 0);
	/* Work that queues more work: flush runs until none is left. */
	f->rec.mode = FX_HOLD;
	requeues = 0;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 4, 0), 0);
	group = fx_take_held(&f->rec);
	assert_int_equal(iopf_queue_work(group, requeue_work), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 4);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
	assert_int_equal(iopf_queue_pending(f->queue), 0);
	assert_int_equal(f->rec.works_done, 3);
	assert_int_equal(requeues, 2);
	assert_int_equal(fx_nr_responses(f), 4);
	for (uint32_t i = 0; i < 4; i++)
		fx_assert_response(f, i, ID0, 0, i + 1, SUCCESS);
}

static void flush_enodev(void **state)
{
	struct fx *f = *state;

	assert_int_equal(iopf_queue_flush_dev(NULL), -EINVAL);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), -ENODEV);
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), 0);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
}

struct flusher {
	struct fx *f;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool returned;
	int ret;
	size_t done_at_return; /* works_done when the flush returned */
	bool *b_done; /* flag of the later work, when used */
	bool b_done_at_return;
};

static void *flush_thread(void *arg)
{
	struct flusher *fl = arg;
	int ret = iopf_queue_flush_dev(fl->f->dev[0]);
	size_t done;

	pthread_mutex_lock(&fl->f->rec.lock);
	done = fl->f->rec.works_done;
	pthread_mutex_unlock(&fl->f->rec.lock);
	pthread_mutex_lock(&fl->lock);
	fl->ret = ret;
	fl->done_at_return = done;
	if (fl->b_done)
		fl->b_done_at_return =
			__atomic_load_n(fl->b_done, __ATOMIC_ACQUIRE);
	fl->returned = true;
	pthread_cond_broadcast(&fl->cond);
	pthread_mutex_unlock(&fl->lock);
	return NULL;
}

static void flusher_start(struct flusher *fl, struct fx *f)
{
	fl->f = f;
	pthread_mutex_init(&fl->lock, NULL);
	pthread_cond_init(&fl->cond, NULL);
	assert_int_equal(pthread_create(&fl->thread, NULL, flush_thread, fl),
			 0);
}

/* Wait up to @ms for the flush to return; true if it did. */
static bool flusher_wait(struct flusher *fl, unsigned int ms)
{
	struct timespec ts;
	bool returned;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fl->lock);
	while (!fl->returned && !err)
		err = pthread_cond_timedwait(&fl->cond, &fl->lock, &ts);
	returned = fl->returned;
	pthread_mutex_unlock(&fl->lock);
	return returned;
}

static void flusher_join(struct flusher *fl)
{
	pthread_join(fl->thread, NULL);
	pthread_cond_destroy(&fl->cond);
	pthread_mutex_destroy(&fl->lock);
}

/*
 * Threaded: flush returns only once the queued work finished. The work
 * blocks on a gate; the flush must not return before the gate opens
 * (checked for a while: a broken flush would return at once), and when it
 * returns, every work item queued before it has finished.
 */
static void flush_waits_for_work(void **state)
{
	struct fx *f = *state;
	struct flusher fl = { 0 };

	f->rec.mode = FX_WORK;
	fx_gate_close(&f->rec);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 3, 0), 0);
	fx_wait_works(&f->rec, 1, 0); /* one is running, blocked */
	flusher_start(&fl, f);
	assert_false(flusher_wait(&fl, 200));
	assert_int_equal(fx_nr_responses(f), 0);
	fx_gate_open(&f->rec);
	assert_true(flusher_wait(&fl, FX_TIMEOUT_MS));
	flusher_join(&fl);
	assert_int_equal(fl.ret, 0);
	assert_int_equal(fl.done_at_return, 3);
	assert_int_equal(fx_nr_responses(f), 3);
}

/* Later work is not waited for: explicit per-item gates. */
static bool gate_a, gate_b, b_done;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;

static void wait_gate(bool *gate)
{
	pthread_mutex_lock(&gate_lock);
	while (!*gate)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void open_gate(bool *gate)
{
	pthread_mutex_lock(&gate_lock);
	*gate = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static void work_a(struct iopf_group *group)
{
	wait_gate(&gate_a);
	iopf_group_response(group, SUCCESS);
	iopf_free_group(group);
}

static void work_b(struct iopf_group *group)
{
	wait_gate(&gate_b);
	iopf_group_response(group, FAILURE);
	iopf_free_group(group);
	__atomic_store_n(&b_done, true, __ATOMIC_RELEASE);
}

static void flush_ignores_later_work(void **state)
{
	struct fx *f = *state;
	struct flusher fl = { 0 };
	struct iopf_group *a, *b;
	unsigned int epoch;
	time_t deadline = time(NULL) + 10;

	gate_a = gate_b = b_done = false;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0), 0);
	a = fx_take_held(&f->rec);
	b = fx_take_held(&f->rec);
	epoch = atomic_load(&f->queue->epoch);
	assert_int_equal(iopf_queue_work(a, work_a), 0);
	fl.b_done = &b_done;
	flusher_start(&fl, f);
	/* Queue b only once the flush has begun (it flips the epoch). */
	while (atomic_load(&f->queue->epoch) == epoch && time(NULL) < deadline)
		sched_yield();
	assert_int_not_equal(atomic_load(&f->queue->epoch), epoch);
	assert_int_equal(iopf_queue_work(b, work_b), 0);
	open_gate(&gate_a);
	/* The flush returns while b is still blocked. */
	assert_true(flusher_wait(&fl, FX_TIMEOUT_MS));
	flusher_join(&fl);
	assert_int_equal(fl.ret, 0);
	assert_false(fl.b_done_at_return);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 1, FX_TIMEOUT_MS),
			 0);
	fx_assert_response(f, 0, ID0, 0, 1, SUCCESS);
	open_gate(&gate_b);
	assert_int_equal(iopf_mock_wait_responses(f->mock, 2, FX_TIMEOUT_MS),
			 0);
	fx_assert_response(f, 1, ID0, 0, 2, FAILURE);
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), 0);
}

/* ---- discard_partial --------------------------------------------------------- */

static void discard_partial(void **state)
{
	struct fx *f = *state;
	struct iopf_queue_attr attr = { .size = sizeof(attr) };
	struct iopf_queue *q2;
	struct iopf_group *pending;

	assert_int_equal(iopf_queue_alloc(f->ctx, "q2", &attr, &q2), 0);
	iopf_queue_remove_device(f->queue, f->dev[2]);
	assert_int_equal(iopf_queue_add_device(q2, f->dev[2]), 0);
	for (unsigned int d = 0; d < 3; d++) {
		assert_int_equal(fx_report(f->dev[d], 0, 0, 1, 0x1), 0);
		assert_int_equal(fx_report(f->dev[d], 0, 0, 2, 0x2), 0);
	}
	/* A pending group is not a partial. */
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 3, 0x3), 0);
	pending = fx_take_held(&f->rec);

	assert_int_equal(iopf_queue_discard_partial(NULL), -EINVAL);
	assert_int_equal(iopf_queue_discard_partial(f->queue), 0);
	assert_int_equal(fx_nr_responses(f), 0);

	for (unsigned int d = 0; d < 3; d++)
		for (uint32_t g = 1; g <= 2; g++)
			assert_int_equal(fx_report(f->dev[d], FX_LAST, 0, g, 0),
					 0);
	/* dev0, dev1 lost theirs; dev2 is on the other queue, kept them. */
	for (size_t i = 0; i < 6; i++) {
		struct fx_call c = fx_call_at(&f->rec, 1 + i);
		size_t want = c.dev_id == FX_DEV_ID(2) ? 2 : 1;

		assert_int_equal(c.fault_count, want);
	}
	iopf_group_response(pending, SUCCESS);
	fx_assert_response(f, 0, ID0, 0, 3, SUCCESS);
	iopf_free_group(pending);
	/* An empty queue, and twice in a row, are fine. */
	assert_int_equal(iopf_queue_discard_partial(f->queue), 0);
	assert_int_equal(iopf_queue_discard_partial(f->queue), 0);
}

static int setup_three(void **state)
{
	struct fx_opts opts = { .nr_devs = 3 };

	return fx_setup_opts(state, &opts);
}

/* ---- iopf_queue_free() ------------------------------------------------------- */

/* Runs the queued work first, then answers what is left INVALID. */
static void queue_free_order(void **state)
{
	struct fx *f = *state;
	struct iopf_group *held;

	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0), 0);
	held = fx_take_held(&f->rec);
	f->rec.mode = FX_WORK;
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 2, 0), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 3, 0), 0);
	assert_int_equal(fx_report(f->dev[0], 0, 0, 4, 0), 0);
	iopf_queue_free(f->queue);
	f->queue = NULL;
	assert_int_equal(fx_nr_responses(f), 3);
	fx_assert_response(f, 0, ID0, 0, 2, SUCCESS);
	fx_assert_response(f, 1, ID0, 0, 3, SUCCESS);
	fx_assert_response(f, 2, ID0, 0, 1, INVALID);
	/* The device is on no queue now. */
	assert_int_equal(iopf_queue_flush_dev(f->dev[0]), -ENODEV);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 4, 0), -EINVAL);
	fx_assert_response(f, 3, ID0, 0, 4, INVALID);
	/* The holder frees late: nothing more is sent. */
	iopf_group_response(held, SUCCESS);
	iopf_free_group(held);
	assert_int_equal(fx_nr_responses(f), 4);
	/* The device can join another queue. */
	assert_int_equal(iopf_queue_alloc(f->ctx, "again", NULL, &f->queue), 0);
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev[0]), 0);
}

/*
 * iopf_queue_work() takes no lock. While a holder queues its groups, the
 * device leaves their queue for another and the queue is freed: a call
 * that returned 0 had its work run before iopf_queue_free() returned (none
 * lost on stopped workers), any other call said -ENODEV, every request
 * was answered exactly once, and nothing touched the freed queue (ASan,
 * TSan: iopf_queue_free() waits for the read-side section of every
 * iopf_queue_work() that may still use it).
 */
#define RACE_GROUPS 64
#define RACE_ROUNDS 30

struct race_holder {
	struct iopf_group *groups[RACE_GROUPS];
	atomic_int queued, refused;
	atomic_bool go;
};

static atomic_int race_works;

static void race_work(struct iopf_group *group)
{
	atomic_fetch_add(&race_works, 1);
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
}

static void *race_queue_work(void *arg)
{
	struct race_holder *h = arg;

	while (!atomic_load(&h->go))
		sched_yield();
	for (int i = 0; i < RACE_GROUPS; i++) {
		int ret = iopf_queue_work(h->groups[i], race_work);

		if (ret == -ENODEV) {
			atomic_fetch_add(&h->refused, 1);
			iopf_free_group(h->groups[i]);
		} else if (ret == 0) {
			atomic_fetch_add(&h->queued, 1);
		} else {
			abort();
		}
	}
	return NULL;
}

/* Responses @from.. of one round: @n, one per grpid, none twice. */
static void assert_round_answered(struct fx *f, size_t from, size_t n)
{
	unsigned char seen[RACE_GROUPS] = { 0 };

	assert_int_equal(fx_nr_responses(f) - from, n);
	for (size_t i = from; i < from + n; i++) {
		struct iopf_mock_response r = fx_response_at(f, i);

		assert_true(r.msg.code == SUCCESS ||
			    r.msg.code == IOPF_PAGE_RESP_INVALID);
		assert_true(r.msg.grpid < RACE_GROUPS);
		assert_false(seen[r.msg.grpid]);
		seen[r.msg.grpid] = 1;
	}
}

static void queue_work_races_remove_and_free(void **state)
{
	struct iopf_queue_attr attr = { .size = sizeof(attr), .nr_workers = 2 };
	struct fx *f = *state;
	struct iopf_device *dev = f->dev[0];
	unsigned int queued = 0;

	f->rec.mode = FX_HOLD;
	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct race_holder h = { 0 };
		size_t before = fx_nr_responses(f);
		struct iopf_queue *q;
		pthread_t thread;

		atomic_store(&race_works, 0);
		assert_int_equal(iopf_queue_alloc(f->ctx, "race", &attr, &q),
				 0);
		iopf_queue_remove_device(f->queue, dev);
		assert_int_equal(iopf_queue_add_device(q, dev), 0);
		for (uint32_t g = 0; g < RACE_GROUPS; g++)
			assert_int_equal(fx_report(dev, FX_LAST, 0, g, 0), 0);
		for (int i = 0; i < RACE_GROUPS; i++)
			assert_non_null(h.groups[i] = fx_take_held(&f->rec));
		assert_int_equal(
			pthread_create(&thread, NULL, race_queue_work, &h), 0);
		atomic_store(&h.go, true);
		if (round & 1)
			sched_yield();
		/* The device moves on, and the queue goes with its work. */
		iopf_queue_remove_device(q, dev);
		assert_int_equal(iopf_queue_add_device(f->queue, dev), 0);
		iopf_queue_free(q);
		assert_int_equal(pthread_join(thread, NULL), 0);

		assert_int_equal(atomic_load(&h.queued) +
					 atomic_load(&h.refused),
				 RACE_GROUPS);
		assert_int_equal(atomic_load(&race_works),
				 atomic_load(&h.queued));
		assert_round_answered(f, before, RACE_GROUPS);
		queued += (unsigned int)atomic_load(&h.queued);
	}
	print_message("%u of %d queue_work calls queued\n", queued,
		      RACE_ROUNDS * RACE_GROUPS);
}

/*
 * The same race made certain: the holder stops inside iopf_queue_work()
 * after it counted the group and found the device on the queue, but before
 * it linked the group (its trace sink blocks on the work_queued event),
 * while another thread moves the device to another queue and frees the
 * first one. The free must wait for the group and run its work (in manual
 * mode too), and the request keeps the one answer remove_device gave it.
 */
struct pause_sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t holder;
	bool armed, paused, resume;
};

static void pause_on_work_queued(const struct iopf_trace_event *ev, void *priv)
{
	struct pause_sink *p = priv;

	if (ev->type != IOPF_TRACE_WORK_QUEUED ||
	    !pthread_equal(pthread_self(), p->holder))
		return;
	pthread_mutex_lock(&p->lock);
	p->paused = true;
	pthread_cond_broadcast(&p->cond);
	while (!p->resume)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

struct paused_call {
	struct pause_sink *p;
	struct iopf_group *group;
	int ret;
};

/* Once the sink knows this thread, queue the group. */
static void *paused_queue_work(void *arg)
{
	struct paused_call *c = arg;

	pthread_mutex_lock(&c->p->lock);
	while (!c->p->armed)
		pthread_cond_wait(&c->p->cond, &c->p->lock);
	pthread_mutex_unlock(&c->p->lock);
	c->ret = iopf_queue_work(c->group, race_work);
	return NULL;
}

struct mover {
	struct fx *f;
	struct iopf_queue *q;
};

/* The device leaves @q for the fixture's queue, and @q is freed. */
static void *move_and_free(void *arg)
{
	struct mover *m = arg;

	iopf_queue_remove_device(m->q, m->f->dev[0]);
	if (iopf_queue_add_device(m->f->queue, m->f->dev[0]))
		abort();
	iopf_queue_free(m->q);
	return NULL;
}

static void paused_across_queue_free(struct fx *f, unsigned int nr_workers)
{
	struct iopf_queue_attr attr = { .size = sizeof(attr),
					.nr_workers = nr_workers };
	struct pause_sink p = { .lock = PTHREAD_MUTEX_INITIALIZER,
				.cond = PTHREAD_COND_INITIALIZER };
	struct paused_call c = { .p = &p, .ret = 1 };
	struct mover m = { .f = f };
	pthread_t freer;
	unsigned int epoch;

	f->rec.mode = FX_HOLD;
	atomic_store(&race_works, 0);
	assert_int_equal(iopf_queue_alloc(f->ctx, "paused", &attr, &m.q), 0);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	assert_int_equal(iopf_queue_add_device(m.q, f->dev[0]), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 5, 0), 0);
	assert_non_null(c.group = fx_take_held(&f->rec));

	assert_int_equal(pthread_create(&p.holder, NULL, paused_queue_work, &c),
			 0);
	assert_int_equal(iopf_trace_set_sink(f->ctx, pause_on_work_queued, &p),
			 0);
	pthread_mutex_lock(&p.lock);
	p.armed = true;
	pthread_cond_broadcast(&p.cond);
	while (!p.paused)
		pthread_cond_wait(&p.cond, &p.lock);
	pthread_mutex_unlock(&p.lock);

	/* Counted, not linked: the free's flush must wait for it. */
	epoch = atomic_load(&m.q->epoch);
	assert_int_equal(pthread_create(&freer, NULL, move_and_free, &m), 0);
	while (atomic_load(&m.q->epoch) == epoch)
		sched_yield();
	pthread_mutex_lock(&p.lock);
	p.resume = true;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	assert_int_equal(pthread_join(p.holder, NULL), 0);
	assert_int_equal(pthread_join(freer, NULL), 0);
	iopf_trace_set_sink(f->ctx, NULL, NULL);

	assert_int_equal(c.ret, 0);
	assert_int_equal(atomic_load(&race_works), 1);
	assert_int_equal(fx_nr_responses(f), 1);
	fx_assert_response(f, 0, FX_DEV_ID(0), 0, 5, IOPF_PAGE_RESP_INVALID);
}

static void queue_work_paused_across_queue_free(void **state)
{
	paused_across_queue_free(*state, 2);
}

static void queue_work_paused_across_manual_queue_free(void **state)
{
	paused_across_queue_free(*state, 0);
}

static void queue_free_threaded(void **state)
{
	struct fx *f = *state;

	f->rec.mode = FX_WORK;
	for (uint32_t g = 0; g < 50; g++)
		assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, g, 0), 0);
	iopf_queue_free(f->queue);
	f->queue = NULL;
	/* Every group ran to completion before the queue went. */
	assert_int_equal(fx_nr_responses(f), 50);
	for (size_t i = 0; i < 50; i++)
		assert_int_equal(fx_response_at(f, i).msg.code, SUCCESS);
}

/* ---- determinism --------------------------------------------------------------- */

struct trace_log {
	struct iopf_mock_response r[256];
	size_t n;
};

/* A fixed script mixing every kind of event, in manual mode. */
static void run_script(struct trace_log *log)
{
	struct fx_opts opts = { .nr_devs = 3 };
	struct iopf_group *held[4];
	struct fx *f;
	void *state;

	fx_setup_opts(&state, &opts);
	f = state;
	f->rec.mode = FX_WORK;
	f->rec.code = SUCCESS;
	for (uint32_t i = 0; i < 30; i++) {
		struct iopf_device *dev = f->dev[i % 3];

		if (i % 4 == 0)
			fx_report(dev, 0, 0, i % 5, i);
		fx_report(dev, FX_LAST, 0, i % 5, 0x100 + i);
		if (i % 7 == 0)
			iopf_queue_run(f->queue, 2);
	}
	f->rec.mode = FX_HOLD;
	for (uint32_t i = 0; i < 4; i++)
		fx_report(f->dev[i % 3], FX_LAST, 0, 40 + i, 0);
	for (uint32_t i = 0; i < 4; i++)
		held[i] = fx_take_held(&f->rec);
	iopf_group_response(held[2], FAILURE);
	iopf_queue_remove_device(f->queue, f->dev[0]);
	f->rec.mode = FX_FAIL;
	fx_report(f->dev[1], FX_LAST, 0, 50, 0);
	fx_report(f->dev[0], FX_LAST, 0, 51, 0);
	iopf_queue_flush_dev(f->dev[1]);
	for (uint32_t i = 0; i < 4; i++)
		iopf_free_group(held[i]);
	iopf_queue_discard_partial(f->queue);

	log->n = fx_nr_responses(f);
	assert_true(log->n <= 256);
	for (size_t i = 0; i < log->n; i++)
		log->r[i] = fx_response_at(f, i);
	fx_teardown(&state);
}

/* Field by field: the structs have padding. */
static void assert_same_response(const struct iopf_mock_response *a,
				 const struct iopf_mock_response *b)
{
	assert_int_equal(a->dev_id, b->dev_id);
	assert_int_equal(a->evt.type, b->evt.type);
	assert_memory_equal(&a->evt.prm, &b->evt.prm, sizeof(a->evt.prm));
	assert_int_equal(a->msg.pasid, b->msg.pasid);
	assert_int_equal(a->msg.grpid, b->msg.grpid);
	assert_int_equal(a->msg.code, b->msg.code);
}

static void manual_determinism(void **state)
{
	static struct trace_log a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	run_script(&a);
	run_script(&b);
	assert_true(a.n > 30);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		assert_same_response(&a.r[i], &b.r[i]);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(queue_alloc_args, fx_setup_manual),
		T(queue_manual_fifo, fx_setup_manual),
		T(queue_threaded, fx_setup_threaded),
		T(queue_threaded, fx_setup_percpu),
		T(queue_percpu_threads, fx_setup_percpu),
		T(queue_work_ebusy, fx_setup_manual),
		T(queue_work_enodev, fx_setup_manual),
		T(queue_work_enodev, fx_setup_threaded),
		T(queue_work_after_iommu_free, fx_setup_manual),
		T(queue_work_fail_aborts, fx_setup_manual),
		T(queue_work_requeue, fx_setup_manual),
		T(flush_manual_runs_pending, fx_setup_manual),
		T(flush_enodev, fx_setup_manual),
		T(flush_waits_for_work, fx_setup_threaded),
		T(flush_waits_for_work, fx_setup_percpu),
		T(flush_ignores_later_work, fx_setup_threaded),
		T(discard_partial, setup_three),
		T(queue_free_order, fx_setup_manual),
		T(queue_free_threaded, fx_setup_threaded),
		T(queue_free_threaded, fx_setup_percpu),
		T(queue_work_races_remove_and_free, fx_setup_threaded),
		T(queue_work_paused_across_queue_free, fx_setup_threaded),
		T(queue_work_paused_across_manual_queue_free,
		  fx_setup_threaded),
		cmocka_unit_test(manual_determinism),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
