/* TCP connect with a timeout: each address getaddrinfo gives is tried in
 * turn with a non-blocking connect and poll, within one overall deadline. */
#include "imapc_int.h"
#include "cm_net.h"

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
	return cm_net_tcp(name, port, timeout_ms, "imapc", err);
}
