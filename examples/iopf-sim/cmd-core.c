// SPDX-License-Identifier: MIT
/*
 * Commands of the core API: IOMMUs, queues, devices, domains, attach and
 * detach, faults, and driving the queues (pump, flush, discard, remove).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "sim.h"

#ifdef IOPF_SIM_SVA
#include <iopf/sva.h>
#endif

/* An attach handle the scenario created; freed after the context. */
struct sim_attach {
	struct iopf_attach_handle handle;
	struct sim_attach *next;
};

int sim_result(struct sim *sim, long ret)
{
	sim->last_ret = ret;
	sim->ret_cmd = sim->cmd;
	sim->ret_unchecked = ret < 0;
	sim->ret_line = sim->line;
	return 0;
}

void sim_attaches_free(struct sim *sim)
{
	while (sim->attaches) {
		struct sim_attach *a = sim->attaches;

		sim->attaches = a->next;
		free(a);
	}
}

/* A PASID: a number, or the PASID of a named mm or SVA bind. */
int sim_pasid_arg(struct sim *sim, const char *s, uint32_t *out)
{
	struct sim_obj *o = sim_find(sim, s);

	if (!o)
		return sim_u32(sim, s, "pasid", out);
#ifdef IOPF_SIM_SVA
	if (o->kind == SIM_MM && !o->dead) {
		*out = iopf_mm_pasid(o->ptr);
		return 0;
	}
	if (o->kind == SIM_BIND && !o->dead) {
		*out = iopf_sva_get_pasid(o->ptr);
		return 0;
	}
#endif
	return sim_error(sim, "pasid: '%s' is a %s%s, not an mm or a bind", s,
			 o->dead ? "freed " : "", sim_kind_name(o->kind));
}

static const struct sim_backend *find_backend(const char *name)
{
	for (size_t i = 0; sim_backends[i]; i++)
		if (!strcmp(sim_backends[i]->name, name))
			return sim_backends[i];
	return NULL;
}

/* The fault queue a hardware model owns, as the queue "IOMMU-iopfq". */
static int declare_queue(struct sim *sim, struct sim_obj *iommu,
			 struct iopf_queue *queue)
{
	char name[64];
	struct sim_obj *o;

	snprintf(name, sizeof(name), "%s-iopfq", iommu->name);
	o = sim_add(sim, SIM_QUEUE, name);
	if (!o)
		return -1;
	o->ptr = queue;
	return 0;
}

/* iommu NAME BACKEND [queue=QUEUE] [backend options] */
static int cmd_iommu(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	const char *bname = name ? sim_pos(sim, args, 1, "backend") : NULL;
	const struct sim_backend *b;
	struct sim_obj *q = NULL, *o;
	const char *qname;
	int ret;

	if (!bname)
		return -1;
	b = find_backend(bname);
	if (!b)
		return sim_error(sim, "iommu: unknown backend '%s'", bname);
	qname = sim_opt(args, "queue");
	if (qname && !(q = sim_get(sim, SIM_QUEUE, qname)))
		return -1;
	o = sim_add(sim, SIM_IOMMU, name);
	if (!o)
		return -1;
	o->data = (void *)b;
	ret = b->create(sim, o, args);
	if (ret > 0 || sim_done(sim, args))
		return -1;
	if (ret < 0) {
		o->dead = true;
		return sim_result(sim, ret);
	}
	if (b->queue && declare_queue(sim, o, b->queue(o)))
		return -1;
	if (q)
		return sim_result(sim,
				  iopf_iommu_set_queue(b->iommu(o), q->ptr));
	return sim_result(sim, 0);
}

/* queue NAME [workers=N] */
static int cmd_queue(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	struct iopf_queue_attr attr = { .size = sizeof(attr),
					.nr_workers = sim->threads };
	struct iopf_queue *q;
	struct sim_obj *o;
	int ret;

	if (!name || sim_opt_u32(sim, args, "workers", &attr.nr_workers) ||
	    sim_done(sim, args))
		return -1;
	o = sim_add(sim, SIM_QUEUE, name);
	if (!o)
		return -1;
	ret = iopf_queue_alloc(sim->ctx, name, &attr, &q);
	if (ret)
		o->dead = true;
	else
		o->ptr = q;
	return sim_result(sim, ret);
}

/* device NAME IOMMU id=N [pasids=N] [backend options] */
static int cmd_device(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	struct sim_obj *io =
		name ? sim_get(sim, SIM_IOMMU, sim_pos(sim, args, 1, "iommu")) :
		       NULL;
	struct iopf_device_attr attr = { .size = sizeof(attr), .name = name };
	const struct sim_backend *b;
	struct iopf_device *dev;
	const char *id;
	struct sim_obj *o;
	int ret;

	if (!io)
		return -1;
	b = io->data;
	id = sim_opt(args, "id");
	if (!id)
		return sim_error(sim, "device: missing id=");
	if (sim_u32(sim, id, "id", &attr.id) ||
	    sim_opt_u32(sim, args, "pasids", &attr.max_pasids))
		return -1;
	o = sim_add(sim, SIM_DEVICE, name);
	if (!o)
		return -1;
	if (b->device_new)
		ret = b->device_new(sim, io, o, &attr, args, &dev);
	else
		ret = iopf_device_new(b->iommu(io), &attr, &dev);
	if (ret > 0 || sim_done(sim, args))
		return -1;
	if (ret)
		o->dead = true;
	else
		o->ptr = dev;
	return sim_result(sim, ret);
}

/* enable QUEUE DEVICE | disable QUEUE DEVICE */
static int queue_dev(struct sim *sim, struct sim_args *args, struct sim_obj **q,
		     struct sim_obj **d)
{
	*q = sim_get(sim, SIM_QUEUE, sim_pos(sim, args, 0, "queue"));
	*d = *q ? sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 1, "device")) :
		  NULL;
	return *d && !sim_done(sim, args) ? 0 : -1;
}

static int cmd_enable(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *q, *d;

	if (queue_dev(sim, args, &q, &d))
		return -1;
	return sim_result(sim, iopf_queue_add_device(q->ptr, d->ptr));
}

static int cmd_disable(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *q, *d;

	if (queue_dev(sim, args, &q, &d))
		return -1;
	iopf_queue_remove_device(q->ptr, d->ptr);
	return sim_result(sim, 0);
}

static const struct {
	const char *name;
	enum iopf_domain_type type;
} domain_types[] = {
	{ "blocked", IOPF_DOMAIN_BLOCKED },
	{ "identity", IOPF_DOMAIN_IDENTITY },
	{ "paging", IOPF_DOMAIN_PAGING },
	{ "nested", IOPF_DOMAIN_NESTED },
	{ "sva", IOPF_DOMAIN_SVA },
};

int sim_domain_type(struct sim *sim, const char *s, enum iopf_domain_type *out)
{
	for (size_t i = 0; i < sizeof(domain_types) / sizeof(domain_types[0]);
	     i++) {
		if (!strcmp(s, domain_types[i].name)) {
			*out = domain_types[i].type;
			return 0;
		}
	}
	return sim_error(sim, "unknown domain type '%s'", s);
}

/* domain NAME TYPE [handler=none|success|invalid|error|hold|work] */
static int cmd_domain(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	const char *tname = name ? sim_pos(sim, args, 1, "type") : NULL;
	const char *hname;
	enum iopf_domain_type type = IOPF_DOMAIN_PAGING;
	struct sim_obj *o;

	if (!tname || sim_domain_type(sim, tname, &type))
		return -1;
	hname = sim_opt(args, "handler");
	if (sim_done(sim, args))
		return -1;
	o = sim_add(sim, SIM_DOMAIN, name);
	if (!o)
		return -1;
	return sim_handler_domain_new(sim, o, type, hname ? hname : "none");
}

/* domain_free DOMAIN */
static int cmd_domain_free(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o =
		sim_get(sim, SIM_DOMAIN, sim_pos(sim, args, 0, "domain"));
	int ret;

	if (!o || sim_done(sim, args))
		return -1;
	ret = iopf_domain_free(o->ptr);
	if (!ret) {
		if (o->release)
			o->release(sim, o);
		o->release = NULL;
		o->dead = true;
	}
	return sim_result(sim, ret);
}

/* The DOMAIN DEVICE [pasid=P] part of attach, replace and detach. */
static int attach_args(struct sim *sim, struct sim_args *args,
		       struct sim_obj **dom, struct sim_obj **dev,
		       uint32_t *pasid, bool *has_pasid)
{
	const char *p;

	*dom = sim_get(sim, SIM_DOMAIN, sim_pos(sim, args, 0, "domain"));
	*dev = *dom ? sim_get(sim, SIM_DEVICE,
			      sim_pos(sim, args, 1, "device")) :
		      NULL;
	if (!*dev)
		return -1;
	p = sim_opt(args, "pasid");
	*has_pasid = p != NULL;
	*pasid = IOPF_NO_PASID;
	return p ? sim_pasid_arg(sim, p, pasid) : 0;
}

static struct iopf_attach_handle *new_handle(struct sim *sim)
{
	struct sim_attach *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->next = sim->attaches;
	sim->attaches = a;
	return &a->handle;
}

/* attach DOMAIN DEVICE [pasid=P] [bare] */
static int cmd_attach(struct sim *sim, struct sim_args *args)
{
	struct iopf_attach_handle *h = NULL;
	struct sim_obj *dom, *dev;
	uint32_t pasid;
	bool has_pasid;

	if (attach_args(sim, args, &dom, &dev, &pasid, &has_pasid))
		return -1;
	if (!sim_flag(args, "bare") && !(h = new_handle(sim)))
		return sim_error(sim, "out of memory");
	if (sim_done(sim, args))
		return -1;
	if (has_pasid)
		return sim_result(sim, iopf_attach_device_pasid(
					       dom->ptr, dev->ptr, pasid, h));
	return sim_result(sim, iopf_attach_device(dom->ptr, dev->ptr, h));
}

/* replace DOMAIN DEVICE [pasid=P] */
static int cmd_replace(struct sim *sim, struct sim_args *args)
{
	struct iopf_attach_handle *h;
	struct sim_obj *dom, *dev;
	uint32_t pasid;
	bool has_pasid;

	if (attach_args(sim, args, &dom, &dev, &pasid, &has_pasid) ||
	    sim_done(sim, args))
		return -1;
	h = new_handle(sim);
	if (!h)
		return sim_error(sim, "out of memory");
	if (has_pasid)
		return sim_result(sim, iopf_replace_device_pasid(
					       dom->ptr, dev->ptr, pasid, h));
	return sim_result(sim, iopf_replace_device(dom->ptr, dev->ptr, h));
}

/* detach DOMAIN DEVICE [pasid=P] */
static int cmd_detach(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *dom, *dev;
	uint32_t pasid;
	bool has_pasid;

	if (attach_args(sim, args, &dom, &dev, &pasid, &has_pasid) ||
	    sim_done(sim, args))
		return -1;
	if (has_pasid)
		iopf_detach_device_pasid(dom->ptr, dev->ptr, pasid);
	else
		iopf_detach_device(dom->ptr, dev->ptr);
	return sim_result(sim, 0);
}

/* fault DEVICE grpid=G addr=A [pasid=P] [perm=rw] [last] [needs_pasid] [type=T] */
static int cmd_fault(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *dev =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 0, "device"));
	struct iopf_fault evt = { .type = IOPF_FAULT_PAGE_REQ };
	const char *s;

	if (!dev)
		return -1;
	if (!sim_opt(args, "grpid") || !sim_opt(args, "addr"))
		return sim_error(sim, "fault: grpid= and addr= are required");
	evt.prm.perm = IOPF_FAULT_PERM_READ;
	if (sim_opt_u32(sim, args, "grpid", &evt.prm.grpid) ||
	    sim_opt_u64(sim, args, "addr", &evt.prm.addr) ||
	    sim_opt_u32(sim, args, "type", &evt.type))
		return -1;
	s = sim_opt(args, "perm");
	if (s && sim_perm(sim, s, &evt.prm.perm))
		return -1;
	s = sim_opt(args, "pasid");
	if (s) {
		if (sim_pasid_arg(sim, s, &evt.prm.pasid))
			return -1;
		evt.prm.flags |= IOPF_FAULT_PAGE_REQUEST_PASID_VALID;
	}
	if (sim_flag(args, "last"))
		evt.prm.flags |= IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
	if (sim_flag(args, "needs_pasid"))
		evt.prm.flags |= IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID;
	if (sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_report_device_fault(dev->ptr, &evt));
}

/*
 * pump [QUEUE|IOMMU] [max=N]: make things progress. In manual mode, with
 * no argument: the drivers' threads of every hardware IOMMU and every
 * queue, in turns, until nothing has work (with max=N: up to N queue
 * items); with a queue: up to N of its items; with an IOMMU: its
 * driver's threads and its fault queue until idle. With worker threads it
 * waits until the hardware queues are empty and every device's fault
 * work has run.
 */
static int cmd_pump(struct sim *sim, struct sim_args *args)
{
	uint32_t max = UINT32_MAX;
	struct sim_obj *o = NULL;
	const struct sim_backend *b;
	long ran = 0;
	int n = 0;

	if (args->argc > 1 && !strchr(args->argv[1], '=')) {
		o = sim_find(sim, sim_pos(sim, args, 0, "queue or iommu"));
		if (!o || (o->kind != SIM_QUEUE && o->kind != SIM_IOMMU))
			return sim_error(sim,
					 "pump: no queue or iommu named "
					 "'%s'",
					 args->argv[1]);
		if (!sim_get(sim, o->kind, o->name))
			return -1;
	}
	if (sim_opt_u32(sim, args, "max", &max) || sim_done(sim, args))
		return -1;
	if (sim->threads)
		return sim_result(sim, sim_settle(sim));
	if (!o)
		return sim_result(sim, sim_pump_all(sim, max));
	if (o->kind == SIM_QUEUE)
		return sim_result(sim, (long)iopf_queue_run(o->ptr, max));
	b = o->data;
	if (!b->pump)
		return sim_error(sim, "pump: iommu '%s' has nothing to pump",
				 o->name);
	while (ran < (long)max && (n = b->pump(sim, o)) > 0)
		ran += n;
	return sim_result(sim, n < 0 ? n : ran);
}

/* flush DEVICE */
static int cmd_flush(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 0, "device"));

	if (!d || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_queue_flush_dev(d->ptr));
}

/* discard QUEUE */
static int cmd_discard(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *q =
		sim_get(sim, SIM_QUEUE, sim_pos(sim, args, 0, "queue"));

	if (!q || sim_done(sim, args))
		return -1;
	return sim_result(sim, iopf_queue_discard_partial(q->ptr));
}

/* remove DEVICE: the device goes away (iopf_device_free) */
static int cmd_remove(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 0, "device"));

	if (!d || sim_done(sim, args))
		return -1;
	iopf_device_free(d->ptr);
	d->dead = true;
	return sim_result(sim, 0);
}

/* note TEXT: a comment that shows in the trace */
static int cmd_note(struct sim *sim, struct sim_args *args)
{
	for (int i = 1; i < args->argc; i++)
		args->used[i] = true;
	iopf_trace_formatter_note(sim->fmt, args->rest ? args->rest : "");
	return 0;
}

const struct sim_cmd sim_core_cmds[] = {
	{ "iommu", cmd_iommu, false },
	{ "queue", cmd_queue, false },
	{ "device", cmd_device, false },
	{ "enable", cmd_enable, false },
	{ "disable", cmd_disable, false },
	{ "domain", cmd_domain, false },
	{ "domain_free", cmd_domain_free, false },
	{ "attach", cmd_attach, false },
	{ "replace", cmd_replace, false },
	{ "detach", cmd_detach, false },
	{ "fault", cmd_fault, false },
	{ "pump", cmd_pump, false },
	{ "flush", cmd_flush, false },
	{ "discard", cmd_discard, false },
	{ "remove", cmd_remove, false },
	{ "note", cmd_note, true },
	{ NULL, NULL, false },
};
