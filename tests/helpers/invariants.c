// SPDX-License-Identifier: MIT
/*
 * The response invariant checker (see invariants.h).
 *
 * Entries live in an open-addressing hash table keyed by (dev_id, tag),
 * under one mutex: the checker is fed from reporters, handlers, workers and
 * backends at once, and is read only at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <iopf/testing.h>

#include "invariants.h"

#define INV_MAX_PRINT 8

struct inv_entry {
	bool used;
	uint32_t dev_id;
	uint64_t tag;
	/* the report */
	bool reported;
	int ret;
	struct iopf_fault evt;
	/* the responses */
	uint32_t nr_responses;
	uint32_t first_code;
	bool resp_mismatch; /* msg pasid/grpid differ from the answered fault */
	struct iopf_page_response first_msg;
	/* groups */
	uint32_t delivered, freed;
};

struct inv {
	pthread_mutex_t lock;
	struct inv_entry *tab;
	size_t cap, used;
	uint64_t next_tag;
	size_t responses, untagged_responses;
};

int inv_new(struct inv **out)
{
	struct inv *inv;

	if (!out)
		return -EINVAL;
	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	inv->cap = 1024;
	inv->tab = calloc(inv->cap, sizeof(*inv->tab));
	if (!inv->tab) {
		free(inv);
		return -ENOMEM;
	}
	pthread_mutex_init(&inv->lock, NULL);
	*out = inv;
	return 0;
}

void inv_free(struct inv *inv)
{
	if (!inv)
		return;
	pthread_mutex_destroy(&inv->lock);
	free(inv->tab);
	free(inv);
}

uint64_t inv_next_tag(struct inv *inv)
{
	uint64_t tag;

	pthread_mutex_lock(&inv->lock);
	tag = ++inv->next_tag;
	pthread_mutex_unlock(&inv->lock);
	return tag;
}

void inv_tag(struct inv *inv, struct iopf_fault *evt)
{
	evt->prm.private_data[0] = inv_next_tag(inv);
}

uint64_t inv_fault_tag(const struct iopf_fault *evt)
{
	return evt->prm.private_data[0];
}

/* ---- the table ------------------------------------------------------------ */

static size_t slot_of(uint32_t dev_id, uint64_t tag, size_t cap)
{
	uint64_t h = (tag ^ ((uint64_t)dev_id << 40)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 17) & (cap - 1);
}

static struct inv_entry *probe(struct inv_entry *tab, size_t cap,
			       uint32_t dev_id, uint64_t tag)
{
	size_t i = slot_of(dev_id, tag, cap);

	while (tab[i].used && (tab[i].dev_id != dev_id || tab[i].tag != tag))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void rehash(struct inv *inv)
{
	size_t ncap = inv->cap * 2;
	struct inv_entry *ntab = calloc(ncap, sizeof(*ntab));

	if (!ntab)
		abort(); /* test helper: out of memory is fatal */
	for (size_t i = 0; i < inv->cap; i++) {
		if (inv->tab[i].used)
			*probe(ntab, ncap, inv->tab[i].dev_id,
			       inv->tab[i].tag) = inv->tab[i];
	}
	free(inv->tab);
	inv->tab = ntab;
	inv->cap = ncap;
}

/* The entry of (dev_id, tag), created if needed; with inv->lock held. */
static struct inv_entry *entry(struct inv *inv, uint32_t dev_id, uint64_t tag)
{
	struct inv_entry *e;

	if ((inv->used + 1) * 2 > inv->cap)
		rehash(inv);
	e = probe(inv->tab, inv->cap, dev_id, tag);
	if (!e->used) {
		e->used = true;
		e->dev_id = dev_id;
		e->tag = tag;
		inv->used++;
	}
	return e;
}

/* ---- events --------------------------------------------------------------- */

void inv_reported(struct inv *inv, uint32_t dev_id,
		  const struct iopf_fault *evt, int ret)
{
	struct inv_entry *e;

	pthread_mutex_lock(&inv->lock);
	e = entry(inv, dev_id, inv_fault_tag(evt));
	if (e->reported)
		e->ret =
			-EALREADY; /* the same tag reported twice: a test bug */
	else
		e->ret = ret;
	e->reported = true;
	e->evt = *evt;
	pthread_mutex_unlock(&inv->lock);
}

void inv_responded(struct inv *inv, uint32_t dev_id,
		   const struct iopf_fault *evt,
		   const struct iopf_page_response *msg)
{
	struct inv_entry *e;
	uint64_t tag = inv_fault_tag(evt);

	pthread_mutex_lock(&inv->lock);
	inv->responses++;
	if (!tag) {
		inv->untagged_responses++;
		pthread_mutex_unlock(&inv->lock);
		return;
	}
	e = entry(inv, dev_id, tag);
	if (!e->nr_responses++) {
		e->first_code = msg->code;
		e->first_msg = *msg;
	}
	if (msg->pasid != evt->prm.pasid || msg->grpid != evt->prm.grpid)
		e->resp_mismatch = true;
	pthread_mutex_unlock(&inv->lock);
}

void inv_feed_mock(struct inv *inv, struct iopf_mock *mock, size_t *cursor)
{
	struct iopf_mock_response r;

	while (!iopf_mock_response_at(mock, *cursor, &r)) {
		inv_responded(inv, r.dev_id, &r.evt, &r.msg);
		(*cursor)++;
	}
}

static struct inv_entry *group_entry(struct inv *inv,
				     const struct iopf_group *group)
{
	const struct iopf_fault *last = iopf_group_last_fault(group);
	uint32_t dev_id = iopf_device_id(iopf_group_device(group));

	return entry(inv, dev_id, inv_fault_tag(last));
}

void inv_group_delivered(struct inv *inv, const struct iopf_group *group)
{
	pthread_mutex_lock(&inv->lock);
	group_entry(inv, group)->delivered++;
	pthread_mutex_unlock(&inv->lock);
}

void inv_group_freed(struct inv *inv, const struct iopf_group *group)
{
	pthread_mutex_lock(&inv->lock);
	group_entry(inv, group)->freed++;
	pthread_mutex_unlock(&inv->lock);
}

/* ---- the rules ------------------------------------------------------------ */

static bool malformed(const struct iopf_fault *evt)
{
	if (evt->type != IOPF_FAULT_PAGE_REQ)
		return true;
	return (evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID) &&
	       evt->prm.pasid >= (1u << IOPF_PASID_BITS);
}

static bool is_last(const struct iopf_fault *evt)
{
	return evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
}

/*
 * How many responses the report of @e calls for; -1 when its return value
 * itself breaks the contract. *invalid is set when the one response must be
 * INVALID (the error path).
 */
static int expected_responses(const struct inv_entry *e, bool *invalid)
{
	*invalid = false;
	if (malformed(&e->evt))
		return e->ret == -EINVAL ? 0 : -1;
	switch (e->ret) {
	case 0:
		return is_last(&e->evt) ? 1 : 0;
	case -EINVAL:
		*invalid = true;
		return 1;
	case -ENOMEM:
		return is_last(&e->evt) ? -1 : 0;
	default:
		return -1;
	}
}

struct inv_report {
	FILE *out;
	size_t violations;
};

static void violation(struct inv_report *rep, const struct inv_entry *e,
		      const char *what)
{
	if (rep->out && rep->violations < INV_MAX_PRINT)
		fprintf(rep->out,
			"invariant: dev %#x tag %llu (flags %#x pasid %u grpid "
			"%u"
			" ret %d): %s; %u response(s), first code %u\n",
			e->dev_id, (unsigned long long)e->tag, e->evt.prm.flags,
			e->evt.prm.pasid, e->evt.prm.grpid, e->ret, what,
			e->nr_responses, e->first_code);
	rep->violations++;
}

static void check_entry(const struct inv_entry *e, unsigned int flags,
			struct inv_report *rep)
{
	bool invalid;
	int want;

	if (e->delivered > 1)
		violation(rep, e, "group delivered more than once");
	if (e->freed > 1)
		violation(rep, e, "group freed more than once");
	if (e->freed > e->delivered)
		violation(rep, e, "group freed but never delivered");
	if ((flags & INV_ALL_FREED) && e->delivered && !e->freed)
		violation(rep, e, "delivered group never freed");
	if (e->resp_mismatch)
		violation(rep, e, "response pasid/grpid differ from the fault");
	if (!e->reported) {
		if (e->nr_responses)
			violation(rep, e, "response to a fault never reported");
		if (e->delivered)
			violation(rep, e, "group of a fault never reported");
		return;
	}
	want = expected_responses(e, &invalid);
	if (want < 0) {
		violation(rep, e, "unexpected return value");
		return;
	}
	if (e->nr_responses != (uint32_t)want)
		violation(rep, e,
			  is_last(&e->evt) ?
				  "last-page request not answered once" :
				  "partial request answered");
	else if (want && invalid && e->first_code != IOPF_PAGE_RESP_INVALID)
		violation(rep, e, "error path answered with a code != INVALID");
	if (e->delivered && (e->ret || !is_last(&e->evt)))
		violation(rep, e,
			  "group delivered for a failed/partial report");
}

size_t inv_check(struct inv *inv, unsigned int flags, FILE *out)
{
	struct inv_report rep = { .out = out };

	pthread_mutex_lock(&inv->lock);
	for (size_t i = 0; i < inv->cap; i++) {
		if (inv->tab[i].used)
			check_entry(&inv->tab[i], flags, &rep);
	}
	if (inv->untagged_responses) {
		if (out)
			fprintf(out, "invariant: %zu untagged response(s)\n",
				inv->untagged_responses);
		rep.violations++;
	}
	pthread_mutex_unlock(&inv->lock);
	if (out && rep.violations > INV_MAX_PRINT)
		fprintf(out, "invariant: %zu violations in all\n",
			rep.violations);
	return rep.violations;
}

void inv_stats(struct inv *inv, struct inv_stats *out)
{
	bool invalid;
	int want;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&inv->lock);
	out->responses = inv->responses;
	for (size_t i = 0; i < inv->cap; i++) {
		const struct inv_entry *e = &inv->tab[i];

		if (!e->used)
			continue;
		out->delivered += e->delivered;
		out->freed += e->freed;
		if (!e->reported)
			continue;
		out->reported++;
		if (is_last(&e->evt))
			out->reported_last++;
		want = expected_responses(e, &invalid);
		if (want > 0)
			out->expected_responses += (size_t)want;
	}
	pthread_mutex_unlock(&inv->lock);
}

long inv_check_allocations(void)
{
	return iopf_testing_live_allocations();
}
