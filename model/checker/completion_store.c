/* STORE rules judged when a STORE completes (section E of
 * docs/invariants.md): UNCHANGEDSINCE and MODIFIED, MODSEQ-STORE-UNIQUE, and
 * the STORE's own flag writes settled before its response is replayed. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

/* The last FETCH in res for uid (op->ut_uid resolves those without UID). */
static const model_fetch *fetch_for(const ck_op *op, const model_result *res,
				    uint32_t uid)
{
	for (size_t i = res->nut; i > 0; i--)
		if (res->ut[i - 1].kind == MODEL_UT_FETCH && op->ut_uid[i - 1] == uid)
			return &res->ut[i - 1].fetch;
	return NULL;
}

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

/* The reply's own FETCH responses with a UID, by sequence number (index
 * q - 1, 0 where none), up to CK_VIEW_MAX as the session's map: *n_r
 * entries (free the array). A STORE's reply carries no EXPUNGE (RFC 3501
 * 7.4.1), so its numbering is the one MODIFIED uses. */
static uint32_t *reply_uids(const model_result *res, size_t *n_r)
{
	size_t n = 0;
	for (size_t i = 0; i < res->nut; i++)
		if (res->ut[i].kind == MODEL_UT_FETCH && res->ut[i].n <= CK_VIEW_MAX)
			n = CM_MAX(n, (size_t)res->ut[i].n);
	uint32_t *v = cm_xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind == MODEL_UT_FETCH && u->n >= 1 && u->n <= n &&
		    (u->fetch.has & MODEL_F_UID))
			v[u->n - 1] = u->fetch.uid;
	}
	*n_r = n;
	return v;
}

/* MODIFIED as UIDs: sequence numbers for STORE, UIDs for UID STORE. A
 * sequence number the session never learned the UID of may be taught by
 * the reply itself (its FETCH is replayed after this). */
static void modified_uids(const ck_session *s, const ck_op *op,
			  const model_result *res, cm_uidset *out)
{
	const model_code *mod = ck_find_code(res, MODEL_CODE_MODIFIED);
	cm_uidset_clear(out);
	if (mod == NULL)
		return;
	if (op->op.uid) {
		cm_uidset_copy(out, &mod->set);
		return;
	}
	size_t nr;
	uint32_t *ru = reply_uids(res, &nr);
	uint64_t lim = CM_MAX((uint64_t)s->mat, (uint64_t)nr);
	for (size_t r = 0; r < mod->set.n; r++)
		for (uint64_t q = mod->set.r[r].lo; q <= mod->set.r[r].hi && q <= lim; q++) {
			uint32_t uid = q <= s->mat ? s->map[q - 1].uid : 0;
			if (uid == 0 && q <= nr)
				uid = ru[q - 1];
			if (uid != 0)
				cm_uidset_add(out, uid);
		}
	free(ru);
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
			    ck_ops_maybe_removed(b, 0, op->inv_t, (uint32_t)uid))
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
			if (eff == CK_EFF_DEFINITE && ck_other_expunger(b, op, (uint32_t)uid))
				eff = CK_EFF_MAYBE;
			ck_flags_write(c, b, (uint32_t)uid, op, eff, ms);
		}
	for (size_t i = 0; i < b->nwides; i++)
		if (b->wides[i].op_id == op->id)
			b->wides[i].cmp_t = op->cmp_t;
	cm_uidset_free(&modified);
}

void ck_ops_complete_store(model_checker *c, ck_session *s, ck_op *op,
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
