/* The lexical layer of the command parser (RFC 3501 section 9): atoms,
 * strings, literals, numbers, sequence sets and flags over one complete
 * command. Strict where ambiguity could hide a bug (one space between
 * tokens, no NUL outside literals), lenient with 8-bit text in quoted
 * strings (UTF-8 clients send it). */
#include "imapd_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool imapd_lx_fail(imapd_lx *l, const char *fmt, ...)
{
	if (!l->failed && l->err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->err->text, sizeof(l->err->text), fmt, ap);
		va_end(ap);
	}
	l->failed = true;
	return false;
}

bool imapd_lx_eol(const imapd_lx *l)
{
	return l->p >= l->end;
}

int imapd_lx_peek(const imapd_lx *l)
{
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

bool imapd_lx_accept(imapd_lx *l, char c)
{
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return true;
	}
	return false;
}

bool imapd_lx_char(imapd_lx *l, char c)
{
	if (imapd_lx_accept(l, c))
		return true;
	if (c == ' ')
		return imapd_lx_fail(l, "Missing argument");
	if (c == '\r' || c == '\n')
		return imapd_lx_fail(l, "Expected CRLF after a literal");
	return imapd_lx_fail(l, "Expected '%c'", c);
}

bool imapd_lx_sp(imapd_lx *l)
{
	return imapd_lx_char(l, ' ');
}

bool imapd_lx_end(imapd_lx *l)
{
	if (l->p == l->end)
		return true;
	return imapd_lx_fail(l, "Unexpected extra arguments");
}

bool imapd_lx_atom(imapd_lx *l, bool bracket, const char **s, size_t *n)
{
	const char *start = l->p;
	while (l->p < l->end &&
	       (imap_atom_char((unsigned char)*l->p) || (bracket && *l->p == ']')))
		l->p++;
	if (l->p == start)
		return imapd_lx_fail(l, "Expected an atom");
	*s = start;
	*n = (size_t)(l->p - start);
	return true;
}

bool imapd_lx_kw(imapd_lx *l, const char *kw)
{
	size_t n = strlen(kw);
	if ((size_t)(l->end - l->p) < n || strncasecmp(l->p, kw, n) != 0)
		return false;
	if (l->p + n < l->end && imap_atom_char((unsigned char)l->p[n]))
		return false; /* a longer atom */
	l->p += n;
	return true;
}

static bool put_bytes(imapd_lx *l, char *out, size_t cap, size_t *len_r,
		      const char *s, size_t n)
{
	if (memchr(s, '\0', n) != NULL)
		return imapd_lx_fail(l, "NUL byte in a string");
	if (n >= cap)
		return imapd_lx_fail(l, "String too long");
	memcpy(out, s, n);
	out[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return true;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE, unescaped into out. */
static bool lx_quoted(imapd_lx *l, char *out, size_t cap, size_t *len_r)
{
	size_t n = 0;
	l->p++; /* the opening quote */
	while (l->p < l->end && *l->p != '"') {
		unsigned char c = (unsigned char)*l->p++;
		if (c == '\\') {
			if (l->p == l->end || (*l->p != '"' && *l->p != '\\'))
				return imapd_lx_fail(l, "Bad escape in a quoted string");
			c = (unsigned char)*l->p++;
		} else if (c == '\0' || c == '\r' || c == '\n') {
			return imapd_lx_fail(l, "Bad byte in a quoted string");
		}
		if (n + 1 >= cap)
			return imapd_lx_fail(l, "String too long");
		out[n++] = (char)c;
	}
	if (!imapd_lx_accept(l, '"'))
		return imapd_lx_fail(l, "Unterminated quoted string");
	out[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return true;
}

bool imapd_lx_literal(imapd_lx *l, const char **data, size_t *len)
{
	uint64_t n = 0;
	if (!imapd_lx_char(l, '{') || !imapd_lx_number(l, IMAPD_LITERAL_MAX, &n))
		return imapd_lx_fail(l, "Bad literal");
	imapd_lx_accept(l, '+');
	if (!imapd_lx_char(l, '}') || !imapd_lx_char(l, '\r') || !imapd_lx_char(l, '\n'))
		return imapd_lx_fail(l, "Bad literal");
	if ((uint64_t)(l->end - l->p) < n)
		return imapd_lx_fail(l, "Literal longer than the command");
	*data = l->p;
	*len = (size_t)n;
	l->p += n;
	return true;
}

bool imapd_lx_string(imapd_lx *l, char *out, size_t cap, size_t *len_r)
{
	int c = imapd_lx_peek(l);
	if (c == '"')
		return lx_quoted(l, out, cap, len_r);
	if (c == '{') {
		const char *s;
		size_t n;
		return imapd_lx_literal(l, &s, &n) && put_bytes(l, out, cap, len_r, s, n);
	}
	return imapd_lx_fail(l, "Expected a string");
}

bool imapd_lx_astring(imapd_lx *l, char *out, size_t cap, size_t *len_r)
{
	int c = imapd_lx_peek(l);
	if (c == '"' || c == '{')
		return imapd_lx_string(l, out, cap, len_r);
	const char *s = NULL;
	size_t n = 0;
	return imapd_lx_atom(l, true, &s, &n) && put_bytes(l, out, cap, len_r, s, n);
}

bool imapd_lx_number(imapd_lx *l, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	const char *start = l->p;
	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		unsigned d = (unsigned)(*l->p - '0');
		if (x > (max - d) / 10)
			return imapd_lx_fail(l, "Number too large");
		x = x * 10 + d;
		l->p++;
	}
	if (l->p == start)
		return imapd_lx_fail(l, "Expected a number");
	*v = x;
	return true;
}

bool imapd_lx_seqset(imapd_lx *l, uint32_t star, cm_uidset *set, bool *star_r)
{
	const char *start = l->p;
	while (l->p < l->end && strchr("0123456789:*,", *l->p) != NULL && *l->p)
		l->p++;
	size_t n = (size_t)(l->p - start);
	bool has_star = memchr(start, '*', n) != NULL;
	if (n == 0)
		return imapd_lx_fail(l, "Expected a sequence set");
	if (has_star && star == 0)
		return imapd_lx_fail(l, "'*' in an empty mailbox");
	if (cm_uidset_parse(set, start, n, star) < 0)
		return imapd_lx_fail(l, "Invalid sequence set");
	if (star_r != NULL)
		*star_r = has_star;
	return true;
}

bool imapd_lx_flag(imapd_lx *l, cm_flags *flags)
{
	const char *start = l->p, *s;
	size_t n;
	imapd_lx_accept(l, '\\');
	if (!imapd_lx_atom(l, false, &s, &n))
		return imapd_lx_fail(l, "Invalid flag");
	n = (size_t)(l->p - start);
	/* A backslash names a system flag: never intern one as a keyword. */
	int bit = start[0] == '\\' ? cm_flag_lookup(start, n) : cm_flag_intern(start, n);
	if (bit == -2)
		return true; /* \Recent: not a client's to set (3501 2.3.2) */
	if (bit < 0 || (start[0] == '\\' && bit >= 5))
		return imapd_lx_fail(l, "Invalid flag, unknown system flag or too "
				     "many keywords");
	*flags |= (cm_flags)1 << bit;
	return true;
}

bool imapd_lx_flag_list(imapd_lx *l, cm_flags *flags)
{
	*flags = 0;
	if (!imapd_lx_char(l, '('))
		return false;
	if (imapd_lx_accept(l, ')'))
		return true;
	do {
		if (!imapd_lx_flag(l, flags))
			return false;
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_char(l, ')');
}

bool imapd_lx_mailbox(imapd_lx *l, char out[MODEL_NAME_MAX])
{
	size_t n;
	if (!imapd_lx_astring(l, out, MODEL_NAME_MAX, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		/* Control bytes are never names (the connection relies on it). */
		if (c < 0x20 || c == 0x7f)
			return imapd_lx_fail(l, "Control character in a mailbox name");
	}
	return true;
}
