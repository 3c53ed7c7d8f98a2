/* imapd's response formatter: exact text for every response and code,
 * well formed for ratchet's own response parser; and body sections. */
#include "imapd_test.h"

#define MSG "X-Ratchet-Id: m1\r\nSubject: hello\r\n  folded\r\nFrom: a@b\r\n\r\nbody text\r\n"

static void test_sections(void)
{
	cm_buf out = {0};
	imapd_section s = {.kind = IMAPD_SEC_FIELDS};
	snprintf(s.fields, sizeof(s.fields), "subject X-RATCHET-ID");
	imapd_section_bytes(&out, &s, MSG, strlen(MSG));
	CHECK_STR(out.data, "X-Ratchet-Id: m1\r\nSubject: hello\r\n  folded\r\n\r\n");
	s.kind = IMAPD_SEC_FIELDS_NOT;
	imapd_section_bytes(&out, &s, MSG, strlen(MSG));
	CHECK_STR(out.data, "From: a@b\r\n\r\n");
	s.kind = IMAPD_SEC_HEADER;
	imapd_section_bytes(&out, &s, MSG, strlen(MSG));
	CHECK_EQ(out.len, strlen(MSG) - strlen("body text\r\n"));
	s.kind = IMAPD_SEC_TEXT;
	imapd_section_bytes(&out, &s, MSG, strlen(MSG));
	CHECK_STR(out.data, "body text\r\n");
	s.partial = true;
	s.origin = 5;
	s.count = 100;
	imapd_section_bytes(&out, &s, MSG, strlen(MSG));
	CHECK_STR(out.data, "text\r\n");
	s.origin = 500;
	imapd_section_bytes(&out, &s, MSG, strlen(MSG));
	CHECK_EQ(out.len, 0);
	s = (imapd_section){.kind = IMAPD_SEC_TEXT};
	imapd_section_bytes(&out, &s, "no header end", 13);
	CHECK_EQ(out.len, 0);
	imapd_section_bytes(&out, &s, "\r\nonly body", 11);
	CHECK_STR(out.data, "only body");
	cm_buf_free(&out);
}

static model_untagged *ut(model_result *r, model_ut_kind k, uint32_t n)
{
	model_untagged *u = model_result_add(r, k);
	u->n = n;
	return u;
}

static void test_format_select(void)
{
	model_result r;
	cm_buf b = {0};
	model_result_init(&r);
	ut(&r, MODEL_UT_FLAGS, 0)->flags = CM_FLAGS_SYSTEM | F("$Junk");
	model_untagged *u = ut(&r, MODEL_UT_CODE, 0);
	u->code.kind = MODEL_CODE_PERMANENTFLAGS;
	u->code.flags = CM_FLAGS_SYSTEM;
	u->code.star = true;
	ut(&r, MODEL_UT_EXISTS, 3);
	ut(&r, MODEL_UT_RECENT, 1);
	u = ut(&r, MODEL_UT_CODE, 0);
	u->code.kind = MODEL_CODE_OTHER;
	snprintf(u->code.text, sizeof(u->code.text), "UNSEEN");
	u->code.value = 2;
	u = ut(&r, MODEL_UT_CODE, 0);
	u->code.kind = MODEL_CODE_UIDVALIDITY;
	u->code.value = 77;
	u = ut(&r, MODEL_UT_CODE, 0);
	u->code.kind = MODEL_CODE_HIGHESTMODSEQ;
	u->code.value = 9;
	u = ut(&r, MODEL_UT_VANISHED, 0);
	u->earlier = true;
	cm_uidset_add_range(&u->set, 1, 3);
	cm_uidset_add(&u->set, 7);
	u = ut(&r, MODEL_UT_FETCH, 2);
	u->fetch.has = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
	u->fetch.uid = 5;
	u->fetch.flags = CM_FLAG_SEEN;
	u->fetch.recent = true;
	u->fetch.modseq = 12;
	r.status = MODEL_REPLY_OK;
	r.code.kind = MODEL_CODE_READ_WRITE;
	imapd_cmd_init(&C);
	snprintf(C.name, sizeof(C.name), "SELECT");
	imapd_fmt f = {.cmd = &C};
	CHECK_EQ(imapd_format_result(&b, "a1", &r, &f), 0);
	CHECK_STR(b.data,
		  "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
		  "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n"
		  "* 3 EXISTS\r\n"
		  "* 1 RECENT\r\n"
		  "* OK [UNSEEN 2] First unseen\r\n"
		  "* OK [UIDVALIDITY 77] UIDs valid\r\n"
		  "* OK [HIGHESTMODSEQ 9] Highest\r\n"
		  "* VANISHED (EARLIER) 1:3,7\r\n"
		  "* 2 FETCH (UID 5 FLAGS (\\Seen \\Recent) MODSEQ (12))\r\n"
		  "a1 OK [READ-WRITE] SELECT completed\r\n");
	CHECK_EQ(well_formed(&b), 10);
	model_result_free(&r);
	cm_buf_free(&b);
}

static void test_format_codes(void)
{
	model_result r;
	cm_buf b = {0};
	model_result_init(&r);
	imapd_cmd_init(&C);
	snprintf(C.name, sizeof(C.name), "UID MOVE");
	imapd_fmt f = {.cmd = &C};
	model_untagged *u = ut(&r, MODEL_UT_CODE, 0);
	u->code.kind = MODEL_CODE_COPYUID;
	u->code.uidvalidity = 9;
	cm_uidset_add_range(&u->code.set, 4, 5);
	cm_uidset_add_range(&u->code.dst, 10, 11);
	ut(&r, MODEL_UT_EXPUNGE, 2);
	u = ut(&r, MODEL_UT_VANISHED, 0);
	cm_uidset_add(&u->set, 4);
	ut(&r, MODEL_UT_VANISHED, 0); /* empty: nothing to say */
	r.status = MODEL_REPLY_OK;
	r.code.kind = MODEL_CODE_HIGHESTMODSEQ;
	r.code.value = 44;
	CHECK_EQ(imapd_format_result(&b, "m", &r, &f), 0);
	CHECK_STR(b.data, "* OK [COPYUID 9 4:5 10:11] Moved\r\n* 2 EXPUNGE\r\n"
			  "* VANISHED 4\r\nm OK [HIGHESTMODSEQ 44] UID MOVE completed\r\n");
	CHECK_EQ(well_formed(&b), 4);
	/* tagged codes */
	static const struct { model_reply st; model_code_kind k; const char *want; } t[] = {
		{MODEL_REPLY_OK, MODEL_CODE_APPENDUID, "x OK [APPENDUID 9 4:5] UID MOVE completed\r\n"},
		{MODEL_REPLY_OK, MODEL_CODE_MODIFIED, "x OK [MODIFIED 4:5] UID MOVE completed\r\n"},
		{MODEL_REPLY_NO, MODEL_CODE_TRYCREATE, "x NO [TRYCREATE] No such mailbox\r\n"},
		{MODEL_REPLY_NO, MODEL_CODE_EXPUNGEISSUED, "x NO [EXPUNGEISSUED] No such mailbox\r\n"},
		{MODEL_REPLY_BAD, MODEL_CODE_NONE, "x BAD No such mailbox\r\n"},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(t); i++) {
		model_result_clear(&r);
		cm_buf_clear(&b);
		r.status = t[i].st;
		r.code.kind = t[i].k;
		r.code.uidvalidity = 9;
		cm_uidset_add_range(&r.code.set, 4, 5);
		if (t[i].st != MODEL_REPLY_OK)
			snprintf(r.text, sizeof(r.text), "No such mailbox");
		imapd_format_result(&b, "x", &r, &f);
		CHECK_STR(b.data, t[i].want);
		CHECK_EQ(well_formed(&b), 1);
	}
	/* OTHER codes, text that must not look like a code or break a line */
	model_result_clear(&r);
	cm_buf_clear(&b);
	r.status = MODEL_REPLY_NO;
	r.code.kind = MODEL_CODE_OTHER;
	snprintf(r.code.text, sizeof(r.code.text), "OVERQUOTA");
	snprintf(r.text, sizeof(r.text), "[x]\r\ny");
	imapd_format_result(&b, "x", &r, NULL);
	CHECK_STR(b.data, "x NO [OVERQUOTA] (x]??y\r\n");
	model_result_free(&r);
	cm_buf_free(&b);
}

static void test_format_misc(void)
{
	model_result r;
	cm_buf b = {0};
	model_result_init(&r);
	model_untagged *u = ut(&r, MODEL_UT_SEARCH, 0);
	cm_uidset_add_range(&u->set, 2, 4);
	u = ut(&r, MODEL_UT_SEARCH, 0);
	u = ut(&r, MODEL_UT_STATUS, 0);
	snprintf(u->status.mailbox, sizeof(u->status.mailbox), "a \"b\"");
	u->status.has = MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT | MODEL_STATUS_HIGHESTMODSEQ;
	u->status.messages = 3;
	u->status.uidnext = 8;
	u->status.highestmodseq = 99;
	u = ut(&r, MODEL_UT_STATUS, 0);
	snprintf(u->status.mailbox, sizeof(u->status.mailbox), "NIL");
	u->status.has = MODEL_STATUS_UIDVALIDITY;
	u->status.uidvalidity = 5;
	ut(&r, MODEL_UT_ENABLED, 0)->caps = MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC;
	ut(&r, MODEL_UT_ENABLED, 0);
	r.status = MODEL_REPLY_OK;
	imapd_format_result(&b, "s", &r, NULL);
	CHECK_STR(b.data, "* SEARCH 2 3 4\r\n* SEARCH\r\n"
			  "* STATUS \"a \\\"b\\\"\" (MESSAGES 3 UIDNEXT 8 HIGHESTMODSEQ 99)\r\n"
			  "* STATUS \"NIL\" (UIDVALIDITY 5)\r\n"
			  "* ENABLED CONDSTORE QRESYNC\r\n* ENABLED\r\n"
			  "s OK Command completed\r\n");
	CHECK_EQ(well_formed(&b), 7);
	/* LOGOUT: BYE then OK, and the connection ends */
	model_result_clear(&r);
	cm_buf_clear(&b);
	ut(&r, MODEL_UT_BYE, 0);
	r.status = MODEL_REPLY_OK;
	CHECK_EQ(imapd_format_result(&b, "l", &r, NULL), IMAPD_FMT_CLOSE);
	CHECK_STR(b.data, "* BYE Logging out\r\nl OK Command completed\r\n");
	/* a lost session: BYE with the reason, no tagged reply */
	model_result_clear(&r);
	cm_buf_clear(&b);
	ut(&r, MODEL_UT_EXISTS, 4);
	r.status = MODEL_REPLY_UNKNOWN;
	snprintf(r.text, sizeof(r.text), "mailbox deleted");
	CHECK_EQ(imapd_format_result(&b, "u", &r, NULL), IMAPD_FMT_CLOSE);
	CHECK_STR(b.data, "* 4 EXISTS\r\n* BYE mailbox deleted\r\n");
	model_result_clear(&r);
	cm_buf_clear(&b);
	ut(&r, MODEL_UT_BYE, 0);
	r.status = MODEL_REPLY_UNKNOWN;
	CHECK_EQ(imapd_format_result(&b, "u", &r, NULL), IMAPD_FMT_CLOSE);
	CHECK_STR(b.data, "* BYE Session lost\r\n");
	/* astrings */
	cm_buf_clear(&b);
	imapd_format_astring(&b, "INBOX", 5);
	imapd_format_astring(&b, " ", 1);
	imapd_format_astring(&b, "\xc3\xa9", 2);
	CHECK_STR(b.data, "INBOX\" \"{2}\r\n\xc3\xa9");
	model_result_free(&r);
	cm_buf_free(&b);
}

typedef struct fake_store {
	const char *msg;
	int calls;
} fake_store;

static int fake_body(void *ctx, uint32_t uid, cm_buf *out)
{
	fake_store *fs = ctx;
	fs->calls++;
	cm_buf_clear(out);
	if (uid != 5)
		return -1;
	cm_buf_puts(out, fs->msg);
	return 0;
}

static void test_format_bodies(void)
{
	model_result r;
	cm_buf b = {0};
	fake_store store = {.msg = MSG};
	model_result_init(&r);
	REQUIRE(parse("f UID FETCH 5,6 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS "
		      "(X-Ratchet-Id)] BODY[]<0.12>)") == 0);
	imapd_fmt f = {.cmd = &C, .body = fake_body, .ctx = &store};
	for (uint32_t uid = 5; uid <= 6; uid++) {
		model_untagged *u = ut(&r, MODEL_UT_FETCH, uid - 4);
		u->fetch.has = C.op.items;
		u->fetch.uid = uid;
		u->fetch.size = (uint32_t)strlen(MSG);
		u->fetch.idate = 946684800;
		u->fetch.body_hash = cm_hash64(MSG, strlen(MSG));
	}
	r.status = MODEL_REPLY_OK;
	int flags = imapd_format_result(&b, "f", &r, &f);
	CHECK_EQ(flags, IMAPD_FMT_DROPPED);
	CHECK_EQ(store.calls, 2);
	CHECK_STR(b.data,
		  "* 1 FETCH (UID 5 RFC822.SIZE 68 INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" "
		  "BODY[HEADER.FIELDS (X-Ratchet-Id)] {20}\r\nX-Ratchet-Id: m1\r\n\r\n"
		  " BODY[]<0> {12}\r\nX-Ratchet-Id)\r\n"
		  "f NO [EXPUNGEISSUED] Some messages were expunged meanwhile\r\n");
	CHECK_EQ(well_formed(&b), 2);
	/* a body that is not the one the session read is not shown either */
	store.msg = "X-Ratchet-Id: other\r\n\r\n";
	cm_buf_clear(&b);
	CHECK_EQ(imapd_format_untagged(&b, &r.ut[0], &f), IMAPD_FMT_DROPPED);
	CHECK_EQ(b.len, 0);
	model_result_free(&r);
	cm_buf_free(&b);
}

int main(void)
{
	imapd_cmd_init(&C);
	RUN(test_sections);
	RUN(test_format_select);
	RUN(test_format_codes);
	RUN(test_format_misc);
	RUN(test_format_bodies);
	imapd_cmd_free(&C);
	TEST_EXIT();
}
