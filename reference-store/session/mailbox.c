/* Commands on named mailboxes: STATUS, APPEND (and local delivery),
 * CREATE, DELETE (3501 6.3.3-4, 6.3.10-11, 4315 APPENDUID, 7162 3.1.7). */
#include "session_private.h"

#include <stdio.h>
#include <string.h>

static void put_status(model_status_data *d, const model_op *op,
		       const rs_status *st)
{
	unsigned want = op->status_items;
	snprintf(d->mailbox, sizeof(d->mailbox), "%s", op->mailbox);
	d->has = want & (MODEL_STATUS_MESSAGES | MODEL_STATUS_RECENT | MODEL_STATUS_UIDNEXT |
			 MODEL_STATUS_UIDVALIDITY | MODEL_STATUS_UNSEEN | MODEL_STATUS_HIGHESTMODSEQ);
	d->messages = st->messages;
	d->recent = st->recent;
	d->uidnext = st->uidnext;
	d->uidvalidity = st->uidvalidity;
	d->unseen = st->unseen;
	d->highestmodseq = session_highestmodseq(st->highestmodseq);
}

void session_cmd_status(rt_session *s, const model_op *op, model_result *res)
{
	bool highestmodseq = (op->status_items & MODEL_STATUS_HIGHESTMODSEQ) != 0;
	if (op->mailbox[0] == '\0' || op->status_items == 0) {
		session_status(res, MODEL_REPLY_BAD, "Missing mailbox or items");
		return;
	}
	if (highestmodseq && !session_has_condstore(s)) {
		session_status(res, MODEL_REPLY_BAD, "CONDSTORE not supported");
		return;
	}
	if (highestmodseq)
		session_enable_condstore(s); /* 7162 3.1: an enabling command */
	rs_mailbox *mb = NULL;
	rs_status st;
	rs_err err = session_handle_get(s, op->mailbox, &mb);
	if (err == RS_OK)
		err = rs_status_get(mb, &st);
	if (err == RS_ENOENT && !s->dead && mb == NULL) {
		session_status(res, MODEL_REPLY_NO, "No such mailbox");
		return;
	}
	if (err != RS_OK || s->dead) {
		session_store_error(s, res, mb, err, "STATUS");
		return;
	}
	put_status(&model_result_add(res, MODEL_UT_STATUS)->status, op, &st);
	res->status = MODEL_REPLY_OK;
}

static void append_failed(rt_session *s, model_result *res, rs_mailbox *mb,
			  rs_err err)
{
	bool gone = err == RS_ENOENT ||
		    (mb != NULL && mb != s->sel && err != RS_EUNKNOWN &&
		     !session_mailbox_exists(s, mb));
	if (!s->dead && gone) {
		session_status(res, MODEL_REPLY_NO, "No such mailbox");
		res->code.kind = MODEL_CODE_TRYCREATE;
		return;
	}
	session_store_error(s, res, mb, err, "APPEND");
}

/* APPEND, and DELIVER (the same without IMAP state). */
void session_cmd_append(rt_session *s, const model_op *op, model_result *res)
{
	if (op->mailbox[0] == '\0' || op->msg_id[0] == '\0') {
		session_status(res, MODEL_REPLY_BAD, "Missing mailbox or message");
		return;
	}
	rs_mailbox *mb = NULL;
	rs_err err = session_handle_get(s, op->mailbox, &mb);
	uint32_t uid = 0;
	uint64_t modseq = 0;
	if (err == RS_OK) {
		model_message_bytes_sized(op->msg_id, op->size, &s->buf);
		err = rs_append(mb, s->buf.data, s->buf.len, op->flags, &uid, &modseq);
	}
	if (err != RS_OK || s->dead) {
		append_failed(s, res, mb, s->dead ? RS_EFAIL : err);
		return;
	}
	if (s->caps & MODEL_CAP_UIDPLUS) {
		res->code.kind = MODEL_CODE_APPENDUID;
		res->code.uidvalidity = rs_uidvalidity(mb);
		cm_uidset_add(&res->code.set, uid);
	}
	res->status = MODEL_REPLY_OK;
}

/* CREATE and DELETE name a mailbox, and never INBOX: false (answered)
 * otherwise; canon gets the canonical name. */
static bool name_ok(const model_op *op, model_result *res, const char *verb,
		    char canon[MODEL_NAME_MAX])
{
	if (op->mailbox[0] == '\0') {
		session_status(res, MODEL_REPLY_BAD, "Missing mailbox name");
		return false;
	}
	rs_namespace_canon(op->mailbox, canon);
	if (strcmp(canon, "INBOX") == 0) {
		session_status(res, MODEL_REPLY_NO, "Cannot %s INBOX", verb);
		return false;
	}
	return true;
}

void session_cmd_create(rt_session *s, const model_op *op, model_result *res)
{
	char canon[MODEL_NAME_MAX];
	if (!name_ok(op, res, "create", canon))
		return;
	rs_err err = session_root_create(s->fs, s->root, op->mailbox, s->opt.pid);
	if (s->dead || err == RS_EUNKNOWN)
		session_store_error(s, res, NULL, RS_EUNKNOWN, "CREATE");
	else if (err == RS_EEXIST)
		session_status(res, MODEL_REPLY_NO, "Mailbox exists");
	else if (err == RS_EINVAL)
		session_status(res, MODEL_REPLY_NO, "Invalid mailbox name");
	else if (err != RS_OK)
		session_store_error(s, res, NULL, err, "CREATE");
	else
		res->status = MODEL_REPLY_OK;
}

void session_cmd_delete(rt_session *s, const model_op *op, model_result *res)
{
	char canon[MODEL_NAME_MAX];
	if (!name_ok(op, res, "delete", canon))
		return;
	/* A rename: our handle (selected or not) is simply left behind. */
	rs_err err = session_root_delete(s->fs, s->root, canon, s->opt.pid);
	if (err == RS_OK) {
		if (session_is_selected(s, canon))
			session_unselect(s);
		session_handle_drop(s, canon);
	}
	if (s->dead || err == RS_EUNKNOWN)
		session_store_error(s, res, NULL, RS_EUNKNOWN, "DELETE");
	else if (err == RS_ENOENT || err == RS_EINVAL)
		session_status(res, MODEL_REPLY_NO, "No such mailbox");
	else if (err != RS_OK)
		session_store_error(s, res, NULL, err, "DELETE");
	else
		res->status = MODEL_REPLY_OK;
}
