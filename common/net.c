/* Stream connections with a deadline (cm_net.h). */
#include "cm_net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

bool cm_net_port_ok(const char *p, size_t len)
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

bool cm_net_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* Waits for a non-blocking connect on fd: 0, or -1 with *error_r. */
static int wait_connected(int fd, uint64_t deadline_ns, int *error_r)
{
	for (;;) {
		uint64_t now = cm_now_ns();
		if (now >= deadline_ns) {
			*error_r = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int ms = (int)CM_MIN((deadline_ns - now + 999999) / 1000000, 60000);
		int n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = errno;
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
		*error_r = so;
		return -1;
	}
}

int cm_net_connect(int family, int proto, const struct sockaddr *sa, socklen_t salen,
		   uint64_t deadline_ns, int *error_r)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		*error_r = errno;
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
		if (wait_connected(fd, deadline_ns, error_r) == 0)
			return fd;
	} else {
		*error_r = e == EAGAIN ? ETIMEDOUT : e;
	}
	close(fd);
	return -1;
}

int cm_net_tcp(const char *host, const char *port, uint32_t timeout_ms, const char *who,
	       cm_err *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return cm_err_set(err, "%s: resolve %.100s port %.20s: %s", who, host, port,
				  gai_strerror(rc));
	uint64_t deadline = cm_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000;
	int fd = -1, error = 0;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = cm_net_connect(ai->ai_family, ai->ai_protocol, ai->ai_addr, ai->ai_addrlen,
				    deadline, &error);
	freeaddrinfo(res);
	if (fd < 0)
		return cm_err_set(err, "%s: connect %.100s port %.20s: %s", who, host, port,
				  strerror(error));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}
