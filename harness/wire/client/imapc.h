/* imapc: the IMAP client side of ratchet.
 *
 *  - An incremental response parser fed with arbitrary byte chunks. It is
 *    the part exposed to hostile servers (and fuzzers): every limit is
 *    enforced before allocating, any malformed input gives a one-line error
 *    and the stream is then dead (the caller drops the connection).
 *  - Command formatting: astring quoting, literals (synchronizing or not),
 *    sets and flag lists, built as segments so the connection knows where
 *    it must wait for a "+" continuation.
 *  - A non-blocking connection for one poll() loop driving many clients,
 *    with pipelining, per-command timeouts and "unknown outcome" reporting.
 *  - A small blocking client on top for set-up and tear-down.
 *
 * Strings in a parsed response are (pointer, length) views, not NUL
 * terminated, valid until the parser delivers the next response (or until
 * imapc_response_free for a copy made with imapc_response_dup). */
#ifndef IMAPC_H
#define IMAPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm.h"
#include "imap_syntax.h"

/* ---- basics ----------------------------------------------------------- */
typedef struct imapc_str {
	const char *p;
	size_t len;
} imapc_str;

/* Case-insensitive comparison of a view with a C string. */
bool imapc_str_eq(imapc_str s, const char *lit);


/* ---- limits ------------------------------------------------------------
 * A zero field means the default. */
typedef struct imapc_limits {
	size_t max_line;        /* one line without its literals: 4 MiB */
	uint64_t max_literal;   /* one declared literal: 64 MiB */
	uint64_t max_response;  /* a response with all its literals: 128 MiB */
	unsigned max_depth;     /* parenthesis nesting: 256 */
	size_t max_items;       /* tokens in one response: 2,000,000 */
	size_t max_literals;    /* literals in one response: 4096 */
	/* The response budget of a command: what may arrive between two
	 * tagged replies (untagged responses and continuations). A flood of
	 * "* 1 EXISTS" or "+" is a protocol error, not unbounded memory
	 * (ratchet keeps ~0.8 KB per response until the reply: 200,000 are
	 * ~170 MB). A UID FETCH 1:* of 200,000 messages fits. */
	size_t max_untagged;    /* responses: 200,000 */
	uint64_t max_between;   /* bytes, literals included: 1 GiB */
} imapc_limits;

/* Fills zero fields of *out from *in (NULL = all defaults). */
void imapc_limits_resolve(imapc_limits *out, const imapc_limits *in);

/* ---- capabilities ------------------------------------------------------ */
enum {
	IMAPC_CAP_IMAP4REV1 = 1u << 0,
	IMAPC_CAP_IMAP4REV2 = 1u << 1,
	IMAPC_CAP_UIDPLUS = 1u << 2,
	IMAPC_CAP_CONDSTORE = 1u << 3,
	IMAPC_CAP_QRESYNC = 1u << 4,
	IMAPC_CAP_MOVE = 1u << 5,
	IMAPC_CAP_ENABLE = 1u << 6,
	IMAPC_CAP_LITERALPLUS = 1u << 7,
	IMAPC_CAP_LITERALMINUS = 1u << 8,
	IMAPC_CAP_SASL_IR = 1u << 9,
	IMAPC_CAP_ESEARCH = 1u << 10,
	IMAPC_CAP_IDLE = 1u << 11,
	IMAPC_CAP_AUTH_PLAIN = 1u << 12,
	IMAPC_CAP_LOGINDISABLED = 1u << 13,
	IMAPC_CAP_STARTTLS = 1u << 14,
	IMAPC_CAP_BINARY = 1u << 15,
	IMAPC_CAP_UTF8_ACCEPT = 1u << 16,
};

/* Bit for one capability name (case-insensitive); 0 if not tracked. */
uint32_t imapc_cap_bit(const char *name, size_t len);

typedef struct imapc_caps {
	uint32_t mask;
	const imapc_str *names;  /* every name as sent, in order */
	size_t n;
} imapc_caps;

bool imapc_caps_has(const imapc_caps *c, const char *name);

/* ---- sequence sets as the server wrote them ------------------------------
 * set is normalised (a read-only view: never modify or free it); order keeps
 * the ranges in the server's order with lo = first and hi = last number as
 * written (so "9:5" has lo 9, hi 5); listed counts members as written
 * (duplicates twice). COPYUID pairs source and destination by position in
 * that written order: see imapc_seqset_nth. */
typedef struct imapc_seqset {
	cm_uidset set;
	const cm_range *order;
	size_t n_order;
	uint64_t listed;
} imapc_seqset;

/* The idx-th member in written order (idx < listed); a reversed range
 * "9:5" counts down. */
uint32_t imapc_seqset_nth(const imapc_seqset *s, uint64_t idx);

/* ---- flags ---------------------------------------------------------------- */
typedef struct imapc_flagset {
	cm_flags flags;   /* permanent flags, bits from cm_flag_intern */
	bool recent;      /* \Recent was listed */
	bool star;        /* \* (PERMANENTFLAGS only) */
	uint32_t n_bad;   /* names cm could not intern (bad syntax, table full) */
} imapc_flagset;

/* ---- response codes ------------------------------------------------------ */
typedef enum imapc_code_kind {
	IMAPC_CODE_NONE = 0,
	IMAPC_CODE_ALERT,
	IMAPC_CODE_PARSE,
	IMAPC_CODE_READ_ONLY,
	IMAPC_CODE_READ_WRITE,
	IMAPC_CODE_TRYCREATE,
	IMAPC_CODE_UIDNEXT,
	IMAPC_CODE_UIDVALIDITY,
	IMAPC_CODE_UNSEEN,
	IMAPC_CODE_PERMANENTFLAGS,
	IMAPC_CODE_HIGHESTMODSEQ,
	IMAPC_CODE_NOMODSEQ,
	IMAPC_CODE_MODIFIED,
	IMAPC_CODE_APPENDUID,
	IMAPC_CODE_COPYUID,
	IMAPC_CODE_CLOSED,
	IMAPC_CODE_CAPABILITY,
	IMAPC_CODE_NONEXISTENT,
	IMAPC_CODE_ALREADYEXISTS,
	IMAPC_CODE_INUSE,
	IMAPC_CODE_OVERQUOTA,
	IMAPC_CODE_LIMIT,
	IMAPC_CODE_SERVERBUG,
	IMAPC_CODE_UNAVAILABLE,
	IMAPC_CODE_EXPUNGEISSUED,
	IMAPC_CODE_NOPERM,
	IMAPC_CODE_UIDNOTSTICKY,
	IMAPC_CODE_OTHER,        /* any other: see name and args */
} imapc_code_kind;

const char *imapc_code_name(imapc_code_kind k);

typedef struct imapc_code {
	imapc_code_kind kind;
	imapc_str name;          /* as sent, e.g. "UIDNEXT" */
	imapc_str args;          /* raw text between the name and ']' */
	uint32_t num;            /* UIDNEXT, UIDVALIDITY, UNSEEN; the
				  * UIDVALIDITY of APPENDUID and COPYUID */
	uint64_t modseq;         /* HIGHESTMODSEQ */
	imapc_flagset flags;     /* PERMANENTFLAGS */
	imapc_seqset uids;       /* MODIFIED; APPENDUID uids; COPYUID source */
	imapc_seqset dst;        /* COPYUID destination */
	imapc_caps caps;         /* CAPABILITY */
} imapc_code;

/* ---- responses ----------------------------------------------------------- */
typedef enum imapc_kind {
	IMAPC_UNTAGGED = 1,
	IMAPC_TAGGED,
	IMAPC_CONTINUATION,
} imapc_kind;

typedef enum imapc_type {
	IMAPC_T_NONE = 0,        /* continuation */
	IMAPC_T_OK,
	IMAPC_T_NO,
	IMAPC_T_BAD,
	IMAPC_T_BYE,
	IMAPC_T_PREAUTH,
	IMAPC_T_CAPABILITY,
	IMAPC_T_ENABLED,
	IMAPC_T_FLAGS,
	IMAPC_T_LIST,
	IMAPC_T_LSUB,
	IMAPC_T_STATUS,
	IMAPC_T_SEARCH,
	IMAPC_T_ESEARCH,
	IMAPC_T_EXISTS,
	IMAPC_T_RECENT,
	IMAPC_T_EXPUNGE,
	IMAPC_T_VANISHED,
	IMAPC_T_FETCH,
	IMAPC_T_UNKNOWN,         /* untagged, kept as name + raw text */
} imapc_type;

const char *imapc_type_name(imapc_type t);
bool imapc_type_is_status(imapc_type t); /* OK NO BAD BYE PREAUTH */

typedef struct imapc_list {
	const imapc_str *attrs;  /* "\HasNoChildren" ... as sent */
	size_t n_attrs;
	char delim;              /* '\0' for NIL */
	imapc_str name;          /* as sent (modified UTF-7 not decoded) */
	imapc_str ext;           /* raw LIST-EXTENDED data after the name */
} imapc_list;

enum {
	IMAPC_STATUS_MESSAGES = 1u << 0,
	IMAPC_STATUS_RECENT = 1u << 1,
	IMAPC_STATUS_UIDNEXT = 1u << 2,
	IMAPC_STATUS_UIDVALIDITY = 1u << 3,
	IMAPC_STATUS_UNSEEN = 1u << 4,
	IMAPC_STATUS_HIGHESTMODSEQ = 1u << 5,
	IMAPC_STATUS_SIZE = 1u << 6,
};

typedef struct imapc_status {
	imapc_str mailbox;
	unsigned has;            /* IMAPC_STATUS_* present */
	uint32_t messages, recent, uidnext, uidvalidity, unseen;
	uint64_t highestmodseq, size;
} imapc_status;

typedef struct imapc_search {
	const uint32_t *nums;
	size_t n;
	bool has_modseq;         /* "(MODSEQ n)" of RFC 7162 */
	uint64_t modseq;
} imapc_search;

enum {
	IMAPC_ESEARCH_MIN = 1u << 0,
	IMAPC_ESEARCH_MAX = 1u << 1,
	IMAPC_ESEARCH_COUNT = 1u << 2,
	IMAPC_ESEARCH_ALL = 1u << 3,
	IMAPC_ESEARCH_MODSEQ = 1u << 4,
};

typedef struct imapc_esearch {
	bool has_tag;
	imapc_str tag;           /* the (TAG "...") correlator */
	bool uid;
	unsigned has;            /* IMAPC_ESEARCH_* present */
	uint32_t min, max, count;
	imapc_seqset all;
	uint64_t modseq;
} imapc_esearch;

typedef struct imapc_vanished {
	bool earlier;
	imapc_seqset uids;
} imapc_vanished;

/* FETCH items present (has), repeated within the response (dup) and
 * repeated with a different value (conflict). For repeats the last wins. */
enum {
	IMAPC_FETCH_UID = 1u << 0,
	IMAPC_FETCH_FLAGS = 1u << 1,
	IMAPC_FETCH_MODSEQ = 1u << 2,
	IMAPC_FETCH_SIZE = 1u << 3,
	IMAPC_FETCH_INTERNALDATE = 1u << 4,
	IMAPC_FETCH_BODY = 1u << 5,      /* any body item (see bodies) */
};

typedef enum imapc_body_kind {
	IMAPC_BODY_SECTION = 1,  /* BODY[section] (or BODY.PEEK[...]) */
	IMAPC_BODY_BINARY,       /* BINARY[section] */
	IMAPC_BODY_RFC822,
	IMAPC_BODY_RFC822_HEADER,
	IMAPC_BODY_RFC822_TEXT,
} imapc_body_kind;

typedef struct imapc_body {
	imapc_body_kind kind;
	imapc_str section;       /* between the brackets as sent: "",
				  * "HEADER.FIELDS (X-Ratchet-Id)", "1.MIME" */
	bool partial;            /* "<origin>" was given */
	uint32_t origin;
	bool nil;
	bool literal8;           /* sent as ~{n} */
	imapc_str data;          /* the bytes (empty for NIL) */
	uint64_t hash;           /* cm_hash64(data) */
} imapc_body;

typedef struct imapc_fetch {
	unsigned has, dup, conflict;   /* IMAPC_FETCH_* */
	uint32_t uid;
	imapc_flagset flags;
	uint64_t modseq;
	uint64_t size;                 /* RFC822.SIZE */
	int64_t internaldate;          /* seconds since the epoch, UTC */
	int32_t tz_offset;             /* seconds east of UTC, as sent */
	imapc_str internaldate_raw;
	const imapc_body *bodies;
	size_t n_bodies;
	const imapc_str *unknown;      /* names of items skipped (ENVELOPE...) */
	size_t n_unknown;
} imapc_fetch;

typedef struct imapc_lit_ {
	size_t off, len;
} imapc_lit_;

/* Storage a response reuses from one response to the next: private. */
typedef struct imapc_resp_priv_ {
	cm_buf scratch;          /* unescaped quoted strings */
	cm_buf own;              /* raw bytes of a copy */
	bool scratch_ready;      /* reserved for the whole response */
	imapc_str *strs;
	size_t n_strs, cap_strs;
	uint32_t *nums;
	size_t n_nums, cap_nums;
	imapc_body *bodies;
	size_t n_bodies, cap_bodies;
	cm_uidset sets[2];
	cm_range *order[2];
	size_t n_order[2], cap_order[2];
	imapc_limits lim;
	bool heap;               /* made by imapc_response_dup */
} imapc_resp_priv_;

typedef struct imapc_response {
	imapc_kind kind;
	imapc_type type;
	imapc_str tag;           /* TAGGED */
	imapc_str name;          /* the response name as sent ("OK", "FETCH") */
	imapc_str text;          /* human text of a status response or a
				  * continuation; for UNKNOWN all after "* " */
	imapc_code code;         /* status responses and continuations */
	uint32_t number;         /* n EXISTS / RECENT / EXPUNGE / FETCH */
	imapc_caps caps;         /* CAPABILITY, ENABLED */
	imapc_flagset flags;     /* FLAGS */
	imapc_list list;         /* LIST, LSUB */
	imapc_status status;     /* STATUS */
	imapc_search search;     /* SEARCH */
	imapc_esearch esearch;   /* ESEARCH */
	imapc_vanished vanished; /* VANISHED */
	imapc_fetch fetch;       /* FETCH */
	imapc_str raw;           /* every byte as received, CRLF included */
	uint64_t index;          /* 0-based position in its stream */
	uint64_t offset;         /* stream offset of its first byte */
	imapc_resp_priv_ priv_;
} imapc_response;

/* A deep copy that outlives the parser; free with imapc_response_free. */
imapc_response *imapc_response_dup(const imapc_response *r);
void imapc_response_free(imapc_response *r);

/* Canonical one-line description of what was parsed (for logs and tests):
 * the same parse gives the same text however the bytes were split. */
void imapc_response_dump(const imapc_response *r, cm_buf *out);

/* The full message of a FETCH (BODY[], BINARY[] or RFC822, not partial). */
const imapc_body *imapc_fetch_message(const imapc_fetch *f);
/* A BODY[section] or BINARY[section] by section, compared ignoring case. */
const imapc_body *imapc_fetch_section(const imapc_fetch *f, const char *section);
/* A header field's value from any header-bearing item of the FETCH
 * (HEADER.FIELDS, HEADER, RFC822.HEADER or the full message). */
bool imapc_fetch_header(const imapc_fetch *f, const char *name, imapc_str *value);

/* Header value from message bytes (header section only, name compared
 * ignoring case): the raw span after ':' minus surrounding white space,
 * continuation lines included. False if absent. */
bool imapc_header_find(const char *msg, size_t len, const char *name,
		       imapc_str *value);
/* Appends v with folding line breaks removed. */
void imapc_header_unfold(imapc_str v, cm_buf *out);


/* ---- the parser --------------------------------------------------------- */
typedef struct imapc_parser imapc_parser;

/* Called once per complete response; r is valid until the call returns
 * (its views until the next response). Nonzero stops the parser for good. */
typedef int imapc_response_fn(void *ctx, const imapc_response *r);

imapc_parser *imapc_parser_new(const imapc_limits *lim);
void imapc_parser_free(imapc_parser *p);
/* Feeds any chunk; returns 0, or -1 on error (then and forever after). */
int imapc_parser_feed(imapc_parser *p, const void *data, size_t len,
		      imapc_response_fn *fn, void *ctx);
const char *imapc_parser_error(const imapc_parser *p); /* NULL if none */
/* After an error: the first bytes (at most IMAPC_EVIDENCE_MAX) of the
 * response it was found in, raw; *len_r gets their count (0 if none). */
#define IMAPC_EVIDENCE_MAX 64
const char *imapc_parser_evidence(const imapc_parser *p, size_t *len_r);
size_t imapc_parser_pending(const imapc_parser *p);    /* buffered bytes */
uint64_t imapc_parser_count(const imapc_parser *p);    /* responses so far */

/* Parses a whole buffer (the fuzzing entry point). An incomplete response
 * at the end is an error. Returns true, or false with err filled. */
bool imapc_parse_all(const void *data, size_t len, const imapc_limits *lim,
		     imapc_response_fn *fn, void *ctx, cm_err *err);

/* ---- command formatting ---------------------------------------------------
 * A command is the text after the tag, built from pieces; literals and
 * continuation waits are segments rendered per connection (LITERAL+ or
 * LITERAL- decide whether the client must wait for "+"). */
typedef struct imapc_seg_ {
	uint8_t kind;
	size_t off, len;
} imapc_seg_;

typedef struct imapc_cmd {
	cm_buf buf;              /* text and literal bytes */
	imapc_seg_ *segs;
	size_t n_segs, cap_segs;
} imapc_cmd;

void imapc_cmd_init(imapc_cmd *c);
void imapc_cmd_reset(imapc_cmd *c);
void imapc_cmd_free(imapc_cmd *c);
/* Verbatim text: keywords, spaces, parentheses. */
void imapc_cmd_raw(imapc_cmd *c, const char *s);
void imapc_cmd_printf(imapc_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Atom if possible, else quoted string, else literal. */
void imapc_cmd_astring(imapc_cmd *c, const char *s, size_t len);
/* Quoted string if possible, else literal (never an atom). */
void imapc_cmd_string(imapc_cmd *c, const char *s, size_t len);
void imapc_cmd_literal(imapc_cmd *c, const void *data, size_t len);
void imapc_cmd_literal8(imapc_cmd *c, const void *data, size_t len);
void imapc_cmd_set(imapc_cmd *c, const cm_uidset *s);
/* "(\Seen $Junk)" */
void imapc_cmd_flags(imapc_cmd *c, cm_flags flags);
/* Ends the line here; what follows is sent after the next "+". */
void imapc_cmd_wait_continuation(imapc_cmd *c);

/* Ready-made commands. */
void imapc_cmd_login(imapc_cmd *c, const char *user, const char *pass);
void imapc_cmd_authenticate_plain(imapc_cmd *c, const char *authzid,
				  const char *user, const char *pass,
				  bool sasl_ir);

/* Wire form of one command: bytes plus the offsets at which the sender
 * must stop until a "+" continuation arrives. */
typedef struct imapc_wire {
	cm_buf bytes;
	size_t *sync;
	size_t n_sync, cap_sync;
} imapc_wire;

/* Appends "tag text\r\n" to w (offsets relative to w->bytes). */
void imapc_cmd_render(const imapc_cmd *c, const char *tag, uint32_t caps,
		      imapc_wire *w);
void imapc_wire_clear(imapc_wire *w);
void imapc_wire_free(imapc_wire *w);


/* ---- network -------------------------------------------------------------- */
/* Connects to host ("127.0.0.1", "::1", "[::1]" or a name) and port with a
 * timeout (0 = 10 s). Returns a non-blocking fd or -1 with err filled. */
int imapc_connect_tcp(const char *host, const char *port, uint32_t timeout_ms,
		      cm_err *err);

/* ---- TLS (tls.c) -------------------------------------------------------------
 * A context per target, a session per connection. Certificates are
 * verified unless insecure: against ca_file, else the system's store, and
 * the certificate must name the host (a DNS name, or an IP address for an
 * address literal). */
typedef struct imapc_tls_cfg {
	const char *ca_file;     /* PEM CA certificates; NULL = the system's */
	bool insecure;           /* no certificate or host name check */
} imapc_tls_cfg;

typedef struct imapc_tls_ctx imapc_tls_ctx;
typedef struct imapc_tls imapc_tls;

/* The context, or NULL with err filled (an unreadable CA file). */
imapc_tls_ctx *imapc_tls_ctx_new(const imapc_tls_cfg *cfg, cm_err *err);
void imapc_tls_ctx_free(imapc_tls_ctx *x);      /* NULL is a no-op */
/* The handshake over the connected non-blocking fd (which stays the
 * caller's to close), blocking up to timeout_ms (0 = 10 s). The session,
 * or NULL with err filled in one line (an untrusted certificate says
 * which check failed and names --tls-ca and --tls-insecure). */
imapc_tls *imapc_tls_handshake(imapc_tls_ctx *x, int fd, const char *host,
			       uint32_t timeout_ms, cm_err *err);
void imapc_tls_free(imapc_tls *t);              /* NULL is a no-op */
/* Never block. Bytes moved (> 0); 0 at a clean TLS close (read only);
 * -1 with errno EAGAIN when the session waits for the socket (see the
 * *_wants_* below for the direction), or -1 with errno EIO on an error
 * (imapc_tls_error tells). len > 0. */
ssize_t imapc_tls_read(imapc_tls *t, void *buf, size_t len);
ssize_t imapc_tls_write(imapc_tls *t, const void *buf, size_t len);
bool imapc_tls_pending(const imapc_tls *t);     /* decrypted bytes buffered */
bool imapc_tls_read_wants_write(const imapc_tls *t);  /* last read's EAGAIN */
bool imapc_tls_write_wants_read(const imapc_tls *t);  /* last write's EAGAIN */
const char *imapc_tls_error(const imapc_tls *t); /* "TLS: ..." (never NULL) */

/* ---- a secured connection (secure.c) ------------------------------------------ */
typedef enum imapc_security {
	IMAPC_SEC_PLAIN = 0,     /* TCP */
	IMAPC_SEC_TLS,           /* TLS from the first byte (imaps, port 993) */
	IMAPC_SEC_STARTTLS,      /* greeting, STARTTLS, then TLS */
} imapc_security;

struct imapc_conn_opts;
/* Connects to host and port and secures the connection as sec asks (tls
 * is needed unless PLAIN), blocking up to timeout_ms (0 = 10 s) for each
 * of the TCP connect and the rest. Sets co->tls (the session, taken over
 * by imapc_conn_new) and co->no_greeting (after STARTTLS; co->tls must be
 * NULL on entry). Returns the fd, or -1 with err filled in one line
 * (STARTTLS refused, the handshake's verdict, ...). */
int imapc_connect_secure(const char *host, const char *port, imapc_security sec,
			 imapc_tls_ctx *tls, uint32_t timeout_ms,
			 struct imapc_conn_opts *co, cm_err *err);

/* ---- non-blocking connection ------------------------------------------------ */
typedef struct imapc_conn imapc_conn;

/* A command the server has seen at least the start of. */
typedef struct imapc_inflight {
	const char *tag;
	void *user;
	uint64_t sent_ns;        /* cm_now_ns() when its first byte went out */
} imapc_inflight;

typedef enum imapc_outcome {
	IMAPC_REPLIED = 1,       /* tagged reply: see status */
	IMAPC_UNKNOWN,           /* sent, no reply: may or may not have run */
	IMAPC_NOT_SENT,          /* never left the client: did not run */
} imapc_outcome;

const char *imapc_outcome_name(imapc_outcome o);

typedef struct imapc_done {
	const char *tag;
	void *user;
	imapc_outcome outcome;
	imapc_type status;            /* OK, NO or BAD when REPLIED */
	const imapc_response *resp;   /* the tagged reply when REPLIED */
	const char *reason;           /* why, when not REPLIED */
	uint64_t queued_ns, sent_ns, done_ns;
} imapc_done;

/* Callbacks may send commands; they must not free the connection. */
typedef struct imapc_conn_cb {
	/* Every untagged response and every continuation, with the commands
	 * in flight when it arrived (for attribution). */
	void (*response)(void *ctx, imapc_conn *c, const imapc_response *r,
			 const imapc_inflight *inflight, size_t n_inflight);
	/* Exactly once per command sent with imapc_conn_send. */
	void (*done)(void *ctx, imapc_conn *c, const imapc_done *d);
	/* Once, after every pending command got its done. */
	void (*closed)(void *ctx, imapc_conn *c, const char *reason);
	void *ctx;
} imapc_conn_cb;

typedef struct imapc_conn_opts {
	const char *tag_prefix;       /* NULL = "a"; up to 16 atom chars */
	uint32_t timeout_ms;          /* default per command; 0 = 30 s */
	imapc_limits limits;          /* parser limits; zero = defaults */
	imapc_tls *tls;               /* NULL: plain; else bytes go through it
				       * (taken over, freed with the conn) */
	bool no_greeting;             /* none comes (after STARTTLS): the
				       * connection starts as after * OK */
} imapc_conn_opts;

/* Takes ownership of a connected fd (made non-blocking here) and of
 * opts->tls. */
imapc_conn *imapc_conn_new(int fd, const imapc_conn_opts *opts,
			   const imapc_conn_cb *cb);
/* Closes (completing pending commands, reason "closed by client") and frees. */
void imapc_conn_free(imapc_conn *c);

int imapc_conn_fd(const imapc_conn *c);     /* -1 once closed */
bool imapc_conn_wants_write(const imapc_conn *c);
short imapc_conn_poll_events(const imapc_conn *c); /* POLLIN [| POLLOUT] */
void imapc_conn_on_readable(imapc_conn *c);
void imapc_conn_on_writable(imapc_conn *c);
/* Fails the connection if a command passed its deadline. */
void imapc_conn_check_timeouts(imapc_conn *c, uint64_t now_ns);
/* Milliseconds until the nearest deadline (for poll), -1 if none. */
int imapc_conn_timeout_ms(const imapc_conn *c, uint64_t now_ns);
/* One poll() result: read, write and timeouts as needed. */
void imapc_conn_handle(imapc_conn *c, short revents);

/* Queues a command; it goes out on the next on_writable (poll for
 * imapc_conn_poll_events). Its timeout (0 = the default) runs from this
 * call: when it passes without a tagged reply the connection is closed.
 * Returns the tag, valid until the next send, or NULL if the connection is
 * already closed (then no done callback will come). */
const char *imapc_conn_send(imapc_conn *c, const imapc_cmd *cmd, void *user,
			    uint32_t timeout_ms);
/* Queues raw bytes that are not a command ("DONE\r\n" after IDLE). */
void imapc_conn_send_raw(imapc_conn *c, const void *data, size_t len);
void imapc_conn_close(imapc_conn *c, const char *reason);
/* The one path for a server that broke the protocol: a response outside
 * the formal syntax (RFC 3501 9, RFC 9051 9) or the parser's limits, a
 * tagged reply to a tag never sent, a bad greeting, a response beyond a
 * command's budget. Closes the connection like imapc_conn_close (pending
 * commands end IMAPC_UNKNOWN, reason "protocol error: WHAT") and keeps
 * the offending bytes (may be NULL), escaped and cut, for
 * imapc_conn_protocol_bytes. A no-op on a closed connection. */
void imapc_conn_protocol_error(imapc_conn *c, const void *bytes, size_t len,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* When the connection ended through imapc_conn_protocol_error: the
 * offending bytes, escaped (cm_escape; "" if none were given); else NULL
 * (a timeout, EOF, a write error or a close by the client). */
const char *imapc_conn_protocol_bytes(const imapc_conn *c);

bool imapc_conn_closed(const imapc_conn *c);
const char *imapc_conn_close_reason(const imapc_conn *c);
imapc_type imapc_conn_greeting(const imapc_conn *c); /* NONE until it came */
const imapc_caps *imapc_conn_caps(const imapc_conn *c);
uint64_t imapc_conn_caps_gen(const imapc_conn *c);   /* bumps per update */
uint32_t imapc_conn_enabled(const imapc_conn *c);    /* IMAPC_CAP_* ENABLED */
size_t imapc_conn_pending(const imapc_conn *c);      /* commands not done */

/* ---- blocking client ---------------------------------------------------------- */
typedef struct imapc_client imapc_client;

typedef struct imapc_result {
	imapc_outcome outcome;
	imapc_type status;
	imapc_response *tagged;        /* when REPLIED */
	imapc_response **untagged;     /* everything else received meanwhile */
	size_t n_untagged, cap_untagged;
	char reason[256];
} imapc_result;

void imapc_result_free(imapc_result *res);

/* Connects, reads the greeting and learns the capabilities. */
imapc_client *imapc_client_connect(const char *host, const char *port,
				   uint32_t timeout_ms,
				   const imapc_conn_opts *opts,
				   cm_err *err);
/* Same over an already connected fd (taken over). */
imapc_client *imapc_client_new_fd(int fd, uint32_t timeout_ms,
				  const imapc_conn_opts *opts, cm_err *err);
void imapc_client_free(imapc_client *cl);

imapc_conn *imapc_client_conn(imapc_client *cl);
/* The greeting; NULL when none came (opts->no_greeting, after STARTTLS). */
const imapc_response *imapc_client_greeting(const imapc_client *cl);
const imapc_caps *imapc_client_caps(const imapc_client *cl);

/* Runs one command and collects every response until its tagged reply.
 * Returns 0 on OK, -1 otherwise (res tells; free it in both cases). */
int imapc_client_run(imapc_client *cl, const imapc_cmd *cmd,
		     uint32_t timeout_ms, imapc_result *res);
/* No command runs past deadline_ns (cm_now_ns clock; 0: no deadline):
 * each gets the smaller of its timeout and the time left, and once it has
 * passed imapc_client_run sends nothing and returns -1 (IMAPC_NOT_SENT,
 * reason "the time allowed is up"). */
void imapc_client_set_deadline(imapc_client *cl, uint64_t deadline_ns);
/* Same with a verbatim printf-formatted command text. */
int imapc_client_runf(imapc_client *cl, imapc_result *res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int imapc_client_capability(imapc_client *cl, cm_err *err);
int imapc_client_login(imapc_client *cl, const char *user, const char *pass,
		       cm_err *err);
int imapc_client_authenticate_plain(imapc_client *cl, const char *user,
				    const char *pass, cm_err *err);
/* ENABLE with space-separated extensions; *enabled gets IMAPC_CAP_* bits
 * and names (may be NULL) the ENABLED names, space-separated. */
int imapc_client_enable(imapc_client *cl, const char *exts, uint32_t *enabled,
			cm_buf *names, cm_err *err);
int imapc_client_logout(imapc_client *cl, cm_err *err);

#endif
