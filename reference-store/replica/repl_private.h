/* Internals of the sync agent (rs_repl.h). */
#ifndef RS_REPL_PRIVATE_H
#define RS_REPL_PRIVATE_H

#include "rs_repl.h"
#include "rs_session.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

/* A UID of a source replica and the name (GUID) its A record gave it. */
typedef struct repl_name {
	uint32_t uid;
	char name[RS_MSG_NAME_MAX];
} repl_name;

/* One mailbox in one direction: how far the source's log was shipped. */
typedef struct repl_link {
	char box[MODEL_NAME_MAX];
	uint32_t src, dst;
	bool started;
	uint32_t indexid, log_seq;   /* the log the position is in */
	uint64_t off;                /* bytes of records shipped */
	repl_name *names;            /* every UID the source's log added,
				      * ascending: an E record names UIDs
				      * already gone from its state */
	size_t n, cap;
	repl_name *todo;             /* source messages the destination could
				      * not take at their UID: fixed up after
				      * the adds that keep theirs, retried
				      * while a writer beats the fix-up */
	size_t ntodo, captodo;
} repl_link;

/* Flags of a message one replica changed that the agent applied on
 * replica `on` when on's log ended at upto: on's changes to them in
 * records up to there were concurrent with it. On the higher replica they
 * lose (never shipped); on the lower one they win (shipped, and asserted
 * again there, over the higher one's change applied after them). */
typedef struct repl_won {
	char box[MODEL_NAME_MAX];
	char name[RS_MSG_NAME_MAX];
	uint32_t on;
	cm_flags bits;
	uint64_t upto;
	/* An application whose outcome was unknown (a crash of `on` during
	 * it): its record, if it landed, is the first F record tagged from
	 * after offset `after` in on's log; found when a pass next reads
	 * that log (upto then set), else the entry is dropped. */
	bool unresolved;
	uint64_t after;
	uint32_t from;
} repl_won;

/* A message's flags the lower replica changed and has not shipped yet. */
typedef struct repl_pending {
	char name[RS_MSG_NAME_MAX];
	cm_flags bits;
} repl_pending;

/* An add of the agent's to replica `on` that failed before it was known
 * to have committed: a crash of `on` may have cut it short, and its
 * recovery then adopts the file under a UID of its own, without the
 * flags the add carried. */
typedef struct repl_inflight {
	char box[MODEL_NAME_MAX];
	char name[RS_MSG_NAME_MAX];
	uint32_t on;
} repl_inflight;

typedef struct repl_handle {
	uint32_t replica;
	char box[MODEL_NAME_MAX];
	rs_mailbox *mb;
	bool stale;                  /* its replica crashed: open it afresh */
} repl_handle;

struct rs_repl {
	rs_repl_options o;
	repl_handle *h;
	size_t nh, caph;
	repl_link *links;
	size_t nlinks, caplinks;
	repl_won *won;
	size_t nwon, capwon;
	repl_inflight *inflight;
	size_t ninflight, capinflight;
	uint64_t fixups;             /* names of renumbered copies */
	cm_buf buf;                  /* a log or a message body */
};

/* One direction's work in one round. */
typedef struct repl_pass {
	rs_repl *r;
	repl_link *link;
	rs_mailbox *src, *dst;
	bool lower;                  /* src is the lower replica: its flag
				      * changes win */
	uint64_t shipped;
	bool retry;                  /* a fix-up lost its UID to a writer */
	repl_link *back;             /* the other direction's link */
	repl_pending *pending;       /* higher to lower: the lower's unshipped
				      * flag changes, which win */
	size_t npending, cappending;
	rs_repl_stats *st;
	const char **why;
} repl_pass;

/* repl.c: concurrent flag changes (repl_won) */
void rs_repl_won_add(rs_repl *r, const char *box, const char *name, uint32_t on,
		     cm_flags bits, uint64_t upto);
/* The same for an application of replica from's change on `on` whose
 * outcome was unknown, on's log then ending at after (repl_won). */
void rs_repl_won_add_unknown(rs_repl *r, const char *box, const char *name, uint32_t on,
			     cm_flags bits, uint64_t after, uint32_t from);
/* The flags a record of replica on at offset off changed concurrently with
 * a change of the other replica applied there after it. */
cm_flags rs_repl_won_mask(const rs_repl *r, const char *box, const char *name,
			  uint32_t on, uint64_t off);
/* Forgets entries of replica on up to shipped (its records up to there
 * are all shipped now). */
void rs_repl_won_prune(rs_repl *r, const char *box, uint32_t on, uint64_t shipped);
/* Marks (set) or forgets (!set) an add of name to replica on as in flight. */
void rs_repl_inflight_mark(rs_repl *r, const char *box, const char *name, uint32_t on,
			   bool set);
/* True when an add of name to replica on failed and was not settled
 * since: the copy of name on `on` may be an adopted one, flags lost. */
bool rs_repl_inflight_has(const rs_repl *r, const char *box, const char *name,
			  uint32_t on);
void rs_repl_fixup_name(rs_repl *r, const char *old, char out[RS_MSG_NAME_MAX]);
void rs_repl_name_add(repl_link *l, uint32_t uid, const char *name);
const char *rs_repl_name_of(const repl_link *l, uint32_t uid);
/* Calls fn for each name of l whose UID is in set, ascending, until one
 * fails: RS_OK, or that failure. */
typedef rs_err repl_name_fn(void *ctx, const repl_name *n);
rs_err rs_repl_names_in(const repl_link *l, const cm_uidset *set, repl_name_fn *fn,
			void *ctx);
/* The UID of the message called name in mb's state, 0 if none. */
uint32_t rs_repl_uid_of(const rs_mailbox *mb, const char *name);

/* repl_pass.c: ships link's new records from src to dst. RS_OK or the
 * first failure (nothing after it applied, the position before it). */
rs_err rs_repl_pass(repl_pass *p);

#endif
