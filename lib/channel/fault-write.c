// SPDX-License-Identifier: MIT
/*
 * Writing to a channel: the kernel's iommufd_fault_fops_write. Each record
 * answers the group of its cookie; the first bad record stops the write.
 *
 * Lock order: see channel-priv.h.
 */
#include <errno.h>
#include <string.h>

#include "channel-priv.h"

#define IOPF_USER_RESPONSE_SIZE sizeof(struct iopf_user_response)

_Static_assert(sizeof(struct iopf_user_response) == 8,
	       "struct iopf_user_response must match iommu_hwpt_page_response");

/* Answer one record; -EINVAL for a code user space may not send or a bad cookie. */
static int iommufd_fault_respond(struct iopf_channel *ch,
				 const struct iopf_user_response *resp)
{
	struct iopf_group *group;

	/* user space cannot send FAILURE: it would stop PRI for the function */
	if (resp->code != IOPF_PAGE_RESP_SUCCESS &&
	    resp->code != IOPF_PAGE_RESP_INVALID)
		return -EINVAL;
	group = iopf_cookie_erase(&ch->response, resp->cookie);
	if (!group)
		return -EINVAL;
	iommufd_fault_trace(ch, IOPF_TRACE_USER_WRITE, group,
			    (int32_t)resp->code, resp->cookie);
	iopf_group_response(group, (enum iopf_page_response_code)resp->code);
	iopf_free_group(group);
	return 0;
}

IOPF_EXPORT ssize_t iopf_channel_write(struct iopf_channel *ch, const void *buf,
				       size_t count)
{
	struct iopf_user_response resp;
	size_t done = 0;
	int ret = 0;

	if (!ch)
		return -EINVAL;
	if (count % IOPF_USER_RESPONSE_SIZE)
		return -ESPIPE;
	if (!count)
		return 0;
	if (!buf)
		return -EFAULT;

	pthread_mutex_lock(&ch->mutex);
	while (done < count) {
		memcpy(&resp, (const char *)buf + done, sizeof(resp));
		ret = iommufd_fault_respond(ch, &resp);
		if (ret)
			break;
		done += IOPF_USER_RESPONSE_SIZE;
	}
	pthread_mutex_unlock(&ch->mutex);

	return done ? (ssize_t)done : ret;
}
