/* Fixtures of the checker tests (test_checker_*.c): a tiny history
 * builder that feeds the checker event by event, result and op builders,
 * and the small scenarios several tests share. */
#ifndef CHECKER_TEST_H
#define CHECKER_TEST_H

#include "checker.h"
#include "cm_test.h"

#include <stdarg.h>

#define UV 77

/* ---- a tiny history builder ---- */

typedef struct hb {
	model_checker *c;
	uint64_t t, id;
	/* The replica every op runs against (0: an unreplicated target); an
	 * op that names one keeps it. */
	uint32_t replica;
	/* Each op by id (ops[id - 1]): a completion carries its op, as the
	 * history reader and the wire driver give it. */
	model_op *ops;
	size_t cap_ops;
} hb;

static inline void hb_init(hb *h, unsigned caps)
{
	model_checker_options o = {.capabilities = caps};
	h->c = model_checker_new(&o);
	h->t = 0;
	h->id = 0;
	h->replica = 0;
	h->ops = NULL;
	h->cap_ops = 0;
}

static inline uint64_t hb_invoke(hb *h, uint32_t client, const model_op *op)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	ev.client = client;
	ev.op_id = ++h->id;
	ev.t_ns = ++h->t;
	model_op_copy(&ev.op, op);
	if (ev.op.replica == 0)
		ev.op.replica = h->replica;
	CM_GROW(h->ops, h->cap_ops, (size_t)h->id);
	model_op_init(&h->ops[h->id - 1], MODEL_OP_NONE); /* copy reuses its sets */
	model_op_copy(&h->ops[h->id - 1], &ev.op);
	model_checker_feed(h->c, &ev);
	model_event_free(&ev);
	return ev.op_id;
}

static inline void hb_done(hb *h, uint32_t client, uint64_t id, model_result *res)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = res->status == MODEL_REPLY_OK ? MODEL_EV_OK
		: res->status == MODEL_REPLY_UNKNOWN ? MODEL_EV_INFO : MODEL_EV_FAIL;
	ev.client = client;
	ev.op_id = id;
	ev.t_ns = ++h->t;
	ev.res = *res;
	if (id >= 1 && id <= h->id)
		ev.op = h->ops[id - 1]; /* shallow: the checker only reads it */
	model_checker_feed(h->c, &ev);
	model_result_free(res);
}

static inline uint64_t count(hb *h, model_inv inv)
{
	return model_checker_get_stats(h->c)->violations[inv];
}

static inline uint64_t total(hb *h)
{
	const model_checker_stats *s = model_checker_get_stats(h->c);
	return s->errors + s->warnings;
}

static inline void dump(hb *h)
{
	size_t n;
	const model_violation *v = model_checker_violations(h->c, &n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "    %s: %s\n", model_inv_get(v[i].inv)->id, v[i].detail);
}

static inline void hb_free(hb *h)
{
	for (uint64_t i = 0; i < h->id; i++)
		model_op_free(&h->ops[i]);
	free(h->ops);
	model_checker_free(h->c);
}

/* ---- result builders ---- */

static inline model_result ok(void)
{
	model_result r;
	model_result_init(&r);
	r.status = MODEL_REPLY_OK;
	return r;
}

static inline void ut_exists(model_result *r, uint32_t n)
{
	model_result_add(r, MODEL_UT_EXISTS)->n = n;
}

static inline void ut_expunge(model_result *r, uint32_t n)
{
	model_result_add(r, MODEL_UT_EXPUNGE)->n = n;
}

static inline void ut_code(model_result *r, model_code_kind k, uint64_t v)
{
	model_untagged *u = model_result_add(r, MODEL_UT_CODE);
	u->code.kind = k;
	u->code.value = v;
}

static inline void ut_fetch(model_result *r, uint32_t seq, uint32_t uid, cm_flags flags,
			    uint64_t modseq, const char *id)
{
	model_untagged *u = model_result_add(r, MODEL_UT_FETCH);
	u->n = seq;
	u->fetch.has = MODEL_F_UID | MODEL_F_FLAGS;
	u->fetch.uid = uid;
	u->fetch.flags = flags;
	if (modseq) {
		u->fetch.has |= MODEL_F_MODSEQ;
		u->fetch.modseq = modseq;
	}
	if (id != NULL) {
		u->fetch.has |= MODEL_F_ID;
		snprintf(u->fetch.id, sizeof(u->fetch.id), "%s", id);
	}
}

static inline cm_flags fl(const char *name)
{
	return (cm_flags)1 << cm_flag_intern(name, strlen(name));
}

/* ---- op builders ---- */

static inline void connect(hb *h, uint32_t client)
{
	model_op op;
	model_op_init(&op, MODEL_OP_CONNECT);
	model_result r = ok();
	hb_done(h, client, hb_invoke(h, client, &op), &r);
}

/* SELECT INBOX showing n messages with UIDs 1..n, all \Seen-free, modseq
 * base+uid; the session learns them with a FETCH. */
static inline void select_box(hb *h, uint32_t client, uint32_t n, uint32_t uidnext,
			      uint64_t highestmodseq)
{
	model_op op;
	model_op_init(&op, MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	op.condstore = true;
	model_result r = ok();
	ut_exists(&r, n);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, UV);
	ut_code(&r, MODEL_CODE_UIDNEXT, uidnext);
	ut_code(&r, MODEL_CODE_HIGHESTMODSEQ, highestmodseq);
	hb_done(h, client, hb_invoke(h, client, &op), &r);
}

static inline void fetch_all(hb *h, uint32_t client, uint32_t n, const cm_flags *flags,
			     const uint64_t *modseq)
{
	model_op op;
	model_op_init(&op, MODEL_OP_FETCH);
	op.uid = true;
	cm_uidset_add_range(&op.set, 1, UINT32_MAX);
	op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ | MODEL_F_ID;
	model_result r = ok();
	for (uint32_t i = 1; i <= n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "m%u", i);
		ut_fetch(&r, i, i, flags ? flags[i - 1] : 0, modseq ? modseq[i - 1] : 10 + i, id);
	}
	hb_done(h, client, hb_invoke(h, client, &op), &r);
	model_op_free(&op);
}

static inline model_op store_op(uint32_t uid, model_store_mode mode, cm_flags f)
{
	model_op op;
	model_op_init(&op, MODEL_OP_STORE);
	op.uid = true;
	cm_uidset_add(&op.set, uid);
	op.mode = mode;
	op.flags = f;
	return op;
}

/* UID FETCH 1:* (UID FLAGS MODSEQ) */
static inline model_op fetch_all_op(void)
{
	model_op op;
	model_op_init(&op, MODEL_OP_FETCH);
	op.uid = true;
	cm_uidset_add_range(&op.set, 1, UINT32_MAX);
	op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
	return op;
}

/* Two sessions on a mailbox with three messages. */
static inline void two_sessions(hb *h)
{
	for (uint32_t c = 1; c <= 2; c++) {
		connect(h, c);
		select_box(h, c, 3, 4, 13);
		fetch_all(h, c, 3, NULL, NULL);
	}
}

/* ---- running ops ---- */

static inline uint64_t errors(hb *h)
{
	return model_checker_get_stats(h->c)->errors;
}

static inline void do_op(hb *h, uint32_t client, model_op *op, model_result *r)
{
	hb_done(h, client, hb_invoke(h, client, op), r);
	model_op_free(op);
}

/* UID STORE +FLAGS (\Deleted) of uid, shown at seq with modseq. */
static inline void store_deleted(hb *h, uint32_t client, uint32_t uid, uint32_t seq,
				 uint64_t modseq)
{
	model_op op = store_op(uid, MODEL_STORE_ADD, CM_FLAG_DELETED);
	model_result r = ok();
	ut_fetch(&r, seq, uid, CM_FLAG_DELETED, modseq, NULL);
	do_op(h, client, &op, &r);
}

static inline void expunge_seq(hb *h, uint32_t client, uint32_t seq)
{
	model_op op;
	model_op_init(&op, MODEL_OP_EXPUNGE);
	model_result r = ok();
	ut_expunge(&r, seq);
	do_op(h, client, &op, &r);
}
/* A fresh read of INBOX: EXAMINE (UIDNEXT uidnext), UID SEARCH ALL, UID
 * FETCH of the n messages' UIDs, identities and flags. */
static inline void read_box(hb *h, uint32_t client, uint32_t uidnext, uint32_t n,
		     const uint32_t *uids, const char *const *ids, const cm_flags *flags)
{
	model_op op;
	model_op_init(&op, MODEL_OP_SELECT);
	op.readonly = true;
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	model_result r = ok();
	ut_exists(&r, n);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, UV);
	ut_code(&r, MODEL_CODE_UIDNEXT, uidnext);
	do_op(h, client, &op, &r);
	model_op_init(&op, MODEL_OP_SEARCH);
	op.uid = true;
	r = ok();
	model_untagged *u = model_result_add(&r, MODEL_UT_SEARCH);
	for (uint32_t i = 0; i < n; i++)
		cm_uidset_add(&u->set, uids[i]);
	do_op(h, client, &op, &r);
	op = fetch_all_op();
	op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_ID;
	r = ok();
	for (uint32_t i = 0; i < n; i++)
		ut_fetch(&r, i + 1, uids[i], flags ? flags[i] : 0, 0, ids[i]);
	do_op(h, client, &op, &r);
}

#endif
