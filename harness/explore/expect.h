/* A scenario's expectations of a reply, in the style of imaptest's
 * scripts (scenarios/README.md): `* TEXT` must appear among the untagged
 * responses, `! TEXT` must not, `? TEXT` may (it documents), and `OK`,
 * `NO` or `BAD` is the tagged status. The checker stays the oracle; these
 * only add what the author of a conformance scenario expects. */
#ifndef RT_EXPECT_H
#define RT_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "model.h"

#define RT_EXPECT_TEXT_MAX 200

typedef struct rt_expect {
	char kind;                      /* '*', '!', '?', or 'S' for a status */
	char text[RT_EXPECT_TEXT_MAX];  /* the response as written, no "* " */
	model_reply status;             /* kind 'S' */
} rt_expect;

/* Variables of one client: a name without '$', a number. */
typedef struct rt_expect_var {
	const char *name;
	uint64_t value;
} rt_expect_var;

/* Reads an expectation line (no indentation) into e. 1 when line is one
 * ("* ...", "! ...", "? ...", "OK", "NO", "BAD"), 0 when it is not (a
 * step), -1 with why (and *col, 1-based) when it is one but malformed
 * (unbalanced parentheses, too long, empty). */
int rt_expect_parse(const char *line, rt_expect *e, cm_err *why, unsigned *col);

/* Callbacks into the client's variables: get gives true with *v when name
 * is bound; set binds it. */
typedef struct rt_expect_vars {
	bool (*get)(void *ctx, const char *name, size_t len, uint64_t *v);
	void (*set)(void *ctx, const char *name, size_t len, uint64_t v);
	void *ctx;
} rt_expect_vars;

/* Does res meet e? Untagged responses are formatted as the embedded
 * server sends them and matched token by token, case-insensitively: a
 * FETCH's items as name/value pairs in any order (items the pattern does
 * not name are not compared), a flag list as a set (\Recent, which
 * belongs to one session, only when the pattern names it), other lists
 * element by element, and the pattern may stop before the response does.
 * `$name` matches a number: the variable's value when bound, else any
 * number, which `*` binds (through vars). A lost reply (status UNKNOWN)
 * meets every expectation: nothing of it arrived. true, or false with
 * *why saying what the reply was. */
bool rt_expect_check(const rt_expect *e, const model_result *res,
		     const rt_expect_vars *vars, cm_buf *why);

#endif
