/* Reference-store benchmarks: single process, in memory and on a real
 * directory. Each figure is operations per second over a timed run. */
#include "bench.h"
#include "rs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sb {
	rs_fs *fs;
	char root[256];
	bool mem;
	rs_mailbox *a, *b;
	cm_rng rng;
	char msg[320];
	size_t msglen;
	uint64_t made;
} sb;

static rs_mailbox *sb_box(sb *s, const char *name)
{
	char path[300];
	rs_mailbox *mb;
	char *why;
	snprintf(path, sizeof(path), "%s/%s", s->root, name);
	if (rs_create(s->fs, path, 0) != RS_OK ||
	    rs_open(s->fs, path, NULL, &mb, &why) != RS_OK)
		cm_panic("bench: cannot create mailbox %s", path);
	return mb;
}

static int sb_init(sb *s, bool mem, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->mem = mem;
	cm_rng_seed(&s->rng, 1);
	if (mem) {
		s->fs = rs_memfs_new();
		snprintf(s->root, sizeof(s->root), "/bench");
		s->fs->ops->mkdir(s->fs, s->root);
	} else {
		s->fs = rs_posixfs_new();
		snprintf(s->root, sizeof(s->root), "%s/ratchet-bench-XXXXXX", dir);
		if (mkdtemp(s->root) == NULL) {
			cm_error("bench: cannot create a directory in %s", dir);
			rs_fs_destroy(s->fs);
			return -1;
		}
	}
	s->a = sb_box(s, "A");
	s->b = sb_box(s, "B");
	/* A typical small message, ~300 bytes. */
	memset(s->msg, 'x', sizeof(s->msg));
	s->msglen = (size_t)snprintf(s->msg, sizeof(s->msg),
		"X-Ratchet-Id: bench\r\nFrom: a@example.test\r\nTo: b@example.test\r\n"
		"Subject: benchmark message\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\n");
	s->msglen = 300;
	return 0;
}

static void sb_free(sb *s)
{
	rs_close(s->a);
	rs_close(s->b);
	if (!s->mem) {
		rs_delete(s->fs, s->a ? s->root : s->root);
	}
	rs_fs_destroy(s->fs);
}

static void sb_fill(sb *s, rs_mailbox *mb, size_t n, cm_flags flags)
{
	for (size_t i = 0; i < n; i++)
		if (rs_append(mb, s->msg, s->msglen, flags, NULL, NULL) != RS_OK)
			cm_panic("bench: fill failed: %s", rs_last_error(mb));
}

typedef bool sb_op(sb *s);

/* Runs op until the time budget is spent; ops per second. */
static double sb_timed(sb *s, sb_op *op, double seconds)
{
	uint64_t start = cm_now_ns(), n = 0, budget = (uint64_t)(seconds * 1e9);
	for (;;) {
		for (int i = 0; i < 16; i++, n++)
			if (!op(s))
				goto done;
		if (cm_now_ns() - start > budget)
			break;
	}
done:;
	double el = (double)(cm_now_ns() - start) / 1e9;
	return el > 0 ? (double)n / el : 0;
}

static bool op_deliver(sb *s)
{
	return rs_append(s->a, s->msg, s->msglen, 0, NULL, NULL) == RS_OK;
}

static uint32_t random_uid(sb *s, rs_mailbox *mb)
{
	size_t n = rs_count(mb);
	return n ? rs_msg_at(mb, cm_rng_below(&s->rng, n))->uid : 0;
}

static bool op_store(sb *s)
{
	uint32_t uid = random_uid(s, s->a);
	const rs_msg *m = rs_msg_find(s->a, uid);
	cm_uidset set = {0};
	cm_uidset_add(&set, uid);
	rs_store_result r = {0};
	/* Always a real change: toggle \Seen. */
	rs_err err = rs_store(s->a, &set, (m->flags & CM_FLAG_SEEN) ? RS_STORE_REMOVE
								    : RS_STORE_ADD,
			      CM_FLAG_SEEN, -1, &r);
	rs_store_result_free(&r);
	cm_uidset_free(&set);
	return err == RS_OK;
}

static bool op_copy(sb *s)
{
	cm_uidset set = {0};
	cm_uidset_add(&set, random_uid(s, s->a));
	rs_copy_result r = {0};
	rs_err err = rs_copy(s->a, s->b, &set, &r);
	rs_copy_result_free(&r);
	cm_uidset_free(&set);
	return err == RS_OK;
}

static bool op_move(sb *s)
{
	if (rs_count(s->a) == 0) {
		rs_mailbox *t = s->a;
		s->a = s->b;
		s->b = t;
	}
	cm_uidset set = {0};
	cm_uidset_add(&set, random_uid(s, s->a));
	rs_copy_result r = {0};
	rs_err err = rs_move(s->a, s->b, &set, &r);
	rs_copy_result_free(&r);
	cm_uidset_free(&set);
	return err == RS_OK;
}

static bool op_expunge(sb *s)
{
	if (rs_count(s->a) == 0)
		return false;
	cm_uidset set = {0};
	cm_uidset_add(&set, random_uid(s, s->a));
	rs_err err = rs_expunge(s->a, &set, NULL, NULL);
	cm_uidset_free(&set);
	return err == RS_OK;
}

static int bench_kind(rt_bench *b, bool mem)
{
	static const struct {
		const char *name;
		sb_op *op;
		size_t prefill;
		cm_flags prefill_flags;
	} cases[] = {
		{"deliver", op_deliver, 0, 0},
		{"store", op_store, 1000, 0},
		{"copy", op_copy, 1000, 0},
		{"move", op_move, 1000, 0},
		{"expunge", op_expunge, 0, CM_FLAG_DELETED},
	};
	double seconds = b->quick ? 0.05 : (mem ? 0.7 : 1.5);
	for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
		char name[64];
		snprintf(name, sizeof(name), "rs.%s.%s", cases[i].name, mem ? "mem" : "disk");
		if (!rt_bench_wanted(b, name))
			continue;
		sb s;
		if (sb_init(&s, mem, b->dir) < 0)
			return -1;
		size_t prefill = cases[i].prefill;
		if (cases[i].op == op_expunge) /* \Deleted messages to take away */
			prefill = mem ? 20000 : 1500;
		sb_fill(&s, s.a, prefill, cases[i].prefill_flags);
		rt_bench_add(b, name, "ops/s", sb_timed(&s, cases[i].op, seconds));
		sb_free(&s);
	}
	return 0;
}

int rt_bench_store(rt_bench *b)
{
	if (bench_kind(b, true) < 0)
		return -1;
	return bench_kind(b, false);
}
