/* rt_session: exact responses of the session layer, single and multiple
 * sessions, on the in-memory file system. Results are rendered as
 * IMAP-like text ("* 3 EXISTS | * OK [UIDNEXT 4] | OK [READ-WRITE]") and
 * compared whole. Values that come from the clock or the log layout
 * (UIDVALIDITY, MODSEQ, HIGHESTMODSEQ) are rendered by name only and
 * checked separately. */
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

static model_result R;
static cm_buf out;

/* ---- rendering ---- */

static void put_flags(cm_buf *b, cm_flags f, bool recent)
{
	cm_buf_putc(b, '(');
	cm_flags_format(b, f);
	if (recent)
		cm_buf_puts(b, f ? " \\Recent" : "\\Recent");
	cm_buf_putc(b, ')');
}

static void put_code(cm_buf *b, const model_code *c)
{
	cm_buf_printf(b, "[%s", c->kind == MODEL_CODE_OTHER ? c->text
							    : model_code_name(c->kind));
	switch (c->kind) {
	case MODEL_CODE_APPENDUID:
	case MODEL_CODE_MODIFIED:
		cm_buf_putc(b, ' ');
		cm_uidset_format(b, &c->set1);
		break;
	case MODEL_CODE_COPYUID:
		cm_buf_putc(b, ' ');
		cm_uidset_format(b, &c->set1);
		cm_buf_putc(b, ' ');
		cm_uidset_format(b, &c->set2);
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

static void put_fetch(cm_buf *b, const model_untagged *u)
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

static void put_status(cm_buf *b, const model_status_data *d)
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

static void put_untagged(cm_buf *b, const model_untagged *u)
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

static const char *render(const model_result *r)
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

static rs_fs *fx_new(void)
{
	rs_fs *fs = rs_memfs_new();
	REQUIRE(rs_namespace_init(fs, ROOT) == RS_OK);
	REQUIRE(rs_namespace_create_mailbox(fs, ROOT, "INBOX") == RS_OK);
	return fs;
}

static const char *run(rt_session *s, model_op *op)
{
	rs_session_exec(s, op, &R);
	model_op_free(op);
	return render(&R);
}

static model_op mk(model_op_kind kind)
{
	model_op op;
	model_op_init(&op, kind);
	return op;
}

static void set_of(cm_uidset *s, const char *text)
{
	cm_uidset_clear(s);
	if (text[0] != '\0')
		REQUIRE(cm_uidset_parse(s, text, strlen(text), 0) == 0);
}

static cm_flags fl(const char *text)
{
	cm_flags f = 0;
	REQUIRE(cm_flags_parse(text, strlen(text), &f, NULL) == 0);
	return f;
}

static rt_session *sess(rs_fs *fs, uint32_t pid)
{
	rs_session_options o = {.pid = pid};
	rt_session *s = rs_session_new(fs, ROOT, &o);
	model_op op = mk(MODEL_OP_CONNECT);
	CHECK_STR(run(s, &op), "OK");
	return s;
}

static const char *do_simple(rt_session *s, model_op_kind kind)
{
	model_op op = mk(kind);
	return run(s, &op);
}

static const char *do_select(rt_session *s, const char *name, bool readonly)
{
	model_op op = mk(MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	op.readonly = readonly;
	return run(s, &op);
}

static const char *do_qselect(rt_session *s, const char *name, uint32_t uv,
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

static const char *do_append(rt_session *s, const char *mbox, const char *id,
			     const char *flags)
{
	model_op op = mk(MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", mbox);
	snprintf(op.msg_id, sizeof(op.msg_id), "%s", id);
	op.flags = fl(flags);
	return run(s, &op);
}

static const char *do_store(rt_session *s, bool uid, const char *set,
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

static const char *do_fetch(rt_session *s, bool uid, const char *set,
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

static const char *do_expunge(rt_session *s, const char *uidset)
{
	model_op op = mk(MODEL_OP_EXPUNGE);
	op.uid = uidset != NULL;
	if (uidset != NULL)
		set_of(&op.set, uidset);
	return run(s, &op);
}

static const char *do_copy(rt_session *s, model_op_kind kind, bool uid,
			   const char *set, const char *dest)
{
	model_op op = mk(kind);
	op.uid = uid;
	set_of(&op.set, set);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", dest);
	return run(s, &op);
}

static const char *do_name(rt_session *s, model_op_kind kind, const char *name)
{
	model_op op = mk(kind);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	return run(s, &op);
}

static const char *do_enable(rt_session *s, unsigned caps)
{
	model_op op = mk(MODEL_OP_ENABLE);
	op.caps = caps;
	return run(s, &op);
}

static const char *do_status(rt_session *s, const char *name, unsigned items)
{
	model_op op = mk(MODEL_OP_STATUS);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", name);
	op.status_items = items;
	return run(s, &op);
}

static const char *do_search(rt_session *s, bool uid)
{
	model_op op = mk(MODEL_OP_SEARCH);
	op.uid = uid;
	return run(s, &op);
}

/* ---- looking at results and at the store ---- */

static const model_untagged *find_ut(model_ut_kind kind, size_t nth)
{
	for (size_t i = 0; i < R.nut; i++)
		if (R.ut[i].kind == kind && nth-- == 0)
			return &R.ut[i];
	return NULL;
}

static const model_code *find_code(model_code_kind kind)
{
	if (R.code.kind == kind)
		return &R.code;
	for (size_t i = 0; i < R.nut; i++)
		if (R.ut[i].kind == MODEL_UT_CODE && R.ut[i].code.kind == kind)
			return &R.ut[i].code;
	return NULL;
}

static uint64_t code_value(model_code_kind kind)
{
	const model_code *c = find_code(kind);
	REQUIRE(c != NULL);
	return c->value;
}

/* A fresh look at the store. */
static rs_mailbox *peek(rs_fs *fs, const char *name)
{
	char path[RT_STORE_PATH_MAX];
	rs_mailbox *mb = NULL;
	rs_options o = {.pid = 999};
	REQUIRE(rs_namespace_path(ROOT, name, path, sizeof(path)) == 0);
	REQUIRE(rs_open(fs, path, &o, &mb, NULL) == RS_OK);
	return mb;
}

static uint64_t store_highestmodseq(rs_fs *fs, const char *name)
{
	rs_mailbox *mb = peek(fs, name);
	uint64_t h = rs_highestmodseq(mb);
	rs_close(mb);
	return h;
}

static uint64_t store_modseq(rs_fs *fs, const char *name, uint32_t uid)
{
	rs_mailbox *mb = peek(fs, name);
	const rs_msg *m = rs_msg_find(mb, uid);
	uint64_t v = m != NULL ? m->modseq : 0;
	rs_close(mb);
	return v;
}

static uint32_t store_uidvalidity(rs_fs *fs, const char *name)
{
	rs_mailbox *mb = peek(fs, name);
	uint32_t v = rs_uidvalidity(mb);
	rs_close(mb);
	return v;
}

/* n messages m1..mn into a mailbox, \Recent taken by a throwaway session
 * so that later sessions see none. */
static void fill(rs_fs *fs, const char *mbox, int n)
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

/* ======================================================================
 * Tests
 * ==================================================================== */

static void test_select_shape(void)
{
	rs_fs *fs = fx_new();
	rt_session *a = sess(fs, 10), *b = sess(fs, 11), *c = sess(fs, 12);
	CHECK_STR(do_select(a, "inbox", false),
		  SELECT_OK(0, 0, 1) TAIL(1) " | OK [READ-WRITE]");
	uint32_t uv = (uint32_t)code_value(MODEL_CODE_UIDVALIDITY);
	CHECK_EQ(uv, store_uidvalidity(fs, "INBOX"));
	CHECK_STR(rs_session_selected(a), "INBOX");

	CHECK_STR(do_append(b, "INBOX", "m1", "\\Seen"), "OK [APPENDUID 1]");
	CHECK_EQ(R.code.uidvalidity, uv);
	CHECK_STR(do_append(b, "INBOX", "m2", ""), "OK [APPENDUID 2]");
	CHECK_STR(do_append(b, "INBOX", "m3", ""), "OK [APPENDUID 3]");

	/* c selects first: it takes \Recent for all three. */
	CHECK_STR(do_select(c, "INBOX", false),
		  SELECT_OK(3, 3, 4) "* OK [UNSEEN 2] | " TAIL(4) " | OK [READ-WRITE]");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 3 EXISTS | * 0 RECENT | OK");
	CHECK_STR(do_fetch(c, false, "1:3", MODEL_F_FLAGS, -1, false),
		  "* 1 FETCH (FLAGS (\\Seen \\Recent)) | * 2 FETCH (FLAGS (\\Recent)) | "
		  "* 3 FETCH (FLAGS (\\Recent)) | OK");
	CHECK_STR(do_fetch(a, false, "1:3", MODEL_F_FLAGS, -1, false),
		  "* 1 FETCH (FLAGS (\\Seen)) | * 2 FETCH (FLAGS ()) | "
		  "* 3 FETCH (FLAGS ()) | OK");
	/* EXAMINE returns the same output, read-only. */
	rt_session *d = sess(fs, 13);
	CHECK_STR(do_select(d, "INBOX", true),
		  SELECT_OK(3, 0, 4) "* OK [UNSEEN 2] | " TAIL(4) " | OK [READ-ONLY]");
	/* Reselecting: no CLOSED unless CONDSTORE/QRESYNC are offered. */
	rs_session_options o = {.pid = 14, .caps = MODEL_CAP_UIDPLUS};
	rt_session *e = rs_session_new(fs, ROOT, &o);
	CHECK_STR(do_select(e, "INBOX", true),
		  SELECT_OK(3, 0, 4) "* OK [UNSEEN 2] | " TAIL(4) " | OK [READ-ONLY]");
	CHECK_STR(do_select(e, "INBOX", true),
		  SELECT_OK(3, 0, 4) "* OK [UNSEEN 2] | " TAIL(4) " | OK [READ-ONLY]");
	CHECK_STR(do_select(d, "INBOX", false),
		  "* OK [CLOSED] | " SELECT_OK(3, 0, 4) "* OK [UNSEEN 2] | " TAIL(4)
		  " | OK [READ-WRITE]");
	CHECK_STR(do_simple(d, MODEL_OP_LOGOUT), "* BYE | OK");
	CHECK_STR(do_simple(d, MODEL_OP_NOOP), "unknown");
	CHECK_STR(do_simple(d, MODEL_OP_CONNECT), "OK");
	CHECK_STR(do_simple(d, MODEL_OP_NOOP), "OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_session_free(c);
	rs_session_free(d);
	rs_session_free(e);
	rs_fs_destroy(fs);
}

static void test_recent_one_claimer(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 2);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11), *ro = sess(fs, 12);
	rt_session *lda = sess(fs, 13);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	CHECK_STR(do_select(ro, "INBOX", true), SELECT_OK(2, 0, 3) "* OK [UNSEEN 1] | "
		  TAIL(3) " | OK [READ-ONLY]");
	model_op op = mk(MODEL_OP_DELIVER);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "d1");
	CHECK_STR(run(lda, &op), "OK [APPENDUID 3]");
	/* The read-only session sees it as recent without taking it. */
	CHECK_STR(do_simple(ro, MODEL_OP_NOOP), "* 3 EXISTS | * 1 RECENT | OK");
	CHECK_STR(do_simple(b, MODEL_OP_NOOP), "* 3 EXISTS | * 1 RECENT | OK");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 3 EXISTS | * 0 RECENT | OK");
	CHECK_STR(do_fetch(b, true, "3", MODEL_F_FLAGS, -1, false),
		  "* 3 FETCH (UID 3 FLAGS (\\Recent)) | OK");
	CHECK_STR(do_fetch(a, true, "3", MODEL_F_FLAGS, -1, false),
		  "* 3 FETCH (UID 3 FLAGS ()) | OK");
	/* A later read-write SELECT finds nothing left to claim. */
	rt_session *c = sess(fs, 14);
	CHECK(strstr(do_select(c, "INBOX", false), "* 0 RECENT") != NULL);
	CHECK_STR(do_status(c, "INBOX", MODEL_STATUS_RECENT | MODEL_STATUS_MESSAGES),
		  "* STATUS INBOX (MESSAGES 3 RECENT 0) | OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_session_free(c);
	rs_session_free(ro);
	rs_session_free(lda);
	rs_fs_destroy(fs);
}

static void test_expunge_numbering(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 5);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	CHECK_STR(do_store(b, false, "2,4", MODEL_STORE_ADD, "\\Deleted", false, -1),
		  "* 2 FETCH (FLAGS (\\Deleted)) | * 4 FETCH (FLAGS (\\Deleted)) | OK");
	CHECK_STR(do_expunge(b, NULL), "* 4 EXPUNGE | * 2 EXPUNGE | OK");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 4 EXPUNGE | * 2 EXPUNGE | OK");
	CHECK_EQ(rs_session_exists(a), 3);
	CHECK_EQ(rs_session_uid_at(a, 1), 1);
	CHECK_EQ(rs_session_uid_at(a, 2), 3);
	CHECK_EQ(rs_session_uid_at(a, 3), 5);
	CHECK_STR(do_search(a, true), "* SEARCH 1,3,5 | OK");
	CHECK_STR(do_search(a, false), "* SEARCH 1:3 | OK");
	/* UID EXPUNGE only expunges \Deleted members of its set. */
	do_store(a, true, "1,3", MODEL_STORE_ADD, "\\Deleted", true, -1);
	CHECK_STR(do_expunge(a, "3:5"), "* 2 EXPUNGE | OK");
	CHECK_STR(do_simple(b, MODEL_OP_NOOP),
		  "* 2 EXPUNGE | * 1 FETCH (FLAGS (\\Deleted)) | OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_no_expunge_during_fetch(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	do_store(b, false, "2", MODEL_STORE_ADD, "\\Deleted", true, -1);
	CHECK_STR(do_expunge(b, NULL), "* 2 EXPUNGE | OK");
	CHECK_STR(do_append(b, "INBOX", "m4", ""), "* 3 EXISTS | * 1 RECENT | OK [APPENDUID 4]");
	/* New messages may come (EXISTS), expunges may not. */
	CHECK_STR(do_fetch(a, false, "1:3", MODEL_F_FLAGS, -1, false),
		  "* 4 EXISTS | * 0 RECENT | * 1 FETCH (FLAGS ()) | * 3 FETCH (FLAGS ()) | OK");
	CHECK_STR(do_store(a, false, "3", MODEL_STORE_ADD, "\\Flagged", false, -1),
		  "* 3 FETCH (FLAGS (\\Flagged)) | OK");
	CHECK_STR(do_search(a, false), "* SEARCH 1:4 | OK");
	CHECK_STR(do_fetch(a, false, "2", MODEL_F_FLAGS | MODEL_F_BODY, -1, false), "OK");
	CHECK_EQ(rs_session_exists(a), 4);
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 2 EXPUNGE | OK");
	CHECK_EQ(rs_session_exists(a), 3);
	/* The UID forms may carry them, before their own data. */
	do_store(b, true, "4", MODEL_STORE_ADD, "\\Deleted", true, -1);
	do_expunge(b, "4");
	CHECK_STR(do_fetch(a, true, "1:4", MODEL_F_FLAGS, -1, false),
		  "* 3 EXPUNGE | * 1 FETCH (UID 1 FLAGS ()) | "
		  "* 2 FETCH (UID 3 FLAGS (\\Flagged)) | OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_vanished_with_qresync(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 5);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	CHECK_STR(do_enable(a, MODEL_CAP_QRESYNC), "* ENABLED QRESYNC | OK");
	CHECK_STR(do_enable(a, MODEL_CAP_QRESYNC | MODEL_CAP_CONDSTORE), "* ENABLED | OK");
	CHECK_STR(do_select(a, "INBOX", false),
		  SELECT_OK(5, 0, 6) "* OK [UNSEEN 1] | " TAIL(6)
		  " | * OK [HIGHESTMODSEQ] | OK [READ-WRITE]");
	CHECK_EQ(code_value(MODEL_CODE_HIGHESTMODSEQ), store_highestmodseq(fs, "INBOX"));
	do_select(b, "INBOX", false);
	do_store(b, false, "2,4", MODEL_STORE_ADD, "\\Deleted", true, -1);
	CHECK_STR(do_expunge(b, NULL), "* 4 EXPUNGE | * 2 EXPUNGE | OK");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* VANISHED 2,4 | OK");
	/* Its own expunge: VANISHED, and the modseq after it, tagged. */
	do_store(a, true, "5", MODEL_STORE_ADD, "\\Deleted", true, -1);
	uint64_t before = store_highestmodseq(fs, "INBOX");
	CHECK_STR(do_expunge(a, NULL), "* VANISHED 5 | OK [HIGHESTMODSEQ]");
	CHECK(R.code.value > before);
	CHECK_EQ(R.code.value, store_highestmodseq(fs, "INBOX"));
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_store_responses(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "\\Seen", false, -1),
		  "* 1 FETCH (FLAGS (\\Seen)) | OK");
	/* Changing nothing: no FETCH, no modseq bump. */
	uint64_t m1 = store_modseq(fs, "INBOX", 1);
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "\\Seen", false, -1), "OK");
	CHECK_EQ(store_modseq(fs, "INBOX", 1), m1);
	CHECK_STR(do_store(a, false, "1:2", MODEL_STORE_REMOVE, "\\Seen", false, -1),
		  "* 1 FETCH (FLAGS ()) | OK");
	CHECK_STR(do_store(a, false, "2", MODEL_STORE_REPLACE, "\\Flagged \\Draft", false, -1),
		  "* 2 FETCH (FLAGS (\\Flagged \\Draft)) | OK");
	CHECK_STR(do_store(a, true, "3,9", MODEL_STORE_ADD, "\\Answered", false, -1),
		  "* 3 FETCH (UID 3 FLAGS (\\Answered)) | OK");
	CHECK_STR(do_store(a, false, "3", MODEL_STORE_ADD, "\\Seen", true, -1), "OK");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "OK");
	CHECK_STR(do_simple(b, MODEL_OP_NOOP),
		  "* 2 FETCH (FLAGS (\\Flagged \\Draft)) | "
		  "* 3 FETCH (FLAGS (\\Answered \\Seen)) | OK");
	/* A keyword not defined yet: FLAGS and PERMANENTFLAGS first. */
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "$Junk", false, -1),
		  "* FLAGS (" SYS " $Junk) | * OK [PERMANENTFLAGS (" SYS " $Junk \\*)] | "
		  "* 1 FETCH (FLAGS ($Junk)) | OK");
	CHECK_STR(do_simple(b, MODEL_OP_NOOP),
		  "* FLAGS (" SYS " $Junk) | * OK [PERMANENTFLAGS (" SYS " $Junk \\*)] | "
		  "* 1 FETCH (FLAGS ($Junk)) | OK");
	/* Errors: bad numbers, empty set, read-only. */
	CHECK_STR(do_store(a, false, "4", MODEL_STORE_ADD, "\\Seen", false, -1), "BAD");
	CHECK_STR(do_store(a, false, "", MODEL_STORE_ADD, "\\Seen", false, -1), "BAD");
	rt_session *ro = sess(fs, 12);
	do_select(ro, "INBOX", true);
	CHECK_STR(do_store(ro, false, "1", MODEL_STORE_ADD, "\\Seen", false, -1), "NO");
	CHECK_STR(do_expunge(ro, NULL), "NO");
	CHECK_STR(do_copy(ro, MODEL_OP_MOVE, false, "1", "Other"), "NO");
	rs_session_free(a);
	rs_session_free(b);
	rs_session_free(ro);
	rs_fs_destroy(fs);
}

static void test_unchangedsince(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	uint64_t m1 = store_modseq(fs, "INBOX", 1);
	/* Passes; the first CONDSTORE enabling command reports HIGHESTMODSEQ. */
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "\\Seen", false, (int64_t)m1),
		  "* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ) | * OK [HIGHESTMODSEQ] | OK");
	uint64_t m1b = find_ut(MODEL_UT_FETCH, 0)->fetch.modseq;
	CHECK(m1b > m1);
	CHECK_EQ(m1b, store_modseq(fs, "INBOX", 1));
	CHECK_EQ(code_value(MODEL_CODE_HIGHESTMODSEQ), store_highestmodseq(fs, "INBOX"));
	/* Stale: MODIFIED, nothing changed. */
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "\\Flagged", false, (int64_t)m1),
		  "OK [MODIFIED 1]");
	CHECK_EQ(store_modseq(fs, "INBOX", 1), m1b);
	CHECK_STR(do_store(a, true, "2", MODEL_STORE_ADD, "\\Flagged", false, 0),
		  "OK [MODIFIED 2]");
	/* Another session's change makes one of two fail. */
	do_store(b, false, "3", MODEL_STORE_ADD, "\\Draft", true, -1);
	uint64_t highestmodseq = m1b;
	CHECK_STR(do_store(a, false, "2:3", MODEL_STORE_ADD, "\\Answered", false, (int64_t)highestmodseq),
		  "* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ) | "
		  "* 3 FETCH (UID 3 FLAGS (\\Draft) MODSEQ) | OK [MODIFIED 3]");
	/* .SILENT with UNCHANGEDSINCE still reports the new modseq. */
	CHECK_STR(do_store(a, true, "2", MODEL_STORE_ADD, "\\Seen", true, INT64_MAX),
		  "* 2 FETCH (UID 2 MODSEQ) | OK");
	CHECK_EQ(find_ut(MODEL_UT_FETCH, 0)->fetch.modseq, store_modseq(fs, "INBOX", 2));
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "OK");
	/* .SILENT without it: nothing, not even at the next NOOP. */
	CHECK_STR(do_store(a, true, "2", MODEL_STORE_REMOVE, "\\Seen", true, -1), "OK");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "OK");
	/* The other session, CONDSTORE off, sees flags only (message 1's
	 * change reached it before its own STORE). */
	CHECK_STR(do_simple(b, MODEL_OP_NOOP), "* 2 FETCH (FLAGS (\\Answered)) | OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_condstore_enabling(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 2);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11), *c = sess(fs, 12);
	do_select(a, "INBOX", false);
	/* A BAD command enables nothing. */
	CHECK_STR(do_fetch(a, false, "9", MODEL_F_MODSEQ, -1, false), "BAD");
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_MODSEQ, -1, false),
		  "* 1 FETCH (MODSEQ) | * OK [HIGHESTMODSEQ] | OK");
	CHECK_EQ(find_ut(MODEL_UT_FETCH, 0)->fetch.modseq, store_modseq(fs, "INBOX", 1));
	CHECK_EQ(code_value(MODEL_CODE_HIGHESTMODSEQ), store_highestmodseq(fs, "INBOX"));
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_MODSEQ, -1, false), "* 1 FETCH (MODSEQ) | OK");
	CHECK_STR(do_enable(a, MODEL_CAP_CONDSTORE), "* ENABLED | OK");
	/* ENABLE while selected reports it; before selecting, SELECT does. */
	do_select(b, "INBOX", false);
	CHECK_STR(do_enable(b, MODEL_CAP_CONDSTORE),
		  "* ENABLED CONDSTORE | * OK [HIGHESTMODSEQ] | OK");
	CHECK_STR(do_enable(c, MODEL_CAP_CONDSTORE), "* ENABLED CONDSTORE | OK");
	CHECK(strstr(do_select(c, "INBOX", true), "* OK [HIGHESTMODSEQ] | OK [READ-ONLY]") != NULL);
	/* STATUS (HIGHESTMODSEQ) enables it too. */
	rt_session *d = sess(fs, 13);
	do_select(d, "INBOX", false);
	CHECK_STR(do_status(d, "INBOX", MODEL_STATUS_HIGHESTMODSEQ | MODEL_STATUS_UNSEEN),
		  "* STATUS INBOX (UNSEEN 2 HIGHESTMODSEQ) | * OK [HIGHESTMODSEQ] | OK");
	/* Others' changes now carry UID and MODSEQ. */
	do_store(b, false, "2", MODEL_STORE_ADD, "\\Seen", true, -1);
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ) | OK");
	CHECK_EQ(find_ut(MODEL_UT_FETCH, 0)->fetch.modseq, store_modseq(fs, "INBOX", 2));
	/* SELECT (CONDSTORE). */
	rt_session *e = sess(fs, 14);
	model_op op = mk(MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	op.condstore = true;
	CHECK(strstr(run(e, &op), "* OK [HIGHESTMODSEQ] | OK [READ-WRITE]") != NULL);
	/* Without the capability: BAD. */
	rs_session_options o = {.pid = 15, .caps = MODEL_CAP_UIDPLUS | MODEL_CAP_ENABLE};
	rt_session *f = rs_session_new(fs, ROOT, &o);
	do_select(f, "INBOX", false);
	CHECK_STR(do_fetch(f, false, "1", MODEL_F_MODSEQ, -1, false), "BAD");
	CHECK_STR(do_enable(f, MODEL_CAP_CONDSTORE), "* ENABLED | OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_session_free(c);
	rs_session_free(d);
	rs_session_free(e);
	rs_session_free(f);
	rs_fs_destroy(fs);
}

static void test_changedsince_vanished(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 5);
	uint64_t h0 = store_highestmodseq(fs, "INBOX");
	rt_session *b = sess(fs, 11);
	do_select(b, "INBOX", false);
	do_store(b, false, "2", MODEL_STORE_ADD, "\\Flagged", true, -1);
	do_store(b, false, "4", MODEL_STORE_ADD, "\\Deleted", true, -1);
	do_expunge(b, NULL);
	rt_session *c = sess(fs, 12);
	do_enable(c, MODEL_CAP_QRESYNC);
	do_select(c, "INBOX", false);
	CHECK_STR(do_fetch(c, true, "1:5", MODEL_F_FLAGS, (int64_t)h0, true),
		  "* VANISHED (EARLIER) 4 | * 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ) | OK");
	CHECK(find_ut(MODEL_UT_FETCH, 0)->fetch.modseq > h0);
	CHECK_STR(do_fetch(c, true, "1:3", MODEL_F_FLAGS, (int64_t)h0, true),
		  "* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ) | OK");
	CHECK_STR(do_fetch(c, false, "1:4", MODEL_F_FLAGS, (int64_t)h0, false),
		  "* 2 FETCH (FLAGS (\\Flagged) MODSEQ) | OK");
	uint64_t hnow = store_highestmodseq(fs, "INBOX");
	CHECK_STR(do_fetch(c, false, "1:4", MODEL_F_FLAGS, (int64_t)hnow, false), "OK");
	/* VANISHED only with UID FETCH, CHANGEDSINCE and QRESYNC enabled. */
	CHECK_STR(do_fetch(c, false, "1:4", MODEL_F_FLAGS, (int64_t)h0, true), "BAD");
	CHECK_STR(do_fetch(c, true, "1:4", MODEL_F_FLAGS, -1, true), "BAD");
	CHECK_STR(do_fetch(b, true, "1:4", MODEL_F_FLAGS, (int64_t)h0, true), "BAD");
	rs_session_free(b);
	rs_session_free(c);
	rs_fs_destroy(fs);
}

static void test_select_qresync(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 5);
	uint32_t uv = store_uidvalidity(fs, "INBOX");
	uint64_t h0 = store_highestmodseq(fs, "INBOX");
	rt_session *b = sess(fs, 11);
	do_select(b, "INBOX", false);
	do_store(b, false, "2", MODEL_STORE_ADD, "\\Flagged", true, -1);
	do_store(b, false, "4", MODEL_STORE_ADD, "\\Deleted", true, -1);
	do_expunge(b, NULL);
	rt_session *a = sess(fs, 10);
	CHECK_STR(do_qselect(a, "INBOX", uv, h0, ""), "BAD"); /* not enabled */
	do_enable(a, MODEL_CAP_QRESYNC);
	const char *head = SELECT_OK(4, 0, 6) "* OK [UNSEEN 1] | " TAIL(6)
		" | * OK [HIGHESTMODSEQ] | ";
	char want[1024];
	snprintf(want, sizeof(want), "%s* VANISHED (EARLIER) 4 | "
		 "* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ) | OK [READ-WRITE]", head);
	CHECK_STR(do_qselect(a, "INBOX", uv, h0, ""), want);
	/* Known UIDs restrict both; a reselect closes first. */
	snprintf(want, sizeof(want), "* OK [CLOSED] | %s"
		 "* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ) | OK [READ-WRITE]", head);
	CHECK_STR(do_qselect(a, "INBOX", uv, h0, "1:3"), want);
	snprintf(want, sizeof(want), "* OK [CLOSED] | %sOK [READ-WRITE]", head);
	CHECK_STR(do_qselect(a, "INBOX", uv + 1, h0, ""), want);
	CHECK_STR(do_qselect(a, "INBOX", uv, store_highestmodseq(fs, "INBOX"), ""), want);
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_appenduid_copyuid(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10);
	CHECK_STR(do_select(a, "INBOX", false),
		  SELECT_OK(3, 0, 4) "* OK [UNSEEN 1] | " TAIL(4) " | OK [READ-WRITE]");
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Archive"), "OK");
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Archive"), "NO");
	uint32_t auv = store_uidvalidity(fs, "Archive");
	CHECK_STR(do_copy(a, MODEL_OP_COPY, false, "1,3", "Archive"), "OK [COPYUID 1,3 1:2]");
	CHECK_EQ(R.code.uidvalidity, auv);
	CHECK_STR(do_copy(a, MODEL_OP_COPY, true, "2,7", "Archive"), "OK [COPYUID 2 3]");
	CHECK_STR(do_copy(a, MODEL_OP_COPY, true, "7", "Archive"), "OK");
	CHECK_STR(do_copy(a, MODEL_OP_COPY, false, "1", "Nowhere"), "NO [TRYCREATE]");
	CHECK_STR(do_copy(a, MODEL_OP_COPY, false, "5", "Archive"), "BAD");
	CHECK_STR(do_append(a, "Nowhere", "x", ""), "NO [TRYCREATE]");
	CHECK_STR(do_append(a, "Archive", "m9", "\\Flagged"), "OK [APPENDUID 4]");
	CHECK_EQ(R.code.uidvalidity, auv);
	/* Into itself: the sync reports the copy. */
	CHECK_STR(do_copy(a, MODEL_OP_COPY, false, "2", "INBOX"),
		  "* 4 EXISTS | * 1 RECENT | OK [COPYUID 2 4]");
	CHECK_STR(do_status(a, "Archive", MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT |
			    MODEL_STATUS_UIDVALIDITY | MODEL_STATUS_UNSEEN),
		  "* STATUS Archive (MESSAGES 4 UIDNEXT 5 UNSEEN 4 UIDVALIDITY) | OK");
	CHECK_EQ(find_ut(MODEL_UT_STATUS, 0)->status.uidvalidity, auv);
	CHECK_STR(do_status(a, "Nowhere", MODEL_STATUS_MESSAGES), "NO");
	/* Content and identity survive the copy. */
	rt_session *c = sess(fs, 11);
	do_select(c, "Archive", true);
	CHECK_STR(do_fetch(c, true, "2", MODEL_F_ID | MODEL_F_FLAGS, -1, false),
		  "* 2 FETCH (UID 2 FLAGS (\\Recent) ID m3) | OK");
	rs_session_free(a);
	rs_session_free(c);
	rs_fs_destroy(fs);
}

static void test_move_shape(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 5);
	rt_session *w = sess(fs, 9);
	CHECK_STR(do_name(w, MODEL_OP_CREATE, "Archive"), "OK");
	rt_session *a = sess(fs, 10), *b = sess(fs, 11), *c = sess(fs, 12);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	do_select(c, "Archive", false);
	do_store(a, false, "2", MODEL_STORE_ADD, "\\Seen", true, -1);
	CHECK_STR(do_copy(a, MODEL_OP_MOVE, false, "2:3", "Archive"),
		  "* OK [COPYUID 2:3 1:2] | * 3 EXPUNGE | * 2 EXPUNGE | OK");
	CHECK_EQ(find_code(MODEL_CODE_COPYUID)->uidvalidity, store_uidvalidity(fs, "Archive"));
	CHECK_STR(do_simple(b, MODEL_OP_NOOP), "* 3 EXPUNGE | * 2 EXPUNGE | OK");
	CHECK_STR(do_simple(c, MODEL_OP_NOOP), "* 2 EXISTS | * 2 RECENT | OK");
	CHECK_STR(do_fetch(c, true, "1:4294967295", MODEL_F_FLAGS | MODEL_F_ID, -1, false),
		  "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) ID m2) | "
		  "* 2 FETCH (UID 2 FLAGS (\\Recent) ID m3) | OK");
	CHECK_STR(do_copy(a, MODEL_OP_MOVE, false, "1", "inbox"), "NO");
	CHECK_STR(do_copy(a, MODEL_OP_MOVE, false, "1", "Nowhere"), "NO [TRYCREATE]");
	/* With QRESYNC: VANISHED, and HIGHESTMODSEQ on the tagged OK. */
	do_enable(b, MODEL_CAP_QRESYNC);
	do_select(b, "INBOX", false);
	CHECK_STR(do_copy(b, MODEL_OP_MOVE, true, "4:5", "Archive"),
		  "* OK [COPYUID 4:5 3:4] | * VANISHED 4:5 | OK [HIGHESTMODSEQ]");
	CHECK_EQ(R.code.value, store_highestmodseq(fs, "INBOX"));
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 3 EXPUNGE | * 2 EXPUNGE | OK");
	/* Without MOVE offered: BAD. */
	rs_session_options o = {.pid = 13, .caps = MODEL_CAP_UIDPLUS};
	rt_session *d = rs_session_new(fs, ROOT, &o);
	do_select(d, "INBOX", false);
	CHECK_STR(do_copy(d, MODEL_OP_MOVE, false, "1", "Archive"), "BAD");
	rs_session_free(w);
	rs_session_free(a);
	rs_session_free(b);
	rs_session_free(c);
	rs_session_free(d);
	rs_fs_destroy(fs);
}

static void test_errors(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 2);
	rt_session *a = sess(fs, 10);
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_FLAGS, -1, false), "BAD");
	CHECK_STR(do_search(a, false), "BAD");
	CHECK_STR(do_select(a, "Nowhere", false), "NO");
	CHECK(rs_session_selected(a) == NULL);
	do_select(a, "INBOX", false);
	/* A failed SELECT leaves nothing selected (after CLOSED). */
	CHECK_STR(do_select(a, "Nowhere", false), "* OK [CLOSED] | NO");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "OK");
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_FLAGS, -1, false), "BAD");
	do_select(a, "INBOX", false);
	CHECK_STR(do_fetch(a, false, "3", MODEL_F_FLAGS, -1, false), "BAD");
	CHECK_STR(do_fetch(a, false, "1", 0, -1, false), "BAD");
	CHECK_STR(do_fetch(a, true, "7", MODEL_F_FLAGS, -1, false), "OK");
	CHECK_STR(do_expunge(a, ""), "BAD");
	CHECK_STR(do_name(a, MODEL_OP_DELETE, "Nowhere"), "NO");
	CHECK_STR(do_name(a, MODEL_OP_DELETE, "inbox"), "NO");
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "INBOX"), "NO");
	CHECK_STR(do_simple(a, MODEL_OP_CHECKPOINT), "BAD");
	CHECK_STR(do_append(a, "INBOX", "", ""), "BAD");
	rs_session_free(a);
	rs_fs_destroy(fs);
}

static void test_missing_file_anomaly(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 2);
	rt_session *a = sess(fs, 10);
	do_select(a, "INBOX", false);
	rs_mailbox *mb = peek(fs, "INBOX");
	char path[512];
	snprintf(path, sizeof(path), "%s/cur/%s", rs_path(mb), rs_msg_find(mb, 2)->name);
	rs_close(mb);
	REQUIRE(fs->ops->unlink(fs, path) == 0);
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_BODY, -1, false), "* 1 FETCH (BODY) | OK");
	CHECK_STR(R.anomaly, "");
	CHECK_STR(do_fetch(a, false, "1:2", MODEL_F_BODY, -1, false),
		  "* 1 FETCH (BODY) | NO [SERVERBUG]");
	CHECK(strstr(R.anomaly, "UID 2") != NULL && strstr(R.anomaly, "missing") != NULL);
	CHECK(rs_session_alive(a));
	/* COPY cannot link the file either. */
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Archive"), "OK");
	CHECK_STR(do_copy(a, MODEL_OP_COPY, false, "2", "Archive"), "NO [SERVERBUG]");
	CHECK(R.anomaly[0] != '\0');
	rs_session_free(a);
	rs_fs_destroy(fs);
}

static void test_bodies(void)
{
	rs_fs *fs = fx_new();
	rt_session *a = sess(fs, 10);
	cm_buf want = {0};
	model_message_bytes_sized("big-1", 1000, &want);
	CHECK_EQ(want.len, 1000);
	CHECK(strncmp(want.data, "X-Ratchet-Id: big-1\r\n", 21) == 0);
	for (size_t i = 0; i < want.len; i++)
		if (want.data[i] == '\r' || want.data[i] == '\n')
			CHECK(want.data[i] == '\r' ? want.data[i + 1] == '\n'
						   : want.data[i - 1] == '\r');
	model_op op = mk(MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "big-1");
	op.size = 1000;
	CHECK_STR(run(a, &op), "OK [APPENDUID 1]");
	do_select(a, "INBOX", true);
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_BODY | MODEL_F_SIZE | MODEL_F_ID |
			   MODEL_F_IDATE, -1, false),
		  "* 1 FETCH (SIZE 1000 ID big-1 BODY) | OK");
	const model_fetch *f = &find_ut(MODEL_UT_FETCH, 0)->fetch;
	CHECK(f->body_hash == cm_hash64(want.data, want.len));
	CHECK(f->has & MODEL_F_IDATE);
	CHECK(f->idate >= 1700000000 && f->idate < 1800000000);
	model_message_bytes("small", &want);
	CHECK(want.len > 100 && want.len < 300);
	cm_buf_free(&want);
	rs_session_free(a);
	rs_fs_destroy(fs);
}

static void test_mailbox_lifecycle(void)
{
	rs_fs *fs = fx_new();
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Odd name/x%"), "OK");
	CHECK(rs_namespace_exists(fs, ROOT, "Odd name/x%"));
	char path[RT_STORE_PATH_MAX];
	CHECK(rs_namespace_path(ROOT, "Odd name/x%", path, sizeof(path)) == 0);
	CHECK_STR(path, ROOT "/Odd%20name%2Fx%25");
	CHECK(rs_namespace_path(ROOT, ".hidden", path, sizeof(path)) == 0);
	CHECK_STR(path, ROOT "/%2Ehidden");
	CHECK(rs_namespace_path(ROOT, "inBox", path, sizeof(path)) == 0);
	CHECK_STR(path, ROOT "/INBOX");
	/* A name deleted and created again gets a higher UIDVALIDITY. */
	uint32_t last = 0;
	for (int i = 0; i < 3; i++) {
		CHECK_STR(do_name(a, MODEL_OP_CREATE, "X"), "OK");
		CHECK_STR(do_status(a, "X", MODEL_STATUS_UIDVALIDITY), "* STATUS X (UIDVALIDITY) | OK");
		uint32_t uv = find_ut(MODEL_UT_STATUS, 0)->status.uidvalidity;
		CHECK(uv > last);
		last = uv;
		CHECK_STR(do_append(a, "X", "x1", ""), "OK [APPENDUID 1]");
		CHECK_EQ(R.code.uidvalidity, uv);
		CHECK_STR(do_name(a, MODEL_OP_DELETE, "X"), "OK");
	}
	/* Deleting another session's selected mailbox ends that session. */
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Y"), "OK");
	CHECK(strstr(do_select(b, "Y", false), "OK [READ-WRITE]") != NULL);
	CHECK_STR(do_name(a, MODEL_OP_DELETE, "Y"), "OK");
	CHECK_STR(do_simple(b, MODEL_OP_NOOP), "* BYE | unknown");
	CHECK_STR(R.anomaly, "");
	CHECK(!rs_session_alive(b));
	CHECK_STR(do_simple(b, MODEL_OP_CONNECT), "unknown");
	/* Its own selected mailbox: unselected. */
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Z"), "OK");
	do_select(a, "Z", false);
	CHECK_STR(do_name(a, MODEL_OP_DELETE, "Z"), "OK");
	CHECK(rs_session_selected(a) == NULL);
	CHECK(!rs_namespace_exists(fs, ROOT, "Z"));
	rs_session_kill(a);
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "unknown");
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}


/* ---- interleavings through the file-system hook ---- */

/* Runs fn once, just before the first call of kind `on` (on a path
 * containing path_has) made while `actor` is the trigger session. With
 * kill, every later call of the trigger fails, as for a killed client. */
typedef struct inter {
	uint32_t actor, trigger;
	rs_fs_call on;
	const char *path_has;
	void (*fn)(struct inter *h);
	rt_session *other, *victim;
	bool fired, kill;
	uint64_t calls_after;
} inter;

static int hook(void *ctx, rs_fs_call call, const char *path)
{
	inter *h = ctx;
	if (h->actor == 0 || h->actor != h->trigger)
		return 0;
	if (h->fired) {
		h->calls_after += h->kill;
		return h->kill ? -EIO : 0;
	}
	if (call != h->on || (h->path_has != NULL && strstr(path, h->path_has) == NULL))
		return 0;
	h->fired = true;
	/* The interrupted command is still filling R. */
	uint32_t saved = h->actor;
	model_result outer = R;
	model_result_init(&R);
	h->actor = 0;
	h->fn(h);
	h->actor = saved;
	model_result_free(&R);
	R = outer;
	return h->kill ? -EIO : 0;
}

static void other_flags(inter *h)
{
	const char *r = do_store(h->other, true, "1:2", MODEL_STORE_ADD, "\\Flagged", true, -1);
	CHECK(strcmp(r + strlen(r) - 2, "OK") == 0);
}

static void victim_dies(inter *h)
{
	rs_session_kill(h->victim);
}

static int dead_pids(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid == 10 || pid == 77 ? 0 : 1;
}

/* Another session's change lands between our sync and our STORE. */
static void test_store_race(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	inter h = {.trigger = 10, .on = RS_FS_LINK, .path_has = "uidlist.lock.P",
		   .fn = other_flags, .other = b};
	rs_memfs_set_hook(fs, hook, &h);
	/* .SILENT: the client believes only its own change; the sync tells
	 * it the rest. */
	h.actor = 10;
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "\\Seen", true, -1),
		  "* 1 FETCH (FLAGS (\\Flagged \\Seen)) | * 2 FETCH (FLAGS (\\Flagged)) | OK");
	/* Not silent: the store's state right after our change, once. */
	h.fired = false;
	CHECK_STR(do_store(a, false, "3", MODEL_STORE_ADD, "\\Seen", false, -1),
		  "* 3 FETCH (FLAGS (\\Seen)) | OK");
	h.actor = 0;
	do_store(b, false, "3", MODEL_STORE_REMOVE, "\\Seen", true, -1);
	/* No sync before the STORE: the other change (already in the store)
	 * shows in our STORE's own FETCH, once, after our change. */
	uint64_t m3 = store_modseq(fs, "INBOX", 3);
	h.fired = false;
	h.actor = 10;
	CHECK_STR(do_store(a, false, "3", MODEL_STORE_ADD, "\\Answered", false, (int64_t)m3),
		  "* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ) | * OK [HIGHESTMODSEQ] | OK");
	CHECK(find_ut(MODEL_UT_FETCH, 0)->fetch.modseq > m3);
	h.actor = 0;
	rs_memfs_set_hook(fs, NULL, NULL);
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void other_touches_3(inter *h)
{
	CHECK_STR(do_store(h->other, true, "3", MODEL_STORE_ADD, "\\Draft", true, -1), "OK");
}

static void test_unchangedsince_race(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	uint64_t m3 = store_modseq(fs, "INBOX", 3);
	inter h = {.trigger = 10, .on = RS_FS_LINK, .path_has = "uidlist.lock.P",
		   .fn = other_touches_3, .other = b, .actor = 10};
	rs_memfs_set_hook(fs, hook, &h);
	CHECK_STR(do_store(a, false, "3", MODEL_STORE_ADD, "\\Answered", false, (int64_t)m3),
		  "* 3 FETCH (UID 3 FLAGS (\\Draft) MODSEQ) | * OK [HIGHESTMODSEQ] | "
		  "OK [MODIFIED 3]");
	rs_memfs_set_hook(fs, NULL, NULL);
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

/* Killed while holding the mailbox lock: UNKNOWN, no retry loop, and the
 * stale lock is broken by the next writer. */
static void test_killed_mid_command(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 2);
	rs_memfs_set_pid_alive(fs, dead_pids, NULL);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	inter h = {.trigger = 10, .on = RS_FS_WRITE, .path_has = "ratchet-log",
		   .fn = victim_dies, .victim = a, .kill = true, .actor = 10};
	rs_memfs_set_hook(fs, hook, &h);
	CHECK_STR(do_store(a, false, "1", MODEL_STORE_ADD, "\\Seen", false, -1), "unknown");
	CHECK(!rs_session_alive(a));
	CHECK(h.calls_after < 20);
	h.actor = 0;
	CHECK_STR(do_store(b, false, "2", MODEL_STORE_ADD, "\\Seen", false, -1),
		  "* 2 FETCH (FLAGS (\\Seen)) | OK");
	h.actor = 10;
	rs_session_free(a);
	rs_memfs_set_hook(fs, NULL, NULL);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

/* The HIGHESTMODSEQ a session gets never covers an expunge it has not
 * been told about (7162 3.2, QRESYNC-NO-GAP). */
static void test_highestmodseq_with_pending_expunge(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 3);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	uint64_t h0 = store_highestmodseq(fs, "INBOX");
	do_store(b, false, "2", MODEL_STORE_ADD, "\\Deleted", true, -1);
	do_expunge(b, NULL);
	CHECK_STR(do_fetch(a, false, "1", MODEL_F_MODSEQ, -1, false),
		  "* 1 FETCH (MODSEQ) | * OK [HIGHESTMODSEQ] | OK");
	CHECK_EQ(code_value(MODEL_CODE_HIGHESTMODSEQ), h0);
	CHECK(h0 < store_highestmodseq(fs, "INBOX"));
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* 2 EXPUNGE | OK");
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_create_lock(void)
{
	rs_fs *fs = fx_new();
	rs_memfs_set_pid_alive(fs, dead_pids, NULL);
	rt_session *a = sess(fs, 12);
	static const char dead[] = "77 77.1\n", alive[] = "78 78.1\n";
	REQUIRE(rs_memfs_write_file(fs, ROOT "/.ratchet-create.lock", dead, 8) == 0);
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "L1"), "OK");
	REQUIRE(rs_memfs_write_file(fs, ROOT "/.ratchet-create.lock", alive, 8) == 0);
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "L2"), "NO [INUSE]");
	CHECK(!rs_namespace_exists(fs, ROOT, "L2"));
	rs_session_free(a);
	rs_fs_destroy(fs);
}

static void test_uidvalidity_change(void)
{
	rs_fs *fs = fx_new();
	rt_session *a = sess(fs, 12), *b = sess(fs, 13);
	CHECK_STR(do_name(b, MODEL_OP_CREATE, "Y"), "OK");
	do_select(a, "Y", false);
	CHECK_STR(do_name(b, MODEL_OP_DELETE, "Y"), "OK");
	CHECK_STR(do_name(b, MODEL_OP_CREATE, "Y"), "OK");
	CHECK_STR(do_simple(a, MODEL_OP_NOOP), "* BYE | unknown");
	CHECK_STR(R.text, "UIDVALIDITY changed");
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}


/* ---- randomized: many sessions, ops nested inside others' file-system
 * calls, checked for what any client could check ---- */

#define FZ_SESSIONS 4
static const char *const fz_boxes[] = {"INBOX", "Work", "Tmp"};

typedef struct fuzz {
	rs_fs *fs;
	cm_rng rng;
	rt_session *s[FZ_SESSIONS];
	int cur, depth;
	uint64_t ops, nested, byes;
	uint64_t last_modseq;
	uint64_t st[MODEL_REPLY_UNKNOWN + 1];
	unsigned mutants;
} fuzz;

static void fz_new_session(fuzz *z, int i)
{
	rs_session_options o = {.pid = 100 + (uint32_t)i + 10 * (uint32_t)z->ops,
				.mutants = z->mutants, .lock_timeout_ns = 2000000};
	rs_session_free(z->s[i]);
	z->s[i] = rs_session_new(z->fs, ROOT, &o);
}

static uint32_t fz_below(fuzz *z, uint32_t n)
{
	return n ? (uint32_t)cm_rng_below(&z->rng, n) : 0;
}

static void fz_set(fuzz *z, rt_session *s, bool uid, cm_uidset *set)
{
	uint32_t n = (uint32_t)rs_session_exists(s);
	uint32_t top = uid ? rs_session_uid_at(s, n) + 2 : n;
	if (top == 0)
		top = 1;
	uint32_t a = 1 + fz_below(z, top), b = 1 + fz_below(z, top);
	cm_uidset_add_range(set, a, b);
	if (fz_below(z, 4) == 0)
		cm_uidset_add(set, 1 + fz_below(z, top));
}

static void fz_op(fuzz *z, rt_session *s, model_op *op)
{
	static const char *const flagsets[] = {"\\Seen", "\\Deleted", "\\Flagged $A",
					       "\\Seen \\Deleted", ""};
	static const model_op_kind kinds[] = {
		MODEL_OP_SELECT, MODEL_OP_NOOP, MODEL_OP_APPEND, MODEL_OP_STORE,
		MODEL_OP_STORE, MODEL_OP_FETCH, MODEL_OP_FETCH, MODEL_OP_SEARCH,
		MODEL_OP_EXPUNGE, MODEL_OP_COPY, MODEL_OP_MOVE, MODEL_OP_STATUS,
		MODEL_OP_ENABLE, MODEL_OP_CREATE, MODEL_OP_DELETE, MODEL_OP_APPEND,
		MODEL_OP_CONNECT};
	model_op_init(op, kinds[fz_below(z, CM_ARRAY_LEN(kinds))]);
	bool selected = rs_session_selected(s) != NULL;
	if (!selected && fz_below(z, 2) == 0)
		op->kind = MODEL_OP_SELECT;
	op->uid = fz_below(z, 2) == 0;
	snprintf(op->mailbox, sizeof(op->mailbox), "%s", fz_boxes[fz_below(z, 3)]);
	op->flags = fl(flagsets[fz_below(z, CM_ARRAY_LEN(flagsets))]);
	op->mode = (model_store_mode)fz_below(z, 3);
	op->silent = fz_below(z, 3) == 0;
	snprintf(op->msg_id, sizeof(op->msg_id), "f%" PRIu64, z->ops);
	switch (op->kind) {
	case MODEL_OP_SELECT:
		op->readonly = fz_below(z, 4) == 0;
		op->condstore = fz_below(z, 4) == 0;
		break;
	case MODEL_OP_STORE:
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
		fz_set(z, s, op->uid, &op->set);
		op->has_unchangedsince = op->kind == MODEL_OP_STORE && fz_below(z, 3) == 0;
		op->unchangedsince = fz_below(z, 3) == 0 ? 0 : UINT64_C(1) << 62;
		break;
	case MODEL_OP_FETCH:
		fz_set(z, s, op->uid, &op->set);
		op->items = MODEL_F_FLAGS | (fz_below(z, 2) ? MODEL_F_MODSEQ : 0) |
			    (fz_below(z, 3) ? 0 : MODEL_F_BODY | MODEL_F_ID);
		op->has_changedsince = fz_below(z, 3) == 0;
		op->changedsince = fz_below(z, 2) ? 0 : z->last_modseq - fz_below(z, 2);
		op->vanished = op->uid && op->has_changedsince && fz_below(z, 2) == 0;
		break;
	case MODEL_OP_EXPUNGE:
		if (op->uid)
			fz_set(z, s, true, &op->set);
		break;
	case MODEL_OP_STATUS:
		op->status_items = MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT | MODEL_STATUS_HIGHESTMODSEQ;
		break;
	case MODEL_OP_ENABLE:
		op->caps = fz_below(z, 2) ? MODEL_CAP_QRESYNC : MODEL_CAP_CONDSTORE;
		break;
	case MODEL_OP_CREATE:
	case MODEL_OP_DELETE:
		snprintf(op->mailbox, sizeof(op->mailbox), "Tmp");
		break;
	default: break;
	}
}

/* What any client can check of one result against its own view. */
static void fz_check(rt_session *s, const model_op *op, const model_result *r,
		     const uint32_t *before, size_t nbefore)
{
	uint32_t map[4096];
	size_t n = nbefore;
	bool no_expunge = !op->uid && (op->kind == MODEL_OP_FETCH ||
				       op->kind == MODEL_OP_STORE ||
				       op->kind == MODEL_OP_SEARCH);
	REQUIRE(nbefore < CM_ARRAY_LEN(map));
	memcpy(map, before, nbefore * sizeof(*map));
	CHECK_STR(r->anomaly, "");
	if (r->anomaly[0] != '\0') {
		cm_buf d = {0};
		model_op_describe(&d, op);
		fprintf(stderr, "  %s -> %s\n", d.data, render(r));
		cm_buf_free(&d);
	}
	bool bye = false, uncertain = false;
	uint64_t unknown_gone = 0;
	for (size_t i = 0; i < r->nut; i++) {
		const model_untagged *u = &r->ut[i];
		switch (u->kind) {
		case MODEL_UT_EXISTS:
			CHECK(u->n >= n);
			REQUIRE(u->n < CM_ARRAY_LEN(map));
			while (n < u->n)
				map[n++] = 0;
			break;
		case MODEL_UT_EXPUNGE:
			CHECK(!no_expunge);
			CHECK(u->n >= 1 && u->n <= n);
			if (u->n >= 1 && u->n <= n) {
				memmove(&map[u->n - 1], &map[u->n], (n - u->n) * sizeof(*map));
				n--;
			}
			break;
		case MODEL_UT_VANISHED:
			if (u->earlier)
				break;
			CHECK(!no_expunge);
			CHECK(cm_uidset_count(&u->set) <= n);
			unknown_gone += cm_uidset_count(&u->set);
			for (size_t k = 0; k < n; k++) {
				if (map[k] != 0 && cm_uidset_contains(&u->set, map[k])) {
					memmove(&map[k], &map[k + 1], (n - k - 1) * sizeof(*map));
					n--;
					k--;
					unknown_gone--;
				}
			}
			/* UIDs the test never saw: which positions is unknown. */
			for (size_t k = n; unknown_gone > 0 && k-- > 0;) {
				if (map[k] == 0) {
					memmove(&map[k], &map[k + 1], (n - k - 1) * sizeof(*map));
					n--;
					unknown_gone--;
					uncertain = true;
				}
			}
			CHECK_EQ(unknown_gone, 0);
			break;
		case MODEL_UT_FETCH:
			CHECK(u->n >= 1 && u->n <= n);
			if ((u->fetch.has & MODEL_F_UID) && u->n >= 1 && u->n <= n) {
				if (map[u->n - 1] == 0)
					map[u->n - 1] = u->fetch.uid;
				CHECK_EQ(map[u->n - 1], u->fetch.uid);
			}
			if (u->fetch.has & MODEL_F_MODSEQ)
				CHECK(u->fetch.modseq > 0);
			break;
		case MODEL_UT_BYE: bye = true; break;
		default: break;
		}
	}
	/* Without faults only a vanished mailbox loses a session (its own,
	 * or the one a COPY/MOVE/APPEND was writing into). */
	bool lost_ok = bye || strcmp(op->mailbox, "Tmp") == 0;
	CHECK(r->status != MODEL_REPLY_UNKNOWN || lost_ok);
	if (r->status == MODEL_REPLY_UNKNOWN && !lost_ok) {
		cm_buf d = {0};
		model_op_describe(&d, op);
		fprintf(stderr, "  %s -> %s: %s\n", d.data, render(r), r->text);
		cm_buf_free(&d);
	}
	if (r->status == MODEL_REPLY_UNKNOWN || rs_session_selected(s) == NULL)
		return;
	CHECK_EQ(n, rs_session_exists(s));
	if (n != rs_session_exists(s)) {
		cm_buf d = {0};
		model_op_describe(&d, op);
		fprintf(stderr, "  %s -> %s (before %zu)\n", d.data, render(r), nbefore);
		cm_buf_free(&d);
	}
	for (size_t k = 0; !uncertain && k < n && k < rs_session_exists(s); k++)
		if (map[k] != 0)
			CHECK_EQ(map[k], rs_session_uid_at(s, k + 1));
	for (size_t k = 1; k < n; k++) {
		CHECK(rs_session_uid_at(s, k) < rs_session_uid_at(s, k + 1));
		if (rs_session_uid_at(s, k) >= rs_session_uid_at(s, k + 1)) {
			cm_buf d = {0};
			model_op_describe(&d, op);
			fprintf(stderr, "  at %zu: %s -> %s\n  view:", k, d.data, render(r));
			for (size_t q = 1; q <= n; q++)
				fprintf(stderr, " %u", rs_session_uid_at(s, q));
			fprintf(stderr, "\n");
			cm_buf_free(&d);
			break;
		}
	}
}

static void fz_run_one(fuzz *z, int i);

static bool fz_trace;

static int fz_hook(void *ctx, rs_fs_call call, const char *path)
{
	fuzz *z = ctx;
	if (fz_trace && strstr(path, "/mail/Tmp") != NULL)
		fprintf(stderr, "%*s[%d] %s %s\n", z->depth * 2, "", z->cur,
			rs_fs_call_name(call), path);
	if (z->depth == 1 && z->cur >= 0 && cm_rng_below(&z->rng, 100) < 3) {
		int j = (int)fz_below(z, FZ_SESSIONS);
		if (j != z->cur) {
			z->nested++;
			fz_run_one(z, j);
		}
	}
	return 0;
}

static void fz_run_one(fuzz *z, int i)
{
	rt_session *s = z->s[i];
	model_op op;
	model_result r;
	uint32_t before[4096];
	size_t nb = rs_session_exists(s);
	if (nb >= CM_ARRAY_LEN(before))
		return;
	for (size_t k = 0; k < nb; k++)
		before[k] = rs_session_uid_at(s, k + 1);
	model_result_init(&r);
	fz_op(z, s, &op);
	int saved = z->cur;
	z->cur = i;
	z->depth++;
	z->ops++;
	if (fz_trace) {
		cm_buf d = {0};
		model_op_describe(&d, &op);
		fprintf(stderr, "%*s[%d] op %s\n", z->depth * 2, "", i, d.data);
		cm_buf_free(&d);
	}
	rs_session_exec(s, &op, &r);
	if (fz_trace)
		fprintf(stderr, "%*s[%d] -> %s\n", z->depth * 2, "", i, render(&r));
	z->depth--;
	z->cur = -1; /* no nesting while we look and replace */
	if (z->mutants == 0 && op.kind != MODEL_OP_SELECT && op.kind != MODEL_OP_CONNECT)
		fz_check(s, &op, &r, before, nb);
	z->st[r.status]++;
	for (size_t k = 0; k < r.nut; k++)
		if (r.ut[k].kind == MODEL_UT_FETCH && (r.ut[k].fetch.has & MODEL_F_MODSEQ))
			z->last_modseq = r.ut[k].fetch.modseq;
	if (r.status == MODEL_REPLY_UNKNOWN) {
		z->byes++;
		fz_new_session(z, i);
	}
	z->cur = saved;
	model_op_free(&op);
	model_result_free(&r);
}

/* Quiet: every selected session, after a NOOP, shows the store's UIDs. */
static void fz_converge(fuzz *z)
{
	z->cur = -1;
	for (int i = 0; i < FZ_SESSIONS; i++) {
		rt_session *s = z->s[i];
		model_op op = mk(MODEL_OP_NOOP);
		model_result r;
		model_result_init(&r);
		rs_session_exec(s, &op, &r);
		const char *box = rs_session_selected(s);
		if (box != NULL && rs_namespace_exists(z->fs, ROOT, box)) {
			rs_mailbox *mb = peek(z->fs, box);
			CHECK_EQ(rs_session_exists(s), rs_count(mb));
			for (size_t k = 0; k < rs_count(mb) && k < rs_session_exists(s); k++)
				CHECK_EQ(rs_session_uid_at(s, k + 1), rs_msg_at(mb, k)->uid);
			rs_close(mb);
		}
		model_result_free(&r);
	}
}

static void fuzz_run(uint64_t seed, unsigned mutants, int nops)
{
	int failures = cm_test_failures;
	fuzz z = {.cur = -1, .mutants = mutants};
	z.fs = fx_new();
	REQUIRE(rs_namespace_create_mailbox(z.fs, ROOT, "Work") == RS_OK);
	cm_rng_seed(&z.rng, seed);
	for (int i = 0; i < FZ_SESSIONS; i++)
		fz_new_session(&z, i);
	rs_memfs_set_hook(z.fs, fz_hook, &z);
	for (int k = 0; k < nops; k++)
		fz_run_one(&z, (int)fz_below(&z, FZ_SESSIONS));
	if (mutants == 0)
		fz_converge(&z);
	rs_memfs_set_hook(z.fs, NULL, NULL);
	for (int i = 0; i < FZ_SESSIONS; i++)
		rs_session_free(z.s[i]);
	rs_fs_destroy(z.fs);
	CHECK(z.nested > 0);
	if (cm_test_failures != failures)
		fprintf(stderr, "  (seed %" PRIu64 ", mutants %u)\n", seed, mutants);
	if (getenv("FUZZ_STATS") != NULL)
		fprintf(stderr, "seed %" PRIu64 " mutants %u: ops %" PRIu64 " nested %" PRIu64
			" lost %" PRIu64 " ok %" PRIu64 " no %" PRIu64 " bad %" PRIu64 "\n",
			seed, mutants, z.ops, z.nested, z.byes, z.st[MODEL_REPLY_OK],
			z.st[MODEL_REPLY_NO], z.st[MODEL_REPLY_BAD]);
}

static void test_randomized(void)
{
	/* FUZZ_SEEDS=n runs more (a soak). */
	const char *more = getenv("FUZZ_SEEDS");
	uint64_t seeds = more != NULL ? strtoull(more, NULL, 10) : 40;
	const char *one = getenv("FUZZ_TRACE");
	if (one != NULL) {
		fz_trace = true;
		fuzz_run(strtoull(one, NULL, 10), 0, 300);
		fz_trace = false;
		return;
	}
	for (uint64_t seed = 1; seed <= seeds; seed++)
		fuzz_run(seed, 0, 300);
	/* A broken store must not break the session layer (no checks). */
	const char *const *names = rs_mutant_names();
	for (size_t m = 0; names[m] != NULL; m++)
		for (uint64_t seed = 1; seed <= 4; seed++)
			fuzz_run(seed, rs_mutant_parse(names[m]), 200);
}

/* The same ops on the same state give the same results. */
static void script(rs_fs *fs, cm_buf *log)
{
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_enable(a, MODEL_CAP_QRESYNC);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	cm_buf_printf(log, "%s\n", do_store(b, false, "1:3", MODEL_STORE_ADD, "\\Seen", false, -1));
	cm_buf_printf(log, "%s\n", do_simple(a, MODEL_OP_NOOP));
	do_store(a, false, "2", MODEL_STORE_ADD, "\\Deleted", true, -1);
	cm_buf_printf(log, "%s\n", do_expunge(a, NULL));
	cm_buf_printf(log, "%s %" PRIu64 "\n", do_simple(b, MODEL_OP_NOOP), R.code.value);
	cm_buf_printf(log, "%s\n", do_fetch(a, true, "1:4294967295", MODEL_F_MODSEQ | MODEL_F_BODY, 0, false));
	for (size_t i = 0; i < R.nut; i++)
		cm_buf_printf(log, "%" PRIu64 " %" PRIu64 "\n", R.ut[i].fetch.modseq,
			      R.ut[i].fetch.body_hash);
	rs_session_free(a);
	rs_session_free(b);
}

static void test_determinism(void)
{
	cm_buf one = {0}, two = {0};
	for (int i = 0; i < 2; i++) {
		rs_fs *fs = fx_new();
		fill(fs, "INBOX", 4);
		script(fs, i == 0 ? &one : &two);
		rs_fs_destroy(fs);
	}
	CHECK(one.len > 0);
	CHECK_STR(one.data, two.data);
	cm_buf_free(&one);
	cm_buf_free(&two);
}

int main(void)
{
	RUN(test_select_shape);
	RUN(test_recent_one_claimer);
	RUN(test_expunge_numbering);
	RUN(test_no_expunge_during_fetch);
	RUN(test_vanished_with_qresync);
	RUN(test_store_responses);
	RUN(test_unchangedsince);
	RUN(test_condstore_enabling);
	RUN(test_changedsince_vanished);
	RUN(test_select_qresync);
	RUN(test_appenduid_copyuid);
	RUN(test_move_shape);
	RUN(test_errors);
	RUN(test_missing_file_anomaly);
	RUN(test_bodies);
	RUN(test_mailbox_lifecycle);
	RUN(test_store_race);
	RUN(test_unchangedsince_race);
	RUN(test_killed_mid_command);
	RUN(test_highestmodseq_with_pending_expunge);
	RUN(test_create_lock);
	RUN(test_uidvalidity_change);
	RUN(test_determinism);
	RUN(test_randomized);
	model_result_free(&R);
	cm_buf_free(&out);
	TEST_EXIT();
}
