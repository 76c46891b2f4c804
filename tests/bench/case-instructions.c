// SPDX-License-Identifier: MIT
/*
 * Case "instructions": instructions per inline single-page group, which,
 * unlike time, are the same from run to run.
 *
 * Hardware counters (perf_event_open, user space only) when the kernel and
 * the machine allow them; otherwise (containers, VMs without a PMU) this
 * program re-runs itself under valgrind --tool=callgrind for two fixed
 * counts and takes the difference, so setup and teardown cancel out:
 *	(Ir(n2) - Ir(n1)) / (n2 - n1).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define N1 10000ul
#define N2 60000ul
/* A VT-d DMA runs ~5x the instructions of a group: fewer of them. */
#define VTD_N1 2000ul
#define VTD_N2 12000ul

/* ---- hardware counters ----------------------------------------------------- */

static int perf_open(void)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_HARDWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_HW_INSTRUCTIONS;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	attr.inherit = 1; /* and the threads the measured code starts */
	return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static double perf_count(int fd, unsigned long n, int mode)
{
	uint64_t count = 0;

	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	if (mode == 2)
		bench_baseline_inline_count(n);
	else if (mode == 3)
		bench_threaded_run(2, 2, n);
	else if (mode == 4)
		bench_floor_run(2, 2, n);
	else if (mode == 5)
		bench_baseline_run(2, 2, n);
	else if (mode == 6)
		bench_vtd_manual_count(n);
	else
		bench_inline_count(n, mode == 1);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		return NAN;
	return (double)count;
}

/* ---- callgrind --------------------------------------------------------------- */

/* Modes: 0 inline, 1 inline with RID lookup, 2 baseline inline, 3..5 the
 * threaded, floor and baseline runs with two reporters and two workers,
 * 6 VT-d DMAs in manual mode. */
static const char *const mode_arg[] = {
	"--inline-count", "--lookup-count", "--baseline-count", "threaded",
	"floor",	  "baseline",	    "--vtd-count"
};

static bool mt_mode(int mode)
{
	return mode >= 3 && mode <= 5;
}

/* Total instructions (Ir) of one run of this program under callgrind. */
static double callgrind_count(const struct bench_opts *o, unsigned long n,
			      int mode)
{
	char out[] = "/tmp/iopf-bench-cg.XXXXXX", count[32], line[256];
	char outarg[64];
	double ir = NAN;
	int status, fd;
	pid_t pid;
	FILE *f;

	fd = mkstemp(out);
	if (fd < 0)
		return NAN;
	close(fd);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	snprintf(count, sizeof(count), "%lu", n);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		if (!mt_mode(mode))
			execlp(o->valgrind ? o->valgrind : "valgrind",
			       "valgrind", "--tool=callgrind", outarg, o->self,
			       mode_arg[mode], count, (char *)NULL);
		else
			execlp(o->valgrind ? o->valgrind : "valgrind",
			       "valgrind", "--tool=callgrind", outarg, o->self,
			       "--mt-count", mode_arg[mode], count, "2",
			       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		unlink(out);
		return NAN;
	}
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "summary:", 8) ||
		    !strncmp(line, "totals:", 7))
			ir = strtod(strchr(line, ':') + 1, NULL);
	}
	if (f)
		fclose(f);
	unlink(out);
	return ir;
}

/* Instructions per group in @mode (see mode_arg). */
static double per_group(const struct bench_opts *o, int perf_fd, int mode)
{
	unsigned long n1 = mode == 6 ? VTD_N1 : N1,
		      n2 = mode == 6 ? VTD_N2 : N2;

	if (perf_fd >= 0)
		return (perf_count(perf_fd, n2, mode) -
			perf_count(perf_fd, n1, mode)) /
		       (double)(n2 - n1);
	return (callgrind_count(o, n2, mode) - callgrind_count(o, n1, mode)) /
	       (double)(n2 - n1);
}

void bench_instructions(const struct bench_opts *o, struct bench_results *r)
{
	int fd = perf_open();

	if (fd < 0 && o->no_callgrind) {
		r->instr_source = "none";
		r->inline_instr = r->inline_lookup_instr = NAN;
		return;
	}
	r->instr_source = fd >= 0 ? "perf_event_open" : "callgrind";
	r->inline_instr = per_group(o, fd, 0);
	r->inline_lookup_instr = per_group(o, fd, 1);
	bench_row1("instr", "inline 1-page group, device ptr", "instr",
		   r->inline_instr);
	bench_row1("instr", "inline 1-page group, RID lookup", "instr",
		   r->inline_lookup_instr);
	bench_row1("instr", "baseline inline, RID lookup", "instr",
		   per_group(o, fd, 2));
	/* Threads serialised by valgrind: user-space work only, no waits. */
	r->threaded_instr = per_group(o, fd, 3);
	r->floor_instr = per_group(o, fd, 4);
	r->baseline_instr = per_group(o, fd, 5);
	bench_row1("instr", "threaded R=2, per group", "instr",
		   r->threaded_instr);
	bench_row1("instr", "floor R=2, per record", "instr", r->floor_instr);
	bench_row1("instr", "baseline R=2, per group", "instr",
		   r->baseline_instr);
	r->vtd_manual_instr = per_group(o, fd, 6);
	bench_row1("instr", "VT-d manual 1-page DMA", "instr",
		   r->vtd_manual_instr);
	if (fd >= 0)
		close(fd);
}

int bench_check_budget(const struct bench_opts *o, double budget)
{
	double bare, lookup;

	if (!o->valgrind || access(o->valgrind, X_OK)) {
		printf("no valgrind, or a sanitizer or -O0 build: skipped\n");
		return 77;
	}
	bare = per_group(o, -1, 0);
	lookup = per_group(o, -1, 1);
	printf("inline single-page group: %.1f instructions (budget %.0f); "
	       "with the RID lookup: %.1f\n",
	       bare, budget, lookup);
	if (isnan(bare)) {
		printf("callgrind run failed\n");
		return 1;
	}
	return bare <= budget ? 0 : 1;
}
