/* `ratchet explore SCENARIO --target imap://...`: every command order of
 * a scenario against a real server (harness/wire/wire_explore.h,
 * docs/explore.md "Against a real server"), reported as the embedded
 * exploration is: what was covered, or the first failing order in words
 * with its history and a replay file. */
#include "cli.h"
#include "orders.h"
#include "wire_explore.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What no report of a real server may leave out (docs/explore.md). */
static const char limits[] =
	"the server's internal interleavings are not scheduled, only the order in "
	"which whole commands reach it; agents deliver by IMAP APPEND";

/* The failing order's history and replay file, named after the
 * scenario: 0, or -1 after an error line for the one not written. */
static int write_evidence(const rt_explore_target *t, const char *file,
			  const rt_scenario *sc, const rt_wire_explore_result *r,
			  char *replay, char *history, size_t cap)
{
	snprintf(history, cap, "ratchet-explore-%s.history.jsonl", sc->name);
	snprintf(replay, cap, "ratchet-explore-%s.replay.json", sc->name);
	FILE *f = fopen(history, "w");
	if (f == NULL || fwrite(r->fail_history.data, 1, r->fail_history.len, f) !=
			 r->fail_history.len) {
		cm_error("explore: cannot write %s", history);
		history[0] = '\0';
	}
	if (f != NULL && fclose(f) != 0 && history[0] != '\0') {
		cm_error("explore: cannot write %s", history);
		history[0] = '\0';
	}
	rt_replay rp;
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.target, sizeof(rp.target), "explore");
	snprintf(rp.expect, sizeof(rp.expect), "%s", model_inv_get(r->fail.inv)->id);
	snprintf(rp.scenario, sizeof(rp.scenario), "%s", file);
	snprintf(rp.server, sizeof(rp.server), "%s", rt_wire_explore_display(t->x));
	rp.order = r->fail_index;
	uint64_t *tape = cm_xmalloc((r->nfail_order + 1) * sizeof(uint64_t));
	for (size_t i = 0; i < r->nfail_order; i++)
		tape[i] = r->fail_order[i];
	rp.tape = tape;
	rp.ntape = r->nfail_order;
	int rc = rt_replay_write(replay, &rp);
	free(tape);
	if (rc != 0) {
		cm_error("explore: cannot write %s", replay);
		replay[0] = '\0';
	}
	return replay[0] && history[0] ? 0 : -1;
}

static void print_coverage(const rt_explore_target *t, const rt_wire_explore_result *r,
			   bool setup_failed)
{
	printf("  %" PRIu64 " order%s run, %" PRIu64 " distinct end state%s, %" PRIu64
	       " failing, %" PRIu64 " warning%s, %.2f s\n", r->run, r->run == 1 ? "" : "s",
	       r->states, r->states == 1 ? "" : "s", r->failing, r->warnings,
	       r->warnings == 1 ? "" : "s", r->seconds);
	if (r->complete && !r->failed)
		printf("  every command order covered: none violates an invariant\n");
	else if (r->complete)
		printf("  every command order covered\n");
	else if (setup_failed)
		printf("  stopped by the set-up error (stderr) after %" PRIu64 " of %" PRIu64
		       " orders: coverage is partial\n", r->run, r->orders);
	else if (t->order_given)
		printf("  order %" PRIu64 " only (--order): coverage is partial\n", t->order);
	else
		printf("  stopped after %" PRIu64 " of %" PRIu64 " orders: coverage is "
		       "partial\n", r->run, r->orders);
	if (!t->quiet)
		printf("  (%s)\n", limits);
}

/* Does sc inject faults (scenarios/README.md)? Not into a server. */
static bool has_faults(const rt_scenario *sc)
{
	return sc->crashes > 0 || sc->killable != 0;
}

static void print_failure(const rt_explore_target *t, const rt_wire_explore_result *r,
			  const char *replay, const char *history)
{
	printf("  FAILED in order %" PRIu64 "%s:\n    ", r->fail_index,
	       r->failing > 1 ? " (the first of them)" : "");
	rt_violation_print(&r->fail, stdout, isatty(1));
	printf("    order: %s\n", r->fail_words.data);
	if (history[0])
		printf("    history: %s\n", history);
	/* The replay file keeps no password: the command asks for the URL. */
	const char *at = strchr(rt_wire_explore_display(t->x), '@');
	if (replay[0])
		printf("    replay: ratchet replay %s --target imap://USER:PASS@%s\n", replay,
		       at ? at + 1 : "HOST:PORT");
}

static json_t *result_json(const rt_explore_target *t, const char *file,
			   const rt_scenario *sc, const rt_wire_explore_result *r,
			   bool setup_failed, const char *replay, const char *history)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:f}",
			      "name", sc->name, "file", file, "design", sc->design,
			      "mode", "orders", "target", rt_wire_explore_display(t->x),
			      "orders", (json_int_t)CM_MIN(r->orders, (uint64_t)INT64_MAX),
			      "orders_run", (json_int_t)r->run, "first_order", (json_int_t)r->first,
			      "complete", r->complete, "failing", (json_int_t)r->failing,
			      "warnings", (json_int_t)r->warnings, "states", (json_int_t)r->states,
			      "seconds", r->seconds);
	json_object_set_new(o, "setup_failed", json_boolean(setup_failed));
	json_object_set_new(o, "server_internals_scheduled", json_false());
	json_object_set_new(o, "faults_injected", json_false());
	json_object_set_new(o, "delivery", json_string("imap-append"));
	json_object_set_new(o, "limits", json_string(limits));
	json_t *inv = json_array();
	for (int i = 0; i < MODEL_INV_COUNT; i++)
		if (r->failed_inv[i])
			json_array_append_new(inv, json_string(model_inv_get((model_inv)i)->id));
	json_object_set_new(o, "failing_invariants", inv);
	if (r->failed)
		json_object_set_new(o, "failure", json_pack(
			"{s:s, s:s, s:I, s:s, s:s, s:s}", "invariant",
			model_inv_get(r->fail.inv)->id, "detail", r->fail.detail,
			"order_index", (json_int_t)r->fail_index, "order", r->fail_words.data,
			"replay", replay, "history", history));
	return o;
}

void rt_explore_target_file(rt_explore_target *t, const char *file)
{
	rt_scenario sc;
	cm_err err;
	if (rt_scenario_load(file, &sc, &err) != 0) {
		cm_error("explore: %s", err.text);
		t->exit_code = CM_MAX(t->exit_code, CM_EXIT_USAGE);
		return;
	}
	if (sc.replicas > 0) {
		/* One server is no replicated pair (docs/replication.md). */
		printf("scenario %s (%s): not run: it is replicated (\"replicas:\"), "
		       "and --target is one server\n", sc.name, file);
		return;
	}
	size_t counts[RT_SCENARIO_CLIENTS_MAX], steps = 0;
	for (size_t c = 0; c < sc.nclients + sc.nagents; c++)
		steps += counts[c] = sc.client[c].nsteps;
	uint64_t orders = rt_orders_count(counts, sc.nclients + sc.nagents);
	printf("scenario %s (%s): %zu client%s, %zu agent%s, against %s\n", sc.name, file,
	       sc.nclients, sc.nclients == 1 ? "" : "s", sc.nagents,
	       sc.nagents == 1 ? "" : "s", rt_wire_explore_display(t->x));
	/* Up front: a scenario with many orders shows it before it runs. */
	if (orders == UINT64_MAX)
		printf("  %zu commands: more than 2^64 command orders\n", steps);
	else
		printf("  %zu commands: %" PRIu64 " command orders\n", steps, orders);
	fflush(stdout);
	if (t->order_given && t->order >= orders) {
		cm_error("explore: --order %" PRIu64 ": %s has orders 0 to %" PRIu64, t->order,
			 sc.name, orders - 1);
		t->exit_code = CM_MAX(t->exit_code, CM_EXIT_USAGE);
		return;
	}
	rt_wire_explore_result r;
	uint64_t max = t->order_given ? 1 : t->max_execs;
	int rc = rt_wire_explore_run(t->x, &sc, t->order_given ? t->order : 0, max, &r);
	char replay[600] = "", history[600] = "";
	if (r.failed)
		write_evidence(t, file, &sc, &r, replay, history, sizeof(replay));
	print_coverage(t, &r, rc != CM_EXIT_CLEAN);
	if (!t->quiet && has_faults(&sc))
		printf("  (the scenario's faults are not injected into a server: its "
		       "crash, kill and lose-log lines apply on the embedded store only)\n");
	if (r.failed)
		print_failure(t, &r, replay, history);
	json_array_append_new(t->json, result_json(t, file, &sc, &r, rc != CM_EXIT_CLEAN, replay, history));
	if (r.failed)
		t->exit_code = CM_MAX(t->exit_code, CM_EXIT_VIOLATIONS);
	if (rc != CM_EXIT_CLEAN)
		t->exit_code = CM_MAX(t->exit_code, rc);
	rt_wire_explore_result_free(&r);
}

/* The tape of rp is order rp->order of sc (the scenario file did not
 * change since): true, or false. */
static bool same_order(const rt_scenario *sc, const rt_replay *rp)
{
	size_t counts[RT_SCENARIO_CLIENTS_MAX];
	uint32_t seq[RT_SCENARIO_CLIENTS_MAX * RT_SCENARIO_STEPS_MAX];
	for (size_t c = 0; c < sc->nclients + sc->nagents; c++)
		counts[c] = sc->client[c].nsteps;
	size_t len;
	if (!rt_orders_nth(counts, sc->nclients + sc->nagents, rp->order, seq, &len) ||
	    len != rp->ntape)
		return false;
	for (size_t i = 0; i < len; i++)
		if (seq[i] != rp->tape[i])
			return false;
	return true;
}

/* The history of the order rerun, to path: 0, or -1 after the error. */
static int write_history(const char *path, const cm_buf *h)
{
	FILE *f = fopen(path, "w");
	bool ok = f != NULL && fwrite(h->data, 1, h->len, f) == h->len;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok)
		cm_error("replay: cannot write %s", path);
	return ok ? 0 : -1;
}

/* What the rerun found, printed: the command's exit code. */
static int rerun_verdict(const rt_replay *rp, const rt_wire_explore_result *r, int rc)
{
	if (rc != CM_EXIT_CLEAN)
		return rc;
	if (r->failed) {
		printf("  order: %s\n    ", r->fail_words.data);
		rt_violation_print(&r->fail, stdout, isatty(1));
		return CM_EXIT_VIOLATIONS;
	}
	printf("  no violation%s\n", rp->expect[0] ?
	       " (the recorded failure did not happen this time)" : "");
	return CM_EXIT_CLEAN;
}

int rt_replay_explore_target(const char *file, const rt_replay *rp, const char *url,
			     const char *history)
{
	rt_scenario sc;
	cm_err err;
	const char *at = strchr(rp->server, '@');
	if (url == NULL) {
		cm_error("replay: %s is a command order against %s: give --target "
			 "imap://USER:PASS@%s (the file keeps no password)", file, rp->server,
			 at ? at + 1 : "HOST:PORT");
		return CM_EXIT_USAGE;
	}
	if (rt_scenario_load(rp->scenario, &sc, &err) != 0) {
		cm_error("replay: %s", err.text);
		return CM_EXIT_USAGE;
	}
	if (!same_order(&sc, rp)) {
		cm_error("replay: %s: order %" PRIu64 " of %s is not the one recorded (the "
			 "scenario changed since)", file, rp->order, rp->scenario);
		return CM_EXIT_USAGE;
	}
	rt_wire_explore_opts o = {.target = url};
	rt_wire_explore *x;
	int rc = rt_wire_explore_open(&o, &x);
	if (rc != CM_EXIT_CLEAN)
		return rc;
	printf("ratchet: replaying %s (scenario %s, command order %" PRIu64 ") against %s "
	       "(recorded against %s)\n", file, sc.name, rp->order, rt_wire_explore_display(x),
	       rp->server);
	rt_wire_explore_result r;
	rc = rt_wire_explore_run(x, &sc, rp->order, 1, &r);
	if (rc == CM_EXIT_CLEAN && history != NULL && write_history(history, &r.last_history) != 0)
		rc = CM_EXIT_USAGE;
	rc = rerun_verdict(rp, &r, rc);
	rt_wire_explore_result_free(&r);
	rt_wire_explore_close(x);
	return rc;
}
