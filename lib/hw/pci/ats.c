// SPDX-License-Identifier: MIT
/*
 * The endpoint's DMA engine: the ATS loop of PCIe §10.
 *
 * Translate every page of the transfer through the root port; send the
 * pages that missed as one Page Request Group (L on the last request);
 * wait for the PRG Response; on Success translate again (a page may miss
 * again, e.g. unmapped in between, and start a new group); on Invalid
 * Request the DMA fails; on Response Failure PRI is off until re-enabled.
 */
#include <errno.h>

#include "pci-priv.h"

#define DMA_MAX_PAGES (1u << 16)

struct dma {
	struct iopf_pci_endpoint *ep;
	uint32_t pasid;
	uint32_t perm;
	uint64_t first; /* first page */
	unsigned int npages;
	bool *granted; /* Success answered, for ports that cannot translate */
	uint64_t *missing; /* pages to request this round */
	unsigned int nmiss;
};

/* Translate every page; collect those that need a page request. */
static int dma_translate(struct dma *d)
{
	struct iopf_pci_endpoint *ep = d->ep;
	struct iopf_pci_port_ops port;
	void *priv;
	int ret;

	pthread_mutex_lock(&ep->lock);
	if (!ep->connected) {
		pthread_mutex_unlock(&ep->lock);
		return -ENOTCONN;
	}
	port = ep->port;
	priv = ep->port_priv;
	pthread_mutex_unlock(&ep->lock);

	d->nmiss = 0;
	for (unsigned int i = 0; i < d->npages; i++) {
		uint64_t page = d->first + (uint64_t)i * IOPF_PCI_PAGE_SIZE;

		ret = port.translate(priv, ep->rid, d->pasid != 0, d->pasid,
				     page, d->perm);
		if (ret == -EOPNOTSUPP && d->granted[i])
			ret = 0;
		if (!ret)
			continue;
		if (ret != -EFAULT && ret != -ENOENT && ret != -EOPNOTSUPP)
			return ret;
		d->missing[d->nmiss++] = page;
	}
	return 0;
}

/* A wait that timed out must not leave its waiter in a slot. */
static void dma_forget_waiter(struct iopf_pci_endpoint *ep,
			      struct prg_waiter *waiter)
{
	for (unsigned int i = 0; i < IOPF_PCI_NR_PRGI; i++)
		if (ep->prg[i].waiter == waiter)
			ep->prg[i].waiter = NULL;
}

static void dma_grant(struct dma *d, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		d->granted[(d->missing[i] - d->first) / IOPF_PCI_PAGE_SIZE] =
			true;
}

/* One page request round: send, wait, map the response to an errno. */
static int dma_page_request(struct dma *d)
{
	struct iopf_pci_endpoint *ep = d->ep;
	struct prg_waiter waiter = { 0 };
	unsigned int n;
	uint32_t alloc;
	int ret;

	pthread_mutex_lock(&ep->lock);
	alloc = pri_allocation(ep);
	pthread_mutex_unlock(&ep->lock);
	/* Never more requests than credits: the rest waits for the next round. */
	n = d->nmiss < alloc ? d->nmiss : alloc;
	if (!n)
		n = 1;
	ret = pri_send_group(ep, d->pasid, d->perm, d->missing, n, &waiter,
			     true, NULL);
	if (ret)
		return ret;
	pthread_mutex_lock(&ep->lock);
	ret = pri_wait(ep, &waiter);
	if (ret)
		dma_forget_waiter(ep, &waiter);
	else
		ret = waiter.err;
	pthread_mutex_unlock(&ep->lock);
	if (ret)
		return ret;
	switch (waiter.code) {
	case IOPF_PCI_PRG_RESP_SUCCESS:
		dma_grant(d, n);
		return 0;
	case IOPF_PCI_PRG_RESP_INVALID:
		return -EFAULT;
	default:
		return -EIO;
	}
}

/*
 * Manual mode: let the IOMMU model catch up before translating again. An
 * automatic Success (queue overflow) can arrive before the requests were
 * serviced, and retrying at once would only overflow again.
 */
static void dma_pump_idle(struct iopf_pci_endpoint *ep)
{
	int (*pump)(void *priv);
	void *priv;

	pthread_mutex_lock(&ep->lock);
	pump = ep->connected ? ep->port.pump : NULL;
	priv = ep->port_priv;
	pthread_mutex_unlock(&ep->lock);
	if (pump)
		while (pump(priv) > 0)
			;
}

static int dma_run(struct dma *d)
{
	struct iopf_pci_endpoint *ep = d->ep;
	int ret;

	/* The device stopped using this PASID: no DMA with it at all. */
	pthread_mutex_lock(&ep->lock);
	ret = d->pasid && pri_pasid_stopped(ep, d->pasid) ? -ESHUTDOWN : 0;
	pthread_mutex_unlock(&ep->lock);
	if (ret)
		return ret;
	for (unsigned int round = 0;; round++) {
		if (round)
			dma_pump_idle(ep);
		ret = dma_translate(d);
		if (ret || !d->nmiss)
			return ret;
		if (round >= ep->max_retries)
			return -EAGAIN;
		if (round) {
			pthread_mutex_lock(&ep->lock);
			ep->stats.retries++;
			pthread_mutex_unlock(&ep->lock);
		}
		pri_trace(ep, PRI_TO_HW, "ats_miss",
			  d->pasid ? d->pasid : IOPF_PASID_INVALID,
			  d->missing[0], 0, -1, 0, d->nmiss);
		ret = dma_page_request(d);
		if (ret)
			return ret;
	}
}

static bool dma_args_ok(uint32_t pasid, uint64_t addr, uint64_t len,
			uint32_t perm)
{
	uint32_t rwx = IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE |
		       IOPF_FAULT_PERM_EXEC;

	if (!len || addr + len - 1 < addr || pasid >= (1u << IOPF_PASID_BITS))
		return false;
	if ((perm & ~(rwx | IOPF_FAULT_PERM_PRIV)) || !(perm & rwx))
		return false;
	/* Exec and Priv travel in the PASID prefix only. */
	return pasid || !(perm & (IOPF_FAULT_PERM_EXEC | IOPF_FAULT_PERM_PRIV));
}

IOPF_EXPORT int iopf_pci_dma(struct iopf_pci_endpoint *ep, uint32_t pasid,
			     uint64_t addr, uint64_t len, uint32_t perm)
{
	struct dma d = { .ep = ep, .pasid = pasid, .perm = perm };
	uint64_t last;
	int ret;

	if (!ep || !dma_args_ok(pasid, addr, len, perm))
		return -EINVAL;
	d.first = addr & IOPF_PCI_PRM_ADDR_MASK;
	last = (addr + len - 1) & IOPF_PCI_PRM_ADDR_MASK;
	if ((last - d.first) / IOPF_PCI_PAGE_SIZE >= DMA_MAX_PAGES)
		return -EINVAL;
	d.npages = (unsigned int)((last - d.first) / IOPF_PCI_PAGE_SIZE) + 1;
	d.granted = iopf_calloc(d.npages, sizeof(*d.granted));
	d.missing = iopf_calloc(d.npages, sizeof(*d.missing));
	if (!d.granted || !d.missing) {
		ret = -ENOMEM;
		goto out;
	}
	pri_trace(ep, PRI_LOCAL, "dma_begin",
		  pasid ? pasid : IOPF_PASID_INVALID, addr, 0, -1, 0, d.npages);
	ret = dma_run(&d);
	pthread_mutex_lock(&ep->lock);
	if (ret)
		ep->stats.dma_failed++;
	else
		ep->stats.dma_ok++;
	pthread_mutex_unlock(&ep->lock);
	pri_trace(ep, PRI_LOCAL, ret ? "dma_failed" : "dma_done",
		  pasid ? pasid : IOPF_PASID_INVALID, addr, 0, -1, ret,
		  d.npages);
out:
	iopf_mfree(d.granted);
	iopf_mfree(d.missing);
	return ret;
}
