/* imapd's command parser on good commands: each gives the expected
 * model_op (or verb), with its sets, flags, literals and dates. */
#include "imapd_test.h"

static void test_simple_commands(void)
{
	CHECK_EQ(parse("a1 NOOP"), 0);
	CHECK_STR(C.tag, "a1");
	CHECK_EQ(C.verb, IMAPD_V_OP);
	CHECK_EQ(C.op.kind, MODEL_OP_NOOP);
	CHECK_EQ(parse("a2 capability"), 0);
	CHECK_EQ(C.verb, IMAPD_V_CAPABILITY);
	CHECK_STR(C.name, "CAPABILITY");
	CHECK_EQ(parse("t.3 LOGOUT"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_LOGOUT);
	CHECK_EQ(parse("a CHECK"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_NOOP);
	CHECK_EQ(parse("a CLOSE"), 0);
	CHECK_EQ(C.verb, IMAPD_V_CLOSE);
	CHECK_EQ(parse("a UNSELECT"), 0);
	CHECK_EQ(C.verb, IMAPD_V_UNSELECT);
	CHECK_EQ(parse("a EXPUNGE"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_EXPUNGE);
	CHECK(!C.op.uid);
	CHECK_EQ(parse("a uid expunge 4:6,9"), 0);
	CHECK(C.op.uid);
	CHECK_STR(C.name, "UID EXPUNGE");
	CHECK_STR(set_text(&C.op.set), "4:6,9");
	CHECK_EQ(parse("a CREATE foo"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_CREATE);
	CHECK_STR(C.op.mailbox, "foo");
	CHECK_EQ(parse("a DELETE \"with space\""), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_DELETE);
	CHECK_STR(C.op.mailbox, "with space");
	CHECK_EQ(parse("a LIST \"\" *"), 0);
	CHECK_EQ(C.verb, IMAPD_V_LIST);
	CHECK_STR(C.pattern, "*");
	CHECK_EQ(parse("a LIST \"\" \"\""), 0);
	CHECK_STR(C.pattern, "");
}

static void test_login(void)
{
	char user[IMAPD_AUTH_MAX], pass[IMAPD_AUTH_MAX];
	CHECK_EQ(parse("a LOGIN ratchet \"p a\\\"s\\\\s\""), 0);
	CHECK_EQ(C.verb, IMAPD_V_LOGIN);
	CHECK_STR(C.user, "ratchet");
	CHECK_STR(C.pass, "p a\"s\\s");
	CHECK_EQ(parse("a LOGIN {7}\r\nratchet {3+}\r\nx y"), 0);
	CHECK_STR(C.user, "ratchet");
	CHECK_STR(C.pass, "x y");
	CHECK_EQ(parse("a AUTHENTICATE PLAIN AHJhdGNoZXQAcmF0Y2hldA=="), 0);
	CHECK_EQ(C.verb, IMAPD_V_AUTHENTICATE);
	CHECK_STR(C.user, "PLAIN");
	REQUIRE(C.ir != NULL);
	CHECK_EQ(imapd_sasl_plain(C.ir, C.ir_len, user, pass), 0);
	CHECK_STR(user, "ratchet");
	CHECK_STR(pass, "ratchet");
	CHECK_EQ(parse("a AUTHENTICATE plain"), 0);
	CHECK(C.ir == NULL);
	/* authzid = authcid is fine, another identity is not */
	CHECK_EQ(imapd_sasl_plain("dQB1AHA=", 8, user, pass), 0);
	CHECK_STR(user, "u");
	CHECK_STR(pass, "p");
	CHECK_EQ(imapd_sasl_plain("eAB1AHA=", 8, user, pass), -1);
	CHECK_EQ(imapd_sasl_plain("AHUAcA", 6, user, pass), -1);   /* no padding */
	CHECK_EQ(imapd_sasl_plain("dXA=", 4, user, pass), -1);     /* no NULs */
	CHECK_EQ(imapd_sasl_plain("AAB=", 4, user, pass), -1);     /* bad pad */
	CHECK_EQ(imapd_sasl_plain("", 0, user, pass), -1);
}

static void test_select(void)
{
	CHECK_EQ(parse("a SELECT inbox"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_SELECT);
	CHECK_STR(C.op.mailbox, "inbox");
	CHECK(!C.op.readonly && !C.op.condstore && !C.op.qresync);
	CHECK_EQ(parse("a EXAMINE \"Other box\" (CONDSTORE)"), 0);
	CHECK(C.op.readonly);
	CHECK(C.op.condstore);
	CHECK_STR(C.op.mailbox, "Other box");
	CHECK_EQ(parse("a SELECT INBOX (QRESYNC (123 456))"), 0);
	CHECK(C.op.qresync);
	CHECK_EQ(C.op.q_uidvalidity, 123);
	CHECK_EQ(C.op.q_modseq, 456);
	CHECK_EQ(C.op.q_known.n, 0);
	CHECK_EQ(parse("a SELECT INBOX (QRESYNC (7 9223372036854775807 1:5,7 (1:3 4:6)))"), 0);
	CHECK_EQ(C.op.q_modseq, INT64_MAX);
	CHECK_STR(set_text(&C.op.q_known), "1:5,7");
	CHECK_EQ(parse("a SELECT INBOX (QRESYNC (7 9 (1:3 4:6)))"), 0);
	CHECK_EQ(C.op.q_known.n, 0);
	CHECK_EQ(parse("a SELECT INBOX (CONDSTORE QRESYNC (7 9))"), 0);
	CHECK(C.op.condstore && C.op.qresync);
	CHECK_EQ(parse("a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_STATUS);
	CHECK_EQ(C.op.status_items, MODEL_STATUS_MESSAGES | MODEL_STATUS_RECENT | MODEL_STATUS_UIDNEXT |
					    MODEL_STATUS_UIDVALIDITY | MODEL_STATUS_UNSEEN |
					    MODEL_STATUS_HIGHESTMODSEQ);
	CHECK_EQ(parse("a ENABLE QRESYNC X-UNKNOWN condstore"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_ENABLE);
	CHECK_EQ(C.op.caps, MODEL_CAP_QRESYNC | MODEL_CAP_CONDSTORE);
	CHECK_EQ(parse("a ENABLE X-UNKNOWN"), 0);
	CHECK_EQ(C.op.caps, 0);
}

static void test_append(void)
{
	cm_buf msg = {0}, line = {0};
	model_message_bytes_sized("t-17", 300, &msg);
	cm_buf_printf(&line, "a APPEND INBOX (\\Seen $Junk) \"01-Jan-2000 00:00:00 +0000\" {%zu}\r\n",
		      msg.len);
	cm_buf_append(&line, msg.data, msg.len);
	CHECK_EQ(imapd_parse(line.data, line.len, NULL, &C, &err), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_APPEND);
	CHECK_STR(C.op.mailbox, "INBOX");
	CHECK_STR(C.op.msg_id, "t-17");
	CHECK_EQ(C.op.size, 300);
	CHECK(C.op.body_hash == cm_hash64(msg.data, msg.len));
	CHECK(C.op.flags == (CM_FLAG_SEEN | F("$Junk")));
	CHECK(C.has_date);
	CHECK_EQ(C.date, 946684800);
	CHECK_EQ(C.body_len, msg.len);
	CHECK(C.body == line.data + line.len - msg.len);
	/* mailbox as a literal, LITERAL+ body, no flags, no date, no id */
	CHECK_EQ(parse("a APPEND {5}\r\nINBOX {3+}\r\nabc"), 0);
	CHECK_STR(C.op.mailbox, "INBOX");
	CHECK_STR(C.op.msg_id, "");
	CHECK_EQ(C.op.size, 3);
	CHECK(!C.has_date);
	CHECK_EQ(parse("a APPEND x () {3}\r\nabc"), 0);
	CHECK_EQ(C.op.flags, 0);
	cm_buf_free(&msg);
	cm_buf_free(&line);
}

static void test_store(void)
{
	CHECK_EQ(parse("a UID STORE 1:3,5 (UNCHANGEDSINCE 12) +FLAGS.SILENT (\\Seen $Junk)"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_STORE);
	CHECK(C.op.uid);
	CHECK_STR(set_text(&C.op.set), "1:3,5");
	CHECK(C.op.has_unchangedsince);
	CHECK_EQ(C.op.unchangedsince, 12);
	CHECK_EQ(C.op.mode, MODEL_STORE_ADD);
	CHECK(C.op.silent);
	CHECK(C.op.flags == (CM_FLAG_SEEN | F("$Junk")));
	CHECK_EQ(parse("a STORE 2 -FLAGS \\Deleted \\seen"), 0);
	CHECK(!C.op.uid && !C.op.silent && !C.op.has_unchangedsince);
	CHECK_EQ(C.op.mode, MODEL_STORE_REMOVE);
	CHECK(C.op.flags == (CM_FLAG_DELETED | CM_FLAG_SEEN));
	CHECK_EQ(parse("a STORE 1:* FLAGS ()"), 0);
	CHECK_EQ(C.op.mode, MODEL_STORE_REPLACE);
	CHECK_STR(set_text(&C.op.set), "1:10");
	CHECK_EQ(C.op.flags, 0);
	CHECK_EQ(parse("a UID STORE 4 (UNCHANGEDSINCE 0) FLAGS (\\Recent \\Draft)"), 0);
	CHECK(C.op.has_unchangedsince);
	CHECK_EQ(C.op.unchangedsince, 0);
	CHECK(C.op.flags == CM_FLAG_DRAFT); /* \Recent is not the client's */
}

static void test_fetch(void)
{
	CHECK_EQ(parse("a UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE 5 VANISHED)"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_FETCH);
	CHECK(C.op.uid && C.uid_star);
	CHECK_EQ(cm_uidset_max(&C.op.set), UINT32_MAX);
	CHECK_EQ(C.op.items, MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ);
	CHECK(C.op.has_changedsince && C.op.vanished);
	CHECK_EQ(C.op.changedsince, 5);
	CHECK_EQ(C.nsec, 0);
	CHECK_EQ(parse_ctx("a FETCH 2:* FAST", 3), 0);
	CHECK(!C.uid_star);
	CHECK_STR(set_text(&C.op.set), "2:3");
	CHECK_EQ(C.op.items, MODEL_F_FLAGS | MODEL_F_IDATE | MODEL_F_SIZE);
	CHECK_EQ(parse("a FETCH 1 flags"), 0);
	CHECK_EQ(C.op.items, MODEL_F_FLAGS);
	CHECK_EQ(parse("a UID FETCH 7 (BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id Subject)] "
		       "RFC822.SIZE BODY[]<0.10> INTERNALDATE)"), 0);
	CHECK_EQ(C.op.items, MODEL_F_ID | MODEL_F_SIZE | MODEL_F_BODY | MODEL_F_IDATE);
	REQUIRE(C.nsec == 2);
	CHECK_EQ(C.sec[0].kind, IMAPD_SEC_FIELDS);
	CHECK(C.sec[0].peek);
	CHECK_STR(C.sec[0].fields, "X-Ratchet-Id Subject");
	CHECK_EQ(C.sec[1].kind, IMAPD_SEC_ALL);
	CHECK(!C.sec[1].peek && C.sec[1].partial);
	CHECK_EQ(C.sec[1].origin, 0);
	CHECK_EQ(C.sec[1].count, 10);
	CHECK(C.sets_seen);
	CHECK_EQ(parse("a FETCH 1 (RFC822.HEADER BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS.NOT (Date)])"), 0);
	CHECK(!C.sets_seen);
	CHECK_EQ(C.sec[0].form, IMAPD_FORM_RFC822_HEADER);
	CHECK_EQ(C.sec[1].kind, IMAPD_SEC_TEXT);
	CHECK_EQ(C.sec[2].kind, IMAPD_SEC_FIELDS_NOT);
	CHECK_EQ(parse("a FETCH 1 RFC822"), 0);
	CHECK(C.sets_seen);
	CHECK_EQ(C.op.items, MODEL_F_BODY | MODEL_F_ID);
	/* what ratchet's own wire driver sends */
	CHECK_EQ(parse("a7 UID FETCH 1:4294967295 (UID FLAGS MODSEQ BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)])"), 0);
	CHECK(!C.uid_star);
	CHECK_EQ(C.op.items, MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ | MODEL_F_ID);
	CHECK_EQ(parse("a8 UID FETCH 3,9 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[])"), 0);
	CHECK_EQ(C.op.items, MODEL_F_UID | MODEL_F_SIZE | MODEL_F_IDATE | MODEL_F_BODY | MODEL_F_ID);
}

static void test_search_copy(void)
{
	CHECK_EQ(parse("a SEARCH ALL"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_SEARCH);
	CHECK(!C.op.uid);
	CHECK_EQ(parse("a UID SEARCH CHARSET UTF-8 ALL"), 0);
	CHECK(C.op.uid);
	CHECK_EQ(parse("a UID MOVE 1,3 Archive"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_MOVE);
	CHECK(C.op.uid);
	CHECK_STR(C.op.mailbox, "Archive");
	CHECK_STR(set_text(&C.op.set), "1,3");
	CHECK_EQ(parse("a COPY 1 \"Arch ive\""), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_COPY);
	CHECK(!C.op.uid);
	CHECK_EQ(parse("a MOVE 2:1 x"), 0);
	CHECK_EQ(C.op.kind, MODEL_OP_MOVE);
	CHECK_STR(set_text(&C.op.set), "1:2");
}

static void test_parse_command_wrapper(void)
{
	model_op op;
	char tag[16];
	model_op_init(&op, MODEL_OP_NONE);
	CHECK_EQ(imapd_parse_command("x1 UID STORE 5 FLAGS (\\Seen)", 28, tag, sizeof(tag),
				     &op, &err), 0);
	CHECK_STR(tag, "x1");
	CHECK_EQ(op.kind, MODEL_OP_STORE);
	CHECK(op.uid);
	CHECK_EQ(imapd_parse_command("x2 LOGIN a b", 12, tag, sizeof(tag), &op, &err), 0);
	CHECK_EQ(op.kind, MODEL_OP_NONE);
	CHECK_EQ(imapd_parse_command("x3 FETCH 1:* UID", 16, tag, sizeof(tag), &op, &err), 0);
	CHECK_EQ(imapd_parse_command("(bad", 4, tag, sizeof(tag), &op, &err),
		 IMAPD_PARSE_NOTAG);
	CHECK_STR(tag, "*");
	model_op_free(&op);
}

static void test_line_literal(void)
{
	uint64_t n = 0;
	bool plus = true;
	CHECK_EQ(imapd_line_literal("a APPEND x {12}", 15, &n, &plus), 1);
	CHECK_EQ(n, 12);
	CHECK(!plus);
	CHECK_EQ(imapd_line_literal("{0+}", 4, &n, &plus), 1);
	CHECK_EQ(n, 0);
	CHECK(plus);
	CHECK_EQ(imapd_line_literal("a CREATE foo}", 13, &n, &plus), 0);
	CHECK_EQ(imapd_line_literal("{}", 2, &n, &plus), 0);
	CHECK_EQ(imapd_line_literal("{+}", 3, &n, &plus), 0);
	CHECK_EQ(imapd_line_literal("1}", 2, &n, &plus), 0);
	CHECK_EQ(imapd_line_literal("", 0, &n, &plus), 0);
	CHECK_EQ(imapd_line_literal("{99999999999999999999999}", 25, &n, &plus), -1);
}

static void test_dates(void)
{
	int64_t t;
	CHECK(imapd_parse_date("01-Jan-2000 00:00:00 +0000", 26, &t));
	CHECK_EQ(t, 946684800);
	CHECK(imapd_parse_date(" 1-jan-2000 01:00:00 +0100", 26, &t));
	CHECK_EQ(t, 946684800);
	CHECK(imapd_parse_date("1-Jan-2000 00:00:00 -0130", 25, &t));
	CHECK_EQ(t, 946684800 + 5400);
	CHECK(imapd_parse_date("29-Feb-2024 23:59:60 +0000", 26, &t));
	CHECK(!imapd_parse_date("29-Feb-2023 00:00:00 +0000", 26, &t));
	CHECK(!imapd_parse_date("01-Foo-2000 00:00:00 +0000", 26, &t));
	CHECK(!imapd_parse_date("01-Jan-2000 24:00:00 +0000", 26, &t));
	CHECK(!imapd_parse_date("01-Jan-2000 00:00:00 0000", 25, &t));
	cm_buf b = {0};
	imapd_format_date(&b, 946684800 + 86400 * 40 + 3661);
	CHECK_STR(b.data, "10-Feb-2000 01:01:01 +0000");
	cm_buf_free(&b);
}

int main(void)
{
	imapd_cmd_init(&C);
	RUN(test_simple_commands);
	RUN(test_login);
	RUN(test_select);
	RUN(test_append);
	RUN(test_store);
	RUN(test_fetch);
	RUN(test_search_copy);
	RUN(test_parse_command_wrapper);
	RUN(test_line_literal);
	RUN(test_dates);
	imapd_cmd_free(&C);
	TEST_EXIT();
}
