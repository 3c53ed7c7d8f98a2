/* Rules on one mailbox epoch (name + UIDVALIDITY) across sessions: UIDs
 * (section A), expunges, message identity and where each message came from
 * (provenance: APPEND-ATOMIC, COPY-ATOMIC), modseqs (section D). */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

void ck_box_invoke_snap(ck_box *b, ck_op *op)
{
	op->at_invoke_max_add_uid = b->max_add_uid;
	op->at_invoke_uidnext = b->max_uidnext;
	op->at_invoke_highestmodseq = b->max_highestmodseq;
	op->at_invoke_highestmodseq_crashes = b->max_highestmodseq_crashes;
	op->at_invoke_max_modseq = b->max_modseq;
	op->at_invoke_highestmodseq_expunge = b->max_highestmodseq_expunge;
	op->at_invoke_max_uid_seen = b->max_uid_seen;
}

/* The op's mailbox epoch was unknown when it was invoked: what was read
 * since may postdate its linearization point, so nothing to compare. */
void ck_box_no_snap(ck_op *op)
{
	op->at_invoke_max_add_uid = op->at_invoke_uidnext = 0;
	op->at_invoke_highestmodseq = op->at_invoke_highestmodseq_crashes = op->at_invoke_max_modseq = 0;
	op->at_invoke_highestmodseq_expunge = 0;
	op->at_invoke_max_uid_seen = 0;
}

/* ---- adders (provenance) ---- */

ck_adder *ck_adder_new(ck_box *b, const ck_op *op, size_t nslots)
{
	CM_GROW(b->adders, b->capadders, b->nadders + 1);
	ck_adder *a = &b->adders[b->nadders++];
	memset(a, 0, sizeof(*a));
	a->op_id = op->id;
	a->kind = op->op.kind;
	a->inv_t = op->inv_t;
	a->cmp_t = CK_NEVER;
	a->at_invoke_max_modseq = b->max_modseq;
	a->uid_floor = CM_MAX(b->max_add_uid + 1, b->max_uidnext);
	a->uid_fresh = b->max_uid_seen == UINT32_MAX ? UINT32_MAX
		       : CM_MAX(a->uid_floor, b->max_uid_seen + 1);
	a->nslots = nslots;
	a->slots = cm_xcalloc(nslots + 1, sizeof(*a->slots));
	return a;
}

ck_adder *ck_adder_find(ck_box *b, uint64_t op_id)
{
	for (size_t i = b->nadders; i > 0; i--)
		if (b->adders[i - 1].op_id == op_id)
			return &b->adders[i - 1];
	return NULL;
}

static void adder_free(ck_adder *a)
{
	free(a->slots);
	cm_uidset_free(&a->uids);
}

/* ---- expungers ---- */

ck_expunger *ck_expunger_new(ck_box *b, const ck_op *op, bool all,
			     const cm_uidset *uids)
{
	CM_GROW(b->exps, b->capexps, b->nexps + 1);
	ck_expunger *e = &b->exps[b->nexps++];
	memset(e, 0, sizeof(*e));
	e->op_id = op->id;
	e->kind = op->op.kind;
	e->all = all;
	if (uids != NULL)
		cm_uidset_copy(&e->uids, uids);
	e->inv_t = op->inv_t;
	e->cmp_t = CK_NEVER;
	e->highestmodseq_floor = CM_MAX(b->max_modseq, b->max_highestmodseq);
	return e;
}

bool ck_expunger_covers(const ck_box *b, const ck_expunger *x, uint32_t uid)
{
	if (x->kind == MODEL_OP_SYNC)
		return ck_sync_covers(b, x, uid);
	if (x->status == MODEL_REPLY_NO || x->status == MODEL_REPLY_BAD)
		return false;
	if (x->kind == MODEL_OP_DELETE || cm_uidset_contains(&x->uids, uid))
		return true;
	if (!x->all)
		return false;
	const ck_msg *m = ck_map_get(&b->msgs, uid);
	return m == NULL || ck_flags_could_be_set(m, CM_FLAG_DELETED, CK_NEVER);
}

ck_expunger *ck_expunger_find(ck_box *b, uint64_t op_id)
{
	for (size_t i = b->nexps; i > 0; i--)
		if (b->exps[i - 1].op_id == op_id)
			return &b->exps[i - 1];
	return NULL;
}

/* An op whose outcome is unknown may still take effect later (its
 * writer's intent is finished by the next one): kept, the newest few. */
#define CK_KEEP_UNKNOWN 64

static bool keep(model_reply st, size_t *unknown_left)
{
	if (st == MODEL_REPLY_NONE)
		return true;
	if (st != MODEL_REPLY_UNKNOWN || *unknown_left == 0)
		return false;
	--*unknown_left;
	return true;
}

/* What ck_box_forget keeps: pending ops, and at most CK_KEEP_UNKNOWN of
 * each list whose outcome is unknown. */
static bool forgot_ok(const ck_box *b)
{
	size_t unknown = 0;
	for (size_t i = 0; i < b->nadders; i++) {
		model_reply st = b->adders[i].status;
		if (st != MODEL_REPLY_NONE && st != MODEL_REPLY_UNKNOWN)
			return false;
		unknown += st == MODEL_REPLY_UNKNOWN;
	}
	if (unknown > CK_KEEP_UNKNOWN)
		return false;
	unknown = 0;
	for (size_t i = 0; i < b->nexps; i++) {
		model_reply st = b->exps[i].status;
		if (st != MODEL_REPLY_NONE && st != MODEL_REPLY_UNKNOWN)
			return false;
		unknown += st == MODEL_REPLY_UNKNOWN;
	}
	for (size_t i = 0; i < b->nwides; i++)
		if (b->wides[i].cmp_t != CK_NEVER)
			return false;
	return unknown <= CK_KEEP_UNKNOWN;
}

/* Forgets completed adders, expungers and wide STOREs: at a quiet
 * checkpoint every message has been seen, so they explain nothing new. */
void ck_box_forget(ck_box *b)
{
	size_t w = 0, left = CK_KEEP_UNKNOWN;
	/* Newest first for the budget, order kept. */
	for (size_t i = b->nadders; i > 0; i--)
		if (!keep(b->adders[i - 1].status, &left))
			b->adders[i - 1].op_id = 0;
	for (size_t i = 0; i < b->nadders; i++) {
		if (b->adders[i].op_id != 0)
			b->adders[w++] = b->adders[i];
		else
			adder_free(&b->adders[i]);
	}
	b->nadders = w;
	w = 0;
	left = CK_KEEP_UNKNOWN;
	for (size_t i = b->nexps; i > 0; i--)
		if (!keep(b->exps[i - 1].status, &left))
			b->exps[i - 1].op_id = 0;
	for (size_t i = 0; i < b->nexps; i++) {
		if (b->exps[i].op_id != 0)
			b->exps[w++] = b->exps[i];
		else
			cm_uidset_free(&b->exps[i].uids);
	}
	b->nexps = w;
	w = 0;
	for (size_t i = 0; i < b->nwides; i++) {
		if (b->wides[i].cmp_t == CK_NEVER)
			b->wides[w++] = b->wides[i];
		else
			cm_uidset_free(&b->wides[i].uids);
	}
	b->nwides = w;
	CK_CHECK(forgot_ok(b), "a checkpoint keeps only ops that may still act");
}

void ck_box_free_lists(ck_box *b)
{
	for (size_t i = 0; i < b->nadders; i++)
		adder_free(&b->adders[i]);
	free(b->adders);
	for (size_t i = 0; i < b->nexps; i++)
		cm_uidset_free(&b->exps[i].uids);
	free(b->exps);
	for (size_t i = 0; i < b->nwides; i++)
		cm_uidset_free(&b->wides[i].uids);
	free(b->wides);
	cm_uidset_free(&b->ckpt_uids);
}

/* ---- existence ---- */

/* Lost with its log after it was said to be gone: the rebuild may bring
 * back what an unacknowledged EXPUNGE or MOVE removed. */
static bool resurrected(const ck_box *b, const ck_msg *m, uint64_t gone_t)
{
	return m->uid <= b->index_loss_uids && gone_t < b->index_loss_t;
}

/* May the session's view still hold uid although it was gone at gone_t?
 * A server keeps an expunged message in a session's view until it can
 * report the expunge to that session, and may answer FETCH for it
 * meanwhile (RFC 3501 7.4.1; RFC 2180 4.1.1 and 4.1.3: Dovecot does). So
 * only a selection that began after gone_t, in an entry the SELECT itself
 * announced, proves that uid exists again; an entry announced by a later
 * EXISTS may be a message whose expunge is still held back. */
static bool holdover(const ck_session *s, uint32_t uid, uint64_t gone_t)
{
	if (s == NULL)
		return false;
	if (s->select_inv_t < gone_t)
		return true;
	for (size_t i = 0; i < s->mat; i++)
		if (s->map[i].uid == uid)
			return s->map[i].fresh_new;
	return false;
}

void ck_box_seen(model_checker *c, ck_session *s, ck_box *b, const ck_op *op,
		 uint32_t uid)
{
	ck_msg *m = ck_msg_get(b, uid, true);
	if (uid > b->max_uid_seen)
		b->max_uid_seen = uid;
	if (m->told_gone_t < op->inv_t && resurrected(b, m, m->told_gone_t))
		m->told_gone_t = CK_NEVER;
	if (m->vanished_claim_t < op->inv_t && resurrected(b, m, m->vanished_claim_t))
		m->vanished_claim_t = CK_NEVER;
	bool held_gone = m->told_gone_t < op->inv_t && holdover(s, uid, m->told_gone_t);
	bool held_claim = m->vanished_claim_t < op->inv_t &&
			  holdover(s, uid, m->vanished_claim_t);
	bool held_must = m->must_exist_since != 0 && holdover(s, uid, m->must_exist_since);
	if (m->told_gone_t < op->inv_t && !held_gone) {
		model_inv inv = MODEL_INV_UID_NO_REUSE;
		if (m->told_gone_crashes < op->crashes)
			inv = MODEL_INV_STORE_DURABLE;
		else if (m->told_gone_by_move)
			inv = MODEL_INV_MOVE_NO_DUP;
		ck_violation(c, inv, op, b, uid, m->told_gone_op,
			     "UID %" PRIu32 " exists, but op %" PRIu64 " had already "
			     "told a session it was %s", uid, m->told_gone_op,
			     m->told_gone_by_move ? "moved away" : "expunged");
		m->told_gone_t = CK_NEVER; /* one report per resurrection */
	}
	if (m->vanished_claim_t < op->inv_t && !held_claim) {
		ck_violation(c, MODEL_INV_VANISHED_EARLIER_COMPLETE, op, b, uid,
			     m->vanished_claim_op,
			     "VANISHED (EARLIER) in op %" PRIu64 " listed UID %" PRIu32
			     ", which still exists", m->vanished_claim_op, uid);
		m->vanished_claim_t = CK_NEVER;
	}
	if (m->must_exist_since != 0 && resurrected(b, m, m->must_exist_since))
		m->must_exist_since = 0;
	if (m->must_exist_since != 0 && op->inv_t > m->must_exist_since && !held_must) {
		ck_violation(c, MODEL_INV_CHANGEDSINCE_COMPLETE, op, b, uid, m->must_exist_op,
			     "UID %" PRIu32 " changed before op %" PRIu64 " and still "
			     "exists, but that CHANGEDSINCE fetch did not return it",
			     uid, m->must_exist_op);
		m->must_exist_since = 0;
	}
	if (op->cmp_t < m->seen_t)
		m->seen_t = op->cmp_t;
	ck_sync_seen(s, m);
}

/* Which expunger could have removed uid, told in op's response? One that
 * explains it (a MOVE or DELETE, or an EXPUNGE when \Deleted could have
 * been set) if there is one; else any candidate, to blame. */
static const ck_expunger *find_cause(const ck_box *b, const ck_msg *m, const ck_op *op,
				     uint32_t uid)
{
	const ck_expunger *any = NULL;
	bool deleted = ck_flags_could_be_set(m, CM_FLAG_DELETED, op->cmp_t);
	for (size_t i = 0; i < b->nexps; i++) {
		const ck_expunger *e = &b->exps[i];
		if (e->inv_t >= op->cmp_t || e->status == MODEL_REPLY_NO ||
		    e->status == MODEL_REPLY_BAD)
			continue;
		if (e->kind == MODEL_OP_SYNC ? !ck_sync_covers(b, e, uid)
		    : !e->all && !cm_uidset_contains(&e->uids, uid))
			continue;
		if (e->kind != MODEL_OP_EXPUNGE || deleted)
			return e;
		any = e;
	}
	return any;
}

void ck_box_told_gone(model_checker *c, ck_box *b, const ck_op *op, uint32_t uid,
		      uint32_t client)
{
	(void)client;
	ck_msg *m = ck_msg_get(b, uid, true);
	const ck_expunger *e = find_cause(b, m, op, uid);
	if (e == NULL) {
		bool crashed = c->last_crash_t > m->seen_t && m->seen_t != CK_NEVER;
		ck_violation(c, crashed ? MODEL_INV_STORE_DURABLE : MODEL_INV_EXPUNGE_DELETED_ONLY,
			     op, b, uid, 0,
			     "UID %" PRIu32 " vanished, but no EXPUNGE, UID EXPUNGE, MOVE "
			     "or DELETE %s", uid,
			     crashed ? "completed before the crash that lost it"
				     : "could have removed it");
	} else if (e->kind == MODEL_OP_EXPUNGE &&
		   !ck_flags_could_be_set(m, CM_FLAG_DELETED, op->cmp_t)) {
		ck_violation(c, MODEL_INV_EXPUNGE_DELETED_ONLY, op, b, uid, e->op_id,
			     "UID %" PRIu32 " was expunged (op %" PRIu64 ") but nothing "
			     "ever set \\Deleted on it", uid, e->op_id);
	}
	if (op->cmp_t < m->told_gone_t) {
		m->told_gone_t = op->cmp_t;
		m->told_gone_op = op->id;
		m->told_gone_crashes = c->crashes;
		m->told_gone_by_move = e && e->kind == MODEL_OP_MOVE &&
				       e->status == MODEL_REPLY_OK;
	}
	/* When it was expunged, as late as any candidate allows: only then
	 * may "expunged before op X" rules use it. */
	uint64_t latest = 0, floor = UINT64_MAX;
	for (size_t i = 0; i < b->nexps; i++) {
		const ck_expunger *x = &b->exps[i];
		bool may = x->kind == MODEL_OP_SYNC ? ck_sync_covers(b, x, uid)
			   : x->status != MODEL_REPLY_NO && x->status != MODEL_REPLY_BAD &&
			     (x->all || cm_uidset_contains(&x->uids, uid));
		if (x->inv_t >= op->cmp_t || !may)
			continue;
		latest = x->status == MODEL_REPLY_OK ? CM_MAX(latest, x->cmp_t) : CK_NEVER;
		floor = CM_MIN(floor, x->highestmodseq_floor);
	}
	if (e != NULL && latest != CK_NEVER && latest < m->expunged_t) {
		m->expunged_t = latest;
		m->expunged_floor = floor;
	}
}

/* ---- identity and provenance ---- */

static const char *adder_name(model_op_kind k)
{
	return model_op_name(k);
}

static model_inv failed_add_inv(model_op_kind k)
{
	if (k == MODEL_OP_DELIVER)
		return MODEL_INV_DELIVER_ONCE;
	if (k == MODEL_OP_COPY)
		return MODEL_INV_COPY_ATOMIC;
	if (k == MODEL_OP_MOVE)
		return MODEL_INV_MOVE_NO_DUP;
	return MODEL_INV_APPEND_ATOMIC;
}

/* Was message id in (or added to) an earlier epoch of b's name? A server
 * that gives a mailbox a new UIDVALIDITY renumbers what it holds (3501
 * 2.3.1.1 allows it; UIDVALIDITY-STABLE warns): those messages need no
 * adder in the new epoch. */
static bool carried_over(const model_checker *c, const ck_box *b, const char *id)
{
	for (const ck_box *o = c->boxes; o != NULL; o = o->next) {
		if (o == b || strcmp(o->name, b->name) != 0)
			continue;
		for (size_t i = 0; i < o->nadders; i++)
			for (size_t k = 0; k < o->adders[i].nslots; k++)
				if (strcmp(o->adders[i].slots[k].id, id) == 0)
					return true;
		for (size_t i = 0; i < o->msgs.cap; i++) {
			const ck_msg *x = o->msgs.vals[i];
			if (o->msgs.keys[i] != 0 && x != NULL && x->has_id &&
			    strcmp(x->id, id) == 0)
				return true;
		}
	}
	return false;
}

static void unexplained_add(model_checker *c, ck_box *b, ck_msg *m, const ck_op *op,
			    const char *id, const ck_adder *failed, const ck_adder *taken);

/* Finds the op that put message uid (identity id) into b. */
static void explain(model_checker *c, ck_box *b, ck_msg *m, const ck_op *op,
		    const char *id)
{
	ck_adder *loose = NULL, *failed = NULL, *taken = NULL, *low = NULL;
	ck_slot *loose_slot = NULL;
	if (m->uid <= b->index_loss_uids) {
		m->explained = true; /* resurrected by the rebuild after index loss */
		return;
	}
	for (size_t i = 0; i < b->nadders; i++) {
		ck_adder *a = &b->adders[i];
		if (a->inv_t >= op->cmp_t)
			continue;
		for (size_t k = 0; k < a->nslots; k++) {
			ck_slot *sl = &a->slots[k];
			if (sl->none)
				continue;
			bool same = sl->id[0] == '\0' || strcmp(sl->id, id) == 0;
			if (sl->uid == m->uid && a->status != MODEL_REPLY_NO) {
				m->explained = true;
				m->add_op = a->op_id;
				m->add_exact = true;
				if (sl->id[0] != '\0' && strcmp(sl->id, id) != 0)
					ck_violation(c, a->kind == MODEL_OP_APPEND ||
						     a->kind == MODEL_OP_DELIVER
						     ? MODEL_INV_APPENDUID_CONSISTENT : MODEL_INV_COPY_ATOMIC,
						     op, b, m->uid, a->op_id,
						     "UID %" PRIu32 " holds message '%s' but %s op %"
						     PRIu64 " put '%s' there", m->uid, id,
						     adder_name(a->kind), a->op_id, sl->id);
				return;
			}
			if (!same)
				continue;
			if (a->status == MODEL_REPLY_NO || a->status == MODEL_REPLY_BAD)
				failed = a;
			else if (sl->used || sl->uid != 0)
				taken = a;
			else if (m->uid < a->uid_fresh)
				low = a; /* it began after UIDs above this one existed */
			else if (loose == NULL || sl->id[0] != '\0') {
				loose = a;
				loose_slot = sl;
			}
		}
	}
	if (loose != NULL) {
		loose_slot->used = true;
		loose_slot->seen_uid = m->uid;
		m->explained = true;
		m->add_op = loose->op_id;
		return;
	}
	/* A sync may bring any message: one added on the other replica, a
	 * copy renumbered, a copy of one whose add here failed (identities
	 * travel with COPY and MOVE, and across replicas). */
	if (ck_sync_explains_add(c, b, m, op)) {
		m->explained = true;
		return;
	}
	if (low != NULL && failed == NULL && taken == NULL) {
		ck_violation(c, MODEL_INV_UID_ORDER_GLOBAL, op, b, m->uid, low->op_id,
			     "message '%s' appeared as UID %" PRIu32 ", but %s op %" PRIu64
			     " that added it began after UID %" PRIu32 " was assigned, "
			     "announced (UIDNEXT) or seen", id, m->uid, adder_name(low->kind),
			     low->op_id, low->uid_fresh - 1);
		m->explained = true;
		return;
	}
	unexplained_add(c, b, m, op, id, failed, taken);
}

/* Message m (identity id) appeared in b, first seen in op, and no op
 * explains it: failed would have added it but failed, taken added it
 * already at another UID (either may be NULL). */
static void unexplained_add(model_checker *c, ck_box *b, ck_msg *m, const ck_op *op,
			    const char *id, const ck_adder *failed, const ck_adder *taken)
{
	if (failed != NULL)
		ck_violation(c, failed_add_inv(failed->kind), op, b, m->uid, failed->op_id,
			     "message '%s' appeared as UID %" PRIu32 " although %s op %"
			     PRIu64 " that would have added it failed", id, m->uid,
			     adder_name(failed->kind), failed->op_id);
	else if (taken != NULL)
		ck_violation(c, taken->kind == MODEL_OP_DELIVER ? MODEL_INV_DELIVER_ONCE
			     : taken->kind == MODEL_OP_APPEND ? MODEL_INV_APPEND_ATOMIC
			     : MODEL_INV_COPY_ATOMIC,
			     op, b, m->uid, taken->op_id,
			     "message '%s' appeared as UID %" PRIu32 " in addition to the "
			     "UID %s op %" PRIu64 " assigned: added twice", id, m->uid,
			     adder_name(taken->kind), taken->op_id);
	else if (!carried_over(c, b, id))
		ck_violation(c, MODEL_INV_APPEND_ATOMIC, op, b, m->uid, 0,
			     "message '%s' appeared as UID %" PRIu32 " but no operation "
			     "added it to this mailbox", id, m->uid);
	m->explained = true; /* one report per message */
}

void ck_box_identity(model_checker *c, ck_box *b, const ck_op *op, uint32_t uid,
		     const model_fetch *f)
{
	ck_msg *m = ck_msg_get(b, uid, true);
	const char *what = NULL;
	if ((f->has & MODEL_F_ID) && f->id[0] != '\0') {
		if (m->has_id && strcmp(m->id, f->id) != 0)
			what = "identity";
		else if (!m->has_id) {
			m->has_id = true;
			snprintf(m->id, sizeof(m->id), "%s", f->id);
			m->id_op = op->id;
		}
	}
	if (f->has & MODEL_F_BODY) {
		if (m->has_hash && m->body_hash != f->body_hash)
			what = "content";
		m->has_hash = true;
		m->body_hash = f->body_hash;
	}
	if (f->has & MODEL_F_SIZE) {
		if (m->has_size && m->size != f->size)
			what = "size";
		m->has_size = true;
		m->size = f->size;
	}
	if (f->has & MODEL_F_IDATE) {
		if (m->has_idate && m->idate != f->idate)
			what = "internal date";
		m->has_idate = true;
		m->idate = f->idate;
	}
	if (what != NULL)
		ck_violation(c, MODEL_INV_UID_IMMUTABLE, op, b, uid, m->id_op,
			     "the %s of UID %" PRIu32 " changed (first seen in op %" PRIu64
			     ")", what, uid, m->id_op);
	/* Messages older than the history (below the first UIDNEXT anybody
	 * read) need no explanation. */
	if (m->has_id && !m->explained && b->first_uidnext != 0 && uid >= b->first_uidnext)
		explain(c, b, m, op, m->id);
}

/* ---- modseqs ---- */

void ck_box_modseq(model_checker *c, ck_session *s, ck_box *b, const ck_op *op,
		   uint32_t uid, uint64_t modseq, cm_flags flags, bool has_flags)
{
	ck_msg *m = ck_msg_get(b, uid, true);
	if (has_flags && !s->nomodseq) {
		for (unsigned i = 0; i < m->nseen; i++)
			if (m->seen[i].modseq == modseq && m->seen[i].flags != flags) {
				ck_violation(c, MODEL_INV_MODSEQ_ON_CHANGE, op, b, uid, m->seen[i].op,
					     "UID %" PRIu32 " has MODSEQ %" PRIu64 " with two "
					     "different flag sets (also in op %" PRIu64 ")",
					     uid, modseq, m->seen[i].op);
				break;
			}
		unsigned slot = m->nseen < 8 ? m->nseen++ : (unsigned)(modseq % 8);
		m->seen[slot].modseq = modseq;
		m->seen[slot].flags = flags;
		m->seen[slot].op = op->id;
		m->seen[slot].t = op->cmp_t;
	}
	/* A fresh read inside a quiet checkpoint sees everything. */
	if (c->checkpoint_open && s->select_inv_t > c->checkpoint_inv_t &&
	    modseq < m->max_modseq) {
		bool crashed = c->last_crash_t > m->max_modseq_t;
		ck_violation(c, crashed ? MODEL_INV_MODSEQ_REBUILD_MONO : MODEL_INV_MODSEQ_MONO, op, b,
			     uid, 0, "MODSEQ of UID %" PRIu32 " is %" PRIu64 " after "
			     "having been %" PRIu64 "%s", uid, modseq, m->max_modseq,
			     crashed ? " before a crash/rebuild" : "");
	}
	if (m->max_modseq == 0 && m->add_op != 0 && m->add_exact) {
		ck_adder *a = ck_adder_find(b, m->add_op);
		if (a != NULL && modseq <= a->at_invoke_max_modseq)
			ck_violation(c, MODEL_INV_MODSEQ_ON_APPEND, op, b, uid, a->op_id,
				     "UID %" PRIu32 " was added with MODSEQ %" PRIu64 ", not "
				     "above %" PRIu64 " already in the mailbox", uid, modseq,
				     a->at_invoke_max_modseq);
	}
	if (modseq > m->max_modseq) {
		m->max_modseq = modseq;
		m->max_modseq_t = op->cmp_t;
	}
	if (modseq > b->max_modseq && op->cmp_t != CK_NEVER) {
		b->max_modseq = modseq;
		b->max_modseq_op = op->id;
	}
}

/* ---- fresh reads: SELECT/EXAMINE, STATUS of an unselected mailbox ---- */

void ck_box_fresh(model_checker *c, ck_box *b, const ck_op *op, bool has_uidnext,
		  uint32_t uidnext, bool has_highestmodseq, uint64_t highestmodseq)
{
	if (has_uidnext) {
		if (uidnext < op->at_invoke_uidnext)
			ck_violation(c, MODEL_INV_UIDNEXT_MONO, op, b, 0, b->max_uidnext_op,
				     "UIDNEXT %" PRIu32 " is below %" PRIu32 " read before "
				     "(op %" PRIu64 ")", uidnext, op->at_invoke_uidnext,
				     b->max_uidnext_op);
		else if (uidnext <= op->at_invoke_max_add_uid)
			ck_violation(c, MODEL_INV_UIDNEXT_MONO, op, b, 0, 0,
				     "UIDNEXT %" PRIu32 " is not above UID %" PRIu32 " assigned "
				     "by an earlier completed add", uidnext, op->at_invoke_max_add_uid);
		else if (uidnext <= op->at_invoke_max_uid_seen)
			ck_violation(c, MODEL_INV_UID_BELOW_UIDNEXT, op, b, op->at_invoke_max_uid_seen, 0,
				     "UIDNEXT %" PRIu32 " is not above UID %" PRIu32 " seen "
				     "before", uidnext, op->at_invoke_max_uid_seen);
		if (b->first_uidnext == 0)
			b->first_uidnext = uidnext;
		ck_sync_fresh(b, op, uidnext);
		if (uidnext > b->max_uidnext) {
			b->max_uidnext = uidnext;
			b->max_uidnext_op = op->id;
		}
	}
	if (!has_highestmodseq)
		return;
	if (highestmodseq < op->at_invoke_highestmodseq) {
		bool rebuilt = op->at_invoke_highestmodseq_crashes < c->crashes;
		ck_violation(c, rebuilt ? MODEL_INV_MODSEQ_REBUILD_MONO : MODEL_INV_HIGHESTMODSEQ_MONO,
			     op, b, 0, b->max_highestmodseq_op,
			     "HIGHESTMODSEQ %" PRIu64 " is below %" PRIu64 " read before%s",
			     highestmodseq, op->at_invoke_highestmodseq, rebuilt ? " a crash or index rebuild" : "");
	}
	if (highestmodseq < op->at_invoke_max_modseq)
		ck_violation(c, MODEL_INV_HIGHESTMODSEQ_COVERS, op, b, 0, b->max_modseq_op,
			     "HIGHESTMODSEQ %" PRIu64 " is below MODSEQ %" PRIu64 " returned "
			     "before (op %" PRIu64 ")", highestmodseq, op->at_invoke_max_modseq,
			     b->max_modseq_op);
	else if (ck_cap(c, MODEL_CAP_QRESYNC) && highestmodseq < op->at_invoke_highestmodseq_expunge)
		ck_violation(c, MODEL_INV_HIGHESTMODSEQ_COVERS, op, b, 0, 0,
			     "HIGHESTMODSEQ %" PRIu64 " is below %" PRIu64 " reported by an "
			     "earlier expunge", highestmodseq, op->at_invoke_highestmodseq_expunge);
	if (highestmodseq > b->max_highestmodseq) {
		b->max_highestmodseq = highestmodseq;
		b->max_highestmodseq_op = op->id;
		b->max_highestmodseq_crashes = c->crashes;
	}
}

/* ---- adds with known UIDs (APPENDUID, COPYUID, deliveries) ---- */

void ck_box_add(model_checker *c, ck_box *b, const ck_op *op, const cm_uidset *uids)
{
	if (uids->n == 0)
		return;
	uint32_t lo = uids->r[0].lo, hi = cm_uidset_max(uids);
	model_inv uidplus = op->op.kind == MODEL_OP_APPEND || op->op.kind == MODEL_OP_DELIVER
				    ? MODEL_INV_APPENDUID_CONSISTENT : MODEL_INV_COPYUID_CONSISTENT;
	if (lo <= op->at_invoke_max_add_uid)
		ck_violation(c, MODEL_INV_UID_ORDER_GLOBAL, op, b, lo, 0,
			     "added as UID %" PRIu32 " although UID %" PRIu32 " was added "
			     "by an op that completed before this one started", lo,
			     op->at_invoke_max_add_uid);
	if (lo < op->at_invoke_uidnext)
		ck_violation(c, uidplus, op, b, lo, b->max_uidnext_op,
			     "assigned UID %" PRIu32 " below UIDNEXT %" PRIu32 " read "
			     "before", lo, op->at_invoke_uidnext);
	cm_uidset known = {0};
	ck_box_existing(b, uids, &known);
	for (size_t r = 0; r < known.n; r++)
		for (uint64_t u = known.r[r].lo; u <= known.r[r].hi; u++) {
			ck_msg *m = ck_map_get(&b->msgs, u);
			if (m->seen_t < op->inv_t || m->told_gone_t < op->inv_t)
				ck_violation(c, uidplus, op, b, (uint32_t)u, 0,
					     "assigned UID %" PRIu64 ", which already existed "
					     "before", u);
		}
	cm_uidset_free(&known);
	if (hi > b->max_add_uid)
		b->max_add_uid = hi;
	if (hi > b->max_uid_seen)
		b->max_uid_seen = hi;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Walks the set's values when they are fewer than the records, else the
 * records: a UID set's cost follows the UIDs that exist, not its span
 * (UID FETCH 1:* once a UID near 2^32 was seen). */
/* Adds the k distinct UIDs of v, all in [lo, hi], to out in ascending
 * runs. */
static void add_by_bitmap(cm_uidset *out, const uint32_t *v, size_t k, uint32_t lo,
			  uint32_t hi)
{
	size_t words = ((size_t)(hi - lo) >> 6) + 1;
	uint64_t *bits = cm_xcalloc(words, sizeof(*bits));
	for (size_t i = 0; i < k; i++)
		bits[(v[i] - lo) >> 6] |= UINT64_C(1) << ((v[i] - lo) & 63);
	uint64_t run_lo = 0, run_hi = 0;
	bool in_run = false;
	for (size_t w = 0; w < words; w++)
		for (uint64_t m = bits[w]; m != 0; m &= m - 1) {
			uint64_t u = (uint64_t)lo + ((uint64_t)w << 6) +
				     (uint64_t)__builtin_ctzll(m);
			if (in_run && u == run_hi + 1) {
				run_hi = u;
				continue;
			}
			if (in_run)
				cm_uidset_add_range(out, (uint32_t)run_lo, (uint32_t)run_hi);
			run_lo = run_hi = u;
			in_run = true;
		}
	if (in_run)
		cm_uidset_add_range(out, (uint32_t)run_lo, (uint32_t)run_hi);
	free(bits);
}

void ck_box_existing(const ck_box *b, const cm_uidset *set, cm_uidset *out)
{
	if (cm_uidset_count(set) <= 2 * (uint64_t)b->msgs.n + 16) {
		for (size_t r = 0; r < set->n; r++)
			for (uint64_t u = set->r[r].lo; u <= set->r[r].hi; u++)
				if (ck_map_get(&b->msgs, u) != NULL)
					cm_uidset_add(out, (uint32_t)u);
		return;
	}
	uint32_t *v = cm_xmalloc(b->msgs.n * sizeof(*v));
	size_t k = 0;
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t i = 0; i < b->msgs.cap; i++)
		if (b->msgs.keys[i] != 0 && b->msgs.vals[i] != NULL &&
		    cm_uidset_contains(set, (uint32_t)b->msgs.keys[i])) {
			v[k] = (uint32_t)b->msgs.keys[i];
			lo = CM_MIN(lo, v[k]);
			hi = CM_MAX(hi, v[k]);
			k++;
		}
	CK_CHECK(k <= b->msgs.n, "a map holds at most n keys");
	/* Every UID FETCH 1:* comes here: the UIDs of a mailbox are dense,
	 * so a bitmap over their span puts them in order faster than qsort
	 * (which was a quarter of the checker's time); sparse ones are sorted. */
	if (k > 0 && hi - lo < 64 * (uint64_t)k + 4096)
		add_by_bitmap(out, v, k, lo, hi);
	else {
		qsort(v, k, sizeof(*v), cmp_u32);
		for (size_t i = 0; i < k; i++)
			cm_uidset_add(out, v[i]);
	}
	free(v);
}
