/* TCP connect with a timeout: each address getaddrinfo gives is tried in
 * turn with a non-blocking connect and poll, within one overall deadline. */
#include "imapc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int try_connect(const struct addrinfo *ai, uint64_t deadline_ns,
		       int *error)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		*error = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*error = errno;
		close(fd);
		return -1;
	}
	for (;;) {
		uint64_t now = cm_now_ns();
		if (now >= deadline_ns) {
			*error = ETIMEDOUT;
			break;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int ms = (int)CM_MIN((deadline_ns - now + 999999) / 1000000, 60000);
		int n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error = errno;
			break;
		}
		if (n == 0)
			continue;
		int so = 0;
		socklen_t sl = sizeof(so);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
			so = errno;
		if (so == 0)
			return fd;
		*error = so;
		break;
	}
	close(fd);
	return -1;
}

int imapc_connect_tcp(const char *host, const char *port, uint32_t timeout_ms,
		      cm_err *err)
{
	char name[256];
	size_t hl = strlen(host);
	/* "[::1]" is how IPv6 literals are written next to a port. */
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(name)) {
		memcpy(name, host + 1, hl - 2);
		name[hl - 2] = '\0';
	} else {
		snprintf(name, sizeof(name), "%s", host);
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0) {
		snprintf(err->text, sizeof(err->text), "imapc: resolve %.100s port %.20s: %s",
			 name, port, gai_strerror(rc));
		return -1;
	}
	uint64_t deadline = cm_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000;
	int fd = -1, error = 0;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = try_connect(ai, deadline, &error);
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err->text, sizeof(err->text), "imapc: connect %.100s port %.20s: %s",
			 name, port, strerror(error));
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}
