/* The `ratchet` command line: subcommands, the files they touch, and an
 * internal error's last acts. */
#ifndef RT_CLI_H
#define RT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"
#include "model.h"
#include "checker.h"
#include "campaign.h"

/* ---- the files a command touches (paths.c) ---- */

typedef struct rt_path {
	const char *what;           /* "--report", "the history", ... */
	const char *path;           /* NULL: not given (skipped) */
	bool input;
} rt_path;

/* Before any work: every input can be read (an input "-" is stdin), every
 * output can be written (its directory exists and is writable, it is not
 * a directory), and no two outputs, nor an output and an input, are one
 * file. 0, or -1 with err filled (one line naming the option and path). */
int rt_paths_check(const rt_path *paths, size_t n, cm_err *err);
/* rt_paths_check for command cmd: CM_EXIT_CLEAN, or CM_EXIT_USAGE after
 * the one-line error "ratchet: CMD: ...". */
int rt_paths_refuse(const char *cmd, const rt_path *paths, size_t n);

/* ---- the scenario catalogue (catalogue.c) ---- */

/* The catalogue folder: the installed one beside the running binary
 * (BINDIR/../share/ratchet/scenarios), else the source tree's, else the
 * install prefix's; NULL when none exists. Static storage. */
const char *rt_cmd_catalogue_dir(void);
/* `ratchet explore`'s argument as a path (malloc'd, the caller frees): arg
 * itself when it exists or names a path (has a '/'); else a name in the
 * catalogue: "scenarios" is the catalogue, NAME or NAME.scn a scenario
 * of it. NULL after a one-line error for a name the catalogue lacks. */
char *rt_cmd_catalogue_resolve(const char *arg);

/* ---- the version (the commit is rt_version.c's, written at build time
 * by version.cmake: "unknown" outside a git work tree) ---- */
extern const char rt_cmd_commit[];

/* ---- commands (argv[0] is the subcommand name) ---- */
int rt_cmd_run(int argc, char **argv);
int rt_cmd_replay(int argc, char **argv);
int rt_cmd_check(int argc, char **argv);
/* `ratchet explore`: CM_EXIT_CLEAN when every scenario's bound (with
 * --target: every command order) is covered without a violation,
 * CM_EXIT_VIOLATIONS when a schedule or order fails, CM_EXIT_USAGE for a
 * bad option or scenario file or a target that cannot be reached or set
 * up, CM_EXIT_INTERNAL when a run is not deterministic. */
int rt_cmd_explore(int argc, char **argv);
/* `ratchet replay` of a target "explore" file (the scenario and its
 * schedule), every event to hist when not NULL (the caller finishes
 * it): the same exit codes as rt_cmd_replay. */
int rt_replay_explore(const char *file, const rt_replay *rp, unsigned mutants,
		      model_history_writer *hist);
/* `ratchet explore --target`: the state its scenarios share
 * (cmd_explore_target.c). */
struct rt_wire_explore;
struct json_t;
typedef struct rt_explore_target {
	struct rt_wire_explore *x;  /* the open target */
	uint64_t max_execs;         /* orders per scenario (0: all) */
	uint64_t order;             /* --order: only this one */
	bool order_given;
	bool quiet;
	struct json_t *json;        /* the report's scenarios (appended to) */
	int exit_code;              /* the worst so far */
} rt_explore_target;
/* One scenario file's command orders against t->x: printed, added to
 * t->json, its verdict into t->exit_code; a failing order's history and
 * replay file are written to the current directory. */
void rt_explore_target_file(rt_explore_target *t, const char *file);
/* `ratchet replay` of a command order against a real server (an explore
 * replay file with "server"): that order of the scenario again, against
 * url (the file keeps no password; NULL: a one-line error asking for
 * it), its history to history when not NULL. CM_EXIT_CLEAN, _VIOLATIONS,
 * or CM_EXIT_USAGE after one error line (no URL, a scenario that changed
 * since, a server that cannot be reached or set up). */
int rt_replay_explore_target(const char *file, const rt_replay *rp, const char *url,
			     const char *history);
/* `ratchet --list-invariants [--json]` (argv[0] is the option): the
 * catalogue, one line per invariant (ID, family letter, severity, what it
 * says) or a JSON array. CM_EXIT_CLEAN, or CM_EXIT_USAGE after a one-line
 * error for another argument. */
int rt_cmd_list_invariants(int argc, char **argv);
/* `ratchet check`'s work without the command line: every run in the
 * stream (one header each) through its own checker, into r (already
 * initialised). CM_EXIT_CLEAN, or CM_EXIT_USAGE after a one-line error
 * ("check: NAME: line N: ...") for input that is not a valid history. */
int rt_check_stream(FILE *in, const char *name, bool no_derived, rt_report *r);

/* ---- `ratchet run`'s command line (opts.c) ---- */

/* Parses argv; returns -1 to go on, or the exit code to return (--help
 * and --list-mutants: 0, bad usage: 2 after a one-line error). */
int rt_opts_parse(rt_opts *o, int argc, char **argv);

#endif
