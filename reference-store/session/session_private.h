/* Internals of the session module: the session state of the selected
 * mailbox, the handle cache and helpers shared by the command files. */
#ifndef SESSION_INT_H
#define SESSION_INT_H

#include "rs_session.h"

#include <stdarg.h>

/* One message as the client knows it. */
typedef struct session_msg {
	uint32_t uid;
	cm_flags flags;   /* as last told to the client (or believed by it) */
	uint64_t modseq;  /* as last told (absorbed silently without CONDSTORE) */
	bool recent;      /* \Recent in this session */
	bool gone;        /* expunged in the store, not reported yet */
} session_msg;

typedef struct session_handle {
	char name[MODEL_NAME_MAX]; /* canonical */
	uint64_t dir_ino;          /* a re-created mailbox gets a new handle */
	rs_mailbox *mb;
} session_handle;

struct rt_session {
	rs_fs *fs;
	char *root;
	rs_session_options opt;
	unsigned caps;            /* offered */
	unsigned enabled;         /* MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC */
	bool dead;
	bool logged_out;
	session_handle *h;
	size_t nh, caph;

	/* Selected state (sel == NULL: authenticated state). */
	rs_mailbox *sel;          /* borrowed from the cache */
	char sel_name[MODEL_NAME_MAX];
	bool readonly;
	uint32_t uidvalidity;
	session_msg *m;                /* index = sequence number - 1 */
	size_t n, cap;
	size_t ngone;
	bool sorted;              /* UIDs ascend (false only if the store erred) */
	uint32_t max_uid;         /* highest UID ever in this session state */
	cm_flags defined;         /* flags announced in FLAGS */
	uint64_t synced_highestmodseq;      /* the session state is complete up to this modseq */
	uint64_t seen_gen;        /* rs_state_generation at the last diff */

	/* Per command. */
	bool highestmodseq_untagged;        /* first CONDSTORE enabling: send HIGHESTMODSEQ */
	bool highestmodseq_tagged;          /* EXPUNGE/MOVE with QRESYNC: tagged HIGHESTMODSEQ */
	size_t *targets;               /* targets: session-state indices in sequence order */
	size_t ntargets, captargets;
	cm_uidset set;            /* targets' UIDs */
	cm_uidset expunged;            /* the UIDs an EXPUNGE removed */
	cm_buf buf;
	char open_error[96];     /* why the last handle failed to open */
};

/* namespace.c: CREATE and DELETE on behalf of a session's pid */
/* Whether path is a mailbox of the store: a directory, not a symbolic
 * link, holding tmp, new and cur as directories, not links (rs_create
 * makes them first and nothing removes them; a mailbox appears by rename,
 * complete). LIST, DELETE and opening a mailbox all ask this: a plain
 * directory or a link under the root is no mailbox. *st_r: the
 * directory's stat when true. */
bool session_root_is_mailbox(rs_fs *fs, const char *path, rs_fs_stat *st_r);
rs_err session_root_create(rs_fs *fs, const char *root, const char *name, uint32_t pid);
rs_err session_root_delete(rs_fs *fs, const char *root, const char *name, uint32_t pid);

/* session.c: results, errors, handles, CONDSTORE state */
void session_status(model_result *res, model_reply st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
model_untagged *session_ut_code(model_result *res, model_code_kind kind);
void session_code_other(model_code *c, const char *name);
/* The session ends: optional untagged BYE, UNKNOWN. */
void session_lost(rt_session *s, model_result *res, bool bye, const char *why);
/* A failed store call on mb: NO with a code, anomaly, or UNKNOWN. */
void session_store_error(rt_session *s, model_result *res, rs_mailbox *mb,
		    rs_err err, const char *what);
/* The cached handle of a mailbox (RS_ENOENT: no such mailbox). */
rs_err session_handle_get(rt_session *s, const char *name, rs_mailbox **mb_r);
void session_handle_drop(rt_session *s, const char *canon);
bool session_is_selected(const rt_session *s, const char *name);
bool session_mailbox_exists(rt_session *s, rs_mailbox *mb);
bool session_has_condstore(const rt_session *s);
void session_enable_condstore(rt_session *s);
uint64_t session_highestmodseq(uint64_t modseq);

/* sync.c: the session state */
void session_unselect(rt_session *s);
session_msg *session_append_msg(rt_session *s, const rs_msg *m);
/* Index of uid in the session state, or -1. */
long session_find(const rt_session *s, uint32_t uid);
/* Marks recent the messages from index first on that are in new/. */
void session_claim_recent(rt_session *s, size_t first);
size_t session_recent_count(const rt_session *s);
/* Sends FLAGS and PERMANENTFLAGS first if flags has unannounced keywords. */
void session_announce_flags(rt_session *s, model_result *res, cm_flags flags);
void session_put_defined(rt_session *s, model_result *res);
/* An untagged FETCH for session state index idx with FLAGS (and \Recent). */
model_untagged *session_fetch_flags(rt_session *s, model_result *res, size_t idx,
			       cm_flags flags);
/* rs_sync and report: false if the session died. */
bool session_sync(rt_session *s, model_result *res, bool allow_expunge);
/* Resolves op->set into targets/set: BAD (false) for a sequence number beyond
 * the session state; UIDs restricted to the session state. */
bool session_resolve(rt_session *s, const model_op *op, model_result *res);
/* resolve + the sync before a command, in the order its form requires. */
bool session_prepare(rt_session *s, const model_op *op, model_result *res,
		bool allow_expunge, bool condstore);
void session_set_intersect(cm_uidset *out, const cm_uidset *a, const cm_uidset *b);

/* digest.c: a message's body items (body_hash, size, idate, id) into f,
 * from the file system's cache when one stat shows the same file, else
 * read: RS_OK, or the error of rs_fetch_stat or rs_fetch_body (RS_ENOENT:
 * expunged meanwhile). */
rs_err session_digest_fetch(rt_session *s, uint32_t uid, model_fetch *f);

/* Command handlers. */
void session_cmd_select(rt_session *s, const model_op *op, model_result *res);
void session_cmd_fetch(rt_session *s, const model_op *op, model_result *res);
void session_cmd_search(rt_session *s, const model_op *op, model_result *res);
void session_cmd_store(rt_session *s, const model_op *op, model_result *res);
void session_cmd_expunge(rt_session *s, const model_op *op, model_result *res);
void session_cmd_copy(rt_session *s, const model_op *op, model_result *res);
void session_cmd_move(rt_session *s, const model_op *op, model_result *res);
void session_cmd_status(rt_session *s, const model_op *op, model_result *res);
void session_cmd_append(rt_session *s, const model_op *op, model_result *res);
void session_cmd_create(rt_session *s, const model_op *op, model_result *res);
void session_cmd_delete(rt_session *s, const model_op *op, model_result *res);

#endif
