/* SPDX-License-Identifier: MIT */
/*
 * libiopf - a userspace model of the Linux IO page fault framework.
 *
 * The umbrella header: include it to get the whole public API.
 * See README.md for an overview and each header for its thread-safety rules.
 */
#ifndef IOPF_IOPF_H
#define IOPF_IOPF_H

#include <iopf/fault.h>
#include <iopf/iommu.h>
#include <iopf/domain.h>
#include <iopf/queue.h>
#include <iopf/mock.h>
#include <iopf/trace.h>
#include <iopf/testing.h>
#include <iopf/trace-format.h>
#include <iopf/sva.h>
#include <iopf/channel.h>

#endif /* IOPF_IOPF_H */
