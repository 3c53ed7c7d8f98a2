/* rs-deliver: local delivery into a reference-store mailbox from a separate
 * process, by the same locking protocol as every other writer (seed 000).
 *
 *   rs-deliver [--create] [--flags "\Seen $X"] [--repeat N] [--mutant NAME] DIR < msg
 *
 * With --repeat, the message is delivered N times, each copy carrying its
 * own "X-Ratchet-Id: deliver-<pid>-<i>" header line first; one line
 * "<uid> <id>" per delivery goes to stdout. Exit 0 ok, 2 usage, 3 failure. */
#include "rs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(const char *msg)
{
	fprintf(stderr, "rs-deliver: %s\n"
		"usage: rs-deliver [--create] [--flags LIST] [--repeat N] "
		"[--mutant NAME] DIR < message\n", msg);
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

int main(int argc, char **argv)
{
	bool create = false;
	cm_flags flags = 0;
	long repeat = 0;
	rs_options opts = {0};
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--create") == 0) {
			create = true;
		} else if (strcmp(a, "--flags") == 0 && i + 1 < argc) {
			const char *f = argv[++i];
			if (cm_flags_parse(f, strlen(f), &flags, NULL) < 0)
				return usage("bad --flags list");
		} else if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
			char *end;
			repeat = strtol(argv[++i], &end, 10);
			if (*end != '\0' || repeat < 1)
				return usage("--repeat needs a positive number");
		} else if (strcmp(a, "--mutant") == 0 && i + 1 < argc) {
			unsigned m = rs_mutant_parse(argv[++i]);
			if (m == 0)
				return usage("unknown mutant");
			opts.mutants |= m;
		} else if (a[0] == '-' || dir != NULL) {
			return usage("unexpected argument");
		} else {
			dir = a;
		}
	}
	if (dir == NULL)
		return usage("missing mailbox directory");
	cm_buf msg = {0};
	if (read_stdin(&msg) < 0)
		return usage("cannot read the message from stdin");

	rs_fs *fs = rs_posixfs_new();
	if (create) {
		rs_err e = rs_create(fs, dir, 0);
		if (e != RS_OK && e != RS_EEXIST) {
			fprintf(stderr, "rs-deliver: %s: %s\n", dir, rs_strerror(e));
			return 3;
		}
	}
	rs_mailbox *mb;
	char *why;
	rs_err err = rs_open(fs, dir, &opts, &mb, &why);
	if (err != RS_OK) {
		fprintf(stderr, "rs-deliver: %s: %s\n", dir, why);
		free(why);
		return err == RS_ENOENT ? 2 : 3;
	}
	int rc = 0;
	cm_buf one = {0};
	for (long i = 0; i < (repeat ? repeat : 1) && rc == 0; i++) {
		cm_buf_clear(&one);
		if (repeat)
			cm_buf_printf(&one, "X-Ratchet-Id: deliver-%ld-%ld\r\n",
				      (long)getpid(), i);
		cm_buf_append(&one, msg.data, msg.len);
		uint32_t uid;
		err = rs_append(mb, one.data, one.len, flags, &uid, NULL);
		if (err != RS_OK) {
			fprintf(stderr, "rs-deliver: %s: %s (%s)\n", dir,
				rs_strerror(err), rs_last_error(mb));
			rc = 3;
		} else if (repeat) {
			printf("%" PRIu32 " deliver-%ld-%ld\n", uid, (long)getpid(), i);
		}
	}
	cm_buf_free(&one);
	cm_buf_free(&msg);
	rs_close(mb);
	rs_fs_destroy(fs);
	return rc;
}
