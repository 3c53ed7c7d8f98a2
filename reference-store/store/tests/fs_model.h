/* The small reference model test_fs_random.c checks both file systems
 * against: plain nodes; a directory holds its current entries and a copy
 * of its durable ones; a file its current and durable content. The calls
 * (m_open, m_rename, ...) return what rs_fs should: 0 or a negative
 * errno. */
#ifndef FS_MODEL_H
#define FS_MODEL_H

#include "fs_test.h"

#define MNAME 8
#define MENT 16

struct ment {
	char name[MNAME];
	int node;
};

struct mnode {
	bool dir;
	cm_buf data, ddata;
	struct ment cur[MENT], dur[MENT];
	int ncur, ndur;
	uint64_t ino; /* memfs ino, once seen */
};

struct model {
	struct mnode *n;
	int nn;
	size_t cap;
};

static inline int mnew(struct model *m, bool dir)
{
	CM_GROW(m->n, m->cap, m->nn + 1);
	memset(&m->n[m->nn], 0, sizeof(m->n[0]));
	m->n[m->nn].dir = dir;
	return m->nn++;
}

static inline int mfind(const struct mnode *d, const char *name)
{
	for (int i = 0; i < d->ncur; i++)
		if (strcmp(d->cur[i].name, name) == 0)
			return i;
	return -1;
}

static inline void mset(struct model *m, int dir, const char *name, int node)
{
	struct mnode *d = &m->n[dir];
	int i = mfind(d, name);
	if (node < 0) {
		REQUIRE(i >= 0);
		d->cur[i] = d->cur[--d->ncur];
		return;
	}
	if (i < 0) {
		REQUIRE(d->ncur < MENT);
		i = d->ncur++;
		snprintf(d->cur[i].name, MNAME, "%s", name);
	}
	d->cur[i].node = node;
}

struct mwalk {
	int parent, target;
	char name[MNAME];
};

static inline int mresolve(const struct model *m, const char *path, struct mwalk *w)
{
	REQUIRE(path[0] == '/');
	*w = (struct mwalk){ .parent = -1, .target = 0 };
	if (path[1] == '\0')
		return 0;
	int dir = 0;
	for (const char *p = path + 1;;) {
		size_t n = strcspn(p, "/");
		REQUIRE(n > 0 && n < MNAME);
		char name[MNAME];
		memcpy(name, p, n);
		name[n] = '\0';
		int i = mfind(&m->n[dir], name);
		int t = i < 0 ? -1 : m->n[dir].cur[i].node;
		if (p[n] == '\0') {
			w->parent = dir;
			w->target = t;
			memcpy(w->name, name, n + 1);
			return 0;
		}
		if (t < 0)
			return -ENOENT;
		if (!m->n[t].dir)
			return -ENOTDIR;
		dir = t;
		p += n + 1;
	}
}

/* memcmp for cm_bufs, whose data is NULL while empty. */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static inline bool below(const char *a, const char *b)
{
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

static inline int m_open(struct model *m, const char *path, int flags, int *node_r)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0) {
		if (!(flags & RS_O_CREAT))
			return -ENOENT;
		*node_r = mnew(m, false);
		mset(m, w.parent, w.name, *node_r);
		return 0;
	}
	struct mnode *n = &m->n[w.target];
	if ((flags & RS_O_CREAT) && (flags & RS_O_EXCL))
		return -EEXIST;
	if (n->dir && (flags & (RS_O_APPEND | RS_O_CREAT | RS_O_TRUNC)))
		return -EISDIR;
	if (flags & RS_O_TRUNC)
		cm_buf_clear(&n->data);
	*node_r = w.target;
	return 0;
}

static inline int m_rename(struct model *m, const char *from, const char *to)
{
	struct mwalk a, b;
	int r;
	if ((r = mresolve(m, from, &a)) < 0 || (r = mresolve(m, to, &b)) < 0)
		return r;
	if (a.target < 0)
		return -ENOENT;
	if (a.parent < 0 || b.parent < 0)
		return -EBUSY;
	if (below(from, to))
		return -EINVAL;
	if (below(to, from))
		return -ENOTEMPTY;
	if (a.target == b.target)
		return 0;
	bool sdir = m->n[a.target].dir;
	if (b.target >= 0) {
		const struct mnode *t = &m->n[b.target];
		if (sdir && !t->dir)
			return -ENOTDIR;
		if (!sdir && t->dir)
			return -EISDIR;
		if (t->dir && t->ncur > 0)
			return -ENOTEMPTY;
	}
	mset(m, b.parent, b.name, a.target);
	mset(m, a.parent, a.name, -1);
	return 0;
}

static inline int m_link(struct model *m, const char *from, const char *to)
{
	struct mwalk a, b;
	int r;
	if ((r = mresolve(m, from, &a)) < 0)
		return r;
	if (a.target < 0)
		return -ENOENT;
	if ((r = mresolve(m, to, &b)) < 0)
		return r;
	if (b.target >= 0)
		return -EEXIST;
	if (m->n[a.target].dir)
		return -EPERM;
	mset(m, b.parent, b.name, a.target);
	return 0;
}

static inline int m_unlink(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	if (m->n[w.target].dir)
		return -EISDIR;
	mset(m, w.parent, w.name, -1);
	return 0;
}

static inline int m_mkdir(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target >= 0)
		return -EEXIST;
	mset(m, w.parent, w.name, mnew(m, true));
	return 0;
}

static inline int m_rmdir(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	if (!m->n[w.target].dir)
		return -ENOTDIR;
	if (w.parent < 0)
		return -EBUSY;
	if (m->n[w.target].ncur > 0)
		return -ENOTEMPTY;
	mset(m, w.parent, w.name, -1);
	return 0;
}

static inline void m_sync(struct mnode *n)
{
	if (n->dir) {
		memcpy(n->dur, n->cur, sizeof(n->cur));
		n->ndur = n->ncur;
	} else {
		cm_buf_clear(&n->ddata);
		cm_buf_append(&n->ddata, n->data.data, n->data.len);
	}
}

/* Dir path (or error) to the durable sync. */
static inline int m_fsync_dir(struct model *m, const char *path)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	if (!m->n[w.target].dir)
		return -ENOTDIR;
	m_sync(&m->n[w.target]);
	return 0;
}

static inline int m_list(struct model *m, const char *path, cm_buf *out)
{
	struct mwalk w;
	int r = mresolve(m, path, &w);
	cm_buf_clear(out);
	cm_buf_puts(out, "");
	if (r < 0)
		return r;
	if (w.target < 0)
		return -ENOENT;
	const struct mnode *d = &m->n[w.target];
	if (!d->dir)
		return -ENOTDIR;
	const char *v[MENT];
	for (int i = 0; i < d->ncur; i++)
		v[i] = d->cur[i].name;
	qsort(v, (size_t)d->ncur, sizeof(v[0]), cmp_str);
	for (int i = 0; i < d->ncur; i++) {
		if (i)
			cm_buf_putc(out, '/');
		cm_buf_puts(out, v[i]);
	}
	return 0;
}

static inline void m_free(struct model *m)
{
	for (int i = 0; i < m->nn; i++) {
		cm_buf_free(&m->n[i].data);
		cm_buf_free(&m->n[i].ddata);
	}
	free(m->n);
}

#endif
