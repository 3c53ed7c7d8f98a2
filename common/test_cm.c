#include "cm.h"
#include "cm_test.h"

static void test_uidset_basic(void)
{
	cm_uidset s = {0};
	cm_buf b = {0};
	cm_uidset_add(&s, 5);
	cm_uidset_add(&s, 3);
	cm_uidset_add(&s, 4);
	cm_uidset_add_range(&s, 10, 12);
	cm_uidset_add(&s, 1);
	cm_uidset_format(&b, &s);
	CHECK_STR(b.data, "1,3:5,10:12");
	CHECK_EQ(cm_uidset_count(&s), 7);
	CHECK(cm_uidset_contains(&s, 11));
	CHECK(!cm_uidset_contains(&s, 9));
	cm_uidset_add_range(&s, 2, 10);
	cm_buf_clear(&b);
	cm_uidset_format(&b, &s);
	CHECK_STR(b.data, "1:12");
	cm_uidset_remove(&s, 6);
	cm_uidset_remove(&s, 1);
	cm_uidset_remove(&s, 12);
	cm_buf_clear(&b);
	cm_uidset_format(&b, &s);
	CHECK_STR(b.data, "2:5,7:11");
	CHECK_EQ(cm_uidset_nth(&s, 4), 7);
	CHECK_EQ(cm_uidset_max(&s), 11);
	/* covers: by ranges, so 1:4294967295 costs nothing */
	cm_uidset sub = {0}, all = {0};
	uint32_t miss = 0;
	cm_uidset_add_range(&all, 1, UINT32_MAX);
	cm_uidset_add_range(&sub, 3, 5);
	CHECK(cm_uidset_covers(&s, &sub, NULL));
	cm_uidset_add(&sub, 7);
	CHECK(cm_uidset_covers(&s, &sub, NULL));
	CHECK(cm_uidset_covers(&all, &all, NULL));
	CHECK(!cm_uidset_covers(&s, &all, &miss));
	CHECK_EQ(miss, 1);
	cm_uidset_add(&sub, 6);
	CHECK(!cm_uidset_covers(&s, &sub, &miss));
	CHECK_EQ(miss, 6);
	cm_uidset_free(&sub);
	cm_uidset_free(&all);
	cm_uidset_free(&s);
	cm_buf_free(&b);
}

static void test_uidset_parse(void)
{
	cm_uidset s = {0};
	cm_buf b = {0};
	CHECK_EQ(cm_uidset_parse(&s, "7,1:3,9:*", 9, 20), 0);
	cm_uidset_format(&b, &s);
	CHECK_STR(b.data, "1:3,7,9:20");
	CHECK_EQ(cm_uidset_parse(&s, "3:1", 3, 0), 0);
	CHECK_EQ(cm_uidset_count(&s), 3);
	CHECK_EQ(cm_uidset_parse(&s, "1:*", 3, 0), -1);
	CHECK_EQ(cm_uidset_parse(&s, "0", 1, 0), -1);
	CHECK_EQ(cm_uidset_parse(&s, "1,,2", 4, 0), -1);
	CHECK_EQ(cm_uidset_parse(&s, "4294967296", 10, 0), -1);
	CHECK_EQ(cm_uidset_parse(&s, "1:4294967295", 12, 0), 0);
	CHECK_EQ(cm_uidset_count(&s), 4294967295ULL);
	CHECK_EQ(cm_uidset_parse(&s, "", 0, 0), -1);
	CHECK_EQ(cm_uidset_parse(&s, "1,", 2, 0), -1);
	cm_uidset_free(&s);
	cm_buf_free(&b);
}

static void test_flags(void)
{
	cm_flags f;
	bool recent;
	cm_buf b = {0};
	const char *in = "(\\Seen $Junk \\recent \\DELETED)";
	CHECK_EQ(cm_flags_parse(in, strlen(in), &f, &recent), 0);
	CHECK(recent);
	CHECK(f & CM_FLAG_SEEN);
	CHECK(f & CM_FLAG_DELETED);
	cm_flags_format(&b, f);
	CHECK_STR(b.data, "\\Deleted \\Seen $Junk");
	CHECK_EQ(cm_flag_intern("$junk", 5), cm_flag_lookup("$Junk", 5));
	CHECK_EQ(cm_flags_parse("(a\"b)", 5, &f, NULL), -1);
	CHECK_EQ(cm_flags_parse("()", 2, &f, NULL), 0);
	CHECK_EQ(f, 0);
	cm_buf empty = {0};
	cm_flags_format(&empty, 0);
	CHECK_STR(empty.data, "");
	cm_buf_free(&empty);
	cm_buf_free(&b);
}

static void test_rng(void)
{
	cm_rng a, b;
	cm_rng_seed(&a, 42);
	cm_rng_seed(&b, 42);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(cm_rng_next(&a), cm_rng_next(&b));
	for (int i = 0; i < 1000; i++)
		CHECK(cm_rng_below(&a, 7) < 7);
	CHECK(cm_hash64("a", 1) != cm_hash64("b", 1));
}

static void test_parse_u64(void)
{
	uint64_t v = 7;
	CHECK(cm_parse_u64("0", 0, 10, &v) && v == 0);
	CHECK(cm_parse_u64("18446744073709551615", 0, UINT64_MAX, &v));
	CHECK(v == UINT64_MAX);
	v = 7;
	/* strtol's overflow: saturated and accepted before (rs-deliver). */
	CHECK(!cm_parse_u64("99999999999999999999", 0, UINT64_MAX, &v));
	CHECK(!cm_parse_u64("18446744073709551616", 0, UINT64_MAX, &v));
	CHECK(!cm_parse_u64("", 0, 10, &v));
	CHECK(!cm_parse_u64(NULL, 0, 10, &v));
	CHECK(!cm_parse_u64("-1", 0, UINT64_MAX, &v));
	CHECK(!cm_parse_u64("+1", 0, 10, &v));
	CHECK(!cm_parse_u64(" 1", 0, 10, &v));
	CHECK(!cm_parse_u64("1 ", 0, 10, &v));
	CHECK(!cm_parse_u64("0x10", 0, 100, &v));
	CHECK(!cm_parse_u64("0", 1, 10, &v));
	CHECK(!cm_parse_u64("11", 1, 10, &v));
	CHECK_EQ(v, 7);
	CHECK(cm_parse_u64("010", 1, 10, &v) && v == 10);
}

/* Issue 10 (4c): a server's ESC ] 0 ; ... BEL reached the terminal raw. */
static void test_escape(void)
{
	char out[64];
	const char osc[] = "NO \033]0;pwned\007\033[2J done\r\n\t\\Seen\x9b\xc3\xa9";
	CHECK_EQ(cm_escape(out, sizeof(out), osc, sizeof(osc) - 1), sizeof(osc) - 1);
	CHECK_STR(out, "NO \\x1b]0;pwned\\x07\\x1b[2J done\\r\\n\\t\\Seen\\x9b\\xc3\\xa9");
	char nul[] = {'a', 0, 'b'};
	CHECK_EQ(cm_escape(out, sizeof(out), nul, 3), 3);
	CHECK_STR(out, "a\\x00b");
	/* Cut: never inside an escape, and "..." says so. */
	char small[10];
	CHECK_EQ(cm_escape(small, sizeof(small), "abc\001def", 7), 3);
	CHECK_STR(small, "abc...");
	CHECK_EQ(cm_escape(small, sizeof(small), "ab\001cdef", 7), 3);
	CHECK_STR(small, "ab\\x01...");
	CHECK_EQ(cm_escape(small, sizeof(small), "abcdef", 6), 6);
	CHECK_STR(small, "abcdef");
	CHECK_EQ(cm_escape(small, 4, "abcdef", 6), 0);
	CHECK_STR(small, "...");
	for (unsigned c = 0; c < 256; c++) {
		unsigned char b = (unsigned char)c;
		cm_escape(out, sizeof(out), &b, 1);
		for (const char *q = out; *q; q++)
			CHECK(*q >= 0x20 && *q < 0x7f);
	}
}

static void test_err_and_grow(void)
{
	cm_err e = {{0}};
	CHECK_EQ(cm_err_set(&e, "line %d: %s", 7, "bad"), -1);
	CHECK_STR(e.text, "line 7: bad");
	cm_err_prefix(&e, "%s: ", "h.jsonl");
	CHECK_STR(e.text, "h.jsonl: line 7: bad");
	CHECK_EQ(cm_err_set(NULL, "ignored"), -1);
	/* A prefix that leaves no room cuts the tail, keeps one string. */
	char big[sizeof(e.text) + 100];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cm_err_prefix(&e, "%s", big);
	CHECK_EQ(strlen(e.text), sizeof(e.text) - 1);
	int *v = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < 1000; i++) {
		CM_GROW(v, cap, n + 1);
		v[n++] = i;
	}
	CHECK(cap >= 1000 && cap < 2048);
	CHECK_EQ(v[999], 999);
	CM_GROW(v, cap, 10);   /* never shrinks */
	CHECK(cap >= 1000);
	free(v);
}

int main(void)
{
	RUN(test_parse_u64);
	RUN(test_escape);
	RUN(test_uidset_basic);
	RUN(test_uidset_parse);
	RUN(test_flags);
	RUN(test_rng);
	RUN(test_err_and_grow);
	TEST_EXIT();
}
