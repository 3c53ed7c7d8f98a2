/* One connection: reading commands (lines, synchronizing literals with
 * "+" continuations, LITERAL+), the state machine (not authenticated,
 * authenticated) and the answer to each command. Every wait has the idle
 * timeout, every size a bound: a hostile client costs one process, a
 * bounded buffer and at most the timeout. */
#include "imapd_conn.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

volatile sig_atomic_t imapd_stop;

/* Before login, IMAPD_PREAUTH_S in all, idle or trickling: a slot held
 * by nobody is freed soon (--max-conns such sockets locked everyone out
 * for two minutes before). */
static int timeout_ms(const imapd_conn *c)
{
	uint64_t ms = (uint64_t)c->cfg->idle_timeout_s * 1000;
	if (c->s == NULL) {
		uint64_t now = cm_now_ns() / 1000000, end = c->login_deadline_ms;
		ms = CM_MIN(ms, end > now ? end - now : 0);
	}
	return (int)CM_MIN(ms, (uint64_t)INT32_MAX);
}

void imapd_conn_pause(unsigned ms)
{
	uint64_t end = cm_now_ns() + (uint64_t)ms * 1000000;
	for (uint64_t now = cm_now_ns(); now < end && !imapd_stop; now = cm_now_ns()) {
		/* poll() is never restarted: SIGTERM ends the pause at once. */
		int step = (int)CM_MIN((end - now + 999999) / 1000000, (uint64_t)1000);
		poll(NULL, 0, step);
	}
}

/* Waits for the socket: 1 ready, -1 timeout or error, -2 shutdown. */
static int wait_fd(imapd_conn *c, short events)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	for (;;) {
		if (imapd_stop)
			return -2;
		int t = timeout_ms(c);
		if (t == 0)
			return -1; /* the login deadline passed */
		int r = poll(&p, 1, t);
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return -1;
	}
}

static bool login_lock(int fd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
	return fcntl(fd, F_SETLK, &fl) == 0;
}

bool imapd_conn_login_turn(imapd_conn *c, bool take)
{
	int fd = c->cfg->login_lock_fd;
	assert(fd >= 0);
	if (!take)
		return login_lock(fd, F_UNLCK);
	/* Polled, not F_SETLKW: the wait must end at the login deadline. */
	while (!login_lock(fd, F_WRLCK)) {
		if ((errno != EAGAIN && errno != EACCES) || imapd_stop ||
		    timeout_ms(c) == 0)
			return false;
		imapd_conn_pause(20);
	}
	return true;
}

int imapd_login_lock_open(const char *dir)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/.ratchet-imapd-login.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkstemp(path);
	if (fd >= 0)
		unlink(path); /* a dot name: never a mailbox, and gone at once */
	return fd;
}

/* ---- output ---- */

bool imapd_conn_flush(imapd_conn *c)
{
	size_t off = 0;
	bool ok = true;
	while (off < c->out.len && ok) {
		ssize_t n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(c, POLLOUT) == 1)
			continue;
		ok = false; /* a peer that does not read is gone */
	}
	cm_buf_clear(&c->out);
	if (!ok)
		c->closing = true;
	return ok;
}

/* ---- input ---- */

/* Reads more bytes: 1, 0 EOF, -1 timeout/error, -2 shutdown. */
static int fill(imapd_conn *c)
{
	if (c->in_pos > 0) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->in_len == c->in_cap)
		return -1;
	for (;;) {
		int w = wait_fd(c, POLLIN);
		if (w < 0)
			return w;
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

int imapd_conn_line(imapd_conn *c, const char **line, size_t *len)
{
	size_t scanned = 0;
	for (;;) {
		const char *start = c->in + c->in_pos;
		size_t avail = c->in_len - c->in_pos;
		const char *nl = memchr(start + scanned, '\n', avail - scanned);
		if (nl != NULL) {
			size_t n = (size_t)(nl - start);
			if (n > imapd_line_limit(c->s != NULL))
				return -3; /* arrived whole, still too long */
			c->in_pos += n + 1;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			*line = start;
			*len = n;
			return 1;
		}
		if (avail > imapd_line_limit(c->s != NULL))
			return -3;
		scanned = avail;
		int r = fill(c);
		if (r <= 0)
			return r;
	}
}

/* Appends n literal bytes to c->cmd: buffered ones first, then straight
 * from the socket. */
static int read_literal(imapd_conn *c, size_t n)
{
	size_t have = CM_MIN(n, c->in_len - c->in_pos);
	cm_buf_append(&c->cmd, c->in + c->in_pos, have);
	c->in_pos += have;
	n -= have;
	while (n > 0) {
		/* Grown as the bytes come: an announcement alone costs nothing. */
		size_t chunk = CM_MIN(n, (size_t)1 << 20);
		cm_buf_reserve(&c->cmd, chunk);
		int w = wait_fd(c, POLLIN);
		if (w < 0)
			return w;
		ssize_t r = read(c->fd, c->cmd.data + c->cmd.len, chunk);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		c->cmd.len += (size_t)r;
		c->cmd.data[c->cmd.len] = '\0';
		n -= (size_t)r;
	}
	return 1;
}

enum { CMD_READY = 1, CMD_SKIP = 2 };

/* A literal (or command) that is not accepted. A synchronizing one is
 * refused (the client sends nothing more, 3501 7.5); after a LITERAL+ one
 * the stream cannot be followed any more, and before login it is not
 * worth following: the connection ends. */
static int refuse_literal(imapd_conn *c, bool plus)
{
	char tag[IMAPD_TAG_MAX];
	if (!plus) {
		if (!imapd_parse_tag(c->cmd.data, c->cmd.len, tag, sizeof(tag)))
			snprintf(tag, sizeof(tag), "*");
		cm_buf_printf(&c->out, "%s BAD [TOOBIG] Literal too large\r\n", tag);
	}
	if (plus || c->s == NULL) {
		cm_buf_puts(&c->out, "* BYE Literal too large\r\n");
		c->closing = true;
		return -1;
	}
	return CMD_SKIP;
}

/* Assembles one command into c->cmd: CMD_READY, CMD_SKIP (answered
 * already), 0 EOF, -1 error, -2 shutdown. */
static int read_command(imapd_conn *c)
{
	unsigned literals = 0;
	cm_buf_clear(&c->cmd);
	for (;;) {
		const char *line;
		size_t len;
		uint64_t n = 0;
		bool plus = false;
		int r = imapd_conn_line(c, &line, &len);
		if (r == -3) {
			cm_buf_puts(&c->out, "* BYE Line too long\r\n");
			return -1;
		}
		if (r <= 0)
			return r;
		/* A line after a literal: counted as a literal of its length. */
		if (literals > 0 && !imapd_literal_fits(c->s != NULL, c->cmd.len, len, literals))
			return refuse_literal(c, true);
		cm_buf_append(&c->cmd, line, len);
		int lit = imapd_line_literal(line, len, &n, &plus);
		if (lit == 0)
			return CMD_READY;
		if (lit < 0 || !imapd_literal_fits(c->s != NULL, c->cmd.len, n, ++literals))
			return refuse_literal(c, plus);
		if (!plus) {
			cm_buf_puts(&c->out, "+ Ready for literal data\r\n");
			if (!imapd_conn_flush(c))
				return -1;
		}
		cm_buf_puts(&c->cmd, "\r\n");
		r = read_literal(c, (size_t)n);
		if (r <= 0)
			return r;
	}
}

/* ---- answers ---- */

void imapd_conn_caps(const imapd_conn *c, cm_buf *out, bool authed)
{
	static const struct { unsigned bit; const char *name; } ext[] = {
		{MODEL_CAP_LITERALPLUS, " LITERAL+"}, {MODEL_CAP_ENABLE, " ENABLE"},
		{MODEL_CAP_UIDPLUS, " UIDPLUS"}, {MODEL_CAP_CONDSTORE, " CONDSTORE"},
		{MODEL_CAP_QRESYNC, " QRESYNC"}, {MODEL_CAP_MOVE, " MOVE"},
	};
	cm_buf_puts(out, "IMAP4rev1 SASL-IR UNSELECT");
	for (size_t i = 0; i < CM_ARRAY_LEN(ext); i++)
		if (c->cfg->caps & ext[i].bit)
			cm_buf_puts(out, ext[i].name);
	if (!authed)
		cm_buf_puts(out, " AUTH=PLAIN");
}

static void answer_capability(imapd_conn *c, const imapd_cmd *cmd)
{
	cm_buf_puts(&c->out, "* CAPABILITY ");
	imapd_conn_caps(c, &c->out, c->s != NULL);
	cm_buf_printf(&c->out, "\r\n%s OK CAPABILITY completed\r\n", cmd->tag);
}

/* Before login only these make sense (3501 6.1, 6.2). */
static void answer_unauthenticated(imapd_conn *c, const imapd_cmd *cmd)
{
	if (cmd->verb == IMAPD_V_OP && cmd->op.kind == MODEL_OP_NOOP) {
		cm_buf_printf(&c->out, "%s OK NOOP completed\r\n", cmd->tag);
	} else if (cmd->verb == IMAPD_V_OP && cmd->op.kind == MODEL_OP_LOGOUT) {
		cm_buf_printf(&c->out, "* BYE Logging out\r\n%s OK LOGOUT completed\r\n",
			      cmd->tag);
		c->closing = true;
	} else {
		cm_buf_printf(&c->out, "%s BAD Log in first\r\n", cmd->tag);
	}
}

static void log_command(imapd_conn *c, const imapd_cmd *cmd)
{
	bool secret = cmd->verb == IMAPD_V_LOGIN || cmd->verb == IMAPD_V_AUTHENTICATE;
	size_t n = CM_MIN(c->cmd.len, (size_t)200);
	if (secret)
		imapd_log(c->cfg, "C: %s %s ...", cmd->tag, cmd->name);
	else
		imapd_log(c->cfg, "C: %.*s%s", (int)n, c->cmd.data, c->cmd.len > n ? " ..." : "");
}

static void dispatch(imapd_conn *c, imapd_cmd *cmd)
{
	log_command(c, cmd);
	if (cmd->verb == IMAPD_V_CAPABILITY)
		answer_capability(c, cmd);
	else if (cmd->verb == IMAPD_V_LOGIN)
		imapd_exec_login(c, cmd);
	else if (cmd->verb == IMAPD_V_AUTHENTICATE)
		imapd_exec_authenticate(c, cmd);
	else if (c->s == NULL)
		answer_unauthenticated(c, cmd);
	else if (cmd->verb == IMAPD_V_CLOSE || cmd->verb == IMAPD_V_UNSELECT)
		imapd_exec_close(c, cmd);
	else if (cmd->verb == IMAPD_V_LIST)
		imapd_exec_list(c, cmd);
	else
		imapd_exec_op(c, cmd);
}

static void handle(imapd_conn *c, imapd_cmd *cmd)
{
	cm_err err;
	imapd_parse_ctx ctx = {.exists = c->s ? (uint32_t)rs_session_exists(c->s) : 0};
	int r = imapd_parse(c->cmd.data, c->cmd.len, &ctx, cmd, &err);
	if (r == IMAPD_PARSE_OK) {
		dispatch(c, cmd);
		return;
	}
	if (r == IMAPD_PARSE_NOTAG)
		cm_buf_printf(&c->out, "* BAD %.127s\r\n", err.text);
	else
		cm_buf_printf(&c->out, "%s BAD %.127s\r\n", cmd->tag, err.text);
	imapd_log(c->cfg, "BAD %.127s", err.text);
}

static void greet(imapd_conn *c)
{
	cm_buf_puts(&c->out, "* OK [CAPABILITY ");
	imapd_conn_caps(c, &c->out, false);
	cm_buf_puts(&c->out, "] ratchet-imapd ready\r\n");
}

static void serve_loop(imapd_conn *c)
{
	imapd_cmd cmd;
	imapd_cmd_init(&cmd);
	greet(c);
	while (imapd_conn_flush(c) && !c->closing) {
		int r = read_command(c);
		if (r == -2)
			cm_buf_puts(&c->out, "* BYE Server shutting down\r\n");
		else if (r == -1 && c->out.len == 0)
			cm_buf_puts(&c->out, "* BYE Idle timeout or read error\r\n");
		if (r <= 0) {
			imapd_conn_flush(c); /* one last try to say why */
			break;
		}
		if (r == CMD_READY && c->cmd.len > 0)
			handle(c, &cmd);
		if (c->cmd.cap > ((size_t)8 << 20))
			cm_buf_free(&c->cmd); /* do not keep a big APPEND's buffer */
	}
	imapd_cmd_free(&cmd);
}

/* Our last words (a BYE) must not be destroyed unread: closing with the
 * peer's bytes still unread makes the kernel send a reset, which discards
 * what the peer has not read yet. So: end our side, then discard what
 * still comes, into a fixed buffer, for at most LINGER_MS or until EOF. */
enum { LINGER_MS = 1000 };

void imapd_conn_linger(int fd)
{
	char sink[4096];
	uint64_t end = cm_now_ns() / 1000000 + LINGER_MS;
	shutdown(fd, SHUT_WR);
	for (uint64_t now = cm_now_ns() / 1000000; now < end && !imapd_stop;
	     now = cm_now_ns() / 1000000) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(end - now)) <= 0)
			break;
		ssize_t n = read(fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
}

void imapd_conn_serve(int fd, const imapd_config *cfg)
{
	imapd_conn c = {.fd = fd, .cfg = cfg};
	/* Non-blocking: every wait goes through poll() and its timeout. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c.fs = rs_posixfs_new();
	c.in_cap = IMAPD_LINE_MAX + 4096;
	c.in = cm_xmalloc(c.in_cap);
	c.sopt.pid = (uint32_t)getpid();
	c.login_deadline_ms = cm_now_ns() / 1000000 + (uint64_t)IMAPD_PREAUTH_S * 1000;
	c.sopt.mutants = cfg->mutants;
	c.sopt.noop_scans_new = true; /* a real directory: Maildir MDAs may drop mail */
	c.sopt.caps = cfg->caps;
	imapd_log(cfg, "connected");
	serve_loop(&c);
	imapd_log(cfg, "disconnected");
	imapd_conn_linger(fd);
	imapd_exec_cleanup(&c);
	rs_fs_destroy(c.fs);
	free(c.in);
	cm_buf_free(&c.cmd);
	cm_buf_free(&c.out);
	close(fd);
}
