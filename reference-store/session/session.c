/* Sessions: lifecycle, dispatch, results and store errors, the handle
 * cache, and the commands that need no session state (CONNECT, LOGOUT, NOOP,
 * ENABLE). */
#include "session_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- results ---- */

void session_status(model_result *res, model_reply st, const char *fmt, ...)
{
	va_list ap;
	res->status = st;
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

model_untagged *session_ut_code(model_result *res, model_code_kind kind)
{
	model_untagged *u = model_result_add(res, MODEL_UT_CODE);
	u->code.kind = kind;
	return u;
}

void session_code_other(model_code *c, const char *name)
{
	c->kind = MODEL_CODE_OTHER;
	snprintf(c->text, sizeof(c->text), "%s", name);
}

void session_lost(rt_session *s, model_result *res, bool bye, const char *why)
{
	if (bye)
		model_result_add(res, MODEL_UT_BYE);
	model_code_free(&res->code);
	memset(&res->code, 0, sizeof(res->code));
	session_status(res, MODEL_REPLY_UNKNOWN, "%s", why);
	s->dead = true;
	session_unselect(s);
}

/* Still there, and still the same directory: a name deleted and created
 * again meanwhile is another mailbox (memfs never reuses inode numbers). */
bool session_mailbox_exists(rt_session *s, rs_mailbox *mb)
{
	rs_fs_stat st;
	if (s->fs->ops->stat(s->fs, rs_path(mb), &st) < 0 || !st.is_dir || st.is_link)
		return false;
	for (size_t i = 0; i < s->nh; i++)
		if (s->h[i].mb == mb)
			return s->h[i].dir_ino == st.ino;
	return true;
}

void session_store_error(rt_session *s, model_result *res, rs_mailbox *mb,
		    rs_err err, const char *what)
{
	if (s->dead || err == RS_EUNKNOWN) {
		session_lost(s, res, false, s->dead ? "session lost" : "outcome unknown");
		return;
	}
	if (mb != NULL && !session_mailbox_exists(s, mb)) {
		/* Deleted under us: neither a failure of ours nor an anomaly. */
		if (mb == s->sel)
			session_lost(s, res, true, "mailbox deleted");
		else
			session_status(res, MODEL_REPLY_NO, "Mailbox deleted meanwhile");
		return;
	}
	session_status(res, MODEL_REPLY_NO, "%s: %s", what, rs_strerror(err));
	switch (err) {
	case RS_ENOSPC: session_code_other(&res->code, "OVERQUOTA"); break;
	case RS_ELOCKED: session_code_other(&res->code, "INUSE"); break;
	case RS_EEXPUNGED: res->code.kind = MODEL_CODE_EXPUNGEISSUED; break;
	case RS_ECORRUPT: {
		/* Always an anomaly, even when the handle given holds no
		 * message: a COPY's missing source file is recorded on the
		 * destination's handle (copy.c:copy_error puts that one in). */
		const char *why = mb != NULL ? rs_last_error(mb) : s->open_error;
		session_code_other(&res->code, "SERVERBUG");
		snprintf(res->anomaly, sizeof(res->anomaly), "%s",
			 why[0] != '\0' ? why : "store corrupt");
		break;
	}
	default: break;
	}
}

/* ---- handles ---- */

static session_handle *handle_find(rt_session *s, const char *canon)
{
	for (size_t i = 0; i < s->nh; i++)
		if (strcmp(s->h[i].name, canon) == 0)
			return &s->h[i];
	return NULL;
}

static void handle_close(rt_session *s, session_handle *h)
{
	if (h->mb == s->sel)
		cm_panic("rt_session: closing the selected mailbox's handle");
	rs_close(h->mb);
	size_t i = (size_t)(h - s->h);
	memmove(&s->h[i], &s->h[i + 1], (s->nh - i - 1) * sizeof(*s->h));
	s->nh--;
}

void session_handle_drop(rt_session *s, const char *canon)
{
	session_handle *h = handle_find(s, canon);
	if (h != NULL)
		handle_close(s, h);
}

static rs_err handle_open(rt_session *s, const char *canon, const char *path,
			  uint64_t ino, rs_mailbox **mb_r)
{
	rs_options o = {.pid = s->opt.pid, .mutants = s->opt.mutants,
			.lock_timeout_ns = s->opt.lock_timeout_ns,
			.log_rotate_bytes = s->opt.log_rotate_bytes,
			.uid_step = s->opt.uid_step, .uid_phase = s->opt.uid_phase};
	char *msg = NULL;
	rs_err err = rs_open(s->fs, path, &o, mb_r, &msg);
	snprintf(s->open_error, sizeof(s->open_error), "%s", msg ? msg : "");
	free(msg);
	if (err != RS_OK)
		return err;
	CM_GROW(s->h, s->caph, s->nh + 1);
	session_handle *h = &s->h[s->nh++];
	snprintf(h->name, sizeof(h->name), "%s", canon);
	h->dir_ino = ino;
	h->mb = *mb_r;
	return RS_OK;
}

rs_err session_handle_get(rt_session *s, const char *name, rs_mailbox **mb_r)
{
	char canon[MODEL_NAME_MAX], path[RS_NAMESPACE_PATH_MAX];
	rs_fs_stat st;
	*mb_r = NULL;
	rs_namespace_canon(name, canon);
	if (rs_namespace_path(s->root, canon, path, sizeof(path)) < 0)
		return RS_ENOENT;
	int r = s->fs->ops->stat(s->fs, path, &st);
	session_handle *h = handle_find(s, canon);
	if (h != NULL && (h->mb == s->sel || (r == 0 && h->dir_ino == st.ino))) {
		/* The selected one stays: the sync notices a replacement. */
		*mb_r = h->mb;
		return RS_OK;
	}
	if (h != NULL)
		handle_close(s, h);
	/* Not through a link (free: the stat above says it). The full
	 * session_root_is_mailbox would cost three calls per open and change the
	 * simulator's schedules; rs_open refuses a plain directory (no log,
	 * no UID list) and writes nothing in it. */
	if (r < 0 || !st.is_dir || st.is_link)
		return r == -ENOENT || r == 0 ? RS_ENOENT : RS_EFAIL;
	return handle_open(s, canon, path, st.ino, mb_r);
}

bool session_is_selected(const rt_session *s, const char *name)
{
	char canon[MODEL_NAME_MAX];
	rs_namespace_canon(name, canon);
	return s->sel != NULL && strcmp(canon, s->sel_name) == 0;
}

/* ---- CONDSTORE state ---- */

bool session_has_condstore(const rt_session *s)
{
	return (s->caps & (MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC)) != 0;
}

void session_enable_condstore(rt_session *s)
{
	if (s->enabled & MODEL_CAP_CONDSTORE)
		return;
	s->enabled |= MODEL_CAP_CONDSTORE;
	/* 7162 3.1: the first enabling command while selected reports it. */
	if (s->sel != NULL)
		s->highestmodseq_untagged = true;
}

uint64_t session_highestmodseq(uint64_t modseq)
{
	return modseq != 0 ? modseq : 1;
}

/* ---- commands without session state ---- */

static void cmd_connect(rt_session *s, model_result *res)
{
	session_unselect(s);
	s->enabled = 0;
	s->logged_out = false;
	res->status = MODEL_REPLY_OK;
}

static void cmd_logout(rt_session *s, model_result *res)
{
	model_result_add(res, MODEL_UT_BYE);
	session_unselect(s);
	s->enabled = 0;
	s->logged_out = true;
	res->status = MODEL_REPLY_OK;
}

static void cmd_enable(rt_session *s, const model_op *op, model_result *res)
{
	if (!(s->caps & MODEL_CAP_ENABLE)) {
		session_status(res, MODEL_REPLY_BAD, "ENABLE not supported");
		return;
	}
	unsigned offered = s->caps & MODEL_CAP_QRESYNC;
	if (session_has_condstore(s))
		offered |= MODEL_CAP_CONDSTORE;
	unsigned newly = op->caps & offered & ~s->enabled;
	if (newly & MODEL_CAP_QRESYNC)
		s->enabled |= MODEL_CAP_QRESYNC;
	if (newly != 0)
		session_enable_condstore(s); /* QRESYNC implies CONDSTORE */
	model_untagged *u = model_result_add(res, MODEL_UT_ENABLED);
	u->caps = newly;
	res->status = MODEL_REPLY_OK;
}

/* ---- dispatch ---- */

static bool needs_selection(model_op_kind k)
{
	return k == MODEL_OP_STORE || k == MODEL_OP_FETCH || k == MODEL_OP_SEARCH ||
	       k == MODEL_OP_EXPUNGE || k == MODEL_OP_COPY || k == MODEL_OP_MOVE;
}

/* 3501 7.4.1: no EXPUNGE during FETCH, STORE or SEARCH (non-UID). */
static bool expunge_allowed(const model_op *op)
{
	return op->uid || !(op->kind == MODEL_OP_FETCH ||
			    op->kind == MODEL_OP_STORE ||
			    op->kind == MODEL_OP_SEARCH);
}

/* NOOP is the client's poll for new mail (3501 6.1.2): with outside
 * writers (rs_session_options.noop_scans_new), what a plain Maildir MDA
 * dropped into new/ is adopted here, as SELECT does; other commands only
 * read the log (a listing of new/ per command would cost every command
 * what only a poll needs). A failed adoption leaves the files to the next
 * writer: the poll itself still succeeds. */
static void cmd_noop(rt_session *s, model_result *res)
{
	if (s->opt.noop_scans_new && s->sel != NULL && !s->dead)
		(void)rs_sync(s->sel, true);
	res->status = MODEL_REPLY_OK;
}

static void run(rt_session *s, const model_op *op, model_result *res)
{
	switch (op->kind) {
	case MODEL_OP_CONNECT: cmd_connect(s, res); break;
	case MODEL_OP_LOGOUT: cmd_logout(s, res); break;
	case MODEL_OP_NOOP: cmd_noop(s, res); break;
	case MODEL_OP_ENABLE: cmd_enable(s, op, res); break;
	case MODEL_OP_SELECT: session_cmd_select(s, op, res); break;
	case MODEL_OP_STATUS: session_cmd_status(s, op, res); break;
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER: session_cmd_append(s, op, res); break;
	case MODEL_OP_CREATE: session_cmd_create(s, op, res); break;
	case MODEL_OP_DELETE: session_cmd_delete(s, op, res); break;
	case MODEL_OP_STORE: session_cmd_store(s, op, res); break;
	case MODEL_OP_FETCH: session_cmd_fetch(s, op, res); break;
	case MODEL_OP_SEARCH: session_cmd_search(s, op, res); break;
	case MODEL_OP_EXPUNGE: session_cmd_expunge(s, op, res); break;
	case MODEL_OP_COPY: session_cmd_copy(s, op, res); break;
	case MODEL_OP_MOVE: session_cmd_move(s, op, res); break;
	default: session_status(res, MODEL_REPLY_BAD, "Not a session command"); break;
	}
}

/* The sync at the end of a command, then what must follow it. */
static void finish(rt_session *s, const model_op *op, model_result *res)
{
	if (s->dead) {
		if (res->status != MODEL_REPLY_UNKNOWN)
			session_lost(s, res, false, "session lost");
		return;
	}
	if (res->status != MODEL_REPLY_OK && res->status != MODEL_REPLY_NO)
		return;
	if (op->kind == MODEL_OP_SELECT || op->kind == MODEL_OP_CONNECT ||
	    op->kind == MODEL_OP_LOGOUT || op->kind == MODEL_OP_DELIVER ||
	    s->sel == NULL)
		return;
	if (!session_sync(s, res, expunge_allowed(op)))
		return;
	if (s->highestmodseq_untagged) {
		model_untagged *u = session_ut_code(res, MODEL_CODE_HIGHESTMODSEQ);
		u->code.value = session_highestmodseq(s->synced_highestmodseq);
	}
	/* 7162 3.2.7/3.2.9, 6851 4.4: the modseq after the expunges. */
	if (s->highestmodseq_tagged && res->status == MODEL_REPLY_OK &&
	    res->code.kind == MODEL_CODE_NONE) {
		res->code.kind = MODEL_CODE_HIGHESTMODSEQ;
		res->code.value = session_highestmodseq(s->synced_highestmodseq);
	}
}

void rs_session_exec(rt_session *s, const model_op *op, model_result *res)
{
	model_result_clear(res);
	s->highestmodseq_untagged = s->highestmodseq_tagged = false;
	if (s->dead) {
		session_status(res, MODEL_REPLY_UNKNOWN, "session lost");
		return;
	}
	if (s->logged_out && op->kind != MODEL_OP_CONNECT &&
	    op->kind != MODEL_OP_DELIVER) {
		session_status(res, MODEL_REPLY_UNKNOWN, "not connected");
		return;
	}
	if (needs_selection(op->kind) && s->sel == NULL) {
		session_status(res, MODEL_REPLY_BAD, "No mailbox selected");
		return;
	}
	run(s, op, res);
	finish(s, op, res);
}

/* ---- lifecycle ---- */

rt_session *rs_session_new(rs_fs *fs, const char *root,
			   const rs_session_options *opts)
{
	if (root[0] != '/' || strchr(root, ' ') != NULL)
		cm_panic("rt_session: root must be absolute without spaces: %s", root);
	rt_session *s = cm_xcalloc(1, sizeof(*s));
	s->fs = fs;
	s->root = cm_xstrdup(root);
	if (opts != NULL)
		s->opt = *opts;
	s->caps = s->opt.caps ? s->opt.caps : RT_SESSION_CAPS_DEFAULT;
	s->caps &= ~(unsigned)(MODEL_CAP_IMAP4REV2 | MODEL_CAP_ESEARCH);
	session_unselect(s);
	return s;
}

void rs_session_kill(rt_session *s)
{
	s->dead = true;
}

void rs_session_free(rt_session *s)
{
	if (s == NULL)
		return;
	s->sel = NULL;
	for (size_t i = 0; i < s->nh; i++)
		rs_close(s->h[i].mb);
	free(s->h);
	free(s->m);
	free(s->targets);
	cm_uidset_free(&s->set);
	cm_uidset_free(&s->expunged);
	cm_buf_free(&s->buf);
	free(s->root);
	free(s);
}

bool rs_session_alive(const rt_session *s)
{
	return !s->dead;
}

unsigned rs_session_capabilities(const rt_session *s)
{
	return s->caps;
}

const char *rs_session_selected(const rt_session *s)
{
	return s->sel != NULL ? s->sel_name : NULL;
}

size_t rs_session_exists(const rt_session *s)
{
	return s->sel != NULL ? s->n : 0;
}

uint32_t rs_session_uid_at(const rt_session *s, size_t seq)
{
	return s->sel != NULL && seq >= 1 && seq <= s->n ? s->m[seq - 1].uid : 0;
}
