/* `ratchet check HISTORY.jsonl`: the checker on a recorded history, from
 * any source that writes docs/history.md. */
#include "cli.h"
#include "html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each run of the stream through its own checker (declared in cli.h: the
 * history fuzz target runs this same code). */
int rt_check_stream(FILE *in, const char *file, bool no_derived, rt_report *r)
{
	int rc = CM_EXIT_CLEAN;
	cm_err err;
	uint32_t segment = 0;
	/* A file may hold several runs, each starting with its own header. */
	for (;;) {
		model_history_header h;
		model_history_reader *rd = model_history_reader_new(in, &h, &err);
		if (rd == NULL) {
			if (segment == 0 || !feof(in)) {
				cm_error("check: %s: %s", file, err.text);
				rc = CM_EXIT_USAGE;
			}
			break;
		}
		if (segment == 0) {
			r->seed = h.seed;
			r->capabilities = h.capabilities;
			snprintf(r->mutant, sizeof(r->mutant), "%s", h.mutant);
		}
		model_checker_options co = {.capabilities = h.capabilities,
					    .imap4rev2 = (h.capabilities & MODEL_CAP_IMAP4REV2) != 0,
					    .no_derived = no_derived, .max_violations = 1000};
		model_checker *c = model_checker_new(&co);
		rt_salvage_now.checker = c;
		rt_salvage_now.segment = segment;
		model_event ev;
		model_event_init(&ev);
		model_history_got got;
		while ((got = model_history_read(rd, &ev, &err)) ==
		       MODEL_HISTORY_EVENT)
			model_checker_feed(c, &ev);
		model_event_free(&ev);
		bool next_segment = got == MODEL_HISTORY_NEXT_RUN;
		if (got == MODEL_HISTORY_ERROR) {
			cm_error("check: %s: %s", file, err.text);
			rc = CM_EXIT_USAGE;
		}
		model_checker_finish(c);
		rt_salvage_now.checker = NULL; /* added now */
		rt_report_add_checker(r, segment, c);
		r->runs++;
		model_checker_free(c);
		model_history_reader_free(rd);
		segment++;
		if (!next_segment || rc != CM_EXIT_CLEAN)
			break;
	}
	return rc;
}

/* --html: the page of the run of the first error (else of the first
 * violation, else the first run), with that run's violations. 0, or -1
 * after the error line. */
static int write_html(const char *html, const char *file, const rt_report *r)
{
	size_t first = 0;
	while (first < r->nv && r->v[first].severity != MODEL_SEV_ERROR)
		first++;
	if (first == r->nv)
		first = 0;
	uint32_t segment = r->nv > 0 ? r->v_run[first] : 0;
	model_violation *v = cm_xmalloc((r->nv + 1) * sizeof(*v));
	size_t nv = 0;
	for (size_t i = 0; i < r->nv; i++)
		if (r->v_run[i] == segment)
			v[nv++] = r->v[i];
	cm_buf title = {0};
	cm_buf_printf(&title, "run %" PRIu32 " of %s", segment + 1, file);
	rt_html_info info = {.title = title.data};
	FILE *in = fopen(file, "r");
	cm_err err;
	int rc = 0;
	if (in == NULL) {
		cm_error("check: --html: cannot read %s: %s", file, strerror(errno));
		rc = -1;
	} else if (rt_html_write(html, in, segment, v, nv, &info, &err) != 0) {
		cm_error("check: --html: %s", err.text);
		rc = -1;
	}
	if (in != NULL)
		fclose(in);
	free(v);
	cm_buf_free(&title);
	return rc;
}

int rt_cmd_check(int argc, char **argv)
{
	const char *file = NULL, *report = NULL, *junit = NULL, *html = NULL;
	bool no_derived = false, quiet = false;
	const cm_option table[] = {
		{.name = "report", .kind = CM_OPTION_STRING, .to.string = &report,
		 .arg = "OUT.json", .help = "JSON report (violations + summary)"},
		{.name = "junit", .kind = CM_OPTION_STRING, .to.string = &junit,
		 .arg = "OUT.xml", .help = "JUnit XML, one testcase per invariant family"},
		{.name = "html", .kind = CM_OPTION_STRING, .to.string = &html,
		 .arg = "OUT.html", .help = "the failing run as a timeline in one HTML file\n"
		 "(README, \"The HTML timeline\"; not for a history on stdin)"},
		{.name = "no-derived", .to.flag = &no_derived,
		 .help = "switch the DERIVED rules off (docs/invariants.md)"},
		{.name = "quiet", .to.flag = &quiet, .help = "the summary only, not each violation"},
	};
	cm_options cmdline = {.program = "ratchet", .command = "check", .options = table,
			   .noptions = CM_ARRAY_LEN(table), .args = &file, .nargs = 1,
			   .args_name = "HISTORY.jsonl"};
	cm_options_result parsed = cm_options_parse(&cmdline, argc, argv);
	if (parsed != CM_OPTIONS_OK)
		return cm_options_exit(parsed);
	rt_path paths[] = {
		{"the history", file, true}, {"--report", report, false}, {"--junit", junit, false},
		{"--html", html, false},
	};
	if (rt_paths_refuse("check", paths, CM_ARRAY_LEN(paths)) != CM_EXIT_CLEAN)
		return CM_EXIT_USAGE;
	if (html != NULL && strcmp(file, "-") == 0) {
		cm_error("check: --html needs a history file, not stdin (it reads the history "
			 "again to draw the page)");
		return CM_EXIT_USAGE;
	}
	FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (in == NULL) {
		cm_error("check: cannot read %s: %s", file, strerror(errno));
		return CM_EXIT_USAGE;
	}
	uint64_t start = cm_now_ns();
	rt_report r;
	rt_report_init(&r, 0, file);
	rt_salvage_now.report = &r;
	rt_salvage_now.report_path = report;
	rt_salvage_now.junit_path = junit;
	int rc = rt_check_stream(in, file, no_derived, &r);
	if (in != stdin)
		fclose(in);
	r.seconds = (double)(cm_now_ns() - start) / 1e9;
	if (rc == CM_EXIT_CLEAN) {
		if (!quiet)
			for (size_t i = 0; i < r.nv; i++)
				rt_violation_print(&r.v[i], stdout, isatty(1));
		rt_report_print(&r, stdout, isatty(1));
		if (report != NULL && rt_report_write_json(&r, report) != 0)
			rc = CM_EXIT_USAGE;
		if (junit != NULL && rt_report_write_junit(&r, junit) != 0)
			rc = CM_EXIT_USAGE;
		if (html != NULL && write_html(html, file, &r) != 0)
			rc = CM_EXIT_USAGE;
		if (rc == CM_EXIT_CLEAN && r.errors > 0)
			rc = CM_EXIT_VIOLATIONS;
	}
	rt_salvage_now.report = NULL;
	rt_report_free(&r);
	return rc;
}
