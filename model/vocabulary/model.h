/* model: the vocabulary every part of ratchet speaks (ops, results,
 * untagged data, events, the messages the harness adds) and the invariant
 * catalogue. The history codec (history.h) and the checker (checker.h)
 * build on it.
 *
 * Sources: RFC 3501/9051 (IMAP4rev1/rev2), 4315 (UIDPLUS), 6851 (MOVE),
 * 7162 (CONDSTORE/QRESYNC). Rule IDs are those of docs/invariants.md. */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"

#define MODEL_NAME_MAX 96   /* mailbox names */
#define MODEL_ID_MAX 48     /* X-Ratchet-Id values */

/* ======================================================================
 * Ops
 * ==================================================================== */

typedef enum model_op_kind {
	MODEL_OP_NONE = 0,
	MODEL_OP_CONNECT,    /* connect + login (or open a simulated session) */
	MODEL_OP_LOGOUT,
	MODEL_OP_SELECT,     /* readonly = EXAMINE; optional CONDSTORE/QRESYNC */
	MODEL_OP_STATUS,
	MODEL_OP_NOOP,
	MODEL_OP_ENABLE,
	MODEL_OP_APPEND,
	MODEL_OP_DELIVER,    /* local delivery (LDA): an APPEND without a session */
	MODEL_OP_STORE,
	MODEL_OP_FETCH,
	MODEL_OP_SEARCH,     /* (UID) SEARCH ALL */
	MODEL_OP_EXPUNGE,    /* EXPUNGE, or UID EXPUNGE when uid is set */
	MODEL_OP_COPY,
	MODEL_OP_MOVE,
	MODEL_OP_CREATE,
	MODEL_OP_DELETE,
	MODEL_OP_CHECKPOINT, /* marker: every session is quiet (see checker) */
	MODEL_OP_FAULT,      /* simulator: an injected fault (info event) */
	MODEL_OP_SYNC,       /* replication: one sync of a mailbox between two
			      * replicas (docs/replication.md) */
	MODEL_OP_KIND_COUNT
} model_op_kind;

typedef enum model_store_mode {
	MODEL_STORE_REPLACE, /* FLAGS */
	MODEL_STORE_ADD,     /* +FLAGS */
	MODEL_STORE_REMOVE,  /* -FLAGS */
} model_store_mode;

/* FETCH items requested / present. */
enum {
	MODEL_F_UID = 1 << 0,
	MODEL_F_FLAGS = 1 << 1,
	MODEL_F_MODSEQ = 1 << 2,
	MODEL_F_BODY = 1 << 3,   /* BODY.PEEK[]: content hash and size */
	MODEL_F_SIZE = 1 << 4,   /* RFC822.SIZE */
	MODEL_F_IDATE = 1 << 5,  /* INTERNALDATE */
	MODEL_F_ID = 1 << 6,     /* X-Ratchet-Id (from the body or a header fetch) */
};

/* Capabilities the checker cares about. */
enum {
	MODEL_CAP_IMAP4REV2 = 1 << 0,
	MODEL_CAP_UIDPLUS = 1 << 1,
	MODEL_CAP_CONDSTORE = 1 << 2,
	MODEL_CAP_QRESYNC = 1 << 3,
	MODEL_CAP_MOVE = 1 << 4,
	MODEL_CAP_ENABLE = 1 << 5,
	MODEL_CAP_LITERALPLUS = 1 << 6,
	MODEL_CAP_ESEARCH = 1 << 7,
};
/* A capability bit's name as servers spell it ("CONDSTORE", "LITERAL+");
 * NULL for anything but one known bit. */
const char *model_cap_name(unsigned cap);

/* STATUS items. */
enum {
	MODEL_STATUS_MESSAGES = 1 << 0,
	MODEL_STATUS_RECENT = 1 << 1,
	MODEL_STATUS_UIDNEXT = 1 << 2,
	MODEL_STATUS_UIDVALIDITY = 1 << 3,
	MODEL_STATUS_UNSEEN = 1 << 4,
	MODEL_STATUS_HIGHESTMODSEQ = 1 << 5,
};
#define MODEL_STATUS_COUNT 6
/* The IMAP names of the STATUS items, by bit position of MODEL_STATUS_*. */
extern const char *const model_status_item_names[MODEL_STATUS_COUNT];

typedef enum model_fault {
	MODEL_FAULT_NONE = 0,
	MODEL_FAULT_CRASH,       /* the store restarts: every session dies */
	MODEL_FAULT_KILL,        /* one client dies (may leave a stale lock) */
	MODEL_FAULT_ENOSPC,      /* one file-system call fails with ENOSPC */
	MODEL_FAULT_RENAME,      /* one rename fails */
	MODEL_FAULT_INDEX_LOSS,  /* a mailbox's log is lost: rebuilt, flags lost */
	MODEL_FAULT_PARTITION,   /* replication: the link between replica and peer goes down */
	MODEL_FAULT_HEAL,        /* ... and comes back */
} model_fault;

typedef struct model_op {
	model_op_kind kind;
	bool uid;                     /* UID form */
	cm_uidset set;                /* sequence or UID set */
	char mailbox[MODEL_NAME_MAX]; /* SELECT/STATUS/APPEND/CREATE/DELETE
				       * target; COPY/MOVE destination */
	/* SELECT/EXAMINE */
	bool readonly;
	bool condstore;               /* SELECT ... (CONDSTORE) */
	bool qresync;                 /* SELECT ... (QRESYNC (...)) */
	uint32_t q_uidvalidity;
	uint64_t q_modseq;
	cm_uidset q_known;            /* known UIDs (may be empty) */
	/* STORE */
	model_store_mode mode;
	cm_flags flags;               /* STORE flags; APPEND flags */
	bool silent;
	bool has_unchangedsince;
	uint64_t unchangedsince;
	/* FETCH */
	unsigned items;               /* MODEL_F_* */
	bool has_changedsince;
	uint64_t changedsince;
	bool vanished;                /* FETCH ... (CHANGEDSINCE m VANISHED) */
	/* APPEND / DELIVER */
	char msg_id[MODEL_ID_MAX];
	uint64_t body_hash;
	uint32_t size;
	/* ENABLE */
	unsigned caps;                /* MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC */
	/* STATUS */
	unsigned status_items;        /* MODEL_STATUS_* */
	/* FAULT */
	model_fault fault;
	uint32_t fault_client;        /* KILL: who; 0 = n/a */
	/* Replication (docs/replication.md): the replica the op runs
	 * against, 1..N (0: the target is not replicated; a FAULT with 0 hits
	 * every replica); SYNC and PARTITION/HEAL: the other replica. */
	uint32_t replica;
	uint32_t peer;
	/* SYNC: its changes are not recorded as ops of their own (an
	 * external command such as doveadm sync): each replica's checker
	 * lets it add, expunge and change flags while it runs. */
	bool opaque;
} model_op;

void model_op_init(model_op *op, model_op_kind kind);
void model_op_free(model_op *op);
void model_op_copy(model_op *dst, const model_op *src);
const char *model_op_name(model_op_kind kind);
model_op_kind model_op_parse(const char *name);
/* Human one-liner, IMAP-like ("UID STORE 1:3 +FLAGS (\Seen)"). */
void model_op_describe(cm_buf *out, const model_op *op);

/* ======================================================================
 * Results
 * ==================================================================== */

typedef enum model_reply {
	MODEL_REPLY_NONE = 0,
	MODEL_REPLY_OK,
	MODEL_REPLY_NO,
	MODEL_REPLY_BAD,
	MODEL_REPLY_UNKNOWN,   /* lost reply: disconnect, timeout, crash */
} model_reply;

typedef enum model_code_kind {
	MODEL_CODE_NONE = 0,
	MODEL_CODE_APPENDUID,     /* uidvalidity, set = assigned UIDs */
	MODEL_CODE_COPYUID,       /* uidvalidity, set = source, dst = destination */
	MODEL_CODE_MODIFIED,      /* set */
	MODEL_CODE_HIGHESTMODSEQ, /* value */
	MODEL_CODE_NOMODSEQ,
	MODEL_CODE_UIDNEXT,       /* value */
	MODEL_CODE_UIDVALIDITY,   /* value */
	MODEL_CODE_PERMANENTFLAGS,/* flags, star */
	MODEL_CODE_READ_ONLY,
	MODEL_CODE_READ_WRITE,
	MODEL_CODE_TRYCREATE,
	MODEL_CODE_CLOSED,
	MODEL_CODE_EXPUNGEISSUED,
	MODEL_CODE_OTHER,         /* name in text */
	MODEL_CODE_KIND_COUNT
} model_code_kind;

typedef struct model_code {
	model_code_kind kind;
	uint32_t uidvalidity;
	uint64_t value;
	cm_uidset set, dst;           /* COPYUID: source and destination UIDs; other codes: set */
	cm_flags flags;
	bool star;                 /* PERMANENTFLAGS (... \*) */
	char text[32];             /* OTHER: the code's name */
} model_code;

typedef struct model_fetch {
	unsigned has;              /* MODEL_F_* present */
	uint32_t uid;
	cm_flags flags;
	bool recent;
	uint64_t modseq;
	uint64_t body_hash;
	uint32_t size;
	int64_t idate;             /* seconds since the epoch */
	char id[MODEL_ID_MAX];
	bool duplicate_items;      /* an item appeared twice */
} model_fetch;

typedef enum model_ut_kind {
	MODEL_UT_EXISTS,     /* n */
	MODEL_UT_RECENT,     /* n */
	MODEL_UT_EXPUNGE,    /* n (sequence number) */
	MODEL_UT_VANISHED,   /* set, earlier */
	MODEL_UT_FETCH,      /* n = sequence number, fetch */
	MODEL_UT_FLAGS,      /* flags: FLAGS response (defined flags) */
	MODEL_UT_CODE,       /* an untagged OK/NO/BAD carrying code */
	MODEL_UT_SEARCH,     /* set (UIDs for UID SEARCH), value = MODSEQ or 0 */
	MODEL_UT_STATUS,     /* status */
	MODEL_UT_ENABLED,    /* caps */
	MODEL_UT_BYE,
	MODEL_UT_KIND_COUNT
} model_ut_kind;

typedef struct model_status_data {
	char mailbox[MODEL_NAME_MAX];
	unsigned has;              /* MODEL_STATUS_* present */
	uint32_t messages, recent, uidnext, uidvalidity, unseen;
	uint64_t highestmodseq;
} model_status_data;

typedef struct model_untagged {
	model_ut_kind kind;
	uint32_t n;
	bool earlier;
	uint64_t value;
	cm_uidset set;
	cm_flags flags;
	unsigned caps;
	model_fetch fetch;
	model_code code;
	model_status_data status;
} model_untagged;

typedef struct model_result {
	model_reply status;
	model_code code;           /* the tagged reply's code */
	model_untagged *ut;        /* untagged responses, in arrival order */
	size_t nut, cap_ut;
	char text[96];             /* NO/BAD/unknown reason, short */
	/* Embedded target only: what the store itself reported. */
	char anomaly[96];          /* e.g. "UID 7 listed but its file is missing" */
	/* Wire targets: the server broke the response grammar (RFC 3501 9,
	 * RFC 9051 9) and the connection was dropped: what rule, and the
	 * offending bytes, escaped (cm_escape). "" when not. */
	char protocol[256];
} model_result;

void model_result_init(model_result *r);
void model_result_free(model_result *r);
void model_result_clear(model_result *r);
void model_result_copy(model_result *dst, const model_result *src);
/* Appends a zeroed untagged response of the given kind and returns it. */
model_untagged *model_result_add(model_result *r, model_ut_kind kind);
/* sizeof(model_untagged), defined apart (sizes.c) so that
 * model_result_add's zeroing calls memset. */
extern const size_t model_untagged_size;
void model_code_free(model_code *c);
void model_code_copy(model_code *dst, const model_code *src);
const char *model_status_name(model_reply st);
const char *model_code_name(model_code_kind kind);
/* A response code's arguments as IMAP writes them after its name, each
 * preceded by a space (APPENDUID 7 1:3, PERMANENTFLAGS (\Seen \*), ...);
 * nothing for codes without any. */
void model_code_args_format(cm_buf *out, const model_code *c);
model_code_kind model_code_parse(const char *name);
const char *model_ut_name(model_ut_kind kind);

/* ======================================================================
 * Events and histories
 * ==================================================================== */

typedef enum model_ev_type {
	MODEL_EV_INVOKE,
	MODEL_EV_OK,
	MODEL_EV_FAIL,      /* NO or BAD: result.status says which */
	MODEL_EV_INFO,      /* outcome unknown (lost reply), or a fault */
} model_ev_type;

typedef struct model_event {
	model_ev_type type;
	uint32_t client;         /* 1..N; 0 for the simulator itself (faults) */
	uint64_t op_id;          /* unique in a history; invoke and completion share it */
	uint64_t t_ns;           /* monotonic (virtual in simulation), strictly increasing */
	model_op op;             /* complete on invoke; on completion a copy of it */
	model_result res;        /* on completion */
} model_event;

void model_event_init(model_event *ev);
void model_event_free(model_event *ev);
const char *model_ev_name(model_ev_type t);

/* The bytes of a message the harness adds, derived from its id only, so
 * that whoever adds it and whoever judges it agree on its hash and size
 * without asking anyone: headers naming id, then a body of letters (lines
 * of 76, CRLF only as a pair) up to size bytes (0: headers only). */
void model_message_bytes_sized(const char *id, uint32_t size, cm_buf *out);
void model_message_bytes(const char *id, cm_buf *out);

/* ======================================================================
 * Invariant catalogue
 * ==================================================================== */

typedef enum model_severity {
	MODEL_SEV_ERROR,
	MODEL_SEV_WARNING,
} model_severity;

typedef enum model_inv {
	/* A */
	MODEL_INV_UIDVALIDITY_STABLE, MODEL_INV_UID_IMMUTABLE, MODEL_INV_UID_NO_REUSE,
	MODEL_INV_UID_ASCENDING, MODEL_INV_UID_ORDER_GLOBAL, MODEL_INV_UIDNEXT_MONO,
	MODEL_INV_UID_BELOW_UIDNEXT, MODEL_INV_UID_NONEXISTENT_IGNORED, MODEL_INV_UID_NONZERO,
	/* B */
	MODEL_INV_EXPUNGE_SEQNUM_VALID, MODEL_INV_SESSION_VIEW_CONVERGES, MODEL_INV_EXPUNGE_DELETED_ONLY,
	/* C */
	MODEL_INV_FLAGS_MERGE, MODEL_INV_STORE_RESPONSE_VALUE, MODEL_INV_RECENT_SESSION,
	/* D */
	MODEL_INV_MODSEQ_POSITIVE, MODEL_INV_MODSEQ_STORE_UNIQUE, MODEL_INV_MODSEQ_MONO,
	MODEL_INV_MODSEQ_ON_CHANGE, MODEL_INV_MODSEQ_ON_APPEND, MODEL_INV_MODSEQ_IN_FETCH,
	MODEL_INV_HIGHESTMODSEQ_MONO, MODEL_INV_HIGHESTMODSEQ_COVERS, MODEL_INV_NOMODSEQ_RULES,
	/* E */
	MODEL_INV_UNCHANGEDSINCE_REJECT, MODEL_INV_UNCHANGEDSINCE_ACCEPT, MODEL_INV_MODIFIED_CORRECT,
	MODEL_INV_EXPUNGED_DURING_STORE,
	/* F */
	MODEL_INV_EXPUNGE_MODSEQ, MODEL_INV_VANISHED_INSTEAD, MODEL_INV_VANISHED_EARLIER_COMPLETE,
	MODEL_INV_CHANGEDSINCE_COMPLETE, MODEL_INV_SELECT_QRESYNC, MODEL_INV_QRESYNC_NO_GAP,
	/* G */
	MODEL_INV_APPEND_ATOMIC, MODEL_INV_APPENDUID_CONSISTENT, MODEL_INV_COPY_ATOMIC,
	MODEL_INV_COPYUID_CONSISTENT, MODEL_INV_ADD_NO_LOSS, MODEL_INV_DELIVER_ONCE, MODEL_INV_MOVE_NO_LOSS, MODEL_INV_MOVE_NO_DUP, MODEL_INV_MOVE_SHAPE,
	/* H */
	MODEL_INV_STORE_DURABLE, MODEL_INV_STORE_LOCK_FREE_READ, MODEL_INV_MODSEQ_REBUILD_MONO,
	MODEL_INV_REPL_CONVERGE, MODEL_INV_REPL_UID_FIXUP,
	MODEL_INV_REPL_FLAGS_MERGE, MODEL_INV_REPL_NO_RESURRECT,
	/* I */
	MODEL_INV_RESPONSE_SYNTAX,
	MODEL_INV_SCENARIO_EXPECT,
	MODEL_INV_COUNT
} model_inv;

typedef struct model_inv_info {
	model_inv inv;
	const char *id;          /* "UID-ASCENDING" */
	char section;            /* 'A'..'I' */
	model_severity severity; /* default */
	bool derived;            /* DERIVED: may be switched off */
	const char *source;      /* "RFC 3501 2.3.1.1" */
	const char *summary;
	/* The MODEL_CAP_* bit the check needs (0: none): against a target
	 * without it the check is skipped (the commands it judges are never
	 * sent), and listed so in a report's checks_skipped. */
	unsigned gated_by;
} model_inv_info;

const model_inv_info *model_inv_get(model_inv inv);
/* By ID string; NULL if unknown. */
const model_inv_info *model_inv_find(const char *id);
/* The family (section) name for reports: "A. UIDs and mailbox identity". */
const char *model_section_name(char section);

/* ======================================================================
 * Violations
 * ==================================================================== */

typedef struct model_violation {
	model_inv inv;
	model_severity severity;
	char mailbox[MODEL_NAME_MAX];  /* "" if not mailbox-specific */
	uint32_t uidvalidity;
	uint32_t uid;                  /* 0 if n/a */
	uint32_t client;
	uint64_t events[4];            /* op ids involved, 0-terminated */
	char detail[320];              /* what happened, for a server developer */
} model_violation;

#endif
