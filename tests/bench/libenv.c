// SPDX-License-Identifier: MIT
/*
 * iopf-bench: the libiopf setup shared by the inline, threaded and scale
 * cases, and their handlers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libenv.h"

/* The backend: a response goes straight to the device model. */
static void bench_page_response(struct iopf_device *dev,
				const struct iopf_fault *evt,
				const struct iopf_page_response *msg)
{
	(void)msg;
	bench_port_answer(iopf_device_drvdata(dev), evt->prm.private_data[0]);
}

int bench_answer_now(struct iopf_group *group)
{
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
	return 0;
}

static void answer_work(struct iopf_group *group)
{
	iopf_group_response(group, IOPF_PAGE_RESP_SUCCESS);
	iopf_free_group(group);
}

int bench_answer_later(struct iopf_group *group)
{
	return iopf_queue_work(group, answer_work);
}

static void env_device(struct lib_env *env, unsigned int i, uint32_t max_pasids,
		       uint32_t pasid, void *drvdata)
{
	struct iopf_device_attr attr = {
		.size = sizeof(attr),
		.id = BENCH_RID(i),
		.max_pasids = max_pasids,
		.name = "bench",
		.drvdata = drvdata,
	};
	struct iopf_device *dev;
	int ret;

	ret = iopf_device_new(env->iommu, &attr, &dev);
	if (!ret)
		ret = iopf_queue_add_device(env->queue, dev);
	if (!ret && pasid == IOPF_NO_PASID)
		ret = iopf_attach_device(env->domain, dev, &env->handles[i]);
	else if (!ret)
		ret = iopf_attach_device_pasid(env->domain, dev, pasid,
					       &env->handles[i]);
	if (ret)
		bench_die("device setup", ret);
	env->devs[i] = dev;
}

void lib_env_new(struct lib_env *env, unsigned int nr_workers,
		 unsigned int nr_devs, uint32_t max_pasids, uint32_t pasid,
		 iopf_handler_t handler, struct bench_port *ports,
		 bool shared_port)
{
	lib_env_new_queue(env, nr_workers, 0, nr_devs, max_pasids, pasid,
			  handler, ports, shared_port);
}

void lib_env_new_queue(struct lib_env *env, unsigned int nr_workers,
		       uint32_t queue_flags, unsigned int nr_devs,
		       uint32_t max_pasids, uint32_t pasid,
		       iopf_handler_t handler, struct bench_port *ports,
		       bool shared_port)
{
	struct iopf_iommu_ops ops = {
		.size = sizeof(ops),
		.page_response = bench_page_response,
	};
	struct iopf_queue_attr qattr = {
		.size = sizeof(qattr),
		.nr_workers = nr_workers,
		.flags = queue_flags,
	};
	int ret;

	env->nr_devs = nr_devs;
	env->devs = calloc(nr_devs, sizeof(*env->devs));
	env->handles = calloc(nr_devs, sizeof(*env->handles));
	if (!env->devs || !env->handles)
		bench_die("calloc", 12);
	ret = iopf_ctx_new(&env->ctx);
	if (!ret)
		ret = iopf_iommu_new(env->ctx, "bench", &ops, NULL,
				     &env->iommu);
	if (!ret)
		ret = iopf_queue_alloc(env->ctx, "bench", &qattr, &env->queue);
	if (!ret)
		ret = iopf_domain_new(env->ctx, IOPF_DOMAIN_SVA, handler, NULL,
				      &env->domain);
	if (ret)
		bench_die("libiopf setup", ret);
	for (unsigned int i = 0; i < nr_devs; i++)
		env_device(env, i, max_pasids, pasid,
			   shared_port ? &ports[0] : &ports[i]);
}

void lib_env_free(struct lib_env *env)
{
	iopf_ctx_free(env->ctx);
	free(env->devs);
	free(env->handles);
}
