/* Expectations of a reply (expect.h): a small tokenizer of response text
 * into atoms and (parenthesized or bracketed) lists, and a matcher of a
 * pattern's tree against a response's. */
#include "expect.h"
#include "imapd.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKENS_MAX 160

/* A node: an atom (text[0..len)) or a list whose `size` nodes follow it
 * (its whole subtree, not only its children). */
typedef struct node {
	bool list;
	const char *text;
	size_t len;
	size_t size;
} node;

typedef struct tree {
	node n[TOKENS_MAX];
	size_t count;
} tree;

static size_t atom_len(const char *s)
{
	if (*s == '"') {
		size_t i = 1;
		while (s[i] != '\0' && s[i] != '"')
			i += s[i] == '\\' && s[i + 1] != '\0' ? 2 : 1;
		return s[i] == '"' ? i + 1 : i;
	}
	size_t i = 0;
	while (s[i] != '\0' && !strchr(" \t\r\n()[]", s[i]))
		i++;
	return i;
}

/* Tokens of s from *at up to the closer of the list opened before (or the
 * end) into t. 0, or -1 at *at (unbalanced, or too many tokens). */
static int tokenize(const char *s, size_t *at, char closer, tree *t)
{
	while (s[*at] != '\0') {
		char c = s[*at];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			(*at)++;
			continue;
		}
		if (c == ')' || c == ']')
			return c == closer ? ((*at)++, 0) : -1;
		if (t->count >= TOKENS_MAX)
			return -1;
		node *n = &t->n[t->count++];
		size_t me = t->count - 1;
		*n = (node){.list = c == '(' || c == '[', .text = s + *at};
		if (n->list) {
			(*at)++;
			if (tokenize(s, at, c == '(' ? ')' : ']', t) < 0)
				return -1;
			t->n[me].size = t->count - me - 1;
			continue;
		}
		n->len = atom_len(s + *at);
		*at += n->len;
	}
	return closer == '\0' ? 0 : -1;
}

int rt_expect_parse(const char *line, rt_expect *e, cm_err *why, unsigned *col)
{
	memset(e, 0, sizeof(*e));
	*col = 1;
	static const struct {
		const char *word;
		model_reply st;
	} status[] = {
		{"OK", MODEL_REPLY_OK}, {"NO", MODEL_REPLY_NO}, {"BAD", MODEL_REPLY_BAD}};
	for (size_t i = 0; i < CM_ARRAY_LEN(status); i++)
		if (strcasecmp(line, status[i].word) == 0) {
			e->kind = 'S';
			e->status = status[i].st;
			return 1;
		}
	if (strchr("*!?", line[0]) == NULL || line[0] == '\0' ||
	    (line[1] != ' ' && line[1] != '\t'))
		return 0;
	e->kind = line[0];
	const char *text = line + 2;
	while (*text == ' ' || *text == '\t')
		text++;
	*col = (unsigned)(text - line) + 1;
	if (*text == '\0')
		return cm_err_set(why, "an expectation needs the response it expects");
	if (strlen(text) >= sizeof(e->text))
		return cm_err_set(why, "expectation too long");
	tree t = {.count = 0};
	size_t at = 0;
	if (tokenize(text, &at, '\0', &t) < 0) {
		*col += (unsigned)at;
		return cm_err_set(why, "unbalanced parentheses or too many tokens");
	}
	snprintf(e->text, sizeof(e->text), "%s", text);
	return 1;
}

#define LOCAL_MAX 8

typedef struct matcher {
	const tree *p, *r;
	const rt_expect_vars *vars;
	/* What this attempt bound, kept until the whole response matched (a
	 * '*' expectation then binds it through vars) and undone when an
	 * alternative fails. */
	struct {
		const char *name;
		size_t len;
		uint64_t v;
	} local[LOCAL_MAX];
	size_t nlocal;
} matcher;

static bool match_at(matcher *m, size_t pi, size_t ri, const node *before);

/* An atom of the pattern against one of the response: the same text, or
 * a $variable against a number. */
static bool atom_matches(matcher *m, const node *p, const node *r)
{
	if (p->list || r->list)
		return false;
	if (p->len < 2 || p->text[0] != '$')
		return p->len == r->len && strncasecmp(p->text, r->text, p->len) == 0;
	char num[24];
	if (r->len == 0 || r->len >= sizeof(num))
		return false;
	memcpy(num, r->text, r->len);
	num[r->len] = '\0';
	char *end;
	uint64_t v = strtoull(num, &end, 10);
	if (!isdigit((unsigned char)num[0]) || *end != '\0')
		return false;
	uint64_t bound;
	if (m->vars != NULL && m->vars->get(m->vars->ctx, p->text + 1, p->len - 1, &bound))
		return bound == v;
	for (size_t i = 0; i < m->nlocal; i++)
		if (m->local[i].len == p->len - 1 &&
		    memcmp(m->local[i].name, p->text + 1, p->len - 1) == 0)
			return m->local[i].v == v;
	if (m->nlocal >= LOCAL_MAX)
		return false; /* more names than a response needs: no match */
	m->local[m->nlocal].name = p->text + 1;
	m->local[m->nlocal].len = p->len - 1;
	m->local[m->nlocal++].v = v;
	return true;
}

static bool is_word(const node *n, const char *w)
{
	return n != NULL && !n->list && n->len == strlen(w) &&
	       strncasecmp(n->text, w, n->len) == 0;
}

/* Lists at p[pi] and r[ri]: the children, by the rule for the list's
 * kind (expect.h). */
static bool list_matches(matcher *m, size_t pi, size_t ri, const node *before)
{
	const node *P = &m->p->n[pi], *R = &m->r->n[ri];
	bool fetch = is_word(before, "FETCH"), flags = is_word(before, "FLAGS") ||
						      is_word(before, "PERMANENTFLAGS");
	size_t pend = pi + 1 + P->size, rend = ri + 1 + R->size;
	size_t pc = 0, rc = 0;
	bool recent = false;
	for (size_t i = pi + 1; i < pend; i += 1 + m->p->n[i].size) {
		pc++;
		recent |= is_word(&m->p->n[i], "\\Recent");
	}
	for (size_t j = ri + 1; j < rend; j += 1 + m->r->n[j].size)
		rc += recent || !(flags && is_word(&m->r->n[j], "\\Recent"));
	if (flags && pc != rc)
		return false;
	size_t i = pi + 1, j = ri + 1;
	const node *prev = NULL;
	for (; i < pend; i += 1 + m->p->n[i].size) {
		if (fetch || flags) {
			/* Any position: a FETCH item by its name, then its value
			 * after both; a flag anywhere. */
			bool found = false;
			for (size_t k = ri + 1; k < rend && !found; k += 1 + m->r->n[k].size) {
				size_t undo = m->nlocal;
				found = match_at(m, i, k, NULL) &&
					(!fetch || (i + 1 < pend && k + 1 < rend &&
						    match_at(m, i + 1, k + 1, &m->p->n[i])));
				if (!found)
					m->nlocal = undo;
			}
			if (!found)
				return false;
			if (fetch)
				i += 1 + m->p->n[i].size; /* the value went with its name */
			if (fetch && i >= pend)
				break;
			continue;
		}
		if (j >= rend || !match_at(m, i, j, prev))
			return false;
		prev = &m->p->n[i];
		j += 1 + m->r->n[j].size;
	}
	return fetch || flags || j == rend;
}

static bool match_at(matcher *m, size_t pi, size_t ri, const node *before)
{
	const node *p = &m->p->n[pi], *r = &m->r->n[ri];
	if (p->list != r->list)
		return false;
	if (p->list)
		return (p->text[0] == '(') == (r->text[0] == '(') &&
		       list_matches(m, pi, ri, before);
	return atom_matches(m, p, r);
}

/* The pattern's top level against the response's: in order, and the
 * pattern may end first. */
static bool top_matches(matcher *m)
{
	size_t i = 0, j = 0;
	const node *prev = NULL;
	while (i < m->p->count) {
		if (j >= m->r->count || !match_at(m, i, j, prev))
			return false;
		prev = &m->p->n[i];
		i += 1 + m->p->n[i].size;
		j += 1 + m->r->n[j].size;
	}
	return true;
}

/* Does some untagged response of res match e's text? */
static bool any_matches(const rt_expect *e, const model_result *res,
			const rt_expect_vars *vars, cm_buf *seen)
{
	tree *pt = cm_xcalloc(2, sizeof(tree)), *rt = pt + 1;
	size_t at = 0;
	int ok = tokenize(e->text, &at, '\0', pt);
	assert(ok == 0); /* rt_expect_parse checked it */
	bool found = false;
	imapd_fmt fmt = {0};
	for (size_t i = 0; i < res->nut && !found; i++) {
		cm_buf line = {0};
		imapd_format_untagged(&line, &res->ut[i], &fmt);
		if (line.len < 2) {
			cm_buf_free(&line);
			continue; /* nothing said (an empty VANISHED) */
		}
		const char *text = line.data + 2; /* after "* " */
		if (seen->len < 600)
			cm_buf_printf(seen, "%s%.*s", seen->len ? " | " : "",
				      (int)strcspn(text, "\r\n"), text);
		rt->count = 0;
		at = 0;
		if (tokenize(text, &at, '\0', rt) == 0) {
			matcher m = {.p = pt, .r = rt, .vars = vars};
			found = top_matches(&m);
			for (size_t k = 0; found && e->kind == '*' && vars != NULL &&
					   k < m.nlocal; k++)
				vars->set(vars->ctx, m.local[k].name, m.local[k].len,
					  m.local[k].v);
		}
		cm_buf_free(&line);
	}
	free(pt);
	return found;
}

bool rt_expect_check(const rt_expect *e, const model_result *res,
		     const rt_expect_vars *vars, cm_buf *why)
{
	static const char *const names[] = {"none", "OK", "NO", "BAD", "lost"};
	if (res->status == MODEL_REPLY_UNKNOWN || e->kind == '?')
		return true;
	if (e->kind == 'S') {
		if (res->status == e->status)
			return true;
		cm_buf_printf(why, "expected %s, got %s %s", names[e->status],
			      names[res->status], res->text);
		return false;
	}
	cm_buf seen = {0};
	bool found = any_matches(e, res, vars, &seen);
	bool ok = e->kind == '*' ? found : !found;
	if (!ok)
		cm_buf_printf(why, "%s \"* %s\" in the reply; its untagged responses: %s",
			      e->kind == '*' ? "expected" : "did not expect", e->text,
			      seen.len ? seen.data : "none");
	cm_buf_free(&seen);
	return ok;
}
