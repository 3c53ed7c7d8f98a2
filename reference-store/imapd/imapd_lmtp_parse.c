/* The LMTP command parser (RFC 5321 4.1.1 and 4.1.2 syntax, RFC 2033's
 * LHLO) and the recipient rule: pure functions of one line. */
#include "imapd_lmtp.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef int parse_fn(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err);

/* Fills err (if not NULL): "return syntax(err, ...)" of a known command. */
__attribute__((format(printf, 2, 3)))
static int syntax(cm_err *err, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return IMAPD_LMTP_SYNTAX;
}

/* The bytes an argument may hold: printable ASCII, spaces aside. */
static bool graphic(char ch)
{
	return ch > 0x20 && ch < 0x7f;
}

/* The first byte that is neither printable ASCII nor a space or tab: its
 * index, or n. */
static size_t first_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t') || (unsigned char)s[i] >= 0x7f)
			return i;
	return n;
}

/* ---- arguments ---- */

static int p_none(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err)
{
	(void)args, (void)cmd;
	if (n > 0)
		return syntax(err, "no arguments allowed");
	return IMAPD_LMTP_OK;
}

/* NOOP [SP String], EXPN and HELP: whatever follows is not looked at. */
static int p_any(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err)
{
	(void)args, (void)n, (void)cmd, (void)err;
	return IMAPD_LMTP_OK;
}

/* VRFY SP String: something to verify, never looked at (252). */
static int p_vrfy(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err)
{
	(void)args, (void)cmd;
	if (n == 0)
		return syntax(err, "VRFY needs a name");
	return IMAPD_LMTP_OK;
}

/* LHLO SP ( Domain / address-literal ): one word, kept. */
static int p_lhlo(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err)
{
	if (n == 0)
		return syntax(err, "LHLO needs a domain");
	if (n > IMAPD_LMTP_DOMAIN_MAX)
		return syntax(err, "LHLO domain longer than %d bytes", IMAPD_LMTP_DOMAIN_MAX);
	for (size_t i = 0; i < n; i++)
		if (!graphic(args[i]))
			return syntax(err, "LHLO takes one domain");
	memcpy(cmd->arg, args, n);
	cmd->arg[n] = '\0';
	return IMAPD_LMTP_OK;
}

/* "<" path ">" [SP parameters] after "FROM:" or "TO:" (and any spaces,
 * which RFC 5321 does not allow but clients send). The path is kept;
 * parameters are dropped, unread: no extension that takes one is offered,
 * and 8BITMIME's BODY= changes nothing for a store that keeps bytes. */
static int p_path(const char *args, size_t n, const char *prefix, imapd_lmtp_cmd *cmd,
		  cm_err *err)
{
	size_t plen = strlen(prefix), i = plen, start;
	if (n < plen || strncasecmp(args, prefix, plen) != 0)
		return syntax(err, "expected %s<address>", prefix);
	while (i < n && args[i] == ' ')
		i++;
	if (i == n || args[i] != '<')
		return syntax(err, "expected '<' after %s", prefix);
	start = ++i;
	while (i < n && args[i] != '>' && graphic(args[i]) && args[i] != '<')
		i++;
	if (i == n || args[i] != '>')
		return syntax(err, "address without its '>', or with a space, a control "
			      "or '<' in it");
	if (i - start > IMAPD_LMTP_PATH_MAX)
		return syntax(err, "address longer than %d bytes", IMAPD_LMTP_PATH_MAX);
	if (i + 1 < n && args[i + 1] != ' ')
		return syntax(err, "expected a space before parameters");
	memcpy(cmd->arg, args + start, i - start);
	cmd->arg[i - start] = '\0';
	return IMAPD_LMTP_OK;
}

static int p_mail(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err)
{
	return p_path(args, n, "FROM:", cmd, err);
}

static int p_rcpt(const char *args, size_t n, imapd_lmtp_cmd *cmd, cm_err *err)
{
	int r = p_path(args, n, "TO:", cmd, err);
	if (r == IMAPD_LMTP_OK && cmd->arg[0] == '\0')
		return syntax(err, "RCPT TO:<> names nobody");
	return r;
}

/* ---- the verb ---- */

static const struct {
	const char *name;
	imapd_lmtp_verb verb;
	parse_fn *args;
} verbs[] = {
	{"LHLO", IMAPD_LMTP_LHLO, p_lhlo}, {"MAIL", IMAPD_LMTP_MAIL, p_mail},
	{"RCPT", IMAPD_LMTP_RCPT, p_rcpt}, {"DATA", IMAPD_LMTP_DATA, p_none},
	{"RSET", IMAPD_LMTP_RSET, p_none}, {"NOOP", IMAPD_LMTP_NOOP, p_any},
	{"QUIT", IMAPD_LMTP_QUIT, p_none}, {"VRFY", IMAPD_LMTP_VRFY, p_vrfy},
	{"HELO", IMAPD_LMTP_HELO, p_any}, {"EHLO", IMAPD_LMTP_HELO, p_any},
	{"EXPN", IMAPD_LMTP_NOTIMPL, p_any}, {"HELP", IMAPD_LMTP_NOTIMPL, p_any},
};

int imapd_lmtp_parse(const char *line, size_t len, imapd_lmtp_cmd *cmd_r, cm_err *err)
{
	assert(line != NULL || len == 0);
	memset(cmd_r, 0, sizeof(*cmd_r));
	/* Trailing blanks are forgiven: "DATA " is still DATA. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	size_t k = 0;
	while (k < CM_ARRAY_LEN(verbs) &&
	       (vlen != 4 || strncasecmp(line, verbs[k].name, 4) != 0))
		k++;
	if (k == CM_ARRAY_LEN(verbs)) {
		cm_err_set(err, "unknown command");
		return IMAPD_LMTP_UNKNOWN;
	}
	size_t bad = first_control(line, len);
	if (bad < len)
		return syntax(err, "control or 8-bit byte at byte %zu of the line", bad);
	const char *args = vlen < len ? line + vlen + 1 : line + len;
	int r = verbs[k].args(args, len - (size_t)(args - line), cmd_r, err);
	if (r != IMAPD_LMTP_OK) {
		memset(cmd_r, 0, sizeof(*cmd_r));
		return r;
	}
	cmd_r->verb = verbs[k].verb;
	return IMAPD_LMTP_OK;
}

/* ---- recipients ---- */

int imapd_lmtp_recipient(const char *user, const char *path,
			 char mailbox_r[MODEL_NAME_MAX])
{
	assert(user != NULL && path != NULL);
	mailbox_r[0] = '\0';
	/* A source route, "@a,@b:", comes before the mailbox (RFC 5321 4.1.2). */
	if (path[0] == '@') {
		const char *colon = strchr(path, ':');
		path = colon != NULL ? colon + 1 : path + strlen(path);
	}
	const char *at = strrchr(path, '@');
	size_t local = at != NULL ? (size_t)(at - path) : strlen(path);
	size_t ulen = strlen(user);
	if (ulen == 0 || local < ulen || memcmp(path, user, ulen) != 0)
		return IMAPD_LMTP_RCPT_USER;
	if (local == ulen) {
		snprintf(mailbox_r, MODEL_NAME_MAX, "INBOX");
		return IMAPD_LMTP_RCPT_OK;
	}
	if (path[ulen] != '+')
		return IMAPD_LMTP_RCPT_USER;
	size_t name = local - ulen - 1;
	if (name == 0 || name >= MODEL_NAME_MAX)
		return IMAPD_LMTP_RCPT_MAILBOX;
	memcpy(mailbox_r, path + ulen + 1, name);
	mailbox_r[name] = '\0';
	return IMAPD_LMTP_RCPT_OK;
}
