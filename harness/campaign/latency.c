/* Per-command latency histograms (latency.h). */
#include "latency.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

void rt_latency_clear(rt_latency *l)
{
	memset(l, 0, sizeof(*l));
}

/* The bucket of ns: values below 16 ns are exact; above, the power of two
 * picks a group of RT_LATENCY_SUB buckets and the next 4 bits the bucket. */
static unsigned bucket_of(uint64_t ns)
{
	if (ns < RT_LATENCY_SUB)
		return (unsigned)ns;
	unsigned top = 63 - (unsigned)__builtin_clzll(ns); /* >= 4 */
	unsigned sub = (unsigned)(ns >> (top - 4)) & (RT_LATENCY_SUB - 1);
	unsigned b = (top - 3) * RT_LATENCY_SUB + sub;
	assert(b < RT_LATENCY_BUCKETS);
	return b;
}

/* The largest value bucket b holds. */
static uint64_t bucket_top(unsigned b)
{
	if (b < RT_LATENCY_SUB)
		return b;
	unsigned top = b / RT_LATENCY_SUB + 3, sub = b % RT_LATENCY_SUB;
	uint64_t lo = ((uint64_t)(RT_LATENCY_SUB + sub)) << (top - 4);
	return lo + ((uint64_t)1 << (top - 4)) - 1;
}

void rt_latency_add(rt_latency *l, model_op_kind kind, uint64_t ns, bool unknown)
{
	assert(kind >= 0 && kind < MODEL_OP_KIND_COUNT);
	rt_latency_kind *k = &l->k[kind];
	if (unknown) {
		k->unknown++;
		return;
	}
	k->count++;
	if (ns > k->max_ns)
		k->max_ns = ns;
	k->buckets[bucket_of(ns)]++;
}

uint64_t rt_latency_quantile(const rt_latency_kind *k, double q)
{
	assert(q > 0 && q <= 1);
	if (k->count == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)k->count + 0.999999), seen = 0;
	if (want == 0)
		want = 1;
	for (unsigned b = 0; b < RT_LATENCY_BUCKETS; b++) {
		seen += k->buckets[b];
		if (seen >= want) {
			uint64_t top = bucket_top(b);
			return top < k->max_ns ? top : k->max_ns;
		}
	}
	return k->max_ns;
}

void rt_latency_total(const rt_latency *l, rt_latency_kind *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < MODEL_OP_KIND_COUNT; i++) {
		const rt_latency_kind *k = &l->k[i];
		out->count += k->count;
		out->unknown += k->unknown;
		if (k->max_ns > out->max_ns)
			out->max_ns = k->max_ns;
		for (unsigned b = 0; b < RT_LATENCY_BUCKETS; b++)
			out->buckets[b] += k->buckets[b];
	}
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

void rt_latency_print(const rt_latency *l, FILE *out)
{
	bool any = false;
	for (int i = 0; i < MODEL_OP_KIND_COUNT; i++) {
		const rt_latency_kind *k = &l->k[i];
		if (k->count == 0)
			continue;
		if (!any)
			fprintf(out, "  latency (ms)        ops      p50      p90      p99      max\n");
		any = true;
		fprintf(out, "    %-12s %10" PRIu64 " %8.2f %8.2f %8.2f %8.2f\n",
			model_op_name((model_op_kind)i), k->count, ms(rt_latency_quantile(k, 0.5)),
			ms(rt_latency_quantile(k, 0.9)), ms(rt_latency_quantile(k, 0.99)),
			ms(k->max_ns));
	}
}

void rt_latency_line(const rt_latency *iv, double elapsed_s, double interval_s, FILE *out)
{
	rt_latency_kind all;
	rt_latency_total(iv, &all);
	uint64_t n = all.count + all.unknown;
	fprintf(out, "[%7.1fs] %6.0f ops/s", elapsed_s,
		interval_s > 0 ? (double)n / interval_s : 0.0);
	for (int i = 0; i < MODEL_OP_KIND_COUNT; i++)
		if (iv->k[i].count + iv->k[i].unknown > 0)
			fprintf(out, " %s %" PRIu64, model_op_name((model_op_kind)i),
				iv->k[i].count + iv->k[i].unknown);
	fprintf(out, "  p50 %.2f ms  p99 %.2f ms  unknown %" PRIu64 "\n",
		ms(rt_latency_quantile(&all, 0.5)), ms(rt_latency_quantile(&all, 0.99)),
		all.unknown);
	fflush(out);
}
