/* The LMTP connection's transactions against a scripted fake server
 * (fake_server.h): greeting and LHLO with and without PIPELINING, one and
 * three recipients with mixed replies, refused RCPT and MAIL, the message
 * on the wire byte for byte. The failures are in test_failures.c. */
#include "fake_server.h"

static void test_one_step_by_step(void)
{
	static const step steps[] = {
		GREET, PLAIN_LHLO,
		{'E', "MAIL FROM:<a@x>\r\n"}, {'S', "250 2.1.0 Sender OK\r\n"},
		{'E', "RCPT TO:<b@x>\r\n"}, {'S', "250 2.1.5 Recipient OK\r\n"},
		{'E', "DATA\r\n"}, {'S', "354 End data with <CR><LF>.<CR><LF>\r\n"},
		{'E', "Subject: hi\r\n\r\nbody\r\n.\r\n"},
		{'S', "250-2.0.0 <b@x> first line\r\n250 2.0.0 <b@x> Saved\r\n"},
		QUIT, {0, NULL},
	};
	server s;
	rec x;
	int u;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	CHECK(!lmtpc_conn_ready(c));
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), &u), -1);
	CHECK_EQ(lmtpc_conn_timeout_ms(c, cm_now_ns()) > 9000, 1);  /* the 10 s default */
	drive(c, &x, is_ready, 0);
	CHECK(!lmtpc_conn_pipelining(c));
	CHECK_EQ(lmtpc_conn_timeout_ms(c, cm_now_ns()), -1);        /* idle: no deadline */
	CHECK_EQ(lmtpc_conn_poll_events(c), POLLIN);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), &u), 0);
	CHECK(!lmtpc_conn_ready(c));
	CHECK_EQ(lmtpc_conn_poll_events(c), POLLIN | POLLOUT);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), &u), -1); /* busy */
	drive(c, &x, has_done, 1);
	CHECK_EQ(x.n, 1);
	check_result(&x, 0, 0, LMTPC_OK, 250, "2.0.0 <b@x> first line 2.0.0 <b@x> Saved");
	CHECK(x.user[0] == &u);
	CHECK(x.ready[0]);
	CHECK(lmtpc_conn_ready(c));
	lmtpc_conn_quit(c);
	CHECK(!lmtpc_conn_ready(c));
	drive(c, &x, is_closed, 0);
	CHECK_STR(lmtpc_conn_close_reason(c), "closed by client (QUIT)");
	CHECK_EQ(lmtpc_conn_fd(c), -1);
	CHECK_EQ(x.n, 1);   /* no callback for an idle connection */
	finish(&s, c);
}

/* Step by step, recipient 2 refused at RCPT: its callback waits for
 * recipient 1's, which comes after DATA. */
static void test_three_step_by_step(void)
{
	static const step steps[] = {
		GREET, PLAIN_LHLO,
		{'E', "MAIL FROM:<>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<a@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<b@x>\r\n"}, {'S', "550 5.1.1 <b@x> User doesn't exist\r\n"},
		{'E', "RCPT TO:<c@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "DATA\r\n"}, {'S', "354 go\r\n"},
		{'E', "Subject: hi\r\n\r\nbody\r\n.\r\n"},
		{'S', "250 2.0.0 <a@x> Saved\r\n"},
		{'S', "452 4.2.2 <c@x> Mailbox is full\r\n"},
		QUIT, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 3);
	check_result(&x, 0, 0, LMTPC_OK, 250, "2.0.0 <a@x> Saved");
	check_result(&x, 1, 1, LMTPC_REFUSED, 550, "5.1.1 <b@x> User doesn't exist");
	check_result(&x, 2, 2, LMTPC_REFUSED, 452, "4.2.2 <c@x> Mailbox is full");
	CHECK(!x.ready[0] && !x.ready[1] && x.ready[2]);
	finish(&s, c);
}

/* PIPELINING: MAIL, RCPTs and DATA in one write; then, from the last
 * callback, the next delivery, whose only recipient is refused: DATA's
 * refusal is read, then RSET. */
static void test_three_pipelined(void)
{
	static const step steps[] = {
		GREET, PIPE_LHLO,
		{'E', "MAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n"},
		{'S', "250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n"
		      "354 go\r\n"},
		{'E', "Subject: hi\r\n\r\nbody\r\n.\r\n"},
		{'S', "250 2.0.0 b saved\r\n"},
		{'S', "451 4.3.0 c temporary failure\r\n"},
		{'E', "MAIL FROM:<>\r\nRCPT TO:<z@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n550 5.1.1 no z\r\n554 5.5.1 No valid recipients\r\n"},
		{'E', "RSET\r\n"}, {'S', "250 2.0.0 OK\r\n"},
		QUIT, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK(lmtpc_conn_pipelining(c));
	x.again_rcpt = "z@x";
	CHECK_EQ(lmtpc_conn_deliver(c, "s@x", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 4);
	check_result(&x, 0, 0, LMTPC_REFUSED, 550, "5.1.1 no such user");
	check_result(&x, 1, 1, LMTPC_OK, 250, "2.0.0 b saved");
	check_result(&x, 2, 2, LMTPC_REFUSED, 451, "4.3.0 c temporary failure");
	CHECK(!x.ready[0] && !x.ready[1] && x.ready[2]);
	CHECK_EQ(x.again_rc, 0);
	check_result(&x, 3, 0, LMTPC_REFUSED, 550, "5.1.1 no z");
	CHECK(!lmtpc_conn_ready(c));   /* the RSET is owed */
	drive(c, &x, is_ready, 0);
	finish(&s, c);
}

static void test_refused_rcpt(void)
{
	static const step steps[] = {
		GREET, PLAIN_LHLO,
		{'E', "MAIL FROM:<a@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<b@x>\r\n"}, {'S', "550 5.1.1 unknown\r\n"},
		{'E', "RSET\r\n"}, {'S', "250 ok\r\n"},
		QUIT, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 1);
	check_result(&x, 0, 0, LMTPC_REFUSED, 550, "5.1.1 unknown");
	CHECK(!x.ready[0]);
	drive(c, &x, is_ready, 0);
	finish(&s, c);
}

/* MAIL refused: every recipient at once; no RSET (no transaction began).
 * Pipelined, the RCPTs' and DATA's replies are still read first. */
static void test_refused_mail(void)
{
	static const step plain[] = {
		GREET, PLAIN_LHLO,
		{'E', "MAIL FROM:<a@x>\r\n"}, {'S', "451 4.3.0 try later\r\n"},
		QUIT, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, plain, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 3);
	for (unsigned i = 0; i < 3; i++)
		check_result(&x, i, i, LMTPC_REFUSED, 451, "4.3.0 try later");
	CHECK(x.ready[2]);
	finish(&s, c);

	static const step piped[] = {
		GREET, PIPE_LHLO,
		{'E', "MAIL FROM:<a@x>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n"},
		{'S', "550 5.7.1 sender rejected\r\n"},
		{'S', "503 5.5.1 MAIL needed first\r\n250 ok anyway\r\n503 5.5.1 MAIL needed first\r\n"
		      "503 5.5.1 MAIL needed first\r\n"},
		QUIT, {0, NULL},
	};
	c = start(&s, piped, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 3);
	for (unsigned i = 0; i < 3; i++)
		check_result(&x, i, i, LMTPC_REFUSED, 550, "5.7.1 sender rejected");
	drive(c, &x, is_ready, 0);
	finish(&s, c);
}

/* The message on the wire: lines starting with '.' doubled, bare LF as
 * CRLF, a final CRLF added; an empty message is no line at all. */
static void stuffing_case(const char *msg, size_t len, const char *wire)
{
	step steps[] = {
		GREET, PIPE_LHLO,
		{'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n250 ok\r\n354 go\r\n"},
		{'E', wire}, {'S', "250 ok\r\n"},
		QUIT, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, msg, len, NULL), 0);
	drive(c, &x, has_done, 1);
	CHECK_EQ(x.r[0].outcome, LMTPC_OK);
	finish(&s, c);
}

static void test_dot_stuffing(void)
{
	static const char m1[] = ".\n..x\nbare LF\r\n.crlf\r\nend";
	stuffing_case(m1, strlen(m1), "..\r\n...x\r\nbare LF\r\n..crlf\r\nend\r\n.\r\n");
	static const char m2[] = "a\n\n.\n";
	stuffing_case(m2, strlen(m2), "a\r\n\r\n..\r\n.\r\n");
	stuffing_case("", 0, ".\r\n");
	stuffing_case(".", 1, "..\r\n.\r\n");
	stuffing_case("x\r", 2, "x\r\r\n.\r\n");
	/* 8-bit bytes and a bare CR inside a line go as they are. */
	stuffing_case("\xc3\xa9t\xc3\xa9 a\rb\n", 10, "\xc3\xa9t\xc3\xa9 a\rb\r\n.\r\n");
}

int main(void)
{
	RUN(test_one_step_by_step);
	RUN(test_three_step_by_step);
	RUN(test_three_pipelined);
	RUN(test_refused_rcpt);
	RUN(test_refused_mail);
	RUN(test_dot_stuffing);
	TEST_EXIT();
}
