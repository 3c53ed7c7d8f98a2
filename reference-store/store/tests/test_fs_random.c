/* rs_fs at random: runs of random operations on memfs, compared call by
 * call with a small reference model (fs_model.h), and on POSIX too, which
 * keeps the model honest; in crash mode with power cuts and injected
 * failures instead. RS_FS_TRACE=1 prints every operation. */
#include "fs_model.h"

/* RS_FS_TRACE=1 prints every random operation. */
static bool trace;

/* The universe of paths the random operations use. */
static const char *const U_DIRS[] = { "/", "/a", "/b", "/a/c", "/a/c/d" };

static char U_PATHS[32][16];

static int n_upaths, n_ufiles;

static void universe_init(void)
{
	static const char *const files[] = { "x", "y", "z" };
	n_upaths = 0;
	for (size_t d = 0; d < CM_ARRAY_LEN(U_DIRS); d++)
		for (size_t f = 0; f < CM_ARRAY_LEN(files); f++)
			snprintf(U_PATHS[n_upaths++], 16, "%s%s%s", U_DIRS[d],
				 d ? "/" : "", files[f]);
	n_ufiles = n_upaths;
	for (size_t d = 1; d < CM_ARRAY_LEN(U_DIRS); d++)
		snprintf(U_PATHS[n_upaths++], 16, "%s", U_DIRS[d]);
	snprintf(U_PATHS[n_upaths++], 16, "/x/q");  /* ENOTDIR when x is a file */
	snprintf(U_PATHS[n_upaths++], 16, "/a/y/q");
}

struct tfd {
	int mfd, pfd, node;
	bool writable, stale;
	char path[16];
};

struct rnd {
	struct model m;
	rs_fs *mem, *px;        /* px: NULL in crash mode */
	const char *root;
	bool crash_mode;
	uint64_t seed;
	int step, bad;
	char what[128];
	struct tfd fds[12];
	int nfds;
	cm_rng rng;
	int inject;             /* the hook returns it on the next call */
	rs_fs_call hook_call;   /* what the hook saw last */
	char hook_path[64];
	uint64_t digest;
	cm_buf b1, b2;
};

static int rnd_hook(void *ctx, rs_fs_call call, const char *path)
{
	struct rnd *R = ctx;
	R->hook_call = call;
	snprintf(R->hook_path, sizeof(R->hook_path), "%s", path);
	int r = R->inject;
	R->inject = 0;
	return r;
}

#define RCHECK(R, cond, ...)                                                 \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: seed %" PRIu64 " step %d (%s): ", \
				__FILE__, __LINE__, (R)->seed, (R)->step,    \
				(R)->what);                                  \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			cm_test_failures++;                                  \
			(R)->bad++;                                          \
		}                                                            \
	} while (0)

/* Evaluates got once: it is usually the call under test. */
#define REQ_EQ(R, got, exp)                                                  \
	do {                                                                 \
		long long g_ = (long long)(got), e_ = (long long)(exp);      \
		RCHECK(R, g_ == e_, "%s = %lld, expected %lld", #got, g_, e_); \
	} while (0)

static const char *pxp(const struct rnd *R, const char *p)
{
	static char ring[4][512];
	static unsigned k;
	char *b = ring[k++ % 4];
	snprintf(b, sizeof(ring[0]), "%s%s", R->root, p);
	return b;
}

static void mix(struct rnd *R, uint64_t v)
{
	R->digest = (R->digest ^ v) * 0x100000001b3ULL;
}

static const char *pick(struct rnd *R, bool files_only)
{
	int n = files_only ? n_ufiles : n_upaths;
	return U_PATHS[cm_rng_below(&R->rng, (uint64_t)n)];
}

static const char *pick_dir(struct rnd *R)
{
	return U_DIRS[cm_rng_below(&R->rng, CM_ARRAY_LEN(U_DIRS))];
}

static void seen_ino(struct rnd *R, int node, uint64_t ino)
{
	struct mnode *n = &R->m.n[node];
	if (n->ino == 0) {
		for (int i = 0; i < R->m.nn; i++)
			RCHECK(R, R->m.n[i].ino != ino, "ino %" PRIu64 " reused", ino);
		n->ino = ino;
	}
	RCHECK(R, n->ino == ino, "node %d ino %" PRIu64 " != %" PRIu64, node,
	       ino, n->ino);
}

/* After a hooked memfs call: the hook saw the right call and path. */
static void saw(struct rnd *R, rs_fs_call call, const char *path)
{
	RCHECK(R, R->hook_call == call && strcmp(R->hook_path, path) == 0,
	       "hook saw %s \"%s\"", rs_fs_call_name(R->hook_call), R->hook_path);
	R->hook_call = RS_FS_CALL_COUNT;
}

/* Every path of the universe: stat and content agree with the model. */
static void compare_all(struct rnd *R)
{
	for (int i = 0; i < n_upaths; i++) {
		const char *p = U_PATHS[i];
		struct mwalk w;
		int exp = mresolve(&R->m, p, &w);
		if (exp == 0 && w.target < 0)
			exp = -ENOENT;
		rs_fs_stat st;
		int got = R->mem->ops->stat(R->mem, p, &st);
		snprintf(R->what, sizeof(R->what), "compare %.64s", p);
		REQ_EQ(R, got, exp);
		if (got == 0 && exp == 0) {
			const struct mnode *n = &R->m.n[w.target];
			REQ_EQ(R, st.is_dir, n->dir);
			seen_ino(R, w.target, st.ino);
			if (!n->dir) {
				cm_buf_clear(&R->b1);
				REQ_EQ(R, rs_memfs_read_file(R->mem, p, &R->b1), 0);
				RCHECK(R, R->b1.len == n->data.len &&
				       bytes_eq(R->b1.data, n->data.data, n->data.len),
				       "memfs content differs (%zu vs %zu bytes)",
				       R->b1.len, n->data.len);
				mix(R, cm_hash64(R->b1.data, R->b1.len));
			}
		}
		if (R->px != NULL) {
			got = R->px->ops->stat(R->px, pxp(R, p), &st);
			REQ_EQ(R, got, exp);
			if (got == 0 && exp == 0 && !st.is_dir) {
				const struct mnode *n = &R->m.n[w.target];
				cm_buf_clear(&R->b1);
				REQ_EQ(R, get_file(R->px, pxp(R, p), &R->b1), 0);
				RCHECK(R, R->b1.len == n->data.len &&
				       bytes_eq(R->b1.data, n->data.data, n->data.len),
				       "posix content differs");
			}
		}
	}
	R->hook_call = RS_FS_CALL_COUNT;
	rs_memfs_check(R->mem, NULL, NULL, NULL);
}

/* Power cut in the model, checked against what memfs kept. */
static void do_crash(struct rnd *R)
{
	uint64_t tear = cm_rng_chance(&R->rng, 500000) ? cm_rng_next(&R->rng) | 1 : 0;
	snprintf(R->what, sizeof(R->what), "crash %" PRIx64, tear);
	rs_memfs_crash(R->mem, tear);
	struct model *m = &R->m;
	for (int i = 0; i < m->nn; i++) {
		struct mnode *n = &m->n[i];
		if (n->dir) {
			memcpy(n->cur, n->dur, sizeof(n->cur));
			n->ncur = n->ndur;
		}
	}
	for (int i = 0; i < R->nfds; i++)
		R->fds[i].stale = true;
	for (int i = 0; i < n_upaths; i++) {
		struct mwalk w;
		if (mresolve(m, U_PATHS[i], &w) < 0 || w.target < 0 ||
		    m->n[w.target].dir)
			continue;
		struct mnode *n = &m->n[w.target];
		cm_buf *got = &R->b1;
		cm_buf_clear(got);
		REQ_EQ(R, rs_memfs_read_file(R->mem, U_PATHS[i], got), 0);
		/* durable <= kept <= current (if current extends durable). */
		const cm_buf *lim = &n->ddata;
		if (n->data.len >= n->ddata.len &&
		    bytes_eq(n->data.data, n->ddata.data, n->ddata.len))
			lim = &n->data;
		RCHECK(R, got->len >= n->ddata.len && got->len <= lim->len &&
		       bytes_eq(got->data, lim->data, got->len) &&
		       (tear || got->len == n->ddata.len),
		       "%s after crash: %zu bytes (durable %zu, current %zu)",
		       U_PATHS[i], got->len, n->ddata.len, n->data.len);
		cm_buf_clear(&n->data);
		cm_buf_append(&n->data, got->data, got->len);
		m_sync(n);
	}
}

static struct tfd *pick_fd(struct rnd *R)
{
	if (R->nfds == 0)
		return NULL;
	return &R->fds[cm_rng_below(&R->rng, (uint64_t)R->nfds)];
}

static void drop_fd(struct rnd *R, struct tfd *f)
{
	*f = R->fds[--R->nfds];
}

static void op_open(struct rnd *R)
{
	const char *p = pick(R, cm_rng_chance(&R->rng, 800000));
	int flags = (int)cm_rng_below(&R->rng, 16);
	snprintf(R->what, sizeof(R->what), "open %s %d", p, flags);
	int node = -1;
	int exp = R->inject ? R->inject : m_open(&R->m, p, flags, &node);
	int got = R->mem->ops->open(R->mem, p, flags);
	saw(R, RS_FS_OPEN, p);
	REQ_EQ(R, got < 0 ? got : 0, exp);
	int pg = 0;
	if (R->px) {
		pg = R->px->ops->open(R->px, pxp(R, p), flags);
		REQ_EQ(R, pg < 0 ? pg : 0, exp);
	}
	if (exp == 0 && got >= 0 && pg >= 0 && R->nfds < (int)CM_ARRAY_LEN(R->fds)) {
		struct tfd *f = &R->fds[R->nfds++];
		*f = (struct tfd){ .mfd = got, .pfd = pg, .node = node,
				   .writable = flags & RS_O_APPEND };
		snprintf(f->path, sizeof(f->path), "%s", p);
		return;
	}
	if (got >= 0)
		R->mem->ops->close(R->mem, got);
	if (R->px && pg >= 0)
		R->px->ops->close(R->px, pg);
}

static void fd_append(struct rnd *R, struct tfd *f)
{
	struct mnode *n = &R->m.n[f->node];
	rs_fs *mem = R->mem, *px = R->px;
	const char *hp = f->stale ? "" : f->path;
	int inj = R->inject;
	char buf[32];
	size_t len = (size_t)cm_rng_below(&R->rng, 13);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + cm_rng_below(&R->rng, 26));
	snprintf(R->what, sizeof(R->what), "append %s %zu", f->path, len);
	long long exp = inj ? inj : f->stale || !f->writable ? -EBADF : (long long)len;
	REQ_EQ(R, mem->ops->append(mem, f->mfd, buf, len), exp);
	saw(R, RS_FS_WRITE, hp);
	if (px)
		REQ_EQ(R, px->ops->append(px, f->pfd, buf, len), exp);
	if (exp > 0)
		cm_buf_append(&n->data, buf, len);
}

static void fd_pread(struct rnd *R, struct tfd *f)
{
	struct mnode *n = &R->m.n[f->node];
	rs_fs *mem = R->mem, *px = R->px;
	const char *hp = f->stale ? "" : f->path;
	int inj = R->inject;
	char buf[32], pbuf[32];
	uint64_t off = cm_rng_below(&R->rng, n->data.len + 4);
	size_t len = (size_t)cm_rng_below(&R->rng, sizeof(buf));
	snprintf(R->what, sizeof(R->what), "pread %s %" PRIu64 " %zu",
		 f->path, off, len);
	long long exp = inj ? inj : f->stale ? -EBADF : n->dir ? -EISDIR :
		off >= n->data.len ? 0 : (long long)CM_MIN(len, n->data.len - off);
	REQ_EQ(R, mem->ops->pread(mem, f->mfd, buf, len, off), exp);
	saw(R, RS_FS_READ, hp);
	if (exp > 0)
		RCHECK(R, memcmp(buf, n->data.data + off, (size_t)exp) == 0,
		       "memfs pread bytes");
	if (px) {
		REQ_EQ(R, px->ops->pread(px, f->pfd, pbuf, len, off), exp);
		if (exp > 0)
			RCHECK(R, memcmp(pbuf, n->data.data + off, (size_t)exp) == 0,
			       "posix pread bytes");
	}
}

static void fd_truncate(struct rnd *R, struct tfd *f)
{
	struct mnode *n = &R->m.n[f->node];
	rs_fs *mem = R->mem, *px = R->px;
	const char *hp = f->stale ? "" : f->path;
	int inj = R->inject;
	uint64_t size = cm_rng_below(&R->rng, n->data.len + 8);
	snprintf(R->what, sizeof(R->what), "truncate %s %" PRIu64, f->path, size);
	int exp = inj ? inj : f->stale ? -EBADF : !f->writable ? -EINVAL : 0;
	REQ_EQ(R, mem->ops->truncate(mem, f->mfd, size), exp);
	saw(R, RS_FS_TRUNCATE, hp);
	if (px)
		REQ_EQ(R, px->ops->truncate(px, f->pfd, size), exp);
	if (exp == 0) {
		size_t old = n->data.len;
		cm_buf_reserve(&n->data, size > old ? (size_t)size - old : 0);
		if (size > old)
			memset(n->data.data + old, 0, (size_t)size - old);
		n->data.len = (size_t)size;
		n->data.data[size] = '\0';
	}
}

static void fd_fstat(struct rnd *R, struct tfd *f)
{
	struct mnode *n = &R->m.n[f->node];
	rs_fs *mem = R->mem, *px = R->px;
	const char *hp = f->stale ? "" : f->path;
	int inj = R->inject;
	snprintf(R->what, sizeof(R->what), "fstat %s", f->path);
	int exp = inj ? inj : f->stale ? -EBADF : 0;
	rs_fs_stat st;
	REQ_EQ(R, mem->ops->fstat(mem, f->mfd, &st), exp);
	saw(R, RS_FS_FSTAT, hp);
	if (exp == 0) {
		REQ_EQ(R, st.is_dir, n->dir);
		if (!n->dir)
			REQ_EQ(R, st.size, n->data.len);
		seen_ino(R, f->node, st.ino);
	}
	if (px) {
		REQ_EQ(R, px->ops->fstat(px, f->pfd, &st), exp);
		if (exp == 0 && !n->dir)
			REQ_EQ(R, st.size, n->data.len);
	}
}

/* A call on a random open descriptor: append, pread, truncate, fsync,
 * fstat or close (which = 0..5). */
static void op_fd(struct rnd *R, int which)
{
	struct tfd *f = pick_fd(R);
	if (f == NULL) {
		op_open(R);
		return;
	}
	struct mnode *n = &R->m.n[f->node];
	rs_fs *mem = R->mem, *px = R->px;
	const char *hp = f->stale ? "" : f->path;
	int inj = R->inject;
	switch (which) {
	case 0: fd_append(R, f); break;
	case 1: fd_pread(R, f); break;
	case 2: fd_truncate(R, f); break;
	case 3: { /* fsync */
		snprintf(R->what, sizeof(R->what), "fsync %s", f->path);
		int exp = inj ? inj : f->stale ? -EBADF : 0;
		REQ_EQ(R, mem->ops->fsync(mem, f->mfd), exp);
		saw(R, RS_FS_FSYNC, hp);
		if (px)
			REQ_EQ(R, px->ops->fsync(px, f->pfd), exp);
		if (exp == 0)
			m_sync(n);
		break;
	}
	case 4: fd_fstat(R, f); break;
	default: { /* close: releases the descriptor even when it fails */
		snprintf(R->what, sizeof(R->what), "close %s", f->path);
		int exp = inj ? inj : f->stale ? -EBADF : 0;
		REQ_EQ(R, mem->ops->close(mem, f->mfd), exp);
		saw(R, RS_FS_CLOSE, hp);
		if (px)
			REQ_EQ(R, px->ops->close(px, f->pfd), exp);
		drop_fd(R, f);
		break;
	}
	}
}

/* What a call by path returned: the model's result (expected), memfs's
 * and POSIX's. */
struct outcome {
	int exp, got, pg;
};

/* rename *p q; no directory renames in crash mode (false: none made). */
static bool path_rename(struct rnd *R, const char **p, const char *q, struct outcome *o)
{
	rs_fs *mem = R->mem, *px = R->px;
	struct model *m = &R->m;
	int inj = R->inject;
	if (R->crash_mode) {
		*p = pick(R, true);
		struct mwalk w;
		if (mresolve(m, *p, &w) == 0 && w.target >= 0 && m->n[w.target].dir)
			return false;
	}
	snprintf(R->what, sizeof(R->what), "rename %s %s", *p, q);
	o->exp = inj ? inj : m_rename(m, *p, q);
	o->got = mem->ops->rename(mem, *p, q);
	if (px)
		o->pg = px->ops->rename(px, pxp(R, *p), pxp(R, q));
	return true;
}

static void path_link(struct rnd *R, const char *p, const char *q, struct outcome *o)
{
	rs_fs *mem = R->mem, *px = R->px;
	int inj = R->inject;
	snprintf(R->what, sizeof(R->what), "link %s %s", p, q);
	o->exp = inj ? inj : m_link(&R->m, p, q);
	o->got = mem->ops->link(mem, p, q);
	if (px)
		o->pg = px->ops->link(px, pxp(R, p), pxp(R, q));
}

static void path_unlink(struct rnd *R, const char *p, struct outcome *o)
{
	rs_fs *mem = R->mem, *px = R->px;
	int inj = R->inject;
	snprintf(R->what, sizeof(R->what), "unlink %s", p);
	o->exp = inj ? inj : m_unlink(&R->m, p);
	o->got = mem->ops->unlink(mem, p);
	if (px)
		o->pg = px->ops->unlink(px, pxp(R, p));
}

/* list p: memfs lists the model's names in order, POSIX in some order. */
static void path_list(struct rnd *R, const char *p, struct outcome *o)
{
	rs_fs *mem = R->mem, *px = R->px;
	int inj = R->inject;
	snprintf(R->what, sizeof(R->what), "list %s", p);
	o->exp = inj ? inj : m_list(&R->m, p, &R->b2);
	o->got = list_str(mem, p, false, &R->b1);
	if (o->got == 0 && o->exp == 0)
		RCHECK(R, strcmp(R->b1.data, R->b2.data) == 0,
		       "memfs lists \"%s\", model \"%s\"", R->b1.data, R->b2.data);
	mix(R, cm_hash64(R->b1.data, R->b1.len));
	if (px) {
		o->pg = list_str(px, pxp(R, p), true, &R->b1);
		if (o->pg == 0 && o->exp == 0)
			RCHECK(R, strcmp(R->b1.data, R->b2.data) == 0,
			       "posix lists \"%s\", model \"%s\"", R->b1.data,
			       R->b2.data);
	}
}

static void path_stat(struct rnd *R, const char *p, struct outcome *o)
{
	rs_fs *mem = R->mem, *px = R->px;
	int inj = R->inject;
	snprintf(R->what, sizeof(R->what), "stat %s", p);
	struct mwalk w;
	o->exp = inj ? inj : mresolve(&R->m, p, &w);
	if (o->exp == 0 && w.target < 0)
		o->exp = -ENOENT;
	rs_fs_stat st;
	o->got = mem->ops->stat(mem, p, &st);
	if (o->got == 0)
		mix(R, st.size + st.mtime_ns);
	if (px)
		o->pg = px->ops->stat(px, pxp(R, p), &st);
}

/* A call by path on random paths of the universe: rename, link, unlink,
 * mkdir, rmdir, fsync_dir, list or stat (which = 0..7). */
static void op_path(struct rnd *R, int which)
{
	rs_fs *mem = R->mem, *px = R->px;
	struct model *m = &R->m;
	int inj = R->inject;
	const char *p = pick(R, false), *q = pick(R, false);
	struct outcome o = {0, 0, 0};
	rs_fs_call call;
	switch (which) {
	case 0:
		if (!path_rename(R, &p, q, &o))
			return;
		call = RS_FS_RENAME;
		break;
	case 1:
		call = RS_FS_LINK;
		path_link(R, p, q, &o);
		break;
	case 2:
		call = RS_FS_UNLINK;
		path_unlink(R, p, &o);
		break;
	case 3:
		p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "mkdir %s", p);
		call = RS_FS_MKDIR;
		o.exp = inj ? inj : m_mkdir(m, p);
		o.got = mem->ops->mkdir(mem, p);
		if (px)
			o.pg = px->ops->mkdir(px, pxp(R, p));
		break;
	case 4:
		p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "rmdir %s", p);
		call = RS_FS_RMDIR;
		o.exp = inj ? inj : m_rmdir(m, p);
		o.got = mem->ops->rmdir(mem, p);
		if (px) /* rmdir("/tmp/x/") is EBUSY-ish: skip the root */
			o.pg = strcmp(p, "/") ? px->ops->rmdir(px, pxp(R, p)) : o.exp;
		break;
	case 5:
		if (cm_rng_chance(&R->rng, 700000))
			p = pick_dir(R);
		snprintf(R->what, sizeof(R->what), "fsync_dir %s", p);
		call = RS_FS_FSYNC_DIR;
		o.exp = inj ? inj : m_fsync_dir(m, p);
		o.got = mem->ops->fsync_dir(mem, p);
		if (px)
			o.pg = px->ops->fsync_dir(px, pxp(R, p));
		break;
	case 6:
		if (cm_rng_chance(&R->rng, 700000))
			p = pick_dir(R);
		call = RS_FS_LIST;
		path_list(R, p, &o);
		break;
	default:
		call = RS_FS_STAT;
		path_stat(R, p, &o);
		break;
	}
	saw(R, call, p);
	REQ_EQ(R, o.got, o.exp);
	if (px)
		REQ_EQ(R, o.pg, o.exp);
	mix(R, (uint64_t)o.got);
}

/* A run of random operations on memfs (and POSIX unless crash_mode), each
 * compared with the model. Returns a digest of everything observed. */
static uint64_t random_run(uint64_t seed, int steps, bool crash_mode)
{
	struct rnd *R = cm_xcalloc(1, sizeof(*R));
	R->seed = seed;
	R->crash_mode = crash_mode;
	cm_rng_seed(&R->rng, seed);
	R->mem = rs_memfs_new();
	rs_memfs_set_hook(R->mem, rnd_hook, R);
	char *dir = NULL;
	if (!crash_mode) {
		dir = make_tmpdir();
		R->px = rs_posixfs_new();
		R->root = dir;
	}
	mnew(&R->m, true);
	const char *init[] = { "/a", "/b", "/a/c" };
	for (size_t i = 0; i < CM_ARRAY_LEN(init); i++) {
		REQUIRE(m_mkdir(&R->m, init[i]) == 0);
		REQUIRE(R->mem->ops->mkdir(R->mem, init[i]) == 0);
		if (R->px)
			REQUIRE(R->px->ops->mkdir(R->px, pxp(R, init[i])) == 0);
	}
	for (int i = 0; i < R->m.nn; i++)
		m_sync(&R->m.n[i]);
	REQUIRE(R->mem->ops->fsync_dir(R->mem, "/") == 0);
	REQUIRE(R->mem->ops->fsync_dir(R->mem, "/a") == 0);

	for (R->step = 0; R->step < steps && R->bad < 10; R->step++) {
		uint64_t k = cm_rng_below(&R->rng, 1000);
		if (crash_mode && cm_rng_chance(&R->rng, 40000))
			R->inject = cm_rng_chance(&R->rng, 500000) ? -EIO : -ENOSPC;
		if (crash_mode && k < 15)
			do_crash(R);
		else if (k < 180)
			op_open(R);
		else if (k < 560)
			op_fd(R, (int)((k - 180) / 64));   /* 0..5 */
		else
			op_path(R, (int)((k - 560) / 56)); /* 0..7 */
		if (trace)
			fprintf(stderr, "%" PRIu64 ".%d: %s%s\n", seed, R->step,
				R->what, R->inject ? " (injected)" : "");
		R->inject = 0;
		compare_all(R);
	}
	uint64_t digest = R->digest ^ rs_memfs_calls(R->mem);
	for (int i = 0; i < R->nfds; i++)
		if (R->px)
			R->px->ops->close(R->px, R->fds[i].pfd);
	if (R->px) {
		remove_tree(R->px, dir);
		rs_fs_destroy(R->px);
		free(dir);
	}
	rs_fs_destroy(R->mem);
	m_free(&R->m);
	cm_buf_free(&R->b1);
	cm_buf_free(&R->b2);
	free(R);
	return digest;
}

static void test_random_posix(void)
{
	for (uint64_t seed = 1; seed <= 4; seed++)
		random_run(seed, 2500, false);
}

static void test_random_crash(void)
{
	for (uint64_t seed = 100; seed < 112; seed++) {
		uint64_t d = random_run(seed, 4000, true);
		if (seed % 4 == 0)
			CHECK_EQ(random_run(seed, 4000, true), d); /* deterministic */
	}
}

int main(void)
{
	universe_init();
	trace = getenv("RS_FS_TRACE") != NULL;
	RUN(test_random_posix);
	RUN(test_random_crash);
	rd_free();
	TEST_EXIT();
}
