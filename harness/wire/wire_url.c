/* The target URL: imap://USER:PASS@HOST[:PORT] (RFC 5092 shape, only the
 * parts a test target needs). USER and PASS may carry %XX escapes, so that
 * '@', ':' and '/' can appear in them. Errors never echo the password. */
#include "wire_private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [s, s+len) into out; false on a bad escape, a NUL or
 * an overflow. */
static bool decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return false;
			int hi = hexval(s[i + 1]);
			int lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (k + 1 >= outlen)
			return false;
		out[k++] = c;
	}
	out[k] = '\0';
	return true;
}

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

/* HOST[:PORT] or [V6][:PORT]. */
static bool parse_hostport(const char *s, rt_wire_url *u, const char **why)
{
	const char *end = s + strlen(s), *colon;
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb == s + 1 || (size_t)(rb - s - 1) >= sizeof(u->host)) {
			*why = "bad IPv6 address (expected [ADDR])";
			return false;
		}
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(rb - s - 1), s + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL) {
			*why = "unexpected text after the IPv6 address";
			return false;
		}
	} else {
		colon = strchr(s, ':');
		const char *hend = colon ? colon : end;
		if (hend == s || (size_t)(hend - s) >= sizeof(u->host)) {
			*why = "missing host";
			return false;
		}
		for (const char *p = s; p < hend; p++)
			if (!host_char(*p)) {
				*why = "bad character in the host name";
				return false;
			}
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(hend - s), s);
	}
	if (colon == NULL) {
		snprintf(u->port, sizeof(u->port), "143");
		return true;
	}
	if (!port_ok(colon + 1, (size_t)(end - colon - 1))) {
		*why = "bad port (expected 1-65535)";
		return false;
	}
	snprintf(u->port, sizeof(u->port), "%s", colon + 1);
	return true;
}

static const char *parse(const char *url, rt_wire_url *u)
{
	static const char scheme[] = "imap://";
	const char *why = NULL;
	if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
		return "expected imap://USER:PASS@HOST[:PORT]";
	const char *auth = url + sizeof(scheme) - 1;
	const char *at = strrchr(auth, '@');
	if (at == NULL)
		return "missing USER:PASS@ (expected imap://USER:PASS@HOST[:PORT])";
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon == NULL || colon == auth)
		return "missing USER:PASS before '@'";
	if (!decode(auth, (size_t)(colon - auth), u->user, sizeof(u->user)) ||
	    u->user[0] == '\0')
		return "bad user name (check its %XX escapes)";
	if (!decode(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof(u->pass)))
		return "bad password (check its %XX escapes)";
	char hostport[300];
	size_t hl = strcspn(at + 1, "/?#");
	if (at[1 + hl] != '\0' && strcmp(at + 1 + hl, "/") != 0)
		return "unexpected path or query after HOST:PORT";
	if (hl >= sizeof(hostport))
		return "host name too long";
	snprintf(hostport, sizeof(hostport), "%.*s", (int)hl, at + 1);
	if (!parse_hostport(hostport, u, &why))
		return why;
	return NULL;
}

int rt_wire_url_parse(const char *url, rt_wire_url *u, cm_err *err)
{
	memset(u, 0, sizeof(*u));
	const char *why = url != NULL ? parse(url, u) : "missing URL";
	if (why != NULL) {
		/* Show only the scheme and host part: the rest may be a password. */
		const char *at = url ? strrchr(url, '@') : NULL;
		cm_err_set(err, "bad --target URL%s%s: %s", at ? " ...@" : "",
			 at ? at + 1 : "", why);
		memset(u->pass, 0, sizeof(u->pass));
		return -1;
	}
	bool v6 = strchr(u->host, ':') != NULL;
	snprintf(u->display, sizeof(u->display), "imap://%.60s@%s%.80s%s:%s", u->user,
		 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
	return 0;
}
