/* SPDX-License-Identifier: MIT */
/*
 * iopf-bench: what every case shares.
 *
 * The "device model" side of every case is the same code (struct bench_port):
 * a reporter stands for a PRI endpoint with a fixed number of outstanding
 * page request credits; it stops reporting when they are used up and the
 * answer path gives them back. libiopf, the floor and the baseline all go
 * through it, so the flow control costs the same everywhere and latency is
 * bounded by the credit window instead of by the run length.
 *
 * Thread safety: ports are shared between one reporter and any number of
 * answering threads; the result table is written from the main thread only.
 */
#ifndef IOPF_BENCH_H
#define IOPF_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iopf/fault.h>

#define BENCH_MAX_RUNS	  16
#define BENCH_CREDITS	  256 /* outstanding groups per reporter (PRI) */
#define BENCH_SAMPLE_MASK 15 /* time one group in 16 for latency */
#define BENCH_MAX_THREADS 8

struct bench_opts {
	unsigned int runs;
	bool json;
	bool quick;
	unsigned int workers;
	unsigned int reporters; /* 0: both R = 1 and R = 2 */
	const char *self; /* argv[0], for the callgrind re-run */
	const char *valgrind; /* NULL: look it up in PATH */
	bool no_callgrind;
};

/* ---- time, CPU, statistics (util.c) ------------------------------------ */

uint64_t bench_now_ns(void);
/*
 * CPU time of the calling thread: what single-threaded cases measure, so
 * that other processes on a shared machine don't count.
 */
uint64_t bench_thread_ns(void);
uint64_t bench_cpu_ns(void); /* user + system of every thread, getrusage */
uint64_t bench_csw(void); /* context switches of every thread, getrusage */

struct bench_stat {
	double v[BENCH_MAX_RUNS];
	unsigned int n;
};

void bench_stat_add(struct bench_stat *s, double v);
double bench_median(const struct bench_stat *s);
double bench_min(const struct bench_stat *s);
double bench_max(const struct bench_stat *s);

/* One row of the printed table; the stat is copied. */
void bench_row(const char *cas, const char *metric, const char *unit,
	       const struct bench_stat *s);
void bench_row1(const char *cas, const char *metric, const char *unit,
		double v);
void bench_print_table(void);
void bench_print_rows_json(void);

/* ---- latency histogram (log-linear, ~3 % resolution) -------------------- */

#define BENCH_HIST_SUB	32
#define BENCH_HIST_SIZE (64 * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t bucket[BENCH_HIST_SIZE];
	uint64_t count;
};

void bench_hist_reset_all(void);
/* Record in the calling thread's own histogram (no shared cache line). */
void bench_hist_record(uint64_t ns);
/* Merge every thread's histogram and read a percentile (0..100), in ns. */
double bench_hist_percentile(double pct);

/* ---- the device model: credits and answers ------------------------------ */

struct bench_port {
	/* reporter side */
	unsigned long sent;
	/* answer side */
	_Alignas(64) atomic_ulong answered;
	atomic_int waiting;
	atomic_ulong wake_at;
};

void bench_port_init(struct bench_port *port);
/* Block until fewer than BENCH_CREDITS groups are outstanding. */
void bench_port_get_credit(struct bench_port *port);
/* Block until every group sent was answered. */
void bench_port_drain(struct bench_port *port);
/* The stamp to carry in private_data[0]: 0, or the time for a sample. */
uint64_t bench_port_stamp(const struct bench_port *port);
/* An answer arrived (any thread). */
void bench_port_answer(struct bench_port *port, uint64_t stamp);

/* A single-page (or last-page) request as a PRI endpoint sends it. */
void bench_fault(struct iopf_fault *f, uint32_t pasid, uint32_t grpid,
		 uint64_t addr, bool last, uint64_t stamp);

/* Small, fast pseudo-random sequence (xorshift64*). */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* ---- the cases ---------------------------------------------------------- */

struct bench_results {
	double inline_ns; /* single page, with device lookup */
	double inline_cpu_ns; /* = inline_ns: thread CPU time */
	double inline_bare_ns; /* single page, device pointer */
	double inline_4p_ns; /* 4-page group, with lookup */
	double threaded_cpu_ns[2]; /* R = 1, 2 */
	double threaded_gps[2]; /* groups per second */
	double floor_cpu_ns[2];
	double baseline_gps[2];
	double baseline_cpu_ns[2];
	double vs_baseline[2]; /* threaded/baseline groups/s, paired */
	double vs_baseline_cpu[2]; /* baseline/threaded CPU per group */
	/* the same on a per-CPU queue (IOPF_QUEUE_PERCPU) and its floor */
	double pc_threaded_cpu_ns[2], pc_threaded_gps[2], pc_floor_cpu_ns[2];
	double pc_vs_baseline[2], pc_vs_baseline_cpu[2];
	double inline_instr; /* bare path, per group */
	double inline_lookup_instr; /* with device lookup */
	double threaded_instr, floor_instr, baseline_instr; /* R = 2 */
	double routing_1k_ns, routing_1m_ns;
	double routing_hot_1k_ns, routing_hot_1m_ns;
	double routing_batch_1k_ns, routing_batch_1m_ns; /* batches of 64 */
	double devices_batch_100_ns, devices_batch_100k_ns;
	double devices_100_ns, devices_100k_ns;
	double devices_hot_100_ns, devices_hot_100k_ns;
	double baseline_devices_ratio; /* the same scaling, baseline */
	double bytes_per_partial;
	double bytes_per_group;
	double vtd_manual_ns, vtd_manual_4p_ns; /* CPU ns per DMA */
	double vtd_threaded_dps[2]; /* DMAs/s, E = 1, 2 endpoint threads */
	double vtd_threaded_cpu_ns[2];
	double vtd_manual_instr; /* per 1-page DMA */
	/* 3-thread wake-up ring: unpinned, one CPU, across CPUs */
	double vtd_ring_rps[3], vtd_ring_cpu_ns[3];
	const char *instr_source; /* last: every double above starts as NaN */
};

/* One run of a multi-threaded case: R reporters, W workers, n groups. */
struct mt_run {
	double gps, cpu_ns, p50, p99;
	double csw; /* context switches per 1000 groups */
};

struct mt_run bench_threaded_run(unsigned int nr_rep, unsigned int workers,
				 unsigned long n);
struct mt_run bench_threaded_percpu_run(unsigned int nr_rep,
					unsigned int workers, unsigned long n);
struct mt_run bench_floor_percpu_run(unsigned int nr_rep, unsigned int workers,
				     unsigned long n);
struct mt_run bench_floor_run(unsigned int nr_rep, unsigned int workers,
			      unsigned long n);
struct mt_run bench_baseline_run(unsigned int nr_rep, unsigned int workers,
				 unsigned long n);

double bench_baseline_devices(uint32_t nr, uint32_t span, unsigned long n,
			      unsigned int runs);

void bench_inline(const struct bench_opts *o, struct bench_results *r);
/* threaded, floor and baseline, interleaved run by run */
void bench_threads(const struct bench_opts *o, struct bench_results *r,
		   bool threaded, bool floor, bool baseline);
void bench_scale(const struct bench_opts *o, struct bench_results *r);
void bench_instructions(const struct bench_opts *o, struct bench_results *r);
/* VT-d PRQ + SVA: manual mode, then threaded (E = 1, 2 endpoints) */
void bench_vtd(const struct bench_opts *o, struct bench_results *r);

/* Internal mode for the callgrind re-run: @n groups, then exit. */
int bench_inline_count(unsigned long n, bool lookup);
int bench_baseline_inline_count(unsigned long n);
int bench_vtd_manual_count(unsigned long n);
/* The bench-suite test: 0 within budget, 1 over, 77 no valgrind. */
int bench_check_budget(const struct bench_opts *o, double budget);

/* Fail loudly: a benchmark that silently measures nothing is worse. */
void bench_die(const char *what, int err);

#endif /* IOPF_BENCH_H */
