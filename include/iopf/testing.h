/* SPDX-License-Identifier: MIT */
/*
 * libiopf - test-only controls for allocation failure injection.
 *
 * They work only in a build configured with -Dfault_injection=true; in any
 * other build they return -EOPNOTSUPP. Every allocation the library makes
 * goes through one internal hook, which these functions steer.
 *
 * Thread safety: the counters are atomic, but arming a failure while other
 * threads allocate makes "the Nth allocation" depend on their timing.
 */
#ifndef IOPF_TESTING_H
#define IOPF_TESTING_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * iopf_testing_fail_nth() - make the Nth allocation from now fail
 * @n: 1 for the next allocation, 0 to stop failing
 *
 * Also restarts the count read by iopf_testing_alloc_count().
 *
 * Context: any thread.
 * Return: 0, -EINVAL for a negative @n, -EOPNOTSUPP without fault injection.
 */
int iopf_testing_fail_nth(long n);

/**
 * iopf_testing_alloc_count() - allocations since the last iopf_testing_fail_nth()
 *
 * Context: any thread.
 * Return: the count, or -EOPNOTSUPP without fault injection.
 */
long iopf_testing_alloc_count(void);

/**
 * iopf_testing_live_allocations() - allocations made and not yet freed
 *
 * Context: any thread.
 * Return: the count, or -EOPNOTSUPP without fault injection.
 */
long iopf_testing_live_allocations(void);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_TESTING_H */
