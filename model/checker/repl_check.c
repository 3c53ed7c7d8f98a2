/* The cross-replica judgments of a checkpoint (docs/replication.md).
 *
 * At every checkpoint each replica's audit of a mailbox is compared with
 * its audit at the checkpoint before: UIDs it no longer holds were
 * expunged there. When every pair of replicas synced the mailbox to
 * quiescence before the checkpoint (ck_repl_synced), the replicas must
 * agree (REPL-CONVERGE), hold no UID any of them expunged
 * (REPL-NO-RESURRECT), and every flag must have a value a client's write
 * could have left (REPL-FLAGS-MERGE). The agreed state then starts the
 * next epoch: the flags audited become each message's starting flags and
 * the writes before are forgotten. */
#include "repl_private.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

void ck_repl_violation(model_checker *root, model_inv inv, const repl_box *b,
		       uint32_t uid, uint32_t uidvalidity, uint64_t op, uint64_t other,
		       const char *fmt, ...)
{
	model_violation v;
	memset(&v, 0, sizeof(v));
	v.inv = inv;
	v.severity = model_inv_get(inv)->severity;
	snprintf(v.mailbox, sizeof(v.mailbox), "%s", b->name);
	v.uidvalidity = uidvalidity;
	v.uid = uid;
	size_t k = 0;
	if (op != 0)
		v.events[k++] = op;
	if (other != 0 && other != op)
		v.events[k++] = other;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v.detail, sizeof(v.detail), fmt, ap);
	va_end(ap);
	ck_violation_adopt(root, &v);
}

static const repl_msg *find_uid(const repl_audit *a, uint32_t uid)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) { /* audits list UIDs ascending (UID FETCH 1:*) */
		size_t mid = lo + (hi - lo) / 2;
		if (a->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n && a->m[lo].uid == uid ? &a->m[lo] : NULL;
}

static void expunged_since(repl_box *b, const repl_audit *prev, const repl_audit *cur)
{
	if (!prev->have || prev->uidvalidity != cur->uidvalidity)
		return;
	cm_uidset lost = {0};
	for (size_t i = 0; i < prev->n; i++)
		if (find_uid(cur, prev->m[i].uid) == NULL)
			cm_uidset_add(&lost, prev->m[i].uid);
	for (size_t i = 0; i < b->ngone && lost.n > 0; i++)
		if (b->gone[i].uidvalidity == cur->uidvalidity) {
			cm_uidset_add_set(&b->gone[i].uids, &lost);
			cm_uidset_clear(&lost);
		}
	if (lost.n > 0) {
		CM_GROW(b->gone, b->capgone, b->ngone + 1);
		b->gone[b->ngone++] = (repl_gone){.uidvalidity = cur->uidvalidity, .uids = lost};
	} else {
		cm_uidset_free(&lost);
	}
}

/* REPL-CONVERGE: replica r's audit against the first one's. */
static void converge(model_checker *root, repl_box *b, uint32_t first, uint32_t r)
{
	const repl_audit *x = &b->cur[first], *y = &b->cur[r];
	const char *what = NULL;
	uint32_t uid = 0;
	if (x->uidvalidity != y->uidvalidity)
		what = "UIDVALIDITY";
	for (size_t i = 0; what == NULL && i < CM_MAX(x->n, y->n); i++) {
		const repl_msg *p = i < x->n ? &x->m[i] : NULL, *q = i < y->n ? &y->m[i] : NULL;
		if (p == NULL || q == NULL || p->uid != q->uid) {
			uid = p == NULL ? q->uid : q == NULL ? p->uid : CM_MIN(p->uid, q->uid);
			what = find_uid(x, uid) == NULL ? "messages (a UID only the second has)"
							: "messages (a UID only the first has)";
		} else if (strcmp(p->id, q->id) != 0) {
			uid = p->uid;
			what = "message identity";
		} else if (p->flags != q->flags) {
			uid = p->uid;
			what = "flags";
		}
	}
	if (what != NULL)
		ck_repl_violation(root, MODEL_INV_REPL_CONVERGE, b, uid, x->uidvalidity, y->op,
				  x->op, "after a sync to quiescence replicas %" PRIu32 " and %"
				  PRIu32 " differ in %s (%zu and %zu messages)", first, r, what,
				  x->n, y->n);
}

/* REPL-NO-RESURRECT: nothing some replica expunged is back. */
static void no_resurrect(model_checker *root, repl_box *b, uint32_t r)
{
	const repl_audit *a = &b->cur[r];
	for (size_t g = 0; g < b->ngone; g++) {
		if (b->gone[g].uidvalidity != a->uidvalidity)
			continue;
		for (size_t i = 0; i < a->n; i++)
			if (cm_uidset_contains(&b->gone[g].uids, a->m[i].uid)) {
				ck_repl_violation(root, MODEL_INV_REPL_NO_RESURRECT, b, a->m[i].uid,
						  a->uidvalidity, a->op, 0, "UID %" PRIu32 " ('%s') "
						  "was expunged on a replica but replica %" PRIu32
						  " holds it after a sync to quiescence",
						  a->m[i].uid, a->m[i].id, r);
				return; /* one report per replica and checkpoint */
			}
	}
}

/* Folds write w into the identities of the UIDs it named. A UID that is
 * gone by now may have been expunged, or renumbered by a fix-up (whose
 * copy took the flags as they were then), before the write came: its
 * effect on the identity is only possible, even when acknowledged. A UID
 * whose identity no replica showed makes the write's flags unjudged. */
static void resolve(repl_box *b, const repl_write *w, const repl_audit *now)
{
	for (size_t i = 0; i < w->uids.n; i++) {
		uint64_t lo = w->uids.r[i].lo, hi = w->uids.r[i].hi;
		if (hi - lo >= 65536) {
			b->wild |= w->set | w->clr; /* too wide to walk: not judged */
			continue;
		}
		for (uint64_t u = lo; u <= hi; u++) {
			repl_bind *x = ck_map_get(&b->binds, (uint64_t)w->uidvalidity << 32 | u);
			if (x == NULL) {
				/* No replica ever showed whose it is (a UID
				 * renumbered before anyone fetched it): the
				 * write may be any message's. */
				b->wild |= w->set | w->clr;
				continue;
			}
			repl_ident *d = ck_repl_ident(b, x->id);
			bool there = now->uidvalidity == w->uidvalidity &&
				     find_uid(now, (uint32_t)u) != NULL;
			if (w->definite && there) {
				d->def_set |= w->set;
				d->def_clr |= w->clr;
			} else {
				d->maybe_set |= w->set;
				d->maybe_clr |= w->clr;
			}
			d->last_op = w->op;
		}
	}
}

/* The bits of m whose value no write explains (0: all explained). */
static cm_flags unexplained(const repl_ident *d, cm_flags v, cm_flags wild)
{
	cm_flags written = d->def_set | d->def_clr;
	cm_flags bad = 0;
	/* A bit an acknowledged STORE touched: one of the written values. */
	bad |= written & v & ~(d->def_set | d->maybe_set);
	bad |= written & ~v & ~(d->def_clr | d->maybe_clr);
	/* Untouched: its starting value, or what a lost STORE wrote. */
	if (d->init_known) {
		bad |= ~written & v & ~d->init & ~d->maybe_set;
		bad |= ~written & ~v & d->init & ~d->maybe_clr;
	}
	return bad & ~wild;
}

static bool id_twice(const repl_audit *a, size_t at)
{
	for (size_t i = 0; i < a->n; i++)
		if (i != at && strcmp(a->m[i].id, a->m[at].id) == 0)
			return true;
	return false;
}

static void flags_merge(model_checker *root, repl_box *b, uint32_t r)
{
	const repl_audit *a = &b->cur[r];
	for (size_t i = 0; i < a->n; i++) {
		const repl_msg *m = &a->m[i];
		if (m->id[0] == '\0' || id_twice(a, i))
			continue; /* two instances of one id: whose writes? */
		repl_ident *d = ck_repl_ident(b, m->id);
		cm_flags bad = d->unchecked ? 0 : unexplained(d, m->flags, b->wild);
		if (bad == 0)
			continue;
		cm_flags bit = bad & -bad;
		ck_repl_violation(root, MODEL_INV_REPL_FLAGS_MERGE, b, m->uid, a->uidvalidity,
				  a->op, d->last_op, "after a sync to quiescence '%s' (UID %"
				  PRIu32 ") on replica %" PRIu32 " has flag bit %d %s, a value "
				  "no client STORE %s", m->id, m->uid, r, __builtin_ctzll(bit),
				  (m->flags & bit) ? "set" : "clear",
				  (d->def_set | d->def_clr | d->maybe_set | d->maybe_clr) & bit
				  ? "of it left" : "gave it (it started otherwise)");
	}
}

/* The agreed state starts the next epoch. */
static void rebase(repl_box *b, uint32_t first)
{
	const repl_audit *a = &b->cur[first];
	for (size_t i = 0; i < b->nids; i++) {
		repl_ident *d = &b->ids[i];
		d->def_set = d->def_clr = d->maybe_set = d->maybe_clr = 0;
		d->unchecked = false;
		d->init_known = false;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (a->m[i].id[0] == '\0')
			continue;
		repl_ident *d = ck_repl_ident(b, a->m[i].id);
		d->init = a->m[i].flags;
		d->init_known = !id_twice(a, i);
	}
	for (size_t i = 0; i < b->nw; i++)
		cm_uidset_free(&b->w[i].uids);
	b->nw = 0;
	b->wild = 0;
}

static void judge_box(model_checker *root, struct ck_repl *r, repl_box *b)
{
	uint32_t first = 0;
	for (uint32_t k = 1; k <= r->nrep && k <= CK_REPLICAS_MAX; k++)
		if (b->cur[k].have && first == 0)
			first = k;
	if (first == 0 || !ck_repl_synced(r, b->name))
		return;
	r->synced_checkpoints++;
	for (size_t i = 0; i < b->nw; i++)
		resolve(b, &b->w[i], &b->cur[first]);
	for (uint32_t k = first; k <= r->nrep && k <= CK_REPLICAS_MAX; k++) {
		if (!b->cur[k].have)
			continue;
		if (k != first)
			converge(root, b, first, k);
		no_resurrect(root, b, k);
		flags_merge(root, b, k);
	}
	rebase(b, first);
}

void ck_repl_checkpoint(model_checker *root, struct ck_repl *r, uint64_t op)
{
	(void)op;
	for (repl_box *b = r->boxes; b != NULL; b = b->next) {
		for (uint32_t k = 1; k <= CK_REPLICAS_MAX; k++)
			if (b->cur[k].have)
				expunged_since(b, &b->prev[k], &b->cur[k]);
		judge_box(root, r, b);
		for (uint32_t k = 1; k <= CK_REPLICAS_MAX; k++) {
			if (!b->cur[k].have)
				continue;
			repl_audit t = b->prev[k];
			b->prev[k] = b->cur[k];
			b->cur[k] = t;
			b->cur[k].have = false;
		}
	}
}
