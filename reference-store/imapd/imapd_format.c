/* The response formatter: a model_result as IMAP text, in the order the
 * session produced it (3501 section 7, 4315, 6851, 7162). */
#include "imapd.h"
#include "imap_syntax.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- atoms of the output ---- */

static bool atom_ok(const char *s, size_t len)
{
	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!imap_atom_char(c))
			return false;
	}
	return true;
}

static void put_quoted_or_literal(cm_buf *out, const char *s, size_t len)
{
	if (imap_quotable(s, len, 1024)) {
		imap_put_quoted(out, s, len);
		return;
	}
	cm_buf_printf(out, "{%zu}\r\n", len);
	cm_buf_append(out, s, len);
}

void imapd_format_astring(cm_buf *out, const char *s, size_t len)
{
	if (atom_ok(s, len))
		cm_buf_append(out, s, len);
	else
		put_quoted_or_literal(out, s, len);
}

/* Human text: printable ASCII only, never starting like a code. */
static void put_text(cm_buf *out, const char *s)
{
	if (*s == '[')
		cm_buf_putc(out, '(');
	else if (*s != '\0')
		cm_buf_putc(out, *s);
	for (size_t i = *s ? 1 : 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		cm_buf_putc(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
}

void imapd_format_date(cm_buf *out, int64_t t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		memset(&tm, 0, sizeof(tm)), tm.tm_mday = 1, tm.tm_year = 70;
	cm_buf_printf(out, "%02d-%.3s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
		      months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		      tm.tm_sec);
}

static void put_flags(cm_buf *out, cm_flags flags, bool recent)
{
	cm_buf_putc(out, '(');
	cm_flags_format(out, flags);
	if (recent)
		cm_buf_puts(out, flags ? " \\Recent" : "\\Recent");
	cm_buf_putc(out, ')');
}

/* ---- codes ---- */

static void put_code_name(cm_buf *out, const model_code *c)
{
	const char *name = c->kind == MODEL_CODE_OTHER ? c->text : model_code_name(c->kind);
	bool any = false;
	for (const char *p = name; *p; p++) {
		if (atom_ok(p, 1)) {
			cm_buf_putc(out, *p);
			any = true;
		}
	}
	if (!any)
		cm_buf_puts(out, "X-UNKNOWN");
}

void imapd_format_code(cm_buf *out, const model_code *c)
{
	cm_buf_putc(out, '[');
	put_code_name(out, c);
	model_code_args_format(out, c);
	cm_buf_putc(out, ']');
}

static const char *code_text(const model_code *c)
{
	switch (c->kind) {
	case MODEL_CODE_UIDVALIDITY: return "UIDs valid";
	case MODEL_CODE_UIDNEXT: return "Predicted next UID";
	case MODEL_CODE_PERMANENTFLAGS: return "Flags permitted";
	case MODEL_CODE_HIGHESTMODSEQ: return "Highest";
	case MODEL_CODE_CLOSED: return "Previous mailbox closed";
	case MODEL_CODE_COPYUID: return "Moved";
	case MODEL_CODE_OTHER:
		return strcmp(c->text, "UNSEEN") == 0 ? "First unseen" : "Note";
	default: return "Note";
	}
}

/* ---- FETCH ---- */

static void section_name(cm_buf *out, const imapd_section *s)
{
	static const char *const rfc822[] = {
		[IMAPD_FORM_RFC822] = "RFC822", [IMAPD_FORM_RFC822_HEADER] = "RFC822.HEADER",
		[IMAPD_FORM_RFC822_TEXT] = "RFC822.TEXT",
	};
	if (s->form != IMAPD_FORM_BODY) {
		cm_buf_puts(out, rfc822[s->form]);
		return;
	}
	cm_buf_puts(out, "BODY[");
	switch (s->kind) {
	case IMAPD_SEC_ALL: break;
	case IMAPD_SEC_HEADER: cm_buf_puts(out, "HEADER"); break;
	case IMAPD_SEC_TEXT: cm_buf_puts(out, "TEXT"); break;
	case IMAPD_SEC_FIELDS:
	case IMAPD_SEC_FIELDS_NOT:
		cm_buf_printf(out, "HEADER.FIELDS%s (%s)",
			      s->kind == IMAPD_SEC_FIELDS_NOT ? ".NOT" : "", s->fields);
		break;
	}
	cm_buf_putc(out, ']');
	if (s->partial)
		cm_buf_printf(out, "<%" PRIu32 ">", s->origin);
}

/* The body items; false when the message bytes are gone (or not the
 * ones the session read). */
static bool put_sections(cm_buf *out, const model_fetch *fe, const imapd_fmt *f,
			 const char *sep)
{
	cm_buf msg = {0}, part = {0};
	bool ok = f->body == NULL || f->body(f->ctx, fe->uid, &msg) == 0;
	if (ok && f->body != NULL && cm_hash64(msg.data, msg.len) != fe->body_hash)
		ok = false;
	for (size_t i = 0; ok && i < f->cmd->nsec; i++) {
		cm_buf_puts(out, sep);
		section_name(out, &f->cmd->sec[i]);
		imapd_section_bytes(&part, &f->cmd->sec[i], msg.data ? msg.data : "", msg.len);
		cm_buf_printf(out, " {%zu}\r\n", part.len);
		cm_buf_append(out, part.data ? part.data : "", part.len);
		sep = " ";
	}
	cm_buf_free(&msg);
	cm_buf_free(&part);
	return ok;
}

static int put_fetch(cm_buf *out, const model_untagged *u, const imapd_fmt *f)
{
	const model_fetch *fe = &u->fetch;
	size_t start = out->len;
	const char *sep = "";
	cm_buf_printf(out, "* %" PRIu32 " FETCH (", u->n);
	if (fe->has & MODEL_F_UID) {
		cm_buf_printf(out, "UID %" PRIu32, fe->uid);
		sep = " ";
	}
	if (fe->has & MODEL_F_FLAGS) {
		cm_buf_printf(out, "%sFLAGS ", sep);
		put_flags(out, fe->flags, fe->recent);
		sep = " ";
	}
	if (fe->has & MODEL_F_MODSEQ) {
		cm_buf_printf(out, "%sMODSEQ (%" PRIu64 ")", sep, fe->modseq);
		sep = " ";
	}
	if (fe->has & MODEL_F_SIZE) {
		cm_buf_printf(out, "%sRFC822.SIZE %" PRIu32, sep, fe->size);
		sep = " ";
	}
	if (fe->has & MODEL_F_IDATE) {
		cm_buf_printf(out, "%sINTERNALDATE \"", sep);
		imapd_format_date(out, fe->idate);
		cm_buf_putc(out, '"');
		sep = " ";
	}
	bool bodies = (fe->has & (MODEL_F_BODY | MODEL_F_ID)) && f != NULL &&
		      f->cmd != NULL && f->cmd->nsec > 0;
	if (bodies && !put_sections(out, fe, f, sep)) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return IMAPD_FMT_DROPPED;
	}
	cm_buf_puts(out, ")\r\n");
	return 0;
}

/* ---- the other untagged responses ---- */

static void put_search(cm_buf *out, const model_untagged *u)
{
	cm_buf_puts(out, "* SEARCH");
	for (size_t i = 0; i < u->set.n; i++)
		for (uint64_t x = u->set.r[i].lo; x <= u->set.r[i].hi; x++)
			cm_buf_printf(out, " %" PRIu64, x);
	if (u->value != 0)
		cm_buf_printf(out, " (MODSEQ %" PRIu64 ")", u->value);
	cm_buf_puts(out, "\r\n");
}

static void put_status(cm_buf *out, const model_status_data *d)
{
	/* By MODEL_STATUS_* bit position, as model_status_item_names. */
	const uint64_t values[MODEL_STATUS_COUNT] = {d->messages, d->recent, d->uidnext,
						d->uidvalidity, d->unseen, d->highestmodseq};
	const char *sep = "";
	cm_buf_puts(out, "* STATUS ");
	imapd_format_astring(out, d->mailbox, strnlen(d->mailbox, sizeof(d->mailbox)));
	cm_buf_puts(out, " (");
	for (unsigned i = 0; i < MODEL_STATUS_COUNT; i++) {
		if (d->has & (1u << i)) {
			cm_buf_printf(out, "%s%s %" PRIu64, sep, model_status_item_names[i],
				      values[i]);
			sep = " ";
		}
	}
	cm_buf_puts(out, ")\r\n");
}

static void put_enabled(cm_buf *out, unsigned caps)
{
	cm_buf_puts(out, "* ENABLED");
	if (caps & MODEL_CAP_CONDSTORE)
		cm_buf_puts(out, " CONDSTORE");
	if (caps & MODEL_CAP_QRESYNC)
		cm_buf_puts(out, " QRESYNC");
	cm_buf_puts(out, "\r\n");
}

int imapd_format_untagged(cm_buf *out, const model_untagged *u, const imapd_fmt *f)
{
	switch (u->kind) {
	case MODEL_UT_EXISTS: cm_buf_printf(out, "* %" PRIu32 " EXISTS\r\n", u->n); break;
	case MODEL_UT_RECENT: cm_buf_printf(out, "* %" PRIu32 " RECENT\r\n", u->n); break;
	case MODEL_UT_EXPUNGE: cm_buf_printf(out, "* %" PRIu32 " EXPUNGE\r\n", u->n); break;
	case MODEL_UT_VANISHED:
		if (u->set.n == 0)
			break; /* nothing vanished: nothing to say */
		cm_buf_puts(out, u->earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
		cm_uidset_format(out, &u->set);
		cm_buf_puts(out, "\r\n");
		break;
	case MODEL_UT_FETCH: return put_fetch(out, u, f);
	case MODEL_UT_FLAGS:
		cm_buf_puts(out, "* FLAGS ");
		put_flags(out, u->flags, false);
		cm_buf_puts(out, "\r\n");
		break;
	case MODEL_UT_CODE:
		cm_buf_puts(out, "* OK ");
		imapd_format_code(out, &u->code);
		cm_buf_printf(out, " %s\r\n", code_text(&u->code));
		break;
	case MODEL_UT_SEARCH: put_search(out, u); break;
	case MODEL_UT_STATUS: put_status(out, &u->status); break;
	case MODEL_UT_ENABLED: put_enabled(out, u->caps); break;
	case MODEL_UT_BYE: cm_buf_puts(out, "* BYE Logging out\r\n"); break;
	default: break;
	}
	return 0;
}

/* ---- the whole result ---- */

static void put_tagged(cm_buf *out, const char *tag, const model_result *res,
		       const imapd_fmt *f, bool dropped)
{
	const char *name = f != NULL && f->cmd != NULL && f->cmd->name[0] ? f->cmd->name
									  : "Command";
	model_reply st = res->status == MODEL_REPLY_NONE ? MODEL_REPLY_BAD : res->status;
	const model_code *code = &res->code;
	model_code expunged = {.kind = MODEL_CODE_EXPUNGEISSUED};
	if (dropped && st == MODEL_REPLY_OK) {
		st = MODEL_REPLY_NO;
		code = &expunged;
	}
	cm_buf_printf(out, "%s %s ", tag, st == MODEL_REPLY_OK ? "OK" : st == MODEL_REPLY_NO ? "NO" : "BAD");
	if (code->kind != MODEL_CODE_NONE) {
		imapd_format_code(out, code);
		cm_buf_putc(out, ' ');
	}
	if (dropped && code == &expunged)
		cm_buf_puts(out, "Some messages were expunged meanwhile");
	else if (res->text[0] != '\0')
		put_text(out, res->text);
	else
		cm_buf_printf(out, "%s %s", name, st == MODEL_REPLY_OK ? "completed" : "failed");
	cm_buf_puts(out, "\r\n");
}

int imapd_format_result(cm_buf *out, const char *tag, const model_result *res,
			const imapd_fmt *f)
{
	int flags = 0;
	bool bye = false;
	for (size_t i = 0; i < res->nut; i++) {
		const model_untagged *u = &res->ut[i];
		if (u->kind == MODEL_UT_BYE && res->status == MODEL_REPLY_UNKNOWN) {
			bye = true;
			cm_buf_puts(out, "* BYE ");
			put_text(out, res->text[0] ? res->text : "Session lost");
			cm_buf_puts(out, "\r\n");
			continue;
		}
		bye |= u->kind == MODEL_UT_BYE;
		flags |= imapd_format_untagged(out, u, f);
	}
	if (res->status == MODEL_REPLY_UNKNOWN) {
		/* A lost reply: the client must see the connection end. */
		if (!bye) {
			cm_buf_puts(out, "* BYE ");
			put_text(out, res->text[0] ? res->text : "Session lost");
			cm_buf_puts(out, "\r\n");
		}
		return flags | IMAPD_FMT_CLOSE;
	}
	put_tagged(out, tag, res, f, (flags & IMAPD_FMT_DROPPED) != 0);
	return flags | (bye ? IMAPD_FMT_CLOSE : 0);
}
