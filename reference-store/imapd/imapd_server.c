/* The listener: 127.0.0.1 only, one child process per connection (each
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

static void spawn(children *ch, int lfd, int fd, const imapd_config *cfg)
{
	if (ch->n >= cfg->max_conns) {
		static const char bye[] = "* BYE Too many connections\r\n";
		if (send(fd, bye, sizeof(bye) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			imapd_log(cfg, "refused a connection");
		close(fd);
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		close(lfd);
		handle_stop(true);
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

int imapd_server_run(const imapd_config *cfg, int port)
{
	int actual = 0, lfd = listen_on(port, &actual);
	if (lfd < 0) {
		fprintf(stderr, "ratchet-imapd: cannot listen on 127.0.0.1:%d: %s\n", port,
			strerror(errno));
		return 2;
	}
	handle_stop(false);
	printf("ratchet-imapd: listening on 127.0.0.1:%d\n", actual);
	fflush(stdout);
	imapd_log(cfg, "listening on 127.0.0.1:%d, root %s", actual, cfg->root);
	children ch = {0};
	while (!imapd_stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		reap(&ch);
		if (poll(&p, 1, 500) <= 0)
			continue;
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			spawn(&ch, lfd, fd, cfg);
	}
	close(lfd);
	stop_children(&ch);
	imapd_log(cfg, "stopped");
	return 0;
}
