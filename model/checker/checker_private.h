/* Internals of the history checker. */
#ifndef MODEL_CHECKER_PRIVATE_H
#define MODEL_CHECKER_PRIVATE_H

#include "checker.h"

#include <assert.h>
#include <string.h>

#define CK_NEVER UINT64_MAX
#define CK_REPLICAS_MAX 8    /* replicas of one target the checker follows */  /* completion time of a lost or pending op */
#define CK_ALL_BITS (~(cm_flags)0)

/* ---- small maps ---- */

/* Open-addressing map from nonzero 64-bit keys to pointers. */
typedef struct ck_map {
	uint64_t *keys;
	void **vals;
	size_t cap, n;
} ck_map;

void *ck_map_get(const ck_map *m, uint64_t key);
void ck_map_put(ck_map *m, uint64_t key, void *val);
void *ck_map_del(ck_map *m, uint64_t key);
void ck_map_free(ck_map *m);
/* Iterates values; the callback may not modify the map. */
void ck_map_each(const ck_map *m, void (*fn)(void *ctx, void *val), void *ctx);

/* ---- ops in flight and recently completed ---- */

typedef struct ck_op {
	uint64_t id;
	uint32_t client;
	uint64_t inv_t, cmp_t;        /* cmp_t = CK_NEVER while pending or if lost */
	model_op op;
	model_reply status;
	struct ck_box *box;           /* selected mailbox epoch at invoke (or NULL) */
	struct ck_box *dst;           /* COPY/MOVE/APPEND target epoch (or NULL) */
	cm_uidset uids;               /* target UIDs resolved at invoke */
	cm_uidset maybe_uids;         /* sequence numbers the session could not
				       * resolve: the UID ranges they may be */
	const uint32_t *ut_uid;       /* while completing: UID of each untagged
				       * FETCH (ck_session_fetch_uids) */
	/* snapshots taken at invoke, for "completed before invoked" rules */
	uint32_t at_invoke_max_add_uid;    /* in dst (or box) */
	uint32_t at_invoke_uidnext;        /* max fresh UIDNEXT completed, dst */
	uint64_t at_invoke_highestmodseq;            /* max fresh HIGHESTMODSEQ completed */
	uint64_t at_invoke_max_modseq;     /* max modseq returned by completed ops */
	uint64_t at_invoke_highestmodseq_expunge;    /* max tagged HIGHESTMODSEQ of expunges */
	uint32_t at_invoke_max_uid_seen;   /* highest UID ever seen */
	uint64_t at_invoke_highestmodseq_crashes;      /* crash epoch of the max fresh HIGHESTMODSEQ */
	uint64_t crashes;         /* faults seen before invoke */
	uint64_t at_invoke_session_cmp_t;  /* the session's last completion
					    * before invoke: its view was
					    * synced no later (C3) */
	bool done;
	bool was_condstore;           /* ENABLE: CONDSTORE on before it */
} ck_op;

/* ---- flag writes on one message ---- */

typedef enum ck_effect {
	CK_EFF_NONE,       /* definitely did not apply (NO, MODIFIED, no-op) */
	CK_EFF_MAYBE,      /* pending or lost reply */
	CK_EFF_DEFINITE,   /* OK and not in MODIFIED */
} ck_effect;

typedef struct ck_write {
	uint64_t op_id;
	uint32_t client;
	uint64_t inv_t, cmp_t;
	cm_flags touch;    /* bits it decides */
	cm_flags value;    /* their value afterwards */
	bool any_value;    /* value unknown (copy, index loss): explains anything */
	ck_effect eff;
	bool store;        /* a STORE (not an initial state or a fault) */
	uint64_t modseq;   /* modseq its own response showed (0 unknown) */
	cm_flags mod_removed, mod_added; /* the STORE's request, for reports */
} ck_write;

/* ---- messages and mailbox epochs ---- */

typedef struct ck_msg {
	uint32_t uid;
	bool has_id, has_hash, has_size, has_idate;
	char id[MODEL_ID_MAX];
	uint64_t body_hash;
	uint32_t size;
	int64_t idate;
	uint64_t id_op;             /* op whose response showed the id first */
	uint64_t seen_t;            /* first completion time showing it exists */
	uint64_t fresh_sel_t;       /* latest selection (its invoke) that showed
				     * it existing: no sync that ended before
				     * then removed it (sync_window.c) */
	uint64_t told_gone_t;       /* first completion telling a session it's gone */
	uint64_t told_gone_op;
	uint64_t told_gone_crashes;
	bool told_gone_by_move;
	uint64_t vanished_claim_t;  /* VANISHED (EARLIER) listed it */
	uint64_t vanished_claim_op;
	/* flags */
	ck_write *w;
	size_t nw, capw;
	bool has_initial;           /* its initial flags are among the writes */
	bool truncated;             /* old writes dropped: initial is "any" */
	uint64_t trunc_t;           /* ... as of this time */
	/* modseqs */
	uint64_t max_modseq;        /* highest observed */
	uint64_t max_modseq_t;
	struct { uint64_t modseq; cm_flags flags; uint64_t op, t; } seen[8];
	cm_flags clear_seen;        /* bits observed clear since the last reset */
	cm_flags last_obs_flags;
	uint64_t last_obs_inv_t;
	unsigned nseen;
	/* provenance */
	uint64_t add_op;            /* the op that explains it (0 unknown yet) */
	bool add_exact;             /* ... by the UID its response gave */
	bool explained;
	/* expunge knowledge for QRESYNC */
	uint64_t expunged_t;        /* completion of the op that expunged it */
	uint64_t expunged_floor;    /* modseq below its expunge modseq */
	uint64_t must_exist_since;  /* CHANGEDSINCE requirement (0 none) */
	uint64_t must_exist_op;
} ck_msg;

/* An op that may put messages into a mailbox: one slot per message. */
typedef struct ck_slot {
	char id[MODEL_ID_MAX];      /* expected identity, "" if unknown */
	uint32_t uid;               /* exact UID (APPENDUID/COPYUID), 0 unknown */
	bool used;
	bool none;                  /* the op's response says it added nothing here */
	uint32_t seen_uid;          /* UID it was first seen at, matched by id */
	uint32_t src_uid;           /* COPY/MOVE: the source message's UID */
	bool lost_reported;         /* ADD-NO-LOSS reported it */
} ck_slot;

typedef struct ck_adder {
	uint64_t op_id;
	model_op_kind kind;
	model_reply status;        /* NONE while pending */
	uint64_t inv_t, cmp_t;
	ck_slot *slots;
	size_t nslots;
	cm_uidset uids;             /* exact UIDs once known */
	uint64_t at_invoke_max_modseq;   /* for MODSEQ-ON-APPEND */
	uint32_t uid_floor;         /* every UID it assigns is at least this
				     * (UID-ORDER-GLOBAL, UID-BELOW-UIDNEXT) */
	uint32_t uid_fresh;         /* a UID it adds without naming it is at
				     * least this: above every UID assigned,
				     * announced (UIDNEXT) or seen before it
				     * began (UID-ORDER-GLOBAL) */
	uint32_t uid_ceiling;       /* SYNC: every UID it added is below this
				     * (0: not known yet; sync_window.c) */
	cm_flags flags;             /* APPEND/deliver: the flags it sets */
	struct ck_box *src;         /* COPY/MOVE: the source epoch */
} ck_adder;

/* An op that may remove messages from a mailbox. */
typedef struct ck_expunger {
	uint64_t op_id;
	model_op_kind kind;         /* EXPUNGE (uid: UID EXPUNGE), MOVE, DELETE */
	bool all;                   /* plain EXPUNGE: every \Deleted message */
	cm_uidset uids;
	uint64_t inv_t, cmp_t;
	model_reply status;
	uint64_t highestmodseq_floor;         /* max modseq seen anywhere before invoke */
	struct ck_box *dst;         /* MOVE target */
} ck_expunger;

/* A STORE whose UID range reaches beyond what was known at invoke. */
typedef struct ck_wide {
	uint64_t op_id;
	uint32_t client;
	cm_uidset uids;
	uint64_t inv_t, cmp_t;
	model_store_mode mode;
	cm_flags flags;
	bool any;                   /* an opaque SYNC: any flags, any message */
} ck_wide;

typedef struct ck_box {
	char name[MODEL_NAME_MAX];
	uint32_t uidvalidity;
	bool nomodseq;              /* a SELECT of this epoch said [NOMODSEQ] */
	ck_map msgs;                /* uid -> ck_msg */
	/* streaming maxima over completed events */
	uint32_t max_add_uid;       /* highest UID assigned by a completed add */
	uint32_t max_uidnext;       /* highest fresh UIDNEXT read */
	uint64_t max_uidnext_op;
	uint64_t max_highestmodseq;           /* highest fresh HIGHESTMODSEQ read */
	uint64_t max_highestmodseq_crashes;     /* crash epoch when it was read */
	uint64_t max_highestmodseq_op;
	uint64_t max_modseq;        /* highest MODSEQ any completed op showed */
	uint64_t max_modseq_op;
	uint64_t max_highestmodseq_expunge;   /* highest tagged HIGHESTMODSEQ of an expunge */
	uint32_t max_uid_seen;      /* highest UID ever observed */
	uint32_t first_uidnext;     /* first fresh UIDNEXT: older UIDs predate us */
	ck_adder *adders;
	size_t nadders, capadders;
	ck_expunger *exps;
	size_t nexps, capexps;
	ck_wide *wides;
	size_t nwides, capwides;
	uint64_t last_checkpoint_t;
	uint64_t index_loss_t;      /* the last loss of its log */
	uint32_t index_loss_uids;   /* UIDs up to this existed when its log was
				     * lost: the rebuild may bring back those an
				     * unacknowledged EXPUNGE removed */
	cm_uidset ckpt_uids;        /* UIDs a fresh read saw in the open checkpoint */
	bool ckpt_seen;
	struct { uint64_t modseq, op; } claims[64]; /* MODSEQ-STORE-UNIQUE */
	size_t nclaims;
	struct ck_box *next;
} ck_box;

/* ---- sessions ---- */

typedef struct ck_entry {
	uint32_t uid;               /* 0: not known yet */
	bool has_flags;
	bool recent;
	cm_flags flags;
	uint64_t modseq;
	bool fresh_new;             /* arrived by EXISTS in this selection */
	uint32_t arrival_floor;     /* ... when the session knew UIDs up to this */
} ck_entry;

/* Blank view entries that arrived together (ck_view, view.c). */
typedef struct ck_run {
	size_t count;
	uint32_t arrival_floor;
	bool fresh_new;
} ck_run;

/* Entries all sessions' views may hold together (32 bytes each, plus the
 * message record a learnt UID creates): 1M, far above any mailbox a run
 * creates. Beyond it a session's view is given up (a warning). */
#define CK_VIEW_MAX ((size_t)1 << 20)

typedef struct ck_session {
	struct model_checker *c;    /* owner: the view budget */
	uint32_t client;
	bool connected;
	bool condstore, qresync;
	bool nomodseq;
	ck_box *box;                /* selected epoch or NULL */
	char mailbox[MODEL_NAME_MAX];
	bool readonly;
	uint64_t select_inv_t;      /* fresh floor for visibility */
	ck_entry *map;              /* held entries map[0..mat) */
	size_t n, mat, cap;         /* n: messages in the view */
	ck_run *runs;               /* map[mat..n): blank, by arrival */
	size_t nruns, caprun;
	size_t known_end;           /* map[known_end..n) hold no UID */
	bool view_lost;             /* over CK_VIEW_MAX: not followed until
				     * the next SELECT */
	uint32_t max_uid_known;     /* in this selection */
	uint64_t highestmodseq;               /* last HIGHESTMODSEQ code in this selection */
	uint64_t highestmodseq_before;        /* highestmodseq before the op being applied */
	uint64_t highestmodseq_t;
	uint64_t checkpoint_t;      /* synced at a quiet checkpoint */
	uint64_t last_cmp_t;        /* completion of its latest op (0 none) */
	bool lost_pending;          /* ADD-NO-LOSS not yet judged this selection */
	bool lost_tried;            /* ... tried once, waiting for identities */
} ck_session;

/* An opaque SYNC that new mailbox epochs must still bind to: in flight,
 * or of unknown outcome (sync_window.c). */
typedef struct ck_sync {
	uint64_t op_id;
	uint64_t inv_t, cmp_t;      /* cmp_t = CK_NEVER while it may act */
	bool unknown;               /* its outcome is unknown: open forever */
} ck_sync;

/* ---- the checker ---- */

struct model_checker {
	model_checker_options opts;
	model_checker_stats stats;
	model_violation *v;
	size_t nv, capv;
	ck_map ops;                 /* op id -> ck_op (pending or referenced) */
	ck_map sessions;            /* client -> ck_session */
	ck_box *boxes;
	struct { char name[MODEL_NAME_MAX]; uint32_t max_uv; bool recreated; } *names;
	size_t nnames, capnames;
	uint64_t last_t;
	uint64_t crashes;       /* count of crash/index-loss faults */
	uint64_t last_crash_t;
	uint64_t checkpoint_open;   /* op id of an open checkpoint, 0 none */
	uint64_t checkpoint_inv_t;
	ck_sync *syncs;             /* opaque SYNCs that may still act */
	size_t nsyncs, capsyncs;
	/* scratch */
	cm_buf tmp;
	uint32_t *ut_uid;           /* the completing op's ck_op.ut_uid */
	size_t cap_ut_uid;
	size_t view_held;           /* entries held by all sessions' views */
	/* A replicated target (replicas.c): the root checker judges no
	 * event itself; each replica's events go to sub[replica], a checker
	 * of its own that judges that replica as one IMAP server, and all of
	 * them to repl, which judges the replicas against each other. */
	model_checker *root;        /* a sub-checker's root, NULL for the root */
	model_checker *sub[CK_REPLICAS_MAX + 1];
	uint32_t sub_replica;       /* a sub-checker's replica */
	struct ck_repl *repl;
};

/* checker.c */
void ck_violation(model_checker *c, model_inv inv, const ck_op *op, const ck_box *box,
		  uint32_t uid, uint64_t other_op, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void ck_warning(model_checker *c, model_inv inv, const ck_op *op, const ck_box *box,
		uint32_t uid, uint64_t other_op, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
ck_session *ck_session_get(model_checker *c, uint32_t client);
ck_box *ck_box_current(model_checker *c, const char *name);
ck_box *ck_box_epoch(model_checker *c, const ck_op *op, const char *name, uint32_t uv);
void ck_name_recreated(model_checker *c, const char *name);
ck_box *ck_box_get(model_checker *c, const char *name, uint32_t uidvalidity,
		   bool create);
ck_msg *ck_msg_get(ck_box *b, uint32_t uid, bool create);
ck_op *ck_op_find(model_checker *c, uint64_t id);
bool ck_cap(const model_checker *c, unsigned cap);

/* view.c: a session's seq -> entry map (see ck_session) */
void ck_view_clear(ck_session *s);
void ck_view_free(ck_session *s);
/* Appends n - s->n blank entries (n >= s->n) that arrived together. */
void ck_view_grow(ck_session *s, size_t n, bool fresh_new, uint32_t floor);
/* Entry idx (< n) by value: a blank one past the held entries. */
ck_entry ck_view_peek(const ck_session *s, size_t idx);
/* Entry idx (< n) to write to, held from now on; NULL when holding it
 * would pass CK_VIEW_MAX. */
ck_entry *ck_view_at(ck_session *s, size_t idx);
void ck_view_remove(ck_session *s, size_t idx);
/* Blank entries: no longer "arrived in this selection". */
void ck_view_forget_tail(ck_session *s);
/* Blank entries in [from, to) that arrived in this selection: floor at
 * most floor. */
void ck_view_tail_floor(ck_session *s, size_t from, size_t to, uint32_t floor);

/* session_machine.c: replays a completed op's untagged responses */
void ck_session_apply(model_checker *c, ck_session *s, ck_op *op,
		      const model_result *res);
void ck_session_invoke(model_checker *c, ck_session *s, ck_op *op);
void ck_session_reset(ck_session *s);
uint32_t ck_session_max_uid(const ck_session *s);
void ck_session_fetch_uids(const ck_session *s, const ck_op *op,
			   const model_result *res, uint32_t *out);

/* flags_merge.c: FLAGS-MERGE and friends */
void ck_flags_write(model_checker *c, ck_box *b, uint32_t uid, const ck_op *op,
		    ck_effect eff, uint64_t modseq);
void ck_flags_initial(model_checker *c, ck_box *b, uint32_t uid, const ck_op *op,
		      bool known, cm_flags flags);
void ck_flags_wide(ck_msg *m, const ck_wide *wd);
/* before_own: in a STORE's response, this FETCH may predate the STORE's
 * own change (pending updates go out first). */
void ck_flags_observe(model_checker *c, ck_session *s, ck_box *b, uint32_t uid,
		      const ck_op *op, cm_flags flags, bool before_own);
bool ck_flags_could_be_set(const ck_msg *m, cm_flags bit, uint64_t before_t);
void ck_flags_reset(ck_box *b, uint64_t t, uint64_t quiet_since);
void ck_flags_fault(ck_box *b, uint64_t t, uint64_t op_id);

/* epoch.c: UID, modseq and provenance rules on mailbox epochs */
void ck_box_seen(model_checker *c, ck_session *s, ck_box *b, const ck_op *op,
		 uint32_t uid);
void ck_box_told_gone(model_checker *c, ck_box *b, const ck_op *op, uint32_t uid,
		      uint32_t client);
void ck_box_identity(model_checker *c, ck_box *b, const ck_op *op, uint32_t uid,
		     const model_fetch *f);
void ck_box_modseq(model_checker *c, ck_session *s, ck_box *b, const ck_op *op,
		   uint32_t uid, uint64_t modseq, cm_flags flags, bool has_flags);
void ck_box_fresh(model_checker *c, ck_box *b, const ck_op *op, bool has_uidnext,
		  uint32_t uidnext, bool has_highestmodseq, uint64_t highestmodseq);
void ck_box_add(model_checker *c, ck_box *b, const ck_op *op, const cm_uidset *uids);
ck_adder *ck_adder_new(ck_box *b, const ck_op *op, size_t nslots);
ck_adder *ck_adder_find(ck_box *b, uint64_t op_id);
ck_expunger *ck_expunger_new(ck_box *b, const ck_op *op, bool all,
			     const cm_uidset *uids);
ck_expunger *ck_expunger_find(ck_box *b, uint64_t op_id);
/* Could x (unless it failed) have removed uid from b? A plain EXPUNGE only
 * if \Deleted could have been set. */
bool ck_expunger_covers(const ck_box *b, const ck_expunger *x, uint32_t uid);
void ck_box_forget(ck_box *b);
/* Adds to out the UIDs of set that b has a record of, in time
 * proportional to the smaller of the set and the records. */
void ck_box_existing(const ck_box *b, const cm_uidset *set, cm_uidset *out);
void ck_box_invoke_snap(ck_box *b, ck_op *op);
void ck_box_no_snap(ck_op *op);
void ck_box_free_lists(ck_box *b);

/* completion.c: per-op rules at invoke and completion, dispatched by op
 * kind (EXPUNGE and ENABLE here, the others in the files below) */
void ck_ops_invoke(model_checker *c, ck_session *s, ck_op *op);
/* Could an expunger other than op self (0: none), not completed before
 * after_t (0: any time), have removed uid from b? */
bool ck_ops_maybe_removed(const ck_box *b, uint64_t self, uint64_t after_t, uint32_t uid);
/* Could an expunger other than op, invoked before op completed, have
 * removed uid? */
bool ck_other_expunger(const ck_box *b, const ck_op *op, uint32_t uid);
/* The response code of that kind, tagged or untagged, or NULL. */
const model_code *ck_find_code(const model_result *res, model_code_kind kind);
void ck_ops_complete(model_checker *c, ck_session *s, ck_op *op,
		     const model_result *res);

/* completion_store.c: STORE (section E) */
void ck_ops_settle(model_checker *c, ck_session *s, ck_op *op, const model_result *res);
void ck_ops_complete_store(model_checker *c, ck_session *s, ck_op *op,
			   const model_result *res);

/* completion_add.c: APPEND, COPY, MOVE (section G) */
void ck_ops_bind_adder(model_checker *c, ck_op *op);
void ck_ops_complete_append(model_checker *c, ck_op *op, const model_result *res);
void ck_ops_complete_copy(model_checker *c, ck_session *s, ck_op *op,
			  const model_result *res);

/* completion_changedsince.c: FETCH CHANGEDSINCE, VANISHED (section F) */
void ck_ops_complete_fetch(model_checker *c, ck_session *s, ck_op *op,
			   const model_result *res);
/* SELECT (QRESYNC) in b, after its fresh read was judged. */
void ck_ops_select_qresync(model_checker *c, ck_session *s, ck_box *b, ck_op *op,
			   const model_result *res);

/* completion_fresh_read.c: SELECT and STATUS as fresh reads (A, D) */
void ck_ops_complete_select(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res);
void ck_ops_complete_status(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res);

/* sync_window.c: what an opaque SYNC may do to a replica while it runs */
void ck_sync_invoke(model_checker *c, ck_op *op);
void ck_sync_complete(model_checker *c, const ck_op *op);
/* A mailbox epoch met for the first time: syncs that may still act
 * act on it too. */
void ck_sync_bind(model_checker *c, ck_box *b);
/* Could sync expunger x (kind SYNC) have removed uid (0: unknown)? */
bool ck_sync_covers(const ck_box *b, const ck_expunger *x, uint32_t uid);
/* A session showed m existing. */
void ck_sync_seen(const ck_session *s, ck_msg *m);
/* A fresh read (op) showed UIDNEXT uidnext in b. */
void ck_sync_fresh(ck_box *b, const ck_op *op, uint32_t uidnext);
/* Does a sync explain message m, first seen with its identity in op?
 * True (explained, or UID-ORDER-GLOBAL reported), or false (no sync
 * could have added it). */
bool ck_sync_explains_add(model_checker *c, ck_box *b, ck_msg *m, const ck_op *op);

/* checkpoint.c: the quiet checkpoint */
void ck_ops_checkpoint(model_checker *c, ck_op *op);

/* add_no_loss.c: ADD-NO-LOSS, judged when a selection's view is fully known */
void ck_lost_complete(model_checker *c, ck_session *s, const ck_op *op);

/* checker.c: a sub-checker's violation, kept and counted by its root */
void ck_violation_adopt(model_checker *root, const model_violation *v);

/* replicas.c: a replicated target's events (op.replica > 0), routed */
/* True when c is a replicated target's root and has taken ev (every
 * event is, once the first with a replica has come). */
bool ck_replicas_feed(model_checker *c, const model_event *ev);
void ck_replicas_finish(model_checker *c);
void ck_replicas_free(model_checker *c);

/* repl.c: the replicas judged against each other (REPL-*) */
struct ck_repl *ck_repl_new(void);
void ck_repl_feed(model_checker *root, struct ck_repl *r, const model_event *ev);
void ck_repl_free(struct ck_repl *r);
/* repl_check.c: at a checkpoint after a sync to quiescence */
struct ck_repl_state;

/* consistency.c: CK_CHECK and ck_check_all */
#include "consistency.h"

#endif
