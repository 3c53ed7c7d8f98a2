/* The history codec's JSON mapping of replies (docs/history.md, "code"
 * and "untagged"): response codes and untagged responses to jansson
 * objects for the writer, and back for the reader. */
#include "history_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Indexed by MODEL_STATUS_* bit; highestmodseq is 64-bit and handled apart (STATUS response keys). */
static const char *const status_keys[] = {
	"messages", "recent", "uidnext", "uidvalidity", "unseen",
};

json_t *hj_code_to_json(const model_code *c)
{
	hj_obj b = hj_obj_new();
	if (c->kind != MODEL_CODE_NONE)
		hj_obj_put(&b, "name", c->kind < MODEL_CODE_KIND_COUNT
			       ? json_string_nocheck(model_code_name(c->kind)) : NULL);
	if (c->uidvalidity)
		hj_obj_put(&b, "uidvalidity", json_integer(c->uidvalidity));
	if (c->set.n)
		hj_obj_put(&b, c->kind == MODEL_CODE_COPYUID ? "src"
			       : c->kind == MODEL_CODE_APPENDUID ? "uids" : "set",
			   hj_set_to_json(&c->set));
	if (c->dst.n)
		hj_obj_put(&b, "dst", hj_set_to_json(&c->dst));
	if (c->value)
		hj_obj_put(&b, "value", hj_u64(c->value));
	if (c->flags)
		hj_obj_put(&b, "flags", hj_flags_to_json(c->flags));
	if (c->star)
		hj_obj_put(&b, "star", json_true());
	if (c->text[0])
		hj_obj_put(&b, "text", hj_str(c->text, sizeof(c->text)));
	return hj_obj_done(&b);
}

/* BODY carries its size as body_size: RFC822.SIZE (size) may be absent. */
static json_t *fetch_to_json(const model_untagged *u)
{
	const model_fetch *f = &u->fetch;
	hj_obj b = hj_obj_new();
	hj_obj_put(&b, "seq", json_integer(u->n));
	if (f->has & MODEL_F_UID)
		hj_obj_put(&b, "uid", json_integer(f->uid));
	if (f->has & MODEL_F_FLAGS)
		hj_obj_put(&b, "flags", hj_flags_to_json(f->flags));
	if (f->recent)
		hj_obj_put(&b, "recent", json_true());
	if (f->has & MODEL_F_MODSEQ)
		hj_obj_put(&b, "modseq", hj_u64(f->modseq));
	if (f->has & MODEL_F_BODY) {
		hj_obj_put(&b, "body_hash", hj_hex64(f->body_hash));
		hj_obj_put(&b, "body_size", json_integer(f->size));
	}
	if (f->has & MODEL_F_SIZE)
		hj_obj_put(&b, "size", json_integer(f->size));
	if (f->has & MODEL_F_IDATE)
		hj_obj_put(&b, "idate", json_integer(f->idate));
	if (f->has & MODEL_F_ID)
		hj_obj_put(&b, "id", hj_str(f->id, sizeof(f->id)));
	if (f->duplicate_items)
		hj_obj_put(&b, "dup", json_true());
	return hj_obj_done(&b);
}

static json_t *status_to_json(const model_status_data *s)
{
	const uint32_t vals[] = {s->messages, s->recent, s->uidnext, s->uidvalidity,
				 s->unseen};
	hj_obj b = hj_obj_new();
	hj_obj_put(&b, "mailbox", hj_str(s->mailbox, sizeof(s->mailbox)));
	for (size_t i = 0; i < CM_ARRAY_LEN(status_keys); i++)
		if (s->has & (1u << i))
			hj_obj_put(&b, status_keys[i], json_integer(vals[i]));
	if (s->has & MODEL_STATUS_HIGHESTMODSEQ)
		hj_obj_put(&b, "highestmodseq", hj_u64(s->highestmodseq));
	return hj_obj_done(&b);
}

json_t *hj_untagged_to_json(const model_untagged *u)
{
	hj_obj b = hj_obj_new();
	switch (u->kind) {
	case MODEL_UT_EXISTS: hj_obj_put(&b, "exists", json_integer(u->n)); break;
	case MODEL_UT_RECENT: hj_obj_put(&b, "recent", json_integer(u->n)); break;
	case MODEL_UT_EXPUNGE: hj_obj_put(&b, "expunge", json_integer(u->n)); break;
	case MODEL_UT_VANISHED:
		hj_obj_put(&b, "vanished", hj_set_to_json(&u->set));
		if (u->earlier)
			hj_obj_put(&b, "earlier", json_true());
		break;
	case MODEL_UT_FETCH: hj_obj_put(&b, "fetch", fetch_to_json(u)); break;
	case MODEL_UT_FLAGS: hj_obj_put(&b, "flags", hj_flags_to_json(u->flags)); break;
	case MODEL_UT_CODE: hj_obj_put(&b, "code", hj_code_to_json(&u->code)); break;
	case MODEL_UT_SEARCH:
		hj_obj_put(&b, "search", hj_set_to_json(&u->set));
		if (u->value)
			hj_obj_put(&b, "modseq", hj_u64(u->value));
		break;
	case MODEL_UT_STATUS: hj_obj_put(&b, "status", status_to_json(&u->status)); break;
	case MODEL_UT_ENABLED:
		hj_obj_put(&b, "enabled",
			   hj_bits_to_json(u->caps, hj_cap_names, CM_ARRAY_LEN(hj_cap_names)));
		break;
	case MODEL_UT_BYE: hj_obj_put(&b, "bye", json_true()); break;
	default: b.ok = false; break;
	}
	return hj_obj_done(&b);
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
		     const char **other_r, cm_err *e)
{
	size_t len;
	const char *s = hj_get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	c->kind = len ? model_code_parse(s) : MODEL_CODE_NONE;
	if (c->kind != MODEL_CODE_OTHER || strcasecmp(s, "OTHER") == 0)
		return 0;
	if (len >= sizeof(c->text))
		return cm_err_set(e, "%s: too long (%zu bytes, at most %zu)", key, len,
			       sizeof(c->text) - 1);
	*other_r = s;
	return 0;
}

static int code_field(model_code *c, int id, const char *key, const json_t *v,
		      const char **other_r, cm_err *e)
{
	switch (id) {
	case C_DST: return hj_get_set(key, v, &c->dst, e);
	case C_FLAGS: return hj_get_flags(key, v, &c->flags, NULL, &c->star, e);
	case C_NAME: return code_name(key, v, c, other_r, e);
	case C_SET: case C_SRC: case C_UIDS: return hj_get_set(key, v, &c->set, e);
	case C_STAR: return hj_get_bool(key, v, &c->star, e);
	case C_TEXT: return hj_get_str(key, v, c->text, sizeof(c->text), e);
	case C_UIDVALIDITY: return hj_get_u32(key, v, &c->uidvalidity, e);
	case C_VALUE: return hj_get_u64(key, v, &c->value, e);
	}
	return 0;
}

int hj_code_from_json(const json_t *obj, model_code *c, cm_err *e)
{
	const char *key, *other = NULL;
	json_t *v;
	if (hj_want_object("code", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(code_keys, CM_ARRAY_LEN(code_keys), key);
		if (id >= 0 && code_field(c, id, key, v, &other, e) < 0) {
			cm_err_prefix(e, "code.");
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
		      cm_err *e)
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
		       cm_err *e)
{
	model_fetch *f = &fc->u->fetch;
	switch (id) {
	case F_BODY_HASH:
		f->has |= MODEL_F_BODY;
		return hj_get_hex64(key, v, &f->body_hash, e);
	case F_BODY_SIZE: return fetch_size(fc, MODEL_F_BODY, key, v, e);
	case F_DUP: return hj_get_bool(key, v, &f->duplicate_items, e);
	case F_FLAGS:
		f->has |= MODEL_F_FLAGS;
		return hj_get_flags(key, v, &f->flags, &f->recent, NULL, e);
	case F_ID:
		f->has |= MODEL_F_ID;
		return hj_get_str(key, v, f->id, sizeof(f->id), e);
	case F_IDATE:
		f->has |= MODEL_F_IDATE;
		return hj_get_i64(key, v, &f->idate, e);
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

static int fetch_from_json(const json_t *obj, model_untagged *u, cm_err *e)
{
	fetch_ctx fc = {u, 0, {0, 0}};
	const char *key;
	json_t *v;
	if (hj_want_object("fetch", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(fetch_keys, CM_ARRAY_LEN(fetch_keys), key);
		if (id >= 0 && fetch_field(&fc, id, key, v, e) < 0)
			goto fail;
	}
	if (fc.sizes == (MODEL_F_BODY | MODEL_F_SIZE) && fc.size[0] != fc.size[1]) {
		cm_err_set(e, "body_size %" PRIu32 " and size %" PRIu32 " disagree",
			fc.size[0], fc.size[1]);
		goto fail;
	}
	return 0;
fail:
	cm_err_prefix(e, "fetch.");
	return -1;
}

static int status_field(model_status_data *s, const char *key, const json_t *v,
			cm_err *e)
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

static int status_from_json(const json_t *obj, model_status_data *s, cm_err *e)
{
	const char *key;
	json_t *v;
	if (hj_want_object("status", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		if (status_field(s, key, v, e) < 0) {
			cm_err_prefix(e, "status.");
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

static int ut_bye(const char *key, const json_t *v, cm_err *e)
{
	bool b = false;
	if (hj_get_bool(key, v, &b, e) < 0)
		return -1;
	return b ? 0 : cm_err_set(e, "%s: must be true", key);
}

static int ut_field(model_untagged *u, int id, const char *key, const json_t *v,
		    cm_err *e)
{
	switch (id) {
	case U_BYE: return ut_bye(key, v, e);
	case U_CODE: return hj_code_from_json(v, &u->code, e);
	case U_EARLIER: return hj_get_bool(key, v, &u->earlier, e);
	case U_ENABLED:
		return hj_get_bits(key, v, hj_cap_names, CM_ARRAY_LEN(hj_cap_names), true,
				   &u->caps, e);
	case U_EXISTS: case U_EXPUNGE: case U_RECENT: return hj_get_u32(key, v, &u->n, e);
	case U_FETCH: return fetch_from_json(v, u, e);
	case U_FLAGS: return hj_get_flags(key, v, &u->flags, NULL, NULL, e);
	case U_MODSEQ: return hj_get_u64(key, v, &u->value, e);
	case U_SEARCH: case U_VANISHED: return hj_get_set(key, v, &u->set, e);
	case U_STATUS: return status_from_json(v, &u->status, e);
	}
	return 0;
}

int hj_untagged_from_json(const json_t *obj, model_result *r, cm_err *e)
{
	const char *key;
	json_t *v;
	int kind = -1;
	if (!json_is_object(obj))
		return cm_err_set(e, "expected an object");
	model_untagged *u = model_result_add(r, MODEL_UT_EXISTS);
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(ut_keys, CM_ARRAY_LEN(ut_keys), key);
		if (id < 0)
			continue;
		if (ut_kind_of(id) >= 0) {
			if (kind >= 0)
				return cm_err_set(e, "both \"%s\" and \"%s\" (one kind per item)",
					       model_ut_name((model_ut_kind)kind), key);
			kind = ut_kind_of(id);
		}
		if (ut_field(u, id, key, v, e) < 0)
			return -1;
	}
	if (kind < 0)
		return cm_err_set(e, "no known kind (exists, recent, expunge, vanished, "
			       "fetch, flags, code, search, status, enabled, bye)");
	u->kind = (model_ut_kind)kind;
	return 0;
}
