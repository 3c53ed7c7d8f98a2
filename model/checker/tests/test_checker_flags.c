/* The checker on STORE and flags (section E): lost updates are found,
 * overlapping STOREs and lagging sessions are not, UNCHANGEDSINCE must
 * refuse a changed message, a STORE's reply shows what it did. */
#include "checker_test.h"

static void t_clean(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE | MODEL_CAP_UIDPLUS);
	two_sessions(&h);
	model_op op = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_result r = ok();
	ut_fetch(&r, 1, 1, CM_FLAG_SEEN, 20, NULL);
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	model_op_free(&op);
	/* Client 2 lags: it may still say \Seen is clear (no fresh read). */
	fetch_all(&h, 2, 3, NULL, NULL);
	/* Client 1 reads its own write. */
	cm_flags f[3] = {CM_FLAG_SEEN, 0, 0};
	uint64_t ms[3] = {20, 12, 13};
	fetch_all(&h, 1, 3, f, ms);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

static void t_lost_update(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	/* +\Seen by 1 and +\Flagged by 2, overlapping; both OK. */
	model_op a = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_op b = store_op(1, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
	uint64_t ia = hb_invoke(&h, 1, &a), ib = hb_invoke(&h, 2, &b);
	model_result ra = ok(), rb = ok();
	hb_done(&h, 1, ia, &ra);
	hb_done(&h, 2, ib, &rb);
	/* Client 1 then sees \Flagged but not its own \Seen: lost update. */
	cm_flags f[3] = {CM_FLAG_FLAGGED, 0, 0};
	uint64_t ms[3] = {30, 12, 13};
	fetch_all(&h, 1, 3, f, ms);
	CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), 1);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
}

static void t_overlap_is_fine(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	/* +\Seen by 1 overlaps -\Seen by 2: either order is legal. */
	model_op a = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_op b = store_op(1, MODEL_STORE_REMOVE, CM_FLAG_SEEN);
	uint64_t ia = hb_invoke(&h, 1, &a), ib = hb_invoke(&h, 2, &b);
	model_result ra = ok(), rb = ok();
	hb_done(&h, 2, ib, &rb);
	hb_done(&h, 1, ia, &ra);
	fetch_all(&h, 1, 3, NULL, NULL); /* \Seen clear: 2 went last */
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
}

static void t_store_response(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	model_op a = store_op(2, MODEL_STORE_ADD, fl("$Junk"));
	model_result r = ok();
	ut_fetch(&r, 2, 2, 0, 21, NULL); /* the response lacks what it added */
	hb_done(&h, 1, hb_invoke(&h, 1, &a), &r);
	CHECK_EQ(count(&h, MODEL_INV_STORE_RESPONSE_VALUE), 1);
	model_op_free(&a);
	hb_free(&h);
	/* The same reply is fine for a message another session had expunged
	 * first: the STORE had nothing to change (Cyrus answers so). */
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	store_deleted(&h, 2, 2, 2, 20);
	expunge_seq(&h, 2, 2);
	a = store_op(2, MODEL_STORE_ADD, fl("$Junk"));
	r = ok();
	ut_fetch(&r, 2, 2, CM_FLAG_DELETED, 20, NULL);
	do_op(&h, 1, &a, &r);
	CHECK_EQ(errors(&h), 0);
	if (errors(&h))
		dump(&h);
	hb_free(&h);
}

static void t_unchangedsince(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_CONDSTORE);
	two_sessions(&h);
	/* Client 2 changes message 1 (modseq 12 -> 40) and completes. */
	model_op b = store_op(1, MODEL_STORE_ADD, CM_FLAG_SEEN);
	model_result rb = ok();
	ut_fetch(&rb, 1, 1, CM_FLAG_SEEN, 40, NULL);
	hb_done(&h, 2, hb_invoke(&h, 2, &b), &rb);
	/* Client 1, still believing modseq 11, stores conditionally: the
	 * server must refuse with MODIFIED. This one accepts. */
	model_op a = store_op(1, MODEL_STORE_REPLACE, CM_FLAG_FLAGGED);
	a.has_unchangedsince = true;
	a.unchangedsince = 11;
	model_result ra = ok();
	ut_fetch(&ra, 1, 1, CM_FLAG_FLAGGED, 41, NULL);
	hb_done(&h, 1, hb_invoke(&h, 1, &a), &ra);
	CHECK_EQ(count(&h, MODEL_INV_UNCHANGEDSINCE_REJECT), 1);
	/* And the honest answer raises nothing. */
	hb h2;
	hb_init(&h2, MODEL_CAP_CONDSTORE);
	two_sessions(&h2);
	rb = ok();
	ut_fetch(&rb, 1, 1, CM_FLAG_SEEN, 40, NULL);
	hb_done(&h2, 2, hb_invoke(&h2, 2, &b), &rb);
	ra = ok();
	ra.code.kind = MODEL_CODE_MODIFIED;
	cm_uidset_add(&ra.code.set, 1);
	hb_done(&h2, 1, hb_invoke(&h2, 1, &a), &ra);
	CHECK_EQ(total(&h2), 0);
	if (total(&h2))
		dump(&h2);
	model_op_free(&a);
	model_op_free(&b);
	hb_free(&h);
	hb_free(&h2);
}

/* A STORE acknowledged OK is visible to a fresh read that starts after
 * it: FLAGS-MERGE already holds the read to it. */
static void t_store_visible_to_fresh_read(void)
{
	hb h;
	hb_init(&h, 0);
	two_sessions(&h);
	model_op op = store_op(2, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
	model_result r = ok();
	do_op(&h, 1, &op, &r);
	select_box(&h, 2, 3, 4, 13);
	fetch_all(&h, 2, 3, NULL, NULL); /* \Flagged missing on UID 2 */
	CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), 1);
	hb_free(&h);
}

int main(void)
{
	RUN(t_clean);
	RUN(t_lost_update);
	RUN(t_overlap_is_fine);
	RUN(t_store_response);
	RUN(t_unchangedsince);
	RUN(t_store_visible_to_fresh_read);
	TEST_EXIT();
}
