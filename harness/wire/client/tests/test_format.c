/* Command formatting: quoting choices, literal forms per capability, sync
 * points, sets, flags, SASL PLAIN, base64. */
#include "imapc.h"
#include "cm_test.h"

static void render(const imapc_cmd *c, uint32_t caps, imapc_wire *w)
{
	imapc_wire_clear(w);
	imapc_cmd_render(c, "a0001", caps, w);
}

static void test_astring_choices(void)
{
	imapc_cmd c;
	imapc_wire w = {0};
	imapc_cmd_init(&c);
	imapc_cmd_raw(&c, "SELECT ");
	imapc_cmd_astring(&c, "INBOX", 5);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 SELECT INBOX\r\n");
	CHECK_EQ(w.n_sync, 0);

	imapc_cmd_reset(&c);
	imapc_cmd_raw(&c, "SELECT ");
	imapc_cmd_astring(&c, "a \"b\"\\c", 7);
	imapc_cmd_raw(&c, " ");
	imapc_cmd_astring(&c, "", 0);
	imapc_cmd_raw(&c, " ");
	imapc_cmd_astring(&c, "x]y", 3);
	imapc_cmd_raw(&c, " ");
	imapc_cmd_astring(&c, "%*", 2);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 SELECT \"a \\\"b\\\"\\\\c\" \"\" x]y \"%*\"\r\n");

	/* CR/LF, NUL and 8-bit data need a literal. */
	imapc_cmd_reset(&c);
	imapc_cmd_raw(&c, "X ");
	imapc_cmd_astring(&c, "a\r\nb", 4);
	imapc_cmd_raw(&c, " ");
	imapc_cmd_string(&c, "caf\xc3\xa9", 5);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 X {4}\r\na\r\nb {5}\r\ncaf\xc3\xa9\r\n");
	REQUIRE(w.n_sync == 2);
	CHECK_EQ(w.sync[0], strlen("a0001 X {4}\r\n"));
	CHECK_EQ(w.sync[1], strlen("a0001 X {4}\r\na\r\nb {5}\r\n"));
	render(&c, IMAPC_CAP_LITERALPLUS, &w);
	CHECK_STR(w.bytes.data, "a0001 X {4+}\r\na\r\nb {5+}\r\ncaf\xc3\xa9\r\n");
	CHECK_EQ(w.n_sync, 0);

	/* Atoms never: a string that looks like one is still quoted. */
	imapc_cmd_reset(&c);
	imapc_cmd_string(&c, "bob", 3);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 \"bob\"\r\n");
	imapc_cmd_free(&c);
	imapc_wire_free(&w);
}

static void test_literal_minus(void)
{
	imapc_cmd c;
	imapc_wire w = {0};
	char *big = cm_xmalloc(5000);
	memset(big, 'x', 5000);
	imapc_cmd_init(&c);
	imapc_cmd_raw(&c, "APPEND INBOX ");
	imapc_cmd_literal(&c, big, 4096);
	render(&c, IMAPC_CAP_LITERALMINUS, &w);
	CHECK(strncmp(w.bytes.data, "a0001 APPEND INBOX {4096+}\r\n", 28) == 0);
	CHECK_EQ(w.n_sync, 0);
	imapc_cmd_reset(&c);
	imapc_cmd_raw(&c, "APPEND INBOX ");
	imapc_cmd_literal(&c, big, 4097);
	render(&c, IMAPC_CAP_LITERALMINUS, &w);
	CHECK(strncmp(w.bytes.data, "a0001 APPEND INBOX {4097}\r\n", 27) == 0);
	CHECK_EQ(w.n_sync, 1);
	CHECK_EQ(w.bytes.len, 27 + 4097 + 2);
	imapc_cmd_reset(&c);
	imapc_cmd_literal8(&c, "a\0b", 3);
	render(&c, IMAPC_CAP_LITERALPLUS, &w);
	CHECK_EQ(w.bytes.len, strlen("a0001 ~{3+}\r\n") + 3 + 2);
	CHECK(memcmp(w.bytes.data, "a0001 ~{3+}\r\na\0b\r\n", w.bytes.len) == 0);
	free(big);
	imapc_cmd_free(&c);
	imapc_wire_free(&w);
}

static void test_sets_and_flags(void)
{
	imapc_cmd c;
	imapc_wire w = {0};
	cm_uidset s = {0};
	cm_uidset_add_range(&s, 1, 3);
	cm_uidset_add(&s, 7);
	cm_uidset_add_range(&s, 9, 4294967295u);
	cm_flags f = (cm_flags)1 << cm_flag_intern("\\Seen", 5) |
		     (cm_flags)1 << cm_flag_intern("$Junk", 5);
	imapc_cmd_init(&c);
	imapc_cmd_raw(&c, "UID STORE ");
	imapc_cmd_set(&c, &s);
	imapc_cmd_printf(&c, " (UNCHANGEDSINCE %llu) +FLAGS.SILENT ", 12345ULL);
	imapc_cmd_flags(&c, f);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 UID STORE 1:3,7,9:4294967295 (UNCHANGEDSINCE 12345) "
				"+FLAGS.SILENT (\\Seen $Junk)\r\n");
	imapc_cmd_reset(&c);
	imapc_cmd_raw(&c, "STORE 1 FLAGS ");
	imapc_cmd_flags(&c, 0);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 STORE 1 FLAGS ()\r\n");
	/* a long printf goes through the slow path */
	char name[700];
	memset(name, 'm', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	imapc_cmd_reset(&c);
	imapc_cmd_printf(&c, "X %s Y", name);
	render(&c, 0, &w);
	CHECK_EQ(w.bytes.len, 6 + 2 + 699 + 2 + 2);
	cm_uidset_free(&s);
	imapc_cmd_free(&c);
	imapc_wire_free(&w);
}

static void test_login_authenticate(void)
{
	imapc_cmd c;
	imapc_wire w = {0};
	imapc_cmd_init(&c);
	imapc_cmd_login(&c, "bob", "p\"w\\");
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 LOGIN \"bob\" \"p\\\"w\\\\\"\r\n");
	imapc_cmd_reset(&c);
	imapc_cmd_login(&c, "bob", "p\xc3\xa4ss");
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 LOGIN \"bob\" {5}\r\np\xc3\xa4ss\r\n");
	CHECK_EQ(w.n_sync, 1);
	imapc_cmd_reset(&c);
	imapc_cmd_authenticate_plain(&c, NULL, "bob", "pw", true);
	render(&c, 0, &w);
	CHECK_STR(w.bytes.data, "a0001 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n");
	CHECK_EQ(w.n_sync, 0);
	imapc_cmd_reset(&c);
	imapc_cmd_authenticate_plain(&c, "admin", "bob", "pw", false);
	render(&c, IMAPC_CAP_LITERALPLUS, &w);
	CHECK_STR(w.bytes.data, "a0001 AUTHENTICATE PLAIN\r\nYWRtaW4AYm9iAHB3\r\n");
	REQUIRE(w.n_sync == 1);
	CHECK_EQ(w.sync[0], strlen("a0001 AUTHENTICATE PLAIN\r\n"));
	imapc_cmd_free(&c);
	imapc_wire_free(&w);
}

static void test_base64(void)
{
	static const struct {
		const char *plain, *enc;
	} v[] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(v); i++) {
		cm_buf a = {0}, b = {0};
		imap_base64_encode(&a, v[i].plain, strlen(v[i].plain));
		CHECK_STR(a.len ? a.data : "", v[i].enc);
		CHECK_EQ(imap_base64_decode(&b, v[i].enc, strlen(v[i].enc)), 0);
		CHECK_STR(b.len ? b.data : "", v[i].plain);
		cm_buf_free(&a);
		cm_buf_free(&b);
	}
	cm_buf b = {0};
	CHECK_EQ(imap_base64_decode(&b, "Zm9", 3), -1);
	CHECK_EQ(imap_base64_decode(&b, "Zm=v", 4), -1);
	CHECK_EQ(imap_base64_decode(&b, "Z===", 4), -1);
	CHECK_EQ(imap_base64_decode(&b, "Zg==Zg==", 8), -1);
	CHECK_EQ(imap_base64_decode(&b, "Zm9*", 4), -1);
	cm_buf_free(&b);
}

static void test_caps(void)
{
	CHECK_EQ(imapc_cap_bit("literal+", 8), IMAPC_CAP_LITERALPLUS);
	CHECK_EQ(imapc_cap_bit("LITERAL-", 8), IMAPC_CAP_LITERALMINUS);
	CHECK_EQ(imapc_cap_bit("IMAP4REV2", 9), IMAPC_CAP_IMAP4REV2);
	CHECK_EQ(imapc_cap_bit("AUTH=PLAIN", 10), IMAPC_CAP_AUTH_PLAIN);
	CHECK_EQ(imapc_cap_bit("AUTH=PLAINX", 11), 0);
	CHECK_EQ(imapc_cap_bit("X", 1), 0);
}

int main(void)
{
	RUN(test_astring_choices);
	RUN(test_literal_minus);
	RUN(test_sets_and_flags);
	RUN(test_login_authenticate);
	RUN(test_base64);
	RUN(test_caps);
	TEST_EXIT();
}
