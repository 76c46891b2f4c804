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
	return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static double perf_count(int fd, unsigned long n, int mode)
{
	uint64_t count = 0;

	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	if (mode == 2)
		bench_baseline_inline_count(n);
	else
		bench_inline_count(n, mode == 1);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		return NAN;
	return (double)count;
}

/* ---- callgrind --------------------------------------------------------------- */

static const char *const mode_arg[] = { "--inline-count", "--lookup-count",
					"--baseline-count" };

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
		execlp(o->valgrind ? o->valgrind : "valgrind", "valgrind",
		       "--tool=callgrind", outarg, o->self, mode_arg[mode], count,
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
		if (!strncmp(line, "summary:", 8) || !strncmp(line, "totals:", 7))
			ir = strtod(strchr(line, ':') + 1, NULL);
	}
	if (f)
		fclose(f);
	unlink(out);
	return ir;
}

/* Instructions per group in @mode (0 bare, 1 RID lookup, 2 baseline). */
static double per_group(const struct bench_opts *o, int perf_fd, int mode)
{
	if (perf_fd >= 0)
		return (perf_count(perf_fd, N2, mode) - perf_count(perf_fd, N1, mode)) /
		       (double)(N2 - N1);
	return (callgrind_count(o, N2, mode) - callgrind_count(o, N1, mode)) /
	       (double)(N2 - N1);
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
	if (fd >= 0)
		close(fd);
}

int bench_check_budget(const struct bench_opts *o, double budget)
{
	double bare, lookup;

	if (!o->valgrind || access(o->valgrind, X_OK)) {
		printf("valgrind not found: skipped\n");
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
