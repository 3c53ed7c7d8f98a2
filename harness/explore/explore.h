/* Systematic exploration of a scenario's interleavings on the embedded
 * store (docs/explore.md): every schedule with at most `bound`
 * preemptions, each a simulated run judged by the checker. */
#ifndef RT_EXPLORE_H
#define RT_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"
#include "model.h"
#include "scenario.h"
#include "history.h"

#define RT_EXPLORE_BOUND_MAX 8

typedef struct rt_explore_opts {
	unsigned bound;              /* preemptions */
	unsigned mutants;            /* rs_mutant bits */
	uint64_t max_execs;          /* 0: no limit (coverage is then partial) */
	bool plain;                  /* every call a preemption point, no
				      * sleep sets: no reduction at all
				      * (docs/explore.md) */
} rt_explore_opts;

typedef struct rt_explore_result {
	uint64_t execs[RT_EXPLORE_BOUND_MAX + 1]; /* by preemptions used */
	/* Runs of each bound's walk that turned out redundant (sleep sets:
	 * an equivalent schedule within the bound ran), uncounted above. */
	uint64_t pruned[RT_EXPLORE_BOUND_MAX + 1];
	struct {
		uint64_t states;     /* end states first seen at this bound */
		uint64_t failing;    /* failing schedules of this bound */
		double seconds;      /* this bound's walk */
	} by_bound[RT_EXPLORE_BOUND_MAX + 1];
	uint64_t execs_total;
	uint64_t decisions;          /* branch points met, all executions */
	uint64_t points_skipped;     /* calls not offered as preemption points */
	uint64_t states;             /* distinct end states */
	uint64_t states_digest;      /* their hashes summed: equal sets, equal sums */
	bool failed_inv[MODEL_INV_COUNT]; /* what the failing runs broke */
	uint64_t failing;            /* executions with an error */
	unsigned covered;            /* every schedule up to this bound ran;
				      * (unsigned)-1 when not even bound 0 */
	bool complete;               /* ... and that is opts.bound */
	double seconds;
	/* The first failing execution (in order of preemptions used). */
	bool failed;
	model_violation fail;        /* its first error */
	unsigned fail_preemptions;
	uint64_t *fail_tape;         /* its decisions, for the replay file */
	size_t nfail_tape;
	cm_buf fail_words;           /* its schedule, in words */
	/* PCT only: the steps a run was taken to have, and the probability
	 * that one run finds a bug of the depth asked for (at least). */
	uint64_t pct_k;
	double pct_p;
} rt_explore_result;

/* Explores sc up to opts->bound, by bound 0, 1, ... (CHESS order),
 * stopping at the first bound with a failing execution. 0, or -1 with err
 * (a step whose command no longer parses, a nondeterministic run). */
int rt_explore(const rt_scenario *sc, const rt_explore_opts *opts,
	       rt_explore_result *r, cm_err *err);
/* PCT (pct.h): runs random-priority schedules of depth `depth` (seeded),
 * stopping at the first failing one; r->covered stays (unsigned)-1, as
 * PCT covers no bound. 0, or -1 with err as for rt_explore. */
int rt_explore_pct(const rt_scenario *sc, unsigned mutants, unsigned depth,
		   uint64_t runs, uint64_t seed, rt_explore_result *r, cm_err *err);
/* Runs the one schedule tape[0..n) (decisions beyond it: 0), every event
 * to hist (may be NULL); r gets its verdict as above (execs 1). 0, or -1
 * with err. */
int rt_explore_replay(const rt_scenario *sc, unsigned mutants, const uint64_t *tape,
		      size_t n, model_history_writer *hist,
		      rt_explore_result *r, cm_err *err);
void rt_explore_result_free(rt_explore_result *r);

#endif
