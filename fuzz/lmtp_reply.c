/* Fuzz target: the LMTP reply parser and a connection above it, fed by a
 * hostile server (lmtpc, harness/wire/lmtp/). Nothing may crash or hang,
 * and:
 *
 *  1. The whole buffer and the same bytes fed in chunks (sizes drawn from
 *     the input itself) agree: same status, same replies, same error line.
 *     Every reply is well formed (code 200-599, 1-100 lines, no NUL, the
 *     last line's text the tail of the lines); a failed stream stays dead.
 *  2. A connection (lmtpc_conn) over a socketpair reads the input as the
 *     server's bytes, one line per turn, after the client's output of the
 *     turn is drained: two deliveries (three recipients and a message to
 *     dot-stuff, then, started from inside the first one's last callback,
 *     one recipient and an empty message). Every recipient ends exactly
 *     once, in RCPT order; OK comes with a 2xx, REFUSED with a 4xx/5xx or
 *     no code, UNKNOWN with no code; OK and UNKNOWN only once the message
 *     and its final dot went out byte for byte; every text is printable.
 *     Once the input is spent the server hangs up, and the connection
 *     must close within a bounded number of turns.
 */
#include "fuzz.h"
#include "lmtpc.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- 1. the parser ----------------------------------------------------------------- */
typedef struct collect {
	cm_buf dump;
	uint64_t n;
} collect;

static int on_reply(void *ctx, const lmtpc_reply *r)
{
	collect *c = ctx;
	FUZZ_ASSERT(r->code >= 200 && r->code <= 599, "LMTPC-REPLY", "code %d", r->code);
	FUZZ_ASSERT(r->nlines >= 1 && r->nlines <= LMTPC_LINES_MAX, "LMTPC-REPLY", "%u lines",
		    r->nlines);
	FUZZ_ASSERT(r->text_len <= r->lines_len &&
			    memcmp(r->lines + r->lines_len - r->text_len, r->text, r->text_len) == 0,
		    "LMTPC-REPLY", "the last line's text is not the tail of the lines");
	unsigned nl = 0;
	for (size_t i = 0; i < r->lines_len; i++) {
		FUZZ_ASSERT(r->lines[i] != '\0', "LMTPC-REPLY", "NUL in a reply's text");
		nl += r->lines[i] == '\n';
	}
	FUZZ_ASSERT(nl + 1 == r->nlines, "LMTPC-REPLY", "%u lines joined by %u line ends",
		    r->nlines, nl);
	FUZZ_ASSERT(r->lines_len <= (size_t)LMTPC_LINES_MAX * LMTPC_LINE_MAX, "LMTPC-REPLY",
		    "a reply of %zu bytes", r->lines_len);
	cm_buf_printf(&c->dump, "%d %u ", r->code, r->nlines);
	cm_buf_append(&c->dump, r->lines, r->lines_len);
	cm_buf_putc(&c->dump, '\0');
	c->n++;
	return 0;
}

/* Chunk sizes from a cheap hash of the input: the same input is split the
 * same way every time, yet splits vary (as in imap_response.c). */
static size_t next_chunk(uint64_t *h, size_t left)
{
	*h = *h * 6364136223846793005ULL + 1442695040888963407ULL;
	uint64_t x = *h >> 33;
	size_t n;
	switch (x & 3) {
	case 0: n = 1; break;
	case 1: n = 1 + (size_t)((x >> 2) % 7); break;
	case 2: n = 1 + (size_t)((x >> 2) % 64); break;
	default: n = 1 + (size_t)((x >> 2) % 4096); break;
	}
	return n < left ? n : left;
}

static void check_parse(const uint8_t *data, size_t size)
{
	collect whole = {0}, chunked = {0};
	cm_err e1 = {{0}}, e2 = {{0}};
	lmtpc_parser *p = lmtpc_parser_new();
	int r1 = lmtpc_parser_feed(p, data, size, on_reply, &whole, &e1);
	if (r1 < 0) {
		FUZZ_ASSERT(e1.text[0] != '\0' && strchr(e1.text, '\n') == NULL, "LMTPC-ERROR",
			    "an error that is not one line");
		cm_err again = {{0}};
		FUZZ_ASSERT(lmtpc_parser_feed(p, "250 ok\r\n", 8, on_reply, &whole, &again) < 0 &&
				    strcmp(again.text, e1.text) == 0,
			    "LMTPC-DEAD", "a failed parser accepted more input");
	}
	lmtpc_parser_free(p);

	p = lmtpc_parser_new();
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ size;
	for (size_t i = 0; i < size && i < 16; i++)
		h = h * 31 + data[i];
	int r2 = 0;
	for (size_t off = 0; off < size && r2 == 0;) {
		size_t n = next_chunk(&h, size - off);
		r2 = lmtpc_parser_feed(p, data + off, n, on_reply, &chunked, &e2);
		off += n;
	}
	lmtpc_parser_free(p);
	FUZZ_ASSERT(r1 == r2 && strcmp(e1.text, e2.text) == 0, "LMTPC-SPLIT",
		    "whole: %d \"%s\", chunked: %d \"%s\"", r1, e1.text, r2, e2.text);
	FUZZ_ASSERT(whole.n == chunked.n && whole.dump.len == chunked.dump.len &&
			    (whole.dump.len == 0 ||
			     memcmp(whole.dump.data, chunked.dump.data, whole.dump.len) == 0),
		    "LMTPC-SPLIT", "chunked parse differs: %llu vs %llu replies",
		    (unsigned long long)whole.n, (unsigned long long)chunked.n);
	cm_buf_free(&whole.dump);
	cm_buf_free(&chunked.dump);
}

/* ---- 2. the connection ---------------------------------------------------------------- */
static const char *const RCPT0[3] = {"a@x", "b@x", "c@x"};
static const char *const RCPT1[1] = {"d@x"};
static const char MSG0[] = ".\n..x\nline\r\nend";
/* What follows DATA's line on the wire, whether pipelined or not. */
static const char *const WIRE[2] = {
	"DATA\r\n..\r\n...x\r\nline\r\nend\r\n.\r\n",
	"DATA\r\n.\r\n",
};

typedef struct run {
	lmtpc_conn *c;
	bool verbose;               /* RATCHET_FUZZ_VERBOSE: each outcome on stderr */
	bool started[2];
	unsigned next[2];           /* the next recipient index owed */
	bool acked[2];              /* some OK or UNKNOWN */
} run;

static const unsigned NRCPT[2] = {3, 1};

static void start(run *x, int d)
{
	int rc = d == 0 ? lmtpc_conn_deliver(x->c, "s@x", RCPT0, 3, MSG0, strlen(MSG0), (void *)0)
			: lmtpc_conn_deliver(x->c, "", RCPT1, 1, "", 0, (void *)1);
	FUZZ_ASSERT(rc == 0, "LMTPC-READY", "deliver refused on a ready connection");
	x->started[d] = true;
}

static void on_done(void *ctx, void *user, unsigned idx, const lmtpc_result *r)
{
	run *x = ctx;
	uintptr_t d = (uintptr_t)user;
	FUZZ_ASSERT(d < 2 && x->started[d], "LMTPC-DONE", "a callback for no delivery");
	FUZZ_ASSERT(idx == x->next[d] && idx < NRCPT[d], "LMTPC-DONE",
		    "delivery %u: recipient %u ended, %u expected", (unsigned)d, idx, x->next[d]);
	x->next[d]++;
	if (x->verbose)
		fprintf(stderr, "lmtp_reply: delivery %u recipient %u: %s %d %s\n", (unsigned)d, idx,
			lmtpc_outcome_name(r->outcome), r->code, r->text);
	switch (r->outcome) {
	case LMTPC_OK:
		FUZZ_ASSERT(r->code >= 200 && r->code <= 299, "LMTPC-OUTCOME", "OK with %d", r->code);
		x->acked[d] = true;
		break;
	case LMTPC_REFUSED:
		FUZZ_ASSERT(r->code == 0 || (r->code >= 400 && r->code <= 599), "LMTPC-OUTCOME",
			    "REFUSED with %d", r->code);
		break;
	case LMTPC_UNKNOWN:
		FUZZ_ASSERT(r->code == 0, "LMTPC-OUTCOME", "UNKNOWN with %d", r->code);
		x->acked[d] = true;
		break;
	default:
		FUZZ_FAIL("LMTPC-OUTCOME", "outcome %d", (int)r->outcome);
	}
	size_t len = strnlen(r->text, sizeof(r->text));
	FUZZ_ASSERT(len < sizeof(r->text), "LMTPC-TEXT", "text not terminated");
	for (size_t i = 0; i < len; i++)
		FUZZ_ASSERT(r->text[i] >= 0x20 && r->text[i] < 0x7f, "LMTPC-TEXT",
			    "byte 0x%02x in a result's text", (unsigned char)r->text[i]);
	/* The second delivery starts from inside a callback. */
	if (lmtpc_conn_ready(x->c) && !x->started[1])
		start(x, 1);
}

static bool contains(const cm_buf *b, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= b->len; i++)
		if (memcmp(b->data + i, s, n) == 0)
			return true;
	return false;
}

static void drain(int fd, cm_buf *sent)
{
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (sent->len < (1u << 20))
			cm_buf_append(sent, buf, (size_t)n);
}

/* The next server line (through its LF, or the rest). */
static size_t next_line(const uint8_t *data, size_t size, size_t off)
{
	const uint8_t *nl = memchr(data + off, '\n', size - off);
	return nl ? (size_t)(nl - data) + 1 - off : size - off;
}

static void server_turn(int fd, const uint8_t *data, size_t size, size_t *off, bool *shut)
{
	if (*off < size) {
		size_t n = next_line(data, size, *off);
		ssize_t w = send(fd, data + *off, n, MSG_NOSIGNAL);
		if (w > 0)
			*off += (size_t)w;
	} else if (!*shut) {
		shutdown(fd, SHUT_WR);
		*shut = true;
	}
}

static void check_conn(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	run x = {.verbose = getenv("RATCHET_FUZZ_VERBOSE") != NULL};
	lmtpc_opts o = {.timeout_ms = 60000, .on_done = on_done, .ctx = &x};
	x.c = lmtpc_conn_new(sv[0], &o);
	cm_buf sent = {0};
	size_t off = 0;
	bool shut = false;
	/* Each turn sends a byte at least until the input is spent; then the
	 * hang-up is read within a few turns. */
	size_t turns = size + 16;
	for (size_t t = 0; t < turns && !lmtpc_conn_closed(x.c); t++) {
		if (lmtpc_conn_ready(x.c) && !x.started[0])
			start(&x, 0);
		else if (lmtpc_conn_ready(x.c) && !x.started[1])
			start(&x, 1);
		lmtpc_conn_handle(x.c, POLLOUT);
		drain(sv[1], &sent);
		server_turn(sv[1], data, size, &off, &shut);
		lmtpc_conn_handle(x.c, POLLIN);
	}
	FUZZ_ASSERT(lmtpc_conn_closed(x.c), "LMTPC-HANG",
		    "the server hung up %zu turns ago and the connection is still open", turns);
	FUZZ_ASSERT(lmtpc_conn_close_reason(x.c) != NULL && lmtpc_conn_fd(x.c) == -1,
		    "LMTPC-CLOSED", "closed without a reason or with an fd");
	if (x.verbose)
		fprintf(stderr, "lmtp_reply: closed: %s\n", lmtpc_conn_close_reason(x.c));
	drain(sv[1], &sent);
	lmtpc_conn_check_timeouts(x.c, cm_now_ns() + 3600000000000ULL);
	lmtpc_conn_free(x.c);
	for (int d = 0; d < 2; d++) {
		FUZZ_ASSERT(!x.started[d] || x.next[d] == NRCPT[d], "LMTPC-DONE",
			    "delivery %d: %u of %u recipients ended", d, x.next[d], NRCPT[d]);
		FUZZ_ASSERT(!x.acked[d] || contains(&sent, WIRE[d]), "LMTPC-OUTCOME",
			    "delivery %d acknowledged or unknown, its message never sent whole", d);
	}
	cm_buf_free(&sent);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_conn(data, size);
	return 0;
}
