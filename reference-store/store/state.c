/* The store state: messages, flags, modseqs and expunges as the log says. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void clear_move(rs_mailbox *mb)
{
	mb->move_pending = false;
	cm_uidset_clear(&mb->move_uids);
	free(mb->move_dst);
	mb->move_dst = NULL;
}

void rs_state_reset(rs_mailbox *mb)
{
	clear_move(mb);
	mb->n = 0;
	mb->ntombs = 0;
	mb->nextuid = 1;
	mb->highestmodseq = 0;
	mb->floor_uid = 0;
	mb->floor_modseq = 0;
	mb->snap_end = 0;
	mb->generation++;
}

size_t rs_msg_lower(const rs_mailbox *mb, uint32_t uid)
{
	size_t a = 0, b = mb->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (mb->msgs[m].uid < uid)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

rs_msg *rs_state_find(rs_mailbox *mb, uint32_t uid)
{
	size_t i = rs_msg_lower(mb, uid);
	return i < mb->n && mb->msgs[i].uid == uid ? &mb->msgs[i] : NULL;
}

void rs_state_insert(rs_mailbox *mb, uint32_t uid, const char *name,
		    cm_flags flags, uint64_t modseq)
{
	size_t i = mb->n;
	if (mb->n > 0 && mb->msgs[mb->n - 1].uid >= uid) {
		/* Only a mutant (or a hand-edited log) adds below the top. */
		mb->stats.uidlist_anomalies++;
		i = rs_msg_lower(mb, uid);
		if (i < mb->n && mb->msgs[i].uid == uid) {
			snprintf(mb->msgs[i].name, RS_NAME_MAX, "%s", name);
			mb->msgs[i].flags = flags;
			mb->msgs[i].modseq = modseq;
			return;
		}
	}
	CM_GROW(mb->msgs, mb->cap, mb->n + 1);
	memmove(&mb->msgs[i + 1], &mb->msgs[i], (mb->n - i) * sizeof(*mb->msgs));
	mb->n++;
	rs_msg *m = &mb->msgs[i];
	m->uid = uid;
	m->flags = flags;
	m->modseq = modseq;
	snprintf(m->name, RS_NAME_MAX, "%s", name);
	if (uid >= mb->nextuid)
		mb->nextuid = uid + 1;
}

static void add_tomb(rs_mailbox *mb, uint32_t lo, uint32_t hi, uint64_t modseq)
{
	CM_GROW(mb->tombs, mb->tombcap, mb->ntombs + 1);
	mb->tombs[mb->ntombs++] = (rs_tomb){lo, hi, modseq};
	if (hi >= mb->nextuid)
		mb->nextuid = hi + 1;
}

/* ---- tokenizer over a record body ---- */

typedef struct tok {
	const char *p, *end;
} tok;

static bool tok_word(tok *t, const char **w, size_t *len)
{
	while (t->p < t->end && *t->p == ' ')
		t->p++;
	if (t->p >= t->end)
		return false;
	*w = t->p;
	while (t->p < t->end && *t->p != ' ')
		t->p++;
	*len = (size_t)(t->p - *w);
	return true;
}

static bool tok_u64(tok *t, uint64_t *v)
{
	const char *w;
	size_t len;
	if (!tok_word(t, &w, &len) || len == 0 || len > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9')
			return false;
		uint64_t d = (uint64_t)(w[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

static bool tok_uid(tok *t, uint32_t *uid)
{
	uint64_t v;
	if (!tok_u64(t, &v) || v == 0 || v > UINT32_MAX)
		return false;
	*uid = (uint32_t)v;
	return true;
}

static bool tok_name(tok *t, char name[RS_NAME_MAX])
{
	const char *w;
	size_t len;
	if (!tok_word(t, &w, &len) || len == 0 || len >= RS_NAME_MAX ||
	    memchr(w, '/', len) != NULL || memchr(w, '(', len) != NULL)
		return false;
	memcpy(name, w, len);
	name[len] = '\0';
	return true;
}

static bool tok_flags(tok *t, cm_flags *flags)
{
	while (t->p < t->end && *t->p == ' ')
		t->p++;
	return rs_parse_flags(&t->p, t->end, flags) == 0;
}

static bool tok_set(tok *t, cm_uidset *set)
{
	const char *w;
	size_t len;
	return tok_word(t, &w, &len) && cm_uidset_parse(set, w, len, 0) == 0;
}

static bool tok_done(tok *t)
{
	while (t->p < t->end && *t->p == ' ')
		t->p++;
	return t->p == t->end;
}

/* ---- record application ---- */

static int apply_append(rs_mailbox *mb, tok *t, uint64_t modseq)
{
	int count = 0;
	while (!tok_done(t)) {
		uint32_t uid;
		char name[RS_NAME_MAX];
		cm_flags flags;
		if (!tok_uid(t, &uid) || !tok_name(t, name) || !tok_flags(t, &flags))
			return -1;
		rs_state_insert(mb, uid, name, flags, modseq);
		count++;
	}
	return count > 0 ? 0 : -1;
}

static int apply_flags(rs_mailbox *mb, tok *t, uint64_t modseq)
{
	cm_uidset *set = &mb->scratch;
	cm_flags add = 0, rm = 0;
	bool replace_rest = false, final_state = false;
	if (!tok_set(t, set))
		return -1;
	while (t->p < t->end && *t->p == ' ')
		t->p++;
	if (t->p < t->end && *t->p == '=') {
		t->p++;
		if (!tok_flags(t, &add))
			return -1;
		final_state = true;
	} else {
		if (t->p >= t->end || *t->p++ != '+' || !tok_flags(t, &add))
			return -1;
		while (t->p < t->end && *t->p == ' ')
			t->p++;
		if (t->p >= t->end || *t->p++ != '-')
			return -1;
		if (t->p < t->end && *t->p == '*') {
			t->p++;
			replace_rest = true;
		} else if (!tok_flags(t, &rm)) {
			return -1;
		}
	}
	if (!tok_done(t))
		return -1;
	for (size_t r = 0; r < set->n; r++) {
		size_t i = rs_msg_lower(mb, set->r[r].lo);
		for (; i < mb->n && mb->msgs[i].uid <= set->r[r].hi; i++) {
			rs_msg *m = &mb->msgs[i];
			if (final_state || replace_rest)
				m->flags = add;
			else
				m->flags = (m->flags | add) & ~rm;
			m->modseq = modseq;
		}
	}
	return 0;
}

static int apply_expunge(rs_mailbox *mb, tok *t, uint64_t modseq)
{
	cm_uidset *set = &mb->scratch;
	if (!tok_set(t, set) || !tok_done(t))
		return -1;
	/* Walk the set's ranges; compact once from the first removal. */
	size_t first = mb->n;
	for (size_t r = 0; r < set->n; r++) {
		size_t i = rs_msg_lower(mb, set->r[r].lo);
		for (; i < mb->n && mb->msgs[i].uid <= set->r[r].hi; i++) {
			mb->msgs[i].uid = 0; /* mark */
			first = CM_MIN(first, i);
		}
	}
	size_t w = first;
	for (size_t i = first; i < mb->n; i++)
		if (mb->msgs[i].uid != 0)
			mb->msgs[w++] = mb->msgs[i];
	mb->n = w;
	for (size_t r = 0; r < set->n; r++)
		add_tomb(mb, set->r[r].lo, set->r[r].hi, modseq);
	clear_move(mb);
	return 0;
}

static int apply_move_intent(rs_mailbox *mb, tok *t)
{
	const char *w;
	size_t len;
	clear_move(mb);
	if (!tok_set(t, &mb->move_uids) || !tok_word(t, &w, &len) || len == 0 ||
	    w[0] != '/' || !tok_name(t, mb->move_name) || !tok_done(t))
		return -1;
	mb->move_dst = cm_xstrndup(w, len);
	mb->move_pending = true;
	return 0;
}

static int apply_move_abort(rs_mailbox *mb, tok *t)
{
	if (!tok_set(t, &mb->scratch) || !tok_done(t))
		return -1;
	clear_move(mb);
	return 0;
}

static int apply_snapshot(rs_mailbox *mb, tok *t)
{
	uint32_t uid;
	uint64_t modseq;
	char name[RS_NAME_MAX];
	cm_flags flags;
	if (!tok_uid(t, &uid) || !tok_u64(t, &modseq) || !tok_name(t, name) ||
	    !tok_flags(t, &flags) || !tok_done(t) || modseq == 0)
		return -1;
	rs_state_insert(mb, uid, name, flags, modseq);
	mb->highestmodseq = CM_MAX(mb->highestmodseq, modseq);
	return 0;
}

static int apply_tomb(rs_mailbox *mb, tok *t)
{
	cm_uidset *set = &mb->scratch;
	uint64_t modseq;
	if (!tok_set(t, set) || !tok_u64(t, &modseq) || !tok_done(t) || modseq == 0)
		return -1;
	for (size_t r = 0; r < set->n; r++)
		add_tomb(mb, set->r[r].lo, set->r[r].hi, modseq);
	mb->highestmodseq = CM_MAX(mb->highestmodseq, modseq);
	return 0;
}

static int apply_floor(rs_mailbox *mb, tok *t)
{
	uint32_t uid;
	uint64_t modseq;
	if (!tok_uid(t, &uid) || !tok_u64(t, &modseq) || !tok_done(t) || modseq == 0)
		return -1;
	mb->floor_uid = uid;
	mb->floor_modseq = modseq;
	mb->highestmodseq = CM_MAX(mb->highestmodseq, modseq);
	if (uid > mb->nextuid)
		mb->nextuid = uid;
	return 0;
}

uint32_t rs_record_origin(const char *body, size_t len, size_t *len_r)
{
	size_t i = len;
	uint64_t v = 0, mul = 1;
	while (i > 0 && body[i - 1] >= '0' && body[i - 1] <= '9' && mul <= 1000000000u) {
		v += (uint64_t)(body[i - 1] - '0') * mul;
		mul *= 10;
		i--;
	}
	*len_r = len;
	if (i == len || i < 2 || body[i - 1] != '@' || body[i - 2] != ' ' || v == 0 ||
	    v > UINT32_MAX)
		return 0;
	*len_r = i - 2;
	return (uint32_t)v;
}

int rs_state_apply(rs_mailbox *mb, const rs_log_record *rec, uint64_t base)
{
	size_t body_len = rec->body_len;
	if (rec->type == 'A' || rec->type == 'F' || rec->type == 'E')
		rs_record_origin(rec->body, rec->body_len, &body_len);
	tok t = {rec->body, rec->body + body_len};
	uint64_t modseq = (base << 32) | (rec->offset & 0xffffffffu);
	if (rec->type == 'S' || rec->type == 'T' || rec->type == 'V')
		mb->snap_end = rec->offset + rec->body_len + 12; /* "T " crc "\n" */
	int r;
	switch (rec->type) {
	case 'A': r = apply_append(mb, &t, modseq); break;
	case 'F': r = apply_flags(mb, &t, modseq); break;
	case 'E': r = apply_expunge(mb, &t, modseq); break;
	case 'S': return apply_snapshot(mb, &t);
	case 'T': return apply_tomb(mb, &t);
	case 'V': return apply_floor(mb, &t);
	/* Intents change no message: HIGHESTMODSEQ stays. */
	case 'M': return apply_move_intent(mb, &t);
	case 'X': return apply_move_abort(mb, &t);
	default: return -1;
	}
	if (r == 0)
		mb->highestmodseq = CM_MAX(mb->highestmodseq, modseq);
	return r;
}

/* ---- public accessors ---- */

size_t rs_count(const rs_mailbox *mb)
{
	return mb->n;
}

const rs_msg *rs_msg_at(const rs_mailbox *mb, size_t idx)
{
	return idx < mb->n ? &mb->msgs[idx] : NULL;
}

const rs_msg *rs_msg_find(const rs_mailbox *mb, uint32_t uid)
{
	return rs_state_find((rs_mailbox *)mb, uid);
}

uint32_t rs_uidvalidity(const rs_mailbox *mb)
{
	return mb->uidvalidity;
}

uint32_t rs_uidnext(const rs_mailbox *mb)
{
	/* What the log committed: UIDs a writer reserved in the UID list are
	 * spent (rs_free_uid skips them), but a reader cannot tell a durable
	 * reservation from one a crash will undo, so it does not show them. */
	return mb->nextuid;
}

/* The first UID at or above u in this handle's class (rs_options.uid_step):
 * UINT32_MAX + 1 when none is left. */
static uint64_t uid_align(const rs_mailbox *mb, uint64_t u)
{
	uint32_t step = mb->opts.uid_step;
	if (step <= 1 || u == 0)
		return u;
	uint64_t phase = mb->opts.uid_phase % step, at = (u - 1) % step;
	return u + (phase + step - at) % step;
}

uint32_t rs_free_uid(const rs_mailbox *mb)
{
	if (!mb->locked)
		cm_panic("rs_free_uid: not locked");
	uint64_t u = uid_align(mb, CM_MAX(mb->nextuid, mb->ul_nextuid));
	return u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}

uint32_t rs_uid_hint(const rs_mailbox *mb)
{
	uint64_t u = uid_align(mb, CM_MAX(mb->nextuid, mb->ul_nextuid));
	return u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}

uint32_t rs_uid_nth(const rs_mailbox *mb, uint32_t first, size_t i)
{
	uint64_t u = (uint64_t)first + (uint64_t)i * CM_MAX(mb->opts.uid_step, 1u);
	RS_ASSERT(u <= UINT32_MAX, "S1 UIDs of one add fit in 32 bits (rs_uids_left)");
	return (uint32_t)u;
}

rs_err rs_uids_left(rs_mailbox *mb, size_t n)
{
	uint32_t first = rs_free_uid(mb);
	uint64_t last = (uint64_t)first + (uint64_t)(n ? n - 1 : 0) * CM_MAX(mb->opts.uid_step, 1u);
	if (n == 0 || (rs_uid_free(mb, first) && last <= UINT32_MAX))
		return RS_OK;
	return rs_fail(mb, RS_EFAIL, "%s: out of UIDs (the log names UID %" PRIu32
		       "); the mailbox needs a new UIDVALIDITY", mb->path,
		       mb->n > 0 ? mb->msgs[mb->n - 1].uid : first);
}

uint64_t rs_highestmodseq(const rs_mailbox *mb)
{
	return mb->highestmodseq;
}

uint64_t rs_state_generation(const rs_mailbox *mb)
{
	return mb->generation;
}
