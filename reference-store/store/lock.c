/* The mailbox lock: ratchet-uidlist.lock holding "<pid> <host> <nonce>".
 *
 * Taken by link()ing a private file that already holds the content, so the
 * lock never exists empty. A stale lock (dead pid on this host, or too old
 * on another host) is broken by whoever first links its own lock file to
 * "ratchet-uidlist.lock.break.<nonce>.<k>": each lock instance is broken
 * by one breaker, so two breakers can never remove each other's fresh
 * lock, and a breaker that dies hands over to generation k+1. Break
 * markers stay (they are tiny) until very old. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BREAK_MARKER_TTL_NS (3600ull * 1000000000u)

struct lock_owner {
	uint32_t pid;
	char host[64];
	char nonce[64];
};

static bool parse_owner(const char *s, struct lock_owner *o)
{
	char tail;
	return sscanf(s, "%" SCNu32 " %63s %63s%c", &o->pid, o->host, o->nonce,
		      &tail) >= 3 && strchr(o->nonce, '/') == NULL;
}

static bool lock_is_stale(rs_mailbox *mb, const struct lock_owner *o,
			  const rs_fs_stat *st)
{
	uint64_t now = mb->fs->ops->now_ns(mb->fs);
	uint64_t age = now > st->mtime_ns ? now - st->mtime_ns : 0;
	if (strcmp(o->host, mb->host) == 0) {
		int alive = mb->fs->ops->pid_alive(mb->fs, o->pid);
		if (alive >= 0)
			return alive == 0;
	}
	return age > mb->opts.lock_stale_ns;
}

/* The right to break one lock instance goes to whoever first links its
 * own lock file to "<lock>.break.<instance>.<k>": the file names the
 * breaker, and if that breaker died before finishing, generation k+1 is
 * up for grabs. Markers are never removed while they matter, so two
 * breakers never both act on one instance, and a dead breaker cannot
 * leave the lock stuck. */
static bool claim_break(rs_mailbox *mb, const char *mine, const char *instance)
{
	rs_fs *fs = mb->fs;
	char *marker = cm_xmalloc(strlen(mb->p_lock) + strlen(instance) + 32);
	bool won = false;
	for (int k = 0; k < 64; k++) {
		sprintf(marker, "%s.break.%s.%d", mb->p_lock, instance, k);
		int r = fs->ops->link(fs, mine, marker);
		if (r == 0) {
			won = true;
			break;
		}
		if (r != -EEXIST)
			break;
		/* Taken: go on only past a breaker that died. */
		rs_fs_stat st;
		cm_buf content = {0};
		struct lock_owner o;
		bool dead = rs_read_file(fs, marker, &content, &st) == 0 &&
			    (!parse_owner(content.data ? content.data : "", &o) ||
			     lock_is_stale(mb, &o, &st));
		cm_buf_free(&content);
		if (!dead)
			break;
	}
	free(marker);
	return won;
}

/* Breaks the lock instance o (or, o == NULL, the torn one with inode
 * ino) if we win the right to; removes it only if it is still that
 * instance. */
static void break_lock(rs_mailbox *mb, const char *mine, const struct lock_owner *o,
		       uint64_t ino)
{
	rs_fs *fs = mb->fs;
	char instance[96];
	if (o != NULL)
		snprintf(instance, sizeof(instance), "%s", o->nonce);
	else
		snprintf(instance, sizeof(instance), "torn-%" PRIu64, ino);
	if (!claim_break(mb, mine, instance))
		return;
	cm_buf now = {0};
	rs_fs_stat st;
	struct lock_owner cur;
	if (rs_read_file(fs, mb->p_lock, &now, &st) == 0) {
		bool parsed = parse_owner(now.data ? now.data : "", &cur);
		if (o != NULL ? parsed && strcmp(cur.nonce, o->nonce) == 0
			      : !parsed && st.ino == ino)
			fs->ops->unlink(fs, mb->p_lock);
	}
	cm_buf_free(&now);
	mb->stats.lock_breaks++;
}

/* One look at the current lock: breaks it when stale. A lock whose content
 * a crash tore (its name made durable by a directory fsync, its data not)
 * has no live owner: locks are only ever link()ed complete. */
static void check_holder(rs_mailbox *mb, const char *mine)
{
	rs_fs_stat st;
	cm_buf content = {0};
	struct lock_owner o;
	int r = rs_read_file(mb->fs, mb->p_lock, &content, &st);
	if (r == 0 && !parse_owner(content.data ? content.data : "", &o))
		break_lock(mb, mine, NULL, st.ino);
	else if (r == 0 && lock_is_stale(mb, &o, &st))
		break_lock(mb, mine, &o, 0);
	cm_buf_free(&content);
}

rs_err rs_lock(rs_mailbox *mb)
{
	rs_fs *fs = mb->fs;
	if (mb->locked)
		cm_panic("rs_lock: already locked");
	char nonce[48], *tmp;
	uint64_t seq = ++mb->counter;
	snprintf(nonce, sizeof(nonce), "%" PRIu32 ".%" PRIu64 ".%" PRIu64,
		 mb->opts.pid, seq, (uint64_t)(fs->ops->now_ns(fs) % 1000000000000ull));
	cm_buf content = {0};
	cm_buf_printf(&content, "%" PRIu32 " %s %s\n", mb->opts.pid, mb->host, nonce);
	tmp = cm_xmalloc(strlen(mb->p_lock) + 64);
	sprintf(tmp, "%s.P%" PRIu32 ".%" PRIu64, mb->p_lock, mb->opts.pid, seq);
	/* No fsync: a lock need not survive a crash (its pid would be dead). */
	int r = fs->ops->open(fs, tmp, RS_O_APPEND | RS_O_CREAT | RS_O_TRUNC);
	if (r >= 0) {
		int fd = r;
		ssize_t n = fs->ops->append(fs, fd, content.data, content.len);
		r = n < 0 ? (int)n : 0;
		fs->ops->close(fs, fd);
	}
	cm_buf_free(&content);
	if (r < 0) {
		free(tmp);
		return rs_fail(mb, rs_err_from_errno(r), "%s: cannot write lock file",
			       mb->path);
	}
	uint64_t start = fs->ops->now_ns(fs), backoff = 10000;
	rs_err err = RS_OK;
	for (;;) {
		r = fs->ops->link(fs, tmp, mb->p_lock);
		if (r == 0)
			break;
		if (r != -EEXIST) {
			err = rs_fail(mb, rs_err_from_errno(r), "%s: cannot take lock",
				      mb->path);
			break;
		}
		check_holder(mb, tmp);
		if (fs->ops->now_ns(fs) - start > mb->opts.lock_timeout_ns) {
			err = rs_fail(mb, RS_ELOCKED, "%s: lock held too long",
				      mb->path);
			break;
		}
		mb->stats.lock_waits++;
		fs->ops->sleep(fs, backoff);
		backoff = CM_MIN(backoff * 2, 1000000u);
	}
	fs->ops->unlink(fs, tmp);
	free(tmp);
	if (err == RS_OK)
		mb->locked = true;
	return err;
}

void rs_unlock(rs_mailbox *mb)
{
	if (!mb->locked)
		cm_panic("rs_unlock: not locked");
	/* A lock must never outlive its holder's intent: retry transient
	 * failures rather than leave a live-pid lock nobody may break. */
	for (int i = 0; i < 8; i++) {
		int r = mb->fs->ops->unlink(mb->fs, mb->p_lock);
		if (r == 0 || r == -ENOENT)
			break;
	}
	mb->locked = false;
	mb->g_ul_pending = false; /* committed, or rolled back by the next writer */
}

struct cleanup_ctx {
	rs_mailbox *mb;
	size_t lock_len;
	const char *base;
	uint64_t now;
};

static int cleanup_entry(void *ctx, const char *name)
{
	struct cleanup_ctx *c = ctx;
	rs_mailbox *mb = c->mb;
	size_t blen = strlen(c->base);
	if (strncmp(name, c->base, blen) != 0)
		return 0;
	const char *rest = name + blen;
	char *path = rs_join(mb->path, name);
	uint32_t pid;
	rs_fs_stat st;
	if (rest[0] == '.' && rest[1] == 'P' && sscanf(rest + 2, "%" SCNu32, &pid) == 1) {
		/* A lock temp file of a process that died before unlinking. */
		if (mb->fs->ops->pid_alive(mb->fs, pid) == 0)
			mb->fs->ops->unlink(mb->fs, path);
	} else if (strncmp(rest, ".break.", 7) == 0 &&
		   mb->fs->ops->stat(mb->fs, path, &st) == 0 &&
		   c->now > st.mtime_ns + BREAK_MARKER_TTL_NS) {
		mb->fs->ops->unlink(mb->fs, path);
	}
	free(path);
	return 0;
}

void rs_lock_cleanup(rs_mailbox *mb)
{
	struct cleanup_ctx c = {mb, strlen(mb->p_lock), RS_LOCK,
				mb->fs->ops->now_ns(mb->fs)};
	mb->fs->ops->list(mb->fs, mb->path, cleanup_entry, &c);
}
