/* The latency histogram (latency.h): exact below 16 ns, a quantile at
 * most 1/16 above the true value, the maximum exact, kinds kept apart and
 * ops of unknown outcome untimed. */
#include "latency.h"
#include "cm_test.h"

#include <stdlib.h>

static void t_small_values_exact(void)
{
	rt_latency *l = calloc(1, sizeof(*l));
	for (uint64_t ns = 1; ns <= 10; ns++)
		rt_latency_add(l, MODEL_OP_NOOP, ns, false);
	CHECK_EQ(rt_latency_quantile(&l->k[MODEL_OP_NOOP], 0.5), 5);
	CHECK_EQ(rt_latency_quantile(&l->k[MODEL_OP_NOOP], 1.0), 10);
	CHECK_EQ(rt_latency_quantile(&l->k[MODEL_OP_FETCH], 0.5), 0);
	free(l);
}

/* 1..100,000 microseconds: each quantile within 1/16 above the truth. */
static void t_quantiles_bounded(void)
{
	rt_latency *l = calloc(1, sizeof(*l));
	for (uint64_t us = 1; us <= 100000; us++)
		rt_latency_add(l, MODEL_OP_FETCH, us * 1000, false);
	rt_latency_add(l, MODEL_OP_FETCH, 5, true); /* unknown: untimed */
	const rt_latency_kind *k = &l->k[MODEL_OP_FETCH];
	CHECK_EQ(k->count, 100000);
	CHECK_EQ(k->unknown, 1);
	CHECK_EQ(k->max_ns, 100000000);
	const double qs[] = {0.5, 0.9, 0.99, 0.999};
	uint64_t last = 0;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t truth = (uint64_t)(qs[i] * 100000) * 1000, got = rt_latency_quantile(k, qs[i]);
		CHECK(got >= truth && (double)got <= (double)truth * (1 + 1.0 / 16));
		CHECK(got >= last);
		last = got;
	}
	CHECK_EQ(rt_latency_quantile(k, 1.0), 100000000);
	rt_latency_kind all;
	rt_latency_total(l, &all);
	CHECK_EQ(all.count, 100000);
	free(l);
}

/* The largest values land in the last groups without overflow. */
static void t_huge(void)
{
	rt_latency *l = calloc(1, sizeof(*l));
	rt_latency_add(l, MODEL_OP_SYNC, UINT64_MAX, false);
	rt_latency_add(l, MODEL_OP_SYNC, (uint64_t)1 << 40, false);
	CHECK_EQ(rt_latency_quantile(&l->k[MODEL_OP_SYNC], 1.0), UINT64_MAX);
	CHECK(rt_latency_quantile(&l->k[MODEL_OP_SYNC], 0.5) >= (uint64_t)1 << 40);
	free(l);
}

int main(void)
{
	RUN(t_small_values_exact);
	RUN(t_quantiles_bounded);
	RUN(t_huge);
	TEST_EXIT();
}
