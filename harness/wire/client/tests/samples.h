/* Response samples shaped as Dovecot 2.3 and Cyrus 3.6 send them, and a
 * collector that keeps copies of what the parser delivered. */
#ifndef IMAPC_TEST_SAMPLES_H
#define IMAPC_TEST_SAMPLES_H

#include "imapc.h"
#include "cm_test.h"

#define DOVECOT_GREETING                                                     \
	"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE " \
	"LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.\r\n"

#define DOVECOT_LOGIN_OK                                                     \
	"a0001 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE "  \
	"IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "              \
	"THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT "   \
	"CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE "    \
	"QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS " \
	"BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE "       \
	"SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Logged in\r\n"

#define DOVECOT_SELECT                                                       \
	"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n" \
	"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "       \
	"\\Draft $Forwarded \\*)] Flags permitted.\r\n"                      \
	"* 3 EXISTS\r\n"                                                     \
	"* 0 RECENT\r\n"                                                     \
	"* OK [UNSEEN 2] First unseen.\r\n"                                  \
	"* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"                       \
	"* OK [UIDNEXT 4] Predicted next UID\r\n"                            \
	"* OK [HIGHESTMODSEQ 9] Highest\r\n"                                 \
	"a0002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n"

#define CYRUS_GREETING                                                       \
	"* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE AUTH=PLAIN SASL-IR] " \
	"mail.example.org Cyrus IMAP 3.6.1 server ready\r\n"

#define CYRUS_SELECT                                                         \
	"* 2 EXISTS\r\n"                                                     \
	"* 0 RECENT\r\n"                                                     \
	"* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n"        \
	"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted "      \
	"\\Seen \\*)] Ok\r\n"                                                \
	"* OK [UIDVALIDITY 1700000123] Ok\r\n"                               \
	"* OK [UIDNEXT 3] Ok\r\n"                                            \
	"* OK [HIGHESTMODSEQ 5] Ok\r\n"                                      \
	"* OK [URLMECH INTERNAL] Ok\r\n"                                     \
	"* OK [ANNOTATIONS 65536] Ok\r\n"                                    \
	"* OK [MAILBOXID (f1b2c3d4-aaaa-bbbb)] Ok\r\n"                       \
	"a0003 OK [READ-WRITE] Completed\r\n"

#define MSG1 "X-Ratchet-Id: r-0001\r\nSubject: hi\r\n\r\nbody\r\n"

/* Everything at once: literals, nested lists, codes, quoted escapes. */
#define MIXED_STREAM                                                         \
	DOVECOT_GREETING DOVECOT_LOGIN_OK DOVECOT_SELECT                     \
	"* 1 FETCH (UID 1 MODSEQ (7) FLAGS (\\Seen $Junk) BODY[] {43}\r\n"   \
	MSG1 ")\r\n"                                                         \
	"* 2 FETCH (UID 2 ENVELOPE (\"Wed, 22 Nov 2023 07:52:01 +0000\" "    \
	"{5}\r\nhello ((\"A\" NIL \"a\" \"x.org\")) NIL NIL NIL NIL NIL NIL " \
	"NIL \"<m@x>\") BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" "     \
	"\"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) FLAGS ())\r\n"  \
	"* VANISHED (EARLIER) 41,43:116,118\r\n"                             \
	"* ESEARCH (TAG \"a0005\") UID MIN 1 MAX 9 COUNT 5 ALL 1:3,7,9\r\n"  \
	"+ Ready for literal data\r\n"                                       \
	"a0006 OK [COPYUID 1700000001 304,319:320 3956:3958] Done\r\n"      \
	"* LIST (\\HasNoChildren) \"/\" {6}\r\nfo\"o b\r\n"                  \
	"* STATUS \"a \\\"q\\\"\" (MESSAGES 3 UIDNEXT 4 HIGHESTMODSEQ 9)\r\n" \
	"* BYE Logging out\r\n"                                              \
	"a0007 OK Logout completed (0.001 + 0.000 secs).\r\n"

typedef struct coll {
	imapc_response *r[256];
	size_t n;
} coll;

static inline int coll_add(void *ctx, const imapc_response *r)
{
	coll *c = ctx;
	REQUIRE(c->n < CM_ARRAY_LEN(c->r));
	c->r[c->n++] = imapc_response_dup(r);
	return 0;
}

static inline void coll_free(coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		imapc_response_free(c->r[i]);
	c->n = 0;
}

static inline size_t coll_parse(coll *c, const char *s)
{
	cm_err e;
	bool ok = imapc_parse_all(s, strlen(s), NULL, coll_add, c, &e);
	if (!ok)
		fprintf(stderr, "parse failed: %s\n", e.text);
	REQUIRE(ok);
	return c->n;
}

static inline bool str_is(imapc_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

#endif
