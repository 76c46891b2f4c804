// SPDX-License-Identifier: MIT
/*
 * The sparse page set behind an mm's resident pages (see pageset.h).
 *
 * Linear probing with a load factor of at most 1/2, and backward-shift
 * deletion, so the table never holds tombstones and a lookup stops at the
 * first empty slot.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "pageset.h"

#define MIN_SHIFT 4

static size_t nr_slots(const struct iopf_pageset *set)
{
	return set->slots ? (size_t)1 << set->shift : 0;
}

static size_t home_slot(const struct iopf_pageset *set, uint64_t key)
{
	/* Fibonacci hashing: chunk numbers are dense, spread them. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - set->shift));
}

static struct iopf_pageset_chunk *find_chunk(const struct iopf_pageset *set,
					     uint64_t key)
{
	size_t mask = nr_slots(set) - 1;
	size_t i;

	if (!set->slots)
		return NULL;
	for (i = home_slot(set, key); set->slots[i].key; i = (i + 1) & mask)
		if (set->slots[i].key == key)
			return &set->slots[i];
	return NULL;
}

/* Insert into a table known to have room and not to hold @c's key. */
static struct iopf_pageset_chunk *
place_chunk(struct iopf_pageset *set, const struct iopf_pageset_chunk *c)
{
	size_t mask = nr_slots(set) - 1;
	size_t i = home_slot(set, c->key);

	while (set->slots[i].key)
		i = (i + 1) & mask;
	set->slots[i] = *c;
	set->used++;
	return &set->slots[i];
}

static int rehash(struct iopf_pageset *set, unsigned int shift)
{
	struct iopf_pageset_chunk *old = set->slots;
	size_t n = nr_slots(set);

	set->slots = iopf_calloc((size_t)1 << shift, sizeof(*set->slots));
	if (!set->slots) {
		set->slots = old;
		return -ENOMEM;
	}
	set->shift = shift;
	set->used = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i].key)
			place_chunk(set, &old[i]);
	iopf_mfree(old);
	return 0;
}

static bool chunk_empty(const struct iopf_pageset_chunk *c)
{
	for (unsigned int w = 0; w < IOPF_PAGESET_CHUNK_WORDS; w++)
		if (c->bits[w])
			return false;
	return true;
}

/* Remove slot @i and pull later entries of its probe run back into it. */
static void delete_slot(struct iopf_pageset *set, size_t i)
{
	size_t mask = nr_slots(set) - 1;
	size_t j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (!set->slots[j].key)
			break;
		k = home_slot(set, set->slots[j].key);
		/* The entry may stay if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		set->slots[i] = set->slots[j];
		i = j;
	}
	set->slots[i].key = 0;
	set->used--;
}

void iopf_pageset_init(struct iopf_pageset *set)
{
	memset(set, 0, sizeof(*set));
}

void iopf_pageset_fini(struct iopf_pageset *set)
{
	iopf_mfree(set->slots);
	iopf_pageset_init(set);
}

bool iopf_pageset_test(const struct iopf_pageset *set, uint64_t page)
{
	const struct iopf_pageset_chunk *c;
	unsigned int bit = page % IOPF_PAGESET_CHUNK_PAGES;

	c = find_chunk(set, (page >> IOPF_PAGESET_CHUNK_SHIFT) + 1);
	return c && (c->bits[bit / 64] >> (bit % 64) & 1);
}

int iopf_pageset_add(struct iopf_pageset *set, uint64_t page)
{
	uint64_t key = (page >> IOPF_PAGESET_CHUNK_SHIFT) + 1;
	unsigned int bit = page % IOPF_PAGESET_CHUNK_PAGES;
	struct iopf_pageset_chunk *c = find_chunk(set, key);
	uint64_t mask = 1ull << (bit % 64);

	if (!c) {
		struct iopf_pageset_chunk fresh = { .key = key };

		if ((set->used + 1) * 2 > nr_slots(set) &&
		    rehash(set, set->slots ? set->shift + 1 : MIN_SHIFT))
			return -ENOMEM;
		c = place_chunk(set, &fresh);
	}
	if (!(c->bits[bit / 64] & mask)) {
		c->bits[bit / 64] |= mask;
		set->nr_pages++;
	}
	return 0;
}

/* Clear the pages of [first, end) that fall in chunk @c. */
static void clear_in_chunk(struct iopf_pageset *set,
			   struct iopf_pageset_chunk *c, uint64_t first,
			   uint64_t end)
{
	uint64_t base = (c->key - 1) << IOPF_PAGESET_CHUNK_SHIFT;
	uint64_t lo = first > base ? first - base : 0;
	uint64_t hi = end - base < IOPF_PAGESET_CHUNK_PAGES ?
			      end - base :
			      IOPF_PAGESET_CHUNK_PAGES;

	for (uint64_t b = lo; b < hi;) {
		unsigned int w = b / 64;
		unsigned int n = hi - b < 64 - b % 64 ? hi - b : 64 - b % 64;
		uint64_t m = (n == 64 ? ~0ull : ((1ull << n) - 1)) << (b % 64);

		set->nr_pages -= __builtin_popcountll(c->bits[w] & m);
		c->bits[w] &= ~m;
		b += n;
	}
}

void iopf_pageset_clear_range(struct iopf_pageset *set, uint64_t first,
			      uint64_t end)
{
	uint64_t c0, c1;

	if (first >= end || !set->used)
		return;
	c0 = first >> IOPF_PAGESET_CHUNK_SHIFT;
	c1 = (end - 1) >> IOPF_PAGESET_CHUNK_SHIFT;
	if (c1 - c0 < nr_slots(set)) {
		/* Few chunks in the range: look each up. */
		for (uint64_t ch = c0; ch <= c1; ch++) {
			struct iopf_pageset_chunk *c = find_chunk(set, ch + 1);

			if (!c)
				continue;
			clear_in_chunk(set, c, first, end);
			if (chunk_empty(c))
				delete_slot(set, c - set->slots);
		}
		return;
	}
	/*
	 * A range wider than the table: walk the table instead. A deletion
	 * pulls a later entry into slot i, so slot i is looked at again.
	 */
	for (size_t i = 0; i < nr_slots(set);) {
		struct iopf_pageset_chunk *c = &set->slots[i];
		uint64_t ch = c->key - 1;

		if (!c->key || ch < c0 || ch > c1) {
			i++;
			continue;
		}
		clear_in_chunk(set, c, first, end);
		if (!chunk_empty(c)) {
			i++;
			continue;
		}
		delete_slot(set, i);
	}
}

void iopf_pageset_for_each(const struct iopf_pageset *set,
			   void (*fn)(uint64_t page, void *priv), void *priv)
{
	for (size_t i = 0; i < nr_slots(set); i++) {
		const struct iopf_pageset_chunk *c = &set->slots[i];
		uint64_t base = (c->key - 1) << IOPF_PAGESET_CHUNK_SHIFT;

		if (!c->key)
			continue;
		for (unsigned int w = 0; w < IOPF_PAGESET_CHUNK_WORDS; w++)
			for (uint64_t m = c->bits[w]; m; m &= m - 1)
				fn(base + w * 64 + __builtin_ctzll(m), priv);
	}
}
