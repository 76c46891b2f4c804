/* SPDX-License-Identifier: MIT */
/*
 * The baseline: the IOPF semantics written the plain way, without libiopf.
 *
 * What a competent engineer would write in an afternoon: one global mutex
 * over everything, hash tables for the device (requester ID) and routing
 * (device, PASID) lookups, the kernel's per-device partial list and pending
 * list, exactly-once responses, a FIFO of work items drained by worker
 * threads sleeping on one condition variable. Allocation is done outside
 * the lock, the handler and the work run outside it, a sleeping worker is
 * signalled only when there is one.
 *
 * Thread safety: bl_report(), bl_queue_work(), bl_group_response() and
 * bl_group_free() from any thread; setup and bl_free() from one thread.
 */
#ifndef IOPF_BENCH_BASELINE_H
#define IOPF_BENCH_BASELINE_H

#include <stdint.h>

#include <iopf/fault.h>

struct bl;
struct bl_dev;
struct bl_group;

typedef int (*bl_handler_t)(struct bl_group *group);
typedef void (*bl_response_t)(void *dev_drvdata, const struct iopf_fault *evt,
			      const struct iopf_page_response *msg);

int bl_new(unsigned int nr_workers, bl_response_t page_response,
	   struct bl **out);
void bl_free(struct bl *bl);
int bl_device_add(struct bl *bl, uint32_t rid, void *drvdata,
		  struct bl_dev **out);
int bl_attach(struct bl *bl, struct bl_dev *dev, uint32_t pasid,
	      bl_handler_t handler);

int bl_report(struct bl *bl, uint32_t rid, const struct iopf_fault *evt);
int bl_queue_work(struct bl_group *group, void (*fn)(struct bl_group *group));
void bl_group_response(struct bl_group *group, uint32_t code);
void bl_group_free(struct bl_group *group);

#endif /* IOPF_BENCH_BASELINE_H */
