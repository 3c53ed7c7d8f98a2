/* The history codec's JSON mapping (docs/history.md): model structs to
 * jansson values for the writer, and back for the reader. This file holds
 * the errors, the scalar values both ways and the header;
 * history_json_op.c maps ops, history_json_result.c response codes and
 * untagged responses. Every field is
 * written only when it differs from its default, and the reader fills in
 * the defaults, so the mapping is lossless for the fields the format has. */
#include "history_json.h"

#include <assert.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================
 * Errors and key tables
 * ==================================================================== */

int hj_key_find(const hj_key *keys, size_t n, const char *key)
{
	size_t a = 0, b = n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		/* Most probes differ in the first byte: skip the call then. */
		int c = (unsigned char)keys[m].name[0] - (unsigned char)key[0];
		if (c == 0)
			c = strcmp(keys[m].name, key);
		if (c == 0)
			return keys[m].id;
		if (c < 0)
			a = m + 1;
		else
			b = m;
	}
	return -1;
}

/* Names of the bits of MODEL_CAP_*, by bit. */
const char *const hj_cap_names[HJ_CAP_COUNT] = {
	"IMAP4rev2", "UIDPLUS", "CONDSTORE", "QRESYNC",
	"MOVE", "ENABLE", "LITERAL+", "ESEARCH",
};

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int hj_status_parse(const char *s, model_reply *st)
{
	for (int k = MODEL_REPLY_NONE; k <= MODEL_REPLY_UNKNOWN; k++) {
		if (strcasecmp(s, model_status_name((model_reply)k)) == 0) {
			*st = (model_reply)k;
			return 0;
		}
	}
	return -1;
}

/* ======================================================================
 * Writing
 * ==================================================================== */

json_t *hj_u64(uint64_t v)
{
	char s[24];
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_string_nocheck(s);
}

/* The same rules as jansson: the writer's output must load, and the fast
 * path must take no string jansson refuses. */
size_t hj_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t v;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, v = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, v = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, v = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return len;
}

json_t *hj_str(const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	json_t *j = json_stringn(s, len);
	if (j != NULL)
		return j;
	/* Servers send what they like in texts: keep what is valid. */
	cm_buf b = {0};
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = hj_utf8_seq(u + i, len - i);
		if (n == 0) {
			cm_buf_puts(&b, "\xef\xbf\xbd");
			i++;
		} else {
			cm_buf_append(&b, u + i, n);
			i += n;
		}
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	cm_buf_free(&b);
	return j;
}

json_t *hj_set_to_json(const cm_uidset *s)
{
	cm_buf b = {0};
	cm_uidset_format(&b, s);
	json_t *j = json_stringn_nocheck(b.data, b.len);
	cm_buf_free(&b);
	return j;
}

json_t *hj_bits_to_json(unsigned bits, const char *const *names, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n && a != NULL; i++)
		if (bits & (1u << i))
			json_array_append_new(a, json_string_nocheck(names[i]));
	return a;
}

/* NULL if a bit has no name: bits are per process, names are the truth. */
json_t *hj_flags_to_json(cm_flags flags)
{
	json_t *a = json_array();
	for (int bit = 0; bit < CM_FLAGS_MAX && a != NULL; bit++) {
		if (!(flags & ((cm_flags)1 << bit)))
			continue;
		const char *name = cm_flag_name(bit);
		if (name == NULL || json_array_append_new(a, json_string(name)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *hj_hex64(uint64_t v)
{
	char s[17];
	snprintf(s, sizeof(s), "%016" PRIx64, v);
	return json_string_nocheck(s);
}

json_t *hj_header_to_json(const model_history_header *h)
{
	hj_obj b = hj_obj_new();
	hj_obj_put(&b, "ratchet_history", json_integer(1));
	hj_obj_put(&b, "seed", hj_u64(h->seed));
	hj_obj_put(&b, "target", hj_str(h->target, sizeof(h->target)));
	hj_obj_put(&b, "capabilities",
	       hj_bits_to_json(h->capabilities, hj_cap_names, CM_ARRAY_LEN(hj_cap_names)));
	hj_obj_put(&b, "clients", json_integer(h->clients));
	if (h->mutant[0])
		hj_obj_put(&b, "mutant", hj_str(h->mutant, sizeof(h->mutant)));
	return hj_obj_done(&b);
}

/* ======================================================================
 * Reading: scalar values
 * ==================================================================== */

int hj_get_u64(const char *key, const json_t *v, uint64_t *out, cm_err *e)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return cm_err_set(e, "%s: negative value %" JSON_INTEGER_FORMAT, key, i);
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return cm_err_set(e, "%s: expected an unsigned integer", key);
	/* Values above 2^63-1 travel as decimal strings. */
	const char *s = json_string_value(v);
	uint64_t x = 0;
	if (*s == '\0')
		return cm_err_set(e, "%s: expected an unsigned integer, got \"\"", key);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return cm_err_set(e, "%s: expected an unsigned integer", key);
		uint64_t d = (uint64_t)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return cm_err_set(e, "%s: value out of range (above 2^64-1)", key);
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

int hj_get_u32(const char *key, const json_t *v, uint32_t *out, cm_err *e)
{
	uint64_t x = 0;
	if (hj_get_u64(key, v, &x, e) < 0)
		return -1;
	if (x > UINT32_MAX)
		return cm_err_set(e, "%s: value %" PRIu64 " out of range (above 2^32-1)", key, x);
	*out = (uint32_t)x;
	return 0;
}

int hj_get_i64(const char *key, const json_t *v, int64_t *out, cm_err *e)
{
	if (!json_is_integer(v))
		return cm_err_set(e, "%s: expected an integer", key);
	*out = json_integer_value(v);
	return 0;
}

int hj_get_bool(const char *key, const json_t *v, bool *out, cm_err *e)
{
	if (!json_is_boolean(v))
		return cm_err_set(e, "%s: expected true or false", key);
	*out = json_is_true(v);
	return 0;
}

const char *hj_get_string(const char *key, const json_t *v, size_t *len_r,
			  cm_err *e)
{
	if (!json_is_string(v)) {
		cm_err_set(e, "%s: expected a string", key);
		return NULL;
	}
	*len_r = json_string_length(v);
	return json_string_value(v);
}

int hj_get_str(const char *key, const json_t *v, char *dst, size_t size, cm_err *e)
{
	size_t len;
	const char *s = hj_get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	if (len >= size)
		return cm_err_set(e, "%s: too long (%zu bytes, at most %zu)", key, len, size - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

int hj_get_text(const char *key, const json_t *v, char *dst, size_t size, cm_err *e)
{
	size_t len;
	const char *s = hj_get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	hj_text_copy(dst, size, s, len);
	return 0;
}

void hj_text_copy(char *dst, size_t size, const char *s, size_t len)
{
	assert(size > 0);
	if (len >= size) {
		len = size - 1;
		/* Do not cut a UTF-8 sequence in two. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
}

int hj_get_set(const char *key, const json_t *v, cm_uidset *s, cm_err *e)
{
	size_t len;
	const char *t = hj_get_string(key, v, &len, e);
	if (t == NULL)
		return -1;
	if (len == 0) {
		cm_uidset_clear(s);
		return 0;
	}
	if (cm_uidset_parse(s, t, len, 0) < 0)
		return cm_err_set(e, "%s: bad set \"%.40s\"", key, t);
	return 0;
}

int hj_get_hex64(const char *key, const json_t *v, uint64_t *out, cm_err *e)
{
	size_t len;
	const char *s = hj_get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	if (len == 0 || len > 16)
		return cm_err_set(e, "%s: expected 1 to 16 hex digits", key);
	uint64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return cm_err_set(e, "%s: expected 1 to 16 hex digits", key);
		x = x << 4 | d;
	}
	*out = x;
	return 0;
}

/* One of names (by index), case-insensitively. */
int hj_get_enum(const char *key, const json_t *v, const char *const *names,
		size_t n, int *out, cm_err *e)
{
	size_t len;
	const char *s = hj_get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	int i = name_index(names, n, s);
	if (i < 0)
		return cm_err_set(e, "%s: unknown value \"%.40s\"", key, s);
	*out = i;
	return 0;
}

static const json_t *get_array(const char *key, const json_t *v, cm_err *e)
{
	if (!json_is_array(v)) {
		cm_err_set(e, "%s: expected an array", key);
		return NULL;
	}
	return v;
}

/* A list of bit names; unknown names fail, or are skipped when the list is
 * open-ended (capabilities: servers advertise many the model ignores). */
int hj_get_bits(const char *key, const json_t *v, const char *const *names,
		size_t n, bool skip_unknown, unsigned *out, cm_err *e)
{
	size_t i;
	const json_t *x;
	if (get_array(key, v, e) == NULL)
		return -1;
	*out = 0;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return cm_err_set(e, "%s[%zu]: expected a string", key, i);
		int bit = name_index(names, n, json_string_value(x));
		if (bit >= 0)
			*out |= 1u << bit;
		else if (!skip_unknown)
			return cm_err_set(e, "%s: unknown value \"%.40s\"", key,
				       json_string_value(x));
	}
	return 0;
}

/* Flag names, interned. \Recent goes to *recent (dropped if NULL: no
 * permanent-flag set can hold it); "\*" goes to *star where allowed. */
int hj_get_flags(const char *key, const json_t *v, cm_flags *out, bool *recent,
		 bool *star, cm_err *e)
{
	size_t i;
	const json_t *x;
	if (get_array(key, v, e) == NULL)
		return -1;
	*out = 0;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return cm_err_set(e, "%s[%zu]: expected a string", key, i);
		const char *s = json_string_value(x);
		size_t len = json_string_length(x);
		int bit = cm_flag_intern(s, len);
		if (bit >= 0)
			*out |= (cm_flags)1 << bit;
		else if (bit == -2 && recent != NULL)
			*recent = true;
		else if (star != NULL && strcmp(s, "\\*") == 0)
			*star = true;
		else if (bit != -2)
			return cm_err_set(e, "%s: cannot use flag \"%.40s\" (bad name, or more "
				       "than %d keywords)", key, s, CM_FLAGS_MAX - 5);
	}
	return 0;
}

int hj_want_object(const char *key, const json_t *v, cm_err *e)
{
	return json_is_object(v) ? 0 : cm_err_set(e, "%s: expected an object", key);
}

/* ======================================================================
 * Reading: objects
 * ==================================================================== */

enum { H_CAPS, H_CLIENTS, H_MUTANT, H_VERSION, H_SEED, H_TARGET };
static const hj_key header_keys[] = {
	{"capabilities", H_CAPS}, {"clients", H_CLIENTS}, {"mutant", H_MUTANT},
	{"ratchet_history", H_VERSION}, {"seed", H_SEED}, {"target", H_TARGET},
};

static int header_field(model_history_header *h, int id, const char *key,
			const json_t *v, cm_err *e)
{
	uint32_t u = 0;
	switch (id) {
	case H_CAPS:
		return hj_get_bits(key, v, hj_cap_names, CM_ARRAY_LEN(hj_cap_names), true,
				   &h->capabilities, e);
	case H_CLIENTS:
		if (hj_get_u32(key, v, &u, e) < 0)
			return -1;
		h->clients = u;
		return 0;
	case H_MUTANT: return hj_get_str(key, v, h->mutant, sizeof(h->mutant), e);
	case H_VERSION:
		if (hj_get_u32(key, v, &u, e) < 0)
			return -1;
		if (u != 1)
			return cm_err_set(e, "unsupported history version %" PRIu32
				       " (this ratchet reads version 1)", u);
		h->version = u;
		return 0;
	case H_SEED: return hj_get_u64(key, v, &h->seed, e);
	case H_TARGET: return hj_get_str(key, v, h->target, sizeof(h->target), e);
	}
	return 0;
}

int hj_header_from_json(const json_t *obj, model_history_header *h, cm_err *e)
{
	const char *key;
	json_t *v;
	memset(h, 0, sizeof(*h));
	if (!json_is_object(obj) || json_object_get(obj, "ratchet_history") == NULL)
		return cm_err_set(e, "not a ratchet history (the first line must be the "
			       "{\"ratchet_history\":1,...} header)");
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(header_keys, CM_ARRAY_LEN(header_keys), key);
		if (id >= 0 && header_field(h, id, key, v, e) < 0)
			return -1;
	}
	return 0;
}
