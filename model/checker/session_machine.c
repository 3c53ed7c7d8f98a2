/* The session machine: replays what one client was told, in order, as a
 * client library would, and checks what only the session's own view can
 * show (section B, UID-ASCENDING, VANISHED-INSTEAD, in-session modseqs). */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

void ck_session_reset(ck_session *s)
{
	s->connected = false;
	s->condstore = s->qresync = s->nomodseq = false;
	s->box = NULL;
	s->mailbox[0] = '\0';
	ck_view_clear(s);
	s->view_lost = false;
	s->max_uid_known = 0;
	s->highestmodseq = 0;
}

/* Past CK_VIEW_MAX held entries: say so once, and stop following this
 * session until it selects again (its view would be a guess). */
static void lose_view(model_checker *c, ck_session *s, ck_op *op, size_t seq)
{
	ck_warning(c, MODEL_INV_SESSION_VIEW_CONVERGES, op, s->box, 0, 0,
		   "client %" PRIu32 " was told of sequence number %zu of %zu: more "
		   "than the checker follows (%zu messages in all sessions); its "
		   "view is not checked until it selects again", s->client, seq,
		   s->n, CK_VIEW_MAX);
	ck_view_clear(s);
	s->view_lost = true;
}

uint32_t ck_session_max_uid(const ck_session *s)
{
	for (size_t i = s->mat; i > 0; i--)
		if (s->map[i - 1].uid != 0)
			return s->map[i - 1].uid;
	return 0;
}

/* ---- invoke: resolve what the op targets, as the session knows it ---- */

static bool wide_uid_set(const ck_session *s, const ck_box *b, const cm_uidset *set)
{
	uint32_t known = CM_MAX(ck_session_max_uid(s), b ? b->max_uid_seen : 0);
	return cm_uidset_max(set) > known;
}

/* The UIDs behind a sequence set: the known ones in op->uids; for each
 * number known only by EXISTS, the UIDs between its known neighbours in
 * op->maybe_uids. One pass over the held entries; the blank tail shares
 * one range (above the last known UID). */
static void resolve_seqs(const ck_session *s, ck_op *op)
{
	const cm_uidset *set = &op->op.set;
	if (s->view_lost) {
		/* The numbers may be any message. */
		if (set->n > 0)
			cm_uidset_add_range(&op->maybe_uids, 1, UINT32_MAX);
		return;
	}
	uint32_t prev = 0;          /* last known UID before entry i */
	size_t next = 0, r = 0;     /* next: a known entry at or after i (mat: none) */
	for (size_t i = 0; i < s->mat && r < set->n; i++) {
		while (r < set->n && set->r[r].hi < i + 1)
			r++;
		uint32_t uid = s->map[i].uid;
		if (r < set->n && set->r[r].lo <= i + 1) {
			if (uid != 0) {
				cm_uidset_add(&op->uids, uid);
			} else {
				if (next <= i)
					for (next = i + 1; next < s->mat && s->map[next].uid == 0;)
						next++;
				uint32_t hi = next < s->mat ? s->map[next].uid - 1 : UINT32_MAX;
				if (prev < UINT32_MAX && prev + 1 <= hi)
					cm_uidset_add_range(&op->maybe_uids, prev + 1, hi);
			}
		}
		if (uid != 0)
			prev = uid;
	}
	bool tail = false;
	for (size_t k = 0; k < set->n && !tail; k++)
		tail = set->r[k].hi > s->mat && set->r[k].lo <= s->n;
	uint32_t last = ck_session_max_uid(s);
	if (tail && last < UINT32_MAX)
		cm_uidset_add_range(&op->maybe_uids, last + 1, UINT32_MAX);
}

static void resolve_targets(model_checker *c, ck_session *s, ck_op *op)
{
	const model_op *o = &op->op;
	cm_uidset_clear(&op->uids);
	if (o->uid) {
		/* Every UID in the set the session or anybody knows exists:
		 * the box's records hold the session's UIDs too. */
		if (op->box != NULL && o->set.n < 64) {
			ck_box_existing(op->box, &o->set, &op->uids);
			return;
		}
		for (size_t i = 0; i < s->mat; i++)
			if (s->map[i].uid && cm_uidset_contains(&o->set, s->map[i].uid))
				cm_uidset_add(&op->uids, s->map[i].uid);
		return;
	}
	cm_uidset_clear(&op->maybe_uids);
	resolve_seqs(s, op);
	(void)c;
}

static void register_wide(ck_box *b, const ck_op *op, const cm_uidset *uids)
{
	CM_GROW(b->wides, b->capwides, b->nwides + 1);
	ck_wide *w = &b->wides[b->nwides++];
	memset(w, 0, sizeof(*w));
	w->op_id = op->id;
	w->client = op->client;
	cm_uidset_copy(&w->uids, uids);
	w->inv_t = op->inv_t;
	w->cmp_t = CK_NEVER;
	w->mode = op->op.mode;
	w->flags = op->op.flags;
}

/* A sequence STORE on messages known only by EXISTS: it may touch any
 * message in the ranges they can be, known now or learnt later. */
static void maybe_writes(model_checker *c, ck_op *op)
{
	ck_box *b = op->box;
	const cm_uidset *u = &op->maybe_uids;
	cm_uidset known = {0};
	ck_box_existing(b, u, &known);
	for (size_t r = 0; r < known.n; r++)
		for (uint64_t x = known.r[r].lo; x <= known.r[r].hi; x++)
			ck_flags_write(c, b, (uint32_t)x, op, CK_EFF_MAYBE, 0);
	cm_uidset_free(&known);
	register_wide(b, op, u);
}

void ck_session_invoke(model_checker *c, ck_session *s, ck_op *op)
{
	op->box = s->box;
	switch (op->op.kind) {
	case MODEL_OP_STORE:
		resolve_targets(c, s, op);
		if (op->box != NULL) {
			for (size_t r = 0; r < op->uids.n; r++)
				for (uint64_t u = op->uids.r[r].lo; u <= op->uids.r[r].hi; u++)
					ck_flags_write(c, op->box, (uint32_t)u, op,
						       CK_EFF_MAYBE, 0);
			if (op->op.uid && wide_uid_set(s, op->box, &op->op.set))
				register_wide(op->box, op, &op->op.set);
			if (op->maybe_uids.n > 0)
				maybe_writes(c, op);
		}
		break;
	case MODEL_OP_FETCH:
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
	case MODEL_OP_EXPUNGE:
		resolve_targets(c, s, op);
		break;
	default:
		break;
	}
	if (op->op.kind == MODEL_OP_APPEND || op->op.kind == MODEL_OP_DELIVER ||
	    op->op.kind == MODEL_OP_COPY || op->op.kind == MODEL_OP_MOVE ||
	    op->op.kind == MODEL_OP_STATUS || op->op.kind == MODEL_OP_SELECT)
		op->dst = ck_box_current(c, op->op.mailbox);
	/* Snapshots of the mailbox the op reads or adds to. */
	if (op->dst != NULL)
		ck_box_invoke_snap(op->dst, op);
	else if (op->box != NULL)
		ck_box_invoke_snap(op->box, op);
}

/* ---- completion: the untagged responses, in order ---- */

static bool expunge_forbidden(const ck_op *op)
{
	/* RFC 3501 7.4.1: not during FETCH, STORE or SEARCH (non-UID). */
	model_op_kind k = op->op.kind;
	return !op->op.uid && (k == MODEL_OP_FETCH || k == MODEL_OP_STORE ||
			       k == MODEL_OP_SEARCH);
}

static void on_exists(model_checker *c, ck_session *s, ck_op *op, uint32_t n,
		      bool selecting)
{
	if (n < s->n) {
		ck_violation(c, MODEL_INV_EXPUNGE_SEQNUM_VALID, op, s->box, 0, 0,
			     "EXISTS %" PRIu32 " lowered the count from %zu (only EXPUNGE "
			     "may)", n, s->n);
		return;
	}
	ck_view_grow(s, n, !selecting, s->max_uid_known);
}

/* Entry idx left the view; uid (0: unknown) is what it was. */
static void gone_uid(model_checker *c, ck_session *s, ck_op *op, size_t idx,
		     uint32_t uid)
{
	ck_view_remove(s, idx);
	if (uid != 0 && s->box != NULL)
		ck_box_told_gone(c, s->box, op, uid, s->client);
}

static void on_expunge(model_checker *c, ck_session *s, ck_op *op, uint32_t n)
{
	if (s->qresync)
		ck_violation(c, MODEL_INV_VANISHED_INSTEAD, op, s->box, 0, 0,
			     "'%" PRIu32 " EXPUNGE' after QRESYNC was enabled (VANISHED "
			     "must be used)", n);
	if (expunge_forbidden(op))
		ck_violation(c, MODEL_INV_EXPUNGE_SEQNUM_VALID, op, s->box, 0, 0,
			     "EXPUNGE sent during a non-UID %s",
			     model_op_name(op->op.kind));
	if (n < 1 || n > s->n) {
		ck_violation(c, MODEL_INV_EXPUNGE_SEQNUM_VALID, op, s->box, 0, 0,
			     "'%" PRIu32 " EXPUNGE' but the session has %zu messages",
			     n, s->n);
		return;
	}
	gone_uid(c, s, op, n - 1, ck_view_peek(s, n - 1).uid);
}

/* The entry a VANISHED UID the session never learnt must be: an unknown
 * one after the last known UID below it, before the first above it, and
 * (if it arrived by EXISTS) arrived when UIDs up to below it were known.
 * If several qualify, the others keep only the weakest floor and forget
 * the MODSEQ and flags they were shown (the removed entry may have been
 * any of them), so a wrong pick cannot turn into a false report. */
static bool vanish_unknown(ck_session *s, uint32_t uid, size_t *idx_r)
{
	size_t lo = 0, hi = s->n;
	for (size_t i = 0; i < s->mat; i++)
		if (s->map[i].uid != 0 && s->map[i].uid < uid)
			lo = i + 1;
	for (size_t i = lo; i < s->mat; i++)
		if (s->map[i].uid != 0) {
			hi = i;
			break;
		}
	size_t found = 0;
	uint32_t min_floor = UINT32_MAX;
	for (size_t i = lo; i < hi && i < s->mat; i++) {
		const ck_entry *e = &s->map[i];
		uint32_t floor = e->fresh_new ? e->arrival_floor : 0;
		min_floor = CM_MIN(min_floor, floor);
		if (floor < uid) {
			*idx_r = i; /* the last: new arrivals are at the end */
			found++;
		}
	}
	/* The blank tail, run by run. */
	size_t at = s->mat;
	for (size_t k = 0; k < s->nruns && at < hi; k++) {
		const ck_run *run = &s->runs[k];
		size_t a = CM_MAX(at, lo), b = CM_MIN(at + run->count, hi);
		at += run->count;
		if (a >= b)
			continue;
		uint32_t floor = run->fresh_new ? run->arrival_floor : 0;
		min_floor = CM_MIN(min_floor, floor);
		if (floor < uid) {
			*idx_r = b - 1;
			found += b - a;
		}
	}
	for (size_t i = lo; found > 0 && i < hi && i < s->mat; i++) {
		if (s->map[i].fresh_new)
			s->map[i].arrival_floor = min_floor;
		if (found > 1) {
			s->map[i].modseq = 0;
			s->map[i].has_flags = false;
		}
	}
	if (found > 0 && hi > s->mat)
		ck_view_tail_floor(s, CM_MAX(lo, s->mat), hi, min_floor);
	return found > 0;
}

/* Entries known only by EXISTS (no UID yet). */
static size_t unknown_entries(const ck_session *s)
{
	size_t n = s->n - s->mat;
	for (size_t i = 0; i < s->mat; i++)
		n += s->map[i].uid == 0;
	return n;
}

/* UIDs of one VANISHED range matched to entries known only by EXISTS
 * (fewer in a big view): each match scans the view, and a claimed count
 * has billions. */
#define VANISH_UNKNOWN_MAX 4096

/* VANISHED lo:hi. The UIDs the session knows go in one pass over its
 * view; each other UID must be an entry it knows only by EXISTS, tried
 * while such entries are left (up to VANISH_UNKNOWN_MAX), and the first
 * that is not is reported (once: the cost follows the view, not the
 * range's span). */
static void vanish_range(model_checker *c, ck_session *s, ck_op *op, uint32_t lo,
			 uint32_t hi)
{
	cm_uidset had = {0};
	for (size_t i = 0; i < s->mat; i++) /* ascending: appends */
		if (s->map[i].uid >= lo && s->map[i].uid <= hi)
			cm_uidset_add(&had, s->map[i].uid);
	for (size_t i = s->mat; i > 0 && had.n > 0; i--) {
		uint32_t uid = s->map[i - 1].uid;
		if (uid >= lo && uid <= hi)
			gone_uid(c, s, op, i - 1, uid);
	}
	/* Each match scans the view: at most ~2^26 steps per range. */
	size_t limit = CM_MIN((size_t)VANISH_UNKNOWN_MAX,
			      ((size_t)1 << 26) / (s->mat + s->nruns + 1) + 1);
	size_t matched = 0, unknown = unknown_entries(s);
	for (uint64_t uid = lo; uid <= hi && matched < limit; uid++) {
		size_t idx = 0;
		if (cm_uidset_contains(&had, (uint32_t)uid))
			continue; /* at most one step per UID it had */
		matched++;
		if (unknown-- == 0 || !vanish_unknown(s, (uint32_t)uid, &idx)) {
			ck_violation(c, MODEL_INV_VANISHED_INSTEAD, op, s->box, (uint32_t)uid, 0,
				     "VANISHED names UID %" PRIu64 " the session never had", uid);
			break;
		}
		gone_uid(c, s, op, idx, (uint32_t)uid);
	}
	cm_uidset_free(&had);
}

static void on_vanished(model_checker *c, ck_session *s, ck_op *op,
			const model_untagged *u)
{
	if (u->earlier) {
		bool ok = (op->op.kind == MODEL_OP_SELECT && op->op.qresync) ||
			  (op->op.kind == MODEL_OP_FETCH && op->op.vanished);
		if (!ok)
			ck_violation(c, MODEL_INV_VANISHED_INSTEAD, op, s->box, 0, 0,
				     "VANISHED (EARLIER) outside SELECT (QRESYNC) or UID "
				     "FETCH (VANISHED)");
		return; /* judged with the op (ops.c) */
	}
	if (!s->qresync)
		ck_violation(c, MODEL_INV_VANISHED_INSTEAD, op, s->box, 0, 0,
			     "VANISHED sent without QRESYNC enabled");
	if (expunge_forbidden(op))
		ck_violation(c, MODEL_INV_EXPUNGE_SEQNUM_VALID, op, s->box, 0, 0,
			     "VANISHED sent during a non-UID %s", model_op_name(op->op.kind));
	for (size_t r = 0; r < u->set.n; r++)
		vanish_range(c, s, op, u->set.r[r].lo, u->set.r[r].hi);
}

static bool fetch_was_asked(const ck_op *op, const ck_entry *e, uint32_t seq)
{
	if (op->op.kind != MODEL_OP_FETCH || !(op->op.items & MODEL_F_FLAGS))
		return false;
	if (op->op.uid)
		return e->uid != 0 && cm_uidset_contains(&op->op.set, e->uid);
	return cm_uidset_contains(&op->op.set, seq);
}

static void forget_view(ck_session *s)
{
	ck_view_forget_tail(s);
	for (size_t i = 0; i < s->mat; i++) {
		s->map[i].uid = 0;
		s->map[i].modseq = 0;
		s->map[i].has_flags = false;
		s->map[i].fresh_new = false;
	}
	s->known_end = 0;
}

/* False when the view had to be given up (lose_view). */
static bool learn_uid(model_checker *c, ck_session *s, ck_op *op, size_t idx,
		      uint32_t uid)
{
	CK_CHECK(uid != 0, "UID 0 is never learnt (UID-NONZERO reports it)");
	ck_entry *e = ck_view_at(s, idx);
	if (e == NULL) {
		lose_view(c, s, op, idx + 1);
		return false;
	}
	if (e->uid == uid)
		return true;
	if (e->uid != 0) {
		ck_violation(c, MODEL_INV_UID_ASCENDING, op, s->box, uid, 0,
			     "FETCH for sequence %zu says UID %" PRIu32 " but the session "
			     "knows it as UID %" PRIu32, idx + 1, uid, e->uid);
		/* The server's numbering and the session's have parted: one
		 * report, then the session learns its view afresh rather than
		 * blaming every later FETCH on the same divergence. */
		forget_view(s);
	}
	for (size_t i = idx; i > 0; i--)
		if (s->map[i - 1].uid != 0) {
			if (s->map[i - 1].uid >= uid)
				ck_violation(c, MODEL_INV_UID_ASCENDING, op, s->box, uid, 0,
					     "UID %" PRIu32 " at sequence %zu is not above UID %"
					     PRIu32 " at sequence %zu", uid, idx + 1,
					     s->map[i - 1].uid, i);
			break;
		}
	/* Entries from s->known_end on hold no UID: a FETCH 1:* after SELECT
	 * learns in order without rescanning the unknown tail. */
	for (size_t i = idx + 1; i < s->mat && i < s->known_end; i++)
		if (s->map[i].uid != 0) {
			if (s->map[i].uid <= uid)
				ck_violation(c, MODEL_INV_UID_ASCENDING, op, s->box, uid, 0,
					     "UID %" PRIu32 " at sequence %zu is not below UID %"
					     PRIu32 " at sequence %zu", uid, idx + 1,
					     s->map[i].uid, i + 1);
			break;
		}
	if (e->fresh_new && uid <= e->arrival_floor)
		ck_violation(c, MODEL_INV_UID_ASCENDING, op, s->box, uid, 0,
			     "a new message got UID %" PRIu32 ", not above UID %" PRIu32
			     " the session knew when it arrived", uid, e->arrival_floor);
	e->uid = uid;
	if (idx + 1 > s->known_end)
		s->known_end = idx + 1;
	CK_CHECK(s->known_end <= s->mat, "entries before known_end are held");
	if (uid > s->max_uid_known)
		s->max_uid_known = uid;
	if (s->box != NULL)
		ck_box_seen(c, s, s->box, op, uid);
	return true;
}

static void fetch_modseq(model_checker *c, ck_session *s, ck_op *op, ck_entry *e,
			 const model_fetch *f, bool gone)
{
	if (f->modseq == 0 || f->modseq > INT64_MAX)
		ck_violation(c, MODEL_INV_MODSEQ_POSITIVE, op, s->box, e->uid, 0,
			     "MODSEQ %" PRIu64 " is outside 1..2^63-1", f->modseq);
	if (e->modseq > f->modseq && !s->nomodseq && gone)
		/* Dovecot answers FETCH for a message another session has just
		 * expunged with its state from before the change the session
		 * was already shown, then reports the expunge in the same
		 * reply: wrong, but no client keeps that state. */
		ck_warning(c, MODEL_INV_MODSEQ_MONO, op, s->box, e->uid, 0,
			   "MODSEQ of UID %" PRIu32 " went down from %" PRIu64 " to %"
			   PRIu64 " in a FETCH of it just before its expunge was "
			   "reported", e->uid, e->modseq, f->modseq);
	else if (e->modseq > f->modseq && !s->nomodseq)
		ck_violation(c, MODEL_INV_MODSEQ_MONO, op, s->box, e->uid, 0,
			     "MODSEQ of UID %" PRIu32 " went down from %" PRIu64 " to %"
			     PRIu64 " in one session", e->uid, e->modseq, f->modseq);
	e->modseq = f->modseq;
}

static bool gone_later(const model_result *res, size_t i, size_t to);

/* FETCH res->ut[i] of a reply applied up to index to. */
static void on_fetch(model_checker *c, ck_session *s, ck_op *op,
		     const model_result *res, size_t i, size_t to, bool before_own)
{
	const model_untagged *u = &res->ut[i];
	const model_fetch *f = &u->fetch;
	if (u->n < 1 || u->n > s->n) {
		ck_violation(c, MODEL_INV_EXPUNGE_SEQNUM_VALID, op, s->box, 0, 0,
			     "FETCH for sequence %" PRIu32 " but the session has %zu "
			     "messages", u->n, s->n);
		return;
	}
	size_t idx = u->n - 1;
	if ((f->has & MODEL_F_UID) && f->uid == 0)
		/* nz-number: a server bug, and no key for any map below. */
		ck_violation(c, MODEL_INV_UID_NONZERO, op, s->box, 0, 0,
			     "FETCH for sequence %" PRIu32 " says UID 0", u->n);
	else if ((f->has & MODEL_F_UID) && !learn_uid(c, s, op, idx, f->uid))
		return;
	if (!(f->has & (MODEL_F_FLAGS | MODEL_F_MODSEQ)) && idx >= s->mat)
		return; /* nothing to hold */
	ck_entry *e = ck_view_at(s, idx);
	if (e == NULL) {
		lose_view(c, s, op, u->n);
		return;
	}
	bool asked = fetch_was_asked(op, e, u->n);
	if ((f->has & MODEL_F_FLAGS) && !asked && s->condstore && !s->nomodseq &&
	    !(f->has & MODEL_F_MODSEQ))
		ck_violation(c, MODEL_INV_MODSEQ_IN_FETCH, op, s->box, e->uid, 0,
			     "FETCH of flags for sequence %" PRIu32 " lacks MODSEQ although "
			     "CONDSTORE is enabled", u->n);
	if ((f->has & MODEL_F_FLAGS) && !asked && s->qresync && !(f->has & MODEL_F_UID))
		ck_violation(c, MODEL_INV_MODSEQ_IN_FETCH, op, s->box, e->uid, 0,
			     "FETCH of flags for sequence %" PRIu32 " lacks UID although "
			     "QRESYNC is enabled", u->n);
	if (f->has & MODEL_F_MODSEQ)
		fetch_modseq(c, s, op, e, f,
			     e->modseq > f->modseq && gone_later(res, i, to));
	if (f->has & MODEL_F_FLAGS) {
		e->has_flags = true;
		e->flags = f->flags;
		if (f->recent)
			e->recent = true;
	}
	if (e->uid == 0 || s->box == NULL)
		return;
	if (f->has & (MODEL_F_ID | MODEL_F_BODY | MODEL_F_SIZE | MODEL_F_IDATE))
		ck_box_identity(c, s->box, op, e->uid, f);
	if (f->has & MODEL_F_FLAGS)
		ck_flags_observe(c, s, s->box, e->uid, op, f->flags, before_own);
	if (f->has & MODEL_F_MODSEQ)
		ck_box_modseq(c, s, s->box, op, e->uid, f->modseq, f->flags,
			      (f->has & MODEL_F_FLAGS) != 0);
}

static void on_search(model_checker *c, ck_session *s, ck_op *op,
		      const model_untagged *u)
{
	if (op->op.kind != MODEL_OP_SEARCH || !op->op.uid)
		return;
	/* UID SEARCH ALL: exactly the UIDs of the session's view, in order. */
	if (cm_uidset_count(&u->set) != s->n) {
		ck_violation(c, MODEL_INV_UID_ASCENDING, op, s->box, 0, 0,
			     "UID SEARCH ALL returned %" PRIu64 " UIDs but the session "
			     "has %zu messages", cm_uidset_count(&u->set), s->n);
		return;
	}
	size_t i = 0;
	for (size_t r = 0; r < u->set.n; r++)
		for (uint64_t uid = u->set.r[r].lo; uid <= u->set.r[r].hi; uid++)
			if (!learn_uid(c, s, op, i++, (uint32_t)uid))
				return;
}

static void on_code(model_checker *c, ck_session *s, ck_op *op, const model_code *code)
{
	switch (code->kind) {
	case MODEL_CODE_UIDVALIDITY:
		if (s->box != NULL && op->op.kind != MODEL_OP_SELECT &&
		    code->value != s->box->uidvalidity)
			ck_violation(c, MODEL_INV_UIDVALIDITY_STABLE, op, s->box, 0, 0,
				     "UIDVALIDITY changed to %" PRIu64 " while selected",
				     code->value);
		break;
	case MODEL_CODE_HIGHESTMODSEQ:
		if (code->value == 0 || code->value > INT64_MAX)
			ck_violation(c, MODEL_INV_MODSEQ_POSITIVE, op, s->box, 0, 0,
				     "HIGHESTMODSEQ %" PRIu64 " is outside 1..2^63-1",
				     code->value);
		if (code->value < s->highestmodseq && s->box != NULL)
			ck_violation(c, MODEL_INV_HIGHESTMODSEQ_MONO, op, s->box, 0, 0,
				     "HIGHESTMODSEQ in one session went down from %" PRIu64
				     " to %" PRIu64, s->highestmodseq, code->value);
		s->highestmodseq = CM_MAX(s->highestmodseq, code->value);
		break;
	case MODEL_CODE_NOMODSEQ:
		s->nomodseq = true;
		if (s->box != NULL)
			s->box->nomodseq = true; /* what STATUS must then say */
		break;
	default:
		break;
	}
}

static void on_enabled(ck_session *s, unsigned caps)
{
	if (caps & MODEL_CAP_QRESYNC)
		s->qresync = s->condstore = true;
	if (caps & MODEL_CAP_CONDSTORE)
		s->condstore = true;
}

/* SELECT/EXAMINE: the old selection ends; a new one starts with the
 * UIDVALIDITY the response carries. */
static void begin_select(model_checker *c, ck_session *s, ck_op *op,
			 const model_result *res)
{
	uint32_t uv = 0;
	for (size_t i = 0; i < res->nut; i++)
		if (res->ut[i].kind == MODEL_UT_CODE &&
		    res->ut[i].code.kind == MODEL_CODE_UIDVALIDITY)
			uv = (uint32_t)res->ut[i].code.value;
	s->box = NULL;
	ck_view_clear(s);
	s->view_lost = false;
	s->max_uid_known = 0;
	s->highestmodseq = 0;
	s->nomodseq = false;
	if (res->status != MODEL_REPLY_OK || uv == 0)
		return;
	s->box = ck_box_epoch(c, op, op->op.mailbox, uv);
	op->box = s->box;
	snprintf(s->mailbox, sizeof(s->mailbox), "%s", op->op.mailbox);
	s->readonly = op->op.readonly;
	s->select_inv_t = op->inv_t;
	if (op->op.condstore || op->op.qresync)
		s->condstore = true;
}

/* Is the message of FETCH i expunged later in res (before index to)? */
static bool gone_later(const model_result *res, size_t i, size_t to)
{
	const model_untagged *u = &res->ut[i];
	uint32_t seq = u->n;
	for (size_t k = i + 1; k < to; k++) {
		const model_untagged *x = &res->ut[k];
		if (x->kind == MODEL_UT_EXPUNGE) {
			if (x->n == seq)
				return true;
			seq -= x->n < seq;
		} else if (x->kind == MODEL_UT_VANISHED && !x->earlier &&
			   (u->fetch.has & MODEL_F_UID) &&
			   cm_uidset_contains(&x->set, u->fetch.uid)) {
			return true;
		}
	}
	return false;
}

/* In a STORE's response, a FETCH followed by another of the same message,
 * or by its expunge, may show the state before the STORE (pending updates
 * go out first; an expunged message is not stored to). */
static bool flags_fetch_follows(const model_result *res, size_t i, size_t to)
{
	const model_untagged *u = &res->ut[i];
	if (gone_later(res, i, to))
		return true;
	for (size_t k = i + 1; k < to; k++) {
		const model_untagged *x = &res->ut[k];
		if (x->kind != MODEL_UT_FETCH || !(x->fetch.has & MODEL_F_FLAGS))
			continue;
		if (x->n == u->n || ((x->fetch.has & u->fetch.has & MODEL_F_UID) &&
				     x->fetch.uid == u->fetch.uid))
			return true;
	}
	return false;
}

static void apply_range(model_checker *c, ck_session *s, ck_op *op,
			const model_result *res, size_t from, size_t to, bool selecting)
{
	for (size_t i = from; i < to; i++) {
		const model_untagged *u = &res->ut[i];
		if (s->view_lost && (u->kind == MODEL_UT_EXISTS || u->kind == MODEL_UT_EXPUNGE ||
				     u->kind == MODEL_UT_VANISHED || u->kind == MODEL_UT_FETCH ||
				     u->kind == MODEL_UT_SEARCH))
			continue; /* lose_view: not followed until SELECT */
		switch (u->kind) {
		case MODEL_UT_EXISTS: on_exists(c, s, op, u->n, selecting); break;
		case MODEL_UT_EXPUNGE: on_expunge(c, s, op, u->n); break;
		case MODEL_UT_VANISHED: on_vanished(c, s, op, u); break;
		case MODEL_UT_FETCH:
			/* .SILENT: what it shows may all predate the STORE. */
			on_fetch(c, s, op, res, i, to, op->op.kind == MODEL_OP_STORE &&
				 (op->op.silent || flags_fetch_follows(res, i, to)));
			break;
		case MODEL_UT_SEARCH: on_search(c, s, op, u); break;
		case MODEL_UT_CODE: on_code(c, s, op, &u->code); break;
		case MODEL_UT_ENABLED: on_enabled(s, u->caps); break;
		case MODEL_UT_BYE: s->connected = false; break;
		default: break;
		}
	}
}

/* Entry idx of a reply's running copy of the view: a FETCH with a UID
 * records it, one without takes it. Held only below CK_VIEW_MAX entries in
 * all (a sequence number far out stays unknown). */
static void fetch_uid_at(uint32_t **v, size_t *m, size_t *cap, size_t idx,
			 uint32_t *uid)
{
	if (idx >= *m) {
		if (*uid == 0 || idx >= CK_VIEW_MAX)
			return;
		CM_GROW(*v, *cap, idx + 1);
		memset(*v + *m, 0, (idx + 1 - *m) * sizeof(**v));
		*m = idx + 1;
	}
	if (*uid != 0)
		(*v)[idx] = *uid;
	else
		*uid = (*v)[idx];
}

/* The UID behind each untagged FETCH of res (0: unknown), as the session's
 * view stood when that line arrived: an EXPUNGE later in the same reply
 * renumbers the view, so a FETCH without UID item (a flag change another
 * session made, reported before the expunges) is resolved in order on a
 * copy of the map, not on the map after the reply. Done before
 * ck_session_apply, because ck_ops_settle needs it first. */
void ck_session_fetch_uids(const ck_session *s, const ck_op *op,
			   const model_result *res, uint32_t *out)
{
	bool all_uid = true;
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		out[i] = u->kind == MODEL_UT_FETCH && (u->fetch.has & MODEL_F_UID) ?
			 u->fetch.uid : 0;
		all_uid &= u->kind != MODEL_UT_FETCH || out[i] != 0;
	}
	if (all_uid)
		return;
	/* v[0..m) mirrors the held entries; the rest of n are blank. */
	size_t n = s->n, m = s->mat, cap = s->mat + 16;
	uint32_t *v = cm_xmalloc(cap * sizeof(*v));
	for (size_t i = 0; i < m; i++)
		v[i] = s->map[i].uid;
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind == MODEL_UT_CODE && u->code.kind == MODEL_CODE_CLOSED &&
		    op->op.kind == MODEL_OP_SELECT) {
			n = m = 0;
		} else if (u->kind == MODEL_UT_EXISTS && u->n > n) {
			n = u->n;
		} else if (u->kind == MODEL_UT_EXPUNGE && u->n >= 1 && u->n <= n) {
			if (u->n <= m) {
				memmove(v + u->n - 1, v + u->n, (m - u->n) * sizeof(*v));
				m--;
			}
			n--;
		} else if (u->kind == MODEL_UT_VANISHED && !u->earlier) {
			size_t k = 0;
			for (size_t j = 0; j < m; j++)
				if (v[j] == 0 || !cm_uidset_contains(&u->set, v[j]))
					v[k++] = v[j];
			n -= m - k;
			m = k;
		} else if (u->kind == MODEL_UT_FETCH && u->n >= 1 && u->n <= n) {
			fetch_uid_at(&v, &m, &cap, u->n - 1, &out[i]);
		}
	}
	free(v);
}

void ck_session_apply(model_checker *c, ck_session *s, ck_op *op,
		      const model_result *res)
{
	if (op->op.kind == MODEL_OP_CONNECT) {
		ck_session_reset(s);
		s->connected = res->status == MODEL_REPLY_OK;
		return;
	}
	s->highestmodseq_before = s->highestmodseq;
	size_t start = 0;
	bool selecting = op->op.kind == MODEL_OP_SELECT;
	if (selecting) {
		/* Responses before [CLOSED] belong to the old mailbox. */
		for (size_t i = 0; i < res->nut; i++)
			if (res->ut[i].kind == MODEL_UT_CODE &&
			    res->ut[i].code.kind == MODEL_CODE_CLOSED) {
				apply_range(c, s, op, res, 0, i, false);
				start = i + 1;
				break;
			}
		begin_select(c, s, op, res);
		s->highestmodseq_before = 0;
	}
	apply_range(c, s, op, res, start, res->nut, selecting);
	if (res->code.kind != MODEL_CODE_NONE && res->code.kind != MODEL_CODE_COPYUID)
		on_code(c, s, op, &res->code);
	if (op->op.kind == MODEL_OP_LOGOUT || res->status == MODEL_REPLY_UNKNOWN)
		ck_session_reset(s);
}
