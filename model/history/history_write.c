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

static int append_cb(const char *buf, size_t size, void *data)
{
	cm_buf_append(data, buf, size);
	return 0;
}

/* Writes j (consumed) as one line. */
static int write_line(model_history_writer *w, json_t *j)
{
	if (j == NULL)
		return -1;
	cm_buf_clear(&w->line);
	int rc = json_dump_callback(j, append_cb, &w->line,
				    JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (rc != 0)
		return -1;
	cm_buf_putc(&w->line, '\n');
	if (fwrite(w->line.data, 1, w->line.len, w->out) != w->line.len) {
		w->failed = true;
		return -1;
	}
	return 0;
}

/* json_object_set_new consumes v even when it fails. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new_nocheck(o, key, v) == 0;
}

static json_t *untagged_to_json(const model_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->nut && a != NULL; i++) {
		if (json_array_append_new(a, hj_untagged_to_json(&r->ut[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static bool put_result(json_t *o, const model_result *r)
{
	bool ok = put(o, "status", json_string_nocheck(model_status_name(r->status)));
	if (r->code.kind != MODEL_CODE_NONE)
		ok &= put(o, "code", hj_code_to_json(&r->code));
	if (r->nut)
		ok &= put(o, "untagged", untagged_to_json(r));
	if (r->text[0])
		ok &= put(o, "text", hj_str(r->text, sizeof(r->text)));
	if (r->anomaly[0])
		ok &= put(o, "anomaly", hj_str(r->anomaly, sizeof(r->anomaly)));
	if (r->protocol[0])
		ok &= put(o, "protocol_error", hj_str(r->protocol, sizeof(r->protocol)));
	return ok;
}

static json_t *event_to_json(const model_event *ev)
{
	json_t *o = json_object();
	if (o == NULL || ev->type > MODEL_EV_INFO) {
		json_decref(o);
		return NULL;
	}
	bool ok = put(o, "t", hj_u64(ev->t_ns));
	ok &= put(o, "c", json_integer(ev->client));
	ok &= put(o, "id", hj_u64(ev->op_id));
	ok &= put(o, "ev", json_string_nocheck(model_ev_name(ev->type)));
	/* A fault has no invoke: its info event is the only place for its op. */
	if (ev->type == MODEL_EV_INVOKE ||
	    (ev->type == MODEL_EV_INFO && ev->op.kind == MODEL_OP_FAULT))
		ok &= put(o, "op", hj_op_to_json(&ev->op));
	if (ev->type != MODEL_EV_INVOKE)
		ok &= put_result(o, &ev->res);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
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
	return write_line(w, event_to_json(ev));
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
