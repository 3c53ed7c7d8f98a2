/* The LMTP/SMTP reply parser (RFC 5321 §4.2):
 *
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                Reply-code [ SP textstring ] CRLF
 *
 * Bytes are taken one line at a time into a fixed buffer; a NUL and the
 * length limit are checked as each byte arrives, the syntax when its line
 * ends, so the first error is the same however the stream is split. */
#include "lmtpc.h"

#include <stdlib.h>
#include <string.h>

struct lmtpc_parser {
	char line[LMTPC_LINE_MAX];  /* the line so far, without its LF */
	size_t llen;
	uint64_t offset;            /* stream offset of the line's first byte */
	uint64_t lineno;            /* 1-based number of the current line */
	/* the reply so far */
	int code;
	unsigned nlines;
	size_t reply_bytes;         /* bytes of its lines so far, line ends too */
	cm_buf lines;               /* texts joined by '\n' */
	size_t last_off;            /* where the last line's text starts */
	bool dead;
	char error[600];
};

lmtpc_parser *lmtpc_parser_new(void)
{
	lmtpc_parser *p = cm_xcalloc(1, sizeof(*p));
	p->lineno = 1;
	return p;
}

void lmtpc_parser_free(lmtpc_parser *p)
{
	if (p == NULL)
		return;
	cm_buf_free(&p->lines);
	free(p);
}

size_t lmtpc_parser_pending(const lmtpc_parser *p)
{
	return p->reply_bytes + p->llen;
}

/* Kills the stream with "what" at the current line. */
static int fail(lmtpc_parser *p, const char *what, cm_err *err)
{
	char shown[80];
	cm_escape(shown, sizeof(shown), p->line, CM_MIN(p->llen, 40));
	snprintf(p->error, sizeof(p->error),
		 "lmtpc: reply line %llu (byte %llu): %s: \"%s\"",
		 (unsigned long long)p->lineno, (unsigned long long)p->offset, what, shown);
	p->dead = true;
	return cm_err_set(err, "%s", p->error);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One whole line (p->line, CR dropped): adds it to the reply, and calls fn
 * when it was the last. 0, 1 when fn stopped, -1 on bad syntax. */
static int end_line(lmtpc_parser *p, lmtpc_reply_fn *fn, void *ctx, cm_err *err)
{
	const char *s = p->line;
	size_t n = p->llen;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n < 3 || s[0] < '2' || s[0] > '5' || !is_digit(s[1]) || !is_digit(s[2]))
		return fail(p, "code not 3 digits 2xx-5xx", err);
	if (n > 3 && s[3] != ' ' && s[3] != '-')
		return fail(p, "no space or hyphen after the code", err);
	int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (p->nlines > 0 && code != p->code) {
		char what[80];
		snprintf(what, sizeof(what), "mixed codes in a multi-line reply (%d then %d)",
			 p->code, code);
		return fail(p, what, err);
	}
	if (p->nlines >= LMTPC_LINES_MAX) {
		char what[80];
		snprintf(what, sizeof(what), "more than %d lines in one reply", LMTPC_LINES_MAX);
		return fail(p, what, err);
	}
	bool more = n > 3 && s[3] == '-';
	if (p->nlines > 0)
		cm_buf_putc(&p->lines, '\n');
	p->code = code;
	p->nlines++;
	p->last_off = p->lines.len;
	if (n > 4)
		cm_buf_append(&p->lines, s + 4, n - 4);
	p->reply_bytes += p->llen + 1;
	if (more)
		return 0;
	lmtpc_reply r = {
		.code = code, .text = p->lines.data ? p->lines.data + p->last_off : "",
		.text_len = p->lines.len - p->last_off, .nlines = p->nlines,
		.lines = p->lines.data ? p->lines.data : "", .lines_len = p->lines.len,
	};
	int stop = fn != NULL ? fn(ctx, &r) : 0;
	cm_buf_clear(&p->lines);
	p->reply_bytes = 0;
	p->nlines = 0;
	p->code = 0;
	return stop != 0 ? 1 : 0;
}

int lmtpc_parser_feed(lmtpc_parser *p, const void *data, size_t len,
		      lmtpc_reply_fn *fn, void *ctx, cm_err *err)
{
	if (p->dead)
		return cm_err_set(err, "%s", p->error);
	const char *in = data;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == '\n') {
			int rc = end_line(p, fn, ctx, err);
			if (rc < 0)
				return -1;
			p->offset += p->llen + 1;
			p->lineno++;
			p->llen = 0;
			if (rc > 0) {
				p->dead = true;
				snprintf(p->error, sizeof(p->error), "lmtpc: stopped by the caller");
				return 0;
			}
			continue;
		}
		if (ch == '\0') {
			p->line[p->llen] = ch; /* shown in the error */
			p->llen++;
			return fail(p, "NUL byte", err);
		}
		if (p->llen + 1 >= LMTPC_LINE_MAX) {
			char what[80];
			snprintf(what, sizeof(what), "line longer than %d bytes", LMTPC_LINE_MAX);
			return fail(p, what, err);
		}
		p->line[p->llen++] = ch;
	}
	return 0;
}
