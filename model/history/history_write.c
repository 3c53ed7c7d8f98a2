/* History writer: one compact JSON object per line (docs/history.md).
 * Keys go out in a fixed order, so identical events give identical bytes
 * (the simulator promises byte-identical histories for a seed). */
#include "history_json.h"

#include <stdlib.h>

struct model_history_writer {
	FILE *out;
	cm_buf line;   /* reused for every event */
	bool failed;   /* sticky: a history with a hole is worthless */
};

/* Writes j (consumed) as one line. */
static int write_line(model_history_writer *w, json_t *j)
{
	cm_buf_clear(&w->line);
	if (hj_json_dump(&w->line, j) < 0)
		return -1;
	cm_buf_putc(&w->line, '\n');
	if (fwrite(w->line.data, 1, w->line.len, w->out) != w->line.len) {
		w->failed = true;
		return -1;
	}
	return 0;
}

model_history_writer *model_history_writer_new(FILE *out, const model_history_header *h)
{
	model_history_writer *w = cm_xcalloc(1, sizeof(*w));
	w->out = out;
	if (write_line(w, hj_header_to_json(h)) < 0) {
		cm_buf_free(&w->line);
		free(w);
		return NULL;
	}
	return w;
}

int model_history_write(model_history_writer *w, const model_event *ev)
{
	if (w->failed)
		return -1;
	return write_line(w, hj_event_to_json(ev));
}

int model_history_writer_finish(model_history_writer *w)
{
	if (w == NULL)
		return 0;
	int rc = fflush(w->out) != 0 || ferror(w->out) || w->failed ? -1 : 0;
	cm_buf_free(&w->line);
	free(w);
	return rc;
}
