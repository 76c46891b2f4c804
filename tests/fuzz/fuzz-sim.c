// SPDX-License-Identifier: MIT
/*
 * iopf-sim fuzzer: the whole scenario runner (parser, commands, backends,
 * trace formatters) on arbitrary scenario text. iopf-sim's own main() is
 * linked in under the name iopf_sim_main() and run as the program would
 * be, on the input as a memfd, with the trace format chosen by the input
 * size. It must end with status 0 (the scenario ran) or 1 (a clean error
 * at a line), never crash or hang, and leave nothing allocated.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iopf/testing.h>

#include "fuzz.h"

int iopf_sim_main(int argc, char **argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = { "text", "json", "mermaid",
					       "svg" };
	char path[64], format[16];
	char *argv[] = { "iopf-sim",  "--format", format, "-o",
			 "/dev/null", path,	  NULL };
	long live;
	int fd, ret;

	fd = memfd_create("scenario", MFD_CLOEXEC);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(format, sizeof(format), "%s", formats[size % 4]);
	/* getopt keeps state between runs: 0 makes glibc start afresh. */
	optind = 0;
	ret = iopf_sim_main(6, argv);
	close(fd);
	FZ_CHECK(ret == 0 || ret == 1);
	live = iopf_testing_live_allocations();
	FZ_CHECK(live == 0 || live == -EOPNOTSUPP);
	return 0;
}
