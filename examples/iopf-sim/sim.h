/* SPDX-License-Identifier: MIT */
/*
 * iopf-sim: runs a scenario file (docs/scenario-format.md) through libiopf
 * and prints the trace. Internal interfaces of the program.
 *
 * The scenario runs in the main thread. With --threads N, fault queues get
 * worker threads, so handlers and the trace sink also run on those; the
 * state they touch (held groups, the response log) has its own locks.
 */
#ifndef IOPF_SIM_H
#define IOPF_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iopf/iopf.h>
#include <iopf/trace-format.h>

#define SIM_MAX_TOKENS 32

struct sim;

/* Kinds of named objects a scenario declares. */
enum sim_kind {
	SIM_IOMMU,
	SIM_QUEUE,
	SIM_DEVICE,
	SIM_DOMAIN,
	SIM_MM,
	SIM_BIND,
	SIM_CHANNEL,
	SIM_KIND_MAX
};

struct sim_obj {
	struct sim_obj *next;
	enum sim_kind kind;
	char *name;
	void *ptr; /* the library object */
	void *data; /* what the command family keeps for it */
	void (*release)(struct sim *sim, struct sim_obj *obj); /* frees @data */
	bool dead; /* freed by the scenario; the name stays taken */
};

/* One command line, split into tokens; each token is consumed once. */
struct sim_args {
	int argc;
	char *argv[SIM_MAX_TOKENS];
	bool used[SIM_MAX_TOKENS];
	const char *rest; /* the raw text after the command word */
};

typedef int (*sim_cmd_fn)(struct sim *sim, struct sim_args *args);

struct sim_cmd {
	const char *name;
	sim_cmd_fn fn;
	bool quiet; /* not echoed as a note in the trace */
};

/*
 * A hardware backend of "iommu NAME BACKEND ...": how to create the
 * IOMMU, how to create a device on it, and the backend's own commands.
 */
struct sim_backend {
	const char *name;
	int (*create)(struct sim *sim, struct sim_obj *obj,
		      struct sim_args *args);
	struct iopf_iommu *(*iommu)(struct sim_obj *obj);
	/* optional: create a device; NULL uses iopf_device_new() */
	int (*device_new)(struct sim *sim, struct sim_obj *iommu,
			  const struct iopf_device_attr *attr,
			  struct sim_args *args, struct iopf_device **out);
	const struct sim_cmd *cmds; /* NULL-terminated, or NULL */
};

/* A response as seen in the trace (backend-independent). */
struct sim_response {
	char dev[32];
	uint32_t pasid, grpid;
	int32_t code;
	uint32_t origin;
};

struct sim {
	const char *file;
	unsigned int line;
	unsigned int threads; /* workers per queue; 0 = manual */
	bool echo; /* scenario lines as notes in the trace */
	struct iopf_ctx *ctx;
	struct iopf_trace_formatter *fmt;
	struct sim_obj *objs;
	struct sim_attach *attaches;
	/* the result of the previous command, for "expect ret" */
	const char *cmd; /* the command running */
	const char *ret_cmd; /* the command that produced last_ret */
	long last_ret;
	bool ret_unchecked;
	unsigned int ret_line;
	/* response log and event counts, fed by the trace sink */
	pthread_mutex_t log_lock;
	struct sim_response *resp;
	size_t nr_resp, max_resp;
	uint64_t events[IOPF_TRACE_TYPE_MAX + 1];
	bool log_nomem;
};

/* parse.c */
int sim_error(struct sim *sim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sim_tokenize(struct sim *sim, char *line, struct sim_args *args);
const char *sim_pos(struct sim *sim, struct sim_args *args, int i,
		    const char *what);
const char *sim_opt(struct sim_args *args, const char *key);
bool sim_flag(struct sim_args *args, const char *flag);
int sim_done(struct sim *sim, struct sim_args *args);
int sim_u64(struct sim *sim, const char *s, const char *what, uint64_t *out);
int sim_u32(struct sim *sim, const char *s, const char *what, uint32_t *out);
int sim_opt_u32(struct sim *sim, struct sim_args *args, const char *key,
		uint32_t *out);
int sim_opt_u64(struct sim *sim, struct sim_args *args, const char *key,
		uint64_t *out);
int sim_code(struct sim *sim, const char *s, uint32_t *out);
int sim_errno(struct sim *sim, const char *s, long *out);
const char *sim_errno_name(long err);
int sim_perm(struct sim *sim, const char *s, uint32_t *out);

/* objects.c */
struct sim_obj *sim_add(struct sim *sim, enum sim_kind kind, const char *name);
struct sim_obj *sim_get(struct sim *sim, enum sim_kind kind, const char *name);
struct sim_obj *sim_find(struct sim *sim, const char *name);
void sim_objs_release(struct sim *sim);
void sim_objs_free(struct sim *sim);
const char *sim_kind_name(enum sim_kind kind);

/* commands */
extern const struct sim_cmd sim_core_cmds[];
extern const struct sim_cmd sim_sva_cmds[];
extern const struct sim_cmd sim_channel_cmds[];
extern const struct sim_cmd sim_expect_cmds[];
extern const struct sim_backend *const sim_backends[];

int sim_result(struct sim *sim, long ret);
int sim_pasid_arg(struct sim *sim, const char *s, uint32_t *out);
void sim_attaches_free(struct sim *sim);
void sim_domains_drop_groups(struct sim *sim);
int sim_run_file(struct sim *sim, FILE *in);
int sim_expect_readable(struct sim *sim,
			struct sim_args *args); /* cmd-channel.c */

#endif /* IOPF_SIM_H */
