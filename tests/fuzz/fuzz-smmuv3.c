// SPDX-License-Identifier: MIT
/*
 * SMMUv3 fuzzer: a small SMMU in manual mode with a stalling master (SVA
 * bound) and a PRI master, driven by arbitrary transactions, PRI queue
 * entries decoded from raw 16-byte records, arbitrary writes to CR0 and
 * the queue CONS registers (the driver then consumes whatever the rings
 * hold), the event and PRI threads and the fault queue run by hand,
 * handler behaviour, master churn and failed allocations. The record and
 * command codecs must round-trip. Transactions kept by the caller must be
 * over (not stalled) once the SMMU is gone. Nothing may crash, hang or
 * leak.
 */
#include <errno.h>

#include <iopf/hw/smmuv3.h>

#include "fuzz-hw.h"

#define MAX_OPS	  512
#define MAX_TXNS  8
#define SID_STALL 0x10u
#define SID_PRI	  0x20u
#define MAP_BASE  0x100000ull
#define MAP_SIZE  0x100000ull

struct fz_smmu {
	struct fz_in in;
	struct fz_hw hw;
	struct iopf_smmuv3 *smmu;
	struct iopf_domain *dom;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	struct iopf_attach_handle h[2];
	struct iopf_smmuv3_txn *txn[MAX_TXNS];
	size_t nr_txns;
};

static uint32_t pick_sid(struct fz_smmu *f, uint8_t b)
{
	switch (b & 3) {
	case 0:
	case 1:
		return SID_STALL;
	case 2:
		return SID_PRI;
	default:
		return fz_u32(&f->in);
	}
}

static void check_txn(struct iopf_smmuv3_txn *txn, bool over)
{
	struct iopf_smmuv3_txn_info info;

	FZ_CHECK(iopf_smmuv3_txn_info(txn, &info) == 0);
	FZ_CHECK(info.state >= IOPF_SMMUV3_TXN_STALLED &&
		 info.state <= IOPF_SMMUV3_TXN_ABORTED);
	if (over)
		FZ_CHECK(info.state != IOPF_SMMUV3_TXN_STALLED);
}

static void op_dma(struct fz_smmu *f)
{
	uint8_t b = fz_u8(&f->in);
	uint32_t sid = pick_sid(f, b);
	uint32_t pasid = b & 0x40 ? fz_u32(&f->in) : (b >> 2) & 3;
	uint64_t addr = b & 0x80 ? fz_u64(&f->in) :
				   MAP_BASE + ((uint64_t)fz_u16(&f->in) << 8);
	uint32_t perm = fz_u8(&f->in) & 0xf;
	bool keep = (b & 0x20) && f->nr_txns < MAX_TXNS;
	struct iopf_smmuv3_txn *txn = NULL;
	int ret;

	ret = iopf_smmuv3_dma(f->smmu, sid, pasid, addr, perm,
			      keep ? &txn : NULL);
	FZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENODEV ||
		 ret == -ENOMEM);
	if (!ret && txn) {
		check_txn(txn, false);
		f->txn[f->nr_txns++] = txn;
	}
}

static void op_txn(struct fz_smmu *f)
{
	uint8_t b = fz_u8(&f->in);
	size_t i;

	if (!f->nr_txns)
		return;
	i = b % f->nr_txns;
	check_txn(f->txn[i], false);
	if (b & 0x80) {
		iopf_smmuv3_txn_put(f->txn[i]);
		f->txn[i] = f->txn[--f->nr_txns];
	}
}

static void check_codecs(struct fz_smmu *f)
{
	uint64_t raw[4], again[4];
	struct iopf_smmuv3_event e, e2;
	struct iopf_smmuv3_cmd c, c2;

	fz_copy(&f->in, raw, sizeof(raw));
	FZ_CHECK(iopf_smmuv3_event_decode(raw, &e) == 0);
	if (!iopf_smmuv3_event_encode(&e, again)) {
		FZ_CHECK(iopf_smmuv3_event_decode(again, &e2) == 0);
		FZ_CHECK(!memcmp(&e, &e2, sizeof(e)));
	}
	if (!iopf_smmuv3_cmd_decode(raw, &c)) {
		FZ_CHECK(iopf_smmuv3_cmd_encode(&c, again) == 0);
		FZ_CHECK(iopf_smmuv3_cmd_decode(again, &c2) == 0);
		FZ_CHECK(!memcmp(&c, &c2, sizeof(c)));
	}
}

static void op_pri(struct fz_smmu *f)
{
	uint8_t b = fz_u8(&f->in);
	struct iopf_smmuv3_ppr ppr, ppr2;
	uint64_t raw[2], again[2];
	int ret;

	fz_copy(&f->in, raw, sizeof(raw));
	FZ_CHECK(iopf_smmuv3_ppr_decode(raw, &ppr) == 0);
	if (!iopf_smmuv3_ppr_encode(&ppr, again)) {
		FZ_CHECK(iopf_smmuv3_ppr_decode(again, &ppr2) == 0);
		FZ_CHECK(!memcmp(&ppr, &ppr2, sizeof(ppr)));
	}
	if (!(b & 0x80))
		ppr.sid = pick_sid(f, b);
	ret = iopf_smmuv3_pri_request(f->smmu, &ppr);
	FZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENODEV);
}

static const uint32_t smmu_regs[] = {
	IOPF_SMMUV3_CR0,       IOPF_SMMUV3_GERROR,    IOPF_SMMUV3_GERRORN,
	IOPF_SMMUV3_CMDQ_PROD, IOPF_SMMUV3_CMDQ_CONS, IOPF_SMMUV3_EVTQ_PROD,
	IOPF_SMMUV3_EVTQ_CONS, IOPF_SMMUV3_PRIQ_PROD, IOPF_SMMUV3_PRIQ_CONS,
};

#define NR_REGS (sizeof(smmu_regs) / sizeof(smmu_regs[0]))

static void op_reg(struct fz_smmu *f)
{
	uint8_t b = fz_u8(&f->in);
	uint32_t off = b < 0xf0 ? smmu_regs[b % NR_REGS] : fz_u32(&f->in);
	uint32_t val = fz_u32(&f->in);
	int ret;

	ret = iopf_smmuv3_write_reg(f->smmu, off, val);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
	ret = iopf_smmuv3_read_reg(f->smmu, off, &val);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
}

static void op_run(struct fz_smmu *f)
{
	uint8_t b = fz_u8(&f->in);

	switch (b % 5) {
	case 0:
		FZ_CHECK(iopf_smmuv3_process_evtq(f->smmu) >= 0);
		break;
	case 1:
		FZ_CHECK(iopf_smmuv3_process_priq(f->smmu) >= 0);
		break;
	case 2:
		FZ_CHECK(iopf_smmuv3_pump(f->smmu) >= 0);
		break;
	case 3:
		iopf_queue_run(iopf_smmuv3_iopf_queue(f->smmu), b >> 3);
		break;
	default:
		check_codecs(f);
		break;
	}
}

static void fz_master_new(struct fz_smmu *f, unsigned int i)
{
	struct iopf_smmuv3_master_attr attr = {
		.size = sizeof(attr),
		.sid = i ? SID_PRI : SID_STALL,
		.max_pasids = 8,
		.stall = !i,
		.ppar = true,
	};
	struct iopf_device *dev;
	int ret;

	ret = iopf_smmuv3_add_master(f->smmu, &attr, &dev);
	FZ_CHECK(ret == 0 || ret == -EEXIST || ret == -ENOMEM);
	if (ret)
		return;
	ret = iopf_attach_device(f->dom, dev, &f->h[i]);
	FZ_CHECK(ret == 0 || ret == -ENOMEM || ret == -ENODEV);
	if (i == 0 && f->mm) {
		f->sva = NULL;
		ret = iopf_sva_bind_device(dev, f->mm, &f->sva);
		FZ_CHECK(ret == 0 || ret == -ENOMEM || ret == -ENODEV);
	}
}

static void op_objects(struct fz_smmu *f)
{
	uint8_t b = fz_u8(&f->in);
	unsigned int i = b & 1;
	int ret;

	switch ((b >> 1) % 4) {
	case 0:
		fz_hw_mode(&f->hw, fz_u8(&f->in));
		break;
	case 1:
		fz_hw_release(&f->hw, fz_u8(&f->in));
		break;
	case 2:
		/* The bind goes with the master: unbind first, as a driver would. */
		if (i == 0) {
			iopf_sva_unbind_device(f->sva);
			f->sva = NULL;
		}
		ret = iopf_smmuv3_remove_master(f->smmu,
						i ? SID_PRI : SID_STALL);
		FZ_CHECK(ret == 0 || ret == -ENOENT);
		fz_master_new(f, i);
		break;
	default:
		iopf_testing_fail_nth(1 + fz_below(&f->in, 8));
		break;
	}
}

static int fz_setup(struct fz_smmu *f)
{
	struct iopf_smmuv3_attr attr = { .size = sizeof(attr) };
	uint8_t b = fz_u8(&f->in);

	/* Tiny queues and few stall tags: overflows are the point. */
	attr.evtq_log2size = 1 + (b & 3);
	attr.priq_log2size = 1 + ((b >> 2) & 3);
	attr.nr_stags = 1 + ((b >> 4) & 3);
	attr.stall_model = (b >> 6) % 3;
	b = fz_u8(&f->in);
	attr.term_model = b & 1;
	attr.pps = b & 2;
	attr.no_pri = (b & 0xc) == 0xc;
	if (iopf_ctx_new(&f->hw.ctx) ||
	    iopf_smmuv3_new(f->hw.ctx, &attr, &f->smmu) ||
	    iopf_domain_new(f->hw.ctx, IOPF_DOMAIN_PAGING, fz_hw_handler,
			    &f->hw, &f->dom) ||
	    iopf_mm_new(f->hw.ctx, &f->mm) ||
	    iopf_mm_map(f->mm, MAP_BASE, MAP_SIZE,
			IOPF_PROT_READ | IOPF_PROT_WRITE))
		return -ENOMEM;
	fz_master_new(f, 0);
	fz_master_new(f, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_smmu f;
	long live;

	memset(&f, 0, sizeof(f));
	fz_init(&f.in, data, size);
	FZ_CHECK(fz_setup(&f) == 0);
	for (unsigned int n = 0; n < MAX_OPS && fz_more(&f.in); n++) {
		switch (fz_below(&f.in, 7)) {
		case 0:
		case 1:
			op_dma(&f);
			break;
		case 2:
			op_txn(&f);
			break;
		case 3:
			op_pri(&f);
			break;
		case 4:
			op_reg(&f);
			break;
		case 5:
			op_run(&f);
			break;
		default:
			op_objects(&f);
			break;
		}
	}
	/* The context goes first: kept transactions must be over then. */
	iopf_testing_fail_nth(0);
	while (f.hw.nr_held)
		fz_hw_release(&f.hw, 0);
	iopf_ctx_free(f.hw.ctx);
	f.hw.ctx = NULL;
	while (f.nr_txns) {
		check_txn(f.txn[--f.nr_txns], true);
		iopf_smmuv3_txn_put(f.txn[f.nr_txns]);
	}
	live = iopf_testing_live_allocations();
	FZ_CHECK(live == 0 || live == -EOPNOTSUPP);
	return 0;
}
