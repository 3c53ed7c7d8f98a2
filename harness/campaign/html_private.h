/* Internals of the HTML timeline (html*.c): the page as read from a
 * history (html_read.c), drawn by html.c, in words by html_text.c. */
#ifndef RT_HTML_PRIVATE_H
#define RT_HTML_PRIVATE_H

#include "html.h"
#include "history.h"

/* Limits that keep a page small whatever the history holds. */
#define HP_MAX_LANES 256        /* client lanes; ops of further clients are left out */
#define HP_MAX_EVENTS 5000      /* events drawn; past it the page says it stopped */
#define HP_MAX_CITED 128        /* cited op ids highlighted */
#define HP_MAX_NOTES 32         /* violations explained beside the timeline */
#define HP_MAX_HOVER 4096       /* bytes of an op's hover text (and its first line) */
#define HP_MAX_LABEL 200        /* bytes of the command in an op's box */
#define HP_MAX_UNTAGGED 40      /* untagged responses listed in it */

/* One op as drawn: a box from row0 to row1 on its lane. */
typedef struct hp_op {
	uint64_t id;
	uint32_t lane;              /* 0: the annotation lane (client 0) */
	uint32_t row0, row1;
	bool started;               /* its invoke is drawn (else the box starts at row 0) */
	bool ended;                 /* its completion is drawn (else it runs to the end) */
	model_ev_type outcome;      /* when ended */
	bool fault;                 /* a fault: a mark, not a box */
	uint32_t notes;             /* bit i: violation note i cites it */
	char *label;                /* the command, raw (escaped when written) */
	cm_buf hover;               /* raw text, lines split by '\n' */
} hp_op;

/* A lane: a client, and what its ops say it is. */
typedef struct hp_lane {
	uint32_t client;
	unsigned kinds;             /* bit k: an op of model_op_kind k */
	uint32_t replica;           /* its ops' replica (0: none or mixed) */
	bool mixed_replica;
} hp_lane;

/* A row where events were left out, and how many. */
typedef struct hp_gap {
	uint32_t row;
	uint64_t skipped;
} hp_gap;

typedef struct hp_page {
	model_history_header h;
	hp_lane lanes[HP_MAX_LANES + 1];    /* [0]: the annotation lane */
	size_t nlanes;
	bool lanes_full;                    /* more clients than lanes */
	hp_op *ops;
	size_t nops, capops;
	hp_gap *gaps;
	size_t ngaps, capgaps;
	uint32_t rows;
	uint64_t events, drawn;             /* in the run; drawn */
	bool truncated;                     /* HP_MAX_EVENTS reached */
	rt_html_window w;
} hp_page;

/* Reads run `segment` of in twice (in is rewound): the first pass finds
 * the lanes and the first cited event, the second keeps the window's
 * events as ops. 0, or -1 with err filled (the history's error). */
int hp_page_read(hp_page *p, FILE *in, uint32_t segment, cm_err *err);
void hp_page_free(hp_page *p);

/* The words of a response code ("[COPYUID 7 1:2 9:10]"), an untagged
 * response ("* 3 FETCH (UID 9 FLAGS (\Seen))") and a result (its first
 * max_untagged untagged responses, one a line, then "NO [code] text"),
 * appended to out, raw: the caller escapes them. */
void rt_html_describe_code(cm_buf *out, const model_code *c);
void rt_html_describe_untagged(cm_buf *out, const model_untagged *u);
void rt_html_describe_result(cm_buf *out, const model_result *r, size_t max_untagged);

#endif
