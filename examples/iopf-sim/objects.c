// SPDX-License-Identifier: MIT
/*
 * The named objects of a scenario. One namespace for all kinds, so a name
 * in a fault line (pasid=mm0) cannot be ambiguous.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char *const kind_names[SIM_KIND_MAX] = {
	[SIM_IOMMU] = "iommu",	   [SIM_QUEUE] = "queue",
	[SIM_DEVICE] = "device",   [SIM_DOMAIN] = "domain",
	[SIM_MM] = "mm",	   [SIM_BIND] = "bind",
	[SIM_CHANNEL] = "channel",
};

const char *sim_kind_name(enum sim_kind kind)
{
	return kind < SIM_KIND_MAX ? kind_names[kind] : "object";
}

struct sim_obj *sim_find(struct sim *sim, const char *name)
{
	for (struct sim_obj *o = sim->objs; o; o = o->next)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static bool valid_name(const char *name)
{
	if (!*name || strlen(name) > 24)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      *p == '.'))
			return false;
	return true;
}

/* A new object, added at the head: teardown walks newest first. */
struct sim_obj *sim_add(struct sim *sim, enum sim_kind kind, const char *name)
{
	struct sim_obj *o;

	if (!valid_name(name)) {
		sim_error(sim,
			  "'%s' is not a valid name (1-24 of [A-Za-z0-9_.-])",
			  name);
		return NULL;
	}
	if (sim_find(sim, name)) {
		sim_error(sim, "'%s' is already declared", name);
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o || !(o->name = strdup(name))) {
		free(o);
		sim_error(sim, "out of memory");
		return NULL;
	}
	o->kind = kind;
	o->next = sim->objs;
	sim->objs = o;
	return o;
}

struct sim_obj *sim_get(struct sim *sim, enum sim_kind kind, const char *name)
{
	struct sim_obj *o;

	if (!name)
		return NULL;
	o = sim_find(sim, name);
	if (!o) {
		sim_error(sim, "no %s named '%s'", sim_kind_name(kind), name);
		return NULL;
	}
	if (o->kind != kind) {
		sim_error(sim, "'%s' is a %s, not a %s", name,
			  sim_kind_name(o->kind), sim_kind_name(kind));
		return NULL;
	}
	if (o->dead) {
		sim_error(sim, "%s '%s' was freed", sim_kind_name(kind), name);
		return NULL;
	}
	return o;
}

/* Lets each command family drop what it keeps, newest object first. */
void sim_objs_release(struct sim *sim)
{
	for (struct sim_obj *o = sim->objs; o; o = o->next) {
		if (o->release)
			o->release(sim, o);
		o->release = NULL;
	}
}

void sim_objs_free(struct sim *sim)
{
	while (sim->objs) {
		struct sim_obj *o = sim->objs;

		sim->objs = o->next;
		free(o->name);
		free(o);
	}
}
