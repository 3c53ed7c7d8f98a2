/* cm_err: the one way a function hands back why it failed (cm.h). Apart
 * from error.c, whose cm_error a fuzz target replaces at link time. */
#include "cm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
