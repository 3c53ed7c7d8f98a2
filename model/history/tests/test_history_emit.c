/* The writer's direct encoder (history_emit.h) against jansson's
 * (hj_event_to_json, hj_header_to_json), byte for byte: the test history,
 * hand-made edge cases of every value type, random events (history_gen.h)
 * and every event of the recorded histories in the directory ctest passes
 * (fuzz/corpus/history: simulator runs and crafted files), read back.
 * Histories replay byte-identically only while the two agree. */
#include "history_gen.h"
#include "history_test.h"

#include <dirent.h>

static cm_buf g_a, g_b;
static size_t g_written, g_refused;

/* Both encoders on ev; they must agree. want_written: -1 either, 0 both
 * must refuse, 1 both must write. */
static void check_event(const model_event *ev, int want_written)
{
	char why[512];
	bool written;
	if (gen_compare(ev, &g_a, &g_b, &written, why, sizeof(why)) != 0) {
		fprintf(stderr, "encoders disagree (op %s, %zu untagged): %s\n",
			model_op_name(ev->op.kind), ev->res.nut, why);
		cm_test_failures++;
		return;
	}
	if (want_written >= 0 && written != (want_written == 1)) {
		fprintf(stderr, "expected the event %s: %s\n",
			want_written ? "written" : "refused", g_a.data ? g_a.data : "");
		cm_test_failures++;
	}
	*(written ? &g_written : &g_refused) += 1;
}

static void check_header(const model_history_header *h)
{
	cm_buf_clear(&g_a);
	cm_buf_clear(&g_b);
	CHECK_EQ(hj_emit_header(&g_a, h), 0);
	CHECK_EQ(hj_json_dump(&g_b, hj_header_to_json(h)), 0);
	CHECK_STR(g_a.data, g_b.data);
}

static void test_test_history(void)
{
	evlist l = {0};
	build_events(&l);
	for (size_t i = 0; i < l.n; i++)
		check_event(&l.v[i], 1);
	evlist_free(&l);
	check_header(&test_header);
}

/* Every op kind on every event type, and past the last kind. */
static void test_every_kind(void)
{
	model_event ev;
	model_event_init(&ev);
	for (int t = MODEL_EV_INVOKE; t <= MODEL_EV_INFO + 1; t++) {
		for (int k = MODEL_OP_NONE; k <= MODEL_OP_KIND_COUNT; k++) {
			ev.type = (model_ev_type)t;
			model_op_init(&ev.op, (model_op_kind)k);
			bool op_written = t == MODEL_EV_INVOKE ||
					  (t == MODEL_EV_INFO && k == MODEL_OP_FAULT);
			bool ok = t <= MODEL_EV_INFO &&
				  (!op_written || (k > MODEL_OP_NONE && k < MODEL_OP_KIND_COUNT));
			check_event(&ev, ok);
		}
	}
	model_event_free(&ev);
}

/* A completion with one untagged response of each kind and each code. */
static void test_every_untagged_and_code(void)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_OK;
	for (int k = 0; k <= MODEL_UT_KIND_COUNT; k++) {
		model_result_clear(&ev.res);
		model_result_add(&ev.res, (model_ut_kind)k);
		check_event(&ev, k < MODEL_UT_KIND_COUNT);
	}
	for (int k = 0; k <= MODEL_CODE_KIND_COUNT; k++) {
		model_result_clear(&ev.res);
		ev.res.code.kind = (model_code_kind)k;
		check_event(&ev, k < MODEL_CODE_KIND_COUNT);
		model_untagged *u = model_result_add(&ev.res, MODEL_UT_CODE);
		u->code.kind = (model_code_kind)k; /* kind NONE here gives {"code":{}} */
		check_event(&ev, k < MODEL_CODE_KIND_COUNT);
	}
	for (int st = MODEL_REPLY_NONE; st <= MODEL_REPLY_UNKNOWN + 1; st++) {
		model_result_clear(&ev.res);
		ev.res.status = (model_reply)st;
		check_event(&ev, 1);
	}
	model_event_free(&ev);
}

/* Every string field of an event set to s (cut to each field's size). */
static void fill_strings(model_event *ev, const char *s)
{
	model_untagged *f = &ev->res.ut[0], *st = &ev->res.ut[1], *c = &ev->res.ut[2];
	snprintf(ev->op.mailbox, sizeof(ev->op.mailbox), "%s", s);
	snprintf(ev->op.msg_id, sizeof(ev->op.msg_id), "%s", s);
	snprintf(ev->res.code.text, sizeof(ev->res.code.text), "%s", s);
	snprintf(ev->res.text, sizeof(ev->res.text), "%s", s);
	snprintf(ev->res.anomaly, sizeof(ev->res.anomaly), "%s", s);
	snprintf(ev->res.protocol, sizeof(ev->res.protocol), "%s", s);
	snprintf(f->fetch.id, sizeof(f->fetch.id), "%s", s);
	snprintf(st->status.mailbox, sizeof(st->status.mailbox), "%s", s);
	snprintf(c->code.text, sizeof(c->code.text), "%s", s);
}

/* An info event of a fault: op and reply both written, every string. */
static void string_event(model_event *ev)
{
	model_event_init(ev);
	ev->type = MODEL_EV_INFO;
	model_op_init(&ev->op, MODEL_OP_FAULT);
	ev->op.fault = MODEL_FAULT_INDEX_LOSS;
	ev->res.code.kind = MODEL_CODE_OTHER;
	model_result_add(&ev->res, MODEL_UT_FETCH)->fetch.has = MODEL_F_ID;
	model_result_add(&ev->res, MODEL_UT_STATUS);
	model_result_add(&ev->res, MODEL_UT_CODE)->code.kind = MODEL_CODE_OTHER;
}

static void test_strings(void)
{
	static const char *const cases[] = {
		"plain", "q\"uote", "back\\slash", "sl/ash", "\b\f\n\r\t", "\x01\x02\x1e\x1f",
		"del\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
		"lone \x80 cont", "over \xc0\x80 long \xe0\x80\x80", "surr \xed\xa0\x80",
		"big \xf4\x90\x80\x80", "\xf5\xff\xfe", "cut \xe2\x82", "cut at end \xf0\x9f\x98",
		"\\u0041 \"\\\"", "\xef\xbf\xbd replacement",
		"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xf0\x90\x80\x80",
		"\xe0\x9f\xbf \xed\xbf\xbf \xf0\x8f\xbf\xbf \xe2\x28\xa1 \xf0\x9f\x98\x28",
	};
	model_event ev;
	string_event(&ev);
	for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
		fill_strings(&ev, cases[i]);
		check_event(&ev, 1);
	}
	/* Every byte value alone, and after a lead byte. */
	for (int c = 1; c < 256; c++) {
		char s[4] = {(char)c, 0, 0, 0};
		fill_strings(&ev, s);
		check_event(&ev, 1);
		char t[4] = {(char)0xe2, (char)0x82, (char)c, 0};
		fill_strings(&ev, t);
		check_event(&ev, 1);
	}
	model_event_free(&ev);
}

/* Strings at their size: the longest that fit, and arrays filled to the
 * end without a NUL (read up to their size, as hj_str reads them), cut in
 * the middle of a UTF-8 sequence or not. */
static void test_max_length_strings(void)
{
	model_event ev;
	string_event(&ev);
	char big[512];
	for (int fill = 0; fill < 4; fill++) {
		static const char *const units[] = {"x", "\xc3\xa9", "\xe2\x82\xac", "\"\\\n"};
		size_t n = 0, u = strlen(units[fill]);
		while (n + u < sizeof(big)) {
			memcpy(big + n, units[fill], u);
			n += u;
		}
		big[n] = '\0';
		fill_strings(&ev, big); /* each field cut to its size - 1 */
		check_event(&ev, 1);
		/* No NUL: every byte of each array. */
		memcpy(ev.op.mailbox, big, sizeof(ev.op.mailbox));
		memcpy(ev.op.msg_id, big, sizeof(ev.op.msg_id));
		memcpy(ev.res.text, big, sizeof(ev.res.text));
		memcpy(ev.res.anomaly, big, sizeof(ev.res.anomaly));
		memcpy(ev.res.protocol, big, sizeof(ev.res.protocol));
		memcpy(ev.res.code.text, big, sizeof(ev.res.code.text));
		memcpy(ev.res.ut[0].fetch.id, big, sizeof(ev.res.ut[0].fetch.id));
		memcpy(ev.res.ut[1].status.mailbox, big, sizeof(ev.res.ut[1].status.mailbox));
		check_event(&ev, 1);
	}
	model_event_free(&ev);

	model_history_header h = test_header;
	memset(h.target, 'T', sizeof(h.target));
	memset(h.mutant, '\xe2', sizeof(h.mutant));
	check_header(&h);
	snprintf(h.target, sizeof(h.target), "imap://\"host\"\\:143/\n\xff");
	h.mutant[0] = '\0';
	check_header(&h);
}

/* Every u64 field at the edges of the integer form, u32 and i64 too. */
static void test_numbers(void)
{
	static const uint64_t u64s[] = {
		0, 1, 9, 10, UINT32_MAX, (uint64_t)INT64_MAX - 1, (uint64_t)INT64_MAX,
		(uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	static const int64_t i64s[] = {INT64_MIN, INT64_MIN + 1, -86400, -1, 0, 1, INT64_MAX};
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INFO;
	model_op_init(&ev.op, MODEL_OP_FAULT);
	ev.op.qresync = ev.op.has_unchangedsince = ev.op.has_changedsince = true;
	ev.res.code.kind = MODEL_CODE_HIGHESTMODSEQ;
	model_untagged *f = model_result_add(&ev.res, MODEL_UT_FETCH);
	f->fetch.has = MODEL_F_MODSEQ | MODEL_F_IDATE | MODEL_F_UID | MODEL_F_SIZE |
		       MODEL_F_BODY;
	model_result_add(&ev.res, MODEL_UT_SEARCH);
	model_result_add(&ev.res, MODEL_UT_STATUS)->status.has = 0x3f;
	for (size_t i = 0; i < CM_ARRAY_LEN(u64s); i++) {
		uint64_t v = u64s[i];
		uint32_t v32 = (uint32_t)v;
		ev.t_ns = ev.op_id = ev.op.q_modseq = ev.op.unchangedsince = v;
		ev.op.changedsince = ev.op.body_hash = ev.res.code.value = v;
		ev.res.ut[0].fetch.modseq = ev.res.ut[0].fetch.body_hash = v;
		ev.res.ut[1].value = ev.res.ut[2].status.highestmodseq = v;
		ev.client = ev.op.q_uidvalidity = ev.op.size = ev.op.fault_client = v32;
		ev.res.ut[0].n = ev.res.ut[0].fetch.uid = ev.res.ut[0].fetch.size = v32;
		ev.res.ut[2].status.messages = ev.res.ut[2].status.unseen = v32;
		ev.res.code.uidvalidity = v32;
		ev.res.ut[0].fetch.idate = i64s[i % CM_ARRAY_LEN(i64s)];
		check_event(&ev, 1);
		model_history_header h = test_header;
		h.seed = v;
		h.clients = v32;
		check_header(&h);
	}
	for (size_t i = 0; i < CM_ARRAY_LEN(i64s); i++) {
		ev.res.ut[0].fetch.idate = i64s[i];
		check_event(&ev, 1);
	}
	model_event_free(&ev);
}

/* Empty and full sets, flags and bit lists; many keywords; a flag bit
 * without a name (both refuse). */
static void test_sets_and_flags(void)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	model_op_init(&ev.op, MODEL_OP_STORE);
	check_event(&ev, 1); /* every optional field empty */
	ev.type = MODEL_EV_OK;
	model_result_add(&ev.res, MODEL_UT_SEARCH); /* {"search":""} */
	model_result_add(&ev.res, MODEL_UT_VANISHED);
	model_result_add(&ev.res, MODEL_UT_FLAGS); /* {"flags":[]} */
	model_result_add(&ev.res, MODEL_UT_ENABLED); /* {"enabled":[]} */
	model_result_add(&ev.res, MODEL_UT_FETCH)->fetch.has = MODEL_F_FLAGS;
	check_event(&ev, 1);
	/* 59 keywords, the most a history may use, then all 64 bits named. */
	char name[32];
	for (int i = 0; cm_flag_name(CM_FLAGS_MAX - 1) == NULL; i++) {
		snprintf(name, sizeof(name), i % 3 ? "$Kw/%d" : "kw'%d~!#&", i);
		REQUIRE(cm_flag_intern(name, strlen(name)) >= 0);
	}
	ev.type = MODEL_EV_INVOKE;
	ev.op.flags = ~(cm_flags)0;
	ev.op.items = ~0u;
	ev.op.caps = ~0u;
	ev.op.status_items = ~0u;
	for (uint32_t i = 0; i < 200; i++)
		cm_uidset_add_range(&ev.op.set, 3 * i + 1, 3 * i + 1 + i % 2);
	cm_uidset_add(&ev.op.set, UINT32_MAX);
	cm_uidset_copy(&ev.op.q_known, &ev.op.set);
	ev.op.qresync = true;
	check_event(&ev, 1);
	ev.type = MODEL_EV_OK;
	ev.res.ut[2].flags = ev.res.ut[4].fetch.flags = ~(cm_flags)0;
	ev.res.ut[3].caps = ~0u;
	ev.res.code.kind = MODEL_CODE_PERMANENTFLAGS;
	ev.res.code.flags = ~(cm_flags)0;
	ev.res.code.star = true;
	check_event(&ev, 1);
	model_event_free(&ev);
}

/* Out-of-range values: both refuse the whole event. */
static void test_unrepresentable(void)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	model_op_init(&ev.op, MODEL_OP_STORE);
	ev.op.mode = (model_store_mode)3;
	check_event(&ev, 0);
	model_op_init(&ev.op, MODEL_OP_FETCH);
	ev.op.mode = MODEL_STORE_REMOVE;
	check_event(&ev, 1);
	ev.op.mode = (model_store_mode)7;
	check_event(&ev, 0);
	model_op_init(&ev.op, MODEL_OP_FAULT);
	ev.op.fault = (model_fault)(MODEL_FAULT_HEAL + 1);
	check_event(&ev, 0);
	model_op_init(&ev.op, (model_op_kind)1000);
	check_event(&ev, 0);
	model_event_free(&ev);
}

/* Seeded random events, any field at any value (history_gen.h). */
static void test_random(void)
{
	const size_t n = 20000;
	cm_rng rng;
	cm_rng_seed(&rng, 12);
	uint8_t bytes[4096];
	model_event ev;
	model_event_init(&ev);
	for (size_t i = 0; i < n; i++) {
		size_t len = 64 + (size_t)cm_rng_below(&rng, sizeof(bytes) - 64);
		for (size_t k = 0; k < len; k++)
			bytes[k] = (uint8_t)cm_rng_next(&rng);
		gen_src g = {bytes, len, 0};
		gen_event(&g, &ev);
		check_event(&ev, -1);
	}
	model_event_free(&ev);
}

/* Every event of every history in dir, as the reader gives it back. */
static void test_recorded(const char *dir)
{
	DIR *d = opendir(dir);
	REQUIRE(d != NULL);
	size_t files = 0, events = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = de->d_name[0] == '.' ? NULL : fopen(path, "r");
		if (f == NULL)
			continue;
		files++;
		model_history_header h;
		model_history_reader *r;
		model_event ev;
		model_event_init(&ev);
		model_history_got got = MODEL_HISTORY_NEXT_RUN;
		while (got == MODEL_HISTORY_NEXT_RUN &&
		       (r = model_history_reader_new(f, &h, NULL)) != NULL) {
			check_header(&h);
			while ((got = model_history_read(r, &ev, NULL)) == MODEL_HISTORY_EVENT) {
				check_event(&ev, 1);
				events++;
			}
			model_history_reader_free(r);
		}
		model_event_free(&ev);
		fclose(f);
	}
	closedir(d);
	printf("recorded: %zu events of %zu files\n", events, files);
	CHECK(events > 500);
}

int main(int argc, char **argv)
{
	RUN(test_test_history);
	RUN(test_every_kind);
	RUN(test_every_untagged_and_code);
	RUN(test_strings);
	RUN(test_max_length_strings);
	RUN(test_numbers);
	RUN(test_sets_and_flags);
	RUN(test_unrepresentable);
	RUN(test_random);
	if (argc > 1)
		test_recorded(argv[1]);
	printf("%zu events written alike, %zu refused alike\n", g_written, g_refused);
	cm_buf_free(&g_a);
	cm_buf_free(&g_b);
	TEST_EXIT();
}
