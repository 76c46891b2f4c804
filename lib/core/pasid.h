/* SPDX-License-Identifier: MIT */
#ifndef IOPF_CORE_PASID_H
#define IOPF_CORE_PASID_H

#include <stdint.h>

struct iopf_ctx;
struct iopf_device;

/* Public in <iopf/sva.h>; repeated here so the core builds without it. */
int iopf_alloc_global_pasid(struct iopf_device *dev, uint32_t *pasid);
void iopf_free_global_pasid(struct iopf_ctx *ctx, uint32_t pasid);

/* Frees the context's global PASID bitmap (iopf_ctx_free). */
void iopf_pasid_space_free(struct iopf_ctx *ctx);

#endif
