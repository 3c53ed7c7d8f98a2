/* The checker on hand-built histories: each rule fires on a history that
 * breaks it, and stays silent on the legal variants the RFCs allow
 * (lagging sessions, overlapping STOREs, lost replies). */
#include "checker.h"
#include "cm_test.h"

#include <stdarg.h>

#define UV 77

/* ---- a tiny history builder ---- */

typedef struct hb {
	model_checker *c;
	uint64_t t, id;
} hb;

static void hb_init(hb *h, unsigned caps)
{
	model_checker_options o = {.capabilities = caps};
	h->c = model_checker_new(&o);
	h->t = 0;
	h->id = 0;
}

static uint64_t hb_invoke(hb *h, uint32_t client, const model_op *op)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	ev.client = client;
	ev.op_id = ++h->id;
	ev.t_ns = ++h->t;
	model_op_copy(&ev.op, op);
	model_checker_feed(h->c, &ev);
	model_event_free(&ev);
	return ev.op_id;
}

static void hb_done(hb *h, uint32_t client, uint64_t id, model_result *res)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = res->status == MODEL_REPLY_OK ? MODEL_EV_OK
		: res->status == MODEL_REPLY_UNKNOWN ? MODEL_EV_INFO : MODEL_EV_FAIL;
	ev.client = client;
	ev.op_id = id;
	ev.t_ns = ++h->t;
	ev.res = *res;
	model_checker_feed(h->c, &ev);
	model_result_free(res);
}

static uint64_t count(hb *h, model_inv inv)
{
	return model_checker_get_stats(h->c)->violations[inv];
}

static uint64_t total(hb *h)
{
	const model_checker_stats *s = model_checker_get_stats(h->c);
	return s->errors + s->warnings;
}

static void dump(hb *h)
{
	size_t n;
	const model_violation *v = model_checker_violations(h->c, &n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "    %s: %s\n", model_inv_get(v[i].inv)->id, v[i].detail);
}

static void hb_free(hb *h)
{
	model_checker_free(h->c);
}

/* ---- result builders ---- */

static model_result ok(void)
{
	model_result r;
	model_result_init(&r);
	r.status = MODEL_REPLY_OK;
	return r;
}

static void ut_exists(model_result *r, uint32_t n)
{
	model_result_add(r, MODEL_UT_EXISTS)->n = n;
}

static void ut_expunge(model_result *r, uint32_t n)
{
	model_result_add(r, MODEL_UT_EXPUNGE)->n = n;
}

static void ut_code(model_result *r, model_code_kind k, uint64_t v)
{
	model_untagged *u = model_result_add(r, MODEL_UT_CODE);
	u->code.kind = k;
	u->code.value = v;
}

static void ut_fetch(model_result *r, uint32_t seq, uint32_t uid, cm_flags flags,
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

static cm_flags fl(const char *name)
{
	return (cm_flags)1 << cm_flag_intern(name, strlen(name));
}

/* ---- op builders ---- */

static void connect(hb *h, uint32_t client)
{
	model_op op;
	model_op_init(&op, MODEL_OP_CONNECT);
	model_result r = ok();
	hb_done(h, client, hb_invoke(h, client, &op), &r);
}

/* SELECT INBOX showing n messages with UIDs 1..n, all \Seen-free, modseq
 * base+uid; the session learns them with a FETCH. */
static void select_box(hb *h, uint32_t client, uint32_t n, uint32_t uidnext,
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

static void fetch_all(hb *h, uint32_t client, uint32_t n, const cm_flags *flags,
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

static model_op store_op(uint32_t uid, model_store_mode mode, cm_flags f)
{
	model_op op;
	model_op_init(&op, MODEL_OP_STORE);
	op.uid = true;
	cm_uidset_add(&op.set, uid);
	op.mode = mode;
	op.flags = f;
	return op;
}

/* Two sessions on a mailbox with three messages. */
static void two_sessions(hb *h)
{
	for (uint32_t c = 1; c <= 2; c++) {
		connect(h, c);
		select_box(h, c, 3, 4, 13);
		fetch_all(h, c, 3, NULL, NULL);
	}
}

static void do_op(hb *h, uint32_t client, model_op *op, model_result *r);
static model_op fetch_all_op(void);
static uint64_t errors(hb *h);
static void store_deleted(hb *h, uint32_t client, uint32_t uid, uint32_t seq,
			  uint64_t modseq);
static void expunge_seq(hb *h, uint32_t client, uint32_t seq);

/* ---- tests ---- */

static void t_clean(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_UIDPLUS);
	two_sessions(&h);
	model_op op = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_result r = ok();
	ut_fetch(&r, 1, 1, CM_FLAG_SEEN, 20, NULL);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	model_op_free(&op);
	/* Client 2 lags: it may still say \Seen is clear (no fresh read). */
	fetch_all(&h, 2, 3, NULL, NULL);
	/* Client 1 reads its own write. */
	cm_flags f[3] = {CM_FLAG_SEEN, 0, 0};
	uint64_t ms[3] = {20, 12, 13};
	fetch_all(&h, 1, 3, f, ms);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

static void t_lost_update(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	/* +\Seen by 1 and +\Flagged by 2, overlapping; both OK. */
	model_op a = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_op b = store_op(1, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
	uint64_t ia = hb_invoke(&h, 1, &a), ib = hb_invoke(&h, 2, &b);
	model_result ra = ok(), rb = ok();
	hb_done(&h, 1, ia, &ra);
	hb_done(&h, 2, ib, &rb);
	/* Client 1 then sees \Flagged but not its own \Seen: lost update. */
	cm_flags f[3] = {CM_FLAG_FLAGGED, 0, 0};
	uint64_t ms[3] = {30, 12, 13};
	fetch_all(&h, 1, 3, f, ms);
	CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), 1);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
}

static void t_overlap_is_fine(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	/* +\Seen by 1 overlaps -\Seen by 2: either order is legal. */
	model_op a = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_op b = store_op(1, MODEL_STORE_REMOVE, CM_FLAG_SEEN);
	uint64_t ia = hb_invoke(&h, 1, &a), ib = hb_invoke(&h, 2, &b);
	model_result ra = ok(), rb = ok();
	hb_done(&h, 2, ib, &rb);
	hb_done(&h, 1, ia, &ra);
	fetch_all(&h, 1, 3, NULL, NULL); /* \Seen clear: 2 went last */
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
}

static void t_store_response(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	model_op a = store_op(2, MODEL_STORE_ADD, fl("$Junk"));
	model_result r = ok();
	ut_fetch(&r, 2, 2, 0, 21, NULL); /* the response lacks what it added */
	hb_done(&h, 1, hb_invoke(&h, 1, &a), &r);
	CHECK_EQ(count(&h, MODEL_INV_STORE_RESPONSE_VALUE), 1);
	model_op_free(&a);
	hb_free(&h);
	/* The same reply is fine for a message another session had expunged
	 * first: the STORE had nothing to change (Cyrus answers so). */
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	store_deleted(&h, 2, 2, 2, 20);
	expunge_seq(&h, 2, 2);
	a = store_op(2, MODEL_STORE_ADD, fl("$Junk"));
	r = ok();
	ut_fetch(&r, 2, 2, CM_FLAG_DELETED, 20, NULL);
	do_op(&h, 1, &a, &r);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

static void t_unchangedsince(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	/* Client 2 changes message 1 (modseq 12 -> 40) and completes. */
	model_op b = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_result rb = ok();
	ut_fetch(&rb, 1, 1, CM_FLAG_SEEN, 40, NULL);
	hb_done(&h, 2, hb_invoke(&h, 2, &b), &rb);
	/* Client 1, still believing modseq 11, stores conditionally: the
	 * server must refuse with MODIFIED. This one accepts. */
	model_op a = store_op(1, MODEL_STORE_REPLACE, CM_FLAG_FLAGGED);
	a.has_unchangedsince = true;
	a.unchangedsince = 11;
	model_result ra = ok();
	ut_fetch(&ra, 1, 1, CM_FLAG_FLAGGED, 41, NULL);
	hb_done(&h, 1, hb_invoke(&h, 1, &a), &ra);
	CHECK_EQ(count(&h, MODEL_INV_UNCHANGEDSINCE_REJECT), 1);
	/* And the honest answer raises nothing. */
	hb h2;
	hb_init(&h2, MODEL_CAP_CONDSTORE);
	two_sessions(&h2);
	rb = ok();
	ut_fetch(&rb, 1, 1, CM_FLAG_SEEN, 40, NULL);
	hb_done(&h2, 2, hb_invoke(&h2, 2, &b), &rb);
	ra = ok();
	ra.code.kind = MODEL_CODE_MODIFIED;
	cm_uidset_add(&ra.code.set1, 1);
	hb_done(&h2, 1, hb_invoke(&h2, 1, &a), &ra);
	CHECK_EQ(total(&h2), 0);
	if (total(&h2))
		dump(&h2);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
	hb_free(&h2);
}

static void t_uid_ascending(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 2, 10, 5);
	model_op op;
	model_op_init(&op, MODEL_OP_FETCH);
	op.items = MODEL_F_UID | MODEL_F_FLAGS;
	cm_uidset_add_range(&op.set, 1, 2);
	model_result r = ok();
	ut_fetch(&r, 1, 7, 0, 0, NULL);
	ut_fetch(&r, 2, 5, 0, 0, NULL); /* below sequence 1's UID */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_UID_ASCENDING), 1);
	model_op_free(&op);
	hb_free(&h);
}

/* A server whose numbering parts from the session's (sequence 1 was UID 1,
 * now it says UID 2) is reported once, not at every later FETCH. */
static void t_uid_divergence_once(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 3, 4, 5);
	fetch_all(&h, 1, 3, NULL, NULL);
	for (int round = 0; round < 3; round++) {
		model_op op = fetch_all_op();
		model_result r = ok();
		ut_fetch(&r, 1, 2, 0, 0, NULL);
		ut_fetch(&r, 2, 3, 0, 0, NULL);
		ut_fetch(&r, 3, 4, 0, 0, NULL);
		do_op(&h, 1, &op, &r);
	}
	CHECK_EQ(count(&h, MODEL_INV_UID_ASCENDING), 1);
	if (count(&h, MODEL_INV_UID_ASCENDING) != 1)
		dump(&h);
	hb_free(&h);
}

static void t_expunge_seqnum(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 3, 10, 5);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	ut_expunge(&r, 5);     /* only 3 messages */
	ut_exists(&r, 1);      /* EXISTS may not lower the count */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_SEQNUM_VALID), 2);
	/* EXPUNGE during a non-UID FETCH. */
	model_op_init(&op, MODEL_OP_FETCH);
	cm_uidset_add(&op.set, 1);
	op.items = MODEL_F_FLAGS;
	r = ok();
	ut_expunge(&r, 1);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_SEQNUM_VALID), 3);
	model_op_free(&op);
	hb_free(&h);
}

static void t_uid_order_and_reuse(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	select_box(&h, 1, 0, 1, 5);
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "a");
	model_result r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set1, 5);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	/* A later APPEND gets a lower UID. */
	snprintf(op.msg_id, sizeof(op.msg_id), "b");
	r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set1, 4);
	hb_done(&h, 2, hb_invoke(&h, 2, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_UID_ORDER_GLOBAL), 1);
	model_op_free(&op);
	hb_free(&h);
}

static void t_modseq_on_change(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	cm_flags f1[3] = {CM_FLAG_SEEN, 0, 0}, f2[3] = {CM_FLAG_FLAGGED, 0, 0};
	uint64_t ms[3] = {50, 12, 13};
	model_op a = store_op(1, MODEL_STORE_REPLACE, CM_FLAG_SEEN);
	model_result r = ok();
	hb_done(&h, 1, hb_invoke(&h, 1, &a), &r);
	model_op b = store_op(1, MODEL_STORE_REPLACE, CM_FLAG_FLAGGED);
	r = ok();
	hb_done(&h, 2, hb_invoke(&h, 2, &b), &r);
	fetch_all(&h, 1, 3, f1, ms);
	fetch_all(&h, 2, 3, f2, ms); /* same MODSEQ, other flags */
	CHECK_EQ(count(&h, MODEL_INV_MODSEQ_ON_CHANGE), 1);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
}

static void t_highestmodseq(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC);
	connect(&h, 1);
	select_box(&h, 1, 0, 1, 100);
	connect(&h, 2);
	select_box(&h, 2, 0, 1, 90); /* fresh read went down */
	CHECK_EQ(count(&h, MODEL_INV_HIGHESTMODSEQ_MONO), 1);
	hb_free(&h);
}

static void t_vanished_instead(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC);
	connect(&h, 1);
	model_op op;
	model_op_init(&op, MODEL_OP_ENABLE);
	op.caps = MODEL_CAP_QRESYNC;
	model_result r = ok();
	model_result_add(&r, MODEL_UT_ENABLED)->caps = MODEL_CAP_QRESYNC | MODEL_CAP_CONDSTORE;
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	select_box(&h, 1, 2, 3, 5);
	fetch_all(&h, 1, 2, NULL, NULL);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_expunge(&r, 1); /* must be VANISHED now */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK(count(&h, MODEL_INV_VANISHED_INSTEAD) >= 1);
	hb_free(&h);
}

static void t_expunge_needs_deleted(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 2, 3, 5);
	fetch_all(&h, 1, 2, NULL, NULL);
	model_op op;
	model_op_init(&op, MODEL_OP_EXPUNGE);
	model_result r = ok();
	ut_expunge(&r, 1); /* nothing was ever \Deleted */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_DELETED_ONLY), 1);
	/* A message vanishing with no command that could remove it. */
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_expunge(&r, 1);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_DELETED_ONLY), 2);
	hb_free(&h);
}

static void t_copy_atomic(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	select_box(&h, 1, 2, 3, 5);
	fetch_all(&h, 1, 2, NULL, NULL);
	/* COPY of UID 1 (message m1) to Archive fails... */
	model_op op;
	model_op_init(&op, MODEL_OP_COPY);
	op.uid = true;
	cm_uidset_add(&op.set, 1);
	snprintf(op.mailbox, sizeof(op.mailbox), "Archive");
	/* (client 2 has Archive known: select it first) */
	connect(&h, 2);
	model_op sel;
	model_op_init(&sel, MODEL_OP_SELECT);
	snprintf(sel.mailbox, sizeof(sel.mailbox), "Archive");
	model_result r = ok();
	ut_exists(&r, 0);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, 99);
	ut_code(&r, MODEL_CODE_UIDNEXT, 1);
	hb_done(&h, 2, hb_invoke(&h, 2, &sel), &r);
	r = ok();
	r.status = MODEL_REPLY_NO;
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	/* ... yet m1 shows up there. */
	model_op noop;
	model_op_init(&noop, MODEL_OP_NOOP);
	r = ok();
	ut_exists(&r, 1);
	ut_fetch(&r, 1, 1, 0, 0, "m1");
	hb_done(&h, 2, hb_invoke(&h, 2, &noop), &r);
	CHECK_EQ(count(&h, MODEL_INV_COPY_ATOMIC), 1);
	model_op_free(&op);
	hb_free(&h);
}

static void t_anomaly(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	snprintf(r.anomaly, sizeof(r.anomaly), "UID 3 listed but its file is missing");
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_STORE_LOCK_FREE_READ), 1);
	hb_free(&h);
}

/* Issue 10 (3): a malformed response is a finding, not only an op of
 * unknown outcome. */
static void t_response_syntax(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r;
	model_result_init(&r);
	r.status = MODEL_REPLY_UNKNOWN;
	snprintf(r.text, sizeof(r.text), "protocol error: NUL byte in a line");
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_RESPONSE_SYNTAX), 0); /* a lost reply alone is not */
	model_result_init(&r);
	r.status = MODEL_REPLY_UNKNOWN;
	snprintf(r.protocol, sizeof(r.protocol), "imapc: NUL byte in a line; the response "
		 "began \"* OK a\\x00b\"");
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_RESPONSE_SYNTAX), 1);
	size_t n;
	const model_violation *v = model_checker_violations(h.c, &n);
	REQUIRE(n == 1);
	CHECK_EQ(v->severity, MODEL_SEV_ERROR);
	CHECK(strstr(v->detail, "the response began \"* OK a\\x00b\"") != NULL);
	CHECK_EQ(v->client, 1);
	model_op_free(&op);
	hb_free(&h);
}

static uint64_t errors(hb *h)
{
	return model_checker_get_stats(h->c)->errors;
}

static void do_op(hb *h, uint32_t client, model_op *op, model_result *r)
{
	hb_done(h, client, hb_invoke(h, client, op), r);
	model_op_free(op);
}

/* UID STORE +FLAGS (\Deleted) of uid, shown at seq with modseq. */
static void store_deleted(hb *h, uint32_t client, uint32_t uid, uint32_t seq,
			  uint64_t modseq)
{
	model_op op = store_op(uid, MODEL_STORE_ADD, CM_FLAG_DELETED);
	model_result r = ok();
	ut_fetch(&r, seq, uid, CM_FLAG_DELETED, modseq, NULL);
	do_op(h, client, &op, &r);
}

static void expunge_seq(hb *h, uint32_t client, uint32_t seq)
{
	model_op op;
	model_op_init(&op, MODEL_OP_EXPUNGE);
	model_result r = ok();
	ut_expunge(&r, seq);
	do_op(h, client, &op, &r);
}

/* UID FETCH 1:* (UID FLAGS MODSEQ) */
static model_op fetch_all_op(void)
{
	model_op op;
	model_op_init(&op, MODEL_OP_FETCH);
	op.uid = true;
	cm_uidset_add_range(&op.set, 1, UINT32_MAX);
	op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
	return op;
}

/* Client 2 expunges UID 1 and flags UID 3; client 1's CHANGEDSINCE fetch
 * then answers (told) with an unsolicited FETCH of UID 3 by sequence
 * number, before the EXPUNGE that renumbers it. */
static void changedsince_case(hb *h, bool told)
{
	two_sessions(h);
	store_deleted(h, 2, 1, 1, 20);
	expunge_seq(h, 2, 1);
	model_op op = store_op(3, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
	model_result r = ok();
	ut_fetch(&r, 2, 3, CM_FLAG_FLAGGED, 30, NULL);
	do_op(h, 2, &op, &r);
	op = fetch_all_op();
	op.has_changedsince = true;
	op.changedsince = 25;
	r = ok();
	if (told) {
		ut_fetch(&r, 3, 0, CM_FLAG_FLAGGED, 30, NULL);
		r.ut[r.nut - 1].fetch.has &= ~MODEL_F_UID;
	}
	ut_expunge(&r, 1);
	do_op(h, 1, &op, &r);
	/* A fresh session finds UID 3 still there. */
	connect(h, 3);
	model_op_init(&op, MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	r = ok();
	ut_exists(&r, 2);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, UV);
	do_op(h, 3, &op, &r);
	op = fetch_all_op();
	r = ok();
	ut_fetch(&r, 1, 2, 0, 12, NULL);
	ut_fetch(&r, 2, 3, CM_FLAG_FLAGGED, 30, NULL);
	do_op(h, 3, &op, &r);
}

static void t_changedsince_complete(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_UIDPLUS);
	changedsince_case(&h, false);
	CHECK_EQ(count(&h, MODEL_INV_CHANGEDSINCE_COMPLETE), 1);
	hb_free(&h);
	/* The change came as a FETCH without UID, resolved on the view as it
	 * stood before the EXPUNGE later in the reply. */
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_UIDPLUS);
	changedsince_case(&h, true);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* Client 1 saw UID 2 \Deleted at MODSEQ 40; client 2 expunges it; client
 * 1's next reply shows it at its older MODSEQ 12, then (gone) expunged. */
static void modseq_case(hb *h, bool gone)
{
	two_sessions(h);
	store_deleted(h, 2, 2, 2, 40);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	ut_fetch(&r, 2, 2, CM_FLAG_DELETED, 40, NULL);
	do_op(h, 1, &op, &r);
	expunge_seq(h, 2, 2);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_fetch(&r, 2, 2, 0, 12, NULL);
	if (gone)
		ut_expunge(&r, 2);
	do_op(h, 1, &op, &r);
}

static void t_modseq_mono(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	modseq_case(&h, false);
	CHECK_EQ(count(&h, MODEL_INV_MODSEQ_MONO), 1);
	CHECK_EQ(errors(&h), 1);
	if (errors(&h) != 1)
		dump(&h);
	hb_free(&h);
	hb_init(&h, MODEL_CAP_CONDSTORE);
	modseq_case(&h, true);
	CHECK_EQ(count(&h, MODEL_INV_MODSEQ_MONO), 1);
	CHECK_EQ(errors(&h), 0); /* a warning: the expunge follows at once */
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

/* With QRESYNC, an EXPUNGE that removed a message without [HIGHESTMODSEQ]
 * in its tagged OK: a warning (7162 3.2.7); one that went down: an error. */
static void t_expunge_modseq(void)
{
	for (int lower = 0; lower < 2; lower++) {
		hb h;
		hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC);
		connect(&h, 1);
		model_op op;
		model_op_init(&op, MODEL_OP_ENABLE);
		op.caps = MODEL_CAP_QRESYNC;
		model_result r = ok();
		model_result_add(&r, MODEL_UT_ENABLED)->caps = MODEL_CAP_QRESYNC |
							       MODEL_CAP_CONDSTORE;
		do_op(&h, 1, &op, &r);
		select_box(&h, 1, 2, 3, 12);
		cm_flags f[2] = {CM_FLAG_DELETED, 0};
		fetch_all(&h, 1, 2, f, NULL);
		model_op_init(&op, MODEL_OP_EXPUNGE);
		r = ok();
		cm_uidset_add(&model_result_add(&r, MODEL_UT_VANISHED)->set, 1);
		if (lower)
			r.code.kind = MODEL_CODE_HIGHESTMODSEQ, r.code.value = 12;
		do_op(&h, 1, &op, &r);
		CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_MODSEQ), 1);
		CHECK_EQ(errors(&h), (uint64_t)lower);
		hb_free(&h);
	}
}

/* ---- hostile values: findings, never a crash or a huge allocation ---- */

/* FETCH (UID 0) for a sequence number whose UID was known: a UID-NONZERO
 * finding; the checker goes on (it used to panic on map key 0). */
static void t_uid_zero(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	ut_fetch(&r, 1, 0, 0, 0, NULL);
	do_op(&h, 1, &op, &r);
	CHECK_EQ(count(&h, MODEL_INV_UID_NONZERO), 1);
	/* ... and later ops are still judged. */
	model_op st = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	r = ok();
	ut_fetch(&r, 1, 1, CM_FLAG_SEEN, 20, NULL);
	do_op(&h, 1, &st, &r);
	fetch_all(&h, 1, 3, NULL, NULL); /* lost its own \Seen */
	CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), 1);
	hb_free(&h);
}

/* A claimed count costs nothing until messages are seen: EXISTS 2^32-1,
 * a STORE on every sequence number, FETCHes at both ends, an EXPUNGE of
 * the last, a SEARCH claiming 2^32-2 UIDs. Before, the first EXISTS
 * allocated ~170 GB (out of memory: exit 134). */
static void t_huge_exists(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, UINT32_MAX, 100, 13);
	model_op op;
	model_op_init(&op, MODEL_OP_STORE);
	cm_uidset_add_range(&op.set, 1, UINT32_MAX);
	op.mode = MODEL_STORE_ADD;
	op.flags = CM_FLAG_SEEN;
	model_result r = ok();
	ut_fetch(&r, 1, 1, CM_FLAG_SEEN, 20, NULL);
	do_op(&h, 1, &op, &r);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_expunge(&r, UINT32_MAX);
	ut_expunge(&r, 2);
	do_op(&h, 1, &op, &r);
	/* Still followed: the blank tail is a run, expunges shorten it. */
	CHECK_EQ(count(&h, MODEL_INV_SESSION_VIEW_CONVERGES), 0);
	model_op_init(&op, MODEL_OP_SEARCH);
	op.uid = true;
	r = ok();
	cm_uidset_add_range(&model_result_add(&r, MODEL_UT_SEARCH)->set, 1, UINT32_MAX - 2);
	do_op(&h, 1, &op, &r);
	/* The SEARCH named more UIDs than the checker follows: a warning
	 * that the session's view is no longer checked, not an error. */
	CHECK_EQ(count(&h, MODEL_INV_SESSION_VIEW_CONVERGES), 1);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
	/* FETCHes far out in the claimed count (with and without UID): the
	 * view is given up at once, one warning, no error. */
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, UINT32_MAX, 100, 13);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_fetch(&r, UINT32_MAX, 9, CM_FLAG_SEEN, 20, NULL);
	model_untagged *u = model_result_add(&r, MODEL_UT_FETCH);
	u->n = UINT32_MAX - 7;
	u->fetch.has = MODEL_F_FLAGS | MODEL_F_MODSEQ;
	u->fetch.flags = CM_FLAG_SEEN;
	u->fetch.modseq = 20;
	do_op(&h, 1, &op, &r);
	CHECK_EQ(count(&h, MODEL_INV_SESSION_VIEW_CONVERGES), 1);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

/* One message with a UID near 2^32: every UID FETCH/STORE 1:* used to walk
 * every UID up to it (~15 s each); 40 of them now take no time (ctest's
 * timeout is the hang guard). */
static void t_huge_uid(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, 2, UINT32_MAX, 13);
	for (int i = 0; i < 40; i++) {
		model_op op = fetch_all_op();
		model_result r = ok();
		ut_fetch(&r, 1, 1, 0, 11, NULL);
		ut_fetch(&r, 2, UINT32_MAX - 1, 0, 12, NULL);
		do_op(&h, 1, &op, &r);
		model_op st;
		model_op_init(&st, MODEL_OP_STORE);
		st.uid = true;
		cm_uidset_add_range(&st.set, 1, UINT32_MAX);
		st.mode = MODEL_STORE_REMOVE;
		st.flags = fl("$L");
		r = ok();
		do_op(&h, 1, &st, &r);
	}
	/* UID COPY 2:* whose COPYUID claims 2^32-2 pairs: its source UIDs
	 * are checked range by range, its new UIDs against what exists. */
	model_op cp;
	model_op_init(&cp, MODEL_OP_COPY);
	cp.uid = true;
	cm_uidset_add_range(&cp.set, 2, UINT32_MAX);
	snprintf(cp.mailbox, sizeof(cp.mailbox), "Other");
	model_result r = ok();
	r.code.kind = MODEL_CODE_COPYUID;
	r.code.uidvalidity = UV + 1;
	cm_uidset_add_range(&r.code.set1, 2, UINT32_MAX);
	cm_uidset_add_range(&r.code.set2, 1, UINT32_MAX - 1);
	do_op(&h, 1, &cp, &r);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

/* VANISHED with many wide ranges of UIDs the session never had: one
 * report per range, in time proportional to the view (each range used to
 * cost its span times the view: ~10^11 steps here; ctest's timeout is
 * the hang guard). */
static void t_huge_vanished(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, 2000, 2001, 13);
	fetch_all(&h, 1, 2000, NULL, NULL);
	for (int k = 0; k < 20; k++) {
		model_op op;
		model_op_init(&op, MODEL_OP_NOOP);
		model_result r = ok();
		model_untagged *u = model_result_add(&r, MODEL_UT_VANISHED);
		for (uint32_t g = 0; g < 100; g++)
			cm_uidset_add_range(&u->set, 10000 + g * 100000, 10000 + g * 100000 + 99998);
		do_op(&h, 1, &op, &r);
	}
	/* Per VANISHED: "without QRESYNC", then one per range. */
	CHECK_EQ(count(&h, MODEL_INV_VANISHED_INSTEAD), 20 * 101);
	CHECK_EQ(errors(&h), 20 * 101);
	hb_free(&h);
}

static void t_catalogue(void)
{
	for (int i = 0; i < MODEL_INV_COUNT; i++) {
		const model_inv_info *info = model_inv_get((model_inv)i);
		CHECK(model_inv_find(info->id) == info);
		CHECK(info->section >= 'A' && info->section <= 'I');
	}
	CHECK(model_inv_find("NOPE") == NULL);
}

/* ---- ADD-NO-LOSS ---- */

/* APPEND of message id to box by client, answered OK, with APPENDUID uid
 * when uid != 0. */
static void append_ok(hb *h, uint32_t client, const char *box, const char *id,
		      uint32_t uid, cm_flags flags)
{
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", box);
	snprintf(op.msg_id, sizeof(op.msg_id), "%s", id);
	op.flags = flags;
	model_result r = ok();
	if (uid != 0) {
		r.code.kind = MODEL_CODE_APPENDUID;
		r.code.uidvalidity = UV;
		cm_uidset_add(&r.code.set1, uid);
	}
	do_op(h, client, &op, &r);
}

/* A fresh EXAMINE of box showing n messages, then UID SEARCH ALL naming
 * UIDs 1..n and a UID FETCH of their identities ids[]. */
static void fresh_read(hb *h, uint32_t client, const char *box, uint32_t n,
		       uint32_t uidnext, const char *const *ids)
{
	model_op op;
	model_op_init(&op, MODEL_OP_SELECT);
	op.readonly = true;
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", box);
	model_result r = ok();
	ut_exists(&r, n);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, UV);
	ut_code(&r, MODEL_CODE_UIDNEXT, uidnext);
	do_op(h, client, &op, &r);
	model_op_init(&op, MODEL_OP_SEARCH);
	op.uid = true;
	r = ok();
	model_untagged *u = model_result_add(&r, MODEL_UT_SEARCH);
	if (n > 0)
		cm_uidset_add_range(&u->set, 1, n);
	do_op(h, client, &op, &r);
	if (ids == NULL || n == 0)
		return;
	op = fetch_all_op();
	op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_ID;
	r = ok();
	for (uint32_t i = 1; i <= n; i++)
		ut_fetch(&r, i, i, 0, 0, ids[i - 1]);
	do_op(h, client, &op, &r);
}

/* The six events: APPEND OK [APPENDUID 77 1], then a fresh
 * EXAMINE with EXISTS 0, UIDNEXT 2 and an empty SEARCH. */
static void t_add_no_loss_uidplus(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	append_ok(&h, 1, "INBOX", "a1", 1, 0);
	connect(&h, 2);
	fresh_read(&h, 2, "INBOX", 0, 2, NULL);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 1);
	CHECK_EQ(errors(&h), 1);
	/* Reported once, not at every later read. */
	fresh_read(&h, 2, "INBOX", 0, 2, NULL);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 1);
	hb_free(&h);
	/* The honest server shows it. */
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	append_ok(&h, 1, "INBOX", "a1", 1, 0);
	connect(&h, 2);
	const char *ids[] = {"a1"};
	fresh_read(&h, 2, "INBOX", 1, 2, ids);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* Without UIDPLUS the message is looked for by its identity, once the
 * view's identities are known. */
static void t_add_no_loss_by_id(void)
{
	const char *other[] = {"m1", "zz"}, *mine[] = {"m1", "a1"};
	for (int honest = 0; honest <= 1; honest++) {
		hb h;
		hb_init(&h, 0);
		connect(&h, 1);
		fresh_read(&h, 1, "INBOX", 1, 2, other);
		append_ok(&h, 1, "INBOX", "a1", 0, 0);
		connect(&h, 2);
		fresh_read(&h, 2, "INBOX", 2, 3, honest ? mine : other);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), honest ? 0 : 1);
		if (honest && total(&h))
			dump(&h);
		hb_free(&h);
	}
}

/* An expunge that could have removed the message explains its absence:
 * one in flight, or a plain EXPUNGE when \Deleted could be set (here by
 * the APPEND itself); a plain EXPUNGE of a message nothing could mark
 * \Deleted does not. */
static void t_add_no_loss_expunged(void)
{
	for (int deleted = 0; deleted <= 1; deleted++) {
		hb h;
		hb_init(&h, MODEL_CAP_UIDPLUS);
		connect(&h, 1);
		fresh_read(&h, 1, "INBOX", 0, 1, NULL);
		append_ok(&h, 1, "INBOX", "a1", 1, deleted ? CM_FLAG_DELETED : 0);
		model_op op;
		model_op_init(&op, MODEL_OP_EXPUNGE);
		hb_invoke(&h, 1, &op); /* its reply never comes */
		model_op_free(&op);
		connect(&h, 2);
		fresh_read(&h, 2, "INBOX", 0, 2, NULL);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), deleted ? 0 : 1);
		hb_free(&h);
	}
	/* UID EXPUNGE naming it, in flight: excused. */
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	fresh_read(&h, 1, "INBOX", 0, 1, NULL);
	append_ok(&h, 1, "INBOX", "a1", 1, 0);
	model_op op;
	model_op_init(&op, MODEL_OP_EXPUNGE);
	op.uid = true;
	cm_uidset_add(&op.set, 1);
	hb_invoke(&h, 1, &op);
	model_op_free(&op);
	connect(&h, 2);
	fresh_read(&h, 2, "INBOX", 0, 2, NULL);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 0);
	hb_free(&h);
}

/* An add still in flight, or acknowledged after the read began, need not
 * be there yet (C2). */
static void t_add_no_loss_window(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	connect(&h, 2);
	fresh_read(&h, 1, "INBOX", 0, 1, NULL);
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "a1");
	uint64_t id = hb_invoke(&h, 1, &op);
	fresh_read(&h, 2, "INBOX", 0, 1, NULL);
	model_result r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set1, 1);
	hb_done(&h, 1, id, &r);
	model_op_free(&op);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* COPY and MOVE into a destination: the copies must be there; a MOVE's
 * message is the one it took out of its source. */
static void t_add_no_loss_copy_move(void)
{
	for (int round = 0; round < 4; round++) {
		int move = round / 2, honest = round % 2;
		hb h;
		hb_init(&h, MODEL_CAP_UIDPLUS | MODEL_CAP_MOVE);
		connect(&h, 2);
		fresh_read(&h, 2, "Archive", 0, 1, NULL);
		connect(&h, 1);
		select_box(&h, 1, 2, 3, 5);
		fetch_all(&h, 1, 2, NULL, NULL);
		model_op op;
		model_op_init(&op, move ? MODEL_OP_MOVE : MODEL_OP_COPY);
		op.uid = true;
		cm_uidset_add(&op.set, 1);
		snprintf(op.mailbox, sizeof(op.mailbox), "Archive");
		model_result r = ok();
		model_code *cu = move ? &model_result_add(&r, MODEL_UT_CODE)->code : &r.code;
		cu->kind = MODEL_CODE_COPYUID;
		cu->uidvalidity = UV;
		cm_uidset_add(&cu->set1, 1);
		cm_uidset_add(&cu->set2, 1);
		if (move)
			ut_expunge(&r, 1);
		do_op(&h, 1, &op, &r);
		/* Odd rounds: the honest destination shows the copy. */
		const char *ids[] = {"m1"};
		fresh_read(&h, 2, "Archive", honest, 2, honest ? ids : NULL);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), honest ? 0 : 1);
		if (honest && total(&h))
			dump(&h);
		hb_free(&h);
	}
}

/* A STORE acknowledged OK is visible to a fresh read that starts after
 * it: FLAGS-MERGE already holds the read to it. */
static void t_store_visible_to_fresh_read(void)
{
	hb h;
	hb_init(&h, 0);
	two_sessions(&h);
	model_op op = store_op(2, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
	model_result r = ok();
	do_op(&h, 1, &op, &r);
	select_box(&h, 2, 3, 4, 13);
	fetch_all(&h, 2, 3, NULL, NULL); /* \Flagged missing on UID 2 */
	CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), 1);
	hb_free(&h);
}

int main(void)
{
	RUN(t_catalogue);
	RUN(t_changedsince_complete);
	RUN(t_modseq_mono);
	RUN(t_expunge_modseq);
	RUN(t_clean);
	RUN(t_lost_update);
	RUN(t_overlap_is_fine);
	RUN(t_store_response);
	RUN(t_unchangedsince);
	RUN(t_uid_ascending);
	RUN(t_uid_divergence_once);
	RUN(t_expunge_seqnum);
	RUN(t_uid_order_and_reuse);
	RUN(t_modseq_on_change);
	RUN(t_highestmodseq);
	RUN(t_vanished_instead);
	RUN(t_expunge_needs_deleted);
	RUN(t_copy_atomic);
	RUN(t_anomaly);
	RUN(t_uid_zero);
	RUN(t_huge_exists);
	RUN(t_huge_uid);
	RUN(t_huge_vanished);
	RUN(t_response_syntax);
	RUN(t_add_no_loss_uidplus);
	RUN(t_add_no_loss_by_id);
	RUN(t_add_no_loss_expunged);
	RUN(t_add_no_loss_window);
	RUN(t_add_no_loss_copy_move);
	RUN(t_store_visible_to_fresh_read);
	TEST_EXIT();
}
