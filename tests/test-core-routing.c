// SPDX-License-Identifier: MIT
/*
 * PASID routing: the rules of find_fault_handler() (KERNEL-SEMANTICS.md
 * §3.3, rules 1-8) and iopf_attach_handle_get().
 *
 * Rule 8 (all devices of a multi-device iommu_group share one routing
 * table) is out of scope: libiopf has one routing table per device. What
 * the rule keeps per device (partials, fault param) is tested here.
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
#include <time.h>
#include <stdio.h>

#include <cmocka.h>

#include <iopf/iopf.h>

#include "fixtures.h"

#define ID0	FX_DEV_ID(0)
#define INVALID IOPF_PAGE_RESP_INVALID

static int setup_plain(void **state)
{
	struct fx_opts opts = { .no_attach = true };

	return fx_setup_opts(state, &opts);
}

/* fx_setup_upt: user_pasid_table, nothing attached. */

static struct iopf_domain *domain(struct fx *f, enum iopf_domain_type type)
{
	struct iopf_domain *d = NULL;

	assert_int_equal(fx_domain_new(f, type, &f->rec, &d), 0);
	return d;
}

/* Report a last-page request; assert it reached @handle. */
static void assert_routed(struct fx *f, uint32_t flags, uint32_t pasid,
			  struct iopf_attach_handle *handle)
{
	size_t calls = fx_nr_calls(&f->rec);
	size_t resps = fx_nr_responses(f);
	struct fx_call c;

	assert_int_equal(fx_report(f->dev[0], flags | FX_LAST, pasid, 1, 0), 0);
	assert_int_equal(fx_nr_calls(&f->rec), calls + 1);
	c = fx_call_at(&f->rec, calls);
	assert_ptr_equal(c.handle, handle);
	assert_ptr_equal(c.domain, handle->domain);
	assert_int_equal(c.last.prm.pasid, pasid);
	assert_int_equal(fx_nr_responses(f), resps);
}

/* Report a last-page request; assert nobody got it: INVALID, -EINVAL. */
static void assert_unrouted(struct fx *f, uint32_t flags, uint32_t pasid)
{
	size_t calls = fx_nr_calls(&f->rec);
	size_t resps = fx_nr_responses(f);

	assert_int_equal(fx_report(f->dev[0], flags | FX_LAST, pasid, 1, 0),
			 -EINVAL);
	assert_int_equal(fx_nr_calls(&f->rec), calls);
	assert_int_equal(fx_nr_responses(f), resps + 1);
	fx_assert_response(f, resps, ID0, pasid, 1, INVALID);
}

/* Rule 1: PASID_VALID and a handle at the PASID: that handle, any type. */
static void route_pasid_handle(void **state)
{
	static const enum iopf_domain_type types[] = { IOPF_DOMAIN_PAGING,
						       IOPF_DOMAIN_SVA,
						       IOPF_DOMAIN_NESTED,
						       IOPF_DOMAIN_IDENTITY };
	struct fx *f = *state;
	struct iopf_attach_handle h[4], rid;

	/* A RID handle must not capture PASID faults. */
	assert_int_equal(iopf_attach_device(domain(f, IOPF_DOMAIN_NESTED),
					    f->dev[0], &rid),
			 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(iopf_attach_device_pasid(domain(f, types[i]),
							  f->dev[0], i + 1,
							  &h[i]),
				 0);
	for (uint32_t i = 0; i < 4; i++) {
		assert_routed(f, FX_PV, i + 1, &h[i]);
		assert_int_equal(iopf_domain_type(h[i].domain), types[i]);
	}
}

/* Rule 2 without user_pasid_table: no handle at the PASID, no handler. */
static void route_pasid_no_handle(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle rid;

	assert_int_equal(iopf_attach_device(domain(f, IOPF_DOMAIN_NESTED),
					    f->dev[0], &rid),
			 0);
	assert_int_equal(iopf_attach_device_pasid(domain(f, IOPF_DOMAIN_PAGING),
						  f->dev[0], 6, NULL),
			 0);
	assert_unrouted(f, FX_PV, 5); /* absent */
	assert_unrouted(f, FX_PV, 6); /* bare */
	/* Beyond the device's max_pasids: no entry can exist. */
	assert_unrouted(f, FX_PV, FX_MAX_PASIDS + 40);
}

/* Rule 2 with user_pasid_table: the NESTED RID handle takes the fault. */
static void route_upt_nested(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle rid, h7;

	assert_int_equal(iopf_attach_device(domain(f, IOPF_DOMAIN_NESTED),
					    f->dev[0], &rid),
			 0);
	assert_int_equal(iopf_attach_device_pasid(domain(f, IOPF_DOMAIN_PAGING),
						  f->dev[0], 6, NULL),
			 0);
	assert_int_equal(iopf_attach_device_pasid(domain(f, IOPF_DOMAIN_PAGING),
						  f->dev[0], 7, &h7),
			 0);
	assert_routed(f, FX_PV, 5, &rid); /* absent */
	assert_routed(f, FX_PV, 6, &rid); /* bare */
	assert_routed(f, FX_PV, 7, &h7); /* rule 1 first */
	assert_routed(f, FX_PV, FX_MAX_PASIDS + 40, &rid); /* out of range */
	assert_routed(f, FX_PV, (1u << IOPF_PASID_BITS) - 1, &rid);
}

/* Rule 2 with user_pasid_table: a RID handle that is not NESTED. */
static void route_upt_not_nested(void **state)
{
	static const enum iopf_domain_type types[] = { IOPF_DOMAIN_PAGING,
						       IOPF_DOMAIN_SVA,
						       IOPF_DOMAIN_IDENTITY };
	struct fx *f = *state;
	struct iopf_attach_handle rid;
	struct iopf_domain *d;

	for (size_t i = 0; i < 3; i++) {
		d = domain(f, types[i]);
		assert_int_equal(iopf_attach_device(d, f->dev[0], &rid), 0);
		assert_unrouted(f, FX_PV, 5);
		/* Rule 3 is unaffected. */
		assert_routed(f, 0, 0, &rid);
		iopf_detach_device(d, f->dev[0]);
	}
	/* A bare NESTED RID attach is no fallback either. */
	d = domain(f, IOPF_DOMAIN_NESTED);
	assert_int_equal(iopf_attach_device(d, f->dev[0], NULL), 0);
	assert_unrouted(f, FX_PV, 5);
	assert_unrouted(f, 0, 0);
}

/* Rule 4 (and 2): a NESTED RID handle whose domain has no handler. */
static void route_upt_nested_no_handler(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle rid;
	struct iopf_domain *d;

	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_NESTED, NULL, NULL, &d), 0);
	assert_int_equal(iopf_attach_device(d, f->dev[0], &rid), 0);
	assert_unrouted(f, FX_PV, 5);
	assert_unrouted(f, 0, 0);
}

/* Rule 3: no PASID_VALID: the RID handle, any type; pasid is ignored. */
static void route_no_pasid_to_rid(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle rid, h7;

	assert_int_equal(iopf_attach_device(domain(f, IOPF_DOMAIN_IDENTITY),
					    f->dev[0], &rid),
			 0);
	assert_int_equal(iopf_attach_device_pasid(domain(f, IOPF_DOMAIN_SVA),
						  f->dev[0], 7, &h7),
			 0);
	assert_routed(f, 0, 0, &rid);
	assert_routed(f, 0, 7, &rid);
	assert_routed(f, 0, 0xffffffffu, &rid); /* not checked without PV */
	assert_routed(f, FX_PV, 7, &h7);
}

/* Rule 4: a handle whose domain has no iopf_handler: no handler. */
static void route_no_iopf_handler(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle rid, h2;
	struct iopf_domain *d;

	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL, &d), 0);
	assert_int_equal(iopf_attach_device(d, f->dev[0], &rid), 0);
	assert_int_equal(iopf_attach_device_pasid(d, f->dev[0], 2, &h2), 0);
	assert_unrouted(f, 0, 0);
	assert_unrouted(f, FX_PV, 2);
}

/* Rule 6: PASID_VALID with PASID 0 looks up index 0, the RID. */
static void route_pasid_zero_is_rid(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle rid;

	assert_unrouted(f, FX_PV, 0);
	assert_int_equal(iopf_attach_device(domain(f, IOPF_DOMAIN_PAGING),
					    f->dev[0], &rid),
			 0);
	assert_routed(f, FX_PV, 0, &rid);
}

/* Rule 7: bare attaches are invisible to the fault path. */
static void route_bare_invisible(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *d = domain(f, IOPF_DOMAIN_NESTED);
	struct iopf_attach_handle *out = NULL;

	assert_int_equal(iopf_attach_device(d, f->dev[0], NULL), 0);
	assert_int_equal(iopf_attach_device_pasid(d, f->dev[0], 3, NULL), 0);
	assert_unrouted(f, 0, 0);
	assert_unrouted(f, FX_PV, 3);
	assert_unrouted(f, FX_PV, 4);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 0, IOPF_DOMAIN_ANY, &out),
		-ENOENT);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 3, IOPF_DOMAIN_ANY, &out),
		-ENOENT);
	assert_null(out);
}

/* Routing follows detach and replace at once. */
static void route_detach_replace(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *a = domain(f, IOPF_DOMAIN_PAGING);
	struct iopf_domain *b = domain(f, IOPF_DOMAIN_PAGING);
	struct iopf_attach_handle h1, h2, h3;

	assert_int_equal(iopf_attach_device_pasid(a, f->dev[0], 9, &h1), 0);
	assert_routed(f, FX_PV, 9, &h1);
	assert_int_equal(iopf_replace_device_pasid(b, f->dev[0], 9, &h2), 0);
	assert_routed(f, FX_PV, 9, &h2);
	assert_int_equal(iopf_replace_device_pasid(b, f->dev[0], 9, &h3), 0);
	assert_routed(f, FX_PV, 9, &h3);
	iopf_detach_device_pasid(b, f->dev[0], 9);
	assert_unrouted(f, FX_PV, 9);
}

/*
 * Replace under fire: one thread swaps PASID 11 between domain 0 (handle 0)
 * and domain 1 (handle 1) while this one reports on it. A report reads the
 * domain and the handle from the routing slot; it must see both of the
 * same attachment, so each domain's own handler (distinct functions, not
 * the recorder, which finds its domain through the handle) checks that the
 * group carries its handle. The slot is never empty, so every report is
 * routed, and each group gets exactly one response.
 */
#define SWAP_PASID	  11
#define SWAP_PER_REPLACE  200
#define SWAP_MIN_REPLACES 100
#define SWAP_TIMEOUT_NS	  (60ull * 1000000000ull)

/*
 * The two threads go in lockstep so that every replace overlaps reports,
 * whatever the scheduler does: replace r starts once the reporter is
 * SWAP_PER_REPLACE / 2 reports past the start of replace r - 1, and the
 * reporter then waits for it to start before going on with its next
 * SWAP_PER_REPLACE reports, which run against its publication and grace
 * period.
 */
static struct swap_state {
	struct iopf_domain *domain[2];
	struct iopf_attach_handle handle[2];
	atomic_ulong calls[2];
	atomic_ulong mixed; /* handler i called with the other handle */
	atomic_ulong reports;
	atomic_ulong started; /* replaces */
	atomic_ulong replaces; /* done */
	atomic_int replace_err;
	atomic_bool stop;
	struct iopf_device *dev;
} swap;

static int swap_handle(struct iopf_group *group, int i)
{
	if (iopf_group_attach_handle(group) != &swap.handle[i])
		atomic_fetch_add(&swap.mixed, 1);
	atomic_fetch_add(&swap.calls[i], 1);
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
	return 0;
}

static int swap_handler0(struct iopf_group *group)
{
	return swap_handle(group, 0);
}

static int swap_handler1(struct iopf_group *group)
{
	return swap_handle(group, 1);
}

/*
 * Spin a little before yielding: a yield on a busy machine can hand the
 * CPU away for a whole time slice, and the threads would stop overlapping.
 */
static void swap_pause(unsigned int *spins)
{
	if (++*spins < 4096)
		__asm__ __volatile__("" ::: "memory");
	else
		sched_yield();
}

/* Wait for the reporter to be half-way through the reports of replace @r. */
static bool swap_wait_reports(unsigned long r)
{
	unsigned long want = r * SWAP_PER_REPLACE + SWAP_PER_REPLACE / 2;
	unsigned int spins = 0;

	while (atomic_load(&swap.reports) < want) {
		if (atomic_load(&swap.stop))
			return false;
		swap_pause(&spins);
	}
	return true;
}

static void *swap_replacer(void *arg)
{
	unsigned long r = 0;

	(void)arg;
	for (int i = 1; swap_wait_reports(r); i ^= 1) {
		int ret;

		atomic_store(&swap.started, r + 1);
		ret = iopf_replace_device_pasid(swap.domain[i], swap.dev,
						SWAP_PASID, &swap.handle[i]);
		if (ret) {
			atomic_store(&swap.replace_err, ret);
			break;
		}
		atomic_store(&swap.replaces, ++r);
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Report until SWAP_MIN_REPLACES replaces are done; the number of reports. */
static unsigned long swap_report(void)
{
	uint64_t deadline = now_ns() + SWAP_TIMEOUT_NS;
	unsigned long n = 0;
	unsigned int spins = 0;

	while (atomic_load(&swap.replaces) < SWAP_MIN_REPLACES) {
		unsigned long limit =
			atomic_load(&swap.started) * SWAP_PER_REPLACE +
			SWAP_PER_REPLACE / 2;

		if (atomic_load(&swap.replace_err) || now_ns() > deadline)
			break;
		if (n >= limit) {
			swap_pause(&spins);
			continue;
		}
		spins = 0;
		assert_int_equal(fx_report(swap.dev, FX_PV | FX_LAST,
					   SWAP_PASID, n & 511, n << 12),
				 0);
		atomic_store(&swap.reports, ++n);
	}
	return n;
}

static void route_replace_while_reporting(void **state)
{
	struct fx *f = *state;
	pthread_t thread;
	unsigned long n;

	memset(&swap, 0, sizeof(swap));
	swap.dev = f->dev[0];
	assert_int_equal(iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING,
					 swap_handler0, NULL, &swap.domain[0]),
			 0);
	assert_int_equal(iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING,
					 swap_handler1, NULL, &swap.domain[1]),
			 0);
	assert_int_equal(iopf_attach_device_pasid(swap.domain[0], swap.dev,
						  SWAP_PASID, &swap.handle[0]),
			 0);
	assert_int_equal(pthread_create(&thread, NULL, swap_replacer, NULL), 0);
	n = swap_report();
	atomic_store(&swap.stop, true);
	assert_int_equal(pthread_join(thread, NULL), 0);

	assert_int_equal(atomic_load(&swap.replace_err), 0);
	assert_true(atomic_load(&swap.replaces) >= SWAP_MIN_REPLACES);
	assert_true(atomic_load(&swap.calls[0]) > 0);
	assert_true(atomic_load(&swap.calls[1]) > 0);
	assert_int_equal(atomic_load(&swap.mixed), 0);
	assert_int_equal(
		atomic_load(&swap.calls[0]) + atomic_load(&swap.calls[1]), n);
	if (getenv("SWAP_DEBUG"))
		fprintf(stderr, "DBG n=%lu rep=%lu c0=%lu c1=%lu\n", n,
			atomic_load(&swap.replaces),
			atomic_load(&swap.calls[0]),
			atomic_load(&swap.calls[1]));
	/* One answer per group, in report order, all from a handler. */
	assert_int_equal(fx_nr_responses(f), n);
	for (unsigned long i = 0; i < n; i++)
		fx_assert_response(f, i, ID0, SWAP_PASID, i & 511,
				   IOPF_PAGE_RESP_SUCCESS);
}

/* Rule 8, the per-device part: partials never mix across devices. */
static void route_devices_separate(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_report(f->dev[0], 0, 0, 1, 0x1000), 0);
	assert_int_equal(fx_report(f->dev[1], 0, 0, 1, 0x2000), 0);
	assert_int_equal(fx_report(f->dev[1], FX_LAST, 0, 1, 0x3000), 0);
	assert_int_equal(fx_report(f->dev[0], FX_LAST, 0, 1, 0x4000), 0);
	assert_int_equal(fx_call_at(&f->rec, 0).dev_id, FX_DEV_ID(1));
	assert_int_equal(fx_call_at(&f->rec, 0).fault_count, 2);
	assert_int_equal(fx_call_at(&f->rec, 0).faults[0].prm.addr, 0x2000);
	assert_int_equal(fx_call_at(&f->rec, 1).dev_id, FX_DEV_ID(0));
	assert_int_equal(fx_call_at(&f->rec, 1).fault_count, 2);
	assert_int_equal(fx_call_at(&f->rec, 1).faults[0].prm.addr, 0x1000);
	assert_ptr_equal(fx_call_at(&f->rec, 1).handle, &f->handle[0]);
	assert_ptr_equal(fx_call_at(&f->rec, 0).handle, &f->handle[1]);
}

static int setup_two(void **state)
{
	struct fx_opts opts = { .nr_devs = 2 };

	return fx_setup_opts(state, &opts);
}

/* The table covers all 2^20 PASIDs, on every level. */
static void route_full_pasid_space(void **state)
{
	static const uint32_t pasids[] = { 1, 1023, 1024, 5000,
					   (1u << IOPF_PASID_BITS) - 1 };
	struct fx *f = *state;
	struct iopf_attach_handle h[5];
	struct iopf_device *dev;
	struct iopf_domain *d = domain(f, IOPF_DOMAIN_SVA);

	/* Swap dev[0] for a device with the whole PASID space. */
	iopf_device_free(f->dev[0]);
	dev = fx_device_new(f->iommu, 0x77, 1u << IOPF_PASID_BITS);
	f->dev[0] = dev;
	assert_int_equal(iopf_queue_add_device(f->queue, dev), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(
			iopf_attach_device_pasid(d, dev, pasids[i], &h[i]), 0);
	for (size_t i = 0; i < 5; i++) {
		struct iopf_attach_handle *out = NULL;

		assert_routed(f, FX_PV, pasids[i], &h[i]);
		assert_int_equal(iopf_attach_handle_get(dev, pasids[i],
							IOPF_DOMAIN_SVA, &out),
				 0);
		assert_ptr_equal(out, &h[i]);
	}
	assert_int_equal(fx_report(dev, FX_PV | FX_LAST, 1025, 1, 0), -EINVAL);
}

/* iopf_attach_handle_get(): -ENOENT, -EBUSY on a type mismatch, ANY. */
static void route_attach_handle_get(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h, *out = NULL;

	assert_int_equal(iopf_attach_device_pasid(domain(f, IOPF_DOMAIN_SVA),
						  f->dev[0], 4, &h),
			 0);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 5, IOPF_DOMAIN_ANY, &out),
		-ENOENT);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 0, IOPF_DOMAIN_ANY, &out),
		-ENOENT);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 4, IOPF_DOMAIN_PAGING, &out),
		-EBUSY);
	assert_null(out);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 4, IOPF_DOMAIN_SVA, &out), 0);
	assert_ptr_equal(out, &h);
	out = NULL;
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 4, IOPF_DOMAIN_ANY, &out), 0);
	assert_ptr_equal(out, &h);
	assert_int_equal(iopf_attach_handle_get(f->dev[0], FX_MAX_PASIDS,
						IOPF_DOMAIN_ANY, &out),
			 -EINVAL);
	assert_int_equal(iopf_attach_handle_get(NULL, 4, IOPF_DOMAIN_ANY, &out),
			 -EINVAL);
	assert_int_equal(
		iopf_attach_handle_get(f->dev[0], 4, IOPF_DOMAIN_ANY, NULL),
		-EINVAL);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(route_pasid_handle, setup_plain),
		T(route_pasid_no_handle, setup_plain),
		T(route_upt_nested, fx_setup_upt),
		T(route_upt_not_nested, fx_setup_upt),
		T(route_upt_nested_no_handler, fx_setup_upt),
		T(route_no_pasid_to_rid, setup_plain),
		T(route_no_pasid_to_rid, fx_setup_upt),
		T(route_no_iopf_handler, setup_plain),
		T(route_pasid_zero_is_rid, setup_plain),
		T(route_pasid_zero_is_rid, fx_setup_upt),
		T(route_bare_invisible, setup_plain),
		T(route_bare_invisible, fx_setup_upt),
		T(route_detach_replace, setup_plain),
		T(route_devices_separate, setup_two),
		T(route_full_pasid_space, setup_plain),
		T(route_attach_handle_get, setup_plain),
		T(route_replace_while_reporting, setup_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
