/* FETCH, UID FETCH (CHANGEDSINCE, VANISHED) and (UID) SEARCH ALL. */
#include "session_private.h"

#include <stdio.h>
#include <string.h>

enum { BODY_ITEMS = MODEL_F_BODY | MODEL_F_SIZE | MODEL_F_IDATE | MODEL_F_ID };

static bool fetch_args_ok(rt_session *s, const model_op *op, model_result *res)
{
	bool cond = op->has_changedsince || (op->items & MODEL_F_MODSEQ);
	const char *why = NULL;
	if (op->set.n == 0 || op->items == 0)
		why = "Empty set or no items";
	else if (cond && !session_has_condstore(s))
		why = "CONDSTORE not supported";
	else if (op->has_changedsince && op->changedsince > INT64_MAX)
		why = "Invalid CHANGEDSINCE";
	else if (op->vanished && (!op->uid || !op->has_changedsince))
		why = "VANISHED needs UID FETCH and CHANGEDSINCE"; /* 7162 3.2.6 */
	else if (op->vanished && !(s->enabled & MODEL_CAP_QRESYNC))
		why = "QRESYNC not enabled";
	if (why != NULL)
		session_status(res, MODEL_REPLY_BAD, "%s", why);
	return why == NULL;
}

/* 7162 3.2.6: UIDs of the set expunged above the modseq, before any FETCH. */
static void report_vanished(rt_session *s, const model_op *op, model_result *res)
{
	cm_uidset changed = {0}, vanished = {0};
	rs_changes_since(s->sel, op->changedsince, &changed, &vanished);
	session_set_intersect(&changed, &vanished, &op->set);
	if (changed.n > 0) {
		model_untagged *u = model_result_add(res, MODEL_UT_VANISHED);
		u->earlier = true;
		cm_uidset_copy(&u->set, &changed);
	}
	cm_uidset_free(&changed);
	cm_uidset_free(&vanished);
}

/* The body-derived items; false (result set) on a failure. *skip_r when
 * the message was expunged meanwhile. */
static bool read_body(rt_session *s, uint32_t uid, model_fetch *f,
		      model_result *res, bool *skip_r)
{
	rs_err err = session_digest_fetch(s, uid, f);
	*skip_r = err == RS_ENOENT;
	if (s->dead) {
		session_lost(s, res, false, "session lost");
		return false;
	}
	if (err != RS_OK && err != RS_ENOENT) {
		/* RS_ECORRUPT: listed but its file is missing (an anomaly). */
		session_store_error(s, res, s->sel, err, "FETCH");
		return false;
	}
	return true;
}

static bool fetch_one(rt_session *s, const model_op *op, model_result *res,
		      size_t idx, unsigned items)
{
	uint32_t uid = s->m[idx].uid;
	const rs_msg *cur = rs_msg_find(s->sel, uid);
	if (s->m[idx].gone || cur == NULL)
		return true; /* expunged: nothing to show (3501 7.4.1 allows) */
	if (op->has_changedsince && cur->modseq <= op->changedsince)
		return true;
	model_fetch f = {0};
	if (items & BODY_ITEMS) {
		bool skip;
		if (!read_body(s, uid, &f, res, &skip))
			return false;
		/* The read may have synced the handle. */
		if (skip || (cur = rs_msg_find(s->sel, uid)) == NULL)
			return true;
	}
	if (items & MODEL_F_FLAGS)
		session_announce_flags(s, res, cur->flags);
	model_untagged *u = model_result_add(res, MODEL_UT_FETCH);
	u->n = (uint32_t)(idx + 1);
	f.has = items;
	f.uid = uid;
	f.flags = cur->flags;
	f.recent = (items & MODEL_F_FLAGS) && s->m[idx].recent;
	f.modseq = cur->modseq;
	u->fetch = f;
	if (items & MODEL_F_FLAGS)
		s->m[idx].flags = cur->flags;
	if (items & MODEL_F_MODSEQ)
		s->m[idx].modseq = cur->modseq;
	return true;
}

void session_cmd_fetch(rt_session *s, const model_op *op, model_result *res)
{
	if (!fetch_args_ok(s, op, res))
		return;
	bool cond = op->has_changedsince || (op->items & MODEL_F_MODSEQ);
	if (!session_prepare(s, op, res, true, cond))
		return;
	if (op->vanished)
		report_vanished(s, op, res);
	/* UID FETCH always returns UID; CHANGEDSINCE implies MODSEQ. */
	unsigned items = op->items | (op->uid ? MODEL_F_UID : 0) |
			 (op->has_changedsince ? MODEL_F_MODSEQ : 0);
	for (size_t t = 0; t < s->ntargets; t++)
		if (!fetch_one(s, op, res, s->targets[t], items))
			return;
	res->status = MODEL_REPLY_OK;
}

void session_cmd_search(rt_session *s, const model_op *op, model_result *res)
{
	if (!session_sync(s, res, op->uid))
		return;
	model_untagged *u = model_result_add(res, MODEL_UT_SEARCH);
	if (!op->uid && s->n > 0)
		cm_uidset_add_range(&u->set, 1, (uint32_t)s->n);
	for (size_t i = 0; op->uid && i < s->n; i++)
		cm_uidset_add(&u->set, s->m[i].uid);
	res->status = MODEL_REPLY_OK;
}
