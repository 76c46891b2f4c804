// SPDX-License-Identifier: MIT
/*
 * quickstart: the IO page fault path in one page.
 *
 * A device behind a (mock) IOMMU faults on three pages of one page request
 * group. The core groups the three requests, routes the group to the
 * handler of the domain attached at the device's RID, and the handler
 * resolves it on a worker thread. Exactly one response goes back.
 */
#include <stdio.h>

#include <iopf/iopf.h>

/* Runs on a queue worker, like the kernel's SVA work item. */
static void resolve(struct iopf_group *group)
{
	for (size_t i = 0; i < iopf_group_fault_count(group); i++)
		printf("  worker: page 0x%llx resolved\n",
		       (unsigned long long)iopf_group_fault_at(group, i)
			       ->prm.addr);
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
}

/* The domain's iopf handler: hand the group to the fault queue. */
static int handler(struct iopf_group *group)
{
	return iopf_queue_work(group, resolve);
}

int main(void)
{
	struct iopf_device_attr attr = { .size = sizeof(attr), .id = 0x10 };
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 1 };
	struct iopf_attach_handle handle;
	struct iopf_mock_response resp;
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_device *dev;
	struct iopf_queue *queue;
	struct iopf_domain *domain;

	if (iopf_ctx_new(&ctx) || iopf_mock_new(ctx, "mock0", false, &mock) ||
	    iopf_device_new(iopf_mock_iommu(mock), &attr, &dev) ||
	    iopf_queue_alloc(ctx, "iopfq", &qattr, &queue) ||
	    iopf_queue_add_device(queue, dev) ||
	    iopf_domain_new(ctx, IOPF_DOMAIN_PAGING, handler, NULL, &domain) ||
	    iopf_attach_device(domain, dev, &handle))
		return 1;

	for (unsigned int page = 0; page < 3; page++) {
		struct iopf_fault f = { .type = IOPF_FAULT_PAGE_REQ };

		f.prm.grpid = 7;
		f.prm.perm = IOPF_FAULT_PERM_READ;
		f.prm.addr = 0x1000 * (page + 1);
		if (page == 2)
			f.prm.flags = IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
		printf("device: page request addr=0x%llx grpid=7%s\n",
		       (unsigned long long)f.prm.addr,
		       page == 2 ? " (last)" : "");
		iopf_report_device_fault(dev, &f);
	}

	if (iopf_mock_wait_responses(mock, 1, 5000) ||
	    iopf_mock_response_at(mock, 0, &resp))
		return 1;
	printf("iommu: one response for grpid %u: code %u (%s)\n",
	       resp.msg.grpid, resp.msg.code,
	       resp.msg.code == IOPF_PAGE_RESP_SUCCESS ? "SUCCESS" : "?");

	iopf_detach_device(domain, dev);
	iopf_ctx_free(ctx); /* frees the queue, domain, device and mock */
	return iopf_mock_response_count(NULL) == 0 && resp.msg.code == 0 ? 0 :
									   1;
}
