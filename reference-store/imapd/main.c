/* ratchet-imapd: an IMAP server over the reference store, for testing the
 * wire driver and real clients against the store's semantics; with
 * --lmtp-port or --lmtp-socket, an LMTP listener that delivers into it.
 *
 *   ratchet-imapd --root DIR [options]     (--help lists them)
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 2 usage or set-up error. */
#include "imapd_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct opts {
	imapd_config cfg;
	const char *root;
	const char *log;
	int port;
	char root_abs[PATH_MAX];
} opts;

/* --caps: the names, and the MODEL_CAP_* bit of each. */
static const char *const cap_names[] = {
	"UIDPLUS", "CONDSTORE", "QRESYNC", "MOVE", "ENABLE", "LITERAL+", NULL,
};
static const unsigned cap_bits[] = {
	MODEL_CAP_UIDPLUS, MODEL_CAP_CONDSTORE, MODEL_CAP_QRESYNC, MODEL_CAP_MOVE,
	MODEL_CAP_ENABLE, MODEL_CAP_LITERALPLUS,
};

/* What the table fills in other types than imapd_config's. */
typedef struct args {
	uint64_t port, idle_timeout_s, max_conns, mutants, caps, lmtp_port;
	bool caps_given, lmtp_port_given;
} args;

/* `ratchet-imapd --help-man`: the page around the table (cm_man.h). */
static const char *const man_exits[] = {
	"0", "stopped by SIGTERM or SIGINT (every connection told BYE), or --help",
	"2", "usage or set-up error: one line on standard error", NULL,
};
static const cm_man_page man_page = {
	.program = "ratchet-imapd", .version = RATCHET_VERSION,
	.summary = "an IMAP server over ratchet's reference mail store",
	.description = "ratchet-imapd serves one account's mailboxes under --root over IMAP on "
	"127.0.0.1, with UIDPLUS, CONDSTORE, QRESYNC, MOVE, ENABLE and LITERAL+, and "
	"optionally LMTP delivery into them. It is the reference store of ratchet(1) on the "
	"wire: a server to point ratchet run --target and ratchet explore --target at, and "
	"the known-good server for testing ratchet itself.\n\n"
	"Its first line on standard output is \"ratchet-imapd: listening on "
	"127.0.0.1:PORT\". It never listens anywhere but 127.0.0.1. Its store mutants "
	"(--mutant) are deliberately broken designs that ratchet must catch.",
	.exits = man_exits, .see_also = "ratchet(1), rs-deliver(1)",
};

static cm_options_result parse_table(opts *o, args *a, int argc, char **argv)
{
	const cm_option table[] = {
		{.name = "root", .kind = CM_OPTION_STRING, .to.string = &o->root, .arg = "DIR",
		 .help = "mail root (created with INBOX if missing)"},
		{.name = "port", .kind = CM_OPTION_U64, .to.u64 = &a->port, .arg = "N",
		 .help = "TCP port on 127.0.0.1, 0 to 65535; 0 (default) picks\n"
		 "a free one", .max = 65535},
		{.name = "user", .kind = CM_OPTION_STRING, .to.string = &o->cfg.user, .arg = "U",
		 .help = "the one account's name (default ratchet)"},
		{.name = "password", .kind = CM_OPTION_STRING, .to.string = &o->cfg.pass,
		 .arg = "P", .help = "its password (default ratchet)"},
		{.name = "mutant", .kind = CM_OPTION_CHOICE, .to.choice = &a->mutants,
		 .arg = "NAME", .help = "switch on store mutants (repeatable, or a,b,c)",
		 .names = rs_mutant_names()},
		{.name = "caps", .kind = CM_OPTION_CHOICE, .to.choice = &a->caps, .arg = "LIST",
		 .help = "extensions offered, a,b,c (default all; \"\" for none)",
		 .names = cap_names, .given = &a->caps_given},
		{.name = "log", .kind = CM_OPTION_STRING, .to.string = &o->log, .arg = "FILE",
		 .help = "append a line per connection event and command"},
		{.name = "idle-timeout", .kind = CM_OPTION_U64, .to.u64 = &a->idle_timeout_s,
		 .arg = "SEC", .help = "drop idle clients, 1 to 604800 (default 1800); before\n"
		 "login a client has 10 s in all, 4 KiB per command and\n"
		 "3 failed logins, each answered after 1, 2, 4 s", .min = 1, .max = 86400 * 7},
		{.name = "max-conns", .kind = CM_OPTION_U64, .to.u64 = &a->max_conns, .arg = "N",
		 .help = "concurrent connections, IMAP and LMTP together, 1 to\n"
		 "10000 (default 100)", .min = 1, .max = 10000},
		{.name = "lmtp-port", .kind = CM_OPTION_U64, .to.u64 = &a->lmtp_port, .arg = "N",
		 .help = "also serve LMTP on this TCP port of 127.0.0.1, 0 to\n"
		 "65535 (0 picks a free one); a second line says which:\n"
		 "\"ratchet-imapd: lmtp listening on 127.0.0.1:PORT\"", .max = 65535,
		 .given = &a->lmtp_port_given},
		{.name = "lmtp-socket", .kind = CM_OPTION_STRING, .to.string = &o->cfg.lmtp_socket,
		 .arg = "PATH", .help = "also serve LMTP on this UNIX socket (a stale one is\n"
		 "replaced); LMTP delivers to U (INBOX) and U+MAILBOX"},
	};
	cm_options cmdline = {.program = "ratchet-imapd", .synopsis = "--root DIR [options]",
			      .options = table, .noptions = CM_ARRAY_LEN(table),
			      .man = &man_page};
	return cm_options_parse(&cmdline, argc, argv);
}

/* -1 to go on, or the exit code: 0 after --help, 2 after a usage error. */
static int parse_args(opts *o, int argc, char **argv)
{
	args a = {.idle_timeout_s = o->cfg.idle_timeout_s, .max_conns = o->cfg.max_conns};
	cm_options_result r = parse_table(o, &a, argc, argv);
	if (r != CM_OPTIONS_OK)
		return cm_options_exit(r);
	o->port = (int)a.port;
	o->cfg.idle_timeout_s = (unsigned)a.idle_timeout_s;
	o->cfg.max_conns = (unsigned)a.max_conns;
	o->cfg.mutants = (unsigned)a.mutants;
	o->cfg.lmtp_port = a.lmtp_port_given ? (int)a.lmtp_port : -1;
	if (o->cfg.lmtp_socket != NULL && o->cfg.lmtp_socket[0] == '\0') {
		cm_error("--lmtp-socket needs a path (try 'ratchet-imapd --help')");
		return CM_EXIT_USAGE;
	}
	if (a.caps_given) {
		unsigned caps = 0;
		for (size_t i = 0; i < CM_ARRAY_LEN(cap_bits); i++)
			if (a.caps & (uint64_t)1 << i)
				caps |= cap_bits[i];
		/* 0 would mean "all" to rt_session: keep one bit the wire never shows. */
		o->cfg.caps = caps ? caps : MODEL_CAP_ESEARCH;
	}
	if (o->root == NULL || o->root[0] == '\0') {
		cm_error("--root is required (try 'ratchet-imapd --help')");
		return CM_EXIT_USAGE;
	}
	if (o->cfg.user[0] == '\0' || strlen(o->cfg.user) >= IMAPD_AUTH_MAX ||
	    strlen(o->cfg.pass) >= IMAPD_AUTH_MAX) {
		cm_error("bad --user or --password: a user of 1 to %d bytes, a password of at "
			 "most %d (try 'ratchet-imapd --help')", IMAPD_AUTH_MAX - 1,
			 IMAPD_AUTH_MAX - 1);
		return CM_EXIT_USAGE;
	}
	return -1;
}

/* mkdir -p of the root, then its absolute path (the session needs one
 * without spaces) and INBOX in it. */
static int setup_root(opts *o)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", o->root);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0700);
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "ratchet-imapd: cannot create %s: %s\n", o->root, strerror(errno));
		return -1;
	}
	if (realpath(o->root, o->root_abs) == NULL || strchr(o->root_abs, ' ') != NULL) {
		fprintf(stderr, "ratchet-imapd: bad --root %s (no spaces allowed)\n", o->root);
		return -1;
	}
	rs_fs *fs = rs_posixfs_new();
	rs_err err = rs_namespace_init(fs, o->root_abs);
	if (err == RS_OK && !rs_namespace_exists(fs, o->root_abs, "INBOX")) {
		err = rs_namespace_create_mailbox(fs, o->root_abs, "INBOX");
		if (err == RS_EEXIST)
			err = RS_OK;
	}
	rs_fs_destroy(fs);
	if (err != RS_OK) {
		fprintf(stderr, "ratchet-imapd: cannot set up %s: %s\n", o->root_abs,
			rs_strerror(err));
		return -1;
	}
	o->cfg.root = o->root_abs;
	return 0;
}

int main(int argc, char **argv)
{
	static opts o;
	o.cfg.user = "ratchet";
	o.cfg.pass = "ratchet";
	o.cfg.caps = RT_SESSION_CAPS_DEFAULT;
	o.cfg.idle_timeout_s = 1800;
	o.cfg.max_conns = 100;
	o.cfg.log_fd = -1;
	cm_error_program("ratchet-imapd");
	int rc = parse_args(&o, argc, argv);
	if (rc >= 0)
		return rc;
	if (o.log != NULL) {
		o.cfg.log_fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (o.cfg.log_fd < 0) {
			fprintf(stderr, "ratchet-imapd: cannot open %s: %s\n", o.log, strerror(errno));
			return 2;
		}
	}
	if (setup_root(&o) < 0)
		return 2;
	o.cfg.login_lock_fd = imapd_login_lock_open(o.root_abs);
	if (o.cfg.login_lock_fd < 0) {
		fprintf(stderr, "ratchet-imapd: cannot make the login lock in %s: %s\n",
			o.root_abs, strerror(errno));
		return 2;
	}
	if (o.cfg.caps & MODEL_CAP_QRESYNC)
		o.cfg.caps |= MODEL_CAP_CONDSTORE; /* 7162 3: QRESYNC implies it */
	return imapd_server_run(&o.cfg, o.port);
}
