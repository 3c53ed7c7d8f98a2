/* The sync agent on two in-memory replicas: the design's flag example,
 * UID stepping, the fix-up, expunges, conflicts, no echo, and the naive
 * designs its mutants are giving the wrong answers. */
#include "cm_test.h"
#include "rs_repl.h"
#include "rs_session.h"

typedef struct pair {
	rs_fs *fs[3];
	rs_repl *agent;
	rs_mailbox *mb[3];           /* a client's handle on INBOX, per replica */
	unsigned mutants;
	rs_repl_stats st;
} pair;

static void pair_open(pair *p, unsigned mutants)
{
	memset(p, 0, sizeof(*p));
	p->mutants = mutants;
	rs_repl_options o = {.replicas = 2, .mutants = mutants, .pid = {0, 900, 901}};
	for (uint32_t r = 1; r <= 2; r++) {
		p->fs[r] = rs_memfs_new();
		CHECK_EQ(rs_namespace_init(p->fs[r], "/mail"), RS_OK);
		CHECK_EQ(rs_namespace_create_mailbox(p->fs[r], "/mail", "INBOX"), RS_OK);
		o.fs[r] = p->fs[r];
		o.root[r] = "/mail";
		rs_options so = {.pid = 100 + r};
		rs_repl_store_options(2, r, mutants, &so);
		char *path = rs_namespace_mailbox_path("/mail", "INBOX");
		CHECK_EQ(rs_open(p->fs[r], path, &so, &p->mb[r], NULL), RS_OK);
		free(path);
	}
	p->agent = rs_repl_new(&o);
}

static void pair_close(pair *p)
{
	rs_repl_free(p->agent);
	for (int r = 1; r <= 2; r++) {
		rs_close(p->mb[r]);
		rs_fs_destroy(p->fs[r]);
	}
}

static void sync_ok(pair *p)
{
	const char *why = NULL;
	CHECK_EQ(rs_repl_sync(p->agent, "INBOX", 1, 2, &p->st, &why), RS_OK);
	for (int r = 1; r <= 2; r++)
		CHECK_EQ(rs_sync(p->mb[r], false), RS_OK);
}

static uint32_t append(pair *p, int r, const char *text, cm_flags flags)
{
	uint32_t uid = 0;
	CHECK_EQ(rs_append(p->mb[r], text, strlen(text), flags, &uid, NULL), RS_OK);
	return uid;
}

static void store(pair *p, int r, uint32_t uid, rs_store_mode mode, cm_flags f)
{
	cm_uidset one = {0};
	cm_uidset_add(&one, uid);
	rs_store_result res = {0};
	CHECK_EQ(rs_sync(p->mb[r], false), RS_OK);
	CHECK_EQ(rs_store(p->mb[r], &one, mode, f, -1, &res), RS_OK);
	rs_store_result_free(&res);
	cm_uidset_free(&one);
}

static cm_flags flags_of(pair *p, int r, uint32_t uid)
{
	const rs_msg *m = rs_msg_find(p->mb[r], uid);
	CHECK(m != NULL);
	return m ? m->flags : 0;
}

/* Both replicas hold the same UIDs, names and flags. */
static void check_converged(pair *p)
{
	CHECK_EQ(rs_count(p->mb[1]), rs_count(p->mb[2]));
	for (size_t i = 0; i < rs_count(p->mb[1]) && i < rs_count(p->mb[2]); i++) {
		const rs_msg *a = rs_msg_at(p->mb[1], i), *b = rs_msg_at(p->mb[2], i);
		CHECK_EQ(a->uid, b->uid);
		CHECK_STR(a->name, b->name);
		CHECK_EQ(a->flags, b->flags);
	}
}

/* The design's example (docs/design.md#flags): (\Flagged); S1 +\Answered;
 * S2 +\Seen, -\Flagged: (\Answered \Seen) on both. */
static cm_flags design_example(unsigned mutants)
{
	pair p;
	pair_open(&p, mutants);
	uint32_t uid = append(&p, 1, "m", CM_FLAG_FLAGGED);
	sync_ok(&p);
	store(&p, 1, uid, RS_STORE_ADD, CM_FLAG_ANSWERED);
	store(&p, 2, uid, RS_STORE_ADD, CM_FLAG_SEEN);
	store(&p, 2, uid, RS_STORE_REMOVE, CM_FLAG_FLAGGED);
	sync_ok(&p);
	check_converged(&p);
	cm_flags f = flags_of(&p, 2, uid);
	pair_close(&p);
	return f;
}

static void t_design_example(void)
{
	CHECK_EQ(design_example(0), CM_FLAG_ANSWERED | CM_FLAG_SEEN);
	/* Final states cannot decide it: S1's (\Answered \Flagged) wins. */
	CHECK(design_example(RS_MUTANT_REPL_FINAL_FLAGS) != (CM_FLAG_ANSWERED | CM_FLAG_SEEN));
}

/* Cut off from each other, both replicas take UIDs: never the same one. */
static void t_stepping_and_fixup(void)
{
	pair p;
	pair_open(&p, 0);
	uint32_t a1 = append(&p, 1, "a1", 0), b1 = append(&p, 2, "b1", 0);
	CHECK(a1 != b1);
	CHECK_EQ(a1 % 3, 1);
	CHECK_EQ(b1 % 3, 2);
	uint32_t a2 = append(&p, 1, "a2", 0); /* above b1: b1 lands below it */
	sync_ok(&p);
	check_converged(&p);
	/* Nothing lost, nothing rebound. a2 is above replica 2's next UID and
	 * keeps its own; a1 is below it and b1 below replica 1's, so both
	 * were renumbered above every UID either side had given. */
	CHECK_EQ(rs_count(p.mb[1]), 3);
	CHECK(rs_msg_find(p.mb[1], a2) != NULL);
	CHECK(rs_msg_find(p.mb[1], a1) == NULL && rs_msg_find(p.mb[2], b1) == NULL);
	CHECK_EQ(p.st.fixups, 2);
	CHECK(rs_msg_at(p.mb[1], 1)->uid > a2 && rs_msg_at(p.mb[1], 2)->uid > a2);
	/* Settled: another sync ships nothing. */
	uint64_t rounds = p.st.rounds;
	sync_ok(&p);
	CHECK_EQ(p.st.rounds, rounds + 1);
	pair_close(&p);
}

/* An expunge on one replica, whatever the flags on the other. */
static void t_expunge(void)
{
	pair p;
	pair_open(&p, 0);
	uint32_t u = append(&p, 1, "x", 0);
	append(&p, 1, "y", 0);
	sync_ok(&p);
	store(&p, 2, u, RS_STORE_ADD, CM_FLAG_DELETED);
	cm_uidset one = {0};
	cm_uidset_add(&one, u);
	CHECK_EQ(rs_expunge(p.mb[2], &one, NULL, NULL), RS_OK);
	cm_uidset_free(&one);
	sync_ok(&p);
	check_converged(&p);
	CHECK(rs_msg_find(p.mb[1], u) == NULL);
	CHECK_EQ(rs_count(p.mb[1]), 1);
	pair_close(&p);
}

/* The same flag changed on both sides: replica 1 wins on both; and a
 * change never comes back as an echo after a later one removed it. */
static void t_conflict_and_echo(void)
{
	pair p;
	pair_open(&p, 0);
	uint32_t u = append(&p, 1, "z", 0);
	sync_ok(&p);
	store(&p, 1, u, RS_STORE_ADD, CM_FLAG_SEEN);
	store(&p, 2, u, RS_STORE_ADD, CM_FLAG_FLAGGED);
	store(&p, 2, u, RS_STORE_REMOVE, CM_FLAG_SEEN | CM_FLAG_FLAGGED);
	store(&p, 2, u, RS_STORE_ADD, CM_FLAG_FLAGGED);
	sync_ok(&p);
	check_converged(&p);
	CHECK_EQ(flags_of(&p, 1, u), CM_FLAG_SEEN | CM_FLAG_FLAGGED);
	CHECK(p.st.conflicts >= 1);
	store(&p, 1, u, RS_STORE_REMOVE, CM_FLAG_SEEN);
	sync_ok(&p);
	sync_ok(&p);
	CHECK_EQ(flags_of(&p, 2, u), CM_FLAG_FLAGGED);
	check_converged(&p);
	pair_close(&p);
}

/* Without stepping, a partition gives one UID to two messages. */
static void t_no_step(void)
{
	pair p;
	pair_open(&p, RS_MUTANT_REPL_NO_STEP);
	CHECK_EQ(append(&p, 1, "a", 0), append(&p, 2, "b", 0));
	pair_close(&p);
}

int main(void)
{
	t_design_example();
	t_stepping_and_fixup();
	t_expunge();
	t_conflict_and_echo();
	t_no_step();
	TEST_EXIT();
}
