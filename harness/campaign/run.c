/* One simulated run: draw its shape, run it, check it, keep the verdict. */
#include "campaign.h"

#include <stdlib.h>
#include <string.h>

static void write_event(void *ctx, const model_event *ev)
{
	model_history_write(ctx, ev);
}

/* Opens spec's choice source and draws the run's shape from it. */
static void draw_shape(const rt_run_spec *spec, bool record_tape, rt_choice_source *ch,
		       rt_shape *cfg)
{
	if (spec->tape != NULL)
		rt_choice_tape(ch, spec->tape, spec->ntape);
	else
		rt_choice_prng(ch, spec->seed, record_tape);
	rt_shape_draw(cfg, ch);
	if (spec->clients)
		cfg->clients = spec->clients;
	if (spec->ops)
		cfg->ops = spec->ops;
	cfg->mutants = spec->mutants;
	if (spec->replicas == 1) {
		cfg->replicas = 0;
	} else if (spec->replicas >= 2 && cfg->replicas == 0) {
		rt_shape_replicate(cfg, spec->replicas, RT_RATIO(1, 10));
	}
}

void rt_run_spec_shape(const rt_run_spec *spec, rt_shape *cfg)
{
	rt_choice_source ch;
	draw_shape(spec, false, &ch, cfg);
	rt_choice_free(&ch);
}

int rt_run_sim(const rt_run_spec *spec, bool record_tape, model_history_writer *hist,
	       rt_run_out *out)
{
	rt_choice_source ch;
	memset(out, 0, sizeof(*out));
	draw_shape(spec, record_tape, &ch, &out->cfg);
	model_checker_options co = {.capabilities = RT_SIM_CAPS, .max_violations = 200};
	model_checker *c = model_checker_new(&co);
	rt_sim_hooks hooks = {write_event, hist};
	int rc = rt_sim_run(&out->cfg, &ch, hist ? &hooks : NULL, c, &out->sim);
	model_checker_finish(c);
	out->stats = *model_checker_get_stats(c);
	size_t nv;
	const model_violation *v = model_checker_violations(c, &nv);
	out->v = cm_xmalloc((nv + 1) * sizeof(*v));
	if (nv > 0)
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

uint64_t rt_derive_seed(uint64_t master, uint64_t i)
{
	uint64_t z = master + 0x9e3779b97f4a7c15ULL * (i + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) >> 1; /* 63 bits: JSON integers stay positive */
}

model_inv rt_run_first_error(const rt_run_out *out)
{
	for (size_t i = 0; i < out->nv; i++)
		if (out->v[i].severity == MODEL_SEV_ERROR)
			return out->v[i].inv;
	return MODEL_INV_COUNT;
}

typedef struct shrink_ctx {
	rt_run_spec spec;
	model_inv inv;
} shrink_ctx;

static bool still_fails(void *ctx, const uint64_t *tape, size_t n, uint64_t *ops_r)
{
	shrink_ctx *s = ctx;
	rt_run_spec spec = s->spec;
	spec.tape = tape;
	spec.ntape = n;
	rt_run_out out;
	bool fails = rt_run_sim(&spec, false, NULL, &out) == 0 && rt_run_has(&out, s->inv);
	*ops_r = out.sim.ops;
	rt_run_out_free(&out);
	return fails;
}

int rt_shrink_run(const rt_run_spec *spec, model_inv inv, double seconds,
		  rt_shrink_result *out)
{
	rt_run_out rec;
	rt_run_sim(spec, true, NULL, &rec); /* the same run, with its tape */
	shrink_ctx sc = {*spec, inv};
	int rc = rt_shrink(rec.tape, rec.ntape, still_fails, &sc, seconds, 0, out);
	rt_run_out_free(&rec);
	return rc;
}
