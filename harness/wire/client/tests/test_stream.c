/* Incremental parsing: however a stream is cut into chunks (every single
 * split point, byte by byte, random sizes), the parser delivers the same
 * responses with the same contents, indexes and offsets. */
#include "samples.h"

typedef struct dumps {
	cm_buf text;             /* every response's dump, one per line */
	size_t n;
} dumps;

static int dump_cb(void *ctx, const imapc_response *r)
{
	dumps *d = ctx;
	cm_buf_printf(&d->text, "#%llu @%llu ", (unsigned long long)r->index,
		      (unsigned long long)r->offset);
	imapc_response_dump(r, &d->text);
	cm_buf_putc(&d->text, '\n');
	d->n++;
	return 0;
}

static const char stream[] = MIXED_STREAM CYRUS_GREETING CYRUS_SELECT
	"* 4 FETCH (UID 4 BODY[1] \"a\\\"b\\\\c\" BINARY[] ~{3}\r\nx\0y)\r\n"
	"* 5 FETCH (BODY[HEADER.FIELDS (\"X-Ratchet-Id\" {4}\r\nDate)] {0}\r\n)\r\n"
	"* OK text ends like a literal {3}\r\nabc\r\n"
	"* 6 EXISTS\n";

static void reference(dumps *ref)
{
	cm_err e;
	bool ok = imapc_parse_all(stream, sizeof(stream) - 1, NULL, dump_cb, ref, &e);
	if (!ok)
		fprintf(stderr, "%s\n", e.text);
	REQUIRE(ok);
	REQUIRE(ref->n == 37);
}

static void feed_in_pieces(const size_t *cuts, size_t n_cuts, dumps *out)
{
	imapc_parser *p = imapc_parser_new(NULL);
	size_t at = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t to = i < n_cuts ? cuts[i] : sizeof(stream) - 1;
		REQUIRE(imapc_parser_feed(p, stream + at, to - at, dump_cb, out) == 0);
		at = to;
	}
	CHECK_EQ(imapc_parser_pending(p), 0);
	CHECK(imapc_parser_error(p) == NULL);
	imapc_parser_free(p);
}

static void test_every_split_point(void)
{
	dumps ref = {0};
	reference(&ref);
	size_t bad = 0;
	for (size_t cut = 0; cut <= sizeof(stream) - 1; cut++) {
		dumps d = {0};
		feed_in_pieces(&cut, 1, &d);
		if (d.n != ref.n || strcmp(d.text.data, ref.text.data) != 0)
			bad++;
		cm_buf_free(&d.text);
	}
	CHECK_EQ(bad, 0);
	cm_buf_free(&ref.text);
}

static void test_byte_by_byte(void)
{
	dumps ref = {0}, d = {0};
	reference(&ref);
	imapc_parser *p = imapc_parser_new(NULL);
	for (size_t i = 0; i < sizeof(stream) - 1; i++)
		REQUIRE(imapc_parser_feed(p, stream + i, 1, dump_cb, &d) == 0);
	CHECK_EQ(d.n, ref.n);
	CHECK_STR(d.text.data, ref.text.data);
	CHECK_EQ(imapc_parser_count(p), ref.n);
	imapc_parser_free(p);
	cm_buf_free(&d.text);
	cm_buf_free(&ref.text);
}

static void test_random_chunks(void)
{
	dumps ref = {0};
	reference(&ref);
	cm_rng rng;
	cm_rng_seed(&rng, 42);
	for (int round = 0; round < 300; round++) {
		size_t cuts[64], n = 0, at = 0;
		while (n < CM_ARRAY_LEN(cuts)) {
			at += 1 + cm_rng_below(&rng, 1 + cm_rng_below(&rng, 200));
			if (at >= sizeof(stream) - 1)
				break;
			cuts[n++] = at;
		}
		dumps d = {0};
		feed_in_pieces(cuts, n, &d);
		CHECK_STR(d.text.data, ref.text.data);
		cm_buf_free(&d.text);
	}
	cm_buf_free(&ref.text);
}

/* A literal split anywhere, including inside "\r\n" and inside "{n}". */
static void test_two_cuts_around_literal(void)
{
	static const char s[] = "* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\n";
	dumps ref = {0};
	REQUIRE(imapc_parse_all(s, sizeof(s) - 1, NULL, dump_cb, &ref, NULL));
	for (size_t a = 0; a < sizeof(s) - 1; a++) {
		for (size_t b = a; b < sizeof(s) - 1; b++) {
			imapc_parser *p = imapc_parser_new(NULL);
			dumps d = {0};
			REQUIRE(imapc_parser_feed(p, s, a, dump_cb, &d) == 0);
			REQUIRE(imapc_parser_feed(p, s + a, b - a, dump_cb, &d) == 0);
			REQUIRE(imapc_parser_feed(p, s + b, sizeof(s) - 1 - b, dump_cb, &d) == 0);
			CHECK_STR(d.text.data, ref.text.data);
			cm_buf_free(&d.text);
			imapc_parser_free(p);
		}
	}
	cm_buf_free(&ref.text);
}

static int stop_cb(void *ctx, const imapc_response *r)
{
	int *n = ctx;
	(void)r;
	return ++*n == 2;
}

static void test_callback_stops(void)
{
	int n = 0;
	imapc_parser *p = imapc_parser_new(NULL);
	CHECK_EQ(imapc_parser_feed(p, "* 1 EXISTS\r\n* 2 EXISTS\r\n* 3 EXISTS\r\n",
				   36, stop_cb, &n), -1);
	CHECK_EQ(n, 2);
	CHECK(imapc_parser_error(p) != NULL);
	CHECK_EQ(imapc_parser_feed(p, "* 4 EXISTS\r\n", 12, stop_cb, &n), -1);
	CHECK_EQ(n, 2);
	imapc_parser_free(p);
}

int main(void)
{
	RUN(test_every_split_point);
	RUN(test_byte_by_byte);
	RUN(test_random_chunks);
	RUN(test_two_cuts_around_literal);
	RUN(test_callback_stops);
	TEST_EXIT();
}
