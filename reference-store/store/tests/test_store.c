/* Operations of the reference store and their invariants (sections A, C, D,
 * E, G, H of shared/invariants.md), on both file systems. */
#include "rs_testutil.h"

static void t_append_and_status(fixture *f)
{
	rs_mailbox *mb = fixture_mailbox(f, "INBOX", NULL);
	rs_status st;
	REQUIRE(rs_status_get(mb, &st) == RS_OK);
	CHECK_EQ(st.messages, 0);
	CHECK_EQ(st.uidnext, 1);
	uint32_t uv = st.uidvalidity;
	CHECK(uv > 0);
	uint64_t prev = st.highestmodseq;
	CHECK(prev == 0);
	for (uint32_t i = 1; i <= 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "m%u", i);
		uint32_t uid = deliver(mb, id, i == 3 ? CM_FLAG_SEEN : 0);
		CHECK_EQ(uid, i); /* UID-ORDER-GLOBAL on one writer */
		const rs_msg *m = rs_msg_find(mb, uid);
		REQUIRE(m != NULL);
		CHECK(m->modseq > prev); /* MODSEQ-ON-APPEND */
		CHECK(m->modseq >= 1 && m->modseq < (1ull << 63)); /* MODSEQ-POSITIVE */
		prev = m->modseq;
	}
	REQUIRE(rs_status_get(mb, &st) == RS_OK);
	CHECK_EQ(st.messages, 5);
	CHECK_EQ(st.uidnext, 6);
	CHECK_EQ(st.uidvalidity, uv);
	CHECK_EQ(st.recent, 5); /* new mail reads as new (docs/design.md#delivery) */
	CHECK_EQ(st.unseen, 4);
	CHECK_EQ(st.highestmodseq, prev);
	CHECK_STR(msg_id(mb, 3), "m3");
	CHECK(rs_msg_find(mb, 3)->flags == CM_FLAG_SEEN);
	/* Exactly one claimer gets \Recent. */
	rs_mailbox *other = fixture_open(f, "INBOX", &(rs_options){.pid = 77777});
	CHECK(rs_claim_recent(mb, 2));
	REQUIRE(rs_sync(other, false) == RS_OK);
	CHECK(!rs_claim_recent(other, 2));
	CHECK(rs_claim_recent(other, 4));
	CHECK_STR(msg_id(mb, 2), "m2"); /* found in cur/ now */
	REQUIRE(rs_status_get(mb, &st) == RS_OK);
	CHECK_EQ(st.recent, 3);
	rs_close(other);
	rs_close(mb);
}

static void t_store(fixture *f)
{
	rs_mailbox *mb = fixture_mailbox(f, "INBOX", NULL);
	for (int i = 0; i < 4; i++)
		deliver(mb, "s", 0);
	rs_store_result res = {0};
	cm_uidset all = set_of("1:4"), two = set_of("2,3"), none = set_of("7:9");
	cm_flags junk = flag("$Junk");

	REQUIRE(rs_store(mb, &all, RS_STORE_ADD, CM_FLAG_SEEN, -1, &res) == RS_OK);
	uint64_t m1 = res.modseq;
	CHECK_EQ(cm_uidset_count(&res.changed), 4);
	for (uint32_t u = 1; u <= 4; u++) {
		CHECK(rs_msg_find(mb, u)->flags == CM_FLAG_SEEN);
		CHECK_EQ(rs_msg_find(mb, u)->modseq, m1); /* one modseq per command */
	}
	/* A STORE that changes nothing bumps nothing. */
	uint64_t highestmodseq = rs_highestmodseq(mb);
	REQUIRE(rs_store(mb, &all, RS_STORE_ADD, CM_FLAG_SEEN, -1, &res) == RS_OK);
	CHECK_EQ(res.modseq, 0);
	CHECK_EQ(cm_uidset_count(&res.changed), 0);
	CHECK_EQ(rs_highestmodseq(mb), highestmodseq);

	REQUIRE(rs_store(mb, &two, RS_STORE_ADD, junk | CM_FLAG_FLAGGED, -1, &res) == RS_OK);
	uint64_t m2 = res.modseq;
	CHECK(m2 > m1); /* MODSEQ-STORE-UNIQUE, MODSEQ-MONO */
	CHECK(rs_msg_find(mb, 2)->flags == (CM_FLAG_SEEN | CM_FLAG_FLAGGED | junk));
	REQUIRE(rs_store(mb, &two, RS_STORE_REMOVE, CM_FLAG_SEEN, -1, &res) == RS_OK);
	CHECK(rs_msg_find(mb, 3)->flags == (CM_FLAG_FLAGGED | junk));
	REQUIRE(rs_store(mb, &all, RS_STORE_REPLACE, CM_FLAG_DRAFT, -1, &res) == RS_OK);
	for (uint32_t u = 1; u <= 4; u++)
		CHECK(rs_msg_find(mb, u)->flags == CM_FLAG_DRAFT);
	uint64_t m4 = res.modseq;

	/* UNCHANGEDSINCE: message 1 is changed again, then a conditional
	 * store with the old modseq must leave it and report MODIFIED. */
	cm_uidset one = set_of("1");
	REQUIRE(rs_store(mb, &one, RS_STORE_ADD, CM_FLAG_ANSWERED, -1, &res) == RS_OK);
	REQUIRE(rs_store(mb, &all, RS_STORE_ADD, CM_FLAG_SEEN, (int64_t)m4, &res) == RS_OK);
	CHECK(cm_uidset_contains(&res.modified, 1));
	CHECK_EQ(cm_uidset_count(&res.modified), 1);
	CHECK_EQ(cm_uidset_count(&res.changed), 3);
	CHECK(!(rs_msg_find(mb, 1)->flags & CM_FLAG_SEEN));
	CHECK(rs_msg_find(mb, 2)->modseq > m4); /* UNCHANGEDSINCE-ACCEPT */
	/* UNCHANGEDSINCE 0 always fails. */
	REQUIRE(rs_store(mb, &all, RS_STORE_ADD, CM_FLAG_FLAGGED, 0, &res) == RS_OK);
	CHECK_EQ(cm_uidset_count(&res.modified), 4);
	CHECK_EQ(res.modseq, 0);
	/* UIDs that do not exist affect nothing (UID-NONEXISTENT-IGNORED). */
	highestmodseq = rs_highestmodseq(mb);
	REQUIRE(rs_store(mb, &none, RS_STORE_ADD, CM_FLAG_FLAGGED, -1, &res) == RS_OK);
	CHECK_EQ(rs_highestmodseq(mb), highestmodseq);

	/* Another handle sees exactly the same state (lock-free read). */
	rs_mailbox *r = fixture_open(f, "INBOX", &(rs_options){.pid = 4242});
	for (uint32_t u = 1; u <= 4; u++) {
		CHECK(rs_msg_find(r, u)->flags == rs_msg_find(mb, u)->flags);
		CHECK_EQ(rs_msg_find(r, u)->modseq, rs_msg_find(mb, u)->modseq);
	}
	rs_close(r);
	rs_store_result_free(&res);
	cm_uidset_free(&all);
	cm_uidset_free(&two);
	cm_uidset_free(&none);
	cm_uidset_free(&one);
	rs_close(mb);
}

static void t_expunge(fixture *f)
{
	rs_mailbox *mb = fixture_mailbox(f, "INBOX", NULL);
	for (int i = 0; i < 6; i++)
		deliver(mb, "e", 0);
	cm_uidset del = set_of("2,4,6"), ex = {0}, some = set_of("1:4");
	cm_uidset changed = {0}, vanished = {0};
	rs_store_result res = {0};
	REQUIRE(rs_store(mb, &del, RS_STORE_ADD, CM_FLAG_DELETED, -1, &res) == RS_OK);
	uint64_t before = rs_highestmodseq(mb), em;
	/* UID EXPUNGE: only \Deleted messages in its set. */
	REQUIRE(rs_expunge(mb, &some, &ex, &em) == RS_OK);
	cm_buf b = {0};
	cm_uidset_format(&b, &ex);
	CHECK_STR(b.data, "2,4");
	CHECK(em > before); /* EXPUNGE-MODSEQ */
	CHECK_EQ(rs_highestmodseq(mb), em);
	CHECK(rs_msg_find(mb, 6) != NULL);
	CHECK_EQ(rs_count(mb), 4);
	/* EXPUNGE: every \Deleted message. */
	REQUIRE(rs_expunge(mb, NULL, &ex, &em) == RS_OK);
	CHECK_EQ(cm_uidset_count(&ex), 1);
	CHECK(rs_msg_find(mb, 6) == NULL);
	/* QRESYNC: expunges since a modseq. */
	REQUIRE(rs_changes_since(mb, before, &changed, &vanished) == RS_OK);
	cm_buf_clear(&b);
	cm_uidset_format(&b, &vanished);
	CHECK_STR(b.data, "2,4,6");
	CHECK_EQ(changed.n, 0);
	/* UIDs are never reused (UID-NO-REUSE, UIDNEXT-MONO). */
	CHECK_EQ(deliver(mb, "after", 0), 7);
	rs_status st;
	REQUIRE(rs_status_get(mb, &st) == RS_OK);
	CHECK_EQ(st.uidnext, 8);
	CHECK_EQ(st.messages, 4);
	/* Expunging nothing bumps nothing. */
	before = rs_highestmodseq(mb);
	REQUIRE(rs_expunge(mb, NULL, &ex, &em) == RS_OK);
	CHECK_EQ(rs_highestmodseq(mb), before);
	cm_buf_free(&b);
	cm_uidset_free(&del);
	cm_uidset_free(&ex);
	cm_uidset_free(&some);
	cm_uidset_free(&changed);
	cm_uidset_free(&vanished);
	rs_store_result_free(&res);
	rs_close(mb);
}

static void t_copy_move(fixture *f)
{
	rs_mailbox *a = fixture_mailbox(f, "A", NULL);
	rs_mailbox *b = fixture_mailbox(f, "B", NULL);
	deliver(a, "a1", CM_FLAG_FLAGGED);
	deliver(a, "a2", 0);
	deliver(a, "a3", CM_FLAG_SEEN);
	deliver(b, "b1", 0);
	cm_uidset s = set_of("1,3,9");
	rs_copy_result res = {0};
	uint64_t idate_src, idate_dst;
	cm_buf body = {0};
	REQUIRE(rs_copy(a, b, &s, &res) == RS_OK);
	cm_buf t = {0};
	cm_uidset_format(&t, &res.src);
	CHECK_STR(t.data, "1,3");
	cm_buf_clear(&t);
	cm_uidset_format(&t, &res.dst);
	CHECK_STR(t.data, "2:3"); /* COPYUID-CONSISTENT: ascending, new */
	CHECK_EQ(res.dst_uidvalidity, rs_uidvalidity(b));
	CHECK_STR(msg_id(b, 2), "a1");
	CHECK_STR(msg_id(b, 3), "a3");
	CHECK(rs_msg_find(b, 2)->flags == CM_FLAG_FLAGGED); /* flags kept */
	REQUIRE(rs_fetch_body(a, 1, &body, &idate_src) == RS_OK);
	REQUIRE(rs_fetch_body(b, 2, &body, &idate_dst) == RS_OK);
	CHECK_EQ(idate_src, idate_dst); /* internal date kept */
	CHECK_EQ(rs_count(a), 3);
	/* A reader of B sees the copies at once. */
	rs_mailbox *rb = fixture_open(f, "B", &(rs_options){.pid = 999});
	CHECK_EQ(rs_count(rb), 3);

	cm_uidset m = set_of("2:3");
	REQUIRE(rs_move(a, b, &m, &res) == RS_OK);
	cm_buf_clear(&t);
	cm_uidset_format(&t, &res.dst);
	CHECK_STR(t.data, "4:5");
	CHECK(res.expunge_modseq > 0);
	CHECK_EQ(rs_count(a), 1);
	REQUIRE(rs_sync(rb, false) == RS_OK);
	CHECK_EQ(rs_count(rb), 5);
	CHECK_STR(msg_id(rb, 4), "a2");
	CHECK_STR(msg_id(rb, 5), "a3");
	CHECK(rs_msg_find(rb, 5)->flags == CM_FLAG_SEEN);
	/* MOVE into the same mailbox is refused; COPY of nothing is fine. */
	CHECK_EQ(rs_move(a, a, &m, &res), RS_EINVAL);
	REQUIRE(rs_copy(a, b, &m, &res) == RS_OK);
	CHECK_EQ(res.src.n, 0);
	rs_close(rb);
	cm_buf_free(&t);
	cm_buf_free(&body);
	cm_uidset_free(&s);
	cm_uidset_free(&m);
	rs_copy_result_free(&res);
	rs_close(a);
	rs_close(b);
}

static void t_rotation_and_rebuild(fixture *f)
{
	rs_options o = {.log_rotate_bytes = 2048};
	rs_mailbox *mb = fixture_mailbox(f, "INBOX", &o);
	rs_mailbox *reader = fixture_open(f, "INBOX", &(rs_options){.pid = 31337});
	cm_uidset one = set_of("1");
	rs_store_result res = {0};
	for (int i = 0; i < 10; i++)
		deliver(mb, "r", 0);
	uint64_t seen = rs_highestmodseq(mb);
	/* Enough stores to rotate several times. */
	for (int i = 0; i < 200; i++) {
		REQUIRE(rs_store(mb, &one, i % 2 ? RS_STORE_REMOVE : RS_STORE_ADD,
				 CM_FLAG_SEEN, -1, &res) == RS_OK);
		CHECK(res.modseq > seen); /* MODSEQ-REBUILD-MONO across rotation */
		seen = res.modseq;
		REQUIRE(rs_sync(reader, false) == RS_OK);
		CHECK_EQ(rs_highestmodseq(reader), seen);
	}
	CHECK(rs_get_stats(mb)->rotations >= 2);
	cm_uidset del = set_of("3");
	REQUIRE(rs_store(mb, &del, RS_STORE_ADD, CM_FLAG_DELETED, -1, &res) == RS_OK);
	REQUIRE(rs_expunge(mb, NULL, NULL, NULL) == RS_OK);
	REQUIRE(rs_rotate_log(mb) == RS_OK);
	seen = rs_highestmodseq(mb);
	CHECK_EQ(rs_count(mb), 9);
	uint32_t uv = rs_uidvalidity(mb);
	rs_close(mb);
	rs_close(reader);

	/* Index loss: the log disappears; rebuild keeps UIDs and raises
	 * every modseq above anything reported before. */
	REQUIRE(f->fs->ops->unlink(f->fs, fixture_path(f, "INBOX/ratchet-log")) == 0);
	mb = fixture_open(f, "INBOX", &o);
	CHECK_EQ(rs_get_stats(mb)->rebuilds, 1);
	CHECK_EQ(rs_count(mb), 9);
	CHECK_EQ(rs_uidvalidity(mb), uv);
	CHECK(rs_msg_find(mb, 3) == NULL);
	CHECK(rs_highestmodseq(mb) > seen);
	for (size_t i = 0; i < rs_count(mb); i++)
		CHECK(rs_msg_at(mb, i)->modseq > seen);
	/* QRESYNC after a rebuild: the forgotten expunge is still reported. */
	cm_uidset changed = {0}, vanished = {0};
	REQUIRE(rs_changes_since(mb, seen, &changed, &vanished) == RS_OK);
	CHECK(cm_uidset_contains(&vanished, 3));
	CHECK_EQ(cm_uidset_count(&changed), 9);
	CHECK_EQ(deliver(mb, "post", 0), 11);
	cm_uidset_free(&changed);
	cm_uidset_free(&vanished);
	cm_uidset_free(&one);
	cm_uidset_free(&del);
	rs_store_result_free(&res);
	rs_close(mb);
}

static void t_stale_lock(fixture *f)
{
	rs_mailbox *mb = fixture_mailbox(f, "INBOX", NULL);
	/* A lock left by a process that no longer exists. */
	const char *lock = fixture_path(f, "INBOX/ratchet-uidlist.lock");
	const char *content = "999999999 localhost 999999999.1.1\n";
	if (f->mem) {
		rs_memfs_write_file(f->fs, lock, content, strlen(content));
		/* In memory every pid is alive unless told otherwise. */
	} else {
		FILE *fp = fopen(lock, "w");
		REQUIRE(fp != NULL);
		fputs(content, fp);
		fclose(fp);
	}
	if (!f->mem) {
		deliver(mb, "after-stale", 0);
		CHECK_EQ(rs_get_stats(mb)->lock_breaks, 1);
	}
	rs_close(mb);
}

static int dead_pid(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid == 999999999u ? 0 : 1;
}

static void t_stale_lock_mem(void)
{
	fixture f;
	fixture_init(&f, true);
	rs_memfs_set_pid_alive(f.fs, dead_pid, NULL);
	rs_mailbox *mb = fixture_mailbox(&f, "INBOX", NULL);
	const char *lock = fixture_path(&f, "INBOX/ratchet-uidlist.lock");
	const char *content = "999999999 localhost 999999999.1.1\n";
	rs_memfs_write_file(f.fs, lock, content, strlen(content));
	deliver(mb, "after-stale", 0);
	CHECK_EQ(rs_get_stats(mb)->lock_breaks, 1);
	/* A live holder is never broken: the lock times out instead. */
	rs_memfs_write_file(f.fs, lock, "5 localhost 5.1.1\n", 18);
	rs_mailbox *mb2 = fixture_open(&f, "INBOX", &(rs_options){
		.pid = 6, .lock_timeout_ns = 50000000});
	char msg[] = "X: y\r\n\r\n";
	CHECK_EQ(rs_append(mb2, msg, sizeof(msg) - 1, 0, NULL, NULL), RS_ELOCKED);
	rs_close(mb2);
	rs_close(mb);
	fixture_free(&f);
}

static void for_both(void (*fn)(fixture *), const char *name)
{
	for (int mem = 1; mem >= 0; mem--) {
		fixture f;
		fixture_init(&f, mem);
		int before = cm_test_failures;
		fn(&f);
		fprintf(stderr, "%s %s (%s)\n", cm_test_failures == before ? "ok  " : "FAIL",
			name, mem ? "memfs" : "posix");
		fixture_free(&f);
	}
}

int main(void)
{
	for_both(t_append_and_status, "append_and_status");
	for_both(t_store, "store");
	for_both(t_expunge, "expunge");
	for_both(t_copy_move, "copy_move");
	for_both(t_rotation_and_rebuild, "rotation_and_rebuild");
	for_both(t_stale_lock, "stale_lock");
	RUN(t_stale_lock_mem);
	TEST_EXIT();
}
