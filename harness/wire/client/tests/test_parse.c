/* Parsing real-world response shapes (Dovecot 2.3, Cyrus 3.6, RFC examples)
 * into the fields the checker uses. */
#include "samples.h"

#define LONG70 "k123456789k123456789k123456789k123456789k123456789k123456789k123456789"

static int bit(const char *name)
{
	return cm_flag_intern(name, strlen(name));
}

static cm_flags F(const char *name)
{
	int b = bit(name);
	REQUIRE(b >= 0);
	return (cm_flags)1 << b;
}

static void test_dovecot_greeting_login(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c, DOVECOT_GREETING DOVECOT_LOGIN_OK) == 2);
	const imapc_response *g = c.r[0], *t = c.r[1];
	CHECK_EQ(g->kind, IMAPC_UNTAGGED);
	CHECK_EQ(g->type, IMAPC_T_OK);
	CHECK_EQ(g->code.kind, IMAPC_CODE_CAPABILITY);
	CHECK_EQ(g->code.caps.n, 8);
	CHECK(str_is(g->code.caps.names[7], "AUTH=PLAIN"));
	CHECK_EQ(g->code.caps.mask,
		 IMAPC_CAP_IMAP4REV1 | IMAPC_CAP_SASL_IR | IMAPC_CAP_ENABLE |
		 IMAPC_CAP_IDLE | IMAPC_CAP_LITERALPLUS | IMAPC_CAP_AUTH_PLAIN);
	CHECK(str_is(g->text, "Dovecot (Debian) ready."));
	CHECK_EQ(t->kind, IMAPC_TAGGED);
	CHECK(str_is(t->tag, "a0001"));
	CHECK_EQ(t->type, IMAPC_T_OK);
	CHECK(t->code.caps.mask & IMAPC_CAP_QRESYNC);
	CHECK(t->code.caps.mask & IMAPC_CAP_MOVE);
	CHECK(t->code.caps.mask & IMAPC_CAP_UIDPLUS);
	CHECK(t->code.caps.mask & IMAPC_CAP_ESEARCH);
	CHECK(imapc_caps_has(&t->code.caps, "status=size"));
	CHECK(!imapc_caps_has(&t->code.caps, "STATUS"));
	CHECK(str_is(t->text, "Logged in"));
	CHECK_EQ(t->index, 1);
	CHECK_EQ(t->offset, strlen(DOVECOT_GREETING));
	coll_free(&c);
}

static void test_dovecot_select(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c, DOVECOT_SELECT) == 9);
	cm_flags sys = F("\\Answered") | F("\\Flagged") | F("\\Deleted") |
		       F("\\Seen") | F("\\Draft");
	CHECK_EQ(c.r[0]->type, IMAPC_T_FLAGS);
	CHECK(c.r[0]->flags.flags == (sys | F("$Forwarded")));
	CHECK(!c.r[0]->flags.star);
	CHECK_EQ(c.r[1]->code.kind, IMAPC_CODE_PERMANENTFLAGS);
	CHECK(c.r[1]->code.flags.star);
	CHECK(c.r[1]->code.flags.flags == (sys | F("$Forwarded")));
	CHECK(str_is(c.r[1]->text, "Flags permitted."));
	CHECK_EQ(c.r[2]->type, IMAPC_T_EXISTS);
	CHECK_EQ(c.r[2]->number, 3);
	CHECK_EQ(c.r[3]->type, IMAPC_T_RECENT);
	CHECK_EQ(c.r[3]->number, 0);
	CHECK_EQ(c.r[4]->code.kind, IMAPC_CODE_UNSEEN);
	CHECK_EQ(c.r[4]->code.num, 2);
	CHECK_EQ(c.r[5]->code.kind, IMAPC_CODE_UIDVALIDITY);
	CHECK_EQ(c.r[5]->code.num, 1700000000);
	CHECK_EQ(c.r[6]->code.kind, IMAPC_CODE_UIDNEXT);
	CHECK_EQ(c.r[6]->code.num, 4);
	CHECK_EQ(c.r[7]->code.kind, IMAPC_CODE_HIGHESTMODSEQ);
	CHECK_EQ(c.r[7]->code.modseq, 9);
	CHECK_EQ(c.r[8]->kind, IMAPC_TAGGED);
	CHECK_EQ(c.r[8]->code.kind, IMAPC_CODE_READ_WRITE);
	CHECK(str_is(c.r[8]->text, "Select completed (0.001 + 0.000 secs)."));
	coll_free(&c);
}

static void test_cyrus_select(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c, CYRUS_GREETING CYRUS_SELECT) == 12);
	CHECK(c.r[0]->code.caps.mask & IMAPC_CAP_LITERALPLUS);
	CHECK(str_is(c.r[0]->text, "mail.example.org Cyrus IMAP 3.6.1 server ready"));
	CHECK_EQ(c.r[1]->type, IMAPC_T_EXISTS);
	CHECK_EQ(c.r[1]->number, 2);
	CHECK(c.r[4]->code.flags.star);
	CHECK_EQ(c.r[5]->code.num, 1700000123);
	CHECK_EQ(c.r[7]->code.modseq, 5);
	CHECK_EQ(c.r[8]->code.kind, IMAPC_CODE_OTHER);
	CHECK(str_is(c.r[8]->code.name, "URLMECH"));
	CHECK(str_is(c.r[8]->code.args, "INTERNAL"));
	CHECK(str_is(c.r[10]->code.args, "(f1b2c3d4-aaaa-bbbb)"));
	CHECK(str_is(c.r[11]->tag, "a0003"));
	coll_free(&c);
}

static void test_uidplus_codes(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c,
		"a3 OK [APPENDUID 1700000000 4] Append completed (0.003 + 0.000 + 0.002 secs).\r\n"
		"a4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
		"* OK [COPYUID 1700000001 2,4 5:6] Moved UIDs.\r\n"
		"a5 OK [COPYUID 9 5:3,9 20:23] reversed\r\n"
		"a6 OK [MODIFIED 7,9] Conditional STORE failed\r\n"
		"a7 OK [APPENDUID 1 10:12] multiappend\r\n"
		"a8 NO [MODIFIED 2] Conditional store failed\r\n") == 7);
	const imapc_code *k = &c.r[0]->code;
	CHECK_EQ(k->kind, IMAPC_CODE_APPENDUID);
	CHECK_EQ(k->num, 1700000000);
	CHECK_EQ(cm_uidset_count(&k->uids.set), 1);
	CHECK(cm_uidset_contains(&k->uids.set, 4));
	k = &c.r[1]->code;
	CHECK_EQ(k->kind, IMAPC_CODE_COPYUID);
	CHECK_EQ(k->num, 38505);
	CHECK_EQ(k->uids.listed, 3);
	CHECK_EQ(k->dst.listed, 3);
	CHECK_EQ(imapc_seqset_nth(&k->uids, 0), 304);
	CHECK_EQ(imapc_seqset_nth(&k->dst, 0), 3956);
	CHECK_EQ(imapc_seqset_nth(&k->uids, 2), 320);
	CHECK_EQ(imapc_seqset_nth(&k->dst, 2), 3958);
	CHECK_EQ(k->uids.n_order, 2);
	CHECK(str_is(k->args, "38505 304,319:320 3956:3958"));
	CHECK_EQ(c.r[2]->kind, IMAPC_UNTAGGED);
	CHECK_EQ(c.r[2]->code.kind, IMAPC_CODE_COPYUID);
	k = &c.r[3]->code;  /* written order kept: 5,4,3,9 -> 20..23 */
	CHECK_EQ(k->uids.listed, 4);
	CHECK_EQ(imapc_seqset_nth(&k->uids, 0), 5);
	CHECK_EQ(imapc_seqset_nth(&k->uids, 2), 3);
	CHECK_EQ(imapc_seqset_nth(&k->uids, 3), 9);
	CHECK_EQ(k->uids.set.n, 2);
	CHECK_EQ(k->uids.set.r[0].lo, 3);
	CHECK_EQ(k->uids.set.r[0].hi, 5);
	k = &c.r[4]->code;
	CHECK_EQ(k->kind, IMAPC_CODE_MODIFIED);
	CHECK_EQ(cm_uidset_count(&k->uids.set), 2);
	CHECK(cm_uidset_contains(&k->uids.set, 9));
	CHECK_EQ(cm_uidset_count(&c.r[5]->code.uids.set), 3);
	CHECK_EQ(c.r[6]->type, IMAPC_T_NO);
	CHECK_EQ(c.r[6]->code.kind, IMAPC_CODE_MODIFIED);
	coll_free(&c);
}

static void test_other_codes(void)
{
	static const struct {
		const char *line;
		imapc_type type;
		imapc_code_kind kind;
	} cases[] = {
		{"* OK [NOMODSEQ] No permanent modsequences\r\n", IMAPC_T_OK, IMAPC_CODE_NOMODSEQ},
		{"* OK [CLOSED] Previous mailbox closed.\r\n", IMAPC_T_OK, IMAPC_CODE_CLOSED},
		{"a NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n", IMAPC_T_NO, IMAPC_CODE_TRYCREATE},
		{"a NO [NONEXISTENT] Mailbox doesn't exist: Foo\r\n", IMAPC_T_NO, IMAPC_CODE_NONEXISTENT},
		{"a NO [ALREADYEXISTS] Mailbox already exists\r\n", IMAPC_T_NO, IMAPC_CODE_ALREADYEXISTS},
		{"a NO [SERVERBUG] Internal error occurred. Refer to server log for more information. [2023-11-22 07:52:01]\r\n", IMAPC_T_NO, IMAPC_CODE_SERVERBUG},
		{"a NO [INUSE] Mailbox is locked\r\n", IMAPC_T_NO, IMAPC_CODE_INUSE},
		{"a NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n", IMAPC_T_NO, IMAPC_CODE_OVERQUOTA},
		{"a NO [LIMIT] Too many\r\n", IMAPC_T_NO, IMAPC_CODE_LIMIT},
		{"a NO [UNAVAILABLE] Try later\r\n", IMAPC_T_NO, IMAPC_CODE_UNAVAILABLE},
		{"a NO [EXPUNGEISSUED] Some messages were expunged\r\n", IMAPC_T_NO, IMAPC_CODE_EXPUNGEISSUED},
		{"a NO [NOPERM] Permission denied\r\n", IMAPC_T_NO, IMAPC_CODE_NOPERM},
		{"a OK [READ-ONLY] Examine completed\r\n", IMAPC_T_OK, IMAPC_CODE_READ_ONLY},
		{"* OK [ALERT] System shutdown in 10 minutes\r\n", IMAPC_T_OK, IMAPC_CODE_ALERT},
		{"* NO [PARSE] Bad header\r\n", IMAPC_T_NO, IMAPC_CODE_PARSE},
		{"a NO [CANNOT] Invalid mailbox name\r\n", IMAPC_T_NO, IMAPC_CODE_OTHER},
		{"a NO [BADCHARSET (UTF-8 US-ASCII)] charset\r\n", IMAPC_T_NO, IMAPC_CODE_OTHER},
		{"a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", IMAPC_T_NO, IMAPC_CODE_OTHER},
		{"a BAD Error in IMAP command UID: Invalid arguments.\r\n", IMAPC_T_BAD, IMAPC_CODE_NONE},
		{"* BYE Disconnected for inactivity.\r\n", IMAPC_T_BYE, IMAPC_CODE_NONE},
		{"* PREAUTH [CAPABILITY IMAP4rev2] ready\r\n", IMAPC_T_PREAUTH, IMAPC_CODE_CAPABILITY},
		{"a1 OK\r\n", IMAPC_T_OK, IMAPC_CODE_NONE},
		{"a1 OK [READ-WRITE]\r\n", IMAPC_T_OK, IMAPC_CODE_READ_WRITE},
		{"* ok [uidnext 5] lower case\r\n", IMAPC_T_OK, IMAPC_CODE_UIDNEXT},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
		coll c = {0};
		REQUIRE(coll_parse(&c, cases[i].line) == 1);
		CHECK_EQ(c.r[0]->type, cases[i].type);
		CHECK_EQ(c.r[0]->code.kind, cases[i].kind);
		coll_free(&c);
	}
	coll c = {0};
	coll_parse(&c, "a NO [BADCHARSET (UTF-8 US-ASCII)] charset\r\n"
		       "a NO [SERVERBUG] Internal error [x]\r\n");
	CHECK(str_is(c.r[0]->code.name, "BADCHARSET"));
	CHECK(str_is(c.r[0]->code.args, "(UTF-8 US-ASCII)"));
	CHECK(str_is(c.r[0]->text, "charset"));
	CHECK(str_is(c.r[1]->text, "Internal error [x]"));
	coll_free(&c);
}

static void test_fetch_literal_body(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c, "* 1 FETCH (UID 1 MODSEQ (7) FLAGS (\\Seen $Junk) BODY[] {43}\r\n"
			       MSG1 ")\r\n") == 1);
	const imapc_response *r = c.r[0];
	const imapc_fetch *f = &r->fetch;
	CHECK_EQ(r->type, IMAPC_T_FETCH);
	CHECK_EQ(r->number, 1);
	CHECK_EQ(f->has, IMAPC_FETCH_UID | IMAPC_FETCH_MODSEQ |
			 IMAPC_FETCH_FLAGS | IMAPC_FETCH_BODY);
	CHECK_EQ(f->dup, 0);
	CHECK_EQ(f->uid, 1);
	CHECK_EQ(f->modseq, 7);
	CHECK(f->flags.flags == (F("\\Seen") | F("$Junk")));
	CHECK(!f->flags.recent);
	REQUIRE(f->n_bodies == 1);
	CHECK_EQ(f->bodies[0].kind, IMAPC_BODY_SECTION);
	CHECK_EQ(f->bodies[0].section.len, 0);
	CHECK(str_is(f->bodies[0].data, MSG1));
	CHECK(f->bodies[0].hash == cm_hash64(MSG1, strlen(MSG1)));
	CHECK(imapc_fetch_message(f) == &f->bodies[0]);
	imapc_str v;
	CHECK(imapc_fetch_header(f, "x-ratchet-id", &v));
	CHECK(str_is(v, "r-0001"));
	CHECK(!imapc_fetch_header(f, "Message-ID", &v));
	coll_free(&c);
}

static void test_fetch_cyrus_shapes(void)
{
	coll c = {0};
	static const char in[] =
		"* 1 FETCH (FLAGS (\\Seen \\Recent) UID 1 MODSEQ (4))\r\n"
		"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (X-RATCHET-ID)] {23}\r\n"
		"X-Ratchet-Id: abc-7\r\n\r\n)\r\n"
		"* 2 FETCH (UID 2 RFC822.SIZE 512 INTERNALDATE \" 7-Nov-2023 10:00:00 +0000\")\r\n"
		"* 3 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" UID 3)\r\n"
		"* 4 FETCH (UID 4 BODY[1] \"a\\\"b\\\\c\" BODY[2] NIL BINARY[] ~{3}\r\nx\0y)\r\n"
		"* 5 FETCH (UID 5 BODY[]<0> {2}\r\nab RFC822 {1}\r\nz RFC822.HEADER \"H: 1\")\r\n";
	cm_err e;
	bool ok = imapc_parse_all(in, sizeof(in) - 1, NULL, coll_add, &c, &e);
	if (!ok)
		fprintf(stderr, "%s\n", e.text);
	REQUIRE(ok);
	REQUIRE(c.n == 6);
	const imapc_fetch *f = &c.r[0]->fetch;
	CHECK(f->flags.recent);
	CHECK(f->flags.flags == F("\\Seen"));
	CHECK_EQ(f->modseq, 4);
	f = &c.r[1]->fetch;
	REQUIRE(f->n_bodies == 1);
	CHECK(str_is(f->bodies[0].section, "HEADER.FIELDS (X-RATCHET-ID)"));
	CHECK(imapc_fetch_section(f, "header.fields (x-ratchet-id)") == &f->bodies[0]);
	CHECK(imapc_fetch_message(f) == NULL);
	imapc_str v;
	CHECK(imapc_fetch_header(f, "X-Ratchet-Id", &v));
	CHECK(str_is(v, "abc-7"));
	f = &c.r[2]->fetch;
	CHECK_EQ(f->size, 512);
	CHECK_EQ(f->internaldate, 1699351200);
	CHECK_EQ(f->tz_offset, 0);
	CHECK(str_is(f->internaldate_raw, " 7-Nov-2023 10:00:00 +0000"));
	f = &c.r[3]->fetch;
	CHECK_EQ(f->internaldate, 837596665);  /* 1996-07-17 09:44:25 UTC */
	CHECK_EQ(f->tz_offset, -7 * 3600);
	CHECK_EQ(f->uid, 3);
	f = &c.r[4]->fetch;
	REQUIRE(f->n_bodies == 3);
	CHECK(str_is(f->bodies[0].data, "a\"b\\c"));
	CHECK(str_is(f->bodies[0].section, "1"));
	CHECK(f->bodies[1].nil);
	CHECK_EQ(f->bodies[2].kind, IMAPC_BODY_BINARY);
	CHECK(f->bodies[2].literal8);
	CHECK_EQ(f->bodies[2].data.len, 3);
	CHECK(f->bodies[2].data.p[1] == '\0');
	CHECK(imapc_fetch_message(f) == &f->bodies[2]);
	f = &c.r[5]->fetch;
	REQUIRE(f->n_bodies == 3);
	CHECK(f->bodies[0].partial);
	CHECK_EQ(f->bodies[0].origin, 0);
	CHECK_EQ(f->bodies[1].kind, IMAPC_BODY_RFC822);
	CHECK_EQ(f->bodies[2].kind, IMAPC_BODY_RFC822_HEADER);
	CHECK(imapc_fetch_message(f) == &f->bodies[1]);
	coll_free(&c);
}

static void test_fetch_skip_and_dups(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c,
		"* 2 FETCH (UID 2 ENVELOPE (\"Wed, 22 Nov 2023 07:52:01 +0000\" "
		"{5}\r\nhello ((\"A\" NIL \"a\" \"x.org\")) NIL NIL NIL NIL NIL NIL "
		"NIL \"<m@x>\") BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" "
		"\"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)(\"text\" \"html\" "
		"NIL NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) \"alternative\" "
		"(\"boundary\" \"b\") NIL NIL NIL) EMAILID (M123) X-GM-LABELS "
		"(\\Inbox) FLAGS ())\r\n"
		"* 3 FETCH (UID 3 UID 4 FLAGS (\\Seen) FLAGS (\\Seen) MODSEQ (5) MODSEQ (6))\r\n"
		"* 4 FETCH (BODY[] {1}\r\na BODY[] {1}\r\nb UID 9)\r\n"
		"* 5 FETCH (FLAGS (\\Seen $" LONG70 " $Kw))\r\n") == 4);
	const imapc_fetch *f = &c.r[0]->fetch;
	CHECK_EQ(f->uid, 2);
	CHECK_EQ(f->has, IMAPC_FETCH_UID | IMAPC_FETCH_FLAGS);
	CHECK(f->flags.flags == 0);
	REQUIRE(f->n_unknown == 4);
	CHECK(str_is(f->unknown[0], "ENVELOPE"));
	CHECK(str_is(f->unknown[1], "BODYSTRUCTURE"));
	CHECK(str_is(f->unknown[3], "X-GM-LABELS"));
	f = &c.r[1]->fetch;
	CHECK_EQ(f->uid, 4);  /* last wins */
	CHECK_EQ(f->dup, IMAPC_FETCH_UID | IMAPC_FETCH_FLAGS | IMAPC_FETCH_MODSEQ);
	CHECK_EQ(f->conflict, IMAPC_FETCH_UID | IMAPC_FETCH_MODSEQ);
	CHECK_EQ(f->modseq, 6);
	f = &c.r[2]->fetch;
	REQUIRE(f->n_bodies == 1);
	CHECK(str_is(f->bodies[0].data, "b"));
	CHECK_EQ(f->dup, IMAPC_FETCH_BODY);
	CHECK_EQ(f->conflict, IMAPC_FETCH_BODY);
	f = &c.r[3]->fetch;
	CHECK_EQ(f->flags.n_bad, 1);  /* too long for cm to intern */
	CHECK(f->flags.flags == (F("\\Seen") | F("$Kw")));
	coll_free(&c);
}

static void test_qresync_and_search(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c,
		"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n"
		"* VANISHED 405,407,410,425\r\n"
		"* 49 FETCH (UID 117 FLAGS (\\Seen \\Answered) MODSEQ (90060115194045001))\r\n"
		"* SEARCH 2 84 882\r\n"
		"* SEARCH\r\n"
		"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n"
		"* ESEARCH (TAG \"a0005\") UID MIN 1 MAX 9 COUNT 5 ALL 1:3,7,9\r\n"
		"* ESEARCH (TAG \"a7\") UID ALL 1:2\r\n"
		"* ESEARCH (TAG \"a8\") COUNT 0\r\n"
		"* ESEARCH (TAG \"a9\") UID MODSEQ 12 PARTIAL (1:10 1,3) MIN 3\r\n"
		"* ESEARCH\r\n") == 11);
	const imapc_response *r = c.r[0];
	CHECK_EQ(r->type, IMAPC_T_VANISHED);
	CHECK(r->vanished.earlier);
	CHECK_EQ(cm_uidset_count(&r->vanished.uids.set),
		 1 + 74 + 1 + 92 + 327);
	CHECK(!c.r[1]->vanished.earlier);
	CHECK_EQ(cm_uidset_count(&c.r[1]->vanished.uids.set), 4);
	CHECK_EQ(c.r[2]->fetch.modseq, 90060115194045001ULL);
	CHECK_EQ(c.r[3]->search.n, 3);
	CHECK_EQ(c.r[3]->search.nums[2], 882);
	CHECK(!c.r[3]->search.has_modseq);
	CHECK_EQ(c.r[4]->search.n, 0);
	CHECK_EQ(c.r[5]->search.n, 10);
	CHECK(c.r[5]->search.has_modseq);
	CHECK_EQ(c.r[5]->search.modseq, 917162500);
	const imapc_esearch *e = &c.r[6]->esearch;
	CHECK(e->has_tag);
	CHECK(str_is(e->tag, "a0005"));
	CHECK(e->uid);
	CHECK_EQ(e->has, IMAPC_ESEARCH_MIN | IMAPC_ESEARCH_MAX |
			 IMAPC_ESEARCH_COUNT | IMAPC_ESEARCH_ALL);
	CHECK_EQ(e->min, 1);
	CHECK_EQ(e->max, 9);
	CHECK_EQ(e->count, 5);
	CHECK_EQ(cm_uidset_count(&e->all.set), 5);
	CHECK_EQ(c.r[7]->esearch.has, IMAPC_ESEARCH_ALL);
	CHECK(!c.r[8]->esearch.uid);
	CHECK_EQ(c.r[8]->esearch.count, 0);
	CHECK_EQ(c.r[9]->esearch.modseq, 12);
	CHECK_EQ(c.r[9]->esearch.min, 3);
	CHECK(!c.r[10]->esearch.has_tag);
	coll_free(&c);
}

static void test_list_status_misc(void)
{
	coll c = {0};
	REQUIRE(coll_parse(&c,
		"* LIST (\\HasNoChildren) \".\" INBOX\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"&AOQ-bc\"\r\n"
		"* LIST () NIL {6}\r\nfo\"o b\r\n"
		"* LIST (\\HasNoChildren \\Trash) \"\\\\\" Trash (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		"* LSUB () \".\" Sent\r\n"
		"* STATUS INBOX (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 1 UNSEEN 0 HIGHESTMODSEQ 7 SIZE 12345678901 RECENT 2)\r\n"
		"* STATUS \"a \\\"q\\\"\" (MAILBOXID (x1) MESSAGES 3)\r\n"
		"* CAPABILITY IMAP4rev1 UIDPLUS MOVE\r\n"
		"* ENABLED CONDSTORE QRESYNC\r\n"
		"* ENABLED\r\n"
		"* ID (\"name\" \"Dovecot\")\r\n"
		"* 3 XFOO bar\r\n"
		"+ Ready for literal data\r\n"
		"+ \r\n"
		"+\r\n"
		"+ AGJvYgBwdw==\r\n"
		"* OK\r\n"
		"a1 OK done\n"
		"* 7 EXPUNGE\n") == 19);
	const imapc_list *l = &c.r[0]->list;
	CHECK_EQ(c.r[0]->type, IMAPC_T_LIST);
	CHECK_EQ(l->n_attrs, 1);
	CHECK(str_is(l->attrs[0], "\\HasNoChildren"));
	CHECK_EQ(l->delim, '.');
	CHECK(str_is(l->name, "INBOX"));
	CHECK(str_is(c.r[1]->list.name, "&AOQ-bc"));
	CHECK_EQ(c.r[1]->list.n_attrs, 2);
	CHECK_EQ(c.r[2]->list.delim, '\0');
	CHECK(str_is(c.r[2]->list.name, "fo\"o b"));
	CHECK_EQ(c.r[3]->list.delim, '\\');
	CHECK(str_is(c.r[3]->list.ext, "(\"CHILDINFO\" (\"SUBSCRIBED\"))"));
	CHECK_EQ(c.r[4]->type, IMAPC_T_LSUB);
	const imapc_status *s = &c.r[5]->status;
	CHECK(str_is(s->mailbox, "INBOX"));
	CHECK_EQ(s->messages, 231);
	CHECK_EQ(s->uidnext, 44292);
	CHECK_EQ(s->uidvalidity, 1);
	CHECK_EQ(s->unseen, 0);
	CHECK_EQ(s->highestmodseq, 7);
	CHECK_EQ(s->size, 12345678901ULL);
	CHECK_EQ(s->recent, 2);
	CHECK_EQ(s->has, 0x7f);
	CHECK(str_is(c.r[6]->status.mailbox, "a \"q\""));
	CHECK_EQ(c.r[6]->status.has, IMAPC_STATUS_MESSAGES);
	CHECK_EQ(c.r[7]->caps.mask, IMAPC_CAP_IMAP4REV1 | IMAPC_CAP_UIDPLUS | IMAPC_CAP_MOVE);
	CHECK_EQ(c.r[8]->type, IMAPC_T_ENABLED);
	CHECK_EQ(c.r[8]->caps.mask, IMAPC_CAP_CONDSTORE | IMAPC_CAP_QRESYNC);
	CHECK_EQ(c.r[9]->caps.n, 0);
	CHECK_EQ(c.r[10]->type, IMAPC_T_UNKNOWN);
	CHECK(str_is(c.r[10]->name, "ID"));
	CHECK(str_is(c.r[10]->text, "ID (\"name\" \"Dovecot\")"));
	CHECK_EQ(c.r[11]->type, IMAPC_T_UNKNOWN);
	CHECK_EQ(c.r[11]->number, 3);
	CHECK(str_is(c.r[11]->text, "3 XFOO bar"));
	CHECK_EQ(c.r[12]->kind, IMAPC_CONTINUATION);
	CHECK(str_is(c.r[12]->text, "Ready for literal data"));
	CHECK_EQ(c.r[13]->text.len, 0);
	CHECK_EQ(c.r[14]->kind, IMAPC_CONTINUATION);
	CHECK(str_is(c.r[15]->text, "AGJvYgBwdw=="));
	CHECK_EQ(c.r[16]->type, IMAPC_T_OK);
	CHECK(str_is(c.r[17]->text, "done"));
	CHECK_EQ(c.r[18]->type, IMAPC_T_EXPUNGE);
	CHECK_EQ(c.r[18]->number, 7);
	coll_free(&c);
}

static void test_dates(void)
{
	int64_t t;
	int32_t tz;
	CHECK(imap_parse_date_time("01-Jan-1970 00:00:00 +0000", 26, &t, &tz));
	CHECK_EQ(t, 0);
	CHECK(imap_parse_date_time("1-Jan-1970 01:00:00 +0100", 25, &t, &tz));
	CHECK_EQ(t, 0);
	CHECK_EQ(tz, 3600);
	CHECK(imap_parse_date_time("29-Feb-2024 23:59:59 -0130", 26, &t, &tz));
	CHECK_EQ(t, 1709251199 + 5400);
	CHECK(!imap_parse_date_time("29-Feb-2023 00:00:00 +0000", 26, &t, &tz));
	CHECK(!imap_parse_date_time("31-Apr-2023 00:00:00 +0000", 26, &t, &tz));
	CHECK(!imap_parse_date_time("01-Foo-2023 00:00:00 +0000", 26, &t, &tz));
	CHECK(!imap_parse_date_time("01-Jan-2023 24:00:00 +0000", 26, &t, &tz));
	CHECK(!imap_parse_date_time("01-Jan-2023 00:00:00 0000", 25, &t, &tz));
	CHECK(!imap_parse_date_time("01-Jan-2023 00:00:00 +00000", 27, &t, &tz));
	CHECK(!imap_parse_date_time("", 0, &t, &tz));
	CHECK(!imap_parse_date_time("01-Jan-23 00:00:00 +0000", 24, &t, &tz));
}

static void test_headers(void)
{
	const char *m = "From: a@b\r\nX-Ratchet-Id:  id-1 \r\nSubject: long\r\n\tfolded line\r\n"
			"X-Ratchet-Idx: no\r\n\r\nX-Other: in body\r\n";
	imapc_str v;
	CHECK(imapc_header_find(m, strlen(m), "x-ratchet-id", &v));
	CHECK(str_is(v, "id-1"));
	CHECK(imapc_header_find(m, strlen(m), "Subject", &v));
	CHECK(str_is(v, "long\r\n\tfolded line"));
	cm_buf b = {0};
	imapc_header_unfold(v, &b);
	CHECK_STR(b.data, "long\tfolded line");
	cm_buf_free(&b);
	CHECK(imapc_header_find(m, strlen(m), "X-Ratchet-Idx", &v));
	CHECK(!imapc_header_find(m, strlen(m), "X-Other", &v));
	CHECK(!imapc_header_find(m, strlen(m), "From:", &v));
	const char *lf = "A: 1\nB : 2\n\nC: 3\n";
	CHECK(imapc_header_find(lf, strlen(lf), "B", &v));
	CHECK(str_is(v, "2"));
	CHECK(!imapc_header_find(lf, strlen(lf), "C", &v));
	CHECK(!imapc_header_find("A: 1", 4, "B", &v));
	CHECK(imapc_header_find("A:", 2, "A", &v));
	CHECK_EQ(v.len, 0);
}

static void test_dump_and_dup(void)
{
	coll c = {0};
	coll_parse(&c, MIXED_STREAM);
	cm_buf a = {0}, b = {0};
	for (size_t i = 0; i < c.n; i++) {
		imapc_response *d = imapc_response_dup(c.r[i]);
		cm_buf_clear(&a);
		cm_buf_clear(&b);
		imapc_response_dump(c.r[i], &a);
		imapc_response_dump(d, &b);
		CHECK_STR(a.data, b.data);
		CHECK(d->raw.p != c.r[i]->raw.p);
		imapc_response_free(d);
	}
	cm_buf_clear(&a);
	imapc_response_dump(c.r[16], &a);
	CHECK_STR(a.data, "\"a0006\" OK [COPYUID \"COPYUID\" args=\"1700000001 304,319:320 "
			  "3956:3958\" 1700000001 src=304,319:320 order=304:304,319:320 "
			  "listed=3 dst=3956:3958 order=3956:3958 listed=3] text=\"Done\"");
	cm_buf_free(&a);
	cm_buf_free(&b);
	coll_free(&c);
}

int main(void)
{
	RUN(test_dovecot_greeting_login);
	RUN(test_dovecot_select);
	RUN(test_cyrus_select);
	RUN(test_uidplus_codes);
	RUN(test_other_codes);
	RUN(test_fetch_literal_body);
	RUN(test_fetch_cyrus_shapes);
	RUN(test_fetch_skip_and_dups);
	RUN(test_qresync_and_search);
	RUN(test_list_status_misc);
	RUN(test_dates);
	RUN(test_headers);
	RUN(test_dump_and_dup);
	TEST_EXIT();
}
