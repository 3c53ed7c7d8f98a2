/* The reader's fast path against the general parser (jansson): every
 * history is read both ways in lockstep (hj_reader_set_mode), and the two
 * must agree event by event, field by field (hj_event_diff), and on the
 * end: the same result, the same error text. A third read in verify mode
 * checks each line the fast path takes against the general parser with
 * the same reader state.
 *
 * Read so: the test history of history_test.h as the writer writes it;
 * hand-written lines the fast path must leave to the general parser
 * (another key order, unknown keys, u64 strings, \u escapes, whitespace,
 * repeated keys) and lines both must reject; a few thousand byte-level
 * mutations of the test history; and the files or directories (*.jsonl)
 * given as arguments. "--fast N FILE" also asks that the fast path read at
 * least N% of FILE's event lines (ratchet's own histories: all of them, or
 * nearly; a regression there would cost speed, not correctness). */
#include "history_test.h"

#include <dirent.h>

typedef struct outcome {
	int got;                   /* the last model_history_read result */
	char err[sizeof(((cm_err *)0)->text)];
	uint64_t events, fast, general;
} outcome;

typedef struct side {
	FILE *f;
	model_history_reader *r;
	model_event ev;
	cm_err err;
	hj_read_mode mode;
	uint64_t fast, general;    /* of readers already freed */
} side;

static bool side_open(side *s, hj_read_mode mode)
{
	s->err.text[0] = '\0';
	s->r = model_history_reader_new(s->f, NULL, &s->err);
	if (s->r != NULL)
		hj_reader_set_mode(s->r, mode);
	return s->r != NULL;
}

static void side_close(side *s)
{
	uint64_t fast, general;
	if (s->r == NULL)
		return;
	hj_reader_lines(s->r, &fast, &general);
	s->fast += fast;
	s->general += general;
	model_history_reader_free(s->r);
	s->r = NULL;
}

/* The next event; at the end of a run, the next run's reader is made at
 * once (the reader keeps one run's header aside, per thread). */
static int side_next(side *s)
{
	int got = model_history_read(s->r, &s->ev, &s->err);
	if (got == MODEL_HISTORY_NEXT_RUN) {
		side_close(s);
		if (!side_open(s, s->mode))
			got = MODEL_HISTORY_ERROR;
	}
	return got;
}

/* Reads text in lockstep, fast path first (so that it meets each new
 * keyword before the general parser interns it); false on a difference,
 * said on stderr with name. */
static bool lockstep(const char *name, const char *text, size_t len, outcome *o)
{
	side a = {.f = fmemopen((void *)text, len, "r"), .mode = HJ_READ_FAST};
	side b = {.f = fmemopen((void *)text, len, "r"), .mode = HJ_READ_GENERAL};
	REQUIRE(a.f != NULL && b.f != NULL);
	model_event_init(&a.ev);
	model_event_init(&b.ev);
	bool same = side_open(&a, a.mode) == side_open(&b, b.mode);
	int got = a.r == NULL ? MODEL_HISTORY_ERROR : MODEL_HISTORY_NEXT_RUN;
	char what[64] = "";
	while (same && got != MODEL_HISTORY_ERROR && got != MODEL_HISTORY_END) {
		got = side_next(&a);
		same = got == side_next(&b);
		if (same && got == MODEL_HISTORY_EVENT) {
			o->events++;
			same = !hj_event_diff(&a.ev, &b.ev, what, sizeof(what));
		}
	}
	same = same && strcmp(a.err.text, b.err.text) == 0;
	if (!same)
		fprintf(stderr, "  %s: event %" PRIu64 ": the paths differ (%s); errors \"%s\" "
			"and \"%s\"\n", name, o->events + 1, what, a.err.text, b.err.text);
	side_close(&a);
	side_close(&b);
	o->got = got;
	snprintf(o->err, sizeof(o->err), "%s", a.err.text);
	o->fast = a.fast;
	o->general = a.general;
	model_event_free(&a.ev);
	model_event_free(&b.ev);
	fclose(a.f);
	fclose(b.f);
	return same;
}

/* Verify mode: cm_panic (an abort) on a line the paths read apart. */
static void verified(const char *text, size_t len)
{
	side v = {.f = fmemopen((void *)text, len, "r"), .mode = HJ_READ_VERIFY};
	REQUIRE(v.f != NULL);
	model_event_init(&v.ev);
	if (side_open(&v, v.mode)) {
		int got;
		while ((got = side_next(&v)) == MODEL_HISTORY_EVENT)
			;
	}
	side_close(&v);
	model_event_free(&v.ev);
	fclose(v.f);
}

/* Both checks; the outcome of the lockstep read. */
static outcome diff_read(const char *name, const char *text, size_t len)
{
	outcome o = {0};
	if (!lockstep(name, text, len, &o))
		cm_test_failures++;
	verified(text, len);
	return o;
}

/* ======================================================================
 * The writer's own output
 * ==================================================================== */

static void test_writer_history(void)
{
	evlist l = {0};
	size_t len;
	build_events(&l);
	char *text = write_history(&test_header, l.v, l.n, &len);
	outcome o = diff_read("test history", text, len);
	CHECK_EQ(o.got, MODEL_HISTORY_END);
	CHECK_EQ(o.events, l.n);
	/* All but the ids, times and modseq above 2^63-1 (strings) and the
	 * text with a control byte (\u0001). */
	CHECK_EQ(o.general, 4);
	CHECK_EQ(o.fast + o.general, l.n);
	free(text);
	evlist_free(&l);
}

/* ======================================================================
 * Hand-written lines
 * ==================================================================== */

/* Every line below follows this invoke (t 1, client 1, id 1), which the
 * fast path reads. */
#define PRE HDR INV(1, 1) NOOP
#define DONE2 "{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\""
#define INV2 "{\"t\":2,\"c\":1,\"id\":2,\"ev\":\"invoke\",\"op\":"

/* After PRE, line: the outcome, with the lines each path read. */
static outcome after_pre(const char *line, const char *end)
{
	char text[1024];
	snprintf(text, sizeof(text), PRE "%s%s", line, end);
	return diff_read(line, text, strlen(text));
}

static void expect_path(const char *line, bool fast)
{
	outcome o = after_pre(line, "\n");
	if (o.got != MODEL_HISTORY_END || o.fast != 1u + fast || o.general != !fast) {
		fprintf(stderr, "  %s: want %s, got %d \"%s\", %" PRIu64 " fast %" PRIu64
			" general\n", line, fast ? "fast" : "general", o.got, o.err, o.fast,
			o.general);
		cm_test_failures++;
	}
}

/* Valid lines the writer never writes: the general parser reads them. */
static void test_left_to_general(void)
{
	static const char *const lines[] = {
		"{\"c\":1,\"t\":2,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		DONE2 ",\"x\":[1,{\"y\":null}]}",
		DONE2 ",\"untagged\":[{\"fetch\":{\"seq\":1,\"xx\":1}}]}",
		DONE2 ",\"code\":{\"name\":\"UIDNEXT\",\"value\":5,\"why\":\"\"}}",
		DONE2 ",\"untagged\":[{\"status\":{\"mailbox\":\"A\",\"size\":1}}]}",
		"{\"t\":\"2\",\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		DONE2 ",\"untagged\":[{\"fetch\":{\"seq\":1,\"modseq\":\"18446744073709551615\"}}]}",
		DONE2 ",\"text\":\"caf\\u00e9\"}",
		DONE2 ",\"text\":\"\\ud83d\\ude00\"}",
		" " DONE2 "}", DONE2 "} ", DONE2 "}\t", "{\"t\": 2,\"c\":1,\"id\":1,\"ev\":\"ok\","
		"\"status\":\"OK\"}", DONE2 " }", DONE2 ",\"untagged\":[ ]}",
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"NO\",\"status\":\"OK\"}",
		"{\"t\":2,\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		INV2 "{\"kind\":\"noop\"},\"status\":7}",
		INV2 "{\"mailbox\":\"INBOX\",\"kind\":\"select\"}}",
		INV2 "{\"kind\":\"select\",\"qresync\":{\"modseq\":2,\"uidvalidity\":1}}}",
		INV2 "{\"kind\":\"select\",\"qresync\":{\"uidvalidity\":1,\"x\":3}}}",
		INV2 "{\"kind\":\"select\",\"mailbox\":\"\\u0041\"}}",
		DONE2 ",\"code\":{\"name\":\"COPYUID\",\"src\":\"1\",\"set\":\"2\"}}",
		DONE2 ",\"code\":{\"name\":\"COPYUID\",\"src\":\"1\",\"src\":\"2\"}}",
		DONE2 ",\"untagged\":[{\"earlier\":true,\"vanished\":\"1\"}]}",
		DONE2 ",\"untagged\":[{\"flags\":[\"$DifferentialNew\"]}]}",
		DONE2 ",\"untagged\":[{\"fetch\":{\"seq\":1,\"idate\":-0}}]}",
		"{\"t\":2,\"c\":-0,\"id\":2,\"ev\":\"invoke\",\"op\":{\"kind\":\"noop\"}}",
		"{\"t\":2,\"c\":1,\"id\":1,\"\\u0065v\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2,\"c\":0,\"id\":2,\"ev\":\"info\",\"op\":{\"kind\":\"fault\","
		"\"fault\":\"crash\",\"z\":0},\"status\":\"unknown\"}",
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\",\"untagged\":[],"
		"\"code\":{\"name\":\"READ-WRITE\"}}",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(lines); i++)
		expect_path(lines[i], false);
}

/* Valid lines the writer does not write quite so, which the fast path
 * reads as the general parser does: names in another case, false, escapes
 * it decodes, texts to cut. */
static void test_fast_alike(void)
{
	static const char *const lines[] = {
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"OK\",\"status\":\"ok\"}",
		INV2 "{\"kind\":\"NoOp\"}}",
		INV2 "{\"kind\":\"store\",\"uid\":false,\"set\":\"3,1:2,2\",\"mode\":\"+\","
		"\"flags\":[\"\\\\SEEN\",\"\\\\seen\",\"\\\\Recent\"]}}",
		INV2 "{\"kind\":\"fetch\",\"set\":\"4294967295:1\",\"items\":[\"uid\",\"Flags\","
		"\"UID\"]}}",
		INV2 "{\"kind\":\"enable\",\"caps\":[\"condstore\",\"X-UNKNOWN-CAPABILITY-NAME-"
		"LONGER-THAN-ANY\",\"QRESYNC\"]}}",
		INV2 "{\"kind\":\"select\",\"mailbox\":\"a\\\"b\\\\c\\/d\\n\xc3\xa9\xe2\x82\xac"
		"\xf0\x9f\x98\x80\",\"qresync\":{}}}",
		INV2 "{\"kind\":\"append\",\"body_hash\":\"ABCdef0123456789\",\"size\":0}}",
		DONE2 ",\"code\":{\"name\":\"appenduid\",\"uidvalidity\":1,\"uids\":\"\"}}",
		DONE2 ",\"code\":{\"name\":\"X-NEW\",\"text\":\"ignored\"}}",
		DONE2 ",\"code\":{\"name\":\"other\",\"text\":\"KEPT\"}}",
		DONE2 ",\"code\":{\"name\":\"\"}}",
		DONE2 ",\"code\":{\"name\":\"PERMANENTFLAGS\",\"flags\":[\"\\\\*\",\"\\\\Recent\"],"
		"\"star\":false}}",
		DONE2 ",\"untagged\":[{\"fetch\":{\"seq\":1,\"flags\":[\"\\\\Recent\"],"
		"\"recent\":false,\"body_size\":5,\"size\":5,\"idate\":-9223372036854775808}},"
		"{\"fetch\":{}},{\"exists\":0,\"earlier\":false},{\"bye\":true},{\"search\":\"\"}]}",
		DONE2 ",\"untagged\":[{\"status\":{}},{\"enabled\":[]},{\"code\":{}}]}",
		DONE2 ",\"text\":\"0123456789012345678901234567890123456789012345678901234567"
		"89012345678901234567890123456789\xc3\xa9\xc3\xa9\"}",
		DONE2 ",\"text\":\"0123456789012345678901234567890123456789012345678901234567"
		"890123456789012345678901234567890123\xc3\xa9\xc3\xa9\"}",
		DONE2 ",\"text\":\"\",\"anomaly\":\"\\t\\b\\f\\r\",\"protocol_error\":\"\\\\x00\"}",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(lines); i++)
		expect_path(lines[i], true);
	/* A "\r\n" line end is the reader's, before either path. */
	outcome o = after_pre(DONE2 "}", "\r\n");
	CHECK(o.got == MODEL_HISTORY_END && o.fast == 2 && o.general == 0);
}

/* After PRE, each line: the general parser's error, the fast path having
 * read only PRE's invoke. */
static void expect_rejected(const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		outcome o = after_pre(lines[i], "\n");
		if (o.got != MODEL_HISTORY_ERROR || o.fast != 1) {
			fprintf(stderr, "  %s: want an error, got %d, %" PRIu64 " fast\n",
				lines[i], o.got, o.fast);
			cm_test_failures++;
		}
	}
}

/* Lines the general parser rejects for their syntax, an event's head or
 * the reader's rules: the fast path must not take them. */
static void test_rejected_events(void)
{
	static const char *const lines[] = {
		DONE2, DONE2 "}x", DONE2 "}}", DONE2 ",}", DONE2 ",\"code\":null}",
		"{\"t\":-1,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2.5,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2e3,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":02,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":9223372036854775808,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2,\"c\":4294967296,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2,\"c\":1,\"id\":0,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"begin\",\"status\":\"OK\"}",
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"MAYBE\"}",
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\"}",
		"{\"t\":2,\"c\":1,\"id\":7,\"ev\":\"ok\",\"status\":\"OK\"}",
		"{\"t\":2,\"c\":2,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}",
		DONE2 ",\"op\":{\"kind\":\"noop\"}}",
		("{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"info\",\"op\":{\"kind\":\"noop\"},"
		 "\"status\":\"unknown\"}"),
		"{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"invoke\",\"op\":{\"kind\":\"noop\"}}",
		"{\"t\":2,\"c\":1,\"id\":2,\"ev\":\"invoke\"}",
	};
	expect_rejected(lines, CM_ARRAY_LEN(lines));
	/* A NUL in the line, where strings cannot hold one. */
	static const char nul[] = PRE DONE2 ",\"text\":\"a\0b\"}\n";
	outcome o = diff_read("NUL", nul, sizeof(nul) - 1);
	CHECK(o.got == MODEL_HISTORY_ERROR && strstr(o.err, "line 3: invalid JSON") != NULL);
}

/* Lines the general parser rejects for a value: the same. */
static void test_rejected_values(void)
{
	static const char *const lines[] = {
		DONE2 ",\"text\":\"\xc0\x80\"}", DONE2 ",\"text\":\"\xed\xa0\x80\"}",
		DONE2 ",\"text\":\"\x80\"}", DONE2 ",\"text\":\"\xf4\x90\x80\x80\"}",
		DONE2 ",\"text\":\"a\x01" "b\"}", DONE2 ",\"text\":\"\\u0000\"}",
		DONE2 ",\"text\":\"\\x\"}", DONE2 ",\"text\":\"\\ud800\"}",
		DONE2 ",\"text\":\"abc}", DONE2 ",\"text\":7}",
		INV2 "{\"kind\":\"select\",\"mailbox\":\"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
		"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\"}}",
		INV2 "{\"kind\":\"append\",\"msg_id\":\"123456789012345678901234567890123456"
		"789012345678\"}}",
		DONE2 ",\"code\":{\"name\":\"OTHER\",\"text\":\"12345678901234567890123456789012\"}}",
		DONE2 ",\"code\":{\"name\":\"X2345678901234567890123456789012\"}}",
		DONE2 ",\"untagged\":[{\"fetch\":{\"id\":\"1234567890123456789012345678901234567"
		"8901234567890\"}}]}",
		INV2 "{\"kind\":\"fetch\",\"set\":\"0\"}}", INV2 "{\"kind\":\"fetch\",\"set\":\"1:\"}}",
		INV2 "{\"kind\":\"fetch\",\"set\":\"*\"}}", INV2 "{\"kind\":\"fetch\",\"set\":\"3,,4\"}}",
		INV2 "{\"kind\":\"fetch\",\"set\":\"4294967296\"}}",
		INV2 "{\"kind\":\"fetch\",\"set\":\"01\"}}", INV2 "{\"kind\":\"fetch\",\"set\":7}}",
		INV2 "{\"kind\":\"append\",\"body_hash\":\"\"}}",
		INV2 "{\"kind\":\"append\",\"body_hash\":\"0123456789abcdef0\"}}",
		INV2 "{\"kind\":\"append\",\"body_hash\":\"xyz\"}}",
		INV2 "{\"kind\":\"store\",\"flags\":[\"\"]}}",
		INV2 "{\"kind\":\"store\",\"flags\":[\"a b\"]}}",
		INV2 "{\"kind\":\"store\",\"flags\":[\"\\\\*\"]}}",
		INV2 "{\"kind\":\"store\",\"flags\":[7]}}", INV2 "{\"kind\":\"store\",\"flags\":\"x\"}}",
		INV2 "{\"kind\":\"store\",\"flags\":[\"$k123456789012345678901234567890123456789"
		"0123456789012345678901234\"]}}",
		DONE2 ",\"untagged\":[{\"bye\":false}]}",
		DONE2 ",\"untagged\":[{\"exists\":1,\"recent\":2}]}",
		DONE2 ",\"untagged\":[{}]}", DONE2 ",\"untagged\":[{\"earlier\":true}]}",
		DONE2 ",\"untagged\":[{\"fetch\":{\"body_size\":1,\"size\":2}}]}",
		DONE2 ",\"untagged\":[7]}", DONE2 ",\"untagged\":{}}", DONE2 ",\"code\":[]}",
		INV2 "{\"uid\":true}}", INV2 "{\"kind\":\"none\"}}", INV2 "{\"kind\":\"frob\"}}",
		INV2 "{\"kind\":\"store\",\"mode\":\"x\"}}",
		INV2 "{\"kind\":\"fetch\",\"items\":[\"FOO\"]}}",
		INV2 "{\"kind\":\"status\",\"status_items\":[\"SIZE\"]}}",
		INV2 "{\"kind\":\"fault\",\"fault\":\"flood\"}}",
		INV2 "{\"kind\":\"select\",\"qresync\":true}}", INV2 "7}",
	};
	expect_rejected(lines, CM_ARRAY_LEN(lines));
}

/* Integers of every length from 1 to 21 digits, at and around the
 * limits (u32, 2^63-1), as t, c and a modseq: both paths agree, and the
 * fast path reads those it may. */
static void test_integers(void)
{
	static const char *const values[] = {
		"4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
		"9999999999999999999", "10000000000000000000", "18446744073709551615",
		"18446744073709551616", "0", "00", "07", "012345678901234567",
	};
	char num[32], line[256];
	for (size_t i = 0; i < 21 + CM_ARRAY_LEN(values); i++) {
		if (i < 21) { /* 1, 12, 123, ... 123456789012345678901 */
			for (size_t k = 0; k <= i; k++)
				num[k] = (char)('1' + k % 9);
			num[i + 1] = '\0';
		} else {
			snprintf(num, sizeof(num), "%s", values[i - 21]);
		}
		snprintf(line, sizeof(line), "{\"t\":2%s,\"c\":1,\"id\":2,\"ev\":\"invoke\","
			 "\"op\":{\"kind\":\"noop\"}}", num);
		after_pre(line, "\n");
		snprintf(line, sizeof(line), "{\"t\":2,\"c\":%s,\"id\":2,\"ev\":\"invoke\","
			 "\"op\":{\"kind\":\"noop\"}}", num);
		after_pre(line, "\n");
		snprintf(line, sizeof(line), DONE2 ",\"untagged\":[{\"fetch\":{\"seq\":1,"
			 "\"modseq\":%s}}]}", num);
		after_pre(line, "\n");
	}
	/* 19 digits up to 2^63-1 are read fast; 20 go to jansson. */
	outcome o = after_pre(DONE2 ",\"untagged\":[{\"fetch\":{\"modseq\":"
			      "9223372036854775807}}]}", "\n");
	CHECK(o.got == MODEL_HISTORY_END && o.fast == 2);
	o = after_pre(DONE2 ",\"untagged\":[{\"fetch\":{\"modseq\":"
		      "12345678901234567890}}]}", "\n");
	CHECK(o.got == MODEL_HISTORY_ERROR && o.fast == 1);
}

/* ======================================================================
 * Mutations of the writer's output
 * ==================================================================== */

/* One byte-level change at a random place: a byte replaced, dropped or
 * put in, or a short run of bytes repeated. */
static size_t mutate(cm_rng *rng, const char *text, size_t len, char *out)
{
	static const char bytes[] = "\"\\{}[],:0123456789-+.eE tfnux \t\r\n\x01\x7f\x80\xc3\xff"
				    "\\\\\"/";
	size_t at = (size_t)cm_rng_below(rng, len), n = len;
	char b = bytes[cm_rng_below(rng, sizeof(bytes) - 1)];
	memcpy(out, text, len);
	switch (cm_rng_below(rng, 4)) {
	case 0:
		out[at] = b;
		break;
	case 1:
		memmove(out + at, out + at + 1, len - at - 1);
		n--;
		break;
	case 2:
		memmove(out + at + 1, out + at, len - at);
		out[at] = b;
		n++;
		break;
	default: {
		size_t k = CM_MIN((size_t)cm_rng_below(rng, 8) + 1, len - at);
		memmove(out + at + k, out + at, len - at);
		n += k;
		break;
	}
	}
	return n;
}

static void test_mutations(void)
{
	evlist l = {0};
	size_t len;
	build_events(&l);
	char *text = write_history(&test_header, l.v, l.n, &len);
	char *buf = cm_xmalloc(len + 16);
	cm_rng rng;
	cm_rng_seed(&rng, 12);
	uint64_t valid = 0, fast = 0;
	for (int i = 0; i < 2000; i++) {
		size_t n = mutate(&rng, text, len, buf);
		char name[32];
		snprintf(name, sizeof(name), "mutation %d", i);
		outcome o = diff_read(name, buf, n);
		valid += o.got == MODEL_HISTORY_END;
		fast += o.fast;
	}
	/* Most mutants still read (a changed value), and the fast path took
	 * most lines: the comparison compared something. */
	CHECK(valid > 200);
	CHECK(fast > 2000 * (l.n / 2));
	free(buf);
	free(text);
	evlist_free(&l);
}

/* ======================================================================
 * Files
 * ==================================================================== */

static void diff_file(const char *path, unsigned fast_pct)
{
	FILE *f = fopen(path, "r");
	REQUIRE(f != NULL);
	char *text = NULL;
	size_t len = 0, n;
	FILE *m = open_memstream(&text, &len);
	char chunk[65536];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	outcome o = diff_read(path, text, len);
	fprintf(stderr, "  %s: %" PRIu64 " events, %" PRIu64 " lines fast, %" PRIu64
		" general, %s\n", path, o.events, o.fast, o.general,
		o.got == MODEL_HISTORY_END ? "valid" : o.err);
	if (o.fast * 100 < (o.fast + o.general) * fast_pct) {
		fprintf(stderr, "  %s: under %u%% of the lines fast\n", path, fast_pct);
		cm_test_failures++;
	}
	free(text);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every *.jsonl of a directory in name order. */
static void diff_path(const char *path, unsigned fast_pct)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		diff_file(path, fast_pct);
		return;
	}
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t k = strlen(de->d_name);
		if (k < 6 || strcmp(de->d_name + k - 6, ".jsonl") != 0)
			continue;
		CM_GROW(names, cap, count + 1);
		names[count] = cm_xmalloc(strlen(path) + k + 2);
		sprintf(names[count++], "%s/%s", path, de->d_name);
	}
	closedir(d);
	CHECK(count > 0);
	qsort(names, count, sizeof(*names), by_name);
	for (size_t i = 0; i < count; i++) {
		diff_file(names[i], fast_pct);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	unsigned fast_pct = 0;
	RUN(test_writer_history);
	RUN(test_left_to_general);
	RUN(test_fast_alike);
	RUN(test_rejected_events);
	RUN(test_rejected_values);
	RUN(test_integers);
	RUN(test_mutations);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--fast") == 0 && i + 1 < argc) {
			fast_pct = (unsigned)atoi(argv[++i]);
			continue;
		}
		int before = cm_test_failures;
		diff_path(argv[i], fast_pct);
		fprintf(stderr, "%s %s\n", cm_test_failures == before ? "ok  " : "FAIL", argv[i]);
	}
	TEST_EXIT();
}
