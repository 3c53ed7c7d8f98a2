/* The history codec on the test history (history_test.h): every field
 * survives a round trip, output is byte-identical and has the documented
 * shape, invalid UTF-8 in texts is written as valid JSON.
 * "test_model_history_round_trip --dump" prints the test history;
 * "--bench [N]" measures write and read rates instead. */
#include "history_test.h"

static bool eq_ok;

static const char *eq_ctx;

#define EQ(a, b, field)                                                       \
	do {                                                                  \
		if ((a)->field != (b)->field) {                               \
			fprintf(stderr, "%s: %s differs\n", eq_ctx, #field);  \
			eq_ok = false;                                        \
		}                                                             \
	} while (0)

#define EQ_SET(a, b, field)                                                   \
	do {                                                                  \
		if (!cm_uidset_equal(&(a)->field, &(b)->field)) {             \
			fprintf(stderr, "%s: set %s differs\n", eq_ctx, #field); \
			eq_ok = false;                                        \
		}                                                             \
	} while (0)

#define EQ_STR(a, b, field)                                                   \
	do {                                                                  \
		if (strcmp((a)->field, (b)->field) != 0) {                    \
			fprintf(stderr, "%s: %s \"%s\" != \"%s\"\n", eq_ctx, #field, \
				(a)->field, (b)->field);                      \
			eq_ok = false;                                        \
		}                                                             \
	} while (0)

static void op_eq(const model_op *a, const model_op *b)
{
	EQ(a, b, kind); EQ(a, b, uid); EQ_SET(a, b, set); EQ_STR(a, b, mailbox);
	EQ(a, b, readonly); EQ(a, b, condstore); EQ(a, b, qresync);
	EQ(a, b, q_uidvalidity); EQ(a, b, q_modseq); EQ_SET(a, b, q_known);
	EQ(a, b, mode); EQ(a, b, flags); EQ(a, b, silent);
	EQ(a, b, has_unchangedsince); EQ(a, b, unchangedsince);
	EQ(a, b, items); EQ(a, b, has_changedsince); EQ(a, b, changedsince);
	EQ(a, b, vanished); EQ_STR(a, b, msg_id); EQ(a, b, body_hash); EQ(a, b, size);
	EQ(a, b, caps); EQ(a, b, status_items); EQ(a, b, fault); EQ(a, b, fault_client);
	EQ(a, b, replica); EQ(a, b, peer); EQ(a, b, opaque);
}

static void code_eq(const model_code *a, const model_code *b)
{
	EQ(a, b, kind); EQ(a, b, uidvalidity); EQ(a, b, value);
	EQ_SET(a, b, set); EQ_SET(a, b, dst); EQ(a, b, flags); EQ(a, b, star);
	EQ_STR(a, b, text);
}

static void fetch_eq(const model_fetch *a, const model_fetch *b)
{
	EQ(a, b, has); EQ(a, b, uid); EQ(a, b, flags); EQ(a, b, recent);
	EQ(a, b, modseq); EQ(a, b, body_hash); EQ(a, b, size); EQ(a, b, idate);
	EQ_STR(a, b, id); EQ(a, b, duplicate_items);
}

static void status_eq(const model_status_data *a, const model_status_data *b)
{
	EQ_STR(a, b, mailbox); EQ(a, b, has); EQ(a, b, messages); EQ(a, b, recent);
	EQ(a, b, uidnext); EQ(a, b, uidvalidity); EQ(a, b, unseen);
	EQ(a, b, highestmodseq);
}

static void ut_eq(const model_untagged *a, const model_untagged *b)
{
	EQ(a, b, kind); EQ(a, b, n); EQ(a, b, earlier); EQ(a, b, value);
	EQ_SET(a, b, set); EQ(a, b, flags); EQ(a, b, caps);
	fetch_eq(&a->fetch, &b->fetch);
	code_eq(&a->code, &b->code);
	status_eq(&a->status, &b->status);
}

static void result_eq(const model_result *a, const model_result *b)
{
	EQ(a, b, status); EQ(a, b, nut); EQ_STR(a, b, text); EQ_STR(a, b, anomaly);
	EQ_STR(a, b, protocol);
	code_eq(&a->code, &b->code);
	for (size_t i = 0; i < a->nut && i < b->nut; i++)
		ut_eq(&a->ut[i], &b->ut[i]);
}

static bool event_eq(const model_event *a, const model_event *b, size_t idx)
{
	char ctx[64];
	snprintf(ctx, sizeof(ctx), "event %zu", idx);
	eq_ctx = ctx;
	eq_ok = true;
	EQ(a, b, type); EQ(a, b, client); EQ(a, b, op_id); EQ(a, b, t_ns);
	op_eq(&a->op, &b->op);
	result_eq(&a->res, &b->res);
	return eq_ok;
}

static void test_coverage(void)
{
	/* The round trip below is only as good as the history it uses. */
	evlist l = {0};
	bool ops[MODEL_OP_KIND_COUNT] = {0}, uts[MODEL_UT_KIND_COUNT] = {0};
	bool codes[MODEL_CODE_KIND_COUNT] = {0}, faults[MODEL_FAULT_HEAL + 1] = {0}, types[4] = {0};
	build_events(&l);
	for (size_t i = 0; i < l.n; i++) {
		const model_event *ev = &l.v[i];
		ops[ev->op.kind] = true;
		types[ev->type] = true;
		faults[ev->op.fault] = true;
		codes[ev->res.code.kind] = true;
		for (size_t j = 0; j < ev->res.nut; j++) {
			uts[ev->res.ut[j].kind] = true;
			codes[ev->res.ut[j].code.kind] = true;
		}
	}
	for (int k = 1; k < MODEL_OP_KIND_COUNT; k++)
		CHECK(ops[k]);
	for (int k = 0; k < MODEL_UT_KIND_COUNT; k++)
		CHECK(uts[k]);
	for (int k = 1; k < MODEL_CODE_KIND_COUNT; k++)
		CHECK(codes[k]);
	for (int k = 1; k < 6; k++)
		CHECK(faults[k]);
	for (int k = 0; k < 4; k++)
		CHECK(types[k]);
	evlist_free(&l);
}

static void test_round_trip(void)
{
	evlist l = {0};
	build_events(&l);
	size_t len;
	char *text = write_history(&test_header, l.v, l.n, &len);
	FILE *f = fmemopen(text, len, "r");
	cm_err err = {""};
	model_history_header h;
	model_history_reader *r = model_history_reader_new(f, &h, &err);
	REQUIRE(r != NULL);
	CHECK_EQ(h.version, 1);
	CHECK_EQ(h.seed, 123);
	CHECK_STR(h.target, "sim");
	CHECK_EQ(h.capabilities, test_header.capabilities);
	CHECK_EQ(h.clients, 4);
	CHECK_STR(h.mutant, "");
	/* One event reused for every read, as the checker does. */
	model_event ev;
	model_event_init(&ev);
	size_t n = 0;
	int rc;
	while ((rc = model_history_read(r, &ev, &err)) == 1) {
		REQUIRE(n < l.n);
		CHECK(event_eq(&l.v[n], &ev, n));
		n++;
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(n, l.n);
	size_t now, peak;
	hj_reader_pending(r, &now, &peak);
	CHECK_EQ(now, 0);
	CHECK_EQ(peak, 2);
	model_event_free(&ev);
	model_history_reader_free(r);
	fclose(f);
	free(text);
	evlist_free(&l);
}

static void test_byte_identical(void)
{
	evlist l = {0};
	build_events(&l);
	size_t len1, len2, len3;
	char *a = write_history(&test_header, l.v, l.n, &len1);
	char *b = write_history(&test_header, l.v, l.n, &len2);
	CHECK_EQ(len1, len2);
	CHECK(len1 == len2 && memcmp(a, b, len1) == 0);

	/* Read back and written again: a fixed point. */
	evlist back = {0};
	FILE *f = fmemopen(a, len1, "r");
	model_history_header h;
	model_history_reader *r = model_history_reader_new(f, &h, NULL);
	REQUIRE(r != NULL);
	model_event *ev = ev_add(&back, MODEL_EV_INVOKE, 0);
	while (model_history_read(r, ev, NULL) == 1)
		ev = ev_add(&back, MODEL_EV_INVOKE, 0);
	back.n--; /* the last one was freed by the reader at the end */
	model_history_reader_free(r);
	fclose(f);
	char *c = write_history(&h, back.v, back.n, &len3);
	CHECK(len1 == len3 && memcmp(a, c, len1) == 0);
	free(a);
	free(b);
	free(c);
	evlist_free(&back);
	evlist_free(&l);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	fprintf(stderr, "missing line: %s\n", line);
	return false;
}

static void test_format(void)
{
	/* The documented shape (docs/history.md), byte for byte. */
	evlist l = {0};
	build_events(&l);
	char *t = write_history(&test_header, l.v, l.n, NULL);
	CHECK(strncmp(t, "{\"ratchet_history\":1,\"seed\":123,\"target\":\"sim\","
		      "\"capabilities\":[\"UIDPLUS\",\"CONDSTORE\",\"QRESYNC\",\"MOVE\","
		      "\"ENABLE\"],\"clients\":4}\n", 111) == 0);
	CHECK(has_line(t, "{\"t\":1001,\"c\":1,\"id\":1,\"ev\":\"invoke\",\"op\":"
		       "{\"kind\":\"connect\"}}"));
	CHECK(has_line(t, "{\"t\":2003,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\"}"));
	CHECK(has_line(t, "{\"t\":17048,\"c\":1,\"id\":9,\"ev\":\"invoke\",\"op\":"
		       "{\"kind\":\"store\",\"uid\":true,\"set\":\"1:3,7\",\"mode\":\"+\","
		       "\"flags\":[\"\\\\Seen\",\"$Junk\"],\"unchangedsince\":0}}"));
	CHECK(has_line(t, "{\"t\":18052,\"c\":1,\"id\":9,\"ev\":\"ok\",\"status\":\"OK\","
		       "\"code\":{\"name\":\"MODIFIED\",\"set\":\"7\"},\"untagged\":[{\"fetch\":"
		       "{\"seq\":1,\"uid\":1,\"flags\":[\"\\\\Seen\",\"$Junk\"],\"recent\":true,"
		       "\"modseq\":9223372036854775807}}]}"));
	CHECK(strstr(t, "{\"fetch\":{\"seq\":4294967295,\"uid\":4294967295,\"flags\":"
		     "[\"\\\\Draft\",\"$Forwarded\"],\"recent\":true,\"modseq\":"
		     "\"9223372036854775808\",\"body_hash\":\"ffffffffffffffff\","
		     "\"body_size\":77,\"size\":77,\"idate\":-86400,\"id\":\"r-2-17\","
		     "\"dup\":true}}") != NULL);
	CHECK(strstr(t, "\"ev\":\"info\",\"op\":{\"kind\":\"fault\",\"mailbox\":\"INBOX\","
		     "\"fault\":\"index-loss\"},\"status\":\"unknown\"}\n") != NULL);
	CHECK(strstr(t, "\"ev\":\"info\",\"op\":{\"kind\":\"fault\",\"fault\":\"kill\","
		     "\"fault_client\":2},\"status\":\"unknown\"}\n") != NULL);
	CHECK(strstr(t, "{\"search\":\"\"}") != NULL);
	CHECK(strstr(t, "\"id\":\"18446744073709551615\"") != NULL);
	CHECK(strstr(t, "\"mailbox\":\"Archive/2024 \xc3\xbc \\\"q\\\" \\\\ b\"") != NULL);
	free(t);
	evlist_free(&l);

	/* A big seed, a mutant. */
	model_history_header h = test_header;
	h.seed = UINT64_MAX;
	h.capabilities = 0;
	snprintf(h.mutant, sizeof(h.mutant), "skip-fsync");
	t = write_history(&h, NULL, 0, NULL);
	CHECK_STR(t, "{\"ratchet_history\":1,\"seed\":\"18446744073709551615\","
		  "\"target\":\"sim\",\"capabilities\":[],\"clients\":4,"
		  "\"mutant\":\"skip-fsync\"}\n");
	FILE *f = fmemopen(t, strlen(t), "r");
	model_history_header back;
	model_history_reader *r = model_history_reader_new(f, &back, NULL);
	REQUIRE(r != NULL);
	CHECK(back.seed == UINT64_MAX);
	CHECK_STR(back.mutant, "skip-fsync");
	model_history_reader_free(r);
	fclose(f);
	free(t);
}

static void test_invalid_utf8_written(void)
{
	/* Servers send any bytes in texts; the history stays valid JSON. */
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	ev.op_id = 1;
	ev.client = 1;
	model_op_init(&ev.op, MODEL_OP_NOOP);
	model_event evs[2] = {ev, ev};
	evs[1].type = MODEL_EV_FAIL;
	evs[1].t_ns = 1;
	evs[1].res.status = MODEL_REPLY_NO;
	snprintf(evs[1].res.text, sizeof(evs[1].res.text), "caf\xe9 \xc3\xa9 \xed\xa0\x80!");
	char *t = write_history(&test_header, evs, 2, NULL);
	model_event last;
	model_event_init(&last);
	char err[256] = "";
	CHECK_EQ(read_all(t, err, sizeof(err), NULL, &last), 0);
	CHECK_STR(last.res.text, "caf\xef\xbf\xbd \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd"
		  "\xef\xbf\xbd!");
	model_event_free(&last);
	free(t);
}

static void bench_events(evlist *l, size_t n)
{
	uint64_t ids[4];
	size_t c = 0;
	while (l->n + 8 <= n) {
		for (c = 0; c < 4; c++) {
			model_op *op = invoke(l, (uint32_t)c + 1,
					      l->n % 3 ? MODEL_OP_STORE : MODEL_OP_FETCH, &ids[c]);
			op->uid = true;
			cm_uidset_add_range(&op->set, (uint32_t)(l->n % 500) + 1,
					    (uint32_t)(l->n % 500) + 2);
			if (op->kind == MODEL_OP_STORE) {
				op->mode = MODEL_STORE_ADD;
				op->flags = flags_of("\\Seen $Junk");
			} else {
				op->items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
			}
		}
		for (c = 0; c < 4; c++) {
			model_result *r = complete(l, ids[c], MODEL_EV_OK, MODEL_REPLY_OK);
			for (uint32_t k = 0; k < 2; k++) {
				model_untagged *u = ut_fetch(r, k + 1, MODEL_F_UID | MODEL_F_FLAGS |
							     MODEL_F_MODSEQ);
				u->fetch.uid = (uint32_t)(l->n % 500) + k + 1;
				u->fetch.flags = flags_of("\\Seen $Junk");
				u->fetch.modseq = 1000000 + l->n;
			}
		}
	}
}

static int bench(size_t n)
{
	evlist l = {0};
	bench_events(&l, n);
	/* Writing to /dev/null: the codec's cost, not the memory stream's. */
	FILE *null = fopen("/dev/null", "w");
	REQUIRE(null != NULL);
	uint64_t t0 = cm_now_ns();
	model_history_writer *w = model_history_writer_new(null, &test_header);
	for (size_t i = 0; i < l.n; i++)
		REQUIRE(model_history_write(w, &l.v[i]) == 0);
	REQUIRE(model_history_writer_finish(w) == 0);
	uint64_t wt = cm_now_ns() - t0;
	fclose(null);
	size_t len;
	char *text = write_history(&test_header, l.v, l.n, &len);
	uint64_t t1 = cm_now_ns();
	FILE *f = fmemopen(text, len, "r");
	model_history_reader *r = model_history_reader_new(f, NULL, NULL);
	REQUIRE(r != NULL);
	model_event ev;
	model_event_init(&ev);
	size_t got = 0;
	while (model_history_read(r, &ev, NULL) == 1)
		got++;
	uint64_t t2 = cm_now_ns();
	model_event_free(&ev);
	model_history_reader_free(r);
	fclose(f);
	/* jansson alone, for the record: the floor under the reader. */
	size_t lines = 0;
	for (char *p = text, *e; (e = strchr(p, '\n')) != NULL; p = e + 1, lines++)
		json_decref(json_loadb(p, (size_t)(e - p), 0, NULL));
	uint64_t t3 = cm_now_ns();
	printf("events %zu, %.1f MB (%.0f bytes/event)\n", l.n, len / 1e6,
	       (double)len / (double)l.n);
	printf("write: %.0f events/s\n", l.n / (wt / 1e9));
	printf("read:  %.0f events/s (%zu read)\n", got / ((t2 - t1) / 1e9), got);
	printf("json_loadb alone: %.0f lines/s\n", lines / ((t3 - t2) / 1e9));
	free(text);
	evlist_free(&l);
	return got == l.n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--dump") == 0) {
		/* The test history, for reading (docs/history.md examples). */
		evlist l = {0};
		build_events(&l);
		char *t = write_history(&test_header, l.v, l.n, NULL);
		fputs(t, stdout);
		free(t);
		evlist_free(&l);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return bench(argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 1000000);
	RUN(test_coverage);
	RUN(test_round_trip);
	RUN(test_byte_identical);
	RUN(test_format);
	RUN(test_invalid_utf8_written);
	TEST_EXIT();
}
