// SPDX-License-Identifier: MIT
/*
 * Commands of the device side (<iopf/hw/pci.h>): a PCIe function with ATS
 * and PRI behind a hardware IOMMU. The scenario plays the device and its
 * driver: DMAs, page request groups sent without waiting, stopping a
 * PASID, and the PRI capability's control bits.
 */
#include <errno.h>
#include <string.h>

#include <iopf/hw/pci.h>

#include "sim.h"

#define PRG_PAGES_MAX  64
#define DMA_LEN_MAX    (1u << 20)
#define MANUAL_WAIT_MS 2000 /* manual mode: pumping that stalls gives up */

/*
 * The endpoint of a device "device NAME IOMMU id=RID ... [capacity=N]
 * [reqs=N] [pasid_required] [nopri]": created, PRI enabled with reqs
 * (default: capacity) unless nopri. The backend connects it. Returns 1
 * after a reported syntax error, else 0 or a negative errno.
 */
int sim_endpoint_new(struct sim *sim, struct sim_obj *dev,
		     struct sim_args *args, uint32_t id,
		     struct iopf_pci_endpoint **out)
{
	struct iopf_pci_endpoint_attr attr = {
		.size = sizeof(attr),
		.name = dev->name,
		.pri_capacity = 32,
		.timeout_ms = sim->threads ? 0 : MANUAL_WAIT_MS,
	};
	struct iopf_pci_endpoint *ep;
	uint32_t reqs = 0;
	bool nopri;
	int ret;

	if (id > 0xffff) {
		sim_error(sim,
			  "device: a PCIe requester ID is 16 bits, not %#x",
			  id);
		return 1;
	}
	attr.rid = (uint16_t)id;
	if (sim_opt_u32(sim, args, "capacity", &attr.pri_capacity) ||
	    sim_opt_u32(sim, args, "reqs", &reqs))
		return 1;
	attr.prg_resp_pasid_required = sim_flag(args, "pasid_required");
	nopri = sim_flag(args, "nopri");
	ret = iopf_pci_endpoint_new(sim->ctx, &attr, &ep);
	if (ret)
		return ret;
	if (!nopri) {
		ret = iopf_pci_enable_pri(ep, reqs ? reqs : attr.pri_capacity);
		if (ret) {
			iopf_pci_endpoint_free(ep);
			return ret;
		}
	}
	*out = ep;
	return 0;
}

static int reg_bit(struct iopf_pci_endpoint *ep, unsigned int off, uint32_t bit,
		   char *buf, size_t len)
{
	uint32_t v = 0;

	iopf_pci_pri_read(ep, off, &v);
	return sim_stat_bool(buf, len, v & bit);
}

/* What "expect device DEV key=value" reads from an endpoint. */
static int endpoint_stat(struct sim_obj *obj, const char *key, char *buf,
			 size_t len)
{
	struct sim_dev *sd = obj->data;
	struct iopf_pci_endpoint_stats st = { .size = sizeof(st) };
	struct iopf_pci_endpoint *ep = sd->ep;
	static const struct {
		const char *key;
		size_t off;
	} counters[] = {
#define C(k, f) { k, offsetof(struct iopf_pci_endpoint_stats, f) }
		C("page_requests", page_requests),
		C("groups", groups),
		C("stop_markers", stop_markers),
		C("accepted", responses[IOPF_PCI_RESP_ACCEPTED]),
		C("stale", responses[IOPF_PCI_RESP_STALE]),
		C("unexpected", responses[IOPF_PCI_RESP_UNEXPECTED]),
		C("ignored", responses[IOPF_PCI_RESP_IGNORED]),
		C("dma_ok", dma_ok),
		C("dma_failed", dma_failed),
		C("retries", retries),
		C("ats_invalidations", ats_invalidations),
#undef C
	};

	if (!strcmp(key, "enabled"))
		return reg_bit(ep, IOPF_PCI_PRI_CTRL, IOPF_PCI_PRI_CTRL_ENABLE,
			       buf, len);
	if (!strcmp(key, "rf"))
		return reg_bit(ep, IOPF_PCI_PRI_STATUS, IOPF_PCI_PRI_STATUS_RF,
			       buf, len);
	if (!strcmp(key, "uprgi"))
		return reg_bit(ep, IOPF_PCI_PRI_STATUS,
			       IOPF_PCI_PRI_STATUS_UPRGI, buf, len);
	if (!strcmp(key, "stopped"))
		return reg_bit(ep, IOPF_PCI_PRI_STATUS,
			       IOPF_PCI_PRI_STATUS_STOPPED, buf, len);
	if (iopf_pci_endpoint_stats(ep, &st))
		return -EINVAL;
	if (!strcmp(key, "credits"))
		return sim_stat_u64(buf, len, st.credits_used);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		if (!strcmp(key, counters[i].key))
			return sim_stat_u64(
				buf, len,
				*(const uint64_t *)((const char *)&st +
						    counters[i].off));
	return -ENOENT;
}

/* expect device DEV key=value...: the endpoint, or the backend's master */
int sim_expect_device(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 1, "device"));
	struct sim_dev *sd = d ? sim_dev_of(sim, d) : NULL;
	const struct sim_backend *b;

	if (!sd)
		return -1;
	if (sd->ep)
		return sim_expect_stats(sim, args, d, endpoint_stat);
	b = sd->iommu->data;
	if (!b->dev_stat)
		return sim_error(sim, "expect device: '%s' has no state",
				 d->name);
	return sim_expect_stats(sim, args, d, b->dev_stat);
}

/* The device of a command, which must have a PCIe endpoint. */
static struct sim_dev *endpoint_arg(struct sim *sim, struct sim_args *args,
				    struct sim_obj **dev)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 0, "device"));
	struct sim_dev *sd = d ? sim_dev_of(sim, d) : NULL;

	if (sd && !sd->ep) {
		sim_error(sim, "%s: device '%s' is not a PCIe function",
			  args->argv[0], d->name);
		return NULL;
	}
	if (dev)
		*dev = d;
	return sd;
}

static int pasid_perm(struct sim *sim, struct sim_args *args, uint32_t *pasid,
		      uint32_t *perm)
{
	const char *s = sim_opt(args, "pasid");

	if (s && sim_pasid_arg(sim, s, pasid))
		return -1;
	s = sim_opt(args, "perm");
	*perm = IOPF_FAULT_PERM_READ;
	return s ? sim_perm(sim, s, perm) : 0;
}

/*
 * dma DEVICE addr=A [len=N] [pasid=P] [perm=PERM] [nowait]: a DMA. A PCIe
 * function runs the ATS loop (iopf_pci_dma()); a stalling master issues
 * one transaction (nowait: leave it stalled).
 */
static int cmd_dma(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 0, "device"));
	struct sim_dev *sd = d ? sim_dev_of(sim, d) : NULL;
	const struct sim_backend *b;
	uint32_t pasid = IOPF_NO_PASID, perm;
	uint64_t addr, len = IOPF_PCI_PAGE_SIZE;
	bool nowait;
	int ret;

	if (!sd)
		return -1;
	if (!sim_opt(args, "addr"))
		return sim_error(sim, "dma: missing addr=");
	if (sim_opt_u64(sim, args, "addr", &addr) ||
	    sim_opt_u64(sim, args, "len", &len) ||
	    pasid_perm(sim, args, &pasid, &perm))
		return -1;
	nowait = sim_flag(args, "nowait");
	if (sim_done(sim, args))
		return -1;
	if (!len || len > DMA_LEN_MAX)
		return sim_error(sim, "dma: len= is 1 to %u", DMA_LEN_MAX);
	if (sd->ep) {
		if (nowait)
			return sim_error(sim, "dma: nowait is for stalling "
					      "masters; use prg");
		ret = iopf_pci_dma(sd->ep, pasid, addr, len, perm);
	} else {
		b = sd->iommu->data;
		if (!b->dma)
			return sim_error(sim, "dma: device '%s' cannot DMA",
					 d->name);
		ret = b->dma(sim, d, pasid, addr, perm, nowait);
	}
	/*
	 * With threads the device may see its response before the core has
	 * finished sending it: let the fault path settle, so that what
	 * follows sees every event of the DMA.
	 */
	if (sim->threads && !nowait && sim_settle(sim))
		return sim_error(sim, "dma: the hardware did not settle");
	return sim_result(sim, ret);
}

/*
 * prg DEVICE addr=A [pages=N] [groups=G] [pasid=P] [perm=PERM]: G page
 * request groups of N consecutive pages each, sent without waiting for
 * their responses (iopf_pci_pri_send()).
 */
static int cmd_prg(struct sim *sim, struct sim_args *args)
{
	struct sim_dev *sd = endpoint_arg(sim, args, NULL);
	uint64_t addr, addrs[PRG_PAGES_MAX];
	uint32_t pages = 1, groups = 1, pasid = IOPF_NO_PASID, perm;
	int ret = 0;

	if (!sd)
		return -1;
	if (!sim_opt(args, "addr"))
		return sim_error(sim, "prg: missing addr=");
	if (sim_opt_u64(sim, args, "addr", &addr) ||
	    sim_opt_u32(sim, args, "pages", &pages) ||
	    sim_opt_u32(sim, args, "groups", &groups) ||
	    pasid_perm(sim, args, &pasid, &perm) || sim_done(sim, args))
		return -1;
	if (!pages || pages > PRG_PAGES_MAX)
		return sim_error(sim, "prg: pages= is 1 to %d", PRG_PAGES_MAX);
	if (!groups || groups > IOPF_PCI_NR_PRGI)
		return sim_error(sim, "prg: groups= is 1 to %d",
				 IOPF_PCI_NR_PRGI);
	for (uint32_t g = 0; g < groups && !ret; g++) {
		for (uint32_t i = 0; i < pages; i++, addr += IOPF_PCI_PAGE_SIZE)
			addrs[i] = addr;
		ret = iopf_pci_pri_send(sd->ep, pasid, perm, addrs, pages,
					NULL);
	}
	return sim_result(sim, ret);
}

/* stop_pasid DEVICE pasid=P [marker]: the device stops using a PASID */
static int cmd_stop_pasid(struct sim *sim, struct sim_args *args)
{
	struct sim_dev *sd = endpoint_arg(sim, args, NULL);
	uint32_t pasid;
	const char *p;
	bool marker;

	if (!sd)
		return -1;
	p = sim_opt(args, "pasid");
	if (!p)
		return sim_error(sim, "stop_pasid: missing pasid=");
	if (sim_pasid_arg(sim, p, &pasid))
		return -1;
	marker = sim_flag(args, "marker");
	if (sim_done(sim, args))
		return -1;
	return sim_result(sim,
			  iopf_pci_stop_pasid(sd->ep, pasid,
					      marker ? IOPF_PCI_STOP_MARKER :
						       IOPF_PCI_STOP_WAIT));
}

/* start_pasid DEVICE pasid=P: the device may use the PASID again */
static int cmd_start_pasid(struct sim *sim, struct sim_args *args)
{
	struct sim_dev *sd = endpoint_arg(sim, args, NULL);
	uint32_t pasid;
	const char *p;

	if (!sd)
		return -1;
	p = sim_opt(args, "pasid");
	if (!p)
		return sim_error(sim, "start_pasid: missing pasid=");
	if (sim_pasid_arg(sim, p, &pasid) || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_pci_start_pasid(sd->ep, pasid));
}

/* pri_enable DEVICE [reqs=N] */
static int cmd_pri_enable(struct sim *sim, struct sim_args *args)
{
	struct sim_dev *sd = endpoint_arg(sim, args, NULL);
	uint32_t reqs = 0, cap = 0;

	if (!sd || sim_opt_u32(sim, args, "reqs", &reqs) || sim_done(sim, args))
		return -1;
	if (!reqs)
		iopf_pci_pri_read(sd->ep, IOPF_PCI_PRI_MAX_REQ, &cap);
	return sim_result(sim, iopf_pci_enable_pri(sd->ep, reqs ? reqs : cap));
}

/* pri_disable DEVICE */
static int cmd_pri_disable(struct sim *sim, struct sim_args *args)
{
	struct sim_dev *sd = endpoint_arg(sim, args, NULL);

	if (!sd || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_pci_disable_pri(sd->ep));
}

/* pri_reset DEVICE */
static int cmd_pri_reset(struct sim *sim, struct sim_args *args)
{
	struct sim_dev *sd = endpoint_arg(sim, args, NULL);

	if (!sd || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_pci_reset_pri(sd->ep));
}

const struct sim_cmd sim_pci_cmds[] = {
	{ "dma", cmd_dma, false },
	{ "prg", cmd_prg, false },
	{ "stop_pasid", cmd_stop_pasid, false },
	{ "start_pasid", cmd_start_pasid, false },
	{ "pri_enable", cmd_pri_enable, false },
	{ "pri_disable", cmd_pri_disable, false },
	{ "pri_reset", cmd_pri_reset, false },
	{ NULL, NULL, false },
};
