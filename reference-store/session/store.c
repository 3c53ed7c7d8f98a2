/* STORE and UID STORE (3501 6.4.6, 7162 3.1.3), EXPUNGE and UID EXPUNGE
 * (3501 6.4.3, 4315 2.1, 7162 3.2.7, 3.2.9). */
#include "session_private.h"

static rs_store_mode store_mode(model_store_mode mode)
{
	switch (mode) {
	case MODEL_STORE_REPLACE: return RS_STORE_REPLACE;
	case MODEL_STORE_ADD: return RS_STORE_ADD;
	case MODEL_STORE_REMOVE: return RS_STORE_REMOVE;
	}
	cm_panic("bad store mode %d", (int)mode);
}

static cm_flags store_apply(model_store_mode mode, cm_flags old, cm_flags flags)
{
	switch (mode) {
	case MODEL_STORE_REPLACE: return flags;
	case MODEL_STORE_ADD: return old | flags;
	case MODEL_STORE_REMOVE: return old & ~flags;
	}
	cm_panic("bad store mode %d", (int)mode);
}

static bool store_args_ok(rt_session *s, const model_op *op, model_result *res)
{
	const char *why = NULL;
	if (op->set.n == 0)
		why = "Empty set";
	else if (op->mode != MODEL_STORE_REPLACE && op->mode != MODEL_STORE_ADD &&
		 op->mode != MODEL_STORE_REMOVE)
		why = "Invalid STORE mode";
	else if (op->has_unchangedsince && !session_has_condstore(s))
		why = "CONDSTORE not supported";
	else if (op->has_unchangedsince && op->unchangedsince > INT64_MAX)
		why = "Invalid UNCHANGEDSINCE";
	if (why != NULL)
		session_status(res, MODEL_REPLY_BAD, "%s", why);
	return why == NULL;
}

/* The FETCH for one changed message, and what the client now knows:
 * non-SILENT shows the store's flags right after our change (others'
 * earlier changes included); .SILENT leaves the client believing its own
 * change only, so the sync reports any difference. */
static void store_report(rt_session *s, const model_op *op, model_result *res,
			 size_t idx)
{
	session_msg *m = &s->m[idx];
	const rs_msg *cur = rs_msg_find(s->sel, m->uid);
	if (cur == NULL)
		return;
	bool cs = (s->enabled & MODEL_CAP_CONDSTORE) != 0;
	model_untagged *u = NULL;
	if (!op->silent) {
		u = session_fetch_flags(s, res, idx, cur->flags);
		m->flags = cur->flags;
	} else {
		m->flags = store_apply(op->mode, m->flags, op->flags);
		if (op->has_unchangedsince) { /* 7162 3.1.3: even .SILENT */
			u = model_result_add(res, MODEL_UT_FETCH);
			u->n = (uint32_t)(idx + 1);
		}
	}
	m->modseq = cur->modseq;
	if (u == NULL)
		return;
	if (op->uid || cs) {
		u->fetch.has |= MODEL_F_UID;
		u->fetch.uid = m->uid;
	}
	if (cs) {
		u->fetch.has |= MODEL_F_MODSEQ;
		u->fetch.modseq = cur->modseq;
	}
}

static void store_modified(rt_session *s, const model_op *op, model_result *res,
			   const cm_uidset *modified)
{
	res->code.kind = MODEL_CODE_MODIFIED;
	if (op->uid) {
		cm_uidset_copy(&res->code.set, modified);
		return;
	}
	for (size_t t = 0; t < s->ntargets; t++)
		if (cm_uidset_contains(modified, s->m[s->targets[t]].uid))
			cm_uidset_add(&res->code.set, (uint32_t)(s->targets[t] + 1));
}

void session_cmd_store(rt_session *s, const model_op *op, model_result *res)
{
	if (!store_args_ok(s, op, res))
		return;
	if (s->readonly) {
		session_status(res, MODEL_REPLY_NO, "Mailbox is read-only");
		return;
	}
	/* No sync first: the STORE acts on what the client was last told
	 * (the store re-reads under its lock); others' changes go out with
	 * the sync that ends the command. A store that trusted that stale
	 * session state (the unchangedsince-stale and flags-last-writer mutants) is
	 * then wrong across a client's whole think time, not a few calls. */
	if (!session_resolve(s, op, res))
		return;
	if (op->has_unchangedsince)
		session_enable_condstore(s);
	rs_store_result r = {0};
	int64_t since = op->has_unchangedsince ? (int64_t)op->unchangedsince : -1;
	rs_err err = s->set.n == 0 ? RS_OK
		     : rs_store(s->sel, &s->set, store_mode(op->mode), op->flags,
				since, &r);
	if (err != RS_OK || s->dead) {
		session_store_error(s, res, s->sel, err, "STORE");
	} else {
		for (size_t t = 0; t < s->ntargets; t++)
			if (cm_uidset_contains(&r.changed, s->m[s->targets[t]].uid))
				store_report(s, op, res, s->targets[t]);
		if (r.modified.n > 0)
			store_modified(s, op, res, &r.modified);
		res->status = MODEL_REPLY_OK;
	}
	rs_store_result_free(&r);
}

void session_cmd_expunge(rt_session *s, const model_op *op, model_result *res)
{
	if (op->uid && !(s->caps & MODEL_CAP_UIDPLUS)) {
		session_status(res, MODEL_REPLY_BAD, "UID EXPUNGE not supported");
		return;
	}
	if (op->uid && op->set.n == 0) {
		session_status(res, MODEL_REPLY_BAD, "Empty set");
		return;
	}
	if (s->readonly) {
		session_status(res, MODEL_REPLY_NO, "Mailbox is read-only");
		return;
	}
	if (op->uid ? !session_prepare(s, op, res, true, false) : !session_sync(s, res, true))
		return;
	uint64_t modseq = 0;
	rs_err err = RS_OK;
	if (!op->uid || s->set.n > 0)
		err = rs_expunge(s->sel, op->uid ? &s->set : NULL, &s->expunged, &modseq);
	if (err != RS_OK || s->dead) {
		session_store_error(s, res, s->sel, err, "EXPUNGE");
		return;
	}
	/* The expunges themselves go out with the sync that follows. */
	s->highestmodseq_tagged = (s->enabled & MODEL_CAP_QRESYNC) != 0;
	res->status = MODEL_REPLY_OK;
}
