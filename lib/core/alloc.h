/* SPDX-License-Identifier: MIT */
/*
 * Every allocation in lib/ goes through these wrappers, so that a test
 * build (-Dfault_injection=true) can fail the Nth allocation and count the
 * live ones.
 */
#ifndef IOPF_CORE_ALLOC_H
#define IOPF_CORE_ALLOC_H

#include <stddef.h>

void *iopf_malloc(size_t size);
void *iopf_zalloc(size_t size);
void *iopf_calloc(size_t nmemb, size_t size);
void *iopf_zalloc_aligned(size_t align, size_t size);
char *iopf_strdup(const char *s);
void iopf_mfree(void *ptr);

#endif
