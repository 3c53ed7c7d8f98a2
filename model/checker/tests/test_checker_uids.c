/* The checker on UIDs, sequence numbers and expunges: UIDs ascend and
 * are never reused, an EXPUNGE names a valid sequence number and only a
 * \Deleted message, and with QRESYNC VANISHED replaces EXPUNGE. */
#include "checker_test.h"

static void t_uid_ascending(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 2, 10, 5);
	model_op op;
	model_op_init(&op, MODEL_OP_FETCH);
	op.items = MODEL_F_UID | MODEL_F_FLAGS;
	cm_uidset_add_range(&op.set, 1, 2);
	model_result r = ok();
	ut_fetch(&r, 1, 7, 0, 0, NULL);
	ut_fetch(&r, 2, 5, 0, 0, NULL); /* below sequence 1's UID */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_UID_ASCENDING), 1);
	model_op_free(&op);
	hb_free(&h);
}

/* A server whose numbering parts from the session's (sequence 1 was UID 1,
 * now it says UID 2) is reported once, not at every later FETCH. */
static void t_uid_divergence_once(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 3, 4, 5);
	fetch_all(&h, 1, 3, NULL, NULL);
	for (int round = 0; round < 3; round++) {
		model_op op = fetch_all_op();
		model_result r = ok();
		ut_fetch(&r, 1, 2, 0, 0, NULL);
		ut_fetch(&r, 2, 3, 0, 0, NULL);
		ut_fetch(&r, 3, 4, 0, 0, NULL);
		do_op(&h, 1, &op, &r);
	}
	CHECK_EQ(count(&h, MODEL_INV_UID_ASCENDING), 1);
	if (count(&h, MODEL_INV_UID_ASCENDING) != 1)
		dump(&h);
	hb_free(&h);
}

static void t_expunge_seqnum(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 3, 10, 5);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	ut_expunge(&r, 5);     /* only 3 messages */
	ut_exists(&r, 1);      /* EXISTS may not lower the count */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_SEQNUM_VALID), 2);
	/* EXPUNGE during a non-UID FETCH. */
	model_op_init(&op, MODEL_OP_FETCH);
	cm_uidset_add(&op.set, 1);
	op.items = MODEL_F_FLAGS;
	r = ok();
	ut_expunge(&r, 1);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_SEQNUM_VALID), 3);
	model_op_free(&op);
	hb_free(&h);
}

static void t_uid_order_and_reuse(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	select_box(&h, 1, 0, 1, 5);
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "a");
	model_result r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set, 5);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	/* A later APPEND gets a lower UID. */
	snprintf(op.msg_id, sizeof(op.msg_id), "b");
	r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set, 4);
	hb_done(&h, 2, hb_invoke(&h, 2, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_UID_ORDER_GLOBAL), 1);
	model_op_free(&op);
	hb_free(&h);
}

static void t_vanished_instead(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC);
	connect(&h, 1);
	model_op op;
	model_op_init(&op, MODEL_OP_ENABLE);
	op.caps = MODEL_CAP_QRESYNC;
	model_result r = ok();
	model_result_add(&r, MODEL_UT_ENABLED)->caps = MODEL_CAP_QRESYNC | MODEL_CAP_CONDSTORE;
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	select_box(&h, 1, 2, 3, 5);
	fetch_all(&h, 1, 2, NULL, NULL);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_expunge(&r, 1); /* must be VANISHED now */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK(count(&h, MODEL_INV_VANISHED_INSTEAD) >= 1);
	hb_free(&h);
}

static void t_expunge_needs_deleted(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	select_box(&h, 1, 2, 3, 5);
	fetch_all(&h, 1, 2, NULL, NULL);
	model_op op;
	model_op_init(&op, MODEL_OP_EXPUNGE);
	model_result r = ok();
	ut_expunge(&r, 1); /* nothing was ever \Deleted */
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_DELETED_ONLY), 1);
	/* A message vanishing with no command that could remove it. */
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_expunge(&r, 1);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_DELETED_ONLY), 2);
	hb_free(&h);
}

int main(void)
{
	RUN(t_uid_ascending);
	RUN(t_uid_divergence_once);
	RUN(t_expunge_seqnum);
	RUN(t_uid_order_and_reuse);
	RUN(t_vanished_instead);
	RUN(t_expunge_needs_deleted);
	TEST_EXIT();
}
