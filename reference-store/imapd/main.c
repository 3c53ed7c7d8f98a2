/* ratchet-imapd: an IMAP server over the reference store, for testing the
 * wire driver and real clients against the store's semantics.
 *
 *   ratchet-imapd --root DIR [--port N] [--user U] [--password P]
 *                 [--mutant NAME]... [--caps LIST] [--log FILE]
 *                 [--idle-timeout SEC] [--max-conns N]
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 2 usage or set-up error. */
#include "imapd_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct opts {
	imapd_config cfg;
	const char *root;
	const char *log;
	int port;
	char root_abs[PATH_MAX];
} opts;

static const char usage[] =
	"usage: ratchet-imapd --root DIR [--port N] [--user U] [--password P]\n"
	"                     [--mutant NAME]... [--caps LIST] [--log FILE]\n"
	"                     [--idle-timeout SEC] [--max-conns N]\n"
	"  --root DIR          mail root (created with INBOX if missing)\n"
	"  --port N            TCP port on 127.0.0.1, 0 to 65535; 0 (default) picks\n"
	"                      a free one\n"
	"  --user, --password  the one account (default ratchet / ratchet)\n"
	"  --mutant NAME       switch on a store mutant (repeatable, or a,b,c)\n"
	"  --caps LIST         extensions offered, from UIDPLUS,CONDSTORE,QRESYNC,\n"
	"                      MOVE,ENABLE,LITERAL+ (default all; \"\" for none)\n"
	"  --log FILE          append a line per connection event and command\n"
	"  --idle-timeout SEC  drop idle clients, 1 to 604800 (default 1800); before\n"
	"                      login a client has 10 s in all, 4 KiB per command and\n"
	"                      3 failed logins, each answered after 1, 2, 4 s\n"
	"  --max-conns N       concurrent connections, 1 to 10000 (default 100)\n";

static _Noreturn void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "ratchet-imapd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

/* Every numeric option: digits only, within its range, or exit 2. */
static unsigned number(const char *flag, const char *v, unsigned min, unsigned max)
{
	uint64_t n;
	if (!cm_parse_u64(v, min, max, &n)) {
		fprintf(stderr, "ratchet-imapd: %s needs a number from %u to %u, not '%s'"
			" (see --help)\n", flag, min, max, v);
		exit(2);
	}
	return (unsigned)n;
}

/* Comma-separated names; fn returns the bit of one name or 0. */
static unsigned bit_list(const char *flag, const char *v, unsigned (*fn)(const char *))
{
	unsigned bits = 0;
	char *copy = cm_xstrdup(v), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned b = fn(t);
		if (b == 0) {
			fprintf(stderr, "ratchet-imapd: unknown name \"%s\" for %s\n", t, flag);
			exit(2);
		}
		bits |= b;
	}
	free(copy);
	return bits;
}

static unsigned cap_bit(const char *name)
{
	static const struct { const char *name; unsigned bit; } caps[] = {
		{"UIDPLUS", MODEL_CAP_UIDPLUS}, {"CONDSTORE", MODEL_CAP_CONDSTORE},
		{"QRESYNC", MODEL_CAP_QRESYNC}, {"MOVE", MODEL_CAP_MOVE},
		{"ENABLE", MODEL_CAP_ENABLE}, {"LITERAL+", MODEL_CAP_LITERALPLUS},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(caps); i++)
		if (strcasecmp(name, caps[i].name) == 0)
			return caps[i].bit;
	return 0;
}

static unsigned mutant_bit(const char *name)
{
	return rs_mutant_parse(name);
}

static void set_option(opts *o, const char *flag, const char *v)
{
	if (strcmp(flag, "--root") == 0)
		o->root = v;
	else if (strcmp(flag, "--port") == 0)
		o->port = (int)number(flag, v, 0, 65535);
	else if (strcmp(flag, "--user") == 0)
		o->cfg.user = v;
	else if (strcmp(flag, "--password") == 0)
		o->cfg.pass = v;
	else if (strcmp(flag, "--mutant") == 0)
		o->cfg.mutants |= bit_list(flag, v, mutant_bit);
	else if (strcmp(flag, "--caps") == 0)
		/* 0 would mean "all" to rt_session: keep one bit the wire never shows. */
		o->cfg.caps = v[0] ? bit_list(flag, v, cap_bit) : MODEL_CAP_ESEARCH;
	else if (strcmp(flag, "--log") == 0)
		o->log = v;
	else if (strcmp(flag, "--idle-timeout") == 0)
		o->cfg.idle_timeout_s = number(flag, v, 1, 86400 * 7);
	else if (strcmp(flag, "--max-conns") == 0)
		o->cfg.max_conns = number(flag, v, 1, 10000);
	else
		die_usage("unknown option %s", flag);
}

static void parse_args(opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0)
			die_usage("unexpected argument %s", a);
		if (eq != NULL) {
			char flag[32];
			snprintf(flag, sizeof(flag), "%.*s", (int)(eq - a), a);
			set_option(o, flag, eq + 1);
		} else if (i + 1 < argc) {
			set_option(o, a, argv[++i]);
		} else {
			die_usage("%s needs a value", a);
		}
	}
	if (o->root == NULL || o->root[0] == '\0')
		die_usage("%s is required", "--root");
	if (o->cfg.user[0] == '\0' || strlen(o->cfg.user) >= IMAPD_AUTH_MAX ||
	    strlen(o->cfg.pass) >= IMAPD_AUTH_MAX)
		die_usage("%s", "bad --user or --password");
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
	parse_args(&o, argc, argv);
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
