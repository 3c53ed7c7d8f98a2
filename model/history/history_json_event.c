/* The jansson encoding of a whole event, and its compact dump: the bytes
 * of a history line as jansson states them.
 *
 * The writer does not use it: it writes each line with the direct encoder
 * (history_emit.h), because a DOM per event (an allocation per value, then
 * a dump through a callback) cost more than simulating the event. It stays
 * as the reference that encoder is checked against, byte for byte
 * (test_history_emit, test_sim_history_emit, fuzz/history_emit.c): it is
 * the plain, library-checked statement of the format, and the fallback
 * should the direct encoder ever be in doubt. */
#include "history_json.h"

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

json_t *hj_event_to_json(const model_event *ev)
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

static int append_cb(const char *buf, size_t size, void *data)
{
	cm_buf_append(data, buf, size);
	return 0;
}

int hj_json_dump(cm_buf *line, json_t *j)
{
	if (j == NULL)
		return -1;
	int rc = json_dump_callback(j, append_cb, line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return rc == 0 ? 0 : -1;
}
