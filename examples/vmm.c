// SPDX-License-Identifier: MIT
/*
 * A VMM's fault loop, as QEMU or cloud-hypervisor runs it over an iommufd
 * fault fd: the guest owns the PASID table of an assigned device (a NESTED
 * domain at the device's RID), so the device's page requests go to the VMM,
 * which polls the channel, reads the groups, asks the guest's vIOMMU driver
 * to resolve them, and writes the guest's answers back.
 *
 * Here the "device" is the mock IOMMU's, the faults are injected with
 * iopf_report_device_fault(), and the guest is a table of mappings.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <iopf/channel.h>
#include <iopf/iopf.h>

#define PAGE 0x1000u
#define RW   (IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE)
#define R    IOPF_FAULT_PERM_READ

/* What the guest has mapped, per PASID: the guest's own page tables. */
struct guest_map {
	uint32_t pasid;
	uint64_t start, len;
	uint32_t perm;
};

static const struct guest_map guest_maps[] = {
	{ 1, 0x10000, 4 * PAGE, RW },
	{ 1, 0x40000, 1 * PAGE, R },
	{ 2, 0x80000, 2 * PAGE, RW },
};

/* The guest's answer to one fault: is the page mapped with that access? */
static bool guest_resolve(uint32_t pasid, uint64_t addr, uint32_t perm)
{
	size_t i;

	for (i = 0; i < sizeof(guest_maps) / sizeof(guest_maps[0]); i++) {
		const struct guest_map *m = &guest_maps[i];

		if (m->pasid == pasid && addr >= m->start &&
		    addr < m->start + m->len)
			return (perm & m->perm & RW) == (perm & RW);
	}
	return false;
}

/* The device's page requests: a group of three, and some single ones. */
struct request {
	uint32_t pasid, grpid, perm;
	uint64_t addr;
	bool last;
	uint32_t expect; /* the code the device should hear */
};

static const struct request requests[] = {
	{ 1, 1, RW, 0x10000, false, 0 },
	{ 1, 1, RW, 0x11000, false, 0 },
	{ 1, 1, RW, 0x12000, true, IOPF_PAGE_RESP_SUCCESS },
	{ 2, 2, R, 0x80000, true, IOPF_PAGE_RESP_SUCCESS },
	{ 1, 3, RW, 0x40000, true,
	  IOPF_PAGE_RESP_INVALID }, /* read-only page */
	{ 2, 4, R, 0x99000, true, IOPF_PAGE_RESP_INVALID }, /* not mapped */
};

#define NR_REQUESTS (sizeof(requests) / sizeof(requests[0]))

static const char *code_name(uint32_t code)
{
	return code == IOPF_PAGE_RESP_SUCCESS ? "SUCCESS" : "INVALID";
}

static int device_faults(struct iopf_device *dev)
{
	size_t i;

	for (i = 0; i < NR_REQUESTS; i++) {
		const struct request *rq = &requests[i];
		struct iopf_fault evt = {
			.type = IOPF_FAULT_PAGE_REQ,
			.prm = {
				.flags = IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
					 (rq->last ? IOPF_FAULT_PAGE_REQUEST_LAST_PAGE : 0),
				.pasid = rq->pasid,
				.grpid = rq->grpid,
				.perm = rq->perm,
				.addr = rq->addr,
			},
		};
		int ret = iopf_report_device_fault(dev, &evt);

		if (ret) {
			fprintf(stderr, "report: %s\n", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Ask the guest about one group (records [first, end) share a cookie) and
 * fill in the answer: SUCCESS only if every fault of the group resolves.
 */
static void ask_guest(const struct iopf_user_fault *rec, size_t first,
		      size_t end, struct iopf_user_response *resp)
{
	bool ok = true;
	size_t i;

	for (i = first; i < end; i++) {
		bool hit =
			guest_resolve(rec[i].pasid, rec[i].addr, rec[i].perm);

		printf("vmm:   fault dev=0x%" PRIx32 " pasid=%" PRIu32
		       " grpid=%" PRIu32 " addr=0x%" PRIx64
		       " perm=%s%s -> guest %s\n",
		       rec[i].dev_id, rec[i].pasid, rec[i].grpid, rec[i].addr,
		       rec[i].perm & IOPF_FAULT_PERM_READ ? "r" : "",
		       rec[i].perm & IOPF_FAULT_PERM_WRITE ? "w" : "",
		       hit ? "mapped" : "refuses");
		ok = ok && hit;
	}
	resp->cookie = rec[first].cookie;
	resp->code = ok ? IOPF_PAGE_RESP_SUCCESS : IOPF_PAGE_RESP_INVALID;
	printf("vmm: group cookie=%" PRIu32 " (%zu fault%s) answered %s\n",
	       resp->cookie, end - first, end - first == 1 ? "" : "s",
	       code_name(resp->code));
}

/* One pass of the loop: read what waits, answer it. Returns groups answered. */
static int vmm_serve(struct iopf_channel *ch)
{
	struct iopf_user_fault rec[16];
	struct iopf_user_response resp[16];
	size_t nrec, nresp = 0, first = 0, i;
	ssize_t n, w;

	n = iopf_channel_read(ch, rec, sizeof(rec));
	if (n < 0)
		return (int)n;
	nrec = (size_t)n / sizeof(rec[0]);
	/* groups are never split and their records are consecutive */
	for (i = 1; i <= nrec; i++) {
		if (i < nrec && rec[i].cookie == rec[first].cookie)
			continue;
		ask_guest(rec, first, i, &resp[nresp++]);
		first = i;
	}
	if (!nresp)
		return 0;
	w = iopf_channel_write(ch, resp, nresp * sizeof(resp[0]));
	if (w != (ssize_t)(nresp * sizeof(resp[0])))
		return w < 0 ? (int)w : -EIO;
	return (int)nresp;
}

static int vmm_loop(struct iopf_channel *ch, int want)
{
	struct pollfd pfd = { .fd = iopf_channel_fd(ch), .events = POLLIN };
	int done = 0, ret;

	while (done < want) {
		ret = poll(&pfd, 1, 1000);
		if (ret <= 0) {
			fprintf(stderr, "vmm: no fault arrived\n");
			return -ETIMEDOUT;
		}
		ret = vmm_serve(ch);
		if (ret < 0)
			return ret;
		done += ret;
	}
	return 0;
}

/* The device side: did every group get the answer the guest's tables imply? */
static int check(struct iopf_mock *mock)
{
	size_t i, n = 0, got = iopf_mock_response_count(mock);
	struct iopf_mock_response r;
	int bad = 0;

	for (i = 0; i < NR_REQUESTS; i++) {
		if (!requests[i].last)
			continue;
		if (n >= got || iopf_mock_response_at(mock, n, &r)) {
			bad++;
			continue;
		}
		printf("device: grpid=%" PRIu32 " pasid=%" PRIu32 " got %s\n",
		       r.msg.grpid, r.msg.pasid, code_name(r.msg.code));
		bad += r.msg.grpid != requests[i].grpid ||
		       r.msg.code != requests[i].expect;
		n++;
	}
	return bad || got != n ? 1 : 0;
}

int main(void)
{
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 0 };
	struct iopf_device_attr dattr = {
		.size = sizeof(dattr),
		.id = 0x300,
		.max_pasids = 64,
		.name = "nic",
	};
	struct iopf_attach_handle handle;
	struct iopf_channel *ch;
	struct iopf_domain *nested;
	struct iopf_device *dev;
	struct iopf_queue *queue;
	struct iopf_mock *mock;
	struct iopf_ctx *ctx;
	int ret, status = 1;

	if (iopf_ctx_new(&ctx))
		return 1;
	/* a vIOMMU with a guest-owned PASID table: user_pasid_table */
	if (iopf_mock_new(ctx, "viommu", true, &mock) ||
	    iopf_queue_alloc(ctx, "iopfq", &qattr, &queue) ||
	    iopf_iommu_set_queue(iopf_mock_iommu(mock), queue) ||
	    iopf_device_new(iopf_mock_iommu(mock), &dattr, &dev) ||
	    iopf_channel_new(ctx, &ch) ||
	    iopf_channel_domain_new(ch, IOPF_DOMAIN_NESTED, &nested) ||
	    iopf_attach_device(nested, dev, &handle))
		goto out;
	printf("vmm: device %s attached to the guest's nested domain, fd %d\n",
	       iopf_device_name(dev), iopf_channel_fd(ch));

	if (device_faults(dev))
		goto out;
	ret = vmm_loop(ch, 4);
	if (ret) {
		fprintf(stderr, "vmm: %s\n", strerror(-ret));
		goto out;
	}
	status = check(mock);

	/* the guest goes away: detach, then the VMM frees what it created */
	iopf_detach_device(nested, dev);
	if (iopf_domain_free(nested) || iopf_channel_free(ch))
		status = 1;
	printf("vmm: %s\n",
	       status ? "FAILED" : "all faults answered as the guest said");
out:
	iopf_ctx_free(ctx);
	return status;
}
