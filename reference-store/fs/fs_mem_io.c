/* The in-memory rs_fs (fs_mem.c): file contents and descriptors, the calls
 * on descriptors, and the whole-file helpers for tests and fuzzers. */
#include "fs_mem_private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- files --------------------------------------------------------------- */

static void file_reserve(struct inode *n, uint64_t size)
{
	if (size <= n->cap)
		return;
	uint64_t cap = CM_MAX(CM_MAX(n->cap * 2, size), 64);
	n->data = cm_xrealloc(n->data, (size_t)cap);
	n->cap = cap;
}

static int file_resize(struct memfs *m, uint32_t i, uint64_t size)
{
	struct inode *n = &m->in[i];
	if (size > MAX_FILE)
		return -EFBIG;
	if (size > n->len) {
		if (!quota_allows(m, size - n->len))
			return -ENOSPC;
		file_reserve(n, size);
		memset(n->data + n->len, 0, (size_t)(size - n->len));
	} else if (size < n->dlen && !n->has_dcopy) {
		/* Cutting into durable bytes: a crash must bring them back. */
		n->dcopy = cm_xmalloc((size_t)n->dlen);
		memcpy(n->dcopy, n->data, (size_t)n->dlen);
		n->has_dcopy = true;
	}
	m->used = m->used - n->len + size;
	n->len = size;
	n->mtime_ns = m->clock;
	return 0;
}

static void file_sync(struct inode *n)
{
	free(n->dcopy);
	n->dcopy = NULL;
	n->has_dcopy = false;
	n->dlen = n->len;
}

/* Power cut: back to the durable content, or with rng a torn tail. */
void memfs_file_revert(struct memfs *m, struct inode *n, cm_rng *rng)
{
	m->used -= n->len;
	if (n->has_dcopy) {
		free(n->data);
		n->data = n->dcopy;
		n->cap = n->len = n->dlen;
		n->dcopy = NULL;
		n->has_dcopy = false;
	} else {
		if (n->dlen > n->len)
			cm_panic("memfs: durable length beyond the file");
		uint64_t keep = n->dlen;
		if (rng != NULL && n->len > n->dlen)
			keep += cm_rng_below(rng, n->len - n->dlen + 1);
		n->len = n->dlen = keep;
	}
	m->used += n->len;
}

void memfs_fill_stat(const struct inode *n, rs_fs_stat *st)
{
	st->size = n->is_dir ? 0 : n->len;
	st->ino = n->ino;
	st->mtime_ns = n->mtime_ns;
	st->is_dir = n->is_dir;
	st->is_link = false; /* no links here */
}

/* ---- descriptors ---------------------------------------------------------- */

static struct mfd *fd_get(struct memfs *m, int fd)
{
	if (fd < m->fd_base)
		return NULL;
	uint64_t k = (uint64_t)(fd - m->fd_base);
	if (k >= m->nfd || m->fd[k].inode == NONE)
		return NULL;
	return &m->fd[k];
}

static int fd_enter(struct memfs *m, rs_fs_call call, int fd)
{
	if (m->hook == NULL)
		return memfs_enter(m, call, "");
	const struct mfd *f = fd_get(m, fd);
	const char *path = f ? f->path : "";
	/* The hook may close fds or crash, freeing f->path: pass a copy. */
	char small[256];
	size_t n = strlen(path) + 1;
	char *copy = n <= sizeof(small) ? small : cm_xmalloc(n);
	memcpy(copy, path, n);
	int r = memfs_enter(m, call, copy);
	if (copy != small)
		free(copy);
	return r;
}

static int fd_new(struct memfs *m, uint32_t inode, bool writable, const char *path)
{
	uint32_t k;
	if (m->fd_free != NONE) {
		k = m->fd_free;
		m->fd_free = m->fd[k].next_free;
	} else {
		MEMFS_GROW(m->fd, m->nfd, m->fd_cap);
		k = m->nfd++;
	}
	if ((uint64_t)m->fd_base + k > INT_MAX)
		cm_panic("memfs: descriptor numbers exhausted");
	m->fd[k] = (struct mfd){ .inode = inode, .next_free = NONE,
				 .writable = writable, .path = cm_xstrdup(path) };
	memfs_inode_ref(m, inode);
	return m->fd_base + (int)k;
}

static void fd_release(struct memfs *m, struct mfd *f)
{
	uint32_t inode = f->inode;
	free(f->path);
	*f = (struct mfd){ .inode = NONE, .next_free = m->fd_free };
	m->fd_free = (uint32_t)(f - m->fd);
	memfs_inode_unref(m, inode);
}

/* Crash: every descriptor dies and its number is never handed out again,
 * so a stale fd cannot alias a new file. Counts are recomputed later. */
void memfs_fd_drop_all(struct memfs *m)
{
	for (uint32_t k = 0; k < m->nfd; k++)
		free(m->fd[k].path);
	m->fd_base += (int)m->nfd;
	if (m->fd_base > INT_MAX / 2)
		m->fd_base = FD_FIRST; /* after ~1e9 descriptors: accept aliasing */
	m->nfd = 0;
	m->fd_free = NONE;
}

/* ---- calls on descriptors -------------------------------------------------- */

int memfs_open(rs_fs *fs, const char *path, int flags)
{
	struct memfs *m = to_mem(fs);
	int r = memfs_enter(m, RS_FS_OPEN, path);
	if (r < 0)
		return r;
	if (flags & ~(RS_O_APPEND | RS_O_CREAT | RS_O_EXCL | RS_O_TRUNC))
		return -EINVAL;
	struct walk w;
	if ((r = memfs_resolve(m, path, &w)) < 0)
		return r;
	uint32_t t = w.target;
	if (t == NONE) {
		if (!(flags & RS_O_CREAT))
			return -ENOENT;
		t = memfs_inode_new(m, false);
		memfs_dent_set(m, w.parent, &w, t);
	} else if ((flags & RS_O_CREAT) && (flags & RS_O_EXCL)) {
		return -EEXIST;
	} else if (m->in[t].is_dir) {
		if (flags & (RS_O_APPEND | RS_O_CREAT | RS_O_TRUNC))
			return -EISDIR;
	} else if (flags & RS_O_TRUNC) {
		if ((r = file_resize(m, t, 0)) < 0)
			cm_panic("memfs: truncation to 0 failed (%d)", r);
	}
	return fd_new(m, t, flags & RS_O_APPEND, path);
}

ssize_t memfs_pread(rs_fs *fs, int fd, void *buf, size_t len, uint64_t off)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_READ, fd);
	if (r < 0)
		return r;
	const struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return -EBADF;
	const struct inode *n = &m->in[f->inode];
	if (n->is_dir)
		return -EISDIR;
	if (off >= n->len || len == 0)
		return 0;
	size_t k = (size_t)CM_MIN((uint64_t)len, n->len - off);
	memcpy(buf, n->data + off, k);
	return (ssize_t)k;
}

ssize_t memfs_append(rs_fs *fs, int fd, const void *buf, size_t len)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_WRITE, fd);
	if (r < 0)
		return r;
	const struct mfd *f = fd_get(m, fd);
	if (f == NULL || !f->writable)
		return -EBADF;
	struct inode *n = &m->in[f->inode];
	if (len == 0)
		return 0;
	if (len > MAX_FILE - n->len)
		return -EFBIG;
	if (!quota_allows(m, len))
		return -ENOSPC;
	file_reserve(n, n->len + len);
	memcpy(n->data + n->len, buf, len);
	n->len += len;
	n->mtime_ns = m->clock;
	m->used += len;
	return (ssize_t)len;
}

int memfs_truncate(rs_fs *fs, int fd, uint64_t size)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_TRUNCATE, fd);
	if (r < 0)
		return r;
	const struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return -EBADF;
	if (!f->writable)
		return -EINVAL; /* Linux ftruncate on a read-only fd */
	return file_resize(m, f->inode, size);
}

int memfs_fsync(rs_fs *fs, int fd)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_FSYNC, fd);
	if (r < 0)
		return r;
	const struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return -EBADF;
	if (m->in[f->inode].is_dir) {
		/* fsync of a directory fd is what fsync_dir does. */
		memfs_dir_sync(m, f->inode);
		memfs_reap(m);
	} else {
		file_sync(&m->in[f->inode]);
	}
	return 0;
}

int memfs_fstat(rs_fs *fs, int fd, rs_fs_stat *st)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_FSTAT, fd);
	if (r < 0)
		return r;
	const struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return -EBADF;
	memfs_fill_stat(&m->in[f->inode], st);
	return 0;
}

int memfs_close(rs_fs *fs, int fd)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_CLOSE, fd);
	struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return r < 0 ? r : -EBADF;
	/* Even a failing close releases the descriptor (Linux): callers
	 * never retry close, and a leak would pin the inode. */
	fd_release(m, f);
	memfs_reap(m);
	return r;
}

/* ---- whole-file helpers ------------------------------------------------------ */

/* Makes every entry on the way to path durable (path exists). */
static void commit_path(struct memfs *m, const char *path)
{
	uint32_t dir = ROOT;
	for (const char *p = path + 1; *p != '\0';) {
		size_t n = strcspn(p, "/");
		struct dir *d = &m->in[dir].d;
		uint32_t idx = memfs_dir_find(d, p, (uint32_t)n, cm_hash64(p, n));
		if (idx == NONE)
			cm_panic("memfs: committing a missing path");
		dir = d->ent[idx].cur;
		memfs_dent_commit(m, d, idx);
		p += n + (p[n] == '/');
	}
}

int rs_memfs_write_file(rs_fs *fs, const char *path, const void *data, size_t len)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_resolve(m, path, &w);
	if (r < 0)
		return r;
	if (len > MAX_FILE)
		return -EFBIG;
	uint32_t t = w.target;
	if (t == NONE) {
		t = memfs_inode_new(m, false);
		memfs_dent_set(m, w.parent, &w, t);
	} else if (m->in[t].is_dir) {
		return -EISDIR;
	}
	struct inode *n = &m->in[t];
	file_reserve(n, len);
	if (len > 0)
		memcpy(n->data, data, len);
	m->used = m->used - n->len + len;
	n->len = len;
	n->mtime_ns = m->clock;
	file_sync(n);
	commit_path(m, path);
	memfs_reap(m);
	return 0;
}

int rs_memfs_read_file(rs_fs *fs, const char *path, cm_buf *out)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_resolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	const struct inode *n = &m->in[w.target];
	if (n->is_dir)
		return -EISDIR;
	cm_buf_append(out, n->data, (size_t)n->len);
	return 0;
}
