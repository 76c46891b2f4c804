// SPDX-License-Identifier: MIT
/*
 * SMMUv3 backend, manual mode: record and command layouts against
 * hand-computed bit patterns, the stall model (tags, waiting records,
 * RESUME), the PRI queue (overflow, automatic responses) and Linux's DENY.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/hw/pci.h>
#include <iopf/hw/smmuv3.h>
#include <iopf/sva.h>

#include "iommu-priv.h"
#include "hw/smmuv3/smmuv3-priv.h"

#define PAGE 0x1000ull

/* ---- a test domain: translate fails fail_count times ------------------ */

#define MAX_HELD 16

struct tdom {
	int fail_count; /* translations that fault before one succeeds */
	int answer; /* -1: hold the group, else answer with it */
	struct iopf_group *held[MAX_HELD];
	size_t nr_held;
	struct iopf_fault last; /* the last fault handled */
	size_t handled;
};

static struct tdom tdom;

static int tdom_translate(struct iopf_domain *domain, uint64_t addr,
			  uint32_t perm)
{
	(void)domain;
	(void)addr;
	(void)perm;
	if (tdom.fail_count > 0) {
		tdom.fail_count--;
		return -EFAULT;
	}
	return 0;
}

static int tdom_handler(struct iopf_group *group)
{
	tdom.last = *iopf_group_last_fault(group);
	tdom.handled++;
	if (tdom.answer < 0) {
		assert_true(tdom.nr_held < MAX_HELD);
		tdom.held[tdom.nr_held++] = group;
		return 0;
	}
	iopf_group_response(group, (enum iopf_page_response_code)tdom.answer);
	iopf_free_group(group);
	return 0;
}

static const struct iopf_domain_ops tdom_ops = { .translate = tdom_translate };

/* ---- PRG responses seen by the root complex --------------------------- */

struct prg {
	uint32_t sid;
	uint16_t prgi;
	uint8_t code;
	bool pasid_valid;
	uint32_t pasid;
};

static struct prg prgs[32];
static size_t nr_prgs;

static void record_prg(void *priv, uint32_t sid, uint16_t prgi, uint8_t code,
		       bool pasid_valid, uint32_t pasid)
{
	(void)priv;
	if (nr_prgs < 32)
		prgs[nr_prgs++] =
			(struct prg){ sid, prgi, code, pasid_valid, pasid };
}

/* ---- fixture ---------------------------------------------------------- */

struct fix {
	struct iopf_ctx *ctx;
	struct iopf_smmuv3 *smmu;
	struct iopf_device *dev; /* stall master, SID 0x10 */
	struct iopf_domain *domain; /* tdom at PASID 1 */
	struct iopf_attach_handle handle;
};

static void fix_build(struct fix *f, struct iopf_smmuv3_attr *attr)
{
	struct iopf_smmuv3_master_attr m = {
		.size = sizeof(m),
		.sid = 0x10,
		.max_pasids = 16,
		.stall = true,
	};

	memset(&tdom, 0, sizeof(tdom));
	tdom.answer = -1;
	nr_prgs = 0;
	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	attr->size = sizeof(*attr);
	attr->prg_response = record_prg;
	assert_int_equal(iopf_smmuv3_new(f->ctx, attr, &f->smmu), 0);
	assert_int_equal(iopf_smmuv3_add_master(f->smmu, &m, &f->dev), 0);
	assert_int_equal(iopf_domain_alloc_ops(f->ctx, IOPF_DOMAIN_PAGING,
					       tdom_handler, NULL, &tdom_ops,
					       &f->domain),
			 0);
	assert_int_equal(
		iopf_attach_device_pasid(f->domain, f->dev, 1, &f->handle), 0);
}

static struct fix fix;

static int setup(void **state)
{
	struct iopf_smmuv3_attr attr = { .nr_stags = 4 };

	fix_build(&fix, &attr);
	*state = &fix;
	return 0;
}

static int setup_small(void **state)
{
	struct iopf_smmuv3_attr attr = {
		.evtq_log2size = 1,
		.priq_log2size = 1,
		.nr_stags = 2,
	};

	fix_build(&fix, &attr);
	*state = &fix;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	for (size_t i = 0; i < tdom.nr_held; i++)
		iopf_free_group(tdom.held[i]);
	tdom.nr_held = 0;
	iopf_detach_device_pasid(f->domain, f->dev, 1);
	assert_int_equal(iopf_domain_free(f->domain), 0);
	iopf_ctx_free(f->ctx);
	return 0;
}

static uint32_t reg(struct fix *f, uint32_t off)
{
	uint32_t v = 0;

	assert_int_equal(iopf_smmuv3_read_reg(f->smmu, off, &v), 0);
	return v;
}

static struct iopf_smmuv3_txn_info info_of(struct iopf_smmuv3_txn *txn)
{
	struct iopf_smmuv3_txn_info info;

	assert_int_equal(iopf_smmuv3_txn_info(txn, &info), 0);
	return info;
}

static struct iopf_smmuv3_stats stats_of(struct fix *f)
{
	struct iopf_smmuv3_stats s;

	assert_int_equal(iopf_smmuv3_get_stats(f->smmu, &s), 0);
	return s;
}

/* ---- layouts ---------------------------------------------------------- */

static void test_event_layout(void **state)
{
	struct iopf_smmuv3_event evt = {
		.id = IOPF_SMMUV3_EVT_F_TRANSLATION, .ssv = true, .ssid = 0x12345,
		.sid = 0x42, .stag = 0x1234, .stall = true, .pnu = true, .rnw = true,
		.class = IOPF_SMMUV3_EVT_CLASS_IN, .iova = 0xdeadbeef123ull,
		.ipa = 0xabcde000ull,
	}, back;
	uint64_t raw[4];

	(void)state;
	assert_int_equal(iopf_smmuv3_event_encode(&evt, raw), 0);
	assert_true(raw[0] == 0x0000004212345810ull);
	assert_true(raw[1] == 0x0000020a80001234ull);
	assert_true(raw[2] == 0xdeadbeef123ull);
	assert_true(raw[3] == 0xabcde000ull);
	assert_int_equal(iopf_smmuv3_event_decode(raw, &back), 0);
	assert_int_equal(back.id, 0x10);
	assert_true(back.ssv && back.stall && back.pnu && back.rnw);
	assert_false(back.ind || back.s2 || back.tt_read);
	assert_int_equal(back.ssid, 0x12345);
	assert_int_equal(back.sid, 0x42);
	assert_int_equal(back.stag, 0x1234);
	assert_int_equal(back.class, IOPF_SMMUV3_EVT_CLASS_IN);
	assert_true(back.iova == 0xdeadbeef123ull && back.ipa == 0xabcde000ull);

	/* InD, S2, TT_READ */
	memset(&evt, 0, sizeof(evt));
	evt.ind = true;
	evt.s2 = true;
	evt.tt_read = true;
	assert_int_equal(iopf_smmuv3_event_encode(&evt, raw), 0);
	assert_true(raw[1] == ((1ull << 34) | (1ull << 39) | (1ull << 44)));

	evt.ssid = 1u << 20;
	assert_int_equal(iopf_smmuv3_event_encode(&evt, raw), -EINVAL);
	evt.ssid = 0;
	evt.ipa = 0x123;
	assert_int_equal(iopf_smmuv3_event_encode(&evt, raw), -EINVAL);
	assert_int_equal(iopf_smmuv3_event_decode(NULL, &back), -EINVAL);
}

static void test_ppr_layout(void **state)
{
	struct iopf_smmuv3_ppr ppr = {
		.sid = 0x100, .ssid = 0xabcde, .priv = true, .read = true,
		.write = true, .last = true, .ssv = true, .prgi = 0x1ff,
		.addr = 0x7fff0000ull,
	}, back;
	uint64_t raw[2];

	(void)state;
	assert_int_equal(iopf_smmuv3_ppr_encode(&ppr, raw), 0);
	assert_true(raw[0] == 0xf40abcde00000100ull);
	assert_true(raw[1] == 0x000000007fff01ffull);
	assert_int_equal(iopf_smmuv3_ppr_decode(raw, &back), 0);
	assert_int_equal(back.sid, 0x100);
	assert_int_equal(back.ssid, 0xabcde);
	assert_true(back.priv && back.read && back.write && back.last &&
		    back.ssv);
	assert_false(back.exec);
	assert_int_equal(back.prgi, 0x1ff);
	assert_true(back.addr == 0x7fff0000ull);

	ppr = (struct iopf_smmuv3_ppr){ .exec = true };
	assert_int_equal(iopf_smmuv3_ppr_encode(&ppr, raw), 0);
	assert_true(raw[0] == 1ull << 59 && raw[1] == 0);

	ppr.prgi = 0x200;
	assert_int_equal(iopf_smmuv3_ppr_encode(&ppr, raw), -EINVAL);
	ppr.prgi = 0;
	ppr.addr = 0x1001;
	assert_int_equal(iopf_smmuv3_ppr_encode(&ppr, raw), -EINVAL);
}

static void test_cmd_layout(void **state)
{
	struct iopf_smmuv3_cmd cmd, back;
	uint64_t raw[2];

	(void)state;
	cmd = (struct iopf_smmuv3_cmd){ .opcode = IOPF_SMMUV3_CMD_RESUME,
					.sid = 0x42,
					.stag = 0x1234,
					.resp = IOPF_SMMUV3_RESUME_RETRY };
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[0] == 0x0000004200001044ull && raw[1] == 0x1234);
	assert_int_equal(iopf_smmuv3_cmd_decode(raw, &back), 0);
	assert_int_equal(back.sid, 0x42);
	assert_int_equal(back.stag, 0x1234);
	assert_int_equal(back.resp, IOPF_SMMUV3_RESUME_RETRY);

	cmd = (struct iopf_smmuv3_cmd){ .opcode = IOPF_SMMUV3_CMD_RESUME,
					.sid = 1,
					.resp = IOPF_SMMUV3_RESUME_ABORT };
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[0] == 0x0000000100002044ull && raw[1] == 0);

	cmd = (struct iopf_smmuv3_cmd){ .opcode = IOPF_SMMUV3_CMD_PRI_RESP,
					.ssv = true,
					.ssid = 0x12345,
					.sid = 0x100,
					.grpid = 0x1ff,
					.resp = IOPF_SMMUV3_PRI_RESP_FAILURE };
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[0] == 0x0000010012345841ull && raw[1] == 0x1ff);
	assert_int_equal(iopf_smmuv3_cmd_decode(raw, &back), 0);
	assert_true(back.ssv);
	assert_int_equal(back.ssid, 0x12345);
	assert_int_equal(back.sid, 0x100);
	assert_int_equal(back.grpid, 0x1ff);
	assert_int_equal(back.resp, IOPF_SMMUV3_PRI_RESP_FAILURE);
	cmd.resp = IOPF_SMMUV3_PRI_RESP_SUCCESS;
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[1] == 0x21ff);
	cmd.resp = IOPF_SMMUV3_PRI_RESP_ILLEGAL;
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[1] == 0x31ff);
	assert_int_equal(iopf_smmuv3_cmd_decode(raw, &back), -EPROTO);

	cmd = (struct iopf_smmuv3_cmd){ .opcode = IOPF_SMMUV3_CMD_STALL_TERM,
					.sid = 7 };
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[0] == 0x0000000700000045ull && raw[1] == 0);

	cmd = (struct iopf_smmuv3_cmd){ .opcode = IOPF_SMMUV3_CMD_SYNC,
					.cs = IOPF_SMMUV3_SYNC_CS_IRQ,
					.msidata = 0xcafe,
					.msiaddr = 0x1000 };
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), 0);
	assert_true(raw[0] == 0x0000cafe00001046ull && raw[1] == 0x1000);
	assert_int_equal(iopf_smmuv3_cmd_decode(raw, &back), 0);
	assert_int_equal(back.cs, IOPF_SMMUV3_SYNC_CS_IRQ);
	assert_int_equal(back.msidata, 0xcafe);
	assert_true(back.msiaddr == 0x1000);

	cmd.opcode = 0x99;
	assert_int_equal(iopf_smmuv3_cmd_encode(&cmd, raw), -EINVAL);
	raw[0] = 0x99;
	assert_int_equal(iopf_smmuv3_cmd_decode(raw, &back), -EPROTO);
}

/* ---- the stall model -------------------------------------------------- */

/* A stalled read by a privileged master is one LAST_PAGE fault, grpid = STAG. */
static void test_stall_record_and_report(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_txn *txn;
	struct iopf_smmuv3_event evt;
	struct iopf_smmuv3_txn_info info;
	uint64_t raw[4];

	tdom.fail_count = 1;
	assert_int_equal(
		iopf_smmuv3_dma(f->smmu, 0x10, 1, 0x4567,
				IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_PRIV,
				&txn),
		0);
	info = info_of(txn);
	assert_int_equal(info.state, IOPF_SMMUV3_TXN_STALLED);
	assert_true(info.record_written);
	assert_int_equal(info.stag, 0);
	assert_int_equal(reg(f, IOPF_SMMUV3_EVTQ_PROD), 1);

	/* the record in the queue, as software sees it */
	memcpy(raw, f->smmu->evtq.base, sizeof(raw));
	assert_int_equal(iopf_smmuv3_event_decode(raw, &evt), 0);
	assert_int_equal(evt.id, IOPF_SMMUV3_EVT_F_TRANSLATION);
	assert_true(evt.stall && evt.ssv && evt.rnw && evt.pnu && !evt.ind);
	assert_int_equal(evt.ssid, 1);
	assert_int_equal(evt.sid, 0x10);
	assert_true(evt.iova == 0x4567);

	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 1);
	assert_int_equal(reg(f, IOPF_SMMUV3_EVTQ_CONS), 1);
	assert_int_equal(tdom.handled, 1);
	assert_int_equal(tdom.last.prm.flags,
			 IOPF_FAULT_PAGE_REQUEST_LAST_PAGE |
				 IOPF_FAULT_PAGE_REQUEST_PASID_VALID);
	assert_int_equal(tdom.last.prm.pasid, 1);
	assert_int_equal(tdom.last.prm.grpid, 0);
	assert_int_equal(tdom.last.prm.perm,
			 IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_PRIV);
	assert_true(tdom.last.prm.addr ==
		    0x4567); /* the IOVA, not page aligned */

	iopf_group_response(tdom.held[0], IOPF_PAGE_RESP_SUCCESS);
	info = info_of(txn);
	assert_int_equal(info.state, IOPF_SMMUV3_TXN_DONE);
	assert_int_equal(info.nr_stalls, 1);
	assert_int_equal(stats_of(f).stalls_active, 0);
	iopf_smmuv3_txn_put(txn);
}

static void test_stag_alloc_and_recycle(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_txn *t[5];

	tdom.fail_count = 100;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x10, 1, i * PAGE,
						 IOPF_FAULT_PERM_WRITE, &t[i]),
				 0);
		assert_int_equal(info_of(t[i]).stag, i);
	}
	/* no fifth tag: the stall waits, its record is not written */
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x10, 1, 9 * PAGE,
					 IOPF_FAULT_PERM_WRITE, &t[4]),
			 0);
	assert_int_equal(info_of(t[4]).state, IOPF_SMMUV3_TXN_STALLED);
	assert_false(info_of(t[4]).record_written);
	assert_int_equal(stats_of(f).stalls_waiting, 1);
	assert_int_equal(stats_of(f).stalls_active, 4);

	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 4);
	assert_int_equal(tdom.nr_held, 4);
	assert_int_equal(tdom.last.prm.perm, IOPF_FAULT_PERM_WRITE);

	/* INVALID aborts STAG 2 and frees it: the waiting stall takes it */
	iopf_group_response(tdom.held[2], IOPF_PAGE_RESP_INVALID);
	assert_int_equal(info_of(t[2]).state, IOPF_SMMUV3_TXN_ABORTED);
	assert_true(info_of(t[4]).record_written);
	assert_int_equal(info_of(t[4]).stag, 2);
	assert_int_equal(stats_of(f).stalls_waiting, 0);

	/* a RESUME for a tag nobody holds, or from the wrong stream, is a no-op */
	{
		struct iopf_smmuv3_cmd cmd = {
			.opcode = IOPF_SMMUV3_CMD_RESUME,
			.sid = 0x11,
			.stag = 0,
			.resp = IOPF_SMMUV3_RESUME_ABORT
		};

		assert_int_equal(arm_smmu_cmdq_issue_cmd(f->smmu, &cmd), 0);
		assert_int_equal(info_of(t[0]).state, IOPF_SMMUV3_TXN_STALLED);
		cmd.sid = 0x10;
		cmd.stag = 3;
		cmd.resp = IOPF_SMMUV3_RESUME_TERM;
		assert_int_equal(arm_smmu_cmdq_issue_cmd(f->smmu, &cmd), 0);
		assert_int_equal(info_of(t[3]).state,
				 IOPF_SMMUV3_TXN_TERMINATED);
		assert_int_equal(arm_smmu_cmdq_issue_cmd(f->smmu, &cmd),
				 0); /* no-op */
	}
	/* CMD_STALL_TERM aborts every stall of the stream */
	{
		struct iopf_smmuv3_cmd cmd = {
			.opcode = IOPF_SMMUV3_CMD_STALL_TERM, .sid = 0x10
		};

		assert_int_equal(arm_smmu_cmdq_issue_cmd(f->smmu, &cmd), 0);
	}
	assert_int_equal(info_of(t[0]).state, IOPF_SMMUV3_TXN_ABORTED);
	assert_int_equal(info_of(t[1]).state, IOPF_SMMUV3_TXN_ABORTED);
	assert_int_equal(info_of(t[4]).state, IOPF_SMMUV3_TXN_ABORTED);
	assert_int_equal(stats_of(f).stalls_active, 0);
	for (int i = 0; i < 5; i++)
		iopf_smmuv3_txn_put(t[i]);
}

/*
 * Event queue of 2: ordinary events are lost and toggle OVFLG; the stall
 * record waits and is written when the driver frees space.
 */
static void test_stall_waits_for_evtq_space(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_master_attr m = { .size = sizeof(m),
					     .sid = 0x20,
					     .max_pasids = 16 };
	struct iopf_attach_handle h2;
	struct iopf_device *plain;
	struct iopf_smmuv3_txn *st, *t;

	assert_int_equal(iopf_smmuv3_add_master(f->smmu, &m, &plain), 0);
	assert_int_equal(iopf_attach_device_pasid(f->domain, plain, 1, &h2), 0);
	tdom.fail_count = 100;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x20, 1, i * PAGE,
						 IOPF_FAULT_PERM_READ, &t),
				 0);
		assert_int_equal(info_of(t).state, IOPF_SMMUV3_TXN_ABORTED);
		iopf_smmuv3_txn_put(t);
	}
	assert_int_equal(stats_of(f).events_written, 2);
	assert_int_equal(stats_of(f).events_lost, 1);
	assert_true(reg(f, IOPF_SMMUV3_EVTQ_PROD) & IOPF_SMMUV3_Q_OVF);

	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x10, 1, 0x5000,
					 IOPF_FAULT_PERM_READ, &st),
			 0);
	assert_int_equal(info_of(st).state, IOPF_SMMUV3_TXN_STALLED);
	assert_false(info_of(st).record_written);
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x20, 1, 0x6000,
					 IOPF_FAULT_PERM_READ, NULL),
			 0);
	assert_int_equal(stats_of(f).events_lost, 2);
	assert_int_equal(stats_of(f).stalls_waiting, 1);

	/* two dumped events, then the stall record that waited */
	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 3);
	assert_int_equal(tdom.nr_held, 1);
	assert_int_equal(tdom.last.prm.addr, 0x5000);
	assert_int_equal(stats_of(f).events_written, 3);
	assert_int_equal(stats_of(f).stalls_waiting, 0);
	/* overflow acknowledged */
	assert_int_equal(reg(f, IOPF_SMMUV3_EVTQ_CONS) & IOPF_SMMUV3_Q_OVF,
			 reg(f, IOPF_SMMUV3_EVTQ_PROD) & IOPF_SMMUV3_Q_OVF);

	tdom.fail_count = 0;
	iopf_group_response(tdom.held[0], IOPF_PAGE_RESP_SUCCESS);
	assert_int_equal(info_of(st).state, IOPF_SMMUV3_TXN_DONE);
	iopf_smmuv3_txn_put(st);
	iopf_detach_device_pasid(f->domain, plain, 1);
}

static void test_resume_retry_faults_again(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_txn *txn;
	struct iopf_smmuv3_txn_info info;

	tdom.fail_count = 3; /* the first run and two retries fault */
	tdom.answer = IOPF_PAGE_RESP_SUCCESS;
	assert_int_equal(
		iopf_smmuv3_dma(f->smmu, 0x10, 1, 0x8000,
				IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_EXEC,
				&txn),
		0);
	/* each retry stalls again with the tag just released */
	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 3);
	info = info_of(txn);
	assert_int_equal(info.state, IOPF_SMMUV3_TXN_DONE);
	assert_int_equal(info.nr_stalls, 3);
	assert_int_equal(tdom.handled, 3);
	assert_int_equal(tdom.last.prm.grpid, 0);
	assert_int_equal(tdom.last.prm.perm,
			 IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_EXEC);
	assert_int_equal(stats_of(f).stalls_active, 0);
	iopf_smmuv3_txn_put(txn);

	/* FAILURE aborts */
	tdom.fail_count = 1;
	tdom.answer = IOPF_PAGE_RESP_FAILURE;
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x10, 1, 0x9000,
					 IOPF_FAULT_PERM_READ, &txn),
			 0);
	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 1);
	assert_int_equal(info_of(txn).state, IOPF_SMMUV3_TXN_ABORTED);
	iopf_smmuv3_txn_put(txn);
}

/* A stall without a PASID reaches no fault-capable attachment: INVALID. */
static void test_stall_without_handler(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_txn *txn;

	tdom.fail_count = 1;
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x10, 3, 0x1000,
					 IOPF_FAULT_PERM_READ, &txn),
			 0);
	/* nothing at PASID 3: a C_BAD_SUBSTREAMID event, no stall */
	assert_int_equal(info_of(txn).state, IOPF_SMMUV3_TXN_ABORTED);
	assert_int_equal(info_of(txn).event_id,
			 IOPF_SMMUV3_EVT_C_BAD_SUBSTREAMID);
	iopf_smmuv3_txn_put(txn);

	/* An unknown StreamID: a C_BAD_STREAMID event, no transaction back. */
	txn = NULL;
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x77, 0, 0x1000,
					 IOPF_FAULT_PERM_READ, &txn),
			 -ENODEV);
	assert_null(txn);
	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 2);
	assert_int_equal(tdom.handled, 0);
}

/* A stall master with two StreamIDs: no IOPF, and SVA cannot attach. */
static void test_multi_sid_master(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_master_attr m = { .size = sizeof(m),
					     .sid = 0x30,
					     .nr_sids = 2,
					     .max_pasids = 16,
					     .stall = true };
	struct iopf_attach_handle h;
	struct iopf_smmuv3_txn *txn;
	struct iopf_device *dev;
	struct iopf_mm *mm;
	struct iopf_sva *sva;

	assert_int_equal(iopf_smmuv3_add_master(f->smmu, &m, &dev), 0);
	assert_int_equal(iopf_smmuv3_add_master(f->smmu, &m, &dev), -EEXIST);
	assert_int_equal(iopf_mm_new(f->ctx, &mm), 0);
	assert_int_equal(iopf_sva_bind_device(dev, mm, &sva), -EOPNOTSUPP);
	iopf_mm_put(mm);

	/*
	 * The fault is reported but the device is on no queue: the core
	 * answers INVALID, and RESUME goes to streams[0], not to the second
	 * stream that stalled: the transaction stays stalled. This is why
	 * Linux refuses IOPF for such masters.
	 */
	assert_int_equal(iopf_attach_device_pasid(f->domain, dev, 1, &h), 0);
	tdom.fail_count = 1;
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x31, 1, 0x1000,
					 IOPF_FAULT_PERM_READ, &txn),
			 0);
	assert_int_equal(iopf_smmuv3_process_evtq(f->smmu), 1);
	assert_int_equal(info_of(txn).state, IOPF_SMMUV3_TXN_STALLED);
	assert_int_equal(tdom.handled, 0);
	/* the shutdown sequence terminates it */
	iopf_detach_device_pasid(f->domain, dev, 1);
	assert_int_equal(iopf_smmuv3_remove_master(f->smmu, 0x30), 0);
	assert_int_equal(info_of(txn).state, IOPF_SMMUV3_TXN_ABORTED);
	assert_int_equal(iopf_smmuv3_remove_master(f->smmu, 0x30), -ENOENT);
	iopf_smmuv3_txn_put(txn);
}

static void test_illegal_command(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_cmd cmd = { .opcode = IOPF_SMMUV3_CMD_PRI_RESP,
				       .sid = 0x10,
				       .resp = IOPF_SMMUV3_PRI_RESP_ILLEGAL };

	assert_int_equal(arm_smmu_cmdq_issue_cmd(f->smmu, &cmd), 0);
	assert_int_equal(stats_of(f).cmd_errors, 1);
	assert_int_equal(nr_prgs, 0); /* it never reached the endpoint */
	/* the driver skipped it and acknowledged GERROR */
	assert_int_equal(reg(f, IOPF_SMMUV3_GERROR),
			 IOPF_SMMUV3_GERROR_CMDQ_ERR);
	assert_int_equal(reg(f, IOPF_SMMUV3_GERRORN),
			 IOPF_SMMUV3_GERROR_CMDQ_ERR);
	assert_int_equal(reg(f, IOPF_SMMUV3_CMDQ_CONS), 1);

	cmd.resp = IOPF_SMMUV3_PRI_RESP_INVALID;
	cmd.grpid = 5;
	assert_int_equal(arm_smmu_cmdq_issue_cmd(f->smmu, &cmd), 0);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(prgs[0].code, 0x1);
	assert_int_equal(prgs[0].prgi, 5);
	assert_false(prgs[0].pasid_valid);
}

/* ---- the PRI queue ---------------------------------------------------- */

static struct iopf_smmuv3_ppr ppr_of(uint16_t prgi, bool last, bool ssv)
{
	return (struct iopf_smmuv3_ppr){
		.sid = 0x40,
		.ssid = ssv ? 5 : 0,
		.ssv = ssv,
		.read = true,
		.last = last,
		.prgi = prgi,
		.addr = prgi * PAGE,
	};
}

static void test_priq_overflow_auto_success(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_ppr marker = ppr_of(9, true, true);
	struct iopf_smmuv3_ppr p;

	assert_int_equal(
		iopf_smmuv3_pri_request(
			f->smmu,
			&(struct iopf_smmuv3_ppr){ .sid = 0x40, .prgi = 1 }),
		0);
	p = ppr_of(2, false, true);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_int_equal(stats_of(f).priq_written, 2);
	assert_false(reg(f, IOPF_SMMUV3_PRIQ_PROD) & IOPF_SMMUV3_Q_OVF);

	/* full: OVFLG toggles, a Last request is answered Success at once */
	p = ppr_of(2, true, true);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_true(reg(f, IOPF_SMMUV3_PRIQ_PROD) & IOPF_SMMUV3_Q_OVF);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(prgs[0].code, 0x0);
	assert_int_equal(prgs[0].prgi, 2);
	assert_false(prgs[0].pasid_valid); /* PPS = 0, STE.PPAR = 0 */

	/* overflow active: others and stop markers are dropped silently */
	p = ppr_of(3, false, true);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	marker.read = false;
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &marker), 0);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(stats_of(f).priq_dropped, 3);
	assert_int_equal(stats_of(f).auto_responses, 1);

	/* the driver drains and acknowledges; nothing was Last: no DENY */
	assert_int_equal(iopf_smmuv3_process_priq(f->smmu), 2);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(reg(f, IOPF_SMMUV3_PRIQ_CONS) & IOPF_SMMUV3_Q_OVF,
			 reg(f, IOPF_SMMUV3_PRIQ_PROD) & IOPF_SMMUV3_Q_OVF);

	/* logging again: a Last request now gets Linux's DENY */
	p = ppr_of(4, true, true);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_int_equal(iopf_smmuv3_process_priq(f->smmu), 1);
	assert_int_equal(nr_prgs, 2);
	assert_int_equal(prgs[1].code, 0xf); /* Response Failure */
	assert_true(prgs[1].pasid_valid);
	assert_int_equal(prgs[1].pasid, 5);
	assert_int_equal(prgs[1].prgi, 4);
}

static int setup_pps(void **state)
{
	struct iopf_smmuv3_attr attr = { .priq_log2size = 1, .pps = true };

	fix_build(&fix, &attr);
	*state = &fix;
	return 0;
}

static void test_priq_auto_success_pasid(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_ppr p = ppr_of(1, false, true);

	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	p = ppr_of(7, true, true);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_int_equal(nr_prgs, 1);
	assert_true(prgs[0].pasid_valid); /* IDR3.PPS */
	assert_int_equal(prgs[0].pasid, 5);
}

static void test_priq_disabled_auto_failure(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_ppr p = ppr_of(3, false, true);
	uint32_t cr0 = reg(f, IOPF_SMMUV3_CR0);

	assert_true(cr0 & IOPF_SMMUV3_CR0_PRIQEN);
	assert_int_equal(iopf_smmuv3_write_reg(f->smmu, IOPF_SMMUV3_CR0,
					       cr0 & ~IOPF_SMMUV3_CR0_PRIQEN),
			 0);
	/* every request, Last or not, gets Response Failure without PASID */
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(prgs[0].code, 0xf);
	assert_false(prgs[0].pasid_valid);
	p = ppr_of(3, true, true);
	p.read = false; /* stop marker: nothing */
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, &p), 0);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(stats_of(f).priq_written, 0);
	assert_int_equal(
		iopf_smmuv3_write_reg(f->smmu, IOPF_SMMUV3_PRIQ_PROD, 0),
		-EINVAL);
}

/* Linux's DENY is Response Failure: the endpoint turns PRI off. */
static void test_deny_disables_pri_at_endpoint(void **state)
{
	struct fix *f = *state;
	struct iopf_smmuv3_master_attr m = { .size = sizeof(m),
					     .sid = 0x0100,
					     .max_pasids = 16 };
	struct iopf_pci_endpoint_attr ea = { .size = sizeof(ea),
					     .rid = 0x0100,
					     .timeout_ms = 2000 };
	struct iopf_pci_endpoint *ep;
	struct iopf_device *dev;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	uint32_t status = 0;

	assert_int_equal(iopf_smmuv3_add_master(f->smmu, &m, &dev), 0);
	assert_int_equal(iopf_pci_endpoint_new(f->ctx, &ea, &ep), 0);
	assert_int_equal(iopf_smmuv3_connect(f->smmu, ep), 0);
	assert_int_equal(iopf_smmuv3_connect(f->smmu, ep), -EEXIST);
	assert_int_equal(iopf_pci_enable_pri(ep, 8), 0);
	assert_int_equal(iopf_mm_new(f->ctx, &mm), 0);
	assert_int_equal(iopf_mm_map(mm, 0x100000, 4 * PAGE,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	assert_int_equal(iopf_sva_bind_device(dev, mm, &sva), 0);

	/* translate misses, PRI queue, PRI thread: "unexpected", DENY */
	assert_int_equal(iopf_pci_dma(ep, iopf_sva_get_pasid(sva), 0x100000,
				      PAGE, IOPF_FAULT_PERM_READ),
			 -EIO);
	assert_int_equal(iopf_pci_pri_read(ep, IOPF_PCI_PRI_STATUS, &status),
			 0);
	assert_true(status & IOPF_PCI_PRI_STATUS_RF);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(prgs[0].code, 0xf);
	assert_int_equal(stats_of(f).prg_responses, 1);
	/* no further page request leaves the function */
	assert_int_equal(iopf_pci_dma(ep, iopf_sva_get_pasid(sva), 0x101000,
				      PAGE, IOPF_FAULT_PERM_READ),
			 -EIO);
	assert_int_equal(stats_of(f).priq_written, 1);
	assert_false(iopf_mm_page_present(mm, 0x100000));

	iopf_sva_unbind_device(sva);
	iopf_mm_put(mm);
	iopf_pci_endpoint_free(ep);
}

static void test_bad_input(void **state)
{
	struct iopf_smmuv3_attr attr = { .size = 8 };
	struct iopf_smmuv3 *smmu = (void *)1;
	struct fix *f = *state;
	struct iopf_smmuv3_master_attr m = { .size = 4 };
	struct iopf_device *dev = NULL;

	assert_int_equal(iopf_smmuv3_new(f->ctx, &attr, &smmu), -EINVAL);
	attr.size = sizeof(attr);
	attr.evtq_log2size = 20;
	assert_int_equal(iopf_smmuv3_new(f->ctx, &attr, &smmu), -EINVAL);
	assert_ptr_equal(smmu, (void *)1);
	assert_int_equal(iopf_smmuv3_new(NULL, NULL, &smmu), -EINVAL);
	assert_int_equal(iopf_smmuv3_add_master(f->smmu, &m, &dev), -EINVAL);
	assert_null(dev);
	assert_int_equal(iopf_smmuv3_dma(NULL, 0, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(iopf_smmuv3_dma(f->smmu, 0x10, 1u << 20, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(iopf_smmuv3_pri_request(f->smmu, NULL), -EINVAL);
	assert_int_equal(iopf_smmuv3_read_reg(f->smmu, 0x1234, &m.sid),
			 -EINVAL);
	assert_int_equal(iopf_smmuv3_process_evtq(NULL), -EINVAL);
	assert_null(iopf_smmuv3_iommu(NULL));
	iopf_smmuv3_free(NULL);
	iopf_smmuv3_txn_put(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_layout),
		cmocka_unit_test(test_ppr_layout),
		cmocka_unit_test(test_cmd_layout),
		cmocka_unit_test_setup_teardown(test_stall_record_and_report,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stag_alloc_and_recycle,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_waits_for_evtq_space,
						setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_resume_retry_faults_again,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_without_handler,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_sid_master, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_illegal_command, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_priq_overflow_auto_success,
						setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_priq_auto_success_pasid,
						setup_pps, teardown),
		cmocka_unit_test_setup_teardown(test_priq_disabled_auto_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_deny_disables_pri_at_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
