/* rs_fs: the file-system interface every file access of the reference
 * store goes through, with two implementations: POSIX (a real directory,
 * many processes) and an in-memory file system for the simulator and the
 * fuzzers (crash, ENOSPC, rename failure, a yield point before every call). */
#ifndef RS_FS_H
#define RS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm.h"

/* ======================================================================
 * File-system interface. Calls return >= 0 on success, -errno on failure.
 * Files are written by appending only; truncate repairs torn tails.
 * ==================================================================== */

typedef struct rs_fs rs_fs;

typedef struct rs_fs_stat {
	uint64_t size;
	uint64_t ino;
	uint64_t mtime_ns;
	bool is_dir;
	/* The name itself is a symbolic link; the fields above describe its
	 * target, as stat(2) does. Code that walks or removes a tree checks
	 * it and never goes through a link (the in-memory FS has none). */
	bool is_link;
} rs_fs_stat;

enum {
	RS_O_RDONLY = 0,
	RS_O_APPEND = 1 << 0,  /* open for appending */
	RS_O_CREAT = 1 << 1,
	RS_O_EXCL = 1 << 2,
	RS_O_TRUNC = 1 << 3,
};

/* Which call a yield hook is about to see. */
typedef enum rs_fs_call {
	RS_FS_OPEN,
	RS_FS_READ,
	RS_FS_WRITE,
	RS_FS_TRUNCATE,
	RS_FS_FSYNC,
	RS_FS_FSTAT,
	RS_FS_CLOSE,
	RS_FS_STAT,
	RS_FS_RENAME,
	RS_FS_LINK,
	RS_FS_UNLINK,
	RS_FS_MKDIR,
	RS_FS_RMDIR,
	RS_FS_FSYNC_DIR,
	RS_FS_LIST,
	RS_FS_SLEEP,
	RS_FS_CALL_COUNT
} rs_fs_call;

const char *rs_fs_call_name(rs_fs_call call);

/* Called for each entry of a directory ("." and ".." excluded);
 * a nonzero return stops the listing and is returned by list(). */
typedef int rs_fs_list_cb(void *ctx, const char *name);

struct rs_fs_ops {
	int (*open)(rs_fs *fs, const char *path, int flags);
	ssize_t (*pread)(rs_fs *fs, int fd, void *buf, size_t len, uint64_t off);
	/* Appends all of buf at the end of the file, or fails having written
	 * nothing visible beyond what a torn write may leave (POSIX). */
	ssize_t (*append)(rs_fs *fs, int fd, const void *buf, size_t len);
	int (*truncate)(rs_fs *fs, int fd, uint64_t size);
	int (*fsync)(rs_fs *fs, int fd);
	int (*fstat)(rs_fs *fs, int fd, rs_fs_stat *st);
	int (*close)(rs_fs *fs, int fd);
	int (*stat)(rs_fs *fs, const char *path, rs_fs_stat *st);
	int (*rename)(rs_fs *fs, const char *from, const char *to);
	int (*link)(rs_fs *fs, const char *from, const char *to);
	int (*unlink)(rs_fs *fs, const char *path);
	int (*mkdir)(rs_fs *fs, const char *path);
	int (*rmdir)(rs_fs *fs, const char *path);
	/* Makes the directory's entries (creations, renames, unlinks) durable. */
	int (*fsync_dir)(rs_fs *fs, const char *path);
	/* Lists a directory, never through a symbolic link named by dir's
	 * last component (then -ELOOP or -ENOTDIR): a tree walk that checked
	 * an entry with stat cannot be sent elsewhere by a swap meanwhile. */
	int (*list)(rs_fs *fs, const char *dir, rs_fs_list_cb *cb, void *ctx);
	/* Removes path and everything under it; a symbolic link, at any
	 * depth (path itself included), is removed as a name and never
	 * followed, whatever is swapped in meanwhile. -ENOENT if path does not
	 * exist; -ELOOP for a tree deeper than RS_FS_TREE_DEPTH_MAX. */
	int (*remove_tree)(rs_fs *fs, const char *path);
	/* Lock back-off. The in-memory FS advances its virtual clock and calls
	 * the hook, so a simulator switches to another client here. */
	void (*sleep)(rs_fs *fs, uint64_t ns);
	uint64_t (*now_ns)(rs_fs *fs);           /* wall clock: names, lock age */
	int (*pid_alive)(rs_fs *fs, uint32_t pid); /* 1 alive, 0 dead, -1 unknown */
	void (*destroy)(rs_fs *fs);
};

/* A mailbox is two levels deep; a deeper tree is not the store's. */
#define RS_FS_TREE_DEPTH_MAX 16

/* Who owns each of rs_fs.cache. */
typedef enum rs_fs_cache_slot {
	RS_FS_CACHE_VIEWS,    /* reference-store/store/view_cache.c */
	RS_FS_CACHE_DIGESTS,  /* reference-store/session/digest.c */
	RS_FS_CACHE_COUNT
} rs_fs_cache_slot;

struct rs_fs {
	const struct rs_fs_ops *ops;
	/* File names made through this fs: with the pid, it keeps names
	 * unique across every handle of one process (simulated clients
	 * share a pid's handles and a virtual clock). */
	uint64_t names;
	/* Caches the layers above keep for as long as this file system lives
	 * (the store's parsed log views, the session layer's message
	 * digests), one slot each, freed by rs_fs_destroy with their free.
	 * A cache must not outlive its file system: another one could reuse
	 * the names, inodes and times. */
	struct rs_fs_cache {
		void *p;
		void (*free)(void *p);
	} cache[RS_FS_CACHE_COUNT];
};

/* Real directories; any number of processes. */
rs_fs *rs_posixfs_new(void);

/* In-memory file system: no syscalls. Crash semantics as a power cut:
 * file data not fsynced and directory entries not fsync_dir'ed are lost.
 * Paths are '/'-separated; the root "/" exists. */
rs_fs *rs_memfs_new(void);

/* Called before every call (including sleep). Return 0 to proceed or a
 * negative errno to make the call fail with it (fault injection). */
typedef int rs_memfs_hook(void *ctx, rs_fs_call call, const char *path);
void rs_memfs_set_hook(rs_fs *fs, rs_memfs_hook *hook, void *ctx);
/* Drops every unsynced write. With tear_seed != 0, a random prefix of each
 * file's unsynced appended bytes survives (a torn write). Every descriptor
 * opened before the crash becomes invalid (-EBADF). */
void rs_memfs_crash(rs_fs *fs, uint64_t tear_seed);
/* Total bytes of file data allowed (0 = unlimited): beyond it, append,
 * link and rename into a directory fail with -ENOSPC. */
void rs_memfs_set_quota(rs_fs *fs, uint64_t bytes);
uint64_t rs_memfs_used(rs_fs *fs);
typedef int rs_memfs_pid_cb(void *ctx, uint32_t pid);
void rs_memfs_set_pid_alive(rs_fs *fs, rs_memfs_pid_cb *cb, void *ctx);
/* Virtual clock: starts at start_ns, advances step_ns per call and by the
 * requested amount per sleep. */
void rs_memfs_set_clock(rs_fs *fs, uint64_t start_ns, uint64_t step_ns);
/* Count of calls made so far (crash-point enumeration uses it). */
uint64_t rs_memfs_calls(rs_fs *fs);
/* Checks every internal invariant (panics on a violation) and reports live
 * inodes, directory entries (current or journalled) and journal length.
 * For tests; any pointer may be NULL. */
void rs_memfs_check(rs_fs *fs, uint64_t *inodes_r, uint64_t *entries_r,
		    uint64_t *journal_r);
/* Whole-file helpers for tests and fuzzers (bypass the hook). */
int rs_memfs_write_file(rs_fs *fs, const char *path, const void *data, size_t len);
int rs_memfs_read_file(rs_fs *fs, const char *path, cm_buf *out);

void rs_fs_destroy(rs_fs *fs);

#endif
