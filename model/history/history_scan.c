/* The history reader's fast path, its values (history_scan.h): numbers,
 * strings, names, flags, sets and hashes, each read as the hj_get_* of
 * history_json.c reads it, or "not recognised"; the flag cache. (Objects,
 * arrays and unsigned integers are in history_scan.h, to be inlined.) */
#include "history_scan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================
 * Numbers and booleans
 * ==================================================================== */

bool hj_sc_i64(hj_scan *s, int64_t *out)
{
	uint64_t v;
	if (!hj_sc_take(s, '-')) {
		if (!hj_sc_digits(s, (uint64_t)INT64_MAX, &v))
			return false;
		*out = (int64_t)v;
		return true;
	}
	if (*s->p == '0' || !hj_sc_digits(s, (uint64_t)INT64_MAX + 1, &v))
		return false; /* "-0" is left to jansson */
	*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	return true;
}

bool hj_sc_bool(hj_scan *s, bool *out)
{
	const char *p = s->p;
	if (p[0] == 't' && p[1] == 'r' && p[2] == 'u' && p[3] == 'e') {
		s->p += 4;
		*out = true;
		return true;
	}
	if (p[0] == 'f' && p[1] == 'a' && p[2] == 'l' && p[3] == 's' && p[4] == 'e') {
		s->p += 5;
		*out = false;
		return true;
	}
	return false;
}

/* ======================================================================
 * Strings
 * ==================================================================== */

/* The byte a one-letter escape stands for; 0 for \u (left to jansson,
 * which knows surrogates and refuses \u0000) and for invalid ones. */
static unsigned sc_unescape(char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return 0;
	}
}

/* The string at s->p, decoded: its first size bytes into dst (no NUL
 * added), its whole length into *len_r. false for what jansson refuses
 * (a control byte, invalid UTF-8, a bad escape) and for \u escapes. */
static bool sc_string(hj_scan *s, char *dst, size_t size, size_t *len_r)
{
	const unsigned char *p = (const unsigned char *)s->p + 1;
	const unsigned char *end = (const unsigned char *)s->end;
	size_t len = 0;
	if (*s->p != '"')
		return false;
	for (;;) {
		unsigned c = *p;
		if (c == '"')
			break;
		if (c < 0x20)
			return false; /* a control byte, or the end of the line */
		if (c >= 0x80) {
			size_t n = hj_utf8_seq(p, (size_t)(end - p));
			if (n == 0)
				return false;
			for (size_t i = 0; i < n; i++, len++)
				if (len < size)
					dst[len] = (char)p[i];
			p += n;
			continue;
		}
		if (c == '\\') {
			c = sc_unescape((char)p[1]);
			if (c == 0)
				return false;
			p++;
		}
		p++;
		if (len < size)
			dst[len] = (char)c;
		len++;
	}
	s->p = (const char *)p + 1;
	*len_r = len;
	return true;
}

bool hj_sc_str(hj_scan *s, char *dst, size_t size)
{
	size_t len;
	if (!sc_string(s, dst, size - 1, &len) || len >= size)
		return false; /* jansson: "too long" */
	dst[len] = '\0';
	return true;
}

bool hj_sc_text(hj_scan *s, char *dst, size_t size)
{
	char buf[256];
	size_t len;
	assert(size <= sizeof(buf));
	if (!sc_string(s, buf, size, &len))
		return false;
	hj_text_copy(dst, size, buf, len);
	return true;
}

int hj_sc_name(hj_scan *s, char *buf, size_t size)
{
	size_t len;
	if (!sc_string(s, buf, size - 1, &len))
		return -1;
	buf[CM_MIN(len, size - 1)] = '\0';
	return len > (size_t)INT32_MAX ? INT32_MAX : (int)len;
}

/* ======================================================================
 * Names, bits and flags
 * ==================================================================== */

int hj_sc_find(const char *s, const char *const *names, size_t n)
{
	/* No two names are equal but for case, so the first exact match is
	 * the first case-insensitive one, which hj_get_enum takes. */
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && hj_sc_streq(names[i], s))
			return (int)i;
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcasecmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

bool hj_sc_enum(hj_scan *s, const char *const *names, size_t n, int *out)
{
	char buf[32];
	int len = hj_sc_name(s, buf, sizeof(buf));
	int i = len >= 0 && (size_t)len < sizeof(buf) ? hj_sc_find(buf, names, n) : -1;
	if (i < 0)
		return false; /* jansson: "unknown value" */
	*out = i;
	return true;
}

typedef struct bits_ctx {
	const char *const *names;
	size_t n;
	bool skip_unknown;
	unsigned *out;
} bits_ctx;

static bool sc_bit(hj_scan *s, void *ctx)
{
	bits_ctx *b = ctx;
	char buf[32];
	int len = hj_sc_name(s, buf, sizeof(buf));
	if (len < 0)
		return false;
	int i = (size_t)len < sizeof(buf) ? hj_sc_find(buf, b->names, b->n) : -1;
	if (i >= 0)
		*b->out |= 1u << i;
	return i >= 0 || b->skip_unknown;
}

bool hj_sc_bits(hj_scan *s, const char *const *names, size_t n, bool skip_unknown,
		unsigned *out)
{
	bits_ctx b = {names, n, skip_unknown, out};
	*out = 0;
	return hj_sc_array(s, sc_bit, &b);
}

/* Flag names as written (between the quotes), with cm_flag_lookup's answer
 * for what they decode to. Open addressing, never deleted from: a bit or
 * \Recent (-2) stays right, since interned names are never dropped;
 * unknown names (-1) are not kept, they may be interned later. Half full
 * at most; beyond, names are decoded and looked up each time. Only names
 * of printable ASCII whose one escape is "\\" are kept: the writer's. */
#define FLAG_SLOTS 256
#define FLAG_NAME_MAX 64 /* cm_flag_intern's limit */
#define FLAG_RAW_MAX 80

struct hj_flag_cache {
	struct {
		uint32_t hash;
		unsigned char len; /* 0: empty */
		signed char bit;
		char raw[FLAG_RAW_MAX];
	} slot[FLAG_SLOTS];
	size_t used;
};

hj_flag_cache *hj_flag_cache_new(void)
{
	return cm_xcalloc(1, sizeof(hj_flag_cache));
}

void hj_flag_cache_free(hj_flag_cache *c)
{
	free(c);
}

/* The length of the name written at raw (after its opening quote) and its
 * hash, when it is one the cache keeps; 0 otherwise. */
static size_t flag_raw(const char *raw, uint32_t *hash_r)
{
	uint32_t h = 0;
	size_t n = 0;
	for (; raw[n] != '"'; n++) {
		unsigned char c = (unsigned char)raw[n];
		if (c <= 0x20 || c >= 0x7f || n + 2 > FLAG_RAW_MAX)
			return 0;
		if (c == '\\' && raw[++n] != '\\')
			return 0;
		h = (h << 5 | h >> 27) ^ c;
	}
	*hash_r = h ^ h >> 11;
	return n;
}

/* The slot of raw (len bytes, hash h): where it is, or the empty slot
 * where it would go. */
static size_t flag_slot(const hj_flag_cache *c, const char *raw, size_t len, uint32_t h)
{
	size_t i = h & (FLAG_SLOTS - 1);
	for (;; i = (i + 1) & (FLAG_SLOTS - 1)) {
		if (c->slot[i].len == 0)
			return i;
		if (c->slot[i].hash != h || c->slot[i].len != len)
			continue;
		size_t k = 0;
		while (k < len && c->slot[i].raw[k] == raw[k])
			k++;
		if (k == len)
			return i;
	}
}

static void flag_keep(hj_flag_cache *c, size_t i, const char *raw, size_t len,
		      uint32_t h, int bit)
{
	if (bit == -1 || c->used >= FLAG_SLOTS / 2)
		return;
	assert(bit >= -2 && bit < CM_FLAGS_MAX && len > 0 && len <= FLAG_RAW_MAX);
	c->slot[i].hash = h;
	c->slot[i].len = (unsigned char)len;
	c->slot[i].bit = (signed char)bit;
	memcpy(c->slot[i].raw, raw, len);
	c->used++;
}

typedef struct flags_ctx {
	hj_flag_cache *cache;
	cm_flags *out;
	bool *recent, *star;
} flags_ctx;

/* One flag name: its bit by the cache, or decoded and looked up. */
static bool sc_flag(hj_scan *s, void *ctx)
{
	flags_ctx *f = ctx;
	const char *raw = s->p + 1;
	uint32_t h = 0;
	size_t rlen = *s->p == '"' ? flag_raw(raw, &h) : 0;
	size_t i = rlen > 0 ? flag_slot(f->cache, raw, rlen, h) : 0;
	int bit;
	char buf[FLAG_NAME_MAX + 1];
	buf[0] = '\0';
	if (rlen > 0 && f->cache->slot[i].len != 0) {
		bit = f->cache->slot[i].bit;
		s->p = raw + rlen + 1;
	} else {
		int len = hj_sc_name(s, buf, sizeof(buf));
		if (len <= 0 || len > FLAG_NAME_MAX)
			return false; /* cm_flag_intern would refuse it */
		bit = cm_flag_lookup(buf, (size_t)len);
		if (rlen > 0)
			flag_keep(f->cache, i, raw, rlen, h, bit);
	}
	if (bit >= 0)
		*f->out |= (cm_flags)1 << bit;
	else if (bit == -2 && f->recent != NULL)
		*f->recent = true;
	else if (bit == -1 && f->star != NULL && strcmp(buf, "\\*") == 0)
		*f->star = true;
	else if (bit == -1)
		return false; /* not interned yet, or not a flag */
	return true;
}

bool hj_sc_flags(hj_scan *s, cm_flags *out, bool *recent, bool *star)
{
	flags_ctx f = {s->flags, out, recent, star};
	*out = 0;
	return hj_sc_array(s, sc_flag, &f);
}

/* ======================================================================
 * Sets and hashes
 * ==================================================================== */

bool hj_sc_set(hj_scan *s, cm_uidset *set)
{
	const char *t = s->p + 1, *q = t;
	if (*s->p != '"')
		return false;
	while ((*q >= '0' && *q <= '9') || *q == ':' || *q == ',')
		q++;
	if (*q != '"')
		return false;
	if (q == t)
		cm_uidset_clear(set);
	else if (cm_uidset_parse(set, t, (size_t)(q - t), 0) < 0)
		return false; /* jansson: "bad set" */
	s->p = q + 1;
	return true;
}

bool hj_sc_hex64(hj_scan *s, uint64_t *out)
{
	const char *p = s->p + 1;
	uint64_t x = 0;
	size_t n = 0;
	if (*s->p != '"')
		return false;
	for (; *p != '"'; p++, n++) {
		char c = *p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16 || n == 16)
			return false;
		x = x << 4 | d;
	}
	if (n == 0)
		return false;
	s->p = p + 1;
	*out = x;
	return true;
}
