/* `ratchet bench`: runs the benchmark suites and prints their figures, as a
 * table or as one JSON object {"results": [{"name", "unit", "value"}]}. */
#include "bench.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_bench_add(rt_bench *b, const char *name, const char *unit, double value)
{
	CM_GROW(b->v, b->cap, b->n + 1);
	rt_bench_result *r = &b->v[b->n++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->unit = unit;
	r->value = value;
	if (b->verbose)
		fprintf(stderr, "  %-28s %14.1f %s\n", name, value, unit);
}

bool rt_bench_wanted(const rt_bench *b, const char *name)
{
	return b->only == NULL || strncmp(name, b->only, strlen(b->only)) == 0;
}

static int bench_usage(void)
{
	fputs("usage: ratchet bench [--json] [--quick] [--only PREFIX] [--dir DIR]\n"
	      "                     [--dovecot URL]\n"
	      "  --json         print one JSON object {\"results\": [...]}\n"
	      "  --quick        short runs (smoke test; figures are rough)\n"
	      "  --only PREFIX  only benchmarks whose name starts with PREFIX\n"
	      "  --dir DIR      real directory for the .disk figures (default /var/tmp)\n"
	      "  --dovecot URL  imap://USER:PASS@127.0.0.1:PORT of a local Dovecot for\n"
	      "                 wire.dovecot.* (default $RATCHET_BENCH_DOVECOT; none: skipped)\n",
	      stderr);
	return CM_EXIT_USAGE;
}

int rt_cmd_bench(int argc, char **argv)
{
	rt_bench b = {.dir = "/var/tmp", .dovecot = getenv("RATCHET_BENCH_DOVECOT")};
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--quick") == 0)
			b.quick = true;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			b.only = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			b.dir = argv[++i];
		else if (strcmp(argv[i], "--dovecot") == 0 && i + 1 < argc)
			b.dovecot = argv[++i];
		else if (strcmp(argv[i], "--help") == 0)
			return bench_usage(), CM_EXIT_CLEAN;
		else {
			cm_error("bench: unknown option '%s'", argv[i]);
			return bench_usage();
		}
	}
	b.verbose = !json;
	int rc = rt_bench_store(&b);
	rc |= rt_bench_sim(&b);
	rc |= rt_bench_client(&b);
	rc |= rt_bench_fuzz(&b);
	rc |= rt_bench_wire(&b);
	if (json) {
		json_t *results = json_array();
		for (size_t i = 0; i < b.n; i++)
			json_array_append_new(results,
				json_pack("{s:s, s:s, s:f}", "name", b.v[i].name,
					  "unit", b.v[i].unit, "value", b.v[i].value));
		json_t *top = json_pack("{s:o}", "results", results);
		char *text = json_dumps(top, JSON_INDENT(1));
		puts(text);
		free(text);
		json_decref(top);
	}
	free(b.v);
	return rc ? CM_EXIT_INTERNAL : CM_EXIT_CLEAN;
}
