/* EXPUNGE and UID EXPUNGE: only \Deleted messages; the E record commits,
 * then the files go (a reader that still finds the UID re-syncs and sees
 * the expunge before it could miss the file). */
#include "rs_private.h"

#include <stdlib.h>
#include <string.h>

/* S7: no UID of uids is in the store state. */
static bool none_in_view(const rs_mailbox *mb, const cm_uidset *uids)
{
	for (size_t r = 0; r < uids->n; r++) {
		size_t i = rs_msg_lower(mb, uids->r[r].lo);
		if (i < mb->n && mb->msgs[i].uid <= uids->r[r].hi)
			return false;
	}
	return true;
}

/* Unlinks the files of the named messages from new/ and cur/ and makes the
 * unlinks durable before the UID list can drop their lines (or a crash
 * would bring a file back as a foreign drop). */
static void unlink_files(rs_mailbox *mb, char (*names)[RS_NAME_MAX], size_t k)
{
	for (size_t i = 0; i < k; i++)
		rs_unlink_msg(mb, names[i]);
	mb->fs->ops->fsync_dir(mb->fs, mb->p_new);
	mb->fs->ops->fsync_dir(mb->fs, mb->p_cur);
}

rs_err rs_expunge_locked(rs_mailbox *mb, const cm_uidset *uids, uint64_t *modseq_r)
{
	/* The expunge-unlink-first mutant removes the files before the E
	 * record, the order a plain Maildir expunge takes (S7: commit first).
	 * Until the record commits, a lock-free reader's log still lists the
	 * UIDs whose files are gone (STORE-LOCK-FREE-READ). */
	bool early = rs_mutant_on(mb, RS_MUTANT_EXPUNGE_UNLINK_FIRST);
	if (uids->n == 0) {
		*modseq_r = 0;
		return RS_OK;
	}
	/* Names first: the commit removes the messages from the store state. */
	size_t count = (size_t)CM_MIN(cm_uidset_count(uids), mb->n), k = 0;
	char (*names)[RS_NAME_MAX] = cm_xmalloc((count + 1) * RS_NAME_MAX);
	for (size_t r = 0; r < uids->n; r++) {
		size_t i = rs_msg_lower(mb, uids->r[r].lo);
		for (; i < mb->n && mb->msgs[i].uid <= uids->r[r].hi && k < count; i++)
			memcpy(names[k++], mb->msgs[i].name, RS_NAME_MAX);
	}
	if (early)
		unlink_files(mb, names, k);
	cm_buf body = {0};
	cm_uidset_format(&body, uids);
	rs_err err = rs_log_commit(mb, 'E', &body, modseq_r);
	cm_buf_free(&body);
	if (err == RS_OK) {
		RS_ASSERT(none_in_view(mb, uids),
			  "S7 an expunge commits before the files are unlinked");
		if (!early)
			unlink_files(mb, names, k);
	}
	free(names);
	return err;
}

rs_err rs_expunge(rs_mailbox *mb, const cm_uidset *uids, cm_uidset *expunged_r,
		  uint64_t *modseq_r)
{
	cm_uidset set = {0};
	uint64_t modseq = 0;
	rs_err err = rs_write_begin(mb);
	if (err == RS_OK) {
		cm_uidset every = {0};
		if (uids == NULL)
			cm_uidset_add_range(&every, 1, UINT32_MAX);
		const cm_uidset *want = uids ? uids : &every;
		for (size_t r = 0; r < want->n; r++) {
			size_t i = rs_msg_lower(mb, want->r[r].lo);
			for (; i < mb->n && mb->msgs[i].uid <= want->r[r].hi; i++)
				if (mb->msgs[i].flags & CM_FLAG_DELETED)
					cm_uidset_add(&set, mb->msgs[i].uid);
		}
		cm_uidset_free(&every);
		err = rs_expunge_locked(mb, &set, &modseq);
		rs_write_end(mb);
	}
	if (expunged_r != NULL) {
		cm_uidset_clear(expunged_r);
		if (err == RS_OK || err == RS_EUNKNOWN)
			cm_uidset_add_set(expunged_r, &set);
	}
	if (modseq_r != NULL)
		*modseq_r = modseq;
	cm_uidset_free(&set);
	return err;
}
