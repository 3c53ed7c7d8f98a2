/* Executions per second of every fuzz target:
 *   fuzz.<t>.execs       fuzz_<t>_corpus beside ratchet (every build has
 *                        them) running the committed corpus
 *                        fuzz/corpus/<t>/ round-robin;
 *   fuzz.<t>.execs.asan  with $RATCHET_BENCH_FUZZ_BUILD naming a libFuzzer
 *                        build (preset fuzz: ASan + UBSan + coverage), its
 *                        fuzz_<t> fuzzing a copy of the corpus through
 *                        fuzz/run.sh: what a fuzzing run gets;
 *   fuzz.<t>.execs.fast  the same with $RATCHET_BENCH_FUZZ_FAST_BUILD naming
 *                        a throughput build (preset fuzz-fast: coverage
 *                        only, no comparison tracing).
 * A target whose program or corpus is missing is skipped, and said so. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RATCHET_SOURCE_DIR
#define RATCHET_SOURCE_DIR "."
#endif

/* fuzz.<t>.execs.<kind> through fuzz/run.sh (one way to run libFuzzer
 * with a target's options) on the build $env names, read from the log it
 * leaves. 0 (also when env is unset), or -1 after an error line. */
static int bench_libfuzzer(rt_bench *b, const char *t, const char *env, const char *kind)
{
	const char *build = getenv(env);
	char name[96], bin[PATH_MAX + 64], work[] = "/tmp/ratchet-bench-fuzz.XXXXXX";
	snprintf(name, sizeof(name), "fuzz.%s.execs.%s", t, kind);
	snprintf(bin, sizeof(bin), "%s/fuzz_%s", build ? build : "", t);
	if (build == NULL || !rt_bench_wanted(b, name) || access(bin, X_OK) != 0)
		return 0;
	if (mkdtemp(work) == NULL)
		return cm_error("bench: %s: mkdtemp: %s", name, strerror(errno)), -1;
	char script[PATH_MAX], secs[16], out[256], log[PATH_MAX + 128];
	snprintf(script, sizeof(script), "%s/fuzz/run.sh", RATCHET_SOURCE_DIR);
	snprintf(secs, sizeof(secs), "%d", b->quick ? 2 : 10);
	setenv("RATCHET_FUZZ_BUILD", build, 1);
	setenv("RATCHET_FUZZ_WORK", work, 1);
	char *argv[] = {"/bin/sh", script, (char *)t, secs, NULL};
	int rc = rt_bench_run_capture(argv, out, sizeof(out), true);
	snprintf(log, sizeof(log), "%s/%s/fuzz.log", work, t);
	double rate = -1;
	FILE *f = fopen(log, "r");
	char line[512];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "stat::average_exec_per_sec:", 27) == 0)
			rate = strtod(line + 27, NULL);
	if (f != NULL)
		fclose(f);
	rt_bench_remove_dir(work);
	if (rc != 0 || rate < 0)
		return cm_error("bench: %s: fuzz/run.sh exited %d", name, rc), -1;
	rt_bench_add(b, name, "exec/s", rate);
	return 0;
}

/* One target: fuzz_<t>_corpus --bench SECONDS <corpus>. 0, or -1 after
 * an error line. */
static int bench_target(rt_bench *b, const char *bin, const char *t)
{
	char name[96], corpus[PATH_MAX], secs[16], out[512];
	snprintf(name, sizeof(name), "fuzz.%s.execs", t);
	if (!rt_bench_wanted(b, name))
		return 0;
	snprintf(corpus, sizeof(corpus), "%s/fuzz/corpus/%s", RATCHET_SOURCE_DIR, t);
	struct stat st;
	if (stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ratchet: bench: %s skipped: no corpus %s\n", name, corpus);
		return 0;
	}
	snprintf(secs, sizeof(secs), "%.1f", b->quick ? 0.2 : 3.0);
	char *argv[] = {(char *)bin, "--bench", secs, corpus, NULL};
	int rc = rt_bench_run_capture(argv, out, sizeof(out), true);
	const char *v = strstr(out, "\"exec_per_sec\": ");
	if (rc != 0 || v == NULL) {
		cm_error("bench: %s: %s exited %d", name, bin, rc);
		return -1;
	}
	rt_bench_add(b, name, "exec/s", strtod(v + strlen("\"exec_per_sec\": "), NULL));
	if (bench_libfuzzer(b, t, "RATCHET_BENCH_FUZZ_BUILD", "asan") < 0)
		return -1;
	return bench_libfuzzer(b, t, "RATCHET_BENCH_FUZZ_FAST_BUILD", "fast");
}

int rt_bench_fuzz(rt_bench *b)
{
	if (!rt_bench_wanted(b, "fuzz."))
		return 0;
	char dir[PATH_MAX];
	rt_bench_self_path(dir, sizeof(dir), ".");
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort), rc = 0, found = 0;
	for (int i = 0; i < n; i++) {
		const char *f = list[i]->d_name;
		size_t len = strlen(f);
		if (strncmp(f, "fuzz_", 5) == 0 && len > 12 && len < 60 &&
		    strcmp(f + len - 7, "_corpus") == 0) {
			char t[64], bin[PATH_MAX + 64];
			snprintf(t, sizeof(t), "%.*s", (int)(len - 12), f + 5);
			snprintf(bin, sizeof(bin), "%s/%s", dir, f);
			rc |= bench_target(b, bin, t);
			found++;
		}
		free(list[i]);
	}
	free(list);
	if (found == 0)
		fprintf(stderr, "ratchet: bench: fuzz.* skipped: no fuzz_*_corpus beside ratchet\n");
	return rc;
}
