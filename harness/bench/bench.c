/* `ratchet bench`: runs the benchmark suites and prints their figures, as a
 * table or as one JSON object {"results": [{"name", "unit", "value"}]}. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "bench.h"

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

void rt_bench_add(rt_bench *b, const char *name, const char *unit, double value)
{
	/* A suite measures its figures together; --only keeps the asked ones. */
	if (b->only != NULL && strncmp(name, b->only, strlen(b->only)) != 0)
		return;
	CM_GROW(b->v, b->cap, b->n + 1);
	rt_bench_result *r = &b->v[b->n++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->unit = unit;
	r->value = value;
	/* Two decimals below 10, for ratios (wire.imaptest.ratio, 0.56). */
	if (b->verbose)
		fprintf(stderr, "  %-28s %14.*f %s\n", name, value < 10 && value > -10 ? 2 : 1,
			value, unit);
}

bool rt_bench_wanted(const rt_bench *b, const char *name)
{
	/* "sim." is wanted by --only sim, --only sim. and --only sim.ops. */
	if (b->only == NULL)
		return true;
	size_t n = CM_MIN(strlen(name), strlen(b->only));
	return strncmp(name, b->only, n) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void rt_bench_remove_dir(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void rt_bench_self_path(char *out, size_t len, const char *sibling)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (sibling == NULL)
		snprintf(out, len, "%s", exe);
	else
		snprintf(out, len, "%s/%s", dirname(exe), sibling);
}

int rt_bench_run_capture(char *const argv[], char *out, size_t outlen, bool quiet)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(fd[1], STDOUT_FILENO);
		if (quiet)
			dup2(null, STDERR_FILENO);
		close(fd[0]);
		close(fd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	/* Keep what fits; read the rest away so the child never blocks. */
	size_t len = 0;
	char sink[512];
	ssize_t n;
	while ((n = read(fd[0], len + 1 < outlen ? out + len : sink,
			 len + 1 < outlen ? outlen - 1 - len : sizeof(sink))) > 0)
		if (len + 1 < outlen)
			len += (size_t)n;
	out[len] = '\0';
	close(fd[0]);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int rt_cmd_bench(int argc, char **argv)
{
	rt_bench b = {.dir = "/var/tmp", .dovecot = getenv("RATCHET_BENCH_DOVECOT"),
		      .dovecot_lmtp = getenv("RATCHET_BENCH_DOVECOT_LMTP"),
		      .imaptest = getenv("RATCHET_BENCH_IMAPTEST")};
	bool json = false;
	const cm_option table[] = {
		{.name = "json", .to.flag = &json, .help = "print one JSON object {\"results\": [...]}"},
		{.name = "quick", .to.flag = &b.quick,
		 .help = "short runs (smoke test; figures are rough)"},
		{.name = "only", .kind = CM_OPTION_STRING, .to.string = &b.only, .arg = "PREFIX",
		 .help = "only benchmarks whose name starts with PREFIX"},
		{.name = "dir", .kind = CM_OPTION_STRING, .to.string = &b.dir, .arg = "DIR",
		 .help = "real directory for the .disk figures (default /var/tmp)"},
		{.name = "dovecot", .kind = CM_OPTION_STRING, .to.string = &b.dovecot, .arg = "URL",
		 .help = "imap://USER:PASS@127.0.0.1:PORT of a local Dovecot for\n"
		 "wire.dovecot.* (default $RATCHET_BENCH_DOVECOT; none: skipped)"},
		{.name = "dovecot-lmtp", .kind = CM_OPTION_STRING, .to.string = &b.dovecot_lmtp,
		 .arg = "URL", .help = "lmtp://127.0.0.1:PORT of that Dovecot for\n"
		 "wire.dovecot.lmtp.* (default $RATCHET_BENCH_DOVECOT_LMTP)"},
		{.name = "imaptest", .kind = CM_OPTION_STRING, .to.string = &b.imaptest,
		 .arg = "PATH", .help = "a locally built imaptest for wire.imaptest.*\n"
		 "(default $RATCHET_BENCH_IMAPTEST; none: skipped)"},
	};
	cm_options cmdline = {.program = "ratchet", .command = "bench", .options = table,
			      .noptions = CM_ARRAY_LEN(table)};
	cm_options_result parsed = cm_options_parse(&cmdline, argc, argv);
	if (parsed != CM_OPTIONS_OK)
		return cm_options_exit(parsed);
	b.verbose = !json;
	int rc = rt_bench_store(&b);
	rc |= rt_bench_sim(&b);
	rc |= rt_bench_explore(&b);
	rc |= rt_bench_history(&b);
	rc |= rt_bench_client(&b);
	rc |= rt_bench_fuzz(&b);
	rc |= rt_bench_wire(&b);
	if (json) {
		json_t *results = json_array();
		for (size_t i = 0; i < b.n; i++)
			json_array_append_new(results,
				json_pack("{s:s, s:s, s:f}", "name", b.v[i].name,
					  "unit", b.v[i].unit, "value", b.v[i].value));
		json_t *top = json_pack("{s:o}", "results", results);
		char *text = json_dumps(top, JSON_INDENT(1));
		puts(text);
		free(text);
		json_decref(top);
	}
	free(b.v);
	return rc ? CM_EXIT_INTERNAL : CM_EXIT_CLEAN;
}
