/* The scripted fake LMTP server of the connection tests: a thread on the
 * other end of a socketpair reads exactly what the client must send and
 * answers what the script says, while the test's thread drives the
 * connection from a poll() loop as the wire driver does. */
#ifndef LMTPC_FAKE_SERVER_H
#define LMTPC_FAKE_SERVER_H

#include "lmtpc.h"
#include "cm_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- the fake server ------------------------------------------------------------- */
typedef struct step {
	char op;            /* 'S' send, 'E' expect exactly, 'C' close, 'H' hang
			     * (answer nothing, read and drop everything until
			     * the client closes), 'W' wait for the client to
			     * close without reading */
	const char *text;
} step;

typedef struct server {
	int fd;
	const step *steps;
	char failure[400];
	pthread_t th;
} server;

static inline void srv_write(server *s, const char *text, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(s->fd, text + off, len - off);
		if (n <= 0) {
			snprintf(s->failure, sizeof(s->failure), "write failed: %s", strerror(errno));
			return;
		}
		off += (size_t)n;
	}
}

static inline bool srv_expect(server *s, size_t k, const char *want)
{
	size_t len = strlen(want), got = 0;
	char *buf = malloc(len + 1);
	while (got < len) {
		ssize_t n = read(s->fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	bool ok = got == len && memcmp(buf, want, len) == 0;
	if (!ok) {
		char a[120], b[120];
		cm_escape(a, sizeof(a), buf, got);
		cm_escape(b, sizeof(b), want, len);
		snprintf(s->failure, sizeof(s->failure), "step %zu: got \"%s\" want \"%s\"", k, a, b);
	}
	free(buf);
	return ok;
}

static inline void *server_main(void *arg)
{
	server *s = arg;
	for (size_t k = 0; s->steps[k].op != 0 && s->failure[0] == '\0'; k++) {
		const step *st = &s->steps[k];
		if (st->op == 'S') {
			srv_write(s, st->text, strlen(st->text));
		} else if (st->op == 'E') {
			if (!srv_expect(s, k, st->text))
				break;
		} else if (st->op == 'H') {
			char b[4096];
			while (read(s->fd, b, sizeof(b)) > 0)
				;
		} else if (st->op == 'W') {
			struct pollfd p = {s->fd, 0, 0};
			poll(&p, 1, 10000);
		} else if (st->op == 'C') {
			break;
		}
	}
	close(s->fd);
	return NULL;
}

/* ---- the client side ---------------------------------------------------------------- */
typedef struct rec {
	unsigned n;
	unsigned idx[32];
	void *user[32];
	lmtpc_result r[32];
	bool ready[32];        /* lmtpc_conn_ready inside the callback */
	lmtpc_conn *c;
	/* a delivery to start from inside the last callback */
	const char *again_rcpt;
	int again_rc;
} rec;

static const char *const RCPT_AGAIN[1] = {"z@x"};

static inline void on_done(void *ctx, void *user, unsigned idx, const lmtpc_result *r)
{
	rec *x = ctx;
	REQUIRE(x->n < 32);
	x->idx[x->n] = idx;
	x->user[x->n] = user;
	x->r[x->n] = *r;
	x->ready[x->n] = lmtpc_conn_ready(x->c);
	x->n++;
	if (x->again_rcpt != NULL && lmtpc_conn_ready(x->c)) {
		x->again_rc = lmtpc_conn_deliver(x->c, "", RCPT_AGAIN, 1, "m", 1, NULL);
		x->again_rcpt = NULL;
	}
}

static inline lmtpc_conn *start(server *s, const step *steps, rec *x, uint32_t timeout_ms)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	memset(s, 0, sizeof(*s));
	memset(x, 0, sizeof(*x));
	s->fd = sv[1];
	s->steps = steps;
	struct timeval tv = {5, 0};
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	lmtpc_opts o = {.timeout_ms = timeout_ms, .on_done = on_done, .ctx = x};
	x->c = lmtpc_conn_new(sv[0], &o);
	REQUIRE(pthread_create(&s->th, NULL, server_main, s) == 0);
	return x->c;
}

/* Drives c until want(c, x) holds, it closes, or 5 s pass. */
static inline void drive(lmtpc_conn *c, rec *x, bool (*want)(lmtpc_conn *, rec *, unsigned), unsigned arg)
{
	uint64_t end = cm_now_ns() + 5000000000ULL;
	while (!want(c, x, arg) && !lmtpc_conn_closed(c) && cm_now_ns() < end) {
		struct pollfd p = {lmtpc_conn_fd(c), lmtpc_conn_poll_events(c), 0};
		int ms = lmtpc_conn_timeout_ms(c, cm_now_ns());
		int n = poll(&p, 1, ms < 0 || ms > 50 ? 50 : ms);
		lmtpc_conn_handle(c, n > 0 ? p.revents : 0);
	}
	CHECK(want(c, x, arg));
}

static inline bool is_ready(lmtpc_conn *c, rec *x, unsigned n)
{
	(void)x, (void)n;
	return lmtpc_conn_ready(c);
}

static inline bool has_done(lmtpc_conn *c, rec *x, unsigned n)
{
	(void)c;
	return x->n >= n;
}

static inline bool is_closed(lmtpc_conn *c, rec *x, unsigned n)
{
	(void)x, (void)n;
	return lmtpc_conn_closed(c);
}

static inline void finish(server *s, lmtpc_conn *c)
{
	if (!lmtpc_conn_closed(c)) {
		lmtpc_conn_quit(c);
		drive(c, NULL, is_closed, 0);
	}
	lmtpc_conn_free(c);
	pthread_join(s->th, NULL);
	CHECK_STR(s->failure, "");
}

static inline void check_result(const rec *x, unsigned k, unsigned idx, lmtpc_outcome o, int code,
			 const char *text)
{
	CHECK_EQ(x->idx[k], idx);
	CHECK_EQ(x->r[k].outcome, o);
	CHECK_EQ(x->r[k].code, code);
	CHECK_STR(x->r[k].text, text);
}

#define GREET {'S', "220 mx.example LMTP ready\r\n"}, {'E', "LHLO ratchet.invalid\r\n"}
#define PLAIN_LHLO {'S', "250-mx.example\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"}
#define PIPE_LHLO {'S', "250-mx.example\r\n250-pipelining\r\n250 ENHANCEDSTATUSCODES\r\n"}
#define QUIT {'E', "QUIT\r\n"}, {'S', "221 2.0.0 bye\r\n"}

static const char *const ONE[1] = {"b@x"};
static const char *const THREE[3] = {"a@x", "b@x", "c@x"};
static const char MSG[] = "Subject: hi\r\n\r\nbody\r\n";

#endif
