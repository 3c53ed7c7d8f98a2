/* The checker on modseqs (CONDSTORE and QRESYNC, section F): MODSEQ
 * changes with the flags and never goes back, HIGHESTMODSEQ only grows,
 * CHANGEDSINCE returns every change, an EXPUNGE raises HIGHESTMODSEQ. */
#include "checker_test.h"

static void t_modseq_on_change(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	cm_flags f1[3] = {CM_FLAG_SEEN, 0, 0}, f2[3] = {CM_FLAG_FLAGGED, 0, 0};
	uint64_t ms[3] = {50, 12, 13};
	model_op a = store_op(1, MODEL_STORE_REPLACE, CM_FLAG_SEEN);
	model_result r = ok();
	hb_done(&h, 1, hb_invoke(&h, 1, &a), &r);
	model_op b = store_op(1, MODEL_STORE_REPLACE, CM_FLAG_FLAGGED);
	r = ok();
	hb_done(&h, 2, hb_invoke(&h, 2, &b), &r);
	fetch_all(&h, 1, 3, f1, ms);
	fetch_all(&h, 2, 3, f2, ms); /* same MODSEQ, other flags */
	CHECK_EQ(count(&h, MODEL_INV_MODSEQ_ON_CHANGE), 1);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
}

static void t_highestmodseq(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC);
	connect(&h, 1);
	select_box(&h, 1, 0, 1, 100);
	connect(&h, 2);
	select_box(&h, 2, 0, 1, 90); /* fresh read went down */
	CHECK_EQ(count(&h, MODEL_INV_HIGHESTMODSEQ_MONO), 1);
	hb_free(&h);
}

/* Client 2 expunges UID 1 and flags UID 3; client 1's CHANGEDSINCE fetch
 * then answers (told) with an unsolicited FETCH of UID 3 by sequence
 * number, before the EXPUNGE that renumbers it. */
static void changedsince_case(hb *h, bool told)
{
	two_sessions(h);
	store_deleted(h, 2, 1, 1, 20);
	expunge_seq(h, 2, 1);
	model_op op = store_op(3, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
	model_result r = ok();
	ut_fetch(&r, 2, 3, CM_FLAG_FLAGGED, 30, NULL);
	do_op(h, 2, &op, &r);
	op = fetch_all_op();
	op.has_changedsince = true;
	op.changedsince = 25;
	r = ok();
	if (told) {
		ut_fetch(&r, 3, 0, CM_FLAG_FLAGGED, 30, NULL);
		r.ut[r.nut - 1].fetch.has &= ~MODEL_F_UID;
	}
	ut_expunge(&r, 1);
	do_op(h, 1, &op, &r);
	/* A fresh session finds UID 3 still there. */
	connect(h, 3);
	model_op_init(&op, MODEL_OP_SELECT);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	r = ok();
	ut_exists(&r, 2);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, UV);
	do_op(h, 3, &op, &r);
	op = fetch_all_op();
	r = ok();
	ut_fetch(&r, 1, 2, 0, 12, NULL);
	ut_fetch(&r, 2, 3, CM_FLAG_FLAGGED, 30, NULL);
	do_op(h, 3, &op, &r);
}

static void t_changedsince_complete(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_UIDPLUS);
	changedsince_case(&h, false);
	CHECK_EQ(count(&h, MODEL_INV_CHANGEDSINCE_COMPLETE), 1);
	hb_free(&h);
	/* The change came as a FETCH without UID, resolved on the view as it
	 * stood before the EXPUNGE later in the reply. */
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_UIDPLUS);
	changedsince_case(&h, true);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* Client 1 saw UID 2 \Deleted at MODSEQ 40; client 2 expunges it; client
 * 1's next reply shows it at its older MODSEQ 12, then (gone) expunged. */
static void modseq_case(hb *h, bool gone)
{
	two_sessions(h);
	store_deleted(h, 2, 2, 2, 40);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	ut_fetch(&r, 2, 2, CM_FLAG_DELETED, 40, NULL);
	do_op(h, 1, &op, &r);
	expunge_seq(h, 2, 2);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_fetch(&r, 2, 2, 0, 12, NULL);
	if (gone)
		ut_expunge(&r, 2);
	do_op(h, 1, &op, &r);
}

static void t_modseq_mono(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	modseq_case(&h, false);
	CHECK_EQ(count(&h, MODEL_INV_MODSEQ_MONO), 1);
	CHECK_EQ(errors(&h), 1);
	if (errors(&h) != 1)
		dump(&h);
	hb_free(&h);
	hb_init(&h, MODEL_CAP_CONDSTORE);
	modseq_case(&h, true);
	CHECK_EQ(count(&h, MODEL_INV_MODSEQ_MONO), 1);
	CHECK_EQ(errors(&h), 0); /* a warning: the expunge follows at once */
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

/* With QRESYNC, an EXPUNGE that removed a message without [HIGHESTMODSEQ]
 * in its tagged OK: a warning (7162 3.2.7); one that went down: an error. */
static void t_expunge_modseq(void)
{
	for (int lower = 0; lower < 2; lower++) {
		hb h;
		hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC);
		connect(&h, 1);
		model_op op;
		model_op_init(&op, MODEL_OP_ENABLE);
		op.caps = MODEL_CAP_QRESYNC;
		model_result r = ok();
		model_result_add(&r, MODEL_UT_ENABLED)->caps = MODEL_CAP_QRESYNC |
							       MODEL_CAP_CONDSTORE;
		do_op(&h, 1, &op, &r);
		select_box(&h, 1, 2, 3, 12);
		cm_flags f[2] = {CM_FLAG_DELETED, 0};
		fetch_all(&h, 1, 2, f, NULL);
		model_op_init(&op, MODEL_OP_EXPUNGE);
		r = ok();
		cm_uidset_add(&model_result_add(&r, MODEL_UT_VANISHED)->set, 1);
		if (lower)
			r.code.kind = MODEL_CODE_HIGHESTMODSEQ, r.code.value = 12;
		do_op(&h, 1, &op, &r);
		CHECK_EQ(count(&h, MODEL_INV_EXPUNGE_MODSEQ), 1);
		CHECK_EQ(errors(&h), (uint64_t)lower);
		hb_free(&h);
	}
}

int main(void)
{
	RUN(t_changedsince_complete);
	RUN(t_modseq_mono);
	RUN(t_expunge_modseq);
	RUN(t_modseq_on_change);
	RUN(t_highestmodseq);
	TEST_EXIT();
}
