// SPDX-License-Identifier: MIT
/*
 * Trace events: the sink, the sequence counter and the names.
 *
 * Emitting is guarded by iopf_trace_on() at every call site, so with no
 * sink the fault path pays one predictable branch and nothing else.
 */
#include <errno.h>
#include <string.h>

#include "iommu-priv.h"

static const char *const type_names[IOPF_TRACE_TYPE_MAX] = {
	[IOPF_TRACE_FAULT_REPORTED] = "fault_reported",
	[IOPF_TRACE_PARTIAL_STORED] = "partial_stored",
	[IOPF_TRACE_GROUP_FORMED] = "group_formed",
	[IOPF_TRACE_HANDLER_CALLED] = "handler_called",
	[IOPF_TRACE_RESPONSE_SENT] = "response_sent",
	[IOPF_TRACE_STOP_MARKER_DROPPED] = "stop_marker_dropped",
	[IOPF_TRACE_BAD_REQUEST] = "bad_request",
	[IOPF_TRACE_PARTIALS_DISCARDED] = "partials_discarded",
	[IOPF_TRACE_OVERFLOW] = "overflow",
	[IOPF_TRACE_DRAIN_BEGIN] = "drain_begin",
	[IOPF_TRACE_DRAIN_END] = "drain_end",
	[IOPF_TRACE_QUEUE_FLUSHED] = "queue_flushed",
	[IOPF_TRACE_DEVICE_ADDED] = "device_added",
	[IOPF_TRACE_DEVICE_REMOVED] = "device_removed",
	[IOPF_TRACE_PASID_ATTACHED] = "pasid_attached",
	[IOPF_TRACE_PASID_DETACHED] = "pasid_detached",
	[IOPF_TRACE_PASID_ALLOCATED] = "pasid_allocated",
	[IOPF_TRACE_PASID_FREED] = "pasid_freed",
	[IOPF_TRACE_HW_DESC_IN] = "hw_desc_in",
	[IOPF_TRACE_HW_DESC_OUT] = "hw_desc_out",
	[IOPF_TRACE_FAULT_REJECTED] = "fault_rejected",
	[IOPF_TRACE_WORK_QUEUED] = "work_queued",
	[IOPF_TRACE_MM_FAULT] = "mm_fault",
	[IOPF_TRACE_USER_READ] = "user_read",
	[IOPF_TRACE_USER_WRITE] = "user_write",
	[IOPF_TRACE_DEVICE_EVENT] = "device_event",
};

static const char *const origin_names[] = {
	[IOPF_ORIGIN_NONE] = "none",
	[IOPF_ORIGIN_HANDLER] = "handler",
	[IOPF_ORIGIN_ABORT] = "abort",
	[IOPF_ORIGIN_ERROR] = "error",
	[IOPF_ORIGIN_REMOVE_DEVICE] = "remove_device",
	[IOPF_ORIGIN_FREE_GROUP] = "free_group",
	[IOPF_ORIGIN_AUTO] = "auto",
	[IOPF_ORIGIN_DRIVER] = "driver",
	[IOPF_ORIGIN_CHANNEL] = "channel",
};

IOPF_EXPORT const char *iopf_trace_type_name(uint32_t type)
{
	if (type >= IOPF_TRACE_TYPE_MAX || !type_names[type])
		return "unknown";
	return type_names[type];
}

IOPF_EXPORT const char *iopf_trace_origin_name(uint32_t origin)
{
	if (origin >= sizeof(origin_names) / sizeof(origin_names[0]))
		return "unknown";
	return origin_names[origin];
}

IOPF_EXPORT int iopf_trace_set_sink(struct iopf_ctx *ctx,
				    iopf_trace_sink_t sink, void *priv)
{
	if (!ctx)
		return -EINVAL;
	/* priv first: a sink is never seen with a stale priv of its own */
	atomic_store(&ctx->trace_priv, priv);
	atomic_store(&ctx->trace_sink, sink);
	return 0;
}

void iopf_trace_emit(struct iopf_ctx *ctx, struct iopf_trace_event *ev)
{
	iopf_trace_sink_t sink = atomic_load(&ctx->trace_sink);

	if (!sink)
		return;
	ev->seq = atomic_fetch_add(&ctx->trace_seq, 1) + 1;
	sink(ev, atomic_load(&ctx->trace_priv));
}

static void fill_dev(struct iopf_trace_event *ev, const struct iopf_device *dev)
{
	if (!dev)
		return;
	ev->device = dev->name;
	ev->dev_id = dev->id;
	ev->iommu = dev->iommu ? dev->iommu->name : NULL;
}

/* Where each event type sits on the sequence diagrams. */
static void fill_layers(struct iopf_trace_event *ev)
{
	switch (ev->type) {
	case IOPF_TRACE_RESPONSE_SENT:
		ev->from = IOPF_LAYER_CORE;
		ev->to = IOPF_LAYER_DRIVER;
		if (ev->origin == IOPF_ORIGIN_AUTO) {
			ev->from = IOPF_LAYER_HW;
			ev->to = IOPF_LAYER_ENDPOINT;
		} else if (ev->origin == IOPF_ORIGIN_DRIVER) {
			ev->from = IOPF_LAYER_DRIVER;
			ev->to = IOPF_LAYER_HW;
		}
		break;
	case IOPF_TRACE_HANDLER_CALLED:
	case IOPF_TRACE_WORK_QUEUED:
		ev->from = IOPF_LAYER_CORE;
		ev->to = IOPF_LAYER_HANDLER;
		break;
	case IOPF_TRACE_USER_READ:
	case IOPF_TRACE_MM_FAULT:
		ev->from = IOPF_LAYER_HANDLER;
		ev->to = IOPF_LAYER_USER;
		break;
	case IOPF_TRACE_USER_WRITE:
		ev->from = IOPF_LAYER_USER;
		ev->to = IOPF_LAYER_HANDLER;
		break;
	case IOPF_TRACE_FAULT_REPORTED:
	case IOPF_TRACE_FAULT_REJECTED:
		ev->from = IOPF_LAYER_DRIVER;
		ev->to = IOPF_LAYER_CORE;
		break;
	default:
		ev->from = IOPF_LAYER_CORE;
		ev->to = IOPF_LAYER_CORE;
		break;
	}
}

void iopf_trace_fault(struct iopf_ctx *ctx, uint32_t type,
		      const struct iopf_device *dev,
		      const struct iopf_fault *evt, int32_t code,
		      uint32_t origin, int32_t ret, uint32_t count)
{
	struct iopf_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	fill_dev(&ev, dev);
	ev.pasid = IOPF_PASID_INVALID;
	if (evt) {
		ev.flags = evt->prm.flags;
		ev.perm = evt->prm.perm;
		ev.addr = evt->prm.addr;
		ev.grpid = evt->prm.grpid;
		if (evt->prm.flags & IOPF_FAULT_PAGE_REQUEST_PASID_VALID)
			ev.pasid = evt->prm.pasid;
	}
	ev.code = code;
	ev.origin = origin;
	ev.ret = ret;
	ev.count = count;
	fill_layers(&ev);
	iopf_trace_emit(ctx, &ev);
}

void iopf_trace_dev(struct iopf_ctx *ctx, uint32_t type,
		    const struct iopf_device *dev, uint32_t pasid,
		    const char *name, int32_t ret)
{
	struct iopf_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	fill_dev(&ev, dev);
	ev.pasid = pasid;
	ev.code = -1;
	ev.ret = ret;
	ev.name = name;
	fill_layers(&ev);
	iopf_trace_emit(ctx, &ev);
}
