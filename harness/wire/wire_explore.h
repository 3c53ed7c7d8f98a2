/* Command orders of a scenario against a real IMAP server: `ratchet
 * explore SCENARIO --target imap://...` (docs/explore.md, "Against a real
 * server"). Every interleaving of the clients' commands (orders.h) runs
 * once, sequentially, on fresh mailboxes under the run's prefix, and is
 * judged by a fresh checker. The server's own internals are not
 * scheduled: only the order in which whole commands reach it. */
#ifndef RT_WIRE_EXPLORE_H
#define RT_WIRE_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "model.h"
#include "scenario.h"

typedef struct rt_wire_explore rt_wire_explore;

typedef struct rt_wire_explore_opts {
	const char *target;          /* imap://USER:PASS@HOST:PORT */
	const char *mailbox_prefix;  /* NULL: "ratchet-explore" */
	bool reuse;                  /* clear a prefix that holds messages */
	double timeout;              /* per command, seconds (0: 10) */
} rt_wire_explore_opts;

typedef struct rt_wire_explore_result {
	uint64_t orders;             /* the scenario's orders (UINT64_MAX: more
				      * than 64 bits count) */
	uint64_t run;                /* orders run */
	uint64_t first;              /* the number of the first one run */
	bool complete;               /* every order ran (and none failed to
				      * be set up) */
	uint64_t failing;            /* orders with an error */
	uint64_t warnings;           /* warnings, all orders */
	bool failed_inv[MODEL_INV_COUNT]; /* what the failing orders broke */
	uint64_t states;             /* distinct end states (the final audit) */
	double seconds;
	/* The first failing order. */
	bool failed;
	model_violation fail;        /* its first error */
	uint64_t fail_index;         /* its number in the enumeration */
	uint32_t *fail_order;        /* client index of each command */
	size_t nfail_order;
	cm_buf fail_words;           /* the order in words */
	cm_buf fail_history;         /* its events, JSON Lines (docs/history.md) */
	cm_buf last_history;         /* the last order's events, failing or not */
} rt_wire_explore_result;

/* Connects to o->target with an admin connection, logs in, learns the
 * capabilities and names the run's prefix (refused when it holds
 * messages, unless o->reuse). CM_EXIT_CLEAN with *x, or CM_EXIT_USAGE
 * after one error line (bad URL, unreachable server, failed login,
 * refused prefix) and *x NULL. */
int rt_wire_explore_open(const rt_wire_explore_opts *o, rt_wire_explore **x);
/* The target's URL without the password. */
const char *rt_wire_explore_display(const rt_wire_explore *x);
/* Runs the orders of sc numbered first, first + 1, ... (at most max of
 * them; 0: all), each judged; r gets the tally (rt_wire_explore_result_
 * free it). CM_EXIT_CLEAN when every order ran and was judged (r->failed
 * says whether one broke an invariant), CM_EXIT_USAGE after one error
 * line when an order could not be set up or run as written (a mailbox
 * refused, a session that cannot log in, a starting message whose UID
 * is not the one the scenario names, a step the server cannot run as
 * written, a lost connection): the orders before it stay counted. */
int rt_wire_explore_run(rt_wire_explore *x, const rt_scenario *sc, uint64_t first,
			uint64_t max, rt_wire_explore_result *r);
/* Deletes the run's prefix (if it made it) and closes. */
void rt_wire_explore_close(rt_wire_explore *x);
void rt_wire_explore_result_free(rt_wire_explore_result *r);

#endif
