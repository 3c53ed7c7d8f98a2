/* rs: the reference mail store of docs/design.md, as a library.
 *
 * Layout of one mailbox directory:
 *   tmp/ new/ cur/          Maildir; messages are written to tmp/, made
 *                           visible by rename into new/ under the lock, and
 *                           moved to cur/ by the session that claims \Recent.
 *   ratchet-uidlist         "V1 <uidvalidity> <nextuid> <modseq-base-floor>"
 *                           then one "<uid> <filename>" line per message.
 *                           Appended under the lock, rewritten by temp+rename.
 *   ratchet-uidlist.lock    O_EXCL lock: "<pid> <host> <nonce>".
 *   ratchet-log             append-only transaction log: the commit point of
 *                           every change. A record's modseq is
 *                           ((indexid + log_seq) << 32) | offset
 *                           (docs/design.md#modseq).
 *
 * Readers never lock: they read terminated log records only, and a record
 * is terminated only after its body is fsynced, so nothing a reader saw can
 * vanish in a crash. Writers hold the lock, refresh from the log, decide,
 * append one record (one modseq per command), fsync, terminate, unlock.
 * protocol.h numbers these rules (S1-S12), names the function of every
 * step and holds RS_ASSERT, which checks them where the code keeps them.
 *
 * Every file access goes through rs_fs, so the same code runs on a real
 * directory (many processes) and on the in-memory file system used by the
 * simulator and the fuzzers (crash, ENOSPC, rename failure, yield points).
 */
#ifndef RS_H
#define RS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm.h"
#include "rs_fs.h"

/* ======================================================================
 * Errors
 * ==================================================================== */

typedef enum rs_err {
	RS_OK = 0,
	RS_ENOENT,    /* no such mailbox / message */
	RS_EEXIST,    /* mailbox exists */
	RS_ENOSPC,    /* quota or disk full; nothing was changed */
	RS_EFAIL,     /* a file-system call failed; nothing was changed */
	RS_ELOCKED,   /* lock not obtained in time; nothing was changed */
	RS_ECORRUPT,  /* a file could not be parsed or repaired */
	RS_EINVAL,    /* bad argument */
	RS_EEXPUNGED, /* COPY/MOVE source message no longer exists */
	RS_EUNKNOWN,  /* failed after the commit point began: the change may or
		       * may not have happened (treat as a lost reply) */
} rs_err;

const char *rs_strerror(rs_err err);

/* ======================================================================
 * Mutants: the naive designs docs/design.md rejects. Default off.
 * ==================================================================== */

typedef enum rs_mutant {
	RS_MUTANT_MOVE_RENAME = 1 << 0,          /* MOVE by rename() (#copy-move) */
	RS_MUTANT_DELIVER_NOLOCK = 1 << 1,       /* UID chosen without the lock (#delivery) */
	RS_MUTANT_UNCHANGEDSINCE_STALE = 1 << 2, /* checked before the lock (#modseq) */
	RS_MUTANT_MODSEQ_RESET = 1 << 3,         /* rebuild restarts at 1 (#modseq) */
	RS_MUTANT_FLAGS_LAST_WRITER = 1 << 4,    /* final states, not +/- (#flags) */
	RS_MUTANT_COPY_VISIBLE_EARLY = 1 << 5,   /* rename before UIDs (#copy-move) */
	RS_MUTANT_DELIVER_UNSYNCED = 1 << 6,     /* no fsync of new/ (#delivery) */
	/* The subtle ones: each is wrong only in a window of one or two
	 * file-system calls, so only a specific interleaving shows it. */
	RS_MUTANT_FLAGS_READ_UNLOCKED = 1 << 7,  /* final states read just before the lock (#flags) */
	RS_MUTANT_COPY_LINK_ONCE = 1 << 8,       /* no second link() after a \Recent claim (#copy-move) */
	RS_MUTANT_DELIVER_RENAME_LATE = 1 << 9,  /* committed, then renamed into new/ (#delivery) */
	RS_MUTANT_EXPUNGE_UNLINK_FIRST = 1 << 10, /* files unlinked before the E record (#copy-move) */
	/* Wrong only when the store crashes in a window of one call. */
	RS_MUTANT_DELIVER_SYNC_LATE = 1 << 11,   /* new/ fsynced after the commit (#delivery) */
	/* The replication agent's naive designs (docs/replication.md). */
	RS_MUTANT_REPL_FINAL_FLAGS = 1 << 12,    /* flags sent as final states (#flags) */
	RS_MUTANT_REPL_NO_STEP = 1 << 13,        /* replicas share one UID sequence (#replication) */
	RS_MUTANT_REPL_REBIND = 1 << 14,         /* a conflict keeps its UID below UIDNEXT (#replication) */
	RS_MUTANT_REPL_RESURRECT = 1 << 15,      /* a union merge brings expunged mail back (#replication) */
	RS_MUTANT_REPL_MIXED_RECORDS = 1 << 16,  /* additions as changes, removals as final states (#flags) */
} rs_mutant;
#define RS_MUTANTS_REPL (RS_MUTANT_REPL_FINAL_FLAGS | RS_MUTANT_REPL_NO_STEP | \
			 RS_MUTANT_REPL_REBIND | RS_MUTANT_REPL_RESURRECT | \
			 RS_MUTANT_REPL_MIXED_RECORDS)

/* "move-rename" etc.; 0 if unknown. */
unsigned rs_mutant_parse(const char *name);
const char *rs_mutant_name(unsigned mutant_bit);
/* NULL-terminated list of every mutant name. */
const char *const *rs_mutant_names(void);

/* ======================================================================
 * Mailboxes
 * ==================================================================== */

typedef struct rs_mailbox rs_mailbox;

typedef struct rs_options {
	uint32_t pid;            /* this process/client; 0 = getpid() */
	const char *host;        /* lock owner host; NULL = "localhost" */
	unsigned mutants;        /* rs_mutant bits */
	uint64_t lock_timeout_ns; /* 0 = 30 s */
	uint64_t lock_stale_ns;  /* foreign-host lock age takeover; 0 = 300 s */
	uint32_t log_rotate_bytes; /* 0 = 1 MiB */
	bool repair;             /* rebuild a corrupt UID list instead of failing */
	/* Replication (docs/replication.md): UIDs this handle assigns are
	 * those u with (u - 1) % uid_step == uid_phase, so that replicas
	 * never assign the same one (0 or 1: every UID). */
	uint32_t uid_step, uid_phase;
	/* What this handle adopts for others (files a dead or foreign writer
	 * left in new/) takes UIDs in adopt_phase when adopt_phase_set: the
	 * sync agent's handles assign fix-ups in a phase of their own, whose
	 * UIDs both replicas must agree on, and an adoption on one replica
	 * must not take a UID a fix-up reserved there. */
	uint32_t adopt_phase;
	bool adopt_phase_set;
} rs_options;

/* The size of rs_msg.name. */
#define RS_MSG_NAME_MAX 64

typedef struct rs_msg {
	uint32_t uid;
	cm_flags flags;
	uint64_t modseq;
	char name[RS_MSG_NAME_MAX]; /* Maildir base filename */
} rs_msg;

typedef struct rs_status {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t recent;         /* committed messages still in new/ */
	uint32_t unseen;
} rs_status;

/* Creates the mailbox directory (parent must exist). uidvalidity 0 picks
 * one from the clock. */
rs_err rs_create(rs_fs *fs, const char *path, uint32_t uidvalidity);
/* Removes a mailbox and all its files (caller ensures nobody uses it),
 * by remove_tree: a symbolic link, inside or at path, is removed as a name,
 * its target untouched. */
rs_err rs_delete(rs_fs *fs, const char *path);

/* Opens and recovers: stale lock, leftovers in tmp/, torn log tail, a UID
 * list and log that disagree, a lost or corrupt log (rebuilt with a higher
 * indexid). *err_msg_r (may be NULL) gets a one-line explanation. */
rs_err rs_open(rs_fs *fs, const char *path, const rs_options *opts,
	       rs_mailbox **mb_r, char **err_msg_r);
void rs_close(rs_mailbox *mb);
const char *rs_path(const rs_mailbox *mb);
const char *rs_last_error(const rs_mailbox *mb);

/* Takes the lock once and releases it: finishes or undoes whatever dead
 * writers left behind (a torn or unterminated commit, a MOVE intent, files
 * in new/), as any writer would first. */
rs_err rs_recover(rs_mailbox *mb);

/* Refreshes the store state from the log (lock-free). scan_new also adopts files
 * found in new/ without a UID (a crashed delivery, a plain Maildir MDA). */
rs_err rs_sync(rs_mailbox *mb, bool scan_new);

/* The store state as of the last sync. Messages are sorted by UID. */
size_t rs_count(const rs_mailbox *mb);
const rs_msg *rs_msg_at(const rs_mailbox *mb, size_t idx);
const rs_msg *rs_msg_find(const rs_mailbox *mb, uint32_t uid);
/* Index of the first message with uid >= the given one. */
size_t rs_msg_lower(const rs_mailbox *mb, uint32_t uid);
uint32_t rs_uidvalidity(const rs_mailbox *mb);
uint32_t rs_uidnext(const rs_mailbox *mb);
uint64_t rs_highestmodseq(const rs_mailbox *mb);
/* Bumped whenever the store state changes; cheap change detection for sessions. */
uint64_t rs_state_generation(const rs_mailbox *mb);
rs_err rs_status_get(rs_mailbox *mb, rs_status *st_r);

/* ---- the lock file -------------------------------------------------
 * The one lock file of the project: "<pid> <host> <nonce>", taken by
 * link()ing a private file that already holds that content (a lock never
 * exists empty), broken when stale (its pid dead on this host, or older
 * than stale_ns elsewhere) by exactly one breaker per instance. The mailbox
 * lock (rs_lock) and the mailbox namespace's CREATE lock use it. */
typedef struct rs_lockfile {
	rs_fs *fs;
	const char *path;        /* the lock file (not owned) */
	uint32_t pid;            /* the owner written into it */
	const char *host;        /* the owner's host (not owned) */
	uint64_t timeout_ns;     /* give up waiting after this long */
	uint64_t stale_ns;       /* a foreign host's lock older than this is stale */
	uint64_t counter;        /* instances taken, for unique nonces */
	uint64_t waits, breaks;  /* statistics */
	bool held;
} rs_lockfile;

/* Takes the lock, waiting (fs->sleep, backing off) and breaking stale
 * holders. Returns 0; or -ETIMEDOUT when it stayed held longer than
 * timeout_ns; or the -errno of a failed file-system call. On failure
 * *what_r says which step failed ("cannot write lock file", ...). */
int rs_lockfile_take(rs_lockfile *lk, const char **what_r);
/* Releases a lock taken by rs_lockfile_take. */
void rs_lockfile_release(rs_lockfile *lk);

/* ---- operations (each takes the lock unless said otherwise) ---------- */

/* Delivery (docs/design.md#delivery): tmp/, lock, UID, rename into new/,
 * UID-list line, log, unlock. */
rs_err rs_append(rs_mailbox *mb, const void *data, size_t len, cm_flags flags,
		 uint32_t *uid_r, uint64_t *modseq_r);

typedef enum rs_store_mode {
	RS_STORE_REPLACE,  /* FLAGS */
	RS_STORE_ADD,      /* +FLAGS */
	RS_STORE_REMOVE,   /* -FLAGS */
} rs_store_mode;

typedef struct rs_store_result {
	uint64_t modseq;     /* of the record written; 0 if nothing changed */
	cm_uidset changed;   /* UIDs whose flags changed */
	cm_uidset modified;  /* UNCHANGEDSINCE failures (RFC 7162 MODIFIED) */
} rs_store_result;

/* unchangedsince < 0: no condition. Messages named but absent are ignored.
 * A message whose flags would not change is left alone: no modseq bump,
 * not in changed (RFC 7162 section 3.1.3 allows both; we take the quiet
 * one: a STORE that changes nothing bumps no modseq, docs/design.md#flags). */
rs_err rs_store(rs_mailbox *mb, const cm_uidset *uids, rs_store_mode mode,
		cm_flags flags, int64_t unchangedsince, rs_store_result *res);
/* +add and -rm in one change (one record, one modseq: nothing can come
 * between the two halves), on the messages of uids whose flags it
 * changes; add and rm disjoint. The sync agent's way to apply another
 * replica's change. RS_OK (res filled) or the failure. */
rs_err rs_store_delta(rs_mailbox *mb, const cm_uidset *uids, cm_flags add, cm_flags rm,
		      rs_store_result *res);
void rs_store_result_free(rs_store_result *res);

/* uids NULL: every \Deleted message (EXPUNGE); else UID EXPUNGE.
 * Only \Deleted messages are expunged. */
rs_err rs_expunge(rs_mailbox *mb, const cm_uidset *uids, cm_uidset *expunged_r,
		  uint64_t *modseq_r);

typedef struct rs_copy_result {
	cm_uidset src;   /* copied source UIDs, ascending */
	cm_uidset dst;   /* their new UIDs, pairing by position */
	uint32_t dst_uidvalidity;
	uint64_t expunge_modseq; /* MOVE: source expunge record */
} rs_copy_result;

/* COPY (docs/design.md#copy-move): link into dst tmp/, lock, UIDs, rename,
 * commit, unlock. Fails
 * with RS_EEXPUNGED (nothing copied) if a named existing-in-store state message
 * vanished meanwhile; absent UIDs are ignored. */
rs_err rs_copy(rs_mailbox *src, rs_mailbox *dst, const cm_uidset *uids,
	       rs_copy_result *res);
/* MOVE: copy + expunge of the source under both locks. */
rs_err rs_move(rs_mailbox *src, rs_mailbox *dst, const cm_uidset *uids,
	       rs_copy_result *res);
void rs_copy_result_free(rs_copy_result *res);

/* Reads a message body lock-free: RS_OK; RS_ENOENT if expunged meanwhile;
 * RS_ECORRUPT if the log lists it but its file is missing; RS_EFAIL on
 * another read error. */
rs_err rs_fetch_body(rs_mailbox *mb, uint32_t uid, cm_buf *out,
		     uint64_t *internaldate_ns_r);
/* Finds a message's file lock-free as rs_fetch_body does, with one stat
 * (or two: new/, then cur/) instead of reading it: its file name into
 * name_r and what stat says into st_r. A file's bytes never change once it
 * has a UID, so (name, ino, size, mtime) identify its content for a cache.
 * *in_cur: true if the caller saw the file in cur/ before (then only cur/
 * is tried first: files never go back to new/); set to where it was found.
 * Returns as rs_fetch_body. */
rs_err rs_fetch_stat(rs_mailbox *mb, uint32_t uid, char name_r[RS_MSG_NAME_MAX],
		     rs_fs_stat *st_r, bool *in_cur);

/* CONDSTORE/QRESYNC: UIDs in the store state with modseq > since, and UIDs
 * expunged with modseq > since. UIDs that vanished before the oldest
 * expunge the store remembers are reported too (over-reporting is legal). */
rs_err rs_changes_since(rs_mailbox *mb, uint64_t since, cm_uidset *changed_r,
			cm_uidset *vanished_r);

/* Claims \Recent for a message still in new/ by moving it to cur/: true for
 * exactly one claimer. Lock-free (rename is the arbiter). */
bool rs_claim_recent(rs_mailbox *mb, uint32_t uid);

/* ---- replication (the sync agent's primitives; docs/replication.md) ----
 * Records a handle commits after rs_set_origin(mb, r) end with " @r": they
 * apply changes that came from replica r, so the agent never ships them
 * back there (0: the handle's own changes, untagged). */
void rs_set_origin(rs_mailbox *mb, uint32_t origin);
/* Adds a message under the name (its GUID across replicas) and UID it has
 * on the replica it came from: tmp/, lock, rename into new/, UID-list
 * line, A record, as a delivery. RS_OK (also when a message of that name
 * is there already: nothing done); RS_EEXIST when uid is below the
 * next free UID (taken, or it would appear out of order: the caller fixes
 * it up); otherwise as rs_append. */
rs_err rs_repl_add(rs_mailbox *mb, const void *data, size_t len, const char *name,
		   cm_flags flags, uint32_t uid);
/* The fix-up of a UID the peer cannot take: under one lock, the message
 * at uid is copied to a new file (new_name) at new_uid with the flags it
 * has then (*flags_r), then uid is expunged; no reader sees neither.
 * RS_OK; RS_EEXPUNGED if uid is gone; RS_EEXIST if new_uid is below the
 * next free UID; RS_EUNKNOWN after a failure past the first commit (both
 * may exist: a duplicate). */
rs_err rs_repl_renumber(rs_mailbox *mb, uint32_t uid, uint32_t new_uid,
			const char *new_name, cm_flags *flags_r);
/* Expunges the UIDs that exist, whatever their flags (an expunge another
 * replica made). RS_OK or as rs_expunge. */
rs_err rs_repl_expunge(rs_mailbox *mb, const cm_uidset *uids);
/* The mailbox's log file, for a reader of its records (rs_log_scan). */
const char *rs_log_path(const rs_mailbox *mb);
/* The UID the next own add would take (a hint: taken under the lock). */
uint32_t rs_uid_hint(const rs_mailbox *mb);
/* The origin tag of a record body: the replica its change came from (0:
 * none); *len_r gets the body's length without the tag. */
uint32_t rs_record_origin(const char *body, size_t len, size_t *len_r);

/* Forces a log rotation (tests; normally by size). */
rs_err rs_rotate_log(rs_mailbox *mb);

/* Counters since open, for benchmarks and tests. */
typedef struct rs_stats {
	uint64_t records_read;
	uint64_t records_written;
	uint64_t lock_waits;
	uint64_t lock_breaks;
	uint64_t rotations;
	uint64_t rebuilds;
	uint64_t adopted;         /* files adopted from new/ */
	uint64_t repairs;         /* torn tails cut, uidlist fixes */
	uint64_t uidlist_anomalies; /* out-of-order or duplicate UID lines */
} rs_stats;
const rs_stats *rs_get_stats(const rs_mailbox *mb);

/* ======================================================================
 * Parsers exposed for fuzzing and tools. They never crash on any input.
 * ==================================================================== */

typedef struct rs_uidlist {
	uint32_t version, uidvalidity, nextuid;
	uint64_t base_floor;
	struct rs_uidlist_entry {
		uint32_t uid;
		char name[64];
	} *e;
	size_t n, cap;
	size_t valid_len;     /* bytes up to the last complete line */
	uint32_t anomalies;   /* out-of-order / duplicate lines repaired */
} rs_uidlist;

/* RS_OK, or RS_ECORRUPT with *err_r set to a static message. */
rs_err rs_uidlist_parse(const char *data, size_t len, rs_uidlist *out,
			const char **err_r);
/* The same checks and the same header, nextuid, valid_len and anomalies,
 * without the entries (out->n is 0): for readers that only need those.
 * RS_OK, or RS_ECORRUPT with *err_r set to a static message. */
rs_err rs_uidlist_scan(const char *data, size_t len, rs_uidlist *out,
		       const char **err_r);
void rs_uidlist_free(rs_uidlist *ul);

/* CRC-32 (IEEE) of a log record's text before " crc8hex" (readers and
 * tools that write logs by hand, such as the fuzzers, use the same). */
uint32_t rs_crc32(const void *p, size_t n);

/* Walks a log image, calling cb for each terminated, checksummed record.
 * *valid_len_r: bytes of good records; *durable_len_r: the same plus an
 * unterminated last record whose checksum is good (fsynced, not yet
 * terminated). RS_ECORRUPT for a bad record followed by more data. */
typedef struct rs_log_record {
	char type;            /* 'A', 'F', 'E', 'S' (snapshot), 'T' (tombstone) */
	uint64_t offset;
	const char *body;     /* after the type letter and a space */
	size_t body_len;
} rs_log_record;
typedef int rs_log_cb(void *ctx, const rs_log_record *rec);
rs_err rs_log_scan(const char *data, size_t len, uint32_t *indexid_r,
		   uint32_t *log_seq_r, uint32_t *uidvalidity_r,
		   rs_log_cb *cb, void *ctx, uint64_t *valid_len_r,
		   uint64_t *durable_len_r, const char **err_r);
uint64_t rs_modseq_make(uint32_t indexid, uint32_t log_seq, uint64_t offset);

#endif
