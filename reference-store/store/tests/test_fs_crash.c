/* The in-memory rs_fs's crash: file data not fsynced and directory
 * entries not fsync_dir'ed are lost, each directory on its own (a rename
 * synced on one side only), and a torn write keeps a random prefix. */
#include "fs_test.h"

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

int main(void)
{
	RUN(test_crash_data);
	RUN(test_crash_entries);
	RUN(test_crash_rename_two_dirs);
	RUN(test_crash_truncate);
	RUN(test_tear);
	RUN(test_crash_dirs);
	RUN(test_crash_dir_rename);
	rd_free();
	TEST_EXIT();
}
