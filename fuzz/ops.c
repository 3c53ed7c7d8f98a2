/* Fuzz target: whole simulated runs against the embedded reference store,
 * the input bytes being the simulator's choice source.
 *
 * Every nondeterministic decision of a run (its swarm shape: clients,
 * delivery agent, op mix, fault rates; then each op and its arguments, each
 * client switch, each injected crash, kill, ENOSPC or rename failure)
 * is "a number below n" read from the input (rt_choice_bytes: as few bytes
 * as n needs, little-endian, modulo n). When the bytes run out every
 * decision is 0, the simplest one, and the run stops at the next op: a
 * shorter input is a shorter run. The history is checked online by the
 * model checker; any error-severity violation aborts with
 *     ratchet: <INVARIANT-ID>: <detail>
 * on stderr, which libFuzzer and AFL++ record as a crash.
 *
 * Caps keep one execution short: at most OPS_CAP ops and CLIENTS_CAP
 * clients (the swarm draws 2..8).
 *
 * Environment:
 *   RATCHET_FUZZ_MUTANT=name   hunt a mutant of the store (rs_mutant_parse);
 *                              -DRATCHET_FUZZ_MUTANT="name" sets a default
 *   RATCHET_FUZZ_EXPORT=FILE   also write the run as a `ratchet replay` file
 *                              (its choice tape), and check that the replay
 *                              fails the same way; use with one input
 *   RATCHET_FUZZ_OPS=N         override OPS_CAP (and the replay's ops)
 */
#include "fuzz.h"
#include "fuzz_mutant.h"
#include "model.h"
#include "rs.h"
#include "campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef OPS_CAP
#define OPS_CAP 300
#endif
#ifndef CLIENTS_CAP
#define CLIENTS_CAP 4
#endif

static unsigned g_mutants;
static char g_mutant_name[64];
static const char *g_export;
static uint64_t g_ops = OPS_CAP;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *name;
	g_mutants = fx_mutant_from_env(&name);
	if (g_mutants != 0) {
		snprintf(g_mutant_name, sizeof(g_mutant_name), "%s", name);
		fprintf(stderr, "fuzz_ops: hunting mutant %s\n", g_mutant_name);
	}
	const char *ops = getenv("RATCHET_FUZZ_OPS");
	if (ops != NULL && atoll(ops) > 0)
		g_ops = (uint64_t)atoll(ops);
	g_export = getenv("RATCHET_FUZZ_EXPORT");
	if (g_export != NULL && g_export[0] == '\0')
		g_export = NULL;
	return 0;
}

/* Writes the run as a replay file and checks that `ratchet replay` sees the
 * same failure: a tape of the raw values read, replayed through the same
 * overrides (clients, ops, mutant) as rt_run_sim applies them. */
static void export_replay(const rt_choice_source *ch, const rt_shape *cfg,
			  const char *expect)
{
	rt_replay r;
	memset(&r, 0, sizeof(r));
	snprintf(r.target, sizeof(r.target), "sim");
	r.seed = 0;
	r.clients = cfg->clients;
	r.ops = cfg->ops;
	snprintf(r.mutant, sizeof(r.mutant), "%s", g_mutant_name);
	/* An empty tape still means "replay a tape" (all zeros), not the seed. */
	static uint64_t zero;
	r.tape = ch->ntape ? ch->tape : &zero;
	r.ntape = ch->ntape;
	snprintf(r.expect, sizeof(r.expect), "%s", expect);
	r.shape = cfg;
	if (rt_replay_write(g_export, &r) != 0) {
		fprintf(stderr, "fuzz_ops: cannot write %s\n", g_export);
		return;
	}
	rt_run_spec spec = {.tape = r.tape, .ntape = r.ntape, .clients = r.clients,
			    .ops = r.ops, .mutants = g_mutants};
	rt_run_out out;
	rt_run_sim(&spec, false, NULL, &out);
	model_inv got = rt_run_first_error(&out);
	const char *got_id = got == MODEL_INV_COUNT ? "" : model_inv_get(got)->id;
	const char *verdict = expect[0] == '\0'
				      ? (got_id[0] ? "fails, though this run did not"
						   : "runs clean too")
			      : strcmp(got_id, expect) == 0 ? "reproduces it"
			      : got_id[0] ? "fails differently"
					  : "runs clean: not reproduced";
	fprintf(stderr, "fuzz_ops: wrote %s (%zu tape values, %llu ops); "
		"`ratchet replay` %s\n", g_export, r.ntape, (unsigned long long)out.sim.ops,
		verdict);
	rt_run_out_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rt_choice_source ch;
	rt_choice_bytes(&ch, data, size);
	ch.record = g_export != NULL; /* keep the raw values: the tape */
	rt_shape cfg;
	rt_shape_draw(&cfg, &ch);
	if (cfg.clients > CLIENTS_CAP)
		cfg.clients = CLIENTS_CAP;
	cfg.ops = g_ops;
	cfg.mutants = g_mutants;

	model_checker_options co = {.capabilities = RT_SIM_CAPS, .max_violations = 50};
	model_checker *checker = model_checker_new(&co);
	rt_sim_result res;
	int rc = rt_sim_run(&cfg, &ch, NULL, checker, &res);
	model_checker_finish(checker);
	if (rc != 0) {
		fprintf(stderr, "ratchet: SIM-SETUP: the simulator could not set up the run\n");
		abort();
	}
	size_t nv = 0;
	const model_violation *v = model_checker_violations(checker, &nv);
	const model_violation *first = NULL;
	for (size_t i = 0; i < nv; i++) {
		if (v[i].severity != MODEL_SEV_ERROR)
			continue;
		if (first == NULL)
			first = &v[i];
		rt_violation_print(&v[i], stderr, false);
	}
	if (g_export != NULL)
		export_replay(&ch, &cfg, first ? model_inv_get(first->inv)->id : "");
	if (first != NULL) {
		fprintf(stderr, "ratchet: %s: %s (%llu ops, %u clients%s%s)\n",
			model_inv_get(first->inv)->id, first->detail,
			(unsigned long long)res.ops, cfg.clients,
			g_mutants ? ", mutant " : "", g_mutant_name);
		abort();
	}
	model_checker_free(checker);
	rt_choice_free(&ch);
	return 0;
}
