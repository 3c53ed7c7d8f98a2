/* The history writer's direct encoder (model/history/history_emit.h)
 * against jansson's (hj_event_to_json), byte for byte, on every event of
 * simulated runs: the events `ratchet run --history` writes, with faults,
 * and with each of the store's mutants (whose wrong answers make replies
 * the correct store never gives). */
#include "sim.h"
#include "history_emit.h"
#include "history_json.h"
#include "rs.h"

#include "cm_test.h"

typedef struct diff {
	cm_buf a, b;
	uint64_t events, bytes;
} diff;

static void on_event(void *ctx, const model_event *ev)
{
	diff *d = ctx;
	cm_buf_clear(&d->a);
	cm_buf_clear(&d->b);
	int ra = hj_emit_event(&d->a, ev);
	int rb = hj_json_dump(&d->b, hj_event_to_json(ev));
	d->events++;
	d->bytes += d->b.len;
	CHECK_EQ(ra, 0);
	CHECK_EQ(rb, 0);
	if (ra == 0 && rb == 0 && (d->a.len != d->b.len || memcmp(d->a.data, d->b.data,
								    d->a.len) != 0)) {
		fprintf(stderr, "encoders disagree on event %" PRIu64 ":\n  direct:  %s\n"
			"  jansson: %s\n", d->events, d->a.data, d->b.data);
		cm_test_failures++;
	}
}

/* One simulated run of seed's shape, ops long, with mutants. */
static void run(diff *d, uint64_t seed, uint64_t ops, unsigned mutants)
{
	rt_choice_source ch;
	rt_shape cfg;
	rt_choice_prng(&ch, seed, false);
	rt_shape_draw(&cfg, &ch);
	cfg.ops = ops;
	cfg.mutants = mutants;
	rt_sim_hooks hooks = {on_event, d};
	rt_sim_result res;
	CHECK_EQ(rt_sim_run(&cfg, &ch, &hooks, NULL, &res), 0);
	rt_choice_free(&ch);
}

static void test_runs(void)
{
	diff d = {0};
	for (uint64_t seed = 1; seed <= 8; seed++)
		run(&d, seed, 1500, 0);
	size_t m = 0;
	for (const char *const *name = rs_mutant_names(); *name != NULL; name++, m++)
		run(&d, 100 + m, 800, rs_mutant_parse(*name));
	printf("%" PRIu64 " events (%" PRIu64 " bytes) of 8 runs and %zu mutants' runs\n",
	       d.events, d.bytes, m);
	CHECK(d.events > 10000);
	cm_buf_free(&d.a);
	cm_buf_free(&d.b);
}

int main(void)
{
	RUN(test_runs);
	TEST_EXIT();
}
