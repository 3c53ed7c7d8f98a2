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
} rt_shape;

typedef struct rt_sim_hooks {
	void (*on_event)(void *ctx, const model_event *ev);
	void *ctx;
} rt_sim_hooks;

typedef struct rt_sim_result {
	uint64_t ops, events, switches, checkpoints, decisions;
	uint64_t faults[8];        /* by model_fault */
} rt_sim_result;

/* Draws a run's shape from the choice source (swarm testing). */
void rt_shape_draw(rt_shape *cfg, rt_choice_source *ch);
/* Runs one simulation; events go to the checker (may be NULL) and hooks.
 * 0, or -1 on a set-up failure. */
int rt_sim_run(const rt_shape *cfg, rt_choice_source *ch, const rt_sim_hooks *hooks,
	       model_checker *checker, rt_sim_result *res);

#endif
