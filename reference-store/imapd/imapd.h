/* imapd: the wire layer of ratchet-imapd, an IMAP server over the
 * reference store. rs_session (rs_session.h) decides what a server says;
 * this module turns bytes into commands and results into bytes.
 *
 *  - The command parser is a pure function from one complete command (tag,
 *    command text and its literals, as they arrived) to an imapd_cmd: a
 *    model_op for the session, or a connection-level verb (LOGIN,
 *    CAPABILITY, ...), or a BAD reason. No I/O, no allocation beyond the
 *    op's UID sets. The one shared state it touches is cm's process-wide
 *    keyword table (cm_flag_intern): a flag list naming more keywords than
 *    the table holds is answered BAD.
 *  - The formatter turns a model_result into response lines, asking a
 *    callback for message bytes when a FETCH wants body sections.
 *
 * A "complete command" is the client's bytes with the final CRLF removed;
 * a literal appears as "{n}\r\n" or "{n+}\r\n" followed by its n bytes,
 * whatever line ending the client used. imapd_line_literal tells the
 * connection whether a line ends in a literal announcement. */
#ifndef IMAPD_H
#define IMAPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm.h"
#include "model.h"

/* Hostile-client bounds (the connection enforces them while reading). */
#define IMAPD_LINE_MAX ((size_t)64 << 10)      /* one line, without literals */
#define IMAPD_LITERAL_MAX ((uint64_t)64 << 20) /* one literal */
#define IMAPD_COMMAND_MAX (IMAPD_LITERAL_MAX + ((size_t)1 << 20))
#define IMAPD_LITERALS_MAX 64                  /* literals in one command */
/* Before login: a whole command (its line and any literal) is at most
 * this; LOGIN needs two IMAPD_AUTH_MAX strings, AUTHENTICATE PLAIN their
 * base64. Over it the connection ends (BAD for the tag, then BYE). */
#define IMAPD_PREAUTH_MAX ((size_t)4 << 10)
/* Before login: seconds from connect to a successful login, idle or not
 * (the authenticated idle timeout is --idle-timeout). */
#define IMAPD_PREAUTH_S 10
/* Failed logins: each answer is delayed, the first by this, doubling
 * (1 s, 2 s, 4 s); after IMAPD_AUTH_FAILS_MAX the connection ends. */
#define IMAPD_AUTH_DELAY_MS 1000u
#define IMAPD_AUTH_FAILS_MAX 3u

/* The longest line (without literals) a client may send. */
size_t imapd_line_limit(bool authed);
/* Whether the nth literal (from 1) of a command, n bytes announced after
 * cmd_len bytes of the command so far, is accepted. */
bool imapd_literal_fits(bool authed, size_t cmd_len, uint64_t n, unsigned nth);
/* The delay before answering the failures-th failed login (0 for 0). */
unsigned imapd_auth_delay_ms(unsigned failures);

#define IMAPD_TAG_MAX 64
#define IMAPD_NAME_MAX 24       /* "UID STORE" */
#define IMAPD_AUTH_MAX 256      /* user name, password */
#define IMAPD_SECTIONS_MAX 8    /* body items in one FETCH */
#define IMAPD_FIELDS_MAX 200    /* a HEADER.FIELDS list, as text */

/* What a command asks of the connection. */
typedef enum imapd_verb {
	IMAPD_V_NONE = 0,
	IMAPD_V_OP,           /* cmd->op goes to rs_session_exec */
	IMAPD_V_CAPABILITY,
	IMAPD_V_LOGIN,        /* user, pass */
	IMAPD_V_AUTHENTICATE, /* mech, optional initial response */
	IMAPD_V_CLOSE,
	IMAPD_V_UNSELECT,
	IMAPD_V_LIST,         /* ref (in op.mailbox), pattern */
} imapd_verb;

/* A FETCH body item: BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER,
 * RFC822.TEXT. */
typedef enum imapd_sec_kind {
	IMAPD_SEC_ALL,        /* [] and RFC822 */
	IMAPD_SEC_HEADER,     /* [HEADER] and RFC822.HEADER */
	IMAPD_SEC_TEXT,       /* [TEXT] and RFC822.TEXT */
	IMAPD_SEC_FIELDS,     /* [HEADER.FIELDS (...)] */
	IMAPD_SEC_FIELDS_NOT, /* [HEADER.FIELDS.NOT (...)] */
} imapd_sec_kind;

typedef enum imapd_sec_form {
	IMAPD_FORM_BODY,          /* answered as BODY[section]<origin> */
	IMAPD_FORM_RFC822,        /* RFC822 */
	IMAPD_FORM_RFC822_HEADER, /* RFC822.HEADER */
	IMAPD_FORM_RFC822_TEXT,   /* RFC822.TEXT */
} imapd_sec_form;

typedef struct imapd_section {
	imapd_sec_kind kind;
	imapd_sec_form form;
	bool peek;               /* does not set \Seen */
	bool partial;            /* <origin.count> */
	uint32_t origin, count;
	/* FIELDS, FIELDS_NOT: names as sent, separated by one space */
	char fields[IMAPD_FIELDS_MAX];
} imapd_section;

typedef struct imapd_cmd {
	char tag[IMAPD_TAG_MAX];
	char name[IMAPD_NAME_MAX];   /* upper case: "UID FETCH" */
	imapd_verb verb;
	model_op op;                 /* IMAPD_V_OP (and LIST's reference) */
	bool uid_star;               /* a UID set said '*' (UINT32_MAX) */
	/* LOGIN; AUTHENTICATE mech in user */
	char user[IMAPD_AUTH_MAX];
	char pass[IMAPD_AUTH_MAX];
	const char *ir;              /* AUTHENTICATE initial response (base64),
				      * a session state into the line; NULL if none */
	size_t ir_len;
	/* APPEND: the message, a session state into the line */
	const char *body;
	size_t body_len;
	bool has_date;
	int64_t date;                /* seconds since the epoch, UTC */
	/* FETCH body items, in request order */
	imapd_section sec[IMAPD_SECTIONS_MAX];
	size_t nsec;
	bool sets_seen;              /* a body item without PEEK */
	/* LIST */
	char pattern[MODEL_NAME_MAX];
} imapd_cmd;

/* What the parser needs of the session's state. */
typedef struct imapd_parse_ctx {
	uint32_t exists;  /* '*' in a sequence set; 0 makes '*' invalid */
} imapd_parse_ctx;

enum {
	IMAPD_PARSE_OK = 0,
	IMAPD_PARSE_BAD = -1,    /* cmd->tag is valid: "tag BAD err" */
	IMAPD_PARSE_NOTAG = -2,  /* no usable tag: "* BAD err" */
};

void imapd_cmd_init(imapd_cmd *cmd);
/* Frees the op's sets; cmd can be parsed into again. */
void imapd_cmd_free(imapd_cmd *cmd);

/* Parses one complete command (line, len: any bytes, not NUL-terminated).
 * ctx may be NULL ('*' in a sequence set then means UINT32_MAX). On
 * IMAPD_PARSE_OK cmd is filled (views into line stay valid as long as
 * line); otherwise err (if not NULL) holds a one-line reason (printable ASCII). cmd must
 * have been initialised; it is reset first. */
int imapd_parse(const char *line, size_t len, const imapd_parse_ctx *ctx,
		imapd_cmd *cmd, cm_err *err);

/* The same, reduced to the model: tag and op only (op->kind MODEL_OP_NONE
 * for connection-level commands such as LOGIN). op must be initialised
 * (model_op_init) and is overwritten; the caller frees it with
 * model_op_free. Returns IMAPD_PARSE_*. This is the fuzzing entry point. */
int imapd_parse_command(const char *line, size_t len, char *tag_out,
			size_t tagcap, model_op *op, cm_err *err);

/* Whether a line (without its CRLF) ends in a literal announcement
 * "{n}" or "{n+}": 1 with *n_r and *plus_r set, 0 if not, -1 if it ends
 * in something literal-like that is malformed or larger than UINT64_MAX. */
int imapd_line_literal(const char *line, size_t len, uint64_t *n_r, bool *plus_r);

/* The tag at the start of a command, for answering what cannot be parsed:
 * true with out filled, false if there is no valid tag. */
bool imapd_parse_tag(const char *line, size_t len, char *out, size_t cap);

/* SASL PLAIN (RFC 4616) from base64: authzid (must be empty or equal to
 * authcid), authcid and password. 0, or -1 for anything malformed. */
int imapd_sasl_plain(const char *b64, size_t len, char user[IMAPD_AUTH_MAX],
		     char pass[IMAPD_AUTH_MAX]);

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (day "d", " d" or "dd") to UTC seconds. */
bool imapd_parse_date(const char *s, size_t len, int64_t *t_r);

/* ======================================================================
 * Formatting
 * ==================================================================== */

/* Message bytes of the selected mailbox for a FETCH body item: 0 with out
 * filled (cleared first), -1 if the message is gone. */
typedef int imapd_body_fn(void *ctx, uint32_t uid, cm_buf *out);

typedef struct imapd_fmt {
	const imapd_cmd *cmd;   /* the command answered (FETCH sections, name);
				 * NULL: no body items, generic texts */
	imapd_body_fn *body;    /* NULL: body items come out empty */
	void *ctx;
} imapd_fmt;

enum {
	IMAPD_FMT_CLOSE = 1 << 0,     /* the connection must end (BYE sent) */
	IMAPD_FMT_DROPPED = 1 << 1,   /* a FETCH was dropped: body gone */
};

/* One untagged response, CRLF included. Returns IMAPD_FMT_DROPPED (and
 * writes nothing) when a FETCH needs a body that is gone. */
int imapd_format_untagged(cm_buf *out, const model_untagged *u, const imapd_fmt *f);

/* Every untagged response of res, then the tagged reply: "tag OK [code]
 * text". UNKNOWN (the session is lost) ends with "* BYE" instead of a
 * tagged reply. A FETCH dropped because its body vanished turns an OK
 * into NO [EXPUNGEISSUED]. Returns IMAPD_FMT_* bits. */
int imapd_format_result(cm_buf *out, const char *tag, const model_result *res,
			const imapd_fmt *f);

/* "[APPENDUID 7 3]" etc. (brackets included). */
void imapd_format_code(cm_buf *out, const model_code *c);
/* An astring (atom, quoted or literal) for a mailbox name. */
void imapd_format_astring(cm_buf *out, const char *s, size_t len);
/* "01-Jan-2000 00:00:00 +0000" */
void imapd_format_date(cm_buf *out, int64_t t);

/* The header fields of a message (header section only) whose names are
 * (FIELDS) or are not (FIELDS_NOT) in the space-separated list, each with
 * its continuation lines, then the blank line (RFC 3501 6.4.5). */
void imapd_header_fields(cm_buf *out, const char *msg, size_t len,
			 const char *fields, bool not);
/* The bytes of one body item of msg (partial applied). */
void imapd_section_bytes(cm_buf *out, const imapd_section *s, const char *msg,
			 size_t len);

#endif
