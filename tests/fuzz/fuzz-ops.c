// SPDX-License-Identifier: MIT
/*
 * Operation-sequence fuzzer of the core API, in manual mode.
 *
 * The input is a program: each operation is picked and parameterised by
 * the next bytes (attach, detach, replace, reports with random fields,
 * responses, frees, remove and re-add, discard, flush, run, domain and
 * device churn, IOMMU queue changes, and, in a -Dfault_injection=true
 * build, a failed allocation). Two devices sit on two IOMMUs (one with a
 * user-managed PASID table) whose page_response feeds the invariant
 * checker. After the input the context is freed and the checker must be
 * happy: every last-page request answered exactly once, no partial
 * answered, every delivered group freed once, nothing left allocated. The
 * handlers also check that no attachment gets a handler call or a work item
 * after its detach (or replace) returned.
 */
#include <errno.h>
#include <stddef.h>

#include <iopf/iopf.h>
#include <iopf/testing.h>

#include "fuzz.h"
#include "invariants.h"

#define NR_DEVS	   2
#define NR_DOMS	   3
#define NR_HANDLES 8
#define MAX_HELD   32
#define MAX_OPS	   1024
#define MAX_PASIDS 16
#define DEV_ID(i)  (0x10u + (uint32_t)(i))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

enum fz_mode { FZ_HOLD, FZ_RESPOND, FZ_WORK, FZ_FAIL, FZ_NR_MODES };

struct fz;

struct fz_dom {
	struct fz *fz;
	struct iopf_domain *domain;
	enum fz_mode mode;
	uint32_t code;
};

struct fz_handle {
	struct iopf_attach_handle h;
	bool live; /* attached, and no detach or replace of it returned */
	unsigned int dev;
	uint32_t pasid;
};

struct fz {
	struct fz_in in;
	struct inv *inv;
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu[NR_DEVS];
	struct iopf_queue *queue;
	struct iopf_device *dev[NR_DEVS];
	struct fz_dom dom[NR_DOMS];
	struct fz_handle handle[NR_HANDLES];
	struct iopf_group *held[MAX_HELD];
	size_t nr_held;
};

/* ---- the backend and the handlers --------------------------------------- */

static void fz_page_response(struct iopf_device *dev,
			     const struct iopf_fault *evt,
			     const struct iopf_page_response *msg)
{
	struct fz *f = iopf_iommu_drvdata(iopf_device_iommu(dev));

	inv_responded(f->inv, iopf_device_id(dev), evt, msg);
}

static struct fz_handle *fz_handle_of(struct fz *f,
				      struct iopf_attach_handle *h)
{
	struct fz_handle *fh = container_of(h, struct fz_handle, h);

	FZ_CHECK(fh >= f->handle && fh < f->handle + NR_HANDLES);
	return fh;
}

/* What any group must look like when a handler gets it. */
static void fz_check_group(struct fz *f, struct iopf_group *group)
{
	const struct iopf_fault *last = iopf_group_last_fault(group);
	size_t n = iopf_group_fault_count(group);
	struct fz_handle *fh;

	fh = fz_handle_of(f, iopf_group_attach_handle(group));
	/* No handler call, no work, after the detach returned. */
	FZ_CHECK(fh->live);
	FZ_CHECK(iopf_group_device(group) == f->dev[fh->dev]);
	FZ_CHECK(n >= 1 && last);
	FZ_CHECK(last->prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE);
	FZ_CHECK(iopf_group_fault_at(group, n - 1) == last);
	FZ_CHECK(iopf_group_fault_at(group, n) == NULL);
	for (size_t i = 0; i + 1 < n; i++) {
		const struct iopf_fault *p = iopf_group_fault_at(group, i);

		FZ_CHECK(p && p->prm.grpid == last->prm.grpid);
		FZ_CHECK(!(p->prm.flags & IOPF_FAULT_PAGE_REQUEST_LAST_PAGE));
	}
}

static void fz_answer(struct fz *f, struct iopf_group *group, uint32_t code)
{
	iopf_group_response(group, (enum iopf_page_response_code)code);
	inv_group_freed(f->inv, group);
	iopf_free_group(group);
}

static void fz_work(struct iopf_group *group)
{
	struct fz_dom *d =
		iopf_domain_priv(iopf_group_attach_handle(group)->domain);

	fz_check_group(d->fz, group);
	fz_answer(d->fz, group, d->code);
}

static int fz_handler(struct iopf_group *group)
{
	struct fz_dom *d =
		iopf_domain_priv(iopf_group_attach_handle(group)->domain);
	struct fz *f = d->fz;

	fz_check_group(f, group);
	if (d->mode == FZ_FAIL)
		return -EIO;
	inv_group_delivered(f->inv, group);
	switch (d->mode) {
	case FZ_WORK:
		FZ_CHECK(iopf_queue_work(group, fz_work) == 0);
		/* Queued twice is refused. */
		FZ_CHECK(iopf_queue_work(group, fz_work) == -EBUSY);
		return 0;
	case FZ_HOLD:
		if (f->nr_held < MAX_HELD) {
			f->held[f->nr_held++] = group;
			return 0;
		}
		/* fall through */
	default:
		fz_answer(f, group, d->code);
		return 0;
	}
}

/* ---- operations ---------------------------------------------------------- */

static bool ret_in(int ret, const int *ok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ret == ok[i])
			return true;
	return false;
}

#define FZ_RET(ret, ...)                                                  \
	do {                                                              \
		const int ok_[] = { __VA_ARGS__ };                        \
		FZ_CHECK(ret_in(ret, ok_, sizeof(ok_) / sizeof(ok_[0]))); \
	} while (0)

static uint32_t fz_pasid(struct fz *f)
{
	uint8_t b = fz_u8(&f->in);

	if (b < 0xf0)
		return b % 4; /* the RID and three PASIDs: collisions */
	if (b < 0xf8)
		return fz_u32(&f->in) % MAX_PASIDS;
	return fz_u32(&f->in); /* out of range */
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

/*
 * After a detach, replace or device free returned: only the handle the
 * routing table still shows at (dev, pasid) may stay live there.
 */
static void fz_reconcile(struct fz *f, unsigned int dev)
{
	for (unsigned int i = 0; i < NR_HANDLES; i++) {
		struct fz_handle *fh = &f->handle[i];
		struct iopf_attach_handle *cur = NULL;

		if (!fh->live || fh->dev != dev)
			continue;
		if (!f->dev[dev] ||
		    iopf_attach_handle_get(f->dev[dev], fh->pasid,
					   IOPF_DOMAIN_ANY, &cur) ||
		    cur != &fh->h)
			fh->live = false;
	}
}

static void op_attach(struct fz *f, bool replace)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	struct fz_dom *d = &f->dom[fz_below(&f->in, NR_DOMS)];
	uint32_t pasid = fz_pasid(f);
	bool bare = !replace && (fz_u8(&f->in) & 1);
	struct fz_handle *fh = fz_free_handle(f);
	struct iopf_attach_handle *h = bare || !fh ? NULL : &fh->h;
	int ret;

	if (replace) {
		ret = pasid == IOPF_NO_PASID ?
			      iopf_replace_device(d->domain, f->dev[v], h) :
			      iopf_replace_device_pasid(d->domain, f->dev[v],
							pasid, h);
	} else {
		ret = pasid == IOPF_NO_PASID ?
			      iopf_attach_device(d->domain, f->dev[v], h) :
			      iopf_attach_device_pasid(d->domain, f->dev[v],
						       pasid, h);
	}
	FZ_RET(ret, 0, -EINVAL, -EBUSY, -ENOMEM, -EOPNOTSUPP, -ENODEV);
	if (ret)
		return;
	FZ_CHECK(d->domain && f->dev[v]);
	if (h) {
		FZ_CHECK(h->domain == d->domain);
		fh->live = true;
		fh->dev = v;
		fh->pasid = pasid;
	}
	if (replace)
		fz_reconcile(f, v);
}

static void op_detach(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	struct fz_dom *d = &f->dom[fz_below(&f->in, NR_DOMS)];
	uint32_t pasid = fz_pasid(f);

	if (pasid == IOPF_NO_PASID)
		iopf_detach_device(d->domain, f->dev[v]);
	else
		iopf_detach_device_pasid(d->domain, f->dev[v], pasid);
	fz_reconcile(f, v);
}

static void op_report(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	uint8_t shape = fz_u8(&f->in);
	struct iopf_fault evt = { .type = IOPF_FAULT_PAGE_REQ };
	int ret;

	evt.prm.flags = shape & 7; /* PASID_VALID, LAST_PAGE, NEEDS_PASID */
	if (shape & 0x80)
		evt.prm.flags = fz_u32(&f->in);
	if ((shape & 0x78) == 0x78)
		evt.type = fz_u8(&f->in);
	evt.prm.pasid = fz_pasid(f);
	evt.prm.grpid = (shape & 0x40) ? fz_u32(&f->in) : fz_below(&f->in, 8);
	evt.prm.perm = fz_u8(&f->in) & 0x1f;
	evt.prm.addr = fz_u64(&f->in);
	evt.prm.private_data[1] = fz_u64(&f->in);
	if (!f->dev[v]) {
		FZ_CHECK(iopf_report_device_fault(NULL, &evt) == -EINVAL);
		return;
	}
	inv_tag(f->inv, &evt);
	ret = iopf_report_device_fault(f->dev[v], &evt);
	FZ_RET(ret, 0, -EINVAL, -ENOMEM);
	inv_reported(f->inv, DEV_ID(v), &evt, ret);
}

static struct iopf_group *fz_take_held(struct fz *f, bool remove)
{
	size_t i;
	struct iopf_group *group;

	if (!f->nr_held)
		return NULL;
	i = fz_below(&f->in, (uint32_t)f->nr_held);
	group = f->held[i];
	if (remove)
		f->held[i] = f->held[--f->nr_held];
	return group;
}

static void op_respond(struct fz *f)
{
	struct iopf_group *group = fz_take_held(f, false);
	uint8_t b = fz_u8(&f->in);
	uint32_t code = b < 0xf0 ? b % 3u : fz_u32(&f->in);

	if (group)
		iopf_group_response(group, (enum iopf_page_response_code)code);
}

static void op_free_group(struct fz *f)
{
	struct iopf_group *group = fz_take_held(f, true);

	if (group) {
		inv_group_freed(f->inv, group);
		iopf_free_group(group);
	}
}

static void op_queue(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	int ret;

	switch (fz_below(&f->in, 6)) {
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
	case 3:
		ret = iopf_queue_flush_dev(f->dev[v]);
		FZ_RET(ret, 0, -EINVAL, -ENODEV);
		FZ_CHECK(ret || iopf_queue_pending(f->queue) == 0);
		break;
	case 4:
		iopf_queue_run(f->queue, fz_below(&f->in, 4));
		break;
	default:
		ret = iopf_iommu_set_queue(f->iommu[v],
					   fz_u8(&f->in) & 1 ? f->queue : NULL);
		FZ_RET(ret, 0, -EBUSY);
		break;
	}
}

static const enum iopf_domain_type fz_types[] = {
	IOPF_DOMAIN_PAGING,  IOPF_DOMAIN_NESTED,   IOPF_DOMAIN_SVA,
	IOPF_DOMAIN_BLOCKED, IOPF_DOMAIN_IDENTITY,
};

static void fz_domain_new(struct fz *f, struct fz_dom *d, uint8_t b)
{
	enum iopf_domain_type type = fz_types[b % 5];
	struct iopf_domain *out = NULL;
	int ret;

	d->fz = f;
	d->domain = NULL;
	if (b >= 0xf8) {
		/* Out of range: refused, out untouched. */
		type = b & 1 ? IOPF_DOMAIN_ANY : (enum iopf_domain_type)77;
		ret = iopf_domain_new(f->ctx, type, fz_handler, d, &out);
		FZ_CHECK(ret == -EINVAL && !out);
		return;
	}
	ret = iopf_domain_new(f->ctx, type, b & 0x40 ? NULL : fz_handler, d,
			      &out);
	FZ_RET(ret, 0, -ENOMEM);
	FZ_CHECK(ret ? !out : !!out);
	d->domain = out;
}

static void op_domain(struct fz *f)
{
	struct fz_dom *d = &f->dom[fz_below(&f->in, NR_DOMS)];
	uint8_t b = fz_u8(&f->in);
	int ret;

	if (b < 0x80) {
		d->mode = (enum fz_mode)(b % FZ_NR_MODES);
		d->code = b & 0x40 ? fz_u32(&f->in) : (b >> 2) % 3u;
		return;
	}
	ret = iopf_domain_free(d->domain);
	FZ_RET(ret, 0, -EBUSY);
	if (!ret)
		fz_domain_new(f, d, fz_u8(&f->in));
}

static void fz_device_new(struct fz *f, unsigned int v)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = DEV_ID(v),
		.max_pasids = MAX_PASIDS,
	};
	struct iopf_device *dev = NULL;
	int ret = iopf_device_new(f->iommu[v], &attr, &dev);

	FZ_RET(ret, 0, -ENOMEM);
	f->dev[v] = dev;
}

static void op_device(struct fz *f)
{
	unsigned int v = fz_below(&f->in, NR_DEVS);
	struct iopf_attach_handle *h = NULL;
	uint32_t pasid = fz_pasid(f);
	int ret;

	if (fz_u8(&f->in) & 1) {
		/* A lookup: a handle found must be a live one. */
		ret = iopf_attach_handle_get(f->dev[v], pasid,
					     fz_types[fz_below(&f->in, 5)], &h);
		FZ_RET(ret, 0, -EINVAL, -ENOENT, -EBUSY);
		if (!ret)
			FZ_CHECK(fz_handle_of(f, h)->live);
		return;
	}
	iopf_device_free(f->dev[v]);
	f->dev[v] = NULL;
	fz_reconcile(f, v);
	fz_device_new(f, v);
}

static void op_fail_nth(struct fz *f)
{
	/* -EOPNOTSUPP without fault injection: then it does nothing. */
	iopf_testing_fail_nth(1 + fz_below(&f->in, 16));
}

static void fz_run(struct fz *f)
{
	for (unsigned int n = 0; n < MAX_OPS && fz_more(&f->in); n++) {
		switch (fz_below(&f->in, 12)) {
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
		case 5:
			op_report(f);
			break;
		case 6:
			op_respond(f);
			break;
		case 7:
			op_free_group(f);
			break;
		case 8:
			op_queue(f);
			break;
		case 9:
			op_domain(f);
			break;
		case 10:
			op_device(f);
			break;
		default:
			op_fail_nth(f);
			break;
		}
	}
}

/* ---- setup and the final check ------------------------------------------ */

static int fz_setup(struct fz *f)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr) };
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = fz_page_response,
	};

	if (inv_new(&f->inv) || iopf_ctx_new(&f->ctx))
		return -ENOMEM;
	for (unsigned int v = 0; v < NR_DEVS; v++) {
		ops.user_pasid_table = v == 1;
		if (iopf_iommu_new(f->ctx, NULL, &ops, f, &f->iommu[v]))
			return -ENOMEM;
		fz_device_new(f, v);
		if (!f->dev[v])
			return -ENOMEM;
	}
	if (iopf_queue_alloc(f->ctx, "fuzzq", &qattr, &f->queue))
		return -ENOMEM;
	for (unsigned int d = 0; d < NR_DOMS; d++) {
		f->dom[d].mode = (enum fz_mode)d;
		fz_domain_new(f, &f->dom[d], 0);
	}
	FZ_CHECK(iopf_queue_add_device(f->queue, f->dev[0]) == 0);
	FZ_CHECK(iopf_iommu_set_queue(f->iommu[1], f->queue) == 0);
	return 0;
}

static void fz_teardown(struct fz *f)
{
	struct inv_stats st;
	long live;

	iopf_testing_fail_nth(0);
	while (f->nr_held) {
		inv_group_freed(f->inv, f->held[--f->nr_held]);
		iopf_free_group(f->held[f->nr_held]);
	}
	iopf_ctx_free(f->ctx);
	FZ_CHECK(inv_check(f->inv, INV_ALL_FREED, stderr) == 0);
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
	/* Setup does not fail without injected failures, armed only below. */
	FZ_CHECK(fz_setup(&f) == 0);
	fz_run(&f);
	fz_teardown(&f);
	return 0;
}
