/* imapc internals shared between its source files. */
#ifndef IMAPC_INT_H
#define IMAPC_INT_H

#include "imapc.h"

#include <stdarg.h>

/* ---- framing: splitting a byte stream into whole responses ------------------
 * All offsets are relative to the first byte of the response being framed. */
typedef struct imapc_framer {
	imapc_limits lim;
	size_t line_start;       /* start of the line being scanned */
	size_t scan;             /* bytes of that line already searched */
	size_t lit_end;          /* end of the literal being received */
	bool in_literal;
	imapc_lit_ *lits;        /* literal data spans of this response */
	size_t n_lits, cap_lits;
} imapc_framer;

void imapc_framer_init(imapc_framer *f, const imapc_limits *lim);
void imapc_framer_free(imapc_framer *f);
void imapc_framer_reset(imapc_framer *f);
/* 1 with *resp_len when buf holds a whole response, 0 when more bytes are
 * needed, -1 on error (err filled). Resumes where the last call stopped. */
int imapc_framer_next(imapc_framer *f, const char *buf, size_t len,
		      size_t *resp_len, char *err, size_t errsz);

/* ---- the lexer over one complete response ----------------------------------- */
typedef struct imapc_lex {
	const char *base;        /* first byte of the response */
	const char *p;           /* cursor */
	const char *end;         /* before the final line terminator */
	const imapc_lit_ *lits;
	size_t n_lits, lit_i;
	cm_buf *scratch;
	bool *scratch_ready;
	size_t raw_len;
	const imapc_limits *lim;
	size_t items;
	char *err;
	size_t errsz;
} imapc_lex;

bool imapc_lex_fail(imapc_lex *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));


static inline int imapc_lex_peek(const imapc_lex *l)
{
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

static inline bool imapc_lex_at_end(const imapc_lex *l)
{
	return l->p >= l->end;
}

bool imapc_lex_count(imapc_lex *l);
bool imapc_lex_char(imapc_lex *l, char c);
bool imapc_lex_sp(imapc_lex *l);
bool imapc_lex_try_sp(imapc_lex *l);          /* SP unless at ')' or end */
bool imapc_lex_end(imapc_lex *l);             /* only spaces remain */
bool imapc_lex_atom(imapc_lex *l, imapc_str *out);
bool imapc_lex_astring_chars(imapc_lex *l, imapc_str *out);
bool imapc_lex_number(imapc_lex *l, uint32_t *out);
bool imapc_lex_number64(imapc_lex *l, uint64_t *out);
bool imapc_lex_quoted(imapc_lex *l, imapc_str *out);
bool imapc_lex_literal(imapc_lex *l, imapc_str *out, bool *lit8);
bool imapc_lex_string(imapc_lex *l, imapc_str *out);
bool imapc_lex_astring(imapc_lex *l, imapc_str *out);
/* NIL gives *nil = true and an empty view. */
bool imapc_lex_nstring(imapc_lex *l, imapc_str *out, bool *nil, bool *lit8);
bool imapc_lex_is_nil(const imapc_lex *l);
bool imapc_lex_skip_value(imapc_lex *l);
/* From '[' to the matching ']' (both consumed); *out is what lies between. */
bool imapc_lex_section(imapc_lex *l, imapc_str *out);
void imapc_lex_rest(imapc_lex *l, imapc_str *out);
bool imapc_lex_flag(imapc_lex *l, imapc_str *out);

/* ---- parsing pieces ------------------------------------------------------------ */
bool imapc_parse_response_(imapc_response *r, const char *raw, size_t len,
			   const imapc_lit_ *lits, size_t n_lits,
			   const imapc_limits *lim, char *err, size_t errsz);
void imapc_response_init_(imapc_response *r);
void imapc_response_fini_(imapc_response *r);

bool imapc_parse_code_(imapc_lex *l, imapc_response *r);
bool imapc_parse_fetch_(imapc_lex *l, imapc_response *r);
bool imapc_parse_flaglist_(imapc_lex *l, imapc_flagset *fs);
/* Sequence set into slot (0 or 1) of the response's storage. */
bool imapc_parse_seqset_(imapc_lex *l, imapc_response *r, int slot,
			 imapc_seqset *out);
/* Space-separated atoms to the end (or to ']' when in_code). */
bool imapc_parse_caps_(imapc_lex *l, imapc_response *r, bool in_code,
		       imapc_caps *out);
void imapc_push_str_(imapc_response *r, imapc_str s);

#endif
