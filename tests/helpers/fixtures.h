/* SPDX-License-Identifier: MIT */
/*
 * Shared test fixture of the core suites: a context, a mock IOMMU, devices,
 * a fault queue (manual or threaded) and a fault-capable PAGING domain whose
 * handler records every call ("recorder").
 *
 * Use from CMocka tests only (assertions fail the running test). The
 * recorder is thread-safe: handlers run on queue workers in threaded mode.
 */
#ifndef IOPF_TEST_FIXTURES_H
#define IOPF_TEST_FIXTURES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iopf/iopf.h>

struct inv;

#define FX_MAX_DEVS   64
#define FX_MAX_FAULTS 16 /* faults of one call kept by the recorder */
#define FX_MAX_PASIDS 256 /* default max_pasids of fixture devices */
#define FX_DEV_ID(i)  (0x100u + (uint32_t)(i))
#define FX_TIMEOUT_MS 10000

#define FX_LAST	 IOPF_FAULT_PAGE_REQUEST_LAST_PAGE
#define FX_PV	 IOPF_FAULT_PAGE_REQUEST_PASID_VALID
#define FX_NEEDS IOPF_FAULT_PAGE_RESPONSE_NEEDS_PASID

/* What the recording handler does with a group. */
enum fx_mode {
	FX_HOLD, /* keep it: the test answers and frees it (fx_take_held) */
	FX_RESPOND, /* answer rec->code and free it in the handler */
	FX_WORK, /* iopf_queue_work(); the work answers rec->code, frees */
	FX_FAIL, /* return rec->fail_ret: the core aborts with FAILURE */
};

/* One handler call as the recorder saw it. */
struct fx_call {
	uint32_t dev_id;
	struct iopf_attach_handle *handle;
	struct iopf_domain *domain;
	size_t fault_count;
	struct iopf_fault faults[FX_MAX_FAULTS]; /* fault_at(0..) */
	struct iopf_fault last; /* iopf_group_last_fault() */
};

struct fx_rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum fx_mode mode;
	uint32_t code; /* FX_RESPOND / FX_WORK answer */
	int fail_ret; /* FX_FAIL return value */
	struct fx_call *calls;
	size_t nr_calls, cap_calls;
	struct iopf_group **held;
	size_t nr_held, cap_held;
	size_t works_started, works_done;
	bool gate_closed; /* FX_WORK: work waits here until fx_gate_open() */
	struct inv *inv; /* optional: fed delivered/freed groups */
};

/* Fixture options; all-zero is: manual queue, one device, RID attached. */
struct fx_opts {
	unsigned int nr_workers; /* 0: manual mode */
	uint32_t queue_flags; /* struct iopf_queue_attr.flags */
	unsigned int nr_devs; /* 0: one */
	uint32_t max_pasids; /* 0: FX_MAX_PASIDS */
	bool user_pasid_table;
	bool no_queue_add; /* devices are not added to the queue */
	bool no_attach; /* f->domain is not attached at the RIDs */
};

struct fx {
	struct iopf_ctx *ctx;
	struct iopf_mock *mock;
	struct iopf_iommu *iommu;
	struct iopf_queue *queue;
	struct iopf_domain *domain; /* PAGING, handler fx_handler, priv &rec */
	struct fx_rec rec;
	struct iopf_device *dev[FX_MAX_DEVS];
	struct iopf_attach_handle handle[FX_MAX_DEVS]; /* RID handles */
	unsigned int nr_devs;
	struct fx_opts opts;
};

/* CMocka setup/teardown; *state becomes a struct fx *. */
int fx_setup_opts(void **state, const struct fx_opts *opts);
int fx_setup_manual(void **state); /* defaults */
int fx_setup_threaded(void **state); /* 2 workers */
int fx_setup_percpu(void **state); /* 2 workers, IOPF_QUEUE_PERCPU */
int fx_setup_bare(void **state); /* no attach, no queue add */
int fx_setup_upt(void **state); /* user_pasid_table mock */
/* Frees the context and checks that nothing leaked (fault injection). */
int fx_teardown(void **state);

/* Leak check after every context is gone (no-op without fault injection). */
void fx_assert_no_live_allocations(void);
/* True when the build has -Dfault_injection=true. */
bool fx_fault_injection(void);

/* Recorder and the recording handler (domain priv must be the recorder). */
void fx_rec_init(struct fx_rec *rec);
void fx_rec_destroy(struct fx_rec *rec);
int fx_handler(struct iopf_group *group);
void fx_work(struct iopf_group *group);
int fx_domain_new(struct fx *f, enum iopf_domain_type type, struct fx_rec *rec,
		  struct iopf_domain **out);

size_t fx_nr_calls(struct fx_rec *rec);
struct fx_call fx_call_at(struct fx_rec *rec, size_t i);
void fx_wait_calls(struct fx_rec *rec, size_t n);
void fx_wait_works(struct fx_rec *rec, size_t started, size_t done);
size_t fx_nr_held(struct fx_rec *rec);
struct iopf_group *fx_take_held(struct fx_rec *rec); /* oldest, or NULL */
void fx_gate_close(struct fx_rec *rec);
void fx_gate_open(struct fx_rec *rec);

/* Devices and faults. */
struct iopf_device *fx_device_new(struct iopf_iommu *iommu, uint32_t id,
				  uint32_t max_pasids);
struct iopf_fault fx_fault(uint32_t flags, uint32_t pasid, uint32_t grpid,
			   uint64_t addr);
int fx_report(struct iopf_device *dev, uint32_t flags, uint32_t pasid,
	      uint32_t grpid, uint64_t addr);

/* Equal faults: type and every request field (the struct has padding). */
void fx_assert_fault_equal(const struct iopf_fault *a,
			   const struct iopf_fault *b);

/* Mock responses. */
size_t fx_nr_responses(struct fx *f);
struct iopf_mock_response fx_response_at(struct fx *f, size_t i);
/* Assert response @i: device, PASID, group index and code. */
void fx_assert_response(struct fx *f, size_t i, uint32_t dev_id, uint32_t pasid,
			uint32_t grpid, uint32_t code);

#endif
