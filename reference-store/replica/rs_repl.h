/* rs_repl: the sync agent of a replicated reference store
 * (docs/replication.md): replicas of a user's mailboxes, each a full store
 * that accepts deliveries and IMAP ops on its own, kept in step by change
 * records.
 *
 * UIDs: replica r of n assigns only UIDs u with (u - 1) % (n + 1) == r - 1
 * (rs_repl_store_options), so two replicas never assign the same UID;
 * phase n is the agent's own, for fix-ups.
 *
 * One sync of a mailbox between replicas a < b ships, in rounds until a
 * round ships nothing, the records each side's log gained since the last
 * sync, each direction in turn:
 *   A  a message the peer lacks (matched by its file name, the message's
 *      GUID) goes to the peer under the same UID when the peer can still
 *      take it (at or above its next free UID); otherwise it is fixed up on
 *      its own side: renumbered to a new UID above both sides' next free
 *      one (under the lock: copied to a new file and GUID, the old UID
 *      expunged), and the renumbered copy travels in the next round. A UID
 *      is never rebound: the fix-up duplicates the message to an unseen
 *      UID, as the design says.
 *   F  the flags added and removed, as +/- changes: two replicas' changes
 *      to different flags both survive. The same flag changed on both
 *      sides since the last sync: replica a's change wins on both.
 *   E  an expunge: the peer expunges the same message (by GUID), whatever
 *      its flags.
 * Records the agent itself wrote while applying a peer's changes carry the
 * peer's number (rs_set_origin) and are never shipped back: no echo.
 *
 * What is left out: a full sync. A log rotated or rebuilt past the last
 * sync position makes the sync fail (RS_ECORRUPT), rather than merge final
 * states, which the flags design shows cannot be done right; replicated
 * runs keep their logs. More than two replicas: the agent syncs pairs;
 * with three or more, a change may travel a->b->c and the records b wrote
 * carry origin a only for the pair it came over (the simulator runs two). */
#ifndef RS_REPL_H
#define RS_REPL_H

#include <stdint.h>

#include "rs.h"

#define RS_REPL_MAX 4        /* replicas one agent serves */
#define RS_REPL_ROUNDS 8     /* rounds of one sync before it gives up */

typedef struct rs_repl rs_repl;

typedef struct rs_repl_options {
	unsigned replicas;                   /* 2..RS_REPL_MAX */
	rs_fs *fs[RS_REPL_MAX + 1];          /* replica r's file system (1-based) */
	const char *root[RS_REPL_MAX + 1];   /* ... and its mailbox root */
	unsigned mutants;                    /* rs_mutant bits (RS_MUTANTS_REPL) */
	uint32_t pid[RS_REPL_MAX + 1];       /* its lock owner on replica r */
	uint32_t log_rotate_bytes;           /* rs_options */
} rs_repl_options;

typedef struct rs_repl_stats {
	uint64_t rounds, shipped;            /* records applied */
	uint64_t adds, fixups, flag_changes, expunges;
	uint64_t conflicts;                  /* flags both sides changed */
} rs_repl_stats;

/* The store options replica r's own clients open its mailboxes with: the
 * UID stepping (none with the repl-no-step mutant). */
void rs_repl_store_options(unsigned replicas, uint32_t replica, unsigned mutants,
			   rs_options *o);

rs_repl *rs_repl_new(const rs_repl_options *o);
void rs_repl_free(rs_repl *r);

/* Syncs mailbox (its name in the namespace) between replicas a and b to
 * quiescence: rounds until one ships nothing, at most RS_REPL_ROUNDS.
 * RS_OK; the first failure of a replica's store (RS_EFAIL, RS_EUNKNOWN,
 * RS_ELOCKED, ...: a crash or a fault), with nothing after it applied; or
 * RS_ECORRUPT when a log no longer holds the last sync position (rotated
 * or rebuilt: no full sync). *why_r (may be NULL): a short static text.
 * The counters of st are added to. */
rs_err rs_repl_sync(rs_repl *r, const char *mailbox, uint32_t a, uint32_t b,
		    rs_repl_stats *st, const char **why_r);

/* Replica r crashed: the agent's handles on it are dropped at the next
 * sync and opened again as lock owner new_pid (the old one died with the
 * replica, so its locks there are broken as a dead process's); its sync
 * positions stay (a terminated record is durable). Safe while a call of
 * the agent on that replica is in flight (the handle outlives it). */
void rs_repl_crashed(rs_repl *r, uint32_t replica, uint32_t new_pid);

#endif
