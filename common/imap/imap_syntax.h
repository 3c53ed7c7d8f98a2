/* imap_syntax: the pieces of IMAP's formal syntax (RFC 3501 9, RFC 9051 9)
 * that both sides speak — ratchet's client (harness/wire/client) and
 * ratchet-imapd (reference-store/imapd): character classes, quoted
 * strings, date-time and base64. */
#ifndef IMAP_SYNTAX_H
#define IMAP_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"

/* ATOM-CHAR: any CHAR except atom-specials ("(){ %*\"\\]", CTL, SP). */
static inline bool imap_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"':
	case '\\': case ']':
		return false;
	default:
		return true;
	}
}

/* Whether s can be sent as a quoted string no longer than max bytes: no
 * NUL, CR, LF or 8-bit byte. */
bool imap_quotable(const char *s, size_t len, size_t max);
/* Appends s as a quoted string ('"' and '\\' escaped); s must be
 * imap_quotable. */
void imap_put_quoted(cm_buf *out, const char *s, size_t len);

/* date-time, "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d" or "d"): true
 * with the UTC seconds in *t and the zone's offset in seconds in
 * *tz_offset, false if s is not one. */
bool imap_parse_date_time(const char *s, size_t len, int64_t *t, int32_t *tz_offset);

void imap_base64_encode(cm_buf *out, const void *data, size_t len);
/* 0, or -1 on bad input (out then holds a prefix). */
int imap_base64_decode(cm_buf *out, const char *s, size_t len);

#endif
