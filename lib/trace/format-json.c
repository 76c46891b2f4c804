// SPDX-License-Identifier: MIT
/*
 * JSON format: JSON Lines, one object per event with every field present
 * (null when it does not apply), so a consumer never guesses. The field
 * names are a stable interface documented in docs/trace-json.md.
 *
 * Strings are written as pure ASCII JSON: bytes outside printable ASCII
 * become \u00XX escapes, so even a name with invalid UTF-8 yields a line
 * every JSON parser accepts.
 */
#include <inttypes.h>

#include <iopf/fault.h>

#include "format-priv.h"

static void json_str(struct iopf_trace_formatter *fmt, const char *s)
{
	FILE *f = fmt->out;

	if (!s) {
		iopf_fmt_check(fmt, fputs("null", f));
		return;
	}
	iopf_fmt_check(fmt, fputc('"', f) == EOF ? -1 : 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int ret;

		if (*p == '"' || *p == '\\')
			ret = fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			ret = fprintf(f, "\\u%04x", *p);
		else
			ret = fputc(*p, f) == EOF ? -1 : 0;
		iopf_fmt_check(fmt, ret);
	}
	iopf_fmt_check(fmt, fputc('"', f) == EOF ? -1 : 0);
}

static void json_key(struct iopf_trace_formatter *fmt, const char *key)
{
	iopf_fmt_check(fmt, fprintf(fmt->out, ",\"%s\":", key));
}

static void json_key_str(struct iopf_trace_formatter *fmt, const char *key,
			 const char *v)
{
	json_key(fmt, key);
	json_str(fmt, v);
}

/* A rendered field ("R|W", "LAST_PAGE|PASID_VALID") as a JSON string. */
static void json_key_bits(struct iopf_trace_formatter *fmt, const char *key,
			  uint32_t v, void (*put)(struct iopf_sbuf *, uint32_t))
{
	char buf[128];
	struct iopf_sbuf sb;

	iopf_sbuf_init(&sb, buf, sizeof(buf));
	put(&sb, v);
	json_key_str(fmt, key, buf);
}

static void json_desc(struct iopf_trace_formatter *fmt,
		      const struct iopf_trace_event *ev)
{
	const unsigned char *p = ev->desc;

	json_key(fmt, "desc");
	if (!p || !ev->desc_len) {
		iopf_fmt_check(fmt, fputs("null", fmt->out));
		return;
	}
	iopf_fmt_check(fmt, fputc('"', fmt->out) == EOF ? -1 : 0);
	for (size_t i = 0; i < ev->desc_len; i++)
		iopf_fmt_check(fmt, fprintf(fmt->out, "%02x", p[i]));
	iopf_fmt_check(fmt, fputc('"', fmt->out) == EOF ? -1 : 0);
}

void iopf_fmt_json_event(struct iopf_trace_formatter *fmt,
			 const struct iopf_trace_event *ev)
{
	FILE *f = fmt->out;
	const char *code = iopf_trace_code_name(ev->code);

	iopf_fmt_check(fmt, fprintf(f, "{\"seq\":%" PRIu64, ev->seq));
	json_key_str(fmt, "type", iopf_trace_type_name(ev->type));
	json_key_str(fmt, "from", iopf_trace_layer_name(ev->from));
	json_key_str(fmt, "to", iopf_trace_layer_name(ev->to));
	json_key_str(fmt, "iommu", ev->iommu);
	json_key_str(fmt, "device", ev->device);
	iopf_fmt_check(fmt, fprintf(f, ",\"dev_id\":%" PRIu32, ev->dev_id));
	if (ev->pasid == IOPF_PASID_INVALID)
		iopf_fmt_check(fmt, fputs(",\"pasid\":null", f));
	else
		iopf_fmt_check(fmt,
			       fprintf(f, ",\"pasid\":%" PRIu32, ev->pasid));
	iopf_fmt_check(fmt,
		       fprintf(f, ",\"grpid\":%" PRIu32 ",\"flags\":%" PRIu32,
			       ev->grpid, ev->flags));
	json_key_bits(fmt, "flag_names", ev->flags, iopf_trace_put_flags);
	iopf_fmt_check(fmt, fprintf(f, ",\"perm\":%" PRIu32, ev->perm));
	json_key_bits(fmt, "perm_names", ev->perm, iopf_trace_put_perm);
	/* a string: 64-bit addresses do not survive a double */
	iopf_fmt_check(fmt,
		       fprintf(f, ",\"addr\":\"0x%" PRIx64 "\"", ev->addr));
	if (ev->code < 0)
		iopf_fmt_check(fmt, fputs(",\"code\":null", f));
	else
		iopf_fmt_check(fmt, fprintf(f, ",\"code\":%" PRId32, ev->code));
	json_key_str(fmt, "code_name", ev->code < 0 ? NULL : code);
	json_key_str(fmt, "origin", iopf_trace_origin_name(ev->origin));
	iopf_fmt_check(fmt,
		       fprintf(f, ",\"ret\":%" PRId32 ",\"count\":%" PRIu32,
			       ev->ret, ev->count));
	json_key_str(fmt, "name", ev->name);
	json_desc(fmt, ev);
	iopf_fmt_check(fmt, fputs("}\n", f));
}

void iopf_fmt_json_note(struct iopf_trace_formatter *fmt, const char *text)
{
	iopf_fmt_check(fmt, fputs("{\"note\":", fmt->out));
	json_str(fmt, text);
	iopf_fmt_check(fmt, fputs("}\n", fmt->out));
}
