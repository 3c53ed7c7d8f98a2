/* The one-line error every command prints. */
#include "rt.h"

#include <stdarg.h>
#include <stdio.h>

void rt_error(const char *fmt, ...)
{
	/* Messages quote servers, histories and file names: escaped, so
	 * that they stay one line and never reach the terminal as control
	 * sequences. */
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("ratchet: ", stderr);
	cm_escape_puts(stderr, msg);
	fputc('\n', stderr);
}
