/* The HTML timeline of a failing run: one self-contained file (inline CSS,
 * no script, no network) with a lane per client, each op a box from its
 * invoke to its completion coloured by outcome, faults and checkpoints on
 * an annotation lane, and the ops a violation cites highlighted with the
 * checker's explanation beside them. Everything taken from a history is
 * server text, hostile input: it is HTML-escaped (rt_html_escape). */
#ifndef RT_HTML_H
#define RT_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cm.h"
#include "model.h"

/* ---- escaping (html_text.c) ---- */

/* Appends len bytes of s to out as HTML text that is also safe inside a
 * double- or single-quoted attribute: & < > " ' become entities, control
 * bytes (and DEL) become the visible text \xNN as cm_escape spells them,
 * bytes that are not valid UTF-8 become U+FFFD, valid UTF-8 is kept. */
void rt_html_escape(cm_buf *out, const char *s, size_t len);

/* ---- which events a page draws (html_window.c) ---- */

/* A big history is drawn only around its violations: the `before` events
 * before the first event of a cited op, that event and the `after` events
 * after it, plus every event of a cited op wherever it is. */
typedef struct rt_html_window {
	uint64_t first;             /* index (0-based) of the first cited event */
	uint64_t before, after;
	const uint64_t *cited;      /* op ids; not owned */
	size_t ncited;
} rt_html_window;

#define RT_HTML_BEFORE 300
#define RT_HTML_AFTER 100

/* Whether the window draws the event at index (in its run) of op op_id:
 * true or false. */
bool rt_html_window_keeps(const rt_html_window *w, uint64_t index, uint64_t op_id);
/* Whether op_id is one of w's cited ops: true or false. */
bool rt_html_window_cites(const rt_html_window *w, uint64_t op_id);

/* ---- the page (html.c, html_read.c) ---- */

/* What the page says about the run besides its history; any field may be
 * NULL (not known). */
typedef struct rt_html_info {
	const char *title;          /* "minimal failing case of run 3", ... */
	const char *target;         /* what was tested */
	const char *shape;          /* the run's shape (rt_shape_format) */
	const char *replay;         /* the command that replays it */
} rt_html_info;

/* Writes the page of run number `segment` (0-based: a file may hold
 * several runs, each with its header) of the history in `in`, which must
 * be seekable (it is read twice: once to find the window, once to draw
 * it), with the nv violations v of that run; in NULL writes a page with
 * the info and the violations and no timeline. 0, or -1 with err filled
 * (one line naming path, or the history's line that is not valid). */
int rt_html_write(const char *path, FILE *in, uint32_t segment, const model_violation *v,
		  size_t nv, const rt_html_info *info, cm_err *err);

#endif
