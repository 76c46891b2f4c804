// SPDX-License-Identifier: MIT
/*
 * iopf-bench: clocks, statistics, the result table, latency histograms and
 * the credit-based device model shared by every case.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

void bench_die(const char *what, int err)
{
	fprintf(stderr, "iopf-bench: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	exit(2);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull +
	       (uint64_t)tv->tv_usec * 1000ull;
}

uint64_t bench_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime);
}

uint64_t bench_csw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

/* ---- statistics ---------------------------------------------------------- */

void bench_stat_add(struct bench_stat *s, double v)
{
	if (s->n < BENCH_MAX_RUNS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const struct bench_stat *s)
{
	double v[BENCH_MAX_RUNS];

	if (!s->n)
		return 0;
	memcpy(v, s->v, s->n * sizeof(double));
	qsort(v, s->n, sizeof(double), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

double bench_min(const struct bench_stat *s)
{
	double m = s->n ? s->v[0] : 0;

	for (unsigned int i = 1; i < s->n; i++)
		m = s->v[i] < m ? s->v[i] : m;
	return m;
}

double bench_max(const struct bench_stat *s)
{
	double m = s->n ? s->v[0] : 0;

	for (unsigned int i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

/* ---- the result table ---------------------------------------------------- */

#define MAX_ROWS 128

struct row {
	const char *cas, *metric, *unit;
	struct bench_stat s;
};

static struct row rows[MAX_ROWS];
static unsigned int nr_rows;

void bench_row(const char *cas, const char *metric, const char *unit,
	       const struct bench_stat *s)
{
	if (nr_rows == MAX_ROWS)
		return;
	rows[nr_rows].cas = cas;
	rows[nr_rows].metric = metric;
	rows[nr_rows].unit = unit;
	rows[nr_rows].s = *s;
	nr_rows++;
}

void bench_row1(const char *cas, const char *metric, const char *unit, double v)
{
	struct bench_stat s = { .n = 0 };

	bench_stat_add(&s, v);
	bench_row(cas, metric, unit, &s);
}

/* Spread as (max - min) / median, the honest one for a handful of runs. */
static double spread_pct(const struct bench_stat *s)
{
	double med = bench_median(s);

	return med ? 100.0 * (bench_max(s) - bench_min(s)) / med : 0;
}

void bench_print_table(void)
{
	printf("%-10s %-34s %12s %-9s %8s %4s\n", "case", "metric", "median",
	       "unit", "spread", "runs");
	for (unsigned int i = 0; i < nr_rows; i++) {
		const struct row *r = &rows[i];

		printf("%-10s %-34s %12.4g %-9s", r->cas, r->metric,
		       bench_median(&r->s), r->unit);
		if (r->s.n > 1)
			printf(" %7.1f%% %4u\n", spread_pct(&r->s), r->s.n);
		else
			printf(" %8s %4u\n", "-", r->s.n);
	}
}

void bench_print_rows_json(void)
{
	printf("\"rows\":[");
	for (unsigned int i = 0; i < nr_rows; i++) {
		const struct row *r = &rows[i];

		printf("%s{\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\","
		       "\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"runs\":%u}",
		       i ? "," : "", r->cas, r->metric, r->unit,
		       bench_median(&r->s), bench_min(&r->s), bench_max(&r->s),
		       r->s.n);
	}
	printf("]");
}

/* ---- latency histograms -------------------------------------------------- */

static pthread_mutex_t hist_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bench_hist *hists[1024];
static unsigned int nr_hists;
static _Thread_local struct bench_hist *my_hist;

static unsigned int hist_index(uint64_t ns)
{
	unsigned int msb, sub;

	if (ns < BENCH_HIST_SUB)
		return (unsigned int)ns;
	msb = 63u - (unsigned int)__builtin_clzll(ns);
	/* The 5 bits below the leading one pick the sub-bucket. */
	sub = (unsigned int)(ns >> (msb - 5)) & (BENCH_HIST_SUB - 1);
	return (msb - 4) * BENCH_HIST_SUB + sub;
}

static double hist_value(unsigned int idx)
{
	unsigned int msb = idx / BENCH_HIST_SUB + 4, sub = idx % BENCH_HIST_SUB;

	if (idx < BENCH_HIST_SUB)
		return idx;
	/* Middle of the bucket. */
	return ((double)(BENCH_HIST_SUB + sub) + 0.5) *
	       (double)(1ull << (msb - 5));
}

void bench_hist_record(uint64_t ns)
{
	if (!my_hist) {
		pthread_mutex_lock(&hist_lock);
		if (nr_hists < 1024) {
			my_hist = calloc(1, sizeof(*my_hist));
			if (my_hist)
				hists[nr_hists++] = my_hist;
		}
		pthread_mutex_unlock(&hist_lock);
		if (!my_hist)
			return;
	}
	my_hist->bucket[hist_index(ns)]++;
	my_hist->count++;
}

/* Between runs, with no answering thread alive. */
void bench_hist_reset_all(void)
{
	pthread_mutex_lock(&hist_lock);
	for (unsigned int i = 0; i < nr_hists; i++)
		memset(hists[i], 0, sizeof(*hists[i]));
	pthread_mutex_unlock(&hist_lock);
}

double bench_hist_percentile(double pct)
{
	static uint64_t merged[BENCH_HIST_SIZE];
	uint64_t total = 0, seen = 0, want;

	memset(merged, 0, sizeof(merged));
	pthread_mutex_lock(&hist_lock);
	for (unsigned int i = 0; i < nr_hists; i++) {
		for (unsigned int b = 0; b < BENCH_HIST_SIZE; b++)
			merged[b] += hists[i]->bucket[b];
		total += hists[i]->count;
	}
	pthread_mutex_unlock(&hist_lock);
	if (!total)
		return 0;
	want = (uint64_t)((double)total * pct / 100.0);
	for (unsigned int b = 0; b < BENCH_HIST_SIZE; b++) {
		seen += merged[b];
		if (seen > want)
			return hist_value(b);
	}
	return hist_value(BENCH_HIST_SIZE - 1);
}

/* ---- the device model ----------------------------------------------------- */

static void futex_wait(atomic_int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void bench_port_init(struct bench_port *port)
{
	port->sent = 0;
	atomic_init(&port->answered, 0);
	atomic_init(&port->waiting, 0);
	atomic_init(&port->wake_at, 0);
}

/* Sleep until @target answers arrived (seq_cst against bench_port_answer()). */
static void port_wait(struct bench_port *port, unsigned long target)
{
	while (atomic_load(&port->answered) < target) {
		atomic_store(&port->wake_at, target);
		atomic_store(&port->waiting, 1);
		if (atomic_load(&port->answered) >= target) {
			atomic_store(&port->waiting, 0);
			break;
		}
		futex_wait(&port->waiting, 1);
	}
}

void bench_port_get_credit(struct bench_port *port)
{
	/* Out of credits: wait for half of them back, as a PRI endpoint might. */
	if (port->sent - atomic_load_explicit(&port->answered,
					      memory_order_relaxed) >=
	    BENCH_CREDITS)
		port_wait(port, port->sent - BENCH_CREDITS / 2);
}

void bench_port_drain(struct bench_port *port)
{
	port_wait(port, port->sent);
}

uint64_t bench_port_stamp(const struct bench_port *port)
{
	return (port->sent & BENCH_SAMPLE_MASK) ? 0 : bench_now_ns();
}

void bench_port_answer(struct bench_port *port, uint64_t stamp)
{
	unsigned long a = atomic_fetch_add(&port->answered, 1) + 1;

	if (stamp)
		bench_hist_record(bench_now_ns() - stamp);
	if (atomic_load(&port->waiting) && a >= atomic_load(&port->wake_at) &&
	    atomic_exchange(&port->waiting, 0))
		futex_wake(&port->waiting);
}

void bench_fault(struct iopf_fault *f, uint32_t pasid, uint32_t grpid,
		 uint64_t addr, bool last, uint64_t stamp)
{
	memset(f, 0, sizeof(*f));
	f->type = IOPF_FAULT_PAGE_REQ;
	f->prm.flags = last ? IOPF_FAULT_PAGE_REQUEST_LAST_PAGE : 0;
	if (pasid != IOPF_NO_PASID)
		f->prm.flags |= IOPF_FAULT_PAGE_REQUEST_PASID_VALID |
				IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID;
	f->prm.pasid = pasid;
	f->prm.grpid = grpid;
	f->prm.perm = IOPF_FAULT_PERM_READ | IOPF_FAULT_PERM_WRITE;
	f->prm.addr = addr;
	f->prm.private_data[0] = stamp;
}
