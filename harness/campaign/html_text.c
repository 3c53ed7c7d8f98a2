/* The HTML timeline's text: escaping (html.h) and the words of a reply,
 * IMAP-like, for an op's hover text (html_private.h). A history may come
 * from a hostile server: every byte of it goes out through rt_html_escape. */
#include "html_private.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (of at most n bytes), or 0
 * when it is not one (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void rt_html_escape(cm_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		switch (c) {
		case '&': cm_buf_puts(out, "&amp;"); i++; continue;
		case '<': cm_buf_puts(out, "&lt;"); i++; continue;
		case '>': cm_buf_puts(out, "&gt;"); i++; continue;
		case '"': cm_buf_puts(out, "&quot;"); i++; continue;
		case '\'': cm_buf_puts(out, "&#39;"); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			/* Visible, as cm_escape spells it: the page shows what came. */
			if (c == '\n')
				cm_buf_puts(out, "\\n");
			else if (c == '\r')
				cm_buf_puts(out, "\\r");
			else if (c == '\t')
				cm_buf_puts(out, "\\t");
			else
				cm_buf_printf(out, "\\x%02x", c);
			i++;
		} else if (c < 0x80) {
			cm_buf_putc(out, (char)c);
			i++;
		} else {
			size_t n = utf8_len(p + i, len - i);
			if (n == 0) {
				cm_buf_puts(out, "\xef\xbf\xbd"); /* U+FFFD */
				i++;
			} else {
				cm_buf_append(out, p + i, n);
				i += n;
			}
		}
	}
}

/* ---- a reply in words ---- */

static void put_set(cm_buf *out, const cm_uidset *s)
{
	cm_buf_putc(out, ' ');
	cm_uidset_format(out, s);
}

void rt_html_describe_code(cm_buf *out, const model_code *c)
{
	if (c->kind == MODEL_CODE_NONE)
		return;
	cm_buf_putc(out, '[');
	if (c->kind == MODEL_CODE_OTHER)
		cm_buf_append(out, c->text, strnlen(c->text, sizeof(c->text)));
	else
		cm_buf_puts(out, model_code_name(c->kind));
	model_code_args_format(out, c);
	cm_buf_putc(out, ']');
}

static void describe_fetch(cm_buf *out, const model_untagged *u)
{
	const model_fetch *f = &u->fetch;
	cm_buf_printf(out, "* %" PRIu32 " FETCH (", u->n);
	if (f->has & MODEL_F_UID)
		cm_buf_printf(out, "UID %" PRIu32 " ", f->uid);
	if (f->has & MODEL_F_FLAGS) {
		cm_buf_puts(out, "FLAGS (");
		cm_flags_format(out, f->flags);
		cm_buf_puts(out, f->recent ? " \\Recent) " : ") ");
	}
	if (f->has & MODEL_F_MODSEQ)
		cm_buf_printf(out, "MODSEQ (%" PRIu64 ") ", f->modseq);
	if (f->has & MODEL_F_BODY)
		cm_buf_printf(out, "BODY[] {hash %016" PRIx64 "} ", f->body_hash);
	if (f->has & MODEL_F_SIZE)
		cm_buf_printf(out, "RFC822.SIZE %" PRIu32 " ", f->size);
	if (f->has & MODEL_F_IDATE)
		cm_buf_printf(out, "INTERNALDATE %" PRId64 " ", f->idate);
	if (f->has & MODEL_F_ID) {
		cm_buf_puts(out, "X-Ratchet-Id ");
		cm_buf_append(out, f->id, strnlen(f->id, sizeof(f->id)));
	}
	while (out->len > 0 && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	cm_buf_putc(out, ')');
}

static void describe_status(cm_buf *out, const model_status_data *s)
{
	const uint64_t v[MODEL_STATUS_COUNT] = {s->messages, s->recent, s->uidnext,
						s->uidvalidity, s->unseen, s->highestmodseq};
	cm_buf_puts(out, "* STATUS ");
	cm_buf_append(out, s->mailbox, strnlen(s->mailbox, sizeof(s->mailbox)));
	cm_buf_puts(out, " (");
	const char *sep = "";
	for (int i = 0; i < MODEL_STATUS_COUNT; i++)
		if (s->has & (1u << i)) {
			cm_buf_printf(out, "%s%s %" PRIu64, sep, model_status_item_names[i], v[i]);
			sep = " ";
		}
	cm_buf_putc(out, ')');
}

void rt_html_describe_untagged(cm_buf *out, const model_untagged *u)
{
	switch (u->kind) {
	case MODEL_UT_EXISTS: cm_buf_printf(out, "* %" PRIu32 " EXISTS", u->n); break;
	case MODEL_UT_RECENT: cm_buf_printf(out, "* %" PRIu32 " RECENT", u->n); break;
	case MODEL_UT_EXPUNGE: cm_buf_printf(out, "* %" PRIu32 " EXPUNGE", u->n); break;
	case MODEL_UT_VANISHED:
		cm_buf_puts(out, u->earlier ? "* VANISHED (EARLIER)" : "* VANISHED");
		put_set(out, &u->set);
		break;
	case MODEL_UT_FETCH: describe_fetch(out, u); break;
	case MODEL_UT_FLAGS:
		cm_buf_puts(out, "* FLAGS (");
		cm_flags_format(out, u->flags);
		cm_buf_putc(out, ')');
		break;
	case MODEL_UT_CODE:
		cm_buf_puts(out, "* OK ");
		rt_html_describe_code(out, &u->code);
		break;
	case MODEL_UT_SEARCH:
		cm_buf_puts(out, "* SEARCH");
		put_set(out, &u->set);
		if (u->value)
			cm_buf_printf(out, " (MODSEQ %" PRIu64 ")", u->value);
		break;
	case MODEL_UT_STATUS: describe_status(out, &u->status); break;
	case MODEL_UT_ENABLED:
		cm_buf_puts(out, "* ENABLED");
		for (unsigned bit = 1; bit != 0; bit <<= 1)
			if ((u->caps & bit) && model_cap_name(bit) != NULL)
				cm_buf_printf(out, " %s", model_cap_name(bit));
		break;
	case MODEL_UT_BYE: cm_buf_puts(out, "* BYE"); break;
	default: cm_buf_puts(out, "* ?"); break;
	}
}

void rt_html_describe_result(cm_buf *out, const model_result *r, size_t max_untagged)
{
	for (size_t i = 0; i < r->nut && i < max_untagged; i++) {
		rt_html_describe_untagged(out, &r->ut[i]);
		cm_buf_putc(out, '\n');
	}
	if (r->nut > max_untagged)
		cm_buf_printf(out, "... %zu more untagged responses\n", r->nut - max_untagged);
	cm_buf_puts(out, model_status_name(r->status));
	if (r->code.kind != MODEL_CODE_NONE) {
		cm_buf_putc(out, ' ');
		rt_html_describe_code(out, &r->code);
	}
	if (r->text[0]) {
		cm_buf_putc(out, ' ');
		cm_buf_append(out, r->text, strnlen(r->text, sizeof(r->text)));
	}
	if (r->anomaly[0]) {
		cm_buf_puts(out, "\nstore: ");
		cm_buf_append(out, r->anomaly, strnlen(r->anomaly, sizeof(r->anomaly)));
	}
	if (r->protocol[0]) {
		cm_buf_puts(out, "\nprotocol error: ");
		cm_buf_append(out, r->protocol, strnlen(r->protocol, sizeof(r->protocol)));
	}
	assert(out->data != NULL);
}
