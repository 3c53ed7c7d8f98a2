/* The target URL: imap:// and imaps://, with and without a password, the
 * default ports, and where the password comes from when the URL has none
 * (--password-file, RATCHET_PASSWORD). No error shows the password. */
#include "wire_private.h"
#include "cm_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *url, rt_wire_url *u, cm_err *err)
{
	memset(err, 0, sizeof(*err));
	return rt_wire_url_parse(url, u, err);
}

static void test_schemes_and_ports(void)
{
	rt_wire_url u;
	cm_err err;
	CHECK_EQ(parse("imap://bob:pw@127.0.0.1:1143", &u, &err), 0);
	CHECK_EQ(u.sec, IMAPC_SEC_PLAIN);
	CHECK(u.has_pass);
	CHECK_STR(u.pass, "pw");
	CHECK_STR(u.port, "1143");
	CHECK_STR(u.display, "imap://bob@127.0.0.1:1143");

	CHECK_EQ(parse("imaps://bob@mail.example.test", &u, &err), 0);
	CHECK_EQ(u.sec, IMAPC_SEC_TLS);
	CHECK(!u.has_pass);
	CHECK_STR(u.pass, "");
	CHECK_STR(u.user, "bob");
	CHECK_STR(u.host, "mail.example.test");
	CHECK_STR(u.port, "993");
	CHECK_STR(u.display, "imaps://bob@mail.example.test:993");

	CHECK_EQ(parse("IMAPS://b%40x@[::1]:10993/", &u, &err), 0);
	CHECK_EQ(u.sec, IMAPC_SEC_TLS);
	CHECK_STR(u.user, "b@x");
	CHECK_STR(u.host, "::1");
	CHECK_STR(u.display, "imaps://b@x@[::1]:10993");

	CHECK_EQ(parse("imap://bob@127.0.0.1", &u, &err), 0);
	CHECK_STR(u.port, "143");
	CHECK(!u.has_pass);
	/* An empty password is a password (given, and empty). */
	CHECK_EQ(parse("imap://bob:@127.0.0.1", &u, &err), 0);
	CHECK(u.has_pass);
}

static void test_bad_urls(void)
{
	rt_wire_url u;
	cm_err err;
	CHECK_EQ(parse("imapx://bob@h", &u, &err), -1);
	CHECK(strstr(err.text, "imaps://") != NULL);
	CHECK_EQ(parse("imaps://h:993", &u, &err), -1);
	CHECK(strstr(err.text, "USER@") != NULL);
	CHECK_EQ(parse("imaps://@h", &u, &err), -1);
	CHECK_EQ(parse("imaps://:secret1@h", &u, &err), -1);
	CHECK(strstr(err.text, "secret1") == NULL);
	CHECK_EQ(parse("imaps://bob:sec%zzret2@h:993", &u, &err), -1);
	CHECK(strstr(err.text, "sec") == NULL);
	CHECK_STR(u.pass, "");
	CHECK_EQ(parse("imaps://bob@h:99999", &u, &err), -1);
	CHECK_EQ(parse("imaps://bob@h:993/INBOX", &u, &err), -1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void test_password_sources(void)
{
	rt_wire_url u;
	cm_err err;
	char path[] = "/tmp/ratchet-test-url-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);

	CHECK_EQ(parse("imaps://bob@h", &u, &err), 0);
	CHECK_EQ(rt_wire_url_password(&u, NULL, "from-env", &err), 0);
	CHECK_STR(u.pass, "from-env");

	write_file(path, "from file\r\nsecond line\n");
	CHECK_EQ(parse("imaps://bob@h", &u, &err), 0);
	CHECK_EQ(rt_wire_url_password(&u, path, "from-env", &err), 0);
	CHECK_STR(u.pass, "from file");

	/* No trailing newline is fine too. */
	write_file(path, "abc");
	CHECK_EQ(parse("imaps://bob@h", &u, &err), 0);
	CHECK_EQ(rt_wire_url_password(&u, path, NULL, &err), 0);
	CHECK_STR(u.pass, "abc");

	/* The URL's own password wins over the environment; with a file too
	 * the user must choose. */
	CHECK_EQ(parse("imaps://bob:inurl@h", &u, &err), 0);
	CHECK_EQ(rt_wire_url_password(&u, NULL, "from-env", &err), 0);
	CHECK_STR(u.pass, "inurl");
	CHECK_EQ(rt_wire_url_password(&u, path, NULL, &err), -1);
	CHECK(strstr(err.text, "inurl") == NULL);

	CHECK_EQ(parse("imaps://bob@h", &u, &err), 0);
	CHECK_EQ(rt_wire_url_password(&u, NULL, NULL, &err), -1);
	CHECK(strstr(err.text, "RATCHET_PASSWORD") != NULL);
	CHECK_EQ(rt_wire_url_password(&u, NULL, "", &err), -1);

	write_file(path, "\nlater\n");
	CHECK_EQ(rt_wire_url_password(&u, path, NULL, &err), -1);
	CHECK(strstr(err.text, "empty") != NULL);

	char big[400];
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	write_file(path, big);
	CHECK_EQ(rt_wire_url_password(&u, path, NULL, &err), -1);
	CHECK(strstr(err.text, "too long") != NULL);
	CHECK_EQ(rt_wire_url_password(&u, NULL, big, &err), -1);
	/* 255 bytes fit exactly. */
	big[255] = '\0';
	write_file(path, big);
	CHECK_EQ(rt_wire_url_password(&u, path, NULL, &err), 0);
	CHECK_EQ(strlen(u.pass), 255);

	unlink(path);
	CHECK_EQ(rt_wire_url_password(&u, path, NULL, &err), -1);
	CHECK(strstr(err.text, path) != NULL);
}

int main(void)
{
	RUN(test_schemes_and_ports);
	RUN(test_bad_urls);
	RUN(test_password_sources);
	TEST_EXIT();
}
