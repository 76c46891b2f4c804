// SPDX-License-Identifier: MIT
/*
 * The AMD IOMMU object: configuration, the device table, the PPR-log
 * interrupt thread and teardown.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <iopf/iopf.h>

#include "amd-priv.h"

#define ATTR_MIN_SIZE \
	(offsetof(struct iopf_amd_attr, endpoint_priv) + sizeof(void *))
#define DEV_ATTR_MIN_SIZE \
	(offsetof(struct iopf_amd_dev_attr, drvdata) + sizeof(void *))

struct amd_dev *amd_find_dev_locked(struct iopf_amd *amd, uint16_t devid)
{
	struct amd_dev *d;

	cds_list_for_each_entry(d, &amd->devs, node)
		if (d->devid == devid)
			return d;
	return NULL;
}

static void *ppr_irq_thread(void *arg)
{
	struct iopf_amd *amd = arg;

	for (;;) {
		pthread_mutex_lock(&amd->hw_lock);
		while (!amd->ppr_irq && !amd->stopping)
			pthread_cond_wait(&amd->irq_cond, &amd->hw_lock);
		amd->ppr_irq = false;
		if (amd->stopping) {
			pthread_mutex_unlock(&amd->hw_lock);
			return NULL;
		}
		pthread_mutex_unlock(&amd->hw_lock);
		amd_iommu_handle_ppr_irq(amd);
	}
}

static void stop_thread(struct iopf_amd *amd)
{
	if (!amd->threads)
		return;
	pthread_mutex_lock(&amd->hw_lock);
	amd->stopping = true;
	pthread_cond_broadcast(&amd->irq_cond);
	pthread_mutex_unlock(&amd->hw_lock);
	pthread_join(amd->ppr_thread, NULL);
	amd->threads = false;
}

static void amd_release(struct iopf_amd *amd)
{
	struct amd_dev *d, *tmp;

	cds_list_for_each_entry_safe(d, tmp, &amd->devs, node) {
		cds_list_del(&d->node);
		iopf_mfree(d);
	}
	iopf_mfree(amd->ppr_log);
	iopf_mfree(amd->late);
	iopf_mfree(amd->cmd_buf);
	pthread_mutex_destroy(&amd->hw_lock);
	pthread_mutex_destroy(&amd->devs_lock);
	iopf_pci_port_table_destroy(&amd->ports);
	pthread_mutex_destroy(&amd->ppr_mutex);
	pthread_mutex_destroy(&amd->cmd_mutex);
	pthread_cond_destroy(&amd->irq_cond);
	iopf_mfree(amd->name);
	iopf_mfree(amd);
}

/* The thread stops, endpoints are unplugged, devices and the queue go. */
static void amd_destroy(struct iopf_amd *amd)
{
	stop_thread(amd);
	amd_ports_release(amd);
	iopf_iommu_free(amd->iommu);
	iopf_queue_free(amd->iopf_queue);
	amd_release(amd);
}

static void amd_ctx_destroy(struct iopf_ctx_member *member)
{
	amd_destroy(container_of(member, struct iopf_amd, member));
}

static int attr_read(const struct iopf_amd_attr *attr, struct iopf_amd_attr *a)
{
	memset(a, 0, sizeof(*a));
	if (attr) {
		if (attr->size < ATTR_MIN_SIZE || attr->size > sizeof(*a))
			return -EINVAL;
		memcpy(a, attr, attr->size);
	}
	if (!a->ppr_log_entries)
		a->ppr_log_entries = AMD_PPR_DEFAULT_ENTRIES;
	if (!a->loop_timeout)
		a->loop_timeout = AMD_LOOP_TIMEOUT;
	if (a->ppr_log_entries < AMD_PPR_MIN_ENTRIES ||
	    a->ppr_log_entries > AMD_PPR_MAX_ENTRIES ||
	    (a->ppr_log_entries & (a->ppr_log_entries - 1)))
		return -EINVAL;
	return 0;
}

static int amd_alloc(const struct iopf_amd_attr *a, struct iopf_amd **out)
{
	struct iopf_amd *amd = iopf_zalloc(sizeof(*amd));

	if (!amd)
		return -ENOMEM;
	pthread_mutex_init(&amd->hw_lock, NULL);
	pthread_mutex_init(&amd->devs_lock, NULL);
	iopf_pci_port_table_init(&amd->ports);
	pthread_mutex_init(&amd->ppr_mutex, NULL);
	pthread_mutex_init(&amd->cmd_mutex, NULL);
	pthread_cond_init(&amd->irq_cond, NULL);
	CDS_INIT_LIST_HEAD(&amd->devs);
	amd->prg_response = a->prg_response;
	amd->endpoint_priv = a->endpoint_priv;
	amd->irq_before_entry = a->irq_before_entry;
	amd->erratum_polls = a->erratum_polls;
	amd->loop_timeout = a->loop_timeout;
	amd_hw_init_log(amd, a->ppr_log_entries);
	amd->name = iopf_strdup(a->name ? a->name : "amd-iommu");
	amd->ppr_log = iopf_calloc(a->ppr_log_entries, IOPF_AMD_PPR_ENTRY_SIZE);
	amd->late = iopf_calloc(a->ppr_log_entries, sizeof(*amd->late));
	amd->cmd_buf = iopf_calloc(AMD_CMD_ENTRIES, IOPF_AMD_CMD_SIZE);
	if (!amd->name || !amd->ppr_log || !amd->late || !amd->cmd_buf) {
		amd_release(amd);
		return -ENOMEM;
	}
	*out = amd;
	return 0;
}

static int amd_register(struct iopf_ctx *ctx, struct iopf_amd *amd,
			unsigned int nr_threads)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = amd_iommu_page_response,
	};
	struct iopf_queue_attr qattr = {
		.size = sizeof(qattr),
		.nr_workers = nr_threads,
	};
	char qname[64];
	int ret;

	ret = iopf_iommu_new(ctx, amd->name, &ops, amd, &amd->iommu);
	if (ret)
		return ret;
	snprintf(qname, sizeof(qname), "amdvi-%s", amd->name);
	ret = iopf_queue_alloc(ctx, qname, &qattr, &amd->iopf_queue);
	if (ret) {
		iopf_iommu_free(amd->iommu);
		return ret;
	}
	return 0;
}

/* amd_iommu_enable_ppr_log(), with the command buffer and the IOMMU on. */
static void amd_enable(struct iopf_amd *amd)
{
	uint64_t ctrl = IOPF_AMD_CONTROL_IOMMU_EN | IOPF_AMD_CONTROL_CMDBUF_EN |
			IOPF_AMD_CONTROL_PPR_EN;

	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_PPR_HEAD, 0);
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_PPR_TAIL, 0);
	ctrl |= IOPF_AMD_CONTROL_PPRINT_EN;
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
	ctrl |= IOPF_AMD_CONTROL_PPRLOG_EN;
	amd_hw_write_reg(amd, IOPF_AMD_MMIO_CONTROL, ctrl);
}

IOPF_EXPORT int iopf_amd_new(struct iopf_ctx *ctx,
			     const struct iopf_amd_attr *attr,
			     struct iopf_amd **out)
{
	struct iopf_amd_attr a;
	struct iopf_amd *amd;
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	ret = attr_read(attr, &a);
	if (ret)
		return ret;
	ret = amd_alloc(&a, &amd);
	if (ret)
		return ret;
	amd->ctx = ctx;
	ret = amd_register(ctx, amd, a.nr_threads);
	if (ret) {
		amd_release(amd);
		return ret;
	}
	amd_enable(amd);
	if (a.nr_threads) {
		ret = -pthread_create(&amd->ppr_thread, NULL, ppr_irq_thread,
				      amd);
		if (ret) {
			amd_destroy(amd);
			return ret;
		}
		amd->threads = true;
	}
	iopf_ctx_link(ctx, &amd->member, amd_ctx_destroy);
	*out = amd;
	return 0;
}

IOPF_EXPORT void iopf_amd_free(struct iopf_amd *amd)
{
	if (!amd)
		return;
	iopf_ctx_unlink(amd->ctx, &amd->member);
	amd_destroy(amd);
}

IOPF_EXPORT struct iopf_iommu *iopf_amd_iommu(struct iopf_amd *amd)
{
	return amd ? amd->iommu : NULL;
}

IOPF_EXPORT struct iopf_queue *iopf_amd_iopf_queue(struct iopf_amd *amd)
{
	return amd ? amd->iopf_queue : NULL;
}

static int dev_setup(struct iopf_amd *amd, struct amd_dev *d,
		     const struct iopf_amd_dev_attr *a)
{
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = a->devid,
		.max_pasids = a->max_pasids,
		.name = a->name,
		.drvdata = a->drvdata,
	};
	int ret;

	d->devid = a->devid;
	d->pri_tlp = a->prg_resp_pasid_required;
	ret = iopf_device_new(amd->iommu, &dattr, &d->dev);
	if (ret)
		return ret;
	/* amd_iommu_iopf_add_device(): only with PRI enabled */
	if (a->pri) {
		ret = iopf_queue_add_device(amd->iopf_queue, d->dev);
		if (ret) {
			iopf_device_free(d->dev);
			return ret;
		}
		d->ppr = true;
	}
	return 0;
}

/*
 * The core device is created and enabled before the table lock is taken:
 * page_response takes that lock under the core's fault-param lock, and the
 * core takes the fault-param lock under the queue lock.
 */
IOPF_EXPORT int iopf_amd_add_device(struct iopf_amd *amd,
				    const struct iopf_amd_dev_attr *attr,
				    struct iopf_device **out)
{
	struct iopf_amd_dev_attr a;
	struct amd_dev *d;
	int ret;

	if (!amd || !attr || !out || attr->size < DEV_ATTR_MIN_SIZE ||
	    attr->size > sizeof(a))
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	memcpy(&a, attr, attr->size);
	d = iopf_zalloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = dev_setup(amd, d, &a); /* -EEXIST: the core owns ID uniqueness */
	if (ret) {
		iopf_mfree(d);
		return ret;
	}
	pthread_mutex_lock(&amd->devs_lock);
	cds_list_add_tail(&d->node, &amd->devs);
	pthread_mutex_unlock(&amd->devs_lock);
	*out = d->dev;
	return 0;
}

IOPF_EXPORT int iopf_amd_pump(struct iopf_amd *amd)
{
	int steps = 0, n;

	if (!amd)
		return -EINVAL;
	do {
		n = amd_iommu_handle_ppr_irq(amd);
		n += (int)iopf_queue_run(amd->iopf_queue, SIZE_MAX);
		steps += n;
	} while (n);
	return steps;
}
