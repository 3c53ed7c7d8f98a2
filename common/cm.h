/* cm: small shared data types used by every ratchet library.
 * Flag sets, UID sets, growable buffers, hashing, a seeded PRNG and clocks.
 * Nothing here knows about IMAP semantics; see model.h for that. */
#ifndef CM_H
#define CM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <assert.h>
#include <stdio.h>

#define CM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- growable byte buffer ------------------------------------------- */
typedef struct cm_buf {
	char *data;   /* always NUL-terminated when data != NULL */
	size_t len;
	size_t cap;
} cm_buf;

void cm_buf_reserve(cm_buf *b, size_t extra);
void cm_buf_append(cm_buf *b, const void *p, size_t n);
void cm_buf_puts(cm_buf *b, const char *s);
void cm_buf_putc(cm_buf *b, char c);
void cm_buf_printf(cm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cm_buf_clear(cm_buf *b);
void cm_buf_free(cm_buf *b);

/* ---- flags ------------------------------------------------------------
 * A permanent-flag set is a 64-bit mask: five system flags, then keywords
 * interned process-wide (case-insensitive, first spelling kept). \Recent is
 * not a permanent flag and never appears in a cm_flags. */
typedef uint64_t cm_flags;
enum {
	CM_FLAG_ANSWERED = 1u << 0,
	CM_FLAG_FLAGGED = 1u << 1,
	CM_FLAG_DELETED = 1u << 2,
	CM_FLAG_SEEN = 1u << 3,
	CM_FLAG_DRAFT = 1u << 4,
};
#define CM_FLAGS_SYSTEM ((cm_flags)0x1f)
#define CM_FLAGS_MAX 64

/* Bit index for a flag name (system or keyword), interning keywords.
 * Returns -1 for an invalid name or a full table, -2 for \Recent. */
int cm_flag_intern(const char *name, size_t len);
/* Like cm_flag_intern but never interns: -1 if unknown. */
int cm_flag_lookup(const char *name, size_t len);
const char *cm_flag_name(int bit);
/* Parses a space-separated list, optionally in parentheses.
 * \Recent is reported through *recent_r (may be NULL). 0 or -1. */
int cm_flags_parse(const char *s, size_t len, cm_flags *flags_r, bool *recent_r);
/* Appends "\Seen $Junk" (no parentheses). */
void cm_flags_format(cm_buf *b, cm_flags flags);
/* Every interned flag: the complement of a FLAGS replace. */
cm_flags cm_flags_all_known(void);

/* ---- UID / sequence sets ----------------------------------------------
 * Sorted, merged, inclusive ranges of 32-bit nonzero numbers. */
typedef struct cm_range {
	uint32_t lo, hi;
} cm_range;

typedef struct cm_uidset {
	cm_range *r;
	size_t n, cap;
} cm_uidset;

void cm_uidset_clear(cm_uidset *s);
void cm_uidset_free(cm_uidset *s);
void cm_uidset_add(cm_uidset *s, uint32_t uid);
void cm_uidset_add_range(cm_uidset *s, uint32_t lo, uint32_t hi);
void cm_uidset_add_set(cm_uidset *s, const cm_uidset *other);
void cm_uidset_remove(cm_uidset *s, uint32_t uid);
bool cm_uidset_contains(const cm_uidset *s, uint32_t uid);
/* Is every member of sub in s? If not, *missing_r (may be NULL) is the
 * lowest one that is not. Costs the ranges, not the members. */
bool cm_uidset_covers(const cm_uidset *s, const cm_uidset *sub, uint32_t *missing_r);
uint64_t cm_uidset_count(const cm_uidset *s);
uint32_t cm_uidset_max(const cm_uidset *s);
bool cm_uidset_equal(const cm_uidset *a, const cm_uidset *b);
void cm_uidset_copy(cm_uidset *dst, const cm_uidset *src);
/* IMAP sequence-set syntax ("1:3,7,9:*"); '*' means star (0 = refuse '*').
 * Ranges are normalised (3:1 = 1:3). 0 on success, -1 on bad syntax. */
int cm_uidset_parse(cm_uidset *s, const char *text, size_t len, uint32_t star);
void cm_uidset_format(cm_buf *b, const cm_uidset *s);
/* The idx-th member in ascending order (idx < count). */
uint32_t cm_uidset_nth(const cm_uidset *s, uint64_t idx);

/* ---- numbers ----------------------------------------------------------
 * A decimal number, strictly: one or more ASCII digits and nothing else (no
 * sign, no space, no empty string), within [min, max] and without overflow.
 * Returns true and sets *v, or false leaving *v untouched. */
bool cm_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v);

/* ---- hashing, PRNG, clocks -------------------------------------------- */
uint64_t cm_hash64(const void *p, size_t n);

typedef struct cm_rng {
	uint64_t s[4];
} cm_rng;

void cm_rng_seed(cm_rng *r, uint64_t seed);
uint64_t cm_rng_next(cm_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t cm_rng_below(cm_rng *r, uint64_t n);
/* True with probability per_million / 1e6. */
bool cm_rng_chance(cm_rng *r, uint32_t per_million);

/* Escapes len bytes of in for a terminal into out (outsz >= 4), always
 * NUL-terminated: printable ASCII as is, \t \r \n, every other byte
 * (controls, DEL, all bytes >= 0x80) as \xNN; when out is too small the
 * text ends in "..." after a whole escape. Returns the input bytes used. */
size_t cm_escape(char *out, size_t outsz, const void *in, size_t len);
/* Writes s to f escaped as cm_escape does, whatever its length. */
void cm_escape_puts(FILE *f, const char *s);

/* Exit codes of every program of the project. */
enum {
	CM_EXIT_CLEAN = 0,       /* ran, found nothing */
	CM_EXIT_VIOLATIONS = 1,  /* ran, found violations */
	CM_EXIT_USAGE = 2,       /* bad usage, bad input or set-up error */
	CM_EXIT_INTERNAL = 3,    /* a bug of ratchet's own */
};

/* The one error convention (of every public header; a module may keep
 * cheaper means inside, e.g. the parsers' lexers).
 * - A function that can fail for a reason a person must read takes a
 *   cm_err *, fills it with one line (what went wrong and where: the
 *   option, file, line or response; no program name, no newline) through
 *   cm_err_set, and returns -1 (or its module's failure value).
 * - The command that called it prints cm_err's text through cm_error: a
 *   single line on stderr, "PROGRAM: TEXT", escaped (cm_escape) so that
 *   quoted input stays one line and never reaches the terminal raw.
 * The reference store, whose callers branch on a code, returns an rs_err
 * and keeps the line on the mailbox handle (rs_last_error), as SQLite's
 * sqlite3_errmsg does: one handle, one last error. */
typedef struct cm_err {
	char text[1024];   /* room for two paths and a reason */
} cm_err;

/* Fills e (if not NULL) and returns -1: "return cm_err_set(e, ...)". */
int cm_err_set(cm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Puts context before e's text ("op.", "line 7: "), keeping one line. */
void cm_err_prefix(cm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The PROGRAM of cm_error's lines (default "ratchet"). */
void cm_error_program(const char *name);

uint64_t cm_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t cm_wall_ns(void);     /* CLOCK_REALTIME */

/* An internal error: prints "ratchet: internal error: ..." and ends the
 * process through cm_panic_exit. For impossible states and out of memory. */
_Noreturn void cm_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What a program must still do when it dies of an internal error (flush
 * its history, write its report, clean up): what = the error's text. */
typedef void cm_panic_fn(void *ctx, const char *what);
/* Registers the hook (NULL: none). Without one cm_panic aborts, as fuzzers
 * and tests want; with one it exits 3. */
void cm_panic_set_hook(cm_panic_fn *fn, void *ctx);
/* Runs the hook once, with a 60 s alarm as a hang guard (a panic inside it,
 * or a second one, goes straight out), then _exit(3); without a hook,
 * abort(). Also the way out of a SIGABRT handler. */
_Noreturn void cm_panic_exit(const char *what);
/* The one growable-array idiom: an array is a pointer, a count and a
 * capacity (size_t), e.g. {item *v; size_t n, cap;}. Before storing
 * element n:  CM_GROW(a->v, a->cap, a->n + 1);  a->v[a->n++] = x;
 * The capacity at least doubles (8 at first), so n pushes cost O(n); a
 * size that overflows, or memory that runs out, is an internal error. */
#define CM_GROW(ptr, cap, need) \
	((ptr) = cm_grow_((ptr), &(cap), (need), sizeof(*(ptr))))
/* CM_GROW's work: returns the (possibly moved) array with *cap >= need. */
void *cm_grow_(void *ptr, size_t *cap, size_t need, size_t elem_size);
void *cm_xmalloc(size_t n);
void *cm_xcalloc(size_t n, size_t size);
void *cm_xrealloc(void *p, size_t n);
char *cm_xstrdup(const char *s);
char *cm_xstrndup(const char *s, size_t n);

/* The command-line option tables (cm_options.h). */
#include "cm_options.h"
#include "cm_man.h"

#endif
