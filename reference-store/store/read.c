/* Lock-free reads: message files, CONDSTORE/QRESYNC changes, \Recent
 * claims and STATUS. */
#include "rs_private.h"

#include <stdlib.h>
#include <string.h>

/* DIR/SUB/NAME without printf: every FETCH of a body builds one or two. */
static void put_msg_path(cm_buf *b, const rs_mailbox *mb, const char *sub, const char *name)
{
	cm_buf_clear(b);
	cm_buf_puts(b, mb->path);
	cm_buf_putc(b, '/');
	cm_buf_puts(b, sub);
	cm_buf_putc(b, '/');
	cm_buf_puts(b, name);
}

int rs_unlink_msg(rs_mailbox *mb, const char *name)
{
	/* Both: a claim in progress has the file in new/ and cur/. */
	char *p = rs_join(mb->p_new, name);
	int r1 = mb->fs->ops->unlink(mb->fs, p);
	free(p);
	p = rs_join(mb->p_cur, name);
	int r2 = mb->fs->ops->unlink(mb->fs, p);
	free(p);
	return r1 == 0 || r2 == 0 ? 0 : r1;
}

/* One look at a message file at path: read it or stat it. 0, or -errno. */
typedef int msg_look(rs_mailbox *mb, const char *path, void *ctx);

/* new/ then cur/, or cur/ alone when *in_cur says the file was seen there:
 * files only move new/ -> cur/, so a file missed in new/ is found in cur/
 * unless it is gone. 0 with *in_cur set to where it was found and path
 * holding where, -ENOENT if in neither, or another -errno of the look. */
static int look_msg(rs_mailbox *mb, const char *name, bool *in_cur, msg_look *look,
		    void *ctx, cm_buf *path)
{
	static const char *const dirs[2] = {"new", "cur"};
	int r = -ENOENT;
	for (int i = *in_cur ? 1 : 0; i < 2 && r == -ENOENT; i++) {
		put_msg_path(path, mb, dirs[i], name);
		r = look(mb, path->data, ctx);
		*in_cur = i == 1;
	}
	return r;
}

/* look_msg without the path. */
static int look_msg_at(rs_mailbox *mb, const char *name, bool *in_cur, msg_look *look,
		       void *ctx)
{
	cm_buf path = {0};
	int r = look_msg(mb, name, in_cur, look, ctx, &path);
	cm_buf_free(&path);
	return r;
}

/* The lock-free access of rs_fetch_body and rs_fetch_stat: a file found
 * missing is legitimate only if the log says the message was expunged. */
static rs_err access_msg(rs_mailbox *mb, uint32_t uid, char name[RS_MSG_NAME_MAX],
			 bool *in_cur, msg_look *look, void *ctx, const char *what)
{
	const rs_msg *m = rs_state_find(mb, uid);
	if (m == NULL)
		return RS_ENOENT;
	memcpy(name, m->name, RS_MSG_NAME_MAX);
	int r = look_msg_at(mb, name, in_cur, look, ctx);
	if (r == 0)
		return RS_OK;
	if (r != -ENOENT)
		return rs_fail(mb, RS_EFAIL, "%s UID %u failed", what, uid);
	rs_err err = rs_state_sync(mb);
	if (err != RS_OK)
		return err;
	if (rs_state_find(mb, uid) == NULL)
		return RS_ENOENT;
	*in_cur = false;
	if (look_msg_at(mb, name, in_cur, look, ctx) == 0)
		return RS_OK;
	return rs_fail(mb, RS_ECORRUPT, "%s: UID %u is in the log but its file "
		       "%s is missing", mb->path, uid, name);
}

static int look_stat(rs_mailbox *mb, const char *path, void *st_r)
{
	return mb->fs->ops->stat(mb->fs, path, st_r);
}

int rs_msg_path(rs_mailbox *mb, const char *name, cm_buf *path_r)
{
	rs_fs_stat st;
	bool in_cur = false;
	return look_msg(mb, name, &in_cur, look_stat, &st, path_r) == 0 ? 0 : -ENOENT;
}

rs_err rs_fetch_stat(rs_mailbox *mb, uint32_t uid, char name_r[RS_MSG_NAME_MAX],
		     rs_fs_stat *st_r, bool *in_cur)
{
	return access_msg(mb, uid, name_r, in_cur, look_stat, st_r, "stat of");
}

struct read_ctx {
	cm_buf *out;
	uint64_t *idate_r;
};

static int look_read(rs_mailbox *mb, const char *path, void *ctx)
{
	struct read_ctx *c = ctx;
	rs_fs_stat st;
	int r = rs_read_file(mb->fs, path, c->out, &st);
	if (r == 0 && c->idate_r != NULL)
		*c->idate_r = st.mtime_ns;
	return r;
}

rs_err rs_fetch_body(rs_mailbox *mb, uint32_t uid, cm_buf *out,
		     uint64_t *internaldate_ns_r)
{
	char name[RS_MSG_NAME_MAX];
	bool in_cur = false;
	struct read_ctx c = {out, internaldate_ns_r};
	return access_msg(mb, uid, name, &in_cur, look_read, &c, "reading");
}

rs_err rs_changes_since(rs_mailbox *mb, uint64_t since, cm_uidset *changed_r,
			cm_uidset *vanished_r)
{
	cm_uidset_clear(changed_r);
	cm_uidset_clear(vanished_r);
	for (size_t i = 0; i < mb->n; i++)
		if (mb->msgs[i].modseq > since)
			cm_uidset_add(changed_r, mb->msgs[i].uid);
	for (size_t i = 0; i < mb->ntombs; i++)
		if (mb->tombs[i].modseq > since)
			cm_uidset_add_range(vanished_r, mb->tombs[i].lo, mb->tombs[i].hi);
	if (mb->floor_modseq > since && mb->floor_uid > 1) {
		/* Expunges older than the rebuild are forgotten: report every
		 * missing UID below the floor. */
		uint32_t next = 1;
		for (size_t i = 0; i < mb->n && mb->msgs[i].uid < mb->floor_uid; i++) {
			if (mb->msgs[i].uid > next)
				cm_uidset_add_range(vanished_r, next, mb->msgs[i].uid - 1);
			next = mb->msgs[i].uid + 1;
		}
		if (next < mb->floor_uid)
			cm_uidset_add_range(vanished_r, next, mb->floor_uid - 1);
	}
	/* A UID re-added by a mutant is not vanished. */
	for (size_t i = 0; i < mb->n && vanished_r->n > 0; i++)
		cm_uidset_remove(vanished_r, mb->msgs[i].uid);
	return RS_OK;
}

bool rs_claim_recent(rs_mailbox *mb, uint32_t uid)
{
	const rs_msg *m = rs_state_find(mb, uid);
	if (m == NULL)
		return false;
	/* link + fsync(cur/) + unlink, not rename: if another writer's fsync
	 * of new/ made the removal durable before cur/ had the name, a crash
	 * would lose the file. link() is exclusive like rename(). */
	char *from = rs_join(mb->p_new, m->name);
	char *to = rs_join(mb->p_cur, m->name);
	rs_fs *fs = mb->fs;
	int r = fs->ops->link(fs, from, to);
	if (r == 0 && fs->ops->fsync_dir(fs, mb->p_cur) < 0) {
		fs->ops->unlink(fs, to);
		r = -EIO;
	}
	if (r == 0)
		fs->ops->unlink(fs, from);
	free(from);
	free(to);
	return r == 0;
}

struct recent_ctx {
	rs_mailbox *mb;
	uint32_t count;
};

static int count_recent(void *ctx, const char *name)
{
	struct recent_ctx *c = ctx;
	for (size_t i = 0; i < c->mb->n; i++)
		if (strcmp(c->mb->msgs[i].name, name) == 0) {
			c->count++;
			break;
		}
	return 0;
}

rs_err rs_status_get(rs_mailbox *mb, rs_status *st)
{
	rs_err err = rs_sync(mb, false);
	if (err != RS_OK)
		return err;
	memset(st, 0, sizeof(*st));
	st->uidvalidity = mb->uidvalidity;
	st->uidnext = rs_uidnext(mb);
	st->highestmodseq = mb->highestmodseq;
	st->messages = (uint32_t)mb->n;
	for (size_t i = 0; i < mb->n; i++)
		if (!(mb->msgs[i].flags & CM_FLAG_SEEN))
			st->unseen++;
	struct recent_ctx c = {mb, 0};
	mb->fs->ops->list(mb->fs, mb->p_new, count_recent, &c);
	st->recent = c.count;
	return RS_OK;
}
