/* Internals of the in-memory rs_fs, shared by fs_mem.c (tables, inodes,
 * entries, paths, the hook, setup), fs_mem_io.c (files, descriptors),
 * fs_mem_namespace.c (calls by path) and fs_mem_crash.c (crash, check).
 * The design is described at the top of fs_mem.c. */
#ifndef FS_MEM_PRIVATE_H
#define FS_MEM_PRIVATE_H

#include "rs_fs.h"

#define NONE UINT32_MAX
#define ROOT 0u
#define NAME_MAX_LEN 255
#define MAX_FILE (1ULL << 30)          /* beyond: -EFBIG */
#define FD_FIRST 3                     /* look like a process's fds */
#define DEFAULT_START_NS (1700000000ULL * 1000000000ULL)
#define DEFAULT_STEP_NS 1000ULL

/* CM_GROW for one more element of a table whose count n is a uint32_t
 * (indexes are stored in 32 bits): a table of a billion entries is an
 * internal error, not a wrap. */
#define MEMFS_GROW(p, n, cap)                                                \
	do {                                                                 \
		if ((n) > UINT32_MAX / 4)                                    \
			cm_panic("memfs: table overflow");                   \
		CM_GROW(p, cap, (size_t)(n) + 1);                            \
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
	uint32_t nent;
	size_t ent_cap;
	uint32_t *tab;    /* linear probing; ent index + 1, 0 = empty */
	uint32_t mask;    /* table size - 1; meaningless while tab == NULL */
	uint32_t nlive;   /* entries with cur != NONE */
	uint32_t *jrn;    /* journalled entries, as ent indices */
	uint32_t njrn;
	size_t jrn_cap;
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

/* Directories memfs_resolve found lately, by path: a message file's call
 * walks only its last component. Valid while dir_gen is (any change to an
 * entry that names a directory, and a crash, moves it on). */
#define DIRCACHE_SLOTS 32u
#define DIRCACHE_PATH_MAX 112u
struct dircache {
	uint64_t gen;      /* 0: empty */
	uint32_t dir, len;
	char path[DIRCACHE_PATH_MAX];
};

struct memfs {
	rs_fs base;
	struct inode *in;
	uint32_t nin, in_free;
	size_t in_cap;
	uint64_t next_ino;
	struct mfd *fd;
	uint32_t nfd, fd_free;
	size_t fd_cap;
	int fd_base;       /* fds below it died in a crash */
	uint32_t *dead;    /* inodes whose refs reached 0, for reap() */
	uint32_t ndead;
	size_t dead_cap;
	uint32_t *queue;   /* crash: breadth-first walk */
	uint32_t nqueue;
	size_t queue_cap;
	rs_memfs_hook *hook;
	void *hook_ctx;
	rs_memfs_pid_cb *pid_cb;
	void *pid_ctx;
	uint64_t clock, step, calls, quota, used;
	struct dircache dircache[DIRCACHE_SLOTS];
	uint64_t dir_gen;  /* starts at 1 */
};

/* A resolved path: the entry name in its parent and what it points at. */
struct walk {
	uint32_t parent;   /* NONE for "/" */
	uint32_t target;   /* NONE if absent */
	const char *name;
	uint32_t len;
	uint64_t hash;
};

extern const struct rs_fs_ops memfs_ops;

static inline struct memfs *to_mem(rs_fs *fs)
{
	if (fs == NULL || fs->ops != &memfs_ops)
		cm_panic("memfs: not an in-memory file system");
	return (struct memfs *)fs;
}

static inline bool quota_allows(const struct memfs *m, uint64_t grow)
{
	return m->quota == 0 || (m->used <= m->quota && grow <= m->quota - m->used);
}

/* Directory growth under quota: fails once the quota is reached. */
static inline bool quota_room(const struct memfs *m)
{
	return m->quota == 0 || m->used < m->quota;
}

/* ---- fs_mem.c ---- */

/* Entry index of name in d, or NONE. */
uint32_t memfs_dir_find(const struct dir *d, const char *name, uint32_t len,
			uint64_t h);
void memfs_jrn_del(struct dir *d, uint32_t idx);
/* Drops an entry that is neither current nor journalled. Moves the last
 * entry into its place: indices held across this call are stale. */
void memfs_dir_remove(struct dir *d, uint32_t idx);
uint32_t memfs_inode_new(struct memfs *m, bool is_dir);
void memfs_inode_ref(struct memfs *m, uint32_t i);
void memfs_inode_unref(struct memfs *m, uint32_t i);
/* unref: release what the directory's journal holds (normal deletion);
 * a crash sweep recomputes every count instead. */
void memfs_dir_free(struct memfs *m, struct dir *d, bool unref);
void memfs_inode_free(struct memfs *m, uint32_t i, bool unref);
/* Frees what lost its last reference during the call. */
void memfs_reap(struct memfs *m);
/* Points w's name in directory dino at target (NONE: removes it). */
void memfs_dent_set(struct memfs *m, uint32_t dino, const struct walk *w,
		    uint32_t target);
/* Makes one entry durable (cur kept). Only for a current entry. */
void memfs_dent_commit(struct memfs *m, struct dir *d, uint32_t idx);
void memfs_dir_sync(struct memfs *m, uint32_t dino);
/* Absolute, '/'-separated; no empty, "." or ".." components. */
int memfs_resolve(struct memfs *m, const char *path, struct walk *w);
/* Every hooked call: count, tick, then the hook (which may crash the fs
 * or run other clients): callers resolve everything after this. */
int memfs_enter(struct memfs *m, rs_fs_call call, const char *path);
/* The start of a call on one path: memfs_enter, then the walk to path.
 * 0 with *w filled, or a negative errno from either. */
static inline int memfs_enter_walk(struct memfs *m, rs_fs_call call, const char *path,
				   struct walk *w)
{
	int r = memfs_enter(m, call, path);
	return r < 0 ? r : memfs_resolve(m, path, w);
}

/* ---- fs_mem_io.c ---- */

/* Power cut: back to the durable content, or with rng a torn tail. */
void memfs_file_revert(struct memfs *m, struct inode *n, cm_rng *rng);
void memfs_fill_stat(const struct inode *n, rs_fs_stat *st);
/* Crash: every descriptor dies and its number is never handed out again. */
void memfs_fd_drop_all(struct memfs *m);
int memfs_open(rs_fs *fs, const char *path, int flags);
ssize_t memfs_pread(rs_fs *fs, int fd, void *buf, size_t len, uint64_t off);
ssize_t memfs_append(rs_fs *fs, int fd, const void *buf, size_t len);
int memfs_truncate(rs_fs *fs, int fd, uint64_t size);
int memfs_fsync(rs_fs *fs, int fd);
int memfs_fstat(rs_fs *fs, int fd, rs_fs_stat *st);
int memfs_close(rs_fs *fs, int fd);

/* ---- fs_mem_namespace.c ---- */

int memfs_stat(rs_fs *fs, const char *path, rs_fs_stat *st);
int memfs_rename(rs_fs *fs, const char *from, const char *to);
int memfs_link(rs_fs *fs, const char *from, const char *to);
int memfs_unlink(rs_fs *fs, const char *path);
int memfs_mkdir(rs_fs *fs, const char *path);
int memfs_rmdir(rs_fs *fs, const char *path);
int memfs_fsync_dir(rs_fs *fs, const char *path);
int memfs_list(rs_fs *fs, const char *dir, rs_fs_list_cb *cb, void *ctx);
int memfs_remove_tree(rs_fs *fs, const char *path);
void memfs_sleep(rs_fs *fs, uint64_t ns);
uint64_t memfs_now_ns(rs_fs *fs);
int memfs_pid_alive(rs_fs *fs, uint32_t pid);
void memfs_destroy(rs_fs *fs);

#endif
