/* The session layer under interleavings: another session's command runs
 * inside ours through the file-system hook, a session is killed holding
 * the lock, a mailbox is recreated under a selecting session. */
#include "session_test.h"

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
	/* The store's lock file (rs_lockfile): "<pid> <host> <nonce>". */
	static const char dead[] = "77 localhost 77.1\n", alive[] = "78 localhost 78.1\n";
	static const char torn[] = "7";  /* a crash kept the name, not the data */
	REQUIRE(rs_memfs_write_file(fs, ROOT "/.ratchet-create.lock", dead, strlen(dead)) == 0);
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "L1"), "OK");
	REQUIRE(rs_memfs_write_file(fs, ROOT "/.ratchet-create.lock", torn, strlen(torn)) == 0);
	CHECK_STR(do_name(a, MODEL_OP_CREATE, "L3"), "OK");
	REQUIRE(rs_memfs_write_file(fs, ROOT "/.ratchet-create.lock", alive, strlen(alive)) == 0);
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

int main(void)
{
	RUN(test_store_race);
	RUN(test_unchangedsince_race);
	RUN(test_killed_mid_command);
	RUN(test_highestmodseq_with_pending_expunge);
	RUN(test_create_lock);
	RUN(test_uidvalidity_change);
	model_result_free(&R);
	cm_buf_free(&out);
	TEST_EXIT();
}
