/* Fixtures of the session layer tests (test_session_*.c): sessions on the
 * in-memory file system, one helper per op, and results rendered as
 * IMAP-like text ("* 3 EXISTS | * OK [UIDNEXT 4] | OK [READ-WRITE]") to be
 * compared whole. Values that come from the clock or the log layout
 * (UIDVALIDITY, MODSEQ, HIGHESTMODSEQ) are rendered by name only and
 * checked separately. */
#ifndef SESSION_TEST_H
#define SESSION_TEST_H

#include "rs_session.h"

#include "cm_test.h"

#include <errno.h>
#include <inttypes.h>

#define ROOT "/mail"

#define SYS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

#define SELECT_OK(n, recent, next)                                           \
	"* FLAGS (" SYS ") | * OK [PERMANENTFLAGS (" SYS " \\*)] | * " #n       \
	" EXISTS | * " #recent " RECENT | "

#define TAIL(next) "* OK [UIDVALIDITY] | * OK [UIDNEXT " #next "]"

/* The result of the last op run, and its rendering. */
static model_result R;
static cm_buf out;

/* ---- rendering ---- */

static inline void put_flags(cm_buf *b, cm_flags f, bool recent)
{
	cm_buf_putc(b, '(');
	cm_flags_format(b, f);
	if (recent)
		cm_buf_puts(b, f ? " \\Recent" : "\\Recent");
	cm_buf_putc(b, ')');
}

static inline void put_code(cm_buf *b, const model_code *c)
{
	cm_buf_printf(b, "[%s", c->kind == MODEL_CODE_OTHER ? c->text
							    : model_code_name(c->kind));
	switch (c->kind) {
	case MODEL_CODE_APPENDUID:
	case MODEL_CODE_MODIFIED:
		cm_buf_putc(b, ' ');
		cm_uidset_format(b, &c->set);
		break;
	case MODEL_CODE_COPYUID:
		cm_buf_putc(b, ' ');
		cm_uidset_format(b, &c->set);
		cm_buf_putc(b, ' ');
		cm_uidset_format(b, &c->dst);
		break;
	case MODEL_CODE_PERMANENTFLAGS:
		cm_buf_puts(b, " (");
		cm_flags_format(b, c->flags);
		cm_buf_puts(b, c->star ? " \\*)" : ")");
		break;
	case MODEL_CODE_UIDNEXT:
		cm_buf_printf(b, " %" PRIu64, c->value);
		break;
	case MODEL_CODE_OTHER:
		if (c->value)
			cm_buf_printf(b, " %" PRIu64, c->value);
		break;
	default: break;
	}
	cm_buf_putc(b, ']');
}

static inline void put_fetch(cm_buf *b, const model_untagged *u)
{
	const model_fetch *f = &u->fetch;
	const char *sep = "";
	cm_buf_printf(b, "* %" PRIu32 " FETCH (", u->n);
	if (f->has & MODEL_F_UID) {
		cm_buf_printf(b, "UID %" PRIu32, f->uid);
		sep = " ";
	}
	if (f->has & MODEL_F_FLAGS) {
		cm_buf_printf(b, "%sFLAGS ", sep);
		put_flags(b, f->flags, f->recent);
		sep = " ";
	}
	if (f->has & MODEL_F_MODSEQ) {
		cm_buf_printf(b, "%sMODSEQ", sep);
		sep = " ";
	}
	if (f->has & MODEL_F_SIZE) {
		cm_buf_printf(b, "%sSIZE %" PRIu32, sep, f->size);
		sep = " ";
	}
	if (f->has & MODEL_F_ID) {
		cm_buf_printf(b, "%sID %s", sep, f->id);
		sep = " ";
	}
	if (f->has & MODEL_F_BODY)
		cm_buf_printf(b, "%sBODY", sep);
	cm_buf_putc(b, ')');
}

static inline void put_status(cm_buf *b, const model_status_data *d)
{
	static const struct { unsigned bit; const char *name; } items[] = {
		{MODEL_STATUS_MESSAGES, "MESSAGES"}, {MODEL_STATUS_RECENT, "RECENT"},
		{MODEL_STATUS_UIDNEXT, "UIDNEXT"}, {MODEL_STATUS_UNSEEN, "UNSEEN"},
	};
	const uint32_t values[] = {d->messages, d->recent, d->uidnext, d->unseen};
	const char *sep = "";
	cm_buf_printf(b, "* STATUS %s (", d->mailbox);
	for (size_t i = 0; i < CM_ARRAY_LEN(items); i++) {
		if (d->has & items[i].bit) {
			cm_buf_printf(b, "%s%s %" PRIu32, sep, items[i].name, values[i]);
			sep = " ";
		}
	}
	if (d->has & MODEL_STATUS_UIDVALIDITY) {
		cm_buf_printf(b, "%sUIDVALIDITY", sep);
		sep = " ";
	}
	if (d->has & MODEL_STATUS_HIGHESTMODSEQ)
		cm_buf_printf(b, "%sHIGHESTMODSEQ", sep);
	cm_buf_putc(b, ')');
}

static inline void put_untagged(cm_buf *b, const model_untagged *u)
{
	switch (u->kind) {
	case MODEL_UT_EXISTS: cm_buf_printf(b, "* %" PRIu32 " EXISTS", u->n); break;
	case MODEL_UT_RECENT: cm_buf_printf(b, "* %" PRIu32 " RECENT", u->n); break;
	case MODEL_UT_EXPUNGE: cm_buf_printf(b, "* %" PRIu32 " EXPUNGE", u->n); break;
	case MODEL_UT_VANISHED:
		cm_buf_puts(b, u->earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
		cm_uidset_format(b, &u->set);
		break;
	case MODEL_UT_FETCH: put_fetch(b, u); break;
	case MODEL_UT_FLAGS:
		cm_buf_puts(b, "* FLAGS ");
		put_flags(b, u->flags, false);
		break;
	case MODEL_UT_CODE:
		cm_buf_puts(b, "* OK ");
		put_code(b, &u->code);
		break;
	case MODEL_UT_SEARCH:
		cm_buf_puts(b, "* SEARCH ");
		cm_uidset_format(b, &u->set);
		break;
	case MODEL_UT_STATUS: put_status(b, &u->status); break;
	case MODEL_UT_ENABLED:
		cm_buf_printf(b, "* ENABLED%s%s",
			      u->caps & MODEL_CAP_CONDSTORE ? " CONDSTORE" : "",
			      u->caps & MODEL_CAP_QRESYNC ? " QRESYNC" : "");
		break;
	case MODEL_UT_BYE: cm_buf_puts(b, "* BYE"); break;
	default: cm_buf_puts(b, "* ?"); break;
	}
}

static inline const char *render(const model_result *r)
{
	cm_buf_clear(&out);
	for (size_t i = 0; i < r->nut; i++) {
		put_untagged(&out, &r->ut[i]);
		cm_buf_puts(&out, " | ");
	}
	cm_buf_puts(&out, model_status_name(r->status));
	if (r->code.kind != MODEL_CODE_NONE) {
		cm_buf_putc(&out, ' ');
		put_code(&out, &r->code);
	}
	return out.data;
}

/* ---- fixture and ops ---- */

static inline rs_fs *fx_new(void)
{
	rs_fs *fs = rs_memfs_new();
	REQUIRE(rs_namespace_init(fs, ROOT) == RS_OK);
	REQUIRE(rs_namespace_create_mailbox(fs, ROOT, "INBOX") == RS_OK);
	return fs;
}

static inline const char *run(rt_session *s, model_op *op)
{
	rs_session_exec(s, op, &R);
	model_op_free(op);
	return render(&R);
}

static inline model_op mk(model_op_kind kind)
{
	model_op op;
	model_op_init(&op, kind);
	return op;
}

static inline void set_of(cm_uidset *s, const char *text)
{
	cm_uidset_clear(s);
	if (text[0] != '\0')
		REQUIRE(cm_uidset_parse(s, text, strlen(text), 0) == 0);
}

static inline cm_flags fl(const char *text)
{
	cm_flags f = 0;
	REQUIRE(cm_flags_parse(text, strlen(text), &f, NULL) == 0);
	return f;
}

static inline rt_session *sess(rs_fs *fs, uint32_t pid)
{
	rs_session_options o = {.pid = pid};
	rt_session *s = rs_session_new(fs, ROOT, &o);
	model_op op = mk(MODEL_OP_CONNECT);
	CHECK_STR(run(s, &op), "OK");
	return s;
}

static inline const char *do_simple(rt_session *s, model_op_kind kind)
{
	model_op op = mk(kind);
	return run(s, &op);
}

static inline const char *do_select(rt_session *s, const char *name, bool readonly)
{
	model_op op = mk(MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	op.readonly = readonly;
	return run(s, &op);
}

static inline const char *do_qselect(rt_session *s, const char *name, uint32_t uv,
				     uint64_t modseq, const char *known)
{
	model_op op = mk(MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	op.qresync = true;
	op.q_uidvalidity = uv;
	op.q_modseq = modseq;
	set_of(&op.q_known, known);
	return run(s, &op);
}

static inline const char *do_append(rt_session *s, const char *mbox, const char *id,
				    const char *flags)
{
	model_op op = mk(MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", mbox);
	snprintf(op.msg_id, sizeof(op.msg_id), "%s", id);
	op.flags = fl(flags);
	return run(s, &op);
}

static inline const char *do_store(rt_session *s, bool uid, const char *set,
				   model_store_mode mode, const char *flags, bool silent,
				   int64_t unchangedsince)
{
	model_op op = mk(MODEL_OP_STORE);
	op.uid = uid;
	set_of(&op.set, set);
	op.mode = mode;
	op.flags = fl(flags);
	op.silent = silent;
	op.has_unchangedsince = unchangedsince >= 0;
	op.unchangedsince = unchangedsince >= 0 ? (uint64_t)unchangedsince : 0;
	return run(s, &op);
}

static inline const char *do_fetch(rt_session *s, bool uid, const char *set,
				   unsigned items, int64_t changedsince, bool vanished)
{
	model_op op = mk(MODEL_OP_FETCH);
	op.uid = uid;
	set_of(&op.set, set);
	op.items = items;
	op.has_changedsince = changedsince >= 0;
	op.changedsince = changedsince >= 0 ? (uint64_t)changedsince : 0;
	op.vanished = vanished;
	return run(s, &op);
}

static inline const char *do_expunge(rt_session *s, const char *uidset)
{
	model_op op = mk(MODEL_OP_EXPUNGE);
	op.uid = uidset != NULL;
	if (uidset != NULL)
		set_of(&op.set, uidset);
	return run(s, &op);
}

static inline const char *do_copy(rt_session *s, model_op_kind kind, bool uid,
				  const char *set, const char *dest)
{
	model_op op = mk(kind);
	op.uid = uid;
	set_of(&op.set, set);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", dest);
	return run(s, &op);
}

static inline const char *do_name(rt_session *s, model_op_kind kind, const char *name)
{
	model_op op = mk(kind);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	return run(s, &op);
}

static inline const char *do_enable(rt_session *s, unsigned caps)
{
	model_op op = mk(MODEL_OP_ENABLE);
	op.caps = caps;
	return run(s, &op);
}

static inline const char *do_status(rt_session *s, const char *name, unsigned items)
{
	model_op op = mk(MODEL_OP_STATUS);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	op.status_items = items;
	return run(s, &op);
}

static inline const char *do_search(rt_session *s, bool uid)
{
	model_op op = mk(MODEL_OP_SEARCH);
	op.uid = uid;
	return run(s, &op);
}

/* ---- looking at results and at the store ---- */

static inline const model_untagged *find_ut(model_ut_kind kind, size_t nth)
{
	for (size_t i = 0; i < R.nut; i++)
		if (R.ut[i].kind == kind && nth-- == 0)
			return &R.ut[i];
	return NULL;
}

static inline const model_code *find_code(model_code_kind kind)
{
	if (R.code.kind == kind)
		return &R.code;
	for (size_t i = 0; i < R.nut; i++)
		if (R.ut[i].kind == MODEL_UT_CODE && R.ut[i].code.kind == kind)
			return &R.ut[i].code;
	return NULL;
}

static inline uint64_t code_value(model_code_kind kind)
{
	const model_code *c = find_code(kind);
	REQUIRE(c != NULL);
	return c->value;
}

/* A fresh look at the store. */
static inline rs_mailbox *peek(rs_fs *fs, const char *name)
{
	char path[RS_NAMESPACE_PATH_MAX];
	rs_mailbox *mb = NULL;
	rs_options o = {.pid = 999};
	REQUIRE(rs_namespace_path(ROOT, name, path, sizeof(path)) == 0);
	REQUIRE(rs_open(fs, path, &o, &mb, NULL) == RS_OK);
	return mb;
}

static inline uint64_t store_highestmodseq(rs_fs *fs, const char *name)
{
	rs_mailbox *mb = peek(fs, name);
	uint64_t h = rs_highestmodseq(mb);
	rs_close(mb);
	return h;
}

static inline uint64_t store_modseq(rs_fs *fs, const char *name, uint32_t uid)
{
	rs_mailbox *mb = peek(fs, name);
	const rs_msg *m = rs_msg_find(mb, uid);
	uint64_t v = m != NULL ? m->modseq : 0;
	rs_close(mb);
	return v;
}

static inline uint32_t store_uidvalidity(rs_fs *fs, const char *name)
{
	rs_mailbox *mb = peek(fs, name);
	uint32_t v = rs_uidvalidity(mb);
	rs_close(mb);
	return v;
}

/* n messages m1..mn into a mailbox, \Recent taken by a throwaway session
 * so that later sessions see none. */
static inline void fill(rs_fs *fs, const char *mbox, int n)
{
	rt_session *w = sess(fs, 900);
	char id[16];
	for (int i = 1; i <= n; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		CHECK(strncmp(do_append(w, mbox, id, ""), "OK [APPENDUID", 13) == 0);
	}
	CHECK(strstr(do_select(w, mbox, false), "OK [READ-WRITE]") != NULL);
	rs_session_free(w);
}

#endif
