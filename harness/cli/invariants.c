/* `ratchet --list-invariants [--json]`: the invariant catalogue as the
 * program has it (model/vocabulary/inv.c), so that tools and tests read
 * the IDs from here instead of keeping copies. */
#include "cli.h"

#include <jansson.h>
#include <string.h>

static const char *severity_name(model_severity s)
{
	return s == MODEL_SEV_ERROR ? "error" : "warning";
}

/* [{id, family, severity, derived, rfc, summary, gated_by}, ...] in
 * catalogue order; gated_by is the capability name or null. */
static json_t *catalogue_json(void)
{
	json_t *a = json_array();
	for (int i = 0; i < MODEL_INV_COUNT; i++) {
		const model_inv_info *info = model_inv_get((model_inv)i);
		const char *gate = info->gated_by ? model_cap_name(info->gated_by) : NULL;
		json_array_append_new(a, json_pack(
			"{s:s, s:s, s:s, s:b, s:s, s:s, s:o}", "id", info->id,
			"family", model_section_name(info->section),
			"severity", severity_name(info->severity), "derived", (int)info->derived,
			"rfc", info->source, "summary", info->summary,
			"gated_by", gate ? json_string(gate) : json_null()));
	}
	return a;
}

/* One line each: ID, family letter, default severity, what it says. */
static void catalogue_text(FILE *out)
{
	for (int i = 0; i < MODEL_INV_COUNT; i++) {
		const model_inv_info *info = model_inv_get((model_inv)i);
		fprintf(out, "%-26s %c %-7s %s\n", info->id, info->section,
			severity_name(info->severity), info->summary);
	}
}

int rt_cmd_list_invariants(int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			cm_error("--list-invariants: unexpected argument '%s' (only --json)",
				 argv[i]);
			return CM_EXIT_USAGE;
		}
	}
	if (!json) {
		catalogue_text(stdout);
		return CM_EXIT_CLEAN;
	}
	json_t *a = catalogue_json();
	int rc = json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (rc != 0 || fputc('\n', stdout) == EOF) {
		cm_error("--list-invariants: cannot write the list");
		return CM_EXIT_INTERNAL;
	}
	return CM_EXIT_CLEAN;
}
