/* End states of a scenario's runs (docs/explore.md): a hash of what the
 * final checkpoint's fresh reads saw (UIDs, flags and message ids of
 * every mailbox), and a set of such hashes, to count the distinct ones.
 * The simulator's exploration and the command orders against a real
 * server count them alike. */
#ifndef RT_STATES_H
#define RT_STATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The hash of a run before its audit (the FNV basis: never 0). */
#define RT_STATE_BASIS 0xcbf29ce484222325ull

/* h with one audit FETCH reply added: each FETCH's UID, flags and id. */
uint64_t rt_state_add_fetch(uint64_t h, const model_result *res);

/* A set of end-state hashes (open addressing). Zero-initialise it. */
typedef struct rt_state_set {
	uint64_t *v;
	size_t n, cap;
} rt_state_set;

/* Adds h: true when it was not in s yet. */
bool rt_state_set_add(rt_state_set *s, uint64_t h);
void rt_state_set_free(rt_state_set *s);

#endif
