/* cm_options: one table per program that both parses its command line and
 * prints its usage (curl's tool_getparam.c is the model), so that no option
 * is parsed without a help line and no help line names an option that is
 * not parsed. Included by cm.h.
 *
 * Command-line grammar, the same for every program:
 *   --name VALUE, --name=VALUE   an option that takes a value (the next
 *                                argument is the value, whatever it is)
 *   --name, -x                   an option without one
 *   --help, -h                   the usage on stdout (never in a table)
 *   --help-man                   hidden: the table as roff on stdout
 *                                (cm_man.h), the whole page when the
 *                                spec has one
 *   -  and anything not starting with '-'   a positional argument
 * Options and positional arguments may come in any order; an option given
 * twice keeps its last value (CHOICE adds, COUNT counts). A mistake is one
 * line on stderr through cm_error, "PROGRAM: COMMAND: what, naming the
 * option and the value (try 'PROGRAM COMMAND --help')". */
#ifndef CM_OPTIONS_H
#define CM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What an option takes, and which member of cm_option.to it fills. */
typedef enum cm_option_kind {
	CM_OPTION_FLAG,    /* no value: *to.flag = true */
	CM_OPTION_COUNT,   /* no value: *to.count += 1 each time (-v -v) */
	CM_OPTION_STRING,  /* *to.string = the value as typed */
	CM_OPTION_U64,     /* *to.u64: cm_parse_u64 within [min, max] */
	CM_OPTION_SECONDS, /* *to.seconds: digits with at most one '.' ("0.5",
			    * "30"), above 0 and within [min_s, max_s] */
	CM_OPTION_CHOICE,  /* *to.choice |= 1 << i for each name, comma-
			    * separated, that is names[i] in any case; "" adds
			    * none. Repeats add up: a set such as mutants */
} cm_option_kind;

/* One entry of a table. A table is an array of designated initialisers,
 * built where the variables it points at are (kind 0 is FLAG):
 *   {.name = "quiet", .to.flag = &quiet, .help = "no progress line"},
 *   {.name = "seed", .kind = CM_OPTION_U64, .to.u64 = &seed, .arg = "N",
 *    .help = "the seed", .max = INT64_MAX},
 * An entry without a name, {.help = "..."}, is a heading: a line of its
 * own in the usage, between groups of options. */
typedef struct cm_option {
	const char *name;       /* long name, without "--" */
	char short_name;        /* -x as well; 0: none */
	cm_option_kind kind;
	union {
		bool *flag;
		unsigned *count;
		const char **string;
		uint64_t *u64;
		double *seconds;
		uint64_t *choice;
	} to;                   /* where the value goes: the member of kind */
	const char *arg;        /* the value's placeholder ("N", "FILE");
				 * NULL for FLAG and COUNT */
	const char *help;       /* one line; a '\n' goes on in the help column */
	uint64_t min, max;      /* U64: the range, inclusive */
	double min_s, max_s;    /* SECONDS: the range, inclusive (0 never) */
	const char *const *names; /* CHOICE: NULL-terminated, at most 64 */
	bool *given;            /* not NULL: set true when the option is given */
} cm_option;

/* A program's command line: its name, its table and its positional
 * arguments. */
typedef struct cm_options {
	const char *program;    /* "ratchet-imapd": usage line, --help hint (the
				 * error lines' name is cm_error_program's) */
	const char *command;    /* "run": after the program in both; or NULL */
	const char *synopsis;   /* the usage line after the command; NULL:
				 * "[options]" then args_name */
	const cm_option *options;
	size_t noptions;
	const char **args;      /* the positional arguments, in order */
	size_t nargs;           /* exactly this many (0: none allowed) */
	const char *args_name;  /* "HISTORY.jsonl": for "missing ..." */
	const struct cm_man_page *man; /* --help-man prints this page around
				 * the options; NULL: the options alone (a
				 * command's part of its program's page) */
} cm_options;

/* What cm_options_parse did; cm_options_exit gives a program's exit code. */
typedef enum cm_options_result {
	CM_OPTIONS_OK,    /* parsed: every given option stored, args filled */
	CM_OPTIONS_HELP,  /* --help or --help-man: the usage or the man page
			   * is on stdout; exit clean */
	CM_OPTIONS_USAGE, /* a mistake: its one line is on stderr; exit 2 */
} cm_options_result;

/* Parses argv[1..argc) by spec (argv[0] is the program or command name).
 * Options not given keep what the caller put there first: defaults are
 * set before the call. Checks that join two options are the caller's,
 * after the call. */
cm_options_result cm_options_parse(const cm_options *spec, int argc, char **argv);
/* The usage line, then a line per option (and heading), then --help. */
void cm_options_usage(const cm_options *spec, FILE *out);
/* CM_EXIT_CLEAN for CM_OPTIONS_HELP, CM_EXIT_USAGE for CM_OPTIONS_USAGE. */
int cm_options_exit(cm_options_result r);

#endif
