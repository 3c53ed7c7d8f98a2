/* The connection against a scripted fake server in this process: over a
 * socketpair driven step by step from this thread, and over a 127.0.0.1
 * listener served by a second thread for the blocking client. */
#include "imapc.h"
#include "cm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- recording callbacks ----------------------------------------------------------- */
typedef struct rec {
	size_t n_done;
	char done_tag[16][40];
	void *done_user[16];
	imapc_outcome outcome[16];
	imapc_type status[16];
	char reason[16][200];
	size_t n_resp;
	char resp[32][120];
	size_t inflight[32];
	char inflight_tags[32][120];
	bool closed;
	char closed_reason[200];
} rec;

static void rec_response(void *ctx, imapc_conn *c, const imapc_response *r,
			 const imapc_inflight *in, size_t n)
{
	rec *x = ctx;
	(void)c;
	REQUIRE(x->n_resp < 32);
	snprintf(x->resp[x->n_resp], 120, "%.*s", (int)CM_MIN(r->raw.len, 100), r->raw.p);
	x->inflight[x->n_resp] = n;
	cm_buf b = {0};
	for (size_t i = 0; i < n; i++)
		cm_buf_printf(&b, "%s%s", i ? "," : "", in[i].tag);
	snprintf(x->inflight_tags[x->n_resp], 120, "%s", b.data ? b.data : "");
	cm_buf_free(&b);
	x->n_resp++;
}

static void rec_done(void *ctx, imapc_conn *c, const imapc_done *d)
{
	rec *x = ctx;
	(void)c;
	REQUIRE(x->n_done < 16);
	size_t i = x->n_done++;
	snprintf(x->done_tag[i], 40, "%s", d->tag);
	x->done_user[i] = d->user;
	x->outcome[i] = d->outcome;
	x->status[i] = d->status;
	snprintf(x->reason[i], 200, "%s", d->reason ? d->reason : "");
	if (d->outcome == IMAPC_REPLIED)
		CHECK(d->resp != NULL && d->sent_ns >= d->queued_ns &&
		      d->done_ns >= d->sent_ns);
	if (d->outcome == IMAPC_NOT_SENT)
		CHECK_EQ(d->sent_ns, 0);
}

static void rec_closed(void *ctx, imapc_conn *c, const char *reason)
{
	rec *x = ctx;
	(void)c;
	CHECK(!x->closed);
	x->closed = true;
	snprintf(x->closed_reason, 200, "%s", reason);
}

/* ---- driving both ends ------------------------------------------------------------ */
static void pump(imapc_conn *c, int ms)
{
	uint64_t end = cm_now_ns() + (uint64_t)ms * 1000000;
	while (!imapc_conn_closed(c) && cm_now_ns() < end) {
		struct pollfd p = {imapc_conn_fd(c), imapc_conn_poll_events(c), 0};
		int n = poll(&p, 1, 5);
		imapc_conn_handle(c, n > 0 ? p.revents : 0);
	}
}

static void pump_until_done(imapc_conn *c, rec *x, size_t n)
{
	uint64_t end = cm_now_ns() + 3000000000ULL;
	while (x->n_done < n && cm_now_ns() < end) {
		if (imapc_conn_closed(c))
			break;
		pump(c, 5);
	}
	CHECK_EQ(x->n_done, n);
}

static void srv_send(int s, const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(s, text + off, len - off);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {s, POLLOUT, 0};
			poll(&p, 1, 100);
			continue;
		}
		REQUIRE(n > 0);
		off += (size_t)n;
	}
}

/* Reads exactly what the client should have sent, pumping it meanwhile. */
static void srv_expect(imapc_conn *c, int s, const char *want)
{
	size_t len = strlen(want), got = 0;
	char buf[8192];
	REQUIRE(len < sizeof(buf));
	uint64_t end = cm_now_ns() + 2000000000ULL;
	while (got < len && cm_now_ns() < end) {
		pump(c, 2);
		ssize_t n = read(s, buf + got, len - got);
		if (n > 0)
			got += (size_t)n;
	}
	buf[got] = '\0';
	CHECK_STR(buf, want);
}

static bool srv_quiet(imapc_conn *c, int s, int ms)
{
	char b;
	pump(c, ms);
	return read(s, &b, 1) < 0 && errno == EAGAIN;
}

static imapc_conn *setup(int *srv, rec *x, const char *greeting)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	memset(x, 0, sizeof(*x));
	imapc_conn_cb cb = {rec_response, rec_done, rec_closed, x};
	imapc_conn *c = imapc_conn_new(sv[0], NULL, &cb);
	*srv = sv[1];
	srv_send(*srv, greeting);
	uint64_t end = cm_now_ns() + 2000000000ULL;
	while (x->n_resp == 0 && cm_now_ns() < end)
		pump(c, 5);
	REQUIRE(x->n_resp == 1);
	return c;
}

static void send_text(imapc_conn *c, const char *text, void *user, uint32_t ms)
{
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, text);
	REQUIRE(imapc_conn_send(c, &cmd, user, ms) != NULL);
	imapc_cmd_free(&cmd);
}

static void send_append(imapc_conn *c, const char *data, uint32_t ms)
{
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "APPEND INBOX ");
	imapc_cmd_literal(&cmd, data, strlen(data));
	REQUIRE(imapc_conn_send(c, &cmd, NULL, ms) != NULL);
	imapc_cmd_free(&cmd);
}

/* ---- tests over a socketpair --------------------------------------------------------- */
static void test_pipelining(void)
{
	rec x;
	int s;
	int u1, u2, u3;
	imapc_conn *c = setup(&s, &x, "* OK [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n");
	CHECK_EQ(imapc_conn_greeting(c), IMAPC_T_OK);
	CHECK_EQ(imapc_conn_caps(c)->mask, IMAPC_CAP_IMAP4REV1 | IMAPC_CAP_UIDPLUS);
	CHECK_EQ(x.inflight[0], 0);
	send_text(c, "NOOP", &u1, 0);
	send_text(c, "SELECT INBOX", &u2, 0);
	send_text(c, "UID FETCH 1:* (FLAGS)", &u3, 0);
	CHECK_EQ(imapc_conn_pending(c), 3);
	srv_expect(c, s, "a0001 NOOP\r\na0002 SELECT INBOX\r\na0003 UID FETCH 1:* (FLAGS)\r\n");
	srv_send(s, "* 1 EXISTS\r\na0002 OK [READ-WRITE] done\r\n"
		    "* 1 FETCH (UID 1 FLAGS ())\r\na0003 OK done\r\na0001 NO later\r\n");
	pump_until_done(c, &x, 3);
	CHECK_STR(x.done_tag[0], "a0002");
	CHECK_STR(x.done_tag[1], "a0003");
	CHECK_STR(x.done_tag[2], "a0001");
	CHECK(x.done_user[0] == &u2 && x.done_user[1] == &u3 && x.done_user[2] == &u1);
	CHECK_EQ(x.status[0], IMAPC_T_OK);
	CHECK_EQ(x.status[2], IMAPC_T_NO);
	CHECK_EQ(x.outcome[2], IMAPC_REPLIED);
	CHECK_EQ(x.n_resp, 3);
	CHECK_STR(x.inflight_tags[1], "a0001,a0002,a0003");
	CHECK_STR(x.inflight_tags[2], "a0001,a0003");
	CHECK_EQ(imapc_conn_pending(c), 0);
	CHECK(!x.closed);
	imapc_conn_free(c);
	CHECK(x.closed);
	CHECK_STR(x.closed_reason, "closed by client");
	close(s);
}

static void test_sync_literal(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK [CAPABILITY IMAP4rev1] hi\r\n");
	send_append(c, "hello", 0);
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 APPEND INBOX {5}\r\n");
	/* Nothing more until "+": not the literal, not the next command. */
	CHECK(srv_quiet(c, s, 100));
	CHECK(!imapc_conn_wants_write(c));
	srv_send(s, "+ Ready for literal data\r\n");
	srv_expect(c, s, "hello\r\na0002 NOOP\r\n");
	srv_send(s, "a0001 OK [APPENDUID 1 1] Append completed.\r\na0002 OK NOOP completed.\r\n");
	pump_until_done(c, &x, 2);
	CHECK_EQ(x.status[0], IMAPC_T_OK);
	CHECK_STR(x.resp[1], "+ Ready for literal data\r\n");
	CHECK_STR(x.inflight_tags[1], "a0001");
	imapc_conn_free(c);
	close(s);
}

static void test_sync_literal_refused(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK hi\r\n");
	send_append(c, "hello", 0);
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 APPEND INBOX {5}\r\n");
	srv_send(s, "a0001 NO [OVERQUOTA] Quota exceeded\r\n");
	/* The literal is dropped; the next command follows at once. */
	srv_expect(c, s, "a0002 NOOP\r\n");
	srv_send(s, "a0002 OK done\r\n");
	pump_until_done(c, &x, 2);
	CHECK_EQ(x.status[0], IMAPC_T_NO);
	CHECK_EQ(x.status[1], IMAPC_T_OK);
	CHECK(srv_quiet(c, s, 20));
	imapc_conn_free(c);
	close(s);
}

static void test_literal_plus_minus(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n");
	CHECK(imapc_conn_caps(c)->mask & IMAPC_CAP_LITERALPLUS);
	send_append(c, "hello", 0);
	srv_expect(c, s, "a0001 APPEND INBOX {5+}\r\nhello\r\n");
	srv_send(s, "a0001 OK done\r\n");
	pump_until_done(c, &x, 1);
	imapc_conn_free(c);
	close(s);

	c = setup(&s, &x, "* OK [CAPABILITY IMAP4rev1 LITERAL-] hi\r\n");
	char big[5001];
	memset(big, 'b', 5000);
	big[5000] = '\0';
	send_append(c, "small", 0);
	send_append(c, big, 0);
	srv_expect(c, s, "a0001 APPEND INBOX {5+}\r\nsmall\r\na0002 APPEND INBOX {5000}\r\n");
	CHECK(srv_quiet(c, s, 50));
	srv_send(s, "a0001 OK done\r\n+ go\r\n");
	cm_buf want = {0};
	cm_buf_append(&want, big, 5000);
	cm_buf_puts(&want, "\r\n");
	srv_expect(c, s, want.data);
	srv_send(s, "a0002 OK done\r\n");
	pump_until_done(c, &x, 2);
	cm_buf_free(&want);
	imapc_conn_free(c);
	close(s);
}

static void test_timeout(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK hi\r\n");
	send_append(c, "hello", 150);
	send_text(c, "NOOP", NULL, 5000);
	srv_expect(c, s, "a0001 APPEND INBOX {5}\r\n");
	CHECK(imapc_conn_timeout_ms(c, cm_now_ns()) <= 150);
	uint64_t t0 = cm_now_ns();
	pump_until_done(c, &x, 2);
	CHECK(cm_now_ns() - t0 < 2000000000ULL);
	CHECK_EQ(x.outcome[0], IMAPC_UNKNOWN);
	CHECK(strstr(x.reason[0], "timeout: no reply to a0001") != NULL);
	CHECK(imapc_conn_protocol_bytes(c) == NULL); /* no answer is not bad syntax */
	CHECK_EQ(x.outcome[1], IMAPC_NOT_SENT);
	CHECK(x.closed);
	CHECK(imapc_conn_closed(c));
	CHECK_EQ(imapc_conn_fd(c), -1);
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "NOOP");
	CHECK(imapc_conn_send(c, &cmd, NULL, 0) == NULL);
	imapc_cmd_free(&cmd);
	imapc_conn_free(c);
	CHECK_EQ(x.n_done, 2);
	close(s);
}

static void test_disconnects(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 NOOP\r\n");
	close(s);
	pump_until_done(c, &x, 1);
	CHECK_EQ(x.outcome[0], IMAPC_UNKNOWN);
	CHECK_STR(x.reason[0], "connection closed by server");
	imapc_conn_free(c);

	c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "UID FETCH 1 BODY[]", NULL, 0);
	srv_expect(c, s, "a0001 UID FETCH 1 BODY[]\r\n");
	srv_send(s, "* 1 FETCH (UID 1 BODY[] {100}\r\npartial");
	pump(c, 20);
	close(s);
	pump_until_done(c, &x, 1);
	CHECK(strstr(x.reason[0], "mid-response") != NULL);
	imapc_conn_free(c);
}

static void test_bye(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 NOOP\r\n");
	srv_send(s, "* BYE Server shutting down.\r\n");
	pump(c, 20);
	CHECK_EQ(x.n_done, 0);  /* a BYE alone ends nothing until the close */
	close(s);
	pump_until_done(c, &x, 1);
	CHECK_EQ(x.outcome[0], IMAPC_UNKNOWN);
	CHECK_STR(x.reason[0], "server said BYE: Server shutting down.");
	imapc_conn_free(c);

	c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "LOGOUT", NULL, 0);
	srv_expect(c, s, "a0001 LOGOUT\r\n");
	srv_send(s, "* BYE Logging out\r\na0001 OK Logout completed (0.001 + 0.000 secs).\r\n");
	close(s);
	pump_until_done(c, &x, 1);
	CHECK_EQ(x.outcome[0], IMAPC_REPLIED);
	CHECK_EQ(x.status[0], IMAPC_T_OK);
	pump(c, 50);
	CHECK(x.closed);
	CHECK_STR(x.closed_reason, "server said BYE: Logging out");
	imapc_conn_free(c);
}

/* A tagged greeting closes the connection, its bytes kept. */
static void protocol_error_greeting(void)
{
	rec x;
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(&x, 0, sizeof(x));
	imapc_conn_cb cb = {rec_response, rec_done, rec_closed, &x};
	imapc_conn *c = imapc_conn_new(sv[0], NULL, &cb);
	srv_send(sv[1], "a1 OK hi\r\n");
	pump(c, 100);
	CHECK(x.closed);
	CHECK(strstr(x.closed_reason, "bad greeting") != NULL);
	CHECK_STR(imapc_conn_protocol_bytes(c), "a1 OK hi\\r\\n");
	imapc_conn_free(c);
	close(sv[1]);
}

static void test_protocol_errors(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 NOOP\r\n");
	srv_send(s, "x9 OK what\r\n");
	pump_until_done(c, &x, 1);
	CHECK_EQ(x.outcome[0], IMAPC_UNKNOWN);
	CHECK(strstr(x.reason[0], "protocol error: tagged reply with a tag never sent") != NULL);
	/* Issue 10 (3): a protocol error keeps the offending bytes, escaped. */
	CHECK(imapc_conn_protocol_bytes(c) != NULL);
	CHECK_STR(imapc_conn_protocol_bytes(c), "x9 OK what\\r\\n");
	imapc_conn_free(c);
	close(s);

	/* A NUL in a line: the bytes kept are escaped, never raw. */
	c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 NOOP\r\n");
	REQUIRE(write(s, "* OK a\0b\033]0;t\007\r\n", 16) == 16);
	pump_until_done(c, &x, 1);
	CHECK(strstr(x.reason[0], "protocol error: imapc: NUL byte") != NULL);
	CHECK_STR(imapc_conn_protocol_bytes(c), "* OK a\\x00b\\x1b]0;t\\x07\\r\\n");
	imapc_conn_free(c);
	close(s);

	/* One path for every caller (the response budget uses it too). */
	c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 NOOP\r\n");
	imapc_conn_protocol_error(c, "* 1 EXISTS\r\n", 12, "over budget: %d", 7);
	CHECK_EQ(x.n_done, 1);
	CHECK_EQ(x.outcome[0], IMAPC_UNKNOWN);
	CHECK_STR(x.reason[0], "protocol error: over budget: 7");
	CHECK_STR(imapc_conn_protocol_bytes(c), "* 1 EXISTS\\r\\n");
	imapc_conn_free(c);
	close(s);

	c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 NOOP\r\n");
	srv_send(s, "* 1 FETCH (UID x)\r\n");
	pump_until_done(c, &x, 1);
	CHECK(strstr(x.reason[0], "imapc: expected a number") != NULL);
	CHECK(strncmp(imapc_conn_protocol_bytes(c), "* 1 FETCH (UID x)", 17) == 0);
	imapc_conn_free(c);
	close(s);

	/* A reply to a command still queued behind a literal is a bogus tag. */
	c = setup(&s, &x, "* OK hi\r\n");
	send_append(c, "hello", 0);
	send_text(c, "NOOP", NULL, 0);
	srv_expect(c, s, "a0001 APPEND INBOX {5}\r\n");
	srv_send(s, "a0002 OK no\r\n");
	pump_until_done(c, &x, 2);
	CHECK_EQ(x.outcome[0], IMAPC_UNKNOWN);
	CHECK_EQ(x.outcome[1], IMAPC_NOT_SENT);
	imapc_conn_free(c);
	close(s);

	protocol_error_greeting();
}

static void test_idle_and_authenticate(void)
{
	rec x;
	int s;
	imapc_conn *c = setup(&s, &x, "* OK hi\r\n");
	send_text(c, "IDLE", NULL, 0);
	srv_expect(c, s, "a0001 IDLE\r\n");
	srv_send(s, "+ idling\r\n* 4 EXISTS\r\n");
	pump(c, 30);
	CHECK_EQ(x.n_resp, 3);
	CHECK_STR(x.inflight_tags[2], "a0001");
	imapc_conn_send_raw(c, "DONE\r\n", 6);
	srv_expect(c, s, "DONE\r\n");
	srv_send(s, "a0001 OK Idle completed.\r\n");
	pump_until_done(c, &x, 1);

	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_authenticate_plain(&cmd, NULL, "bob", "pw", false);
	REQUIRE(imapc_conn_send(c, &cmd, NULL, 0) != NULL);
	imapc_cmd_free(&cmd);
	srv_expect(c, s, "a0002 AUTHENTICATE PLAIN\r\n");
	CHECK(srv_quiet(c, s, 30));
	srv_send(s, "+ \r\n");
	srv_expect(c, s, "AGJvYgBwdw==\r\n");
	srv_send(s, "a0002 OK [CAPABILITY IMAP4rev1 QRESYNC] Logged in\r\n");
	pump_until_done(c, &x, 2);
	CHECK_EQ(x.status[1], IMAPC_T_OK);
	CHECK(imapc_conn_caps(c)->mask & IMAPC_CAP_QRESYNC);
	CHECK_EQ(imapc_conn_caps(c)->n, 2);
	imapc_conn_free(c);
	close(s);
}

/* ---- blocking client against a threaded server on 127.0.0.1 ---------------------------- */
typedef struct script {
	int listen_fd;
	const char *greeting;
	const char *const *steps;   /* expected line, reply; ...; NULL */
	char failure[256];
} script;

static bool read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char ch;
		if (read(fd, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return true;
}

static void *server_main(void *arg)
{
	script *sc = arg;
	int fd = accept(sc->listen_fd, NULL, NULL);
	if (fd < 0) {
		snprintf(sc->failure, sizeof(sc->failure), "accept failed");
		return NULL;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sc->greeting != NULL)
		srv_send(fd, sc->greeting);
	for (size_t i = 0; sc->steps[i] != NULL; i += 2) {
		char line[512];
		if (!read_line(fd, line, sizeof(line))) {
			snprintf(sc->failure, sizeof(sc->failure), "no line for step %zu", i / 2);
			break;
		}
		if (strcmp(line, sc->steps[i]) != 0) {
			snprintf(sc->failure, sizeof(sc->failure), "step %zu: got \"%.100s\" want \"%.100s\"",
				 i / 2, line, sc->steps[i]);
			break;
		}
		if (sc->steps[i + 1] != NULL)
			srv_send(fd, sc->steps[i + 1]);
	}
	if (sc->greeting == NULL) {
		char b;
		(void)read(fd, &b, 1);  /* stay silent until the client gives up */
	}
	close(fd);
	return NULL;
}

static int listener(char *port, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	REQUIRE(fd >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(listen(fd, 4) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	snprintf(port, cap, "%u", ntohs(a.sin_port));
	return fd;
}

static void test_blocking_authenticate(void)
{
	static const char *const steps[] = {
		"a0001 CAPABILITY",
		"* CAPABILITY IMAP4rev1 AUTH=PLAIN ENABLE\r\na0001 OK Pre-login capabilities listed.\r\n",
		"a0002 AUTHENTICATE PLAIN", "+ \r\n",
		"AGJvYgBwdw==",
		"a0002 OK [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC UIDPLUS MOVE] Logged in\r\n",
		"a0003 ENABLE QRESYNC", "* ENABLED QRESYNC\r\na0003 OK Enabled.\r\n",
		"a0004 SELECT INBOX",
		"* FLAGS (\\Seen)\r\n* 2 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n"
		"* OK [HIGHESTMODSEQ 3] x\r\na0004 OK [READ-WRITE] Select completed.\r\n",
		"a0005 LOGOUT", "* BYE Logging out\r\na0005 OK Logout completed.\r\n",
		NULL,
	};
	char port[16];
	script sc = {.listen_fd = listener(port, sizeof(port)),
		     .greeting = "* OK Dovecot ready.\r\n", .steps = steps};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, server_main, &sc) == 0);
	cm_err err = {{0}};
	imapc_client *cl = imapc_client_connect("127.0.0.1", port, 3000, NULL, &err);
	if (cl == NULL)
		fprintf(stderr, "%s\n", err.text);
	REQUIRE(cl != NULL);
	CHECK(imapc_client_caps(cl)->mask & IMAPC_CAP_AUTH_PLAIN);
	CHECK_EQ(imapc_client_greeting(cl)->type, IMAPC_T_OK);
	CHECK_EQ(imapc_client_authenticate_plain(cl, "bob", "pw", &err), 0);
	CHECK(imapc_client_caps(cl)->mask & IMAPC_CAP_QRESYNC);
	uint32_t en = 0;
	cm_buf names = {0};
	CHECK_EQ(imapc_client_enable(cl, "QRESYNC", &en, &names, &err), 0);
	CHECK_EQ(en, IMAPC_CAP_QRESYNC);
	CHECK_STR(names.data, "QRESYNC");
	CHECK_EQ(imapc_conn_enabled(imapc_client_conn(cl)), IMAPC_CAP_QRESYNC);
	cm_buf_free(&names);
	imapc_result res;
	CHECK_EQ(imapc_client_runf(cl, &res, "SELECT %s", "INBOX"), 0);
	CHECK_EQ(res.n_untagged, 4);
	CHECK_EQ(res.outcome, IMAPC_REPLIED);
	REQUIRE(res.tagged != NULL);
	CHECK_EQ(res.tagged->code.kind, IMAPC_CODE_READ_WRITE);
	CHECK_EQ(res.untagged[2]->code.num, 7);
	CHECK_EQ(res.untagged[3]->code.modseq, 3);
	imapc_result_free(&res);
	CHECK_EQ(imapc_client_logout(cl, &err), 0);
	imapc_client_free(cl);
	pthread_join(th, NULL);
	CHECK_STR(sc.failure, "");
	close(sc.listen_fd);
}

static void test_blocking_login(void)
{
	static const char *const steps[] = {
		"a0001 LOGIN \"bob\" \"p\\\"w\"", "a0001 OK Logged in\r\n",
		"a0002 CAPABILITY", "* CAPABILITY IMAP4rev1 UIDPLUS\r\na0002 OK done\r\n",
		"a0003 NOOP", "a0003 NO [UNAVAILABLE] nope\r\n",
		"a0004 NOOP", NULL,
		NULL,
	};
	char port[16];
	script sc = {.listen_fd = listener(port, sizeof(port)),
		     .greeting = "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+] hi\r\n",
		     .steps = steps};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, server_main, &sc) == 0);
	cm_err err = {{0}};
	imapc_client *cl = imapc_client_connect("127.0.0.1", port, 3000, NULL, &err);
	REQUIRE(cl != NULL);
	CHECK(imapc_client_caps(cl)->mask & IMAPC_CAP_LITERALPLUS);
	CHECK_EQ(imapc_client_login(cl, "bob", "p\"w", &err), 0);
	CHECK_EQ(imapc_client_caps(cl)->mask, IMAPC_CAP_IMAP4REV1 | IMAPC_CAP_UIDPLUS);
	imapc_result res;
	CHECK_EQ(imapc_client_runf(cl, &res, "NOOP"), -1);
	CHECK_EQ(res.outcome, IMAPC_REPLIED);
	CHECK_EQ(res.status, IMAPC_T_NO);
	imapc_result_free(&res);
	CHECK_EQ(imapc_client_runf(cl, &res, "NOOP"), -1);
	CHECK_EQ(res.outcome, IMAPC_UNKNOWN);
	CHECK_STR(res.reason, "connection closed by server");
	imapc_result_free(&res);
	CHECK_EQ(imapc_client_runf(cl, &res, "NOOP"), -1);
	CHECK_EQ(res.outcome, IMAPC_NOT_SENT);
	imapc_result_free(&res);
	imapc_client_free(cl);
	pthread_join(th, NULL);
	CHECK_STR(sc.failure, "");
	close(sc.listen_fd);
}

static void test_blocking_no_greeting(void)
{
	static const char *const steps[] = {NULL};
	char port[16];
	script sc = {.listen_fd = listener(port, sizeof(port)), .steps = steps};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, server_main, &sc) == 0);
	cm_err err = {{0}};
	uint64_t t0 = cm_now_ns();
	imapc_client *cl = imapc_client_connect("127.0.0.1", port, 200, NULL, &err);
	CHECK(cl == NULL);
	CHECK(cm_now_ns() - t0 < 2000000000ULL);
	CHECK(strstr(err.text, "timeout waiting for the greeting") != NULL);
	pthread_join(th, NULL);
	close(sc.listen_fd);

	/* Nobody listening: a clean error, no hang. */
	int fd = listener(port, sizeof(port));
	close(fd);
	CHECK(imapc_client_connect("127.0.0.1", port, 500, NULL, &err) == NULL);
	CHECK(strstr(err.text, "connect 127.0.0.1") != NULL);
	CHECK(imapc_connect_tcp("no such host.invalid", "143", 500, &err) < 0);
}

/* Issue 10 (4d): a server slow to answer must not stretch --seconds. A
 * deadline shortens every command's timeout, and past it nothing is sent. */
static void test_blocking_deadline(void)
{
	static const char *const steps[] = {
		"a0001 CAPABILITY", "* CAPABILITY IMAP4rev1\r\na0001 OK done\r\n",
		"a0002 NOOP", NULL, /* never answered: */
		"(silence until the client gives up)", NULL,
		NULL,
	};
	char port[16];
	script sc = {.listen_fd = listener(port, sizeof(port)), .greeting = "* OK hi\r\n",
		     .steps = steps};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, server_main, &sc) == 0);
	cm_err err = {{0}};
	imapc_client *cl = imapc_client_connect("127.0.0.1", port, 30000, NULL, &err);
	REQUIRE(cl != NULL);
	imapc_client_set_deadline(cl, cm_now_ns() + 300000000ull);
	imapc_result res;
	CHECK_EQ(imapc_client_runf(cl, &res, "NOOP"), -1);
	CHECK_EQ(res.outcome, IMAPC_UNKNOWN);
	/* The 30 s timeout became at most what was left of the 300 ms. */
	unsigned ms = 0;
	const char *w = strstr(res.reason, "within ");
	CHECK(w != NULL && sscanf(w, "within %u ms", &ms) == 1 && ms <= 300);
	imapc_result_free(&res);
	CHECK_EQ(imapc_client_runf(cl, &res, "NOOP"), -1);
	CHECK_EQ(res.outcome, IMAPC_NOT_SENT);
	imapc_result_free(&res);
	imapc_client_free(cl);
	pthread_join(th, NULL);
	close(sc.listen_fd);
	CHECK_STR(sc.failure, "no line for step 2");
}

int main(void)
{
	RUN(test_pipelining);
	RUN(test_sync_literal);
	RUN(test_sync_literal_refused);
	RUN(test_literal_plus_minus);
	RUN(test_timeout);
	RUN(test_disconnects);
	RUN(test_bye);
	RUN(test_protocol_errors);
	RUN(test_idle_and_authenticate);
	RUN(test_blocking_authenticate);
	RUN(test_blocking_login);
	RUN(test_blocking_no_greeting);
	RUN(test_blocking_deadline);
	TEST_EXIT();
}
