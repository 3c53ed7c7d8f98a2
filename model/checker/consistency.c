/* The checker's consistency checks (consistency.h). */
#include "checker_private.h"

_Noreturn void ck_check_fail(const char *what, const char *cond,
			     const char *file, int line)
{
	cm_panic("checker consistency check broken at %s:%d: %s (%s)", file, line,
		 what, cond);
}

bool ck_uidset_ok(const cm_uidset *s)
{
	if (s->n > s->cap || (s->n > 0 && s->r == NULL))
		return false;
	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].lo == 0 || s->r[i].lo > s->r[i].hi)
			return false;
		if (i > 0 && (uint64_t)s->r[i - 1].hi + 1 >= s->r[i].lo)
			return false;
	}
	return true;
}

bool ck_view_ok(const ck_session *s)
{
	size_t n = s->mat;
	if (s->known_end > s->mat || s->mat > s->n || s->mat > s->cap ||
	    s->nruns > s->caprun)
		return false;
	for (size_t k = 0; k < s->nruns; k++) {
		if (s->runs[k].count == 0)
			return false;
		n += s->runs[k].count;
	}
	return n == s->n;
}

bool ck_view_deep_ok(const ck_session *s)
{
	if (!ck_view_ok(s))
		return false;
	for (size_t i = s->known_end; i < s->mat; i++)
		if (s->map[i].uid != 0)
			return false;
	return true;
}

static size_t home_of(uint64_t key, size_t cap)
{
	/* map.c's slot_of: the same mixer. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

bool ck_map_ok(const ck_map *m)
{
	if (m->cap == 0)
		return m->n == 0;
	if ((m->cap & (m->cap - 1)) != 0 || m->n * 4 > m->cap * 3)
		return false;
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == 0)
			continue;
		n++;
		/* Linear probing without tombstones: no empty slot lies between
		 * a key's home and the key. */
		for (size_t j = home_of(m->keys[i], m->cap); j != i;
		     j = (j + 1) & (m->cap - 1))
			if (m->keys[j] == 0)
				return false;
	}
	return n == m->n;
}

bool ck_has_initial_write(const ck_msg *m)
{
	for (size_t i = 0; i < m->nw; i++)
		if (!m->w[i].store && m->w[i].touch == CK_ALL_BITS)
			return true;
	return false;
}

#ifndef RATCHET_NO_ASSERT

static bool box_known(const model_checker *c, const ck_box *b)
{
	if (b == NULL)
		return true;
	for (const ck_box *x = c->boxes; x != NULL; x = x->next)
		if (x == b)
			return true;
	return false;
}

static void check_msgs(const model_checker *c, const ck_box *b)
{
	CK_CHECK(ck_map_ok(&b->msgs), "an epoch's message map keeps its probe rules");
	for (size_t i = 0; i < b->msgs.cap; i++) {
		const ck_msg *m = b->msgs.vals[i];
		if (b->msgs.keys[i] == 0 || m == NULL)
			continue;
		CK_CHECK(m->uid == b->msgs.keys[i], "a message is filed under its UID");
		CK_CHECK(m->nw <= m->capw && m->nseen <= 8,
			 "a message's writes and modseqs fit their arrays");
		CK_CHECK(m->told_gone_t == CK_NEVER || m->told_gone_crashes <= c->crashes,
			 "a message's expunge refers to a crash epoch that was");
		CK_CHECK(!m->has_initial || m->truncated || ck_has_initial_write(m),
			 "FLAGS-MERGE: a known initial state is among the candidates");
	}
}

static void check_box(const model_checker *c, const ck_box *b)
{
	for (const ck_box *x = b->next; x != NULL; x = x->next)
		CK_CHECK(x->uidvalidity != b->uidvalidity || strcmp(x->name, b->name) != 0,
			 "one epoch per name and UIDVALIDITY");
	check_msgs(c, b);
	CK_CHECK(b->max_highestmodseq_crashes <= c->crashes,
		 "an epoch's HIGHESTMODSEQ refers to a crash epoch that was");
	CK_CHECK(ck_uidset_ok(&b->ckpt_uids), "UID sets are sorted and disjoint");
	for (size_t i = 0; i < b->nadders; i++) {
		const ck_adder *a = &b->adders[i];
		CK_CHECK(ck_uidset_ok(&a->uids), "UID sets are sorted and disjoint");
		CK_CHECK(box_known(c, a->src), "an adder's source is a live epoch");
		CK_CHECK(a->nslots == 0 || a->slots != NULL, "an adder has its slots");
		CK_CHECK(a->cmp_t == CK_NEVER || a->cmp_t > a->inv_t,
			 "an adder completes after its invoke");
	}
	for (size_t i = 0; i < b->nexps; i++) {
		const ck_expunger *x = &b->exps[i];
		CK_CHECK(ck_uidset_ok(&x->uids), "UID sets are sorted and disjoint");
		CK_CHECK(box_known(c, x->dst), "a MOVE's target is a live epoch");
		CK_CHECK(x->cmp_t == CK_NEVER || x->cmp_t > x->inv_t,
			 "an expunger completes after its invoke");
	}
	for (size_t i = 0; i < b->nwides; i++)
		CK_CHECK(ck_uidset_ok(&b->wides[i].uids), "UID sets are sorted and disjoint");
}

static bool adder_pending(ck_box *b, uint64_t id)
{
	const ck_adder *a = b != NULL ? ck_adder_find(b, id) : NULL;
	return a != NULL && a->status == MODEL_REPLY_NONE;
}

static bool expunger_pending(ck_box *b, uint64_t id)
{
	const ck_expunger *x = b != NULL ? ck_expunger_find(b, id) : NULL;
	return x != NULL && x->status == MODEL_REPLY_NONE;
}

struct all_ctx {
	const model_checker *c;
	size_t held;
};

static void check_op(void *ctx, void *val)
{
	const model_checker *c = ((struct all_ctx *)ctx)->c;
	const ck_op *op = val;
	model_op_kind k = op->op.kind;
	CK_CHECK(ck_map_get(&c->ops, op->id) == op && !op->done &&
		 op->cmp_t == CK_NEVER && op->inv_t <= c->last_t,
		 "an op in flight was invoked and has not completed");
	CK_CHECK(box_known(c, op->box) && box_known(c, op->dst),
		 "an op's epochs are live");
	CK_CHECK(ck_uidset_ok(&op->uids) && ck_uidset_ok(&op->maybe_uids) &&
		 ck_uidset_ok(&op->op.set), "UID sets are sorted and disjoint");
	bool adds = k == MODEL_OP_APPEND || k == MODEL_OP_DELIVER ||
		    ((k == MODEL_OP_COPY || k == MODEL_OP_MOVE) && op->box != NULL);
	CK_CHECK(!adds || op->dst == NULL || adder_pending(op->dst, op->id),
		 "an add in flight has its pending adder in its target epoch");
	CK_CHECK((k != MODEL_OP_MOVE && k != MODEL_OP_EXPUNGE) || op->box == NULL ||
		 expunger_pending(op->box, op->id),
		 "an expunge or MOVE in flight has its pending expunger");
}

static void check_session(void *ctx, void *val)
{
	struct all_ctx *x = ctx;
	const ck_session *s = val;
	CK_CHECK(s->c == x->c && ck_map_get(&x->c->sessions, (uint64_t)s->client + 1) == s,
		 "a session is filed under its client");
	CK_CHECK(box_known(x->c, s->box), "a session's selected epoch is live");
	CK_CHECK(ck_view_deep_ok(s), "a session's view is its entries plus its runs");
	x->held += s->mat;
}

void ck_check_all(const model_checker *c)
{
	struct all_ctx x = {c, 0};
	CK_CHECK(ck_map_ok(&c->ops) && ck_map_ok(&c->sessions),
		 "the op and session maps keep their probe rules");
	ck_map_each(&c->ops, check_op, &x);
	ck_map_each(&c->sessions, check_session, &x);
	CK_CHECK(x.held == c->view_held, "the view budget counts every held entry");
	for (const ck_box *b = c->boxes; b != NULL; b = b->next)
		check_box(c, b);
}

#else

void ck_check_all(const model_checker *c)
{
	(void)c;
}

#endif
