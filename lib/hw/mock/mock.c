// SPDX-License-Identifier: MIT
/*
 * The mock IOMMU: a backend whose page_response records what it is given.
 *
 * The kernel's selftest mock driver ignores responses; tests of fault
 * routing need to see them, so this one keeps every response in order and
 * lets a threaded test wait for a count.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <iopf/mock.h>

#include "iommu-priv.h"

struct iopf_mock {
	struct iopf_ctx_member member;
	struct iopf_ctx *ctx;
	struct iopf_iommu *iommu;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct iopf_mock_response *log;
	size_t count;
	size_t cap;
};

/* Called with the device's fault-param lock held: only touch our own lock. */
static void mock_page_response(struct iopf_device *dev,
			       const struct iopf_fault *evt,
			       const struct iopf_page_response *msg)
{
	struct iopf_mock *mock = iopf_iommu_drvdata(iopf_device_iommu(dev));
	struct iopf_mock_response *log;

	pthread_mutex_lock(&mock->lock);
	if (mock->count == mock->cap) {
		size_t cap = mock->cap ? mock->cap * 2 : 64;

		log = iopf_calloc(cap, sizeof(*log));
		if (!log) {
			/* Recording is best effort; the response itself happened. */
			pthread_mutex_unlock(&mock->lock);
			return;
		}
		if (mock->count)
			memcpy(log, mock->log, mock->count * sizeof(*log));
		iopf_mfree(mock->log);
		mock->log = log;
		mock->cap = cap;
	}
	log = &mock->log[mock->count++];
	log->dev_id = iopf_device_id(dev);
	log->evt = *evt;
	log->msg = *msg;
	pthread_cond_broadcast(&mock->cond);
	pthread_mutex_unlock(&mock->lock);
}

static void mock_destroy(struct iopf_ctx_member *member)
{
	struct iopf_mock *mock = container_of(member, struct iopf_mock, member);

	iopf_iommu_free(mock->iommu);
	pthread_cond_destroy(&mock->cond);
	pthread_mutex_destroy(&mock->lock);
	iopf_mfree(mock->log);
	iopf_mfree(mock);
}

IOPF_EXPORT int iopf_mock_new(struct iopf_ctx *ctx, const char *name,
			      bool user_pasid_table, struct iopf_mock **out)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = mock_page_response,
		.user_pasid_table = user_pasid_table,
	};
	struct iopf_mock *mock;
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	mock = iopf_zalloc(sizeof(*mock));
	if (!mock)
		return -ENOMEM;
	ret = iopf_iommu_new(ctx, name ? name : "mock", &ops, mock,
			     &mock->iommu);
	if (ret) {
		iopf_mfree(mock);
		return ret;
	}
	mock->ctx = ctx;
	pthread_mutex_init(&mock->lock, NULL);
	pthread_cond_init(&mock->cond, NULL);
	/* Linked after its IOMMU, so torn down before it. */
	iopf_ctx_link(ctx, &mock->member, mock_destroy);
	*out = mock;
	return 0;
}

IOPF_EXPORT void iopf_mock_free(struct iopf_mock *mock)
{
	if (!mock)
		return;
	iopf_ctx_unlink(mock->ctx, &mock->member);
	mock_destroy(&mock->member);
}

IOPF_EXPORT struct iopf_iommu *iopf_mock_iommu(struct iopf_mock *mock)
{
	return mock ? mock->iommu : NULL;
}

IOPF_EXPORT size_t iopf_mock_response_count(struct iopf_mock *mock)
{
	size_t count;

	if (!mock)
		return 0;
	pthread_mutex_lock(&mock->lock);
	count = mock->count;
	pthread_mutex_unlock(&mock->lock);
	return count;
}

IOPF_EXPORT int iopf_mock_response_at(struct iopf_mock *mock, size_t i,
				      struct iopf_mock_response *out)
{
	int ret = 0;

	if (!mock || !out)
		return -EINVAL;
	pthread_mutex_lock(&mock->lock);
	if (i >= mock->count)
		ret = -ERANGE;
	else
		*out = mock->log[i];
	pthread_mutex_unlock(&mock->lock);
	return ret;
}

IOPF_EXPORT int iopf_mock_wait_responses(struct iopf_mock *mock, size_t count,
					 unsigned int timeout_ms)
{
	struct timespec deadline;
	int ret = 0;

	if (!mock)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mock->lock);
	while (mock->count < count && !ret)
		ret = pthread_cond_timedwait(&mock->cond, &mock->lock,
					     &deadline);
	if (mock->count >= count)
		ret = 0;
	pthread_mutex_unlock(&mock->lock);
	return ret ? -ETIMEDOUT : 0;
}

IOPF_EXPORT void iopf_mock_reset(struct iopf_mock *mock)
{
	if (!mock)
		return;
	pthread_mutex_lock(&mock->lock);
	mock->count = 0;
	pthread_mutex_unlock(&mock->lock);
}
