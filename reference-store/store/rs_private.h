/* Internals shared by the reference store's source files. */
#ifndef RS_PRIVATE_H
#define RS_PRIVATE_H

#include "protocol.h"
#include "rs.h"

#include <errno.h>

#define RS_UIDLIST "ratchet-uidlist"
#define RS_LOCK "ratchet-uidlist.lock"
#define RS_LOG "ratchet-log"
#define RS_LOG_MAGIC "RLOG1"
#define RS_NAME_MAX RS_MSG_NAME_MAX

/* An expunge remembered for QRESYNC: UIDs [lo, hi] vanished at modseq. */
typedef struct rs_tomb {
	uint32_t lo, hi;
	uint64_t modseq;
} rs_tomb;

struct rs_mailbox {
	rs_fs *fs;
	char *path;
	char *p_uidlist, *p_lock, *p_log, *p_tmp, *p_new, *p_cur;
	rs_options opts;
	char host[32];
	uint32_t origin;         /* rs_set_origin: tag of the records committed */

	/* The store state: what the log said up to log_off. */
	uint32_t uidvalidity;
	uint32_t nextuid;        /* max UID seen in the log + 1 */
	uint64_t highestmodseq;
	rs_msg *msgs;
	size_t n, cap;
	rs_tomb *tombs;
	size_t ntombs, tombcap;
	uint32_t floor_uid;      /* missing UIDs below it vanished at floor_modseq */
	/* A MOVE whose source expunge is not committed yet (an M record not
	 * followed by E or X): finished or aborted by the next lock holder. */
	bool move_pending;
	cm_uidset move_uids;
	char *move_dst;          /* destination mailbox path */
	char move_name[RS_NAME_MAX]; /* first copy's name in the destination */
	uint64_t floor_modseq;
	uint64_t generation;

	/* Log position. */
	int log_fd;
	uint64_t log_ino;
	uint64_t log_off;        /* bytes of terminated records consumed */
	uint64_t snap_end;       /* end of the snapshot at the log's start */
	uint32_t indexid, log_seq;

	/* UID list as last read by this writer (under the lock). */
	uint64_t ul_ino, ul_size;
	/* The log and UID list inodes whose directory entries this handle
	 * made durable: a writer that replaced a file and died before its
	 * fsync of the directory leaves a rename a crash may undo, and with
	 * it every record appended to the new file since. */
	uint64_t log_durable_ino, ul_durable_ino;
	uint32_t ul_nextuid;
	uint64_t ul_floor;

	bool locked;
	rs_lockfile lock;        /* ratchet-uidlist.lock (p_lock) */
	rs_stats stats;
	cm_buf rbuf;             /* scratch read buffer */
	cm_buf wbuf;             /* scratch record buffer */
	cm_uidset scratch;       /* scratch set for record parsing */
	uint64_t log_size;       /* file size at the last sync */
	uint64_t log_durable;    /* log_off + a durable unterminated record */
	char err[256];

	/* Ghost state: read only by RS_ASSERT (protocol.h). */
	uint64_t g_log_synced;   /* log bytes this handle's last fsync covered */
	bool g_ul_pending;       /* UID lines appended, not yet committed (S6) */
};

/* errors.c */
rs_err rs_err_from_errno(int neg_errno);
rs_err rs_fail(rs_mailbox *mb, rs_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* crc32.c */

/* mailbox.c */
void rs_make_name(rs_mailbox *mb, char out[RS_NAME_MAX]);
char *rs_join(const char *dir, const char *name);
int rs_read_file(rs_fs *fs, const char *path, cm_buf *out, rs_fs_stat *st_r);
int rs_write_file_synced(rs_fs *fs, const char *path, const void *data, size_t len);
uint32_t rs_my_pid(const rs_mailbox *mb);
/* A handle that only reads: no recovery, no lock (NULL if no such dir). */
rs_mailbox *rs_open_reader(rs_fs *fs, const char *path, const rs_options *opts);

/* lock.c */
rs_err rs_lock(rs_mailbox *mb);
void rs_unlock(rs_mailbox *mb);
/* Removes our leftover lock temp files and breakers' files of dead pids. */
void rs_lock_cleanup(rs_mailbox *mb);

/* uidlist.c */
void rs_uidlist_header(cm_buf *b, uint32_t uidvalidity, uint32_t nextuid,
		       uint64_t floor);
/* Under the lock: refresh ul_* (incremental when only appended), cutting a
 * torn last line. */
rs_err rs_uidlist_refresh(rs_mailbox *mb);
/* Appends "uid name" lines (already formatted) and fsyncs. */
rs_err rs_uidlist_append(rs_mailbox *mb, const cm_buf *lines);
/* Rewrites the list by temp+rename: header + one line per message in the
 * store state (compaction), with the given modseq base floor. */
rs_err rs_uidlist_rewrite(rs_mailbox *mb, uint64_t floor);
const struct rs_uidlist_entry *rs_uidlist_find(const rs_uidlist *ul,
					       const char *name);

/* txlog.c */
/* Formats and appends one record, fsyncs, terminates, applies it to the
 * store state. *modseq_r gets the record's modseq. Under the lock only. */
rs_err rs_log_commit(rs_mailbox *mb, char type, const cm_buf *body,
		     uint64_t *modseq_r);
/* Writes a fresh log (header + snapshot of the store state or of msgs) by
 * temp+rename and reopens it. */
rs_err rs_log_write_new(rs_mailbox *mb, uint32_t indexid, uint32_t log_seq,
			bool reassign_modseqs);
rs_err rs_log_maybe_rotate(rs_mailbox *mb);
void rs_format_flags(cm_buf *b, cm_flags flags);
int rs_parse_flags(const char **p, const char *end, cm_flags *flags_r);

/* store state.c */
void rs_state_reset(rs_mailbox *mb);
rs_err rs_state_sync(rs_mailbox *mb);
/* Applies one record (used by the log reader and by the writer). */
int rs_state_apply(rs_mailbox *mb, const rs_log_record *rec, uint64_t base);
rs_msg *rs_state_find(rs_mailbox *mb, uint32_t uid);
void rs_state_insert(rs_mailbox *mb, uint32_t uid, const char *name,
		    cm_flags flags, uint64_t modseq);

/* view_cache.c: parsed log views shared by the handles on one fs. */
/* mb was just reset (log_off 0) and data[0..len) is the whole log it
 * read: restores the view parsed from the longest remembered prefix of
 * data from this path and log inode. Returns that prefix's length (the
 * offset to parse on from), or 0 when there is none. */
uint64_t rs_view_restore(rs_mailbox *mb, const char *data, size_t len);
/* Remembers mb's state as the view parsed from data[0..log_off), which
 * held `anomalies` UID anomalies; restored is what rs_view_restore gave
 * (the view is kept as is when nothing was parsed since). */
void rs_view_remember(rs_mailbox *mb, const char *data, uint64_t restored,
		      uint64_t anomalies);

/* recover.c */
/* Lock + sync + repair of torn tails; the start of every write. */
rs_err rs_write_begin(rs_mailbox *mb);
/* The next UID a writer may assign (under the lock). */
uint32_t rs_free_uid(const rs_mailbox *mb);
/* append.c: a delivery's file in tmp/ (written and fsynced; 0 or -errno),
 * and its steps under the lock: rename into new/, UID-list line, A record.
 * RS_OK, or an error with the delivery rolled back (RS_EUNKNOWN: maybe
 * not). */
int rs_write_tmp(rs_mailbox *mb, const char *path, const void *data, size_t len);
rs_err rs_deliver_locked(rs_mailbox *mb, const char *name, const char *tmp_path,
			 const char *new_path, uint32_t uid, cm_flags flags,
			 uint64_t *modseq_r);
/* The i-th UID of an add whose first is first: i steps of uid_step. */
uint32_t rs_uid_nth(const rs_mailbox *mb, uint32_t first, size_t i);
/* RS_OK if n UIDs from rs_free_uid are free (S1), else RS_EFAIL: a log
 * that names UID 4294967295 leaves none, and the next would wrap. */
rs_err rs_uids_left(rs_mailbox *mb, size_t n);
void rs_write_end(rs_mailbox *mb);
rs_err rs_recover_open(rs_mailbox *mb);
rs_err rs_scan_new_locked(rs_mailbox *mb);
rs_err rs_drop_orphans_locked(rs_mailbox *mb);
rs_err rs_rebuild(rs_mailbox *mb, const char *why);

/* read.c */
/* Locates a message file: new/ then cur/. 0 and the path, or -ENOENT. */
int rs_msg_path(rs_mailbox *mb, const char *name, cm_buf *path_r);
int rs_unlink_msg(rs_mailbox *mb, const char *name);

/* copy.c: finish or abort a MOVE left half done by a dead writer. */
rs_err rs_move_resolve(rs_mailbox *mb);

/* expunge.c: under the lock; commits an E record for uids, unlinks. */
rs_err rs_expunge_locked(rs_mailbox *mb, const cm_uidset *uids,
			 uint64_t *modseq_r);

static inline bool rs_mutant_on(const rs_mailbox *mb, rs_mutant m)
{
	return (mb->opts.mutants & (unsigned)m) != 0;
}

/* S1: may uid be assigned now? Under the lock, at or above both next
 * UIDs, and above every UID in the store state (a counter that wrapped is not). */
static inline bool rs_uid_free(const rs_mailbox *mb, uint32_t uid)
{
	return mb->locked && uid != 0 && uid >= mb->nextuid &&
	       uid >= mb->ul_nextuid && rs_msg_lower(mb, uid) == mb->n;
}

#endif
