/* What a campaign is asked to do: the judgement of --max-unknown. */
#include "campaign.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

bool rt_opts_unknown_ok(const rt_opts *o, uint64_t unknown, uint64_t ops, cm_err *why)
{
	assert(unknown <= ops);
	/* unknown/ops > pct/100, in integers: no rounding lets one more pass. */
	bool over = o->max_unknown_pct ? unknown * 100 > o->max_unknown * ops
				       : unknown > o->max_unknown;
	if (over)
		cm_err_set(why, "%" PRIu64 " of %" PRIu64 " ops ended with outcome "
			 "unknown (timeouts, lost connections), more than --max-unknown %"
			 PRIu64 "%s", unknown, ops, o->max_unknown, o->max_unknown_pct ? "%" : "");
	return !over;
}
