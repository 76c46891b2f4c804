// SPDX-License-Identifier: MIT
/*
 * The regression runner of a fuzz target in a normal build: feeds every
 * file named on the command line, or found in a folder named there, to
 * LLVMFuzzerTestOneInput(), in name order. A broken invariant aborts; a
 * folder that does not exist is skipped (git keeps no empty folders).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1u << 20)

/*
 * Fill the stack the target is about to use with a pattern that is no
 * valid bool or small enum, so UBSan catches reads of uninitialised
 * locals that would otherwise read a lucky zero.
 */
static void __attribute__((noinline)) poison_stack(void)
{
	volatile unsigned char pad[256 * 1024];

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = 0xa5;
}

static int run_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	uint8_t *copy;
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* A copy of the exact size, so ASan sees reads past the end. */
	copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	poison_stack();
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned int *count)
{
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t nr = 0, cap = 0;
	int ret = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (nr == cap) {
			char **n = realloc(names, (cap = cap ? cap * 2 : 64) *
							  sizeof(*names));

			if (!n) {
				ret = -1;
				break;
			}
			names = n;
		}
		names[nr] = strdup(de->d_name);
		if (!names[nr]) {
			ret = -1;
			break;
		}
		nr++;
	}
	closedir(d);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_names);
	for (size_t i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!ret && run_file(path) == 0)
			(*count)++;
		else
			ret = -1;
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int count = 0;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(argv[i]))
				return 1;
			count++;
		} else if (run_dir(argv[i], &count)) {
			return 1;
		}
	}
	printf("%u inputs replayed\n", count);
	return 0;
}
