/* The LMTP connection when things go wrong (fake_server.h): the server
 * closing before DATA (REFUSED), after the final dot (UNKNOWN) and while
 * the message is being written (REFUSED: the dot never left); timeouts;
 * garbage and out-of-place replies; a refused greeting or LHLO; the client
 * freeing a connection with a delivery in flight; invalid requests. */
#include "fake_server.h"

/* The server hangs up after reading a RCPT: nothing can be delivered. */
static void test_close_before_data(void)
{
	static const step steps[] = {
		GREET, PLAIN_LHLO,
		{'E', "MAIL FROM:<a@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<a@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<b@x>\r\n"}, {'C', NULL}, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 3);
	for (unsigned i = 0; i < 3; i++)
		check_result(&x, i, i, LMTPC_REFUSED, 0,
			     "closed before DATA: connection closed by server");
	CHECK(lmtpc_conn_closed(c));
	CHECK_STR(lmtpc_conn_close_reason(c), "connection closed by server");
	finish(&s, c);
}

/* After the final dot: one recipient answered, the other unknown. A
 * reply cut short is said so. */
static void test_close_mid_data(void)
{
	static const step steps[] = {
		GREET, PIPE_LHLO,
		{'E', "MAIL FROM:<a@x>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"},
		{'E', "Subject: hi\r\n\r\nbody\r\n.\r\n"},
		{'S', "250 2.0.0 a saved\r\n250-2.0.0 c"}, {'C', NULL}, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 3);
	check_result(&x, 0, 0, LMTPC_OK, 250, "2.0.0 a saved");
	check_result(&x, 1, 1, LMTPC_REFUSED, 550, "no");
	check_result(&x, 2, 2, LMTPC_UNKNOWN, 0,
		     "connection closed by server (mid-reply, 11 bytes pending)");
	finish(&s, c);
}

/* 354 came but the server reads nothing of a message larger than the
 * socket's buffers, then hangs up or says nothing: the final dot was
 * never handed to send(), so the message is surely not delivered. */
static void big_message_case(const step *steps, uint32_t timeout_ms, const char *text_prefix)
{
	size_t len = 8u << 20;
	char *big = malloc(len);
	memset(big, 'm', len);
	for (size_t i = 999; i < len; i += 1000)
		big[i] = '\n';
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, timeout_ms);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, big, len, NULL), 0);
	free(big);
	drive(c, &x, has_done, 1);
	CHECK_EQ(x.r[0].outcome, LMTPC_REFUSED);
	CHECK_EQ(x.r[0].code, 0);
	CHECK(strncmp(x.r[0].text, text_prefix, strlen(text_prefix)) == 0);
	if (strncmp(x.r[0].text, text_prefix, strlen(text_prefix)) != 0)
		fprintf(stderr, "  text: %s\n", x.r[0].text);
	finish(&s, c);
}

static void test_close_before_final_dot(void)
{
	static const step closes[] = {
		GREET, PIPE_LHLO,
		{'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n250 ok\r\n354 go\r\n"}, {'C', NULL}, {0, NULL},
	};
	/* A write into a closed socket (EPIPE), or the close read first. */
	big_message_case(closes, 0, "closed before the final dot: ");
	static const step stalls[] = {
		GREET, PIPE_LHLO,
		{'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n250 ok\r\n354 go\r\n"}, {'W', NULL}, {0, NULL},
	};
	big_message_case(stalls, 250, "closed before the final dot: timeout: the server read "
			 "nothing for 250 ms (");
}

/* Tiny timeouts and a server that never answers: the outcome, not the
 * time taken, is what is checked. */
static void test_timeouts(void)
{
	static const step mute[] = {{'H', NULL}, {0, NULL}};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, mute, &x, 50);
	drive(c, &x, is_closed, 0);
	CHECK_STR(lmtpc_conn_close_reason(c), "timeout: no greeting within 50 ms");
	finish(&s, c);

	static const step at_mail[] = {
		GREET, PLAIN_LHLO, {'E', "MAIL FROM:<a@x>\r\n"}, {'H', NULL}, {0, NULL},
	};
	c = start(&s, at_mail, &x, 250);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 1);
	check_result(&x, 0, 0, LMTPC_REFUSED, 0,
		     "closed before DATA: timeout: no reply to MAIL FROM within 250 ms");
	finish(&s, c);

	static const step after_dot[] = {
		GREET, PLAIN_LHLO,
		{'E', "MAIL FROM:<a@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<a@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<b@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "RCPT TO:<c@x>\r\n"}, {'S', "250 ok\r\n"},
		{'E', "DATA\r\n"}, {'S', "354 go\r\n"},
		{'E', "Subject: hi\r\n\r\nbody\r\n.\r\n"}, {'S', "250 2.0.0 a saved\r\n"},
		{'H', NULL}, {0, NULL},
	};
	c = start(&s, after_dot, &x, 250);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", THREE, 3, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 3);
	check_result(&x, 0, 0, LMTPC_OK, 250, "2.0.0 a saved");
	check_result(&x, 1, 1, LMTPC_UNKNOWN, 0,
		     "timeout: no reply after the final dot (2 of 3) within 250 ms");
	check_result(&x, 2, 2, LMTPC_UNKNOWN, 0,
		     "timeout: no reply after the final dot (2 of 3) within 250 ms");
	finish(&s, c);
}

/* One delivery of ONE against steps; checks its one result. */
static void one_case(const step *steps, lmtpc_outcome o, int code, const char *text)
{
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), NULL), 0);
	drive(c, &x, has_done, 1);
	check_result(&x, 0, 0, o, code, text);
	CHECK(lmtpc_conn_closed(c));
	finish(&s, c);
}

#define PIPED_TO_354 \
	GREET, PIPE_LHLO, {'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"}, \
	{'S', "250 ok\r\n250 ok\r\n354 go\r\n"}

static void test_garbage(void)
{
	static const step after_dot[] = {
		PIPED_TO_354, {'E', "Subject: hi\r\n\r\nbody\r\n.\r\n"},
		{'S', "hello there\r\n"}, {'H', NULL}, {0, NULL},
	};
	one_case(after_dot, LMTPC_UNKNOWN, 0, "protocol error: lmtpc: reply line 8 (byte 108): "
		 "code not 3 digits 2xx-5xx: \"hello there\\r\"");
	static const step before_data[] = {
		GREET, PIPE_LHLO, {'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n25\x1b[2J\r\n"}, {'H', NULL}, {0, NULL},
	};
	one_case(before_data, LMTPC_REFUSED, 0, "closed before DATA: protocol error: lmtpc: reply "
		 "line 6 (byte 92): code not 3 digits 2xx-5xx: \"25\\x1b[2J\\r\"");
	static const step mail_354[] = {
		GREET, PLAIN_LHLO, {'E', "MAIL FROM:<a@x>\r\n"}, {'S', "354 what\r\n"},
		{'H', NULL}, {0, NULL},
	};
	one_case(mail_354, LMTPC_REFUSED, 0,
		 "closed before DATA: protocol error: 354 what as reply to MAIL FROM");
	static const step data_250[] = {
		GREET, PIPE_LHLO, {'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n250 ok\r\n250 done already\r\n"}, {'H', NULL}, {0, NULL},
	};
	one_case(data_250, LMTPC_REFUSED, 0,
		 "closed before DATA: protocol error: 250 done already as reply to DATA");
	/* Acknowledged before the message could have arrived. */
	static const step early[] = {
		GREET, PIPE_LHLO, {'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n250 ok\r\n354 go\r\n250 2.0.0 saved\r\n"}, {'H', NULL}, {0, NULL},
	};
	one_case(early, LMTPC_REFUSED, 0, "closed before the final dot: protocol error: "
		 "250 2.0.0 saved before the end of the message");
	/* No recipient accepted, yet DATA gets 354. */
	static const step lone_354[] = {
		GREET, PIPE_LHLO, {'E', "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"},
		{'S', "250 ok\r\n550 no\r\n354 go\r\n"}, {'H', NULL}, {0, NULL},
	};
	one_case(lone_354, LMTPC_REFUSED, 550, "no");
	/* A reply while idle. */
	static const step idle[] = {
		GREET, PLAIN_LHLO, {'S', "421 4.3.2 shutting down\r\n"}, {'H', NULL}, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, idle, &x, 0);
	drive(c, &x, is_closed, 0);
	CHECK_STR(lmtpc_conn_close_reason(c),
		  "protocol error: reply while idle: 421 4.3.2 shutting down");
	CHECK_EQ(x.n, 0);
	finish(&s, c);
}

static void test_greeting_and_lhlo_refused(void)
{
	static const step greet[] = {{'S', "554 5.3.2 go away\r\n"}, {'H', NULL}, {0, NULL}};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, greet, &x, 0);
	drive(c, &x, is_closed, 0);
	CHECK_STR(lmtpc_conn_close_reason(c), "greeting refused: 554 5.3.2 go away");
	finish(&s, c);
	static const step lhlo[] = {
		GREET, {'S', "500 5.5.1 unknown command\r\n"}, {'H', NULL}, {0, NULL},
	};
	c = start(&s, lhlo, &x, 0);
	drive(c, &x, is_closed, 0);
	CHECK_STR(lmtpc_conn_close_reason(c), "LHLO refused: 500 5.5.1 unknown command");
	finish(&s, c);
	static const step smtp[] = {
		{'S', "250 not a greeting\r\n"}, {'H', NULL}, {0, NULL},
	};
	c = start(&s, smtp, &x, 0);
	drive(c, &x, is_closed, 0);
	CHECK_STR(lmtpc_conn_close_reason(c),
		  "protocol error: greeting 250 not a greeting, expected 220");
	finish(&s, c);
}

static void test_free_and_bad_requests(void)
{
	static const step steps[] = {
		GREET, PLAIN_LHLO, {'E', "MAIL FROM:<a@x>\r\n"}, {'H', NULL}, {0, NULL},
	};
	server s;
	rec x;
	lmtpc_conn *c = start(&s, steps, &x, 0);
	drive(c, &x, is_ready, 0);
	const char *bad[1] = {"b@x\r\nDATA"};
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", bad, 1, MSG, strlen(MSG), NULL), -1);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x\n", ONE, 1, MSG, strlen(MSG), NULL), -1);
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 0, MSG, strlen(MSG), NULL), -1);
	const char *many[LMTPC_RCPT_MAX + 1];
	for (unsigned i = 0; i <= LMTPC_RCPT_MAX; i++)
		many[i] = "m@x";
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", many, LMTPC_RCPT_MAX + 1, MSG, strlen(MSG), NULL), -1);
	CHECK(lmtpc_conn_ready(c));
	CHECK_EQ(lmtpc_conn_deliver(c, "a@x", ONE, 1, MSG, strlen(MSG), NULL), 0);
	uint64_t end = cm_now_ns() + 100000000ULL;
	while (cm_now_ns() < end)
		lmtpc_conn_handle(c, POLLIN | POLLOUT);
	CHECK_EQ(x.n, 0);
	lmtpc_conn_free(c);   /* the callback runs from inside free */
	check_result(&x, 0, 0, LMTPC_REFUSED, 0, "closed before DATA: closed by client");
	pthread_join(s.th, NULL);
	CHECK_STR(s.failure, "");
	CHECK_STR(lmtpc_outcome_name(LMTPC_UNKNOWN), "unknown");
}

int main(void)
{
	RUN(test_close_before_data);
	RUN(test_close_mid_data);
	RUN(test_close_before_final_dot);
	RUN(test_timeouts);
	RUN(test_garbage);
	RUN(test_greeting_and_lhlo_refused);
	RUN(test_free_and_bad_requests);
	TEST_EXIT();
}
