/* The wire driver: `ratchet run --target imap://...` against a real IMAP
 * server. */
#ifndef RT_WIRE_H
#define RT_WIRE_H

#include "campaign.h"

/* Runs the campaign o describes against o->target, adding its runs to r.
 * Returns the exit code: CM_EXIT_CLEAN, CM_EXIT_VIOLATIONS, or
 * CM_EXIT_USAGE after a one-line error (set-up failed). */
int rt_wire_campaign(const rt_opts *o, rt_report *r);

/* Whether a mailbox name LIST returned lies under the run's prefix: the
 * prefix itself, or prefix + separator ('-' when flat) + more; never
 * INBOX. Only such names are ever deleted. */
bool rt_wire_name_under(const char *prefix, char sep, const char *name);

#endif
