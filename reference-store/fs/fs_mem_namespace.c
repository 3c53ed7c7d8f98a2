/* The in-memory rs_fs (fs_mem.c): the calls by path (stat, rename, link,
 * unlink, mkdir, rmdir, fsync_dir, list, remove_tree), the clock and
 * destroy. */
#include "fs_mem_private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Is path b strictly below directory path a? (Paths are canonical.) */
static bool is_below(const char *a, const char *b)
{
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

int memfs_stat(rs_fs *fs, const char *path, rs_fs_stat *st)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_enter_walk(m, RS_FS_STAT, path, &w);
	if (r < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	memfs_fill_stat(&m->in[w.target], st);
	return 0;
}

int memfs_rename(rs_fs *fs, const char *from, const char *to)
{
	struct memfs *m = to_mem(fs);
	int r = memfs_enter(m, RS_FS_RENAME, from);
	if (r < 0)
		return r;
	struct walk a, b;
	if ((r = memfs_resolve(m, from, &a)) < 0 || (r = memfs_resolve(m, to, &b)) < 0)
		return r;
	if (a.target == NONE)
		return -ENOENT;
	if (a.parent == NONE || b.parent == NONE)
		return -EBUSY;
	/* Ancestry before anything else, in Linux's order. */
	if (is_below(from, to))
		return -EINVAL;
	if (is_below(to, from))
		return -ENOTEMPTY;
	if (a.target == b.target)
		return 0; /* same inode (or hard links): POSIX does nothing */
	bool src_dir = m->in[a.target].is_dir;
	if (b.target != NONE) {
		const struct inode *dst = &m->in[b.target];
		if (src_dir && !dst->is_dir)
			return -ENOTDIR;
		if (!src_dir && dst->is_dir)
			return -EISDIR;
		if (dst->is_dir && dst->d.nlive != 0)
			return -ENOTEMPTY;
	}
	if (a.parent != b.parent && !quota_room(m))
		return -ENOSPC;
	memfs_dent_set(m, b.parent, &b, a.target);
	memfs_dent_set(m, a.parent, &a, NONE);
	memfs_reap(m);
	return 0;
}

int memfs_link(rs_fs *fs, const char *from, const char *to)
{
	struct memfs *m = to_mem(fs);
	int r = memfs_enter(m, RS_FS_LINK, from);
	if (r < 0)
		return r;
	/* Linux resolves the source fully before the destination. */
	struct walk a, b;
	if ((r = memfs_resolve(m, from, &a)) < 0)
		return r;
	if (a.target == NONE)
		return -ENOENT;
	if ((r = memfs_resolve(m, to, &b)) < 0)
		return r;
	if (b.target != NONE)
		return -EEXIST;
	if (m->in[a.target].is_dir)
		return -EPERM;
	if (!quota_room(m))
		return -ENOSPC;
	memfs_dent_set(m, b.parent, &b, a.target);
	return 0;
}

int memfs_unlink(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_enter_walk(m, RS_FS_UNLINK, path, &w);
	if (r < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (m->in[w.target].is_dir)
		return -EISDIR;
	memfs_dent_set(m, w.parent, &w, NONE);
	memfs_reap(m);
	return 0;
}

int memfs_mkdir(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_enter_walk(m, RS_FS_MKDIR, path, &w);
	if (r < 0)
		return r;
	if (w.target != NONE)
		return -EEXIST;
	memfs_dent_set(m, w.parent, &w, memfs_inode_new(m, true));
	return 0;
}

int memfs_rmdir(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_enter_walk(m, RS_FS_RMDIR, path, &w);
	if (r < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (!m->in[w.target].is_dir)
		return -ENOTDIR;
	if (w.parent == NONE)
		return -EBUSY;
	if (m->in[w.target].d.nlive != 0)
		return -ENOTEMPTY;
	memfs_dent_set(m, w.parent, &w, NONE);
	memfs_reap(m);
	return 0;
}

int memfs_fsync_dir(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_enter_walk(m, RS_FS_FSYNC_DIR, path, &w);
	if (r < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (!m->in[w.target].is_dir)
		return -ENOTDIR;
	memfs_dir_sync(m, w.target);
	memfs_reap(m);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int memfs_list(rs_fs *fs, const char *dir, rs_fs_list_cb *cb, void *ctx)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = memfs_enter_walk(m, RS_FS_LIST, dir, &w);
	if (r < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (!m->in[w.target].is_dir)
		return -ENOTDIR;
	/* Snapshot the names: the callback may change this directory, or
	 * crash the fs, as it goes. */
	const struct dir *d = &m->in[w.target].d;
	size_t n = 0, bytes = 0;
	for (uint32_t k = 0; k < d->nent; k++)
		if (d->ent[k].cur != NONE)
			bytes += d->ent[k].len + 1;
	char **names = cm_xmalloc(d->nlive * sizeof(char *) + bytes);
	char *p = (char *)(names + d->nlive);
	for (uint32_t k = 0; k < d->nent; k++) {
		if (d->ent[k].cur == NONE)
			continue;
		names[n++] = p;
		memcpy(p, d->ent[k].name, d->ent[k].len + 1);
		p += d->ent[k].len + 1;
	}
	if (n != d->nlive)
		cm_panic("memfs: live entry count out of step");
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t k = 0; k < n && r == 0; k++)
		r = cb(ctx, names[k]);
	free(names);
	return r;
}

void memfs_sleep(rs_fs *fs, uint64_t ns)
{
	struct memfs *m = to_mem(fs);
	/* Time passes even if the hook "fails" the sleep. */
	(void)memfs_enter(m, RS_FS_SLEEP, "");
	m->clock += ns;
}

uint64_t memfs_now_ns(rs_fs *fs)
{
	struct memfs *m = to_mem(fs);
	m->clock += m->step;
	return m->clock;
}

int memfs_pid_alive(rs_fs *fs, uint32_t pid)
{
	struct memfs *m = to_mem(fs);
	m->clock += m->step;
	return m->pid_cb ? m->pid_cb(m->pid_ctx, pid) : 1;
}

void memfs_destroy(rs_fs *fs)
{
	struct memfs *m = to_mem(fs);
	for (uint32_t i = 0; i < m->nin; i++) {
		struct inode *n = &m->in[i];
		if (n->ino == 0)
			continue;
		if (n->is_dir)
			memfs_dir_free(m, &n->d, false);
		free(n->data);
		free(n->dcopy);
	}
	for (uint32_t k = 0; k < m->nfd; k++)
		free(m->fd[k].path);
	free(m->in);
	free(m->fd);
	free(m->dead);
	free(m->queue);
	free(m);
}

struct rm_ctx {
	rs_fs *fs;
	const char *dir;
	unsigned depth;
	int err;
};

static int rm_entry(void *ctx, const char *name);

/* The same contract as the POSIX one, by path: nothing here is a link. */
static int rm_path(rs_fs *fs, const char *p, unsigned depth)
{
	rs_fs_stat st;
	int r = memfs_stat(fs, p, &st);
	if (r < 0 || !st.is_dir)
		return r < 0 ? r : memfs_unlink(fs, p);
	if (depth >= RS_FS_TREE_DEPTH_MAX)
		return -ELOOP;
	struct rm_ctx sub = {fs, p, depth + 1, 0};
	r = memfs_list(fs, p, rm_entry, &sub);
	if (r == 0)
		r = sub.err ? sub.err : memfs_rmdir(fs, p);
	return r;
}

static int rm_entry(void *ctx, const char *name)
{
	struct rm_ctx *c = ctx;
	size_t a = strlen(c->dir), b = strlen(name);
	char *p = cm_xmalloc(a + b + 2);
	memcpy(p, c->dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	int r = rm_path(c->fs, p, c->depth);
	if (r < 0 && r != -ENOENT && c->err == 0)
		c->err = r;
	free(p);
	return 0;
}

int memfs_remove_tree(rs_fs *fs, const char *path)
{
	return rm_path(fs, path, 0);
}
