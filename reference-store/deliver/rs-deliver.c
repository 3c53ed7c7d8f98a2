/* rs-deliver: local delivery into a reference-store mailbox from a separate
 * process, by the same locking protocol as every other writer
 * (docs/design.md#delivery).
 *
 *   rs-deliver [options] DIR < message     (--help lists them)
 *
 * With --repeat (1 to RS_DELIVER_REPEAT_MAX), the message is delivered N
 * times, each copy carrying its own "X-Ratchet-Id: deliver-<pid>-<i>"
 * header line first; one line "<uid> <id>" per delivery goes to stdout,
 * flushed as each delivery is made, so a deliverer killed half-way has
 * recorded every delivery but at most the one in progress.
 * Exit 0 ok, 2 usage (one line on stderr), 3 failure. */
#include "rs.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Far beyond any test's need; a typo must not become a runaway writer. */
#define RS_DELIVER_REPEAT_MAX 1000000000u

static int read_stdin(cm_buf *b)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		cm_buf_append(b, chunk, n);
	return ferror(stdin) ? -1 : 0;
}

typedef struct deliver_args {
	bool create;
	cm_flags flags;
	uint64_t repeat; /* 0: once, without the id header and the record */
	rs_options opts;
	const char *dir;
} deliver_args;

/* `rs-deliver --help-man`: the page around the table (cm_man.h). */
static const char *const man_exits[] = {
	"0", "delivered (every copy, with --repeat), or --help",
	"2", "usage error, or no mailbox at DIR: one line on standard error",
	"3", "a delivery failed, or its record could not be written", NULL,
};
static const cm_man_page man_page = {
	.program = "rs-deliver", .version = RATCHET_VERSION,
	.summary = "deliver a message into a ratchet reference-store mailbox",
	.description = "rs-deliver reads one message from standard input and delivers it "
	"into the reference-store mailbox at DIR by the store's own locking protocol: "
	"write to tmp/, lock, assign the UID, rename into new/, append to the UID list, "
	"commit, unlock. It is the local delivery agent a test runs beside "
	"ratchet-imapd(1) or ratchet(1) to race deliveries against IMAP clients.\n\n"
	"With --repeat N it delivers N copies, each with its own X-Ratchet-Id header, and "
	"prints one flushed line \"UID ID\" per delivery, so a deliverer killed half-way "
	"has recorded every delivery but the one in progress.",
	.exits = man_exits, .see_also = "ratchet(1), ratchet-imapd(1)",
};

/* -1 to go on, or an exit code (0 after --help, 2 after a usage error). */
static int parse_args(deliver_args *d, int argc, char **argv)
{
	const char *flags = NULL;
	uint64_t mutants = 0;
	const cm_option table[] = {
		{.name = "create", .to.flag = &d->create, .help = "create the mailbox if missing"},
		{.name = "flags", .kind = CM_OPTION_STRING, .to.string = &flags, .arg = "LIST",
		 .help = "the message's flags, \"\\Seen $Label\""},
		{.name = "repeat", .kind = CM_OPTION_U64, .to.u64 = &d->repeat, .arg = "N",
		 .help = "deliver N copies (1 to 1000000000), each with its own\n"
		 "X-Ratchet-Id, and print \"UID ID\" after each", .min = 1,
		 .max = RS_DELIVER_REPEAT_MAX},
		{.name = "mutant", .kind = CM_OPTION_CHOICE, .to.choice = &mutants, .arg = "NAME",
		 .help = "switch on store mutants (repeatable, or a,b,c)",
		 .names = rs_mutant_names()},
	};
	cm_options cmdline = {.program = "rs-deliver", .synopsis = "[options] DIR < message",
			      .options = table, .noptions = CM_ARRAY_LEN(table),
			      .args = &d->dir, .nargs = 1, .args_name = "mailbox directory",
			      .man = &man_page};
	cm_options_result r = cm_options_parse(&cmdline, argc, argv);
	if (r != CM_OPTIONS_OK)
		return cm_options_exit(r);
	d->opts.mutants = (unsigned)mutants;
	if (flags != NULL && cm_flags_parse(flags, strlen(flags), &d->flags, NULL) < 0) {
		cm_error("bad --flags list '%s' (try 'rs-deliver --help')", flags);
		return CM_EXIT_USAGE;
	}
	return -1;
}

/* Each record is flushed before the next delivery starts: a reader of
 * the output (or a test that kills us) sees every delivery made. */
static int deliver_all(const deliver_args *d, rs_mailbox *mb, const cm_buf *msg)
{
	cm_buf one = {0};
	int rc = 0;
	long pid = (long)getpid();
	for (uint64_t i = 0; i < (d->repeat ? d->repeat : 1) && rc == 0; i++) {
		cm_buf_clear(&one);
		if (d->repeat)
			cm_buf_printf(&one, "X-Ratchet-Id: deliver-%ld-%" PRIu64 "\r\n", pid, i);
		cm_buf_append(&one, msg->data, msg->len);
		uint32_t uid;
		rs_err err = rs_append(mb, one.data, one.len, d->flags, &uid, NULL);
		if (err != RS_OK) {
			fprintf(stderr, "rs-deliver: %s: %s (%s)\n", d->dir,
				rs_strerror(err), rs_last_error(mb));
			rc = 3;
		} else if (d->repeat &&
			   (printf("%" PRIu32 " deliver-%ld-%" PRIu64 "\n", uid, pid, i) < 0 ||
			    fflush(stdout) != 0)) {
			/* A delivery nobody can learn of: stop making more. */
			fprintf(stderr, "rs-deliver: cannot write the record of uid %" PRIu32
				" to stdout\n", uid);
			rc = 3;
		}
	}
	cm_buf_free(&one);
	return rc;
}

int main(int argc, char **argv)
{
	deliver_args d = {0};
	cm_error_program("rs-deliver");
	int rc = parse_args(&d, argc, argv);
	if (rc >= 0)
		return rc;
	cm_buf msg = {0};
	if (read_stdin(&msg) < 0) {
		cm_error("cannot read the message from stdin");
		cm_buf_free(&msg);
		return CM_EXIT_USAGE;
	}
	rs_fs *fs = rs_posixfs_new();
	rs_err err = d.create ? rs_create(fs, d.dir, 0) : RS_OK;
	if (err != RS_OK && err != RS_EEXIST) {
		fprintf(stderr, "rs-deliver: %s: %s\n", d.dir, rs_strerror(err));
		rs_fs_destroy(fs);
		cm_buf_free(&msg);
		return 3;
	}
	/* The store never goes through a link in a mailbox's own path (its
	 * listings refuse one); a DIR the user names may be one: resolved. */
	char real[PATH_MAX];
	if (realpath(d.dir, real) != NULL)
		d.dir = real;
	rs_mailbox *mb;
	char *why;
	err = rs_open(fs, d.dir, &d.opts, &mb, &why);
	if (err != RS_OK) {
		fprintf(stderr, "rs-deliver: %s: %s\n", d.dir, why);
		free(why);
		rc = err == RS_ENOENT ? 2 : 3;
	} else {
		rc = deliver_all(&d, mb, &msg);
		rs_close(mb);
	}
	cm_buf_free(&msg);
	rs_fs_destroy(fs);
	return rc;
}
