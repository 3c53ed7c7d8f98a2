/* A replicated target's history (docs/replication.md): the events of the
 * ops run against replica r (op.replica = r) form the history of one IMAP
 * server, judged by a checker of its own (sub[r]) exactly as an
 * unreplicated target is; the cross-replica module (repl.c) sees every
 * event and judges the replicas against each other.
 *
 * Which events each sub-checker gets:
 *   an op with op.replica = r           sub[r]
 *   CHECKPOINT (replica 0)              every sub: each replica is quiet
 *   FAULT with replica 0 / r            every sub / sub[r] (a crash of
 *                                       one replica kills its sessions)
 *   PARTITION, HEAL                     none: no replica's data changes
 *   SYNC, opaque                        sub[replica] and sub[peer]: an
 *                                       external command changed both
 *   SYNC, not opaque                    none: the agent's own ops, which
 *                                       carry op.replica, say what it did
 * The root becomes replicated at the first event that names a replica and
 * judges nothing itself from then on. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

static model_checker *sub_get(model_checker *c, uint32_t r)
{
	assert(r >= 1 && r <= CK_REPLICAS_MAX);
	if (c->sub[r] == NULL) {
		model_checker_options o = c->opts;
		o.on_violation = NULL; /* record() hands findings to the root */
		o.ctx = NULL;
		c->sub[r] = model_checker_new(&o);
		c->sub[r]->root = c;
		c->sub[r]->sub_replica = r;
	}
	return c->sub[r];
}

static void feed_all(model_checker *c, const model_event *ev)
{
	for (uint32_t r = 1; r <= CK_REPLICAS_MAX; r++)
		if (c->sub[r] != NULL)
			model_checker_feed(c->sub[r], ev);
}

static void route(model_checker *c, const model_event *ev)
{
	const model_op *op = &ev->op;
	if (op->kind == MODEL_OP_SYNC) {
		if (op->opaque) {
			model_checker_feed(sub_get(c, op->replica), ev);
			if (op->peer != op->replica)
				model_checker_feed(sub_get(c, op->peer), ev);
		}
		return;
	}
	if (op->kind == MODEL_OP_FAULT &&
	    (op->fault == MODEL_FAULT_PARTITION || op->fault == MODEL_FAULT_HEAL))
		return;
	if (op->replica == 0 && (op->kind == MODEL_OP_CHECKPOINT || op->kind == MODEL_OP_FAULT)) {
		feed_all(c, ev);
		return;
	}
	model_checker_feed(sub_get(c, op->replica), ev);
}

/* A replica number the checker can follow; anything else is refused as
 * one finding, not followed (a hostile history must not index past
 * sub[]). */
static bool replica_ok(model_checker *c, const model_op *op)
{
	if (op->replica <= CK_REPLICAS_MAX && op->peer <= CK_REPLICAS_MAX &&
	    (op->kind != MODEL_OP_SYNC || (op->replica >= 1 && op->peer >= 1)))
		return true;
	model_violation v;
	memset(&v, 0, sizeof(v));
	v.inv = MODEL_INV_REPL_CONVERGE;
	v.severity = MODEL_SEV_ERROR;
	snprintf(v.detail, sizeof(v.detail), "history names replica %" PRIu32 " (peer %"
		 PRIu32 "): the checker follows replicas 1..%d only; event ignored",
		 op->replica, op->peer, CK_REPLICAS_MAX);
	ck_violation_adopt(c, &v);
	return false;
}

bool ck_replicas_feed(model_checker *c, const model_event *ev)
{
	if (c->root != NULL)
		return false; /* a sub-checker judges its events itself */
	if (c->repl == NULL) {
		if (ev->op.replica == 0)
			return false;
		c->repl = ck_repl_new();
	}
	if (!replica_ok(c, &ev->op))
		return true;
	if (ev->type == MODEL_EV_INVOKE)
		c->stats.ops++;
	route(c, ev);
	ck_repl_feed(c, c->repl, ev);
	return true;
}

/* The root's statistics: what its replicas' checkers judged. */
static void sum_stats(model_checker *c)
{
	bool first = true;
	for (uint32_t r = 1; r <= CK_REPLICAS_MAX; r++) {
		model_checker *s = c->sub[r];
		if (s == NULL)
			continue;
		c->stats.flag_searches += s->stats.flag_searches;
		c->stats.adds_checked += s->stats.adds_checked;
		for (int i = 0; i < MODEL_INV_COUNT; i++)
			c->stats.skipped[i] = first ? s->stats.skipped[i]
						    : c->stats.skipped[i] && s->stats.skipped[i];
		first = false;
	}
}

void ck_replicas_finish(model_checker *c)
{
	if (c->repl == NULL)
		return;
	for (uint32_t r = 1; r <= CK_REPLICAS_MAX; r++)
		if (c->sub[r] != NULL)
			model_checker_finish(c->sub[r]);
	sum_stats(c);
	for (int i = MODEL_INV_REPL_CONVERGE; i <= MODEL_INV_REPL_NO_RESURRECT; i++)
		c->stats.skipped[i] = false;
}

void ck_replicas_free(model_checker *c)
{
	for (uint32_t r = 1; r <= CK_REPLICAS_MAX; r++)
		model_checker_free(c->sub[r]);
	ck_repl_free(c->repl);
}
