// SPDX-License-Identifier: MIT
/*
 * AMD IOMMU end to end: PCIe endpoints run the ATS/PRI loop, their page
 * requests go through the PPR log to the SVA handler and come back as
 * COMPLETE_PPR_REQUEST, in manual mode and with threads (also with the
 * interrupt-before-entry erratum). The FAILURE = 2 quirk reaches the
 * endpoint as a reserved code, which it treats as Response Failure.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/hw/amd.h>
#include <iopf/hw/pci.h>
#include <iopf/sva.h>

#define PAGE	 0x1000ull
#define BASE	 0x7f0000000000ull
#define NR_PAGES 32

static atomic_uint codes[16];
static atomic_uint no_pasid; /* successes that lost their PASID */

static void count_prg(void *priv, uint16_t devid, uint16_t prgi, uint8_t code,
		      bool pasid_valid, uint32_t pasid)
{
	(void)priv;
	(void)devid;
	(void)prgi;
	(void)pasid;
	if (!pasid_valid && code != 2)
		atomic_fetch_add(&no_pasid, 1);
	atomic_fetch_add(&codes[code & 0xf], 1);
}

struct env {
	struct iopf_ctx *ctx;
	struct iopf_amd *amd;
	struct iopf_mm *mm;
	struct iopf_pci_endpoint *ep[4];
	struct iopf_device *dev[4];
	struct iopf_sva *sva[4];
	unsigned int nr;
};

static void env_new(struct env *e, unsigned int nr_threads, unsigned int nr,
		    bool erratum)
{
	struct iopf_amd_attr attr = {
		.size = sizeof(attr),
		.nr_threads = nr_threads,
		.prg_response = count_prg,
		.ppr_log_entries = 256,
		.irq_before_entry = erratum,
		.erratum_polls = 5,
	};

	memset(e, 0, sizeof(*e));
	memset(codes, 0, sizeof(codes));
	atomic_store(&no_pasid, 0);
	assert_int_equal(iopf_ctx_new(&e->ctx), 0);
	assert_int_equal(iopf_amd_new(e->ctx, &attr, &e->amd), 0);
	assert_int_equal(iopf_mm_new(e->ctx, &e->mm), 0);
	assert_int_equal(iopf_mm_map(e->mm, BASE, NR_PAGES * PAGE,
				     IOPF_PROT_READ | IOPF_PROT_WRITE),
			 0);
	e->nr = nr;
	for (unsigned int i = 0; i < nr; i++) {
		struct iopf_amd_dev_attr d = { .size = sizeof(d),
					       .devid = 0x300 + i,
					       .max_pasids = 64,
					       .pri = true };
		struct iopf_pci_endpoint_attr ea = {
			.size = sizeof(ea),
			.rid = 0x300 + i,
			.pri_capacity = 8,
			.prg_resp_pasid_required = true,
			.timeout_ms = 10000,
		};

		assert_int_equal(iopf_amd_add_device(e->amd, &d, &e->dev[i]),
				 0);
		assert_int_equal(iopf_pci_endpoint_new(e->ctx, &ea, &e->ep[i]),
				 0);
		assert_int_equal(iopf_amd_connect(e->amd, e->ep[i]), 0);
		assert_int_equal(iopf_pci_enable_pri(e->ep[i], 8), 0);
		assert_int_equal(
			iopf_sva_bind_device(e->dev[i], e->mm, &e->sva[i]), 0);
	}
}

static void env_free(struct env *e)
{
	assert_int_equal(atomic_load(&no_pasid), 0);
	for (unsigned int i = 0; i < e->nr; i++) {
		iopf_sva_unbind_device(e->sva[i]);
		iopf_pci_endpoint_free(e->ep[i]);
	}
	iopf_mm_put(e->mm);
	iopf_amd_free(e->amd);
	iopf_ctx_free(e->ctx);
}

static void test_sva_manual(void **state)
{
	struct iopf_amd_stats s;
	struct env e;

	(void)state;
	env_new(&e, 0, 1, false);
	/* 32 pages, 8 credits: four groups of 8 requests */
	assert_int_equal(iopf_pci_dma(e.ep[0], iopf_mm_pasid(e.mm), BASE,
				      NR_PAGES * PAGE, IOPF_FAULT_PERM_WRITE),
			 0);
	for (unsigned int i = 0; i < NR_PAGES; i++)
		assert_true(iopf_mm_page_present(e.mm, BASE + i * PAGE));
	assert_int_equal(iopf_amd_get_stats(e.amd, &s), 0);
	assert_int_equal(s.ppr_logged, NR_PAGES);
	assert_int_equal(s.prg_responses, NR_PAGES / 8);
	assert_int_equal(atomic_load(&codes[0]), NR_PAGES / 8);

	/* an unmapped page: INVALID, the DMA fails, PRI stays on */
	assert_int_equal(iopf_pci_dma(e.ep[0], iopf_mm_pasid(e.mm), 0x1000,
				      PAGE, IOPF_FAULT_PERM_READ),
			 -EFAULT);
	assert_int_equal(atomic_load(&codes[1]), 1);
	env_free(&e);
}

/*
 * A request without a PASID (GN = 0): ppr.c completes it with the generic
 * FAILURE, 2, a reserved PCIe code: the function sets Response Failure.
 */
static void test_failure_quirk(void **state)
{
	uint32_t status = 0;
	struct env e;

	(void)state;
	env_new(&e, 0, 1, false);
	assert_int_equal(
		iopf_pci_dma(e.ep[0], 0, BASE, PAGE, IOPF_FAULT_PERM_READ),
		-EIO);
	assert_int_equal(atomic_load(&codes[2]), 1);
	assert_int_equal(
		iopf_pci_pri_read(e.ep[0], IOPF_PCI_PRI_STATUS, &status), 0);
	assert_true(status & IOPF_PCI_PRI_STATUS_RF);
	env_free(&e);
}

struct worker {
	struct env *e;
	unsigned int idx;
	int ret;
};

static void *dma_thread(void *arg)
{
	struct worker *w = arg;

	w->ret = iopf_pci_dma(w->e->ep[w->idx], iopf_mm_pasid(w->e->mm),
			      BASE + w->idx * (NR_PAGES / 4) * PAGE,
			      (NR_PAGES / 4) * PAGE,
			      IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE);
	return NULL;
}

static void run_threads(bool erratum)
{
	struct worker w[4];
	pthread_t th[4];
	struct env e;

	env_new(&e, 2, 4, erratum);
	for (unsigned int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .e = &e, .idx = i };
		assert_int_equal(
			pthread_create(&th[i], NULL, dma_thread, &w[i]), 0);
	}
	for (unsigned int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ret, 0);
	}
	for (unsigned int i = 0; i < NR_PAGES; i++)
		assert_true(iopf_mm_page_present(e.mm, BASE + i * PAGE));
	assert_int_equal(atomic_load(&codes[2]), 0);
	env_free(&e);
}

static void test_sva_threads(void **state)
{
	(void)state;
	run_threads(false);
}

static void test_sva_threads_erratum(void **state)
{
	(void)state;
	run_threads(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sva_manual),
		cmocka_unit_test(test_failure_quirk),
		cmocka_unit_test(test_sva_threads),
		cmocka_unit_test(test_sva_threads_erratum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
