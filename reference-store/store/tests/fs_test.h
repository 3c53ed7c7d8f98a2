/* Fixtures of the rs_fs tests (test_fs_*.c): an environment per file
 * system (a root, in memory or a temporary directory), whole-file reads
 * and writes through the vtable, listings as strings, and BOTH(fn), which
 * makes fn_mem and fn_posix of a test of the behaviour both share. */
#ifndef FS_TEST_H
#define FS_TEST_H

#include "rs.h"
#include "cm_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct env {
	rs_fs *fs;
	const char *root; /* "" for memfs, a mkdtemp directory for POSIX */
	bool mem;
};

/* root + rel, from a small ring so that two paths fit in one call. */
static inline const char *P(const struct env *e, const char *rel)
{
	static char ring[8][512];
	static unsigned k;
	char *b = ring[k++ % 8];
	snprintf(b, sizeof(ring[0]), "%s%s", e->root, rel);
	return b;
}

static inline int put_file(rs_fs *fs, const char *path, const char *s)
{
	int fd = fs->ops->open(fs, path, RS_O_CREAT | RS_O_TRUNC | RS_O_APPEND);
	if (fd < 0)
		return fd;
	ssize_t n = fs->ops->append(fs, fd, s, strlen(s));
	int r = n < 0 ? (int)n : fs->ops->fsync(fs, fd);
	CHECK_EQ(fs->ops->close(fs, fd), 0);
	return r;
}

static inline int get_file(rs_fs *fs, const char *path, cm_buf *out)
{
	int fd = fs->ops->open(fs, path, RS_O_RDONLY);
	if (fd < 0)
		return fd;
	char buf[512];
	ssize_t n;
	uint64_t off = 0;
	while ((n = fs->ops->pread(fs, fd, buf, sizeof(buf), off)) > 0) {
		cm_buf_append(out, buf, (size_t)n);
		off += (uint64_t)n;
	}
	CHECK_EQ(fs->ops->close(fs, fd), 0);
	return n < 0 ? (int)n : 0;
}

/* Content through the vtable, or "(missing)" / "(error N)". */
static cm_buf rd_ring[8];
static unsigned rd_k;

static inline const char *show(cm_buf *b, int r)
{
	if (r == -ENOENT)
		return "(missing)";
	if (r < 0) {
		cm_buf_clear(b);
		cm_buf_printf(b, "(error %d)", -r);
	}
	return b->data ? b->data : "";
}

static inline const char *rd(rs_fs *fs, const char *path)
{
	cm_buf *b = &rd_ring[rd_k++ % 8];
	cm_buf_clear(b);
	return show(b, get_file(fs, path, b));
}

/* The same, bypassing hook and clock (memfs only). */
static inline const char *mrd(rs_fs *fs, const char *path)
{
	cm_buf *b = &rd_ring[rd_k++ % 8];
	cm_buf_clear(b);
	return show(b, rs_memfs_read_file(fs, path, b));
}

static inline void rd_free(void)
{
	for (size_t i = 0; i < CM_ARRAY_LEN(rd_ring); i++)
		cm_buf_free(&rd_ring[i]);
}

struct names {
	char **v;
	size_t n, cap;
	int stop_after; /* 0 = never */
};

static inline int collect(void *ctx, const char *name)
{
	struct names *ns = ctx;
	CM_GROW(ns->v, ns->cap, ns->n + 1);
	ns->v[ns->n++] = cm_xstrdup(name);
	return ns->stop_after && ns->n >= (size_t)ns->stop_after ? 7 : 0;
}

static inline void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static inline int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names joined by '/', sorted when asked (POSIX order is arbitrary). */
static inline int list_str(rs_fs *fs, const char *dir, bool sort, cm_buf *out)
{
	struct names ns = {0};
	int r = fs->ops->list(fs, dir, collect, &ns);
	if (sort && ns.n > 1)
		qsort(ns.v, ns.n, sizeof(*ns.v), cmp_str);
	cm_buf_clear(out);
	cm_buf_puts(out, "");
	for (size_t i = 0; i < ns.n; i++) {
		if (i)
			cm_buf_putc(out, '/');
		cm_buf_puts(out, ns.v[i]);
	}
	names_free(&ns);
	return r;
}

static inline bool exists(rs_fs *fs, const char *path)
{
	rs_fs_stat st;
	return fs->ops->stat(fs, path, &st) == 0;
}

static inline uint64_t ino_of(rs_fs *fs, const char *path)
{
	rs_fs_stat st;
	return fs->ops->stat(fs, path, &st) == 0 ? st.ino : 0;
}

static inline void check_mem(rs_fs *fs)
{
	rs_memfs_check(fs, NULL, NULL, NULL);
}

static inline void remove_tree(rs_fs *fs, const char *path)
{
	rs_fs_stat st;
	if (fs->ops->stat(fs, path, &st) < 0)
		return;
	if (!st.is_dir || st.is_link) {
		CHECK_EQ(fs->ops->unlink(fs, path), 0);
		return;
	}
	struct names ns = {0};
	CHECK_EQ(fs->ops->list(fs, path, collect, &ns), 0);
	for (size_t i = 0; i < ns.n; i++) {
		char sub[1024];
		int n = snprintf(sub, sizeof(sub), "%s/%s", path, ns.v[i]);
		REQUIRE(n > 0 && (size_t)n < sizeof(sub)); /* test trees are shallow */
		remove_tree(fs, sub);
	}
	names_free(&ns);
	CHECK_EQ(fs->ops->rmdir(fs, path), 0);
}

static inline void with_mem(void (*fn)(const struct env *))
{
	struct env e = { .fs = rs_memfs_new(), .root = "", .mem = true };
	fn(&e);
	check_mem(e.fs);
	rs_fs_destroy(e.fs);
}

static inline char *make_tmpdir(void)
{
	char *dir = cm_xstrdup("/tmp/rs_fs_test.XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	return dir;
}

static inline void with_posix(void (*fn)(const struct env *))
{
	char *dir = make_tmpdir();
	struct env e = { .fs = rs_posixfs_new(), .root = dir, .mem = false };
	fn(&e);
	remove_tree(e.fs, dir);
	CHECK(!exists(e.fs, dir));
	rs_fs_destroy(e.fs);
	free(dir);
}

#define BOTH(fn)                                                             \
	static void fn##_mem(void) { with_mem(fn); }                         \
	static void fn##_posix(void) { with_posix(fn); }

/* ---- memfs files ---- */

static inline int mopen(rs_fs *fs, const char *path)
{
	int fd = fs->ops->open(fs, path, RS_O_CREAT | RS_O_APPEND);
	REQUIRE(fd >= 0);
	return fd;
}

static inline void mappend(rs_fs *fs, int fd, const char *s)
{
	CHECK_EQ(fs->ops->append(fs, fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* A file whose data and entry are durable, written the normal way. */
static inline void durable_file(rs_fs *fs, const char *dir, const char *path,
				const char *s)
{
	CHECK_EQ(put_file(fs, path, s), 0);
	CHECK_EQ(fs->ops->fsync_dir(fs, dir), 0);
}

#endif
