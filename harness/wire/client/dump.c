/* A canonical text form of a parsed response: what the parser understood,
 * not the bytes. Tests compare it across chunkings; logs show it. */
#include "imapc_int.h"

#include <inttypes.h>

static void put_str(cm_buf *b, imapc_str s)
{
	cm_buf_putc(b, '"');
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			cm_buf_printf(b, "\\x%02x", c);
		else
			cm_buf_putc(b, (char)c);
	}
	cm_buf_putc(b, '"');
}

static void put_flags(cm_buf *b, const imapc_flagset *f)
{
	cm_buf_putc(b, '(');
	cm_flags_format(b, f->flags);
	if (f->recent)
		cm_buf_puts(b, f->flags ? " \\Recent" : "\\Recent");
	if (f->star)
		cm_buf_puts(b, f->flags || f->recent ? " \\*" : "\\*");
	cm_buf_putc(b, ')');
	if (f->n_bad)
		cm_buf_printf(b, "+%" PRIu32 "bad", f->n_bad);
}

static void put_set(cm_buf *b, const imapc_seqset *s)
{
	cm_uidset_format(b, &s->set);
	cm_buf_puts(b, " order=");
	for (size_t i = 0; i < s->n_order; i++)
		cm_buf_printf(b, "%s%" PRIu32 ":%" PRIu32, i ? "," : "",
			      s->order[i].lo, s->order[i].hi);
	cm_buf_printf(b, " listed=%" PRIu64, s->listed);
}

static void put_caps(cm_buf *b, const imapc_caps *c)
{
	cm_buf_printf(b, " mask=%#" PRIx32, c->mask);
	for (size_t i = 0; i < c->n; i++) {
		cm_buf_putc(b, ' ');
		put_str(b, c->names[i]);
	}
}

static void put_code(cm_buf *b, const imapc_code *c)
{
	if (c->kind == IMAPC_CODE_NONE)
		return;
	cm_buf_printf(b, " [%s ", imapc_code_name(c->kind));
	put_str(b, c->name);
	cm_buf_puts(b, " args=");
	put_str(b, c->args);
	switch (c->kind) {
	case IMAPC_CODE_UIDNEXT: case IMAPC_CODE_UIDVALIDITY:
	case IMAPC_CODE_UNSEEN:
		cm_buf_printf(b, " %" PRIu32, c->num);
		break;
	case IMAPC_CODE_HIGHESTMODSEQ:
		cm_buf_printf(b, " %" PRIu64, c->modseq);
		break;
	case IMAPC_CODE_PERMANENTFLAGS:
		cm_buf_putc(b, ' ');
		put_flags(b, &c->flags);
		break;
	case IMAPC_CODE_COPYUID:
		cm_buf_printf(b, " %" PRIu32 " src=", c->num);
		put_set(b, &c->uids);
		cm_buf_puts(b, " dst=");
		put_set(b, &c->dst);
		break;
	case IMAPC_CODE_APPENDUID:
		cm_buf_printf(b, " %" PRIu32 " ", c->num);
		/* fall through */
	case IMAPC_CODE_MODIFIED:
		cm_buf_puts(b, " uids=");
		put_set(b, &c->uids);
		break;
	case IMAPC_CODE_CAPABILITY:
		put_caps(b, &c->caps);
		break;
	default:
		break;
	}
	cm_buf_putc(b, ']');
}

static void put_fetch(cm_buf *b, const imapc_fetch *f)
{
	cm_buf_printf(b, " has=%#x dup=%#x conflict=%#x", f->has, f->dup,
		      f->conflict);
	if (f->has & IMAPC_FETCH_UID)
		cm_buf_printf(b, " uid=%" PRIu32, f->uid);
	if (f->has & IMAPC_FETCH_FLAGS) {
		cm_buf_puts(b, " flags=");
		put_flags(b, &f->flags);
	}
	if (f->has & IMAPC_FETCH_MODSEQ)
		cm_buf_printf(b, " modseq=%" PRIu64, f->modseq);
	if (f->has & IMAPC_FETCH_SIZE)
		cm_buf_printf(b, " size=%" PRIu64, f->size);
	if (f->has & IMAPC_FETCH_INTERNALDATE)
		cm_buf_printf(b, " date=%" PRId64 "%+" PRId32, f->internaldate,
			      f->tz_offset);
	for (size_t i = 0; i < f->n_bodies; i++) {
		const imapc_body *x = &f->bodies[i];
		cm_buf_printf(b, " body%d", (int)x->kind);
		put_str(b, x->section);
		if (x->partial)
			cm_buf_printf(b, "<%" PRIu32 ">", x->origin);
		if (x->nil)
			cm_buf_puts(b, "=NIL");
		else
			cm_buf_printf(b, "=%zu:%016" PRIx64 "%s", x->data.len,
				      x->hash, x->literal8 ? "~" : "");
	}
	for (size_t i = 0; i < f->n_unknown; i++) {
		cm_buf_puts(b, " ?");
		put_str(b, f->unknown[i]);
	}
}

static void put_data(cm_buf *b, const imapc_response *r)
{
	switch (r->type) {
	case IMAPC_T_CAPABILITY: case IMAPC_T_ENABLED:
		put_caps(b, &r->caps);
		break;
	case IMAPC_T_FLAGS:
		cm_buf_putc(b, ' ');
		put_flags(b, &r->flags);
		break;
	case IMAPC_T_LIST: case IMAPC_T_LSUB:
		cm_buf_puts(b, " (");
		for (size_t i = 0; i < r->list.n_attrs; i++)
			put_str(b, r->list.attrs[i]);
		cm_buf_printf(b, ") delim=%d ", r->list.delim);
		put_str(b, r->list.name);
		cm_buf_puts(b, " ext=");
		put_str(b, r->list.ext);
		break;
	case IMAPC_T_STATUS: {
		const imapc_status *s = &r->status;
		cm_buf_putc(b, ' ');
		put_str(b, s->mailbox);
		cm_buf_printf(b, " has=%#x %" PRIu32 " %" PRIu32 " %" PRIu32
			      " %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64,
			      s->has, s->messages, s->recent, s->uidnext,
			      s->uidvalidity, s->unseen, s->highestmodseq, s->size);
		break;
	}
	case IMAPC_T_SEARCH:
		for (size_t i = 0; i < r->search.n; i++)
			cm_buf_printf(b, " %" PRIu32, r->search.nums[i]);
		if (r->search.has_modseq)
			cm_buf_printf(b, " modseq=%" PRIu64, r->search.modseq);
		break;
	case IMAPC_T_ESEARCH: {
		const imapc_esearch *e = &r->esearch;
		if (e->has_tag) {
			cm_buf_puts(b, " tag=");
			put_str(b, e->tag);
		}
		cm_buf_printf(b, " uid=%d has=%#x min=%" PRIu32 " max=%" PRIu32
			      " count=%" PRIu32 " modseq=%" PRIu64, e->uid, e->has,
			      e->min, e->max, e->count, e->modseq);
		if (e->has & IMAPC_ESEARCH_ALL) {
			cm_buf_puts(b, " all=");
			put_set(b, &e->all);
		}
		break;
	}
	case IMAPC_T_VANISHED:
		cm_buf_puts(b, r->vanished.earlier ? " (EARLIER) " : " ");
		put_set(b, &r->vanished.uids);
		break;
	case IMAPC_T_FETCH:
		put_fetch(b, &r->fetch);
		break;
	default:
		break;
	}
}

void imapc_response_dump(const imapc_response *r, cm_buf *b)
{
	cm_buf_reserve(b, 0);
	if (r->kind == IMAPC_CONTINUATION)
		cm_buf_puts(b, "+");
	else if (r->kind == IMAPC_TAGGED)
		put_str(b, r->tag);
	else
		cm_buf_puts(b, "*");
	cm_buf_printf(b, " %s", imapc_type_name(r->type));
	switch (r->type) {
	case IMAPC_T_EXISTS: case IMAPC_T_RECENT: case IMAPC_T_EXPUNGE:
	case IMAPC_T_FETCH:
		cm_buf_printf(b, " %" PRIu32, r->number);
		break;
	default:
		break;
	}
	put_code(b, &r->code);
	put_data(b, r);
	if (r->text.len > 0 || imapc_type_is_status(r->type) ||
	    r->kind == IMAPC_CONTINUATION || r->type == IMAPC_T_UNKNOWN) {
		cm_buf_puts(b, " text=");
		put_str(b, r->text);
	}
}
