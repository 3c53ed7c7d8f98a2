/* `ratchet run`: the main job. Without --target, a campaign of simulated
 * runs on the embedded reference store: each run draws its own shape (swarm
 * testing) from a seed derived from the campaign's seed, which is printed
 * first. On the first failing run the campaign stops (unless --keep-going),
 * shrinks the run and writes replay files. */
#include "cli.h"
#include "html.h"
#include "wire.h"
#include "rs.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_OPS 2000

/* ---- progress ---- */

typedef struct progress {
	bool on;
	uint64_t start, last;
} progress;

static void progress_show(progress *p, const rt_report *r, bool force)
{
	if (!p->on)
		return;
	uint64_t now = cm_now_ns();
	if (!force && now - p->last < 200000000u)
		return;
	p->last = now;
	double el = (double)(now - p->start) / 1e9;
	fprintf(stderr, "\r  run %" PRIu64 "  ops %" PRIu64 "  %.0f ops/s  faults %" PRIu64
		"  violations %" PRIu64 "   ", r->runs, r->ops,
		el > 0 ? (double)r->ops / el : 0.0,
		r->faults[1] + r->faults[2] + r->faults[3] + r->faults[4] + r->faults[5],
		r->errors + r->warnings);
	fflush(stderr);
}

/* ---- shrinking ---- */

/* Replay files go beside the report, or in the working directory; the
 * directory's name leaves room for a file name in a 512-byte path. */
#define REPLAY_DIR_MAX 400

static void replay_dir(const rt_opts *o, char *dir, size_t size)
{
	snprintf(dir, size, ".");
	if (o->report != NULL) {
		char *copy = cm_xstrdup(o->report);
		snprintf(dir, size, "%s", dirname(copy));
		free(copy);
	}
}

static void replay_path(char *out, size_t size, const rt_opts *o, uint64_t seed,
			uint64_t run, const char *suffix)
{
	char dir[REPLAY_DIR_MAX];
	replay_dir(o, dir, sizeof(dir));
	snprintf(out, size, "%s/ratchet-%" PRIu64 "-run%" PRIu64 "%s.replay.json", dir, seed,
		 run, suffix);
}

/* The replay file of spec's run, or with tape of its shrunk form; either
 * carries the shape that run drew. */
static void write_replay(const char *path, const rt_opts *o, const rt_run_spec *spec,
			 const uint64_t *tape, size_t ntape, model_inv inv)
{
	rt_run_spec drawn = *spec;
	if (tape != NULL) {
		drawn.tape = tape;
		drawn.ntape = ntape;
	}
	rt_shape shape;
	rt_run_spec_shape(&drawn, &shape);
	rt_replay rp;
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.target, sizeof(rp.target), "sim");
	rp.seed = spec->seed;
	rp.clients = spec->clients;
	rp.replicas = spec->replicas;
	rp.ops = spec->ops;
	snprintf(rp.mutant, sizeof(rp.mutant), "%s", o->mutant ? o->mutant : "");
	snprintf(rp.expect, sizeof(rp.expect), "%s", model_inv_get(inv)->id);
	rp.tape = (uint64_t *)tape;
	rp.ntape = ntape;
	rp.shape = &shape;
	if (rt_replay_write(path, &rp) != 0)
		cm_error("cannot write %s", path);
}


/* ---- the HTML timeline (--html) ---- */

/* Whether the page was written, and whether writing it failed. */
typedef struct html_state {
	bool written, failed;
} html_state;

/* The page of spec's run (with tape: of its shrunk form), run again with
 * its history in a temporary file: the same tape gives the same run. */
static void write_html(const rt_opts *o, const rt_run_spec *spec, const uint64_t *tape,
		       size_t ntape, uint64_t run, const char *replay, html_state *hs)
{
	rt_run_spec s = *spec;
	if (tape != NULL) {
		s.tape = tape;
		s.ntape = ntape;
	}
	hs->written = true;
	FILE *tmp = tmpfile();
	if (tmp == NULL) {
		cm_error("run: --html: cannot make a temporary file: %s", strerror(errno));
		hs->failed = true;
		return;
	}
	model_history_header h = {.version = 1, .seed = spec->seed, .capabilities = RT_SIM_CAPS};
	snprintf(h.target, sizeof(h.target), "sim run %" PRIu64, run);
	snprintf(h.mutant, sizeof(h.mutant), "%s", o->mutant ? o->mutant : "");
	model_history_writer *hw = model_history_writer_new(tmp, &h);
	rt_run_out out;
	int rc = rt_run_sim(&s, false, hw, &out);
	if (model_history_writer_finish(hw) != 0)
		rc = -1;
	cm_buf shape = {0}, title = {0}, cmd = {0};
	rt_shape_format(&out.cfg, &shape);
	cm_buf_printf(&title, "%s of run %" PRIu64 " (seed %" PRIu64 ")",
		      tape ? "the minimal failing case" : "the failing run", run, spec->seed);
	cm_buf_printf(&cmd, "ratchet replay %s", replay);
	rt_html_info info = {.title = title.data, .target = "sim (the embedded reference store)",
			     .shape = shape.data, .replay = cmd.data};
	cm_err err;
	if (rc != 0) {
		cm_error("run: --html: the run could not be recorded again");
		hs->failed = true;
	} else if (rt_html_write(o->html, tmp, 0, out.v, out.nv, &info, &err) != 0) {
		cm_error("run: --html: %s", err.text);
		hs->failed = true;
	}
	fclose(tmp);
	rt_run_out_free(&out);
	cm_buf_free(&shape);
	cm_buf_free(&title);
	cm_buf_free(&cmd);
}

/* A page without a timeline, when no run failed; with --target, the page
 * of the recorded history. */
static void write_html_end(const rt_opts *o, const rt_report *r, html_state *hs)
{
	if (o->html == NULL || hs->written)
		return;
	FILE *in = o->target != NULL ? fopen(o->history, "r") : NULL;
	rt_html_info info = {.title = o->target ? "the run" : "no failing run",
			     .target = r->target};
	cm_err err;
	if (o->target != NULL && in == NULL) {
		cm_error("run: --html: cannot read %s: %s", o->history, strerror(errno));
		hs->failed = true;
	} else if (rt_html_write(o->html, in, 0, r->v, r->nv, &info, &err) != 0) {
		cm_error("run: --html: %s", err.text);
		hs->failed = true;
	}
	if (in != NULL)
		fclose(in);
}

static void shrink_failure(const rt_opts *o, rt_report *r, const rt_run_spec *spec,
			   uint64_t run, const rt_run_out *failed, html_state *hs)
{
	model_inv inv = rt_run_first_error(failed);
	replay_path(r->replay, sizeof(r->replay), o, r->seed, run, "");
	write_replay(r->replay, o, spec, NULL, 0, inv);
	if (o->no_shrink) {
		if (o->html != NULL)
			write_html(o, spec, NULL, 0, run, r->replay, hs);
		return;
	}
	rt_shrink_result sr;
	if (!o->quiet)
		fprintf(stderr, "shrinking the failing run (%s, %" PRIu64 " ops)...\n",
			model_inv_get(inv)->id, failed->sim.ops);
	if (rt_shrink_run(spec, inv, o->shrink_seconds, &sr) == 0) {
		replay_path(r->minimal_replay, sizeof(r->minimal_replay), o, r->seed, run, "-min");
		write_replay(r->minimal_replay, o, spec, sr.tape, sr.n, inv);
		r->shrunk = true;
		r->original_ops = failed->sim.ops;
		r->minimal_ops = sr.ops;
		r->shrink_attempts = sr.attempts;
		if (o->html != NULL)
			write_html(o, spec, sr.tape, sr.n, run, r->minimal_replay, hs);
		free(sr.tape);
	} else if (o->html != NULL) {
		write_html(o, spec, NULL, 0, run, r->replay, hs);
	}
}

/* ---- the campaign on the embedded store ---- */

static int campaign(const rt_opts *o, rt_report *r, html_state *hs)
{
	rt_history_file hf;
	if (rt_history_file_open(&hf, o->history) < 0)
		return CM_EXIT_USAGE;
	FILE *hist = hf.f;
	rt_salvage_now.history = hist;
	progress pg = {.on = !o->quiet && isatty(2), .start = cm_now_ns()};
	uint64_t deadline = pg.start + (uint64_t)(o->seconds * 1e9);
	int rc = CM_EXIT_CLEAN;
	for (uint64_t run = 0; ; run++) {
		if ((o->runs && run >= o->runs) || r->ops >= o->ops ||
		    (run > 0 && cm_now_ns() > deadline))
			break;
		rt_run_spec spec = {
			.seed = rt_derive_seed(r->seed, run), .clients = o->clients,
			.replicas = o->replicas,
			.ops = CM_MIN((uint64_t)RUN_OPS, o->ops - r->ops), .mutants = o->mutants,
		};
		model_history_writer *hw = NULL;
		if (hist != NULL) {
			model_history_header h = {.version = 1, .seed = spec.seed,
						  .capabilities = RT_SIM_CAPS};
			snprintf(h.target, sizeof(h.target), "sim run %" PRIu64, run);
			snprintf(h.mutant, sizeof(h.mutant), "%s", o->mutant ? o->mutant : "");
			hw = model_history_writer_new(hist, &h);
		}
		rt_run_out out;
		int err = rt_run_sim(&spec, false, hw, &out);
		if (hw != NULL)
			model_history_writer_finish(hw);
		if (err != 0) {
			cm_error("run %" PRIu64 ": simulator set-up failed", run);
			rt_run_out_free(&out);
			rc = CM_EXIT_INTERNAL;
			break;
		}
		rt_report_add_run(r, (uint32_t)run, &out);
		r->seconds = (double)(cm_now_ns() - pg.start) / 1e9;
		progress_show(&pg, r, false);
		bool failed = out.stats.errors > 0;
		if (failed && r->replay[0] == '\0') {
			progress_show(&pg, r, true);
			if (pg.on)
				fputc('\n', stderr);
			for (size_t i = 0; i < out.nv && i < 5; i++)
				rt_violation_print(&out.v[i], stdout, isatty(1));
			shrink_failure(o, r, &spec, run, &out, hs);
		}
		rt_run_out_free(&out);
		if (failed && !o->keep_going)
			break;
	}
	progress_show(&pg, r, true);
	if (pg.on)
		fputc('\n', stderr);
	rt_salvage_now.history = NULL;
	rt_history_file_close(&hf);
	r->seconds = (double)(cm_now_ns() - pg.start) / 1e9;
	return rc;
}

static int finish_report(const rt_opts *o, rt_report *r, int rc, html_state *hs)
{
	rt_report_print(r, stdout, isatty(1));
	write_html_end(o, r, hs);
	if (hs->failed)
		rc = CM_EXIT_USAGE;
	if (o->report != NULL && rt_report_write_json(r, o->report) != 0) {
		cm_error("cannot write %s", o->report);
		rc = CM_EXIT_USAGE;
	}
	if (o->junit != NULL && rt_report_write_junit(r, o->junit) != 0) {
		cm_error("cannot write %s", o->junit);
		rc = CM_EXIT_USAGE;
	}
	if (r->failure[0] != '\0')
		cm_error("%s", r->failure);
	if (rc == CM_EXIT_CLEAN && (r->errors > 0 || r->failure[0] != '\0'))
		rc = CM_EXIT_VIOLATIONS;
	return rc;
}

/* Every output, before the run: a bad path fails now, not after hours. */
static int check_outputs(const rt_opts *o)
{
	char dir[REPLAY_DIR_MAX];
	replay_dir(o, dir, sizeof(dir));
	rt_path paths[] = {
		{"--history", o->history, false},
		{"--report", o->report, false},
		{"--junit", o->junit, false},
		{"--html", o->html, false},
	};
	if (rt_paths_refuse("run", paths, CM_ARRAY_LEN(paths)) != CM_EXIT_CLEAN)
		return CM_EXIT_USAGE;
	/* Replay files of a failing simulated run go beside the report. */
	if (o->target == NULL && access(dir, W_OK | X_OK) != 0) {
		cm_error("run: cannot write replay files in %s: %s", dir, strerror(errno));
		return CM_EXIT_USAGE;
	}
	return CM_EXIT_CLEAN;
}

int rt_cmd_run(int argc, char **argv)
{
	rt_opts o;
	int prc = rt_opts_parse(&o, argc, argv);
	if (prc >= 0)
		return prc;
	if (check_outputs(&o) != CM_EXIT_CLEAN)
		return CM_EXIT_USAGE;
	printf("ratchet: seed %" PRIu64 "\n", o.seed);
	fflush(stdout);
	rt_report r;
	rt_report_init(&r, o.seed, o.target ? o.target_display : "sim");
	snprintf(r.mutant, sizeof(r.mutant), "%s", o.mutant ? o.mutant : "");
	rt_salvage_now.report = &r;
	rt_salvage_now.report_path = o.report;
	rt_salvage_now.junit_path = o.junit;
	int rc;
	html_state hs = {0};
	if (o.target != NULL) {
		rc = rt_wire_campaign(&o, &r);
	} else {
		r.capabilities = RT_SIM_CAPS;
		rc = campaign(&o, &r, &hs);
	}
	rt_salvage_now.report = NULL; /* finish_report writes it */
	if (rc == CM_EXIT_USAGE) {
		rt_report_free(&r);
		return rc;
	}
	rc = finish_report(&o, &r, rc, &hs);
	rt_report_free(&r);
	return rc;
}
