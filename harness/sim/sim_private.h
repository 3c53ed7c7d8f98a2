/* Internals of the simulator: coroutines, choice sources, the workload and
 * the driver. */
#ifndef RT_SIM_PRIVATE_H
#define RT_SIM_PRIVATE_H

#include "sim.h"
#include "rs_fs.h"
#include "rs_session.h"
#include "rs.h"
#include "workload.h"

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
};

/* Records a fault event (sim.c). */
void rt_sim_record_fault(sim *s, model_fault f, uint32_t client, const char *mailbox);
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
