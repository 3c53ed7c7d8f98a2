/* Rules judged when an op completes, and what an op registers when it is
 * invoked. This file dispatches by op kind and holds the helpers the rule
 * files share, with EXPUNGE and ENABLE; the rules themselves live in
 * completion_store.c (STORE, section E), completion_changedsince.c (FETCH
 * CHANGEDSINCE and VANISHED, F), completion_add.c (APPEND/COPY/MOVE, G),
 * completion_fresh_read.c (fresh reads, A and D) and checkpoint.c (the
 * quiet checkpoint: SESSION-VIEW-CONVERGES, MOVE-NO-LOSS). */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

/* ---- helpers over a result ---- */

const model_code *ck_find_code(const model_result *res, model_code_kind kind)
{
	if (res->code.kind == kind)
		return &res->code;
	for (size_t i = 0; i < res->nut; i++)
		if (res->ut[i].kind == MODEL_UT_CODE && res->ut[i].code.kind == kind)
			return &res->ut[i].code;
	return NULL;
}

/* Could an expunger other than op, invoked before op completed, have
 * removed uid? Its expunge may be reported during op (C2). */
bool ck_other_expunger(const ck_box *b, const ck_op *op, uint32_t uid)
{
	for (size_t i = 0; i < b->nexps; i++) {
		const ck_expunger *x = &b->exps[i];
		if (x->op_id != op->id && x->inv_t < op->cmp_t &&
		    ck_expunger_covers(b, x, uid))
			return true;
	}
	return false;
}

/* Did this (UID) EXPUNGE itself remove a message? Only then must its
 * tagged OK carry HIGHESTMODSEQ (7162 3.2.7: "if at least one message got
 * expunged"); the VANISHED it carries may all be other sessions' expunges
 * the server reports now. With QRESYNC only VANISHED is used (an EXPUNGE
 * response is a VANISHED-INSTEAD error of its own). */
static bool expunged_by_itself(const ck_box *b, const ck_op *op,
			       const model_result *res)
{
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind == MODEL_UT_EXPUNGE)
			return true;
		if (u->kind != MODEL_UT_VANISHED || u->earlier)
			continue;
		for (size_t r = 0; r < u->set.n; r++)
			for (uint64_t uid = u->set.r[r].lo; uid <= u->set.r[r].hi &&
			     uid - u->set.r[r].lo < 100000; uid++)
				if ((!op->op.uid || cm_uidset_contains(&op->op.set, (uint32_t)uid)) &&
				    !ck_other_expunger(b, op, (uint32_t)uid))
					return true;
	}
	return false;
}

/* Could an op other than `self`, not completed before `after_t`, have
 * removed UID `uid` (0: unknown) from `b`? Then the message may have moved
 * on, and that op answers for it. */
bool ck_ops_maybe_removed(const ck_box *b, uint64_t self, uint64_t after_t, uint32_t uid)
{
	for (size_t i = 0; i < b->nexps; i++) {
		const ck_expunger *x = &b->exps[i];
		if (x->op_id == self || (x->cmp_t != CK_NEVER && x->cmp_t < after_t))
			continue;
		if (uid == 0 ? x->status != MODEL_REPLY_NO && x->status != MODEL_REPLY_BAD
			     : ck_expunger_covers(b, x, uid))
			return true;
	}
	return false;
}

/* ---- invoke-time registration ---- */

void ck_ops_invoke(model_checker *c, ck_session *s, ck_op *op)
{
	(void)c;
	const model_op *o = &op->op;
	switch (o->kind) {
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER:
		ck_ops_bind_adder(c, op);
		break;
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
		ck_ops_bind_adder(c, op);
		if (o->kind == MODEL_OP_MOVE && op->box != NULL) {
			ck_expunger *e = ck_expunger_new(op->box, op, false,
							 o->uid ? &o->set : &op->uids);
			cm_uidset_add_set(&e->uids, &op->maybe_uids);
			e->dst = op->dst;
		}
		break;
	case MODEL_OP_EXPUNGE:
		if (op->box != NULL)
			ck_expunger_new(op->box, op, !o->uid, o->uid ? &o->set : NULL);
		break;
	case MODEL_OP_DELETE: {
		ck_box *b = ck_box_current(c, o->mailbox);
		if (b != NULL)
			ck_expunger_new(b, op, true, NULL);
		break;
	}
	case MODEL_OP_ENABLE:
		op->was_condstore = s->condstore;
		break;
	case MODEL_OP_SYNC:
		ck_sync_invoke(c, op);
		break;
	default:
		break;
	}
}

/* ---- EXPUNGE ---- */

static uint64_t max_fetch_modseq(const model_result *res)
{
	uint64_t max = 0;
	for (size_t i = 0; i < res->nut; i++)
		if (res->ut[i].kind == MODEL_UT_FETCH && (res->ut[i].fetch.has & MODEL_F_MODSEQ))
			max = CM_MAX(max, res->ut[i].fetch.modseq);
	return max;
}

static void complete_expunge(model_checker *c, ck_session *s, ck_op *op,
			     const model_result *res)
{
	ck_box *b = op->box;
	if (b == NULL)
		return;
	ck_expunger *e = ck_expunger_find(b, op->id);
	if (e != NULL) {
		e->status = op->status;
		e->cmp_t = op->cmp_t;
	}
	const model_code *h = ck_find_code(res, MODEL_CODE_HIGHESTMODSEQ);
	if (h != NULL && op->status == MODEL_REPLY_OK && h->value > b->max_highestmodseq_expunge)
		b->max_highestmodseq_expunge = h->value;
	if (!s->qresync || op->status != MODEL_REPLY_OK || !expunged_by_itself(b, op, res))
		return;
	if (h == NULL || res->code.kind != MODEL_CODE_HIGHESTMODSEQ) {
		/* 7162 3.2.7 asks for the code, but a client without it keeps
		 * its older, lower HIGHESTMODSEQ and loses nothing: a warning.
		 * Dovecot 2.3 leaves it out when a MODSEQ it sent earlier in
		 * the session (even in another mailbox, before ENABLE QRESYNC)
		 * is above the new HIGHESTMODSEQ, or when a FETCH in this
		 * reply carried one as high. */
		char why[64] = "";
		uint64_t seen = max_fetch_modseq(res);
		if (seen > s->highestmodseq_before)
			snprintf(why, sizeof(why), " (a FETCH in the reply carried "
				 "MODSEQ %" PRIu64 ")", seen);
		ck_warning(c, MODEL_INV_EXPUNGE_MODSEQ, op, b, 0, 0,
			   "expunging %s with QRESYNC enabled ended without "
			   "[HIGHESTMODSEQ] in its tagged OK%s",
			   op->op.uid ? "UID EXPUNGE" : "EXPUNGE", why);
	} else if (h->value <= s->highestmodseq_before) {
		ck_violation(c, MODEL_INV_EXPUNGE_MODSEQ, op, b, 0, 0,
			     "expunging raised HIGHESTMODSEQ to %" PRIu64 ", not above %"
			     PRIu64, h->value, s->highestmodseq_before);
	}
}

/* ---- ENABLE ---- */

static void complete_enable(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res)
{
	if (op->status != MODEL_REPLY_OK || s->box == NULL || op->was_condstore ||
	    !s->condstore)
		return;
	if (ck_find_code(res, MODEL_CODE_HIGHESTMODSEQ) == NULL &&
	    ck_find_code(res, MODEL_CODE_NOMODSEQ) == NULL)
		ck_violation(c, MODEL_INV_MODSEQ_IN_FETCH, op, s->box, 0, 0,
			     "enabling CONDSTORE while a mailbox is selected did not send "
			     "HIGHESTMODSEQ");
}

/* ---- dispatch ---- */

/* RFC 7162 3.1: these commands enable CONDSTORE for the rest of the
 * session, as ENABLE CONDSTORE would. */
static bool condstore_enabling(const model_op *o)
{
	switch (o->kind) {
	case MODEL_OP_FETCH: return (o->items & MODEL_F_MODSEQ) || o->has_changedsince;
	case MODEL_OP_STORE: return o->has_unchangedsince;
	case MODEL_OP_STATUS: return (o->status_items & MODEL_STATUS_HIGHESTMODSEQ) != 0;
	default: return false;
	}
}

void ck_ops_complete(model_checker *c, ck_session *s, ck_op *op,
		     const model_result *res)
{
	if (op->status == MODEL_REPLY_OK && condstore_enabling(&op->op))
		s->condstore = true;
	if (res->anomaly[0] != '\0')
		ck_violation(c, MODEL_INV_STORE_LOCK_FREE_READ, op, op->box, 0, 0,
			     "the store reported: %s", res->anomaly);
	if (s->nomodseq && (op->op.has_changedsince || op->op.has_unchangedsince) &&
	    op->status != MODEL_REPLY_BAD && op->status != MODEL_REPLY_UNKNOWN)
		ck_violation(c, MODEL_INV_NOMODSEQ_RULES, op, op->box, 0, 0,
			     "a modseq command in a NOMODSEQ mailbox got %s, not BAD",
			     model_status_name(op->status));
	switch (op->op.kind) {
	case MODEL_OP_SELECT: ck_ops_complete_select(c, s, op, res); break;
	case MODEL_OP_STATUS: ck_ops_complete_status(c, s, op, res); break;
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER: ck_ops_complete_append(c, op, res); break;
	case MODEL_OP_STORE: ck_ops_complete_store(c, s, op, res); break;
	case MODEL_OP_FETCH: ck_ops_complete_fetch(c, s, op, res); break;
	case MODEL_OP_EXPUNGE: complete_expunge(c, s, op, res); break;
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE: ck_ops_complete_copy(c, s, op, res); break;
	case MODEL_OP_ENABLE: complete_enable(c, s, op, res); break;
	case MODEL_OP_SYNC: ck_sync_complete(c, op); break;
	case MODEL_OP_CREATE:
	case MODEL_OP_DELETE:
		if (op->status == MODEL_REPLY_OK)
			ck_name_recreated(c, op->op.mailbox);
		if (op->op.kind == MODEL_OP_DELETE) {
			ck_box *b = ck_box_current(c, op->op.mailbox);
			ck_expunger *e = b ? ck_expunger_find(b, op->id) : NULL;
			if (e != NULL) {
				e->status = op->status;
				e->cmp_t = op->cmp_t;
			}
		}
		break;
	case MODEL_OP_NOOP:
		if (c->checkpoint_open)
			s->checkpoint_t = op->cmp_t;
		break;
	case MODEL_OP_SEARCH:
		if (c->checkpoint_open && s->box != NULL && op->op.uid &&
		    op->status == MODEL_REPLY_OK && s->select_inv_t > c->checkpoint_inv_t) {
			for (size_t i = 0; i < res->nut; i++)
				if (res->ut[i].kind == MODEL_UT_SEARCH) {
					cm_uidset_copy(&s->box->ckpt_uids, &res->ut[i].set);
					s->box->ckpt_seen = true;
				}
		}
		break;
	default:
		break;
	}
}
