/* History writer: one compact JSON object per line (docs/history.md).
 * Keys go out in a fixed order, so identical events give identical bytes
 * (the simulator promises byte-identical histories for a seed).
 *
 * Each line is the direct encoder's text (history_emit.h) in a reused
 * buffer: building a jansson DOM per event, as before, cost more than
 * simulating the event (`--history` took 43% of a simulated run). The
 * jansson encoder (hj_event_to_json) stays as the reference the direct
 * one is tested against byte for byte (test_history_emit,
 * test_sim_history_emit, fuzz/history_emit.c): it is the plain statement
 * of the format, and the fallback should the direct encoder be in doubt. */
#include "history_emit.h"

#include <stdlib.h>

struct model_history_writer {
	FILE *out;
	cm_buf line;   /* reused for every event */
	bool failed;   /* sticky: a history with a hole is worthless */
};

/* Writes the line, which rc says was encoded (0) or not (-1: not written,
 * as an event the encoder cannot represent leaves no partial line). */
static int write_line(model_history_writer *w, int rc)
{
	if (rc != 0)
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
	if (write_line(w, hj_emit_header(&w->line, h)) < 0) {
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
	cm_buf_clear(&w->line);
	return write_line(w, hj_emit_event(&w->line, ev));
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
