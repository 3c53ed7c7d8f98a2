/* The quiet checkpoint: once every session has synced in a quiet
 * mailbox, each view must match a fresh read (SESSION-VIEW-CONVERGES) and
 * every moved message must be somewhere (MOVE-NO-LOSS); then old flag
 * writes and expunge records are forgotten. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

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
				    ck_ops_maybe_removed(src, e->op_id, 0, (uint32_t)u) ||
				    (e->status == MODEL_REPLY_OK && ck_cap(c, MODEL_CAP_UIDPLUS) &&
				     moved_to_uid(e->dst, e->op_id, m->id) == 0) ||
				    ck_ops_maybe_removed(e->dst, 0, e->inv_t,
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
