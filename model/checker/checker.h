/* The history checker: events in, violations of docs/invariants.md out.
 * Depends on the vocabulary (model.h) only. */
#ifndef MODEL_CHECKER_H
#define MODEL_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

typedef struct model_checker model_checker;

typedef struct model_checker_options {
	unsigned capabilities;   /* of the target: gates CONDSTORE/QRESYNC/... rules */
	bool imap4rev2;          /* MOVE-NO-DUP is an error only for rev2 */
	bool no_derived;         /* switch DERIVED rules off */
	size_t max_violations;   /* stored in full (counts continue); 0 = 1000 */
	/* Called for each violation as found (may be NULL). */
	void (*on_violation)(void *ctx, const model_violation *v);
	void *ctx;
} model_checker_options;

model_checker *model_checker_new(const model_checker_options *opts);
/* Feed events in history order (t_ns strictly increasing). */
void model_checker_feed(model_checker *c, const model_event *ev);
/* End of history: runs the final checks. */
void model_checker_finish(model_checker *c);
void model_checker_free(model_checker *c);

typedef struct model_checker_stats {
	uint64_t events, ops;
	uint64_t violations[MODEL_INV_COUNT];   /* counted even beyond max_violations */
	uint64_t errors, warnings;
	bool skipped[MODEL_INV_COUNT];          /* rules not checkable on this target */
	uint64_t flag_searches;           /* FLAGS-MERGE explanations tried */
	uint64_t adds_checked;            /* ADD-NO-LOSS: acknowledged adds judged */
} model_checker_stats;

const model_checker_stats *model_checker_get_stats(const model_checker *c);
const model_violation *model_checker_violations(const model_checker *c, size_t *n_r);

#endif
