/* `ratchet bench`: the benchmark suites and their figures. */
#ifndef RT_BENCH_H
#define RT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"

/* ---- benchmarks ---- */

typedef struct rt_bench_result {
	char name[64];
	const char *unit;
	double value;
} rt_bench_result;

typedef struct rt_bench {
	rt_bench_result *v;
	size_t n, cap;
	bool quick;          /* shorter runs, for smoke tests */
	const char *only;    /* run only benchmarks whose name starts so */
	const char *dir;     /* real directory for the .disk figures */
	const char *dovecot; /* imap:// URL for wire.dovecot (NULL: skipped) */
	const char *dovecot_lmtp; /* its LMTP, for wire.dovecot.lmtp (NULL: skipped) */
	const char *imaptest; /* imaptest binary for wire.imaptest (NULL: skipped) */
	bool verbose;
} rt_bench;

void rt_bench_add(rt_bench *b, const char *name, const char *unit, double value);
/* Whether a figure or suite named name (e.g. "sim.") is asked for: --only
 * absent, or one of name and --only a prefix of the other. */
bool rt_bench_wanted(const rt_bench *b, const char *name);
/* Each suite adds its figures; nonzero on an internal failure. */
int rt_bench_store(rt_bench *b);

/* The suites; each adds its figures, nonzero on an internal failure. */
int rt_bench_sim(rt_bench *b);
int rt_bench_history(rt_bench *b);
int rt_bench_wire(rt_bench *b);
int rt_bench_client(rt_bench *b);
int rt_bench_fuzz(rt_bench *b);
int rt_bench_explore(rt_bench *b);

/* The path of this program (sibling NULL) or of a file beside it, e.g.
 * "ratchet-imapd" in the same build folder. */
void rt_bench_self_path(char *out, size_t len, const char *sibling);
/* Runs argv with its stdout into out (at most outlen - 1 bytes kept, the
 * rest read away so that it never blocks) and its stderr to /dev/null when
 * quiet, else to ours. Returns the exit status, or -1 if it could not run. */
int rt_bench_run_capture(char *const argv[], char *out, size_t outlen, bool quiet);
/* Removes a scratch directory and everything under it (symlinks as names). */
void rt_bench_remove_dir(const char *dir);
/* `ratchet bench` (argv[0] is "bench"). */
int rt_cmd_bench(int argc, char **argv);

#endif
