/* Internals of the history reader's fast path (history_scan*.c): one pass
 * over a line straight into the model structs, for the lines ratchet's own
 * writer produces (docs/history.md: keys in the writer's order, compact,
 * integers and simple escapes).
 *
 * Every function here answers "recognised" (true) or "not recognised"
 * (false), never an error: on false the reader parses the line again
 * with jansson (history_json*.c), which stays the general parser and the
 * one that words every error. So each function takes only input that
 * jansson takes too, gives exactly what hj_*_from_json gives for it, and
 * gives up on anything else (another key order, an unknown or repeated
 * key, a \u escape, a u64 as a string, whitespace, a flag not interned
 * yet, a value the general path would refuse). */
#ifndef HISTORY_SCAN_H
#define HISTORY_SCAN_H

#include "history_json.h"

#include <string.h>

/* A line being scanned. The byte at end is not part of the line and is
 * one the scanner never takes ('\0', '\r' or '\n': the reader's buffer
 * holds the line end or a NUL there), so the loops stop on it without a
 * bounds check of their own; and HJ_SCAN_PAD bytes after it can be read
 * (never taken), so that keys are compared eight bytes at a time. */
typedef struct hj_scan {
	const char *p;
	const char *end;
	hj_flag_cache *flags;
} hj_scan;

/* Takes the byte c if it comes next: true, else false. */
static inline bool hj_sc_take(hj_scan *s, char c)
{
	if (*s->p != c)
		return false;
	s->p++;
	return true;
}

/* strcmp(a, b) == 0 for the short names of the tables, without a call. */
static inline bool hj_sc_streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A key of an object whose keys must come in the writer's order: keys of
 * one rank are alternatives, of which one at most may come (the code's
 * src, uids and set). Tables are sorted by rank. */
typedef struct hj_sc_key {
	char text[16];             /* the key, its closing quote and colon */
	unsigned char len;         /* of text */
	unsigned char rank;
} hj_sc_key;
#define HJ_SC_KEY(name, rank) {name "\":", sizeof(name) + 1, rank}

/* Does the key at k (after its opening quote) read key->text? Sixteen
 * bytes are compared, masked to the key's length: no byte of a key's text
 * is a control byte or 0xff, so a match never reaches past the line. */
static inline bool hj_sc_key_is(const char *k, const hj_sc_key *key)
{
	static const unsigned char ones[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint64_t a[2], b[2], m[2];
	memcpy(a, k, 16);
	memcpy(b, key->text, 16);
	memcpy(m, ones + 16 - key->len, 16);
	return ((a[0] ^ b[0]) & m[0]) == 0 && ((a[1] ^ b[1]) & m[1]) == 0;
}

/* The next key, of keys[*from..n) in rank order: its index, *from moved
 * past its rank; -1 when it is not one of them (unknown, repeated, out of
 * order, or escaped: keys are compared as written). */
static inline int hj_sc_key_next(hj_scan *s, const hj_sc_key *keys, size_t n,
				 size_t *from)
{
	const char *k = s->p + 1;
	if (*s->p != '"')
		return -1;
	for (size_t i = *from; i < n; i++) {
		if (!hj_sc_key_is(k, &keys[i]))
			continue;
		size_t next = i + 1;
		while (next < n && keys[next].rank == keys[i].rank)
			next++;
		*from = next;
		s->p = k + keys[i].len;
		return (int)i;
	}
	return -1;
}

/* One member's value, key id (its index in the table) already taken:
 * true when recognised. */
typedef bool hj_sc_field_fn(hj_scan *s, int id, void *ctx);

/* An object of the keys of table keys (n of them), each at most once and
 * in order; unknown keys are not recognised. Inline, so that each caller
 * gets its own copy calling its fn directly. */
static inline bool hj_sc_object(hj_scan *s, const hj_sc_key *keys, size_t n,
				hj_sc_field_fn *fn, void *ctx)
{
	size_t from = 0;
	if (!hj_sc_take(s, '{'))
		return false;
	if (hj_sc_take(s, '}'))
		return true;
	do {
		int id = hj_sc_key_next(s, keys, n, &from);
		if (id < 0 || !fn(s, id, ctx))
			return false;
	} while (hj_sc_take(s, ','));
	return hj_sc_take(s, '}');
}

/* An array, fn taking each element. */
typedef bool hj_sc_elem_fn(hj_scan *s, void *ctx);
static inline bool hj_sc_array(hj_scan *s, hj_sc_elem_fn *fn, void *ctx)
{
	if (!hj_sc_take(s, '['))
		return false;
	if (hj_sc_take(s, ']'))
		return true;
	do {
		if (!fn(s, ctx))
			return false;
	} while (hj_sc_take(s, ','));
	return hj_sc_take(s, ']');
}

/* Digits up to limit (below 10^19), JSON's syntax: "0" alone, or no
 * leading zero. What follows (a '.', an 'e') is left for the caller, who
 * expects ',', '}' or ']' there and so gives up on it. (Two or eight
 * digits a step measured no faster: the branches cost, not the sums.) */
static inline bool hj_sc_digits(hj_scan *s, uint64_t limit, uint64_t *out)
{
	const unsigned char *p = (const unsigned char *)s->p, *q = p;
	uint64_t v = 0;
	while (*q - 48u < 10 && q - p < 20) {
		v = v * 10 + (*q - 48u); /* 19 digits fit 64 bits */
		q++;
	}
	/* 20 digits and more: above any limit, jansson's "too big integer" */
	if (q == p || q - p > 19 || (*p == '0' && q - p > 1) || v > limit)
		return false;
	s->p = (const char *)q;
	*out = v;
	return true;
}

/* Values, as hj_get_* reads them (history_json.c), in the forms the
 * writer uses: integers in JSON's own syntax (0 to 2^63-1 for u64, i64
 * without "-0"), true and false. */
static inline bool hj_sc_u64(hj_scan *s, uint64_t *out)
{
	return hj_sc_digits(s, (uint64_t)INT64_MAX, out);
}

static inline bool hj_sc_u32(hj_scan *s, uint32_t *out)
{
	uint64_t v;
	if (!hj_sc_digits(s, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool hj_sc_i64(hj_scan *s, int64_t *out);
bool hj_sc_bool(hj_scan *s, bool *out);
/* A string that must fit dst (size bytes with the NUL), as hj_get_str. */
bool hj_sc_str(hj_scan *s, char *dst, size_t size);
/* Free text, cut to fit on a UTF-8 boundary, as hj_get_text (size at
 * most 256). */
bool hj_sc_text(hj_scan *s, char *dst, size_t size);
/* A name, into buf (size bytes) with a NUL: its length, which is size or
 * more when it did not fit (then buf holds no name any table has); -1
 * when not recognised. */
int hj_sc_name(hj_scan *s, char *buf, size_t size);
/* The index of s in names (n of them, NULL entries skipped): the writer's
 * exact spelling first, then case-insensitively as hj_get_enum; -1. */
int hj_sc_find(const char *s, const char *const *names, size_t n);
/* One of names (as hj_get_enum) into *out. */
bool hj_sc_enum(hj_scan *s, const char *const *names, size_t n, int *out);
/* A list of names as bits (as hj_get_bits). */
bool hj_sc_bits(hj_scan *s, const char *const *names, size_t n, bool skip_unknown,
		unsigned *out);
/* Flag names as bits (as hj_get_flags), interned ones only: a name
 * jansson would intern now is not recognised, so that the fast path never
 * interns (bits follow the order names first appear in, whichever path
 * reads the line). */
bool hj_sc_flags(hj_scan *s, cm_flags *out, bool *recent, bool *star);
bool hj_sc_set(hj_scan *s, cm_uidset *set);
bool hj_sc_hex64(hj_scan *s, uint64_t *out);

/* Objects (history_scan_event.c, history_scan_result.c), as
 * hj_op_from_json, hj_code_from_json and hj_untagged_from_json. */
bool hj_sc_op(hj_scan *s, model_op *op);
bool hj_sc_code(hj_scan *s, model_code *c);
bool hj_sc_untagged(hj_scan *s, model_result *r);

#endif
