/* Open-addressing hash map from nonzero 64-bit keys to pointers, with
 * backward-shift deletion (no tombstones: the checker deletes a lot). */
#include "checker_private.h"

#include <stdlib.h>

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static void map_grow(ck_map *m)
{
	ck_map bigger = {0};
	bigger.cap = m->cap ? m->cap * 2 : 16;
	bigger.keys = cm_xcalloc(bigger.cap, sizeof(*bigger.keys));
	bigger.vals = cm_xcalloc(bigger.cap, sizeof(*bigger.vals));
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != 0)
			ck_map_put(&bigger, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = bigger;
}

void *ck_map_get(const ck_map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

void ck_map_put(ck_map *m, uint64_t key, void *val)
{
	if (key == 0)
		cm_panic("ck_map: key 0");
	if ((m->n + 1) * 4 > m->cap * 3)
		map_grow(m);
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return;
		}
		if (m->keys[i] == 0) {
			m->keys[i] = key;
			m->vals[i] = val;
			m->n++;
			CK_CHECK(m->n * 4 <= m->cap * 3 && (m->cap & (m->cap - 1)) == 0,
				 "a map's capacity is a power of two, its load at most 3/4");
			return;
		}
	}
}

void *ck_map_del(ck_map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	size_t mask = m->cap - 1, i = slot_of(key, m->cap);
	while (m->keys[i] != key) {
		if (m->keys[i] == 0)
			return NULL;
		i = (i + 1) & mask;
	}
	void *val = m->vals[i];
	/* Backward shift: pull later members of the cluster into the hole. */
	for (size_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
		size_t home = slot_of(m->keys[j], m->cap);
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	CK_CHECK(m->n > 0, "a key found is counted");
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->n--;
	return val;
}

void ck_map_each(const ck_map *m, void (*fn)(void *ctx, void *val), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != 0)
			fn(ctx, m->vals[i]);
}

void ck_map_free(ck_map *m)
{
	free(m->keys);
	free(m->vals);
	*m = (ck_map){0};
}
