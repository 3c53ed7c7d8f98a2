/* The history reader's robustness: memory follows the ops in flight, not
 * the length of the history, and garbage or mutated input never crashes
 * it. */
#include "history_test.h"

/* pairs invoke/complete pairs, window of them in flight at once. */
static char *pairs_history(size_t pairs, size_t window, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	uint64_t t = 0;
	fputs(HDR, f);
	for (size_t i = 0; i < pairs + window; i++) {
		if (i >= window)
			fprintf(f, "{\"t\":%" PRIu64 ",\"c\":%zu,\"id\":%zu,\"ev\":\"ok\","
				"\"status\":\"OK\",\"untagged\":[{\"fetch\":{\"seq\":1,"
				"\"flags\":[\"\\\\Seen\"]}}]}\n", ++t, (i - window) % window + 1,
				i - window + 1);
		if (i < pairs)
			fprintf(f, "{\"t\":%" PRIu64 ",\"c\":%zu,\"id\":%zu,\"ev\":\"invoke\","
				"\"op\":{\"kind\":\"store\",\"set\":\"%zu\",\"mode\":\"+\","
				"\"flags\":[\"\\\\Seen\"]}}\n", ++t, i % window + 1, i + 1,
				i % 1000 + 1);
	}
	fclose(f);
	*len_r = len;
	return buf;
}

static void check_pairs(size_t pairs, size_t window)
{
	size_t len, now = 0, peak = 0, n = 0;
	char *text = pairs_history(pairs, window, &len);
	FILE *f = fmemopen(text, len, "r");
	model_history_reader *r = model_history_reader_new(f, NULL, NULL);
	REQUIRE(r != NULL);
	model_event ev;
	model_event_init(&ev);
	cm_err err = {""};
	int rc;
	while ((rc = model_history_read(r, &ev, &err)) == 1) {
		n++;
		if (n == pairs) /* halfway: the window is full */
			hj_reader_pending(r, &now, &peak);
		if (ev.type != MODEL_EV_INVOKE && ev.op.kind != MODEL_OP_STORE) {
			CHECK(ev.op.kind == MODEL_OP_STORE); /* the op came back */
			break;
		}
	}
	CHECK_EQ(rc, 0);
	CHECK_STR(err.text, "");
	CHECK_EQ(n, 2 * pairs);
	CHECK(now == window || now == window - 1);
	hj_reader_pending(r, &now, &peak);
	CHECK_EQ(now, 0);
	CHECK_EQ(peak, window); /* memory follows what is in flight, not length */
	model_event_free(&ev);
	model_history_reader_free(r);
	fclose(f);
	free(text);
}

static void test_bounded(void)
{
	/* The peak proves the bound; the length only has to dwarf it. */
	check_pairs(200000, 1);
	check_pairs(20000, 16);
}

static void read_quietly(const char *text, size_t len)
{
	cm_err err;
	FILE *f = fmemopen((void *)text, len, "r");
	if (f == NULL)
		return;
	model_history_reader *r = model_history_reader_new(f, NULL, &err);
	if (r == NULL) {
		CHECK(strncmp(err.text, "line ", 5) == 0);
	} else {
		model_event ev;
		model_event_init(&ev);
		int rc;
		while ((rc = model_history_read(r, &ev, &err)) == 1)
			;
		if (rc < 0)
			CHECK(strncmp(err.text, "line ", 5) == 0);
		model_event_free(&ev);
		model_history_reader_free(r);
	}
	fclose(f);
}

static void mutate(cm_rng *rng, char *buf, size_t *len, size_t cap)
{
	static const char tokens[] = "{}[]:,\"\\-0123456789eE.\n tfnul";
	size_t n = cm_rng_below(rng, 4) + 1;
	for (size_t k = 0; k < n && *len > 0; k++) {
		size_t at = cm_rng_below(rng, *len);
		switch (cm_rng_below(rng, 4)) {
		case 0:
			buf[at] = (char)cm_rng_next(rng);
			break;
		case 1:
			buf[at] = tokens[cm_rng_below(rng, sizeof(tokens) - 1)];
			break;
		case 2:
			memmove(buf + at, buf + at + 1, *len - at - 1);
			(*len)--;
			break;
		default:
			if (*len < cap) {
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = tokens[cm_rng_below(rng, sizeof(tokens) - 1)];
				(*len)++;
			}
			break;
		}
	}
}

static void test_garbage(void)
{
	cm_rng rng;
	cm_rng_seed(&rng, 42);
	char buf[4096];
	for (int i = 0; i < 2000; i++) {
		size_t len = cm_rng_below(&rng, sizeof(buf));
		for (size_t j = 0; j < len; j++)
			buf[j] = (char)cm_rng_next(&rng);
		if (i % 2)
			memcpy(buf, HDR, CM_MIN(len, sizeof(HDR) - 1));
		read_quietly(buf, len);
	}
}

static void test_mutations(void)
{
	evlist l = {0};
	build_events(&l);
	size_t len;
	char *text = write_history(&test_header, l.v, l.n, &len);
	size_t cap = len + 64;
	char *buf = cm_xmalloc(cap);
	cm_rng rng;
	cm_rng_seed(&rng, 7);
	for (int i = 0; i < 3000; i++) {
		size_t n = len;
		memcpy(buf, text, len);
		mutate(&rng, buf, &n, cap);
		read_quietly(buf, n);
		/* Truncation anywhere (a crashed writer). */
		read_quietly(text, cm_rng_below(&rng, len));
	}
	free(buf);
	free(text);
	evlist_free(&l);
}

int main(void)
{
	RUN(test_bounded);
	/* Last: mutated keywords fill the process-wide keyword table. */
	RUN(test_garbage);
	RUN(test_mutations);
	TEST_EXIT();
}
