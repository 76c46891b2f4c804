// SPDX-License-Identifier: MIT
/*
 * End to end through VT-d and SVA: PCIe endpoints DMA into address spaces
 * whose pages are not resident yet; the page requests travel through the
 * PRQ ring, the prq thread, the core and the SVA handler, and the page
 * group responses come back through the invalidation queue.
 *
 * Threaded (a prq thread, fault workers) and manual mode (one thread, the
 * endpoint pumps; the trace is identical bit for bit across runs); both
 * PASID-stop styles followed by unbind and reuse of the PASID by a new
 * address space; and the §7.10 drain converging while other endpoints keep
 * posting and overflowing the ring.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
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
#include <iopf/sva.h>
#include <iopf/hw/pci.h>
#include <iopf/hw/vtd.h>

#define MAX_EPS 8
#define VA	0x400000ull
#define PAGE	4096ull
#define RW	(IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE)

struct log {
	pthread_mutex_t lock;
	char *buf;
	size_t len, cap;
};

struct fx {
	struct iopf_ctx *ctx;
	struct iopf_vtd *vtd;
	unsigned int nr;
	struct iopf_device *dev[MAX_EPS];
	struct iopf_pci_endpoint *ep[MAX_EPS];
	struct iopf_mm *mm[MAX_EPS];
	struct iopf_sva *sva[MAX_EPS];
	/* responses seen by endpoint 0 */
	pthread_mutex_t lock;
	unsigned int disp[4];
	uint32_t owner; /* mark: responses after rebinding */
	unsigned int after_rebind_bad;
	struct log *log;
};

static void log_add(struct log *l, const char *s)
{
	size_t n = strlen(s);

	pthread_mutex_lock(&l->lock);
	if (l->len + n + 1 > l->cap) {
		l->cap = (l->len + n + 1) * 2;
		l->buf = realloc(l->buf, l->cap);
		assert_non_null(l->buf);
	}
	memcpy(l->buf + l->len, s, n + 1);
	l->len += n;
	pthread_mutex_unlock(&l->lock);
}

/* Every field of every event, and the raw descriptor bytes. */
static void log_sink(const struct iopf_trace_event *e, void *priv)
{
	struct log *l = priv;
	char line[512];
	int n;

	n = snprintf(line, sizeof(line),
		     "%llu %s %u>%u %s %s %x %x %x %x %x %llx %d %u %d %u %s ",
		     (unsigned long long)e->seq, iopf_trace_type_name(e->type),
		     e->from, e->to, e->iommu ? e->iommu : "-",
		     e->device ? e->device : "-", e->dev_id, e->pasid, e->grpid,
		     e->flags, e->perm, (unsigned long long)e->addr, e->code,
		     e->origin, e->ret, e->count, e->name ? e->name : "-");
	for (size_t i = 0;
	     e->desc && i < e->desc_len && n < (int)sizeof(line) - 3; i++)
		n += snprintf(line + n, sizeof(line) - n, "%02x",
			      ((const uint8_t *)e->desc)[i]);
	snprintf(line + n, sizeof(line) - n, "\n");
	log_add(l, line);
}

static void resp_cb(struct iopf_pci_endpoint *ep,
		    const struct iopf_pci_prg_response *r, unsigned int disp,
		    void *priv)
{
	struct fx *fx = priv;

	(void)ep;
	(void)r;
	pthread_mutex_lock(&fx->lock);
	fx->disp[disp]++;
	if (fx->owner && disp != IOPF_PCI_RESP_ACCEPTED)
		fx->after_rebind_bad++;
	pthread_mutex_unlock(&fx->lock);
}

static struct fx *fx_new(unsigned int nr, unsigned int threads,
			 unsigned int pqs, uint32_t capacity, struct log *log)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct iopf_vtd_attr va = {
		.size = sizeof(va),
		.pqs = pqs,
		.nr_prq_threads = threads,
		.nr_fault_workers = 2,
	};

	assert_non_null(fx);
	pthread_mutex_init(&fx->lock, NULL);
	fx->nr = nr;
	fx->log = log;
	assert_int_equal(iopf_ctx_new(&fx->ctx), 0);
	if (log)
		assert_int_equal(iopf_trace_set_sink(fx->ctx, log_sink, log),
				 0);
	assert_int_equal(iopf_vtd_new(fx->ctx, &va, &fx->vtd), 0);
	for (unsigned int i = 0; i < nr; i++) {
		struct iopf_device_attr da = {
			.size = sizeof(da),
			.id = 0x100 + i,
			.max_pasids = 16,
		};
		struct iopf_pci_endpoint_attr ea = {
			.size = sizeof(ea),
			.rid = (uint16_t)(0x100 + i),
			.pri_capacity = capacity,
			.prg_resp_pasid_required = true,
			.response_cb = i == 0 ? resp_cb : NULL,
			.priv = fx,
			.timeout_ms = 15000,
			.max_retries = 100000,
		};

		assert_int_equal(iopf_device_new(iopf_vtd_iommu(fx->vtd), &da,
						 &fx->dev[i]),
				 0);
		assert_int_equal(
			iopf_pci_endpoint_new(fx->ctx, &ea, &fx->ep[i]), 0);
		assert_int_equal(iopf_vtd_connect(fx->vtd, fx->ep[i]), 0);
		assert_int_equal(iopf_pci_enable_pri(fx->ep[i], capacity), 0);
		assert_int_equal(iopf_mm_new(fx->ctx, &fx->mm[i]), 0);
		assert_int_equal(iopf_mm_map(fx->mm[i], VA, 256 * PAGE,
					     IOPF_PROT_READ | IOPF_PROT_WRITE),
				 0);
		assert_int_equal(iopf_mm_map(fx->mm[i], VA + 512 * PAGE,
					     4 * PAGE, IOPF_PROT_READ),
				 0);
		assert_int_equal(iopf_sva_bind_device(fx->dev[i], fx->mm[i],
						      &fx->sva[i]),
				 0);
	}
	return fx;
}

static void fx_free(struct fx *fx)
{
	for (unsigned int i = 0; i < fx->nr; i++) {
		if (fx->sva[i])
			iopf_sva_unbind_device(fx->sva[i]);
		iopf_mm_put(fx->mm[i]);
	}
	iopf_ctx_free(fx->ctx);
	pthread_mutex_destroy(&fx->lock);
	free(fx);
}

static uint32_t pasid_of(struct fx *fx, unsigned int i)
{
	return iopf_sva_get_pasid(fx->sva[i]);
}

static struct iopf_pci_endpoint_stats ep_stats(struct fx *fx, unsigned int i)
{
	struct iopf_pci_endpoint_stats s = { .size = sizeof(s) };

	assert_int_equal(iopf_pci_endpoint_stats(fx->ep[i], &s), 0);
	return s;
}

static struct iopf_vtd_stats vtd_stats(struct fx *fx)
{
	struct iopf_vtd_stats s = { .size = sizeof(s) };

	assert_int_equal(iopf_vtd_stats(fx->vtd, &s), 0);
	return s;
}

/* ---- threads ------------------------------------------------------------- */

static void test_dma_threaded(void **state)
{
	struct fx *fx = fx_new(1, 1, 4, 32, NULL);
	uint32_t pasid = pasid_of(fx, 0);

	(void)state;
	assert_false(iopf_mm_page_present(fx->mm[0], VA));
	assert_int_equal(
		iopf_pci_dma(fx->ep[0], pasid, VA + 0x800, 2 * PAGE, RW), 0);
	for (int i = 0; i < 3; i++)
		assert_true(iopf_mm_page_present(fx->mm[0], VA + i * PAGE));
	assert_false(iopf_mm_page_present(fx->mm[0], VA + 3 * PAGE));
	assert_int_equal(ep_stats(fx, 0).groups, 1);
	assert_int_equal(ep_stats(fx, 0).page_requests, 3);
	/* Resident: translated, no request. */
	assert_int_equal(iopf_pci_dma(fx->ep[0], pasid, VA, 3 * PAGE, RW), 0);
	assert_int_equal(ep_stats(fx, 0).groups, 1);
	/* Not mapped, or a write to a read-only mapping: Invalid Request. */
	assert_int_equal(iopf_pci_dma(fx->ep[0], pasid, VA + 300 * PAGE, 8, RW),
			 -EFAULT);
	assert_int_equal(iopf_pci_dma(fx->ep[0], pasid, VA + 512 * PAGE, 8, RW),
			 -EFAULT);
	assert_int_equal(iopf_pci_dma(fx->ep[0], pasid, VA + 512 * PAGE, 8,
				      IOPF_FAULT_PERM_READ),
			 0);
	/* A PASID nobody bound: the core answers INVALID. */
	assert_int_equal(iopf_pci_dma(fx->ep[0], pasid + 5, VA, 8, RW),
			 -EFAULT);
	assert_int_equal(vtd_stats(fx).reported, 7);
	assert_int_equal(ep_stats(fx, 0).credits_used, 0);
	fx_free(fx);
}

struct worker {
	struct fx *fx;
	unsigned int i;
	int ret;
};

static void *dma_worker(void *arg)
{
	struct worker *w = arg;
	uint32_t pasid = pasid_of(w->fx, w->i);

	for (unsigned int k = 0; k < 40 && !w->ret; k++)
		w->ret = iopf_pci_dma(w->fx->ep[w->i], pasid,
				      VA + (k % 32) * 6 * PAGE, 5 * PAGE + 1,
				      RW);
	return NULL;
}

static void test_dma_threaded_many(void **state)
{
	struct fx *fx = fx_new(4, 1, 0, 8, NULL);
	struct worker w[4];
	pthread_t t[4];

	(void)state;
	for (unsigned int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .fx = fx, .i = i };
		assert_int_equal(pthread_create(&t[i], NULL, dma_worker, &w[i]),
				 0);
	}
	for (unsigned int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ret, 0);
		assert_true(ep_stats(fx, i).max_credits_used <= 8);
		assert_int_equal(ep_stats(fx, i).dma_ok, 40);
		for (unsigned int p = 0; p < 32 * 6; p++)
			assert_true(
				iopf_mm_page_present(fx->mm[i], VA + p * PAGE));
		assert_false(
			iopf_mm_page_present(fx->mm[i], VA + 32 * 6 * PAGE));
	}
	fx_free(fx);
}

/* ---- manual mode, bit for bit -------------------------------------------- */

static void manual_scenario(struct log *log)
{
	struct fx *fx = fx_new(2, 0, 0, 128, log);
	uint64_t addrs[80];
	uint32_t p0 = pasid_of(fx, 0), p1 = pasid_of(fx, 1);

	assert_int_equal(iopf_pci_dma(fx->ep[0], p0, VA, 3 * PAGE, RW), 0);
	assert_int_equal(iopf_pci_dma(fx->ep[1], p1, VA + 10 * PAGE, PAGE,
				      IOPF_FAULT_PERM_READ),
			 0);
	assert_int_equal(iopf_pci_dma(fx->ep[1], p1, VA + 512 * PAGE, 8, RW),
			 -EFAULT);
	/* Overflow: 80 + 80 requests into a 127-entry ring, nothing pumped. */
	for (unsigned int i = 0; i < 80; i++)
		addrs[i] = VA + (100 + i) * PAGE;
	assert_int_equal(iopf_pci_pri_send(fx->ep[0], p0, RW, addrs, 80, NULL),
			 0);
	assert_int_equal(iopf_pci_pri_send(fx->ep[1], p1, RW, addrs, 80, NULL),
			 0);
	assert_int_equal(vtd_stats(fx).overflows, 1);
	assert_int_equal(vtd_stats(fx).auto_success, 1);
	/* The DMA pumps: ring drained, partials discarded, PRO cleared, retry. */
	assert_int_equal(
		iopf_pci_dma(fx->ep[1], p1, VA + 100 * PAGE, 80 * PAGE, RW), 0);
	assert_int_equal(vtd_stats(fx).pro_cleared, 1);
	assert_int_equal(iopf_vtd_pump(fx->vtd), 0);
	for (unsigned int i = 0; i < 80; i++) {
		assert_true(iopf_mm_page_present(fx->mm[0], addrs[i]));
		assert_true(iopf_mm_page_present(fx->mm[1], addrs[i]));
	}
	assert_int_equal(ep_stats(fx, 0).credits_used, 0);
	assert_int_equal(ep_stats(fx, 1).credits_used, 0);
	fx_free(fx);
}

/*
 * The endpoint's events of kind @name in log @l all point @from > @to (the
 * arrows of the diagrams); there is at least one.
 */
static void assert_endpoint_dir(const struct log *l, const char *name,
				unsigned int from, unsigned int to)
{
	char tail[64], want[16];
	unsigned int seen = 0;

	snprintf(tail, sizeof(tail), " %s \n", name);
	snprintf(want, sizeof(want), " %u>%u ", from, to);
	for (const char *line = l->buf; *line;) {
		const char *end = strchr(line, '\n') + 1;
		size_t len = (size_t)(end - line), tl = strlen(tail);
		const char *arrow = strchr(line, ' ');

		if (len > tl && !memcmp(end - tl, tail, tl) &&
		    !strncmp(arrow, " device_event ", 14)) {
			assert_memory_equal(arrow + 13, want, strlen(want));
			seen++;
		}
		line = end;
	}
	assert_true(seen > 0);
}

static void test_manual_bit_identical(void **state)
{
	struct log a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct log b = { .lock = PTHREAD_MUTEX_INITIALIZER };

	(void)state;
	manual_scenario(&a);
	manual_scenario(&b);
	assert_true(a.len > 10000);
	assert_non_null(strstr(a.buf, "hw_desc_in"));
	assert_non_null(strstr(a.buf, "page_grp_resp_dsc"));
	assert_non_null(strstr(a.buf, "auto_success"));
	/* What the endpoint sends points to the IOMMU, what it gets back at it. */
	assert_endpoint_dir(&a, "page_request", IOPF_LAYER_ENDPOINT,
			    IOPF_LAYER_HW);
	assert_endpoint_dir(&a, "prg_response", IOPF_LAYER_HW,
			    IOPF_LAYER_ENDPOINT);
	assert_endpoint_dir(&a, "ats_invalidate", IOPF_LAYER_HW,
			    IOPF_LAYER_ENDPOINT);
	assert_endpoint_dir(&a, "dma_begin", IOPF_LAYER_ENDPOINT,
			    IOPF_LAYER_ENDPOINT);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	free(a.buf);
	free(b.buf);
}

/* ---- stop a PASID, unbind, reuse it -------------------------------------- */

static void stop_unbind_reuse(unsigned int threads,
			      enum iopf_pci_stop_style style)
{
	struct fx *fx = fx_new(1, threads, 4, 32, NULL);
	uint32_t pasid = pasid_of(fx, 0);
	struct iopf_mm *mm2;
	struct iopf_sva *sva2;
	uint64_t a[2] = { VA + 40 * PAGE, VA + 41 * PAGE }, b = VA + 42 * PAGE;
	struct iopf_pci_endpoint_stats s;

	/* Two groups in flight when the device is told to stop the PASID. */
	assert_int_equal(iopf_pci_pri_send(fx->ep[0], pasid, RW, a, 2, NULL),
			 0);
	assert_int_equal(iopf_pci_pri_send(fx->ep[0], pasid, RW, &b, 1, NULL),
			 0);
	assert_int_equal(iopf_pci_stop_pasid(fx->ep[0], pasid, style), 0);
	if (style == IOPF_PCI_STOP_WAIT)
		assert_int_equal(ep_stats(fx, 0).credits_used, 0);
	/* Unbind drains: every response for the old owner is in afterwards. */
	iopf_sva_unbind_device(fx->sva[0]);
	fx->sva[0] = NULL;
	iopf_mm_put(fx->mm[0]); /* the process exits: its PASID is freed */
	fx->mm[0] = NULL;
	s = ep_stats(fx, 0);
	assert_int_equal(s.credits_used, 0);
	if (style == IOPF_PCI_STOP_MARKER) {
		/* With a prq thread some may have been answered before the stop. */
		if (!threads)
			assert_int_equal(s.responses[IOPF_PCI_RESP_STALE], 2);
		assert_int_equal(s.responses[IOPF_PCI_RESP_STALE] +
					 s.responses[IOPF_PCI_RESP_ACCEPTED],
				 2);
		assert_int_equal(vtd_stats(fx).stop_markers, 1);
	} else {
		assert_int_equal(s.responses[IOPF_PCI_RESP_ACCEPTED], 2);
	}
	assert_int_equal(s.responses[IOPF_PCI_RESP_UNEXPECTED], 0);
	/* A new address space gets the same PASID; the device starts it again. */
	assert_int_equal(iopf_mm_new(fx->ctx, &mm2), 0);
	assert_int_equal(iopf_mm_map(mm2, VA, 64 * PAGE,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	assert_int_equal(iopf_sva_bind_device(fx->dev[0], mm2, &sva2), 0);
	assert_int_equal(iopf_sva_get_pasid(sva2), pasid);
	assert_int_equal(iopf_pci_start_pasid(fx->ep[0], pasid), 0);
	pthread_mutex_lock(&fx->lock);
	fx->owner = 2;
	pthread_mutex_unlock(&fx->lock);
	assert_int_equal(
		iopf_pci_dma(fx->ep[0], pasid, VA + 40 * PAGE, 3 * PAGE, RW),
		0);
	for (int i = 40; i < 43; i++)
		assert_true(iopf_mm_page_present(mm2, VA + i * PAGE));
	pthread_mutex_lock(&fx->lock);
	assert_int_equal(fx->after_rebind_bad, 0);
	pthread_mutex_unlock(&fx->lock);
	assert_int_equal(ep_stats(fx, 0).responses[IOPF_PCI_RESP_UNEXPECTED],
			 0);
	iopf_sva_unbind_device(sva2);
	iopf_mm_put(mm2);
	fx_free(fx);
}

static void test_stop_wait_manual(void **state)
{
	(void)state;
	stop_unbind_reuse(0, IOPF_PCI_STOP_WAIT);
}

static void test_stop_marker_manual(void **state)
{
	(void)state;
	stop_unbind_reuse(0, IOPF_PCI_STOP_MARKER);
}

static void test_stop_wait_threaded(void **state)
{
	(void)state;
	stop_unbind_reuse(1, IOPF_PCI_STOP_WAIT);
}

static void test_stop_marker_threaded(void **state)
{
	(void)state;
	stop_unbind_reuse(1, IOPF_PCI_STOP_MARKER);
}

/* ---- the drain converges while others keep posting ----------------------- */

struct poster {
	struct fx *fx;
	unsigned int i;
	atomic_bool *stop;
	bool raw;
	atomic_ulong sent;
};

static void *poster_fn(void *arg)
{
	struct poster *p = arg;
	uint32_t pasid = pasid_of(p->fx, p->i);
	uint64_t addrs[32];
	unsigned int k = 0;

	while (!atomic_load(p->stop)) {
		unsigned int n = 1 + k % 32;

		if (p->raw) {
			/* Bursts of last-in-group requests, faster than the prq thread. */
			struct iopf_pci_page_request pr = {
				.pasid_present = true,
				.pasid = pasid,
				.read = true,
				.last = true,
			};

			for (unsigned int j = 0; j < 200; j++) {
				pr.addr = VA + ((k + j) % 256) * PAGE;
				iopf_pci_send_raw(p->fx->ep[p->i], &pr);
			}
			atomic_fetch_add(&p->sent, 1);
			k++;
			sched_yield();
			continue;
		}

		for (unsigned int j = 0; j < n; j++)
			addrs[j] = VA + ((k + j) % 256) * PAGE;
		if (iopf_pci_pri_send(p->fx->ep[p->i], pasid, RW, addrs, n,
				      NULL) == 0) {
			atomic_fetch_add(&p->sent, 1);
			k++;
		} else {
			sched_yield();
		}
	}
	return NULL;
}

static void test_drain_converges(void **state)
{
	struct fx *fx = fx_new(5, 1, 0, 32, NULL);
	atomic_bool stop = false;
	struct poster p[4];
	pthread_t t[4];
	struct iopf_vtd_stats vs;

	(void)state;
	for (unsigned int i = 0; i < 4; i++) {
		p[i] = (struct poster){
			.fx = fx, .i = i + 1, .stop = &stop, .raw = i == 3
		};
		assert_int_equal(pthread_create(&t[i], NULL, poster_fn, &p[i]),
				 0);
	}
	/* Every poster is posting before the first drain. */
	for (unsigned int i = 0; i < 4; i++)
		while (!atomic_load(&p[i].sent))
			sched_yield();
	/* Endpoint 0 binds, DMAs and unbinds again and again: each unbind drains. */
	for (int round = 0; round < 30; round++) {
		static uint32_t old;
		uint32_t pasid;

		if (round) {
			assert_int_equal(iopf_sva_bind_device(fx->dev[0],
							      fx->mm[0],
							      &fx->sva[0]),
					 0);
			assert_int_equal(iopf_pci_start_pasid(fx->ep[0], old),
					 0);
		}
		pasid = pasid_of(fx, 0);
		old = pasid;
		assert_int_equal(iopf_mm_unmap(fx->mm[0], VA, 8 * PAGE), 0);
		assert_int_equal(iopf_mm_map(fx->mm[0], VA, 8 * PAGE,
					     IOPF_PROT_READ | IOPF_PROT_WRITE),
				 0);
		assert_int_equal(
			iopf_pci_dma(fx->ep[0], pasid, VA, 8 * PAGE, RW), 0);
		assert_int_equal(iopf_pci_stop_pasid(fx->ep[0], pasid,
						     IOPF_PCI_STOP_WAIT),
				 0);
		iopf_sva_unbind_device(fx->sva[0]);
		fx->sva[0] = NULL;
	}
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(atomic_load(&p[i].sent) > 0);
	}
	vs = vtd_stats(fx);
	assert_true(vs.drains >= 30);
	assert_true(vs.prq_written > 0);
	print_message(
		"drains %llu retries %llu overflows %llu auto_success %llu\n",
		(unsigned long long)vs.drains,
		(unsigned long long)vs.drain_retries,
		(unsigned long long)vs.overflows,
		(unsigned long long)vs.auto_success);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dma_threaded),
		cmocka_unit_test(test_dma_threaded_many),
		cmocka_unit_test(test_manual_bit_identical),
		cmocka_unit_test(test_stop_wait_manual),
		cmocka_unit_test(test_stop_marker_manual),
		cmocka_unit_test(test_stop_wait_threaded),
		cmocka_unit_test(test_stop_marker_threaded),
		cmocka_unit_test(test_drain_converges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
