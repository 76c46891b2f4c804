/* SPDX-License-Identifier: MIT */
#ifndef IOPF_CORE_EXPORT_H
#define IOPF_CORE_EXPORT_H

/* Marks a definition as part of the public ABI (see lib/libiopf.map). */
#define IOPF_EXPORT __attribute__((visibility("default")))

#endif
