/* Internals of the wire driver: `ratchet run --target imap://...`.
 *
 *  wire_url.c    the target URL
 *  wire_cmd.c    model_op -> IMAP command text
 *  wire_conv.c   parsed IMAP responses -> model_result
 *  wire_setup.c  the blocking admin connection: log-in, capabilities,
 *                the run's mailboxes (create, refuse, delete)
 *  wire_client.c one virtual client = one non-blocking connection
 *  wire.c        the campaign: one poll() loop, checkpoints, report */
#ifndef RT_WIRE_PRIVATE_H
#define RT_WIRE_PRIVATE_H

#include "imapc.h"
#include "wire.h"
#include "workload.h"

/* ---- the target URL ---- */

typedef struct rt_wire_url {
	char user[256], pass[256];
	char host[256];      /* without brackets for IPv6 literals */
	char port[8];
	char display[160];   /* imap://user@host:port (no password) */
} rt_wire_url;

/* imap://USER:PASS@HOST[:PORT] with %XX escapes in USER and PASS.
 * 0, or -1 with err filled (one line, never the password). */
int rt_wire_url_parse(const char *url, rt_wire_url *u, cm_err *err);

/* ---- capabilities ---- */

/* MODEL_CAP_* bits of an imapc capability mask. */
unsigned rt_wire_model_caps(uint32_t imapc_mask);

/* ---- commands ---- */

/* Renders op as command text (no tag). The op must be sendable: see
 * rt_wire_op_fit. */
void rt_wire_render(imapc_cmd *cmd, const model_op *op);
/* Adapts an op to the target's capabilities (UID EXPUNGE without UIDPLUS
 * becomes EXPUNGE, CONDSTORE/QRESYNC parts are dropped without them) and
 * to the flags it can keep (PERMANENTFLAGS); false if the op cannot be
 * sent at all (then send something else). */
bool rt_wire_op_fit(model_op *op, unsigned caps, cm_flags allowed);

/* ---- responses ---- */

/* Adds the model form of an untagged response to res (responses the
 * model has no use for are skipped). */
void rt_wire_conv_untagged(const imapc_response *r, model_result *res);
/* Fills status, code and text from a tagged reply. */
void rt_wire_conv_tagged(const imapc_response *r, model_result *res);
void rt_wire_conv_code(const imapc_code *in, model_code *out);

/* ---- set-up and tear-down (blocking) ---- */

typedef struct rt_wire_setup {
	rt_wire_url url;
	imapc_client *admin;
	uint32_t timeout_ms;
	unsigned caps;                      /* MODEL_CAP_* */
	uint32_t imapc_caps;
	char sep;                           /* hierarchy separator, '\0' flat */
	char ns[MODEL_NAME_MAX];            /* personal namespace prefix */
	char prefix[MODEL_NAME_MAX];        /* ns + the run's prefix */
	char boxes[RT_MAX_BOXES][MODEL_NAME_MAX];
	bool created[RT_MAX_BOXES];
	int nboxes;
	bool inbox;                         /* boxes[0] is INBOX */
	bool ready;                         /* the boxes are made: clean up */
	bool prefix_existed;                /* keep the prefix mailbox itself */
	bool made_any;                      /* a mailbox was created under it */
	cm_flags allowed;                   /* flags the mailboxes keep */
	uint64_t deadline_ns;               /* admin commands end by then (0: none) */
} rt_wire_setup;

/* Connects and logs in with the admin connection: CM_EXIT_CLEAN or
 * CM_EXIT_USAGE after one error line. No admin command of the set-up
 * runs past deadline_ns (cm_now_ns clock; 0: none). */
int rt_wire_setup_open(rt_wire_setup *s, const rt_opts *o, uint64_t deadline_ns);
/* Creates the run's mailboxes under the prefix (refusing a prefix that
 * holds messages unless o->reuse). */
int rt_wire_setup_boxes(rt_wire_setup *s, const rt_opts *o, int nboxes);
/* The run's prefix alone (no mailboxes yet: the caller names them in
 * boxes[0..nboxes) under it and calls rt_wire_setup_create): named, and
 * refused when it holds messages unless o->reuse. CM_EXIT_CLEAN, or
 * CM_EXIT_USAGE after one error line. */
int rt_wire_setup_prefix(rt_wire_setup *s, const rt_opts *o);
/* Creates boxes[0..nboxes) not created yet (INBOX with s->inbox is never
 * created): CM_EXIT_CLEAN, or CM_EXIT_USAGE after one error line. */
int rt_wire_setup_create(rt_wire_setup *s);
/* Deletes the mailboxes created so far (children first): 0, or -1 after
 * an error line for each one the server refused to delete. */
int rt_wire_setup_delete(rt_wire_setup *s);
/* s->allowed from the PERMANENTFLAGS a SELECT of name reports. */
void rt_wire_setup_learn_flags(rt_wire_setup *s, const char *name);
/* The checker a run against this target gets: its capabilities gate
 * the rules (and IMAP4rev2 makes MOVE-NO-DUP an error), as in every
 * wire run; max_violations as model_checker_options says. */
model_checker *rt_wire_checker_new(const rt_wire_setup *s, size_t max_violations);
/* The header of a history of this target: its URL without the password,
 * its capabilities, the number of clients. */
void rt_wire_history_header(const rt_wire_setup *s, uint64_t seed, unsigned clients,
			    model_history_header *h);
/* Deletes what the run created (unless o->keep); with INBOX in the run,
 * expunges the messages whose X-Ratchet-Id starts with id_prefix. */
void rt_wire_setup_cleanup(rt_wire_setup *s, const rt_opts *o, const char *id_prefix,
			   uint64_t deadline_ns);
void rt_wire_setup_close(rt_wire_setup *s);

/* ---- virtual clients ---- */

typedef enum rt_wire_role {
	RT_WIRE_USER,      /* ops from the workload */
	RT_WIRE_LDA,       /* deliveries: APPENDs from their own connection */
	RT_WIRE_AUDITOR,   /* the checkpoints' fresh reader */
} rt_wire_role;

typedef enum rt_wire_state {
	RT_WIRE_IDLE,      /* no op in flight */
	RT_WIRE_GREETING,  /* CONNECT: waiting for the greeting */
	RT_WIRE_LOGIN,     /* CONNECT: LOGIN sent */
	RT_WIRE_BUSY,      /* a command in flight */
} rt_wire_state;

typedef struct rt_wire rt_wire;

typedef struct rt_wire_client {
	rt_wire *w;
	uint32_t id;                 /* client number in the history */
	rt_wire_role role;
	rt_wire_state state;
	imapc_conn *conn;
	bool closed;                 /* the connection ended (free it when idle) */
	uint64_t greet_deadline;
	bool recorded;               /* the op in flight is in the history */
	model_op op;
	uint64_t op_id;
	model_result res;
	model_result early;          /* untagged data that came between ops */
	rt_client_state known;
	rt_choice_source ch;
	model_op *queue;             /* scripted ops (checkpoints) */
	size_t nqueue, capqueue;
	unsigned fails;              /* connection failures in a row */
	uint64_t retry_at;           /* no new connection before this */
	uint64_t resume_at;          /* think time: start no op before the
				      * campaign has recorded this many events */
	char last_error[160];
	bool end_counted;            /* the connection's end was classified */
	bool logging_out;            /* LOGOUT sent: the server's close is ours */
	char protocol[256];          /* a protocol error not yet in the history */
} rt_wire_client;

/* The campaign's state shared by the loop and the clients. */
struct rt_wire {
	const rt_opts *o;
	rt_wire_setup *setup;
	rt_workload work;
	model_checker *checker;
	model_history_writer *hist;
	rt_wire_client *cl;
	unsigned ncl, users;
	uint64_t last_t, op_id;
	uint64_t ops, events, timeouts, reconnects;
	uint64_t unknown;            /* recorded ops whose outcome is unknown */
	uint64_t connections_lost;   /* ended by the server (EOF, BYE, errors) */
	uint64_t protocol_errors;    /* ended by a malformed response */
	imapc_cmd cmd;               /* scratch */
	/* Where the clients' connections come from: NULL is TCP to
	 * setup->url (the campaign); otherwise it returns a connected fd
	 * (taken over), or -1 with err filled. The seam lets the wire fuzz
	 * target play the server over socketpairs, in process. */
	int (*connect_fd)(rt_wire *w, rt_wire_client *cl, cm_err *err);
	void *connect_ctx;           /* for connect_fd */
	/* Called with every op that ends, recorded or not, before its result
	 * is cleared (may be NULL): the command-order exploration captures
	 * $variables and checks the starting messages' UIDs here. */
	void (*completed)(rt_wire *w, rt_wire_client *cl, const model_op *op,
			  const model_result *res);
	void *completed_ctx;
};

void rt_wire_client_init(rt_wire_client *cl, rt_wire *w, uint32_t id, rt_wire_role role);
void rt_wire_client_free(rt_wire_client *cl);
/* Starts op (taken over). A CONNECT opens a new connection and logs in;
 * record = false keeps it out of the history (the LDA's connections). */
void rt_wire_client_start(rt_wire_client *cl, model_op *op, bool record);
/* Runs cl's connection alone until its op has ended (cl is idle): one
 * command at a time, for the exploration of command orders
 * (wire_explore.c), where nothing else is in flight. */
void rt_wire_client_wait(rt_wire_client *cl);
/* Timeouts of a greeting; frees a connection that ended while idle. */
void rt_wire_client_tick(rt_wire_client *cl, uint64_t now);
bool rt_wire_client_usable(const rt_wire_client *cl);
void rt_wire_client_push(rt_wire_client *cl, const model_op *op);
/* A checkpoint marker event (client 0): invoke returns its op id. */
uint64_t rt_wire_record_checkpoint(rt_wire *w, uint64_t op_id);

#endif
