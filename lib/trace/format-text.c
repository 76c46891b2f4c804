// SPDX-License-Identifier: MIT
/*
 * TEXT format: one line per event, in the style of the kernel's
 * tracepoints ("iopf: <event>: key=value ..."), and the field rendering
 * the other formats reuse for their labels.
 *
 * Which fields a line carries: every event names its device; events that
 * carry a page request always show pasid, grpid, flags, perm and addr;
 * the other fields appear only when the event sets them (code >= 0,
 * origin not "none", count, ret, name, raw descriptor bytes). A channel
 * carries the group's cookie in @ret of user_read/user_write: shown as
 * cookie=.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <iopf/fault.h>

#include "export.h"
#include "format-priv.h"

#define DESC_MAX 64 /* raw bytes shown; more are elided with ".." */

void iopf_sbuf_init(struct iopf_sbuf *sb, char *buf, size_t size)
{
	sb->buf = buf;
	sb->size = size;
	sb->len = 0;
	sb->want = 0;
	if (size)
		buf[0] = '\0';
}

static void sbuf_vprintf(struct iopf_sbuf *sb, const char *fmt, va_list ap)
{
	size_t room = sb->len < sb->size ? sb->size - sb->len : 0;
	int n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);

	if (n < 0)
		return;
	sb->want += (size_t)n;
	sb->len += (size_t)n < room ? (size_t)n : (room ? room - 1 : 0);
}

void iopf_sbuf_printf(struct iopf_sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

void iopf_sbuf_puts(struct iopf_sbuf *sb, const char *s)
{
	iopf_sbuf_printf(sb, "%s", s);
}

static const char *const layer_names[IOPF_LAYER_MAX] = {
	[IOPF_LAYER_ENDPOINT] = "endpoint", [IOPF_LAYER_HW] = "hw",
	[IOPF_LAYER_DRIVER] = "driver",	    [IOPF_LAYER_CORE] = "core",
	[IOPF_LAYER_HANDLER] = "handler",   [IOPF_LAYER_USER] = "user",
};

const char *iopf_trace_layer_name(uint32_t layer)
{
	return layer < IOPF_LAYER_MAX ? layer_names[layer] : "unknown";
}

const char *iopf_trace_code_name(int32_t code)
{
	switch (code) {
	case IOPF_PAGE_RESP_SUCCESS:
		return "SUCCESS";
	case IOPF_PAGE_RESP_INVALID:
		return "INVALID";
	case IOPF_PAGE_RESP_FAILURE:
		return "FAILURE";
	default:
		return NULL;
	}
}

void iopf_trace_put_code(struct iopf_sbuf *sb, int32_t code)
{
	const char *name = iopf_trace_code_name(code);

	if (name)
		iopf_sbuf_puts(sb, name);
	else
		iopf_sbuf_printf(sb, "%" PRId32, code);
}

struct bit_name {
	uint32_t bit;
	const char *name;
};

/* "A|B|0x40": named bits in table order, then the unknown rest in hex. */
static void put_bits(struct iopf_sbuf *sb, uint32_t v, const struct bit_name *t,
		     size_t n)
{
	bool first = true;

	if (!v) {
		iopf_sbuf_puts(sb, "none");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(v & t[i].bit))
			continue;
		iopf_sbuf_printf(sb, "%s%s", first ? "" : "|", t[i].name);
		v &= ~t[i].bit;
		first = false;
	}
	if (v)
		iopf_sbuf_printf(sb, "%s0x%" PRIx32, first ? "" : "|", v);
}

void iopf_trace_put_flags(struct iopf_sbuf *sb, uint32_t flags)
{
	static const struct bit_name t[] = {
		{ IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID, "NEEDS_PASID" },
		{ IOPF_FAULT_PAGE_REQUEST_LAST_PAGE, "LAST_PAGE" },
		{ IOPF_FAULT_PAGE_REQUEST_PASID_VALID, "PASID_VALID" },
	};

	put_bits(sb, flags, t, sizeof(t) / sizeof(t[0]));
}

void iopf_trace_put_perm(struct iopf_sbuf *sb, uint32_t perm)
{
	static const struct bit_name t[] = {
		{ IOPF_FAULT_PERM_READ, "R" },
		{ IOPF_FAULT_PERM_WRITE, "W" },
		{ IOPF_FAULT_PERM_EXEC, "X" },
		{ IOPF_FAULT_PERM_PRIV, "P" },
	};

	put_bits(sb, perm, t, sizeof(t) / sizeof(t[0]));
}

/* Event types whose record is a page request (pasid .. addr always shown). */
static bool carries_fault(uint32_t type)
{
	switch (type) {
	case IOPF_TRACE_FAULT_REPORTED:
	case IOPF_TRACE_PARTIAL_STORED:
	case IOPF_TRACE_GROUP_FORMED:
	case IOPF_TRACE_HANDLER_CALLED:
	case IOPF_TRACE_RESPONSE_SENT:
	case IOPF_TRACE_STOP_MARKER_DROPPED:
	case IOPF_TRACE_BAD_REQUEST:
	case IOPF_TRACE_FAULT_REJECTED:
	case IOPF_TRACE_WORK_QUEUED:
	case IOPF_TRACE_MM_FAULT:
	case IOPF_TRACE_USER_READ:
	case IOPF_TRACE_USER_WRITE:
		return true;
	default:
		return false;
	}
}

static void put_pasid(struct iopf_sbuf *sb, uint32_t pasid)
{
	if (pasid == IOPF_PASID_INVALID)
		iopf_sbuf_puts(sb, " pasid=none");
	else
		iopf_sbuf_printf(sb, " pasid=%" PRIu32, pasid);
}

static void put_request(struct iopf_sbuf *sb, const struct iopf_trace_event *ev,
			bool brief)
{
	bool all = carries_fault(ev->type);

	if (all || ev->pasid != IOPF_PASID_INVALID)
		put_pasid(sb, ev->pasid);
	if (all || ev->grpid)
		iopf_sbuf_printf(sb, " grpid=%" PRIu32, ev->grpid);
	if (!brief && (all || ev->flags)) {
		iopf_sbuf_puts(sb, " flags=");
		iopf_trace_put_flags(sb, ev->flags);
	}
	if (all || ev->perm) {
		iopf_sbuf_puts(sb, " perm=");
		iopf_trace_put_perm(sb, ev->perm);
	}
	if (all || ev->addr)
		iopf_sbuf_printf(sb, " addr=0x%" PRIx64, ev->addr);
}

static void put_desc(struct iopf_sbuf *sb, const struct iopf_trace_event *ev)
{
	const unsigned char *p = ev->desc;
	size_t n = ev->desc_len < DESC_MAX ? ev->desc_len : DESC_MAX;

	iopf_sbuf_puts(sb, " raw=");
	for (size_t i = 0; i < n; i++)
		iopf_sbuf_printf(sb, "%02x", p[i]);
	if (n < ev->desc_len)
		iopf_sbuf_puts(sb, "..");
}

/* Fields start with a space, so a caller can prefix anything. */
void iopf_trace_put_fields(struct iopf_sbuf *sb,
			   const struct iopf_trace_event *ev, bool brief)
{
	if (ev->iommu && !brief)
		iopf_sbuf_printf(sb, " iommu=%s", ev->iommu);
	if (ev->device)
		iopf_sbuf_printf(sb, " dev=%s", ev->device);
	if (!brief && (ev->device || ev->dev_id))
		iopf_sbuf_printf(sb, " id=0x%" PRIx32, ev->dev_id);
	put_request(sb, ev, brief);
	if (ev->code >= 0) {
		iopf_sbuf_puts(sb, " code=");
		iopf_trace_put_code(sb, ev->code);
	}
	if (ev->origin != IOPF_ORIGIN_NONE)
		iopf_sbuf_printf(sb, " origin=%s",
				 iopf_trace_origin_name(ev->origin));
	if (ev->count)
		iopf_sbuf_printf(sb, " count=%" PRIu32, ev->count);
	if (ev->ret && (ev->type == IOPF_TRACE_USER_READ ||
			ev->type == IOPF_TRACE_USER_WRITE))
		iopf_sbuf_printf(sb, " cookie=%" PRId32,
				 ev->ret); /* a channel's cookie */
	else if (ev->ret)
		iopf_sbuf_printf(sb, " ret=%" PRId32, ev->ret);
	if (ev->name)
		iopf_sbuf_printf(sb, " name=%s", ev->name);
	if (ev->desc && ev->desc_len && !brief)
		put_desc(sb, ev);
}

IOPF_EXPORT int iopf_trace_event_snprintf(char *buf, size_t size,
					  const struct iopf_trace_event *ev)
{
	struct iopf_sbuf sb;

	if (!ev || (!buf && size))
		return -EINVAL;
	iopf_sbuf_init(&sb, buf, size);
	iopf_sbuf_printf(&sb, "iopf: %s:", iopf_trace_type_name(ev->type));
	iopf_trace_put_fields(&sb, ev, false);
	return sb.want > INT32_MAX ? INT32_MAX : (int)sb.want;
}

void iopf_fmt_text_event(struct iopf_trace_formatter *fmt,
			 const struct iopf_trace_event *ev)
{
	char line[1024];
	int n = iopf_trace_event_snprintf(line, sizeof(line), ev);

	if (n >= 0)
		iopf_fmt_check(fmt, fprintf(fmt->out, "%s\n", line));
}

void iopf_fmt_text_note(struct iopf_trace_formatter *fmt, const char *text)
{
	iopf_fmt_check(fmt, fprintf(fmt->out, "# %s\n", text));
}
