/* The wire target: `ratchet run --target imap://USER:PASS@HOST:PORT`.
 *
 * N virtual clients (one connection each) plus a delivery connection run
 * the shared workload against a real server from one poll() loop; every
 * op is recorded with monotonic times and judged online by the checker.
 * Every so many ops the campaign goes quiet (no new ops until all are
 * answered), sends NOOP in every session that has a mailbox selected, and
 * an auditor connection reads each mailbox fresh (EXAMINE, UID SEARCH ALL,
 * UID FETCH 1:*): the checkpoint the simulator makes (sim.c).
 *
 * Time: --seconds S is a wall-clock bound from the campaign's start (set-up
 * included). No op starts after S; the ops in flight then and the final
 * checkpoint get a grace G = --timeout, and at S + G whatever is still in
 * flight is cut (outcome unknown) and the checkpoint is left open (lost
 * replies, not judged). Clean-up then has G of its own: each admin
 * command gets the smaller of --timeout and the time left, and a mailbox
 * it cannot delete in time is named on stderr. So a server answering
 * every command in 9 s ends a `--seconds 5` run within 5 + 2 x 10 s.
 *
 * A replicated pair (--replica URL --sync-cmd CMD): clients are spread over
 * the two servers (client i on replica 1 + i % 2, the delivery connection
 * on a side drawn from the seed), each server has an auditor of its own,
 * and the sync command (wire_sync.c) runs beside the clients at random
 * moments (one op in sync_every on average, drawn per run) and at every
 * quiet point: after the drain, before the checkpoint's NOOPs and audits,
 * retried up to SYNC_QUIET_TRIES times while it fails, so that the
 * checker can hold the audits of both sides to each other.
 *
 * Exit codes: 0 clean, 1 violations, 2 bad URL / unreachable server /
 * failed login / refused prefix (one line on stderr). */
#include "wire_private.h"
#include "rs_session.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CONNECT_FAILS 8
/* Runs of the sync command at a quiet point until one succeeds: dsync
 * exits 2 when a mailbox changed under it and asks to be run again. */
#define SYNC_QUIET_TRIES 3

#include "wire_loop.h"

/* ---- what clients do next ---- */

/* The auditors: the last client, or the last two in a replicated pair
 * (replica 1's, then replica 2's). */
static unsigned auditors(const wire_loop *loop)
{
	return loop->w.peer != NULL ? 2 : 1;
}

static rt_wire_client *auditor(wire_loop *loop, unsigned k)
{
	assert(k < auditors(loop));
	return &loop->w.cl[loop->w.ncl - auditors(loop) + k];
}

static void next_workload_op(wire_loop *loop, rt_wire_client *cl, model_op *op)
{
	rt_wire *w = &loop->w;
	if (cl->role == RT_WIRE_LDA)
		rt_workload_deliver(&w->work, &cl->ch, op);
	else
		rt_workload_next(&w->work, &cl->known, &cl->ch, op);
	if (cl->role == RT_WIRE_LDA && w->dlv != NULL)
		return; /* a delivery driver needs no IMAP capability */
	if (!rt_wire_op_fit(op, w->setup->caps, w->setup->allowed)) {
		model_op_free(op);
		model_op_init(op, MODEL_OP_NOOP);
	}
}

static void connect_op(rt_wire_client *cl, uint64_t now, bool record)
{
	if (now < cl->retry_at)
		return;
	model_op op;
	model_op_init(&op, MODEL_OP_CONNECT);
	rt_wire_client_start(cl, &op, record);
}

/* Recorded events so far: think time is counted in them, so that what
 * other clients did while one thinks has completed, not only started. */
static uint64_t events_now(const wire_loop *loop)
{
	return model_checker_get_stats(loop->w.checker)->events;
}

/* One idle client of the running phase. */
static void feed_client(wire_loop *loop, rt_wire_client *cl, uint64_t now)
{
	if (loop->started >= loop->budget || now >= loop->deadline ||
	    (!loop->keep_going && model_checker_get_stats(loop->w.checker)->errors > 0)) {
		loop->stopping = true;
		return;
	}
	if (cl->role == RT_WIRE_LDA && loop->w.dlv == NULL && !rt_wire_client_usable(cl)) {
		connect_op(cl, now, false); /* deliveries have no session to record */
		return;
	}
	if (!cl->known.connected && now < cl->retry_at)
		return;
	model_op op;
	next_workload_op(loop, cl, &op);
	loop->started++;
	/* Think time, counted in other clients' ops: without it a client
	 * sends its next command the moment the last one ends, and a STORE
	 * would never act on client state others have changed since (what a server
	 * that trusts stale state gets wrong). */
	if (cl->role != RT_WIRE_LDA)
		cl->resume_at = events_now(loop) + 2 * rt_choice_below(&cl->ch, loop->w.users + 1);
	if (loop->started >= loop->next_ckpt && loop->every) {
		loop->ph = PH_DRAIN;
		loop->next_ckpt += loop->every;
	}
	rt_wire_client_start(cl, &op, true);
	/* A sync at a random moment, while the clients run. */
	rt_wire *w = &loop->w;
	if (w->sync != NULL && !rt_wire_sync_running(w->sync) && loop->ph == PH_RUN &&
	    rt_wire_sync_due(w->sync))
		rt_wire_sync_begin(w);
}

/* A scripted op (checkpoint); the auditor reconnects first if needed. */
static void feed_queue(rt_wire_client *cl, uint64_t now)
{
	if (cl->role == RT_WIRE_AUDITOR && !rt_wire_client_usable(cl)) {
		connect_op(cl, now, true);
		return;
	}
	model_op op = cl->queue[0];
	memmove(cl->queue, cl->queue + 1, (cl->nqueue - 1) * sizeof(*cl->queue));
	cl->nqueue--;
	rt_wire_client_start(cl, &op, true);
}

static bool all_idle(const wire_loop *loop)
{
	if (loop->w.sync != NULL && rt_wire_sync_running(loop->w.sync))
		return false;
	for (unsigned i = 0; i < loop->w.ncl; i++)
		if (loop->w.cl[i].state != RT_WIRE_IDLE || loop->w.cl[i].nqueue > 0)
			return false;
	return true;
}

/* ---- checkpoints ---- */

static void begin_checkpoint(wire_loop *loop)
{
	rt_wire *w = &loop->w;
	loop->ckpt_id = rt_wire_record_checkpoint(w, 0);
	for (unsigned i = 0; i < w->users; i++) {
		rt_wire_client *cl = &w->cl[i];
		if (!rt_wire_client_usable(cl) || !cl->known.selected)
			continue;
		model_op op;
		model_op_init(&op, MODEL_OP_NOOP);
		rt_wire_client_push(cl, &op);
	}
	loop->ph = PH_NOOP;
}

/* Every auditor reads every mailbox of its server. */
static void audit_ops(wire_loop *loop)
{
	rt_wire *w = &loop->w;
	bool cs = (w->setup->caps & MODEL_CAP_CONDSTORE) != 0;
	for (unsigned i = 0; i < auditors(loop); i++)
		for (int b = 0; b < w->work.mix.boxes; b++) {
			model_op ops[3];
			rt_workload_audit(&w->work, b, cs, ops);
			for (int k = 0; k < 3; k++)
				rt_wire_client_push(auditor(loop, i), &ops[k]);
		}
	loop->ph = PH_AUDIT;
}

/* Replicated: the quiet point's sync, before the checkpoint; again while
 * it fails, SYNC_QUIET_TRIES times at most (the checkpoint after a
 * failed one is not a synced one, and the checker knows it). */
static void quiet_sync(wire_loop *loop)
{
	rt_wire_sync *s = loop->w.sync;
	bool done = loop->ph == PH_SYNC &&
		    (s->last == MODEL_REPLY_OK || loop->sync_tries >= SYNC_QUIET_TRIES);
	if (done) {
		begin_checkpoint(loop);
		return;
	}
	if (loop->ph != PH_SYNC)
		loop->sync_tries = 0;
	loop->ph = PH_SYNC;
	loop->sync_tries++;
	rt_wire_sync_begin(&loop->w);
}

static void end_checkpoint(wire_loop *loop)
{
	rt_wire_record_checkpoint(&loop->w, loop->ckpt_id);
	loop->checkpoints++;
	loop->ph = loop->stopping ? PH_DONE : PH_RUN;
}

/* ---- the scheduler: one pass over the clients ---- */

/* Returns true if the phase changed: schedule again before polling. */
/* Clients still thinking; if every idle one is and none is busy, the
 * nearest wakes up (nobody else would start an op to wake them). */
static rt_wire_client *thinker_to_wake(wire_loop *loop)
{
	rt_wire_client *best = NULL;
	for (unsigned i = 0; i < loop->w.ncl; i++) {
		rt_wire_client *cl = &loop->w.cl[i];
		if (cl->role == RT_WIRE_AUDITOR || cl->role == RT_WIRE_LDA)
			continue;
		if (cl->state != RT_WIRE_IDLE)
			return NULL; /* a busy client will start more */
		if (cl->resume_at > events_now(loop) &&
		    (best == NULL || cl->resume_at < best->resume_at))
			best = cl;
	}
	return best;
}

static bool schedule(wire_loop *loop, uint64_t now)
{
	rt_wire *w = &loop->w;
	phase before = loop->ph;
	bool run = loop->ph == PH_RUN && !loop->stopping;
	rt_wire_client *wake = run ? thinker_to_wake(loop) : NULL;
	if (wake != NULL)
		wake->resume_at = events_now(loop);
	if (run)
		rt_wire_conflict_step(loop);
	else
		loop->conflict.stage = 0;
	for (unsigned i = 0; i < w->ncl; i++) {
		rt_wire_client *cl = &w->cl[i];
		if (cl->state != RT_WIRE_IDLE)
			continue;
		bool in_scene = loop->conflict.stage != 0 && (cl == loop->conflict.a || cl == loop->conflict.b);
		if (run && !in_scene && loop->conflict.stage == 0 && cl->nqueue == 0)
			rt_wire_conflict_start(loop, cl);
		if (cl->nqueue > 0)
			feed_queue(cl, now);
		else if (run && !in_scene && cl->role != RT_WIRE_AUDITOR &&
			 cl->resume_at <= events_now(loop))
			feed_client(loop, cl, now);
	}
	if (loop->stopping && loop->ph == PH_RUN)
		loop->ph = PH_DRAIN;
	if (all_idle(loop)) {
		switch (loop->ph) {
		case PH_DRAIN:
			if (w->sync != NULL)
				quiet_sync(loop);
			else
				begin_checkpoint(loop);
			break;
		case PH_SYNC: quiet_sync(loop); break;
		case PH_NOOP: audit_ops(loop); break;
		case PH_AUDIT: end_checkpoint(loop); break;
		default: break;
		}
	}
	return loop->ph != before;
}

/* A client that cannot connect again and again: the server is gone. */
static bool server_lost(wire_loop *loop)
{
	for (unsigned i = 0; i < loop->w.ncl; i++) {
		const rt_wire_client *cl = &loop->w.cl[i];
		if (cl->fails >= MAX_CONNECT_FAILS) {
			snprintf(loop->fatal, sizeof(loop->fatal), "lost %.60s: %u connections in a "
				 "row failed (%.60s)", loop->w.setup->url.display, cl->fails,
				 cl->last_error);
			return true;
		}
	}
	return false;
}

/* ---- the poll loop ---- */

static int poll_timeout(wire_loop *loop, uint64_t now)
{
	int ms = 100; /* retries, greetings, the deadline: coarse is enough */
	for (unsigned i = 0; i < loop->w.ncl; i++) {
		const rt_wire_client *cl = &loop->w.cl[i];
		if (cl->conn == NULL || cl->closed)
			continue;
		int t = imapc_conn_timeout_ms(cl->conn, now);
		if (t >= 0 && t < ms)
			ms = t;
	}
	int t = loop->w.dlv != NULL ? rt_wire_deliver_timeout_ms(loop->w.dlv, now) : -1;
	return t >= 0 && t < ms ? t : ms;
}

static void poll_once(wire_loop *loop)
{
	rt_wire *w = &loop->w;
	nfds_t n = 0, nsync = 0, ndlv = 0;
	if (w->sync != NULL) /* its pipes first: pfd[0..nsync) */
		n = nsync = rt_wire_child_pollfds(&w->sync->run, loop->pfd);
	if (w->dlv != NULL) /* then the delivery driver's: pfd[nsync..nsync+ndlv) */
		n += ndlv = rt_wire_deliver_pollfds(w->dlv, loop->pfd + n);
	for (unsigned i = 0; i < w->ncl; i++) {
		rt_wire_client *cl = &w->cl[i];
		if (cl->conn == NULL || cl->closed)
			continue;
		loop->pfd[n] = (struct pollfd){.fd = imapc_conn_fd(cl->conn),
					    .events = imapc_conn_poll_events(cl->conn)};
		loop->pcl[n++] = cl;
	}
	int rc = poll(loop->pfd, n, poll_timeout(loop, cm_now_ns()));
	if (rc < 0 && errno != EINTR)
		cm_panic("wire: poll: %s", strerror(errno));
	if (nsync > 0 && rc > 0)
		rt_wire_child_handle(&w->sync->run, loop->pfd, nsync);
	if (w->dlv != NULL)
		rt_wire_deliver_handle(w->dlv, loop->pfd + nsync, rc > 0 ? ndlv : 0);
	for (nfds_t i = nsync + ndlv; i < n; i++) {
		rt_wire_client *cl = loop->pcl[i];
		if (cl->conn != NULL && !cl->closed)
			imapc_conn_handle(cl->conn, rc > 0 ? loop->pfd[i].revents : 0);
	}
	uint64_t now = cm_now_ns();
	for (unsigned i = 0; i < w->ncl; i++) {
		rt_wire_client *cl = &w->cl[i];
		if (cl->conn != NULL && !cl->closed)
			imapc_conn_check_timeouts(cl->conn, now);
		rt_wire_client_tick(cl, now);
	}
	if (w->dlv != NULL)
		rt_wire_deliver_tick(w->dlv, now);
	rt_wire_sync_poll_end(w, now);
}

/* A sync still running when the loop ends (cut, or the server lost) is
 * killed now: its op ends with outcome unknown. */
static void stop_sync(wire_loop *loop)
{
	rt_wire_sync *s = loop->w.sync;
	if (s == NULL || !rt_wire_sync_running(s))
		return;
	rt_wire_sync_kill(s);
	bool ended = rt_wire_sync_poll_end(&loop->w, cm_now_ns());
	assert(ended && !rt_wire_sync_running(s));
	(void)ended;
}

/* --progress-every S: the interval's line on stderr, then a new one. */
static void interval_line(wire_loop *loop, uint64_t now)
{
	if (loop->w.lat_iv == NULL || now < loop->line_ns + loop->line_every_ns)
		return;
	rt_latency_line(loop->w.lat_iv, (double)(now - loop->start_ns) / 1e9,
			(double)(now - loop->line_ns) / 1e9, stderr);
	rt_latency_clear(loop->w.lat_iv);
	loop->line_ns = now;
}

static void show_progress(wire_loop *loop, bool force)
{
	uint64_t now = cm_now_ns();
	if (!loop->progress || (!force && now - loop->progress_ns < 200000000u))
		return;
	loop->progress_ns = now;
	double el = (double)(now - loop->start_ns) / 1e9;
	const model_checker_stats *st = model_checker_get_stats(loop->w.checker);
	fprintf(stderr, "\r  ops %" PRIu64 "  %.0f ops/s  checkpoints %" PRIu64
		"  reconnects %" PRIu64 "  violations %" PRIu64 "   ", loop->w.ops,
		el > 0 ? (double)loop->w.ops / el : 0.0, loop->checkpoints, loop->w.reconnects,
		st->errors + st->warnings);
	if (force)
		fputc('\n', stderr);
}

/* The grace is over: every connection is closed (its op ends with outcome
 * unknown), queued checkpoint ops are dropped, the run ends. */
static void cut_run(wire_loop *loop)
{
	rt_wire *w = &loop->w;
	for (unsigned i = 0; i < w->ncl; i++) {
		rt_wire_client *cl = &w->cl[i];
		for (size_t k = 0; k < cl->nqueue; k++)
			model_op_free(&cl->queue[k]);
		cl->nqueue = 0;
		if (cl->conn != NULL && !cl->closed)
			imapc_conn_close(cl->conn, "closed by client: the run's time "
					 "(--seconds and its grace) is up");
	}
	if (w->dlv != NULL)
		rt_wire_deliver_abort(w->dlv);
	loop->cut = true;
	loop->ph = PH_DONE;
}

static void run_loop(wire_loop *loop)
{
	while (loop->ph != PH_DONE) {
		if (cm_now_ns() >= loop->hard_deadline) {
			cut_run(loop);
			break;
		}
		/* Phase changes need no network: no poll wait in between. */
		for (int i = 0; i < 8 && schedule(loop, cm_now_ns()); i++)
			;
		if (loop->ph == PH_DONE)
			break;
		if (server_lost(loop))
			break;
		poll_once(loop);
		show_progress(loop, false);
		interval_line(loop, cm_now_ns());
	}
	stop_sync(loop);
	if (loop->w.dlv != NULL)
		rt_wire_deliver_abort(loop->w.dlv); /* the server lost: it ends too */
}

/* ---- set-up ---- */

static uint64_t grace_ns(const rt_opts *o)
{
	return (uint64_t)(o->timeout * 1e9);
}

/* When the run must stop starting ops (UINT64_MAX: no time bound). */
static uint64_t time_bound(const rt_opts *o, uint64_t start_ns)
{
	/* --ops alone runs that many ops, --seconds alone that long; both:
	 * whichever ends first; neither: the defaults, whichever first. */
	return o->seconds_set || !o->ops_set ? start_ns + (uint64_t)(o->seconds * 1e9)
					     : UINT64_MAX;
}

static void budget(wire_loop *loop, const rt_opts *o, uint64_t start_ns)
{
	loop->start_ns = start_ns;
	loop->keep_going = o->keep_going;
	loop->budget = o->ops_set || !o->seconds_set ? o->ops : UINT64_MAX;
	loop->deadline = time_bound(o, start_ns);
	loop->hard_deadline = loop->deadline == UINT64_MAX ? UINT64_MAX : loop->deadline + grace_ns(o);
}

/* Clients 1..users, the delivery connection, the auditor(s); in a
 * replicated pair the sync command's ops have the next number. */
static void make_clients(wire_loop *loop)
{
	rt_wire *w = &loop->w;
	w->ncl = w->users + 1 + auditors(loop);
	w->cl = cm_xcalloc(w->ncl, sizeof(*w->cl));
	for (unsigned i = 0; i < w->ncl; i++) {
		rt_wire_role role = i < w->users ? RT_WIRE_USER
				    : i == w->users ? RT_WIRE_LDA : RT_WIRE_AUDITOR;
		rt_wire_client_init(&w->cl[i], w, i + 1, role);
	}
	/* + the sync's pipes (2) and the delivery driver's descriptors (4) */
	loop->pfd = cm_xcalloc(w->ncl + 6, sizeof(*loop->pfd));
	loop->pcl = cm_xcalloc(w->ncl + 6, sizeof(*loop->pcl));
}

/* Replicated: which server each client talks to, and how often the
 * sync command runs between quiet points, from the run's seed. */
static void place_replicas(wire_loop *loop, rt_choice_source *ch)
{
	rt_wire *w = &loop->w;
	if (w->peer == NULL)
		return;
	for (unsigned i = 0; i < w->users; i++)
		w->cl[i].replica = 1 + i % 2;
	w->cl[w->users].replica = 1 + (uint32_t)rt_choice_below(ch, 2);
	for (unsigned k = 0; k < auditors(loop); k++)
		auditor(loop, k)->replica = 1 + k;
	/* Between 1 in 10 and 1 in 80 ops: a few syncs, or many, between
	 * two checkpoints (every 200 ops or more). */
	assert(w->sync->client == w->ncl + 1);
	rt_wire_sync_schedule(w->sync, rt_derive_seed(w->o->seed, w->sync->client),
			      10 + rt_choice_below(ch, 71));
}

static void make_workload(wire_loop *loop, rt_choice_source *ch)
{
	rt_wire *w = &loop->w;
	rt_mix mix;
	rt_mix_default(&mix);
	mix.boxes = w->setup->nboxes;
	mix.box_target = w->o->box_size;
	const char *names[RT_MAX_BOXES];
	for (int i = 0; i < RT_MAX_BOXES; i++)
		names[i] = w->setup->boxes[i];
	/* Ids unique across runs, so that a --reuse'd or --keep'd mailbox
	 * never holds two messages with one id. */
	char idp[24];
	uint64_t salt[2] = {w->o->seed, cm_wall_ns() ^ (uint64_t)getpid()};
	snprintf(idp, sizeof(idp), "w%010" PRIx64, (uint64_t)(cm_hash64(salt, sizeof(salt)) & 0xffffffffffULL));
	rt_workload_init(&w->work, &mix, w->setup->caps, names, idp);
	w->work.message_bytes = model_message_bytes;
	/* A checkpoint stalls every client (drain, NOOPs, a full read of each
	 * mailbox): space them by the number of clients, a few per run. */
	loop->every = (50 + rt_choice_below(ch, 100)) * CM_MAX(w->users, 4u);
	loop->next_ckpt = loop->every;
}

static int open_history(wire_loop *loop, const rt_opts *o, rt_history_file *hf)
{
	rt_wire *w = &loop->w;
	if (rt_history_file_open(hf, o->history) < 0)
		return -1;
	if (hf->f == NULL)
		return 0;
	model_history_header h;
	rt_wire_history_header(w->setup, o->seed, w->users + 1, &h);
	w->hist = model_history_writer_new(hf->f, &h);
	return 0;
}

static void fill_report(wire_loop *loop, rt_report *r)
{
	rt_wire *w = &loop->w;
	snprintf(r->target, sizeof(r->target), "%.127s", w->setup->url.display);
	r->capabilities = w->setup->caps;
	rt_report_add_checker(r, 0, w->checker);
	r->runs = 1;
	r->clients_min = r->clients_max = w->users;
	r->checkpoints = loop->checkpoints;
	for (unsigned i = 0; i < w->ncl; i++)
		r->decisions += w->cl[i].ch.decisions;
	r->seconds = (double)(cm_now_ns() - loop->start_ns) / 1e9;
	r->wire = true;
	r->unknown = w->unknown;
	r->timeouts = w->timeouts;
	r->connections_lost = w->connections_lost;
	r->protocol_errors = w->protocol_errors;
	r->latency = w->lat; /* the report's from now */
	w->lat = NULL;
	if (w->dlv != NULL) {
		snprintf(r->deliver, sizeof(r->deliver), "%s", w->dlv->spec.display);
		r->delivered = w->dlv->count[0];
		r->refused = w->dlv->count[1];
		r->deliveries_unknown = w->dlv->count[2];
	}
	/* A run that mostly got no answers proved little: it fails. */
	cm_err why;
	if (!rt_opts_unknown_ok(w->o, w->unknown, w->ops, &why))
		snprintf(r->failure, sizeof(r->failure), "%.255s", why.text);
}

static void print_intro(const wire_loop *loop, const rt_opts *o)
{
	const rt_wire_setup *s = loop->w.setup;
	if (o->quiet)
		return;
	printf("ratchet: ");
	cm_escape_puts(stdout, s->url.display);
	printf(", %u clients + delivery by %s, mailboxes", loop->w.users,
	       loop->w.dlv != NULL ? loop->w.dlv->spec.display : "IMAP APPEND");
	for (int i = 0; i < loop->w.work.mix.boxes; i++) {
		putchar(' ');
		cm_escape_puts(stdout, s->boxes[i]); /* the namespace is the server's */
	}
	if (loop->w.peer != NULL) {
		/* The sync command itself may hold a password: never shown. */
		printf("; replica 2 ");
		cm_escape_puts(stdout, loop->w.peer->url.display);
		printf(", the sync command every %" PRIu64 " ops on average and at "
		       "every checkpoint", loop->w.sync->every);
	}
	printf("\n");
	fflush(stdout);
}

static void teardown(wire_loop *loop)
{
	rt_wire *w = &loop->w;
	for (unsigned i = 0; i < w->ncl; i++)
		rt_wire_client_free(&w->cl[i]);
	free(w->cl);
	free(loop->pfd);
	free(loop->pcl);
	free(w->lat);
	free(w->lat_iv);
	w->lat = w->lat_iv = NULL;
	imapc_cmd_free(&w->cmd);
	model_checker_free(w->checker);
}

static int campaign(wire_loop *loop, const rt_opts *o, rt_report *r, uint64_t start_ns,
		    rt_choice_source *ch)
{
	rt_wire *w = &loop->w;
	rt_history_file hf;
	make_clients(loop);
	place_replicas(loop, ch);
	if (open_history(loop, o, &hf) != 0) {
		teardown(loop);
		return CM_EXIT_USAGE;
	}
	w->checker = rt_wire_checker_new(w->setup, 0);
	w->lat = cm_xcalloc(1, sizeof(*w->lat));
	if (o->progress_every > 0)
		w->lat_iv = cm_xcalloc(1, sizeof(*w->lat_iv));
	rt_salvage_now.history = hf.f;
	rt_salvage_now.checker = w->checker;
	rt_salvage_now.segment = 0;
	print_intro(loop, o);
	budget(loop, o, start_ns);
	loop->progress = !o->quiet && isatty(2) && o->progress_every <= 0;
	loop->line_every_ns = (uint64_t)(o->progress_every * 1e9);
	loop->line_ns = start_ns;
	/* A fresh read of every mailbox first: the checker then knows each
	 * mailbox's epoch before any op adds to it (without UIDPLUS nothing
	 * else would tie an early APPEND to a mailbox). */
	loop->ph = PH_DRAIN;
	run_loop(loop);
	show_progress(loop, true);
	model_checker_finish(w->checker);
	if (w->hist != NULL)
		model_history_writer_finish(w->hist);
	rt_salvage_now.history = NULL;
	rt_history_file_close(&hf);
	rt_salvage_now.checker = NULL; /* fill_report adds it */
	fill_report(loop, r);
	teardown(loop);
	if (loop->fatal[0] != '\0') {
		cm_error("%s", loop->fatal);
		return CM_EXIT_USAGE;
	}
	return CM_EXIT_CLEAN;
}

int rt_wire_campaign(const rt_opts *o, rt_report *r)
{
	wire_loop loop;
	rt_wire_setup setup, peer;
	rt_wire_sync sync;
	rt_wire_deliverer dlv;
	rt_deliver_spec spec;
	cm_err err = {{0}};
	if (rt_deliver_parse(o->deliver, o->deliver_rcpt, &spec, &err) != 0) {
		cm_error("%s", err.text);
		return CM_EXIT_USAGE;
	}
	memset(&loop, 0, sizeof(loop));
	loop.w.o = o;
	loop.w.setup = &setup;
	loop.w.users = o->clients ? o->clients : 4;
	uint64_t start = cm_now_ns(), bound = time_bound(o, start);
	uint64_t setup_end = bound == UINT64_MAX ? 0 : bound + grace_ns(o);
	int rc = rt_wire_setup_open(&setup, o, setup_end);
	if (rc != CM_EXIT_CLEAN) {
		rt_wire_setup_close(&setup);
		return rc;
	}
	if (spec.kind != RT_DELIVER_IMAP) {
		rt_wire_deliver_init(&dlv, &loop.w, &spec);
		loop.w.dlv = &dlv;
	}
	rt_choice_source ch;
	rt_choice_prng(&ch, o->seed, false);
	/* From here an internal error deletes what the run created (INBOX
	 * only once setup is ready, by then the id prefix is set). */
	rt_wire_salvage sc = {&setup, NULL, o, loop.w.work.id_prefix};
	rt_salvage_now.clean = rt_wire_salvage_clean;
	rt_salvage_now.clean_ctx = &sc;
	rc = rt_wire_setup_boxes(&setup, o, 2 + (int)rt_choice_below(&ch, 2));
	if (rc == CM_EXIT_CLEAN && o->replica != NULL) {
		sc.peer = &peer;
		rc = rt_wire_replica_attach(&loop.w, &peer, &sync, setup_end);
	}
	if (rc == CM_EXIT_CLEAN) {
		make_workload(&loop, &ch);
		rc = campaign(&loop, o, r, start, &ch);
	}
	rt_salvage_now.clean = NULL; /* cleaned up here */
	uint64_t clean_end = bound == UINT64_MAX ? 0 : cm_now_ns() + grace_ns(o);
	rt_wire_setup_cleanup(&setup, o, loop.w.work.id_prefix, clean_end);
	rt_wire_replica_detach(&loop.w, clean_end);
	rt_wire_setup_close(&setup);
	if (loop.w.dlv != NULL)
		rt_wire_deliver_free(loop.w.dlv);
	rt_choice_free(&ch);
	return rc;
}
