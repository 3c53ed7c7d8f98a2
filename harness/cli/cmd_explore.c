/* `ratchet explore SCENARIO|DIR|NAME`: every schedule of a scenario up to a
 * preemption bound on the embedded store (docs/explore.md), with a
 * certificate of what was covered, or the first failing schedule in words
 * and a replay file. */
#include "cli.h"
#include "explore.h"
#include "rs.h"
#include "wire_explore.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct explore_cmd {
	uint64_t bound;
	bool bound_given;
	const char *mutant;
	unsigned mutants;
	uint64_t max_execs;
	bool plain;
	const char *mode;           /* "exhaustive" (default) or "pct" */
	uint64_t depth, runs, seed;
	const char *report;
	bool quiet;
	/* against a real server (cmd_explore_target.c) */
	const char *server;         /* --target URL */
	const char *mailbox_prefix;
	bool reuse;
	double timeout;
	uint64_t order;
	bool order_given;
	json_t *json;               /* the report's scenarios */
	int exit_code;
} explore_cmd;

/* The scenario files named by arg: the file, or a directory's *.scn in
 * name order. 0 with *list (caller frees), or -1 after the error line. */
static int list_files(const char *arg, char ***list, size_t *n)
{
	struct stat st;
	*list = NULL;
	*n = 0;
	if (stat(arg, &st) != 0) {
		cm_error("explore: %s: %s", arg, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*list = cm_xmalloc(sizeof(char *));
		(*list)[(*n)++] = cm_xstrdup(arg);
		return 0;
	}
	struct dirent **ents;
	int k = scandir(arg, &ents, NULL, alphasort);
	if (k < 0) {
		cm_error("explore: %s: %s", arg, strerror(errno));
		return -1;
	}
	*list = cm_xmalloc(((size_t)k + 1) * sizeof(char *));
	for (int i = 0; i < k; i++) {
		size_t len = strlen(ents[i]->d_name);
		if (len > 4 && strcmp(ents[i]->d_name + len - 4, ".scn") == 0) {
			char *p = cm_xmalloc(strlen(arg) + len + 2);
			sprintf(p, "%s/%s", arg, ents[i]->d_name);
			(*list)[(*n)++] = p;
		}
		free(ents[i]);
	}
	free(ents);
	if (*n == 0) {
		cm_error("explore: %s: no scenario (*.scn) in this directory", arg);
		free(*list);
		return -1;
	}
	return 0;
}

/* The replay file of a failure: 0 with its name in out, or -1. */
static int write_replay(const explore_cmd *e, const char *file, const rt_scenario *sc,
			const rt_explore_result *r, char *out, size_t cap)
{
	rt_replay rp;
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.target, sizeof(rp.target), "explore");
	snprintf(rp.mutant, sizeof(rp.mutant), "%s", e->mutant ? e->mutant : "");
	snprintf(rp.expect, sizeof(rp.expect), "%s", model_inv_get(r->fail.inv)->id);
	snprintf(rp.scenario, sizeof(rp.scenario), "%s", file);
	rp.tape = r->fail_tape;
	rp.ntape = r->nfail_tape;
	snprintf(out, cap, "ratchet-explore-%s.replay.json", sc->name);
	return rt_replay_write(out, &rp);
}

/* What n counts: a scenario's faults count against the bound
 * (docs/explore.md). */
static const char *bound_words(unsigned n, bool faults)
{
	if (faults)
		return n == 1 ? "preemption or fault" : "preemptions or faults";
	return n == 1 ? "preemption" : "preemptions";
}

static void print_result(const explore_cmd *e, const rt_explore_result *r,
			 unsigned bound, bool faults, const char *replay)
{
	bool pct = e->mode != NULL && strcmp(e->mode, "pct") == 0;
	for (unsigned b = 0; b <= bound && !e->quiet && !pct; b++)
		if (b <= r->covered || r->execs[b] > 0)
			printf("  bound %u: %" PRIu64 " schedules, %" PRIu64 " runs pruned "
			       "as redundant, %" PRIu64 " new end states, %" PRIu64
			       " failing, %.2f s\n", b, r->execs[b], r->pruned[b],
			       r->by_bound[b].states, r->by_bound[b].failing,
			       r->by_bound[b].seconds);
	printf("  %" PRIu64 " runs, %" PRIu64 " decision points, %" PRIu64
	       " calls skipped as invisible%s, %" PRIu64 " distinct end states, %"
	       PRIu64 " failing, %.2f s\n", r->execs_total, r->decisions,
	       r->points_skipped, e->plain ? " (--plain)" : "", r->states,
	       r->failing, r->seconds);
	if (r->failed) {
		printf("  FAILED with %u %s:\n    ", r->fail_preemptions,
		       bound_words(r->fail_preemptions, faults));
		rt_violation_print(&r->fail, stdout, isatty(1));
		printf("    schedule: %s\n", r->fail_words.data);
		if (replay[0])
			printf("    replay: ratchet replay %s\n", replay);
	} else if (pct) {
		/* print_pct says what PCT guarantees */
	} else if (r->complete) {
		printf("  bound %u fully covered: no schedule with at most %u "
		       "%s violates an invariant\n", bound, bound, bound_words(bound, faults));
	} else {
		printf("  stopped after %" PRIu64 " runs (--max-execs): bound %d "
		       "covered, not %u\n", r->execs_total, (int)r->covered, bound);
	}
}

/* What a PCT exploration guarantees (pct.c). */
static void print_pct(const explore_cmd *e, const rt_explore_result *r)
{
	double miss = 1.0;
	for (uint64_t i = 0; i < e->runs && miss > 1e-300; i++)
		miss *= 1.0 - r->pct_p;
	printf("  PCT depth %" PRIu64 ", seed %" PRIu64 ": each run finds a bug of depth "
	       "%" PRIu64 " with probability at least 1/(n*k^(d-1)) = %.3g (k = %"
	       PRIu64 " steps); %" PRIu64 " runs miss it with probability at most "
	       "%.3g\n", e->depth, e->seed, e->depth, r->pct_p, r->pct_k, e->runs,
	       miss);
}

static json_t *result_json(const explore_cmd *e, const char *file,
			   const rt_scenario *sc, const rt_explore_result *r,
			   unsigned bound, const char *replay)
{
	json_t *ex = json_object(), *pruned = json_object(), *per = json_object();
	for (unsigned b = 0; b <= bound; b++) {
		char k[8];
		snprintf(k, sizeof(k), "%u", b);
		json_object_set_new(ex, k, json_integer((json_int_t)r->execs[b]));
		json_object_set_new(pruned, k, json_integer((json_int_t)r->pruned[b]));
		json_object_set_new(per, k, json_pack("{s:I, s:I, s:I, s:I, s:f}",
			"schedules", (json_int_t)r->execs[b], "pruned",
			(json_int_t)r->pruned[b], "new_states",
			(json_int_t)r->by_bound[b].states, "failing",
			(json_int_t)r->by_bound[b].failing, "seconds",
			r->by_bound[b].seconds));
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:o, s:I, s:I, s:I, s:I, s:f}",
			      "name", sc->name, "file", file, "design", sc->design,
			      "bound", (int)bound, "covered", (int)r->covered,
			      "complete", r->complete, "schedules", ex,
			      "runs", (json_int_t)r->execs_total,
			      "points_skipped", (json_int_t)r->points_skipped,
			      "states", (json_int_t)r->states,
			      "failing", (json_int_t)r->failing, "seconds", r->seconds);
	char digest[20];
	snprintf(digest, sizeof(digest), "%016" PRIx64, r->states_digest);
	json_object_set_new(o, "states_digest", json_string(digest));
	json_object_set_new(o, "pruned", pruned);
	json_object_set_new(o, "by_bound", per);
	json_object_set_new(o, "reduction", json_string(e->plain ? "none"
						       : "invisible-calls+sleep-sets"));
	json_t *inv = json_array();
	for (int i = 0; i < MODEL_INV_COUNT; i++)
		if (r->failed_inv[i])
			json_array_append_new(inv, json_string(model_inv_get((model_inv)i)->id));
	json_object_set_new(o, "failing_invariants", inv);
	bool pct = e->mode != NULL && strcmp(e->mode, "pct") == 0;
	json_object_set_new(o, "mode", json_string(pct ? "pct" : "exhaustive"));
	if (pct)
		json_object_set_new(o, "pct", json_pack("{s:I, s:I, s:I, s:I, s:f}",
			"depth", (json_int_t)e->depth, "runs", (json_int_t)e->runs,
			"seed", (json_int_t)e->seed, "k", (json_int_t)r->pct_k,
			"p_per_run", r->pct_p));
	if (r->failed)
		json_object_set_new(o, "failure", json_pack(
			"{s:s, s:s, s:i, s:s, s:s}", "invariant",
			model_inv_get(r->fail.inv)->id, "detail", r->fail.detail,
			"preemptions", (int)r->fail_preemptions, "schedule",
			r->fail_words.data, "replay", replay));
	return o;
}

/* One scenario file: explored, printed, reported. */
static void explore_file(explore_cmd *e, const char *file)
{
	rt_scenario sc;
	cm_err err;
	if (rt_scenario_load(file, &sc, &err) != 0) {
		cm_error("explore: %s", err.text);
		e->exit_code = CM_MAX(e->exit_code, CM_EXIT_USAGE);
		return;
	}
	unsigned lack = sc.caps & ~(unsigned)RT_SIM_CAPS;
	if (lack != 0) {
		cm_error("explore: %s needs %s, which the embedded store does not offer",
			 sc.name, model_cap_name(lack & -lack));
		e->exit_code = CM_MAX(e->exit_code, CM_EXIT_USAGE);
		return;
	}
	unsigned bound = e->bound_given ? (unsigned)e->bound : sc.bound;
	bool pct = e->mode != NULL && strcmp(e->mode, "pct") == 0;
	char how[64];
	if (pct)
		snprintf(how, sizeof(how), "PCT depth %" PRIu64 ", %" PRIu64 " runs",
			 e->depth, e->runs);
	else
		snprintf(how, sizeof(how), "bound %u", bound);
	printf("scenario %s (%s): %zu client%s, %zu agent%s, %s%s%s\n", sc.name, file,
	       sc.nclients, sc.nclients == 1 ? "" : "s", sc.nagents,
	       sc.nagents == 1 ? "" : "s", how, e->mutant ? ", mutant " : "",
	       e->mutant ? e->mutant : "");
	rt_explore_opts o = {.bound = bound, .mutants = e->mutants,
			     .max_execs = e->max_execs, .plain = e->plain};
	rt_explore_result r;
	int rc = pct ? rt_explore_pct(&sc, e->mutants, (unsigned)e->depth, e->runs,
				      e->seed, &r, &err)
		     : rt_explore(&sc, &o, &r, &err);
	if (rc != 0) {
		cm_error("explore: %s", err.text);
		e->exit_code = CM_EXIT_INTERNAL;
		rt_explore_result_free(&r);
		return;
	}
	char replay[600] = "";
	if (r.failed && write_replay(e, file, &sc, &r, replay, sizeof(replay)) != 0) {
		cm_error("explore: cannot write %s", replay);
		replay[0] = '\0';
	}
	print_result(e, &r, bound, sc.crashes > 0 || sc.killable != 0, replay);
	if (pct)
		print_pct(e, &r);
	json_array_append_new(e->json, result_json(e, file, &sc, &r, bound, replay));
	if (r.failed)
		e->exit_code = CM_MAX(e->exit_code, CM_EXIT_VIOLATIONS);
	rt_explore_result_free(&r);
}

/* Every file's command orders against e->server (cmd_explore_target.c):
 * the server is reached once, set-up failures are one line and exit 2. */
static void explore_target(explore_cmd *e, char **files, size_t n)
{
	rt_wire_explore_opts o = {.target = e->server, .mailbox_prefix = e->mailbox_prefix,
				  .reuse = e->reuse, .timeout = e->timeout};
	rt_explore_target t = {.max_execs = e->max_execs, .order = e->order,
			       .order_given = e->order_given, .quiet = e->quiet,
			       .json = e->json};
	int rc = rt_wire_explore_open(&o, &t.x);
	if (rc != CM_EXIT_CLEAN) {
		e->exit_code = rc;
		return;
	}
	for (size_t i = 0; i < n; i++)
		rt_explore_target_file(&t, files[i]);
	rt_wire_explore_close(t.x);
	e->exit_code = CM_MAX(e->exit_code, t.exit_code);
}

/* --report writable, --mutant and --mode known: 0, or -1 after the error
 * line. The scenario may be a directory: list_files reads it. */
static int check_args(explore_cmd *e)
{
	rt_path paths[] = {{"--report", e->report, false}};
	if (rt_paths_refuse("explore", paths, CM_ARRAY_LEN(paths)) != CM_EXIT_CLEAN)
		return -1;
	if (e->mutant != NULL && (e->mutants = rs_mutant_parse(e->mutant)) == 0) {
		cm_error("explore: unknown mutant '%s' (try 'ratchet run --list-mutants')",
			 e->mutant);
		return -1;
	}
	if (e->mode != NULL && strcmp(e->mode, "exhaustive") != 0 &&
	    strcmp(e->mode, "pct") != 0) {
		cm_error("explore: --mode must be exhaustive or pct, not '%s'", e->mode);
		return -1;
	}
	/* A real server's internals cannot be preempted: only command
	 * orders run there; and the options of a server only mean one. */
	const char *sim_only = e->bound_given ? "--bound" : e->mutant ? "--mutant"
			     : e->plain ? "--plain" : e->mode ? "--mode" : NULL;
	const char *target_only = e->mailbox_prefix ? "--mailbox-prefix" : e->reuse ? "--reuse"
				: e->order_given ? "--order" : e->timeout > 0 ? "--timeout" : NULL;
	if (e->server != NULL && sim_only != NULL) {
		cm_error("explore: %s is for the embedded store, not with --target (a real "
			 "server runs every command order; docs/explore.md)", sim_only);
		return -1;
	}
	if (e->server == NULL && target_only != NULL) {
		cm_error("explore: %s needs --target", target_only);
		return -1;
	}
	return 0;
}

/* Every scenario of target (a file or a directory), then the report:
 * the command's exit code. e->json is given away. */
static int explore_all(explore_cmd *e, const char *target)
{
	char **files;
	size_t n;
	char *path = rt_cmd_catalogue_resolve(target);
	if (path == NULL || list_files(path, &files, &n) != 0) {
		free(path);
		json_decref(e->json);
		return CM_EXIT_USAGE;
	}
	free(path);
	if (e->server != NULL)
		explore_target(e, files, n);
	for (size_t i = 0; i < n; i++) {
		if (e->server == NULL)
			explore_file(e, files[i]);
		free(files[i]);
	}
	free(files);
	if (e->report != NULL) {
		json_t *doc = json_pack("{s:o}", "scenarios", e->json);
		if (json_dump_file(doc, e->report, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0) {
			cm_error("explore: cannot write %s", e->report);
			e->exit_code = CM_MAX(e->exit_code, CM_EXIT_USAGE);
		}
		json_decref(doc);
	} else {
		json_decref(e->json);
	}
	return e->exit_code;
}

int rt_cmd_explore(int argc, char **argv)
{
	explore_cmd e = {.json = json_array(), .depth = 2, .runs = 1000, .seed = 1};
	const char *target = NULL;
	const cm_option table[] = {
		{.help = "SCENARIO: a .scn file, a directory of them, or a name in the installed\n"
		 "catalogue (move-vs-fetch; \"scenarios\" for all of it)"},
		{.name = "bound", .kind = CM_OPTION_U64, .to.u64 = &e.bound, .arg = "N",
		 .help = "preemptions to explore (default: the scenario's own)",
		 .max = RT_EXPLORE_BOUND_MAX, .given = &e.bound_given},
		{.name = "mutant", .kind = CM_OPTION_STRING, .to.string = &e.mutant,
		 .arg = "NAME", .help = "explore a mutant of the store (ratchet run --list-mutants)"},
		{.name = "max-execs", .kind = CM_OPTION_U64, .to.u64 = &e.max_execs,
		 .arg = "N", .help = "stop after N runs, with --target N orders\n"
		 "(coverage is then partial)",
		 .max = UINT64_MAX / 2},
		{.name = "plain", .to.flag = &e.plain,
		 .help = "no reduction: preempt before every file-system call\n"
		 "and run every branch, no sleep sets (to check the\n"
		 "reduction; docs/explore.md)"},
		{.name = "mode", .kind = CM_OPTION_STRING, .to.string = &e.mode,
		 .arg = "exhaustive|pct", .help = "every schedule within the bound (default),\n"
		 "or PCT: --runs random-priority schedules of --depth"},
		{.name = "depth", .kind = CM_OPTION_U64, .to.u64 = &e.depth, .arg = "D",
		 .help = "PCT: the bug depth to aim at (default 2)", .min = 1, .max = 8},
		{.name = "runs", .kind = CM_OPTION_U64, .to.u64 = &e.runs, .arg = "R",
		 .help = "PCT: runs (default 1000)", .min = 1, .max = 100000000},
		{.name = "seed", .kind = CM_OPTION_U64, .to.u64 = &e.seed, .arg = "S",
		 .help = "PCT: the seed of its draws (default 1)", .max = UINT64_MAX / 2},
		{.name = "report", .kind = CM_OPTION_STRING, .to.string = &e.report,
		 .arg = "OUT.json", .help = "JSON report: per scenario, what was covered"},
		{.name = "quiet", .short_name = 'q', .to.flag = &e.quiet,
		 .help = "no per-bound lines"},
		{.name = "target", .kind = CM_OPTION_STRING, .to.string = &e.server,
		 .arg = "imap://USER:PASS@HOST:PORT", .help = "every command order against a "
		 "real IMAP server,\non fresh mailboxes under --mailbox-prefix"},
		{.name = "mailbox-prefix", .kind = CM_OPTION_STRING, .to.string = &e.mailbox_prefix,
		 .arg = "NAME", .help = "--target: the run's mailboxes go under it\n"
		 "(default ratchet-explore)"},
		{.name = "reuse", .to.flag = &e.reuse,
		 .help = "--target: delete what the prefix holds first"},
		{.name = "timeout", .kind = CM_OPTION_SECONDS, .to.seconds = &e.timeout, .arg = "S",
		 .help = "--target: per-command timeout (default 10)", .max_s = 1e7},
		{.name = "order", .kind = CM_OPTION_U64, .to.u64 = &e.order, .arg = "N",
		 .help = "--target: run command order N only (a failure names it)",
		 .max = UINT64_MAX / 2, .given = &e.order_given},
	};
	cm_options cmdline = {.program = "ratchet", .command = "explore",
			      .options = table, .noptions = CM_ARRAY_LEN(table),
			      .args = &target, .nargs = 1,
			      .args_name = "SCENARIO"};
	cm_options_result parsed = cm_options_parse(&cmdline, argc, argv);
	if (parsed != CM_OPTIONS_OK) {
		json_decref(e.json);
		return cm_options_exit(parsed);
	}
	if (check_args(&e) != 0) {
		json_decref(e.json);
		return CM_EXIT_USAGE;
	}
	return explore_all(&e, target);
}

int rt_replay_explore(const char *file, const rt_replay *rp, unsigned mutants,
		      model_history_writer *hist)
{
	rt_scenario sc;
	cm_err err;
	if (rp->scenario[0] == '\0') {
		cm_error("replay: %s: an explore replay without \"scenario\"", file);
		return CM_EXIT_USAGE;
	}
	if (rt_scenario_load(rp->scenario, &sc, &err) != 0) {
		cm_error("replay: %s", err.text);
		return CM_EXIT_USAGE;
	}
	printf("ratchet: replaying %s (scenario %s, %zu decisions%s%s)\n", file,
	       sc.name, rp->ntape, rp->mutant[0] ? ", mutant " : "", rp->mutant);
	rt_explore_result r;
	if (rt_explore_replay(&sc, mutants, rp->tape, rp->ntape, hist, &r, &err) != 0) {
		cm_error("replay: %s", err.text);
		rt_explore_result_free(&r);
		return CM_EXIT_INTERNAL;
	}
	printf("  schedule: %s\n", r.fail_words.data);
	if (r.failed)
		rt_violation_print(&r.fail, stdout, isatty(1));
	else
		printf("  no violation%s\n", rp->expect[0] ?
		       " (the recorded failure did not happen this time)" : "");
	int rc = r.failed ? CM_EXIT_VIOLATIONS : CM_EXIT_CLEAN;
	rt_explore_result_free(&r);
	return rc;
}
