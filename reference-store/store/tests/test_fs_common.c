/* rs_fs: the behaviour both implementations share, run on each (BOTH):
 * I/O through descriptors, the namespace, listings, clock and pids,
 * remove_tree; and what only POSIX has (pids of real processes,
 * symbolic links never followed). */
#include "fs_test.h"

/* An unlinked file stays readable through an open descriptor. */
static void io_unlinked_open(const struct env *e)
{
	rs_fs *fs = e->fs;
	const struct rs_fs_ops *o = fs->ops;
	char buf[64];
	rs_fs_stat st;

	int w = o->open(fs, P(e, "/g"), RS_O_CREAT | RS_O_APPEND);
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

	io_unlinked_open(e);
}
BOTH(common_io)

/* Directory renames: a file onto a directory, a directory onto a file,
 * onto a non-empty directory or below itself fail; onto an empty
 * directory one replaces it, content and all. */
static void namespace_dir_renames(const struct env *e)
{
	rs_fs *fs = e->fs;
	const struct rs_fs_ops *o = fs->ops;

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
}

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

	namespace_dir_renames(e);
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

int main(void)
{
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
	rd_free();
	TEST_EXIT();
}
