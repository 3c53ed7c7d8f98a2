/* Benchmarks of the simulator and the checker: simulated ops/s with full
 * checking, without and with a history written, checker events/s on a
 * recorded history, and per mutant the time the default campaign takes to
 * catch it and the shrunk size. */
#include "bench.h"
#include "campaign.h"
#include "rs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASTER_SEED 1

static double secs_since(uint64_t t0)
{
	return (double)(cm_now_ns() - t0) / 1e9;
}

/* One run of bench_sim_ops, with a history written to hist (NULL: none).
 * Returns its time in ns; adds its ops and events. */
static uint64_t sim_run_timed(uint64_t seed, unsigned replicas, FILE *hist, uint64_t *ops,
			      uint64_t *events)
{
	rt_run_spec spec = {.seed = seed, .replicas = replicas};
	rt_run_out out;
	uint64_t t0 = cm_now_ns();
	model_history_writer *w = NULL;
	if (hist != NULL) {
		model_history_header h = {.version = 1, .seed = seed, .target = "sim",
					  .capabilities = RT_SIM_CAPS};
		w = model_history_writer_new(hist, &h);
	}
	if (rt_run_sim(&spec, false, w, &out) == 0) {
		*ops += out.sim.ops;
		*events += out.sim.events;
	}
	model_history_writer_finish(w);
	uint64_t ns = cm_now_ns() - t0;
	rt_run_out_free(&out);
	return ns;
}

/* sim.ops: whole runs (swarm shapes, faults, checkpoints, online checker;
 * one in four replicated, as the default campaign draws them).
 * sim.ops.history: the same runs writing a history as `run --history`
 * does, to /dev/null (the writer's cost, not a disk's), each right after
 * its twin without, so that the machine's drift weighs on both alike;
 * sim.history.overhead: the time writing adds, in %. sim.repl.ops: the
 * same seeds every one replicated (two replicas and the sync agent:
 * `run --replicas 2`), each right after its twins. */
static void bench_sim_ops(rt_bench *b)
{
	unsigned runs = b->quick ? 5 : 60;
	FILE *null = fopen("/dev/null", "w");
	uint64_t ops[3] = {0, 0, 0}, events[3] = {0, 0, 0}, ns[3] = {0, 0, 0};
	for (unsigned i = 0; i < runs; i++) {
		uint64_t seed = rt_derive_seed(MASTER_SEED, i);
		ns[0] += sim_run_timed(seed, 0, NULL, &ops[0], &events[0]);
		if (null != NULL)
			ns[1] += sim_run_timed(seed, 0, null, &ops[1], &events[1]);
		ns[2] += sim_run_timed(seed, 2, NULL, &ops[2], &events[2]);
	}
	double s = (double)ns[0] / 1e9;
	rt_bench_add(b, "sim.ops", "ops/s", (double)ops[0] / s);
	rt_bench_add(b, "sim.repl.ops", "ops/s", (double)ops[2] / ((double)ns[2] / 1e9));
	rt_bench_add(b, "sim.events", "events/s", (double)events[0] / s);
	if (null == NULL)
		return;
	fclose(null);
	rt_bench_add(b, "sim.ops.history", "ops/s", (double)ops[1] / ((double)ns[1] / 1e9));
	rt_bench_add(b, "sim.history.overhead", "%",
		     100.0 * ((double)ns[1] - (double)ns[0]) / (double)ns[0]);
}

/* Records runs into f until it holds at least want events. */
static uint64_t record_history(FILE *f, uint64_t want)
{
	uint64_t events = 0;
	for (unsigned i = 0; events < want; i++) {
		rt_run_spec spec = {.seed = rt_derive_seed(MASTER_SEED + 1, i)};
		model_history_header h = {.version = 1, .seed = spec.seed,
					  .capabilities = RT_SIM_CAPS};
		snprintf(h.target, sizeof(h.target), "bench run %u", i);
		model_history_writer *w = model_history_writer_new(f, &h);
		rt_run_out out;
		rt_run_sim(&spec, false, w, &out);
		model_history_writer_finish(w);
		events += out.sim.events;
		rt_run_out_free(&out);
	}
	fflush(f);
	return events;
}

/* Reads (and with check, checks) every run in f; returns events read. */
static uint64_t replay_history(FILE *f, bool check)
{
	rewind(f);
	uint64_t n = 0;
	cm_err err;
	for (;;) {
		model_history_header h;
		model_history_reader *rd = model_history_reader_new(f, &h, &err);
		if (rd == NULL)
			break;
		model_checker_options co = {.capabilities = h.capabilities,
					    .max_violations = 100};
		model_checker *c = check ? model_checker_new(&co) : NULL;
		model_event ev;
		model_event_init(&ev);
		model_history_got got;
		while ((got = model_history_read(rd, &ev, &err)) == MODEL_HISTORY_EVENT) {
			n++;
			if (c != NULL)
				model_checker_feed(c, &ev);
		}
		model_event_free(&ev);
		if (c != NULL) {
			model_checker_finish(c);
			model_checker_free(c);
		}
		model_history_reader_free(rd);
		if (got != MODEL_HISTORY_NEXT_RUN)
			break;
	}
	return n;
}

static void bench_checker(rt_bench *b)
{
	FILE *f = tmpfile();
	if (f == NULL)
		return;
	record_history(f, b->quick ? 100000 : 1000000);
	uint64_t t0 = cm_now_ns();
	uint64_t n = replay_history(f, false);
	double parse_s = secs_since(t0);
	t0 = cm_now_ns();
	n = replay_history(f, true);
	double check_s = secs_since(t0);
	rt_bench_add(b, "history.parse.events", "events/s", (double)n / parse_s);
	rt_bench_add(b, "checker.events", "events/s", (double)n / check_s);
	/* The checker alone: what reading costs is measured just above. */
	if (check_s > parse_s)
		rt_bench_add(b, "checker.only.events", "events/s",
			     (double)n / (check_s - parse_s));
	rt_bench_add(b, "checker.history.events", "events", (double)n);
	fclose(f);
}

/* Per mutant: the default campaign's time to the first failing run, and
 * the size the shrinker brings that run down to. */
static void bench_mutant(rt_bench *b, const char *name, unsigned mutants)
{
	char key[96];
	uint64_t t0 = cm_now_ns();
	unsigned max_runs = b->quick ? 40 : 400;
	for (unsigned i = 0; i < max_runs; i++) {
		rt_run_spec spec = {.seed = rt_derive_seed(MASTER_SEED, i), .mutants = mutants};
		rt_run_out out;
		rt_run_sim(&spec, false, NULL, &out);
		model_inv inv = rt_run_first_error(&out);
		uint64_t ops = out.sim.ops;
		rt_run_out_free(&out);
		if (inv == MODEL_INV_COUNT)
			continue;
		snprintf(key, sizeof(key), "mutant.%s.detect", name);
		rt_bench_add(b, key, "s", secs_since(t0));
		snprintf(key, sizeof(key), "mutant.%s.detect_runs", name);
		rt_bench_add(b, key, "runs", i + 1);
		rt_shrink_result sr;
		if (rt_shrink_run(&spec, inv, b->quick ? 2 : 20, &sr) == 0) {
			snprintf(key, sizeof(key), "mutant.%s.original_ops", name);
			rt_bench_add(b, key, "ops", (double)ops);
			snprintf(key, sizeof(key), "mutant.%s.shrunk_ops", name);
			rt_bench_add(b, key, "ops", (double)sr.ops);
			free(sr.tape);
		}
		return;
	}
	snprintf(key, sizeof(key), "mutant.%s.detect", name);
	rt_bench_add(b, key, "s (not caught)", -1);
}

int rt_bench_sim(rt_bench *b)
{
	if (rt_bench_wanted(b, "sim."))
		bench_sim_ops(b);
	if (rt_bench_wanted(b, "checker.") || rt_bench_wanted(b, "history.parse"))
		bench_checker(b);
	/* The store's own list, so that a new mutant is measured too. */
	for (const char *const *name = rs_mutant_names(); *name != NULL; name++) {
		char key[96];
		snprintf(key, sizeof(key), "mutant.%s", *name);
		if (rt_bench_wanted(b, key))
			bench_mutant(b, *name, rs_mutant_parse(*name));
	}
	return 0;
}
