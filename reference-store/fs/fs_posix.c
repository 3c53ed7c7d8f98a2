/* rs_fs over real directories: thin wrappers around POSIX calls.
 * Any number of processes may share the tree; the kernel arbitrates. */
#include "rs_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Mail is private to its owner. */
#define FILE_MODE 0600
#define DIR_MODE 0755

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int px_open(rs_fs *fs, const char *path, int flags)
{
	/* Appenders also read back what they wrote (log tails, repairs),
	 * and pread on an O_WRONLY descriptor fails: open O_RDWR. */
	int oflags = O_CLOEXEC;
	oflags |= (flags & RS_O_APPEND) ? O_RDWR | O_APPEND : O_RDONLY;
	if (flags & RS_O_CREAT)
		oflags |= O_CREAT;
	if (flags & RS_O_EXCL)
		oflags |= O_EXCL;
	if (flags & RS_O_TRUNC)
		oflags |= O_TRUNC;
	int fd;
	do
		fd = open(path, oflags, FILE_MODE);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? neg_errno() : fd;
}

static ssize_t px_pread(rs_fs *fs, int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	if (off > INT64_MAX)
		return -EINVAL;
	if (len == 0) /* still reports a directory or a bad descriptor */
		return pread(fd, buf, 0, (off_t)off) < 0 ? neg_errno() : 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return neg_errno();
		if (n == 0)
			break; /* EOF */
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t px_append(rs_fs *fs, int fd, const void *buf, size_t len)
{
	size_t done = 0;
	if (len > SSIZE_MAX)
		return -EINVAL;
	if (len == 0) /* still reports a read-only descriptor */
		return write(fd, buf, 0) < 0 ? neg_errno() : 0;
	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		/* A failure after a partial write leaves a torn tail, which
		 * the contract allows and readers repair. */
		if (n < 0)
			return neg_errno();
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int px_truncate(rs_fs *fs, int fd, uint64_t size)
{
	if (size > INT64_MAX)
		return -EFBIG;
	int r;
	do
		r = ftruncate(fd, (off_t)size);
	while (r < 0 && errno == EINTR);
	return r < 0 ? neg_errno() : 0;
}

static int px_fsync(rs_fs *fs, int fd)
{
	return fsync(fd) < 0 ? neg_errno() : 0;
}

static void fill_stat(rs_fs_stat *st, const struct stat *sb)
{
	st->size = (uint64_t)sb->st_size;
	st->ino = (uint64_t)sb->st_ino;
	st->mtime_ns = (uint64_t)sb->st_mtim.tv_sec * 1000000000ULL +
		       (uint64_t)sb->st_mtim.tv_nsec;
	st->is_dir = S_ISDIR(sb->st_mode);
	st->is_link = false;
}

static int px_fstat(rs_fs *fs, int fd, rs_fs_stat *st)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return neg_errno();
	fill_stat(st, &sb);
	return 0;
}

static int px_close(rs_fs *fs, int fd)
{
	/* Linux releases the descriptor even on EINTR: never retry. */
	if (close(fd) < 0 && errno != EINTR)
		return neg_errno();
	return 0;
}

/* lstat first: one call when the name is not a link (nearly always). */
static int px_stat(rs_fs *fs, const char *path, rs_fs_stat *st)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return neg_errno();
	bool link = S_ISLNK(sb.st_mode);
	if (link && stat(path, &sb) < 0)
		return neg_errno();
	fill_stat(st, &sb);
	st->is_link = link;
	return 0;
}

static int px_rename(rs_fs *fs, const char *from, const char *to)
{
	return rename(from, to) < 0 ? neg_errno() : 0;
}

static int px_link(rs_fs *fs, const char *from, const char *to)
{
	return link(from, to) < 0 ? neg_errno() : 0;
}

static int px_unlink(rs_fs *fs, const char *path)
{
	return unlink(path) < 0 ? neg_errno() : 0;
}

static int px_mkdir(rs_fs *fs, const char *path)
{
	return mkdir(path, DIR_MODE) < 0 ? neg_errno() : 0;
}

static int px_rmdir(rs_fs *fs, const char *path)
{
	return rmdir(path) < 0 ? neg_errno() : 0;
}

static int px_fsync_dir(rs_fs *fs, const char *path)
{
	int fd;
	do
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return neg_errno();
	int r = fsync(fd) < 0 ? neg_errno() : 0;
	close(fd);
	return r;
}

static int px_list(rs_fs *fs, const char *dir, rs_fs_list_cb *cb, void *ctx)
{
	int fd;
	do
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return neg_errno();
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	int r = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				r = neg_errno();
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = cb(ctx, de->d_name);
		if (r != 0)
			break;
	}
	closedir(d);
	return r;
}

/* Removes name in dfd and everything under it by descriptors: each
 * directory is entered from its parent's descriptor with O_NOFOLLOW |
 * O_DIRECTORY, and unlinkat never follows a link, so no link, at any
 * depth and whatever is swapped meanwhile, leads out of the tree. */
static int rm_at(int dfd, const char *name, unsigned depth)
{
	if (unlinkat(dfd, name, 0) == 0)
		return 0; /* a file or a link (as a name) */
	if (errno != EISDIR && errno != EPERM)
		return neg_errno();
	if (depth >= RS_FS_TREE_DEPTH_MAX)
		return -ELOOP;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		int r = neg_errno();
		if (fd >= 0)
			close(fd);
		return r;
	}
	int r = 0;
	struct dirent *e;
	while (r == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			r = rm_at(fd, e->d_name, depth + 1);
		if (r == -ENOENT)
			r = 0; /* gone meanwhile: what we wanted */
	}
	if (r == 0 && errno != 0)
		r = neg_errno();
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = neg_errno();
	return r;
}

static int px_remove_tree(rs_fs *fs, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent = slash == NULL ? cm_xstrdup(".")
		       : slash == path ? cm_xstrdup("/")
				       : cm_xstrndup(path, (size_t)(slash - path));
	const char *base = slash == NULL ? path : slash + 1;
	/* The parent is the caller's path (the root, say): followed as given. */
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(parent);
	if (pfd < 0)
		return neg_errno();
	int r = *base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0
			? -EINVAL : rm_at(pfd, base, 0);
	close(pfd);
	return r;
}

static void px_sleep(rs_fs *fs, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t px_now_ns(rs_fs *fs)
{
	return cm_wall_ns();
}

static int px_pid_alive(rs_fs *fs, uint32_t pid)
{
	/* kill(0 or negative) would address process groups. */
	if (pid == 0 || pid > INT_MAX)
		return -1;
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
		return 1;
	return errno == ESRCH ? 0 : -1;
}

static void px_destroy(rs_fs *fs)
{
	free(fs);
}

static const struct rs_fs_ops posix_ops = {
	.open = px_open,
	.pread = px_pread,
	.append = px_append,
	.truncate = px_truncate,
	.fsync = px_fsync,
	.fstat = px_fstat,
	.close = px_close,
	.stat = px_stat,
	.rename = px_rename,
	.link = px_link,
	.unlink = px_unlink,
	.mkdir = px_mkdir,
	.rmdir = px_rmdir,
	.fsync_dir = px_fsync_dir,
	.list = px_list,
	.remove_tree = px_remove_tree,
	.sleep = px_sleep,
	.now_ns = px_now_ns,
	.pid_alive = px_pid_alive,
	.destroy = px_destroy,
};

rs_fs *rs_posixfs_new(void)
{
	rs_fs *fs = cm_xcalloc(1, sizeof(*fs));
	fs->ops = &posix_ops;
	return fs;
}
