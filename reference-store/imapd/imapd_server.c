/* The listeners: IMAP on 127.0.0.1 only, LMTP on 127.0.0.1 and/or a
 * UNIX socket; one child process per connection of either protocol (each
 * with its own pid for the store's locks, so connections race for real),
 * children reaped as they end, all of them told to stop on SIGTERM. */
#include "imapd_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_GRACE_MS 5000

void imapd_log(const imapd_config *cfg, const char *fmt, ...)
{
	if (cfg->log_fd < 0)
		return;
	char text[512], line[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '.';
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %ld %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (long)getpid(), text);
	/* One write per line: O_APPEND keeps the processes' lines whole. */
	if (n > 0 && write(cfg->log_fd, line, CM_MIN((size_t)n, sizeof(line) - 1)) < 0)
		return;
}

static void on_stop(int sig)
{
	(void)sig;
	imapd_stop = 1;
}

/* restart: the child's store calls must not see EINTR; poll() never
 * restarts, so the connection still notices at its next wait. */
static void handle_stop(bool restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int listen_on(int port, int *port_r)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		close(fd);
		return -1;
	}
	*port_r = ntohs(a.sin_port);
	return fd;
}

/* Whether a server accepts on the UNIX socket at a: only a refused
 * connection says nobody does (a full backlog is somebody). */
static bool unix_live(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	bool live = connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0 ||
		    errno != ECONNREFUSED;
	close(fd);
	return live;
}

/* A UNIX socket at path. A stale socket there (its server gone) is
 * removed first; anything else at path is left alone: -1 with errno and
 * *what_r saying why. */
static int listen_unix(const char *path, struct stat *st_r, const char **what_r)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	*what_r = "cannot make the socket";
	if (strlen(path) >= sizeof(a.sun_path)) {
		*what_r = "path too long for a socket";
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (lstat(path, st_r) == 0) {
		*what_r = !S_ISSOCK(st_r->st_mode) ? "a file there is not a socket (left as it is)"
			  : "a server accepts on it (left as it is)";
		if (!S_ISSOCK(st_r->st_mode) || unix_live(&a)) {
			errno = EEXIST;
			return -1;
		}
		*what_r = "cannot remove the stale socket";
		if (unlink(path) < 0)
			return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    lstat(path, st_r) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- listeners ---- */

enum { L_IMAP, L_LMTP_TCP, L_LMTP_UNIX, L_COUNT };

/* Every listening socket (-1: not in use) and what serves its clients. */
typedef struct listeners {
	int fd[L_COUNT];
	int port[L_COUNT];   /* TCP ones: the port bound */
	struct stat unix_st; /* the socket file we made, to remove only it */
} listeners;

static void listeners_close(listeners *ls)
{
	for (int i = 0; i < L_COUNT; i++)
		if (ls->fd[i] >= 0)
			close(ls->fd[i]);
}

/* The socket file goes when the server does, if it is still ours. */
static void listeners_remove(const listeners *ls, const imapd_config *cfg)
{
	struct stat st;
	if (ls->fd[L_LMTP_UNIX] >= 0 && lstat(cfg->lmtp_socket, &st) == 0 &&
	    st.st_dev == ls->unix_st.st_dev && st.st_ino == ls->unix_st.st_ino)
		unlink(cfg->lmtp_socket);
}

/* Every listener cfg asks for: 0, or -1 after saying which failed on
 * stderr (those made are closed). */
static int listeners_open(listeners *ls, const imapd_config *cfg, int port)
{
	const char *what = NULL;
	for (int i = 0; i < L_COUNT; i++)
		ls->fd[i] = -1;
	ls->fd[L_IMAP] = listen_on(port, &ls->port[L_IMAP]);
	if (ls->fd[L_IMAP] < 0) {
		fprintf(stderr, "ratchet-imapd: cannot listen on 127.0.0.1:%d: %s\n", port,
			strerror(errno));
	} else if (cfg->lmtp_port >= 0 &&
		   (ls->fd[L_LMTP_TCP] = listen_on(cfg->lmtp_port, &ls->port[L_LMTP_TCP])) < 0) {
		fprintf(stderr, "ratchet-imapd: cannot listen for LMTP on 127.0.0.1:%d: %s\n",
			cfg->lmtp_port, strerror(errno));
	} else if (cfg->lmtp_socket != NULL &&
		   (ls->fd[L_LMTP_UNIX] = listen_unix(cfg->lmtp_socket, &ls->unix_st,
						      &what)) < 0) {
		fprintf(stderr, "ratchet-imapd: cannot listen for LMTP on %s: %s (%s)\n",
			cfg->lmtp_socket, what, strerror(errno));
	} else {
		return 0;
	}
	listeners_close(ls);
	return -1;
}

/* ---- children ---- */

typedef struct children {
	pid_t *pid;
	size_t n, cap;
} children;

static void reap(children *ch)
{
	pid_t p;
	while ((p = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (size_t i = 0; i < ch->n; i++) {
			if (ch->pid[i] == p) {
				ch->pid[i] = ch->pid[--ch->n];
				break;
			}
		}
	}
}

/* A client of listener `which` on fd: a child serves it, unless
 * max_conns children (of both protocols) are serving already. */
static void spawn(children *ch, listeners *ls, int which, int fd, const imapd_config *cfg)
{
	bool lmtp = which != L_IMAP;
	if (ch->n >= cfg->max_conns) {
		const char *bye = lmtp ? "421 4.3.2 Too many connections\r\n"
			: "* BYE Too many connections\r\n";
		if (send(fd, bye, strlen(bye), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			imapd_log(cfg, "refused a connection");
		close(fd);
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		listeners_close(ls);
		handle_stop(true);
		if (lmtp)
			imapd_lmtp_serve(fd, cfg);
		else
			imapd_conn_serve(fd, cfg);
		exit(0); /* not _exit: the leak checker runs at exit in ASan builds */
	}
	close(fd);
	if (p < 0) {
		imapd_log(cfg, "fork failed: %s", strerror(errno));
		return;
	}
	CM_GROW(ch->pid, ch->cap, ch->n + 1);
	ch->pid[ch->n++] = p;
}

/* SIGTERM to every child, a grace period, then SIGKILL. */
static void stop_children(children *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		kill(ch->pid[i], SIGTERM);
	for (int waited = 0; ch->n > 0 && waited < STOP_GRACE_MS; waited += 20) {
		reap(ch);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < ch->n; i++)
		kill(ch->pid[i], SIGKILL);
	while (ch->n > 0 && waitpid(-1, NULL, 0) > 0)
		reap(ch);
	free(ch->pid);
}

/* What the tests and the harness read: the IMAP port, then the LMTP one. */
static void announce(const listeners *ls, const imapd_config *cfg)
{
	printf("ratchet-imapd: listening on 127.0.0.1:%d\n", ls->port[L_IMAP]);
	if (ls->fd[L_LMTP_TCP] >= 0)
		printf("ratchet-imapd: lmtp listening on 127.0.0.1:%d\n", ls->port[L_LMTP_TCP]);
	fflush(stdout);
	imapd_log(cfg, "listening on 127.0.0.1:%d, root %s", ls->port[L_IMAP], cfg->root);
	if (ls->fd[L_LMTP_TCP] >= 0)
		imapd_log(cfg, "lmtp listening on 127.0.0.1:%d", ls->port[L_LMTP_TCP]);
	if (ls->fd[L_LMTP_UNIX] >= 0)
		imapd_log(cfg, "lmtp listening on %s", cfg->lmtp_socket);
}

/* Accepts on every listener that has a client waiting. */
static void accept_ready(children *ch, listeners *ls, const imapd_config *cfg)
{
	struct pollfd p[L_COUNT];
	for (int i = 0; i < L_COUNT; i++)
		p[i] = (struct pollfd){.fd = ls->fd[i], .events = POLLIN};
	if (poll(p, L_COUNT, 500) <= 0) /* a negative fd is skipped */
		return;
	for (int i = 0; i < L_COUNT; i++) {
		if (ls->fd[i] < 0 || !(p[i].revents & POLLIN))
			continue;
		int fd = accept(ls->fd[i], NULL, NULL);
		if (fd >= 0)
			spawn(ch, ls, i, fd, cfg);
	}
}

int imapd_server_run(const imapd_config *cfg, int port)
{
	listeners ls;
	if (listeners_open(&ls, cfg, port) < 0)
		return 2;
	handle_stop(false);
	announce(&ls, cfg);
	children ch = {0};
	while (!imapd_stop) {
		reap(&ch);
		accept_ready(&ch, &ls, cfg);
	}
	listeners_remove(&ls, cfg);
	listeners_close(&ls);
	stop_children(&ch);
	imapd_log(cfg, "stopped");
	return 0;
}
