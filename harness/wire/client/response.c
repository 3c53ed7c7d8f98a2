/* The response object: reusable storage, copies, names and small helpers.
 * The public fields are views; the storage behind them lives in priv_ and
 * keeps its capacity from one response to the next, so a steady stream of
 * responses parses without allocating. */
#include "imapc_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool imapc_str_eq(imapc_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

void imapc_response_init_(imapc_response *r)
{
	memset(r, 0, sizeof(*r));
	imapc_limits_resolve(&r->priv_.lim, NULL);
}

void imapc_response_fini_(imapc_response *r)
{
	imapc_resp_priv_ *v = &r->priv_;
	cm_buf_free(&v->scratch);
	cm_buf_free(&v->own);
	free(v->strs);
	free(v->nums);
	free(v->bodies);
	for (int i = 0; i < 2; i++) {
		cm_uidset_free(&v->sets[i]);
		free(v->order[i]);
	}
	memset(v, 0, sizeof(*v));
}

void imapc_response_free(imapc_response *r)
{
	if (r == NULL)
		return;
	imapc_response_fini_(r);
	free(r);
}

void imapc_push_str_(imapc_response *r, imapc_str s)
{
	imapc_resp_priv_ *v = &r->priv_;
	CM_GROW(v->strs, v->cap_strs, v->n_strs + 1);
	v->strs[v->n_strs++] = s;
}

uint32_t imapc_seqset_nth(const imapc_seqset *s, uint64_t idx)
{
	for (size_t i = 0; i < s->n_order; i++) {
		uint32_t a = s->order[i].lo, b = s->order[i].hi;
		uint64_t len = (a <= b ? (uint64_t)b - a : (uint64_t)a - b) + 1;
		if (idx < len)
			return a <= b ? (uint32_t)(a + idx) : (uint32_t)(a - idx);
		idx -= len;
	}
	cm_panic("imapc_seqset_nth: index out of range");
}

static const char *const type_names[] = {
	[IMAPC_T_NONE] = "NONE", [IMAPC_T_OK] = "OK", [IMAPC_T_NO] = "NO",
	[IMAPC_T_BAD] = "BAD", [IMAPC_T_BYE] = "BYE",
	[IMAPC_T_PREAUTH] = "PREAUTH", [IMAPC_T_CAPABILITY] = "CAPABILITY",
	[IMAPC_T_ENABLED] = "ENABLED", [IMAPC_T_FLAGS] = "FLAGS",
	[IMAPC_T_LIST] = "LIST", [IMAPC_T_LSUB] = "LSUB",
	[IMAPC_T_STATUS] = "STATUS", [IMAPC_T_SEARCH] = "SEARCH",
	[IMAPC_T_ESEARCH] = "ESEARCH", [IMAPC_T_EXISTS] = "EXISTS",
	[IMAPC_T_RECENT] = "RECENT", [IMAPC_T_EXPUNGE] = "EXPUNGE",
	[IMAPC_T_VANISHED] = "VANISHED", [IMAPC_T_FETCH] = "FETCH",
	[IMAPC_T_UNKNOWN] = "UNKNOWN",
};

const char *imapc_type_name(imapc_type t)
{
	if ((size_t)t >= CM_ARRAY_LEN(type_names))
		return "?";
	return type_names[t];
}

bool imapc_type_is_status(imapc_type t)
{
	return t >= IMAPC_T_OK && t <= IMAPC_T_PREAUTH;
}

const char *imapc_outcome_name(imapc_outcome o)
{
	switch (o) {
	case IMAPC_REPLIED: return "replied";
	case IMAPC_UNKNOWN: return "unknown";
	case IMAPC_NOT_SENT: return "not-sent";
	}
	return "?";
}

/* ---- copies ------------------------------------------------------------------- */
/* Re-framing and re-parsing the raw bytes gives an identical response
 * whose views all point into the copy's own storage. */
imapc_response *imapc_response_dup(const imapc_response *r)
{
	imapc_response *d = cm_xmalloc(sizeof(*d));
	imapc_framer f;
	char err[256];
	size_t len;
	imapc_response_init_(d);
	d->priv_.heap = true;
	cm_buf_append(&d->priv_.own, r->raw.p, r->raw.len);
	imapc_framer_init(&f, &r->priv_.lim);
	if (imapc_framer_next(&f, d->priv_.own.data, r->raw.len, &len, err,
			      sizeof(err)) != 1 || len != r->raw.len)
		cm_panic("imapc_response_dup: response does not frame again");
	if (!imapc_parse_response_(d, d->priv_.own.data, len, f.lits, f.n_lits,
				   &r->priv_.lim, err, sizeof(err)))
		cm_panic("imapc_response_dup: response does not parse again: %s", err);
	imapc_framer_free(&f);
	d->index = r->index;
	d->offset = r->offset;
	return d;
}

/* ---- FETCH helpers -------------------------------------------------------------- */
const imapc_body *imapc_fetch_message(const imapc_fetch *f)
{
	for (size_t i = f->n_bodies; i-- > 0;) {
		const imapc_body *b = &f->bodies[i];
		if (b->partial || b->nil)
			continue;
		if (b->kind == IMAPC_BODY_RFC822 ||
		    ((b->kind == IMAPC_BODY_SECTION || b->kind == IMAPC_BODY_BINARY) &&
		     b->section.len == 0))
			return b;
	}
	return NULL;
}

const imapc_body *imapc_fetch_section(const imapc_fetch *f, const char *section)
{
	for (size_t i = f->n_bodies; i-- > 0;) {
		const imapc_body *b = &f->bodies[i];
		if ((b->kind == IMAPC_BODY_SECTION || b->kind == IMAPC_BODY_BINARY) &&
		    imapc_str_eq(b->section, section))
			return b;
	}
	return NULL;
}

static bool header_bearing(const imapc_body *b)
{
	if (b->nil)
		return false;
	if (b->kind == IMAPC_BODY_RFC822 || b->kind == IMAPC_BODY_RFC822_HEADER)
		return !b->partial || b->origin == 0;
	if (b->kind != IMAPC_BODY_SECTION && b->kind != IMAPC_BODY_BINARY)
		return false;
	if (b->partial && b->origin != 0)
		return false;
	return b->section.len == 0 || imapc_str_eq(b->section, "HEADER") ||
	       (b->section.len > 13 &&
		strncasecmp(b->section.p, "HEADER.FIELDS", 13) == 0);
}

bool imapc_fetch_header(const imapc_fetch *f, const char *name, imapc_str *value)
{
	for (size_t i = f->n_bodies; i-- > 0;) {
		const imapc_body *b = &f->bodies[i];
		if (header_bearing(b) &&
		    imapc_header_find(b->data.p, b->data.len, name, value))
			return true;
	}
	return false;
}
