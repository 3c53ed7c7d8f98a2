/* The LMTP reply parser alone: well-formed replies (fed whole and split at
 * every byte boundary), each malformed case with its error line, the
 * limits, and a dead stream after an error. */
#include "lmtpc.h"
#include "cm_test.h"

/* Every reply as one line "CODE|NLINES|TEXT|LINES" ('\n' in LINES as '/'). */
typedef struct got {
	cm_buf dump;
	unsigned n;
	int stop_after;   /* non-zero: stop after that many replies */
} got;

static int record(void *ctx, const lmtpc_reply *r)
{
	got *g = ctx;
	cm_buf_printf(&g->dump, "%d|%u|%.*s|", r->code, r->nlines, (int)r->text_len, r->text);
	for (size_t i = 0; i < r->lines_len; i++)
		cm_buf_putc(&g->dump, r->lines[i] == '\n' ? '/' : r->lines[i]);
	/* The last line's text is the tail of lines. */
	CHECK(r->text_len <= r->lines_len &&
	      memcmp(r->lines + r->lines_len - r->text_len, r->text, r->text_len) == 0);
	CHECK(r->text[r->text_len] == '\0' || r->text_len < r->lines_len);
	cm_buf_putc(&g->dump, '\n');
	g->n++;
	return g->stop_after != 0 && g->n >= (unsigned)g->stop_after;
}

/* Parses in into *dump whole; then split at every boundary (two chunks)
 * and byte by byte, which must agree. Returns the feed's status. */
static int parse(const char *in, size_t len, cm_buf *dump, cm_err *err)
{
	got whole = {0};
	lmtpc_parser *p = lmtpc_parser_new();
	int rc = lmtpc_parser_feed(p, in, len, record, &whole, err);
	lmtpc_parser_free(p);
	for (size_t cut = 0; cut <= len; cut++) {
		got part = {0};
		cm_err e2 = {{0}};
		p = lmtpc_parser_new();
		int r2 = lmtpc_parser_feed(p, in, cut, record, &part, &e2);
		if (r2 == 0)
			r2 = lmtpc_parser_feed(p, in + cut, len - cut, record, &part, &e2);
		lmtpc_parser_free(p);
		CHECK_EQ(r2, rc);
		CHECK_STR(part.dump.data ? part.dump.data : "", whole.dump.data ? whole.dump.data : "");
		if (rc < 0)
			CHECK_STR(e2.text, err->text);
		cm_buf_free(&part.dump);
	}
	got bytes = {0};
	cm_err e3 = {{0}};
	p = lmtpc_parser_new();
	int r3 = 0;
	for (size_t i = 0; i < len && r3 == 0; i++)
		r3 = lmtpc_parser_feed(p, in + i, 1, record, &bytes, &e3);
	lmtpc_parser_free(p);
	CHECK_EQ(r3, rc);
	CHECK_STR(bytes.dump.data ? bytes.dump.data : "", whole.dump.data ? whole.dump.data : "");
	cm_buf_free(&bytes.dump);
	cm_buf_clear(dump);
	if (whole.dump.data)
		cm_buf_append(dump, whole.dump.data, whole.dump.len);
	cm_buf_free(&whole.dump);
	return rc;
}

static void ok_case(const char *in, const char *want)
{
	cm_buf d = {0};
	cm_err err = {{0}};
	CHECK_EQ(parse(in, strlen(in), &d, &err), 0);
	CHECK_STR(d.data ? d.data : "", want);
	cm_buf_free(&d);
}

static void bad_case(const char *in, size_t len, const char *want_err, const char *want_before)
{
	cm_buf d = {0};
	cm_err err = {{0}};
	CHECK_EQ(parse(in, len, &d, &err), -1);
	CHECK_STR(err.text, want_err);
	CHECK_STR(d.data ? d.data : "", want_before);
	cm_buf_free(&d);
}

static void test_single_and_multi(void)
{
	ok_case("220 mx.example LMTP ready\r\n", "220|1|mx.example LMTP ready|mx.example LMTP ready\n");
	ok_case("250-mx.example\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n",
		"250|4|8BITMIME|mx.example/PIPELINING/ENHANCEDSTATUSCODES/8BITMIME\n");
	/* Enhanced status codes (RFC 3463) stay in the text. */
	ok_case("550 5.1.1 <bob@example.org> User doesn't exist\r\n"
		"452 4.2.2 Mailbox full\r\n250 2.0.0 <x@y> Saved\r\n",
		"550|1|5.1.1 <bob@example.org> User doesn't exist|5.1.1 <bob@example.org> User doesn't exist\n"
		"452|1|4.2.2 Mailbox full|4.2.2 Mailbox full\n"
		"250|1|2.0.0 <x@y> Saved|2.0.0 <x@y> Saved\n");
	/* A code alone, an empty text, a hyphen line without text, bare LF. */
	ok_case("250\r\n", "250|1||\n");
	ok_case("250 \r\n", "250|1||\n");
	ok_case("354-\n354 go ahead\n", "354|2|go ahead|/go ahead\n");
	/* Codes beyond the usual ones, CR inside a line kept. */
	ok_case("599 x\r\n200 a\rb\r\n", "599|1|x|x\n200|1|a\rb|a\rb\n");
	ok_case("", "");
}

static void test_incomplete(void)
{
	lmtpc_parser *p = lmtpc_parser_new();
	got g = {0};
	cm_err err = {{0}};
	CHECK_EQ(lmtpc_parser_feed(p, "250-a\r\n250 b", 12, record, &g, &err), 0);
	CHECK_EQ(g.n, 0);
	CHECK_EQ(lmtpc_parser_pending(p), 12);
	CHECK_EQ(lmtpc_parser_feed(p, "\r\n", 2, record, &g, &err), 0);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(lmtpc_parser_pending(p), 0);
	lmtpc_parser_free(p);
	cm_buf_free(&g.dump);
}

static void test_malformed(void)
{
	bad_case("abc\r\n", 5, "lmtpc: reply line 1 (byte 0): code not 3 digits 2xx-5xx: \"abc\\r\"", "");
	bad_case("250 ok\r\n\r\n", 10,
		 "lmtpc: reply line 2 (byte 8): code not 3 digits 2xx-5xx: \"\\r\"", "250|1|ok|ok\n");
	bad_case("150 x\r\n", 7, "lmtpc: reply line 1 (byte 0): code not 3 digits 2xx-5xx: \"150 x\\r\"", "");
	bad_case("650 x\r\n", 7, "lmtpc: reply line 1 (byte 0): code not 3 digits 2xx-5xx: \"650 x\\r\"", "");
	bad_case("25\r\n", 4, "lmtpc: reply line 1 (byte 0): code not 3 digits 2xx-5xx: \"25\\r\"", "");
	bad_case("2a0 x\n", 6, "lmtpc: reply line 1 (byte 0): code not 3 digits 2xx-5xx: \"2a0 x\"", "");
	bad_case("2500 x\r\n", 8,
		 "lmtpc: reply line 1 (byte 0): no space or hyphen after the code: \"2500 x\\r\"", "");
	bad_case("250:x\r\n", 7,
		 "lmtpc: reply line 1 (byte 0): no space or hyphen after the code: \"250:x\\r\"", "");
	bad_case("250-a\r\n251 b\r\n", 14,
		 "lmtpc: reply line 2 (byte 7): mixed codes in a multi-line reply (250 then 251): \"251 b\\r\"",
		 "");
	bad_case("250 a\0b\r\n", 9, "lmtpc: reply line 1 (byte 0): NUL byte: \"250 a\\x00\"", "");
	/* Escape sequences in the offending line never reach a terminal raw. */
	bad_case("\033]0;x\007\r\n", 8,
		 "lmtpc: reply line 1 (byte 0): code not 3 digits 2xx-5xx: \"\\x1b]0;x\\x07\\r\"", "");
}

static void test_limits(void)
{
	/* A line of LMTPC_LINE_MAX bytes with its CRLF passes; one more fails. */
	cm_buf in = {0}, d = {0};
	cm_err err = {{0}};
	cm_buf_puts(&in, "250 ");
	while (in.len < LMTPC_LINE_MAX - 2)
		cm_buf_putc(&in, 'x');
	cm_buf_puts(&in, "\r\n");
	CHECK_EQ(in.len, LMTPC_LINE_MAX);
	lmtpc_parser *p = lmtpc_parser_new();
	got g = {0};
	CHECK_EQ(lmtpc_parser_feed(p, in.data, in.len, record, &g, &err), 0);
	CHECK_EQ(g.n, 1);
	lmtpc_parser_free(p);
	cm_buf_free(&g.dump);
	cm_buf_clear(&in);
	cm_buf_puts(&in, "250 ");
	while (in.len < LMTPC_LINE_MAX - 1)
		cm_buf_putc(&in, 'x');
	cm_buf_puts(&in, "\r\n");
	CHECK_EQ(parse(in.data, in.len, &d, &err), -1);
	CHECK(strstr(err.text, "lmtpc: reply line 1 (byte 0): line longer than 4096 bytes: \"250 xxx") ==
	      err.text);
	/* No line end at all: refused once 4096 bytes came, not later. */
	cm_buf_clear(&in);
	for (int i = 0; i < LMTPC_LINE_MAX; i++)
		cm_buf_putc(&in, 'y');
	p = lmtpc_parser_new();
	CHECK_EQ(lmtpc_parser_feed(p, in.data, LMTPC_LINE_MAX - 1, record, NULL, &err), 0);
	CHECK_EQ(lmtpc_parser_feed(p, "y", 1, record, NULL, &err), -1);
	CHECK(strstr(err.text, "line longer than 4096 bytes") != NULL);
	lmtpc_parser_free(p);

	/* LMTPC_LINES_MAX lines pass; one more fails. */
	cm_buf_clear(&in);
	for (int i = 0; i < LMTPC_LINES_MAX - 1; i++)
		cm_buf_printf(&in, "250-line %d\r\n", i);
	cm_buf_puts(&in, "250 last\r\n");
	p = lmtpc_parser_new();
	g = (got){0};
	CHECK_EQ(lmtpc_parser_feed(p, in.data, in.len, record, &g, &err), 0);
	CHECK_EQ(g.n, 1);
	CHECK(strstr(g.dump.data, "250|100|last|line 0/line 1/") == g.dump.data);
	lmtpc_parser_free(p);
	cm_buf_free(&g.dump);
	cm_buf_clear(&in);
	for (int i = 0; i < LMTPC_LINES_MAX; i++)
		cm_buf_printf(&in, "250-line %d\r\n", i);
	cm_buf_puts(&in, "250 last\r\n");
	CHECK_EQ(parse(in.data, in.len, &d, &err), -1);
	CHECK(strstr(err.text, "lmtpc: reply line 101 (byte ") == err.text);
	CHECK(strstr(err.text, "): more than 100 lines in one reply: \"250 last\\r\"") != NULL);
	cm_buf_free(&in);
	cm_buf_free(&d);
}

static void test_dead_and_stop(void)
{
	lmtpc_parser *p = lmtpc_parser_new();
	got g = {0};
	cm_err err = {{0}};
	CHECK_EQ(lmtpc_parser_feed(p, "xyz\r\n", 5, record, &g, &err), -1);
	char first[sizeof(err.text)];
	snprintf(first, sizeof(first), "%s", err.text);
	err.text[0] = '\0';
	CHECK_EQ(lmtpc_parser_feed(p, "250 ok\r\n", 8, record, &g, &err), -1);
	CHECK_STR(err.text, first);
	CHECK_EQ(g.n, 0);
	lmtpc_parser_free(p);

	/* A callback that stops: this feed 0, the rest dropped, then -1. */
	p = lmtpc_parser_new();
	g = (got){.stop_after = 1};
	CHECK_EQ(lmtpc_parser_feed(p, "250 a\r\n250 b\r\n", 14, record, &g, &err), 0);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(lmtpc_parser_feed(p, "250 c\r\n", 7, record, &g, &err), -1);
	CHECK_STR(err.text, "lmtpc: stopped by the caller");
	CHECK_EQ(g.n, 1);
	lmtpc_parser_free(p);
	cm_buf_free(&g.dump);
	/* err may be NULL. */
	p = lmtpc_parser_new();
	CHECK_EQ(lmtpc_parser_feed(p, "x\n", 2, NULL, NULL, NULL), -1);
	lmtpc_parser_free(p);
}

int main(void)
{
	RUN(test_single_and_multi);
	RUN(test_incomplete);
	RUN(test_malformed);
	RUN(test_limits);
	RUN(test_dead_and_stop);
	TEST_EXIT();
}
