// SPDX-License-Identifier: MIT
/*
 * The drain guarantee of unbind, under threads.
 *
 * A reporter thread reports page requests for one PASID as fast as it can,
 * each at its own page (fault i at BASE + i pages, group index i). The main
 * thread, round after round, unbinds the mm, records which pages the mm
 * made resident (the faults it handled), releases it, and binds a new mm,
 * which must receive the same PASID. The backend's remove_dev_pasid (the
 * hardware drain, the first step of unbind) waits until a few more faults
 * were reported, so every round has faults queued on the old attachment
 * after its unbind began: those are what the flush must drain.
 *
 * A phase counter, read by the reporter just before and just after each
 * report, says what the report overlapped:
 *
 *   3r     mm r bound                3r + 1  unbinding mm r
 *   3r + 2 binding mm r + 1          3r + 3  mm r + 1 bound
 *
 * Checked at the end, for every fault:
 *  - a fault handled by mm r was reported before mm r's unbind returned
 *    (p1 <= 3r + 1) and did not return before mm r's bind began
 *    (p2 >= 3r - 1): no fault reported before an unbind reaches the next mm;
 *  - a report entirely inside "mm r bound" was handled by mm r;
 *  - the report returned 0 exactly when some mm handled the fault;
 *  - each fault got exactly one response, SUCCESS exactly when handled,
 *    all of them by the time the last unbind returned.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/sva.h>

#include "sva/mm.h"

#define PG	 IOPF_MM_PAGE_SIZE
#define BASE	 (1ull << 32)
#define NMAX	 (1u << 19) /* faults at most */
#define ROUNDS	 1000
#define OVERLAP	 16 /* faults reported while bound, per round */
#define IN_DRAIN 8 /* faults reported during remove_dev_pasid */

/*
 * Reports per phase at most, so that the log lasts for every round: the
 * unbind starts while the bound phase's reports are still coming.
 */
static const unsigned int quota[3] = { 64, 256, 64 };

struct entry {
	uint32_t p1, p2; /* phase before and after the report */
	int ret; /* what the report returned */
};

struct drain {
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu;
	struct iopf_device *dev;
	uint32_t pasid;
	atomic_uint phase;
	atomic_bool stop;
	atomic_uint throttled_in; /* phase the reporter waits out, or ~0 */
	atomic_bool done; /* the reporter has returned */
	atomic_size_t published; /* entries complete */
	struct entry *log; /* written by the reporter only */
	/* written by page_response */
	atomic_uchar *answers;
	atomic_uchar *codes;
	atomic_size_t nr_answers;
	atomic_size_t bad_answers;
	/* written by the main thread */
	int32_t *owner; /* round whose mm handled fault i, or -1 */
	size_t dup_owners;
	int32_t walk_round;
	unsigned int drains_with_faults;
};

/* Called with the core's fault-param lock held: atomics only. */
static void drain_page_response(struct iopf_device *dev,
				const struct iopf_fault *evt,
				const struct iopf_page_response *msg)
{
	struct drain *d = iopf_iommu_drvdata(iopf_device_iommu(dev));

	(void)evt;
	if (msg->grpid >= NMAX || msg->pasid != d->pasid) {
		atomic_fetch_add(&d->bad_answers, 1);
		return;
	}
	atomic_fetch_add(&d->answers[msg->grpid], 1);
	atomic_store(&d->codes[msg->grpid], (unsigned char)msg->code);
	atomic_fetch_add(&d->nr_answers, 1);
}

/*
 * The hardware drain: the routing entry is still published, so the faults
 * reported now go to the attachment being removed. Wait for a few.
 */
static void drain_remove_dev_pasid(struct iopf_device *dev, uint32_t pasid,
				   struct iopf_domain *domain)
{
	struct drain *d = iopf_iommu_drvdata(iopf_device_iommu(dev));
	size_t start = atomic_load(&d->published);

	(void)pasid;
	(void)domain;
	while (atomic_load(&d->published) < start + IN_DRAIN) {
		/* a reporter past this phase's quota reports no more in it */
		if (atomic_load(&d->done) ||
		    atomic_load(&d->throttled_in) == atomic_load(&d->phase))
			return;
		sched_yield();
	}
	d->drains_with_faults++;
}

/* Past its quota, the reporter waits for the next phase. */
static void throttle(struct drain *d, uint32_t *phase, unsigned int *count)
{
	uint32_t now = atomic_load(&d->phase);

	if (now != *phase) {
		*phase = now;
		*count = 0;
	}
	while (*count >= quota[*phase % 3] && !atomic_load(&d->stop)) {
		atomic_store(&d->throttled_in, *phase);
		sched_yield();
		now = atomic_load(&d->phase);
		if (now != *phase) {
			*phase = now;
			*count = 0;
		}
	}
	atomic_store(&d->throttled_in, ~0u);
	(*count)++;
}

static void *reporter(void *arg)
{
	struct drain *d = arg;
	unsigned int count = 0;
	uint32_t phase = 0;
	size_t i;

	for (i = 0; i < NMAX && !atomic_load(&d->stop); i++) {
		struct iopf_fault evt = {
			.type = IOPF_FAULT_PAGE_REQ,
			.prm = {
				.flags = IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
					 IOPF_FAULT_PAGE_REQUEST_LAST_PAGE,
				.pasid = d->pasid,
				.grpid = (uint32_t)i,
				.perm = IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE,
				.addr = BASE + i * PG,
			},
		};

		throttle(d, &phase, &count);
		d->log[i].p1 = atomic_load(&d->phase);
		d->log[i].ret = iopf_report_device_fault(d->dev, &evt);
		d->log[i].p2 = atomic_load(&d->phase);
		atomic_store_explicit(&d->published, i + 1,
				      memory_order_release);
	}
	/* remove_dev_pasid must not wait for a reporter that is gone */
	atomic_store(&d->done, true);
	return NULL;
}

/* Under the mm's lock: no cmocka assertion here. */
static void record_owner(uint64_t addr, void *priv)
{
	struct drain *d = priv;
	uint64_t i = (addr - BASE) / PG;

	if (addr < BASE || i >= NMAX || d->owner[i] != -1)
		d->dup_owners++;
	else
		d->owner[i] = d->walk_round;
}

static struct iopf_mm *new_mm(struct drain *d)
{
	struct iopf_mm *mm;

	assert_int_equal(iopf_mm_new(d->ctx, &mm), 0);
	assert_int_equal(iopf_mm_map(mm, BASE, (uint64_t)NMAX * PG,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	return mm;
}

/* Unbind mm @r, note what it handled, release it. */
static void retire_mm(struct drain *d, struct iopf_sva *sva, struct iopf_mm *mm,
		      int32_t r)
{
	iopf_sva_unbind_device(sva);
	d->walk_round = r;
	iopf_mm_for_each_resident(mm, record_owner, d);
	iopf_mm_put(mm);
}

/* Let the reporter get some faults in while mm r is bound. */
static void wait_for_faults(struct drain *d, size_t since)
{
	while (atomic_load(&d->published) < since + OVERLAP &&
	       atomic_load(&d->published) < NMAX)
		sched_yield();
}

static void check_fault(struct drain *d, size_t i)
{
	const struct entry *e = &d->log[i];
	int32_t o = d->owner[i];

	if (atomic_load(&d->answers[i]) != 1)
		fail_msg("fault %zu answered %u times", i,
			 atomic_load(&d->answers[i]));
	if (o >= 0) {
		if (e->p1 > 3u * o + 1 || (o > 0 && e->p2 < 3u * o - 1))
			fail_msg("fault %zu (phases %u..%u) handled by mm %d",
				 i, e->p1, e->p2, o);
		assert_int_equal(e->ret, 0);
		assert_int_equal(atomic_load(&d->codes[i]),
				 IOPF_PAGE_RESP_SUCCESS);
	} else {
		assert_int_equal(e->ret, -EINVAL);
		assert_int_equal(atomic_load(&d->codes[i]),
				 IOPF_PAGE_RESP_INVALID);
	}
	if (e->p1 == e->p2 && e->p1 % 3 == 0 && o != (int32_t)(e->p1 / 3))
		fail_msg("fault %zu inside mm %u's bind handled by %d", i,
			 e->p1 / 3, o);
}

static struct drain *drain_new(void)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 4 };
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = 7,
		.max_pasids = 1u << 20,
	};
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = drain_page_response,
		.remove_dev_pasid = drain_remove_dev_pasid,
	};
	struct drain *d = calloc(1, sizeof(*d));
	struct iopf_queue *queue;

	assert_non_null(d);
	d->log = calloc(NMAX, sizeof(*d->log));
	d->owner = malloc(NMAX * sizeof(*d->owner));
	d->answers = calloc(NMAX, sizeof(*d->answers));
	d->codes = calloc(NMAX, sizeof(*d->codes));
	assert_non_null(d->log);
	assert_non_null(d->owner);
	assert_non_null(d->answers);
	assert_non_null(d->codes);
	memset(d->owner, 0xff, NMAX * sizeof(*d->owner));
	atomic_init(&d->throttled_in, ~0u);
	assert_int_equal(iopf_ctx_new(&d->ctx), 0);
	assert_int_equal(iopf_iommu_new(d->ctx, "drain", &ops, d, &d->iommu),
			 0);
	assert_int_equal(iopf_queue_alloc(d->ctx, "q", &qattr, &queue), 0);
	assert_int_equal(iopf_iommu_set_queue(d->iommu, queue), 0);
	assert_int_equal(iopf_device_new(d->iommu, &dattr, &d->dev), 0);
	return d;
}

static void test_drain(void **state)
{
	struct drain *d = drain_new();
	size_t total, handled = 0, since_next = 0;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	pthread_t thread;

	(void)state;
	mm = new_mm(d);
	assert_int_equal(iopf_sva_bind_device(d->dev, mm, &sva), 0);
	d->pasid = iopf_sva_get_pasid(sva);
	atomic_store(&d->phase, 0);
	assert_int_equal(pthread_create(&thread, NULL, reporter, d), 0);

	for (uint32_t r = 0; r < ROUNDS; r++) {
		/* read before the phase began: its reports all come after */
		wait_for_faults(d, since_next);
		atomic_store(&d->phase, 3 * r + 1);
		retire_mm(d, sva, mm, (int32_t)r);
		atomic_store(&d->phase, 3 * r + 2);
		mm = new_mm(d);
		assert_int_equal(iopf_sva_bind_device(d->dev, mm, &sva), 0);
		/* the released mm's PASID, and nothing of it, goes to the new one */
		assert_int_equal(iopf_sva_get_pasid(sva), d->pasid);
		since_next = atomic_load(&d->published);
		atomic_store(&d->phase, 3 * r + 3);
	}
	atomic_store(&d->stop, true);
	assert_int_equal(pthread_join(thread, NULL), 0);
	atomic_store(&d->phase, 3 * ROUNDS + 1);
	retire_mm(d, sva, mm, ROUNDS);
	assert_int_equal(d->dup_owners, 0);

	/* every response was sent by the time the last unbind returned */
	total = atomic_load(&d->published);
	assert_true(total >= ROUNDS * OVERLAP);
	assert_int_equal(atomic_load(&d->bad_answers), 0);
	assert_int_equal(atomic_load(&d->nr_answers), total);
	for (size_t i = 0; i < total; i++) {
		check_fault(d, i);
		handled += d->owner[i] >= 0;
	}
	/* every round's mm handled the faults reported while it was bound */
	assert_true(handled >= ROUNDS);
	/* and most drains had faults to drain */
	assert_true(d->drains_with_faults >= ROUNDS / 2);
	print_message("%zu faults over %d rounds, %zu handled by an mm, "
		      "%u drains with faults in flight\n",
		      total, ROUNDS, handled, d->drains_with_faults);

	iopf_ctx_free(d->ctx);
	free(d->codes);
	free(d->answers);
	free(d->owner);
	free(d->log);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
