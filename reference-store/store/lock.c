/* The one lock file of the project (rs_lockfile, rs.h): the mailbox lock
 * ratchet-uidlist.lock (rs_lock) and the mailbox namespace's CREATE lock
 * (reference-store/session/namespace.c) both hold "<pid> <host> <nonce>".
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

static bool lock_is_stale(rs_lockfile *lk, const struct lock_owner *o,
			  const rs_fs_stat *st)
{
	uint64_t now = lk->fs->ops->now_ns(lk->fs);
	uint64_t age = now > st->mtime_ns ? now - st->mtime_ns : 0;
	if (strcmp(o->host, lk->host) == 0) {
		int alive = lk->fs->ops->pid_alive(lk->fs, o->pid);
		if (alive >= 0)
			return alive == 0;
	}
	return age > lk->stale_ns;
}

/* The right to break one lock instance goes to whoever first links its
 * own lock file to "<lock>.break.<instance>.<k>": the file names the
 * breaker, and if that breaker died before finishing, generation k+1 is
 * up for grabs. Markers are never removed while they matter, so two
 * breakers never both act on one instance, and a dead breaker cannot
 * leave the lock stuck. */
static bool claim_break(rs_lockfile *lk, const char *mine, const char *instance)
{
	rs_fs *fs = lk->fs;
	char *marker = cm_xmalloc(strlen(lk->path) + strlen(instance) + 32);
	bool won = false;
	for (int k = 0; k < 64; k++) {
		sprintf(marker, "%s.break.%s.%d", lk->path, instance, k);
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
			     lock_is_stale(lk, &o, &st));
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
static void break_lock(rs_lockfile *lk, const char *mine, const struct lock_owner *o,
		       uint64_t ino)
{
	rs_fs *fs = lk->fs;
	char instance[96];
	if (o != NULL)
		snprintf(instance, sizeof(instance), "%s", o->nonce);
	else
		snprintf(instance, sizeof(instance), "torn-%" PRIu64, ino);
	if (!claim_break(lk, mine, instance))
		return;
	cm_buf now = {0};
	rs_fs_stat st;
	struct lock_owner cur;
	if (rs_read_file(fs, lk->path, &now, &st) == 0) {
		bool parsed = parse_owner(now.data ? now.data : "", &cur);
		if (o != NULL ? parsed && strcmp(cur.nonce, o->nonce) == 0
			      : !parsed && st.ino == ino)
			fs->ops->unlink(fs, lk->path);
	}
	cm_buf_free(&now);
	lk->breaks++;
}

/* One look at the current lock: breaks it when stale. A lock whose content
 * a crash tore (its name made durable by a directory fsync, its data not)
 * has no live owner: locks are only ever link()ed complete. */
static void check_holder(rs_lockfile *lk, const char *mine)
{
	rs_fs_stat st;
	cm_buf content = {0};
	struct lock_owner o;
	int r = rs_read_file(lk->fs, lk->path, &content, &st);
	if (r == 0 && !parse_owner(content.data ? content.data : "", &o))
		break_lock(lk, mine, NULL, st.ino);
	else if (r == 0 && lock_is_stale(lk, &o, &st))
		break_lock(lk, mine, &o, 0);
	cm_buf_free(&content);
}

/* The private file that holds the lock's content before it is linked
 * into place: 0, or -errno. No fsync: a lock need not survive a crash
 * (its pid would be dead). */
static int write_private(rs_lockfile *lk, const char *tmp, uint64_t seq)
{
	rs_fs *fs = lk->fs;
	char nonce[48];
	snprintf(nonce, sizeof(nonce), "%" PRIu32 ".%" PRIu64 ".%" PRIu64,
		 lk->pid, seq, (uint64_t)(fs->ops->now_ns(fs) % 1000000000000ull));
	cm_buf content = {0};
	cm_buf_printf(&content, "%" PRIu32 " %s %s\n", lk->pid, lk->host, nonce);
	int r = fs->ops->open(fs, tmp, RS_O_APPEND | RS_O_CREAT | RS_O_TRUNC);
	if (r >= 0) {
		int fd = r;
		ssize_t n = fs->ops->append(fs, fd, content.data, content.len);
		r = n < 0 ? (int)n : 0;
		fs->ops->close(fs, fd);
	}
	cm_buf_free(&content);
	return r;
}

int rs_lockfile_take(rs_lockfile *lk, const char **what_r)
{
	rs_fs *fs = lk->fs;
	RS_ASSERT(!lk->held, "S12 a lock file is taken once by its holder");
	uint64_t seq = ++lk->counter;
	char *tmp = cm_xmalloc(strlen(lk->path) + 64);
	sprintf(tmp, "%s.P%" PRIu32 ".%" PRIu64, lk->path, lk->pid, seq);
	int r = write_private(lk, tmp, seq);
	if (r < 0) {
		free(tmp);
		*what_r = "cannot write lock file";
		return r;
	}
	uint64_t start = fs->ops->now_ns(fs), backoff = 10000;
	for (;;) {
		r = fs->ops->link(fs, tmp, lk->path);
		if (r == 0 || r != -EEXIST) {
			*what_r = "cannot take lock";
			break;
		}
		check_holder(lk, tmp);
		if (fs->ops->now_ns(fs) - start > lk->timeout_ns) {
			*what_r = "lock held too long";
			r = -ETIMEDOUT;
			break;
		}
		lk->waits++;
		fs->ops->sleep(fs, backoff);
		backoff = CM_MIN(backoff * 2, 1000000u);
	}
	fs->ops->unlink(fs, tmp);
	free(tmp);
	lk->held = r == 0;
	return r;
}

void rs_lockfile_release(rs_lockfile *lk)
{
	RS_ASSERT(lk->held, "S12 only the holder releases a lock file");
	/* A lock must never outlive its holder's intent: retry transient
	 * failures rather than leave a live-pid lock nobody may break. */
	for (int i = 0; i < 8; i++) {
		int r = lk->fs->ops->unlink(lk->fs, lk->path);
		if (r == 0 || r == -ENOENT)
			break;
	}
	lk->held = false;
}

rs_err rs_lock(rs_mailbox *mb)
{
	if (mb->locked)
		cm_panic("rs_lock: already locked");
	rs_lockfile *lk = &mb->lock;
	uint64_t waits = lk->waits, breaks = lk->breaks;
	const char *what = NULL;
	int r = rs_lockfile_take(lk, &what);
	mb->stats.lock_waits += lk->waits - waits;
	mb->stats.lock_breaks += lk->breaks - breaks;
	if (r < 0)
		return rs_fail(mb, r == -ETIMEDOUT ? RS_ELOCKED : rs_err_from_errno(r),
			       "%s: %s", mb->path, what);
	mb->locked = true;
	return RS_OK;
}

void rs_unlock(rs_mailbox *mb)
{
	if (!mb->locked)
		cm_panic("rs_unlock: not locked");
	rs_lockfile_release(&mb->lock);
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
