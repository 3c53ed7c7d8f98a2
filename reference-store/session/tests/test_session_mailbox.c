/* The session layer on adds and mailboxes: APPENDUID and COPYUID, the
 * shape of MOVE, errors, a missing message file, bodies, and the life of
 * a mailbox (CREATE, DELETE). */
#include "session_test.h"

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

/* Body items come from a cache of message files (digest.c): a file whose
 * bytes changed under the same name (as a crash leaves a torn one) is read
 * again, by this session and by another on the same file system. */
static void test_body_cache(void)
{
	rs_fs *fs = fx_new();
	fill(fs, "INBOX", 2);
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	unsigned items = MODEL_F_BODY | MODEL_F_SIZE | MODEL_F_ID;
	do_fetch(a, false, "1", items, -1, false);
	const model_fetch *f = &find_ut(MODEL_UT_FETCH, 0)->fetch;
	uint64_t before = f->body_hash;
	CHECK(f->id[0] != '\0');
	rs_mailbox *mb = peek(fs, "INBOX");
	char name[RS_MSG_NAME_MAX], path[512];
	snprintf(name, sizeof(name), "%s", rs_msg_find(mb, 1)->name);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", rs_path(mb), i ? "cur" : "new", name);
		fs->ops->unlink(fs, path);
	}
	rs_close(mb);
	static const char torn[] = "X-Ratchet-Id: torn\r\n";
	REQUIRE(rs_memfs_write_file(fs, path, torn, sizeof(torn) - 1) == 0);
	for (int i = 0; i < 2; i++) {
		do_fetch(i ? a : b, false, "1", items, -1, false);
		f = &find_ut(MODEL_UT_FETCH, 0)->fetch;
		CHECK(f->body_hash == cm_hash64(torn, sizeof(torn) - 1) && f->body_hash != before);
		CHECK_EQ(f->size, sizeof(torn) - 1);
		CHECK_STR(f->id, "torn");
	}
	rs_session_free(a);
	rs_session_free(b);
	rs_fs_destroy(fs);
}

static void test_mailbox_lifecycle(void)
{
	rs_fs *fs = fx_new();
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "Odd name/x%"), "OK");
	CHECK(rs_namespace_exists(fs, ROOT, "Odd name/x%"));
	char path[RS_NAMESPACE_PATH_MAX];
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

int main(void)
{
	RUN(test_appenduid_copyuid);
	RUN(test_move_shape);
	RUN(test_errors);
	RUN(test_missing_file_anomaly);
	RUN(test_bodies);
	RUN(test_body_cache);
	RUN(test_mailbox_lifecycle);
	model_result_free(&R);
	cm_buf_free(&out);
	TEST_EXIT();
}
