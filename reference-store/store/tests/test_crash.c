/* Crash at every file-system call of a scripted workload on the in-memory
 * FS (plain and with torn writes), recover, and check:
 *  STORE-DURABLE: every op that returned OK is there, the interrupted op is
 *    all there or not at all (never half done);
 *  MODSEQ-REBUILD-MONO: no modseq anybody could have read goes backwards,
 *    and the next change after recovery is above all of them. */
#include "rs_testutil.h"

#define ACTOR_PID 100u
#define READER_PID 200u

typedef struct run {
	fixture f;
	rs_mailbox *a, *b, *reader;
	uint64_t calls, crash_at, tear;
	bool crashed, dead;
	uint64_t max_seen[2];   /* highest modseq any reader saw, per mailbox */
} run;

static int crash_hook(void *ctx, rs_fs_call call, const char *path)
{
	run *r = ctx;
	(void)call;
	(void)path;
	if (r->dead)
		return -EIO;
	if (++r->calls == r->crash_at) {
		rs_memfs_crash(r->f.fs, r->tear);
		r->crashed = r->dead = true;
		return -EIO;
	}
	return 0;
}

static int pids_alive(void *ctx, uint32_t pid)
{
	run *r = ctx;
	return r->crashed && pid < 1000 ? 0 : 1;
}

/* ---- the workload ---- */

static rs_err op_deliver(run *r, int i)
{
	char msg[128], id[32];
	snprintf(id, sizeof(id), "w%d", i);
	int n = snprintf(msg, sizeof(msg), "X-Ratchet-Id: %s\r\n\r\nbody %d\r\n", id, i);
	return rs_append(i % 3 ? r->a : r->b, msg, (size_t)n, 0, NULL, NULL);
}

static rs_err op_store(run *r, const char *set, rs_store_mode mode, cm_flags f,
		       bool cond)
{
	cm_uidset s = set_of(set);
	rs_store_result res = {0};
	int64_t since = cond ? (int64_t)rs_highestmodseq(r->a) : -1;
	rs_err err = rs_store(r->a, &s, mode, f, since, &res);
	rs_store_result_free(&res);
	cm_uidset_free(&s);
	return err;
}

static rs_err op_expunge(run *r)
{
	return rs_expunge(r->a, NULL, NULL, NULL);
}

static rs_err op_copy(run *r, const char *set, bool move, bool a_to_b)
{
	cm_uidset s = set_of(set);
	rs_copy_result res = {0};
	rs_mailbox *src = a_to_b ? r->a : r->b, *dst = a_to_b ? r->b : r->a;
	rs_err err = move ? rs_move(src, dst, &s, &res) : rs_copy(src, dst, &s, &res);
	rs_copy_result_free(&res);
	cm_uidset_free(&s);
	return err;
}

static rs_err op_claim(run *r)
{
	rs_err err = rs_sync(r->a, true);
	for (size_t i = 0; err == RS_OK && i < rs_count(r->a); i++)
		rs_claim_recent(r->a, rs_msg_at(r->a, i)->uid);
	return err;
}

static rs_err workload_step(run *r, int step)
{
	cm_flags junk = flag("$Junk");
	switch (step) {
	case 0: case 1: case 2: case 3: case 4: case 5: return op_deliver(r, step);
	case 6: return op_store(r, "1:3", RS_STORE_ADD, CM_FLAG_SEEN | junk, false);
	case 7: return op_store(r, "2", RS_STORE_ADD, CM_FLAG_DELETED, false);
	case 8: return op_copy(r, "1,3", false, true);
	case 9: return op_expunge(r);
	case 10: return op_store(r, "1:100", RS_STORE_REMOVE, junk, true);
	case 11: return op_copy(r, "1:2", true, false);
	case 12: return op_claim(r);
	case 13: return op_deliver(r, 13);
	case 14: return op_store(r, "1:4", RS_STORE_REPLACE, CM_FLAG_FLAGGED, false);
	case 15: return op_copy(r, "1:10", true, true);
	case 16: return op_deliver(r, 16);
	case 17: return op_store(r, "1:20", RS_STORE_ADD, CM_FLAG_DELETED, false);
	case 18: return op_expunge(r);
	case 19: return op_deliver(r, 19);
	default: return RS_EINVAL;
	}
}
#define STEPS 20

/* ---- state snapshots ---- */

static void snap_box(rs_mailbox *mb, cm_buf *out)
{
	REQUIRE(rs_sync(mb, false) == RS_OK);
	cm_buf_printf(out, "[%u]", rs_uidvalidity(mb));
	for (size_t i = 0; i < rs_count(mb); i++) {
		const rs_msg *m = rs_msg_at(mb, i);
		cm_buf_printf(out, " %u:%s:", m->uid, msg_id(mb, m->uid));
		cm_flags_format(out, m->flags);
	}
	cm_buf_putc(out, '\n');
}

static void snapshot(rs_mailbox *a, rs_mailbox *b, cm_buf *out)
{
	cm_buf_clear(out);
	snap_box(a, out);
	snap_box(b, out);
}

static void observe(run *r)
{
	/* A lock-free reader after every step sees every terminated record. */
	for (int i = 0; i < 2; i++) {
		const char *box = i ? "B" : "A";
		rs_mailbox *mb;
		char *why;
		if (rs_open(r->f.fs, fixture_path(&r->f, box),
			    &(rs_options){.pid = READER_PID}, &mb, &why) != RS_OK) {
			free(why);
			continue;
		}
		r->max_seen[i] = CM_MAX(r->max_seen[i], rs_highestmodseq(mb));
		rs_close(mb);
	}
}

static void snapshot(rs_mailbox *a, rs_mailbox *b, cm_buf *out);

static void run_init(run *r, uint64_t crash_at, uint64_t tear, cm_buf *snap0)
{
	memset(r, 0, sizeof(*r));
	fixture_init(&r->f, true);
	REQUIRE(rs_create(r->f.fs, fixture_path(&r->f, "A"), 0) == RS_OK);
	REQUIRE(rs_create(r->f.fs, fixture_path(&r->f, "B"), 0) == RS_OK);
	rs_options o = {.pid = ACTOR_PID, .log_rotate_bytes = 900};
	r->a = fixture_open(&r->f, "A", &o);
	o.pid = ACTOR_PID + 1;
	r->b = fixture_open(&r->f, "B", &o);
	rs_memfs_set_pid_alive(r->f.fs, pids_alive, r);
	r->crash_at = crash_at;
	r->tear = tear;
	cm_buf one = {0};
	snapshot(r->a, r->b, &one);
	if (snap0 != NULL)
		cm_buf_append(snap0, one.data, one.len);
	cm_buf_free(&one);
	rs_memfs_set_hook(r->f.fs, crash_hook, r);
}

/* Runs until the first failing step; returns how many returned OK. */
static int run_workload(run *r, cm_buf *snaps)
{
	int ok = 0;
	for (int s = 0; s < STEPS; s++) {
		rs_err err = workload_step(r, s);
		if (err != RS_OK)
			break;
		ok++;
		if (!r->dead) {
			rs_memfs_set_hook(r->f.fs, NULL, NULL);
			observe(r);
			/* Always, so that crash runs repeat the reference's
			 * calls exactly. */
			cm_buf one = {0};
			snapshot(r->a, r->b, &one);
			if (snaps != NULL)
				cm_buf_append(&snaps[s + 1], one.data, one.len);
			cm_buf_free(&one);
			rs_memfs_set_hook(r->f.fs, crash_hook, r);
		}
	}
	return ok;
}

static void run_free(run *r)
{
	rs_memfs_set_hook(r->f.fs, NULL, NULL);
	rs_close(r->a);
	rs_close(r->b);
	fixture_free(&r->f);
}

int main(void)
{
	cm_buf ref[STEPS + 1] = {{0}};
	run r;
	/* Reference: no crash; remember the state after every step. */
	run_init(&r, UINT64_MAX, 0, &ref[0]);
	REQUIRE(run_workload(&r, ref) == STEPS);
	uint64_t total = r.calls;
	fprintf(stderr, "workload: %d steps, %llu file-system calls\n", STEPS,
		(unsigned long long)total);
	REQUIRE(total > 200);
	run_free(&r);

	int checked = 0, torn_runs = 0;
	for (uint64_t k = 1; k <= total; k++) {
		for (int tear = 0; tear < 2; tear++) {
			run_init(&r, k, tear ? k * 7919 : 0, NULL);
			int ok = run_workload(&r, NULL);
			REQUIRE(r.crashed);
			uint64_t seen_a = r.max_seen[0], seen_b = r.max_seen[1];
			rs_memfs_set_hook(r.f.fs, NULL, NULL);
			rs_close(r.a);
			rs_close(r.b);
			/* Restart: new processes, the old ones are dead. */
			rs_mailbox *a = fixture_open(&r.f, "A", &(rs_options){.pid = 5000});
			rs_mailbox *b = fixture_open(&r.f, "B", &(rs_options){.pid = 5001});
			cm_buf now = {0};
			snapshot(a, b, &now);
			bool before = strcmp(now.data, ref[ok].data) == 0;
			bool after = ok < STEPS && strcmp(now.data, ref[ok + 1].data) == 0;
			if (!before && !after) {
				fprintf(stderr, "crash at call %llu (tear %d) during step %d:\n"
					"got:\n%sexpected:\n%sor:\n%s",
					(unsigned long long)k, tear, ok, now.data,
					ref[ok].data, ok < STEPS ? ref[ok + 1].data : "-\n");
				CHECK(before || after);
			}
			/* MODSEQ-REBUILD-MONO */
			CHECK(rs_highestmodseq(a) >= seen_a);
			CHECK(rs_highestmodseq(b) >= seen_b);
			char msg[] = "X-Ratchet-Id: post\r\n\r\n";
			uint64_t ms;
			REQUIRE(rs_append(a, msg, sizeof(msg) - 1, 0, NULL, &ms) == RS_OK);
			CHECK(ms > seen_a);
			REQUIRE(rs_append(b, msg, sizeof(msg) - 1, 0, NULL, &ms) == RS_OK);
			CHECK(ms > seen_b);
			checked++;
			torn_runs += tear;
			cm_buf_free(&now);
			rs_close(a);
			rs_close(b);
			r.a = r.b = NULL;
			fixture_free(&r.f);
			if (cm_test_failures > 5)
				break;
		}
	}
	fprintf(stderr, "%d crash points checked (%d with torn writes)\n", checked,
		torn_runs);
	for (int i = 0; i <= STEPS; i++)
		cm_buf_free(&ref[i]);
	TEST_EXIT();
}
