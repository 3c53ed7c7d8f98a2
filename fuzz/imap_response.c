/* Fuzz target: the IMAP response parser and the connection above it, fed
 * by a hostile server. Nothing may crash, and:
 *
 *  1. The whole buffer (imapc_parse_all) and the same bytes fed in chunks
 *     (sizes drawn from the input itself) agree: same success, same dump of
 *     every response (dumps are canonical however the bytes were split).
 *  2. Once with small limits (so the limit paths are reached) and once with
 *     the defaults.
 *  3. Every accessor a caller uses on a parsed response runs on it:
 *     deep copy (whose dump must equal the original's), sequence-set
 *     positions, FETCH body and header look-ups, date parsing, capability
 *     tests.
 *  4. The connection (imapc_conn) over a socketpair, with three commands in
 *     flight (one with a synchronizing literal), reading the input as the
 *     server's bytes: each command gets exactly one done callback and the
 *     connection is closed exactly once.
 */
#include "fuzz.h"
#include "imapc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct collect {
	cm_buf dump;
	uint64_t n;
	uint64_t sink; /* keeps the accessors' results alive */
} collect;

static void touch_seqset(collect *c, const imapc_seqset *s)
{
	if (s->listed == 0)
		return;
	/* First, last and a middle member in written order. */
	c->sink += imapc_seqset_nth(s, 0);
	c->sink += imapc_seqset_nth(s, s->listed - 1);
	c->sink += imapc_seqset_nth(s, s->listed / 2);
	c->sink += cm_uidset_count(&s->set);
}

static void touch_fetch(collect *c, const imapc_fetch *f)
{
	const imapc_body *m = imapc_fetch_message(f);
	if (m != NULL)
		c->sink += m->data.len;
	const imapc_body *h = imapc_fetch_section(f, "HEADER.FIELDS (X-Ratchet-Id)");
	if (h != NULL)
		c->sink += h->hash;
	imapc_str v;
	if (imapc_fetch_header(f, "X-Ratchet-Id", &v)) {
		cm_buf unfolded = {0};
		imapc_header_unfold(v, &unfolded);
		c->sink += unfolded.len;
		cm_buf_free(&unfolded);
	}
	for (size_t i = 0; i < f->n_bodies; i++) {
		const imapc_body *b = &f->bodies[i];
		if (imapc_header_find(b->data.p, b->data.len, "Subject", &v))
			c->sink += v.len;
	}
	if (f->internaldate_raw.len > 0) {
		int64_t t;
		int32_t tz;
		if (imap_parse_date_time(f->internaldate_raw.p, f->internaldate_raw.len,
					  &t, &tz))
			c->sink += (uint64_t)t;
	}
}

static void touch(collect *c, const imapc_response *r)
{
	touch_seqset(c, &r->code.uids);
	touch_seqset(c, &r->code.dst);
	touch_seqset(c, &r->esearch.all);
	touch_seqset(c, &r->vanished.uids);
	c->sink += imapc_caps_has(&r->caps, "IMAP4rev1");
	c->sink += imapc_caps_has(&r->code.caps, "CONDSTORE");
	c->sink += imapc_type_is_status(r->type);
	c->sink += strlen(imapc_type_name(r->type)) + strlen(imapc_code_name(r->code.kind));
	if (r->type == IMAPC_T_FETCH)
		touch_fetch(c, &r->fetch);
	if (r->code.kind == IMAPC_CODE_CAPABILITY)
		for (size_t i = 0; i < r->code.caps.n; i++)
			c->sink += imapc_cap_bit(r->code.caps.names[i].p,
						 r->code.caps.names[i].len);
}

static int on_response(void *ctx, const imapc_response *r)
{
	collect *c = ctx;
	size_t before = c->dump.len;
	imapc_response_dump(r, &c->dump);
	cm_buf_putc(&c->dump, '\n');
	c->n++;
	touch(c, r);
	/* A deep copy outlives the parser and dumps the same. */
	imapc_response *d = imapc_response_dup(r);
	cm_buf again = {0};
	imapc_response_dump(d, &again);
	size_t len = c->dump.len - before - 1;
	FUZZ_ASSERT(again.len == len && (len == 0 || memcmp(again.data,
						c->dump.data + before, len) == 0),
		    "IMAPC-DUP", "a copy dumps differently from its original:\n%.*s\n%.*s",
		    (int)CM_MIN(len, 300), c->dump.data + before,
		    (int)CM_MIN(again.len, 300), again.data ? again.data : "");
	touch(c, d);
	cm_buf_free(&again);
	imapc_response_free(d);
	return 0;
}

/* Chunk sizes come from a cheap hash of the input, so the same input is
 * split the same way every time (reproducible), yet splits vary. */
static size_t next_chunk(uint64_t *h, size_t left)
{
	*h = *h * 6364136223846793005ULL + 1442695040888963407ULL;
	uint64_t x = *h >> 33;
	size_t n;
	switch (x & 3) {
	case 0: n = 1; break;                       /* byte at a time */
	case 1: n = 1 + (size_t)((x >> 2) % 7); break;
	case 2: n = 1 + (size_t)((x >> 2) % 64); break;
	default: n = 1 + (size_t)((x >> 2) % 4096); break;
	}
	return n < left ? n : left;
}

static void check_parse(const uint8_t *data, size_t size, const imapc_limits *lim)
{
	collect whole = {0}, chunked = {0};
	cm_err err;
	bool ok = imapc_parse_all(data, size, lim, on_response, &whole, &err);

	imapc_parser *p = imapc_parser_new(lim);
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ size;
	for (size_t i = 0; i < size && i < 16; i++)
		h = h * 31 + data[i];
	int rc = 0;
	for (size_t off = 0; off < size && rc == 0;) {
		size_t n = next_chunk(&h, size - off);
		rc = imapc_parser_feed(p, data + off, n, on_response, &chunked);
		off += n;
	}
	if (rc == 0 && imapc_parser_pending(p) > 0)
		rc = -1; /* an incomplete response at the end */
	bool cok = rc == 0;
	FUZZ_ASSERT(ok == cok, "IMAPC-SPLIT",
		    "whole buffer %s, chunked %s (%s)", ok ? "parses" : "fails",
		    cok ? "parses" : "fails",
		    ok ? (imapc_parser_error(p) ? imapc_parser_error(p) : "incomplete")
		       : err.text);
	if (ok) {
		FUZZ_ASSERT(whole.n == chunked.n && whole.dump.len == chunked.dump.len &&
				    (whole.dump.len == 0 ||
				     memcmp(whole.dump.data, chunked.dump.data,
					    whole.dump.len) == 0),
			    "IMAPC-SPLIT", "chunked parse differs: %llu vs %llu responses",
			    (unsigned long long)whole.n, (unsigned long long)chunked.n);
		FUZZ_ASSERT(imapc_parser_count(p) == whole.n, "IMAPC-COUNT",
			    "parser counted %llu responses, delivered %llu",
			    (unsigned long long)imapc_parser_count(p),
			    (unsigned long long)whole.n);
	} else {
		FUZZ_ASSERT(err.text[0] != '\0', "IMAPC-ERROR", "failure without a message");
	}
	/* The stream is dead after an error: feeding more must fail again. */
	if (!cok)
		FUZZ_ASSERT(imapc_parser_feed(p, "* OK\r\n", 6, on_response, &chunked) < 0 ||
				    imapc_parser_error(p) == NULL,
			    "IMAPC-DEAD", "a failed parser accepted more input");
	imapc_parser_free(p);
	cm_buf_free(&whole.dump);
	cm_buf_free(&chunked.dump);
}

/* ---- the connection ---- */

typedef struct conn_rec {
	unsigned done[3];
	unsigned closed;
	unsigned responses;
} conn_rec;

static void cb_response(void *ctx, imapc_conn *c, const imapc_response *r,
			const imapc_inflight *in, size_t n)
{
	conn_rec *x = ctx;
	(void)c;
	(void)r;
	x->responses++;
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(in[i].tag != NULL, "IMAPC-INFLIGHT", "in-flight command without tag");
}

static void cb_done(void *ctx, imapc_conn *c, const imapc_done *d)
{
	conn_rec *x = ctx;
	(void)c;
	uintptr_t k = (uintptr_t)d->user;
	FUZZ_ASSERT(k < 3, "IMAPC-DONE", "done for a command never sent");
	x->done[k]++;
	FUZZ_ASSERT(x->done[k] == 1, "IMAPC-DONE", "command %u completed twice", (unsigned)k);
	FUZZ_ASSERT(d->outcome != IMAPC_REPLIED || d->resp != NULL, "IMAPC-DONE",
		    "replied without a response");
	FUZZ_ASSERT(!x->closed, "IMAPC-DONE", "done after closed");
}

static void cb_closed(void *ctx, imapc_conn *c, const char *reason)
{
	conn_rec *x = ctx;
	(void)c;
	FUZZ_ASSERT(reason != NULL, "IMAPC-CLOSED", "closed without a reason");
	x->closed++;
}

static void drain(int fd)
{
	char buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void check_conn(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	conn_rec x = {0};
	imapc_conn_cb cb = {cb_response, cb_done, cb_closed, &x};
	imapc_conn_opts opts = {.limits = {.max_line = 8192, .max_literal = 8192,
					   .max_literals = 8, .max_depth = 16}};
	imapc_conn *c = imapc_conn_new(sv[0], &opts, &cb);
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "NOOP");
	imapc_conn_send(c, &cmd, (void *)0, 0);
	imapc_cmd_reset(&cmd);
	imapc_cmd_raw(&cmd, "APPEND INBOX ");
	imapc_cmd_literal(&cmd, "X-Ratchet-Id: f\r\n\r\nx\r\n", 21);
	imapc_conn_send(c, &cmd, (void *)1, 0);
	imapc_cmd_reset(&cmd);
	imapc_cmd_raw(&cmd, "UID FETCH 1:* (UID FLAGS MODSEQ)");
	imapc_conn_send(c, &cmd, (void *)2, 0);
	imapc_cmd_free(&cmd);
	size_t off = 0;
	bool shut = false;
	for (int rounds = 0; rounds < 10000 && !imapc_conn_closed(c); rounds++) {
		imapc_conn_on_writable(c);
		drain(sv[1]);
		if (off < size) {
			ssize_t n = write(sv[1], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
		} else if (!shut) {
			shutdown(sv[1], SHUT_WR); /* the server hangs up */
			shut = true;
		}
		imapc_conn_on_readable(c);
	}
	if (!imapc_conn_closed(c))
		imapc_conn_close(c, NULL);
	FUZZ_ASSERT(x.closed == 1, "IMAPC-CLOSED", "closed callback ran %u times", x.closed);
	for (int i = 0; i < 3; i++)
		FUZZ_ASSERT(x.done[i] == 1, "IMAPC-DONE", "command %d completed %u times", i,
			    x.done[i]);
	FUZZ_ASSERT(imapc_conn_pending(c) == 0, "IMAPC-PENDING", "commands left pending");
	imapc_conn_free(c);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits: every limit path is a few bytes away. */
	imapc_limits small = {.max_line = 512, .max_literal = 256, .max_response = 2048,
			      .max_depth = 8, .max_items = 256, .max_literals = 4};
	check_parse(data, size, &small);
	check_parse(data, size, NULL);
	check_conn(data, size);
	return 0;
}
