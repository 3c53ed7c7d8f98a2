/* Header fields from raw message bytes (RFC 5322): used to find the
 * X-Ratchet-Id identity header in whatever body item a FETCH returned. */
#include "imapc_int.h"

#include <string.h>
#include <strings.h>

/* End of the line starting at i (index of its '\n', or len). */
static size_t line_end(const char *m, size_t len, size_t i)
{
	const char *nl = memchr(m + i, '\n', len - i);
	return nl ? (size_t)(nl - m) : len;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* The value of the field whose line starts at i and whose name matched. */
static void field_value(const char *m, size_t len, size_t i, imapc_str *value)
{
	while (i < len && is_wsp(m[i]))
		i++;
	size_t s = i, e = line_end(m, len, i);
	/* Continuation lines start with white space. */
	while (e + 1 < len && is_wsp(m[e + 1]))
		e = line_end(m, len, e + 1);
	while (e > s && (m[e - 1] == '\r' || m[e - 1] == '\n' || is_wsp(m[e - 1])))
		e--;
	value->p = m + s;
	value->len = e - s;
}

bool imapc_header_find(const char *msg, size_t len, const char *name,
		       imapc_str *value)
{
	size_t nlen = strlen(name), i = 0;
	if (msg == NULL)
		return false;
	while (i < len) {
		size_t e = line_end(msg, len, i);
		size_t content = e - i;
		if (content > 0 && msg[e - 1] == '\r')
			content--;
		if (content == 0)
			return false;  /* end of the header section */
		if (!is_wsp(msg[i]) && content > nlen &&
		    strncasecmp(msg + i, name, nlen) == 0) {
			size_t k = i + nlen;
			while (k < i + content && is_wsp(msg[k]))
				k++;
			if (k < i + content && msg[k] == ':') {
				field_value(msg, len, k + 1, value);
				return true;
			}
		}
		i = e + 1;
	}
	return false;
}

void imapc_header_unfold(imapc_str v, cm_buf *out)
{
	cm_buf_reserve(out, v.len);
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] != '\r' && v.p[i] != '\n')
			cm_buf_putc(out, v.p[i]);
}
