/* The store's protocol, written down where the code is.
 *
 * The designs are those of docs/design.md (#delivery, #flags, #modseq,
 * #copy-move); this file says which function does each step, and which
 * invariant each step keeps. An RS_ASSERT names its invariant ("S2 ...")
 * and stands where the code enforces it.
 *
 * ======================================================================
 * Invariants
 * ======================================================================
 *
 * S1  A UID is never given twice in one UIDVALIDITY. It is assigned only
 *     under the lock, at or above both the log's next UID (mb->nextuid:
 *     above every UID the log ever named, expunged ones included, through
 *     T and V records after a rotation) and the UID list's
 *     (mb->ul_nextuid): state.c:rs_free_uid. A UID line written to the list
 *     is spent even if its commit never comes. When none is left (the
 *     log names UID 4294967295) a writer fails (state.c:rs_uids_left)
 *     rather than wrap. [#delivery step 4]
 *     The deliver-nolock mutant breaks it (its UID is read before the
 *     lock); the assertion in deliver_locked is skipped for it.
 *
 * S2  A log record is terminated (its "\n" written) only after its body
 *     is fsynced. The terminator is the commit point of every change:
 *     txlog.c:rs_log_commit. [#common "The commit"]
 *     Known gap: recover.c:repair_log_tail terminates a dead writer's
 *     checksummed tail, whose fsync that writer may not have reached, and
 *     fsyncs after the "\n"; a reader may apply the record in between.
 *     Closing it (fsync first) changes the simulator's schedule, so it is
 *     left to a behaviour-changing change. copy.c:dst_has_copy fsyncs such
 *     a tail before it counts it.
 *
 * S3  Readers never lock and never see an unterminated record. A handle's
 *     store state is exactly the log's terminated, checksummed records before
 *     mb->log_off, which always ends a record: txlog.c:rs_state_sync and
 *     scan_records. With S2, nothing a reader saw can vanish in a crash.
 *
 * S4  A writer holds the lock and a store state of the whole log before its first
 *     change: recover.c:rs_write_begin takes the lock, reads the log to
 *     its end, repairs a torn tail (S2), resolves a MOVE intent (S9),
 *     refreshes the UID list and makes the names of the log and the list
 *     durable. Records are appended only at the end of what the store state
 *     consumed (rs_log_commit panics otherwise), one per command: one
 *     modseq per command.
 *
 * S5  A message file's name is durable in new/ before the log names it:
 *     delivery fsyncs new/ after the rename and before its UID line
 *     (append.c:deliver_locked), COPY before its commit
 *     (copy.c:batch_rename_new), adoption before its UID lines
 *     (recover.c:adopt). deliver-unsynced skips the fsync of delivery;
 *     copy-visible-early makes a MOVE commit copies still in tmp/;
 *     deliver-rename-late renames into new/ only after the commit
 *     (append.c:rename_after_commit). The assertions are skipped for
 *     them.
 *
 * S6  UID lines come before the commit. After a crash a file in new/ that
 *     the UID list names but the log does not belongs to a writer that died
 *     before its commit and is rolled back; one the list does not name is
 *     a foreign delivery and is adopted under a new UID
 *     (recover.c:rs_scan_new_locked). So a writer appends its UID lines
 *     before its commit, COPY before its renames (a COPY never appears in
 *     part), and the list is never rewritten (uidlist.c:rs_uidlist_rewrite:
 *     rotation, rebuild, repair) while the handle rewriting it has UID
 *     lines not yet committed: they would be rolled back under it.
 *     copy-visible-early renames a COPY's files into new/ before its UID
 *     lines; the assertion in batch_rename_new is skipped for it.
 *
 * S7  An expunge commits first, then unlinks the files, then makes the
 *     unlinks durable (fsync of new/ and cur/) before the UID list may drop
 *     their lines: expunge.c:rs_expunge_locked, uidlist.c:rs_uidlist_rewrite.
 *     A listed file in cur/ below the store state's next UID that the store state does
 *     not have is an expunged file a crash brought back: it is removed,
 *     never adopted (recover.c:rs_drop_orphans_locked).
 *     expunge-unlink-first unlinks before the commit; the assertion
 *     (nothing expunged is in the store state after the E record) still
 *     holds, and lock-free readers see the window (STORE-LOCK-FREE-READ).
 *
 * S8  Modseqs never go back within a UIDVALIDITY. A record's modseq is
 *     ((indexid + log_seq) << 32) | offset (txlog.c:rs_modseq_make):
 *     offsets grow within a log and stay below 2^32 (rotation by 3 GiB,
 *     rs_log_commit refuses beyond); rotation raises log_seq by one
 *     (txlog.c:rs_rotate_log); a rebuild takes a base above the clock, the
 *     UID list's base floor and the old base (recover.c:rs_rebuild); the
 *     floor is raised to a new base before a log with that base is
 *     installed (txlog.c:rs_log_write_new), so a rebuild after losing that
 *     log still starts above it. [#modseq] The modseq-reset mutant
 *     rebuilds at base 1; the assertion in rs_rebuild is skipped for it.
 *
 * S9  A MOVE's intent is resolved by the next lock holder. The source's M
 *     record (copy.c:move_intent) precedes the destination's commit; the
 *     source's E record ends it, or an X record if the MOVE did not happen
 *     (copy.c:move_abort). A writer that finds an open intent in
 *     rs_write_begin resolves it before any change of its own
 *     (copy.c:rs_move_resolve): if the destination committed the first
 *     copy (copy.c:dst_has_copy) the sources still there are expunged,
 *     else X. No intent is open after rs_write_begin. The messages end in
 *     one mailbox, never in both, never in neither. [#copy-move]
 *     move-rename writes no intent and never reaches these assertions.
 *
 * S10 Flags change as +/- sets, judged under the lock on the store state read
 *     after locking (UNCHANGEDSINCE included): flags_store.c:rs_store.
 *     One F record per STORE (commit_delta); a STORE that changes nothing
 *     writes nothing. [#flags, #modseq step 7] The mutants
 *     unchangedsince-stale and flags-last-writer judge or write from the
 *     store state held before the lock, flags-read-unlocked from one read
 *     lock-free just before it; they pass the same enforcement points
 *     (the lock is held) and write wrong values, which the checker
 *     catches.
 *
 * S11 A rebuild keeps UIDs only with the UID list. With it, the UIDVALIDITY
 *     and every listed file's UID stay; unlisted files get UIDs above all.
 *     Without it (only with rs_options.repair) the mailbox gets a new
 *     UIDVALIDITY above the old one and above every delivery second:
 *     recover.c:rs_rebuild. [#replication]
 *
 * S12 At most one writer holds a mailbox's lock. It is taken by link() of
 *     a complete owner file (never empty, never fsynced: after a crash its
 *     pid is dead); a stale instance is broken only by the one breaker
 *     that first links its break marker (lock.c:rs_lock, check_holder,
 *     claim_break, break_lock). Two mailboxes are locked in path order
 *     (copy.c:lock_pair).
 *
 * ======================================================================
 * Transitions
 * ======================================================================
 *
 * "begin" is recover.c:rs_write_begin: lock.c:rs_lock, txlog.c:rs_state_sync,
 * recover.c:rs_rebuild (log lost or corrupt), recover.c:repair_log_tail,
 * copy.c:rs_move_resolve, uidlist.c:rs_uidlist_refresh (cut_torn_tail; a
 * corrupt list regenerated by rs_uidlist_rewrite), recover.c:
 * make_names_durable, txlog.c:rs_log_maybe_rotate. "end" is
 * recover.c:rs_write_end -> lock.c:rs_unlock. "commit" is
 * txlog.c:rs_log_commit: append the body, fsync, append "\n" (the commit
 * point), apply it to the writer's own store state (state.c:rs_state_apply).
 *
 * Delivery, APPEND (append.c:rs_append)           [#delivery]
 *   1 unique name                   mailbox.c:rs_make_name
 *   2 write tmp/<name>, fsync file  append.c:write_tmp      (tmp/ not synced)
 *   3 lock, catch up                begin                           S4 S9
 *   4 UID                           state.c:rs_free_uid                 S1
 *   5 rename into new/, fsync new/  append.c:deliver_locked            S5
 *   6 UID-list line, fsync          uidlist.c:rs_uidlist_append     S1 S6
 *   7 A record body, fsync          txlog.c:rs_log_commit
 *   8 terminate: committed          txlog.c:rs_log_commit           S2 S3
 *   9 unlock                        end
 *   failure before 8: append.c:rollback_new (unlink from new/, fsync new/);
 *   a failed fsync or terminator in 7-8: RS_EUNKNOWN.
 *
 * STORE (flags_store.c:rs_store)                  [#flags, #modseq]
 *   1 (mutants only) stale copy     flags_store.c:stale_capture
 *   2 lock, catch up                begin                              S4
 *   3 UNCHANGEDSINCE, changed UIDs  flags_store.c:rs_store            S10
 *   4 one F record +(..) -(..)      flags_store.c:commit_delta, commit S10
 *     (flags-last-writer: one =(..) per message, commit_final_states)
 *   5 unlock                        end
 *
 * EXPUNGE, UID EXPUNGE (expunge.c:rs_expunge)
 *   1 lock, catch up                begin                              S4
 *   2 \Deleted messages named       expunge.c:rs_expunge
 *   3 E record: committed           expunge.c:rs_expunge_locked, commit S7
 *   4 unlink from new/ and cur/     read.c:rs_unlink_msg               S7
 *   5 fsync new/ and cur/           expunge.c:rs_expunge_locked        S7
 *   6 unlock                        end
 *
 * COPY (copy.c:rs_copy)                           [#copy-move]
 *   1 source messages (no lock)     copy.c:batch_collect
 *   2 link into dst tmp/            copy.c:batch_link  (gone: RS_EEXPUNGED)
 *   3 lock dst, catch up            begin                              S4
 *   4 UIDs, all UID lines, fsync    copy.c:batch_commit             S1 S6
 *   5 rename into new/, fsync new/  copy.c:batch_rename_new            S5
 *   6 one A record: committed       commit                          S2 S3
 *   7 unlock                        end
 *   failure before 6: copy.c:batch_discard.
 *
 * MOVE (copy.c:rs_move)                           [#copy-move]
 *   1 lock both in path order       copy.c:lock_pair               S4 S12
 *   2 collect, link into dst tmp/   copy.c:batch_collect, batch_link
 *   3 M record in the source        copy.c:move_intent                 S9
 *   4 COPY steps 4-6 in dst         copy.c:batch_commit          S1 S5 S6
 *     failed for sure: X in src     copy.c:move_abort                  S9
 *   5 E record in src, unlink, sync expunge.c:rs_expunge_locked     S7 S9
 *     failed: RS_EUNKNOWN, the intent stays for the next writer
 *   6 unlock both                   end
 *   resolution by the next holder of the source's lock:
 *                                   begin -> copy.c:rs_move_resolve
 *                                   (copy.c:dst_has_copy)              S9
 *
 * Recovery on open (mailbox.c:rs_open -> recover.c:rs_recover_open)
 *   1 read the log; corrupt, torn tail or open intent: begin + end
 *   2 UID list unreadable: begin regenerates it  recover.c:check_uidlist
 *   3 tmp/ files of dead pids removed            recover.c:clean_tmp_entry
 *   4 lock temp files of dead pids, old break markers removed
 *                                                lock.c:rs_lock_cleanup
 *   5 files in new/ unknown to the log: listed ones rolled back, unlisted
 *     ones adopted under new UIDs (fsync new/, lines, A record)
 *                     recover.c:scan_new_if_needed, rs_scan_new_locked,
 *                     adopt                                    S1 S5 S6
 *   6 deliver-unsynced only: UIDs whose file a crash took are expunged
 *                                                recover.c:drop_lost
 *
 * Recovery on lock (begin)
 *   stale lock broken                lock.c:check_holder, claim_break  S12
 *   unterminated log tail: checksummed -> terminated, else cut
 *                                    recover.c:repair_log_tail      S2 S3
 *   log lost or corrupt -> rebuild   recover.c:rs_rebuild         S8 S11
 *     files of new/ and cur/ with their listed UIDs (rebuild_collect),
 *     base above clock, floor and old base (rebuild_base), the list's
 *     floor raised to it, then a new log with fresh modseqs
 *     (txlog.c:rs_log_write_new, reassign)
 *   open MOVE intent                 copy.c:rs_move_resolve            S9
 *   torn UID-list line cut; corrupt list regenerated from the log
 *                                    uidlist.c:cut_torn_tail,
 *                                    rs_uidlist_rewrite                S6
 *
 * Log rotation (begin -> txlog.c:rs_log_maybe_rotate -> rs_rotate_log)
 *   1 only at the start of a write, nothing of the writer in flight    S6
 *   2 raise the list's base floor (if below it)
 *                                   txlog.c:rs_log_write_new ->
 *                                   uidlist.c:rs_uidlist_rewrite (new/
 *                                   and cur/ resolved, both fsynced,
 *                                   temp + rename, fsync dir)    S6 S7 S8
 *   3 header + S/T/V snapshot with log_seq + 1, temp + rename, fsync dir
 *                                   txlog.c:rs_log_write_new, snapshot S8
 *   4 re-read the new log           txlog.c:rs_state_sync               S3
 *
 * \Recent claim (lock-free)         read.c:rs_claim_recent: link new/ ->
 *                                   cur/, fsync cur/, unlink new/
 *
 * ======================================================================
 * RS_ASSERT
 * ======================================================================
 *
 * RS_ASSERT(cond, "Sn what") panics (cm_panic) with the invariant, the
 * file and the line when cond is false. It is on in every build (the
 * presets define no NDEBUG) and compiled out only with RATCHET_NO_ASSERT
 * (cmake -DRATCHET_NO_ASSERT=ON), where cond is not evaluated. A
 * condition never calls the file system: a call would be a yield point of
 * the simulator and change its schedule. Ghost fields of rs_mailbox
 * (g_*) exist only for these conditions. */
#ifndef RS_PROTOCOL_H
#define RS_PROTOCOL_H

#include "cm.h"

_Noreturn void rs_assert_fail(const char *what, const char *cond,
			      const char *file, int line);

#ifdef RATCHET_NO_ASSERT
#define RS_ASSERT(cond, what) ((void)sizeof((cond) ? 1 : 0))
#else
#define RS_ASSERT(cond, what) \
	((cond) ? (void)0 : rs_assert_fail((what), #cond, __FILE__, __LINE__))
#endif

#endif
