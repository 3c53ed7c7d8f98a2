/* rs_fs: the behaviour both implementations share (run on each), the
 * in-memory file system's crash, hook, quota and clock semantics, and a
 * randomized differential test against a small reference model (checked
 * against POSIX too, which keeps the model honest). */
#include "rs.h"
#include "cm_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


/* ---- helpers ---------------------------------------------------------- */

struct env {
	rs_fs *fs;
	const char *root; /* "" for memfs, a mkdtemp directory for POSIX */
	bool mem;
};

/* root + rel, from a small ring so that two paths fit in one call. */
static const char *P(const struct env *e, const char *rel)
{
	static char ring[8][512];
	static unsigned k;
	char *b = ring[k++ % 8];
	snprintf(b, sizeof(ring[0]), "%s%s", e->root, rel);
	return b;
}

static int put_file(rs_fs *fs, const char *path, const char *s)
{
	int fd = fs->ops->open(fs, path, RS_O_CREAT | RS_O_TRUNC | RS_O_APPEND);
	if (fd < 0)
		return fd;
	ssize_t n = fs->ops->append(fs, fd, s, strlen(s));
	int r = n < 0 ? (int)n : fs->ops->fsync(fs, fd);
	CHECK_EQ(fs->ops->close(fs, fd), 0);
	return r;
}

static int get_file(rs_fs *fs, const char *path, cm_buf *out)
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

static const char *show(cm_buf *b, int r)
{
	if (r == -ENOENT)
		return "(missing)";
	if (r < 0) {
		cm_buf_clear(b);
		cm_buf_printf(b, "(error %d)", -r);
	}
	return b->data ? b->data : "";
}

static const char *rd(rs_fs *fs, const char *path)
{
	cm_buf *b = &rd_ring[rd_k++ % 8];
	cm_buf_clear(b);
	return show(b, get_file(fs, path, b));
}

/* The same, bypassing hook and clock (memfs only). */
static const char *mrd(rs_fs *fs, const char *path)
{
	cm_buf *b = &rd_ring[rd_k++ % 8];
	cm_buf_clear(b);
	return show(b, rs_memfs_read_file(fs, path, b));
}

static void rd_free(void)
{
	for (size_t i = 0; i < CM_ARRAY_LEN(rd_ring); i++)
		cm_buf_free(&rd_ring[i]);
}

struct names {
	char **v;
	size_t n, cap;
	int stop_after; /* 0 = never */
};

static int collect(void *ctx, const char *name)
{
	struct names *ns = ctx;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 8;
		ns->v = cm_xrealloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	ns->v[ns->n++] = cm_xstrdup(name);
	return ns->stop_after && ns->n >= (size_t)ns->stop_after ? 7 : 0;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names joined by '/', sorted when asked (POSIX order is arbitrary). */
static int list_str(rs_fs *fs, const char *dir, bool sort, cm_buf *out)
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

static bool exists(rs_fs *fs, const char *path)
{
	rs_fs_stat st;
	return fs->ops->stat(fs, path, &st) == 0;
}

static uint64_t ino_of(rs_fs *fs, const char *path)
{
	rs_fs_stat st;
	return fs->ops->stat(fs, path, &st) == 0 ? st.ino : 0;
}

static void check_mem(rs_fs *fs)
{
	rs_memfs_check(fs, NULL, NULL, NULL);
}

static void remove_tree(rs_fs *fs, const char *path)
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
		snprintf(sub, sizeof(sub), "%s/%s", path, ns.v[i]);
		remove_tree(fs, sub);
	}
	names_free(&ns);
	CHECK_EQ(fs->ops->rmdir(fs, path), 0);
}

static void with_mem(void (*fn)(const struct env *))
{
	struct env e = { .fs = rs_memfs_new(), .root = "", .mem = true };
	fn(&e);
	check_mem(e.fs);
	rs_fs_destroy(e.fs);
}

static char *make_tmpdir(void)
{
	char *dir = cm_xstrdup("/tmp/rs_fs_test.XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	return dir;
}

static void with_posix(void (*fn)(const struct env *))
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

/* ---- behaviour common to both ------------------------------------------- */

static void common_io(const struct env *e)
{
	rs_fs *fs = e->fs;
	const struct rs_fs_ops *o = fs->ops;
	char buf[64];
	rs_fs_stat st, st2;

	CHECK_EQ(o->open(fs, P(e, "/f"), RS_O_RDONLY), -ENOENT);
	CHECK_EQ(o->open(fs, P(e, "/f"), RS_O_APPEND), -ENOENT);
	int w = o->open(fs, P(e, "/f"), RS_O_CREAT | RS_O_APPEND);
	REQUIRE(w >= 0);
	CHECK_EQ(o->append(fs, w, "hello", 5), 5);
	CHECK_EQ(o->append(fs, w, " world", 6), 6);
	CHECK_EQ(o->append(fs, w, "", 0), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(o->pread(fs, w, buf, sizeof(buf), 0), 11);
	CHECK(memcmp(buf, "hello world", 11) == 0);
	CHECK_EQ(o->pread(fs, w, buf, 3, 6), 3);
	CHECK(memcmp(buf, "wor", 3) == 0);
	CHECK_EQ(o->pread(fs, w, buf, 100, 6), 5); /* short read at EOF */
	CHECK_EQ(o->pread(fs, w, buf, 10, 11), 0);
	CHECK_EQ(o->pread(fs, w, buf, 10, 1000), 0);
	CHECK_EQ(o->fstat(fs, w, &st), 0);
	CHECK_EQ(st.size, 11);
	CHECK(!st.is_dir);
	CHECK_EQ(o->stat(fs, P(e, "/f"), &st2), 0);
	CHECK_EQ(st2.ino, st.ino);
	CHECK_EQ(st2.size, 11);
	CHECK(st2.mtime_ns > 0);

	int r = o->open(fs, P(e, "/f"), RS_O_RDONLY);
	REQUIRE(r >= 0);
	CHECK(r != w);
	CHECK_EQ(o->append(fs, r, "x", 1), -EBADF);
	CHECK_EQ(o->append(fs, r, "x", 0), -EBADF);
	CHECK_EQ(o->truncate(fs, r, 0), -EINVAL);
	CHECK_EQ(o->pread(fs, r, buf, 5, 0), 5);
	CHECK_EQ(o->fsync(fs, w), 0);
	CHECK_EQ(o->fsync(fs, r), 0);

	CHECK_EQ(o->truncate(fs, w, 5), 0);
	CHECK_STR(rd(fs, P(e, "/f")), "hello");
	CHECK_EQ(o->truncate(fs, w, 7), 0); /* grows with zeros */
	CHECK_EQ(o->pread(fs, r, buf, 10, 0), 7);
	CHECK(memcmp(buf, "hello\0\0", 7) == 0);
	CHECK_EQ(o->append(fs, w, "!", 1), 1); /* at the end, not at 0 */
	CHECK_EQ(o->fstat(fs, r, &st), 0);
	CHECK_EQ(st.size, 8);
	CHECK_EQ(o->pread(fs, r, buf, 1, 7), 1);
	CHECK_EQ(buf[0], '!');

	CHECK_EQ(o->open(fs, P(e, "/f"), RS_O_CREAT | RS_O_EXCL | RS_O_APPEND), -EEXIST);
	int t = o->open(fs, P(e, "/f"), RS_O_CREAT | RS_O_TRUNC | RS_O_APPEND);
	REQUIRE(t >= 0);
	CHECK_EQ(o->fstat(fs, t, &st), 0);
	CHECK_EQ(st.size, 0);
	CHECK_EQ(st.ino, st2.ino);
	CHECK_EQ(o->close(fs, t), 0);
	CHECK_EQ(o->close(fs, r), 0);
	CHECK_EQ(o->close(fs, w), 0);
	CHECK_EQ(o->close(fs, w), -EBADF);
	CHECK_EQ(o->pread(fs, w, buf, 1, 0), -EBADF);
	CHECK_EQ(o->unlink(fs, P(e, "/f")), 0);

	/* An unlinked file stays readable through an open descriptor. */
	w = o->open(fs, P(e, "/g"), RS_O_CREAT | RS_O_APPEND);
	REQUIRE(w >= 0);
	CHECK_EQ(o->append(fs, w, "data", 4), 4);
	CHECK_EQ(o->unlink(fs, P(e, "/g")), 0);
	CHECK_EQ(o->stat(fs, P(e, "/g"), &st), -ENOENT);
	CHECK_EQ(o->append(fs, w, "!", 1), 1);
	CHECK_EQ(o->pread(fs, w, buf, sizeof(buf), 0), 5);
	CHECK(memcmp(buf, "data!", 5) == 0);
	CHECK_EQ(o->fstat(fs, w, &st), 0);
	CHECK_EQ(st.size, 5);
	CHECK_EQ(o->close(fs, w), 0);
}
BOTH(common_io)

static void common_namespace(const struct env *e)
{
	rs_fs *fs = e->fs;
	const struct rs_fs_ops *o = fs->ops;
	rs_fs_stat st;
	char buf[8];

	CHECK_EQ(o->mkdir(fs, P(e, "/d")), 0);
	CHECK_EQ(o->mkdir(fs, P(e, "/d")), -EEXIST);
	CHECK_EQ(o->mkdir(fs, P(e, "/nope/x")), -ENOENT);
	CHECK_EQ(o->stat(fs, P(e, "/d"), &st), 0);
	CHECK(st.is_dir);
	CHECK_EQ(put_file(fs, P(e, "/d/f"), "F"), 0);
	CHECK_EQ(o->open(fs, P(e, "/d/f/x"), RS_O_CREAT | RS_O_APPEND), -ENOTDIR);
	CHECK_EQ(o->stat(fs, P(e, "/d/f/x"), &st), -ENOTDIR);
	CHECK_EQ(o->mkdir(fs, P(e, "/d/f/x")), -ENOTDIR);
	CHECK_EQ(o->stat(fs, P(e, "/nope/x"), &st), -ENOENT);
	CHECK_EQ(o->unlink(fs, P(e, "/d")), -EISDIR);
	CHECK_EQ(o->rmdir(fs, P(e, "/d")), -ENOTEMPTY);
	CHECK_EQ(o->rmdir(fs, P(e, "/d/f")), -ENOTDIR);
	CHECK_EQ(o->rmdir(fs, P(e, "/d/none")), -ENOENT);
	CHECK_EQ(o->link(fs, P(e, "/d"), P(e, "/e")), -EPERM);
	CHECK_EQ(o->link(fs, P(e, "/d/f"), P(e, "/d/g")), 0);
	CHECK_EQ(ino_of(fs, P(e, "/d/f")), ino_of(fs, P(e, "/d/g")));
	CHECK_EQ(o->link(fs, P(e, "/d/f"), P(e, "/d/g")), -EEXIST);
	CHECK_EQ(o->link(fs, P(e, "/d/none"), P(e, "/d/h")), -ENOENT);
	CHECK_EQ(o->link(fs, P(e, "/d/f"), P(e, "/nope/h")), -ENOENT);
	CHECK_EQ(o->rename(fs, P(e, "/d/none"), P(e, "/d/h")), -ENOENT);
	CHECK_EQ(o->rename(fs, P(e, "/d/f"), P(e, "/nope/h")), -ENOENT);
	CHECK_EQ(o->unlink(fs, P(e, "/d/none")), -ENOENT);

	/* Directories open read-only only. */
	CHECK_EQ(o->open(fs, P(e, "/d"), RS_O_APPEND), -EISDIR);
	CHECK_EQ(o->open(fs, P(e, "/d"), RS_O_CREAT | RS_O_APPEND), -EISDIR);
	CHECK_EQ(o->open(fs, P(e, "/d"), RS_O_CREAT | RS_O_EXCL), -EEXIST);
	int dfd = o->open(fs, P(e, "/d"), RS_O_RDONLY);
	REQUIRE(dfd >= 0);
	CHECK_EQ(o->fstat(fs, dfd, &st), 0);
	CHECK(st.is_dir);
	CHECK_EQ(o->pread(fs, dfd, buf, 1, 0), -EISDIR);
	CHECK_EQ(o->append(fs, dfd, "x", 1), -EBADF);
	CHECK_EQ(o->fsync(fs, dfd), 0);
	CHECK_EQ(o->close(fs, dfd), 0);

	/* Renaming onto a hard link of itself does nothing (POSIX). */
	CHECK_EQ(o->rename(fs, P(e, "/d/f"), P(e, "/d/g")), 0);
	CHECK(exists(fs, P(e, "/d/f")));
	CHECK(exists(fs, P(e, "/d/g")));
	CHECK_EQ(o->rename(fs, P(e, "/d/f"), P(e, "/d/f")), 0);
	/* Rename replaces atomically: the name takes the source's inode. */
	CHECK_EQ(put_file(fs, P(e, "/d/h"), "H"), 0);
	uint64_t h_ino = ino_of(fs, P(e, "/d/h"));
	CHECK_EQ(o->rename(fs, P(e, "/d/h"), P(e, "/d/g")), 0);
	CHECK_EQ(ino_of(fs, P(e, "/d/g")), h_ino);
	CHECK_STR(rd(fs, P(e, "/d/g")), "H");
	CHECK_STR(rd(fs, P(e, "/d/h")), "(missing)");
	CHECK_STR(rd(fs, P(e, "/d/f")), "F");

	/* Directory renames. */
	CHECK_EQ(o->mkdir(fs, P(e, "/d2")), 0);
	CHECK_EQ(o->mkdir(fs, P(e, "/d3")), 0);
	CHECK_EQ(put_file(fs, P(e, "/d3/x"), "X"), 0);
	CHECK_EQ(o->rename(fs, P(e, "/d/f"), P(e, "/d2")), -EISDIR);
	CHECK_EQ(o->rename(fs, P(e, "/d2"), P(e, "/d/f")), -ENOTDIR);
	CHECK_EQ(o->rename(fs, P(e, "/d2"), P(e, "/d3")), -ENOTEMPTY);
	CHECK_EQ(o->rename(fs, P(e, "/d2"), P(e, "/d4")), 0);
	CHECK(!exists(fs, P(e, "/d2")));
	CHECK_EQ(o->mkdir(fs, P(e, "/e")), 0);
	CHECK_EQ(o->rename(fs, P(e, "/d4"), P(e, "/e")), 0); /* onto empty dir */
	CHECK(!exists(fs, P(e, "/d4")));
	CHECK_EQ(o->rename(fs, P(e, "/e"), P(e, "/e/sub")), -EINVAL);
	CHECK_EQ(o->rename(fs, P(e, "/d3"), P(e, "/e/d3")), 0); /* with content */
	CHECK_STR(rd(fs, P(e, "/e/d3/x")), "X");
	CHECK_EQ(o->rename(fs, P(e, "/e/d3/x"), P(e, "/e")), -ENOTEMPTY);
	CHECK_EQ(o->rmdir(fs, P(e, "/e")), -ENOTEMPTY);
	CHECK_EQ(o->unlink(fs, P(e, "/e/d3/x")), 0);
	CHECK_EQ(o->rmdir(fs, P(e, "/e/d3")), 0);
	CHECK_EQ(o->rmdir(fs, P(e, "/e")), 0);
	CHECK_EQ(o->unlink(fs, P(e, "/d/f")), 0);
	CHECK_EQ(o->unlink(fs, P(e, "/d/g")), 0);
	CHECK_EQ(o->rmdir(fs, P(e, "/d")), 0);
	CHECK(!exists(fs, P(e, "/d")));
}
BOTH(common_namespace)

static void common_list(const struct env *e)
{
	rs_fs *fs = e->fs;
	const struct rs_fs_ops *o = fs->ops;
	cm_buf b = {0};

	CHECK_EQ(o->mkdir(fs, P(e, "/l")), 0);
	CHECK_EQ(list_str(fs, P(e, "/l"), true, &b), 0);
	CHECK_STR(b.data, "");
	const char *names[] = { "b", "a", "c", "A", "a.b" };
	for (size_t i = 0; i < CM_ARRAY_LEN(names); i++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "/l/%s", names[i]);
		CHECK_EQ(put_file(fs, P(e, rel), names[i]), 0);
	}
	CHECK_EQ(o->mkdir(fs, P(e, "/l/sub")), 0);
	CHECK_EQ(list_str(fs, P(e, "/l"), true, &b), 0);
	CHECK_STR(b.data, "A/a/a.b/b/c/sub");

	struct names ns = { .stop_after = 2 };
	CHECK_EQ(o->list(fs, P(e, "/l"), collect, &ns), 7);
	CHECK_EQ(ns.n, 2);
	names_free(&ns);

	CHECK_EQ(list_str(fs, P(e, "/l/a"), true, &b), -ENOTDIR);
	CHECK_EQ(list_str(fs, P(e, "/l/none"), true, &b), -ENOENT);
	CHECK_EQ(o->fsync_dir(fs, P(e, "/l")), 0);
	CHECK_EQ(o->fsync_dir(fs, P(e, "/l/a")), -ENOTDIR);
	CHECK_EQ(o->fsync_dir(fs, P(e, "/l/none")), -ENOENT);
	cm_buf_free(&b);
}
BOTH(common_list)

static void common_misc(const struct env *e)
{
	rs_fs *fs = e->fs;
	const struct rs_fs_ops *o = fs->ops;
	uint64_t a = o->now_ns(fs);
	o->sleep(fs, 1000);
	uint64_t b = o->now_ns(fs);
	CHECK(a > 1600000000ULL * 1000000000ULL);
	CHECK(b >= a + 1000);
	CHECK_EQ(o->pid_alive(fs, (uint32_t)getpid()), 1);
}
BOTH(common_misc)

static void test_call_names(void)
{
	CHECK_STR(rs_fs_call_name(RS_FS_OPEN), "open");
	CHECK_STR(rs_fs_call_name(RS_FS_FSYNC_DIR), "fsync_dir");
	CHECK_STR(rs_fs_call_name(RS_FS_SLEEP), "sleep");
	CHECK_STR(rs_fs_call_name(RS_FS_CALL_COUNT), "unknown");
	CHECK_STR(rs_fs_call_name((rs_fs_call)-1), "unknown");
	for (int c = 0; c < RS_FS_CALL_COUNT; c++)
		CHECK(rs_fs_call_name((rs_fs_call)c) != NULL);
	rs_fs_destroy(NULL);
}

static void test_posix_pid(void)
{
	rs_fs *fs = rs_posixfs_new();
	pid_t child = fork();
	REQUIRE(child >= 0);
	if (child == 0)
		_exit(0);
	int status;
	REQUIRE(waitpid(child, &status, 0) == child);
	CHECK_EQ(fs->ops->pid_alive(fs, (uint32_t)child), 0);
	CHECK_EQ(fs->ops->pid_alive(fs, 1), 1); /* init: alive, maybe EPERM */
	CHECK_EQ(fs->ops->pid_alive(fs, 0), -1);
	rs_fs_destroy(fs);
}

/* A symbolic link is a name, never a way elsewhere: stat tells it, list
 * refuses to go through it, rs_delete removes the link and leaves what it
 * points to. (Before: rs_delete of a mailbox holding a link to a directory
 * emptied that directory.) */
static void test_posix_no_follow(void)
{
	char *dir = make_tmpdir(), p[6][600];
	const char *rel[6] = {"/outside", "/outside/keep", "/box", "/box/cur",
			      "/box/cur/link", "/boxlink"};
	for (int i = 0; i < 6; i++)
		snprintf(p[i], sizeof(p[i]), "%s%s", dir, rel[i]);
	rs_fs *fs = rs_posixfs_new();
	REQUIRE(fs->ops->mkdir(fs, p[0]) == 0);
	int fd = fs->ops->open(fs, p[1], RS_O_CREAT | RS_O_APPEND);
	REQUIRE(fd >= 0);
	CHECK_EQ(fs->ops->append(fs, fd, "x", 1), 1);
	fs->ops->close(fs, fd);
	REQUIRE(fs->ops->mkdir(fs, p[2]) == 0 && fs->ops->mkdir(fs, p[3]) == 0);
	REQUIRE(symlink(p[0], p[4]) == 0 && symlink(p[0], p[5]) == 0);
	char dangling[620];
	snprintf(dangling, sizeof(dangling), "%s/dangling", p[3]);
	REQUIRE(symlink("/nonexistent/ratchet", dangling) == 0);
	rs_fs_stat st;
	CHECK(fs->ops->stat(fs, p[4], &st) == 0 && st.is_dir && st.is_link);
	CHECK(fs->ops->stat(fs, p[0], &st) == 0 && st.is_dir && !st.is_link);
	struct names ns = {0};
	CHECK(fs->ops->list(fs, p[4], collect, &ns) < 0);
	CHECK_EQ(ns.n, 0);
	CHECK(fs->ops->list(fs, p[0], collect, &ns) == 0 && ns.n == 1);
	names_free(&ns);
	/* A path that is itself a link is removed as a name. */
	CHECK_EQ(rs_delete(fs, p[5]), RS_OK);
	CHECK(!exists(fs, p[5]) && exists(fs, p[1]));
	/* Links inside are removed as names, dangling or not. */
	CHECK_EQ(rs_delete(fs, p[2]), RS_OK);
	CHECK(!exists(fs, p[2]));
	CHECK(exists(fs, p[1]));
	remove_tree(fs, dir);
	rs_fs_destroy(fs);
	free(dir);
}

/* remove_tree on both: nested directories and files, a missing path, a
 * tree deeper than RS_FS_TREE_DEPTH_MAX refused part-way. */
static void common_remove_tree(const struct env *e)
{
	const struct rs_fs_ops *o = e->fs->ops;
	char deep[1024];
	CHECK_EQ(o->mkdir(e->fs, P(e, "/t")), 0);
	CHECK_EQ(o->mkdir(e->fs, P(e, "/t/a")), 0);
	int fd = o->open(e->fs, P(e, "/t/a/f"), RS_O_CREAT | RS_O_APPEND);
	CHECK(fd >= 0);
	o->close(e->fs, fd);
	CHECK_EQ(o->remove_tree(e->fs, P(e, "/t")), 0);
	CHECK(!exists(e->fs, P(e, "/t")));
	CHECK_EQ(o->remove_tree(e->fs, P(e, "/t")), -ENOENT);
	snprintf(deep, sizeof(deep), "%s", P(e, "/d"));
	for (int i = 0; i <= RS_FS_TREE_DEPTH_MAX + 1; i++) {
		CHECK_EQ(o->mkdir(e->fs, deep), 0);
		strcat(deep, "/d");
	}
	CHECK_EQ(o->remove_tree(e->fs, P(e, "/d")), -ELOOP);
	CHECK(exists(e->fs, P(e, "/d")));
	/* Bottom up, as a caller who knows the depth would. */
	while (strlen(deep) > strlen(P(e, "/d"))) {
		*strrchr(deep, '/') = '\0';
		o->rmdir(e->fs, deep);
	}
	CHECK(!exists(e->fs, P(e, "/d")));
}
BOTH(common_remove_tree)

/* ---- memfs: crash semantics ----------------------------------------------- */

static int mopen(rs_fs *fs, const char *path)
{
	int fd = fs->ops->open(fs, path, RS_O_CREAT | RS_O_APPEND);
	REQUIRE(fd >= 0);
	return fd;
}

static void mappend(rs_fs *fs, int fd, const char *s)
{
	CHECK_EQ(fs->ops->append(fs, fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* A file whose data and entry are durable, written the normal way. */
static void durable_file(rs_fs *fs, const char *dir, const char *path,
			 const char *s)
{
	CHECK_EQ(put_file(fs, path, s), 0);
	CHECK_EQ(fs->ops->fsync_dir(fs, dir), 0);
}

static void test_crash_data(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	char buf[8];
	rs_fs_stat st;
	int fd = mopen(fs, "/f");
	mappend(fs, fd, "A");
	CHECK_EQ(o->fsync(fs, fd), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	mappend(fs, fd, "B");
	CHECK_STR(mrd(fs, "/f"), "AB");
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/f"), "A");
	CHECK_EQ(rs_memfs_used(fs), 1);

	/* Every pre-crash descriptor is dead, and stays dead. */
	CHECK_EQ(o->pread(fs, fd, buf, 1, 0), -EBADF);
	CHECK_EQ(o->append(fs, fd, "x", 1), -EBADF);
	CHECK_EQ(o->truncate(fs, fd, 0), -EBADF);
	CHECK_EQ(o->fsync(fs, fd), -EBADF);
	CHECK_EQ(o->fstat(fs, fd, &st), -EBADF);
	int fd2 = mopen(fs, "/f");
	CHECK(fd2 != fd);
	CHECK_EQ(o->pread(fs, fd, buf, 1, 0), -EBADF);
	CHECK_EQ(o->close(fs, fd), -EBADF);
	mappend(fs, fd2, "C");
	CHECK_EQ(o->fsync(fs, fd2), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/f"), "AC");
	CHECK_EQ(o->close(fs, fd2), -EBADF);
	check_mem(fs);
	rs_fs_destroy(fs);
}

static void test_crash_entries(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;

	/* Data fsynced but the entry never: the file is gone. */
	int fd = mopen(fs, "/f");
	mappend(fs, fd, "data");
	CHECK_EQ(o->fsync(fs, fd), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/f"), "(missing)");
	uint64_t inodes;
	rs_memfs_check(fs, &inodes, NULL, NULL);
	CHECK_EQ(inodes, 1); /* the root only */
	CHECK_EQ(rs_memfs_used(fs), 0);

	/* Entry synced, data not: the file is there, empty. */
	fd = mopen(fs, "/f");
	mappend(fs, fd, "data");
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/f"), "");

	/* An unlink is not durable until fsync_dir. */
	durable_file(fs, "/", "/u", "U");
	CHECK_EQ(o->unlink(fs, "/u"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/u"), "U");
	CHECK_EQ(o->unlink(fs, "/u"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/u"), "(missing)");

	/* Replace by rename: old content until the directory is synced. */
	durable_file(fs, "/", "/t", "old");
	CHECK_EQ(put_file(fs, "/t.tmp", "new"), 0);
	CHECK_EQ(o->rename(fs, "/t.tmp", "/t"), 0);
	CHECK_STR(mrd(fs, "/t"), "new");
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/t"), "old");
	CHECK_STR(mrd(fs, "/t.tmp"), "(missing)");
	CHECK_EQ(put_file(fs, "/t.tmp", "new"), 0);
	CHECK_EQ(o->rename(fs, "/t.tmp", "/t"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/t"), "new");
	CHECK_STR(mrd(fs, "/t.tmp"), "(missing)");

	/* A hard link is an entry like any other. */
	CHECK_EQ(o->link(fs, "/t", "/t2"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/t2"), "(missing)");
	CHECK_EQ(o->link(fs, "/t", "/t2"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_EQ(ino_of(fs, "/t2"), ino_of(fs, "/t"));
	check_mem(fs);
	rs_fs_destroy(fs);
}

static void test_crash_rename_two_dirs(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	CHECK_EQ(o->mkdir(fs, "/a"), 0);
	CHECK_EQ(o->mkdir(fs, "/b"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	durable_file(fs, "/a", "/a/f", "F");
	uint64_t f_ino = ino_of(fs, "/a/f");

	/* Neither directory synced: as before. */
	CHECK_EQ(o->rename(fs, "/a/f", "/b/g"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/a/f"), "F");
	CHECK_STR(mrd(fs, "/b/g"), "(missing)");

	/* Only the destination synced: each directory reverts on its own,
	 * so the file comes back under both names (one inode). */
	CHECK_EQ(o->rename(fs, "/a/f", "/b/g"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/b"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/a/f"), "F");
	CHECK_STR(mrd(fs, "/b/g"), "F");
	CHECK_EQ(ino_of(fs, "/a/f"), f_ino);
	CHECK_EQ(ino_of(fs, "/b/g"), f_ino);
	check_mem(fs);
	CHECK_EQ(o->unlink(fs, "/b/g"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/b"), 0);

	/* Only the source synced: the file is lost from both. */
	CHECK_EQ(o->rename(fs, "/a/f", "/b/g"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/a"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/a/f"), "(missing)");
	CHECK_STR(mrd(fs, "/b/g"), "(missing)");
	CHECK_EQ(rs_memfs_used(fs), 0);

	/* Both synced: moved. */
	durable_file(fs, "/a", "/a/f", "F2");
	CHECK_EQ(o->rename(fs, "/a/f", "/b/g"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/b"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/a"), 0);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/a/f"), "(missing)");
	CHECK_STR(mrd(fs, "/b/g"), "F2");
	uint64_t journal;
	rs_memfs_check(fs, NULL, NULL, &journal);
	CHECK_EQ(journal, 0);
	rs_fs_destroy(fs);
}

static void test_crash_truncate(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	durable_file(fs, "/", "/f", "hello world");
	int fd = mopen(fs, "/f");
	CHECK_EQ(o->truncate(fs, fd, 5), 0);
	mappend(fs, fd, "XY");
	CHECK_STR(mrd(fs, "/f"), "helloXY");
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/f"), "hello world");

	fd = mopen(fs, "/f");
	CHECK_EQ(o->truncate(fs, fd, 5), 0);
	mappend(fs, fd, "XY");
	CHECK_EQ(o->fsync(fs, fd), 0);
	mappend(fs, fd, "Z");
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/f"), "helloXY");

	/* O_TRUNC is a truncate too; a tear never applies to it. */
	fd = fs->ops->open(fs, "/f", RS_O_TRUNC | RS_O_APPEND);
	REQUIRE(fd >= 0);
	mappend(fs, fd, "0123456789");
	rs_memfs_crash(fs, 99);
	CHECK_STR(mrd(fs, "/f"), "helloXY");
	CHECK_EQ(rs_memfs_used(fs), 7);
	check_mem(fs);
	rs_fs_destroy(fs);
}

static uint64_t torn_len(uint64_t seed, cm_buf *content)
{
	rs_fs *fs = rs_memfs_new();
	char tail[100];
	for (size_t i = 0; i < sizeof(tail); i++)
		tail[i] = (char)('a' + i % 26);
	CHECK_EQ(rs_memfs_write_file(fs, "/f", "abc", 3), 0);
	CHECK_EQ(rs_memfs_write_file(fs, "/g", "", 0), 0);
	int fd = mopen(fs, "/f");
	CHECK_EQ(fs->ops->append(fs, fd, tail, sizeof(tail)), (ssize_t)sizeof(tail));
	int gd = mopen(fs, "/g");
	CHECK_EQ(fs->ops->append(fs, gd, tail, sizeof(tail)), (ssize_t)sizeof(tail));
	rs_memfs_crash(fs, seed);
	cm_buf_clear(content);
	CHECK_EQ(rs_memfs_read_file(fs, "/f", content), 0);
	REQUIRE(content->len >= 3 && content->len <= 3 + sizeof(tail));
	CHECK(memcmp(content->data, "abc", 3) == 0);
	CHECK(memcmp(content->data + 3, tail, content->len - 3) == 0);
	CHECK_EQ(rs_memfs_used(fs), content->len + (uint64_t)strlen(mrd(fs, "/g")));
	check_mem(fs);
	rs_fs_destroy(fs);
	return content->len;
}

static void test_tear(void)
{
	cm_buf c = {0};
	CHECK_EQ(torn_len(0, &c), 3);
	int partial = 0, lens_seen = 0;
	uint64_t prev = 0;
	for (uint64_t seed = 1; seed <= 64; seed++) {
		uint64_t len = torn_len(seed, &c);
		CHECK_EQ(torn_len(seed, &c), len); /* deterministic */
		partial += len > 3 && len < 103;
		lens_seen += len != prev;
		prev = len;
	}
	CHECK(partial > 32);
	CHECK(lens_seen > 32);
	cm_buf_free(&c);
}

static void test_crash_dirs(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;

	/* A new directory's entry needs its parent synced. */
	CHECK_EQ(o->mkdir(fs, "/m"), 0);
	durable_file(fs, "/m", "/m/f", "F");
	rs_memfs_crash(fs, 0);
	CHECK(!exists(fs, "/m"));
	CHECK_STR(mrd(fs, "/m/f"), "(missing)");

	/* rmdir is not durable either; what was inside comes back. */
	CHECK_EQ(o->mkdir(fs, "/q"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	durable_file(fs, "/q", "/q/f", "QF");
	CHECK_EQ(o->unlink(fs, "/q/f"), 0);
	CHECK_EQ(o->rmdir(fs, "/q"), 0);
	check_mem(fs);
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/q/f"), "QF");

	CHECK_EQ(o->unlink(fs, "/q/f"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/q"), 0);
	CHECK_EQ(o->rmdir(fs, "/q"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	rs_memfs_crash(fs, 0);
	CHECK(!exists(fs, "/q"));
	uint64_t inodes, entries, journal;
	rs_memfs_check(fs, &inodes, &entries, &journal);
	CHECK_EQ(inodes, 1);
	CHECK_EQ(entries, 0);
	CHECK_EQ(journal, 0);

	/* rmdir then fsync of the parent frees the directory and what its
	 * journal still held, without a crash. */
	CHECK_EQ(o->mkdir(fs, "/r"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	durable_file(fs, "/r", "/r/f", "RF");
	CHECK_EQ(o->unlink(fs, "/r/f"), 0);
	CHECK_EQ(o->rmdir(fs, "/r"), 0);
	CHECK_EQ(rs_memfs_used(fs), 2);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	rs_memfs_check(fs, &inodes, NULL, NULL);
	CHECK_EQ(inodes, 1);
	CHECK_EQ(rs_memfs_used(fs), 0);
	rs_fs_destroy(fs);
}

/* A directory rename synced on one side only can bring the directory back
 * under two parents, even in a cycle: the crash keeps one copy. */
static void test_crash_dir_rename(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	CHECK_EQ(o->mkdir(fs, "/x"), 0);
	CHECK_EQ(o->mkdir(fs, "/y"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	durable_file(fs, "/x", "/x/f", "XF");
	CHECK_EQ(o->rename(fs, "/x", "/y/x"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/y"), 0);
	rs_memfs_crash(fs, 0);
	check_mem(fs);
	CHECK_STR(mrd(fs, "/x/f"), "XF"); /* the copy nearer the root */
	CHECK(!exists(fs, "/y/x"));
	durable_file(fs, "/x", "/x/g", "XG");
	rs_memfs_crash(fs, 0);
	CHECK_STR(mrd(fs, "/x/g"), "XG");

	/* The cycle: b contains c and c contains b after the crash. */
	CHECK_EQ(o->mkdir(fs, "/b"), 0);
	CHECK_EQ(o->mkdir(fs, "/b/c"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/b"), 0);
	CHECK_EQ(o->rename(fs, "/b/c", "/c"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	CHECK_EQ(o->rename(fs, "/b", "/c/b"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/c"), 0);
	rs_memfs_crash(fs, 0);
	check_mem(fs);
	rs_fs_stat st;
	CHECK(o->stat(fs, "/b", &st) == 0 && st.is_dir);
	CHECK(o->stat(fs, "/c", &st) == 0 && st.is_dir);
	CHECK(!exists(fs, "/b/c"));
	CHECK(!exists(fs, "/c/b"));
	CHECK_EQ(o->rmdir(fs, "/b"), 0);
	CHECK_EQ(o->rmdir(fs, "/c"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	check_mem(fs);
	rs_fs_destroy(fs);
}

/* ---- memfs: hook --------------------------------------------------------- */

struct hk {
	rs_fs *fs;
	int count[RS_FS_CALL_COUNT];
	rs_fs_call last;
	char path[256];
	int inject;            /* returned once on inject_on */
	int inject_on;
	int crash_on;          /* crash inside the hook, once */
	int nest_on;           /* run other calls inside the hook, once */
};

static int hook_fn(void *ctx, rs_fs_call call, const char *path)
{
	struct hk *h = ctx;
	REQUIRE(path != NULL);
	h->count[call]++;
	h->last = call;
	snprintf(h->path, sizeof(h->path), "%s", path);
	if (h->inject && (int)call == h->inject_on) {
		int r = h->inject;
		h->inject = 0;
		return r;
	}
	if ((int)call == h->crash_on) {
		h->crash_on = -1;
		rs_memfs_crash(h->fs, 0);
	}
	if ((int)call == h->nest_on) {
		/* Another client runs here: calls of its own, same fs. */
		h->nest_on = -1;
		for (int i = 0; i < 50; i++) {
			char p[32];
			snprintf(p, sizeof(p), "/h/n%d", i);
			CHECK_EQ(put_file(h->fs, p, "nested"), 0);
		}
	}
	return 0;
}

static int unlink_listed(void *ctx, const char *name)
{
	struct hk *h = ctx;
	char p[64];
	snprintf(p, sizeof(p), "/h/%s", name);
	CHECK_EQ(h->fs->ops->unlink(h->fs, p), 0);
	return 0;
}

static void test_hook(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	struct hk h = { .fs = fs, .inject_on = -1, .crash_on = -1, .nest_on = -1 };
	rs_memfs_set_hook(fs, hook_fn, &h);
	char buf[8];
	rs_fs_stat st;

	uint64_t c0 = rs_memfs_calls(fs);
	CHECK_EQ(o->mkdir(fs, "/h"), 0);
	CHECK_EQ(h.last, RS_FS_MKDIR);
	CHECK_STR(h.path, "/h");
	int fd = mopen(fs, "/h/f");
	mappend(fs, fd, "abc");
	CHECK_EQ(h.last, RS_FS_WRITE);
	CHECK_STR(h.path, "/h/f"); /* descriptor calls: the opened path */
	CHECK_EQ(o->fsync(fs, fd), 0);
	CHECK_EQ(h.last, RS_FS_FSYNC);
	CHECK_STR(h.path, "/h/f");
	o->sleep(fs, 10);
	CHECK_EQ(h.last, RS_FS_SLEEP);
	CHECK_STR(h.path, "");
	(void)o->now_ns(fs);
	(void)o->pid_alive(fs, 1);
	CHECK_EQ(h.last, RS_FS_SLEEP);
	CHECK_EQ(rs_memfs_calls(fs) - c0, 5);
	CHECK_EQ(o->rename(fs, "/h/f", "/h/f2"), 0);
	CHECK_STR(h.path, "/h/f");
	CHECK_EQ(o->rename(fs, "/h/f2", "/h/f"), 0);

	/* Injected failures have no effect. */
	h.inject = -ENOSPC, h.inject_on = RS_FS_WRITE;
	CHECK_EQ(o->append(fs, fd, "def", 3), -ENOSPC);
	CHECK_STR(mrd(fs, "/h/f"), "abc");
	CHECK_EQ(rs_memfs_calls(fs) - c0, 8);
	CHECK_EQ(put_file(fs, "/h/g", "G"), 0);
	uint64_t f_ino = ino_of(fs, "/h/f"), g_ino = ino_of(fs, "/h/g");
	h.inject = -EIO, h.inject_on = RS_FS_RENAME;
	CHECK_EQ(o->rename(fs, "/h/g", "/h/f"), -EIO);
	CHECK_STR(mrd(fs, "/h/f"), "abc");
	CHECK_STR(mrd(fs, "/h/g"), "G");
	CHECK_EQ(ino_of(fs, "/h/f"), f_ino);
	CHECK_EQ(ino_of(fs, "/h/g"), g_ino);
	h.inject = -EIO, h.inject_on = RS_FS_OPEN;
	CHECK_EQ(o->open(fs, "/h/new", RS_O_CREAT | RS_O_APPEND), -EIO);
	CHECK(!exists(fs, "/h/new"));
	h.inject = -EDQUOT, h.inject_on = RS_FS_LINK;
	CHECK_EQ(o->link(fs, "/h/g", "/h/g2"), -EDQUOT);
	CHECK(!exists(fs, "/h/g2"));
	h.inject = -EIO, h.inject_on = RS_FS_UNLINK;
	CHECK_EQ(o->unlink(fs, "/h/g"), -EIO);
	CHECK(exists(fs, "/h/g"));
	h.inject = -EIO, h.inject_on = RS_FS_STAT;
	CHECK_EQ(o->stat(fs, "/h/g", &st), -EIO);
	h.inject = -EIO, h.inject_on = RS_FS_READ;
	CHECK_EQ(o->pread(fs, fd, buf, 3, 0), -EIO);
	h.inject = -EIO, h.inject_on = RS_FS_TRUNCATE;
	CHECK_EQ(o->truncate(fs, fd, 0), -EIO);
	CHECK_STR(mrd(fs, "/h/f"), "abc");
	struct names ns = {0};
	h.inject = -EIO, h.inject_on = RS_FS_LIST;
	CHECK_EQ(o->list(fs, "/h", collect, &ns), -EIO);
	CHECK_EQ(ns.n, 0);
	/* A failing close still releases the descriptor (Linux close). */
	int fd2 = mopen(fs, "/h/g");
	h.inject = -EIO, h.inject_on = RS_FS_CLOSE;
	CHECK_EQ(o->close(fs, fd2), -EIO);
	CHECK_EQ(o->close(fs, fd2), -EBADF);

	/* A crash inside the hook: the call runs on the post-crash state. */
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/h"), 0);
	mappend(fs, fd, "def");
	h.crash_on = RS_FS_FSYNC;
	CHECK_EQ(o->fsync(fs, fd), -EBADF);
	CHECK_STR(mrd(fs, "/h/f"), "abc");
	h.crash_on = RS_FS_OPEN;
	fd = o->open(fs, "/h/f", RS_O_APPEND);
	CHECK(fd >= 0);
	mappend(fs, fd, "ghi");
	CHECK_STR(mrd(fs, "/h/f"), "abcghi");

	/* Another client inside the hook (re-entrancy across calls). */
	h.nest_on = RS_FS_WRITE;
	mappend(fs, fd, "jkl");
	CHECK_STR(mrd(fs, "/h/f"), "abcghijkl");
	CHECK_STR(mrd(fs, "/h/n0"), "nested");
	CHECK_STR(mrd(fs, "/h/n49"), "nested");
	h.nest_on = RS_FS_OPEN;
	int fd3 = o->open(fs, "/h/n7", RS_O_APPEND | RS_O_TRUNC);
	CHECK(fd3 >= 0);
	CHECK_STR(mrd(fs, "/h/n7"), "");
	CHECK_EQ(o->close(fs, fd3), 0);

	/* The list callback may change the directory it lists. */
	struct names before = {0};
	CHECK_EQ(o->list(fs, "/h", collect, &before), 0);
	CHECK_EQ(before.n, 52);
	CHECK_EQ(o->list(fs, "/h", unlink_listed, &h), 0);
	CHECK_EQ(o->list(fs, "/h", collect, &ns), 0);
	CHECK_EQ(ns.n, 0);
	names_free(&before);
	names_free(&ns);
	CHECK_EQ(o->close(fs, fd), 0);
	/* f and g live on in the journal of /h until it is synced. */
	CHECK_EQ(rs_memfs_used(fs), 10);
	CHECK_EQ(o->fsync_dir(fs, "/h"), 0);
	check_mem(fs);
	CHECK_EQ(rs_memfs_used(fs), 0);
	rs_fs_destroy(fs);
}

/* ---- memfs: quota, clock, pid, list order, ino ----------------------------- */

static void test_quota(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	rs_memfs_set_quota(fs, 10);
	CHECK_EQ(o->mkdir(fs, "/a"), 0);
	CHECK_EQ(o->mkdir(fs, "/b"), 0);
	int fd = mopen(fs, "/a/f");
	mappend(fs, fd, "12345678");
	CHECK_EQ(o->append(fs, fd, "abc", 3), -ENOSPC);
	CHECK_STR(mrd(fs, "/a/f"), "12345678");
	CHECK_EQ(rs_memfs_used(fs), 8);
	CHECK_EQ(o->truncate(fs, fd, 11), -ENOSPC);
	mappend(fs, fd, "90");
	CHECK_EQ(rs_memfs_used(fs), 10);
	CHECK_EQ(o->append(fs, fd, "x", 1), -ENOSPC);
	CHECK_EQ(o->append(fs, fd, "", 0), 0);

	/* Directory growth fails once full: link, cross-directory rename. */
	CHECK_EQ(o->link(fs, "/a/f", "/a/g"), -ENOSPC);
	CHECK_EQ(o->rename(fs, "/a/f", "/b/f"), -ENOSPC);
	CHECK_EQ(o->rename(fs, "/a/f", "/a/f2"), 0);
	CHECK(exists(fs, "/a/f2"));
	int e = mopen(fs, "/a/empty"); /* creating an empty file is fine */
	CHECK_EQ(o->close(fs, e), 0);
	CHECK_EQ(o->truncate(fs, fd, 4), 0);
	CHECK_EQ(rs_memfs_used(fs), 4);
	CHECK_EQ(o->link(fs, "/a/f2", "/b/g"), 0);
	CHECK_EQ(o->rename(fs, "/a/f2", "/b/f"), 0);
	CHECK_EQ(rs_memfs_used(fs), 4); /* links share the inode's bytes */

	/* Unlinked but open: still counted until the last close. */
	CHECK_EQ(o->unlink(fs, "/b/f"), 0);
	CHECK_EQ(o->unlink(fs, "/b/g"), 0);
	CHECK_EQ(rs_memfs_used(fs), 4);
	CHECK_EQ(o->close(fs, fd), 0);
	CHECK_EQ(rs_memfs_used(fs), 0);

	rs_memfs_set_quota(fs, 0);
	CHECK_EQ(rs_memfs_write_file(fs, "/a/big", "0123456789abcdef", 16), 0);
	CHECK_EQ(rs_memfs_used(fs), 16);
	check_mem(fs);
	rs_fs_destroy(fs);
}

static int odd_alive(void *ctx, uint32_t pid)
{
	++*(int *)ctx;
	return (int)(pid % 2);
}

static void test_clock_pid(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	rs_fs_stat st;
	CHECK_EQ(o->now_ns(fs), 1700000000ULL * 1000000000ULL + 1000);
	rs_memfs_set_clock(fs, 1000, 10);
	uint64_t c0 = rs_memfs_calls(fs);
	CHECK_EQ(o->now_ns(fs), 1010);
	CHECK_EQ(o->now_ns(fs), 1020);
	int fd = mopen(fs, "/f");                  /* clock 1030 */
	CHECK_EQ(o->fstat(fs, fd, &st), 0);          /* 1040 */
	CHECK_EQ(st.mtime_ns, 1030);
	CHECK_EQ(o->stat(fs, "/", &st), 0);          /* 1050 */
	CHECK_EQ(st.mtime_ns, 1030);                 /* entry change */
	mappend(fs, fd, "x");                        /* 1060 */
	CHECK_EQ(o->fstat(fs, fd, &st), 0);          /* 1070 */
	CHECK_EQ(st.mtime_ns, 1060);
	o->sleep(fs, 500);                           /* 1080 + 500 */
	CHECK_EQ(o->now_ns(fs), 1590);
	CHECK_EQ(rs_memfs_write_file(fs, "/g", "g", 1), 0);
	cm_buf b = {0};
	CHECK_EQ(rs_memfs_read_file(fs, "/g", &b), 0);
	cm_buf_free(&b);
	CHECK_EQ(o->now_ns(fs), 1600);               /* helpers: no tick */
	CHECK_EQ(o->stat(fs, "/g", &st), 0);
	CHECK_EQ(st.mtime_ns, 1590);
	CHECK_EQ(rs_memfs_calls(fs) - c0, 7);

	CHECK_EQ(o->pid_alive(fs, 12345), 1);
	int asked = 0;
	rs_memfs_set_pid_alive(fs, odd_alive, &asked);
	CHECK_EQ(o->pid_alive(fs, 12345), 1);
	CHECK_EQ(o->pid_alive(fs, 12346), 0);
	CHECK_EQ(asked, 2);
	CHECK_EQ(rs_memfs_calls(fs) - c0, 7);
	CHECK_EQ(o->close(fs, fd), 0);
	rs_fs_destroy(fs);
}

static void test_list_sorted(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	cm_buf b = {0};
	CHECK_EQ(o->mkdir(fs, "/s"), 0);
	const char *names[] = { "b", "\xff", "a", "B", "0", "ab", "a-" };
	for (size_t i = 0; i < CM_ARRAY_LEN(names); i++) {
		char p[16];
		snprintf(p, sizeof(p), "/s/%s", names[i]);
		CHECK_EQ(put_file(fs, p, "x"), 0);
	}
	CHECK_EQ(list_str(fs, "/s", false, &b), 0);
	CHECK_STR(b.data, "0/B/a/a-/ab/b/\xff");
	/* Removed (journalled) names are not listed; re-created ones are. */
	CHECK_EQ(o->fsync_dir(fs, "/s"), 0);
	CHECK_EQ(o->unlink(fs, "/s/ab"), 0);
	CHECK_EQ(o->unlink(fs, "/s/B"), 0);
	CHECK_EQ(put_file(fs, "/s/B", "y"), 0);
	CHECK_EQ(list_str(fs, "/s", false, &b), 0);
	CHECK_STR(b.data, "0/B/a/a-/b/\xff");

	/* Many names, inserted in a scrambled order. */
	CHECK_EQ(o->mkdir(fs, "/many"), 0);
	for (unsigned i = 0; i < 2000; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/many/%08x", (i * 2654435761u) & 0xffffffffu);
		CHECK_EQ(rs_memfs_write_file(fs, p, "", 0), 0);
	}
	struct names ns = {0};
	CHECK_EQ(o->list(fs, "/many", collect, &ns), 0);
	CHECK_EQ(ns.n, 2000);
	for (size_t i = 1; i < ns.n; i++)
		CHECK(strcmp(ns.v[i - 1], ns.v[i]) < 0);
	names_free(&ns);
	cm_buf_free(&b);
	check_mem(fs);
	rs_fs_destroy(fs);
}

static void test_ino_unique(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	uint64_t prev = ino_of(fs, "/");
	CHECK(prev != 0);
	for (int i = 0; i < 1000; i++) {
		int fd = mopen(fs, "/f");
		CHECK_EQ(o->close(fs, fd), 0);
		uint64_t ino = ino_of(fs, "/f");
		CHECK(ino > prev); /* never reused, though the slot is */
		prev = ino;
		CHECK_EQ(o->unlink(fs, "/f"), 0);
		if (i % 100 == 0)
			rs_memfs_crash(fs, 0);
	}
	uint64_t inodes;
	rs_memfs_check(fs, &inodes, NULL, NULL);
	CHECK_EQ(inodes, 1);
	rs_fs_destroy(fs);
}

static void test_whole_file_helpers(void)
{
	rs_fs *fs = rs_memfs_new();
	cm_buf b = {0};
	CHECK_EQ(rs_memfs_write_file(fs, "/nope/f", "x", 1), -ENOENT);
	CHECK_EQ(rs_memfs_write_file(fs, "rel", "x", 1), -EINVAL);
	CHECK_EQ(fs->ops->mkdir(fs, "/w"), 0);
	CHECK_EQ(fs->ops->mkdir(fs, "/w/v"), 0);
	/* Seeds are durable all the way up. */
	CHECK_EQ(rs_memfs_write_file(fs, "/w/v/f", "seed", 4), 0);
	rs_memfs_crash(fs, 7);
	CHECK_STR(mrd(fs, "/w/v/f"), "seed");
	CHECK_EQ(rs_memfs_write_file(fs, "/w/v/f", "s2", 2), 0);
	CHECK_STR(mrd(fs, "/w/v/f"), "s2");
	CHECK_EQ(rs_memfs_write_file(fs, "/w", "x", 1), -EISDIR);
	cm_buf_puts(&b, ">");
	CHECK_EQ(rs_memfs_read_file(fs, "/w/v/f", &b), 0);
	CHECK_STR(b.data, ">s2"); /* appends */
	CHECK_EQ(rs_memfs_read_file(fs, "/w/v", &b), -EISDIR);
	CHECK_EQ(rs_memfs_read_file(fs, "/w/none", &b), -ENOENT);
	CHECK_EQ(rs_memfs_read_file(fs, "/w//v/f", &b), -ENOENT);
	CHECK_EQ(rs_memfs_read_file(fs, "/w/v/f/", &b), -ENOTDIR);
	CHECK_EQ(rs_memfs_read_file(fs, "/w/../w/v/f", &b), -EINVAL);
	cm_buf_free(&b);
	check_mem(fs);
	rs_fs_destroy(fs);
}

/* The Maildir delivery pattern, a million times: memory must stay flat
 * (every name created and removed between two fsync_dirs drops out). */
static void test_flat_memory(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	CHECK_EQ(o->mkdir(fs, "/mb"), 0);
	CHECK_EQ(o->mkdir(fs, "/mb/tmp"), 0);
	CHECK_EQ(o->mkdir(fs, "/mb/new"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/"), 0);
	CHECK_EQ(o->fsync_dir(fs, "/mb"), 0);
	uint64_t i0, e0, j0, i1, e1, j1;
	rs_memfs_check(fs, &i0, &e0, &j0);
	static const char body[64] = "From: a\r\nSubject: b\r\n\r\nbody";
	uint64_t t0 = cm_now_ns();
	const int n = 1000000;
	for (int i = 0; i < n; i++) {
		char tmp[64], dst[64];
		snprintf(tmp, sizeof(tmp), "/mb/tmp/%d.M%d.host", i, i * 7);
		snprintf(dst, sizeof(dst), "/mb/%s/%d.M%d.host:2,",
			 i % 2 ? "new" : "tmp", i, i * 7);
		int fd = o->open(fs, tmp, RS_O_CREAT | RS_O_EXCL | RS_O_APPEND);
		if (fd < 0 || o->append(fs, fd, body, sizeof(body)) != sizeof(body) ||
		    o->fsync(fs, fd) != 0 || o->close(fs, fd) != 0 ||
		    o->rename(fs, tmp, dst) != 0 || o->unlink(fs, dst) != 0) {
			CHECK(!"delivery loop failed");
			break;
		}
	}
	double secs = (double)(cm_now_ns() - t0) / 1e9;
	fprintf(stderr, "     memfs: %d create+append+fsync+close+rename+unlink "
		"cycles in %.2f s (%.0f/s)\n", n, secs, n / secs);
	rs_memfs_check(fs, &i1, &e1, &j1);
	CHECK_EQ(i1, i0);
	CHECK_EQ(e1, e0);
	CHECK_EQ(j1, j0);
	CHECK_EQ(rs_memfs_used(fs), 0);
	rs_fs_destroy(fs);
}

/* ---- randomized differential test ------------------------------------------ */

/* The model: plain nodes; a directory holds its current entries and a
 * copy of its durable ones; a file its current and durable content. */
#define MNAME 8
#define MENT 16

struct ment {
	char name[MNAME];
	int node;
};

struct mnode {
	bool dir;
	cm_buf data, ddata;
	struct ment cur[MENT], dur[MENT];
	int ncur, ndur;
	uint64_t ino; /* memfs ino, once seen */
};

struct model {
	struct mnode *n;
	int nn, cap;
};

static int mnew(struct model *m, bool dir)
{
	if (m->nn == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->n = cm_xrealloc(m->n, (size_t)m->cap * sizeof(*m->n));
	}
	memset(&m->n[m->nn], 0, sizeof(m->n[0]));
	m->n[m->nn].dir = dir;
	return m->nn++;
}

static int mfind(const struct mnode *d, const char *name)
{
	for (int i = 0; i < d->ncur; i++)
		if (strcmp(d->cur[i].name, name) == 0)
			return i;
	return -1;
}

static void mset(struct model *m, int dir, const char *name, int node)
{
	struct mnode *d = &m->n[dir];
	int i = mfind(d, name);
	if (node < 0) {
		REQUIRE(i >= 0);
		d->cur[i] = d->cur[--d->ncur];
		return;
	}
	if (i < 0) {
		REQUIRE(d->ncur < MENT);
		i = d->ncur++;
		snprintf(d->cur[i].name, MNAME, "%s", name);
	}
	d->cur[i].node = node;
}

struct mwalk {
	int parent, target;
	char name[MNAME];
};

static int mresolve(const struct model *m, const char *path, struct mwalk *w)
{
	REQUIRE(path[0] == '/');
	*w = (struct mwalk){ .parent = -1, .target = 0 };
	if (path[1] == '\0')
		return 0;
	int dir = 0;
	for (const char *p = path + 1;;) {
		size_t n = strcspn(p, "/");
		REQUIRE(n > 0 && n < MNAME);
		char name[MNAME];
		memcpy(name, p, n);
		name[n] = '\0';
		int i = mfind(&m->n[dir], name);
		int t = i < 0 ? -1 : m->n[dir].cur[i].node;
		if (p[n] == '\0') {
			w->parent = dir;
			w->target = t;
			memcpy(w->name, name, n + 1);
			return 0;
		}
		if (t < 0)
			return -ENOENT;
		if (!m->n[t].dir)
			return -ENOTDIR;
		dir = t;
		p += n + 1;
	}
}

/* memcmp for cm_bufs, whose data is NULL while empty. */
static bool bytes_eq(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static bool below(const char *a, const char *b)
{
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int m_open(struct model *m, const char *path, int flags, int *node_r)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0) {
		if (!(flags & RS_O_CREAT))
			return -ENOENT;
		*node_r = mnew(m, false);
		mset(m, w.parent, w.name, *node_r);
		return 0;
	}
	struct mnode *n = &m->n[w.target];
	if ((flags & RS_O_CREAT) && (flags & RS_O_EXCL))
		return -EEXIST;
	if (n->dir && (flags & (RS_O_APPEND | RS_O_CREAT | RS_O_TRUNC)))
		return -EISDIR;
	if (flags & RS_O_TRUNC)
		cm_buf_clear(&n->data);
	*node_r = w.target;
	return 0;
}

static int m_rename(struct model *m, const char *from, const char *to)
{
	struct mwalk a, b;
	int r;
	if ((r = mresolve(m, from, &a)) < 0 || (r = mresolve(m, to, &b)) < 0)
		return r;
	if (a.target < 0)
		return -ENOENT;
	if (a.parent < 0 || b.parent < 0)
		return -EBUSY;
	if (below(from, to))
		return -EINVAL;
	if (below(to, from))
		return -ENOTEMPTY;
	if (a.target == b.target)
		return 0;
	bool sdir = m->n[a.target].dir;
	if (b.target >= 0) {
		const struct mnode *t = &m->n[b.target];
		if (sdir && !t->dir)
			return -ENOTDIR;
		if (!sdir && t->dir)
			return -EISDIR;
		if (t->dir && t->ncur > 0)
			return -ENOTEMPTY;
	}
	mset(m, b.parent, b.name, a.target);
	mset(m, a.parent, a.name, -1);
	return 0;
}

static int m_link(struct model *m, const char *from, const char *to)
{
	struct mwalk a, b;
	int r;
	if ((r = mresolve(m, from, &a)) < 0)
		return r;
	if (a.target < 0)
		return -ENOENT;
	if ((r = mresolve(m, to, &b)) < 0)
		return r;
	if (b.target >= 0)
		return -EEXIST;
	if (m->n[a.target].dir)
		return -EPERM;
	mset(m, b.parent, b.name, a.target);
	return 0;
}

static int m_unlink(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	if (m->n[w.target].dir)
		return -EISDIR;
	mset(m, w.parent, w.name, -1);
	return 0;
}

static int m_mkdir(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target >= 0)
		return -EEXIST;
	mset(m, w.parent, w.name, mnew(m, true));
	return 0;
}

static int m_rmdir(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	if (!m->n[w.target].dir)
		return -ENOTDIR;
	if (w.parent < 0)
		return -EBUSY;
	if (m->n[w.target].ncur > 0)
		return -ENOTEMPTY;
	mset(m, w.parent, w.name, -1);
	return 0;
}

static void m_sync(struct mnode *n)
{
	if (n->dir) {
		memcpy(n->dur, n->cur, sizeof(n->cur));
		n->ndur = n->ncur;
	} else {
		cm_buf_clear(&n->ddata);
		cm_buf_append(&n->ddata, n->data.data, n->data.len);
	}
}

/* Dir path (or error) to the durable sync. */
static int m_fsync_dir(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	if (!m->n[w.target].dir)
		return -ENOTDIR;
	m_sync(&m->n[w.target]);
	return 0;
}

static int m_list(struct model *m, const char *path, cm_buf *out)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	cm_buf_clear(out);
	cm_buf_puts(out, "");
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	const struct mnode *d = &m->n[w.target];
	if (!d->dir)
		return -ENOTDIR;
	const char *v[MENT];
	for (int i = 0; i < d->ncur; i++)
		v[i] = d->cur[i].name;
	qsort(v, (size_t)d->ncur, sizeof(v[0]), cmp_str);
	for (int i = 0; i < d->ncur; i++) {
		if (i)
			cm_buf_putc(out, '/');
		cm_buf_puts(out, v[i]);
	}
	return 0;
}

static void m_free(struct model *m)
{
	for (int i = 0; i < m->nn; i++) {
		cm_buf_free(&m->n[i].data);
		cm_buf_free(&m->n[i].ddata);
	}
	free(m->n);
}

/* RS_FS_TRACE=1 prints every random operation. */
static bool trace;

/* The universe of paths the random operations use. */
static const char *const U_DIRS[] = { "/", "/a", "/b", "/a/c", "/a/c/d" };
static char U_PATHS[32][16];
static int n_upaths, n_ufiles;

static void universe_init(void)
{
	static const char *const files[] = { "x", "y", "z" };
	n_upaths = 0;
	for (size_t d = 0; d < CM_ARRAY_LEN(U_DIRS); d++)
		for (size_t f = 0; f < CM_ARRAY_LEN(files); f++)
			snprintf(U_PATHS[n_upaths++], 16, "%s%s%s", U_DIRS[d],
				 d ? "/" : "", files[f]);
	n_ufiles = n_upaths;
	for (size_t d = 1; d < CM_ARRAY_LEN(U_DIRS); d++)
		snprintf(U_PATHS[n_upaths++], 16, "%s", U_DIRS[d]);
	snprintf(U_PATHS[n_upaths++], 16, "/x/q");  /* ENOTDIR when x is a file */
	snprintf(U_PATHS[n_upaths++], 16, "/a/y/q");
}

struct tfd {
	int mfd, pfd, node;
	bool writable, stale;
	char path[16];
};

struct rnd {
	struct model m;
	rs_fs *mem, *px;        /* px: NULL in crash mode */
	const char *root;
	bool crash_mode;
	uint64_t seed;
	int step, bad;
	char what[128];
	struct tfd fds[12];
	int nfds;
	cm_rng rng;
	int inject;             /* the hook returns it on the next call */
	rs_fs_call hook_call;   /* what the hook saw last */
	char hook_path[64];
	uint64_t digest;
	cm_buf b1, b2;
};

static int rnd_hook(void *ctx, rs_fs_call call, const char *path)
{
	struct rnd *R = ctx;
	R->hook_call = call;
	snprintf(R->hook_path, sizeof(R->hook_path), "%s", path);
	int r = R->inject;
	R->inject = 0;
	return r;
}

#define RCHECK(R, cond, ...)                                                 \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: seed %" PRIu64 " step %d (%s): ", \
				__FILE__, __LINE__, (R)->seed, (R)->step,    \
				(R)->what);                                  \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			cm_test_failures++;                                  \
			(R)->bad++;                                          \
		}                                                            \
	} while (0)

/* Evaluates got once: it is usually the call under test. */
#define REQ_EQ(R, got, exp)                                                  \
	do {                                                                 \
		long long g_ = (long long)(got), e_ = (long long)(exp);      \
		RCHECK(R, g_ == e_, "%s = %lld, expected %lld", #got, g_, e_); \
	} while (0)

static const char *pxp(const struct rnd *R, const char *p)
{
	static char ring[4][512];
	static unsigned k;
	char *b = ring[k++ % 4];
	snprintf(b, sizeof(ring[0]), "%s%s", R->root, p);
	return b;
}

static void mix(struct rnd *R, uint64_t v)
{
	R->digest = (R->digest ^ v) * 0x100000001b3ULL;
}

static const char *pick(struct rnd *R, bool files_only)
{
	int n = files_only ? n_ufiles : n_upaths;
	return U_PATHS[cm_rng_below(&R->rng, (uint64_t)n)];
}

static const char *pick_dir(struct rnd *R)
{
	return U_DIRS[cm_rng_below(&R->rng, CM_ARRAY_LEN(U_DIRS))];
}

static void seen_ino(struct rnd *R, int node, uint64_t ino)
{
	struct mnode *n = &R->m.n[node];
	if (n->ino == 0) {
		for (int i = 0; i < R->m.nn; i++)
			RCHECK(R, R->m.n[i].ino != ino, "ino %" PRIu64 " reused", ino);
		n->ino = ino;
	}
	RCHECK(R, n->ino == ino, "node %d ino %" PRIu64 " != %" PRIu64, node,
	       ino, n->ino);
}

/* After a hooked memfs call: the hook saw the right call and path. */
static void saw(struct rnd *R, rs_fs_call call, const char *path)
{
	RCHECK(R, R->hook_call == call && strcmp(R->hook_path, path) == 0,
	       "hook saw %s \"%s\"", rs_fs_call_name(R->hook_call), R->hook_path);
	R->hook_call = RS_FS_CALL_COUNT;
}

/* Every path of the universe: stat and content agree with the model. */
static void compare_all(struct rnd *R)
{
	for (int i = 0; i < n_upaths; i++) {
		const char *p = U_PATHS[i];
		struct mwalk w;
		int exp = mresolve(&R->m, p, &w);
		if (exp == 0 && w.target < 0)
			exp = -ENOENT;
		rs_fs_stat st;
		int got = R->mem->ops->stat(R->mem, p, &st);
		snprintf(R->what, sizeof(R->what), "compare %.64s", p);
		REQ_EQ(R, got, exp);
		if (got == 0 && exp == 0) {
			const struct mnode *n = &R->m.n[w.target];
			REQ_EQ(R, st.is_dir, n->dir);
			seen_ino(R, w.target, st.ino);
			if (!n->dir) {
				cm_buf_clear(&R->b1);
				REQ_EQ(R, rs_memfs_read_file(R->mem, p, &R->b1), 0);
				RCHECK(R, R->b1.len == n->data.len &&
				       bytes_eq(R->b1.data, n->data.data, n->data.len),
				       "memfs content differs (%zu vs %zu bytes)",
				       R->b1.len, n->data.len);
				mix(R, cm_hash64(R->b1.data, R->b1.len));
			}
		}
		if (R->px != NULL) {
			got = R->px->ops->stat(R->px, pxp(R, p), &st);
			REQ_EQ(R, got, exp);
			if (got == 0 && exp == 0 && !st.is_dir) {
				const struct mnode *n = &R->m.n[w.target];
				cm_buf_clear(&R->b1);
				REQ_EQ(R, get_file(R->px, pxp(R, p), &R->b1), 0);
				RCHECK(R, R->b1.len == n->data.len &&
				       bytes_eq(R->b1.data, n->data.data, n->data.len),
				       "posix content differs");
			}
		}
	}
	R->hook_call = RS_FS_CALL_COUNT;
	rs_memfs_check(R->mem, NULL, NULL, NULL);
}

/* Power cut in the model, checked against what memfs kept. */
static void do_crash(struct rnd *R)
{
	uint64_t tear = cm_rng_chance(&R->rng, 500000) ? cm_rng_next(&R->rng) | 1 : 0;
	snprintf(R->what, sizeof(R->what), "crash %" PRIx64, tear);
	rs_memfs_crash(R->mem, tear);
	struct model *m = &R->m;
	for (int i = 0; i < m->nn; i++) {
		struct mnode *n = &m->n[i];
		if (n->dir) {
			memcpy(n->cur, n->dur, sizeof(n->cur));
			n->ncur = n->ndur;
		}
	}
	for (int i = 0; i < R->nfds; i++)
		R->fds[i].stale = true;
	for (int i = 0; i < n_upaths; i++) {
		struct mwalk w;
		if (mresolve(m, U_PATHS[i], &w) < 0 || w.target < 0 ||
		    m->n[w.target].dir)
			continue;
		struct mnode *n = &m->n[w.target];
		cm_buf *got = &R->b1;
		cm_buf_clear(got);
		REQ_EQ(R, rs_memfs_read_file(R->mem, U_PATHS[i], got), 0);
		/* durable <= kept <= current (if current extends durable). */
		const cm_buf *lim = &n->ddata;
		if (n->data.len >= n->ddata.len &&
		    bytes_eq(n->data.data, n->ddata.data, n->ddata.len))
			lim = &n->data;
		RCHECK(R, got->len >= n->ddata.len && got->len <= lim->len &&
		       bytes_eq(got->data, lim->data, got->len) &&
		       (tear || got->len == n->ddata.len),
		       "%s after crash: %zu bytes (durable %zu, current %zu)",
		       U_PATHS[i], got->len, n->ddata.len, n->data.len);
		cm_buf_clear(&n->data);
		cm_buf_append(&n->data, got->data, got->len);
		m_sync(n);
	}
}

static struct tfd *pick_fd(struct rnd *R)
{
	if (R->nfds == 0)
		return NULL;
	return &R->fds[cm_rng_below(&R->rng, (uint64_t)R->nfds)];
}

static void drop_fd(struct rnd *R, struct tfd *f)
{
	*f = R->fds[--R->nfds];
}

static void op_open(struct rnd *R)
{
	const char *p = pick(R, cm_rng_chance(&R->rng, 800000));
	int flags = (int)cm_rng_below(&R->rng, 16);
	snprintf(R->what, sizeof(R->what), "open %s %d", p, flags);
	int node = -1;
	int exp = R->inject ? R->inject : m_open(&R->m, p, flags, &node);
	int got = R->mem->ops->open(R->mem, p, flags);
	saw(R, RS_FS_OPEN, p);
	REQ_EQ(R, got < 0 ? got : 0, exp);
	int pg = 0;
	if (R->px) {
		pg = R->px->ops->open(R->px, pxp(R, p), flags);
		REQ_EQ(R, pg < 0 ? pg : 0, exp);
	}
	if (exp == 0 && got >= 0 && pg >= 0 && R->nfds < (int)CM_ARRAY_LEN(R->fds)) {
		struct tfd *f = &R->fds[R->nfds++];
		*f = (struct tfd){ .mfd = got, .pfd = pg, .node = node,
				   .writable = flags & RS_O_APPEND };
		snprintf(f->path, sizeof(f->path), "%s", p);
		return;
	}
	if (got >= 0)
		R->mem->ops->close(R->mem, got);
	if (R->px && pg >= 0)
		R->px->ops->close(R->px, pg);
}

static void op_fd(struct rnd *R, int which)
{
	struct tfd *f = pick_fd(R);
	if (f == NULL) {
		op_open(R);
		return;
	}
	struct mnode *n = &R->m.n[f->node];
	rs_fs *mem = R->mem, *px = R->px;
	const char *hp = f->stale ? "" : f->path;
	int inj = R->inject;
	char buf[32], pbuf[32];
	switch (which) {
	case 0: { /* append */
		size_t len = (size_t)cm_rng_below(&R->rng, 13);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)('a' + cm_rng_below(&R->rng, 26));
		snprintf(R->what, sizeof(R->what), "append %s %zu", f->path, len);
		long long exp = inj ? inj : f->stale || !f->writable ? -EBADF : (long long)len;
		REQ_EQ(R, mem->ops->append(mem, f->mfd, buf, len), exp);
		saw(R, RS_FS_WRITE, hp);
		if (px)
			REQ_EQ(R, px->ops->append(px, f->pfd, buf, len), exp);
		if (exp > 0)
			cm_buf_append(&n->data, buf, len);
		break;
	}
	case 1: { /* pread */
		uint64_t off = cm_rng_below(&R->rng, n->data.len + 4);
		size_t len = (size_t)cm_rng_below(&R->rng, sizeof(buf));
		snprintf(R->what, sizeof(R->what), "pread %s %" PRIu64 " %zu",
			 f->path, off, len);
		long long exp = inj ? inj : f->stale ? -EBADF : n->dir ? -EISDIR :
			off >= n->data.len ? 0 : (long long)CM_MIN(len, n->data.len - off);
		REQ_EQ(R, mem->ops->pread(mem, f->mfd, buf, len, off), exp);
		saw(R, RS_FS_READ, hp);
		if (exp > 0)
			RCHECK(R, memcmp(buf, n->data.data + off, (size_t)exp) == 0,
			       "memfs pread bytes");
		if (px) {
			REQ_EQ(R, px->ops->pread(px, f->pfd, pbuf, len, off), exp);
			if (exp > 0)
				RCHECK(R, memcmp(pbuf, n->data.data + off, (size_t)exp) == 0,
				       "posix pread bytes");
		}
		break;
	}
	case 2: { /* truncate */
		uint64_t size = cm_rng_below(&R->rng, n->data.len + 8);
		snprintf(R->what, sizeof(R->what), "truncate %s %" PRIu64, f->path, size);
		int exp = inj ? inj : f->stale ? -EBADF : !f->writable ? -EINVAL : 0;
		REQ_EQ(R, mem->ops->truncate(mem, f->mfd, size), exp);
		saw(R, RS_FS_TRUNCATE, hp);
		if (px)
			REQ_EQ(R, px->ops->truncate(px, f->pfd, size), exp);
		if (exp == 0) {
			size_t old = n->data.len;
			cm_buf_reserve(&n->data, size > old ? (size_t)size - old : 0);
			if (size > old)
				memset(n->data.data + old, 0, (size_t)size - old);
			n->data.len = (size_t)size;
			n->data.data[size] = '\0';
		}
		break;
	}
	case 3: { /* fsync */
		snprintf(R->what, sizeof(R->what), "fsync %s", f->path);
		int exp = inj ? inj : f->stale ? -EBADF : 0;
		REQ_EQ(R, mem->ops->fsync(mem, f->mfd), exp);
		saw(R, RS_FS_FSYNC, hp);
		if (px)
			REQ_EQ(R, px->ops->fsync(px, f->pfd), exp);
		if (exp == 0)
			m_sync(n);
		break;
	}
	case 4: { /* fstat */
		snprintf(R->what, sizeof(R->what), "fstat %s", f->path);
		int exp = inj ? inj : f->stale ? -EBADF : 0;
		rs_fs_stat st;
		REQ_EQ(R, mem->ops->fstat(mem, f->mfd, &st), exp);
		saw(R, RS_FS_FSTAT, hp);
		if (exp == 0) {
			REQ_EQ(R, st.is_dir, n->dir);
			if (!n->dir)
				REQ_EQ(R, st.size, n->data.len);
			seen_ino(R, f->node, st.ino);
		}
		if (px) {
			REQ_EQ(R, px->ops->fstat(px, f->pfd, &st), exp);
			if (exp == 0 && !n->dir)
				REQ_EQ(R, st.size, n->data.len);
		}
		break;
	}
	default: { /* close: releases the descriptor even when it fails */
		snprintf(R->what, sizeof(R->what), "close %s", f->path);
		int exp = inj ? inj : f->stale ? -EBADF : 0;
		REQ_EQ(R, mem->ops->close(mem, f->mfd), exp);
		saw(R, RS_FS_CLOSE, hp);
		if (px)
			REQ_EQ(R, px->ops->close(px, f->pfd), exp);
		drop_fd(R, f);
		break;
	}
	}
}

static void op_path(struct rnd *R, int which)
{
	rs_fs *mem = R->mem, *px = R->px;
	struct model *m = &R->m;
	int inj = R->inject;
	const char *p = pick(R, false), *q = pick(R, false);
	int exp = 0, got = 0, pg = 0;
	rs_fs_call call;
	switch (which) {
	case 0: { /* rename; no directory renames in crash mode */
		if (R->crash_mode) {
			p = pick(R, true);
			struct mwalk w;
			if (mresolve(m, p, &w) == 0 && w.target >= 0 && m->n[w.target].dir)
				return;
		}
		snprintf(R->what, sizeof(R->what), "rename %s %s", p, q);
		call = RS_FS_RENAME;
		exp = inj ? inj : m_rename(m, p, q);
		got = mem->ops->rename(mem, p, q);
		if (px)
			pg = px->ops->rename(px, pxp(R, p), pxp(R, q));
		break;
	}
	case 1:
		snprintf(R->what, sizeof(R->what), "link %s %s", p, q);
		call = RS_FS_LINK;
		exp = inj ? inj : m_link(m, p, q);
		got = mem->ops->link(mem, p, q);
		if (px)
			pg = px->ops->link(px, pxp(R, p), pxp(R, q));
		break;
	case 2:
		snprintf(R->what, sizeof(R->what), "unlink %s", p);
		call = RS_FS_UNLINK;
		exp = inj ? inj : m_unlink(m, p);
		got = mem->ops->unlink(mem, p);
		if (px)
			pg = px->ops->unlink(px, pxp(R, p));
		break;
	case 3:
		p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "mkdir %s", p);
		call = RS_FS_MKDIR;
		exp = inj ? inj : m_mkdir(m, p);
		got = mem->ops->mkdir(mem, p);
		if (px)
			pg = px->ops->mkdir(px, pxp(R, p));
		break;
	case 4:
		p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "rmdir %s", p);
		call = RS_FS_RMDIR;
		exp = inj ? inj : m_rmdir(m, p);
		got = mem->ops->rmdir(mem, p);
		if (px) /* rmdir("/tmp/x/") is EBUSY-ish: skip the root */
			pg = strcmp(p, "/") ? px->ops->rmdir(px, pxp(R, p)) : exp;
		break;
	case 5:
		if (cm_rng_chance(&R->rng, 700000))
			p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "fsync_dir %s", p);
		call = RS_FS_FSYNC_DIR;
		exp = inj ? inj : m_fsync_dir(m, p);
		got = mem->ops->fsync_dir(mem, p);
		if (px)
			pg = px->ops->fsync_dir(px, pxp(R, p));
		break;
	case 6: {
		if (cm_rng_chance(&R->rng, 700000))
			p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "list %s", p);
		call = RS_FS_LIST;
		exp = inj ? inj : m_list(m, p, &R->b2);
		got = list_str(mem, p, false, &R->b1);
		if (got == 0 && exp == 0)
			RCHECK(R, strcmp(R->b1.data, R->b2.data) == 0,
			       "memfs lists \"%s\", model \"%s\"", R->b1.data, R->b2.data);
		mix(R, cm_hash64(R->b1.data, R->b1.len));
		if (px) {
			pg = list_str(px, pxp(R, p), true, &R->b1);
			if (pg == 0 && exp == 0)
				RCHECK(R, strcmp(R->b1.data, R->b2.data) == 0,
				       "posix lists \"%s\", model \"%s\"", R->b1.data,
				       R->b2.data);
		}
		break;
	}
	default: {
		snprintf(R->what, sizeof(R->what), "stat %s", p);
		call = RS_FS_STAT;
		struct mwalk w;
		exp = inj ? inj : mresolve(m, p, &w);
		if (exp == 0 && w.target < 0)
			exp = -ENOENT;
		rs_fs_stat st;
		got = mem->ops->stat(mem, p, &st);
		if (got == 0)
			mix(R, st.size + st.mtime_ns);
		if (px)
			pg = px->ops->stat(px, pxp(R, p), &st);
		break;
	}
	}
	saw(R, call, p);
	REQ_EQ(R, got, exp);
	if (px)
		REQ_EQ(R, pg, exp);
	mix(R, (uint64_t)got);
}

/* A run of random operations on memfs (and POSIX unless crash_mode), each
 * compared with the model. Returns a digest of everything observed. */
static uint64_t random_run(uint64_t seed, int steps, bool crash_mode)
{
	struct rnd *R = cm_xcalloc(1, sizeof(*R));
	R->seed = seed;
	R->crash_mode = crash_mode;
	cm_rng_seed(&R->rng, seed);
	R->mem = rs_memfs_new();
	rs_memfs_set_hook(R->mem, rnd_hook, R);
	char *dir = NULL;
	if (!crash_mode) {
		dir = make_tmpdir();
		R->px = rs_posixfs_new();
		R->root = dir;
	}
	mnew(&R->m, true);
	const char *init[] = { "/a", "/b", "/a/c" };
	for (size_t i = 0; i < CM_ARRAY_LEN(init); i++) {
		REQUIRE(m_mkdir(&R->m, init[i]) == 0);
		REQUIRE(R->mem->ops->mkdir(R->mem, init[i]) == 0);
		if (R->px)
			REQUIRE(R->px->ops->mkdir(R->px, pxp(R, init[i])) == 0);
	}
	for (int i = 0; i < R->m.nn; i++)
		m_sync(&R->m.n[i]);
	REQUIRE(R->mem->ops->fsync_dir(R->mem, "/") == 0);
	REQUIRE(R->mem->ops->fsync_dir(R->mem, "/a") == 0);

	for (R->step = 0; R->step < steps && R->bad < 10; R->step++) {
		uint64_t k = cm_rng_below(&R->rng, 1000);
		if (crash_mode && cm_rng_chance(&R->rng, 40000))
			R->inject = cm_rng_chance(&R->rng, 500000) ? -EIO : -ENOSPC;
		if (crash_mode && k < 15)
			do_crash(R);
		else if (k < 180)
			op_open(R);
		else if (k < 560)
			op_fd(R, (int)((k - 180) / 64));   /* 0..5 */
		else
			op_path(R, (int)((k - 560) / 56)); /* 0..7 */
		if (trace)
			fprintf(stderr, "%" PRIu64 ".%d: %s%s\n", seed, R->step,
				R->what, R->inject ? " (injected)" : "");
		R->inject = 0;
		compare_all(R);
	}
	uint64_t digest = R->digest ^ rs_memfs_calls(R->mem);
	for (int i = 0; i < R->nfds; i++)
		if (R->px)
			R->px->ops->close(R->px, R->fds[i].pfd);
	if (R->px) {
		remove_tree(R->px, dir);
		rs_fs_destroy(R->px);
		free(dir);
	}
	rs_fs_destroy(R->mem);
	m_free(&R->m);
	cm_buf_free(&R->b1);
	cm_buf_free(&R->b2);
	free(R);
	return digest;
}

static void test_random_posix(void)
{
	for (uint64_t seed = 1; seed <= 4; seed++)
		random_run(seed, 2500, false);
}

static void test_random_crash(void)
{
	for (uint64_t seed = 100; seed < 112; seed++) {
		uint64_t d = random_run(seed, 4000, true);
		if (seed % 4 == 0)
			CHECK_EQ(random_run(seed, 4000, true), d); /* deterministic */
	}
}

int main(void)
{
	universe_init();
	trace = getenv("RS_FS_TRACE") != NULL;
	RUN(common_io_mem);
	RUN(common_io_posix);
	RUN(common_namespace_mem);
	RUN(common_namespace_posix);
	RUN(common_list_mem);
	RUN(common_list_posix);
	RUN(common_misc_mem);
	RUN(common_misc_posix);
	RUN(test_call_names);
	RUN(test_posix_pid);
	RUN(test_posix_no_follow);
	RUN(common_remove_tree_mem);
	RUN(common_remove_tree_posix);
	RUN(test_crash_data);
	RUN(test_crash_entries);
	RUN(test_crash_rename_two_dirs);
	RUN(test_crash_truncate);
	RUN(test_tear);
	RUN(test_crash_dirs);
	RUN(test_crash_dir_rename);
	RUN(test_hook);
	RUN(test_quota);
	RUN(test_clock_pid);
	RUN(test_list_sorted);
	RUN(test_ino_unique);
	RUN(test_whole_file_helpers);
	RUN(test_random_posix);
	RUN(test_random_crash);
	RUN(test_flat_memory);
	rd_free();
	TEST_EXIT();
}
