/* rt: the ratchet harness — commands, benchmarks, and (as they land) choice
 * sources, workloads, drivers, targets, recorder, shrinker and reports. */
#ifndef RT_H
#define RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* Exit codes shared by every command (see the brief). */
enum {
	RT_EXIT_CLEAN = 0,
	RT_EXIT_VIOLATIONS = 1,
	RT_EXIT_USAGE = 2,
	RT_EXIT_INTERNAL = 3,
};

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
	bool verbose;
} rt_bench;

void rt_bench_add(rt_bench *b, const char *name, const char *unit, double value);
bool rt_bench_wanted(const rt_bench *b, const char *name);
/* Each suite adds its figures; nonzero on an internal failure. */
int rt_bench_store(rt_bench *b);

/* ---- commands (argv[0] is the subcommand name) ---- */
int rt_cmd_bench(int argc, char **argv);

/* One-line error to stderr in the shape every command uses. */
void rt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
