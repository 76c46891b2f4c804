// SPDX-License-Identifier: MIT
/*
 * What every hardware backend shares: the devices' own data, making the
 * hardware queues progress ("pump"), "expect hw" and "expect device", and
 * hiding the events of a device from the trace ("hide", "show").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define PUMP_ROUNDS_MAX 100000 /* a backend that never idles is a bug */
#define SETTLE_MS	10000

static void sim_dev_release(struct sim *sim, struct sim_obj *obj)
{
	struct sim_dev *sd = obj->data;

	(void)sim;
	if (sd && sd->hw_release)
		sd->hw_release(sd->hw);
	free(sd);
	obj->data = NULL;
}

struct sim_dev *sim_hw_dev_new(struct sim *sim, struct sim_obj *iommu,
			       struct sim_obj *dev, uint32_t id)
{
	struct sim_dev *sd = calloc(1, sizeof(*sd));

	if (!sd) {
		sim_error(sim, "out of memory");
		return NULL;
	}
	sd->iommu = iommu;
	sd->id = id;
	dev->data = sd;
	dev->release = sim_dev_release;
	return sd;
}

/* The hardware data of a device, or NULL (with an error) for a mock one. */
struct sim_dev *sim_dev_of(struct sim *sim, struct sim_obj *dev)
{
	if (dev->release == sim_dev_release && dev->data)
		return dev->data;
	sim_error(sim, "device '%s' is not on a hardware IOMMU", dev->name);
	return NULL;
}

int sim_stat_u64(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%" PRIu64, v);
	return 0;
}

int sim_stat_bool(char *buf, size_t len, bool v)
{
	snprintf(buf, len, "%s", v ? "yes" : "no");
	return 0;
}

/*
 * The key=value words of "expect hw|device NAME ...": each must be a key
 * @fn knows, with the value it reports. Numbers compare by value.
 */
int sim_expect_stats(struct sim *sim, struct sim_args *args,
		     struct sim_obj *obj, sim_stat_fn fn)
{
	int checked = 0;

	for (int i = 3; i < args->argc; i++) {
		char *eq = strchr(args->argv[i], '=');
		char key[64], got[64], want[64];
		const char *v;
		uint64_t n;

		if (!eq || eq == args->argv[i] ||
		    (size_t)(eq - args->argv[i]) >= sizeof(key))
			return sim_error(sim,
					 "expect %s: '%s' is not key=value",
					 args->argv[1], args->argv[i]);
		memcpy(key, args->argv[i], (size_t)(eq - args->argv[i]));
		key[eq - args->argv[i]] = '\0';
		v = eq + 1;
		args->used[i] = true;
		if (fn(obj, key, got, sizeof(got)))
			return sim_error(sim, "expect %s: '%s' has no '%s'",
					 args->argv[1], obj->name, key);
		if (*v >= '0' && *v <= '9') {
			if (sim_u64(sim, v, key, &n))
				return -1;
			sim_stat_u64(want, sizeof(want), n);
		} else {
			snprintf(want, sizeof(want), "%s", v);
		}
		if (strcmp(want, got))
			return sim_error(sim,
					 "expect failed: %s of '%s': expected "
					 "%s, got %s",
					 key, obj->name, v, got);
		checked++;
	}
	if (!checked)
		return sim_error(sim, "expect %s: nothing to check",
				 args->argv[1]);
	return 0;
}

/* expect hw IOMMU key=value... */
int sim_expect_hw(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *o =
		sim_get(sim, SIM_IOMMU, sim_pos(sim, args, 1, "iommu"));
	const struct sim_backend *b;

	if (!o)
		return -1;
	b = o->data;
	if (!b->stat)
		return sim_error(sim, "expect hw: backend '%s' has no state",
				 b->name);
	return sim_expect_stats(sim, args, o, b->stat);
}

/* ---- running the hardware ---------------------------------------------- */

static long pump_backends(struct sim *sim)
{
	long n = 0;

	for (struct sim_obj *o = sim->objs; o; o = o->next) {
		const struct sim_backend *b = o->data;
		int r;

		if (o->kind != SIM_IOMMU || o->dead || !b->pump)
			continue;
		r = b->pump(sim, o);
		if (r > 0)
			n += r;
	}
	return n;
}

/*
 * Manual mode: the drivers' threads and the fault queues, in turns, until
 * nothing has work (or @max queue items ran, when a limit is given).
 */
long sim_pump_all(struct sim *sim, uint32_t max)
{
	long ran = 0, n;
	int rounds = 0;

	do {
		n = max == UINT32_MAX ? pump_backends(sim) : 0;
		for (struct sim_obj *o = sim->objs; o && ran + n < max;
		     o = o->next)
			if (o->kind == SIM_QUEUE && !o->dead)
				n += (long)iopf_queue_run(o->ptr,
							  max - ran - n);
		ran += n;
	} while (n && ran < max && ++rounds < PUMP_ROUNDS_MAX);
	return ran;
}

static bool hw_idle(struct sim *sim)
{
	for (struct sim_obj *o = sim->objs; o; o = o->next) {
		const struct sim_backend *b = o->data;

		if (o->kind == SIM_IOMMU && !o->dead && b->idle && !b->idle(o))
			return false;
	}
	return true;
}

static void flush_all(struct sim *sim)
{
	for (struct sim_obj *o = sim->objs; o; o = o->next)
		if (o->kind == SIM_DEVICE && !o->dead)
			iopf_queue_flush_dev(o->ptr);
}

/*
 * Threaded mode: wait until the hardware queues are empty and the fault
 * queues have run what was reported, twice in a row (work may post new
 * requests). Polls the queue registers: there is nothing to wait on.
 */
int sim_settle(struct sim *sim)
{
	struct timespec ms = { .tv_nsec = 1000000 };
	int quiet = 0;

	for (int i = 0; i < SETTLE_MS; i++) {
		if (hw_idle(sim)) {
			flush_all(sim);
			if (hw_idle(sim) && ++quiet == 2)
				return 0;
			continue;
		}
		quiet = 0;
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

/* ---- hide DEVICE / show DEVICE ----------------------------------------- */

static bool hidden_match(const struct sim_hidden *h,
			 const struct iopf_trace_event *ev)
{
	if (ev->device)
		return !strcmp(ev->device, h->dev);
	/* hardware events name the requester by its ID only */
	return ev->iommu && !strcmp(ev->iommu, h->iommu) && ev->dev_id &&
	       ev->dev_id == h->id;
}

/*
 * Called by the sink with log_lock held. An event that names no device at
 * all (the inv_wait_dsc that completes a response) belongs to the step of
 * the event before it, and is hidden with it.
 */
bool sim_hidden_event(struct sim *sim, const struct iopf_trace_event *ev)
{
	struct sim_hidden *h;

	if (!ev->device && !ev->dev_id) {
		if (sim->hidden_last)
			sim->hidden_last->nr++;
		return sim->hidden_last;
	}
	for (h = sim->hidden; h; h = h->next)
		if (hidden_match(h, ev))
			break;
	sim->hidden_last = h;
	if (h)
		h->nr++;
	return h;
}

static void hidden_free_one(struct sim_hidden *h)
{
	free(h->dev);
	free(h->iommu);
	free(h);
}

void sim_hidden_free(struct sim *sim)
{
	while (sim->hidden) {
		struct sim_hidden *h = sim->hidden;

		sim->hidden = h->next;
		hidden_free_one(h);
	}
}

static struct sim_hidden **hidden_find(struct sim *sim, const char *name)
{
	struct sim_hidden **p = &sim->hidden;

	while (*p && strcmp((*p)->dev, name))
		p = &(*p)->next;
	return p;
}

/* hide DEVICE: its events are counted (for expect) but not written */
static int cmd_hide(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *d =
		sim_get(sim, SIM_DEVICE, sim_pos(sim, args, 0, "device"));
	struct sim_hidden *h;
	const char *iommu;

	if (!d || sim_done(sim, args))
		return -1;
	pthread_mutex_lock(&sim->log_lock);
	h = *hidden_find(sim, d->name);
	pthread_mutex_unlock(&sim->log_lock);
	if (h)
		return sim_error(sim, "hide: '%s' is already hidden", d->name);
	iommu = iopf_iommu_name(iopf_device_iommu(d->ptr));
	h = calloc(1, sizeof(*h));
	if (!h || !(h->dev = strdup(d->name)) ||
	    !(h->iommu = strdup(iommu ? iommu : ""))) {
		if (h)
			hidden_free_one(h);
		return sim_error(sim, "out of memory");
	}
	h->id = iopf_device_id(d->ptr);
	pthread_mutex_lock(&sim->log_lock);
	h->next = sim->hidden;
	sim->hidden = h;
	pthread_mutex_unlock(&sim->log_lock);
	return 0;
}

/* show DEVICE: write its events again, after a note of how many were not */
static int cmd_show(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "device");
	struct sim_hidden **p, *h;
	char note[96];

	if (!name || sim_done(sim, args))
		return -1;
	pthread_mutex_lock(&sim->log_lock);
	p = hidden_find(sim, name);
	h = *p;
	if (h)
		*p = h->next;
	sim->hidden_last = NULL;
	pthread_mutex_unlock(&sim->log_lock);
	if (!h)
		return sim_error(sim, "show: '%s' is not hidden", name);
	snprintf(note, sizeof(note), "(%" PRIu64 " events of %s not shown)",
		 h->nr, h->dev);
	iopf_trace_formatter_note(sim->fmt, note);
	hidden_free_one(h);
	return 0;
}

const struct sim_cmd sim_hw_cmds[] = {
	{ "hide", cmd_hide, false },
	{ "show", cmd_show, false },
	{ NULL, NULL, false },
};

/* The IOMMU argument of a backend's own command: it must be of @b. */
struct sim_obj *sim_backend_iommu(struct sim *sim, struct sim_args *args,
				  const struct sim_backend *b)
{
	struct sim_obj *o =
		sim_get(sim, SIM_IOMMU, sim_pos(sim, args, 0, "iommu"));

	if (!o || sim_done(sim, args))
		return NULL;
	if (o->data != b) {
		sim_error(sim, "%s: '%s' is not a %s IOMMU", args->argv[0],
			  o->name, b->name);
		return NULL;
	}
	return o;
}
