/* The workload: what each client does next, chosen by the choice source
 * from a swarm mix (each run enables a random subset of op kinds with
 * random weights), using what the client has learned from its own
 * responses (the client state), as a real IMAP client would. Shared by the
 * simulator and the wire driver. */
#include "workload.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const flag_pool[] = {
	"\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Junk", "$Forwarded",
	"$Label1", "\\Deleted",
};

/* ---- how often: every probability of the workload, and why ---- */

/* Swarm testing: each op kind (but SELECT) is left out of a run's mix with
 * this chance, so that runs differ in what races with what and a rare
 * kind is not always drowned by the others. */
#define KIND_LEFT_OUT RT_RATIO(1, 4)
/* A run's STOREs set \Deleted with a chance drawn below this: often
 * enough that EXPUNGE has work, rarely enough that mailboxes keep most
 * of their messages. */
#define DELETED_MAX RT_RATIO(3, 10)
/* The fixed mix (wire runs): about one STORE in eight sets \Deleted, so
 * EXPUNGE has work and the mailboxes do not empty. */
#define DELETED_DEFAULT RT_PERCENT(12)
/* A STORE or APPEND names a second flag: flag sets, not just one flag. */
#define SECOND_FLAG RT_RATIO(3, 10)
/* SELECT (QRESYNC) with a UIDVALIDITY one below the cached one: the
 * server must then send no VANISHED and no FETCH (RFC 7162 3.2.5). Rare:
 * such a SELECT resynchronises nothing. */
#define STALE_UIDVALIDITY RT_RATIO(1, 20)
/* SELECT (QRESYNC) also names the UIDs it knows: both forms half the time. */
#define QRESYNC_KNOWN_UIDS RT_RATIO(1, 2)
/* A SELECT without QRESYNC says CONDSTORE: a minority, as with clients
 * that enable it by a later command or never. */
#define SELECT_CONDSTORE RT_RATIO(3, 10)
/* A STORE is .SILENT: the other sessions still see the change, the
 * storing one must not count on a FETCH. */
#define STORE_SILENT RT_RATIO(1, 10)
/* UNCHANGEDSINCE 0, which always fails (RFC 7162 3.1.3): rare, it
 * changes nothing. */
#define UNCHANGEDSINCE_ZERO RT_RATIO(1, 50)
/* An APPEND goes to the selected mailbox, where the session sees it
 * arrive; otherwise to any mailbox. */
#define APPEND_TO_SELECTED RT_PERCENT(70)
/* An APPEND has no flags at all (a delivery never has: it draws too). */
#define ADD_WITHOUT_FLAGS RT_RATIO(1, 2)
/* An expunge is UID EXPUNGE (of what the client believes \Deleted), the
 * rest a plain EXPUNGE of every \Deleted message. */
#define UID_EXPUNGE RT_PERCENT(70)
/* Above the box target, a client's op is a trim: a quarter of its ops
 * bring the mailbox back down while the rest still race. */
#define TRIM RT_RATIO(1, 4)
/* CHANGEDSINCE an older message modseq rather than the last
 * HIGHESTMODSEQ: both windows half the time. */
#define CHANGEDSINCE_OLDER RT_RATIO(1, 2)
/* With QRESYNC enabled, CHANGEDSINCE also asks for VANISHED. */
#define CHANGEDSINCE_VANISHED RT_RATIO(3, 5)
/* A FETCH of every message (1:4294967295) rather than a few known UIDs:
 * a fifth, as such FETCHes cost as much as the mailbox is large. */
#define FETCH_ALL RT_RATIO(1, 5)
/* ENABLE asks for QRESYNC (which implies CONDSTORE) rather than CONDSTORE. */
#define ENABLE_QRESYNC RT_RATIO(3, 5)

const char *rt_wk_name(rt_wk kind)
{
	static const char *const names[RT_WK_COUNT] = {
		"noop", "select", "fetch-flags", "fetch-id", "store", "store-cond",
		"append", "expunge", "copy", "move", "status", "search", "enable",
		"fetch-changed", "reconnect", "store-seq", "examine",
	};
	return kind < RT_WK_COUNT ? names[kind] : "?";
}

/* ---- the client state ---- */

void rt_client_state_reset(rt_client_state *v)
{
	v->connected = v->selected = v->readonly = false;
	v->condstore = v->qresync = false;
	v->box = -1;
	v->n = 0;
	v->highestmodseq = 0;
	v->need_sync = v->trim_next = false;
}

void rt_client_state_free(rt_client_state *v)
{
	free(v->e);
	for (int i = 0; i < RT_MAX_BOXES; i++)
		cm_uidset_free(&v->cache[i].known);
	memset(v, 0, sizeof(*v));
}

static void known_resize(rt_client_state *v, size_t n)
{
	CM_GROW(v->e, v->cap, n);
	for (size_t i = v->n; i < n; i++)
		memset(&v->e[i], 0, sizeof(v->e[i]));
	v->n = n;
}

static void known_remove(rt_client_state *v, size_t idx)
{
	memmove(&v->e[idx], &v->e[idx + 1], (v->n - idx - 1) * sizeof(*v->e));
	v->n--;
}

static void known_vanish(rt_client_state *v, const cm_uidset *set)
{
	for (size_t i = v->n; i > 0; i--)
		if (v->e[i - 1].uid && cm_uidset_contains(set, v->e[i - 1].uid))
			known_remove(v, i - 1);
}

static void known_fetch(rt_client_state *v, const model_untagged *u)
{
	if (u->n < 1 || u->n > v->n)
		return;
	rt_client_msg *e = &v->e[u->n - 1];
	if (u->fetch.has & MODEL_F_UID)
		e->uid = u->fetch.uid;
	if (u->fetch.has & MODEL_F_FLAGS) {
		e->flags = u->fetch.flags;
		e->has_flags = true;
	}
	if (u->fetch.has & MODEL_F_MODSEQ)
		e->modseq = u->fetch.modseq;
	if (u->fetch.has & MODEL_F_ID)
		e->has_id = true;
}

static void known_code(rt_client_state *v, const model_code *code)
{
	if (code->kind == MODEL_CODE_HIGHESTMODSEQ && code->value > v->highestmodseq)
		v->highestmodseq = code->value;
	if (code->kind == MODEL_CODE_UIDVALIDITY)
		v->uidvalidity = (uint32_t)code->value;
}

static void known_search(rt_client_state *v, const cm_uidset *set)
{
	if (cm_uidset_count(set) != v->n)
		return;
	size_t i = 0;
	for (size_t r = 0; r < set->n; r++)
		for (uint64_t uid = set->r[r].lo; uid <= set->r[r].hi; uid++)
			v->e[i++].uid = (uint32_t)uid;
}

/* Remembers a mailbox's state for a later SELECT (QRESYNC ...). */
static void known_remember(rt_client_state *v)
{
	if (!v->selected || v->box < 0 || v->box >= RT_MAX_BOXES || !v->qresync ||
	    v->highestmodseq == 0)
		return;
	struct rt_client_cache *c = &v->cache[v->box];
	c->uidvalidity = v->uidvalidity;
	c->modseq = v->highestmodseq;
	cm_uidset_clear(&c->known);
	for (size_t i = 0; i < v->n; i++)
		if (v->e[i].uid)
			cm_uidset_add(&c->known, v->e[i].uid);
}

void rt_client_state_apply(rt_client_state *v, const rt_workload *w, const model_op *op,
		   const model_result *res)
{
	if (op->kind == MODEL_OP_CONNECT) {
		rt_client_state_reset(v);
		v->connected = res->status == MODEL_REPLY_OK;
		return;
	}
	v->trim_next = op->kind == MODEL_OP_STORE && op->silent &&
		       op->mode == MODEL_STORE_ADD && op->flags == CM_FLAG_DELETED &&
		       res->status == MODEL_REPLY_OK;
	if (op->kind == MODEL_OP_SELECT) {
		known_remember(v);
		v->selected = false;
		v->n = 0;
		v->highestmodseq = 0;
	}
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		switch (u->kind) {
		case MODEL_UT_EXISTS:
			if (u->n >= v->n)
				known_resize(v, CM_MIN(u->n, RT_CLIENT_MSGS_MAX));
			break;
		case MODEL_UT_EXPUNGE:
			if (u->n >= 1 && u->n <= v->n)
				known_remove(v, u->n - 1);
			break;
		case MODEL_UT_VANISHED:
			if (!u->earlier)
				known_vanish(v, &u->set);
			break;
		case MODEL_UT_FETCH: known_fetch(v, u); break;
		case MODEL_UT_CODE: known_code(v, &u->code); break;
		case MODEL_UT_SEARCH:
			if (op->kind == MODEL_OP_SEARCH && op->uid)
				known_search(v, &u->set);
			break;
		case MODEL_UT_ENABLED:
			if (u->caps & MODEL_CAP_QRESYNC)
				v->qresync = v->condstore = true;
			if (u->caps & MODEL_CAP_CONDSTORE)
				v->condstore = true;
			break;
		case MODEL_UT_BYE: v->connected = false; break;
		default: break;
		}
	}
	if (res->code.kind != MODEL_CODE_NONE)
		known_code(v, &res->code);
	if (op->kind == MODEL_OP_SELECT && res->status == MODEL_REPLY_OK) {
		v->selected = true;
		v->readonly = op->readonly;
		v->box = rt_workload_box_index(w, op->mailbox);
		v->need_sync = true;
		if (op->condstore || op->qresync)
			v->condstore = true;
	}
	if (op->kind == MODEL_OP_FETCH && op->uid && res->status == MODEL_REPLY_OK &&
	    cm_uidset_count(&op->set) > 1000)
		v->need_sync = false;
	if (res->status == MODEL_REPLY_UNKNOWN || op->kind == MODEL_OP_LOGOUT)
		rt_client_state_reset(v);
}

/* ---- the mix ---- */

void rt_mix_swarm(rt_mix *m, rt_choice_source *c)
{
	/* Swarm testing: a random subset of kinds, random weights. NOOP and
	 * SELECT always stay (a client needs a mailbox). */
	memset(m, 0, sizeof(*m));
	for (int k = 0; k < RT_WK_COUNT; k++) {
		bool on = k == RT_WK_SELECT || !rt_choice_chance(c, KIND_LEFT_OUT);
		m->w[k] = on ? (uint32_t)(1 + rt_choice_below(c, 10)) : 0;
	}
	m->w[RT_WK_NOOP] = CM_MAX(m->w[RT_WK_NOOP], 1u);
	m->w[RT_WK_RECONNECT] = CM_MIN(m->w[RT_WK_RECONNECT], 2u);
	m->w[RT_WK_ENABLE] = CM_MIN(m->w[RT_WK_ENABLE], 3u);
	/* Most runs care about conflicts: keep some writes in every mix. */
	if (m->w[RT_WK_STORE] + m->w[RT_WK_STORE_COND] + m->w[RT_WK_APPEND] == 0)
		m->w[RT_WK_STORE] = m->w[RT_WK_APPEND] = 5;
	m->deleted = rt_choice_probability(c, DELETED_MAX);
	m->boxes = 2 + (int)rt_choice_below(c, 2);
}

void rt_mix_default(rt_mix *m)
{
	static const uint32_t w[RT_WK_COUNT] = {
		[RT_WK_NOOP] = 3, [RT_WK_SELECT] = 3, [RT_WK_FETCH_FLAGS] = 6,
		[RT_WK_FETCH_ID] = 3, [RT_WK_STORE] = 8, [RT_WK_STORE_COND] = 5,
		[RT_WK_APPEND] = 6, [RT_WK_EXPUNGE] = 3, [RT_WK_COPY] = 2,
		[RT_WK_MOVE] = 3, [RT_WK_STATUS] = 2, [RT_WK_SEARCH] = 2,
		[RT_WK_ENABLE] = 1, [RT_WK_FETCH_CHANGED] = 3, [RT_WK_RECONNECT] = 1,
		[RT_WK_STORE_SEQ] = 2, [RT_WK_EXAMINE] = 1,
	};
	memset(m, 0, sizeof(*m));
	memcpy(m->w, w, sizeof(w));
	m->deleted = DELETED_DEFAULT;
	m->boxes = 2;
}

static rt_wk pick_kind(const rt_mix *m, rt_choice_source *c)
{
	uint32_t total = 0;
	for (int k = 0; k < RT_WK_COUNT; k++)
		total += m->w[k];
	uint64_t x = rt_choice_below(c, total ? total : 1);
	for (int k = 0; k < RT_WK_COUNT; k++) {
		if (x < m->w[k])
			return (rt_wk)k;
		x -= m->w[k];
	}
	return RT_WK_NOOP;
}

/* ---- op construction ---- */

static void set_box(rt_workload *w, model_op *op, int box)
{
	snprintf(op->mailbox, sizeof(op->mailbox), "%s", w->boxes[box]);
}

int rt_workload_box_index(const rt_workload *w, const char *name)
{
	for (int i = 0; i < w->mix.boxes && i < RT_MAX_BOXES; i++)
		if (strcmp(w->boxes[i], name) == 0)
			return i;
	return -1;
}

static int other_box(rt_workload *w, const rt_client_state *v, rt_choice_source *c)
{
	int n = w->mix.boxes;
	int b = (int)rt_choice_below(c, (uint64_t)(n - 1));
	return b >= v->box ? b + 1 : b;
}

static cm_flags random_flags(rt_workload *w, rt_choice_source *c, bool allow_deleted)
{
	cm_flags f = 0;
	size_t n = CM_ARRAY_LEN(flag_pool) - 1;
	f |= w->flag_bits[rt_choice_below(c, n)];
	if (rt_choice_chance(c, SECOND_FLAG))
		f |= w->flag_bits[rt_choice_below(c, n)];
	if (allow_deleted && rt_choice_chance(c, w->mix.deleted))
		f |= CM_FLAG_DELETED;
	return f;
}

/* One or a few UIDs the client knows, as a set. */
static bool pick_uids(const rt_client_state *v, rt_choice_source *c, cm_uidset *set, int max)
{
	size_t known = 0;
	for (size_t i = 0; i < v->n; i++)
		if (v->e[i].uid)
			known++;
	if (known == 0)
		return false;
	int k = 1 + (int)rt_choice_below(c, (uint64_t)max);
	for (int i = 0; i < k; i++) {
		size_t pick = rt_choice_below(c, v->n);
		for (size_t j = 0; j < v->n; j++) {
			size_t idx = (pick + j) % v->n;
			if (v->e[idx].uid) {
				cm_uidset_add(set, v->e[idx].uid);
				break;
			}
		}
	}
	return true;
}

static const rt_client_msg *entry_of(const rt_client_state *v, uint32_t uid)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->e[i].uid == uid)
			return &v->e[i];
	return NULL;
}

static void make_select(rt_workload *w, const rt_client_state *v, rt_choice_source *c,
			model_op *op, bool examine)
{
	model_op_init(op, MODEL_OP_SELECT);
	int box = (int)rt_choice_below(c, (uint64_t)w->mix.boxes);
	set_box(w, op, box);
	op->readonly = examine;
	const struct rt_client_cache *cache = &v->cache[box];
	if (v->qresync && cache->modseq && w->caps & MODEL_CAP_QRESYNC) {
		op->qresync = true;
		/* Sometimes a stale UIDVALIDITY: the server must send nothing. */
		op->q_uidvalidity = rt_choice_chance(c, STALE_UIDVALIDITY) ? cache->uidvalidity - 1
							     : cache->uidvalidity;
		op->q_modseq = cache->modseq;
		if (rt_choice_chance(c, QRESYNC_KNOWN_UIDS))
			cm_uidset_copy(&op->q_known, &cache->known);
	} else if ((w->caps & MODEL_CAP_CONDSTORE) && rt_choice_chance(c, SELECT_CONDSTORE)) {
		op->condstore = true;
	}
}

static void make_sync_fetch(rt_workload *w, const rt_client_state *v, model_op *op)
{
	/* After SELECT: learn every UID, its flags and modseq. */
	model_op_init(op, MODEL_OP_FETCH);
	op->uid = true;
	cm_uidset_add_range(&op->set, 1, UINT32_MAX);
	op->items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_ID;
	if (v->condstore || (w->caps & MODEL_CAP_CONDSTORE))
		op->items |= MODEL_F_MODSEQ;
}

static bool make_store(rt_workload *w, const rt_client_state *v, rt_choice_source *c,
		       model_op *op, bool cond, bool seq)
{
	model_op_init(op, MODEL_OP_STORE);
	op->uid = !seq;
	if (seq) {
		if (v->n == 0)
			return false;
		uint32_t q = 1 + (uint32_t)rt_choice_below(c, v->n);
		cm_uidset_add(&op->set, q);
	} else if (!pick_uids(v, c, &op->set, 3)) {
		return false;
	}
	op->mode = (model_store_mode)rt_choice_below(c, 3);
	op->flags = random_flags(w, c, true);
	op->silent = rt_choice_chance(c, STORE_SILENT);
	if (cond && (w->caps & MODEL_CAP_CONDSTORE) && !seq) {
		/* The modseq the client last saw: stale on purpose when another
		 * client changed the message since (the conflicts we want). */
		const rt_client_msg *e = entry_of(v, op->set.r[0].lo);
		op->has_unchangedsince = true;
		op->unchangedsince = e && e->modseq ? e->modseq : v->highestmodseq;
		if (rt_choice_chance(c, UNCHANGEDSINCE_ZERO))
			op->unchangedsince = 0;
	}
	return true;
}

static void make_append(rt_workload *w, const rt_client_state *v, rt_choice_source *c,
			model_op *op, model_op_kind kind)
{
	model_op_init(op, kind);
	int box = v->selected && rt_choice_chance(c, APPEND_TO_SELECTED)
			  ? v->box : (int)rt_choice_below(c, (uint64_t)w->mix.boxes);
	set_box(w, op, box);
	snprintf(op->msg_id, sizeof(op->msg_id), "%s-%" PRIu64, w->id_prefix,
		 ++w->next_id);
	op->flags = kind == MODEL_OP_DELIVER ? 0 : random_flags(w, c, false);
	if (rt_choice_chance(c, ADD_WITHOUT_FLAGS))
		op->flags = 0;
	if (w->message_bytes != NULL) {
		cm_buf b = {0};
		w->message_bytes(op->msg_id, &b);
		op->size = (uint32_t)b.len;
		op->body_hash = cm_hash64(b.data, b.len);
		cm_buf_free(&b);
	}
}

static bool make_expunge(const rt_client_state *v, rt_choice_source *c, model_op *op)
{
	model_op_init(op, MODEL_OP_EXPUNGE);
	op->uid = rt_choice_chance(c, UID_EXPUNGE);
	if (!op->uid)
		return true;
	/* UID EXPUNGE of messages the client believes \Deleted. */
	for (size_t i = 0; i < v->n; i++)
		if (v->e[i].uid && (v->e[i].flags & CM_FLAG_DELETED))
			cm_uidset_add(&op->set, v->e[i].uid);
	if (op->set.n == 0)
		return pick_uids(v, c, &op->set, 2);
	return true;
}

/* Above mix.box_target messages a client trims the selected mailbox:
 * UID STORE +FLAGS.SILENT (\\Deleted) on a few UIDs, then EXPUNGE, racing
 * with everyone else. Long wire runs stay at a steady size, as load tools
 * keep them, instead of every op slowing down as the mailboxes grow. */
static bool make_trim(const rt_workload *w, const rt_client_state *v, rt_choice_source *c,
		      model_op *op)
{
	if (v->trim_next) {
		model_op_init(op, MODEL_OP_EXPUNGE);
		return true;
	}
	if (v->n <= w->mix.box_target || !rt_choice_chance(c, TRIM))
		return false;
	model_op_init(op, MODEL_OP_STORE);
	op->uid = true;
	op->mode = MODEL_STORE_ADD;
	op->flags = CM_FLAG_DELETED;
	op->silent = true;
	return pick_uids(v, c, &op->set, 8);
}

static bool make_fetch(rt_workload *w, const rt_client_state *v, rt_choice_source *c,
		       model_op *op, rt_wk kind)
{
	model_op_init(op, MODEL_OP_FETCH);
	op->uid = true;
	if (kind == RT_WK_FETCH_CHANGED) {
		if (!(w->caps & MODEL_CAP_CONDSTORE) || v->highestmodseq == 0)
			return false;
		cm_uidset_add_range(&op->set, 1, UINT32_MAX);
		op->items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
		op->has_changedsince = true;
		/* A modseq the client saw a while ago: the last HIGHESTMODSEQ,
		 * or an older message modseq. */
		op->changedsince = v->highestmodseq;
		if (v->n > 0 && rt_choice_chance(c, CHANGEDSINCE_OLDER)) {
			const rt_client_msg *e = &v->e[rt_choice_below(c, v->n)];
			if (e->modseq)
				op->changedsince = e->modseq - 1;
		}
		op->vanished = v->qresync && rt_choice_chance(c, CHANGEDSINCE_VANISHED);
		return true;
	}
	if (rt_choice_chance(c, FETCH_ALL)) {
		cm_uidset_add_range(&op->set, 1, UINT32_MAX);
	} else if (!pick_uids(v, c, &op->set, 4)) {
		return false;
	}
	if (kind == RT_WK_FETCH_ID)
		op->items = MODEL_F_UID | MODEL_F_ID | MODEL_F_BODY | MODEL_F_SIZE |
			    MODEL_F_IDATE;
	else
		op->items = MODEL_F_UID | MODEL_F_FLAGS |
			    ((w->caps & MODEL_CAP_CONDSTORE) ? MODEL_F_MODSEQ : 0);
	return true;
}

static bool make_copy(rt_workload *w, const rt_client_state *v, rt_choice_source *c, model_op *op,
		      bool move)
{
	if (move && !(w->caps & MODEL_CAP_MOVE))
		return false;
	model_op_init(op, move ? MODEL_OP_MOVE : MODEL_OP_COPY);
	op->uid = true;
	if (!pick_uids(v, c, &op->set, 3))
		return false;
	set_box(w, op, other_box(w, v, c));
	return true;
}

/* STATUS of another mailbox, HIGHESTMODSEQ too when the server has
 * CONDSTORE. */
static void make_status(rt_workload *w, const rt_client_state *v, rt_choice_source *c, model_op *op)
{
	model_op_init(op, MODEL_OP_STATUS);
	set_box(w, op, other_box(w, v, c));
	op->status_items = MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT | MODEL_STATUS_UIDVALIDITY |
			   MODEL_STATUS_UNSEEN |
			   ((w->caps & MODEL_CAP_CONDSTORE) ? MODEL_STATUS_HIGHESTMODSEQ : 0);
}

/* ENABLE QRESYNC or CONDSTORE, if the server can and QRESYNC is not on
 * yet (false: nothing to enable). */
static bool make_enable(const rt_workload *w, const rt_client_state *v, rt_choice_source *c, model_op *op)
{
	if (!(w->caps & (MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC)) ||
	    !(w->caps & MODEL_CAP_ENABLE) || v->qresync)
		return false;
	model_op_init(op, MODEL_OP_ENABLE);
	op->caps = (w->caps & MODEL_CAP_QRESYNC) && rt_choice_chance(c, ENABLE_QRESYNC)
			   ? MODEL_CAP_QRESYNC : MODEL_CAP_CONDSTORE;
	return true;
}

/* Fills op with the client's next operation. */
void rt_workload_next(rt_workload *w, const rt_client_state *v, rt_choice_source *c, model_op *op)
{
	if (!v->connected) {
		model_op_init(op, MODEL_OP_CONNECT);
		return;
	}
	if (!v->selected) {
		make_select(w, v, c, op, false);
		return;
	}
	if (v->need_sync) {
		make_sync_fetch(w, v, op);
		return;
	}
	if (w->mix.box_target != 0 && !v->readonly && make_trim(w, v, c, op))
		return;
	for (int tries = 0; tries < 4; tries++) {
		rt_wk k = pick_kind(&w->mix, c);
		switch (k) {
		case RT_WK_NOOP: model_op_init(op, MODEL_OP_NOOP); return;
		case RT_WK_SELECT: make_select(w, v, c, op, false); return;
		case RT_WK_EXAMINE: make_select(w, v, c, op, true); return;
		case RT_WK_FETCH_FLAGS:
		case RT_WK_FETCH_ID:
		case RT_WK_FETCH_CHANGED:
			if (make_fetch(w, v, c, op, k))
				return;
			break;
		case RT_WK_STORE:
		case RT_WK_STORE_COND:
		case RT_WK_STORE_SEQ:
			if (v->readonly)
				break;
			if (make_store(w, v, c, op, k == RT_WK_STORE_COND, k == RT_WK_STORE_SEQ))
				return;
			break;
		case RT_WK_APPEND: make_append(w, v, c, op, MODEL_OP_APPEND); return;
		case RT_WK_EXPUNGE:
			if (!v->readonly && make_expunge(v, c, op))
				return;
			break;
		case RT_WK_COPY:
		case RT_WK_MOVE:
			if ((k == RT_WK_COPY || !v->readonly) &&
			    make_copy(w, v, c, op, k == RT_WK_MOVE))
				return;
			break;
		case RT_WK_STATUS: make_status(w, v, c, op); return;
		case RT_WK_SEARCH:
			model_op_init(op, MODEL_OP_SEARCH);
			op->uid = true;
			return;
		case RT_WK_ENABLE:
			if (make_enable(w, v, c, op))
				return;
			break;
		case RT_WK_RECONNECT:
			model_op_init(op, MODEL_OP_LOGOUT);
			return;
		default:
			break;
		}
	}
	model_op_init(op, MODEL_OP_NOOP);
}

void rt_workload_deliver(rt_workload *w, rt_choice_source *c, model_op *op)
{
	rt_client_state none;
	memset(&none, 0, sizeof(none));
	none.box = -1;
	make_append(w, &none, c, op, MODEL_OP_DELIVER);
}

void rt_workload_init(rt_workload *w, const rt_mix *mix, unsigned caps,
		      const char *const *boxes, const char *id_prefix)
{
	memset(w, 0, sizeof(*w));
	w->mix = *mix;
	w->caps = caps;
	for (int i = 0; i < mix->boxes && i < RT_MAX_BOXES; i++)
		snprintf(w->boxes[i], sizeof(w->boxes[i]), "%s", boxes[i]);
	snprintf(w->id_prefix, sizeof(w->id_prefix), "%s", id_prefix);
	for (size_t i = 0; i < CM_ARRAY_LEN(flag_pool); i++) {
		int bit = cm_flag_intern(flag_pool[i], strlen(flag_pool[i]));
		w->flag_bits[i] = bit >= 0 ? (cm_flags)1 << bit : 0;
	}
}

void rt_workload_audit(const rt_workload *w, int box, bool condstore, model_op ops[3])
{
	model_op_init(&ops[0], MODEL_OP_SELECT);
	ops[0].readonly = true;
	ops[0].condstore = condstore;
	snprintf(ops[0].mailbox, sizeof(ops[0].mailbox), "%s", w->boxes[box]);
	model_op_init(&ops[1], MODEL_OP_SEARCH);
	ops[1].uid = true;
	model_op_init(&ops[2], MODEL_OP_FETCH);
	ops[2].uid = true;
	cm_uidset_add_range(&ops[2].set, 1, UINT32_MAX);
	ops[2].items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_ID |
		       (condstore ? MODEL_F_MODSEQ : 0);
}
