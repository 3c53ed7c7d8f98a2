/* Delivery and APPEND (docs/design.md#delivery): write to tmp/, take the
 * lock, assign the UID and rename into new/, append the UID-list line, then
 * commit the log record (the "index sync" of the design) and release the
 * lock.
 *
 * new/'s fsync after the rename is what makes the acknowledged message's
 * name survive a crash (tmp/ is never synced, so until then the file is in
 * no durable directory). The deliver-unsynced mutant skips it, as Maildir
 * deliverers did on file systems that do not order metadata: a power cut
 * can take the file while the UID list and the log, which fsync
 * themselves, keep its UID. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int rs_write_tmp(rs_mailbox *mb, const char *path, const void *data, size_t len)
{
	rs_fs *fs = mb->fs;
	int fd = fs->ops->open(fs, path, RS_O_APPEND | RS_O_CREAT | RS_O_EXCL);
	if (fd < 0)
		return fd;
	ssize_t n = len ? fs->ops->append(fs, fd, data, len) : 0;
	int r = n < 0 ? (int)n : fs->ops->fsync(fs, fd);
	fs->ops->close(fs, fd);
	if (r < 0)
		fs->ops->unlink(fs, path);
	return r;
}

/* The deliver-nolock mutant: pick the UID from what we can read without
 * the lock, as the delivery agent docs/design.md#delivery rejects, which
 * "generates the UID before" locking. */
static uint32_t uid_without_lock(rs_mailbox *mb)
{
	rs_uidlist ul;
	const char *why;
	uint32_t next = 0;
	rs_state_sync(mb);
	if (rs_read_file(mb->fs, mb->p_uidlist, &mb->rbuf, NULL) == 0) {
		if (rs_uidlist_scan(mb->rbuf.data, mb->rbuf.len, &ul, &why) == RS_OK)
			next = ul.nextuid;
		rs_uidlist_free(&ul);
	}
	return CM_MAX(next, mb->nextuid);
}

/* Undo of a rename into new/ before the commit point. */
static rs_err rollback_new(rs_mailbox *mb, const char *new_path, rs_err err)
{
	int r = mb->fs->ops->unlink(mb->fs, new_path);
	if (r == 0)
		r = mb->fs->ops->fsync_dir(mb->fs, mb->p_new);
	if (r < 0 && r != -ENOENT)
		return rs_fail(mb, RS_EUNKNOWN, "%s: rollback of a delivery failed",
			       mb->path);
	return err;
}

/* Step 5: rename tmp/<name> into new/ and fsync new/ (skipped by
 * deliver-unsynced). 0, or the -errno of the rename or the fsync, with
 * the file left where the rename put it. *durable_r: new/ was fsynced. */
static int rename_into_new(rs_mailbox *mb, const char *tmp_path, const char *new_path,
			   bool *durable_r)
{
	rs_fs *fs = mb->fs;
	*durable_r = false;
	int r = fs->ops->rename(fs, tmp_path, new_path);
	if (r == 0 && !rs_mutant_on(mb, RS_MUTANT_DELIVER_UNSYNCED) &&
	    !rs_mutant_on(mb, RS_MUTANT_DELIVER_SYNC_LATE)) {
		r = fs->ops->fsync_dir(fs, mb->p_new);
		*durable_r = r == 0;
	}
	return r;
}

/* The deliver-rename-late mutant's last step: the A record is committed
 * while the file is still in tmp/, where no reader looks (S5: the name is
 * durable in new/ before anything names it). A lock-free reader that
 * reads the log between the commit and this rename finds a UID without
 * its file; a crash in between leaves the committed UID a tmp/ file that
 * recovery removes. The commit may have happened (err is RS_OK or
 * RS_EUNKNOWN), so the file goes to new/ either way, and a failure here is
 * RS_EUNKNOWN. Returns err, or RS_EUNKNOWN. */
static rs_err rename_after_commit(rs_mailbox *mb, const char *tmp_path,
				  const char *new_path, rs_err err)
{
	bool durable;
	RS_ASSERT(err == RS_OK || err == RS_EUNKNOWN, "only a commit that may have "
		  "happened is followed by the late rename");
	if (rename_into_new(mb, tmp_path, new_path, &durable) < 0)
		return rs_fail(mb, RS_EUNKNOWN, "%s: rename into new/ after the commit "
			       "failed", mb->path);
	return err;
}

/* The deliver-sync-late mutant's last step: new/ is fsynced after the
 * commit, still before the reply, so an acknowledged message is durable.
 * But the UID is published (the log and the UID list are synced) while
 * the file's name is not: a crash at this one call leaves a committed UID
 * whose file the power cut took (S5, "UIDNEXT published before the
 * rename is durable"). Returns err, or RS_EUNKNOWN when the fsync fails. */
static rs_err sync_after_commit(rs_mailbox *mb, rs_err err)
{
	if (err == RS_OK && mb->fs->ops->fsync_dir(mb->fs, mb->p_new) < 0)
		return rs_fail(mb, RS_EUNKNOWN, "%s: fsync of new/ after the commit failed",
			       mb->path);
	return err;
}

rs_err rs_deliver_locked(rs_mailbox *mb, const char *name, const char *tmp_path,
			     const char *new_path, uint32_t uid, cm_flags flags,
			     uint64_t *modseq_r)
{
	rs_fs *fs = mb->fs;
	bool durable = false, late = rs_mutant_on(mb, RS_MUTANT_DELIVER_RENAME_LATE);
	RS_ASSERT(rs_mutant_on(mb, RS_MUTANT_DELIVER_NOLOCK) || rs_uid_free(mb, uid),
		  "S1 a delivery's UID is assigned under the lock, above all");
	int r = late ? 0 : rename_into_new(mb, tmp_path, new_path, &durable);
	if (r < 0) {
		fs->ops->unlink(fs, tmp_path);
		if (fs->ops->stat(fs, new_path, &(rs_fs_stat){0}) == 0)
			return rollback_new(mb, new_path, rs_err_from_errno(r));
		return rs_fail(mb, rs_err_from_errno(r), "%s: rename into new/ failed",
			       mb->path);
	}
	bool sync_late = rs_mutant_on(mb, RS_MUTANT_DELIVER_SYNC_LATE);
	RS_ASSERT(durable || late || sync_late || rs_mutant_on(mb, RS_MUTANT_DELIVER_UNSYNCED),
		  "S5 the name in new/ is durable before the UID list names it");
	cm_buf line = {0};
	cm_buf_printf(&line, "%" PRIu32 " %s\n", uid, name);
	rs_err err = rs_uidlist_append(mb, &line);
	cm_buf_free(&line);
	if (err != RS_OK && late)
		fs->ops->unlink(fs, tmp_path);
	if (err != RS_OK)
		return rollback_new(mb, new_path, err);
	mb->ul_nextuid = CM_MAX(mb->ul_nextuid, uid + 1);
	cm_buf rec = {0};
	cm_buf_printf(&rec, "%" PRIu32 " %s ", uid, name);
	rs_format_flags(&rec, flags);
	RS_ASSERT(mb->g_ul_pending, "S6 the UID line is written before the commit");
	err = rs_log_commit(mb, 'A', &rec, modseq_r);
	cm_buf_free(&rec);
	if (err != RS_OK && err != RS_EUNKNOWN && late)
		fs->ops->unlink(fs, tmp_path);
	if (err != RS_OK && err != RS_EUNKNOWN)
		return rollback_new(mb, new_path, err);
	if (sync_late)
		return sync_after_commit(mb, err);
	return late ? rename_after_commit(mb, tmp_path, new_path, err) : err;
}

rs_err rs_append(rs_mailbox *mb, const void *data, size_t len, cm_flags flags,
		 uint32_t *uid_r, uint64_t *modseq_r)
{
	char name[RS_NAME_MAX];
	uint64_t modseq = 0;
	rs_make_name(mb, name);
	char *tmp_path = rs_join(mb->p_tmp, name);
	char *new_path = rs_join(mb->p_new, name);
	rs_err err = RS_OK;
	int r = rs_write_tmp(mb, tmp_path, data, len);
	if (r < 0)
		err = rs_fail(mb, rs_err_from_errno(r), "%s: writing tmp/ failed",
			      mb->path);
	uint32_t stale_uid = 0;
	if (err == RS_OK && rs_mutant_on(mb, RS_MUTANT_DELIVER_NOLOCK))
		stale_uid = uid_without_lock(mb);
	if (err == RS_OK) {
		err = rs_write_begin(mb);
		if (err == RS_OK && (err = rs_uids_left(mb, 1)) != RS_OK)
			rs_write_end(mb);
		if (err != RS_OK)
			mb->fs->ops->unlink(mb->fs, tmp_path);
	}
	if (err == RS_OK) {
		uint32_t uid = stale_uid ? stale_uid : rs_free_uid(mb);
		err = rs_deliver_locked(mb, name, tmp_path, new_path, uid, flags, &modseq);
		rs_write_end(mb);
		if (uid_r != NULL)
			*uid_r = uid;
	}
	if (modseq_r != NULL)
		*modseq_r = modseq;
	free(tmp_path);
	free(new_path);
	return err;
}
