/* Quoted strings (RFC 3501 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE). */
#include "imap_syntax.h"

#include <assert.h>

bool imap_quotable(const char *s, size_t len, size_t max)
{
	if (len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void imap_put_quoted(cm_buf *out, const char *s, size_t len)
{
	assert(imap_quotable(s, len, len));
	cm_buf_reserve(out, len * 2 + 2);
	cm_buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			cm_buf_putc(out, '\\');
		cm_buf_putc(out, s[i]);
	}
	cm_buf_putc(out, '"');
}
