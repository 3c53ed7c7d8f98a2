/* The incremental parser: buffers bytes until the framer sees a whole
 * response, parses it into the one reused response object and hands it
 * to the callback. Complete responses inside a fed chunk are parsed in
 * place; only an incomplete tail is copied into the parser's buffer. */
#include "imapc_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct imapc_parser {
	imapc_limits lim;
	imapc_framer fr;
	cm_buf in;               /* the incomplete response so far */
	imapc_response resp;
	uint64_t in_offset;      /* stream offset of in.data[0] */
	uint64_t count;
	uint64_t since_n, since_bytes; /* since the last tagged reply */
	bool failed;
	char err[320];
	char evidence[IMAPC_EVIDENCE_MAX]; /* the failing response's first bytes */
	size_t n_evidence;
};

imapc_parser *imapc_parser_new(const imapc_limits *lim)
{
	imapc_parser *p = cm_xcalloc(1, sizeof(*p));
	imapc_limits_resolve(&p->lim, lim);
	imapc_framer_init(&p->fr, &p->lim);
	imapc_response_init_(&p->resp);
	return p;
}

void imapc_parser_free(imapc_parser *p)
{
	if (p == NULL)
		return;
	imapc_framer_free(&p->fr);
	imapc_response_fini_(&p->resp);
	cm_buf_free(&p->in);
	free(p);
}

const char *imapc_parser_error(const imapc_parser *p)
{
	return p->failed ? p->err : NULL;
}

const char *imapc_parser_evidence(const imapc_parser *p, size_t *len_r)
{
	*len_r = p->failed ? p->n_evidence : 0;
	return p->evidence;
}

size_t imapc_parser_pending(const imapc_parser *p)
{
	return p->in.len;
}

uint64_t imapc_parser_count(const imapc_parser *p)
{
	return p->count;
}

static int parser_fail(imapc_parser *p, uint64_t at, const char *what)
{
	p->failed = true;
	snprintf(p->err, sizeof(p->err),
		 "imapc: %s (response #%" PRIu64 " at stream byte %" PRIu64 ")",
		 what, p->count + 1, at);
	return -1;
}

/* Counts p->resp (rl bytes) against the budget between tagged replies
 * (imapc_limits.max_untagged, max_between). */
static bool within_budget(imapc_parser *p, size_t rl, char *err, size_t errsz)
{
	if (p->resp.kind == IMAPC_TAGGED) {
		p->since_n = p->since_bytes = 0;
		return true;
	}
	p->since_n++;
	p->since_bytes += rl;
	if (p->since_n > p->lim.max_untagged) {
		snprintf(err, errsz, "response budget exceeded: more than %zu untagged "
			 "responses or continuations without a tagged reply",
			 p->lim.max_untagged);
		return false;
	}
	if (p->since_bytes > p->lim.max_between) {
		snprintf(err, errsz, "response budget exceeded: more than %" PRIu64
			 " bytes without a tagged reply", p->lim.max_between);
		return false;
	}
	return true;
}

/* Keeps the first bytes of the response an error was found in. */
static void keep_evidence(imapc_parser *p, const char *resp, size_t avail)
{
	p->n_evidence = CM_MIN(avail, sizeof(p->evidence));
	memcpy(p->evidence, resp, p->n_evidence);
}

/* Frames and parses every whole response in buf; *used gets the bytes
 * consumed. 0, or -1 on error. */
static int parse_buffer(imapc_parser *p, const char *buf, size_t len,
			uint64_t offset, size_t *used, imapc_response_fn *fn,
			void *ctx)
{
	char err[256];
	size_t off = 0;
	*used = 0;
	while (off < len) {
		size_t rl;
		int rc = imapc_framer_next(&p->fr, buf + off, len - off, &rl, err,
					   sizeof(err));
		if (rc < 0) {
			keep_evidence(p, buf + off, len - off);
			return parser_fail(p, offset + off, err);
		}
		if (rc == 0)
			break;
		if (!imapc_parse_response_(&p->resp, buf + off, rl, p->fr.lits,
					   p->fr.n_lits, &p->lim, err, sizeof(err))) {
			keep_evidence(p, buf + off, rl);
			return parser_fail(p, offset + off, err);
		}
		if (!within_budget(p, rl, err, sizeof(err))) {
			keep_evidence(p, buf + off, rl);
			return parser_fail(p, offset + off, err);
		}
		p->resp.index = p->count;
		p->resp.offset = offset + off;
		imapc_framer_reset(&p->fr);
		off += rl;
		*used = off;
		p->count++;
		if (fn != NULL && fn(ctx, &p->resp) != 0) {
			p->failed = true;
			snprintf(p->err, sizeof(p->err), "imapc: stopped by the callback");
			return -1;
		}
	}
	return 0;
}

int imapc_parser_feed(imapc_parser *p, const void *data, size_t len,
		      imapc_response_fn *fn, void *ctx)
{
	size_t used;
	if (p->failed)
		return -1;
	if (p->in.len == 0) {
		/* Nothing pending: parse the caller's bytes where they are. */
		if (parse_buffer(p, data, len, p->in_offset, &used, fn, ctx) < 0)
			return -1;
		cm_buf_append(&p->in, (const char *)data + used, len - used);
		p->in_offset += used;
		return 0;
	}
	cm_buf_append(&p->in, data, len);
	if (parse_buffer(p, p->in.data, p->in.len, p->in_offset, &used, fn, ctx) < 0)
		return -1;
	memmove(p->in.data, p->in.data + used, p->in.len - used);
	p->in.len -= used;
	p->in.data[p->in.len] = '\0';
	p->in_offset += used;
	if (p->in.len == 0 && p->in.cap > (1u << 20))
		cm_buf_free(&p->in);  /* a huge literal is gone: give it back */
	return 0;
}

bool imapc_parse_all(const void *data, size_t len, const imapc_limits *lim,
		     imapc_response_fn *fn, void *ctx, cm_err *err)
{
	imapc_parser *p = imapc_parser_new(lim);
	bool ok = imapc_parser_feed(p, data, len, fn, ctx) == 0;
	if (ok && p->in.len > 0) {
		snprintf(p->err, sizeof(p->err),
			 "imapc: truncated: %zu bytes of an incomplete response at the end",
			 p->in.len);
		ok = false;
	}
	if (!ok && err != NULL)
		snprintf(err->text, sizeof(err->text), "%.250s", p->err);
	imapc_parser_free(p);
	return ok;
}
