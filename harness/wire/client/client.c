/* The blocking client for set-up and tear-down: one connection, one command
 * at a time, its own poll loop. Every wait ends: commands carry the
 * connection's timeout, the greeting wait a deadline of its own. */
#include "imapc_int.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct imapc_client {
	imapc_conn *conn;
	imapc_response *greeting;
	uint32_t timeout_ms;
	uint64_t deadline_ns;    /* no command runs past it (0: none) */
	imapc_result *res;       /* of the command being run */
	bool done;
	bool greeted;
};

void imapc_result_free(imapc_result *res)
{
	imapc_response_free(res->tagged);
	for (size_t i = 0; i < res->n_untagged; i++)
		imapc_response_free(res->untagged[i]);
	free(res->untagged);
	memset(res, 0, sizeof(*res));
}

static void on_response(void *ctx, imapc_conn *c, const imapc_response *r,
			const imapc_inflight *inflight, size_t n)
{
	imapc_client *cl = ctx;
	imapc_result *res = cl->res;
	(void)c, (void)inflight, (void)n;
	if (!cl->greeted) {
		cl->greeting = imapc_response_dup(r);
		cl->greeted = true;
		return;
	}
	if (res == NULL)
		return;
	CM_GROW(res->untagged, res->cap_untagged, res->n_untagged + 1);
	res->untagged[res->n_untagged++] = imapc_response_dup(r);
}

static void on_done(void *ctx, imapc_conn *c, const imapc_done *d)
{
	imapc_client *cl = ctx;
	imapc_result *res = cl->res;
	(void)c;
	if (res == NULL || d->user != cl)
		return;
	res->outcome = d->outcome;
	res->status = d->status;
	if (d->resp != NULL)
		res->tagged = imapc_response_dup(d->resp);
	if (d->reason != NULL)
		snprintf(res->reason, sizeof(res->reason), "%s", d->reason);
	cl->done = true;
}

/* Polls until *flag, the connection closes or the deadline passes. */
static bool wait_for(imapc_client *cl, const bool *flag, uint64_t deadline_ns)
{
	while (!*flag && !imapc_conn_closed(cl->conn)) {
		uint64_t now = cm_now_ns();
		if (now >= deadline_ns)
			return false;
		int ms = (int)CM_MIN((deadline_ns - now) / 1000000 + 1, 60000);
		int t = imapc_conn_timeout_ms(cl->conn, now);
		if (t >= 0)
			ms = CM_MIN(ms, t);
		struct pollfd pfd = {.fd = imapc_conn_fd(cl->conn),
				     .events = imapc_conn_poll_events(cl->conn)};
		int n = poll(&pfd, 1, ms);
		if (n < 0 && errno != EINTR)
			cm_panic("imapc client: poll: %s", strerror(errno));
		imapc_conn_handle(cl->conn, n > 0 ? pfd.revents : 0);
	}
	return *flag;
}

static void fill_err(cm_err *err, const char *what, const imapc_result *res)
{
	if (err == NULL)
		return;
	if (res->outcome == IMAPC_REPLIED && res->tagged != NULL)
		snprintf(err->text, sizeof(err->text), "imapc: %s: %.*s", what,
			 (int)CM_MIN(res->tagged->raw.len, 200), res->tagged->raw.p);
	else
		snprintf(err->text, sizeof(err->text), "imapc: %s: %s: %.180s", what,
			 imapc_outcome_name(res->outcome), res->reason);
	size_t n = strlen(err->text);
	while (n > 0 && (err->text[n - 1] == '\n' || err->text[n - 1] == '\r'))
		err->text[--n] = '\0';
}

int imapc_client_run(imapc_client *cl, const imapc_cmd *cmd,
		     uint32_t timeout_ms, imapc_result *res)
{
	memset(res, 0, sizeof(*res));
	if (cl->res != NULL)
		cm_panic("imapc_client_run: not reentrant");
	uint32_t ms = timeout_ms ? timeout_ms : cl->timeout_ms;
	if (cl->deadline_ns != 0) {
		uint64_t now = cm_now_ns();
		if (now >= cl->deadline_ns) {
			res->outcome = IMAPC_NOT_SENT;
			snprintf(res->reason, sizeof(res->reason), "the time allowed is up");
			return -1;
		}
		ms = (uint32_t)CM_MIN((uint64_t)ms, (cl->deadline_ns - now + 999999) / 1000000);
	}
	if (imapc_conn_send(cl->conn, cmd, cl, ms) == NULL) {
		res->outcome = IMAPC_NOT_SENT;
		snprintf(res->reason, sizeof(res->reason), "%s",
			 imapc_conn_close_reason(cl->conn));
		return -1;
	}
	cl->res = res;
	cl->done = false;
	/* The command's own timeout closes the connection: this ends. */
	wait_for(cl, &cl->done, UINT64_MAX);
	cl->res = NULL;
	if (!cl->done)
		cm_panic("imapc_client_run: command neither done nor failed");
	return res->outcome == IMAPC_REPLIED && res->status == IMAPC_T_OK ? 0 : -1;
}

void imapc_client_set_deadline(imapc_client *cl, uint64_t deadline_ns)
{
	cl->deadline_ns = deadline_ns;
}

int imapc_client_runf(imapc_client *cl, imapc_result *res, const char *fmt, ...)
{
	cm_buf b = {0};
	imapc_cmd cmd;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		cm_panic("imapc_client_runf: bad format");
	cm_buf_reserve(&b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b.len = (size_t)n;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, b.data);
	int rc = imapc_client_run(cl, &cmd, 0, res);
	imapc_cmd_free(&cmd);
	cm_buf_free(&b);
	return rc;
}

static int run_simple(imapc_client *cl, const imapc_cmd *cmd, const char *what,
		      cm_err *err)
{
	imapc_result res;
	int rc = imapc_client_run(cl, cmd, 0, &res);
	if (rc < 0)
		fill_err(err, what, &res);
	imapc_result_free(&res);
	return rc;
}

int imapc_client_capability(imapc_client *cl, cm_err *err)
{
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "CAPABILITY");
	int rc = run_simple(cl, &cmd, "CAPABILITY", err);
	imapc_cmd_free(&cmd);
	return rc;
}

/* After authentication the capabilities change: use what the server sent
 * along (a CAPABILITY code or response), else ask. */
static int authenticated(imapc_client *cl, uint64_t gen, cm_err *err)
{
	if (imapc_conn_caps_gen(cl->conn) != gen)
		return 0;
	return imapc_client_capability(cl, err);
}

int imapc_client_login(imapc_client *cl, const char *user, const char *pass,
		       cm_err *err)
{
	if (imapc_conn_caps(cl->conn)->mask & IMAPC_CAP_LOGINDISABLED) {
		snprintf(err->text, sizeof(err->text), "imapc: LOGIN: LOGINDISABLED advertised");
		return -1;
	}
	uint64_t gen = imapc_conn_caps_gen(cl->conn);
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_login(&cmd, user, pass);
	int rc = run_simple(cl, &cmd, "LOGIN", err);
	imapc_cmd_free(&cmd);
	return rc < 0 ? -1 : authenticated(cl, gen, err);
}

int imapc_client_authenticate_plain(imapc_client *cl, const char *user,
				    const char *pass, cm_err *err)
{
	uint64_t gen = imapc_conn_caps_gen(cl->conn);
	bool ir = imapc_conn_caps(cl->conn)->mask & IMAPC_CAP_SASL_IR;
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_authenticate_plain(&cmd, NULL, user, pass, ir);
	int rc = run_simple(cl, &cmd, "AUTHENTICATE PLAIN", err);
	imapc_cmd_free(&cmd);
	return rc < 0 ? -1 : authenticated(cl, gen, err);
}

int imapc_client_enable(imapc_client *cl, const char *exts, uint32_t *enabled,
			cm_buf *names, cm_err *err)
{
	imapc_result res;
	uint32_t mask = 0;
	int rc = imapc_client_runf(cl, &res, "ENABLE %s", exts);
	if (rc < 0)
		fill_err(err, "ENABLE", &res);
	for (size_t i = 0; rc == 0 && i < res.n_untagged; i++) {
		const imapc_response *r = res.untagged[i];
		if (r->type != IMAPC_T_ENABLED)
			continue;
		mask |= r->caps.mask;
		for (size_t k = 0; names != NULL && k < r->caps.n; k++) {
			if (names->len > 0)
				cm_buf_putc(names, ' ');
			cm_buf_append(names, r->caps.names[k].p, r->caps.names[k].len);
		}
	}
	if (enabled != NULL)
		*enabled = mask;
	imapc_result_free(&res);
	return rc;
}

int imapc_client_logout(imapc_client *cl, cm_err *err)
{
	imapc_cmd cmd;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "LOGOUT");
	int rc = run_simple(cl, &cmd, "LOGOUT", err);
	imapc_cmd_free(&cmd);
	return rc;
}

/* ---- life cycle ------------------------------------------------------------------ */
imapc_client *imapc_client_new_fd(int fd, uint32_t timeout_ms,
				  const imapc_conn_opts *opts, cm_err *err)
{
	imapc_client *cl = cm_xcalloc(1, sizeof(*cl));
	imapc_conn_cb cb = {.response = on_response, .done = on_done, .ctx = cl};
	imapc_conn_opts o = {0};
	if (opts != NULL)
		o = *opts;
	cl->timeout_ms = timeout_ms ? timeout_ms : 30000;
	if (o.timeout_ms == 0)
		o.timeout_ms = cl->timeout_ms;
	cl->conn = imapc_conn_new(fd, &o, &cb);
	/* After STARTTLS no greeting comes: ask for the capabilities. */
	cl->greeted = o.no_greeting;
	uint64_t deadline = cm_now_ns() + (uint64_t)cl->timeout_ms * 1000000;
	if (!wait_for(cl, &cl->greeted, deadline) && !imapc_conn_closed(cl->conn))
		imapc_conn_close(cl->conn, "timeout waiting for the greeting");
	if (o.no_greeting) {
		if (imapc_client_capability(cl, err) < 0) {
			imapc_client_free(cl);
			return NULL;
		}
		return cl;
	}
	if (cl->greeting == NULL || cl->greeting->type == IMAPC_T_BYE) {
		snprintf(err->text, sizeof(err->text), "imapc: no greeting: %s",
			 cl->greeting ? "server said BYE"
				      : imapc_conn_close_reason(cl->conn));
		imapc_client_free(cl);
		return NULL;
	}
	if (cl->greeting->code.kind != IMAPC_CODE_CAPABILITY &&
	    imapc_client_capability(cl, err) < 0) {
		imapc_client_free(cl);
		return NULL;
	}
	return cl;
}

imapc_client *imapc_client_connect(const char *host, const char *port,
				   uint32_t timeout_ms,
				   const imapc_conn_opts *opts, cm_err *err)
{
	int fd = imapc_connect_tcp(host, port, timeout_ms, err);
	if (fd < 0)
		return NULL;
	return imapc_client_new_fd(fd, timeout_ms, opts, err);
}

void imapc_client_free(imapc_client *cl)
{
	if (cl == NULL)
		return;
	imapc_conn_free(cl->conn);
	imapc_response_free(cl->greeting);
	free(cl);
}

imapc_conn *imapc_client_conn(imapc_client *cl)
{
	return cl->conn;
}

const imapc_response *imapc_client_greeting(const imapc_client *cl)
{
	return cl->greeting;
}

const imapc_caps *imapc_client_caps(const imapc_client *cl)
{
	return imapc_conn_caps(cl->conn);
}
