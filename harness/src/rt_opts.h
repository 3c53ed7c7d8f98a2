/* Options of `ratchet run` (simulated or wire). */
#ifndef RT_OPTS_H
#define RT_OPTS_H

#include "rt.h"

typedef struct rt_opts {
	uint64_t seed;
	unsigned clients;
	uint64_t ops;
	double seconds;
	uint64_t runs;
	const char *mutant;
	unsigned mutants;
	const char *report, *junit, *history;
	bool keep_going, no_shrink, quiet;
	double shrink_seconds;
	/* wire target */
	const char *target;
	char target_display[128];   /* the URL without the password */
	const char *mailbox_prefix;
	bool keep, allow_inbox, reuse;
	double timeout;             /* per command, seconds */
	uint32_t box_size;          /* trim mailboxes above this (0: never) */
	/* --max-unknown: fail a wire run when more recorded ops than this
	 * ended with outcome unknown; a count, or with max_unknown_pct a
	 * percentage (0-100) of the recorded ops. Default 50%. */
	uint64_t max_unknown;
	bool max_unknown_pct;
	bool ops_set, seconds_set;
} rt_opts;

/* Parses argv; returns -1 to go on, or the exit code to return (help: 0,
 * bad usage: 2 after a one-line error). */
int rt_opts_parse(rt_opts *o, int argc, char **argv, void (*usage)(FILE *out));

/* Whether a wire run with `unknown` of `ops` recorded ops of outcome
 * unknown passes --max-unknown: true, or false with why filled (one line
 * naming the counts and the limit). */
bool rt_opts_unknown_ok(const rt_opts *o, uint64_t unknown, uint64_t ops, char *why,
			size_t whylen);

/* wire.c */
int rt_wire_campaign(const rt_opts *o, rt_report *r);

#endif
