// SPDX-License-Identifier: MIT
/*
 * AMD IOMMU backend, manual mode: PPR log entry and COMPLETE_PPR_REQUEST
 * layouts against hand-computed bit patterns, the driver's checks (ppr.c),
 * overflow and restart, and the interrupt-before-entry erratum.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/hw/amd.h>

#include "iommu-priv.h"
#include "hw/amd/amd-priv.h"

#define MAX_HELD 8

struct tdom {
	int answer; /* -1: hold, else answer with it */
	struct iopf_group *held[MAX_HELD];
	size_t nr_held;
	struct iopf_fault last;
	size_t last_count; /* faults in the last group */
	size_t handled;
};

static struct tdom tdom;

static int tdom_handler(struct iopf_group *group)
{
	tdom.last = *iopf_group_last_fault(group);
	tdom.last_count = iopf_group_fault_count(group);
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

struct prg {
	uint16_t devid;
	uint16_t prgi;
	uint8_t code;
	bool pasid_valid;
	uint32_t pasid;
};

static struct prg prgs[32];
static size_t nr_prgs;

static void record_prg(void *priv, uint16_t devid, uint16_t prgi, uint8_t code,
		       bool pasid_valid, uint32_t pasid)
{
	(void)priv;
	if (nr_prgs < 32)
		prgs[nr_prgs++] =
			(struct prg){ devid, prgi, code, pasid_valid, pasid };
}

struct fix {
	struct iopf_ctx *ctx;
	struct iopf_amd *amd;
	struct iopf_device *dev; /* devid 0x10, PRI, pri_tlp */
	struct iopf_domain *domain;
	struct iopf_attach_handle handle;
};

static struct fix fix;

static int build(void **state, struct iopf_amd_attr *attr)
{
	struct iopf_amd_dev_attr d = { .size = sizeof(d),
				       .devid = 0x10,
				       .max_pasids = 16,
				       .pri = true,
				       .prg_resp_pasid_required = true };

	memset(&tdom, 0, sizeof(tdom));
	tdom.answer = -1;
	nr_prgs = 0;
	assert_int_equal(iopf_ctx_new(&fix.ctx), 0);
	attr->size = sizeof(*attr);
	attr->prg_response = record_prg;
	assert_int_equal(iopf_amd_new(fix.ctx, attr, &fix.amd), 0);
	assert_int_equal(iopf_amd_add_device(fix.amd, &d, &fix.dev), 0);
	assert_int_equal(iopf_domain_new(fix.ctx, IOPF_DOMAIN_PAGING,
					 tdom_handler, NULL, &fix.domain),
			 0);
	assert_int_equal(
		iopf_attach_device_pasid(fix.domain, fix.dev, 5, &fix.handle),
		0);
	*state = &fix;
	return 0;
}

static int setup(void **state)
{
	struct iopf_amd_attr attr = { 0 };

	return build(state, &attr);
}

static int setup_small(void **state)
{
	struct iopf_amd_attr attr = { .ppr_log_entries = 256 };

	return build(state, &attr);
}

static int setup_erratum(void **state)
{
	struct iopf_amd_attr attr = { .irq_before_entry = true,
				      .erratum_polls = 3,
				      .loop_timeout = 10 };

	return build(state, &attr);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	for (size_t i = 0; i < tdom.nr_held; i++)
		iopf_free_group(tdom.held[i]);
	tdom.nr_held = 0;
	iopf_detach_device_pasid(f->domain, f->dev, 5);
	assert_int_equal(iopf_domain_free(f->domain), 0);
	iopf_ctx_free(f->ctx);
	return 0;
}

static uint64_t reg(struct fix *f, uint32_t off)
{
	uint64_t v = 0;

	assert_int_equal(iopf_amd_read_reg(f->amd, off, &v), 0);
	return v;
}

static struct iopf_amd_stats stats_of(struct fix *f)
{
	struct iopf_amd_stats s;

	assert_int_equal(iopf_amd_get_stats(f->amd, &s), 0);
	return s;
}

static struct iopf_amd_ppr_entry req(uint16_t devid, uint32_t pasid,
				     uint16_t prgi, bool last, uint16_t flags)
{
	return (struct iopf_amd_ppr_entry){
		.devid = devid,
		.pasid = pasid,
		.prgi = prgi,
		.last = last,
		.flags = flags,
		.type = IOPF_AMD_PPR_REQ_FAULT,
		.addr = 0x12345678,
	};
}

/* ---- layouts ---------------------------------------------------------- */

static void test_ppr_layout(void **state)
{
	struct iopf_amd_ppr_entry e = {
		.devid = 0x0108, .pasid = 0xabcde, .prgi = 0x1ff, .last = true,
		.flags = IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_WRITE |
			 IOPF_AMD_PPR_FLAG_READ | IOPF_AMD_PPR_FLAG_US,
		.type = IOPF_AMD_PPR_REQ_FAULT, .addr = 0x7f001000,
	}, back;
	uint64_t raw[2];

	(void)state;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), 0);
	assert_true(raw[0] == 0x11642bffbcde0108ull);
	assert_true(raw[1] == 0x7f001000ull);
	assert_int_equal(iopf_amd_ppr_decode(raw, &back), 0);
	assert_int_equal(back.devid, 0x0108);
	assert_int_equal(back.pasid, 0xabcde);
	assert_int_equal(back.prgi, 0x1ff);
	assert_true(back.last);
	assert_int_equal(back.flags, 0x164);
	assert_int_equal(back.type, 1);
	assert_true(back.addr == 0x7f001000ull);

	e.pasid = 1u << 20;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), -EINVAL);
	e.pasid = 0;
	e.flags = 0x1000;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), -EINVAL);
	assert_int_equal(iopf_amd_ppr_decode(raw, NULL), -EINVAL);
}

/* PASID bits 15:0 at QW0 31:16, bits 19:16 at QW0 45:42 */
static void test_pasid_split(void **state)
{
	struct iopf_amd_ppr_entry e = { 0 }, back;
	uint64_t raw[2];

	(void)state;
	e.pasid = 0x10000;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), 0);
	assert_true(raw[0] == 1ull << 42);
	e.pasid = 0xffff;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), 0);
	assert_true(raw[0] == 0xffff0000ull);
	e.pasid = 0xf0000;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), 0);
	assert_true(raw[0] == 0xfull << 42);
	/* the tag sits between the two halves and does not leak into them */
	e.pasid = 0x80001;
	e.prgi = 0x1ff;
	e.last = true;
	assert_int_equal(iopf_amd_ppr_encode(&e, raw), 0);
	assert_true(raw[0] ==
		    ((1ull << 16) | (0x3ffull << 32) | (0x8ull << 42)));
	assert_int_equal(iopf_amd_ppr_decode(raw, &back), 0);
	assert_int_equal(back.pasid, 0x80001);
	assert_int_equal(back.prgi, 0x1ff);
	assert_true(back.last);
}

static void test_complete_ppr_layout(void **state)
{
	struct iopf_amd_complete_ppr c = { .devid = 0x0108,
					   .pasid = 0xabcde,
					   .gn = true,
					   .tag = 0x1ff,
					   .status = 2 },
				     back;
	uint32_t raw[4];

	(void)state;
	assert_int_equal(iopf_amd_complete_ppr_encode(&c, raw), 0);
	assert_int_equal(raw[0], 0x0108);
	assert_int_equal(raw[1], 0x700abcde);
	assert_int_equal(raw[2], 0x4);
	assert_int_equal(raw[3], 0x21ff);
	assert_int_equal(iopf_amd_complete_ppr_decode(raw, &back), 0);
	assert_int_equal(back.devid, 0x0108);
	assert_int_equal(back.pasid, 0xabcde);
	assert_true(back.gn);
	assert_int_equal(back.tag, 0x1ff);
	assert_int_equal(back.status, 2);

	c = (struct iopf_amd_complete_ppr){ .devid = 1,
					    .tag = 3,
					    .status = 0xf };
	assert_int_equal(iopf_amd_complete_ppr_encode(&c, raw), 0);
	assert_int_equal(raw[1], 0x70000000);
	assert_int_equal(raw[2], 0);
	assert_int_equal(raw[3], 0xf003);

	raw[3] |= 1u << 20; /* reserved */
	assert_int_equal(iopf_amd_complete_ppr_decode(raw, &back), -EPROTO);
	raw[3] &= ~(1u << 20);
	raw[1] = 0x10000000; /* opcode 1 */
	assert_int_equal(iopf_amd_complete_ppr_decode(raw, &back), -EPROTO);
	c.status = 0x10;
	assert_int_equal(iopf_amd_complete_ppr_encode(&c, raw), -EINVAL);
}

/* ---- the driver ------------------------------------------------------- */

static void test_report_and_complete(void **state)
{
	struct fix *f = *state;
	struct iopf_amd_ppr_entry e =
		req(0x10, 5, 3, false,
		    IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_WRITE |
			    IOPF_AMD_PPR_FLAG_US);

	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	e = req(0x10, 5, 3, true,
		IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_READ |
			IOPF_AMD_PPR_FLAG_EXEC);
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	assert_int_equal(reg(f, IOPF_AMD_MMIO_PPR_TAIL), 32);
	assert_true(reg(f, IOPF_AMD_MMIO_STATUS) & IOPF_AMD_STATUS_PPR_INT);

	assert_int_equal(iopf_amd_handle_ppr_irq(f->amd), 2);
	assert_int_equal(reg(f, IOPF_AMD_MMIO_PPR_HEAD), 32);
	assert_false(reg(f, IOPF_AMD_MMIO_STATUS) & IOPF_AMD_STATUS_PPR_INT);
	/* consumed slots are zeroed */
	for (int i = 0; i < 4; i++)
		assert_true(f->amd->ppr_log[i] == 0);

	assert_int_equal(tdom.handled, 1);
	assert_int_equal(tdom.last_count, 2);
	assert_int_equal(tdom.last.prm.flags,
			 IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID |
				 IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
				 IOPF_FAULT_PAGE_REQUEST_LAST_PAGE);
	/* US clear: a supervisor request */
	assert_int_equal(tdom.last.prm.perm, IOPF_FAULT_PERM_READ |
						     IOPF_FAULT_PERM_EXEC |
						     IOPF_FAULT_PERM_PRIV);
	assert_int_equal(tdom.last.prm.pasid, 5);
	assert_int_equal(tdom.last.prm.grpid, 3);
	assert_true(tdom.last.prm.addr == 0x12345000);
	assert_int_equal(iopf_group_fault_at(tdom.held[0], 0)->prm.perm,
			 IOPF_FAULT_PERM_WRITE);

	/* FAILURE goes out as status 2, passed through */
	iopf_group_response(tdom.held[0], IOPF_PAGE_RESP_FAILURE);
	assert_int_equal(nr_prgs, 1);
	assert_int_equal(prgs[0].devid, 0x10);
	assert_int_equal(prgs[0].prgi, 3);
	assert_int_equal(prgs[0].code, 2);
	assert_true(prgs[0].pasid_valid);
	assert_int_equal(prgs[0].pasid, 5);
	assert_int_equal(stats_of(f).cmds, 1);
}

static void test_driver_rejects(void **state)
{
	struct fix *f = *state;
	const uint16_t gn = IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_READ;
	struct iopf_amd_ppr_entry e;

	e = req(0x10, 5, 1, true, gn);
	e.type = 2; /* unknown request type: nothing */
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	e = req(0x99, 5, 2, true, gn); /* unknown device: nothing */
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	e = req(0x10, 5, 3, true, IOPF_AMD_PPR_FLAG_READ); /* GN = 0 */
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	e = req(0x10, 5, 4, false,
		gn | IOPF_AMD_PPR_FLAG_RVSD); /* bad format */
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	e = req(0x10, 0, 5, true, gn); /* PASID 0 */
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	e = req(0x10, 16, 6, true, gn); /* beyond max_pasids */
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);

	assert_int_equal(iopf_amd_handle_ppr_irq(f->amd), 6);
	assert_int_equal(tdom.handled, 0);
	assert_int_equal(nr_prgs, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(prgs[i].code, IOPF_PAGE_RESP_FAILURE);
		assert_int_equal(prgs[i].prgi, i + 3);
	}
	assert_int_equal(prgs[3].pasid, 16);
}

static void test_overflow_and_restart(void **state)
{
	struct fix *f = *state;
	struct iopf_amd_ppr_entry e =
		req(0x10, 5, 7, false,
		    IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_READ);

	/* a ring of 256 holds 255: one slot stays empty */
	for (int i = 0; i < 255; i++)
		assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), -ENOSPC);
	assert_true(reg(f, IOPF_AMD_MMIO_STATUS) &
		    IOPF_AMD_STATUS_PPR_OVERFLOW);
	assert_false(reg(f, IOPF_AMD_MMIO_STATUS) & IOPF_AMD_STATUS_PPR_RUN);
	/* logging stopped: even with room nothing is logged */
	assert_int_equal(iopf_amd_poll_ppr_log(f->amd), 255);
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), -ENOSPC);
	assert_int_equal(stats_of(f).ppr_dropped, 2);
	assert_int_equal(stats_of(f).overflows, 1);

	/* the interrupt handler restarts the log */
	assert_int_equal(iopf_amd_handle_ppr_irq(f->amd), 0);
	assert_int_equal(stats_of(f).restarts, 1);
	assert_false(reg(f, IOPF_AMD_MMIO_STATUS) &
		     IOPF_AMD_STATUS_PPR_OVERFLOW);
	assert_true(reg(f, IOPF_AMD_MMIO_STATUS) & IOPF_AMD_STATUS_PPR_RUN);
	assert_true(reg(f, IOPF_AMD_MMIO_CONTROL) & IOPF_AMD_CONTROL_PPRLOG_EN);

	e.last = true;
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	assert_int_equal(iopf_amd_handle_ppr_irq(f->amd), 1);
	assert_int_equal(tdom.handled, 1);
	assert_int_equal(tdom.last_count, 256); /* 255 partials + the last */
}

static void test_irq_before_entry(void **state)
{
	struct fix *f = *state;
	struct iopf_amd_ppr_entry e =
		req(0x10, 5, 9, true,
		    IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_READ);

	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	/* tail and interrupt first, the slot still empty */
	assert_int_equal(reg(f, IOPF_AMD_MMIO_PPR_TAIL), 16);
	assert_true(reg(f, IOPF_AMD_MMIO_STATUS) & IOPF_AMD_STATUS_PPR_INT);
	assert_true(f->amd->ppr_log[0] == 0);
	/* the driver polls Type != 0 and gets it on the fourth read */
	assert_int_equal(iopf_amd_handle_ppr_irq(f->amd), 1);
	assert_int_equal(tdom.handled, 1);
	assert_int_equal(tdom.last.prm.grpid, 9);
	assert_int_equal(stats_of(f).late_writes, 1);

	/* later than LOOP_TIMEOUT: the driver reads Type 0 and drops it */
	pthread_mutex_lock(&f->amd->hw_lock);
	f->amd->erratum_polls = 50;
	pthread_mutex_unlock(&f->amd->hw_lock);
	e.prgi = 10;
	assert_int_equal(iopf_amd_log_ppr(f->amd, &e), 0);
	assert_int_equal(iopf_amd_handle_ppr_irq(f->amd), 1);
	assert_int_equal(tdom.handled, 1);
	assert_int_equal(nr_prgs, 0);
	assert_int_equal(reg(f, IOPF_AMD_MMIO_PPR_HEAD),
			 reg(f, IOPF_AMD_MMIO_PPR_TAIL));
}

static void test_illegal_command(void **state)
{
	struct fix *f = *state;
	struct iopf_amd_complete_ppr c = { .devid = 0x10, .tag = 1 };
	uint32_t raw[4];

	assert_int_equal(iopf_amd_complete_ppr_encode(&c, raw), 0);
	raw[2] |= 1u << 5;
	assert_int_equal(amd_iommu_queue_command(f->amd, raw), 0);
	assert_int_equal(stats_of(f).cmd_errors, 1);
	assert_int_equal(nr_prgs, 0);
	raw[2] &= ~(1u << 5);
	assert_int_equal(amd_iommu_queue_command(f->amd, raw), 0);
	assert_int_equal(nr_prgs, 1);
	assert_false(prgs[0].pasid_valid);
	assert_int_equal(reg(f, IOPF_AMD_MMIO_CMD_HEAD),
			 reg(f, IOPF_AMD_MMIO_CMD_TAIL));
}

static void test_bad_input(void **state)
{
	struct fix *f = *state;
	struct iopf_amd_attr attr = { .size = sizeof(attr),
				      .ppr_log_entries = 300 };
	struct iopf_amd_dev_attr d = { .size = sizeof(d), .devid = 0x10 };
	struct iopf_amd *amd = (void *)1;
	struct iopf_device *dev = NULL;
	uint64_t v;

	assert_int_equal(iopf_amd_new(f->ctx, &attr, &amd), -EINVAL);
	attr.ppr_log_entries = 0;
	attr.size = 3;
	assert_int_equal(iopf_amd_new(f->ctx, &attr, &amd), -EINVAL);
	assert_ptr_equal(amd, (void *)1);
	assert_int_equal(iopf_amd_add_device(f->amd, &d, &dev), -EEXIST);
	assert_null(dev);
	assert_int_equal(iopf_amd_log_ppr(f->amd, NULL), -EINVAL);
	assert_int_equal(iopf_amd_read_reg(f->amd, 0x1234, &v), -EINVAL);
	assert_int_equal(iopf_amd_write_reg(f->amd, IOPF_AMD_MMIO_PPR_TAIL, 0),
			 -EINVAL);
	assert_int_equal(iopf_amd_handle_ppr_irq(NULL), -EINVAL);
	assert_null(iopf_amd_iommu(NULL));
	iopf_amd_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ppr_layout),
		cmocka_unit_test(test_pasid_split),
		cmocka_unit_test(test_complete_ppr_layout),
		cmocka_unit_test_setup_teardown(test_report_and_complete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_driver_rejects, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overflow_and_restart,
						setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_irq_before_entry,
						setup_erratum, teardown),
		cmocka_unit_test_setup_teardown(test_illegal_command, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
