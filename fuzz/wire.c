/* Fuzz target: the wire driver's clients against a server made of the
 * input's bytes, in process. The virtual clients (wire_client.c: the IMAP
 * connection, the workload's ops rendered as commands, the responses
 * converted to model results, each client's state of its mailbox) talk over
 * socketpairs (the rt_wire.connect_fd seam) to "servers" that send the
 * input, and every op goes to the model checker, as in a campaign.
 *
 * The input:
 *   byte 0   the server's capabilities (bit 0 UIDPLUS, 1 CONDSTORE,
 *            2 QRESYNC, 3 MOVE, 4 ENABLE, 5 LITERAL+, 6 IMAP4rev2) and
 *            bit 7: two clients instead of one
 *   byte 1   the workload's seed (which ops the clients send)
 *   then     the server's turns, separated by lines "~~" ("~~\n" at the
 *            start of a line). The clients take turns (round robin): the
 *            client whose turn it is starts its next op if idle (connect
 *            first; every 12th op a checkpoint's fresh read, EXAMINE + UID
 *            SEARCH ALL + UID FETCH 1:*), its command is flushed and read
 *            by its server, and the turn's bytes are sent to it. "%T" in a
 *            turn is replaced by the tag of the last command that server
 *            read (so inputs can answer without guessing tags). When the
 *            turns run out every server closes: what is in flight ends as
 *            "outcome unknown".
 *
 * Seeds are recorded from a real server: with RATCHET_FUZZ_SERVER=HOST:PORT
 * (user ratchet, password ratchet, as ratchet-imapd's defaults) and
 * RATCHET_FUZZ_RECORD=FILE, the corpus main run on a 2-byte input (the
 * header above) forwards each client's commands to that server, takes as
 * each turn what the server sends until it is quiet for 300 ms, and writes
 * the header and the turns (tags as "%T") to FILE: a seed that replays the
 * same conversation without the server. RATCHET_FUZZ_TURNS=N (default 60)
 * stops the recording after N turns. RATCHET_FUZZ_VERBOSE=1 prints each
 * run's ops, unknown outcomes and violations; RATCHET_FUZZ_HISTORY=FILE
 * writes its history (for `ratchet check`; use with one input).
 *
 * A hostile server's bytes make violations, and that is fine: here the
 * checker only has to survive. What must not happen: an abort, a sanitizer
 * report, memory or time that grow with the numbers the server claims
 * (wire.options bounds them), and, checked here, an op without exactly one
 * completion: once every connection is closed each client is idle and the
 * history holds two events (invoke, completion) per recorded op.
 */
#include "fuzz.h"
#include "model.h"
#include "wire.h"
#include "rs_session.h"
#include "wire_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 2
#define MAX_TURNS 400        /* turns per input: keeps one execution short */
#define AUDIT_EVERY 12       /* ops between checkpoint reads */
#define CONNECT_FAILS 8      /* as the campaign: the server is gone */

typedef struct server {
	int fd;                  /* our end of the client's socketpair */
	int real;                /* recording: the real server, else -1 */
	char tag[48];            /* the last command tag read */
	bool line_start;         /* what we read so far ended a line */
} server;

typedef struct fuzz_run {
	const uint8_t *p, *end;  /* the turns not sent yet */
	server srv[MAX_CLIENTS];
	rt_wire w;
	rt_wire_setup setup;
	rt_opts o;
	uint64_t started;
	cm_buf *record;          /* recording: the seed being written */
	FILE *hist_file;         /* RATCHET_FUZZ_HISTORY */
} fuzz_run;

/* Recording mode (see the top): the real server and the output. */
static struct {
	char host[128], port[16];
	const char *file;
	unsigned turns;
} g_rec;
static bool g_verbose;  /* RATCHET_FUZZ_VERBOSE=1: the run's figures */
static const char *g_history; /* RATCHET_FUZZ_HISTORY=FILE: the run's history */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_verbose = getenv("RATCHET_FUZZ_VERBOSE") != NULL;
	g_history = getenv("RATCHET_FUZZ_HISTORY");
	const char *srv = getenv("RATCHET_FUZZ_SERVER"), *file = getenv("RATCHET_FUZZ_RECORD");
	if (srv == NULL || file == NULL || *file == '\0')
		return 0;
	const char *colon = strrchr(srv, ':');
	if (colon == NULL || (size_t)(colon - srv) >= sizeof(g_rec.host)) {
		fprintf(stderr, "fuzz_wire: RATCHET_FUZZ_SERVER is HOST:PORT\n");
		exit(2);
	}
	snprintf(g_rec.host, sizeof(g_rec.host), "%.*s", (int)(colon - srv), srv);
	snprintf(g_rec.port, sizeof(g_rec.port), "%s", colon + 1);
	g_rec.file = file;
	const char *turns = getenv("RATCHET_FUZZ_TURNS");
	g_rec.turns = turns != NULL && atoi(turns) > 0 ? (unsigned)atoi(turns) : 60;
	return 0;
}

/* ---- the servers' side ---- */

static int fuzz_connect(rt_wire *w, rt_wire_client *cl, cm_err *err)
{
	fuzz_run *run = w->connect_ctx;
	FUZZ_ASSERT(cl->id >= 1 && cl->id <= MAX_CLIENTS, "WIRE-CLIENT", "client %u", cl->id);
	server *s = &run->srv[cl->id - 1];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err->text, sizeof(err->text), "socketpair: %s", strerror(errno));
		return -1;
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->real >= 0)
		close(s->real);
	s->fd = s->real = -1;
	if (run->record != NULL &&
	    (s->real = imapc_connect_tcp(g_rec.host, g_rec.port, 5000, err)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	s->fd = sv[0];
	s->tag[0] = '\0';
	s->line_start = true;
	FUZZ_ASSERT(fcntl(s->fd, F_SETFL, O_NONBLOCK) == 0, "FCNTL", "%s", strerror(errno));
	return sv[1];
}

/* A command line starts with the client's tag: "c<id>.<n> ". */
static void learn_tag(server *s, const char *b, size_t n)
{
	size_t i = 0;
	if (!s->line_start || n < 2 || b[0] != 'c')
		return;
	for (i = 1; i < n && i < sizeof(s->tag) - 1 && b[i] != ' '; i++)
		if (!(b[i] == '.' || (b[i] >= '0' && b[i] <= '9')))
			return;
	if (i < n && b[i] == ' ') {
		memcpy(s->tag, b, i);
		s->tag[i] = '\0';
	}
}

/* Writes all of b to a non-blocking fd (recording only). */
static void write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 5000) <= 0)
				return;
			continue;
		}
		if (k <= 0)
			return;
		b += k;
		n -= (size_t)k;
	}
}

/* Reads what the client sent, keeping its last tag; forgets it, or when
 * recording passes it on to the real server. */
static void server_drain(server *s)
{
	char buf[16384];
	ssize_t n;
	while (s->fd >= 0 && (n = read(s->fd, buf, sizeof(buf))) > 0) {
		learn_tag(s, buf, (size_t)n);
		s->line_start = buf[n - 1] == '\n';
		if (s->real >= 0)
			write_all(s->real, buf, (size_t)n);
	}
}

/* Recording: the real server's next turn, until it is quiet for 300 ms
 * at the end of a line (3 s if it says nothing), its tag at line starts
 * written "%T"; appended to the seed after a "~~" line. */
static void record_turn(fuzz_run *run, server *s, cm_buf *turn)
{
	char buf[16384];
	cm_buf_clear(turn);
	for (;;) {
		struct pollfd p = {.fd = s->real, .events = POLLIN};
		bool line_end = turn->len > 0 && turn->data[turn->len - 1] == '\n';
		if (s->real < 0 || poll(&p, 1, line_end ? 300 : 3000) <= 0)
			break;
		ssize_t n = read(s->real, buf, sizeof(buf));
		if (n <= 0)
			break;
		size_t tl = strlen(s->tag);
		for (ssize_t i = 0; i < n; i++) {
			bool at_line = turn->len == 0 || turn->data[turn->len - 1] == '\n';
			if (tl > 0 && at_line && (size_t)(n - i) > tl &&
			    memcmp(buf + i, s->tag, tl) == 0 && buf[i + (ssize_t)tl] == ' ') {
				cm_buf_append(turn, "%T", 2);
				i += (ssize_t)tl - 1;
			} else {
				cm_buf_putc(turn, buf[i]);
			}
		}
	}
	if (run->record->len > 2)
		cm_buf_append(run->record, "~~\n", 3);
	cm_buf_append(run->record, turn->data, turn->len);
}

/* The next turn, up to a "~~\n" line or the end; NULL when none is left. */
static const uint8_t *next_turn(fuzz_run *run, size_t *len)
{
	const uint8_t *p = run->p;
	if (p >= run->end)
		return NULL;
	for (const uint8_t *q = p; q + 3 <= run->end; q++) {
		if ((q == p || q[-1] == '\n') && memcmp(q, "~~\n", 3) == 0) {
			*len = (size_t)(q - p);
			run->p = q + 3;
			return p;
		}
	}
	*len = (size_t)(run->end - p);
	run->p = run->end;
	return p;
}

/* ---- the client's side ---- */

/* Lets the client read everything sent so far, and send what it has. */
static void client_pump(rt_wire_client *cl, server *s)
{
	for (int round = 0; round < 64; round++) {
		if (cl->conn != NULL && !cl->closed && imapc_conn_wants_write(cl->conn))
			imapc_conn_on_writable(cl->conn);
		server_drain(s);
		int avail = 0;
		if (cl->conn == NULL || cl->closed ||
		    ioctl(imapc_conn_fd(cl->conn), FIONREAD, &avail) != 0 || avail == 0)
			break;
		imapc_conn_on_readable(cl->conn);
	}
	rt_wire_client_tick(cl, 0);
}

/* Sends one turn, "%T" replaced by the last tag, while the client reads. */
static void server_send(rt_wire_client *cl, server *s, const uint8_t *b, size_t n)
{
	cm_buf out = {0};
	size_t from = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (b[i] == '%' && b[i + 1] == 'T') {
			cm_buf_append(&out, b + from, i - from);
			cm_buf_append(&out, s->tag, strlen(s->tag));
			from = ++i + 1;
		}
	}
	cm_buf_append(&out, b + from, n - from);
	size_t off = 0;
	while (off < out.len && s->fd >= 0 && cl->conn != NULL && !cl->closed) {
		ssize_t k = write(s->fd, out.data + off, out.len - off);
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (k > 0)
			off += (size_t)k;
		client_pump(cl, s);
	}
	cm_buf_free(&out);
}

/* The client's next op: queued (a checkpoint read), a connect, or the
 * workload's choice fitted to the server's capabilities. */
static void client_next(fuzz_run *run, rt_wire_client *cl)
{
	rt_wire *w = &run->w;
	model_op op;
	if (cl->nqueue > 0 && rt_wire_client_usable(cl)) {
		op = cl->queue[0];
		memmove(cl->queue, cl->queue + 1, (cl->nqueue - 1) * sizeof(*cl->queue));
		cl->nqueue--;
	} else if (!rt_wire_client_usable(cl)) {
		model_op_init(&op, MODEL_OP_CONNECT);
	} else {
		rt_workload_next(&w->work, &cl->known, &cl->ch, &op);
		if (!rt_wire_op_fit(&op, run->setup.caps, run->setup.allowed)) {
			model_op_free(&op);
			model_op_init(&op, MODEL_OP_NOOP);
		}
		if (++run->started % AUDIT_EVERY == 0) {
			for (int b = 0; b < w->work.mix.boxes; b++) {
				model_op audit[3];
				rt_workload_audit(&w->work, b, (run->setup.caps & MODEL_CAP_CONDSTORE) != 0,
						  audit);
				for (int k = 0; k < 3; k++)
					rt_wire_client_push(cl, &audit[k]);
			}
		}
	}
	rt_wire_client_start(cl, &op, true);
}

/* ---- set-up and the run ---- */

static unsigned caps_of(uint8_t b)
{
	static const uint32_t bit[] = {IMAPC_CAP_UIDPLUS, IMAPC_CAP_CONDSTORE,
				       IMAPC_CAP_QRESYNC, IMAPC_CAP_MOVE, IMAPC_CAP_ENABLE,
				       IMAPC_CAP_LITERALPLUS, IMAPC_CAP_IMAP4REV2};
	uint32_t m = 0;
	for (size_t i = 0; i < CM_ARRAY_LEN(bit); i++)
		if (b & (1u << i))
			m |= bit[i];
	return rt_wire_model_caps(m);
}

static void run_init(fuzz_run *run, const uint8_t *data, size_t size)
{
	memset(run, 0, sizeof(*run));
	run->p = data + 2;
	run->end = data + size;
	run->o.seed = data[1];
	run->o.box_size = 4; /* small: clients trim (STORE \Deleted, EXPUNGE) */
	rt_wire_setup *s = &run->setup;
	snprintf(s->url.user, sizeof(s->url.user), "ratchet");
	snprintf(s->url.pass, sizeof(s->url.pass), "ratchet");
	snprintf(s->url.display, sizeof(s->url.display), "imap://fuzz@socketpair");
	s->timeout_ms = 3600000; /* never: the turns decide what happens */
	s->caps = caps_of(data[0]);
	s->allowed = ~(cm_flags)0;
	s->nboxes = 2;
	snprintf(s->boxes[0], MODEL_NAME_MAX, "INBOX");
	snprintf(s->boxes[1], MODEL_NAME_MAX, "Archive");
	rt_wire *w = &run->w;
	w->o = &run->o;
	w->setup = s;
	w->users = w->ncl = (data[0] & 0x80) ? 2 : 1;
	w->connect_fd = fuzz_connect;
	w->connect_ctx = run;
	model_checker_options co = {.capabilities = s->caps,
				    .imap4rev2 = (s->caps & MODEL_CAP_IMAP4REV2) != 0,
				    .max_violations = 50};
	w->checker = model_checker_new(&co);
	if (g_history != NULL && (run->hist_file = fopen(g_history, "w")) != NULL) {
		model_history_header h = {.version = 1, .capabilities = s->caps,
					  .clients = w->users};
		snprintf(h.target, sizeof(h.target), "%.127s", s->url.display);
		w->hist = model_history_writer_new(run->hist_file, &h);
	}
	rt_mix mix;
	rt_mix_default(&mix);
	mix.boxes = s->nboxes;
	mix.box_target = run->o.box_size;
	const char *names[RT_MAX_BOXES] = {s->boxes[0], s->boxes[1], s->boxes[2], s->boxes[3]};
	rt_workload_init(&w->work, &mix, s->caps, names, "fz");
	w->work.message_bytes = model_message_bytes;
	w->cl = cm_xcalloc(w->ncl, sizeof(*w->cl));
	for (unsigned i = 0; i < w->ncl; i++) {
		run->srv[i].fd = run->srv[i].real = -1;
		rt_wire_client_init(&w->cl[i], w, i + 1, RT_WIRE_USER);
	}
}

/* Every server closes; what is in flight ends; then the checks. */
static void run_finish(fuzz_run *run)
{
	rt_wire *w = &run->w;
	for (unsigned i = 0; i < w->ncl; i++) {
		server *s = &run->srv[i];
		if (s->fd >= 0)
			shutdown(s->fd, SHUT_WR);
		client_pump(&w->cl[i], s);
		if (w->cl[i].conn != NULL && !w->cl[i].closed)
			imapc_conn_on_readable(w->cl[i].conn); /* the EOF */
		rt_wire_client_tick(&w->cl[i], 0);
		FUZZ_ASSERT(w->cl[i].state == RT_WIRE_IDLE, "WIRE-OP-ENDS",
			    "client %u still busy (state %d) after its server closed", i + 1,
			    (int)w->cl[i].state);
	}
	FUZZ_ASSERT(w->events == 2 * w->ops, "WIRE-OP-ENDS",
		    "%llu events recorded for %llu ops: an op without exactly one completion",
		    (unsigned long long)w->events, (unsigned long long)w->ops);
	model_checker_finish(w->checker);
	if (w->hist != NULL) {
		model_history_writer_finish(w->hist);
		fclose(run->hist_file);
	}
	if (g_verbose) {
		const model_checker_stats *st = model_checker_get_stats(w->checker);
		fprintf(stderr, "fuzz_wire: %llu ops, %llu unknown, %llu errors, %llu warnings\n",
			(unsigned long long)w->ops, (unsigned long long)w->unknown,
			(unsigned long long)st->errors, (unsigned long long)st->warnings);
		size_t nv = 0;
		const model_violation *v = model_checker_violations(w->checker, &nv);
		for (size_t i = 0; i < nv; i++)
			rt_violation_print(&v[i], stderr, false);
	}
	for (unsigned i = 0; i < w->ncl; i++) {
		rt_wire_client_free(&w->cl[i]);
		if (run->srv[i].fd >= 0)
			close(run->srv[i].fd);
		if (run->srv[i].real >= 0)
			close(run->srv[i].real);
	}
	free(w->cl);
	imapc_cmd_free(&w->cmd);
	model_checker_free(w->checker);
}

/* Recording: the seed to its file (the 2 header bytes, then the turns). */
static void record_write(const cm_buf *rec)
{
	FILE *f = fopen(g_rec.file, "wb");
	if (f == NULL || fwrite(rec->data, 1, rec->len, f) != rec->len || fclose(f) != 0) {
		fprintf(stderr, "fuzz_wire: cannot write %s\n", g_rec.file);
		exit(2);
	}
	fprintf(stderr, "fuzz_wire: wrote %s (%zu bytes)\n", g_rec.file, rec->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static fuzz_run run;
	cm_buf rec = {0}, rturn = {0};
	run_init(&run, data, size);
	if (g_rec.file != NULL) {
		run.record = &rec;
		cm_buf_append(&rec, data, 2);
	}
	rt_wire *w = &run.w;
	const uint8_t *turn;
	size_t len = 0;
	for (unsigned t = 0; t < (run.record ? g_rec.turns : MAX_TURNS); t++) {
		rt_wire_client *cl = &w->cl[t % w->ncl];
		server *s = &run.srv[t % w->ncl];
		if (cl->fails >= CONNECT_FAILS)
			break;
		if (cl->state == RT_WIRE_IDLE)
			client_next(&run, cl);
		client_pump(cl, s);
		if (run.record != NULL) {
			record_turn(&run, s, &rturn);
			turn = (const uint8_t *)rturn.data;
			len = rturn.len;
		} else if ((turn = next_turn(&run, &len)) == NULL) {
			break;
		}
		server_send(cl, s, turn, len);
		client_pump(cl, s);
	}
	run_finish(&run);
	if (run.record != NULL)
		record_write(&rec);
	cm_buf_free(&rec);
	cm_buf_free(&rturn);
	return 0;
}
