/* The replicas judged against each other (docs/replication.md): what the
 * REPL-* rules of docs/invariants.md need from a replicated target's
 * events, gathered as they come; repl_check.c judges it at each checkpoint
 * that follows a sync to quiescence.
 *
 * Gathered here:
 *   - every UID's identity as any replica showed it (REPL-UID-FIXUP: one
 *     UID never names two messages, whichever replica a client asks);
 *   - the client STOREs since the last synced checkpoint, by UID, and the
 *     flags each message was added with (REPL-FLAGS-MERGE);
 *   - the UIDs a replica expunged (REPL-NO-RESURRECT): told to a client by
 *     VANISHED, or in one audit of a replica and not in its next;
 *   - each replica's audit of each mailbox in the open checkpoint
 *     (REPL-CONVERGE);
 *   - when the pairs of replicas last synced to quiescence: a SYNC that
 *     succeeded, invoked after every client op and fault (a sync runs to
 *     quiescence itself: the reference agent in rounds, dsync by design).
 * Ops the sync agent runs (op.peer set) are not clients': they neither
 * explain flags nor end quiescence; they only show identities. */
#include "repl_private.h"

#include <inttypes.h>
#include <stdlib.h>

struct ck_repl *ck_repl_new(void)
{
	return cm_xcalloc(1, sizeof(struct ck_repl));
}

repl_box *ck_repl_box(struct ck_repl *r, const char *name)
{
	for (repl_box *b = r->boxes; b != NULL; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	repl_box *b = cm_xcalloc(1, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->next = r->boxes;
	r->boxes = b;
	return b;
}

repl_ident *ck_repl_ident(repl_box *b, const char *id)
{
	uint64_t key = cm_hash64(id, strlen(id)) | 1;
	uintptr_t at = (uintptr_t)ck_map_get(&b->ident_at, key);
	if (at != 0 && strcmp(b->ids[at - 1].id, id) == 0)
		return &b->ids[at - 1];
	for (size_t i = 0; at != 0 && i < b->nids; i++) /* a hash collision */
		if (strcmp(b->ids[i].id, id) == 0)
			return &b->ids[i];
	CM_GROW(b->ids, b->capids, b->nids + 1);
	repl_ident *x = &b->ids[b->nids++];
	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", id);
	if (at == 0)
		ck_map_put(&b->ident_at, key, (void *)(uintptr_t)b->nids);
	return x;
}

static repl_session *session(struct ck_repl *r, uint32_t client)
{
	repl_session *s = ck_map_get(&r->sessions, (uint64_t)client + 1);
	if (s == NULL) {
		s = cm_xcalloc(1, sizeof(*s));
		ck_map_put(&r->sessions, (uint64_t)client + 1, s);
	}
	return s;
}

/* ---- identities (REPL-UID-FIXUP) ---- */

static void bind(model_checker *root, repl_box *b, uint32_t uv, uint32_t uid,
		 const char *id, uint32_t replica, uint64_t op)
{
	if (uid == 0 || id[0] == '\0')
		return;
	uint64_t key = (uint64_t)uv << 32 | uid;
	repl_bind *x = ck_map_get(&b->binds, key);
	if (x == NULL) {
		x = cm_xcalloc(1, sizeof(*x));
		snprintf(x->id, sizeof(x->id), "%s", id);
		x->replica = replica;
		x->op = op;
		ck_map_put(&b->binds, key, x);
		return;
	}
	/* The same replica's own rebinding is its checker's UID-IMMUTABLE. */
	if (strcmp(x->id, id) == 0 || x->replica == replica || x->reported)
		return;
	x->reported = true;
	ck_repl_violation(root, MODEL_INV_REPL_UID_FIXUP, b, uid, uv, op, x->op,
			  "UID %" PRIu32 " holds '%s' on replica %" PRIu32 " but '%s' on "
			  "replica %" PRIu32 ": a client that moves between replicas sees "
			  "it rebound", uid, id, replica, x->id, x->replica);
}

static void gone(repl_box *b, uint32_t uv, const cm_uidset *uids)
{
	for (size_t i = 0; i < b->ngone; i++)
		if (b->gone[i].uidvalidity == uv) {
			cm_uidset_add_set(&b->gone[i].uids, uids);
			return;
		}
	CM_GROW(b->gone, b->capgone, b->ngone + 1);
	repl_gone *g = &b->gone[b->ngone++];
	memset(g, 0, sizeof(*g));
	g->uidvalidity = uv;
	cm_uidset_copy(&g->uids, uids);
}

/* FETCH identities and VANISHED in the untagged responses of a session. */
static void untagged(model_checker *root, struct ck_repl *r, const model_event *ev,
		     repl_session *s)
{
	if (!s->selected)
		return;
	repl_box *b = ck_repl_box(r, s->box);
	for (size_t i = 0; i < ev->res.nut; i++) {
		const model_untagged *u = &ev->res.ut[i];
		if (u->kind == MODEL_UT_FETCH && (u->fetch.has & MODEL_F_UID) &&
		    (u->fetch.has & MODEL_F_ID))
			bind(root, b, s->uidvalidity, u->fetch.uid, u->fetch.id,
			     ev->op.replica, ev->op_id);
		else if (u->kind == MODEL_UT_VANISHED && !u->earlier)
			gone(b, s->uidvalidity, &u->set);
	}
}

static void select_done(repl_session *s, const model_event *ev)
{
	const model_code *uv = ck_find_code(&ev->res, MODEL_CODE_UIDVALIDITY);
	s->selected = ev->type == MODEL_EV_OK && uv != NULL;
	if (s->selected) {
		snprintf(s->box, sizeof(s->box), "%s", ev->op.mailbox);
		s->uidvalidity = (uint32_t)uv->value;
	}
}

/* ---- client writes (REPL-FLAGS-MERGE) ---- */

/* The UIDs a STORE touched, or false when they cannot be known (a
 * sequence-number STORE whose reply named no UID). */
static bool store_targets(const model_event *ev, cm_uidset *uids)
{
	if (ev->op.uid) {
		cm_uidset_copy(uids, &ev->op.set);
		const model_code *mod = ck_find_code(&ev->res, MODEL_CODE_MODIFIED);
		for (size_t i = 0; mod != NULL && i < mod->set.n; i++)
			for (uint64_t u = mod->set.r[i].lo; u <= mod->set.r[i].hi; u++)
				cm_uidset_remove(uids, (uint32_t)u);
		return true;
	}
	/* By sequence number: the FETCH of each number named (no expunge
	 * moves them during a STORE, RFC 3501 7.4.1); FETCHes of other
	 * numbers are other sessions' changes. */
	size_t named = 0;
	for (size_t i = 0; i < ev->res.nut; i++) {
		const model_untagged *u = &ev->res.ut[i];
		if (u->kind == MODEL_UT_FETCH && (u->fetch.has & MODEL_F_UID) &&
		    cm_uidset_contains(&ev->op.set, u->n)) {
			cm_uidset_add(uids, u->fetch.uid);
			named++;
		}
	}
	return !ev->op.silent && named == cm_uidset_count(&ev->op.set);
}

static void store_done(struct ck_repl *r, const model_event *ev, repl_session *s)
{
	bool ok = ev->type == MODEL_EV_OK;
	if (!s->selected || (!ok && ev->type != MODEL_EV_INFO))
		return; /* NO or BAD: nothing changed */
	repl_box *b = ck_repl_box(r, s->box);
	cm_flags set = 0, clr = 0;
	switch (ev->op.mode) {
	case MODEL_STORE_ADD: set = ev->op.flags; break;
	case MODEL_STORE_REMOVE: clr = ev->op.flags; break;
	default: set = ev->op.flags; clr = ~ev->op.flags; break;
	}
	cm_uidset uids = {0};
	if (!store_targets(ev, &uids) || (!ok && !ev->op.uid)) {
		b->wild |= set | clr;
		cm_uidset_free(&uids);
		return;
	}
	CM_GROW(b->w, b->capw, b->nw + 1);
	b->w[b->nw++] = (repl_write){.uidvalidity = s->uidvalidity, .uids = uids,
				     .set = set, .clr = clr, .definite = ok,
				     .op = ev->op_id};
}

/* A client's APPEND or delivery: the flags its message starts with. A
 * COPY or MOVE brings flags from another mailbox's history: its messages
 * are not judged until the next synced checkpoint. */
static void add_done(struct ck_repl *r, const model_event *ev, repl_session *s)
{
	if (ev->type == MODEL_EV_FAIL)
		return;
	const model_op *op = &ev->op;
	repl_box *dst = ck_repl_box(r, op->mailbox);
	if (op->kind == MODEL_OP_APPEND || op->kind == MODEL_OP_DELIVER) {
		/* A lost reply: a file the add left in new/ is adopted by the
		 * next writer without the flags it asked for. */
		repl_ident *x = ck_repl_ident(dst, op->msg_id);
		x->unchecked |= x->init_known; /* a second add of one id */
		x->init = op->flags;
		x->init_known = ev->type == MODEL_EV_OK;
		return;
	}
	if (!s->selected || !op->uid) {
		dst->wild = ~(cm_flags)0;
		return;
	}
	repl_box *src = ck_repl_box(r, s->box);
	for (size_t i = 0; i < op->set.n; i++)
		for (uint64_t u = op->set.r[i].lo; u <= op->set.r[i].hi && u - op->set.r[i].lo < 4096; u++) {
			repl_bind *x = ck_map_get(&src->binds, (uint64_t)s->uidvalidity << 32 | u);
			if (x != NULL) {
				ck_repl_ident(dst, x->id)->unchecked = true;
				ck_repl_ident(src, x->id)->unchecked = true;
			}
		}
	if (op->set.n > 0 && op->set.r[op->set.n - 1].hi - op->set.r[0].lo >= 4096)
		dst->wild = ~(cm_flags)0;
}

static void appenduid(model_checker *root, struct ck_repl *r, const model_event *ev)
{
	const model_code *au = ck_find_code(&ev->res, MODEL_CODE_APPENDUID);
	if (ev->type != MODEL_EV_OK || au == NULL || au->set.n != 1 ||
	    au->set.r[0].lo != au->set.r[0].hi)
		return;
	bind(root, ck_repl_box(r, ev->op.mailbox), au->uidvalidity, au->set.r[0].lo,
	     ev->op.msg_id, ev->op.replica, ev->op_id);
}

/* ---- audits (REPL-CONVERGE, REPL-NO-RESURRECT) ---- */

static bool is_audit(const model_op *op)
{
	unsigned want = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_ID;
	return op->kind == MODEL_OP_FETCH && op->uid && op->set.n == 1 &&
	       op->set.r[0].lo == 1 && op->set.r[0].hi == UINT32_MAX &&
	       (op->items & want) == want && !op->has_changedsince;
}

static int by_uid(const void *x, const void *y)
{
	uint32_t a = ((const repl_msg *)x)->uid, b = ((const repl_msg *)y)->uid;
	return a < b ? -1 : a > b;
}

/* A checkpoint's read of a whole mailbox (a client's FETCH of the same
 * shape between checkpoints is no audit: the mailbox is not quiet). Its
 * messages by UID: another session's change may come first as an
 * unsolicited FETCH. */
static void audit_done(struct ck_repl *r, const model_event *ev, repl_session *s)
{
	if (ev->type != MODEL_EV_OK || !s->selected || ev->op.replica == 0 ||
	    r->checkpoint_op == 0)
		return;
	repl_audit *a = &ck_repl_box(r, s->box)->cur[ev->op.replica];
	a->have = true;
	a->uidvalidity = s->uidvalidity;
	a->op = ev->op_id;
	a->n = 0;
	for (size_t i = 0; i < ev->res.nut; i++) {
		const model_fetch *f = &ev->res.ut[i].fetch;
		if (ev->res.ut[i].kind != MODEL_UT_FETCH || !(f->has & MODEL_F_UID))
			continue;
		CM_GROW(a->m, a->cap, a->n + 1);
		repl_msg *m = &a->m[a->n++];
		m->uid = f->uid;
		snprintf(m->id, sizeof(m->id), "%s", (f->has & MODEL_F_ID) ? f->id : "");
		m->flags = f->flags;
	}
	if (a->n > 1)
		qsort(a->m, a->n, sizeof(*a->m), by_uid);
	size_t w = 0; /* one entry per UID: the one that names the message */
	for (size_t i = 0; i < a->n; i++)
		if (w > 0 && a->m[w - 1].uid == a->m[i].uid) {
			if (a->m[i].id[0] != '\0')
				a->m[w - 1] = a->m[i];
		} else {
			a->m[w++] = a->m[i];
		}
	a->n = w;
}

/* ---- syncs and quiescence ---- */

static void sync_invoke(struct ck_repl *r, const model_event *ev)
{
	if (ev->op_id == UINT64_MAX)
		return;
	ck_map_put(&r->sync_inv, ev->op_id + 1, (void *)(uintptr_t)(ev->t_ns + 1));
}

static void sync_done(struct ck_repl *r, const model_event *ev)
{
	uintptr_t inv = ev->op_id == UINT64_MAX ? 0
			: (uintptr_t)ck_map_del(&r->sync_inv, ev->op_id + 1);
	if (inv == 0)
		return;
	const model_op *op = &ev->op;
	uint32_t a = CM_MIN(op->replica, op->peer), b = CM_MAX(op->replica, op->peer);
	size_t i = 0;
	while (i < r->nsyncs && !(r->syncs[i].a == a && r->syncs[i].b == b &&
				  strcmp(r->syncs[i].box, op->mailbox) == 0))
		i++;
	if (i == r->nsyncs) {
		CM_GROW(r->syncs, r->capsyncs, r->nsyncs + 1);
		r->nsyncs++;
	}
	repl_sync *x = &r->syncs[i];
	snprintf(x->box, sizeof(x->box), "%s", op->mailbox);
	x->a = a;
	x->b = b;
	x->inv_t = inv - 1;
	x->ok = ev->type == MODEL_EV_OK;
}

bool ck_repl_synced(const struct ck_repl *r, const char *box)
{
	if (r->counted.n != 0 || r->checkpoint_op == 0)
		return false;
	for (uint32_t a = 1; a <= r->nrep; a++)
		for (uint32_t b = a + 1; b <= r->nrep; b++) {
			bool done = false;
			for (size_t i = 0; i < r->nsyncs && !done; i++) {
				const repl_sync *x = &r->syncs[i];
				done = x->a == a && x->b == b && x->ok &&
				       (x->box[0] == '\0' || strcmp(x->box, box) == 0) &&
				       x->inv_t > r->last_activity_t &&
				       x->inv_t < r->checkpoint_inv_t;
			}
			if (!done)
				return false;
		}
	return r->nrep >= 2;
}

/* ---- feeding ---- */

static void invoke(struct ck_repl *r, const model_event *ev)
{
	const model_op *op = &ev->op;
	if (op->kind == MODEL_OP_SYNC) {
		sync_invoke(r, ev);
	} else if (op->kind == MODEL_OP_CHECKPOINT) {
		r->checkpoint_op = ev->op_id;
		r->checkpoint_inv_t = ev->t_ns;
	} else if (op->peer == 0 && r->checkpoint_op == 0 && ev->op_id != UINT64_MAX) {
		ck_map_put(&r->counted, ev->op_id + 1, (void *)1); /* a client's */
	}
}

static void client_done(model_checker *root, struct ck_repl *r, const model_event *ev)
{
	repl_session *s = session(r, ev->client);
	const model_op *op = &ev->op;
	bool client = op->peer == 0 && op->kind != MODEL_OP_SYNC;
	if (ev->op_id != UINT64_MAX && ck_map_del(&r->counted, ev->op_id + 1) != NULL)
		r->last_activity_t = ev->t_ns;
	untagged(root, r, ev, s);
	switch (op->kind) {
	case MODEL_OP_SELECT: select_done(s, ev); break;
	case MODEL_OP_CONNECT:
	case MODEL_OP_LOGOUT: s->selected = false; break;
	case MODEL_OP_STORE: if (client) store_done(r, ev, s); break;
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER:
		appenduid(root, r, ev);
		if (client)
			add_done(r, ev, s);
		break;
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE: if (client) add_done(r, ev, s); break;
	case MODEL_OP_FETCH: if (is_audit(op)) audit_done(r, ev, s); break;
	default: break;
	}
	if (ev->type == MODEL_EV_INFO)
		s->selected = false; /* a lost connection selects nothing */
}

void ck_repl_feed(model_checker *root, struct ck_repl *r, const model_event *ev)
{
	const model_op *op = &ev->op;
	r->nrep = CM_MAX(r->nrep, CM_MAX(op->replica, op->peer));
	if (op->kind == MODEL_OP_FAULT) {
		if (op->fault != MODEL_FAULT_PARTITION && op->fault != MODEL_FAULT_HEAL)
			r->last_activity_t = ev->t_ns; /* data may have changed */
		return;
	}
	if (ev->type == MODEL_EV_INVOKE) {
		invoke(r, ev);
		return;
	}
	if (op->kind == MODEL_OP_SYNC) {
		sync_done(r, ev);
	} else if (op->kind == MODEL_OP_CHECKPOINT) {
		if (r->checkpoint_op == ev->op_id)
			ck_repl_checkpoint(root, r, ev->op_id);
		r->checkpoint_op = 0;
	} else {
		client_done(root, r, ev);
	}
}

/* ---- teardown ---- */

static void free_val(void *ctx, void *val)
{
	(void)ctx;
	free(val);
}

static void box_free(repl_box *b)
{
	ck_map_each(&b->binds, free_val, NULL);
	ck_map_free(&b->binds);
	ck_map_free(&b->ident_at);
	free(b->ids);
	for (size_t i = 0; i < b->nw; i++)
		cm_uidset_free(&b->w[i].uids);
	free(b->w);
	for (size_t i = 0; i < b->ngone; i++)
		cm_uidset_free(&b->gone[i].uids);
	free(b->gone);
	for (int i = 0; i <= CK_REPLICAS_MAX; i++) {
		free(b->cur[i].m);
		free(b->prev[i].m);
	}
	free(b);
}

void ck_repl_free(struct ck_repl *r)
{
	if (r == NULL)
		return;
	while (r->boxes != NULL) {
		repl_box *b = r->boxes;
		r->boxes = b->next;
		box_free(b);
	}
	ck_map_each(&r->sessions, free_val, NULL);
	ck_map_free(&r->sessions);
	ck_map_free(&r->sync_inv);
	ck_map_free(&r->counted);
	free(r->syncs);
	free(r);
}
