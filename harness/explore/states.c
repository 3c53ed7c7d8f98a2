/* End-state hashes and their set (states.h). */
#include "states.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull + (h >> 29);
}

uint64_t rt_state_add_fetch(uint64_t h, const model_result *res)
{
	h = mix(h, 0x5eed); /* a reply with no FETCH still counts */
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind != MODEL_UT_FETCH)
			continue;
		h = mix(h, u->fetch.uid);
		h = mix(h, (uint64_t)u->fetch.flags);
		h = mix(h, cm_hash64(u->fetch.id, strlen(u->fetch.id)));
	}
	return h;
}

/* 0 marks a free slot: every hash is stored with its low bit set. */
bool rt_state_set_add(rt_state_set *s, uint64_t h)
{
	h |= 1;
	if (2 * (s->n + 1) > s->cap) {
		rt_state_set bigger = {cm_xcalloc(s->cap ? 2 * s->cap : 64, sizeof(uint64_t)),
				       0, s->cap ? 2 * s->cap : 64};
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i] != 0)
				rt_state_set_add(&bigger, s->v[i]);
		free(s->v);
		*s = bigger;
	}
	size_t i = (size_t)(h * 0x9e3779b97f4a7c15ull >> 7) & (s->cap - 1);
	while (s->v[i] != 0 && s->v[i] != h)
		i = (i + 1) & (s->cap - 1);
	if (s->v[i] == h)
		return false;
	s->v[i] = h;
	s->n++;
	return true;
}

void rt_state_set_free(rt_state_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
