/* Internals of the history codec (docs/history.md): the mapping between
 * JSON values and model structs, shared by the writer and the reader. */
#ifndef HISTORY_JSON_H
#define HISTORY_JSON_H

#include "history.h"

#include <jansson.h>

/* What went wrong, without the line number (the reader adds it). */
typedef struct hj_err {
	char msg[256];
} hj_err;

/* Fills e and returns -1, so that "return hj_fail(...)" reads naturally. */
int hj_fail(hj_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends context ("op.", "untagged[2].") to an error on its way out. */
void hj_prefix(hj_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- struct -> JSON (new references; NULL if unrepresentable) ---- */

/* A JSON integer, or a decimal string above 2^63-1. */
json_t *hj_u64(uint64_t v);
/* s is read up to max bytes; invalid UTF-8 becomes U+FFFD. */
json_t *hj_str(const char *s, size_t max);
json_t *hj_header_to_json(const model_history_header *h);
json_t *hj_op_to_json(const model_op *op);
json_t *hj_code_to_json(const model_code *c);
json_t *hj_untagged_to_json(const model_untagged *u);

/* ---- JSON -> struct: 0, or -1 with e filled ---- */

int hj_get_u64(const char *key, const json_t *v, uint64_t *out, hj_err *e);
int hj_get_u32(const char *key, const json_t *v, uint32_t *out, hj_err *e);
int hj_get_bool(const char *key, const json_t *v, bool *out, hj_err *e);
/* A string that must fit dst (size bytes with the NUL). */
int hj_get_str(const char *key, const json_t *v, char *dst, size_t size, hj_err *e);
/* Free text: cut to fit (on a UTF-8 boundary) rather than rejected. */
int hj_get_text(const char *key, const json_t *v, char *dst, size_t size, hj_err *e);
int hj_header_from_json(const json_t *obj, model_history_header *h, hj_err *e);
int hj_op_from_json(const json_t *obj, model_op *op, hj_err *e);
int hj_code_from_json(const json_t *obj, model_code *c, hj_err *e);
/* Appends one untagged response to r. */
int hj_untagged_from_json(const json_t *obj, model_result *r, hj_err *e);
int hj_status_parse(const char *s, model_reply *st);

/* Keys of an object type, sorted by name for hj_key_find. */
typedef struct hj_key {
	const char *name;
	int id;
} hj_key;

/* The id of key in a sorted table, or -1 (unknown keys are ignored). */
int hj_key_find(const hj_key *keys, size_t n, const char *key);

/* Test hook: in-flight invokes now, and the most ever held at once. */
void hj_reader_pending(const model_history_reader *r, size_t *now_r, size_t *peak_r);

#endif
