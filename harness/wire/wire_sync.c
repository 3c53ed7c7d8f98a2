/* The sync command of a replicated target (`--sync-cmd CMD`): one child at
 * a time, run by `/bin/sh -c CMD` in a process group of its own, watched
 * through the campaign's poll() (its stdout and stderr pipes) and reaped
 * without blocking the loop, so that clients keep running beside it.
 *
 * Each run the campaign starts is one opaque SYNC op (docs/history.md):
 * invoke before the fork, completion when the child is reaped: OK when it
 * exited 0, NO (a FAIL event) with the first line of its stderr when it
 * exited non-zero, outcome unknown (INFO) when it ran past its timeout (we
 * kill its group) or died of a signal. The checker lets such an op add,
 * remove and re-flag messages on both replicas while it runs.
 *
 * CMD may hold credentials: it is never printed nor written; errors name
 * it "the sync command". Stateful sync (doveadm sync -s STATE) keeps its
 * state here: the child's environment has RATCHET_SYNC_STATE, the last
 * non-empty line of the stdout of the last run that exited 0 ("" at
 * first), so CMD can say -s "$RATCHET_SYNC_STATE". */
#include "wire_private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A state line is a few hundred bytes; output beyond this is dropped. */
#define SYNC_OUT_MAX ((size_t)1 << 20)

void rt_wire_sync_init(rt_wire_sync *s, const char *cmd, uint32_t client,
		       double timeout_s)
{
	memset(s, 0, sizeof(*s));
	assert(cmd != NULL && client != 0 && timeout_s > 0);
	s->cmd = cmd;
	s->client = client;
	s->timeout_ns = (uint64_t)(timeout_s * 1e9);
	rt_wire_child_init(&s->run, "the sync command", SYNC_OUT_MAX);
	s->state = cm_xcalloc(1, 1);
}

void rt_wire_sync_free(rt_wire_sync *s)
{
	rt_wire_child_free(&s->run);
	free(s->state);
	s->state = NULL;
	rt_choice_free(&s->ch);
}

void rt_wire_sync_schedule(rt_wire_sync *s, uint64_t seed, uint64_t every)
{
	assert(every >= 1);
	s->every = every;
	rt_choice_prng(&s->ch, seed, false);
}

bool rt_wire_sync_due(rt_wire_sync *s)
{
	assert(s->every >= 1);
	return rt_choice_below(&s->ch, s->every) == 0;
}

bool rt_wire_sync_running(const rt_wire_sync *s)
{
	return s->run.pid != 0;
}

static int spawn(rt_wire_sync *s, cm_err *err)
{
	const char *env[] = {"RATCHET_SYNC_STATE", s->state, NULL};
	return rt_wire_child_spawn(&s->run, s->cmd, env, NULL, 0, s->timeout_ns, err);
}

/* The last non-empty line of stdout becomes the next run's state. */
static void take_state(rt_wire_sync *s)
{
	const cm_buf *out = &s->run.out;
	if (s->run.out_overflow || out->len == 0)
		return;
	size_t end = out->len;
	while (end > 0 && (out->data[end - 1] == '\n' || out->data[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start > 0 && out->data[start - 1] != '\n')
		start--;
	if (end == start)
		return;
	free(s->state);
	s->state = cm_xmalloc(end - start + 1);
	memcpy(s->state, out->data + start, end - start);
	s->state[end - start] = '\0';
}

/* The reason a run failed, short: the stderr line after a log prefix
 * that ends in ">: " (Dovecot's "doveadm(alice)<pid><session>: "). */
static void fail_text(const rt_wire_sync *s, int code, char *out, size_t outlen)
{
	const char *line = s->run.err_line, *p = strstr(line, ">: ");
	if (p != NULL && p - line < 80)
		line = p + 3;
	snprintf(out, outlen, "sync command exited %d: %.70s", code,
		 line[0] ? line : "(nothing on stderr)");
}

/* The outcome of the child reaped with wait status st. */
static void outcome(rt_wire_sync *s, int st, model_result *res)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !s->run.killed) {
		res->status = MODEL_REPLY_OK;
		take_state(s);
	} else if (WIFEXITED(st) && !s->run.killed) {
		res->status = MODEL_REPLY_NO;
		fail_text(s, WEXITSTATUS(st), res->text, sizeof(res->text));
	} else {
		res->status = MODEL_REPLY_UNKNOWN;
		snprintf(res->text, sizeof(res->text), "%s", s->run.killed
			 ? "sync command killed: it ran past its timeout"
			 : "sync command died of a signal");
	}
}

bool rt_wire_sync_tick(rt_wire_sync *s, uint64_t now, model_result *res)
{
	int st = 0;
	if (!rt_wire_child_tick(&s->run, now, &st))
		return false;
	outcome(s, st, res);
	return true;
}

void rt_wire_sync_kill(rt_wire_sync *s)
{
	rt_wire_child_kill(&s->run);
}

int rt_wire_sync_run(rt_wire_sync *s, model_result *res, cm_err *err)
{
	const char *env[] = {"RATCHET_SYNC_STATE", s->state, NULL};
	int st = 0;
	if (rt_wire_child_run(&s->run, s->cmd, env, s->timeout_ns, &st, err) != 0)
		return -1;
	outcome(s, st, res);
	return 0;
}

/* ---- recorded runs: one opaque SYNC op each ---- */

/* Replica 1 syncs with replica 2, every mailbox (""), opaquely. */
static void sync_op(model_op *op)
{
	model_op_init(op, MODEL_OP_SYNC);
	op->replica = 1;
	op->peer = 2;
	op->opaque = true;
}

void rt_wire_sync_begin(rt_wire *w)
{
	rt_wire_sync *s = w->sync;
	assert(s != NULL && s->run.pid == 0 && s->op_id == 0);
	model_op op;
	sync_op(&op);
	s->op_id = rt_wire_record_invoke(w, s->client, &op);
	s->inv_ns = cm_now_ns();
	s->runs++;
	cm_err err = {{0}};
	if (spawn(s, &err) == 0)
		return;
	model_result res;
	model_result_init(&res);
	res.status = MODEL_REPLY_NO;
	snprintf(res.text, sizeof(res.text), "%.95s", err.text);
	rt_wire_record_completion(w, s->client, s->op_id, &op, &res);
	model_result_free(&res);
	s->op_id = 0;
	s->last = MODEL_REPLY_NO;
}

bool rt_wire_sync_poll_end(rt_wire *w, uint64_t now)
{
	rt_wire_sync *s = w->sync;
	if (s == NULL || s->op_id == 0)
		return false;
	model_result res;
	model_result_init(&res);
	if (!rt_wire_sync_tick(s, now, &res)) {
		model_result_free(&res);
		return false;
	}
	model_op op;
	sync_op(&op);
	if (res.status == MODEL_REPLY_UNKNOWN)
		w->unknown++;
	rt_wire_latency(w, MODEL_OP_SYNC, s->inv_ns, res.status == MODEL_REPLY_UNKNOWN);
	s->ok += res.status == MODEL_REPLY_OK;
	s->last = res.status;
	rt_wire_record_completion(w, s->client, s->op_id, &op, &res);
	model_result_free(&res);
	s->op_id = 0;
	return true;
}
