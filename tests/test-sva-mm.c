// SPDX-License-Identifier: MIT
/*
 * The address-space model: mapping rules, unmap cutting and splitting,
 * residency, the sparse page set against a reference bitmap, scale.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/sva.h>

#include "sva/mm.h"

#define PG  IOPF_MM_PAGE_SIZE
#define RWX (IOPF_PROT_READ | IOPF_PROT_WRITE | IOPF_PROT_EXEC)
#define PR  IOPF_FAULT_PERM_READ

struct fixture {
	struct iopf_ctx *ctx;
	struct iopf_mm *mm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	assert_int_equal(iopf_mm_new(f->ctx, &f->mm), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->mm)
		iopf_mm_put(f->mm);
	iopf_ctx_free(f->ctx);
	free(f);
	return 0;
}

/* Whether @addr is mapped at all (a no-permission fault would succeed). */
static bool mapped(struct iopf_mm *mm, uint64_t addr)
{
	return iopf_mm_handle_fault(mm, addr, 0) == 0;
}

static void test_new_and_null(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = (struct iopf_mm *)0x1;

	assert_int_equal(iopf_mm_new(NULL, &mm), -EINVAL);
	assert_ptr_equal(mm, (struct iopf_mm *)0x1);
	assert_int_equal(iopf_mm_new(f->ctx, NULL), -EINVAL);
	assert_int_equal(iopf_mm_pasid(f->mm), IOPF_PASID_INVALID);
	assert_int_equal(iopf_mm_pasid(NULL), IOPF_PASID_INVALID);
	assert_false(iopf_mm_page_present(NULL, 0));
	assert_int_equal(iopf_mm_resident_pages(NULL), 0);
	assert_int_equal(iopf_mm_map(NULL, 0, PG, RWX), -EINVAL);
	assert_int_equal(iopf_mm_unmap(NULL, 0, PG), -EINVAL);
	iopf_mm_put(NULL);
}

static void test_map_einval(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(iopf_mm_map(f->mm, 0x1000, 0, RWX), -EINVAL);
	assert_int_equal(iopf_mm_map(f->mm, 0x1001, PG, RWX), -EINVAL);
	assert_int_equal(iopf_mm_map(f->mm, 0x1000, PG + 1, RWX), -EINVAL);
	assert_int_equal(iopf_mm_map(f->mm, 0x1000, PG, 8), -EINVAL);
	assert_int_equal(iopf_mm_map(f->mm, 0x1000, PG, ~0u), -EINVAL);
	/* past the end of the 64-bit space, and exactly up to 2^64 */
	assert_int_equal(iopf_mm_map(f->mm, UINT64_MAX - PG + 1, 2 * PG, RWX),
			 -EINVAL);
	assert_int_equal(iopf_mm_map(f->mm, UINT64_MAX - PG + 1, PG, RWX),
			 -EINVAL);
	assert_int_equal(iopf_mm_unmap(f->mm, 0x1000, 0), -EINVAL);
	assert_int_equal(iopf_mm_unmap(f->mm, 0x1800, PG), -EINVAL);
	assert_int_equal(iopf_mm_unmap(f->mm, 0x1000, 0x800), -EINVAL);
	assert_int_equal(iopf_mm_unmap(f->mm, UINT64_MAX - PG + 1, 2 * PG),
			 -EINVAL);
	/* nothing was created by the failures */
	assert_false(mapped(f->mm, 0x1000));
	/* the highest page below 2^64 is usable */
	assert_int_equal(iopf_mm_map(f->mm, UINT64_MAX - 2 * PG + 1, PG, RWX),
			 0);
	assert_true(mapped(f->mm, UINT64_MAX - PG));
	/* PROT_NONE is a valid mapping */
	assert_int_equal(iopf_mm_map(f->mm, 0, PG, 0), 0);
}

static void test_map_eexist(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(iopf_mm_map(f->mm, 0x10000, 0x4000, RWX), 0);
	assert_int_equal(iopf_mm_map(f->mm, 0x10000, 0x4000, RWX), -EEXIST);
	assert_int_equal(iopf_mm_map(f->mm, 0xf000, 0x2000, RWX), -EEXIST);
	assert_int_equal(iopf_mm_map(f->mm, 0x13000, 0x2000, RWX), -EEXIST);
	assert_int_equal(iopf_mm_map(f->mm, 0x11000, 0x1000, RWX), -EEXIST);
	assert_int_equal(iopf_mm_map(f->mm, 0x8000, 0x20000, RWX), -EEXIST);
	/* touching on either side is fine */
	assert_int_equal(iopf_mm_map(f->mm, 0xf000, 0x1000, IOPF_PROT_READ), 0);
	assert_int_equal(iopf_mm_map(f->mm, 0x14000, 0x1000, IOPF_PROT_READ),
			 0);
	assert_false(mapped(f->mm, 0xe000));
	assert_true(mapped(f->mm, 0xf000));
	assert_true(mapped(f->mm, 0x14fff));
	assert_false(mapped(f->mm, 0x15000));
	/* between two mappings, into the gap and overlapping the second */
	assert_int_equal(iopf_mm_map(f->mm, 0x20000, 0x1000, RWX), 0);
	assert_int_equal(iopf_mm_map(f->mm, 0x16000, 0xb000, RWX), -EEXIST);
	assert_int_equal(iopf_mm_map(f->mm, 0x16000, 0xa000, RWX), 0);
}

static void test_unmap_shapes(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = f->mm;

	/* unmapping nothing */
	assert_int_equal(iopf_mm_unmap(mm, 0x100000, 0x1000), 0);
	assert_int_equal(iopf_mm_map(mm, 0x10000, 0x10000, RWX), 0); /* A */
	assert_int_equal(iopf_mm_map(mm, 0x30000, 0x10000, RWX), 0); /* B */
	assert_int_equal(iopf_mm_map(mm, 0x50000, 0x10000, RWX), 0); /* C */
	/* a hole in the middle of A splits it */
	assert_int_equal(iopf_mm_unmap(mm, 0x14000, 0x2000), 0);
	assert_true(mapped(mm, 0x13fff));
	assert_false(mapped(mm, 0x14000));
	assert_false(mapped(mm, 0x15fff));
	assert_true(mapped(mm, 0x16000));
	assert_int_equal(mm->nr_vmas, 4);
	/* the hole can be mapped again */
	assert_int_equal(iopf_mm_map(mm, 0x14000, 0x2000, IOPF_PROT_READ), 0);
	assert_int_equal(iopf_mm_unmap(mm, 0x14000, 0x2000), 0);
	/* the tail of A, all of B and the head of C at once */
	assert_int_equal(iopf_mm_unmap(mm, 0x18000, 0x3c000), 0);
	assert_true(mapped(mm, 0x17fff));
	assert_false(mapped(mm, 0x18000));
	assert_false(mapped(mm, 0x30000));
	assert_false(mapped(mm, 0x53fff));
	assert_true(mapped(mm, 0x54000));
	assert_true(mapped(mm, 0x5ffff));
	assert_int_equal(mm->nr_vmas, 3);
	/* exact whole mapping */
	assert_int_equal(iopf_mm_unmap(mm, 0x54000, 0xc000), 0);
	assert_int_equal(mm->nr_vmas, 2);
	/* a range covering everything */
	assert_int_equal(iopf_mm_unmap(mm, 0, 1ull << 40), 0);
	assert_int_equal(mm->nr_vmas, 0);
	assert_false(mapped(mm, 0x10000));
}

static void test_prot_is_kept_by_split(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = f->mm;

	assert_int_equal(iopf_mm_map(mm, 0x10000, 0x4000, IOPF_PROT_READ), 0);
	assert_int_equal(iopf_mm_unmap(mm, 0x11000, 0x1000), 0);
	assert_int_equal(
		iopf_mm_handle_fault(mm, 0x13000, IOPF_FAULT_PERM_WRITE),
		-EACCES);
	assert_int_equal(iopf_mm_handle_fault(mm, 0x13000, PR), 0);
	assert_int_equal(iopf_mm_handle_fault(mm, 0x11000, PR), -EFAULT);
}

static void test_residency(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = f->mm;

	assert_int_equal(iopf_mm_map(mm, 0x400000, 0x10000, IOPF_PROT_READ), 0);
	assert_false(iopf_mm_page_present(mm, 0x401000));
	assert_int_equal(iopf_mm_translate(mm, 0x401000, PR), -EFAULT);
	assert_int_equal(iopf_mm_handle_fault(mm, 0x401234, PR), 0);
	assert_true(iopf_mm_page_present(mm, 0x401000));
	assert_true(iopf_mm_page_present(mm, 0x401fff));
	assert_false(iopf_mm_page_present(mm, 0x402000));
	assert_int_equal(iopf_mm_resident_pages(mm), 1);
	assert_int_equal(iopf_mm_translate(mm, 0x401000, PR), 0);
	assert_int_equal(iopf_mm_translate(mm, 0x401000, IOPF_FAULT_PERM_WRITE),
			 -EFAULT);
	/* faulting twice keeps one page */
	assert_int_equal(iopf_mm_handle_fault(mm, 0x401000, PR), 0);
	assert_int_equal(iopf_mm_resident_pages(mm), 1);
	/* failures make nothing resident */
	assert_int_equal(
		iopf_mm_handle_fault(mm, 0x402000, IOPF_FAULT_PERM_EXEC),
		-EACCES);
	assert_int_equal(iopf_mm_handle_fault(mm, 0x500000, PR), -EFAULT);
	assert_int_equal(iopf_mm_resident_pages(mm), 1);
	/* unmap drops residency; a new mapping there starts empty */
	assert_int_equal(iopf_mm_unmap(mm, 0x401000, PG), 0);
	assert_false(iopf_mm_page_present(mm, 0x401000));
	assert_int_equal(iopf_mm_resident_pages(mm), 0);
	assert_int_equal(iopf_mm_map(mm, 0x401000, PG, RWX), 0);
	assert_false(iopf_mm_page_present(mm, 0x401000));
	assert_int_equal(
		iopf_mm_handle_fault(mm, 0x401000, IOPF_FAULT_PERM_WRITE), 0);
	assert_true(iopf_mm_page_present(mm, 0x401000));
}

static void test_exited(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = f->mm;

	assert_int_equal(iopf_mm_map(mm, 0x10000, 0x1000, RWX), 0);
	assert_int_equal(iopf_mm_handle_fault(mm, 0x10000, PR), 0);
	/* a bind's reference keeps the structure; the owner exits */
	iopf_mm_get(mm);
	iopf_mm_put(mm);
	f->mm = NULL;
	assert_true(atomic_load(&mm->exited));
	assert_int_equal(iopf_mm_handle_fault(mm, 0x10000, PR), -ESRCH);
	assert_int_equal(iopf_mm_translate(mm, 0x10000, PR), -EFAULT);
	assert_int_equal(iopf_mm_map(mm, 0x20000, 0x1000, RWX), -EINVAL);
	assert_false(iopf_mm_page_present(mm, 0x10000));
	iopf_mm_drop(mm);
}

static void test_ctx_frees_mm(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm2;

	/* never put: iopf_ctx_free() in teardown releases both (ASan checks) */
	assert_int_equal(iopf_mm_new(f->ctx, &mm2), 0);
	assert_int_equal(iopf_mm_map(mm2, 0, 1ull << 30, RWX), 0);
	for (uint64_t a = 0; a < (1ull << 30); a += 1ull << 21)
		assert_int_equal(iopf_mm_handle_fault(mm2, a, PR), 0);
	f->mm = NULL; /* and the fixture's mm too */
}

/* A million resident pages cost chunks, not allocations per page. */
static void test_scale_dense(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = f->mm;
	const uint64_t n = 1u << 20;

	assert_int_equal(iopf_mm_map(mm, 1ull << 40, n * PG, IOPF_PROT_READ),
			 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(
			iopf_mm_handle_fault(mm, (1ull << 40) + i * PG, 0), 0);
	assert_int_equal(iopf_mm_resident_pages(mm), n);
	assert_int_equal(mm->resident.used, n / IOPF_PAGESET_CHUNK_PAGES);
	/* one hash slot per chunk, at most a 1/2 load */
	assert_true(((size_t)1 << mm->resident.shift) <= 4 * mm->resident.used);
	assert_int_equal(
		iopf_mm_unmap(mm, (1ull << 40) + n / 2 * PG, n / 4 * PG), 0);
	assert_int_equal(iopf_mm_resident_pages(mm), n - n / 4);
	assert_true(iopf_mm_page_present(mm, (1ull << 40) + (n / 2 - 1) * PG));
	assert_false(iopf_mm_page_present(mm, (1ull << 40) + n / 2 * PG));
	assert_true(iopf_mm_page_present(mm, (1ull << 40) + 3 * n / 4 * PG));
}

static void count_page(uint64_t addr, void *priv)
{
	(void)addr;
	(*(uint64_t *)priv)++;
}

/* Pages 1 GiB apart over a 2^47 space; a huge unmap walks the table. */
static void test_scale_sparse(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm = f->mm;
	const uint64_t n = 1u << 16;
	uint64_t seen = 0;

	assert_int_equal(iopf_mm_map(mm, 0, 1ull << 47, RWX), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(iopf_mm_handle_fault(mm, i << 30, PR), 0);
	assert_int_equal(iopf_mm_resident_pages(mm), n);
	assert_int_equal(mm->resident.used, n);
	iopf_mm_for_each_resident(mm, count_page, &seen);
	assert_int_equal(seen, n);
	/* drop the upper half with one 2^46-byte unmap (table walk) */
	assert_int_equal(iopf_mm_unmap(mm, n / 2 << 30, 1ull << 46), 0);
	assert_int_equal(iopf_mm_resident_pages(mm), n / 2);
	assert_int_equal(mm->resident.used, n / 2);
	for (uint64_t i = 0; i < n; i += 997)
		assert_int_equal(iopf_mm_page_present(mm, i << 30), i < n / 2);
}

/* The page set against a plain bitmap, with random adds and range clears. */
static void test_pageset_random(void **state)
{
	enum { UNIVERSE = 1 << 15 };
	static uint8_t ref[UNIVERSE];
	struct iopf_pageset set;
	uint64_t count = 0;
	unsigned int seed = 12345;

	(void)state;
	memset(ref, 0, sizeof(ref));
	iopf_pageset_init(&set);
	for (int op = 0; op < 200000; op++) {
		uint64_t p = (uint64_t)rand_r(&seed) % UNIVERSE;

		if (rand_r(&seed) % 8) {
			assert_int_equal(iopf_pageset_add(&set, p), 0);
			count += !ref[p];
			ref[p] = 1;
		} else {
			/* short ranges look chunks up, long ones walk the table */
			uint64_t len =
				rand_r(&seed) % 4 ?
					(uint64_t)rand_r(&seed) % 700 :
					(uint64_t)rand_r(&seed) % UNIVERSE;
			uint64_t end = p + len > UNIVERSE ? UNIVERSE : p + len;

			iopf_pageset_clear_range(&set, p, end);
			for (uint64_t q = p; q < end; q++) {
				count -= ref[q];
				ref[q] = 0;
			}
		}
		assert_int_equal(set.nr_pages, count);
		if (op % 5000 == 0)
			for (uint64_t q = 0; q < UNIVERSE; q++)
				assert_int_equal(iopf_pageset_test(&set, q),
						 ref[q]);
	}
	for (uint64_t q = 0; q < UNIVERSE; q++)
		assert_int_equal(iopf_pageset_test(&set, q), ref[q]);
	iopf_pageset_clear_range(&set, 0, UINT64_MAX);
	assert_int_equal(set.nr_pages, 0);
	assert_int_equal(set.used, 0);
	iopf_pageset_fini(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_and_null, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_map_einval, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_map_eexist, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unmap_shapes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prot_is_kept_by_split,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_residency, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_frees_mm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_scale_dense, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_scale_sparse, setup,
						teardown),
		cmocka_unit_test(test_pageset_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
