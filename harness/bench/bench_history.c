/* Benchmarks of the history writer on the events of simulated runs:
 * history.write.events, model_history_write (the direct encoder and
 * stdio), and history.write.jansson.events, the same lines made as the
 * writer made them before (a jansson DOM per event, dumped), which stays
 * in the tree as the direct encoder's reference. Both write to /dev/null:
 * the encoders' cost, not a disk's. (What `--history` adds to a whole
 * simulated run is sim.ops.history, bench_sim.c.) */
#include "bench.h"
#include "campaign.h"
#include "history_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASTER_SEED 3
#define BATCH 512

/* The events of the runs, copied in batches of BATCH and then written
 * both ways, so that the clock sees only the writing. */
typedef struct write_bench {
	model_event ev[BATCH];
	size_t n;
	FILE *null;
	model_history_writer *w;
	cm_buf line;            /* the jansson writer's line */
	uint64_t events, bytes, ns_direct, ns_jansson;
	bool failed;
} write_bench;

static void flush_batch(write_bench *wb)
{
	uint64_t t0 = cm_now_ns();
	for (size_t i = 0; i < wb->n; i++)
		if (model_history_write(wb->w, &wb->ev[i]) != 0)
			wb->failed = true;
	uint64_t t1 = cm_now_ns();
	for (size_t i = 0; i < wb->n; i++) {
		cm_buf_clear(&wb->line);
		if (hj_json_dump(&wb->line, hj_event_to_json(&wb->ev[i])) != 0)
			wb->failed = true;
		cm_buf_putc(&wb->line, '\n');
		fwrite(wb->line.data, 1, wb->line.len, wb->null);
		wb->bytes += wb->line.len;
	}
	uint64_t t2 = cm_now_ns();
	wb->ns_direct += t1 - t0;
	wb->ns_jansson += t2 - t1;
	wb->events += wb->n;
	wb->n = 0;
}

static void on_event(void *ctx, const model_event *ev)
{
	write_bench *wb = ctx;
	model_event *dst = &wb->ev[wb->n++];
	dst->type = ev->type;
	dst->client = ev->client;
	dst->op_id = ev->op_id;
	dst->t_ns = ev->t_ns;
	model_op_copy(&dst->op, &ev->op);
	model_result_copy(&dst->res, &ev->res);
	if (wb->n == BATCH)
		flush_batch(wb);
}

/* Simulated runs (no checker: only their events matter) until want
 * events have been written both ways. */
static void write_runs(write_bench *wb, uint64_t want)
{
	for (unsigned i = 0; wb->events < want && !wb->failed; i++) {
		rt_choice_source ch;
		rt_shape cfg;
		rt_choice_prng(&ch, rt_derive_seed(MASTER_SEED, i), false);
		rt_shape_draw(&cfg, &ch);
		rt_sim_hooks hooks = {on_event, wb};
		rt_sim_result res;
		if (rt_sim_run(&cfg, &ch, &hooks, NULL, &res) != 0)
			wb->failed = true;
		rt_choice_free(&ch);
	}
	flush_batch(wb);
}

int rt_bench_history(rt_bench *b)
{
	if (!rt_bench_wanted(b, "history.write"))
		return 0;
	write_bench *wb = cm_xcalloc(1, sizeof(*wb));
	wb->null = fopen("/dev/null", "w");
	if (wb->null == NULL) {
		free(wb);
		return 1;
	}
	model_history_header h = {.version = 1, .target = "bench", .capabilities = RT_SIM_CAPS};
	wb->w = model_history_writer_new(wb->null, &h);
	write_runs(wb, b->quick ? 20000 : 200000);
	int rc = model_history_writer_finish(wb->w) != 0 || wb->failed;
	if (rc == 0 && wb->ns_direct > 0 && wb->ns_jansson > 0) {
		rt_bench_add(b, "history.write.events", "events/s",
			     (double)wb->events / ((double)wb->ns_direct / 1e9));
		rt_bench_add(b, "history.write.jansson.events", "events/s",
			     (double)wb->events / ((double)wb->ns_jansson / 1e9));
		rt_bench_add(b, "history.write.bytes_per_event", "bytes",
			     (double)wb->bytes / (double)wb->events);
	}
	for (size_t i = 0; i < BATCH; i++)
		model_event_free(&wb->ev[i]);
	cm_buf_free(&wb->line);
	fclose(wb->null);
	free(wb);
	return rc;
}
