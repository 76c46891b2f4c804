// SPDX-License-Identifier: MIT
/*
 * MERMAID format: a sequenceDiagram with one participant per layer of
 * enum iopf_trace_layer and one message per event. Responses are drawn
 * dashed, as replies. Streamed: the header goes out before the first
 * message, or at finish for an empty trace.
 */
#include "format-priv.h"

static const char *const participant_ids[IOPF_LAYER_MAX] = {
	[IOPF_LAYER_ENDPOINT] = "EP", [IOPF_LAYER_HW] = "HW",
	[IOPF_LAYER_DRIVER] = "DRV",  [IOPF_LAYER_CORE] = "CORE",
	[IOPF_LAYER_HANDLER] = "H",   [IOPF_LAYER_USER] = "USER",
};

static const char *const participant_titles[IOPF_LAYER_MAX] = {
	[IOPF_LAYER_ENDPOINT] = "endpoint",
	[IOPF_LAYER_HW] = "IOMMU hardware",
	[IOPF_LAYER_DRIVER] = "IOMMU driver",
	[IOPF_LAYER_CORE] = "io-pgfault core",
	[IOPF_LAYER_HANDLER] = "handler",
	[IOPF_LAYER_USER] = "mm / user",
};

static const char *pid(uint32_t layer)
{
	return participant_ids[layer < IOPF_LAYER_MAX ? layer :
							IOPF_LAYER_CORE];
}

static void start(struct iopf_trace_formatter *fmt)
{
	if (fmt->started)
		return;
	fmt->started = true;
	iopf_fmt_check(fmt,
		       fputs("sequenceDiagram\n    autonumber\n", fmt->out));
	for (int i = 0; i < IOPF_LAYER_MAX; i++)
		iopf_fmt_check(fmt,
			       fprintf(fmt->out, "    participant %s as %s\n",
				       participant_ids[i],
				       participant_titles[i]));
}

/* Mermaid reads ';' as a statement end, '#' as an entity, '%%' as a comment. */
static void put_clean(struct iopf_trace_formatter *fmt, const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (c == ';' || c == '#' || c == '%' || c == '\n' || c == '\r')
			c = ' ';
		else if (c == '<')
			c = '(';
		else if (c == '>')
			c = ')';
		iopf_fmt_check(fmt, fputc(c, fmt->out) == EOF ? -1 : 0);
	}
}

void iopf_fmt_mermaid_event(struct iopf_trace_formatter *fmt,
			    const struct iopf_trace_event *ev)
{
	char label[512];
	struct iopf_sbuf sb;
	bool reply = ev->type == IOPF_TRACE_RESPONSE_SENT;

	start(fmt);
	iopf_sbuf_init(&sb, label, sizeof(label));
	iopf_sbuf_puts(&sb, iopf_trace_type_name(ev->type));
	iopf_trace_put_fields(&sb, ev, true);
	iopf_fmt_check(fmt, fprintf(fmt->out, "    %s%s%s: ", pid(ev->from),
				    reply ? "-->>" : "->>", pid(ev->to)));
	put_clean(fmt, label);
	iopf_fmt_check(fmt, fputc('\n', fmt->out) == EOF ? -1 : 0);
}

void iopf_fmt_mermaid_note(struct iopf_trace_formatter *fmt, const char *text)
{
	start(fmt);
	iopf_fmt_check(fmt, fprintf(fmt->out,
				    "    Note over %s,%s: ", participant_ids[0],
				    participant_ids[IOPF_LAYER_MAX - 1]));
	put_clean(fmt, text);
	iopf_fmt_check(fmt, fputc('\n', fmt->out) == EOF ? -1 : 0);
}

void iopf_fmt_mermaid_finish(struct iopf_trace_formatter *fmt)
{
	start(fmt);
}
