/* The deterministic simulator: N virtual IMAP clients and a local delivery
 * agent as coroutines in one thread, against the reference store on the
 * in-memory file system. The file system's yield hook runs before every
 * file-system call; there the choice source decides whether to switch to
 * another client (so a delivery's steps interleave with a MOVE's), and
 * whether to inject a fault: a crash of the whole store, the death of one
 * client (leaving its lock behind), ENOSPC, a failed rename, and, with a
 * crash, the loss of a mailbox's log. Every op is recorded as invoke and
 * completion events and judged online by the checker. */
#include "sim_private.h"
#include "workload.h"
#include "rs_session.h"
#include "rs.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PID_BASE 1000u
#define STACK_SIZE (256u * 1024u)



/* ---- pids ---- */

static uint32_t new_pid(sim *s)
{
	uint32_t pid = s->next_pid++;
	size_t idx = pid - PID_BASE;
	if (idx >= s->npids) {
		size_t old = s->npids;
		CM_GROW(s->dead_pids, s->npids, idx + 1);
		memset(s->dead_pids + old, 0, (s->npids - old) * sizeof(*s->dead_pids));
	}
	return pid;
}

uint32_t rt_sim_new_pid(sim *s)
{
	return new_pid(s);
}

void rt_sim_pid_dies(sim *s, uint32_t pid)
{
	if (pid >= PID_BASE && pid - PID_BASE < s->npids)
		s->dead_pids[pid - PID_BASE] = true;
}

static int pid_alive(void *ctx, uint32_t pid)
{
	sim *s = ctx;
	if (pid < PID_BASE || pid - PID_BASE >= s->npids)
		return pid < PID_BASE ? -1 : 1;
	return s->dead_pids[pid - PID_BASE] ? 0 : 1;
}

/* ---- recording ---- */

static void emit(sim *s, model_event *ev)
{
	ev->t_ns = ++s->t;
	s->res->events++;
	if (s->checker != NULL)
		model_checker_feed(s->checker, ev);
	if (s->hooks != NULL && s->hooks->on_event != NULL)
		s->hooks->on_event(s->hooks->ctx, ev);
}

static uint64_t record_invoke(sim *s, uint32_t client, const model_op *op)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	ev.client = client;
	ev.op_id = ++s->op_id;
	ev.op = *op; /* shallow: emit only reads it */
	emit(s, &ev);
	s->res->ops++;
	return ev.op_id;
}

static void record_completion(sim *s, uint32_t client, uint64_t op_id,
			      const model_op *op, model_result *res, bool lost)
{
	model_event ev;
	model_event_init(&ev);
	ev.client = client;
	ev.op_id = op_id;
	ev.op = *op;
	if (lost || res->status == MODEL_REPLY_UNKNOWN) {
		ev.type = MODEL_EV_INFO;
		res->status = MODEL_REPLY_UNKNOWN;
		if (lost)
			snprintf(res->text, sizeof(res->text), "connection lost");
	} else {
		ev.type = res->status == MODEL_REPLY_OK ? MODEL_EV_OK : MODEL_EV_FAIL;
	}
	ev.res = *res; /* shallow: emit only reads it */
	if (lost)
		ev.res.nut = 0; /* a dead client heard nothing */
	emit(s, &ev);
	if (lost) {
		/* Nor does its client state learn anything. */
		model_result_clear(res);
		res->status = MODEL_REPLY_UNKNOWN;
	}
}

void rt_sim_record_fault(sim *s, model_fault f, uint32_t client, const char *mailbox)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INFO;
	ev.client = 0;
	ev.op_id = ++s->op_id;
	ev.op.kind = MODEL_OP_FAULT;
	ev.op.fault = f;
	ev.op.fault_client = client;
	if (s->nrep > 0) {
		/* A replica's fault names it; the link's names both ends. */
		ev.op.replica = s->call_replica;
		if (f == MODEL_FAULT_PARTITION || f == MODEL_FAULT_HEAL)
			ev.op.peer = 2;
	}
	if (mailbox != NULL)
		snprintf(ev.op.mailbox, sizeof(ev.op.mailbox), "%s", mailbox);
	ev.res.status = MODEL_REPLY_UNKNOWN;
	emit(s, &ev);
	s->res->faults[f]++;
}

/* ---- faults ---- */

static bool quota_call(rs_fs_call call)
{
	return call == RS_FS_WRITE || call == RS_FS_LINK || call == RS_FS_RENAME;
}

static void switch_away(sim *s)
{
	sim_client *cl = s->cur;
	s->res->switches++;
	rt_coro_yield();
	s->cur = cl;
}

/* Does the call touch only what no other client of a scripted run can
 * see or change (docs/explore.md)? Reads through a descriptor of a message
 * file (published files never change; an open descriptor keeps the inode
 * whatever others unlink), and anything but a link or rename on a file in
 * tmp/ or on a lock's private file (one writer's own until linked or
 * renamed into place; others only list tmp/ and remove dead pids' files,
 * and nobody dies in a scripted run). Moving a preemption from before
 * such a call to after it changes no other client's view. */
static bool invisible_call(rs_fs_call call, const char *path)
{
	if (call == RS_FS_LINK || call == RS_FS_RENAME || call == RS_FS_LIST ||
	    call == RS_FS_SLEEP || call == RS_FS_MKDIR || call == RS_FS_RMDIR ||
	    call == RS_FS_FSYNC_DIR || path == NULL)
		return false;
	const char *base = strrchr(path, '/');
	if (base == NULL || base == path)
		return false;
	size_t dirlen = (size_t)(base - path);
	bool in_tmp = dirlen >= 4 && memcmp(base - 4, "/tmp", 4) == 0;
	bool lock_private = strstr(base, ".lock.P") != NULL;
	if (in_tmp || lock_private)
		return true;
	bool message = dirlen >= 4 && (memcmp(base - 4, "/new", 4) == 0 ||
				       memcmp(base - 4, "/cur", 4) == 0);
	return message && (call == RS_FS_READ || call == RS_FS_FSTAT ||
			   call == RS_FS_CLOSE);
}

static int hook(void *ctx, rs_fs_call call, const char *path)
{
	struct sim_fs_ctx *fc = ctx;
	sim *s = fc->s;
	sim_client *cl = s->cur;
	s->call_replica = fc->replica;
	(void)path;
	if (cl == NULL)
		return 0; /* the simulator itself (checkpoints, set-up) */
	if (cl->dead || (cl->agent && s->agent_cut[fc->replica]))
		return -EIO;
	cl->waiting = call == RS_FS_SLEEP;
	if (s->quiet)
		return 0;
	if (s->script != NULL) {
		/* No faults; every call another client could tell apart from
		 * its neighbours may be preempted (docs/explore.md). */
		if (!s->script->every_call && invisible_call(call, path)) {
			s->res->points_skipped++;
			return 0;
		}
		if (rt_sim_fault_point(s, cl, call, path))
			return -EIO;
		if (call == RS_FS_SLEEP)
			s->sleeper = cl;
		cl->pend_call = (int)call;
		cl->pend_path = path;
		switch_away(s);
		cl->pend_call = -1;
		return cl->dead ? -EIO : 0;
	}
	/* One decision per call; the top of the range holds the events, so
	 * that 0 (an exhausted tape) means "nothing happens". */
	if (s->upto_switch == 0 && call != RS_FS_SLEEP)
		return 0;
	uint64_t v = RT_PER_MILLION - 1 - rt_choice_below(s->ch, RT_PER_MILLION);
	if (v < s->upto_crash) {
		rt_sim_crash(s);
		return -EIO;
	}
	if (v < s->upto_kill && !cl->agent) { /* the agent is not a client */
		rt_sim_kill_client(s, cl, true);
		return -EIO;
	}
	if (v < s->upto_enospc && quota_call(call)) {
		rt_sim_record_fault(s, MODEL_FAULT_ENOSPC, cl->id, NULL);
		return -ENOSPC;
	}
	if (v < s->upto_rename && call == RS_FS_RENAME) {
		rt_sim_record_fault(s, MODEL_FAULT_RENAME, cl->id, NULL);
		return -EIO;
	}
	if (call == RS_FS_SLEEP)
		s->sleeper = cl;
	if (call == RS_FS_SLEEP || v < s->upto_switch)
		switch_away(s);
	/* Killed or crashed while others ran: the call never happens. */
	return cl->dead ? -EIO : 0;
}

/* ---- clients ---- */

static void client_restart(sim *s, sim_client *cl)
{
	rs_session_free(cl->session);
	cl->session = NULL;
	for (int i = 0; i < RT_MAX_BOXES; i++) {
		rs_close(cl->lda_mb[i]);
		cl->lda_mb[i] = NULL;
	}
	rt_client_state_reset(&cl->known);
	cl->dead = false;
	cl->waiting = false;
	cl->pid = new_pid(s);
}

static void exec_deliver(sim *s, sim_client *cl, const model_op *op, model_result *res)
{
	int box = rt_workload_box_index(&s->work, op->mailbox);
	if (cl->lda_mb[box] == NULL) {
		rs_options o;
		rt_sim_store_options(s, cl->replica, cl->pid, &o);
		char *dir = rs_namespace_mailbox_path(s->root, op->mailbox);
		char *why = NULL;
		rs_err err = rs_open(rt_sim_fs(s, cl->replica), dir, &o, &cl->lda_mb[box], &why);
		free(dir);
		free(why);
		if (err != RS_OK) {
			res->status = err == RS_EUNKNOWN ? MODEL_REPLY_UNKNOWN : MODEL_REPLY_NO;
			snprintf(res->text, sizeof(res->text), "open: %s", rs_strerror(err));
			return;
		}
	}
	cm_buf msg = {0};
	model_message_bytes(op->msg_id, &msg);
	uint32_t uid = 0;
	rs_err err = rs_append(cl->lda_mb[box], msg.data, msg.len, op->flags, &uid, NULL);
	cm_buf_free(&msg);
	if (err == RS_OK) {
		res->status = MODEL_REPLY_OK;
		res->code.kind = MODEL_CODE_APPENDUID;
		res->code.uidvalidity = rs_uidvalidity(cl->lda_mb[box]);
		cm_uidset_add(&res->code.set, uid);
	} else {
		res->status = err == RS_EUNKNOWN ? MODEL_REPLY_UNKNOWN : MODEL_REPLY_NO;
		snprintf(res->text, sizeof(res->text), "%s", rs_strerror(err));
	}
}

static void exec_op(sim *s, sim_client *cl, const model_op *op, model_result *res)
{
	if (cl->lda) {
		exec_deliver(s, cl, op, res);
		return;
	}
	if (cl->agent) {
		rt_sim_repl_exec(s, op, res);
		return;
	}
	if (op->kind == MODEL_OP_CONNECT) {
		rs_session_free(cl->session);
		rs_options so;
		rt_sim_store_options(s, cl->replica, cl->pid, &so);
		rs_session_options o = {.pid = cl->pid, .mutants = s->cfg.mutants,
					.log_rotate_bytes = s->cfg.log_rotate_bytes,
					.uid_step = so.uid_step, .uid_phase = so.uid_phase};
		cl->session = rs_session_new(rt_sim_fs(s, cl->replica), s->root, &o);
	}
	if (cl->session == NULL) {
		res->status = MODEL_REPLY_UNKNOWN;
		return;
	}
	rs_session_exec(cl->session, op, res);
	if (op->kind == MODEL_OP_LOGOUT) {
		rs_session_free(cl->session);
		cl->session = NULL;
	}
}

/* One op, start to end, recorded. */
static void run_op(sim *s, sim_client *cl, const model_op *op)
{
	model_result res;
	model_result_init(&res);
	model_op at = *op; /* shallow: the replica it runs against, recorded */
	if (!cl->agent)
		at.replica = cl->replica;
	uint64_t id = record_invoke(s, cl->id, &at);
	cl->in_op = true;
	exec_op(s, cl, op, &res);
	cl->in_op = false;
	bool lost = cl->dead;
	record_completion(s, cl->id, id, &at, &res, lost);
	rt_client_state_apply(&cl->known, &s->work, op, &res);
	if (res.status == MODEL_REPLY_UNKNOWN && !cl->lda) {
		rs_session_free(cl->session);
		cl->session = NULL;
	}
	model_result_free(&res);
}

/* A scripted client that died gets back to where it was (a new
 * connection, its mailbox selected again) before its next op. */
static void resume(sim *s, sim_client *cl)
{
	model_op op;
	for (size_t i = 0; !cl->dead && s->script->resume_op != NULL &&
			   s->script->resume_op(s->script->ctx, cl->id, i, &op); i++) {
		run_op(s, cl, &op);
		model_op_free(&op);
	}
}

typedef enum next_kind {
	NEXT_OP,     /* op filled: run it */
	NEXT_EVENT,  /* an agent's turn that was only an event (the link) */
	NEXT_STOP,   /* the client is done */
} next_kind;

/* cl's next op: its script's, or drawn. */
static next_kind next_op(sim *s, sim_client *cl, model_op *op)
{
	if (s->script != NULL) {
		if (!s->script->next_op(s->script->ctx, cl->id, cl->next_step, op))
			return NEXT_STOP;
		cl->next_step++;
		return NEXT_OP;
	}
	/* An exhausted tape means "stop": a shorter tape, a shorter run. */
	if (s->ops_started >= s->cfg.ops || s->ch->exhausted)
		return NEXT_STOP;
	if (cl->agent)
		return rt_sim_repl_next(s, cl, op) ? NEXT_OP : NEXT_EVENT;
	if (cl->lda)
		rt_workload_deliver(&s->work, s->ch, op);
	else
		rt_workload_next(&s->work, &cl->known, s->ch, op);
	return NEXT_OP;
}

static void client_main(void *arg)
{
	sim_client *cl = arg;
	sim *s = cl->sim;
	s->cur = cl;
	for (;;) {
		while (cl->dead) {
			client_restart(s, cl);
			if (s->script != NULL)
				resume(s, cl); /* it may die again meanwhile */
		}
		model_op op;
		next_kind k = next_op(s, cl, &op);
		if (k == NEXT_STOP)
			break;
		s->ops_started++;
		if (s->ops_started >= s->next_checkpoint && s->cfg.checkpoint_every) {
			s->want_checkpoint = true;
			s->next_checkpoint += s->cfg.checkpoint_every;
		}
		if (k == NEXT_OP) {
			run_op(s, cl, &op);
			model_op_free(&op);
		}
		/* A scripted client with nothing left ends here: a switch
		 * before it ends would only double the schedules. */
		if (s->script != NULL &&
		    cl->next_step >= s->script->ops(s->script->ctx, cl->id))
			break;
		if (s->want_checkpoint)
			cl->parked = true;
		s->res->switches++;
		cl->at_boundary = true;
		rt_coro_yield(); /* the scheduler picks who goes on */
		cl->at_boundary = false;
		s->cur = cl;
	}
	cl->finished = true;
	s->cur = NULL;
}

/* ---- checkpoints ---- */

static void audit_op(sim *s, model_op *op)
{
	sim_client *a = &s->auditor;
	if (a->dead)
		client_restart(s, a);
	s->cur = a;
	run_op(s, a, op);
	s->cur = NULL;
	model_op_free(op);
}

/* Quiet checkpoint: every op done; NOOP in every session; then a fresh
 * EXAMINE + UID SEARCH ALL + UID FETCH of every mailbox. */
/* What lost ops left half done (an unterminated commit, a MOVE intent)
 * takes effect at the next writer's lock; make that happen now, so that
 * "quiet" means quiet for every reader of the checkpoint. */
static void settle_store(sim *s)
{
	for (uint32_t r = s->nrep ? 1 : 0; r <= s->nrep; r++) {
		rs_options o;
		rt_sim_store_options(s, r, s->auditor.pid, &o);
		for (int b = 0; b < s->work.mix.boxes; b++) {
			char *dir = rs_namespace_mailbox_path(s->root, s->work.boxes[b]);
			rs_mailbox *mb = NULL;
			char *why = NULL;
			if (rs_open(rt_sim_fs(s, r), dir, &o, &mb, &why) == RS_OK)
				rs_recover(mb);
			rs_close(mb);
			free(why);
			free(dir);
		}
	}
}

static void run_quiet(sim *s, sim_client *cl, const model_op *op)
{
	s->cur = cl;
	run_op(s, cl, op);
	s->cur = NULL;
}

/* The auditor reads every mailbox of replica r (0: the one store). A
 * replicated run's auditor connects to each replica in turn. */
static void audit_replica(sim *s, uint32_t r)
{
	model_op op;
	if (s->auditor.session == NULL || s->auditor.dead || s->auditor.replica != r) {
		s->auditor.replica = r;
		model_op_init(&op, MODEL_OP_CONNECT);
		audit_op(s, &op);
	}
	for (int b = 0; b < s->work.mix.boxes; b++) {
		model_op ops[3];
		rt_workload_audit(&s->work, b, true, ops);
		for (int k = 0; k < 3; k++)
			audit_op(s, &ops[k]);
	}
}

static void checkpoint(sim *s)
{
	model_op op;
	s->quiet = true;
	settle_store(s);
	if (s->nrep > 0)
		rt_sim_repl_quiesce(s, &s->cl[s->ncl - 1], run_quiet);
	model_op_init(&op, MODEL_OP_CHECKPOINT);
	uint64_t id = record_invoke(s, 0, &op);
	for (unsigned i = 0; i < s->ncl; i++) {
		sim_client *cl = &s->cl[i];
		if (cl->lda || cl->agent || cl->session == NULL || cl->dead ||
		    !cl->known.selected)
			continue;
		model_op_init(&op, MODEL_OP_NOOP);
		run_quiet(s, cl, &op);
	}
	for (uint32_t r = s->nrep ? 1 : 0; r <= s->nrep; r++)
		audit_replica(s, r);
	model_op_init(&op, MODEL_OP_CHECKPOINT);
	model_result res;
	model_result_init(&res);
	res.status = MODEL_REPLY_OK;
	record_completion(s, 0, id, &op, &res, false);
	model_result_free(&res);
	s->res->checkpoints++;
	s->quiet = false;
	s->want_checkpoint = false;
	for (unsigned i = 0; i < s->ncl; i++)
		s->cl[i].parked = false;
}

/* ---- scheduler ---- */

static bool all_quiet(const sim *s)
{
	for (unsigned i = 0; i < s->ncl; i++)
		if (!s->cl[i].finished && !s->cl[i].parked)
			return false;
	return true;
}

static bool runnable(const sim_client *cl)
{
	return cl != NULL && !cl->finished && !cl->parked;
}

/* A scripted run's pick among cand[0..n): decide()'s. */
static sim_client *decide(sim *s, sim_client *last, sim_client **cand, unsigned n)
{
	if (n == 1)
		return cand[0];
	rt_script_point at = {.ran = last ? last->id : 0, .call = -1, .path = ""};
	at.free = cand[0] != last || last->at_boundary;
	if (last != NULL && !last->at_boundary && !last->finished) {
		/* It stopped in switch_away, before this call. */
		assert(last->pend_call >= 0);
		at.call = last->pend_call;
		at.path = last->pend_path ? last->pend_path : "";
	}
	for (unsigned i = 0; i < n && i < CM_ARRAY_LEN(at.cand); i++)
		at.cand[i] = cand[i]->id;
	s->res->decisions++;
	uint64_t v = s->script->decide(s->script->ctx, n, &at);
	assert(v < n);
	return cand[v];
}

/* The runnable waiter after cl in id order, round robin (cl itself when
 * it is the only one). */
static sim_client *next_waiter(sim *s, sim_client *cl)
{
	unsigned at = (unsigned)(cl - s->cl);
	for (unsigned k = 1; k <= s->ncl; k++) {
		sim_client *c = &s->cl[(at + k) % s->ncl];
		if (runnable(c) && c->waiting)
			return c;
	}
	return cl;
}

static sim_client *pick(sim *s, sim_client *last)
{
	/* Candidates: runnable clients; the last one first, so that 0 means
	 * "carry on"; clients waiting for a lock after all others, the one
	 * that just slept last. Waiters never hand the turn only to each
	 * other while the holder starves (an exhausted tape always picks 0,
	 * and two waiters took turns for the 30 s of a lock timeout). */
	sim_client *cand[64];
	unsigned n = 0;
	if (runnable(last) && !last->waiting)
		cand[n++] = last;
	for (unsigned i = 0; i < s->ncl && n < 64; i++)
		if (&s->cl[i] != last && runnable(&s->cl[i]) && !s->cl[i].waiting)
			cand[n++] = &s->cl[i];
	/* A scripted run lets waiters retry only when nobody else can run: a
	 * retry before anyone else moved finds the lock as it was, and
	 * offering it made every back-off (and two waiters taking turns) a
	 * branch of the exploration. */
	bool waiters = s->script == NULL || n == 0;
	if (s->script != NULL && n == 0 && runnable(s->sleeper)) {
		/* Everyone left waits, and the last one's retry just failed:
		 * nothing changed since the choice among the waiters before
		 * that retry, so the next waiter after it goes, no decision
		 * (branching here made every failed retry a branch). */
		s->sleeper = NULL;
		return next_waiter(s, last);
	}
	for (unsigned i = 0; i < s->ncl && n < 64 && waiters; i++)
		if (&s->cl[i] != s->sleeper && runnable(&s->cl[i]) && s->cl[i].waiting)
			cand[n++] = &s->cl[i];
	if (runnable(s->sleeper) && n < 64 && waiters)
		cand[n++] = s->sleeper;
	s->sleeper = NULL;
	if (n == 0)
		return NULL;
	if (s->script != NULL)
		return decide(s, last, cand, n);
	return cand[rt_choice_below(s->ch, n)];
}

static void setup_thresholds(sim *s)
{
	const rt_shape *c = &s->cfg;
	s->upto_crash = c->p_crash.per_million;
	s->upto_kill = s->upto_crash + c->p_kill.per_million;
	s->upto_enospc = s->upto_kill + c->p_enospc.per_million;
	s->upto_rename = s->upto_enospc + c->p_rename.per_million;
	s->upto_switch = s->upto_rename + c->p_switch.per_million;
	if (s->upto_switch > RT_PER_MILLION)
		cm_panic("sim: probabilities add up to more than 1");
}

/* The mailboxes of one store; each replica's namespace counts UIDVALIDITY
 * from the same start, so that the replicas' mailboxes share it. */
static int setup_store(sim *s, rs_fs *fs)
{
	fs->ops->mkdir(fs, s->root);
	fs->ops->fsync_dir(fs, "/");
	for (int b = 0; b < s->work.mix.boxes; b++)
		if (rs_namespace_create_mailbox(fs, s->root, s->work.boxes[b]) != RS_OK)
			return -1;
	return 0;
}

/* Store r (0: the one store) of a fresh run. 0, or -1. */
static int open_store(sim *s, uint32_t r)
{
	rs_fs *fs = rs_memfs_new();
	rs_memfs_set_pid_alive(fs, pid_alive, s);
	s->fsctx[r] = (struct sim_fs_ctx){s, r};
	if (r <= 1)
		s->fs = fs;
	s->rfs[r] = fs;
	return setup_store(s, fs);
}


static const char *const sim_boxes[RT_MAX_BOXES] = {"INBOX", "Archive", "Work",
						     "Junk"};

/* The fresh in-memory store of s (cfg set): its mailboxes. 0, or -1. */
static int sim_open(sim *s, const rt_shape *cfg, rt_sim_result *res)
{
	memset(res, 0, sizeof(*res));
	s->cfg = *cfg;
	s->res = res;
	s->root = "/mail";
	s->next_pid = PID_BASE;
	s->next_checkpoint = cfg->checkpoint_every;
	setup_thresholds(s);
	rt_workload_init(&s->work, &cfg->mix, RT_SIM_CAPS, sim_boxes, "m");
	s->work.message_bytes = model_message_bytes;
	s->nrep = cfg->replicas >= 2 ? CM_MIN(cfg->replicas, RT_REPLICAS_MAX) : 0;
	int rc = 0;
	for (uint32_t r = s->nrep ? 1 : 0; r <= s->nrep; r++)
		rc |= open_store(s, r);
	if (rc == 0 && s->nrep > 0)
		rc = rt_sim_repl_open(s);
	if (rc < 0) {
		rt_sim_close_stores(s);
		return -1;
	}
	s->auditor.sim = s;
	s->auditor.pid = new_pid(s);
	rt_client_state_reset(&s->auditor.known);
	return 0;
}

/* A scripted run's turn of cl begins (end false) or ended (end true). */
static void tell_turn(sim *s, const sim_client *cl, bool end)
{
	if (s->script == NULL || s->script->turn == NULL)
		return;
	rt_script_turn t = {.id = cl->id, .end = end, .call = -1, .path = ""};
	if (!end && cl->pend_call >= 0) {
		t.call = cl->pend_call;
		t.path = cl->pend_path ? cl->pend_path : "";
	}
	if (end) {
		t.waiting = runnable(cl) && cl->waiting;
		t.can_go_on = runnable(cl) && !cl->waiting && !cl->at_boundary;
	}
	s->script->turn(s->script->ctx, &t);
}

static void set_hooks(sim *s, bool on)
{
	for (uint32_t r = s->nrep ? 1 : 0; r <= s->nrep; r++)
		rs_memfs_set_hook(s->rfs[r], on ? hook : NULL, on ? &s->fsctx[r] : NULL);
}

/* Clients 1..ncl: IMAP clients, then nlda delivery agents, then nsync
 * sync agents (a replicated run's one); the scheduler until every client
 * is done, the end checkpoint, teardown. */
static void sim_go(sim *s, unsigned ncl, unsigned nlda, unsigned nsync)
{
	assert(nsync == (s->nrep > 0 ? 1u : 0u) && nlda + nsync <= ncl);
	set_hooks(s, true);
	s->ncl = ncl;
	s->cl = cm_xcalloc(s->ncl, sizeof(*s->cl));
	for (unsigned i = 0; i < s->ncl; i++) {
		sim_client *cl = &s->cl[i];
		cl->sim = s;
		cl->id = i + 1;
		cl->agent = i >= ncl - nsync;
		cl->lda = i >= ncl - nsync - nlda && !cl->agent;
		cl->replica = s->nrep > 0 && !cl->agent ? 1 + i % s->nrep : 0;
		cl->pid = new_pid(s);
		cl->pend_call = -1;
		rt_client_state_reset(&cl->known);
		cl->co = rt_coro_new(STACK_SIZE, client_main, cl);
	}
	s->auditor.id = s->ncl + 1;
	sim_client *last = NULL;
	for (;;) {
		if (s->want_checkpoint && all_quiet(s))
			checkpoint(s);
		sim_client *next = pick(s, last);
		if (next == NULL)
			break;
		last = next;
		tell_turn(s, next, false);
		rt_coro_resume(next->co);
		s->cur = NULL;
		tell_turn(s, next, true);
	}
	checkpoint(s); /* the end state, judged quietly */
	set_hooks(s, false);
	for (unsigned i = 0; i < s->ncl; i++) {
		client_restart(s, &s->cl[i]);
		rt_client_state_free(&s->cl[i].known);
		rt_coro_free(s->cl[i].co);
	}
	client_restart(s, &s->auditor);
	rt_client_state_free(&s->auditor.known);
	free(s->cl);
	free(s->dead_pids);
	rt_sim_close_stores(s);
}

int rt_sim_run(const rt_shape *cfg, rt_choice_source *ch, const rt_sim_hooks *hooks,
	       model_checker *checker, rt_sim_result *res)
{
	sim s;
	memset(&s, 0, sizeof(s));
	s.ch = ch;
	s.hooks = hooks;
	s.checker = checker;
	if (sim_open(&s, cfg, res) < 0)
		return -1;
	unsigned nsync = s.nrep > 0 ? 1 : 0;
	sim_go(&s, cfg->clients + (cfg->deliverer ? 1 : 0) + nsync, cfg->deliverer ? 1 : 0,
	       nsync);
	res->decisions = ch->decisions;
	return 0;
}

int rt_sim_run_script(const rt_script *script, unsigned mutants,
		      const rt_sim_hooks *hooks, model_checker *checker,
		      rt_sim_result *res)
{
	assert(script->clients + script->agents >= 1 && script->boxes >= 1 &&
	       script->boxes <= RT_MAX_BOXES);
	rt_shape cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.clients = script->clients;
	cfg.mutants = mutants;
	cfg.mix.boxes = script->boxes;
	cfg.log_rotate_bytes = script->log_rotate_bytes;
	cfg.replicas = script->replicas;
	sim s;
	memset(&s, 0, sizeof(s));
	s.script = script;
	s.crashes_left = script->crashes;
	s.hooks = hooks;
	s.checker = checker;
	if (sim_open(&s, &cfg, res) < 0)
		return -1;
	/* The starting messages: the auditor's APPENDs, recorded, quiet
	 * (on replica 1, then synced to the other, by the sync agent). */
	unsigned nsync = s.nrep > 0 ? 1 : 0;
	assert(script->agents >= nsync);
	s.auditor.id = script->clients + script->agents + 1;
	s.auditor.replica = s.nrep > 0 ? 1 : 0;
	s.quiet = true;
	model_op op;
	model_op_init(&op, MODEL_OP_CONNECT);
	audit_op(&s, &op);
	for (size_t i = 0; script->setup_op(script->ctx, i, &op); i++)
		audit_op(&s, &op);
	if (nsync)
		rt_sim_repl_setup(&s, run_quiet);
	s.quiet = false;
	sim_go(&s, script->clients + script->agents, script->agents - nsync, nsync);
	return 0;
}
