/* The window of an opaque SYNC, seen from one replica's checker.
 *
 * An opaque SYNC (docs/history.md: `doveadm sync` run by the wire driver)
 * changes a replica without recording what it did. While it runs, from
 * its invoke to its completion (forever when its outcome is unknown, C2),
 * it may do exactly three things to every mailbox of the replica, and the
 * rules that would blame them ask this file first:
 *
 *  (a) add messages of any identity, even one an add here failed to add
 *      (a copy of it may come from the other replica): a message that
 *      appears is explained by it (explain() in epoch.c), but only at a
 *      UID no lower than what
 *      an add completed or a fresh UIDNEXT showed before the sync began
 *      (else UID-ORDER-GLOBAL), and below the UIDNEXT of the first fresh
 *      read invoked after it ended (what it added existed by then);
 *  (b) remove any message: ADD-NO-LOSS, MOVE-NO-LOSS and the told-gone
 *      rules count it as an expunger (ck_expunger_covers), except for a
 *      message a selection begun after the sync ended showed existing;
 *      UID-NO-REUSE stays: a UID gone stays gone;
 *  (c) set any flags on any message: an "any value" write in its window
 *      (as an index loss makes, but not definite: it may touch nothing),
 *      so FLAGS-MERGE explains a flag through it only when the sync did
 *      not end before the write that would otherwise rule it out.
 *
 * Everything else (UID-ASCENDING, UIDNEXT-MONO, the modseq rules, the
 * session rules) stays as for any server. A sync that exited non-zero may
 * have done part of its work (dsync "changes caused a desync"), so its
 * window counts like a completed one. A completed sync is forgotten with
 * the other completed ops at the next quiet checkpoint. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

/* Syncs of unknown outcome kept for mailboxes met later: the newest. */
#define CK_SYNC_KEEP_UNKNOWN 64

static bool opaque_sync(const ck_op *op)
{
	return op->op.kind == MODEL_OP_SYNC && op->op.opaque;
}

/* Registers sync op_id's adder, expunger and flag write on epoch b. */
static void open_on(ck_box *b, const ck_sync *sy)
{
	ck_op as_op = {.id = sy->op_id, .inv_t = sy->inv_t, .cmp_t = CK_NEVER};
	model_op_init(&as_op.op, MODEL_OP_SYNC);
	if (ck_adder_find(b, sy->op_id) != NULL)
		return; /* already open here */
	ck_adder *a = ck_adder_new(b, &as_op, 0);
	a->cmp_t = sy->cmp_t;
	ck_expunger *x = ck_expunger_new(b, &as_op, false, NULL);
	x->cmp_t = sy->cmp_t;
	model_op_free(&as_op.op);
	CM_GROW(b->wides, b->capwides, b->nwides + 1);
	ck_wide *wd = &b->wides[b->nwides++];
	memset(wd, 0, sizeof(*wd));
	wd->op_id = sy->op_id;
	wd->inv_t = sy->inv_t;
	wd->cmp_t = sy->cmp_t;
	wd->any = true;
	cm_uidset_add_range(&wd->uids, 1, UINT32_MAX);
	for (size_t i = 0; i < b->msgs.cap; i++)
		if (b->msgs.keys[i] != 0 && b->msgs.vals[i] != NULL)
			ck_flags_wide(b->msgs.vals[i], wd);
}

void ck_sync_invoke(model_checker *c, ck_op *op)
{
	if (!opaque_sync(op))
		return;
	CM_GROW(c->syncs, c->capsyncs, c->nsyncs + 1);
	ck_sync *sy = &c->syncs[c->nsyncs++];
	*sy = (ck_sync){.op_id = op->id, .inv_t = op->inv_t, .cmp_t = CK_NEVER};
	for (ck_box *b = c->boxes; b != NULL; b = b->next)
		open_on(b, sy);
}

void ck_sync_bind(model_checker *c, ck_box *b)
{
	for (size_t i = 0; i < c->nsyncs; i++)
		open_on(b, &c->syncs[i]);
}

/* The sync's end on epoch b: its window closes at cmp_t (CK_NEVER when
 * its outcome is unknown). */
static void close_on(ck_box *b, uint64_t op_id, uint64_t cmp_t, model_reply st)
{
	ck_adder *a = ck_adder_find(b, op_id);
	ck_expunger *x = ck_expunger_find(b, op_id);
	if (a == NULL || x == NULL)
		return;
	a->status = x->status = st;
	a->cmp_t = x->cmp_t = cmp_t;
	for (size_t i = 0; i < b->nwides; i++)
		if (b->wides[i].op_id == op_id)
			b->wides[i].cmp_t = cmp_t;
	for (size_t i = 0; i < b->msgs.cap; i++) {
		ck_msg *m = b->msgs.vals[i];
		if (b->msgs.keys[i] == 0 || m == NULL)
			continue;
		for (size_t k = 0; k < m->nw; k++)
			if (m->w[k].op_id == op_id)
				m->w[k].cmp_t = cmp_t;
	}
}

/* Drops ended syncs from the list new epochs bind to, and the oldest
 * syncs of unknown outcome beyond CK_SYNC_KEEP_UNKNOWN. */
static void keep_open(model_checker *c)
{
	size_t unknown = 0, w = 0;
	for (size_t i = 0; i < c->nsyncs; i++)
		unknown += c->syncs[i].unknown;
	for (size_t i = 0; i < c->nsyncs; i++) {
		const ck_sync *sy = &c->syncs[i];
		if (sy->cmp_t != CK_NEVER)
			continue;
		if (sy->unknown && unknown > CK_SYNC_KEEP_UNKNOWN) {
			unknown--;
			continue;
		}
		c->syncs[w++] = *sy;
	}
	c->nsyncs = w;
}

void ck_sync_complete(model_checker *c, const ck_op *op)
{
	if (!opaque_sync(op))
		return;
	bool lost = op->status == MODEL_REPLY_UNKNOWN;
	/* A failed run may have done part of its work: it counts as run. */
	model_reply st = lost ? MODEL_REPLY_UNKNOWN : MODEL_REPLY_OK;
	uint64_t cmp_t = lost ? CK_NEVER : op->cmp_t;
	CK_CHECK(lost || op->cmp_t != CK_NEVER, "a completed op has its time");
	for (ck_box *b = c->boxes; b != NULL; b = b->next)
		close_on(b, op->id, cmp_t, st);
	for (size_t i = 0; i < c->nsyncs; i++)
		if (c->syncs[i].op_id == op->id) {
			c->syncs[i].cmp_t = cmp_t;
			c->syncs[i].unknown = lost;
		}
	keep_open(c);
}

bool ck_sync_covers(const ck_box *b, const ck_expunger *x, uint32_t uid)
{
	assert(x->kind == MODEL_OP_SYNC);
	if (x->cmp_t == CK_NEVER || uid == 0)
		return true;
	const ck_msg *m = ck_map_get(&b->msgs, uid);
	return m == NULL || m->fresh_sel_t < x->cmp_t;
}

void ck_sync_seen(const ck_session *s, ck_msg *m)
{
	if (s != NULL && s->select_inv_t > m->fresh_sel_t)
		m->fresh_sel_t = s->select_inv_t;
}

void ck_sync_fresh(ck_box *b, const ck_op *op, uint32_t uidnext)
{
	for (size_t i = 0; i < b->nadders; i++) {
		ck_adder *a = &b->adders[i];
		if (a->kind == MODEL_OP_SYNC && a->cmp_t != CK_NEVER &&
		    a->cmp_t < op->inv_t && (a->uid_ceiling == 0 || uidnext < a->uid_ceiling))
			a->uid_ceiling = uidnext;
	}
}

bool ck_sync_explains_add(model_checker *c, ck_box *b, ck_msg *m, const ck_op *op)
{
	const ck_adder *low = NULL;
	for (size_t i = 0; i < b->nadders; i++) {
		const ck_adder *a = &b->adders[i];
		if (a->kind != MODEL_OP_SYNC || a->inv_t >= op->cmp_t ||
		    (a->uid_ceiling != 0 && m->uid >= a->uid_ceiling))
			continue;
		if (m->uid >= a->uid_floor) {
			m->add_op = a->op_id;
			return true;
		}
		low = a;
	}
	if (low == NULL)
		return false;
	ck_violation(c, MODEL_INV_UID_ORDER_GLOBAL, op, b, m->uid, low->op_id,
		     "message '%s' appeared as UID %" PRIu32 ", which only sync op %"
		     PRIu64 " could have added, but UIDs up to %" PRIu32 " were "
		     "assigned or announced (UIDNEXT) before that sync began",
		     m->has_id ? m->id : "?", m->uid, low->op_id, low->uid_floor - 1);
	return true;
}
