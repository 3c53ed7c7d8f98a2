/* The checker on hostile values: a UID 0, counts and UIDs near 2^32,
 * wide VANISHED ranges are findings, never a crash, a huge allocation or
 * a hang (ctest's timeout is the hang guard). */
#include "checker_test.h"

/* FETCH (UID 0) for a sequence number whose UID was known: a UID-NONZERO
 * finding; the checker goes on (it used to panic on map key 0). */
static void t_uid_zero(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	ut_fetch(&r, 1, 0, 0, 0, NULL);
	do_op(&h, 1, &op, &r);
	CHECK_EQ(count(&h, MODEL_INV_UID_NONZERO), 1);
	/* ... and later ops are still judged. */
	model_op st = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	r = ok();
	ut_fetch(&r, 1, 1, CM_FLAG_SEEN, 20, NULL);
	do_op(&h, 1, &st, &r);
	fetch_all(&h, 1, 3, NULL, NULL); /* lost its own \Seen */
	CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), 1);
	hb_free(&h);
}

/* A claimed count costs nothing until messages are seen: EXISTS 2^32-1,
 * a STORE on every sequence number, FETCHes at both ends, an EXPUNGE of
 * the last, a SEARCH claiming 2^32-2 UIDs. Before, the first EXISTS
 * allocated ~170 GB (out of memory: exit 134). */
static void t_huge_exists(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, UINT32_MAX, 100, 13);
	model_op op;
	model_op_init(&op, MODEL_OP_STORE);
	cm_uidset_add_range(&op.set, 1, UINT32_MAX);
	op.mode = MODEL_STORE_ADD;
	op.flags = CM_FLAG_SEEN;
	model_result r = ok();
	ut_fetch(&r, 1, 1, CM_FLAG_SEEN, 20, NULL);
	do_op(&h, 1, &op, &r);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_expunge(&r, UINT32_MAX);
	ut_expunge(&r, 2);
	do_op(&h, 1, &op, &r);
	/* Still followed: the blank tail is a run, expunges shorten it. */
	CHECK_EQ(count(&h, MODEL_INV_SESSION_VIEW_CONVERGES), 0);
	model_op_init(&op, MODEL_OP_SEARCH);
	op.uid = true;
	r = ok();
	cm_uidset_add_range(&model_result_add(&r, MODEL_UT_SEARCH)->set, 1, UINT32_MAX - 2);
	do_op(&h, 1, &op, &r);
	/* The SEARCH named more UIDs than the checker follows: a warning
	 * that the session's view is no longer checked, not an error. */
	CHECK_EQ(count(&h, MODEL_INV_SESSION_VIEW_CONVERGES), 1);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
	/* FETCHes far out in the claimed count (with and without UID): the
	 * view is given up at once, one warning, no error. */
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, UINT32_MAX, 100, 13);
	model_op_init(&op, MODEL_OP_NOOP);
	r = ok();
	ut_fetch(&r, UINT32_MAX, 9, CM_FLAG_SEEN, 20, NULL);
	model_untagged *u = model_result_add(&r, MODEL_UT_FETCH);
	u->n = UINT32_MAX - 7;
	u->fetch.has = MODEL_F_FLAGS | MODEL_F_MODSEQ;
	u->fetch.flags = CM_FLAG_SEEN;
	u->fetch.modseq = 20;
	do_op(&h, 1, &op, &r);
	CHECK_EQ(count(&h, MODEL_INV_SESSION_VIEW_CONVERGES), 1);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

/* One message with a UID near 2^32: every UID FETCH/STORE 1:* used to walk
 * every UID up to it (~15 s each); 40 of them now take no time (ctest's
 * timeout is the hang guard). */
static void t_huge_uid(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, 2, UINT32_MAX, 13);
	for (int i = 0; i < 40; i++) {
		model_op op = fetch_all_op();
		model_result r = ok();
		ut_fetch(&r, 1, 1, 0, 11, NULL);
		ut_fetch(&r, 2, UINT32_MAX - 1, 0, 12, NULL);
		do_op(&h, 1, &op, &r);
		model_op st;
		model_op_init(&st, MODEL_OP_STORE);
		st.uid = true;
		cm_uidset_add_range(&st.set, 1, UINT32_MAX);
		st.mode = MODEL_STORE_REMOVE;
		st.flags = fl("$L");
		r = ok();
		do_op(&h, 1, &st, &r);
	}
	/* UID COPY 2:* whose COPYUID claims 2^32-2 pairs: its source UIDs
	 * are checked range by range, its new UIDs against what exists. */
	model_op cp;
	model_op_init(&cp, MODEL_OP_COPY);
	cp.uid = true;
	cm_uidset_add_range(&cp.set, 2, UINT32_MAX);
	snprintf(cp.mailbox, sizeof(cp.mailbox), "Other");
	model_result r = ok();
	r.code.kind = MODEL_CODE_COPYUID;
	r.code.uidvalidity = UV + 1;
	cm_uidset_add_range(&r.code.set, 2, UINT32_MAX);
	cm_uidset_add_range(&r.code.dst, 1, UINT32_MAX - 1);
	do_op(&h, 1, &cp, &r);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

/* VANISHED with many wide ranges of UIDs the session never had: one
 * report per range, in time proportional to the view (each range used to
 * cost its span times the view: ~10^11 steps here; ctest's timeout is
 * the hang guard). */
static void t_huge_vanished(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	connect(&h, 1);
	select_box(&h, 1, 2000, 2001, 13);
	fetch_all(&h, 1, 2000, NULL, NULL);
	for (int k = 0; k < 20; k++) {
		model_op op;
		model_op_init(&op, MODEL_OP_NOOP);
		model_result r = ok();
		model_untagged *u = model_result_add(&r, MODEL_UT_VANISHED);
		for (uint32_t g = 0; g < 100; g++)
			cm_uidset_add_range(&u->set, 10000 + g * 100000, 10000 + g * 100000 + 99998);
		do_op(&h, 1, &op, &r);
	}
	/* Per VANISHED: "without QRESYNC", then one per range. */
	CHECK_EQ(count(&h, MODEL_INV_VANISHED_INSTEAD), 20 * 101);
	CHECK_EQ(errors(&h), 20 * 101);
	hb_free(&h);
}

int main(void)
{
	RUN(t_uid_zero);
	RUN(t_huge_exists);
	RUN(t_huge_uid);
	RUN(t_huge_vanished);
	TEST_EXIT();
}
