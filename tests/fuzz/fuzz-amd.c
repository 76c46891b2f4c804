// SPDX-License-Identifier: MIT
/*
 * AMD IOMMU fuzzer: PPR log entries decoded from raw 16-byte records
 * (malformed ones included) into a small log, with or without the
 * interrupt-before-entry erratum, arbitrary writes to the control, status
 * and PPR head registers, the interrupt thread and the fault queue run by
 * hand, handler behaviour, attach and detach, and failed allocations. The
 * PPR entry and COMPLETE_PPR_REQUEST codecs must round-trip. Nothing may
 * crash, hang or leak.
 */
#include <errno.h>

#include <iopf/hw/amd.h>

#include "fuzz-hw.h"

#define MAX_OPS	 512
#define NR_DEVS	 2
#define DEVID(i) (0x10u + 8u * (uint16_t)(i))
#define MAP_BASE 0x100000ull

struct fz_amd {
	struct fz_in in;
	struct fz_hw hw;
	struct iopf_amd *amd;
	struct iopf_domain *dom;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	struct iopf_device *dev[NR_DEVS];
	struct iopf_attach_handle h[NR_DEVS];
};

static void op_log(struct fz_amd *f)
{
	uint8_t b = fz_u8(&f->in);
	struct iopf_amd_ppr_entry e, e2;
	uint64_t raw[2], again[2];
	int ret;

	fz_copy(&f->in, raw, sizeof(raw));
	FZ_CHECK(iopf_amd_ppr_decode(raw, &e) == 0);
	if (!iopf_amd_ppr_encode(&e, again)) {
		FZ_CHECK(iopf_amd_ppr_decode(again, &e2) == 0);
		FZ_CHECK(!memcmp(&e, &e2, sizeof(e)));
	}
	/* Mostly well-formed requests of our devices; else as decoded. */
	if (!(b & 0x80)) {
		e.devid = (uint16_t)DEVID(b & 1);
		e.type = IOPF_AMD_PPR_REQ_FAULT;
		if (b & 2)
			e.flags = (e.flags & ~IOPF_AMD_PPR_FLAG_RVSD) |
				  IOPF_AMD_PPR_FLAG_GN;
		if (b & 4)
			e.pasid = (b >> 3) & 3;
		if (b & 8)
			e.addr = MAP_BASE + ((e.addr & 0xff) << 12);
	}
	ret = iopf_amd_log_ppr(f->amd, &e);
	FZ_CHECK(ret == 0 || ret == -ENOSPC || ret == -EINVAL);
}

static void op_cmd_codec(struct fz_amd *f)
{
	struct iopf_amd_complete_ppr c, c2;
	uint32_t raw[4], again[4];

	fz_copy(&f->in, raw, sizeof(raw));
	if (iopf_amd_complete_ppr_decode(raw, &c))
		return;
	FZ_CHECK(iopf_amd_complete_ppr_encode(&c, again) == 0);
	FZ_CHECK(iopf_amd_complete_ppr_decode(again, &c2) == 0);
	FZ_CHECK(!memcmp(&c, &c2, sizeof(c)));
}

static const uint32_t amd_regs[] = {
	IOPF_AMD_MMIO_CONTROL,	IOPF_AMD_MMIO_PPR_LOG, IOPF_AMD_MMIO_CMD_HEAD,
	IOPF_AMD_MMIO_CMD_TAIL, IOPF_AMD_MMIO_STATUS,  IOPF_AMD_MMIO_PPR_HEAD,
	IOPF_AMD_MMIO_PPR_TAIL,
};

#define NR_REGS (sizeof(amd_regs) / sizeof(amd_regs[0]))

static void op_reg(struct fz_amd *f)
{
	uint8_t b = fz_u8(&f->in);
	uint32_t off = b < 0xf0 ? amd_regs[b % NR_REGS] : fz_u32(&f->in);
	uint64_t val =
		b & 0x80 ? fz_u64(&f->in) : (uint64_t)fz_u16(&f->in) << 4;
	int ret;

	ret = iopf_amd_write_reg(f->amd, off, val);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
	ret = iopf_amd_read_reg(f->amd, off, &val);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
}

static void op_run(struct fz_amd *f)
{
	struct iopf_amd_stats st;
	uint8_t b = fz_u8(&f->in);

	switch (b % 5) {
	case 0:
		FZ_CHECK(iopf_amd_handle_ppr_irq(f->amd) >= 0);
		break;
	case 1:
		FZ_CHECK(iopf_amd_poll_ppr_log(f->amd) >= 0);
		break;
	case 2:
		FZ_CHECK(iopf_amd_pump(f->amd) >= 0);
		break;
	case 3:
		iopf_queue_run(iopf_amd_iopf_queue(f->amd), b >> 3);
		break;
	default:
		FZ_CHECK(iopf_amd_get_stats(f->amd, &st) == 0);
		FZ_CHECK(st.cmd_errors <= st.cmds);
		op_cmd_codec(f);
		break;
	}
}

static void fz_attach(struct fz_amd *f, unsigned int v)
{
	int ret;

	if (!f->dev[v])
		return;
	ret = iopf_attach_device(f->dom, f->dev[v], &f->h[v]);
	FZ_CHECK(ret == 0 || ret == -EBUSY || ret == -ENOMEM || ret == -ENODEV);
	if (v == 0 && !f->sva) {
		ret = iopf_sva_bind_device(f->dev[v], f->mm, &f->sva);
		FZ_CHECK(ret == 0 || ret == -ENOMEM || ret == -ENODEV);
	}
}

static void op_objects(struct fz_amd *f)
{
	uint8_t b = fz_u8(&f->in);
	unsigned int v = b & 1;

	switch ((b >> 1) % 4) {
	case 0:
		fz_hw_mode(&f->hw, fz_u8(&f->in));
		break;
	case 1:
		fz_hw_release(&f->hw, fz_u8(&f->in));
		break;
	case 2:
		if (v == 0) {
			iopf_sva_unbind_device(f->sva);
			f->sva = NULL;
		}
		iopf_detach_device(f->dom, f->dev[v]);
		fz_attach(f, v);
		break;
	default:
		iopf_testing_fail_nth(1 + fz_below(&f->in, 8));
		break;
	}
}

static int fz_setup(struct fz_amd *f)
{
	struct iopf_amd_attr attr = { .size = sizeof(attr) };
	struct iopf_amd_dev_attr dattr = {
		.size = sizeof(dattr),
		.max_pasids = 8,
	};
	uint8_t b = fz_u8(&f->in);

	attr.ppr_log_entries = 256;
	attr.irq_before_entry = b & 1;
	attr.erratum_polls = (b >> 1) & 7;
	attr.loop_timeout = 1 + ((b >> 4) & 7);
	if (iopf_ctx_new(&f->hw.ctx) ||
	    iopf_amd_new(f->hw.ctx, &attr, &f->amd) ||
	    iopf_domain_new(f->hw.ctx, IOPF_DOMAIN_PAGING, fz_hw_handler,
			    &f->hw, &f->dom) ||
	    iopf_mm_new(f->hw.ctx, &f->mm) ||
	    iopf_mm_map(f->mm, MAP_BASE, 0x100000,
			IOPF_PROT_READ | IOPF_PROT_WRITE))
		return -ENOMEM;
	for (unsigned int v = 0; v < NR_DEVS; v++) {
		dattr.devid = (uint16_t)DEVID(v);
		dattr.pri = v == 0 || (b & 0x80);
		dattr.prg_resp_pasid_required = b & 0x40;
		if (iopf_amd_add_device(f->amd, &dattr, &f->dev[v]))
			return -ENOMEM;
		fz_attach(f, v);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_amd f;

	memset(&f, 0, sizeof(f));
	fz_init(&f.in, data, size);
	FZ_CHECK(fz_setup(&f) == 0);
	for (unsigned int n = 0; n < MAX_OPS && fz_more(&f.in); n++) {
		switch (fz_below(&f.in, 6)) {
		case 0:
		case 1:
			op_log(&f);
			break;
		case 2:
			op_reg(&f);
			break;
		case 3:
		case 4:
			op_run(&f);
			break;
		default:
			op_objects(&f);
			break;
		}
	}
	fz_hw_teardown(&f.hw);
	return 0;
}
