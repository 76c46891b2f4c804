// SPDX-License-Identifier: MIT
/*
 * The three multi-threaded cases (threaded, floor, baseline), run
 * interleaved: run i of each comes before run i + 1 of any, so a slow
 * phase of a shared 2-core machine hits all three alike and the ratios
 * between them are fair.
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

void bench_threads(const struct bench_opts *o, struct bench_results *r,
		   bool threaded, bool floor, bool baseline)
{
	struct mt_case cases[3] = {
		{ .name = "threaded",
		  .unit = "ns/group",
		  .run = bench_threaded_run },
		{ .name = "floor",
		  .unit = "ns/record",
		  .run = bench_floor_run },
		{ .name = "baseline",
		  .unit = "ns/group",
		  .run = bench_baseline_run },
	};
	bool on[3] = { threaded, floor, baseline };
	unsigned long n = o->quick ? 200000 : 600000;

	for (unsigned int c = 0; c < 3; c++)
		if (on[c])
			cases[c].run(2, o->workers, n / 8); /* warm up */
	for (unsigned int k = 0; k < 2; k++) {
		if (o->reporters && o->reporters != k + 1)
			continue;
		for (unsigned int i = 0; i < o->runs; i++) {
			for (unsigned int c = 0; c < 3; c++) {
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
	for (unsigned int c = 0; c < 3; c++) {
		if (!on[c])
			continue;
		for (unsigned int k = 0; k < 2; k++)
			if (!o->reporters || o->reporters == k + 1)
				rows(&cases[c], k);
	}
	for (unsigned int k = 0; k < 2; k++) {
		struct bench_stat gps = { 0 }, cpu = { 0 };

		/* Ratios of paired runs (run i of each), then their median. */
		for (unsigned int i = 0;
		     on[0] && on[2] && i < cases[0].gps[k].n; i++) {
			bench_stat_add(&gps, cases[0].gps[k].v[i] /
						     cases[2].gps[k].v[i]);
			bench_stat_add(&cpu, cases[2].cpu[k].v[i] /
						     cases[0].cpu[k].v[i]);
		}
		r->vs_baseline[k] = gps.n ? bench_median(&gps) : NAN;
		r->vs_baseline_cpu[k] = cpu.n ? bench_median(&cpu) : NAN;
		r->threaded_gps[k] = bench_median(&cases[0].gps[k]);
		r->threaded_cpu_ns[k] = bench_median(&cases[0].cpu[k]);
		r->floor_cpu_ns[k] = bench_median(&cases[1].cpu[k]);
		r->baseline_gps[k] = bench_median(&cases[2].gps[k]);
		r->baseline_cpu_ns[k] = bench_median(&cases[2].cpu[k]);
	}
}
