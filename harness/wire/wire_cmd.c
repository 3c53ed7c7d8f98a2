/* model_op -> IMAP command text. One op is one command; the mapping is
 * the one docs/history.md describes for each op kind. */
#include "wire_private.h"
#include "rs_session.h"

#include <inttypes.h>
#include <string.h>

static void mailbox(imapc_cmd *c, const char *name)
{
	imapc_cmd_astring(c, name, strlen(name));
}

static void render_select(imapc_cmd *c, const model_op *op)
{
	imapc_cmd_raw(c, op->readonly ? "EXAMINE " : "SELECT ");
	mailbox(c, op->mailbox);
	if (op->qresync) {
		imapc_cmd_printf(c, " (QRESYNC (%" PRIu32 " %" PRIu64, op->q_uidvalidity,
				 op->q_modseq);
		if (op->q_known.n > 0) {
			imapc_cmd_raw(c, " ");
			imapc_cmd_set(c, &op->q_known);
		}
		imapc_cmd_raw(c, "))");
	} else if (op->condstore) {
		imapc_cmd_raw(c, " (CONDSTORE)");
	}
}

static void render_status(imapc_cmd *c, const model_op *op)
{
	imapc_cmd_raw(c, "STATUS ");
	mailbox(c, op->mailbox);
	const char *sep = " (";
	for (unsigned i = 0; i < MODEL_STATUS_COUNT; i++)
		if (op->status_items & (1u << i)) {
			imapc_cmd_raw(c, sep);
			imapc_cmd_raw(c, model_status_item_names[i]);
			sep = " ";
		}
	imapc_cmd_raw(c, strcmp(sep, " (") == 0 ? " (MESSAGES)" : ")");
}

static void render_enable(imapc_cmd *c, const model_op *op)
{
	imapc_cmd_raw(c, "ENABLE");
	if (op->caps & MODEL_CAP_CONDSTORE)
		imapc_cmd_raw(c, " CONDSTORE");
	if (op->caps & MODEL_CAP_QRESYNC)
		imapc_cmd_raw(c, " QRESYNC");
}

/* APPEND (and a delivery, which is an APPEND from its own connection):
 * the exact bytes the workload hashed. */
static void render_append(imapc_cmd *c, const model_op *op)
{
	cm_buf msg = {0};
	model_message_bytes_sized(op->msg_id, op->size, &msg);
	imapc_cmd_raw(c, "APPEND ");
	mailbox(c, op->mailbox);
	if (op->flags != 0) {
		imapc_cmd_raw(c, " ");
		imapc_cmd_flags(c, op->flags);
	}
	imapc_cmd_raw(c, " ");
	imapc_cmd_literal(c, msg.data, msg.len);
	cm_buf_free(&msg);
}

static void render_store(imapc_cmd *c, const model_op *op)
{
	static const char *const modes[] = {"FLAGS", "+FLAGS", "-FLAGS"};
	imapc_cmd_raw(c, op->uid ? "UID STORE " : "STORE ");
	imapc_cmd_set(c, &op->set);
	if (op->has_unchangedsince)
		imapc_cmd_printf(c, " (UNCHANGEDSINCE %" PRIu64 ")", op->unchangedsince);
	imapc_cmd_printf(c, " %s%s ", modes[op->mode], op->silent ? ".SILENT" : "");
	imapc_cmd_flags(c, op->flags);
}

static void render_fetch(imapc_cmd *c, const model_op *op)
{
	imapc_cmd_raw(c, op->uid ? "UID FETCH " : "FETCH ");
	imapc_cmd_set(c, &op->set);
	const char *sep = " (";
#define ITEM(bit, text)                          \
	if (op->items & (bit)) {                 \
		imapc_cmd_raw(c, sep);           \
		imapc_cmd_raw(c, text);          \
		sep = " ";                       \
	}
	ITEM(MODEL_F_UID, "UID")
	ITEM(MODEL_F_FLAGS, "FLAGS")
	ITEM(MODEL_F_MODSEQ, "MODSEQ")
	ITEM(MODEL_F_SIZE, "RFC822.SIZE")
	ITEM(MODEL_F_IDATE, "INTERNALDATE")
	/* The whole message carries the id; otherwise ask for the header. */
	ITEM(MODEL_F_BODY, "BODY.PEEK[]")
	if (!(op->items & MODEL_F_BODY)) {
		ITEM(MODEL_F_ID, "BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)]")
	}
#undef ITEM
	imapc_cmd_raw(c, strcmp(sep, " (") == 0 ? " (UID)" : ")");
	if (op->has_changedsince)
		imapc_cmd_printf(c, " (CHANGEDSINCE %" PRIu64 "%s)", op->changedsince,
				 op->vanished ? " VANISHED" : "");
}

static void render_uidcmd(imapc_cmd *c, const model_op *op, const char *name)
{
	if (op->uid)
		imapc_cmd_raw(c, "UID ");
	imapc_cmd_raw(c, name);
	if (op->set.n > 0) {
		imapc_cmd_raw(c, " ");
		imapc_cmd_set(c, &op->set);
	}
	if (op->kind == MODEL_OP_COPY || op->kind == MODEL_OP_MOVE) {
		imapc_cmd_raw(c, " ");
		mailbox(c, op->mailbox);
	}
}

void rt_wire_render(imapc_cmd *c, const model_op *op)
{
	imapc_cmd_reset(c);
	switch (op->kind) {
	case MODEL_OP_LOGOUT: imapc_cmd_raw(c, "LOGOUT"); break;
	case MODEL_OP_SELECT: render_select(c, op); break;
	case MODEL_OP_STATUS: render_status(c, op); break;
	case MODEL_OP_ENABLE: render_enable(c, op); break;
	case MODEL_OP_APPEND:
	case MODEL_OP_DELIVER: render_append(c, op); break;
	case MODEL_OP_STORE: render_store(c, op); break;
	case MODEL_OP_FETCH: render_fetch(c, op); break;
	case MODEL_OP_SEARCH: imapc_cmd_raw(c, op->uid ? "UID SEARCH ALL" : "SEARCH ALL"); break;
	case MODEL_OP_EXPUNGE: render_uidcmd(c, op, "EXPUNGE"); break;
	case MODEL_OP_COPY: render_uidcmd(c, op, "COPY"); break;
	case MODEL_OP_MOVE: render_uidcmd(c, op, "MOVE"); break;
	case MODEL_OP_CREATE:
		imapc_cmd_raw(c, "CREATE ");
		mailbox(c, op->mailbox);
		break;
	case MODEL_OP_DELETE:
		imapc_cmd_raw(c, "DELETE ");
		mailbox(c, op->mailbox);
		break;
	default: imapc_cmd_raw(c, "NOOP"); break;
	}
}

/* ---- fitting ops to the target ---- */

static bool has_set(const model_op *op)
{
	switch (op->kind) {
	case MODEL_OP_STORE:
	case MODEL_OP_FETCH:
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
		return true;
	case MODEL_OP_EXPUNGE:
		return op->uid;
	default:
		return false;
	}
}

static void drop_condstore(model_op *op)
{
	op->condstore = op->qresync = false;
	op->has_unchangedsince = op->has_changedsince = op->vanished = false;
	op->items &= ~(unsigned)MODEL_F_MODSEQ;
	op->status_items &= ~(unsigned)MODEL_STATUS_HIGHESTMODSEQ;
}

bool rt_wire_op_fit(model_op *op, unsigned caps, cm_flags allowed)
{
	/* A flag the server cannot keep would make STORE and APPEND fail
	 * (imap4d: BAD for any keyword) or be dropped: not worth a test. */
	if (op->kind == MODEL_OP_STORE || op->kind == MODEL_OP_APPEND ||
	    op->kind == MODEL_OP_DELIVER)
		op->flags &= allowed;
	if (!(caps & MODEL_CAP_CONDSTORE))
		drop_condstore(op);
	if (!(caps & MODEL_CAP_QRESYNC)) {
		op->qresync = op->vanished = false;
		op->caps &= ~(unsigned)MODEL_CAP_QRESYNC;
	}
	if (op->kind == MODEL_OP_EXPUNGE && op->uid && !(caps & MODEL_CAP_UIDPLUS)) {
		/* UID EXPUNGE is UIDPLUS; plain EXPUNGE is what is left. */
		op->uid = false;
		cm_uidset_clear(&op->set);
	}
	if (op->kind == MODEL_OP_ENABLE &&
	    (!(caps & MODEL_CAP_ENABLE) || (op->caps & caps) == 0))
		return false;
	if (op->kind == MODEL_OP_MOVE && !(caps & MODEL_CAP_MOVE))
		return false;
	if (op->kind == MODEL_OP_FETCH && op->items == 0)
		op->items = MODEL_F_UID;
	if (op->kind == MODEL_OP_STATUS && op->status_items == 0)
		op->status_items = MODEL_STATUS_MESSAGES;
	if (op->kind == MODEL_OP_SELECT && op->qresync)
		op->condstore = false; /* QRESYNC implies it; one modifier */
	return !has_set(op) || op->set.n > 0;
}
