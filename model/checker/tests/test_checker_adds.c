/* The checker on messages added (section G): COPY is atomic, and an
 * acknowledged APPEND, COPY or MOVE shows in a later fresh read
 * (ADD-NO-LOSS) unless something could have expunged it. */
#include "checker_test.h"

static void t_copy_atomic(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	select_box(&h, 1, 2, 3, 5);
	fetch_all(&h, 1, 2, NULL, NULL);
	/* COPY of UID 1 (message m1) to Archive fails... */
	model_op op;
	model_op_init(&op, MODEL_OP_COPY);
	op.uid = true;
	cm_uidset_add(&op.set, 1);
	snprintf(op.mailbox, sizeof(op.mailbox), "Archive");
	/* (client 2 has Archive known: select it first) */
	connect(&h, 2);
	model_op sel;
	model_op_init(&sel, MODEL_OP_SELECT);
	snprintf(sel.mailbox, sizeof(sel.mailbox), "Archive");
	model_result r = ok();
	ut_exists(&r, 0);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, 99);
	ut_code(&r, MODEL_CODE_UIDNEXT, 1);
	hb_done(&h, 2, hb_invoke(&h, 2, &sel), &r);
	r = ok();
	r.status = MODEL_REPLY_NO;
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	/* ... yet m1 shows up there. */
	model_op noop;
	model_op_init(&noop, MODEL_OP_NOOP);
	r = ok();
	ut_exists(&r, 1);
	ut_fetch(&r, 1, 1, 0, 0, "m1");
	hb_done(&h, 2, hb_invoke(&h, 2, &noop), &r);
	CHECK_EQ(count(&h, MODEL_INV_COPY_ATOMIC), 1);
	model_op_free(&op);
	hb_free(&h);
}

/* APPEND of message id to box by client, answered OK, with APPENDUID uid
 * when uid != 0. */
static void append_ok(hb *h, uint32_t client, const char *box, const char *id,
		      uint32_t uid, cm_flags flags)
{
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", box);
	snprintf(op.msg_id, sizeof(op.msg_id), "%s", id);
	op.flags = flags;
	model_result r = ok();
	if (uid != 0) {
		r.code.kind = MODEL_CODE_APPENDUID;
		r.code.uidvalidity = UV;
		cm_uidset_add(&r.code.set, uid);
	}
	do_op(h, client, &op, &r);
}

/* A fresh EXAMINE of box showing n messages, then UID SEARCH ALL naming
 * UIDs 1..n and a UID FETCH of their identities ids[]. */
static void fresh_read(hb *h, uint32_t client, const char *box, uint32_t n,
		       uint32_t uidnext, const char *const *ids)
{
	model_op op;
	model_op_init(&op, MODEL_OP_SELECT);
	op.readonly = true;
	snprintf(op.mailbox, sizeof(op.mailbox), "%s", box);
	model_result r = ok();
	ut_exists(&r, n);
	ut_code(&r, MODEL_CODE_UIDVALIDITY, UV);
	ut_code(&r, MODEL_CODE_UIDNEXT, uidnext);
	do_op(h, client, &op, &r);
	model_op_init(&op, MODEL_OP_SEARCH);
	op.uid = true;
	r = ok();
	model_untagged *u = model_result_add(&r, MODEL_UT_SEARCH);
	if (n > 0)
		cm_uidset_add_range(&u->set, 1, n);
	do_op(h, client, &op, &r);
	if (ids == NULL || n == 0)
		return;
	op = fetch_all_op();
	op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_ID;
	r = ok();
	for (uint32_t i = 1; i <= n; i++)
		ut_fetch(&r, i, i, 0, 0, ids[i - 1]);
	do_op(h, client, &op, &r);
}

/* The six events: APPEND OK [APPENDUID 77 1], then a fresh
 * EXAMINE with EXISTS 0, UIDNEXT 2 and an empty SEARCH. */
static void t_add_no_loss_uidplus(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	append_ok(&h, 1, "INBOX", "a1", 1, 0);
	connect(&h, 2);
	fresh_read(&h, 2, "INBOX", 0, 2, NULL);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 1);
	CHECK_EQ(errors(&h), 1);
	/* Reported once, not at every later read. */
	fresh_read(&h, 2, "INBOX", 0, 2, NULL);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 1);
	hb_free(&h);
	/* The honest server shows it. */
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	append_ok(&h, 1, "INBOX", "a1", 1, 0);
	connect(&h, 2);
	const char *ids[] = {"a1"};
	fresh_read(&h, 2, "INBOX", 1, 2, ids);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* Without UIDPLUS the message is looked for by its identity, once the
 * view's identities are known. */
static void t_add_no_loss_by_id(void)
{
	const char *other[] = {"m1", "zz"}, *mine[] = {"m1", "a1"};
	for (int honest = 0; honest <= 1; honest++) {
		hb h;
		hb_init(&h, 0);
		connect(&h, 1);
		fresh_read(&h, 1, "INBOX", 1, 2, other);
		append_ok(&h, 1, "INBOX", "a1", 0, 0);
		connect(&h, 2);
		fresh_read(&h, 2, "INBOX", 2, 3, honest ? mine : other);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), honest ? 0 : 1);
		if (honest && total(&h))
			dump(&h);
		hb_free(&h);
	}
}

/* An expunge that could have removed the message explains its absence:
 * one in flight, or a plain EXPUNGE when \Deleted could be set (here by
 * the APPEND itself); a plain EXPUNGE of a message nothing could mark
 * \Deleted does not. */
static void t_add_no_loss_expunged(void)
{
	for (int deleted = 0; deleted <= 1; deleted++) {
		hb h;
		hb_init(&h, MODEL_CAP_UIDPLUS);
		connect(&h, 1);
		fresh_read(&h, 1, "INBOX", 0, 1, NULL);
		append_ok(&h, 1, "INBOX", "a1", 1, deleted ? CM_FLAG_DELETED : 0);
		model_op op;
		model_op_init(&op, MODEL_OP_EXPUNGE);
		hb_invoke(&h, 1, &op); /* its reply never comes */
		model_op_free(&op);
		connect(&h, 2);
		fresh_read(&h, 2, "INBOX", 0, 2, NULL);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), deleted ? 0 : 1);
		hb_free(&h);
	}
	/* UID EXPUNGE naming it, in flight: excused. */
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	fresh_read(&h, 1, "INBOX", 0, 1, NULL);
	append_ok(&h, 1, "INBOX", "a1", 1, 0);
	model_op op;
	model_op_init(&op, MODEL_OP_EXPUNGE);
	op.uid = true;
	cm_uidset_add(&op.set, 1);
	hb_invoke(&h, 1, &op);
	model_op_free(&op);
	connect(&h, 2);
	fresh_read(&h, 2, "INBOX", 0, 2, NULL);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 0);
	hb_free(&h);
}

/* An add still in flight, or acknowledged after the read began, need not
 * be there yet (C2). */
static void t_add_no_loss_window(void)
{
	hb h;
	hb_init(&h, MODEL_CAP_UIDPLUS);
	connect(&h, 1);
	connect(&h, 2);
	fresh_read(&h, 1, "INBOX", 0, 1, NULL);
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "a1");
	uint64_t id = hb_invoke(&h, 1, &op);
	fresh_read(&h, 2, "INBOX", 0, 1, NULL);
	model_result r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set, 1);
	hb_done(&h, 1, id, &r);
	model_op_free(&op);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* COPY and MOVE into a destination: the copies must be there; a MOVE's
 * message is the one it took out of its source. */
static void t_add_no_loss_copy_move(void)
{
	for (int round = 0; round < 4; round++) {
		int move = round / 2, honest = round % 2;
		hb h;
		hb_init(&h, MODEL_CAP_UIDPLUS | MODEL_CAP_MOVE);
		connect(&h, 2);
		fresh_read(&h, 2, "Archive", 0, 1, NULL);
		connect(&h, 1);
		select_box(&h, 1, 2, 3, 5);
		fetch_all(&h, 1, 2, NULL, NULL);
		model_op op;
		model_op_init(&op, move ? MODEL_OP_MOVE : MODEL_OP_COPY);
		op.uid = true;
		cm_uidset_add(&op.set, 1);
		snprintf(op.mailbox, sizeof(op.mailbox), "Archive");
		model_result r = ok();
		model_code *cu = move ? &model_result_add(&r, MODEL_UT_CODE)->code : &r.code;
		cu->kind = MODEL_CODE_COPYUID;
		cu->uidvalidity = UV;
		cm_uidset_add(&cu->set, 1);
		cm_uidset_add(&cu->dst, 1);
		if (move)
			ut_expunge(&r, 1);
		do_op(&h, 1, &op, &r);
		/* Odd rounds: the honest destination shows the copy. */
		const char *ids[] = {"m1"};
		fresh_read(&h, 2, "Archive", honest, 2, honest ? ids : NULL);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), honest ? 0 : 1);
		if (honest && total(&h))
			dump(&h);
		hb_free(&h);
	}
}

/* A delivery's reply names no UID: a session that knows a UID only from
 * SEARCH (no identity) may mark it \Deleted and EXPUNGE it, and that UID
 * may be the delivered message. Without them nothing removed it. */
static void t_add_no_loss_unidentified(void)
{
	for (int stored = 0; stored <= 1; stored++) {
		hb h;
		hb_init(&h, MODEL_CAP_UIDPLUS);
		connect(&h, 1);
		fresh_read(&h, 1, "INBOX", 0, 1, NULL);
		model_op op;
		model_op_init(&op, MODEL_OP_DELIVER);
		snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
		snprintf(op.msg_id, sizeof(op.msg_id), "d1");
		model_result r = ok(); /* LMTP 250: no UID */
		do_op(&h, 3, &op, &r);
		connect(&h, 2);
		select_box(&h, 2, 1, 2, 13);
		model_op_init(&op, MODEL_OP_SEARCH);
		op.uid = true;
		r = ok();
		cm_uidset_add(&model_result_add(&r, MODEL_UT_SEARCH)->set, 1);
		do_op(&h, 2, &op, &r);
		if (stored) {
			store_deleted(&h, 2, 1, 1, 20);
			expunge_seq(&h, 2, 1);
		}
		connect(&h, 4);
		fresh_read(&h, 4, "INBOX", 0, 2, NULL);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), stored ? 0 : 1);
		hb_free(&h);
	}
}

/* A delivery whose reply names no UID must take one above every UID a
 * session saw before it began: UID 5 was seen (an APPEND's, whose reply
 * named no UID either), so the delivered message may appear as UID 6, not
 * as UID 3. */
static void t_loose_add_uid_order(void)
{
	const uint32_t before[] = {5}, high[] = {5, 6}, low[] = {3, 5};
	const char *one[] = {"m5"}, *after_high[] = {"m5", "d1"}, *after_low[] = {"d1", "m5"};
	for (int is_low = 0; is_low <= 1; is_low++) {
		hb h;
		hb_init(&h, MODEL_CAP_UIDPLUS);
		connect(&h, 1);
		fresh_read(&h, 1, "INBOX", 0, 1, NULL);
		append_ok(&h, 1, "INBOX", "m5", 0, 0);
		read_box(&h, 1, 6, 1, before, one, NULL);
		model_op op;
		model_op_init(&op, MODEL_OP_DELIVER);
		snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
		snprintf(op.msg_id, sizeof(op.msg_id), "d1");
		model_result r = ok();
		do_op(&h, 3, &op, &r);
		connect(&h, 2);
		read_box(&h, 2, 7, 2, is_low ? low : high, is_low ? after_low : after_high, NULL);
		CHECK_EQ(count(&h, MODEL_INV_UID_ORDER_GLOBAL), is_low ? 1 : 0);
		CHECK_EQ(errors(&h), is_low ? 1 : 0);
		hb_free(&h);
	}
}

int main(void)
{
	RUN(t_copy_atomic);
	RUN(t_add_no_loss_uidplus);
	RUN(t_add_no_loss_by_id);
	RUN(t_add_no_loss_expunged);
	RUN(t_add_no_loss_window);
	RUN(t_add_no_loss_copy_move);
	RUN(t_add_no_loss_unidentified);
	RUN(t_loose_add_uid_order);
	TEST_EXIT();
}
