/* Internals of the history codec (docs/history.md): the mapping between
 * JSON values and model structs, shared by the writer and the reader. */
#ifndef HISTORY_JSON_H
#define HISTORY_JSON_H

#include "history.h"

#include <jansson.h>

/* Errors are cm_err (cm.h), without the line number: the reader adds it;
 * cm_err_prefix puts context ("op.", "untagged[2].") in front. */

/* Names of the bits of MODEL_CAP_*, by bit. */
#define HJ_CAP_COUNT 8
extern const char *const hj_cap_names[HJ_CAP_COUNT];
/* Names of the op's enumerations (history_json_op.c): FETCH items by bit
 * of MODEL_F_*, faults by model_fault, STORE modes by model_store_mode. */
#define HJ_ITEM_COUNT 7
extern const char *const hj_item_names[HJ_ITEM_COUNT];
#define HJ_FAULT_COUNT 8
extern const char *const hj_fault_names[HJ_FAULT_COUNT];
#define HJ_MODE_COUNT 3
extern const char *const hj_mode_names[HJ_MODE_COUNT];

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 if
 * invalid, by jansson's rules (no overlongs, surrogates or values above
 * U+10FFFF). */
size_t hj_utf8_seq(const unsigned char *s, size_t n);
/* s[0..len) into dst (NUL-terminated), cut to fit size without cutting a
 * UTF-8 sequence in two (the readers' free text). */
void hj_text_copy(char *dst, size_t size, const char *s, size_t len);

/* ---- struct -> JSON (new references; NULL if unrepresentable) ---- */

/* Collects members; a failed member poisons the object (values are
 * consumed by jansson either way, so nothing leaks). */
typedef struct hj_obj {
	json_t *o;
	bool ok;
} hj_obj;

static inline hj_obj hj_obj_new(void)
{
	hj_obj b = {json_object(), true};
	b.ok = b.o != NULL;
	return b;
}

static inline void hj_obj_put(hj_obj *b, const char *key, json_t *v)
{
	if (json_object_set_new_nocheck(b->o, key, v) != 0)
		b->ok = false;
}

static inline json_t *hj_obj_done(hj_obj *b)
{
	if (b->ok)
		return b->o;
	json_decref(b->o);
	return NULL;
}

/* A JSON integer, or a decimal string above 2^63-1. */
json_t *hj_u64(uint64_t v);
/* s is read up to max bytes; invalid UTF-8 becomes U+FFFD. */
json_t *hj_str(const char *s, size_t max);
/* A UID set as a string ("1:3,7"). */
json_t *hj_set_to_json(const cm_uidset *s);
/* The names of the bits set, of n names by bit. */
json_t *hj_bits_to_json(unsigned bits, const char *const *names, size_t n);
/* NULL if a bit has no name: bits are per process, names are the truth. */
json_t *hj_flags_to_json(cm_flags flags);
/* 16 lowercase hex digits. */
json_t *hj_hex64(uint64_t v);
json_t *hj_header_to_json(const model_history_header *h);
json_t *hj_op_to_json(const model_op *op);
json_t *hj_code_to_json(const model_code *c);
json_t *hj_untagged_to_json(const model_untagged *u);
/* A whole event (history_json_event.c): the reference the direct encoder
 * (history_emit.h) is checked against. */
json_t *hj_event_to_json(const model_event *ev);
/* Appends j's compact dump, keys in insertion order (the history's bytes),
 * to line, and releases j. 0, or -1 if j is NULL or the dump fails (a
 * string that is not UTF-8). */
int hj_json_dump(cm_buf *line, json_t *j);

/* ---- JSON -> struct: 0, or -1 with e filled ---- */

int hj_get_u64(const char *key, const json_t *v, uint64_t *out, cm_err *e);
int hj_get_u32(const char *key, const json_t *v, uint32_t *out, cm_err *e);
int hj_get_bool(const char *key, const json_t *v, bool *out, cm_err *e);
/* A string that must fit dst (size bytes with the NUL). */
int hj_get_str(const char *key, const json_t *v, char *dst, size_t size, cm_err *e);
/* Free text: cut to fit (on a UTF-8 boundary) rather than rejected. */
int hj_get_text(const char *key, const json_t *v, char *dst, size_t size, cm_err *e);
int hj_get_i64(const char *key, const json_t *v, int64_t *out, cm_err *e);
/* The string v, its length in *len_r; NULL with e filled if not a string. */
const char *hj_get_string(const char *key, const json_t *v, size_t *len_r,
			  cm_err *e);
int hj_get_set(const char *key, const json_t *v, cm_uidset *s, cm_err *e);
/* 1 to 16 hex digits. */
int hj_get_hex64(const char *key, const json_t *v, uint64_t *out, cm_err *e);
/* One of names (by index), case-insensitively. */
int hj_get_enum(const char *key, const json_t *v, const char *const *names,
		size_t n, int *out, cm_err *e);
/* A list of bit names; unknown names fail, or are skipped when the list is
 * open-ended (capabilities: servers advertise many the model ignores). */
int hj_get_bits(const char *key, const json_t *v, const char *const *names,
		size_t n, bool skip_unknown, unsigned *out, cm_err *e);
/* Flag names, interned. \Recent goes to *recent (dropped if NULL: no
 * permanent-flag set can hold it); "\*" goes to *star where allowed. */
int hj_get_flags(const char *key, const json_t *v, cm_flags *out, bool *recent,
		 bool *star, cm_err *e);
/* 0 if v is an object, else -1 with e filled. */
int hj_want_object(const char *key, const json_t *v, cm_err *e);
int hj_header_from_json(const json_t *obj, model_history_header *h, cm_err *e);
int hj_op_from_json(const json_t *obj, model_op *op, cm_err *e);
int hj_code_from_json(const json_t *obj, model_code *c, cm_err *e);
/* Appends one untagged response to r. */
int hj_untagged_from_json(const json_t *obj, model_result *r, cm_err *e);
int hj_status_parse(const char *s, model_reply *st);

/* Keys of an object type, sorted by name for hj_key_find. */
typedef struct hj_key {
	const char *name;
	int id;
} hj_key;

/* The id of key in a sorted table, or -1 (unknown keys are ignored). */
int hj_key_find(const hj_key *keys, size_t n, const char *key);

/* ---- the fast path (history_scan*.c, history_scan.h) ----
 * The general parser above builds a jansson tree of every line and walks
 * it: about 90% of what reading costs. The fast path reads the lines
 * ratchet's own writer produces in one pass, straight into the event, and
 * says "not recognised" for any other line, which the reader then gives
 * to the general parser: that one accepts every valid history (any key
 * order, unknown keys, every escape) and words every error. */

/* Flag names already seen, by exact spelling, with their bits: one per
 * reader (cm_flag_lookup compares name by name, case-insensitively). */
typedef struct hj_flag_cache hj_flag_cache;
hj_flag_cache *hj_flag_cache_new(void);
void hj_flag_cache_free(hj_flag_cache *c);

/* Readable bytes after line[len] in hj_scan_event. */
#define HJ_SCAN_PAD 16

/* One event line, len bytes, where line[len] is '\0', '\r' or '\n' and
 * HJ_SCAN_PAD more bytes can be read (the reader's buffer). true: recognised, and ev (reset by the caller) holds
 * what event_from_json would make of the line before the reader's own
 * rules (id, time order, ops in flight): a completion's op is not taken
 * from its invoke yet, and *has_op_r says whether the line carried "op".
 * false: not recognised; ev holds part of the line and must be reset. */
bool hj_scan_event(const char *line, size_t len, model_event *ev, hj_flag_cache *fc,
		   bool *has_op_r);

/* The first field in which two events differ, written into what ("op.set",
 * "res.ut[2].fetch.modseq"): true; false when they are equal field by
 * field (strings up to their NUL, sets as sets). */
bool hj_event_diff(const model_event *a, const model_event *b, char *what, size_t size);

/* ---- test hooks ---- */

/* Test hook: in-flight invokes now, and the most ever held at once. */
void hj_reader_pending(const model_history_reader *r, size_t *now_r, size_t *peak_r);

/* How a reader reads its lines. */
typedef enum hj_read_mode {
	HJ_READ_FAST,     /* the fast path, the general parser for the rest */
	HJ_READ_GENERAL,  /* the general parser only */
	/* Both on every line the fast path recognises, the general one
	 * making the event: a line the general parser rejects, or an event
	 * that differs, is an internal error (cm_panic, which aborts in
	 * tests and fuzzers). */
	HJ_READ_VERIFY,
} hj_read_mode;
/* Test hook: the mode of readers made from now on (HJ_READ_FAST until
 * set), process-wide; the history fuzz target verifies every input so. */
void hj_reader_default_mode(hj_read_mode mode);
/* Test hook: r's mode, from its next line on. */
void hj_reader_set_mode(model_history_reader *r, hj_read_mode mode);
/* Test hook: event lines r read by the fast path and by the general
 * parser so far (the header lines not counted). */
void hj_reader_lines(const model_history_reader *r, uint64_t *fast_r, uint64_t *general_r);

#endif
