/* SPDX-License-Identifier: MIT */
/*
 * A sparse set of page numbers: the resident pages of an address space.
 *
 * Pages are grouped in chunks of 512 (one 2 MiB "page table" worth), each a
 * 64-byte bitmap, kept inline in an open-addressing hash table keyed by the
 * chunk number. A million resident pages cost about 2000 chunks, never one
 * allocation per page; a sparse set costs one 72-byte slot per chunk used.
 *
 * Not thread-safe: the owner (the mm) serialises access with its lock.
 */
#ifndef IOPF_SVA_PAGESET_H
#define IOPF_SVA_PAGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOPF_PAGESET_CHUNK_SHIFT 9
#define IOPF_PAGESET_CHUNK_PAGES (1u << IOPF_PAGESET_CHUNK_SHIFT)
#define IOPF_PAGESET_CHUNK_WORDS (IOPF_PAGESET_CHUNK_PAGES / 64)

struct iopf_pageset_chunk {
	uint64_t key; /* chunk number + 1; 0 marks an empty slot */
	uint64_t bits[IOPF_PAGESET_CHUNK_WORDS];
};

struct iopf_pageset {
	struct iopf_pageset_chunk *slots;
	unsigned int shift; /* log2 of the number of slots; 0 when none */
	size_t used; /* chunks in the table */
	uint64_t nr_pages; /* pages in the set */
};

void iopf_pageset_init(struct iopf_pageset *set);
void iopf_pageset_fini(struct iopf_pageset *set);
bool iopf_pageset_test(const struct iopf_pageset *set, uint64_t page);
/* 0, or -ENOMEM (the set is unchanged). */
int iopf_pageset_add(struct iopf_pageset *set, uint64_t page);
/* Removes the pages in [first, end). Never fails. */
void iopf_pageset_clear_range(struct iopf_pageset *set, uint64_t first,
			      uint64_t end);
/* Calls fn for each page in the set, in no particular order. */
void iopf_pageset_for_each(const struct iopf_pageset *set,
			   void (*fn)(uint64_t page, void *priv), void *priv);

#endif /* IOPF_SVA_PAGESET_H */
