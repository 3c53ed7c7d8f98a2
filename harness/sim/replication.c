/* A replicated run (docs/replication.md): two replicas of the store, each
 * on its own in-memory file system, the clients split between them, and
 * the sync agent (reference-store/replica) as one more coroutine. At each
 * of its turns the agent syncs a mailbox drawn from the run's mailboxes,
 * or the link between the replicas goes down or comes back; a sync over a
 * link that is down fails at once. Before every checkpoint the link comes
 * back and every mailbox is synced, so that the checkpoint's audits of
 * the replicas must agree (REPL-CONVERGE). */
#include "sim_private.h"

#include <assert.h>
#include <string.h>

rs_fs *rt_sim_fs(sim *s, uint32_t replica)
{
	assert(replica <= s->nrep);
	return s->nrep > 0 ? s->rfs[CM_MAX(replica, 1u)] : s->fs;
}

void rt_sim_store_options(const sim *s, uint32_t replica, uint32_t pid, rs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->pid = pid;
	o->mutants = s->cfg.mutants;
	o->log_rotate_bytes = s->cfg.log_rotate_bytes;
	if (s->nrep > 0)
		rs_repl_store_options(s->nrep, CM_MAX(replica, 1u), s->cfg.mutants, o);
}

int rt_sim_repl_open(sim *s)
{
	assert(s->nrep >= 2 && s->nrep <= RT_REPLICAS_MAX);
	rs_repl_options o = {.replicas = s->nrep, .mutants = s->cfg.mutants,
			     .log_rotate_bytes = s->cfg.log_rotate_bytes};
	for (uint32_t r = 1; r <= s->nrep; r++) {
		o.fs[r] = s->rfs[r];
		o.root[r] = s->root;
	}
	for (uint32_t r = 1; r <= s->nrep; r++)
		o.pid[r] = s->agent_pid[r] = rt_sim_new_pid(s);
	s->agent = rs_repl_new(&o);
	return 0;
}

void rt_sim_close_stores(sim *s)
{
	if (s->nrep == 0) {
		rs_fs_destroy(s->fs);
		return;
	}
	rs_repl_free(s->agent); /* its handles, before their file systems */
	s->agent = NULL;
	for (uint32_t r = 1; r <= s->nrep; r++)
		rs_fs_destroy(s->rfs[r]);
}

static void record_link(sim *s, bool down)
{
	s->link_down = down;
	uint32_t saved = s->call_replica;
	s->call_replica = 1;
	rt_sim_record_fault(s, down ? MODEL_FAULT_PARTITION : MODEL_FAULT_HEAL, 0, NULL);
	s->call_replica = saved;
}

bool rt_sim_repl_next(sim *s, sim_client *agent, model_op *op)
{
	(void)agent;
	if (rt_choice_chance(s->ch, s->cfg.p_partition)) {
		record_link(s, !s->link_down);
		return false;
	}
	model_op_init(op, MODEL_OP_SYNC);
	int box = (int)rt_choice_below(s->ch, (uint64_t)s->work.mix.boxes);
	snprintf(op->mailbox, sizeof(op->mailbox), "%s", s->work.boxes[box]);
	op->replica = 1;
	op->peer = 2;
	op->opaque = true; /* its writes are not ops of their own */
	return true;
}

void rt_sim_repl_exec(sim *s, const model_op *op, model_result *res)
{
	assert(op->kind == MODEL_OP_SYNC && s->agent != NULL);
	if (s->link_down) {
		res->status = MODEL_REPLY_NO;
		snprintf(res->text, sizeof(res->text), "the link between the replicas is down");
		return;
	}
	/* A replica that crashed during the agent's last sync is back. */
	memset(s->agent_cut, 0, sizeof(s->agent_cut));
	rs_repl_stats st;
	memset(&st, 0, sizeof(st));
	const char *why = "";
	rs_err err = rs_repl_sync(s->agent, op->mailbox, op->replica, op->peer, &st, &why);
	s->res->syncs++;
	s->res->fixups += st.fixups;
	s->res->conflicts += st.conflicts;
	if (err == RS_OK) {
		res->status = MODEL_REPLY_OK;
		return;
	}
	s->res->syncs_failed++;
	/* A replica's store failed under it (a crash, a fault): some of its
	 * changes may have been applied. */
	res->status = err == RS_ECORRUPT || err == RS_EINVAL ? MODEL_REPLY_NO
							     : MODEL_REPLY_UNKNOWN;
	snprintf(res->text, sizeof(res->text), "%s: %s", rs_strerror(err), why);
}

void rt_sim_repl_quiesce(sim *s, sim_client *agent,
			 void (*run)(sim *, sim_client *, const model_op *))
{
	if (s->link_down)
		record_link(s, false);
	for (int b = 0; b < s->work.mix.boxes; b++) {
		model_op op;
		model_op_init(&op, MODEL_OP_SYNC);
		snprintf(op.mailbox, sizeof(op.mailbox), "%s", s->work.boxes[b]);
		op.replica = 1;
		op.peer = 2;
		op.opaque = true;
		run(s, agent, &op);
		model_op_free(&op);
	}
}

void rt_sim_repl_setup(sim *s, void (*run)(sim *, sim_client *, const model_op *))
{
	sim_client setup = {.sim = s, .agent = true, .pend_call = -1};
	setup.id = s->auditor.id + 1;
	rt_client_state_reset(&setup.known);
	rt_sim_repl_quiesce(s, &setup, run);
	rt_client_state_free(&setup.known);
}

void rt_sim_repl_crashed(sim *s, uint32_t replica)
{
	assert(replica >= 1 && replica <= s->nrep && s->agent != NULL);
	/* Its connection to the replica broke: every call it makes there
	 * fails until this sync ends; its locks there died with it. */
	s->agent_cut[replica] = true;
	rt_sim_pid_dies(s, s->agent_pid[replica]);
	s->agent_pid[replica] = rt_sim_new_pid(s);
	rs_repl_crashed(s->agent, replica, s->agent_pid[replica]);
}
