/* Fuzz target: ratchet-imapd's command parser, fed by a hostile client.
 * Nothing may crash, and:
 *
 *  1. imapd_parse and imapd_parse_command agree on the outcome (OK, BAD,
 *     no tag) for the same bytes, and an error text is printable ASCII.
 *  2. A command that parses is answered: its op (if any) formats through
 *     imapd_format_result with an empty result and a canned untagged set,
 *     and the output is well-formed lines (CRLF-terminated, starting with
 *     "* " or the tag).
 *  3. The helpers the connection uses on raw lines (literal announcement,
 *     tag, SASL PLAIN, dates) run on the same bytes.
 */
#include "fuzz.h"
#include "imapd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *s, const char *what)
{
	for (const char *p = s; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f, "IMAPD-ERROR-TEXT",
			    "%s has byte 0x%02x", what, (unsigned char)*p);
}

/* Every line of out ends in CRLF and starts with "* ", "+ " or the tag. */
static void check_lines(const cm_buf *out, const char *tag)
{
	size_t tl = strlen(tag);
	const char *p = out->data, *end = out->data + out->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_ASSERT(nl != NULL && nl > p && nl[-1] == '\r', "IMAPD-FORMAT",
			    "a response line is not CRLF-terminated");
		bool ok = (nl - p >= 2 && (memcmp(p, "* ", 2) == 0 || memcmp(p, "+ ", 2) == 0)) ||
			  ((size_t)(nl - p) > tl && memcmp(p, tag, tl) == 0 && p[tl] == ' ');
		/* A literal's bytes follow "{n}\r\n": skip them. */
		const char *brace = nl - 2;
		while (brace > p && brace[-1] >= '0' && brace[-1] <= '9')
			brace--;
		if (nl - p >= 3 && nl[-2] == '}' && brace > p && brace[-1] == '{') {
			unsigned long n = strtoul(brace, NULL, 10);
			FUZZ_ASSERT(n <= (size_t)(end - nl - 1), "IMAPD-FORMAT",
				    "a literal runs past the output");
			p = nl + 1 + n;
			continue;
		}
		FUZZ_ASSERT(ok, "IMAPD-FORMAT", "a response line starts with neither "
			    "'* ' nor the tag: %.*s", (int)CM_MIN(nl - p, 80), p);
		p = nl + 1;
	}
}

/* A result with one of every untagged kind the formatter knows. */
static void canned_result(model_result *res, const model_op *op)
{
	model_result_init(res);
	res->status = MODEL_REPLY_OK;
	model_result_add(res, MODEL_UT_EXISTS)->n = 3;
	model_result_add(res, MODEL_UT_RECENT)->n = 1;
	model_untagged *u = model_result_add(res, MODEL_UT_FETCH);
	u->n = 2;
	u->fetch.has = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
	u->fetch.uid = 7;
	u->fetch.flags = op->flags;
	u->fetch.modseq = 12;
	u = model_result_add(res, MODEL_UT_VANISHED);
	cm_uidset_add_range(&u->set, 1, 2);
	model_result_add(res, MODEL_UT_EXPUNGE)->n = 1;
	/* A server's SEARCH lists UIDs that exist: keep it small. */
	if (cm_uidset_count(&op->set) <= 1000) {
		u = model_result_add(res, MODEL_UT_SEARCH);
		cm_uidset_copy(&u->set, &op->set);
	}
}

static int no_body(void *ctx, uint32_t uid, cm_buf *out)
{
	(void)ctx;
	(void)uid;
	cm_buf_puts(out, "X-Ratchet-Id: f-1\r\n\r\nbody\r\n");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > IMAPD_LINE_MAX * 2)
		return 0;
	const char *line = (const char *)data;
	cm_err err, err2;
	char tag[IMAPD_TAG_MAX + 1];
	imapd_cmd cmd;
	imapd_cmd_init(&cmd);
	int rc = imapd_parse(line, size, NULL, &cmd, &err);
	model_op op;
	model_op_init(&op, MODEL_OP_NONE);
	int rc2 = imapd_parse_command(line, size, tag, sizeof(tag), &op, &err2);
	FUZZ_ASSERT(rc == rc2, "IMAPD-PARSE", "imapd_parse says %d, "
		    "imapd_parse_command %d", rc, rc2);
	if (rc != IMAPD_PARSE_OK) {
		check_text(err.text, "the parser's error");
		check_text(err2.text, "the parser's error");
	} else if (cmd.verb == IMAPD_V_OP) {
		cm_buf out = {0};
		model_result res;
		canned_result(&res, &cmd.op);
		imapd_fmt f = {.cmd = &cmd, .body = no_body};
		imapd_format_result(&out, tag, &res, &f);
		check_lines(&out, tag);
		model_result_free(&res);
		cm_buf_free(&out);
	}
	model_op_free(&op);
	imapd_cmd_free(&cmd);

	uint64_t n;
	bool plus;
	(void)imapd_line_literal(line, size, &n, &plus);
	char t2[IMAPD_TAG_MAX + 1];
	(void)imapd_parse_tag(line, size, t2, sizeof(t2));
	char user[IMAPD_AUTH_MAX], pass[IMAPD_AUTH_MAX];
	(void)imapd_sasl_plain(line, size, user, pass);
	int64_t when;
	(void)imapd_parse_date(line, size, &when);
	return 0;
}
