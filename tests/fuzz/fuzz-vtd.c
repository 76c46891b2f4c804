// SPDX-License-Identifier: MIT
/*
 * VT-d fuzzer: arbitrary page requests (decoded from raw 64-bit PRI
 * payloads with arbitrary requester IDs and PASID prefixes) into a small
 * PRQ ring, arbitrary register writes (PQH, PQT, PRS, PECTL: the driver
 * then walks whatever the ring holds), arbitrary 256-bit descriptors into
 * the invalidation queue, the prq thread and the fault queue run by hand,
 * handler behaviour, attach and detach, device churn and failed
 * allocations. The pure descriptor codecs must round-trip. Nothing may
 * crash, hang or leak.
 */
#include <errno.h>

#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#include "fuzz-hw.h"

#define NR_DEVS 2
#define MAX_OPS 512
#define RID(i)	(0x100u + 8u * (uint32_t)(i))

struct fz_vtd {
	struct fz_in in;
	struct fz_hw hw;
	struct iopf_vtd *vtd;
	struct iopf_domain *dom;
	struct iopf_device *dev[NR_DEVS];
	struct iopf_attach_handle rid_h[NR_DEVS], pasid_h[NR_DEVS];
};

static const unsigned int vtd_regs[] = {
	IOPF_VTD_ECAP_REG,   IOPF_VTD_IQH_REG,	  IOPF_VTD_IQT_REG,
	IOPF_VTD_IQA_REG,    IOPF_VTD_PQH_REG,	  IOPF_VTD_PQT_REG,
	IOPF_VTD_PQA_REG,    IOPF_VTD_PRS_REG,	  IOPF_VTD_PECTL_REG,
	IOPF_VTD_PEDATA_REG, IOPF_VTD_PEADDR_REG, IOPF_VTD_PEUADDR_REG,
};

#define NR_REGS (sizeof(vtd_regs) / sizeof(vtd_regs[0]))

static void op_page_request(struct fz_vtd *f)
{
	struct iopf_pci_page_request pr;
	uint8_t b = fz_u8(&f->in);
	int ret;

	memset(&pr, 0, sizeof(pr));
	FZ_CHECK(iopf_pci_prm_decode(fz_u64(&f->in), &pr) == 0);
	pr.rid = b & 0x80 ? fz_u16(&f->in) : (uint16_t)RID(b & 1);
	pr.pasid_present = b & 2;
	pr.pasid = b & 0x40 ? fz_u32(&f->in) : (b >> 2) & 3;
	pr.exe = b & 0x10;
	pr.priv = b & 0x20;
	ret = iopf_vtd_page_request(f->vtd, &pr);
	FZ_CHECK(ret == 0 || ret == -ENOSPC || ret == -EINVAL);
}

static void op_reg(struct fz_vtd *f)
{
	uint8_t b = fz_u8(&f->in);
	unsigned int off = b < 0xf0 ? vtd_regs[b % NR_REGS] : fz_u16(&f->in);
	uint64_t val = b & 0x80 ? fz_u64(&f->in) : (uint64_t)fz_u8(&f->in) << 5;
	uint64_t now;
	int ret;

	ret = iopf_vtd_reg_write(f->vtd, off, val);
	FZ_CHECK(ret == 0 || ret == -EINVAL || ret == -EPERM);
	ret = iopf_vtd_reg_read(f->vtd, off, &now);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
}

/* The codecs: whatever decodes must encode and decode to the same. */
static void check_codecs(const struct iopf_vtd_desc *d)
{
	struct iopf_vtd_page_req pr, pr2;
	struct iopf_vtd_page_grp_resp gr, gr2;
	struct iopf_vtd_inv_wait w, w2;
	struct iopf_vtd_desc e;
	uint8_t bytes[IOPF_VTD_DESC_SIZE];
	char text[256];

	iopf_vtd_desc_to_bytes(d, bytes);
	iopf_vtd_desc_from_bytes(bytes, &e);
	FZ_CHECK(!memcmp(&e, d, sizeof(e)));
	FZ_CHECK(iopf_vtd_desc_format(d, text, sizeof(text)) >= 0);
	(void)iopf_vtd_desc_name(iopf_vtd_desc_type(d));
	if (!iopf_vtd_page_req_decode(d, &pr)) {
		FZ_CHECK(iopf_vtd_page_req_encode(&pr, &e) == 0);
		FZ_CHECK(iopf_vtd_page_req_decode(&e, &pr2) == 0);
		FZ_CHECK(!memcmp(&pr, &pr2, sizeof(pr)));
	}
	if (!iopf_vtd_page_grp_resp_decode(d, &gr)) {
		FZ_CHECK(iopf_vtd_page_grp_resp_encode(&gr, &e) == 0);
		FZ_CHECK(iopf_vtd_page_grp_resp_decode(&e, &gr2) == 0);
		FZ_CHECK(!memcmp(&gr, &gr2, sizeof(gr)));
	}
	if (!iopf_vtd_inv_wait_decode(d, &w)) {
		FZ_CHECK(iopf_vtd_inv_wait_encode(&w, &e) == 0);
		FZ_CHECK(iopf_vtd_inv_wait_decode(&e, &w2) == 0);
		FZ_CHECK(!memcmp(&w, &w2, sizeof(w)));
	}
}

static void op_qi(struct fz_vtd *f)
{
	struct iopf_vtd_desc descs[3];
	uint8_t b = fz_u8(&f->in);
	unsigned int n = 1 + b % 3;
	uint8_t bytes[IOPF_VTD_DESC_SIZE];
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		fz_copy(&f->in, bytes, sizeof(bytes));
		iopf_vtd_desc_from_bytes(bytes, &descs[i]);
		check_codecs(&descs[i]);
	}
	ret = iopf_vtd_qi_submit_sync(f->vtd, descs, n, b & 0x80);
	if (!(ret == 0 || ret == -EINVAL))
		fprintf(stderr, "qi_submit_sync: %d\n", ret);
	FZ_CHECK(ret == 0 || ret == -EINVAL);
}

static void op_run(struct fz_vtd *f)
{
	struct iopf_vtd_desc d;
	uint8_t b = fz_u8(&f->in);

	switch (b % 4) {
	case 0:
		FZ_CHECK(iopf_vtd_process_prq(f->vtd) >= 0);
		break;
	case 1:
		FZ_CHECK(iopf_vtd_pump(f->vtd) >= 0);
		break;
	case 2:
		iopf_queue_run(iopf_vtd_queue(f->vtd), b >> 2);
		break;
	default:
		if (!iopf_vtd_prq_read(f->vtd, fz_u16(&f->in), &d))
			check_codecs(&d);
		break;
	}
}

static void fz_attach(struct fz_vtd *f, unsigned int v)
{
	int ret;

	if (!f->dev[v]) {
		/* Its creation failed (fault injection): a NULL argument. */
		FZ_CHECK(iopf_attach_device(f->dom, NULL, &f->rid_h[v]) ==
			 -EINVAL);
		FZ_CHECK(iopf_attach_device_pasid(f->dom, NULL, 1,
						  &f->pasid_h[v]) == -EINVAL);
		return;
	}
	ret = iopf_attach_device(f->dom, f->dev[v], &f->rid_h[v]);
	FZ_CHECK(ret == 0 || ret == -EBUSY || ret == -ENOMEM || ret == -ENODEV);
	ret = iopf_attach_device_pasid(f->dom, f->dev[v], 1, &f->pasid_h[v]);
	FZ_CHECK(ret == 0 || ret == -EBUSY || ret == -ENOMEM || ret == -ENODEV);
}

static void fz_device_new(struct fz_vtd *f, unsigned int v)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = RID(v),
		.max_pasids = 8,
	};

	f->dev[v] = NULL;
	if (iopf_device_new(iopf_vtd_iommu(f->vtd), &attr, &f->dev[v]))
		return;
	fz_attach(f, v);
}

static void op_objects(struct fz_vtd *f)
{
	uint8_t b = fz_u8(&f->in);
	unsigned int v = b & 1;

	switch ((b >> 1) % 5) {
	case 0:
		fz_hw_mode(&f->hw, fz_u8(&f->in));
		break;
	case 1:
		fz_hw_release(&f->hw, fz_u8(&f->in));
		break;
	case 2:
		iopf_detach_device_pasid(f->dom, f->dev[v], 1);
		iopf_detach_device(f->dom, f->dev[v]);
		fz_attach(f, v);
		break;
	case 3:
		iopf_device_free(f->dev[v]);
		fz_device_new(f, v);
		break;
	default:
		iopf_testing_fail_nth(1 + fz_below(&f->in, 8));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_vtd f;
	struct iopf_vtd_attr attr = { .size = sizeof(attr) };

	memset(&f, 0, sizeof(f));
	fz_init(&f.in, data, size);
	/* The first byte shapes the hardware: ring size, response encoding. */
	attr.pqs = fz_u8(&f.in) & 1;
	attr.resp_encoding = fz_u8(&f.in) & 1;
	FZ_CHECK(iopf_ctx_new(&f.hw.ctx) == 0);
	FZ_CHECK(iopf_vtd_new(f.hw.ctx, &attr, &f.vtd) == 0);
	FZ_CHECK(iopf_domain_new(f.hw.ctx, IOPF_DOMAIN_PAGING, fz_hw_handler,
				 &f.hw, &f.dom) == 0);
	for (unsigned int v = 0; v < NR_DEVS; v++)
		fz_device_new(&f, v);
	for (unsigned int n = 0; n < MAX_OPS && fz_more(&f.in); n++) {
		switch (fz_below(&f.in, 6)) {
		case 0:
		case 1:
			op_page_request(&f);
			break;
		case 2:
			op_reg(&f);
			break;
		case 3:
			op_qi(&f);
			break;
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
