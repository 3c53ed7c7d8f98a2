/* The direct encoder's op object (docs/history.md, "The op object"): the
 * bytes hj_op_to_json's dump gives (history_json_op.c), key for key. */
#include "history_emit.h"
#include "history_json.h" /* hj_cap_names, the op's name tables */

static void emit_qresync(hj_emit *e, const model_op *op)
{
	char sep = '{';
	HJ_KEY(e, &sep, "uidvalidity");
	hj_emit_u32(e, op->q_uidvalidity);
	HJ_KEY(e, &sep, "modseq");
	hj_emit_u64(e, op->q_modseq);
	if (op->q_known.n) {
		HJ_KEY(e, &sep, "known");
		hj_emit_set(e, &op->q_known);
	}
	hj_emit_close(e, sep, '}');
}

static void emit_select_fields(hj_emit *e, char *sep, const model_op *op)
{
	if (op->readonly) {
		HJ_KEY(e, sep, "readonly");
		hj_emit_true(e);
	}
	if (op->condstore) {
		HJ_KEY(e, sep, "condstore");
		hj_emit_true(e);
	}
	if (op->qresync) {
		HJ_KEY(e, sep, "qresync");
		emit_qresync(e, op);
	}
}

static void emit_store_fetch_fields(hj_emit *e, char *sep, const model_op *op)
{
	if (op->kind == MODEL_OP_STORE || op->mode != MODEL_STORE_REPLACE) {
		HJ_KEY(e, sep, "mode");
		hj_emit_name(e, op->mode < HJ_MODE_COUNT ? hj_mode_names[op->mode] : NULL);
	}
	if (op->flags) {
		HJ_KEY(e, sep, "flags");
		hj_emit_flags(e, op->flags);
	}
	if (op->silent) {
		HJ_KEY(e, sep, "silent");
		hj_emit_true(e);
	}
	if (op->has_unchangedsince) {
		HJ_KEY(e, sep, "unchangedsince");
		hj_emit_u64(e, op->unchangedsince);
	}
	if (op->items) {
		HJ_KEY(e, sep, "items");
		hj_emit_bits(e, op->items, hj_item_names, HJ_ITEM_COUNT);
	}
	if (op->has_changedsince) {
		HJ_KEY(e, sep, "changedsince");
		hj_emit_u64(e, op->changedsince);
	}
	if (op->vanished) {
		HJ_KEY(e, sep, "vanished");
		hj_emit_true(e);
	}
}

static void emit_other_fields(hj_emit *e, char *sep, const model_op *op)
{
	if (op->msg_id[0]) {
		HJ_KEY(e, sep, "msg_id");
		hj_emit_text(e, op->msg_id, sizeof(op->msg_id));
	}
	if (op->body_hash) {
		HJ_KEY(e, sep, "body_hash");
		hj_emit_hex64(e, op->body_hash);
	}
	if (op->size) {
		HJ_KEY(e, sep, "size");
		hj_emit_u32(e, op->size);
	}
	if (op->caps) {
		HJ_KEY(e, sep, "caps");
		hj_emit_bits(e, op->caps, hj_cap_names, HJ_CAP_COUNT);
	}
	if (op->status_items) {
		HJ_KEY(e, sep, "status_items");
		hj_emit_bits(e, op->status_items, model_status_item_names, MODEL_STATUS_COUNT);
	}
	if (op->fault != MODEL_FAULT_NONE) {
		HJ_KEY(e, sep, "fault");
		hj_emit_name(e, op->fault < HJ_FAULT_COUNT ? hj_fault_names[op->fault]
								       : NULL);
	}
	if (op->fault_client) {
		HJ_KEY(e, sep, "fault_client");
		hj_emit_u32(e, op->fault_client);
	}
	if (op->replica) {
		HJ_KEY(e, sep, "replica");
		hj_emit_u32(e, op->replica);
	}
	if (op->peer) {
		HJ_KEY(e, sep, "peer");
		hj_emit_u32(e, op->peer);
	}
	if (op->opaque) {
		HJ_KEY(e, sep, "opaque");
		hj_emit_true(e);
	}
}

void hj_emit_op(hj_emit *e, const model_op *op)
{
	char sep = '{';
	HJ_KEY(e, &sep, "kind");
	hj_emit_name(e, op->kind > MODEL_OP_NONE && op->kind < MODEL_OP_KIND_COUNT
			? model_op_name(op->kind) : NULL);
	if (op->uid) {
		HJ_KEY(e, &sep, "uid");
		hj_emit_true(e);
	}
	if (op->set.n) {
		HJ_KEY(e, &sep, "set");
		hj_emit_set(e, &op->set);
	}
	if (op->mailbox[0]) {
		HJ_KEY(e, &sep, "mailbox");
		hj_emit_text(e, op->mailbox, sizeof(op->mailbox));
	}
	emit_select_fields(e, &sep, op);
	emit_store_fetch_fields(e, &sep, op);
	emit_other_fields(e, &sep, op);
	hj_emit_close(e, sep, '}');
}
