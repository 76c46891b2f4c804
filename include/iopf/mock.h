/* SPDX-License-Identifier: MIT */
/*
 * libiopf - the mock IOMMU backend, for unit tests.
 *
 * A mock is an IOMMU whose page_response records every response it is
 * given, so a test can assert which group got which code, in which order.
 *
 * Thread safety: every function may be called from any thread; the record
 * is protected by the mock's own lock.
 */
#ifndef IOPF_MOCK_H
#define IOPF_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iopf/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iopf_ctx;
struct iopf_iommu;
struct iopf_mock;

/**
 * struct iopf_mock_response - one recorded response
 * @dev_id: iopf_device_id() of the device it was sent to
 * @evt: the fault passed to page_response (the group's last fault)
 * @msg: what was sent
 */
struct iopf_mock_response {
	uint32_t dev_id;
	struct iopf_fault evt;
	struct iopf_page_response msg;
};

/**
 * iopf_mock_new() - create a mock IOMMU
 * @ctx: the context
 * @name: the IOMMU's name (copied), or NULL
 * @user_pasid_table: sets iopf_iommu_ops.user_pasid_table
 * @out: the new mock; untouched on failure
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL @ctx or @out) or -ENOMEM.
 */
int iopf_mock_new(struct iopf_ctx *ctx, const char *name, bool user_pasid_table,
		  struct iopf_mock **out);

/**
 * iopf_mock_free() - free a mock and its IOMMU (with the devices on it)
 * @mock: the mock, or NULL
 *
 * Context: as iopf_iommu_free().
 */
void iopf_mock_free(struct iopf_mock *mock);

/**
 * iopf_mock_iommu() - the IOMMU of a mock
 * @mock: the mock
 *
 * Context: any thread.
 * Return: the IOMMU, or NULL if @mock is NULL.
 */
struct iopf_iommu *iopf_mock_iommu(struct iopf_mock *mock);

/**
 * iopf_mock_response_count() - how many responses were recorded
 * @mock: the mock
 *
 * Context: any thread.
 * Return: the count, 0 if @mock is NULL.
 */
size_t iopf_mock_response_count(struct iopf_mock *mock);

/**
 * iopf_mock_response_at() - read a recorded response
 * @mock: the mock
 * @i: index, in the order the responses were sent
 * @out: where the response is copied
 *
 * Context: any thread.
 * Return: 0, -EINVAL (NULL argument), -ERANGE past the last response.
 */
int iopf_mock_response_at(struct iopf_mock *mock, size_t i,
			  struct iopf_mock_response *out);

/**
 * iopf_mock_wait_responses() - wait until enough responses were recorded
 * @mock: the mock
 * @count: the number to wait for
 * @timeout_ms: how long to wait at most
 *
 * It never runs a manual-mode queue itself.
 *
 * Context: any thread, not from a handler or a work function.
 * Return: 0 once @count responses were recorded, -ETIMEDOUT otherwise,
 * -EINVAL if @mock is NULL.
 */
int iopf_mock_wait_responses(struct iopf_mock *mock, size_t count,
			     unsigned int timeout_ms);

/**
 * iopf_mock_reset() - forget the recorded responses
 * @mock: the mock, or NULL
 *
 * Context: any thread.
 */
void iopf_mock_reset(struct iopf_mock *mock);

#ifdef __cplusplus
}
#endif

#endif /* IOPF_MOCK_H */
