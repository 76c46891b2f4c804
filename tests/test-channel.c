// SPDX-License-Identifier: MIT
/*
 * Unit tests of the user fault channel (the iommufd fault object): the
 * kernel selftests' fault scenarios and the cases they leave out
 * (KERNEL-SEMANTICS.md §4.8).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/channel.h>
#include <iopf/iopf.h>

#include "channel/channel-priv.h"

#define NR_PASIDS 4096
#define REC	  sizeof(struct iopf_user_fault)
#define RESP	  sizeof(struct iopf_user_response)
#define LAST	  IOPF_FAULT_PAGE_REQUEST_LAST_PAGE
#define PV	  IOPF_FAULT_PAGE_REQUEST_PASID_VALID
#define RW	  (IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE)
#define SUCCESS	  IOPF_PAGE_RESP_SUCCESS
#define INVALID	  IOPF_PAGE_RESP_INVALID

struct fx {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_queue *queue;
	struct iopf_device *dev;
	struct iopf_channel *ch;
};

static struct iopf_device *new_device(struct fx *f, uint32_t id)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = id,
		.max_pasids = NR_PASIDS,
	};
	struct iopf_device *dev = NULL;

	assert_int_equal(iopf_device_new(iopf_mock_iommu(f->mock), &attr, &dev),
			 0);
	return dev;
}

static int fx_setup(void **state, bool user_pasid_table)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 0 };
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iopf_ctx_new(&f->ctx), 0);
	assert_int_equal(
		iopf_mock_new(f->ctx, "mock", user_pasid_table, &f->mock), 0);
	assert_int_equal(iopf_queue_alloc(f->ctx, "q", &qattr, &f->queue), 0);
	assert_int_equal(
		iopf_iommu_set_queue(iopf_mock_iommu(f->mock), f->queue), 0);
	f->dev = new_device(f, 0x10);
	assert_int_equal(iopf_channel_new(f->ctx, &f->ch), 0);
	*state = f;
	return 0;
}

static int setup_upt(void **state)
{
	return fx_setup(state, true);
}

static int setup_plain(void **state)
{
	return fx_setup(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	long live;

	iopf_ctx_free(f->ctx);
	free(f);
	/* with -Dfault_injection=true every allocation is counted */
	live = iopf_testing_live_allocations();
	if (live != -EOPNOTSUPP)
		assert_int_equal(live, 0);
	return 0;
}

static int report(struct iopf_device *dev, uint32_t flags, uint32_t pasid,
		  uint32_t grpid, uint32_t perm, uint64_t addr)
{
	struct iopf_fault evt = {
		.type = IOPF_FAULT_PAGE_REQ,
		.prm = {
			.flags = flags,
			.pasid = pasid,
			.grpid = grpid,
			.perm = perm,
			.addr = addr,
		},
	};

	return iopf_report_device_fault(dev, &evt);
}

/* What the kernel selftests' trigger does: one single-fault group. */
static void trigger(struct iopf_device *dev, uint32_t pasid, uint64_t addr)
{
	uint32_t flags = LAST | (pasid != IOPF_NO_PASID ? PV : 0);

	assert_int_equal(report(dev, flags, pasid, 2, RW, addr), 0);
}

static bool readable(struct iopf_channel *ch)
{
	struct pollfd pfd = { .fd = iopf_channel_fd(ch), .events = POLLIN };

	assert_true(pfd.fd >= 0);
	assert_true(poll(&pfd, 1, 0) >= 0);
	return pfd.revents & POLLIN;
}

static ssize_t respond(struct iopf_channel *ch, uint32_t cookie, uint32_t code)
{
	struct iopf_user_response r = { .cookie = cookie, .code = code };

	return iopf_channel_write(ch, &r, sizeof(r));
}

static struct iopf_mock_response response_at(struct fx *f, size_t i)
{
	struct iopf_mock_response r;

	assert_int_equal(iopf_mock_response_at(f->mock, i, &r), 0);
	return r;
}

static void assert_record(const struct iopf_user_fault *r, uint32_t flags,
			  uint32_t dev_id, uint32_t pasid, uint32_t grpid,
			  uint64_t addr, uint32_t cookie)
{
	assert_int_equal(r->flags, flags);
	assert_int_equal(r->dev_id, dev_id);
	assert_int_equal(r->pasid, pasid);
	assert_int_equal(r->grpid, grpid);
	assert_int_equal(r->perm, RW);
	assert_int_equal(r->reserved, 0);
	assert_int_equal(r->addr, addr);
	assert_int_equal(r->length, 0);
	assert_int_equal(r->cookie, cookie);
}

/* Read exactly one single-fault group and return its cookie. */
static uint32_t read_one(struct iopf_channel *ch, uint64_t addr)
{
	struct iopf_user_fault rec;

	assert_int_equal(iopf_channel_read(ch, &rec, sizeof(rec)), REC);
	assert_int_equal(rec.addr, addr);
	return rec.cookie;
}

static void test_bad_args(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *dom = (struct iopf_domain *)f;
	struct iopf_channel *ch = (struct iopf_channel *)f;
	static const int bad_types[] = {
		IOPF_DOMAIN_ANY,
		IOPF_DOMAIN_BLOCKED,
		IOPF_DOMAIN_IDENTITY,
		IOPF_DOMAIN_SVA,
		42,
		-1,
	};
	char buf[REC];
	size_t i;

	assert_int_equal(iopf_channel_new(NULL, &ch), -EINVAL);
	assert_int_equal(iopf_channel_new(f->ctx, NULL), -EINVAL);
	assert_ptr_equal(ch, (struct iopf_channel *)f);
	assert_int_equal(iopf_channel_free(NULL), 0);
	assert_int_equal(iopf_channel_fd(NULL), -EINVAL);
	assert_int_equal(
		iopf_channel_domain_new(NULL, IOPF_DOMAIN_PAGING, &dom),
		-EINVAL);
	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_PAGING, NULL),
		-EINVAL);
	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
		assert_int_equal(
			iopf_channel_domain_new(f->ch, bad_types[i], &dom),
			-EINVAL);
	assert_ptr_equal(dom, (struct iopf_domain *)f);
	assert_int_equal(iopf_channel_read(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(iopf_channel_write(NULL, buf, RESP), -EINVAL);
	assert_true(iopf_channel_fd(f->ch) >= 0);
	assert_false(readable(f->ch));
	/* nothing was created: the channel frees at once */
	assert_int_equal(iopf_channel_free(f->ch), 0);
	f->ch = NULL;
}

/*
 * iommufd_ioas.alloc_hwpt_nested: a NESTED fault-capable domain replaces the
 * RID's parent, cannot be freed while attached, and a fault with PASID 1
 * reaches it through the user PASID table; then back to the parent.
 */
static void test_selftest_nested_rid(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h0, h1, h2;
	struct iopf_domain *parent, *iopf;
	struct iopf_mock_response r;
	struct iopf_user_fault rec;

	assert_int_equal(iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL,
					 &parent),
			 0);
	assert_int_equal(iopf_attach_device(parent, f->dev, &h0), 0);
	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_NESTED, &iopf), 0);
	assert_int_equal(iopf_domain_type(iopf), IOPF_DOMAIN_NESTED);
	assert_int_equal(iopf_replace_device(iopf, f->dev, &h1), 0);
	assert_int_equal(iopf_domain_free(iopf), -EBUSY);

	trigger(f->dev, 1, 0xdeadbeaf);
	assert_int_equal(iopf_channel_read(f->ch, &rec, sizeof(rec)), REC);
	assert_record(&rec, LAST | PV, 0x10, 1, 2, 0xdeadbeaf, 1);
	assert_int_equal(respond(f->ch, rec.cookie, SUCCESS), RESP);

	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	r = response_at(f, 0);
	assert_int_equal(r.dev_id, 0x10);
	assert_int_equal(r.msg.code, SUCCESS);
	assert_int_equal(r.msg.pasid, 1);
	assert_int_equal(r.msg.grpid, 2);
	assert_int_equal(r.evt.prm.addr, 0xdeadbeaf);

	assert_int_equal(iopf_replace_device(parent, f->dev, &h2), 0);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_int_equal(iopf_domain_free(iopf), 0);
	assert_int_equal(iopf_channel_free(f->ch), 0);
	f->ch = NULL;
	iopf_detach_device(parent, f->dev);
	assert_int_equal(iopf_domain_free(parent), 0);
}

/*
 * iommufd_device_pasid.pasid_attach: a fault-capable domain at PASID 2048,
 * a fault there read and answered, then the PASID replaced by a domain that
 * is not fault-capable, detached and freed.
 */
static void test_selftest_pasid_2048(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h1, h2, h3, *got = NULL;
	struct iopf_domain *iopf, *plain;
	struct iopf_mock_response r;
	struct iopf_user_fault rec;

	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_NESTED, &iopf), 0);
	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL, &plain),
		0);
	assert_int_equal(iopf_attach_device_pasid(iopf, f->dev, 2048, &h1), 0);
	assert_int_equal(iopf_attach_device_pasid(iopf, f->dev, 2048, &h3),
			 -EBUSY);
	assert_int_equal(iopf_replace_device_pasid(plain, f->dev, 1024, &h3),
			 -EINVAL);
	assert_int_equal(
		iopf_attach_handle_get(f->dev, 2048, IOPF_DOMAIN_NESTED, &got),
		0);
	assert_ptr_equal(got, &h1);
	assert_int_equal(iopf_domain_free(iopf), -EBUSY);

	trigger(f->dev, 2048, 0xdeadbeaf);
	assert_true(readable(f->ch));
	assert_int_equal(iopf_channel_read(f->ch, &rec, sizeof(rec)), REC);
	assert_record(&rec, LAST | PV, 0x10, 2048, 2, 0xdeadbeaf, 1);
	assert_false(readable(f->ch));
	assert_int_equal(respond(f->ch, rec.cookie, SUCCESS), RESP);
	r = response_at(f, 0);
	assert_int_equal(r.msg.code, SUCCESS);
	assert_int_equal(r.msg.pasid, 2048);

	/* nothing pending: the replace's auto-response sends nothing */
	assert_int_equal(iopf_replace_device_pasid(plain, f->dev, 2048, &h2),
			 0);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_int_equal(
		iopf_attach_handle_get(f->dev, 2048, IOPF_DOMAIN_ANY, &got), 0);
	assert_ptr_equal(got, &h2);
	assert_int_equal(iopf_domain_free(iopf), 0);
	iopf_detach_device_pasid(plain, f->dev, 2048);
	assert_int_equal(iopf_domain_free(plain), 0);
	assert_int_equal(iopf_channel_free(f->ch), 0);
	f->ch = NULL;
}

/* Freeing is refused while in use, in both directions. */
static void test_free_busy(void **state)
{
	struct fx *f = *state;
	struct iopf_domain *a, *b;
	struct iopf_attach_handle h;

	assert_int_equal(iopf_channel_domain_new(f->ch, IOPF_DOMAIN_PAGING, &a),
			 0);
	assert_int_equal(iopf_channel_domain_new(f->ch, IOPF_DOMAIN_NESTED, &b),
			 0);
	assert_int_equal(iopf_attach_device(a, f->dev, &h), 0);
	assert_int_equal(iopf_domain_free(a), -EBUSY);
	assert_int_equal(iopf_channel_free(f->ch), -EBUSY);
	iopf_detach_device(a, f->dev);
	assert_int_equal(iopf_domain_free(a), 0);
	/* b was never attached, but it still uses the channel */
	assert_int_equal(iopf_channel_free(f->ch), -EBUSY);
	assert_int_equal(iopf_domain_free(b), 0);
	assert_int_equal(iopf_channel_free(f->ch), 0);
	f->ch = NULL;
}

/* Attach a PAGING channel domain at the RID of @dev. */
static struct iopf_domain *attach_rid(struct fx *f, struct iopf_device *dev,
				      struct iopf_attach_handle *h)
{
	struct iopf_domain *dom;

	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_PAGING, &dom), 0);
	assert_int_equal(iopf_attach_device(dom, dev, h), 0);
	return dom;
}

/* Partials first, one cookie, flags verbatim; the device hears one answer. */
static void test_multi_fault_group(void **state)
{
	struct fx *f = *state;
	struct iopf_user_fault rec[8];
	struct iopf_attach_handle h;
	struct iopf_mock_response r;

	attach_rid(f, f->dev, &h);
	assert_int_equal(report(f->dev, 0, 0, 5, RW, 0x1000), 0);
	assert_int_equal(report(f->dev, 0, 0, 5, RW, 0x2000), 0);
	/* partials stay in the core until the last request */
	assert_false(readable(f->ch));
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), 0);
	assert_int_equal(report(f->dev, LAST, 0, 5, RW, 0x3000), 0);
	assert_true(readable(f->ch));

	memset(rec, 0xa5, sizeof(rec));
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), 3 * REC);
	assert_record(&rec[0], 0, 0x10, 0, 5, 0x1000, 1);
	assert_record(&rec[1], 0, 0x10, 0, 5, 0x2000, 1);
	assert_record(&rec[2], LAST, 0x10, 0, 5, 0x3000, 1);
	/* the rest of the buffer is untouched */
	assert_int_equal(rec[3].cookie, 0xa5a5a5a5);

	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	r = response_at(f, 0);
	assert_int_equal(r.evt.prm.addr, 0x3000);
	assert_int_equal(r.msg.grpid, 5);
	assert_int_equal(r.msg.code, SUCCESS);
}

/* Kernel-only flag bits reach the user unchanged. */
static void test_flags_verbatim(void **state)
{
	struct fx *f = *state;
	uint32_t flags = LAST | PV | IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID;
	struct iopf_attach_handle h;
	struct iopf_user_fault rec;
	struct iopf_domain *dom;

	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_PAGING, &dom), 0);
	assert_int_equal(iopf_attach_device_pasid(dom, f->dev, 9, &h), 0);
	assert_int_equal(report(f->dev, flags, 9, 77, RW, 0xabc000), 0);
	assert_int_equal(iopf_channel_read(f->ch, &rec, sizeof(rec)), REC);
	assert_record(&rec, flags, 0x10, 9, 77, 0xabc000, 1);
	assert_int_equal(respond(f->ch, 1, INVALID), RESP);
	assert_int_equal(response_at(f, 0).msg.code, INVALID);
	assert_int_equal(response_at(f, 0).msg.pasid, 9);
}

/* A group never splits: 0 when the first does not fit, else stop before it. */
static void test_group_does_not_fit(void **state)
{
	struct fx *f = *state;
	struct iopf_user_fault rec[4];
	struct iopf_attach_handle h;

	attach_rid(f, f->dev, &h);
	assert_int_equal(report(f->dev, 0, 0, 1, RW, 0x1000), 0);
	assert_int_equal(report(f->dev, 0, 0, 1, RW, 0x2000), 0);
	assert_int_equal(report(f->dev, LAST, 0, 1, RW, 0x3000), 0);
	trigger(f->dev, IOPF_NO_PASID, 0x9000);

	assert_int_equal(iopf_channel_read(f->ch, rec, REC), 0);
	assert_int_equal(iopf_channel_read(f->ch, rec, 2 * REC), 0);
	assert_true(readable(f->ch));
	/* room for 4: the 3-fault group, then the next does fit (1 record) */
	assert_int_equal(iopf_channel_read(f->ch, rec, 4 * REC), 4 * REC);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[2].cookie, 1);
	assert_int_equal(rec[3].cookie, 2);
	assert_int_equal(rec[3].addr, 0x9000);
	assert_false(readable(f->ch));

	/* a single record first, then a 3-fault group that does not fit after it */
	trigger(f->dev, IOPF_NO_PASID, 0xa000);
	assert_int_equal(report(f->dev, 0, 0, 3, RW, 0xb000), 0);
	assert_int_equal(report(f->dev, 0, 0, 3, RW, 0xc000), 0);
	assert_int_equal(report(f->dev, LAST, 0, 3, RW, 0xd000), 0);
	assert_int_equal(iopf_channel_read(f->ch, rec, 3 * REC), REC);
	assert_int_equal(rec[0].addr, 0xa000);
	assert_int_equal(rec[0].cookie, 3);
	assert_true(readable(f->ch));
	assert_int_equal(iopf_channel_read(f->ch, rec, 3 * REC), 3 * REC);
	assert_int_equal(rec[0].addr, 0xb000);
	assert_int_equal(rec[2].addr, 0xd000);
	assert_int_equal(rec[0].cookie, 4);
	assert_false(readable(f->ch));
	assert_int_equal(iopf_mock_response_count(f->mock), 0);
}

/* Counts that are not whole records, and missing buffers, change nothing. */
static void test_bad_counts(void **state)
{
	struct fx *f = *state;
	static const size_t bad_read[] = { 1, REC - 1, REC + 1, 2 * REC - 8 };
	static const size_t bad_write[] = { 1, RESP - 1, RESP + 1,
					    3 * RESP + 4 };
	struct iopf_user_fault rec[2];
	struct iopf_attach_handle h;
	size_t i;

	attach_rid(f, f->dev, &h);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	for (i = 0; i < sizeof(bad_read) / sizeof(bad_read[0]); i++)
		assert_int_equal(iopf_channel_read(f->ch, rec, bad_read[i]),
				 -ESPIPE);
	for (i = 0; i < sizeof(bad_write) / sizeof(bad_write[0]); i++)
		assert_int_equal(iopf_channel_write(f->ch, rec, bad_write[i]),
				 -ESPIPE);
	assert_int_equal(iopf_channel_read(f->ch, rec, 0), 0);
	assert_int_equal(iopf_channel_read(f->ch, NULL, 0), 0);
	assert_int_equal(iopf_channel_read(f->ch, NULL, REC), -EFAULT);
	assert_int_equal(iopf_channel_read(f->ch, NULL, REC + 1), -ESPIPE);
	assert_int_equal(iopf_channel_write(f->ch, rec, 0), 0);
	assert_int_equal(iopf_channel_write(f->ch, NULL, RESP), -EFAULT);
	/* the group is still waiting and gets cookie 1 */
	assert_true(readable(f->ch));
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	/* a bad write count consumes nothing */
	assert_int_equal(
		iopf_channel_write(f->ch, &(struct iopf_user_response){ 1, 0 },
				   RESP - 1),
		-ESPIPE);
	assert_int_equal(iopf_mock_response_count(f->mock), 0);
	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
}

/* Unknown, zero and used cookies, and codes user space may not send. */
static void test_invalid_cookie_and_code(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;

	attach_rid(f, f->dev, &h);
	assert_int_equal(respond(f->ch, 1, SUCCESS),
			 -EINVAL); /* nothing read */
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	assert_int_equal(respond(f->ch, 1, SUCCESS),
			 -EINVAL); /* not read yet */
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	assert_int_equal(respond(f->ch, 0, SUCCESS), -EINVAL);
	assert_int_equal(respond(f->ch, 2, SUCCESS), -EINVAL);
	assert_int_equal(respond(f->ch, UINT32_MAX, SUCCESS), -EINVAL);
	assert_int_equal(respond(f->ch, 1, IOPF_PAGE_RESP_FAILURE), -EINVAL);
	assert_int_equal(respond(f->ch, 1, 3), -EINVAL);
	assert_int_equal(respond(f->ch, 1, UINT32_MAX), -EINVAL);
	/* a bad code does not use the cookie up */
	assert_int_equal(iopf_mock_response_count(f->mock), 0);
	assert_int_equal(respond(f->ch, 1, INVALID), RESP);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_int_equal(response_at(f, 0).msg.code, INVALID);
	assert_int_equal(respond(f->ch, 1, SUCCESS), -EINVAL); /* used */
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
}

/* A write stops at its first bad record and returns what it consumed. */
static void test_mixed_write(void **state)
{
	struct fx *f = *state;
	struct iopf_user_response batch[4] = {
		{ 1, SUCCESS },
		{ 2, INVALID },
		{ 9, SUCCESS },
		{ 3, SUCCESS },
	};
	struct iopf_user_response bad_first[2] = { { 3, 7 }, { 3, SUCCESS } };
	struct iopf_user_fault rec[3];
	struct iopf_attach_handle h;

	attach_rid(f, f->dev, &h);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	trigger(f->dev, IOPF_NO_PASID, 0x2000);
	trigger(f->dev, IOPF_NO_PASID, 0x3000);
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), 3 * REC);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[1].cookie, 2);
	assert_int_equal(rec[2].cookie, 3);

	assert_int_equal(iopf_channel_write(f->ch, batch, sizeof(batch)),
			 2 * RESP);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
	assert_int_equal(response_at(f, 0).evt.prm.addr, 0x1000);
	assert_int_equal(response_at(f, 0).msg.code, SUCCESS);
	assert_int_equal(response_at(f, 1).evt.prm.addr, 0x2000);
	assert_int_equal(response_at(f, 1).msg.code, INVALID);

	/* the first record is bad: the error, and the good one is not taken */
	assert_int_equal(
		iopf_channel_write(f->ch, bad_first, sizeof(bad_first)),
		-EINVAL);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
	/* the tail of the first batch, resent, now goes through */
	assert_int_equal(iopf_channel_write(f->ch, &batch[3], RESP), RESP);
	assert_int_equal(response_at(f, 2).evt.prm.addr, 0x3000);
	assert_int_equal(iopf_mock_response_count(f->mock), 3);
}

/* Cookies are the lowest free number from 1, reused once answered. */
static void test_cookie_reuse(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;
	uint64_t a = 0x1000;
	int i;

	attach_rid(f, f->dev, &h);
	for (i = 1; i <= 3; i++) {
		trigger(f->dev, IOPF_NO_PASID, a);
		assert_int_equal(read_one(f->ch, a), i);
		a += 0x1000;
	}
	assert_int_equal(respond(f->ch, 2, SUCCESS), RESP);
	trigger(f->dev, IOPF_NO_PASID, a);
	assert_int_equal(read_one(f->ch, a), 2);
	a += 0x1000;
	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP);
	assert_int_equal(respond(f->ch, 3, SUCCESS), RESP);
	trigger(f->dev, IOPF_NO_PASID, a);
	assert_int_equal(read_one(f->ch, a), 1);
	a += 0x1000;
	trigger(f->dev, IOPF_NO_PASID, a);
	assert_int_equal(read_one(f->ch, a), 3);
	a += 0x1000;
	trigger(f->dev, IOPF_NO_PASID, a);
	assert_int_equal(read_one(f->ch, a), 4);
	/* past the table's first size */
	for (i = 5; i <= 40; i++) {
		a += 0x1000;
		trigger(f->dev, IOPF_NO_PASID, a);
		assert_int_equal(read_one(f->ch, a), i);
	}
	assert_int_equal(respond(f->ch, 17, SUCCESS), RESP);
	a += 0x1000;
	trigger(f->dev, IOPF_NO_PASID, a);
	assert_int_equal(read_one(f->ch, a), 17);
}

static void assert_invalid_at(struct fx *f, size_t i, uint64_t addr)
{
	struct iopf_mock_response r = response_at(f, i);

	assert_int_equal(r.msg.code, INVALID);
	assert_int_equal(r.evt.prm.addr, addr);
}

/* Detach answers the groups nobody read, in arrival order. */
static void test_detach_undelivered(void **state)
{
	struct fx *f = *state;
	struct iopf_user_fault rec;
	struct iopf_attach_handle h;
	struct iopf_domain *dom;

	dom = attach_rid(f, f->dev, &h);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	trigger(f->dev, IOPF_NO_PASID, 0x2000);
	assert_true(readable(f->ch));
	iopf_detach_device(dom, f->dev);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
	assert_invalid_at(f, 0, 0x1000);
	assert_invalid_at(f, 1, 0x2000);
	assert_false(readable(f->ch));
	assert_int_equal(iopf_channel_read(f->ch, &rec, sizeof(rec)), 0);
	assert_int_equal(iopf_domain_free(dom), 0);
}

/* Detach answers groups read and not answered; their cookies die. */
static void test_detach_unanswered(void **state)
{
	struct fx *f = *state;
	struct iopf_user_fault rec[2];
	struct iopf_attach_handle h;
	struct iopf_domain *dom;

	dom = attach_rid(f, f->dev, &h);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	trigger(f->dev, IOPF_NO_PASID, 0x2000);
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), 2 * REC);
	trigger(f->dev, IOPF_NO_PASID, 0x3000); /* not read */
	iopf_detach_device(dom, f->dev);
	assert_int_equal(iopf_mock_response_count(f->mock), 3);
	/* the kernel's order: undelivered first, then by cookie */
	assert_invalid_at(f, 0, 0x3000);
	assert_invalid_at(f, 1, 0x1000);
	assert_invalid_at(f, 2, 0x2000);
	assert_int_equal(respond(f->ch, 1, SUCCESS), -EINVAL);
	assert_int_equal(respond(f->ch, 2, SUCCESS), -EINVAL);
	assert_int_equal(iopf_mock_response_count(f->mock), 3);
	assert_false(readable(f->ch));
	assert_int_equal(iopf_domain_free(dom), 0);
}

static size_t count_for_dev(struct fx *f, uint32_t dev_id, uint32_t code)
{
	size_t i, n = 0;

	for (i = 0; i < iopf_mock_response_count(f->mock); i++) {
		struct iopf_mock_response r = response_at(f, i);

		n += r.dev_id == dev_id && r.msg.code == code;
	}
	return n;
}

/*
 * Replace answers only the old handle's groups: another device's groups on
 * the same channel stay, and new faults reach the new handle.
 */
static void test_replace_pending(void **state)
{
	struct fx *f = *state;
	struct iopf_device *dev2 = new_device(f, 0x20);
	struct iopf_attach_handle ha, hb, ha2, ha3;
	struct iopf_domain *a, *b, *plain;
	struct iopf_user_fault rec[4];
	uint32_t c;

	a = attach_rid(f, f->dev, &ha);
	assert_int_equal(iopf_attach_device(a, dev2, &hb), 0);
	assert_int_equal(iopf_channel_domain_new(f->ch, IOPF_DOMAIN_NESTED, &b),
			 0);
	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL, &plain),
		0);

	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	trigger(dev2, IOPF_NO_PASID, 0x2000);
	assert_int_equal(iopf_channel_read(f->ch, rec, 2 * REC), 2 * REC);
	assert_int_equal(rec[0].dev_id, 0x10);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[1].dev_id, 0x20);
	assert_int_equal(rec[1].cookie, 2);
	trigger(f->dev, IOPF_NO_PASID, 0x3000);
	trigger(dev2, IOPF_NO_PASID, 0x4000);

	/* same channel, another domain: f->dev's two groups are answered */
	assert_int_equal(iopf_replace_device(b, f->dev, &ha),
			 -EINVAL); /* installed */
	assert_int_equal(iopf_replace_device(b, f->dev, &ha2), 0);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
	assert_int_equal(count_for_dev(f, 0x10, INVALID), 2);
	assert_int_equal(respond(f->ch, 1, SUCCESS), -EINVAL);
	assert_true(readable(f->ch)); /* dev2's 0x4000 */

	/* a new fault reaches the new handle; cookie 1 is free again */
	trigger(f->dev, IOPF_NO_PASID, 0x5000);
	assert_int_equal(iopf_channel_read(f->ch, rec, 4 * REC), 2 * REC);
	assert_int_equal(rec[0].addr, 0x4000);
	assert_int_equal(rec[0].cookie, 1);
	assert_int_equal(rec[1].addr, 0x5000);
	assert_int_equal(rec[1].cookie, 3);
	c = rec[1].cookie;
	assert_int_equal(respond(f->ch, 2, SUCCESS), RESP); /* dev2 0x2000 */
	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP); /* dev2 0x4000 */
	assert_int_equal(count_for_dev(f, 0x20, SUCCESS), 2);

	/* replaced by a domain that is not fault-capable: answered too */
	assert_int_equal(iopf_replace_device(plain, f->dev, &ha3), 0);
	assert_int_equal(count_for_dev(f, 0x10, INVALID), 3);
	assert_int_equal(respond(f->ch, c, SUCCESS), -EINVAL);
	assert_int_equal(iopf_mock_response_count(f->mock), 5);
	/* and a fault now gets INVALID from the core, not the channel */
	assert_int_equal(report(f->dev, LAST, 0, 2, RW, 0x6000), -EINVAL);
	assert_int_equal(count_for_dev(f, 0x10, INVALID), 4);
	assert_false(readable(f->ch));
	iopf_device_free(dev2);
}

/* Freeing a device with an attached channel domain answers its groups. */
static void test_device_free_pending(void **state)
{
	struct fx *f = *state;
	struct iopf_device *dev2 = new_device(f, 0x20);
	struct iopf_attach_handle h;
	struct iopf_domain *dom;

	dom = attach_rid(f, dev2, &h);
	trigger(dev2, IOPF_NO_PASID, 0x1000);
	trigger(dev2, IOPF_NO_PASID, 0x2000);
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	iopf_device_free(dev2);
	assert_int_equal(count_for_dev(f, 0x20, INVALID), 2);
	assert_int_equal(iopf_mock_response_count(f->mock), 2);
	assert_false(readable(f->ch));
	assert_int_equal(respond(f->ch, 1, SUCCESS), -EINVAL);
	assert_int_equal(iopf_domain_free(dom), 0);
}

/*
 * Freeing the channel answers what it still holds. Only a group delivered by
 * a domain the channel did not create can outlive its attachment (channel
 * domains answer on detach), so the test builds one from the handler.
 */
static void test_channel_free_pending(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;
	struct iopf_domain *foreign;

	assert_int_equal(iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING,
					 iommufd_fault_iopf_handler, f->ch,
					 &foreign),
			 0);
	/* enabled by hand: the detach below leaves the pending groups alone */
	assert_int_equal(iopf_queue_add_device(f->queue, f->dev), 0);
	assert_int_equal(iopf_attach_device(foreign, f->dev, &h), 0);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	trigger(f->dev, IOPF_NO_PASID, 0x2000);
	trigger(f->dev, IOPF_NO_PASID, 0x3000);
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	iopf_detach_device(foreign, f->dev);
	assert_int_equal(iopf_domain_free(foreign), 0);
	assert_int_equal(iopf_mock_response_count(f->mock), 0);

	assert_true(readable(f->ch));
	assert_int_equal(iopf_channel_free(f->ch), 0);
	f->ch = NULL;
	assert_int_equal(iopf_mock_response_count(f->mock), 3);
	assert_invalid_at(f, 0, 0x2000);
	assert_invalid_at(f, 1, 0x3000);
	assert_invalid_at(f, 2, 0x1000);
	iopf_queue_remove_device(f->queue, f->dev);
}

struct trace_log {
	size_t n;
	struct iopf_trace_event ev[64];
};

static void trace_sink(const struct iopf_trace_event *ev, void *priv)
{
	struct trace_log *log = priv;

	if (log->n < 64)
		log->ev[log->n++] = *ev;
}

static size_t count_type(const struct trace_log *log, uint32_t type,
			 int32_t code)
{
	size_t i, n = 0;

	for (i = 0; i < log->n; i++)
		n += log->ev[i].type == type &&
		     (code < 0 || log->ev[i].code == code);
	return n;
}

/* Tearing the context down answers what the channel holds, leaking nothing. */
static void test_ctx_free_pending(void **state)
{
	struct fx *f = *state;
	struct trace_log log = { 0 };
	struct iopf_attach_handle h;

	attach_rid(f, f->dev, &h);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	trigger(f->dev, IOPF_NO_PASID, 0x2000);
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	assert_int_equal(iopf_trace_set_sink(f->ctx, trace_sink, &log), 0);
	iopf_ctx_free(f->ctx);
	f->ctx = NULL;
	assert_int_equal(count_type(&log, IOPF_TRACE_RESPONSE_SENT, INVALID),
			 2);
	assert_int_equal(count_type(&log, IOPF_TRACE_RESPONSE_SENT, -1), 2);
	assert_int_equal(count_type(&log, IOPF_TRACE_USER_WRITE, -1), 0);
}

/* POLLIN follows the deliver list exactly. */
static void test_poll_transitions(void **state)
{
	struct fx *f = *state;
	struct iopf_user_fault rec[2];
	struct iopf_attach_handle h;
	struct iopf_domain *dom;
	struct pollfd pfd;

	dom = attach_rid(f, f->dev, &h);
	assert_false(readable(f->ch));
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	assert_true(readable(f->ch));
	trigger(f->dev, IOPF_NO_PASID, 0x2000);
	assert_true(readable(f->ch));
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	assert_true(readable(f->ch));
	assert_int_equal(read_one(f->ch, 0x2000), 2);
	assert_false(readable(f->ch)); /* read but unanswered does not count */
	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP);
	assert_false(readable(f->ch));
	trigger(f->dev, IOPF_NO_PASID, 0x3000);
	assert_true(readable(f->ch));
	/* a blocking poll returns at once while readable */
	pfd = (struct pollfd){ .fd = iopf_channel_fd(f->ch), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, -1), 1);
	/* a failed read (no room) leaves it readable */
	assert_int_equal(iopf_channel_read(f->ch, rec, 0), 0);
	assert_true(readable(f->ch));
	iopf_detach_device(dom, f->dev);
	assert_false(readable(f->ch));
	assert_int_equal(iopf_mock_response_count(f->mock), 3);
	/* attach again: readable on the next fault */
	assert_int_equal(iopf_attach_device(dom, f->dev, &h), 0);
	trigger(f->dev, IOPF_NO_PASID, 0x4000);
	assert_true(readable(f->ch));
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), REC);
	assert_false(readable(f->ch));
}

/*
 * user_pasid_table: a NESTED domain at the RID catches the faults of PASIDs
 * with no attach handle of their own (absent or bare); a handle at the PASID
 * wins.
 */
static void test_user_pasid_table_nested(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h, h7;
	struct iopf_domain *nested, *bare, *d7;
	struct iopf_channel *ch2;
	struct iopf_user_fault rec[2];

	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_NESTED, &nested), 0);
	assert_int_equal(iopf_attach_device(nested, f->dev, &h), 0);
	assert_int_equal(
		iopf_domain_new(f->ctx, IOPF_DOMAIN_PAGING, NULL, NULL, &bare),
		0);
	assert_int_equal(iopf_attach_device_pasid(bare, f->dev, 6, NULL), 0);
	assert_int_equal(iopf_channel_new(f->ctx, &ch2), 0);
	assert_int_equal(iopf_channel_domain_new(ch2, IOPF_DOMAIN_PAGING, &d7),
			 0);
	assert_int_equal(iopf_attach_device_pasid(d7, f->dev, 7, &h7), 0);

	trigger(f->dev, 5, 0x5000);
	trigger(f->dev, 6, 0x6000);
	trigger(f->dev, 7, 0x7000);
	trigger(f->dev, IOPF_NO_PASID, 0x8000);
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), 2 * REC);
	assert_record(&rec[0], LAST | PV, 0x10, 5, 2, 0x5000, 1);
	assert_record(&rec[1], LAST | PV, 0x10, 6, 2, 0x6000, 2);
	assert_int_equal(iopf_channel_read(f->ch, rec, REC), REC);
	assert_record(&rec[0], LAST, 0x10, 0, 2, 0x8000, 3);
	assert_int_equal(iopf_channel_read(ch2, rec, sizeof(rec)), REC);
	assert_record(&rec[0], LAST | PV, 0x10, 7, 2, 0x7000, 1);
	assert_int_equal(iopf_mock_response_count(f->mock), 0);

	/* the answer carries the PASID of the fault, not the RID */
	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP);
	assert_int_equal(response_at(f, 0).msg.pasid, 5);
	/* detaching the RID answers the PASID faults it caught */
	iopf_detach_device(nested, f->dev);
	assert_int_equal(iopf_mock_response_count(f->mock), 3);
	assert_invalid_at(f, 1, 0x6000);
	assert_invalid_at(f, 2, 0x8000);
	assert_int_equal(respond(ch2, 1, SUCCESS), RESP);
	assert_int_equal(iopf_channel_free(ch2), -EBUSY);
}

/* A PAGING domain at the RID does not catch PASID faults: the core says INVALID. */
static void test_user_pasid_table_paging(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;
	struct iopf_user_fault rec;

	attach_rid(f, f->dev, &h);
	assert_int_equal(report(f->dev, LAST | PV, 5, 2, RW, 0x5000), -EINVAL);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_invalid_at(f, 0, 0x5000);
	assert_int_equal(response_at(f, 0).msg.pasid, 5);
	assert_false(readable(f->ch));
	/* the RID's own faults still arrive */
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	assert_int_equal(iopf_channel_read(f->ch, &rec, sizeof(rec)), REC);
	assert_int_equal(rec.addr, 0x1000);
}

/* Without user_pasid_table even a NESTED RID domain does not catch them. */
static void test_no_user_pasid_table(void **state)
{
	struct fx *f = *state;
	struct iopf_attach_handle h;
	struct iopf_domain *nested;

	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_NESTED, &nested), 0);
	assert_int_equal(iopf_attach_device(nested, f->dev, &h), 0);
	assert_int_equal(report(f->dev, LAST | PV, 1, 2, RW, 0x5000), -EINVAL);
	assert_int_equal(iopf_mock_response_count(f->mock), 1);
	assert_invalid_at(f, 0, 0x5000);
	assert_false(readable(f->ch));
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	assert_true(readable(f->ch));
}

/* USER_READ and USER_WRITE show the user side on the sequence diagrams. */
static void test_trace_events(void **state)
{
	struct fx *f = *state;
	struct trace_log log = { 0 };
	const struct iopf_trace_event *ev;
	struct iopf_user_fault rec[2];
	struct iopf_attach_handle h;
	size_t i, rd = SIZE_MAX, wr = SIZE_MAX, sent = SIZE_MAX;

	attach_rid(f, f->dev, &h);
	assert_int_equal(iopf_trace_set_sink(f->ctx, trace_sink, &log), 0);
	assert_int_equal(report(f->dev, 0, 0, 4, RW, 0x1000), 0);
	assert_int_equal(report(f->dev, LAST, 0, 4, RW, 0x2000), 0);
	assert_int_equal(iopf_channel_read(f->ch, rec, sizeof(rec)), 2 * REC);
	assert_int_equal(respond(f->ch, 1, INVALID), RESP);
	assert_int_equal(iopf_trace_set_sink(f->ctx, NULL, NULL), 0);

	for (i = 0; i < log.n; i++) {
		if (log.ev[i].type == IOPF_TRACE_USER_READ && rd == SIZE_MAX)
			rd = i;
		if (log.ev[i].type == IOPF_TRACE_USER_WRITE && wr == SIZE_MAX)
			wr = i;
		if (log.ev[i].type == IOPF_TRACE_RESPONSE_SENT &&
		    sent == SIZE_MAX)
			sent = i;
	}
	assert_int_equal(count_type(&log, IOPF_TRACE_USER_READ, -1), 1);
	assert_int_equal(count_type(&log, IOPF_TRACE_USER_WRITE, -1), 1);
	assert_true(rd < wr && wr < sent);
	ev = &log.ev[rd];
	assert_int_equal(ev->from, IOPF_LAYER_HANDLER);
	assert_int_equal(ev->to, IOPF_LAYER_USER);
	assert_int_equal(ev->count, 2);
	assert_int_equal(ev->ret, 1);
	assert_int_equal(ev->addr, 0x2000);
	assert_int_equal(ev->dev_id, 0x10);
	assert_int_equal(ev->pasid, IOPF_PASID_INVALID);
	assert_true(ev->code < 0);
	ev = &log.ev[wr];
	assert_int_equal(ev->from, IOPF_LAYER_USER);
	assert_int_equal(ev->to, IOPF_LAYER_HANDLER);
	assert_int_equal(ev->code, INVALID);
	assert_int_equal(ev->ret, 1);
	assert_int_equal(ev->grpid, 4);
	assert_true(ev->seq < log.ev[sent].seq);
}

/* Allocation failures leave everything as it was (-Dfault_injection=true). */
static void test_fail_nth(void **state)
{
	struct fx *f = *state;
	struct iopf_channel *ch = (struct iopf_channel *)f;
	struct iopf_domain *dom = (struct iopf_domain *)f;
	struct iopf_attach_handle h;
	struct iopf_user_fault rec;

	if (iopf_testing_fail_nth(1) == -EOPNOTSUPP)
		skip();
	assert_int_equal(iopf_channel_new(f->ctx, &ch), -ENOMEM);
	assert_ptr_equal(ch, (struct iopf_channel *)f);
	assert_int_equal(iopf_testing_fail_nth(1), 0);
	assert_int_equal(
		iopf_channel_domain_new(f->ch, IOPF_DOMAIN_PAGING, &dom),
		-ENOMEM);
	assert_ptr_equal(dom, (struct iopf_domain *)f);
	assert_int_equal(iopf_testing_fail_nth(0), 0);
	/* the failed domain does not hold the channel */
	attach_rid(f, f->dev, &h);
	trigger(f->dev, IOPF_NO_PASID, 0x1000);
	/* the first read allocates the cookie table */
	assert_int_equal(iopf_testing_fail_nth(1), 0);
	assert_int_equal(iopf_channel_read(f->ch, &rec, sizeof(rec)), -ENOMEM);
	assert_int_equal(iopf_testing_fail_nth(0), 0);
	assert_true(readable(f->ch));
	assert_int_equal(read_one(f->ch, 0x1000), 1);
	assert_int_equal(respond(f->ch, 1, SUCCESS), RESP);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup_upt, teardown)
#define TP(fn) cmocka_unit_test_setup_teardown(fn, setup_plain, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bad_args),
		T(test_selftest_nested_rid),
		T(test_selftest_pasid_2048),
		TP(test_selftest_pasid_2048),
		T(test_free_busy),
		T(test_multi_fault_group),
		T(test_flags_verbatim),
		T(test_group_does_not_fit),
		T(test_bad_counts),
		T(test_invalid_cookie_and_code),
		T(test_mixed_write),
		T(test_cookie_reuse),
		T(test_detach_undelivered),
		T(test_detach_unanswered),
		T(test_replace_pending),
		T(test_device_free_pending),
		T(test_channel_free_pending),
		T(test_ctx_free_pending),
		T(test_poll_transitions),
		T(test_user_pasid_table_nested),
		T(test_user_pasid_table_paging),
		TP(test_no_user_pasid_table),
		T(test_trace_events),
		T(test_fail_nth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
