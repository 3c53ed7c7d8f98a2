/* Each mutant really misbehaves, and the correct store does not, in the
 * same interleaving: a second client acts when the first one reaches a
 * chosen file-system call (the in-memory FS's yield hook). */
#include "rs_testutil.h"

typedef struct interleave {
	const char *trigger;   /* substring of the path */
	rs_fs_call call;
	void (*action)(void *ctx);
	void *ctx;
	bool fired;
	const char *fail_path; /* inject -EIO on the n-th matching rename */
	int fail_nth, seen;
	bool down;             /* the trigger is a power cut: every call from
				* it on fails, as no process outlives it */
} interleave;

static int hook(void *ctx, rs_fs_call call, const char *path)
{
	interleave *il = ctx;
	if (!il->fired && il->trigger && call == il->call && strstr(path, il->trigger)) {
		il->fired = true;
		if (il->action != NULL)
			il->action(il->ctx);
	}
	if (il->fired && il->down)
		return -EIO;
	if (il->fail_path && call == RS_FS_RENAME && strstr(path, il->fail_path) &&
	    ++il->seen == il->fail_nth)
		return -EIO;
	return 0;
}

typedef struct world {
	fixture f;
	interleave il;
	rs_mailbox *a, *b, *c; /* a: the actor (maybe mutant); b, c: others */
} world;

static void world_init(world *w, unsigned mutants, const char *box_a,
		       const char *box_b)
{
	memset(w, 0, sizeof(*w));
	fixture_init(&w->f, true);
	rs_memfs_set_hook(w->f.fs, hook, &w->il);
	REQUIRE(rs_create(w->f.fs, fixture_path(&w->f, "S"), 0) == RS_OK);
	REQUIRE(rs_create(w->f.fs, fixture_path(&w->f, "D"), 0) == RS_OK);
	w->a = fixture_open(&w->f, box_a, &(rs_options){.pid = 100, .mutants = mutants});
	w->b = fixture_open(&w->f, box_b, &(rs_options){.pid = 200});
}

static void world_free(world *w)
{
	rs_memfs_set_hook(w->f.fs, NULL, NULL);
	rs_close(w->a);
	rs_close(w->b);
	rs_close(w->c);
	fixture_free(&w->f);
}

/* ---- unchangedsince-stale ---- */

static void b_flags_msg1(void *ctx)
{
	world *w = ctx;
	rs_store_result r = {0};
	cm_uidset one = set_of("1");
	REQUIRE(rs_store(w->b, &one, RS_STORE_ADD, CM_FLAG_FLAGGED, -1, &r) == RS_OK);
	rs_store_result_free(&r);
	cm_uidset_free(&one);
}

static bool unchangedsince_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "S");
	deliver(w.a, "m", 0);
	rs_sync(w.b, false);
	uint64_t seen = rs_msg_find(w.a, 1)->modseq;
	w.il = (interleave){.trigger = "lock.P100", .call = RS_FS_OPEN,
			    .action = b_flags_msg1, .ctx = &w};
	rs_store_result r = {0};
	cm_uidset one = set_of("1");
	REQUIRE(rs_store(w.a, &one, RS_STORE_ADD, CM_FLAG_SEEN, (int64_t)seen, &r) == RS_OK);
	CHECK(w.il.fired);
	/* Correct: B's change completed before A's STORE reached its lock, so
	 * A must report MODIFIED and change nothing. */
	bool rejected = cm_uidset_contains(&r.modified, 1) &&
			!(rs_msg_find(w.a, 1)->flags & CM_FLAG_SEEN);
	rs_store_result_free(&r);
	cm_uidset_free(&one);
	world_free(&w);
	return rejected;
}

static void t_unchangedsince_stale(void)
{
	CHECK(unchangedsince_run(0));
	CHECK(!unchangedsince_run(RS_MUTANT_UNCHANGEDSINCE_STALE));
}

/* ---- flags-last-writer ---- */

static bool last_writer_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "S");
	deliver(w.a, "m", 0);
	rs_sync(w.b, false);
	w.il = (interleave){.trigger = "lock.P100", .call = RS_FS_OPEN,
			    .action = b_flags_msg1, .ctx = &w};
	rs_store_result r = {0};
	cm_uidset one = set_of("1");
	REQUIRE(rs_store(w.a, &one, RS_STORE_ADD, CM_FLAG_SEEN, -1, &r) == RS_OK);
	rs_sync(w.a, false);
	/* Concurrent +FLAGS of different flags leave both set. */
	bool merged = rs_msg_find(w.a, 1)->flags == (CM_FLAG_SEEN | CM_FLAG_FLAGGED);
	rs_store_result_free(&r);
	cm_uidset_free(&one);
	world_free(&w);
	return merged;
}

static void t_flags_last_writer(void)
{
	CHECK(last_writer_run(0));
	CHECK(!last_writer_run(RS_MUTANT_FLAGS_LAST_WRITER));
}

/* ---- deliver-nolock ---- */

static void b_deliver(void *ctx)
{
	world *w = ctx;
	deliver(w->b, "from-b", 0);
}

static bool nolock_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "S");
	w.il = (interleave){.trigger = "lock.P100", .call = RS_FS_OPEN,
			    .action = b_deliver, .ctx = &w};
	uint32_t uid = deliver(w.a, "from-a", 0);
	rs_sync(w.b, false);
	/* Two deliveries, two messages with distinct, ascending UIDs. */
	bool ok = rs_count(w.b) == 2 && uid == 2 &&
		  strcmp(msg_id(w.b, 1), "from-b") == 0 &&
		  strcmp(msg_id(w.b, 2), "from-a") == 0;
	world_free(&w);
	return ok;
}

static void t_deliver_nolock(void)
{
	CHECK(nolock_run(0));
	CHECK(!nolock_run(RS_MUTANT_DELIVER_NOLOCK));
}

/* ---- copy-visible-early ---- */

static void c_select_d(void *ctx)
{
	world *w = ctx;
	REQUIRE(rs_sync(w->c, true) == RS_OK);
}

static bool visible_early_run(unsigned mutants, size_t *seen_during)
{
	world w;
	world_init(&w, mutants, "S", "D");
	w.c = fixture_open(&w.f, "D", &(rs_options){.pid = 300});
	rs_mailbox *src = fixture_open(&w.f, "S", &(rs_options){.pid = 100,
							       .mutants = mutants});
	deliver(src, "m", 0);
	/* The actor copies S -> D; when it goes for D's lock, C selects D. */
	w.il = (interleave){.trigger = "D/ratchet-uidlist.lock.P100", .call = RS_FS_OPEN,
			    .action = c_select_d, .ctx = &w};
	rs_mailbox *dst = fixture_open(&w.f, "D", &(rs_options){.pid = 100,
							       .mutants = mutants});
	cm_uidset one = set_of("1");
	rs_copy_result r = {0};
	REQUIRE(rs_copy(src, dst, &one, &r) == RS_OK);
	CHECK(w.il.fired);
	*seen_during = rs_count(w.c);
	rs_sync(w.c, true);
	/* Not visible before the COPY commits, then exactly one copy. */
	bool ok = *seen_during == 0 && rs_count(w.c) == 1;
	rs_copy_result_free(&r);
	cm_uidset_free(&one);
	rs_close(src);
	rs_close(dst);
	world_free(&w);
	return ok;
}

static void t_copy_visible_early(void)
{
	size_t during;
	CHECK(visible_early_run(0, &during));
	CHECK(!visible_early_run(RS_MUTANT_COPY_VISIBLE_EARLY, &during));
	CHECK_EQ(during, 1);
}

/* ---- move-rename ---- */

typedef struct read_ctx {
	world *w;
	rs_err got;
} read_ctx;

static void c_read_s1(void *ctx)
{
	read_ctx *rc = ctx;
	cm_buf b = {0};
	rs_sync(rc->w->c, false);
	rc->got = rs_fetch_body(rc->w->c, 1, &b, NULL);
	cm_buf_free(&b);
}

static bool move_run(unsigned mutants, rs_err *read_during)
{
	world w;
	world_init(&w, mutants, "S", "D");
	w.c = fixture_open(&w.f, "S", &(rs_options){.pid = 300});
	deliver(w.a, "m1", 0);
	deliver(w.a, "m2", 0);
	rs_sync(w.c, false);
	read_ctx rc = {&w, RS_OK};
	w.il = (interleave){.trigger = "D/ratchet-uidlist.lock.P100", .call = RS_FS_OPEN,
			    .action = c_read_s1, .ctx = &rc};
	rs_mailbox *dst = fixture_open(&w.f, "D", &(rs_options){.pid = 100,
							       .mutants = mutants});
	cm_uidset one = set_of("1");
	rs_copy_result r = {0};
	REQUIRE(rs_move(w.a, dst, &one, &r) == RS_OK);
	CHECK(w.il.fired);
	*read_during = rc.got;
	/* Lock-free readers never see a UID without its message. */
	bool ok = rc.got == RS_OK;

	/* A failure half way (quota, docs/design.md#copy-move): a MOVE of two messages whose
	 * second step fails must leave every message somewhere readable. */
	deliver(w.a, "m3", 0);
	w.il = (interleave){.fail_path = "/S/", .fail_nth = 2};
	if (!mutants)
		w.il.fail_path = "/D/tmp/"; /* the correct MOVE renames in D */
	cm_uidset two = set_of("2:3");
	rs_err err = rs_move(w.a, dst, &two, &r);
	w.il.fail_path = NULL;
	rs_sync(w.a, true);
	rs_sync(dst, true);
	for (uint32_t uid = 2; uid <= 3; uid++) {
		char want[8];
		snprintf(want, sizeof(want), "m%u", uid);
		bool in_src = rs_msg_find(w.a, uid) && strcmp(msg_id(w.a, uid), want) == 0;
		bool in_dst = false;
		for (size_t i = 0; i < rs_count(dst); i++)
			if (strcmp(msg_id(dst, rs_msg_at(dst, i)->uid), want) == 0)
				in_dst = true;
		if (err != RS_OK && !(in_src && !in_dst))
			ok = false; /* NO: nothing moved */
		if (!in_src && !in_dst)
			ok = false; /* MOVE-NO-LOSS */
	}
	cm_uidset_free(&one);
	cm_uidset_free(&two);
	rs_copy_result_free(&r);
	rs_close(dst);
	world_free(&w);
	return ok;
}

static void t_move_rename(void)
{
	rs_err during;
	CHECK(move_run(0, &during));
	CHECK_EQ(during, RS_OK);
	CHECK(!move_run(RS_MUTANT_MOVE_RENAME, &during));
	CHECK_EQ(during, RS_ECORRUPT);
}

/* ---- modseq-reset ---- */

static bool reset_run(unsigned mutants)
{
	fixture f;
	fixture_init(&f, true);
	rs_options o = {.mutants = mutants};
	rs_mailbox *mb = fixture_mailbox(&f, "INBOX", &o);
	deliver(mb, "m", 0);
	cm_uidset one = set_of("1");
	rs_store_result r = {0};
	REQUIRE(rs_store(mb, &one, RS_STORE_ADD, CM_FLAG_SEEN, -1, &r) == RS_OK);
	uint64_t before = rs_highestmodseq(mb);
	rs_close(mb);
	REQUIRE(f.fs->ops->unlink(f.fs, fixture_path(&f, "INBOX/ratchet-log")) == 0);
	mb = fixture_open(&f, "INBOX", &o);
	bool ok = rs_highestmodseq(mb) > before && rs_msg_find(mb, 1)->modseq > before;
	rs_store_result_free(&r);
	cm_uidset_free(&one);
	rs_close(mb);
	fixture_free(&f);
	return ok;
}

static void t_modseq_reset(void)
{
	CHECK(reset_run(0));
	CHECK(!reset_run(RS_MUTANT_MODSEQ_RESET));
}

/* ---- deliver-unsynced ---- */

typedef struct unsynced_out {
	bool kept;          /* the acknowledged message is there, intact */
	bool absent;        /* not listed, not readable: simply gone */
	uint32_t next_uid;  /* the UID the next delivery gets */
} unsynced_out;

/* Delivers, acknowledged; a power cut; the store recovers on open. */
static void unsynced_run(unsigned mutants, unsynced_out *out)
{
	fixture f;
	fixture_init(&f, true);
	rs_options o = {.mutants = mutants};
	rs_mailbox *mb = fixture_mailbox(&f, "INBOX", &o);
	uint32_t uid = deliver(mb, "acked", 0);
	CHECK_EQ(uid, 1);
	rs_close(mb);
	rs_memfs_crash(f.fs, 0);
	mb = fixture_open(&f, "INBOX", &o);
	out->kept = rs_count(mb) == 1 && strcmp(msg_id(mb, uid), "acked") == 0;
	cm_buf body = {0};
	out->absent = rs_count(mb) == 0 && rs_msg_find(mb, uid) == NULL &&
		      rs_fetch_body(mb, uid, &body, NULL) == RS_ENOENT;
	cm_buf_free(&body);
	/* What the store acknowledged is remembered: no UID is given twice. */
	out->next_uid = deliver(mb, "next", 0);
	rs_close(mb);
	fixture_free(&f);
}

static void t_deliver_unsynced(void)
{
	unsynced_out out;
	unsynced_run(0, &out);
	CHECK(out.kept);
	CHECK_EQ(out.next_uid, 2);
	unsynced_run(RS_MUTANT_DELIVER_UNSYNCED, &out);
	CHECK(!out.kept);
	CHECK(out.absent);
	CHECK_EQ(out.next_uid, 2);
}

/* ---- flags-read-unlocked ---- */

static void b_unflag_msg1(void *ctx)
{
	world *w = ctx;
	rs_store_result r = {0};
	cm_uidset one = set_of("1");
	REQUIRE(rs_store(w->b, &one, RS_STORE_REMOVE, CM_FLAG_FLAGGED, -1, &r) == RS_OK);
	rs_store_result_free(&r);
	cm_uidset_free(&one);
}

/* A adds \Seen to a \Flagged message; B removes \Flagged before A's STORE
 * (in_window false) or while A waits for its lock (true). */
static bool read_unlocked_run(unsigned mutants, bool in_window)
{
	world w;
	world_init(&w, mutants, "S", "S");
	deliver(w.a, "m", CM_FLAG_FLAGGED);
	rs_sync(w.b, false);
	if (in_window)
		w.il = (interleave){.trigger = "lock.P100", .call = RS_FS_OPEN,
				    .action = b_unflag_msg1, .ctx = &w};
	else
		b_unflag_msg1(&w);
	rs_store_result r = {0};
	cm_uidset one = set_of("1");
	REQUIRE(rs_store(w.a, &one, RS_STORE_ADD, CM_FLAG_SEEN, -1, &r) == RS_OK);
	CHECK(w.il.fired == in_window);
	rs_sync(w.a, false);
	/* Both changes survive: \Seen added, \Flagged removed. */
	bool merged = rs_msg_find(w.a, 1)->flags == CM_FLAG_SEEN;
	rs_store_result_free(&r);
	cm_uidset_free(&one);
	world_free(&w);
	return merged;
}

static void t_flags_read_unlocked(void)
{
	CHECK(read_unlocked_run(0, true));
	CHECK(read_unlocked_run(0, false));
	/* Wrong only in the window between its read and its lock: a change
	 * committed before the STORE began is read, and kept. */
	CHECK(read_unlocked_run(RS_MUTANT_FLAGS_READ_UNLOCKED, false));
	CHECK(!read_unlocked_run(RS_MUTANT_FLAGS_READ_UNLOCKED, true));
	CHECK(!read_unlocked_run(RS_MUTANT_FLAGS_LAST_WRITER, false));
}

/* ---- copy-link-once ---- */

static void c_claim_s1(void *ctx)
{
	world *w = ctx;
	CHECK(rs_claim_recent(w->c, 1));
}

/* The actor copies S:1, still in new/, to D; between the look that finds
 * the file in new/ and the link, C claims \Recent and moves it to cur/. */
static rs_err link_once_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "D");
	w.c = fixture_open(&w.f, "S", &(rs_options){.pid = 300});
	deliver(w.a, "m", 0);
	REQUIRE(rs_sync(w.c, false) == RS_OK);
	rs_mailbox *dst = fixture_open(&w.f, "D", &(rs_options){.pid = 100,
							       .mutants = mutants});
	w.il = (interleave){.trigger = "/S/new/", .call = RS_FS_LINK,
			    .action = c_claim_s1, .ctx = &w};
	cm_uidset one = set_of("1");
	rs_copy_result r = {0};
	rs_err err = rs_copy(w.a, dst, &one, &r);
	CHECK(w.il.fired);
	rs_sync(w.b, false);
	if (err == RS_OK)
		CHECK(rs_count(w.b) == 1 && strcmp(msg_id(w.b, 1), "m") == 0);
	rs_copy_result_free(&r);
	cm_uidset_free(&one);
	rs_close(dst);
	world_free(&w);
	return err;
}

static void t_copy_link_once(void)
{
	CHECK_EQ(link_once_run(0), RS_OK);
	CHECK_EQ(link_once_run(RS_MUTANT_COPY_LINK_ONCE), RS_ECORRUPT);
}

/* ---- deliver-rename-late ---- */

static void b_read_s1(void *ctx)
{
	read_ctx *rc = ctx;
	cm_buf b = {0};
	REQUIRE(rs_sync(rc->w->b, false) == RS_OK);
	rc->got = rs_fetch_body(rc->w->b, 1, &b, NULL);
	cm_buf_free(&b);
}

/* B reads UID 1 when the actor's delivery renames its file into new/. */
static rs_err rename_late_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "S");
	read_ctx rc = {&w, RS_OK};
	w.il = (interleave){.trigger = "/S/tmp/", .call = RS_FS_RENAME,
			    .action = b_read_s1, .ctx = &rc};
	deliver(w.a, "m", 0);
	CHECK(w.il.fired);
	cm_buf b = {0};
	REQUIRE(rs_sync(w.b, false) == RS_OK);
	CHECK_EQ(rs_fetch_body(w.b, 1, &b, NULL), RS_OK);
	cm_buf_free(&b);
	world_free(&w);
	return rc.got;
}

static void t_deliver_rename_late(void)
{
	/* Correct: no UID before the file is in new/. */
	CHECK_EQ(rename_late_run(0), RS_ENOENT);
	CHECK_EQ(rename_late_run(RS_MUTANT_DELIVER_RENAME_LATE), RS_ECORRUPT);
}

/* ---- expunge-unlink-first ---- */

/* B reads UID 1 right after the actor's expunge unlinked its file. */
static rs_err unlink_first_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "S");
	deliver(w.a, "m", CM_FLAG_DELETED);
	REQUIRE(rs_sync(w.b, false) == RS_OK);
	read_ctx rc = {&w, RS_OK};
	w.il = (interleave){.trigger = "/S/new", .call = RS_FS_FSYNC_DIR,
			    .action = b_read_s1, .ctx = &rc};
	cm_uidset one = set_of("1"), gone = {0};
	REQUIRE(rs_expunge(w.a, &one, &gone, NULL) == RS_OK);
	CHECK(w.il.fired);
	CHECK(cm_uidset_contains(&gone, 1));
	cm_uidset_free(&one);
	cm_uidset_free(&gone);
	world_free(&w);
	return rc.got;
}

static void t_expunge_unlink_first(void)
{
	/* Correct: the expunge is committed before the file goes. */
	CHECK_EQ(unlink_first_run(0), RS_ENOENT);
	CHECK_EQ(unlink_first_run(RS_MUTANT_EXPUNGE_UNLINK_FIRST), RS_ECORRUPT);
}

/* ---- deliver-sync-late ---- */

/* The power goes as a delivery is about to fsync new/ (the correct store
 * does that before its UID line, the mutant after its commit); on
 * restart, a fresh handle reads UID 1. */
static rs_err sync_late_run(unsigned mutants)
{
	world w;
	world_init(&w, mutants, "S", "S");
	w.il = (interleave){.trigger = "/S/new", .call = RS_FS_FSYNC_DIR, .down = true};
	uint32_t uid = 0;
	rs_err err = rs_append(w.a, "m\r\n", 3, 0, &uid, NULL);
	CHECK(w.il.fired);
	CHECK(err != RS_OK); /* nothing after the power cut is acknowledged */
	rs_memfs_set_hook(w.f.fs, NULL, NULL);
	rs_memfs_crash(w.f.fs, 0);
	rs_mailbox *fresh = fixture_open(&w.f, "S", &(rs_options){.pid = 300});
	cm_buf b = {0};
	err = rs_sync(fresh, false);
	if (err == RS_OK)
		err = rs_fetch_body(fresh, 1, &b, NULL);
	cm_buf_free(&b);
	rs_close(fresh);
	world_free(&w);
	return err;
}

static void t_deliver_sync_late(void)
{
	/* Correct: the UID line comes after the fsync, so no UID is left. */
	CHECK_EQ(sync_late_run(0), RS_ENOENT);
	CHECK_EQ(sync_late_run(RS_MUTANT_DELIVER_SYNC_LATE), RS_ECORRUPT);
}

static void t_names(void)
{
	const char *const *names = rs_mutant_names();
	int n = 0;
	for (; names[n] != NULL; n++)
		CHECK_STR(rs_mutant_name(rs_mutant_parse(names[n])), names[n]);
	CHECK_EQ(n, 17);
	CHECK_EQ(rs_mutant_parse("nope"), 0);
}

int main(void)
{
	RUN(t_names);
	RUN(t_unchangedsince_stale);
	RUN(t_flags_last_writer);
	RUN(t_deliver_nolock);
	RUN(t_copy_visible_early);
	RUN(t_move_rename);
	RUN(t_modseq_reset);
	RUN(t_deliver_unsynced);
	RUN(t_flags_read_unlocked);
	RUN(t_copy_link_once);
	RUN(t_deliver_rename_late);
	RUN(t_expunge_unlink_first);
	RUN(t_deliver_sync_late);
	TEST_EXIT();
}
