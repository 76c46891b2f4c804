/* SPDX-License-Identifier: MIT */
/*
 * iopf-bench: a libiopf setup for the cases that measure the library.
 *
 * One context, one IOMMU whose page_response hands the answer to the
 * device model (struct bench_port), one fault queue, one domain with the
 * case's handler, and devices with that domain attached at one PASID (or
 * at the RID). Device i has requester ID BENCH_RID(i).
 *
 * Thread safety: set up and torn down from one thread.
 */
#ifndef IOPF_BENCH_LIBENV_H
#define IOPF_BENCH_LIBENV_H

#include <iopf/domain.h>
#include <iopf/iommu.h>
#include <iopf/queue.h>

#include "bench.h"

#define BENCH_RID(i) (0x100u + (uint32_t)(i))
#define BENCH_PASID  1u

struct lib_env {
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu;
	struct iopf_queue *queue;
	struct iopf_domain *domain;
	unsigned int nr_devs;
	struct iopf_device **devs;
	struct iopf_attach_handle *handles;
};

/*
 * @pasid: the PASID to attach each device at, IOPF_NO_PASID for the RID
 * @ports: nr_devs ports (device i answers to ports[i]), or one shared port
 *	when @shared_port
 */
void lib_env_new(struct lib_env *env, unsigned int nr_workers,
		 unsigned int nr_devs, uint32_t max_pasids, uint32_t pasid,
		 iopf_handler_t handler, struct bench_port *ports,
		 bool shared_port);
/* The same, with struct iopf_queue_attr.flags (IOPF_QUEUE_PERCPU). */
void lib_env_new_queue(struct lib_env *env, unsigned int nr_workers,
		       uint32_t queue_flags, unsigned int nr_devs,
		       uint32_t max_pasids, uint32_t pasid,
		       iopf_handler_t handler, struct bench_port *ports,
		       bool shared_port);
void lib_env_free(struct lib_env *env);

/* The handler of the inline case: answer and free at once. */
int bench_answer_now(struct iopf_group *group);
/* The handler of the threaded case: hand the group to a worker. */
int bench_answer_later(struct iopf_group *group);

/* One group from the wire: look the device up by RID, report, put. */
static inline int lib_report_rid(struct iopf_iommu *iommu, uint32_t rid,
				 const struct iopf_fault *f)
{
	/* find + report + put, in one call and one RCU read-side section */
	return iopf_iommu_report_fault(iommu, rid, f);
}

#endif /* IOPF_BENCH_LIBENV_H */
