/* SPDX-License-Identifier: MIT */
/*
 * The response invariant checker, shared by stress tests and fuzzers.
 *
 * A test tags every fault it reports with a unique number in
 * prm.private_data[0] (inv_tag()), then tells the checker what happened:
 * "reported" (with the return value of iopf_report_device_fault()),
 * "responded" (what the backend's page_response saw: it carries the fault
 * it answers, so its tag), and optionally "delivered"/"freed" for groups a
 * handler received and released. Events may arrive in any order and from
 * any thread. inv_check() then verifies, per (dev_id, tag):
 *
 *  - a last-page request that returned 0 got exactly one response;
 *  - a request that returned -EINVAL got exactly one INVALID response (the
 *    core's error path answers partial requests too), unless the core
 *    rejected it as malformed (type != PAGE_REQ, PASID_VALID with
 *    pasid >= 2^20): then it got none;
 *  - a partial request that returned 0 or -ENOMEM got no response;
 *  - no other return value;
 *  - every response answers a reported fault, with its PASID and grpid;
 *  - a group was delivered at most once and freed at most once (and,
 *    with INV_ALL_FREED, every delivered group was freed).
 *
 * The checker itself uses plain malloc, never the library's allocator, so
 * it does not disturb iopf_testing_live_allocations().
 */
#ifndef IOPF_TEST_INVARIANTS_H
#define IOPF_TEST_INVARIANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <iopf/iopf.h>

struct inv;

/* inv_check() flags */
#define INV_ALL_FREED (1u << 0) /* every delivered group was freed */

int inv_new(struct inv **out);
void inv_free(struct inv *inv);

/* A fresh tag (> 0), unique within @inv; stored in prm.private_data[0]. */
uint64_t inv_next_tag(struct inv *inv);
void inv_tag(struct inv *inv, struct iopf_fault *evt);
uint64_t inv_fault_tag(const struct iopf_fault *evt);

/* iopf_report_device_fault(dev, evt) returned @ret. */
void inv_reported(struct inv *inv, uint32_t dev_id,
		  const struct iopf_fault *evt, int ret);
/* The backend answered @evt with @msg. */
void inv_responded(struct inv *inv, uint32_t dev_id,
		   const struct iopf_fault *evt,
		   const struct iopf_page_response *msg);
/* Feed the mock's responses from *cursor on; *cursor moves to the end. */
void inv_feed_mock(struct inv *inv, struct iopf_mock *mock, size_t *cursor);
/* A handler received @group / is about to free it (keyed by its last fault). */
void inv_group_delivered(struct inv *inv, const struct iopf_group *group);
void inv_group_freed(struct inv *inv, const struct iopf_group *group);

/* Counts of what was fed, for the test's own sanity checks. */
struct inv_stats {
	size_t reported, reported_last, responses, delivered, freed;
	size_t expected_responses; /* what the rules above expect in total */
};
void inv_stats(struct inv *inv, struct inv_stats *out);

/*
 * Check every rule; print up to a few violations to @out (may be NULL).
 * Return: the number of violations.
 */
size_t inv_check(struct inv *inv, unsigned int flags, FILE *out);

/*
 * iopf_testing_live_allocations() must be 0 (call once every context is
 * freed). Return: 0, -EOPNOTSUPP without fault injection, or the live count.
 */
long inv_check_allocations(void);

#endif
