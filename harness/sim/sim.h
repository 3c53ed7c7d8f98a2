/* The deterministic simulator: virtual IMAP clients and a delivery agent
 * as coroutines against the reference store on the in-memory file system. */
#ifndef RT_SIM_H
#define RT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "checker.h"
#include "workload.h"

/* ---- the simulator ---- */

/* What the embedded reference store offers. */
#define RT_SIM_CAPS (MODEL_CAP_UIDPLUS | MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC | \
		     MODEL_CAP_MOVE | MODEL_CAP_ENABLE | MODEL_CAP_LITERALPLUS)

typedef struct rt_shape {
	unsigned clients;          /* IMAP clients */
	bool deliverer;            /* plus a local delivery agent */
	uint64_t ops;              /* ops in the run, all clients */
	unsigned mutants;          /* rs_mutant bits */
	rt_mix mix;
	/* Per file-system call of a client (together at most 1): */
	rt_probability p_switch;   /* switch to another client */
	rt_probability p_crash;    /* crash and restart the whole store */
	rt_probability p_kill;     /* the calling client dies */
	rt_probability p_enospc;   /* writes, links and renames fail: quota */
	rt_probability p_rename;   /* a rename fails */
	/* Per crash: */
	rt_probability p_index_loss; /* a mailbox's log is lost */
	uint32_t checkpoint_every; /* ops between quiet checkpoints (0 none) */
	uint32_t log_rotate_bytes; /* 0 = the store's default */
	/* Replication (docs/replication.md): 0, or 2 replicas of the store,
	 * the clients split between them, a sync agent syncing a mailbox at
	 * each of its turns and at every checkpoint; a crash hits the replica
	 * whose file the call is on. */
	unsigned replicas;
	rt_probability p_partition; /* per agent op: the link goes down or up */
} rt_shape;

#define RT_REPLICAS_MAX 2

typedef struct rt_sim_hooks {
	void (*on_event)(void *ctx, const model_event *ev);
	void *ctx;
} rt_sim_hooks;

typedef struct rt_sim_result {
	uint64_t ops, events, switches, checkpoints, decisions;
	uint64_t points_skipped;   /* scripted: calls not offered to preempt */
	uint64_t faults[8];        /* by model_fault */
	uint64_t syncs, syncs_failed, fixups, conflicts; /* replication */
} rt_sim_result;

/* Where a scripted run stands when the next client is picked. */
typedef struct rt_script_point {
	uint32_t ran;              /* the client that ran last (0: none yet) */
	int call;                  /* the rs_fs_call it is about to make; -1
				    * between two of its ops or when it is done */
	const char *path;          /* that call's path ("" if none) */
	bool free;                 /* ran cannot go on, waits for a lock, or
				    * is between ops: a switch here is not a
				    * preemption */
	uint32_t cand[8];          /* the clients to pick from, by value */
	/* A fault point (rt_script.crashes, .killable): the decision is not
	 * who runs but whether ran's call fails first; value v injects
	 * fault[v] (fault[0] is RT_FAULT_NONE). Never a preemption. */
	bool fault;
	uint8_t fault_kind[3];     /* rt_fault, by value */
} rt_script_point;

/* What a fault point may inject. */
typedef enum rt_fault {
	RT_FAULT_NONE = 0,
	RT_FAULT_CRASH,            /* the whole store: unsynced data is lost */
	RT_FAULT_KILL              /* the calling client dies, locks held */
} rt_fault;

/* A client's turn in a scripted run: resumed, it runs until its next
 * point (a visible file-system call, an op boundary, its end), and every
 * call it makes but the first is one no other client can observe. */
typedef struct rt_script_turn {
	uint32_t id;               /* the client */
	bool end;                  /* false: the turn begins; true: it ended */
	int call;                  /* begin: the rs_fs_call it makes first; -1
				    * when it starts an op or its run */
	const char *path;          /* begin: that call's path ("" if none) */
	bool can_go_on;            /* end: id is inside an op, runnable and not
				    * waiting: switching away is a preemption */
	bool waiting;              /* end: it stopped at a lock back-off */
} rt_script_turn;

/* A scripted run (`ratchet explore`): fixed clients with fixed ops from
 * fixed mailboxes; nothing is drawn. The interleaving is decide()'s: it is
 * asked at every file-system call of a client and at every op boundary
 * where more than one client can run. */
typedef struct rt_script {
	unsigned clients;           /* IMAP clients: ids 1..clients */
	unsigned agents;            /* delivery agents: the next ids */
	int boxes;                  /* the first boxes of INBOX, Archive, Work, Junk */
	/* The i-th set-up op (an APPEND, the auditor's, before any client
	 * runs, without decisions): true with op filled, false when done. */
	bool (*setup_op)(void *ctx, size_t i, model_op *op);
	/* Client id's i-th op (i below ops(id)): true with op filled, false
	 * when it cannot be made (the client stops). Asked when the op
	 * starts, after the ones before it ended. */
	bool (*next_op)(void *ctx, uint32_t id, size_t i, model_op *op);
	/* How many ops client id runs. */
	size_t (*ops)(void *ctx, uint32_t id);
	/* Which of n >= 2 runnable clients goes on: cand[v] for the value v
	 * returned (below n); 0 is the one that ran last when it can go on.
	 * at says where the last one stands. */
	uint64_t (*decide)(void *ctx, uint64_t n, const struct rt_script_point *at);
	/* Optional: told where each turn begins and ends (after the decision
	 * that picked the client, if any), for the walk's sleep sets. */
	void (*turn)(void *ctx, const rt_script_turn *t);
	void *ctx;
	/* Every file-system call is a point to preempt at; false skips the
	 * calls no other client can observe (docs/explore.md). */
	bool every_call;
	/* Faults the run may inject, each at a point decide() picks (asked
	 * with at.fault set at every preemption point but lock back-offs):
	 * at most `crashes` crashes of the store, and one death of each
	 * client whose id bit (1u << id) is in killable. */
	unsigned crashes;
	uint32_t killable;
	int lose_log_box;           /* >= 0: each crash loses that box's log */
	uint32_t log_rotate_bytes;  /* the store's option (0: its default) */
	/* 2: a replicated run (client i on replica 1 + i % 2); the last
	 * agent is then the sync agent, its ops SYNC. 0: one store. */
	unsigned replicas;
	/* After a client died (a crash or a kill), the i-th op it runs to
	 * get back where it was before its next op (a CONNECT, a SELECT):
	 * true with op filled, false when done. NULL: none. */
	bool (*resume_op)(void *ctx, uint32_t id, size_t i, model_op *op);
} rt_script;

/* Runs a script against the reference store (with mutants) on a fresh
 * in-memory file system; events go to the checker and hooks as for
 * rt_sim_run, then a quiet checkpoint audits the end state. 0, or -1 on a
 * set-up failure. */
int rt_sim_run_script(const rt_script *script, unsigned mutants,
		      const rt_sim_hooks *hooks, model_checker *checker,
		      rt_sim_result *res);

/* Makes cfg a replicated run: its replicas, the link's partition rate, and
 * logs that are kept (no rotation, no index loss: the sync agent has no
 * full sync to fall back on). */
void rt_shape_replicate(rt_shape *cfg, unsigned replicas, rt_probability p_partition);
/* Draws a run's shape from the choice source (swarm testing). */
void rt_shape_draw(rt_shape *cfg, rt_choice_source *ch);
/* Runs one simulation; events go to the checker (may be NULL) and hooks.
 * 0, or -1 on a set-up failure. */
int rt_sim_run(const rt_shape *cfg, rt_choice_source *ch, const rt_sim_hooks *hooks,
	       model_checker *checker, rt_sim_result *res);

#endif
