// SPDX-License-Identifier: MIT
/*
 * The user fault channel: the kernel's iommufd fault object
 * (drivers/iommu/iommufd/eventq.c). This file holds the object, its
 * domains, the handler that queues groups on the deliver list, and the
 * automatic INVALID answers of detach, replace and teardown. Reading and
 * writing records are in fault-read.c and fault-write.c.
 *
 * Lock order: see channel-priv.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "channel-priv.h"

/*
 * The fd is an eventfd whose counter is 1 exactly while the deliver list is
 * non-empty: set on the first group, drained when the last one leaves.
 * Both happen under deliver_lock, so poll() never sees a stale state.
 */
static void iopf_channel_set_readable(struct iopf_channel *ch)
{
	eventfd_write(ch->efd, 1);
}

static void iopf_channel_clear_readable(struct iopf_channel *ch)
{
	eventfd_t val;

	eventfd_read(ch->efd, &val);
}

/**
 * iommufd_fault_iopf_handler() - the iopf handler of every channel domain
 * @group: the group
 *
 * Queues @group at the tail of the deliver list and makes the fd readable.
 * It always accepts the group, so the core's FAILURE path never runs for a
 * channel, as in the kernel.
 *
 * Context: the fault path, inside an RCU read-side section.
 * Return: 0.
 */
int iommufd_fault_iopf_handler(struct iopf_group *group)
{
	struct iopf_attach_handle *handle = iopf_group_attach_handle(group);
	struct iopf_channel *ch = iopf_domain_priv(handle->domain);

	pthread_mutex_lock(&ch->deliver_lock);
	if (cds_list_empty(&ch->deliver))
		iopf_channel_set_readable(ch);
	cds_list_add_tail(&group->node, &ch->deliver);
	pthread_mutex_unlock(&ch->deliver_lock);
	return 0;
}

/**
 * iommufd_fault_deliver_del() - take a group off the deliver list
 * @ch: the channel
 * @group: a group on @ch's deliver list
 *
 * Context: ch->mutex held (only holders of it remove groups, so a group
 * seen at the head stays there until they do).
 */
void iommufd_fault_deliver_del(struct iopf_channel *ch,
			       struct iopf_group *group)
{
	pthread_mutex_lock(&ch->deliver_lock);
	cds_list_del_init(&group->node);
	if (cds_list_empty(&ch->deliver))
		iopf_channel_clear_readable(ch);
	pthread_mutex_unlock(&ch->deliver_lock);
}

/**
 * iommufd_fault_trace() - emit USER_READ or USER_WRITE for a group
 * @ch: the channel
 * @type: IOPF_TRACE_USER_READ (channel to user) or IOPF_TRACE_USER_WRITE
 * @group: the group delivered or answered; its last fault is shown
 * @code: the response code written, or -1 for a read
 * @cookie: the group's cookie, carried in the event's ret field
 */
void iommufd_fault_trace(struct iopf_channel *ch, uint32_t type,
			 const struct iopf_group *group, int32_t code,
			 uint32_t cookie)
{
	const struct iopf_fault *f = iopf_group_last_fault(group);
	struct iopf_device *dev = iopf_group_device(group);
	bool read = type == IOPF_TRACE_USER_READ;
	struct iopf_trace_event ev = {
		.type = type,
		.from = read ? IOPF_LAYER_HANDLER : IOPF_LAYER_USER,
		.to = read ? IOPF_LAYER_USER : IOPF_LAYER_HANDLER,
		.iommu = iopf_iommu_name(iopf_device_iommu(dev)),
		.device = iopf_device_name(dev),
		.dev_id = iopf_device_id(dev),
		.pasid = IOPF_PASID_INVALID,
		.grpid = f->prm.grpid,
		.flags = f->prm.flags,
		.perm = f->prm.perm,
		.addr = f->prm.addr,
		.code = code,
		.ret = (int32_t)cookie,
		.count = (uint32_t)iopf_group_fault_count(group),
	};

	if (!iopf_trace_on(ch->ctx))
		return;
	if (f->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID)
		ev.pasid = f->prm.pasid;
	iopf_trace_emit(ch->ctx, &ev);
}

static void iopf_channel_answer(struct iopf_group *group)
{
	iopf_group_response_origin(group, IOPF_PAGE_RESP_INVALID,
				   IOPF_ORIGIN_CHANNEL);
	iopf_free_group(group);
}

/*
 * Answer INVALID and free every group of @handle (every group when @handle
 * is NULL): first the undelivered ones, then those read and not answered,
 * whose cookies are released so a later write of them is -EINVAL.
 */
static void iommufd_auto_response_faults(struct iopf_channel *ch,
					 struct iopf_attach_handle *handle)
{
	struct cds_list_head free_list, *pos, *n;
	struct iopf_cookie_table *t = &ch->response;
	struct iopf_group *group;
	size_t i;

	CDS_INIT_LIST_HEAD(&free_list);
	pthread_mutex_lock(&ch->mutex);

	pthread_mutex_lock(&ch->deliver_lock);
	cds_list_for_each_safe(pos, n, &ch->deliver) {
		group = cds_list_entry(pos, struct iopf_group, node);
		if (handle && iopf_group_attach_handle(group) != handle)
			continue;
		cds_list_del(&group->node);
		cds_list_add_tail(&group->node, &free_list);
	}
	if (cds_list_empty(&ch->deliver))
		iopf_channel_clear_readable(ch);
	pthread_mutex_unlock(&ch->deliver_lock);

	/* private now: answer in arrival order without deliver_lock */
	cds_list_for_each_safe(pos, n, &free_list) {
		group = cds_list_entry(pos, struct iopf_group, node);
		cds_list_del_init(&group->node);
		iopf_channel_answer(group);
	}

	for (i = 1; i < t->nr_slots; i++) {
		group = t->slot[i];
		if (!group ||
		    (handle && iopf_group_attach_handle(group) != handle))
			continue;
		iopf_cookie_erase(t, (uint32_t)i);
		iopf_channel_answer(group);
	}

	pthread_mutex_unlock(&ch->mutex);
}

static void iopf_channel_handle_detached(struct iopf_domain *domain,
					 struct iopf_attach_handle *handle)
{
	struct iopf_channel *ch = iopf_domain_priv(domain);

	if (handle)
		iommufd_auto_response_faults(ch, handle);
}

static void iopf_channel_domain_release(struct iopf_domain *domain)
{
	struct iopf_channel *ch = iopf_domain_priv(domain);

	atomic_fetch_sub(&ch->nr_domains, 1);
}

static const struct iopf_domain_ops iopf_channel_domain_ops = {
	.handle_detached = iopf_channel_handle_detached,
	.release = iopf_channel_domain_release,
};

IOPF_EXPORT int iopf_channel_domain_new(struct iopf_channel *ch,
					enum iopf_domain_type type,
					struct iopf_domain **out)
{
	struct iopf_domain *domain;
	int ret;

	if (!ch || !out)
		return -EINVAL;
	if (type != IOPF_DOMAIN_PAGING && type != IOPF_DOMAIN_NESTED)
		return -EINVAL;

	ret = iopf_domain_alloc_ops(ch->ctx, type, iommufd_fault_iopf_handler,
				    ch, &iopf_channel_domain_ops, &domain);
	if (ret)
		return ret;
	atomic_fetch_add(&ch->nr_domains, 1);
	*out = domain;
	return 0;
}

/* The kernel's iommufd_fault_destroy: answer everything, then free. */
static void iommufd_fault_destroy(struct iopf_channel *ch)
{
	iommufd_auto_response_faults(ch, NULL);
	iopf_cookie_table_release(&ch->response);
	close(ch->efd);
	pthread_mutex_destroy(&ch->deliver_lock);
	pthread_mutex_destroy(&ch->mutex);
	iopf_mfree(ch);
}

/* Context teardown: the channel's domains went before it (created later). */
static void iopf_channel_member_destroy(struct iopf_ctx_member *member)
{
	iommufd_fault_destroy(
		container_of(member, struct iopf_channel, member));
}

IOPF_EXPORT int iopf_channel_new(struct iopf_ctx *ctx,
				 struct iopf_channel **out)
{
	struct iopf_channel *ch;
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	ch = iopf_zalloc(sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		ret = -errno;
		iopf_mfree(ch);
		return ret;
	}
	ch->ctx = ctx;
	pthread_mutex_init(&ch->mutex, NULL);
	pthread_mutex_init(&ch->deliver_lock, NULL);
	CDS_INIT_LIST_HEAD(&ch->deliver);
	atomic_init(&ch->nr_domains, 0);
	iopf_ctx_link(ctx, &ch->member, iopf_channel_member_destroy);
	*out = ch;
	return 0;
}

IOPF_EXPORT int iopf_channel_free(struct iopf_channel *ch)
{
	if (!ch)
		return 0;
	if (atomic_load(&ch->nr_domains))
		return -EBUSY;
	iopf_ctx_unlink(ch->ctx, &ch->member);
	iommufd_fault_destroy(ch);
	return 0;
}

IOPF_EXPORT int iopf_channel_fd(const struct iopf_channel *ch)
{
	return ch ? ch->efd : -EINVAL;
}
