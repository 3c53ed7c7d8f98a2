/* A session's view, sequence number -> entry, in memory proportional to
 * the messages the session was shown, not to the count a server claims:
 * map[0..mat) are held entries; map[mat..n) are blank (no UID, flags or
 * modseq) and kept as runs of equal arrival data, one per EXISTS. An
 * entry is held only when something is written to it, and all sessions
 * together hold at most CK_VIEW_MAX entries: a server (or a history) that
 * names sequence number 4294967295 costs a run, not 4 billion entries. */
#include "checker_private.h"

#include <stdlib.h>

void ck_view_clear(ck_session *s)
{
	CK_CHECK(s->c != NULL && s->c->view_held >= s->mat,
		 "the view budget covers a session's held entries");
	s->c->view_held -= s->mat;
	s->n = s->mat = s->known_end = 0;
	s->nruns = 0;
}

void ck_view_free(ck_session *s)
{
	ck_view_clear(s);
	free(s->map);
	free(s->runs);
	s->map = NULL;
	s->runs = NULL;
	s->cap = s->caprun = 0;
}

void ck_view_grow(ck_session *s, size_t n, bool fresh_new, uint32_t floor)
{
	CK_CHECK(n >= s->n, "a view grows only by EXISTS above its count");
	if (n == s->n)
		return;
	ck_run *last = s->nruns ? &s->runs[s->nruns - 1] : NULL;
	if (last != NULL && last->fresh_new == fresh_new && last->arrival_floor == floor) {
		last->count += n - s->n;
	} else {
		CM_GROW(s->runs, s->caprun, s->nruns + 1);
		s->runs[s->nruns++] = (ck_run){n - s->n, floor, fresh_new};
	}
	s->n = n;
	CK_CHECK(ck_view_ok(s), "a view's count is its held entries plus its runs");
}

/* The run holding idx (mat <= idx < n). */
static size_t run_of(const ck_session *s, size_t idx)
{
	size_t at = s->mat;
	for (size_t k = 0; k < s->nruns; k++) {
		if (idx < at + s->runs[k].count)
			return k;
		at += s->runs[k].count;
	}
	cm_panic("ck_view: index %zu beyond the view's %zu entries", idx, s->n);
}

ck_entry ck_view_peek(const ck_session *s, size_t idx)
{
	CK_CHECK(idx < s->n, "a view entry is looked up within the view");
	if (idx < s->mat)
		return s->map[idx];
	const ck_run *r = &s->runs[run_of(s, idx)];
	return (ck_entry){.fresh_new = r->fresh_new, .arrival_floor = r->arrival_floor};
}

static void drop_run_entry(ck_session *s, size_t k)
{
	CK_CHECK(s->runs[k].count > 0, "a view's runs are never empty");
	if (--s->runs[k].count == 0) {
		memmove(&s->runs[k], &s->runs[k + 1], (s->nruns - k - 1) * sizeof(*s->runs));
		s->nruns--;
	}
}

ck_entry *ck_view_at(ck_session *s, size_t idx)
{
	CK_CHECK(idx < s->n, "a view entry is looked up within the view");
	if (idx < s->mat)
		return &s->map[idx];
	size_t more = idx + 1 - s->mat;
	if (more > CK_VIEW_MAX - s->c->view_held)
		return NULL;
	CM_GROW(s->map, s->cap, idx + 1);
	while (s->mat <= idx) {
		CK_CHECK(s->nruns > 0, "blank entries are in runs");
		s->map[s->mat] = (ck_entry){.fresh_new = s->runs[0].fresh_new,
					    .arrival_floor = s->runs[0].arrival_floor};
		s->mat++;
		/* mat moved past one entry of run 0: that run shrinks. */
		drop_run_entry(s, 0);
	}
	s->c->view_held += more;
	CK_CHECK(ck_view_ok(s), "a view's count is its held entries plus its runs");
	return &s->map[idx];
}

void ck_view_remove(ck_session *s, size_t idx)
{
	CK_CHECK(idx < s->n, "a view entry is looked up within the view");
	if (idx < s->mat) {
		memmove(&s->map[idx], &s->map[idx + 1], (s->mat - idx - 1) * sizeof(*s->map));
		s->mat--;
		s->c->view_held--;
		if (idx < s->known_end)
			s->known_end--;
	} else {
		drop_run_entry(s, run_of(s, idx));
	}
	s->n--;
	CK_CHECK(ck_view_ok(s), "a view's count is its held entries plus its runs");
}

void ck_view_forget_tail(ck_session *s)
{
	for (size_t k = 0; k < s->nruns; k++)
		s->runs[k].fresh_new = false;
}

/* Runs overlapping [from, to) get floor (the lowest of the entries it
 * replaces): a whole run is lowered, which only weakens what its entries
 * can be blamed for, never adds a report. */
void ck_view_tail_floor(ck_session *s, size_t from, size_t to, uint32_t floor)
{
	size_t a = s->mat;
	for (size_t k = 0; k < s->nruns; k++) {
		size_t b = a + s->runs[k].count;
		if (a < to && b > from && s->runs[k].fresh_new)
			s->runs[k].arrival_floor = CM_MIN(s->runs[k].arrival_floor, floor);
		a = b;
	}
}
