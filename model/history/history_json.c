/* The history codec's JSON mapping (docs/history.md): model structs to
 * jansson values for the writer, and back for the reader. Every field is
 * written only when it differs from its default, and the reader fills in
 * the defaults, so the mapping is lossless for the fields the format has. */
#include "history_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================
 * Errors and key tables
 * ==================================================================== */

int hj_fail(hj_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void hj_prefix(hj_err *e, const char *fmt, ...)
{
	char pre[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	size_t n = strlen(pre), len = strlen(e->msg);
	if (n + len >= sizeof(e->msg))
		len = sizeof(e->msg) - 1 - n;
	memmove(e->msg + n, e->msg, len);
	memcpy(e->msg, pre, n);
	e->msg[n + len] = '\0';
}

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

/* Names of the bits of MODEL_F_*, MODEL_CAP_* and MODEL_STATUS_*, by bit. */
static const char *const item_names[] = {
	"UID", "FLAGS", "MODSEQ", "BODY", "SIZE", "IDATE", "ID",
};
static const char *const cap_names[] = {
	"IMAP4rev2", "UIDPLUS", "CONDSTORE", "QRESYNC",
	"MOVE", "ENABLE", "LITERAL+", "ESEARCH",
};
static const char *const fault_names[] = {
	[MODEL_FAULT_NONE] = "none", [MODEL_FAULT_CRASH] = "crash",
	[MODEL_FAULT_KILL] = "kill", [MODEL_FAULT_ENOSPC] = "enospc",
	[MODEL_FAULT_RENAME] = "rename-failure", [MODEL_FAULT_INDEX_LOSS] = "index-loss",
};
/* Indexed by MODEL_STATUS_* bit; highestmodseq is 64-bit and handled apart (STATUS response keys). */
static const char *const status_keys[] = {
	"messages", "recent", "uidnext", "uidvalidity", "unseen",
};

static const char *const mode_names[] = {
	[MODEL_STORE_REPLACE] = "=", [MODEL_STORE_ADD] = "+", [MODEL_STORE_REMOVE] = "-",
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

/* Collects members; a failed member poisons the object (values are
 * consumed by jansson either way, so nothing leaks). */
typedef struct jb {
	json_t *o;
	bool ok;
} jb;

static jb jb_new(void)
{
	jb b = {json_object(), true};
	b.ok = b.o != NULL;
	return b;
}

static void jb_put(jb *b, const char *key, json_t *v)
{
	if (json_object_set_new_nocheck(b->o, key, v) != 0)
		b->ok = false;
}

static json_t *jb_done(jb *b)
{
	if (b->ok)
		return b->o;
	json_decref(b->o);
	return NULL;
}

json_t *hj_u64(uint64_t v)
{
	char s[24];
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_string_nocheck(s);
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 if
 * invalid: the same rules as jansson (no overlongs, surrogates or
 * values above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
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
		size_t n = utf8_seq(u + i, len - i);
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

static json_t *set_to_json(const cm_uidset *s)
{
	cm_buf b = {0};
	cm_uidset_format(&b, s);
	json_t *j = json_stringn_nocheck(b.data, b.len);
	cm_buf_free(&b);
	return j;
}

static json_t *bits_to_json(unsigned bits, const char *const *names, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n && a != NULL; i++)
		if (bits & (1u << i))
			json_array_append_new(a, json_string_nocheck(names[i]));
	return a;
}

/* NULL if a bit has no name: bits are per process, names are the truth. */
static json_t *flags_to_json(cm_flags flags)
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

static json_t *hex64(uint64_t v)
{
	char s[17];
	snprintf(s, sizeof(s), "%016" PRIx64, v);
	return json_string_nocheck(s);
}

json_t *hj_header_to_json(const model_history_header *h)
{
	jb b = jb_new();
	jb_put(&b, "ratchet_history", json_integer(1));
	jb_put(&b, "seed", hj_u64(h->seed));
	jb_put(&b, "target", hj_str(h->target, sizeof(h->target)));
	jb_put(&b, "capabilities",
	       bits_to_json(h->capabilities, cap_names, CM_ARRAY_LEN(cap_names)));
	jb_put(&b, "clients", json_integer(h->clients));
	if (h->mutant[0])
		jb_put(&b, "mutant", hj_str(h->mutant, sizeof(h->mutant)));
	return jb_done(&b);
}

static json_t *qresync_to_json(const model_op *op)
{
	jb b = jb_new();
	jb_put(&b, "uidvalidity", json_integer(op->q_uidvalidity));
	jb_put(&b, "modseq", hj_u64(op->q_modseq));
	if (op->q_known.n)
		jb_put(&b, "known", set_to_json(&op->q_known));
	return jb_done(&b);
}

static void op_select_fields(jb *b, const model_op *op)
{
	if (op->readonly)
		jb_put(b, "readonly", json_true());
	if (op->condstore)
		jb_put(b, "condstore", json_true());
	if (op->qresync)
		jb_put(b, "qresync", qresync_to_json(op));
}

static void op_store_fetch_fields(jb *b, const model_op *op)
{
	if (op->kind == MODEL_OP_STORE || op->mode != MODEL_STORE_REPLACE)
		jb_put(b, "mode", op->mode < CM_ARRAY_LEN(mode_names)
			   ? json_string_nocheck(mode_names[op->mode]) : NULL);
	if (op->flags)
		jb_put(b, "flags", flags_to_json(op->flags));
	if (op->silent)
		jb_put(b, "silent", json_true());
	if (op->has_unchangedsince)
		jb_put(b, "unchangedsince", hj_u64(op->unchangedsince));
	if (op->items)
		jb_put(b, "items", bits_to_json(op->items, item_names, CM_ARRAY_LEN(item_names)));
	if (op->has_changedsince)
		jb_put(b, "changedsince", hj_u64(op->changedsince));
	if (op->vanished)
		jb_put(b, "vanished", json_true());
}

static void op_other_fields(jb *b, const model_op *op)
{
	if (op->msg_id[0])
		jb_put(b, "msg_id", hj_str(op->msg_id, sizeof(op->msg_id)));
	if (op->body_hash)
		jb_put(b, "body_hash", hex64(op->body_hash));
	if (op->size)
		jb_put(b, "size", json_integer(op->size));
	if (op->caps)
		jb_put(b, "caps", bits_to_json(op->caps, cap_names, CM_ARRAY_LEN(cap_names)));
	if (op->status_items)
		jb_put(b, "status_items",
		       bits_to_json(op->status_items, model_status_item_names, MODEL_STATUS_COUNT));
	if (op->fault != MODEL_FAULT_NONE)
		jb_put(b, "fault", op->fault < CM_ARRAY_LEN(fault_names)
			   ? json_string_nocheck(fault_names[op->fault]) : NULL);
	if (op->fault_client)
		jb_put(b, "fault_client", json_integer(op->fault_client));
}

json_t *hj_op_to_json(const model_op *op)
{
	jb b = jb_new();
	jb_put(&b, "kind", op->kind > MODEL_OP_NONE && op->kind < MODEL_OP_KIND_COUNT
		   ? json_string_nocheck(model_op_name(op->kind)) : NULL);
	if (op->uid)
		jb_put(&b, "uid", json_true());
	if (op->set.n)
		jb_put(&b, "set", set_to_json(&op->set));
	if (op->mailbox[0])
		jb_put(&b, "mailbox", hj_str(op->mailbox, sizeof(op->mailbox)));
	op_select_fields(&b, op);
	op_store_fetch_fields(&b, op);
	op_other_fields(&b, op);
	return jb_done(&b);
}

json_t *hj_code_to_json(const model_code *c)
{
	jb b = jb_new();
	if (c->kind != MODEL_CODE_NONE)
		jb_put(&b, "name", c->kind < MODEL_CODE_KIND_COUNT
			   ? json_string_nocheck(model_code_name(c->kind)) : NULL);
	if (c->uidvalidity)
		jb_put(&b, "uidvalidity", json_integer(c->uidvalidity));
	if (c->set1.n)
		jb_put(&b, c->kind == MODEL_CODE_COPYUID ? "src"
			   : c->kind == MODEL_CODE_APPENDUID ? "uids" : "set",
		       set_to_json(&c->set1));
	if (c->set2.n)
		jb_put(&b, "dst", set_to_json(&c->set2));
	if (c->value)
		jb_put(&b, "value", hj_u64(c->value));
	if (c->flags)
		jb_put(&b, "flags", flags_to_json(c->flags));
	if (c->star)
		jb_put(&b, "star", json_true());
	if (c->text[0])
		jb_put(&b, "text", hj_str(c->text, sizeof(c->text)));
	return jb_done(&b);
}

/* BODY carries its size as body_size: RFC822.SIZE (size) may be absent. */
static json_t *fetch_to_json(const model_untagged *u)
{
	const model_fetch *f = &u->fetch;
	jb b = jb_new();
	jb_put(&b, "seq", json_integer(u->n));
	if (f->has & MODEL_F_UID)
		jb_put(&b, "uid", json_integer(f->uid));
	if (f->has & MODEL_F_FLAGS)
		jb_put(&b, "flags", flags_to_json(f->flags));
	if (f->recent)
		jb_put(&b, "recent", json_true());
	if (f->has & MODEL_F_MODSEQ)
		jb_put(&b, "modseq", hj_u64(f->modseq));
	if (f->has & MODEL_F_BODY) {
		jb_put(&b, "body_hash", hex64(f->body_hash));
		jb_put(&b, "body_size", json_integer(f->size));
	}
	if (f->has & MODEL_F_SIZE)
		jb_put(&b, "size", json_integer(f->size));
	if (f->has & MODEL_F_IDATE)
		jb_put(&b, "idate", json_integer(f->idate));
	if (f->has & MODEL_F_ID)
		jb_put(&b, "id", hj_str(f->id, sizeof(f->id)));
	if (f->duplicate_items)
		jb_put(&b, "dup", json_true());
	return jb_done(&b);
}

static json_t *status_to_json(const model_status_data *s)
{
	const uint32_t vals[] = {s->messages, s->recent, s->uidnext, s->uidvalidity,
				 s->unseen};
	jb b = jb_new();
	jb_put(&b, "mailbox", hj_str(s->mailbox, sizeof(s->mailbox)));
	for (size_t i = 0; i < CM_ARRAY_LEN(status_keys); i++)
		if (s->has & (1u << i))
			jb_put(&b, status_keys[i], json_integer(vals[i]));
	if (s->has & MODEL_STATUS_HIGHESTMODSEQ)
		jb_put(&b, "highestmodseq", hj_u64(s->highestmodseq));
	return jb_done(&b);
}

json_t *hj_untagged_to_json(const model_untagged *u)
{
	jb b = jb_new();
	switch (u->kind) {
	case MODEL_UT_EXISTS: jb_put(&b, "exists", json_integer(u->n)); break;
	case MODEL_UT_RECENT: jb_put(&b, "recent", json_integer(u->n)); break;
	case MODEL_UT_EXPUNGE: jb_put(&b, "expunge", json_integer(u->n)); break;
	case MODEL_UT_VANISHED:
		jb_put(&b, "vanished", set_to_json(&u->set));
		if (u->earlier)
			jb_put(&b, "earlier", json_true());
		break;
	case MODEL_UT_FETCH: jb_put(&b, "fetch", fetch_to_json(u)); break;
	case MODEL_UT_FLAGS: jb_put(&b, "flags", flags_to_json(u->flags)); break;
	case MODEL_UT_CODE: jb_put(&b, "code", hj_code_to_json(&u->code)); break;
	case MODEL_UT_SEARCH:
		jb_put(&b, "search", set_to_json(&u->set));
		if (u->value)
			jb_put(&b, "modseq", hj_u64(u->value));
		break;
	case MODEL_UT_STATUS: jb_put(&b, "status", status_to_json(&u->status)); break;
	case MODEL_UT_ENABLED:
		jb_put(&b, "enabled", bits_to_json(u->caps, cap_names, CM_ARRAY_LEN(cap_names)));
		break;
	case MODEL_UT_BYE: jb_put(&b, "bye", json_true()); break;
	default: b.ok = false; break;
	}
	return jb_done(&b);
}

/* ======================================================================
 * Reading: scalar values
 * ==================================================================== */

int hj_get_u64(const char *key, const json_t *v, uint64_t *out, hj_err *e)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return hj_fail(e, "%s: negative value %" JSON_INTEGER_FORMAT, key, i);
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return hj_fail(e, "%s: expected an unsigned integer", key);
	/* Values above 2^63-1 travel as decimal strings. */
	const char *s = json_string_value(v);
	uint64_t x = 0;
	if (*s == '\0')
		return hj_fail(e, "%s: expected an unsigned integer, got \"\"", key);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return hj_fail(e, "%s: expected an unsigned integer", key);
		uint64_t d = (uint64_t)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return hj_fail(e, "%s: value out of range (above 2^64-1)", key);
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

int hj_get_u32(const char *key, const json_t *v, uint32_t *out, hj_err *e)
{
	uint64_t x = 0;
	if (hj_get_u64(key, v, &x, e) < 0)
		return -1;
	if (x > UINT32_MAX)
		return hj_fail(e, "%s: value %" PRIu64 " out of range (above 2^32-1)", key, x);
	*out = (uint32_t)x;
	return 0;
}

static int get_i64(const char *key, const json_t *v, int64_t *out, hj_err *e)
{
	if (!json_is_integer(v))
		return hj_fail(e, "%s: expected an integer", key);
	*out = json_integer_value(v);
	return 0;
}

int hj_get_bool(const char *key, const json_t *v, bool *out, hj_err *e)
{
	if (!json_is_boolean(v))
		return hj_fail(e, "%s: expected true or false", key);
	*out = json_is_true(v);
	return 0;
}

static const char *get_string(const char *key, const json_t *v, size_t *len_r,
			      hj_err *e)
{
	if (!json_is_string(v)) {
		hj_fail(e, "%s: expected a string", key);
		return NULL;
	}
	*len_r = json_string_length(v);
	return json_string_value(v);
}

int hj_get_str(const char *key, const json_t *v, char *dst, size_t size, hj_err *e)
{
	size_t len;
	const char *s = get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	if (len >= size)
		return hj_fail(e, "%s: too long (%zu bytes, at most %zu)", key, len, size - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

int hj_get_text(const char *key, const json_t *v, char *dst, size_t size, hj_err *e)
{
	size_t len;
	const char *s = get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	if (len >= size) {
		len = size - 1;
		/* Do not cut a UTF-8 sequence in two. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int get_set(const char *key, const json_t *v, cm_uidset *s, hj_err *e)
{
	size_t len;
	const char *t = get_string(key, v, &len, e);
	if (t == NULL)
		return -1;
	if (len == 0) {
		cm_uidset_clear(s);
		return 0;
	}
	if (cm_uidset_parse(s, t, len, 0) < 0)
		return hj_fail(e, "%s: bad set \"%.40s\"", key, t);
	return 0;
}

static int get_hex64(const char *key, const json_t *v, uint64_t *out, hj_err *e)
{
	size_t len;
	const char *s = get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	if (len == 0 || len > 16)
		return hj_fail(e, "%s: expected 1 to 16 hex digits", key);
	uint64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return hj_fail(e, "%s: expected 1 to 16 hex digits", key);
		x = x << 4 | d;
	}
	*out = x;
	return 0;
}

/* One of names (by index), case-insensitively. */
static int get_enum(const char *key, const json_t *v, const char *const *names,
		    size_t n, int *out, hj_err *e)
{
	size_t len;
	const char *s = get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	int i = name_index(names, n, s);
	if (i < 0)
		return hj_fail(e, "%s: unknown value \"%.40s\"", key, s);
	*out = i;
	return 0;
}

static const json_t *get_array(const char *key, const json_t *v, hj_err *e)
{
	if (!json_is_array(v)) {
		hj_fail(e, "%s: expected an array", key);
		return NULL;
	}
	return v;
}

/* A list of bit names; unknown names fail, or are skipped when the list is
 * open-ended (capabilities: servers advertise many the model ignores). */
static int get_bits(const char *key, const json_t *v, const char *const *names,
		    size_t n, bool skip_unknown, unsigned *out, hj_err *e)
{
	size_t i;
	const json_t *x;
	if (get_array(key, v, e) == NULL)
		return -1;
	*out = 0;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return hj_fail(e, "%s[%zu]: expected a string", key, i);
		int bit = name_index(names, n, json_string_value(x));
		if (bit >= 0)
			*out |= 1u << bit;
		else if (!skip_unknown)
			return hj_fail(e, "%s: unknown value \"%.40s\"", key,
				       json_string_value(x));
	}
	return 0;
}

/* Flag names, interned. \Recent goes to *recent (dropped if NULL: no
 * permanent-flag set can hold it); "\*" goes to *star where allowed. */
static int get_flags(const char *key, const json_t *v, cm_flags *out, bool *recent,
		     bool *star, hj_err *e)
{
	size_t i;
	const json_t *x;
	if (get_array(key, v, e) == NULL)
		return -1;
	*out = 0;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return hj_fail(e, "%s[%zu]: expected a string", key, i);
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
			return hj_fail(e, "%s: cannot use flag \"%.40s\" (bad name, or more "
				       "than %d keywords)", key, s, CM_FLAGS_MAX - 5);
	}
	return 0;
}

static int want_object(const char *key, const json_t *v, hj_err *e)
{
	return json_is_object(v) ? 0 : hj_fail(e, "%s: expected an object", key);
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
			const json_t *v, hj_err *e)
{
	uint32_t u = 0;
	switch (id) {
	case H_CAPS:
		return get_bits(key, v, cap_names, CM_ARRAY_LEN(cap_names), true,
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
			return hj_fail(e, "unsupported history version %" PRIu32
				       " (this ratchet reads version 1)", u);
		h->version = u;
		return 0;
	case H_SEED: return hj_get_u64(key, v, &h->seed, e);
	case H_TARGET: return hj_get_str(key, v, h->target, sizeof(h->target), e);
	}
	return 0;
}

int hj_header_from_json(const json_t *obj, model_history_header *h, hj_err *e)
{
	const char *key;
	json_t *v;
	memset(h, 0, sizeof(*h));
	if (!json_is_object(obj) || json_object_get(obj, "ratchet_history") == NULL)
		return hj_fail(e, "not a ratchet history (the first line must be the "
			       "{\"ratchet_history\":1,...} header)");
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(header_keys, CM_ARRAY_LEN(header_keys), key);
		if (id >= 0 && header_field(h, id, key, v, e) < 0)
			return -1;
	}
	return 0;
}

enum {
	O_BODY_HASH, O_CAPS, O_CHANGEDSINCE, O_CONDSTORE, O_FAULT, O_FAULT_CLIENT,
	O_FLAGS, O_ITEMS, O_KIND, O_MAILBOX, O_MODE, O_MSG_ID, O_QRESYNC, O_READONLY,
	O_SET, O_SILENT, O_SIZE, O_STATUS_ITEMS, O_UID, O_UNCHANGEDSINCE, O_VANISHED,
};
static const hj_key op_keys[] = {
	{"body_hash", O_BODY_HASH}, {"caps", O_CAPS}, {"changedsince", O_CHANGEDSINCE},
	{"condstore", O_CONDSTORE}, {"fault", O_FAULT}, {"fault_client", O_FAULT_CLIENT},
	{"flags", O_FLAGS}, {"items", O_ITEMS}, {"kind", O_KIND}, {"mailbox", O_MAILBOX},
	{"mode", O_MODE}, {"msg_id", O_MSG_ID}, {"qresync", O_QRESYNC},
	{"readonly", O_READONLY}, {"set", O_SET}, {"silent", O_SILENT}, {"size", O_SIZE},
	{"status_items", O_STATUS_ITEMS}, {"uid", O_UID},
	{"unchangedsince", O_UNCHANGEDSINCE}, {"vanished", O_VANISHED},
};

static int op_kind(const char *key, const json_t *v, model_op *op, hj_err *e)
{
	size_t len;
	const char *s = get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	op->kind = model_op_parse(s);
	if (op->kind == MODEL_OP_NONE)
		return hj_fail(e, "%s: unknown op \"%.40s\"", key, s);
	return 0;
}

static int op_qresync(const char *key, const json_t *v, model_op *op, hj_err *e)
{
	const char *k;
	json_t *x;
	if (want_object(key, v, e) < 0)
		return -1;
	op->qresync = true;
	json_object_foreach((json_t *)v, k, x) {
		int rc = 0;
		if (strcmp(k, "uidvalidity") == 0)
			rc = hj_get_u32(k, x, &op->q_uidvalidity, e);
		else if (strcmp(k, "modseq") == 0)
			rc = hj_get_u64(k, x, &op->q_modseq, e);
		else if (strcmp(k, "known") == 0)
			rc = get_set(k, x, &op->q_known, e);
		if (rc < 0) {
			hj_prefix(e, "%s.", key);
			return -1;
		}
	}
	return 0;
}

static int op_enum_field(model_op *op, int id, const char *key, const json_t *v,
			 hj_err *e)
{
	int i = 0;
	if (id == O_MODE) {
		if (get_enum(key, v, mode_names, CM_ARRAY_LEN(mode_names), &i, e) < 0)
			return -1;
		op->mode = (model_store_mode)i;
	} else {
		if (get_enum(key, v, fault_names, CM_ARRAY_LEN(fault_names), &i, e) < 0)
			return -1;
		op->fault = (model_fault)i;
	}
	return 0;
}

static int op_field(model_op *op, int id, const char *key, const json_t *v, hj_err *e)
{
	switch (id) {
	case O_BODY_HASH: return get_hex64(key, v, &op->body_hash, e);
	case O_CAPS:
		return get_bits(key, v, cap_names, CM_ARRAY_LEN(cap_names), true, &op->caps, e);
	case O_CHANGEDSINCE:
		op->has_changedsince = true;
		return hj_get_u64(key, v, &op->changedsince, e);
	case O_CONDSTORE: return hj_get_bool(key, v, &op->condstore, e);
	case O_FAULT: return op_enum_field(op, id, key, v, e);
	case O_FAULT_CLIENT: return hj_get_u32(key, v, &op->fault_client, e);
	case O_FLAGS: return get_flags(key, v, &op->flags, NULL, NULL, e);
	case O_ITEMS:
		return get_bits(key, v, item_names, CM_ARRAY_LEN(item_names), false,
				&op->items, e);
	case O_KIND: return op_kind(key, v, op, e);
	case O_MAILBOX: return hj_get_str(key, v, op->mailbox, sizeof(op->mailbox), e);
	case O_MODE: return op_enum_field(op, id, key, v, e);
	case O_MSG_ID: return hj_get_str(key, v, op->msg_id, sizeof(op->msg_id), e);
	case O_QRESYNC: return op_qresync(key, v, op, e);
	case O_READONLY: return hj_get_bool(key, v, &op->readonly, e);
	case O_SET: return get_set(key, v, &op->set, e);
	case O_SILENT: return hj_get_bool(key, v, &op->silent, e);
	case O_SIZE: return hj_get_u32(key, v, &op->size, e);
	case O_STATUS_ITEMS:
		return get_bits(key, v, model_status_item_names, MODEL_STATUS_COUNT, false,
				&op->status_items, e);
	case O_UID: return hj_get_bool(key, v, &op->uid, e);
	case O_UNCHANGEDSINCE:
		op->has_unchangedsince = true;
		return hj_get_u64(key, v, &op->unchangedsince, e);
	case O_VANISHED: return hj_get_bool(key, v, &op->vanished, e);
	}
	return 0;
}

int hj_op_from_json(const json_t *obj, model_op *op, hj_err *e)
{
	const char *key;
	json_t *v;
	if (want_object("op", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(op_keys, CM_ARRAY_LEN(op_keys), key);
		if (id >= 0 && op_field(op, id, key, v, e) < 0)
			goto fail;
	}
	if (op->kind != MODEL_OP_NONE)
		return 0;
	hj_fail(e, "kind: missing");
fail:
	hj_prefix(e, "op.");
	return -1;
}

enum { C_DST, C_FLAGS, C_NAME, C_SET, C_SRC, C_STAR, C_TEXT, C_UIDS, C_UIDVALIDITY,
       C_VALUE };
static const hj_key code_keys[] = {
	{"dst", C_DST}, {"flags", C_FLAGS}, {"name", C_NAME}, {"set", C_SET},
	{"src", C_SRC}, {"star", C_STAR}, {"text", C_TEXT}, {"uids", C_UIDS},
	{"uidvalidity", C_UIDVALIDITY}, {"value", C_VALUE},
};

/* A name ratchet does not know is an OTHER code that keeps its name. */
static int code_name(const char *key, const json_t *v, model_code *c,
		     const char **other_r, hj_err *e)
{
	size_t len;
	const char *s = get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	c->kind = len ? model_code_parse(s) : MODEL_CODE_NONE;
	if (c->kind != MODEL_CODE_OTHER || strcasecmp(s, "OTHER") == 0)
		return 0;
	if (len >= sizeof(c->text))
		return hj_fail(e, "%s: too long (%zu bytes, at most %zu)", key, len,
			       sizeof(c->text) - 1);
	*other_r = s;
	return 0;
}

static int code_field(model_code *c, int id, const char *key, const json_t *v,
		      const char **other_r, hj_err *e)
{
	switch (id) {
	case C_DST: return get_set(key, v, &c->set2, e);
	case C_FLAGS: return get_flags(key, v, &c->flags, NULL, &c->star, e);
	case C_NAME: return code_name(key, v, c, other_r, e);
	case C_SET: case C_SRC: case C_UIDS: return get_set(key, v, &c->set1, e);
	case C_STAR: return hj_get_bool(key, v, &c->star, e);
	case C_TEXT: return hj_get_str(key, v, c->text, sizeof(c->text), e);
	case C_UIDVALIDITY: return hj_get_u32(key, v, &c->uidvalidity, e);
	case C_VALUE: return hj_get_u64(key, v, &c->value, e);
	}
	return 0;
}

int hj_code_from_json(const json_t *obj, model_code *c, hj_err *e)
{
	const char *key, *other = NULL;
	json_t *v;
	if (want_object("code", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(code_keys, CM_ARRAY_LEN(code_keys), key);
		if (id >= 0 && code_field(c, id, key, v, &other, e) < 0) {
			hj_prefix(e, "code.");
			return -1;
		}
	}
	if (other != NULL)
		snprintf(c->text, sizeof(c->text), "%s", other);
	return 0;
}

enum { F_BODY_HASH, F_BODY_SIZE, F_DUP, F_FLAGS, F_ID, F_IDATE, F_MODSEQ, F_RECENT,
       F_SEQ, F_SIZE, F_UID };
static const hj_key fetch_keys[] = {
	{"body_hash", F_BODY_HASH}, {"body_size", F_BODY_SIZE}, {"dup", F_DUP},
	{"flags", F_FLAGS}, {"id", F_ID}, {"idate", F_IDATE}, {"modseq", F_MODSEQ},
	{"recent", F_RECENT}, {"seq", F_SEQ}, {"size", F_SIZE}, {"uid", F_UID},
};

/* body_size (BODY) and size (RFC822.SIZE) share fetch.size, in any order. */
typedef struct fetch_ctx {
	model_untagged *u;
	unsigned sizes;            /* MODEL_F_BODY / MODEL_F_SIZE seen */
	uint32_t size[2];          /* body_size, size */
} fetch_ctx;

static int fetch_size(fetch_ctx *fc, unsigned bit, const char *key, const json_t *v,
		      hj_err *e)
{
	uint32_t *dst = &fc->size[bit == MODEL_F_SIZE];
	if (hj_get_u32(key, v, dst, e) < 0)
		return -1;
	fc->sizes |= bit;
	fc->u->fetch.has |= bit;
	fc->u->fetch.size = *dst;
	return 0;
}

static int fetch_field(fetch_ctx *fc, int id, const char *key, const json_t *v,
		       hj_err *e)
{
	model_fetch *f = &fc->u->fetch;
	switch (id) {
	case F_BODY_HASH:
		f->has |= MODEL_F_BODY;
		return get_hex64(key, v, &f->body_hash, e);
	case F_BODY_SIZE: return fetch_size(fc, MODEL_F_BODY, key, v, e);
	case F_DUP: return hj_get_bool(key, v, &f->duplicate_items, e);
	case F_FLAGS:
		f->has |= MODEL_F_FLAGS;
		return get_flags(key, v, &f->flags, &f->recent, NULL, e);
	case F_ID:
		f->has |= MODEL_F_ID;
		return hj_get_str(key, v, f->id, sizeof(f->id), e);
	case F_IDATE:
		f->has |= MODEL_F_IDATE;
		return get_i64(key, v, &f->idate, e);
	case F_MODSEQ:
		f->has |= MODEL_F_MODSEQ;
		return hj_get_u64(key, v, &f->modseq, e);
	case F_RECENT: {
		bool b = false;
		if (hj_get_bool(key, v, &b, e) < 0)
			return -1;
		f->recent |= b; /* \Recent may also come in the flags list */
		return 0;
	}
	case F_SEQ: return hj_get_u32(key, v, &fc->u->n, e);
	case F_SIZE: return fetch_size(fc, MODEL_F_SIZE, key, v, e);
	case F_UID:
		f->has |= MODEL_F_UID;
		return hj_get_u32(key, v, &f->uid, e);
	}
	return 0;
}

static int fetch_from_json(const json_t *obj, model_untagged *u, hj_err *e)
{
	fetch_ctx fc = {u, 0, {0, 0}};
	const char *key;
	json_t *v;
	if (want_object("fetch", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(fetch_keys, CM_ARRAY_LEN(fetch_keys), key);
		if (id >= 0 && fetch_field(&fc, id, key, v, e) < 0)
			goto fail;
	}
	if (fc.sizes == (MODEL_F_BODY | MODEL_F_SIZE) && fc.size[0] != fc.size[1]) {
		hj_fail(e, "body_size %" PRIu32 " and size %" PRIu32 " disagree",
			fc.size[0], fc.size[1]);
		goto fail;
	}
	return 0;
fail:
	hj_prefix(e, "fetch.");
	return -1;
}

static int status_field(model_status_data *s, const char *key, const json_t *v,
			hj_err *e)
{
	uint32_t *vals[] = {&s->messages, &s->recent, &s->uidnext, &s->uidvalidity,
			    &s->unseen};
	for (size_t i = 0; i < CM_ARRAY_LEN(status_keys); i++) {
		if (strcmp(key, status_keys[i]) == 0) {
			s->has |= 1u << i;
			return hj_get_u32(key, v, vals[i], e);
		}
	}
	if (strcmp(key, "highestmodseq") == 0) {
		s->has |= MODEL_STATUS_HIGHESTMODSEQ;
		return hj_get_u64(key, v, &s->highestmodseq, e);
	}
	if (strcmp(key, "mailbox") == 0)
		return hj_get_str(key, v, s->mailbox, sizeof(s->mailbox), e);
	return 0;
}

static int status_from_json(const json_t *obj, model_status_data *s, hj_err *e)
{
	const char *key;
	json_t *v;
	if (want_object("status", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		if (status_field(s, key, v, e) < 0) {
			hj_prefix(e, "status.");
			return -1;
		}
	}
	return 0;
}

enum { U_BYE, U_CODE, U_EARLIER, U_ENABLED, U_EXISTS, U_EXPUNGE, U_FETCH, U_FLAGS,
       U_MODSEQ, U_RECENT, U_SEARCH, U_STATUS, U_VANISHED };
static const hj_key ut_keys[] = {
	{"bye", U_BYE}, {"code", U_CODE}, {"earlier", U_EARLIER}, {"enabled", U_ENABLED},
	{"exists", U_EXISTS}, {"expunge", U_EXPUNGE}, {"fetch", U_FETCH},
	{"flags", U_FLAGS}, {"modseq", U_MODSEQ}, {"recent", U_RECENT},
	{"search", U_SEARCH}, {"status", U_STATUS}, {"vanished", U_VANISHED},
};

/* The kind a key names, or -1 for modifiers (earlier, modseq). */
static int ut_kind_of(int id)
{
	static const int kinds[] = {
		[U_BYE] = MODEL_UT_BYE, [U_CODE] = MODEL_UT_CODE, [U_EARLIER] = -1,
		[U_ENABLED] = MODEL_UT_ENABLED, [U_EXISTS] = MODEL_UT_EXISTS,
		[U_EXPUNGE] = MODEL_UT_EXPUNGE, [U_FETCH] = MODEL_UT_FETCH,
		[U_FLAGS] = MODEL_UT_FLAGS, [U_MODSEQ] = -1, [U_RECENT] = MODEL_UT_RECENT,
		[U_SEARCH] = MODEL_UT_SEARCH, [U_STATUS] = MODEL_UT_STATUS,
		[U_VANISHED] = MODEL_UT_VANISHED,
	};
	return kinds[id];
}

static int ut_bye(const char *key, const json_t *v, hj_err *e)
{
	bool b = false;
	if (hj_get_bool(key, v, &b, e) < 0)
		return -1;
	return b ? 0 : hj_fail(e, "%s: must be true", key);
}

static int ut_field(model_untagged *u, int id, const char *key, const json_t *v,
		    hj_err *e)
{
	switch (id) {
	case U_BYE: return ut_bye(key, v, e);
	case U_CODE: return hj_code_from_json(v, &u->code, e);
	case U_EARLIER: return hj_get_bool(key, v, &u->earlier, e);
	case U_ENABLED:
		return get_bits(key, v, cap_names, CM_ARRAY_LEN(cap_names), true, &u->caps, e);
	case U_EXISTS: case U_EXPUNGE: case U_RECENT: return hj_get_u32(key, v, &u->n, e);
	case U_FETCH: return fetch_from_json(v, u, e);
	case U_FLAGS: return get_flags(key, v, &u->flags, NULL, NULL, e);
	case U_MODSEQ: return hj_get_u64(key, v, &u->value, e);
	case U_SEARCH: case U_VANISHED: return get_set(key, v, &u->set, e);
	case U_STATUS: return status_from_json(v, &u->status, e);
	}
	return 0;
}

int hj_untagged_from_json(const json_t *obj, model_result *r, hj_err *e)
{
	const char *key;
	json_t *v;
	int kind = -1;
	if (!json_is_object(obj))
		return hj_fail(e, "expected an object");
	model_untagged *u = model_result_add(r, MODEL_UT_EXISTS);
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(ut_keys, CM_ARRAY_LEN(ut_keys), key);
		if (id < 0)
			continue;
		if (ut_kind_of(id) >= 0) {
			if (kind >= 0)
				return hj_fail(e, "both \"%s\" and \"%s\" (one kind per item)",
					       model_ut_name((model_ut_kind)kind), key);
			kind = ut_kind_of(id);
		}
		if (ut_field(u, id, key, v, e) < 0)
			return -1;
	}
	if (kind < 0)
		return hj_fail(e, "no known kind (exists, recent, expunge, vanished, "
			       "fetch, flags, code, search, status, enabled, bye)");
	u->kind = (model_ut_kind)kind;
	return 0;
}
