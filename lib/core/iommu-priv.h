/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the core (the userspace iommu-priv.h).
 *
 * Lock order (outer first):
 *   device->group_mutex  (attach, detach, replace; the kernel's group->mutex)
 *   iommu->lock          (the IOMMU's device list and table, IOPF-enable queue)
 *   queue->lock          (the queue's device list)
 *   device->iommu_lock   (publication of the fault param; dev_iommu::lock)
 *   fault_param->lock    (partial list, pending groups, live groups)
 *   domain->lock         (the domain's attachment list)
 *   ctx->lock            (member list, fault-param list)
 * The report path takes only fault_param->lock, under the RCU read lock.
 * page_response is called with fault_param->lock held.
 */
#ifndef IOPF_CORE_IOMMU_PRIV_H
#define IOPF_CORE_IOMMU_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/urcu-bp.h>
#include <urcu/list.h>
#include <urcu/rculfhash.h>
#include <urcu/wfcqueue.h>

#include <iopf/domain.h>
#include <iopf/fault.h>
#include <iopf/iommu.h>
#include <iopf/queue.h>
#include <iopf/trace.h>

#include "alloc.h"
#include "export.h"

#ifndef container_of
#define container_of(ptr, type, member) caa_container_of(ptr, type, member)
#endif

#define iopf_unlikely(x) __builtin_expect(!!(x), 0)

#define IOPF_PASID_MAX (1u << IOPF_PASID_BITS)
#define IOPF_LEAF_BITS 10
#define IOPF_LEAF_SIZE (1u << IOPF_LEAF_BITS)
#define IOPF_DIR_SIZE  (IOPF_PASID_MAX >> IOPF_LEAF_BITS)

/*
 * Device IDs below this go to the IOMMU's direct table (dev-table.c): PCI
 * requester IDs, AMD devids, VT-d source-ids, SMMUv3 StreamIDs of up to 16
 * PCI segments. Sparse IDs above it go to the context's hash table, so the
 * table of one IOMMU stays within 8 KB + 1024 leaves of 8 KB.
 */
#define IOPF_DEV_TABLE_BITS 20
#define IOPF_DEV_TABLE_IDS  (1u << IOPF_DEV_TABLE_BITS)
#define IOPF_DEV_DIR_SIZE   (IOPF_DEV_TABLE_IDS >> IOPF_LEAF_BITS)

/*
 * RCU publication with C11 atomics: the same release/consume ordering as
 * rcu_assign_pointer()/rcu_dereference(), but visible to ThreadSanitizer,
 * which cannot see through liburcu's inline assembly.
 */
#define iopf_rcu_assign(p, v) \
	atomic_store_explicit(&(p), (v), memory_order_release)
#define iopf_rcu_deref(p) atomic_load_explicit(&(p), memory_order_acquire)

/*
 * ThreadSanitizer cannot see liburcu's grace periods. In TSan builds every
 * read-side section ends with a release on one counter and every grace
 * period (synchronize_rcu, a call_rcu callback) begins with an acquire of
 * it, which tells TSan what the grace period guarantees: whatever a reader
 * did before its section ended happens before what follows the grace period.
 * In other builds these cost nothing.
 */
#if defined(__SANITIZE_THREAD__)
#define IOPF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IOPF_TSAN 1
#endif
#endif

#ifdef IOPF_TSAN
extern atomic_ulong iopf_tsan_rcu_clock;
static inline void iopf_tsan_gp_begin(void)
{
	(void)atomic_load_explicit(&iopf_tsan_rcu_clock, memory_order_acquire);
}
static inline void iopf_tsan_read_end(void)
{
	atomic_fetch_add_explicit(&iopf_tsan_rcu_clock, 1,
				  memory_order_release);
}
#else
static inline void iopf_tsan_gp_begin(void)
{
}
static inline void iopf_tsan_read_end(void)
{
}
#endif

static inline void iopf_rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

static inline void iopf_rcu_read_unlock(void)
{
	iopf_tsan_read_end();
	urcu_bp_read_unlock();
}

/* call_rcu(): what the caller did before happens before @fn (for TSan). */
static inline void iopf_call_rcu(struct rcu_head *head,
				 void (*fn)(struct rcu_head *head))
{
	iopf_tsan_read_end();
	urcu_bp_call_rcu(head, fn);
}

static inline void iopf_synchronize_rcu(void)
{
	urcu_bp_synchronize_rcu();
	iopf_tsan_gp_begin();
}

/* Reference counts (the kernel's refcount_t), C11 atomics for the same reason. */
struct iopf_ref {
	atomic_long count;
};

static inline void iopf_ref_init(struct iopf_ref *ref)
{
	atomic_init(&ref->count, 1);
}

static inline void iopf_ref_get(struct iopf_ref *ref)
{
	atomic_fetch_add_explicit(&ref->count, 1, memory_order_relaxed);
}

/* refcount_inc_not_zero(): for lookups under the RCU read lock. */
static inline bool iopf_ref_get_unless_zero(struct iopf_ref *ref)
{
	long c = atomic_load_explicit(&ref->count, memory_order_relaxed);

	do {
		if (!c)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&ref->count, &c, c + 1,
							memory_order_acquire,
							memory_order_relaxed));
	return true;
}

/* True when this was the last reference. */
static inline bool iopf_ref_put(struct iopf_ref *ref)
{
	return atomic_fetch_sub_explicit(&ref->count, 1,
					 memory_order_acq_rel) == 1;
}

/*
 * Objects the context frees in reverse creation order at iopf_ctx_free().
 * Every layer links its objects here, so the core needs to know nothing of
 * SVA binds, channels or hardware models to tear them down.
 */
struct iopf_ctx_member {
	struct cds_list_head node;
	void (*destroy)(struct iopf_ctx_member *member);
};

struct iopf_ctx {
	pthread_mutex_t lock;
	struct cds_list_head members;
	struct cds_list_head fault_params;
	struct cds_list_head iommus;
	struct cds_list_head queues;
	struct cds_lfht *devices;
	unsigned int nr_iommus;
	unsigned int nr_queues;
	/* global PASID space (pasid.c) */
	pthread_mutex_t pasid_lock;
	uint64_t *pasid_bitmap;
	/* trace (lib/trace) */
	_Atomic(iopf_trace_sink_t) trace_sink;
	_Atomic(void *) trace_priv;
	atomic_uint_fast64_t trace_seq;
};

struct iopf_device;

struct iopf_dev_leaf {
	_Atomic(struct iopf_device *) slot[IOPF_LEAF_SIZE];
};

struct iopf_dev_dir {
	_Atomic(struct iopf_dev_leaf *) leaf[IOPF_DEV_DIR_SIZE];
};

struct iopf_iommu {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	/*
	 * Devices with an ID below IOPF_DEV_TABLE_IDS (RCU, written under
	 * lock). The directory and its leaves live as long as the IOMMU, so
	 * a reader needs no grace period for them, only for the device.
	 */
	_Atomic(struct iopf_dev_dir *) dev_dir;
	char *name;
	struct iopf_iommu_ops ops;
	void *drvdata;
	struct cds_list_head ctx_node;
	pthread_mutex_t lock;
	struct cds_list_head devices;
	_Atomic(struct iopf_queue *) queue;
};

/*
 * One attachment of a domain at a device's RID or PASID: what the routing
 * table points to. @handle is NULL for a bare attach.
 */
struct iopf_attachment {
	struct cds_list_head dev_node;
	struct cds_list_head dom_node;
	struct iopf_device *dev;
	struct iopf_domain *domain;
	struct iopf_attach_handle *handle;
	uint32_t pasid;
};

/*
 * A routing slot: the RID's or one PASID's. It carries the domain and the
 * handle itself, so that routing a fault reads one cache line (32 bytes in
 * a 64-byte aligned leaf never straddles two) and never the attachment,
 * which with a million PASIDs would be a second dependent cache miss.
 *
 * @seq is a sequence count: writers (under dev->group_mutex) make it odd,
 * store the pointers, make it even; readers (under the RCU read lock)
 * retry while it is odd or has changed, so they never see the domain of
 * one attachment with the handle of another. Every field is an atomic
 * loaded with acquire and stored with release rather than relaxed accesses
 * between fences: the same cost on x86, and ThreadSanitizer does not model
 * standalone fences. @attachment is for writers only.
 */
struct iopf_route {
	atomic_uint seq;
	_Atomic(struct iopf_domain *) domain;
	_Atomic(struct iopf_attach_handle *) handle;
	_Atomic(struct iopf_attachment *) attachment;
};

/* A consistent read of a slot; domain NULL: nothing attached. */
struct iopf_route_snap {
	struct iopf_domain *domain;
	struct iopf_attach_handle *handle;
};

/*
 * 1024 slots of 32 bytes: 32 KB (8 KB when a slot was a bare attachment
 * pointer), allocated 64-byte aligned.
 */
struct iopf_pasid_leaf {
	struct iopf_route slot[IOPF_LEAF_SIZE];
};

#define IOPF_LEAF_ALIGN 64

struct iopf_pasid_dir {
	_Atomic(struct iopf_pasid_leaf *) leaf[IOPF_DIR_SIZE];
};

struct iopf_fault_param;

struct iopf_device {
	/*
	 * What a report at the RID reads, in the first 64 bytes (the device
	 * is 64-byte aligned): the reference (lookup), the fault param
	 * (report), the IOMMU (page_response, and its ctx for the trace
	 * check), the backend's drvdata (its page_response) and the RID's
	 * routing slot. With a random device per fault each line here is a
	 * miss; a report at a PASID also reads pasid_dir, on the second.
	 */
	struct iopf_ref ref;
	_Atomic(struct iopf_fault_param *) fault_param; /* RCU */
	struct iopf_iommu *iommu;
	void *drvdata;
	struct iopf_route rid; /* at 32: see the _Static_assert below */
	/* the second line */
	_Atomic(struct iopf_pasid_dir *)
		pasid_dir; /* RCU, at the first PASID attach */
	struct iopf_ctx *ctx;
	uint32_t id;
	uint32_t max_pasids;
	/* The hash path only (IDs from IOPF_DEV_TABLE_IDS on). */
	struct cds_lfht_node ht_node;
	atomic_bool live; /* release-stored before publication */
	/* cold */
	struct rcu_head rcu;
	struct cds_list_head iommu_node;
	char *name;
	pthread_mutex_t group_mutex;
	struct cds_list_head attachments;
	pthread_mutex_t iommu_lock;
	/*
	 * The queue of the device's last fault param, kept (with a reference)
	 * after iopf_queue_remove_device(): its work may still hold groups of
	 * the device, and a detach must wait for them. Under iommu_lock.
	 */
	struct iopf_queue *work_queue;
	unsigned int iopf_refcount; /* fault-capable handle attachments */
	bool iopf_auto; /* added to iommu->queue by attach */
	bool published;
};

#define IOPF_DEVICE_ALIGN 64

/* No routing slot straddles two cache lines, so a lookup reads one. */
_Static_assert(IOPF_LEAF_ALIGN % sizeof(struct iopf_route) == 0,
	       "leaf slots straddle cache lines");
_Static_assert(offsetof(struct iopf_device, rid) % IOPF_DEVICE_ALIGN +
			       sizeof(struct iopf_route) <=
		       IOPF_DEVICE_ALIGN,
	       "the RID slot straddles cache lines");

/* The slot of @pasid if its leaf exists. Under the RCU read lock. */
static inline struct iopf_route *iopf_route_find(struct iopf_device *dev,
						 uint32_t pasid)
{
	struct iopf_pasid_dir *dir;
	struct iopf_pasid_leaf *leaf;

	if (pasid == IOPF_NO_PASID)
		return &dev->rid;
	dir = iopf_rcu_deref(dev->pasid_dir);
	if (!dir)
		return NULL;
	leaf = iopf_rcu_deref(dir->leaf[pasid >> IOPF_LEAF_BITS]);
	if (!leaf)
		return NULL;
	return &leaf->slot[pasid & (IOPF_LEAF_SIZE - 1)];
}

/*
 * The read side of the slot's sequence count, once it is even. A writer
 * does not sleep between its stores: spin. The acquire loads (here and of
 * the pointers) keep the pointer loads between the two reads of @seq, and
 * order what the writer did before publishing (the domain's fields,
 * handle->domain) before our use of the pointers.
 */
static inline unsigned int iopf_route_seq_begin(struct iopf_route *r)
{
	unsigned int seq;

	for (;;) {
		seq = atomic_load_explicit(&r->seq, memory_order_acquire);
		if (!iopf_unlikely(seq & 1))
			return seq;
		caa_cpu_relax();
	}
}

/* True when a writer ran since iopf_route_seq_begin() returned @seq. */
static inline bool iopf_route_seq_retry(struct iopf_route *r, unsigned int seq)
{
	return iopf_unlikely(
		atomic_load_explicit(&r->seq, memory_order_relaxed) != seq);
}

/*
 * What @pasid (or the RID) routes to: a domain and handle of the same
 * attachment, both NULL when nothing is attached. Under the RCU read lock,
 * which keeps them valid: a detach unpublishes, then waits a grace period.
 * Inline: the report path's only lookup.
 */
static inline void iopf_route_get(struct iopf_device *dev, uint32_t pasid,
				  struct iopf_route_snap *snap)
{
	struct iopf_route *r = iopf_route_find(dev, pasid);
	unsigned int seq;

	if (!r) {
		snap->domain = NULL;
		snap->handle = NULL;
		return;
	}
	do {
		seq = iopf_route_seq_begin(r);
		snap->domain =
			atomic_load_explicit(&r->domain, memory_order_acquire);
		snap->handle =
			atomic_load_explicit(&r->handle, memory_order_acquire);
	} while (iopf_route_seq_retry(r, seq));
}

/*
 * Hooks of the layer that owns a domain (SVA, channel). The core knows
 * nothing else about them.
 */
struct iopf_domain_ops {
	/* after a handle was detached or replaced and the queue flushed */
	void (*handle_detached)(struct iopf_domain *domain,
				struct iopf_attach_handle *handle);
	/* the domain is being freed */
	void (*release)(struct iopf_domain *domain);
	/*
	 * Walk the domain's "page table" for an ATS translation: 0 when @addr
	 * is mapped with every IOPF_FAULT_PERM_* bit of @perm, -EFAULT when a
	 * page request is needed. NULL: -EOPNOTSUPP.
	 */
	int (*translate)(struct iopf_domain *domain, uint64_t addr,
			 uint32_t perm);
};

struct iopf_domain {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	enum iopf_domain_type type;
	iopf_handler_t iopf_handler;
	void *priv;
	const struct iopf_domain_ops *ops;
	bool owned; /* freed by its layer, not the user */
	pthread_mutex_t lock;
	struct cds_list_head attachments;
};

/* A work list and the workers that sleep on it (workers.c). */
struct iopf_queue_lane {
	/* work items: iopf_group.work_node */
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake_cond;
	atomic_uint sleepers;
	unsigned int nr_workers; /* serving this lane */
	int cpu; /* the workers' CPU, -1: unbound */
	struct iopf_queue *queue;
	/*
	 * The flush epochs' counts of this lane's work. Written by enqueuers
	 * only (queued) or by the lane's runners only (done, started), on
	 * lines of their own: the handoff moves no line beyond the
	 * wfcqueue's, and per-CPU lanes share none across CPUs.
	 */
	_Alignas(64) atomic_ulong queued[2]; /* per epoch; enqueuers */
	_Alignas(64) atomic_ulong done[2]; /* per epoch; runners */
	atomic_ulong started; /* dequeued; runners */
} __attribute__((aligned(64)));

struct iopf_queue {
	struct iopf_ctx_member member;
	struct cds_list_head ctx_node;
	struct iopf_ref
		ref; /* the creator's, and one per device that used it */
	atomic_bool dead; /* iopf_queue_free() ran */
	struct iopf_ctx *ctx;
	char *name;
	pthread_mutex_t lock;
	struct cds_list_head devices;
	/* lanes (one, or one per worker if per-CPU) and their workers */
	unsigned int nr_lanes;
	struct iopf_queue_lane *lanes;
	unsigned int nr_cpu_lane;
	unsigned int *cpu_lane; /* per-CPU: CPU number -> lane */
	unsigned int nr_workers;
	pthread_t *workers;
	atomic_bool stopping;
	/* flush: two epochs of work, as SRCU does */
	pthread_mutex_t flush_mutex; /* one flush at a time */
	pthread_mutex_t flush_lock; /* flush_cond's */
	pthread_cond_t flush_cond;
	/*
	 * Read-mostly, as everything here but the locks: written by flushes
	 * only. (No _Alignas: the queue list's head would then be a
	 * misaligned struct iopf_queue to container_of(); the per-lane
	 * counters are what enqueuers and runners write.)
	 */
	atomic_uint epoch;
	atomic_uint flush_waiters;
	/* manual mode: one runner at a time keeps FIFO order */
	pthread_mutex_t run_lock;
};

struct iopf_fault_param {
	/* The report and answer paths: lock, users, queue, the lists. */
	pthread_mutex_t lock;
	struct iopf_ref users;
	/*
	 * The queue while the device is on it, NULL once removed (written
	 * under lock; iopf_queue_work() reads it without).
	 */
	_Atomic(struct iopf_queue *) queue;
	/* groups in the cache and on the freed stack; bounded */
	atomic_uint nr_cached;
	struct cds_list_head partial; /* struct iopf_fault_node */
	/*
	 * Every live group (live_node), in report order; those not answered
	 * yet are the kernel's pending list (fault_param->faults).
	 */
	struct cds_list_head groups;
	/*
	 * Freed groups kept for the next report, so that the group's memory
	 * goes back and forth between the reporter and the worker without a
	 * trip through malloc's arenas. iopf_free_group() of an answered
	 * group pushes it on @freed without the lock (a stack linked through
	 * free_next; the group is still on @groups); the report path moves
	 * the whole stack to @cache under the lock (live_node).
	 */
	_Atomic(struct iopf_group *) freed;
	struct cds_list_head cache;
	struct iopf_device *dev; /* holds a device reference */
	/* cold */
	struct rcu_head rcu;
	struct cds_list_head queue_list;
	struct cds_list_head ctx_node;
};

#define IOPF_GROUP_CACHE 512

struct iopf_fault_node {
	struct cds_list_head list;
	struct iopf_fault fault;
};

struct iopf_group {
	struct iopf_fault_node last_fault;
	struct cds_list_head faults; /* partials first, last at the tail */
	uint32_t fault_count;
	uint32_t cookie; /* for the channel layer */
	struct cds_list_head live_node;
	struct cds_wfcq_node work_node;
	void (*work_fn)(struct iopf_group *group);
	struct iopf_attach_handle *attach_handle;
	struct iopf_fault_param *fault_param;
	struct cds_list_head node; /* for the handler's own lists */
	struct iopf_group *free_next; /* on fault_param->freed */
	atomic_bool responded; /* answered; set under fault_param->lock */
	atomic_bool queued;
	uint8_t work_epoch;
	bool on_stack;
};

/* context members (iommu.c) */
void iopf_ctx_link(struct iopf_ctx *ctx, struct iopf_ctx_member *member,
		   void (*destroy)(struct iopf_ctx_member *member));
void iopf_ctx_unlink(struct iopf_ctx *ctx, struct iopf_ctx_member *member);

void iopf_ctx_forget_queue(struct iopf_ctx *ctx, struct iopf_queue *queue);

/* devices (iommu.c) */
void iopf_device_get(struct iopf_device *dev);
struct iopf_device *iopf_device_lookup_rcu(struct iopf_iommu *iommu,
					   uint32_t id);

/* the IOMMU's direct device table (dev-table.c), with iommu->lock held */
int iopf_dev_table_insert(struct iopf_iommu *iommu, struct iopf_device *dev);
void iopf_dev_table_remove(struct iopf_iommu *iommu, struct iopf_device *dev);
/* when the IOMMU goes, its devices gone */
void iopf_dev_table_free(struct iopf_iommu *iommu);

/*
 * The slot of @id < IOPF_DEV_TABLE_IDS if its leaf exists; under the RCU
 * read lock (batched reports prefetch it, lookups load it).
 */
static inline _Atomic(struct iopf_device *) *
iopf_dev_table_slot(struct iopf_iommu *iommu, uint32_t id)
{
	struct iopf_dev_dir *dir = iopf_rcu_deref(iommu->dev_dir);
	struct iopf_dev_leaf *leaf;

	if (!dir)
		return NULL;
	leaf = iopf_rcu_deref(dir->leaf[id >> IOPF_LEAF_BITS]);
	return leaf ? &leaf->slot[id & (IOPF_LEAF_SIZE - 1)] : NULL;
}

/*
 * The device at @id < IOPF_DEV_TABLE_IDS, or NULL; under the RCU read lock.
 * Inline: it is the whole of the lookup on the report path.
 */
static inline struct iopf_device *
iopf_dev_table_lookup(struct iopf_iommu *iommu, uint32_t id)
{
	_Atomic(struct iopf_device *) *slot = iopf_dev_table_slot(iommu, id);

	return slot ? iopf_rcu_deref(*slot) : NULL;
}

/* domains (domain.c) */
int iopf_domain_alloc_ops(struct iopf_ctx *ctx, enum iopf_domain_type type,
			  iopf_handler_t handler, void *priv,
			  const struct iopf_domain_ops *ops,
			  struct iopf_domain **out);
void iopf_domain_destroy(struct iopf_domain *domain);
void iopf_device_detach_all(struct iopf_device *dev);

/* IOPF enabling (domain.c), with group_mutex held */
int iopf_enable_for_domain(struct iopf_device *dev, struct iopf_domain *domain,
			   struct iopf_attach_handle *handle);
void iopf_disable_for_domain(struct iopf_device *dev,
			     struct iopf_domain *domain,
			     struct iopf_attach_handle *handle);

/* fault params (io-pgfault.c) */
struct iopf_fault_param *iopf_get_dev_fault_param(struct iopf_device *dev);
void iopf_put_dev_fault_param(struct iopf_fault_param *fault_param);
void iopf_ctx_free_groups(struct iopf_ctx *ctx);
/* iopf_group_response() naming who answers, for the trace (origin). */
void iopf_group_response_origin(struct iopf_group *group, uint32_t code,
				uint32_t origin);

/* queues (queue.c) */
void iopf_queue_flush(struct iopf_queue *queue);
void iopf_ctx_flush_queues(struct iopf_ctx *ctx);
void iopf_queue_get(struct iopf_queue *queue);
void iopf_queue_put(struct iopf_queue *queue);
void iopf_device_flush_work(struct iopf_device *dev);
void iopf_queue_run_one(struct iopf_queue_lane *lane, struct iopf_group *group);

/* lanes and workers (workers.c) */
int iopf_lanes_alloc(struct iopf_queue *queue, unsigned int nr_workers,
		     bool percpu);
void iopf_lanes_free(struct iopf_queue *queue);
struct iopf_queue_lane *iopf_lane_here(struct iopf_queue *queue);
void iopf_lane_enqueue(struct iopf_queue_lane *lane, struct iopf_group *group);
struct iopf_group *iopf_lane_dequeue(struct iopf_queue_lane *lane);
void iopf_stall_wait(unsigned int *tries);
int iopf_workers_start(struct iopf_queue *queue);
void iopf_workers_stop(struct iopf_queue *queue);

/* trace (lib/trace/trace.c) */
void iopf_trace_emit(struct iopf_ctx *ctx, struct iopf_trace_event *ev);

static inline bool iopf_trace_on(struct iopf_ctx *ctx)
{
	return iopf_unlikely(
		atomic_load_explicit(&ctx->trace_sink, memory_order_relaxed) !=
		NULL);
}

void iopf_trace_fault(struct iopf_ctx *ctx, uint32_t type,
		      const struct iopf_device *dev,
		      const struct iopf_fault *evt, int32_t code,
		      uint32_t origin, int32_t ret, uint32_t count);
void iopf_trace_dev(struct iopf_ctx *ctx, uint32_t type,
		    const struct iopf_device *dev, uint32_t pasid,
		    const char *name, int32_t ret);

#endif /* IOPF_CORE_IOMMU_PRIV_H */
