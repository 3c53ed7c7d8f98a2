/* Which events the HTML timeline draws (html.h): a window around the
 * first cited event, and every event of a cited op, so that the page of a
 * run of 100,000 ops stays small. */
#include "html.h"

bool rt_html_window_cites(const rt_html_window *w, uint64_t op_id)
{
	for (size_t i = 0; i < w->ncited; i++)
		if (w->cited[i] == op_id && op_id != 0)
			return true;
	return false;
}

bool rt_html_window_keeps(const rt_html_window *w, uint64_t index, uint64_t op_id)
{
	/* Before and after, without wrapping: the first events have fewer
	 * than `before` before them. */
	bool near = index <= w->first ? w->first - index <= w->before
				      : index - w->first <= w->after;
	return near || rt_html_window_cites(w, op_id);
}
