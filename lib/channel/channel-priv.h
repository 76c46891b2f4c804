/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the user fault channel (the kernel's struct
 * iommufd_fault and its iommufd_eventq part).
 *
 * Lock order (outer first):
 *   ch->mutex         (read, write, auto-response; the cookie table)
 *   ch->deliver_lock  (the deliver list and the fd's readiness)
 *   fault_param->lock (taken by iopf_group_response/iopf_free_group)
 * The handler takes only ch->deliver_lock, so it never waits for a reader.
 */
#ifndef IOPF_CHANNEL_PRIV_H
#define IOPF_CHANNEL_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <iopf/channel.h>

#include "iommu-priv.h"

/*
 * Groups read and not yet answered, by cookie (the kernel's response
 * xarray with XA_FLAGS_ALLOC1): slot[c] holds the group of cookie c, slot[0]
 * is never used, and a new cookie is the lowest free number from 1.
 */
struct iopf_cookie_table {
	struct iopf_group **slot;
	size_t nr_slots; /* allocated entries, slot[0] included */
	size_t hint; /* no free cookie below it */
};

struct iopf_channel {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	pthread_mutex_t mutex; /* fault->mutex */
	struct iopf_cookie_table response;
	pthread_mutex_t deliver_lock; /* eventq->lock */
	struct cds_list_head deliver; /* groups not read yet (group->node) */
	int efd; /* readable while deliver is non-empty */
	atomic_uint nr_domains; /* channel domains not yet freed */
};

/* cookie.c, with ch->mutex held */
int iopf_cookie_alloc(struct iopf_cookie_table *t, struct iopf_group *group,
		      uint32_t *cookie);
struct iopf_group *iopf_cookie_erase(struct iopf_cookie_table *t,
				     uint32_t cookie);
void iopf_cookie_table_release(struct iopf_cookie_table *t);

/* fault.c */
int iommufd_fault_iopf_handler(struct iopf_group *group);
void iommufd_fault_deliver_del(struct iopf_channel *ch,
			       struct iopf_group *group);
void iommufd_fault_trace(struct iopf_channel *ch, uint32_t type,
			 const struct iopf_group *group, int32_t code,
			 uint32_t cookie);

#endif /* IOPF_CHANNEL_PRIV_H */
