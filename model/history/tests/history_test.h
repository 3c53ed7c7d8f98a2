/* Fixtures of the history codec tests (test_history_*.c): an event list
 * builder, the test history (every op, field, untagged kind and code
 * kind), writing a history to a string and reading one back, and line
 * makers for hand-written histories. */
#ifndef HISTORY_TEST_H
#define HISTORY_TEST_H

#include "history.h"

#include "cm_test.h"
#include "history_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building events ---- */

static inline cm_flags flags_of(const char *list)
{
	cm_flags f = 0;
	REQUIRE(cm_flags_parse(list, strlen(list), &f, NULL) == 0);
	return f;
}

static inline void set_of(cm_uidset *s, const char *text)
{
	REQUIRE(cm_uidset_parse(s, text, strlen(text), 0) == 0);
}

typedef struct evlist {
	model_event *v;
	size_t n, cap;
	uint64_t t, id;
} evlist;

static inline model_event *ev_add(evlist *l, model_ev_type type, uint32_t client)
{
	CM_GROW(l->v, l->cap, l->n + 1);
	model_event *ev = &l->v[l->n++];
	model_event_init(ev);
	ev->type = type;
	ev->client = client;
	ev->t_ns = l->t += 1000 + l->n % 7;
	return ev;
}

static inline model_op *invoke(evlist *l, uint32_t client, model_op_kind kind, uint64_t *id_r)
{
	model_event *ev = ev_add(l, MODEL_EV_INVOKE, client);
	ev->op_id = *id_r = ++l->id;
	model_op_init(&ev->op, kind);
	return &ev->op;
}

/* The completion of id: a copy of its invoke's op, as the harness makes. */
static inline model_result *complete(evlist *l, uint64_t id, model_ev_type type,
				     model_reply st)
{
	size_t inv = l->n;
	while (inv-- > 0)
		if (l->v[inv].op_id == id && l->v[inv].type == MODEL_EV_INVOKE)
			break;
	REQUIRE(inv < l->n);
	model_event *ev = ev_add(l, type, l->v[inv].client);
	ev->op_id = id;
	model_op_copy(&ev->op, &l->v[inv].op);
	ev->res.status = st;
	return &ev->res;
}

static inline model_untagged *ut_code(model_result *r, model_code_kind kind)
{
	model_untagged *u = model_result_add(r, MODEL_UT_CODE);
	u->code.kind = kind;
	return u;
}

static inline model_untagged *ut_fetch(model_result *r, uint32_t seq, unsigned has)
{
	model_untagged *u = model_result_add(r, MODEL_UT_FETCH);
	u->n = seq;
	u->fetch.has = has;
	return u;
}

static inline void fault(evlist *l, model_fault f, uint32_t who, const char *mailbox)
{
	model_event *ev = ev_add(l, MODEL_EV_INFO, 0);
	ev->op_id = ++l->id;
	model_op_init(&ev->op, MODEL_OP_FAULT);
	ev->op.fault = f;
	ev->op.fault_client = who;
	snprintf(ev->op.mailbox, sizeof(ev->op.mailbox), "%s", mailbox);
	ev->res.status = MODEL_REPLY_UNKNOWN;
}

static inline void evlist_free(evlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		model_event_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- a history with every op, field, untagged kind and code kind ---- */

#define MODSEQ_MAX ((uint64_t)INT64_MAX)

/* SELECT INBOX (CONDSTORE QRESYNC) with every code and untagged kind a
 * selection brings. */
static inline void build_select_qresync(evlist *l)
{
	uint64_t id;
	model_op *op;
	model_result *r;
	model_untagged *u;

	op = invoke(l, 1, MODEL_OP_SELECT, &id);
	snprintf(op->mailbox, sizeof(op->mailbox), "INBOX");
	op->condstore = op->qresync = true;
	op->q_uidvalidity = 77;
	op->q_modseq = MODSEQ_MAX;
	set_of(&op->q_known, "1:5,9");
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	r->code.kind = MODEL_CODE_READ_WRITE;
	model_result_add(r, MODEL_UT_FLAGS)->flags =
		flags_of("\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk $Forwarded");
	u = ut_code(r, MODEL_CODE_PERMANENTFLAGS);
	u->code.flags = flags_of("\\Seen \\Deleted $Junk");
	u->code.star = true;
	model_result_add(r, MODEL_UT_EXISTS)->n = 12;
	model_result_add(r, MODEL_UT_RECENT)->n = 2;
	ut_code(r, MODEL_CODE_UIDVALIDITY)->code.value = 77;
	ut_code(r, MODEL_CODE_UIDNEXT)->code.value = 13;
	ut_code(r, MODEL_CODE_HIGHESTMODSEQ)->code.value = MODSEQ_MAX;
	u = model_result_add(r, MODEL_UT_VANISHED);
	u->earlier = true;
	set_of(&u->set, "1:3");
	u = ut_fetch(r, 1, MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ);
	u->fetch.uid = 4;
	u->fetch.flags = flags_of("\\Seen");
	u->fetch.modseq = 5;
}

static inline void build_session_ops(evlist *l)
{
	uint64_t id;
	model_op *op;
	model_result *r;
	model_untagged *u;

	invoke(l, 1, MODEL_OP_CONNECT, &id);
	complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);

	op = invoke(l, 1, MODEL_OP_ENABLE, &id);
	op->caps = MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC;
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	model_result_add(r, MODEL_UT_ENABLED)->caps = MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC;

	build_select_qresync(l);

	op = invoke(l, 2, MODEL_OP_SELECT, &id);
	snprintf(op->mailbox, sizeof(op->mailbox), "Archive/2024 \xc3\xbc \"q\" \\ b");
	op->readonly = op->qresync = true;
	r = complete(l, id, MODEL_EV_FAIL, MODEL_REPLY_NO);
	r->code.kind = MODEL_CODE_TRYCREATE;
	snprintf(r->text, sizeof(r->text), "Mailbox doesn't exist: \"Archive\"");
	ut_code(r, MODEL_CODE_NOMODSEQ);
	ut_code(r, MODEL_CODE_READ_ONLY);

	op = invoke(l, 2, MODEL_OP_STATUS, &id);
	snprintf(op->mailbox, sizeof(op->mailbox), "INBOX");
	op->status_items = MODEL_STATUS_MESSAGES | MODEL_STATUS_RECENT | MODEL_STATUS_UIDNEXT |
			   MODEL_STATUS_UIDVALIDITY | MODEL_STATUS_UNSEEN | MODEL_STATUS_HIGHESTMODSEQ;
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	u = model_result_add(r, MODEL_UT_STATUS);
	snprintf(u->status.mailbox, sizeof(u->status.mailbox), "INBOX");
	u->status.has = op->status_items;
	u->status.messages = 12;
	u->status.recent = 0;
	u->status.uidnext = UINT32_MAX;
	u->status.uidvalidity = 77;
	u->status.unseen = 3;
	u->status.highestmodseq = MODSEQ_MAX;
	u = model_result_add(r, MODEL_UT_STATUS);
	snprintf(u->status.mailbox, sizeof(u->status.mailbox), "Trash");
	u->status.has = MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT;
	u->status.messages = 1;
	u->status.uidnext = 2;

	invoke(l, 2, MODEL_OP_NOOP, &id);
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	model_result_add(r, MODEL_UT_EXPUNGE)->n = 3;
	model_result_add(r, MODEL_UT_EXISTS)->n = 0;
	ut_code(r, MODEL_CODE_CLOSED);
}

/* UID FETCH 1:* of every item with CHANGEDSINCE and VANISHED, answered
 * with the extreme values each field can hold. */
static inline void build_fetch_every_item(evlist *l)
{
	uint64_t id;
	model_op *op;
	model_result *r;
	model_untagged *u;

	op = invoke(l, 1, MODEL_OP_FETCH, &id);
	op->uid = true;
	set_of(&op->set, "1:4294967295");
	op->items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ | MODEL_F_BODY |
		    MODEL_F_SIZE | MODEL_F_IDATE | MODEL_F_ID;
	op->has_changedsince = true;
	op->changedsince = 0;
	op->vanished = true;
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	u = ut_fetch(r, 4294967295u, op->items);
	u->fetch.uid = 4294967295u;
	u->fetch.flags = flags_of("$Forwarded \\Draft");
	u->fetch.recent = true;
	u->fetch.modseq = (uint64_t)1 << 63; /* out of RFC range: still recorded */
	u->fetch.body_hash = UINT64_MAX;
	u->fetch.size = 77;
	u->fetch.idate = -86400;
	snprintf(u->fetch.id, sizeof(u->fetch.id), "r-2-17");
	u->fetch.duplicate_items = true;
	u = model_result_add(r, MODEL_UT_VANISHED);
	set_of(&u->set, "5");
	ut_fetch(r, 2, MODEL_F_SIZE)->fetch.size = 100;
	u = ut_fetch(r, 3, MODEL_F_BODY);
	u->fetch.size = 200;
	u->fetch.body_hash = 0;
	ut_fetch(r, 4, MODEL_F_IDATE)->fetch.idate = INT64_MAX;
}

static inline void build_message_ops(evlist *l)
{
	uint64_t id;
	model_op *op;
	model_result *r;
	model_untagged *u;

	op = invoke(l, 1, MODEL_OP_APPEND, &id);
	snprintf(op->mailbox, sizeof(op->mailbox), "INBOX");
	op->flags = flags_of("\\Seen $Junk");
	snprintf(op->msg_id, sizeof(op->msg_id), "r-1-42");
	op->body_hash = 0xfedcba9876543210ULL;
	op->size = 4096;
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	r->code.kind = MODEL_CODE_APPENDUID;
	r->code.uidvalidity = 77;
	set_of(&r->code.set, "13");

	op = invoke(l, 3, MODEL_OP_DELIVER, &id);
	snprintf(op->mailbox, sizeof(op->mailbox), "INBOX");
	snprintf(op->msg_id, sizeof(op->msg_id), "r-3-1");
	op->body_hash = 1;
	op->size = 1;
	complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);

	op = invoke(l, 1, MODEL_OP_STORE, &id);
	op->uid = true;
	set_of(&op->set, "1:3,7");
	op->mode = MODEL_STORE_ADD;
	op->flags = flags_of("\\Seen $Junk");
	op->has_unchangedsince = true;
	op->unchangedsince = 0;
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	r->code.kind = MODEL_CODE_MODIFIED;
	set_of(&r->code.set, "7");
	u = ut_fetch(r, 1, MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ);
	u->fetch.uid = 1;
	u->fetch.flags = flags_of("\\Seen $Junk");
	u->fetch.recent = true;
	u->fetch.modseq = MODSEQ_MAX;

	op = invoke(l, 2, MODEL_OP_STORE, &id);
	set_of(&op->set, "2");
	op->mode = MODEL_STORE_REMOVE;
	op->flags = flags_of("\\Deleted");
	op->silent = true;
	op->has_unchangedsince = true;
	op->unchangedsince = MODSEQ_MAX;
	r = complete(l, id, MODEL_EV_FAIL, MODEL_REPLY_BAD);
	snprintf(r->text, sizeof(r->text), "Invalid\tsequence \x01 set");

	op = invoke(l, 1, MODEL_OP_STORE, &id);
	set_of(&op->set, "5");
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	ut_fetch(r, 5, MODEL_F_FLAGS); /* FLAGS () */

	build_fetch_every_item(l);
}

/* Overlapping ops; a lost reply. */
static inline void build_overlap_lost_reply(evlist *l)
{
	uint64_t a, b;
	model_op *op;
	model_result *r;

	op = invoke(l, 3, MODEL_OP_STORE, &a);
	set_of(&op->set, "1");
	op->flags = flags_of("\\Flagged");
	op = invoke(l, 4, MODEL_OP_FETCH, &b);
	set_of(&op->set, "1:2");
	op->items = MODEL_F_FLAGS;
	r = complete(l, b, MODEL_EV_INFO, MODEL_REPLY_UNKNOWN);
	snprintf(r->text, sizeof(r->text), "connection lost");
	snprintf(r->anomaly, sizeof(r->anomaly), "UID 7 listed but its file is missing");
	complete(l, a, MODEL_EV_OK, MODEL_REPLY_OK);
}

static inline void build_mailbox_ops(evlist *l)
{
	uint64_t id;
	model_op *op;
	model_result *r;
	model_untagged *u;

	op = invoke(l, 1, MODEL_OP_SEARCH, &id);
	op->uid = true;
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	u = model_result_add(r, MODEL_UT_SEARCH);
	set_of(&u->set, "1,3:5");
	u->value = 42;
	model_result_add(r, MODEL_UT_SEARCH); /* no results */

	op = invoke(l, 1, MODEL_OP_EXPUNGE, &id);
	op->uid = true;
	set_of(&op->set, "3");
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	set_of(&model_result_add(r, MODEL_UT_VANISHED)->set, "3");
	r->code.kind = MODEL_CODE_HIGHESTMODSEQ;
	r->code.value = 99;

	invoke(l, 2, MODEL_OP_EXPUNGE, &id);
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	model_result_add(r, MODEL_UT_EXPUNGE)->n = 3;

	op = invoke(l, 1, MODEL_OP_COPY, &id);
	op->uid = true;
	set_of(&op->set, "1:2");
	snprintf(op->mailbox, sizeof(op->mailbox), "Archive");
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	r->code.kind = MODEL_CODE_COPYUID;
	r->code.uidvalidity = 88;
	set_of(&r->code.set, "1:2");
	set_of(&r->code.dst, "10:11");

	op = invoke(l, 2, MODEL_OP_MOVE, &id);
	set_of(&op->set, "4");
	snprintf(op->mailbox, sizeof(op->mailbox), "Trash");
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	u = ut_code(r, MODEL_CODE_COPYUID);
	u->code.uidvalidity = 5;
	set_of(&u->code.set, "9");
	set_of(&u->code.dst, "1");
	model_result_add(r, MODEL_UT_EXPUNGE)->n = 4;

	op = invoke(l, 1, MODEL_OP_CREATE, &id);
	memset(op->mailbox, 'm', sizeof(op->mailbox) - 1); /* the longest name */
	r = complete(l, id, MODEL_EV_FAIL, MODEL_REPLY_NO);
	r->code.kind = MODEL_CODE_OTHER;
	snprintf(r->code.text, sizeof(r->code.text), "ALREADYEXISTS");

	op = invoke(l, 1, MODEL_OP_DELETE, &id);
	snprintf(op->mailbox, sizeof(op->mailbox), "New");
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	r->code.kind = MODEL_CODE_EXPUNGEISSUED;

	invoke(l, 0, MODEL_OP_CHECKPOINT, &id);
	complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);

	build_overlap_lost_reply(l);
}

static inline void build_events(evlist *l)
{
	uint64_t id;
	model_result *r;

	build_session_ops(l);
	build_message_ops(l);
	build_mailbox_ops(l);
	fault(l, MODEL_FAULT_CRASH, 0, "");
	fault(l, MODEL_FAULT_KILL, 2, "");
	fault(l, MODEL_FAULT_ENOSPC, 0, "");
	fault(l, MODEL_FAULT_RENAME, 0, "");
	fault(l, MODEL_FAULT_INDEX_LOSS, 0, "INBOX");
	fault(l, MODEL_FAULT_PARTITION, 0, "");
	fault(l, MODEL_FAULT_HEAL, 0, "");
	/* A replicated target: an op of replica 2, a sync of 1 and 2. */
	invoke(l, 1, MODEL_OP_NOOP, &id)->replica = 2;
	complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	model_op *sync = invoke(l, 9, MODEL_OP_SYNC, &id);
	sync->replica = 1;
	sync->peer = 2;
	sync->opaque = true;
	complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	invoke(l, 1, MODEL_OP_LOGOUT, &id);
	r = complete(l, id, MODEL_EV_OK, MODEL_REPLY_OK);
	model_result_add(r, MODEL_UT_BYE);
	/* 64-bit ids and times above 2^63-1 travel as strings. */
	model_event *ev = ev_add(l, MODEL_EV_INVOKE, 1);
	model_op_init(&ev->op, MODEL_OP_NOOP);
	ev->op_id = UINT64_MAX;
	ev->t_ns = (uint64_t)INT64_MAX + 5;
	ev = ev_add(l, MODEL_EV_OK, 1);
	model_op_init(&ev->op, MODEL_OP_NOOP);
	ev->op_id = UINT64_MAX;
	ev->t_ns = UINT64_MAX;
	ev->res.status = MODEL_REPLY_OK;
}

static const model_history_header test_header = {
	.version = 1, .seed = 123, .target = "sim",
	.capabilities = MODEL_CAP_UIDPLUS | MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC |
			MODEL_CAP_MOVE | MODEL_CAP_ENABLE,
	.clients = 4,
};

/* Writes events into a malloc'ed string. */
static inline char *write_history(const model_history_header *h, const model_event *evs,
				  size_t n, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	REQUIRE(f != NULL);
	model_history_writer *w = model_history_writer_new(f, h);
	REQUIRE(w != NULL);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(model_history_write(w, &evs[i]), 0);
	CHECK_EQ(model_history_writer_finish(w), 0);
	fclose(f);
	if (len_r != NULL)
		*len_r = len;
	return buf;
}

/* ---- hand-written histories, read back ---- */

#define HDR "{\"ratchet_history\":1,\"seed\":1,\"target\":\"t\",\"clients\":2}\n"

/* Line makers: an invoke (the op follows), an OK completion (open). */
#define INV(t, id) "{\"t\":" #t ",\"c\":1,\"id\":" #id ",\"ev\":\"invoke\",\"op\":"

#define OK(t, id) "{\"t\":" #t ",\"c\":1,\"id\":" #id ",\"ev\":\"ok\",\"status\":\"OK\""

#define NOOP "{\"kind\":\"noop\"}}\n"

/* Reads text to the end; returns the last rc, events in *n_r, the error's
 * text (if any) in err. */
static inline int read_all(const char *text, char *err, size_t errlen, size_t *n_r,
			   model_event *last)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	REQUIRE(f != NULL);
	cm_err e;
	e.text[0] = '\0';
	model_history_reader *r = model_history_reader_new(f, NULL, &e);
	int rc = -1;
	size_t n = 0;
	model_event ev;
	model_event_init(&ev);
	if (r != NULL) {
		while ((rc = model_history_read(r, &ev, &e)) == 1) {
			n++;
			if (last != NULL) {
				model_event_free(last);
				model_event_init(last);
				last->type = ev.type;
				last->op_id = ev.op_id;
				model_op_copy(&last->op, &ev.op);
				model_result_copy(&last->res, &ev.res);
			}
		}
	}
	model_event_free(&ev);
	model_history_reader_free(r);
	fclose(f);
	if (n_r != NULL)
		*n_r = n;
	snprintf(err, errlen, "%s", e.text);
	return rc;
}

#endif
