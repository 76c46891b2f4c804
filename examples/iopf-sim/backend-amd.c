// SPDX-License-Identifier: MIT
/*
 * The AMD IOMMU backend (<iopf/hw/amd.h>):
 *
 *   iommu NAME amd [entries=N] [irq_before_entry] [erratum_polls=N]
 *   device NAME IOMMU id=DEVID [pasids=N] [endpoint options]
 *   ppr IOMMU      the PPR-log interrupt thread runs once
 *
 * Every device is a PCIe function with PRI plugged into the IOMMU: its
 * page requests become PPR log entries, and the driver answers them with
 * COMPLETE_PPR_REQUEST. A device created with nopri is not added to the
 * fault queue (amd_iommu_iopf_add_device() needs PRI enabled). The fault
 * queue is declared as "NAME-iopfq".
 */
#include <errno.h>
#include <string.h>

#include <iopf/hw/amd.h>
#include <iopf/hw/pci.h>

#include "sim.h"

const struct sim_backend sim_backend_amd;

static int amd_create(struct sim *sim, struct sim_obj *obj,
		      struct sim_args *args)
{
	struct iopf_amd_attr attr = {
		.size = sizeof(attr),
		.name = obj->name,
		.nr_threads = sim->threads,
	};
	struct iopf_amd *amd;
	int ret;

	if (sim_opt_u32(sim, args, "entries", &attr.ppr_log_entries) ||
	    sim_opt_u32(sim, args, "erratum_polls", &attr.erratum_polls))
		return 1;
	attr.irq_before_entry = sim_flag(args, "irq_before_entry");
	ret = iopf_amd_new(sim->ctx, &attr, &amd);
	if (!ret)
		obj->ptr = amd;
	return ret;
}

static struct iopf_iommu *amd_iommu(struct sim_obj *obj)
{
	return iopf_amd_iommu(obj->ptr);
}

static struct iopf_queue *amd_queue(struct sim_obj *obj)
{
	return iopf_amd_iopf_queue(obj->ptr);
}

static int amd_device_new(struct sim *sim, struct sim_obj *iommu,
			  struct sim_obj *dev,
			  const struct iopf_device_attr *attr,
			  struct sim_args *args, struct iopf_device **out)
{
	struct iopf_amd_dev_attr d = {
		.size = sizeof(d),
		.max_pasids = attr->max_pasids,
		.name = attr->name,
	};
	struct iopf_pci_endpoint *ep;
	struct sim_dev *sd;
	uint32_t ctrl = 0;
	int ret;

	ret = sim_endpoint_new(sim, dev, args, attr->id, &ep);
	if (ret)
		return ret;
	d.devid = (uint16_t)attr->id;
	iopf_pci_pri_read(ep, IOPF_PCI_PRI_CTRL, &ctrl);
	d.pri = ctrl & IOPF_PCI_PRI_CTRL_ENABLE;
	d.prg_resp_pasid_required = iopf_pci_prg_resp_pasid_required(ep);
	ret = iopf_amd_add_device(iommu->ptr, &d, out);
	if (!ret)
		ret = iopf_amd_connect(iommu->ptr, ep);
	if (ret) {
		/* a device the model added stays its own, freed with it */
		iopf_pci_endpoint_free(ep);
		return ret;
	}
	sd = sim_hw_dev_new(sim, iommu, dev, attr->id);
	if (!sd)
		return 1;
	sd->ep = ep;
	return 0;
}

static int amd_pump(struct sim *sim, struct sim_obj *iommu)
{
	(void)sim;
	return iopf_amd_pump(iommu->ptr);
}

static uint64_t reg(struct sim_obj *iommu, uint32_t off)
{
	uint64_t v = 0;

	iopf_amd_read_reg(iommu->ptr, off, &v);
	return v;
}

static bool amd_idle(struct sim_obj *iommu)
{
	if (reg(iommu, IOPF_AMD_MMIO_PPR_HEAD) !=
		    reg(iommu, IOPF_AMD_MMIO_PPR_TAIL) ||
	    (reg(iommu, IOPF_AMD_MMIO_STATUS) &
	     (IOPF_AMD_STATUS_PPR_INT | IOPF_AMD_STATUS_PPR_OVERFLOW)))
		return false;
	/*
	 * The PPR thread moves the head before it reports what it took:
	 * polling the log here waits for a poll in progress.
	 */
	return iopf_amd_poll_ppr_log(iommu->ptr) <= 0;
}

static int amd_stat(struct sim_obj *iommu, const char *key, char *buf,
		    size_t len)
{
	struct iopf_amd_stats st;
	static const struct {
		const char *key;
		size_t off;
	} counters[] = {
#define C(f) { #f, offsetof(struct iopf_amd_stats, f) }
		C(ppr_logged), C(ppr_dropped), C(overflows),	 C(late_writes),
		C(cmds),       C(cmd_errors),  C(prg_responses), C(restarts),
#undef C
	};

	if (!strcmp(key, "ppr_pending"))
		return sim_stat_bool(
			buf, len,
			reg(iommu, IOPF_AMD_MMIO_PPR_HEAD) !=
				reg(iommu, IOPF_AMD_MMIO_PPR_TAIL));
	if (!strcmp(key, "overflow"))
		return sim_stat_bool(buf, len,
				     reg(iommu, IOPF_AMD_MMIO_STATUS) &
					     IOPF_AMD_STATUS_PPR_OVERFLOW);
	if (!strcmp(key, "running"))
		return sim_stat_bool(buf, len,
				     reg(iommu, IOPF_AMD_MMIO_STATUS) &
					     IOPF_AMD_STATUS_PPR_RUN);
	if (iopf_amd_get_stats(iommu->ptr, &st))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		if (!strcmp(key, counters[i].key))
			return sim_stat_u64(
				buf, len,
				*(const uint64_t *)((const char *)&st +
						    counters[i].off));
	return -ENOENT;
}

/* ppr IOMMU: the PPR-log interrupt thread runs once (manual mode) */
static int cmd_ppr(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o = sim_backend_iommu(sim, args, &sim_backend_amd);

	if (!o)
		return -1;
	if (sim->threads)
		return sim_result(sim, sim_settle(sim));
	return sim_result(sim, iopf_amd_handle_ppr_irq(o->ptr));
}

static const struct sim_cmd amd_cmds[] = {
	{ "ppr", cmd_ppr, false },
	{ NULL, NULL, false },
};

const struct sim_backend sim_backend_amd = {
	.name = "amd",
	.create = amd_create,
	.iommu = amd_iommu,
	.queue = amd_queue,
	.device_new = amd_device_new,
	.pump = amd_pump,
	.idle = amd_idle,
	.stat = amd_stat,
	.cmds = amd_cmds,
};
