/* The enumeration of command orders (orders.h): the classic next
 * permutation on a sequence with repeated values, which visits each
 * distinct permutation exactly once, in lexicographic order (Knuth, TAOCP
 * 7.2.1.2, Algorithm L). Nothing else is kept between calls, so an order
 * is a function of its number alone. */
#include "orders.h"

#include <assert.h>
#include <string.h>

uint64_t rt_orders_count(const size_t *counts, size_t nclients)
{
	/* The product of binomials C(placed + n_c, n_c), client by client.
	 * After step k, b = C(placed + k, k); b * (placed + k + 1) is then
	 * k + 1 times the next one, so every division is exact. */
	uint64_t r = 1;
	size_t placed = 0;
	for (size_t c = 0; c < nclients; c++) {
		uint64_t b = 1;
		for (size_t k = 1; k <= counts[c]; k++) {
			uint64_t n = placed + k;
			if (b > UINT64_MAX / n)
				return UINT64_MAX;
			b = b * n / k;
		}
		if (b != 0 && r > UINT64_MAX / b)
			return UINT64_MAX;
		r *= b;
		placed += counts[c];
	}
	return r;
}

size_t rt_orders_first(const size_t *counts, size_t nclients, uint32_t *seq)
{
	size_t n = 0;
	for (size_t c = 0; c < nclients; c++)
		for (size_t k = 0; k < counts[c]; k++)
			seq[n++] = (uint32_t)c;
	return n;
}

static void swap(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;
	*a = *b;
	*b = t;
}

bool rt_orders_next(uint32_t *seq, size_t len)
{
	if (len < 2)
		return false;
	size_t i = len - 1;
	while (i > 0 && seq[i - 1] >= seq[i])
		i--;
	if (i == 0)
		return false; /* non-increasing: the last order */
	size_t j = len - 1;
	while (seq[j] <= seq[i - 1])
		j--;
	assert(j >= i); /* seq[i] > seq[i - 1], so j stops at i at the latest */
	swap(&seq[i - 1], &seq[j]);
	for (size_t a = i, b = len - 1; a < b; a++, b--)
		swap(&seq[a], &seq[b]);
	return true;
}

/* Position by position, the lowest client whose orders (those that put it
 * here) reach past index: each candidate c before it skips the
 * multinomial of the counts left with one of c's steps placed. A
 * saturated count (more than 64 bits) always reaches past an index. */
bool rt_orders_nth(const size_t *counts, size_t nclients, uint64_t index, uint32_t *seq,
		   size_t *len)
{
	size_t left[RT_ORDERS_CLIENTS_MAX], n = 0, total = 0;
	assert(nclients <= RT_ORDERS_CLIENTS_MAX);
	if (index >= rt_orders_count(counts, nclients))
		return false;
	memcpy(left, counts, nclients * sizeof(size_t));
	for (size_t c = 0; c < nclients; c++)
		total += counts[c];
	for (; n < total; n++) {
		size_t c = 0;
		for (;; c++) {
			assert(c < nclients); /* index < the orders left: one fits */
			if (left[c] == 0)
				continue;
			left[c]--;
			uint64_t here = rt_orders_count(left, nclients);
			if (index < here)
				break;
			index -= here;
			left[c]++;
		}
		seq[n] = (uint32_t)c;
	}
	*len = n;
	return true;
}
