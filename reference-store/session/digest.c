/* What FETCH derives from a message file (BODY hash, SIZE, INTERNALDATE,
 * the X-Ratchet-Id header), cached by file name for every session on the
 * same file system (rs_fs.cache: sessions are short, the files stay).
 *
 * Why a cache: every FETCH of body items read each message file whole
 * (open, fstat, read, close, and a failed open in new/ first for most),
 * a quarter of a simulated run. A file's bytes never change once it has a
 * UID, so one stat by name (rs_fetch_stat) that finds the same inode, size
 * and mtime stands for a read. The stat keeps the lock-free expunge race
 * where it was: a file gone meanwhile is still seen gone, and a file a
 * crash tore or emptied has another size and is read again. */
#include "session_private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Entries kept before the cache starts afresh: mailboxes at a steady size
 * hold far fewer; expunged files' entries go with the rest. */
#define DIGESTS_MAX 4096u
#define DIGESTS_FIRST 256u

/* What FETCH derived from one message file, and the stat it held for. */
typedef struct digest {
	char name[RS_MSG_NAME_MAX];  /* "" for a free slot */
	uint64_t ino, size, mtime_ns;
	uint64_t hash;
	char id[MODEL_ID_MAX];
	bool in_cur;                 /* last seen in cur/ */
} digest;

/* Open addressing by name, at most half full. */
typedef struct digests {
	digest *slot;
	size_t n, cap;
} digests;

/* The X-Ratchet-Id header's value, or "" (header section only). */
static void parse_id(const char *p, size_t len, char out[MODEL_ID_MAX])
{
	static const char key[] = "X-Ratchet-Id:";
	out[0] = '\0';
	if (p == NULL)
		return; /* an empty file */
	const char *end = p + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == 0)
			return; /* end of the header */
		if (l >= sizeof(key) - 1 && strncasecmp(p, key, sizeof(key) - 1) == 0) {
			const char *v = p + sizeof(key) - 1, *ve = p + l;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			/* As "%.*s" would, without printf: up to a NUL, truncated. */
			size_t n = strnlen(v, CM_MIN((size_t)(ve - v), (size_t)MODEL_ID_MAX - 1));
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
		if (eol == NULL)
			return;
		p = eol + 1;
	}
}

static digest *slot_of(const digests *d, const char *name)
{
	assert(d->cap > 0 && (d->cap & (d->cap - 1)) == 0 && d->n < d->cap);
	size_t i = (size_t)cm_hash64(name, strlen(name)) & (d->cap - 1);
	while (d->slot[i].name[0] != '\0' && strcmp(d->slot[i].name, name) != 0)
		i = (i + 1) & (d->cap - 1);
	return &d->slot[i];
}

static void digests_free(void *p)
{
	digests *d = p;
	free(d->slot);
	free(d);
}

/* The file system's cache, made on first use. */
static digests *digests_of(rs_fs *fs)
{
	struct rs_fs_cache *c = &fs->cache[RS_FS_CACHE_DIGESTS];
	if (c->p == NULL) {
		digests *d = cm_xcalloc(1, sizeof(*d));
		d->cap = DIGESTS_FIRST;
		d->slot = cm_xcalloc(d->cap, sizeof(*d->slot));
		c->p = d;
		c->free = digests_free;
	}
	assert(c->free == digests_free);
	return c->p;
}

/* Room for one more: doubles up to twice DIGESTS_MAX slots, then starts
 * afresh. */
static void make_room(digests *d)
{
	if (2 * (d->n + 1) <= d->cap)
		return;
	digest *old = d->slot;
	size_t oldcap = d->cap;
	bool grow = d->cap < 2 * DIGESTS_MAX;
	d->cap = grow ? 2 * d->cap : d->cap;
	d->slot = cm_xcalloc(d->cap, sizeof(*d->slot));
	d->n = 0;
	for (size_t i = 0; grow && i < oldcap; i++)
		if (old[i].name[0] != '\0') {
			*slot_of(d, old[i].name) = old[i];
			d->n++;
		}
	free(old);
}

static void put(digests *d, const char *name, const rs_fs_stat *st, bool in_cur,
		const model_fetch *f)
{
	make_room(d);
	digest *e = slot_of(d, name);
	if (e->name[0] == '\0')
		d->n++;
	memcpy(e->name, name, sizeof(e->name));
	e->ino = st->ino;
	e->size = st->size;
	e->mtime_ns = st->mtime_ns;
	e->hash = f->body_hash;
	memcpy(e->id, f->id, sizeof(e->id));
	e->in_cur = in_cur;
}

static void fill(model_fetch *f, uint64_t hash, uint64_t size, uint64_t mtime_ns,
		 const char *id)
{
	f->body_hash = hash;
	f->size = (uint32_t)CM_MIN(size, UINT32_MAX);
	f->idate = (int64_t)(mtime_ns / 1000000000u);
	memcpy(f->id, id, sizeof(f->id));
}

rs_err session_digest_fetch(rt_session *s, uint32_t uid, model_fetch *f)
{
	const rs_msg *m = rs_msg_find(s->sel, uid);
	if (m == NULL)
		return RS_ENOENT;
	digests *d = digests_of(s->fs);
	digest *e = slot_of(d, m->name);
	bool known = e->name[0] != '\0', in_cur = known && e->in_cur;
	char name[RS_MSG_NAME_MAX];
	rs_fs_stat st;
	rs_err err = rs_fetch_stat(s->sel, uid, name, &st, &in_cur);
	if (err != RS_OK)
		return err;
	e = slot_of(d, name); /* the same name, unless a sync renamed the UID */
	if (e->name[0] != '\0' && e->ino == st.ino && e->size == st.size &&
	    e->mtime_ns == st.mtime_ns) {
		e->in_cur = in_cur;
		fill(f, e->hash, e->size, e->mtime_ns, e->id);
		return RS_OK;
	}
	uint64_t idate_ns = 0;
	err = rs_fetch_body(s->sel, uid, &s->buf, &idate_ns);
	if (err != RS_OK)
		return err;
	char id[MODEL_ID_MAX];
	parse_id(s->buf.data, s->buf.len, id);
	fill(f, cm_hash64(s->buf.data, s->buf.len), s->buf.len, idate_ns, id);
	/* Only what the stat described: the file read is the one stat saw. */
	if (s->buf.len == st.size && idate_ns == st.mtime_ns)
		put(d, name, &st, in_cur, f);
	return RS_OK;
}
