/* Framing: finds where a response ends. A response is a line, and when the
 * line ends in "{n}" (or "~{n}") n bytes of literal and then another line,
 * and so on. Every limit is checked here, before the parser allocates, so a
 * hostile length can never make us buffer more than the limits allow. */
#include "imapc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void imapc_limits_resolve(imapc_limits *out, const imapc_limits *in)
{
	imapc_limits l = {0};
	if (in != NULL)
		l = *in;
	if (l.max_line == 0)
		l.max_line = 4u << 20;
	if (l.max_literal == 0)
		l.max_literal = 64u << 20;
	if (l.max_response == 0)
		l.max_response = CM_MAX(128u << 20, l.max_literal + l.max_line);
	if (l.max_depth == 0)
		l.max_depth = 256;
	if (l.max_items == 0)
		l.max_items = 2000000;
	if (l.max_literals == 0)
		l.max_literals = 4096;
	if (l.max_untagged == 0)
		l.max_untagged = 200000;
	if (l.max_between == 0)
		l.max_between = (uint64_t)1 << 30;
	*out = l;
}

void imapc_framer_init(imapc_framer *f, const imapc_limits *lim)
{
	memset(f, 0, sizeof(*f));
	imapc_limits_resolve(&f->lim, lim);
}

void imapc_framer_free(imapc_framer *f)
{
	free(f->lits);
	f->lits = NULL;
	f->n_lits = f->cap_lits = 0;
}

void imapc_framer_reset(imapc_framer *f)
{
	f->line_start = f->scan = f->lit_end = 0;
	f->in_literal = false;
	f->n_lits = 0;
}

/* If the line [s, s+len) ends in "{digits}", the declared size, else -1.
 * -2 when the digits overflow (reported as a too-big literal). */
static int64_t literal_size(const char *s, size_t len)
{
	if (len < 3 || s[len - 1] != '}')
		return -1;
	size_t i = len - 1;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	size_t digits = len - 1 - i;
	if (digits == 0 || i == 0 || s[i - 1] != '{')
		return -1;
	if (digits > 18)
		return -2;
	int64_t n = 0;
	for (size_t k = i; k < len - 1; k++)
		n = n * 10 + (s[k] - '0');
	return n;
}

__attribute__((format(printf, 4, 5)))
static int frame_fail(char *err, size_t errsz, size_t at, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errsz, "%s at offset %zu of the response", what, at);
	return -1;
}

static int add_literal(imapc_framer *f, size_t eol, int64_t n, char *err,
		       size_t errsz)
{
	if (n == -2)
		return frame_fail(err, errsz, eol, "literal size has too many digits");
	if ((uint64_t)n > f->lim.max_literal)
		return frame_fail(err, errsz, eol, "literal of %llu bytes exceeds the limit of %llu",
				  (unsigned long long)n,
				  (unsigned long long)f->lim.max_literal);
	if ((uint64_t)eol + 1 + (uint64_t)n > f->lim.max_response)
		return frame_fail(err, errsz, eol, "response of %llu bytes exceeds the limit of %llu",
				  (unsigned long long)eol + 1 + (uint64_t)n,
				  (unsigned long long)f->lim.max_response);
	if (f->n_lits >= f->lim.max_literals)
		return frame_fail(err, errsz, eol, "more than %zu literals in one response",
				  f->lim.max_literals);
	CM_GROW(f->lits, f->cap_lits, f->n_lits + 1);
	f->lits[f->n_lits].off = eol + 1;
	f->lits[f->n_lits].len = (size_t)n;
	f->n_lits++;
	f->in_literal = true;
	f->lit_end = eol + 1 + (size_t)n;
	return 0;
}

int imapc_framer_next(imapc_framer *f, const char *buf, size_t len,
		      size_t *resp_len, char *err, size_t errsz)
{
	for (;;) {
		if (f->in_literal) {
			if (len < f->lit_end)
				return 0;
			f->in_literal = false;
			f->line_start = f->scan = f->lit_end;
			continue;
		}
		const char *from = buf + f->scan;
		const char *nl = memchr(from, '\n', len - f->scan);
		size_t stop = nl ? (size_t)(nl - buf) : len;
		const char *nul = memchr(from, '\0', stop - f->scan);
		if (nul != NULL)
			return frame_fail(err, errsz, (size_t)(nul - buf),
					  "NUL byte in a line");
		if (stop - f->line_start > f->lim.max_line)
			return frame_fail(err, errsz, f->line_start,
					  "line longer than %zu bytes",
					  f->lim.max_line);
		if ((uint64_t)stop + 1 > f->lim.max_response)
			return frame_fail(err, errsz, f->line_start,
					  "response longer than %llu bytes",
					  (unsigned long long)f->lim.max_response);
		if (nl == NULL) {
			f->scan = len;
			return 0;
		}
		size_t eol = stop;
		size_t content = eol - f->line_start;
		if (content > 0 && buf[eol - 1] == '\r')
			content--;
		if (content == 0 && f->line_start == 0)
			return frame_fail(err, errsz, 0, "empty line");
		int64_t n = literal_size(buf + f->line_start, content);
		if (n == -1) {
			*resp_len = eol + 1;
			return 1;
		}
		if (add_literal(f, eol, n, err, errsz) < 0)
			return -1;
	}
}
