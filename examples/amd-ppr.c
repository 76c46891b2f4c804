// SPDX-License-Identifier: MIT
/*
 * amd-ppr: one SVA page fault through the AMD IOMMU PPR log.
 *
 * A PCIe function with PRI reads a page of a process address space that
 * is mapped but not resident. Its ATS translation misses, so it sends a
 * Page Request; the IOMMU writes a PPR log entry (PASID split across two
 * fields, tag with the Last bit); the driver polls the log, zeroes the
 * entry and reports the fault; the SVA handler makes the page resident and
 * answers SUCCESS; the driver queues COMPLETE_PPR_REQUEST; the function
 * gets its PRG Response and translates again. Entries and commands are
 * printed as they enter and leave their rings.
 *
 * Manual mode: the endpoint pumps the IOMMU while it waits.
 */
#include <inttypes.h>
#include <stdio.h>

#include <iopf/iopf.h>
#include <iopf/hw/amd.h>
#include <iopf/hw/pci.h>
#include <iopf/sva.h>

#define DEVID 0x0100
#define VADDR 0x7f0000002000ull

static void sink(const struct iopf_trace_event *ev, void *priv)
{
	(void)priv;
	printf("%3" PRIu64 " %-16s %s", ev->seq, iopf_trace_type_name(ev->type),
	       ev->name ? ev->name : "");
	if (ev->type == IOPF_TRACE_RESPONSE_SENT)
		printf(" code=%d origin=%s", ev->code,
		       iopf_trace_origin_name(ev->origin));
	printf("\n");
	if (!ev->desc || ev->desc_len != 16)
		return;
	if (ev->type == IOPF_TRACE_HW_DESC_IN && ev->from == IOPF_LAYER_HW) {
		const uint64_t *raw = ev->desc;
		struct iopf_amd_ppr_entry e;

		iopf_amd_ppr_decode(raw, &e);
		printf("      %016" PRIx64 " %016" PRIx64 "\n", raw[0], raw[1]);
		printf("      devid=%#x pasid=%u prgi=%u last=%d flags=%#x "
		       "type=%u addr=%#" PRIx64 "\n",
		       e.devid, e.pasid, e.prgi, e.last, e.flags, e.type,
		       e.addr);
	} else if (ev->type == IOPF_TRACE_HW_DESC_IN &&
		   ev->from == IOPF_LAYER_DRIVER) {
		const uint32_t *raw = ev->desc;
		struct iopf_amd_complete_ppr c;

		iopf_amd_complete_ppr_decode(raw, &c);
		printf("      %08x %08x %08x %08x\n", raw[0], raw[1], raw[2],
		       raw[3]);
		printf("      COMPLETE_PPR devid=%#x gn=%d pasid=%u tag=%u "
		       "status=%u\n",
		       c.devid, c.gn, c.pasid, c.tag, c.status);
	}
}

int main(void)
{
	struct iopf_amd_dev_attr d = {
		.size = sizeof(d),
		.devid = DEVID,
		.max_pasids = 1u << 10,
		.pri = true,
	};
	struct iopf_pci_endpoint_attr ea = {
		.size = sizeof(ea),
		.rid = DEVID,
		.prg_resp_pasid_required = true,
	};
	struct iopf_pci_endpoint *ep = NULL;
	struct iopf_amd *amd = NULL;
	struct iopf_device *dev;
	struct iopf_ctx *ctx;
	struct iopf_sva *sva;
	struct iopf_mm *mm;
	int ret = 1;

	if (iopf_ctx_new(&ctx))
		return 1;
	iopf_trace_set_sink(ctx, sink, NULL);
	if (iopf_amd_new(ctx, NULL, &amd) ||
	    iopf_amd_add_device(amd, &d, &dev) ||
	    iopf_pci_endpoint_new(ctx, &ea, &ep) || iopf_amd_connect(amd, ep) ||
	    iopf_pci_enable_pri(ep, 4) || iopf_mm_new(ctx, &mm))
		goto out;
	if (iopf_mm_map(mm, VADDR, 0x1000, IOPF_PROT_READ) ||
	    iopf_sva_bind_device(dev, mm, &sva))
		goto out_mm;

	printf("function %#x reads %#llx at PASID %u\n", DEVID, VADDR,
	       iopf_sva_get_pasid(sva));
	ret = iopf_pci_dma(ep, iopf_sva_get_pasid(sva), VADDR, 0x1000,
			   IOPF_FAULT_PERM_READ);
	printf("DMA %s; page resident: %s\n", ret ? "failed" : "done",
	       iopf_mm_page_present(mm, VADDR) ? "yes" : "no");
	ret = ret ? 1 : 0;
	iopf_sva_unbind_device(sva);
out_mm:
	iopf_mm_put(mm);
out:
	iopf_pci_endpoint_free(ep);
	iopf_amd_free(amd);
	iopf_ctx_free(ctx);
	return ret;
}
