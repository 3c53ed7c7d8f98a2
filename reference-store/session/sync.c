/* The session state of the selected mailbox and its synchronisation with
 * the store: expunges (held back where 3501 7.4.1 forbids them), new
 * messages (EXISTS, RECENT, \Recent claims) and flag changes (FETCH). */
#include "session_private.h"

#include <stdlib.h>
#include <string.h>

void session_unselect(rt_session *s)
{
	s->sel = NULL;
	s->sel_name[0] = '\0';
	s->readonly = false;
	s->uidvalidity = 0;
	s->n = s->ngone = 0;
	s->sorted = true;
	s->max_uid = 0;
	s->defined = 0;
	s->synced_highestmodseq = 0;
	s->highestmodseq_untagged = false;
}

session_msg *session_append_msg(rt_session *s, const rs_msg *m)
{
	CM_GROW(s->m, s->cap, s->n + 1);
	session_msg *x = &s->m[s->n++];
	*x = (session_msg){.uid = m->uid, .flags = m->flags, .modseq = m->modseq};
	/* A UID at or below one already known is the store's error; it is
	 * shown as it is (the checker's UID-ASCENDING) and lookups go linear. */
	if (m->uid <= s->max_uid)
		s->sorted = false;
	else
		s->max_uid = m->uid;
	return x;
}

long session_find(const rt_session *s, uint32_t uid)
{
	if (!s->sorted) {
		for (size_t i = 0; i < s->n; i++)
			if (s->m[i].uid == uid)
				return (long)i;
		return -1;
	}
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (s->m[mid].uid < uid)
			a = mid + 1;
		else
			b = mid;
	}
	return a < s->n && s->m[a].uid == uid ? (long)a : -1;
}

void session_set_intersect(cm_uidset *out, const cm_uidset *a, const cm_uidset *b)
{
	size_t i = 0, j = 0;
	cm_uidset_clear(out);
	while (i < a->n && j < b->n) {
		uint32_t lo = CM_MAX(a->r[i].lo, b->r[j].lo);
		uint32_t hi = CM_MIN(a->r[i].hi, b->r[j].hi);
		if (lo <= hi)
			cm_uidset_add_range(out, lo, hi);
		if (a->r[i].hi < b->r[j].hi)
			i++;
		else
			j++;
	}
}

/* ---- \Recent ---- */

typedef struct name_list {
	char **v;
	size_t n, cap;
} name_list;

static int collect_name(void *ctx, const char *name)
{
	name_list *l = ctx;
	CM_GROW(l->v, l->cap, l->n + 1);
	l->v[l->n++] = cm_xstrdup(name);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void name_list_free(name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* A read-write session takes \Recent from new/ (exactly one claimer wins
 * the rename); a read-only one sees as recent what is still there. */
void session_claim_recent(rt_session *s, size_t first)
{
	if (first >= s->n)
		return;
	name_list l = {0};
	cm_buf dir = {0};
	cm_buf_printf(&dir, "%s/new", rs_path(s->sel));
	int r = s->fs->ops->list(s->fs, dir.data, collect_name, &l);
	cm_buf_free(&dir);
	if (r < 0 || l.n == 0) {
		name_list_free(&l);
		return;
	}
	qsort(l.v, l.n, sizeof(*l.v), cmp_name);
	for (size_t i = first; i < s->n && !s->dead; i++) {
		const rs_msg *m = rs_msg_find(s->sel, s->m[i].uid);
		const char *key = m != NULL ? m->name : NULL;
		if (key == NULL || bsearch(&key, l.v, l.n, sizeof(*l.v), cmp_name) == NULL)
			continue;
		s->m[i].recent = s->readonly || rs_claim_recent(s->sel, s->m[i].uid);
	}
	name_list_free(&l);
}

size_t session_recent_count(const rt_session *s)
{
	size_t c = 0;
	for (size_t i = 0; i < s->n; i++)
		c += s->m[i].recent;
	return c;
}

/* ---- FLAGS and FETCH ---- */

void session_put_defined(rt_session *s, model_result *res)
{
	model_untagged *u = model_result_add(res, MODEL_UT_FLAGS);
	u->flags = s->defined;
	u = session_ut_code(res, MODEL_CODE_PERMANENTFLAGS);
	u->code.flags = s->defined;
	u->code.star = true;
}

void session_announce_flags(rt_session *s, model_result *res, cm_flags flags)
{
	if ((flags & ~s->defined) == 0)
		return;
	s->defined |= flags;
	session_put_defined(s, res);
}

model_untagged *session_fetch_flags(rt_session *s, model_result *res, size_t idx,
			       cm_flags flags)
{
	session_announce_flags(s, res, flags);
	model_untagged *u = model_result_add(res, MODEL_UT_FETCH);
	u->n = (uint32_t)(idx + 1);
	u->fetch.has = MODEL_F_FLAGS;
	u->fetch.flags = flags;
	u->fetch.recent = s->m[idx].recent;
	return u;
}

/* ---- the diff ---- */

/* A merge walk over the store's messages (sorted by UID) for a caller
 * that looks up UIDs in ascending order, as the session's messages are:
 * one pass instead of a binary search per message. A UID below the last
 * one asked falls back to the search, so any order still answers right. */
typedef struct store_walk {
	const rs_mailbox *mb;
	size_t j, n;
	uint32_t last;
} store_walk;

static store_walk walk_start(const rs_mailbox *mb)
{
	return (store_walk){mb, 0, rs_count(mb), 0};
}

static const rs_msg *walk_find(store_walk *w, uint32_t uid)
{
	if (uid < w->last)
		return rs_msg_find(w->mb, uid);
	w->last = uid;
	while (w->j < w->n && rs_msg_at(w->mb, w->j)->uid < uid)
		w->j++;
	const rs_msg *m = w->j < w->n ? rs_msg_at(w->mb, w->j) : NULL;
	return m != NULL && m->uid == uid ? m : NULL;
}

/* Marks what the store no longer has; returns how many are still there. */
static size_t mark_gone(rt_session *s)
{
	size_t present = 0;
	store_walk w = walk_start(s->sel);
	for (size_t i = 0; i < s->n; i++) {
		if (s->m[i].gone)
			continue;
		if (walk_find(&w, s->m[i].uid) != NULL) {
			present++;
		} else {
			s->m[i].gone = true;
			s->ngone++;
		}
	}
	return present;
}

/* Highest sequence first, so each number is valid as sent; or one
 * VANISHED once QRESYNC is enabled (7162 3.2.10.2). */
static void send_expunges(rt_session *s, model_result *res)
{
	if (s->enabled & MODEL_CAP_QRESYNC) {
		model_untagged *u = model_result_add(res, MODEL_UT_VANISHED);
		for (size_t i = 0; i < s->n; i++)
			if (s->m[i].gone)
				cm_uidset_add(&u->set, s->m[i].uid);
	} else {
		for (size_t i = s->n; i-- > 0;)
			if (s->m[i].gone)
				model_result_add(res, MODEL_UT_EXPUNGE)->n = (uint32_t)(i + 1);
	}
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->m[i].gone)
			s->m[w++] = s->m[i];
	s->n = w;
	s->ngone = 0;
}

/* Appends the store's messages the session state lacks. Normally only UIDs above
 * max_uid; a full scan only when the store has more at or below it than
 * the session state (a UID reused or inserted: the store erred). */
static void add_new(rt_session *s, size_t present)
{
	rs_mailbox *mb = s->sel;
	size_t total = rs_count(mb);
	/* upto: how many of the store's UIDs are <= max_uid */
	size_t upto = s->max_uid == UINT32_MAX ? total : rs_msg_lower(mb, s->max_uid + 1);
	if (upto > present) {
		for (size_t j = 0; j < upto; j++) {
			const rs_msg *m = rs_msg_at(mb, j);
			if (session_find(s, m->uid) < 0)
				session_append_msg(s, m);
		}
	}
	for (size_t j = upto; j < total; j++)
		session_append_msg(s, rs_msg_at(mb, j));
}

/* Flag changes as FETCH; modseq-only changes too once CONDSTORE is on,
 * with UID and MODSEQ (7162 3.2.4). */
static void report_changes(rt_session *s, model_result *res)
{
	bool cs = (s->enabled & MODEL_CAP_CONDSTORE) != 0;
	store_walk w = walk_start(s->sel);
	for (size_t i = 0; i < s->n; i++) {
		session_msg *m = &s->m[i];
		const rs_msg *cur = m->gone ? NULL : walk_find(&w, m->uid);
		if (cur == NULL)
			continue;
		bool report = cur->flags != m->flags || (cs && cur->modseq != m->modseq);
		cm_flags flags = cur->flags;
		uint64_t modseq = cur->modseq;
		m->flags = flags;
		m->modseq = modseq;
		if (!report)
			continue;
		model_untagged *u = session_fetch_flags(s, res, i, flags);
		if (cs) {
			u->fetch.has |= MODEL_F_UID | MODEL_F_MODSEQ;
			u->fetch.uid = m->uid;
			u->fetch.modseq = modseq;
		}
	}
}

static void diff(rt_session *s, model_result *res, bool allow_expunge)
{
	/* Nothing moved in the store since the last diff: nothing to say
	 * (every change of ours to the session state follows a store change). */
	uint64_t gen = rs_state_generation(s->sel);
	if (gen == s->seen_gen && (s->ngone == 0 || !allow_expunge))
		return;
	s->seen_gen = gen;
	size_t present = mark_gone(s);
	if (allow_expunge && s->ngone > 0)
		send_expunges(s, res);
	size_t before = s->n;
	add_new(s, present);
	if (s->n > before) {
		session_claim_recent(s, before);
		if (s->dead)
			return;
		model_result_add(res, MODEL_UT_EXISTS)->n = (uint32_t)s->n;
		model_result_add(res, MODEL_UT_RECENT)->n = (uint32_t)session_recent_count(s);
	}
	report_changes(s, res);
	if (s->ngone == 0)
		s->synced_highestmodseq = rs_highestmodseq(s->sel);
}

/* A failed sync leaves the handle's store state possibly torn (a reopened log
 * read in part): the session cannot go on. */
static bool sync_failed(rt_session *s, model_result *res, rs_err err)
{
	if (!session_mailbox_exists(s, s->sel)) {
		session_lost(s, res, true, "mailbox deleted");
		return false;
	}
	if (err == RS_ECORRUPT)
		snprintf(res->anomaly, sizeof(res->anomaly), "%s", rs_last_error(s->sel));
	session_lost(s, res, true, "cannot read the mailbox");
	return false;
}

bool session_sync(rt_session *s, model_result *res, bool allow_expunge)
{
	if (s->sel == NULL)
		return true;
	if (s->dead) {
		session_lost(s, res, false, "session lost");
		return false;
	}
	rs_err err = rs_sync(s->sel, false);
	if (s->dead) {
		session_lost(s, res, false, "session lost");
		return false;
	}
	if (err != RS_OK)
		return sync_failed(s, res, err);
	if (rs_uidvalidity(s->sel) != s->uidvalidity) {
		session_lost(s, res, true, "UIDVALIDITY changed");
		return false;
	}
	diff(s, res, allow_expunge);
	if (s->dead) {
		session_lost(s, res, false, "session lost");
		return false;
	}
	return true;
}

/* ---- targets ---- */

static void push_target(rt_session *s, size_t idx)
{
	CM_GROW(s->targets, s->captargets, s->ntargets + 1);
	s->targets[s->ntargets++] = idx;
	cm_uidset_add(&s->set, s->m[idx].uid);
}

bool session_resolve(rt_session *s, const model_op *op, model_result *res)
{
	s->ntargets = 0;
	cm_uidset_clear(&s->set);
	if (op->set.n == 0) {
		session_status(res, MODEL_REPLY_BAD, "Empty set");
		return false;
	}
	if (op->uid) {
		for (size_t i = 0; i < s->n; i++)
			if (cm_uidset_contains(&op->set, s->m[i].uid))
				push_target(s, i);
		return true;
	}
	if (cm_uidset_max(&op->set) > s->n) {
		session_status(res, MODEL_REPLY_BAD, "Invalid sequence number");
		return false;
	}
	for (size_t r = 0; r < op->set.n; r++)
		for (uint64_t q = op->set.r[r].lo; q <= op->set.r[r].hi; q++)
			push_target(s, (size_t)q - 1);
	return true;
}

/* UID forms may take expunges first; sequence numbers are read before
 * anything could renumber them, and the sync then only adds. A CONDSTORE
 * parameter enables it once the command is known to be valid (a BAD
 * command enables nothing), before the sync so its FETCHes carry MODSEQ. */
bool session_prepare(rt_session *s, const model_op *op, model_result *res,
		bool allow_expunge, bool condstore)
{
	if (op->uid) {
		if (condstore)
			session_enable_condstore(s);
		return session_sync(s, res, allow_expunge) && session_resolve(s, op, res);
	}
	if (!session_resolve(s, op, res))
		return false;
	if (condstore)
		session_enable_condstore(s);
	return session_sync(s, res, false);
}
