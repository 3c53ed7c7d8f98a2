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
	      "'ratchet --list-invariants [--json]' lists the invariants checked.\n"
	      "'ratchet --version' prints the version and the commit it was built from.\n", to);
	return to == stdout ? CM_EXIT_CLEAN : CM_EXIT_USAGE;
}

/* `ratchet --help-man`: ratchet(1), each command's part from its own
 * table (the command run with --help-man), the rest from here. */
static const char *const man_synopsis[] = {
	"ratchet COMMAND [options] [ARGUMENT]", "ratchet --list-invariants [--json]",
	"ratchet --version", NULL,
};
static const char *const man_exits[] = {
	"0", "clean: ran and found no violation (also --help, --version)",
	"1", "violations: the checker refuted an invariant (or a wire run exceeded "
	"--max-unknown)",
	"2", "usage, bad input or set-up error: one line on standard error, before any work "
	"where it can be found before",
	"3", "internal error: a bug of ratchet's own; what could be saved is saved", NULL,
};
static const cm_man_page man_page = {
	.program = "ratchet", .version = RATCHET_VERSION, .synopsis = man_synopsis,
	.summary = "a conformance and race-fuzzing harness for IMAP mail stores",
	.description = "ratchet drives concurrent deliveries, COPY/MOVE, STORE (with "
	"UNCHANGEDSINCE), expunges and resyncs against a mail store, in interleavings "
	"chosen from a seed, records what every client saw, and proves or refutes the "
	"invariants it lists with --list-invariants. The store is its embedded reference "
	"store, simulated deterministically, or any IMAP server (--target).\n\n"
	"ratchet explore finds the scenario catalogue installed with it "
	"(share/ratchet/scenarios beside its bin/): \"ratchet explore move-vs-fetch\" "
	"explores one scenario of it, \"ratchet explore scenarios\" all of them.",
	.exits = man_exits, .see_also = "ratchet-imapd(1), rs-deliver(1)",
};

static void man_option(const char *tag, const char *help)
{
	fputs(".TP\n\\fB", stdout);
	cm_man_text(stdout, tag);
	fputs("\\fR\n", stdout);
	cm_man_text(stdout, help);
	fputc('\n', stdout);
}

static int man(void)
{
	cm_man_head(&man_page, NULL, stdout);
	fputs(".SH COMMANDS\n", stdout);
	for (size_t i = 0; i < CM_ARRAY_LEN(commands); i++)
		man_option(commands[i].name, commands[i].help);
	fputs(".SH OPTIONS\n", stdout);
	man_option("--list-invariants [--json]", "the invariants checked, one line each (ID, "
		   "family, severity, what it says), or with --json a JSON array");
	man_option("--version", "the version and the git commit ratchet was built from");
	man_option("--help", "the commands, on standard output");
	for (size_t i = 0; i < CM_ARRAY_LEN(commands); i++) {
		char *argv[] = {(char *)commands[i].name, "--help-man", NULL};
		int rc = commands[i].fn(2, argv);
		if (rc != CM_EXIT_CLEAN)
			return rc;
	}
	cm_man_tail(&man_page, stdout);
	return fflush(stdout) == 0 ? CM_EXIT_CLEAN : CM_EXIT_INTERNAL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	rt_salvage_arm(); /* an internal error exits 3, saving what it can */
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0) {
		printf("ratchet %s (commit %s)\n", RATCHET_VERSION, rt_cmd_commit);
		return CM_EXIT_CLEAN;
	}
	if (strcmp(argv[1], "--help-man") == 0)
		return man();
	if (strcmp(argv[1], "--list-invariants") == 0)
		return rt_cmd_list_invariants(argc - 1, argv + 1);
	for (size_t i = 0; i < CM_ARRAY_LEN(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	cm_error("unknown command '%s' (try 'ratchet help')", argv[1]);
	return CM_EXIT_USAGE;
}
