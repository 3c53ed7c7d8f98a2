/* LMTP addresses and connecting: lmtp://HOST:PORT and lmtp:/path parsed
 * (and refused, one line each), then a connection over TCP on 127.0.0.1
 * and over a UNIX socket, each carrying a whole delivery. */
#include "lmtpc.h"
#include "cm_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void addr_ok(const char *url, bool unix_socket, const char *host, const char *port,
		    const char *path, const char *display)
{
	lmtpc_addr a;
	cm_err err = {{0}};
	CHECK_EQ(lmtpc_addr_parse(url, &a, &err), 0);
	if (err.text[0])
		fprintf(stderr, "  %s: %s\n", url, err.text);
	CHECK_EQ(a.unix_socket, unix_socket);
	CHECK_STR(a.host, host);
	CHECK_STR(a.port, port);
	CHECK_STR(a.path, path);
	CHECK_STR(a.display, display);
}

static void addr_bad(const char *url, const char *want)
{
	lmtpc_addr a;
	cm_err err = {{0}};
	CHECK_EQ(lmtpc_addr_parse(url, &a, &err), -1);
	CHECK_STR(err.text, want);
	CHECK(!a.unix_socket && a.host[0] == '\0');
}

static void test_addr_parse(void)
{
	addr_ok("lmtp://127.0.0.1:2424", false, "127.0.0.1", "2424", "", "lmtp://127.0.0.1:2424");
	addr_ok("LMTP://mx.example:24/", false, "mx.example", "24", "", "lmtp://mx.example:24");
	addr_ok("lmtp://mx.example", false, "mx.example", "24", "", "lmtp://mx.example:24");
	addr_ok("lmtp://[::1]:2424", false, "::1", "2424", "", "lmtp://[::1]:2424");
	addr_ok("lmtp:/run/dovecot/lmtp", true, "", "", "/run/dovecot/lmtp", "lmtp:/run/dovecot/lmtp");
	addr_ok("lmtp:///run/dovecot/lmtp", true, "", "", "/run/dovecot/lmtp",
		"lmtp:/run/dovecot/lmtp");
	addr_bad("imap://h:1", "bad LMTP address \"imap://h:1\": expected lmtp://HOST:PORT or "
		 "lmtp:/path/to/socket");
	addr_bad("lmtp:rel/path", "bad LMTP address \"lmtp:rel/path\": expected lmtp://HOST:PORT "
		 "or lmtp:/path/to/socket");
	addr_bad("lmtp://", "bad LMTP address \"lmtp://\": no host");
	addr_bad("lmtp://:24", "bad LMTP address \"lmtp://:24\": no host");
	addr_bad("lmtp://h:0", "bad LMTP address \"lmtp://h:0\": bad port (expected 1-65535)");
	addr_bad("lmtp://h:65536", "bad LMTP address \"lmtp://h:65536\": bad port (expected 1-65535)");
	addr_bad("lmtp://h:", "bad LMTP address \"lmtp://h:\": bad port (expected 1-65535)");
	addr_bad("lmtp://u@h:24", "bad LMTP address \"lmtp://u@h:24\": an lmtp URL takes no user");
	addr_bad("lmtp://h/x", "bad LMTP address \"lmtp://h/x\": bad character in the host");
	addr_bad("lmtp://[::1", "bad LMTP address \"lmtp://[::1\": bad IPv6 address (expected [ADDR])");
	addr_bad("lmtp://[::1]x", "bad LMTP address \"lmtp://[::1]x\": unexpected text after the "
		 "IPv6 address");
	addr_bad("lmtp:/", "bad LMTP address \"lmtp:/\": no socket path after \"lmtp:\"");
	addr_bad("lmtp:/a\nb", "bad LMTP address \"lmtp:/a\\nb\": control character in the socket "
		 "path");
	char longp[200] = "lmtp:/";
	memset(longp + 6, 'p', 150);
	lmtpc_addr a;
	cm_err err;
	CHECK_EQ(lmtpc_addr_parse(longp, &a, &err), -1);
	CHECK(strstr(err.text, "socket path too long (at most 107 bytes)") != NULL);
}

/* ---- a real listener, served by a thread --------------------------------------------- */
typedef struct served {
	int listen_fd;
	char failure[200];
} served;

static void *serve_one(void *arg)
{
	served *s = arg;
	int fd = accept(s->listen_fd, NULL, NULL);
	if (fd < 0) {
		snprintf(s->failure, sizeof(s->failure), "accept failed");
		return NULL;
	}
	static const char *const script[] = {
		"220 ready\r\n", "LHLO t.invalid\r\n", "250-x\r\n250 PIPELINING\r\n",
		"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n", "250 ok\r\n250 ok\r\n354 go\r\n",
		"hi\r\n.\r\n", "250 2.0.0 saved\r\n", "QUIT\r\n", "221 bye\r\n", NULL,
	};
	for (size_t i = 0; script[i] != NULL; i++) {
		size_t len = strlen(script[i]);
		if (i % 2 == 0) {
			if (write(fd, script[i], len) != (ssize_t)len)
				snprintf(s->failure, sizeof(s->failure), "write %zu failed", i);
			continue;
		}
		char buf[256];
		size_t got = 0;
		while (got < len) {
			ssize_t n = read(fd, buf + got, len - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != len || memcmp(buf, script[i], len) != 0) {
			snprintf(s->failure, sizeof(s->failure), "step %zu: unexpected bytes", i);
			break;
		}
	}
	close(fd);
	return NULL;
}

static lmtpc_result last;
static unsigned n_done;

static void on_done(void *ctx, void *user, unsigned idx, const lmtpc_result *r)
{
	(void)ctx, (void)user, (void)idx;
	last = *r;
	n_done++;
}

static void deliver_over(const lmtpc_addr *a, served *s)
{
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, serve_one, s) == 0);
	cm_err err = {{0}};
	int fd = lmtpc_connect(a, 2000, &err);
	if (fd < 0)
		fprintf(stderr, "  %s\n", err.text);
	REQUIRE(fd >= 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	lmtpc_opts o = {.lhlo_name = "t.invalid", .timeout_ms = 3000, .on_done = on_done};
	lmtpc_conn *c = lmtpc_conn_new(fd, &o);
	static const char *const rcpt[1] = {"b@x"};
	bool sent = false, quit = false;
	n_done = 0;
	uint64_t end = cm_now_ns() + 5000000000ULL;
	while (!lmtpc_conn_closed(c) && cm_now_ns() < end) {
		if (lmtpc_conn_ready(c) && !sent)
			sent = lmtpc_conn_deliver(c, "a@x", rcpt, 1, "hi", 2, NULL) == 0;
		else if (lmtpc_conn_ready(c) && !quit && n_done == 1)
			lmtpc_conn_quit(c), quit = true;
		struct pollfd p = {lmtpc_conn_fd(c), lmtpc_conn_poll_events(c), 0};
		int n = poll(&p, 1, 50);
		lmtpc_conn_handle(c, n > 0 ? p.revents : 0);
	}
	CHECK_EQ(n_done, 1);
	CHECK_EQ(last.outcome, LMTPC_OK);
	CHECK_STR(last.text, "2.0.0 saved");
	CHECK_STR(lmtpc_conn_close_reason(c), "closed by client (QUIT)");
	lmtpc_conn_free(c);
	pthread_join(th, NULL);
	CHECK_STR(s->failure, "");
}

static void test_tcp(void)
{
	served s = {.listen_fd = socket(AF_INET, SOCK_STREAM, 0)};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	REQUIRE(bind(s.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(listen(s.listen_fd, 4) == 0);
	REQUIRE(getsockname(s.listen_fd, (struct sockaddr *)&sa, &sl) == 0);
	char url[64];
	snprintf(url, sizeof(url), "lmtp://127.0.0.1:%u", ntohs(sa.sin_port));
	lmtpc_addr a;
	cm_err err = {{0}};
	REQUIRE(lmtpc_addr_parse(url, &a, &err) == 0);
	deliver_over(&a, &s);
	close(s.listen_fd);
	/* Nobody listens there now: one line, no hang. */
	CHECK_EQ(lmtpc_connect(&a, 500, &err), -1);
	char want[400];
	snprintf(want, sizeof(want), "lmtpc: connect %s port %s: Connection refused", a.host,
		 a.port);
	CHECK_STR(err.text, want);
	REQUIRE(lmtpc_addr_parse("lmtp://no-such-host.invalid:24", &a, &err) == 0);
	CHECK_EQ(lmtpc_connect(&a, 500, &err), -1);
	CHECK(strncmp(err.text, "lmtpc: resolve no-such-host.invalid port 24: ", 45) == 0);
}

static void test_unix(void)
{
	char dir[] = "/tmp/lmtpc-test-XXXXXX";
	REQUIRE(mkdtemp(dir) != NULL);
	char url[128];
	snprintf(url, sizeof(url), "lmtp:%s/lmtp", dir);
	lmtpc_addr a;
	cm_err err = {{0}};
	REQUIRE(lmtpc_addr_parse(url, &a, &err) == 0);
	CHECK_EQ(lmtpc_connect(&a, 500, &err), -1);
	char want[400];
	snprintf(want, sizeof(want), "lmtpc: connect %s: No such file or directory", a.display);
	CHECK_STR(err.text, want);
	served s = {.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a.path);
	REQUIRE(bind(s.listen_fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	REQUIRE(listen(s.listen_fd, 4) == 0);
	deliver_over(&a, &s);
	close(s.listen_fd);
	unlink(a.path);
	rmdir(dir);
}

int main(void)
{
	RUN(test_addr_parse);
	RUN(test_tcp);
	RUN(test_unix);
	TEST_EXIT();
}
