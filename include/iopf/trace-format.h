/* SPDX-License-Identifier: MIT */
/*
 * libiopf - built-in trace formatters.
 *
 * A formatter turns the events of <iopf/trace.h> into one of four outputs
 * written to a stdio stream:
 *  - TEXT: one line per event in the style of the kernel's tracepoints,
 *    "iopf: fault_reported: iommu=mock0 dev=dev0 id=0x10 pasid=1 ...";
 *  - JSON: JSON Lines, one object per event with stable field names
 *    (docs/trace-json.md);
 *  - MERMAID: a Mermaid sequenceDiagram, one message per event;
 *  - SVG: a self-contained SVG sequence diagram (no script, no external
 *    resource), one arrow per event, between the six lifelines of
 *    enum iopf_trace_layer.
 * The output holds no timestamp and no pointer: the same events give the
 * same bytes, so traces can be compared with golden files.
 *
 * Usage: create a formatter on a stream, pass iopf_trace_format_sink() and
 * the formatter to iopf_trace_set_sink(), run, clear the sink, call
 * iopf_trace_formatter_finish() (the SVG is written only then), free it.
 *
 * Thread safety: iopf_trace_format_sink() and iopf_trace_formatter_note()
 * may be called from any thread concurrently: a formatter serialises its
 * output with its own mutex, in the order the calls take it. finish and
 * free must not race with other calls on the same formatter. The stream
 * stays the caller's: the formatter never closes it.
 */
#ifndef IOPF_TRACE_FORMAT_H
#define IOPF_TRACE_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include <iopf/trace.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_trace_formatter;

/** enum iopf_trace_format - output formats */
enum iopf_trace_format {
	IOPF_TRACE_FORMAT_TEXT = 0,
	IOPF_TRACE_FORMAT_JSON,
	IOPF_TRACE_FORMAT_MERMAID,
	IOPF_TRACE_FORMAT_SVG,
	IOPF_TRACE_FORMAT_MAX
};

/**
 * iopf_trace_format_parse() - look a format up by name
 * @name: "text", "json", "mermaid" or "svg"
 * @out: where the format is stored; untouched on failure
 *
 * Context: any thread.
 * Return: 0, or -EINVAL (NULL argument, unknown name).
 */
int iopf_trace_format_parse(const char *name, enum iopf_trace_format *out);

/**
 * iopf_trace_formatter_new() - create a formatter writing to a stream
 * @stream: the output; the caller keeps it open until the formatter is freed
 * @format: enum iopf_trace_format
 * @out: the new formatter; untouched on failure
 *
 * TEXT, JSON and MERMAID write as events arrive; SVG keeps the rows in memory and
 * writes the whole picture in iopf_trace_formatter_finish().
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, unknown format) or -ENOMEM.
 */
int iopf_trace_formatter_new(FILE *stream, enum iopf_trace_format format,
			     struct iopf_trace_formatter **out);

/**
 * iopf_trace_format_sink() - the sink to give iopf_trace_set_sink()
 * @ev: the event
 * @priv: the formatter
 *
 * Events arriving after iopf_trace_formatter_finish() are ignored; errors
 * (no memory for a row, a failed write) are reported by finish.
 *
 * Context: any thread (see the header comment).
 */
void iopf_trace_format_sink(const struct iopf_trace_event *ev, void *priv);

/**
 * iopf_trace_formatter_note() - add an annotation between events
 * @fmt: the formatter
 * @text: one line of text (a newline ends it; control characters are
 *	replaced), e.g. the scenario step that caused the next events
 *
 * TEXT writes "# text", JSON writes {"note": "text"}, the diagrams draw a
 * note across every lifeline.
 *
 * Context: any thread (see the header comment).
 * Return: 0, -EINVAL (NULL argument, formatter finished) or -ENOMEM.
 */
int iopf_trace_formatter_note(struct iopf_trace_formatter *fmt,
			      const char *text);

/**
 * iopf_trace_formatter_finish() - complete the output
 * @fmt: the formatter
 *
 * Writes what the format needs at the end (the SVG picture, the Mermaid
 * header of an empty diagram) and flushes the stream. Clear the context's
 * sink first, or later events are dropped. A second call does nothing.
 *
 * Context: not concurrently with other calls on @fmt.
 * Return: 0; -EINVAL if @fmt is NULL; -ENOMEM if events were lost for
 * lack of memory; -EIO if a write to the stream failed.
 */
int iopf_trace_formatter_finish(struct iopf_trace_formatter *fmt);

/**
 * iopf_trace_formatter_free() - free a formatter (the stream stays open)
 * @fmt: the formatter, or NULL
 *
 * Does not finish the output: call iopf_trace_formatter_finish() first.
 *
 * Context: no sink call may be running on @fmt.
 */
void iopf_trace_formatter_free(struct iopf_trace_formatter *fmt);

/**
 * iopf_trace_event_snprintf() - render one event as a TEXT line
 * @buf: the destination (NUL-terminated when @size > 0)
 * @size: its size
 * @ev: the event
 *
 * The line of the TEXT format, without the newline.
 *
 * Context: any thread.
 * Return: the length of the whole line (as snprintf: a value >= @size means
 * it was truncated), or -EINVAL if @ev is NULL or @buf is NULL with @size
 * not 0.
 */
int iopf_trace_event_snprintf(char *buf, size_t size,
			      const struct iopf_trace_event *ev);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_TRACE_FORMAT_H */
