/* The HTML timeline's page, read from a history (html_private.h): two
 * passes over one run of the file, so that memory follows the window
 * drawn, not the history's length. */
#include "html_private.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A reader on run `segment` of in (rewound first), or NULL with err. */
static model_history_reader *open_segment(FILE *in, uint32_t segment,
					  model_history_header *h_r, cm_err *err)
{
	rewind(in);
	model_event ev;
	model_event_init(&ev);
	for (uint32_t s = 0;; s++) {
		model_history_reader *rd = model_history_reader_new(in, h_r, err);
		if (rd == NULL || s == segment) {
			model_event_free(&ev);
			return rd;
		}
		model_history_got got;
		while ((got = model_history_read(rd, &ev, err)) == MODEL_HISTORY_EVENT)
			;
		model_history_reader_free(rd);
		if (got != MODEL_HISTORY_NEXT_RUN) {
			if (got == MODEL_HISTORY_END)
				cm_err_set(err, "the history has no run %" PRIu32, segment + 1);
			model_event_free(&ev);
			return NULL;
		}
	}
}

/* The lane of client c (0: the annotation lane), added when new; -1 when
 * the lanes are full. Lanes stay in client order. */
static int lane_of(hp_page *p, uint32_t c)
{
	if (c == 0)
		return 0;
	size_t i = 1;
	while (i < p->nlanes && p->lanes[i].client < c)
		i++;
	if (i < p->nlanes && p->lanes[i].client == c)
		return (int)i;
	if (p->nlanes > HP_MAX_LANES) {
		p->lanes_full = true;
		return -1;
	}
	memmove(&p->lanes[i + 1], &p->lanes[i], (p->nlanes - i) * sizeof(p->lanes[0]));
	memset(&p->lanes[i], 0, sizeof(p->lanes[i]));
	p->lanes[i].client = c;
	p->nlanes++;
	return (int)i;
}

static void note_lane(hp_page *p, const model_event *ev)
{
	int l = lane_of(p, ev->client);
	if (l < 0 || ev->type != MODEL_EV_INVOKE)
		return;
	hp_lane *lane = &p->lanes[l];
	bool first = lane->kinds == 0;
	lane->kinds |= 1u << ((unsigned)ev->op.kind & 31);
	if (first)
		lane->replica = ev->op.replica;
	else if (lane->replica != ev->op.replica)
		lane->mixed_replica = true;
}

/* First pass: the lanes, the number of events, the first cited one. */
static int scan(hp_page *p, FILE *in, uint32_t segment, cm_err *err)
{
	model_history_reader *rd = open_segment(in, segment, &p->h, err);
	if (rd == NULL)
		return -1;
	model_event ev;
	model_event_init(&ev);
	model_history_got got;
	bool found = false;
	while ((got = model_history_read(rd, &ev, err)) == MODEL_HISTORY_EVENT) {
		note_lane(p, &ev);
		if (!found && rt_html_window_cites(&p->w, ev.op_id)) {
			p->w.first = p->events;
			found = true;
		}
		p->events++;
	}
	model_event_free(&ev);
	model_history_reader_free(rd);
	/* Nothing cited: the end of the run, where a run that fails at its
	 * final check fails. */
	if (!found)
		p->w.first = p->events > 0 ? p->events - 1 : 0;
	return got == MODEL_HISTORY_ERROR ? -1 : 0;
}

static hp_op *find_op(hp_page *p, uint64_t id)
{
	for (size_t i = p->nops; i-- > 0;)
		if (p->ops[i].id == id && !p->ops[i].ended)
			return &p->ops[i];
	return NULL;
}

static hp_op *new_op(hp_page *p, const model_event *ev, uint32_t lane)
{
	CM_GROW(p->ops, p->capops, p->nops + 1);
	hp_op *o = &p->ops[p->nops++];
	memset(o, 0, sizeof(*o));
	o->id = ev->op_id;
	o->lane = lane;
	o->fault = ev->op.kind == MODEL_OP_FAULT;
	/* A set of many ranges makes a long command: the box shows its start,
	 * and only that much is kept, whatever the history holds. */
	cm_buf label = {0};
	model_op_describe(&label, &ev->op);
	const char *words = label.data ? label.data : "";
	o->label = cm_xstrndup(words, strnlen(words, HP_MAX_LABEL)); /* copies n bytes */
	cm_buf_free(&label);
	cm_buf_printf(&o->hover, "client %" PRIu32 ", op %" PRIu64 ": %s\n", ev->client,
		      ev->op_id, o->label);
	return o;
}

/* The result's words into o's hover text, up to HP_MAX_HOVER bytes: the
 * words of one reply (a VANISHED of many ranges) may be long, so they are
 * made apart and only what fits is kept. */
static void append_result(hp_op *o, const model_result *res)
{
	cm_buf words = {0};
	rt_html_describe_result(&words, res, HP_MAX_UNTAGGED);
	size_t room = o->hover.len < HP_MAX_HOVER ? HP_MAX_HOVER - o->hover.len : 0;
	cm_buf_append(&o->hover, words.data, CM_MIN(room, words.len));
	if (words.len > room)
		cm_buf_puts(&o->hover, "...");
	cm_buf_free(&words);
}

/* Adds ev's row, after a gap row when events were left out before it. */
static uint32_t add_row(hp_page *p, uint64_t index, uint64_t *next_r)
{
	if (index != *next_r) {
		CM_GROW(p->gaps, p->capgaps, p->ngaps + 1);
		p->gaps[p->ngaps++] = (hp_gap){p->rows, index - *next_r};
		p->rows++;
	}
	*next_r = index + 1;
	return p->rows++;
}

/* Draws ev (the index-th event of the run): a new box or the end of one. */
static void keep(hp_page *p, const model_event *ev, uint64_t index, uint64_t *next_r)
{
	int lane = lane_of(p, ev->client);
	if (lane < 0)
		return;
	uint32_t row = add_row(p, index, next_r);
	hp_op *o = ev->type == MODEL_EV_INVOKE ? NULL : find_op(p, ev->op_id);
	if (o == NULL) {
		o = new_op(p, ev, (uint32_t)lane);
		o->row0 = ev->type == MODEL_EV_INVOKE || o->fault ? row : 0;
		o->started = ev->type == MODEL_EV_INVOKE || o->fault;
	}
	if (ev->type != MODEL_EV_INVOKE) {
		o->ended = true;
		o->row1 = row;
		o->outcome = ev->type;
		append_result(o, &ev->res);
	}
	cm_buf_printf(&o->hover, "\nt %" PRIu64 " ns: %s", ev->t_ns, model_ev_name(ev->type));
	p->drawn++;
}

/* Second pass: the window's events as ops. */
static int draw(hp_page *p, FILE *in, uint32_t segment, cm_err *err)
{
	model_history_reader *rd = open_segment(in, segment, &p->h, err);
	if (rd == NULL)
		return -1;
	model_event ev;
	model_event_init(&ev);
	model_history_got got;
	uint64_t index = 0, next = 0;
	while ((got = model_history_read(rd, &ev, err)) == MODEL_HISTORY_EVENT) {
		if (rt_html_window_keeps(&p->w, index, ev.op_id)) {
			if (p->drawn >= HP_MAX_EVENTS) {
				p->truncated = true;
				break;
			}
			keep(p, &ev, index, &next);
		}
		index++;
	}
	if (!p->truncated && next < index && next > 0) {
		/* The events after the window: one gap row at the end. */
		CM_GROW(p->gaps, p->capgaps, p->ngaps + 1);
		p->gaps[p->ngaps++] = (hp_gap){p->rows++, index - next};
	}
	model_event_free(&ev);
	model_history_reader_free(rd);
	return got == MODEL_HISTORY_ERROR ? -1 : 0;
}

int hp_page_read(hp_page *p, FILE *in, uint32_t segment, cm_err *err)
{
	assert(p->w.cited != NULL || p->w.ncited == 0);
	p->nlanes = 1; /* the annotation lane */
	if (scan(p, in, segment, err) != 0 || draw(p, in, segment, err) != 0)
		return -1;
	return 0;
}

void hp_page_free(hp_page *p)
{
	for (size_t i = 0; i < p->nops; i++) {
		free(p->ops[i].label);
		cm_buf_free(&p->ops[i].hover);
	}
	free(p->ops);
	free(p->gaps);
	p->ops = NULL;
	p->gaps = NULL;
	p->nops = p->ngaps = 0;
}
