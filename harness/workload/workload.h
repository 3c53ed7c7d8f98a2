/* The workload: choice sources (where every decision of a run comes from),
 * the op mix, and what each client does next (shared by the simulator and
 * the wire driver). */
#ifndef RT_WORKLOAD_H
#define RT_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"
#include "model.h"

/* ---- choice sources ----
 * Every nondeterministic decision of a run comes from one of these: a
 * seeded PRNG (optionally recording the values it gave: the tape), a tape
 * (replay and shrinking), or a fuzzer's input bytes. */
typedef enum rt_choice_kind {
	RT_CHOICE_PRNG,
	RT_CHOICE_TAPE,
	RT_CHOICE_BYTES,
} rt_choice_kind;

typedef struct rt_choice_source {
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
} rt_choice_source;

void rt_choice_prng(rt_choice_source *c, uint64_t seed, bool record);
void rt_choice_tape(rt_choice_source *c, const uint64_t *tape, size_t n);
void rt_choice_bytes(rt_choice_source *c, const uint8_t *data, size_t len);
void rt_choice_free(rt_choice_source *c);
/* A number in [0, n); 0 when exhausted. */
uint64_t rt_choice_below(rt_choice_source *c, uint64_t n);

/* ---- probabilities ----
 * A probability is a whole number of millionths inside, so a draw is the
 * one a bare per-million number gave (histories do not change); it is
 * written as a ratio, RT_RATIO(1, 500) or RT_PERCENT(12), and every value
 * the harness uses is a named constant or a named field saying why. */
typedef struct rt_probability {
	uint32_t per_million;    /* 0 never .. RT_PER_MILLION always */
} rt_probability;

#define RT_PER_MILLION 1000000u
/* num/den (num <= den), truncated to whole millionths. */
#define RT_RATIO(num, den) \
	((rt_probability){(uint32_t)((uint64_t)(num) * RT_PER_MILLION / (den))})
#define RT_PERCENT(pct) RT_RATIO(pct, 100)
#define RT_NEVER RT_RATIO(0, 1)

/* True with probability p; false when exhausted. */
bool rt_choice_chance(rt_choice_source *c, rt_probability p);
/* A probability drawn uniformly from [0, max) in one decision (below
 * max's millionths); RT_NEVER when exhausted or max is RT_NEVER. */
rt_probability rt_choice_probability(rt_choice_source *c, rt_probability max);

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
	rt_probability deleted;         /* how often a STORE sets \Deleted */
	int boxes;                      /* mailboxes used (2..RT_MAX_BOXES) */
	uint32_t box_target;            /* trim a mailbox above this size (0 never) */
} rt_mix;

void rt_mix_swarm(rt_mix *m, rt_choice_source *c);
void rt_mix_default(rt_mix *m);


typedef struct rt_client_msg {
	uint32_t uid;
	bool has_flags, has_id;
	cm_flags flags;
	uint64_t modseq;
} rt_client_msg;

/* Messages a client's state follows: it only picks targets among them, so
 * a server claiming 4294967295 (EXISTS) costs 1.5 MB, not 100 GB. */
#define RT_CLIENT_MSGS_MAX 65536u

/* What a client knows about its session, from its own responses. */
typedef struct rt_client_state {
	bool connected, selected, readonly, condstore, qresync, need_sync;
	bool trim_next;                 /* a trim set \Deleted: EXPUNGE next */
	int box;                        /* selected mailbox index, -1 none */
	uint32_t uidvalidity;
	rt_client_msg *e;               /* by sequence number - 1 */
	size_t n, cap;
	uint64_t highestmodseq;
	struct rt_client_cache {          /* for SELECT (QRESYNC ...) later */
		uint32_t uidvalidity;
		uint64_t modseq;
		cm_uidset known;
	} cache[RT_MAX_BOXES];
} rt_client_state;

typedef struct rt_workload {
	rt_mix mix;
	unsigned caps;                  /* MODEL_CAP_* of the target */
	char boxes[RT_MAX_BOXES][MODEL_NAME_MAX];
	char id_prefix[24];
	uint64_t next_id;
	cm_flags flag_bits[8];
	/* The exact bytes the target will store for a message id. */
	void (*message_bytes)(const char *id, cm_buf *out);
} rt_workload;

void rt_workload_init(rt_workload *w, const rt_mix *mix, unsigned caps,
		      const char *const *boxes, const char *id_prefix);
int rt_workload_box_index(const rt_workload *w, const char *name);
void rt_workload_next(rt_workload *w, const rt_client_state *v, rt_choice_source *c, model_op *op);
void rt_workload_deliver(rt_workload *w, rt_choice_source *c, model_op *op);
/* A quiet checkpoint's fresh read of mailbox box: EXAMINE, UID SEARCH ALL
 * and UID FETCH 1:* of what the checker compares (MODSEQ with condstore). */
void rt_workload_audit(const rt_workload *w, int box, bool condstore, model_op ops[3]);

void rt_client_state_reset(rt_client_state *v);
void rt_client_state_free(rt_client_state *v);
void rt_client_state_apply(rt_client_state *v, const rt_workload *w, const model_op *op,
		   const model_result *res);

#endif
