/* Rules judged when an op completes: STORE (section E), FETCH CHANGEDSINCE
 * and VANISHED (F), APPEND/COPY/MOVE (G), fresh reads (A, D), and the quiet
 * checkpoint (SESSION-VIEW-CONVERGES, MOVE-NO-LOSS). */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>


/* ---- helpers over a result ---- */

static const model_code *find_code(const model_result *res, model_code_kind kind)
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
static bool other_expunger(const ck_box *b, const ck_op *op, uint32_t uid)
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
				    !other_expunger(b, op, (uint32_t)uid))
					return true;
	}
	return false;
}

static bool removed_later(const ck_box *b, uint64_t self, uint64_t after_t,
			  uint32_t uid);

/* The last FETCH in res for uid (op->ut_uid resolves those without UID). */
static const model_fetch *fetch_for(const ck_op *op, const model_result *res,
				    uint32_t uid)
{
	for (size_t i = res->nut; i > 0; i--)
		if (res->ut[i - 1].kind == MODEL_UT_FETCH && op->ut_uid[i - 1] == uid)
			return &res->ut[i - 1].fetch;
	return NULL;
}


/* Could every target of op have been expunged by someone else first?
 * Then an OK that copies nothing (and so has no COPYUID) is legal. */
static bool all_maybe_gone(const ck_op *op)
{
	if (op->box == NULL)
		return true;
	for (size_t r = 0; r < op->uids.n; r++)
		for (uint64_t u = op->uids.r[r].lo; u <= op->uids.r[r].hi; u++)
			if (!removed_later(op->box, op->id, 0, (uint32_t)u))
				return false;
	return true;
}

/* ---- invoke-time registration ---- */

/* Slots an adder holds at most: a COPYUID may claim 2^32 UIDs. */
#define CK_ADDER_SLOTS_MAX 4096

/* A new adder of op in b with nslots slots (capped); an APPEND's or a
 * delivery's slot knows the message it adds and its flags. */
static ck_adder *adder_for(ck_box *b, const ck_op *op, uint64_t nslots)
{
	ck_adder *a = ck_adder_new(b, op, (size_t)CM_MIN(nslots, CK_ADDER_SLOTS_MAX));
	if (op->op.kind == MODEL_OP_APPEND || op->op.kind == MODEL_OP_DELIVER) {
		snprintf(a->slots[0].id, MODEL_ID_MAX, "%s", op->op.msg_id);
		a->flags = op->op.flags;
	}
	return a;
}

/* The op may add messages to op->dst: one slot per message. */
void ck_ops_bind_adder(model_checker *c, ck_op *op)
{
	(void)c;
	const model_op *o = &op->op;
	if (op->dst == NULL)
		return;
	if (o->kind == MODEL_OP_APPEND || o->kind == MODEL_OP_DELIVER) {
		adder_for(op->dst, op, 1);
		return;
	}
	if (op->box == NULL)
		return;
	ck_adder *a = adder_for(op->dst, op, cm_uidset_count(&op->uids));
	a->src = op->box;
	for (size_t i = 0; i < a->nslots; i++) {
		a->slots[i].src_uid = cm_uidset_nth(&op->uids, i);
		ck_msg *m = ck_map_get(&op->box->msgs, a->slots[i].src_uid);
		if (m != NULL && m->has_id)
			snprintf(a->slots[i].id, MODEL_ID_MAX, "%s", m->id);
	}
}

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
	default:
		break;
	}
}

/* ---- STORE ---- */

static ck_effect store_eff(const ck_op *op, const cm_uidset *modified, uint32_t uid)
{
	bool mod = cm_uidset_contains(modified, uid);
	switch (op->status) {
	case MODEL_REPLY_OK: return mod ? CK_EFF_NONE : CK_EFF_DEFINITE;
	case MODEL_REPLY_NO: return mod ? CK_EFF_NONE : CK_EFF_MAYBE;
	case MODEL_REPLY_BAD: return CK_EFF_NONE;
	default: return CK_EFF_MAYBE;
	}
}

/* MODIFIED as UIDs: sequence numbers for STORE, UIDs for UID STORE. */
static void modified_uids(const ck_session *s, const ck_op *op,
			  const model_result *res, cm_uidset *out)
{
	const model_code *mod = find_code(res, MODEL_CODE_MODIFIED);
	cm_uidset_clear(out);
	if (mod == NULL)
		return;
	if (op->op.uid) {
		cm_uidset_copy(out, &mod->set1);
		return;
	}
	for (size_t r = 0; r < mod->set1.n; r++)
		for (uint64_t q = mod->set1.r[r].lo; q <= mod->set1.r[r].hi && q <= s->mat; q++)
			if (s->map[q - 1].uid != 0)
				cm_uidset_add(out, s->map[q - 1].uid);
}

/* Flags of m at exactly modseq u, if some observation saw that state. */
static bool flags_at(const ck_msg *m, uint64_t u, cm_flags *flags_r)
{
	for (unsigned i = 0; i < m->nseen; i++)
		if (m->seen[i].modseq == u) {
			*flags_r = m->seen[i].flags;
			return true;
		}
	return false;
}

/* Did a change of the named flags (or any change, for FLAGS) with modseq
 * above u complete before op was invoked? Evidence: an observation with a
 * higher modseq, seen by an op that completed before. */
static bool changed_since(const ck_msg *m, const ck_op *op, uint64_t u)
{
	if (u == 0)
		return true; /* UNCHANGEDSINCE 0 always fails */
	cm_flags at_u;
	bool known_u = flags_at(m, u, &at_u);
	for (unsigned i = 0; i < m->nseen; i++) {
		if (m->seen[i].modseq <= u || m->seen[i].t >= op->inv_t)
			continue;
		if (op->op.mode == MODEL_STORE_REPLACE)
			return true;
		if (known_u && ((m->seen[i].flags ^ at_u) & op->op.flags))
			return true;
	}
	return false;
}

static void check_conditional(model_checker *c, ck_session *s, ck_op *op,
			      const model_result *res, const cm_uidset *modified)
{
	ck_box *b = op->box;
	uint64_t u = op->op.unchangedsince;
	for (size_t r = 0; r < op->uids.n; r++)
		for (uint64_t uid = op->uids.r[r].lo; uid <= op->uids.r[r].hi; uid++) {
			ck_msg *m = ck_map_get(&b->msgs, uid);
			if (m == NULL || m->told_gone_t <= op->cmp_t ||
			    removed_later(b, 0, op->inv_t, (uint32_t)uid))
				continue; /* expunged meanwhile: NO, OK or MODIFIED */
			bool in_mod = cm_uidset_contains(modified, (uint32_t)uid);
			/* Evidence completed before invoke: m->seen[] entries are
			 * recorded at completion; those with modseq > u that were
			 * seen before this op started count. */
			bool must_reject = changed_since(m, op, u);
			if (must_reject && !in_mod && op->status == MODEL_REPLY_OK)
				ck_violation(c, MODEL_INV_UNCHANGEDSINCE_REJECT, op, b, (uint32_t)uid, 0,
					     "UID %" PRIu64 " had been changed with a MODSEQ above "
					     "UNCHANGEDSINCE %" PRIu64 " before the STORE, yet the "
					     "STORE applied instead of listing it in MODIFIED", uid, u);
			const model_fetch *f = fetch_for(op, res, (uint32_t)uid);
			if (in_mod && f != NULL && (f->has & MODEL_F_MODSEQ) && f->modseq <= u &&
			    op->status == MODEL_REPLY_OK)
				ck_violation(c, MODEL_INV_MODIFIED_CORRECT, op, b, (uint32_t)uid, 0,
					     "UID %" PRIu64 " is in MODIFIED but its MODSEQ %" PRIu64
					     " is not above UNCHANGEDSINCE %" PRIu64, uid,
					     f->modseq, u);
			if (!in_mod && op->status == MODEL_REPLY_OK && f != NULL &&
			    (f->has & MODEL_F_MODSEQ) && f->modseq > u)
				continue;
			if (!in_mod && op->status == MODEL_REPLY_OK && s->condstore && f != NULL &&
			    !(f->has & MODEL_F_MODSEQ))
				ck_violation(c, MODEL_INV_MODSEQ_IN_FETCH, op, b, (uint32_t)uid, 0,
					     "conditional STORE's FETCH for UID %" PRIu64
					     " lacks MODSEQ", uid);
			if (uid - op->uids.r[r].lo > 10000)
				break;
		}
}

/* Other STOREs on the same message overlapping op? */
static bool store_overlapped(const ck_msg *m, const ck_op *op)
{
	for (size_t i = 0; i < m->nw; i++) {
		const ck_write *w = &m->w[i];
		if (!w->store || w->op_id == op->id || w->eff == CK_EFF_NONE)
			continue;
		if (w->inv_t < op->cmp_t && (w->cmp_t == CK_NEVER || w->cmp_t > op->inv_t))
			return true;
	}
	return false;
}

/* Was this MODSEQ (or a higher one) of m observed before t? Then a STORE
 * invoked at t that shows it changed nothing (or its FETCH predates it). */
static bool modseq_seen_before(const ck_msg *m, uint64_t modseq, uint64_t t)
{
	if (m->max_modseq >= modseq && m->max_modseq_t < t)
		return true;
	for (unsigned i = 0; i < m->nseen && i < 8; i++)
		if (m->seen[i].modseq >= modseq && m->seen[i].t < t)
			return true;
	return false;
}

static void store_unique(model_checker *c, ck_box *b, const ck_op *op,
			 const model_fetch *f, uint32_t uid)
{
	/* A conditional STORE with no other STORE overlapping it on the
	 * message: the MODSEQ its response shows is its own. */
	ck_msg *m = ck_map_get(&b->msgs, uid);
	if (m == NULL || store_overlapped(m, op) || f->modseq <= op->op.unchangedsince ||
	    modseq_seen_before(m, f->modseq, op->inv_t))
		return;
	for (size_t i = 0; i < b->nclaims; i++)
		if (b->claims[i].modseq == f->modseq && b->claims[i].op != op->id) {
			ck_violation(c, MODEL_INV_MODSEQ_STORE_UNIQUE, op, b, uid, b->claims[i].op,
				     "MODSEQ %" PRIu64 " was assigned by two STORE commands "
				     "(ops %" PRIu64 " and %" PRIu64 ")", f->modseq,
				     b->claims[i].op, op->id);
			return;
		}
	if (b->nclaims == 64)
		memmove(b->claims, b->claims + 1, 63 * sizeof(*b->claims));
	else
		b->nclaims++;
	b->claims[b->nclaims - 1].modseq = f->modseq;
	b->claims[b->nclaims - 1].op = op->id;
}

/* Before the response is replayed: the STORE's own writes become definite
 * (or not), so that its own FETCH responses are judged against them. */
void ck_ops_settle(model_checker *c, ck_session *s, ck_op *op, const model_result *res)
{
	ck_box *b = op->box;
	if (op->op.kind != MODEL_OP_STORE || b == NULL)
		return;
	cm_uidset modified = {0};
	modified_uids(s, op, res, &modified);
	if (!op->op.uid)
		/* The server's FETCH names the UID behind a sequence number
		 * the session only knew by EXISTS. */
		for (size_t i = 0; i < res->nut; i++) {
			const model_untagged *u = &res->ut[i];
			if (u->kind == MODEL_UT_FETCH && (u->fetch.has & MODEL_F_UID) &&
			    cm_uidset_contains(&op->op.set, u->n) &&
			    cm_uidset_contains(&op->maybe_uids, u->fetch.uid))
				cm_uidset_add(&op->uids, u->fetch.uid);
		}
	for (size_t r = 0; r < op->uids.n; r++)
		for (uint64_t uid = op->uids.r[r].lo; uid <= op->uids.r[r].hi; uid++) {
			const model_fetch *f = fetch_for(op, res, (uint32_t)uid);
			uint64_t ms = f && (f->has & MODEL_F_MODSEQ) ? f->modseq : 0;
			ck_effect eff = store_eff(op, &modified, (uint32_t)uid);
			/* Expunged by another session first, the message took
			 * nothing: an OK STORE may change no flags (RFC 2180
			 * 4.2), and its reply may show the flags it had. */
			if (eff == CK_EFF_DEFINITE && other_expunger(b, op, (uint32_t)uid))
				eff = CK_EFF_MAYBE;
			ck_flags_write(c, b, (uint32_t)uid, op, eff, ms);
		}
	for (size_t i = 0; i < b->nwides; i++)
		if (b->wides[i].op_id == op->id)
			b->wides[i].cmp_t = op->cmp_t;
	cm_uidset_free(&modified);
}

static void complete_store(model_checker *c, ck_session *s, ck_op *op,
			   const model_result *res)
{
	ck_box *b = op->box;
	if (b == NULL)
		return;
	cm_uidset modified = {0};
	modified_uids(s, op, res, &modified);
	if (op->op.has_unchangedsince && op->status == MODEL_REPLY_OK)
		for (size_t r = 0; r < op->uids.n; r++)
			for (uint64_t uid = op->uids.r[r].lo; uid <= op->uids.r[r].hi; uid++) {
				const model_fetch *f = fetch_for(op, res, (uint32_t)uid);
				if (f && (f->has & MODEL_F_MODSEQ) &&
				    !cm_uidset_contains(&modified, (uint32_t)uid))
					store_unique(c, b, op, f, (uint32_t)uid);
			}
	if (op->op.has_unchangedsince)
		check_conditional(c, s, op, res, &modified);
	cm_uidset_free(&modified);
}

/* ---- adds ---- */

/* Message uid was explained by a loose slot of another adder (same id, no
 * UID yet) before op named it exactly: two adders of one message (two
 * sessions MOVE or COPY it at once; a server that keeps an expunged
 * message readable, RFC 2180 4.1.1 and 4.4, lets both succeed) must not
 * leave that slot taken, or the message the other adder really added
 * finds none. The slot goes back to the other adder. */
static void reclaim_slot(ck_box *b, const ck_op *op, uint32_t uid)
{
	ck_msg *m = ck_map_get(&b->msgs, uid);
	if (m == NULL || !m->explained || m->add_exact || m->add_op == op->id ||
	    m->add_op == 0)
		return;
	ck_adder *x = ck_adder_find(b, m->add_op);
	ck_slot *any = NULL;
	for (size_t k = 0; x != NULL && k < x->nslots; k++) {
		ck_slot *sl = &x->slots[k];
		if (!sl->used || sl->uid != 0)
			continue;
		if (strcmp(sl->id, m->id) == 0) {
			any = sl;
			break;
		}
		if (sl->id[0] == '\0' && any == NULL)
			any = sl; /* an id-less slot it may have taken */
	}
	if (any != NULL) {
		any->used = false;
		any->seen_uid = 0;
	}
	m->add_op = op->id;
	m->add_exact = true;
}

static void settle_adder(ck_box *b, const ck_op *op, const cm_uidset *src,
			 const cm_uidset *dst)
{
	ck_adder *a = ck_adder_find(b, op->id);
	if (a == NULL) {
		/* Bound only now: its mailbox was unknown at invoke. */
		a = adder_for(b, op, dst && dst->n > 0 ? cm_uidset_count(dst) : 1);
	}
	a->status = op->status;
	a->cmp_t = op->cmp_t;
	if (dst == NULL || dst->n == 0)
		return;
	cm_uidset_copy(&a->uids, dst);
	uint64_t n = cm_uidset_count(dst), nsrc = src ? cm_uidset_count(src) : 0;
	uint64_t nuids = cm_uidset_count(&op->uids);
	for (uint64_t i = 0; i < n && i < a->nslots; i++) {
		/* Pair by position in ascending order (RFC 4315). For COPY the
		 * slot order is the op's source UIDs; COPYUID's source set may
		 * be a subset of them. */
		size_t slot = (size_t)i;
		if (src != NULL && op->uids.n > 0 && i < nsrc) {
			uint32_t su = cm_uidset_nth(src, i);
			/* The slots may outnumber the UIDs the op resolved (an
			 * adder made at completion has one per COPYUID pair). */
			for (size_t k = 0; k < a->nslots && k < nuids; k++)
				if (cm_uidset_nth(&op->uids, k) == su)
					slot = k;
		}
		a->slots[slot].uid = cm_uidset_nth(dst, i);
		reclaim_slot(b, op, a->slots[slot].uid);
	}
	/* A successful op that names its UIDs added nothing else. */
	if (op->status == MODEL_REPLY_OK)
		for (size_t k = 0; k < a->nslots; k++)
			if (a->slots[k].uid == 0)
				a->slots[k].none = true;
}

static ck_box *add_target(model_checker *c, ck_op *op, uint32_t uv)
{
	ck_box *b = ck_box_epoch(c, op, op->op.mailbox, uv);
	if (op->dst != NULL && op->dst != b) {
		/* The epoch we registered under was stale: move the adder. */
		ck_adder *a = ck_adder_find(op->dst, op->id);
		if (a != NULL) {
			ck_adder *n = ck_adder_new(b, op, a->nslots);
			free(n->slots);
			*n = *a;
			a->slots = NULL;
			a->nslots = 0;
			a->status = MODEL_REPLY_BAD;
		}
	}
	if (op->dst != b)
		ck_box_no_snap(op); /* its snapshots were of another mailbox */
	op->dst = b;
	return b;
}

static void complete_append(model_checker *c, ck_op *op, const model_result *res)
{
	const model_code *au = find_code(res, MODEL_CODE_APPENDUID);
	if (op->status == MODEL_REPLY_OK && au != NULL) {
		ck_box *b = add_target(c, op, au->uidvalidity);
		if (cm_uidset_count(&au->set1) != 1)
			ck_violation(c, MODEL_INV_APPENDUID_CONSISTENT, op, b, 0, 0,
				     "APPENDUID for one message names %" PRIu64 " UIDs",
				     cm_uidset_count(&au->set1));
		ck_box_add(c, b, op, &au->set1);
		settle_adder(b, op, NULL, &au->set1);
		if (au->set1.n > 0)
			ck_flags_initial(c, b, au->set1.r[0].lo, op, true, op->op.flags);
		return;
	}
	if (op->dst != NULL)
		settle_adder(op->dst, op, NULL, NULL);
}

static bool copyuid_shape(model_checker *c, ck_op *op, const model_code *cu,
			  ck_box *b)
{
	uint64_t ns = cm_uidset_count(&cu->set1), nd = cm_uidset_count(&cu->set2);
	if (ns != nd) {
		ck_violation(c, MODEL_INV_COPYUID_CONSISTENT, op, b, 0, 0,
			     "COPYUID pairs %" PRIu64 " source UIDs with %" PRIu64
			     " destination UIDs", ns, nd);
		return false;
	}
	const cm_uidset *asked = op->op.uid ? &op->op.set : &op->uids;
	uint32_t u;
	if (!cm_uidset_covers(asked, &cu->set1, &u)) {
		ck_violation(c, MODEL_INV_COPYUID_CONSISTENT, op, b, u, 0,
			     "COPYUID lists source UID %" PRIu32 " that the command did "
			     "not name", u);
		return false;
	}
	return true;
}

static void complete_copy(model_checker *c, ck_session *s, ck_op *op,
			  const model_result *res)
{
	const model_code *cu = find_code(res, MODEL_CODE_COPYUID);
	bool move = op->op.kind == MODEL_OP_MOVE;
	if (move && op->box != NULL) {
		ck_expunger *e = ck_expunger_find(op->box, op->id);
		if (e != NULL) {
			e->status = op->status;
			e->cmp_t = op->cmp_t;
		}
	}
	if (op->status == MODEL_REPLY_OK && cu != NULL) {
		ck_box *b = add_target(c, op, cu->uidvalidity);
		if (move && op->box != NULL) {
			ck_expunger *e = ck_expunger_find(op->box, op->id);
			if (e != NULL)
				e->dst = b;
		}
		if (copyuid_shape(c, op, cu, b)) {
			ck_box_add(c, b, op, &cu->set2);
			settle_adder(b, op, &cu->set1, &cu->set2);
			for (uint64_t i = 0; i < cm_uidset_count(&cu->set2) && i < CK_ADDER_SLOTS_MAX; i++)
				ck_flags_initial(c, b, cm_uidset_nth(&cu->set2, i), op, false, 0);
		}
		if (move && op->box != NULL)
			for (size_t i = 0; i < s->mat; i++)
				if (s->map[i].uid != 0 && cm_uidset_contains(&cu->set1, s->map[i].uid))
					ck_violation(c, MODEL_INV_MOVE_SHAPE, op, op->box, s->map[i].uid, 0,
						     "MOVE completed without expunging moved UID %"
						     PRIu32 " in the moving session", s->map[i].uid);
	} else if (op->status == MODEL_REPLY_OK && ck_cap(c, MODEL_CAP_UIDPLUS) &&
		   op->uids.n > 0 && move && !all_maybe_gone(op)) {
		ck_violation(c, MODEL_INV_MOVE_SHAPE, op, op->box, 0, 0,
			     "MOVE of %" PRIu64 " messages completed without COPYUID",
			     cm_uidset_count(&op->uids));
	}
	if (op->dst != NULL && (op->status != MODEL_REPLY_OK || cu == NULL))
		settle_adder(op->dst, op, NULL, NULL);
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
	const model_code *h = find_code(res, MODEL_CODE_HIGHESTMODSEQ);
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

/* ---- CHANGEDSINCE and VANISHED (EARLIER) ---- */

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
		    !cm_uidset_contains(&held, m->uid))
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

static void complete_fetch(model_checker *c, ck_session *s, ck_op *op,
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

/* ---- SELECT and STATUS: fresh reads ---- */

static void complete_select(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res)
{
	ck_box *b = s->box;
	if (op->status != MODEL_REPLY_OK || b == NULL)
		return;
	const model_code *un = find_code(res, MODEL_CODE_UIDNEXT);
	const model_code *hm = find_code(res, MODEL_CODE_HIGHESTMODSEQ);
	if (op->dst != b)
		ck_box_no_snap(op); /* an epoch unknown at invoke: nothing to compare */
	ck_box_fresh(c, b, op, un != NULL, un ? (uint32_t)un->value : 0, hm != NULL,
		     hm ? hm->value : 0);
	if (!op->op.qresync || !s->qresync)
		return;
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

static void complete_status(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res)
{
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind != MODEL_UT_STATUS)
			continue;
		const model_status_data *d = &u->status;
		if ((d->has & MODEL_STATUS_HIGHESTMODSEQ) &&
		    (d->highestmodseq > INT64_MAX || d->highestmodseq == 0))
			ck_violation(c, d->highestmodseq == 0 ? MODEL_INV_NOMODSEQ_RULES
							      : MODEL_INV_MODSEQ_POSITIVE,
				     op, NULL, 0, 0, "STATUS HIGHESTMODSEQ %" PRIu64 " for %s",
				     d->highestmodseq, op->op.mailbox);
		/* C3: STATUS on the selected mailbox may lag; only others are fresh. */
		if (!(d->has & MODEL_STATUS_UIDVALIDITY) ||
		    (s->box != NULL && strcmp(s->mailbox, op->op.mailbox) == 0))
			continue;
		ck_box *b = ck_box_epoch(c, op, op->op.mailbox, d->uidvalidity);
		if (op->dst != b)
			ck_box_no_snap(op);
		ck_box_fresh(c, b, op, (d->has & MODEL_STATUS_UIDNEXT) != 0, d->uidnext,
			     (d->has & MODEL_STATUS_HIGHESTMODSEQ) && d->highestmodseq != 0,
			     d->highestmodseq);
	}
}

static void complete_enable(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res)
{
	if (op->status != MODEL_REPLY_OK || s->box == NULL || op->was_condstore ||
	    !s->condstore)
		return;
	if (find_code(res, MODEL_CODE_HIGHESTMODSEQ) == NULL &&
	    find_code(res, MODEL_CODE_NOMODSEQ) == NULL)
		ck_violation(c, MODEL_INV_MODSEQ_IN_FETCH, op, s->box, 0, 0,
			     "enabling CONDSTORE while a mailbox is selected did not send "
			     "HIGHESTMODSEQ");
}

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
	case MODEL_OP_SELECT: complete_select(c, s, op, res); break;
	case MODEL_OP_STATUS: complete_status(c, s, op, res); break;
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER: complete_append(c, op, res); break;
	case MODEL_OP_STORE: complete_store(c, s, op, res); break;
	case MODEL_OP_FETCH: complete_fetch(c, s, op, res); break;
	case MODEL_OP_EXPUNGE: complete_expunge(c, s, op, res); break;
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE: complete_copy(c, s, op, res); break;
	case MODEL_OP_ENABLE: complete_enable(c, s, op, res); break;
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

/* ---- the quiet checkpoint ---- */

struct conv_ctx {
	model_checker *c;
	ck_op *op;
};

static void converge_one(void *ctx, void *val)
{
	struct conv_ctx *x = ctx;
	ck_session *s = val;
	ck_box *b = s->box;
	if (b == NULL || !b->ckpt_seen || s->checkpoint_t <= x->c->checkpoint_inv_t ||
	    s->select_inv_t > x->c->checkpoint_inv_t || s->view_lost)
		return; /* not part of this checkpoint, or the fresh reader itself */
	bool same = cm_uidset_count(&b->ckpt_uids) == s->n;
	/* Entry i against the i-th fresh UID, walking both in step. */
	size_t r = 0;
	uint64_t at = 0; /* members of ckpt_uids before range r */
	for (size_t i = 0; same && i < s->mat; i++) {
		while (r < b->ckpt_uids.n &&
		       i >= at + b->ckpt_uids.r[r].hi - b->ckpt_uids.r[r].lo + 1) {
			at += (uint64_t)b->ckpt_uids.r[r].hi - b->ckpt_uids.r[r].lo + 1;
			r++;
		}
		assert(r < b->ckpt_uids.n); /* counts are equal */
		if (s->map[i].uid != 0 && s->map[i].uid != b->ckpt_uids.r[r].lo + (i - at))
			same = false;
	}
	if (!same)
		ck_violation(x->c, MODEL_INV_SESSION_VIEW_CONVERGES, x->op, b, 0, 0,
			     "after NOOP in a quiet mailbox, client %" PRIu32 " has %zu "
			     "messages but a fresh EXAMINE sees %" PRIu64, s->client, s->n,
			     cm_uidset_count(&b->ckpt_uids));
}

static bool id_in(const ck_box *b, const char *id)
{
	cm_uidset known = {0};
	ck_box_existing(b, &b->ckpt_uids, &known);
	bool in = false;
	for (size_t r = 0; r < known.n && !in; r++)
		for (uint64_t u = known.r[r].lo; u <= known.r[r].hi && !in; u++) {
			const ck_msg *m = ck_map_get(&b->msgs, u);
			in = m->has_id && strcmp(m->id, id) == 0;
		}
	cm_uidset_free(&known);
	return in;
}

/* Could an op other than `self`, not completed before `after_t`, have
 * removed UID `uid` (0: unknown) from `b`? Then the message may have moved
 * on, and that op answers for it. */
static bool removed_later(const ck_box *b, uint64_t self, uint64_t after_t, uint32_t uid)
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

bool ck_ops_maybe_removed(const ck_box *b, uint64_t self, uint64_t after_t, uint32_t uid)
{
	return removed_later(b, self, after_t, uid);
}

/* The UID the MOVE gave the message in its target, 0 if unknown. */
static uint32_t moved_to_uid(ck_box *dst, uint64_t op_id, const char *id)
{
	const ck_adder *a = ck_adder_find(dst, op_id);
	if (a == NULL)
		return 0;
	for (size_t i = 0; i < a->nslots; i++)
		if (a->slots[i].uid != 0 && strcmp(a->slots[i].id, id) == 0)
			return a->slots[i].uid;
	return 0;
}

static void move_no_loss(model_checker *c, ck_op *cp, ck_box *src)
{
	for (size_t i = 0; i < src->nexps; i++) {
		const ck_expunger *e = &src->exps[i];
		if (e->kind != MODEL_OP_MOVE || e->status == MODEL_REPLY_NO ||
		    e->status == MODEL_REPLY_BAD || e->dst == NULL || !e->dst->ckpt_seen)
			continue;
		cm_uidset known = {0};
		if (e->uids.n < 1024)
			ck_box_existing(src, &e->uids, &known);
		for (size_t r = 0; r < known.n; r++)
			for (uint64_t u = known.r[r].lo; u <= known.r[r].hi; u++) {
				const ck_msg *m = ck_map_get(&src->msgs, u);
				if (!m->has_id || m->seen_t > e->inv_t ||
				    cm_uidset_contains(&src->ckpt_uids, (uint32_t)u) ||
				    id_in(e->dst, m->id) ||
				    ck_flags_could_be_set(m, CM_FLAG_DELETED, CK_NEVER) ||
				    removed_later(src, e->op_id, 0, (uint32_t)u) ||
				    (e->status == MODEL_REPLY_OK && ck_cap(c, MODEL_CAP_UIDPLUS) &&
				     moved_to_uid(e->dst, e->op_id, m->id) == 0) ||
				    removed_later(e->dst, 0, e->inv_t,
						  moved_to_uid(e->dst, e->op_id, m->id)))
					continue;
				ck_violation(c, MODEL_INV_MOVE_NO_LOSS, cp, src, (uint32_t)u, e->op_id,
					     "after MOVE op %" PRIu64 ", message '%s' (UID %" PRIu64
					     ") is in neither %s nor %s", e->op_id, m->id, u,
					     src->name, e->dst->name);
			}
		cm_uidset_free(&known);
	}
}

void ck_ops_checkpoint(model_checker *c, ck_op *op)
{
	struct conv_ctx x = {c, op};
	ck_map_each(&c->sessions, converge_one, &x);
	for (ck_box *b = c->boxes; b != NULL; b = b->next)
		if (b->ckpt_seen)
			move_no_loss(c, op, b);
	for (ck_box *b = c->boxes; b != NULL; b = b->next) {
		if (!b->ckpt_seen)
			continue; /* its fresh read failed: nothing was seen */
		ck_flags_reset(b, op->cmp_t, op->inv_t);
		ck_box_forget(b);
		for (size_t i = 0; i < b->msgs.cap; i++) {
			ck_msg *m = b->msgs.vals[i];
			if (b->msgs.keys[i] != 0 && m != NULL)
				m->must_exist_since = 0;
		}
		cm_uidset_clear(&b->ckpt_uids);
		b->ckpt_seen = false;
		b->last_checkpoint_t = op->cmp_t;
	}
}
