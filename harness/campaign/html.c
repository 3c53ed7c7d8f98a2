/* The HTML timeline (html.h): one file, inline CSS, no script and no URL,
 * so that it opens anywhere (a CI artifact, a mail attachment) and a
 * hostile history cannot make it fetch or run anything. Time runs down:
 * one row per event drawn, one column per client, and an op's box spans
 * the rows from its invoke to its completion. */
#include "html_private.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
	ROW = 18,        /* px per event */
	LANE = 124,      /* px per lane: eight fit beside a note in 1400 px */
	NOTE_W = 360,    /* px of a violation's note */
	NOTE_H = 110,    /* px a note is given before the next one */
};

static const char style[] =
	"body{font:13px/1.35 sans-serif;margin:16px;color:#222}"
	"h1{font-size:18px}table.info th{text-align:left;padding-right:12px;vertical-align:top}"
	"code{font:12px monospace;background:#f2f2f2;padding:1px 3px}"
	".legend span{display:inline-block;padding:0 6px;margin-right:6px;border:1px solid #555}"
	".heads{position:relative;height:34px;position:sticky;top:0;background:#fff;z-index:5}"
	".head{position:absolute;top:0;height:32px;overflow:hidden;font:11px sans-serif;"
	"border-bottom:2px solid #888;padding:0 4px;box-sizing:border-box}"
	".tl{position:relative}"
	".lane{position:absolute;top:0;bottom:0;border-left:1px solid #ddd}"
	".lane.annot{background:#f4f4fb}"
	".op{position:absolute;box-sizing:border-box;border:1px solid #555;border-radius:3px;"
	"padding:0 3px;overflow:hidden;white-space:nowrap;font:11px/16px monospace}"
	".ok{background:#cfe8cf}.no{background:#f6c99b}.unk{background:#ddd;border-style:dashed}"
	".open{background:#f3f3f3;border-style:dotted}.fault{background:#333;color:#fff}"
	".checkpoint{background:#e2e2f6}"
	".cited{outline:3px solid #d00;z-index:3}"
	".gap{position:absolute;left:0;height:18px;color:#777;font-style:italic;"
	"border-top:1px dashed #aaa;font-size:11px}"
	".note{position:absolute;width:360px;box-sizing:border-box;border:2px solid #d00;"
	"background:#fff0f0;padding:4px 6px;font-size:12px;max-height:104px;overflow:auto}"
	".violation{margin-bottom:4px}";

/* s (NUL-terminated, at most max bytes read), escaped. */
static void esc(cm_buf *b, const char *s, size_t max)
{
	rt_html_escape(b, s, strnlen(s, max));
}

/* An op's hover text: its lines escaped, joined by the entity of a line
 * feed, so that a title attribute shows them one a line. */
static void esc_lines(cm_buf *b, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '\n')
			continue;
		if (start > 0)
			cm_buf_puts(b, "&#10;");
		rt_html_escape(b, s + start, i - start);
		start = i + 1;
	}
}

static void info_row(cm_buf *b, const char *name, const char *value, bool code)
{
	if (value == NULL || value[0] == '\0')
		return;
	cm_buf_printf(b, "<tr><th>%s</th><td>%s", name, code ? "<code>" : "");
	esc(b, value, 4096);
	cm_buf_printf(b, "%s</td></tr>\n", code ? "</code>" : "");
}

/* One violation in words: "ERROR ID mailbox uid N client N: detail [ops]". */
static void violation_words(cm_buf *b, const model_violation *v)
{
	const model_inv_info *info = model_inv_get(v->inv);
	cm_buf_printf(b, "%s <b class=\"inv\">", v->severity == MODEL_SEV_ERROR ? "ERROR" : "WARNING");
	esc(b, info->id, 64);
	cm_buf_puts(b, "</b>");
	if (v->mailbox[0]) {
		cm_buf_putc(b, ' ');
		esc(b, v->mailbox, sizeof(v->mailbox));
	}
	if (v->uid)
		cm_buf_printf(b, " uid %" PRIu32, v->uid);
	if (v->client)
		cm_buf_printf(b, " client %" PRIu32, v->client);
	cm_buf_puts(b, ": ");
	esc(b, v->detail, sizeof(v->detail));
	if (v->events[0]) {
		cm_buf_puts(b, " [ops");
		for (int i = 0; i < 4 && v->events[i]; i++)
			cm_buf_printf(b, " <a href=\"#op-%" PRIu64 "\">%" PRIu64 "</a>", v->events[i],
				      v->events[i]);
		cm_buf_putc(b, ']');
	}
}

static void head(cm_buf *b, const rt_html_info *info, const model_violation *v, size_t nv,
		 const hp_page *p)
{
	const char *title = info->title ? info->title : "a run";
	cm_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<title>ratchet timeline: ");
	esc(b, title, 1024);
	cm_buf_printf(b, "</title><style>%s</style></head><body>\n<h1>ratchet timeline: ", style);
	esc(b, title, 1024);
	cm_buf_puts(b, "</h1>\n<table class=\"info\">\n");
	info_row(b, "target", info->target ? info->target : (p ? p->h.target : NULL), false);
	if (p != NULL && p->h.mutant[0])
		info_row(b, "mutant", p->h.mutant, false);
	info_row(b, "shape", info->shape, false);
	info_row(b, "replay", info->replay, true);
	cm_buf_puts(b, "</table>\n");
	if (nv > 0 && p != NULL)
		cm_buf_puts(b, "<p><a id=\"jump\" href=\"#v0\">Jump to the first violation</a></p>\n");
	else if (nv == 0)
		cm_buf_puts(b, "<p>No violations.</p>\n");
	cm_buf_puts(b, "<ol class=\"violations\">\n");
	for (size_t i = 0; i < nv && i < HP_MAX_NOTES; i++) {
		cm_buf_printf(b, "<li class=\"violation\" data-invariant=\"");
		esc(b, model_inv_get(v[i].inv)->id, 64);
		cm_buf_printf(b, "\"><a href=\"#v%zu\">note</a> ", i);
		violation_words(b, &v[i]);
		cm_buf_puts(b, "</li>\n");
	}
	if (nv > HP_MAX_NOTES)
		cm_buf_printf(b, "<li>... and %zu more (the report lists them)</li>\n",
			      nv - HP_MAX_NOTES);
	cm_buf_puts(b, "</ol>\n");
}

static void legend(cm_buf *b, const hp_page *p)
{
	cm_buf_puts(b, "<p class=\"legend\"><span class=\"ok\">OK</span><span class=\"no\">"
		    "NO / BAD</span><span class=\"unk\">outcome unknown</span><span class=\""
		    "open\">no reply drawn</span><span class=\"fault\">fault</span><span class="
		    "\"cited\">cited by a violation</span> Hover over an op for its command, "
		    "untagged responses and result.</p>\n");
	cm_buf_printf(b, "<p class=\"drawn\">%" PRIu64 " of the run's %" PRIu64 " events drawn"
		      " (at most the %d before the first cited event, %d after it, and every"
		      " event of a cited op)%s%s.</p>\n", p->drawn, p->events, RT_HTML_BEFORE,
		      RT_HTML_AFTER, p->truncated ? "; stopped at the limit of events drawn" : "",
		      p->lanes_full ? "; clients past the limit of lanes left out" : "");
}

/* What a lane is, from its ops: "client 3", "client 5 (delivery)". */
static void lane_name(cm_buf *b, const hp_lane *l)
{
	if (l->client == 0) {
		cm_buf_puts(b, "faults, checkpoints");
		return;
	}
	cm_buf_printf(b, "client %" PRIu32, l->client);
	if (l->kinds == 1u << MODEL_OP_DELIVER)
		cm_buf_puts(b, " (delivery)");
	else if (l->kinds == 1u << MODEL_OP_SYNC)
		cm_buf_puts(b, " (sync agent)"); /* of two replicas: hover names them */
	if (l->kinds != 1u << MODEL_OP_SYNC && l->replica != 0 && !l->mixed_replica)
		cm_buf_printf(b, " @ replica %" PRIu32, l->replica);
}

static void lanes(cm_buf *b, const hp_page *p)
{
	int height = (int)p->rows * ROW;
	cm_buf_printf(b, "<div class=\"heads\" style=\"width:%zupx\">",
		      p->nlanes * LANE + NOTE_W + 20);
	for (size_t i = 0; i < p->nlanes; i++) {
		cm_buf_printf(b, "<div class=\"head\" style=\"left:%zupx;width:%dpx\">",
			      i * LANE, LANE);
		lane_name(b, &p->lanes[i]);
		cm_buf_puts(b, "</div>");
	}
	cm_buf_printf(b, "<div class=\"head\" style=\"left:%zupx;width:%dpx\">violations</div>"
		      "</div>\n<div class=\"tl\" style=\"height:%dpx;width:%zupx\">\n",
		      p->nlanes * LANE + 10, NOTE_W, height, p->nlanes * LANE + NOTE_W + 20);
	for (size_t i = 0; i < p->nlanes; i++)
		cm_buf_printf(b, "<div class=\"lane%s\" data-client=\"%" PRIu32 "\" style=\"left:"
			      "%zupx;width:%dpx\"></div>\n", i == 0 ? " annot" : " client",
			      p->lanes[i].client, i * LANE, LANE);
	for (size_t i = 0; i < p->ngaps; i++)
		cm_buf_printf(b, "<div class=\"gap\" style=\"top:%" PRIu32 "px;width:%zupx\">"
			      "&#8942; %" PRIu64 " events not drawn</div>\n",
			      p->gaps[i].row * ROW, p->nlanes * LANE, p->gaps[i].skipped);
}

static const char *outcome_class(const hp_op *o)
{
	if (o->fault)
		return "fault";
	if (!o->ended)
		return "open";
	switch (o->outcome) {
	case MODEL_EV_OK: return "ok";
	case MODEL_EV_FAIL: return "no";
	default: return "unk";
	}
}

static void op_box(cm_buf *b, const hp_page *p, const hp_op *o, const model_violation *v)
{
	uint32_t row1 = o->ended || o->fault ? o->row1 : p->rows - 1;
	if (o->fault)
		row1 = o->row0;
	assert(row1 >= o->row0 && row1 < p->rows);
	cm_buf_printf(b, "<div id=\"op-%" PRIu64 "\" class=\"op %s%s%s\"", o->id,
		      outcome_class(o), o->notes ? " cited" : "",
		      o->lane == 0 && !o->fault ? " checkpoint" : "");
	if (o->notes) {
		cm_buf_puts(b, " data-violations=\"");
		for (int i = 0; i < HP_MAX_NOTES; i++)
			if (o->notes & (1u << i)) {
				esc(b, model_inv_get(v[i].inv)->id, 64);
				cm_buf_putc(b, ' ');
			}
		cm_buf_putc(b, '"');
	}
	cm_buf_printf(b, " style=\"left:%" PRIu32 "px;top:%" PRIu32 "px;width:%dpx;height:%"
		      PRIu32 "px\" title=\"", o->lane * LANE + 4, o->row0 * ROW, LANE - 8,
		      (row1 - o->row0 + 1) * ROW - 2);
	esc_lines(b, o->hover.data ? o->hover.data : "", o->hover.len);
	cm_buf_puts(b, "\">");
	esc(b, o->label, 4096);
	cm_buf_puts(b, "</div>\n");
}

/* Each violation's note beside the first row of the ops it cites. */
static void notes(cm_buf *b, const hp_page *p, const model_violation *v, size_t nv)
{
	uint32_t next_top = 0;
	for (size_t i = 0; i < nv && i < HP_MAX_NOTES; i++) {
		uint32_t row = UINT32_MAX;
		for (size_t k = 0; k < p->nops; k++)
			if ((p->ops[k].notes & (1u << i)) && p->ops[k].row0 < row)
				row = p->ops[k].row0;
		uint32_t top = row == UINT32_MAX ? 0 : row * ROW;
		top = CM_MAX(top, next_top);
		next_top = top + NOTE_H;
		cm_buf_printf(b, "<div class=\"note\" id=\"v%zu\" style=\"left:%zupx;top:%" PRIu32
			      "px\">", i, p->nlanes * LANE + 10, top);
		violation_words(b, &v[i]);
		cm_buf_puts(b, "</div>\n");
	}
}

/* Which notes cite each op (bit i: violation i). */
static void mark_cited(hp_page *p, const model_violation *v, size_t nv)
{
	for (size_t k = 0; k < p->nops; k++)
		for (size_t i = 0; i < nv && i < HP_MAX_NOTES; i++)
			for (int e = 0; e < 4 && v[i].events[e]; e++)
				if (v[i].events[e] == p->ops[k].id)
					p->ops[k].notes |= 1u << i;
}

static int save(const char *path, const cm_buf *b, cm_err *err)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		cm_err_set(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = b->len;
	bool ok = fwrite(b->data, 1, n, f) == n;
	if (fclose(f) != 0 || !ok) {
		cm_err_set(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int rt_html_write(const char *path, FILE *in, uint32_t segment, const model_violation *v,
		  size_t nv, const rt_html_info *info, cm_err *err)
{
	uint64_t cited[HP_MAX_CITED];
	size_t ncited = 0;
	for (size_t i = 0; i < nv && i < HP_MAX_NOTES; i++)
		for (int e = 0; e < 4 && v[i].events[e] && ncited < HP_MAX_CITED; e++)
			cited[ncited++] = v[i].events[e];
	hp_page p;
	memset(&p, 0, sizeof(p));
	p.w = (rt_html_window){.before = RT_HTML_BEFORE, .after = RT_HTML_AFTER,
			       .cited = cited, .ncited = ncited};
	if (in != NULL && hp_page_read(&p, in, segment, err) != 0) {
		hp_page_free(&p);
		return -1;
	}
	cm_buf b = {0};
	head(&b, info, v, nv, in ? &p : NULL);
	if (in != NULL) {
		mark_cited(&p, v, nv);
		legend(&b, &p);
		lanes(&b, &p);
		for (size_t k = 0; k < p.nops; k++)
			op_box(&b, &p, &p.ops[k], v);
		notes(&b, &p, v, nv);
		cm_buf_puts(&b, "</div>\n");
	}
	cm_buf_puts(&b, "</body></html>\n");
	int rc = save(path, &b, err);
	cm_buf_free(&b);
	hp_page_free(&p);
	return rc;
}
