/* LMTP addresses (lmtp://HOST:PORT, lmtp:/path/to/socket) and connecting
 * to them with a timeout: TCP tries each address getaddrinfo gives with a
 * non-blocking connect and poll, within one overall deadline (as imapc's
 * net.c does); a UNIX socket is retried while its backlog is full. */
#include "lmtpc.h"
#include "cm_net.h"

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
			if (!cm_net_host_char(s[i]))
				return s[i] == '@' ? "an lmtp URL takes no user"
						   : "bad character in the host";
	}
	if (hlen >= sizeof(a->host))
		return "host name too long";
	if (port != NULL && !cm_net_port_ok(port, plen))
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
static int connect_unix(const lmtpc_addr *a, uint64_t deadline, cm_err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
	int error = 0;
	int fd = cm_net_connect(AF_UNIX, 0, (const struct sockaddr *)&sun, sizeof(sun), deadline,
				&error);
	if (fd < 0)
		return cm_err_set(err, "lmtpc: connect %s: %s", a->display, strerror(error));
	return fd;
}

static int connect_tcp(const lmtpc_addr *a, uint64_t deadline, cm_err *err)
{
	uint64_t now = cm_now_ns();
	uint32_t ms = deadline > now ? (uint32_t)CM_MIN((deadline - now + 999999) / 1000000,
							  UINT32_MAX) : 1;
	return cm_net_tcp(a->host, a->port, ms, "lmtpc", err);
}

int lmtpc_connect(const lmtpc_addr *a, uint32_t timeout_ms, cm_err *err)
{
	uint64_t deadline = cm_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000;
	return a->unix_socket ? connect_unix(a, deadline, err) : connect_tcp(a, deadline, err);
}
