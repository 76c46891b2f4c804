/* SPDX-License-Identifier: MIT */
/*
 * Shared bits of the fuzz targets: a reader that turns the input into
 * numbers (zeros once it is used up, so every input is a valid program)
 * and the check that turns a broken invariant into a crash libFuzzer keeps.
 *
 * Every target defines LLVMFuzzerTestOneInput(). Built with
 * -fsanitize=fuzzer it is driven by libFuzzer; otherwise replay.c gives it
 * a main() that runs the corpus and the kept crashes as a regression test.
 */
#ifndef IOPF_TEST_FUZZ_H
#define IOPF_TEST_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_in {
	const uint8_t *data;
	size_t size, pos;
};

static inline void fz_init(struct fz_in *in, const uint8_t *data, size_t size)
{
	in->data = data;
	in->size = size;
	in->pos = 0;
}

static inline bool fz_more(const struct fz_in *in)
{
	return in->pos < in->size;
}

static inline uint64_t fz_bytes(struct fz_in *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++) {
		v <<= 8;
		if (in->pos < in->size)
			v |= in->data[in->pos++];
	}
	return v;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	return (uint8_t)fz_bytes(in, 1);
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)fz_bytes(in, 2);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)fz_bytes(in, 4);
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	return fz_bytes(in, 8);
}

/* A number below @n (n > 0). */
static inline uint32_t fz_below(struct fz_in *in, uint32_t n)
{
	return fz_u8(in) % n;
}

/* Copy up to @n raw bytes (zero-filled past the end of the input). */
static inline void fz_copy(struct fz_in *in, void *dst, size_t n)
{
	size_t avail = in->size - in->pos;

	if (avail > n)
		avail = n;
	memcpy(dst, in->data + in->pos, avail);
	memset((uint8_t *)dst + avail, 0, n - avail);
	in->pos += avail;
}

/* A broken invariant: crash, so libFuzzer keeps the input. */
#define FZ_CHECK(cond)                                                   \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

#endif
