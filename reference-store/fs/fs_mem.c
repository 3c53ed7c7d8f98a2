/* In-memory rs_fs for the simulator and the fuzzers: no syscalls, fully
 * deterministic (same calls, same results), crash semantics of a power cut.
 *
 * Inodes live in one array indexed by slot (slots are reused, ino numbers
 * never). A directory maps names to inode slots with an open-addressing
 * table over a dense entry array. Durability is tracked as a difference
 * against the current state, so that the common path costs O(1):
 *
 * - File data: files are only appended or truncated, so the durable content
 *   is the first dlen bytes of the current data. Only a truncate below dlen
 *   takes a copy (dcopy) of the durable content; fsync just records the
 *   length.
 * - Directory entries: an entry changed since the last fsync_dir of its
 *   directory is journalled with the inode it had durably (dur, or NONE).
 *   An entry that returns to its durable target leaves the journal, so a
 *   name created and removed between two fsync_dirs costs nothing.
 *
 * An inode is referenced by current entries, journalled durable entries
 * and descriptors; it is freed when the last reference goes (deferred to
 * the end of the call: reap()). A crash reverts every journal and every
 * file, closes every descriptor, then marks and sweeps from the root.
 *
 * This file holds the directory tables, inodes, entries, paths, the hook
 * and the setup; fs_mem_io.c the files and descriptors, fs_mem_namespace.c
 * the calls by path, fs_mem_crash.c the crash and the invariant check.
 * Their shared types and internals: fs_mem_private.h.
 */
#include "fs_mem_private.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- directory tables ------------------------------------------------- */

uint32_t memfs_dir_find(const struct dir *d, const char *name, uint32_t len,
			uint64_t h)
{
	if (d->tab == NULL)
		return NONE;
	for (uint32_t i = (uint32_t)h & d->mask;; i = (i + 1) & d->mask) {
		uint32_t v = d->tab[i];
		if (v == 0)
			return NONE;
		const struct dent *e = &d->ent[v - 1];
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return v - 1;
	}
}

/* The table slot that holds entry idx. */
static uint32_t dir_slot(const struct dir *d, uint32_t idx)
{
	for (uint32_t i = (uint32_t)d->ent[idx].hash & d->mask;; i = (i + 1) & d->mask) {
		if (d->tab[i] == idx + 1)
			return i;
		if (d->tab[i] == 0)
			cm_panic("memfs: entry %u missing from its table", idx);
	}
}

static void tab_put(struct dir *d, uint32_t idx)
{
	uint32_t i = (uint32_t)d->ent[idx].hash & d->mask;
	while (d->tab[i] != 0)
		i = (i + 1) & d->mask;
	d->tab[i] = idx + 1;
}

static void tab_grow(struct dir *d)
{
	uint32_t size = d->tab ? (d->mask + 1) * 2 : 8;
	if (size == 0 || size > UINT32_MAX / 4)
		cm_panic("memfs: directory too large");
	free(d->tab);
	d->tab = cm_xcalloc(size, sizeof(*d->tab));
	d->mask = size - 1;
	for (uint32_t k = 0; k < d->nent; k++)
		tab_put(d, k);
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void tab_delete(struct dir *d, uint32_t i)
{
	for (uint32_t j = (i + 1) & d->mask; d->tab[j] != 0; j = (j + 1) & d->mask) {
		uint32_t home = (uint32_t)d->ent[d->tab[j] - 1].hash & d->mask;
		if (((j - home) & d->mask) >= ((j - i) & d->mask)) {
			d->tab[i] = d->tab[j];
			i = j;
		}
	}
	d->tab[i] = 0;
}

static uint32_t dir_insert(struct dir *d, const char *name, uint32_t len, uint64_t h)
{
	if (d->tab == NULL || (uint64_t)(d->nent + 1) * 2 > (uint64_t)d->mask + 1)
		tab_grow(d);
	MEMFS_GROW(d->ent, d->nent, d->ent_cap);
	uint32_t idx = d->nent++;
	d->ent[idx] = (struct dent){
		.name = cm_xstrndup(name, len), .len = len, .hash = h,
		.cur = NONE, .dur = NONE, .jidx = NONE,
	};
	tab_put(d, idx);
	return idx;
}

static void jrn_add(struct dir *d, uint32_t idx)
{
	MEMFS_GROW(d->jrn, d->njrn, d->jrn_cap);
	d->ent[idx].jidx = d->njrn;
	d->jrn[d->njrn++] = idx;
}

void memfs_jrn_del(struct dir *d, uint32_t idx)
{
	uint32_t j = d->ent[idx].jidx, last = d->njrn - 1;
	if (j == NONE || d->jrn[j] != idx)
		cm_panic("memfs: journal out of step");
	if (j != last) {
		d->jrn[j] = d->jrn[last];
		d->ent[d->jrn[j]].jidx = j;
	}
	d->njrn = last;
	d->ent[idx].jidx = NONE;
}

/* Drops an entry that is neither current nor journalled. Moves the last
 * entry into its place: indices held across this call are stale. */
void memfs_dir_remove(struct dir *d, uint32_t idx)
{
	struct dent *e = &d->ent[idx];
	if (e->cur != NONE || e->jidx != NONE)
		cm_panic("memfs: removing a live entry");
	tab_delete(d, dir_slot(d, idx));
	free(e->name);
	uint32_t last = d->nent - 1;
	if (idx != last) {
		uint32_t s = dir_slot(d, last);
		d->ent[idx] = d->ent[last];
		d->tab[s] = idx + 1;
		if (d->ent[idx].jidx != NONE)
			d->jrn[d->ent[idx].jidx] = idx;
	}
	d->nent = last;
}

/* ---- inodes ------------------------------------------------------------ */

uint32_t memfs_inode_new(struct memfs *m, bool is_dir)
{
	uint32_t i;
	if (m->in_free != NONE) {
		i = m->in_free;
		m->in_free = m->in[i].next_free;
	} else {
		MEMFS_GROW(m->in, m->nin, m->in_cap);
		i = m->nin++;
	}
	struct inode *n = &m->in[i];
	memset(n, 0, sizeof(*n));
	n->ino = m->next_ino++;
	n->next_free = NONE;
	n->is_dir = is_dir;
	n->mtime_ns = m->clock;
	return i;
}

void memfs_inode_ref(struct memfs *m, uint32_t i)
{
	if (i == NONE)
		return;
	if (m->in[i].ino == 0 || m->in[i].refs == UINT32_MAX)
		cm_panic("memfs: bad ref to inode slot %u", i);
	m->in[i].refs++;
}

void memfs_inode_unref(struct memfs *m, uint32_t i)
{
	if (i == NONE)
		return;
	if (m->in[i].ino == 0 || m->in[i].refs == 0)
		cm_panic("memfs: bad unref of inode slot %u", i);
	if (--m->in[i].refs == 0) {
		MEMFS_GROW(m->dead, m->ndead, m->dead_cap);
		m->dead[m->ndead++] = i;
	}
}

/* unref: release what the directory's journal holds (normal deletion);
 * a crash sweep recomputes every count instead. */
void memfs_dir_free(struct memfs *m, struct dir *d, bool unref)
{
	if (unref && d->nlive != 0)
		cm_panic("memfs: freeing a non-empty directory");
	for (uint32_t k = 0; k < d->nent; k++) {
		if (unref && d->ent[k].jidx != NONE)
			memfs_inode_unref(m, d->ent[k].dur);
		free(d->ent[k].name);
	}
	free(d->ent);
	free(d->tab);
	free(d->jrn);
	memset(d, 0, sizeof(*d));
}

void memfs_inode_free(struct memfs *m, uint32_t i, bool unref)
{
	struct inode *n = &m->in[i];
	if (i == ROOT || n->ino == 0)
		cm_panic("memfs: freeing inode slot %u", i);
	if (n->is_dir) {
		memfs_dir_free(m, &n->d, unref);
	} else {
		m->used -= n->len;
		free(n->data);
		free(n->dcopy);
	}
	memset(n, 0, sizeof(*n));
	n->next_free = m->in_free;
	m->in_free = i;
}

/* Frees what lost its last reference during the call. An inode may have
 * been queued twice or referenced again since: check before freeing. */
void memfs_reap(struct memfs *m)
{
	while (m->ndead > 0) {
		uint32_t i = m->dead[--m->ndead];
		if (m->in[i].ino != 0 && m->in[i].refs == 0)
			memfs_inode_free(m, i, true);
	}
}

/* ---- entries ------------------------------------------------------------ */

/* Points w's name in directory dino at target (NONE: removes it). The
 * first change since the last fsync_dir journals the durable target. */
void memfs_dent_set(struct memfs *m, uint32_t dino, const struct walk *w,
		    uint32_t target)
{
	struct dir *d = &m->in[dino].d;
	if (!m->in[dino].is_dir)
		cm_panic("memfs: entry in a non-directory");
	uint32_t idx = memfs_dir_find(d, w->name, w->len, w->hash);
	if (idx == NONE)
		idx = dir_insert(d, w->name, w->len, w->hash);
	struct dent *e = &d->ent[idx];
	uint32_t old = e->cur;
	if (old == target)
		cm_panic("memfs: no-op entry change");
	if ((old != NONE && m->in[old].is_dir) ||
	    (target != NONE && m->in[target].is_dir))
		m->dir_gen++; /* a path to a directory changed */
	if (e->jidx == NONE) {
		e->dur = old;
		memfs_inode_ref(m, old);
		jrn_add(d, idx);
	}
	memfs_inode_ref(m, target);
	e->cur = target;
	d->nlive += (target != NONE) - (old != NONE);
	memfs_inode_unref(m, old);
	if (e->cur == e->dur) {
		/* Back where the disk has it: nothing left to revert. */
		memfs_jrn_del(d, idx);
		memfs_inode_unref(m, e->dur);
		if (e->cur == NONE)
			memfs_dir_remove(d, idx);
	}
	m->in[dino].mtime_ns = m->clock;
}

/* Makes one entry durable (cur kept). Only for a current entry. */
void memfs_dent_commit(struct memfs *m, struct dir *d, uint32_t idx)
{
	struct dent *e = &d->ent[idx];
	if (e->cur == NONE)
		cm_panic("memfs: committing a removed entry");
	if (e->jidx == NONE)
		return;
	memfs_jrn_del(d, idx);
	memfs_inode_unref(m, e->dur);
}

void memfs_dir_sync(struct memfs *m, uint32_t dino)
{
	struct dir *d = &m->in[dino].d;
	while (d->njrn > 0) {
		uint32_t idx = d->jrn[d->njrn - 1];
		memfs_jrn_del(d, idx);
		memfs_inode_unref(m, d->ent[idx].dur);
		if (d->ent[idx].cur == NONE)
			memfs_dir_remove(d, idx);
	}
}

/* ---- paths --------------------------------------------------------------- */

static bool is_dot(const char *p, size_t n)
{
	return (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

static struct dircache *dircache_slot(struct memfs *m, const char *dir,
				      uint32_t len)
{
	uint32_t h = len;
	for (uint32_t i = len > 16 ? len - 16 : 0; i < len; i++)
		h = h * 31u + (unsigned char)dir[i];
	return &m->dircache[h & (DIRCACHE_SLOTS - 1)];
}

/* The directory path[0..len) resolved to when dir_gen was what it is, or
 * NONE. */
static uint32_t dircache_get(struct memfs *m, const char *path, uint32_t len)
{
	const struct dircache *c = dircache_slot(m, path, len);
	if (c->gen == m->dir_gen && c->len == len && memcmp(c->path, path, len) == 0)
		return c->dir;
	return NONE;
}

static void dircache_put(struct memfs *m, const char *path, uint32_t len,
			 uint32_t dir)
{
	if (len >= DIRCACHE_PATH_MAX)
		return;
	struct dircache *c = dircache_slot(m, path, len);
	c->gen = m->dir_gen;
	c->len = len;
	c->dir = dir;
	memcpy(c->path, path, len);
}

/* The walk of path's components from directory dir, p its next one. */
static int walk_from(struct memfs *m, const char *path, uint32_t dir,
		     const char *p, struct walk *w)
{
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0)
			return -ENOENT;
		if (n > NAME_MAX_LEN)
			return -ENAMETOOLONG;
		if (is_dot(p, n))
			return -EINVAL;
		uint64_t h = cm_hash64(p, n);
		const struct dir *d = &m->in[dir].d;
		uint32_t idx = memfs_dir_find(d, p, (uint32_t)n, h);
		uint32_t t = idx == NONE ? NONE : d->ent[idx].cur;
		if (p[n] == '\0') {
			*w = (struct walk){ .parent = dir, .target = t, .name = p,
					    .len = (uint32_t)n, .hash = h };
			if (dir != ROOT)
				dircache_put(m, path, (uint32_t)(p - 1 - path), dir);
			return 0;
		}
		if (t == NONE)
			return -ENOENT;
		if (!m->in[t].is_dir)
			return -ENOTDIR;
		dir = t;
		p += n + 1;
	}
}

/* Absolute, '/'-separated; no empty, "." or ".." components. */
int memfs_resolve(struct memfs *m, const char *path, struct walk *w)
{
	if (path == NULL)
		cm_panic("memfs: NULL path");
	if (path[0] != '/')
		return -EINVAL;
	*w = (struct walk){ .parent = NONE, .target = ROOT, .name = path + 1 };
	if (path[1] == '\0')
		return 0;
	const char *last = strrchr(path, '/');
	uint32_t len = (uint32_t)(last - path);
	uint32_t dir = len > 0 && len < DIRCACHE_PATH_MAX ? dircache_get(m, path, len) : NONE;
	if (dir == NONE)
		return walk_from(m, path, ROOT, path + 1, w);
	assert(m->in[dir].is_dir);
	return walk_from(m, path, dir, last + 1, w);
}

/* ---- calls and the hook ---------------------------------------------------- */

/* Every hooked call: count, tick, then the hook (which may crash the fs
 * or run other clients): callers resolve everything after this. */
int memfs_enter(struct memfs *m, rs_fs_call call, const char *path)
{
	m->calls++;
	m->clock += m->step;
	if (m->hook == NULL)
		return 0;
	int r = m->hook(m->hook_ctx, call, path);
	if (r > 0)
		cm_panic("memfs: hook returned %d for %s", r, rs_fs_call_name(call));
	return r;
}

/* ---- setup ------------------------------------------------------------------ */

const struct rs_fs_ops memfs_ops = {
	.open = memfs_open,
	.pread = memfs_pread,
	.append = memfs_append,
	.truncate = memfs_truncate,
	.fsync = memfs_fsync,
	.fstat = memfs_fstat,
	.close = memfs_close,
	.stat = memfs_stat,
	.rename = memfs_rename,
	.link = memfs_link,
	.unlink = memfs_unlink,
	.mkdir = memfs_mkdir,
	.rmdir = memfs_rmdir,
	.fsync_dir = memfs_fsync_dir,
	.list = memfs_list,
	.remove_tree = memfs_remove_tree,
	.sleep = memfs_sleep,
	.now_ns = memfs_now_ns,
	.pid_alive = memfs_pid_alive,
	.destroy = memfs_destroy,
};

rs_fs *rs_memfs_new(void)
{
	struct memfs *m = cm_xcalloc(1, sizeof(*m));
	m->base.ops = &memfs_ops;
	m->in_free = NONE;
	m->fd_free = NONE;
	m->fd_base = FD_FIRST;
	m->next_ino = 1;
	m->dir_gen = 1;
	m->clock = DEFAULT_START_NS;
	m->step = DEFAULT_STEP_NS;
	if (memfs_inode_new(m, true) != ROOT)
		cm_panic("memfs: root not in slot 0");
	m->in[ROOT].refs = 1; /* never freed */
	return &m->base;
}

void rs_memfs_set_hook(rs_fs *fs, rs_memfs_hook *hook, void *ctx)
{
	struct memfs *m = to_mem(fs);
	m->hook = hook;
	m->hook_ctx = ctx;
}

void rs_memfs_set_quota(rs_fs *fs, uint64_t bytes)
{
	to_mem(fs)->quota = bytes;
}

uint64_t rs_memfs_used(rs_fs *fs)
{
	return to_mem(fs)->used;
}

void rs_memfs_set_pid_alive(rs_fs *fs, rs_memfs_pid_cb *cb, void *ctx)
{
	struct memfs *m = to_mem(fs);
	m->pid_cb = cb;
	m->pid_ctx = ctx;
}

void rs_memfs_set_clock(rs_fs *fs, uint64_t start_ns, uint64_t step_ns)
{
	struct memfs *m = to_mem(fs);
	m->clock = start_ns;
	m->step = step_ns;
}

uint64_t rs_memfs_calls(rs_fs *fs)
{
	return to_mem(fs)->calls;
}
