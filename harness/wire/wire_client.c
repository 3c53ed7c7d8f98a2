/* One virtual client = one connection, driven by the campaign's poll loop.
 * At most one command is in flight per client, so every untagged response
 * belongs to the op in flight (or, between ops, to the next one: a server
 * may legally push EXISTS or FETCH at any time, though Dovecot and Cyrus
 * push nothing without IDLE; such data is then judged in a window that
 * starts after it was produced: see the README's known limit).
 *
 * Every op is recorded as invoke (before its first byte is queued) and
 * completion (after its tagged reply is parsed): both stamps lie outside
 * the server's real execution, as the checker's windows (C2) require. A
 * lost connection or a timeout makes the op "info" (outcome unknown).
 *
 * A protocol error (imapc_conn_protocol_error: a malformed response, a
 * tag never sent, a response beyond its budget) is more than a lost
 * connection: it is a finding. The completion of the op in flight (or,
 * when none is, of the client's next recorded op) carries it in
 * result.protocol, so that the history holds it and the checker, online
 * and in `ratchet check`, reports RESPONSE-SYNTAX. */
#include "wire_private.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- recording ---- */

static uint64_t stamp(rt_wire *w)
{
	uint64_t t = cm_now_ns();
	w->last_t = t > w->last_t ? t : w->last_t + 1; /* strictly increasing */
	return w->last_t;
}

static void emit(rt_wire *w, const model_event *ev)
{
	w->events++;
	model_checker_feed(w->checker, ev);
	if (w->hist != NULL)
		model_history_write(w->hist, ev);
}

uint64_t rt_wire_record_invoke(rt_wire *w, uint32_t client, const model_op *op)
{
	model_event ev;
	model_event_init(&ev);
	ev.type = MODEL_EV_INVOKE;
	ev.client = client;
	ev.op_id = ++w->op_id;
	ev.t_ns = stamp(w);
	ev.op = *op; /* shallow: emit only reads it */
	emit(w, &ev);
	w->ops++;
	return ev.op_id;
}

void rt_wire_record_completion(rt_wire *w, uint32_t client, uint64_t op_id,
			       const model_op *op, const model_result *res)
{
	model_event ev;
	model_event_init(&ev);
	ev.client = client;
	ev.op_id = op_id;
	ev.t_ns = stamp(w);
	ev.op = *op;
	ev.res = *res;
	if (res->status == MODEL_REPLY_OK)
		ev.type = MODEL_EV_OK;
	else if (res->status == MODEL_REPLY_NO || res->status == MODEL_REPLY_BAD)
		ev.type = MODEL_EV_FAIL;
	else
		ev.type = MODEL_EV_INFO;
	emit(w, &ev);
}

void rt_wire_latency(rt_wire *w, model_op_kind kind, uint64_t inv_ns, bool unknown)
{
	uint64_t now = cm_now_ns(), ns = now > inv_ns ? now - inv_ns : 0;
	if (w->lat != NULL)
		rt_latency_add(w->lat, kind, ns, unknown);
	if (w->lat_iv != NULL)
		rt_latency_add(w->lat_iv, kind, ns, unknown);
}

uint64_t rt_wire_record_checkpoint(rt_wire *w, uint64_t op_id)
{
	model_op op;
	model_op_init(&op, MODEL_OP_CHECKPOINT);
	if (op_id == 0)
		return rt_wire_record_invoke(w, 0, &op);
	model_result res;
	model_result_init(&res);
	res.status = MODEL_REPLY_OK;
	rt_wire_record_completion(w, 0, op_id, &op, &res);
	model_result_free(&res);
	return op_id;
}

/* ---- completing ops ---- */

static void finish(rt_wire_client *cl)
{
	rt_wire *w = cl->w;
	if (cl->res.status == MODEL_REPLY_NONE)
		cl->res.status = MODEL_REPLY_UNKNOWN;
	if (cl->recorded) {
		if (cl->res.status == MODEL_REPLY_UNKNOWN)
			w->unknown++;
		rt_wire_latency(w, cl->op.kind, cl->inv_ns, cl->res.status == MODEL_REPLY_UNKNOWN);
		if (cl->protocol[0] != '\0') {
			memcpy(cl->res.protocol, cl->protocol, sizeof(cl->res.protocol));
			cl->protocol[0] = '\0';
		}
		rt_wire_record_completion(w, cl->id, cl->op_id, &cl->op, &cl->res);
	}
	rt_client_state_apply(&cl->known, &w->work, &cl->op, &cl->res);
	if (w->completed != NULL)
		w->completed(w, cl, &cl->op, &cl->res);
	if (cl->op.kind == MODEL_OP_CONNECT) {
		bool ok = cl->res.status == MODEL_REPLY_OK;
		cl->fails = ok ? 0 : cl->fails + 1;
		if (!ok) {
			snprintf(cl->last_error, sizeof(cl->last_error), "%s", cl->res.text);
			/* Back off: a server refusing connections is not hammered. */
			cl->retry_at = cm_now_ns() + (50000000ull << CM_MIN(cl->fails, 5u));
		}
	}
	cl->state = RT_WIRE_IDLE;
	model_op_free(&cl->op);
	model_result_clear(&cl->res);
}

void rt_wire_client_end(rt_wire_client *cl)
{
	assert(cl->state != RT_WIRE_IDLE);
	finish(cl);
}

static void fail_op(rt_wire_client *cl, model_reply st, const char *why)
{
	cl->res.status = st;
	snprintf(cl->res.text, sizeof(cl->res.text), "%.95s", why ? why : "connection lost");
	finish(cl);
}

/* ---- connection callbacks ---- */

/* Why the connection ended, counted once per connection: a protocol error
 * (kept for the history), a timeout (counted where it is detected), a
 * close of our own ("closed by client..."), or the server dropped it. */
static void connection_ended(rt_wire_client *cl, imapc_conn *c, const char *reason)
{
	if (cl->end_counted)
		return;
	cl->end_counted = true;
	const char *bytes = imapc_conn_protocol_bytes(c);
	if (bytes != NULL) {
		cl->w->protocol_errors++;
		snprintf(cl->protocol, sizeof(cl->protocol), "%.120s; the response began "
			 "\"%.100s\"", reason, bytes);
	} else if (strncmp(reason, "timeout", 7) != 0 && !cl->logging_out &&
		   strncmp(reason, "closed by client", 16) != 0) {
		cl->w->connections_lost++;
	}
}

static void send_login(rt_wire_client *cl)
{
	const rt_wire_url *u = &rt_wire_client_setup(cl)->url;
	imapc_cmd *cmd = &cl->w->cmd;
	imapc_cmd_reset(cmd);
	if (imapc_conn_caps(cl->conn)->mask & IMAPC_CAP_LOGINDISABLED)
		imapc_cmd_authenticate_plain(cmd, NULL, u->user, u->pass,
					     imapc_conn_caps(cl->conn)->mask & IMAPC_CAP_SASL_IR);
	else
		imapc_cmd_login(cmd, u->user, u->pass);
	cl->state = RT_WIRE_LOGIN;
	if (imapc_conn_send(cl->conn, cmd, cl, 0) == NULL)
		fail_op(cl, MODEL_REPLY_UNKNOWN, imapc_conn_close_reason(cl->conn));
}

static void on_greeting(rt_wire_client *cl, const imapc_response *r)
{
	if (r->type == IMAPC_T_PREAUTH) {
		cl->res.status = MODEL_REPLY_OK; /* already logged in */
		finish(cl);
	} else if (r->type == IMAPC_T_OK) {
		send_login(cl);
	} else {
		char why[120];
		snprintf(why, sizeof(why), "greeting: %.*s", (int)CM_MIN(r->text.len, 100),
			 r->text.p);
		fail_op(cl, MODEL_REPLY_NO, why);
	}
}

static void on_response(void *ctx, imapc_conn *c, const imapc_response *r,
			const imapc_inflight *inflight, size_t n)
{
	rt_wire_client *cl = ctx;
	(void)c, (void)inflight, (void)n;
	if (r->kind == IMAPC_CONTINUATION)
		return;
	switch (cl->state) {
	case RT_WIRE_GREETING: on_greeting(cl, r); break;
	case RT_WIRE_BUSY: rt_wire_conv_untagged(r, &cl->res); break;
	case RT_WIRE_IDLE: rt_wire_conv_untagged(r, &cl->early); break;
	default: break; /* LOGIN: capabilities only */
	}
}

static void on_done(void *ctx, imapc_conn *c, const imapc_done *d)
{
	rt_wire_client *cl = ctx;
	if (cl->state != RT_WIRE_LOGIN && cl->state != RT_WIRE_BUSY)
		return;
	if (d->outcome != IMAPC_REPLIED) {
		if (strncmp(d->reason, "timeout", 7) == 0)
			cl->w->timeouts++;
		connection_ended(cl, c, d->reason);
		fail_op(cl, MODEL_REPLY_UNKNOWN, d->reason);
		return;
	}
	if (cl->state == RT_WIRE_LOGIN) {
		cl->res.status = d->status == IMAPC_T_OK ? MODEL_REPLY_OK : MODEL_REPLY_NO;
		if (d->status != IMAPC_T_OK)
			snprintf(cl->res.text, sizeof(cl->res.text), "login: %.*s",
				 (int)CM_MIN(d->resp->text.len, 80), d->resp->text.p);
	} else {
		rt_wire_conv_tagged(d->resp, &cl->res);
	}
	finish(cl);
}

static void on_closed(void *ctx, imapc_conn *c, const char *reason)
{
	rt_wire_client *cl = ctx;
	if (cl->conn == c)
		connection_ended(cl, c, reason);
	cl->closed = true;
	/* Waiting for a greeting, no command is pending: nothing else ends it. */
	if (cl->state == RT_WIRE_GREETING)
		fail_op(cl, MODEL_REPLY_UNKNOWN, reason);
}

/* ---- starting ops ---- */

static void drop_conn(rt_wire_client *cl)
{
	if (cl->conn == NULL)
		return;
	imapc_conn *c = cl->conn;
	cl->conn = NULL;
	imapc_conn_free(c); /* nothing pending: no callbacks change state */
	cl->closed = false;
	cl->end_counted = false;
	cl->logging_out = false;
	model_result_clear(&cl->early);
}

static void start_connect(rt_wire_client *cl)
{
	rt_wire *w = cl->w;
	const rt_wire_setup *ws = rt_wire_client_setup(cl);
	cm_err err = {{0}};
	drop_conn(cl);
	w->reconnects++;
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "c%u.", cl->id);
	imapc_conn_opts co = {.tag_prefix = prefix, .timeout_ms = w->setup->timeout_ms};
	int fd = w->connect_fd != NULL ? w->connect_fd(w, cl, &err)
				       : rt_wire_connect(ws, &co, &err);
	if (fd < 0) {
		fail_op(cl, MODEL_REPLY_NO, err.text);
		return;
	}
	imapc_conn_cb cb = {.response = on_response, .done = on_done,
			    .closed = on_closed, .ctx = cl};
	cl->conn = imapc_conn_new(fd, &co, &cb);
	cl->state = RT_WIRE_GREETING;
	cl->greet_deadline = cm_now_ns() + (uint64_t)w->setup->timeout_ms * 1000000u;
	/* After STARTTLS no greeting comes: log in now. */
	if (co.no_greeting)
		send_login(cl);
}

static void start_command(rt_wire_client *cl)
{
	if (cl->conn == NULL || cl->closed) {
		fail_op(cl, MODEL_REPLY_UNKNOWN, cl->conn ? imapc_conn_close_reason(cl->conn)
						       : "not connected");
		return;
	}
	/* Data pushed between ops opens this op's result. */
	if (cl->early.nut > 0) {
		model_result t = cl->res;
		cl->res = cl->early;
		cl->early = t;
	}
	rt_wire_render(&cl->w->cmd, &cl->op);
	cl->state = RT_WIRE_BUSY;
	cl->logging_out = cl->op.kind == MODEL_OP_LOGOUT;
	if (imapc_conn_send(cl->conn, &cl->w->cmd, cl, 0) == NULL) {
		fail_op(cl, MODEL_REPLY_UNKNOWN, imapc_conn_close_reason(cl->conn));
		return;
	}
	/* Out now rather than at the next poll: one round trip per op. May
	 * complete the op (a write error) before returning. */
	imapc_conn_on_writable(cl->conn);
}

void rt_wire_client_start(rt_wire_client *cl, model_op *op, bool record)
{
	if (cl->state != RT_WIRE_IDLE)
		cm_panic("wire: client %u started an op while busy", cl->id);
	cl->op = *op;
	memset(op, 0, sizeof(*op));
	cl->op.replica = cl->replica; /* every event of its ops names it */
	model_result_clear(&cl->res);
	cl->recorded = record;
	cl->op_id = record ? rt_wire_record_invoke(cl->w, cl->id, &cl->op) : 0;
	cl->inv_ns = cm_now_ns();
	if (cl->op.kind == MODEL_OP_CONNECT) {
		start_connect(cl);
	} else if (cl->role == RT_WIRE_LDA && cl->w->dlv != NULL) {
		cl->state = RT_WIRE_BUSY; /* a delivery driver's, not IMAP */
		rt_wire_deliver_start(cl->w->dlv, cl);
	} else {
		start_command(cl);
	}
}

void rt_wire_client_tick(rt_wire_client *cl, uint64_t now)
{
	if (cl->state == RT_WIRE_GREETING && now >= cl->greet_deadline) {
		cl->w->timeouts++;
		imapc_conn_close(cl->conn, "timeout waiting for the greeting");
	}
	if (cl->state == RT_WIRE_IDLE && cl->closed)
		drop_conn(cl);
}

void rt_wire_client_wait(rt_wire_client *cl)
{
	while (cl->state != RT_WIRE_IDLE) {
		/* A closed connection ends its command (conn_fail calls done,
		 * a greeting's wait ends in on_closed): busy means open. */
		if (cl->conn == NULL || cl->closed)
			cm_panic("wire: client %u busy without a connection", cl->id);
		int ms = imapc_conn_timeout_ms(cl->conn, cm_now_ns());
		struct pollfd p = {.fd = imapc_conn_fd(cl->conn),
				   .events = imapc_conn_poll_events(cl->conn)};
		/* 100 ms at most: the greeting's deadline is ours (tick). */
		int rc = poll(&p, 1, ms >= 0 && ms < 100 ? ms : 100);
		if (rc < 0 && errno != EINTR)
			cm_panic("wire: poll: %s", strerror(errno));
		imapc_conn_handle(cl->conn, rc > 0 ? p.revents : 0);
		uint64_t now = cm_now_ns();
		if (cl->conn != NULL && !cl->closed)
			imapc_conn_check_timeouts(cl->conn, now);
		rt_wire_client_tick(cl, now);
	}
}

rt_wire_setup *rt_wire_client_setup(const rt_wire_client *cl)
{
	assert(cl->replica <= 2 && (cl->replica < 2 || cl->w->peer != NULL));
	return cl->replica == 2 ? cl->w->peer : cl->w->setup;
}

bool rt_wire_client_usable(const rt_wire_client *cl)
{
	return cl->conn != NULL && !cl->closed && cl->known.connected;
}

void rt_wire_client_push(rt_wire_client *cl, const model_op *op)
{
	CM_GROW(cl->queue, cl->capqueue, cl->nqueue + 1);
	cl->queue[cl->nqueue++] = *op;
}

void rt_wire_client_init(rt_wire_client *cl, rt_wire *w, uint32_t id, rt_wire_role role)
{
	memset(cl, 0, sizeof(*cl));
	cl->w = w;
	cl->id = id;
	cl->role = role;
	rt_client_state_reset(&cl->known);
	rt_choice_prng(&cl->ch, rt_derive_seed(w->o->seed, id), false);
}

void rt_wire_client_free(rt_wire_client *cl)
{
	drop_conn(cl);
	model_op_free(&cl->op);
	model_result_free(&cl->res);
	model_result_free(&cl->early);
	for (size_t i = 0; i < cl->nqueue; i++)
		model_op_free(&cl->queue[i]);
	free(cl->queue);
	rt_client_state_free(&cl->known);
	rt_choice_free(&cl->ch);
}
