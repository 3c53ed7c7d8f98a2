/* The sync command of a replicated target (`--sync-cmd CMD`): one child at
 * a time, run by `/bin/sh -c CMD` in a process group of its own, watched
 * through the campaign's poll() (its stdout and stderr pipes) and reaped
 * without blocking the loop, so that clients keep running beside it.
 *
 * Each run the campaign starts is one opaque SYNC op (docs/history.md):
 * invoke before the fork, completion when the child is reaped: OK when it
 * exited 0, NO (a FAIL event) with the first line of its stderr when it
 * exited non-zero, outcome unknown (INFO) when it ran past its timeout (we
 * kill its group) or died of a signal. The checker lets such an op add,
 * remove and re-flag messages on both replicas while it runs.
 *
 * CMD may hold credentials: it is never printed nor written; errors name
 * it "the sync command". Stateful sync (doveadm sync -s STATE) keeps its
 * state here: the child's environment has RATCHET_SYNC_STATE, the last
 * non-empty line of the stdout of the last run that exited 0 ("" at
 * first), so CMD can say -s "$RATCHET_SYNC_STATE". */
#include "wire_private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A state line is a few hundred bytes; output beyond this is dropped. */
#define SYNC_OUT_MAX ((size_t)1 << 20)
/* Descriptors the child closes before exec: the campaign's connections
 * must not outlive it in a sync that hangs. */
#define SYNC_FD_CLOSE_MAX 1024

void rt_wire_sync_init(rt_wire_sync *s, const char *cmd, uint32_t client,
		       double timeout_s)
{
	memset(s, 0, sizeof(*s));
	assert(cmd != NULL && client != 0 && timeout_s > 0);
	s->cmd = cmd;
	s->client = client;
	s->timeout_ns = (uint64_t)(timeout_s * 1e9);
	s->out_fd = s->err_fd = -1;
	s->state = cm_xcalloc(1, 1);
}

void rt_wire_sync_free(rt_wire_sync *s)
{
	assert(s->pid == 0); /* the campaign reaps every child it starts */
	cm_buf_free(&s->out);
	free(s->state);
	s->state = NULL;
	rt_choice_free(&s->ch);
}

void rt_wire_sync_schedule(rt_wire_sync *s, uint64_t seed, uint64_t every)
{
	assert(every >= 1);
	s->every = every;
	rt_choice_prng(&s->ch, seed, false);
}

bool rt_wire_sync_due(rt_wire_sync *s)
{
	assert(s->every >= 1);
	return rt_choice_below(&s->ch, s->every) == 0;
}

bool rt_wire_sync_running(const rt_wire_sync *s)
{
	return s->pid != 0;
}

/* In the child: never returns. Only async-signal-safe calls but setenv,
 * which is safe here (the campaign is single-threaded). */
static _Noreturn void child(const rt_wire_sync *s, int out, int err)
{
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	for (int fd = 3; fd < SYNC_FD_CLOSE_MAX; fd++)
		close(fd);
	setpgid(0, 0);
	setenv("RATCHET_SYNC_STATE", s->state, 1);
	execl("/bin/sh", "sh", "-c", s->cmd, (char *)NULL);
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int rt_wire_sync_spawn(rt_wire_sync *s, cm_err *err)
{
	assert(s->pid == 0 && s->out_fd < 0 && s->err_fd < 0);
	int out[2], er[2];
	if (pipe(out) != 0)
		return cm_err_set(err, "the sync command: pipe: %s", strerror(errno));
	if (pipe(er) != 0) {
		close(out[0]), close(out[1]);
		return cm_err_set(err, "the sync command: pipe: %s", strerror(errno));
	}
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		close(out[0]), close(out[1]), close(er[0]), close(er[1]);
		return cm_err_set(err, "the sync command: fork: %s", strerror(errno));
	}
	if (pid == 0)
		child(s, out[1], er[1]);
	setpgid(pid, pid); /* as the child does: no race on who is first */
	close(out[1]);
	close(er[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(er[0], F_SETFL, O_NONBLOCK);
	s->pid = pid;
	s->out_fd = out[0];
	s->err_fd = er[0];
	s->deadline = cm_now_ns() + s->timeout_ns;
	s->killed = false;
	s->err_len = 0;
	s->err_line[0] = '\0';
	s->err_done = false;
	cm_buf_clear(&s->out);
	return 0;
}

size_t rt_wire_sync_pollfds(const rt_wire_sync *s, struct pollfd *pfd)
{
	size_t n = 0;
	if (s->out_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
	if (s->err_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
	return n;
}

/* Keeps the first line of stderr (for the NO's text). */
static void keep_err(rt_wire_sync *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !s->err_done; i++) {
		if (p[i] == '\n' && s->err_len > 0)
			s->err_done = true;
		else if (p[i] != '\n' && s->err_len + 1 < sizeof(s->err_line))
			s->err_line[s->err_len++] = p[i];
	}
	s->err_line[s->err_len] = '\0';
}

/* Reads what fd has; closes it at EOF or on an error. */
static void drain(rt_wire_sync *s, int *fd)
{
	char buf[4096];
	for (;;) {
		ssize_t k = read(*fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) {
			close_fd(fd);
			return;
		}
		if (fd == &s->err_fd)
			keep_err(s, buf, (size_t)k);
		else if (s->out.len + (size_t)k <= SYNC_OUT_MAX)
			cm_buf_append(&s->out, buf, (size_t)k);
		else
			s->out_overflow = true;
	}
}

void rt_wire_sync_handle(rt_wire_sync *s, const struct pollfd *pfd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == s->out_fd)
			drain(s, &s->out_fd);
		else if (pfd[i].fd == s->err_fd)
			drain(s, &s->err_fd);
	}
}

/* The last non-empty line of stdout becomes the next run's state. */
static void take_state(rt_wire_sync *s)
{
	if (s->out_overflow || s->out.len == 0)
		return;
	size_t end = s->out.len;
	while (end > 0 && (s->out.data[end - 1] == '\n' || s->out.data[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start > 0 && s->out.data[start - 1] != '\n')
		start--;
	if (end == start)
		return;
	free(s->state);
	s->state = cm_xmalloc(end - start + 1);
	memcpy(s->state, s->out.data + start, end - start);
	s->state[end - start] = '\0';
}

/* The reason a run failed, short: the stderr line after a log prefix
 * that ends in ">: " (Dovecot's "doveadm(alice)<pid><session>: "). */
static void fail_text(const rt_wire_sync *s, int code, char *out, size_t outlen)
{
	const char *line = s->err_line, *p = strstr(line, ">: ");
	if (p != NULL && p - line < 80)
		line = p + 3;
	snprintf(out, outlen, "sync command exited %d: %.70s", code,
		 line[0] ? line : "(nothing on stderr)");
}

/* The outcome of the child reaped with wait status st. */
static void outcome(rt_wire_sync *s, int st, model_result *res)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !s->killed) {
		res->status = MODEL_REPLY_OK;
		take_state(s);
	} else if (WIFEXITED(st) && !s->killed) {
		res->status = MODEL_REPLY_NO;
		fail_text(s, WEXITSTATUS(st), res->text, sizeof(res->text));
	} else {
		res->status = MODEL_REPLY_UNKNOWN;
		snprintf(res->text, sizeof(res->text), "%s", s->killed
			 ? "sync command killed: it ran past its timeout"
			 : "sync command died of a signal");
	}
}

bool rt_wire_sync_tick(rt_wire_sync *s, uint64_t now, model_result *res)
{
	if (s->pid == 0)
		return false;
	if (now >= s->deadline && !s->killed) {
		kill(-s->pid, SIGKILL); /* its group: the shell and what it ran */
		s->killed = true;
		close_fd(&s->out_fd); /* a grandchild that escaped may hold them */
		close_fd(&s->err_fd);
	}
	if (s->out_fd >= 0 || s->err_fd >= 0)
		return false; /* it exits once it closed them: read them first */
	int st = 0;
	pid_t r = waitpid(s->pid, &st, s->killed ? 0 : WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return false;
	if (r < 0)
		cm_panic("wire: waitpid of the sync command: %s", strerror(errno));
	s->pid = 0;
	outcome(s, st, res);
	return true;
}

int rt_wire_sync_run(rt_wire_sync *s, model_result *res, cm_err *err)
{
	if (rt_wire_sync_spawn(s, err) != 0)
		return -1;
	for (;;) {
		struct pollfd pfd[2];
		size_t n = rt_wire_sync_pollfds(s, pfd);
		if (n > 0 && poll(pfd, n, 100) < 0 && errno != EINTR)
			cm_panic("wire: poll: %s", strerror(errno));
		rt_wire_sync_handle(s, pfd, n);
		if (rt_wire_sync_tick(s, cm_now_ns(), res))
			return 0;
		if (n == 0)
			usleep(10000); /* pipes closed, the child not yet gone */
	}
}

/* ---- recorded runs: one opaque SYNC op each ---- */

/* Replica 1 syncs with replica 2, every mailbox (""), opaquely. */
static void sync_op(model_op *op)
{
	model_op_init(op, MODEL_OP_SYNC);
	op->replica = 1;
	op->peer = 2;
	op->opaque = true;
}

void rt_wire_sync_begin(rt_wire *w)
{
	rt_wire_sync *s = w->sync;
	assert(s != NULL && s->pid == 0 && s->op_id == 0);
	model_op op;
	sync_op(&op);
	s->op_id = rt_wire_record_invoke(w, s->client, &op);
	s->runs++;
	cm_err err = {{0}};
	if (rt_wire_sync_spawn(s, &err) == 0)
		return;
	model_result res;
	model_result_init(&res);
	res.status = MODEL_REPLY_NO;
	snprintf(res.text, sizeof(res.text), "%.95s", err.text);
	rt_wire_record_completion(w, s->client, s->op_id, &op, &res);
	model_result_free(&res);
	s->op_id = 0;
	s->last = MODEL_REPLY_NO;
}

bool rt_wire_sync_poll_end(rt_wire *w, uint64_t now)
{
	rt_wire_sync *s = w->sync;
	if (s == NULL || s->op_id == 0)
		return false;
	model_result res;
	model_result_init(&res);
	if (!rt_wire_sync_tick(s, now, &res)) {
		model_result_free(&res);
		return false;
	}
	model_op op;
	sync_op(&op);
	if (res.status == MODEL_REPLY_UNKNOWN)
		w->unknown++;
	s->ok += res.status == MODEL_REPLY_OK;
	s->last = res.status;
	rt_wire_record_completion(w, s->client, s->op_id, &op, &res);
	model_result_free(&res);
	s->op_id = 0;
	return true;
}
