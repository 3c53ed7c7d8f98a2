/* The DATA decoder of the LMTP listener: dot-unstuffing and the end of
 * the message (RFC 5321 4.5.2, 4.1.1.4), a byte-driven state machine that
 * takes the stream in whatever pieces it arrives. Runs of ordinary bytes
 * are copied whole: a 64 MiB message is not a 64 Mi-step loop. */
#include "imapd_lmtp.h"

#include <assert.h>
#include <string.h>

/* Where in a line the next byte is. A dot at the start of a line is held
 * back (AT_DOT, AT_DOT_CR) until the bytes after it say whether it ends
 * the message or was a stuffing dot, to be dropped. */
enum {
	AT_START = 0,  /* after CRLF, or the first byte */
	IN_LINE,       /* anywhere else */
	AFTER_CR,      /* after a CR: an LF ends the line */
	AT_DOT,        /* after a dot at the start of a line */
	AT_DOT_CR,     /* after ". CR" at the start of a line */
};

void imapd_lmtp_data_start(imapd_lmtp_data *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->state = AT_START;
	d->max = max;
}

/* Message bytes: kept while the message fits, counted always. Once too
 * big, nothing more is kept (the message will not be delivered). */
static void keep(imapd_lmtp_data *d, cm_buf *msg, const char *p, size_t n)
{
	d->total += n;
	if (d->too_big || d->total > d->max) {
		d->too_big = true;
		return;
	}
	assert(msg->len + n <= d->max);
	cm_buf_append(msg, p, n);
}

/* One step: consumes a run of bytes (or none, when only the state
 * changes) and returns how many. */
static size_t step(imapd_lmtp_data *d, const char *in, size_t n, cm_buf *msg)
{
	assert(n > 0);
	const char *cr;
	size_t run;
	switch (d->state) {
	case AT_START:
		d->state = in[0] == '.' ? AT_DOT : IN_LINE;
		return in[0] == '.' ? 1 : 0;
	case IN_LINE:
		cr = memchr(in, '\r', n);
		run = cr != NULL ? (size_t)(cr - in) + 1 : n;
		keep(d, msg, in, run);
		if (cr != NULL)
			d->state = AFTER_CR;
		return run;
	case AFTER_CR:
		/* A second CR is looked at again as any byte of a line. */
		if (in[0] != '\n') {
			d->state = IN_LINE;
			return 0;
		}
		keep(d, msg, in, 1);
		d->state = AT_START;
		return 1;
	case AT_DOT:
		/* Not CR: the dot was stuffing, and is dropped. */
		d->state = in[0] == '\r' ? AT_DOT_CR : IN_LINE;
		return in[0] == '\r' ? 1 : 0;
	default:
		assert(d->state == AT_DOT_CR);
		if (in[0] == '\n') {
			d->done = true;
			return 1;
		}
		/* ". CR x": a stuffed line that starts with a CR. */
		keep(d, msg, "\r", 1);
		d->state = AFTER_CR;
		return 0;
	}
}

size_t imapd_lmtp_data_feed(imapd_lmtp_data *d, const char *in, size_t n, cm_buf *msg)
{
	size_t used = 0;
	while (used < n && !d->done)
		used += step(d, in + used, n - used, msg);
	assert(used <= n);
	return used;
}
