// SPDX-License-Identifier: MIT
/*
 * Bit layouts of the PCIe Page Request and PRG Response messages
 * (PCIe §10.4.1, §10.4.2): pure encoders and decoders.
 */
#include <errno.h>

#include "pci-priv.h"

IOPF_EXPORT uint64_t
iopf_pci_prm_payload(const struct iopf_pci_page_request *pr)
{
	uint64_t v;

	if (!pr)
		return 0;
	v = pr->addr & IOPF_PCI_PRM_ADDR_MASK;
	v |= ((uint64_t)pr->prgi & IOPF_PCI_PRM_PRGI_MASK)
	     << IOPF_PCI_PRM_PRGI_SHIFT;
	if (pr->read)
		v |= IOPF_PCI_PRM_R;
	if (pr->write)
		v |= IOPF_PCI_PRM_W;
	if (pr->last)
		v |= IOPF_PCI_PRM_L;
	return v;
}

IOPF_EXPORT int iopf_pci_prm_decode(uint64_t payload,
				    struct iopf_pci_page_request *pr)
{
	if (!pr)
		return -EINVAL;
	pr->read = payload & IOPF_PCI_PRM_R;
	pr->write = payload & IOPF_PCI_PRM_W;
	pr->last = payload & IOPF_PCI_PRM_L;
	pr->prgi =
		(payload >> IOPF_PCI_PRM_PRGI_SHIFT) & IOPF_PCI_PRM_PRGI_MASK;
	pr->addr = payload & IOPF_PCI_PRM_ADDR_MASK;
	return 0;
}

IOPF_EXPORT uint32_t
iopf_pci_prg_resp_dword(const struct iopf_pci_prg_response *resp)
{
	if (!resp)
		return 0;
	return (resp->prgi & 0x1ffu) | ((uint32_t)(resp->code & 0xf) << 12) |
	       ((uint32_t)resp->rid << 16);
}

IOPF_EXPORT int iopf_pci_prg_resp_decode(uint32_t dword,
					 struct iopf_pci_prg_response *resp)
{
	if (!resp)
		return -EINVAL;
	resp->prgi = dword & 0x1ff;
	resp->code = (dword >> 12) & 0xf;
	resp->rid = dword >> 16;
	return 0;
}
