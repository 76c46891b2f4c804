// SPDX-License-Identifier: MIT
/*
 * AMD IOMMU hardware model: the register file, the PPR log and the command
 * buffer.
 *
 * A logged request is written at the tail, the tail advances (by 16 bytes,
 * modulo the log size), PprInt is set and, with PprIntEn, the interrupt
 * fires. The log is full when one more entry would make the tail reach the
 * head: the request is not logged, PprOverflow is set, PprRun clears and
 * nothing more is logged until software restarts the log (PprLogEn off and
 * on). With the erratum option the tail moves and the interrupt fires
 * first; the entry lands in memory only after the driver has read the slot
 * erratum_polls times (or when the next request arrives).
 */
#include <errno.h>
#include <string.h>

#include "amd-priv.h"

#define PPR_LOG_LEN_SHIFT 56

static void raise_irq_locked(struct iopf_amd *amd)
{
	if (!(amd->control & IOPF_AMD_CONTROL_PPRINT_EN))
		return;
	amd->ppr_irq = true;
	pthread_cond_broadcast(&amd->irq_cond);
}

static unsigned int log2u(uint32_t v)
{
	unsigned int n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

uint64_t amd_hw_read_reg(struct iopf_amd *amd, uint32_t offset)
{
	uint64_t v = 0;

	pthread_mutex_lock(&amd->hw_lock);
	switch (offset) {
	case IOPF_AMD_MMIO_CONTROL:
		v = amd->control;
		break;
	case IOPF_AMD_MMIO_PPR_LOG:
		v = amd->ppr_log_base;
		break;
	case IOPF_AMD_MMIO_CMD_HEAD:
		v = amd->cmd_head;
		break;
	case IOPF_AMD_MMIO_CMD_TAIL:
		v = amd->cmd_tail;
		break;
	case IOPF_AMD_MMIO_STATUS:
		v = amd->status;
		break;
	case IOPF_AMD_MMIO_PPR_HEAD:
		v = amd->ppr_head;
		break;
	case IOPF_AMD_MMIO_PPR_TAIL:
		v = amd->ppr_tail;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&amd->hw_lock);
	return v;
}

static void write_control_locked(struct iopf_amd *amd, uint64_t val)
{
	bool was = amd->control & IOPF_AMD_CONTROL_PPRLOG_EN;
	bool now = val & IOPF_AMD_CONTROL_PPRLOG_EN;

	amd->control = val;
	if (!was && now)
		amd->status |= IOPF_AMD_STATUS_PPR_RUN;
	else if (was && !now)
		amd->status &= ~IOPF_AMD_STATUS_PPR_RUN;
}

void amd_hw_write_reg(struct iopf_amd *amd, uint32_t offset, uint64_t val)
{
	pthread_mutex_lock(&amd->hw_lock);
	switch (offset) {
	case IOPF_AMD_MMIO_CONTROL:
		write_control_locked(amd, val);
		break;
	case IOPF_AMD_MMIO_STATUS:
		amd->status &= ~(val & (IOPF_AMD_STATUS_PPR_OVERFLOW |
					IOPF_AMD_STATUS_PPR_INT));
		break;
	case IOPF_AMD_MMIO_PPR_HEAD:
		amd->ppr_head = (uint32_t)val % amd->ppr_log_size & ~0xfu;
		break;
	case IOPF_AMD_MMIO_PPR_TAIL:
		amd->ppr_tail = (uint32_t)val % amd->ppr_log_size & ~0xfu;
		break;
	case IOPF_AMD_MMIO_CMD_TAIL:
		amd->cmd_tail =
			(uint32_t)val % (AMD_CMD_ENTRIES * IOPF_AMD_CMD_SIZE) &
			~0xfu;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&amd->hw_lock);
}

IOPF_EXPORT int iopf_amd_read_reg(struct iopf_amd *amd, uint32_t offset,
				  uint64_t *val)
{
	switch (offset) {
	case IOPF_AMD_MMIO_CONTROL:
	case IOPF_AMD_MMIO_PPR_LOG:
	case IOPF_AMD_MMIO_CMD_HEAD:
	case IOPF_AMD_MMIO_CMD_TAIL:
	case IOPF_AMD_MMIO_STATUS:
	case IOPF_AMD_MMIO_PPR_HEAD:
	case IOPF_AMD_MMIO_PPR_TAIL:
		break;
	default:
		return -EINVAL;
	}
	if (!amd || !val)
		return -EINVAL;
	*val = amd_hw_read_reg(amd, offset);
	return 0;
}

IOPF_EXPORT int iopf_amd_write_reg(struct iopf_amd *amd, uint32_t offset,
				   uint64_t val)
{
	if (!amd || (offset != IOPF_AMD_MMIO_CONTROL &&
		     offset != IOPF_AMD_MMIO_STATUS &&
		     offset != IOPF_AMD_MMIO_PPR_HEAD))
		return -EINVAL;
	amd_hw_write_reg(amd, offset, val);
	return 0;
}

IOPF_EXPORT int iopf_amd_get_stats(struct iopf_amd *amd,
				   struct iopf_amd_stats *stats)
{
	if (!amd || !stats)
		return -EINVAL;
	pthread_mutex_lock(&amd->hw_lock);
	*stats = amd->stats;
	pthread_mutex_unlock(&amd->hw_lock);
	return 0;
}

void amd_hw_init_log(struct iopf_amd *amd, unsigned int entries)
{
	amd->ppr_log_size = entries * IOPF_AMD_PPR_ENTRY_SIZE;
	amd->ppr_log_base = (uint64_t)log2u(entries) << PPR_LOG_LEN_SHIFT;
}

/* ---- the PPR log ------------------------------------------------------ */

static void slot_write_locked(struct iopf_amd *amd, uint32_t offset,
			      const uint64_t raw[2])
{
	memcpy(amd->ppr_log + offset / 8, raw, IOPF_AMD_PPR_ENTRY_SIZE);
}

static void late_pop_locked(struct iopf_amd *amd)
{
	slot_write_locked(amd, amd->late[0].offset, amd->late[0].raw);
	memmove(amd->late, amd->late + 1,
		(amd->nr_late - 1) * sizeof(*amd->late));
	amd->nr_late--;
	amd->stats.late_writes++;
}

/* The erratum: delayed writes land in order. */
static void late_flush_locked(struct iopf_amd *amd)
{
	while (amd->nr_late)
		late_pop_locked(amd);
}

void amd_hw_read_ppr_slot(struct iopf_amd *amd, uint32_t offset,
			  uint64_t raw[2])
{
	pthread_mutex_lock(&amd->hw_lock);
	if (amd->nr_late && amd->late[0].offset == offset) {
		if (!amd->late[0].polls_left)
			late_pop_locked(amd);
		else
			amd->late[0].polls_left--;
	}
	memcpy(raw, amd->ppr_log + offset / 8, IOPF_AMD_PPR_ENTRY_SIZE);
	pthread_mutex_unlock(&amd->hw_lock);
}

void amd_hw_zero_ppr_slot(struct iopf_amd *amd, uint32_t offset)
{
	static const uint64_t zero[2];

	pthread_mutex_lock(&amd->hw_lock);
	slot_write_locked(amd, offset, zero);
	pthread_mutex_unlock(&amd->hw_lock);
}

static int log_locked(struct iopf_amd *amd, const uint64_t raw[2])
{
	uint32_t next =
		(amd->ppr_tail + IOPF_AMD_PPR_ENTRY_SIZE) % amd->ppr_log_size;

	late_flush_locked(amd);
	if (!(amd->control & IOPF_AMD_CONTROL_PPR_EN) ||
	    !(amd->status & IOPF_AMD_STATUS_PPR_RUN)) {
		amd->stats.ppr_dropped++;
		return -ENOSPC;
	}
	if (next == amd->ppr_head) {
		amd->status |= IOPF_AMD_STATUS_PPR_OVERFLOW;
		amd->status &= ~IOPF_AMD_STATUS_PPR_RUN;
		amd->stats.overflows++;
		amd->stats.ppr_dropped++;
		amd_trace(amd, IOPF_TRACE_OVERFLOW, IOPF_LAYER_HW,
			  IOPF_LAYER_DRIVER, "ppr_log", raw[0] & 0xffff,
			  IOPF_PASID_INVALID, raw, IOPF_AMD_PPR_ENTRY_SIZE);
		raise_irq_locked(amd);
		return -ENOSPC;
	}
	if (amd->irq_before_entry) {
		amd->late[amd->nr_late++] = (struct amd_late_write){
			.offset = amd->ppr_tail,
			.raw = { raw[0], raw[1] },
			.polls_left = amd->erratum_polls,
		};
	} else {
		slot_write_locked(amd, amd->ppr_tail, raw);
	}
	amd->ppr_tail = next;
	amd->stats.ppr_logged++;
	amd->status |= IOPF_AMD_STATUS_PPR_INT;
	amd_trace(amd, IOPF_TRACE_HW_DESC_IN, IOPF_LAYER_HW, IOPF_LAYER_DRIVER,
		  "ppr_log", raw[0] & 0xffff, IOPF_PASID_INVALID, raw,
		  IOPF_AMD_PPR_ENTRY_SIZE);
	raise_irq_locked(amd);
	return 0;
}

int amd_hw_log_raw(struct iopf_amd *amd, const uint64_t raw[2])
{
	int ret;

	pthread_mutex_lock(&amd->hw_lock);
	ret = log_locked(amd, raw);
	pthread_mutex_unlock(&amd->hw_lock);
	return ret;
}

IOPF_EXPORT int iopf_amd_log_ppr(struct iopf_amd *amd,
				 const struct iopf_amd_ppr_entry *e)
{
	uint64_t raw[2];

	if (!amd || iopf_amd_ppr_encode(e, raw))
		return -EINVAL;
	return amd_hw_log_raw(amd, raw);
}

/* ---- the command buffer ----------------------------------------------- */

static bool cmd_consume_one_locked(struct iopf_amd *amd, struct amd_prg_resp *r)
{
	struct iopf_amd_complete_ppr c;
	uint32_t raw[4];

	if (!(amd->control & IOPF_AMD_CONTROL_CMDBUF_EN) ||
	    amd->cmd_head == amd->cmd_tail)
		return false;
	memcpy(raw, amd->cmd_buf + amd->cmd_head / 4, sizeof(raw));
	amd->cmd_head = (amd->cmd_head + IOPF_AMD_CMD_SIZE) %
			(AMD_CMD_ENTRIES * IOPF_AMD_CMD_SIZE);
	amd->stats.cmds++;
	if (iopf_amd_complete_ppr_decode(raw, &c)) {
		/* ILLEGAL_COMMAND_ERROR: logged, and the model moves on */
		amd->stats.cmd_errors++;
		amd_trace(amd, IOPF_TRACE_BAD_REQUEST, IOPF_LAYER_HW,
			  IOPF_LAYER_DRIVER, "illegal_command", raw[0] & 0xffff,
			  IOPF_PASID_INVALID, raw, IOPF_AMD_CMD_SIZE);
		return true;
	}
	amd_trace(amd, IOPF_TRACE_HW_DESC_OUT, IOPF_LAYER_HW,
		  IOPF_LAYER_ENDPOINT, "complete_ppr", c.devid,
		  c.gn ? c.pasid : IOPF_PASID_INVALID, raw, IOPF_AMD_CMD_SIZE);
	*r = (struct amd_prg_resp){
		.valid = true,
		.devid = c.devid,
		.prgi = c.tag,
		.code = c.status,
		.pasid_valid = c.gn,
		.pasid = c.gn ? c.pasid : 0,
	};
	amd->stats.prg_responses++;
	return true;
}

/* The hardware drains the command buffer in the caller's thread. */
void amd_hw_cmd_consume(struct iopf_amd *amd)
{
	struct amd_prg_resp r;
	bool more;

	do {
		r.valid = false;
		pthread_mutex_lock(&amd->hw_lock);
		more = cmd_consume_one_locked(amd, &r);
		pthread_mutex_unlock(&amd->hw_lock);
		if (!r.valid)
			continue;
		if (amd->prg_response)
			amd->prg_response(amd->endpoint_priv, r.devid, r.prgi,
					  r.code, r.pasid_valid, r.pasid);
		amd_port_deliver(amd, &r);
	} while (more);
}

/* ---- traces ----------------------------------------------------------- */

void amd_trace(struct iopf_amd *amd, uint32_t type, uint32_t from, uint32_t to,
	       const char *name, uint32_t devid, uint32_t pasid,
	       const void *desc, size_t desc_len)
{
	struct iopf_trace_event ev = {
		.type = type,
		.from = from,
		.to = to,
		.iommu = amd->name,
		.dev_id = devid,
		.pasid = pasid,
		.code = -1,
		.name = name,
		.desc = desc,
		.desc_len = desc_len,
	};

	if (iopf_trace_on(amd->ctx))
		iopf_trace_emit(amd->ctx, &ev);
}

void amd_trace_response(struct iopf_amd *amd, uint32_t from, uint32_t origin,
			const char *name, uint32_t devid, uint32_t pasid,
			uint16_t grpid, int32_t code)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_RESPONSE_SENT,
		.from = from,
		.to = IOPF_LAYER_ENDPOINT,
		.iommu = amd->name,
		.dev_id = devid,
		.pasid = pasid,
		.grpid = grpid,
		.code = code,
		.origin = origin,
		.name = name,
	};

	if (iopf_trace_on(amd->ctx))
		iopf_trace_emit(amd->ctx, &ev);
}
