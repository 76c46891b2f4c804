// SPDX-License-Identifier: MIT
/*
 * Case "baseline": the threaded workload run on the hand-written
 * single-mutex implementation (baseline.c): same reporters, same device
 * model, same number of workers, same handler shape (hand the group to a
 * worker, which answers and frees it).
 */
#include <pthread.h>
#include <stdio.h>

#include "baseline.h"
#include "libenv.h"

static void bl_page_response(void *drvdata, const struct iopf_fault *evt,
			     const struct iopf_page_response *msg)
{
	(void)msg;
	bench_port_answer(drvdata, evt->prm.private_data[0]);
}

static void answer_work(struct bl_group *g)
{
	bl_group_response(g, IOPF_PAGE_RESP_SUCCESS);
	bl_group_free(g);
}

static int answer_later(struct bl_group *g)
{
	return bl_queue_work(g, answer_work);
}

static int answer_now(struct bl_group *g)
{
	answer_work(g);
	return 0;
}

static struct bl *env_new(unsigned int workers, unsigned int nr_devs,
			  bl_handler_t handler, struct bench_port *ports)
{
	struct bl_dev *dev;
	struct bl *bl;
	int ret;

	ret = bl_new(workers, bl_page_response, &bl);
	for (unsigned int i = 0; !ret && i < nr_devs; i++) {
		ret = bl_device_add(bl, BENCH_RID(i), &ports[i], &dev);
		if (!ret)
			ret = bl_attach(bl, dev, BENCH_PASID, handler);
	}
	if (ret)
		bench_die("baseline setup", ret);
	return bl;
}

/* The inline path of the baseline, for the instruction comparison. */
int bench_baseline_inline_count(unsigned long n)
{
	struct bench_port port;
	struct iopf_fault f;
	struct bl *bl;

	bench_port_init(&port);
	bl = env_new(0, 1, answer_now, &port);
	for (unsigned long i = 0; i < n; i++) {
		bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511), i << 12, true,
			    0);
		bl_report(bl, BENCH_RID(0), &f);
	}
	bl_free(bl);
	return atomic_load(&port.answered) == n ? 0 : 1;
}

/*
 * The scale-devices workload on the baseline: @nr devices attached at the
 * RID, groups from random requester IDs among the first @span, inline.
 * Returns ns per group, median of @runs.
 */
double bench_baseline_devices(uint32_t nr, uint32_t span, unsigned long n,
			      unsigned int runs)
{
	struct bench_stat s = { 0 };
	struct bench_port port;
	struct iopf_fault f;
	struct bl_dev *dev;
	struct bl *bl;
	int ret;

	bench_port_init(&port);
	ret = bl_new(0, bl_page_response, &bl);
	for (uint32_t i = 0; !ret && i < nr; i++) {
		ret = bl_device_add(bl, BENCH_RID(i), &port, &dev);
		if (!ret)
			ret = bl_attach(bl, dev, IOPF_NO_PASID, answer_now);
	}
	if (ret)
		bench_die("baseline setup", ret);
	for (unsigned int k = 0; k <= runs; k++) {
		uint64_t seed = 7 + k, t0 = bench_thread_ns();

		for (unsigned long i = 0; i < n; i++) {
			uint32_t d = (uint32_t)(bench_rand(&seed) % span);

			bench_fault(&f, IOPF_NO_PASID, (uint32_t)(i & 511),
				    i << 12, true, 0);
			bl_report(bl, BENCH_RID(d), &f);
		}
		if (k) /* the first pass warms up */
			bench_stat_add(&s, (double)(bench_thread_ns() - t0) /
						   (double)n);
	}
	bl_free(bl);
	return bench_median(&s);
}

struct reporter {
	pthread_t thread;
	struct bl *bl;
	unsigned int idx;
	unsigned long n;
	struct bench_port *port;
};

static void *reporter_fn(void *arg)
{
	struct reporter *rep = arg;
	struct bench_port *port = rep->port;
	struct iopf_fault f;

	for (unsigned long i = 0; i < rep->n; i++) {
		bench_port_get_credit(port);
		bench_fault(&f, BENCH_PASID, (uint32_t)(i & 511), i << 12, true,
			    bench_port_stamp(port));
		port->sent++;
		bl_report(rep->bl, BENCH_RID(rep->idx), &f);
	}
	bench_port_drain(port);
	return NULL;
}

struct mt_run bench_baseline_run(unsigned int nr_rep, unsigned int workers,
				 unsigned long n)
{
	struct bench_port ports[BENCH_MAX_THREADS];
	struct reporter reps[BENCH_MAX_THREADS];
	struct mt_run r;
	uint64_t t0, c0, t, c, w0;
	struct bl *bl;

	for (unsigned int i = 0; i < nr_rep; i++)
		bench_port_init(&ports[i]);
	bl = env_new(workers, nr_rep, answer_later, ports);
	bench_hist_reset_all();
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	w0 = bench_csw();
	for (unsigned int i = 0; i < nr_rep; i++) {
		reps[i] = (struct reporter){
			.bl = bl, .idx = i, .n = n / nr_rep, .port = &ports[i]
		};
		if (pthread_create(&reps[i].thread, NULL, reporter_fn,
				   &reps[i]))
			bench_die("pthread_create", 11);
	}
	for (unsigned int i = 0; i < nr_rep; i++)
		pthread_join(reps[i].thread, NULL);
	t = bench_now_ns() - t0;
	c = bench_cpu_ns() - c0;
	r.gps = (double)n * 1e9 / (double)t;
	r.cpu_ns = (double)c / (double)n;
	r.csw = (double)(bench_csw() - w0) * 1000.0 / (double)n;
	r.p50 = bench_hist_percentile(50);
	r.p99 = bench_hist_percentile(99);
	bl_free(bl);
	return r;
}
