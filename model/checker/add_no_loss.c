/* ADD-NO-LOSS: an acknowledged add is in every later fresh read.
 *
 * Every other provenance rule starts from a message somebody saw: a server
 * that answers OK to APPEND and keeps nothing shows nothing, so nothing
 * there ever fires. This rule starts from the acknowledgement instead.
 *
 * When a session's view of a mailbox, selected at time T, becomes fully
 * known (every sequence number has its UID, e.g. after UID SEARCH ALL or
 * UID FETCH 1:*), every message an add (APPEND, delivery, COPY, MOVE) put
 * into that mailbox epoch and acknowledged OK before T must be in the view:
 * SELECT showed what the mailbox held at T, and the view since lost only
 * messages whose expunge was reported to it, each of which some EXPUNGE,
 * UID EXPUNGE, MOVE or DELETE on the mailbox must explain (C2: acknowledged
 * or still in flight, never one that completed before the add began).
 *
 * The message is found by the UID its add's response gave (APPENDUID,
 * COPYUID), else by the UID it was first seen at, else by its identity
 * (C4) among the view's messages, once every one of them has its identity;
 * until then the check waits for a later FETCH of the same selection. A
 * COPY or MOVE without COPYUID may legally copy nothing of a source message
 * another session expunged first (RFC 2180 4.4), so such a slot is excused
 * when its source message could have been removed.
 *
 * The check runs once per selection and reports each add's message once. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Is some message of b whose identity no session was shown, at a UID
 * adder a could have given its message, one that could carry \Deleted?
 * That message may be a's (a delivery's reply names no UID, and a STORE
 * by UID may name a UID a session knows only from SEARCH or EXISTS). */
static bool unidentified_could_be_deleted(const ck_box *b, const ck_adder *a)
{
	for (size_t i = 0; i < b->msgs.cap; i++) {
		const ck_msg *m = b->msgs.vals[i];
		if (b->msgs.keys[i] != 0 && m != NULL && !m->has_id && m->uid >= a->uid_floor &&
		    ck_flags_could_be_set(m, CM_FLAG_DELETED, CK_NEVER))
			return true;
	}
	return false;
}

/* Could anything have set \Deleted on message uid (0: not known) that
 * adder a put into b? A message nobody has seen has no recorded writes:
 * only the add itself, a STORE whose range reached past what was known
 * (a wide STORE), or one on a message whose identity is unknown and that
 * may be it, could have set it. */
static bool could_be_deleted(const ck_box *b, const ck_adder *a, uint32_t uid)
{
	const ck_msg *m = uid != 0 ? ck_map_get(&b->msgs, uid) : NULL;
	if (m != NULL)
		return ck_flags_could_be_set(m, CM_FLAG_DELETED, CK_NEVER);
	if (a->kind == MODEL_OP_COPY || a->kind == MODEL_OP_MOVE ||
	    (a->flags & CM_FLAG_DELETED))
		return true; /* copied flags are the source's; APPEND may set it */
	for (size_t i = 0; i < b->nwides; i++) {
		const ck_wide *w = &b->wides[i];
		if (w->mode != MODEL_STORE_REMOVE && (w->flags & CM_FLAG_DELETED) &&
		    (uid == 0 || cm_uidset_contains(&w->uids, uid)))
			return true;
	}
	return uid == 0 && unidentified_could_be_deleted(b, a);
}

/* Could an expunger that was not over before the add began have removed
 * the message (UID uid, 0 if unknown) adder a put into b? */
static bool removal_explains(const ck_box *b, const ck_adder *a, uint32_t uid)
{
	for (size_t i = 0; i < b->nexps; i++) {
		const ck_expunger *x = &b->exps[i];
		if (x->status == MODEL_REPLY_NO || x->status == MODEL_REPLY_BAD ||
		    (x->cmp_t != CK_NEVER && x->cmp_t < a->inv_t))
			continue;
		if (x->kind == MODEL_OP_DELETE)
			return true;
		if (x->kind == MODEL_OP_SYNC) {
			if (ck_sync_covers(b, x, uid))
				return true;
			continue;
		}
		if (x->all && could_be_deleted(b, a, uid))
			return true;
		if (x->all || x->uids.n == 0)
			continue;
		/* A UID set: the message's UID, or where it may lie. */
		if (uid != 0 ? cm_uidset_contains(&x->uids, uid)
			     : cm_uidset_max(&x->uids) >= a->uid_floor)
			return true;
	}
	return false;
}

/* A COPY or MOVE slot without a UID: its source message may have been
 * expunged by another session first, and then nothing was copied. */
static bool source_maybe_gone(const ck_adder *a, const ck_slot *sl)
{
	if (a->kind != MODEL_OP_COPY && a->kind != MODEL_OP_MOVE)
		return false;
	return a->src == NULL || sl->src_uid == 0 ||
	       ck_ops_maybe_removed(a->src, a->op_id, 0, sl->src_uid);
}

typedef struct lost_view {
	const ck_session *s;
	cm_uidset uids;             /* the view's UIDs */
	bool ids_built;             /* ids and all_ids are valid (built lazily:
				     * with UIDPLUS no slot needs them) */
	ck_map ids;                 /* cm_hash64(id) | 1 -> ck_msg, with an id */
	bool all_ids;               /* every message of the view has an id */
} lost_view;

static void view_build(const ck_session *s, lost_view *v)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	CK_CHECK(s->mat == s->n, "ADD-NO-LOSS audits a fully known view");
	for (size_t i = 0; i < s->mat; i++) {
		CK_CHECK(s->map[i].uid != 0, "ADD-NO-LOSS audits a fully known view");
		cm_uidset_add(&v->uids, s->map[i].uid);
	}
}

static void view_build_ids(lost_view *v)
{
	const ck_session *s = v->s;
	v->ids_built = v->all_ids = true;
	for (size_t i = 0; i < s->mat; i++) {
		ck_msg *m = ck_map_get(&s->box->msgs, s->map[i].uid);
		if (m == NULL || !m->has_id) {
			v->all_ids = false;
			continue;
		}
		uint64_t key = cm_hash64(m->id, strlen(m->id)) | 1;
		if (ck_map_get(&v->ids, key) == NULL)
			ck_map_put(&v->ids, key, m);
	}
}

/* Are the identities of every message of the view known? */
static bool view_all_ids(lost_view *v)
{
	if (!v->ids_built)
		view_build_ids(v);
	return v->all_ids;
}

static bool view_has_id(lost_view *v, const char *id)
{
	const ck_session *s = v->s;
	if (!v->ids_built)
		view_build_ids(v);
	const ck_msg *m = ck_map_get(&v->ids, cm_hash64(id, strlen(id)) | 1);
	if (m != NULL && strcmp(m->id, id) == 0)
		return true;
	if (m == NULL)
		return false;
	for (size_t i = 0; i < s->mat; i++) { /* a hash collision: look at all */
		m = ck_map_get(&s->box->msgs, s->map[i].uid);
		if (m != NULL && m->has_id && strcmp(m->id, id) == 0)
			return true;
	}
	return false;
}

static void view_free(lost_view *v)
{
	cm_uidset_free(&v->uids);
	ck_map_free(&v->ids);
}

/* The UID slot sl's message is known by: given by the add's response, or
 * the UID it was first seen at; 0 if neither. */
static uint32_t slot_uid(const ck_slot *sl)
{
	return sl->uid != 0 ? sl->uid : sl->seen_uid;
}

static void report(model_checker *c, const ck_session *s, const ck_op *op,
		   const ck_adder *a, const ck_slot *sl, uint32_t uid)
{
	char where[40] = "";
	if (uid != 0)
		snprintf(where, sizeof(where), " as UID %" PRIu32, uid);
	/* A crash between the acknowledgement and the read points at
	 * durability: say so, the invariant stays the same. */
	bool crashed = c->last_crash_t > a->cmp_t && c->last_crash_t < s->select_inv_t;
	ck_violation(c, MODEL_INV_ADD_NO_LOSS, op, s->box, uid, a->op_id,
		     "%s op %" PRIu64 " was acknowledged OK, adding message '%s'%s, "
		     "before client %" PRIu32 " selected %s; its fresh view (%zu "
		     "messages) lacks it, and no EXPUNGE, UID EXPUNGE, MOVE or DELETE "
		     "could have removed it%s", model_op_name(a->kind), a->op_id,
		     sl->id[0] ? sl->id : "?", where, s->client, s->box->name, s->n,
		     crashed ? " (the store crashed in between: lost on crash)" : "");
}

/* Judges slot sl of adder a against the view, counting it in *judged.
 * Returns false if it cannot be decided yet (identities of the view not
 * all known). */
static bool judge_slot(model_checker *c, const ck_session *s, const ck_op *op,
		       lost_view *v, ck_adder *a, ck_slot *sl, uint64_t *judged)
{
	if (sl->none || sl->lost_reported)
		return true;
	uint32_t uid = slot_uid(sl);
	bool by_id = uid == 0;
	if (by_id && (sl->id[0] == '\0' || source_maybe_gone(a, sl)))
		return true; /* nothing to look for */
	if (by_id && !view_all_ids(v))
		return false;
	++*judged;
	if (by_id ? view_has_id(v, sl->id) : cm_uidset_contains(&v->uids, uid))
		return true;
	if (removal_explains(s->box, a, uid))
		return true;
	/* Seen once (no COPYUID): the copy may never have been made. */
	if (!by_id && sl->uid == 0 && source_maybe_gone(a, sl))
		return true;
	report(c, s, op, a, sl, uid);
	sl->lost_reported = true;
	return true;
}

/* Judges every add acknowledged before the selection began. Returns false
 * if some could not be decided yet. */
static bool audit(model_checker *c, ck_session *s, const ck_op *op)
{
	ck_box *b = s->box;
	lost_view v;
	bool decided = true;
	uint64_t judged = 0;
	view_build(s, &v);
	for (size_t i = 0; i < b->nadders; i++) {
		ck_adder *a = &b->adders[i];
		if (a->status != MODEL_REPLY_OK || a->cmp_t >= s->select_inv_t)
			continue;
		for (size_t k = 0; k < a->nslots; k++)
			decided &= judge_slot(c, s, op, &v, a, &a->slots[k], &judged);
	}
	view_free(&v);
	/* A retry judges again what it found present: count the last. */
	if (decided)
		c->stats.adds_checked += judged;
	return decided;
}

static bool fully_known(const ck_session *s)
{
	/* A view given up (CK_VIEW_MAX) is empty, not known. */
	if (s->known_end != s->n || s->view_lost)
		return false;
	CK_CHECK(s->mat == s->n, "entries before known_end are held");
	for (size_t i = 0; i < s->mat; i++)
		if (s->map[i].uid == 0)
			return false;
	return true;
}

void ck_lost_complete(model_checker *c, ck_session *s, const ck_op *op)
{
	if (op->op.kind == MODEL_OP_SELECT) {
		s->lost_pending = op->status == MODEL_REPLY_OK && s->box != NULL;
		s->lost_tried = false;
	}
	if (!s->lost_pending || s->box == NULL) {
		s->lost_pending = false;
		return;
	}
	/* After the first audit only a FETCH of identities can bring what a
	 * waiting slot needs. */
	if (s->lost_tried && (op->op.kind != MODEL_OP_FETCH || !(op->op.items & MODEL_F_ID)))
		return;
	if (!fully_known(s))
		return;
	s->lost_tried = true;
	if (audit(c, s, op))
		s->lost_pending = false;
}
