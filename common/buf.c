/* Growable buffers and checked allocation. */
#include "cm.h"

#include <assert.h>

#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cm_panic_fn *panic_hook;
static void *panic_ctx;
static volatile sig_atomic_t panicking;

void cm_panic_set_hook(cm_panic_fn *fn, void *ctx)
{
	panic_hook = fn;
	panic_ctx = ctx;
}

_Noreturn void cm_panic_exit(const char *what)
{
	if (panic_hook == NULL)
		abort();
	if (!panicking) {
		panicking = 1;
		alarm(60); /* the hook talks to a server: never hang here */
		panic_hook(panic_ctx, what);
	}
	_exit(3);
}

_Noreturn void cm_panic(const char *fmt, ...)
{
	/* No allocation here: out of memory comes this way. */
	static char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ratchet: internal error: %s\n", what);
	cm_panic_exit(what);
}

void *cm_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		cm_panic("out of memory (%zu bytes)", n);
	return p;
}

void *cm_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		cm_panic("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *cm_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		cm_panic("out of memory (%zu bytes)", n);
	return q;
}

void *cm_grow_(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
	assert(elem_size > 0);
	if (need <= *cap)
		return ptr;
	size_t c = *cap ? *cap : 8;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			cm_panic("array of %zu elements too large", need);
		c *= 2;
	}
	if (c > SIZE_MAX / elem_size)
		cm_panic("array of %zu elements of %zu bytes too large", c, elem_size);
	ptr = cm_xrealloc(ptr, c * elem_size);
	*cap = c;
	return ptr;
}

char *cm_xstrndup(const char *s, size_t n)
{
	char *p = cm_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *cm_xstrdup(const char *s)
{
	return cm_xstrndup(s, strlen(s));
}

void cm_buf_reserve(cm_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = cm_xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0'; /* the invariant holds from the first byte */
}

void cm_buf_append(cm_buf *b, const void *p, size_t n)
{
	cm_buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void cm_buf_puts(cm_buf *b, const char *s)
{
	cm_buf_append(b, s, strlen(s));
}

void cm_buf_putc(cm_buf *b, char c)
{
	cm_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void cm_buf_printf(cm_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		cm_panic("cm_buf_printf: bad format");
	if ((size_t)n < sizeof(small)) {
		cm_buf_append(b, small, (size_t)n);
		return;
	}
	cm_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void cm_buf_clear(cm_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void cm_buf_free(cm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
