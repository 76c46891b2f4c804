// SPDX-License-Identifier: MIT
/*
 * The single allocation hook of libiopf.
 *
 * In a normal build these are thin wrappers over malloc. With
 * -Dfault_injection=true they also count live allocations and can fail the
 * Nth one (the kernel's fail_nth idea), driven by the test-only controls in
 * <iopf/testing.h>.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "export.h"

#ifdef IOPF_FAULT_INJECTION
#include <urcu/uatomic.h>

#include <iopf/testing.h>

static long fail_nth; /* 0: off; N: fail the Nth allocation from now */
static long alloc_seen; /* allocations since the last arm */
static long alloc_live; /* allocations not yet freed */

static int should_fail(void)
{
	long n = uatomic_read(&fail_nth);

	if (!n)
		return 0;
	return uatomic_add_return(&alloc_seen, 1) == n;
}

IOPF_EXPORT int iopf_testing_fail_nth(long n)
{
	if (n < 0)
		return -EINVAL;
	uatomic_set(&alloc_seen, 0);
	uatomic_set(&fail_nth, n);
	return 0;
}

IOPF_EXPORT long iopf_testing_alloc_count(void)
{
	return uatomic_read(&alloc_seen);
}

IOPF_EXPORT long iopf_testing_live_allocations(void)
{
	return uatomic_read(&alloc_live);
}

#define ACCOUNT(p)                                \
	do {                                      \
		if (p)                            \
			uatomic_inc(&alloc_live); \
	} while (0)
#define UNACCOUNT(p)                              \
	do {                                      \
		if (p)                            \
			uatomic_dec(&alloc_live); \
	} while (0)
#else
#include <iopf/testing.h>

static inline int should_fail(void)
{
	return 0;
}

IOPF_EXPORT int iopf_testing_fail_nth(long n)
{
	(void)n;
	return -EOPNOTSUPP;
}

IOPF_EXPORT long iopf_testing_alloc_count(void)
{
	return -EOPNOTSUPP;
}

IOPF_EXPORT long iopf_testing_live_allocations(void)
{
	return -EOPNOTSUPP;
}

#define ACCOUNT(p)   ((void)(p))
#define UNACCOUNT(p) ((void)(p))
#endif

void *iopf_malloc(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = malloc(size);
	ACCOUNT(p);
	return p;
}

void *iopf_zalloc(size_t size)
{
	return iopf_calloc(1, size);
}

void *iopf_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = calloc(nmemb, size);
	ACCOUNT(p);
	return p;
}

/*
 * Zeroed memory aligned to @align (a power of two, a multiple of
 * sizeof(void *)), for structures laid out by cache line. Freed with
 * iopf_mfree().
 */
void *iopf_zalloc_aligned(size_t align, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	if (posix_memalign(&p, align, size))
		return NULL;
	memset(p, 0, size);
	ACCOUNT(p);
	return p;
}

char *iopf_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = iopf_malloc(len);

	if (p)
		memcpy(p, s, len);
	return p;
}

void iopf_mfree(void *ptr)
{
	UNACCOUNT(ptr);
	free(ptr);
}
