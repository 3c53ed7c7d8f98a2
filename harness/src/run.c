/* One simulated run: draw its shape, run it, check it, keep the verdict. */
#include "rt.h"

#include <stdlib.h>
#include <string.h>

static void write_event(void *ctx, const model_event *ev)
{
	model_history_write(ctx, ev);
}

int rt_run_sim(const rt_run_spec *spec, bool record_tape, model_history_writer *hist,
	       rt_run_out *out)
{
	rt_choice ch;
	memset(out, 0, sizeof(*out));
	if (spec->tape != NULL)
		rt_choice_tape(&ch, spec->tape, spec->ntape);
	else
		rt_choice_prng(&ch, spec->seed, record_tape);
	rt_sim_config_swarm(&out->cfg, &ch);
	if (spec->clients)
		out->cfg.clients = spec->clients;
	if (spec->ops)
		out->cfg.ops = spec->ops;
	out->cfg.mutants = spec->mutants;
	model_checker_options co = {.capabilities = RT_SIM_CAPS, .max_violations = 200};
	model_checker *c = model_checker_new(&co);
	rt_sim_hooks hooks = {write_event, hist};
	int rc = rt_sim_run(&out->cfg, &ch, hist ? &hooks : NULL, c, &out->sim);
	model_checker_finish(c);
	out->stats = *model_checker_get_stats(c);
	size_t nv;
	const model_violation *v = model_checker_violations(c, &nv);
	out->v = cm_xmalloc((nv + 1) * sizeof(*v));
	memcpy(out->v, v, nv * sizeof(*v));
	out->nv = nv;
	model_checker_free(c);
	if (record_tape && spec->tape == NULL) {
		out->tape = ch.tape;
		out->ntape = ch.ntape;
		ch.tape = NULL;
	}
	rt_choice_free(&ch);
	return rc;
}

void rt_run_out_free(rt_run_out *out)
{
	free(out->v);
	free(out->tape);
	memset(out, 0, sizeof(*out));
}

bool rt_run_has(const rt_run_out *out, model_inv inv)
{
	for (size_t i = 0; i < out->nv; i++)
		if (out->v[i].inv == inv && out->v[i].severity == MODEL_SEV_ERROR)
			return true;
	return out->stats.violations[inv] > 0 && out->nv >= 200;
}
