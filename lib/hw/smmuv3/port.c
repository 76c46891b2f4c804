// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 root port: PCIe endpoints (<iopf/hw/pci.h>) send their page
 * requests to the PRI queue and get PRG Responses back from CMD_PRI_RESP and
 * from the hardware's automatic responses. A PCIe function's StreamID is
 * its Requester ID.
 */
#include <errno.h>
#include <stddef.h>

#include <iopf/hw/pci.h>

#include "smmuv3-priv.h"

struct smmu_port {
	struct iopf_pci_port base; /* first: the table frees through it */
	struct iopf_smmuv3 *smmu;
};

_Static_assert(offsetof(struct smmu_port, base) == 0, "freed as its base");

static int port_translate(void *priv, uint16_t rid, bool pasid_present,
			  uint32_t pasid, uint64_t addr, uint32_t perm)
{
	struct smmu_port *port = priv;
	struct iopf_smmuv3 *smmu = port->smmu;
	struct iopf_device *dev = NULL;
	struct smmu_master *master;
	int ret;

	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, rid);
	if (master && !master->removing)
		dev = iopf_device_find(smmu->iommu, master->sid);
	pthread_mutex_unlock(&smmu->masters_lock);
	if (!dev)
		return -ENOENT;
	ret = iopf_device_translate(dev, pasid_present ? pasid : IOPF_NO_PASID,
				    addr, perm);
	iopf_device_put(dev);
	return ret;
}

static void port_page_request(void *priv,
			      const struct iopf_pci_page_request *pr)
{
	struct smmu_port *port = priv;
	struct iopf_smmuv3_ppr ppr = {
		.sid = pr->rid,
		.ssid = pr->pasid_present ? pr->pasid : 0,
		.priv = pr->priv,
		.exec = pr->exe,
		.read = pr->read,
		.write = pr->write,
		.last = pr->last,
		.ssv = pr->pasid_present,
		.prgi = pr->prgi,
		.addr = pr->addr & ~0xfffull,
	};

	iopf_smmuv3_pri_request(port->smmu, &ppr);
}

static int port_pump(void *priv)
{
	struct smmu_port *port = priv;

	return iopf_smmuv3_pump(port->smmu);
}

static void port_unplug(void *priv, struct iopf_pci_endpoint *ep)
{
	struct smmu_port *port = priv;

	(void)ep;
	iopf_pci_port_table_unplug(&port->base);
}

/* Deliver a PRG Response to the endpoint with that RID, if one is plugged. */
void smmu_port_deliver(struct iopf_smmuv3 *smmu, const struct smmu_effect *fx)
{
	struct iopf_pci_prg_response resp = {
		.rid = (uint16_t)fx->sid,
		.pasid_present = fx->pasid_valid,
		.pasid = fx->pasid_valid ? fx->pasid : 0,
		.prgi = fx->prgi,
		.code = fx->code,
	};

	iopf_pci_port_table_respond(&smmu->ports, fx->sid, &resp);
}

IOPF_EXPORT int iopf_smmuv3_connect(struct iopf_smmuv3 *smmu,
				    struct iopf_pci_endpoint *ep)
{
	struct iopf_pci_port_ops ops = {
		.size = sizeof(ops),
		.translate = port_translate,
		.page_request = port_page_request,
		.unplug = port_unplug,
	};
	struct smmu_port *port;

	if (!smmu || !ep)
		return -EINVAL;
	port = iopf_zalloc(sizeof(*port));
	if (!port)
		return -ENOMEM;
	port->smmu = smmu;
	if (!smmu->threads)
		ops.pump = port_pump;
	return iopf_pci_port_table_connect(&smmu->ports, &port->base, ep, &ops);
}

IOPF_EXPORT int iopf_smmuv3_disconnect(struct iopf_smmuv3 *smmu,
				       struct iopf_pci_endpoint *ep)
{
	if (!smmu || !ep)
		return -EINVAL;
	return iopf_pci_port_table_disconnect(&smmu->ports, ep);
}

/* At teardown: unplug every endpoint so none keeps a dangling port. */
void smmu_ports_release(struct iopf_smmuv3 *smmu)
{
	iopf_pci_port_table_release(&smmu->ports);
}

IOPF_EXPORT int iopf_smmuv3_pump(struct iopf_smmuv3 *smmu)
{
	int steps = 0, n;

	if (!smmu)
		return -EINVAL;
	do {
		n = arm_smmu_priq_thread(smmu);
		n += arm_smmu_evtq_thread(smmu);
		n += (int)iopf_queue_run(smmu->iopf_queue, SIZE_MAX);
		steps += n;
	} while (n);
	return steps;
}
