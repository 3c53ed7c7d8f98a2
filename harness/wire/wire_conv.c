/* Parsed IMAP responses -> the model's vocabulary (docs/history.md):
 * what a server said, nothing interpreted. The checker judges; this file
 * only translates, so a server's mistake reaches the checker intact. */
#include "wire_private.h"

#include <stdio.h>
#include <string.h>

unsigned rt_wire_model_caps(uint32_t m)
{
	static const struct { uint32_t in; unsigned out; } map[] = {
		{IMAPC_CAP_IMAP4REV2, MODEL_CAP_IMAP4REV2},
		{IMAPC_CAP_UIDPLUS, MODEL_CAP_UIDPLUS},
		{IMAPC_CAP_CONDSTORE, MODEL_CAP_CONDSTORE},
		{IMAPC_CAP_QRESYNC, MODEL_CAP_QRESYNC | MODEL_CAP_CONDSTORE},
		{IMAPC_CAP_MOVE, MODEL_CAP_MOVE},
		{IMAPC_CAP_ENABLE, MODEL_CAP_ENABLE},
		{IMAPC_CAP_LITERALPLUS, MODEL_CAP_LITERALPLUS},
		{IMAPC_CAP_ESEARCH, MODEL_CAP_ESEARCH},
	};
	unsigned caps = 0;
	for (size_t i = 0; i < CM_ARRAY_LEN(map); i++)
		if (m & map[i].in)
			caps |= map[i].out;
	/* IMAP4rev2 includes UIDPLUS, MOVE, ENABLE and ESEARCH (9051 7.2.2). */
	if (caps & MODEL_CAP_IMAP4REV2)
		caps |= MODEL_CAP_UIDPLUS | MODEL_CAP_MOVE | MODEL_CAP_ENABLE |
			MODEL_CAP_ESEARCH;
	return caps;
}

static void copy_str(char *out, size_t outlen, imapc_str s)
{
	snprintf(out, outlen, "%.*s", (int)CM_MIN(s.len, outlen - 1), s.p ? s.p : "");
}

/* ---- response codes ---- */

static void code_other(const imapc_code *in, model_code *out)
{
	out->kind = MODEL_CODE_OTHER;
	copy_str(out->text, sizeof(out->text), in->name);
}

void rt_wire_conv_code(const imapc_code *in, model_code *out)
{
	switch (in->kind) {
	case IMAPC_CODE_NONE: out->kind = MODEL_CODE_NONE; break;
	case IMAPC_CODE_APPENDUID:
		out->kind = MODEL_CODE_APPENDUID;
		out->uidvalidity = in->num;
		cm_uidset_copy(&out->set, &in->uids.set);
		break;
	case IMAPC_CODE_COPYUID:
		out->kind = MODEL_CODE_COPYUID;
		out->uidvalidity = in->num;
		cm_uidset_copy(&out->set, &in->uids.set);
		cm_uidset_copy(&out->dst, &in->dst.set);
		break;
	case IMAPC_CODE_MODIFIED:
		out->kind = MODEL_CODE_MODIFIED;
		cm_uidset_copy(&out->set, &in->uids.set);
		break;
	case IMAPC_CODE_HIGHESTMODSEQ:
		out->kind = MODEL_CODE_HIGHESTMODSEQ;
		out->value = in->modseq;
		break;
	case IMAPC_CODE_UIDNEXT:
	case IMAPC_CODE_UIDVALIDITY:
		out->kind = in->kind == IMAPC_CODE_UIDNEXT ? MODEL_CODE_UIDNEXT
							   : MODEL_CODE_UIDVALIDITY;
		out->value = in->num;
		break;
	case IMAPC_CODE_PERMANENTFLAGS:
		out->kind = MODEL_CODE_PERMANENTFLAGS;
		out->flags = in->flags.flags;
		out->star = in->flags.star;
		break;
	case IMAPC_CODE_NOMODSEQ: out->kind = MODEL_CODE_NOMODSEQ; break;
	case IMAPC_CODE_READ_ONLY: out->kind = MODEL_CODE_READ_ONLY; break;
	case IMAPC_CODE_READ_WRITE: out->kind = MODEL_CODE_READ_WRITE; break;
	case IMAPC_CODE_TRYCREATE: out->kind = MODEL_CODE_TRYCREATE; break;
	case IMAPC_CODE_CLOSED: out->kind = MODEL_CODE_CLOSED; break;
	case IMAPC_CODE_EXPUNGEISSUED: out->kind = MODEL_CODE_EXPUNGEISSUED; break;
	default: code_other(in, out); break;
	}
}

/* ---- FETCH ---- */

static void fetch_identity(const imapc_fetch *in, model_fetch *f)
{
	const imapc_body *msg = imapc_fetch_message(in);
	if (msg != NULL && !msg->nil) {
		f->has |= MODEL_F_BODY;
		f->body_hash = msg->hash;
		f->size = (uint32_t)CM_MIN(msg->data.len, UINT32_MAX);
	}
	imapc_str v;
	if (imapc_fetch_header(in, "X-Ratchet-Id", &v)) {
		cm_buf b = {0};
		imapc_header_unfold(v, &b);
		if (b.len > 0) {
			f->has |= MODEL_F_ID;
			snprintf(f->id, sizeof(f->id), "%s", b.data);
		}
		cm_buf_free(&b);
	}
}

/* RFC 2180 4.1.3: for a message another session expunged, a server may
 * answer with a "NIL FETCH response": NIL bodies, RFC822.SIZE 0, an epoch
 * INTERNALDATE (Dovecot does, with OK [EXPUNGEISSUED]). Those items are
 * placeholders, not data: the model has no NIL, so they are left out. */
static bool nil_fetch(const imapc_fetch *in)
{
	for (size_t i = 0; i < in->n_bodies; i++)
		if (in->bodies[i].nil)
			return true;
	return (in->has & IMAPC_FETCH_SIZE) && in->size == 0 &&
	       (in->has & IMAPC_FETCH_INTERNALDATE) && in->internaldate == 0;
}

static void conv_fetch(const imapc_response *r, model_untagged *u)
{
	const imapc_fetch *in = &r->fetch;
	model_fetch *f = &u->fetch;
	bool placeholder = nil_fetch(in);
	u->n = r->number;
	if (in->has & IMAPC_FETCH_UID) {
		f->has |= MODEL_F_UID;
		f->uid = in->uid;
	}
	if (in->has & IMAPC_FETCH_FLAGS) {
		f->has |= MODEL_F_FLAGS;
		f->flags = in->flags.flags;
		f->recent = in->flags.recent;
	}
	if (in->has & IMAPC_FETCH_MODSEQ) {
		f->has |= MODEL_F_MODSEQ;
		f->modseq = in->modseq;
	}
	f->duplicate_items = in->dup != 0;
	if (placeholder)
		return;
	if (in->has & IMAPC_FETCH_INTERNALDATE) {
		f->has |= MODEL_F_IDATE;
		f->idate = in->internaldate;
	}
	if (in->has & IMAPC_FETCH_BODY)
		fetch_identity(in, f);
	/* RFC822.SIZE wins over the body's length: a server whose two
	 * disagree shows it as a size change of the UID. */
	if (in->has & IMAPC_FETCH_SIZE) {
		f->has |= MODEL_F_SIZE;
		f->size = (uint32_t)CM_MIN(in->size, UINT32_MAX);
	}
}

/* ---- the rest ---- */

static void conv_status(const imapc_status *in, model_untagged *u)
{
	model_status_data *d = &u->status;
	copy_str(d->mailbox, sizeof(d->mailbox), in->mailbox);
	static const struct { unsigned in, out; } bits[] = {
		{IMAPC_STATUS_MESSAGES, MODEL_STATUS_MESSAGES},
		{IMAPC_STATUS_RECENT, MODEL_STATUS_RECENT},
		{IMAPC_STATUS_UIDNEXT, MODEL_STATUS_UIDNEXT},
		{IMAPC_STATUS_UIDVALIDITY, MODEL_STATUS_UIDVALIDITY},
		{IMAPC_STATUS_UNSEEN, MODEL_STATUS_UNSEEN},
		{IMAPC_STATUS_HIGHESTMODSEQ, MODEL_STATUS_HIGHESTMODSEQ},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(bits); i++)
		if (in->has & bits[i].in)
			d->has |= bits[i].out;
	d->messages = in->messages;
	d->recent = in->recent;
	d->uidnext = in->uidnext;
	d->uidvalidity = in->uidvalidity;
	d->unseen = in->unseen;
	d->highestmodseq = in->highestmodseq;
}

static void conv_search(const imapc_response *r, model_untagged *u)
{
	for (size_t i = 0; i < r->search.n; i++)
		if (r->search.nums[i] != 0)
			cm_uidset_add(&u->set, r->search.nums[i]);
	u->value = r->search.has_modseq ? r->search.modseq : 0;
}

static void conv_esearch(const imapc_response *r, model_untagged *u)
{
	if (r->esearch.has & IMAPC_ESEARCH_ALL)
		cm_uidset_copy(&u->set, &r->esearch.all.set);
	u->value = (r->esearch.has & IMAPC_ESEARCH_MODSEQ) ? r->esearch.modseq : 0;
}

static void conv_status_response(const imapc_response *r, model_result *res)
{
	if (r->type == IMAPC_T_BYE) {
		model_result_add(res, MODEL_UT_BYE);
		return;
	}
	if (r->code.kind == IMAPC_CODE_NONE || r->code.kind == IMAPC_CODE_CAPABILITY ||
	    r->code.kind == IMAPC_CODE_ALERT)
		return; /* nothing the model judges */
	model_untagged *u = model_result_add(res, MODEL_UT_CODE);
	rt_wire_conv_code(&r->code, &u->code);
}

void rt_wire_conv_untagged(const imapc_response *r, model_result *res)
{
	if (r->kind != IMAPC_UNTAGGED)
		return;
	model_untagged *u;
	switch (r->type) {
	case IMAPC_T_OK: case IMAPC_T_NO: case IMAPC_T_BAD: case IMAPC_T_BYE:
		conv_status_response(r, res);
		break;
	case IMAPC_T_EXISTS: model_result_add(res, MODEL_UT_EXISTS)->n = r->number; break;
	case IMAPC_T_RECENT: model_result_add(res, MODEL_UT_RECENT)->n = r->number; break;
	case IMAPC_T_EXPUNGE: model_result_add(res, MODEL_UT_EXPUNGE)->n = r->number; break;
	case IMAPC_T_VANISHED:
		u = model_result_add(res, MODEL_UT_VANISHED);
		u->earlier = r->vanished.earlier;
		cm_uidset_copy(&u->set, &r->vanished.uids.set);
		break;
	case IMAPC_T_FETCH: conv_fetch(r, model_result_add(res, MODEL_UT_FETCH)); break;
	case IMAPC_T_FLAGS: model_result_add(res, MODEL_UT_FLAGS)->flags = r->flags.flags; break;
	case IMAPC_T_SEARCH: conv_search(r, model_result_add(res, MODEL_UT_SEARCH)); break;
	case IMAPC_T_ESEARCH: conv_esearch(r, model_result_add(res, MODEL_UT_SEARCH)); break;
	case IMAPC_T_STATUS: conv_status(&r->status, model_result_add(res, MODEL_UT_STATUS)); break;
	case IMAPC_T_ENABLED:
		model_result_add(res, MODEL_UT_ENABLED)->caps = rt_wire_model_caps(r->caps.mask);
		break;
	default:
		break; /* CAPABILITY, LIST, NAMESPACE...: not the model's business */
	}
}

void rt_wire_conv_tagged(const imapc_response *r, model_result *res)
{
	switch (r->type) {
	case IMAPC_T_OK: res->status = MODEL_REPLY_OK; break;
	case IMAPC_T_NO: res->status = MODEL_REPLY_NO; break;
	default: res->status = MODEL_REPLY_BAD; break;
	}
	if (r->code.kind != IMAPC_CODE_CAPABILITY && r->code.kind != IMAPC_CODE_ALERT)
		rt_wire_conv_code(&r->code, &res->code);
	if (res->status != MODEL_REPLY_OK)
		copy_str(res->text, sizeof(res->text), r->text);
	/* RFC 5530: the server says it met a bug or broke an invariant of its
	 * own (a store that finds its files gone from under its log). */
	if (r->code.kind == IMAPC_CODE_SERVERBUG)
		snprintf(res->anomaly, sizeof(res->anomaly), "[SERVERBUG] %.80s",
			 res->text[0] ? res->text : "(no text)");
}
