// SPDX-License-Identifier: MIT
/*
 * Reading a scenario: tokens, positional and key=value arguments, numbers,
 * codes and errno names. Every error names the file and line, and nothing
 * here trusts the input: unknown tokens, bad numbers and overflows are all
 * reported, never guessed.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int sim_error(struct sim *sim, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%u: ", sim->file, sim->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Splits @line in place; a '#' at the start of a token starts a comment. */
int sim_tokenize(struct sim *sim, char *line, struct sim_args *args)
{
	char *p = line;

	memset(args, 0, sizeof(*args));
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			break;
		if (args->argc == SIM_MAX_TOKENS)
			return sim_error(sim, "too many words (at most %d)",
					 SIM_MAX_TOKENS);
		args->argv[args->argc++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (args->argc == 1) {
			const char *r = p;

			while (*r && isspace((unsigned char)*r))
				r++;
			args->rest = r;
		}
		if (*p)
			*p++ = '\0';
	}
	return 0;
}

/* The @i-th positional argument (after the command word). */
const char *sim_pos(struct sim *sim, struct sim_args *args, int i,
		    const char *what)
{
	if (i + 1 >= args->argc || strchr(args->argv[i + 1], '=')) {
		sim_error(sim, "%s: missing %s", args->argv[0], what);
		return NULL;
	}
	args->used[i + 1] = true;
	return args->argv[i + 1];
}

const char *sim_opt(struct sim_args *args, const char *key)
{
	size_t n = strlen(key);

	for (int i = 1; i < args->argc; i++) {
		if (!strncmp(args->argv[i], key, n) &&
		    args->argv[i][n] == '=') {
			args->used[i] = true;
			return args->argv[i] + n + 1;
		}
	}
	return NULL;
}

bool sim_flag(struct sim_args *args, const char *flag)
{
	for (int i = 1; i < args->argc; i++) {
		if (!args->used[i] && !strcmp(args->argv[i], flag)) {
			args->used[i] = true;
			return true;
		}
	}
	return false;
}

/* Every token must have been consumed by the command. */
int sim_done(struct sim *sim, struct sim_args *args)
{
	for (int i = 1; i < args->argc; i++)
		if (!args->used[i])
			return sim_error(sim, "%s: unexpected '%s'",
					 args->argv[0], args->argv[i]);
	return 0;
}

int sim_u64(struct sim *sim, const char *s, const char *what, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s)
		return -1; /* sim_pos() said what is missing */
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return sim_error(sim, "%s: '%s' is not a number", what, s);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return sim_error(sim, "%s: '%s' is not a number", what, s);
	*out = v;
	return 0;
}

int sim_u32(struct sim *sim, const char *s, const char *what, uint32_t *out)
{
	uint64_t v;

	if (sim_u64(sim, s, what, &v))
		return -1;
	if (v > UINT32_MAX)
		return sim_error(sim, "%s: %s is out of range", what, s);
	*out = (uint32_t)v;
	return 0;
}

/* Optional key=number: leaves *out alone when the key is absent. */
int sim_opt_u32(struct sim *sim, struct sim_args *args, const char *key,
		uint32_t *out)
{
	const char *v = sim_opt(args, key);

	return v ? sim_u32(sim, v, key, out) : 0;
}

int sim_opt_u64(struct sim *sim, struct sim_args *args, const char *key,
		uint64_t *out)
{
	const char *v = sim_opt(args, key);

	return v ? sim_u64(sim, v, key, out) : 0;
}

int sim_code(struct sim *sim, const char *s, uint32_t *out)
{
	if (!strcmp(s, "SUCCESS"))
		*out = IOPF_PAGE_RESP_SUCCESS;
	else if (!strcmp(s, "INVALID"))
		*out = IOPF_PAGE_RESP_INVALID;
	else if (!strcmp(s, "FAILURE"))
		*out = IOPF_PAGE_RESP_FAILURE;
	else
		return sim_u32(sim, s, "code", out);
	return 0;
}

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM },
	{ "ENOENT", ENOENT },
	{ "EIO", EIO },
	{ "ENOMEM", ENOMEM },
	{ "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },
	{ "EEXIST", EEXIST },
	{ "ENODEV", ENODEV },
	{ "EINVAL", EINVAL },
	{ "ENOSPC", ENOSPC },
	{ "ESPIPE", ESPIPE },
	{ "ERANGE", ERANGE },
	{ "EAGAIN", EAGAIN },
	{ "EOPNOTSUPP", EOPNOTSUPP },
	{ "ETIMEDOUT", ETIMEDOUT },
};

const char *sim_errno_name(long err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (err == -errnos[i].err)
			return errnos[i].name;
	return NULL;
}

/* "0", "-EINVAL", "EINVAL", "-22", "40" (a byte count). */
int sim_errno(struct sim *sim, const char *s, long *out)
{
	const char *name = s[0] == '-' ? s + 1 : s;
	uint64_t v;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (!strcmp(name, errnos[i].name)) {
			*out = -errnos[i].err;
			return 0;
		}
	}
	if (sim_u64(sim, name, "ret", &v))
		return -1;
	if (v > INT32_MAX)
		return sim_error(sim, "ret: %s is out of range", s);
	*out = s[0] == '-' ? -(long)v : (long)v;
	return 0;
}

/* "r", "rw", "rwx", "rwxp", "none" */
int sim_perm(struct sim *sim, const char *s, uint32_t *out)
{
	uint32_t perm = 0;

	if (!strcmp(s, "none")) {
		*out = 0;
		return 0;
	}
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case 'r':
			perm |= IOPF_FAULT_PERM_READ;
			break;
		case 'w':
			perm |= IOPF_FAULT_PERM_WRITE;
			break;
		case 'x':
			perm |= IOPF_FAULT_PERM_EXEC;
			break;
		case 'p':
			perm |= IOPF_FAULT_PERM_PRIV;
			break;
		default:
			return sim_error(
				sim, "perm: '%s' is not made of r, w, x, p", s);
		}
	}
	if (!*s)
		return sim_error(sim, "perm: empty");
	*out = perm;
	return 0;
}
