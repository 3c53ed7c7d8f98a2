/* Per-command latency of a run against a real server: for each op kind,
 * the count and the p50, p90, p99 and maximum time from a command's
 * invoke to its completion, as load tools report them (imaptest prints
 * per-command counts and mean times).
 *
 * A log-linear histogram per kind keeps memory fixed however long the run:
 * 16 buckets per power of two of nanoseconds, so a percentile is the upper
 * edge of its bucket, at most 1/16 (6.25%) above the true value; the
 * maximum is exact. Ops that ended with outcome unknown are counted apart
 * (their time is the timeout, not the server's). */
#ifndef RT_LATENCY_H
#define RT_LATENCY_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define RT_LATENCY_SUB 16                    /* buckets per power of two */
#define RT_LATENCY_BUCKETS (64 * RT_LATENCY_SUB)

typedef struct rt_latency_kind {
	uint64_t count, unknown;
	uint64_t max_ns;
	uint32_t buckets[RT_LATENCY_BUCKETS];
} rt_latency_kind;

typedef struct rt_latency {
	rt_latency_kind k[MODEL_OP_KIND_COUNT];
} rt_latency;

void rt_latency_clear(rt_latency *l);
/* One op of kind that took ns; unknown: its outcome was unknown. */
void rt_latency_add(rt_latency *l, model_op_kind kind, uint64_t ns, bool unknown);
/* The q-quantile (0 < q <= 1) of kind's times in ns: the upper edge of
 * the bucket holding it (the exact maximum for the last one); 0 when
 * kind has no timed op. */
uint64_t rt_latency_quantile(const rt_latency_kind *k, double q);
/* All kinds merged into out. */
void rt_latency_total(const rt_latency *l, rt_latency_kind *out);
/* The summary's lines: one per kind with ops ("select 1,204 ops  p50
 * 0.41 ms  p90 ...  max ..."), in kind order. Nothing when none. */
void rt_latency_print(const rt_latency *l, FILE *out);

/* One progress line for an interval of interval_s seconds ending
 * elapsed_s into the run: its ops per second, each kind's count, the
 * interval's p50 and p99 over all kinds, and its ops of unknown outcome. */
void rt_latency_line(const rt_latency *iv, double elapsed_s, double interval_s, FILE *out);

#endif
