// SPDX-License-Identifier: MIT
/*
 * The SMMUv3 object: configuration, the stream table (masters), the driver
 * threads and teardown.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <iopf/iopf.h>

#include "smmuv3-priv.h"

#define ATTR_MIN_SIZE \
	offsetof(struct iopf_smmuv3_attr, endpoint_priv) + sizeof(void *)
#define MASTER_ATTR_MIN_SIZE \
	offsetof(struct iopf_smmuv3_master_attr, drvdata) + sizeof(void *)

struct smmu_master *smmu_find_master_locked(struct iopf_smmuv3 *smmu,
					    uint32_t sid)
{
	struct smmu_master *master;

	cds_list_for_each_entry(master, &smmu->masters, node)
		if (sid >= master->sid && sid - master->sid < master->nr_sids)
			return master;
	return NULL;
}

/*
 * arm_smmu_sva_set_dev_pasid() -> arm_smmu_enable_iopf(): a stall master
 * with several StreamIDs cannot take faults ("we're not keeping track of
 * SIDs in fault events"), so an SVA attach to it fails.
 */
int arm_smmu_set_dev_pasid(struct iopf_device *dev, uint32_t pasid,
			   struct iopf_domain *domain)
{
	struct iopf_smmuv3 *smmu = iopf_iommu_drvdata(iopf_device_iommu(dev));
	struct smmu_master *master;
	int ret = 0;

	(void)pasid;
	if (iopf_domain_type(domain) != IOPF_DOMAIN_SVA)
		return 0;
	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, iopf_device_id(dev));
	if (master && master->stall_enabled && master->nr_sids != 1)
		ret = -EOPNOTSUPP;
	pthread_mutex_unlock(&smmu->masters_lock);
	return ret;
}

static void *evtq_irq_thread(void *arg)
{
	struct iopf_smmuv3 *smmu = arg;

	for (;;) {
		pthread_mutex_lock(&smmu->hw_lock);
		while (!smmu->evtq_irq && !smmu->stopping)
			pthread_cond_wait(&smmu->irq_cond, &smmu->hw_lock);
		smmu->evtq_irq = false;
		if (smmu->stopping) {
			pthread_mutex_unlock(&smmu->hw_lock);
			return NULL;
		}
		pthread_mutex_unlock(&smmu->hw_lock);
		arm_smmu_evtq_thread(smmu);
	}
}

static void *priq_irq_thread(void *arg)
{
	struct iopf_smmuv3 *smmu = arg;

	for (;;) {
		pthread_mutex_lock(&smmu->hw_lock);
		while (!smmu->priq_irq && !smmu->stopping)
			pthread_cond_wait(&smmu->irq_cond, &smmu->hw_lock);
		smmu->priq_irq = false;
		if (smmu->stopping) {
			pthread_mutex_unlock(&smmu->hw_lock);
			return NULL;
		}
		pthread_mutex_unlock(&smmu->hw_lock);
		arm_smmu_priq_thread(smmu);
	}
}

static int start_threads(struct iopf_smmuv3 *smmu)
{
	int ret;

	ret = pthread_create(&smmu->evtq_thread, NULL, evtq_irq_thread, smmu);
	if (ret)
		return -ret;
	ret = pthread_create(&smmu->priq_thread, NULL, priq_irq_thread, smmu);
	if (ret) {
		pthread_mutex_lock(&smmu->hw_lock);
		smmu->stopping = true;
		pthread_cond_broadcast(&smmu->irq_cond);
		pthread_mutex_unlock(&smmu->hw_lock);
		pthread_join(smmu->evtq_thread, NULL);
		smmu->stopping = false;
		return -ret;
	}
	smmu->threads = true;
	return 0;
}

static void stop_threads(struct iopf_smmuv3 *smmu)
{
	if (!smmu->threads)
		return;
	pthread_mutex_lock(&smmu->hw_lock);
	smmu->stopping = true;
	pthread_cond_broadcast(&smmu->irq_cond);
	pthread_mutex_unlock(&smmu->hw_lock);
	pthread_join(smmu->evtq_thread, NULL);
	pthread_join(smmu->priq_thread, NULL);
	smmu->threads = false;
}

static void free_masters(struct iopf_smmuv3 *smmu)
{
	struct smmu_master *master, *tmp;

	cds_list_for_each_entry_safe(master, tmp, &smmu->masters, node) {
		cds_list_del(&master->node);
		iopf_mfree(master);
	}
}

static void smmu_release(struct iopf_smmuv3 *smmu)
{
	smmu_hwq_destroy(&smmu->evtq);
	smmu_hwq_destroy(&smmu->priq);
	smmu_hwq_destroy(&smmu->cmdq);
	iopf_mfree(smmu->stags);
	pthread_mutex_destroy(&smmu->hw_lock);
	pthread_mutex_destroy(&smmu->masters_lock);
	iopf_pci_port_table_destroy(&smmu->ports);
	pthread_mutex_destroy(&smmu->cmdq_mutex);
	pthread_mutex_destroy(&smmu->evtq_mutex);
	pthread_mutex_destroy(&smmu->priq_mutex);
	pthread_cond_destroy(&smmu->irq_cond);
	iopf_mfree(smmu->name);
	iopf_mfree(smmu);
}

/*
 * Teardown: the threads stop, the devices go (their pending groups are
 * answered, which issues RESUMEs), the fault queue goes, then SMMUEN = 0
 * terminates whatever is still stalled.
 */
static void smmu_destroy(struct iopf_smmuv3 *smmu)
{
	stop_threads(smmu);
	smmu_ports_release(smmu);
	iopf_iommu_free(smmu->iommu);
	iopf_queue_free(smmu->iopf_queue);
	smmu_stall_abort_all(smmu);
	free_masters(smmu);
	smmu_release(smmu);
}

static void smmu_ctx_destroy(struct iopf_ctx_member *member)
{
	smmu_destroy(container_of(member, struct iopf_smmuv3, member));
}

static int attr_read(const struct iopf_smmuv3_attr *attr,
		     struct iopf_smmuv3_attr *a)
{
	memset(a, 0, sizeof(*a));
	if (attr) {
		if (attr->size < ATTR_MIN_SIZE || attr->size > sizeof(*a))
			return -EINVAL;
		memcpy(a, attr, attr->size);
	}
	if (!a->evtq_log2size)
		a->evtq_log2size = SMMU_Q_DEFAULT_LOG2;
	if (!a->priq_log2size)
		a->priq_log2size = SMMU_Q_DEFAULT_LOG2;
	if (!a->cmdq_log2size)
		a->cmdq_log2size = SMMU_CMDQ_DEFAULT_LOG2;
	if (!a->nr_stags)
		a->nr_stags = SMMU_DEFAULT_STAGS;
	if (a->evtq_log2size > SMMU_Q_MAX_LOG2 ||
	    a->priq_log2size > SMMU_Q_MAX_LOG2 ||
	    a->cmdq_log2size > SMMU_Q_MAX_LOG2 ||
	    a->nr_stags > SMMU_MAX_STAGS ||
	    a->stall_model > IOPF_SMMUV3_STALL_MODEL_FORCED)
		return -EINVAL;
	return 0;
}

static int smmu_alloc(const struct iopf_smmuv3_attr *a,
		      struct iopf_smmuv3 **out)
{
	struct iopf_smmuv3 *smmu = iopf_zalloc(sizeof(*smmu));

	if (!smmu)
		return -ENOMEM;
	pthread_mutex_init(&smmu->hw_lock, NULL);
	pthread_mutex_init(&smmu->masters_lock, NULL);
	iopf_pci_port_table_init(&smmu->ports);
	pthread_mutex_init(&smmu->cmdq_mutex, NULL);
	pthread_mutex_init(&smmu->evtq_mutex, NULL);
	pthread_mutex_init(&smmu->priq_mutex, NULL);
	pthread_cond_init(&smmu->irq_cond, NULL);
	CDS_INIT_LIST_HEAD(&smmu->stall_wait);
	CDS_INIT_LIST_HEAD(&smmu->txns);
	CDS_INIT_LIST_HEAD(&smmu->masters);
	smmu->stall_model = a->stall_model;
	smmu->term_model = a->term_model;
	smmu->pri = !a->no_pri;
	smmu->pps = a->pps;
	smmu->nr_stags = a->nr_stags;
	smmu->prg_response = a->prg_response;
	smmu->endpoint_priv = a->endpoint_priv;
	smmu->name = iopf_strdup(a->name ? a->name : "smmuv3");
	smmu->stags = iopf_calloc(a->nr_stags, sizeof(*smmu->stags));
	if (!smmu->name || !smmu->stags ||
	    smmu_hwq_init(&smmu->evtq, a->evtq_log2size,
			  IOPF_SMMUV3_EVT_SIZE) ||
	    smmu_hwq_init(&smmu->priq, a->priq_log2size,
			  IOPF_SMMUV3_PRIQ_SIZE) ||
	    smmu_hwq_init(&smmu->cmdq, a->cmdq_log2size,
			  IOPF_SMMUV3_CMD_SIZE)) {
		smmu_release(smmu);
		return -ENOMEM;
	}
	*out = smmu;
	return 0;
}

static int smmu_register(struct iopf_ctx *ctx, struct iopf_smmuv3 *smmu,
			 unsigned int nr_threads)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = arm_smmu_page_response,
		.set_dev_pasid = arm_smmu_set_dev_pasid,
	};
	struct iopf_queue_attr qattr = {
		.size = sizeof(qattr),
		.nr_workers = nr_threads,
	};
	int ret;

	ret = iopf_iommu_new(ctx, smmu->name, &ops, smmu, &smmu->iommu);
	if (ret)
		return ret;
	ret = iopf_queue_alloc(ctx, smmu->name, &qattr, &smmu->iopf_queue);
	if (ret) {
		iopf_iommu_free(smmu->iommu);
		return ret;
	}
	return 0;
}

IOPF_EXPORT int iopf_smmuv3_new(struct iopf_ctx *ctx,
				const struct iopf_smmuv3_attr *attr,
				struct iopf_smmuv3 **out)
{
	struct iopf_smmuv3_attr a;
	struct iopf_smmuv3 *smmu;
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	ret = attr_read(attr, &a);
	if (ret)
		return ret;
	ret = smmu_alloc(&a, &smmu);
	if (ret)
		return ret;
	smmu->ctx = ctx;
	ret = smmu_register(ctx, smmu, a.nr_threads);
	if (ret) {
		smmu_release(smmu);
		return ret;
	}
	/* The driver's device reset: enable the queues, then the SMMU. */
	smmu_hw_write_reg(smmu, IOPF_SMMUV3_CR0,
			  IOPF_SMMUV3_CR0_SMMUEN | IOPF_SMMUV3_CR0_EVTQEN |
				  IOPF_SMMUV3_CR0_CMDQEN |
				  IOPF_SMMUV3_CR0_PRIQEN);
	if (a.nr_threads) {
		ret = start_threads(smmu);
		if (ret) {
			smmu_destroy(smmu);
			return ret;
		}
	}
	iopf_ctx_link(ctx, &smmu->member, smmu_ctx_destroy);
	*out = smmu;
	return 0;
}

IOPF_EXPORT void iopf_smmuv3_free(struct iopf_smmuv3 *smmu)
{
	if (!smmu)
		return;
	iopf_ctx_unlink(smmu->ctx, &smmu->member);
	smmu_destroy(smmu);
}

IOPF_EXPORT struct iopf_iommu *iopf_smmuv3_iommu(struct iopf_smmuv3 *smmu)
{
	return smmu ? smmu->iommu : NULL;
}

IOPF_EXPORT struct iopf_queue *iopf_smmuv3_iopf_queue(struct iopf_smmuv3 *smmu)
{
	return smmu ? smmu->iopf_queue : NULL;
}

static bool sids_overlap_locked(struct iopf_smmuv3 *smmu, uint32_t sid,
				uint32_t nr)
{
	struct smmu_master *m;

	cds_list_for_each_entry(m, &smmu->masters, node)
		if (sid < m->sid + m->nr_sids && m->sid < sid + nr)
			return true;
	return false;
}

static int master_read_attr(const struct iopf_smmuv3_master_attr *attr,
			    struct iopf_smmuv3_master_attr *a)
{
	memset(a, 0, sizeof(*a));
	if (attr->size < MASTER_ATTR_MIN_SIZE || attr->size > sizeof(*a))
		return -EINVAL;
	memcpy(a, attr, attr->size);
	if (!a->nr_sids)
		a->nr_sids = 1;
	if (a->sid + (uint64_t)a->nr_sids > (1ull << 32))
		return -EINVAL;
	return 0;
}

/*
 * arm_smmu_probe_device(): stall_enabled for a "dma-can-stall" master on an
 * SMMU with stalls, or for every master when stalls are forced.
 */
static void master_init(struct iopf_smmuv3 *smmu, struct smmu_master *master,
			const struct iopf_smmuv3_master_attr *a)
{
	master->sid = a->sid;
	master->nr_sids = a->nr_sids;
	master->ppar = a->ppar;
	master->stall_enabled =
		smmu->stall_model == IOPF_SMMUV3_STALL_MODEL_FORCED ||
		(smmu->stall_model == IOPF_SMMUV3_STALL_MODEL_STALL &&
		 a->stall);
	master->stall = master->stall_enabled;
	master->removing = true; /* no transactions until it is set up */
}

/* The core device; IOPF for a stall master with a single StreamID. */
static int master_device_new(struct iopf_smmuv3 *smmu,
			     const struct smmu_master *master,
			     const struct iopf_smmuv3_master_attr *a,
			     struct iopf_device **dev, bool *iopf)
{
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = a->sid,
		.max_pasids = a->max_pasids,
		.name = a->name,
		.drvdata = a->drvdata,
	};
	int ret;

	*iopf = false;
	ret = iopf_device_new(smmu->iommu, &dattr, dev);
	if (ret)
		return ret;
	if (master->stall_enabled && master->nr_sids == 1) {
		ret = iopf_queue_add_device(smmu->iopf_queue, *dev);
		if (ret) {
			iopf_device_free(*dev);
			return ret;
		}
		*iopf = true;
	}
	return 0;
}

/*
 * The StreamIDs are reserved under masters_lock, the core device is created
 * outside it: page_response takes masters_lock under the core's fault-param
 * lock, and the core takes the fault-param lock under the queue lock.
 */
IOPF_EXPORT int
iopf_smmuv3_add_master(struct iopf_smmuv3 *smmu,
		       const struct iopf_smmuv3_master_attr *attr,
		       struct iopf_device **out)
{
	struct iopf_smmuv3_master_attr a;
	struct smmu_master *master;
	struct iopf_device *dev;
	bool iopf;
	int ret;

	if (!smmu || !attr || !out || master_read_attr(attr, &a))
		return -EINVAL;
	master = iopf_zalloc(sizeof(*master));
	if (!master)
		return -ENOMEM;
	master_init(smmu, master, &a);
	pthread_mutex_lock(&smmu->masters_lock);
	if (sids_overlap_locked(smmu, a.sid, a.nr_sids)) {
		pthread_mutex_unlock(&smmu->masters_lock);
		iopf_mfree(master);
		return -EEXIST;
	}
	cds_list_add_tail(&master->node, &smmu->masters);
	pthread_mutex_unlock(&smmu->masters_lock);

	ret = master_device_new(smmu, master, &a, &dev, &iopf);
	pthread_mutex_lock(&smmu->masters_lock);
	if (ret) {
		cds_list_del(&master->node);
	} else {
		master->dev = dev;
		master->iopf_enabled = iopf;
		master->removing = false;
	}
	pthread_mutex_unlock(&smmu->masters_lock);
	if (ret) {
		iopf_mfree(master);
		return ret;
	}
	*out = dev;
	return 0;
}

/* Spec §4.7.2: abort new transactions, STALL_TERM, SYNC, drop the device. */
IOPF_EXPORT int iopf_smmuv3_remove_master(struct iopf_smmuv3 *smmu,
					  uint32_t sid)
{
	struct iopf_smmuv3_cmd cmd = { .opcode = IOPF_SMMUV3_CMD_STALL_TERM };
	struct smmu_master *master;

	if (!smmu)
		return -EINVAL;
	pthread_mutex_lock(&smmu->masters_lock);
	master = smmu_find_master_locked(smmu, sid);
	if (!master || master->sid != sid || master->removing) {
		pthread_mutex_unlock(&smmu->masters_lock);
		return -ENOENT;
	}
	master->removing = true; /* STE.Config = abort */
	pthread_mutex_unlock(&smmu->masters_lock);

	if (smmu->stall_model != IOPF_SMMUV3_STALL_MODEL_TERM) {
		for (uint32_t i = 0; i < master->nr_sids; i++) {
			cmd.sid = master->sid + i;
			arm_smmu_cmdq_issue_cmd(smmu, &cmd);
		}
	}
	cmd = (struct iopf_smmuv3_cmd){ .opcode = IOPF_SMMUV3_CMD_SYNC };
	arm_smmu_cmdq_issue_cmd(smmu, &cmd);
	iopf_device_free(master->dev);

	pthread_mutex_lock(&smmu->masters_lock);
	cds_list_del(&master->node);
	pthread_mutex_unlock(&smmu->masters_lock);
	iopf_mfree(master);
	return 0;
}
