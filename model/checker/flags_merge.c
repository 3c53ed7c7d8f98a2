/* FLAGS-MERGE: per message and per flag bit, every observed value must be
 * explained by one write (a STORE, the message's initial flags, or a fault
 * that lost them) that may be the last one applied when the observation was
 * made. A write w rules out an older candidate c when w is definitely
 * applied, sets the other value, is definitely after c (c completed before
 * w was invoked) and is definitely visible to the observer: its own
 * completed STOREs, anything completed before its fresh SELECT, and the
 * STORE whose response it is. Lagging sessions (RFC 3501 allows them to
 * learn changes late) are thereby never blamed; lost updates are. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

#define CK_MAX_WRITES 128

static ck_write *push_write(ck_msg *m)
{
	CM_GROW(m->w, m->capw, m->nw + 1);
	ck_write *w = &m->w[m->nw++];
	memset(w, 0, sizeof(*w));
	return w;
}

/* Drops the oldest completed writes when a message's history grows long;
 * what they did becomes an "any value" initial state as of their end. */
static void prune(ck_msg *m)
{
	if (m->nw < CK_MAX_WRITES)
		return;
	size_t keep_from = m->nw / 2;
	uint64_t cut = 0;
	size_t w = 0;
	for (size_t i = 0; i < m->nw; i++) {
		if (i < keep_from && m->w[i].cmp_t != CK_NEVER) {
			cut = CM_MAX(cut, m->w[i].cmp_t);
			continue;
		}
		m->w[w++] = m->w[i];
	}
	m->nw = w;
	m->truncated = true;
	m->trunc_t = CM_MAX(m->trunc_t, cut);
}

static void store_effect(const model_op *o, cm_flags *touch, cm_flags *value)
{
	*touch = *value = 0;
	switch (o->mode) {
	case MODEL_STORE_REPLACE: *touch = CK_ALL_BITS; *value = o->flags; break;
	case MODEL_STORE_ADD: *touch = o->flags; *value = o->flags; break;
	case MODEL_STORE_REMOVE: *touch = o->flags; *value = 0; break;
	}
}

void ck_flags_write(model_checker *c, ck_box *b, uint32_t uid, const ck_op *op,
		    ck_effect eff, uint64_t modseq)
{
	(void)c;
	ck_msg *m = ck_msg_get(b, uid, true);
	for (size_t i = m->nw; i > 0; i--) {
		ck_write *w = &m->w[i - 1];
		if (w->op_id == op->id) {
			/* Completion of a write registered at invoke. */
			w->cmp_t = op->cmp_t;
			w->eff = eff;
			w->modseq = modseq;
			return;
		}
	}
	prune(m);
	ck_write *w = push_write(m);
	w->op_id = op->id;
	w->client = op->client;
	w->inv_t = op->inv_t;
	w->cmp_t = op->cmp_t;
	w->eff = eff;
	w->store = true;
	w->modseq = modseq;
	store_effect(&op->op, &w->touch, &w->value);
}

void ck_flags_wide(ck_msg *m, const ck_wide *wd)
{
	ck_write *w = push_write(m);
	w->op_id = wd->op_id;
	w->client = wd->client;
	w->inv_t = wd->inv_t;
	w->cmp_t = wd->cmp_t;
	w->eff = CK_EFF_MAYBE; /* it may not have reached this message */
	if (wd->any) {
		w->touch = CK_ALL_BITS; /* an opaque SYNC: any value of any flag */
		w->any_value = true;
		return;
	}
	w->store = true;
	model_op o;
	model_op_init(&o, MODEL_OP_STORE);
	o.mode = wd->mode;
	o.flags = wd->flags;
	store_effect(&o, &w->touch, &w->value);
}

void ck_flags_initial(model_checker *c, ck_box *b, uint32_t uid, const ck_op *op,
		      bool known, cm_flags flags)
{
	(void)c;
	ck_msg *m = ck_msg_get(b, uid, true);
	for (size_t i = 0; i < m->nw; i++)
		if (!m->w[i].store && m->w[i].op_id == op->id)
			return;
	ck_write *w = push_write(m);
	w->op_id = op->id;
	w->client = op->client;
	w->inv_t = op->inv_t;
	w->cmp_t = op->cmp_t;
	w->touch = CK_ALL_BITS;
	w->value = flags;
	w->any_value = !known;
	w->eff = CK_EFF_DEFINITE;
	m->has_initial = true;
}

void ck_flags_fault(ck_box *b, uint64_t t, uint64_t op_id)
{
	for (size_t i = 0; i < b->msgs.cap; i++) {
		ck_msg *m = b->msgs.vals[i];
		if (b->msgs.keys[i] == 0 || m == NULL)
			continue;
		ck_write *w = push_write(m);
		w->op_id = op_id;
		w->inv_t = w->cmp_t = t;
		w->touch = CK_ALL_BITS;
		w->any_value = true;
		w->eff = CK_EFF_DEFINITE;
	}
}

void ck_flags_reset(ck_box *b, uint64_t t, uint64_t quiet_since)
{
	for (size_t i = 0; i < b->msgs.cap; i++) {
		ck_msg *m = b->msgs.vals[i];
		if (b->msgs.keys[i] == 0 || m == NULL)
			continue;
		size_t w = 0;
		for (size_t k = 0; k < m->nw; k++)
			if (m->w[k].cmp_t == CK_NEVER && m->w[k].eff == CK_EFF_MAYBE &&
			    m->w[k].inv_t > t)
				m->w[w++] = m->w[k];
		m->nw = w;
		m->truncated = true;
		m->trunc_t = t;
		/* What a quiet read saw is the state now. */
		m->clear_seen = m->last_obs_inv_t > quiet_since ? ~m->last_obs_flags : 0;
	}
}

bool ck_flags_could_be_set(const ck_msg *m, cm_flags bit, uint64_t before_t)
{
	bool touched = false, initial = false;
	for (size_t i = 0; i < m->nw; i++) {
		const ck_write *w = &m->w[i];
		initial |= !w->store && w->touch == CK_ALL_BITS;
		if (w->eff == CK_EFF_NONE || !(w->touch & bit))
			continue;
		touched = true;
		if (w->inv_t < before_t && (w->any_value || (w->value & bit)))
			return true;
	}
	if (m->has_initial && !m->truncated) {
		CK_CHECK(initial, "FLAGS-MERGE: a known initial state is among the candidates");
		return false;
	}
	/* Unknown initial state: only an observation of the bit clear, with
	 * nothing ever touching it, says it was always clear. */
	return touched || !(m->clear_seen & bit);
}

/* ---- observations ---- */

typedef struct obs {
	const ck_session *s;
	const ck_op *op;
	uint64_t floor;     /* writes completed before it are visible */
	bool before_own;    /* may predate the op's own write */
} obs;

static bool visible(const obs *o, const ck_write *w)
{
	if (w->eff != CK_EFF_DEFINITE || w->any_value)
		return false;
	if (w->op_id == o->op->id)
		return !o->before_own; /* the STORE whose response this is */
	if (w->cmp_t == CK_NEVER)
		return false;
	if (w->client == o->s->client && w->cmp_t < o->op->inv_t)
		return true;  /* read your own writes */
	return w->cmp_t < o->floor;
}

/* The write that rules out every explanation, or NULL if one exists. */
static const ck_write *unexplained(const ck_msg *m, const obs *o, cm_flags bit,
				   bool v)
{
	const ck_write *killer = NULL;
	uint64_t maxinv = 0;
	for (size_t i = 0; i < m->nw; i++) {
		const ck_write *w = &m->w[i];
		if (!(w->touch & bit) || !visible(o, w) || ((w->value & bit) != 0) == v)
			continue;
		if (killer == NULL || w->inv_t >= maxinv) {
			maxinv = w->inv_t;
			killer = w;
		}
	}
	/* The initial state (or what pruned writes left) explains v unless
	 * something visible and opposite came after it. */
	if (killer == NULL && (!m->has_initial || m->truncated))
		return NULL;
	if (m->truncated && maxinv <= m->trunc_t)
		return NULL;
	for (size_t i = 0; i < m->nw; i++) {
		const ck_write *w = &m->w[i];
		if (!(w->touch & bit) || w->eff == CK_EFF_NONE ||
		    w->inv_t >= o->op->cmp_t)
			continue;
		if (!w->any_value && ((w->value & bit) != 0) != v)
			continue;
		if (killer == NULL || w->cmp_t == CK_NEVER || w->cmp_t >= maxinv)
			return NULL;
	}
	if (killer == NULL) {
		/* No write can give v, and the known initial value differs. */
		static const ck_write none = {0};
		CK_CHECK(m->has_initial && !m->truncated && ck_has_initial_write(m),
			 "FLAGS-MERGE: a report cites an initial state among the candidates");
		return &none;
	}
	return killer;
}

static cm_flags bits_of_interest(const ck_msg *m, cm_flags observed)
{
	cm_flags bits = observed;
	for (size_t i = 0; i < m->nw; i++) {
		bits |= m->w[i].value;
		if (m->w[i].touch != CK_ALL_BITS)
			bits |= m->w[i].touch;
	}
	return bits;
}

static model_inv classify(model_checker *c, const ck_msg *m, const obs *o,
			  cm_flags bit, const ck_write *killer)
{
	const ck_op *op = o->op;
	if (op->op.kind == MODEL_OP_STORE && cm_uidset_contains(&op->uids, m->uid)) {
		cm_flags touch, value;
		store_effect(&op->op, &touch, &value);
		if (touch & bit)
			return MODEL_INV_STORE_RESPONSE_VALUE;
	}
	if (killer != NULL && killer->op_id != 0 && killer->cmp_t != CK_NEVER &&
	    c->last_crash_t > killer->cmp_t && c->last_crash_t < op->inv_t)
		return MODEL_INV_STORE_DURABLE;
	return MODEL_INV_FLAGS_MERGE;
}

void ck_flags_observe(model_checker *c, ck_session *s, ck_box *b, uint32_t uid,
		      const ck_op *op, cm_flags flags, bool before_own)
{
	ck_msg *m = ck_msg_get(b, uid, true);
	/* A STORE finds a message expunged meanwhile untouched. */
	obs o = {s, op, s->select_inv_t,
		 before_own || (op->op.kind == MODEL_OP_STORE &&
				ck_ops_maybe_removed(b, 0, op->inv_t, uid))};
	m->clear_seen |= ~flags;
	m->last_obs_flags = flags;
	m->last_obs_inv_t = op->inv_t;
	cm_flags bits = bits_of_interest(m, flags);
	c->stats.flag_searches++;
	for (int bi = 0; bi < CM_FLAGS_MAX && bits != 0; bi++) {
		cm_flags bit = (cm_flags)1 << bi;
		if (!(bits & bit))
			continue;
		bits &= ~bit;
		bool v = (flags & bit) != 0;
		const ck_write *killer = unexplained(m, &o, bit, v);
		if (killer == NULL)
			continue;
		model_inv inv = classify(c, m, &o, bit, killer);
		const char *name = cm_flag_name(bi);
		if (killer->op_id == 0)
			ck_violation(c, inv, op, b, uid, 0,
				     "UID %" PRIu32 " shows %s %s, but no STORE could have "
				     "made it so and its initial flags say otherwise",
				     uid, name ? name : "?", v ? "set" : "clear");
		else
			ck_violation(c, inv, op, b, uid, killer->op_id,
				     "UID %" PRIu32 " shows %s %s, but op %" PRIu64 " (client %"
				     PRIu32 ") %s it and completed before this session could "
				     "miss it, with nothing later %s it", uid,
				     name ? name : "?", v ? "set" : "clear", killer->op_id,
				     killer->client, v ? "cleared" : "set",
				     v ? "setting" : "clearing");
		return; /* one report per observation */
	}
}
