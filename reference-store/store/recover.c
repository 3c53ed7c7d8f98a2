/* Starting a write (lock + catch up + repair), recovery on open, adoption
 * of files found in new/, the rebuild of a lost or corrupt log, and, for
 * the deliver-unsynced mutant only, the expunge of messages whose file a
 * crash took. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names in the store state, for "is this file known?" ---- */

/* A set of names by hash (open addressing, at most half full): built
 * once per listing, probed once per listed file. */
typedef struct name_index {
	const char **slot;
	size_t mask;
} name_index;

static size_t name_slot(const name_index *ix, const char *name)
{
	size_t i = (size_t)cm_hash64(name, strlen(name)) & ix->mask;
	while (ix->slot[i] != NULL && strcmp(ix->slot[i], name) != 0)
		i = (i + 1) & ix->mask;
	return i;
}

/* An empty index for up to n names. */
static void name_index_init(name_index *ix, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 2)
		cap *= 2;
	ix->slot = cm_xcalloc(cap, sizeof(*ix->slot));
	ix->mask = cap - 1;
}

/* Adds name, kept by pointer: it must outlive the index. */
static void name_index_put(name_index *ix, const char *name)
{
	ix->slot[name_slot(ix, name)] = name;
}

static bool name_index_has(const name_index *ix, const char *name)
{
	return ix->slot[name_slot(ix, name)] != NULL;
}

typedef struct name_list {
	char **v;
	size_t n, cap;
	const name_index *known;
} name_list;

static int collect_unknown(void *ctx, const char *name)
{
	name_list *l = ctx;
	if (l->known != NULL && name_index_has(l->known, name))
		return 0;
	if (strlen(name) >= RS_NAME_MAX || strchr(name, ' ') != NULL)
		return 0; /* not one of ours; never adopt what we cannot name */
	CM_GROW(l->v, l->cap, l->n + 1);
	l->v[l->n++] = cm_xstrdup(name);
	return 0;
}

static void name_list_free(name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Names in dir that the store state does not know. */
static int list_unknown(rs_mailbox *mb, const char *dir, name_list *out)
{
	name_index ix;
	name_index_init(&ix, mb->n);
	for (size_t i = 0; i < mb->n; i++)
		name_index_put(&ix, mb->msgs[i].name);
	memset(out, 0, sizeof(*out));
	out->known = &ix;
	int r = mb->fs->ops->list(mb->fs, dir, collect_unknown, out);
	out->known = NULL;
	free(ix.slot);
	if (r < 0)
		name_list_free(out);
	return r;
}

/* ---- writes ---- */

static rs_err repair_log_tail(rs_mailbox *mb)
{
	rs_fs *fs = mb->fs;
	int r;
	if (mb->log_durable > mb->log_off) {
		/* A writer died after fsyncing its record but before the
		 * newline: the record is durable, so it counts. */
		r = fs->ops->append(fs, mb->log_fd, "\n", 1);
		if (r >= 0)
			r = fs->ops->fsync(fs, mb->log_fd);
	} else {
		r = fs->ops->truncate(fs, mb->log_fd, mb->log_off);
		if (r >= 0)
			r = fs->ops->fsync(fs, mb->log_fd);
	}
	if (r < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot repair log tail", mb->path);
	mb->stats.repairs++;
	return rs_state_sync(mb);
}

/* Before appending to the log or the UID list, their names must be
 * durable (once per inode and handle). */
static rs_err make_names_durable(rs_mailbox *mb)
{
	if (mb->log_ino == mb->log_durable_ino && mb->ul_ino == mb->ul_durable_ino)
		return RS_OK;
	if (mb->fs->ops->fsync_dir(mb->fs, mb->path) < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot sync the mailbox directory",
			       mb->path);
	mb->log_durable_ino = mb->log_ino;
	mb->ul_durable_ino = mb->ul_ino;
	return RS_OK;
}

rs_err rs_write_begin(rs_mailbox *mb)
{
	rs_err err = rs_lock(mb);
	if (err != RS_OK)
		return err;
	/* What this lock holder finishes for dead writers (a MOVE's expunge,
	 * a rebuild) is theirs, not a change another replica sent: no tag. */
	uint32_t origin = mb->origin;
	mb->origin = 0;
	err = rs_state_sync(mb);
	if (err == RS_ECORRUPT)
		err = rs_rebuild(mb, mb->err);
	if (err == RS_OK && mb->log_size > mb->log_off)
		err = repair_log_tail(mb);
	if (err == RS_OK && mb->log_size != mb->log_off)
		err = rs_fail(mb, RS_EFAIL, "%s: log tail still torn", mb->path);
	if (err == RS_OK && mb->move_pending)
		err = rs_move_resolve(mb);
	if (err == RS_OK) {
		err = rs_uidlist_refresh(mb);
		if (err == RS_ECORRUPT) {
			/* The log knows every live UID: regenerate the list. */
			mb->stats.repairs++;
			mb->ul_nextuid = mb->nextuid;
			mb->ul_floor = (uint64_t)mb->indexid + mb->log_seq;
			err = rs_uidlist_rewrite(mb, mb->ul_floor);
		}
	}
	if (err == RS_OK)
		err = make_names_durable(mb);
	/* Rotate while nothing of this writer is in flight. */
	if (err == RS_OK)
		err = rs_log_maybe_rotate(mb);
	mb->origin = origin;
	if (err != RS_OK) {
		rs_unlock(mb);
		return err;
	}
	RS_ASSERT(mb->locked && mb->log_off == mb->log_size && !mb->g_ul_pending,
		  "S4 a writer starts locked, with the whole log read");
	RS_ASSERT(!mb->move_pending, "S9 the next lock holder resolves a MOVE intent");
	return RS_OK;
}

void rs_write_end(rs_mailbox *mb)
{
	rs_unlock(mb);
}

/* ---- adoption of files in new/ ---- */

static rs_err adopt_in_phase(rs_mailbox *mb, const name_list *names)
{
	rs_err err = rs_uids_left(mb, names->n);
	if (names->n == 0 || err != RS_OK)
		return err;
	cm_buf lines = {0}, rec = {0};
	uint32_t uid = rs_free_uid(mb);
	RS_ASSERT(rs_uid_free(mb, uid), "S1 adoption takes UIDs above all");
	uint32_t first = uid;
	for (size_t i = 0; i < names->n; i++) {
		uid = rs_uid_nth(mb, first, i);
		cm_buf_printf(&lines, "%" PRIu32 " %s\n", uid, names->v[i]);
		cm_buf_printf(&rec, "%s%" PRIu32 " %s ()", i ? " " : "", uid,
			      names->v[i]);
	}
	uid++; /* the next free one: above the last adopted */
	/* Their names in new/ must be durable before the log names them: the
	 * writer that put them there may have died before its fsync. */
	err = mb->fs->ops->fsync_dir(mb->fs, mb->p_new) < 0
	      ? rs_fail(mb, RS_EFAIL, "%s: cannot sync new/", mb->path)
	      : rs_uidlist_append(mb, &lines);
	if (err == RS_OK) {
		mb->ul_nextuid = uid;
		uint64_t modseq;
		RS_ASSERT(mb->g_ul_pending, "S6 UID lines are written before the commit");
		err = rs_log_commit(mb, 'A', &rec, &modseq);
	}
	if (err == RS_OK)
		mb->stats.adopted += names->n;
	cm_buf_free(&lines);
	cm_buf_free(&rec);
	return err;
}

static rs_err adopt(rs_mailbox *mb, const name_list *names)
{
	uint32_t phase = mb->opts.uid_phase;
	if (mb->opts.adopt_phase_set)
		mb->opts.uid_phase = mb->opts.adopt_phase;
	rs_err err = adopt_in_phase(mb, names);
	mb->opts.uid_phase = phase;
	return err;
}

/* The UID list as it is on disk; on error nothing is left to free. */
static rs_err read_uidlist(rs_mailbox *mb, rs_uidlist *ul)
{
	const char *why;
	if (rs_read_file(mb->fs, mb->p_uidlist, &mb->rbuf, NULL) < 0) {
		memset(ul, 0, sizeof(*ul));
		return RS_ECORRUPT;
	}
	rs_err err = rs_uidlist_parse(mb->rbuf.data, mb->rbuf.len, ul, &why);
	if (err != RS_OK)
		rs_uidlist_free(ul);
	return err;
}

rs_err rs_scan_new_locked(rs_mailbox *mb)
{
	name_list unknown;
	if (list_unknown(mb, mb->p_new, &unknown) < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot list new/", mb->path);
	if (unknown.n == 0)
		return RS_OK;
	/* A file with a UID line but no commit belongs to a writer that died
	 * before its commit point: roll it back. Without a line it was put
	 * there by something that does not lock (a plain Maildir MDA): adopt. */
	rs_uidlist ul;
	rs_err err = read_uidlist(mb, &ul);
	if (err != RS_OK) {
		name_list_free(&unknown);
		return rs_fail(mb, RS_ECORRUPT, "%s: UID list unreadable while "
			       "resolving new/", mb->path);
	}
	name_list foreign = {0};
	bool unlinked = false;
	for (size_t i = 0; i < unknown.n; i++) {
		if (rs_uidlist_find(&ul, unknown.v[i]) != NULL) {
			char *p = rs_join(mb->p_new, unknown.v[i]);
			mb->fs->ops->unlink(mb->fs, p);
			free(p);
			unlinked = true;
		} else {
			collect_unknown(&foreign, unknown.v[i]);
		}
	}
	rs_uidlist_free(&ul);
	name_list_free(&unknown);
	if (unlinked)
		mb->fs->ops->fsync_dir(mb->fs, mb->p_new);
	err = adopt(mb, &foreign);
	name_list_free(&foreign);
	return err;
}

/* Files in cur/ the store state does not have but the UID list names are
 * expunged messages whose unlink a crash undid: without their UID lines
 * (which a rewrite drops) they would look like foreign drops and come back
 * under new UIDs. */
rs_err rs_drop_orphans_locked(rs_mailbox *mb)
{
	name_list unknown;
	if (list_unknown(mb, mb->p_cur, &unknown) < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot list cur/", mb->path);
	if (unknown.n == 0)
		return RS_OK;
	rs_uidlist ul;
	if (read_uidlist(mb, &ul) != RS_OK) {
		name_list_free(&unknown);
		return RS_OK; /* no evidence: leave them */
	}
	bool unlinked = false;
	for (size_t i = 0; i < unknown.n; i++) {
		const struct rs_uidlist_entry *e = rs_uidlist_find(&ul, unknown.v[i]);
		/* Below the store state's next UID: committed once, now expunged. */
		if (e == NULL || e->uid >= mb->nextuid)
			continue;
		char *p = rs_join(mb->p_cur, unknown.v[i]);
		unlinked |= mb->fs->ops->unlink(mb->fs, p) == 0;
		free(p);
	}
	rs_uidlist_free(&ul);
	name_list_free(&unknown);
	if (unlinked && mb->fs->ops->fsync_dir(mb->fs, mb->p_cur) < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot sync cur/", mb->path);
	return RS_OK;
}

/* ---- deliver-unsynced: a file a crash took is an expunge ---- */

/* The file names in new/ and cur/ (new/ first): >= 0, or < 0 if one
 * could not be listed. */
static int list_message_files(rs_mailbox *mb, name_list *names)
{
	int r = mb->fs->ops->list(mb->fs, mb->p_new, collect_unknown, names);
	if (r >= 0)
		r = mb->fs->ops->list(mb->fs, mb->p_cur, collect_unknown, names);
	return r;
}

/* UIDs in the store state whose file is in neither new/ nor cur/. new/ is listed
 * first: a file moves new/ -> cur/ by link, then unlink, so one of the two
 * listings has it. */
static int find_lost(rs_mailbox *mb, cm_uidset *lost)
{
	name_list names = {0};
	int r = list_message_files(mb, &names);
	if (r >= 0) {
		/* No file at all: names.v is NULL, and every message is lost. */
		name_index ix;
		name_index_init(&ix, names.n);
		for (size_t i = 0; i < names.n; i++)
			name_index_put(&ix, names.v[i]);
		for (size_t i = 0; i < mb->n; i++)
			if (!name_index_has(&ix, mb->msgs[i].name))
				cm_uidset_add(lost, mb->msgs[i].uid);
		free(ix.slot);
	}
	name_list_free(&names);
	return r;
}

/* Under the lock. The correct store never gets here: its deliverer makes
 * the file durable before the UID list and the log name it. The naive one
 * does not, so its store must follow the directory, as a Maildir reader
 * does: the message is expunged (an E record) and its UID stays used. */
static rs_err drop_lost_locked(rs_mailbox *mb)
{
	cm_uidset lost = {0};
	uint64_t modseq;
	rs_err err = find_lost(mb, &lost) < 0
		     ? rs_fail(mb, RS_EFAIL, "%s: cannot list messages", mb->path)
		     : rs_expunge_locked(mb, &lost, &modseq);
	cm_uidset_free(&lost);
	return err;
}

/* On open (after a crash every handle is a new one). Looks without the
 * lock and takes it only when a file is missing; the locked pass looks
 * again, as an expunge unlinks after its commit. */
static rs_err drop_lost(rs_mailbox *mb)
{
	cm_uidset lost = {0};
	int r = find_lost(mb, &lost);
	size_t n = lost.n;
	cm_uidset_free(&lost);
	if (r < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot list messages", mb->path);
	if (n == 0)
		return RS_OK;
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	err = drop_lost_locked(mb);
	rs_write_end(mb);
	return err;
}

/* ---- rebuild ---- */

struct rebuild_file {
	uint32_t uid;
	char name[RS_NAME_MAX];
};

static int cmp_rebuild(const void *a, const void *b)
{
	const struct rebuild_file *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Files in new/ and cur/, with their UID from the list when it has one. */
static rs_err rebuild_collect(rs_mailbox *mb, const rs_uidlist *ul,
			      struct rebuild_file **files_r, size_t *n_r,
			      uint32_t *next_r, uint64_t *max_second_r)
{
	name_list names = {0};
	int r = list_message_files(mb, &names);
	if (r < 0) {
		name_list_free(&names);
		return rs_fail(mb, RS_EFAIL, "%s: cannot list messages", mb->path);
	}
	struct rebuild_file *f = cm_xcalloc(names.n + 1, sizeof(*f));
	size_t n = 0;
	uint32_t next = *next_r;
	for (size_t i = 0; i < names.n; i++) {
		const struct rs_uidlist_entry *e =
			ul ? rs_uidlist_find(ul, names.v[i]) : NULL;
		f[n].uid = e ? e->uid : 0;
		snprintf(f[n].name, RS_NAME_MAX, "%s", names.v[i]);
		/* Names start with their delivery second. */
		uint64_t sec = strtoull(names.v[i], NULL, 10);
		if (sec < UINT32_MAX && sec > *max_second_r)
			*max_second_r = sec;
		n++;
	}
	/* Files the list does not know get UIDs above everything, in name
	 * order (deterministic). */
	for (size_t i = 0; i < n; i++)
		if (f[i].uid != 0 && f[i].uid >= next)
			next = f[i].uid + 1;
	for (size_t i = 0; i < n; i++)
		if (f[i].uid == 0)
			f[i].uid = next++;
	qsort(f, n, sizeof(*f), cmp_rebuild);
	name_list_free(&names);
	*files_r = f;
	*n_r = n;
	*next_r = next;
	return RS_OK;
}

/* The modseq base of a rebuilt log: one above the clock, the UID list's
 * floor and the base the handle last read (S8). */
static uint64_t rebuild_base(const rs_mailbox *mb, uint64_t now_s, uint64_t floor)
{
	uint64_t old = (uint64_t)mb->indexid + mb->log_seq;
	uint64_t base = CM_MAX(CM_MAX(now_s, floor), old) + 1;
	if (rs_mutant_on(mb, RS_MUTANT_MODSEQ_RESET))
		return 1; /* the naive rebuild: modseqs start over */
	RS_ASSERT(base > floor && base > old,
		  "S8 a rebuild's base is above the UID list's floor and the old base");
	return base;
}

rs_err rs_rebuild(rs_mailbox *mb, const char *why)
{
	if (!mb->locked)
		cm_panic("rs_rebuild: not locked");
	char reason[256];
	snprintf(reason, sizeof(reason), "%s", why ? why : "log lost");
	rs_uidlist ul;
	const char *perr = NULL;
	int r = rs_read_file(mb->fs, mb->p_uidlist, &mb->rbuf, NULL);
	rs_err uerr = r < 0 ? RS_ECORRUPT
			    : rs_uidlist_parse(mb->rbuf.data, mb->rbuf.len, &ul, &perr);
	bool have_ul = uerr == RS_OK;
	if (r >= 0 && !have_ul)
		rs_uidlist_free(&ul);
	if (!have_ul && !mb->opts.repair)
		return rs_fail(mb, RS_ECORRUPT, "%s: log and UID list both unusable "
			       "(%s; %s); open with repair to renumber", mb->path,
			       reason, perr ? perr : "UID list missing");
	uint32_t old_uv = mb->uidvalidity;
	uint32_t next = have_ul ? ul.nextuid : 1;
	uint64_t floor = have_ul ? ul.base_floor : 0;
	uint32_t ul_uv = have_ul ? ul.uidvalidity : 0;
	struct rebuild_file *files = NULL;
	size_t n = 0;
	uint64_t max_second = 0;
	rs_err err = rebuild_collect(mb, have_ul ? &ul : NULL, &files, &n, &next,
				     &max_second);
	if (have_ul)
		rs_uidlist_free(&ul);
	if (err != RS_OK)
		return err;

	uint64_t now_s = mb->fs->ops->now_ns(mb->fs) / 1000000000u;
	uint64_t base = rebuild_base(mb, now_s, floor);
	/* Without the list, UIDs cannot be kept: a new UIDVALIDITY says so.
	 * The old one (a creation second) is at most any delivery second. */
	uint64_t fresh_uv = CM_MAX(CM_MAX((uint64_t)old_uv + 1, now_s), max_second + 1);
	uint32_t uv = have_ul ? ul_uv : (uint32_t)CM_MIN(fresh_uv, UINT32_MAX);
	RS_ASSERT(have_ul || uv > old_uv || old_uv == UINT32_MAX,
		  "S11 a rebuild without the UID list takes a new UIDVALIDITY");
	rs_state_reset(mb);
	mb->uidvalidity = uv;
	for (size_t i = 0; i < n; i++)
		rs_state_insert(mb, files[i].uid, files[i].name, 0, 1);
	free(files);
	mb->nextuid = CM_MAX(mb->nextuid, next);
	mb->ul_nextuid = mb->nextuid;
	mb->ul_floor = CM_MIN(floor, base - 1);
	mb->indexid = (uint32_t)(base - 1);
	mb->log_seq = 1;
	mb->stats.rebuilds++;
	err = rs_log_write_new(mb, (uint32_t)(base - 1), 1, true);
	if (err == RS_OK && !have_ul)
		err = rs_uidlist_rewrite(mb, base);
	if (err == RS_OK)
		rs_fail(mb, RS_OK, "%s: rebuilt (%s)", mb->path, reason);
	return err;
}

/* ---- open and sync ---- */

static int clean_tmp_entry(void *ctx, const char *name)
{
	rs_mailbox *mb = ctx;
	const char *p = strstr(name, "P");
	uint32_t pid;
	if (p == NULL || sscanf(p + 1, "%" SCNu32 "Q", &pid) != 1)
		return 0;
	if (mb->fs->ops->pid_alive(mb->fs, pid) == 0) {
		char *path = rs_join(mb->p_tmp, name);
		mb->fs->ops->unlink(mb->fs, path);
		free(path);
	}
	return 0;
}

static rs_err scan_new_if_needed(rs_mailbox *mb)
{
	name_list unknown;
	if (list_unknown(mb, mb->p_new, &unknown) < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot list new/", mb->path);
	size_t n = unknown.n;
	name_list_free(&unknown);
	if (n == 0)
		return RS_OK;
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	err = rs_scan_new_locked(mb);
	rs_write_end(mb);
	return err;
}

static rs_err check_uidlist(rs_mailbox *mb)
{
	rs_uidlist ul;
	const char *why;
	int r = rs_read_file(mb->fs, mb->p_uidlist, &mb->rbuf, NULL);
	rs_err err = r < 0 ? RS_ECORRUPT
			   : rs_uidlist_scan(mb->rbuf.data, mb->rbuf.len, &ul, &why);
	if (r >= 0)
		rs_uidlist_free(&ul);
	if (err == RS_OK && r >= 0)
		return RS_OK;
	/* write_begin regenerates it from the log. */
	err = rs_write_begin(mb);
	if (err == RS_OK)
		rs_write_end(mb);
	return err;
}

rs_err rs_recover_open(rs_mailbox *mb)
{
	rs_err err = rs_state_sync(mb);
	if (err != RS_OK && err != RS_ECORRUPT)
		return err;
	if (err == RS_ECORRUPT || mb->log_size > mb->log_off || mb->move_pending) {
		err = rs_write_begin(mb);
		if (err != RS_OK)
			return err;
		rs_write_end(mb);
	}
	err = check_uidlist(mb);
	if (err != RS_OK)
		return err;
	mb->fs->ops->list(mb->fs, mb->p_tmp, clean_tmp_entry, mb);
	rs_lock_cleanup(mb);
	err = scan_new_if_needed(mb);
	if (err == RS_OK && rs_mutant_on(mb, RS_MUTANT_DELIVER_UNSYNCED))
		err = drop_lost(mb);
	return err;
}

rs_err rs_recover(rs_mailbox *mb)
{
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	err = rs_scan_new_locked(mb);
	rs_write_end(mb);
	return err;
}

rs_err rs_sync(rs_mailbox *mb, bool scan_new)
{
	rs_err err = rs_state_sync(mb);
	if (err == RS_ECORRUPT) {
		err = rs_write_begin(mb);
		if (err == RS_OK)
			rs_write_end(mb);
	}
	if (err == RS_OK && scan_new)
		err = scan_new_if_needed(mb);
	return err;
}
