// SPDX-License-Identifier: MIT
/*
 * Channel fuzzer: reads and writes with arbitrary counts, buffers and
 * records, interleaved with faults, attach, detach, replace, domain and
 * channel churn and (with fault injection) failed allocations.
 *
 * The target keeps a model of the groups delivered and not read yet (each
 * with the attach handle it was routed to when it was reported: a later
 * attach does not move it) and of the cookies the program holds, and
 * checks every result exactly:
 * -ESPIPE for a count that is not a multiple of the record, -EFAULT for a
 * NULL buffer, a read returns whole groups (partials first, the last-page
 * request last, one fresh cookie per group), a write consumes records up
 * to the first bad one, cookies die when their attachment goes, and the fd
 * is readable whenever a read would return a group. At the end every
 * last-page request must have been answered exactly once.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>

#include <iopf/iopf.h>
#include <iopf/testing.h>

#include "fuzz.h"
#include "invariants.h"

#define NR_DEVS	    2
#define NR_DOMS	    2
#define NR_HANDLES  6
#define MAX_COOKIES 256
#define MAX_UNREAD  1024
#define MAX_OPS	    1024
#define MAX_PASIDS  8
#define BUF_SIZE    4096
#define REC	    sizeof(struct iopf_user_fault)
#define RESP	    sizeof(struct iopf_user_response)
#define READ_MAX    (BUF_SIZE / REC * REC)
#define DEV_ID(i)   (0x20u + (uint32_t)(i))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

struct fz_handle {
	struct iopf_attach_handle h;
	bool live;
	unsigned int dev;
	uint32_t pasid;
};

struct fz_cookie {
	uint32_t cookie;
	struct fz_handle *handle;
};

/* A group on the deliver list, as the model sees it: its last fault. */
struct fz_unread {
	unsigned int dev;
	uint32_t flags, pasid, grpid, perm;
	uint64_t addr;
	struct fz_handle *handle;
};

struct fz {
	struct fz_in in;
	struct inv *inv;
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu[NR_DEVS];
	struct iopf_queue *queue;
	struct iopf_device *dev[NR_DEVS];
	struct iopf_channel *ch;
	struct iopf_domain *dom[NR_DOMS];
	struct fz_handle handle[NR_HANDLES];
	struct fz_cookie held[MAX_COOKIES];
	size_t nr_held;
	struct fz_unread unread[MAX_UNREAD];
	size_t nr_unread;
	uint64_t answered_tag; /* the last fault page_response answered */
	union {
		struct iopf_user_fault rec[BUF_SIZE / REC + 1];
		struct iopf_user_response resp[BUF_SIZE / RESP];
		uint8_t bytes[BUF_SIZE];
	} buf;
};

static void fz_page_response(struct iopf_device *dev,
			     const struct iopf_fault *evt,
			     const struct iopf_page_response *msg)
{
	struct fz *f = iopf_iommu_drvdata(iopf_device_iommu(dev));

	f->answered_tag = inv_fault_tag(evt);
	inv_responded(f->inv, iopf_device_id(dev), evt, msg);
}

/* ---- the cookie model ---------------------------------------------------- */

static struct fz_cookie *fz_cookie_find(struct fz *f, uint32_t cookie)
{
	for (size_t i = 0; i < f->nr_held; i++)
		if (f->held[i].cookie == cookie)
			return &f->held[i];
	return NULL;
}

static void fz_cookie_drop(struct fz *f, struct fz_cookie *c)
{
	*c = f->held[--f->nr_held];
}

/* Forget @n unread groups from @at on: read, or answered by the core. */
static void fz_unread_drop(struct fz *f, size_t at, size_t n)
{
	memmove(&f->unread[at], &f->unread[at + n],
		(f->nr_unread - at - n) * sizeof(f->unread[0]));
	f->nr_unread -= n;
}

/* A handle is gone: its unanswered groups were answered INVALID. */
static void fz_handle_dead(struct fz *f, struct fz_handle *fh)
{
	fh->live = false;
	for (size_t i = 0; i < f->nr_held;) {
		if (f->held[i].handle == fh)
			fz_cookie_drop(f, &f->held[i]);
		else
			i++;
	}
	for (size_t i = 0; i < f->nr_unread;) {
		if (f->unread[i].handle == fh)
			fz_unread_drop(f, i, 1);
		else
			i++;
	}
}

/* Only the handle the routing table shows at (dev, pasid) stays live. */
static void fz_reconcile(struct fz *f)
{
	for (unsigned int i = 0; i < NR_HANDLES; i++) {
		struct fz_handle *fh = &f->handle[i];
		struct iopf_attach_handle *cur = NULL;

		if (!fh->live)
			continue;
		if (!f->dev[fh->dev] ||
		    iopf_attach_handle_get(f->dev[fh->dev], fh->pasid,
					   IOPF_DOMAIN_ANY, &cur) ||
		    cur != &fh->h)
			fz_handle_dead(f, fh);
	}
}

/*
 * The handle a last-page request is routed to now, as the core's
 * find_fault_handler() picks it, or NULL (the report answers it itself).
 */
static struct fz_handle *fz_route(struct fz *f, unsigned int v,
				  const struct iopf_fault *evt)
{
	struct iopf_attach_handle *h = NULL;
	bool pv = evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID;

	if (!pv) {
		if (iopf_attach_handle_get(f->dev[v], IOPF_NO_PASID,
					   IOPF_DOMAIN_ANY, &h))
			return NULL;
	} else if (iopf_attach_handle_get(f->dev[v], evt->prm.pasid,
					  IOPF_DOMAIN_ANY, &h)) {
		/* The user PASID table fallback (IOMMU 1). */
		if (v != 1 || iopf_attach_handle_get(f->dev[v], IOPF_NO_PASID,
						     IOPF_DOMAIN_NESTED, &h))
			return NULL;
	}
	return container_of(h, struct fz_handle, h);
}

/*
 * A last-page request was accepted: unless the report answered it (a
 * failed allocation aborts the group), the group waits on the deliver
 * list for the handle it was routed to.
 */
static void fz_unread_add(struct fz *f, unsigned int v,
			  const struct iopf_fault *evt, struct fz_handle *fh)
{
	struct fz_unread *u;

	if (!fh || f->answered_tag == inv_fault_tag(evt))
		return;
	FZ_CHECK(fh->live && f->nr_unread < MAX_UNREAD);
	u = &f->unread[f->nr_unread++];
	u->dev = v;
	u->flags = evt->prm.flags;
	u->pasid = evt->prm.pasid;
	u->grpid = evt->prm.grpid;
	u->perm = evt->prm.perm;
	u->addr = evt->prm.addr;
	u->handle = fh;
}

/*
 * The handle of a group just read, from its last record: the oldest
 * matching unread group (the deliver list is FIFO, so every older one was
 * read or answered already). It must still be installed.
 */
static struct fz_handle *fz_unread_take(struct fz *f, unsigned int v,
					const struct iopf_user_fault *last)
{
	struct fz_handle *fh;

	for (size_t i = 0; i < f->nr_unread; i++) {
		const struct fz_unread *u = &f->unread[i];

		if (u->dev != v || u->flags != last->flags ||
		    u->pasid != last->pasid || u->grpid != last->grpid ||
		    u->perm != last->perm || u->addr != last->addr)
			continue;
		fh = u->handle;
		fz_unread_drop(f, 0, i + 1);
		return fh;
	}
	FZ_CHECK(!"a group read was never delivered");
	return NULL;
}

/* ---- operations ---------------------------------------------------------- */

static bool ret_in(long ret, const long *ok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ret == ok[i])
			return true;
	return false;
}

#define FZ_RET(ret, ...)                                                  \
	do {                                                              \
		const long ok_[] = { __VA_ARGS__ };                       \
		FZ_CHECK(ret_in(ret, ok_, sizeof(ok_) / sizeof(ok_[0]))); \
	} while (0)

static uint32_t fz_pasid(struct fz *f)
{
	uint8_t b = fz_u8(&f->in);

	if (b < 0xf0)
		return b % 4;
	return fz_u32(&f->in);
}

static struct fz_handle *fz_free_handle(struct fz *f)
{
	unsigned int start = fz_below(&f->in, NR_HANDLES);

	for (unsigned int i = 0; i < NR_HANDLES; i++) {
		struct fz_handle *fh = &f->handle[(start + i) % NR_HANDLES];

		if (!fh->live)
			return fh;
	}
	return NULL;
}

static void op_attach(struct fz *f, bool replace)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	struct iopf_domain *dom = f->dom[fz_below(&f->in, NR_DOMS)];
	uint32_t pasid = fz_pasid(f);
	struct fz_handle *fh = fz_free_handle(f);
	struct iopf_attach_handle *h = fh ? &fh->h : NULL;
	int ret;

	if (replace)
		ret = pasid == IOPF_NO_PASID ?
			      iopf_replace_device(dom, f->dev[v], h) :
			      iopf_replace_device_pasid(dom, f->dev[v], pasid,
							h);
	else
		ret = pasid == IOPF_NO_PASID ?
			      iopf_attach_device(dom, f->dev[v], h) :
			      iopf_attach_device_pasid(dom, f->dev[v], pasid,
						       h);
	FZ_RET(ret, 0, -EINVAL, -EBUSY, -ENOMEM, -ENODEV);
	if (!ret && h) {
		fh->live = true;
		fh->dev = v;
		fh->pasid = pasid;
	}
	fz_reconcile(f);
}

static void op_detach(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	struct iopf_domain *dom = f->dom[fz_below(&f->in, NR_DOMS)];
	uint32_t pasid = fz_pasid(f);

	if (pasid == IOPF_NO_PASID)
		iopf_detach_device(dom, f->dev[v]);
	else
		iopf_detach_device_pasid(dom, f->dev[v], pasid);
	fz_reconcile(f);
}

static void op_report(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	uint8_t shape = fz_u8(&f->in);
	struct iopf_fault evt = { .type = IOPF_FAULT_PAGE_REQ };
	struct fz_handle *fh;
	int ret;

	evt.prm.flags = shape & 7;
	if (shape & 0x80)
		evt.prm.flags = fz_u32(&f->in);
	evt.prm.pasid = fz_pasid(f);
	evt.prm.grpid = (shape & 0x40) ? fz_u32(&f->in) : fz_below(&f->in, 8);
	evt.prm.perm = fz_u8(&f->in);
	evt.prm.addr = fz_u64(&f->in);
	if (!f->dev[v])
		return;
	inv_tag(f->inv, &evt);
	fh = fz_route(f, v, &evt);
	ret = iopf_report_device_fault(f->dev[v], &evt);
	FZ_RET(ret, 0, -EINVAL, -ENOMEM);
	inv_reported(f->inv, DEV_ID(v), &evt, ret);
	if (!ret && (evt.prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE))
		fz_unread_add(f, v, &evt, fh);
}

static bool fz_readable(struct fz *f)
{
	struct pollfd p = { .fd = iopf_channel_fd(f->ch), .events = POLLIN };

	FZ_CHECK(p.fd >= 0);
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static unsigned int fz_dev_index(uint32_t dev_id)
{
	FZ_CHECK(dev_id == DEV_ID(0) || dev_id == DEV_ID(1));
	return dev_id - DEV_ID(0);
}

/* Split what a read returned into groups and check each. */
static void fz_take_groups(struct fz *f, size_t bytes)
{
	const struct iopf_user_fault *r = f->buf.rec;
	size_t n = bytes / REC, start = 0;

	for (size_t i = 0; i < n; i++) {
		const struct iopf_user_fault *g = &r[start];
		bool last = r[i].flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;

		FZ_CHECK(r[i].reserved == 0 && r[i].length == 0);
		FZ_CHECK(r[i].cookie == g->cookie && r[i].dev_id == g->dev_id);
		FZ_CHECK(r[i].grpid == g->grpid);
		if (!last)
			continue;
		/* One fresh cookie per group. */
		FZ_CHECK(g->cookie != 0 && !fz_cookie_find(f, g->cookie));
		FZ_CHECK(f->nr_held < MAX_COOKIES);
		f->held[f->nr_held].cookie = g->cookie;
		f->held[f->nr_held].handle =
			fz_unread_take(f, fz_dev_index(g->dev_id), &r[i]);
		FZ_CHECK(f->held[f->nr_held].handle->live);
		f->nr_held++;
		start = i + 1;
	}
	/* Never a split group. */
	FZ_CHECK(start == n);
}

static void op_read(struct fz *f)
{
	uint8_t b = fz_u8(&f->in);
	size_t count = (size_t)(b & 0x1f) * REC;
	bool readable = fz_readable(f);
	void *buf = f->buf.bytes;
	ssize_t r;

	if (b & 0x80)
		count = fz_u16(&f->in) % (BUF_SIZE + 1);
	if ((b & 0x60) == 0x60)
		buf = NULL;
	if (f->nr_held + count / REC > MAX_COOKIES)
		return;
	r = iopf_channel_read(f->ch, buf, count);
	if (count % REC) {
		FZ_CHECK(r == -ESPIPE);
	} else if (!count) {
		FZ_CHECK(r == 0);
	} else if (!buf) {
		FZ_CHECK(r == -EFAULT);
	} else {
		if (r <= 0) {
			FZ_RET(r, 0, -ENOMEM, -EBUSY);
		} else {
			FZ_CHECK(readable && (size_t)r <= count && !(r % REC));
			fz_take_groups(f, (size_t)r);
		}
	}
	/* Nothing to read: the fd says so (the reverse may not fit). */
	if (!fz_readable(f))
		FZ_CHECK(iopf_channel_read(f->ch, f->buf.bytes, READ_MAX) == 0);
}

/* The model's answer to a write of @n records: bytes, or -EINVAL. */
static long fz_expect_write(struct fz *f, size_t n)
{
	size_t done = 0;

	for (; done < n; done++) {
		const struct iopf_user_response *resp = &f->buf.resp[done];
		struct fz_cookie *c = fz_cookie_find(f, resp->cookie);

		if (!c || resp->code > IOPF_PAGE_RESP_INVALID)
			break;
		fz_cookie_drop(f, c);
	}
	return done ? (long)(done * RESP) : -EINVAL;
}

static void op_write(struct fz *f)
{
	uint8_t b = fz_u8(&f->in);
	size_t n = b & 0xf, count = n * RESP;
	const void *buf = f->buf.bytes;
	long expect;
	ssize_t r;

	for (size_t i = 0; i < n; i++) {
		uint8_t k = fz_u8(&f->in);
		struct iopf_user_response *resp = &f->buf.resp[i];

		resp->cookie = f->nr_held && k < 0xe0 ?
				       f->held[k % f->nr_held].cookie :
				       fz_u32(&f->in) % 8;
		resp->code = k & 0x10 ? fz_u32(&f->in) : (k >> 2) % 2u;
	}
	if (b & 0x80)
		count = fz_u16(&f->in) % (BUF_SIZE + 1);
	if ((b & 0x60) == 0x60)
		buf = NULL;
	r = iopf_channel_write(f->ch, buf, count);
	if (count % RESP) {
		FZ_CHECK(r == -ESPIPE);
	} else if (!count) {
		FZ_CHECK(r == 0);
	} else if (!buf) {
		FZ_CHECK(r == -EFAULT);
	} else {
		/* Records past the n written above are stale but valid input. */
		expect = fz_expect_write(f, count / RESP);
		FZ_CHECK(r == expect);
	}
}

static void op_queue(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	int ret;

	switch (fz_below(&f->in, 4)) {
	case 0:
		iopf_queue_remove_device(f->queue, f->dev[v]);
		break;
	case 1:
		ret = iopf_queue_add_device(f->queue, f->dev[v]);
		FZ_RET(ret, 0, -EINVAL, -EBUSY, -ENOMEM);
		break;
	case 2:
		FZ_CHECK(iopf_queue_discard_partial(f->queue) == 0);
		break;
	default:
		iopf_testing_fail_nth(1 + fz_below(&f->in, 8));
		break;
	}
}

static void fz_domain_new(struct fz *f, unsigned int d, uint8_t b)
{
	static const enum iopf_domain_type types[] = {
		IOPF_DOMAIN_PAGING,
		IOPF_DOMAIN_NESTED,
		IOPF_DOMAIN_SVA,
		IOPF_DOMAIN_ANY,
	};
	enum iopf_domain_type type = types[b % 4];
	struct iopf_domain *out = NULL;
	int ret;

	f->dom[d] = NULL;
	if (!f->ch)
		return;
	ret = iopf_channel_domain_new(f->ch, type, &out);
	if (type != IOPF_DOMAIN_PAGING && type != IOPF_DOMAIN_NESTED) {
		FZ_CHECK(ret == -EINVAL && !out);
		return;
	}
	FZ_RET(ret, 0, -ENOMEM);
	f->dom[d] = out;
}

static void fz_channel_new(struct fz *f)
{
	struct iopf_channel *ch = NULL;
	int ret = iopf_channel_new(f->ctx, &ch);

	FZ_RET(ret, 0, -ENOMEM);
	f->ch = ch;
}

static void op_objects(struct fz *f)
{
	unsigned int d = fz_below(&f->in, NR_DOMS);
	uint8_t b = fz_u8(&f->in);
	int ret;

	if (b < 0xc0) {
		ret = iopf_domain_free(f->dom[d]);
		FZ_RET(ret, 0, -EBUSY);
		if (!ret)
			fz_domain_new(f, d, b);
		return;
	}
	ret = iopf_channel_free(f->ch);
	FZ_RET(ret, 0, -EBUSY);
	if (ret)
		return;
	/* Everything it held was answered: no cookie lives on. */
	f->nr_held = 0;
	f->nr_unread = 0;
	f->ch = NULL;
	fz_channel_new(f);
	for (d = 0; d < NR_DOMS; d++)
		if (!f->dom[d])
			fz_domain_new(f, d, (uint8_t)d);
}

static void fz_run(struct fz *f)
{
	for (unsigned int n = 0; n < MAX_OPS && fz_more(&f->in); n++) {
		if (!f->ch) {
			/* Only an injected failure gets here: start over. */
			fz_channel_new(f);
			if (!f->ch)
				continue;
		}
		switch (fz_below(&f->in, 10)) {
		case 0:
			op_attach(f, false);
			break;
		case 1:
			op_attach(f, true);
			break;
		case 2:
			op_detach(f);
			break;
		case 3:
		case 4:
			op_report(f);
			break;
		case 5:
		case 6:
			op_read(f);
			break;
		case 7:
			op_write(f);
			break;
		case 8:
			op_queue(f);
			break;
		default:
			op_objects(f);
			break;
		}
	}
}

static int fz_setup(struct fz *f)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr) };
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = fz_page_response,
	};
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.max_pasids = MAX_PASIDS,
	};

	if (inv_new(&f->inv) || iopf_ctx_new(&f->ctx) ||
	    iopf_queue_alloc(f->ctx, "fuzzq", &qattr, &f->queue))
		return -ENOMEM;
	for (unsigned int v = 0; v < NR_DEVS; v++) {
		ops.user_pasid_table = v == 1;
		attr.id = DEV_ID(v);
		if (iopf_iommu_new(f->ctx, NULL, &ops, f, &f->iommu[v]) ||
		    iopf_device_new(f->iommu[v], &attr, &f->dev[v]) ||
		    iopf_queue_add_device(f->queue, f->dev[v]))
			return -ENOMEM;
	}
	fz_channel_new(f);
	for (unsigned int d = 0; d < NR_DOMS; d++)
		fz_domain_new(f, d, (uint8_t)d);
	return f->ch && f->dom[0] && f->dom[1] ? 0 : -ENOMEM;
}

static void fz_teardown(struct fz *f)
{
	struct inv_stats st;
	long live;

	iopf_testing_fail_nth(0);
	iopf_ctx_free(f->ctx);
	FZ_CHECK(inv_check(f->inv, 0, stderr) == 0);
	inv_stats(f->inv, &st);
	FZ_CHECK(st.responses == st.expected_responses);
	live = inv_check_allocations();
	FZ_CHECK(live == 0 || live == -EOPNOTSUPP);
	inv_free(f->inv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;

	memset(&f, 0, sizeof(f));
	fz_init(&f.in, data, size);
	FZ_CHECK(fz_setup(&f) == 0);
	fz_run(&f);
	fz_teardown(&f);
	return 0;
}
