// SPDX-License-Identifier: MIT
/*
 * vtd-dma: a PCIe endpoint bound to a process address space (SVA) DMAs
 * into a buffer that is not resident yet, behind an Intel VT-d model.
 *
 * Watch the whole path: the endpoint's ATS translation misses, it sends a
 * Page Request Group, the hardware writes page_req_dsc into the PRQ ring,
 * the prq thread reports them, the SVA handler faults the pages in, and a
 * page_grp_resp_dsc goes back through the invalidation queue as a PRG
 * Response; the endpoint translates again and the DMA completes. Every
 * descriptor is printed raw (as it sits in ring memory) and decoded.
 *
 * Manual mode: one thread, nothing runs behind our back, the output is the
 * same on every run.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iopf/iopf.h>
#include <iopf/sva.h>
#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#define RID 0x0100 /* bus 1, device 0, function 0 */
#define BUF 0x7f0000400000ull
#define LEN (3 * 4096 + 512)

static const char *layer[] = { "endpoint", "hw",      "driver",
			       "core",	   "handler", "user" };

static void print_desc(const struct iopf_trace_event *ev)
{
	const unsigned char *b = ev->desc;
	struct iopf_vtd_desc d;
	char text[160];

	iopf_vtd_desc_from_bytes(b, &d);
	iopf_vtd_desc_format(&d, text, sizeof(text));
	printf("  %-11s %s -> %s\n    ",
	       ev->type == IOPF_TRACE_HW_DESC_IN ? "desc in" : "desc out",
	       layer[ev->from], layer[ev->to]);
	for (size_t i = 0; i < ev->desc_len; i++)
		printf("%02x%s", b[i], i % 8 == 7 ? " " : "");
	printf("\n    %s\n", text);
}

static void sink(const struct iopf_trace_event *ev, void *priv)
{
	(void)priv;
	switch (ev->type) {
	case IOPF_TRACE_HW_DESC_IN:
	case IOPF_TRACE_HW_DESC_OUT:
		print_desc(ev);
		break;
	case IOPF_TRACE_DEVICE_EVENT:
		printf("  endpoint    %s pasid=%d prgi=%u addr=0x%llx code=%d "
		       "count=%u\n",
		       ev->name, (int)ev->pasid, ev->grpid,
		       (unsigned long long)ev->addr, ev->code, ev->count);
		break;
	case IOPF_TRACE_RESPONSE_SENT:
		printf("  response    %s -> %s code=%d origin=%s pasid=%d "
		       "grpid=%u\n",
		       layer[ev->from], layer[ev->to], ev->code,
		       iopf_trace_origin_name(ev->origin), (int)ev->pasid,
		       ev->grpid);
		break;
	default:
		printf("  %-11s %s\n", layer[ev->from],
		       iopf_trace_type_name(ev->type));
	}
}

static int fail(const char *what, int ret)
{
	fprintf(stderr, "vtd-dma: %s failed: %d\n", what, ret);
	return EXIT_FAILURE;
}

int main(void)
{
	struct iopf_vtd_attr va = { .size = sizeof(va),
				    .pqs = 0 }; /* manual mode */
	struct iopf_device_attr da = { .size = sizeof(da),
				       .id = RID,
				       .max_pasids = 32 };
	struct iopf_pci_endpoint_attr ea = {
		.size = sizeof(ea),
		.rid = RID,
		.name = "nic0",
		.pri_capacity = 16,
		.prg_resp_pasid_required = true,
	};
	struct iopf_pci_endpoint *ep;
	struct iopf_device *dev;
	struct iopf_ctx *ctx;
	struct iopf_vtd *vtd;
	struct iopf_sva *sva;
	struct iopf_mm *mm;
	uint32_t pasid;
	int ret;

	if ((ret = iopf_ctx_new(&ctx)))
		return fail("iopf_ctx_new", ret);
	if ((ret = iopf_vtd_new(ctx, &va, &vtd)) ||
	    (ret = iopf_device_new(iopf_vtd_iommu(vtd), &da, &dev)) ||
	    (ret = iopf_pci_endpoint_new(ctx, &ea, &ep)) ||
	    (ret = iopf_vtd_connect(vtd, ep)) ||
	    (ret = iopf_pci_enable_pri(ep, 16)))
		return fail("setting up the hardware", ret);
	/* The process: a buffer mapped but never touched. */
	if ((ret = iopf_mm_new(ctx, &mm)) ||
	    (ret = iopf_mm_map(mm, BUF, 16 * 4096,
			       IOPF_PROT_READ | IOPF_PROT_WRITE)) ||
	    (ret = iopf_sva_bind_device(dev, mm, &sva)))
		return fail("binding the address space", ret);
	pasid = iopf_sva_get_pasid(sva);
	printf("endpoint %s (rid 0x%04x) bound at PASID %u; buffer resident: "
	       "%s\n",
	       iopf_pci_endpoint_name(ep), RID, pasid,
	       iopf_mm_page_present(mm, BUF) ? "yes" : "no");

	iopf_trace_set_sink(ctx, sink, NULL);
	printf("DMA write of %u bytes at 0x%llx:\n", LEN,
	       (unsigned long long)BUF + 0x100);
	ret = iopf_pci_dma(ep, pasid, BUF + 0x100, LEN, IOPF_FAULT_PERM_WRITE);
	iopf_trace_set_sink(ctx, NULL, NULL);
	printf("DMA returned %d; pages resident: %llu\n", ret,
	       (unsigned long long)iopf_mm_resident_pages(mm));
	if (ret)
		return fail("iopf_pci_dma", ret);

	iopf_sva_unbind_device(sva);
	iopf_mm_put(mm);
	iopf_ctx_free(
		ctx); /* frees the VT-d model, the device and the endpoint */
	return EXIT_SUCCESS;
}
