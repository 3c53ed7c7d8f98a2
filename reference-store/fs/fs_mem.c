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
 */
#include "rs_fs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define ROOT 0u
#define NAME_MAX_LEN 255
#define MAX_FILE (1ULL << 30)          /* beyond: -EFBIG */
#define FD_FIRST 3                     /* look like a process's fds */
#define DEFAULT_START_NS (1700000000ULL * 1000000000ULL)
#define DEFAULT_STEP_NS 1000ULL

/* Grows vector p (n used, cap allocated, uint32_t) for one more element. */
#define GROW(p, n, cap)                                                      \
	do {                                                                 \
		if ((n) == (cap)) {                                          \
			if ((cap) > UINT32_MAX / 4)                          \
				cm_panic("memfs: vector overflow");          \
			(cap) = (cap) ? (cap) * 2 : 8;                       \
			(p) = cm_xrealloc((p), (size_t)(cap) * sizeof(*(p))); \
		}                                                            \
	} while (0)

struct dent {
	char *name;
	uint32_t len;
	uint32_t cur;   /* inode now; NONE = removed since the last fsync_dir */
	uint32_t dur;   /* inode after a crash (NONE = absent); if journalled */
	uint32_t jidx;  /* position in the directory journal; NONE = durable */
	uint64_t hash;
};

struct dir {
	struct dent *ent; /* dense, in no particular order */
	uint32_t nent, ent_cap;
	uint32_t *tab;    /* linear probing; ent index + 1, 0 = empty */
	uint32_t mask;    /* table size - 1; meaningless while tab == NULL */
	uint32_t nlive;   /* entries with cur != NONE */
	uint32_t *jrn;    /* journalled entries, as ent indices */
	uint32_t njrn, jrn_cap;
};

struct inode {
	uint64_t ino;      /* 0 = free slot */
	uint64_t mtime_ns;
	uint32_t refs;     /* current entries + journalled entries + fds */
	uint32_t next_free;
	bool is_dir;
	bool mark;         /* crash: reachable from the root */
	bool has_dcopy;    /* durable content is dcopy, not a prefix of data */
	char *data;
	uint64_t len, cap;
	uint64_t dlen;     /* durable length */
	char *dcopy;
	struct dir d;
};

struct mfd {
	uint32_t inode;    /* NONE = free */
	uint32_t next_free;
	bool writable;
	char *path;        /* for the hook */
};

struct memfs {
	rs_fs base;
	struct inode *in;
	uint32_t nin, in_cap, in_free;
	uint64_t next_ino;
	struct mfd *fd;
	uint32_t nfd, fd_cap, fd_free;
	int fd_base;       /* fds below it died in a crash */
	uint32_t *dead;    /* inodes whose refs reached 0, for reap() */
	uint32_t ndead, dead_cap;
	uint32_t *queue;   /* crash: breadth-first walk */
	uint32_t nqueue, queue_cap;
	rs_memfs_hook *hook;
	void *hook_ctx;
	rs_memfs_pid_cb *pid_cb;
	void *pid_ctx;
	uint64_t clock, step, calls, quota, used;
};

/* A resolved path: the entry name in its parent and what it points at. */
struct walk {
	uint32_t parent;   /* NONE for "/" */
	uint32_t target;   /* NONE if absent */
	const char *name;
	uint32_t len;
	uint64_t hash;
};

static const struct rs_fs_ops mem_ops;

static struct memfs *to_mem(rs_fs *fs)
{
	if (fs == NULL || fs->ops != &mem_ops)
		cm_panic("memfs: not an in-memory file system");
	return (struct memfs *)fs;
}

/* ---- directory tables ------------------------------------------------- */

static uint32_t dir_find(const struct dir *d, const char *name, uint32_t len,
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
	GROW(d->ent, d->nent, d->ent_cap);
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
	GROW(d->jrn, d->njrn, d->jrn_cap);
	d->ent[idx].jidx = d->njrn;
	d->jrn[d->njrn++] = idx;
}

static void jrn_del(struct dir *d, uint32_t idx)
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
static void dir_remove(struct dir *d, uint32_t idx)
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

static uint32_t inode_new(struct memfs *m, bool is_dir)
{
	uint32_t i;
	if (m->in_free != NONE) {
		i = m->in_free;
		m->in_free = m->in[i].next_free;
	} else {
		GROW(m->in, m->nin, m->in_cap);
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

static void inode_ref(struct memfs *m, uint32_t i)
{
	if (i == NONE)
		return;
	if (m->in[i].ino == 0 || m->in[i].refs == UINT32_MAX)
		cm_panic("memfs: bad ref to inode slot %u", i);
	m->in[i].refs++;
}

static void inode_unref(struct memfs *m, uint32_t i)
{
	if (i == NONE)
		return;
	if (m->in[i].ino == 0 || m->in[i].refs == 0)
		cm_panic("memfs: bad unref of inode slot %u", i);
	if (--m->in[i].refs == 0) {
		GROW(m->dead, m->ndead, m->dead_cap);
		m->dead[m->ndead++] = i;
	}
}

/* unref: release what the directory's journal holds (normal deletion);
 * a crash sweep recomputes every count instead. */
static void dir_free(struct memfs *m, struct dir *d, bool unref)
{
	if (unref && d->nlive != 0)
		cm_panic("memfs: freeing a non-empty directory");
	for (uint32_t k = 0; k < d->nent; k++) {
		if (unref && d->ent[k].jidx != NONE)
			inode_unref(m, d->ent[k].dur);
		free(d->ent[k].name);
	}
	free(d->ent);
	free(d->tab);
	free(d->jrn);
	memset(d, 0, sizeof(*d));
}

static void inode_free(struct memfs *m, uint32_t i, bool unref)
{
	struct inode *n = &m->in[i];
	if (i == ROOT || n->ino == 0)
		cm_panic("memfs: freeing inode slot %u", i);
	if (n->is_dir) {
		dir_free(m, &n->d, unref);
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
static void reap(struct memfs *m)
{
	while (m->ndead > 0) {
		uint32_t i = m->dead[--m->ndead];
		if (m->in[i].ino != 0 && m->in[i].refs == 0)
			inode_free(m, i, true);
	}
}

/* ---- entries ------------------------------------------------------------ */

/* Points w's name in directory dino at target (NONE: removes it). The
 * first change since the last fsync_dir journals the durable target. */
static void dent_set(struct memfs *m, uint32_t dino, const struct walk *w,
		     uint32_t target)
{
	struct dir *d = &m->in[dino].d;
	if (!m->in[dino].is_dir)
		cm_panic("memfs: entry in a non-directory");
	uint32_t idx = dir_find(d, w->name, w->len, w->hash);
	if (idx == NONE)
		idx = dir_insert(d, w->name, w->len, w->hash);
	struct dent *e = &d->ent[idx];
	uint32_t old = e->cur;
	if (old == target)
		cm_panic("memfs: no-op entry change");
	if (e->jidx == NONE) {
		e->dur = old;
		inode_ref(m, old);
		jrn_add(d, idx);
	}
	inode_ref(m, target);
	e->cur = target;
	d->nlive += (target != NONE) - (old != NONE);
	inode_unref(m, old);
	if (e->cur == e->dur) {
		/* Back where the disk has it: nothing left to revert. */
		jrn_del(d, idx);
		inode_unref(m, e->dur);
		if (e->cur == NONE)
			dir_remove(d, idx);
	}
	m->in[dino].mtime_ns = m->clock;
}

/* Makes one entry durable (cur kept). Only for a current entry. */
static void dent_commit(struct memfs *m, struct dir *d, uint32_t idx)
{
	struct dent *e = &d->ent[idx];
	if (e->cur == NONE)
		cm_panic("memfs: committing a removed entry");
	if (e->jidx == NONE)
		return;
	jrn_del(d, idx);
	inode_unref(m, e->dur);
}

static void dir_sync(struct memfs *m, uint32_t dino)
{
	struct dir *d = &m->in[dino].d;
	while (d->njrn > 0) {
		uint32_t idx = d->jrn[d->njrn - 1];
		jrn_del(d, idx);
		inode_unref(m, d->ent[idx].dur);
		if (d->ent[idx].cur == NONE)
			dir_remove(d, idx);
	}
}

/* ---- files --------------------------------------------------------------- */

static bool quota_allows(const struct memfs *m, uint64_t grow)
{
	return m->quota == 0 || (m->used <= m->quota && grow <= m->quota - m->used);
}

/* Directory growth under quota: fails once the quota is reached. */
static bool quota_room(const struct memfs *m)
{
	return m->quota == 0 || m->used < m->quota;
}

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
static void file_revert(struct memfs *m, struct inode *n, cm_rng *rng)
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

static void fill_stat(const struct inode *n, rs_fs_stat *st)
{
	st->size = n->is_dir ? 0 : n->len;
	st->ino = n->ino;
	st->mtime_ns = n->mtime_ns;
	st->is_dir = n->is_dir;
	st->is_link = false; /* no links here */
}

/* ---- paths --------------------------------------------------------------- */

static bool is_dot(const char *p, size_t n)
{
	return (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

/* Absolute, '/'-separated; no empty, "." or ".." components. */
static int resolve(const struct memfs *m, const char *path, struct walk *w)
{
	if (path == NULL)
		cm_panic("memfs: NULL path");
	if (path[0] != '/')
		return -EINVAL;
	*w = (struct walk){ .parent = NONE, .target = ROOT, .name = path + 1 };
	if (path[1] == '\0')
		return 0;
	uint32_t dir = ROOT;
	for (const char *p = path + 1;; ) {
		size_t n = strcspn(p, "/");
		if (n == 0)
			return -ENOENT;
		if (n > NAME_MAX_LEN)
			return -ENAMETOOLONG;
		if (is_dot(p, n))
			return -EINVAL;
		uint64_t h = cm_hash64(p, n);
		const struct dir *d = &m->in[dir].d;
		uint32_t idx = dir_find(d, p, (uint32_t)n, h);
		uint32_t t = idx == NONE ? NONE : d->ent[idx].cur;
		if (p[n] == '\0') {
			*w = (struct walk){ .parent = dir, .target = t, .name = p,
					    .len = (uint32_t)n, .hash = h };
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

/* Is path b strictly below directory path a? (Paths are canonical.) */
static bool is_below(const char *a, const char *b)
{
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

/* ---- calls, hook, descriptors -------------------------------------------- */

/* Every hooked call: count, tick, then the hook (which may crash the fs
 * or run other clients): callers resolve everything after this. */
static int enter(struct memfs *m, rs_fs_call call, const char *path)
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
		return enter(m, call, "");
	const struct mfd *f = fd_get(m, fd);
	const char *path = f ? f->path : "";
	/* The hook may close fds or crash, freeing f->path: pass a copy. */
	char small[256];
	size_t n = strlen(path) + 1;
	char *copy = n <= sizeof(small) ? small : cm_xmalloc(n);
	memcpy(copy, path, n);
	int r = enter(m, call, copy);
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
		GROW(m->fd, m->nfd, m->fd_cap);
		k = m->nfd++;
	}
	if ((uint64_t)m->fd_base + k > INT_MAX)
		cm_panic("memfs: descriptor numbers exhausted");
	m->fd[k] = (struct mfd){ .inode = inode, .next_free = NONE,
				 .writable = writable, .path = cm_xstrdup(path) };
	inode_ref(m, inode);
	return m->fd_base + (int)k;
}

static void fd_release(struct memfs *m, struct mfd *f)
{
	uint32_t inode = f->inode;
	free(f->path);
	*f = (struct mfd){ .inode = NONE, .next_free = m->fd_free };
	m->fd_free = (uint32_t)(f - m->fd);
	inode_unref(m, inode);
}

/* Crash: every descriptor dies and its number is never handed out again,
 * so a stale fd cannot alias a new file. Counts are recomputed later. */
static void fd_drop_all(struct memfs *m)
{
	for (uint32_t k = 0; k < m->nfd; k++)
		free(m->fd[k].path);
	m->fd_base += (int)m->nfd;
	if (m->fd_base > INT_MAX / 2)
		m->fd_base = FD_FIRST; /* after ~1e9 descriptors: accept aliasing */
	m->nfd = 0;
	m->fd_free = NONE;
}

/* ---- the vtable ------------------------------------------------------------ */

static int mem_open(rs_fs *fs, const char *path, int flags)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_OPEN, path);
	if (r < 0)
		return r;
	if (flags & ~(RS_O_APPEND | RS_O_CREAT | RS_O_EXCL | RS_O_TRUNC))
		return -EINVAL;
	struct walk w;
	if ((r = resolve(m, path, &w)) < 0)
		return r;
	uint32_t t = w.target;
	if (t == NONE) {
		if (!(flags & RS_O_CREAT))
			return -ENOENT;
		t = inode_new(m, false);
		dent_set(m, w.parent, &w, t);
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

static ssize_t mem_pread(rs_fs *fs, int fd, void *buf, size_t len, uint64_t off)
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

static ssize_t mem_append(rs_fs *fs, int fd, const void *buf, size_t len)
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

static int mem_truncate(rs_fs *fs, int fd, uint64_t size)
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

static int mem_fsync(rs_fs *fs, int fd)
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
		dir_sync(m, f->inode);
		reap(m);
	} else {
		file_sync(&m->in[f->inode]);
	}
	return 0;
}

static int mem_fstat(rs_fs *fs, int fd, rs_fs_stat *st)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_FSTAT, fd);
	if (r < 0)
		return r;
	const struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return -EBADF;
	fill_stat(&m->in[f->inode], st);
	return 0;
}

static int mem_close(rs_fs *fs, int fd)
{
	struct memfs *m = to_mem(fs);
	int r = fd_enter(m, RS_FS_CLOSE, fd);
	struct mfd *f = fd_get(m, fd);
	if (f == NULL)
		return r < 0 ? r : -EBADF;
	/* Even a failing close releases the descriptor (Linux): callers
	 * never retry close, and a leak would pin the inode. */
	fd_release(m, f);
	reap(m);
	return r;
}

static int mem_stat(rs_fs *fs, const char *path, rs_fs_stat *st)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_STAT, path);
	if (r < 0)
		return r;
	struct walk w;
	if ((r = resolve(m, path, &w)) < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	fill_stat(&m->in[w.target], st);
	return 0;
}

static int mem_rename(rs_fs *fs, const char *from, const char *to)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_RENAME, from);
	if (r < 0)
		return r;
	struct walk a, b;
	if ((r = resolve(m, from, &a)) < 0 || (r = resolve(m, to, &b)) < 0)
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
	dent_set(m, b.parent, &b, a.target);
	dent_set(m, a.parent, &a, NONE);
	reap(m);
	return 0;
}

static int mem_link(rs_fs *fs, const char *from, const char *to)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_LINK, from);
	if (r < 0)
		return r;
	/* Linux resolves the source fully before the destination. */
	struct walk a, b;
	if ((r = resolve(m, from, &a)) < 0)
		return r;
	if (a.target == NONE)
		return -ENOENT;
	if ((r = resolve(m, to, &b)) < 0)
		return r;
	if (b.target != NONE)
		return -EEXIST;
	if (m->in[a.target].is_dir)
		return -EPERM;
	if (!quota_room(m))
		return -ENOSPC;
	dent_set(m, b.parent, &b, a.target);
	return 0;
}

static int mem_unlink(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_UNLINK, path);
	if (r < 0)
		return r;
	struct walk w;
	if ((r = resolve(m, path, &w)) < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (m->in[w.target].is_dir)
		return -EISDIR;
	dent_set(m, w.parent, &w, NONE);
	reap(m);
	return 0;
}

static int mem_mkdir(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_MKDIR, path);
	if (r < 0)
		return r;
	struct walk w;
	if ((r = resolve(m, path, &w)) < 0)
		return r;
	if (w.target != NONE)
		return -EEXIST;
	dent_set(m, w.parent, &w, inode_new(m, true));
	return 0;
}

static int mem_rmdir(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_RMDIR, path);
	if (r < 0)
		return r;
	struct walk w;
	if ((r = resolve(m, path, &w)) < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (!m->in[w.target].is_dir)
		return -ENOTDIR;
	if (w.parent == NONE)
		return -EBUSY;
	if (m->in[w.target].d.nlive != 0)
		return -ENOTEMPTY;
	dent_set(m, w.parent, &w, NONE);
	reap(m);
	return 0;
}

static int mem_fsync_dir(rs_fs *fs, const char *path)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_FSYNC_DIR, path);
	if (r < 0)
		return r;
	struct walk w;
	if ((r = resolve(m, path, &w)) < 0)
		return r;
	if (w.target == NONE)
		return -ENOENT;
	if (!m->in[w.target].is_dir)
		return -ENOTDIR;
	dir_sync(m, w.target);
	reap(m);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int mem_list(rs_fs *fs, const char *dir, rs_fs_list_cb *cb, void *ctx)
{
	struct memfs *m = to_mem(fs);
	int r = enter(m, RS_FS_LIST, dir);
	if (r < 0)
		return r;
	struct walk w;
	if ((r = resolve(m, dir, &w)) < 0)
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

static void mem_sleep(rs_fs *fs, uint64_t ns)
{
	struct memfs *m = to_mem(fs);
	/* Time passes even if the hook "fails" the sleep. */
	(void)enter(m, RS_FS_SLEEP, "");
	m->clock += ns;
}

static uint64_t mem_now_ns(rs_fs *fs)
{
	struct memfs *m = to_mem(fs);
	m->clock += m->step;
	return m->clock;
}

static int mem_pid_alive(rs_fs *fs, uint32_t pid)
{
	struct memfs *m = to_mem(fs);
	m->clock += m->step;
	return m->pid_cb ? m->pid_cb(m->pid_ctx, pid) : 1;
}

static void mem_destroy(rs_fs *fs)
{
	struct memfs *m = to_mem(fs);
	for (uint32_t i = 0; i < m->nin; i++) {
		struct inode *n = &m->in[i];
		if (n->ino == 0)
			continue;
		if (n->is_dir)
			dir_free(m, &n->d, false);
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
	int r = mem_stat(fs, p, &st);
	if (r < 0 || !st.is_dir)
		return r < 0 ? r : mem_unlink(fs, p);
	if (depth >= RS_FS_TREE_DEPTH_MAX)
		return -ELOOP;
	struct rm_ctx sub = {fs, p, depth + 1, 0};
	r = mem_list(fs, p, rm_entry, &sub);
	if (r == 0)
		r = sub.err ? sub.err : mem_rmdir(fs, p);
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

static int mem_remove_tree(rs_fs *fs, const char *path)
{
	return rm_path(fs, path, 0);
}

static const struct rs_fs_ops mem_ops = {
	.open = mem_open,
	.pread = mem_pread,
	.append = mem_append,
	.truncate = mem_truncate,
	.fsync = mem_fsync,
	.fstat = mem_fstat,
	.close = mem_close,
	.stat = mem_stat,
	.rename = mem_rename,
	.link = mem_link,
	.unlink = mem_unlink,
	.mkdir = mem_mkdir,
	.rmdir = mem_rmdir,
	.fsync_dir = mem_fsync_dir,
	.list = mem_list,
	.remove_tree = mem_remove_tree,
	.sleep = mem_sleep,
	.now_ns = mem_now_ns,
	.pid_alive = mem_pid_alive,
	.destroy = mem_destroy,
};

/* ---- crash ----------------------------------------------------------------- */

static void dir_revert(struct dir *d)
{
	while (d->njrn > 0) {
		uint32_t idx = d->jrn[d->njrn - 1];
		struct dent *e = &d->ent[idx];
		jrn_del(d, idx);
		d->nlive -= e->cur != NONE;
		e->cur = e->dur;
		d->nlive += e->cur != NONE;
		if (e->cur == NONE)
			dir_remove(d, idx);
	}
}

static void queue_push(struct memfs *m, uint32_t i)
{
	GROW(m->queue, m->nqueue, m->queue_cap);
	m->queue[m->nqueue++] = i;
}

/* Breadth-first from the root: marks what survives and recounts refs.
 * Directories synced on one side of a rename only can come back under
 * two parents (even in a cycle): keep the one nearest the root. */
static void mark_reachable(struct memfs *m)
{
	for (uint32_t i = 0; i < m->nin; i++) {
		m->in[i].refs = 0;
		m->in[i].mark = false;
	}
	m->in[ROOT].refs = 1;
	m->in[ROOT].mark = true;
	m->nqueue = 0;
	queue_push(m, ROOT);
	for (uint32_t q = 0; q < m->nqueue; q++) {
		struct dir *d = &m->in[m->queue[q]].d;
		for (uint32_t k = d->nent; k-- > 0;) {
			struct inode *c = &m->in[d->ent[k].cur];
			if (c->is_dir && c->mark) {
				d->ent[k].cur = NONE;
				d->nlive--;
				dir_remove(d, k);
				continue;
			}
			c->refs++;
			if (!c->mark && c->is_dir)
				queue_push(m, d->ent[k].cur);
			c->mark = true;
		}
	}
}

void rs_memfs_crash(rs_fs *fs, uint64_t tear_seed)
{
	struct memfs *m = to_mem(fs);
	reap(m);
	fd_drop_all(m);
	for (uint32_t i = 0; i < m->nin; i++)
		if (m->in[i].ino != 0 && m->in[i].is_dir)
			dir_revert(&m->in[i].d);
	mark_reachable(m);
	cm_rng rng;
	cm_rng_seed(&rng, tear_seed);
	for (uint32_t i = 0; i < m->nin; i++) {
		struct inode *n = &m->in[i];
		if (n->ino == 0)
			continue;
		if (!n->mark)
			inode_free(m, i, false);
		else if (!n->is_dir)
			file_revert(m, n, tear_seed ? &rng : NULL);
	}
}

/* ---- setup and helpers ------------------------------------------------------ */

rs_fs *rs_memfs_new(void)
{
	struct memfs *m = cm_xcalloc(1, sizeof(*m));
	m->base.ops = &mem_ops;
	m->in_free = NONE;
	m->fd_free = NONE;
	m->fd_base = FD_FIRST;
	m->next_ino = 1;
	m->clock = DEFAULT_START_NS;
	m->step = DEFAULT_STEP_NS;
	if (inode_new(m, true) != ROOT)
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

/* Makes every entry on the way to path durable (path exists). */
static void commit_path(struct memfs *m, const char *path)
{
	uint32_t dir = ROOT;
	for (const char *p = path + 1; *p != '\0';) {
		size_t n = strcspn(p, "/");
		struct dir *d = &m->in[dir].d;
		uint32_t idx = dir_find(d, p, (uint32_t)n, cm_hash64(p, n));
		if (idx == NONE)
			cm_panic("memfs: committing a missing path");
		dir = d->ent[idx].cur;
		dent_commit(m, d, idx);
		p += n + (p[n] == '/');
	}
}

int rs_memfs_write_file(rs_fs *fs, const char *path, const void *data, size_t len)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = resolve(m, path, &w);
	if (r < 0)
		return r;
	if (len > MAX_FILE)
		return -EFBIG;
	uint32_t t = w.target;
	if (t == NONE) {
		t = inode_new(m, false);
		dent_set(m, w.parent, &w, t);
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
	reap(m);
	return 0;
}

int rs_memfs_read_file(rs_fs *fs, const char *path, cm_buf *out)
{
	struct memfs *m = to_mem(fs);
	struct walk w;
	int r = resolve(m, path, &w);
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


static void check_dir(const struct memfs *m, const struct dir *d, uint32_t *refs)
{
	uint32_t live = 0, used_slots = 0;
	for (uint32_t k = 0; k < d->nent; k++) {
		const struct dent *e = &d->ent[k];
		if (dir_find(d, e->name, e->len, e->hash) != k ||
		    e->hash != cm_hash64(e->name, e->len))
			cm_panic("memfs check: entry %s not found", e->name);
		if (e->cur == NONE && e->jidx == NONE)
			cm_panic("memfs check: dead entry %s kept", e->name);
		if (e->jidx != NONE && (e->jidx >= d->njrn || d->jrn[e->jidx] != k ||
					e->dur == e->cur))
			cm_panic("memfs check: journal of %s", e->name);
		if (e->cur != NONE) {
			live++;
			refs[e->cur]++;
		}
		if (e->jidx != NONE && e->dur != NONE)
			refs[e->dur]++;
	}
	if (d->tab != NULL)
		for (uint32_t i = 0; i <= d->mask; i++)
			used_slots += d->tab[i] != 0;
	if (live != d->nlive || used_slots != d->nent)
		cm_panic("memfs check: directory counts");
	(void)m;
}

void rs_memfs_check(rs_fs *fs, uint64_t *inodes_r, uint64_t *entries_r,
		    uint64_t *journal_r)
{
	struct memfs *m = to_mem(fs);
	uint32_t *refs = cm_xcalloc(m->nin, sizeof(*refs));
	uint64_t inodes = 0, entries = 0, journal = 0, used = 0, nfree = 0;
	refs[ROOT] = 1;
	for (uint32_t k = 0; k < m->nfd; k++)
		if (m->fd[k].inode != NONE)
			refs[m->fd[k].inode]++;
	for (uint32_t i = 0; i < m->nin; i++) {
		const struct inode *n = &m->in[i];
		if (n->ino == 0)
			continue;
		inodes++;
		if (n->is_dir) {
			check_dir(m, &n->d, refs);
			entries += n->d.nent;
			journal += n->d.njrn;
		} else {
			used += n->len;
			if (!n->has_dcopy && n->dlen > n->len)
				cm_panic("memfs check: durable length");
		}
	}
	for (uint32_t i = m->in_free; i != NONE; i = m->in[i].next_free)
		nfree++;
	for (uint32_t i = 0; i < m->nin; i++)
		if (m->in[i].ino != 0 && (m->in[i].refs != refs[i] || refs[i] == 0))
			cm_panic("memfs check: inode slot %u has %u refs, expected %u",
				 i, m->in[i].refs, refs[i]);
	if (used != m->used || inodes + nfree != m->nin || m->ndead != 0)
		cm_panic("memfs check: totals");
	free(refs);
	if (inodes_r)
		*inodes_r = inodes;
	if (entries_r)
		*entries_r = entries;
	if (journal_r)
		*journal_r = journal;
}
