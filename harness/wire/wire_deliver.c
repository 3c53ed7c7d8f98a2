/* The delivery drivers (`--deliver SPEC`): how the campaign's delivery
 * stream reaches the target when it is not an IMAP APPEND.
 *
 *   imap-append         (default) APPEND from the delivery connection
 *   lmtp://HOST:PORT    LMTP over TCP (wire_deliver_lmtp.c)
 *   lmtp:/PATH          LMTP over a UNIX socket
 *   cmd:COMMAND         the server's own LDA: /bin/sh -c COMMAND per
 *                       delivery, the message on stdin, exit 0 = delivered
 *   maildir:DIR         a raw Maildir drop from outside the server: write
 *                       into DIR's tmp/, fsync, rename into new/
 *
 * One delivery is one DELIVER op of the history: invoked when it starts,
 * completed OK only when the target acknowledged it (LMTP 250 for the
 * recipient, the command's exit 0, the rename into new/ done), NO when it
 * refused it (LMTP 4xx/5xx, a non-zero exit: an MTA would retry, so the
 * message must not be there), outcome unknown when nothing can tell (a
 * timeout, a dropped connection after the data, a command killed).
 *
 * Templates name the mailbox: in the LMTP recipient (--deliver-rcpt,
 * default "%u+%m", "%u" alone for INBOX), in COMMAND (shell-quoted) and
 * in DIR: %u the target's user, %m the mailbox name, %p its Maildir++
 * directory (".a.b" for a/b, "" for INBOX), %e its directory in the
 * reference store's root (ratchet-imapd), %% a percent. A DIR without %
 * is a Maildir++ root: DIR/%p. */
#include "wire_private.h"
#include "rs_session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* ---- the spec ---- */

static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int rt_deliver_parse(const char *text, const char *rcpt, rt_deliver_spec *d, cm_err *err)
{
	memset(d, 0, sizeof(*d));
	d->rcpt = rcpt != NULL ? rcpt : "%u+%m";
	d->rcpt_given = rcpt != NULL;
	const char *rest;
	if (text == NULL || strcmp(text, "imap-append") == 0) {
		d->kind = RT_DELIVER_IMAP;
		snprintf(d->display, sizeof(d->display), "imap-append");
	} else if (strncmp(text, "lmtp:", 5) == 0) {
		d->kind = RT_DELIVER_LMTP;
		if (lmtpc_addr_parse(text, &d->lmtp, err) != 0)
			return -1;
		snprintf(d->display, sizeof(d->display), "%.150s", d->lmtp.display);
	} else if ((rest = after(text, "cmd:")) != NULL && rest[0] != '\0') {
		d->kind = RT_DELIVER_CMD;
		d->cmd = rest;
		snprintf(d->display, sizeof(d->display), "a command (the LDA)");
	} else if ((rest = after(text, "maildir:")) != NULL && rest[0] == '/') {
		d->kind = RT_DELIVER_MAILDIR;
		d->dir = rest;
		snprintf(d->display, sizeof(d->display), "maildir:%.140s", rest);
	} else {
		return cm_err_set(err, "--deliver: '%.60s' is none of imap-append, "
				  "lmtp://HOST:PORT, lmtp:/SOCKET, cmd:COMMAND, maildir:/DIR",
				  text);
	}
	if (rcpt != NULL && d->kind != RT_DELIVER_LMTP)
		return cm_err_set(err, "%s", "--deliver-rcpt needs --deliver lmtp:...");
	return 0;
}

/* ---- templates ---- */

/* 'word' for /bin/sh: ' becomes '\'' */
static void shell_quote(cm_buf *out, const char *s)
{
	cm_buf_append(out, "'", 1);
	for (; *s; s++)
		if (*s == '\'')
			cm_buf_append(out, "'\\''", 4);
		else
			cm_buf_append(out, s, 1);
	cm_buf_append(out, "'", 1);
}

/* The Maildir++ directory of a mailbox: "" for INBOX, else '.' then the
 * name with the hierarchy separator sep turned into '.'. */
static void maildirpp(cm_buf *out, const char *box, char sep)
{
	if (strcmp(box, "INBOX") == 0)
		return;
	cm_buf_append(out, ".", 1);
	for (; *box; box++)
		cm_buf_append(out, *box == sep ? "." : box, 1);
}

/* The directory name of box in a reference store's root (its last path
 * component, percent-escaped as rs_namespace_path makes it). */
static int rs_component(cm_buf *out, const char *box)
{
	char path[RS_NAMESPACE_PATH_MAX];
	if (rs_namespace_path("", box, path, sizeof(path)) < 0)
		return -1;
	cm_buf_append(out, path + 1, strlen(path + 1)); /* without the leading '/' */
	return 0;
}

int rt_deliver_expand(const char *tmpl, const rt_wire_setup *s, const char *box, bool quote,
		      cm_buf *out, cm_err *err)
{
	cm_buf_clear(out);
	cm_buf one = {0};
	int rc = 0;
	for (const char *p = tmpl; *p && rc == 0; p++) {
		if (*p != '%') {
			cm_buf_append(out, p, 1);
			continue;
		}
		cm_buf_clear(&one);
		switch (*++p) {
		case '%': cm_buf_append(&one, "%", 1); break;
		case 'u': cm_buf_append(&one, s->url.user, strlen(s->url.user)); break;
		case 'm': cm_buf_append(&one, box, strlen(box)); break;
		case 'p': maildirpp(&one, box, s->sep ? s->sep : '/'); break;
		case 'e': rc = rs_component(&one, box); break;
		default:
			rc = cm_err_set(err, "--deliver: '%%%c' in a template is none of %%u %%m %%p "
					"%%e %%%%", *p ? *p : ' ');
			p -= *p == '\0'; /* a trailing '%': stop at the NUL */
		}
		cm_buf_append(&one, "", 1);
		if (rc == 0 && quote)
			shell_quote(out, one.data);
		else if (rc == 0)
			cm_buf_append(out, one.data, one.len - 1);
	}
	cm_buf_free(&one);
	cm_buf_append(out, "", 1);
	out->len--; /* NUL-terminated, not counted */
	return rc;
}

/* ---- the driver ---- */

void rt_wire_deliver_init(rt_wire_deliverer *d, rt_wire *w, const rt_deliver_spec *spec)
{
	memset(d, 0, sizeof(*d));
	d->w = w;
	d->spec = *spec;
	d->timeout_ns = (uint64_t)w->setup->timeout_ms * 1000000u;
	rt_wire_child_init(&d->child, "the delivery command", 0);
}

void rt_wire_deliver_free(rt_wire_deliverer *d)
{
	assert(d->cl == NULL);
	rt_wire_deliver_lmtp_free(d);
	rt_wire_child_free(&d->child);
}

/* The op in flight ends with d->res: recorded, the client idle again. */
void rt_wire_deliver_end(rt_wire_deliverer *d, model_reply st, const char *text)
{
	rt_wire_client *cl = d->cl;
	assert(cl != NULL && cl->state == RT_WIRE_BUSY);
	d->cl = NULL;
	cl->res.status = st;
	snprintf(cl->res.text, sizeof(cl->res.text), "%.95s", text);
	d->count[st == MODEL_REPLY_OK ? 0 : st == MODEL_REPLY_NO ? 1 : 2]++;
	rt_wire_client_end(cl);
}

/* ---- the LDA: a command per delivery ---- */

static void cmd_start(rt_wire_deliverer *d, const cm_buf *msg)
{
	const model_op *op = &d->cl->op;
	cm_buf cmd = {0};
	cm_err err = {{0}};
	const char *env[] = {"RATCHET_MAILBOX", op->mailbox, "RATCHET_MSG_ID", op->msg_id, NULL};
	if (rt_deliver_expand(d->spec.cmd, d->w->setup, op->mailbox, true, &cmd, &err) != 0 ||
	    rt_wire_child_spawn(&d->child, cmd.data, env, msg->data, msg->len, d->timeout_ns,
				&err) != 0)
		rt_wire_deliver_end(d, MODEL_REPLY_NO, err.text);
	cm_buf_free(&cmd);
}

/* The command ended with wait status st. */
static void cmd_end(rt_wire_deliverer *d, int st)
{
	const rt_wire_child *c = &d->child;
	char text[160];
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !c->killed && c->in_written) {
		rt_wire_deliver_end(d, MODEL_REPLY_OK, "delivered (exit 0)");
		return;
	}
	if (WIFEXITED(st) && !c->killed) {
		/* Exit 0 before the whole message went into its stdin (the
		 * pipe broke: it stopped reading) is no delivery an
		 * MTA would accept either: it is judged as the refusal it is. */
		snprintf(text, sizeof(text), "the delivery command exited %d%s: %.80s",
			 WEXITSTATUS(st), c->in_written ? "" : " before taking the whole message",
			 c->err_line[0] ? c->err_line : "(nothing on stderr)");
		rt_wire_deliver_end(d, MODEL_REPLY_NO, text);
		return;
	}
	if (c->killed)
		d->w->timeouts++;
	rt_wire_deliver_end(d, MODEL_REPLY_UNKNOWN, c->killed
			    ? "the delivery command ran past its timeout: killed"
			    : "the delivery command died of a signal");
}

/* ---- dispatch ---- */

void rt_wire_deliver_start(rt_wire_deliverer *d, rt_wire_client *cl)
{
	assert(d->cl == NULL && cl->state == RT_WIRE_BUSY && cl->op.kind == MODEL_OP_DELIVER);
	d->cl = cl;
	cm_buf msg = {0};
	model_message_bytes_sized(cl->op.msg_id, cl->op.size, &msg);
	switch (d->spec.kind) {
	case RT_DELIVER_LMTP: rt_wire_deliver_lmtp_start(d, &msg); break;
	case RT_DELIVER_CMD: cmd_start(d, &msg); break;
	case RT_DELIVER_MAILDIR: rt_wire_deliver_maildir(d, &msg); break;
	default: cm_panic("wire: delivery driver %d has no start", (int)d->spec.kind);
	}
	cm_buf_free(&msg);
}

size_t rt_wire_deliver_pollfds(const rt_wire_deliverer *d, struct pollfd *pfd)
{
	size_t n = rt_wire_child_pollfds(&d->child, pfd);
	return n + rt_wire_deliver_lmtp_pollfd(d, pfd + n);
}

void rt_wire_deliver_handle(rt_wire_deliverer *d, const struct pollfd *pfd, size_t n)
{
	rt_wire_child_handle(&d->child, pfd, n);
	rt_wire_deliver_lmtp_handle(d, pfd, n);
}

void rt_wire_deliver_tick(rt_wire_deliverer *d, uint64_t now)
{
	int st = 0;
	if (rt_wire_child_tick(&d->child, now, &st))
		cmd_end(d, st);
	rt_wire_deliver_lmtp_tick(d, now);
}

int rt_wire_deliver_timeout_ms(const rt_wire_deliverer *d, uint64_t now)
{
	return rt_wire_deliver_lmtp_timeout_ms(d, now);
}

void rt_wire_deliver_abort(rt_wire_deliverer *d)
{
	rt_wire_child_kill(&d->child);
	rt_wire_deliver_lmtp_abort(d, "closed by client: the run's time is up");
	int st = 0;
	if (d->child.pid != 0 && rt_wire_child_tick(&d->child, cm_now_ns(), &st))
		cmd_end(d, st);
}
