/* The sync agent (rs_repl.h): its handles on each replica's mailboxes,
 * its positions in their logs, and one sync of a pair of replicas in
 * rounds until quiescence. The records are shipped by repl_pass.c. */
#include "repl_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

void rs_repl_store_options(unsigned replicas, uint32_t replica, unsigned mutants,
			   rs_options *o)
{
	assert(replicas >= 2 && replicas <= RS_REPL_MAX && replica >= 1 &&
	       replica <= replicas + 1);
	o->mutants = mutants;
	if (mutants & RS_MUTANT_REPL_NO_STEP) {
		o->uid_step = 1; /* the naive design: one sequence for all */
		o->uid_phase = 0;
		return;
	}
	o->uid_step = replicas + 1;
	o->uid_phase = replica - 1; /* replicas + 1: the agent's fix-ups */
}

rs_repl *rs_repl_new(const rs_repl_options *o)
{
	assert(o->replicas >= 2 && o->replicas <= RS_REPL_MAX);
	rs_repl *r = cm_xcalloc(1, sizeof(*r));
	r->o = *o;
	return r;
}

void rs_repl_crashed(rs_repl *r, uint32_t replica, uint32_t new_pid)
{
	assert(replica >= 1 && replica <= r->o.replicas);
	r->o.pid[replica] = new_pid;
	for (size_t i = 0; i < r->nh; i++)
		if (r->h[i].replica == replica)
			r->h[i].stale = true;
}

void rs_repl_free(rs_repl *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nh; i++)
		rs_close(r->h[i].mb);
	free(r->h);
	for (size_t i = 0; i < r->nlinks; i++) {
		free(r->links[i].names);
		free(r->links[i].todo);
	}
	free(r->links);
	free(r->won);
	free(r->inflight);
	cm_buf_free(&r->buf);
	free(r);
}

/* ---- names ---- */

void rs_repl_name_add(repl_link *l, uint32_t uid, const char *name)
{
	size_t at = l->n;
	while (at > 0 && l->names[at - 1].uid >= uid) /* nearly always at the end */
		at--;
	if (at < l->n && l->names[at].uid == uid) {
		snprintf(l->names[at].name, sizeof(l->names[at].name), "%s", name);
		return;
	}
	CM_GROW(l->names, l->cap, l->n + 1);
	memmove(&l->names[at + 1], &l->names[at], (l->n - at) * sizeof(*l->names));
	l->names[at].uid = uid;
	snprintf(l->names[at].name, sizeof(l->names[at].name), "%s", name);
	l->n++;
}

/* The index of the first name with a UID at or above uid. */
static size_t name_lower(const repl_link *l, uint32_t uid)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->names[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *rs_repl_name_of(const repl_link *l, uint32_t uid)
{
	size_t at = name_lower(l, uid);
	return at < l->n && l->names[at].uid == uid ? l->names[at].name : NULL;
}

rs_err rs_repl_names_in(const repl_link *l, const cm_uidset *set, repl_name_fn *fn,
			void *ctx)
{
	rs_err err = RS_OK;
	for (size_t r = 0; r < set->n && err == RS_OK; r++)
		for (size_t i = name_lower(l, set->r[r].lo);
		     i < l->n && l->names[i].uid <= set->r[r].hi && err == RS_OK; i++)
			err = fn(ctx, &l->names[i]);
	return err;
}

uint32_t rs_repl_uid_of(const rs_mailbox *mb, const char *name)
{
	for (size_t i = 0; i < rs_count(mb); i++)
		if (strcmp(rs_msg_at(mb, i)->name, name) == 0)
			return rs_msg_at(mb, i)->uid;
	return 0;
}

void rs_repl_won_add(rs_repl *r, const char *box, const char *name, uint32_t on,
		     cm_flags bits, uint64_t upto)
{
	CM_GROW(r->won, r->capwon, r->nwon + 1);
	repl_won *w = &r->won[r->nwon++];
	snprintf(w->box, sizeof(w->box), "%s", box);
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->on = on;
	w->bits = bits;
	w->upto = upto;
	w->unresolved = false;
	w->after = 0;
	w->from = 0;
}

void rs_repl_won_add_unknown(rs_repl *r, const char *box, const char *name, uint32_t on,
			     cm_flags bits, uint64_t after, uint32_t from)
{
	rs_repl_won_add(r, box, name, on, bits, UINT64_MAX);
	repl_won *w = &r->won[r->nwon - 1];
	w->unresolved = true;
	w->after = after;
	w->from = from;
}

cm_flags rs_repl_won_mask(const rs_repl *r, const char *box, const char *name,
			  uint32_t on, uint64_t off)
{
	cm_flags m = 0;
	for (size_t i = 0; i < r->nwon; i++)
		if (r->won[i].on == on && off <= r->won[i].upto &&
		    strcmp(r->won[i].name, name) == 0 &&
		    strcmp(r->won[i].box, box) == 0)
			m |= r->won[i].bits;
	return m;
}

void rs_repl_won_prune(rs_repl *r, const char *box, uint32_t on, uint64_t shipped)
{
	size_t w = 0;
	for (size_t i = 0; i < r->nwon; i++)
		if (r->won[i].on != on || r->won[i].upto >= shipped ||
		    strcmp(r->won[i].box, box) != 0)
			r->won[w++] = r->won[i];
	r->nwon = w;
}

static size_t inflight_at(const rs_repl *r, const char *box, const char *name,
			  uint32_t on)
{
	size_t i = 0;
	while (i < r->ninflight &&
	       !(r->inflight[i].on == on && strcmp(r->inflight[i].name, name) == 0 &&
		 strcmp(r->inflight[i].box, box) == 0))
		i++;
	return i;
}

void rs_repl_inflight_mark(rs_repl *r, const char *box, const char *name, uint32_t on,
			   bool set)
{
	size_t i = inflight_at(r, box, name, on);
	if (!set) {
		if (i < r->ninflight)
			r->inflight[i] = r->inflight[--r->ninflight];
		return;
	}
	if (i < r->ninflight)
		return;
	CM_GROW(r->inflight, r->capinflight, r->ninflight + 1);
	repl_inflight *x = &r->inflight[r->ninflight++];
	snprintf(x->box, sizeof(x->box), "%s", box);
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->on = on;
}

bool rs_repl_inflight_has(const rs_repl *r, const char *box, const char *name,
			  uint32_t on)
{
	return inflight_at(r, box, name, on) < r->ninflight;
}

void rs_repl_fixup_name(rs_repl *r, const char *old, char out[RS_MSG_NAME_MAX])
{
	/* A new file, so a new GUID: the message's copy under its new UID. */
	snprintf(out, RS_MSG_NAME_MAX, "%.40s.F%" PRIu64, old, ++r->fixups);
}

/* ---- handles and links ---- */

/* The agent's handle on replica's mailbox box, opened (and synced with
 * its log) on first use. RS_OK or the open's failure. */
static rs_err handle(rs_repl *r, uint32_t replica, const char *box, rs_mailbox **mb_r)
{
	repl_handle *h = NULL;
	for (size_t i = 0; i < r->nh && h == NULL; i++)
		if (r->h[i].replica == replica && strcmp(r->h[i].box, box) == 0)
			h = &r->h[i];
	if (h == NULL) {
		CM_GROW(r->h, r->caph, r->nh + 1);
		h = &r->h[r->nh++];
		memset(h, 0, sizeof(*h));
		h->replica = replica;
		snprintf(h->box, sizeof(h->box), "%s", box);
	}
	rs_err err = RS_OK;
	if (h->stale) {
		rs_close(h->mb);
		h->mb = NULL;
		h->stale = false;
	}
	if (h->mb == NULL) {
		rs_options o = {.pid = r->o.pid[replica], .log_rotate_bytes = r->o.log_rotate_bytes};
		rs_repl_store_options(r->o.replicas, r->o.replicas + 1, r->o.mutants, &o);
		o.adopt_phase = replica - 1; /* what it adopts there is the replica's */
		o.adopt_phase_set = o.uid_step > 1;
		char *path = rs_namespace_mailbox_path(r->o.root[replica], box);
		char *why = NULL;
		err = path == NULL ? RS_EINVAL : rs_open(r->o.fs[replica], path, &o, &h->mb, &why);
		free(why);
		free(path);
	}
	if (err == RS_OK && (err = rs_sync(h->mb, false)) != RS_OK) {
		rs_close(h->mb); /* a crash took what it knew: open afresh */
		h->mb = NULL;
	}
	*mb_r = h->mb;
	return err;
}

static repl_link *link_get(rs_repl *r, const char *box, uint32_t src, uint32_t dst)
{
	for (size_t i = 0; i < r->nlinks; i++)
		if (r->links[i].src == src && r->links[i].dst == dst &&
		    strcmp(r->links[i].box, box) == 0)
			return &r->links[i];
	CM_GROW(r->links, r->caplinks, r->nlinks + 1);
	repl_link *l = &r->links[r->nlinks++];
	memset(l, 0, sizeof(*l));
	snprintf(l->box, sizeof(l->box), "%s", box);
	l->src = src;
	l->dst = dst;
	return l;
}

/* ---- one sync ---- */

static rs_err one_way(rs_repl *r, const char *box, uint32_t src, uint32_t dst,
		      uint64_t *shipped, rs_repl_stats *st, const char **why)
{
	link_get(r, box, dst, src); /* both exist before either pointer is kept */
	repl_pass p = {.r = r, .link = link_get(r, box, src, dst), .lower = src < dst,
		       .st = st, .why = why};
	p.back = link_get(r, box, dst, src);
	rs_err err = handle(r, src, box, &p.src);
	if (err == RS_OK)
		err = handle(r, dst, box, &p.dst);
	if (err != RS_OK) {
		*why = "cannot open the mailbox on a replica";
		return err;
	}
	/* The resurrect mutant replays every record each time, as a sync by
	 * union that forgets what was expunged since. */
	if (r->o.mutants & RS_MUTANT_REPL_RESURRECT)
		p.link->off = 0;
	err = rs_repl_pass(&p);
	*shipped += p.shipped;
	return err;
}

rs_err rs_repl_sync(rs_repl *r, const char *mailbox, uint32_t a, uint32_t b,
		    rs_repl_stats *st, const char **why_r)
{
	const char *why = "";
	assert(a != b && a >= 1 && b >= 1 && a <= r->o.replicas && b <= r->o.replicas);
	uint32_t lo = CM_MIN(a, b), hi = CM_MAX(a, b);
	rs_err err = RS_OK;
	for (unsigned round = 0; round < RS_REPL_ROUNDS && err == RS_OK; round++) {
		uint64_t shipped = 0;
		err = one_way(r, mailbox, lo, hi, &shipped, st, &why);
		if (err == RS_OK)
			err = one_way(r, mailbox, hi, lo, &shipped, st, &why);
		st->rounds++;
		if (err == RS_OK && shipped == 0)
			break;
	}
	if (why_r != NULL)
		*why_r = why;
	return err;
}
