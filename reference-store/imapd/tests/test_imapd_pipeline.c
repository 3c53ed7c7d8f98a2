/* imapd's whole pure pipeline: parse -> rt_session -> format on the
 * in-memory file system, each response well formed. */
#include "imapd_test.h"

typedef struct pipe_ctx {
	rs_fs *fs;
	rt_session *s;
	rs_mailbox *mb;
} pipe_ctx;

static int memfs_body(void *ctx, uint32_t uid, cm_buf *out)
{
	pipe_ctx *p = ctx;
	uint64_t ns;
	if (p->mb == NULL) {
		char *path = rs_namespace_mailbox_path("/mail", rs_session_selected(p->s));
		rs_open(p->fs, path, NULL, &p->mb, NULL);
		free(path);
	}
	rs_sync(p->mb, false);
	return p->mb != NULL && rs_fetch_body(p->mb, uid, out, &ns) == RS_OK ? 0 : -1;
}

/* One command through parse, session and format; the output is checked
 * to be well formed and returned. */
static const char *run(pipe_ctx *p, const char *line, size_t len)
{
	static cm_buf out;
	model_result r;
	imapd_parse_ctx ctx = {.exists = (uint32_t)rs_session_exists(p->s)};
	cm_buf_clear(&out);
	cm_buf_reserve(&out, 1);
	model_result_init(&r);
	REQUIRE(imapd_parse(line, len, &ctx, &C, &err) == 0);
	REQUIRE(C.verb == IMAPD_V_OP);
	rs_session_exec(p->s, &C.op, &r);
	imapd_fmt f = {.cmd = &C, .body = memfs_body, .ctx = p};
	imapd_format_result(&out, C.tag, &r, &f);
	CHECK(well_formed(&out) > 0);
	model_result_free(&r);
	return out.data;
}

static const char *run_s(pipe_ctx *p, const char *line)
{
	return run(p, line, strlen(line));
}

static void test_pipeline(void)
{
	pipe_ctx p = {.fs = rs_memfs_new()};
	REQUIRE(rs_namespace_init(p.fs, "/mail") == RS_OK);
	REQUIRE(rs_namespace_create_mailbox(p.fs, "/mail", "INBOX") == RS_OK);
	rs_session_options o = {.pid = 7};
	p.s = rs_session_new(p.fs, "/mail", &o);
	CHECK(strstr(run_s(&p, "a SELECT INBOX"), "a OK [READ-WRITE] SELECT completed") != NULL);
	/* APPEND of a harness message: the session stores exactly these bytes */
	cm_buf msg = {0}, line = {0};
	model_message_bytes_sized("p-1", 0, &msg);
	cm_buf_printf(&line, "b APPEND INBOX (\\Flagged) {%zu+}\r\n", msg.len);
	cm_buf_append(&line, msg.data, msg.len);
	const char *o1 = run(&p, line.data, line.len);
	CHECK(strstr(o1, "* 1 EXISTS\r\n* 1 RECENT\r\n") != NULL);
	CHECK(strstr(o1, "b OK [APPENDUID ") != NULL);
	const char *o2 = run_s(&p, "c UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)])");
	CHECK(strstr(o2, "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) "
			 "BODY[HEADER.FIELDS (X-Ratchet-Id)] {21}\r\nX-Ratchet-Id: p-1\r\n\r\n)\r\n") != NULL);
	const char *o3 = run_s(&p, "d FETCH 1 (BODY.PEEK[])");
	cm_buf want = {0};
	cm_buf_printf(&want, "* 1 FETCH (BODY[] {%zu}\r\n%s)\r\nd OK FETCH completed\r\n",
		      msg.len, msg.data);
	CHECK_STR(o3, want.data);
	const char *o4 = run_s(&p, "e UID STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)");
	CHECK(strstr(o4, "e OK [MODIFIED 1] UID STORE completed") != NULL);
	const char *o5 = run_s(&p, "f STORE 1 +FLAGS (\\Deleted)");
	CHECK(strstr(o5, "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted \\Recent) MODSEQ (") != NULL);
	CHECK(strstr(run_s(&p, "g ENABLE QRESYNC"), "* ENABLED QRESYNC\r\n") != NULL);
	CHECK(strstr(run_s(&p, "h EXPUNGE"), "* VANISHED 1\r\nh OK [HIGHESTMODSEQ ") != NULL);
	CHECK(strstr(run_s(&p, "i STATUS INBOX (MESSAGES UIDNEXT)"),
		     "* STATUS INBOX (MESSAGES 0 UIDNEXT 2)\r\n") != NULL);
	CHECK_STR(run_s(&p, "j UID MOVE 1 Nowhere"), "j NO [TRYCREATE] No such mailbox\r\n");
	rs_close(p.mb);
	rs_session_free(p.s);
	rs_fs_destroy(p.fs);
	cm_buf_free(&msg);
	cm_buf_free(&line);
	cm_buf_free(&want);
}

int main(void)
{
	imapd_cmd_init(&C);
	RUN(test_pipeline);
	imapd_cmd_free(&C);
	TEST_EXIT();
}
