// SPDX-License-Identifier: MIT
/*
 * The trace formatter object: a stream, a format and a mutex that makes
 * the sink safe to call from every thread that emits events.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "export.h"
#include "format-priv.h"

#define NOTE_MAX 1024

static const char *const format_names[IOPF_TRACE_FORMAT_MAX] = {
	[IOPF_TRACE_FORMAT_TEXT] = "text",
	[IOPF_TRACE_FORMAT_JSON] = "json",
	[IOPF_TRACE_FORMAT_MERMAID] = "mermaid",
	[IOPF_TRACE_FORMAT_SVG] = "svg",
};

IOPF_EXPORT int iopf_trace_format_parse(const char *name,
					enum iopf_trace_format *out)
{
	if (!name || !out)
		return -EINVAL;
	for (int i = 0; i < IOPF_TRACE_FORMAT_MAX; i++) {
		if (!strcmp(name, format_names[i])) {
			*out = (enum iopf_trace_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

IOPF_EXPORT int iopf_trace_formatter_new(FILE *stream,
					 enum iopf_trace_format format,
					 struct iopf_trace_formatter **out)
{
	struct iopf_trace_formatter *fmt;

	if (!stream || !out || (unsigned int)format >= IOPF_TRACE_FORMAT_MAX)
		return -EINVAL;
	fmt = iopf_zalloc(sizeof(*fmt));
	if (!fmt)
		return -ENOMEM;
	if (pthread_mutex_init(&fmt->lock, NULL)) {
		iopf_mfree(fmt);
		return -ENOMEM;
	}
	fmt->out = stream;
	fmt->format = format;
	*out = fmt;
	return 0;
}

void iopf_fmt_check(struct iopf_trace_formatter *fmt, int ret)
{
	if (ret < 0 && !fmt->err)
		fmt->err = -EIO;
}

IOPF_EXPORT void iopf_trace_format_sink(const struct iopf_trace_event *ev,
					void *priv)
{
	struct iopf_trace_formatter *fmt = priv;

	if (!fmt || !ev)
		return;
	pthread_mutex_lock(&fmt->lock);
	if (fmt->finished)
		goto out;
	switch (fmt->format) {
	case IOPF_TRACE_FORMAT_TEXT:
		iopf_fmt_text_event(fmt, ev);
		break;
	case IOPF_TRACE_FORMAT_JSON:
		iopf_fmt_json_event(fmt, ev);
		break;
	case IOPF_TRACE_FORMAT_MERMAID:
		iopf_fmt_mermaid_event(fmt, ev);
		break;
	case IOPF_TRACE_FORMAT_SVG:
		iopf_fmt_svg_event(fmt, ev);
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&fmt->lock);
}

/* One printable line: stop at a newline, blank out other control bytes. */
static void note_clean(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < NOTE_MAX - 1 && src[i] && src[i] != '\n'; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ?
				 ' ' :
				 src[i];
	dst[i] = '\0';
}

IOPF_EXPORT int iopf_trace_formatter_note(struct iopf_trace_formatter *fmt,
					  const char *text)
{
	char line[NOTE_MAX];
	int ret = 0;

	if (!fmt || !text)
		return -EINVAL;
	note_clean(line, text);
	pthread_mutex_lock(&fmt->lock);
	if (fmt->finished) {
		ret = -EINVAL;
		goto out;
	}
	switch (fmt->format) {
	case IOPF_TRACE_FORMAT_TEXT:
		iopf_fmt_text_note(fmt, line);
		break;
	case IOPF_TRACE_FORMAT_JSON:
		iopf_fmt_json_note(fmt, line);
		break;
	case IOPF_TRACE_FORMAT_MERMAID:
		iopf_fmt_mermaid_note(fmt, line);
		break;
	case IOPF_TRACE_FORMAT_SVG:
		ret = iopf_fmt_svg_note(fmt, line);
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&fmt->lock);
	return ret;
}

IOPF_EXPORT int iopf_trace_formatter_finish(struct iopf_trace_formatter *fmt)
{
	int ret;

	if (!fmt)
		return -EINVAL;
	pthread_mutex_lock(&fmt->lock);
	if (!fmt->finished) {
		fmt->finished = true;
		if (fmt->format == IOPF_TRACE_FORMAT_MERMAID)
			iopf_fmt_mermaid_finish(fmt);
		else if (fmt->format == IOPF_TRACE_FORMAT_SVG)
			iopf_fmt_svg_finish(fmt);
		iopf_fmt_check(fmt, fflush(fmt->out) ? -1 : 0);
		if (ferror(fmt->out))
			iopf_fmt_check(fmt, -1);
	}
	ret = fmt->err;
	pthread_mutex_unlock(&fmt->lock);
	return ret;
}

IOPF_EXPORT void iopf_trace_formatter_free(struct iopf_trace_formatter *fmt)
{
	if (!fmt)
		return;
	iopf_fmt_svg_release(fmt);
	pthread_mutex_destroy(&fmt->lock);
	iopf_mfree(fmt);
}
