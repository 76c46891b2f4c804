// SPDX-License-Identifier: MIT
/*
 * Scripted fault handlers for "domain NAME TYPE handler=KIND":
 *   none     no handler: the domain is not fault-capable
 *   success  answer SUCCESS at once, free the group
 *   invalid  answer INVALID at once, free the group
 *   error    return -EIO: the core's abort path answers FAILURE
 *   hold     keep the group until "answer" or "drop"
 *   work     queue the answer (SUCCESS) on the fault queue, as SVA does
 * Handlers run on the reporting thread or on queue workers, so the held
 * list has a lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

struct sim_domain {
	pthread_mutex_t lock;
	struct iopf_group **held; /* oldest first */
	size_t nr, max;
};

static struct sim_domain *domain_of(struct iopf_group *group)
{
	struct iopf_attach_handle *h = iopf_group_attach_handle(group);

	return iopf_domain_priv(h->domain);
}

static int h_success(struct iopf_group *group)
{
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
	return 0;
}

static int h_invalid(struct iopf_group *group)
{
	iopf_group_response(group, IOPF_PAGE_RESP_INVALID);
	iopf_free_group(group);
	return 0;
}

static int h_error(struct iopf_group *group)
{
	(void)group;
	return -EIO;
}

static int h_hold(struct iopf_group *group)
{
	struct sim_domain *sd = domain_of(group);
	int ret = 0;

	pthread_mutex_lock(&sd->lock);
	if (sd->nr == sd->max) {
		size_t max = sd->max ? sd->max * 2 : 16;
		struct iopf_group **held =
			realloc(sd->held, max * sizeof(*held));

		if (!held) {
			ret = -ENOMEM; /* the core answers FAILURE */
			goto out;
		}
		sd->held = held;
		sd->max = max;
	}
	sd->held[sd->nr++] = group;
out:
	pthread_mutex_unlock(&sd->lock);
	return ret;
}

static void work_fn(struct iopf_group *group)
{
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
}

static int h_work(struct iopf_group *group)
{
	return iopf_queue_work(group, work_fn);
}

static const struct {
	const char *name;
	iopf_handler_t fn;
} kinds[] = {
	{ "none", NULL },	  { "success", h_success },
	{ "invalid", h_invalid }, { "error", h_error },
	{ "hold", h_hold },	  { "work", h_work },
};

/* Answers (or with @code < 0 only frees) up to @count held groups. */
static long finish_held(struct sim_domain *sd, long code, size_t count)
{
	size_t n;

	pthread_mutex_lock(&sd->lock);
	n = count < sd->nr ? count : sd->nr;
	for (size_t i = 0; i < n; i++) {
		if (code >= 0)
			iopf_group_response(sd->held[i],
					    (enum iopf_page_response_code)code);
		iopf_free_group(sd->held[i]);
	}
	if (n) {
		memmove(sd->held, sd->held + n,
			(sd->nr - n) * sizeof(*sd->held));
		sd->nr -= n;
	}
	pthread_mutex_unlock(&sd->lock);
	return (long)n;
}

static void release(struct sim *sim, struct sim_obj *obj)
{
	struct sim_domain *sd = obj->data;

	(void)sim;
	finish_held(sd, -1, SIZE_MAX);
	pthread_mutex_destroy(&sd->lock);
	free(sd->held);
	free(sd);
	obj->data = NULL;
}

int sim_handler_domain_new(struct sim *sim, struct sim_obj *obj,
			   enum iopf_domain_type type, const char *handler)
{
	struct sim_domain *sd;
	struct iopf_domain *dom;
	size_t i, n = sizeof(kinds) / sizeof(kinds[0]);
	int ret;

	for (i = 0; i < n; i++)
		if (!strcmp(kinds[i].name, handler))
			break;
	if (i == n)
		return sim_error(sim, "domain: unknown handler '%s'", handler);
	sd = calloc(1, sizeof(*sd));
	if (!sd || pthread_mutex_init(&sd->lock, NULL)) {
		free(sd);
		return sim_error(sim, "out of memory");
	}
	ret = iopf_domain_new(sim->ctx, type, kinds[i].fn, sd, &dom);
	if (ret) {
		pthread_mutex_destroy(&sd->lock);
		free(sd);
		obj->dead = true;
		return sim_result(sim, ret);
	}
	obj->ptr = dom;
	obj->data = sd;
	obj->release = release;
	return sim_result(sim, 0);
}

long sim_domain_held(struct sim_obj *obj)
{
	struct sim_domain *sd = obj->data;
	long n;

	if (obj->release != release)
		return -1;
	pthread_mutex_lock(&sd->lock);
	n = (long)sd->nr;
	pthread_mutex_unlock(&sd->lock);
	return n;
}

static struct sim_domain *held_domain(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o =
		sim_get(sim, SIM_DOMAIN, sim_pos(sim, args, 0, "domain"));

	if (!o)
		return NULL;
	if (o->release != release) {
		sim_error(sim, "%s: domain '%s' has no scripted handler",
			  args->argv[0], o->name);
		return NULL;
	}
	return o->data;
}

/* answer DOMAIN code=CODE [count=N]: answer and free held groups, oldest first */
static int cmd_answer(struct sim *sim, struct sim_args *args)
{
	struct sim_domain *sd = held_domain(sim, args);
	uint32_t code, count = UINT32_MAX;
	const char *c;

	if (!sd)
		return -1;
	c = sim_opt(args, "code");
	if (!c)
		return sim_error(sim, "answer: missing code=");
	if (sim_code(sim, c, &code) ||
	    sim_opt_u32(sim, args, "count", &count) || sim_done(sim, args))
		return -1;
	return sim_result(sim, finish_held(sd, code, count));
}

/* drop DOMAIN [count=N]: free held groups without answering them */
static int cmd_drop(struct sim *sim, struct sim_args *args)
{
	struct sim_domain *sd = held_domain(sim, args);
	uint32_t count = UINT32_MAX;

	if (!sd || sim_opt_u32(sim, args, "count", &count) ||
	    sim_done(sim, args))
		return -1;
	return sim_result(sim, finish_held(sd, -1, count));
}

const struct sim_cmd sim_handler_cmds[] = {
	{ "answer", cmd_answer, false },
	{ "drop", cmd_drop, false },
	{ NULL, NULL, false },
};
