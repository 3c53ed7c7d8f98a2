/* COPY, UID COPY (3501 6.4.7, 4315 COPYUID), MOVE and UID MOVE (6851). */
#include "session_private.h"

#include <stdio.h>
#include <string.h>

/* The destination's handle: the selected one for itself; NO [TRYCREATE]
 * (false) when it does not exist. */
static bool dest_get(rt_session *s, const model_op *op, model_result *res,
		     rs_mailbox **mb_r)
{
	if (session_is_selected(s, op->mailbox)) {
		*mb_r = s->sel;
		return true;
	}
	rs_err err = session_handle_get(s, op->mailbox, mb_r);
	if (err == RS_OK)
		return true;
	if (err == RS_ENOENT && !s->dead) {
		session_status(res, MODEL_REPLY_NO, "No such mailbox");
		res->code.kind = MODEL_CODE_TRYCREATE;
	} else {
		session_store_error(s, res, NULL, err, "open destination");
	}
	return false;
}

/* A failed rs_copy/rs_move. A destination deleted meanwhile makes the
 * link into its tmp/ fail, which the store cannot tell from a missing
 * source file: check before calling it an anomaly. */
static void copy_error(rt_session *s, model_result *res, rs_mailbox *dst,
		       rs_err err, const char *what)
{
	if (!s->dead && err != RS_EUNKNOWN && !session_mailbox_exists(s, dst)) {
		session_status(res, MODEL_REPLY_NO, "Mailbox deleted meanwhile");
		res->code.kind = MODEL_CODE_TRYCREATE;
		return;
	}
	session_store_error(s, res, s->sel, err, what);
	/* The copy's failures (a source file missing at link time) are
	 * recorded on the destination's handle. */
	if (res->anomaly[0] != '\0')
		snprintf(res->anomaly, sizeof(res->anomaly), "%s", rs_last_error(dst));
}

static void copyuid(model_code *c, const rs_copy_result *r)
{
	c->kind = MODEL_CODE_COPYUID;
	c->uidvalidity = r->dst_uidvalidity;
	cm_uidset_copy(&c->set, &r->src);
	cm_uidset_copy(&c->dst, &r->dst);
}

static bool copy_args_ok(const model_op *op, model_result *res)
{
	if (op->set.n == 0 || op->mailbox[0] == '\0') {
		session_status(res, MODEL_REPLY_BAD, "Empty set or missing mailbox");
		return false;
	}
	return true;
}

void session_cmd_copy(rt_session *s, const model_op *op, model_result *res)
{
	rs_mailbox *dst;
	if (!copy_args_ok(op, res) || !session_prepare(s, op, res, true, false) ||
	    !dest_get(s, op, res, &dst))
		return;
	rs_copy_result r = {0};
	rs_err err = s->set.n == 0 ? RS_OK : rs_copy(s->sel, dst, &s->set, &r);
	if (err != RS_OK || s->dead) {
		copy_error(s, res, dst, err, "COPY");
	} else {
		if ((s->caps & MODEL_CAP_UIDPLUS) && r.src.n > 0)
			copyuid(&res->code, &r);
		res->status = MODEL_REPLY_OK;
	}
	rs_copy_result_free(&r);
}

static bool move_allowed(rt_session *s, const model_op *op, model_result *res)
{
	if (!(s->caps & MODEL_CAP_MOVE)) {
		session_status(res, MODEL_REPLY_BAD, "MOVE not supported");
		return false;
	}
	if (!copy_args_ok(op, res))
		return false;
	if (s->readonly) {
		session_status(res, MODEL_REPLY_NO, "Mailbox is read-only");
		return false;
	}
	if (session_is_selected(s, op->mailbox)) {
		session_status(res, MODEL_REPLY_NO, "Cannot move into the same mailbox");
		return false;
	}
	return true;
}

/* 6851 3.3/4.3: COPYUID in an untagged OK before the expunges, which the
 * sync after the command sends; then the tagged OK. */
void session_cmd_move(rt_session *s, const model_op *op, model_result *res)
{
	rs_mailbox *dst;
	if (!move_allowed(s, op, res) || !session_prepare(s, op, res, false, false) ||
	    !dest_get(s, op, res, &dst))
		return;
	rs_copy_result r = {0};
	rs_err err = s->set.n == 0 ? RS_OK : rs_move(s->sel, dst, &s->set, &r);
	if (err != RS_OK || s->dead) {
		copy_error(s, res, dst, err, "MOVE");
	} else {
		if ((s->caps & MODEL_CAP_UIDPLUS) && r.src.n > 0)
			copyuid(&session_ut_code(res, MODEL_CODE_COPYUID)->code, &r);
		s->highestmodseq_tagged = (s->enabled & MODEL_CAP_QRESYNC) != 0;
		res->status = MODEL_REPLY_OK;
	}
	rs_copy_result_free(&r);
}
