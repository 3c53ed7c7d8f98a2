/* Sleep sets (Godefroid, 1996) over the preemption-bounded walk; the why,
 * and the argument that no end state or verdict is lost within the bound,
 * are in docs/explore.md ("The reduction, and how it is checked").
 *
 * A turn touches the shared world in three ways only: its first call (the
 * only one another client could observe: the simulator yields before every
 * other kind), the events it records (their order is the history the
 * checker judges), and the scheduler's own state when it stops at a lock
 * back-off. Two turns of different clients are independent when neither
 * touches what the other does in a way the order could change:
 *   - a call names a file (read or written) and may change the entries of
 *     a directory (opening may create, unlinking removes); entries
 *     changing are seen by a listing, a stat or an fsync of that directory,
 *     not by another entry changing beside them;
 *   - renames and links (the hook sees only their source), directories
 *     made or removed, and lock back-offs are dependent with everything;
 *   - two turns that both record an event are dependent (the history
 *     would change), and so are two writes of one file.
 * Paths are compared by hash: a collision only makes two turns dependent. */
#include "sleep.h"
#include "rs_fs.h"

#include <assert.h>
#include <string.h>

/* How a call touches a key (the hash of a file's or a directory's path). */
typedef enum {
	TOUCH_NONE,
	TOUCH_READ,    /* reads the file, stats or lists the directory */
	TOUCH_WRITE,   /* changes the file */
	TOUCH_ENTRY,   /* changes an entry of the directory */
} touch;

static bool clash(touch a, touch b)
{
	if (a == TOUCH_NONE || b == TOUCH_NONE)
		return false;
	if (a == TOUCH_READ && b == TOUCH_READ)
		return false;
	if (a == TOUCH_ENTRY && b == TOUCH_ENTRY)
		return false; /* two names changing in one directory commute */
	return true;
}

/* What call does to its path (*name) and to its directory (*dir: the path
 * itself for a listing, its parent otherwise). false: dependent with all. */
static bool touches(int call, touch *name, touch *dir, bool *dir_is_path)
{
	*name = *dir = TOUCH_NONE;
	*dir_is_path = false;
	switch ((rs_fs_call)call) {
	case RS_FS_OPEN: /* O_CREAT cannot be told from here */
	case RS_FS_UNLINK:
		*name = TOUCH_WRITE;
		*dir = TOUCH_ENTRY;
		return true;
	case RS_FS_READ:
	case RS_FS_FSTAT:
	case RS_FS_STAT:
	case RS_FS_CLOSE:
	case RS_FS_FSYNC: /* changes only what a crash keeps: see a write */
		*name = TOUCH_READ;
		return true;
	case RS_FS_WRITE:
	case RS_FS_TRUNCATE:
		*name = TOUCH_WRITE;
		return true;
	case RS_FS_LIST:
	case RS_FS_FSYNC_DIR:
		*dir = TOUCH_READ;
		*dir_is_path = true;
		return true;
	default: /* rename, link, mkdir, rmdir, sleep */
		return false;
	}
}

void rt_sleep_step_begin(rt_sleep_step *step, uint32_t client, int call,
			 const char *path)
{
	assert(call < (int)RS_FS_CALL_COUNT);
	memset(step, 0, sizeof(*step));
	step->client = client;
	step->call = call;
	if (call < 0)
		return;
	touch name, dir;
	bool dir_is_path;
	step->global = !touches(call, &name, &dir, &dir_is_path);
	const char *slash = strrchr(path, '/');
	step->path = cm_hash64(path, strlen(path));
	step->dir = slash == NULL ? 0 : cm_hash64(path, (size_t)(slash - path));
}

/* A directory touched as such (dir) against its path touched as a file
 * (name): entries changing show in its stat; a listing sees no write. */
static bool dir_vs_name(touch dir, touch name)
{
	return (dir == TOUCH_ENTRY && name != TOUCH_NONE) ||
	       (dir == TOUCH_READ && name == TOUCH_WRITE);
}

/* a's call against b's call: a key both touch, not both only reading
 * (nor both only changing entries of one directory). */
static bool calls_clash(const rt_sleep_step *a, const rt_sleep_step *b)
{
	touch an, ad, bn, bd;
	bool a_self, b_self;
	(void)touches(a->call, &an, &ad, &a_self);
	(void)touches(b->call, &bn, &bd, &b_self);
	uint64_t a_dir = a_self ? a->path : a->dir;
	uint64_t b_dir = b_self ? b->path : b->dir;
	if (a->path == b->path && clash(an, bn))
		return true;
	if (a_dir == b_dir && clash(ad, bd))
		return true;
	return (a_dir == b->path && dir_vs_name(ad, bn)) ||
	       (b_dir == a->path && dir_vs_name(bd, an));
}

bool rt_sleep_dependent(const rt_sleep_step *a, const rt_sleep_step *b)
{
	assert(a->client != b->client);
	if (a->global || b->global)
		return true;
	if (a->event && b->event)
		return true;
	if (a->call < 0 || b->call < 0)
		return false; /* only invisible calls and events: see above */
	return calls_clash(a, b);
}

const rt_sleep_entry *rt_sleep_find(const rt_sleep_set *set, uint32_t client)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->e[i].step.client == client)
			return &set->e[i];
	return NULL;
}

void rt_sleep_add(rt_sleep_set *set, const rt_sleep_step *step, bool penalty)
{
	for (unsigned i = 0; i < set->n; i++) {
		rt_sleep_entry *e = &set->e[i];
		if (e->step.client != step->client)
			continue;
		/* The same next turn, put to sleep twice. */
		assert(e->step.call == step->call && e->step.path == step->path);
		e->penalty = e->penalty && penalty;
		return;
	}
	assert(set->n < RT_SLEEP_MAX);
	set->e[set->n++] = (rt_sleep_entry){*step, penalty};
}

static void remove_at(rt_sleep_set *set, unsigned i)
{
	assert(i < set->n);
	set->e[i] = set->e[--set->n];
}

void rt_sleep_run_reset(rt_sleep_run *r)
{
	memset(r, 0, sizeof(*r));
}

uint64_t rt_sleep_decide(rt_sleep_run *r, const rt_sleep_set *done,
			 const rt_script_point *at, uint64_t n)
{
	assert(n >= 2 && n <= RT_SLEEP_MAX && n <= 64);
	if (r->redundant)
		return 0;
	for (unsigned i = 0; done != NULL && i < done->n; i++)
		rt_sleep_add(&r->cur, &done->e[i].step, done->e[i].penalty);
	uint64_t mask = 0;
	for (uint64_t v = 0; v < n; v++) {
		const rt_sleep_entry *e = rt_sleep_find(&r->cur, at->cand[v]);
		if ((e != NULL && !e->penalty) || (r->only_go_on && v > 0))
			mask |= 1ull << v;
	}
	/* Only the penalized client, just run, may go on (value 0). */
	assert(!r->only_go_on || (at->ran == at->cand[0] && !at->free));
	r->only_go_on = false;
	return mask;
}

static void turn_begins(rt_sleep_run *r, const rt_script_turn *t)
{
	rt_sleep_step_begin(&r->turn, t->id, t->call, t->path);
	r->in_turn = true;
	r->only_go_on = false;
	for (unsigned i = 0; i < r->cur.n; i++) {
		const rt_sleep_entry *e = &r->cur.e[i];
		if (e->step.client != t->id)
			continue;
		/* It has not run since it fell asleep: the same next turn. */
		assert(e->step.call == r->turn.call && e->step.path == r->turn.path);
		if (!e->penalty)
			r->redundant = true; /* run while asleep: done elsewhere */
		else
			r->penalized = t->id;
		remove_at(&r->cur, i);
		return;
	}
}

void rt_sleep_turn(rt_sleep_run *r, const rt_script_turn *t, rt_sleep_step *ended)
{
	if (!t->end) {
		assert(!r->in_turn);
		turn_begins(r, t);
		return;
	}
	assert(r->in_turn && r->turn.client == t->id);
	r->in_turn = false;
	r->turn.can_go_on = t->can_go_on;
	/* Stopping at a back-off changes who the scheduler offers next. */
	r->turn.global = r->turn.global || t->waiting;
	if (ended != NULL)
		*ended = r->turn;
	if (r->redundant)
		return;
	for (unsigned i = r->cur.n; i-- > 0;)
		if (rt_sleep_dependent(&r->cur.e[i].step, &r->turn))
			remove_at(&r->cur, i);
	if (r->penalized == t->id)
		r->only_go_on = t->can_go_on;
	r->penalized = 0;
}

void rt_sleep_event(rt_sleep_run *r, uint32_t client)
{
	if (!r->in_turn)
		return; /* the set-up or the end audit: no turn of a client */
	assert(client == r->turn.client);
	r->turn.event = true;
}

void rt_sleep_fault(rt_sleep_run *r)
{
	assert(r->in_turn); /* a fault point is a call of the running client */
	r->cur.n = 0;
	r->turn.global = true;
}
