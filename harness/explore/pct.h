/* PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi
 * and Nagarakatte, ASPLOS 2010), as a scheduler for scripted runs: for
 * scenarios too large to enumerate (docs/explore.md). */
#ifndef RT_PCT_H
#define RT_PCT_H

#include <stdint.h>

#include "cm.h"
#include "scenario.h"
#include "sim.h"

#define RT_PCT_DEPTH_MAX 8

typedef struct rt_pct {
	cm_rng rng;
	unsigned depth;
	uint64_t k;                               /* steps a run is taken to have */
	uint64_t prio[RT_SCENARIO_CLIENTS_MAX + 1]; /* by client id */
	uint64_t change[RT_PCT_DEPTH_MAX];        /* the d - 1 change points */
	uint64_t step;
} rt_pct;

/* Before each run: fresh priorities for clients 1..clients (distinct, all
 * at least depth) and depth - 1 change points drawn from [1, k]. */
void rt_pct_start(rt_pct *p, unsigned clients, unsigned depth, uint64_t k);
/* The value (below n) that runs the highest-priority candidate of at; at
 * the i-th change point the client that ran last first drops to priority
 * depth - 1 - i, below every starting one. */
uint64_t rt_pct_pick(rt_pct *p, uint64_t n, const rt_script_point *at);

#endif
