// SPDX-License-Identifier: MIT
/*
 * The multi-threaded cases (threaded and floor on an unbound and on a
 * per-CPU queue, baseline), run interleaved: run i of each comes before run
 * i + 1 of any, so a slow phase of a shared 2-core machine hits all of them
 * alike and the ratios between them are fair.
 */
#include <math.h>
#include <stdio.h>

#include "bench.h"

typedef struct mt_run (*mt_fn)(unsigned int nr_rep, unsigned int workers,
			       unsigned long n);

struct mt_case {
	const char *name;
	const char *unit; /* of the CPU row */
	mt_fn run;
	struct bench_stat gps[2], cpu[2], p50[2], p99[2], csw[2], busy[2];
};

static const char *const gps_name[] = { "R=1 throughput", "R=2 throughput" };
static const char *const cpu_name[] = { "R=1 CPU", "R=2 CPU" };
static const char *const p50_name[] = { "R=1 latency p50", "R=2 latency p50" };
static const char *const p99_name[] = { "R=1 latency p99", "R=2 latency p99" };
static const char *const csw_name[] = { "R=1 context switches",
					"R=2 context switches" };
static const char *const busy_name[] = { "R=1 CPUs busy", "R=2 CPUs busy" };

static void rows(struct mt_case *c, unsigned int k)
{
	bench_row(c->name, gps_name[k], "groups/s", &c->gps[k]);
	bench_row(c->name, cpu_name[k], c->unit, &c->cpu[k]);
	bench_row(c->name, p50_name[k], "ns", &c->p50[k]);
	bench_row(c->name, p99_name[k], "ns", &c->p99[k]);
	bench_row(c->name, csw_name[k], "per 1K", &c->csw[k]);
	bench_row(c->name, busy_name[k], "CPUs", &c->busy[k]);
}

enum { THR, FLOOR, THR_PC, FLOOR_PC, BASE, NR_CASES };

/* Paired ratios against the baseline (run i of each), then their median. */
static void vs_baseline(struct mt_case *c, struct mt_case *base, unsigned int k,
			double *gps_ratio, double *cpu_ratio)
{
	struct bench_stat gps = { 0 }, cpu = { 0 };

	for (unsigned int i = 0; i < c->gps[k].n && i < base->gps[k].n; i++) {
		bench_stat_add(&gps, c->gps[k].v[i] / base->gps[k].v[i]);
		bench_stat_add(&cpu, base->cpu[k].v[i] / c->cpu[k].v[i]);
	}
	*gps_ratio = gps.n ? bench_median(&gps) : NAN;
	*cpu_ratio = cpu.n ? bench_median(&cpu) : NAN;
}

void bench_threads(const struct bench_opts *o, struct bench_results *r,
		   bool threaded, bool floor, bool baseline)
{
	struct mt_case cases[NR_CASES] = {
		[THR] = { .name = "threaded",
			  .unit = "ns/group",
			  .run = bench_threaded_run },
		[FLOOR] = { .name = "floor",
			    .unit = "ns/record",
			    .run = bench_floor_run },
		[THR_PC] = { .name = "thrd-pcpu",
			     .unit = "ns/group",
			     .run = bench_threaded_percpu_run },
		[FLOOR_PC] = { .name = "floor-pcpu",
			       .unit = "ns/record",
			       .run = bench_floor_percpu_run },
		[BASE] = { .name = "baseline",
			   .unit = "ns/group",
			   .run = bench_baseline_run },
	};
	bool on[NR_CASES] = { threaded, floor, threaded, floor, baseline };
	unsigned long n = o->quick ? 200000 : 600000;

	for (unsigned int c = 0; c < NR_CASES; c++)
		if (on[c])
			cases[c].run(2, o->workers, n / 8); /* warm up */
	for (unsigned int k = 0; k < 2; k++) {
		if (o->reporters && o->reporters != k + 1)
			continue;
		for (unsigned int i = 0; i < o->runs; i++) {
			for (unsigned int c = 0; c < NR_CASES; c++) {
				struct mt_run x;

				if (!on[c])
					continue;
				x = cases[c].run(k + 1, o->workers, n);
				bench_stat_add(&cases[c].gps[k], x.gps);
				bench_stat_add(&cases[c].cpu[k], x.cpu_ns);
				bench_stat_add(&cases[c].p50[k], x.p50);
				bench_stat_add(&cases[c].p99[k], x.p99);
				bench_stat_add(&cases[c].csw[k], x.csw);
				/* CPU seconds per second: < 2 means threads waited */
				bench_stat_add(&cases[c].busy[k],
					       x.cpu_ns * x.gps / 1e9);
			}
		}
	}
	for (unsigned int c = 0; c < NR_CASES; c++) {
		if (!on[c])
			continue;
		for (unsigned int k = 0; k < 2; k++)
			if (!o->reporters || o->reporters == k + 1)
				rows(&cases[c], k);
	}
	for (unsigned int k = 0; k < 2; k++) {
		if (on[THR] && on[BASE]) {
			vs_baseline(&cases[THR], &cases[BASE], k,
				    &r->vs_baseline[k], &r->vs_baseline_cpu[k]);
			vs_baseline(&cases[THR_PC], &cases[BASE], k,
				    &r->pc_vs_baseline[k],
				    &r->pc_vs_baseline_cpu[k]);
		}
		r->threaded_gps[k] = bench_median(&cases[THR].gps[k]);
		r->threaded_cpu_ns[k] = bench_median(&cases[THR].cpu[k]);
		r->floor_cpu_ns[k] = bench_median(&cases[FLOOR].cpu[k]);
		r->pc_threaded_gps[k] = bench_median(&cases[THR_PC].gps[k]);
		r->pc_threaded_cpu_ns[k] = bench_median(&cases[THR_PC].cpu[k]);
		r->pc_floor_cpu_ns[k] = bench_median(&cases[FLOOR_PC].cpu[k]);
		r->baseline_gps[k] = bench_median(&cases[BASE].gps[k]);
		r->baseline_cpu_ns[k] = bench_median(&cases[BASE].cpu[k]);
	}
}
