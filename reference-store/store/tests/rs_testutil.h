/* Fixtures for the reference-store tests: one root per file system. */
#ifndef RS_TESTUTIL_H
#define RS_TESTUTIL_H

#include "rs.h"
#include "cm_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
	rs_fs *fs;
	char root[256];
	bool mem;
} fixture;

static void fixture_rm(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", path);
}

static inline void fixture_init(fixture *f, bool mem)
{
	memset(f, 0, sizeof(*f));
	f->mem = mem;
	if (mem) {
		f->fs = rs_memfs_new();
		snprintf(f->root, sizeof(f->root), "/root");
		REQUIRE(f->fs->ops->mkdir(f->fs, f->root) == 0);
		REQUIRE(f->fs->ops->fsync_dir(f->fs, "/") == 0);
	} else {
		f->fs = rs_posixfs_new();
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(f->root, sizeof(f->root), "%s/rs-test-XXXXXX", base);
		REQUIRE(mkdtemp(f->root) != NULL);
	}
}

static inline void fixture_free(fixture *f)
{
	if (!f->mem)
		fixture_rm(f->root);
	rs_fs_destroy(f->fs);
}

/* Path of a mailbox under the root (static buffer rotation: 4 at once). */
static inline const char *fixture_path(fixture *f, const char *name)
{
	static char bufs[4][300];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, 300, "%s/%s", f->root, name);
	return b;
}

static inline rs_mailbox *fixture_open(fixture *f, const char *name,
				       const rs_options *opts)
{
	rs_mailbox *mb = NULL;
	char *why = NULL;
	rs_err err = rs_open(f->fs, fixture_path(f, name), opts, &mb, &why);
	if (err != RS_OK)
		fprintf(stderr, "open %s: %s\n", name, why ? why : "?");
	free(why);
	REQUIRE(err == RS_OK);
	return mb;
}

static inline rs_mailbox *fixture_mailbox(fixture *f, const char *name,
					  const rs_options *opts)
{
	REQUIRE(rs_create(f->fs, fixture_path(f, name), 0) == RS_OK);
	return fixture_open(f, name, opts);
}

static inline uint32_t deliver(rs_mailbox *mb, const char *id, cm_flags flags)
{
	char msg[200];
	uint32_t uid = 0;
	int n = snprintf(msg, sizeof(msg),
			 "X-Ratchet-Id: %s\r\nSubject: test\r\n\r\nbody of %s\r\n", id, id);
	rs_err err = rs_append(mb, msg, (size_t)n, flags, &uid, NULL);
	if (err != RS_OK)
		fprintf(stderr, "deliver %s: %s (%s)\n", id, rs_strerror(err),
			rs_last_error(mb));
	REQUIRE(err == RS_OK);
	return uid;
}

/* The X-Ratchet-Id of a message, or "" when unreadable. */
static inline const char *msg_id(rs_mailbox *mb, uint32_t uid)
{
	static char id[64];
	cm_buf b = {0};
	id[0] = '\0';
	if (rs_fetch_body(mb, uid, &b, NULL) == RS_OK && b.len > 14 &&
	    strncmp(b.data, "X-Ratchet-Id: ", 14) == 0) {
		size_t i = 0;
		while (i + 1 < sizeof(id) && b.data[14 + i] != '\r')
			id[i] = b.data[14 + i], i++;
		id[i] = '\0';
	}
	cm_buf_free(&b);
	return id;
}

static inline cm_flags flag(const char *name)
{
	int bit = cm_flag_intern(name, strlen(name));
	REQUIRE(bit >= 0);
	return (cm_flags)1 << bit;
}

static inline cm_uidset set_of(const char *text)
{
	cm_uidset s = {0};
	REQUIRE(cm_uidset_parse(&s, text, strlen(text), 0) == 0);
	return s;
}

#endif
