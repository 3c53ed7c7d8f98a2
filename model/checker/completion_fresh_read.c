/* SELECT and STATUS: fresh reads (sections A and D of
 * docs/invariants.md), which UIDNEXT and HIGHESTMODSEQ must never go back
 * below. */
#include "checker_private.h"

#include <inttypes.h>
#include <stdlib.h>

void ck_ops_complete_select(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res)
{
	ck_box *b = s->box;
	if (op->status != MODEL_REPLY_OK || b == NULL)
		return;
	const model_code *un = ck_find_code(res, MODEL_CODE_UIDNEXT);
	const model_code *hm = ck_find_code(res, MODEL_CODE_HIGHESTMODSEQ);
	if (op->dst != b)
		ck_box_no_snap(op); /* an epoch unknown at invoke: nothing to compare */
	ck_box_fresh(c, b, op, un != NULL, un ? (uint32_t)un->value : 0, hm != NULL,
		     hm ? hm->value : 0);
	if (!op->op.qresync || !s->qresync)
		return;
	ck_ops_select_qresync(c, s, b, op, res);
}

/* RFC 7162 3.1.2.2: STATUS HIGHESTMODSEQ is 0 exactly for a mailbox without
 * persistent mod-sequences, which a SELECT of the same epoch may have
 * named ([NOMODSEQ]); otherwise it is 1..2^63-1. */
static void status_highestmodseq(model_checker *c, const ck_op *op,
				 const model_status_data *d)
{
	if (!(d->has & MODEL_STATUS_HIGHESTMODSEQ))
		return;
	const ck_box *b = (d->has & MODEL_STATUS_UIDVALIDITY)
				  ? ck_box_get(c, op->op.mailbox, d->uidvalidity, false)
				  : NULL;
	if (b != NULL && b->nomodseq) {
		if (d->highestmodseq != 0)
			ck_violation(c, MODEL_INV_NOMODSEQ_RULES, op, NULL, 0, 0,
				     "STATUS HIGHESTMODSEQ %" PRIu64 " for %s, which SELECT "
				     "answered with NOMODSEQ (must be 0)", d->highestmodseq,
				     op->op.mailbox);
	} else if (d->highestmodseq > INT64_MAX || d->highestmodseq == 0) {
		ck_violation(c, d->highestmodseq == 0 ? MODEL_INV_NOMODSEQ_RULES
						      : MODEL_INV_MODSEQ_POSITIVE,
			     op, NULL, 0, 0, "STATUS HIGHESTMODSEQ %" PRIu64 " for %s",
			     d->highestmodseq, op->op.mailbox);
	}
}

void ck_ops_complete_status(model_checker *c, ck_session *s, ck_op *op,
			    const model_result *res)
{
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind != MODEL_UT_STATUS)
			continue;
		const model_status_data *d = &u->status;
		status_highestmodseq(c, op, d);
		/* C3: STATUS on the selected mailbox may lag; only others are fresh. */
		if (!(d->has & MODEL_STATUS_UIDVALIDITY) ||
		    (s->box != NULL && strcmp(s->mailbox, op->op.mailbox) == 0))
			continue;
		ck_box *b = ck_box_epoch(c, op, op->op.mailbox, d->uidvalidity);
		if (op->dst != b)
			ck_box_no_snap(op);
		ck_box_fresh(c, b, op, (d->has & MODEL_STATUS_UIDNEXT) != 0, d->uidnext,
			     (d->has & MODEL_STATUS_HIGHESTMODSEQ) && d->highestmodseq != 0,
			     d->highestmodseq);
	}
}
