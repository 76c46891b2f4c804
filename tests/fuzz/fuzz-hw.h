/* SPDX-License-Identifier: MIT */
/*
 * What the hardware-model fuzz targets share: a fault-capable domain whose
 * handler answers, holds, queues or refuses groups as the input says, and
 * the end of an input (free held groups, free the context, nothing may be
 * left allocated).
 */
#ifndef IOPF_TEST_FUZZ_HW_H
#define IOPF_TEST_FUZZ_HW_H

#include <errno.h>

#include <iopf/iopf.h>
#include <iopf/testing.h>

#include "fuzz.h"

#define FZ_HW_MAX_HELD 16

enum fz_hw_mode { FZ_HW_RESPOND, FZ_HW_HOLD, FZ_HW_WORK, FZ_HW_FAIL };

struct fz_hw {
	struct iopf_ctx *ctx;
	enum fz_hw_mode mode;
	uint32_t code;
	struct iopf_group *held[FZ_HW_MAX_HELD];
	size_t nr_held;
};

static inline void fz_hw_work(struct iopf_group *group)
{
	struct iopf_attach_handle *h = iopf_group_attach_handle(group);
	struct fz_hw *hw = iopf_domain_priv(h->domain);

	iopf_group_response(group, (enum iopf_page_response_code)hw->code);
	iopf_free_group(group);
}

static inline int fz_hw_handler(struct iopf_group *group)
{
	struct iopf_attach_handle *h = iopf_group_attach_handle(group);
	struct fz_hw *hw = iopf_domain_priv(h->domain);
	const struct iopf_fault *last = iopf_group_last_fault(group);

	FZ_CHECK(last && (last->prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE));
	switch (hw->mode) {
	case FZ_HW_FAIL:
		return -EIO;
	case FZ_HW_WORK:
		FZ_CHECK(iopf_queue_work(group, fz_hw_work) == 0);
		return 0;
	case FZ_HW_HOLD:
		if (hw->nr_held < FZ_HW_MAX_HELD) {
			hw->held[hw->nr_held++] = group;
			return 0;
		}
		/* fall through */
	default:
		fz_hw_work(group);
		return 0;
	}
}

/* Handler behaviour from one input byte. */
static inline void fz_hw_mode(struct fz_hw *hw, uint8_t b)
{
	hw->mode = (enum fz_hw_mode)(b & 3);
	hw->code = (b >> 2) % 3u;
}

/* Answer or drop the oldest held group. */
static inline void fz_hw_release(struct fz_hw *hw, uint8_t b)
{
	struct iopf_group *group;

	if (!hw->nr_held)
		return;
	group = hw->held[0];
	memmove(hw->held, hw->held + 1, --hw->nr_held * sizeof(hw->held[0]));
	if (b & 1)
		iopf_group_response(group,
				    (enum iopf_page_response_code)(b >> 1));
	iopf_free_group(group);
}

static inline void fz_hw_teardown(struct fz_hw *hw)
{
	long live;

	iopf_testing_fail_nth(0);
	while (hw->nr_held)
		fz_hw_release(hw, 0);
	iopf_ctx_free(hw->ctx);
	live = iopf_testing_live_allocations();
	FZ_CHECK(live == 0 || live == -EOPNOTSUPP);
}

#endif
