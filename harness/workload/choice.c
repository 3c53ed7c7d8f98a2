/* Choice sources: where every nondeterministic decision comes from.
 * A decision is "a number below n"; an exhausted source answers 0, and 0
 * is always the simplest answer (no fault, no switch, stop), so a shorter
 * tape is a smaller run: that is what shrinking and fuzzing rely on. */
#include "workload.h"

#include <stdlib.h>
#include <string.h>

static void tape_push(rt_choice_source *c, uint64_t v)
{
	CM_GROW(c->tape, c->captape, c->ntape + 1);
	c->tape[c->ntape++] = v;
}

void rt_choice_prng(rt_choice_source *c, uint64_t seed, bool record)
{
	memset(c, 0, sizeof(*c));
	c->kind = RT_CHOICE_PRNG;
	cm_rng_seed(&c->rng, seed);
	c->record = record;
}

void rt_choice_tape(rt_choice_source *c, const uint64_t *tape, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->kind = RT_CHOICE_TAPE;
	c->in = tape;
	c->nin = n;
}

void rt_choice_bytes(rt_choice_source *c, const uint8_t *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->kind = RT_CHOICE_BYTES;
	c->bytes = data;
	c->nbytes = len;
}

void rt_choice_free(rt_choice_source *c)
{
	free(c->tape);
	c->tape = NULL;
	c->ntape = c->captape = 0;
}

/* The next raw value from bytes: as few as n needs, little-endian. */
static uint64_t from_bytes(rt_choice_source *c, uint64_t n)
{
	uint64_t v = 0;
	for (int shift = 0; n > 1 && shift < 64; shift += 8, n >>= 8) {
		if (c->pos >= c->nbytes) {
			c->exhausted = true;
			break;
		}
		v |= (uint64_t)c->bytes[c->pos++] << shift;
	}
	return v;
}

uint64_t rt_choice_below(rt_choice_source *c, uint64_t n)
{
	uint64_t v;
	if (n <= 1)
		return 0;
	c->decisions++;
	switch (c->kind) {
	case RT_CHOICE_PRNG:
		v = cm_rng_next(&c->rng);
		break;
	case RT_CHOICE_TAPE:
		if (c->pos < c->nin) {
			v = c->in[c->pos++];
		} else {
			c->exhausted = true;
			v = 0;
		}
		break;
	default:
		v = from_bytes(c, n);
		break;
	}
	if (c->record)
		tape_push(c, v);
	return v % n;
}

bool rt_choice_chance(rt_choice_source *c, rt_probability p)
{
	if (p.per_million == 0)
		return false;
	/* 0 (an exhausted source) means "no". */
	return rt_choice_below(c, RT_PER_MILLION) >=
	       RT_PER_MILLION - CM_MIN(p.per_million, RT_PER_MILLION);
}

rt_probability rt_choice_probability(rt_choice_source *c, rt_probability max)
{
	return (rt_probability){(uint32_t)rt_choice_below(c, max.per_million)};
}
