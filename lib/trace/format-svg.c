// SPDX-License-Identifier: MIT
/*
 * SVG format: a self-contained sequence diagram. Six lifelines (enum
 * iopf_trace_layer), one arrow per event from the layer that acts to the
 * layer acted upon, one box per note. Responses are dashed and coloured by
 * code. No script, no external font or stylesheet: any browser shows it.
 *
 * The picture's height is known only at the end, so rows are kept in
 * memory (a label string each) until iopf_trace_formatter_finish().
 */
#include <errno.h>
#include <string.h>

#include <iopf/fault.h>

#include "alloc.h"
#include "format-priv.h"

#define MARGIN 20
#define COL    190 /* distance between lifelines */
#define HEAD_Y 20
#define HEAD_H 36
#define ROW0_Y (HEAD_Y + HEAD_H + 30)
#define ROW_H  30
#define CHAR_W 7 /* generous width of one 11px monospace character */
#define SELF_W 28 /* width of a self-arrow loop */

static const char *const titles[IOPF_LAYER_MAX] = {
	[IOPF_LAYER_ENDPOINT] = "endpoint",
	[IOPF_LAYER_HW] = "IOMMU hardware",
	[IOPF_LAYER_DRIVER] = "IOMMU driver",
	[IOPF_LAYER_CORE] = "io-pgfault core",
	[IOPF_LAYER_HANDLER] = "handler",
	[IOPF_LAYER_USER] = "mm / user",
};

static uint32_t clamp_layer(uint32_t layer)
{
	return layer < IOPF_LAYER_MAX ? layer : IOPF_LAYER_CORE;
}

static int lifeline_x(uint32_t layer)
{
	return MARGIN + COL / 2 + (int)clamp_layer(layer) * COL;
}

static int add_row(struct iopf_trace_formatter *fmt,
		   const struct iopf_svg_row *row, const char *label)
{
	if (fmt->nr_rows == fmt->max_rows) {
		size_t max = fmt->max_rows ? fmt->max_rows * 2 : 64;
		struct iopf_svg_row *rows = iopf_calloc(max, sizeof(*rows));

		if (!rows)
			goto nomem;
		if (fmt->nr_rows)
			memcpy(rows, fmt->rows, fmt->nr_rows * sizeof(*rows));
		iopf_mfree(fmt->rows);
		fmt->rows = rows;
		fmt->max_rows = max;
	}
	fmt->rows[fmt->nr_rows] = *row;
	fmt->rows[fmt->nr_rows].label = iopf_strdup(label);
	if (!fmt->rows[fmt->nr_rows].label)
		goto nomem;
	fmt->nr_rows++;
	return 0;
nomem:
	if (!fmt->err)
		fmt->err = -ENOMEM;
	return -ENOMEM;
}

void iopf_fmt_svg_event(struct iopf_trace_formatter *fmt,
			const struct iopf_trace_event *ev)
{
	char label[512];
	struct iopf_sbuf sb;
	struct iopf_svg_row row = {
		.from = clamp_layer(ev->from),
		.to = clamp_layer(ev->to),
		.reply = ev->type == IOPF_TRACE_RESPONSE_SENT,
		.code = ev->type == IOPF_TRACE_RESPONSE_SENT ? ev->code : -1,
	};

	iopf_sbuf_init(&sb, label, sizeof(label));
	iopf_sbuf_printf(&sb, "%llu %s", (unsigned long long)ev->seq,
			 iopf_trace_type_name(ev->type));
	iopf_trace_put_fields(&sb, ev, true);
	add_row(fmt, &row, label);
}

int iopf_fmt_svg_note(struct iopf_trace_formatter *fmt, const char *text)
{
	struct iopf_svg_row row = { .note = true, .code = -1 };

	return add_row(fmt, &row, text);
}

static void put_escaped(struct iopf_trace_formatter *fmt, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int ret;

		switch (*p) {
		case '<':
			ret = fputs("&lt;", fmt->out);
			break;
		case '>':
			ret = fputs("&gt;", fmt->out);
			break;
		case '&':
			ret = fputs("&amp;", fmt->out);
			break;
		case '"':
			ret = fputs("&quot;", fmt->out);
			break;
		default:
			/* XML 1.0 forbids most control bytes; non-ASCII may not be UTF-8 */
			ret = fputc(*p < 0x20 || *p >= 0x7f ? '?' : *p,
				    fmt->out) == EOF ?
				      -1 :
				      0;
			break;
		}
		iopf_fmt_check(fmt, ret);
	}
}

static const char *code_class(int code)
{
	switch (code) {
	case IOPF_PAGE_RESP_SUCCESS:
		return "ok";
	case IOPF_PAGE_RESP_INVALID:
		return "inv";
	case IOPF_PAGE_RESP_FAILURE:
		return "fail";
	default:
		return "ev";
	}
}

/* The rightmost pixel a row's label reaches, to size the picture. */
static int row_right(const struct iopf_svg_row *row)
{
	int len = (int)strlen(row->label);
	int x;

	if (row->note)
		return MARGIN + 8 + len * CHAR_W + MARGIN;
	if (row->from == row->to)
		x = lifeline_x(row->from) + SELF_W + 6;
	else
		x = (row->from < row->to ? lifeline_x(row->from) :
					   lifeline_x(row->to)) +
		    6;
	return x + len * CHAR_W + MARGIN;
}

static void put_header(struct iopf_trace_formatter *fmt, int width, int height)
{
	static const char *const classes[] = { "ev", "ok", "inv", "fail" };
	static const char *const colours[] = { "#37474f", "#2e7d32", "#e65100",
					       "#c62828" };
	FILE *f = fmt->out;

	iopf_fmt_check(fmt,
		       fprintf(f,
			       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			       "<svg xmlns=\"http://www.w3.org/2000/svg\" "
			       "width=\"%d\" height=\"%d\" "
			       "viewBox=\"0 0 %d %d\" "
			       "font-family=\"monospace\" font-size=\"11\">\n"
			       "<title>libiopf trace</title>\n<style>\n"
			       ".life{stroke:#90a4ae;stroke-dasharray:4 4}\n"
			       ".head{fill:#eceff1;stroke:#546e7a}\n"
			       ".note{fill:#fff8e1;stroke:#ffb300}\n"
			       ".reply{stroke-dasharray:6 3}\n"
			       "text{paint-order:stroke;stroke:#fff;stroke-"
			       "width:3px}\n",
			       width, height, width, height));
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		iopf_fmt_check(fmt, fprintf(f,
					    "line.%s,path.%s{stroke:%s;fill:"
					    "none}\ntext.%s{fill:%s}\n",
					    classes[i], classes[i], colours[i],
					    classes[i], colours[i]));
	iopf_fmt_check(fmt, fputs("</style>\n<defs>\n", f));
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		iopf_fmt_check(fmt,
			       fprintf(f,
				       "<marker id=\"a-%s\" viewBox=\"0 0 10 "
				       "10\" refX=\"10\" refY=\"5\" "
				       "markerWidth=\"8\" markerHeight=\"8\" "
				       "orient=\"auto\">"
				       "<path d=\"M0,0 L10,5 L0,10 z\" "
				       "fill=\"%s\"/></marker>\n",
				       classes[i], colours[i]));
	iopf_fmt_check(fmt, fputs("</defs>\n<rect width=\"100%\" "
				  "height=\"100%\" fill=\"#fff\"/>\n",
				  f));
}

static void put_lifelines(struct iopf_trace_formatter *fmt, int height)
{
	for (uint32_t i = 0; i < IOPF_LAYER_MAX; i++) {
		int x = lifeline_x(i);

		iopf_fmt_check(
			fmt, fprintf(fmt->out,
				     "<line class=\"life\" x1=\"%d\" y1=\"%d\" "
				     "x2=\"%d\" y2=\"%d\"/>\n"
				     "<rect class=\"head\" x=\"%d\" y=\"%d\" "
				     "width=\"%d\" height=\"%d\" rx=\"4\"/>\n"
				     "<text x=\"%d\" y=\"%d\" "
				     "text-anchor=\"middle\" font-size=\"12\" "
				     "font-weight=\"bold\">%s</text>\n",
				     x, HEAD_Y + HEAD_H, x, height - MARGIN,
				     x - COL / 2 + 8, HEAD_Y, COL - 16, HEAD_H,
				     x, HEAD_Y + HEAD_H / 2 + 4, titles[i]));
	}
}

static void put_row(struct iopf_trace_formatter *fmt,
		    const struct iopf_svg_row *row, int y, int width)
{
	const char *cls = code_class(row->code);
	int x1 = lifeline_x(row->from), x2 = lifeline_x(row->to), tx;
	FILE *f = fmt->out;

	if (row->note) {
		iopf_fmt_check(
			fmt,
			fprintf(f,
				"<rect class=\"note\" x=\"%d\" y=\"%d\" "
				"width=\"%d\" height=\"%d\"/>\n"
				"<text x=\"%d\" y=\"%d\">",
				MARGIN, y - 14, width - 2 * MARGIN, 20,
				MARGIN + 8,
				y)); /* the text sits on the box's baseline */
	} else if (x1 == x2) {
		iopf_fmt_check(
			fmt, fprintf(f,
				     "<path class=\"%s%s\" d=\"M%d,%d h%d v10 "
				     "h-%d\" marker-end=\"url(#a-%s)\"/>\n",
				     cls, row->reply ? " reply" : "", x1, y - 4,
				     SELF_W, SELF_W, cls));
		tx = x1 + SELF_W + 6;
		iopf_fmt_check(
			fmt, fprintf(f, "<text class=\"%s\" x=\"%d\" y=\"%d\">",
				     cls, tx, y));
	} else {
		iopf_fmt_check(fmt, fprintf(f,
					    "<line class=\"%s%s\" x1=\"%d\" "
					    "y1=\"%d\" x2=\"%d\" y2=\"%d\" "
					    "marker-end=\"url(#a-%s)\"/>\n",
					    cls, row->reply ? " reply" : "", x1,
					    y + 6, x2, y + 6, cls));
		tx = (x1 < x2 ? x1 : x2) + 6;
		iopf_fmt_check(
			fmt, fprintf(f, "<text class=\"%s\" x=\"%d\" y=\"%d\">",
				     cls, tx, y));
	}
	put_escaped(fmt, row->label);
	iopf_fmt_check(fmt, fputs("</text>\n", f));
}

void iopf_fmt_svg_finish(struct iopf_trace_formatter *fmt)
{
	int width = 2 * MARGIN + IOPF_LAYER_MAX * COL;
	int height = ROW0_Y + (int)fmt->nr_rows * ROW_H + MARGIN;

	for (size_t i = 0; i < fmt->nr_rows; i++) {
		int r = row_right(&fmt->rows[i]);

		if (r > width)
			width = r;
	}
	put_header(fmt, width, height);
	put_lifelines(fmt, height);
	for (size_t i = 0; i < fmt->nr_rows; i++)
		put_row(fmt, &fmt->rows[i], ROW0_Y + (int)i * ROW_H, width);
	iopf_fmt_check(fmt, fputs("</svg>\n", fmt->out));
}

void iopf_fmt_svg_release(struct iopf_trace_formatter *fmt)
{
	for (size_t i = 0; i < fmt->nr_rows; i++)
		iopf_mfree(fmt->rows[i].label);
	iopf_mfree(fmt->rows);
	fmt->rows = NULL;
	fmt->nr_rows = fmt->max_rows = 0;
}
