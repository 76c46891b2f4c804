// SPDX-License-Identifier: MIT
/*
 * The baseline: one global mutex, two chained hash tables, the kernel's
 * partial and pending lists, a FIFO of work and a condition variable.
 * See baseline.h for what it is meant to be; nothing here is slowed on
 * purpose, and the hot path does the same work libiopf does: look the
 * device up, route by PASID, group the partials, call the handler, answer
 * exactly once, free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <urcu/list.h>

#include "baseline.h"

/* ---- a chained hash table, power-of-two buckets --------------------------- */

struct hnode {
	struct hnode *next;
	uint64_t key;
};

struct htab {
	struct hnode **b;
	unsigned int bits;
	size_t count;
};

static size_t hslot(const struct htab *t, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - t->bits));
}

static int htab_init(struct htab *t, unsigned int bits)
{
	t->bits = bits;
	t->count = 0;
	t->b = calloc((size_t)1 << bits, sizeof(*t->b));
	return t->b ? 0 : -ENOMEM;
}

static struct hnode *htab_find(const struct htab *t, uint64_t key)
{
	struct hnode *n = t->b[hslot(t, key)];

	while (n && n->key != key)
		n = n->next;
	return n;
}

/* Double the buckets when the load passes 1. */
static void htab_grow(struct htab *t)
{
	struct htab nt;

	if (htab_init(&nt, t->bits + 1))
		return; /* stay slower rather than fail */
	for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
		while (t->b[i]) {
			struct hnode *n = t->b[i];
			size_t s = hslot(&nt, n->key);

			t->b[i] = n->next;
			n->next = nt.b[s];
			nt.b[s] = n;
		}
	}
	nt.count = t->count;
	free(t->b);
	*t = nt;
}

static void htab_add(struct htab *t, struct hnode *n)
{
	size_t s;

	if (++t->count > (size_t)1 << t->bits)
		htab_grow(t);
	s = hslot(t, n->key);
	n->next = t->b[s];
	t->b[s] = n;
}

/* ---- objects --------------------------------------------------------------- */

struct bl_dev {
	struct hnode hnode; /* key: requester ID */
	void *drvdata;
	struct cds_list_head partial; /* struct bl_partial, oldest first */
	struct cds_list_head pending; /* unanswered groups */
	unsigned long refs; /* live groups, under bl->lock */
};

struct bl_route {
	struct hnode hnode; /* key: (rid << 20) | pasid */
	struct bl_dev *dev;
	bl_handler_t handler;
};

struct bl_partial {
	struct cds_list_head node;
	struct iopf_fault fault;
};

struct bl_group {
	struct bl *bl;
	struct bl_dev *dev;
	struct bl_group *work_next;
	void (*work_fn)(struct bl_group *group);
	struct cds_list_head pending; /* empty once answered */
	struct cds_list_head faults; /* partials, in arrival order */
	unsigned int nr_faults;
	struct iopf_fault last;
};

struct bl {
	pthread_mutex_t lock;
	pthread_cond_t work_cond;
	struct bl_group *work_head, **work_tail;
	unsigned int idle;
	bool stopping;
	bl_response_t page_response;
	struct htab devs, routes;
	unsigned int nr_workers;
	pthread_t *workers;
};

static uint64_t route_key(uint32_t rid, uint32_t pasid)
{
	return ((uint64_t)rid << IOPF_PASID_BITS) | pasid;
}

/* ---- responses and groups --------------------------------------------------- */

/* With bl->lock held: answer once. */
static void respond_locked(struct bl_group *g, uint32_t code)
{
	struct iopf_page_response msg = {
		.pasid = g->last.prm.pasid,
		.grpid = g->last.prm.grpid,
		.code = code,
	};

	if (cds_list_empty(&g->pending))
		return;
	g->bl->page_response(g->dev->drvdata, &g->last, &msg);
	cds_list_del_init(&g->pending);
}

void bl_group_response(struct bl_group *g, uint32_t code)
{
	pthread_mutex_lock(&g->bl->lock);
	respond_locked(g, code);
	pthread_mutex_unlock(&g->bl->lock);
}

void bl_group_free(struct bl_group *g)
{
	struct bl_partial *p, *next;

	pthread_mutex_lock(&g->bl->lock);
	respond_locked(g, IOPF_PAGE_RESP_INVALID);
	g->dev->refs--;
	pthread_mutex_unlock(&g->bl->lock);
	cds_list_for_each_entry_safe(p, next, &g->faults, node)
		free(p);
	free(g);
}

/* ---- the report path -------------------------------------------------------- */

static void error_response(struct bl *bl, struct bl_dev *dev,
			   const struct iopf_fault *evt)
{
	struct iopf_page_response msg = {
		.pasid = evt->prm.pasid,
		.grpid = evt->prm.grpid,
		.code = IOPF_PAGE_RESP_INVALID,
	};

	bl->page_response(dev->drvdata, evt, &msg);
}

/* With bl->lock held: form the group of @evt. */
static void group_locked(struct bl_group *g, struct bl_dev *dev,
			 const struct iopf_fault *evt)
{
	struct bl_partial *p, *next;

	g->dev = dev;
	g->last = *evt;
	g->nr_faults = 1;
	CDS_INIT_LIST_HEAD(&g->faults);
	cds_list_for_each_entry_safe(p, next, &dev->partial, node) {
		if (p->fault.prm.grpid == evt->prm.grpid) {
			cds_list_del(&p->node);
			cds_list_add_tail(&p->node, &g->faults);
			g->nr_faults++;
		}
	}
	cds_list_add_tail(&g->pending, &dev->pending);
	dev->refs++;
}

int bl_report(struct bl *bl, uint32_t rid, const struct iopf_fault *evt)
{
	bool last = evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
	uint32_t pasid =
		(evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID) ?
			evt->prm.pasid :
			IOPF_NO_PASID;
	struct bl_partial *p = NULL;
	struct bl_group *g = NULL;
	struct bl_route *route;
	struct hnode *n;
	bl_handler_t handler;

	/* Allocate outside the lock. */
	if (last)
		g = malloc(sizeof(*g));
	else
		p = malloc(sizeof(*p));
	if (!g && !p)
		return -ENOMEM;
	pthread_mutex_lock(&bl->lock);
	n = htab_find(&bl->routes, route_key(rid, pasid));
	route = n ? caa_container_of(n, struct bl_route, hnode) : NULL;
	if (!route) {
		n = htab_find(&bl->devs, rid);
		if (n)
			error_response(
				bl, caa_container_of(n, struct bl_dev, hnode),
				evt);
		pthread_mutex_unlock(&bl->lock);
		free(g);
		free(p);
		return -EINVAL;
	}
	if (!last) {
		p->fault = *evt;
		cds_list_add_tail(&p->node, &route->dev->partial);
		pthread_mutex_unlock(&bl->lock);
		return 0;
	}
	g->bl = bl;
	group_locked(g, route->dev, evt);
	handler = route->handler;
	pthread_mutex_unlock(&bl->lock);
	if (handler(g)) {
		bl_group_response(g, IOPF_PAGE_RESP_FAILURE);
		bl_group_free(g);
	}
	return 0;
}

/* ---- work ------------------------------------------------------------------- */

int bl_queue_work(struct bl_group *g, void (*fn)(struct bl_group *group))
{
	struct bl *bl = g->bl;

	g->work_fn = fn;
	g->work_next = NULL;
	pthread_mutex_lock(&bl->lock);
	*bl->work_tail = g;
	bl->work_tail = &g->work_next;
	if (bl->idle)
		pthread_cond_signal(&bl->work_cond);
	pthread_mutex_unlock(&bl->lock);
	return 0;
}

static void *worker_fn(void *arg)
{
	struct bl *bl = arg;
	struct bl_group *g;

	pthread_mutex_lock(&bl->lock);
	for (;;) {
		while (!bl->work_head && !bl->stopping) {
			bl->idle++;
			pthread_cond_wait(&bl->work_cond, &bl->lock);
			bl->idle--;
		}
		g = bl->work_head;
		if (!g)
			break;
		bl->work_head = g->work_next;
		if (!bl->work_head)
			bl->work_tail = &bl->work_head;
		pthread_mutex_unlock(&bl->lock);
		g->work_fn(g);
		pthread_mutex_lock(&bl->lock);
	}
	pthread_mutex_unlock(&bl->lock);
	return NULL;
}

/* ---- setup ------------------------------------------------------------------ */

int bl_new(unsigned int nr_workers, bl_response_t page_response,
	   struct bl **out)
{
	struct bl *bl = calloc(1, sizeof(*bl));

	if (!bl)
		return -ENOMEM;
	if (htab_init(&bl->devs, 6) || htab_init(&bl->routes, 6)) {
		free(bl->devs.b);
		free(bl);
		return -ENOMEM;
	}
	pthread_mutex_init(&bl->lock, NULL);
	pthread_cond_init(&bl->work_cond, NULL);
	bl->work_tail = &bl->work_head;
	bl->page_response = page_response;
	bl->workers = calloc(nr_workers ? nr_workers : 1, sizeof(pthread_t));
	for (unsigned int i = 0; bl->workers && i < nr_workers; i++) {
		if (pthread_create(&bl->workers[i], NULL, worker_fn, bl))
			break;
		bl->nr_workers++;
	}
	if (!bl->workers || bl->nr_workers != nr_workers) {
		bl_free(bl);
		return -EAGAIN;
	}
	*out = bl;
	return 0;
}

int bl_device_add(struct bl *bl, uint32_t rid, void *drvdata,
		  struct bl_dev **out)
{
	struct bl_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return -ENOMEM;
	dev->hnode.key = rid;
	dev->drvdata = drvdata;
	CDS_INIT_LIST_HEAD(&dev->partial);
	CDS_INIT_LIST_HEAD(&dev->pending);
	pthread_mutex_lock(&bl->lock);
	if (htab_find(&bl->devs, rid)) {
		pthread_mutex_unlock(&bl->lock);
		free(dev);
		return -EEXIST;
	}
	htab_add(&bl->devs, &dev->hnode);
	pthread_mutex_unlock(&bl->lock);
	*out = dev;
	return 0;
}

int bl_attach(struct bl *bl, struct bl_dev *dev, uint32_t pasid,
	      bl_handler_t handler)
{
	struct bl_route *route = calloc(1, sizeof(*route));
	uint64_t key = route_key((uint32_t)dev->hnode.key, pasid);

	if (!route)
		return -ENOMEM;
	route->hnode.key = key;
	route->dev = dev;
	route->handler = handler;
	pthread_mutex_lock(&bl->lock);
	if (htab_find(&bl->routes, key)) {
		pthread_mutex_unlock(&bl->lock);
		free(route);
		return -EBUSY;
	}
	htab_add(&bl->routes, &route->hnode);
	pthread_mutex_unlock(&bl->lock);
	return 0;
}

static void free_table(struct htab *t)
{
	for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
		while (t->b[i]) {
			struct hnode *n = t->b[i];

			t->b[i] = n->next;
			free(n); /* the hnode is the first member */
		}
	}
	free(t->b);
}

/* Stop the workers (after the queued work ran) and free everything. */
void bl_free(struct bl *bl)
{
	pthread_mutex_lock(&bl->lock);
	bl->stopping = true;
	pthread_cond_broadcast(&bl->work_cond);
	pthread_mutex_unlock(&bl->lock);
	for (unsigned int i = 0; i < bl->nr_workers; i++)
		pthread_join(bl->workers[i], NULL);
	free(bl->workers);
	/* The bench frees every group before this; partials may remain. */
	for (size_t i = 0; i < (size_t)1 << bl->devs.bits; i++) {
		for (struct hnode *n = bl->devs.b[i]; n; n = n->next) {
			struct bl_dev *dev =
				caa_container_of(n, struct bl_dev, hnode);
			struct bl_partial *p, *next;

			cds_list_for_each_entry_safe(p, next, &dev->partial,
						     node)
				free(p);
		}
	}
	free_table(&bl->routes);
	free_table(&bl->devs);
	pthread_cond_destroy(&bl->work_cond);
	pthread_mutex_destroy(&bl->lock);
	free(bl);
}
