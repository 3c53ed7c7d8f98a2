/* Sorted range sets for UIDs and sequence numbers. */
#include "cm.h"

#include <stdlib.h>
#include <string.h>

void cm_uidset_clear(cm_uidset *s)
{
	s->n = 0;
}

void cm_uidset_free(cm_uidset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = s->cap = 0;
}

static void uidset_insert_at(cm_uidset *s, size_t pos, uint32_t lo, uint32_t hi)
{
	CM_GROW(s->r, s->cap, s->n + 1);
	memmove(&s->r[pos + 1], &s->r[pos], (s->n - pos) * sizeof(*s->r));
	s->r[pos].lo = lo;
	s->r[pos].hi = hi;
	s->n++;
}

/* First range whose hi + 1 >= lo (i.e. that could touch [lo, ...]). */
static size_t uidset_lower(const cm_uidset *s, uint32_t lo)
{
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if ((uint64_t)s->r[m].hi + 1 < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

void cm_uidset_add_range(cm_uidset *s, uint32_t lo, uint32_t hi)
{
	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	if (lo == 0)
		cm_panic("cm_uidset: 0 is not a valid member");
	/* Fast path: appending in ascending order. */
	if (s->n > 0 && s->r[s->n - 1].hi < lo) {
		if ((uint64_t)s->r[s->n - 1].hi + 1 == lo)
			s->r[s->n - 1].hi = hi;
		else
			uidset_insert_at(s, s->n, lo, hi);
		return;
	}
	size_t i = uidset_lower(s, lo);
	if (i == s->n || (uint64_t)hi + 1 < s->r[i].lo) {
		uidset_insert_at(s, i, lo, hi);
		return;
	}
	/* Merge [lo, hi] into r[i] and swallow following ranges it reaches. */
	s->r[i].lo = CM_MIN(s->r[i].lo, lo);
	s->r[i].hi = CM_MAX(s->r[i].hi, hi);
	size_t j = i + 1;
	while (j < s->n && (uint64_t)s->r[i].hi + 1 >= s->r[j].lo) {
		s->r[i].hi = CM_MAX(s->r[i].hi, s->r[j].hi);
		j++;
	}
	memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
	s->n -= j - (i + 1);
}

void cm_uidset_add(cm_uidset *s, uint32_t uid)
{
	cm_uidset_add_range(s, uid, uid);
}

void cm_uidset_add_set(cm_uidset *s, const cm_uidset *other)
{
	for (size_t i = 0; i < other->n; i++)
		cm_uidset_add_range(s, other->r[i].lo, other->r[i].hi);
}

void cm_uidset_remove(cm_uidset *s, uint32_t uid)
{
	size_t i = uidset_lower(s, uid);
	if (i == s->n || s->r[i].lo > uid || s->r[i].hi < uid)
		return;
	cm_range *r = &s->r[i];
	if (r->lo == uid && r->hi == uid) {
		memmove(r, r + 1, (s->n - i - 1) * sizeof(*r));
		s->n--;
	} else if (r->lo == uid) {
		r->lo++;
	} else if (r->hi == uid) {
		r->hi--;
	} else {
		uint32_t hi = r->hi;
		r->hi = uid - 1;
		uidset_insert_at(s, i + 1, uid + 1, hi);
	}
}

bool cm_uidset_contains(const cm_uidset *s, uint32_t uid)
{
	size_t i = uidset_lower(s, uid);
	return i < s->n && s->r[i].lo <= uid && uid <= s->r[i].hi;
}

bool cm_uidset_covers(const cm_uidset *s, const cm_uidset *sub, uint32_t *missing_r)
{
	for (size_t k = 0; k < sub->n; k++)
		for (uint64_t x = sub->r[k].lo; x <= sub->r[k].hi;) {
			size_t i = uidset_lower(s, (uint32_t)x);
			/* r[i] may end just below x (uidset_lower's hi + 1 >= x);
			 * ranges are merged, so then x is in none. */
			if (i == s->n || s->r[i].lo > x || s->r[i].hi < x) {
				if (missing_r != NULL)
					*missing_r = (uint32_t)x;
				return false;
			}
			x = (uint64_t)s->r[i].hi + 1; /* range by range, not value by value */
		}
	return true;
}

uint64_t cm_uidset_count(const cm_uidset *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += (uint64_t)s->r[i].hi - s->r[i].lo + 1;
	return n;
}

uint32_t cm_uidset_max(const cm_uidset *s)
{
	return s->n ? s->r[s->n - 1].hi : 0;
}

bool cm_uidset_equal(const cm_uidset *a, const cm_uidset *b)
{
	return a->n == b->n &&
	       (a->n == 0 || memcmp(a->r, b->r, a->n * sizeof(*a->r)) == 0);
}

void cm_uidset_copy(cm_uidset *dst, const cm_uidset *src)
{
	CM_GROW(dst->r, dst->cap, src->n);
	if (src->n > 0)
		memcpy(dst->r, src->r, src->n * sizeof(*src->r));
	dst->n = src->n;
}

uint32_t cm_uidset_nth(const cm_uidset *s, uint64_t idx)
{
	for (size_t i = 0; i < s->n; i++) {
		uint64_t len = (uint64_t)s->r[i].hi - s->r[i].lo + 1;
		if (idx < len)
			return (uint32_t)(s->r[i].lo + idx);
		idx -= len;
	}
	cm_panic("cm_uidset_nth: index out of range");
}

static int parse_number(const char *t, size_t len, size_t *i, uint32_t star,
			uint32_t *out)
{
	if (*i < len && t[*i] == '*') {
		if (star == 0)
			return -1;
		(*i)++;
		*out = star;
		return 0;
	}
	uint64_t v = 0;
	size_t start = *i;
	while (*i < len && t[*i] >= '0' && t[*i] <= '9') {
		v = v * 10 + (uint64_t)(t[*i] - '0');
		if (v > UINT32_MAX)
			return -1;
		(*i)++;
	}
	if (*i == start || v == 0 || t[start] == '0')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int cm_uidset_parse(cm_uidset *s, const char *t, size_t len, uint32_t star)
{
	size_t i = 0;
	cm_uidset_clear(s);
	if (len == 0)
		return -1;
	for (;;) {
		uint32_t lo, hi;
		if (parse_number(t, len, &i, star, &lo) < 0)
			return -1;
		hi = lo;
		if (i < len && t[i] == ':') {
			i++;
			if (parse_number(t, len, &i, star, &hi) < 0)
				return -1;
		}
		cm_uidset_add_range(s, lo, hi);
		if (i == len)
			return 0;
		if (t[i] != ',')
			return -1;
		i++;
	}
}

void cm_uidset_format(cm_buf *b, const cm_uidset *s)
{
	cm_buf_reserve(b, 0);
	for (size_t i = 0; i < s->n; i++) {
		if (i > 0)
			cm_buf_putc(b, ',');
		if (s->r[i].lo == s->r[i].hi)
			cm_buf_printf(b, "%u", s->r[i].lo);
		else
			cm_buf_printf(b, "%u:%u", s->r[i].lo, s->r[i].hi);
	}
}
