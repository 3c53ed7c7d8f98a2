/* `ratchet replay FILE`: runs the case a replay file describes, again. */
#include "cli.h"
#include "rs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The replay's history: 0, or -1 after the error line. */
static int open_history(const char *path, const rt_replay *rp, const char *target,
			FILE **f_r, model_history_writer **w_r)
{
	if ((*f_r = fopen(path, "w")) == NULL) {
		cm_error("replay: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	model_history_header h = {.version = 1, .seed = rp->seed, .capabilities = RT_SIM_CAPS};
	snprintf(h.target, sizeof(h.target), "%s", target);
	snprintf(h.mutant, sizeof(h.mutant), "%s", rp->mutant);
	*w_r = model_history_writer_new(*f_r, &h);
	return 0;
}

/* Reads a simulator replay file and its mutant bits: 0, or -1 after the
 * error line (nothing left to free). */
static int load_replay(const char *file, rt_replay *rp, unsigned *mutants_r)
{
	cm_err err;
	if (rt_replay_read(file, rp, &err) != 0) {
		cm_error("replay: %s", err.text);
		return -1;
	}
	if (strcmp(rp->target, "sim") != 0 && strcmp(rp->target, "explore") != 0) {
		cm_error("replay: %s: target '%s' is not replayable here", file, rp->target);
		rt_replay_free(rp);
		return -1;
	}
	*mutants_r = rp->mutant[0] ? rs_mutant_parse(rp->mutant) : 0;
	if (rp->mutant[0] && *mutants_r == 0) {
		cm_error("replay: %s: unknown mutant '%s'", file, rp->mutant);
		rt_replay_free(rp);
		return -1;
	}
	return 0;
}

/* A simulator replay file's run, its events to hw and its report to
 * report (both may be NULL): the command's exit code. */
static int replay_sim(const char *file, const rt_replay *rp, unsigned mutants,
		      model_history_writer *hw, const char *report)
{
	rt_run_spec spec = {.seed = rp->seed, .tape = rp->tape, .ntape = rp->ntape,
			    .clients = rp->clients, .ops = rp->ops, .mutants = mutants,
			    .replicas = rp->replicas};
	printf("ratchet: replaying %s (seed %" PRIu64 "%s%s%s)\n", file, rp->seed,
	       rp->tape ? ", shrunk tape" : "", rp->mutant[0] ? ", mutant " : "",
	       rp->mutant);
	uint64_t start = cm_now_ns();
	rt_run_out out;
	int rc = rt_run_sim(&spec, false, hw, &out);
	rt_report r;
	rt_report_init(&r, rp->seed, "sim");
	snprintf(r.mutant, sizeof(r.mutant), "%s", rp->mutant);
	r.capabilities = RT_SIM_CAPS;
	rt_report_add_run(&r, 0, &out);
	r.seconds = (double)(cm_now_ns() - start) / 1e9;
	for (size_t i = 0; i < out.nv; i++)
		rt_violation_print(&out.v[i], stdout, isatty(1));
	rt_report_print(&r, stdout, isatty(1));
	if (report != NULL && rt_report_write_json(&r, report) != 0)
		cm_error("replay: cannot write %s", report);
	if (rp->expect[0] && r.errors == 0)
		printf("  (the recorded failure, %s, did not happen this time)\n", rp->expect);
	int exit_code = rc != 0 ? CM_EXIT_INTERNAL
		      : r.errors > 0 ? CM_EXIT_VIOLATIONS : CM_EXIT_CLEAN;
	rt_report_free(&r);
	rt_run_out_free(&out);
	return exit_code;
}

int rt_cmd_replay(int argc, char **argv)
{
	const char *file = NULL, *history = NULL, *report = NULL, *url = NULL;
	const cm_option table[] = {
		{.name = "history", .kind = CM_OPTION_STRING, .to.string = &history,
		 .arg = "OUT.jsonl", .help = "every event, JSON Lines (docs/history.md)"},
		{.name = "report", .kind = CM_OPTION_STRING, .to.string = &report,
		 .arg = "OUT.json", .help = "JSON report (violations + summary)"},
		{.name = "target", .kind = CM_OPTION_STRING, .to.string = &url,
		 .arg = "imap://USER:PASS@HOST:PORT", .help = "the server a command order of "
		 "`explore --target` runs against\n(its replay file keeps no password)"},
	};
	cm_options cmdline = {.program = "ratchet", .command = "replay", .options = table,
			   .noptions = CM_ARRAY_LEN(table), .args = &file, .nargs = 1,
			   .args_name = "FILE"};
	cm_options_result parsed = cm_options_parse(&cmdline, argc, argv);
	if (parsed != CM_OPTIONS_OK)
		return cm_options_exit(parsed);
	rt_path paths[] = {
		{"the replay file", file, true}, {"--history", history, false},
		{"--report", report, false},
	};
	if (rt_paths_refuse("replay", paths, CM_ARRAY_LEN(paths)) != CM_EXIT_CLEAN)
		return CM_EXIT_USAGE;
	rt_replay rp;
	unsigned mutants;
	if (load_replay(file, &rp, &mutants) != 0)
		return CM_EXIT_USAGE;

	bool explore = strcmp(rp.target, "explore") == 0;
	if (explore && rp.server[0] != '\0') {
		/* Its verdict is the explore report's; the history is the record. */
		int rc = report != NULL ? (cm_error("replay: %s: --report is not for a command "
					  "order (use --history)", file), CM_EXIT_USAGE)
			 : rt_replay_explore_target(file, &rp, url, history);
		rt_replay_free(&rp);
		return rc;
	}
	if (url != NULL) {
		cm_error("replay: %s: --target is for a command order against a real server, "
			 "which this file is not", file);
		rt_replay_free(&rp);
		return CM_EXIT_USAGE;
	}
	FILE *hf = NULL;
	model_history_writer *hw = NULL;
	if (history != NULL && open_history(history, &rp, explore ? "explore replay" :
					    "sim replay", &hf, &hw) != 0) {
		rt_replay_free(&rp);
		return CM_EXIT_USAGE;
	}
	int rc = explore ? rt_replay_explore(file, &rp, mutants, hw)
			 : replay_sim(file, &rp, mutants, hw, report);
	rt_replay_free(&rp);
	if (hw != NULL)
		model_history_writer_finish(hw);
	if (hf != NULL)
		fclose(hf);
	return rc;
}
