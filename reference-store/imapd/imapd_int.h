/* Internals of the imapd parser: a cursor over one complete command. */
#ifndef IMAPD_INT_H
#define IMAPD_INT_H

#include "imapd.h"
#include "imap_syntax.h"

/* Every function returns false on a syntax error, with the first reason
 * kept in err; the parse then stops. */
typedef struct imapd_lx {
	const char *p, *end;
	cm_err *err;
	bool failed;
} imapd_lx;

bool imapd_lx_fail(imapd_lx *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool imapd_lx_eol(const imapd_lx *l);
int imapd_lx_peek(const imapd_lx *l);     /* -1 at the end */
bool imapd_lx_sp(imapd_lx *l);            /* exactly one space */
bool imapd_lx_char(imapd_lx *l, char c);  /* that byte, or fail */
bool imapd_lx_end(imapd_lx *l);           /* nothing left, or fail */
/* Consumes c if it is next. */
bool imapd_lx_accept(imapd_lx *l, char c);

/* 1*ATOM-CHAR (with ']' if bracket); a session state. */
bool imapd_lx_atom(imapd_lx *l, bool bracket, const char **s, size_t *n);
/* The atom kw (case-insensitive) if it is next, as a whole atom. */
bool imapd_lx_kw(imapd_lx *l, const char *kw);
/* astring / string into out (NUL-terminated; no NUL byte allowed). */
bool imapd_lx_astring(imapd_lx *l, char *out, size_t cap, size_t *len_r);
bool imapd_lx_string(imapd_lx *l, char *out, size_t cap, size_t *len_r);
/* A literal as a session state into the line. */
bool imapd_lx_literal(imapd_lx *l, const char **data, size_t *len);
/* 1*DIGIT up to max. */
bool imapd_lx_number(imapd_lx *l, uint64_t max, uint64_t *v);
/* sequence-set; '*' is star (0: refused). *star_r tells if it occurred. */
bool imapd_lx_seqset(imapd_lx *l, uint32_t star, cm_uidset *set, bool *star_r);
/* flag-list "(" [flag *(SP flag)] ")"; \Recent is ignored. */
bool imapd_lx_flag_list(imapd_lx *l, cm_flags *flags);
/* One flag. */
bool imapd_lx_flag(imapd_lx *l, cm_flags *flags);
/* A mailbox name (astring), INBOX kept as sent: the session canonicalises. */
bool imapd_lx_mailbox(imapd_lx *l, char out[MODEL_NAME_MAX]);

/* imapd_parse_fetch.c */
bool imapd_parse_fetch_args(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd);

#endif
