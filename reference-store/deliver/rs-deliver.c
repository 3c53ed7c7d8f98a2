/* rs-deliver: local delivery into a reference-store mailbox from a separate
 * process, by the same locking protocol as every other writer (seed 000).
 *
 *   rs-deliver [--create] [--flags "\Seen $X"] [--repeat N] [--mutant NAME] DIR < msg
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

static const char usage_text[] =
	"usage: rs-deliver [--create] [--flags LIST] [--repeat N] "
	"[--mutant NAME] DIR < message\n";

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "rs-deliver: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, " (see --help)\n");
	return 2;
}

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

/* -1 to go on, or an exit code (0 after --help, 2 after a usage error). */
static int parse_args(deliver_args *d, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(a, "--flags") == 0 || strcmp(a, "--repeat") == 0 ||
			     strcmp(a, "--mutant") == 0;
		if (takes && v == NULL)
			return usage("%s needs a value", a);
		i += takes;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(a, "--create") == 0) {
			d->create = true;
		} else if (strcmp(a, "--flags") == 0) {
			if (cm_flags_parse(v, strlen(v), &d->flags, NULL) < 0)
				return usage("bad --flags list '%s'", v);
		} else if (strcmp(a, "--repeat") == 0) {
			if (!cm_parse_u64(v, 1, RS_DELIVER_REPEAT_MAX, &d->repeat))
				return usage("--repeat needs a number from 1 to 1000000000, "
					     "not '%s'", v);
		} else if (strcmp(a, "--mutant") == 0) {
			unsigned m = rs_mutant_parse(v);
			if (m == 0)
				return usage("unknown mutant '%s'", v);
			d->opts.mutants |= m;
		} else if (a[0] == '-' || d->dir != NULL) {
			return usage("unexpected argument '%s'", a);
		} else {
			d->dir = a;
		}
	}
	return d->dir == NULL ? usage("%s", "missing mailbox directory") : -1;
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
	int rc = parse_args(&d, argc, argv);
	if (rc >= 0)
		return rc;
	cm_buf msg = {0};
	if (read_stdin(&msg) < 0)
		return usage("%s", "cannot read the message from stdin");
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
