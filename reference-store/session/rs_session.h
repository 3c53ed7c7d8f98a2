/* rt_session: the IMAP mailbox-session layer over the reference store.
 *
 * What an honest IMAP4rev1 server with UIDPLUS, CONDSTORE, QRESYNC, MOVE
 * and ENABLE does between a parsed command and its responses, producing
 * model_result values instead of text: the untagged responses in the order
 * a server sends them, the tagged status and code. Used by the simulator
 * (many sessions as coroutines on the in-memory file system) and by
 * ratchet-imapd (which formats the results as IMAP text).
 *
 * Deliberate choices (each an RFC-allowed behaviour):
 *  - The session state is synchronised with the store before every command run in
 *    the selected state (new messages and flag changes; expunges too for
 *    the UID forms, after their set is read) and after it. Expunges are
 *    held back during FETCH, STORE and SEARCH (3501 7.4.1) and sent at the
 *    next command allowed to carry them; EXPUNGE n highest first, or one
 *    VANISHED once QRESYNC is enabled. EXISTS always comes with RECENT.
 *  - A message expunged in the store but still in the session state gets
 *    no FETCH data (the command still answers OK).
 *  - STORE reports only messages whose flags changed (7162 3.1.3 and
 *    invariants C6: a STORE changing nothing bumps no modseq and sends
 *    nothing). .SILENT sends nothing unless UNCHANGEDSINCE was given.
 *  - Once CONDSTORE is enabled every FETCH caused by a STORE or by another
 *    session carries UID and MODSEQ (7162 3.2.4); modseq-only changes are
 *    reported too.
 *  - A HIGHESTMODSEQ sent mid-session (first CONDSTORE enabling command,
 *    tagged on EXPUNGE/MOVE with QRESYNC) is the store's value as of the
 *    last sync that left no expunge pending: it never covers an expunge
 *    the client has not been told about (QRESYNC-NO-GAP).
 *  - SELECT/EXAMINE while selected sends OK [CLOSED] whenever CONDSTORE
 *    or QRESYNC is offered, enabled or not (7162 3.2.11).
 *  - EXAMINE returns the same output as SELECT, PERMANENTFLAGS included
 *    (3501 6.3.2); a read-only session sees as \Recent what is in new/
 *    but takes nothing.
 *  - FLAGS and PERMANENTFLAGS list the system flags and the keywords in
 *    use; a new keyword is announced (FLAGS, PERMANENTFLAGS) before the
 *    first FETCH showing it. UNSEEN is MODEL_CODE_OTHER "UNSEEN".
 *  - A selected mailbox that disappears or changes UIDVALIDITY, or whose
 *    log cannot be read, ends the session: untagged BYE, status UNKNOWN.
 *  - The store reports HIGHESTMODSEQ 0 for a mailbox never written to; we
 *    report 1 (mod-sequence-value is positive, 7162 section 7).
 *  - Store failures: RS_ENOSPC NO [OVERQUOTA], RS_ELOCKED NO [INUSE],
 *    RS_EEXPUNGED NO [EXPUNGEISSUED], RS_ECORRUPT NO [SERVERBUG] with
 *    res->anomaly (unless the mailbox was deleted meanwhile), RS_EUNKNOWN
 *    UNKNOWN (session lost), anything else a plain NO.
 */
#ifndef RT_SESSION_H
#define RT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "model.h"
#include "rs.h"

/* ======================================================================
 * The mailbox root: a directory of rs mailboxes on an rs_fs.
 *
 * A name maps to root + "/" + the name with every byte outside
 * [A-Za-z0-9._-] (and a leading '.') escaped as %XX; "INBOX" in any case
 * is "INBOX". Names starting with '.' on disk are ours (the UIDVALIDITY
 * counter, the CREATE lock, mailboxes being created or deleted), never
 * mailboxes.
 * ==================================================================== */

#define RS_NAMESPACE_PATH_MAX 512

/* Canonical spelling: INBOX in any case becomes "INBOX". */
void rs_namespace_canon(const char *name, char out[MODEL_NAME_MAX]);
/* 0, or -1 for an empty or too long name (or root). */
int rs_namespace_path(const char *root, const char *name, char *out, size_t outlen);
/* The same, allocated (free it); NULL for an invalid name. */
char *rs_namespace_mailbox_path(const char *root, const char *name);
/* Creates the root directory if needed. */
rs_err rs_namespace_init(rs_fs *fs, const char *root);
/* CREATE: RS_EEXIST if it exists. UIDVALIDITY comes from a counter kept in
 * the root under a lock, so a name deleted and created again always gets a
 * higher value (the store's clock-based default repeats within a second).
 * The mailbox is built under a dot name and renamed into place. RS_EUNKNOWN:
 * it appeared but may not survive a crash. */
rs_err rs_namespace_create_mailbox(rs_fs *fs, const char *root, const char *name);
/* DELETE: RS_ENOENT if there is no such mailbox. The directory is renamed
 * aside (atomic for everyone using it), then removed. */
rs_err rs_namespace_delete_mailbox(rs_fs *fs, const char *root, const char *name);
/* Whether name is a mailbox of the store (a real directory with its
 * Maildir tmp, new and cur, no symbolic link on the way): what LIST shows
 * and DELETE accepts. */
bool rs_namespace_exists(rs_fs *fs, const char *root, const char *name);


/* ======================================================================
 * Sessions
 * ==================================================================== */

#define RT_SESSION_CAPS_DEFAULT                                              \
	(MODEL_CAP_UIDPLUS | MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC |       \
	 MODEL_CAP_MOVE | MODEL_CAP_ENABLE | MODEL_CAP_LITERALPLUS)

typedef struct rs_session_options {
	uint32_t pid;      /* every store call made by the session uses it */
	unsigned mutants;  /* rs_mutant bits for every rs_open */
	unsigned caps;     /* MODEL_CAP_* offered; 0 = RT_SESSION_CAPS_DEFAULT.
			    * IMAP4REV2 and ESEARCH are not implemented. */
	uint64_t lock_timeout_ns;  /* rs_options; 0 = rs default */
	uint32_t log_rotate_bytes; /* rs_options; 0 = rs default */
	uint32_t uid_step, uid_phase; /* rs_options: a replica's UIDs */
	/* NOOP adopts what writers outside the store dropped into new/ (a
	 * mail root on a real directory, where a Maildir MDA may deliver).
	 * Off in the simulator: its roots have no such writers, and listing
	 * new/ at every NOOP cost it half its throughput. */
	bool noop_scans_new;
} rs_session_options;

typedef struct rt_session rt_session;

/* root: absolute, without spaces (rs_move names destinations by path). */
rt_session *rs_session_new(rs_fs *fs, const char *root,
			   const rs_session_options *opts);
/* Runs one op and fills res (cleared first). MODEL_OP_DELIVER is a local
 * delivery that ignores the session's state. CHECKPOINT and FAULT are not
 * session commands (BAD). After an UNKNOWN caused by the store (or a lost
 * selected mailbox, or rs_session_kill) every later call answers UNKNOWN
 * "session lost": the caller starts a new session. */
void rs_session_exec(rt_session *s, const model_op *op, model_result *res);
/* The client died (killed, crashed): no further store calls are made,
 * also not by a command suspended inside the store (it ends UNKNOWN). */
void rs_session_kill(rt_session *s);
/* Closes the store handles (rs_close: a handle that a killed session left
 * locked tries to unlink its lock, so make the dead client's file-system
 * calls fail first, as the simulator does). NULL is fine. */
void rs_session_free(rt_session *s);

bool rs_session_alive(const rt_session *s);
unsigned rs_session_capabilities(const rt_session *s);
/* The session state: messages (EXISTS) and the UID at a sequence number
 * (1-based; 0 if out of range); NULL mailbox if nothing is selected. */
const char *rs_session_selected(const rt_session *s);
size_t rs_session_exists(const rt_session *s);
uint32_t rs_session_uid_at(const rt_session *s, size_t seq);

#endif
