/* Internals of the simulator: coroutines, choice sources, the workload and
 * the driver. */
#ifndef RT_SIM_PRIVATE_H
#define RT_SIM_PRIVATE_H

#include "sim.h"
#include "rs_fs.h"
#include "rs_session.h"
#include "rs.h"
#include "workload.h"
#include "rs_repl.h"

/* ---- coroutines (coro.c) ---- */
typedef struct rt_coro rt_coro;
rt_coro *rt_coro_new(size_t stack_size, void (*fn)(void *), void *arg);
void rt_coro_resume(rt_coro *co);   /* from the scheduler */
void rt_coro_yield(void);           /* from inside a coroutine */
rt_coro *rt_coro_current(void);
bool rt_coro_done(const rt_coro *co);
void rt_coro_free(rt_coro *co);

/* ---- the simulator's state (sim.c) ---- */
typedef struct sim sim;

typedef struct sim_client {
	sim *sim;
	uint32_t id;
	uint32_t pid;
	bool lda;
	bool dead;           /* killed or crashed: its calls fail until it unwinds */
	bool in_op;
	bool parked;         /* waiting at an op boundary for a checkpoint */
	bool waiting;        /* its last call was a lock back-off sleep */
	bool at_boundary;    /* yielded between two of its ops */
	size_t next_step;    /* scripted runs: its next op's index */
	int pend_call;       /* scripted: the call it stopped before, or -1 */
	const char *pend_path; /* its path (the caller's, alive while stopped) */
	bool finished;
	bool agent;          /* the sync agent of a replicated run */
	uint32_t replica;    /* the replica it talks to (0: not replicated) */
	rt_coro *co;
	rt_session *session;
	rs_mailbox *lda_mb[RT_MAX_BOXES];
	rt_client_state known;
} sim_client;

struct sim {
	rt_shape cfg;
	rt_choice_source *ch;
	rs_fs *fs;
	const char *root;
	sim_client *cl;
	unsigned ncl;
	sim_client *cur;
	sim_client auditor;
	rt_workload work;
	uint64_t t, op_id, ops_started;
	bool quiet;
	bool want_checkpoint;
	uint64_t next_checkpoint;
	bool *dead_pids;
	size_t npids;
	uint32_t next_pid;
	rt_sim_result *res;
	const rt_sim_hooks *hooks;
	model_checker *checker;
	/* One draw v per file-system call picks what happens: v below
	 * upto_crash crashes, below upto_kill kills, ... below upto_switch
	 * switches (each bound the sum of its probability and those before). */
	uint32_t upto_crash, upto_kill, upto_enospc, upto_rename, upto_switch;
	sim_client *sleeper; /* waiting for a lock: not first in line */
	const rt_script *script; /* a scripted run: no draws, decide() picks */
	unsigned crashes_left;   /* scripted: faults still allowed */
	uint32_t killed;         /* scripted: ids (bits) killed already */
	/* A replicated run (rt_shape.replicas; replication.c): replica r's
	 * store is rfs[r] (s->fs is rfs[1]), a call's hook context names it. */
	unsigned nrep;
	rs_fs *rfs[RT_REPLICAS_MAX + 1];
	struct sim_fs_ctx { struct sim *s; uint32_t replica; } fsctx[RT_REPLICAS_MAX + 1];
	uint32_t call_replica;   /* the replica of the call being made */
	struct rs_repl *agent;
	uint32_t agent_pid[RT_REPLICAS_MAX + 1];
	bool agent_cut[RT_REPLICAS_MAX + 1]; /* replica crashed during its sync */
	bool link_down;
};

/* Replica r's store (s->fs when not replicated). */
rs_fs *rt_sim_fs(sim *s, uint32_t replica);
/* The store options of a client of replica r (its UID stepping). */
void rt_sim_store_options(const sim *s, uint32_t replica, uint32_t pid, rs_options *o);

/* ---- replication (replication.c) ---- */
/* The stores of a replicated run and its agent; 0 or -1. */
int rt_sim_repl_open(sim *s);
/* The run's stores (and a replicated run's agent) go. */
void rt_sim_close_stores(sim *s);
/* The agent's next op: a sync of a mailbox, or the link going down or up
 * (recorded at once: false). */
bool rt_sim_repl_next(sim *s, sim_client *agent, model_op *op);
void rt_sim_repl_exec(sim *s, const model_op *op, model_result *res);
/* Before a checkpoint: the link up, every mailbox synced (recorded). */
void rt_sim_repl_quiesce(sim *s, sim_client *agent,
			 void (*run)(sim *, sim_client *, const model_op *));
/* A replicated script's starting messages reach the other replica before
 * any client runs: syncs recorded on a client of their own that the
 * scheduler never runs (the script's sync agent is another). */
void rt_sim_repl_setup(sim *s, void (*run)(sim *, sim_client *, const model_op *));
/* Replica r crashed: its clients died; the agent forgets its handles. */
void rt_sim_repl_crashed(sim *s, uint32_t replica);

/* Records a fault event (sim.c). */
void rt_sim_record_fault(sim *s, model_fault f, uint32_t client, const char *mailbox);
/* A new process id (sim.c). */
uint32_t rt_sim_new_pid(sim *s);
/* Marks pid dead for the store's lock breaking (sim.c). */
void rt_sim_pid_dies(sim *s, uint32_t pid);

/* ---- faults (faults.c) ---- */
/* cl dies (its session's op in flight is lost); record: a KILL event. */
void rt_sim_kill_client(sim *s, sim_client *cl, bool record);
/* A campaign's crash: torn or not, maybe losing a log, by the choices. */
void rt_sim_crash(sim *s);
/* A scripted run's fault point before cl's call (rt_script.crashes,
 * .killable): true when cl died there. */
bool rt_sim_fault_point(sim *s, sim_client *cl, rs_fs_call call, const char *path);

#endif
