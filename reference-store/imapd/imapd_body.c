/* Body sections of a single-part message (3501 6.4.5): the whole
 * message, its header, its text, chosen header fields, partial ranges. */
#include "imapd.h"

#include <string.h>
#include <strings.h>

/* Length of the header section including the blank line that ends it
 * (the whole message when there is no blank line). */
static size_t header_len(const char *msg, size_t len)
{
	if (len > 0 && msg[0] == '\n')
		return 1;
	if (len > 1 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (i + 1 < len && msg[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

static bool listed(const char *fields, const char *name, size_t n)
{
	for (const char *p = fields; *p;) {
		size_t k = strcspn(p, " ");
		if (k == n && strncasecmp(p, name, n) == 0)
			return true;
		p += k + (p[k] == ' ');
	}
	return false;
}

/* The end of the field starting at p: its line and continuation lines. */
static const char *field_end(const char *p, const char *end)
{
	for (;;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			return end;
		p = eol + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

void imapd_header_fields(cm_buf *out, const char *msg, size_t len,
			 const char *fields, bool not)
{
	const char *p = msg, *end = msg + header_len(msg, len);
	cm_buf_clear(out);
	while (p < end) {
		const char *fe = field_end(p, end);
		const char *colon = memchr(p, ':', (size_t)(fe - p));
		bool blank = *p == '\r' || *p == '\n';
		if (!blank && colon != NULL &&
		    listed(fields, p, (size_t)(colon - p)) != not)
			cm_buf_append(out, p, (size_t)(fe - p));
		p = fe;
	}
	cm_buf_puts(out, "\r\n");
}

void imapd_section_bytes(cm_buf *out, const imapd_section *s, const char *msg,
			 size_t len)
{
	size_t hl = header_len(msg, len);
	cm_buf_clear(out);
	switch (s->kind) {
	case IMAPD_SEC_ALL: cm_buf_append(out, msg, len); break;
	case IMAPD_SEC_HEADER: cm_buf_append(out, msg, hl); break;
	case IMAPD_SEC_TEXT: cm_buf_append(out, msg + hl, len - hl); break;
	case IMAPD_SEC_FIELDS:
	case IMAPD_SEC_FIELDS_NOT:
		imapd_header_fields(out, msg, len, s->fields, s->kind == IMAPD_SEC_FIELDS_NOT);
		break;
	}
	if (!s->partial)
		return;
	/* <origin.count>: an origin past the end gives the empty string. */
	size_t from = CM_MIN((size_t)s->origin, out->len);
	size_t n = CM_MIN((size_t)s->count, out->len - from);
	if (out->data != NULL) {
		memmove(out->data, out->data + from, n);
		out->len = n;
		out->data[n] = '\0';
	}
}
