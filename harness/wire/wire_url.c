/* The target URL: imap[s]://USER[:PASS]@HOST[:PORT] (RFC 5092 shape, only
 * the parts a test target needs). USER and PASS may carry %XX escapes, so
 * that '@', ':' and '/' can appear in them. Errors never echo the password.
 * Without PASS in the URL (which ps shows), it comes from --password-file
 * or RATCHET_PASSWORD. */
#include "wire_private.h"
#include "cm_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
			if (!cm_net_host_char(*p)) {
				*why = "bad character in the host name";
				return false;
			}
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(hend - s), s);
	}
	if (colon == NULL) {
		snprintf(u->port, sizeof(u->port), "%s",
			 u->sec == IMAPC_SEC_TLS ? "993" : "143");
		return true;
	}
	if (!cm_net_port_ok(colon + 1, (size_t)(end - colon - 1))) {
		*why = "bad port (expected 1-65535)";
		return false;
	}
	snprintf(u->port, sizeof(u->port), "%s", colon + 1);
	return true;
}

/* "imap://" or "imaps://": the length of the scheme, 0 if neither. */
static size_t scheme(const char *url, rt_wire_url *u)
{
	if (strncasecmp(url, "imap://", 7) == 0) {
		u->sec = IMAPC_SEC_PLAIN;
		return 7;
	}
	if (strncasecmp(url, "imaps://", 8) == 0) {
		u->sec = IMAPC_SEC_TLS;
		return 8;
	}
	return 0;
}

static const char *parse(const char *url, rt_wire_url *u)
{
	const char *why = NULL;
	size_t sl = scheme(url, u);
	if (sl == 0)
		return "expected imap://USER@HOST[:PORT] or imaps://USER@HOST[:PORT]";
	const char *auth = url + sl;
	const char *at = strrchr(auth, '@');
	if (at == NULL)
		return "missing USER@ (expected imap[s]://USER@HOST[:PORT])";
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	const char *uend = colon ? colon : at;
	if (uend == auth || !decode(auth, (size_t)(uend - auth), u->user, sizeof(u->user)) ||
	    u->user[0] == '\0')
		return "bad user name (check its %XX escapes)";
	u->has_pass = colon != NULL;
	if (colon != NULL &&
	    !decode(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof(u->pass)))
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
	snprintf(u->display, sizeof(u->display), "%s://%.60s@%s%.80s%s:%s",
		 u->sec == IMAPC_SEC_TLS ? "imaps" : "imap", u->user,
		 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
	return 0;
}

/* The first line of path into u->pass (CR LF stripped). */
static int password_from_file(rt_wire_url *u, const char *path, cm_err *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return cm_err_set(err, "--password-file %s: %s", path, strerror(errno));
	char line[sizeof(u->pass) + 2];
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* line holds up to 257 bytes: a first line of 256 or more shows. */
	size_t n = got ? strcspn(line, "\r\n") : 0;
	if (n == 0 || n >= sizeof(u->pass)) {
		memset(line, 0, sizeof(line));
		return cm_err_set(err, "--password-file %s: %s", path,
				  n == 0 ? "the first line is empty"
					 : "the first line is too long (255 bytes at most)");
	}
	memcpy(u->pass, line, n);
	u->pass[n] = '\0';
	memset(line, 0, sizeof(line));
	return 0;
}

int rt_wire_url_password(rt_wire_url *u, const char *file, const char *env, cm_err *err)
{
	if (u->has_pass && file != NULL)
		return cm_err_set(err, "%s has a password in the URL and --password-file: "
				  "give one of them", u->display);
	if (u->has_pass)
		return 0;
	if (file != NULL)
		return password_from_file(u, file, err);
	if (env != NULL && env[0] != '\0') {
		if (strlen(env) >= sizeof(u->pass))
			return cm_err_set(err, "RATCHET_PASSWORD is too long (255 bytes at most)");
		snprintf(u->pass, sizeof(u->pass), "%s", env);
		return 0;
	}
	return cm_err_set(err, "no password for %s: set RATCHET_PASSWORD or give "
			  "--password-file FILE (imap://USER:PASS@... is for throwaway "
			  "accounts only: ps shows it)", u->display);
}
