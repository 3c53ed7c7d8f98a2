/* imapd: the command parser (good commands to the expected model_op,
 * hostile bytes to BAD without a crash), the response formatter (exact
 * text, and well-formed for ratchet's own response parser), body
 * sections, and the whole pure pipeline parse -> rt_session -> format on
 * the in-memory file system. */
#include "imapd.h"
#include "imapc.h"
#include "rs_session.h"

#include "cm_test.h"

#include <inttypes.h>

static imapd_cmd C;
static char err[160];

static int parse_ctx(const char *s, uint32_t exists)
{
	imapd_parse_ctx ctx = {.exists = exists};
	return imapd_parse(s, strlen(s), &ctx, &C, err, sizeof(err));
}

static int parse(const char *s)
{
	return parse_ctx(s, 10);
}

static cm_flags F(const char *name)
{
	int b = cm_flag_intern(name, strlen(name));
	REQUIRE(b >= 0);
	return (cm_flags)1 << b;
}

static const char *set_text(const cm_uidset *s)
{
	static cm_buf b;
	cm_buf_clear(&b);
	cm_buf_reserve(&b, 1);
	cm_uidset_format(&b, s);
	return b.data;
}

/* ---- parser: good commands ---- */

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
	CHECK_EQ(imapd_parse(line.data, line.len, NULL, &C, err, sizeof(err)), 0);
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
				     &op, err, sizeof(err)), 0);
	CHECK_STR(tag, "x1");
	CHECK_EQ(op.kind, MODEL_OP_STORE);
	CHECK(op.uid);
	CHECK_EQ(imapd_parse_command("x2 LOGIN a b", 12, tag, sizeof(tag), &op, err,
				     sizeof(err)), 0);
	CHECK_EQ(op.kind, MODEL_OP_NONE);
	CHECK_EQ(imapd_parse_command("x3 FETCH 1:* UID", 16, tag, sizeof(tag), &op, err,
				     sizeof(err)), 0);
	CHECK_EQ(imapd_parse_command("(bad", 4, tag, sizeof(tag), &op, err, sizeof(err)),
		 IMAPD_PARSE_NOTAG);
	CHECK_STR(tag, "*");
	model_op_free(&op);
}

/* ---- parser: hostile input ---- */

static void test_bad_commands(void)
{
	static const char *const bad[] = {
		"a1", "a1 ", "a1 FOO", "a1 UID NOOP", "a1 UID", "a1 NOOP extra",
		"a1  NOOP", "a1 SELECT", "a1 SELECT \"unterminated", "a1 SELECT \"a\\b\"",
		"a1 SELECT \"a\001b\"", "a1 SELECT INBOX ()", "a1 SELECT INBOX (FOO)",
		"a1 SELECT INBOX (QRESYNC (0 1))", "a1 SELECT INBOX (QRESYNC (1))",
		"a1 SELECT INBOX (QRESYNC (1 99999999999999999999))",
		"a1 SELECT INBOX (CONDSTORE CONDSTORE)", "a1 FETCH 0 UID",
		"a1 FETCH 1 (BODY[1.2])", "a1 FETCH 1 ENVELOPE", "a1 FETCH 1 ALL",
		"a1 FETCH 1 (UID", "a1 FETCH 1 ()", "a1 FETCH 1 BODY", "a1 FETCH 1 (BODY[]<0.0>)",
		"a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS ()])", "a1 FETCH 1 UID (CHANGEDSINCE)",
		"a1 FETCH 1 UID (CHANGEDSINCE 1 CHANGEDSINCE 2)", "a1 FETCH 4294967296 UID",
		"a1 FETCH 1 (BODY[HEADER.FIELDS (a:b)])", "a1 SEARCH UNSEEN", "a1 SEARCH",
		"a1 STORE 1 FLAGS (\\Bogus)", "a1 STORE 1 FLAGS", "a1 STORE 1 XFLAGS (\\Seen)",
		"a1 STORE 1 (UNCHANGEDSINCE x) FLAGS ()", "a1 STORE 1 FLAGS (\\*)",
		"a1 APPEND INBOX {10}\r\nabc", "a1 APPEND INBOX {99999999999999999999}\r\n",
		"a1 APPEND INBOX abc", "a1 APPEND INBOX {0}\r\n",
		"a1 APPEND INBOX \"31-Feb-2000 00:00:00 +0000\" {1}\r\nx",
		"a1 APPEND INBOX (\\Seen {1}\r\nx", "a1 LOGIN onlyuser", "a1 LOGIN {2}\r\na",
		"a1 STATUS INBOX ()", "a1 STATUS INBOX (SIZE)", "a1 STATUS INBOX MESSAGES",
		"a1 AUTHENTICATE", "a1 AUTHENTICATE PLAIN !!", "a1 COPY 1", "a1 UID COPY x y",
		"a1 ENABLE", "a1 LIST \"\"", "a1 CREATE \"\"x", "a1 UID EXPUNGE",
		"a1 EXPUNGE 1",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(bad); i++) {
		int r = parse(bad[i]);
		if (r != IMAPD_PARSE_BAD)
			fprintf(stderr, "not BAD (%d): %s\n", r, bad[i]);
		CHECK_EQ(r, IMAPD_PARSE_BAD);
		CHECK(err[0] != '\0');
	}
	static const char *const notag[] = {"", "*", "+", "a+b NOOP", "(x NOOP",
					    "a\"b NOOP", " NOOP"};
	for (size_t i = 0; i < CM_ARRAY_LEN(notag); i++)
		CHECK_EQ(parse(notag[i]), IMAPD_PARSE_NOTAG);
	CHECK_EQ(parse_ctx("a FETCH * UID", 0), IMAPD_PARSE_BAD); /* empty mailbox */
	CHECK_EQ(imapd_parse("a\0b NOOP", 8, NULL, &C, err, sizeof(err)), IMAPD_PARSE_NOTAG);
	CHECK_EQ(imapd_parse("a LOGIN {3}\r\na\0b c", 18, NULL, &C, err, sizeof(err)),
		 IMAPD_PARSE_BAD);
	char tag[IMAPD_TAG_MAX + 10];
	memset(tag, 't', sizeof(tag));
	snprintf(tag + IMAPD_TAG_MAX + 2, 6, " NOOP");
	CHECK_EQ(parse(tag), IMAPD_PARSE_NOTAG);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Mutations of good commands: every result is OK, BAD or NOTAG, every
 * reason printable (it goes on the wire), nothing crashes or leaks (ASan). */
static void test_mutations(void)
{
	static const char *const seeds[] = {
		"a SELECT INBOX (QRESYNC (7 9 1:5,7 (1:3 4:6)))",
		"a UID STORE 1:3,5 (UNCHANGEDSINCE 12) +FLAGS.SILENT (\\Seen $Junk)",
		("a UID FETCH 1:* (UID FLAGS MODSEQ BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)] "
		 "BODY[]<1.5>) (CHANGEDSINCE 5 VANISHED)"),
		"a APPEND INBOX (\\Seen) \" 1-Jan-2000 00:00:00 +0000\" {5}\r\nX: y\n",
		"a LOGIN {3}\r\nabc \"d\\\"e\"", "a STATUS \"x\" (MESSAGES HIGHESTMODSEQ)",
		"a AUTHENTICATE PLAIN AHUAcA==", "a LIST \"\" \"%\"", "a UID MOVE 1:2 y",
	};
	static const char alphabet[] = " ()[]{}<>\"\\*%:,.+-019aZ\r\n\x00\x7f\xff";
	cm_rng rng;
	cm_rng_seed(&rng, 42);
	char buf[512];
	model_op op;
	model_op_init(&op, MODEL_OP_NONE);
	for (int iter = 0; iter < 200000; iter++) {
		const char *s = seeds[cm_rng_below(&rng, CM_ARRAY_LEN(seeds))];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		int edits = 1 + (int)cm_rng_below(&rng, 4);
		for (int e = 0; e < edits && n > 0; e++) {
			size_t at = cm_rng_below(&rng, n);
			char c = alphabet[cm_rng_below(&rng, sizeof(alphabet) - 1)];
			switch (cm_rng_below(&rng, 4)) {
			case 0: buf[at] = c; break;
			case 1: n = at; break;
			case 2:
				if (n + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			default:
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			}
		}
		int r = imapd_parse(buf, n, NULL, &C, err, sizeof(err));
		CHECK(r == 0 || r == IMAPD_PARSE_BAD || r == IMAPD_PARSE_NOTAG);
		if (r != 0 && !printable(err)) {
			fprintf(stderr, "unprintable reason for %.*s\n", (int)n, buf);
			CHECK(false);
		}
		char tag[IMAPD_TAG_MAX];
		r = imapd_parse_command(buf, n, tag, sizeof(tag), &op, err, sizeof(err));
		CHECK(r == 0 || r == IMAPD_PARSE_BAD || r == IMAPD_PARSE_NOTAG);
	}
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

/* ---- body sections ---- */

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

/* ---- formatter ---- */

static int count_responses(void *ctx, const imapc_response *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

/* Everything we format must parse as responses for ratchet's client. */
static int well_formed(const cm_buf *b)
{
	cm_err e;
	int n = 0;
	if (!imapc_parse_all(b->data, b->len, NULL, count_responses, &n, &e)) {
		fprintf(stderr, "not well formed (%s):\n%s\n", e.text, b->data);
		return -1;
	}
	return n;
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
	cm_uidset_add_range(&u->code.set1, 4, 5);
	cm_uidset_add_range(&u->code.set2, 10, 11);
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
		cm_uidset_add_range(&r.code.set1, 4, 5);
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

/* ---- the pipeline on the in-memory file system ---- */

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
	REQUIRE(imapd_parse(line, len, &ctx, &C, err, sizeof(err)) == 0);
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

/* Before login a client gets 4 KiB per command, whatever it announces
 * (before: a 64 MiB literal each, 65.6 MiB of RSS per connection), and
 * each failed login is answered later than the one before. */
static void test_limits(void)
{
	CHECK_EQ(imapd_line_limit(false), 4096);
	CHECK_EQ(imapd_line_limit(true), 64 << 10);
	CHECK(imapd_literal_fits(false, 20, 200, 1));
	CHECK(imapd_literal_fits(false, 96, 4000, 1));
	CHECK(!imapd_literal_fits(false, 97, 4000, 1));
	CHECK(!imapd_literal_fits(false, 20, (uint64_t)64 << 20, 1));
	CHECK(!imapd_literal_fits(false, 20, UINT64_MAX, 1));
	CHECK(imapd_literal_fits(true, 20, (uint64_t)64 << 20, 1));
	CHECK(!imapd_literal_fits(true, 20, ((uint64_t)64 << 20) + 1, 1));
	CHECK(!imapd_literal_fits(true, IMAPD_COMMAND_MAX, 1, 2));
	CHECK(!imapd_literal_fits(true, 20, 10, IMAPD_LITERALS_MAX + 1));
	CHECK(!imapd_literal_fits(true, 20, 10, 0));
	CHECK_EQ(imapd_auth_delay_ms(0), 0);
	CHECK_EQ(imapd_auth_delay_ms(1), 1000);
	CHECK_EQ(imapd_auth_delay_ms(2), 2000);
	CHECK_EQ(imapd_auth_delay_ms(3), 4000);
	CHECK(imapd_auth_delay_ms(UINT32_MAX) > imapd_auth_delay_ms(3));
	CHECK_EQ(IMAPD_AUTH_FAILS_MAX, 3);
	/* Every delay before the last failure fits in the login time. */
	unsigned total = 0;
	for (unsigned f = 1; f <= IMAPD_AUTH_FAILS_MAX; f++)
		total += imapd_auth_delay_ms(f);
	CHECK(total < IMAPD_PREAUTH_S * 1000);
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
	RUN(test_bad_commands);
	RUN(test_line_literal);
	RUN(test_dates);
	RUN(test_sections);
	RUN(test_format_select);
	RUN(test_format_codes);
	RUN(test_format_misc);
	RUN(test_format_bodies);
	RUN(test_pipeline);
	/* Last: the mutations fill the process's keyword table. */
	RUN(test_mutations);
	RUN(test_limits);
	imapd_cmd_free(&C);
	TEST_EXIT();
}
