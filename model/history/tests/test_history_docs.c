/* docs/history.md: every JSON example in it must read, alone or wrapped
 * into a minimal history of its own, the reader's fast path and jansson
 * alike (verify mode). ctest passes the path. */
#include "history_test.h"

/* One example line, wrapped into a minimal history of its own. */
static void check_doc_line(const char *line)
{
	char text[4096], err[256] = "";
	json_t *j = json_loads(line, 0, NULL);
	REQUIRE(j != NULL);
	const char *first = json_object_iter_key(json_object_iter(j));
	REQUIRE(first != NULL);
	if (strcmp(first, "kind") == 0) {
		snprintf(text, sizeof(text), HDR INV(1, 1) "%s}\n", line);
	} else if (strcmp(first, "name") == 0) {
		snprintf(text, sizeof(text), HDR INV(1, 1) NOOP OK(2, 1) ",\"code\":%s}\n",
			 line);
	} else if (strcmp(first, "t") != 0) {
		snprintf(text, sizeof(text), HDR INV(1, 1) NOOP OK(2, 1)
			 ",\"untagged\":[%s]}\n", line);
	} else if (json_object_get(j, "op") != NULL) {
		snprintf(text, sizeof(text), HDR "%s\n", line);
	} else {
		/* A completion excerpt: give it its invoke. */
		json_int_t t = json_integer_value(json_object_get(j, "t"));
		snprintf(text, sizeof(text), HDR "{\"t\":%" JSON_INTEGER_FORMAT ",\"c\":%"
			 JSON_INTEGER_FORMAT ",\"id\":%" JSON_INTEGER_FORMAT
			 ",\"ev\":\"invoke\",\"op\":{\"kind\":\"noop\"}}\n%s\n", t - 1,
			 json_integer_value(json_object_get(j, "c")),
			 json_integer_value(json_object_get(j, "id")), line);
	}
	json_decref(j);
	if (read_all(text, err, sizeof(err), NULL, NULL) != 0) {
		fprintf(stderr, "doc example fails: %s\n  %s\n", line, err);
		cm_test_failures++;
	}
}

static void test_doc_examples(const char *path)
{
	FILE *f = fopen(path, "r");
	REQUIRE(f != NULL);
	char *line = NULL, *block = NULL;
	size_t cap = 0, blen = 0, examples = 0;
	FILE *bf = NULL;
	bool in_json = false;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "```", 3) == 0) {
			in_json = !in_json && strncmp(line, "```json", 7) == 0;
			if (!in_json && bf != NULL) { /* a whole history */
				fclose(bf);
				bf = NULL;
				char err[256] = "";
				CHECK_EQ(read_all(block, err, sizeof(err), NULL, NULL), 0);
				CHECK_STR(err, "");
				free(block);
			}
			continue;
		}
		if (!in_json)
			continue;
		line[strcspn(line, "\n")] = '\0';
		examples++;
		if (bf == NULL && strncmp(line, "{\"ratchet_history\"", 18) == 0 &&
		    strstr(line, "\"target\":\"imap") != NULL)
			bf = open_memstream(&block, &blen);
		if (bf != NULL)
			fprintf(bf, "%s\n", line);
		else if (strncmp(line, "{\"ratchet_history\"", 18) != 0)
			check_doc_line(line);
	}
	CHECK(examples >= 70);
	free(line);
	fclose(f);
}

#define RUN_DOC(fn, arg)                                                      \
	do {                                                                  \
		int before_ = cm_test_failures;                               \
		fn(arg);                                                      \
		fprintf(stderr, "%s %s\n",                                    \
			cm_test_failures == before_ ? "ok  " : "FAIL", #fn);   \
	} while (0)

int main(int argc, char **argv)
{
	/* The path of docs/history.md (ctest passes it). */
	REQUIRE(argc > 1);
	/* Every example the fast path takes is read by jansson too, and the
	 * two events must be equal (an abort otherwise). */
	hj_reader_default_mode(HJ_READ_VERIFY);
	RUN_DOC(test_doc_examples, argv[1]);
	TEST_EXIT();
}
