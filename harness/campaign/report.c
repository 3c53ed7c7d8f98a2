/* Reports: the run summary for people, JSON for tools, JUnit XML for CI. */
#include "campaign.h"
#include "latency.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void rt_report_init(rt_report *r, uint64_t seed, const char *target)
{
	memset(r, 0, sizeof(*r));
	r->seed = seed;
	snprintf(r->target, sizeof(r->target), "%s", target);
}

void rt_report_free(rt_report *r)
{
	free(r->v);
	free(r->v_run);
	free(r->shapes);
	free(r->latency);
	r->latency = NULL;
	r->v = NULL;
	r->v_run = NULL;
	r->nv = r->capv = r->capv_run = 0;
	r->shapes = NULL;
	r->nshapes = r->capshapes = 0;
}

static void add_violations(rt_report *r, uint32_t run, const model_violation *v,
			   size_t n)
{
	for (size_t i = 0; i < n && r->nv < 1000; i++) {
		CM_GROW(r->v, r->capv, r->nv + 1);
		CM_GROW(r->v_run, r->capv_run, r->nv + 1);
		r->v[r->nv] = v[i];
		r->v_run[r->nv] = run;
		r->nv++;
	}
}

static void add_stats(rt_report *r, const model_checker_stats *st)
{
	for (int i = 0; i < MODEL_INV_COUNT; i++) {
		r->violations[i] += st->violations[i];
		if (st->skipped[i])
			r->skipped[i] = true;
	}
	r->errors += st->errors;
	r->warnings += st->warnings;
	r->adds_checked += st->adds_checked;
	r->checked_any = true;
}

static void add_shape(rt_report *r, uint32_t run, const rt_run_out *out)
{
	CM_GROW(r->shapes, r->capshapes, r->nshapes + 1);
	if (out->stats.errors > 0 && !r->failed) {
		r->failed = true;
		r->failed_shape = r->nshapes;
	}
	r->shapes[r->nshapes].run = run;
	r->shapes[r->nshapes].shape = out->cfg;
	r->nshapes++;
}

void rt_report_add_run(rt_report *r, uint32_t run, const rt_run_out *out)
{
	r->runs++;
	r->ops += out->sim.ops;
	r->events += out->sim.events;
	r->switches += out->sim.switches;
	r->checkpoints += out->sim.checkpoints;
	r->decisions += out->sim.decisions;
	for (int i = 0; i < 8; i++)
		r->faults[i] += out->sim.faults[i];
	r->replicated += out->cfg.replicas ? 1 : 0;
	r->syncs += out->sim.syncs;
	r->syncs_failed += out->sim.syncs_failed;
	r->fixups += out->sim.fixups;
	r->conflicts += out->sim.conflicts;
	unsigned cl = out->cfg.clients;
	if (r->clients_min == 0 || cl < r->clients_min)
		r->clients_min = cl;
	if (cl > r->clients_max)
		r->clients_max = cl;
	add_stats(r, &out->stats);
	add_violations(r, run, out->v, out->nv);
	add_shape(r, run, out);
}

void rt_report_add_checker(rt_report *r, uint32_t run, const model_checker *c)
{
	size_t n;
	const model_violation *v = model_checker_violations(c, &n);
	const model_checker_stats *st = model_checker_get_stats(c);
	r->events += st->events;
	r->ops += st->ops;
	add_stats(r, st);
	add_violations(r, run, v, n);
}

/* ---- text ---- */

static const char *sev_name(model_severity s)
{
	return s == MODEL_SEV_ERROR ? "error" : "warning";
}

void rt_violation_print(const model_violation *v, FILE *out, bool color)
{
	const model_inv_info *info = model_inv_get(v->inv);
	const char *on = "", *off = "";
	if (color) {
		on = v->severity == MODEL_SEV_ERROR ? "\033[1;31m" : "\033[1;33m";
		off = "\033[0m";
	}
	fprintf(out, "%s%s%s %s", on, v->severity == MODEL_SEV_ERROR ? "ERROR" : "WARNING",
		off, info->id);
	/* Mailbox names and details quote the server: escaped (cm_escape). */
	if (v->mailbox[0]) {
		fputc(' ', out);
		cm_escape_puts(out, v->mailbox);
	}
	if (v->uid)
		fprintf(out, " uid %" PRIu32, v->uid);
	if (v->client)
		fprintf(out, " client %" PRIu32, v->client);
	fputs(": ", out);
	cm_escape_puts(out, v->detail);
	if (v->events[0]) {
		fputs(" [ops", out);
		for (int i = 0; i < 4 && v->events[i]; i++)
			fprintf(out, " %" PRIu64, v->events[i]);
		fputc(']', out);
	}
	fputc('\n', out);
}

static const char *const fault_names[8] = {"", "crash", "kill", "enospc",
					   "rename-failure", "index-loss", "", ""};

/* The shape of the first failing run, or of the only one. */
static void print_shape(const rt_report *r, FILE *out)
{
	if (!r->failed && r->nshapes != 1)
		return;
	size_t i = r->failed ? r->failed_shape : 0;
	cm_buf line = {0};
	rt_shape_format(&r->shapes[i].shape, &line);
	fprintf(out, "  shape of run %" PRIu32 ": %s\n", r->shapes[i].run, line.data);
	cm_buf_free(&line);
}

void rt_report_print(const rt_report *r, FILE *out, bool color)
{
	fputc('\n', out);
	cm_escape_puts(out, r->target); /* a history's header names it */
	fprintf(out, ": %" PRIu64 " runs, %" PRIu64 " ops, %" PRIu64 " events in %.1f s"
		" (%.0f ops/s)\n", r->runs, r->ops, r->events, r->seconds,
		r->seconds > 0 ? (double)r->ops / r->seconds : 0.0);
	if (r->runs > 0)
		fprintf(out, "  clients %u-%u, %" PRIu64 " client switches, %" PRIu64
			" quiet checkpoints, %" PRIu64 " decisions\n", r->clients_min,
			r->clients_max, r->switches, r->checkpoints, r->decisions);
	bool any_fault = false;
	for (int i = 1; i < 6; i++)
		any_fault |= r->faults[i] != 0;
	if (any_fault) {
		fputs("  faults injected:", out);
		for (int i = 1; i < 6; i++)
			if (r->faults[i])
				fprintf(out, " %s %" PRIu64, fault_names[i], r->faults[i]);
		fputc('\n', out);
	}
	if (r->replicated)
		fprintf(out, "  replication: %" PRIu64 " replicated runs, %" PRIu64 " syncs (%"
			PRIu64 " failed), %" PRIu64 " partitions, %" PRIu64 " UID fix-ups, %"
			PRIu64 " flag conflicts\n", r->replicated, r->syncs, r->syncs_failed,
			r->faults[MODEL_FAULT_PARTITION], r->fixups, r->conflicts);
	if (r->wire)
		fprintf(out, "  outcome unknown: %" PRIu64 " ops (timeouts %" PRIu64
			", connections lost %" PRIu64 ", protocol errors %" PRIu64 ")\n",
			r->unknown, r->timeouts, r->connections_lost, r->protocol_errors);
	if (r->latency != NULL)
		rt_latency_print(r->latency, out);
	if (r->deliver[0])
		fprintf(out, "  deliveries by %s: %" PRIu64 " acknowledged, %" PRIu64
			" refused, %" PRIu64 " outcome unknown\n", r->deliver, r->delivered,
			r->refused, r->deliveries_unknown);
	if (r->failure[0]) {
		fputs("  failed: ", out);
		cm_escape_puts(out, r->failure);
		fputc('\n', out);
	}
	if (r->errors + r->warnings == 0) {
		fprintf(out, "  %sno violations%s\n", color ? "\033[1;32m" : "",
			color ? "\033[0m" : "");
	} else {
		fprintf(out, "  violations: %" PRIu64 " errors, %" PRIu64 " warnings\n",
			r->errors, r->warnings);
		for (int i = 0; i < MODEL_INV_COUNT; i++)
			if (r->violations[i])
				fprintf(out, "    %-28s %" PRIu64 "\n", model_inv_get(i)->id,
					r->violations[i]);
	}
	int skipped = 0;
	for (int i = 0; i < MODEL_INV_COUNT; i++)
		skipped += r->skipped[i];
	if (skipped) {
		fputs("  checks skipped:", out);
		for (int i = 0; i < MODEL_INV_COUNT; i++)
			if (r->skipped[i])
				fprintf(out, " %s", model_inv_get(i)->id);
		fputc('\n', out);
	}
	print_shape(r, out);
	if (r->shrunk)
		fprintf(out, "  shrunk: %" PRIu64 " ops -> %" PRIu64 " ops (%u attempts)\n",
			r->original_ops, r->minimal_ops, r->shrink_attempts);
	if (r->minimal_replay[0])
		fprintf(out, "  replay the minimal case: ratchet replay %s\n", r->minimal_replay);
	if (r->replay[0])
		fprintf(out, "  replay the failing run:  ratchet replay %s\n", r->replay);
}

/* ---- JSON ---- */

static json_t *caps_json(unsigned caps)
{
	json_t *a = json_array();
	for (unsigned bit = 1; bit != 0; bit <<= 1)
		if ((caps & bit) && model_cap_name(bit) != NULL)
			json_array_append_new(a, json_string(model_cap_name(bit)));
	return a;
}

static json_t *violation_json(const model_violation *v, uint32_t run)
{
	json_t *events = json_array();
	for (int i = 0; i < 4 && v->events[i]; i++)
		json_array_append_new(events, json_integer((json_int_t)v->events[i]));
	const model_inv_info *info = model_inv_get(v->inv);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "invariant", info->id,
			      "severity", sev_name(v->severity),
			      "family", model_section_name(info->section),
			      "detail", v->detail, "events", events);
	if (v->mailbox[0]) {
		json_object_set_new(o, "mailbox", json_string(v->mailbox));
		json_object_set_new(o, "uidvalidity", json_integer(v->uidvalidity));
	}
	if (v->uid)
		json_object_set_new(o, "uid", json_integer(v->uid));
	if (v->client)
		json_object_set_new(o, "client", json_integer(v->client));
	json_object_set_new(o, "run", json_integer(run));
	json_object_set_new(o, "source", json_string(info->source));
	return o;
}

/* [{"run": N, "shape": {...}}, ...]: every simulated run's shape. */
static json_t *shapes_json(const rt_report *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->nshapes; i++)
		json_array_append_new(a, json_pack("{s:I, s:o}", "run",
						   (json_int_t)r->shapes[i].run, "shape",
						   rt_shape_json(&r->shapes[i].shape)));
	return a;
}

/* Each command kind's count and latency quantiles in milliseconds. */
static json_t *latency_json(const rt_latency *l)
{
	json_t *o = json_object();
	for (int i = 0; i < MODEL_OP_KIND_COUNT; i++) {
		const rt_latency_kind *k = &l->k[i];
		if (k->count == 0 && k->unknown == 0)
			continue;
		json_object_set_new(o, model_op_name((model_op_kind)i), json_pack(
			"{s:I, s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)k->count,
			"unknown", (json_int_t)k->unknown,
			"p50_ms", (double)rt_latency_quantile(k, 0.5) / 1e6,
			"p90_ms", (double)rt_latency_quantile(k, 0.9) / 1e6,
			"p99_ms", (double)rt_latency_quantile(k, 0.99) / 1e6,
			"max_ms", (double)k->max_ns / 1e6));
	}
	return o;
}

/* How the deliveries of a run with a delivery driver ended. */
static json_t *deliveries_json(const rt_report *r)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:f}", "driver", r->deliver,
			 "acknowledged", (json_int_t)r->delivered, "refused", (json_int_t)r->refused,
			 "unknown", (json_int_t)r->deliveries_unknown, "per_second",
			 r->seconds > 0 ? (double)r->delivered / r->seconds : 0.0);
}

int rt_report_write_json(const rt_report *r, const char *path)
{
	json_t *vs = json_array();
	for (size_t i = 0; i < r->nv; i++)
		json_array_append_new(vs, violation_json(&r->v[i], r->v_run[i]));
	json_t *by_id = json_object();
	for (int i = 0; i < MODEL_INV_COUNT; i++)
		if (r->violations[i])
			json_object_set_new(by_id, model_inv_get(i)->id,
					    json_integer((json_int_t)r->violations[i]));
	json_t *skipped = json_array();
	for (int i = 0; i < MODEL_INV_COUNT; i++)
		if (r->skipped[i])
			json_array_append_new(skipped, json_string(model_inv_get(i)->id));
	json_t *faults = json_object();
	for (int i = 1; i < 6; i++)
		json_object_set_new(faults, fault_names[i], json_integer((json_int_t)r->faults[i]));
	char seed[24];
	snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
	json_t *summary = json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:f, s:f, s:I, s:I, s:I, s:o, s:o,"
		" s:I, s:I, s:o, s:o}",
		"seed", seed, "target", r->target, "runs", (json_int_t)r->runs,
		"ops", (json_int_t)r->ops, "events", (json_int_t)r->events,
		"clients", (int)r->clients_max, "clients_min", (int)r->clients_min,
		"seconds", r->seconds,
		"ops_per_second", r->seconds > 0 ? (double)r->ops / r->seconds : 0.0,
		"interleavings", (json_int_t)r->switches,
		"checkpoints", (json_int_t)r->checkpoints,
		"decisions", (json_int_t)r->decisions,
		"faults_injected", faults, "violations_by_id", by_id,
		"errors", (json_int_t)r->errors, "warnings", (json_int_t)r->warnings,
		"checks_skipped", skipped, "capabilities", caps_json(r->capabilities));
	json_object_set_new(summary, "adds_checked", json_integer((json_int_t)r->adds_checked));
	if (r->mutant[0])
		json_object_set_new(summary, "mutant", json_string(r->mutant));
	if (r->wire)
		json_object_set_new(summary, "outcome_unknown",
			json_pack("{s:I, s:I, s:I, s:I}", "ops", (json_int_t)r->unknown,
				  "timeouts", (json_int_t)r->timeouts,
				  "connections_lost", (json_int_t)r->connections_lost,
				  "protocol_errors", (json_int_t)r->protocol_errors));
	if (r->replicated)
		json_object_set_new(summary, "replication",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "runs", (json_int_t)r->replicated,
				  "syncs", (json_int_t)r->syncs,
				  "syncs_failed", (json_int_t)r->syncs_failed,
				  "partitions", (json_int_t)r->faults[MODEL_FAULT_PARTITION],
				  "fixups", (json_int_t)r->fixups,
				  "conflicts", (json_int_t)r->conflicts));
	if (r->deliver[0])
		json_object_set_new(summary, "deliveries", deliveries_json(r));
	if (r->latency != NULL)
		json_object_set_new(summary, "latency", latency_json(r->latency));
	if (r->failure[0])
		json_object_set_new(summary, "failure", json_string(r->failure));
	if (r->replay[0])
		json_object_set_new(summary, "replay", json_string(r->replay));
	if (r->nshapes > 0)
		json_object_set_new(summary, "shapes", shapes_json(r));
	if (r->shrunk)
		json_object_set_new(summary, "shrunk",
			json_pack("{s:I, s:I, s:i, s:s}", "original_ops",
				  (json_int_t)r->original_ops, "minimal_ops",
				  (json_int_t)r->minimal_ops, "attempts",
				  (int)r->shrink_attempts, "replay", r->minimal_replay));
	json_t *top = json_pack("{s:o, s:o}", "violations", vs, "summary", summary);
	int rc = json_dump_file(top, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(top);
	return rc;
}

/* ---- JUnit XML: one testcase per invariant family ---- */

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

int rt_report_write_junit(const rt_report *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	static const char families[] = "ABCDEFGHI";
	const int ncases = (int)sizeof(families) - 1;
	int failures = 0, skipped_cases = 0;
	for (const char *fam = families; *fam; fam++) {
		bool any_error = false, all_skipped = true;
		for (int i = 0; i < MODEL_INV_COUNT; i++) {
			const model_inv_info *info = model_inv_get(i);
			if (info->section != *fam)
				continue;
			all_skipped &= r->skipped[i];
			for (size_t k = 0; k < r->nv; k++)
				any_error |= r->v[k].inv == (model_inv)i &&
					     r->v[k].severity == MODEL_SEV_ERROR;
		}
		failures += any_error;
		skipped_cases += all_skipped && !any_error;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"ratchet\" tests=\"%d\" failures=\"%d\" skipped=\"%d\" "
		"time=\"%.3f\">\n<testsuite name=\"", ncases, failures, skipped_cases,
		r->seconds);
	xml_escape(f, r->target);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
		ncases, failures, skipped_cases, r->seconds);
	for (const char *fam = families; *fam; fam++) {
		fputs("  <testcase classname=\"ratchet.invariants\" name=\"", f);
		xml_escape(f, model_section_name(*fam));
		fputs("\">\n", f);
		bool all_skipped = true;
		int n = 0;
		for (int i = 0; i < MODEL_INV_COUNT; i++)
			if (model_inv_get(i)->section == *fam)
				all_skipped &= r->skipped[i];
		for (size_t k = 0; k < r->nv; k++) {
			const model_inv_info *info = model_inv_get(r->v[k].inv);
			if (info->section != *fam || r->v[k].severity != MODEL_SEV_ERROR)
				continue;
			if (n++ == 0)
				fputs("    <failure type=\"violation\" message=\"", f);
			if (n == 1) {
				xml_escape(f, info->id);
				fputs("\">", f);
			}
			xml_escape(f, info->id);
			fputs(": ", f);
			xml_escape(f, r->v[k].detail);
			fputc('\n', f);
		}
		if (n > 0)
			fputs("</failure>\n", f);
		else if (all_skipped)
			fputs("    <skipped message=\"the target lacks the capabilities\"/>\n", f);
		fputs("  </testcase>\n", f);
	}
	fputs("</testsuite>\n</testsuites>\n", f);
	return fclose(f) == 0 ? 0 : -1;
}
