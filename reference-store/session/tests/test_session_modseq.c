/* The session layer's STORE and modseqs (CONDSTORE, QRESYNC): STORE
 * responses, UNCHANGEDSINCE and MODIFIED, the commands that enable
 * CONDSTORE, CHANGEDSINCE with VANISHED, SELECT (QRESYNC). */
#include "session_test.h"

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

int main(void)
{
	RUN(test_store_responses);
	RUN(test_unchangedsince);
	RUN(test_condstore_enabling);
	RUN(test_changedsince_vanished);
	RUN(test_select_qresync);
	model_result_free(&R);
	cm_buf_free(&out);
	TEST_EXIT();
}
