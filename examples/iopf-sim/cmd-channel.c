// SPDX-License-Identifier: MIT
/*
 * Commands of the user fault channel (<iopf/channel.h>, the iommufd fault
 * object): the scenario plays the VMM, reading groups and writing answers.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <iopf/channel.h>

#include "handlers.h"
#include "sim.h"

#define READ_MAX 64 /* records one read asks for at most */

/* Cookies read and not yet answered, oldest first. */
struct sim_channel {
	uint32_t cookies[READ_MAX * 4];
	size_t nr;
};

static void channel_release(struct sim *sim, struct sim_obj *obj)
{
	(void)sim;
	free(obj->data);
	obj->data = NULL;
}

/* channel NAME */
static int cmd_channel(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	struct iopf_channel *ch;
	struct sim_channel *sc;
	struct sim_obj *o;
	int ret;

	if (!name || sim_done(sim, args) ||
	    !(o = sim_add(sim, SIM_CHANNEL, name)))
		return -1;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return sim_error(sim, "out of memory");
	ret = iopf_channel_new(sim->ctx, &ch);
	if (ret) {
		free(sc);
		o->dead = true;
		return sim_result(sim, ret);
	}
	o->ptr = ch;
	o->data = sc;
	o->release = channel_release;
	return sim_result(sim, 0);
}

/* channel_domain NAME CHANNEL [type=paging|nested] */
static int cmd_channel_domain(struct sim *sim, struct sim_args *args)
{
	const char *name = sim_pos(sim, args, 0, "name");
	struct sim_obj *ch = name ? sim_get(sim, SIM_CHANNEL,
					    sim_pos(sim, args, 1, "channel")) :
				    NULL;
	enum iopf_domain_type type = IOPF_DOMAIN_PAGING;
	struct iopf_domain *dom;
	const char *t;
	struct sim_obj *o;
	int ret;

	if (!ch)
		return -1;
	t = sim_opt(args, "type");
	if ((t && sim_domain_type(sim, t, &type)) || sim_done(sim, args) ||
	    !(o = sim_add(sim, SIM_DOMAIN, name)))
		return -1;
	ret = iopf_channel_domain_new(ch->ptr, type, &dom);
	if (ret)
		o->dead = true;
	else
		o->ptr = dom;
	return sim_result(sim, ret);
}

/* channel_free CHANNEL */
static int cmd_channel_free(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *ch =
		sim_get(sim, SIM_CHANNEL, sim_pos(sim, args, 0, "channel"));
	int ret;

	if (!ch || sim_done(sim, args))
		return -1;
	ret = iopf_channel_free(ch->ptr);
	if (!ret) {
		channel_release(sim, ch);
		ch->release = NULL;
		ch->dead = true;
	}
	return sim_result(sim, ret);
}

static void remember(struct sim_channel *sc, uint32_t cookie)
{
	for (size_t i = 0; i < sc->nr; i++)
		if (sc->cookies[i] == cookie)
			return;
	if (sc->nr < sizeof(sc->cookies) / sizeof(sc->cookies[0]))
		sc->cookies[sc->nr++] = cookie;
}

static void forget(struct sim_channel *sc, uint32_t cookie)
{
	for (size_t i = 0; i < sc->nr; i++) {
		if (sc->cookies[i] == cookie) {
			memmove(sc->cookies + i, sc->cookies + i + 1,
				(sc->nr - i - 1) * sizeof(sc->cookies[0]));
			sc->nr--;
			return;
		}
	}
}

/*
 * read CHANNEL [records=N] [bytes=N]: read what fits (64 records by
 * default); bytes= asks for an exact byte count, to show -ESPIPE and the
 * "group does not fit" rule.
 */
static int cmd_read(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *ch =
		sim_get(sim, SIM_CHANNEL, sim_pos(sim, args, 0, "channel"));
	struct iopf_user_fault buf[READ_MAX];
	uint32_t records = READ_MAX, bytes;
	struct sim_channel *sc;
	ssize_t n;

	if (!ch || sim_opt_u32(sim, args, "records", &records))
		return -1;
	if (records > READ_MAX)
		return sim_error(sim, "read: at most %d records", READ_MAX);
	bytes = records * (uint32_t)sizeof(buf[0]);
	if (sim_opt_u32(sim, args, "bytes", &bytes) || sim_done(sim, args))
		return -1;
	if (bytes > sizeof(buf))
		return sim_error(sim, "read: at most %zu bytes", sizeof(buf));
	sc = ch->data;
	n = iopf_channel_read(ch->ptr, buf, bytes);
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(buf[0]); i++)
		remember(sc, buf[i].cookie);
	return sim_result(sim, (long)n);
}

/*
 * respond CHANNEL code=CODE [cookie=N]: write one answer, or by default one
 * per group read and not yet answered, oldest first, in a single write.
 */
static int cmd_respond(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *ch =
		sim_get(sim, SIM_CHANNEL, sim_pos(sim, args, 0, "channel"));
	struct iopf_user_response
		resp[sizeof(((struct sim_channel *)0)->cookies) /
		     sizeof(uint32_t)];
	struct sim_channel *sc;
	const char *c, *k;
	uint32_t code, cookie;
	size_t nr = 0;
	ssize_t n;

	if (!ch)
		return -1;
	sc = ch->data;
	c = sim_opt(args, "code");
	if (!c)
		return sim_error(sim, "respond: missing code=");
	if (sim_code(sim, c, &code))
		return -1;
	k = sim_opt(args, "cookie");
	if (k) {
		if (sim_u32(sim, k, "cookie", &cookie))
			return -1;
		resp[nr++] = (struct iopf_user_response){ .cookie = cookie,
							  .code = code };
	} else {
		for (size_t i = 0; i < sc->nr; i++)
			resp[nr++] = (struct iopf_user_response){
				.cookie = sc->cookies[i], .code = code
			};
	}
	if (sim_done(sim, args))
		return -1;
	n = iopf_channel_write(ch->ptr, resp, nr * sizeof(resp[0]));
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(resp[0]); i++)
		forget(sc, resp[i].cookie);
	return sim_result(sim, (long)n);
}

/* expect readable CHANNEL yes|no: whether poll() reports POLLIN */
int sim_expect_readable(struct sim *sim, struct sim_args *args)
{
	struct sim_obj *ch =
		sim_get(sim, SIM_CHANNEL, sim_pos(sim, args, 1, "channel"));
	const char *want = ch ? sim_pos(sim, args, 2, "yes|no") : NULL;
	struct pollfd pfd = { .events = POLLIN };
	bool readable;

	if (!want || sim_done(sim, args))
		return -1;
	if (strcmp(want, "yes") && strcmp(want, "no"))
		return sim_error(sim, "expect readable: '%s' is not yes or no",
				 want);
	pfd.fd = iopf_channel_fd(ch->ptr);
	readable =
		pfd.fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
	if (readable != !strcmp(want, "yes"))
		return sim_error(sim,
				 "expect failed: channel '%s' is %sreadable",
				 ch->name, readable ? "" : "not ");
	return 0;
}

const struct sim_cmd sim_channel_cmds[] = {
	{ "channel", cmd_channel, false },
	{ "channel_domain", cmd_channel_domain, false },
	{ "channel_free", cmd_channel_free, false },
	{ "read", cmd_read, false },
	{ "respond", cmd_respond, false },
	{ NULL, NULL, false },
};
