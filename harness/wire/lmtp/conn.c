/* One non-blocking LMTP connection, driven by the caller's poll() loop:
 * output is one byte stream (commands, then a message), replies go through
 * the parser to the greeting, LHLO, transaction or QUIT step in turn.
 *
 * Callbacks are queued (conn_push_done) and run by conn_drain after the
 * connection's state is consistent, never nested: a callback may start the
 * next delivery, or quit, and its own callbacks join the queue. */
#include "lmtpc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384

const char *lmtpc_outcome_name(lmtpc_outcome o)
{
	switch (o) {
	case LMTPC_OK: return "ok";
	case LMTPC_REFUSED: return "refused";
	case LMTPC_UNKNOWN: return "unknown";
	}
	return "?";
}

/* ---- callbacks ------------------------------------------------------------------- */
void conn_push_done(lmtpc_conn *c, void *user, unsigned idx, const lmtpc_result *r)
{
	CM_GROW(c->done, c->cap_done, c->n_done + 1);
	c->done[c->n_done++] = (done_entry){user, idx, *r};
}

void conn_drain(lmtpc_conn *c)
{
	if (c->draining)
		return; /* the outer loop runs what a callback added */
	c->draining = true;
	while (c->done_head < c->n_done) {
		done_entry e = c->done[c->done_head++];
		if (c->o.on_done != NULL)
			c->o.on_done(c->o.ctx, e.user, e.idx, &e.r);
	}
	c->n_done = c->done_head = 0;
	c->draining = false;
}

void conn_reply_text(const lmtpc_reply *r, char *out, size_t outsz)
{
	/* outsz bytes of text never fit in outsz - 1 escaped: cm_escape then
	 * cuts with "...", so more than outsz need not be looked at. */
	char joined[LMTPC_TEXT_MAX];
	size_t n = CM_MIN(r->lines_len, CM_MIN(outsz, sizeof(joined)));
	memcpy(joined, r->lines, n);
	for (size_t i = 0; i < n; i++)
		if (joined[i] == '\n')
			joined[i] = ' ';
	cm_escape(out, outsz, joined, n);
}

/* ---- closing ------------------------------------------------------------------------ */
void conn_close(lmtpc_conn *c, const char *fmt, ...)
{
	if (c->state == ST_CLOSED)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	bool in_txn = c->state == ST_TXN;
	c->state = ST_CLOSED;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	cm_buf_clear(&c->out);
	c->out_base = c->written;
	if (in_txn)
		txn_abort(c);
	conn_drain(c);
}

/* ---- output -------------------------------------------------------------------------- */
void conn_queue(lmtpc_conn *c, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		cm_panic("lmtpc: command line too long");
	cm_buf_append(&c->out, line, (size_t)n);
}

static bool wants_write(const lmtpc_conn *c)
{
	return c->state != ST_CLOSED && c->written < c->out_base + c->out.len;
}

static void compact_out(lmtpc_conn *c)
{
	size_t done = (size_t)(c->written - c->out_base);
	if (done == 0 || (done < 65536 && done < c->out.len))
		return;
	memmove(c->out.data, c->out.data + done, c->out.len - done);
	c->out.len -= done;
	c->out.data[c->out.len] = '\0';
	c->out_base = c->written;
}

static void on_writable(lmtpc_conn *c)
{
	while (wants_write(c)) {
		size_t left = (size_t)(c->out_base + c->out.len - c->written);
		const char *p = c->out.data + (c->written - c->out_base);
		/* The final dot goes in a send() of its own, once all before it
		 * is written: until then the message is surely not delivered.
		 * From that send() on the server may have it. */
		if (c->state == ST_TXN && c->t.dot_queued && c->written + left > c->t.dot_off) {
			if (c->written < c->t.dot_off)
				left = (size_t)(c->t.dot_off - c->written);
			else
				c->t.dot_handed = true;
		}
		ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c, "write: %s", strerror(errno));
			return;
		}
		c->written += (uint64_t)n;
		c->progress_ns = cm_now_ns();
	}
	if (c->state != ST_CLOSED)
		compact_out(c);
}

/* ---- replies -------------------------------------------------------------------------- */
static bool has_pipelining(const lmtpc_reply *r)
{
	/* The first line is the server's name; each later one an extension. */
	const char *s = r->lines, *end = r->lines + r->lines_len;
	const char *nl = memchr(s, '\n', r->lines_len);
	while (nl != NULL && nl < end) {
		s = nl + 1;
		nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl ? nl : end) - s);
		if ((len == 10 || (len > 10 && s[10] == ' ')) && strncasecmp(s, "PIPELINING", 10) == 0)
			return true;
	}
	return false;
}

static void on_greeting(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	if (r->code == 220) {
		conn_queue(c, "LHLO %s\r\n", c->lhlo_name);
		c->state = ST_LHLO;
	} else if (r->code >= 400) {
		conn_close(c, "greeting refused: %d %s", r->code, text);
	} else {
		conn_close(c, "protocol error: greeting %d %s, expected 220", r->code, text);
	}
}

static void on_lhlo(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	if (r->code == 250) {
		c->pipelining = has_pipelining(r);
		c->state = ST_READY;
	} else if (r->code >= 400) {
		conn_close(c, "LHLO refused: %d %s", r->code, text);
	} else {
		conn_close(c, "protocol error: LHLO answered %d %s, expected 250", r->code, text);
	}
}

static int on_reply(void *ctx, const lmtpc_reply *r)
{
	lmtpc_conn *c = ctx;
	char text[LMTPC_TEXT_MAX];
	conn_reply_text(r, text, sizeof(text));
	c->progress_ns = cm_now_ns();
	switch (c->state) {
	case ST_GREETING:
		on_greeting(c, r, text);
		break;
	case ST_LHLO:
		on_lhlo(c, r, text);
		break;
	case ST_READY:
		conn_close(c, "protocol error: reply while idle: %d %s", r->code, text);
		break;
	case ST_TXN:
		txn_reply(c, r, text);
		break;
	case ST_QUIT:
		if (r->code == 221)
			conn_close(c, "closed by client (QUIT)");
		else
			conn_close(c, "closed by client (QUIT answered %d %s)", r->code, text);
		break;
	case ST_CLOSED:
		break;
	}
	return c->state == ST_CLOSED;
}

static void on_eof(lmtpc_conn *c)
{
	size_t pending = lmtpc_parser_pending(c->parser);
	if (c->state == ST_QUIT)
		conn_close(c, "closed by client (QUIT)");
	else if (pending > 0)
		conn_close(c, "connection closed by server (mid-reply, %zu bytes pending)", pending);
	else
		conn_close(c, "connection closed by server");
}

static void on_readable(lmtpc_conn *c)
{
	char buf[READ_CHUNK];
	for (int round = 0; round < 4 && c->state != ST_CLOSED; round++) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			cm_err err;
			if (lmtpc_parser_feed(c->parser, buf, (size_t)n, on_reply, c, &err) < 0)
				conn_close(c, "protocol error: %s", err.text);
			if ((size_t)n < sizeof(buf))
				break;
			continue;
		}
		if (n == 0) {
			on_eof(c);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_close(c, "read: %s", strerror(errno));
		break;
	}
}

/* ---- timeouts and the poll step ------------------------------------------------------- */
static bool waiting(const lmtpc_conn *c)
{
	return c->state != ST_READY && c->state != ST_CLOSED;
}

void lmtpc_conn_check_timeouts(lmtpc_conn *c, uint64_t now_ns)
{
	uint64_t limit = (uint64_t)c->o.timeout_ms * 1000000;
	if (!waiting(c) || now_ns < c->progress_ns || now_ns - c->progress_ns < limit)
		return;
	if (wants_write(c)) {
		conn_close(c, "timeout: the server read nothing for %u ms (%llu bytes unsent)",
			   c->o.timeout_ms,
			   (unsigned long long)(c->out_base + c->out.len - c->written));
		return;
	}
	char what[80];
	txn_awaited(c, what, sizeof(what));
	conn_close(c, "timeout: no %s within %u ms", what, c->o.timeout_ms);
}

int lmtpc_conn_timeout_ms(const lmtpc_conn *c, uint64_t now_ns)
{
	if (!waiting(c))
		return -1;
	uint64_t deadline = c->progress_ns + (uint64_t)c->o.timeout_ms * 1000000;
	if (deadline <= now_ns)
		return 0;
	return (int)CM_MIN((deadline - now_ns + 999999) / 1000000, 3600000);
}

short lmtpc_conn_poll_events(const lmtpc_conn *c)
{
	if (c->state == ST_CLOSED)
		return 0;
	return (short)(POLLIN | (wants_write(c) ? POLLOUT : 0));
}

void lmtpc_conn_handle(lmtpc_conn *c, short revents)
{
	if (c->state != ST_CLOSED && (revents & (POLLIN | POLLHUP | POLLERR)))
		on_readable(c);
	/* Output a reply made (LHLO, the next step) goes at once. */
	if (wants_write(c))
		on_writable(c);
	if (c->state != ST_CLOSED)
		lmtpc_conn_check_timeouts(c, cm_now_ns());
}

/* ---- life cycle ----------------------------------------------------------------------- */
static bool line_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

lmtpc_conn *lmtpc_conn_new(int fd, const lmtpc_opts *o)
{
	lmtpc_conn *c = cm_xcalloc(1, sizeof(*c));
	if (o != NULL)
		c->o = *o;
	const char *name = c->o.lhlo_name ? c->o.lhlo_name : "ratchet.invalid";
	if (name[0] == '\0' || !line_safe(name) || strlen(name) > 255)
		cm_panic("lmtpc_conn_new: bad LHLO name");
	c->lhlo_name = cm_xstrdup(name);
	c->o.lhlo_name = c->lhlo_name;
	if (c->o.timeout_ms == 0)
		c->o.timeout_ms = 10000;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		cm_panic("lmtpc_conn_new: fcntl on fd %d: %s", fd, strerror(errno));
	c->fd = fd;
	c->state = ST_GREETING;
	c->parser = lmtpc_parser_new();
	c->progress_ns = cm_now_ns();
	return c;
}

void lmtpc_conn_free(lmtpc_conn *c)
{
	if (c == NULL)
		return;
	conn_close(c, "closed by client");
	lmtpc_parser_free(c->parser);
	txn_free(&c->t);
	cm_buf_free(&c->out);
	free(c->done);
	free(c->lhlo_name);
	free(c);
}

void lmtpc_conn_quit(lmtpc_conn *c)
{
	if (c->state == ST_READY) {
		conn_queue(c, "QUIT\r\n");
		c->state = ST_QUIT;
		c->progress_ns = cm_now_ns();
	} else if (c->state != ST_QUIT) {
		conn_close(c, "closed by client");
	}
}

int lmtpc_conn_deliver(lmtpc_conn *c, const char *from, const char *const *rcpt,
		       unsigned nrcpt, const void *msg, size_t len, void *user)
{
	if (c->state != ST_READY || nrcpt == 0 || nrcpt > LMTPC_RCPT_MAX || from == NULL ||
	    !line_safe(from) || strlen(from) > 1000 || (msg == NULL && len > 0))
		return -1;
	for (unsigned i = 0; i < nrcpt; i++)
		if (rcpt[i] == NULL || !line_safe(rcpt[i]) || strlen(rcpt[i]) > 1000)
			return -1;
	txn *t = &c->t;
	txn_free(t);
	t->user = user;
	t->n = nrcpt;
	t->from = cm_xstrdup(from);
	for (unsigned i = 0; i < nrcpt; i++)
		t->r[i].addr = cm_xstrdup(rcpt[i]);
	txn_stuff(&t->body, msg, len);
	c->state = ST_TXN;
	c->progress_ns = cm_now_ns();
	txn_start(c);
	return 0;
}

/* ---- accessors ---------------------------------------------------------------------------- */
int lmtpc_conn_fd(const lmtpc_conn *c)
{
	return c->fd;
}

bool lmtpc_conn_ready(const lmtpc_conn *c)
{
	return c->state == ST_READY;
}

bool lmtpc_conn_closed(const lmtpc_conn *c)
{
	return c->state == ST_CLOSED;
}

const char *lmtpc_conn_close_reason(const lmtpc_conn *c)
{
	return c->state == ST_CLOSED ? c->reason : NULL;
}

bool lmtpc_conn_pipelining(const lmtpc_conn *c)
{
	return c->pipelining;
}
