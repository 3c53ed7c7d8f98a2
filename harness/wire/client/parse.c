/* Parsing one framed response: the dispatch on its first words, status
 * responses and the untagged data other than FETCH (fetch.c) and response
 * codes (code.c). Lenient only where servers are known to differ
 * harmlessly (runs of spaces, missing text); strict everywhere else. */
#include "imapc_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void response_reset(imapc_response *r)
{
	imapc_resp_priv_ *v = &r->priv_;
	memset(r, 0, offsetof(imapc_response, priv_));
	v->n_strs = v->n_nums = v->n_bodies = 0;
	v->n_order[0] = v->n_order[1] = 0;
	v->scratch_ready = false;
	if (v->scratch.cap > (1u << 20))
		cm_buf_free(&v->scratch);  /* do not pin a huge one forever */
	cm_buf_clear(&v->scratch);
}

/* ---- shared pieces ------------------------------------------------------------- */
static void classify_flag(imapc_flagset *fs, imapc_str s)
{
	if (s.len == 2 && s.p[0] == '\\' && s.p[1] == '*') {
		fs->star = true;
		return;
	}
	int bit = cm_flag_intern(s.p, s.len);
	if (bit == -2)
		fs->recent = true;
	else if (bit < 0)
		fs->n_bad++;
	else
		fs->flags |= (cm_flags)1 << bit;
}

bool imapc_parse_flaglist_(imapc_lex *l, imapc_flagset *fs)
{
	memset(fs, 0, sizeof(*fs));
	if (!imapc_lex_char(l, '('))
		return false;
	for (;;) {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		if (imapc_lex_peek(l) == ')')
			break;
		imapc_str s;
		if (!imapc_lex_flag(l, &s))
			return false;
		classify_flag(fs, s);
	}
	l->p++;
	return true;
}

static bool seq_number(imapc_lex *l, uint32_t *n)
{
	if (imapc_lex_peek(l) == '*')
		return imapc_lex_fail(l, "'*' in a set sent by the server");
	const char *s = l->p;
	if (!imapc_lex_number(l, n))
		return false;
	if (*n == 0) {
		l->p = s;
		return imapc_lex_fail(l, "0 in a set");
	}
	return true;
}

static int range_cmp(const void *a, const void *b)
{
	const cm_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Normalises by sort and merge: O(n log n) even for a hostile order that
 * would make one-by-one insertion quadratic. */
static void normalise(cm_uidset *s, const cm_range *order, size_t n)
{
	CM_GROW(s->r, s->cap, n);
	for (size_t i = 0; i < n; i++) {
		s->r[i].lo = CM_MIN(order[i].lo, order[i].hi);
		s->r[i].hi = CM_MAX(order[i].lo, order[i].hi);
	}
	qsort(s->r, n, sizeof(*s->r), range_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && (uint64_t)s->r[k - 1].hi + 1 >= s->r[i].lo)
			s->r[k - 1].hi = CM_MAX(s->r[k - 1].hi, s->r[i].hi);
		else
			s->r[k++] = s->r[i];
	}
	s->n = k;
}

bool imapc_parse_seqset_(imapc_lex *l, imapc_response *r, int slot,
			 imapc_seqset *out)
{
	imapc_resp_priv_ *v = &r->priv_;
	uint64_t listed = 0;
	v->n_order[slot] = 0;
	for (;;) {
		uint32_t a, b;
		if (!seq_number(l, &a))
			return false;
		b = a;
		if (imapc_lex_peek(l) == ':') {
			l->p++;
			if (!seq_number(l, &b))
				return false;
		}
		CM_GROW(v->order[slot], v->cap_order[slot], v->n_order[slot] + 1);
		v->order[slot][v->n_order[slot]++] = (cm_range){a, b};
		listed += (a <= b ? (uint64_t)b - a : (uint64_t)a - b) + 1;
		if (imapc_lex_peek(l) != ',')
			break;
		l->p++;
	}
	normalise(&v->sets[slot], v->order[slot], v->n_order[slot]);
	out->set = v->sets[slot];
	out->order = v->order[slot];
	out->n_order = v->n_order[slot];
	out->listed = listed;
	return true;
}

/* Views into the string pool (which may still be unallocated). */
static const imapc_str *strs_from(const imapc_response *r, size_t first)
{
	return r->priv_.strs != NULL ? r->priv_.strs + first : NULL;
}

bool imapc_parse_caps_(imapc_lex *l, imapc_response *r, bool in_code,
		       imapc_caps *out)
{
	size_t first = r->priv_.n_strs;
	out->mask = 0;
	while (imapc_lex_peek(l) == ' ') {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		int c = imapc_lex_peek(l);
		if (c < 0 || (in_code && c == ']'))
			break;
		imapc_str s;
		if (!imapc_lex_atom(l, &s))
			return false;
		imapc_push_str_(r, s);
		out->mask |= imapc_cap_bit(s.p, s.len);
	}
	out->names = strs_from(r, first);
	out->n = r->priv_.n_strs - first;
	return true;
}

/* ---- status responses ------------------------------------------------------------- */
static bool parse_resp_text(imapc_lex *l, imapc_response *r)
{
	if (imapc_lex_peek(l) == '[') {
		if (!imapc_parse_code_(l, r))
			return false;
		if (imapc_lex_peek(l) == ' ')
			l->p++;
	}
	imapc_lex_rest(l, &r->text);
	return true;
}

static bool parse_status(imapc_lex *l, imapc_response *r)
{
	if (imapc_lex_at_end(l))
		return true;
	if (!imapc_lex_sp(l))
		return false;
	return parse_resp_text(l, r);
}

/* ---- untagged data ------------------------------------------------------------------ */
static bool parse_list(imapc_lex *l, imapc_response *r)
{
	imapc_list *li = &r->list;
	size_t first = r->priv_.n_strs;
	bool nil;
	imapc_str d;
	if (!imapc_lex_sp(l) || !imapc_lex_char(l, '('))
		return false;
	for (;;) {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		if (imapc_lex_peek(l) == ')')
			break;
		imapc_str s;
		if (!imapc_lex_flag(l, &s))
			return false;
		imapc_push_str_(r, s);
	}
	l->p++;
	li->attrs = strs_from(r, first);
	li->n_attrs = r->priv_.n_strs - first;
	if (!imapc_lex_sp(l) || !imapc_lex_nstring(l, &d, &nil, NULL))
		return false;
	if (!nil && d.len != 1)
		return imapc_lex_fail(l, "hierarchy delimiter is not one character");
	li->delim = nil ? '\0' : d.p[0];
	if (!imapc_lex_sp(l) || !imapc_lex_astring(l, &li->name))
		return false;
	while (imapc_lex_peek(l) == ' ')
		l->p++;
	const char *ext = l->p;
	while (!imapc_lex_at_end(l)) {
		if (!imapc_lex_skip_value(l))
			return false;
		while (imapc_lex_peek(l) == ' ')
			l->p++;
	}
	li->ext.p = ext;
	li->ext.len = (size_t)(l->p - ext);
	return true;
}

static bool status_item(imapc_lex *l, imapc_status *st, imapc_str name)
{
	static const struct {
		const char *name;
		unsigned bit;
		size_t off;
	} u32s[] = {
		{"MESSAGES", IMAPC_STATUS_MESSAGES, offsetof(imapc_status, messages)},
		{"RECENT", IMAPC_STATUS_RECENT, offsetof(imapc_status, recent)},
		{"UIDNEXT", IMAPC_STATUS_UIDNEXT, offsetof(imapc_status, uidnext)},
		{"UIDVALIDITY", IMAPC_STATUS_UIDVALIDITY, offsetof(imapc_status, uidvalidity)},
		{"UNSEEN", IMAPC_STATUS_UNSEEN, offsetof(imapc_status, unseen)},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(u32s); i++) {
		if (imapc_str_eq(name, u32s[i].name)) {
			st->has |= u32s[i].bit;
			return imapc_lex_number(l, (uint32_t *)((char *)st + u32s[i].off));
		}
	}
	if (imapc_str_eq(name, "HIGHESTMODSEQ")) {
		st->has |= IMAPC_STATUS_HIGHESTMODSEQ;
		return imapc_lex_number64(l, &st->highestmodseq);
	}
	if (imapc_str_eq(name, "SIZE")) {
		st->has |= IMAPC_STATUS_SIZE;
		return imapc_lex_number64(l, &st->size);
	}
	return imapc_lex_skip_value(l);
}

static bool parse_status_data(imapc_lex *l, imapc_response *r)
{
	imapc_status *st = &r->status;
	if (!imapc_lex_sp(l) || !imapc_lex_astring(l, &st->mailbox) ||
	    !imapc_lex_sp(l) || !imapc_lex_char(l, '('))
		return false;
	for (;;) {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		if (imapc_lex_peek(l) == ')')
			break;
		imapc_str name;
		if (!imapc_lex_atom(l, &name) || !imapc_lex_sp(l) ||
		    !status_item(l, st, name))
			return false;
	}
	l->p++;
	return imapc_lex_end(l);
}

static bool parse_modseq_paren(imapc_lex *l, uint64_t *out)
{
	imapc_str name;
	if (!imapc_lex_char(l, '(') || !imapc_lex_atom(l, &name))
		return false;
	if (!imapc_str_eq(name, "MODSEQ"))
		return imapc_lex_fail(l, "expected MODSEQ");
	return imapc_lex_sp(l) && imapc_lex_number64(l, out) &&
	       imapc_lex_char(l, ')');
}

static bool parse_search(imapc_lex *l, imapc_response *r)
{
	imapc_resp_priv_ *v = &r->priv_;
	for (;;) {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		if (imapc_lex_at_end(l))
			break;
		if (r->search.has_modseq)
			return imapc_lex_fail(l, "data after (MODSEQ n)");
		if (imapc_lex_peek(l) == '(') {
			if (!parse_modseq_paren(l, &r->search.modseq))
				return false;
			r->search.has_modseq = true;
			continue;
		}
		uint32_t n;
		if (!imapc_lex_number(l, &n))
			return false;
		CM_GROW(v->nums, v->cap_nums, v->n_nums + 1);
		v->nums[v->n_nums++] = n;
		if (imapc_lex_peek(l) != ' ' && !imapc_lex_at_end(l))
			return imapc_lex_fail(l, "expected a space");
	}
	r->search.nums = v->nums;
	r->search.n = v->n_nums;
	return true;
}

static bool parse_correlator(imapc_lex *l, imapc_esearch *es)
{
	if (!imapc_lex_char(l, '('))
		return false;
	for (;;) {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		if (imapc_lex_peek(l) == ')')
			break;
		imapc_str key;
		if (!imapc_lex_atom(l, &key) || !imapc_lex_sp(l))
			return false;
		if (imapc_str_eq(key, "TAG")) {
			if (!imapc_lex_string(l, &es->tag))
				return false;
			es->has_tag = true;
		} else if (!imapc_lex_skip_value(l)) {
			return false;
		}
	}
	l->p++;
	return true;
}

static bool esearch_item(imapc_lex *l, imapc_response *r, imapc_str name)
{
	imapc_esearch *es = &r->esearch;
	if (imapc_str_eq(name, "MIN")) {
		es->has |= IMAPC_ESEARCH_MIN;
		return imapc_lex_number(l, &es->min);
	}
	if (imapc_str_eq(name, "MAX")) {
		es->has |= IMAPC_ESEARCH_MAX;
		return imapc_lex_number(l, &es->max);
	}
	if (imapc_str_eq(name, "COUNT")) {
		es->has |= IMAPC_ESEARCH_COUNT;
		return imapc_lex_number(l, &es->count);
	}
	if (imapc_str_eq(name, "ALL")) {
		es->has |= IMAPC_ESEARCH_ALL;
		return imapc_parse_seqset_(l, r, 0, &es->all);
	}
	if (imapc_str_eq(name, "MODSEQ")) {
		es->has |= IMAPC_ESEARCH_MODSEQ;
		return imapc_lex_number64(l, &es->modseq);
	}
	return imapc_lex_skip_value(l);
}

static bool parse_esearch(imapc_lex *l, imapc_response *r)
{
	while (imapc_lex_peek(l) == ' ')
		l->p++;
	if (imapc_lex_peek(l) == '(' && !parse_correlator(l, &r->esearch))
		return false;
	for (;;) {
		while (imapc_lex_peek(l) == ' ')
			l->p++;
		if (imapc_lex_at_end(l))
			return true;
		imapc_str name;
		if (!imapc_lex_atom(l, &name))
			return false;
		if (imapc_str_eq(name, "UID")) {
			r->esearch.uid = true;
			continue;
		}
		if (!imapc_lex_sp(l) || !esearch_item(l, r, name))
			return false;
	}
}

static bool parse_vanished(imapc_lex *l, imapc_response *r)
{
	if (!imapc_lex_sp(l))
		return false;
	if (imapc_lex_peek(l) == '(') {
		imapc_str w;
		l->p++;
		if (!imapc_lex_atom(l, &w))
			return false;
		if (!imapc_str_eq(w, "EARLIER"))
			return imapc_lex_fail(l, "expected EARLIER");
		if (!imapc_lex_char(l, ')') || !imapc_lex_sp(l))
			return false;
		r->vanished.earlier = true;
	}
	return imapc_parse_seqset_(l, r, 0, &r->vanished.uids) &&
	       imapc_lex_end(l);
}

/* ---- dispatch -------------------------------------------------------------------- */
static const struct {
	const char *name;
	imapc_type type;
} untagged_names[] = {
	{"OK", IMAPC_T_OK}, {"NO", IMAPC_T_NO}, {"BAD", IMAPC_T_BAD},
	{"BYE", IMAPC_T_BYE}, {"PREAUTH", IMAPC_T_PREAUTH},
	{"CAPABILITY", IMAPC_T_CAPABILITY}, {"ENABLED", IMAPC_T_ENABLED},
	{"FLAGS", IMAPC_T_FLAGS}, {"LIST", IMAPC_T_LIST}, {"LSUB", IMAPC_T_LSUB},
	{"STATUS", IMAPC_T_STATUS}, {"SEARCH", IMAPC_T_SEARCH},
	{"ESEARCH", IMAPC_T_ESEARCH}, {"VANISHED", IMAPC_T_VANISHED},
};

static bool parse_named(imapc_lex *l, imapc_response *r)
{
	switch (r->type) {
	case IMAPC_T_OK: case IMAPC_T_NO: case IMAPC_T_BAD: case IMAPC_T_BYE:
	case IMAPC_T_PREAUTH:
		return parse_status(l, r);
	case IMAPC_T_CAPABILITY: case IMAPC_T_ENABLED:
		return imapc_parse_caps_(l, r, false, &r->caps) && imapc_lex_end(l);
	case IMAPC_T_FLAGS:
		return imapc_lex_sp(l) && imapc_parse_flaglist_(l, &r->flags) &&
		       imapc_lex_end(l);
	case IMAPC_T_LIST: case IMAPC_T_LSUB:
		return parse_list(l, r);
	case IMAPC_T_STATUS:
		return parse_status_data(l, r);
	case IMAPC_T_SEARCH:
		return parse_search(l, r);
	case IMAPC_T_ESEARCH:
		return parse_esearch(l, r);
	case IMAPC_T_VANISHED:
		return parse_vanished(l, r);
	default:
		cm_panic("imapc: parse_named on type %d", r->type);
	}
}

static bool parse_numbered(imapc_lex *l, imapc_response *r, const char *after_star)
{
	if (!imapc_lex_number(l, &r->number) || !imapc_lex_sp(l))
		return false;
	const char *s = l->p;
	while (l->p < l->end && *l->p != ' ')
		l->p++;
	r->name.p = s;
	r->name.len = (size_t)(l->p - s);
	if (imapc_str_eq(r->name, "EXISTS"))
		r->type = IMAPC_T_EXISTS;
	else if (imapc_str_eq(r->name, "RECENT"))
		r->type = IMAPC_T_RECENT;
	else if (imapc_str_eq(r->name, "EXPUNGE"))
		r->type = IMAPC_T_EXPUNGE;
	else if (imapc_str_eq(r->name, "FETCH"))
		r->type = IMAPC_T_FETCH;
	if (r->type == IMAPC_T_FETCH)
		return imapc_lex_sp(l) && imapc_parse_fetch_(l, r);
	if (r->type != IMAPC_T_NONE)
		return imapc_lex_end(l);
	r->type = IMAPC_T_UNKNOWN;
	l->p = after_star;
	imapc_lex_rest(l, &r->text);
	return true;
}

static bool parse_untagged(imapc_lex *l, imapc_response *r)
{
	r->kind = IMAPC_UNTAGGED;
	l->p++;
	if (!imapc_lex_sp(l))
		return false;
	const char *after_star = l->p;
	int c = imapc_lex_peek(l);
	if (c >= '0' && c <= '9')
		return parse_numbered(l, r, after_star);
	if (c < 0)
		return imapc_lex_fail(l, "empty untagged response");
	const char *s = l->p;
	while (l->p < l->end && *l->p != ' ')
		l->p++;
	r->name.p = s;
	r->name.len = (size_t)(l->p - s);
	for (size_t i = 0; i < CM_ARRAY_LEN(untagged_names); i++) {
		if (imapc_str_eq(r->name, untagged_names[i].name)) {
			r->type = untagged_names[i].type;
			return parse_named(l, r);
		}
	}
	r->type = IMAPC_T_UNKNOWN;
	l->p = after_star;
	imapc_lex_rest(l, &r->text);
	return true;
}

static bool parse_tagged(imapc_lex *l, imapc_response *r)
{
	r->kind = IMAPC_TAGGED;
	const char *s = l->p;
	while (l->p < l->end && *l->p != '+' &&
	       (imap_atom_char((unsigned char)*l->p) || *l->p == ']'))
		l->p++;
	if (l->p == s)
		return imapc_lex_fail(l, "expected a tag, '*' or '+'");
	r->tag.p = s;
	r->tag.len = (size_t)(l->p - s);
	if (!imapc_lex_sp(l) || !imapc_lex_atom(l, &r->name))
		return false;
	if (imapc_str_eq(r->name, "OK"))
		r->type = IMAPC_T_OK;
	else if (imapc_str_eq(r->name, "NO"))
		r->type = IMAPC_T_NO;
	else if (imapc_str_eq(r->name, "BAD"))
		r->type = IMAPC_T_BAD;
	else
		return imapc_lex_fail(l, "tagged response is not OK, NO or BAD");
	return parse_status(l, r);
}

static bool parse_continuation(imapc_lex *l, imapc_response *r)
{
	r->kind = IMAPC_CONTINUATION;
	r->type = IMAPC_T_NONE;
	l->p++;
	if (imapc_lex_peek(l) == ' ')
		l->p++;
	return parse_resp_text(l, r);
}

bool imapc_parse_response_(imapc_response *r, const char *raw, size_t len,
			   const imapc_lit_ *lits, size_t n_lits,
			   const imapc_limits *lim, char *err, size_t errsz)
{
	size_t term = 0;
	response_reset(r);
	r->priv_.lim = *lim;
	r->raw.p = raw;
	r->raw.len = len;
	if (len > 0 && raw[len - 1] == '\n')
		term = len > 1 && raw[len - 2] == '\r' ? 2 : 1;
	imapc_lex l = {
		.base = raw, .p = raw, .end = raw + len - term,
		.lits = lits, .n_lits = n_lits, .scratch = &r->priv_.scratch,
		.scratch_ready = &r->priv_.scratch_ready, .raw_len = len,
		.lim = lim, .err = err, .errsz = errsz,
	};
	err[0] = '\0';
	int c = imapc_lex_peek(&l);
	bool ok;
	if (c == '+')
		ok = parse_continuation(&l, r);
	else if (c == '*')
		ok = parse_untagged(&l, r);
	else
		ok = parse_tagged(&l, r);
	if (ok && !imapc_lex_at_end(&l))
		ok = imapc_lex_fail(&l, "unexpected data at the end");
	return ok;
}
