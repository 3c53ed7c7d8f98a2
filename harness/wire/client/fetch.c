/* FETCH data: "(" item SP value *(SP item SP value) ")". Items the checker
 * needs are parsed; any other (ENVELOPE, BODYSTRUCTURE, EMAILID...) is
 * skipped whole, nested lists, strings and literals included. A repeated
 * item overwrites the earlier one but is remembered in dup (and conflict
 * when the value differs): a server sending two UIDs is a finding. */
#include "imapc_int.h"

#include <string.h>

static void mark(imapc_fetch *f, unsigned bit, bool differs)
{
	if (f->has & bit) {
		f->dup |= bit;
		if (differs)
			f->conflict |= bit;
	}
	f->has |= bit;
}

static bool item_uid(imapc_lex *l, imapc_fetch *f)
{
	uint32_t v;
	if (!imapc_lex_number(l, &v))
		return false;
	mark(f, IMAPC_FETCH_UID, v != f->uid);
	f->uid = v;
	return true;
}

static bool item_flags(imapc_lex *l, imapc_fetch *f)
{
	imapc_flagset fs;
	if (!imapc_parse_flaglist_(l, &fs))
		return false;
	mark(f, IMAPC_FETCH_FLAGS, fs.flags != f->flags.flags ||
				   fs.recent != f->flags.recent);
	f->flags = fs;
	return true;
}

static bool item_modseq(imapc_lex *l, imapc_fetch *f)
{
	uint64_t v;
	if (!imapc_lex_char(l, '(') || !imapc_lex_number64(l, &v) ||
	    !imapc_lex_char(l, ')'))
		return false;
	mark(f, IMAPC_FETCH_MODSEQ, v != f->modseq);
	f->modseq = v;
	return true;
}

static bool item_size(imapc_lex *l, imapc_fetch *f)
{
	uint64_t v;
	if (!imapc_lex_number64(l, &v))
		return false;
	mark(f, IMAPC_FETCH_SIZE, v != f->size);
	f->size = v;
	return true;
}

static bool item_internaldate(imapc_lex *l, imapc_fetch *f)
{
	imapc_str s;
	int64_t t;
	int32_t tz;
	const char *at = l->p;
	if (!imapc_lex_string(l, &s))
		return false;
	if (!imap_parse_date_time(s.p, s.len, &t, &tz)) {
		l->p = at;
		return imapc_lex_fail(l, "bad INTERNALDATE");
	}
	mark(f, IMAPC_FETCH_INTERNALDATE, t != f->internaldate);
	f->internaldate = t;
	f->tz_offset = tz;
	f->internaldate_raw = s;
	return true;
}

static bool same_body(const imapc_body *a, const imapc_body *b)
{
	return a->kind == b->kind && a->partial == b->partial &&
	       a->origin == b->origin && a->section.len == b->section.len &&
	       (a->section.len == 0 ||
		memcmp(a->section.p, b->section.p, a->section.len) == 0);
}

static void add_body(imapc_response *r, const imapc_body *b)
{
	imapc_resp_priv_ *v = &r->priv_;
	imapc_fetch *f = &r->fetch;
	for (size_t i = 0; i < v->n_bodies; i++) {
		if (same_body(&v->bodies[i], b)) {
			mark(f, IMAPC_FETCH_BODY, v->bodies[i].hash != b->hash ||
						  v->bodies[i].nil != b->nil);
			v->bodies[i] = *b;
			return;
		}
	}
	CM_GROW(v->bodies, v->cap_bodies, v->n_bodies + 1);
	v->bodies[v->n_bodies++] = *b;
	f->has |= IMAPC_FETCH_BODY;
	f->bodies = v->bodies;
	f->n_bodies = v->n_bodies;
}

static bool item_body(imapc_lex *l, imapc_response *r, imapc_body *b)
{
	if (!imapc_lex_nstring(l, &b->data, &b->nil, &b->literal8))
		return false;
	b->hash = cm_hash64(b->data.p, b->data.len);
	add_body(r, b);
	return true;
}

/* Which body item a name is; 0 if none. has_section tells "X[...]". */
static imapc_body_kind body_kind(imapc_str name, bool has_section)
{
	if (has_section) {
		if (imapc_str_eq(name, "BODY") || imapc_str_eq(name, "BODY.PEEK"))
			return IMAPC_BODY_SECTION;
		if (imapc_str_eq(name, "BINARY") || imapc_str_eq(name, "BINARY.PEEK"))
			return IMAPC_BODY_BINARY;
		return 0;
	}
	if (imapc_str_eq(name, "RFC822"))
		return IMAPC_BODY_RFC822;
	if (imapc_str_eq(name, "RFC822.HEADER"))
		return IMAPC_BODY_RFC822_HEADER;
	if (imapc_str_eq(name, "RFC822.TEXT"))
		return IMAPC_BODY_RFC822_TEXT;
	return 0;
}

static bool item_unknown(imapc_lex *l, imapc_response *r, imapc_str whole)
{
	if (!imapc_lex_skip_value(l))
		return false;
	imapc_push_str_(r, whole);
	r->fetch.unknown = r->priv_.strs;
	r->fetch.n_unknown = r->priv_.n_strs;
	return true;
}

static bool parse_item(imapc_lex *l, imapc_response *r)
{
	imapc_fetch *f = &r->fetch;
	imapc_body b = {0};
	bool has_section = false;
	const char *s = l->p;
	while (l->p < l->end && *l->p != '[' &&
	       imap_atom_char((unsigned char)*l->p))
		l->p++;
	imapc_str name = {s, (size_t)(l->p - s)};
	if (name.len == 0)
		return imapc_lex_fail(l, "expected a FETCH item");
	if (imapc_lex_peek(l) == '[') {
		if (!imapc_lex_section(l, &b.section))
			return false;
		has_section = true;
	}
	if (imapc_lex_peek(l) == '<') {
		l->p++;
		if (!imapc_lex_number(l, &b.origin) || !imapc_lex_char(l, '>'))
			return false;
		b.partial = true;
	}
	imapc_str whole = {s, (size_t)(l->p - s)};
	if (!imapc_lex_sp(l))
		return false;
	b.kind = body_kind(name, has_section);
	if (b.kind != 0)
		return item_body(l, r, &b);
	if (has_section || b.partial)
		return item_unknown(l, r, whole);
	if (imapc_str_eq(name, "UID"))
		return item_uid(l, f);
	if (imapc_str_eq(name, "FLAGS"))
		return item_flags(l, f);
	if (imapc_str_eq(name, "MODSEQ"))
		return item_modseq(l, f);
	if (imapc_str_eq(name, "RFC822.SIZE"))
		return item_size(l, f);
	if (imapc_str_eq(name, "INTERNALDATE"))
		return item_internaldate(l, f);
	return item_unknown(l, r, whole);
}

bool imapc_parse_fetch_(imapc_lex *l, imapc_response *r)
{
	if (!imapc_lex_char(l, '('))
		return false;
	while (imapc_lex_peek(l) == ' ')
		l->p++;
	while (imapc_lex_peek(l) != ')') {
		if (!parse_item(l, r))
			return false;
		if (imapc_lex_peek(l) == ')')
			break;
		if (imapc_lex_at_end(l))
			return imapc_lex_fail(l, "expected ')'");
		if (!imapc_lex_sp(l))
			return false;
	}
	l->p++;
	return imapc_lex_end(l);
}
