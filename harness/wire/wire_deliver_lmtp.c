/* The LMTP delivery driver (`--deliver lmtp://HOST:PORT` or
 * `lmtp:/SOCKET`): one LMTP connection (harness/wire/lmtp, lmtpc), kept
 * open across deliveries and opened again when it ends; each delivery is
 * one transaction with one recipient, the mailbox's address from the
 * --deliver-rcpt template. The recipient's reply after the data decides
 * the op: 250 OK, 4xx/5xx NO, none (timeout, closed) outcome unknown; a
 * connection that cannot be made or greeted fails the delivery (NO:
 * nothing was sent). */
#include "wire_private.h"

#include <string.h>

static void on_done(void *ctx, void *user, unsigned rcpt, const lmtpc_result *r)
{
	rt_wire_deliverer *d = ctx;
	(void)user;
	assert(rcpt == 0 && d->cl != NULL && d->lmtp_sent);
	d->lmtp_sent = false;
	char text[LMTPC_TEXT_MAX + 16];
	if (r->code != 0)
		snprintf(text, sizeof(text), "%d %s", r->code, r->text);
	else
		snprintf(text, sizeof(text), "%s", r->text);
	if (r->outcome == LMTPC_UNKNOWN && strstr(r->text, "timeout") != NULL)
		d->w->timeouts++;
	rt_wire_deliver_end(d, r->outcome == LMTPC_OK ? MODEL_REPLY_OK
			    : r->outcome == LMTPC_REFUSED ? MODEL_REPLY_NO : MODEL_REPLY_UNKNOWN,
			    text);
}

void rt_wire_deliver_lmtp_free(rt_wire_deliverer *d)
{
	if (d->lmtp != NULL)
		lmtpc_conn_free(d->lmtp);
	d->lmtp = NULL;
	cm_buf_free(&d->lmtp_msg);
}

/* A connection that ended is dropped; a new one is made. 0, or -1 with
 * err filled. */
static int ensure_conn(rt_wire_deliverer *d, cm_err *err)
{
	if (d->lmtp != NULL && !lmtpc_conn_closed(d->lmtp))
		return 0;
	rt_wire_deliver_lmtp_free(d);
	d->w->reconnects++;
	int fd = lmtpc_connect(&d->spec.lmtp, d->w->setup->timeout_ms, err);
	if (fd < 0)
		return -1;
	lmtpc_opts o = {.timeout_ms = d->w->setup->timeout_ms, .on_done = on_done, .ctx = d};
	d->lmtp = lmtpc_conn_new(fd, &o);
	return 0;
}

/* The waiting delivery goes out once the connection is greeted. */
static void send_waiting(rt_wire_deliverer *d)
{
	if (d->cl == NULL || d->lmtp_sent || d->lmtp == NULL || !lmtpc_conn_ready(d->lmtp))
		return;
	cm_buf rcpt = {0};
	cm_err err = {{0}};
	const char *box = d->cl->op.mailbox;
	const char *tmpl = d->spec.rcpt_given || strcmp(box, "INBOX") != 0 ? d->spec.rcpt : "%u";
	if (rt_deliver_expand(tmpl, d->w->setup, box, false, &rcpt, &err) != 0) {
		rt_wire_deliver_end(d, MODEL_REPLY_NO, err.text);
	} else {
		const char *to[1] = {rcpt.data};
		d->lmtp_sent = true;
		if (lmtpc_conn_deliver(d->lmtp, "ratchet@example.test", to, 1, d->lmtp_msg.data,
				       d->lmtp_msg.len, NULL) != 0) {
			d->lmtp_sent = false;
			rt_wire_deliver_end(d, MODEL_REPLY_NO, "the LMTP connection was not ready");
		}
	}
	cm_buf_free(&rcpt);
}

void rt_wire_deliver_lmtp_start(rt_wire_deliverer *d, const cm_buf *msg)
{
	cm_err err = {{0}};
	if (ensure_conn(d, &err) != 0) {
		rt_wire_deliver_end(d, MODEL_REPLY_NO, err.text);
		return;
	}
	cm_buf_clear(&d->lmtp_msg);
	cm_buf_append(&d->lmtp_msg, msg->data, msg->len);
	send_waiting(d);
}

size_t rt_wire_deliver_lmtp_pollfd(const rt_wire_deliverer *d, struct pollfd *pfd)
{
	if (d->lmtp == NULL || lmtpc_conn_closed(d->lmtp))
		return 0;
	pfd[0] = (struct pollfd){.fd = lmtpc_conn_fd(d->lmtp),
				 .events = lmtpc_conn_poll_events(d->lmtp)};
	return 1;
}

void rt_wire_deliver_lmtp_handle(rt_wire_deliverer *d, const struct pollfd *pfd, size_t n)
{
	if (d->lmtp == NULL || lmtpc_conn_closed(d->lmtp))
		return;
	int fd = lmtpc_conn_fd(d->lmtp);
	for (size_t i = 0; i < n; i++)
		if (pfd[i].fd == fd && pfd[i].revents != 0)
			lmtpc_conn_handle(d->lmtp, pfd[i].revents);
	send_waiting(d);
}

/* A delivery waiting for a connection that ended before it was greeted
 * never sent anything: refused. */
static void greeting_lost(rt_wire_deliverer *d)
{
	if (d->cl == NULL || d->lmtp_sent || d->lmtp == NULL || !lmtpc_conn_closed(d->lmtp))
		return;
	char text[160];
	snprintf(text, sizeof(text), "LMTP connection ended before the delivery: %.100s",
		 lmtpc_conn_close_reason(d->lmtp));
	rt_wire_deliver_end(d, MODEL_REPLY_NO, text);
}

void rt_wire_deliver_lmtp_tick(rt_wire_deliverer *d, uint64_t now)
{
	if (d->lmtp == NULL)
		return;
	if (!lmtpc_conn_closed(d->lmtp))
		lmtpc_conn_check_timeouts(d->lmtp, now);
	greeting_lost(d);
	send_waiting(d);
}

int rt_wire_deliver_lmtp_timeout_ms(const rt_wire_deliverer *d, uint64_t now)
{
	if (d->lmtp == NULL || lmtpc_conn_closed(d->lmtp))
		return -1;
	return lmtpc_conn_timeout_ms(d->lmtp, now);
}

void rt_wire_deliver_lmtp_abort(rt_wire_deliverer *d, const char *why)
{
	(void)why;
	if (d->lmtp == NULL)
		return;
	lmtpc_conn_free(d->lmtp); /* a delivery in flight ends unknown (on_done) */
	d->lmtp = NULL;
	if (d->cl != NULL && d->spec.kind == RT_DELIVER_LMTP)
		rt_wire_deliver_end(d, d->lmtp_sent ? MODEL_REPLY_UNKNOWN : MODEL_REPLY_NO, why);
	d->lmtp_sent = false;
}
