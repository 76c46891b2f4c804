// SPDX-License-Identifier: MIT
/*
 * The AMD IOMMU root port: PCIe endpoints (<iopf/hw/pci.h>) get their page
 * requests logged in the PPR log and their PRG Responses from
 * COMPLETE_PPR_REQUEST. The DeviceID is the Requester ID.
 */
#include <errno.h>
#include <stddef.h>

#include <iopf/hw/pci.h>

#include "amd-priv.h"

struct amd_port {
	struct iopf_pci_port base; /* first: the table frees through it */
	struct iopf_amd *amd;
};

_Static_assert(offsetof(struct amd_port, base) == 0, "freed as its base");

static int port_translate(void *priv, uint16_t rid, bool pasid_present,
			  uint32_t pasid, uint64_t addr, uint32_t perm)
{
	struct amd_port *port = priv;
	struct iopf_device *dev = iopf_device_find(port->amd->iommu, rid);
	int ret;

	if (!dev)
		return -ENOENT;
	ret = iopf_device_translate(dev, pasid_present ? pasid : IOPF_NO_PASID,
				    addr, perm);
	iopf_device_put(dev);
	return ret;
}

/* The IOMMU turns the message into a log entry: GN = a PASID prefix. */
static void port_page_request(void *priv,
			      const struct iopf_pci_page_request *pr)
{
	struct amd_port *port = priv;
	struct iopf_amd_ppr_entry e = {
		.devid = pr->rid,
		.pasid = pr->pasid_present ? pr->pasid : 0,
		.prgi = pr->prgi,
		.last = pr->last,
		.type = IOPF_AMD_PPR_REQ_FAULT,
		.addr = pr->addr & ~0xfffull,
	};

	if (pr->read)
		e.flags |= IOPF_AMD_PPR_FLAG_READ;
	if (pr->write)
		e.flags |= IOPF_AMD_PPR_FLAG_WRITE;
	if (pr->exe)
		e.flags |= IOPF_AMD_PPR_FLAG_EXEC;
	if (!pr->priv)
		e.flags |= IOPF_AMD_PPR_FLAG_US;
	if (pr->pasid_present)
		e.flags |= IOPF_AMD_PPR_FLAG_GN;
	iopf_amd_log_ppr(port->amd, &e);
}

static int port_pump(void *priv)
{
	struct amd_port *port = priv;

	return iopf_amd_pump(port->amd);
}

static void port_unplug(void *priv, struct iopf_pci_endpoint *ep)
{
	struct amd_port *port = priv;

	(void)ep;
	iopf_pci_port_table_unplug(&port->base);
}

void amd_port_deliver(struct iopf_amd *amd, const struct amd_prg_resp *r)
{
	struct iopf_pci_prg_response resp = {
		.rid = r->devid,
		.pasid_present = r->pasid_valid,
		.pasid = r->pasid,
		.prgi = r->prgi,
		.code = r->code,
	};

	iopf_pci_port_table_respond(&amd->ports, r->devid, &resp);
}

/* Linux reads pri_tlp from the function's PRG Response PASID Required bit. */
static void port_set_pri_tlp(struct iopf_amd *amd, struct iopf_pci_endpoint *ep)
{
	struct amd_dev *d;

	pthread_mutex_lock(&amd->devs_lock);
	d = amd_find_dev_locked(amd, iopf_pci_endpoint_rid(ep));
	if (d && iopf_pci_prg_resp_pasid_required(ep))
		d->pri_tlp = true;
	pthread_mutex_unlock(&amd->devs_lock);
}

IOPF_EXPORT int iopf_amd_connect(struct iopf_amd *amd,
				 struct iopf_pci_endpoint *ep)
{
	struct iopf_pci_port_ops ops = {
		.size = sizeof(ops),
		.translate = port_translate,
		.page_request = port_page_request,
		.unplug = port_unplug,
	};
	struct amd_port *port;
	int ret;

	if (!amd || !ep)
		return -EINVAL;
	port = iopf_zalloc(sizeof(*port));
	if (!port)
		return -ENOMEM;
	port->amd = amd;
	if (!amd->threads)
		ops.pump = port_pump;

	ret = iopf_pci_port_table_connect(&amd->ports, &port->base, ep, &ops);
	if (ret)
		return ret;
	port_set_pri_tlp(amd, ep);
	return 0;
}

IOPF_EXPORT int iopf_amd_disconnect(struct iopf_amd *amd,
				    struct iopf_pci_endpoint *ep)
{
	if (!amd || !ep)
		return -EINVAL;
	return iopf_pci_port_table_disconnect(&amd->ports, ep);
}

void amd_ports_release(struct iopf_amd *amd)
{
	iopf_pci_port_table_release(&amd->ports);
}
