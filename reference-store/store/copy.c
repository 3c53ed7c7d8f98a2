/* COPY and MOVE (docs/design.md#copy-move): link() the source files into
 * the destination's tmp/, lock it, assign UIDs, rename into new/, commit,
 * unlock. The single log record is the one atomic moment the copies
 * appear. MOVE does the same and commits the source's expunge while
 * holding both locks (taken in path order, so two MOVEs cannot deadlock). */
#include "rs_private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct copy_item {
	uint32_t src_uid;
	cm_flags flags;
	char src_name[RS_NAME_MAX];
	char dst_name[RS_NAME_MAX];
	bool in_new;   /* renamed into the destination's new/ */
	bool g_durable; /* ghost (S5): its name in new/ fsynced */
} copy_item;

typedef struct copy_batch {
	copy_item *v;
	size_t n;
} copy_batch;

static void batch_collect(rs_mailbox *src, const cm_uidset *uids, copy_batch *b)
{
	b->v = cm_xcalloc(src->n + 1, sizeof(*b->v));
	b->n = 0;
	for (size_t r = 0; r < uids->n; r++) {
		size_t i = rs_msg_lower(src, uids->r[r].lo);
		for (; i < src->n && src->msgs[i].uid <= uids->r[r].hi; i++) {
			copy_item *it = &b->v[b->n++];
			it->src_uid = src->msgs[i].uid;
			it->flags = src->msgs[i].flags;
			memcpy(it->src_name, src->msgs[i].name, RS_NAME_MAX);
		}
	}
}

static char *dst_path(rs_mailbox *dst, const copy_item *it)
{
	return rs_join(it->in_new ? dst->p_new : dst->p_tmp, it->dst_name);
}

/* Removes whatever the batch left in the destination (before commit). */
static rs_err batch_discard(rs_mailbox *dst, copy_batch *b, size_t upto, rs_err err)
{
	bool any_new = false;
	for (size_t i = 0; i < upto; i++) {
		char *p = dst_path(dst, &b->v[i]);
		int r = dst->fs->ops->unlink(dst->fs, p);
		free(p);
		if (b->v[i].in_new) {
			any_new = true;
			if (r < 0 && r != -ENOENT)
				err = RS_EUNKNOWN;
		}
	}
	if (any_new && dst->fs->ops->fsync_dir(dst->fs, dst->p_new) < 0)
		err = RS_EUNKNOWN;
	if (err == RS_EUNKNOWN)
		rs_fail(dst, err, "%s: rollback of a copy failed", dst->path);
	return err;
}

/* Stage 1 (no destination lock): hard links into the destination tmp/. */
static rs_err batch_link(rs_mailbox *src, rs_mailbox *dst, copy_batch *b)
{
	cm_buf from = {0};
	/* A claimer may move a file from new/ to cur/ between the look that
	 * found it and the link, so a missing file is looked up again. The
	 * copy-link-once mutant links only where it first looked, and takes
	 * the miss for a source message whose file is gone: a COPY or MOVE
	 * that meets a \Recent claim in that one-call window fails with
	 * RS_ECORRUPT (STORE-LOCK-FREE-READ), though nothing is wrong. */
	int max_tries = rs_mutant_on(dst, RS_MUTANT_COPY_LINK_ONCE) ? 1 : 2;
	for (size_t i = 0; i < b->n; i++) {
		copy_item *it = &b->v[i];
		rs_make_name(dst, it->dst_name);
		char *to = rs_join(dst->p_tmp, it->dst_name);
		int r = -ENOENT;
		for (int tries = 0; tries < max_tries && r == -ENOENT; tries++) {
			if (rs_msg_path(src, it->src_name, &from) == 0)
				r = src->fs->ops->link(src->fs, from.data, to);
		}
		free(to);
		if (r < 0) {
			cm_buf_free(&from);
			rs_err err = rs_err_from_errno(r);
			if (r == -ENOENT) {
				rs_state_sync(src);
				err = rs_state_find(src, it->src_uid) == NULL
					      ? RS_EEXPUNGED : RS_ECORRUPT;
			}
			rs_fail(dst, err, "%s: linking UID %" PRIu32 " failed: %s",
				dst->path, it->src_uid, rs_strerror(err));
			return batch_discard(dst, b, i, err);
		}
	}
	cm_buf_free(&from);
	return RS_OK;
}

static rs_err batch_rename_new(rs_mailbox *dst, copy_batch *b)
{
	RS_ASSERT(dst->g_ul_pending || rs_mutant_on(dst, RS_MUTANT_COPY_VISIBLE_EARLY),
		  "S6 a COPY's UID lines are written before its renames");
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i].in_new)
			continue;
		char *from = rs_join(dst->p_tmp, b->v[i].dst_name);
		char *to = rs_join(dst->p_new, b->v[i].dst_name);
		int r = dst->fs->ops->rename(dst->fs, from, to);
		free(from);
		free(to);
		if (r < 0) {
			rs_fail(dst, rs_err_from_errno(r), "%s: rename into new/ failed",
				dst->path);
			return batch_discard(dst, b, b->n, rs_err_from_errno(r));
		}
		b->v[i].in_new = true;
	}
	if (dst->fs->ops->fsync_dir(dst->fs, dst->p_new) < 0)
		return batch_discard(dst, b, b->n, RS_EFAIL);
	for (size_t i = 0; i < b->n; i++)
		b->v[i].g_durable = true;
	return RS_OK;
}

/* S5: every copy's name is durable in new/. */
static bool batch_durable(const copy_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (!b->v[i].in_new || !b->v[i].g_durable)
			return false;
	return true;
}

/* Stage 2 (destination locked): reserve UIDs, rename, commit. */
static rs_err batch_commit(rs_mailbox *dst, copy_batch *b, rs_copy_result *res)
{
	rs_err err = rs_uids_left(dst, b->n);
	if (err != RS_OK)
		return batch_discard(dst, b, b->n, err);
	uint32_t first = rs_free_uid(dst);
	RS_ASSERT(rs_uid_free(dst, first),
		  "S1 a COPY's UIDs are assigned under the lock, above all");
	cm_buf lines = {0}, rec = {0};
	for (size_t i = 0; i < b->n; i++) {
		cm_buf_printf(&lines, "%" PRIu32 " %s\n", rs_uid_nth(dst, first, i),
			      b->v[i].dst_name);
		cm_buf_printf(&rec, "%s%" PRIu32 " %s ", i ? " " : "",
			      rs_uid_nth(dst, first, i), b->v[i].dst_name);
		rs_format_flags(&rec, b->v[i].flags);
	}
	/* UID lines before the renames: after a crash, a file in new/ with a
	 * line but no commit is rolled back, never adopted, so a COPY never
	 * appears in part. */
	err = rs_uidlist_append(dst, &lines);
	if (err != RS_OK)
		err = batch_discard(dst, b, b->n, err);
	else
		dst->ul_nextuid = CM_MAX(dst->ul_nextuid, rs_uid_nth(dst, first, b->n - 1) + 1);
	if (err == RS_OK && !rs_mutant_on(dst, RS_MUTANT_COPY_VISIBLE_EARLY))
		err = batch_rename_new(dst, b);
	uint64_t modseq;
	if (err == RS_OK) {
		RS_ASSERT(batch_durable(b) || rs_mutant_on(dst, RS_MUTANT_COPY_VISIBLE_EARLY),
			  "S5 every copy's name is durable in new/ before the commit");
		err = rs_log_commit(dst, 'A', &rec, &modseq);
		if (err != RS_OK && err != RS_EUNKNOWN)
			err = batch_discard(dst, b, b->n, err);
	}
	if (err == RS_OK) {
		for (size_t i = 0; i < b->n; i++) {
			cm_uidset_add(&res->src, b->v[i].src_uid);
			cm_uidset_add(&res->dst, rs_uid_nth(dst, first, i));
		}
		res->dst_uidvalidity = dst->uidvalidity;
	}
	cm_buf_free(&lines);
	cm_buf_free(&rec);
	return err;
}

static void result_init(rs_copy_result *res)
{
	cm_uidset_clear(&res->src);
	cm_uidset_clear(&res->dst);
	res->dst_uidvalidity = 0;
	res->expunge_modseq = 0;
}

rs_err rs_copy(rs_mailbox *src, rs_mailbox *dst, const cm_uidset *uids,
	       rs_copy_result *res)
{
	copy_batch b;
	result_init(res);
	batch_collect(src, uids, &b);
	rs_err err = b.n ? batch_link(src, dst, &b) : RS_OK;
	if (err == RS_OK && b.n && rs_mutant_on(dst, RS_MUTANT_COPY_VISIBLE_EARLY))
		err = batch_rename_new(dst, &b); /* visible before any UID */
	if (err == RS_OK && b.n) {
		err = rs_write_begin(dst);
		if (err != RS_OK)
			batch_discard(dst, &b, b.n, err);
		else {
			err = batch_commit(dst, &b, res);
			rs_write_end(dst);
		}
	}
	free(b.v);
	return err;
}

/* ---- MOVE ---- */

/* The source's log says "these UIDs are moving to dst as <first copy>"
 * before the copies commit, so that if the writer dies between the two
 * commits, the next holder of the source lock can finish the MOVE (the
 * copies committed) or abandon it (they did not): never in both, never
 * in neither. */
static rs_err move_intent(rs_mailbox *src, rs_mailbox *dst, const copy_batch *b)
{
	cm_uidset set = {0};
	cm_buf body = {0};
	for (size_t i = 0; i < b->n; i++)
		cm_uidset_add(&set, b->v[i].src_uid);
	cm_uidset_format(&body, &set);
	cm_buf_printf(&body, " %s %s", dst->path, b->v[0].dst_name);
	uint64_t modseq;
	rs_err err = rs_log_commit(src, 'M', &body, &modseq);
	cm_buf_free(&body);
	cm_uidset_free(&set);
	return err;
}

static void move_abort(rs_mailbox *src, const copy_batch *b)
{
	cm_uidset set = {0};
	cm_buf body = {0};
	for (size_t i = 0; i < b->n; i++)
		cm_uidset_add(&set, b->v[i].src_uid);
	cm_uidset_format(&body, &set);
	uint64_t modseq;
	/* If this fails too, the intent stays and the next holder decides. */
	rs_log_commit(src, 'X', &body, &modseq);
	cm_buf_free(&body);
	cm_uidset_free(&set);
}

static bool contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; n > 0 && i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* Did the destination commit the copy named name? 1 yes, 0 no, -1 cannot
 * tell. A record with a valid checksum but no terminator counts (the
 * destination's recovery will keep it), but a valid checksum does not
 * prove the record was fsynced: its writer may have died between the
 * append and the fsync. So the record is made durable here before it is
 * counted, or a crash could take the copy back after the source's expunge. */
static int dst_has_copy(rs_fs *fs, const char *dst_path, const char *name,
			const rs_options *opts)
{
	rs_mailbox *d = rs_open_reader(fs, dst_path, opts);
	if (d == NULL)
		return 0;
	int found = 0;
	if (rs_state_sync(d) == RS_OK) {
		for (size_t i = 0; i < d->n && !found; i++)
			found = strcmp(d->msgs[i].name, name) == 0;
		if (!found && d->log_durable > d->log_off) {
			cm_buf all = {0};
			if (rs_read_file(fs, d->p_log, &all, NULL) == 0 &&
			    all.len >= d->log_durable &&
			    contains(all.data + d->log_off, d->log_durable - d->log_off, name))
				found = fs->ops->fsync(fs, d->log_fd) == 0 ? 1 : -1;
			cm_buf_free(&all);
		}
	}
	rs_close(d);
	return found;
}

rs_err rs_move_resolve(rs_mailbox *mb)
{
	if (!mb->locked || !mb->move_pending)
		cm_panic("rs_move_resolve: no pending move under the lock");
	/* We hold the lock, so the MOVE's writer is gone. */
	rs_options o = mb->opts;
	int found = dst_has_copy(mb->fs, mb->move_dst, mb->move_name, &o);
	if (found < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot tell whether a MOVE into %s "
			       "committed", mb->path, mb->move_dst);
	bool done = found == 1;
	cm_uidset set = {0};
	cm_uidset_copy(&set, &mb->move_uids);
	rs_err err;
	uint64_t modseq;
	if (done) {
		cm_uidset live = {0};
		for (size_t i = 0; i < mb->n; i++)
			if (cm_uidset_contains(&set, mb->msgs[i].uid))
				cm_uidset_add(&live, mb->msgs[i].uid);
		err = live.n ? rs_expunge_locked(mb, &live, &modseq) : RS_OK;
		if (err == RS_OK && mb->move_pending) {
			cm_buf body = {0};
			cm_uidset_format(&body, &set);
			err = rs_log_commit(mb, 'X', &body, &modseq);
			cm_buf_free(&body);
		}
		cm_uidset_free(&live);
	} else {
		cm_buf body = {0};
		cm_uidset_format(&body, &set);
		err = rs_log_commit(mb, 'X', &body, &modseq);
		cm_buf_free(&body);
	}
	cm_uidset_free(&set);
	mb->stats.repairs++;
	RS_ASSERT(err != RS_OK || !mb->move_pending, "S9 a resolved intent is closed");
	return err;
}

static rs_err lock_pair(rs_mailbox *a, rs_mailbox *b)
{
	rs_mailbox *first = strcmp(a->path, b->path) < 0 ? a : b;
	rs_mailbox *second = first == a ? b : a;
	RS_ASSERT(strcmp(first->path, second->path) < 0,
		  "S12 two mailboxes are locked in path order");
	rs_err err = rs_write_begin(first);
	if (err != RS_OK)
		return err;
	err = rs_write_begin(second);
	if (err != RS_OK)
		rs_write_end(first);
	return err;
}

/* The naive MOVE of docs/design.md#copy-move: rename() each file straight
 * into the destination, then register it there, then expunge in the
 * source. The source loses the file before anything is committed, and
 * nothing can be undone if a later step fails. */
static rs_err move_by_rename(rs_mailbox *src, rs_mailbox *dst,
			     const cm_uidset *uids, rs_copy_result *res)
{
	copy_batch b;
	cm_buf from = {0};
	rs_err err = RS_OK;
	batch_collect(src, uids, &b);
	size_t moved = 0;
	for (; moved < b.n; moved++) {
		copy_item *it = &b.v[moved];
		rs_make_name(dst, it->dst_name);
		char *to = rs_join(dst->p_new, it->dst_name);
		int r = rs_msg_path(src, it->src_name, &from);
		if (r == 0)
			r = src->fs->ops->rename(src->fs, from.data, to);
		free(to);
		if (r < 0) {
			err = rs_fail(src, rs_err_from_errno(r), "rename failed");
			break;
		}
		it->in_new = true;
	}
	cm_buf_free(&from);
	b.n = moved;
	if (err == RS_OK && b.n > 0)
		err = rs_write_begin(dst);
	if (err == RS_OK && b.n > 0) {
		err = batch_commit(dst, &b, res);
		rs_write_end(dst);
	}
	if (err == RS_OK && b.n > 0 && (err = rs_write_begin(src)) == RS_OK) {
		err = rs_expunge_locked(src, &res->src, &res->expunge_modseq);
		rs_write_end(src);
	}
	free(b.v);
	return err;
}

rs_err rs_move(rs_mailbox *src, rs_mailbox *dst, const cm_uidset *uids,
	       rs_copy_result *res)
{
	result_init(res);
	if (src == dst || strcmp(src->path, dst->path) == 0)
		return rs_fail(src, RS_EINVAL, "MOVE into the same mailbox");
	if (rs_mutant_on(src, RS_MUTANT_MOVE_RENAME))
		return move_by_rename(src, dst, uids, res);
	if (strchr(dst->path, ' ') != NULL || dst->path[0] != '/')
		return rs_fail(src, RS_EINVAL, "MOVE needs an absolute destination "
			       "path without spaces");
	rs_err err = lock_pair(src, dst);
	if (err != RS_OK)
		return err;
	copy_batch b;
	batch_collect(src, uids, &b); /* fresh: src is locked and synced */
	if (b.n > 0)
		err = batch_link(src, dst, &b);
	if (err == RS_OK && b.n > 0)
		err = move_intent(src, dst, &b);
	if (err == RS_OK && b.n > 0) {
		RS_ASSERT(src->move_pending,
			  "S9 a MOVE's intent is committed before its copies");
		err = batch_commit(dst, &b, res);
		if (err != RS_OK && err != RS_EUNKNOWN)
			move_abort(src, &b);
	}
	if (err == RS_OK && b.n > 0) {
		err = rs_expunge_locked(src, &res->src, &res->expunge_modseq);
		if (err != RS_OK && err != RS_EUNKNOWN) {
			/* The copies are committed, and readers may have seen
			 * them: taking them back would show a MOVE that failed
			 * after all. The MOVE has happened; the intent makes the
			 * next holder of the source's lock finish the expunge,
			 * and until then the caller cannot know the outcome. */
			err = rs_fail(src, RS_EUNKNOWN, "%s: MOVE committed in %s; the "
				      "source's expunge is left to its next writer",
				      src->path, dst->path);
			cm_uidset_clear(&res->src);
			cm_uidset_clear(&res->dst);
		}
	}
	rs_write_end(dst);
	rs_write_end(src);
	free(b.v);
	return err;
}

void rs_copy_result_free(rs_copy_result *res)
{
	cm_uidset_free(&res->src);
	cm_uidset_free(&res->dst);
}
