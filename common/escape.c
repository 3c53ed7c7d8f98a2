/* Escaping bytes for people: the one function every text meant for a
 * terminal (server text, mailbox names, violation details, offending
 * response bytes) goes through, so that a hostile server can never send
 * an escape sequence (set the title, clear the screen) to the user's
 * terminal, nor a NUL or line end that forges or cuts an output line.
 *
 * Printable ASCII passes unchanged (a backslash too: flags read "\Seen");
 * TAB, CR and LF become \t \r \n; every other byte, including all bytes
 * >= 0x80 (8-bit C1 controls such as CSI 0x9b live there), becomes \xNN.
 * An escape sequence is never cut in two: what does not fit is replaced
 * by "..." and the count of bytes consumed tells the caller. */
#include "cm.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The escaped form of byte c into e (at most 4 chars + NUL); its length. */
static size_t escape_byte(unsigned char c, char e[5])
{
	if (c >= 0x20 && c < 0x7f) {
		e[0] = (char)c;
		e[1] = '\0';
		return 1;
	}
	const char *named = c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\n' ? "\\n" : NULL;
	if (named != NULL) {
		e[0] = named[0], e[1] = named[1], e[2] = '\0';
		return 2;
	}
	snprintf(e, 5, "\\x%02x", c);
	return 4;
}

size_t cm_escape(char *out, size_t outsz, const void *in, size_t len)
{
	assert(out != NULL && outsz >= 4);
	const unsigned char *p = in;
	size_t o = 0, i;
	for (i = 0; i < len; i++) {
		char e[5];
		size_t n = escape_byte(p[i], e);
		/* Room for this byte, and for "..." should the next not fit. */
		size_t reserve = i + 1 < len ? 3 : 0;
		if (o + n + reserve + 1 > outsz)
			break;
		memcpy(out + o, e, n);
		o += n;
	}
	if (i < len) {
		/* Cut after a whole byte: the loop kept room for "...". */
		assert(o + 4 <= outsz);
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return i;
}

void cm_escape_puts(FILE *f, const char *s)
{
	char buf[256];
	size_t len = strlen(s);
	while (len > 0) {
		/* Whole chunks: a chunk never ends inside an escape. */
		size_t chunk = CM_MIN(len, (sizeof(buf) - 4) / 4);
		size_t used = cm_escape(buf, sizeof(buf), s, chunk);
		assert(used == chunk);
		fputs(buf, f);
		s += chunk;
		len -= chunk;
	}
}
