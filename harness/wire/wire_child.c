/* A command the campaign runs beside its connections (the sync command of
 * a replicated pair, the delivery command of `--deliver cmd:...`): one
 * child of `/bin/sh -c CMD` in a process group of its own, its stdin fed
 * and its stdout and stderr read through the campaign's poll(), reaped
 * without blocking the loop, killed (its whole group) past its deadline.
 *
 * CMD may hold credentials: it is never printed nor written; errors name
 * the child by its role (c->what). */
#include "wire_private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Descriptors the child closes before exec: the campaign's connections
 * must not outlive it in a command that hangs. */
#define CHILD_FD_CLOSE_MAX 1024

void rt_wire_child_init(rt_wire_child *c, const char *what, size_t out_max)
{
	memset(c, 0, sizeof(*c));
	assert(what != NULL);
	c->what = what;
	c->out_max = out_max;
	c->in_fd = c->out_fd = c->err_fd = -1;
}

void rt_wire_child_free(rt_wire_child *c)
{
	assert(c->pid == 0); /* the campaign reaps every child it starts */
	cm_buf_free(&c->in);
	cm_buf_free(&c->out);
}

/* In the child: never returns. Only async-signal-safe calls but setenv,
 * which is safe here (the campaign is single-threaded). */
static _Noreturn void child(const char *cmd, const char *const *env, int in, int out,
			    int err)
{
	if (in < 0)
		in = open("/dev/null", O_RDONLY);
	if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	for (int fd = 3; fd < CHILD_FD_CLOSE_MAX; fd++)
		close(fd);
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	for (size_t i = 0; env != NULL && env[i] != NULL; i += 2)
		setenv(env[i], env[i + 1], 1);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_pipes(int p[3][2])
{
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 2; k++)
			if (p[i][k] >= 0)
				close(p[i][k]);
}

/* The parent's ends, non-blocking; the child's ends closed. */
static void keep_ends(rt_wire_child *c, int p[3][2], bool feed)
{
	close(p[1][1]);
	close(p[2][1]);
	c->out_fd = p[1][0];
	c->err_fd = p[2][0];
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	if (feed) {
		close(p[0][0]);
		c->in_fd = p[0][1];
		fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
	}
}

int rt_wire_child_spawn(rt_wire_child *c, const char *cmd, const char *const *env,
			const void *in, size_t inlen, uint64_t timeout_ns, cm_err *err)
{
	assert(c->pid == 0 && c->in_fd < 0 && c->out_fd < 0 && c->err_fd < 0);
	bool feed = in != NULL;
	int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	if ((feed && pipe(p[0]) != 0) || pipe(p[1]) != 0 || pipe(p[2]) != 0) {
		int e = errno;
		close_pipes(p);
		return cm_err_set(err, "%s: pipe: %s", c->what, strerror(e));
	}
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pipes(p);
		return cm_err_set(err, "%s: fork: %s", c->what, strerror(e));
	}
	if (pid == 0)
		child(cmd, env, feed ? p[0][0] : -1, p[1][1], p[2][1]);
	setpgid(pid, pid); /* as the child does: no race on who is first */
	keep_ends(c, p, feed);
	cm_buf_clear(&c->in);
	if (feed)
		cm_buf_append(&c->in, in, inlen);
	c->in_off = 0;
	c->in_written = false;
	c->pid = pid;
	c->deadline = cm_now_ns() + timeout_ns;
	c->killed = false;
	c->err_len = 0;
	c->err_line[0] = '\0';
	c->err_done = false;
	c->out_overflow = false;
	cm_buf_clear(&c->out);
	return 0;
}

size_t rt_wire_child_pollfds(const rt_wire_child *c, struct pollfd *pfd)
{
	size_t n = 0;
	if (c->in_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = c->in_fd, .events = POLLOUT};
	if (c->out_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
	if (c->err_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
	return n;
}

/* Keeps the first line of stderr (for a failure's text). */
static void keep_err(rt_wire_child *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !c->err_done; i++) {
		if (p[i] == '\n' && c->err_len > 0)
			c->err_done = true;
		else if (p[i] != '\n' && c->err_len + 1 < sizeof(c->err_line))
			c->err_line[c->err_len++] = p[i];
	}
	c->err_line[c->err_len] = '\0';
}

/* Reads what fd has; closes it at EOF or on an error. */
static void drain(rt_wire_child *c, int *fd)
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
		if (fd == &c->err_fd)
			keep_err(c, buf, (size_t)k);
		else if (c->out.len + (size_t)k <= c->out_max)
			cm_buf_append(&c->out, buf, (size_t)k);
		else
			c->out_overflow = true;
	}
}

/* Writes what the pipe takes of stdin; closes it when all is written or
 * the child stopped reading (EPIPE: the child decides what that means). */
static void feed(rt_wire_child *c)
{
	while (c->in_fd >= 0 && c->in_off < c->in.len) {
		ssize_t k = write(c->in_fd, c->in.data + c->in_off, c->in.len - c->in_off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k < 0)
			break;
		c->in_off += (size_t)k;
	}
	c->in_written = c->in_off == c->in.len;
	close_fd(&c->in_fd);
}

void rt_wire_child_handle(rt_wire_child *c, const struct pollfd *pfd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == c->in_fd)
			feed(c);
		else if (pfd[i].fd == c->out_fd)
			drain(c, &c->out_fd);
		else if (pfd[i].fd == c->err_fd)
			drain(c, &c->err_fd);
	}
}

void rt_wire_child_kill(rt_wire_child *c)
{
	if (c->pid == 0 || c->killed)
		return;
	kill(-c->pid, SIGKILL); /* its group: the shell and what it ran */
	c->killed = true;
	close_fd(&c->in_fd);
	close_fd(&c->out_fd); /* a grandchild that escaped may hold them */
	close_fd(&c->err_fd);
}

bool rt_wire_child_tick(rt_wire_child *c, uint64_t now, int *status_r)
{
	if (c->pid == 0)
		return false;
	if (now >= c->deadline)
		rt_wire_child_kill(c);
	if (c->out_fd >= 0 || c->err_fd >= 0)
		return false; /* it exits once it closed them: read them first */
	int st = 0;
	pid_t r = waitpid(c->pid, &st, c->killed ? 0 : WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return false;
	if (r < 0)
		cm_panic("wire: waitpid of %s: %s", c->what, strerror(errno));
	c->pid = 0;
	close_fd(&c->in_fd); /* exited without reading it all */
	*status_r = st;
	return true;
}

int rt_wire_child_run(rt_wire_child *c, const char *cmd, const char *const *env,
		      uint64_t timeout_ns, int *status_r, cm_err *err)
{
	if (rt_wire_child_spawn(c, cmd, env, NULL, 0, timeout_ns, err) != 0)
		return -1;
	for (;;) {
		struct pollfd pfd[3];
		size_t n = rt_wire_child_pollfds(c, pfd);
		if (n > 0 && poll(pfd, n, 100) < 0 && errno != EINTR)
			cm_panic("wire: poll: %s", strerror(errno));
		rt_wire_child_handle(c, pfd, n);
		if (rt_wire_child_tick(c, cm_now_ns(), status_r))
			return 0;
		if (n == 0)
			usleep(10000); /* pipes closed, the child not yet gone */
	}
}
