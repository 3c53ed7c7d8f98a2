/* LMTP addresses (lmtp://HOST:PORT, lmtp:/path/to/socket) and connecting
 * to them with a timeout: TCP tries each address getaddrinfo gives with a
 * non-blocking connect and poll, within one overall deadline (as imapc's
 * net.c does); a UNIX socket is retried while its backlog is full. */
#include "lmtpc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LMTP_DEFAULT_PORT "24"   /* IANA's lmtp port */

/* ---- addresses ------------------------------------------------------------ */
static bool port_ok(const char *p, size_t len)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool v6_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* HOST[:PORT][/] or [V6][:PORT][/] into a; NULL, or why not. */
static const char *parse_hostport(const char *s, lmtpc_addr *a)
{
	size_t len = strlen(s);
	if (len > 0 && s[len - 1] == '/')
		len--;
	const char *host = s, *port = NULL;
	size_t hlen, plen = 0;
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);
		if (rb == NULL || rb == s + 1)
			return "bad IPv6 address (expected [ADDR])";
		host = s + 1;
		hlen = (size_t)(rb - host);
		for (size_t i = 0; i < hlen; i++)
			if (!v6_char(host[i]))
				return "bad IPv6 address (expected [ADDR])";
		size_t rest = len - (size_t)(rb + 1 - s);
		if (rest > 0 && rb[1] != ':')
			return "unexpected text after the IPv6 address";
		if (rest > 0)
			port = rb + 2, plen = rest - 1;
	} else {
		const char *colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		if (colon != NULL)
			port = colon + 1, plen = len - hlen - 1;
		if (hlen == 0)
			return "no host";
		for (size_t i = 0; i < hlen; i++)
			if (!host_char(s[i]))
				return s[i] == '@' ? "an lmtp URL takes no user"
						   : "bad character in the host";
	}
	if (hlen >= sizeof(a->host))
		return "host name too long";
	if (port != NULL && !port_ok(port, plen))
		return "bad port (expected 1-65535)";
	snprintf(a->host, sizeof(a->host), "%.*s", (int)hlen, host);
	if (port != NULL)
		snprintf(a->port, sizeof(a->port), "%.*s", (int)plen, port);
	else
		snprintf(a->port, sizeof(a->port), "%s", LMTP_DEFAULT_PORT);
	bool v6 = strchr(a->host, ':') != NULL;
	snprintf(a->display, sizeof(a->display), "lmtp://%s%s%s:%s", v6 ? "[" : "", a->host,
		 v6 ? "]" : "", a->port);
	return NULL;
}

static const char *parse_path(const char *s, lmtpc_addr *a)
{
	size_t len = strlen(s);
	if (len < 2)
		return "no socket path after \"lmtp:\"";
	if (len >= sizeof(a->path))
		return "socket path too long (at most 107 bytes)";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "control character in the socket path";
	a->unix_socket = true;
	memcpy(a->path, s, len + 1);
	snprintf(a->display, sizeof(a->display), "lmtp:%s", a->path);
	return NULL;
}

int lmtpc_addr_parse(const char *url, lmtpc_addr *a, cm_err *err)
{
	memset(a, 0, sizeof(*a));
	char shown[80];
	cm_escape(shown, sizeof(shown), url, strlen(url));
	const char *why;
	if (strncasecmp(url, "lmtp:", 5) != 0)
		why = "expected lmtp://HOST:PORT or lmtp:/path/to/socket";
	else if (strncmp(url + 5, "///", 3) == 0)
		why = parse_path(url + 7, a);
	else if (strncmp(url + 5, "//", 2) == 0)
		why = parse_hostport(url + 7, a);
	else if (url[5] == '/')
		why = parse_path(url + 5, a);
	else
		why = "expected lmtp://HOST:PORT or lmtp:/path/to/socket";
	if (why == NULL)
		return 0;
	memset(a, 0, sizeof(*a));
	return cm_err_set(err, "bad LMTP address \"%s\": %s", shown, why);
}

/* ---- connecting ------------------------------------------------------------- */
/* Waits for a non-blocking connect on fd; 0, or -1 with *error. */
static int wait_connected(int fd, uint64_t deadline_ns, int *error)
{
	for (;;) {
		uint64_t now = cm_now_ns();
		if (now >= deadline_ns) {
			*error = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int ms = (int)CM_MIN((deadline_ns - now + 999999) / 1000000, 60000);
		int n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error = errno;
			return -1;
		}
		if (n == 0)
			continue;
		int so = 0;
		socklen_t sl = sizeof(so);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
			so = errno;
		if (so == 0)
			return 0;
		*error = so;
		return -1;
	}
}

static int try_connect(int family, int proto, const struct sockaddr *sa, socklen_t salen,
		       uint64_t deadline_ns, int *error)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		*error = errno;
		return -1;
	}
	for (;;) {
		if (connect(fd, sa, salen) == 0)
			return fd;
		if (errno == EINTR)
			continue;
		/* A UNIX socket whose backlog is full says EAGAIN: try again. */
		if (errno == EAGAIN && family == AF_UNIX && cm_now_ns() < deadline_ns) {
			poll(NULL, 0, 5);
			continue;
		}
		break;
	}
	int e = errno;
	if (e == EINPROGRESS) {
		if (wait_connected(fd, deadline_ns, error) == 0)
			return fd;
	} else {
		*error = e == EAGAIN ? ETIMEDOUT : e;
	}
	close(fd);
	return -1;
}

static int connect_unix(const lmtpc_addr *a, uint64_t deadline, cm_err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
	int error = 0;
	int fd = try_connect(AF_UNIX, 0, (const struct sockaddr *)&sun, sizeof(sun), deadline,
			     &error);
	if (fd < 0)
		return cm_err_set(err, "lmtpc: connect %s: %s", a->display, strerror(error));
	return fd;
}

static int connect_tcp(const lmtpc_addr *a, uint64_t deadline, cm_err *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(a->host, a->port, &hints, &res);
	if (rc != 0)
		return cm_err_set(err, "lmtpc: resolve %s: %s", a->display, gai_strerror(rc));
	int fd = -1, error = 0;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = try_connect(ai->ai_family, ai->ai_protocol, ai->ai_addr, ai->ai_addrlen,
				 deadline, &error);
	freeaddrinfo(res);
	if (fd < 0)
		return cm_err_set(err, "lmtpc: connect %s: %s", a->display, strerror(error));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int lmtpc_connect(const lmtpc_addr *a, uint32_t timeout_ms, cm_err *err)
{
	uint64_t deadline = cm_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000;
	return a->unix_socket ? connect_unix(a, deadline, err) : connect_tcp(a, deadline, err);
}
