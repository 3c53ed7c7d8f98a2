/* The one-line error every program of the project prints:
 * "PROGRAM: what, naming what and where". */
#include "cm.h"

#include <stdarg.h>
#include <stdio.h>

static const char *error_program = "ratchet";

void cm_error_program(const char *name)
{
	assert(name != NULL && name[0] != '\0');
	error_program = name;
}

void cm_error(const char *fmt, ...)
{
	/* Messages quote servers, histories and file names: escaped, so
	 * that they stay one line and never reach the terminal as control
	 * sequences. */
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", error_program);
	cm_escape_puts(stderr, msg);
	fputc('\n', stderr);
}
