/* Tokens of one complete, framed response. Every read is bounded by
 * l->end; a literal is accepted only where the framer found one, so the
 * lexer and the framer can never disagree about where bytes belong. */
#include "imapc_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool imapc_lex_fail(imapc_lex *l, const char *fmt, ...)
{
	if (l->err[0] != '\0')
		return false;  /* keep the first, most specific error */
	char what[128], near[100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	size_t n = 0;
	/* Up to 20 bytes, each at most 4 characters ("\xff"). */
	for (const char *q = l->p; q < l->end && q < l->p + 20; q++) {
		unsigned char c = (unsigned char)*q;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			near[n++] = (char)c;
		else
			n += (size_t)snprintf(near + n, 5, "\\x%02x", c);
	}
	near[n] = '\0';
	if (l->p >= l->end)
		snprintf(l->err, l->errsz, "%s at offset %zu (end of line)", what,
			 (size_t)(l->p - l->base));
	else
		snprintf(l->err, l->errsz, "%s at offset %zu near \"%s\"", what,
			 (size_t)(l->p - l->base), near);
	return false;
}

bool imapc_lex_count(imapc_lex *l)
{
	if (++l->items > l->lim->max_items)
		return imapc_lex_fail(l, "more than %zu items", l->lim->max_items);
	return true;
}

bool imapc_lex_char(imapc_lex *l, char c)
{
	if (imapc_lex_peek(l) != (unsigned char)c)
		return imapc_lex_fail(l, "expected '%c'", c);
	l->p++;
	return true;
}

/* Servers send one space; a few send two. Accepting runs costs nothing. */
bool imapc_lex_sp(imapc_lex *l)
{
	if (imapc_lex_peek(l) != ' ')
		return imapc_lex_fail(l, "expected a space");
	while (l->p < l->end && *l->p == ' ')
		l->p++;
	return true;
}

bool imapc_lex_try_sp(imapc_lex *l)
{
	int c = imapc_lex_peek(l);
	if (c == ')' || c < 0)
		return true;
	return imapc_lex_sp(l);
}

bool imapc_lex_end(imapc_lex *l)
{
	while (l->p < l->end && *l->p == ' ')
		l->p++;
	if (l->p < l->end)
		return imapc_lex_fail(l, "unexpected data at the end");
	return true;
}

static bool lex_run(imapc_lex *l, imapc_str *out, bool bracket_ok,
		    const char *what)
{
	const char *s = l->p;
	while (l->p < l->end && (imap_atom_char((unsigned char)*l->p) ||
				 (bracket_ok && *l->p == ']')))
		l->p++;
	if (l->p == s)
		return imapc_lex_fail(l, "expected %s", what);
	out->p = s;
	out->len = (size_t)(l->p - s);
	return imapc_lex_count(l);
}

bool imapc_lex_atom(imapc_lex *l, imapc_str *out)
{
	return lex_run(l, out, false, "an atom");
}

bool imapc_lex_astring_chars(imapc_lex *l, imapc_str *out)
{
	return lex_run(l, out, true, "an astring");
}

bool imapc_lex_number64(imapc_lex *l, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = l->p;
	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		uint64_t d = (uint64_t)(*l->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return imapc_lex_fail(l, "number overflows 64 bits");
		v = v * 10 + d;
		l->p++;
	}
	if (l->p == s)
		return imapc_lex_fail(l, "expected a number");
	*out = v;
	return imapc_lex_count(l);
}

bool imapc_lex_number(imapc_lex *l, uint32_t *out)
{
	const char *s = l->p;
	uint64_t v = 0;
	if (!imapc_lex_number64(l, &v))
		return false;
	if (v > UINT32_MAX) {
		l->p = s;
		return imapc_lex_fail(l, "number overflows 32 bits");
	}
	*out = (uint32_t)v;
	return true;
}

/* Unescaped copies go to scratch, reserved once for the whole response so
 * that it never moves while views into it exist. */
static bool unescape(imapc_lex *l, const char *s, const char *e, imapc_str *out)
{
	if (!*l->scratch_ready) {
		cm_buf_clear(l->scratch);
		cm_buf_reserve(l->scratch, l->raw_len);
		*l->scratch_ready = true;
	}
	if (l->scratch->len + (size_t)(e - s) + 1 > l->scratch->cap)
		return imapc_lex_fail(l, "internal: scratch space exhausted");
	char *d = l->scratch->data + l->scratch->len;
	size_t n = 0;
	for (const char *q = s; q < e; q++) {
		if (*q == '\\')
			q++;
		d[n++] = *q;
	}
	d[n] = '\0';
	l->scratch->len += n;
	out->p = d;
	out->len = n;
	return true;
}

bool imapc_lex_quoted(imapc_lex *l, imapc_str *out)
{
	if (!imapc_lex_char(l, '"'))
		return false;
	const char *s = l->p;
	bool esc = false;
	while (l->p < l->end && *l->p != '"') {
		char c = *l->p;
		if (c == '\r' || c == '\n')
			return imapc_lex_fail(l, "line break in a quoted string");
		if (c == '\\') {
			esc = true;
			l->p++;
			if (l->p >= l->end || (*l->p != '"' && *l->p != '\\'))
				return imapc_lex_fail(l, "bad escape in a quoted string");
		}
		l->p++;
	}
	if (l->p >= l->end)
		return imapc_lex_fail(l, "unterminated quoted string");
	const char *e = l->p++;
	if (!imapc_lex_count(l))
		return false;
	if (out == NULL)
		return true;
	if (!esc) {
		out->p = s;
		out->len = (size_t)(e - s);
		return true;
	}
	return unescape(l, s, e, out);
}

bool imapc_lex_literal(imapc_lex *l, imapc_str *out, bool *lit8)
{
	bool eight = false;
	if (imapc_lex_peek(l) == '~') {
		eight = true;
		l->p++;
	}
	uint64_t n;
	if (!imapc_lex_char(l, '{') || !imapc_lex_number64(l, &n) ||
	    !imapc_lex_char(l, '}'))
		return false;
	if (l->p < l->end && *l->p == '\r')
		l->p++;
	if (l->p >= l->end || *l->p != '\n')
		return imapc_lex_fail(l, "literal not at the end of a line");
	l->p++;
	size_t at = (size_t)(l->p - l->base);
	if (l->lit_i >= l->n_lits || l->lits[l->lit_i].off != at ||
	    l->lits[l->lit_i].len != n)
		return imapc_lex_fail(l, "literal out of place");
	l->lit_i++;
	out->p = l->p;
	out->len = (size_t)n;
	l->p += n;
	if (lit8 != NULL)
		*lit8 = eight;
	return true;
}

static bool at_literal(const imapc_lex *l)
{
	int c = imapc_lex_peek(l);
	return c == '{' || (c == '~' && l->p + 1 < l->end && l->p[1] == '{');
}

bool imapc_lex_string(imapc_lex *l, imapc_str *out)
{
	if (imapc_lex_peek(l) == '"')
		return imapc_lex_quoted(l, out);
	if (at_literal(l))
		return imapc_lex_literal(l, out, NULL);
	return imapc_lex_fail(l, "expected a string");
}

bool imapc_lex_astring(imapc_lex *l, imapc_str *out)
{
	if (imapc_lex_peek(l) == '"' || at_literal(l))
		return imapc_lex_string(l, out);
	return imapc_lex_astring_chars(l, out);
}

bool imapc_lex_is_nil(const imapc_lex *l)
{
	return l->end - l->p >= 3 && strncasecmp(l->p, "NIL", 3) == 0 &&
	       (l->end - l->p == 3 || !imap_atom_char((unsigned char)l->p[3]));
}

bool imapc_lex_nstring(imapc_lex *l, imapc_str *out, bool *nil, bool *lit8)
{
	*nil = false;
	if (lit8 != NULL)
		*lit8 = false;
	if (imapc_lex_is_nil(l)) {
		l->p += 3;
		*nil = true;
		out->p = l->p;
		out->len = 0;
		return imapc_lex_count(l);
	}
	if (imapc_lex_peek(l) == '"')
		return imapc_lex_quoted(l, out);
	if (at_literal(l))
		return imapc_lex_literal(l, out, lit8);
	return imapc_lex_fail(l, "expected a string or NIL");
}

/* Any token that is not a list, a string or a literal. */
static bool skip_token(imapc_lex *l)
{
	const char *s = l->p;
	while (l->p < l->end) {
		unsigned char c = (unsigned char)*l->p;
		if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '"' ||
		    c == '{')
			break;
		l->p++;
	}
	if (l->p == s)
		return imapc_lex_fail(l, "unexpected character");
	return imapc_lex_count(l);
}

/* Iterative, so a nesting bomb costs a counter, not the stack. */
bool imapc_lex_skip_value(imapc_lex *l)
{
	unsigned depth = 0;
	for (;;) {
		int c = imapc_lex_peek(l);
		bool ok;
		if (c < 0)
			return imapc_lex_fail(l, depth ? "unbalanced parentheses"
						       : "expected a value");
		if (c == '(') {
			if (++depth > l->lim->max_depth)
				return imapc_lex_fail(l, "nesting deeper than %u",
						      l->lim->max_depth);
			l->p++;
			if (!imapc_lex_count(l))
				return false;
			continue;
		}
		if (c == ' ' && depth > 0) {
			l->p++;
			continue;
		}
		if (c == ')') {
			if (depth == 0)
				return imapc_lex_fail(l, "unexpected ')'");
			depth--;
			l->p++;
			ok = true;
		} else if (c == '"') {
			ok = imapc_lex_quoted(l, NULL);
		} else if (at_literal(l)) {
			imapc_str s;
			ok = imapc_lex_literal(l, &s, NULL);
		} else {
			ok = skip_token(l);
		}
		if (!ok)
			return false;
		if (depth == 0)
			return true;
	}
}

bool imapc_lex_section(imapc_lex *l, imapc_str *out)
{
	unsigned depth = 0;
	if (!imapc_lex_char(l, '['))
		return false;
	const char *s = l->p;
	for (;;) {
		int c = imapc_lex_peek(l);
		imapc_str lit;
		if (c < 0)
			return imapc_lex_fail(l, "unterminated section");
		if (c == ']' && depth == 0)
			break;
		if (c == '"') {
			if (!imapc_lex_quoted(l, NULL))
				return false;
		} else if (at_literal(l)) {
			if (!imapc_lex_literal(l, &lit, NULL))
				return false;
		} else if (c == '(') {
			if (++depth > l->lim->max_depth)
				return imapc_lex_fail(l, "nesting deeper than %u",
						      l->lim->max_depth);
			l->p++;
		} else if (c == ')') {
			if (depth == 0)
				return imapc_lex_fail(l, "unexpected ')' in a section");
			depth--;
			l->p++;
		} else if (c == '\r' || c == '\n') {
			return imapc_lex_fail(l, "line break in a section");
		} else {
			l->p++;
		}
	}
	out->p = s;
	out->len = (size_t)(l->p - s);
	l->p++;
	return imapc_lex_count(l);
}

void imapc_lex_rest(imapc_lex *l, imapc_str *out)
{
	out->p = l->p;
	out->len = (size_t)(l->end - l->p);
	l->p = l->end;
}

/* flag = "\" atom / atom, and "\*" in PERMANENTFLAGS. */
bool imapc_lex_flag(imapc_lex *l, imapc_str *out)
{
	const char *s = l->p;
	if (imapc_lex_peek(l) == '\\') {
		l->p++;
		if (imapc_lex_peek(l) == '*') {
			l->p++;
			out->p = s;
			out->len = 2;
			return imapc_lex_count(l);
		}
	}
	while (l->p < l->end && imap_atom_char((unsigned char)*l->p))
		l->p++;
	if (l->p == s || (l->p == s + 1 && *s == '\\')) {
		l->p = s;
		return imapc_lex_fail(l, "expected a flag");
	}
	out->p = s;
	out->len = (size_t)(l->p - s);
	return imapc_lex_count(l);
}
