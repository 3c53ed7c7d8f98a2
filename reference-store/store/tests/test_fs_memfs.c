/* The in-memory rs_fs beyond crashes: the hook before every call (paths,
 * injected failures, crashes and other clients inside it), the quota,
 * the virtual clock and pids, list order, inode numbers, the whole-file
 * helpers, and memory that stays flat over a million deliveries. */
#include "fs_test.h"

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

/* Calls the hook fails change nothing; a failing close still releases
 * the descriptor (Linux close). */
static void hook_failures_undone(rs_fs *fs, struct hk *h, int fd)
{
	const struct rs_fs_ops *o = fs->ops;
	char buf[8];
	rs_fs_stat st;

	CHECK_EQ(put_file(fs, "/h/g", "G"), 0);
	uint64_t f_ino = ino_of(fs, "/h/f"), g_ino = ino_of(fs, "/h/g");
	h->inject = -EIO, h->inject_on = RS_FS_RENAME;
	CHECK_EQ(o->rename(fs, "/h/g", "/h/f"), -EIO);
	CHECK_STR(mrd(fs, "/h/f"), "abc");
	CHECK_STR(mrd(fs, "/h/g"), "G");
	CHECK_EQ(ino_of(fs, "/h/f"), f_ino);
	CHECK_EQ(ino_of(fs, "/h/g"), g_ino);
	h->inject = -EIO, h->inject_on = RS_FS_OPEN;
	CHECK_EQ(o->open(fs, "/h/new", RS_O_CREAT | RS_O_APPEND), -EIO);
	CHECK(!exists(fs, "/h/new"));
	h->inject = -EDQUOT, h->inject_on = RS_FS_LINK;
	CHECK_EQ(o->link(fs, "/h/g", "/h/g2"), -EDQUOT);
	CHECK(!exists(fs, "/h/g2"));
	h->inject = -EIO, h->inject_on = RS_FS_UNLINK;
	CHECK_EQ(o->unlink(fs, "/h/g"), -EIO);
	CHECK(exists(fs, "/h/g"));
	h->inject = -EIO, h->inject_on = RS_FS_STAT;
	CHECK_EQ(o->stat(fs, "/h/g", &st), -EIO);
	h->inject = -EIO, h->inject_on = RS_FS_READ;
	CHECK_EQ(o->pread(fs, fd, buf, 3, 0), -EIO);
	h->inject = -EIO, h->inject_on = RS_FS_TRUNCATE;
	CHECK_EQ(o->truncate(fs, fd, 0), -EIO);
	CHECK_STR(mrd(fs, "/h/f"), "abc");
	struct names ns = {0};
	h->inject = -EIO, h->inject_on = RS_FS_LIST;
	CHECK_EQ(o->list(fs, "/h", collect, &ns), -EIO);
	CHECK_EQ(ns.n, 0);
	/* A failing close still releases the descriptor (Linux close). */
	int fd2 = mopen(fs, "/h/g");
	h->inject = -EIO, h->inject_on = RS_FS_CLOSE;
	CHECK_EQ(o->close(fs, fd2), -EIO);
	CHECK_EQ(o->close(fs, fd2), -EBADF);
}

/* The list callback may change the directory it lists. */
static void hook_list_changes_dir(rs_fs *fs, struct hk *h)
{
	const struct rs_fs_ops *o = fs->ops;
	struct names ns = {0};
	struct names before = {0};
	CHECK_EQ(o->list(fs, "/h", collect, &before), 0);
	CHECK_EQ(before.n, 52);
	CHECK_EQ(o->list(fs, "/h", unlink_listed, h), 0);
	CHECK_EQ(o->list(fs, "/h", collect, &ns), 0);
	CHECK_EQ(ns.n, 0);
	names_free(&before);
	names_free(&ns);
}

static void test_hook(void)
{
	rs_fs *fs = rs_memfs_new();
	const struct rs_fs_ops *o = fs->ops;
	struct hk h = { .fs = fs, .inject_on = -1, .crash_on = -1, .nest_on = -1 };
	rs_memfs_set_hook(fs, hook_fn, &h);

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
	hook_failures_undone(fs, &h, fd);

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

	hook_list_changes_dir(fs, &h);
	CHECK_EQ(o->close(fs, fd), 0);
	/* f and g live on in the journal of /h until it is synced. */
	CHECK_EQ(rs_memfs_used(fs), 10);
	CHECK_EQ(o->fsync_dir(fs, "/h"), 0);
	check_mem(fs);
	CHECK_EQ(rs_memfs_used(fs), 0);
	rs_fs_destroy(fs);
}

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

int main(void)
{
	RUN(test_hook);
	RUN(test_quota);
	RUN(test_clock_pid);
	RUN(test_list_sorted);
	RUN(test_ino_unique);
	RUN(test_whole_file_helpers);
	RUN(test_flat_memory);
	rd_free();
	TEST_EXIT();
}
