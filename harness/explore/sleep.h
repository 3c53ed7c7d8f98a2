/* Sleep sets over the bounded walk (docs/explore.md, "The reduction"): which
 * turns of the clients commute, and which branches of the walk are
 * therefore redundant. A turn is what a client does from being resumed to
 * its next point: at most one call another client can observe (its first),
 * and the events it records. */
#ifndef RT_SLEEP_H
#define RT_SLEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* What a turn touches. */
typedef struct rt_sleep_step {
	uint32_t client;
	int call;             /* its first call (rs_fs_call), -1 none */
	uint64_t path, dir;   /* hashes of that call's path and its parent */
	bool event;           /* it recorded an event (an op began or ended) */
	bool global;          /* dependent with every turn */
	bool can_go_on;       /* after it, its client is inside an op and can
			       * go on: switching away is a preemption */
} rt_sleep_step;

/* A client asleep: its next turn is step. With penalty, only the branches
 * where it runs and is switched away right after are redundant (it goes
 * on in the rest): see docs/explore.md. */
typedef struct rt_sleep_entry {
	rt_sleep_step step;
	bool penalty;
} rt_sleep_entry;

#define RT_SLEEP_MAX 8

/* At most one entry per client: a client has one next turn. */
typedef struct rt_sleep_set {
	rt_sleep_entry e[RT_SLEEP_MAX];
	unsigned n;
} rt_sleep_set;

/* One run's sleep-set state, rebuilt by every run from the root. */
typedef struct rt_sleep_run {
	rt_sleep_set cur;     /* asleep now */
	rt_sleep_step turn;   /* the turn under way (valid while in_turn) */
	bool in_turn;
	uint32_t penalized;   /* the turn under way is a penalized sleeper's */
	bool only_go_on;      /* the next decision may only let it go on */
	bool redundant;       /* the run entered a redundant branch */
} rt_sleep_run;

/* step describes client's turn that begins with call on path (call -1:
 * none); event, can_go_on false until the turn shows otherwise. */
void rt_sleep_step_begin(rt_sleep_step *step, uint32_t client, int call,
			 const char *path);
/* Do the two turns (of different clients) fail to commute, or could a
 * client, the checker or the end audit tell their two orders apart? */
bool rt_sleep_dependent(const rt_sleep_step *a, const rt_sleep_step *b);

/* The entry of client in set, or NULL. */
const rt_sleep_entry *rt_sleep_find(const rt_sleep_set *set, uint32_t client);
/* Puts client step.client to sleep in set; an entry already there keeps
 * the smaller penalty (both describe the same next turn). */
void rt_sleep_add(rt_sleep_set *set, const rt_sleep_step *step, bool penalty);

void rt_sleep_run_reset(rt_sleep_run *r);
/* A decision at a node whose explored siblings are done: which of the
 * values 0..n-1 (cand[v]: who it runs) are redundant, as a bit mask. The
 * siblings join r->cur for the branch taken. */
uint64_t rt_sleep_decide(rt_sleep_run *r, const rt_sleep_set *done,
			 const rt_script_point *at, uint64_t n);
/* The simulator's turn callbacks and events, in order; a turn's end gives
 * its step to *ended (when not NULL). */
void rt_sleep_turn(rt_sleep_run *r, const rt_script_turn *t, rt_sleep_step *ended);
void rt_sleep_event(rt_sleep_run *r, uint32_t client);
/* A fault (a crash, a kill) was injected in the turn under way: it is
 * dependent with every turn, so every sleeper wakes and the turn counts
 * as touching everything. */
void rt_sleep_fault(rt_sleep_run *r);

#endif
