/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the formatter object (format.c) and the four
 * output formats (format-text.c, format-json.c, format-mermaid.c,
 * format-svg.c). Every format function is called with fmt->lock held.
 */
#ifndef IOPF_TRACE_FORMAT_PRIV_H
#define IOPF_TRACE_FORMAT_PRIV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <iopf/trace.h>
#include <iopf/trace-format.h>

/* One arrow or note of the SVG picture, kept until finish. */
struct iopf_svg_row {
	uint32_t from, to; /* enum iopf_trace_layer; from > to is allowed */
	bool note;
	bool reply; /* a response: drawn dashed */
	int code; /* response code for colouring, or -1 */
	char *label;
};

struct iopf_trace_formatter {
	pthread_mutex_t lock;
	FILE *out;
	enum iopf_trace_format format;
	int err; /* first error: -ENOMEM or -EIO */
	bool started; /* header written (MERMAID) */
	bool finished;
	/* SVG rows */
	struct iopf_svg_row *rows;
	size_t nr_rows, max_rows;
};

/* A bounded string builder that never overflows and remembers truncation. */
struct iopf_sbuf {
	char *buf;
	size_t size, len;
	size_t want; /* length the text would have had */
};

void iopf_sbuf_init(struct iopf_sbuf *sb, char *buf, size_t size);
__attribute__((format(printf, 2, 3))) void
iopf_sbuf_printf(struct iopf_sbuf *sb, const char *fmt, ...);
void iopf_sbuf_puts(struct iopf_sbuf *sb, const char *s);

/* Names shared by every format. */
const char *iopf_trace_layer_name(uint32_t layer);
const char *iopf_trace_code_name(int32_t code); /* NULL if not a known code */
void iopf_trace_put_flags(struct iopf_sbuf *sb, uint32_t flags);
void iopf_trace_put_perm(struct iopf_sbuf *sb, uint32_t perm);
void iopf_trace_put_code(struct iopf_sbuf *sb, int32_t code);

/*
 * The "key=value ..." fields of an event, as in a TEXT line. @brief leaves
 * out what a diagram label does not need (IOMMU, device ID, raw bytes).
 */
void iopf_trace_put_fields(struct iopf_sbuf *sb,
			   const struct iopf_trace_event *ev, bool brief);

/* Records a write error of the stream. */
void iopf_fmt_check(struct iopf_trace_formatter *fmt, int ret);

void iopf_fmt_text_event(struct iopf_trace_formatter *fmt,
			 const struct iopf_trace_event *ev);
void iopf_fmt_text_note(struct iopf_trace_formatter *fmt, const char *text);
void iopf_fmt_json_event(struct iopf_trace_formatter *fmt,
			 const struct iopf_trace_event *ev);
void iopf_fmt_json_note(struct iopf_trace_formatter *fmt, const char *text);
void iopf_fmt_mermaid_event(struct iopf_trace_formatter *fmt,
			    const struct iopf_trace_event *ev);
void iopf_fmt_mermaid_note(struct iopf_trace_formatter *fmt, const char *text);
void iopf_fmt_mermaid_finish(struct iopf_trace_formatter *fmt);
void iopf_fmt_svg_event(struct iopf_trace_formatter *fmt,
			const struct iopf_trace_event *ev);
int iopf_fmt_svg_note(struct iopf_trace_formatter *fmt, const char *text);
void iopf_fmt_svg_finish(struct iopf_trace_formatter *fmt);
void iopf_fmt_svg_release(struct iopf_trace_formatter *fmt);

#endif /* IOPF_TRACE_FORMAT_PRIV_H */
