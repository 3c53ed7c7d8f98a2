/* imapd on hostile input: bad commands are BAD (or untagged) with a
 * printable reason, mutations of good ones never crash, and a client is
 * held to small lines and slow logins before it logs in. */
#include "imapd_test.h"

static void test_bad_commands(void)
{
	static const char *const bad[] = {
		"a1", "a1 ", "a1 FOO", "a1 UID NOOP", "a1 UID", "a1 NOOP extra",
		"a1  NOOP", "a1 SELECT", "a1 SELECT \"unterminated", "a1 SELECT \"a\\b\"",
		"a1 SELECT \"a\001b\"", "a1 SELECT INBOX ()", "a1 SELECT INBOX (FOO)",
		"a1 SELECT INBOX (QRESYNC (0 1))", "a1 SELECT INBOX (QRESYNC (1))",
		"a1 SELECT INBOX (QRESYNC (1 99999999999999999999))",
		"a1 SELECT INBOX (CONDSTORE CONDSTORE)", "a1 FETCH 0 UID",
		"a1 FETCH 1 (BODY[1.2])", "a1 FETCH 1 ENVELOPE", "a1 FETCH 1 ALL",
		"a1 FETCH 1 (UID", "a1 FETCH 1 ()", "a1 FETCH 1 BODY", "a1 FETCH 1 (BODY[]<0.0>)",
		"a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS ()])", "a1 FETCH 1 UID (CHANGEDSINCE)",
		"a1 FETCH 1 UID (CHANGEDSINCE 1 CHANGEDSINCE 2)", "a1 FETCH 4294967296 UID",
		"a1 FETCH 1 (BODY[HEADER.FIELDS (a:b)])", "a1 SEARCH UNSEEN", "a1 SEARCH",
		"a1 STORE 1 FLAGS (\\Bogus)", "a1 STORE 1 FLAGS", "a1 STORE 1 XFLAGS (\\Seen)",
		"a1 STORE 1 (UNCHANGEDSINCE x) FLAGS ()", "a1 STORE 1 FLAGS (\\*)",
		"a1 APPEND INBOX {10}\r\nabc", "a1 APPEND INBOX {99999999999999999999}\r\n",
		"a1 APPEND INBOX abc", "a1 APPEND INBOX {0}\r\n",
		"a1 APPEND INBOX \"31-Feb-2000 00:00:00 +0000\" {1}\r\nx",
		"a1 APPEND INBOX (\\Seen {1}\r\nx", "a1 LOGIN onlyuser", "a1 LOGIN {2}\r\na",
		"a1 STATUS INBOX ()", "a1 STATUS INBOX (SIZE)", "a1 STATUS INBOX MESSAGES",
		"a1 AUTHENTICATE", "a1 AUTHENTICATE PLAIN !!", "a1 COPY 1", "a1 UID COPY x y",
		"a1 ENABLE", "a1 LIST \"\"", "a1 CREATE \"\"x", "a1 UID EXPUNGE",
		"a1 EXPUNGE 1",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(bad); i++) {
		int r = parse(bad[i]);
		if (r != IMAPD_PARSE_BAD)
			fprintf(stderr, "not BAD (%d): %s\n", r, bad[i]);
		CHECK_EQ(r, IMAPD_PARSE_BAD);
		CHECK(err.text[0] != '\0');
	}
	static const char *const notag[] = {"", "*", "+", "a+b NOOP", "(x NOOP",
					    "a\"b NOOP", " NOOP"};
	for (size_t i = 0; i < CM_ARRAY_LEN(notag); i++)
		CHECK_EQ(parse(notag[i]), IMAPD_PARSE_NOTAG);
	CHECK_EQ(parse_ctx("a FETCH * UID", 0), IMAPD_PARSE_BAD); /* empty mailbox */
	CHECK_EQ(imapd_parse("a\0b NOOP", 8, NULL, &C, &err), IMAPD_PARSE_NOTAG);
	CHECK_EQ(imapd_parse("a LOGIN {3}\r\na\0b c", 18, NULL, &C, &err),
		 IMAPD_PARSE_BAD);
	char tag[IMAPD_TAG_MAX + 10];
	memset(tag, 't', sizeof(tag));
	snprintf(tag + IMAPD_TAG_MAX + 2, 6, " NOOP");
	CHECK_EQ(parse(tag), IMAPD_PARSE_NOTAG);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Mutations of good commands: every result is OK, BAD or NOTAG, every
 * reason printable (it goes on the wire), nothing crashes or leaks (ASan). */
static void test_mutations(void)
{
	static const char *const seeds[] = {
		"a SELECT INBOX (QRESYNC (7 9 1:5,7 (1:3 4:6)))",
		"a UID STORE 1:3,5 (UNCHANGEDSINCE 12) +FLAGS.SILENT (\\Seen $Junk)",
		("a UID FETCH 1:* (UID FLAGS MODSEQ BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)] "
		 "BODY[]<1.5>) (CHANGEDSINCE 5 VANISHED)"),
		"a APPEND INBOX (\\Seen) \" 1-Jan-2000 00:00:00 +0000\" {5}\r\nX: y\n",
		"a LOGIN {3}\r\nabc \"d\\\"e\"", "a STATUS \"x\" (MESSAGES HIGHESTMODSEQ)",
		"a AUTHENTICATE PLAIN AHUAcA==", "a LIST \"\" \"%\"", "a UID MOVE 1:2 y",
	};
	static const char alphabet[] = " ()[]{}<>\"\\*%:,.+-019aZ\r\n\x00\x7f\xff";
	cm_rng rng;
	cm_rng_seed(&rng, 42);
	char buf[512];
	model_op op;
	model_op_init(&op, MODEL_OP_NONE);
	for (int iter = 0; iter < 200000; iter++) {
		const char *s = seeds[cm_rng_below(&rng, CM_ARRAY_LEN(seeds))];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		int edits = 1 + (int)cm_rng_below(&rng, 4);
		for (int e = 0; e < edits && n > 0; e++) {
			size_t at = cm_rng_below(&rng, n);
			char c = alphabet[cm_rng_below(&rng, sizeof(alphabet) - 1)];
			switch (cm_rng_below(&rng, 4)) {
			case 0: buf[at] = c; break;
			case 1: n = at; break;
			case 2:
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			default:
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			}
		}
		int r = imapd_parse(buf, n, NULL, &C, &err);
		CHECK(r == 0 || r == IMAPD_PARSE_BAD || r == IMAPD_PARSE_NOTAG);
		if (r != 0 && !printable(err.text)) {
			fprintf(stderr, "unprintable reason for %.*s\n", (int)n, buf);
			CHECK(false);
		}
		char tag[IMAPD_TAG_MAX];
		r = imapd_parse_command(buf, n, tag, sizeof(tag), &op, &err);
		CHECK(r == 0 || r == IMAPD_PARSE_BAD || r == IMAPD_PARSE_NOTAG);
	}
	model_op_free(&op);
}

/* Before login a client gets 4 KiB per command, whatever it announces
 * (before: a 64 MiB literal each, 65.6 MiB of RSS per connection), and
 * each failed login is answered later than the one before. */
static void test_limits(void)
{
	CHECK_EQ(imapd_line_limit(false), 4096);
	CHECK_EQ(imapd_line_limit(true), 64 << 10);
	CHECK(imapd_literal_fits(false, 20, 200, 1));
	CHECK(imapd_literal_fits(false, 96, 4000, 1));
	CHECK(!imapd_literal_fits(false, 97, 4000, 1));
	CHECK(!imapd_literal_fits(false, 20, (uint64_t)64 << 20, 1));
	CHECK(!imapd_literal_fits(false, 20, UINT64_MAX, 1));
	CHECK(imapd_literal_fits(true, 20, (uint64_t)64 << 20, 1));
	CHECK(!imapd_literal_fits(true, 20, ((uint64_t)64 << 20) + 1, 1));
	CHECK(!imapd_literal_fits(true, IMAPD_COMMAND_MAX, 1, 2));
	CHECK(!imapd_literal_fits(true, 20, 10, IMAPD_LITERALS_MAX + 1));
	CHECK(!imapd_literal_fits(true, 20, 10, 0));
	CHECK_EQ(imapd_auth_delay_ms(0), 0);
	CHECK_EQ(imapd_auth_delay_ms(1), 1000);
	CHECK_EQ(imapd_auth_delay_ms(2), 2000);
	CHECK_EQ(imapd_auth_delay_ms(3), 4000);
	CHECK(imapd_auth_delay_ms(UINT32_MAX) > imapd_auth_delay_ms(3));
	CHECK_EQ(IMAPD_AUTH_FAILS_MAX, 3);
	/* Every delay before the last failure fits in the login time. */
	unsigned total = 0;
	for (unsigned f = 1; f <= IMAPD_AUTH_FAILS_MAX; f++)
		total += imapd_auth_delay_ms(f);
	CHECK(total < IMAPD_PREAUTH_S * 1000);
}

int main(void)
{
	imapd_cmd_init(&C);
	RUN(test_bad_commands);
	/* Last: the mutations fill the process's keyword table. */
	RUN(test_mutations);
	RUN(test_limits);
	imapd_cmd_free(&C);
	TEST_EXIT();
}
