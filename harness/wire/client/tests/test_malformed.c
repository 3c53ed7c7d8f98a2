/* Hostile input: every malformed stream gives a one-line error naming what
 * and where, never a crash, an out-of-bounds read (run under ASan), a hang
 * or an allocation beyond the limits. */
#include "samples.h"

static int count_cb(void *ctx, const imapc_response *r)
{
	(void)r;
	(*(size_t *)ctx)++;
	return 0;
}

/* Parses and expects failure whose text contains want (NULL: any). */
static void expect_error(const char *in, size_t len, const imapc_limits *lim,
			 const char *want)
{
	cm_err e = {{0}};
	size_t n = 0;
	bool ok = imapc_parse_all(in, len, lim, count_cb, &n, &e);
	if (ok) {
		fprintf(stderr, "accepted: %.*s\n", (int)CM_MIN(len, 80), in);
		CHECK(!ok);
		return;
	}
	CHECK(strncmp(e.text, "imapc: ", 7) == 0);
	CHECK(strchr(e.text, '\n') == NULL);
	if (want != NULL && strstr(e.text, want) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", e.text, want);
		CHECK(false);
	}
}

#define BAD(s, want) expect_error(s, sizeof(s) - 1, NULL, want)

static void test_malformed_samples(void)
{
	BAD("* 1 FETCH (BODY[] {10}\r\nshort)\r\n", "truncated");
	BAD("* 1 FETCH (UID 1\r\n", "expected ')'");
	BAD("* 1 FETCH (UID 1))\r\n", "unexpected data");
	BAD("* 1 FETCH (ENVELOPE ((\"a\" NIL) FLAGS ())\r\n", "expected ')'");
	BAD("* 1 FETCH (ENVELOPE ((\"a\" NIL) FLAGS ()\r\n", "unbalanced");
	BAD("* 1 FETCH (BODY[] {99999999999}\r\n", "exceeds the limit");
	BAD("* 1 FETCH (BODY[] {123456789012345678901234}\r\n", "too many digits");
	BAD("\r\n", "empty line");
	BAD("\n", "empty line");
	BAD("* OK a\0b\r\n", "NUL byte");
	BAD("* 1 FETCH (UID x)\r\n", "expected a number");
	BAD("* 1 FETCH (UID 99999999999)\r\n", "overflows");
	BAD("* 1 FETCH (MODSEQ (99999999999999999999999))\r\n", "overflows");
	BAD("* 1 FETCH (FLAGS (\\Seen)\r\n", NULL);
	BAD("* 1 FETCH (INTERNALDATE \"32-Jan-2023 00:00:00 +0000\")\r\n", "INTERNALDATE");
	BAD("* 1 FETCH (BODY[] \"abc)\r\n", "unterminated quoted");
	BAD("* 1 FETCH (BODY[] \"a\\b\")\r\n", "bad escape");
	BAD("* 1 FETCH (BODY[HEADER.FIELDS (A] NIL)\r\n", "unterminated section");
	BAD("* 1 FETCH (BODY[] {3}abc)\r\n", "literal not at the end");
	BAD("* 1 FETCH (X {3}\r\nabc {2} Y)\r\n", NULL);
	BAD("* OK [UIDNEXT] x\r\n", "needs arguments");
	BAD("* OK [UIDNEXT abc] x\r\n", "expected a number");
	BAD("* OK [UIDVALIDITY 5 x\r\n", "expected ']'");
	BAD("* OK [COPYUID 1 1:2] x\r\n", NULL);
	BAD("* OK [COPYUID 1 1:* 3] x\r\n", "'*'");
	BAD("* OK [APPENDUID 1 0] x\r\n", "0 in a set");
	BAD("* OK [PERMANENTFLAGS \\Seen] x\r\n", "expected '('");
	BAD("* VANISHED\r\n", NULL);
	BAD("* VANISHED (LATER) 1\r\n", "EARLIER");
	BAD("* VANISHED 1,,2\r\n", NULL);
	BAD("* VANISHED 4294967296\r\n", "overflows");
	BAD("* SEARCH 1 2 x\r\n", NULL);
	BAD("* SEARCH 1 (MODSEQ 5) 3\r\n", "after (MODSEQ");
	BAD("* ESEARCH (TAG a1) ALL 1\r\n", "expected a string");
	BAD("* LIST (\\Noselect) \"//\" x\r\n", "delimiter");
	BAD("* LIST (\\Noselect \"/\" x\r\n", NULL);
	BAD("* STATUS INBOX (MESSAGES)\r\n", NULL);
	BAD("* STATUS INBOX MESSAGES 1\r\n", NULL);
	BAD("* 3 EXISTS extra\r\n", "unexpected data");
	BAD("*\r\n", "expected a space");
	BAD("* \r\n", "empty untagged");
	BAD("a1 BYE no\r\n", "not OK, NO or BAD");
	BAD("a1\r\n", "expected a space");
	BAD("(a1 OK\r\n", "expected a tag");
	BAD("* CAPABILITY IMAP4rev1 (x)\r\n", NULL);
	BAD("* FLAGS (\\)\r\n", "expected a flag");
	BAD("* 1 FETCH (BODY[]<x> NIL)\r\n", NULL);
	BAD("* 1 FETCH (UID 1 ~{2}\r\nab)\r\n", NULL);
	BAD("* OK done\r\n* 1 FETCH (", "truncated");
	/* the error's "near" excerpt escapes each byte to 4 characters */
	BAD("* 1 FETCH (UID 1 MOD\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff SEQ (7))\r\n",
	    "near \"\\xff\\xff");
}

static void test_limits(void)
{
	imapc_limits lim = {.max_line = 64, .max_literal = 16, .max_depth = 8,
			    .max_items = 50, .max_literals = 2};
	char line[200];
	memset(line, 'a', sizeof(line));
	memcpy(line, "* OK ", 5);
	memcpy(line + 198, "\r\n", 2);
	expect_error(line, sizeof(line), &lim, "line longer than 64");
	/* the over-long line is refused before it ends */
	expect_error(line, 100, &lim, "line longer than 64");
	static const char lit[] = "* 1 FETCH (BODY[] {17}\r\n";
	expect_error(lit, sizeof(lit) - 1, &lim, "literal of 17 bytes");
	static const char three[] = "* 1 FETCH (A {1}\r\na B {1}\r\nb C {1}\r\nc)\r\n";
	expect_error(three, sizeof(three) - 1, &lim, "more than 2 literals");
	static const char deep[] = "* 1 FETCH (X (((((((((1))))))))))\r\n";
	expect_error(deep, sizeof(deep) - 1, &lim, "nesting deeper than 8");
	static const char many[] = "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
		"19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40\r\n";
	imapc_limits lim2 = lim;
	lim2.max_line = 1000;
	lim2.max_items = 20;
	expect_error(many, sizeof(many) - 1, &lim2, "more than 20 items");
	static const char resp[] = "* 1 FETCH (A {16}\r\n0123456789abcdef B {16}\r\n";
	imapc_limits lim3 = {.max_literal = 16, .max_response = 40};
	expect_error(resp, sizeof(resp) - 1, &lim3, "longer than 40 bytes");
}

/* A nesting bomb: a million '(' must cost a counter, not the stack. */
static void test_nesting_bomb(void)
{
	size_t n = 1000000;
	cm_buf b = {0};
	cm_buf_puts(&b, "* 1 FETCH (X ");
	for (size_t i = 0; i < n; i++)
		cm_buf_putc(&b, '(');
	cm_buf_puts(&b, "\r\n");
	expect_error(b.data, b.len, NULL, "nesting deeper than 256");
	cm_buf_clear(&b);
	cm_buf_puts(&b, "* 1 FETCH (BODY[");
	for (size_t i = 0; i < n; i++)
		cm_buf_putc(&b, '(');
	cm_buf_puts(&b, "] NIL)\r\n");
	expect_error(b.data, b.len, NULL, "nesting deeper than 256");
	cm_buf_free(&b);
}

/* Descending sets would be quadratic with one-by-one insertion. */
static void test_hostile_set_order(void)
{
	cm_buf b = {0};
	cm_buf_puts(&b, "* VANISHED ");
	for (uint32_t u = 400000; u >= 2; u -= 2)
		cm_buf_printf(&b, "%u,", u);
	cm_buf_puts(&b, "1\r\n");
	uint64_t t0 = cm_now_ns();
	size_t n = 0;
	cm_err e;
	CHECK(imapc_parse_all(b.data, b.len, NULL, count_cb, &n, &e));
	CHECK_EQ(n, 1);
	CHECK(cm_now_ns() - t0 < 2000000000ULL);
	cm_buf_free(&b);
}

/* After an error the parser stays dead. */
static void test_dead_after_error(void)
{
	imapc_parser *p = imapc_parser_new(NULL);
	size_t n = 0;
	CHECK_EQ(imapc_parser_feed(p, "* 1 EXISTS\r\n* 1 FETCH (", 23, count_cb, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(imapc_parser_feed(p, "UID x)\r\n", 8, count_cb, &n), -1);
	const char *err = imapc_parser_error(p);
	REQUIRE(err != NULL);
	CHECK(strstr(err, "response #2") != NULL);
	CHECK(strstr(err, "stream byte 12") != NULL);
	CHECK_EQ(imapc_parser_feed(p, "* 2 EXISTS\r\n", 12, count_cb, &n), -1);
	CHECK_EQ(n, 1);
	imapc_parser_free(p);
}

/* Mutations of valid streams and random bytes: anything goes except a
 * crash; also every prefix of a valid stream fails as truncated or parses. */
static void test_mutations(void)
{
	static const char base[] = MIXED_STREAM CYRUS_SELECT;
	size_t len = sizeof(base) - 1;
	char *buf = cm_xmalloc(len + 64);
	cm_rng rng;
	cm_rng_seed(&rng, 7);
	size_t accepted = 0, rejected = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = len;
		memcpy(buf, base, len);
		int edits = 1 + (int)cm_rng_below(&rng, 4);
		for (int k = 0; k < edits && n > 1; k++) {
			size_t at = cm_rng_below(&rng, n);
			static const char special[] = "(){}[]\"\\ \r\n~0123456789*:,<>+NIL";
			switch (cm_rng_below(&rng, 4)) {
			case 0:
				buf[at] = (char)cm_rng_below(&rng, 256);
				break;
			case 1:
				buf[at] = special[cm_rng_below(&rng, sizeof(special) - 1)];
				break;
			case 2:
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			default:
				n = at + 1;
				break;
			}
		}
		size_t cnt = 0;
		cm_err e;
		if (imapc_parse_all(buf, n, NULL, count_cb, &cnt, &e))
			accepted++;
		else
			rejected++;
	}
	CHECK(accepted > 0);
	CHECK(rejected > 0);
	for (int round = 0; round < 5000; round++) {
		size_t n = 1 + cm_rng_below(&rng, 64);
		for (size_t i = 0; i < n; i++)
			buf[i] = "* +a1OK({}[])\"\\ \r\n0123456789"[cm_rng_below(&rng, 29)];
		size_t cnt = 0;
		imapc_parse_all(buf, n, NULL, count_cb, &cnt, NULL);
	}
	for (size_t cut = 0; cut < len; cut++) {
		size_t cnt = 0;
		cm_err e;
		if (!imapc_parse_all(base, cut, NULL, count_cb, &cnt, &e))
			CHECK(strstr(e.text, "truncated") != NULL);
	}
	free(buf);
}

/* The response budget between tagged replies: a flood of small untagged
 * responses or continuations is a protocol error (it grew memory without
 * bound: 77.6 MB of "* 1 EXISTS" -> 6.87 GB in a run); a tagged reply
 * renews it. */
static void test_response_budget(void)
{
	imapc_limits lim = {.max_untagged = 10};
	imapc_parser *p = imapc_parser_new(&lim);
	size_t n = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++)
			CHECK_EQ(imapc_parser_feed(p, "* 1 EXISTS\r\n", 12, count_cb, &n), 0);
		CHECK_EQ(imapc_parser_feed(p, "a1 OK done\r\n", 12, count_cb, &n), 0);
	}
	CHECK_EQ(n, 33);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(imapc_parser_feed(p, "+ more\r\n", 8, count_cb, &n), 0);
	CHECK_EQ(imapc_parser_feed(p, "+ more\r\n", 8, count_cb, &n), -1);
	REQUIRE(imapc_parser_error(p) != NULL);
	CHECK(strstr(imapc_parser_error(p), "response budget exceeded") != NULL);
	CHECK_EQ(n, 43);
	imapc_parser_free(p);
	/* Bytes: three 40-byte lines against a 100-byte budget. */
	lim = (imapc_limits){.max_between = 100};
	p = imapc_parser_new(&lim);
	static const char line[] = "* OK [ALERT] 0123456789012345678901234\r\n";
	CHECK_EQ(sizeof(line) - 1, 40);
	CHECK_EQ(imapc_parser_feed(p, line, 40, count_cb, &n), 0);
	CHECK_EQ(imapc_parser_feed(p, line, 40, count_cb, &n), 0);
	CHECK_EQ(imapc_parser_feed(p, line, 40, count_cb, &n), -1);
	CHECK(strstr(imapc_parser_error(p), "100 bytes") != NULL);
	imapc_parser_free(p);
	/* The default: 200,000 untagged responses pass, one more does not. */
	cm_buf b = {0};
	for (int i = 0; i < 200001; i++)
		cm_buf_append(&b, "* 1 EXISTS\r\n", 12);
	cm_err e;
	size_t cnt = 0;
	CHECK(!imapc_parse_all(b.data, b.len, NULL, count_cb, &cnt, &e));
	CHECK_EQ(cnt, 200000);
	CHECK(imapc_parse_all(b.data, b.len - 12, NULL, count_cb, &cnt, &e));
	cm_buf_free(&b);
}

int main(void)
{
	RUN(test_malformed_samples);
	RUN(test_limits);
	RUN(test_nesting_bomb);
	RUN(test_hostile_set_order);
	RUN(test_dead_after_error);
	RUN(test_response_budget);
	RUN(test_mutations);
	TEST_EXIT();
}
