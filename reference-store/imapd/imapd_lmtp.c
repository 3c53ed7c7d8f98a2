/* One LMTP connection (RFC 2033): the conversation and its state machine
 * (LHLO, then transactions of MAIL, RCPT..., DATA), and the delivery of
 * each message into the store the IMAP side serves, by rs_append with the
 * same store options (pid, --mutant) as an IMAP session's: a delivery
 * races the IMAP connections through the store's locks, as a real MTA's
 * does, and a store mutant shows over LMTP as over APPEND.
 *
 * Pipelining (RFC 2920) is reading commands in order from the buffer:
 * replies queue up and go out before the next wait for input. Every wait
 * has the idle timeout; every buffer a bound (imapd_lmtp.h). */
#include "imapd_conn.h"
#include "imapd_lmtp.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The input window: a whole command line fits with room to spare; DATA
 * streams through it in pieces of this size. */
#define IN_CAP ((size_t)64 << 10)
/* A message buffer above this is freed after its transaction, not kept. */
#define MSG_KEEP_MAX ((size_t)8 << 20)

typedef struct lmtp {
	int fd;
	const imapd_config *cfg;
	rs_fs *fs;
	rs_options ropt;           /* of every mailbox this connection opens */
	bool closing;              /* stop after this output */
	char *in;
	size_t in_pos, in_len;
	bool skipping;             /* discarding the rest of an over-long line */
	cm_buf out;
	/* the session and its transaction */
	bool lhlo, mail, in_data;
	size_t nrcpt;
	char rcpt[IMAPD_LMTP_RCPT_MAX][MODEL_NAME_MAX]; /* canonical mailboxes */
	imapd_lmtp_data data;
	cm_buf msg;
} lmtp;

/* ---- replies ---- */

/* One reply line (CRLF added), logged as the IMAP side logs its replies. */
__attribute__((format(printf, 2, 3)))
static void reply(lmtp *l, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cm_buf_printf(&l->out, "%s\r\n", text);
	imapd_log(l->cfg, "S: %.200s", text);
}

/* ---- I/O ---- */

/* Waits for the socket: 1 ready, -1 idle timeout or error, -2 shutdown. */
static int wait_fd(lmtp *l, short events)
{
	struct pollfd p = {.fd = l->fd, .events = events};
	int ms = (int)CM_MIN((uint64_t)l->cfg->idle_timeout_s * 1000, (uint64_t)INT32_MAX);
	for (;;) {
		if (imapd_stop)
			return -2;
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return -1;
	}
}

/* Writes and clears l->out; false (and closing) on a dead peer. */
static bool flush(lmtp *l)
{
	size_t off = 0;
	bool ok = true;
	while (off < l->out.len && ok) {
		ssize_t n = send(l->fd, l->out.data + off, l->out.len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
			   wait_fd(l, POLLOUT) == 1))
			ok = false; /* a peer that does not read is gone */
	}
	cm_buf_clear(&l->out);
	if (!ok)
		l->closing = true;
	return ok;
}

/* Reads more bytes after what is buffered: 1, 0 EOF, -1 timeout or
 * error, -2 shutdown. */
static int fill(lmtp *l)
{
	if (l->in_pos > 0) {
		memmove(l->in, l->in + l->in_pos, l->in_len - l->in_pos);
		l->in_len -= l->in_pos;
		l->in_pos = 0;
	}
	/* Never full here: a longer line than fits is skipped as it comes. */
	assert(l->in_len < IN_CAP);
	for (;;) {
		int w = wait_fd(l, POLLIN);
		if (w < 0)
			return w;
		ssize_t n = read(l->fd, l->in + l->in_len, IN_CAP - l->in_len);
		if (n > 0) {
			l->in_len += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/* ---- the transaction ---- */

static void reset(lmtp *l)
{
	l->mail = false;
	l->in_data = false;
	l->nrcpt = 0;
	if (l->msg.cap > MSG_KEEP_MAX)
		cm_buf_free(&l->msg);
	cm_buf_clear(&l->msg);
}

static void do_lhlo(lmtp *l)
{
	reset(l);
	l->lhlo = true;
	reply(l, "250-localhost");
	reply(l, "250-PIPELINING");
	reply(l, "250-ENHANCEDSTATUSCODES");
	reply(l, "250 8BITMIME");
}

static void do_mail(lmtp *l)
{
	if (!l->lhlo)
		reply(l, "503 5.5.1 Say LHLO first");
	else if (l->mail)
		reply(l, "503 5.5.1 Nested MAIL command");
	else {
		l->mail = true;
		reply(l, "250 2.1.0 Sender OK");
	}
}

/* RCPT: the account's address, of a mailbox that exists now (a mailbox
 * deleted before DATA fails that recipient's delivery then). */
static void do_rcpt(lmtp *l, const imapd_lmtp_cmd *cmd)
{
	char name[MODEL_NAME_MAX], canon[MODEL_NAME_MAX], path[RS_NAMESPACE_PATH_MAX];
	if (!l->mail) {
		reply(l, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (l->nrcpt >= IMAPD_LMTP_RCPT_MAX) {
		reply(l, "452 4.5.3 Too many recipients (at most %d)", IMAPD_LMTP_RCPT_MAX);
		return;
	}
	int r = imapd_lmtp_recipient(l->cfg->user, cmd->arg, name);
	if (r == IMAPD_LMTP_RCPT_USER) {
		reply(l, "550 5.1.1 No such user here");
		return;
	}
	if (r == IMAPD_LMTP_RCPT_OK)
		rs_namespace_canon(name, canon);
	if (r != IMAPD_LMTP_RCPT_OK ||
	    rs_namespace_path(l->cfg->root, canon, path, sizeof(path)) != 0 ||
	    !rs_namespace_exists(l->fs, l->cfg->root, canon)) {
		reply(l, "550 5.1.1 No such mailbox");
		return;
	}
	snprintf(l->rcpt[l->nrcpt++], MODEL_NAME_MAX, "%s", canon);
	reply(l, "250 2.1.5 Recipient OK (%s)", canon);
}

static void do_data(lmtp *l)
{
	if (!l->mail) {
		reply(l, "503 5.5.1 Need MAIL before DATA");
		return;
	}
	/* RFC 2033 4.2: no successful RCPT, no DATA. */
	if (l->nrcpt == 0) {
		reply(l, "503 5.5.1 No valid recipients");
		return;
	}
	l->in_data = true;
	imapd_lmtp_data_start(&l->data, IMAPD_LMTP_MESSAGE_MAX);
	cm_buf_clear(&l->msg);
	reply(l, "354 Start mail input; end with <CRLF>.<CRLF>");
}

/* ---- delivery ---- */

/* The reply to a failed delivery; the store's reason goes to the log. */
static void delivery_failed(lmtp *l, const char *mailbox, rs_err err, const char *why)
{
	imapd_log(l->cfg, "lmtp delivery to %s failed: %s (%s)", mailbox,
		  rs_strerror(err), why != NULL ? why : "");
	if (err == RS_ENOSPC)
		reply(l, "452 4.3.1 Insufficient storage for %s", mailbox);
	else if (err == RS_EUNKNOWN)
		reply(l, "451 4.3.0 Outcome unknown for %s: the message may have been "
		      "delivered", mailbox);
	else
		reply(l, "451 4.3.0 Cannot deliver to %s: %s", mailbox, rs_strerror(err));
}

/* One rs_append, one reply, for one accepted recipient. The message is
 * stored exactly as received (dot-unstuffed, line ends as sent): no
 * Return-Path or Received field is added, because the harness's checker
 * compares each delivered message byte for byte with what it sent. */
static void deliver_one(lmtp *l, const char *mailbox)
{
	if (l->data.too_big) {
		reply(l, "552 5.3.4 Message too big for %s (over %zu bytes)", mailbox,
		      IMAPD_LMTP_MESSAGE_MAX);
		return;
	}
	char *path = rs_namespace_mailbox_path(l->cfg->root, mailbox);
	rs_mailbox *mb = NULL;
	char *why = NULL;
	uint32_t uid = 0;
	rs_err err = path == NULL ? RS_ENOENT : rs_open(l->fs, path, &l->ropt, &mb, &why);
	free(path);
	if (err == RS_OK)
		err = rs_append(mb, l->msg.data != NULL ? l->msg.data : "", l->msg.len, 0,
				&uid, NULL);
	if (err == RS_OK) {
		imapd_log(l->cfg, "lmtp delivered uid %" PRIu32 " to %s", uid, mailbox);
		reply(l, "250 2.0.0 %" PRIu32 " delivered to %s", uid, mailbox);
	} else {
		delivery_failed(l, mailbox, err, why != NULL ? why : mb ? rs_last_error(mb) : NULL);
	}
	free(why);
	rs_close(mb);
}

/* After the final dot: one reply per accepted recipient, in RCPT order
 * (RFC 2033 4.2), each a delivery of its own (two recipients in one
 * mailbox are two messages). */
static void end_data(lmtp *l)
{
	assert(l->data.done && l->nrcpt > 0);
	for (size_t i = 0; i < l->nrcpt; i++)
		deliver_one(l, l->rcpt[i]);
	reset(l);
}

/* ---- commands ---- */

static void command(lmtp *l, const char *line, size_t n)
{
	imapd_lmtp_cmd cmd;
	cm_err err;
	imapd_log(l->cfg, "C: %.*s%s", (int)CM_MIN(n, (size_t)200), line, n > 200 ? " ..." : "");
	int r = imapd_lmtp_parse(line, n, &cmd, &err);
	if (r == IMAPD_LMTP_UNKNOWN) {
		reply(l, "500 5.5.1 Unknown command");
		return;
	}
	if (r != IMAPD_LMTP_OK) {
		reply(l, "501 5.5.4 %.200s", err.text);
		return;
	}
	switch (cmd.verb) {
	case IMAPD_LMTP_LHLO: do_lhlo(l); break;
	case IMAPD_LMTP_MAIL: do_mail(l); break;
	case IMAPD_LMTP_RCPT: do_rcpt(l, &cmd); break;
	case IMAPD_LMTP_DATA: do_data(l); break;
	case IMAPD_LMTP_RSET: reset(l); reply(l, "250 2.0.0 OK"); break;
	case IMAPD_LMTP_NOOP: reply(l, "250 2.0.0 OK"); break;
	case IMAPD_LMTP_VRFY: reply(l, "252 2.5.0 Cannot VRFY; send the message"); break;
	case IMAPD_LMTP_HELO: reply(l, "500 5.5.1 This is LMTP: say LHLO"); break;
	case IMAPD_LMTP_NOTIMPL: reply(l, "502 5.5.1 Command not implemented"); break;
	case IMAPD_LMTP_QUIT:
		reply(l, "221 2.0.0 Bye");
		l->closing = true;
		break;
	default:
		assert(!"a verb the parser does not return");
	}
}

/* The next command line from the buffer, if a whole one is there.
 * Returns whether any byte was consumed. */
static bool next_line(lmtp *l)
{
	const char *start = l->in + l->in_pos;
	size_t avail = l->in_len - l->in_pos;
	const char *nl = memchr(start, '\n', avail);
	if (l->skipping) {
		/* The rest of an over-long line, answered already. */
		l->in_pos += nl != NULL ? (size_t)(nl - start) + 1 : avail;
		l->skipping = nl == NULL;
		return avail > 0;
	}
	size_t n = nl != NULL ? (size_t)(nl - start) : avail;
	/* A CR may be the line end whose LF has not come yet. */
	size_t body = n > 0 && start[n - 1] == '\r' ? n - 1 : n;
	if (body > IMAPD_LMTP_LINE_MAX) {
		/* RFC 5321 4.5.3.1.4: 500 for a line too long; the rest of it
		 * is read and dropped, so the stream stays in step. */
		imapd_log(l->cfg, "lmtp command line over %zu bytes", IMAPD_LMTP_LINE_MAX);
		reply(l, "500 5.5.2 Line too long (at most %zu bytes)", IMAPD_LMTP_LINE_MAX);
		l->in_pos += nl != NULL ? n + 1 : avail;
		l->skipping = nl == NULL;
		return true;
	}
	if (nl == NULL)
		return false;
	l->in_pos += n + 1;
	command(l, start, body);
	return true;
}

/* Handles what is buffered; false when more input is needed. */
static bool step(lmtp *l)
{
	if (!l->in_data)
		return next_line(l);
	size_t avail = l->in_len - l->in_pos;
	size_t used = imapd_lmtp_data_feed(&l->data, l->in + l->in_pos, avail, &l->msg);
	l->in_pos += used;
	if (l->data.too_big && l->msg.data != NULL)
		cm_buf_free(&l->msg); /* never delivered: not held while the rest comes */
	if (l->data.done)
		end_data(l);
	return used > 0;
}

/* Replies go out before each wait for input: all of a pipelined group is
 * answered at once. Their bytes stay bounded: one window of input (IN_CAP)
 * holds at most IN_CAP lines, each answered by one short line, and a
 * DATA's end by IMAPD_LMTP_RCPT_MAX of them. */
static void serve_loop(lmtp *l)
{
	reply(l, "220 localhost LMTP ratchet-imapd ready");
	while (!l->closing) {
		if (step(l))
			continue;
		if (!flush(l))
			break;
		int r = fill(l);
		if (r == -2)
			reply(l, "421 4.3.2 Server shutting down");
		else if (r == -1)
			reply(l, "421 4.4.2 Idle timeout or read error, closing");
		if (r <= 0)
			break;
	}
	flush(l); /* the last replies, or why we stop */
}

void imapd_lmtp_serve(int fd, const imapd_config *cfg)
{
	lmtp *l = cm_xcalloc(1, sizeof(*l)); /* the recipients are 10 KiB */
	l->fd = fd;
	l->cfg = cfg;
	/* Non-blocking: every wait goes through poll() and its timeout. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->fs = rs_posixfs_new();
	l->ropt.pid = (uint32_t)getpid();
	l->ropt.mutants = cfg->mutants;
	l->in = cm_xmalloc(IN_CAP);
	imapd_log(cfg, "lmtp connected");
	serve_loop(l);
	imapd_log(cfg, "lmtp disconnected");
	imapd_conn_linger(fd);
	rs_fs_destroy(l->fs);
	free(l->in);
	cm_buf_free(&l->out);
	cm_buf_free(&l->msg);
	free(l);
	close(fd);
}
