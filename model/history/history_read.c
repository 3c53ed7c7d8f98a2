/* History reader: JSON Lines in, events out, one at a time (docs/history.md).
 * Completions do not repeat their op, so the reader keeps the ops still in
 * flight; memory follows the number of in-flight ops, never the length of
 * the history. The input is untrusted: every problem is an error with its
 * line number, never a crash, and the checker's preconditions (nonzero
 * unique ids, strictly increasing times) hold for every event returned.
 *
 * Each line goes to the fast path first (history_scan*.c), which reads
 * the lines ratchet's own writer produces in one pass and without a tree:
 * building jansson's tree was about 90% of the cost of reading. Any line
 * it does not recognise goes to jansson, which is kept as the general
 * parser: it reads every valid line (keys in any order, unknown keys,
 * every escape) and words every error. */
#include "history_json.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

/* ======================================================================
 * In-flight invokes: a pool of ops (reused with their set buffers) and an
 * open-addressing index by op id with backward-shift deletion.
 * ==================================================================== */

typedef struct pending {
	uint64_t id;
	uint32_t client;
	model_op op;
} pending;

typedef struct pend_table {
	pending *pool;
	size_t npool, cappool;
	uint32_t *freel;       /* free pool indices */
	size_t nfree, capfreel;
	uint32_t *slot;        /* pool index + 1; 0 = empty */
	size_t nslot;          /* a power of two, at least twice count */
	size_t count;
} pend_table;

static size_t pend_home(const pend_table *t, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (t->nslot - 1);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t pend_slot(const pend_table *t, uint64_t id)
{
	size_t i = pend_home(t, id);
	while (t->slot[i] != 0 && t->pool[t->slot[i] - 1].id != id)
		i = (i + 1) & (t->nslot - 1);
	return i;
}

static pending *pend_find(const pend_table *t, uint64_t id)
{
	if (t->count == 0)
		return NULL;
	size_t i = pend_slot(t, id);
	return t->slot[i] ? &t->pool[t->slot[i] - 1] : NULL;
}

static void pend_rehash(pend_table *t)
{
	uint32_t *old = t->slot;
	size_t nold = t->nslot;
	t->nslot = nold ? nold * 2 : 64;
	t->slot = cm_xcalloc(t->nslot, sizeof(*t->slot));
	for (size_t i = 0; i < nold; i++)
		if (old[i] != 0)
			t->slot[pend_slot(t, t->pool[old[i] - 1].id)] = old[i];
	free(old);
}

static uint32_t pend_alloc(pend_table *t)
{
	if (t->nfree > 0)
		return t->freel[--t->nfree];
	if (t->npool > UINT32_MAX / 2)
		cm_panic("history reader: too many ops in flight");
	CM_GROW(t->pool, t->cappool, t->npool + 1);
	model_op_init(&t->pool[t->npool].op, MODEL_OP_NONE);
	return (uint32_t)t->npool++;
}

/* id must not be in the table. */
static void pend_add(pend_table *t, uint64_t id, uint32_t client, const model_op *op)
{
	if ((t->count + 1) * 2 > t->nslot)
		pend_rehash(t);
	uint32_t k = pend_alloc(t);
	pending *p = &t->pool[k];
	p->id = id;
	p->client = client;
	model_op_copy(&p->op, op);
	t->slot[pend_slot(t, id)] = k + 1;
	t->count++;
}

static void pend_del(pend_table *t, const pending *p)
{
	size_t mask = t->nslot - 1, i = pend_slot(t, p->id);
	CM_GROW(t->freel, t->capfreel, t->nfree + 1);
	t->freel[t->nfree++] = t->slot[i] - 1;
	/* Pull later members of the cluster into the hole. */
	for (size_t j = (i + 1) & mask; t->slot[j] != 0; j = (j + 1) & mask) {
		size_t home = pend_home(t, t->pool[t->slot[j] - 1].id);
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = 0;
	t->count--;
}

static void pend_free(pend_table *t)
{
	for (size_t i = 0; i < t->npool; i++)
		model_op_free(&t->pool[i].op);
	free(t->pool);
	free(t->freel);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ======================================================================
 * The reader
 * ==================================================================== */

struct model_history_reader {
	FILE *in;
	char *line;            /* the current line, reused */
	size_t cap;
	size_t used;           /* bytes of line the last read wrote */
	hj_read_mode mode;
	hj_flag_cache *flags;  /* the fast path's */
	uint64_t nfast, ngeneral; /* lines read by each path */
	uint64_t lineno;
	uint64_t last_t;
	bool started;          /* an event has been returned */
	pend_table pend;
	bool failed;           /* errors are sticky: state is unknown after one */
	bool ended;            /* met the next run's header */
	cm_err err;               /* once failed: the error, said again */
};

/* A file may hold several runs, each with its own header (ratchet run
 * writes them so). A reader that meets the next header returns 2 and
 * leaves that line here for the next model_history_reader_new on the same
 * FILE: a line cannot be pushed back portably, and stdin may be a pipe.
 * Any reader_new takes or drops it; pos guards against a recycled FILE. */
static _Thread_local struct {
	FILE *in;
	off_t pos;
	char *line;
	size_t cap, used, len;
	uint64_t lineno;
} next_header;

static void stash_header(model_history_reader *r, size_t len)
{
	free(next_header.line);
	next_header.in = r->in;
	next_header.pos = ftello(r->in);
	next_header.line = r->line;
	next_header.cap = r->cap;
	next_header.used = r->used;
	next_header.len = len;
	next_header.lineno = r->lineno;
	r->line = NULL;
	r->cap = r->used = 0;
	r->ended = true;
}

/* Takes the stashed header line if it belongs here: 1, else 0. */
static int take_header(model_history_reader *r, size_t *len_r)
{
	bool mine = next_header.line != NULL && next_header.in == r->in &&
		    next_header.pos == ftello(r->in);
	if (mine) {
		r->line = next_header.line;
		r->cap = next_header.cap;
		r->used = next_header.used;
		r->lineno = next_header.lineno;
		*len_r = next_header.len;
	} else {
		free(next_header.line);
	}
	memset(&next_header, 0, sizeof(next_header));
	return mine;
}

void hj_reader_pending(const model_history_reader *r, size_t *now_r, size_t *peak_r)
{
	*now_r = r->pend.count;
	*peak_r = r->pend.npool;
}

static hj_read_mode default_mode = HJ_READ_FAST;

void hj_reader_default_mode(hj_read_mode mode)
{
	default_mode = mode;
}

void hj_reader_set_mode(model_history_reader *r, hj_read_mode mode)
{
	r->mode = mode;
}

void hj_reader_lines(const model_history_reader *r, uint64_t *fast_r, uint64_t *general_r)
{
	*fast_r = r->nfast;
	*general_r = r->ngeneral;
}

static int reader_fail(model_history_reader *r, const cm_err *e, cm_err *err)
{
	if (!r->failed) {
		r->err = *e;
		cm_err_prefix(&r->err, "line %" PRIu64 ": ", r->lineno);
	}
	r->failed = true;
	if (err != NULL)
		*err = r->err;
	return -1;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Past the line just read, r->line holds LINE_FILL, never a NUL, so that
 * the NUL fgets ends what it read with is the last NUL of its window even
 * when the line holds NULs of its own (jansson then says where). */
#define LINE_FILL 0xff

/* cap bytes for lines, then HJ_SCAN_PAD that the fast path may read. */
static void line_grow(model_history_reader *r, size_t need)
{
	size_t old = r->cap > 0 ? r->cap + HJ_SCAN_PAD : 0;
	r->cap = CM_MIN(CM_MAX(CM_MAX(r->cap * 2, (size_t)4096), need),
			(size_t)MODEL_HISTORY_MAX_LINE + 3);
	assert(r->cap >= need);
	r->line = cm_xrealloc(r->line, r->cap + HJ_SCAN_PAD);
	memset(r->line + old, LINE_FILL, r->cap + HJ_SCAN_PAD - old);
}

/* The bytes fgets read into its window p of room bytes. */
static size_t chunk_length(const char *p, size_t room)
{
	size_t n = strlen(p);
	if ((n > 0 && p[n - 1] == '\n') || n + 1 == room)
		return n;
	/* The end of the file, or a NUL in the line: the last NUL is fgets's. */
	size_t k = room - 1;
	while (p[k] != '\0')
		k--;
	return k;
}

/* One line into r->line with its end, at most MODEL_HISTORY_MAX_LINE
 * bytes before "\r\n" (getline has no bound: a 1.5 GB line cost 3.6 GB),
 * nothing read beyond. fgets, not getc: it copies up to the newline in
 * one go. Its length (0 at the end of the file), or -1: too long, read no
 * further. */
static ssize_t read_bounded(model_history_reader *r)
{
	const size_t most = (size_t)MODEL_HISTORY_MAX_LINE + 2; /* + "\r\n" */
	size_t len = 0;
	if (r->used > 0)
		memset(r->line, LINE_FILL, r->used);
	for (;;) {
		if (r->cap - len < 2)
			line_grow(r, len + 2);
		size_t room = CM_MIN(r->cap - len, most + 1 - len); /* >= 2 */
		char *p = r->line + len;
		if (fgets(p, (int)room, r->in) == NULL) {
			if (ferror(r->in)) /* the window's bytes are unknown */
				memset(p, LINE_FILL, room);
			break;
		}
		size_t got = chunk_length(p, room);
		len += got;
		if (r->line[len - 1] == '\n')
			break;
		if (len >= most) {
			r->used = len + 1;
			return -1;
		}
		if (got + 1 < room)
			break; /* the end of the file */
	}
	r->line[len] = '\0';
	r->used = len + 1;
	return (ssize_t)len;
}

/* The next non-blank line, without its end of line: 1, 0 at the end, -1. */
static int next_line(model_history_reader *r, size_t *len_r, cm_err *e)
{
	for (;;) {
		errno = 0;
		ssize_t n = read_bounded(r);
		if (n == 0) {
			if (ferror(r->in))
				return cm_err_set(e, "read error: %s", strerror(errno));
			return 0;
		}
		r->lineno++;
		size_t len = n < 0 ? (size_t)MODEL_HISTORY_MAX_LINE + 2 : (size_t)n;
		if (n > 0 && r->line[len - 1] == '\n')
			len--;
		if (n > 0 && len > 0 && r->line[len - 1] == '\r')
			len--;
		if (len > MODEL_HISTORY_MAX_LINE)
			return cm_err_set(e, "line longer than %u bytes (the limit of one event; "
				       "see docs/history.md)", MODEL_HISTORY_MAX_LINE);
		if (!blank(r->line, len)) {
			*len_r = len;
			return 1;
		}
	}
}

static json_t *parse_line(model_history_reader *r, size_t len, cm_err *e)
{
	json_error_t je;
	json_t *root = json_loadb(r->line, len, 0, &je);
	if (root == NULL)
		cm_err_set(e, "invalid JSON at column %d: %s", je.column, je.text);
	else if (!json_is_object(root))
		cm_err_set(e, "expected a JSON object");
	else
		return root;
	json_decref(root);
	return NULL;
}

/* ---- one event ---- */

enum { E_ANOMALY, E_C, E_CODE, E_EV, E_ID, E_OP, E_PROTOCOL, E_HEADER, E_STATUS, E_T,
       E_TEXT, E_UNTAGGED, E_COUNT };
static const hj_key ev_keys[] = {
	{"anomaly", E_ANOMALY}, {"c", E_C}, {"code", E_CODE}, {"ev", E_EV},
	{"id", E_ID}, {"op", E_OP}, {"protocol_error", E_PROTOCOL},
	{"ratchet_history", E_HEADER}, {"status", E_STATUS},
	{"t", E_T}, {"text", E_TEXT}, {"untagged", E_UNTAGGED},
};

typedef struct ev_fields {
	const json_t *v[E_COUNT];
} ev_fields;

static int event_type(const json_t *v, model_ev_type *type, cm_err *e)
{
	static const model_ev_type types[] = {MODEL_EV_INVOKE, MODEL_EV_OK, MODEL_EV_FAIL,
					      MODEL_EV_INFO};
	const char *s = json_string_value(v);
	if (s == NULL)
		return cm_err_set(e, "ev: expected a string");
	for (size_t i = 0; i < CM_ARRAY_LEN(types); i++) {
		if (strcasecmp(s, model_ev_name(types[i])) == 0) {
			*type = types[i];
			return 0;
		}
	}
	return cm_err_set(e, "ev: unknown value \"%.40s\" (invoke, ok, fail or info)", s);
}

/* t, c, id and ev: required on every event. */
static int event_head(model_history_reader *r, const ev_fields *f, model_event *ev,
		      cm_err *e)
{
	static const char *const names[] = {[E_T] = "t", [E_C] = "c", [E_ID] = "id",
					    [E_EV] = "ev"};
	static const int req[] = {E_T, E_C, E_ID, E_EV};
	for (size_t i = 0; i < CM_ARRAY_LEN(req); i++)
		if (f->v[req[i]] == NULL)
			return cm_err_set(e, "missing \"%s\"", names[req[i]]);
	if (hj_get_u64("t", f->v[E_T], &ev->t_ns, e) < 0 ||
	    hj_get_u32("c", f->v[E_C], &ev->client, e) < 0 ||
	    hj_get_u64("id", f->v[E_ID], &ev->op_id, e) < 0 ||
	    event_type(f->v[E_EV], &ev->type, e) < 0)
		return -1;
	if (ev->op_id == 0)
		return cm_err_set(e, "id: must not be 0");
	if (r->started && ev->t_ns <= r->last_t)
		return cm_err_set(e, "t %" PRIu64 " is not after the previous event's t %" PRIu64
			       " (times must strictly increase)", ev->t_ns, r->last_t);
	return 0;
}

static int event_invoke(model_history_reader *r, const ev_fields *f, model_event *ev,
			cm_err *e)
{
	if (f->v[E_OP] == NULL)
		return cm_err_set(e, "invoke without \"op\"");
	if (hj_op_from_json(f->v[E_OP], &ev->op, e) < 0)
		return -1;
	if (pend_find(&r->pend, ev->op_id) != NULL)
		return cm_err_set(e, "duplicate invoke id %" PRIu64 " (still in flight)",
			       ev->op_id);
	pend_add(&r->pend, ev->op_id, ev->client, &ev->op);
	return 0;
}

static int result_untagged(const json_t *a, model_result *res, cm_err *e)
{
	size_t i;
	const json_t *x;
	if (!json_is_array(a))
		return cm_err_set(e, "untagged: expected an array");
	json_array_foreach(a, i, x) {
		if (hj_untagged_from_json(x, res, e) < 0) {
			cm_err_prefix(e, "untagged[%zu]: ", i);
			return -1;
		}
	}
	return 0;
}

static int event_result(const ev_fields *f, model_result *res, cm_err *e)
{
	const char *s = json_string_value(f->v[E_STATUS]);
	if (f->v[E_STATUS] == NULL)
		return cm_err_set(e, "missing \"status\"");
	if (s == NULL)
		return cm_err_set(e, "status: expected a string");
	if (hj_status_parse(s, &res->status) < 0)
		return cm_err_set(e, "status: unknown value \"%.40s\" (OK, NO, BAD or unknown)", s);
	if (f->v[E_CODE] != NULL && hj_code_from_json(f->v[E_CODE], &res->code, e) < 0)
		return -1;
	if (f->v[E_UNTAGGED] != NULL && result_untagged(f->v[E_UNTAGGED], res, e) < 0)
		return -1;
	if (f->v[E_TEXT] != NULL &&
	    hj_get_text("text", f->v[E_TEXT], res->text, sizeof(res->text), e) < 0)
		return -1;
	if (f->v[E_ANOMALY] != NULL &&
	    hj_get_text("anomaly", f->v[E_ANOMALY], res->anomaly, sizeof(res->anomaly), e) < 0)
		return -1;
	if (f->v[E_PROTOCOL] != NULL &&
	    hj_get_text("protocol_error", f->v[E_PROTOCOL], res->protocol,
			sizeof(res->protocol), e) < 0)
		return -1;
	return 0;
}

/* A completion takes its op from the invoke; only an info event with no
 * invoke (a fault) carries its own. */
static int event_complete(model_history_reader *r, const ev_fields *f, model_event *ev,
			  cm_err *e)
{
	pending *p = pend_find(&r->pend, ev->op_id);
	if (f->v[E_OP] != NULL) {
		if (ev->type != MODEL_EV_INFO)
			return cm_err_set(e, "\"op\" on an %s event (completions take the op "
				       "of their invoke)", model_ev_name(ev->type));
		if (p != NULL)
			return cm_err_set(e, "info event for in-flight op %" PRIu64
				       " repeats \"op\"", ev->op_id);
		if (hj_op_from_json(f->v[E_OP], &ev->op, e) < 0)
			return -1;
	} else if (p == NULL) {
		return cm_err_set(e, "completion for unknown op id %" PRIu64
			       " (no invoke in flight)", ev->op_id);
	} else if (p->client != ev->client) {
		return cm_err_set(e, "client %" PRIu32 " completes op %" PRIu64
			       " invoked by client %" PRIu32, ev->client, ev->op_id, p->client);
	}
	if (event_result(f, &ev->res, e) < 0)
		return -1;
	if (p != NULL) {
		model_op_copy(&ev->op, &p->op);
		pend_del(&r->pend, p);
	}
	return 0;
}

static int event_from_json(model_history_reader *r, const json_t *root,
			   model_event *ev, cm_err *e)
{
	ev_fields f = {{0}};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)root, key, v) {
		int id = hj_key_find(ev_keys, CM_ARRAY_LEN(ev_keys), key);
		if (id >= 0)
			f.v[id] = v;
	}
	if (f.v[E_HEADER] != NULL)
		return MODEL_HISTORY_NEXT_RUN;
	if (event_head(r, &f, ev, e) < 0)
		return -1;
	int rc = ev->type == MODEL_EV_INVOKE ? event_invoke(r, &f, ev, e)
					     : event_complete(r, &f, ev, e);
	if (rc == 0) {
		r->started = true;
		r->last_t = ev->t_ns;
	}
	return rc;
}

/* s emptied, its buffer kept, and s itself left without one. */
static cm_uidset set_take(cm_uidset *s)
{
	cm_uidset kept = *s;
	memset(s, 0, sizeof(*s));
	cm_uidset_clear(&kept);
	return kept;
}

/* Empties ev but keeps its buffers: callers reuse one event for millions. */
static void event_reset(model_event *ev)
{
	cm_uidset set = set_take(&ev->op.set), known = set_take(&ev->op.q_known);
	cm_uidset cset = set_take(&ev->res.code.set), cdst = set_take(&ev->res.code.dst);
	model_op_init(&ev->op, MODEL_OP_NONE);
	ev->op.set = set;
	ev->op.q_known = known;
	model_result_clear(&ev->res);
	ev->res.code.set = cset;
	ev->res.code.dst = cdst;
	ev->type = MODEL_EV_INVOKE;
	ev->client = 0;
	ev->op_id = 0;
	ev->t_ns = 0;
}

/* ---- the two paths ---- */

/* The line by the general parser: 0 with ev filled, MODEL_HISTORY_NEXT_RUN,
 * or -1 with e filled. */
static int read_general(model_history_reader *r, size_t len, model_event *ev, cm_err *e)
{
	json_t *root = parse_line(r, len, e);
	int rc = root != NULL ? event_from_json(r, root, ev, e) : -1;
	json_decref(root);
	return rc;
}

/* The reader's own rules for a line the fast path read, as event_head,
 * event_invoke and event_complete check them, without a change to the
 * reader: true with the invoke a completion ends in *p_r (NULL for an
 * invoke and a fault), false when the line is for the general parser
 * to reject and word. */
static bool fast_admit(const model_history_reader *r, const model_event *ev, bool has_op,
		       pending **p_r)
{
	if (ev->op_id == 0 || (r->started && ev->t_ns <= r->last_t))
		return false;
	pending *p = pend_find(&r->pend, ev->op_id);
	*p_r = p;
	if (ev->type == MODEL_EV_INVOKE || has_op)
		return p == NULL && (ev->type == MODEL_EV_INVOKE || ev->type == MODEL_EV_INFO);
	return p != NULL && p->client == ev->client;
}

/* Verify mode: the general parser reads the line too and makes the event
 * (moving the reader on); any difference is a bug of the fast path. */
static void fast_verify(model_history_reader *r, size_t len, const model_event *ev)
{
	model_event ref;
	cm_err e = {""};
	char what[64];
	model_event_init(&ref);
	if (read_general(r, len, &ref, &e) != 0)
		cm_panic("history reader: line %" PRIu64 ": the fast path took a line the "
			 "general parser rejects: %s", r->lineno, e.text);
	if (hj_event_diff(ev, &ref, what, sizeof(what)))
		cm_panic("history reader: line %" PRIu64 ": the fast path and the general "
			 "parser differ in %s", r->lineno, what);
	model_event_free(&ref);
}

/* The line by the fast path: true when it recognised the line and the
 * reader's rules hold, ev filled and the reader moved on; false with ev
 * reset, for the general parser. */
static bool read_fast(model_history_reader *r, size_t len, model_event *ev)
{
	bool has_op = false;
	pending *p = NULL;
	if (r->mode == HJ_READ_GENERAL)
		return false;
	if (!hj_scan_event(r->line, len, ev, r->flags, &has_op) ||
	    !fast_admit(r, ev, has_op, &p)) {
		event_reset(ev);
		return false;
	}
	r->nfast++;
	if (p != NULL)
		model_op_copy(&ev->op, &p->op);
	if (r->mode == HJ_READ_VERIFY) {
		fast_verify(r, len, ev);
		return true;
	}
	if (ev->type == MODEL_EV_INVOKE)
		pend_add(&r->pend, ev->op_id, ev->client, &ev->op);
	else if (p != NULL)
		pend_del(&r->pend, p);
	r->started = true;
	r->last_t = ev->t_ns;
	return true;
}

model_history_got model_history_read(model_history_reader *r, model_event *ev, cm_err *err)
{
	cm_err e;
	e.text[0] = '\0';
	size_t len;
	int rc = r->failed ? MODEL_HISTORY_ERROR
		 : r->ended ? MODEL_HISTORY_NEXT_RUN : next_line(r, &len, &e);
	if (rc == 1) {
		event_reset(ev);
		if (read_fast(r, len, ev))
			return MODEL_HISTORY_EVENT;
		r->ngeneral++;
		rc = read_general(r, len, ev, &e);
		if (rc == 0)
			return MODEL_HISTORY_EVENT;
		if (rc == MODEL_HISTORY_NEXT_RUN)
			stash_header(r, len);
	}
	/* Nothing to hand out: leave ev freed, so a caller that stops here
	 * without model_event_free does not leak. */
	model_event_free(ev);
	model_event_init(ev);
	assert(rc >= MODEL_HISTORY_ERROR && rc <= MODEL_HISTORY_NEXT_RUN);
	return rc >= 0 ? (model_history_got)rc
		       : (model_history_got)reader_fail(r, &e, err);
}

model_history_reader *model_history_reader_new(FILE *in, model_history_header *h_r,
					       cm_err *err)
{
	model_history_header h;
	model_history_reader *r = cm_xcalloc(1, sizeof(*r));
	cm_err e;
	size_t len;
	json_t *root = NULL;
	r->in = in;
	int rc = take_header(r, &len) ? 1 : next_line(r, &len, &e);
	if (rc == 0) {
		r->lineno++;
		cm_err_set(&e, "empty history (no header)");
	} else if (rc > 0) {
		root = parse_line(r, len, &e);
		rc = root != NULL && hj_header_from_json(root, &h, &e) == 0 ? 1 : -1;
		json_decref(root);
	}
	if (rc <= 0) {
		reader_fail(r, &e, err);
		model_history_reader_free(r);
		return NULL;
	}
	if (h_r != NULL)
		*h_r = h;
	r->mode = default_mode;
	r->flags = hj_flag_cache_new();
	return r;
}

void model_history_reader_free(model_history_reader *r)
{
	if (r == NULL)
		return;
	pend_free(&r->pend);
	hj_flag_cache_free(r->flags);
	free(r->line);
	free(r);
}
