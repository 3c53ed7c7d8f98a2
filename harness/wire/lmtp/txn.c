/* One LMTP transaction (RFC 2033 §4.2, RFC 5321 §3.3, RFC 2920):
 *
 *   MAIL FROM:<from>          2xx, or 4xx/5xx: every recipient REFUSED
 *   RCPT TO:<rcpt_i>          2xx accepted, or 4xx/5xx: rcpt_i REFUSED
 *   DATA                      354 (none accepted: RSET instead, unless
 *                             pipelined), or 4xx/5xx: the accepted REFUSED
 *   message, "."              one reply per accepted recipient, in order
 *
 * Replies are matched to what was sent in order; t->step and t->idx say
 * which one comes next. Pipelined, MAIL, the RCPTs and DATA were written
 * together, so every one of their replies is read even once the outcome
 * is settled (a refused MAIL), and a refused transaction whose MAIL was
 * accepted ends with RSET. */
#include "lmtpc_int.h"

#include <stdlib.h>
#include <string.h>

void txn_free(txn *t)
{
	for (unsigned i = 0; i < t->n; i++)
		free(t->r[i].addr);
	free(t->from);
	cm_buf_free(&t->body);
	memset(t, 0, sizeof(*t));
}

void txn_stuff(cm_buf *b, const char *msg, size_t len)
{
	cm_buf_reserve(b, len + len / 32 + 8);
	size_t i = 0;
	while (i < len) {
		/* i starts a line */
		if (msg[i] == '.')
			cm_buf_putc(b, '.');
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - msg) : len;
		cm_buf_append(b, msg + i, end - i);
		if (nl == NULL)
			break;
		if (end == i || msg[end - 1] != '\r')
			cm_buf_putc(b, '\r');
		cm_buf_putc(b, '\n');
		i = end + 1;
	}
	if (len > 0 && msg[len - 1] != '\n')
		cm_buf_puts(b, "\r\n");
	cm_buf_puts(b, ".\r\n");
}

/* ---- ending recipients ---------------------------------------------------------------- */
/* Queues the callbacks now owed in RCPT order (up to the first recipient
 * not ended yet). */
static void emit(lmtpc_conn *c)
{
	txn *t = &c->t;
	while (t->next_emit < t->n && t->r[t->next_emit].ended) {
		conn_push_done(c, t->user, t->next_emit, &t->r[t->next_emit].res);
		t->next_emit++;
	}
}

static void end_rcpt(lmtpc_conn *c, unsigned i, lmtpc_outcome o, int code, const char *text)
{
	txn_rcpt *r = &c->t.r[i];
	if (r->ended)
		return;
	r->ended = true;
	r->res.outcome = o;
	r->res.code = code;
	snprintf(r->res.text, sizeof(r->res.text), "%s", text);
}

/* Every recipient not ended yet gets this reply's code and text. */
static void refuse_rest(lmtpc_conn *c, int code, const char *text)
{
	for (unsigned i = 0; i < c->t.n; i++)
		end_rcpt(c, i, LMTPC_REFUSED, code, text);
}

/* The transaction is over: the connection is ready before its last
 * callbacks run. */
static void finish(lmtpc_conn *c)
{
	emit(c);
	txn_free(&c->t);
	c->state = ST_READY;
	conn_drain(c);
}

void txn_abort(lmtpc_conn *c)
{
	txn *t = &c->t;
	cm_buf b = {0};
	if (!t->dot_handed)
		cm_buf_printf(&b, "closed before %s: ", t->got_354 ? "the final dot" : "DATA");
	cm_buf_puts(&b, c->reason);
	/* The reason is printable already (its server text was escaped). */
	char text[LMTPC_TEXT_MAX];
	if (b.len < sizeof(text)) {
		memcpy(text, b.data, b.len + 1);
	} else {
		memcpy(text, b.data, sizeof(text) - 4);
		memcpy(text + sizeof(text) - 4, "...", 4);
	}
	cm_buf_free(&b);
	for (unsigned i = 0; i < t->n; i++)
		end_rcpt(c, i, t->dot_handed ? LMTPC_UNKNOWN : LMTPC_REFUSED, 0, text);
	emit(c);
	txn_free(t);
}

/* ---- sending -------------------------------------------------------------------------- */
static void send_rcpt(lmtpc_conn *c, unsigned i)
{
	conn_queue(c, "RCPT TO:<%s>\r\n", c->t.r[i].addr);
}

void txn_start(lmtpc_conn *c)
{
	txn *t = &c->t;
	t->pipelined = c->pipelining;
	t->step = STEP_MAIL;
	conn_queue(c, "MAIL FROM:<%s>\r\n", t->from);
	if (!t->pipelined)
		return;
	for (unsigned i = 0; i < t->n; i++)
		send_rcpt(c, i);
	conn_queue(c, "DATA\r\n");
}

static void send_rset(lmtpc_conn *c)
{
	conn_queue(c, "RSET\r\n");
	c->t.step = STEP_RSET;
}

void txn_awaited(const lmtpc_conn *c, char *out, size_t outsz)
{
	const txn *t = &c->t;
	switch (c->state) {
	case ST_GREETING: snprintf(out, outsz, "greeting"); return;
	case ST_LHLO: snprintf(out, outsz, "reply to LHLO"); return;
	case ST_QUIT: snprintf(out, outsz, "reply to QUIT"); return;
	case ST_TXN: break;
	default: snprintf(out, outsz, "reply awaited"); return;
	}
	switch (t->step) {
	case STEP_MAIL: snprintf(out, outsz, "reply to MAIL FROM"); break;
	case STEP_RCPT: snprintf(out, outsz, "reply to RCPT TO (recipient %u)", t->idx + 1); break;
	case STEP_DATA: snprintf(out, outsz, "reply to DATA"); break;
	case STEP_DOT:
		snprintf(out, outsz, "reply after the final dot (%u of %u)", t->idx + 1,
			 t->naccepted);
		break;
	case STEP_RSET: snprintf(out, outsz, "reply to RSET"); break;
	}
}

/* ---- replies ---------------------------------------------------------------------------- */
static int unexpected(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	char what[80];
	txn_awaited(c, what, sizeof(what));
	conn_close(c, "protocol error: %d %s as %s", r->code, text, what);
	return 1;
}

static void on_mail(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	txn *t = &c->t;
	t->step = STEP_RCPT;
	t->idx = 0;
	if (r->code < 400) {
		if (!t->pipelined)
			send_rcpt(c, 0);
		return;
	}
	t->mail_refused = true;
	refuse_rest(c, r->code, text);
	if (!t->pipelined) {
		finish(c);
		return;
	}
	/* Pipelined: the RCPTs' and DATA's replies are still to come. */
	emit(c);
	conn_drain(c);
}

/* After the last RCPT's reply. */
static void after_rcpts(lmtpc_conn *c)
{
	txn *t = &c->t;
	if (t->pipelined) {
		t->step = STEP_DATA;
	} else if (t->naccepted > 0) {
		conn_queue(c, "DATA\r\n");
		t->step = STEP_DATA;
	} else {
		send_rset(c);
	}
}

static void on_rcpt(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	txn *t = &c->t;
	unsigned i = t->idx;
	if (t->mail_refused) {
		/* its outcome is settled: the reply only keeps the count */
	} else if (r->code < 300) {
		t->r[i].accepted = true;
		t->naccepted++;
	} else {
		end_rcpt(c, i, LMTPC_REFUSED, r->code, text);
	}
	if (i + 1 < t->n) {
		t->idx = i + 1;
		if (!t->pipelined)
			send_rcpt(c, i + 1);
	} else {
		after_rcpts(c);
	}
	emit(c);
	conn_drain(c);
}

static void on_data(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	txn *t = &c->t;
	if (r->code >= 400) {
		refuse_rest(c, r->code, text);
		if (t->mail_refused) {
			finish(c);
		} else {
			send_rset(c);
			emit(c);
			conn_drain(c);
		}
		return;
	}
	/* 354: the message, then its final dot. */
	t->got_354 = true;
	t->dot_queued = true;
	t->dot_off = c->out_base + c->out.len + t->body.len - 3;
	cm_buf_append(&c->out, t->body.data, t->body.len);
	cm_buf_free(&t->body);
	t->step = STEP_DOT;
	t->idx = 0;
}

/* The idx-th reply after the dot is the idx-th accepted recipient's. */
static void on_dot(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	txn *t = &c->t;
	unsigned k = 0, i;
	for (i = 0; i < t->n; i++)
		if (t->r[i].accepted && k++ == t->idx)
			break;
	end_rcpt(c, i, r->code < 300 ? LMTPC_OK : LMTPC_REFUSED, r->code, text);
	if (++t->idx == t->naccepted) {
		finish(c);
		return;
	}
	emit(c);
	conn_drain(c);
}

/* Returns non-zero when the connection closed. */
int txn_reply(lmtpc_conn *c, const lmtpc_reply *r, const char *text)
{
	txn *t = &c->t;
	int cls = r->code / 100;
	switch (t->step) {
	case STEP_MAIL:
		if (cls == 3)
			return unexpected(c, r, text);
		on_mail(c, r, text);
		break;
	case STEP_RCPT:
		if (cls == 3 && !t->mail_refused)
			return unexpected(c, r, text);
		on_rcpt(c, r, text);
		break;
	case STEP_DATA:
		if (cls == 2 || (cls == 3 && (t->mail_refused || t->naccepted == 0)))
			return unexpected(c, r, text);
		on_data(c, r, text);
		break;
	case STEP_DOT:
		/* No server can answer for a message it has not got whole. */
		if (c->written < t->dot_off + 3) {
			conn_close(c, "protocol error: %d %s before the end of the message",
				   r->code, text);
			return 1;
		}
		if (cls == 3)
			return unexpected(c, r, text);
		on_dot(c, r, text);
		break;
	case STEP_RSET:
		if (cls != 2) {
			conn_close(c, "RSET refused: %d %s", r->code, text);
			return 1;
		}
		finish(c);
		break;
	}
	return c->state == ST_CLOSED;
}
