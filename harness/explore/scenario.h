/* Scenarios (scenarios/README.md): named, fixed concurrent programs, read
 * from text files, turned into the simulator's scripted runs. */
#ifndef RT_SCENARIO_H
#define RT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "model.h"
#include "expect.h"
#include "checker.h"

#define RT_SCENARIO_CLIENTS_MAX 4
#define RT_SCENARIO_STEPS_MAX 16
#define RT_SCENARIO_MESSAGES_MAX 32
#define RT_SCENARIO_TEXT_MAX 200
#define RT_SCENARIO_VAR_MAX 16
#define RT_SCENARIO_EXPECT_MAX 4   /* expectations per step */
#define RT_SCENARIO_VARS_MAX 32    /* $variables per client */

/* One op of a client's program, as written. */
typedef struct rt_scenario_step {
	model_op_kind kind;              /* APPEND and DELIVER: built here */
	char text[RT_SCENARIO_TEXT_MAX]; /* an IMAP command ($vars unsubstituted) */
	int box;                         /* APPEND, DELIVER: mailbox index */
	cm_flags flags;                  /* APPEND: the message's flags */
	char capture[RT_SCENARIO_VAR_MAX]; /* "=> $m": "m", or "" */
	unsigned line;
	rt_expect expect[RT_SCENARIO_EXPECT_MAX]; /* of its reply (expect.h) */
	unsigned expect_line[RT_SCENARIO_EXPECT_MAX];
	size_t nexpect;
} rt_scenario_step;

typedef struct rt_scenario_client {
	char name[16];
	bool agent;                      /* a delivery agent, not an IMAP client */
	bool syncs;                      /* ... the sync agent of a replicated
					  * scenario: its steps are SYNC MAILBOX */
	rt_scenario_step step[RT_SCENARIO_STEPS_MAX];
	size_t nsteps;
} rt_scenario_client;

typedef struct rt_scenario {
	char name[64];
	char about[256];
	char design[64];
	model_inv targets[8];            /* the invariants it is written for */
	size_t ntargets;
	unsigned bound;                  /* preemptions to explore */
	unsigned crashes;                /* store crashes a schedule may have */
	uint32_t killable;               /* clients (bit i: client[i]) that
					  * a schedule may kill, once each */
	char kill_names[RT_SCENARIO_CLIENTS_MAX][16]; /* as written, until
					  * the clients are known */
	unsigned kill_line;              /* the "kill:" line, for errors */
	int lose_log;                    /* "lose-log:" box, or -1 */
	unsigned caps;                   /* "capabilities:" it requires
					  * (MODEL_CAP_* bits) */
	uint32_t rotate_bytes;           /* "rotate-bytes:", or 0 */
	unsigned replicas;               /* "replicas:" 2, or 0: client i of
					  * a replicated one is on replica
					  * 1 + i % 2; a "sync" agent, last,
					  * syncs them (docs/replication.md) */
	int boxes;                       /* mailboxes: INBOX, Archive, Work, Junk */
	struct rt_scenario_message {
		int box;
		cm_flags flags;
	} msg[RT_SCENARIO_MESSAGES_MAX]; /* the starting messages, in order */
	size_t nmsg;
	/* IMAP clients first, then agents: client i has simulator id i + 1. */
	rt_scenario_client client[RT_SCENARIO_CLIENTS_MAX];
	size_t nclients, nagents;
} rt_scenario;

/* The mailbox names a scenario may use, by index. */
extern const char *const rt_scenario_boxes[4];
/* The index of mailbox name[0..n) among them (any case), or -1. */
int rt_scenario_box(const char *name, size_t n);

/* Reads and checks a scenario file. 0, or -1 with err holding
 * "PATH:LINE:COL: what" (nothing to free either way). */
int rt_scenario_load(const char *path, rt_scenario *sc, cm_err *err);
/* Reads one from text (path names it in errors). 0, or -1 as above. */
int rt_scenario_parse(const char *path, const char *text, size_t len,
		      rt_scenario *sc, cm_err *err);

/* Variables a client captured while a scripted run goes: name -> value
 * (by a step's "=> $m" or an expectation's "$m"; rt_scenario_load checked
 * that a client names at most RT_SCENARIO_VARS_MAX, so all fit). */
typedef struct rt_scenario_vars {
	char name[RT_SCENARIO_VARS_MAX][RT_SCENARIO_VAR_MAX];
	uint64_t value[RT_SCENARIO_VARS_MAX];
	size_t n;
} rt_scenario_vars;

/* The op of a step, $vars substituted (a variable not yet captured is 0),
 * msg_seq numbering APPEND/DELIVER message ids. 0, or -1 with err when the
 * command does not parse (rt_scenario_load checked that it does with
 * every variable at 1). */
int rt_scenario_step_op(const rt_scenario_step *st, const rt_scenario_vars *vars,
			uint64_t msg_seq, model_op *op, cm_err *err);
/* A step as written, with its line, appended to out: "UID FETCH 1
 * (MODSEQ) (line 12)", "APPEND INBOX (line 9)". */
void rt_scenario_step_words(const rt_scenario_step *st, cm_buf *out);
/* A command order (orders.h: the client index of each command, in turn)
 * in words, replacing what out held: "B: UID STORE 1 +FLAGS (\Flagged)
 * (line 14), then A: ...". seq must hold each client's steps at most. */
void rt_scenario_order_words(const rt_scenario *sc, const uint32_t *seq, size_t len,
			     cm_buf *out);
/* After a step's reply: its capture gets the MODSEQ of the reply's first
 * FETCH that has one (0 when none does). */
void rt_scenario_capture(const rt_scenario_step *st, const model_result *res,
			 rt_scenario_vars *vars);
/* A scenario run's verdict: the checker's errors, then the first unmet
 * expectation (expect, NULL when all were met), each one's invariant
 * marked in failed (MODEL_INV_COUNT of them). Returns the first error (the
 * checker's first: it is the oracle), or NULL when the run passed. */
/* The first expectation a run left unmet (failed false: none yet). */
typedef struct rt_scenario_unmet {
	bool failed;
	model_violation v;         /* SCENARIO-EXPECT, when failed */
} rt_scenario_unmet;

const model_violation *rt_scenario_verdict(const model_checker *c,
					   const rt_scenario_unmet *unmet, bool *failed);
/* After client c's reply res to its step st (op op_id of simulator or
 * wire client id): its expectations (expect.h), binding $vars; the
 * first of the run that fails goes into *unmet, as the SCENARIO-EXPECT
 * violation saying which expectation failed and on what. */
void rt_scenario_expect(const rt_scenario *sc, size_t c, const rt_scenario_step *st,
			const model_result *res, uint32_t id, uint64_t op_id,
			rt_scenario_vars *vars, rt_scenario_unmet *unmet);

#endif
