/* STORE: flag changes recorded as added/removed sets (docs/design.md#flags),
 * one record and so one modseq per command, UNCHANGEDSINCE judged on state
 * refreshed under the lock (the race docs/design.md#modseq closes). */
#include "rs_private.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static cm_flags store_apply(rs_store_mode mode, cm_flags old, cm_flags flags)
{
	switch (mode) {
	case RS_STORE_REPLACE: return flags;
	case RS_STORE_ADD: return old | flags;
	case RS_STORE_REMOVE: return old & ~flags;
	}
	cm_panic("bad store mode");
}

/* What the session believed before locking: the mutants act on it. */
typedef struct stale_state {
	uint32_t *uid;
	cm_flags *flags;
	uint64_t *modseq;
	size_t n;
} stale_state;

static void stale_capture(rs_mailbox *mb, const cm_uidset *uids, stale_state *sv)
{
	sv->n = 0;
	sv->uid = cm_xmalloc((mb->n + 1) * sizeof(*sv->uid));
	sv->flags = cm_xmalloc((mb->n + 1) * sizeof(*sv->flags));
	sv->modseq = cm_xmalloc((mb->n + 1) * sizeof(*sv->modseq));
	for (size_t i = 0; i < mb->n; i++) {
		if (!cm_uidset_contains(uids, mb->msgs[i].uid))
			continue;
		sv->uid[sv->n] = mb->msgs[i].uid;
		sv->flags[sv->n] = mb->msgs[i].flags;
		sv->modseq[sv->n] = mb->msgs[i].modseq;
		sv->n++;
	}
}

static bool stale_find(const stale_state *sv, uint32_t uid, size_t *idx)
{
	size_t a = 0, b = sv->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (sv->uid[m] < uid)
			a = m + 1;
		else
			b = m;
	}
	*idx = a;
	return a < sv->n && sv->uid[a] == uid;
}

static void stale_free(stale_state *sv)
{
	free(sv->uid);
	free(sv->flags);
	free(sv->modseq);
}

/* flags-last-writer: each message's final state as computed from the stale
 * store state, written as "=(...)": concurrent +FLAGS overwrite each other. */
static rs_err commit_final_states(rs_mailbox *mb, const stale_state *sv,
				  rs_store_mode mode, cm_flags flags,
				  rs_store_result *res)
{
	rs_err err = RS_OK;
	cm_buf body = {0};
	for (size_t r = 0; r < res->changed.n && err == RS_OK; r++) {
		for (uint64_t u = res->changed.r[r].lo; u <= res->changed.r[r].hi; u++) {
			size_t idx;
			rs_msg *m = rs_state_find(mb, (uint32_t)u);
			cm_flags base = stale_find(sv, (uint32_t)u, &idx)
						? sv->flags[idx] : m->flags;
			cm_buf_clear(&body);
			cm_buf_printf(&body, "%" PRIu64 " =", u);
			rs_format_flags(&body, store_apply(mode, base, flags));
			err = rs_log_commit(mb, 'F', &body, &res->modseq);
			if (err != RS_OK)
				break;
		}
	}
	cm_buf_free(&body);
	return err;
}

static rs_err commit_delta(rs_mailbox *mb, rs_store_mode mode, cm_flags flags,
			   rs_store_result *res)
{
	RS_ASSERT(res->changed.n > 0, "S10 a STORE that changes nothing writes nothing");
	cm_buf body = {0};
	cm_uidset_format(&body, &res->changed);
	cm_buf_puts(&body, " +");
	rs_format_flags(&body, mode == RS_STORE_REMOVE ? 0 : flags);
	if (mode == RS_STORE_REPLACE) {
		cm_buf_puts(&body, " -*");
	} else {
		cm_buf_puts(&body, " -");
		rs_format_flags(&body, mode == RS_STORE_REMOVE ? flags : 0);
	}
	rs_err err = rs_log_commit(mb, 'F', &body, &res->modseq);
	cm_buf_free(&body);
	return err;
}

rs_err rs_store(rs_mailbox *mb, const cm_uidset *uids, rs_store_mode mode,
		cm_flags flags, int64_t unchangedsince, rs_store_result *res)
{
	stale_state sv = {0};
	bool read_unlocked = rs_mutant_on(mb, RS_MUTANT_FLAGS_READ_UNLOCKED);
	bool stale_cond = rs_mutant_on(mb, RS_MUTANT_UNCHANGEDSINCE_STALE);
	bool last_writer = rs_mutant_on(mb, RS_MUTANT_FLAGS_LAST_WRITER) ||
			   rs_mutant_on(mb, RS_MUTANT_FLAGS_READ_UNLOCKED);
	res->modseq = 0;
	cm_uidset_clear(&res->changed);
	cm_uidset_clear(&res->modified);
	/* The flags-read-unlocked mutant first brings the handle up to date
	 * without the lock, the fix one would try for flags-last-writer's
	 * stale copy: the copy is then only as old as the wait for the lock,
	 * but a writer that commits in that window is still overwritten by
	 * final states computed from the state before it (S10: judge and
	 * write under the lock, as +/- sets). A -FLAGS committed in the
	 * window is lost to a +FLAGS of another flag. A failed read leaves
	 * the copy as old as the handle. */
	if (read_unlocked)
		(void)rs_state_sync(mb);
	if (stale_cond || last_writer)
		stale_capture(mb, uids, &sv);
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK) {
		stale_free(&sv);
		return err;
	}
	RS_ASSERT(mb->locked && mb->log_off == mb->log_size,
		  "S10 flags and UNCHANGEDSINCE are judged on the store state read under the lock");
	for (size_t r = 0; r < uids->n; r++) {
		size_t i = rs_msg_lower(mb, uids->r[r].lo);
		for (; i < mb->n && mb->msgs[i].uid <= uids->r[r].hi; i++) {
			const rs_msg *m = &mb->msgs[i];
			uint64_t modseq = m->modseq;
			size_t idx;
			if (stale_cond && stale_find(&sv, m->uid, &idx))
				modseq = sv.modseq[idx];
			if (unchangedsince >= 0 && modseq > (uint64_t)unchangedsince) {
				cm_uidset_add(&res->modified, m->uid);
				continue;
			}
			if (store_apply(mode, m->flags, flags) != m->flags)
				cm_uidset_add(&res->changed, m->uid);
		}
	}
	if (res->changed.n > 0) {
		err = last_writer ? commit_final_states(mb, &sv, mode, flags, res)
				  : commit_delta(mb, mode, flags, res);
		if (err != RS_OK)
			cm_uidset_clear(&res->changed);
	}
	rs_write_end(mb);
	stale_free(&sv);
	return err;
}

rs_err rs_store_delta(rs_mailbox *mb, const cm_uidset *uids, cm_flags add, cm_flags rm,
		      rs_store_result *res)
{
	assert((add & rm) == 0);
	res->modseq = 0;
	cm_uidset_clear(&res->changed);
	cm_uidset_clear(&res->modified);
	rs_err err = rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	for (size_t r = 0; r < uids->n; r++) {
		size_t i = rs_msg_lower(mb, uids->r[r].lo);
		for (; i < mb->n && mb->msgs[i].uid <= uids->r[r].hi; i++)
			if (((mb->msgs[i].flags | add) & ~rm) != mb->msgs[i].flags)
				cm_uidset_add(&res->changed, mb->msgs[i].uid);
	}
	if (res->changed.n > 0) {
		cm_buf body = {0};
		cm_uidset_format(&body, &res->changed);
		cm_buf_puts(&body, " +");
		rs_format_flags(&body, add);
		cm_buf_puts(&body, " -");
		rs_format_flags(&body, rm);
		err = rs_log_commit(mb, 'F', &body, &res->modseq);
		cm_buf_free(&body);
		if (err != RS_OK)
			cm_uidset_clear(&res->changed);
	}
	rs_write_end(mb);
	return err;
}

void rs_store_result_free(rs_store_result *res)
{
	cm_uidset_free(&res->changed);
	cm_uidset_free(&res->modified);
}
