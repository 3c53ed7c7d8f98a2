/* One non-blocking IMAP connection, driven by the caller's poll() loop.
 *
 * Output is a single byte stream of queued commands with sync points: the
 * offsets right after a synchronizing literal header (or an AUTHENTICATE
 * line) where writing stops until the server sends "+". Being one stream,
 * a pipelined command can never slip into a literal it follows.
 *
 * Every command sent gets exactly one done callback: its tagged reply, or,
 * when the connection ends first (timeout, EOF, BYE, parse error, a tag we
 * never sent), "unknown" if any byte of it left, "not sent" otherwise. */
#include "imapc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAG_MAX 40
#define READ_CHUNK 65536

typedef struct conn_cmd {
	char tag[TAG_MAX];
	void *user;
	uint64_t start, end;     /* stream offsets of its bytes */
	uint64_t queued_ns, sent_ns, deadline_ns;
	uint32_t timeout_ms;
	bool started;
} conn_cmd;

struct imapc_conn {
	int fd;
	imapc_tls *tls;          /* NULL: plain TCP, read() and send() */
	imapc_conn_cb cb;
	imapc_parser *parser;
	char prefix[17];
	uint32_t next_tag;
	uint32_t timeout_ms;
	char last_tag[TAG_MAX];
	char *rbuf;
	/* output stream: out.data[0] is stream offset out_base */
	cm_buf out;
	uint64_t out_base, written;
	uint64_t *sync;
	size_t n_sync, cap_sync;
	conn_cmd *cmds;
	size_t n_cmds, cap_cmds;
	imapc_inflight *snap;
	char (*snap_tags)[TAG_MAX];
	size_t cap_snap, cap_snap_tags;
	imapc_wire wire;
	/* what the server told us */
	cm_buf capbuf;
	imapc_str *capv;
	size_t cap_capv;
	imapc_caps caps;
	uint64_t caps_gen;
	uint32_t enabled;
	imapc_type greeting;
	bool bye, closed;
	bool protocol;           /* closed by imapc_conn_protocol_error */
	char bye_text[160];
	char reason[384];
	char protocol_bytes[128];
};

/* ---- closing ----------------------------------------------------------------- */
__attribute__((format(printf, 2, 3)))
static void conn_fail(imapc_conn *c, const char *fmt, ...)
{
	if (c->closed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->closed = true;
	imapc_tls_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	cm_buf_clear(&c->out);
	c->out_base = c->written;
	c->n_sync = 0;
	/* Pop before calling out: the callback may send (and be refused). */
	while (c->n_cmds > 0) {
		conn_cmd cc = c->cmds[0];
		memmove(c->cmds, c->cmds + 1, (c->n_cmds - 1) * sizeof(*c->cmds));
		c->n_cmds--;
		imapc_done d = {
			.tag = cc.tag, .user = cc.user,
			.outcome = cc.started ? IMAPC_UNKNOWN : IMAPC_NOT_SENT,
			.reason = c->reason, .queued_ns = cc.queued_ns,
			.sent_ns = cc.sent_ns, .done_ns = cm_now_ns(),
		};
		if (c->cb.done != NULL)
			c->cb.done(c->cb.ctx, c, &d);
	}
	if (c->cb.closed != NULL)
		c->cb.closed(c->cb.ctx, c, c->reason);
}

void imapc_conn_close(imapc_conn *c, const char *reason)
{
	conn_fail(c, "%s", reason ? reason : "closed by client");
}

void imapc_conn_protocol_error(imapc_conn *c, const void *bytes, size_t len,
			       const char *fmt, ...)
{
	if (c->closed)
		return;
	char what[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* Set before closing: the done and closed callbacks ask for them. */
	c->protocol = true;
	cm_escape(c->protocol_bytes, sizeof(c->protocol_bytes), bytes ? bytes : "",
		  bytes ? len : 0);
	conn_fail(c, "protocol error: %s", what);
}

const char *imapc_conn_protocol_bytes(const imapc_conn *c)
{
	return c->protocol ? c->protocol_bytes : NULL;
}

/* ---- capabilities -------------------------------------------------------------- */
static void set_caps(imapc_conn *c, const imapc_caps *caps)
{
	cm_buf_clear(&c->capbuf);
	for (size_t i = 0; i < caps->n; i++) {
		cm_buf_append(&c->capbuf, caps->names[i].p, caps->names[i].len);
		cm_buf_putc(&c->capbuf, '\0');
	}
	CM_GROW(c->capv, c->cap_capv, caps->n);
	/* Views are taken only now that capbuf no longer moves. */
	size_t off = 0;
	for (size_t i = 0; i < caps->n; i++) {
		c->capv[i].p = c->capbuf.data + off;
		c->capv[i].len = caps->names[i].len;
		off += caps->names[i].len + 1;
	}
	c->caps.names = c->capv;
	c->caps.n = caps->n;
	c->caps.mask = caps->mask;
	c->caps_gen++;
}

static void learn(imapc_conn *c, const imapc_response *r)
{
	if (r->type == IMAPC_T_CAPABILITY)
		set_caps(c, &r->caps);
	else if (r->code.kind == IMAPC_CODE_CAPABILITY)
		set_caps(c, &r->code.caps);
	if (r->type == IMAPC_T_ENABLED)
		c->enabled |= r->caps.mask;
	if (r->type == IMAPC_T_BYE && r->kind == IMAPC_UNTAGGED) {
		c->bye = true;
		snprintf(c->bye_text, sizeof(c->bye_text), "%.*s",
			 (int)CM_MIN(r->text.len, 150), r->text.p);
	}
}

/* ---- output -------------------------------------------------------------------- */
static uint64_t write_limit(const imapc_conn *c)
{
	return c->n_sync > 0 ? c->sync[0] : c->out_base + c->out.len;
}

static void mark_started(imapc_conn *c)
{
	uint64_t now = 0;
	for (size_t i = 0; i < c->n_cmds; i++) {
		conn_cmd *cc = &c->cmds[i];
		if (cc->started || cc->start >= c->written)
			continue;
		if (now == 0)
			now = cm_now_ns();
		cc->started = true;
		cc->sent_ns = now;
	}
}

static void compact_out(imapc_conn *c)
{
	size_t done = (size_t)(c->written - c->out_base);
	if (done == 0 || (done < 65536 && done < c->out.len))
		return;
	memmove(c->out.data, c->out.data + done, c->out.len - done);
	c->out.len -= done;
	c->out.data[c->out.len] = '\0';
	c->out_base = c->written;
}

/* The transport: the plain path is the bare system call. */
static ssize_t conn_write(imapc_conn *c, const char *p, size_t len)
{
	if (c->tls == NULL)
		return send(c->fd, p, len, MSG_NOSIGNAL);
	return imapc_tls_write(c->tls, p, len);
}

static ssize_t conn_read(imapc_conn *c)
{
	if (c->tls == NULL)
		return read(c->fd, c->rbuf, READ_CHUNK);
	return imapc_tls_read(c->tls, c->rbuf, READ_CHUNK);
}

/* "read: ..." or "write: ..." for a failed transport call (errno set). */
static void io_fail(imapc_conn *c, const char *what)
{
	if (c->tls != NULL && errno == EIO)
		conn_fail(c, "%s: %s", what, imapc_tls_error(c->tls));
	else
		conn_fail(c, "%s: %s", what, strerror(errno));
}

void imapc_conn_on_writable(imapc_conn *c)
{
	while (!c->closed) {
		uint64_t limit = write_limit(c);
		if (c->written >= limit)
			break;
		const char *p = c->out.data + (c->written - c->out_base);
		ssize_t n = conn_write(c, p, (size_t)(limit - c->written));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			io_fail(c, "write");
			return;
		}
		c->written += (uint64_t)n;
		mark_started(c);
	}
	if (!c->closed)
		compact_out(c);
}

bool imapc_conn_wants_write(const imapc_conn *c)
{
	return !c->closed && c->written < write_limit(c);
}

short imapc_conn_poll_events(const imapc_conn *c)
{
	if (c->closed)
		return 0;
	bool out = imapc_conn_wants_write(c);
	/* A TLS read may wait to write (and a write to read: POLLIN is on). */
	if (c->tls != NULL && imapc_tls_read_wants_write(c->tls))
		out = true;
	return (short)(POLLIN | (out ? POLLOUT : 0));
}

/* The server answered a command while we wait for "+" inside it (it
 * refused a synchronizing literal): the rest must never be sent. */
static void drop_rest(imapc_conn *c, size_t idx)
{
	conn_cmd *cc = &c->cmds[idx];
	if (cc->end <= c->written || c->n_sync == 0 || c->sync[0] != c->written ||
	    c->sync[0] >= cc->end)
		return;
	uint64_t from = c->written, delta = cc->end - from;
	size_t at = (size_t)(from - c->out_base);
	memmove(c->out.data + at, c->out.data + at + delta,
		c->out.len - at - (size_t)delta);
	c->out.len -= (size_t)delta;
	c->out.data[c->out.len] = '\0';
	size_t k = 0;
	for (size_t i = 0; i < c->n_sync; i++) {
		if (c->sync[i] >= from && c->sync[i] < cc->end)
			continue;
		c->sync[k++] = c->sync[i] >= cc->end ? c->sync[i] - delta : c->sync[i];
	}
	c->n_sync = k;
	for (size_t i = 0; i < c->n_cmds; i++) {
		if (c->cmds[i].start >= cc->end) {
			c->cmds[i].start -= delta;
			c->cmds[i].end -= delta;
		}
	}
	cc->end = from;
}

/* ---- input --------------------------------------------------------------------- */
static int on_tagged(imapc_conn *c, const imapc_response *r)
{
	size_t i;
	for (i = 0; i < c->n_cmds; i++) {
		const conn_cmd *cc = &c->cmds[i];
		if (cc->started && strlen(cc->tag) == r->tag.len &&
		    memcmp(cc->tag, r->tag.p, r->tag.len) == 0)
			break;
	}
	if (i == c->n_cmds) {
		imapc_conn_protocol_error(c, r->raw.p, r->raw.len,
					  "tagged reply with a tag never sent");
		return 1;
	}
	drop_rest(c, i);
	conn_cmd cc = c->cmds[i];
	memmove(c->cmds + i, c->cmds + i + 1, (c->n_cmds - i - 1) * sizeof(*c->cmds));
	c->n_cmds--;
	imapc_done d = {
		.tag = cc.tag, .user = cc.user, .outcome = IMAPC_REPLIED,
		.status = r->type, .resp = r, .queued_ns = cc.queued_ns,
		.sent_ns = cc.sent_ns, .done_ns = cm_now_ns(),
	};
	if (c->cb.done != NULL)
		c->cb.done(c->cb.ctx, c, &d);
	return c->closed;
}

static size_t snapshot(imapc_conn *c)
{
	size_t n = 0;
	CM_GROW(c->snap, c->cap_snap, c->n_cmds);
	CM_GROW(c->snap_tags, c->cap_snap_tags, c->n_cmds);
	for (size_t i = 0; i < c->n_cmds; i++) {
		const conn_cmd *cc = &c->cmds[i];
		if (!cc->started)
			continue;
		memcpy(c->snap_tags[n], cc->tag, TAG_MAX);
		c->snap[n] = (imapc_inflight){c->snap_tags[n], cc->user, cc->sent_ns};
		n++;
	}
	return n;
}

static int on_response(void *ctx, const imapc_response *r)
{
	imapc_conn *c = ctx;
	if (c->greeting == IMAPC_T_NONE) {
		if (r->kind != IMAPC_UNTAGGED ||
		    (r->type != IMAPC_T_OK && r->type != IMAPC_T_PREAUTH &&
		     r->type != IMAPC_T_BYE)) {
			imapc_conn_protocol_error(c, r->raw.p, r->raw.len,
						  "bad greeting: not * OK, PREAUTH or BYE");
			return 1;
		}
		c->greeting = r->type;
	}
	learn(c, r);
	if (r->kind == IMAPC_TAGGED)
		return on_tagged(c, r);
	if (r->kind == IMAPC_CONTINUATION && c->n_sync > 0 &&
	    c->sync[0] == c->written) {
		memmove(c->sync, c->sync + 1, (c->n_sync - 1) * sizeof(*c->sync));
		c->n_sync--;
	}
	if (c->cb.response != NULL) {
		size_t n = snapshot(c);
		c->cb.response(c->cb.ctx, c, r, c->snap, n);
	}
	return c->closed;
}

static void on_eof(imapc_conn *c)
{
	size_t pending = imapc_parser_pending(c->parser);
	char tail[64] = "";
	if (pending > 0)
		snprintf(tail, sizeof(tail), " (mid-response, %zu bytes pending)", pending);
	if (c->bye)
		conn_fail(c, "server said BYE: %s%s", c->bye_text, tail);
	else
		conn_fail(c, "connection closed by server%s", tail);
}

void imapc_conn_on_readable(imapc_conn *c)
{
	/* TLS may hold decrypted bytes poll() cannot see: drain those too. */
	for (int round = 0; (round < 4 || (c->tls && imapc_tls_pending(c->tls))) &&
			    !c->closed; round++) {
		ssize_t n = conn_read(c);
		if (n > 0) {
			if (imapc_parser_feed(c->parser, c->rbuf, (size_t)n, on_response, c) < 0 &&
			    !c->closed) {
				size_t len;
				const char *ev = imapc_parser_evidence(c->parser, &len);
				imapc_conn_protocol_error(c, ev, len, "%s",
							  imapc_parser_error(c->parser));
			}
			if (n < READ_CHUNK && (c->tls == NULL || !imapc_tls_pending(c->tls)))
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
			io_fail(c, "read");
		break;
	}
}

/* ---- timeouts and the poll step -------------------------------------------------- */
void imapc_conn_check_timeouts(imapc_conn *c, uint64_t now_ns)
{
	for (size_t i = 0; i < c->n_cmds && !c->closed; i++) {
		const conn_cmd *cc = &c->cmds[i];
		if (cc->deadline_ns <= now_ns) {
			conn_fail(c, "timeout: no reply to %s within %u ms", cc->tag,
				  cc->timeout_ms);
			return;
		}
	}
}

int imapc_conn_timeout_ms(const imapc_conn *c, uint64_t now_ns)
{
	uint64_t first = UINT64_MAX;
	if (c->closed)
		return -1;
	for (size_t i = 0; i < c->n_cmds; i++)
		first = CM_MIN(first, c->cmds[i].deadline_ns);
	if (first == UINT64_MAX)
		return -1;
	if (first <= now_ns)
		return 0;
	return (int)CM_MIN((first - now_ns + 999999) / 1000000, 3600000);
}

void imapc_conn_handle(imapc_conn *c, short revents)
{
	bool in = revents & (POLLIN | POLLHUP | POLLERR);
	/* TLS: a read that waited to write, a write that waited to read. */
	if (c->tls != NULL && (revents & POLLOUT) && imapc_tls_read_wants_write(c->tls))
		in = true;
	bool out = revents & POLLOUT;
	if (c->tls != NULL && (revents & POLLIN) && imapc_tls_write_wants_read(c->tls))
		out = true;
	if (!c->closed && in)
		imapc_conn_on_readable(c);
	if (!c->closed && out)
		imapc_conn_on_writable(c);
	if (!c->closed)
		imapc_conn_check_timeouts(c, cm_now_ns());
}

/* ---- sending ------------------------------------------------------------------- */
const char *imapc_conn_send(imapc_conn *c, const imapc_cmd *cmd, void *user,
			    uint32_t timeout_ms)
{
	if (c->closed)
		return NULL;
	char tag[TAG_MAX];
	snprintf(tag, sizeof(tag), "%s%04u", c->prefix, ++c->next_tag);
	imapc_wire_clear(&c->wire);
	imapc_cmd_render(cmd, tag, c->caps.mask, &c->wire);
	uint64_t start = c->out_base + c->out.len;
	cm_buf_append(&c->out, c->wire.bytes.data, c->wire.bytes.len);
	CM_GROW(c->sync, c->cap_sync, c->n_sync + c->wire.n_sync);
	for (size_t i = 0; i < c->wire.n_sync; i++)
		c->sync[c->n_sync++] = start + c->wire.sync[i];
	CM_GROW(c->cmds, c->cap_cmds, c->n_cmds + 1);
	uint32_t ms = timeout_ms ? timeout_ms : c->timeout_ms;
	uint64_t now = cm_now_ns();
	conn_cmd *cc = &c->cmds[c->n_cmds++];
	*cc = (conn_cmd){
		.user = user, .start = start, .end = start + c->wire.bytes.len,
		.queued_ns = now, .deadline_ns = now + (uint64_t)ms * 1000000,
		.timeout_ms = ms,
	};
	memcpy(cc->tag, tag, TAG_MAX);
	memcpy(c->last_tag, tag, TAG_MAX);
	return c->last_tag;
}

void imapc_conn_send_raw(imapc_conn *c, const void *data, size_t len)
{
	if (!c->closed)
		cm_buf_append(&c->out, data, len);
}

/* ---- life cycle and accessors ------------------------------------------------------ */
static bool prefix_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!imap_atom_char((unsigned char)s[i]) || s[i] == '+')
			return false;
	return true;
}

imapc_conn *imapc_conn_new(int fd, const imapc_conn_opts *opts,
			   const imapc_conn_cb *cb)
{
	imapc_conn_opts o = {0};
	if (opts != NULL)
		o = *opts;
	const char *prefix = o.tag_prefix ? o.tag_prefix : "a";
	if (!prefix_ok(prefix))
		cm_panic("imapc_conn_new: bad tag prefix \"%s\"", prefix);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		cm_panic("imapc_conn_new: fcntl on fd %d: %s", fd, strerror(errno));
	imapc_conn *c = cm_xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->tls = o.tls;
	/* After STARTTLS the session goes on from the OK: no greeting. */
	if (o.no_greeting)
		c->greeting = IMAPC_T_OK;
	if (cb != NULL)
		c->cb = *cb;
	snprintf(c->prefix, sizeof(c->prefix), "%s", prefix);
	c->timeout_ms = o.timeout_ms ? o.timeout_ms : 30000;
	c->parser = imapc_parser_new(&o.limits);
	c->rbuf = cm_xmalloc(READ_CHUNK);
	return c;
}

void imapc_conn_free(imapc_conn *c)
{
	if (c == NULL)
		return;
	conn_fail(c, "closed by client");
	imapc_parser_free(c->parser);
	free(c->rbuf);
	cm_buf_free(&c->out);
	free(c->sync);
	free(c->cmds);
	free(c->snap);
	free(c->snap_tags);
	imapc_wire_free(&c->wire);
	cm_buf_free(&c->capbuf);
	free(c->capv);
	free(c);
}

int imapc_conn_fd(const imapc_conn *c)
{
	return c->fd;
}

bool imapc_conn_closed(const imapc_conn *c)
{
	return c->closed;
}

const char *imapc_conn_close_reason(const imapc_conn *c)
{
	return c->closed ? c->reason : NULL;
}

imapc_type imapc_conn_greeting(const imapc_conn *c)
{
	return c->greeting;
}

const imapc_caps *imapc_conn_caps(const imapc_conn *c)
{
	return &c->caps;
}

uint64_t imapc_conn_caps_gen(const imapc_conn *c)
{
	return c->caps_gen;
}

uint32_t imapc_conn_enabled(const imapc_conn *c)
{
	return c->enabled;
}

size_t imapc_conn_pending(const imapc_conn *c)
{
	return c->n_cmds;
}
