/* Connecting to a local or remote stream socket with a deadline, and the
 * host and port syntax of the URLs that name one: what the IMAP client
 * (harness/wire/client) and the LMTP client (harness/wire/lmtp) share. */
#ifndef CM_NET_H
#define CM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cm.h"

/* Whether p[0..len) is a decimal port, 1 to 65535. */
bool cm_net_port_ok(const char *p, size_t len);
/* Whether c may appear in a host name or an IPv4 literal of a URL. */
bool cm_net_host_char(char c);
/* One non-blocking connect to sa, waited for until deadline_ns
 * (cm_now_ns clock); a UNIX socket whose backlog is full is tried again.
 * The fd (non-blocking, close-on-exec), or -1 with *error_r an errno. */
int cm_net_connect(int family, int proto, const struct sockaddr *sa, socklen_t salen,
		   uint64_t deadline_ns, int *error_r);
/* TCP to host:port (host without brackets), each address getaddrinfo
 * gives tried in turn within timeout_ms (0: 10 s); TCP_NODELAY set. The
 * fd, or -1 with err filled: "<who>: resolve|connect HOST port PORT: why". */
int cm_net_tcp(const char *host, const char *port, uint32_t timeout_ms, const char *who,
	       cm_err *err);

#endif
