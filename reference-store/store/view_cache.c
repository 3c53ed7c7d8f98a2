/* Parsed log views, shared by every handle on one file system
 * (rs_fs.cache): a handle that opens a mailbox starts from the view the
 * last opener parsed, and parses only the records appended since.
 *
 * Why: every open replayed the whole log (a fifth of a simulated run, more
 * as logs grow), although every other handle on the file system had just
 * parsed the same bytes. The opener still reads the whole log with the
 * same calls as before, and a view is reused only when those bytes start
 * with exactly the bytes it was parsed from (same path, same log inode,
 * memcmp): the store state is a function of the log bytes alone (records
 * apply the same way under every option and mutant), so the result is the
 * one a full replay gives, whatever a crash, a rotation or another
 * process did to the file meanwhile. */
#include "rs_private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Bounds: past either the cache starts afresh (a reference-store process
 * serving many mailboxes keeps the ones in use). */
#define VIEWS_MAX 1024u
#define VIEWS_BYTES_MAX (64u << 20)

/* The store state a handle had after parsing bytes[0..len) of a log. */
typedef struct view {
	char *path;              /* NULL: a free slot */
	uint64_t ino;
	cm_buf bytes;            /* the log prefix the state was parsed from */
	uint32_t indexid, log_seq, uidvalidity, nextuid;
	uint64_t highestmodseq, floor_modseq, snap_end, anomalies;
	uint32_t floor_uid;
	rs_msg *msgs;
	size_t n;
	rs_tomb *tombs;
	size_t ntombs;
	bool move_pending;
	cm_uidset move_uids;
	char *move_dst;
	char move_name[RS_NAME_MAX];
} view;

/* Open addressing by path, at most half full; it grows from a few slots,
 * since a simulated run (a fresh file system each) has a few mailboxes. */
#define VIEWS_FIRST 8u
typedef struct views {
	view *slot;
	size_t cap, n;
	uint64_t bytes;
} views;

static void view_clear(view *v)
{
	free(v->path);
	cm_buf_free(&v->bytes);
	free(v->msgs);
	free(v->tombs);
	cm_uidset_free(&v->move_uids);
	free(v->move_dst);
	memset(v, 0, sizeof(*v));
}

/* Every view dropped; the table keeps its size. */
static void views_clear(views *vs)
{
	for (size_t i = 0; i < vs->cap; i++)
		view_clear(&vs->slot[i]);
	vs->n = 0;
	vs->bytes = 0;
}

static void views_free(void *p)
{
	views *vs = p;
	views_clear(vs);
	free(vs->slot);
	free(vs);
}

static views *views_of(rs_fs *fs)
{
	struct rs_fs_cache *c = &fs->cache[RS_FS_CACHE_VIEWS];
	if (c->p == NULL) {
		views *vs = cm_xcalloc(1, sizeof(views));
		vs->cap = VIEWS_FIRST;
		vs->slot = cm_xcalloc(vs->cap, sizeof(*vs->slot));
		c->p = vs;
		c->free = views_free;
	}
	assert(c->free == views_free);
	return c->p;
}

/* The slot of path in slot[0..cap): its view, or the free slot where it
 * would go. */
static view *slot_in(view *slot, size_t cap, const char *path)
{
	size_t i = (size_t)cm_hash64(path, strlen(path)) & (cap - 1);
	while (slot[i].path != NULL && strcmp(slot[i].path, path) != 0)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

static view *slot_of(views *vs, const char *path)
{
	return slot_in(vs->slot, vs->cap, path);
}

/* Room for one more view at most half full: doubles the table (views
 * move as they are; a path is in it once). */
static void views_make_room(views *vs)
{
	if (2 * (vs->n + 1) <= vs->cap)
		return;
	size_t cap = 2 * vs->cap;
	view *slot = cm_xcalloc(cap, sizeof(*slot));
	for (size_t i = 0; i < vs->cap; i++)
		if (vs->slot[i].path != NULL)
			*slot_in(slot, cap, vs->slot[i].path) = vs->slot[i];
	free(vs->slot);
	vs->slot = slot;
	vs->cap = cap;
}

uint64_t rs_view_restore(rs_mailbox *mb, const char *data, size_t len)
{
	assert(mb->log_off == 0 && mb->n == 0 && !mb->move_pending);
	views *vs = views_of(mb->fs);
	view *v = slot_of(vs, mb->path);
	if (v->path == NULL || v->ino != mb->log_ino || v->bytes.len > len ||
	    memcmp(v->bytes.data, data, v->bytes.len) != 0)
		return 0;
	mb->indexid = v->indexid;
	mb->log_seq = v->log_seq;
	mb->uidvalidity = v->uidvalidity;
	mb->nextuid = v->nextuid;
	mb->highestmodseq = v->highestmodseq;
	mb->floor_uid = v->floor_uid;
	mb->floor_modseq = v->floor_modseq;
	mb->snap_end = v->snap_end;
	mb->stats.uidlist_anomalies += v->anomalies;
	CM_GROW(mb->msgs, mb->cap, v->n);
	if (v->n > 0) /* msgs may be NULL when empty: no memcpy from NULL */
		memcpy(mb->msgs, v->msgs, v->n * sizeof(*v->msgs));
	mb->n = v->n;
	CM_GROW(mb->tombs, mb->tombcap, v->ntombs);
	if (v->ntombs > 0)
		memcpy(mb->tombs, v->tombs, v->ntombs * sizeof(*v->tombs));
	mb->ntombs = v->ntombs;
	if (v->move_pending) {
		mb->move_pending = true;
		cm_uidset_copy(&mb->move_uids, &v->move_uids);
		mb->move_dst = cm_xstrdup(v->move_dst);
		memcpy(mb->move_name, v->move_name, sizeof(mb->move_name));
	}
	return v->bytes.len;
}

/* Fills v (a cleared slot) from mb's state. */
static void view_fill(view *v, const rs_mailbox *mb, const char *data,
		      uint64_t anomalies)
{
	v->path = cm_xstrdup(mb->path);
	v->ino = mb->log_ino;
	cm_buf_append(&v->bytes, data, mb->log_off);
	v->indexid = mb->indexid;
	v->log_seq = mb->log_seq;
	v->uidvalidity = mb->uidvalidity;
	v->nextuid = mb->nextuid;
	v->highestmodseq = mb->highestmodseq;
	v->floor_uid = mb->floor_uid;
	v->floor_modseq = mb->floor_modseq;
	v->snap_end = mb->snap_end;
	v->anomalies = anomalies;
	v->msgs = cm_xmalloc((mb->n + 1) * sizeof(*v->msgs));
	if (mb->n > 0)
		memcpy(v->msgs, mb->msgs, mb->n * sizeof(*mb->msgs));
	v->n = mb->n;
	v->tombs = cm_xmalloc((mb->ntombs + 1) * sizeof(*v->tombs));
	if (mb->ntombs > 0)
		memcpy(v->tombs, mb->tombs, mb->ntombs * sizeof(*mb->tombs));
	v->ntombs = mb->ntombs;
	if (mb->move_pending) {
		v->move_pending = true;
		cm_uidset_copy(&v->move_uids, &mb->move_uids);
		v->move_dst = cm_xstrdup(mb->move_dst);
		memcpy(v->move_name, mb->move_name, sizeof(v->move_name));
	}
}

void rs_view_remember(rs_mailbox *mb, const char *data, uint64_t restored,
		      uint64_t anomalies)
{
	if (restored == mb->log_off || mb->log_off > VIEWS_BYTES_MAX / 4)
		return; /* the view is already there, or too big to keep */
	views *vs = views_of(mb->fs);
	view *v = slot_of(vs, mb->path);
	uint64_t held = v->path != NULL ? v->bytes.len : 0;
	if ((v->path == NULL && vs->n + 1 > VIEWS_MAX) ||
	    vs->bytes - held + mb->log_off > VIEWS_BYTES_MAX)
		views_clear(vs);
	if (v->path == NULL) {
		views_make_room(vs);
		v = slot_of(vs, mb->path);
	} else {
		vs->bytes -= v->bytes.len;
		vs->n--;
		view_clear(v);
	}
	view_fill(v, mb, data, anomalies);
	vs->n++;
	vs->bytes += v->bytes.len;
}
