/* The one-line error every program of the project prints:
 * "PROGRAM: what, naming what and where". */
#include "cm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int cm_err_set(cm_err *e, const char *fmt, ...)
{
	if (e == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

void cm_err_prefix(cm_err *e, const char *fmt, ...)
{
	if (e == NULL)
		return;
	char head[sizeof(e->text)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	/* Cut the tail, not the context, when the two do not fit. */
	size_t hl = strlen(head);
	size_t tl = strnlen(e->text, sizeof(e->text) - 1 - hl);
	memmove(e->text + hl, e->text, tl);
	memcpy(e->text, head, hl);
	e->text[hl + tl] = '\0';
}
