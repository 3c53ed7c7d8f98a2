/* The history codec: events to and from JSON Lines (docs/history.md).
 * Depends on the vocabulary (model.h) only. */
#ifndef MODEL_HISTORY_H
#define MODEL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* The first line of a history file. */
typedef struct model_history_header {
	unsigned version;        /* 1 */
	uint64_t seed;
	char target[128];        /* "sim", "imap://host:port", ... */
	unsigned capabilities;   /* MODEL_CAP_* of the target */
	unsigned clients;
	char mutant[64];
} model_history_header;

/* Streaming JSON Lines writer (docs/history.md). */
typedef struct model_history_writer model_history_writer;
model_history_writer *model_history_writer_new(FILE *out, const model_history_header *h);
/* Writes one event; completions repeat only op_id, not the op. */
int model_history_write(model_history_writer *w, const model_event *ev);
int model_history_writer_finish(model_history_writer *w); /* flushes, frees */

/* The longest line a reader accepts, without its line end: 16 MiB (a reply
 * of about 150,000 FETCH items). Longer is an error naming the line, read
 * no further: memory stays bounded whatever the file holds. */
#define MODEL_HISTORY_MAX_LINE (16u << 20)

/* Streaming reader: events one by one; completions get their op filled in
 * from the matching invoke. */
typedef struct model_history_reader model_history_reader;
model_history_reader *model_history_reader_new(FILE *in, model_history_header *h_r,
					       cm_err *err);
/* What model_history_read gives back. */
typedef enum model_history_got {
	/* Input that is not a history: err filled ("line N: ..."); every
	 * later call says so again. */
	MODEL_HISTORY_ERROR = -1,
	MODEL_HISTORY_END = 0,       /* end of the file */
	MODEL_HISTORY_EVENT = 1,     /* *ev holds the next event */
	/* This run ended at the header of another (a file may hold several
	 * runs): model_history_reader_new on the same FILE reads it. */
	MODEL_HISTORY_NEXT_RUN = 2,
} model_history_got;

/* The next event into ev (whose buffers are reused). Except with
 * MODEL_HISTORY_EVENT, ev is left empty (freed and initialised). */
model_history_got model_history_read(model_history_reader *r, model_event *ev, cm_err *err);
void model_history_reader_free(model_history_reader *r);

#endif
