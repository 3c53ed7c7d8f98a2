/* Shrinking by delta debugging over the choice tape. Every decision of a
 * run (its shape, each op and argument, each switch and fault) is one tape
 * value, and an exhausted tape answers 0 = the simplest choice. So deleting
 * chunks of the tape removes ops and interleavings, and zeroing values
 * simplifies them, while the run stays well formed. A candidate is kept when
 * the run still violates the same invariant. */
#include "campaign.h"

#include <stdlib.h>
#include <string.h>

typedef struct shrinker {
	rt_shrink_test *test;
	void *ctx;
	uint64_t deadline;
	unsigned attempts, max_attempts;
	uint64_t *best;
	size_t nbest;
	uint64_t best_ops;
} shrinker;

static bool out_of_budget(const shrinker *s)
{
	return s->attempts >= s->max_attempts || cm_now_ns() > s->deadline;
}

/* Tries a candidate; on success it becomes the best. */
static bool try_tape(shrinker *s, uint64_t *cand, size_t n)
{
	uint64_t ops = 0;
	s->attempts++;
	if (!s->test(s->ctx, cand, n, &ops))
		return false;
	memcpy(s->best, cand, n * sizeof(*cand));
	s->nbest = n;
	s->best_ops = ops;
	return true;
}

static void delete_chunks(shrinker *s)
{
	uint64_t *cand = cm_xmalloc((s->nbest + 1) * sizeof(*cand));
	for (size_t chunk = s->nbest / 2; chunk >= 1 && !out_of_budget(s); chunk /= 2) {
		/* From the end first: the tail is where most runs can stop. */
		size_t i = s->nbest >= chunk ? s->nbest - chunk : 0;
		for (;;) {
			if (out_of_budget(s))
				break;
			if (i + chunk <= s->nbest) {
				memcpy(cand, s->best, i * sizeof(*cand));
				memcpy(cand + i, s->best + i + chunk,
				       (s->nbest - i - chunk) * sizeof(*cand));
				try_tape(s, cand, s->nbest - chunk);
			}
			if (i < chunk)
				break;
			i -= chunk;
		}
		if (chunk == 1)
			break;
	}
	free(cand);
}

static void zero_values(shrinker *s)
{
	uint64_t *cand = cm_xmalloc((s->nbest + 1) * sizeof(*cand));
	for (size_t chunk = 64; chunk >= 1 && !out_of_budget(s); chunk /= 4) {
		for (size_t i = 0; i < s->nbest && !out_of_budget(s); i += chunk) {
			bool any = false;
			memcpy(cand, s->best, s->nbest * sizeof(*cand));
			for (size_t k = i; k < i + chunk && k < s->nbest; k++) {
				any |= cand[k] != 0;
				cand[k] = 0;
			}
			if (any)
				try_tape(s, cand, s->nbest);
		}
		if (chunk == 1)
			break;
	}
	free(cand);
}

int rt_shrink(const uint64_t *tape, size_t n, rt_shrink_test *test, void *ctx,
	      double seconds, unsigned max_attempts, rt_shrink_result *out)
{
	shrinker s = {
		.test = test, .ctx = ctx,
		.deadline = cm_now_ns() + (uint64_t)(seconds * 1e9),
		.max_attempts = max_attempts ? max_attempts : 2000,
	};
	s.best = cm_xmalloc((n + 1) * sizeof(*s.best));
	memcpy(s.best, tape, n * sizeof(*tape));
	s.nbest = n;
	if (!try_tape(&s, s.best, n)) {
		free(s.best);
		return -1; /* does not reproduce: nothing to shrink */
	}
	size_t before;
	do {
		before = s.nbest;
		delete_chunks(&s);
		zero_values(&s);
	} while (s.nbest < before && !out_of_budget(&s));
	out->tape = s.best;
	out->n = s.nbest;
	out->ops = s.best_ops;
	out->attempts = s.attempts;
	return 0;
}
