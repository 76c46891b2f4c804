// SPDX-License-Identifier: MIT
/*
 * SMMUv3 record and command layouts: event records (spec §7.3), PRI queue
 * entries (§8) and the commands the fault path uses (§4.5.2, §4.7).
 */
#include <errno.h>
#include <string.h>

#include <iopf/hw/smmuv3.h>

#include "export.h"
#include "smmuv3-priv.h"

/* Event record */
#define EVTQ_0_ID_SHIFT	   0
#define EVTQ_0_SSV	   (1ull << 11)
#define EVTQ_0_SSID_SHIFT  12
#define EVTQ_0_SID_SHIFT   32
#define EVTQ_1_STALL	   (1ull << 31)
#define EVTQ_1_PNU	   (1ull << 33)
#define EVTQ_1_IND	   (1ull << 34)
#define EVTQ_1_RNW	   (1ull << 35)
#define EVTQ_1_S2	   (1ull << 39)
#define EVTQ_1_CLASS_SHIFT 40
#define EVTQ_1_TT_READ	   (1ull << 44)
#define EVTQ_3_IPA_MASK	   GENMASK64(51, 12)

/* PRI queue entry */
#define PRIQ_0_SSID_SHIFT 32
#define PRIQ_0_PRIV	  (1ull << 58)
#define PRIQ_0_EXEC	  (1ull << 59)
#define PRIQ_0_READ	  (1ull << 60)
#define PRIQ_0_WRITE	  (1ull << 61)
#define PRIQ_0_LAST	  (1ull << 62)
#define PRIQ_0_SSV	  (1ull << 63)
#define PRIQ_1_ADDR_MASK  GENMASK64(63, 12)

/* Commands */
#define CMDQ_0_SSV	  (1ull << 11)
#define CMDQ_0_SSID_SHIFT 12
#define CMDQ_0_SID_SHIFT  32
#define CMDQ_0_RESP_SHIFT 12 /* CMD_RESUME action, CMD_SYNC CS */
#define CMDQ_1_RESP_SHIFT 12 /* CMD_PRI_RESP */
#define CMDQ_SYNC_1_ADDR  GENMASK64(51, 2)

IOPF_EXPORT int iopf_smmuv3_event_encode(const struct iopf_smmuv3_event *evt,
					 uint64_t raw[4])
{
	if (!evt || !raw || evt->ssid >> 20 || evt->class > 3 ||
	    (evt->ipa & ~EVTQ_3_IPA_MASK))
		return -EINVAL;

	raw[0] = (uint64_t)evt->id << EVTQ_0_ID_SHIFT |
		 (evt->ssv ? EVTQ_0_SSV : 0) |
		 (uint64_t)evt->ssid << EVTQ_0_SSID_SHIFT |
		 (uint64_t)evt->sid << EVTQ_0_SID_SHIFT;
	raw[1] = (uint64_t)evt->stag | (evt->stall ? EVTQ_1_STALL : 0) |
		 (evt->pnu ? EVTQ_1_PNU : 0) | (evt->ind ? EVTQ_1_IND : 0) |
		 (evt->rnw ? EVTQ_1_RNW : 0) | (evt->s2 ? EVTQ_1_S2 : 0) |
		 (uint64_t)evt->class << EVTQ_1_CLASS_SHIFT |
		 (evt->tt_read ? EVTQ_1_TT_READ : 0);
	raw[2] = evt->iova;
	raw[3] = evt->ipa;
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_event_decode(const uint64_t raw[4],
					 struct iopf_smmuv3_event *evt)
{
	if (!raw || !evt)
		return -EINVAL;

	memset(evt, 0, sizeof(*evt));
	evt->id = raw[0] & 0xff;
	evt->ssv = raw[0] & EVTQ_0_SSV;
	evt->ssid = (raw[0] >> EVTQ_0_SSID_SHIFT) & 0xfffff;
	evt->sid = raw[0] >> EVTQ_0_SID_SHIFT;
	evt->stag = raw[1] & 0xffff;
	evt->stall = raw[1] & EVTQ_1_STALL;
	evt->pnu = raw[1] & EVTQ_1_PNU;
	evt->ind = raw[1] & EVTQ_1_IND;
	evt->rnw = raw[1] & EVTQ_1_RNW;
	evt->s2 = raw[1] & EVTQ_1_S2;
	evt->class = (raw[1] >> EVTQ_1_CLASS_SHIFT) & 3;
	evt->tt_read = raw[1] & EVTQ_1_TT_READ;
	evt->iova = raw[2];
	evt->ipa = raw[3] & EVTQ_3_IPA_MASK;
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_ppr_encode(const struct iopf_smmuv3_ppr *ppr,
				       uint64_t raw[2])
{
	if (!ppr || !raw || ppr->ssid >> 20 || ppr->prgi >> 9 ||
	    (ppr->addr & ~PRIQ_1_ADDR_MASK))
		return -EINVAL;

	raw[0] = (uint64_t)ppr->sid | (uint64_t)ppr->ssid << PRIQ_0_SSID_SHIFT |
		 (ppr->priv ? PRIQ_0_PRIV : 0) | (ppr->exec ? PRIQ_0_EXEC : 0) |
		 (ppr->read ? PRIQ_0_READ : 0) |
		 (ppr->write ? PRIQ_0_WRITE : 0) |
		 (ppr->last ? PRIQ_0_LAST : 0) | (ppr->ssv ? PRIQ_0_SSV : 0);
	raw[1] = (uint64_t)ppr->prgi | ppr->addr;
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_ppr_decode(const uint64_t raw[2],
				       struct iopf_smmuv3_ppr *ppr)
{
	if (!raw || !ppr)
		return -EINVAL;

	memset(ppr, 0, sizeof(*ppr));
	ppr->sid = raw[0] & 0xffffffffu;
	ppr->ssid = (raw[0] >> PRIQ_0_SSID_SHIFT) & 0xfffff;
	ppr->priv = raw[0] & PRIQ_0_PRIV;
	ppr->exec = raw[0] & PRIQ_0_EXEC;
	ppr->read = raw[0] & PRIQ_0_READ;
	ppr->write = raw[0] & PRIQ_0_WRITE;
	ppr->last = raw[0] & PRIQ_0_LAST;
	ppr->ssv = raw[0] & PRIQ_0_SSV;
	ppr->prgi = raw[1] & 0x1ff;
	ppr->addr = raw[1] & PRIQ_1_ADDR_MASK;
	return 0;
}

static int cmd_encode_pri_resp(const struct iopf_smmuv3_cmd *cmd,
			       uint64_t raw[2])
{
	if (cmd->ssid >> 20 || cmd->grpid >> 9 || cmd->resp > 3)
		return -EINVAL;
	raw[0] |= (cmd->ssv ? CMDQ_0_SSV : 0) |
		  (uint64_t)cmd->ssid << CMDQ_0_SSID_SHIFT |
		  (uint64_t)cmd->sid << CMDQ_0_SID_SHIFT;
	raw[1] = (uint64_t)cmd->grpid | (uint64_t)cmd->resp
						<< CMDQ_1_RESP_SHIFT;
	return 0;
}

static int cmd_encode_sync(const struct iopf_smmuv3_cmd *cmd, uint64_t raw[2])
{
	if (cmd->cs > 3 || (cmd->msiaddr & ~CMDQ_SYNC_1_ADDR))
		return -EINVAL;
	raw[0] |= (uint64_t)cmd->cs << CMDQ_0_RESP_SHIFT |
		  (uint64_t)cmd->msidata << 32;
	raw[1] = cmd->msiaddr;
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_cmd_encode(const struct iopf_smmuv3_cmd *cmd,
				       uint64_t raw[2])
{
	if (!cmd || !raw)
		return -EINVAL;

	raw[0] = cmd->opcode;
	raw[1] = 0;
	switch (cmd->opcode) {
	case IOPF_SMMUV3_CMD_PRI_RESP:
		return cmd_encode_pri_resp(cmd, raw);
	case IOPF_SMMUV3_CMD_RESUME:
		if (cmd->resp > 3)
			return -EINVAL;
		raw[0] |= (uint64_t)cmd->resp << CMDQ_0_RESP_SHIFT |
			  (uint64_t)cmd->sid << CMDQ_0_SID_SHIFT;
		raw[1] = cmd->stag;
		return 0;
	case IOPF_SMMUV3_CMD_STALL_TERM:
		raw[0] |= (uint64_t)cmd->sid << CMDQ_0_SID_SHIFT;
		return 0;
	case IOPF_SMMUV3_CMD_SYNC:
		return cmd_encode_sync(cmd, raw);
	default:
		return -EINVAL;
	}
}

IOPF_EXPORT int iopf_smmuv3_cmd_decode(const uint64_t raw[2],
				       struct iopf_smmuv3_cmd *cmd)
{
	if (!raw || !cmd)
		return -EINVAL;

	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = raw[0] & 0xff;
	switch (cmd->opcode) {
	case IOPF_SMMUV3_CMD_PRI_RESP:
		cmd->ssv = raw[0] & CMDQ_0_SSV;
		cmd->ssid = (raw[0] >> CMDQ_0_SSID_SHIFT) & 0xfffff;
		cmd->sid = raw[0] >> CMDQ_0_SID_SHIFT;
		cmd->grpid = raw[1] & 0x1ff;
		cmd->resp = (raw[1] >> CMDQ_1_RESP_SHIFT) & 3;
		return cmd->resp == IOPF_SMMUV3_PRI_RESP_ILLEGAL ? -EPROTO : 0;
	case IOPF_SMMUV3_CMD_RESUME:
		cmd->sid = raw[0] >> CMDQ_0_SID_SHIFT;
		cmd->resp = (raw[0] >> CMDQ_0_RESP_SHIFT) & 3;
		cmd->stag = raw[1] & 0xffff;
		return 0;
	case IOPF_SMMUV3_CMD_STALL_TERM:
		cmd->sid = raw[0] >> CMDQ_0_SID_SHIFT;
		return 0;
	case IOPF_SMMUV3_CMD_SYNC:
		cmd->cs = (raw[0] >> CMDQ_0_RESP_SHIFT) & 3;
		cmd->msidata = raw[0] >> 32;
		cmd->msiaddr = raw[1] & CMDQ_SYNC_1_ADDR;
		return 0;
	default:
		return -EPROTO;
	}
}
