// SPDX-License-Identifier: MIT
/*
 * smmu-stall: one SVA page fault through the Arm SMMUv3 stall model.
 *
 * A master whose stream is configured to stall writes to a page of a
 * process address space that is mapped but not resident yet. The SMMU
 * holds the transaction and writes a stall record (STALL=1, STAG) to the
 * event queue; the driver's event thread reports it as a one-fault page
 * request; the SVA handler makes the page resident and answers SUCCESS;
 * the driver sends CMD_RESUME with Retry; the retried write goes through.
 * Every record and command is printed as it enters or leaves its queue.
 *
 * Manual mode: everything runs in this thread, the same way on every run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <iopf/iopf.h>
#include <iopf/hw/smmuv3.h>
#include <iopf/sva.h>

#define SID   0x10
#define VADDR 0x7f0000001000ull

static void print_event(const uint64_t raw[4])
{
	struct iopf_smmuv3_event e;

	iopf_smmuv3_event_decode(raw, &e);
	printf("      id=%#x sid=%#x ssv=%d ssid=%u stall=%d stag=%u %s%s%s "
	       "iova=%#" PRIx64 "\n",
	       e.id, e.sid, e.ssv, e.ssid, e.stall, e.stag,
	       e.rnw ? "read" : "write", e.ind ? " exec" : "",
	       e.pnu ? " priv" : "", e.iova);
}

static void print_cmd(const uint64_t raw[2])
{
	struct iopf_smmuv3_cmd c;

	iopf_smmuv3_cmd_decode(raw, &c);
	if (c.opcode == IOPF_SMMUV3_CMD_RESUME)
		printf("      CMD_RESUME sid=%#x stag=%u action=%s\n", c.sid,
		       c.stag,
		       c.resp == IOPF_SMMUV3_RESUME_RETRY ? "retry" :
		       c.resp == IOPF_SMMUV3_RESUME_ABORT ? "abort" :
							    "terminate");
	else
		printf("      opcode=%#x\n", c.opcode);
}

static void sink(const struct iopf_trace_event *ev, void *priv)
{
	const uint64_t *raw = ev->desc;

	(void)priv;
	printf("%3" PRIu64 " %-16s %s", ev->seq, iopf_trace_type_name(ev->type),
	       ev->name ? ev->name : "");
	if (ev->type == IOPF_TRACE_RESPONSE_SENT)
		printf(" code=%d origin=%s", ev->code,
		       iopf_trace_origin_name(ev->origin));
	printf("\n");
	if (!raw)
		return;
	printf("     ");
	for (size_t i = 0; i < ev->desc_len / 8; i++)
		printf(" %016" PRIx64, raw[i]);
	printf("\n");
	if (ev->desc_len == IOPF_SMMUV3_EVT_SIZE)
		print_event(raw);
	else if (ev->desc_len == IOPF_SMMUV3_CMD_SIZE &&
		 !strncmp(ev->name, "cmd", 3))
		print_cmd(raw);
}

int main(void)
{
	struct iopf_smmuv3_master_attr m = {
		.size = sizeof(m),
		.sid = SID,
		.max_pasids = 1u << 10,
		.stall = true,
	};
	struct iopf_smmuv3_txn_info info = { 0 };
	struct iopf_smmuv3_txn *txn = NULL;
	struct iopf_smmuv3 *smmu = NULL;
	struct iopf_device *dev;
	struct iopf_ctx *ctx;
	struct iopf_sva *sva;
	struct iopf_mm *mm;
	int ret = 1;

	if (iopf_ctx_new(&ctx))
		return 1;
	iopf_trace_set_sink(ctx, sink, NULL);
	if (iopf_smmuv3_new(ctx, NULL, &smmu) ||
	    iopf_smmuv3_add_master(smmu, &m, &dev) || iopf_mm_new(ctx, &mm))
		goto out;
	if (iopf_mm_map(mm, VADDR, 0x1000, IOPF_PROT_READ | IOPF_PROT_WRITE) ||
	    iopf_sva_bind_device(dev, mm, &sva))
		goto out_mm;

	printf("master %#x writes %#llx at PASID %u\n", SID, VADDR,
	       iopf_sva_get_pasid(sva));
	iopf_smmuv3_dma(smmu, SID, iopf_sva_get_pasid(sva), VADDR + 0x40,
			IOPF_FAULT_PERM_WRITE, &txn);
	iopf_smmuv3_txn_info(txn, &info);
	printf("transaction stalled: %s, stag %u\n",
	       info.state == IOPF_SMMUV3_TXN_STALLED ? "yes" : "no", info.stag);

	iopf_smmuv3_process_evtq(smmu); /* the event thread */
	iopf_queue_run(iopf_smmuv3_iopf_queue(smmu), 16); /* the SVA work */

	iopf_smmuv3_txn_info(txn, &info);
	printf("transaction %s after %u stall(s); page resident: %s\n",
	       info.state == IOPF_SMMUV3_TXN_DONE ? "completed" : "failed",
	       info.nr_stalls, iopf_mm_page_present(mm, VADDR) ? "yes" : "no");
	ret = info.state == IOPF_SMMUV3_TXN_DONE ? 0 : 1;
	iopf_smmuv3_txn_put(txn);
	iopf_sva_unbind_device(sva);
out_mm:
	iopf_mm_put(mm);
out:
	iopf_smmuv3_free(smmu);
	iopf_ctx_free(ctx);
	return ret;
}
