/* Real concurrency on a real directory: WORKERS processes doing OPS mixed
 * operations each on two shared mailboxes, while a separate rs-deliver
 * process delivers in a loop. Afterwards:
 *  - UIDs are unique, and ascend in commit (log) order;
 *  - modseqs ascend in log order and never went back for any worker;
 *  - no flag update is lost: each worker toggles its own keyword on shared
 *    messages; the final value is that worker's last store;
 *  - no message is lost or duplicated by MOVE/COPY/EXPUNGE: the store holds
 *    exactly the union of what every process says it should.
 * Usage: test_rs_concurrency RS-DELIVER [OPS] */
#include "rs_testutil.h"

#include <inttypes.h>
#include <sys/wait.h>

#define WORKERS 4
#define COMMON 16

typedef struct inst {
	int box;         /* 0 = A, 1 = B; -1 = gone */
	uint32_t uid;
	cm_flags flags;
	char id[32];
} inst;

typedef struct worker {
	int n;
	rs_mailbox *mb[2];
	inst *own;
	size_t nown, capown;
	bool kw[COMMON];      /* last value stored on each common message */
	uint64_t last_highestmodseq[2];
	cm_rng rng;
	int failures;
	cm_flags mykw;
} worker;

static const char *root;
static const char *box_path(int b)
{
	static char p[2][300];
	snprintf(p[b], 300, "%s/%s", root, b ? "B" : "A");
	return p[b];
}

#define WCHECK(w, cond)                                                      \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "worker %d: %s:%d: %s\n", (w)->n,      \
				__FILE__, __LINE__, #cond);                  \
			(w)->failures++;                                     \
		}                                                            \
	} while (0)

static inst *own_add(worker *w)
{
	CM_GROW(w->own, w->capown, w->nown + 1);
	inst *i = &w->own[w->nown++];
	memset(i, 0, sizeof(*i));
	return i;
}

static inst *own_pick(worker *w)
{
	for (int tries = 0; tries < 8 && w->nown > 0; tries++) {
		inst *i = &w->own[cm_rng_below(&w->rng, w->nown)];
		if (i->box >= 0)
			return i;
	}
	return NULL;
}

static void check_modseq(worker *w, int b)
{
	uint64_t h = rs_highestmodseq(w->mb[b]);
	WCHECK(w, h >= w->last_highestmodseq[b]); /* HIGHESTMODSEQ-MONO */
	w->last_highestmodseq[b] = h;
}

static void op_deliver(worker *w, int i)
{
	int b = (int)cm_rng_below(&w->rng, 2);
	inst *x = own_add(w);
	snprintf(x->id, sizeof(x->id), "w%d-%d", w->n, i);
	x->box = b;
	x->uid = deliver(w->mb[b], x->id, 0);
	check_modseq(w, b);
}

static void op_common_kw(worker *w)
{
	uint32_t k = (uint32_t)cm_rng_below(&w->rng, COMMON);
	bool on = cm_rng_below(&w->rng, 2);
	cm_uidset s = {0};
	cm_uidset_add(&s, k + 1);
	rs_store_result r = {0};
	rs_err err = rs_store(w->mb[0], &s, on ? RS_STORE_ADD : RS_STORE_REMOVE,
			      w->mykw, -1, &r);
	WCHECK(w, err == RS_OK);
	if (err == RS_OK)
		w->kw[k] = on;
	const rs_msg *m = rs_msg_find(w->mb[0], k + 1);
	WCHECK(w, m != NULL && ((m->flags & w->mykw) != 0) == on);
	check_modseq(w, 0);
	rs_store_result_free(&r);
	cm_uidset_free(&s);
}

static void op_own_store(worker *w)
{
	inst *x = own_pick(w);
	if (x == NULL)
		return;
	static const rs_store_mode modes[3] = {RS_STORE_ADD, RS_STORE_REMOVE,
					       RS_STORE_REPLACE};
	rs_store_mode mode = modes[cm_rng_below(&w->rng, 3)];
	cm_flags f = (cm_rng_below(&w->rng, 2) ? CM_FLAG_SEEN : 0) |
		     (cm_rng_below(&w->rng, 2) ? CM_FLAG_FLAGGED : 0) |
		     (cm_rng_below(&w->rng, 2) ? w->mykw : 0);
	cm_uidset s = {0};
	cm_uidset_add(&s, x->uid);
	rs_store_result r = {0};
	/* Nobody else touches our messages: a condition on the current
	 * modseq must always pass. */
	const rs_msg *m = rs_msg_find(w->mb[x->box], x->uid);
	WCHECK(w, m != NULL);
	int64_t since = m && cm_rng_below(&w->rng, 2) ? (int64_t)m->modseq : -1;
	rs_err err = rs_store(w->mb[x->box], &s, mode, f, since, &r);
	WCHECK(w, err == RS_OK && r.modified.n == 0);
	if (err == RS_OK)
		x->flags = mode == RS_STORE_ADD ? x->flags | f
			 : mode == RS_STORE_REMOVE ? x->flags & ~f : f;
	m = rs_msg_find(w->mb[x->box], x->uid);
	WCHECK(w, m != NULL && m->flags == x->flags);
	check_modseq(w, x->box);
	rs_store_result_free(&r);
	cm_uidset_free(&s);
}

static void op_copy_move(worker *w, bool move)
{
	inst *x = own_pick(w);
	if (x == NULL)
		return;
	int to = 1 - x->box;
	cm_uidset s = {0};
	cm_uidset_add(&s, x->uid);
	rs_copy_result r = {0};
	rs_err err = move ? rs_move(w->mb[x->box], w->mb[to], &s, &r)
			  : rs_copy(w->mb[x->box], w->mb[to], &s, &r);
	WCHECK(w, err == RS_OK && cm_uidset_count(&r.dst) == 1);
	if (err == RS_OK && r.dst.n == 1) {
		inst *y = own_add(w); /* may move x: re-find it */
		x = NULL;
		for (size_t i = 0; i + 1 < w->nown; i++)
			if (w->own[i].box == 1 - to && w->own[i].uid == r.src.r[0].lo &&
			    w->own[i].box >= 0)
				x = &w->own[i];
		REQUIRE(x != NULL);
		*y = *x;
		y->box = to;
		y->uid = r.dst.r[0].lo;
		if (move)
			x->box = -1;
		WCHECK(w, strcmp(msg_id(w->mb[to], y->uid), y->id) == 0);
	}
	check_modseq(w, to);
	rs_copy_result_free(&r);
	cm_uidset_free(&s);
}

static void op_expunge(worker *w)
{
	inst *x = own_pick(w);
	if (x == NULL)
		return;
	cm_uidset s = {0}, ex = {0};
	cm_uidset_add(&s, x->uid);
	rs_store_result r = {0};
	WCHECK(w, rs_store(w->mb[x->box], &s, RS_STORE_ADD, CM_FLAG_DELETED, -1, &r) == RS_OK);
	WCHECK(w, rs_expunge(w->mb[x->box], &s, &ex, NULL) == RS_OK);
	WCHECK(w, cm_uidset_count(&ex) == 1);
	x->box = -1;
	rs_store_result_free(&r);
	cm_uidset_free(&s);
	cm_uidset_free(&ex);
}

static void op_read(worker *w)
{
	int b = (int)cm_rng_below(&w->rng, 2);
	WCHECK(w, rs_sync(w->mb[b], cm_rng_below(&w->rng, 4) == 0) == RS_OK);
	check_modseq(w, b);
	/* Lock-free reads of our own messages always find their file. */
	inst *x = own_pick(w);
	if (x != NULL) {
		rs_sync(w->mb[x->box], false);
		WCHECK(w, strcmp(msg_id(w->mb[x->box], x->uid), x->id) == 0);
		rs_claim_recent(w->mb[x->box], x->uid);
	}
}

static int worker_main(int n, int ops)
{
	worker w = {.n = n};
	cm_rng_seed(&w.rng, 1000 + (uint64_t)n);
	char kw[16];
	snprintf(kw, sizeof(kw), "$p%d", n);
	w.mykw = flag(kw);
	for (int b = 0; b < 2; b++) {
		char *why;
		REQUIRE(rs_open(rs_posixfs_new(), box_path(b), NULL, &w.mb[b], &why) == RS_OK);
	}
	for (int i = 0; i < ops; i++) {
		uint64_t dice = cm_rng_below(&w.rng, 100);
		if (dice < 22) op_deliver(&w, i);
		else if (dice < 50) op_common_kw(&w);
		else if (dice < 65) op_own_store(&w);
		else if (dice < 75) op_copy_move(&w, true);
		else if (dice < 80) op_copy_move(&w, false);
		else if (dice < 88) op_expunge(&w);
		else op_read(&w);
	}
	/* Report what we expect: common keyword values and our instances. */
	char path[320];
	snprintf(path, sizeof(path), "%s/expect.%d", root, n);
	FILE *fp = fopen(path, "w");
	REQUIRE(fp != NULL);
	for (int k = 0; k < COMMON; k++)
		fprintf(fp, "K %d %d\n", k + 1, w.kw[k]);
	for (size_t i = 0; i < w.nown; i++) {
		const inst *x = &w.own[i];
		if (x->box >= 0) {
			/* Names, not bits: keyword bits are per process. */
			cm_buf fl = {0};
			cm_flags_format(&fl, x->flags);
			fprintf(fp, "M %d %" PRIu32 " %s (%s)\n", x->box, x->uid,
				x->id, fl.data);
			cm_buf_free(&fl);
		}
	}
	fclose(fp);
	fprintf(stderr, "worker %d: %d ops, %zu messages made, %llu lock waits, "
		"%d failures\n", n, ops, w.nown,
		(unsigned long long)(rs_get_stats(w.mb[0])->lock_waits +
				     rs_get_stats(w.mb[1])->lock_waits), w.failures);
	return w.failures ? 1 : 0;
}

/* ---- verification ---- */

typedef struct log_check {
	uint32_t last_uid;
	int bad;
} log_check;

static int log_cb(void *ctx, const rs_log_record *rec)
{
	log_check *c = ctx;
	if (rec->type != 'A')
		return 0;
	uint32_t uid = (uint32_t)strtoul(rec->body, NULL, 10);
	if (uid <= c->last_uid)
		c->bad++; /* UID-ORDER-GLOBAL in commit order */
	c->last_uid = uid;
	return 0;
}

static void verify_log(int b)
{
	cm_buf data = {0};
	char path[320];
	snprintf(path, sizeof(path), "%s/ratchet-log", box_path(b));
	FILE *fp = fopen(path, "r");
	REQUIRE(fp != NULL);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		cm_buf_append(&data, chunk, n);
	fclose(fp);
	uint32_t indexid, seq, uv;
	uint64_t valid, durable;
	const char *why;
	log_check c = {0};
	CHECK_EQ(rs_log_scan(data.data, data.len, &indexid, &seq, &uv, log_cb, &c,
			     &valid, &durable, &why), RS_OK);
	CHECK_EQ(valid, data.len);
	CHECK_EQ(c.bad, 0);
	cm_buf_free(&data);
}

/* rs-deliver in a process of its own, delivering 1500 messages to B and
 * writing "<uid> <id>" per delivery to out_path. */
static pid_t start_deliverer(const char *rs_deliver, const char *out_path)
{
	pid_t lda = fork();
	REQUIRE(lda >= 0);
	if (lda == 0) {
		FILE *in = freopen("/dev/null", "r", stdin);
		FILE *out = freopen(out_path, "w", stdout);
		(void)in;
		(void)out;
		execl(rs_deliver, rs_deliver, "--repeat", "1500", box_path(1), (char *)NULL);
		_exit(127);
	}
	return lda;
}

/* Worker n's report: each keyword it last set or cleared on A is so (no
 * lost update), each message it left is there with its flags and id;
 * expected[] counts the messages per mailbox. */
static void check_report(int n, rs_mailbox *const mb[2], size_t expected[2])
{
	rs_mailbox *a = mb[0];
	char path[320], line[256];
	snprintf(path, sizeof(path), "%s/expect.%d", root, n);
	FILE *fp = fopen(path, "r");
	REQUIRE(fp != NULL);
	char kw[16];
	snprintf(kw, sizeof(kw), "$p%d", n);
	cm_flags mykw = flag(kw);
	while (fgets(line, sizeof(line), fp) != NULL) {
		int bx, on;
		uint32_t uid;
		char id[64];
		char *paren = strchr(line, '(');
		cm_flags fl = 0;
		if (sscanf(line, "K %" SCNu32 " %d", &uid, &on) == 2) {
			const rs_msg *m = rs_msg_find(a, uid);
			REQUIRE(m != NULL);
			CHECK(((m->flags & mykw) != 0) == (on != 0)); /* no lost update */
		} else if (sscanf(line, "M %d %" SCNu32 " %63s", &bx, &uid, id) == 3 &&
			   paren != NULL &&
			   cm_flags_parse(paren, strcspn(paren, "\n"), &fl, NULL) == 0) {
			const rs_msg *m = rs_msg_find(mb[bx], uid);
			CHECK(m != NULL);
			if (m != NULL) {
				CHECK_EQ(m->flags, fl);
				CHECK_STR(msg_id(mb[bx], uid), id);
			}
			expected[bx]++;
		}
	}
	fclose(fp);
}

/* rs-deliver's report: every message it delivered is in B under its UID.
 * Returns how many it reported. */
static int check_deliveries(const char *out_path, rs_mailbox *b, size_t expected[2])
{
	FILE *fp = fopen(out_path, "r");
	REQUIRE(fp != NULL);
	char line[128];
	int delivered = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		uint32_t uid;
		char id[64];
		REQUIRE(sscanf(line, "%" SCNu32 " %63s", &uid, id) == 2);
		CHECK_STR(msg_id(b, uid), id);
		delivered++;
		expected[1]++;
	}
	fclose(fp);
	return delivered;
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2);
	int ops = argc >= 3 ? atoi(argv[2]) : 10000;
	fixture f;
	fixture_init(&f, false);
	root = f.root;
	rs_options big = {.log_rotate_bytes = 0xf0000000u}; /* keep the whole log */
	rs_mailbox *a = fixture_mailbox(&f, "A", &big);
	rs_mailbox *b = fixture_mailbox(&f, "B", &big);
	for (int k = 0; k < COMMON; k++)
		deliver(a, "common", 0);

	/* The separate delivering process. */
	char out_path[320];
	snprintf(out_path, sizeof(out_path), "%s/deliveries", f.root);
	pid_t lda = start_deliverer(argv[1], out_path);
	pid_t pids[WORKERS];
	for (int n = 0; n < WORKERS; n++) {
		pids[n] = fork();
		REQUIRE(pids[n] >= 0);
		if (pids[n] == 0)
			_exit(worker_main(n, ops));
	}
	int status;
	for (int n = 0; n < WORKERS; n++) {
		REQUIRE(waitpid(pids[n], &status, 0) == pids[n]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	REQUIRE(waitpid(lda, &status, 0) == lda);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Expected final state: every line of every report must match, and
	 * the store must hold nothing else. */
	REQUIRE(rs_sync(a, true) == RS_OK);
	REQUIRE(rs_sync(b, true) == RS_OK);
	rs_mailbox *mb[2] = {a, b};
	size_t expected[2] = {COMMON, 0};
	for (int n = 0; n < WORKERS; n++)
		check_report(n, mb, expected);
	CHECK_EQ(check_deliveries(out_path, b, expected), 1500);
	/* Nothing lost, nothing duplicated. */
	CHECK_EQ(rs_count(a), expected[0]);
	CHECK_EQ(rs_count(b), expected[1]);
	verify_log(0);
	verify_log(1);
	fprintf(stderr, "final: A %zu, B %zu messages\n", rs_count(a), rs_count(b));
	rs_close(a);
	rs_close(b);
	if (getenv("KEEP") == NULL)
		fixture_free(&f);
	else
		fprintf(stderr, "kept %s\n", f.root);
	TEST_EXIT();
}
