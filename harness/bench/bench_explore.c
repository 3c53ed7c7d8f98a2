/* explore.execs: schedules run per second by `ratchet explore` (each a
 * scripted simulation judged by the checker), on the catalogue scenario
 * scenarios/unchangedsince-vs-store.scn at bound 1 (some 1,500 runs of
 * about 55 decisions with the sleep sets of docs/explore.md), walked again
 * until a second has passed so that the figure is not one short walk's;
 * explore.decisions: the branch points met per second. */
#include "bench.h"
#include "explore.h"

#include <stdio.h>

#ifndef RATCHET_SOURCE_DIR
#define RATCHET_SOURCE_DIR "."
#endif

int rt_bench_explore(rt_bench *b)
{
	if (!rt_bench_wanted(b, "explore.execs") && !rt_bench_wanted(b, "explore.decisions"))
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/scenarios/unchangedsince-vs-store.scn",
		 RATCHET_SOURCE_DIR);
	rt_scenario sc;
	cm_err err;
	if (rt_scenario_load(path, &sc, &err) != 0) {
		fprintf(stderr, "ratchet: bench: explore.execs skipped: %s\n", err.text);
		return 0;
	}
	rt_explore_opts o = {.bound = 1, .max_execs = b->quick ? 500 : 0};
	uint64_t execs = 0, decisions = 0;
	double seconds = 0;
	int rc = 0;
	do {
		rt_explore_result r;
		rc = rt_explore(&sc, &o, &r, &err);
		execs += r.execs_total;
		decisions += r.decisions;
		seconds += r.seconds;
		rt_explore_result_free(&r);
	} while (rc == 0 && !b->quick && seconds < 1.0);
	if (rc == 0 && seconds > 0) {
		rt_bench_add(b, "explore.execs", "runs/s", (double)execs / seconds);
		rt_bench_add(b, "explore.decisions", "decisions/s",
			     (double)decisions / seconds);
	} else if (rc != 0) {
		cm_error("bench: explore.execs: %s", err.text);
	}
	return rc;
}
