/* Internals of the wire driver: `ratchet run --target imap://...`.
 *
 *  wire_url.c    the target URL
 *  wire_cmd.c    model_op -> IMAP command text
 *  wire_conv.c   parsed IMAP responses -> model_result
 *  wire_setup.c  the blocking admin connection: log-in, capabilities,
 *                the run's mailboxes (create, refuse, delete)
 *  wire_client.c one virtual client = one non-blocking connection
 *  wire_child.c  a command run beside the connections (a child process)
 *  wire_sync.c   the sync command of a replicated pair (--sync-cmd)
 *  wire_deliver*.c the delivery drivers (--deliver): LMTP, a command
 *                (the server's LDA), a raw Maildir drop
 *  wire_replica.c the second server of a pair (--replica): its set-up
 *  wire.c        the campaign: one poll() loop, checkpoints, report
 *  wire_loop.h   its state, shared with wire_conflict.c (scripted
 *                UNCHANGEDSINCE conflicts) */
#ifndef RT_WIRE_PRIVATE_H
#define RT_WIRE_PRIVATE_H

#include "imapc.h"
#include "lmtpc.h"

#include <assert.h>
#include <poll.h>
#include <sys/types.h>
#include "latency.h"
#include "wire.h"
#include "workload.h"

/* ---- the target URL ---- */

typedef struct rt_wire_url {
	char user[256], pass[256];
	bool has_pass;       /* the URL gave one (else see rt_wire_url_password) */
	imapc_security sec;  /* imaps: TLS; imap: PLAIN (STARTTLS: --starttls) */
	char host[256];      /* without brackets for IPv6 literals */
	char port[8];        /* default 143, imaps 993 */
	char display[160];   /* imap[s]://user@host:port (no password) */
} rt_wire_url;

/* imap[s]://USER[:PASS]@HOST[:PORT] with %XX escapes in USER and PASS.
 * 0, or -1 with err filled (one line, never the password). */
int rt_wire_url_parse(const char *url, rt_wire_url *u, cm_err *err);
/* Fills u->pass when the URL had none: the first line of file (may be
 * NULL), else env (RATCHET_PASSWORD's value, may be NULL). 0, or -1 with
 * err filled in one line (no password anywhere, a password in the URL and
 * a file, an unreadable file, an empty or too long one), never showing
 * the password. */
int rt_wire_url_password(rt_wire_url *u, const char *file, const char *env, cm_err *err);

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
	imapc_tls_ctx *tls;                 /* imaps or STARTTLS; else NULL */
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

/* ---- how the target is reached (wire_secure.c) ---- */

/* After the URL is parsed: --starttls, the password (the URL's,
 * --password-file's or RATCHET_PASSWORD's) and the TLS context, with a
 * warning on stderr for --tls-insecure. 0, or -1 with err filled (one
 * line, never the password). */
int rt_wire_secure_open(rt_wire_setup *s, const rt_opts *o, cm_err *err);
/* Frees the TLS context and wipes the password. */
void rt_wire_secure_close(rt_wire_setup *s);
/* A connection to the target, secured as set up: the fd (co->tls and
 * co->no_greeting filled for imapc_conn_new), or -1 with err filled. */
int rt_wire_connect(const rt_wire_setup *s, imapc_conn_opts *co, cm_err *err);
/* -1 with err telling to add --starttls when a plain connection's
 * capabilities say LOGINDISABLED (the password would go in clear); else 0. */
int rt_wire_check_plaintext(const rt_wire_setup *s, const imapc_caps *caps, cm_err *err);

/* Connects and logs in with the admin connection: CM_EXIT_CLEAN or
 * CM_EXIT_USAGE after one error line. No admin command of the set-up
 * runs past deadline_ns (cm_now_ns clock; 0: none). */
int rt_wire_setup_open(rt_wire_setup *s, const rt_opts *o, uint64_t deadline_ns);
/* The same for the server at url (--replica): o gives the timeout. */
int rt_wire_setup_open_url(rt_wire_setup *s, const char *url, const rt_opts *o,
			   uint64_t deadline_ns);
/* The second server of a replicated pair, before the first sync: names
 * from's prefix and mailboxes here (the same, or CM_EXIT_USAGE after one
 * error line), refuses a prefix holding messages unless o->reuse and
 * deletes empty leftovers of those names (a mailbox made on each side
 * apart gets two GUIDs, which dsync never reconciles). CM_EXIT_CLEAN. */
int rt_wire_setup_mirror(rt_wire_setup *s, const rt_wire_setup *from, const rt_opts *o);
/* After the first sync: each of boxes[0..nboxes) must exist here and be
 * empty (CM_EXIT_USAGE after one error line otherwise); then they are the
 * run's own (cleanup deletes them) and their PERMANENTFLAGS are read.
 * CM_EXIT_CLEAN. */
int rt_wire_setup_adopt(rt_wire_setup *s);
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

/* An internal error's last act on the server: name this run's mailboxes
 * and delete them (rt_salvage.clean). */
typedef struct rt_wire_salvage {
	rt_wire_setup *setup;
	rt_wire_setup *peer;        /* replica 2, NULL none */
	const rt_opts *opts;
	const char *id_prefix;
} rt_wire_salvage;
void rt_wire_salvage_clean(void *ctx);

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
typedef struct rt_wire_deliverer rt_wire_deliverer;

/* ---- the sync command (wire_sync.c) ---- */

/* ---- a command run beside the connections (wire_child.c) ---- */

typedef struct rt_wire_child {
	const char *what;            /* its role, for errors: "the sync command" */
	pid_t pid;                   /* running, 0 none */
	int in_fd, out_fd, err_fd;   /* its pipes, -1 once closed */
	cm_buf in;                   /* what its stdin gets */
	size_t in_off;               /* ... written so far */
	bool in_written;             /* all of it was written */
	uint64_t deadline;           /* killed (its group) after it */
	bool killed;
	cm_buf out;                  /* its stdout, at most out_max bytes */
	size_t out_max;
	bool out_overflow;
	char err_line[96];           /* the first line of its stderr */
	size_t err_len;
	bool err_done;
} rt_wire_child;

void rt_wire_child_init(rt_wire_child *c, const char *what, size_t out_max);
void rt_wire_child_free(rt_wire_child *c);
/* Forks /bin/sh -c cmd in a process group of its own, with env (NAME,
 * VALUE pairs, NULL-terminated; may be NULL) set and stdin fed with
 * in[0..inlen) (in NULL: /dev/null). 0, or -1 with err filled (naming
 * c->what, never the command). */
int rt_wire_child_spawn(rt_wire_child *c, const char *cmd, const char *const *env,
			const void *in, size_t inlen, uint64_t timeout_ns, cm_err *err);
/* The child's open pipes as pollfds (at most 3): how many. */
size_t rt_wire_child_pollfds(const rt_wire_child *c, struct pollfd *pfd);
/* Writes and reads what poll reported on the pipes among pfd[0..n). */
void rt_wire_child_handle(rt_wire_child *c, const struct pollfd *pfd, size_t n);
/* Kills its group now (reaped by the next tick). Nothing if none runs. */
void rt_wire_child_kill(rt_wire_child *c);
/* Kills the child past its deadline, reaps it once it has ended: true
 * with its wait status in *status_r (c->killed: we killed it), or false
 * (running, or none). */
bool rt_wire_child_tick(rt_wire_child *c, uint64_t now, int *status_r);
/* Runs cmd to its end, blocking (stdin /dev/null): 0 with the wait
 * status, or -1 with err filled. */
int rt_wire_child_run(rt_wire_child *c, const char *cmd, const char *const *env,
		      uint64_t timeout_ns, int *status_r, cm_err *err);

/* ---- the sync command (wire_sync.c) ---- */

typedef struct rt_wire_sync {
	const char *cmd;             /* may hold credentials: never printed */
	uint32_t client;             /* the SYNC ops' own client number */
	uint64_t timeout_ns;
	rt_wire_child run;           /* the running child */
	char *state;                 /* RATCHET_SYNC_STATE for the next run */
	uint64_t op_id;              /* the recorded SYNC op running, 0 none */
	uint64_t inv_ns;             /* ... when it began (latency) */
	model_reply last;            /* how the last recorded run ended */
	uint64_t runs, ok;           /* recorded runs, those that exited 0 */
	uint64_t every;              /* between checkpoints: one op in every */
	rt_choice_source ch;         /* ... drawn from this */
} rt_wire_sync;

void rt_wire_sync_init(rt_wire_sync *s, const char *cmd, uint32_t client,
		       double timeout_s);
void rt_wire_sync_free(rt_wire_sync *s);
/* The runs between quiet points: one op in every (>= 1) on average,
 * drawn from seed. */
void rt_wire_sync_schedule(rt_wire_sync *s, uint64_t seed, uint64_t every);
/* Whether the op just started is followed by a run (a draw). */
bool rt_wire_sync_due(rt_wire_sync *s);
bool rt_wire_sync_running(const rt_wire_sync *s);
/* Kills the child past its deadline, reaps it when it has ended: true
 * (res filled: OK, NO with the reason, or UNKNOWN) or false (running). */
bool rt_wire_sync_tick(rt_wire_sync *s, uint64_t now, model_result *res);
/* Ends the running child now (its op: outcome unknown at the next tick). */
void rt_wire_sync_kill(rt_wire_sync *s);
/* Runs the command to its end, blocking and unrecorded (the set-up's
 * first sync): 0 with res filled, or -1 with err filled. */
int rt_wire_sync_run(rt_wire_sync *s, model_result *res, cm_err *err);
/* Starts a recorded run: the SYNC op's invoke, then the fork (a fork that
 * fails completes the op at once, NO). */
void rt_wire_sync_begin(rt_wire *w);
/* Ends a recorded run that has ended (its completion): true, or false
 * while it runs. */
bool rt_wire_sync_poll_end(rt_wire *w, uint64_t now);

typedef struct rt_wire_client {
	rt_wire *w;
	uint32_t id;                 /* client number in the history */
	uint32_t replica;            /* 1 or 2 in a replicated pair; 0 none */
	rt_wire_role role;
	rt_wire_state state;
	imapc_conn *conn;
	bool closed;                 /* the connection ended (free it when idle) */
	uint64_t greet_deadline;
	bool recorded;               /* the op in flight is in the history */
	model_op op;
	uint64_t op_id;
	uint64_t inv_ns;             /* when the op in flight began (latency) */
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
	rt_wire_setup *setup;        /* the target (replica 1) */
	rt_wire_setup *peer;         /* --replica (replica 2), NULL none */
	rt_wire_sync *sync;          /* --sync-cmd, NULL without --replica */
	rt_wire_deliverer *dlv;      /* --deliver other than imap-append, or NULL */
	rt_latency *lat;             /* every recorded op's latency, by kind */
	rt_latency *lat_iv;          /* ... since the last progress line */
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
/* A recorded op of kind that began at inv_ns (cm_now_ns) ended now:
 * its latency goes into w->lat and w->lat_iv (when set). */
void rt_wire_latency(rt_wire *w, model_op_kind kind, uint64_t inv_ns, bool unknown);
/* A checkpoint marker event (client 0): invoke returns its op id. */
uint64_t rt_wire_record_checkpoint(rt_wire *w, uint64_t op_id);
/* The recorder: an op's invoke (returns its new op id) and completion,
 * fed to the checker and written to the history. */
uint64_t rt_wire_record_invoke(rt_wire *w, uint32_t client, const model_op *op);
void rt_wire_record_completion(rt_wire *w, uint32_t client, uint64_t op_id,
			       const model_op *op, const model_result *res);
/* The set-up of the server cl talks to (its replica's). */
rt_wire_setup *rt_wire_client_setup(const rt_wire_client *cl);

/* Ends the op in flight with cl->res (status and text filled): recorded,
 * applied to the client's view, the client idle again. */
void rt_wire_client_end(rt_wire_client *cl);

/* ---- delivery drivers (wire_deliver*.c) ---- */

typedef enum rt_deliver_kind {
	RT_DELIVER_IMAP = 0,   /* APPEND from the delivery connection */
	RT_DELIVER_LMTP,
	RT_DELIVER_CMD,        /* the server's LDA */
	RT_DELIVER_MAILDIR,    /* a raw drop into tmp/ and new/ */
} rt_deliver_kind;

typedef struct rt_deliver_spec {
	rt_deliver_kind kind;
	lmtpc_addr lmtp;
	const char *rcpt;            /* LMTP recipient template */
	bool rcpt_given;             /* --deliver-rcpt: also for INBOX */
	const char *cmd;             /* may hold credentials: never printed */
	const char *dir;             /* a Maildir++ root or a template */
	char display[160];
} rt_deliver_spec;

/* --deliver text (NULL: imap-append) and --deliver-rcpt rcpt (NULL: the
 * default) into *d (pointing into text and rcpt). 0, or -1 with err (one
 * line naming what is wrong). */
int rt_deliver_parse(const char *text, const char *rcpt, rt_deliver_spec *d, cm_err *err);
/* Expands a template (wire_deliver.c: %u %m %p %e %%) for mailbox box of
 * the target s into out (NUL-terminated); quote: each expansion
 * shell-quoted. 0, or -1 with err filled. */
int rt_deliver_expand(const char *tmpl, const rt_wire_setup *s, const char *box, bool quote,
		      cm_buf *out, cm_err *err);

struct rt_wire_deliverer {
	rt_wire *w;
	rt_deliver_spec spec;
	uint64_t timeout_ns;
	rt_wire_client *cl;          /* the delivery in flight: its client */
	uint64_t count[3];           /* deliveries OK, refused, unknown */
	rt_wire_child child;         /* cmd: the LDA run */
	lmtpc_conn *lmtp;            /* LMTP: the connection, NULL none */
	bool lmtp_sent;              /* ... the delivery in flight went out */
	cm_buf lmtp_msg;             /* ... its message, until it goes out */
	uint64_t seq;                /* maildir: file names made */
};

void rt_wire_deliver_init(rt_wire_deliverer *d, rt_wire *w, const rt_deliver_spec *spec);
/* Nothing may be in flight (rt_wire_deliver_abort first). */
void rt_wire_deliver_free(rt_wire_deliverer *d);
/* Starts the DELIVER op cl just invoked (cl busy, recorded); it may end
 * at once (rt_wire_deliver_end). */
void rt_wire_deliver_start(rt_wire_deliverer *d, rt_wire_client *cl);
/* Ends the delivery in flight: st and text become its client's result. */
void rt_wire_deliver_end(rt_wire_deliverer *d, model_reply st, const char *text);
/* The driver's descriptors as pollfds (at most 4): how many. */
size_t rt_wire_deliver_pollfds(const rt_wire_deliverer *d, struct pollfd *pfd);
void rt_wire_deliver_handle(rt_wire_deliverer *d, const struct pollfd *pfd, size_t n);
/* Timeouts, the LDA's end, a delivery waiting for its connection. */
void rt_wire_deliver_tick(rt_wire_deliverer *d, uint64_t now);
/* Milliseconds until the driver's next deadline, -1 none. */
int rt_wire_deliver_timeout_ms(const rt_wire_deliverer *d, uint64_t now);
/* Ends what is in flight now (outcome unknown once the data may have
 * gone, else refused): the run's time is up. */
void rt_wire_deliver_abort(rt_wire_deliverer *d);
/* The drivers (wire_deliver_lmtp.c, wire_deliver_maildir.c). */
void rt_wire_deliver_maildir(rt_wire_deliverer *d, const cm_buf *msg);
void rt_wire_deliver_lmtp_start(rt_wire_deliverer *d, const cm_buf *msg);
void rt_wire_deliver_lmtp_free(rt_wire_deliverer *d);
size_t rt_wire_deliver_lmtp_pollfd(const rt_wire_deliverer *d, struct pollfd *pfd);
void rt_wire_deliver_lmtp_handle(rt_wire_deliverer *d, const struct pollfd *pfd, size_t n);
void rt_wire_deliver_lmtp_tick(rt_wire_deliverer *d, uint64_t now);
int rt_wire_deliver_lmtp_timeout_ms(const rt_wire_deliverer *d, uint64_t now);
void rt_wire_deliver_lmtp_abort(rt_wire_deliverer *d, const char *why);

/* ---- the second server of a replicated pair (wire_replica.c) ---- */

/* After the target's mailboxes are made (w->setup ready): w's replica 2
 * is peer (w->o->replica) and its sync command sync (initialized here):
 * opens peer, runs the first sync (unrecorded) that brings the mailboxes
 * there, takes them as the run's own, and narrows the target's
 * capabilities and flags to what both offer. CM_EXIT_CLEAN, or
 * CM_EXIT_USAGE after one error line; either way detach ends it. */
int rt_wire_replica_attach(rt_wire *w, rt_wire_setup *peer, rt_wire_sync *sync,
			   uint64_t deadline_ns);
/* Deletes replica 2's mailboxes (by deadline_ns; 0 none), closes it and
 * frees the sync command's state. Nothing without a replica. */
void rt_wire_replica_detach(rt_wire *w, uint64_t deadline_ns);

#endif
