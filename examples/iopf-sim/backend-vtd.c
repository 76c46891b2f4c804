// SPDX-License-Identifier: MIT
/*
 * The Intel VT-d backend (<iopf/hw/vtd.h>):
 *
 *   iommu NAME vtd [pqs=N] [spec_failure] [va_bits=N]
 *   device NAME IOMMU id=RID [pasids=N] [capacity=N] [reqs=N]
 *          [pasid_required] [nopri]
 *   prq IOMMU          run the prq thread's body once (prq_event_thread)
 *
 * Every device is a PCIe function with PRI plugged into the model's root
 * port, so "dma" and "prg" go through the page request queue. The model's
 * fault queue is declared as "NAME-iopfq". In manual mode nothing runs
 * until "prq" or "pump"; with --threads the prq thread runs.
 */
#include <errno.h>
#include <string.h>

#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#include "sim.h"

const struct sim_backend sim_backend_vtd;

static int vtd_create(struct sim *sim, struct sim_obj *obj,
		      struct sim_args *args)
{
	struct iopf_vtd_attr attr = {
		.size = sizeof(attr),
		.name = obj->name,
		.nr_prq_threads = sim->threads ? 1 : 0,
		.nr_fault_workers = sim->threads,
	};
	struct iopf_vtd *vtd;
	int ret;

	if (sim_opt_u32(sim, args, "pqs", &attr.pqs) ||
	    sim_opt_u32(sim, args, "va_bits", &attr.va_bits))
		return 1;
	if (sim_flag(args, "spec_failure"))
		attr.resp_encoding = IOPF_VTD_RESP_SPEC;
	ret = iopf_vtd_new(sim->ctx, &attr, &vtd);
	if (!ret)
		obj->ptr = vtd;
	return ret;
}

static struct iopf_iommu *vtd_iommu(struct sim_obj *obj)
{
	return iopf_vtd_iommu(obj->ptr);
}

static struct iopf_queue *vtd_queue(struct sim_obj *obj)
{
	return iopf_vtd_queue(obj->ptr);
}

static int vtd_device_new(struct sim *sim, struct sim_obj *iommu,
			  struct sim_obj *dev,
			  const struct iopf_device_attr *attr,
			  struct sim_args *args, struct iopf_device **out)
{
	struct iopf_pci_endpoint *ep;
	struct sim_dev *sd;
	int ret;

	ret = sim_endpoint_new(sim, dev, args, attr->id, &ep);
	if (ret)
		return ret;
	ret = iopf_device_new(iopf_vtd_iommu(iommu->ptr), attr, out);
	if (!ret) {
		ret = iopf_vtd_connect(iommu->ptr, ep);
		if (ret)
			iopf_device_free(*out);
	}
	if (ret) {
		iopf_pci_endpoint_free(ep);
		return ret;
	}
	sd = sim_hw_dev_new(sim, iommu, dev, attr->id);
	if (!sd)
		return 1;
	sd->ep = ep;
	return 0;
}

static int vtd_pump(struct sim *sim, struct sim_obj *iommu)
{
	(void)sim;
	return iopf_vtd_pump(iommu->ptr);
}

static uint64_t reg(struct sim_obj *iommu, unsigned int off)
{
	uint64_t v = 0;

	iopf_vtd_reg_read(iommu->ptr, off, &v);
	return v;
}

/* Descriptors between PQH and PQT: written, not yet read by the driver. */
static uint64_t prq_pending(struct sim_obj *iommu)
{
	uint64_t head = reg(iommu, IOPF_VTD_PQH_REG) & IOPF_VTD_PQ_OFF_MASK;
	uint64_t tail = reg(iommu, IOPF_VTD_PQT_REG) & IOPF_VTD_PQ_OFF_MASK;
	uint64_t bytes = iopf_vtd_prq_entries(iommu->ptr) * IOPF_VTD_DESC_SIZE;

	return ((tail + bytes - head) % bytes) / IOPF_VTD_DESC_SIZE;
}

static bool vtd_idle(struct sim_obj *iommu)
{
	if (prq_pending(iommu) ||
	    (reg(iommu, IOPF_VTD_PRS_REG) & IOPF_VTD_PRS_PPR))
		return false;
	/*
	 * The prq thread clears PPR and moves PQH before it reports what it
	 * took: running its body here waits for a walk in progress.
	 */
	return iopf_vtd_process_prq(iommu->ptr) <= 0;
}

static int vtd_stat(struct sim_obj *iommu, const char *key, char *buf,
		    size_t len)
{
	struct iopf_vtd_stats st = { .size = sizeof(st) };
	static const struct {
		const char *key;
		size_t off;
	} counters[] = {
#define C(f) { #f, offsetof(struct iopf_vtd_stats, f) }
		C(prq_written),	 C(prq_discarded), C(auto_success),
		C(overflows),	 C(events),	   C(reported),
		C(bad_requests), C(bad_responses), C(stop_markers),
		C(pro_cleared),	 C(qi_descs),	   C(prg_responses),
		C(drains),	 C(drain_retries),
#undef C
	};

	if (!strcmp(key, "pro"))
		return sim_stat_bool(buf, len,
				     reg(iommu, IOPF_VTD_PRS_REG) &
					     IOPF_VTD_PRS_PRO);
	if (!strcmp(key, "ppr"))
		return sim_stat_bool(buf, len,
				     reg(iommu, IOPF_VTD_PRS_REG) &
					     IOPF_VTD_PRS_PPR);
	if (!strcmp(key, "pending"))
		return sim_stat_u64(buf, len, prq_pending(iommu));
	if (iopf_vtd_stats(iommu->ptr, &st))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		if (!strcmp(key, counters[i].key))
			return sim_stat_u64(
				buf, len,
				*(const uint64_t *)((const char *)&st +
						    counters[i].off));
	return -ENOENT;
}

/* prq IOMMU: the prq thread runs once (manual mode) */
static int cmd_prq(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o = sim_backend_iommu(sim, args, &sim_backend_vtd);

	if (!o)
		return -1;
	if (sim->threads)
		return sim_result(sim, sim_settle(sim));
	return sim_result(sim, iopf_vtd_process_prq(o->ptr));
}

static const struct sim_cmd vtd_cmds[] = {
	{ "prq", cmd_prq, false },
	{ NULL, NULL, false },
};

const struct sim_backend sim_backend_vtd = {
	.name = "vtd",
	.create = vtd_create,
	.iommu = vtd_iommu,
	.queue = vtd_queue,
	.device_new = vtd_device_new,
	.pump = vtd_pump,
	.idle = vtd_idle,
	.stat = vtd_stat,
	.cmds = vtd_cmds,
};
