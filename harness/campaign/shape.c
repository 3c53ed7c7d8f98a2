/* A run's shape: every option it drew (clients, deliverer, ops, mutants,
 * the mix, the switch and fault probabilities, checkpoint spacing, log
 * rotation), as one line for people and as a JSON object for tools. The
 * shape is printed and written beside a run, never into its history. */
#include "campaign.h"
#include "rs.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

/* A probability for people: "0", "1", "27%" or "12.5%" from a tenth up,
 * else "1/N" (N rounded). Exact values are in the JSON. */
static void put_probability(cm_buf *l, const char *name, rt_probability p)
{
	uint32_t pm = p.per_million;
	if (pm == 0 || pm >= RT_PER_MILLION)
		cm_buf_printf(l, "%s %d", name, pm == 0 ? 0 : 1);
	else if (pm * 10u >= RT_PER_MILLION && pm % 10000u == 0)
		cm_buf_printf(l, "%s %" PRIu32 "%%", name, pm / 10000u);
	else if (pm * 10u >= RT_PER_MILLION)
		cm_buf_printf(l, "%s %.1f%%", name, pm / 10000.0);
	else
		cm_buf_printf(l, "%s 1/%" PRIu32, name, (RT_PER_MILLION + pm / 2) / pm);
}

/* A mutant bit's name ("?" for a bit the store does not know). */
static const char *mutant_name(unsigned bit)
{
	const char *name = rs_mutant_name(bit);
	return name != NULL ? name : "?";
}

static void put_mutants(cm_buf *l, unsigned mutants)
{
	cm_buf_printf(l, "mutants");
	if (mutants == 0)
		cm_buf_printf(l, " none");
	for (unsigned bit = 1; bit != 0 && bit <= mutants; bit <<= 1)
		if (mutants & bit)
			cm_buf_printf(l, " %s", mutant_name(bit));
}

static void put_mix(cm_buf *l, const rt_mix *m)
{
	cm_buf_printf(l, "mix");
	for (int k = 0; k < RT_WK_COUNT; k++)
		if (m->w[k])
			cm_buf_printf(l, " %s:%" PRIu32, rt_wk_name((rt_wk)k), m->w[k]);
	put_probability(l, ", deleted", m->deleted);
	cm_buf_printf(l, ", boxes %d, box target ", m->boxes);
	if (m->box_target)
		cm_buf_printf(l, "%" PRIu32, m->box_target);
	else
		cm_buf_printf(l, "none");
}

void rt_shape_format(const rt_shape *cfg, cm_buf *out)
{
	cm_buf_clear(out);
	cm_buf *l = out;
	cm_buf_printf(l, "clients %u%s, ops %" PRIu64 ", ", cfg->clients,
	    cfg->deliverer ? " +deliverer" : "", cfg->ops);
	if (cfg->replicas) {
		cm_buf_printf(l, "replicas %u", cfg->replicas);
		put_probability(l, " (partition", cfg->p_partition);
		cm_buf_printf(l, "), ");
	}
	put_mutants(l, cfg->mutants);
	put_probability(l, ", switch", cfg->p_switch);
	put_probability(l, ", crash", cfg->p_crash);
	put_probability(l, ", kill", cfg->p_kill);
	put_probability(l, ", enospc", cfg->p_enospc);
	put_probability(l, ", rename-failure", cfg->p_rename);
	put_probability(l, ", index-loss", cfg->p_index_loss);
	cm_buf_printf(l, ", checkpoint every ");
	if (cfg->checkpoint_every)
		cm_buf_printf(l, "%" PRIu32 " ops", cfg->checkpoint_every);
	else
		cm_buf_printf(l, "never");
	cm_buf_printf(l, ", log rotation at ");
	if (cfg->log_rotate_bytes)
		cm_buf_printf(l, "%" PRIu32 " bytes, ", cfg->log_rotate_bytes);
	else
		cm_buf_printf(l, "the default, ");
	put_mix(l, &cfg->mix);
}

static json_t *mix_json(const rt_mix *m)
{
	json_t *weights = json_object();
	for (int k = 0; k < RT_WK_COUNT; k++)
		if (m->w[k])
			json_object_set_new(weights, rt_wk_name((rt_wk)k), json_integer(m->w[k]));
	return json_pack("{s:o, s:I, s:i, s:I}", "weights", weights,
			 "deleted_per_million", (json_int_t)m->deleted.per_million,
			 "boxes", m->boxes, "box_target", (json_int_t)m->box_target);
}

struct json_t *rt_shape_json(const rt_shape *cfg)
{
	json_t *mutants = json_array();
	for (unsigned bit = 1; bit != 0 && bit <= cfg->mutants; bit <<= 1)
		if (cfg->mutants & bit)
			json_array_append_new(mutants, json_string(mutant_name(bit)));
	json_t *o = json_pack("{s:i, s:b, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "clients", (int)cfg->clients, "deliverer", (int)cfg->deliverer,
			      "ops", (json_int_t)cfg->ops, "mutants", mutants,
			      "switch_per_million", (json_int_t)cfg->p_switch.per_million,
			      "crash_per_million", (json_int_t)cfg->p_crash.per_million,
			      "kill_per_million", (json_int_t)cfg->p_kill.per_million,
			      "enospc_per_million", (json_int_t)cfg->p_enospc.per_million,
			      "rename_failure_per_million", (json_int_t)cfg->p_rename.per_million,
			      "index_loss_per_million", (json_int_t)cfg->p_index_loss.per_million,
			      "checkpoint_every", (json_int_t)cfg->checkpoint_every,
			      "log_rotate_bytes", (json_int_t)cfg->log_rotate_bytes);
	json_object_set_new(o, "mix", mix_json(&cfg->mix));
	if (cfg->replicas) {
		json_object_set_new(o, "replicas", json_integer(cfg->replicas));
		json_object_set_new(o, "partition_per_million",
				    json_integer(cfg->p_partition.per_million));
	}
	return o;
}
