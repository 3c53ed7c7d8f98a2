/* FETCH CHANGEDSINCE and VANISHED (EARLIER), section F of
 * docs/invariants.md: what a FETCH with CHANGEDSINCE, or a SELECT with
 * QRESYNC, must return. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

/* UIDs the session still held when op ran: the server may keep an
 * expunged message in a session's view (and answer FETCH for it) until it
 * reports the expunge to that session (RFC 2180 4.1.1), so VANISHED
 * (EARLIER) need not list it; a live VANISHED in the reply ends it. */
static void still_held(const ck_session *s, const model_result *res, cm_uidset *out)
{
	for (size_t i = 0; i < s->mat; i++)
		if (s->map[i].uid != 0)
			cm_uidset_add(out, s->map[i].uid);
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind == MODEL_UT_VANISHED && !u->earlier)
			cm_uidset_add_set(out, &u->set);
		else if (u->kind == MODEL_UT_FETCH && (u->fetch.has & MODEL_F_UID) &&
			 u->fetch.uid != 0) /* UID 0: reported by the session */
			cm_uidset_add(out, u->fetch.uid);
	}
}

/* Was m added only after the session's previous reply? A UID FETCH runs
 * on the session's view, synced at its previous command at the latest
 * (C3; Dovecot reads the expunges for VANISHED (EARLIER) from its
 * transaction log only up to the view's position), and an add invoked
 * after that reply is not in it. Expunged before this command too, such
 * a message never reaches the session at all: the sync after the command
 * skips an add and its expunge together, so the session loses nothing.
 * Only an add that named the UID (APPENDUID, COPYUID) counts. */
static bool added_after_view(ck_box *b, const ck_msg *m, const ck_op *op)
{
	bool found = false;
	for (size_t i = 0; i < b->nadders; i++) {
		const ck_adder *a = &b->adders[i];
		if (!cm_uidset_contains(&a->uids, m->uid))
			continue;
		if (a->inv_t <= op->at_invoke_session_cmp_t)
			return false;
		found = true;
	}
	return found;
}

static void vanished_earlier(model_checker *c, ck_session *s, ck_box *b, ck_op *op,
			     const model_result *res, const cm_uidset *asked,
			     uint64_t since)
{
	cm_uidset listed = {0}, held = {0};
	for (size_t i = 0; i < res->nut; i++)
		if (res->ut[i].kind == MODEL_UT_VANISHED && res->ut[i].earlier)
			cm_uidset_add_set(&listed, &res->ut[i].set);
	if (op->op.kind == MODEL_OP_FETCH)
		still_held(s, res, &held);
	/* Listed UIDs that exist later are wrong (below UIDNEXT only: UIDs
	 * never used may be reported). */
	cm_uidset known = {0};
	ck_box_existing(b, &listed, &known);
	for (size_t r = 0; r < known.n; r++)
		for (uint64_t u = known.r[r].lo; u <= known.r[r].hi && u < b->max_uidnext; u++) {
			ck_msg *m = ck_map_get(&b->msgs, u);
			if (m->vanished_claim_t == CK_NEVER && m->told_gone_t == CK_NEVER) {
				m->vanished_claim_t = op->cmp_t;
				m->vanished_claim_op = op->id;
			}
		}
	cm_uidset_free(&known);
	/* Every UID asked about whose expunge completed before, above since. */
	for (size_t i = 0; i < b->msgs.cap; i++) {
		ck_msg *m = b->msgs.vals[i];
		if (b->msgs.keys[i] == 0 || m == NULL)
			continue;
		if (m->expunged_t < op->inv_t && since <= m->expunged_floor &&
		    cm_uidset_contains(asked, m->uid) &&
		    !cm_uidset_contains(&listed, m->uid) &&
		    !cm_uidset_contains(&held, m->uid) &&
		    !(op->op.kind == MODEL_OP_FETCH && added_after_view(b, m, op)))
			ck_violation(c, MODEL_INV_VANISHED_EARLIER_COMPLETE, op, b, m->uid, 0,
				     "UID %" PRIu32 " was expunged before this command with a "
				     "modseq above %" PRIu64 ", but VANISHED (EARLIER) omits it",
				     m->uid, since);
	}
	cm_uidset_free(&listed);
	cm_uidset_free(&held);
}

static void fetched_uids(const ck_op *op, const model_result *res, cm_uidset *out)
{
	for (size_t i = 0; i < res->nut; i++)
		if (res->ut[i].kind == MODEL_UT_FETCH && op->ut_uid[i] != 0)
			cm_uidset_add(out, op->ut_uid[i]);
}

/* m changed above since before op and still exists: unless op returned
 * it, it must be gone by the time a later op sees it (CHANGEDSINCE-COMPLETE
 * is judged in ck_box_seen). */
static void must_return(const ck_op *op, ck_msg *m, const cm_uidset *fetched,
			uint64_t since)
{
	if (m != NULL && m->max_modseq > since && m->max_modseq_t < op->inv_t &&
	    m->told_gone_t == CK_NEVER && !cm_uidset_contains(fetched, m->uid) &&
	    m->must_exist_since == 0) {
		m->must_exist_since = op->cmp_t;
		m->must_exist_op = op->id;
	}
}

static void changedsince(model_checker *c, ck_session *s, ck_box *b, ck_op *op,
			 const model_result *res, const cm_uidset *asked,
			 uint64_t since)
{
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind != MODEL_UT_FETCH || !(u->fetch.has & MODEL_F_MODSEQ))
			continue;
		uint32_t uid = (u->fetch.has & MODEL_F_UID) ? u->fetch.uid : 0;
		/* A warning: the FETCH may be an unsolicited one, telling this
		 * session late of a change it knew by then (Dovecot does), and
		 * the two cannot be told apart on the wire. */
		if (uid != 0 && cm_uidset_contains(asked, uid) && u->fetch.modseq <= since)
			ck_warning(c, MODEL_INV_CHANGEDSINCE_COMPLETE, op, b, uid, 0,
				   "CHANGEDSINCE %" PRIu64 " returned UID %" PRIu32 " with "
				   "MODSEQ %" PRIu64 " (or an unsolicited FETCH came late)",
				   since, uid, u->fetch.modseq);
	}
	cm_uidset fetched = {0};
	fetched_uids(op, res, &fetched);
	/* A FETCH runs on the session's view, which may not hold a message
	 * added meanwhile until an EXISTS (sent after the FETCH data, as
	 * Dovecot does) announces it (C3): only messages the session knew by
	 * UID must be returned. SELECT builds a fresh view: there every
	 * message counts. */
	if (op->op.kind == MODEL_OP_FETCH) {
		for (size_t i = 0; i < s->mat; i++)
			if (s->map[i].uid != 0 && cm_uidset_contains(asked, s->map[i].uid))
				must_return(op, ck_map_get(&b->msgs, s->map[i].uid),
					    &fetched, since);
	} else {
		for (size_t i = 0; i < b->msgs.cap; i++) {
			ck_msg *m = b->msgs.vals[i];
			if (b->msgs.keys[i] != 0 && m != NULL && cm_uidset_contains(asked, m->uid))
				must_return(op, m, &fetched, since);
		}
	}
	cm_uidset_free(&fetched);
}

void ck_ops_complete_fetch(model_checker *c, ck_session *s, ck_op *op,
			   const model_result *res)
{
	ck_box *b = op->box;
	if (b == NULL || op->status != MODEL_REPLY_OK || !op->op.has_changedsince)
		return;
	changedsince(c, s, b, op, res, op->op.uid ? &op->op.set : &op->uids,
		     op->op.changedsince);
	if (op->op.vanished)
		vanished_earlier(c, s, b, op, res, &op->op.set, op->op.changedsince);
}

void ck_ops_select_qresync(model_checker *c, ck_session *s, ck_box *b, ck_op *op,
			   const model_result *res)
{
	if (op->op.q_uidvalidity != b->uidvalidity) {
		for (size_t i = 0; i < res->nut; i++)
			if (res->ut[i].kind == MODEL_UT_VANISHED ||
			    (res->ut[i].kind == MODEL_UT_FETCH))
				ck_violation(c, MODEL_INV_SELECT_QRESYNC, op, b, 0, 0,
					     "SELECT (QRESYNC) with a stale UIDVALIDITY %" PRIu32
					     " got a %s response", op->op.q_uidvalidity,
					     model_ut_name(res->ut[i].kind));
		return;
	}
	cm_uidset all = {0};
	cm_uidset_add_range(&all, 1, UINT32_MAX);
	const cm_uidset *asked = op->op.q_known.n ? &op->op.q_known : &all;
	vanished_earlier(c, s, b, op, res, asked, op->op.q_modseq);
	changedsince(c, s, b, op, res, asked, op->op.q_modseq);
	cm_uidset_free(&all);
}
