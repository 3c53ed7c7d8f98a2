/* The session layer at random: many sessions, ops nested inside others'
 * file-system calls, each result checked for what any client could check
 * (FUZZ_SEEDS=n runs more seeds, FUZZ_TRACE=seed traces one); and the
 * same ops on the same state give the same results. */
#include "session_test.h"

#define FZ_SESSIONS 4

static const char *const fz_boxes[] = {"INBOX", "Work", "Tmp"};

typedef struct fuzz {
	rs_fs *fs;
	cm_rng rng;
	rt_session *s[FZ_SESSIONS];
	int cur, depth;
	uint64_t ops, nested, byes;
	uint64_t last_modseq;
	uint64_t st[MODEL_REPLY_UNKNOWN + 1];
	unsigned mutants;
} fuzz;

static void fz_new_session(fuzz *z, int i)
{
	rs_session_options o = {.pid = 100 + (uint32_t)i + 10 * (uint32_t)z->ops,
				.mutants = z->mutants, .lock_timeout_ns = 2000000};
	rs_session_free(z->s[i]);
	z->s[i] = rs_session_new(z->fs, ROOT, &o);
}

static uint32_t fz_below(fuzz *z, uint32_t n)
{
	return n ? (uint32_t)cm_rng_below(&z->rng, n) : 0;
}

static void fz_set(fuzz *z, rt_session *s, bool uid, cm_uidset *set)
{
	uint32_t n = (uint32_t)rs_session_exists(s);
	uint32_t top = uid ? rs_session_uid_at(s, n) + 2 : n;
	if (top == 0)
		top = 1;
	uint32_t a = 1 + fz_below(z, top), b = 1 + fz_below(z, top);
	cm_uidset_add_range(set, a, b);
	if (fz_below(z, 4) == 0)
		cm_uidset_add(set, 1 + fz_below(z, top));
}

static void fz_op(fuzz *z, rt_session *s, model_op *op)
{
	static const char *const flagsets[] = {"\\Seen", "\\Deleted", "\\Flagged $A",
					       "\\Seen \\Deleted", ""};
	static const model_op_kind kinds[] = {
		MODEL_OP_SELECT, MODEL_OP_NOOP, MODEL_OP_APPEND, MODEL_OP_STORE,
		MODEL_OP_STORE, MODEL_OP_FETCH, MODEL_OP_FETCH, MODEL_OP_SEARCH,
		MODEL_OP_EXPUNGE, MODEL_OP_COPY, MODEL_OP_MOVE, MODEL_OP_STATUS,
		MODEL_OP_ENABLE, MODEL_OP_CREATE, MODEL_OP_DELETE, MODEL_OP_APPEND,
		MODEL_OP_CONNECT};
	model_op_init(op, kinds[fz_below(z, CM_ARRAY_LEN(kinds))]);
	bool selected = rs_session_selected(s) != NULL;
	if (!selected && fz_below(z, 2) == 0)
		op->kind = MODEL_OP_SELECT;
	op->uid = fz_below(z, 2) == 0;
	snprintf(op->mailbox, sizeof(op->mailbox), "%s", fz_boxes[fz_below(z, 3)]);
	op->flags = fl(flagsets[fz_below(z, CM_ARRAY_LEN(flagsets))]);
	op->mode = (model_store_mode)fz_below(z, 3);
	op->silent = fz_below(z, 3) == 0;
	snprintf(op->msg_id, sizeof(op->msg_id), "f%" PRIu64, z->ops);
	switch (op->kind) {
	case MODEL_OP_SELECT:
		op->readonly = fz_below(z, 4) == 0;
		op->condstore = fz_below(z, 4) == 0;
		break;
	case MODEL_OP_STORE:
	case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
		fz_set(z, s, op->uid, &op->set);
		op->has_unchangedsince = op->kind == MODEL_OP_STORE && fz_below(z, 3) == 0;
		op->unchangedsince = fz_below(z, 3) == 0 ? 0 : UINT64_C(1) << 62;
		break;
	case MODEL_OP_FETCH:
		fz_set(z, s, op->uid, &op->set);
		op->items = MODEL_F_FLAGS | (fz_below(z, 2) ? MODEL_F_MODSEQ : 0) |
			    (fz_below(z, 3) ? 0 : MODEL_F_BODY | MODEL_F_ID);
		op->has_changedsince = fz_below(z, 3) == 0;
		op->changedsince = fz_below(z, 2) ? 0 : z->last_modseq - fz_below(z, 2);
		op->vanished = op->uid && op->has_changedsince && fz_below(z, 2) == 0;
		break;
	case MODEL_OP_EXPUNGE:
		if (op->uid)
			fz_set(z, s, true, &op->set);
		break;
	case MODEL_OP_STATUS:
		op->status_items = MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT | MODEL_STATUS_HIGHESTMODSEQ;
		break;
	case MODEL_OP_ENABLE:
		op->caps = fz_below(z, 2) ? MODEL_CAP_QRESYNC : MODEL_CAP_CONDSTORE;
		break;
	case MODEL_OP_CREATE:
	case MODEL_OP_DELETE:
		snprintf(op->mailbox, sizeof(op->mailbox), "Tmp");
		break;
	default: break;
	}
}

/* A live VANISHED: the UIDs it names leave map (n entries); as many of
 * those the test never saw leave from the end, and then which positions
 * went is not known (uncertain). unknown_gone carries over the reply. */
static void fz_vanished(const model_untagged *u, bool no_expunge, uint32_t *map,
			size_t *n, uint64_t *unknown_gone, bool *uncertain)
{
	CHECK(!no_expunge);
	CHECK(cm_uidset_count(&u->set) <= *n);
	*unknown_gone += cm_uidset_count(&u->set);
	for (size_t k = 0; k < *n; k++) {
		if (map[k] != 0 && cm_uidset_contains(&u->set, map[k])) {
			memmove(&map[k], &map[k + 1], (*n - k - 1) * sizeof(*map));
			(*n)--;
			k--;
			(*unknown_gone)--;
		}
	}
	/* UIDs the test never saw: which positions is unknown. */
	for (size_t k = *n; *unknown_gone > 0 && k-- > 0;) {
		if (map[k] == 0) {
			memmove(&map[k], &map[k + 1], (*n - k - 1) * sizeof(*map));
			(*n)--;
			(*unknown_gone)--;
			*uncertain = true;
		}
	}
	CHECK_EQ(*unknown_gone, 0);
}

/* Replays r's untagged responses on map (n entries of cap), the UIDs a
 * client knows by position (0: not known). True if the reply had a BYE. */
static bool fz_replay(const model_result *r, bool no_expunge, uint32_t *map, size_t cap,
		      size_t *n, bool *uncertain)
{
	bool bye = false;
	uint64_t unknown_gone = 0;
	for (size_t i = 0; i < r->nut; i++) {
		const model_untagged *u = &r->ut[i];
		switch (u->kind) {
		case MODEL_UT_EXISTS:
			CHECK(u->n >= *n);
			REQUIRE(u->n < cap);
			while (*n < u->n)
				map[(*n)++] = 0;
			break;
		case MODEL_UT_EXPUNGE:
			CHECK(!no_expunge);
			CHECK(u->n >= 1 && u->n <= *n);
			if (u->n >= 1 && u->n <= *n) {
				memmove(&map[u->n - 1], &map[u->n], (*n - u->n) * sizeof(*map));
				(*n)--;
			}
			break;
		case MODEL_UT_VANISHED:
			if (!u->earlier)
				fz_vanished(u, no_expunge, map, n, &unknown_gone, uncertain);
			break;
		case MODEL_UT_FETCH:
			CHECK(u->n >= 1 && u->n <= *n);
			if ((u->fetch.has & MODEL_F_UID) && u->n >= 1 && u->n <= *n) {
				if (map[u->n - 1] == 0)
					map[u->n - 1] = u->fetch.uid;
				CHECK_EQ(map[u->n - 1], u->fetch.uid);
			}
			if (u->fetch.has & MODEL_F_MODSEQ)
				CHECK(u->fetch.modseq > 0);
			break;
		case MODEL_UT_BYE: bye = true; break;
		default: break;
		}
	}
	return bye;
}

/* What any client can check of one result against its own session state. */
static void fz_check(rt_session *s, const model_op *op, const model_result *r,
		     const uint32_t *before, size_t nbefore)
{
	uint32_t map[4096];
	size_t n = nbefore;
	bool no_expunge = !op->uid && (op->kind == MODEL_OP_FETCH ||
				       op->kind == MODEL_OP_STORE ||
				       op->kind == MODEL_OP_SEARCH);
	REQUIRE(nbefore < CM_ARRAY_LEN(map));
	memcpy(map, before, nbefore * sizeof(*map));
	CHECK_STR(r->anomaly, "");
	if (r->anomaly[0] != '\0') {
		cm_buf d = {0};
		model_op_describe(&d, op);
		fprintf(stderr, "  %s -> %s\n", d.data, render(r));
		cm_buf_free(&d);
	}
	bool uncertain = false;
	bool bye = fz_replay(r, no_expunge, map, CM_ARRAY_LEN(map), &n, &uncertain);
	/* Without faults only a vanished mailbox loses a session (its own,
	 * or the one a COPY/MOVE/APPEND was writing into). */
	bool lost_ok = bye || strcmp(op->mailbox, "Tmp") == 0;
	CHECK(r->status != MODEL_REPLY_UNKNOWN || lost_ok);
	if (r->status == MODEL_REPLY_UNKNOWN && !lost_ok) {
		cm_buf d = {0};
		model_op_describe(&d, op);
		fprintf(stderr, "  %s -> %s: %s\n", d.data, render(r), r->text);
		cm_buf_free(&d);
	}
	if (r->status == MODEL_REPLY_UNKNOWN || rs_session_selected(s) == NULL)
		return;
	CHECK_EQ(n, rs_session_exists(s));
	if (n != rs_session_exists(s)) {
		cm_buf d = {0};
		model_op_describe(&d, op);
		fprintf(stderr, "  %s -> %s (before %zu)\n", d.data, render(r), nbefore);
		cm_buf_free(&d);
	}
	for (size_t k = 0; !uncertain && k < n && k < rs_session_exists(s); k++)
		if (map[k] != 0)
			CHECK_EQ(map[k], rs_session_uid_at(s, k + 1));
	for (size_t k = 1; k < n; k++) {
		CHECK(rs_session_uid_at(s, k) < rs_session_uid_at(s, k + 1));
		if (rs_session_uid_at(s, k) >= rs_session_uid_at(s, k + 1)) {
			cm_buf d = {0};
			model_op_describe(&d, op);
			fprintf(stderr, "  at %zu: %s -> %s\n  session state:", k, d.data, render(r));
			for (size_t q = 1; q <= n; q++)
				fprintf(stderr, " %u", rs_session_uid_at(s, q));
			fprintf(stderr, "\n");
			cm_buf_free(&d);
			break;
		}
	}
}

static void fz_run_one(fuzz *z, int i);

static bool fz_trace;

static int fz_hook(void *ctx, rs_fs_call call, const char *path)
{
	fuzz *z = ctx;
	if (fz_trace && strstr(path, "/mail/Tmp") != NULL)
		fprintf(stderr, "%*s[%d] %s %s\n", z->depth * 2, "", z->cur,
			rs_fs_call_name(call), path);
	if (z->depth == 1 && z->cur >= 0 && cm_rng_below(&z->rng, 100) < 3) {
		int j = (int)fz_below(z, FZ_SESSIONS);
		if (j != z->cur) {
			z->nested++;
			fz_run_one(z, j);
		}
	}
	return 0;
}

static void fz_run_one(fuzz *z, int i)
{
	rt_session *s = z->s[i];
	model_op op;
	model_result r;
	uint32_t before[4096];
	size_t nb = rs_session_exists(s);
	if (nb >= CM_ARRAY_LEN(before))
		return;
	for (size_t k = 0; k < nb; k++)
		before[k] = rs_session_uid_at(s, k + 1);
	model_result_init(&r);
	fz_op(z, s, &op);
	int saved = z->cur;
	z->cur = i;
	z->depth++;
	z->ops++;
	if (fz_trace) {
		cm_buf d = {0};
		model_op_describe(&d, &op);
		fprintf(stderr, "%*s[%d] op %s\n", z->depth * 2, "", i, d.data);
		cm_buf_free(&d);
	}
	rs_session_exec(s, &op, &r);
	if (fz_trace)
		fprintf(stderr, "%*s[%d] -> %s\n", z->depth * 2, "", i, render(&r));
	z->depth--;
	z->cur = -1; /* no nesting while we look and replace */
	if (z->mutants == 0 && op.kind != MODEL_OP_SELECT && op.kind != MODEL_OP_CONNECT)
		fz_check(s, &op, &r, before, nb);
	z->st[r.status]++;
	for (size_t k = 0; k < r.nut; k++)
		if (r.ut[k].kind == MODEL_UT_FETCH && (r.ut[k].fetch.has & MODEL_F_MODSEQ))
			z->last_modseq = r.ut[k].fetch.modseq;
	if (r.status == MODEL_REPLY_UNKNOWN) {
		z->byes++;
		fz_new_session(z, i);
	}
	z->cur = saved;
	model_op_free(&op);
	model_result_free(&r);
}

/* Quiet: every selected session, after a NOOP, shows the store's UIDs. */
static void fz_converge(fuzz *z)
{
	z->cur = -1;
	for (int i = 0; i < FZ_SESSIONS; i++) {
		rt_session *s = z->s[i];
		model_op op = mk(MODEL_OP_NOOP);
		model_result r;
		model_result_init(&r);
		rs_session_exec(s, &op, &r);
		const char *box = rs_session_selected(s);
		if (box != NULL && rs_namespace_exists(z->fs, ROOT, box)) {
			rs_mailbox *mb = peek(z->fs, box);
			CHECK_EQ(rs_session_exists(s), rs_count(mb));
			for (size_t k = 0; k < rs_count(mb) && k < rs_session_exists(s); k++)
				CHECK_EQ(rs_session_uid_at(s, k + 1), rs_msg_at(mb, k)->uid);
			rs_close(mb);
		}
		model_result_free(&r);
	}
}

static void fuzz_run(uint64_t seed, unsigned mutants, int nops)
{
	int failures = cm_test_failures;
	fuzz z = {.cur = -1, .mutants = mutants};
	z.fs = fx_new();
	REQUIRE(rs_namespace_create_mailbox(z.fs, ROOT, "Work") == RS_OK);
	cm_rng_seed(&z.rng, seed);
	for (int i = 0; i < FZ_SESSIONS; i++)
		fz_new_session(&z, i);
	rs_memfs_set_hook(z.fs, fz_hook, &z);
	for (int k = 0; k < nops; k++)
		fz_run_one(&z, (int)fz_below(&z, FZ_SESSIONS));
	if (mutants == 0)
		fz_converge(&z);
	rs_memfs_set_hook(z.fs, NULL, NULL);
	for (int i = 0; i < FZ_SESSIONS; i++)
		rs_session_free(z.s[i]);
	rs_fs_destroy(z.fs);
	CHECK(z.nested > 0);
	if (cm_test_failures != failures)
		fprintf(stderr, "  (seed %" PRIu64 ", mutants %u)\n", seed, mutants);
	if (getenv("FUZZ_STATS") != NULL)
		fprintf(stderr, "seed %" PRIu64 " mutants %u: ops %" PRIu64 " nested %" PRIu64
			" lost %" PRIu64 " ok %" PRIu64 " no %" PRIu64 " bad %" PRIu64 "\n",
			seed, mutants, z.ops, z.nested, z.byes, z.st[MODEL_REPLY_OK],
			z.st[MODEL_REPLY_NO], z.st[MODEL_REPLY_BAD]);
}

static void test_randomized(void)
{
	/* FUZZ_SEEDS=n runs more (a soak). */
	const char *more = getenv("FUZZ_SEEDS");
	uint64_t seeds = more != NULL ? strtoull(more, NULL, 10) : 40;
	const char *one = getenv("FUZZ_TRACE");
	if (one != NULL) {
		fz_trace = true;
		fuzz_run(strtoull(one, NULL, 10), 0, 300);
		fz_trace = false;
		return;
	}
	for (uint64_t seed = 1; seed <= seeds; seed++)
		fuzz_run(seed, 0, 300);
	/* A broken store must not break the session layer (no checks). */
	const char *const *names = rs_mutant_names();
	for (size_t m = 0; names[m] != NULL; m++)
		for (uint64_t seed = 1; seed <= 4; seed++)
			fuzz_run(seed, rs_mutant_parse(names[m]), 200);
}

/* The same ops on the same state give the same results. */
static void script(rs_fs *fs, cm_buf *log)
{
	rt_session *a = sess(fs, 10), *b = sess(fs, 11);
	do_enable(a, MODEL_CAP_QRESYNC);
	do_select(a, "INBOX", false);
	do_select(b, "INBOX", false);
	cm_buf_printf(log, "%s\n", do_store(b, false, "1:3", MODEL_STORE_ADD, "\\Seen", false, -1));
	cm_buf_printf(log, "%s\n", do_simple(a, MODEL_OP_NOOP));
	do_store(a, false, "2", MODEL_STORE_ADD, "\\Deleted", true, -1);
	cm_buf_printf(log, "%s\n", do_expunge(a, NULL));
	cm_buf_printf(log, "%s %" PRIu64 "\n", do_simple(b, MODEL_OP_NOOP), R.code.value);
	cm_buf_printf(log, "%s\n", do_fetch(a, true, "1:4294967295", MODEL_F_MODSEQ | MODEL_F_BODY, 0, false));
	for (size_t i = 0; i < R.nut; i++)
		cm_buf_printf(log, "%" PRIu64 " %" PRIu64 "\n", R.ut[i].fetch.modseq,
			      R.ut[i].fetch.body_hash);
	rs_session_free(a);
	rs_session_free(b);
}

static void test_determinism(void)
{
	cm_buf one = {0}, two = {0};
	for (int i = 0; i < 2; i++) {
		rs_fs *fs = fx_new();
		fill(fs, "INBOX", 4);
		script(fs, i == 0 ? &one : &two);
		rs_fs_destroy(fs);
	}
	CHECK(one.len > 0);
	CHECK_STR(one.data, two.data);
	cm_buf_free(&one);
	cm_buf_free(&two);
}

int main(void)
{
	RUN(test_determinism);
	RUN(test_randomized);
	model_result_free(&R);
	cm_buf_free(&out);
	TEST_EXIT();
}
