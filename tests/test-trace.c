// SPDX-License-Identifier: MIT
/*
 * Trace formatters: exact TEXT lines, the fields of JSON, the shape of the
 * Mermaid and SVG output, concurrency of the sink, and the events the core
 * emits for a fault nobody handles.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <iopf/iopf.h>
#include <iopf/trace-format.h>

struct out {
	char *buf;
	size_t len;
	FILE *f;
};

static void out_open(struct out *o)
{
	memset(o, 0, sizeof(*o));
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
}

static void out_close(struct out *o)
{
	fclose(o->f);
	o->f = NULL;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static struct iopf_trace_event fault_event(void)
{
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_FAULT_REPORTED,
		.seq = 7,
		.from = IOPF_LAYER_DRIVER,
		.to = IOPF_LAYER_CORE,
		.iommu = "mock0",
		.device = "dev0",
		.dev_id = 0x10,
		.pasid = 1,
		.grpid = 3,
		.flags = IOPF_FAULT_PAGE_REQUEST_LAST_PAGE |
			 IOPF_FAULT_PAGE_REQUEST_PASID_VALID,
		.perm = IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE,
		.addr = 0x1000,
		.code = -1,
	};

	return ev;
}

static void test_text_line(void **state)
{
	struct iopf_trace_event ev = fault_event();
	char buf[256];
	int n;

	(void)state;
	n = iopf_trace_event_snprintf(buf, sizeof(buf), &ev);
	assert_string_equal(
		buf,
		"iopf: fault_reported: iommu=mock0 dev=dev0 id=0x10 pasid=1 "
		"grpid=3 flags=LAST_PAGE|PASID_VALID perm=R|W addr=0x1000");
	assert_int_equal(n, (int)strlen(buf));

	ev.type = IOPF_TRACE_RESPONSE_SENT;
	ev.code = IOPF_PAGE_RESP_INVALID;
	ev.origin = IOPF_ORIGIN_ERROR;
	ev.flags = IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID | 0x100;
	ev.perm = 0;
	ev.pasid = IOPF_PASID_INVALID;
	iopf_trace_event_snprintf(buf, sizeof(buf), &ev);
	assert_string_equal(
		buf,
		"iopf: response_sent: iommu=mock0 dev=dev0 id=0x10 pasid=none "
		"grpid=3 flags=NEEDS_PASID|0x100 perm=none addr=0x1000 "
		"code=INVALID origin=error");
}

static void test_text_optional_fields(void **state)
{
	static const unsigned char raw[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_HW_DESC_IN,
		.device = "d",
		.dev_id = 2,
		.pasid = IOPF_PASID_INVALID,
		.code = -1,
		.count = 4,
		.ret = -22,
		.name = "page_req_dsc",
		.desc = raw,
		.desc_len = sizeof(raw),
	};
	char buf[256];

	(void)state;
	iopf_trace_event_snprintf(buf, sizeof(buf), &ev);
	assert_string_equal(buf,
			    "iopf: hw_desc_in: dev=d id=0x2 count=4 ret=-22 "
			    "name=page_req_dsc raw=deadbeef");
	ev.type = 999;
	ev.desc = NULL;
	ev.name = NULL;
	iopf_trace_event_snprintf(buf, sizeof(buf), &ev);
	assert_string_equal(buf, "iopf: unknown: dev=d id=0x2 count=4 ret=-22");
}

static void test_text_truncation(void **state)
{
	struct iopf_trace_event ev = fault_event();
	char full[256], small[16];
	int n, m;

	(void)state;
	n = iopf_trace_event_snprintf(full, sizeof(full), &ev);
	m = iopf_trace_event_snprintf(small, sizeof(small), &ev);
	assert_int_equal(n, m);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	assert_int_equal(iopf_trace_event_snprintf(NULL, 0, &ev), n);
	assert_int_equal(iopf_trace_event_snprintf(NULL, 4, &ev), -EINVAL);
	assert_int_equal(iopf_trace_event_snprintf(full, 4, NULL), -EINVAL);
}

static void test_parse_and_new(void **state)
{
	enum iopf_trace_format f = IOPF_TRACE_FORMAT_TEXT;
	struct iopf_trace_formatter *fmt = (void *)&f;

	(void)state;
	assert_int_equal(iopf_trace_format_parse("svg", &f), 0);
	assert_int_equal(f, IOPF_TRACE_FORMAT_SVG);
	assert_int_equal(iopf_trace_format_parse("json", &f), 0);
	assert_int_equal(f, IOPF_TRACE_FORMAT_JSON);
	assert_int_equal(iopf_trace_format_parse("mermaid", &f), 0);
	assert_int_equal(f, IOPF_TRACE_FORMAT_MERMAID);
	assert_int_equal(iopf_trace_format_parse("text", &f), 0);
	assert_int_equal(f, IOPF_TRACE_FORMAT_TEXT);
	assert_int_equal(iopf_trace_format_parse("SVG", &f), -EINVAL);
	assert_int_equal(iopf_trace_format_parse(NULL, &f), -EINVAL);
	assert_int_equal(iopf_trace_format_parse("text", NULL), -EINVAL);

	assert_int_equal(
		iopf_trace_formatter_new(NULL, IOPF_TRACE_FORMAT_TEXT, &fmt),
		-EINVAL);
	assert_int_equal(
		iopf_trace_formatter_new(stdout, IOPF_TRACE_FORMAT_MAX, &fmt),
		-EINVAL);
	assert_int_equal(
		iopf_trace_formatter_new(stdout, IOPF_TRACE_FORMAT_TEXT, NULL),
		-EINVAL);
	assert_ptr_equal(fmt, (void *)&f); /* untouched on failure */
	assert_int_equal(iopf_trace_formatter_finish(NULL), -EINVAL);
	assert_int_equal(iopf_trace_formatter_note(NULL, "x"), -EINVAL);
	iopf_trace_formatter_free(NULL);
	iopf_trace_format_sink(NULL, NULL);
}

/* Runs two events and a note through a fresh formatter; returns the output. */
static char *render(enum iopf_trace_format format, const char *note)
{
	struct iopf_trace_event ev = fault_event();
	struct iopf_trace_formatter *fmt;
	struct out o;

	out_open(&o);
	assert_int_equal(iopf_trace_formatter_new(o.f, format, &fmt), 0);
	iopf_trace_format_sink(&ev, fmt);
	assert_int_equal(iopf_trace_formatter_note(fmt, note), 0);
	ev.type = IOPF_TRACE_RESPONSE_SENT;
	ev.seq = 8;
	ev.from = IOPF_LAYER_CORE;
	ev.to = IOPF_LAYER_DRIVER;
	ev.code = IOPF_PAGE_RESP_SUCCESS;
	ev.origin = IOPF_ORIGIN_HANDLER;
	iopf_trace_format_sink(&ev, fmt);
	assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
	assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
	/* after finish: ignored */
	iopf_trace_format_sink(&ev, fmt);
	assert_int_equal(iopf_trace_formatter_note(fmt, "late"), -EINVAL);
	iopf_trace_formatter_free(fmt);
	out_close(&o);
	return o.buf;
}

static void test_text_stream(void **state)
{
	char *s = render(IOPF_TRACE_FORMAT_TEXT, "step\t2\nignored");

	(void)state;
	assert_string_equal(s,
			    "iopf: fault_reported: iommu=mock0 dev=dev0 "
			    "id=0x10 pasid=1 grpid=3 "
			    "flags=LAST_PAGE|PASID_VALID perm=R|W addr=0x1000\n"
			    "# step 2\n"
			    "iopf: response_sent: iommu=mock0 dev=dev0 id=0x10 "
			    "pasid=1 grpid=3 "
			    "flags=LAST_PAGE|PASID_VALID perm=R|W addr=0x1000 "
			    "code=SUCCESS origin=handler\n");
	free(s);
}

static void test_json_fields(void **state)
{
	char *s = render(IOPF_TRACE_FORMAT_JSON, "a \"quoted\" \\ note \x01");

	(void)state;
	assert_int_equal(count_str(s, "\n"), 3);
	assert_non_null(strstr(s, "{\"seq\":7,\"type\":\"fault_reported\","
				  "\"from\":\"driver\",\"to\":\"core\","
				  "\"iommu\":\"mock0\",\"device\":\"dev0\","
				  "\"dev_id\":16,\"pasid\":1,\"grpid\":3,"
				  "\"flags\":3,\"flag_names\":\"LAST_PAGE|"
				  "PASID_VALID\",\"perm\":3,"
				  "\"perm_names\":\"R|W\",\"addr\":\"0x1000\","
				  "\"code\":null,\"code_name\":null,"
				  "\"origin\":\"none\",\"ret\":0,\"count\":0,"
				  "\"name\":null,\"desc\":null}\n"));
	assert_non_null(
		strstr(s, "{\"note\":\"a \\\"quoted\\\" \\\\ note  \"}\n"));
	assert_non_null(strstr(
		s,
		"\"code\":0,\"code_name\":\"SUCCESS\",\"origin\":\"handler\""));
	free(s);
}

static void test_json_escapes(void **state)
{
	static const unsigned char raw[2] = { 0x01, 0xff };
	struct iopf_trace_event ev = {
		.type = IOPF_TRACE_HW_DESC_OUT,
		.device = "d\"\\\x7f\xc3",
		.pasid = IOPF_PASID_INVALID,
		.code = 2,
		.desc = raw,
		.desc_len = 2,
	};
	struct iopf_trace_formatter *fmt;
	struct out o;

	(void)state;
	out_open(&o);
	assert_int_equal(
		iopf_trace_formatter_new(o.f, IOPF_TRACE_FORMAT_JSON, &fmt), 0);
	iopf_trace_format_sink(&ev, fmt);
	assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
	iopf_trace_formatter_free(fmt);
	out_close(&o);
	assert_non_null(
		strstr(o.buf, "\"device\":\"d\\\"\\\\\\u007f\\u00c3\""));
	assert_non_null(strstr(o.buf, "\"pasid\":null"));
	assert_non_null(strstr(o.buf, "\"code\":2,\"code_name\":\"FAILURE\""));
	assert_non_null(strstr(o.buf, "\"desc\":\"01ff\"}"));
	free(o.buf);
}

static void test_mermaid(void **state)
{
	char *s = render(IOPF_TRACE_FORMAT_MERMAID, "step; #1 <b>");

	(void)state;
	assert_int_equal(strncmp(s, "sequenceDiagram\n    autonumber\n", 31),
			 0);
	assert_int_equal(count_str(s, "    participant "), IOPF_LAYER_MAX);
	assert_non_null(strstr(
		s, "    DRV->>CORE: fault_reported dev=dev0 pasid=1 grpid=3 "
		   "perm=R|W addr=0x1000\n"));
	assert_non_null(strstr(s, "    Note over EP,USER: step   1 (b)\n"));
	assert_non_null(strstr(
		s, "    CORE-->>DRV: response_sent dev=dev0 pasid=1 grpid=3 "
		   "perm=R|W addr=0x1000 code=SUCCESS origin=handler\n"));
	free(s);
}

static void test_mermaid_empty(void **state)
{
	struct iopf_trace_formatter *fmt;
	struct out o;

	(void)state;
	out_open(&o);
	assert_int_equal(
		iopf_trace_formatter_new(o.f, IOPF_TRACE_FORMAT_MERMAID, &fmt),
		0);
	assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
	iopf_trace_formatter_free(fmt);
	out_close(&o);
	assert_int_equal(strncmp(o.buf, "sequenceDiagram\n", 16), 0);
	assert_int_equal(count_str(o.buf, "participant"), IOPF_LAYER_MAX);
	free(o.buf);
}

static void test_svg(void **state)
{
	char *s = render(IOPF_TRACE_FORMAT_SVG, "a <note> & \"more\"");

	(void)state;
	assert_int_equal(strncmp(s, "<?xml version=\"1.0\"", 19), 0);
	assert_non_null(strstr(s, "</svg>\n"));
	assert_null(strstr(s, "<script"));
	assert_non_null(strstr(s, "a &lt;note&gt; &amp; &quot;more&quot;"));
	assert_non_null(
		strstr(s, ">7 fault_reported dev=dev0 pasid=1 grpid=3 perm=R|W "
			  "addr=0x1000</text>"));
	assert_non_null(strstr(s, "class=\"ok reply\""));
	assert_int_equal(count_str(s, "class=\"life\""), IOPF_LAYER_MAX);
	assert_int_equal(count_str(s, "marker-end="), 2);
	assert_int_equal(count_str(s, "class=\"note\""), 1);
	free(s);
}

static void test_svg_many_rows(void **state)
{
	struct iopf_trace_event ev = fault_event();
	struct iopf_trace_formatter *fmt;
	struct out o;

	(void)state;
	out_open(&o);
	assert_int_equal(
		iopf_trace_formatter_new(o.f, IOPF_TRACE_FORMAT_SVG, &fmt), 0);
	for (int i = 0; i < 300; i++) {
		ev.seq = (uint64_t)i + 1;
		ev.from = (uint32_t)i % 8; /* out-of-range layers are clamped */
		iopf_trace_format_sink(&ev, fmt);
	}
	assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
	iopf_trace_formatter_free(fmt);
	out_close(&o);
	assert_int_equal(count_str(o.buf, "marker-end="), 300);
	assert_non_null(strstr(o.buf, ">300 fault_reported"));
	free(o.buf);
}

#define NR_THREADS 4
#define NR_EVENTS  2000

static void *sink_thread(void *arg)
{
	struct iopf_trace_event ev = fault_event();

	for (int i = 0; i < NR_EVENTS; i++) {
		ev.seq = (uint64_t)i;
		iopf_trace_format_sink(&ev, arg);
	}
	return NULL;
}

static void test_concurrent_sink(void **state)
{
	static const enum iopf_trace_format formats[] = {
		IOPF_TRACE_FORMAT_TEXT,
		IOPF_TRACE_FORMAT_JSON,
		IOPF_TRACE_FORMAT_SVG,
	};
	pthread_t t[NR_THREADS];

	(void)state;
	for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++) {
		struct iopf_trace_formatter *fmt;
		struct out o;

		out_open(&o);
		assert_int_equal(
			iopf_trace_formatter_new(o.f, formats[k], &fmt), 0);
		for (int i = 0; i < NR_THREADS; i++)
			assert_int_equal(
				pthread_create(&t[i], NULL, sink_thread, fmt),
				0);
		for (int i = 0; i < NR_THREADS; i++)
			pthread_join(t[i], NULL);
		assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
		iopf_trace_formatter_free(fmt);
		out_close(&o);
		/* every event whole, none interleaved with another */
		assert_int_equal(
			count_str(o.buf, "addr=0x1000") +
				count_str(o.buf, "\"addr\":\"0x1000\"}") +
				count_str(o.buf, "\"addr\":\"0x1000\","),
			NR_THREADS * NR_EVENTS);
		free(o.buf);
	}
}

static void test_write_error(void **state)
{
	struct iopf_trace_event ev = fault_event();
	struct iopf_trace_formatter *fmt;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(
		iopf_trace_formatter_new(f, IOPF_TRACE_FORMAT_TEXT, &fmt), 0);
	iopf_trace_format_sink(&ev, fmt);
	assert_int_equal(iopf_trace_formatter_finish(fmt), -EIO);
	iopf_trace_formatter_free(fmt);
	fclose(f);
}

static void test_fail_nth(void **state)
{
	struct iopf_trace_event ev = fault_event();
	struct iopf_trace_formatter *fmt = NULL;
	struct out o;
	int ret;

	(void)state;
	if (iopf_testing_fail_nth(1) == -EOPNOTSUPP)
		skip();
	ret = iopf_trace_formatter_new(stdout, IOPF_TRACE_FORMAT_SVG, &fmt);
	assert_int_equal(ret, -ENOMEM);
	assert_null(fmt);

	out_open(&o);
	iopf_testing_fail_nth(0);
	assert_int_equal(
		iopf_trace_formatter_new(o.f, IOPF_TRACE_FORMAT_SVG, &fmt), 0);
	iopf_testing_fail_nth(1); /* the row array */
	iopf_trace_format_sink(&ev, fmt);
	iopf_testing_fail_nth(2); /* the note's label */
	assert_int_equal(iopf_trace_formatter_note(fmt, "n"), -ENOMEM);
	iopf_testing_fail_nth(0);
	iopf_trace_format_sink(&ev, fmt);
	assert_int_equal(iopf_trace_formatter_finish(fmt), -ENOMEM);
	iopf_trace_formatter_free(fmt);
	out_close(&o);
	assert_int_equal(count_str(o.buf, "marker-end="), 1);
	free(o.buf);
}

/* The core's events for a fault on a PASID with nothing attached. */
static void test_core_events(void **state)
{
	struct iopf_device_attr attr = { .size = sizeof(attr),
					 .id = 0x10,
					 .max_pasids = 16,
					 .name = "dev0" };
	struct iopf_queue_attr qattr = { .size = sizeof(qattr),
					 .nr_workers = 0 };
	struct iopf_fault evt = { .type = IOPF_FAULT_PAGE_REQ };
	struct iopf_trace_formatter *fmt;
	struct iopf_device *dev;
	struct iopf_queue *q;
	struct iopf_mock *mock;
	struct iopf_ctx *ctx;
	struct out o;

	(void)state;
	out_open(&o);
	assert_int_equal(
		iopf_trace_formatter_new(o.f, IOPF_TRACE_FORMAT_TEXT, &fmt), 0);
	assert_int_equal(iopf_ctx_new(&ctx), 0);
	assert_int_equal(iopf_trace_set_sink(ctx, iopf_trace_format_sink, fmt),
			 0);
	assert_int_equal(iopf_mock_new(ctx, "mock0", false, &mock), 0);
	assert_int_equal(iopf_device_new(iopf_mock_iommu(mock), &attr, &dev),
			 0);
	assert_int_equal(iopf_queue_alloc(ctx, "q0", &qattr, &q), 0);
	assert_int_equal(iopf_queue_add_device(q, dev), 0);
	evt.prm.flags = IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
			IOPF_FAULT_PAGE_REQUEST_LAST_PAGE;
	evt.prm.pasid = 5;
	evt.prm.grpid = 1;
	evt.prm.perm = IOPF_FAULT_PERM_READ;
	evt.prm.addr = 0x2000;
	assert_int_equal(iopf_report_device_fault(dev, &evt), -EINVAL);
	iopf_queue_remove_device(q, dev);
	assert_int_equal(iopf_trace_set_sink(ctx, NULL, NULL), 0);
	iopf_ctx_free(ctx);
	assert_int_equal(iopf_trace_formatter_finish(fmt), 0);
	iopf_trace_formatter_free(fmt);
	out_close(&o);
	assert_non_null(strstr(
		o.buf, "iopf: fault_reported: iommu=mock0 dev=dev0 id=0x10 "
		       "pasid=5 grpid=1 flags=LAST_PAGE|PASID_VALID perm=R "
		       "addr=0x2000"));
	assert_non_null(strstr(
		o.buf, "iopf: response_sent: iommu=mock0 dev=dev0 id=0x10 "
		       "pasid=5 grpid=1"));
	assert_non_null(strstr(o.buf, "code=INVALID origin=error"));
	free(o.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_line),
		cmocka_unit_test(test_text_optional_fields),
		cmocka_unit_test(test_text_truncation),
		cmocka_unit_test(test_parse_and_new),
		cmocka_unit_test(test_text_stream),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_mermaid),
		cmocka_unit_test(test_mermaid_empty),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_svg_many_rows),
		cmocka_unit_test(test_concurrent_sink),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_fail_nth),
		cmocka_unit_test(test_core_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
