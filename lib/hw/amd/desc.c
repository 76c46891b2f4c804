// SPDX-License-Identifier: MIT
/*
 * AMD IOMMU layouts: the PPR log entry and COMPLETE_PPR_REQUEST.
 */
#include <errno.h>
#include <string.h>

#include <iopf/hw/amd.h>

#include "export.h"

#define PPR_PASID1_SHIFT 16 /* PASID 15:0 at QW0 31:16 */
#define PPR_TAG_SHIFT	 32 /* tag at QW0 41:32 */
#define PPR_PASID2_SHIFT 42 /* PASID 19:16 at QW0 45:42 */
#define PPR_FLAGS_SHIFT	 48
#define PPR_TYPE_SHIFT	 60

#define CMD_OPCODE_SHIFT 28
#define CMD_GN		 (1u << 2)
#define CMD_STATUS_SHIFT 12

IOPF_EXPORT int iopf_amd_ppr_encode(const struct iopf_amd_ppr_entry *e,
				    uint64_t raw[2])
{
	uint64_t tag;

	if (!e || !raw || e->pasid >> 20 || e->prgi >> 9 || e->flags >> 12 ||
	    e->type >> 4)
		return -EINVAL;
	tag = e->prgi | (e->last ? IOPF_AMD_PPR_TAG_LAST : 0);
	raw[0] = (uint64_t)e->devid |
		 (uint64_t)(e->pasid & 0xffff) << PPR_PASID1_SHIFT |
		 tag << PPR_TAG_SHIFT |
		 (uint64_t)(e->pasid >> 16) << PPR_PASID2_SHIFT |
		 (uint64_t)e->flags << PPR_FLAGS_SHIFT |
		 (uint64_t)e->type << PPR_TYPE_SHIFT;
	raw[1] = e->addr;
	return 0;
}

IOPF_EXPORT int iopf_amd_ppr_decode(const uint64_t raw[2],
				    struct iopf_amd_ppr_entry *e)
{
	uint32_t tag;

	if (!raw || !e)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	tag = (raw[0] >> PPR_TAG_SHIFT) & 0x3ff;
	e->devid = raw[0] & 0xffff;
	e->pasid = (uint32_t)((raw[0] >> PPR_PASID1_SHIFT) & 0xffff) |
		   (uint32_t)((raw[0] >> PPR_PASID2_SHIFT) & 0xf) << 16;
	e->prgi = tag & 0x1ff;
	e->last = tag & IOPF_AMD_PPR_TAG_LAST;
	e->flags = (raw[0] >> PPR_FLAGS_SHIFT) & 0xfff;
	e->type = raw[0] >> PPR_TYPE_SHIFT;
	e->addr = raw[1];
	return 0;
}

IOPF_EXPORT int
iopf_amd_complete_ppr_encode(const struct iopf_amd_complete_ppr *c,
			     uint32_t raw[4])
{
	if (!c || !raw || c->pasid >> 20 || c->tag >> 9 || c->status >> 4)
		return -EINVAL;
	raw[0] = c->devid;
	raw[1] = c->pasid | (uint32_t)IOPF_AMD_CMD_COMPLETE_PPR
				    << CMD_OPCODE_SHIFT;
	raw[2] = c->gn ? CMD_GN : 0;
	raw[3] = c->tag | (uint32_t)c->status << CMD_STATUS_SHIFT;
	return 0;
}

/* Reserved: DW0 31:16, DW1 27:20, DW2 all but GN, DW3 11:9 and 31:16. */
static bool complete_ppr_reserved_set(const uint32_t raw[4])
{
	return (raw[0] & 0xffff0000u) || (raw[1] & 0x0ff00000u) ||
	       (raw[2] & ~CMD_GN) || (raw[3] & 0xffff0e00u);
}

IOPF_EXPORT int iopf_amd_complete_ppr_decode(const uint32_t raw[4],
					     struct iopf_amd_complete_ppr *c)
{
	if (!raw || !c)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->devid = raw[0] & 0xffff;
	c->pasid = raw[1] & 0xfffff;
	c->gn = raw[2] & CMD_GN;
	c->tag = raw[3] & 0x1ff;
	c->status = (raw[3] >> CMD_STATUS_SHIFT) & 0xf;
	if (raw[1] >> CMD_OPCODE_SHIFT != IOPF_AMD_CMD_COMPLETE_PPR ||
	    complete_ppr_reserved_set(raw))
		return -EPROTO;
	return 0;
}
