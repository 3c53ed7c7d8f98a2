/* Bounded systematic exploration (docs/explore.md): a depth-first walk
 * over the scheduling decisions of a scenario's scripted runs.
 *
 * A run is a function of its decisions: at each point where more than one
 * client can run, the simulator asks which (rt_script.decide), and value 0
 * is "the one that ran last goes on" when it can. A schedule is the list
 * of values; a run replays a prefix of it and takes 0 beyond. A value
 * above 0 where the last client could go on, inside one of its ops, is a
 * preemption; a switch at an op boundary or away from a client waiting
 * for a lock is free (CHESS counts the same way). The walk enumerates
 * every schedule whose preemptions stay within the bound: after a run it
 * moves the deepest decision that can still move to its next value,
 * within the bound, and replays up to it. This is plain bounded
 * enumeration over the points the simulator offers (it skips calls no
 * other client can observe unless --plain: docs/explore.md); the walk is
 * exhaustive over them, each prefix extended by every value below its n,
 * in order. */
#include "explore.h"
#include "rs_fs.h"
#include "sim.h"
#include "checker.h"
#include "history.h"
#include "pct.h"
#include "states.h"
#include "sleep.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NOT_STARTED (-2)

typedef struct decision {
	uint64_t n, v;
	rt_script_point at;        /* at.path is not kept: see file */
	int step;                  /* at.ran's op: its step, -1 CONNECT,
				    * NOT_STARTED none */
	char file[48];             /* the last part of at.path, copied */
	uint64_t asleep;           /* values whose branch is redundant (bits) */
	rt_sleep_step taken;       /* the turn value v began (sleep sets) */
} decision;

/* One scripted run. */
typedef struct exec {
	const rt_scenario *sc;
	const uint64_t *prefix;
	size_t nprefix;
	decision *d;
	size_t nd, capd;
	bool nondet;               /* the prefix asked for a value >= n */
	bool bad;                  /* a step's command did not parse */
	cm_err err;
	rt_scenario_vars vars[RT_SCENARIO_CLIENTS_MAX];
	int cur_step[RT_SCENARIO_CLIENTS_MAX];  /* awaiting its reply, or -1 */
	int last_step[RT_SCENARIO_CLIENTS_MAX]; /* last started, -1 CONNECT,
						  * NOT_STARTED before */
	int select_step[RT_SCENARIO_CLIENTS_MAX]; /* its last SELECT, or -1 */
	uint32_t auditor;
	uint64_t state;            /* hash of the end audit */
	model_history_writer *hist; /* every event too (NULL: none) */
	uint64_t points_skipped;   /* the run's calls not offered */
	rt_pct *pct;               /* PCT decides instead of the prefix */
	rt_scenario_unmet unmet;   /* the first unmet expectation */
	/* Sleep sets (the bounded walk without --plain): sleep.h. */
	bool sleep_on;
	rt_sleep_run sl;
	unsigned bound, preempted; /* the walk's bound; this run's so far */
	size_t red_at;             /* sl.redundant: the decision it began at */
	size_t turn_of;            /* 1 + the decision that began the turn
				    * under way (0: no decision began it) */
	rt_sleep_set *done;        /* by depth: the explored siblings' turns */
	size_t ndone, done_cap;    /* depths with a done set; the array's room */
} exec;

static double now_s(void)
{
	return (double)cm_now_ns() / 1e9;
}

static bool setup_op(void *ctx, size_t i, model_op *op)
{
	exec *x = ctx;
	if (i >= x->sc->nmsg)
		return false;
	rt_scenario_step st = {.kind = MODEL_OP_APPEND, .box = x->sc->msg[i].box,
			       .flags = x->sc->msg[i].flags};
	return rt_scenario_step_op(&st, NULL, i + 1, op, NULL) == 0;
}

static bool next_op(void *ctx, uint32_t id, size_t i, model_op *op)
{
	exec *x = ctx;
	assert(id >= 1 && id <= x->sc->nclients + x->sc->nagents);
	size_t c = id - 1;
	const rt_scenario_client *cl = &x->sc->client[c];
	if (!cl->agent && i == 0) {
		model_op_init(op, MODEL_OP_CONNECT);
		x->last_step[c] = -1;
		return true;
	}
	size_t k = cl->agent ? i : i - 1;
	if (k >= cl->nsteps || x->bad)
		return false;
	/* Message ids by step, not by start order: the same step adds the
	 * same message in every schedule. */
	if (rt_scenario_step_op(&cl->step[k], &x->vars[c], 1000 * (c + 1) + k, op,
				&x->err) < 0) {
		/* A $variable an unmet expectation left unbound (0) may make a
		 * command that does not parse: the run has failed already,
		 * and the client stops. Otherwise the scenario is broken. */
		if (x->unmet.failed)
			return false;
		x->bad = true;
		cm_err_prefix(&x->err, "%s: client %s, line %u: ", x->sc->name,
			      cl->name, cl->step[k].line);
		return false;
	}
	x->cur_step[c] = x->last_step[c] = (int)k;
	if (op->kind == MODEL_OP_SELECT)
		x->select_step[c] = (int)k;
	return true;
}

/* After client id died: a new connection, then its last SELECT or
 * EXAMINE again (nothing for an agent, which opens the mailbox itself,
 * or for a client that never started). */
static bool resume_op(void *ctx, uint32_t id, size_t i, model_op *op)
{
	exec *x = ctx;
	assert(id >= 1 && id <= x->sc->nclients + x->sc->nagents);
	size_t c = id - 1;
	if (x->sc->client[c].agent || x->last_step[c] == NOT_STARTED || i > 1 || (i == 1 && x->select_step[c] < 0) || x->bad)
		return false;
	x->cur_step[c] = -1; /* nothing to capture */
	if (i == 0) {
		model_op_init(op, MODEL_OP_CONNECT);
		x->last_step[c] = -1;
		return true;
	}
	int k = x->select_step[c];
	x->last_step[c] = k;
	if (rt_scenario_step_op(&x->sc->client[c].step[k], &x->vars[c], 0, op,
				&x->err) < 0) {
		x->bad = true;
		return false;
	}
	return true;
}

static size_t client_ops(void *ctx, uint32_t id)
{
	const exec *x = ctx;
	const rt_scenario_client *cl = &x->sc->client[id - 1];
	return cl->nsteps + (cl->agent ? 0 : 1); /* IMAP clients connect first */
}

/* Does value v at point at spend the bound? A preemption does, and so
 * does an injected fault (docs/explore.md): a crash or a kill at a chosen
 * point is as unusual an event as a preemption, and counting it keeps the
 * cost of a bound the same with faults as without. */
static bool costs(const rt_script_point *at, uint64_t v)
{
	return v > 0 && (at->fault || !at->free);
}

/* Beyond the prefix with sleep sets: the first value whose branch is not
 * redundant and fits the bound; none makes the rest of the run redundant
 * (it still runs to its end, with 0s, uncounted). */
static uint64_t first_awake(exec *x, uint64_t n, const rt_script_point *at,
			    uint64_t asleep)
{
	for (uint64_t v = 0; v < n; v++) {
		if (!(asleep >> v & 1) && x->preempted + costs(at, v) <= x->bound)
			return v;
	}
	x->sl.redundant = true;
	x->red_at = x->nd;
	return 0;
}

static uint64_t decide(void *ctx, uint64_t n, const rt_script_point *at)
{
	exec *x = ctx;
	uint64_t asleep = 0;
	bool was_redundant = x->sl.redundant;
	if (x->sleep_on && !at->fault)
		asleep = rt_sleep_decide(&x->sl, x->nd < x->ndone ? &x->done[x->nd] : NULL,
					 at, n);
	/* PCT schedules clients by priority; it injects no faults, and
	 * beyond its prefix the walk injects none either. */
	uint64_t v = x->pct != NULL ? (at->fault ? 0 : rt_pct_pick(x->pct, n, at))
		   : x->nd < x->nprefix ? x->prefix[x->nd]
		   : x->sleep_on && !was_redundant && !at->fault
		   ? first_awake(x, n, at, asleep) : 0;
	if (v >= n) {
		x->nondet = true;
		v = 0;
	}
	/* The walk never asks for a redundant branch (next_schedule). */
	assert(x->nd >= x->nprefix || !(asleep >> v & 1));
	x->preempted += costs(at, v);
	if (at->fault && v > 0 && x->sleep_on)
		rt_sleep_fault(&x->sl);
	CM_GROW(x->d, x->capd, x->nd + 1);
	int step = at->ran >= 1 && at->ran <= RT_SCENARIO_CLIENTS_MAX
		   ? x->last_step[at->ran - 1] : NOT_STARTED;
	decision *d = &x->d[x->nd++];
	*d = (decision){n, v, *at, step, "", asleep, {0}};
	/* A plain copy: snprintf here was a tenth of the walk's time. */
	const char *base = strrchr(at->path, '/');
	base = base ? base + 1 : at->path;
	size_t len = strnlen(base, sizeof(d->file) - 1);
	memcpy(d->file, base, len);
	d->file[len] = '\0';
	d->at.path = NULL; /* the caller's buffer: gone after the run */
	if (!at->fault)
		x->turn_of = x->nd; /* a fault decision begins no turn */
	return v;
}

/* A turn begins or ends (sim.h); the one a decision began is kept with it. */
static void on_turn(void *ctx, const rt_script_turn *t)
{
	exec *x = ctx;
	if (!x->sleep_on)
		return;
	rt_sleep_step ended;
	bool was_redundant = x->sl.redundant;
	rt_sleep_turn(&x->sl, t, &ended);
	/* Forced into a sleeper (nobody else could run): every run through
	 * the decisions so far is redundant; the walk moves on above here. */
	if (!was_redundant && x->sl.redundant)
		x->red_at = x->nd;
	if (!t->end)
		return;
	if (x->turn_of > 0) {
		assert(x->d[x->turn_of - 1].at.cand[x->d[x->turn_of - 1].v] == t->id);
		x->d[x->turn_of - 1].taken = ended;
	}
	x->turn_of = 0;
}

/* Captures, and the end audit's UIDs, flags and message ids. */
static void on_event(void *ctx, const model_event *ev)
{
	exec *x = ctx;
	if (x->hist != NULL)
		model_history_write(x->hist, ev);
	/* A fault's event (client 0) comes in the turn it cut, which its
	 * decision made dependent with everything already. */
	if (x->sleep_on && ev->op.kind != MODEL_OP_FAULT)
		rt_sleep_event(&x->sl, ev->client);
	if (ev->type == MODEL_EV_INVOKE)
		return;
	size_t c = ev->client - 1;
	if (ev->client >= 1 && c < x->sc->nclients + x->sc->nagents &&
	    x->cur_step[c] >= 0) {
		const rt_scenario_step *st = &x->sc->client[c].step[x->cur_step[c]];
		rt_scenario_capture(st, &ev->res, &x->vars[c]);
		rt_scenario_expect(x->sc, c, st, &ev->res, ev->client, ev->op_id,
				   &x->vars[c], &x->unmet);
		x->cur_step[c] = -1;
	}
	if (ev->client != x->auditor || ev->op.kind != MODEL_OP_FETCH)
		return;
	x->state = rt_state_add_fetch(x->state, &ev->res);
}

/* Runs the schedule prefix; x gets its decisions and end state, c its
 * verdict. 0, or -1 with x->err. */
static int run_one(exec *x, unsigned mutants, bool plain, model_checker **c_r)
{
	const rt_scenario *sc = x->sc;
	x->nd = 0;
	x->nondet = x->bad = x->unmet.failed = false;
	x->preempted = 0;
	x->turn_of = 0;
	x->red_at = 0;
	rt_sleep_run_reset(&x->sl);
	x->state = RT_STATE_BASIS;
	memset(x->vars, 0, sizeof(x->vars));
	for (size_t i = 0; i < RT_SCENARIO_CLIENTS_MAX; i++) {
		x->cur_step[i] = x->select_step[i] = -1;
		x->last_step[i] = NOT_STARTED;
	}
	x->auditor = (uint32_t)(sc->nclients + sc->nagents + 1);
	rt_script script = {.clients = (unsigned)sc->nclients,
			    .agents = (unsigned)sc->nagents, .boxes = sc->boxes,
			    .setup_op = setup_op, .next_op = next_op, .ops = client_ops,
			    .decide = decide, .turn = on_turn, .ctx = x,
			    .every_call = plain,
			    .crashes = sc->crashes, .killable = sc->killable << 1,
			    .resume_op = resume_op, .lose_log_box = sc->lose_log,
			    .log_rotate_bytes = sc->rotate_bytes, .replicas = sc->replicas};
	model_checker_options co = {.capabilities = RT_SIM_CAPS, .max_violations = 20};
	model_checker *c = model_checker_new(&co);
	rt_sim_hooks hooks = {on_event, x};
	rt_sim_result res;
	int rc = rt_sim_run_script(&script, mutants, &hooks, c, &res);
	x->points_skipped = res.points_skipped;
	model_checker_finish(c);
	*c_r = c;
	if (rc < 0)
		return cm_err_set(&x->err, "%s: the store could not be set up", sc->name);
	if (x->bad)
		return -1;
	if (x->nondet || x->nd < x->nprefix)
		return cm_err_set(&x->err, "%s: a run did not repeat its decisions "
				  "(the simulator is not deterministic here)", sc->name);
	return 0;
}

/* Preemptions of the decisions x->d[0..upto) with their values. */
static unsigned preemptions(const exec *x, size_t upto)
{
	unsigned p = 0;
	for (size_t i = 0; i < upto; i++)
		p += costs(&x->d[i].at, x->d[i].v);
	return p;
}

/* The walk moves decision i on: the turn its old value began goes to
 * sleep for the siblings after it (sleep.h), and the nodes below it are
 * new ones, with no explored siblings yet. */
static void sleep_done(exec *x, size_t i)
{
	const decision *d = &x->d[i];
	CM_GROW(x->done, x->done_cap, i + 1);
	for (size_t k = x->ndone; k <= i; k++)
		x->done[k].n = 0;
	x->ndone = i + 1;
	if (d->at.fault)
		return; /* no turn: after a fault, nothing sleeps */
	/* Only a turn whose client the node would have to preempt anyway
	 * sleeps without penalty, or one that leaves it free to switch. */
	bool penalty = d->taken.can_go_on && !(d->v == 0 && !d->at.free);
	assert(d->taken.client == d->at.cand[d->v]);
	rt_sleep_add(&x->done[i], &d->taken, penalty);
}

/* The next schedule after x's in the walk (within bound, skipping the
 * branches sleep sets show redundant), into tape; false when the walk is
 * over. */
static bool next_schedule(exec *x, unsigned bound, uint64_t **tape, size_t *n,
			  size_t *cap)
{
	/* A run turns redundant after a decision: the root is never asleep. */
	assert(!x->sl.redundant || (x->red_at > 0 && x->red_at <= x->nd));
	size_t top = x->sl.redundant ? x->red_at : x->nd;
	unsigned before = preemptions(x, top); /* of the decisions below i */
	for (size_t i = top; i-- > 0;) {
		const decision *d = &x->d[i];
		before -= costs(&d->at, d->v);
		uint64_t w = d->v + 1;
		while (w < d->n && (d->asleep >> w & 1))
			w++;
		if (w >= d->n || before + costs(&d->at, w) > bound)
			continue;
		if (x->sleep_on)
			sleep_done(x, i);
		CM_GROW(*tape, *cap, i + 1);
		for (size_t k = 0; k < i; k++)
			(*tape)[k] = x->d[k].v;
		(*tape)[i] = w;
		*n = i + 1;
		return true;
	}
	return false;
}

static const char *client_name(const rt_scenario *sc, uint32_t id)
{
	return id >= 1 && id <= sc->nclients + sc->nagents ? sc->client[id - 1].name
							   : "?";
}

/* A client's op as written: "UID FETCH 1 (MODSEQ)" (line 12), or
 * "its connection". */
static void op_words(const rt_scenario *sc, uint32_t id, int step, cm_buf *out)
{
	if (id < 1 || id > sc->nclients + sc->nagents || step < 0) {
		cm_buf_puts(out, "connecting");
		return;
	}
	rt_scenario_step_words(&sc->client[id - 1].step[step], out);
}

/* A fault decision in words: "the store crashes while A is in UID MOVE
 * 1 Archive (line 14), before its rename of ...". */
static void fault_words(const exec *x, const decision *d, cm_buf *out)
{
	const char *ran = client_name(x->sc, d->at.ran);
	if (d->at.fault_kind[d->v] == RT_FAULT_CRASH)
		cm_buf_printf(out, "the store crashes while %s is in ", ran);
	else
		cm_buf_printf(out, "%s is killed in ", ran);
	op_words(x->sc, d->at.ran, d->step, out);
	cm_buf_printf(out, ", before its %s%s%s", rs_fs_call_name((rs_fs_call)d->at.call),
		      d->file[0] ? " of " : "", d->file);
}

/* The schedule of x in words: each decision that did not let the last
 * client go on. */
static void describe(const exec *x, cm_buf *out)
{
	const rt_scenario *sc = x->sc;
	cm_buf_clear(out);
	for (size_t i = 0; i < x->nd; i++) {
		const decision *d = &x->d[i];
		if (d->v == 0)
			continue;
		const char *who = client_name(sc, d->at.cand[d->v]);
		const char *ran = client_name(sc, d->at.ran);
		if (out->len > 0)
			cm_buf_puts(out, "; ");
		if (d->at.fault) {
			fault_words(x, d, out);
			continue;
		}
		if (d->at.ran == 0) {
			cm_buf_printf(out, "%s starts", who);
			continue;
		}
		if (d->at.call < 0) {
			cm_buf_printf(out, "%s goes after %s's ", who, ran);
			op_words(sc, d->at.ran, d->step, out);
			continue;
		}
		cm_buf_printf(out, "%s %s in ", ran, d->at.free ? "waits" : "is preempted");
		op_words(sc, d->at.ran, d->step, out);
		cm_buf_printf(out, " before its %s%s%s, and %s runs",
			      rs_fs_call_name((rs_fs_call)d->at.call),
			      d->file[0] ? " of " : "", d->file, who);
	}
	if (out->len == 0)
		cm_buf_puts(out, "the clients run one op at a time, in order");
}

/* The first error of c, if any, into r (with x's schedule). */
static void judge(const exec *x, model_checker *c, unsigned preempted,
		  rt_explore_result *r)
{
	const model_violation *first = rt_scenario_verdict(c, &x->unmet, r->failed_inv);
	if (first == NULL)
		return;
	r->failing++;
	if (r->failed)
		return; /* the first failing run is the one reported */
	r->failed = true;
	r->fail = *first;
	r->fail_preemptions = preempted;
	r->fail_tape = cm_xmalloc((x->nd + 1) * sizeof(uint64_t));
	for (size_t k = 0; k < x->nd; k++)
		r->fail_tape[k] = x->d[k].v;
	r->nfail_tape = x->nd;
	describe(x, &r->fail_words);
}

/* Counts a run into r; a judged one (a schedule counted at this bound,
 * or a PCT run) adds its end state and its verdict. */
static void tally(const exec *x, model_checker *c, bool judged, rt_state_set *states,
		  rt_explore_result *r)
{
	r->execs_total++;
	r->decisions += x->nd;
	r->points_skipped += x->points_skipped;
	if (!judged)
		return;
	if (rt_state_set_add(states, x->state)) {
		r->states++;
		r->states_digest += x->state | 1;
	}
	judge(x, c, preemptions(x, x->nd), r);
}

/* Every schedule with at most bound preemptions; those with exactly bound
 * are counted and judged (the others were at a lower bound). 0 (with
 * *cut when max_execs stopped the walk), or -1 with err. */
static int walk(exec *x, const rt_explore_opts *o, unsigned bound, rt_state_set *states,
		rt_explore_result *r, bool *cut, cm_err *err)
{
	uint64_t *tape = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	*cut = false;
	x->sleep_on = !o->plain;
	x->bound = bound;
	x->ndone = 0;
	uint64_t states0 = r->states, failing0 = r->failing;
	double t0 = now_s();
	for (;;) {
		x->prefix = tape;
		x->nprefix = n;
		model_checker *c = NULL;
		rc = run_one(x, o->mutants, o->plain, &c);
		/* A run that turned redundant is not a schedule of its own. */
		bool at_bound = rc == 0 && !x->sl.redundant &&
				preemptions(x, x->nd) == bound;
		r->execs[bound] += at_bound;
		r->pruned[bound] += rc == 0 && x->sl.redundant;
		tally(x, c, at_bound, states, r);
		model_checker_free(c);
		if (rc < 0) {
			*err = x->err;
			break;
		}
		if (!next_schedule(x, bound, &tape, &n, &cap))
			break;
		if (o->max_execs != 0 && r->execs_total >= o->max_execs) {
			*cut = true;
			break;
		}
	}
	free(tape);
	r->by_bound[bound].states = r->states - states0;
	r->by_bound[bound].failing = r->failing - failing0;
	r->by_bound[bound].seconds = now_s() - t0;
	return rc;
}

int rt_explore(const rt_scenario *sc, const rt_explore_opts *o,
	       rt_explore_result *r, cm_err *err)
{
	assert(o->bound <= RT_EXPLORE_BOUND_MAX);
	memset(r, 0, sizeof(*r));
	r->covered = (unsigned)-1;
	double t0 = now_s();
	exec x = {.sc = sc};
	rt_state_set states = {0};
	int rc = 0;
	for (unsigned b = 0; b <= o->bound && rc == 0; b++) {
		bool cut;
		rc = walk(&x, o, b, &states, r, &cut, err);
		if (rc < 0 || cut)
			break;
		r->covered = b;
		if (r->failed)
			break; /* CHESS order: the fewest preemptions first */
	}
	r->complete = rc == 0 && !r->failed && r->covered == o->bound;
	r->seconds = now_s() - t0;
	free(x.d);
	rt_state_set_free(&states);
	free(x.done);
	return rc;
}

int rt_explore_pct(const rt_scenario *sc, unsigned mutants, unsigned depth,
		   uint64_t runs, uint64_t seed, rt_explore_result *r, cm_err *err)
{
	assert(depth >= 1 && depth <= RT_PCT_DEPTH_MAX);
	memset(r, 0, sizeof(*r));
	r->covered = (unsigned)-1;
	double t0 = now_s();
	rt_pct pct;
	cm_rng_seed(&pct.rng, seed);
	exec x = {.sc = sc};
	rt_state_set states = {0};
	unsigned n = (unsigned)(sc->nclients + sc->nagents);
	uint64_t k = 0;
	int rc = 0;
	for (uint64_t i = 0; i <= runs && rc == 0 && !r->failed; i++) {
		/* Run 0 measures k (0 everywhere); the others are PCT's. */
		if (i > 0)
			rt_pct_start(&pct, n, depth, k);
		x.pct = i > 0 ? &pct : NULL;
		model_checker *c = NULL;
		rc = run_one(&x, mutants, false, &c);
		k = CM_MAX(k, (uint64_t)x.nd + 1);
		tally(&x, c, rc == 0, &states, r);
		model_checker_free(c);
	}
	if (rc < 0)
		*err = x.err;
	r->pct_k = k;
	r->pct_p = 1.0 / (double)n;
	for (unsigned j = 1; j < depth; j++)
		r->pct_p /= (double)k;
	r->seconds = now_s() - t0;
	free(x.d);
	rt_state_set_free(&states);
	return rc;
}

int rt_explore_replay(const rt_scenario *sc, unsigned mutants, const uint64_t *tape,
		      size_t n, model_history_writer *hist, rt_explore_result *r,
		      cm_err *err)
{
	memset(r, 0, sizeof(*r));
	r->covered = (unsigned)-1;
	double t0 = now_s();
	exec x = {.sc = sc, .prefix = tape, .nprefix = n, .hist = hist};
	model_checker *c = NULL;
	int rc = run_one(&x, mutants, false, &c);
	rt_state_set states = {0};
	if (rc == 0) {
		r->execs[CM_MIN(preemptions(&x, x.nd), RT_EXPLORE_BOUND_MAX)] = 1;
		tally(&x, c, true, &states, r);
		if (!r->failed)
			describe(&x, &r->fail_words);
	} else {
		*err = x.err;
	}
	model_checker_free(c);
	rt_state_set_free(&states);
	free(x.d);
	r->seconds = now_s() - t0;
	return rc;
}

void rt_explore_result_free(rt_explore_result *r)
{
	free(r->fail_tape);
	cm_buf_free(&r->fail_words);
	memset(r, 0, sizeof(*r));
}
