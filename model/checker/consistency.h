/* The checker's consistency checks: what its rules rely on about its own
 * data, checked where they rely on it. A failed check is a bug of the
 * checker, never of the server under test: it panics (cm_panic) with what
 * broke and the file:line. The checks hold for any history, a hostile one
 * included (`ratchet check`, the history fuzz target).
 *
 * CK_CHECK(cond, "what") is a cheap check in place; ck_check_all is the
 * deep one, run at each quiet checkpoint and at the end of a history.
 * Both are on in every build (the presets define no NDEBUG) and compiled
 * out only with RATCHET_NO_ASSERT (cmake -DRATCHET_NO_ASSERT=ON), the
 * rule of RS_ASSERT (reference-store/store/protocol.h). A condition never
 * changes what it looks at.
 *
 * What is checked:
 *   maps       power-of-two capacity, load at most 3/4, n counts the keys,
 *              every key reachable from its home slot (map.c)
 *   views      a session's count is its held entries plus its blank runs,
 *              runs are never empty, entries past known_end hold no UID,
 *              the view budget is the sum of the held entries (view.c)
 *   ops        an op in flight was invoked, is not done and has its
 *              adder and expunger (status still none) in its epochs; a
 *              completion finds its own invoke (checker.c)
 *   epochs     every epoch an op, session, adder or expunger points to is
 *              one of the checker's; one epoch per name and UIDVALIDITY;
 *              a message is filed under its UID (epoch.c)
 *   UID sets   sorted, merged, nonzero (every set the checker keeps)
 *   FLAGS-MERGE a message whose initial flags are known and whose writes
 *              were never pruned still has that initial write among its
 *              candidates (flags_merge.c) */
#ifndef MODEL_CHECKER_CONSISTENCY_H
#define MODEL_CHECKER_CONSISTENCY_H

#include <stdbool.h>

#include "cm.h"

struct model_checker;
struct ck_map;
struct ck_session;
struct ck_msg;

_Noreturn void ck_check_fail(const char *what, const char *cond,
			     const char *file, int line);

#ifdef RATCHET_NO_ASSERT
#define CK_CHECK(cond, what) ((void)sizeof((cond) ? 1 : 0))
#else
#define CK_CHECK(cond, what) \
	((cond) ? (void)0 : ck_check_fail((what), #cond, __FILE__, __LINE__))
#endif

/* Sorted, merged ranges of nonzero UIDs (cm_uidset's own rule). */
bool ck_uidset_ok(const cm_uidset *s);
/* The cheap shape of a session's view: O(runs). */
bool ck_view_ok(const struct ck_session *s);
/* The deep one: also O(held entries). */
bool ck_view_deep_ok(const struct ck_session *s);
/* Capacity, load, count and reachability of every key: O(capacity). */
bool ck_map_ok(const struct ck_map *m);
/* Is the write of the message's initial flags among its writes? */
bool ck_has_initial_write(const struct ck_msg *m);
/* Every check above on all of the checker's data; nothing when
 * RATCHET_NO_ASSERT. */
void ck_check_all(const struct model_checker *c);

#endif
