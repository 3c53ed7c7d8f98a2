/* The pure parts of the LMTP listener: the command parser (good and bad
 * lines, and mutations of good ones that must never crash and must give
 * a printable reason), the recipient rule, and the DATA decoder, fed in
 * every split of its input, with the message bound. */
#include "imapd_lmtp.h"

#include "cm_test.h"

static imapd_lmtp_cmd C;
static cm_err err;

static int parse(const char *s)
{
	return imapd_lmtp_parse(s, strlen(s), &C, &err);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void test_good_commands(void)
{
	static const struct { const char *line; imapd_lmtp_verb verb; const char *arg; } ok[] = {
		{"LHLO client.example", IMAPD_LMTP_LHLO, "client.example"},
		{"lhlo [127.0.0.1]", IMAPD_LMTP_LHLO, "[127.0.0.1]"},
		{"MAIL FROM:<>", IMAPD_LMTP_MAIL, ""},
		{"mail from:<a@b.example>", IMAPD_LMTP_MAIL, "a@b.example"},
		{"MAIL FROM: <a@b>", IMAPD_LMTP_MAIL, "a@b"},
		{"MAIL FROM:<a@b> BODY=8BITMIME SIZE=12", IMAPD_LMTP_MAIL, "a@b"},
		{"RCPT TO:<alice>", IMAPD_LMTP_RCPT, "alice"},
		{"Rcpt To:<alice+Work@x> NOTIFY=NEVER", IMAPD_LMTP_RCPT, "alice+Work@x"},
		{"RCPT TO:<@a,@b:alice@c>", IMAPD_LMTP_RCPT, "@a,@b:alice@c"},
		{"DATA", IMAPD_LMTP_DATA, ""}, {"data ", IMAPD_LMTP_DATA, ""},
		{"RSET", IMAPD_LMTP_RSET, ""}, {"NOOP", IMAPD_LMTP_NOOP, ""},
		{"NOOP anything at all", IMAPD_LMTP_NOOP, ""}, {"QUIT", IMAPD_LMTP_QUIT, ""},
		{"VRFY alice", IMAPD_LMTP_VRFY, ""}, {"HELO x", IMAPD_LMTP_HELO, ""},
		{"EHLO x", IMAPD_LMTP_HELO, ""}, {"EXPN list", IMAPD_LMTP_NOTIMPL, ""},
		{"HELP", IMAPD_LMTP_NOTIMPL, ""},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(ok); i++) {
		int r = parse(ok[i].line);
		if (r != IMAPD_LMTP_OK)
			fprintf(stderr, "not OK (%d, %s): %s\n", r, err.text, ok[i].line);
		CHECK_EQ(r, IMAPD_LMTP_OK);
		CHECK_EQ(C.verb, ok[i].verb);
		CHECK_STR(C.arg, ok[i].arg);
	}
	/* The longest path and domain allowed. */
	char line[600];
	memset(line, 'a', sizeof(line));
	memcpy(line, "RCPT TO:<", 9);
	snprintf(line + 9 + IMAPD_LMTP_PATH_MAX, 3, ">");
	CHECK_EQ(parse(line), IMAPD_LMTP_OK);
	CHECK_EQ(strlen(C.arg), IMAPD_LMTP_PATH_MAX);
	memset(line, 'd', sizeof(line));
	memcpy(line, "LHLO ", 5);
	line[5 + IMAPD_LMTP_DOMAIN_MAX] = '\0';
	CHECK_EQ(parse(line), IMAPD_LMTP_OK);
}

static void test_bad_commands(void)
{
	static const char *const unknown[] = {
		"", " ", "FOO", "DATAX", "MAILFROM:<a>", " DATA", "STARTTLS", "AUTH PLAIN",
		"BDAT 10 LAST", ("\x01" "ATA"), "DA\0A",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(unknown); i++) {
		CHECK_EQ(parse(unknown[i]), IMAPD_LMTP_UNKNOWN);
		CHECK_EQ(C.verb, IMAPD_LMTP_NONE);
	}
	static const char *const syntax[] = {
		"LHLO", "LHLO a b", "MAIL", "MAIL FROM:", "MAIL FROM:a@b", "MAIL TO:<a>",
		"MAIL FROM:<a b>", "MAIL FROM:<a", "MAIL FROM:<a>x", "MAIL FROM:<a<b>",
		"MAIL  FROM:<a>", "RCPT", "RCPT TO:<>", "RCPT TO:alice", "RCPT FROM:<a>",
		"RCPT TO:<al\x7fice>", "RCPT TO:<al\xc3\xa9>", "DATA now", "RSET x",
		"QUIT now", "VRFY", "NOOP \x01",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(syntax); i++) {
		int r = parse(syntax[i]);
		if (r != IMAPD_LMTP_SYNTAX)
			fprintf(stderr, "not a syntax error (%d): %s\n", r, syntax[i]);
		CHECK_EQ(r, IMAPD_LMTP_SYNTAX);
		CHECK(err.text[0] != '\0' && printable(err.text));
		CHECK_EQ(C.verb, IMAPD_LMTP_NONE);
	}
	CHECK_EQ(imapd_lmtp_parse("DATA\0", 5, &C, &err), IMAPD_LMTP_UNKNOWN);
	CHECK_EQ(imapd_lmtp_parse("RCPT TO:<a\0b>", 13, &C, &err), IMAPD_LMTP_SYNTAX);
	/* One byte over the path and domain bounds. */
	char line[600];
	memset(line, 'a', sizeof(line));
	memcpy(line, "RCPT TO:<", 9);
	snprintf(line + 9 + IMAPD_LMTP_PATH_MAX + 1, 3, ">");
	CHECK_EQ(parse(line), IMAPD_LMTP_SYNTAX);
	memset(line, 'd', sizeof(line));
	memcpy(line, "LHLO ", 5);
	line[5 + IMAPD_LMTP_DOMAIN_MAX + 1] = '\0';
	CHECK_EQ(parse(line), IMAPD_LMTP_SYNTAX);
}

/* Mutations of good lines: OK, UNKNOWN or SYNTAX, reasons printable,
 * an argument always within its bound (ASan watches the rest). */
static void test_mutations(void)
{
	static const char *const seeds[] = {
		"LHLO client.example", "MAIL FROM:<a@b> BODY=8BITMIME", "RCPT TO:<alice+x@y>",
		"DATA", "RSET", "NOOP x", "QUIT", "VRFY a", "RCPT TO:<@a,@b:c@d>",
	};
	static const char alphabet[] = " <>:@+.\"\\,=aZ09\r\n\t\x00\x7f\xff";
	cm_rng rng;
	cm_rng_seed(&rng, 7);
	char buf[128], mailbox[MODEL_NAME_MAX];
	for (int iter = 0; iter < 200000; iter++) {
		const char *s = seeds[cm_rng_below(&rng, CM_ARRAY_LEN(seeds))];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		for (int e = 1 + (int)cm_rng_below(&rng, 3); e > 0 && n > 0; e--) {
			size_t at = cm_rng_below(&rng, n);
			char c = alphabet[cm_rng_below(&rng, sizeof(alphabet) - 1)];
			if (cm_rng_below(&rng, 3) == 0)
				n = at;
			else if (cm_rng_below(&rng, 2) == 0 || n + 1 >= sizeof(buf))
				buf[at] = c;
			else {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
			}
		}
		int r = imapd_lmtp_parse(buf, n, &C, &err);
		CHECK(r == IMAPD_LMTP_OK || r == IMAPD_LMTP_UNKNOWN || r == IMAPD_LMTP_SYNTAX);
		CHECK(r == IMAPD_LMTP_OK || printable(err.text));
		CHECK(strlen(C.arg) <= IMAPD_LMTP_PATH_MAX);
		if (r == IMAPD_LMTP_OK && C.verb == IMAPD_LMTP_RCPT) {
			r = imapd_lmtp_recipient("alice", C.arg, mailbox);
			CHECK(r == IMAPD_LMTP_RCPT_OK || mailbox[0] == '\0');
		}
	}
}

static void test_recipients(void)
{
	static const struct { const char *user, *path; int r; const char *mailbox; } cases[] = {
		{"alice", "alice", IMAPD_LMTP_RCPT_OK, "INBOX"},
		{"alice", "alice@example.org", IMAPD_LMTP_RCPT_OK, "INBOX"},
		{"alice", "alice+Work", IMAPD_LMTP_RCPT_OK, "Work"},
		{"alice", "alice+Work@x", IMAPD_LMTP_RCPT_OK, "Work"},
		{"alice", "alice+inbox", IMAPD_LMTP_RCPT_OK, "inbox"},
		{"alice", "alice+a+b", IMAPD_LMTP_RCPT_OK, "a+b"},
		{"alice", "alice+a@b@c", IMAPD_LMTP_RCPT_OK, "a@b"},
		{"alice", "@a,@b:alice+x@c", IMAPD_LMTP_RCPT_OK, "x"},
		{"a+b", "a+b", IMAPD_LMTP_RCPT_OK, "INBOX"},
		{"a+b", "a+b+c@d", IMAPD_LMTP_RCPT_OK, "c"},
		{"alice", "Alice", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "alic", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "alicex", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "bob@alice", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "@a:", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "@a", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "", IMAPD_LMTP_RCPT_USER, ""},
		{"", "", IMAPD_LMTP_RCPT_USER, ""},
		{"alice", "alice+", IMAPD_LMTP_RCPT_MAILBOX, ""},
		{"alice", "alice+@x", IMAPD_LMTP_RCPT_MAILBOX, ""},
	};
	char mailbox[MODEL_NAME_MAX];
	for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
		int r = imapd_lmtp_recipient(cases[i].user, cases[i].path, mailbox);
		if (r != cases[i].r)
			fprintf(stderr, "%s for %s: %d\n", cases[i].path, cases[i].user, r);
		CHECK_EQ(r, cases[i].r);
		CHECK_STR(mailbox, cases[i].mailbox);
	}
	/* The longest mailbox name, and one byte more. */
	char path[MODEL_NAME_MAX + 16];
	memset(path, 'm', sizeof(path));
	memcpy(path, "alice+", 6);
	path[6 + MODEL_NAME_MAX - 1] = '\0';
	CHECK_EQ(imapd_lmtp_recipient("alice", path, mailbox), IMAPD_LMTP_RCPT_OK);
	CHECK_EQ(strlen(mailbox), MODEL_NAME_MAX - 1);
	path[6 + MODEL_NAME_MAX - 1] = 'm';
	path[6 + MODEL_NAME_MAX] = '\0';
	CHECK_EQ(imapd_lmtp_recipient("alice", path, mailbox), IMAPD_LMTP_RCPT_MAILBOX);
}

/* ---- DATA ---- */

/* Decodes in pieces of at most `piece` bytes; returns the bytes consumed
 * (the stream after the final dot is the caller's). */
static size_t decode(const char *in, size_t n, size_t max, size_t piece, cm_buf *msg,
		     imapd_lmtp_data *d)
{
	size_t off = 0;
	cm_buf_clear(msg);
	imapd_lmtp_data_start(d, max);
	while (off < n && !d->done) {
		size_t k = CM_MIN(piece, n - off);
		size_t used = imapd_lmtp_data_feed(d, in + off, k, msg);
		CHECK(used == k || d->done);
		off += used;
	}
	CHECK_EQ(imapd_lmtp_data_feed(d, "x", 1, msg), d->done ? 0 : 1);
	return off;
}

static void test_data(void)
{
	static const struct { const char *in, *msg, *rest; } cases[] = {
		{".\r\n", "", ""},
		{"a\r\n.\r\nQUIT\r\n", "a\r\n", "QUIT\r\n"},
		{"..\r\n.\r\n", ".\r\n", ""},
		{"..x\r\n...\r\n.\r\n", ".x\r\n..\r\n", ""},
		{"a.\r\n.b\r\n.\r\n", "a.\r\nb\r\n", ""},
		{"a\n.\r\n.\r\n", "a\n.\r\n", ""},          /* a bare LF ends no line */
		{"a\r\n.\n.\r\n.\r\n", "a\r\n\n.\r\n", ""}, /* nor ". LF" the message */
		{".\rx\r\n.\r\n", "\rx\r\n", ""},
		{"a\r\r\n.\r\n", "a\r\r\n", ""},
		{"a\r\n\r\n.\r\nRSET\r\n", "a\r\n\r\n", "RSET\r\n"},
	};
	cm_buf msg = {0};
	imapd_lmtp_data d;
	for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
		size_t n = strlen(cases[i].in);
		for (size_t piece = 1; piece <= n; piece++) {
			size_t used = decode(cases[i].in, n, 1000, piece, &msg, &d);
			CHECK(d.done && !d.too_big);
			CHECK_EQ(d.total, msg.len);
			CHECK_STR(msg.data ? msg.data : "", cases[i].msg);
			CHECK_STR(cases[i].in + used, cases[i].rest);
		}
	}
	/* 8-bit bytes and NUL are message bytes like any other. */
	decode("\x00\xff\r\n.\r\n", 7, 1000, 2, &msg, &d);
	CHECK(d.done && msg.len == 4 && memcmp(msg.data, "\x00\xff\r\n", 4) == 0);
	cm_buf_free(&msg);
}

/* Over the bound: counted, not kept, and read to the final dot. */
static void test_data_bound(void)
{
	static const char in[] = "0123456789\r\n..abc\r\n.\r\nQUIT\r\n";
	cm_buf msg = {0};
	imapd_lmtp_data d;
	for (size_t piece = 1; piece < sizeof(in); piece++) {
		size_t used = decode(in, sizeof(in) - 1, 12, piece, &msg, &d);
		CHECK(d.done && d.too_big);
		CHECK_EQ(d.total, 18);
		CHECK(msg.len <= 12);
		CHECK_STR(in + used, "QUIT\r\n");
		used = decode(in, sizeof(in) - 1, 18, piece, &msg, &d);
		CHECK(d.done && !d.too_big);
		CHECK_STR(msg.data, "0123456789\r\n.abc\r\n");
	}
	/* No final dot yet: everything consumed, not done. */
	size_t used = decode(in, 14, 1000, 5, &msg, &d);
	CHECK(!d.done);
	CHECK_EQ(used, 14);
	cm_buf_free(&msg);
	CHECK_EQ(IMAPD_LMTP_LINE_MAX, 4096);
	CHECK_EQ(IMAPD_LMTP_RCPT_MAX, 100);
	CHECK_EQ(IMAPD_LMTP_MESSAGE_MAX, 64 << 20);
}

int main(void)
{
	RUN(test_good_commands);
	RUN(test_bad_commands);
	RUN(test_mutations);
	RUN(test_recipients);
	RUN(test_data);
	RUN(test_data_bound);
	TEST_EXIT();
}
