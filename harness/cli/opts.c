/* Command-line options of `ratchet run`: one table (cm_options.h) parses
 * them and prints --help; the checks that join options come after it.
 * Strict, one clear line per mistake, exit 2. */
#include "cli.h"
#include "rs.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "N" (ops) or "N%" (of the recorded ops, 0 to 100). */
static bool parse_max_unknown(const char *s, rt_opts *o)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= sizeof(num))
		return false;
	bool pct = s[n - 1] == '%';
	memcpy(num, s, n - pct);
	num[n - pct] = '\0';
	if (!cm_parse_u64(num, 0, pct ? 100 : UINT64_MAX / 2, &o->max_unknown))
		return false;
	o->max_unknown_pct = pct;
	return true;
}

static int bad(const char *fmt, const char *arg)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	cm_error("run: %s", msg);
	return CM_EXIT_USAGE;
}

static void defaults(rt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->seed = (cm_wall_ns() ^ ((uint64_t)getpid() << 32)) >> 1 & 0xffffffffffffULL;
	o->ops = 400000;
	o->seconds = 30;
	o->shrink_seconds = 30;
	o->timeout = 10;
	o->box_size = 300;
	o->max_unknown = 50;
	o->max_unknown_pct = true;
}

/* What the table fills that rt_opts keeps in other types, or that is
 * checked with other options after the table. */
typedef struct run_args {
	uint64_t clients, box_size, mutants, replicas;
	const char *max_unknown;
	bool list_mutants;
} run_args;

/* The real-server part of `ratchet run`'s table, copied to out (room
 * entries): returns how many. */
static size_t target_options(rt_opts *o, run_args *a, cm_option *out, size_t room)
{
	const cm_option t[] = {
		{.help = "a real server instead (README, \"Testing a real server\"):"},
		{.name = "target", .kind = CM_OPTION_STRING, .to.string = &o->target, .arg = "URL",
		 .help = "imap[s]://USER@HOST:PORT; password: RATCHET_PASSWORD (docs/security.md)"},
		{.name = "password-file", .kind = CM_OPTION_STRING, .to.string = &o->password_file,
		 .arg = "FILE", .help = "the password: the first line of FILE"},
		{.name = "starttls", .to.flag = &o->starttls, .help = "imap://: STARTTLS first"},
		{.name = "tls-ca", .kind = CM_OPTION_STRING, .to.string = &o->tls_ca, .arg = "FILE",
		 .help = "trust the CA certificates in FILE (PEM)"},
		{.name = "tls-insecure", .to.flag = &o->tls_insecure, .help = "no certificate check"},
		{.name = "mailbox-prefix", .kind = CM_OPTION_STRING, .to.string = &o->mailbox_prefix,
		 .arg = "P", .help = "the run's mailboxes (default ratchet-SEED)"},
		{.name = "keep", .to.flag = &o->keep, .help = "do not delete them at the end"},
		{.name = "allow-inbox", .to.flag = &o->allow_inbox, .help = "use INBOX too"},
		{.name = "reuse", .to.flag = &o->reuse,
		 .help = "delete and recreate a prefix that holds messages"},
		{.name = "mailbox-size", .kind = CM_OPTION_U64, .to.u64 = &a->box_size, .arg = "N",
		 .help = "trim mailboxes above N messages (default 300; 0 never)", .max = 1000000},
		{.name = "timeout", .kind = CM_OPTION_SECONDS, .to.seconds = &o->timeout, .arg = "S",
		 .help = "per-command timeout (default 10)", .max_s = 1e7},
		{.name = "replica", .kind = CM_OPTION_STRING, .to.string = &o->replica, .arg = "URL",
		 .help = "a second server replicating --target (replica 2; needs --sync-cmd)"},
		{.name = "sync-cmd", .kind = CM_OPTION_STRING, .to.string = &o->sync_cmd, .arg = "CMD",
		 .help = "syncs --target with --replica (/bin/sh -c; never printed), at random\n"
		 "and at every checkpoint; $RATCHET_SYNC_STATE: docs/wire.md"},
		{.name = "deliver", .kind = CM_OPTION_STRING, .to.string = &o->deliver,
		 .arg = "SPEC", .help = "imap-append (default), lmtp://HOST:PORT, lmtp:/SOCKET,\n"
		 "cmd:COMMAND (an LDA), maildir:/DIR (README, \"Delivery paths\")"},
		{.name = "deliver-rcpt", .kind = CM_OPTION_STRING, .to.string = &o->deliver_rcpt,
		 .arg = "T", .help = "LMTP recipient template (default %u+%m; %u for INBOX)"},
		{.name = "progress-every", .kind = CM_OPTION_SECONDS, .to.seconds = &o->progress_every,
		 .arg = "S", .help = "a line every S s: ops/s, commands, p50/p99", .max_s = 86400},
		{.name = "max-unknown", .kind = CM_OPTION_STRING, .to.string = &a->max_unknown,
		 .arg = "N|P%", .help = "fail (exit 1) when more than N ops, or P% of them,\n"
		 "ended with outcome unknown (default 50%)"},
	};
	assert(CM_ARRAY_LEN(t) <= room);
	memcpy(out, t, sizeof(t));
	return CM_ARRAY_LEN(t);
}

/* `ratchet run`'s one table: its options and their --help. */
static cm_options_result parse_table(rt_opts *o, run_args *a, int argc, char **argv)
{
	cm_option table[64];
	const cm_option run[] = {
		{.name = "seed", .kind = CM_OPTION_U64, .to.u64 = &o->seed, .arg = "N",
		 .help = "campaign seed (default: from the clock; printed first)", .max = INT64_MAX},
		{.name = "clients", .kind = CM_OPTION_U64, .to.u64 = &a->clients, .arg = "N",
		 .help = "clients per run (default: each run draws 2-8)", .min = 1,
		 .max = RT_MAX_CLIENTS},
		{.name = "replicas", .kind = CM_OPTION_U64, .to.u64 = &a->replicas, .arg = "N",
		 .help = "1: no run replicated; 2: every run two replicas and a sync agent\n"
		 "(docs/replication.md; default: one run in four drawn so)", .min = 1,
		 .max = RT_REPLICAS_MAX},
		{.name = "ops", .kind = CM_OPTION_U64, .to.u64 = &o->ops, .arg = "N",
		 .help = "total ops (default 400000)", .min = 1, .max = UINT64_MAX / 2,
		 .given = &o->ops_set},
		{.name = "seconds", .kind = CM_OPTION_SECONDS, .to.seconds = &o->seconds,
		 .arg = "S", .help = "time budget (default 30)", .max_s = 1e7,
		 .given = &o->seconds_set},
		{.name = "runs", .kind = CM_OPTION_U64, .to.u64 = &o->runs, .arg = "N",
		 .help = "number of runs (default: until --ops or --seconds)", .min = 1,
		 .max = UINT32_MAX},
		{.name = "mutant", .kind = CM_OPTION_CHOICE, .to.choice = &a->mutants, .arg = "NAME",
		 .help = "switch on a reference-store mutant", .names = rs_mutant_names()},
		{.name = "list-mutants", .to.flag = &a->list_mutants, .help = "print their names"},
		{.name = "report", .kind = CM_OPTION_STRING, .to.string = &o->report,
		 .arg = "FILE.json", .help = "JSON report (violations + summary)"},
		{.name = "junit", .kind = CM_OPTION_STRING, .to.string = &o->junit,
		 .arg = "FILE.xml", .help = "JUnit XML, one testcase per invariant family"},
		{.name = "history", .kind = CM_OPTION_STRING, .to.string = &o->history,
		 .arg = "FILE", .help = "every event, JSON Lines (docs/history.md)"},
		{.name = "html", .kind = CM_OPTION_STRING, .to.string = &o->html, .arg = "FILE.html",
		 .help = "the failing run (its minimal case) as a timeline in one HTML file"},
		{.name = "keep-going", .to.flag = &o->keep_going,
		 .help = "do not stop at the first failing run"},
		{.name = "no-shrink", .to.flag = &o->no_shrink, .help = "do not minimise a failing run"},
		{.name = "shrink-seconds", .kind = CM_OPTION_SECONDS, .to.seconds = &o->shrink_seconds,
		 .arg = "S", .help = "shrinking budget (default 30)", .max_s = 1e7},
		{.name = "quiet", .to.flag = &o->quiet, .help = "no progress line"},
	};
	memcpy(table, run, sizeof(run));
	size_t n = CM_ARRAY_LEN(run);
	n += target_options(o, a, table + n, CM_ARRAY_LEN(table) - n);
	cm_options cmdline = {.program = "ratchet", .command = "run", .options = table,
			   .noptions = n};
	return cm_options_parse(&cmdline, argc, argv);
}

int rt_opts_parse(rt_opts *o, int argc, char **argv)
{
	defaults(o);
	run_args a = {.box_size = o->box_size};
	cm_options_result r = parse_table(o, &a, argc, argv);
	if (r != CM_OPTIONS_OK)
		return cm_options_exit(r);
	if (a.list_mutants) {
		for (const char *const *m = rs_mutant_names(); *m; m++)
			puts(*m);
		return CM_EXIT_CLEAN;
	}
	o->clients = (unsigned)a.clients;
	o->replicas = (unsigned)a.replicas;
	o->box_size = (uint32_t)a.box_size;
	if (a.max_unknown != NULL && !parse_max_unknown(a.max_unknown, o))
		return bad("--max-unknown needs a number of ops or a percentage (0%%-100%%), "
			   "not '%s'", a.max_unknown);
	/* A replay file and a report name one mutant. */
	if ((a.mutants & (a.mutants - 1)) != 0)
		return bad("%s", "--mutant: one mutant per run");
	o->mutants = (unsigned)a.mutants;
	o->mutant = a.mutants ? rs_mutant_name(o->mutants) : NULL;
	if (o->target == NULL && (o->mailbox_prefix || o->keep || o->allow_inbox || o->reuse))
		return bad("%s", "--mailbox-prefix, --keep, --allow-inbox and --reuse need --target");
	if (o->target == NULL && (o->starttls || o->tls_ca || o->tls_insecure || o->password_file))
		return bad("%s", "--starttls, --tls-ca, --tls-insecure and --password-file need "
			   "--target");
	if (o->tls_ca != NULL && o->tls_insecure)
		return bad("%s", "--tls-ca and --tls-insecure: give one of them");
	if ((o->replica == NULL) != (o->sync_cmd == NULL))
		return bad("%s", o->replica ? "--replica needs --sync-cmd (the command that syncs "
			   "the two servers)" : "--sync-cmd needs --replica (the second server)");
	if (o->replica != NULL && o->target == NULL)
		return bad("%s", "--replica and --sync-cmd need --target (replica 1)");
	if ((o->deliver != NULL || o->deliver_rcpt != NULL) && o->target == NULL)
		return bad("%s", "--deliver and --deliver-rcpt need --target (the embedded store's "
			   "simulator delivers through the store itself)");
	if (o->html != NULL && o->target != NULL && o->history == NULL)
		return bad("%s", "--html with --target needs --history (the page is drawn from it)");
	if (o->deliver != NULL && o->replica != NULL)
		return bad("%s", "--deliver takes one server: not with --replica");
	if (o->target != NULL && o->mutant != NULL)
		return bad("%s", "--mutant switches the embedded store's mutants; a real server "
			   "takes none (ratchet-imapd --mutant NAME does)");
	return -1;
}
