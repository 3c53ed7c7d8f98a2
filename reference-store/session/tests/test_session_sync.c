/* The session layer's selection and sync: the shape of SELECT, one
 * session claims \Recent, EXPUNGE renumbers (never during a FETCH by
 * sequence number), VANISHED replaces EXPUNGE with QRESYNC. */
#include "session_test.h"

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

int main(void)
{
	RUN(test_select_shape);
	RUN(test_recent_one_claimer);
	RUN(test_expunge_numbering);
	RUN(test_no_expunge_during_fetch);
	RUN(test_vanished_with_qresync);
	model_result_free(&R);
	cm_buf_free(&out);
	TEST_EXIT();
}
