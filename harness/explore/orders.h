/* Command orders: every interleaving of the clients' step sequences, at
 * the granularity of whole commands (docs/explore.md, "Against a real
 * server"). An order is a sequence of client indices in which client c
 * appears counts[c] times; its k-th occurrence of c is c's k-th step.
 * Orders are the distinct permutations of that multiset, enumerated in
 * lexicographic order from the sorted one (all of client 0's steps
 * first), so order number i names the same interleaving in every run. */
#ifndef RT_ORDERS_H
#define RT_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_ORDERS_CLIENTS_MAX 16

/* The number of orders, the multinomial (sum counts)! / prod(counts[c]!),
 * or UINT64_MAX when it does not fit in 64 bits. */
uint64_t rt_orders_count(const size_t *counts, size_t nclients);
/* The first order into seq (room for the sum of counts): every client's
 * steps in turn. Returns its length. */
size_t rt_orders_first(const size_t *counts, size_t nclients, uint32_t *seq);
/* Order number index (0 is rt_orders_first's) into seq, without
 * enumerating the ones before: true with *len set, or false when there
 * are not that many orders. */
bool rt_orders_nth(const size_t *counts, size_t nclients, uint64_t index, uint32_t *seq,
		   size_t *len);
/* Advances seq (len entries) to the next order in lexicographic order:
 * true, or false (seq unchanged) after the last one. */
bool rt_orders_next(uint32_t *seq, size_t len);

#endif
