/* Replay files: everything needed to run one failing case again, as JSON.
 * A tape, when present, is the run's decisions (shrunk or not); without
 * one the seed regenerates them. The run's shape ("shape") is there for
 * people: the tape or seed draws it again, so reading ignores it, and a
 * file without one (older) loads the same. */
#include "campaign.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int rt_replay_write(const char *path, const rt_replay *r)
{
	json_t *o = json_pack("{s:i, s:s, s:I, s:i, s:I, s:s, s:s}",
			      "ratchet_replay", 1, "target", r->target,
			      "seed", (json_int_t)r->seed, "clients", (int)r->clients,
			      "ops", (json_int_t)r->ops, "mutant", r->mutant,
			      "expect", r->expect);
	if (r->replicas)
		json_object_set_new(o, "replicas", json_integer(r->replicas));
	if (r->shape != NULL)
		json_object_set_new(o, "shape", rt_shape_json(r->shape));
	if (r->scenario[0] != '\0')
		json_object_set_new(o, "scenario", json_string(r->scenario));
	if (r->server[0] != '\0') {
		json_object_set_new(o, "server", json_string(r->server));
		json_object_set_new(o, "order", json_integer((json_int_t)r->order));
	}
	if (r->tape != NULL) {
		/* Values as hex strings: they are full 64-bit. */
		json_t *t = json_array();
		char hex[17];
		for (size_t i = 0; i < r->ntape; i++) {
			snprintf(hex, sizeof(hex), "%llx", (unsigned long long)r->tape[i]);
			json_array_append_new(t, json_string(hex));
		}
		json_object_set_new(o, "tape", t);
	}
	int rc = json_dump_file(o, path, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return rc;
}

static const char *get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An optional whole number in lo..hi (absent: 0). A replay file may come
 * from anywhere: "ops": -1 ran for ever, "clients": 100000 aborted. */
static bool get_num(json_t *o, const char *key, uint64_t lo, uint64_t hi,
		    uint64_t *out, const char *path, cm_err *err)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < lo || (uint64_t)json_integer_value(v) > hi) {
		cm_err_set(err, "%s: \"%s\" must be a whole number from %" PRIu64
			 " to %" PRIu64, path, key, lo, hi);
		return false;
	}
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* An optional string that must fit out (absent: ""). */
static bool get_text(json_t *o, const char *key, char *out, size_t cap, const char *path,
		     cm_err *err)
{
	const char *v = get_str(o, key);
	if (v != NULL && strlen(v) >= cap) {
		cm_err_set(err, "%s: \"%s\" is too long", path, key);
		return false;
	}
	snprintf(out, cap, "%s", v ? v : "");
	return true;
}

int rt_replay_read(const char *path, rt_replay *r, cm_err *err)
{
	json_error_t je;
	memset(r, 0, sizeof(*r));
	json_t *o = json_load_file(path, 0, &je);
	if (o == NULL) {
		cm_err_set(err, "%s: %s (line %d)", path, je.text, je.line);
		return -1;
	}
	int rc = -1;
	json_t *tape = json_object_get(o, "tape");
	const char *target = get_str(o, "target"), *mutant = get_str(o, "mutant");
	if (!json_is_integer(json_object_get(o, "ratchet_replay")) ||
	    !json_is_integer(json_object_get(o, "seed")) || target == NULL) {
		cm_err_set(err, "%s: not a ratchet replay file", path);
		goto out;
	}
	uint64_t version, clients, replicas = 0;
	if (!get_num(o, "ratchet_replay", 1, 1, &version, path, err) ||
	    !get_num(o, "replicas", 0, RT_REPLICAS_MAX, &replicas, path, err) ||
	    !get_num(o, "seed", 0, INT64_MAX, &r->seed, path, err) ||
	    !get_num(o, "ops", 0, RT_REPLAY_MAX_OPS, &r->ops, path, err) ||
	    !get_num(o, "clients", 0, RT_MAX_CLIENTS, &clients, path, err))
		goto out;
	if (tape != NULL && !json_is_array(tape)) {
		cm_err_set(err, "%s: \"tape\" must be an array of hex strings", path);
		goto out;
	}
	r->clients = (unsigned)clients;
	r->replicas = (unsigned)replicas;
	snprintf(r->target, sizeof(r->target), "%s", target);
	snprintf(r->mutant, sizeof(r->mutant), "%s", mutant ? mutant : "");
	snprintf(r->expect, sizeof(r->expect), "%s", get_str(o, "expect") ? get_str(o, "expect") : "");
	if (!get_text(o, "scenario", r->scenario, sizeof(r->scenario), path, err) ||
	    !get_text(o, "server", r->server, sizeof(r->server), path, err) ||
	    !get_num(o, "order", 0, INT64_MAX, &r->order, path, err))
		goto out;
	if (json_is_array(tape)) {
		r->ntape = json_array_size(tape);
		r->tape = cm_xmalloc((r->ntape + 1) * sizeof(*r->tape));
		for (size_t i = 0; i < r->ntape; i++) {
			const char *h = json_string_value(json_array_get(tape, i));
			char *end;
			errno = 0;
			/* strtoull would also take " -1", "+1" and "0x1f". */
			if (h == NULL || h[strspn(h, "0123456789abcdefABCDEF")] != '\0' || h[0] == '\0' ||
			    (r->tape[i] = strtoull(h, &end, 16), *end != '\0') || errno != 0) {
				cm_err_set(err, "%s: tape value %zu is not hex", path, i);
				goto out;
			}
		}
	}
	rc = 0;
out:
	json_decref(o);
	if (rc != 0)
		rt_replay_free(r);
	return rc;
}

void rt_replay_free(rt_replay *r)
{
	free(r->tape);
	r->tape = NULL;
	r->ntape = 0;
}
