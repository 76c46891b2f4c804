// SPDX-License-Identifier: MIT
/*
 * The cookie table of a channel: the kernel's response xarray, allocating
 * the lowest free index from 1 (xa_alloc with XA_FLAGS_ALLOC1 and a 32-bit
 * limit), so the cookie of an answered group is given out again.
 *
 * A flat array indexed by cookie: the number of groups a program holds
 * unanswered is bounded by what devices have outstanding (a few hundred
 * page request groups per device), so a linear search from the lowest free
 * slot is cheap and keeps the allocation order obvious.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "channel-priv.h"

#define IOPF_COOKIE_MIN_SLOTS 16
/* cookies are 32-bit: slot UINT32_MAX is the last usable one */
#define IOPF_COOKIE_MAX_SLOTS ((size_t)UINT32_MAX + 1)

static int iopf_cookie_grow(struct iopf_cookie_table *t)
{
	size_t nr = t->nr_slots ? t->nr_slots * 2 : IOPF_COOKIE_MIN_SLOTS;
	struct iopf_group **slot;

	if (t->nr_slots >= IOPF_COOKIE_MAX_SLOTS)
		return -EBUSY; /* what xa_alloc says when the range is full */
	if (nr > IOPF_COOKIE_MAX_SLOTS)
		nr = IOPF_COOKIE_MAX_SLOTS;
	slot = iopf_calloc(nr, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	if (t->nr_slots)
		memcpy(slot, t->slot, t->nr_slots * sizeof(*slot));
	iopf_mfree(t->slot);
	t->slot = slot;
	t->nr_slots = nr;
	return 0;
}

/**
 * iopf_cookie_alloc() - give @group the lowest free cookie
 * @t: the table
 * @group: the group
 * @cookie: the cookie; untouched on failure
 *
 * Context: the channel's mutex held.
 * Return: 0, -ENOMEM, or -EBUSY when every 32-bit cookie is taken.
 */
int iopf_cookie_alloc(struct iopf_cookie_table *t, struct iopf_group *group,
		      uint32_t *cookie)
{
	size_t i = t->hint ? t->hint : 1;
	int ret;

	while (i < t->nr_slots && t->slot[i])
		i++;
	if (i >= t->nr_slots) {
		ret = iopf_cookie_grow(t);
		if (ret)
			return ret;
	}
	t->slot[i] = group;
	t->hint = i + 1;
	*cookie = (uint32_t)i;
	return 0;
}

/**
 * iopf_cookie_erase() - release a cookie
 * @t: the table
 * @cookie: the cookie
 *
 * Context: the channel's mutex held.
 * Return: the group the cookie was given to, or NULL if it is not in use.
 */
struct iopf_group *iopf_cookie_erase(struct iopf_cookie_table *t,
				     uint32_t cookie)
{
	struct iopf_group *group;

	if (cookie == 0 || cookie >= t->nr_slots)
		return NULL;
	group = t->slot[cookie];
	if (!group)
		return NULL;
	t->slot[cookie] = NULL;
	if (cookie < t->hint)
		t->hint = cookie;
	return group;
}

/* Free the table's memory; the caller has emptied it. */
void iopf_cookie_table_release(struct iopf_cookie_table *t)
{
	iopf_mfree(t->slot);
	t->slot = NULL;
	t->nr_slots = 0;
	t->hint = 0;
}
