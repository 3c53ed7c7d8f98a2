/* The history codec's JSON mapping of ops (docs/history.md, "op"): a
 * model_op to a jansson object for the writer, and back for the reader. */
#include "history_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Names of the bits of MODEL_F_*, and of the faults and STORE modes. */
const char *const hj_item_names[HJ_ITEM_COUNT] = {
	"UID", "FLAGS", "MODSEQ", "BODY", "SIZE", "IDATE", "ID",
};
const char *const hj_fault_names[HJ_FAULT_COUNT] = {
	[MODEL_FAULT_NONE] = "none", [MODEL_FAULT_CRASH] = "crash",
	[MODEL_FAULT_KILL] = "kill", [MODEL_FAULT_ENOSPC] = "enospc",
	[MODEL_FAULT_RENAME] = "rename-failure", [MODEL_FAULT_INDEX_LOSS] = "index-loss",
	[MODEL_FAULT_PARTITION] = "partition", [MODEL_FAULT_HEAL] = "heal",
};

const char *const hj_mode_names[HJ_MODE_COUNT] = {
	[MODEL_STORE_REPLACE] = "=", [MODEL_STORE_ADD] = "+", [MODEL_STORE_REMOVE] = "-",
};

static json_t *qresync_to_json(const model_op *op)
{
	hj_obj b = hj_obj_new();
	hj_obj_put(&b, "uidvalidity", json_integer(op->q_uidvalidity));
	hj_obj_put(&b, "modseq", hj_u64(op->q_modseq));
	if (op->q_known.n)
		hj_obj_put(&b, "known", hj_set_to_json(&op->q_known));
	return hj_obj_done(&b);
}

static void op_select_fields(hj_obj *b, const model_op *op)
{
	if (op->readonly)
		hj_obj_put(b, "readonly", json_true());
	if (op->condstore)
		hj_obj_put(b, "condstore", json_true());
	if (op->qresync)
		hj_obj_put(b, "qresync", qresync_to_json(op));
}

static void op_store_fetch_fields(hj_obj *b, const model_op *op)
{
	if (op->kind == MODEL_OP_STORE || op->mode != MODEL_STORE_REPLACE)
		hj_obj_put(b, "mode", op->mode < CM_ARRAY_LEN(hj_mode_names)
			       ? json_string_nocheck(hj_mode_names[op->mode]) : NULL);
	if (op->flags)
		hj_obj_put(b, "flags", hj_flags_to_json(op->flags));
	if (op->silent)
		hj_obj_put(b, "silent", json_true());
	if (op->has_unchangedsince)
		hj_obj_put(b, "unchangedsince", hj_u64(op->unchangedsince));
	if (op->items)
		hj_obj_put(b, "items",
			   hj_bits_to_json(op->items, hj_item_names, CM_ARRAY_LEN(hj_item_names)));
	if (op->has_changedsince)
		hj_obj_put(b, "changedsince", hj_u64(op->changedsince));
	if (op->vanished)
		hj_obj_put(b, "vanished", json_true());
}

static void op_other_fields(hj_obj *b, const model_op *op)
{
	if (op->msg_id[0])
		hj_obj_put(b, "msg_id", hj_str(op->msg_id, sizeof(op->msg_id)));
	if (op->body_hash)
		hj_obj_put(b, "body_hash", hj_hex64(op->body_hash));
	if (op->size)
		hj_obj_put(b, "size", json_integer(op->size));
	if (op->caps)
		hj_obj_put(b, "caps",
			   hj_bits_to_json(op->caps, hj_cap_names, CM_ARRAY_LEN(hj_cap_names)));
	if (op->status_items)
		hj_obj_put(b, "status_items",
			   hj_bits_to_json(op->status_items, model_status_item_names, MODEL_STATUS_COUNT));
	if (op->fault != MODEL_FAULT_NONE)
		hj_obj_put(b, "fault", op->fault < CM_ARRAY_LEN(hj_fault_names)
			       ? json_string_nocheck(hj_fault_names[op->fault]) : NULL);
	if (op->fault_client)
		hj_obj_put(b, "fault_client", json_integer(op->fault_client));
	if (op->replica)
		hj_obj_put(b, "replica", json_integer(op->replica));
	if (op->peer)
		hj_obj_put(b, "peer", json_integer(op->peer));
	if (op->opaque)
		hj_obj_put(b, "opaque", json_true());
}

json_t *hj_op_to_json(const model_op *op)
{
	hj_obj b = hj_obj_new();
	hj_obj_put(&b, "kind", op->kind > MODEL_OP_NONE && op->kind < MODEL_OP_KIND_COUNT
		       ? json_string_nocheck(model_op_name(op->kind)) : NULL);
	if (op->uid)
		hj_obj_put(&b, "uid", json_true());
	if (op->set.n)
		hj_obj_put(&b, "set", hj_set_to_json(&op->set));
	if (op->mailbox[0])
		hj_obj_put(&b, "mailbox", hj_str(op->mailbox, sizeof(op->mailbox)));
	op_select_fields(&b, op);
	op_store_fetch_fields(&b, op);
	op_other_fields(&b, op);
	return hj_obj_done(&b);
}

enum {
	O_BODY_HASH, O_CAPS, O_CHANGEDSINCE, O_CONDSTORE, O_FAULT, O_FAULT_CLIENT,
	O_FLAGS, O_ITEMS, O_KIND, O_MAILBOX, O_MODE, O_MSG_ID, O_OPAQUE, O_PEER, O_QRESYNC,
	O_READONLY, O_REPLICA, O_SET, O_SILENT, O_SIZE, O_STATUS_ITEMS, O_UID,
	O_UNCHANGEDSINCE, O_VANISHED,
};
static const hj_key op_keys[] = {
	{"body_hash", O_BODY_HASH}, {"caps", O_CAPS}, {"changedsince", O_CHANGEDSINCE},
	{"condstore", O_CONDSTORE}, {"fault", O_FAULT}, {"fault_client", O_FAULT_CLIENT},
	{"flags", O_FLAGS}, {"items", O_ITEMS}, {"kind", O_KIND}, {"mailbox", O_MAILBOX},
	{"mode", O_MODE}, {"msg_id", O_MSG_ID}, {"opaque", O_OPAQUE}, {"peer", O_PEER},
	{"qresync", O_QRESYNC}, {"readonly", O_READONLY}, {"replica", O_REPLICA},
	{"set", O_SET}, {"silent", O_SILENT}, {"size", O_SIZE},
	{"status_items", O_STATUS_ITEMS}, {"uid", O_UID},
	{"unchangedsince", O_UNCHANGEDSINCE}, {"vanished", O_VANISHED},
};

static int op_kind(const char *key, const json_t *v, model_op *op, cm_err *e)
{
	size_t len;
	const char *s = hj_get_string(key, v, &len, e);
	if (s == NULL)
		return -1;
	op->kind = model_op_parse(s);
	if (op->kind == MODEL_OP_NONE)
		return cm_err_set(e, "%s: unknown op \"%.40s\"", key, s);
	return 0;
}

static int op_qresync(const char *key, const json_t *v, model_op *op, cm_err *e)
{
	const char *k;
	json_t *x;
	if (hj_want_object(key, v, e) < 0)
		return -1;
	op->qresync = true;
	json_object_foreach((json_t *)v, k, x) {
		int rc = 0;
		if (strcmp(k, "uidvalidity") == 0)
			rc = hj_get_u32(k, x, &op->q_uidvalidity, e);
		else if (strcmp(k, "modseq") == 0)
			rc = hj_get_u64(k, x, &op->q_modseq, e);
		else if (strcmp(k, "known") == 0)
			rc = hj_get_set(k, x, &op->q_known, e);
		if (rc < 0) {
			cm_err_prefix(e, "%s.", key);
			return -1;
		}
	}
	return 0;
}

static int op_enum_field(model_op *op, int id, const char *key, const json_t *v,
			 cm_err *e)
{
	int i = 0;
	if (id == O_MODE) {
		if (hj_get_enum(key, v, hj_mode_names, CM_ARRAY_LEN(hj_mode_names), &i, e) < 0)
			return -1;
		op->mode = (model_store_mode)i;
	} else {
		if (hj_get_enum(key, v, hj_fault_names, CM_ARRAY_LEN(hj_fault_names), &i, e) < 0)
			return -1;
		op->fault = (model_fault)i;
	}
	return 0;
}

static int op_field(model_op *op, int id, const char *key, const json_t *v, cm_err *e)
{
	switch (id) {
	case O_BODY_HASH: return hj_get_hex64(key, v, &op->body_hash, e);
	case O_CAPS:
		return hj_get_bits(key, v, hj_cap_names, CM_ARRAY_LEN(hj_cap_names), true,
				   &op->caps, e);
	case O_CHANGEDSINCE:
		op->has_changedsince = true;
		return hj_get_u64(key, v, &op->changedsince, e);
	case O_CONDSTORE: return hj_get_bool(key, v, &op->condstore, e);
	case O_FAULT: return op_enum_field(op, id, key, v, e);
	case O_FAULT_CLIENT: return hj_get_u32(key, v, &op->fault_client, e);
	case O_FLAGS: return hj_get_flags(key, v, &op->flags, NULL, NULL, e);
	case O_ITEMS:
		return hj_get_bits(key, v, hj_item_names, CM_ARRAY_LEN(hj_item_names), false,
				   &op->items, e);
	case O_KIND: return op_kind(key, v, op, e);
	case O_MAILBOX: return hj_get_str(key, v, op->mailbox, sizeof(op->mailbox), e);
	case O_MODE: return op_enum_field(op, id, key, v, e);
	case O_MSG_ID: return hj_get_str(key, v, op->msg_id, sizeof(op->msg_id), e);
	case O_OPAQUE: return hj_get_bool(key, v, &op->opaque, e);
	case O_PEER: return hj_get_u32(key, v, &op->peer, e);
	case O_QRESYNC: return op_qresync(key, v, op, e);
	case O_READONLY: return hj_get_bool(key, v, &op->readonly, e);
	case O_REPLICA: return hj_get_u32(key, v, &op->replica, e);
	case O_SET: return hj_get_set(key, v, &op->set, e);
	case O_SILENT: return hj_get_bool(key, v, &op->silent, e);
	case O_SIZE: return hj_get_u32(key, v, &op->size, e);
	case O_STATUS_ITEMS:
		return hj_get_bits(key, v, model_status_item_names, MODEL_STATUS_COUNT, false,
				   &op->status_items, e);
	case O_UID: return hj_get_bool(key, v, &op->uid, e);
	case O_UNCHANGEDSINCE:
		op->has_unchangedsince = true;
		return hj_get_u64(key, v, &op->unchangedsince, e);
	case O_VANISHED: return hj_get_bool(key, v, &op->vanished, e);
	}
	return 0;
}

int hj_op_from_json(const json_t *obj, model_op *op, cm_err *e)
{
	const char *key;
	json_t *v;
	if (hj_want_object("op", obj, e) < 0)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		int id = hj_key_find(op_keys, CM_ARRAY_LEN(op_keys), key);
		if (id >= 0 && op_field(op, id, key, v, e) < 0)
			goto fail;
	}
	if (op->kind != MODEL_OP_NONE)
		return 0;
	cm_err_set(e, "kind: missing");
fail:
	cm_err_prefix(e, "op.");
	return -1;
}
