/* wire.* benchmarks: `ratchet run --target` (10 clients, every command
 * recorded and checked online) as a child process, against ratchet-imapd
 * started here over a scratch root on disk, and against the Dovecot URL
 * given with --dovecot (`make bench` starts one: scripts/bench.sh).
 *
 * Figures per target T: wire.T.ops (the run's commands per second) and
 * wire.T.harness_cpu (ratchet's CPU seconds over the whole machine's busy
 * CPU seconds while it ran: the harness's share, the server has the rest
 * on an otherwise idle machine). A run that reports violations gives no
 * figure: it is a failure.
 *
 * With an imaptest binary (--imaptest or $RATCHET_BENCH_IMAPTEST; imaptest
 * is Dovecot's load tool, built by the user: README, Benchmarks), the
 * wire.imaptest.* figures are the medians scripts/wire_vs_imaptest.py
 * prints: ratchet and imaptest alternating on a Dovecot it starts, their
 * commands/s (.ratchet.ops, .imaptest.ops), the ratio ratchet/imaptest
 * (.ratio) and each one's CPU per 1,000 commands (.ratchet.cpu,
 * .imaptest.cpu). */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define WIRE_CLIENTS "10"

#ifndef RATCHET_SOURCE_DIR
#define RATCHET_SOURCE_DIR "."
#endif

/* Busy jiffies of all CPUs (/proc/stat's first line, less idle and
 * iowait); 0 if unreadable. */
static unsigned long long cpu_busy_jiffies(void)
{
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return 0;
	unsigned long long v[8] = {0}, busy = 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	for (int i = 0; n >= 4 && i < 8; i++)
		busy += i == 3 || i == 4 ? 0 : v[i];
	return busy;
}

static double child_cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Runs ratchet run against url (deliveries by deliver, NULL: IMAP
 * APPEND); adds wire.<name>.ops and .harness_cpu, and with deliver
 * .deliveries (acknowledged deliveries per second). 0, or -1 after an
 * error line. */
static int wire_run(rt_bench *b, const char *name, const char *url, const char *deliver,
		    const char *scratch)
{
	char self[PATH_MAX], report[PATH_MAX + 80], secs[16];
	rt_bench_self_path(self, sizeof(self), NULL);
	snprintf(report, sizeof(report), "%s/%s.json", scratch, name);
	snprintf(secs, sizeof(secs), "%d", b->quick ? 2 : 20);
	char *argv[] = {self, "run", "--quiet", "--target", (char *)url, "--clients",
			WIRE_CLIENTS, "--seconds", secs, "--seed", "1", "--report",
			report, deliver ? "--deliver" : NULL, (char *)deliver, NULL};
	unsigned long long busy0 = cpu_busy_jiffies();
	double cpu0 = child_cpu_seconds();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		execv(self, argv);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		cm_error("bench: cannot run %s: %s", self, strerror(errno));
		return -1;
	}
	double cpu = child_cpu_seconds() - cpu0;
	unsigned long long busy1 = cpu_busy_jiffies();
	json_t *r = json_load_file(report, 0, NULL);
	json_t *s = json_object_get(r, "summary");
	bool have_report = s != NULL;
	double ops = json_number_value(json_object_get(s, "ops_per_second"));
	json_int_t errors = json_integer_value(json_object_get(s, "errors"));
	double delivered = json_number_value(json_object_get(json_object_get(s, "deliveries"),
							     "per_second"));
	json_decref(r);
	if (!have_report || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		cm_error("bench: wire.%s: ratchet run exited %d (no report)", name,
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -1;
	}
	if (errors > 0) {
		cm_error("bench: wire.%s: the run reported %lld violations: no figure",
			 name, (long long)errors);
		return -1;
	}
	char key[64];
	snprintf(key, sizeof(key), "wire.%s.ops", name);
	rt_bench_add(b, key, "ops/s", ops);
	if (deliver != NULL) {
		snprintf(key, sizeof(key), "wire.%s.deliveries", name);
		rt_bench_add(b, key, "deliveries/s", delivered);
	}
	if (busy0 > 0 && busy1 > busy0) {
		double hz = (double)sysconf(_SC_CLK_TCK);
		snprintf(key, sizeof(key), "wire.%s.harness_cpu", name);
		rt_bench_add(b, key, "%", 100.0 * cpu / ((double)(busy1 - busy0) / hz));
	}
	return 0;
}

/* Starts ratchet-imapd on a free port over scratch/root, with its LMTP
 * listener: its pid, the URL in url, the LMTP one in lmtp and its stdout
 * in *out (kept open while it runs: a write to a closed pipe would kill
 * it); -1 after an error line. */
static pid_t imapd_start(const char *scratch, char *url, size_t len, char *lmtp, FILE **out)
{
	char bin[PATH_MAX], root[PATH_MAX + 8];
	rt_bench_self_path(bin, sizeof(bin), "ratchet-imapd");
	snprintf(root, sizeof(root), "%s/root", scratch);
	int fds[2];
	if (access(bin, X_OK) != 0 || pipe(fds) != 0) {
		cm_error("bench: cannot start %s: %s", bin, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl(bin, bin, "--root", root, "--port", "0", "--user", "bench",
		      "--password", "bench", "--lmtp-port", "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[256] = "";
	int port = 0;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL &&
	       sscanf(line, "ratchet-imapd: listening on 127.0.0.1:%d", &port) != 1)
		;
	int lport = 0;
	if (f != NULL && fgets(line, sizeof(line), f) != NULL)
		sscanf(line, "ratchet-imapd: lmtp listening on 127.0.0.1:%d", &lport);
	*out = f;
	if (pid < 0 || port <= 0 || lport <= 0) {
		cm_error("bench: %s did not start", bin);
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	snprintf(url, len, "imap://bench:bench@127.0.0.1:%d", port);
	snprintf(lmtp, len, "lmtp://127.0.0.1:%d", lport);
	return pid;
}

/* The figures wire.imaptest.* and the keys of the script's "median". */
static const struct {
	const char *key, *name, *unit;
} imaptest_figures[] = {
	{"ratio", "wire.imaptest.ratio", "x"},
	{"ratchet_cmds_per_s", "wire.imaptest.ratchet.ops", "ops/s"},
	{"imaptest_cmds_per_s", "wire.imaptest.imaptest.ops", "ops/s"},
	{"ratchet_cpu_ms_per_1000", "wire.imaptest.ratchet.cpu", "ms/1000 ops"},
	{"imaptest_cpu_ms_per_1000", "wire.imaptest.imaptest.cpu", "ms/1000 ops"},
};

/* Runs scripts/wire_vs_imaptest.py --json (its stderr is ours: a failure
 * is its one line) and adds its medians. 0, or -1 after an error line. */
static int wire_imaptest(rt_bench *b)
{
	char self[PATH_MAX], script[PATH_MAX];
	rt_bench_self_path(self, sizeof(self), NULL);
	snprintf(script, sizeof(script), "%s/scripts/wire_vs_imaptest.py", RATCHET_SOURCE_DIR);
	char *argv[] = {"/usr/bin/python3", script, "--json", "--imaptest",
			(char *)b->imaptest, "--ratchet", self, "--clients", WIRE_CLIENTS,
			"--seconds", b->quick ? "2" : "20", "--rounds", b->quick ? "1" : "3",
			NULL};
	size_t cap = 1 << 16;
	char *out = malloc(cap);
	int rc = out ? rt_bench_run_capture(argv, out, cap, false) : -1;
	json_t *r = rc == 0 ? json_loads(out, 0, NULL) : NULL;
	json_t *m = json_object_get(r, "median");
	free(out);
	if (!json_is_object(m)) {
		json_decref(r);
		cm_error("bench: wire.imaptest: %s exited %d", script, rc);
		return -1;
	}
	for (size_t i = 0; i < CM_ARRAY_LEN(imaptest_figures); i++)
		rt_bench_add(b, imaptest_figures[i].name, imaptest_figures[i].unit,
			     json_number_value(json_object_get(m, imaptest_figures[i].key)));
	json_decref(r);
	return 0;
}

int rt_bench_wire(rt_bench *b)
{
	bool imapd = rt_bench_wanted(b, "wire.refimapd");
	bool dovecot = rt_bench_wanted(b, "wire.dovecot");
	bool imaptest = rt_bench_wanted(b, "wire.imaptest");
	if (imaptest && b->imaptest == NULL)
		fprintf(stderr, "  %-28s %14s (give --imaptest PATH of a locally built imaptest;"
			" README, Benchmarks)\n", "wire.imaptest.ratio", "skipped");
	int rc = imaptest && b->imaptest != NULL ? wire_imaptest(b) : 0;
	if (!imapd && !dovecot)
		return rc;
	char scratch[PATH_MAX];
	snprintf(scratch, sizeof(scratch), "%s/ratchet-bench-wire-XXXXXX", b->dir);
	if (mkdtemp(scratch) == NULL) {
		cm_error("bench: cannot make a folder in %s: %s", b->dir, strerror(errno));
		return -1;
	}
	if (imapd) {
		char url[128], lmtp[128];
		FILE *out = NULL;
		pid_t pid = imapd_start(scratch, url, sizeof(url), lmtp, &out);
		rc |= pid < 0 ? -1 : wire_run(b, "refimapd", url, NULL, scratch);
		if (pid > 0 && rt_bench_wanted(b, "wire.refimapd.lmtp"))
			rc |= wire_run(b, "refimapd.lmtp", url, lmtp, scratch);
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
		if (out != NULL)
			fclose(out);
	}
	if (dovecot && b->dovecot == NULL)
		fprintf(stderr, "  %-28s %14s (give --dovecot imap://USER:PASS@127.0.0.1:PORT;"
			" make bench starts one)\n", "wire.dovecot.ops", "skipped");
	else if (dovecot)
		rc |= wire_run(b, "dovecot", b->dovecot, NULL, scratch);
	if (dovecot && b->dovecot != NULL && b->dovecot_lmtp != NULL)
		rc |= wire_run(b, "dovecot.lmtp", b->dovecot, b->dovecot_lmtp, scratch);
	rt_bench_remove_dir(scratch);
	return rc;
}

