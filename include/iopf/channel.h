/* SPDX-License-Identifier: MIT */
/*
 * libiopf - the user fault channel (the kernel's iommufd fault object).
 *
 * A channel hands page request groups to a program that resolves them
 * elsewhere: a VMM that forwards them to a guest, or a simulator's
 * guest-facing vIOMMU. Domains created with iopf_channel_domain_new()
 * deliver their groups to the channel. The program polls the channel's file
 * descriptor, reads struct iopf_user_fault records and writes back struct
 * iopf_user_response records, with the byte semantics of the kernel's
 * read() and write() on an iommufd fault fd:
 *
 *  - a count that is not a multiple of the record size is -ESPIPE;
 *  - a read never splits a group: it returns 0 when the first waiting group
 *    does not fit, and otherwise stops before the first group that does not;
 *  - every fault of a group is one record, partial requests first and the
 *    last-page request last, all carrying the group's cookie (the lowest free
 *    number from 1, reused once the group is answered);
 *  - a write takes the codes IOPF_PAGE_RESP_SUCCESS and IOPF_PAGE_RESP_INVALID
 *    only; an unknown or already used cookie or another code is -EINVAL; a
 *    write stops at the first bad record and returns the bytes consumed
 *    before it, or the error when it is the first.
 *
 * Detaching or replacing an attachment of a channel domain answers INVALID
 * to every group of that attachment the program has not read or not
 * answered yet; a later write of such a cookie is -EINVAL. Freeing the
 * channel answers INVALID to everything it still holds.
 *
 * Thread safety: read, write and the automatic answers of detach are
 * serialised by the channel's mutex, so any thread may read or write at any
 * time (a reader thread and a writer thread is the usual shape). Delivery
 * from the fault path only takes a short lock and never waits for a reader.
 * iopf_channel_free() must not race with any other call on the channel.
 */
#ifndef IOPF_CHANNEL_H
#define IOPF_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <iopf/domain.h>
#include <iopf/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_channel;
struct iopf_domain;

/**
 * struct iopf_user_fault - one fault as the program reads it (40 bytes)
 * @flags: IOPF_FAULT_PAGE_REQUEST_* bits of the request, copied verbatim
 * @dev_id: iopf_device_id() of the faulting device
 * @pasid: PASID of the request (meaningful with PASID_VALID)
 * @grpid: page request group index
 * @perm: IOPF_FAULT_PERM_* bits of the request
 * @reserved: always 0
 * @addr: faulting address (page aligned by the device)
 * @length: always 0 (a size hint in the kernel's uAPI, never set there)
 * @cookie: the group's cookie, to echo in struct iopf_user_response
 *
 * The layout of the kernel's struct iommu_hwpt_pgfault.
 */
struct iopf_user_fault {
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t perm;
	uint32_t reserved;
	uint64_t addr;
	uint32_t length;
	uint32_t cookie;
};

/**
 * struct iopf_user_response - one answer as the program writes it (8 bytes)
 * @cookie: the cookie of the group being answered
 * @code: IOPF_PAGE_RESP_SUCCESS or IOPF_PAGE_RESP_INVALID
 *
 * The layout of the kernel's struct iommu_hwpt_page_response.
 */
struct iopf_user_response {
	uint32_t cookie;
	uint32_t code;
};

/**
 * iopf_channel_new() - create a user fault channel
 * @ctx: the context
 * @out: the new channel; untouched on failure
 *
 * The channel owns a file descriptor (see iopf_channel_fd()); it is freed by
 * iopf_channel_free() or by iopf_ctx_free().
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument), -ENOMEM, or the error of eventfd()
 * (-EMFILE, -ENFILE, ...).
 */
int iopf_channel_new(struct iopf_ctx *ctx, struct iopf_channel **out);

/**
 * iopf_channel_free() - free a channel
 * @ch: the channel, or NULL
 *
 * Answers IOPF_PAGE_RESP_INVALID to every group the channel still holds,
 * read or not, frees them and closes the file descriptor.
 *
 * Context: not from a handler; no other call on @ch may run concurrently.
 * Return: 0 (also for NULL), or -EBUSY while a domain created from @ch
 * exists (free it with iopf_domain_free() first).
 */
int iopf_channel_free(struct iopf_channel *ch);

/**
 * iopf_channel_domain_new() - create a domain that delivers faults to a channel
 * @ch: the channel
 * @type: IOPF_DOMAIN_PAGING or IOPF_DOMAIN_NESTED
 * @out: the new domain; untouched on failure
 *
 * The domain is fault-capable: attach it with an attach handle and every
 * page request group routed to that attachment is queued on @ch. A NESTED
 * domain at a device's RID also receives the faults of PASIDs with no
 * attachment of their own when the IOMMU has user_pasid_table. Free it with
 * iopf_domain_free() once detached.
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument, another @type) or -ENOMEM.
 */
int iopf_channel_domain_new(struct iopf_channel *ch, enum iopf_domain_type type,
			    struct iopf_domain **out);

/**
 * iopf_channel_fd() - the channel's pollable file descriptor
 * @ch: the channel
 *
 * The descriptor polls readable (POLLIN) exactly while a group waits to be
 * read; groups read but not answered do not make it readable. It belongs to
 * the channel: poll it, never read, write or close it.
 *
 * Context: any thread.
 * Return: the descriptor, or -EINVAL if @ch is NULL.
 */
int iopf_channel_fd(const struct iopf_channel *ch);

/**
 * iopf_channel_read() - read waiting groups as struct iopf_user_fault records
 * @ch: the channel
 * @buf: where the records go
 * @count: size of @buf in bytes, a multiple of sizeof(struct iopf_user_fault)
 *
 * Takes whole groups from the head of the waiting list while they fit, gives
 * each a cookie and keeps it until it is answered. Never blocks on an empty
 * channel: poll iopf_channel_fd() to wait.
 *
 * Context: any thread, not from a handler.
 * Return: the bytes stored (0: nothing waits, or the first group does not
 * fit), -EINVAL (NULL @ch), -ESPIPE (bad @count), -EFAULT (NULL @buf with a
 * non-zero @count), or -ENOMEM when no cookie could be allocated for the
 * first group (the group stays waiting).
 */
ssize_t iopf_channel_read(struct iopf_channel *ch, void *buf, size_t count);

/**
 * iopf_channel_write() - answer groups with struct iopf_user_response records
 * @ch: the channel
 * @buf: the records
 * @count: size of @buf in bytes, a multiple of sizeof(struct iopf_user_response)
 *
 * Each record answers the group of its cookie with its code (sent to the
 * device with the group's last-page request) and releases the cookie.
 *
 * Context: any thread, not from a handler.
 * Return: the bytes consumed, which stop before the first bad record;
 * -EINVAL (NULL @ch, or the first record has an unknown or used cookie or a
 * code other than SUCCESS and INVALID), -ESPIPE (bad @count) or -EFAULT
 * (NULL @buf with a non-zero @count).
 */
ssize_t iopf_channel_write(struct iopf_channel *ch, const void *buf,
			   size_t count);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_CHANNEL_H */
