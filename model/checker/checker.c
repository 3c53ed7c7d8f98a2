/* The history checker: feeds events to the session machine and the rules,
 * keeps ops in flight, mailbox epochs and sessions, records violations. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

model_checker *model_checker_new(const model_checker_options *opts)
{
	model_checker *c = cm_xcalloc(1, sizeof(*c));
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.max_violations == 0)
		c->opts.max_violations = 1000;
	return c;
}

bool ck_cap(const model_checker *c, unsigned cap)
{
	return (c->opts.capabilities & cap) != 0;
}

/* ---- violations ---- */

static model_severity severity_of(const model_checker *c, model_inv inv)
{
	const model_inv_info *info = model_inv_get(inv);
	if (inv == MODEL_INV_MOVE_NO_DUP && !c->opts.imap4rev2)
		return MODEL_SEV_WARNING;
	if (inv == MODEL_INV_HIGHESTMODSEQ_MONO && !ck_cap(c, MODEL_CAP_QRESYNC))
		return MODEL_SEV_WARNING;
	return info->severity;
}

static void record(model_checker *c, model_inv inv, model_severity sev,
		   const ck_op *op, const ck_box *box, uint32_t uid,
		   uint64_t other_op, const char *detail)
{
	const model_inv_info *info = model_inv_get(inv);
	if (info->derived && c->opts.no_derived)
		return;
	model_violation v;
	memset(&v, 0, sizeof(v));
	v.inv = inv;
	v.severity = sev;
	if (box != NULL) {
		snprintf(v.mailbox, sizeof(v.mailbox), "%s", box->name);
		v.uidvalidity = box->uidvalidity;
	}
	v.uid = uid;
	v.client = op ? op->client : 0;
	size_t k = 0;
	if (op != NULL)
		v.events[k++] = op->id;
	if (other_op != 0 && (op == NULL || other_op != op->id))
		v.events[k++] = other_op;
	/* A replica's finding says where; its root keeps it. */
	cm_buf d = {0};
	if (c->root != NULL)
		cm_buf_printf(&d, "replica %" PRIu32 ": ", c->sub_replica);
	cm_buf_printf(&d, "%s", detail);
	snprintf(v.detail, sizeof(v.detail), "%.*s", (int)CM_MIN(d.len, sizeof(v.detail) - 1),
		 d.data);
	cm_buf_free(&d);
	if (c->root != NULL) {
		c->stats.violations[inv]++;
		ck_violation_adopt(c->root, &v);
		return;
	}
	ck_violation_adopt(c, &v);
}

void ck_violation_adopt(model_checker *c, const model_violation *v)
{
	assert(c->root == NULL);
	c->stats.violations[v->inv]++;
	if (v->severity == MODEL_SEV_ERROR)
		c->stats.errors++;
	else
		c->stats.warnings++;
	if (c->nv < c->opts.max_violations) {
		CM_GROW(c->v, c->capv, c->nv + 1);
		c->v[c->nv++] = *v;
	}
	if (c->opts.on_violation != NULL)
		c->opts.on_violation(c->opts.ctx, v);
}

static void recordv(model_checker *c, model_inv inv, model_severity sev, const ck_op *op,
		    const ck_box *box, uint32_t uid, uint64_t other_op, const char *fmt,
		    va_list ap)
{
	char detail[320];
	vsnprintf(detail, sizeof(detail), fmt, ap);
	record(c, inv, sev, op, box, uid, other_op, detail);
}

void ck_violation(model_checker *c, model_inv inv, const ck_op *op, const ck_box *box,
		  uint32_t uid, uint64_t other_op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	recordv(c, inv, severity_of(c, inv), op, box, uid, other_op, fmt, ap);
	va_end(ap);
}

void ck_warning(model_checker *c, model_inv inv, const ck_op *op, const ck_box *box,
		uint32_t uid, uint64_t other_op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	recordv(c, inv, MODEL_SEV_WARNING, op, box, uid, other_op, fmt, ap);
	va_end(ap);
}

/* ---- registries ---- */

ck_session *ck_session_get(model_checker *c, uint32_t client)
{
	uint64_t key = (uint64_t)client + 1;
	ck_session *s = ck_map_get(&c->sessions, key);
	if (s == NULL) {
		s = cm_xcalloc(1, sizeof(*s));
		s->c = c;
		s->client = client;
		ck_map_put(&c->sessions, key, s);
	}
	return s;
}

ck_box *ck_box_get(model_checker *c, const char *name, uint32_t uidvalidity,
		   bool create)
{
	for (ck_box *b = c->boxes; b != NULL; b = b->next)
		if (b->uidvalidity == uidvalidity && strcmp(b->name, name) == 0)
			return b;
	if (!create)
		return NULL;
	ck_box *b = cm_xcalloc(1, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->uidvalidity = uidvalidity;
	b->next = c->boxes;
	c->boxes = b;
	ck_sync_bind(c, b);
	return b;
}

/* The newest epoch known for a name (for ops that name a mailbox they have
 * not selected: APPEND, COPY and MOVE targets, STATUS). */
ck_box *ck_box_current(model_checker *c, const char *name)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (strcmp(c->names[i].name, name) == 0)
			return ck_box_get(c, name, c->names[i].max_uv, true);
	return NULL;
}

struct bind_ctx {
	model_checker *c;
	ck_box *b;
};

/* An op in flight that adds to a mailbox nobody had read when it was
 * invoked: it adds to this first epoch. */
static void bind_pending(void *ctx, void *val)
{
	struct bind_ctx *x = ctx;
	ck_op *op = val;
	model_op_kind k = op->op.kind;
	if (op->done || op->dst != NULL || strcmp(op->op.mailbox, x->b->name) != 0 ||
	    (k != MODEL_OP_APPEND && k != MODEL_OP_DELIVER && k != MODEL_OP_COPY &&
	     k != MODEL_OP_MOVE))
		return;
	op->dst = x->b;
	ck_box_no_snap(op);
	ck_ops_bind_adder(x->c, op);
}

/* UIDVALIDITY-STABLE across fresh reads of a name. Returns the epoch. */
ck_box *ck_box_epoch(model_checker *c, const ck_op *op, const char *name,
		     uint32_t uv)
{
	size_t i = 0;
	for (; i < c->nnames; i++)
		if (strcmp(c->names[i].name, name) == 0)
			break;
	if (i == c->nnames) {
		CM_GROW(c->names, c->capnames, c->nnames + 1);
		snprintf(c->names[i].name, MODEL_NAME_MAX, "%s", name);
		c->names[i].max_uv = uv;
		c->names[i].recreated = false;
		c->nnames++;
		struct bind_ctx x = {c, ck_box_get(c, name, uv, true)};
		ck_map_each(&c->ops, bind_pending, &x);
		return x.b;
	} else if (uv < c->names[i].max_uv) {
		ck_violation(c, MODEL_INV_UIDVALIDITY_STABLE, op, NULL, 0, 0,
			     "fresh UIDVALIDITY of %s went down from %" PRIu32 " to %" PRIu32,
			     name, c->names[i].max_uv, uv);
	} else if (uv > c->names[i].max_uv) {
		if (!c->names[i].recreated)
			ck_warning(c, MODEL_INV_UIDVALIDITY_STABLE, op, NULL, 0, 0,
				   "UIDVALIDITY of %s changed from %" PRIu32 " to %" PRIu32
				   " without the mailbox being deleted or created (a new epoch)",
				   name, c->names[i].max_uv, uv);
		c->names[i].max_uv = uv;
		c->names[i].recreated = false;
	}
	return ck_box_get(c, name, uv, true);
}

void ck_name_recreated(model_checker *c, const char *name)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (strcmp(c->names[i].name, name) == 0)
			c->names[i].recreated = true;
}

ck_msg *ck_msg_get(ck_box *b, uint32_t uid, bool create)
{
	ck_msg *m = ck_map_get(&b->msgs, uid);
	if (m == NULL && create) {
		m = cm_xcalloc(1, sizeof(*m));
		m->uid = uid;
		m->seen_t = CK_NEVER;
		m->told_gone_t = CK_NEVER;
		m->vanished_claim_t = CK_NEVER;
		m->expunged_t = CK_NEVER;
		ck_map_put(&b->msgs, uid, m);
		/* A STORE whose range reached past what was known when it was
		 * invoked may have touched this message too. */
		for (size_t i = 0; i < b->nwides; i++)
			if (cm_uidset_contains(&b->wides[i].uids, uid))
				ck_flags_wide(m, &b->wides[i]);
	}
	return m;
}

ck_op *ck_op_find(model_checker *c, uint64_t id)
{
	return ck_map_get(&c->ops, id);
}

/* ---- faults ---- */

static void drop_session(void *ctx, void *val)
{
	(void)ctx;
	ck_session_reset(val);
}

static void fault(model_checker *c, const model_event *ev)
{
	switch (ev->op.fault) {
	case MODEL_FAULT_CRASH:
		c->crashes++;
		c->last_crash_t = ev->t_ns;
		ck_map_each(&c->sessions, drop_session, NULL);
		break;
	case MODEL_FAULT_KILL:
		ck_session_reset(ck_session_get(c, ev->op.fault_client));
		break;
	case MODEL_FAULT_INDEX_LOSS:
		c->crashes++;
		c->last_crash_t = ev->t_ns;
		for (ck_box *b = c->boxes; b != NULL; b = b->next)
			if (strcmp(b->name, ev->op.mailbox) == 0) {
				ck_flags_fault(b, ev->t_ns, ev->op_id);
				b->index_loss_uids = CM_MAX(b->index_loss_uids,
							    b->max_uid_seen);
				b->index_loss_t = ev->t_ns;
			}
		break;
	default:
		break; /* ENOSPC and rename failures show in the ops they hit */
	}
}

/* ---- feeding ---- */

static void op_free(ck_op *op)
{
	model_op_free(&op->op);
	cm_uidset_free(&op->uids);
	cm_uidset_free(&op->maybe_uids);
	free(op);
}

static void invoke(model_checker *c, const model_event *ev)
{
	if (ck_op_find(c, ev->op_id) != NULL) {
		ck_violation(c, MODEL_INV_SESSION_VIEW_CONVERGES, NULL, NULL, 0, ev->op_id,
			     "history reuses op id %" PRIu64, ev->op_id);
		return;
	}
	ck_op *op = cm_xcalloc(1, sizeof(*op));
	op->id = ev->op_id;
	op->client = ev->client;
	op->inv_t = ev->t_ns;
	op->cmp_t = CK_NEVER;
	op->crashes = c->crashes;
	model_op_copy(&op->op, &ev->op);
	ck_map_put(&c->ops, op->id, op);
	c->stats.ops++;
	if (op->op.kind == MODEL_OP_CHECKPOINT) {
		c->checkpoint_open = op->id;
		c->checkpoint_inv_t = op->inv_t;
		return;
	}
	ck_session *s = ck_session_get(c, ev->client);
	op->at_invoke_session_cmp_t = s->last_cmp_t;
	ck_session_invoke(c, s, op);
	ck_ops_invoke(c, s, op);
}

static void complete(model_checker *c, const model_event *ev)
{
	ck_op *op = ck_op_find(c, ev->op_id);
	if (op == NULL) {
		if (ev->type == MODEL_EV_INFO && ev->op.kind == MODEL_OP_FAULT)
			fault(c, ev);
		return; /* a completion without invoke: nothing to judge */
	}
	CK_CHECK(op->id == ev->op_id && !op->done && op->cmp_t == CK_NEVER &&
		 op->inv_t < ev->t_ns, "a completion finds its op's invoke, once");
	op->status = ev->res.status;
	if (ev->type == MODEL_EV_INFO || op->status == MODEL_REPLY_UNKNOWN)
		op->status = MODEL_REPLY_UNKNOWN;
	else
		op->cmp_t = ev->t_ns;
	op->done = true;
	/* The server broke the grammar and the client had to drop the
	 * connection: a finding, whatever the op's outcome became. */
	if (ev->res.protocol[0] != '\0')
		ck_violation(c, MODEL_INV_RESPONSE_SYNTAX, op, NULL, 0, 0,
			     "malformed response, connection dropped: %.250s",
			     ev->res.protocol);
	bool checkpoint = op->op.kind == MODEL_OP_CHECKPOINT;
	if (checkpoint) {
		ck_ops_checkpoint(c, op);
		c->checkpoint_open = 0;
	} else {
		ck_session *s = ck_session_get(c, op->client);
		if (ev->res.nut > c->cap_ut_uid) {
			c->cap_ut_uid = ev->res.nut * 2;
			c->ut_uid = cm_xrealloc(c->ut_uid, c->cap_ut_uid * sizeof(*c->ut_uid));
		}
		ck_session_fetch_uids(s, op, &ev->res, c->ut_uid);
		op->ut_uid = c->ut_uid;
		ck_ops_settle(c, s, op, &ev->res);
		ck_session_apply(c, s, op, &ev->res);
		ck_ops_complete(c, s, op, &ev->res);
		ck_lost_complete(c, s, op);
		if (op->cmp_t != CK_NEVER)
			s->last_cmp_t = op->cmp_t;
	}
	ck_map_del(&c->ops, op->id);
	op_free(op);
	if (checkpoint)
		ck_check_all(c); /* quiet: a good time to look at everything */
}

void model_checker_feed(model_checker *c, const model_event *ev)
{
	c->stats.events++;
	if (ev->t_ns <= c->last_t && c->stats.events > 1)
		cm_panic("checker: event times must strictly increase");
	c->last_t = ev->t_ns;
	if (ck_replicas_feed(c, ev))
		return;
	/* A SYNC is judged by a replica's checker (sync_window.c), where the
	 * root routed it; a target that names no replica has none. */
	if (ev->op.kind == MODEL_OP_SYNC && c->root == NULL)
		return;
	if (ev->type == MODEL_EV_INVOKE)
		invoke(c, ev);
	else
		complete(c, ev);
}

static void lost(void *ctx, void *val)
{
	(void)ctx;
	((ck_op *)val)->status = MODEL_REPLY_UNKNOWN;
}

void model_checker_finish(model_checker *c)
{
	/* Ops never completed stay open forever: outcome unknown. */
	ck_map_each(&c->ops, lost, NULL);
	ck_replicas_finish(c);
	if (c->repl == NULL)
		for (int i = MODEL_INV_REPL_CONVERGE; i <= MODEL_INV_REPL_NO_RESURRECT; i++)
			c->stats.skipped[i] = true;
	if (!ck_cap(c, MODEL_CAP_CONDSTORE))
		for (int i = MODEL_INV_MODSEQ_POSITIVE; i <= MODEL_INV_EXPUNGED_DURING_STORE; i++)
			c->stats.skipped[i] = true;
	if (!ck_cap(c, MODEL_CAP_QRESYNC))
		for (int i = MODEL_INV_EXPUNGE_MODSEQ; i <= MODEL_INV_QRESYNC_NO_GAP; i++)
			c->stats.skipped[i] = true;
	if (!ck_cap(c, MODEL_CAP_UIDPLUS)) {
		c->stats.skipped[MODEL_INV_APPENDUID_CONSISTENT] = true;
		c->stats.skipped[MODEL_INV_COPYUID_CONSISTENT] = true;
	}
	if (!ck_cap(c, MODEL_CAP_MOVE))
		for (int i = MODEL_INV_MOVE_NO_LOSS; i <= MODEL_INV_MOVE_SHAPE; i++)
			c->stats.skipped[i] = true;
	ck_check_all(c);
}

const model_checker_stats *model_checker_get_stats(const model_checker *c)
{
	return &c->stats;
}

const model_violation *model_checker_violations(const model_checker *c, size_t *n_r)
{
	*n_r = c->nv;
	return c->v;
}

static void free_op(void *ctx, void *val)
{
	(void)ctx;
	op_free(val);
}

static void free_session(void *ctx, void *val)
{
	(void)ctx;
	ck_session *s = val;
	ck_view_free(s);
	free(s);
}

static void free_msg(void *ctx, void *val)
{
	(void)ctx;
	ck_msg *m = val;
	free(m->w);
	free(m);
}

void model_checker_free(model_checker *c)
{
	if (c == NULL)
		return;
	ck_replicas_free(c);
	ck_map_each(&c->ops, free_op, NULL);
	ck_map_free(&c->ops);
	ck_map_each(&c->sessions, free_session, NULL);
	ck_map_free(&c->sessions);
	while (c->boxes != NULL) {
		ck_box *b = c->boxes;
		c->boxes = b->next;
		ck_map_each(&b->msgs, free_msg, NULL);
		ck_map_free(&b->msgs);
		ck_box_free_lists(b);
		free(b);
	}
	free(c->names);
	free(c->syncs);
	free(c->v);
	cm_buf_free(&c->tmp);
	free(c->ut_uid);
	free(c);
}
