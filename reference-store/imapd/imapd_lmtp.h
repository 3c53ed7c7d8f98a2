/* imapd_lmtp: the pure parts of ratchet-imapd's LMTP listener (RFC 2033,
 * with the command syntax of SMTP, RFC 5321): the command parser, the
 * recipient rule and the DATA decoder. No I/O, no allocation beyond the
 * message buffer the decoder fills; the conversation that uses them is
 * imapd_lmtp.c, in the server.
 *
 * Recipients: the one account (--user) has an address per mailbox.
 * "USER" (any or no @domain) is its INBOX, "USER+NAME" its mailbox NAME;
 * the local part is compared case-sensitively (RFC 5321 2.4). */
#ifndef IMAPD_LMTP_H
#define IMAPD_LMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "model.h"

/* Hostile-client bounds (the conversation enforces them while reading).
 * A command line, without its line end: RFC 5321 4.5.3.1.4 says 512; we
 * are lenient, but bounded. */
#define IMAPD_LMTP_LINE_MAX ((size_t)4096)
/* Accepted recipients of one transaction (RFC 5321 4.5.3.1.8 asks for at
 * least 100). */
#define IMAPD_LMTP_RCPT_MAX 100
/* One message after dot-unstuffing; as one APPEND literal of the IMAP side. */
#define IMAPD_LMTP_MESSAGE_MAX ((size_t)64 << 20)
/* A path between its angle brackets (RFC 5321 4.5.3.1.3: 256 with them). */
#define IMAPD_LMTP_PATH_MAX 256
/* An LHLO domain (RFC 5321 4.5.3.1.2: 255). */
#define IMAPD_LMTP_DOMAIN_MAX 255

typedef enum imapd_lmtp_verb {
	IMAPD_LMTP_NONE = 0,
	IMAPD_LMTP_LHLO,     /* arg: the client's domain */
	IMAPD_LMTP_MAIL,     /* arg: the reverse path, "" for <> */
	IMAPD_LMTP_RCPT,     /* arg: the forward path, never "" */
	IMAPD_LMTP_DATA,
	IMAPD_LMTP_RSET,
	IMAPD_LMTP_NOOP,
	IMAPD_LMTP_QUIT,
	IMAPD_LMTP_VRFY,
	IMAPD_LMTP_HELO,     /* HELO or EHLO: SMTP's, not LMTP's (RFC 2033 4.1) */
	IMAPD_LMTP_NOTIMPL,  /* EXPN, HELP: known, not offered (RFC 5321 4.5.1) */
} imapd_lmtp_verb;

typedef struct imapd_lmtp_cmd {
	imapd_lmtp_verb verb;
	/* LHLO's domain, MAIL's and RCPT's path without the angle brackets
	 * (parameters after it are dropped: none is offered); "" otherwise */
	char arg[IMAPD_LMTP_PATH_MAX + 1];
} imapd_lmtp_cmd;

enum {
	IMAPD_LMTP_OK = 0,
	IMAPD_LMTP_UNKNOWN = -1,  /* no such command: 500 */
	IMAPD_LMTP_SYNTAX = -2,   /* a known command, bad arguments: 501 */
};

/* Parses one command line (line, len: any bytes, without the line end,
 * not NUL-terminated; the verb in any case). Returns IMAPD_LMTP_OK with
 * *cmd_r filled, or IMAPD_LMTP_UNKNOWN / IMAPD_LMTP_SYNTAX with err (if
 * not NULL) holding a one-line reason in printable ASCII; *cmd_r is reset
 * first in every case. Addresses are printable ASCII without spaces
 * (no SMTPUTF8, no quoted local part with a space in it). */
int imapd_lmtp_parse(const char *line, size_t len, imapd_lmtp_cmd *cmd_r, cm_err *err);

enum {
	IMAPD_LMTP_RCPT_OK = 0,
	IMAPD_LMTP_RCPT_USER = -1,     /* not the account's address */
	IMAPD_LMTP_RCPT_MAILBOX = -2,  /* "USER+" with no name, or one of
					* MODEL_NAME_MAX bytes or more */
};

/* The mailbox a forward path (as imapd_lmtp_parse gives it) delivers to
 * for the account user: IMAPD_LMTP_RCPT_OK with mailbox_r "INBOX" or the
 * NAME of "USER+NAME" (as sent: the caller canonicalises and checks that
 * it exists), or IMAPD_LMTP_RCPT_USER / IMAPD_LMTP_RCPT_MAILBOX with
 * mailbox_r "". A source route ("@a,@b:") and the domain (after the last
 * '@') are ignored. */
int imapd_lmtp_recipient(const char *user, const char *path,
			 char mailbox_r[MODEL_NAME_MAX]);

/* The DATA decoder: the bytes after a 354 reply up to and including the
 * final "CRLF . CRLF", dot-unstuffed (RFC 5321 4.5.2) into a message.
 * Lines end in CRLF only: a bare LF is message data, never a line end
 * (RFC 5321 4.1.1.4 forbids ". LF" as the end), so the message keeps
 * every byte as sent but the stuffing dots. The CRLF before the final dot
 * belongs to the message. */
typedef struct imapd_lmtp_data {
	int state;          /* where in a line the decoder is (internal) */
	size_t max;         /* message bytes kept at most */
	uint64_t total;     /* message bytes seen, kept or not */
	bool too_big;       /* total went over max: the message is incomplete */
	bool done;          /* the final dot line was consumed */
} imapd_lmtp_data;

/* Starts decoding a message of at most max bytes. */
void imapd_lmtp_data_start(imapd_lmtp_data *d, size_t max);
/* Decodes n bytes of the stream, appending message bytes to msg while it
 * holds at most d->max of them (over that, d->too_big, and the rest is
 * counted, not kept: the caller reads on to the final dot so that the
 * stream stays in step). Returns the bytes consumed: n, or fewer once
 * d->done (the final dot line's last byte is the last one consumed; what
 * follows is the next command). Consumes nothing once done. */
size_t imapd_lmtp_data_feed(imapd_lmtp_data *d, const char *in, size_t n, cm_buf *msg);

#endif
