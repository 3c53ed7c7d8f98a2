/* The history reader on what other tools write: protocol errors ride on
 * their completion, input is read leniently (blank lines, CRLF, extra
 * keys, any order), a file holds several runs. */
#include "history_test.h"

/* Issue 10 (3): a protocol error rides on its completion, so that
 * `ratchet check` of the history reports it too. */
static void test_protocol_error_field(void)
{
	const char *text = HDR
		"{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"invoke\",\"op\":{\"kind\":\"noop\"}}\n"
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"info\",\"status\":\"unknown\","
		"\"text\":\"protocol error\",\"protocol_error\":\"bad; began \\\"x\\\\x00\\\"\"}\n";
	char err[256] = "";
	size_t n;
	model_event last;
	model_event_init(&last);
	CHECK_EQ(read_all(text, err, sizeof(err), &n, &last), 0);
	CHECK_EQ(n, 2);
	CHECK_STR(last.res.protocol, "bad; began \"x\\x00\"");
	/* Written back only when set, byte for byte. */
	last.type = MODEL_EV_INFO;
	last.client = 1;
	last.t_ns = 2;
	size_t len;
	char *out = write_history(&test_header, &last, 1, &len);
	CHECK(strstr(out, "\"protocol_error\":\"bad; began \\\"x\\\\x00\\\"\"") != NULL);
	free(out);
	model_result_clear(&last.res);
	out = write_history(&test_header, &last, 1, &len);
	CHECK(strstr(out, "protocol_error") == NULL);
	free(out);
	model_event_free(&last);
}

static void test_lenient_input(void)
{
	/* Blank lines, CRLF, extra keys, any key order, no final newline,
	 * unknown capability names, unknown code names, \Recent in flags. */
	const char *text =
		"{\"clients\":2,\"ratchet_history\":1,\"future\":{\"x\":[1]},"
		"\"capabilities\":[\"IDLE\",\"condstore\"]}\r\n"
		"\n   \n"
		"{\"op\":{\"set\":\"3,1:2\",\"kind\":\"FETCH\",\"items\":[\"uid\"],\"new\":1},"
		"\"ev\":\"invoke\",\"id\":5,\"c\":2,\"t\":0,\"extra\":null}\r\n"
		"{\"t\":1,\"c\":2,\"id\":5,\"ev\":\"ok\",\"status\":\"ok\",\"code\":{\"name\":"
		"\"INUSE\"},\"untagged\":[{\"fetch\":{\"seq\":1,\"flags\":[\"\\\\Recent\","
		"\"\\\\seen\"],\"size\":9,\"body_size\":9,\"x\":1},\"later\":2},"
		"{\"flags\":[\"\\\\Recent\",\"\\\\Draft\"]},{\"code\":{\"name\":\"PERMANENTFLAGS\","
		"\"flags\":[\"\\\\*\",\"\\\\Answered\"]}},{\"search\":\"\",\"modseq\":\"7\"}],"
		"\"text\":\"" "01234567890123456789012345678901234567890123456789012345678901"
		"12345678901234567890123456789012\xc3\xa9\"}";
	char err[256] = "";
	size_t n;
	model_event last;
	model_event_init(&last);
	CHECK_EQ(read_all(text, err, sizeof(err), &n, &last), 0);
	CHECK_STR(err, "");
	CHECK_EQ(n, 2);
	CHECK_EQ(last.op.kind, MODEL_OP_FETCH);
	CHECK_EQ(last.op.items, MODEL_F_UID);
	CHECK_EQ(cm_uidset_count(&last.op.set), 3);
	CHECK_EQ(last.res.status, MODEL_REPLY_OK);
	CHECK_EQ(last.res.code.kind, MODEL_CODE_OTHER);
	CHECK_STR(last.res.code.text, "INUSE");
	REQUIRE(last.res.nut == 4);
	const model_fetch *fe = &last.res.ut[0].fetch;
	CHECK(fe->recent);
	CHECK_EQ(fe->flags, CM_FLAG_SEEN);
	CHECK_EQ(fe->has, MODEL_F_FLAGS | MODEL_F_SIZE | MODEL_F_BODY);
	CHECK_EQ(fe->size, 9);
	CHECK_EQ(last.res.ut[1].flags, CM_FLAG_DRAFT);
	CHECK(last.res.ut[2].code.star);
	CHECK_EQ(last.res.ut[2].code.flags, CM_FLAG_ANSWERED);
	CHECK_EQ(last.res.ut[3].set.n, 0);
	CHECK_EQ(last.res.ut[3].value, 7);
	/* Cut to fit, not in the middle of the é. */
	CHECK_EQ(strlen(last.res.text), 94);
	model_event_free(&last);

	/* A header alone is an empty history. */
	CHECK_EQ(read_all(HDR, err, sizeof(err), &n, NULL), 0);
	CHECK_EQ(n, 0);
	/* Invokes still in flight at the end are not an error (lost replies). */
	CHECK_EQ(read_all(HDR "{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"invoke\",\"op\":"
			  "{\"kind\":\"noop\"}}\n", err, sizeof(err), &n, NULL), 0);
	CHECK_EQ(n, 1);
}

static void test_several_runs(void)
{
	/* ratchet run writes one header per run into one file; each run has
	 * its own ids and clock, and an error's line counts from the top. */
	const char *text =
		HDR INV(1, 1) NOOP OK(2, 1) "}\n"
		"{\"ratchet_history\":1,\"seed\":2,\"target\":\"t\",\"clients\":2}\n"
		INV(1, 1) NOOP
		"{\"ratchet_history\":1,\"seed\":3}\n"
		INV(1, 1) NOOP INV(1, 2) NOOP;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	model_history_header h;
	model_event ev;
	model_event_init(&ev);
	cm_err err = {""};
	int got[3][4] = {{0}};
	for (int seg = 0; seg < 3; seg++) {
		model_history_reader *r = model_history_reader_new(f, &h, &err);
		REQUIRE(r != NULL);
		CHECK_EQ(h.seed, (uint64_t)seg + 1);
		int rc, n = 0;
		while ((rc = model_history_read(r, &ev, &err)) == 1)
			n++;
		got[seg][0] = n;
		got[seg][1] = rc;
		CHECK_EQ(model_history_read(r, &ev, &err), rc); /* stays */
		model_history_reader_free(r);
	}
	CHECK_EQ(got[0][0], 2);
	CHECK_EQ(got[0][1], 2);
	CHECK_EQ(got[1][0], 1);
	CHECK_EQ(got[1][1], 2);
	CHECK_EQ(got[2][0], 1);
	CHECK_EQ(got[2][1], -1);
	CHECK_STR(err.text, "line 8: t 1 is not after the previous event's t 1 (times must "
		  "strictly increase)");
	/* Nothing is left after the last run. */
	CHECK(model_history_reader_new(f, NULL, &err) == NULL);
	CHECK(strstr(err.text, "empty history") != NULL);
	fclose(f);
	model_event_free(&ev);

	/* A header left behind is not taken by a reader of another FILE. */

	const char *two = HDR "{\"ratchet_history\":1,\"seed\":9}\n";
	f = fmemopen((void *)two, strlen(two), "r");
	model_history_reader *r = model_history_reader_new(f, NULL, NULL);
	REQUIRE(r != NULL);
	CHECK_EQ(model_history_read(r, &ev, NULL), 2);
	model_history_reader_free(r);
	FILE *g = fmemopen((void *)HDR, strlen(HDR), "r");
	r = model_history_reader_new(g, &h, NULL);
	REQUIRE(r != NULL);
	CHECK_EQ(h.seed, 1);
	model_history_reader_free(r);
	fclose(g);
	fclose(f);
}

int main(void)
{
	RUN(test_protocol_error_field);
	RUN(test_lenient_input);
	RUN(test_several_runs);
	TEST_EXIT();
}
