/* The history reader's fast path, the replies (history_scan.h): response
 * codes and untagged responses, with the keys in the order
 * history_json_result.c writes them, each read as hj_code_from_json and
 * hj_untagged_from_json read it. */
#include "history_scan.h"

#include <string.h>
#include <strings.h>

/* ======================================================================
 * Response codes
 * ==================================================================== */

/* src, uids and set are one field (model_code.set) under three names:
 * one rank, so that one of them at most is taken. */
enum { C_NAME, C_UIDVALIDITY, C_SRC, C_UIDS, C_SET, C_DST, C_VALUE, C_FLAGS, C_STAR,
       C_TEXT };
static const hj_sc_key code_keys[] = {
	HJ_SC_KEY("name", 0), HJ_SC_KEY("uidvalidity", 1), HJ_SC_KEY("src", 2),
	HJ_SC_KEY("uids", 2), HJ_SC_KEY("set", 2), HJ_SC_KEY("dst", 3),
	HJ_SC_KEY("value", 4), HJ_SC_KEY("flags", 5), HJ_SC_KEY("star", 6),
	HJ_SC_KEY("text", 7),
};

typedef struct code_ctx {
	model_code *c;
	bool has_other;
	char other[sizeof(((model_code *)0)->text)]; /* an unknown name */
} code_ctx;

/* As code_name (history_json_result.c): a name ratchet does not know is an
 * OTHER code that keeps its name, which must fit. */
static bool code_name(hj_scan *s, code_ctx *cc)
{
	char buf[sizeof(cc->other)];
	int len = hj_sc_name(s, buf, sizeof(buf));
	if (len < 0 || (size_t)len >= sizeof(buf))
		return false; /* too long for any name, known or not */
	cc->c->kind = MODEL_CODE_NONE;
	if (len == 0)
		return true;
	for (int k = MODEL_CODE_NONE + 1; k < MODEL_CODE_KIND_COUNT; k++) {
		const char *name = model_code_name((model_code_kind)k);
		if (hj_sc_streq(name, buf)) {
			cc->c->kind = (model_code_kind)k;
			break;
		}
	}
	if (cc->c->kind == MODEL_CODE_NONE)
		cc->c->kind = model_code_parse(buf);
	if (cc->c->kind == MODEL_CODE_OTHER && strcasecmp(buf, "OTHER") != 0) {
		memcpy(cc->other, buf, (size_t)len + 1);
		cc->has_other = true;
	}
	return true;
}

static bool code_field(hj_scan *s, int id, void *ctx)
{
	code_ctx *cc = ctx;
	model_code *c = cc->c;
	switch (id) {
	case C_NAME: return code_name(s, cc);
	case C_UIDVALIDITY: return hj_sc_u32(s, &c->uidvalidity);
	case C_SRC: case C_UIDS: case C_SET: return hj_sc_set(s, &c->set);
	case C_DST: return hj_sc_set(s, &c->dst);
	case C_VALUE: return hj_sc_u64(s, &c->value);
	case C_FLAGS: return hj_sc_flags(s, &c->flags, NULL, &c->star);
	case C_STAR: return hj_sc_bool(s, &c->star);
	case C_TEXT: return hj_sc_str(s, c->text, sizeof(c->text));
	}
	return false;
}

bool hj_sc_code(hj_scan *s, model_code *c)
{
	code_ctx cc = {.c = c};
	if (!hj_sc_object(s, code_keys, CM_ARRAY_LEN(code_keys), code_field, &cc))
		return false;
	if (cc.has_other)
		memcpy(c->text, cc.other, sizeof(c->text));
	return true;
}

/* ======================================================================
 * FETCH and STATUS responses
 * ==================================================================== */

enum { F_SEQ, F_UID, F_FLAGS, F_RECENT, F_MODSEQ, F_BODY_HASH, F_BODY_SIZE, F_SIZE,
       F_IDATE, F_ID, F_DUP };
static const hj_sc_key fetch_keys[] = {
	HJ_SC_KEY("seq", F_SEQ), HJ_SC_KEY("uid", F_UID), HJ_SC_KEY("flags", F_FLAGS),
	HJ_SC_KEY("recent", F_RECENT), HJ_SC_KEY("modseq", F_MODSEQ),
	HJ_SC_KEY("body_hash", F_BODY_HASH), HJ_SC_KEY("body_size", F_BODY_SIZE),
	HJ_SC_KEY("size", F_SIZE), HJ_SC_KEY("idate", F_IDATE), HJ_SC_KEY("id", F_ID),
	HJ_SC_KEY("dup", F_DUP),
};

/* body_size (BODY) and size (RFC822.SIZE) share fetch.size and must agree. */
typedef struct fetch_ctx {
	model_untagged *u;
	unsigned sizes;            /* MODEL_F_BODY / MODEL_F_SIZE seen */
	uint32_t size[2];          /* body_size, size */
} fetch_ctx;

static bool fetch_size(hj_scan *s, fetch_ctx *fc, unsigned bit)
{
	uint32_t *dst = &fc->size[bit == MODEL_F_SIZE];
	if (!hj_sc_u32(s, dst))
		return false;
	fc->sizes |= bit;
	fc->u->fetch.has |= bit;
	fc->u->fetch.size = *dst;
	return true;
}

static bool fetch_field(hj_scan *s, int id, void *ctx)
{
	fetch_ctx *fc = ctx;
	model_fetch *f = &fc->u->fetch;
	bool b = false;
	static const unsigned has[] = {
		[F_UID] = MODEL_F_UID, [F_FLAGS] = MODEL_F_FLAGS, [F_MODSEQ] = MODEL_F_MODSEQ,
		[F_BODY_HASH] = MODEL_F_BODY, [F_IDATE] = MODEL_F_IDATE, [F_ID] = MODEL_F_ID,
	};
	if ((size_t)id < CM_ARRAY_LEN(has))
		f->has |= has[id];
	switch (id) {
	case F_SEQ: return hj_sc_u32(s, &fc->u->n);
	case F_UID: return hj_sc_u32(s, &f->uid);
	case F_FLAGS: return hj_sc_flags(s, &f->flags, &f->recent, NULL);
	case F_RECENT:
		if (!hj_sc_bool(s, &b))
			return false;
		f->recent |= b; /* \Recent may also come in the flags list */
		return true;
	case F_MODSEQ: return hj_sc_u64(s, &f->modseq);
	case F_BODY_HASH: return hj_sc_hex64(s, &f->body_hash);
	case F_BODY_SIZE: return fetch_size(s, fc, MODEL_F_BODY);
	case F_SIZE: return fetch_size(s, fc, MODEL_F_SIZE);
	case F_IDATE: return hj_sc_i64(s, &f->idate);
	case F_ID: return hj_sc_str(s, f->id, sizeof(f->id));
	case F_DUP: return hj_sc_bool(s, &f->duplicate_items);
	}
	return false;
}

static bool sc_fetch(hj_scan *s, model_untagged *u)
{
	fetch_ctx fc = {u, 0, {0, 0}};
	if (!hj_sc_object(s, fetch_keys, CM_ARRAY_LEN(fetch_keys), fetch_field, &fc))
		return false;
	/* jansson: "body_size ... and size ... disagree" */
	return fc.sizes != (MODEL_F_BODY | MODEL_F_SIZE) || fc.size[0] == fc.size[1];
}

enum { S_MAILBOX, S_MESSAGES, S_RECENT, S_UIDNEXT, S_UIDVALIDITY, S_UNSEEN,
       S_HIGHESTMODSEQ };
static const hj_sc_key status_keys[] = {
	HJ_SC_KEY("mailbox", S_MAILBOX), HJ_SC_KEY("messages", S_MESSAGES),
	HJ_SC_KEY("recent", S_RECENT), HJ_SC_KEY("uidnext", S_UIDNEXT),
	HJ_SC_KEY("uidvalidity", S_UIDVALIDITY), HJ_SC_KEY("unseen", S_UNSEEN),
	HJ_SC_KEY("highestmodseq", S_HIGHESTMODSEQ),
};

static bool status_field(hj_scan *s, int id, void *ctx)
{
	model_status_data *st = ctx;
	/* By bit of MODEL_STATUS_*, as status_keys of history_json_result.c. */
	uint32_t *vals[] = {&st->messages, &st->recent, &st->uidnext, &st->uidvalidity,
			    &st->unseen};
	if (id == S_MAILBOX)
		return hj_sc_str(s, st->mailbox, sizeof(st->mailbox));
	if (id == S_HIGHESTMODSEQ) {
		st->has |= MODEL_STATUS_HIGHESTMODSEQ;
		return hj_sc_u64(s, &st->highestmodseq);
	}
	assert(id >= S_MESSAGES && id <= S_UNSEEN);
	st->has |= 1u << (id - S_MESSAGES);
	return hj_sc_u32(s, vals[id - S_MESSAGES]);
}

/* ======================================================================
 * Untagged responses
 * ==================================================================== */

/* Modifiers (earlier, modseq) follow the kind key they go with. */
enum { U_EXISTS, U_RECENT, U_EXPUNGE, U_VANISHED, U_EARLIER, U_FETCH, U_FLAGS, U_CODE,
       U_SEARCH, U_MODSEQ, U_STATUS, U_ENABLED, U_BYE };
static const hj_sc_key ut_keys[] = {
	HJ_SC_KEY("exists", U_EXISTS), HJ_SC_KEY("recent", U_RECENT),
	HJ_SC_KEY("expunge", U_EXPUNGE), HJ_SC_KEY("vanished", U_VANISHED),
	HJ_SC_KEY("earlier", U_EARLIER), HJ_SC_KEY("fetch", U_FETCH),
	HJ_SC_KEY("flags", U_FLAGS), HJ_SC_KEY("code", U_CODE),
	HJ_SC_KEY("search", U_SEARCH), HJ_SC_KEY("modseq", U_MODSEQ),
	HJ_SC_KEY("status", U_STATUS), HJ_SC_KEY("enabled", U_ENABLED),
	HJ_SC_KEY("bye", U_BYE),
};
/* The kind a key names, or -1 for modifiers. */
static const int ut_kinds[] = {
	[U_EXISTS] = MODEL_UT_EXISTS, [U_RECENT] = MODEL_UT_RECENT,
	[U_EXPUNGE] = MODEL_UT_EXPUNGE, [U_VANISHED] = MODEL_UT_VANISHED,
	[U_EARLIER] = -1, [U_FETCH] = MODEL_UT_FETCH, [U_FLAGS] = MODEL_UT_FLAGS,
	[U_CODE] = MODEL_UT_CODE, [U_SEARCH] = MODEL_UT_SEARCH, [U_MODSEQ] = -1,
	[U_STATUS] = MODEL_UT_STATUS, [U_ENABLED] = MODEL_UT_ENABLED, [U_BYE] = MODEL_UT_BYE,
};

typedef struct ut_ctx {
	model_untagged *u;
	int kind;                  /* -1 until a kind key */
} ut_ctx;

static bool ut_field(hj_scan *s, int id, void *ctx)
{
	ut_ctx *c = ctx;
	model_untagged *u = c->u;
	bool b = false;
	if (ut_kinds[id] >= 0) {
		if (c->kind >= 0)
			return false; /* jansson: "both ... (one kind per item)" */
		c->kind = ut_kinds[id];
	}
	switch (id) {
	case U_EXISTS: case U_RECENT: case U_EXPUNGE: return hj_sc_u32(s, &u->n);
	case U_VANISHED: case U_SEARCH: return hj_sc_set(s, &u->set);
	case U_EARLIER: return hj_sc_bool(s, &u->earlier);
	case U_FETCH: return sc_fetch(s, u);
	case U_FLAGS: return hj_sc_flags(s, &u->flags, NULL, NULL);
	case U_CODE: return hj_sc_code(s, &u->code);
	case U_MODSEQ: return hj_sc_u64(s, &u->value);
	case U_STATUS:
		return hj_sc_object(s, status_keys, CM_ARRAY_LEN(status_keys), status_field,
				    &u->status);
	case U_ENABLED: return hj_sc_bits(s, hj_cap_names, HJ_CAP_COUNT, true, &u->caps);
	case U_BYE: return hj_sc_bool(s, &b) && b; /* jansson: "must be true" */
	}
	return false;
}

bool hj_sc_untagged(hj_scan *s, model_result *r)
{
	ut_ctx c = {model_result_add(r, MODEL_UT_EXISTS), -1};
	if (!hj_sc_object(s, ut_keys, CM_ARRAY_LEN(ut_keys), ut_field, &c) || c.kind < 0)
		return false; /* jansson: "no known kind" */
	c.u->kind = (model_ut_kind)c.kind;
	return true;
}
