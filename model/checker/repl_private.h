/* The cross-replica module's state (repl.c feeds it, repl_check.c judges
 * it at a checkpoint after a sync to quiescence). docs/replication.md. */
#ifndef CK_REPL_PRIVATE_H
#define CK_REPL_PRIVATE_H

#include "checker_private.h"

/* One UID's identity, as some replica showed it first. */
typedef struct repl_bind {
	char id[MODEL_ID_MAX];
	uint32_t replica;
	uint64_t op;
	bool reported;              /* REPL-UID-FIXUP said so once */
} repl_bind;

/* A message identity in one mailbox: what clients did to its flags since
 * the last synced checkpoint (REPL-FLAGS-MERGE). */
typedef struct repl_ident {
	char id[MODEL_ID_MAX];
	cm_flags init;              /* its flags when added, or at the last
				     * synced checkpoint */
	bool init_known;            /* false: added by COPY/MOVE (flags of
				     * another mailbox's history) */
	bool unchecked;             /* a COPY/MOVE took part: another lineage */
	cm_flags def_set, def_clr;  /* bits an acknowledged STORE set / cleared */
	cm_flags maybe_set, maybe_clr; /* ... a STORE with a lost reply */
	uint64_t last_op;           /* a STORE that touched it, for reports */
} repl_ident;

/* A client STORE, kept by UID until identities are resolved. */
typedef struct repl_write {
	uint32_t uidvalidity;
	cm_uidset uids;
	cm_flags set, clr;
	bool definite;              /* acknowledged OK (else lost reply) */
	uint64_t op;
} repl_write;

typedef struct repl_msg {
	uint32_t uid;
	char id[MODEL_ID_MAX];
	cm_flags flags;
} repl_msg;

/* One replica's audit of one mailbox (UID FETCH 1:* in a checkpoint). */
typedef struct repl_audit {
	bool have;
	uint32_t uidvalidity;
	uint64_t op;
	repl_msg *m;
	size_t n, cap;
} repl_audit;

/* UIDs some replica expunged, per UIDVALIDITY. */
typedef struct repl_gone {
	uint32_t uidvalidity;
	cm_uidset uids;
} repl_gone;

typedef struct repl_box {
	char name[MODEL_NAME_MAX];
	ck_map binds;               /* (uidvalidity << 32 | uid) -> repl_bind */
	ck_map ident_at;            /* hash of id -> index + 1 into ids */
	repl_ident *ids;
	size_t nids, capids;
	repl_write *w;
	size_t nw, capw;
	cm_flags wild;              /* bits a STORE whose targets are unknown
				     * touched: not judged until the next
				     * synced checkpoint */
	repl_gone *gone;
	size_t ngone, capgone;
	repl_audit cur[CK_REPLICAS_MAX + 1], prev[CK_REPLICAS_MAX + 1];
	struct repl_box *next;
} repl_box;

/* The last SYNC of a pair of replicas over one mailbox ("" all). */
typedef struct repl_sync {
	char box[MODEL_NAME_MAX];
	uint32_t a, b;              /* a < b */
	uint64_t inv_t;
	bool ok;                    /* it succeeded */
} repl_sync;

typedef struct repl_session {
	char box[MODEL_NAME_MAX];
	uint32_t uidvalidity;
	bool selected;
} repl_session;

struct ck_repl {
	ck_map sessions;            /* client + 1 -> repl_session */
	repl_box *boxes;
	uint32_t nrep;              /* the highest replica named */
	ck_map counted;             /* op ids + 1 of client ops in flight
				     * (outside checkpoints) */
	uint64_t last_activity_t;   /* last client completion or fault */
	repl_sync *syncs;
	size_t nsyncs, capsyncs;
	ck_map sync_inv;            /* SYNC op id -> its invoke time + 1 */
	uint64_t checkpoint_op, checkpoint_inv_t;
	uint64_t synced_checkpoints;
};

repl_box *ck_repl_box(struct ck_repl *r, const char *name);
repl_ident *ck_repl_ident(repl_box *b, const char *id);
/* True when every pair of replicas synced box to quiescence after the
 * last client activity and before the open checkpoint. */
bool ck_repl_synced(const struct ck_repl *r, const char *box);
/* repl_check.c: the judgments of a checkpoint, then the next epoch. */
void ck_repl_checkpoint(model_checker *root, struct ck_repl *r, uint64_t op);
void ck_repl_violation(model_checker *root, model_inv inv, const repl_box *b,
		       uint32_t uid, uint32_t uidvalidity, uint64_t op, uint64_t other,
		       const char *fmt, ...) __attribute__((format(printf, 8, 9)));

#endif
