/* The history reader's errors: each names its line and what is wrong,
 * a line is capped at MODEL_HISTORY_MAX_LINE, and an error sticks. */
#include "history_test.h"

static void expect_error(const char *text, unsigned line, const char *needle)
{
	char err[256] = "", want[32];
	int rc = read_all(text, err, sizeof(err), NULL, NULL);
	snprintf(want, sizeof(want), "line %u: ", line);
	CHECK_EQ(rc, -1);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, needle) == NULL) {
		fprintf(stderr, "  want \"%s...%s\", got \"%s\"\n", want, needle, err);
		cm_test_failures++;
	}
	CHECK(strchr(err, '\n') == NULL);
}

static void test_errors_header(void)
{
	expect_error("", 1, "empty history");
	expect_error("\n\n", 3, "empty history");
	expect_error("{\"t\":1}\n", 1, "not a ratchet history");
	expect_error("[1]\n", 1, "expected a JSON object");
	expect_error("{\"ratchet_history\":2}\n", 1, "unsupported history version 2");
	expect_error("{\"ratchet_history\":\"x\"}\n", 1, "ratchet_history: expected");
	expect_error("{\"ratchet_history\":1,\"seed\":-1}\n", 1, "seed: negative");
	expect_error("{\"ratchet_history\":1,", 1, "invalid JSON");
	expect_error("{\"ratchet_history\":1,\"capabilities\":\"CONDSTORE\"}\n", 1,
		     "capabilities: expected an array");
}

static void test_errors_events(void)
{
	expect_error(HDR OK(1, 1) "}\n", 2, "completion for unknown op id 1");
	expect_error(HDR INV(1, 1) NOOP INV(2, 1) NOOP, 3, "duplicate invoke id 1");
	expect_error(HDR INV(5, 1) NOOP INV(4, 2) NOOP, 3, "t 4 is not after");
	expect_error(HDR INV(5, 1) NOOP INV(5, 2) NOOP, 3, "t 5 is not after");
	expect_error(HDR INV(1, 0) NOOP, 2, "id: must not be 0");
	expect_error(HDR "{\"t\":1,\"c\":1,\"id\":1,\"op\":{\"kind\":\"noop\"}}\n", 2,
		     "missing \"ev\"");
	expect_error(HDR "{\"c\":1,\"id\":1,\"ev\":\"invoke\"}\n", 2, "missing \"t\"");
	expect_error(HDR "{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"begin\"}\n", 2,
		     "ev: unknown value \"begin\"");
	expect_error(HDR "{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"invoke\"}\n", 2,
		     "invoke without \"op\"");
	expect_error(HDR "{\"t\":\"abc\",\"c\":1,\"id\":1,\"ev\":\"invoke\"}\n", 2,
		     "t: expected an unsigned integer");
	expect_error(HDR "{\"t\":1.5,\"c\":1,\"id\":1,\"ev\":\"invoke\"}\n", 2,
		     "t: expected an unsigned integer");
	expect_error(HDR "{\"t\":1,\"c\":-3,\"id\":1,\"ev\":\"invoke\"}\n", 2,
		     "c: negative value -3");
	expect_error(HDR "{\"t\":1,\"c\":4294967296,\"id\":1,\"ev\":\"invoke\"}\n", 2,
		     "c: value 4294967296 out of range");
	expect_error(HDR INV(1, 1) NOOP "{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\"}\n", 3,
		     "missing \"status\"");
	expect_error(HDR INV(1, 1) NOOP OK(2, 1) ",\"status\":\"MAYBE\"}\n", 3,
		     "status: unknown value \"MAYBE\"");
	expect_error(HDR INV(1, 1) NOOP "{\"t\":2,\"c\":2,\"id\":1,\"ev\":\"ok\","
		     "\"status\":\"OK\"}\n", 3, "client 2 completes op 1 invoked by client 1");
	expect_error(HDR INV(1, 1) NOOP OK(2, 1) ",\"op\":{\"kind\":\"noop\"}}\n", 3,
		     "\"op\" on an ok event");
	expect_error(HDR INV(1, 1) NOOP "{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"info\","
		     "\"status\":\"unknown\",\"op\":{\"kind\":\"fault\"}}\n", 3,
		     "info event for in-flight op 1");
	expect_error(HDR "{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"info\",\"status\":\"unknown\"}\n",
		     2, "completion for unknown op id 1");
	expect_error(HDR INV(1, 1) NOOP "{\"t\":2,", 3, "invalid JSON");
	expect_error(HDR INV(1, 1) NOOP "[]\n", 3, "expected a JSON object");
	expect_error(HDR INV(1, 1) NOOP "{\"t\":99999999999999999999}\n", 3, "invalid JSON");
	expect_error(HDR "\n" INV(1, 1) "{\"kind\":\"noop\"}\n", 3, "invalid JSON");
	expect_error(HDR "{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"invoke\",\"op\":{}}\n", 2,
		     "op.kind: missing");
}

static void test_errors_fields(void)
{
	expect_error(HDR INV(1, 1) "{\"kind\":\"store\",\"mode\":\"x\"}}\n", 2,
		     "op.mode: unknown value \"x\"");
	expect_error(HDR INV(1, 1) "{\"kind\":\"fetch\",\"set\":\"1:\"}}\n", 2,
		     "op.set: bad set \"1:\"");
	expect_error(HDR INV(1, 1) "{\"kind\":\"fetch\",\"set\":\"1:*\"}}\n", 2,
		     "op.set: bad set");
	expect_error(HDR INV(1, 1) "{\"kind\":\"fetch\",\"set\":\"0\"}}\n", 2,
		     "op.set: bad set");
	expect_error(HDR INV(1, 1) "{\"kind\":\"fetch\",\"set\":7}}\n", 2,
		     "op.set: expected a string");
	expect_error(HDR INV(1, 1) "{\"kind\":\"bogus\"}}\n", 2, "op.kind: unknown op");
	expect_error(HDR INV(1, 1) "{\"kind\":\"none\"}}\n", 2, "op.kind: unknown op");
	expect_error(HDR INV(1, 1) "{\"kind\":\"store\",\"uid\":1}}\n", 2,
		     "op.uid: expected true or false");
	expect_error(HDR INV(1, 1) "{\"kind\":\"store\",\"unchangedsince\":-1}}\n", 2,
		     "op.unchangedsince: negative");
	expect_error(HDR INV(1, 1) "{\"kind\":\"store\",\"flags\":[\"a b\"]}}\n", 2,
		     "op.flags: cannot use flag \"a b\"");
	expect_error(HDR INV(1, 1) "{\"kind\":\"store\",\"flags\":\"\\\\Seen\"}}\n", 2,
		     "op.flags: expected an array");
	expect_error(HDR INV(1, 1) "{\"kind\":\"store\",\"flags\":[1]}}\n", 2,
		     "op.flags[0]: expected a string");
	expect_error(HDR INV(1, 1) "{\"kind\":\"fetch\",\"items\":[\"UID\",\"ENVELOPE\"]}}\n",
		     2, "op.items: unknown value \"ENVELOPE\"");
	expect_error(HDR INV(1, 1) "{\"kind\":\"append\",\"body_hash\":\"xyz\"}}\n", 2,
		     "op.body_hash: expected 1 to 16 hex digits");
	expect_error(HDR INV(1, 1) "{\"kind\":\"append\",\"body_hash\":"
		     "\"00000000000000001\"}}\n", 2, "op.body_hash: expected 1 to 16");
	expect_error(HDR INV(1, 1) "{\"kind\":\"append\",\"size\":4294967296}}\n", 2,
		     "op.size: value 4294967296 out of range");
	expect_error(HDR INV(1, 1) "{\"kind\":\"append\",\"msg_id\":\"012345678901234567"
		     "890123456789012345678901234567\"}}\n", 2, "op.msg_id: too long (48");
	expect_error(HDR INV(1, 1) "{\"kind\":\"select\",\"qresync\":{\"modseq\":-5}}}\n", 2,
		     "op.qresync.modseq: negative value -5");
	expect_error(HDR INV(1, 1) "{\"kind\":\"select\",\"qresync\":true}}\n", 2,
		     "op.qresync: expected an object");
	expect_error(HDR INV(1, 1) "{\"kind\":\"fault\",\"fault\":\"meteor\"}}\n", 2,
		     "op.fault: unknown value \"meteor\"");
	expect_error(HDR INV(1, 1) "{\"kind\":\"select\",\"modseq\":\"1x\","
		     "\"qresync\":{\"modseq\":\"18446744073709551616\"}}}\n", 2,
		     "op.qresync.modseq: value out of range");
}

static void test_errors_results(void)
{
#define DONE(rest) HDR INV(1, 1) NOOP OK(2, 1) rest "}\n"
	expect_error(DONE(",\"untagged\":{}"), 3, "untagged: expected an array");
	expect_error(DONE(",\"untagged\":[5]"), 3, "untagged[0]: expected an object");
	expect_error(DONE(",\"untagged\":[{\"exists\":1},{\"exist\":1}]"), 3,
		     "untagged[1]: no known kind");
	expect_error(DONE(",\"untagged\":[{\"exists\":1,\"recent\":2}]"), 3,
		     "untagged[0]: both \"exists\" and \"recent\"");
	expect_error(DONE(",\"untagged\":[{\"expunge\":-1}]"), 3,
		     "untagged[0]: expunge: negative");
	expect_error(DONE(",\"untagged\":[{\"fetch\":{\"seq\":1,\"modseq\":-1}}]"), 3,
		     "untagged[0]: fetch.modseq: negative value -1");
	expect_error(DONE(",\"untagged\":[{\"fetch\":{\"seq\":1,\"size\":1,\"body_size\":2}}]"),
		     3, "fetch.body_size 2 and size 1 disagree");
	expect_error(DONE(",\"untagged\":[{\"fetch\":{\"idate\":\"x\"}}]"), 3,
		     "fetch.idate: expected an integer");
	expect_error(DONE(",\"untagged\":[{\"fetch\":[]}]"), 3, "fetch: expected an object");
	expect_error(DONE(",\"untagged\":[{\"vanished\":\"3:x\"}]"), 3,
		     "untagged[0]: vanished: bad set");
	expect_error(DONE(",\"untagged\":[{\"bye\":false}]"), 3, "bye: must be true");
	expect_error(DONE(",\"untagged\":[{\"status\":{\"unseen\":true}}]"), 3,
		     "status.unseen: expected an unsigned integer");
	expect_error(DONE(",\"untagged\":[{\"status\":{\"mailbox\":1}}]"), 3,
		     "status.mailbox: expected a string");
	expect_error(DONE(",\"untagged\":[{\"code\":{\"name\":\"COPYUID\",\"dst\":\"a\"}}]"),
		     3, "untagged[0]: code.dst: bad set");
	expect_error(DONE(",\"code\":{\"name\":\"APPENDUID\",\"uidvalidity\":-1}"), 3,
		     "code.uidvalidity: negative");
	expect_error(DONE(",\"code\":{\"name\":\"UIDNEXT\",\"value\":{}}"), 3,
		     "code.value: expected an unsigned integer");
	expect_error(DONE(",\"code\":{\"name\":\"PERMANENTFLAGS\",\"star\":\"yes\"}"), 3,
		     "code.star: expected true or false");
	expect_error(DONE(",\"code\":{\"name\":\"A-VERY-LONG-CODE-NAME-THAT-DOES-NOT-FIT\"}"),
		     3, "code.name: too long");
	expect_error(DONE(",\"code\":\"OK\""), 3, "code: expected an object");
	expect_error(DONE(",\"text\":7"), 3, "text: expected a string");
	expect_error(DONE(",\"anomaly\":[]"), 3, "anomaly: expected a string");
#undef DONE
}

/* Issue 10 (4e): a 1.5 GB line cost 3.6 GB. A line is capped at
 * MODEL_HISTORY_MAX_LINE: the error names it, and the reader stops there. */
static void test_line_cap(void)
{
	size_t max = MODEL_HISTORY_MAX_LINE, hdr = strlen(HDR);
	size_t cap = hdr + max + 64;
	char *text = cm_xmalloc(cap);
	memcpy(text, HDR, hdr);
	/* Exactly the limit, with \r\n: read, then judged as JSON. */
	memset(text + hdr, ' ', max);
	text[hdr] = '{';
	memcpy(text + hdr + max, "\r\n", 3);
	expect_error(text, 2, "invalid JSON");
	/* One byte more: too long, and nothing after it is read. */
	memset(text + hdr, 'x', max + 1);
	memcpy(text + hdr + max + 1, "\nmore\n", 7);
	FILE *f = fmemopen(text, strlen(text), "r");
	REQUIRE(f != NULL);
	cm_err err;
	model_history_reader *r = model_history_reader_new(f, NULL, &err);
	REQUIRE(r != NULL);
	model_event ev;
	model_event_init(&ev);
	CHECK_EQ(model_history_read(r, &ev, &err), -1);
	CHECK(strstr(err.text, "line 2: line longer than 16777216 bytes") != NULL);
	CHECK(ftell(f) <= (long)(hdr + max + 2));
	model_event_free(&ev);
	model_history_reader_free(r);
	fclose(f);
	free(text);
}

static void test_error_sticky(void)
{
	const char *text = HDR INV(1, 1) NOOP "{oops\n" INV(3, 2) NOOP;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	model_history_reader *r = model_history_reader_new(f, NULL, NULL);
	REQUIRE(r != NULL);
	model_event ev;
	model_event_init(&ev);
	cm_err err, err2;
	CHECK_EQ(model_history_read(r, &ev, &err), 1);
	CHECK_EQ(model_history_read(r, &ev, &err), -1);
	CHECK(strncmp(err.text, "line 3: invalid JSON", 20) == 0);
	/* The event was left empty (no leak if the caller stops here). */
	CHECK(ev.op.set.r == NULL && ev.res.ut == NULL);
	CHECK_EQ(model_history_read(r, &ev, &err2), -1);
	CHECK_STR(err.text, err2.text);
	CHECK_EQ(model_history_read(r, &ev, NULL), -1);
	model_history_reader_free(r);
	fclose(f);
}

int main(void)
{
	RUN(test_line_cap);
	RUN(test_errors_header);
	RUN(test_errors_events);
	RUN(test_errors_fields);
	RUN(test_errors_results);
	RUN(test_error_sticky);
	TEST_EXIT();
}
