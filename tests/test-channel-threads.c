// SPDX-License-Identifier: MIT
/*
 * Functional test of the user fault channel under concurrency: 4 threads
 * report faults, a reader thread polls and reads the channel, a writer
 * thread answers what the reader passes it, and the main thread keeps
 * replacing the devices' attachments between two channel domains and a
 * domain that is not fault-capable. Every last-page request must get exactly
 * one response, whoever sends it (the writer, the replace's auto-response or
 * the core's "no handler" path).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <iopf/channel.h>
#include <iopf/iopf.h>

#define NR_REPORTERS 4
#define NR_FAULTS    3000 /* last-page requests per reporter, phase 1 */
#define NR_TAIL	     16 /* per device, phase 2, with no replace running */
#define NR_ALL	     (NR_FAULTS + NR_TAIL)
#define WINDOW	     32 /* last-page requests outstanding at most */
#define NR_SLOTS     3 /* channel A, channel B, not fault-capable */
#define BATCH	     64

struct world {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_queue *queue;
	struct iopf_channel *ch;
	struct iopf_device *dev[NR_REPORTERS];
	struct iopf_domain *domain[NR_SLOTS];
	struct iopf_attach_handle handle[NR_REPORTERS][NR_SLOTS];
	int pipe[2]; /* cookies, reader to writer */
	atomic_bool stop;
	atomic_size_t delivered; /* groups the reader saw */
	atomic_size_t written; /* records the channel took */
	atomic_size_t reported; /* last-page requests reported */
};

struct reporter {
	struct world *w;
	unsigned int idx;
	unsigned int first, end; /* request numbers to report */
	size_t rejected; /* partials the core answered (no handler) */
	int errors;
};

static uint64_t fault_addr(unsigned int t, unsigned int i)
{
	return ((uint64_t)(t + 1) << 40) | ((uint64_t)i << 12);
}

/*
 * Flow control: wait until at most WINDOW requests are unanswered, so the
 * reporters cannot finish before the reader and the replaces get going.
 */
static int throttle(struct world *w)
{
	size_t k = atomic_fetch_add(&w->reported, 1);

	if (k < WINDOW)
		return 0;
	return iopf_mock_wait_responses(w->mock, k - WINDOW + 1, 60000);
}

static void *reporter_fn(void *arg)
{
	struct reporter *r = arg;
	struct iopf_device *dev = r->w->dev[r->idx];
	unsigned int i;

	for (i = r->first; i < r->end; i++) {
		struct iopf_fault evt = {
			.type = IOPF_FAULT_PAGE_REQ,
			.prm = {
				.grpid = i % 512,
				.perm = IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE,
				.addr = fault_addr(r->idx, i) | 0x800,
			},
		};
		int ret;

		/*
		 * Every third group has a partial request before the last one.
		 * With no handler the core answers a partial INVALID too (the
		 * kernel looks the handler up first).
		 */
		if (i % 3 == 0) {
			ret = iopf_report_device_fault(dev, &evt);
			if (ret == -EINVAL)
				r->rejected++;
			else if (ret)
				r->errors++;
		}
		if (throttle(r->w))
			r->errors++;
		evt.prm.flags = IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
		evt.prm.addr = fault_addr(r->idx, i);
		ret = iopf_report_device_fault(dev, &evt);
		/* -EINVAL: no handler right now (the core answered INVALID) */
		if (ret && ret != -EINVAL)
			r->errors++;
	}
	return NULL;
}

static void *reader_fn(void *arg)
{
	struct world *w = arg;
	struct iopf_user_fault rec[BATCH];
	struct pollfd pfd = { .fd = iopf_channel_fd(w->ch), .events = POLLIN };

	while (!atomic_load(&w->stop)) {
		ssize_t n, i;

		/* the timeout only lets the thread see the stop flag */
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		n = iopf_channel_read(w->ch, rec, sizeof(rec));
		if (n < 0)
			break;
		for (i = 0; i < n / (ssize_t)sizeof(rec[0]); i++) {
			if (!(rec[i].flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE))
				continue; /* one cookie per group: send it once */
			atomic_fetch_add(&w->delivered, 1);
			if (write(w->pipe[1], &rec[i].cookie,
				  sizeof(uint32_t)) != sizeof(uint32_t))
				return NULL;
		}
	}
	close(w->pipe[1]);
	return NULL;
}

/* Answer a batch; a cookie a replace already answered is skipped. */
static void answer(struct world *w, struct iopf_user_response *resp, size_t nr)
{
	size_t off = 0;

	while (off < nr) {
		ssize_t ret = iopf_channel_write(w->ch, resp + off,
						 (nr - off) * sizeof(*resp));

		if (ret > 0) {
			off += (size_t)ret / sizeof(*resp);
			atomic_fetch_add(&w->written,
					 (size_t)ret / sizeof(*resp));
		} else {
			off++; /* -EINVAL: stopped at this record */
		}
	}
}

static void *writer_fn(void *arg)
{
	struct world *w = arg;
	uint32_t cookies[BATCH];
	struct iopf_user_response resp[BATCH];
	ssize_t n;

	while ((n = read(w->pipe[0], cookies, sizeof(cookies))) > 0) {
		size_t i, nr = (size_t)n / sizeof(uint32_t);

		/* 4-byte pipe writes are atomic, so reads hold whole cookies */
		for (i = 0; i < nr; i++) {
			resp[i].cookie = cookies[i];
			resp[i].code = IOPF_PAGE_RESP_SUCCESS;
		}
		answer(w, resp, nr);
	}
	return NULL;
}

static void world_init(struct world *w)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 0 };
	unsigned int i;

	memset(w, 0, sizeof(*w));
	assert_int_equal(iopf_ctx_new(&w->ctx), 0);
	assert_int_equal(iopf_mock_new(w->ctx, "mock", false, &w->mock), 0);
	assert_int_equal(iopf_queue_alloc(w->ctx, "q", &qattr, &w->queue), 0);
	assert_int_equal(
		iopf_iommu_set_queue(iopf_mock_iommu(w->mock), w->queue), 0);
	assert_int_equal(iopf_channel_new(w->ctx, &w->ch), 0);
	assert_int_equal(iopf_channel_domain_new(w->ch, IOPF_DOMAIN_PAGING,
						 &w->domain[0]),
			 0);
	assert_int_equal(iopf_channel_domain_new(w->ch, IOPF_DOMAIN_NESTED,
						 &w->domain[1]),
			 0);
	assert_int_equal(iopf_domain_new(w->ctx, IOPF_DOMAIN_PAGING, NULL, NULL,
					 &w->domain[2]),
			 0);
	for (i = 0; i < NR_REPORTERS; i++) {
		struct iopf_device_attr attr = { .size = sizeof(attr),
						 .id = 0x100 + i };

		assert_int_equal(iopf_device_new(iopf_mock_iommu(w->mock),
						 &attr, &w->dev[i]),
				 0);
		assert_int_equal(iopf_attach_device(w->domain[0], w->dev[i],
						    &w->handle[i][0]),
				 0);
	}
	assert_int_equal(pipe(w->pipe), 0);
}

/* Replace each device's RID with the next slot until the reporters finish. */
static unsigned int replace_loop(struct world *w, atomic_uint *running)
{
	unsigned int round = 0, slot[NR_REPORTERS] = { 0 };

	while (atomic_load(running)) {
		unsigned int i = round % NR_REPORTERS;
		unsigned int next = (slot[i] + 1) % NR_SLOTS;

		assert_int_equal(iopf_replace_device(w->domain[next], w->dev[i],
						     &w->handle[i][next]),
				 0);
		slot[i] = next;
		round++;
	}
	/* end on a channel domain so the last groups go through the user */
	for (unsigned int i = 0; i < NR_REPORTERS; i++)
		if (slot[i] != 0)
			assert_int_equal(iopf_replace_device(w->domain[0],
							     w->dev[i],
							     &w->handle[i][0]),
					 0);
	return round;
}

struct run {
	struct world *w;
	struct reporter rep[NR_REPORTERS];
	pthread_t tid[NR_REPORTERS];
	atomic_uint running;
	int errors;
};

/* Start the reporters, wait for them, then stop the replace loop. */
static void *reporters_fn(void *arg)
{
	struct run *run = arg;
	unsigned int i, started = 0;

	for (i = 0; i < NR_REPORTERS; i++) {
		if (pthread_create(&run->tid[i], NULL, reporter_fn,
				   &run->rep[i])) {
			run->errors++;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(run->tid[i], NULL);
	atomic_store(&run->running, 0);
	return NULL;
}

/*
 * Every last-page request got exactly one response; the only other
 * responses are the core's INVALID to partials reported with no handler.
 */
static void check_responses(struct world *w, size_t total, size_t rejected)
{
	uint8_t *seen = calloc(total, 1);
	size_t i, partials = 0;

	assert_non_null(seen);
	assert_int_equal(iopf_mock_response_count(w->mock), total + rejected);
	for (i = 0; i < total + rejected; i++) {
		struct iopf_mock_response r;
		unsigned int t, idx;

		assert_int_equal(iopf_mock_response_at(w->mock, i, &r), 0);
		if (!(r.evt.prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE)) {
			assert_int_equal(r.evt.prm.addr & 0xfff, 0x800);
			assert_int_equal(r.msg.code, IOPF_PAGE_RESP_INVALID);
			partials++;
			continue;
		}
		t = (unsigned int)(r.evt.prm.addr >> 40) - 1;
		idx = (unsigned int)((r.evt.prm.addr >> 12) & 0xfffffff);
		assert_true(t < NR_REPORTERS && idx < NR_ALL);
		assert_int_equal(r.dev_id, 0x100 + t);
		assert_int_equal(r.msg.grpid, idx % 512);
		/* phase 2 had no replace: the user answered every group */
		if (idx >= NR_FAULTS)
			assert_int_equal(r.msg.code, IOPF_PAGE_RESP_SUCCESS);
		assert_int_equal(seen[t * NR_ALL + idx], 0); /* exactly once */
		seen[t * NR_ALL + idx] = 1;
	}
	assert_int_equal(partials, rejected);
	free(seen);
}

/*
 * Phase 2: with the attachments settled on channel domain A, every request
 * goes through the user, who answers SUCCESS (check_responses() checks it).
 */
static void tail_phase(struct world *w, size_t before)
{
	unsigned int i;

	for (i = 0; i < NR_REPORTERS; i++) {
		struct reporter r = {
			.w = w,
			.idx = i,
			.first = NR_FAULTS,
			.end = NR_ALL,
		};

		reporter_fn(&r);
		assert_int_equal(r.errors, 0);
		assert_int_equal(r.rejected, 0);
	}
	assert_int_equal(
		iopf_mock_wait_responses(
			w->mock, before + NR_REPORTERS * NR_TAIL, 60000),
		0);
}

static void test_threads(void **state)
{
	const size_t phase1 = (size_t)NR_REPORTERS * NR_FAULTS;
	const size_t total = (size_t)NR_REPORTERS * NR_ALL;
	struct world *w = calloc(1, sizeof(*w));
	pthread_t reader, writer, reporters;
	struct run run = { .w = w };
	size_t rejected = 0;
	unsigned int i, rounds;

	(void)state;
	assert_non_null(w);
	world_init(w);
	for (i = 0; i < NR_REPORTERS; i++)
		run.rep[i] =
			(struct reporter){ .w = w, .idx = i, .end = NR_FAULTS };
	atomic_init(&run.running, 1);

	assert_int_equal(pthread_create(&reader, NULL, reader_fn, w), 0);
	assert_int_equal(pthread_create(&writer, NULL, writer_fn, w), 0);
	assert_int_equal(pthread_create(&reporters, NULL, reporters_fn, &run),
			 0);
	rounds = replace_loop(w, &run.running);
	pthread_join(reporters, NULL);

	assert_int_equal(run.errors, 0);
	for (i = 0; i < NR_REPORTERS; i++) {
		assert_int_equal(run.rep[i].errors, 0);
		rejected += run.rep[i].rejected;
	}
	assert_int_equal(
		iopf_mock_wait_responses(w->mock, phase1 + rejected, 60000), 0);
	tail_phase(w, phase1 + rejected);
	atomic_store(&w->stop, true);
	pthread_join(reader, NULL);
	pthread_join(writer, NULL);
	close(w->pipe[0]);

	assert_true(rounds > 0);
	assert_true(atomic_load(&w->written) <= atomic_load(&w->delivered));
	check_responses(w, total, rejected);

	/* nothing is left: detaching sends no further answer */
	for (i = 0; i < NR_REPORTERS; i++)
		iopf_detach_device(w->domain[0], w->dev[i]);
	assert_int_equal(iopf_mock_response_count(w->mock), total + rejected);
	for (i = 0; i < NR_SLOTS; i++)
		assert_int_equal(iopf_domain_free(w->domain[i]), 0);
	assert_int_equal(iopf_channel_free(w->ch), 0);
	iopf_ctx_free(w->ctx);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
