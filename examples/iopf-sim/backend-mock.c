// SPDX-License-Identifier: MIT
/*
 * The mock backend: "iommu NAME mock [user_pasid_table]". Its
 * page_response only records, so every response shows in the trace as
 * the core sent it.
 */
#include "sim.h"

static int mock_create(struct sim *sim, struct sim_obj *obj,
		       struct sim_args *args)
{
	bool upt = sim_flag(args, "user_pasid_table");
	struct iopf_mock *mock;
	int ret;

	ret = iopf_mock_new(sim->ctx, obj->name, upt, &mock);
	if (!ret)
		obj->ptr = mock;
	return ret;
}

static struct iopf_iommu *mock_iommu(struct sim_obj *obj)
{
	return iopf_mock_iommu(obj->ptr);
}

const struct sim_backend sim_backend_mock = {
	.name = "mock",
	.create = mock_create,
	.iommu = mock_iommu,
};
