/* Command orders against a real server (wire_explore.h): the wire
 * driver's virtual clients, one command at a time.
 *
 * An order runs in five stages, each on the machinery `ratchet run
 * --target` uses (wire_setup.c, wire_client.c):
 *  1. mailboxes: the scenario's INBOX, Archive, Work and Junk become
 *     PREFIX/NAME-ORDER-INBOX ... (never the user's INBOX), created by
 *     the admin connection;
 *  2. the auditor logs in (recorded) and APPENDs the starting messages
 *     with their flags (recorded): each must get the UID the scenario
 *     names (1, 2, ... per mailbox), checked by APPENDUID or, without
 *     UIDPLUS, by STATUS; otherwise the order is not run (exit 2);
 *  3. every IMAP client logs in (recorded), every agent too (its own
 *     connection, not recorded: agents deliver by APPEND, as the
 *     campaign's delivery connection does);
 *  4. the order: one step after another, each sent when the one before
 *     has its tagged reply, $variables captured as in the simulator;
 *  5. a checkpoint as a campaign ends with one: NOOP in every session
 *     that selected, a fresh EXAMINE, UID SEARCH and UID FETCH of every
 *     mailbox by the auditor. Then the connections close, the checker
 *     judges, and the mailboxes are deleted.
 * A step the server cannot run as written (a capability or a flag it
 * lacks would make rt_wire_op_fit change the command) stops the
 * scenario with exit 2 rather than test something else. */
#include "wire_explore.h"
#include "wire_private.h"
#include "orders.h"
#include "states.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDER_MAX (RT_SCENARIO_CLIENTS_MAX * RT_SCENARIO_STEPS_MAX)
#define MAX_VIOLATIONS 20

struct rt_wire_explore {
	rt_opts o;                   /* what the wire set-up reads */
	rt_wire_setup setup;
	bool flags_known;            /* setup.allowed was learnt */
	rt_state_set states;         /* end states of this scenario's orders */
};

/* One order being run. */
typedef struct order_run {
	rt_wire_explore *x;
	const rt_scenario *sc;
	rt_wire w;
	rt_scenario_vars vars[RT_SCENARIO_CLIENTS_MAX];
	int step[RT_SCENARIO_CLIENTS_MAX + 1]; /* the step in flight, or -1 */
	uint32_t box_uids[RT_MAX_BOXES];     /* starting messages so far */
	bool auditing;                       /* stage 5 */
	uint64_t state;                      /* hash of the audit's FETCHes */
	char error[300];                     /* why the order cannot go on */
	rt_scenario_unmet unmet;             /* the first unmet expectation */
	char *hbuf;                          /* the history, in memory */
	size_t hlen;
	FILE *hf;
} order_run;

/* ---- opening ---- */

int rt_wire_explore_open(const rt_wire_explore_opts *eo, rt_wire_explore **xr)
{
	rt_wire_explore *x = cm_xcalloc(1, sizeof(*x));
	*xr = NULL;
	x->o.target = eo->target;
	x->o.timeout = eo->timeout > 0 ? eo->timeout : 10;
	x->o.mailbox_prefix = eo->mailbox_prefix ? eo->mailbox_prefix : "ratchet-explore";
	x->o.reuse = eo->reuse;
	int rc = rt_wire_setup_open(&x->setup, &x->o, 0);
	if (rc == CM_EXIT_CLEAN)
		rc = rt_wire_setup_prefix(&x->setup, &x->o);
	if (rc != CM_EXIT_CLEAN) {
		rt_wire_setup_close(&x->setup);
		free(x);
		return rc;
	}
	*xr = x;
	return CM_EXIT_CLEAN;
}

const char *rt_wire_explore_display(const rt_wire_explore *x)
{
	return x->setup.url.display;
}

void rt_wire_explore_close(rt_wire_explore *x)
{
	if (x == NULL)
		return;
	rt_wire_setup_cleanup(&x->setup, &x->o, "", 0);
	rt_wire_setup_close(&x->setup);
	rt_state_set_free(&x->states);
	free(x);
}

void rt_wire_explore_result_free(rt_wire_explore_result *r)
{
	free(r->fail_order);
	cm_buf_free(&r->fail_words);
	cm_buf_free(&r->fail_history);
	cm_buf_free(&r->last_history);
	memset(r, 0, sizeof(*r));
}

/* ---- stage 1: the order's mailboxes ---- */

static int make_boxes(order_run *r, uint64_t index)
{
	rt_wire_setup *s = &r->x->setup;
	assert(r->sc->boxes >= 1 && r->sc->boxes <= RT_MAX_BOXES);
	s->nboxes = r->sc->boxes;
	s->inbox = false;
	for (int i = 0; i < s->nboxes; i++) {
		char name[2 * MODEL_NAME_MAX];
		int n = snprintf(name, sizeof(name), "%s%c%.24s-%" PRIu64 "-%s", s->prefix,
				 s->sep ? s->sep : '-', r->sc->name, index, rt_scenario_boxes[i]);
		if (n < 0 || (size_t)n >= MODEL_NAME_MAX) {
			cm_error("explore: mailbox name '%s' is too long: give a shorter "
				 "--mailbox-prefix", name);
			return CM_EXIT_USAGE;
		}
		memcpy(s->boxes[i], name, (size_t)n + 1);
		s->created[i] = false;
	}
	int rc = rt_wire_setup_create(s);
	if (rc == CM_EXIT_CLEAN && !r->x->flags_known) {
		rt_wire_setup_learn_flags(s, s->boxes[0]);
		r->x->flags_known = true;
	}
	return rc;
}

/* The scenario's mailbox names in op become the order's. 0, or -1 with
 * r->error for a name the scenario does not declare. */
static int map_mailbox(order_run *r, model_op *op)
{
	if (op->mailbox[0] == '\0')
		return 0;
	int b = rt_scenario_box(op->mailbox, strlen(op->mailbox));
	if (b < 0 || b >= r->sc->boxes) {
		snprintf(r->error, sizeof(r->error), "mailbox '%.60s' is not in the "
			 "scenario's \"mailboxes:\", so it has no fresh mailbox here",
			 op->mailbox);
		return -1;
	}
	snprintf(op->mailbox, sizeof(op->mailbox), "%s", r->x->setup.boxes[b]);
	return 0;
}

/* The op goes out exactly as written: rt_wire_op_fit (what a campaign
 * does to fit the server) must leave its command text alone. 0, or -1
 * with r->error naming both texts. */
static int as_written(order_run *r, model_op *op)
{
	const rt_wire_setup *s = &r->x->setup;
	imapc_cmd before, after;
	imapc_cmd_init(&before);
	imapc_cmd_init(&after);
	rt_wire_render(&before, op);
	bool sendable = rt_wire_op_fit(op, s->caps, s->allowed);
	rt_wire_render(&after, op);
	bool same = before.buf.len == after.buf.len &&
		    memcmp(before.buf.data, after.buf.data, before.buf.len) == 0;
	if (!sendable)
		snprintf(r->error, sizeof(r->error), "the server cannot run \"%.80s\": it "
			 "does not offer an extension the command needs", before.buf.data);
	else if (!same)
		snprintf(r->error, sizeof(r->error), "the server cannot run \"%.80s\" as "
			 "written (its capabilities or PERMANENTFLAGS would make it "
			 "\"%.80s\")", before.buf.data, after.buf.data);
	bool ok = sendable && same;
	imapc_cmd_free(&before);
	imapc_cmd_free(&after);
	return ok ? 0 : -1;
}

/* ---- recording and the completion hook ---- */

/* The auditor's APPEND of a starting message: its UID must be the next
 * one of its mailbox (the scenario's steps name UIDs 1, 2, ...). */
static void check_start_uid(order_run *r, const model_op *op, const model_result *res)
{
	int b = rt_workload_box_index(&r->w.work, op->mailbox);
	assert(b >= 0 && b < RT_MAX_BOXES);
	uint32_t want = ++r->box_uids[b];
	if (res->status != MODEL_REPLY_OK) {
		snprintf(r->error, sizeof(r->error), "the starting message %" PRIu32 " of %s "
			 "was refused: %.80s", want, op->mailbox, res->text);
		return;
	}
	if (res->code.kind != MODEL_CODE_APPENDUID)
		return; /* without UIDPLUS, STATUS checks them (check_start_status) */
	if (cm_uidset_count(&res->code.set) != 1 || cm_uidset_max(&res->code.set) != want)
		snprintf(r->error, sizeof(r->error), "the starting message %" PRIu32 " of the "
			 "new mailbox %s got UID %" PRIu32 " (APPENDUID), not %" PRIu32 ": "
			 "the scenario's UIDs would name other messages", want, op->mailbox,
			 cm_uidset_max(&res->code.set), want);
}

/* Without APPENDUID: n messages and UIDNEXT n + 1 mean UIDs 1..n. */
static void check_start_status(order_run *r, const model_op *op, const model_result *res)
{
	int b = rt_workload_box_index(&r->w.work, op->mailbox);
	assert(b >= 0 && b < RT_MAX_BOXES);
	uint32_t n = r->box_uids[b];
	for (size_t i = 0; i < res->nut; i++) {
		const model_status_data *d = &res->ut[i].status;
		if (res->ut[i].kind != MODEL_UT_STATUS || !(d->has & MODEL_STATUS_MESSAGES) ||
		    !(d->has & MODEL_STATUS_UIDNEXT))
			continue;
		if (d->messages != n || d->uidnext != n + 1)
			snprintf(r->error, sizeof(r->error), "the new mailbox %s holds %" PRIu32
				 " messages below UIDNEXT %" PRIu32 " after the %" PRIu32 " starting "
				 "ones: their UIDs are not 1..%" PRIu32, op->mailbox,
				 (uint32_t)d->messages, (uint32_t)d->uidnext, n, n);
		return;
	}
	snprintf(r->error, sizeof(r->error), "STATUS %s gave no MESSAGES and UIDNEXT: the "
		 "starting messages' UIDs cannot be checked", op->mailbox);
}

static void completed(rt_wire *w, rt_wire_client *cl, const model_op *op,
		      const model_result *res)
{
	order_run *r = w->completed_ctx;
	size_t c = cl->id - 1;
	if (cl->role == RT_WIRE_AUDITOR) {
		if (op->kind == MODEL_OP_APPEND && !r->auditing && r->error[0] == '\0')
			check_start_uid(r, op, res);
		if (op->kind == MODEL_OP_STATUS && !r->auditing && r->error[0] == '\0')
			check_start_status(r, op, res);
		if (r->auditing && op->kind == MODEL_OP_FETCH)
			r->state = rt_state_add_fetch(r->state, res);
		return;
	}
	if (c < RT_SCENARIO_CLIENTS_MAX && r->step[c] >= 0) {
		const rt_scenario_step *st = &r->sc->client[c].step[r->step[c]];
		rt_scenario_capture(st, res, &r->vars[c]);
		rt_scenario_expect(r->sc, c, st, res, cl->id, 0, &r->vars[c], &r->unmet);
		r->step[c] = -1;
	}
}

/* Starts op (taken over) on cl and waits for its end. 0, or -1 with
 * r->error when the connection could not carry it (outcome unknown):
 * nothing after a lost command tests what the scenario says. */
static int run_op(order_run *r, rt_wire_client *cl, model_op *op, bool record)
{
	bool connect = op->kind == MODEL_OP_CONNECT;
	rt_wire_client_start(cl, op, record);
	rt_wire_client_wait(cl);
	if (connect && !cl->known.connected && r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "a session could not log in to %s: %.100s",
			 r->x->setup.url.display, cl->last_error);
	else if (!rt_wire_client_usable(cl) && r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "the connection of client %u to %s ended "
			 "(%.100s)", cl->id, r->x->setup.url.display,
			 cl->conn ? imapc_conn_close_reason(cl->conn) : "closed");
	return r->error[0] == '\0' ? 0 : -1;
}

static int connect_client(order_run *r, rt_wire_client *cl, bool record)
{
	model_op op;
	model_op_init(&op, MODEL_OP_CONNECT);
	return run_op(r, cl, &op, record);
}

/* ---- stages 2 and 3: the starting messages, the sessions ---- */

/* Without UIDPLUS, a STATUS of each mailbox after the APPENDs (judged
 * by check_start_status). */
static int start_status(order_run *r, rt_wire_client *a)
{
	for (int b = 0; b < r->sc->boxes && !(r->x->setup.caps & MODEL_CAP_UIDPLUS); b++) {
		model_op op;
		model_op_init(&op, MODEL_OP_STATUS);
		op.status_items = MODEL_STATUS_MESSAGES | MODEL_STATUS_UIDNEXT;
		snprintf(op.mailbox, sizeof(op.mailbox), "%s", r->x->setup.boxes[b]);
		if (run_op(r, a, &op, true) < 0)
			return -1;
	}
	return 0;
}

static int start_messages(order_run *r, rt_wire_client *a)
{
	cm_err err;
	for (size_t i = 0; i < r->sc->nmsg; i++) {
		rt_scenario_step st = {.kind = MODEL_OP_APPEND, .box = r->sc->msg[i].box,
				       .flags = r->sc->msg[i].flags};
		model_op op;
		if (rt_scenario_step_op(&st, NULL, i + 1, &op, &err) < 0)
			cm_panic("explore: a starting message cannot be made: %s", err.text);
		if (map_mailbox(r, &op) < 0 || as_written(r, &op) < 0) {
			model_op_free(&op);
			return -1;
		}
		if (run_op(r, a, &op, true) < 0)
			return -1;
	}
	return start_status(r, a);
}

/* Clients 1..n as the scenario lists them (IMAP clients, then agents),
 * the auditor last (id n + 1, as in the simulator). */
static void make_clients(order_run *r, uint64_t index)
{
	rt_wire *w = &r->w;
	const rt_scenario *sc = r->sc;
	unsigned n = (unsigned)(sc->nclients + sc->nagents);
	const char *names[RT_MAX_BOXES];
	for (int i = 0; i < RT_MAX_BOXES; i++)
		names[i] = r->x->setup.boxes[i];
	rt_mix mix;
	rt_mix_default(&mix);
	mix.boxes = sc->boxes;
	rt_workload_init(&w->work, &mix, r->x->setup.caps, names, "s-");
	w->o = &r->x->o;
	w->setup = &r->x->setup;
	w->users = (unsigned)sc->nclients;
	w->ncl = n + 1;
	w->cl = cm_xcalloc(w->ncl, sizeof(*w->cl));
	for (unsigned i = 0; i < w->ncl; i++)
		rt_wire_client_init(&w->cl[i], w, i + 1, i == n ? RT_WIRE_AUDITOR
					: i < sc->nclients ? RT_WIRE_USER : RT_WIRE_LDA);
	w->checker = rt_wire_checker_new(w->setup, MAX_VIOLATIONS);
	w->completed = completed;
	w->completed_ctx = r;
	for (size_t i = 0; i <= RT_SCENARIO_CLIENTS_MAX; i++)
		r->step[i] = -1;
	r->hf = open_memstream(&r->hbuf, &r->hlen);
	if (r->hf == NULL)
		cm_panic("explore: open_memstream: out of memory");
	model_history_header h;
	rt_wire_history_header(w->setup, index, n + 1, &h);
	w->hist = model_history_writer_new(r->hf, &h);
}

static int open_sessions(order_run *r)
{
	rt_wire *w = &r->w;
	rt_wire_client *a = &w->cl[w->ncl - 1];
	if (connect_client(r, a, true) < 0 || start_messages(r, a) < 0)
		return -1;
	for (unsigned i = 0; i + 1 < w->ncl; i++)
		if (connect_client(r, &w->cl[i], w->cl[i].role == RT_WIRE_USER) < 0)
			return -1;
	return 0;
}

/* ---- stage 4: the order ---- */

static int run_step(order_run *r, uint32_t c, size_t k)
{
	const rt_scenario_client *sc = &r->sc->client[c];
	cm_err err;
	model_op op;
	assert(c < r->sc->nclients + r->sc->nagents && k < sc->nsteps);
	/* Message ids by step, as in the simulator: the same step adds the
	 * same message in every order. */
	if (rt_scenario_step_op(&sc->step[k], &r->vars[c], 1000 * (c + 1) + k, &op, &err) < 0) {
		snprintf(r->error, sizeof(r->error), "client %s, line %u: %.200s", sc->name,
			 sc->step[k].line, err.text);
		return -1;
	}
	if (map_mailbox(r, &op) < 0 || as_written(r, &op) < 0) {
		model_op_free(&op);
		return -1;
	}
	r->step[c] = (int)k;
	return run_op(r, &r->w.cl[c], &op, true);
}

static int run_order(order_run *r, const uint32_t *seq, size_t len)
{
	size_t next[RT_SCENARIO_CLIENTS_MAX] = {0};
	for (size_t i = 0; i < len; i++)
		if (run_step(r, seq[i], next[seq[i]]++) < 0)
			return -1;
	return 0;
}

/* ---- stage 5: the checkpoint ---- */

static int checkpoint(order_run *r)
{
	rt_wire *w = &r->w;
	rt_wire_client *a = &w->cl[w->ncl - 1];
	uint64_t id = rt_wire_record_checkpoint(w, 0);
	r->auditing = true;
	for (unsigned i = 0; i < w->users; i++) {
		if (!w->cl[i].known.selected)
			continue;
		model_op op;
		model_op_init(&op, MODEL_OP_NOOP);
		if (run_op(r, &w->cl[i], &op, true) < 0)
			return -1;
	}
	bool cs = (w->setup->caps & MODEL_CAP_CONDSTORE) != 0;
	for (int b = 0; b < r->sc->boxes; b++) {
		model_op ops[3];
		rt_workload_audit(&w->work, b, cs, ops);
		for (int k = 0; k < 3; k++)
			if (run_op(r, a, &ops[k], true) < 0) {
				for (int j = k + 1; j < 3; j++)
					model_op_free(&ops[j]);
				return -1;
			}
	}
	rt_wire_record_checkpoint(w, id);
	return 0;
}

/* ---- judging ---- */

static void judge(order_run *r, uint64_t index, const uint32_t *seq, size_t len,
		  rt_wire_explore_result *res)
{
	res->run++;
	res->states += rt_state_set_add(&r->x->states, r->state);
	cm_buf_clear(&res->last_history);
	cm_buf_append(&res->last_history, r->hbuf, r->hlen);
	res->warnings += model_checker_get_stats(r->w.checker)->warnings;
	const model_violation *first = rt_scenario_verdict(r->w.checker, &r->unmet,
							   res->failed_inv);
	if (first == NULL)
		return;
	res->failing++;
	if (res->failed)
		return; /* the first failing order is the one reported */
	res->failed = true;
	res->fail = *first;
	res->fail_index = index;
	res->fail_order = cm_xmalloc(len * sizeof(uint32_t));
	memcpy(res->fail_order, seq, len * sizeof(uint32_t));
	res->nfail_order = len;
	rt_scenario_order_words(r->sc, seq, len, &res->fail_words);
	cm_buf_append(&res->fail_history, r->hbuf, r->hlen);
}

/* Everything of the order but its mailboxes goes: connections first (a
 * session must not hold a mailbox being deleted), then the checker has
 * the whole history. */
static void close_order(order_run *r)
{
	rt_wire *w = &r->w;
	for (unsigned i = 0; i < w->ncl; i++)
		rt_wire_client_free(&w->cl[i]);
	free(w->cl);
	w->cl = NULL;
	imapc_cmd_free(&w->cmd);
	model_checker_finish(w->checker);
	model_history_writer_finish(w->hist);
	fclose(r->hf);
}

/* One order, numbered index: 0 when it ran and was judged into res, or
 * -1 after its error line. */
static int one_order(rt_wire_explore *x, const rt_scenario *sc, uint64_t index,
		     const uint32_t *seq, size_t len, rt_wire_explore_result *res)
{
	order_run r;
	memset(&r, 0, sizeof(r));
	r.x = x;
	r.sc = sc;
	r.state = RT_STATE_BASIS;
	if (make_boxes(&r, index) != CM_EXIT_CLEAN) {
		rt_wire_setup_delete(&x->setup);
		return -1;
	}
	make_clients(&r, index);
	int rc = open_sessions(&r);
	if (rc == 0)
		rc = run_order(&r, seq, len);
	if (rc == 0)
		rc = checkpoint(&r);
	close_order(&r);
	if (rc == 0)
		judge(&r, index, seq, len, res);
	else
		cm_error("explore: %s, order %" PRIu64 ": %s", sc->name, index, r.error);
	model_checker_free(r.w.checker);
	free(r.hbuf);
	if (rt_wire_setup_delete(&x->setup) != 0)
		rc = -1;
	return rc;
}

/* The scenario's "capabilities:" the server lacks: -1 after one error
 * line naming the first, before any order runs. */
static int missing_caps(const rt_wire_explore *x, const rt_scenario *sc)
{
	unsigned lack = sc->caps & ~x->setup.caps;
	if (lack == 0)
		return 0;
	cm_error("explore: %s needs %s, which %s does not offer", sc->name,
		 model_cap_name(lack & -lack), x->setup.url.display);
	return -1;
}

int rt_wire_explore_run(rt_wire_explore *x, const rt_scenario *sc, uint64_t first,
			uint64_t max, rt_wire_explore_result *res)
{
	size_t counts[RT_SCENARIO_CLIENTS_MAX];
	uint32_t seq[ORDER_MAX];
	uint64_t t0 = cm_now_ns();
	memset(res, 0, sizeof(*res));
	rt_state_set_free(&x->states);
	for (size_t c = 0; c < sc->nclients + sc->nagents; c++)
		counts[c] = sc->client[c].nsteps;
	res->orders = rt_orders_count(counts, sc->nclients + sc->nagents);
	res->first = first;
	if (missing_caps(x, sc) < 0)
		return CM_EXIT_USAGE;
	size_t len = 0;
	bool more = rt_orders_nth(counts, sc->nclients + sc->nagents, first, seq, &len);
	assert(len <= ORDER_MAX);
	int rc = CM_EXIT_CLEAN;
	for (uint64_t i = first; more && (max == 0 || res->run < max); i++) {
		if (one_order(x, sc, i, seq, len, res) != 0) {
			rc = CM_EXIT_USAGE;
			break;
		}
		more = rt_orders_next(seq, len);
	}
	res->complete = rc == CM_EXIT_CLEAN && first == 0 && res->run == res->orders;
	res->seconds = (double)(cm_now_ns() - t0) / 1e9;
	return rc;
}
