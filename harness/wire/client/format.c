/* Command formatting. A command is kept as segments (text, literal,
 * continuation wait) and rendered per connection: only then is it known
 * whether LITERAL+ / LITERAL- let a literal go without waiting for "+". */
#include "imapc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SEG_TEXT, SEG_LITERAL, SEG_LITERAL8, SEG_CONT };

/* Longest string sent quoted; longer ones go as literals. */
#define QUOTED_MAX 1024
/* LITERAL- allows non-synchronizing literals up to this size (RFC 7888). */
#define LITERAL_MINUS_MAX 4096

void imapc_cmd_init(imapc_cmd *c)
{
	memset(c, 0, sizeof(*c));
}

void imapc_cmd_reset(imapc_cmd *c)
{
	cm_buf_clear(&c->buf);
	c->n_segs = 0;
}

void imapc_cmd_free(imapc_cmd *c)
{
	cm_buf_free(&c->buf);
	free(c->segs);
	memset(c, 0, sizeof(*c));
}

static void add_seg(imapc_cmd *c, uint8_t kind, const void *data, size_t len)
{
	imapc_seg_ *last = c->n_segs ? &c->segs[c->n_segs - 1] : NULL;
	size_t off = c->buf.len;
	cm_buf_append(&c->buf, data, len);
	if (kind == SEG_TEXT && last != NULL && last->kind == SEG_TEXT) {
		last->len += len;
		return;
	}
	CM_GROW(c->segs, c->cap_segs, c->n_segs + 1);
	c->segs[c->n_segs++] = (imapc_seg_){kind, off, len};
}

void imapc_cmd_raw(imapc_cmd *c, const char *s)
{
	add_seg(c, SEG_TEXT, s, strlen(s));
}

void imapc_cmd_printf(imapc_cmd *c, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		cm_panic("imapc_cmd_printf: bad format");
	if ((size_t)n < sizeof(small)) {
		add_seg(c, SEG_TEXT, small, (size_t)n);
		return;
	}
	char *big = cm_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	add_seg(c, SEG_TEXT, big, (size_t)n);
	free(big);
}

static bool atom_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!imap_atom_char((unsigned char)s[i]) && s[i] != ']')
			return false;
	return true;
}

static void put_quoted(imapc_cmd *c, const char *s, size_t len)
{
	cm_buf q = {0};
	imap_put_quoted(&q, s, len);
	add_seg(c, SEG_TEXT, q.data, q.len);
	cm_buf_free(&q);
}

void imapc_cmd_string(imapc_cmd *c, const char *s, size_t len)
{
	if (imap_quotable(s, len, QUOTED_MAX))
		put_quoted(c, s, len);
	else
		imapc_cmd_literal(c, s, len);
}

void imapc_cmd_astring(imapc_cmd *c, const char *s, size_t len)
{
	if (atom_ok(s, len))
		add_seg(c, SEG_TEXT, s, len);
	else
		imapc_cmd_string(c, s, len);
}

void imapc_cmd_literal(imapc_cmd *c, const void *data, size_t len)
{
	add_seg(c, SEG_LITERAL, data, len);
}

void imapc_cmd_literal8(imapc_cmd *c, const void *data, size_t len)
{
	add_seg(c, SEG_LITERAL8, data, len);
}

void imapc_cmd_set(imapc_cmd *c, const cm_uidset *s)
{
	cm_buf b = {0};
	if (s->n == 0)
		cm_panic("imapc_cmd_set: empty set");
	cm_uidset_format(&b, s);
	add_seg(c, SEG_TEXT, b.data, b.len);
	cm_buf_free(&b);
}

void imapc_cmd_flags(imapc_cmd *c, cm_flags flags)
{
	cm_buf b = {0};
	cm_buf_putc(&b, '(');
	cm_flags_format(&b, flags);
	cm_buf_putc(&b, ')');
	add_seg(c, SEG_TEXT, b.data, b.len);
	cm_buf_free(&b);
}

void imapc_cmd_wait_continuation(imapc_cmd *c)
{
	add_seg(c, SEG_CONT, "", 0);
}

void imapc_cmd_login(imapc_cmd *c, const char *user, const char *pass)
{
	imapc_cmd_raw(c, "LOGIN ");
	imapc_cmd_string(c, user, strlen(user));
	imapc_cmd_raw(c, " ");
	imapc_cmd_string(c, pass, strlen(pass));
}

void imapc_cmd_authenticate_plain(imapc_cmd *c, const char *authzid,
				  const char *user, const char *pass,
				  bool sasl_ir)
{
	cm_buf creds = {0}, b64 = {0};
	const char *z = authzid ? authzid : "";
	cm_buf_append(&creds, z, strlen(z) + 1);
	cm_buf_append(&creds, user, strlen(user) + 1);
	cm_buf_append(&creds, pass, strlen(pass));
	imap_base64_encode(&b64, creds.data, creds.len);
	imapc_cmd_raw(c, "AUTHENTICATE PLAIN");
	if (sasl_ir)
		imapc_cmd_raw(c, " ");
	else
		imapc_cmd_wait_continuation(c);
	imapc_cmd_raw(c, b64.len ? b64.data : "=");
	cm_buf_free(&creds);
	cm_buf_free(&b64);
}

/* ---- wire form --------------------------------------------------------------- */
static void wire_sync(imapc_wire *w)
{
	CM_GROW(w->sync, w->cap_sync, w->n_sync + 1);
	w->sync[w->n_sync++] = w->bytes.len;
}

static bool tag_ok(const char *tag)
{
	if (*tag == '\0')
		return false;
	for (; *tag; tag++)
		if (!imap_atom_char((unsigned char)*tag) || *tag == '+')
			return false;
	return true;
}

void imapc_cmd_render(const imapc_cmd *c, const char *tag, uint32_t caps,
		      imapc_wire *w)
{
	if (!tag_ok(tag))
		cm_panic("imapc_cmd_render: bad tag \"%s\"", tag);
	cm_buf_printf(&w->bytes, "%s ", tag);
	for (size_t i = 0; i < c->n_segs; i++) {
		const imapc_seg_ *s = &c->segs[i];
		const char *data = c->buf.data + s->off;
		bool nonsync = (caps & IMAPC_CAP_LITERALPLUS) ||
			       ((caps & IMAPC_CAP_LITERALMINUS) &&
				s->len <= LITERAL_MINUS_MAX);
		switch (s->kind) {
		case SEG_TEXT:
			cm_buf_append(&w->bytes, data, s->len);
			break;
		case SEG_LITERAL: case SEG_LITERAL8:
			cm_buf_printf(&w->bytes, "%s{%zu%s}\r\n",
				      s->kind == SEG_LITERAL8 ? "~" : "", s->len,
				      nonsync ? "+" : "");
			if (!nonsync)
				wire_sync(w);
			cm_buf_append(&w->bytes, data, s->len);
			break;
		case SEG_CONT:
			cm_buf_puts(&w->bytes, "\r\n");
			wire_sync(w);
			break;
		}
	}
	cm_buf_puts(&w->bytes, "\r\n");
}

void imapc_wire_clear(imapc_wire *w)
{
	cm_buf_clear(&w->bytes);
	w->n_sync = 0;
}

void imapc_wire_free(imapc_wire *w)
{
	cm_buf_free(&w->bytes);
	free(w->sync);
	memset(w, 0, sizeof(*w));
}
