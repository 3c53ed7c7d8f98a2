/* One direction of a sync (rs_repl.h): the records the source's log
 * gained since the link's position, applied to the destination in log
 * order, the position advanced past each one applied. */
#include "repl_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* A record found past the position (its body copied out of the log). */
typedef struct rec {
	char type;
	uint64_t start, end;         /* its offset, and the offset after it */
	char *body;
	size_t len;                  /* without the origin tag */
	uint32_t origin;
} rec;

typedef struct rec_list {
	uint64_t from;
	rec *v;
	size_t n, cap;
} rec_list;

static int collect(void *ctx, const rs_log_record *lr)
{
	rec_list *l = ctx;
	if (lr->offset < l->from || strchr("AFE", lr->type) == NULL)
		return 0;
	CM_GROW(l->v, l->cap, l->n + 1);
	rec *r = &l->v[l->n++];
	r->type = lr->type;
	r->start = lr->offset;
	r->end = lr->offset + lr->body_len + 12; /* "T " body " crc8hex\n" */
	r->body = cm_xmalloc(lr->body_len + 1);
	memcpy(r->body, lr->body, lr->body_len);
	r->body[lr->body_len] = '\0';
	r->origin = rs_record_origin(r->body, lr->body_len, &r->len);
	r->body[r->len] = '\0';
	return 0;
}

static int read_all(rs_fs *fs, const char *path, cm_buf *out)
{
	int fd = fs->ops->open(fs, path, RS_O_RDONLY);
	if (fd < 0)
		return fd;
	rs_fs_stat st;
	int r = fs->ops->fstat(fs, fd, &st);
	cm_buf_clear(out);
	if (r == 0) {
		cm_buf_reserve(out, st.size);
		ssize_t n = fs->ops->pread(fs, fd, out->data, st.size, 0);
		r = n < 0 ? (int)n : 0;
		out->len = n < 0 ? 0 : (size_t)n;
	}
	fs->ops->close(fs, fd);
	return r;
}

/* The records of k's source (read through mb) past k's position. RS_OK,
 * RS_EFAIL (the log could not be read) or RS_ECORRUPT (it is another log
 * than the position's). */
static rs_err records(repl_pass *p, repl_link *k, rs_mailbox *mb, rec_list *l)
{
	rs_fs *fs = p->r->o.fs[k->src];
	if (read_all(fs, rs_log_path(mb), &p->r->buf) < 0) {
		*p->why = "cannot read a replica's log";
		return RS_EFAIL;
	}
	uint32_t indexid, seq, uv;
	uint64_t valid, durable;
	const char *err = NULL;
	l->from = k->off;
	rs_err e = rs_log_scan(p->r->buf.data, p->r->buf.len, &indexid, &seq, &uv, collect, l,
			       &valid, &durable, &err);
	if (e != RS_OK) {
		*p->why = "a replica's log does not parse";
		return RS_EFAIL;
	}
	if (k->started && (indexid != k->indexid || seq != k->log_seq)) {
		*p->why = "a log was rotated or rebuilt past the sync position (no full sync)";
		return RS_ECORRUPT;
	}
	k->started = true;
	k->indexid = indexid;
	k->log_seq = seq;
	/* The state must know every record read: an A record the state has
	 * not caught up with would look like a message expunged since. */
	e = rs_sync(mb, false);
	if (e != RS_OK)
		*p->why = "cannot read a replica's state";
	return e;
}

static void free_records(rec_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].body);
	free(l->v);
}

/* ---- A: messages ---- */

/* "<uid> <name> (<flags>)" at *s; false at the end or on bad syntax. */
static bool next_add(const char **s, uint32_t *uid, char name[RS_MSG_NAME_MAX],
		     cm_flags *flags)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	char *end;
	unsigned long u = strtoul(p, &end, 10);
	if (end == p || *end != ' ' || u == 0 || u > UINT32_MAX)
		return false;
	p = end + 1;
	const char *sp = strchr(p, ' ');
	if (sp == NULL || sp == p || (size_t)(sp - p) >= RS_MSG_NAME_MAX || sp[1] != '(')
		return false;
	memcpy(name, p, (size_t)(sp - p));
	name[sp - p] = '\0';
	const char *close = strchr(sp, ')');
	if (close == NULL || cm_flags_parse(sp + 1, (size_t)(close + 1 - (sp + 1)), flags,
					    NULL) < 0)
		return false;
	*uid = (uint32_t)u;
	*s = close + 1;
	return true;
}

/* One STORE on one message of mb, committed as a change that came from
 * replica origin (0: the replica's own). A +/- with no flags is none. */
static rs_err store_uid(rs_mailbox *mb, uint32_t origin, uint32_t uid, rs_store_mode mode,
			cm_flags flags)
{
	if (flags == 0 && mode != RS_STORE_REPLACE)
		return RS_OK;
	cm_uidset one = {0};
	cm_uidset_add(&one, uid);
	rs_store_result res = {0};
	rs_set_origin(mb, origin);
	rs_err err = rs_store(mb, &one, mode, flags, -1, &res);
	rs_store_result_free(&res);
	cm_uidset_free(&one);
	return err;
}

/* +add -rm on one message of mb as one change (store_uid's origin): a
 * client's STORE between the two halves would be taken for a change made
 * after all of it. */
static rs_err store_delta(rs_mailbox *mb, uint32_t origin, uint32_t uid, cm_flags add,
			  cm_flags rm)
{
	if (add == 0 && rm == 0)
		return RS_OK;
	cm_uidset one = {0};
	cm_uidset_add(&one, uid);
	rs_store_result res = {0};
	rs_set_origin(mb, origin);
	rs_err err = rs_store_delta(mb, &one, add, rm & ~add, &res);
	rs_store_result_free(&res);
	cm_uidset_free(&one);
	return err;
}

/* Whether the destination's log ever added name: in the A records the
 * other direction has read (p->back's names) or in those past its
 * position (read afresh). RS_OK, or the log's read failure. */
static rs_err ever_added(repl_pass *p, const char *name, bool *had_r)
{
	*had_r = false;
	for (size_t i = 0; i < p->back->n && !*had_r; i++)
		*had_r = strcmp(p->back->names[i].name, name) == 0;
	if (*had_r)
		return RS_OK;
	repl_link k = *p->back; /* a reading position only: k's lists are not touched */
	rec_list l = {0};
	rs_err err = records(p, &k, p->dst, &l);
	for (size_t i = 0; i < l.n && err == RS_OK && !*had_r; i++) {
		const char *s = l.v[i].body;
		uint32_t uid;
		char nm[RS_MSG_NAME_MAX];
		cm_flags f;
		while (l.v[i].type == 'A' && !*had_r && next_add(&s, &uid, nm, &f))
			*had_r = strcmp(nm, name) == 0;
	}
	free_records(&l);
	return err;
}

/* Adds the source's message src_uid to the destination as name at uid
 * with flags, a change that came from the source. Until the add is known
 * to have committed or been refused it is in flight
 * (rs_repl_inflight_has); an add in flight that the destination's log
 * shows it took, while it no longer has it, was expunged there since: it
 * is not made again (its E record ships the expunge back). RS_OK,
 * RS_EEXPUNGED (gone on either side), RS_EEXIST (uid taken) or the
 * failure. */
static rs_err ship_add(repl_pass *p, uint32_t src_uid, const char *name, cm_flags flags,
		       uint32_t uid)
{
	bool had = false;
	rs_err err = RS_OK;
	if (rs_repl_inflight_has(p->r, p->link->box, name, p->link->dst))
		err = ever_added(p, name, &had);
	if (err == RS_OK && had) {
		rs_repl_inflight_mark(p->r, p->link->box, name, p->link->dst, false);
		return RS_EEXPUNGED;
	}
	if (err == RS_OK)
		err = rs_fetch_body(p->src, src_uid, &p->r->buf, NULL);
	if (err != RS_OK)
		return err == RS_ENOENT ? RS_EEXPUNGED : err;
	rs_repl_inflight_mark(p->r, p->link->box, name, p->link->dst, true);
	rs_set_origin(p->dst, p->link->src);
	err = rs_repl_add(p->dst, p->r->buf.data, p->r->buf.len, name, flags, uid);
	if (err == RS_OK || err == RS_EEXIST)
		rs_repl_inflight_mark(p->r, p->link->box, name, p->link->dst, false);
	return err;
}

/* Renumbers the source's message uid (name) to a new file new_name at
 * *to_r, a UID above both sides' next (the agent's handles step in the
 * agent's own phase), with the flags it has then (*flags_r). RS_OK,
 * RS_EEXPUNGED (gone meanwhile), or a failure; a writer that took *to_r
 * first sets p->retry (RS_OK: again next round). */
static rs_err renumber_src(repl_pass *p, uint32_t uid, const char *name,
			   char new_name[RS_MSG_NAME_MAX], uint32_t *to_r, cm_flags *flags_r)
{
	rs_repl_fixup_name(p->r, name, new_name);
	*to_r = CM_MAX(rs_uid_hint(p->src), rs_uid_hint(p->dst));
	*flags_r = 0;
	rs_set_origin(p->src, 0); /* the source's own change: it ships */
	rs_err err = rs_repl_renumber(p->src, uid, *to_r, new_name, flags_r);
	if (err == RS_EEXIST) {
		p->retry = true;
		return RS_EEXPUNGED; /* nothing done: as if gone, for now */
	}
	if (err == RS_OK) {
		p->st->fixups++;
		p->shipped++;
		rs_repl_name_add(p->link, *to_r, new_name);
	}
	return err;
}

/* The message's UID cannot be taken on the destination: it is renumbered
 * on its own side to a UID above both sides' next, and the renumbered
 * copy goes to the destination at once, before the other direction's
 * fix-ups move that side's next UID again (else the two sides renumber
 * each other's messages for ever). */
static rs_err fix_up(repl_pass *p, uint32_t uid, const char *name)
{
	if (rs_msg_find(p->src, uid) == NULL)
		return RS_OK; /* expunged since */
	char new_name[RS_MSG_NAME_MAX];
	uint32_t to;
	cm_flags flags;
	rs_err err = renumber_src(p, uid, name, new_name, &to, &flags);
	if (err == RS_EEXPUNGED)
		return RS_OK; /* gone meanwhile: its E record follows */
	if (err != RS_OK)
		return err;
	err = ship_add(p, to, new_name, flags, to);
	/* taken meanwhile: next round's; gone: its E record follows */
	return err == RS_EEXIST || err == RS_EEXPUNGED ? RS_OK : err;
}

/* One message (name) under two UIDs: an add of the agent's that a crash of
 * the destination cut short was adopted there under a UID of its own,
 * without its flags. Both copies move to one new UID, with the source's
 * flags. */
static rs_err reconcile(repl_pass *p, uint32_t uid, uint32_t dst_uid, const char *name)
{
	char new_name[RS_MSG_NAME_MAX];
	uint32_t to;
	cm_flags flags, lost = 0;
	rs_err err = renumber_src(p, uid, name, new_name, &to, &flags);
	if (err == RS_OK) {
		rs_set_origin(p->dst, p->link->src);
		err = rs_repl_renumber(p->dst, dst_uid, to, new_name, &lost);
	}
	if (err == RS_OK && lost != flags)
		err = store_uid(p->dst, p->link->src, to, RS_STORE_REPLACE, flags);
	if (err == RS_OK)
		rs_repl_inflight_mark(p->r, p->link->box, name, p->link->dst, false);
	if (err == RS_EEXPUNGED || err == RS_EEXIST)
		p->retry = true; /* a writer came first: again next round */
	return err == RS_EEXPUNGED || err == RS_EEXIST ? RS_OK : err;
}

static void todo_add(repl_link *k, uint32_t uid, const char *name)
{
	for (size_t i = 0; i < k->ntodo; i++)
		if (k->todo[i].uid == uid)
			return;
	CM_GROW(k->todo, k->captodo, k->ntodo + 1);
	k->todo[k->ntodo].uid = uid;
	snprintf(k->todo[k->ntodo++].name, RS_MSG_NAME_MAX, "%s", name);
}

/* A message of the source the destination could not take at its UID:
 * renumbered, or reconciled with the copy the destination has. */
static rs_err settle_one(repl_pass *p, uint32_t uid, const char *name)
{
	if (rs_msg_find(p->src, uid) == NULL)
		return RS_OK; /* expunged or renumbered since */
	uint32_t there = rs_repl_uid_of(p->dst, name);
	if (there == uid)
		return RS_OK;
	/* The source's copy is the adopted one, without its flags: the
	 * other direction reconciles, from the copy that has them (its
	 * position is still before that copy's A record). */
	if (there != 0 && rs_repl_inflight_has(p->r, p->link->box, name, p->link->src))
		return RS_OK;
	return there != 0 ? reconcile(p, uid, there, name) : fix_up(p, uid, name);
}

/* Fixed up after every add of the pass that can keep its UID has landed
 * (a fix-up's new UID pushes the destination's next UID past theirs);
 * what a writer beats stays for the next round. */
static rs_err settle_todo(repl_pass *p)
{
	repl_link *k = p->link;
	size_t w = 0;
	rs_err err = RS_OK;
	bool again = false;
	for (size_t i = 0; i < k->ntodo; i++) {
		p->retry = false;
		if (err == RS_OK)
			err = settle_one(p, k->todo[i].uid, k->todo[i].name);
		if (err != RS_OK || p->retry)
			k->todo[w++] = k->todo[i];
		again |= p->retry;
	}
	k->ntodo = w;
	if (again)
		p->shipped++; /* not quiet: another round */
	return err;
}

static rs_err add_one(repl_pass *p, uint32_t uid, const char *name, cm_flags flags)
{
	rs_repl_name_add(p->link, uid, name);
	if (rs_msg_find(p->src, uid) == NULL)
		return RS_OK; /* expunged since (or renumbered): its E follows */
	uint32_t there = rs_repl_uid_of(p->dst, name);
	if (there == uid)
		return RS_OK;
	if (there != 0) {
		todo_add(p->link, uid, name); /* one message, two UIDs */
		return RS_OK;
	}
	rs_err err = ship_add(p, uid, name, flags, uid);
	if (err == RS_EEXPUNGED)
		return RS_OK; /* gone from either side since: an E record says so */
	if (err == RS_EEXIST) {
		todo_add(p->link, uid, name);
		return RS_OK;
	}
	if (err == RS_OK) {
		p->st->adds++;
		p->shipped++;
	}
	return err;
}

static rs_err apply_add(repl_pass *p, const rec *r)
{
	const char *s = r->body;
	uint32_t uid;
	char name[RS_MSG_NAME_MAX];
	cm_flags flags;
	rs_err err = RS_OK;
	while (err == RS_OK && next_add(&s, &uid, name, &flags)) {
		if (r->origin != 0)
			rs_repl_name_add(p->link, uid, name); /* known, not shipped */
		else
			err = add_one(p, uid, name, flags);
	}
	return err;
}

/* ---- F: flags ---- */

/* An F record: "=(flags)", a final state (a store mutant's), is read as
 * the change to it: +flags, -every other flag. */
typedef struct flag_rec {
	cm_uidset uids;
	cm_flags add, rm;
} flag_rec;

static bool parse_flags_rec(const rec *r, flag_rec *f)
{
	const char *sp = strchr(r->body, ' ');
	if (sp == NULL || cm_uidset_parse(&f->uids, r->body, (size_t)(sp - r->body),
					  UINT32_MAX) < 0)
		return false;
	const char *p = sp + 1, *close = strchr(p, ')');
	bool final = *p == '=';
	if ((*p != '+' && *p != '=') || close == NULL ||
	    cm_flags_parse(p + 1, (size_t)(close - p), &f->add, NULL) < 0)
		return false;
	p = close + 1;
	if (!final && (p[0] != ' ' || p[1] != '-'))
		return false;
	if (final || p[2] == '*') {
		f->rm = cm_flags_all_known() & ~f->add; /* FLAGS replace: every other flag */
		return true;
	}
	close = strchr(p, ')');
	return close != NULL && cm_flags_parse(p + 2, (size_t)(close - p - 1), &f->rm, NULL) == 0;
}

/* One message's change on the destination, as +/- records (or, in the
 * naive designs the mutants are, as final states). */
static rs_err store_one(repl_pass *p, uint32_t dst_uid, uint32_t src_uid, cm_flags add,
			cm_flags rm)
{
	const rs_msg *m = rs_msg_find(p->src, src_uid);
	cm_flags now = m != NULL ? m->flags : add;
	unsigned mut = p->r->o.mutants;
	uint32_t from = p->link->src;
	if (mut & RS_MUTANT_REPL_FINAL_FLAGS)
		return store_uid(p->dst, from, dst_uid, RS_STORE_REPLACE, now);
	/* The mixed mutant sends removals as the source's final state. */
	if ((mut & RS_MUTANT_REPL_MIXED_RECORDS) && rm != 0) {
		rs_err err = store_uid(p->dst, from, dst_uid, RS_STORE_ADD, add);
		return err == RS_OK ? store_uid(p->dst, from, dst_uid, RS_STORE_REPLACE, now | add)
				    : err;
	}
	return store_delta(p->dst, from, dst_uid, add, rm);
}

/* The flags of name that the source's own F records after offset `after`
 * touch (read afresh from its log: a client may have written since the
 * pass read it). RS_OK or the log's read failure. */
static rs_err own_after(repl_pass *p, const char *name, uint64_t after, cm_flags *bits_r)
{
	repl_link k = *p->link; /* a reading position only: k's lists are not touched */
	k.off = after + 1;
	rec_list l = {0};
	*bits_r = 0;
	rs_err err = records(p, &k, p->src, &l);
	uint32_t uid = err == RS_OK ? rs_repl_uid_of(p->src, name) : 0;
	for (size_t i = 0; i < l.n && uid != 0; i++) {
		flag_rec f = {0};
		if (l.v[i].type == 'F' && l.v[i].origin == 0 && parse_flags_rec(&l.v[i], &f) &&
		    cm_uidset_contains(&f.uids, uid))
			*bits_r |= f.add | f.rm;
		cm_uidset_free(&f.uids);
	}
	free_records(&l);
	return err;
}

/* The flags of the change at off that a change of the higher replica
 * applied on this (lower) one after it overwrote, and that no later
 * change of this replica's own has set again since. */
static rs_err overwritten(repl_pass *p, const char *name, uint64_t off, cm_flags bits,
			  cm_flags *over_r)
{
	*over_r = 0;
	rs_err err = RS_OK;
	for (size_t i = 0; i < p->r->nwon && err == RS_OK; i++) {
		const repl_won *w = &p->r->won[i];
		cm_flags later = 0;
		if (w->on != p->link->src || off > w->upto || (w->bits & bits) == 0 ||
		    strcmp(w->name, name) != 0 || strcmp(w->box, p->link->box) != 0)
			continue;
		err = own_after(p, name, w->upto, &later);
		*over_r |= w->bits & bits & ~later;
	}
	return err;
}

/* The lower replica's change (add, rm) to name at off won over a
 * concurrent change of the higher one that the agent applied on the lower
 * one after it: the lower one takes its own values for those flags again,
 * as the higher one does when this change reaches it, unless a later
 * change of its own set them since. Conditional on the message being
 * unchanged since it was read (a client's STORE in between is a later
 * change: read again). Tagged as the higher replica's: not shipped. */
static rs_err assert_again(repl_pass *p, const char *name, uint64_t off, cm_flags add,
			   cm_flags rm)
{
	for (int attempt = 0; attempt < RS_REPL_ROUNDS; attempt++) {
		cm_flags over;
		rs_err err = overwritten(p, name, off, add | rm, &over);
		uint32_t uid = err == RS_OK ? rs_repl_uid_of(p->src, name) : 0;
		const rs_msg *m = uid != 0 ? rs_msg_find(p->src, uid) : NULL;
		if (err != RS_OK || m == NULL)
			return err; /* expunged or renumbered since: nothing to assert */
		cm_flags want = (m->flags & ~(over & (add | rm))) | (add & over);
		if (want == m->flags)
			return RS_OK;
		p->st->conflicts++;
		cm_uidset one = {0};
		cm_uidset_add(&one, uid);
		rs_store_result res = {0};
		rs_set_origin(p->src, p->link->dst);
		err = rs_store(p->src, &one, RS_STORE_REPLACE, want, (int64_t)m->modseq, &res);
		bool raced = res.modified.n > 0;
		rs_store_result_free(&res);
		cm_uidset_free(&one);
		if (err != RS_OK || !raced)
			return err;
	}
	*p->why = "a client kept changing a message the agent was merging";
	return RS_EFAIL;
}

/* The flags of name the lower replica changed concurrently with a
 * higher one's record at off: already applied over it there, or not
 * shipped yet. */
static cm_flags lost_to_lower(const repl_pass *p, const char *name, uint64_t off)
{
	cm_flags m = rs_repl_won_mask(p->r, p->link->box, name, p->link->src, off);
	for (size_t i = 0; i < p->npending; i++)
		if (strcmp(p->pending[i].name, name) == 0)
			m |= p->pending[i].bits;
	return m;
}

static rs_err flags_one(repl_pass *p, uint32_t src_uid, const flag_rec *f, uint64_t off)
{
	const char *name = rs_repl_name_of(p->link, src_uid);
	uint32_t dst_uid = name ? rs_repl_uid_of(p->dst, name) : 0;
	if (dst_uid == 0)
		return RS_OK; /* not there (yet, or any more): nothing to change */
	cm_flags add = f->add, rm = f->rm;
	cm_flags lost = p->lower ? 0 : lost_to_lower(p, name, off);
	if (((add | rm) & lost) != 0) {
		p->st->conflicts++;
		add &= ~lost;
		rm &= ~lost;
	}
	if (add == 0 && rm == 0)
		return RS_OK;
	p->st->flag_changes++;
	p->shipped++;
	uint64_t before = rs_highestmodseq(p->dst) & 0xffffffffu;
	rs_err err = store_one(p, dst_uid, src_uid, add, rm);
	/* The destination's records up to here were made before this change
	 * reached it: where they touch the same flags they were concurrent
	 * with it (the higher replica's lose; the lower one's win). A crash
	 * may have let it land unseen: then where is found later. */
	if (err == RS_OK)
		rs_repl_won_add(p->r, p->link->box, name, p->link->dst, add | rm,
				rs_highestmodseq(p->dst) & 0xffffffffu);
	else if (err == RS_EUNKNOWN)
		rs_repl_won_add_unknown(p->r, p->link->box, name, p->link->dst, add | rm, before,
					p->link->src);
	if (err == RS_OK && p->lower)
		err = assert_again(p, name, off, add, rm);
	return err;
}

struct flags_ctx {
	repl_pass *p;
	const flag_rec *f;
	uint64_t off;
};

static rs_err flags_each(void *ctx, const repl_name *n)
{
	struct flags_ctx *x = ctx;
	return flags_one(x->p, n->uid, x->f, x->off);
}

static rs_err apply_flags(repl_pass *p, const rec *r)
{
	flag_rec f = {0};
	if (!parse_flags_rec(r, &f)) {
		cm_uidset_free(&f.uids);
		*p->why = "a replica's F record does not parse";
		return RS_ECORRUPT;
	}
	struct flags_ctx x = {p, &f, r->start};
	rs_err err = rs_repl_names_in(p->link, &f.uids, flags_each, &x);
	cm_uidset_free(&f.uids);
	return err;
}

/* ---- E: expunges ---- */

struct expunge_ctx {
	repl_pass *p;
	cm_uidset *dst;              /* the destination's UIDs of the names */
};

static rs_err expunge_each(void *ctx, const repl_name *n)
{
	struct expunge_ctx *x = ctx;
	uint32_t u = rs_repl_uid_of(x->p->dst, n->name);
	if (u != 0)
		cm_uidset_add(x->dst, u);
	return RS_OK;
}

static rs_err apply_expunge(repl_pass *p, const rec *r)
{
	cm_uidset set = {0}, dst = {0};
	if (cm_uidset_parse(&set, r->body, r->len, UINT32_MAX) < 0) {
		*p->why = "a replica's E record does not parse";
		return RS_ECORRUPT;
	}
	struct expunge_ctx x = {p, &dst};
	rs_repl_names_in(p->link, &set, expunge_each, &x);
	rs_err err = RS_OK;
	if (dst.n > 0) {
		rs_set_origin(p->dst, p->link->src);
		err = rs_repl_expunge(p->dst, &dst);
		p->st->expunges += cm_uidset_count(&dst);
		p->shipped++;
	}
	cm_uidset_free(&set);
	cm_uidset_free(&dst);
	return err;
}

/* ---- the lower replica's unshipped changes ---- */

static void pending_add(repl_pass *p, const char *name, cm_flags bits)
{
	for (size_t i = 0; i < p->npending; i++)
		if (strcmp(p->pending[i].name, name) == 0) {
			p->pending[i].bits |= bits;
			return;
		}
	CM_GROW(p->pending, p->cappending, p->npending + 1);
	snprintf(p->pending[p->npending].name, RS_MSG_NAME_MAX, "%s", name);
	p->pending[p->npending++].bits = bits;
}

struct pending_ctx {
	repl_pass *p;
	cm_flags bits;
};

static rs_err pending_each(void *ctx, const repl_name *n)
{
	struct pending_ctx *x = ctx;
	pending_add(x->p, n->name, x->bits);
	return RS_OK;
}

/* Higher to lower: the flag changes in the lower replica's log that its
 * own pass has not shipped yet (made after it read its log). */
static rs_err pending_scan(repl_pass *p)
{
	rec_list l = {0};
	rs_err err = records(p, p->back, p->dst, &l);
	for (size_t i = 0; i < l.n && err == RS_OK; i++) {
		flag_rec f = {0};
		if (l.v[i].type != 'F' || l.v[i].origin != 0 || !parse_flags_rec(&l.v[i], &f)) {
			cm_uidset_free(&f.uids);
			continue;
		}
		struct pending_ctx x = {p, f.add | f.rm};
		rs_repl_names_in(p->back, &f.uids, pending_each, &x);
		cm_uidset_free(&f.uids);
	}
	free_records(&l);
	return err;
}

/* ---- the pass ---- */

/* The position moves past each record applied (an add that waits for a
 * fix-up waits in the link's todo list, which the agent keeps), so no
 * record is ever applied twice. */
/* Where the change of w (unresolved, on this pass's source) landed in the
 * source's log: upto at its record, or w dropped (bits 0) when it did not
 * land. RS_OK or the log's read failure. */
static rs_err won_resolve(repl_pass *p, repl_won *w)
{
	repl_link k = *p->link; /* a reading position only: k's lists are not touched */
	k.off = w->after + 1;
	rec_list l = {0};
	rs_err err = records(p, &k, p->src, &l);
	uint32_t uid = err == RS_OK ? rs_repl_uid_of(p->src, w->name) : 0;
	for (size_t i = 0; i < l.n && w->unresolved && uid != 0; i++) {
		flag_rec f = {0};
		if (l.v[i].type == 'F' && l.v[i].origin == w->from && parse_flags_rec(&l.v[i], &f) &&
		    cm_uidset_contains(&f.uids, uid)) {
			w->upto = l.v[i].start;
			w->unresolved = false;
		}
		cm_uidset_free(&f.uids);
	}
	free_records(&l);
	if (err == RS_OK && w->unresolved) {
		w->bits = 0; /* it never landed: nothing was concurrent with it */
		w->unresolved = false;
	}
	return err;
}

static rs_err won_resolve_all(repl_pass *p)
{
	rs_err err = RS_OK;
	for (size_t i = 0; i < p->r->nwon && err == RS_OK; i++) {
		repl_won *w = &p->r->won[i];
		if (w->unresolved && w->on == p->link->src && strcmp(w->box, p->link->box) == 0)
			err = won_resolve(p, w);
	}
	return err;
}

rs_err rs_repl_pass(repl_pass *p)
{
	rec_list l = {0};
	rs_err err = won_resolve_all(p);
	if (err == RS_OK && !p->lower)
		err = pending_scan(p);
	if (err == RS_OK)
		err = records(p, p->link, p->src, &l);
	for (size_t i = 0; i < l.n && err == RS_OK; i++) {
		const rec *r = &l.v[i];
		if (r->type == 'A')
			err = apply_add(p, r);
		else if (r->origin == 0)
			err = r->type == 'F' ? apply_flags(p, r) : apply_expunge(p, r);
		if (err == RS_OK) {
			p->link->off = r->end;
			p->st->shipped++;
		}
	}
	if (err == RS_OK)
		err = settle_todo(p);
	if (err != RS_OK && **p->why == '\0')
		*p->why = "a replica's store failed";
	if (err == RS_OK)
		rs_repl_won_prune(p->r, p->link->box, p->link->src, p->link->off);
	free(p->pending);
	free_records(&l);
	return err;
}
