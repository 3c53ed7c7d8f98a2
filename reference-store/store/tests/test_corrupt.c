/* Recovery on open: torn tails, a UID list or log that is missing, garbled
 * or out of order. Every case ends repaired or in a clear error, and
 * random damage never crashes the store. */
#include "rs_testutil.h"

static const char *P(fixture *f, const char *rel)
{
	return fixture_path(f, rel);
}

static void put(fixture *f, const char *rel, const char *data, size_t len)
{
	REQUIRE(rs_memfs_write_file(f->fs, P(f, rel), data, len) == 0);
}

static void get(fixture *f, const char *rel, cm_buf *b)
{
	cm_buf_clear(b);
	REQUIRE(rs_memfs_read_file(f->fs, P(f, rel), b) == 0);
}

/* A mailbox with three messages, message 2 flagged, then closed. */
static void setup(fixture *f)
{
	fixture_init(f, true);
	rs_mailbox *mb = fixture_mailbox(f, "INBOX", NULL);
	deliver(mb, "m1", 0);
	deliver(mb, "m2", 0);
	deliver(mb, "m3", 0);
	cm_uidset two = set_of("2");
	rs_store_result r = {0};
	REQUIRE(rs_store(mb, &two, RS_STORE_ADD, CM_FLAG_FLAGGED, -1, &r) == RS_OK);
	rs_store_result_free(&r);
	cm_uidset_free(&two);
	rs_close(mb);
}

static rs_err try_open(fixture *f, rs_mailbox **mb, char **why, bool repair)
{
	*why = NULL;
	return rs_open(f->fs, P(f, "INBOX"), &(rs_options){.repair = repair}, mb, why);
}

static bool intact(rs_mailbox *mb)
{
	return rs_count(mb) == 3 && strcmp(msg_id(mb, 1), "m1") == 0 &&
	       strcmp(msg_id(mb, 3), "m3") == 0;
}

static void t_log_torn_tail(void)
{
	fixture f;
	cm_buf b = {0};
	setup(&f);
	get(&f, "INBOX/ratchet-log", &b);
	size_t good = b.len;
	cm_buf_puts(&b, "F 1 +(\\Seen) -() 1234"); /* torn: no crc, no newline */
	put(&f, "INBOX/ratchet-log", b.data, b.len);
	rs_mailbox *mb;
	char *why;
	REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
	CHECK(intact(mb));
	CHECK(!(rs_msg_find(mb, 1)->flags & CM_FLAG_SEEN));
	CHECK(rs_get_stats(mb)->repairs >= 1);
	get(&f, "INBOX/ratchet-log", &b);
	CHECK_EQ(b.len, good);
	rs_close(mb);
	cm_buf_free(&b);
	fixture_free(&f);
}

static void t_log_durable_unterminated(void)
{
	fixture f;
	cm_buf b = {0};
	setup(&f);
	get(&f, "INBOX/ratchet-log", &b);
	/* A record fsynced by a writer that died before its newline. */
	const char *body = "F 1 +(\\Seen) -()";
	char rec[64];
	snprintf(rec, sizeof(rec), "%s %08x", body,
		 (unsigned)0); /* placeholder, replaced below */
	/* Build the correct checksum the same way the store does. */
	snprintf(rec, sizeof(rec), "%s %08x", body, rs_crc32(body, strlen(body)));
	cm_buf_puts(&b, rec);
	put(&f, "INBOX/ratchet-log", b.data, b.len);
	rs_mailbox *mb;
	char *why;
	REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
	CHECK(intact(mb));
	CHECK(rs_msg_find(mb, 1)->flags & CM_FLAG_SEEN);
	rs_close(mb);
	cm_buf_free(&b);
	fixture_free(&f);
}

/* A log that names UID 4294967295 leaves no UID to give: a delivery fails
 * cleanly (S1) rather than reuse it (the next UID used to wrap to 0). */
static void t_uids_exhausted(void)
{
	fixture f;
	cm_buf b = {0};
	setup(&f);
	get(&f, "INBOX/ratchet-log", &b);
	const char *body = "A 4294967295 1700000000.M1P1Q1.last ()";
	cm_buf_printf(&b, "%s %08x\n", body, rs_crc32(body, strlen(body)));
	put(&f, "INBOX/ratchet-log", b.data, b.len);
	rs_mailbox *mb;
	char *why;
	REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
	CHECK_EQ(rs_count(mb), 4);
	uint32_t uid = 0;
	CHECK_EQ(rs_append(mb, "x", 1, 0, &uid, NULL), RS_EFAIL);
	CHECK(strstr(rs_last_error(mb), "out of UIDs") != NULL);
	CHECK_EQ(rs_count(mb), 4);
	CHECK(strcmp(msg_id(mb, 1), "m1") == 0);
	rs_close(mb);
	cm_buf_free(&b);
	fixture_free(&f);
}

static void t_log_garbage_rebuilds(void)
{
	fixture f;
	cm_buf b = {0};
	setup(&f);
	rs_mailbox *mb = fixture_open(&f, "INBOX", NULL);
	uint64_t before = rs_highestmodseq(mb);
	rs_close(mb);
	get(&f, "INBOX/ratchet-log", &b);
	char *second = memchr(b.data, '\n', b.len);
	REQUIRE(second != NULL);
	second[3] ^= 0x55; /* flip a byte in the first record */
	put(&f, "INBOX/ratchet-log", b.data, b.len);
	char *why;
	REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
	CHECK(intact(mb));
	CHECK_EQ(rs_get_stats(mb)->rebuilds, 1);
	CHECK(rs_highestmodseq(mb) > before);
	CHECK(strstr(rs_last_error(mb), "rebuilt") != NULL);
	rs_close(mb);
	/* A garbled header too. */
	put(&f, "INBOX/ratchet-log", "RLOG9 x\n", 8);
	REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
	CHECK(intact(mb));
	rs_close(mb);
	cm_buf_free(&b);
	fixture_free(&f);
}

static void t_uidlist_damage(void)
{
	static const char *const bad[] = {
		"", "V1\n", "V2 1 1 1\n", "V1 0 1 1\n", "garbage",
		"V1 5 4 9\n1 a\nxx b\n", "V1 5 4 9\n1 a/b\n",
		"V1 5 4 99999999999999999999\n",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(bad); i++) {
		fixture f;
		setup(&f);
		put(&f, "INBOX/ratchet-uidlist", bad[i], strlen(bad[i]));
		rs_mailbox *mb;
		char *why;
		/* The log knows every live UID: the list is regenerated. */
		REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
		CHECK(intact(mb));
		CHECK(rs_get_stats(mb)->repairs >= 1);
		CHECK_EQ(deliver(mb, "m4", 0), 4);
		rs_close(mb);
		fixture_free(&f);
	}
}

static void t_uidlist_out_of_order(void)
{
	rs_uidlist ul;
	const char *why;
	const char *text = "V1 7 3 9\n5 e\n2 b\n9 x\n2 c\n7 g";
	REQUIRE(rs_uidlist_parse(text, strlen(text), &ul, &why) == RS_OK);
	CHECK_EQ(ul.n, 3);                 /* 2 (rebound to c), 5, 9 */
	CHECK_EQ(ul.e[0].uid, 2);
	CHECK_STR(ul.e[0].name, "c");
	CHECK_EQ(ul.e[2].uid, 9);
	CHECK_EQ(ul.anomalies, 2);
	CHECK_EQ(ul.nextuid, 10);
	CHECK_EQ(ul.valid_len, strlen(text) - 3); /* "7 g" is torn */
	rs_uidlist_free(&ul);
	/* The scan without entries counts and ends the same. */
	REQUIRE(rs_uidlist_scan(text, strlen(text), &ul, &why) == RS_OK);
	CHECK_EQ(ul.n, 0);
	CHECK_EQ(ul.anomalies, 2);
	CHECK_EQ(ul.nextuid, 10);
	CHECK_EQ(ul.valid_len, strlen(text) - 3);
	rs_uidlist_free(&ul);
}

static void t_both_lost(void)
{
	fixture f;
	setup(&f);
	rs_mailbox *mb = fixture_open(&f, "INBOX", NULL);
	uint32_t uv = rs_uidvalidity(mb);
	rs_close(mb);
	REQUIRE(f.fs->ops->unlink(f.fs, P(&f, "INBOX/ratchet-log")) == 0);
	put(&f, "INBOX/ratchet-uidlist", "junk", 4);
	char *why;
	CHECK_EQ(try_open(&f, &mb, &why, false), RS_ECORRUPT);
	CHECK(why != NULL && strstr(why, "repair") != NULL);
	free(why);
	/* With repair: renumbered under a new UIDVALIDITY. */
	REQUIRE(try_open(&f, &mb, &why, true) == RS_OK);
	CHECK_EQ(rs_count(mb), 3);
	CHECK(rs_uidvalidity(mb) != uv);
	rs_close(mb);
	fixture_free(&f);
}

static void t_leftovers(void)
{
	fixture f;
	setup(&f);
	/* A dead delivery's tmp file, an uncommitted copy (UID line, file in
	 * new/, no log record) and a foreign drop (file only). */
	put(&f, "INBOX/tmp/1.M1P424242Q1.localhost", "x", 1);
	cm_buf b = {0};
	get(&f, "INBOX/ratchet-uidlist", &b);
	cm_buf_puts(&b, "4 1.M1P55Q9.localhost\n");
	put(&f, "INBOX/ratchet-uidlist", b.data, b.len);
	put(&f, "INBOX/new/1.M1P55Q9.localhost", "X-Ratchet-Id: half\r\n\r\n", 22);
	put(&f, "INBOX/new/2.M2P66Q1.localhost", "X-Ratchet-Id: drop\r\n\r\n", 22);
	rs_memfs_set_pid_alive(f.fs, NULL, NULL);
	rs_mailbox *mb;
	char *why;
	REQUIRE(try_open(&f, &mb, &why, false) == RS_OK);
	CHECK_EQ(rs_count(mb), 4);
	CHECK_STR(msg_id(mb, 5), "drop"); /* adopted above the spent UID 4 */
	CHECK(rs_msg_find(mb, 4) == NULL);
	CHECK_EQ(rs_get_stats(mb)->adopted, 1);
	rs_fs_stat st;
	CHECK(f.fs->ops->stat(f.fs, P(&f, "INBOX/new/1.M1P55Q9.localhost"), &st) == -ENOENT);
	rs_close(mb);
	cm_buf_free(&b);
	fixture_free(&f);
}

static int all_dead(void *ctx, uint32_t pid)
{
	(void)ctx;
	(void)pid;
	return 0;
}

/* Random damage to either file: open must never crash, and either works
 * or says why. */
static void t_random_damage(void)
{
	cm_rng rng;
	cm_rng_seed(&rng, 20261122);
	int ok = 0, failed = 0;
	for (int iter = 0; iter < 1500; iter++) {
		fixture f;
		setup(&f);
		rs_memfs_set_pid_alive(f.fs, all_dead, NULL);
		const char *file = cm_rng_below(&rng, 2) ? "INBOX/ratchet-log"
							 : "INBOX/ratchet-uidlist";
		cm_buf b = {0};
		get(&f, file, &b);
		int edits = 1 + (int)cm_rng_below(&rng, 4);
		for (int e = 0; e < edits && b.len > 0; e++) {
			size_t pos = cm_rng_below(&rng, b.len);
			switch (cm_rng_below(&rng, 4)) {
			case 0: b.data[pos] = (char)cm_rng_below(&rng, 256); break;
			case 1: b.len = pos; break;
			case 2: b.data[pos] = "\n 0:9()*+-=AFESTV"[cm_rng_below(&rng, 17)]; break;
			default: memmove(b.data + pos, b.data + pos + 1, b.len - pos - 1);
				 b.len--; break;
			}
		}
		put(&f, file, b.data, b.len);
		rs_mailbox *mb;
		char *why;
		rs_err err = try_open(&f, &mb, &why, iter % 2 == 0);
		if (err == RS_OK) {
			ok++;
			deliver(mb, "after", 0);
			REQUIRE(rs_sync(mb, true) == RS_OK);
			rs_close(mb);
		} else {
			failed++;
			CHECK(why != NULL && why[0] != '\0');
			free(why);
		}
		cm_buf_free(&b);
		fixture_free(&f);
	}
	fprintf(stderr, "random damage: %d opened, %d refused\n", ok, failed);
	CHECK(ok > 0);
}

/* The standard check value, and every length against the bytewise
 * definition (the fast path reads eight bytes at a time). */
static void t_crc32_vectors(void)
{
	CHECK(rs_crc32("123456789", 9) == 0xcbf43926u);
	char buf[64];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(buf); n++) {
		uint32_t c = 0xffffffffu;
		for (size_t i = 0; i < n; i++) {
			c ^= (unsigned char)buf[i];
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		}
		CHECK(rs_crc32(buf, n) == (c ^ 0xffffffffu));
	}
}

int main(void)
{
	RUN(t_crc32_vectors);
	RUN(t_log_torn_tail);
	RUN(t_log_durable_unterminated);
	RUN(t_uids_exhausted);
	RUN(t_log_garbage_rebuilds);
	RUN(t_uidlist_damage);
	RUN(t_uidlist_out_of_order);
	RUN(t_both_lost);
	RUN(t_leftovers);
	RUN(t_random_damage);
	TEST_EXIT();
}
