// SPDX-License-Identifier: MIT
/*
 * Commands of SVA (<iopf/sva.h>): address spaces, their mappings, and
 * binding them to devices.
 */
#include <errno.h>
#include <string.h>

#include <iopf/sva.h>

#include "sim.h"

static void mm_release(struct sim *sim, struct sim_obj *obj)
{
	(void)sim;
	if (!obj->dead)
		iopf_mm_put(obj->ptr); /* the process exits with the scenario */
	obj->dead = true;
}

/* mm NAME */
static int cmd_mm(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	struct iopf_mm *mm;
	struct sim_obj *o;
	int ret;

	if (!name || sim_done(sim, args) || !(o = sim_add(sim, SIM_MM, name)))
		return -1;
	ret = iopf_mm_new(sim->ctx, &mm);
	if (ret) {
		o->dead = true;
		return sim_result(sim, ret);
	}
	o->ptr = mm;
	o->release = mm_release;
	return sim_result(sim, 0);
}

static int prot_arg(struct sim *sim, const char *s, unsigned int *out)
{
	unsigned int prot = 0;

	if (!strcmp(s, "none")) {
		*out = 0;
		return 0;
	}
	for (const char *p = s; *p; p++) {
		if (*p == 'r')
			prot |= IOPF_PROT_READ;
		else if (*p == 'w')
			prot |= IOPF_PROT_WRITE;
		else if (*p == 'x')
			prot |= IOPF_PROT_EXEC;
		else
			return sim_error(
				sim, "prot: '%s' is not made of r, w, x", s);
	}
	*out = prot;
	return 0;
}

static int range_args(struct sim *sim, struct sim_args *args,
		      struct sim_obj **mm, uint64_t *start, uint64_t *len)
{
	*mm = sim_get(sim, SIM_MM, sim_pos(sim, args, 0, "mm"));
	if (!*mm)
		return -1;
	if (sim_u64(sim, sim_pos(sim, args, 1, "start"), "start", start) ||
	    sim_u64(sim, sim_pos(sim, args, 2, "length"), "length", len))
		return -1;
	return 0;
}

/* map MM START LENGTH PROT */
static int cmd_map(struct sim *sim, struct sim_args *args)
{
	const char *p;
	struct sim_obj *mm;
	uint64_t start, len;
	unsigned int prot = 0;

	if (range_args(sim, args, &mm, &start, &len))
		return -1;
	p = sim_pos(sim, args, 3, "prot");
	if (!p || prot_arg(sim, p, &prot) || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_mm_map(mm->ptr, start, len, prot));
}

/* unmap MM START LENGTH */
static int cmd_unmap(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *mm;
	uint64_t start, len;

	if (range_args(sim, args, &mm, &start, &len) || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_mm_unmap(mm->ptr, start, len));
}

/* mm_exit MM: the owner drops the mm (the process exits) */
static int cmd_mm_exit(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *mm = sim_get(sim, SIM_MM, sim_pos(sim, args, 0, "mm"));

	if (!mm || sim_done(sim, args))
		return -1;
	iopf_mm_put(mm->ptr);
	mm->dead = true;
	return sim_result(sim, 0);
}

/* bind NAME DEVICE MM */
static int cmd_bind(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	struct sim_obj *dev = name ? sim_get(sim, SIM_DEVICE,
					     sim_pos(sim, args, 1, "device")) :
				     NULL;
	struct sim_obj *mm =
		dev ? sim_get(sim, SIM_MM, sim_pos(sim, args, 2, "mm")) : NULL;
	struct iopf_sva *sva;
	struct sim_obj *o;
	int ret;

	if (!mm || sim_done(sim, args) || !(o = sim_add(sim, SIM_BIND, name)))
		return -1;
	ret = iopf_sva_bind_device(dev->ptr, mm->ptr, &sva);
	if (ret)
		o->dead = true;
	else
		o->ptr = sva;
	return sim_result(sim, ret);
}

/* unbind NAME */
static int cmd_unbind(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *b =
		sim_get(sim, SIM_BIND, sim_pos(sim, args, 0, "bind"));

	if (!b || sim_done(sim, args))
		return -1;
	iopf_sva_unbind_device(b->ptr);
	b->dead = true;
	return sim_result(sim, 0);
}

const struct sim_cmd sim_sva_cmds[] = {
	{ "mm", cmd_mm, false },       { "map", cmd_map, false },
	{ "unmap", cmd_unmap, false }, { "mm_exit", cmd_mm_exit, false },
	{ "bind", cmd_bind, false },   { "unbind", cmd_unbind, false },
	{ NULL, NULL, false },
};
