/* lmtpc: ratchet's LMTP client (RFC 2033 over the SMTP syntax of RFC 5321).
 *
 *  - A reply parser fed with arbitrary byte chunks: the part exposed to
 *    hostile servers (and the fuzz target lmtp_reply). Every limit is
 *    enforced before anything grows; malformed input gives one error line
 *    and the stream is then dead.
 *  - A non-blocking connection for one poll() loop driving many: greeting,
 *    LHLO (PIPELINING noted, RFC 2920), then transactions of one message
 *    to up to LMTPC_RCPT_MAX recipients, each recipient ending with exactly
 *    one callback.
 *
 * What a recipient's outcome means (docs/wire.md, "The LMTP client"):
 *
 *   OK       the server answered 2xx for it after DATA's final dot: the
 *            delivery was acknowledged.
 *   REFUSED  not delivered, for sure. Either the server said 4xx/5xx to
 *            MAIL, to its RCPT, to DATA, or for it after the final dot; or
 *            the connection ended (timeout, close, protocol error, the
 *            client closing it) before any byte of the final dot was handed
 *            to send(): without the terminating "<CRLF>.<CRLF>" no server
 *            may deliver a message, and the client never sends the rest
 *            once the connection is gone. Such a result has code 0 and a
 *            text "closed before DATA: <reason>" (no 354 yet) or "closed
 *            before the final dot: <reason>" (354 came, the message was
 *            being written).
 *   UNKNOWN  the final dot's bytes were handed to send() (even partially,
 *            even a send() that then failed) and the connection ended
 *            before its reply: the server may have delivered it or not.
 *            Code 0, the text is the reason. The final ".\r\n" goes in a
 *            send() of its own once every byte before it is written, so a
 *            server that stops reading mid-message leaves it REFUSED.
 *
 * Limits (hostile server): a reply line is at most LMTPC_LINE_MAX bytes
 * with its line end (RFC 5321 says 512; servers exceed it), a multi-line
 * reply at most LMTPC_LINES_MAX lines; more is a protocol error: the
 * connection closes, outcome UNKNOWN for what was past its final dot. */
#ifndef LMTPC_H
#define LMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"

#define LMTPC_RCPT_MAX 16
#define LMTPC_TEXT_MAX 256
#define LMTPC_LINE_MAX 4096   /* bytes of one reply line, CRLF included */
#define LMTPC_LINES_MAX 100   /* lines of one reply */

typedef enum lmtpc_outcome {
	LMTPC_OK,        /* 2xx for this recipient after DATA: acknowledged */
	LMTPC_REFUSED,   /* 4xx/5xx at MAIL, RCPT or DATA for it, or the
			  * connection ended before the final dot: not delivered */
	LMTPC_UNKNOWN,   /* timeout, dropped connection, protocol error after
			  * DATA's final dot was (possibly) sent: may or may not
			  * be delivered */
} lmtpc_outcome;

/* "ok", "refused", "unknown". */
const char *lmtpc_outcome_name(lmtpc_outcome o);

typedef struct lmtpc_result {
	lmtpc_outcome outcome;
	int code;                     /* the reply's code, 0 if none */
	char text[LMTPC_TEXT_MAX];    /* the reply's text (enhanced code kept;
				       * the lines of a multi-line reply joined
				       * by a space) or the reason (timeout,
				       * closed: ...), escaped (cm_escape), cut */
} lmtpc_result;

/* Called once per recipient when its outcome is known, in RCPT order: a
 * recipient refused at RCPT ends as soon as every recipient before it has
 * ended (at once when they were refused too, else with them after DATA).
 * The callbacks that end a transaction run once the connection is ready
 * again (a callback may call lmtpc_conn_deliver), unless something is
 * still owed: an RSET, or the replies to pipelined RCPTs and DATA after a
 * refused MAIL (lmtpc_conn_ready tells). A callback must not free the
 * connection; it may quit it. */
typedef void lmtpc_done_fn(void *ctx, void *user, unsigned rcpt_index,
			   const lmtpc_result *r);

typedef struct lmtpc_opts {
	const char *lhlo_name;        /* default "ratchet.invalid" */
	uint32_t timeout_ms;          /* per step (greeting, each reply); a
				       * step also lasts while the message is
				       * still being written; default 10000 */
	lmtpc_done_fn *on_done;
	void *ctx;
} lmtpc_opts;

typedef struct lmtpc_conn lmtpc_conn;

/* ---- addresses and connecting ------------------------------------------------
 * Parses "lmtp://HOST:PORT" (HOST a name, an IPv4 address or [IPv6]; PORT
 * 1-65535, 24 when left out; a trailing "/" allowed) or "lmtp:/abs/path"
 * (also "lmtp:///abs/path": a UNIX socket, path shorter than 108 bytes)
 * into *a; display is the URL normalised. 0, or -1 with err (one line). */
typedef struct lmtpc_addr {
	bool unix_socket;
	char host[256];               /* without the brackets of [IPv6] */
	char port[8];
	char path[108];
	char display[300];
} lmtpc_addr;

int lmtpc_addr_parse(const char *url, lmtpc_addr *a, cm_err *err);

/* Connects (TCP: each address in turn within one deadline, TCP_NODELAY;
 * UNIX: retried while the listener's backlog is full), blocking at most
 * timeout_ms (0: 10000). The fd is returned non-blocking and CLOEXEC; or
 * -1 with err. */
int lmtpc_connect(const lmtpc_addr *a, uint32_t timeout_ms, cm_err *err);

/* ---- the connection ------------------------------------------------------------
 * Takes fd (made non-blocking, closed by lmtpc_conn_free or when the
 * connection ends); waits for the 220 greeting, sends LHLO, reads the
 * extensions. A greeting other than 220, or an LHLO reply other than 250,
 * closes it (see lmtpc_conn_close_reason). o may be NULL (defaults); an
 * lhlo_name that is empty, longer than 255 or holds CR or LF is a bug of
 * the caller's (cm_panic). */
lmtpc_conn *lmtpc_conn_new(int fd, const lmtpc_opts *o);
/* Ends any delivery in flight first (callbacks run: REFUSED or UNKNOWN by
 * the rules above, reason "closed by client"). Not from inside a callback. */
void lmtpc_conn_free(lmtpc_conn *c);
int lmtpc_conn_fd(const lmtpc_conn *c);              /* -1 once closed */
short lmtpc_conn_poll_events(const lmtpc_conn *c);   /* POLLIN [| POLLOUT]; 0 once closed */
/* Reads, writes, then checks the timeouts (cm_now_ns). */
void lmtpc_conn_handle(lmtpc_conn *c, short revents);
void lmtpc_conn_check_timeouts(lmtpc_conn *c, uint64_t now_ns); /* cm_now_ns clock */
int lmtpc_conn_timeout_ms(const lmtpc_conn *c, uint64_t now_ns); /* ms until the next deadline, -1 none */
bool lmtpc_conn_ready(const lmtpc_conn *c);     /* greeted, LHLO done, no delivery in flight */
bool lmtpc_conn_closed(const lmtpc_conn *c);
const char *lmtpc_conn_close_reason(const lmtpc_conn *c);  /* NULL while open */
bool lmtpc_conn_pipelining(const lmtpc_conn *c); /* the LHLO reply offered PIPELINING */

/* Starts one transaction: MAIL FROM:<from>, RCPT TO:<rcpt[i]> for each,
 * DATA, the message dot-stuffed (a line starting with '.' gets another
 * '.'; a bare LF is sent as CRLF; a final CRLF is added if missing; an
 * empty message is no line at all), then "." and one reply per ACCEPTED
 * recipient (RFC 2033 §4.2). Addresses are given without the angle
 * brackets; from may be "" (the null sender <>).
 *
 * With PIPELINING offered, MAIL, the RCPTs and DATA go in one write (RFC
 * 2920); else step by step. A recipient refused at RCPT ends REFUSED with
 * its reply; if none is accepted the transaction ends with RSET (no DATA;
 * pipelined, DATA was sent and its refusal is awaited first). A 4xx/5xx to
 * MAIL or DATA refuses them all (with that reply); after a refused DATA,
 * RSET. After the transaction the connection is ready again (no RSET after
 * a completed DATA, nor after a refused MAIL). A reply that makes no
 * sense where it comes (a 354 to MAIL, a 250 to DATA, a 354 to DATA when
 * no recipient was accepted, a reply after DATA's 354 before the whole
 * message was written, anything while idle) is a protocol error.
 *
 * Returns 0, or -1 when not ready or when the request is invalid (nrcpt 0
 * or above LMTPC_RCPT_MAX, an address holding CR, LF or NUL): nothing
 * done, no callback. msg is copied. */
int lmtpc_conn_deliver(lmtpc_conn *c, const char *from, const char *const *rcpt,
		       unsigned nrcpt, const void *msg, size_t len, void *user);

/* When ready: sends QUIT, then closes on its reply, on the server's close
 * or on the timeout (no callback). Otherwise closes at once (a delivery in
 * flight ends as lmtpc_conn_free ends it). */
void lmtpc_conn_quit(lmtpc_conn *c);

/* ---- the reply parser (pure; what the fuzz target drives) ----------------------
 * Feeds bytes; calls fn once per COMPLETE reply (all lines of a multi-line
 * reply joined), with the code and the last line's text. A line ends with
 * LF, a CR before it dropped. A line is CODE, then '-' (more lines follow),
 * ' ' or nothing (the last line), then the text. Returns 0, or -1 with err
 * (one line: what and where, "lmtpc: reply line N (byte B): WHAT: "LINE"")
 * on bad syntax: the code not 3 digits 2xx-5xx, mixed codes within a
 * multi-line reply, neither space nor hyphen after the code, a NUL, a line
 * too long, too many lines. Then the stream is dead: every later feed
 * fails with the same error. When fn returns non-zero the parser stops for
 * good: this feed returns 0, later feeds -1 ("stopped by the caller"). */
typedef struct lmtpc_reply {
	int code;
	const char *text;             /* the last line's text */
	size_t text_len;
	unsigned nlines;
	const char *lines;            /* all lines' texts joined by '\n' */
	size_t lines_len;
} lmtpc_reply;

typedef int lmtpc_reply_fn(void *ctx, const lmtpc_reply *r);   /* non-zero stops */
typedef struct lmtpc_parser lmtpc_parser;

lmtpc_parser *lmtpc_parser_new(void);
void lmtpc_parser_free(lmtpc_parser *p);
int lmtpc_parser_feed(lmtpc_parser *p, const void *data, size_t len,
		      lmtpc_reply_fn *fn, void *ctx, cm_err *err);
/* Bytes received of a reply not yet complete (0 between replies). */
size_t lmtpc_parser_pending(const lmtpc_parser *p);

#endif
