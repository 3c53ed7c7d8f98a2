/* The campaign: one simulated run with its verdict, shrinking, replay
 * files and reports. */
#ifndef RT_CAMPAIGN_H
#define RT_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "checker.h"
#include "history.h"
#include "sim.h"

/* ---- one simulated run, as campaign, replay and shrinker use it ---- */

typedef struct rt_run_spec {
	uint64_t seed;              /* the run's own seed */
	const uint64_t *tape;       /* replay this tape instead (shrinking) */
	size_t ntape;
	unsigned clients;           /* 0: as the swarm draws */
	uint64_t ops;               /* 0: the default run length */
	unsigned mutants;
	unsigned replicas;          /* 0: as the swarm draws; 1: none; 2: two */
} rt_run_spec;

typedef struct rt_run_out {
	rt_shape cfg;
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
/* Draws only the shape spec's run would have (its tape or seed, then the
 * overrides of spec), into cfg: what rt_run_sim's out->cfg gets. */
void rt_run_spec_shape(const rt_run_spec *spec, rt_shape *cfg);
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
/* The first error-severity invariant of a run (MODEL_INV_COUNT if none). */
model_inv rt_run_first_error(const rt_run_out *out);
/* Re-runs spec recording its tape, then shrinks it while inv still fails. */
int rt_shrink_run(const rt_run_spec *spec, model_inv inv, double seconds,
		  rt_shrink_result *out);

/* ---- a run's shape: every option it drew (shape.c) ---- */

struct json_t;

/* The shape as one line for people, "clients 5 +deliverer, ops 2000,
 * mutants none, switch 1/37, crash 1/6667, ..., mix noop:1 select:3 ...",
 * replacing what out held. */
void rt_shape_format(const rt_shape *cfg, cm_buf *out);
/* The shape as a new JSON object (the caller owns the reference):
 * clients, deliverer, ops, mutants (names), the probabilities in whole
 * millionths (switch_per_million, crash_, kill_, enospc_,
 * rename_failure_, index_loss_), checkpoint_every, log_rotate_bytes and
 * mix {weights {kind: weight of each enabled kind}, deleted_per_million,
 * boxes, box_target}. */
struct json_t *rt_shape_json(const rt_shape *cfg);

/* ---- replay files ---- */

#define RT_MAX_CLIENTS 64              /* --clients and a replay's "clients" */
#define RT_REPLAY_MAX_OPS 1000000u     /* a replay's "ops": one run (a run has 2000) */

typedef struct rt_replay {
	char target[128];           /* "sim" */
	uint64_t seed;              /* the run's seed */
	unsigned clients;
	uint64_t ops;
	unsigned replicas;          /* rt_run_spec.replicas */
	char mutant[64];
	uint64_t *tape;             /* NULL: replay from the seed */
	size_t ntape;
	char expect[40];            /* invariant ID it failed with */
	/* target "explore": the scenario file, and the tape is its schedule
	 * (`ratchet explore`); "" otherwise. */
	char scenario[512];
	/* target "explore" against a real server (`explore --target`): its
	 * URL without the password, and the number of the command order
	 * (the tape holds the order: the client index of each command);
	 * "" and 0 otherwise. */
	char server[128];
	uint64_t order;
	/* The run's shape, written as "shape" when not NULL; what it drew
	 * comes from the tape or seed again, so reading ignores it (NULL). */
	const rt_shape *shape;
} rt_replay;

/* 0, or -1 when the file cannot be written. */
int rt_replay_write(const char *path, const rt_replay *r);
/* 0, or -1 with err filled (one line naming path) and nothing to free. */
int rt_replay_read(const char *path, rt_replay *r, cm_err *err);
void rt_replay_free(rt_replay *r);

/* ---- reports ---- */

typedef struct rt_report {
	uint64_t seed;
	char target[128];
	char mutant[64];
	unsigned capabilities;
	uint64_t runs, ops, events, switches, checkpoints, decisions;
	uint64_t faults[8];
	uint64_t replicated, syncs, syncs_failed, fixups, conflicts; /* replication */
	unsigned clients_min, clients_max;
	double seconds;
	model_violation *v;
	uint32_t *v_run;
	size_t nv, capv, capv_run;
	uint64_t violations[MODEL_INV_COUNT];
	uint64_t errors, warnings;
	uint64_t adds_checked;
	bool skipped[MODEL_INV_COUNT];
	bool checked_any;
	/* shrinking and replay */
	bool shrunk;
	uint64_t original_ops, minimal_ops;
	unsigned shrink_attempts;
	char replay[512], minimal_replay[512];
	/* wire runs: ops that got no answer, and why connections ended */
	bool wire;
	uint64_t unknown, timeouts, connections_lost, protocol_errors;
	/* --deliver other than imap-append: how the deliveries ended */
	char deliver[160];          /* the driver ("" none) */
	uint64_t delivered, refused, deliveries_unknown;
	/* wire runs: each command kind's latency (NULL: not measured;
	 * owned by the report, freed by rt_report_free) */
	struct rt_latency *latency;
	char failure[256];          /* a failure besides violations ("" none) */
	/* simulated runs: each one's shape, in the order added */
	struct rt_report_shape {
		uint32_t run;
		rt_shape shape;
	} *shapes;
	size_t nshapes, capshapes;
	bool failed;                /* a run with an error was added: */
	size_t failed_shape;        /* ... the first one's index in shapes */
} rt_report;

void rt_report_init(rt_report *r, uint64_t seed, const char *target);
/* Adds simulated run number run: its counts, violations and shape. */
void rt_report_add_run(rt_report *r, uint32_t run, const rt_run_out *out);
void rt_report_add_checker(rt_report *r, uint32_t run, const model_checker *c);
void rt_report_free(rt_report *r);
/* {"violations": [...], "summary": {...}}; the summary's "shapes" lists
 * each simulated run's {"run", "shape"}. 0, or -1 when path cannot be
 * written. */
int rt_report_write_json(const rt_report *r, const char *path);
/* 0, or -1 when path cannot be written. */
int rt_report_write_junit(const rt_report *r, const char *path);
/* The summary for people, with the shape of the first failing simulated
 * run, or of the only one (a replay), beside the replay commands. */
void rt_report_print(const rt_report *r, FILE *out, bool color);
/* One line per violation: "ERROR UID-ORDER-GLOBAL INBOX uid 7: ..." */
void rt_violation_print(const model_violation *v, FILE *out, bool color);

/* ---- what a campaign is asked to do: `ratchet run`'s options ---- */

typedef struct rt_opts {
	uint64_t seed;
	unsigned clients;
	unsigned replicas;          /* --replicas: rt_run_spec.replicas */
	uint64_t ops;
	double seconds;
	uint64_t runs;
	const char *mutant;
	unsigned mutants;
	const char *report, *junit, *history;
	const char *html;           /* --html: the failing run's timeline (html.h) */
	bool keep_going, no_shrink, quiet;
	double shrink_seconds;
	/* wire target */
	const char *target;
	char target_display[128];   /* the URL without the password */
	const char *mailbox_prefix;
	/* TLS and credentials (docs/security.md): --starttls on imap://,
	 * --tls-ca FILE (NULL: the system's store), --tls-insecure (no
	 * certificate check), --password-file FILE (a URL without password) */
	bool starttls, tls_insecure;
	const char *tls_ca, *password_file;
	/* a replicated pair: --target is replica 1, --replica replica 2, and
	 * sync_cmd (a shell command line that may hold credentials: never
	 * printed or written) syncs them */
	const char *replica, *sync_cmd;
	/* --deliver: the delivery stream's path (NULL: IMAP APPEND; a
	 * cmd: may hold credentials: never printed), --deliver-rcpt: the
	 * LMTP recipient template (NULL: the default) */
	const char *deliver, *deliver_rcpt;
	bool keep, allow_inbox, reuse;
	double timeout;             /* per command, seconds */
	uint32_t box_size;          /* trim mailboxes above this (0: never) */
	/* --max-unknown: fail a wire run when more recorded ops than this
	 * ended with outcome unknown; a count, or with max_unknown_pct a
	 * percentage (0-100) of the recorded ops. Default 50%. */
	uint64_t max_unknown;
	bool max_unknown_pct;
	/* --progress-every S: a wire run's line per interval (0: none) */
	double progress_every;
	bool ops_set, seconds_set;
} rt_opts;

/* Whether a wire run with `unknown` of `ops` recorded ops of outcome
 * unknown passes --max-unknown: true, or false with why filled (one line
 * naming the counts and the limit). */
bool rt_opts_unknown_ok(const rt_opts *o, uint64_t unknown, uint64_t ops, cm_err *why);

/* ---- a --history file (history_file.c) ---- */

/* The file a run writes its history to, with a 256 KiB stdio buffer: a
 * simulated run writes tens of MB, and glibc's default (st_blksize, 4 KiB)
 * made a write(2) of every 4 KiB. The buffer is stdio's own, so salvage's
 * fflush still sees every line written. */
typedef struct rt_history_file {
	FILE *f;     /* NULL: no --history */
	char *buf;
} rt_history_file;

/* Opens path for writing (nothing when path is NULL): 0, or -1 after the
 * error line. */
int rt_history_file_open(rt_history_file *hf, const char *path);
/* Closes and frees (nothing for a file never opened): 0, or -1 if fclose
 * failed. */
int rt_history_file_close(rt_history_file *hf);

/* ---- an internal error's last acts (salvage.c) ---- */

/* What cm_panic must save; each field NULL when there is nothing (yet). */
typedef struct rt_salvage {
	FILE *history;                  /* flushed */
	rt_report *report;              /* printed and written, with: */
	const model_checker *checker;   /* ... what it found so far */
	uint32_t segment;               /* ... as this run of the report */
	const char *report_path, *junit_path;
	/* A wire run's mailboxes: named and deleted by clean(clean_ctx). */
	void (*clean)(void *clean_ctx);
	void *clean_ctx;
} rt_salvage;

extern rt_salvage rt_salvage_now;
/* Makes cm_panic and SIGABRT save rt_salvage_now and exit 3. */
void rt_salvage_arm(void);

#endif
