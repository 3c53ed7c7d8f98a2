/* SELECT and EXAMINE, with the CONDSTORE and QRESYNC parameters
 * (3501 6.3.1-2, 7162 3.1.8, 3.2.5, 3.2.11). */
#include "session_private.h"

#include <stdlib.h>
#include <string.h>

static void put_code(model_result *res, model_code_kind kind, uint64_t value)
{
	session_ut_code(res, kind)->code.value = value;
}

static bool select_args_ok(rt_session *s, const model_op *op, model_result *res)
{
	const char *why = NULL;
	if (op->mailbox[0] == '\0')
		why = "Missing mailbox name";
	else if (op->condstore && !session_has_condstore(s))
		why = "CONDSTORE not supported";
	else if (op->qresync && !(s->enabled & MODEL_CAP_QRESYNC))
		why = "QRESYNC not enabled"; /* 7162 3.2.3 */
	else if (op->qresync && (op->q_uidvalidity == 0 || op->q_modseq > INT64_MAX))
		why = "Invalid QRESYNC parameters";
	if (why != NULL)
		session_status(res, MODEL_REPLY_BAD, "%s", why);
	return why == NULL;
}

/* The session state is the store's state: nothing to report but the totals. */
static void load(rt_session *s, rs_mailbox *mb, const model_op *op)
{
	s->sel = mb;
	rs_namespace_canon(op->mailbox, s->sel_name);
	s->readonly = op->readonly;
	s->uidvalidity = rs_uidvalidity(mb);
	s->defined = CM_FLAGS_SYSTEM;
	for (size_t j = 0; j < rs_count(mb); j++)
		s->defined |= session_append_msg(s, rs_msg_at(mb, j))->flags;
	s->synced_highestmodseq = rs_highestmodseq(mb);
	s->seen_gen = rs_state_generation(mb);
	session_claim_recent(s, 0);
}

static void put_state(rt_session *s, model_result *res)
{
	session_put_defined(s, res);
	model_result_add(res, MODEL_UT_EXISTS)->n = (uint32_t)s->n;
	model_result_add(res, MODEL_UT_RECENT)->n = (uint32_t)session_recent_count(s);
	for (size_t i = 0; i < s->n; i++) {
		if (s->m[i].flags & CM_FLAG_SEEN)
			continue;
		model_untagged *u = model_result_add(res, MODEL_UT_CODE);
		session_code_other(&u->code, "UNSEEN");
		u->code.value = i + 1;
		break;
	}
	put_code(res, MODEL_CODE_UIDVALIDITY, s->uidvalidity);
	put_code(res, MODEL_CODE_UIDNEXT, rs_uidnext(s->sel));
	if (s->enabled & MODEL_CAP_CONDSTORE)
		put_code(res, MODEL_CODE_HIGHESTMODSEQ, session_highestmodseq(s->synced_highestmodseq));
}

/* 7162 3.2.5.1: as UID FETCH known (FLAGS) (CHANGEDSINCE m VANISHED),
 * VANISHED (EARLIER) first. */
static void qresync(rt_session *s, const model_op *op, model_result *res)
{
	cm_uidset changed = {0}, vanished = {0};
	const cm_uidset *known = &op->q_known;
	rs_changes_since(s->sel, op->q_modseq, &changed, &vanished);
	if (known->n > 0) {
		session_set_intersect(&changed, &vanished, known);
		cm_uidset_copy(&vanished, &changed);
	}
	if (vanished.n > 0) {
		model_untagged *u = model_result_add(res, MODEL_UT_VANISHED);
		u->earlier = true;
		cm_uidset_copy(&u->set, &vanished);
	}
	for (size_t i = 0; i < s->n; i++) {
		const session_msg *m = &s->m[i];
		if (m->modseq <= op->q_modseq ||
		    (known->n > 0 && !cm_uidset_contains(known, m->uid)))
			continue;
		model_untagged *u = session_fetch_flags(s, res, i, m->flags);
		u->fetch.has |= MODEL_F_UID | MODEL_F_MODSEQ;
		u->fetch.uid = m->uid;
		u->fetch.modseq = m->modseq;
	}
	cm_uidset_free(&changed);
	cm_uidset_free(&vanished);
}

static void open_failed(rt_session *s, model_result *res, rs_mailbox *mb,
			rs_err err)
{
	if (err == RS_ENOENT && !s->dead)
		session_status(res, MODEL_REPLY_NO, "No such mailbox");
	else
		session_store_error(s, res, mb, err, "SELECT");
}

void session_cmd_select(rt_session *s, const model_op *op, model_result *res)
{
	if (!select_args_ok(s, op, res))
		return;
	if (s->sel != NULL) {
		/* 7162 3.2.11: a boundary before the new mailbox's data. */
		if (session_has_condstore(s))
			session_ut_code(res, MODEL_CODE_CLOSED);
		session_unselect(s);
	}
	if (op->condstore)
		s->enabled |= MODEL_CAP_CONDSTORE; /* SELECT reports it */
	rs_mailbox *mb = NULL;
	rs_err err = session_handle_get(s, op->mailbox, &mb);
	if (err == RS_OK)
		err = rs_sync(mb, true);
	if (err != RS_OK || s->dead) {
		open_failed(s, res, mb, s->dead ? RS_EFAIL : err);
		return;
	}
	load(s, mb, op);
	if (s->dead) {
		session_lost(s, res, false, "session lost");
		return;
	}
	put_state(s, res);
	if (op->qresync && op->q_uidvalidity == s->uidvalidity)
		qresync(s, op, res);
	res->status = MODEL_REPLY_OK;
	res->code.kind = op->readonly ? MODEL_CODE_READ_ONLY : MODEL_CODE_READ_WRITE;
}
