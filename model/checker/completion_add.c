/* APPEND, COPY and MOVE judged when they complete (section G of
 * docs/invariants.md): APPENDUID and COPYUID, the adder that pairs each
 * message an op adds with the UID it got, and MOVE's shape. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

/* Could every target of op have been expunged by someone else first?
 * Then an OK that copies nothing (and so has no COPYUID) is legal. */
static bool all_maybe_gone(const ck_op *op)
{
	if (op->box == NULL)
		return true;
	for (size_t r = 0; r < op->uids.n; r++)
		for (uint64_t u = op->uids.r[r].lo; u <= op->uids.r[r].hi; u++)
			if (!ck_ops_maybe_removed(op->box, op->id, 0, (uint32_t)u))
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

void ck_ops_complete_append(model_checker *c, ck_op *op, const model_result *res)
{
	const model_code *au = ck_find_code(res, MODEL_CODE_APPENDUID);
	if (op->status == MODEL_REPLY_OK && au != NULL) {
		ck_box *b = add_target(c, op, au->uidvalidity);
		if (cm_uidset_count(&au->set) != 1)
			ck_violation(c, MODEL_INV_APPENDUID_CONSISTENT, op, b, 0, 0,
				     "APPENDUID for one message names %" PRIu64 " UIDs",
				     cm_uidset_count(&au->set));
		ck_box_add(c, b, op, &au->set);
		settle_adder(b, op, NULL, &au->set);
		if (au->set.n > 0)
			ck_flags_initial(c, b, au->set.r[0].lo, op, true, op->op.flags);
		return;
	}
	if (op->dst != NULL)
		settle_adder(op->dst, op, NULL, NULL);
}

static bool copyuid_shape(model_checker *c, ck_op *op, const model_code *cu,
			  ck_box *b)
{
	uint64_t ns = cm_uidset_count(&cu->set), nd = cm_uidset_count(&cu->dst);
	if (ns != nd) {
		ck_violation(c, MODEL_INV_COPYUID_CONSISTENT, op, b, 0, 0,
			     "COPYUID pairs %" PRIu64 " source UIDs with %" PRIu64
			     " destination UIDs", ns, nd);
		return false;
	}
	const cm_uidset *asked = op->op.uid ? &op->op.set : &op->uids;
	uint32_t u;
	if (!cm_uidset_covers(asked, &cu->set, &u)) {
		ck_violation(c, MODEL_INV_COPYUID_CONSISTENT, op, b, u, 0,
			     "COPYUID lists source UID %" PRIu32 " that the command did "
			     "not name", u);
		return false;
	}
	return true;
}

void ck_ops_complete_copy(model_checker *c, ck_session *s, ck_op *op,
			  const model_result *res)
{
	const model_code *cu = ck_find_code(res, MODEL_CODE_COPYUID);
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
			ck_box_add(c, b, op, &cu->dst);
			settle_adder(b, op, &cu->set, &cu->dst);
			for (uint64_t i = 0; i < cm_uidset_count(&cu->dst) && i < CK_ADDER_SLOTS_MAX; i++)
				ck_flags_initial(c, b, cm_uidset_nth(&cu->dst, i), op, false, 0);
		}
		if (move && op->box != NULL)
			for (size_t i = 0; i < s->mat; i++)
				if (s->map[i].uid != 0 && cm_uidset_contains(&cu->set, s->map[i].uid))
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
