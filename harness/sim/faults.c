/* The faults a simulated run injects: a crash of the whole store (with,
 * in campaigns, the loss of a mailbox's log), the death of one client,
 * drawn in campaigns, at decide()'s points in scripted runs. */
#include "sim_private.h"
#include "rs_session.h"
#include "rs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Half the crashes tear the unsynced appended bytes (a random prefix
 * survives) rather than drop them whole. */
#define CRASH_TEARS RT_RATIO(1, 2)

void rt_sim_kill_client(sim *s, sim_client *cl, bool record)
{
	if (cl->dead)
		return;
	cl->dead = true;
	rt_sim_pid_dies(s, cl->pid);
	if (cl->session != NULL)
		rs_session_kill(cl->session); /* what it is in the middle of is lost */
	if (record)
		rt_sim_record_fault(s, MODEL_FAULT_KILL, cl->id, NULL);
}

/* The whole store crashes (tear: rs_memfs_crash's) and every client with
 * it; in a replicated run, the replica the call was on and its clients
 * (the sync agent lives apart: it only loses its handles there). */
static void crash_store(sim *s, uint64_t tear)
{
	uint32_t r = s->call_replica;
	rs_memfs_crash(rt_sim_fs(s, r), tear);
	rt_sim_record_fault(s, MODEL_FAULT_CRASH, 0, NULL);
	for (unsigned i = 0; i < s->ncl; i++)
		if (!s->cl[i].agent && s->cl[i].replica == r)
			rt_sim_kill_client(s, &s->cl[i], false);
	if (s->auditor.replica == r)
		rt_sim_kill_client(s, &s->auditor, false);
	if (s->nrep > 0)
		rt_sim_repl_crashed(s, r);
}

/* Everything is down: an administrator loses mailbox box's log. */
static void lose_log(sim *s, int box)
{
	assert(box >= 0 && box < s->work.mix.boxes);
	assert(s->nrep == 0); /* replicated runs keep their logs (no full sync) */
	char *dir = rs_namespace_mailbox_path(s->root, s->work.boxes[box]);
	char *log = cm_xmalloc(strlen(dir) + 16);
	sprintf(log, "%s/ratchet-log", dir);
	sim_client *saved = s->cur;
	s->cur = NULL;
	s->fs->ops->unlink(s->fs, log);
	s->fs->ops->fsync_dir(s->fs, dir);
	s->cur = saved;
	free(log);
	free(dir);
	rt_sim_record_fault(s, MODEL_FAULT_INDEX_LOSS, 0, s->work.boxes[box]);
}

void rt_sim_crash(sim *s)
{
	crash_store(s, rt_choice_chance(s->ch, CRASH_TEARS)
			       ? 1 + rt_choice_below(s->ch, 1u << 30) : 0);
	if (rt_choice_chance(s->ch, s->cfg.p_index_loss))
		lose_log(s, (int)rt_choice_below(s->ch, (uint64_t)s->work.mix.boxes));
}

/* A scripted run's fault point before cl's call: decide() says whether a
 * fault it may still inject happens here. A crash drops every unsynced
 * byte (no torn prefix: a schedule names no random length). true when cl
 * died. */
bool rt_sim_fault_point(sim *s, sim_client *cl, rs_fs_call call, const char *path)
{
	const rt_script *sc = s->script;
	bool may_kill = (sc->killable >> cl->id & 1u) && !(s->killed >> cl->id & 1u);
	if (call == RS_FS_SLEEP || (s->crashes_left == 0 && !may_kill))
		return false;
	rt_script_point at = {.ran = cl->id, .call = (int)call,
			      .path = path ? path : "", .fault = true};
	at.cand[0] = cl->id;
	uint64_t n = 1;
	if (s->crashes_left > 0)
		at.fault_kind[n++] = RT_FAULT_CRASH;
	if (may_kill)
		at.fault_kind[n++] = RT_FAULT_KILL;
	for (uint64_t i = 1; i < n; i++)
		at.cand[i] = cl->id;
	s->res->decisions++;
	uint64_t v = sc->decide(sc->ctx, n, &at);
	assert(v < n);
	if (at.fault_kind[v] == RT_FAULT_CRASH) {
		s->crashes_left--;
		crash_store(s, 0);
		if (sc->lose_log_box >= 0)
			lose_log(s, sc->lose_log_box);
	} else if (at.fault_kind[v] == RT_FAULT_KILL) {
		s->killed |= 1u << cl->id;
		rt_sim_kill_client(s, cl, true);
	}
	return cl->dead;
}
