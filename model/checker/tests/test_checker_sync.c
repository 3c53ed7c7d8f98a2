/* The window of an opaque SYNC on one replica (sync_window.c): while it
 * runs it may add any message, remove any message and set any flags, and
 * nothing more; each test has its control, the same history without the
 * sync (or with it over too early), which must be reported. */
#include "checker_test.h"

static void append_uid(hb *h, uint32_t client, const char *id, uint32_t uid)
{
	model_op op;
	model_op_init(&op, MODEL_OP_APPEND);
	snprintf(op.mailbox, sizeof(op.mailbox), "INBOX");
	snprintf(op.msg_id, sizeof(op.msg_id), "%s", id);
	model_result r = ok();
	r.code.kind = MODEL_CODE_APPENDUID;
	r.code.uidvalidity = UV;
	cm_uidset_add(&r.code.set, uid);
	do_op(h, client, &op, &r);
}

static model_op sync_op(void)
{
	model_op op;
	model_op_init(&op, MODEL_OP_SYNC);
	op.replica = 1;
	op.peer = 2;
	op.opaque = true;
	return op;
}

#define SYNCER 9

static uint64_t sync_begin(hb *h)
{
	model_op op = sync_op();
	uint64_t id = hb_invoke(h, SYNCER, &op);
	model_op_free(&op);
	return id;
}

static void sync_end(hb *h, uint64_t id, model_reply st)
{
	model_result r = ok();
	r.status = st;
	hb_done(h, SYNCER, id, &r);
}

/* The start of every test: client 1 read INBOX with m1 (UID 1) and m2
 * (UID 2), UIDNEXT 3. */
static void start(hb *h)
{
	static const uint32_t uids[] = {1, 2};
	static const char *const ids[] = {"m1", "m2"};
	hb_init(h, MODEL_CAP_UIDPLUS);
	h->replica = 1; /* replica 1 of a pair; the root routes the sync here */
	connect(h, 1);
	connect(h, 2);
	read_box(h, 1, 3, 2, uids, ids, NULL);
}

/* (a) A message nobody appended appears while the sync runs (or after it
 * ended, below the UIDNEXT of the first read after it): explained. */
static void t_add(void)
{
	static const uint32_t uids[] = {1, 2, 3};
	static const char *const ids[] = {"m1", "m2", "b7"};
	for (int with_sync = 0; with_sync <= 1; with_sync++) {
		hb h;
		start(&h);
		uint64_t id = with_sync ? sync_begin(&h) : 0;
		read_box(&h, 2, 4, 3, uids, ids, NULL);
		if (with_sync)
			sync_end(&h, id, MODEL_REPLY_OK);
		read_box(&h, 2, 4, 3, uids, ids, NULL);
		CHECK_EQ(count(&h, MODEL_INV_APPEND_ATOMIC), with_sync ? 0 : 1);
		CHECK_EQ(total(&h), with_sync ? 0 : 1);
		if (with_sync && total(&h))
			dump(&h);
		hb_free(&h);
	}
}

/* (a) A copy of a message a client appended, renumbered by the sync (what
 * dsync does when both sides assigned the UID): explained too. */
static void t_add_renumbered(void)
{
	static const uint32_t uids[] = {1, 2, 4};
	static const char *const ids[] = {"m1", "m2", "a3"};
	hb h;
	start(&h);
	append_uid(&h, 1, "a3", 3);
	uint64_t id = sync_begin(&h);
	sync_end(&h, id, MODEL_REPLY_OK);
	read_box(&h, 2, 5, 3, uids, ids, NULL);
	CHECK_EQ(total(&h), 0);
	if (total(&h))
		dump(&h);
	hb_free(&h);
}

/* (a) The UID rules stay: below what was assigned before the sync began
 * is UID-ORDER-GLOBAL; at or above the UIDNEXT of a read after the sync
 * ended, no sync explains it. */
static void t_add_uid_rules(void)
{
	static const uint32_t low[] = {1, 2, 3, 4};
	static const char *const low_ids[] = {"m1", "m2", "b3", "a4"};
	hb h;
	start(&h);
	append_uid(&h, 1, "a4", 4);
	uint64_t id = sync_begin(&h);
	sync_end(&h, id, MODEL_REPLY_OK);
	read_box(&h, 2, 5, 4, low, low_ids, NULL);
	CHECK_EQ(count(&h, MODEL_INV_UID_ORDER_GLOBAL), 1);
	CHECK_EQ(total(&h), 1);
	hb_free(&h);

	static const uint32_t after[] = {1, 2, 3};
	static const char *const after_ids[] = {"m1", "m2", "late"};
	start(&h);
	id = sync_begin(&h);
	sync_end(&h, id, MODEL_REPLY_OK);
	read_box(&h, 2, 3, 2, after, after_ids, NULL); /* UIDNEXT 3: it added nothing */
	read_box(&h, 2, 4, 3, after, after_ids, NULL);
	CHECK_EQ(count(&h, MODEL_INV_APPEND_ATOMIC), 1);
	hb_free(&h);
}

/* (b) An acknowledged APPEND gone after a sync: explained; gone with no
 * sync, ADD-NO-LOSS. */
static void t_remove(void)
{
	static const uint32_t uids[] = {1, 2};
	static const char *const ids[] = {"m1", "m2"};
	for (int with_sync = 0; with_sync <= 1; with_sync++) {
		hb h;
		start(&h);
		append_uid(&h, 1, "a3", 3);
		if (with_sync)
			sync_end(&h, sync_begin(&h), MODEL_REPLY_NO); /* a failed run counts */
		read_box(&h, 2, 4, 2, uids, ids, NULL);
		CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), with_sync ? 0 : 1);
		CHECK_EQ(total(&h), with_sync ? 0 : 1);
		hb_free(&h);
	}
}

/* (b) Only while it runs: a message a selection begun after the sync
 * ended showed existing, gone later with nothing else to remove it, is
 * still blamed; and a UID gone stays gone (UID-NO-REUSE). */
static void t_remove_window(void)
{
	static const uint32_t three[] = {1, 2, 3}, two[] = {1, 2};
	static const char *const ids3[] = {"m1", "m2", "a3"}, *const ids2[] = {"m1", "m2"};
	hb h;
	start(&h);
	append_uid(&h, 1, "a3", 3);
	sync_end(&h, sync_begin(&h), MODEL_REPLY_OK);
	read_box(&h, 2, 4, 3, three, ids3, NULL);
	read_box(&h, 2, 4, 2, two, ids2, NULL);
	CHECK_EQ(total(&h), 1);
	CHECK_EQ(count(&h, MODEL_INV_ADD_NO_LOSS), 1);
	hb_free(&h);

	start(&h);
	append_uid(&h, 1, "a3", 3);
	read_box(&h, 1, 4, 3, three, ids3, NULL);
	uint64_t id = sync_begin(&h);
	model_op noop;
	model_op_init(&noop, MODEL_OP_NOOP);
	model_result r = ok();
	ut_expunge(&r, 3); /* the sync removed it, and client 1 is told */
	do_op(&h, 1, &noop, &r);
	sync_end(&h, id, MODEL_REPLY_OK);
	read_box(&h, 2, 4, 3, three, ids3, NULL); /* yet it is back */
	CHECK_EQ(count(&h, MODEL_INV_UID_NO_REUSE), 1);
	CHECK_EQ(total(&h), 1);
	hb_free(&h);
}

/* (c) A flag a STORE set, seen clear: explained by a sync that had not
 * ended when the STORE began; not by one over before it. */
static void t_flags(void)
{
	static const uint32_t uids[] = {1, 2};
	static const char *const ids[] = {"m1", "m2"};
	static const cm_flags clear[] = {0, 0};
	for (int late = 0; late <= 1; late++) {
		hb h;
		start(&h);
		uint64_t id = sync_begin(&h);
		if (!late)
			sync_end(&h, id, MODEL_REPLY_OK);
		/* Selected afresh: UID 1 exists now, whatever the sync did. */
		read_box(&h, 1, 3, 2, uids, ids, clear);
		model_op st = store_op(1, MODEL_STORE_ADD, CM_FLAG_FLAGGED);
		model_result r = ok();
		ut_fetch(&r, 1, 1, CM_FLAG_FLAGGED, 0, NULL);
		do_op(&h, 1, &st, &r);
		if (late)
			sync_end(&h, id, MODEL_REPLY_OK);
		read_box(&h, 2, 3, 2, uids, ids, clear);
		CHECK_EQ(count(&h, MODEL_INV_FLAGS_MERGE), late ? 0 : 1);
		CHECK_EQ(total(&h), late ? 0 : 1);
		hb_free(&h);
	}
}

/* A sync whose outcome is unknown stays open forever (C2), also for a
 * mailbox first read after it. */
static void t_unknown_forever(void)
{
	static const uint32_t uids[] = {1, 2, 3};
	static const char *const ids[] = {"m1", "m2", "b7"};
	hb h;
	start(&h);
	sync_end(&h, sync_begin(&h), MODEL_REPLY_UNKNOWN);
	for (int i = 0; i < 3; i++)
		read_box(&h, 2, 4, 3, uids, ids, NULL);
	CHECK_EQ(total(&h), 0);
	hb_free(&h);
}

int main(void)
{
	RUN(t_add);
	RUN(t_add_renumbered);
	RUN(t_add_uid_rules);
	RUN(t_remove);
	RUN(t_remove_window);
	RUN(t_flags);
	RUN(t_unknown_forever);
	TEST_EXIT();
}
