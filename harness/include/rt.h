/* rt: the ratchet harness — commands, benchmarks, and (as they land) choice
 * sources, workloads, drivers, targets, recorder, shrinker and reports. */
#ifndef RT_H
#define RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"
#include "model.h"

/* Exit codes shared by every command (see the brief). */
enum {
	RT_EXIT_CLEAN = 0,
	RT_EXIT_VIOLATIONS = 1,
	RT_EXIT_USAGE = 2,
	RT_EXIT_INTERNAL = 3,
};

/* ---- choice sources ----
 * Every nondeterministic decision of a run comes from one of these: a
 * seeded PRNG (optionally recording the values it gave: the tape), a tape
 * (replay and shrinking), or a fuzzer's input bytes. */
typedef enum rt_choice_kind {
	RT_CHOICE_PRNG,
	RT_CHOICE_TAPE,
	RT_CHOICE_BYTES,
} rt_choice_kind;

typedef struct rt_choice {
	rt_choice_kind kind;
	cm_rng rng;
	bool record;
	uint64_t *tape;          /* recorded values */
	size_t ntape, captape;
	const uint64_t *in;      /* tape being replayed */
	size_t nin;
	const uint8_t *bytes;    /* fuzzer input */
	size_t nbytes;
	size_t pos;
	bool exhausted;
	uint64_t decisions;
} rt_choice;

void rt_choice_prng(rt_choice *c, uint64_t seed, bool record);
void rt_choice_tape(rt_choice *c, const uint64_t *tape, size_t n);
void rt_choice_bytes(rt_choice *c, const uint8_t *data, size_t len);
void rt_choice_free(rt_choice *c);
/* A number in [0, n); 0 when exhausted. */
uint64_t rt_choice_below(rt_choice *c, uint64_t n);
/* True with probability per_million/1e6; false when exhausted. */
bool rt_choice_chance(rt_choice *c, uint32_t per_million);

/* ---- workload mix (shared by the simulator and the wire driver) ---- */
#define RT_MAX_BOXES 4

typedef enum rt_wk {
	RT_WK_NOOP,          /* index 0: the simplest choice */
	RT_WK_SELECT,
	RT_WK_FETCH_FLAGS,
	RT_WK_FETCH_ID,
	RT_WK_STORE,
	RT_WK_STORE_COND,
	RT_WK_APPEND,
	RT_WK_EXPUNGE,
	RT_WK_COPY,
	RT_WK_MOVE,
	RT_WK_STATUS,
	RT_WK_SEARCH,
	RT_WK_ENABLE,
	RT_WK_FETCH_CHANGED,
	RT_WK_RECONNECT,
	RT_WK_STORE_SEQ,
	RT_WK_EXAMINE,
	RT_WK_COUNT
} rt_wk;

const char *rt_wk_name(rt_wk kind);

typedef struct rt_mix {
	uint32_t w[RT_WK_COUNT];        /* weights */
	uint32_t deleted_per_million;   /* how often STOREs set \Deleted */
	int boxes;                      /* mailboxes used (2..RT_MAX_BOXES) */
	uint32_t box_target;            /* trim a mailbox above this size (0 never) */
} rt_mix;

void rt_mix_swarm(rt_mix *m, rt_choice *c);
void rt_mix_default(rt_mix *m);

/* ---- the simulator ---- */

/* What the embedded reference store offers. */
#define RT_SIM_CAPS (MODEL_CAP_UIDPLUS | MODEL_CAP_CONDSTORE | MODEL_CAP_QRESYNC | \
		     MODEL_CAP_MOVE | MODEL_CAP_ENABLE | MODEL_CAP_LITERALPLUS)

typedef struct rt_sim_config {
	unsigned clients;          /* IMAP clients */
	bool deliverer;            /* plus a local delivery agent */
	uint64_t ops;              /* ops in the run, all clients */
	unsigned mutants;          /* rs_mutant bits */
	rt_mix mix;
	/* Per file-system call, per million: */
	uint32_t p_switch;         /* switch to another client */
	uint32_t p_crash;          /* crash and restart the whole store */
	uint32_t p_kill;           /* the calling client dies */
	uint32_t p_enospc;         /* writes, links and renames fail: quota */
	uint32_t p_rename;         /* a rename fails */
	uint32_t p_index_loss;     /* per crash: a mailbox's log is lost */
	uint32_t checkpoint_every; /* ops between quiet checkpoints (0 none) */
	uint32_t log_rotate_bytes; /* 0 = the store's default */
} rt_sim_config;

typedef struct rt_sim_hooks {
	void (*on_event)(void *ctx, const model_event *ev);
	void *ctx;
} rt_sim_hooks;

typedef struct rt_sim_result {
	uint64_t ops, events, switches, checkpoints, decisions;
	uint64_t faults[8];        /* by model_fault */
} rt_sim_result;

/* Draws a run's shape from the choice source (swarm testing). */
void rt_sim_config_swarm(rt_sim_config *cfg, rt_choice *ch);
/* Runs one simulation; events go to the checker (may be NULL) and hooks.
 * 0, or -1 on a set-up failure. */
int rt_sim_run(const rt_sim_config *cfg, rt_choice *ch, const rt_sim_hooks *hooks,
	       model_checker *checker, rt_sim_result *res);

/* ---- one simulated run, as campaign, replay and shrinker use it ---- */

typedef struct rt_run_spec {
	uint64_t seed;              /* the run's own seed */
	const uint64_t *tape;       /* replay this tape instead (shrinking) */
	size_t ntape;
	unsigned clients;           /* 0: as the swarm draws */
	uint64_t ops;               /* 0: the default run length */
	unsigned mutants;
} rt_run_spec;

typedef struct rt_run_out {
	rt_sim_config cfg;
	rt_sim_result sim;
	model_checker_stats stats;
	model_violation *v;         /* copied out of the checker */
	size_t nv;
	uint64_t *tape;             /* when recorded */
	size_t ntape;
} rt_run_out;

/* Runs the simulation of spec, checking it; hist (may be NULL) gets every
 * event. 0, or -1 on an internal failure. */
int rt_run_sim(const rt_run_spec *spec, bool record_tape, model_history_writer *hist,
	       rt_run_out *out);
void rt_run_out_free(rt_run_out *out);
/* Does out hold an error-severity violation of inv? */
bool rt_run_has(const rt_run_out *out, model_inv inv);

/* ---- shrinking ---- */

/* True when the run of this tape still fails the same way; *ops_r gets
 * its op count. */
typedef bool rt_shrink_test(void *ctx, const uint64_t *tape, size_t n, uint64_t *ops_r);

typedef struct rt_shrink_result {
	uint64_t *tape;   /* malloc'd; caller frees */
	size_t n;
	uint64_t ops;
	unsigned attempts;
} rt_shrink_result;

int rt_shrink(const uint64_t *tape, size_t n, rt_shrink_test *test, void *ctx,
	      double seconds, unsigned max_attempts, rt_shrink_result *out);
/* The campaign's i-th run seed. */
uint64_t rt_derive_seed(uint64_t master, uint64_t i);
/* The first error-severity invariant of a run (INV_COUNT if none). */
model_inv rt_run_first_error(const rt_run_out *out);
/* Re-runs spec recording its tape, then shrinks it while inv still fails. */
int rt_shrink_run(const rt_run_spec *spec, model_inv inv, double seconds,
		  rt_shrink_result *out);

/* ---- replay files ---- */

#define RT_MAX_CLIENTS 64              /* --clients and a replay's "clients" */
#define RT_REPLAY_MAX_OPS 1000000u     /* a replay's "ops": one run (a run has 2000) */

typedef struct rt_replay {
	char target[128];           /* "sim" */
	uint64_t seed;              /* the run's seed */
	unsigned clients;
	uint64_t ops;
	char mutant[64];
	uint64_t *tape;             /* NULL: replay from the seed */
	size_t ntape;
	char expect[40];            /* invariant ID it failed with */
} rt_replay;

int rt_replay_write(const char *path, const rt_replay *r);
int rt_replay_read(const char *path, rt_replay *r, char *err, size_t errlen);
void rt_replay_free(rt_replay *r);

/* ---- reports ---- */

typedef struct rt_report {
	uint64_t seed;
	char target[128];
	char mutant[64];
	unsigned capabilities;
	uint64_t runs, ops, events, switches, checkpoints, decisions;
	uint64_t faults[8];
	unsigned clients_min, clients_max;
	double seconds;
	model_violation *v;
	uint32_t *v_run;
	size_t nv, capv;
	uint64_t violations[INV_COUNT];
	uint64_t errors, warnings;
	uint64_t adds_checked;
	bool skipped[INV_COUNT];
	bool checked_any;
	/* shrinking and replay */
	bool shrunk;
	uint64_t original_ops, minimal_ops;
	unsigned shrink_attempts;
	char replay[512], minimal_replay[512];
	/* wire runs: ops that got no answer, and why connections ended */
	bool wire;
	uint64_t unknown, timeouts, connections_lost, protocol_errors;
	char failure[256];          /* a failure besides violations ("" none) */
} rt_report;

void rt_report_init(rt_report *r, uint64_t seed, const char *target);
void rt_report_add_run(rt_report *r, uint32_t run, const rt_run_out *out);
void rt_report_add_checker(rt_report *r, uint32_t run, const model_checker *c);
void rt_report_free(rt_report *r);
int rt_report_write_json(const rt_report *r, const char *path);
int rt_report_write_junit(const rt_report *r, const char *path);
void rt_report_print(const rt_report *r, FILE *out, bool color);
/* One line per violation: "ERROR UID-ORDER-GLOBAL INBOX uid 7: ..." */
void rt_violation_print(const model_violation *v, FILE *out, bool color);

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
int rt_paths_check(const rt_path *paths, size_t n, char *err, size_t errlen);
/* rt_paths_check for command cmd: RT_EXIT_CLEAN, or RT_EXIT_USAGE after
 * the one-line error "ratchet: CMD: ...". */
int rt_paths_refuse(const char *cmd, const rt_path *paths, size_t n);

/* ---- benchmarks ---- */

typedef struct rt_bench_result {
	char name[64];
	const char *unit;
	double value;
} rt_bench_result;

typedef struct rt_bench {
	rt_bench_result *v;
	size_t n, cap;
	bool quick;          /* shorter runs, for smoke tests */
	const char *only;    /* run only benchmarks whose name starts so */
	const char *dir;     /* real directory for the .disk figures */
	const char *dovecot; /* imap:// URL for wire.dovecot (NULL: skipped) */
	bool verbose;
} rt_bench;

void rt_bench_add(rt_bench *b, const char *name, const char *unit, double value);
bool rt_bench_wanted(const rt_bench *b, const char *name);
/* Each suite adds its figures; nonzero on an internal failure. */
int rt_bench_store(rt_bench *b);

/* ---- commands (argv[0] is the subcommand name) ---- */
int rt_cmd_bench(int argc, char **argv);
int rt_cmd_run(int argc, char **argv);
int rt_cmd_replay(int argc, char **argv);
int rt_cmd_check(int argc, char **argv);
/* `ratchet check`'s work without the command line: every run in the
 * stream (one header each) through its own checker, into r (already
 * initialised). RT_EXIT_CLEAN, or RT_EXIT_USAGE after a one-line error
 * ("check: NAME: line N: ...") for input that is not a valid history. */
int rt_check_stream(FILE *in, const char *name, bool no_derived, rt_report *r);
int rt_bench_sim(rt_bench *b);
int rt_bench_wire(rt_bench *b);

/* ---- an internal error's last acts (salvage.c) ---- */

struct rt_wire_setup;
struct rt_opts;
/* What cm_panic must save; each field NULL when there is nothing (yet). */
typedef struct rt_salvage {
	FILE *history;                  /* flushed */
	rt_report *report;              /* printed and written, with: */
	const model_checker *checker;   /* ... what it found so far */
	uint32_t segment;               /* ... as this run of the report */
	const char *report_path, *junit_path;
	struct rt_wire_setup *setup;    /* its mailboxes named and deleted */
	const struct rt_opts *opts;
	const char *id_prefix;
} rt_salvage;

extern rt_salvage rt_salvage_now;
/* Makes cm_panic and SIGABRT save rt_salvage_now and exit 3. */
void rt_salvage_arm(void);

/* One-line error to stderr in the shape every command uses. */
void rt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
