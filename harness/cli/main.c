/* ratchet: command dispatch. */
#include "cli.h"
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"run", rt_cmd_run, "the main job: a campaign on the embedded store, or --target a server"},
	{"check", rt_cmd_check, "check a recorded history (JSON Lines, docs/history.md)"},
	{"replay", rt_cmd_replay, "run a replay file again (a failure's minimal case)"},
	{"explore", rt_cmd_explore, "every schedule of a scenario up to a preemption bound"},
	{"bench", rt_cmd_bench, "measure the hot paths; --json prints one JSON object"},
};

static int usage(FILE *to)
{
	fputs("usage: ratchet COMMAND [OPTIONS]\n\ncommands:\n", to);
	for (size_t i = 0; i < CM_ARRAY_LEN(commands); i++)
		fprintf(to, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\n'ratchet COMMAND --help' for its options.\n"
	      "'ratchet --list-invariants [--json]' lists the invariants checked.\n", to);
	return to == stdout ? CM_EXIT_CLEAN : CM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	rt_salvage_arm(); /* an internal error exits 3, saving what it can */
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--list-invariants") == 0)
		return rt_cmd_list_invariants(argc - 1, argv + 1);
	for (size_t i = 0; i < CM_ARRAY_LEN(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	cm_error("unknown command '%s' (try 'ratchet help')", argv[1]);
	return CM_EXIT_USAGE;
}
