/* The direct encoder's reply objects (docs/history.md, "code" and
 * "untagged"): the bytes hj_code_to_json's and hj_untagged_to_json's dumps
 * give (history_json_result.c), key for key. */
#include "history_emit.h"
#include "history_json.h" /* hj_cap_names */

/* history_json_result.c's status_keys, by MODEL_STATUS_* bit, as the
 * quoted "name": hj_emit_key_ writes; highestmodseq is 64-bit and handled
 * apart. test_history_emit checks each against jansson's bytes. */
static const char *const status_keys[] = {
	"\"messages\":", "\"recent\":", "\"uidnext\":", "\"uidvalidity\":", "\"unseen\":",
};

static void emit_code_sets(hj_emit *e, char *sep, const model_code *c)
{
	if (c->set.n) {
		if (c->kind == MODEL_CODE_COPYUID)
			HJ_KEY(e, sep, "src");
		else if (c->kind == MODEL_CODE_APPENDUID)
			HJ_KEY(e, sep, "uids");
		else
			HJ_KEY(e, sep, "set");
		hj_emit_set(e, &c->set);
	}
	if (c->dst.n) {
		HJ_KEY(e, sep, "dst");
		hj_emit_set(e, &c->dst);
	}
}

void hj_emit_code(hj_emit *e, const model_code *c)
{
	char sep = '{';
	if (c->kind != MODEL_CODE_NONE) {
		HJ_KEY(e, &sep, "name");
		hj_emit_name(e, c->kind < MODEL_CODE_KIND_COUNT ? model_code_name(c->kind) : NULL);
	}
	if (c->uidvalidity) {
		HJ_KEY(e, &sep, "uidvalidity");
		hj_emit_u32(e, c->uidvalidity);
	}
	emit_code_sets(e, &sep, c);
	if (c->value) {
		HJ_KEY(e, &sep, "value");
		hj_emit_u64(e, c->value);
	}
	if (c->flags) {
		HJ_KEY(e, &sep, "flags");
		hj_emit_flags(e, c->flags);
	}
	if (c->star) {
		HJ_KEY(e, &sep, "star");
		hj_emit_true(e);
	}
	if (c->text[0]) {
		HJ_KEY(e, &sep, "text");
		hj_emit_text(e, c->text, sizeof(c->text));
	}
	hj_emit_close(e, sep, '}');
}

/* The items after FLAGS; BODY carries its size as body_size: RFC822.SIZE
 * (size) may be absent. */
static void emit_fetch_rest(hj_emit *e, char *sep, const model_fetch *f)
{
	if (f->has & MODEL_F_MODSEQ) {
		HJ_KEY(e, sep, "modseq");
		hj_emit_u64(e, f->modseq);
	}
	if (f->has & MODEL_F_BODY) {
		HJ_KEY(e, sep, "body_hash");
		hj_emit_hex64(e, f->body_hash);
		HJ_KEY(e, sep, "body_size");
		hj_emit_u32(e, f->size);
	}
	if (f->has & MODEL_F_SIZE) {
		HJ_KEY(e, sep, "size");
		hj_emit_u32(e, f->size);
	}
	if (f->has & MODEL_F_IDATE) {
		HJ_KEY(e, sep, "idate");
		hj_emit_i64(e, f->idate);
	}
	if (f->has & MODEL_F_ID) {
		HJ_KEY(e, sep, "id");
		hj_emit_text(e, f->id, sizeof(f->id));
	}
	if (f->duplicate_items) {
		HJ_KEY(e, sep, "dup");
		hj_emit_true(e);
	}
}

static void emit_fetch(hj_emit *e, const model_untagged *u)
{
	const model_fetch *f = &u->fetch;
	char sep = '{';
	HJ_KEY(e, &sep, "seq");
	hj_emit_u32(e, u->n);
	if (f->has & MODEL_F_UID) {
		HJ_KEY(e, &sep, "uid");
		hj_emit_u32(e, f->uid);
	}
	if (f->has & MODEL_F_FLAGS) {
		HJ_KEY(e, &sep, "flags");
		hj_emit_flags(e, f->flags);
	}
	if (f->recent) {
		HJ_KEY(e, &sep, "recent");
		hj_emit_true(e);
	}
	emit_fetch_rest(e, &sep, f);
	hj_emit_close(e, sep, '}');
}

static void emit_status(hj_emit *e, const model_status_data *s)
{
	const uint32_t vals[] = {s->messages, s->recent, s->uidnext, s->uidvalidity,
				 s->unseen};
	char sep = '{';
	HJ_KEY(e, &sep, "mailbox");
	hj_emit_text(e, s->mailbox, sizeof(s->mailbox));
	for (size_t i = 0; i < CM_ARRAY_LEN(status_keys); i++) {
		if (s->has & (1u << i)) {
			hj_emit_key_(e, &sep, status_keys[i], strlen(status_keys[i]));
			hj_emit_u32(e, vals[i]);
		}
	}
	if (s->has & MODEL_STATUS_HIGHESTMODSEQ) {
		HJ_KEY(e, &sep, "highestmodseq");
		hj_emit_u64(e, s->highestmodseq);
	}
	hj_emit_close(e, sep, '}');
}

/* The kinds that are a set and maybe one more member. */
static void emit_set_kind(hj_emit *e, char *sep, const model_untagged *u)
{
	if (u->kind == MODEL_UT_VANISHED) {
		HJ_KEY(e, sep, "vanished");
		hj_emit_set(e, &u->set);
		if (u->earlier) {
			HJ_KEY(e, sep, "earlier");
			hj_emit_true(e);
		}
	} else {
		HJ_KEY(e, sep, "search");
		hj_emit_set(e, &u->set);
		if (u->value) {
			HJ_KEY(e, sep, "modseq");
			hj_emit_u64(e, u->value);
		}
	}
}

void hj_emit_untagged(hj_emit *e, const model_untagged *u)
{
	char sep = '{';
	switch (u->kind) {
	case MODEL_UT_EXISTS: HJ_KEY(e, &sep, "exists"); hj_emit_u32(e, u->n); break;
	case MODEL_UT_RECENT: HJ_KEY(e, &sep, "recent"); hj_emit_u32(e, u->n); break;
	case MODEL_UT_EXPUNGE: HJ_KEY(e, &sep, "expunge"); hj_emit_u32(e, u->n); break;
	case MODEL_UT_VANISHED: case MODEL_UT_SEARCH: emit_set_kind(e, &sep, u); break;
	case MODEL_UT_FETCH: HJ_KEY(e, &sep, "fetch"); emit_fetch(e, u); break;
	case MODEL_UT_FLAGS: HJ_KEY(e, &sep, "flags"); hj_emit_flags(e, u->flags); break;
	case MODEL_UT_CODE: HJ_KEY(e, &sep, "code"); hj_emit_code(e, &u->code); break;
	case MODEL_UT_STATUS: HJ_KEY(e, &sep, "status"); emit_status(e, &u->status); break;
	case MODEL_UT_ENABLED:
		HJ_KEY(e, &sep, "enabled");
		hj_emit_bits(e, u->caps, hj_cap_names, HJ_CAP_COUNT);
		break;
	case MODEL_UT_BYE: HJ_KEY(e, &sep, "bye"); hj_emit_true(e); break;
	default: e->ok = false; break;
	}
	hj_emit_close(e, sep, '}');
}
