/* SPDX-License-Identifier: MIT */
/*
 * libiopf - trace events.
 *
 * Every step of the fault path emits one event to the context's sink, if
 * one is set; with no sink the cost is one predictable branch. Events carry
 * plain values and borrowed strings, valid only during the sink call.
 *
 * Thread safety: the sink is called from whichever thread runs the step
 * (reporters, workers, backend threads), possibly concurrently: it must be
 * thread-safe. Events get a sequence number from a per-context counter.
 */
#ifndef IOPF_TRACE_H
#define IOPF_TRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;

/** enum iopf_trace_type - what happened */
enum iopf_trace_type {
	IOPF_TRACE_FAULT_REPORTED = 1, /* iopf_report_device_fault() entered */
	IOPF_TRACE_PARTIAL_STORED, /* non-last request kept */
	IOPF_TRACE_GROUP_FORMED, /* last request: a group was built */
	IOPF_TRACE_HANDLER_CALLED, /* domain->iopf_handler(group) */
	IOPF_TRACE_RESPONSE_SENT, /* page_response called; see origin */
	IOPF_TRACE_STOP_MARKER_DROPPED,
	IOPF_TRACE_BAD_REQUEST, /* driver rejected a request */
	IOPF_TRACE_PARTIALS_DISCARDED, /* count = how many */
	IOPF_TRACE_OVERFLOW, /* a hardware queue overflowed */
	IOPF_TRACE_DRAIN_BEGIN,
	IOPF_TRACE_DRAIN_END,
	IOPF_TRACE_QUEUE_FLUSHED,
	IOPF_TRACE_DEVICE_ADDED, /* to a fault queue */
	IOPF_TRACE_DEVICE_REMOVED, /* from a fault queue */
	IOPF_TRACE_PASID_ATTACHED,
	IOPF_TRACE_PASID_DETACHED,
	IOPF_TRACE_PASID_ALLOCATED,
	IOPF_TRACE_PASID_FREED,
	IOPF_TRACE_HW_DESC_IN, /* a descriptor entered a hardware queue */
	IOPF_TRACE_HW_DESC_OUT, /* a descriptor left a hardware queue */
	IOPF_TRACE_FAULT_REJECTED, /* bad input to the report call */
	IOPF_TRACE_WORK_QUEUED,
	IOPF_TRACE_MM_FAULT, /* SVA resolved one fault against an mm */
	IOPF_TRACE_USER_READ, /* a channel delivered a group */
	IOPF_TRACE_USER_WRITE, /* a channel took a response */
	IOPF_TRACE_DEVICE_EVENT, /* endpoint-side step (DMA, retry, ...) */
	IOPF_TRACE_TYPE_MAX
};

/** enum iopf_trace_origin - who sent a response */
enum iopf_trace_origin {
	IOPF_ORIGIN_NONE = 0,
	IOPF_ORIGIN_HANDLER, /* iopf_group_response() by the holder */
	IOPF_ORIGIN_ABORT, /* core abort path (handler failed, no memory) */
	IOPF_ORIGIN_ERROR, /* core error path (no handler, no queue) */
	IOPF_ORIGIN_REMOVE_DEVICE, /* iopf_queue_remove_device() */
	IOPF_ORIGIN_FREE_GROUP, /* iopf_free_group() of an unanswered group */
	IOPF_ORIGIN_AUTO, /* hardware auto-response (overflow, ...) */
	IOPF_ORIGIN_DRIVER, /* a driver answered a request itself */
	IOPF_ORIGIN_CHANNEL, /* a channel's detach/teardown auto-answer */
};

/** enum iopf_trace_layer - lifelines of the sequence diagrams */
enum iopf_trace_layer {
	IOPF_LAYER_ENDPOINT = 0,
	IOPF_LAYER_HW, /* IOMMU hardware model */
	IOPF_LAYER_DRIVER, /* IOMMU driver model */
	IOPF_LAYER_CORE, /* io-pgfault */
	IOPF_LAYER_HANDLER, /* domain handler (SVA, channel, custom) */
	IOPF_LAYER_USER, /* mm or user space */
	IOPF_LAYER_MAX
};

/**
 * struct iopf_trace_event - one trace event
 * @type: enum iopf_trace_type
 * @seq: per-context sequence number, from 1
 * @from: enum iopf_trace_layer that acts
 * @to: enum iopf_trace_layer acted upon
 * @iommu: IOMMU name, or NULL
 * @device: device name, or NULL
 * @dev_id: device ID
 * @pasid: PASID (IOPF_PASID_INVALID when none applies)
 * @grpid: group index
 * @flags: fault flags
 * @perm: fault permissions
 * @addr: address
 * @code: response code, or -1
 * @origin: enum iopf_trace_origin, for responses
 * @ret: return value of the step, when it has one
 * @count: a count (faults in a group, partials discarded, ...)
 * @name: a short qualifier (queue name, descriptor name, handler kind)
 * @desc: raw descriptor bytes for HW_DESC_*, else NULL
 * @desc_len: length of @desc
 */
struct iopf_trace_event {
	uint32_t type;
	uint64_t seq;
	uint32_t from, to;
	const char *iommu;
	const char *device;
	uint32_t dev_id;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t flags;
	uint32_t perm;
	uint64_t addr;
	int32_t code;
	uint32_t origin;
	int32_t ret;
	uint32_t count;
	const char *name;
	const void *desc;
	size_t desc_len;
};

/**
 * typedef iopf_trace_sink_t - receives trace events
 * @ev: the event; valid during the call only
 * @priv: the pointer given to iopf_trace_set_sink()
 *
 * Context: called on the thread that takes the step, possibly inside an RCU
 * read-side section and with the step half done (work_queued: the group
 * counted for flushes but not queued yet). A sink must not call back into
 * libiopf, and a sink that blocks holds up that step (flushes and frees
 * wait for it).
 */
typedef void (*iopf_trace_sink_t)(const struct iopf_trace_event *ev,
				  void *priv);

/**
 * iopf_trace_set_sink() - set or clear a context's trace sink
 * @ctx: the context
 * @sink: the callback, or NULL to stop tracing
 * @priv: passed to @sink
 *
 * Context: set it before faults flow; changing it while events are emitted
 * is safe but an event may still reach the old sink.
 * Return: 0, or -EINVAL if @ctx is NULL.
 */
int iopf_trace_set_sink(struct iopf_ctx *ctx, iopf_trace_sink_t sink,
			void *priv);

/**
 * iopf_trace_type_name() - the name of an event type ("fault_reported", ...)
 * @type: enum iopf_trace_type
 *
 * Context: any thread.
 * Return: a static string; "unknown" for an unknown type.
 */
const char *iopf_trace_type_name(uint32_t type);

/**
 * iopf_trace_origin_name() - the name of a response origin ("handler", ...)
 * @origin: enum iopf_trace_origin
 *
 * Context: any thread.
 * Return: a static string; "unknown" for an unknown origin.
 */
const char *iopf_trace_origin_name(uint32_t origin);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_TRACE_H */
