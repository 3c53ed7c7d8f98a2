/* The HTML timeline: escaping of hostile text, the window of events a page
 * draws, and a page from a small history (html.h). */
#include "html.h"
#include "cm_test.h"

#include <unistd.h>

static char *escaped(const char *s, size_t len)
{
	cm_buf b = {0};
	cm_buf_puts(&b, "");
	rt_html_escape(&b, s, len);
	return b.data;
}

#define CHECK_ESC(in, want)                                                  \
	do {                                                                 \
		char *got_ = escaped((in), sizeof(in) - 1);                  \
		CHECK_STR(got_, (want));                                     \
		free(got_);                                                  \
	} while (0)

static void test_escape(void)
{
	CHECK_ESC("<script>alert(\"x\")</script>&'",
		  "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
	CHECK_ESC("plain text 1:3,7", "plain text 1:3,7");
	/* A terminal escape and a NUL are shown, not passed on. */
	CHECK_ESC("\x1b]0;t\x07\r\n\t\x7f", "\\x1b]0;t\\x07\\r\\n\\t\\x7f");
	CHECK_ESC("a\0b", "a\\x00b");
	/* Valid UTF-8 stays; anything else is U+FFFD, byte by byte. */
	CHECK_ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7");
	CHECK_ESC("\xff", "\xef\xbf\xbd");
	CHECK_ESC("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");           /* overlong '/' */
	CHECK_ESC("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
	CHECK_ESC("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_ESC("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");           /* cut short */
	CHECK_ESC("\xc3<", "\xef\xbf\xbd&lt;");
}

static void test_window(void)
{
	const uint64_t cited[] = {42, 7};
	rt_html_window w = {.first = 500, .before = 300, .after = 100, .cited = cited,
			    .ncited = 2};
	CHECK(!rt_html_window_keeps(&w, 199, 1));
	CHECK(rt_html_window_keeps(&w, 200, 1));
	CHECK(rt_html_window_keeps(&w, 500, 1));
	CHECK(rt_html_window_keeps(&w, 600, 1));
	CHECK(!rt_html_window_keeps(&w, 601, 1));
	/* A cited op's events, wherever they are. */
	CHECK(rt_html_window_keeps(&w, 3, 42));
	CHECK(rt_html_window_keeps(&w, 90000, 7));
	CHECK(!rt_html_window_keeps(&w, 90000, 8));
	CHECK(!rt_html_window_cites(&w, 0));
	/* Near the start: fewer than `before` events before, no wrapping. */
	rt_html_window s = {.first = 10, .before = 300, .after = 100};
	CHECK(rt_html_window_keeps(&s, 0, 1));
	CHECK(rt_html_window_keeps(&s, 110, 1));
	CHECK(!rt_html_window_keeps(&s, 111, 1));
	rt_html_window z = {.first = 0, .before = 0, .after = 0};
	CHECK(rt_html_window_keeps(&z, 0, 1));
	CHECK(!rt_html_window_keeps(&z, 1, 1));
	CHECK(!rt_html_window_keeps(&z, UINT64_MAX, 1));
}

/* A history of 2 clients and n noops each, op `bad` (a NO with a hostile
 * text) among them. */
static FILE *history(unsigned n, uint64_t bad)
{
	FILE *f = tmpfile();
	REQUIRE(f != NULL);
	fputs("{\"ratchet_history\":1,\"target\":\"imap://<b>evil</b>\",\"clients\":2}\n", f);
	uint64_t t = 1, id = 1;
	for (unsigned i = 0; i < n; i++)
		for (unsigned c = 1; c <= 2; c++, id++) {
			fprintf(f, "{\"t\":%" PRIu64 ",\"c\":%u,\"id\":%" PRIu64 ",\"ev\":\"invoke\","
				"\"op\":{\"kind\":\"noop\"}}\n", t++, c, id);
			if (id == bad)
				fprintf(f, "{\"t\":%" PRIu64 ",\"c\":%u,\"id\":%" PRIu64 ",\"ev\":"
					"\"fail\",\"status\":\"NO\",\"text\":\"<img src=x onerror="
					"alert(1)>\"}\n", t++, c, id);
			else
				fprintf(f, "{\"t\":%" PRIu64 ",\"c\":%u,\"id\":%" PRIu64 ",\"ev\":"
					"\"ok\",\"status\":\"OK\",\"untagged\":[{\"exists\":3}]}\n",
					t++, c, id);
		}
	fflush(f);
	return f;
}

static char *page(FILE *h, const model_violation *v, size_t nv, const char *path)
{
	rt_html_info info = {.title = "test", .replay = "ratchet replay x\"y"};
	cm_err err;
	REQUIRE(rt_html_write(path, h, 0, v, nv, &info, &err) == 0);
	FILE *f = fopen(path, "r");
	REQUIRE(f != NULL);
	cm_buf b = {0};
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cm_buf_append(&b, chunk, got);
	fclose(f);
	return b.data;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void test_page(void)
{
	char path[] = "/tmp/test_html_XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	model_violation v = {.inv = 0, .severity = MODEL_SEV_ERROR, .events = {1500}};
	snprintf(v.detail, sizeof(v.detail), "detail </div><script>x()</script>");
	FILE *h = history(1000, 1500); /* 2000 ops, 4000 events */
	char *html = page(h, &v, 1, path);
	CHECK(strstr(html, "<img") == NULL && strstr(html, "&lt;img src=x") != NULL);
	CHECK(strstr(html, "<script") == NULL && strstr(html, "<b>evil") == NULL);
	CHECK(strstr(html, "x&quot;y") != NULL);
	CHECK_EQ(count(html, "class=\"lane client\""), 2);
	CHECK_EQ(count(html, "class=\"lane annot\""), 1);
	CHECK(strstr(html, "id=\"op-1500\" class=\"op no cited\"") != NULL);
	CHECK(strstr(html, "href=\"#v0\"") != NULL && strstr(html, "id=\"v0\"") != NULL);
	/* Op 1500's invoke is event 2998: 300 before and 100 after it are
	 * drawn, 401 events: about 200 ops, not 2000. */
	CHECK(strstr(html, "401 of the run's 4000 events drawn (at most the 300 before") != NULL);
	size_t boxes = count(html, "class=\"op ");
	CHECK(boxes >= 200 && boxes <= 203);
	CHECK(strstr(html, "id=\"op-1000\"") == NULL && strstr(html, "id=\"op-1400\"") != NULL);
	CHECK_EQ(count(html, "events not drawn"), 2);
	CHECK(strstr(html, "http") == NULL && strstr(html, "src=\"") == NULL);
	free(html);
	fclose(h);
	unlink(path);
}

/* A reply of 10,000 ranges and a command of as many: the page keeps a
 * few KiB of each op, not the history's megabytes. */
static void test_page_bounds(void)
{
	char path[] = "/tmp/test_html_XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	FILE *h = tmpfile();
	REQUIRE(h != NULL);
	fputs("{\"ratchet_history\":1}\n{\"t\":1,\"c\":1,\"id\":1,\"ev\":\"invoke\","
	      "\"op\":{\"kind\":\"fetch\",\"uid\":true,\"set\":\"", h);
	for (unsigned i = 1; i < 20000; i += 2)
		fprintf(h, "%s%u", i > 1 ? "," : "", i);
	fputs("\"}}\n{\"t\":2,\"c\":1,\"id\":1,\"ev\":\"ok\",\"status\":\"OK\","
	      "\"untagged\":[{\"vanished\":\"", h);
	for (unsigned i = 1; i < 20000; i += 2)
		fprintf(h, "%s%u", i > 1 ? "," : "", i);
	fputs("\"}]}\n", h);
	fflush(h);
	char *html = page(h, NULL, 0, path);
	CHECK(strlen(html) < 16000);
	CHECK(strstr(html, "UID FETCH 1,3,5,7") != NULL);
	CHECK(strstr(html, "* VANISHED 1,3,5,7") != NULL);
	CHECK(strstr(html, "19999") == NULL);
	CHECK(strstr(html, "No violations.") != NULL);
	free(html);
	fclose(h);
	unlink(path);
}

int main(void)
{
	RUN(test_escape);
	RUN(test_window);
	RUN(test_page);
	RUN(test_page_bounds);
	return cm_test_failures ? 1 : 0;
}
