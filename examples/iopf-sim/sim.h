/* SPDX-License-Identifier: MIT */
/*
 * iopf-sim: runs a scenario file (docs/scenario-format.md) through libiopf
 * and prints the trace. Internal interfaces of the program.
 *
 * The scenario runs in the main thread. With --threads N, fault queues get
 * worker threads and hardware models their driver threads, so handlers
 * and the trace sink also run on those; the state they touch (held
 * groups, the response log, hidden devices) has its own locks.
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
struct iopf_pci_endpoint;

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
 * A statistic a backend or an endpoint shows to "expect": writes the value
 * of @key into @buf (a number in decimal, "yes"/"no", or a word) and
 * returns 0, or -ENOENT for a key it does not know.
 */
typedef int (*sim_stat_fn)(struct sim_obj *obj, const char *key, char *buf,
			   size_t len);

/* What a device of a hardware backend keeps (struct sim_obj.data). */
struct sim_dev {
	struct sim_obj *iommu;
	struct iopf_pci_endpoint *ep; /* a PCIe function with PRI, or NULL */
	uint32_t id;
	void *hw; /* the backend's own (an SMMUv3 transaction, ...) */
	void (*hw_release)(void *hw);
};

/*
 * A hardware backend of "iommu NAME BACKEND ...": how to create the
 * IOMMU, how to create a device on it, how to make its hardware queues
 * progress, and the backend's own commands. create and device_new
 * return 0, a negative errno from the library (the scenario may expect
 * it), or 1 after reporting a syntax error with sim_error().
 */
struct sim_backend {
	const char *name;
	int (*create)(struct sim *sim, struct sim_obj *obj,
		      struct sim_args *args);
	struct iopf_iommu *(*iommu)(struct sim_obj *obj);
	/* optional: the fault queue the model owns, declared "NAME-iopfq" */
	struct iopf_queue *(*queue)(struct sim_obj *obj);
	/*
	 * optional: create a device (@dev is its object, for @dev->data);
	 * NULL uses iopf_device_new()
	 */
	int (*device_new)(struct sim *sim, struct sim_obj *iommu,
			  struct sim_obj *dev,
			  const struct iopf_device_attr *attr,
			  struct sim_args *args, struct iopf_device **out);
	/*
	 * optional, manual mode: run the driver's threads once in the
	 * caller (prq thread, event/PRI threads, PPR interrupt); return the
	 * steps done, 0 when idle
	 */
	int (*pump)(struct sim *sim, struct sim_obj *iommu);
	/*
	 * optional, threaded mode: true when no hardware queue holds work
	 * and no driver thread is between taking an entry and reporting it
	 */
	bool (*idle)(struct sim_obj *iommu);
	/* optional: a DMA by a device without a PCIe endpoint */
	int (*dma)(struct sim *sim, struct sim_obj *dev, uint32_t pasid,
		   uint64_t addr, uint32_t perm, bool nowait);
	sim_stat_fn stat; /* optional: "expect hw IOMMU key=value" */
	sim_stat_fn dev_stat; /* optional: "expect device DEV key=value" */
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
	/* "hide DEVICE": events of these devices are counted, not shown */
	struct sim_hidden *hidden;
	struct sim_hidden *hidden_last; /* the previous event's, or NULL */
};

struct sim_hidden {
	struct sim_hidden *next;
	char *dev; /* device name */
	char *iommu; /* its IOMMU's name */
	uint32_t id;
	uint64_t nr; /* events not shown */
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

/* hardware (backend-hw.c, cmd-pci.c) */
extern const struct sim_cmd sim_hw_cmds[];
extern const struct sim_cmd sim_pci_cmds[];
struct sim_dev *sim_dev_of(struct sim *sim, struct sim_obj *dev);
struct sim_dev *sim_hw_dev_new(struct sim *sim, struct sim_obj *iommu,
			       struct sim_obj *dev, uint32_t id);
int sim_endpoint_new(struct sim *sim, struct sim_obj *dev,
		     struct sim_args *args, uint32_t id,
		     struct iopf_pci_endpoint **out);
int sim_expect_stats(struct sim *sim, struct sim_args *args,
		     struct sim_obj *obj, sim_stat_fn fn);
int sim_stat_u64(char *buf, size_t len, uint64_t v);
int sim_stat_bool(char *buf, size_t len, bool v);
int sim_expect_hw(struct sim *sim, struct sim_args *args);
int sim_expect_device(struct sim *sim, struct sim_args *args);
struct sim_obj *sim_backend_iommu(struct sim *sim, struct sim_args *args,
				  const struct sim_backend *b);
long sim_pump_all(struct sim *sim, uint32_t max);
int sim_settle(struct sim *sim);
bool sim_hidden_event(struct sim *sim, const struct iopf_trace_event *ev);
void sim_hidden_free(struct sim *sim);

#endif /* IOPF_SIM_H */
