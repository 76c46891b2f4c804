// SPDX-License-Identifier: MIT
/*
 * Reading a channel: the kernel's iommufd_fault_fops_read. Whole groups
 * leave the head of the deliver list while they fit in the buffer; each gets
 * a cookie and waits in the cookie table for its answer.
 *
 * Lock order: see channel-priv.h.
 */
#include <errno.h>
#include <string.h>

#include "channel-priv.h"

#define IOPF_USER_FAULT_SIZE sizeof(struct iopf_user_fault)

_Static_assert(sizeof(struct iopf_user_fault) == 40,
	       "struct iopf_user_fault must match iommu_hwpt_pgfault");

/* The group at the head of the deliver list, or NULL. */
static struct iopf_group *iommufd_fault_deliver_head(struct iopf_channel *ch)
{
	struct iopf_group *group = NULL;

	pthread_mutex_lock(&ch->deliver_lock);
	if (!cds_list_empty(&ch->deliver))
		group = cds_list_entry(ch->deliver.next, struct iopf_group,
				       node);
	pthread_mutex_unlock(&ch->deliver_lock);
	return group;
}

/* One record per fault, partials first, all with the group's cookie. */
static void iommufd_fault_fill(const struct iopf_group *group, uint32_t cookie,
			       char *buf)
{
	uint32_t dev_id = iopf_device_id(iopf_group_device(group));
	size_t i, nr = iopf_group_fault_count(group);

	for (i = 0; i < nr; i++) {
		const struct iopf_fault *f = iopf_group_fault_at(group, i);
		struct iopf_user_fault rec = {
			.flags = f->prm.flags,
			.dev_id = dev_id,
			.pasid = f->prm.pasid,
			.grpid = f->prm.grpid,
			.perm = f->prm.perm,
			.addr = f->prm.addr,
			.length = 0,
			.cookie = cookie,
		};

		memcpy(buf + i * IOPF_USER_FAULT_SIZE, &rec, sizeof(rec));
	}
}

IOPF_EXPORT ssize_t iopf_channel_read(struct iopf_channel *ch, void *buf,
				      size_t count)
{
	struct iopf_group *group;
	size_t done = 0, need;
	uint32_t cookie;
	int ret = 0;

	if (!ch)
		return -EINVAL;
	if (count % IOPF_USER_FAULT_SIZE)
		return -ESPIPE;
	if (!count)
		return 0;
	if (!buf)
		return -EFAULT;

	pthread_mutex_lock(&ch->mutex);
	while ((group = iommufd_fault_deliver_head(ch))) {
		need = iopf_group_fault_count(group) * IOPF_USER_FAULT_SIZE;
		if (need > count - done)
			break; /* never split a group */
		ret = iopf_cookie_alloc(&ch->response, group, &cookie);
		if (ret)
			break; /* the group stays at the head */
		iommufd_fault_deliver_del(ch, group);
		group->cookie = cookie;
		iommufd_fault_fill(group, cookie, (char *)buf + done);
		iommufd_fault_trace(ch, IOPF_TRACE_USER_READ, group, -1,
				    cookie);
		done += need;
	}
	pthread_mutex_unlock(&ch->mutex);

	return done ? (ssize_t)done : ret;
}
