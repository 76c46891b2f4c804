// SPDX-License-Identifier: MIT
/*
 * VT-d descriptors and PCIe PRI messages against hand-computed bit
 * patterns: every field alone, all fields together, reserved bits, the
 * type bits (3:0 and 11:9, as iopf_vtd_desc_type()), the in-memory byte
 * order, and the drain's invalidation descriptors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#include "hw/vtd/vtd-priv.h"

static void encode_req(const struct iopf_vtd_page_req *f, uint64_t qw0,
		       uint64_t qw1)
{
	struct iopf_vtd_desc d;
	struct iopf_vtd_page_req back;

	assert_int_equal(iopf_vtd_page_req_encode(f, &d), 0);
	assert_int_equal(d.qw[0], qw0);
	assert_int_equal(d.qw[1], qw1);
	assert_int_equal(d.qw[2], 0);
	assert_int_equal(d.qw[3], 0);
	memset(&back, 0xa5, sizeof(back));
	assert_int_equal(iopf_vtd_page_req_decode(&d, &back), 0);
	assert_int_equal(back.pasid_present, f->pasid_present);
	assert_int_equal(back.rid, f->rid);
	assert_int_equal(back.pasid, f->pasid & 0xfffff);
	assert_int_equal(back.exe_req, f->exe_req);
	assert_int_equal(back.pm_req, f->pm_req);
	assert_int_equal(back.rd_req, f->rd_req);
	assert_int_equal(back.wr_req, f->wr_req);
	assert_int_equal(back.lpig, f->lpig);
	assert_int_equal(back.prg_index, f->prg_index & 0x1ff);
	assert_int_equal(back.addr, f->addr & ~0xfffull);
}

static void test_page_req_fields(void **state)
{
	(void)state;
	encode_req(&(struct iopf_vtd_page_req){ .pasid_present = true }, 0x101,
		   0);
	encode_req(&(struct iopf_vtd_page_req){ .rid = 0xffff }, 0xffff0001, 0);
	encode_req(&(struct iopf_vtd_page_req){ .rid = 0x0100 }, 0x01000001, 0);
	encode_req(&(struct iopf_vtd_page_req){ .pasid = 0xfffff },
		   0x000fffff00000001ull, 0);
	encode_req(&(struct iopf_vtd_page_req){ .exe_req = true },
		   0x0010000000000001ull, 0);
	encode_req(&(struct iopf_vtd_page_req){ .pm_req = true },
		   0x0020000000000001ull, 0);
	encode_req(&(struct iopf_vtd_page_req){ .rd_req = true }, 1, 0x1);
	encode_req(&(struct iopf_vtd_page_req){ .wr_req = true }, 1, 0x2);
	encode_req(&(struct iopf_vtd_page_req){ .lpig = true }, 1, 0x4);
	encode_req(&(struct iopf_vtd_page_req){ .prg_index = 0x1ff }, 1, 0xff8);
	encode_req(&(struct iopf_vtd_page_req){ .prg_index = 0x001 }, 1, 0x008);
	encode_req(&(struct iopf_vtd_page_req){ .addr = 0xfffffffffffff000ull },
		   1, 0xfffffffffffff000ull);
	encode_req(&(struct iopf_vtd_page_req){ .addr = 0x1000 }, 1, 0x1000);
}

static void test_page_req_all(void **state)
{
	struct iopf_vtd_page_req f = {
		.pasid_present = true,
		.rid = 0x0100,
		.pasid = 0x12345,
		.exe_req = true,
		.pm_req = true,
		.rd_req = true,
		.wr_req = true,
		.lpig = true,
		.prg_index = 0x1ab,
		.addr = 0x00007fff12345000ull,
	};
	static const uint8_t bytes0[8] = { 0x01, 0x01, 0x00, 0x01,
					   0x45, 0x23, 0x31, 0x00 };
	uint8_t bytes[IOPF_VTD_DESC_SIZE];
	struct iopf_vtd_desc d, back;

	(void)state;
	encode_req(&f, 0x0031234501000101ull, 0x00007fff12345d5full);
	iopf_vtd_page_req_encode(&f, &d);
	/* In memory: little-endian quadwords, QW0 first. */
	iopf_vtd_desc_to_bytes(&d, bytes);
	assert_memory_equal(bytes, bytes0, 8);
	assert_int_equal(bytes[8], 0x5f);
	assert_int_equal(bytes[9], 0x5d);
	for (int i = 16; i < 32; i++)
		assert_int_equal(bytes[i], 0);
	iopf_vtd_desc_from_bytes(bytes, &back);
	assert_memory_equal(&back, &d, sizeof(d));
	assert_int_equal(iopf_vtd_desc_type(&d), IOPF_VTD_PAGE_REQ_TYPE);
	assert_string_equal(iopf_vtd_desc_name(iopf_vtd_desc_type(&d)),
			    "page_req_dsc");
}

static void test_page_req_masks_and_reserved(void **state)
{
	struct iopf_vtd_page_req f = { .pasid = 0x100001, .prg_index = 0x201 },
				 out;
	struct iopf_vtd_desc d;

	(void)state;
	/* Out-of-range fields are masked, never spilled into neighbours. */
	assert_int_equal(iopf_vtd_page_req_encode(&f, &d), 0);
	assert_int_equal(d.qw[0], 0x0000000100000001ull);
	assert_int_equal(d.qw[1], 0x8);
	/* Reserved bits: decoded anyway, reported -EBADMSG. */
	d.qw[0] |= 1ull << 12;
	assert_int_equal(iopf_vtd_page_req_decode(&d, &out), -EBADMSG);
	assert_int_equal(out.pasid, 1);
	d.qw[0] &= ~(1ull << 12);
	/* Bits 7:4 (the rest of Linux's 8-bit type): type 1, reserved bits. */
	for (int bit = 4; bit <= 7; bit++) {
		d.qw[0] |= 1ull << bit;
		assert_int_equal(iopf_vtd_desc_type(&d),
				 IOPF_VTD_PAGE_REQ_TYPE);
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(iopf_vtd_page_req_decode(&d, &out), -EBADMSG);
		assert_int_equal(out.pasid, 1);
		assert_int_equal(out.rid, 0);
		assert_int_equal(out.prg_index, 1);
		d.qw[0] &= ~(1ull << bit);
	}
	/* Bits 11:9 are type bits: bit 9 (former PDP) makes type 0x11. */
	d.qw[0] |= 1ull << 9;
	assert_int_equal(iopf_vtd_desc_type(&d), 0x11);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(iopf_vtd_page_req_decode(&d, &out), -EINVAL);
	assert_int_equal(out.rid, 0x5a5a);
	d.qw[0] &= ~(1ull << 9);
	d.qw[0] |= 1ull << 54;
	assert_int_equal(iopf_vtd_page_req_decode(&d, &out), -EBADMSG);
	d.qw[0] &= ~(1ull << 54);
	d.qw[2] = 1;
	assert_int_equal(iopf_vtd_page_req_decode(&d, &out), -EBADMSG);
	d.qw[2] = 0;
	assert_int_equal(iopf_vtd_page_req_decode(&d, &out), 0);
	/* Wrong type: -EINVAL, output untouched. */
	d.qw[0] = (d.qw[0] & ~0xffull) | 0x9;
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(iopf_vtd_page_req_decode(&d, &out), -EINVAL);
	assert_int_equal(out.rid, 0x5a5a);
	assert_int_equal(iopf_vtd_page_req_encode(NULL, &d), -EINVAL);
	assert_int_equal(iopf_vtd_page_req_decode(NULL, &out), -EINVAL);
}

static void grp_resp(const struct iopf_vtd_page_grp_resp *f, uint64_t qw0,
		     uint64_t qw1)
{
	struct iopf_vtd_page_grp_resp back;
	struct iopf_vtd_desc d;

	assert_int_equal(iopf_vtd_page_grp_resp_encode(f, &d), 0);
	assert_int_equal(d.qw[0], qw0);
	assert_int_equal(d.qw[1], qw1);
	assert_int_equal(d.qw[2] | d.qw[3], 0);
	assert_int_equal(iopf_vtd_page_grp_resp_decode(&d, &back), 0);
	assert_int_equal(back.pasid_present, f->pasid_present);
	assert_int_equal(back.resp_code, f->resp_code & 0xf);
	assert_int_equal(back.rid, f->rid);
	assert_int_equal(back.pasid, f->pasid & 0xfffff);
	assert_int_equal(back.prg_index, f->prg_index & 0x1ff);
}

static void test_grp_resp(void **state)
{
	struct iopf_vtd_page_grp_resp out;
	struct iopf_vtd_desc d;

	(void)state;
	grp_resp(&(struct iopf_vtd_page_grp_resp){ 0 }, 0x9, 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .pasid_present = true },
		 0x19, 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .resp_code = 0x1 }, 0x1009,
		 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .resp_code = 0x2 }, 0x2009,
		 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .resp_code = 0xf }, 0xf009,
		 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .rid = 0xbeef }, 0xbeef0009,
		 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .pasid = 0xfffff },
		 0x000fffff00000009ull, 0);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .prg_index = 0x1ff }, 0x9,
		 0xff8);
	grp_resp(&(struct iopf_vtd_page_grp_resp){ .pasid_present = true,
						   .resp_code = 0xf,
						   .rid = 0x0100,
						   .pasid = 0x12345,
						   .prg_index = 0x1ab },
		 0x000123450100f019ull, 0xd58);
	assert_int_equal(iopf_vtd_desc_type(&(struct iopf_vtd_desc){ { 0x9 } }),
			 IOPF_VTD_QI_PGRP_RESP_TYPE);
	/* qw1 bit 2 (LPIG before VT-d 4.0) is ignored; other bits are reserved. */
	d = (struct iopf_vtd_desc){ { 0x19, 0xd5c } };
	assert_int_equal(iopf_vtd_page_grp_resp_decode(&d, &out), 0);
	assert_int_equal(out.prg_index, 0x1ab);
	d.qw[1] |= 1ull << 12;
	assert_int_equal(iopf_vtd_page_grp_resp_decode(&d, &out), -EBADMSG);
	d = (struct iopf_vtd_desc){ { 0x39, 0 } }; /* bit 5, former PDP */
	assert_int_equal(iopf_vtd_page_grp_resp_decode(&d, &out), -EBADMSG);
	d = (struct iopf_vtd_desc){ { 0x209, 0 } }; /* type bits 11:9 */
	assert_int_equal(iopf_vtd_desc_type(&d), 0x19);
	assert_int_equal(iopf_vtd_page_grp_resp_decode(&d, &out), -EINVAL);
}

static void test_inv_wait(void **state)
{
	struct iopf_vtd_inv_wait f = {
		.intr = true, .status_write = true, .fence = true, .prq_drain = true,
		.status_data = 0xdeadbeef, .status_addr = 0x10000007,
	}, out;
	struct iopf_vtd_desc d;

	(void)state;
	assert_int_equal(iopf_vtd_inv_wait_encode(&f, &d), 0);
	assert_int_equal(d.qw[0], 0xdeadbeef000000f5ull);
	assert_int_equal(d.qw[1], 0x10000004);
	assert_int_equal(iopf_vtd_inv_wait_decode(&d, &out), 0);
	assert_true(out.intr && out.status_write && out.fence && out.prq_drain);
	assert_int_equal(out.status_data, 0xdeadbeef);
	assert_int_equal(out.status_addr, 0x10000004);
	/* One bit each: IF 4, SW 5, FN 6, PD 7. */
	for (int bit = 4; bit <= 7; bit++) {
		struct iopf_vtd_inv_wait g = {
			.intr = bit == 4,
			.status_write = bit == 5,
			.fence = bit == 6,
			.prq_drain = bit == 7,
		};

		iopf_vtd_inv_wait_encode(&g, &d);
		assert_int_equal(d.qw[0], 0x5 | (1ull << bit));
		assert_int_equal(d.qw[1], 0);
	}
	d.qw[0] |= 1ull << 8;
	assert_int_equal(iopf_vtd_inv_wait_decode(&d, &out), -EBADMSG);
	d.qw[0] = 0x5;
	d.qw[1] = 0x1;
	assert_int_equal(iopf_vtd_inv_wait_decode(&d, &out), -EBADMSG);
	assert_string_equal(iopf_vtd_desc_name(IOPF_VTD_QI_IWD_TYPE),
			    "inv_wait_dsc");
}

static void test_drain_descs(void **state)
{
	struct iopf_vtd_desc d;
	uint16_t sid;
	uint32_t pasid;
	bool pp;

	(void)state;
	vtd_iotlb_inv_desc(&d, 1, true, 5);
	assert_int_equal(d.qw[0], 0x0000000500010026ull);
	assert_int_equal(d.qw[1], 0);
	assert_string_equal(iopf_vtd_desc_name(iopf_vtd_desc_type(&d)),
			    "p_iotlb_inv_dsc");
	vtd_iotlb_inv_desc(&d, 1, false, 0);
	assert_int_equal(d.qw[0], 0x100e2);
	assert_string_equal(iopf_vtd_desc_name(iopf_vtd_desc_type(&d)),
			    "iotlb_inv_dsc");
	vtd_dev_tlb_inv_desc(&d, 0x0100, true, 5);
	assert_int_equal(d.qw[0], 0x0100000501000008ull);
	assert_int_equal(d.qw[1], 0x7ffffffffffff800ull);
	assert_int_equal(vtd_dev_tlb_inv_target(&d, &sid, &pp, &pasid), 0);
	assert_int_equal(sid, 0x0100);
	assert_true(pp);
	assert_int_equal(pasid, 5);
	vtd_dev_tlb_inv_desc(&d, 0x0123, false, 0);
	assert_int_equal(d.qw[0], 0x0120012300003003ull);
	assert_int_equal(d.qw[1], 0x7ffffffffffff001ull);
	assert_int_equal(vtd_dev_tlb_inv_target(&d, &sid, &pp, &pasid), 0);
	assert_int_equal(sid, 0x0123);
	assert_false(pp);
}

static void test_format(void **state)
{
	struct iopf_vtd_page_req f = {
		.pasid_present = true,
		.rid = 0x0100,
		.pasid = 1,
		.rd_req = true,
		.lpig = true,
		.prg_index = 3,
		.addr = 0x400000,
	};
	struct iopf_vtd_desc d;
	char buf[160];

	(void)state;
	iopf_vtd_page_req_encode(&f, &d);
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(
		buf,
		"page_req_dsc rid=0x0100 pp=1 pasid=0x1 exe=0 pm=0 rd=1 wr=0 "
		"lpig=1 prgi=3 addr=0x400000");
	iopf_vtd_page_grp_resp_encode(
		&(struct iopf_vtd_page_grp_resp){ .pasid_present = true,
						  .resp_code = 2,
						  .rid = 0x0100,
						  .pasid = 1,
						  .prg_index = 3 },
		&d);
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(
		buf,
		"page_grp_resp_dsc rid=0x0100 pp=1 pasid=0x1 prgi=3 rc=0x2");
	assert_int_equal(iopf_vtd_desc_format(NULL, buf, sizeof(buf)), -EINVAL);
}

/*
 * The type is iopf_vtd_desc_type() everywhere: the format helpers print
 * what the decoders fill, reserved bits or not, and nothing for a type
 * the decoder refuses.
 */
static void test_format_type_bits(void **state)
{
	struct iopf_vtd_desc d = { { 0x11 } }; /* type 1, bit 4 reserved */
	struct iopf_vtd_page_req f;
	char buf[160];

	(void)state;
	assert_int_equal(iopf_vtd_page_req_decode(&d, &f), -EBADMSG);
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(
		buf,
		"page_req_dsc rid=0x0000 pp=0 pasid=0x0 exe=0 pm=0 rd=0 wr=0 "
		"lpig=0 prgi=0 addr=0x0");
	/* bit 5 and qw3 reserved */
	d = (struct iopf_vtd_desc){ { 0x0000000701000121ull, 0x5007, 0, 1 } };
	assert_int_equal(iopf_vtd_page_req_decode(&d, &f), -EBADMSG);
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(
		buf,
		"page_req_dsc rid=0x0100 pp=1 pasid=0x7 exe=0 pm=0 rd=1 wr=1 "
		"lpig=1 prgi=0 addr=0x5000");
	d = (struct iopf_vtd_desc){ { 0x201 } }; /* type 0x11 */
	assert_int_equal(iopf_vtd_page_req_decode(&d, &f), -EINVAL);
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "unknown_dsc type=0x11");
	/* page_grp_resp_dsc with bit 5 reserved set: fields still printed. */
	d = (struct iopf_vtd_desc){ { 0x000000010100f039ull, 0x18 } };
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(
		buf,
		"page_grp_resp_dsc rid=0x0100 pp=1 pasid=0x1 prgi=3 rc=0xf");
	/* inv_wait_dsc with bit 8 reserved set. */
	d = (struct iopf_vtd_desc){ { 0x0000002a00000135ull } };
	iopf_vtd_desc_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "inv_wait_dsc if=1 sw=1 fn=0 pd=0 data=0x2a");
}

static void test_pci_messages(void **state)
{
	struct iopf_pci_page_request pr = {
		.read = true, .last = true, .prgi = 0x155, .addr = 0x12345fff,
	}, back = { 0 };
	struct iopf_pci_prg_response r = { .rid = 0x0100,
					   .prgi = 0x1ab,
					   .code = 0xf },
				     rb = { 0 };

	(void)state;
	assert_int_equal(iopf_pci_prm_payload(&pr), 0x12345aad);
	assert_int_equal(iopf_pci_prm_payload(&(struct iopf_pci_page_request){
				 .write = true }),
			 2);
	assert_int_equal(iopf_pci_prm_payload(&(struct iopf_pci_page_request){
				 .prgi = 0x3ff }),
			 0xff8);
	assert_int_equal(iopf_pci_prm_decode(0x12345aad, &back), 0);
	assert_true(back.read && back.last && !back.write);
	assert_int_equal(back.prgi, 0x155);
	assert_int_equal(back.addr, 0x12345000);
	assert_int_equal(iopf_pci_prg_resp_dword(&r), 0x0100f1ab);
	assert_int_equal(iopf_pci_prg_resp_decode(0x0100f1ab, &rb), 0);
	assert_int_equal(rb.rid, 0x0100);
	assert_int_equal(rb.prgi, 0x1ab);
	assert_int_equal(rb.code, 0xf);
	assert_int_equal(iopf_pci_prm_decode(0, NULL), -EINVAL);
	assert_int_equal(iopf_pci_prm_payload(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_req_fields),
		cmocka_unit_test(test_page_req_all),
		cmocka_unit_test(test_page_req_masks_and_reserved),
		cmocka_unit_test(test_grp_resp),
		cmocka_unit_test(test_inv_wait),
		cmocka_unit_test(test_drain_descs),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_type_bits),
		cmocka_unit_test(test_pci_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
