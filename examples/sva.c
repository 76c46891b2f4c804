// SPDX-License-Identifier: MIT
/*
 * Shared virtual addressing in one page: a "process" maps a buffer, a
 * device is bound to its address space, and the device's page requests are
 * resolved against the mappings, the way the kernel's SVA handler does.
 *
 *   $ ./sva
 *   bound dev0 to the process at PASID 1
 *   write 0x10003000 -> SUCCESS
 *   ...
 *
 * Exits 0 when every response is the expected one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <iopf/iopf.h>
#include <iopf/sva.h>

#define BUF	 0x10000000ull /* a 64 KiB read-write buffer */
#define RODATA	 0x20000000ull /* one read-only page */
#define UNMAPPED 0x30000000ull

struct request {
	const char *what;
	uint64_t addr;
	uint32_t perm;
	enum iopf_page_response_code expect;
};

static const char *code_name(uint32_t code)
{
	switch (code) {
	case IOPF_PAGE_RESP_SUCCESS:
		return "SUCCESS";
	case IOPF_PAGE_RESP_INVALID:
		return "INVALID";
	case IOPF_PAGE_RESP_FAILURE:
		return "FAILURE";
	}
	return "?";
}

/* The IOMMU driver's side: one page request, alone in its group. */
static int page_request(struct iopf_device *dev, uint32_t pasid, uint32_t grpid,
			uint64_t addr, uint32_t perm)
{
	struct iopf_fault evt;

	memset(&evt, 0, sizeof(evt));
	evt.type = IOPF_FAULT_PAGE_REQ;
	evt.prm.flags = IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
			IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
	evt.prm.pasid = pasid;
	evt.prm.grpid = grpid;
	evt.prm.perm = perm;
	evt.prm.addr = addr;
	return iopf_report_device_fault(dev, &evt);
}

static int run(struct iopf_ctx *ctx)
{
	static const struct request reqs[] = {
		{ "write", BUF + 0x3000, IOPF_FAULT_PERM_WRITE,
		  IOPF_PAGE_RESP_SUCCESS },
		{ "read", BUF + 0x4010, IOPF_FAULT_PERM_READ,
		  IOPF_PAGE_RESP_SUCCESS },
		{ "read", RODATA, IOPF_FAULT_PERM_READ,
		  IOPF_PAGE_RESP_SUCCESS },
		{ "write", RODATA, IOPF_FAULT_PERM_WRITE,
		  IOPF_PAGE_RESP_INVALID },
		{ "exec", BUF, IOPF_FAULT_PERM_EXEC, IOPF_PAGE_RESP_INVALID },
		{ "read", UNMAPPED, IOPF_FAULT_PERM_READ,
		  IOPF_PAGE_RESP_INVALID },
	};
	const size_t n = sizeof(reqs) / sizeof(reqs[0]);
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 1 };
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = 0,
		.max_pasids = 1u << 20,
		.name = "dev0",
	};
	struct iopf_mock *mock;
	struct iopf_queue *queue;
	struct iopf_device *dev;
	struct iopf_mm *mm;
	struct iopf_sva *sva;
	struct iopf_mock_response r;
	uint32_t pasid;
	int bad = 0, ret;

	/* The IOMMU enables IOPF on the device's fault queue when bound. */
	if (iopf_mock_new(ctx, "iommu0", false, &mock) ||
	    iopf_queue_alloc(ctx, "iopf", &qattr, &queue) ||
	    iopf_iommu_set_queue(iopf_mock_iommu(mock), queue) ||
	    iopf_device_new(iopf_mock_iommu(mock), &dattr, &dev))
		return 1;

	/* The process: a read-write buffer and a read-only page. */
	if (iopf_mm_new(ctx, &mm) ||
	    iopf_mm_map(mm, BUF, 0x10000, IOPF_PROT_READ | IOPF_PROT_WRITE) ||
	    iopf_mm_map(mm, RODATA, 0x1000, IOPF_PROT_READ))
		return 1;
	ret = iopf_sva_bind_device(dev, mm, &sva);
	if (ret) {
		fprintf(stderr, "bind: %s\n", strerror(-ret));
		return 1;
	}
	pasid = iopf_sva_get_pasid(sva);
	printf("bound %s to the process at PASID %" PRIu32 "\n",
	       iopf_device_name(dev), pasid);

	/* The device touches memory that is not resident yet: page requests. */
	for (size_t i = 0; i < n; i++)
		if (page_request(dev, pasid, (uint32_t)i, reqs[i].addr,
				 reqs[i].perm))
			return 1;
	/* They are resolved on the fault queue's worker; wait for the answers. */
	if (iopf_mock_wait_responses(mock, n, 5000))
		return 1;
	for (size_t i = 0; i < n; i++) {
		const struct request *q;

		if (iopf_mock_response_at(mock, i, &r))
			return 1;
		q = &reqs[r.msg.grpid];
		printf("%-5s 0x%08" PRIx64 " -> %s\n", q->what, q->addr,
		       code_name(r.msg.code));
		bad |= r.msg.code != q->expect;
	}
	/* Each successful request made its page resident. */
	printf("resident pages: %" PRIu64 "\n", iopf_mm_resident_pages(mm));
	bad |= iopf_mm_resident_pages(mm) != 3;

	/* Unbind drains the PASID; a later request has no handler at all. */
	iopf_sva_unbind_device(sva);
	ret = page_request(dev, pasid, 99, BUF, IOPF_FAULT_PERM_READ);
	if (iopf_mock_response_at(mock, n, &r))
		return 1;
	printf("after unbind: read 0x%08llx -> %s (report returned %d)\n", BUF,
	       code_name(r.msg.code), ret);
	bad |= ret != -EINVAL || r.msg.code != IOPF_PAGE_RESP_INVALID;

	/* The process exits: its PASID goes back to the context's space. */
	iopf_mm_put(mm);
	return bad;
}

int main(void)
{
	struct iopf_ctx *ctx;
	int bad;

	if (iopf_ctx_new(&ctx))
		return 1;
	bad = run(ctx);
	/* Frees what is left: the device, the queue, the IOMMU. */
	iopf_ctx_free(ctx);
	if (bad)
		fprintf(stderr, "unexpected responses\n");
	return bad ? 1 : 0;
}
