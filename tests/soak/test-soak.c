// SPDX-License-Identifier: MIT
/*
 * Soak: 8 threads, each running a fixed number of randomized operations
 * over every backend built in, on one context, with fault queues that have
 * workers and hardware models that run their own threads:
 *
 *  - the mock IOMMU: reports (partials and last) to any device, at the RID
 *    (a custom handler that answers in place or from a work item), at the
 *    SVA PASID and at the channel's PASID; each thread also churns the
 *    devices it owns (replace, detach and re-attach, unbind and re-bind,
 *    remove from and re-add to the queue);
 *  - SVA: map and unmap pages of the mm while faults resolve against it;
 *  - the channel: any thread reads whole groups and answers them;
 *  - VT-d, SMMUv3 and AMD (when built): page requests, stalled DMA and PPR
 *    log entries against an SVA-bound device, handled by their threads.
 *
 * Afterwards (everything detached and unbound, so every group was answered)
 * the invariant checker must hold for the mock: every last-page request
 * answered exactly once, no partial answered, every group the custom
 * handler got freed once. No handler call or work item may run for an
 * attachment after its detach or replace returned; every stalled DMA must
 * complete; nothing may be left allocated. Run it under TSan:
 * meson test --suite soak. IOPF_SOAK_OPS sets the operations per thread.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>

#include "fixtures.h"
#include "invariants.h"

#if __has_include(<iopf/hw/vtd.h>) && __has_include(<iopf/hw/pci.h>)
#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>
#define SOAK_VTD 1
#endif
#if __has_include(<iopf/hw/smmuv3.h>)
#include <iopf/hw/smmuv3.h>
#define SOAK_SMMUV3 1
#endif
#if __has_include(<iopf/hw/amd.h>)
#include <iopf/hw/amd.h>
#define SOAK_AMD 1
#endif

#define NR_THREADS  8
#define NR_DEVS	    16 /* device d is churned by thread d % NR_THREADS */
#define CH_PASID    5
#define DEFAULT_OPS 4000
#define MAP_BASE    0x100000ull
#define MAP_PAGES   64
#define PAGE	    0x1000ull
#define TXN_WAIT_MS 20000

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Broken expectations, by kind, reported at the end. */
enum soak_violation {
	V_AFTER_DETACH, /* a handler call or work after detach returned */
	V_CHANNEL, /* a channel read or write failed */
	V_CHURN, /* replace, bind or queue add failed */
	V_HW_REQUEST, /* a hardware model refused a request */
	V_DMA, /* a DMA to a mapped page did not complete */
	V_MAX
};

static const char *const v_names[V_MAX] = {
	"handler after detach", "channel", "churn", "hw request", "dma",
};

struct soak_handle {
	struct iopf_attach_handle h;
	atomic_bool
		live; /* may receive calls: set before attach, cleared after detach */
};

struct soak {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_queue *queue;
	struct iopf_domain *dom; /* custom handler */
	struct iopf_channel *ch;
	struct iopf_domain *ch_dom;
	struct iopf_mm *mm, *hw_mm;
	struct iopf_device *dev[NR_DEVS];
	struct soak_handle rid[NR_DEVS][2];
	unsigned int cur[NR_DEVS]; /* owner thread only */
	bool attached[NR_DEVS];
	bool on_queue[NR_DEVS];
	struct iopf_sva *sva[NR_DEVS];
	struct iopf_attach_handle ch_h[NR_DEVS];
	_Atomic uint32_t sva_pasid;
	struct inv *inv;
	atomic_uint violations[V_MAX];
	atomic_uint stuck_txns;
	atomic_uint hw_responses;
	unsigned int ops;
#ifdef SOAK_VTD
	struct iopf_vtd *vtd;
	struct iopf_sva *vtd_sva;
#endif
#ifdef SOAK_SMMUV3
	struct iopf_smmuv3 *smmu;
	struct iopf_sva *smmu_sva;
#endif
#ifdef SOAK_AMD
	struct iopf_amd *amd;
	struct iopf_sva *amd_sva;
#endif
};

struct soak_thread {
	struct soak *s;
	unsigned int id;
	uint64_t rng;
	pthread_t thread;
};

static uint32_t rnd(struct soak_thread *t, uint32_t n)
{
	/* xorshift64*: a fixed sequence per thread */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return (uint32_t)((t->rng * 0x2545f4914f6cdd1dull) >> 32) % n;
}

/* ---- the custom handler ---------------------------------------------- */

static void check_live(struct soak *s, struct iopf_group *group)
{
	struct iopf_attach_handle *h = iopf_group_attach_handle(group);
	struct soak_handle *sh = container_of(h, struct soak_handle, h);

	if (!atomic_load(&sh->live))
		atomic_fetch_add(&s->violations[V_AFTER_DETACH], 1);
}

static void soak_work(struct iopf_group *group)
{
	struct soak *s =
		iopf_domain_priv(iopf_group_attach_handle(group)->domain);
	uint64_t tag = inv_fault_tag(iopf_group_last_fault(group));

	check_live(s, group);
	iopf_group_response(group, tag & 4 ? IOPF_PAGE_RESP_INVALID :
					     IOPF_PAGE_RESP_SUCCESS);
	inv_group_freed(s->inv, group);
	iopf_free_group(group);
}

static int soak_handler(struct iopf_group *group)
{
	struct soak *s =
		iopf_domain_priv(iopf_group_attach_handle(group)->domain);
	uint64_t tag = inv_fault_tag(iopf_group_last_fault(group));

	check_live(s, group);
	inv_group_delivered(s->inv, group);
	if (tag & 1) {
		if (iopf_queue_work(group, soak_work)) {
			/* the device left the queue: the core aborts */
			inv_group_freed(s->inv, group);
			return -ENODEV;
		}
		return 0;
	}
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	inv_group_freed(s->inv, group);
	iopf_free_group(group);
	return 0;
}

/* ---- mock operations --------------------------------------------------- */

static void report(struct soak_thread *t, unsigned int d, uint32_t flags,
		   uint32_t pasid, uint32_t grpid, uint64_t addr)
{
	struct soak *s = t->s;
	struct iopf_fault evt = fx_fault(flags, pasid, grpid, addr);
	int ret;

	if (pasid != IOPF_NO_PASID)
		evt.prm.flags |= FX_PV;
	inv_tag(s->inv, &evt);
	ret = iopf_report_device_fault(s->dev[d], &evt);
	inv_reported(s->inv, iopf_device_id(s->dev[d]), &evt, ret);
}

/* A group of 0-2 partials and a last request, to one of three routes. */
static void op_fault(struct soak_thread *t)
{
	struct soak *s = t->s;
	unsigned int d = rnd(t, NR_DEVS), n = rnd(t, 3);
	uint32_t grpid = (t->id << 6) | rnd(t, 64);
	uint32_t pasid;
	uint64_t addr = MAP_BASE + PAGE * rnd(t, MAP_PAGES + 8);

	switch (rnd(t, 3)) {
	case 0:
		pasid = IOPF_NO_PASID;
		break;
	case 1:
		pasid = atomic_load(&s->sva_pasid);
		break;
	default:
		pasid = CH_PASID;
		break;
	}
	for (unsigned int i = 0; i < n; i++)
		report(t, d, 0, pasid, grpid, addr);
	report(t, d, FX_LAST, pasid, grpid, addr);
}

/* Read whole groups from the channel and answer each at once. */
static void op_channel(struct soak_thread *t)
{
	struct soak *s = t->s;
	struct iopf_user_fault rec[8];
	struct iopf_user_response resp;
	ssize_t r = iopf_channel_read(s->ch, rec, sizeof(rec));

	if (r < 0) {
		atomic_fetch_add(&s->violations[V_CHANNEL], 1);
		return;
	}
	for (size_t i = 0; i < (size_t)r / sizeof(rec[0]); i++) {
		if (!(rec[i].flags & FX_LAST))
			continue;
		resp.cookie = rec[i].cookie;
		resp.code = rnd(t, 2);
		if (iopf_channel_write(s->ch, &resp, sizeof(resp)) !=
		    sizeof(resp))
			atomic_fetch_add(&s->violations[V_CHANNEL], 1);
	}
}

static void op_mm(struct soak_thread *t)
{
	struct soak *s = t->s;
	uint64_t addr = MAP_BASE + PAGE * rnd(t, MAP_PAGES);

	/* Unmap a page and map it back: faults in between are INVALID. */
	if (iopf_mm_unmap(s->mm, addr, PAGE) == 0)
		iopf_mm_map(s->mm, addr, PAGE,
			    IOPF_PROT_READ | IOPF_PROT_WRITE);
}

/* Churn a device this thread owns. */
static void op_churn(struct soak_thread *t)
{
	struct soak *s = t->s;
	unsigned int d = t->id + NR_THREADS * rnd(t, NR_DEVS / NR_THREADS);
	struct soak_handle *old = &s->rid[d][s->cur[d]];
	struct soak_handle *nxt = &s->rid[d][s->cur[d] ^ 1];
	int ret;

	switch (rnd(t, 4)) {
	case 0:
		if (!s->attached[d])
			break;
		atomic_store(&nxt->live, true);
		ret = iopf_replace_device(s->dom, s->dev[d], &nxt->h);
		if (ret) {
			atomic_store(&nxt->live, false);
			atomic_fetch_add(&s->violations[V_CHURN], 1);
			break;
		}
		atomic_store(&old->live, false);
		s->cur[d] ^= 1;
		break;
	case 1:
		if (s->attached[d]) {
			iopf_detach_device(s->dom, s->dev[d]);
			atomic_store(&old->live, false);
			s->attached[d] = false;
			break;
		}
		atomic_store(&old->live, true);
		ret = iopf_attach_device(s->dom, s->dev[d], &old->h);
		s->attached[d] = !ret;
		if (ret)
			atomic_store(&old->live, false);
		break;
	case 2:
		if (s->sva[d]) {
			iopf_sva_unbind_device(s->sva[d]);
			s->sva[d] = NULL;
		} else if (iopf_sva_bind_device(s->dev[d], s->mm, &s->sva[d])) {
			atomic_fetch_add(&s->violations[V_CHURN], 1);
		}
		break;
	default:
		if (s->on_queue[d])
			iopf_queue_remove_device(s->queue, s->dev[d]);
		else if (iopf_queue_add_device(s->queue, s->dev[d]))
			atomic_fetch_add(&s->violations[V_CHURN], 1);
		s->on_queue[d] = !s->on_queue[d];
		break;
	}
}

/* ---- hardware operations -------------------------------------------------- */

static uint32_t hw_pasid(struct soak *s)
{
	return iopf_mm_pasid(s->hw_mm);
}

#ifdef SOAK_VTD
#define VTD_RID 0x100u

static void op_vtd(struct soak_thread *t)
{
	struct iopf_pci_page_request pr = {
		.rid = VTD_RID,
		.pasid_present = true,
		.pasid = hw_pasid(t->s),
		.read = true,
		.write = rnd(t, 2),
		.last = rnd(t, 4) != 0,
		.prgi = (uint16_t)rnd(t, 512),
		.addr = MAP_BASE + PAGE * rnd(t, MAP_PAGES + 8),
	};
	int ret = iopf_vtd_page_request(t->s->vtd, &pr);

	if (ret && ret != -ENOSPC)
		atomic_fetch_add(&t->s->violations[V_HW_REQUEST], 1);
}
#endif

#ifdef SOAK_SMMUV3
#define SMMU_SID 0x10u

static void smmu_observer(void *priv, uint32_t sid, uint16_t prgi, uint8_t code,
			  bool pasid_valid, uint32_t pasid)
{
	struct soak *s = priv;

	(void)sid, (void)prgi, (void)code, (void)pasid_valid, (void)pasid;
	atomic_fetch_add(&s->hw_responses, 1);
}

/* A stalled DMA must complete once the SVA handler resolved it. */
static void op_smmuv3(struct soak_thread *t)
{
	struct soak *s = t->s;
	struct iopf_smmuv3_txn *txn = NULL;
	struct iopf_smmuv3_txn_info info;
	uint64_t addr = MAP_BASE + PAGE * rnd(t, MAP_PAGES + 8);
	uint32_t perm = rnd(t, 2) ? IOPF_FAULT_PERM_WRITE : 0;

	if (iopf_smmuv3_dma(s->smmu, SMMU_SID, hw_pasid(s), addr, perm, &txn)) {
		atomic_fetch_add(&s->violations[V_HW_REQUEST], 1);
		return;
	}
	if (iopf_smmuv3_txn_wait(txn, TXN_WAIT_MS, &info) ||
	    info.state == IOPF_SMMUV3_TXN_STALLED)
		atomic_fetch_add(&s->stuck_txns, 1);
	else if (addr < MAP_BASE + PAGE * MAP_PAGES &&
		 info.state != IOPF_SMMUV3_TXN_DONE)
		atomic_fetch_add(&s->violations[V_DMA], 1);
	iopf_smmuv3_txn_put(txn);
}
#endif

#ifdef SOAK_AMD
#define AMD_DEVID 0x20u

static void amd_observer(void *priv, uint16_t devid, uint16_t prgi,
			 uint8_t code, bool pasid_valid, uint32_t pasid)
{
	struct soak *s = priv;

	(void)devid, (void)prgi, (void)code, (void)pasid_valid, (void)pasid;
	atomic_fetch_add(&s->hw_responses, 1);
}

static void op_amd(struct soak_thread *t)
{
	struct iopf_amd_ppr_entry e = {
		.devid = AMD_DEVID,
		.pasid = hw_pasid(t->s),
		.prgi = (uint16_t)rnd(t, 512),
		.last = rnd(t, 4) != 0,
		.flags = IOPF_AMD_PPR_FLAG_GN | IOPF_AMD_PPR_FLAG_READ |
			 IOPF_AMD_PPR_FLAG_US,
		.type = IOPF_AMD_PPR_REQ_FAULT,
		.addr = MAP_BASE + PAGE * rnd(t, MAP_PAGES + 8),
	};
	int ret = iopf_amd_log_ppr(t->s->amd, &e);

	if (ret && ret != -ENOSPC)
		atomic_fetch_add(&t->s->violations[V_HW_REQUEST], 1);
}
#endif

static void op_hw(struct soak_thread *t)
{
	switch (rnd(t, 3)) {
	case 0:
#ifdef SOAK_VTD
		op_vtd(t);
#endif
		break;
	case 1:
#ifdef SOAK_SMMUV3
		op_smmuv3(t);
#endif
		break;
	default:
#ifdef SOAK_AMD
		op_amd(t);
#endif
		break;
	}
}

static void *soak_thread_fn(void *arg)
{
	struct soak_thread *t = arg;

	for (unsigned int i = 0; i < t->s->ops; i++) {
		unsigned int op = rnd(t, 16);

		if (op < 7)
			op_fault(t);
		else if (op < 10)
			op_channel(t);
		else if (op < 12)
			op_churn(t);
		else if (op < 13)
			op_mm(t);
		else
			op_hw(t);
	}
	return NULL;
}

/* ---- setup and teardown ---------------------------------------------------- */

static void setup_mock(struct soak *s)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 2 };

	assert_int_equal(iopf_mock_new(s->ctx, "soak", false, &s->mock), 0);
	assert_int_equal(iopf_queue_alloc(s->ctx, "soakq", &qattr, &s->queue),
			 0);
	assert_int_equal(iopf_domain_new(s->ctx, IOPF_DOMAIN_PAGING,
					 soak_handler, s, &s->dom),
			 0);
	assert_int_equal(iopf_channel_new(s->ctx, &s->ch), 0);
	assert_int_equal(
		iopf_channel_domain_new(s->ch, IOPF_DOMAIN_PAGING, &s->ch_dom),
		0);
	for (unsigned int d = 0; d < NR_DEVS; d++) {
		s->dev[d] = fx_device_new(iopf_mock_iommu(s->mock),
					  FX_DEV_ID(d), 16);
		assert_int_equal(iopf_queue_add_device(s->queue, s->dev[d]), 0);
		s->on_queue[d] = true;
		atomic_store(&s->rid[d][0].live, true);
		assert_int_equal(
			iopf_attach_device(s->dom, s->dev[d], &s->rid[d][0].h),
			0);
		s->attached[d] = true;
		assert_int_equal(iopf_attach_device_pasid(s->ch_dom, s->dev[d],
							  CH_PASID,
							  &s->ch_h[d]),
				 0);
		assert_int_equal(
			iopf_sva_bind_device(s->dev[d], s->mm, &s->sva[d]), 0);
	}
	atomic_store(&s->sva_pasid, iopf_mm_pasid(s->mm));
	assert_int_not_equal(iopf_mm_pasid(s->mm), CH_PASID);
}

static void setup_hw(struct soak *s)
{
#ifdef SOAK_VTD
	struct iopf_vtd_attr vattr = { .size = sizeof(vattr),
				       .nr_prq_threads = 1,
				       .nr_fault_workers = 2 };
	struct iopf_device_attr dattr = { .size = sizeof(dattr),
					  .id = VTD_RID,
					  .max_pasids = 16 };
	struct iopf_device *vdev;

	assert_int_equal(iopf_vtd_new(s->ctx, &vattr, &s->vtd), 0);
	assert_int_equal(iopf_device_new(iopf_vtd_iommu(s->vtd), &dattr, &vdev),
			 0);
	assert_int_equal(iopf_sva_bind_device(vdev, s->hw_mm, &s->vtd_sva), 0);
#endif
#ifdef SOAK_SMMUV3
	struct iopf_smmuv3_attr sattr = { .size = sizeof(sattr),
					  .nr_threads = 2,
					  .prg_response = smmu_observer,
					  .endpoint_priv = s };
	struct iopf_smmuv3_master_attr mattr = { .size = sizeof(mattr),
						 .sid = SMMU_SID,
						 .max_pasids = 16,
						 .stall = true };
	struct iopf_device *sdev;

	assert_int_equal(iopf_smmuv3_new(s->ctx, &sattr, &s->smmu), 0);
	assert_int_equal(iopf_smmuv3_add_master(s->smmu, &mattr, &sdev), 0);
	assert_int_equal(iopf_sva_bind_device(sdev, s->hw_mm, &s->smmu_sva), 0);
#endif
#ifdef SOAK_AMD
	struct iopf_amd_attr aattr = { .size = sizeof(aattr),
				       .nr_threads = 2,
				       .prg_response = amd_observer,
				       .endpoint_priv = s };
	struct iopf_amd_dev_attr adattr = { .size = sizeof(adattr),
					    .devid = AMD_DEVID,
					    .max_pasids = 16,
					    .pri = true };
	struct iopf_device *adev;

	assert_int_equal(iopf_amd_new(s->ctx, &aattr, &s->amd), 0);
	assert_int_equal(iopf_amd_add_device(s->amd, &adattr, &adev), 0);
	assert_int_equal(iopf_sva_bind_device(adev, s->hw_mm, &s->amd_sva), 0);
#endif
	(void)s;
}

/* Detach and unbind everything: every group gets its answer now. */
static void quiesce(struct soak *s)
{
	for (unsigned int d = 0; d < NR_DEVS; d++) {
		iopf_detach_device_pasid(s->ch_dom, s->dev[d], CH_PASID);
		iopf_sva_unbind_device(s->sva[d]);
		s->sva[d] = NULL;
		iopf_detach_device(s->dom, s->dev[d]);
		atomic_store(&s->rid[d][s->cur[d]].live, false);
	}
}

static unsigned int soak_ops(void)
{
	const char *env = getenv("IOPF_SOAK_OPS");
	long n = env ? strtol(env, NULL, 10) : 0;

	return n > 0 ? (unsigned int)n : DEFAULT_OPS;
}

static void test_soak(void **state)
{
	struct soak_thread threads[NR_THREADS];
	struct soak *s = calloc(1, sizeof(*s));
	struct inv_stats st;
	size_t cursor = 0;

	(void)state;
	assert_non_null(s);
	s->ops = soak_ops();
	assert_int_equal(inv_new(&s->inv), 0);
	assert_int_equal(iopf_ctx_new(&s->ctx), 0);
	assert_int_equal(iopf_mm_new(s->ctx, &s->mm), 0);
	assert_int_equal(iopf_mm_map(s->mm, MAP_BASE, PAGE * MAP_PAGES,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	assert_int_equal(iopf_mm_new(s->ctx, &s->hw_mm), 0);
	assert_int_equal(iopf_mm_map(s->hw_mm, MAP_BASE, PAGE * MAP_PAGES,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	setup_mock(s);
	setup_hw(s);

	for (unsigned int i = 0; i < NR_THREADS; i++) {
		threads[i] = (struct soak_thread){
			.s = s, .id = i, .rng = 0x9e3779b97f4a7c15ull * (i + 1)
		};
		assert_int_equal(pthread_create(&threads[i].thread, NULL,
						soak_thread_fn, &threads[i]),
				 0);
	}
	for (unsigned int i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i].thread, NULL);

	quiesce(s);
	inv_feed_mock(s->inv, s->mock, &cursor);
	assert_int_equal(inv_check(s->inv, INV_ALL_FREED, stderr), 0);
	inv_stats(s->inv, &st);
	print_message("soak: %u ops x %d threads: %zu reports, %zu responses, "
		      "%zu groups to the handler, %u hardware responses\n",
		      s->ops, NR_THREADS, st.reported, st.responses,
		      st.delivered, atomic_load(&s->hw_responses));
	assert_int_equal(st.responses, st.expected_responses);
	assert_true(st.reported_last > 0);
	for (unsigned int v = 0; v < V_MAX; v++)
		if (atomic_load(&s->violations[v]))
			fail_msg("%u x %s", atomic_load(&s->violations[v]),
				 v_names[v]);
	assert_int_equal(atomic_load(&s->stuck_txns), 0);

	iopf_ctx_free(s->ctx);
	inv_free(s->inv);
	free(s);
	fx_assert_no_live_allocations();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
