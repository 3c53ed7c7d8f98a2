/* ratchet-imapd's connections and server (not part of the imapd library:
 * these do I/O). One process per connection; the processes share the
 * store through its locks, as independent IMAP servers on one Maildir
 * would. */
#ifndef IMAPD_CONN_H
#define IMAPD_CONN_H

#include <signal.h>

#include "imapd.h"
#include "rs_session.h"

typedef struct imapd_config {
	const char *root;          /* absolute, no spaces, exists */
	const char *user, *pass;   /* the one account */
	unsigned mutants;          /* rs_mutant bits for every store handle */
	unsigned caps;             /* MODEL_CAP_* offered */
	unsigned idle_timeout_s;   /* authenticated; before login at most
				    * IMAPD_PREAUTH_S in all */
	unsigned max_conns;        /* concurrent connections */
	int log_fd;                /* -1: no log */
	/* LMTP listeners beside the IMAP one (imapd_lmtp_serve): a TCP port
	 * on 127.0.0.1 (0 = any free one; -1: none) and a UNIX socket (NULL:
	 * none). Their connections count against max_conns too. */
	int lmtp_port;
	const char *lmtp_socket;
	/* An unlinked file every connection process inherits: its fcntl
	 * lock is the server-wide login turn (imapd_conn_login_turn). */
	int login_lock_fd;
} imapd_config;

/* Set by SIGTERM: connections say BYE at their next wait, the server
 * stops accepting. */
extern volatile sig_atomic_t imapd_stop;

/* Serves one client on fd (taken over) until it leaves. */
void imapd_conn_serve(int fd, const imapd_config *cfg);
/* Serves one LMTP client on fd (taken over) until it leaves
 * (imapd_lmtp.c): it delivers into cfg->root with cfg->mutants. */
void imapd_lmtp_serve(int fd, const imapd_config *cfg);
/* Ends our side of fd and reads what the peer still sends, for at most a
 * second, so that our last reply is not lost in a reset. Does not close. */
void imapd_conn_linger(int fd);

/* Listens on 127.0.0.1:port (0 = any free port) and on cfg's LMTP
 * listeners, prints "ratchet-imapd: listening on 127.0.0.1:PORT" (then
 * "ratchet-imapd: lmtp listening on 127.0.0.1:PORT" with an LMTP port;
 * the UNIX socket is there by then) and serves until SIGTERM. Returns an
 * exit code: 0 after SIGTERM, 2 if a listener cannot be set up. */
int imapd_server_run(const imapd_config *cfg, int port);

/* One log line "time pid text" (sanitised), if a log is configured. */
void imapd_log(const imapd_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- between imapd_conn.c and imapd_exec.c ---- */

typedef struct imapd_conn {
	int fd;
	const imapd_config *cfg;
	rs_fs *fs;
	rt_session *s;              /* NULL until logged in */
	rs_session_options sopt;
	unsigned auth_failures;
	uint64_t login_deadline_ms;  /* cm_now_ns() / 1e6 limit before login */
	bool closing;               /* stop after this command's output */
	/* input */
	char *in;
	size_t in_pos, in_len, in_cap;
	cm_buf cmd;                 /* the command being assembled */
	/* output */
	cm_buf out;
	/* our own handle on the selected mailbox, for FETCH bodies */
	rs_mailbox *body_mb;
	char body_name[MODEL_NAME_MAX];
} imapd_conn;

/* imapd_conn.c */
/* Writes and clears c->out; false (and closing) on a dead peer. */
bool imapd_conn_flush(imapd_conn *c);
/* Reads one line without its line end (a session state valid until the next
 * read). 1, or 0 at EOF, -1 timeout/error, -2 shutdown, -3 longer than
 * imapd_line_limit (nothing consumed; the connection must end). */
int imapd_conn_line(imapd_conn *c, const char **line, size_t *len);
/* Waits ms milliseconds, less if the server is told to stop. */
void imapd_conn_pause(unsigned ms);
/* The server-wide login turn: take (true once held; false if the login
 * deadline passed or the server stops first) or give back (true). One
 * password is checked at a time, and a failed one keeps the turn for its
 * delay: the whole server answers at most one failed login a second,
 * however many connections guess. A dead holder's turn is freed by the
 * kernel (fcntl locks die with their process). */
bool imapd_conn_login_turn(imapd_conn *c, bool take);
/* Opens the lock file of login_lock_fd in dir (created and unlinked at
 * once): the fd, or -1 with errno. */
int imapd_login_lock_open(const char *dir);
void imapd_conn_caps(const imapd_conn *c, cm_buf *out, bool authed);

/* imapd_exec.c: the commands that need more than one session call */
void imapd_exec_login(imapd_conn *c, const imapd_cmd *cmd);
void imapd_exec_authenticate(imapd_conn *c, const imapd_cmd *cmd);
void imapd_exec_op(imapd_conn *c, imapd_cmd *cmd);
void imapd_exec_close(imapd_conn *c, const imapd_cmd *cmd);
void imapd_exec_list(imapd_conn *c, const imapd_cmd *cmd);
void imapd_exec_cleanup(imapd_conn *c);

#endif
