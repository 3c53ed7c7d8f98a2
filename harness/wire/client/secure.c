/* A connection secured as asked before it joins a poll loop: plain TCP,
 * TLS from the first byte (imaps), or STARTTLS (RFC 3501 6.2.1, RFC 2595).
 *
 * STARTTLS is run here, blocking, on the bare socket: the greeting, then
 * "S STARTTLS" and its tagged reply, each line read with MSG_PEEK first so
 * that no byte past the reply is consumed. Whatever the server sent after
 * its OK in clear (an injection) is then fed to the TLS handshake, which
 * fails on it, rather than read as if it came under TLS. */
#include "imapc_int.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_ 4096     /* one greeting or reply line */
#define LINES_MAX 64       /* untagged lines before the STARTTLS reply */
#define TAG "S1"

/* Waits until fd is ready for events or the deadline: false on timeout
 * or error (err filled). */
static bool wait_fd(int fd, short events, uint64_t deadline_ns, cm_err *err)
{
	for (;;) {
		uint64_t now = cm_now_ns();
		if (now >= deadline_ns) {
			cm_err_set(err, "STARTTLS: timeout");
			return false;
		}
		struct pollfd pfd = {.fd = fd, .events = events};
		int ms = (int)CM_MIN((deadline_ns - now + 999999) / 1000000, 60000);
		int n = poll(&pfd, 1, ms);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR) {
			cm_err_set(err, "STARTTLS: poll: %s", strerror(errno));
			return false;
		}
	}
}

/* One CRLF-terminated line into buf (NUL-terminated, CRLF stripped),
 * consuming nothing after it. 0, or -1 with err filled. */
static int read_line(int fd, char *buf, size_t cap, uint64_t deadline_ns, cm_err *err)
{
	size_t len = 0;
	assert(cap > 2);
	for (;;) {
		if (len + 1 >= cap)
			return cm_err_set(err, "STARTTLS: a line of more than %zu bytes", cap - 2);
		if (!wait_fd(fd, POLLIN, deadline_ns, err))
			return -1;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_PEEK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return cm_err_set(err, "STARTTLS: %s", n == 0 ? "connection closed by server"
								      : strerror(errno));
		const char *nl = memchr(buf + len, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - (buf + len)) + 1 : (size_t)n;
		ssize_t got = recv(fd, buf + len, take, 0);
		if (got != (ssize_t)take)
			return cm_err_set(err, "STARTTLS: read: %s",
					  got < 0 ? strerror(errno) : "short read");
		len += take;
		if (nl != NULL)
			break;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	return 0;
}

static int send_all(int fd, const char *s, uint64_t deadline_ns, cm_err *err)
{
	size_t len = strlen(s), off = 0;
	while (off < len) {
		if (!wait_fd(fd, POLLOUT, deadline_ns, err))
			return -1;
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return cm_err_set(err, "STARTTLS: write: %s", strerror(errno));
		off += (size_t)n;
	}
	return 0;
}

/* The greeting, STARTTLS and its OK, in clear. 0, or -1 with err. */
static int starttls_exchange(int fd, uint64_t deadline_ns, cm_err *err)
{
	char line[LINE_MAX_];
	if (read_line(fd, line, sizeof(line), deadline_ns, err) < 0)
		return -1;
	if (strncmp(line, "* OK", 4) != 0)
		return cm_err_set(err, "STARTTLS: the greeting is not \"* OK\": %.100s", line);
	if (send_all(fd, TAG " STARTTLS\r\n", deadline_ns, err) < 0)
		return -1;
	for (int i = 0; i < LINES_MAX; i++) {
		if (read_line(fd, line, sizeof(line), deadline_ns, err) < 0)
			return -1;
		if (strncmp(line, "* ", 2) == 0 && line[strlen(line) - 1] != '}')
			continue; /* untagged: a CAPABILITY perhaps; no literals here */
		if (strncmp(line, TAG " OK", sizeof(TAG " OK") - 1) == 0)
			return 0;
		return cm_err_set(err, "STARTTLS refused: %.150s", line);
	}
	return cm_err_set(err, "STARTTLS: more than %d lines before its reply", LINES_MAX);
}

int imapc_connect_secure(const char *host, const char *port, imapc_security sec,
			 imapc_tls_ctx *tls, uint32_t timeout_ms, imapc_conn_opts *co,
			 cm_err *err)
{
	assert(co != NULL && co->tls == NULL);
	assert(sec == IMAPC_SEC_PLAIN || tls != NULL);
	int fd = imapc_connect_tcp(host, port, timeout_ms, err);
	if (fd < 0 || sec == IMAPC_SEC_PLAIN)
		return fd;
	uint64_t deadline = cm_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000;
	if (sec == IMAPC_SEC_STARTTLS && starttls_exchange(fd, deadline, err) < 0) {
		close(fd);
		return -1;
	}
	/* The handshake's host name: the one the user wrote, without the
	 * brackets of an IPv6 literal. */
	char name[256];
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(name))
		snprintf(name, sizeof(name), "%.*s", (int)(hl - 2), host + 1);
	else
		snprintf(name, sizeof(name), "%s", host);
	uint64_t now = cm_now_ns();
	uint32_t left = now < deadline ? (uint32_t)CM_MAX((deadline - now) / 1000000, 1) : 1;
	co->tls = imapc_tls_handshake(tls, fd, name, left, err);
	if (co->tls == NULL) {
		close(fd);
		return -1;
	}
	/* After STARTTLS no greeting comes: the session goes on from the OK. */
	co->no_greeting = sec == IMAPC_SEC_STARTTLS;
	return fd;
}
