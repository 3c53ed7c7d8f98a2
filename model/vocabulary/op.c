/* Ops: lifetime, names and a human description. */
#include "model.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

const char *const model_status_item_names[MODEL_STATUS_COUNT] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ",
};

static const char *const op_names[MODEL_OP_KIND_COUNT] = {
	[MODEL_OP_NONE] = "none",       [MODEL_OP_CONNECT] = "connect",
	[MODEL_OP_LOGOUT] = "logout",   [MODEL_OP_SELECT] = "select",
	[MODEL_OP_STATUS] = "status",   [MODEL_OP_NOOP] = "noop",
	[MODEL_OP_ENABLE] = "enable",   [MODEL_OP_APPEND] = "append",
	[MODEL_OP_DELIVER] = "deliver", [MODEL_OP_STORE] = "store",
	[MODEL_OP_FETCH] = "fetch",     [MODEL_OP_SEARCH] = "search",
	[MODEL_OP_EXPUNGE] = "expunge", [MODEL_OP_COPY] = "copy",
	[MODEL_OP_MOVE] = "move",       [MODEL_OP_CREATE] = "create",
	[MODEL_OP_DELETE] = "delete",   [MODEL_OP_CHECKPOINT] = "checkpoint",
	[MODEL_OP_FAULT] = "fault",
	[MODEL_OP_SYNC] = "sync",
};

const char *model_op_name(model_op_kind kind)
{
	return kind < MODEL_OP_KIND_COUNT ? op_names[kind] : "?";
}

model_op_kind model_op_parse(const char *name)
{
	for (int k = 1; k < MODEL_OP_KIND_COUNT; k++)
		if (strcasecmp(op_names[k], name) == 0)
			return (model_op_kind)k;
	return MODEL_OP_NONE;
}

void model_op_init(model_op *op, model_op_kind kind)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
}

void model_op_free(model_op *op)
{
	cm_uidset_free(&op->set);
	cm_uidset_free(&op->q_known);
}

void model_op_copy(model_op *dst, const model_op *src)
{
	cm_uidset set = dst->set, known = dst->q_known;
	*dst = *src;
	dst->set = set;
	dst->q_known = known;
	cm_uidset_copy(&dst->set, &src->set);
	cm_uidset_copy(&dst->q_known, &src->q_known);
}

static const char *fault_name(model_fault f)
{
	switch (f) {
	case MODEL_FAULT_CRASH: return "crash";
	case MODEL_FAULT_KILL: return "kill";
	case MODEL_FAULT_ENOSPC: return "enospc";
	case MODEL_FAULT_RENAME: return "rename-failure";
	case MODEL_FAULT_INDEX_LOSS: return "index-loss";
	case MODEL_FAULT_PARTITION: return "partition";
	case MODEL_FAULT_HEAL: return "heal";
	default: return "none";
	}
}

static void describe_fetch_items(cm_buf *out, unsigned items)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{MODEL_F_UID, "UID"}, {MODEL_F_FLAGS, "FLAGS"},
		{MODEL_F_MODSEQ, "MODSEQ"}, {MODEL_F_BODY, "BODY.PEEK[]"},
		{MODEL_F_SIZE, "RFC822.SIZE"}, {MODEL_F_IDATE, "INTERNALDATE"},
		{MODEL_F_ID, "BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)]"},
	};
	bool first = true;
	cm_buf_putc(out, '(');
	for (size_t i = 0; i < CM_ARRAY_LEN(names); i++) {
		if (!(items & names[i].bit))
			continue;
		if (!first)
			cm_buf_putc(out, ' ');
		cm_buf_puts(out, names[i].name);
		first = false;
	}
	cm_buf_putc(out, ')');
}

static void describe_set(cm_buf *out, const cm_uidset *set)
{
	if (set->n == 0)
		cm_buf_puts(out, "(none)");
	else
		cm_uidset_format(out, set);
}

/* SELECT or EXAMINE with its CONDSTORE or QRESYNC parameters. */
static void describe_select(cm_buf *out, const model_op *op)
{
	cm_buf_printf(out, "%s %s", op->readonly ? "EXAMINE" : "SELECT", op->mailbox);
	if (op->qresync) {
		cm_buf_printf(out, " (QRESYNC (%" PRIu32 " %" PRIu64, op->q_uidvalidity,
			      op->q_modseq);
		if (op->q_known.n) {
			cm_buf_putc(out, ' ');
			cm_uidset_format(out, &op->q_known);
		}
		cm_buf_puts(out, "))");
	} else if (op->condstore) {
		cm_buf_puts(out, " (CONDSTORE)");
	}
}

static void describe_store(cm_buf *out, const model_op *op)
{
	cm_buf_printf(out, "%sSTORE ", op->uid ? "UID " : "");
	describe_set(out, &op->set);
	if (op->has_unchangedsince)
		cm_buf_printf(out, " (UNCHANGEDSINCE %" PRIu64 ")", op->unchangedsince);
	cm_buf_printf(out, " %sFLAGS%s (", op->mode == MODEL_STORE_ADD ? "+"
			   : op->mode == MODEL_STORE_REMOVE ? "-" : "",
		      op->silent ? ".SILENT" : "");
	cm_flags_format(out, op->flags);
	cm_buf_putc(out, ')');
}

/* FAULT and SYNC: what happened, to which replicas. */
static void describe_replication(cm_buf *out, const model_op *op)
{
	if (op->kind == MODEL_OP_SYNC) {
		cm_buf_printf(out, "SYNC %s replicas %" PRIu32 "-%" PRIu32 "%s",
			      op->mailbox[0] ? op->mailbox : "(all)", op->replica, op->peer,
			      op->opaque ? " (external)" : "");
		return;
	}
	cm_buf_printf(out, "FAULT %s", fault_name(op->fault));
	if (op->fault_client)
		cm_buf_printf(out, " client %" PRIu32, op->fault_client);
	if (op->mailbox[0])
		cm_buf_printf(out, " %s", op->mailbox);
	if (op->peer)
		cm_buf_printf(out, " replicas %" PRIu32 "-%" PRIu32, op->replica, op->peer);
	else if (op->replica)
		cm_buf_printf(out, " replica %" PRIu32, op->replica);
}

void model_op_describe(cm_buf *out, const model_op *op)
{
	const char *u = op->uid ? "UID " : "";
	cm_buf_reserve(out, 0);
	switch (op->kind) {
	case MODEL_OP_SELECT:
		describe_select(out, op);
		break;
	case MODEL_OP_STORE:
		describe_store(out, op);
		break;
	case MODEL_OP_FETCH:
		cm_buf_printf(out, "%sFETCH ", u);
		describe_set(out, &op->set);
		cm_buf_putc(out, ' ');
		describe_fetch_items(out, op->items);
		if (op->has_changedsince)
			cm_buf_printf(out, " (CHANGEDSINCE %" PRIu64 "%s)", op->changedsince,
				      op->vanished ? " VANISHED" : "");
		break;
	case MODEL_OP_SEARCH:
		cm_buf_printf(out, "%sSEARCH ALL", u);
		break;
	case MODEL_OP_EXPUNGE:
		if (op->uid) {
			cm_buf_puts(out, "UID EXPUNGE ");
			describe_set(out, &op->set);
		} else {
			cm_buf_puts(out, "EXPUNGE");
		}
		break;
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
		cm_buf_printf(out, "%s%s ", u, op->kind == MODEL_OP_COPY ? "COPY" : "MOVE");
		describe_set(out, &op->set);
		cm_buf_printf(out, " %s", op->mailbox);
		break;
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER:
		cm_buf_printf(out, "%s %s (", op->kind == MODEL_OP_APPEND ? "APPEND" : "DELIVER",
			      op->mailbox);
		cm_flags_format(out, op->flags);
		cm_buf_printf(out, ") {%" PRIu32 "} id=%s", op->size, op->msg_id);
		break;
	case MODEL_OP_STATUS:
		cm_buf_printf(out, "STATUS %s", op->mailbox);
		break;
	case MODEL_OP_ENABLE:
		cm_buf_printf(out, "ENABLE%s%s", op->caps & MODEL_CAP_CONDSTORE ? " CONDSTORE" : "",
			      op->caps & MODEL_CAP_QRESYNC ? " QRESYNC" : "");
		break;
	case MODEL_OP_CREATE:
	case MODEL_OP_DELETE:
		cm_buf_printf(out, "%s %s", op->kind == MODEL_OP_CREATE ? "CREATE" : "DELETE",
			      op->mailbox);
		break;
	case MODEL_OP_FAULT:
	case MODEL_OP_SYNC:
		describe_replication(out, op);
		break;
	default:
		for (const char *p = model_op_name(op->kind); *p; p++)
			cm_buf_putc(out, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
		break;
	}
}
