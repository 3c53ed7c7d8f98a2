/* Standalone corpus main for a fuzz target: runs LLVMFuzzerTestOneInput on
 * every file named, recursing into directories (sorted, dot files skipped).
 * Built in every normal build, so ctest runs each committed corpus as a
 * regression test, and any crash file a fuzzer found can be re-run in a
 * debugger without libFuzzer or AFL++:
 *
 *   fuzz_T_corpus [-v] FILE|DIR...           run each input once
 *   fuzz_T_corpus --bench SECONDS FILE|DIR...  run them round-robin for
 *                                              SECONDS; print exec/s as JSON
 *
 * Exit status 0 when every input ran; a bug aborts (the path is printed). */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

typedef struct input {
	char *path;
	uint8_t *data;
	size_t len;
} input;

static input *inputs;
static size_t n_inputs, cap_inputs;
static const char *volatile current;

static void die_on_signal(int sig)
{
	/* Async-signal-safe: write(2) only, then the default action. */
	static const char pre[] = "fuzz corpus: crashed on input ";
	const char *p = current;
	if (p != NULL) {
		ssize_t r = write(2, pre, sizeof(pre) - 1);
		r = write(2, p, strlen(p));
		r = write(2, "\n", 1);
		(void)r;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "fuzz corpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0, n;
	uint8_t *buf = malloc(cap);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	/* Exactly len bytes, as libFuzzer does: ASan sees any overread. */
	uint8_t *exact = malloc(len ? len : 1);
	memcpy(exact, buf, len);
	free(buf);
	if (n_inputs == cap_inputs) {
		cap_inputs = cap_inputs ? cap_inputs * 2 : 64;
		inputs = realloc(inputs, cap_inputs * sizeof(*inputs));
	}
	inputs[n_inputs++] = (input){strdup(path), exact, len};
	return 0;
}

static int dot_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int load_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz corpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(path);
	struct dirent **names;
	int n = scandir(path, &names, dot_filter, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz corpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
		char *child = malloc(len);
		snprintf(child, len, "%s/%s", path, names[i]->d_name);
		rc |= load_path(child);
		free(child);
		free(names[i]);
	}
	free(names);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fputs("usage: fuzz_TARGET_corpus [-v] [--bench SECONDS] FILE|DIR...\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	double bench = 0;
	int verbose = 0, first = 1;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[first], "--bench") == 0 && first + 1 < argc)
			bench = atof(argv[++first]);
		else if (strcmp(argv[first], "--") == 0) {
			first++;
			break;
		} else
			return usage();
	}
	if (first >= argc)
		return usage();
	int rc = 0;
	for (int i = first; i < argc; i++)
		rc |= load_path(argv[i]);
	if (rc != 0)
		return 2;
	signal(SIGABRT, die_on_signal);
	signal(SIGSEGV, die_on_signal);
	signal(SIGBUS, die_on_signal);
	signal(SIGFPE, die_on_signal);
	signal(SIGILL, die_on_signal);

	size_t bytes = 0;
	double t0 = now_s();
	for (size_t i = 0; i < n_inputs; i++) {
		current = inputs[i].path;
		if (verbose)
			fprintf(stderr, "fuzz corpus: %s (%zu bytes)\n", inputs[i].path,
				inputs[i].len);
		LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].len);
		bytes += inputs[i].len;
	}
	double t1 = now_s();
	if (bench > 0 && n_inputs > 0) {
		/* Round-robin over the inputs until the time is up. */
		unsigned long long execs = 0;
		double start = now_s(), end = start + bench, t = start;
		while (t < end) {
			for (size_t i = 0; i < n_inputs; i++) {
				current = inputs[i].path;
				LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].len);
			}
			execs += n_inputs;
			t = now_s();
		}
		printf("{\"inputs\": %zu, \"execs\": %llu, \"seconds\": %.3f, "
		       "\"exec_per_sec\": %.1f}\n", n_inputs, execs, t - start,
		       (double)execs / (t - start));
	} else {
		printf("fuzz corpus: %zu inputs (%zu bytes) ran clean in %.3f s\n",
		       n_inputs, bytes, t1 - t0);
	}
	current = NULL;
	for (size_t i = 0; i < n_inputs; i++) {
		free(inputs[i].path);
		free(inputs[i].data);
	}
	free(inputs);
	return 0;
}
