/* PCT for scripted runs (pct.h). A bug of depth d (d ordering constraints
 * between the clients' steps) is found by one run with probability at
 * least 1 / (n * k^(d-1)) for n clients and k steps: the priorities put
 * the first constraint right with probability 1/n, and each change point
 * lands on the step the next constraint needs with probability 1/k. */
#include "pct.h"

#include <assert.h>
#include <string.h>

void rt_pct_start(rt_pct *p, unsigned clients, unsigned depth, uint64_t k)
{
	assert(clients >= 1 && clients <= RT_SCENARIO_CLIENTS_MAX);
	assert(depth >= 1 && depth <= RT_PCT_DEPTH_MAX && k >= 1);
	p->depth = depth;
	p->k = k;
	p->step = 0;
	/* A random permutation of depth .. depth + clients - 1. */
	uint64_t order[RT_SCENARIO_CLIENTS_MAX];
	for (unsigned i = 0; i < clients; i++)
		order[i] = depth + i;
	for (unsigned i = clients; i > 1; i--) {
		unsigned j = (unsigned)cm_rng_below(&p->rng, i);
		uint64_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	memset(p->prio, 0, sizeof(p->prio));
	for (unsigned i = 0; i < clients; i++)
		p->prio[i + 1] = order[i];
	for (unsigned i = 0; i + 1 < depth; i++)
		p->change[i] = 1 + cm_rng_below(&p->rng, k);
}

uint64_t rt_pct_pick(rt_pct *p, uint64_t n, const rt_script_point *at)
{
	p->step++;
	for (unsigned i = 0; i + 1 < p->depth; i++)
		if (p->change[i] == p->step && at->ran >= 1 &&
		    at->ran <= RT_SCENARIO_CLIENTS_MAX)
			p->prio[at->ran] = p->depth - 1 - i;
	uint64_t best = 0;
	for (uint64_t v = 1; v < n && v < CM_ARRAY_LEN(at->cand); v++) {
		uint32_t a = at->cand[v], b = at->cand[best];
		if (a <= RT_SCENARIO_CLIENTS_MAX && b <= RT_SCENARIO_CLIENTS_MAX &&
		    p->prio[a] > p->prio[b])
			best = v;
	}
	return best;
}
