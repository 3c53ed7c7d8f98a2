/* lmtpc's private header: the connection shared by conn.c (I/O, life
 * cycle, timeouts, callbacks) and txn.c (the transaction's steps). */
#ifndef LMTPC_INT_H
#define LMTPC_INT_H

#include "lmtpc.h"

typedef enum conn_state {
	ST_GREETING,   /* waiting for 220 */
	ST_LHLO,       /* LHLO sent */
	ST_READY,
	ST_TXN,        /* a delivery in flight (or its RSET) */
	ST_QUIT,       /* QUIT sent */
	ST_CLOSED,
} conn_state;

/* The reply a transaction waits for next. */
typedef enum txn_step {
	STEP_MAIL,
	STEP_RCPT,     /* of recipient idx */
	STEP_DATA,
	STEP_DOT,      /* the idx-th reply after the final dot */
	STEP_RSET,
} txn_step;

typedef struct txn_rcpt {
	char *addr;
	bool accepted, ended;
	lmtpc_result res;
} txn_rcpt;

typedef struct txn {
	void *user;
	unsigned n, next_emit, naccepted;
	txn_rcpt r[LMTPC_RCPT_MAX];
	char *from;
	cm_buf body;             /* the message dot-stuffed, ".\r\n" at its end */
	txn_step step;
	unsigned idx;
	bool pipelined;          /* MAIL, RCPTs and DATA went in one write */
	bool mail_refused, got_354;
	bool dot_queued, dot_handed;
	uint64_t dot_off;        /* stream offset of the final '.' */
} txn;

typedef struct done_entry {
	void *user;
	unsigned idx;
	lmtpc_result r;
} done_entry;

struct lmtpc_conn {
	int fd;
	conn_state state;
	lmtpc_opts o;
	char *lhlo_name;
	lmtpc_parser *parser;
	bool pipelining;
	/* output: out.data[0] is stream offset out_base */
	cm_buf out;
	uint64_t out_base, written;
	uint64_t progress_ns;    /* the current step's start or last progress */
	txn t;
	/* callbacks owed, run in order by conn_drain */
	done_entry *done;
	size_t n_done, cap_done, done_head;
	bool draining;
	char reason[384];
};

/* conn.c */
void conn_queue(lmtpc_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conn_close(lmtpc_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conn_push_done(lmtpc_conn *c, void *user, unsigned idx, const lmtpc_result *r);
void conn_drain(lmtpc_conn *c);
/* The reply's lines joined by spaces, escaped, cut, into out. */
void conn_reply_text(const lmtpc_reply *r, char *out, size_t outsz);

/* txn.c */
void txn_start(lmtpc_conn *c);
/* r's text is conn_reply_text's; non-zero when the connection closed. */
int txn_reply(lmtpc_conn *c, const lmtpc_reply *r, const char *text);
/* Ends what is not ended yet (the connection is gone): REFUSED before the
 * final dot was handed to send(), UNKNOWN after. */
void txn_abort(lmtpc_conn *c);
void txn_free(txn *t);
/* The name of the reply awaited, for a timeout's reason. */
void txn_awaited(const lmtpc_conn *c, char *out, size_t outsz);
/* Appends msg dot-stuffed, CRLF line ends, then ".\r\n". */
void txn_stuff(cm_buf *b, const char *msg, size_t len);

#endif
