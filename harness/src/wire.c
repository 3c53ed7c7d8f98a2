/* The wire target: ratchet run --target imap://... (issue 4, in progress). */
#include "rt_opts.h"

int rt_wire_campaign(const rt_opts *o, rt_report *r)
{
	(void)r;
	rt_error("--target %s: the wire driver is not built yet", o->target_display);
	return RT_EXIT_USAGE;
}
