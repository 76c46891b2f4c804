// SPDX-License-Identifier: MIT
/*
 * The context's global PASID space: lowest free from 1, the device's
 * max_pasids as the limit, reuse after free, exhaustion, and the mm's
 * PASID: taken at the first bind, given back when the mm is released.
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

struct fixture {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_device *big; /* max_pasids 2^20 */
	struct iopf_device *small; /* max_pasids 8: PASIDs 1..7 */
	unsigned int allocated, freed;
	uint32_t last_pasid;
};

static void sink(const struct iopf_trace_event *ev, void *priv)
{
	struct fixture *f = priv;

	if (ev->type == IOPF_TRACE_PASID_ALLOCATED) {
		f->allocated++;
		f->last_pasid = ev->pasid;
	} else if (ev->type == IOPF_TRACE_PASID_FREED) {
		f->freed++;
		f->last_pasid = ev->pasid;
	}
}

static struct iopf_device *new_dev(struct fixture *f, uint32_t id, uint32_t max)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = id,
		.max_pasids = max,
	};
	struct iopf_device *dev;

	assert_int_equal(iopf_device_new(iopf_mock_iommu(f->mock), &attr, &dev),
			 0);
	return dev;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	assert_int_equal(iopf_trace_set_sink(f->ctx, sink, f), 0);
	assert_int_equal(iopf_mock_new(f->ctx, NULL, false, &f->mock), 0);
	f->big = new_dev(f, 1, 1u << 20);
	f->small = new_dev(f, 2, 8);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iopf_ctx_free(f->ctx);
	free(f);
	return 0;
}

static uint32_t alloc_ok(struct iopf_device *dev)
{
	uint32_t p = IOPF_PASID_INVALID;

	assert_int_equal(iopf_alloc_global_pasid(dev, &p), 0);
	return p;
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct iopf_device *none = new_dev(f, 3, 0), *one = new_dev(f, 4, 1);
	uint32_t p = 0xdead;

	assert_int_equal(iopf_alloc_global_pasid(NULL, &p), -EINVAL);
	assert_int_equal(iopf_alloc_global_pasid(f->big, NULL), -EINVAL);
	/* no usable PASID on these devices */
	assert_int_equal(iopf_alloc_global_pasid(none, &p), -ENOSPC);
	assert_int_equal(iopf_alloc_global_pasid(one, &p), -ENOSPC);
	assert_int_equal(p, 0xdead);
	/* frees of nothing do nothing */
	iopf_free_global_pasid(NULL, 1);
	iopf_free_global_pasid(f->ctx, IOPF_NO_PASID);
	iopf_free_global_pasid(f->ctx, 1u << 20);
	iopf_free_global_pasid(f->ctx, IOPF_PASID_INVALID);
	iopf_free_global_pasid(f->ctx, 5);
	assert_int_equal(f->allocated, 0);
	assert_int_equal(f->freed, 0);
	assert_int_equal(alloc_ok(f->big), 1);
}

static void test_order_and_reuse(void **state)
{
	struct fixture *f = *state;

	for (uint32_t i = 1; i <= 100; i++)
		assert_int_equal(alloc_ok(f->big), i);
	assert_int_equal(f->allocated, 100);
	assert_int_equal(f->last_pasid, 100);
	iopf_free_global_pasid(f->ctx, 70);
	assert_int_equal(f->freed, 1);
	assert_int_equal(f->last_pasid, 70);
	iopf_free_global_pasid(f->ctx, 70); /* twice: nothing more */
	assert_int_equal(f->freed, 1);
	iopf_free_global_pasid(f->ctx, 3);
	iopf_free_global_pasid(f->ctx, 64);
	/* lowest free first, across 64-bit word boundaries */
	assert_int_equal(alloc_ok(f->big), 3);
	assert_int_equal(alloc_ok(f->big), 64);
	assert_int_equal(alloc_ok(f->big), 70);
	assert_int_equal(alloc_ok(f->big), 101);
}

static void test_exhaustion_small(void **state)
{
	struct fixture *f = *state;
	uint32_t p = 0;

	for (uint32_t i = 1; i < 8; i++)
		assert_int_equal(alloc_ok(f->small), i);
	assert_int_equal(iopf_alloc_global_pasid(f->small, &p), -ENOSPC);
	assert_int_equal(p, 0);
	/* the space is global: the big device continues above */
	assert_int_equal(alloc_ok(f->big), 8);
	iopf_free_global_pasid(f->ctx, 5);
	assert_int_equal(alloc_ok(f->small), 5);
	assert_int_equal(iopf_alloc_global_pasid(f->small, &p), -ENOSPC);
}

/* Taken by a big device, low PASIDs leave nothing for a small one. */
static void test_limit_is_per_device(void **state)
{
	struct fixture *f = *state;
	uint32_t p;

	for (uint32_t i = 1; i < 8; i++)
		assert_int_equal(alloc_ok(f->big), i);
	assert_int_equal(iopf_alloc_global_pasid(f->small, &p), -ENOSPC);
	iopf_free_global_pasid(f->ctx, 7);
	assert_int_equal(alloc_ok(f->small), 7);
}

/* The whole 20-bit space: 2^20 - 1 PASIDs, then -ENOSPC. */
static void test_exhaustion_full(void **state)
{
	struct fixture *f = *state;
	uint32_t p;

	for (uint32_t i = 1; i < (1u << 20); i++) {
		assert_int_equal(iopf_alloc_global_pasid(f->big, &p), 0);
		if (p != i)
			fail_msg("PASID %u where %u was expected", p, i);
	}
	assert_int_equal(iopf_alloc_global_pasid(f->big, &p), -ENOSPC);
	iopf_free_global_pasid(f->ctx, (1u << 20) - 1);
	iopf_free_global_pasid(f->ctx, 1);
	assert_int_equal(alloc_ok(f->big), 1);
	assert_int_equal(alloc_ok(f->big), (1u << 20) - 1);
}

static void test_mm_pasid_lifetime(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *a, *b, *c;
	struct iopf_sva *sa, *sb, *sc;

	assert_int_equal(iopf_mm_new(f->ctx, &a), 0);
	assert_int_equal(iopf_mm_new(f->ctx, &b), 0);
	assert_int_equal(iopf_mm_pasid(a), IOPF_PASID_INVALID);
	assert_int_equal(iopf_sva_bind_device(f->big, a, &sa), 0);
	assert_int_equal(iopf_sva_bind_device(f->big, b, &sb), 0);
	assert_int_equal(iopf_mm_pasid(a), 1);
	assert_int_equal(iopf_mm_pasid(b), 2);
	/* the mm's PASID is the same on every device */
	assert_int_equal(iopf_sva_bind_device(f->small, a, &sc), 0);
	assert_int_equal(iopf_sva_get_pasid(sc), 1);
	iopf_sva_unbind_device(sc);
	/* unbound, the mm keeps its PASID until it is released */
	iopf_sva_unbind_device(sa);
	assert_int_equal(iopf_mm_pasid(a), 1);
	assert_int_equal(f->freed, 0);
	assert_int_equal(iopf_mm_new(f->ctx, &c), 0);
	assert_int_equal(iopf_sva_bind_device(f->big, c, &sc), 0);
	assert_int_equal(iopf_mm_pasid(c), 3);
	iopf_mm_put(a);
	assert_int_equal(f->freed, 1);
	assert_int_equal(f->last_pasid, 1);
	/* a bound mm that exits keeps its PASID until its last unbind */
	iopf_mm_put(b);
	assert_int_equal(f->freed, 1);
	iopf_sva_unbind_device(sb);
	assert_int_equal(f->freed, 2);
	assert_int_equal(f->last_pasid, 2);
	/* both are reused, lowest first */
	assert_int_equal(alloc_ok(f->big), 1);
	assert_int_equal(alloc_ok(f->big), 2);
	assert_int_equal(alloc_ok(f->big), 4);
	/* c goes with the context */
}

static void test_bind_exhaustion(void **state)
{
	struct fixture *f = *state;
	struct iopf_mm *mm[8];
	struct iopf_sva *sva[8];

	for (int i = 0; i < 8; i++)
		assert_int_equal(iopf_mm_new(f->ctx, &mm[i]), 0);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(iopf_sva_bind_device(f->small, mm[i], &sva[i]),
				 0);
		assert_int_equal(iopf_sva_get_pasid(sva[i]), i + 1);
	}
	sva[7] = NULL;
	assert_int_equal(iopf_sva_bind_device(f->small, mm[7], &sva[7]),
			 -ENOSPC);
	assert_null(sva[7]);
	assert_int_equal(iopf_mm_pasid(mm[7]), IOPF_PASID_INVALID);
	/* release one mm: its PASID goes to the next bind */
	iopf_sva_unbind_device(sva[4]);
	iopf_mm_put(mm[4]);
	assert_int_equal(iopf_sva_bind_device(f->small, mm[7], &sva[7]), 0);
	assert_int_equal(iopf_sva_get_pasid(sva[7]), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_reuse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_small, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_limit_is_per_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mm_pasid_lifetime, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bind_exhaustion, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
