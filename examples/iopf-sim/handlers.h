/* SPDX-License-Identifier: MIT */
/*
 * iopf-sim: domains with scripted fault handlers (handler=...), and the
 * groups a "hold" handler keeps until the scenario answers them.
 */
#ifndef IOPF_SIM_HANDLERS_H
#define IOPF_SIM_HANDLERS_H

#include "sim.h"

int sim_domain_type(struct sim *sim, const char *s, enum iopf_domain_type *out);
int sim_handler_domain_new(struct sim *sim, struct sim_obj *obj,
			   enum iopf_domain_type type, const char *handler);
/* Groups a domain holds, or -1 if it is not a scripted domain. */
long sim_domain_held(struct sim_obj *obj);

extern const struct sim_cmd sim_handler_cmds[];

#endif /* IOPF_SIM_HANDLERS_H */
