/* The replication agent's writes to one replica (docs/replication.md):
 * an add under the UID and name the message has on the replica it came
 * from, the fix-up of a UID the peer cannot take, and an expunge another
 * replica made. Each is a writer like any other: the lock, the log record
 * as the commit point, the files as a delivery or an expunge handles them
 * (protocol.h S1-S12 hold for them as for every writer). */
#include "rs_private.h"

#include <stdlib.h>
#include <string.h>

const char *rs_log_path(const rs_mailbox *mb)
{
	return mb->p_log;
}

void rs_set_origin(rs_mailbox *mb, uint32_t origin)
{
	mb->origin = origin;
}

/* Steps 2-5 of a delivery of data under name at uid, lock held. */
static rs_err add_locked(rs_mailbox *mb, const void *data, size_t len, const char *name,
			 cm_flags flags, uint32_t uid)
{
	char *tmp_path = rs_join(mb->p_tmp, name);
	char *new_path = rs_join(mb->p_new, name);
	rs_err err = RS_OK;
	int r = rs_write_tmp(mb, tmp_path, data, len);
	if (r < 0)
		err = rs_fail(mb, rs_err_from_errno(r), "%s: writing tmp/ failed", mb->path);
	uint64_t modseq;
	if (err == RS_OK)
		err = rs_deliver_locked(mb, name, tmp_path, new_path, uid, flags, &modseq);
	free(tmp_path);
	free(new_path);
	return err;
}

/* A name is one file in a mailbox: a replica that has it has the message. */
static bool name_taken(const rs_mailbox *mb, const char *name)
{
	for (size_t i = 0; i < mb->n; i++)
		if (strcmp(mb->msgs[i].name, name) == 0)
			return true;
	return false;
}

rs_err rs_repl_add(rs_mailbox *mb, const void *data, size_t len, const char *name,
		   cm_flags flags, uint32_t uid)
{
	assert(uid != 0 && name[0] != '\0' && strlen(name) < RS_NAME_MAX);
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	/* The rebind mutant takes a UID below the next free one (its file is
	 * new, so only UIDs in use are refused): a message appears out of
	 * order, under a UID clients were told is spent. */
	bool rebind = rs_mutant_on(mb, RS_MUTANT_REPL_REBIND | RS_MUTANT_REPL_RESURRECT) &&
		      rs_msg_find(mb, uid) == NULL;
	if (name_taken(mb, name))
		err = RS_OK; /* there already: a sync that ran before */
	else if (!rs_uid_free(mb, uid) && !rebind)
		err = RS_EEXIST;
	else if ((err = rs_uids_left(mb, 1)) == RS_OK)
		err = add_locked(mb, data, len, name, flags, uid);
	rs_write_end(mb);
	return err;
}

rs_err rs_repl_renumber(rs_mailbox *mb, uint32_t uid, uint32_t new_uid,
			const char *new_name, cm_flags *flags_r)
{
	assert(new_uid > uid && new_name[0] != '\0' && strlen(new_name) < RS_NAME_MAX);
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	const rs_msg *m = rs_msg_find(mb, uid);
	cm_buf body = {0};
	if (m == NULL)
		err = RS_EEXPUNGED;
	else if (!rs_uid_free(mb, new_uid))
		err = RS_EEXIST;
	else
		err = rs_fetch_body(mb, uid, &body, NULL);
	if (err == RS_OK) {
		*flags_r = m->flags; /* as of the lock: every change made before */
		err = add_locked(mb, body.data, body.len, new_name, m->flags, new_uid);
	}
	if (err == RS_OK) {
		/* Both exist until this commits: a crash here leaves a
		 * duplicate, never a loss. */
		cm_uidset one = {0};
		uint64_t modseq;
		cm_uidset_add(&one, uid);
		err = rs_expunge_locked(mb, &one, &modseq);
		cm_uidset_free(&one);
		if (err != RS_OK)
			err = RS_EUNKNOWN;
	}
	cm_buf_free(&body);
	rs_write_end(mb);
	return err;
}

rs_err rs_repl_expunge(rs_mailbox *mb, const cm_uidset *uids)
{
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	cm_uidset set = {0};
	for (size_t r = 0; r < uids->n; r++) {
		size_t i = rs_msg_lower(mb, uids->r[r].lo);
		for (; i < mb->n && mb->msgs[i].uid <= uids->r[r].hi; i++)
			cm_uidset_add(&set, mb->msgs[i].uid);
	}
	uint64_t modseq;
	err = rs_expunge_locked(mb, &set, &modseq);
	cm_uidset_free(&set);
	rs_write_end(mb);
	return err;
}
