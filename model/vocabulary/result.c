/* Results, response codes, untagged data and events: lifetime and names. */
#include "model.h"

#include <inttypes.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void model_code_free(model_code *c)
{
	cm_uidset_free(&c->set);
	cm_uidset_free(&c->dst);
}

void model_code_copy(model_code *dst, const model_code *src)
{
	cm_uidset s1 = dst->set, s2 = dst->dst;
	*dst = *src;
	dst->set = s1;
	dst->dst = s2;
	cm_uidset_copy(&dst->set, &src->set);
	cm_uidset_copy(&dst->dst, &src->dst);
}

void model_result_init(model_result *r)
{
	memset(r, 0, sizeof(*r));
}

/* Most responses hold no set (every FETCH): no call for those. */
static void untagged_free(model_untagged *u)
{
	if (u->set.r != NULL)
		cm_uidset_free(&u->set);
	if (u->code.set.r != NULL || u->code.dst.r != NULL)
		model_code_free(&u->code);
}

void model_result_clear(model_result *r)
{
	for (size_t i = 0; i < r->nut; i++)
		untagged_free(&r->ut[i]);
	r->nut = 0;
	model_code_free(&r->code);
	memset(&r->code, 0, sizeof(r->code));
	r->status = MODEL_REPLY_NONE;
	r->text[0] = '\0';
	r->anomaly[0] = '\0';
	r->protocol[0] = '\0';
}

void model_result_free(model_result *r)
{
	model_result_clear(r);
	free(r->ut);
	memset(r, 0, sizeof(*r));
}

model_untagged *model_result_add(model_result *r, model_ut_kind kind)
{
	if (r->nut == r->cap_ut) /* the array is reused: grow only when full */
		CM_GROW(r->ut, r->cap_ut, r->nut + 1);
	model_untagged *u = &r->ut[r->nut++];
	assert(model_untagged_size == sizeof(*u));
	memset(u, 0, model_untagged_size);
	u->kind = kind;
	return u;
}

void model_result_copy(model_result *dst, const model_result *src)
{
	model_result_clear(dst);
	dst->status = src->status;
	model_code_copy(&dst->code, &src->code);
	memcpy(dst->text, src->text, sizeof(dst->text));
	memcpy(dst->anomaly, src->anomaly, sizeof(dst->anomaly));
	memcpy(dst->protocol, src->protocol, sizeof(dst->protocol));
	for (size_t i = 0; i < src->nut; i++) {
		model_untagged *u = model_result_add(dst, src->ut[i].kind);
		const model_untagged *s = &src->ut[i];
		cm_uidset set = u->set;
		model_code code = u->code;
		*u = *s;
		u->set = set;
		u->code = code;
		cm_uidset_copy(&u->set, &s->set);
		model_code_copy(&u->code, &s->code);
	}
}

const char *model_status_name(model_reply st)
{
	switch (st) {
	case MODEL_REPLY_OK: return "OK";
	case MODEL_REPLY_NO: return "NO";
	case MODEL_REPLY_BAD: return "BAD";
	case MODEL_REPLY_UNKNOWN: return "unknown";
	default: return "none";
	}
}

static const char *const code_names[MODEL_CODE_KIND_COUNT] = {
	[MODEL_CODE_NONE] = "", [MODEL_CODE_APPENDUID] = "APPENDUID",
	[MODEL_CODE_COPYUID] = "COPYUID", [MODEL_CODE_MODIFIED] = "MODIFIED",
	[MODEL_CODE_HIGHESTMODSEQ] = "HIGHESTMODSEQ", [MODEL_CODE_NOMODSEQ] = "NOMODSEQ",
	[MODEL_CODE_UIDNEXT] = "UIDNEXT", [MODEL_CODE_UIDVALIDITY] = "UIDVALIDITY",
	[MODEL_CODE_PERMANENTFLAGS] = "PERMANENTFLAGS",
	[MODEL_CODE_READ_ONLY] = "READ-ONLY", [MODEL_CODE_READ_WRITE] = "READ-WRITE",
	[MODEL_CODE_TRYCREATE] = "TRYCREATE", [MODEL_CODE_CLOSED] = "CLOSED",
	[MODEL_CODE_EXPUNGEISSUED] = "EXPUNGEISSUED", [MODEL_CODE_OTHER] = "OTHER",
};

const char *model_code_name(model_code_kind kind)
{
	return kind < MODEL_CODE_KIND_COUNT ? code_names[kind] : "?";
}

model_code_kind model_code_parse(const char *name)
{
	for (int k = 1; k < MODEL_CODE_KIND_COUNT; k++)
		if (strcasecmp(code_names[k], name) == 0)
			return (model_code_kind)k;
	return MODEL_CODE_OTHER;
}

static const char *const ut_names[MODEL_UT_KIND_COUNT] = {
	[MODEL_UT_EXISTS] = "exists", [MODEL_UT_RECENT] = "recent",
	[MODEL_UT_EXPUNGE] = "expunge", [MODEL_UT_VANISHED] = "vanished",
	[MODEL_UT_FETCH] = "fetch", [MODEL_UT_FLAGS] = "flags",
	[MODEL_UT_CODE] = "code", [MODEL_UT_SEARCH] = "search",
	[MODEL_UT_STATUS] = "status", [MODEL_UT_ENABLED] = "enabled",
	[MODEL_UT_BYE] = "bye",
};

const char *model_ut_name(model_ut_kind kind)
{
	return kind < MODEL_UT_KIND_COUNT ? ut_names[kind] : "?";
}

void model_event_init(model_event *ev)
{
	memset(ev, 0, sizeof(*ev));
}

void model_event_free(model_event *ev)
{
	model_op_free(&ev->op);
	model_result_free(&ev->res);
}

const char *model_ev_name(model_ev_type t)
{
	switch (t) {
	case MODEL_EV_INVOKE: return "invoke";
	case MODEL_EV_OK: return "ok";
	case MODEL_EV_FAIL: return "fail";
	case MODEL_EV_INFO: return "info";
	}
	return "?";
}

void model_code_args_format(cm_buf *out, const model_code *c)
{
	switch (c->kind) {
	case MODEL_CODE_APPENDUID:
	case MODEL_CODE_COPYUID:
		cm_buf_printf(out, " %" PRIu32 " ", c->uidvalidity);
		cm_uidset_format(out, &c->set);
		if (c->kind == MODEL_CODE_COPYUID) {
			cm_buf_putc(out, ' ');
			cm_uidset_format(out, &c->dst);
		}
		break;
	case MODEL_CODE_MODIFIED:
		cm_buf_putc(out, ' ');
		cm_uidset_format(out, &c->set);
		break;
	case MODEL_CODE_HIGHESTMODSEQ:
	case MODEL_CODE_UIDNEXT:
	case MODEL_CODE_UIDVALIDITY:
		cm_buf_printf(out, " %" PRIu64, c->value);
		break;
	case MODEL_CODE_PERMANENTFLAGS:
		cm_buf_puts(out, " (");
		cm_flags_format(out, c->flags);
		if (c->star)
			cm_buf_puts(out, c->flags ? " \\*" : "\\*");
		cm_buf_putc(out, ')');
		break;
	case MODEL_CODE_OTHER:
		if (c->value != 0)
			cm_buf_printf(out, " %" PRIu64, c->value);
		break;
	default:
		break;
	}
}
