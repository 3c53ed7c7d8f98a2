/* Fixtures of the imapd tests (test_imapd_*.c): the parsed command C and
 * its error, parsing a line, flag bits and UID sets as text, and the check
 * that formatted responses parse with ratchet's own client parser (two
 * independent implementations of one grammar). */
#ifndef IMAPD_TEST_H
#define IMAPD_TEST_H

#include "imapd.h"
#include "imapc.h"
#include "rs_session.h"

#include "cm_test.h"

#include <inttypes.h>

/* The last command parsed, and why it failed. */
static imapd_cmd C;
static cm_err err;

static inline int parse_ctx(const char *s, uint32_t exists)
{
	imapd_parse_ctx ctx = {.exists = exists};
	return imapd_parse(s, strlen(s), &ctx, &C, &err);
}

static inline int parse(const char *s)
{
	return parse_ctx(s, 10);
}

static inline cm_flags F(const char *name)
{
	int b = cm_flag_intern(name, strlen(name));
	REQUIRE(b >= 0);
	return (cm_flags)1 << b;
}

static inline const char *set_text(const cm_uidset *s)
{
	static cm_buf b;
	cm_buf_clear(&b);
	cm_buf_reserve(&b, 1);
	cm_uidset_format(&b, s);
	return b.data;
}

static inline int count_responses(void *ctx, const imapc_response *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

/* Everything we format must parse as responses for ratchet's client. */
static inline int well_formed(const cm_buf *b)
{
	cm_err e;
	int n = 0;
	if (!imapc_parse_all(b->data, b->len, NULL, count_responses, &n, &e)) {
		fprintf(stderr, "not well formed (%s):\n%s\n", e.text, b->data);
		return -1;
	}
	return n;
}

#endif
