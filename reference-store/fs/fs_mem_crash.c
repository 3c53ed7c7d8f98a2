/* The in-memory rs_fs (fs_mem.c): a power cut, and the check of every
 * internal invariant. */
#include "fs_mem_private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- crash ----------------------------------------------------------------- */

static void dir_revert(struct dir *d)
{
	while (d->njrn > 0) {
		uint32_t idx = d->jrn[d->njrn - 1];
		struct dent *e = &d->ent[idx];
		memfs_jrn_del(d, idx);
		d->nlive -= e->cur != NONE;
		e->cur = e->dur;
		d->nlive += e->cur != NONE;
		if (e->cur == NONE)
			memfs_dir_remove(d, idx);
	}
}

static void queue_push(struct memfs *m, uint32_t i)
{
	MEMFS_GROW(m->queue, m->nqueue, m->queue_cap);
	m->queue[m->nqueue++] = i;
}

/* Breadth-first from the root: marks what survives and recounts refs.
 * Directories synced on one side of a rename only can come back under
 * two parents (even in a cycle): keep the one nearest the root. */
static void mark_reachable(struct memfs *m)
{
	for (uint32_t i = 0; i < m->nin; i++) {
		m->in[i].refs = 0;
		m->in[i].mark = false;
	}
	m->in[ROOT].refs = 1;
	m->in[ROOT].mark = true;
	m->nqueue = 0;
	queue_push(m, ROOT);
	for (uint32_t q = 0; q < m->nqueue; q++) {
		struct dir *d = &m->in[m->queue[q]].d;
		for (uint32_t k = d->nent; k-- > 0;) {
			struct inode *c = &m->in[d->ent[k].cur];
			if (c->is_dir && c->mark) {
				d->ent[k].cur = NONE;
				d->nlive--;
				memfs_dir_remove(d, k);
				continue;
			}
			c->refs++;
			if (!c->mark && c->is_dir)
				queue_push(m, d->ent[k].cur);
			c->mark = true;
		}
	}
}

void rs_memfs_crash(rs_fs *fs, uint64_t tear_seed)
{
	struct memfs *m = to_mem(fs);
	m->dir_gen++; /* reverted entries may name other directories */
	memfs_reap(m);
	memfs_fd_drop_all(m);
	for (uint32_t i = 0; i < m->nin; i++)
		if (m->in[i].ino != 0 && m->in[i].is_dir)
			dir_revert(&m->in[i].d);
	mark_reachable(m);
	cm_rng rng;
	cm_rng_seed(&rng, tear_seed);
	for (uint32_t i = 0; i < m->nin; i++) {
		struct inode *n = &m->in[i];
		if (n->ino == 0)
			continue;
		if (!n->mark)
			memfs_inode_free(m, i, false);
		else if (!n->is_dir)
			memfs_file_revert(m, n, tear_seed ? &rng : NULL);
	}
}

/* ---- invariant check ---------------------------------------------------------- */

static void check_dir(const struct memfs *m, const struct dir *d, uint32_t *refs)
{
	uint32_t live = 0, used_slots = 0;
	for (uint32_t k = 0; k < d->nent; k++) {
		const struct dent *e = &d->ent[k];
		if (memfs_dir_find(d, e->name, e->len, e->hash) != k ||
		    e->hash != cm_hash64(e->name, e->len))
			cm_panic("memfs check: entry %s not found", e->name);
		if (e->cur == NONE && e->jidx == NONE)
			cm_panic("memfs check: dead entry %s kept", e->name);
		if (e->jidx != NONE && (e->jidx >= d->njrn || d->jrn[e->jidx] != k ||
					e->dur == e->cur))
			cm_panic("memfs check: journal of %s", e->name);
		if (e->cur != NONE) {
			live++;
			refs[e->cur]++;
		}
		if (e->jidx != NONE && e->dur != NONE)
			refs[e->dur]++;
	}
	if (d->tab != NULL)
		for (uint32_t i = 0; i <= d->mask; i++)
			used_slots += d->tab[i] != 0;
	if (live != d->nlive || used_slots != d->nent)
		cm_panic("memfs check: directory counts");
	(void)m;
}

void rs_memfs_check(rs_fs *fs, uint64_t *inodes_r, uint64_t *entries_r,
		    uint64_t *journal_r)
{
	struct memfs *m = to_mem(fs);
	uint32_t *refs = cm_xcalloc(m->nin, sizeof(*refs));
	uint64_t inodes = 0, entries = 0, journal = 0, used = 0, nfree = 0;
	refs[ROOT] = 1;
	for (uint32_t k = 0; k < m->nfd; k++)
		if (m->fd[k].inode != NONE)
			refs[m->fd[k].inode]++;
	for (uint32_t i = 0; i < m->nin; i++) {
		const struct inode *n = &m->in[i];
		if (n->ino == 0)
			continue;
		inodes++;
		if (n->is_dir) {
			check_dir(m, &n->d, refs);
			entries += n->d.nent;
			journal += n->d.njrn;
		} else {
			used += n->len;
			if (!n->has_dcopy && n->dlen > n->len)
				cm_panic("memfs check: durable length");
		}
	}
	for (uint32_t i = m->in_free; i != NONE; i = m->in[i].next_free)
		nfree++;
	for (uint32_t i = 0; i < m->nin; i++)
		if (m->in[i].ino != 0 && (m->in[i].refs != refs[i] || refs[i] == 0))
			cm_panic("memfs check: inode slot %u has %u refs, expected %u",
				 i, m->in[i].refs, refs[i]);
	if (used != m->used || inodes + nfree != m->nin || m->ndead != 0)
		cm_panic("memfs check: totals");
	free(refs);
	if (inodes_r)
		*inodes_r = inodes;
	if (entries_r)
		*entries_r = entries;
	if (journal_r)
		*journal_r = journal;
}
