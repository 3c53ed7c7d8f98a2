/* The history reader's fast path, the event and its op (history_scan.h):
 * the keys in the order history_write.c and hj_op_to_json write them,
 * each read as event_from_json (history_read.c) and hj_op_from_json
 * (history_json_op.c) read it. */
#include "history_scan.h"

#include <string.h>
#include <strings.h>

/* ======================================================================
 * The op
 * ==================================================================== */

enum {
	O_KIND, O_UID, O_SET, O_MAILBOX, O_READONLY, O_CONDSTORE, O_QRESYNC, O_MODE,
	O_FLAGS, O_SILENT, O_UNCHANGEDSINCE, O_ITEMS, O_CHANGEDSINCE, O_VANISHED,
	O_MSG_ID, O_BODY_HASH, O_SIZE, O_CAPS, O_STATUS_ITEMS, O_FAULT, O_FAULT_CLIENT,
	O_REPLICA, O_PEER, O_OPAQUE,
};
static const hj_sc_key op_keys[] = {
	HJ_SC_KEY("kind", O_KIND), HJ_SC_KEY("uid", O_UID), HJ_SC_KEY("set", O_SET),
	HJ_SC_KEY("mailbox", O_MAILBOX), HJ_SC_KEY("readonly", O_READONLY),
	HJ_SC_KEY("condstore", O_CONDSTORE), HJ_SC_KEY("qresync", O_QRESYNC),
	HJ_SC_KEY("mode", O_MODE), HJ_SC_KEY("flags", O_FLAGS),
	HJ_SC_KEY("silent", O_SILENT), HJ_SC_KEY("unchangedsince", O_UNCHANGEDSINCE),
	HJ_SC_KEY("items", O_ITEMS), HJ_SC_KEY("changedsince", O_CHANGEDSINCE),
	HJ_SC_KEY("vanished", O_VANISHED), HJ_SC_KEY("msg_id", O_MSG_ID),
	HJ_SC_KEY("body_hash", O_BODY_HASH), HJ_SC_KEY("size", O_SIZE),
	HJ_SC_KEY("caps", O_CAPS), HJ_SC_KEY("status_items", O_STATUS_ITEMS),
	HJ_SC_KEY("fault", O_FAULT), HJ_SC_KEY("fault_client", O_FAULT_CLIENT),
	HJ_SC_KEY("replica", O_REPLICA), HJ_SC_KEY("peer", O_PEER),
	HJ_SC_KEY("opaque", O_OPAQUE),
};

enum { Q_UIDVALIDITY, Q_MODSEQ, Q_KNOWN };
static const hj_sc_key qresync_keys[] = {
	HJ_SC_KEY("uidvalidity", Q_UIDVALIDITY), HJ_SC_KEY("modseq", Q_MODSEQ),
	HJ_SC_KEY("known", Q_KNOWN),
};

static bool qresync_field(hj_scan *s, int id, void *ctx)
{
	model_op *op = ctx;
	switch (id) {
	case Q_UIDVALIDITY: return hj_sc_u32(s, &op->q_uidvalidity);
	case Q_MODSEQ: return hj_sc_u64(s, &op->q_modseq);
	case Q_KNOWN: return hj_sc_set(s, &op->q_known);
	}
	return false;
}

/* model_op_parse's answer, the exact spelling tried first. */
static bool op_kind(hj_scan *s, model_op *op)
{
	char buf[32];
	int len = hj_sc_name(s, buf, sizeof(buf));
	if (len < 0 || (size_t)len >= sizeof(buf))
		return false;
	for (int k = MODEL_OP_NONE + 1; k < MODEL_OP_KIND_COUNT; k++) {
		const char *name = model_op_name((model_op_kind)k);
		if (hj_sc_streq(name, buf)) {
			op->kind = (model_op_kind)k;
			return true;
		}
	}
	op->kind = model_op_parse(buf);
	return op->kind != MODEL_OP_NONE; /* jansson: "unknown op" */
}

/* The enumerations and lists of names. */
static bool op_names_field(hj_scan *s, int id, model_op *op)
{
	int i = 0;
	switch (id) {
	case O_MODE:
		if (!hj_sc_enum(s, hj_mode_names, HJ_MODE_COUNT, &i))
			return false;
		op->mode = (model_store_mode)i;
		return true;
	case O_FAULT:
		if (!hj_sc_enum(s, hj_fault_names, HJ_FAULT_COUNT, &i))
			return false;
		op->fault = (model_fault)i;
		return true;
	case O_ITEMS: return hj_sc_bits(s, hj_item_names, HJ_ITEM_COUNT, false, &op->items);
	case O_CAPS: return hj_sc_bits(s, hj_cap_names, HJ_CAP_COUNT, true, &op->caps);
	case O_STATUS_ITEMS:
		return hj_sc_bits(s, model_status_item_names, MODEL_STATUS_COUNT, false,
				  &op->status_items);
	}
	return false;
}

static bool op_field(hj_scan *s, int id, void *ctx)
{
	model_op *op = ctx;
	switch (id) {
	case O_KIND: return op_kind(s, op);
	case O_UID: return hj_sc_bool(s, &op->uid);
	case O_SET: return hj_sc_set(s, &op->set);
	case O_MAILBOX: return hj_sc_str(s, op->mailbox, sizeof(op->mailbox));
	case O_READONLY: return hj_sc_bool(s, &op->readonly);
	case O_CONDSTORE: return hj_sc_bool(s, &op->condstore);
	case O_QRESYNC:
		op->qresync = true;
		return hj_sc_object(s, qresync_keys, CM_ARRAY_LEN(qresync_keys), qresync_field,
				    op);
	case O_FLAGS: return hj_sc_flags(s, &op->flags, NULL, NULL);
	case O_SILENT: return hj_sc_bool(s, &op->silent);
	case O_UNCHANGEDSINCE:
		op->has_unchangedsince = true;
		return hj_sc_u64(s, &op->unchangedsince);
	case O_CHANGEDSINCE:
		op->has_changedsince = true;
		return hj_sc_u64(s, &op->changedsince);
	case O_VANISHED: return hj_sc_bool(s, &op->vanished);
	case O_MSG_ID: return hj_sc_str(s, op->msg_id, sizeof(op->msg_id));
	case O_BODY_HASH: return hj_sc_hex64(s, &op->body_hash);
	case O_SIZE: return hj_sc_u32(s, &op->size);
	case O_FAULT_CLIENT: return hj_sc_u32(s, &op->fault_client);
	case O_REPLICA: return hj_sc_u32(s, &op->replica);
	case O_PEER: return hj_sc_u32(s, &op->peer);
	case O_OPAQUE: return hj_sc_bool(s, &op->opaque);
	default: return op_names_field(s, id, op);
	}
}

bool hj_sc_op(hj_scan *s, model_op *op)
{
	return hj_sc_object(s, op_keys, CM_ARRAY_LEN(op_keys), op_field, op) &&
	       op->kind != MODEL_OP_NONE; /* jansson: "kind: missing" */
}

/* ======================================================================
 * The event
 * ==================================================================== */

enum {
	E_T, E_C, E_ID, E_EV, E_OP, E_STATUS, E_CODE, E_UNTAGGED, E_TEXT, E_ANOMALY,
	E_PROTOCOL,
};
static const hj_sc_key ev_keys[] = {
	HJ_SC_KEY("t", E_T), HJ_SC_KEY("c", E_C), HJ_SC_KEY("id", E_ID),
	HJ_SC_KEY("ev", E_EV), HJ_SC_KEY("op", E_OP), HJ_SC_KEY("status", E_STATUS),
	HJ_SC_KEY("code", E_CODE), HJ_SC_KEY("untagged", E_UNTAGGED),
	HJ_SC_KEY("text", E_TEXT), HJ_SC_KEY("anomaly", E_ANOMALY),
	HJ_SC_KEY("protocol_error", E_PROTOCOL),
};
#define E_HEAD (1u << E_T | 1u << E_C | 1u << E_ID | 1u << E_EV)
#define E_RESULT (1u << E_STATUS | 1u << E_CODE | 1u << E_UNTAGGED | 1u << E_TEXT | \
		  1u << E_ANOMALY | 1u << E_PROTOCOL)

typedef struct ev_ctx {
	model_event *ev;
	unsigned seen; /* 1 << E_* */
} ev_ctx;

/* As event_type (history_read.c), case-insensitive; the exact spelling is
 * tried first, as no two names differ only in case. */
static bool ev_type(hj_scan *s, model_ev_type *type)
{
	static const model_ev_type types[] = {MODEL_EV_INVOKE, MODEL_EV_OK, MODEL_EV_FAIL,
					      MODEL_EV_INFO};
	char buf[16];
	int len = hj_sc_name(s, buf, sizeof(buf));
	if (len < 0 || (size_t)len >= sizeof(buf))
		return false;
	for (int exact = 1; exact >= 0; exact--) {
		for (size_t i = 0; i < CM_ARRAY_LEN(types); i++) {
			const char *name = model_ev_name(types[i]);
			if (exact ? hj_sc_streq(name, buf) : strcasecmp(name, buf) == 0) {
				*type = types[i];
				return true;
			}
		}
	}
	return false;
}

/* As hj_status_parse, the exact spelling first. */
static bool ev_status(hj_scan *s, model_reply *st)
{
	char buf[16];
	int len = hj_sc_name(s, buf, sizeof(buf));
	if (len < 0 || (size_t)len >= sizeof(buf))
		return false;
	for (int k = MODEL_REPLY_NONE; k <= MODEL_REPLY_UNKNOWN; k++) {
		if (hj_sc_streq(model_status_name((model_reply)k), buf)) {
			*st = (model_reply)k;
			return true;
		}
	}
	return hj_status_parse(buf, st) == 0;
}

static bool untagged_elem(hj_scan *s, void *ctx)
{
	return hj_sc_untagged(s, ctx);
}

static bool ev_field(hj_scan *s, int id, void *ctx)
{
	ev_ctx *c = ctx;
	model_event *ev = c->ev;
	model_result *res = &ev->res;
	c->seen |= 1u << id;
	switch (id) {
	case E_T: return hj_sc_u64(s, &ev->t_ns);
	case E_C: return hj_sc_u32(s, &ev->client);
	case E_ID: return hj_sc_u64(s, &ev->op_id);
	case E_EV: return ev_type(s, &ev->type);
	case E_OP: return hj_sc_op(s, &ev->op);
	case E_STATUS: return ev_status(s, &res->status);
	case E_CODE: return hj_sc_code(s, &res->code);
	case E_UNTAGGED: return hj_sc_array(s, untagged_elem, res);
	case E_TEXT: return hj_sc_text(s, res->text, sizeof(res->text));
	case E_ANOMALY: return hj_sc_text(s, res->anomaly, sizeof(res->anomaly));
	case E_PROTOCOL: return hj_sc_text(s, res->protocol, sizeof(res->protocol));
	}
	return false;
}

bool hj_scan_event(const char *line, size_t len, model_event *ev, hj_flag_cache *fc,
		   bool *has_op_r)
{
	hj_scan s = {line, line + len, fc};
	ev_ctx c = {ev, 0};
	assert(line[len] == '\0' || line[len] == '\r' || line[len] == '\n');
	if (!hj_sc_object(&s, ev_keys, CM_ARRAY_LEN(ev_keys), ev_field, &c) || s.p != s.end)
		return false;
	if ((c.seen & E_HEAD) != E_HEAD)
		return false; /* jansson: "missing ..." */
	/* An invoke's result keys are not even read by the general path:
	 * the writer never puts them there, so they are left to it. */
	if (ev->type == MODEL_EV_INVOKE &&
	    (!(c.seen & 1u << E_OP) || (c.seen & E_RESULT) != 0))
		return false;
	if (ev->type != MODEL_EV_INVOKE && !(c.seen & 1u << E_STATUS))
		return false;
	*has_op_r = (c.seen & 1u << E_OP) != 0;
	return true;
}
