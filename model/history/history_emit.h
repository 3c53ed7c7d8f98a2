/* Internals of the history writer's direct encoder (history_emit*.c): an
 * event's JSON text appended straight to the writer's reused line, with no
 * DOM and no allocation once the line has grown to its working size.
 *
 * The bytes are exactly those of jansson's JSON_COMPACT |
 * JSON_PRESERVE_ORDER dump of hj_header_to_json / hj_event_to_json
 * (history_json*.c): same keys in the same order, same defaults left out,
 * same escaping and numbers, the same U+FFFD for invalid UTF-8 in texts.
 * test_history_emit, test_sim_history_emit and fuzz/history_emit.c hold
 * the two to that. */
#ifndef HISTORY_EMIT_H
#define HISTORY_EMIT_H

#include "history.h"

#include <string.h>

/* The line being written, and whether everything so far could be
 * represented. Where jansson's encoder gives NULL (an op kind, mode, fault
 * or code kind out of range, a flag bit without a name, an unknown untagged
 * kind), ok turns false and the line is worthless: the writer drops it, as
 * it dropped an event whose DOM could not be built. */
typedef struct hj_emit {
	cm_buf *b;
	bool ok;
} hj_emit;

/* Room for n more bytes and the NUL at the end of e's line; returns where
 * they go. The caller advances b->len and puts the NUL back. */
static inline char *hj_emit_room(hj_emit *e, size_t n)
{
	cm_buf *b = e->b;
	if (b->cap - b->len <= n)
		cm_buf_reserve(b, n);
	return b->data + b->len;
}

static inline void hj_emit_raw(hj_emit *e, const char *s, size_t n)
{
	char *p = hj_emit_room(e, n);
	memcpy(p, s, n);
	p[n] = '\0';
	e->b->len += n;
}

/* Objects and arrays: *sep starts as '{' (or '['), is written before each
 * member, then becomes ','. An object or array closes with hj_emit_close,
 * which writes "{}" or "[]" when nothing was put in. */
static inline void hj_emit_sep(hj_emit *e, char *sep)
{
	char *p = hj_emit_room(e, 1);
	p[0] = *sep;
	p[1] = '\0';
	e->b->len++;
	*sep = ',';
}

/* A member's key, given as its literal "\"name\":" (keys are plain ASCII:
 * jansson's escaping leaves them as they are). */
static inline void hj_emit_key_(hj_emit *e, char *sep, const char *quoted, size_t n)
{
	char *p = hj_emit_room(e, n + 1);
	p[0] = *sep;
	memcpy(p + 1, quoted, n);
	p[n + 1] = '\0';
	e->b->len += n + 1;
	*sep = ',';
}
#define HJ_KEY(e, sep, name) hj_emit_key_((e), (sep), "\"" name "\":", sizeof(name) + 2)

/* Closes an object or array opened with sep = '{' or '['. */
void hj_emit_close(hj_emit *e, char sep, char close);

/* ---- values ---- */

/* An unsigned 32-bit integer. */
void hj_emit_u32(hj_emit *e, uint32_t v);
/* A JSON integer, or a decimal string above 2^63-1 (as hj_u64). */
void hj_emit_u64(hj_emit *e, uint64_t v);
void hj_emit_i64(hj_emit *e, int64_t v);
void hj_emit_true(hj_emit *e);
/* s read up to max bytes (strnlen), escaped as jansson escapes; bytes that
 * are not valid UTF-8 become U+FFFD, as hj_str does. */
void hj_emit_text(hj_emit *e, const char *s, size_t max);
/* A name the encoder knows (op kind, status, capability, flag): escaped
 * the same way, but invalid UTF-8 or NULL makes the line unrepresentable,
 * as jansson refuses such a string. */
void hj_emit_name(hj_emit *e, const char *s);
/* A UID set as a string ("1:3,7"), as cm_uidset_format spells it. */
void hj_emit_set(hj_emit *e, const cm_uidset *s);
/* The names of the bits set, of n names by bit, as an array. */
void hj_emit_bits(hj_emit *e, unsigned bits, const char *const *names, size_t n);
/* Flag names by bit; a bit without a name makes the line unrepresentable. */
void hj_emit_flags(hj_emit *e, cm_flags flags);
/* 16 lowercase hex digits, as a string. */
void hj_emit_hex64(hj_emit *e, uint64_t v);

/* ---- objects (history_emit_op.c, history_emit_result.c) ---- */

void hj_emit_op(hj_emit *e, const model_op *op);
void hj_emit_code(hj_emit *e, const model_code *c);
void hj_emit_untagged(hj_emit *e, const model_untagged *u);

/* ---- lines (history_emit.c) ---- */

/* Appends the header's JSON object (no line end) to line. 0, or -1 when it
 * cannot be represented (line then holds a partial object). */
int hj_emit_header(cm_buf *line, const model_history_header *h);
/* Appends the event's JSON object (no line end) to line. 0, or -1 when it
 * cannot be represented: where hj_event_to_json gives NULL (line then
 * holds a partial object). */
int hj_emit_event(cm_buf *line, const model_event *ev);

#endif
