/* The checker's catalogue and the findings it takes from outside: every
 * invariant ID is found by name, a store anomaly and a malformed response
 * are reported. */
#include "checker_test.h"

static void t_anomaly(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r = ok();
	snprintf(r.anomaly, sizeof(r.anomaly), "UID 3 listed but its file is missing");
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_STORE_LOCK_FREE_READ), 1);
	hb_free(&h);
}

/* Issue 10 (3): a malformed response is a finding, not only an op of
 * unknown outcome. */
static void t_response_syntax(void)
{
	hb h;
	hb_init(&h, 0);
	connect(&h, 1);
	model_op op;
	model_op_init(&op, MODEL_OP_NOOP);
	model_result r;
	model_result_init(&r);
	r.status = MODEL_REPLY_UNKNOWN;
	snprintf(r.text, sizeof(r.text), "protocol error: NUL byte in a line");
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_RESPONSE_SYNTAX), 0); /* a lost reply alone is not */
	model_result_init(&r);
	r.status = MODEL_REPLY_UNKNOWN;
	snprintf(r.protocol, sizeof(r.protocol), "imapc: NUL byte in a line; the response "
		 "began \"* OK a\\x00b\"");
	hb_done(&h, 1, hb_invoke(&h, 1, &op), &r);
	CHECK_EQ(count(&h, MODEL_INV_RESPONSE_SYNTAX), 1);
	size_t n;
	const model_violation *v = model_checker_violations(h.c, &n);
	REQUIRE(n == 1);
	CHECK_EQ(v->severity, MODEL_SEV_ERROR);
	CHECK(strstr(v->detail, "the response began \"* OK a\\x00b\"") != NULL);
	CHECK_EQ(v->client, 1);
	model_op_free(&op);
	hb_free(&h);
}

static void t_catalogue(void)
{
	for (int i = 0; i < MODEL_INV_COUNT; i++) {
		const model_inv_info *info = model_inv_get((model_inv)i);
		CHECK(model_inv_find(info->id) == info);
		CHECK(info->section >= 'A' && info->section <= 'J');
	}
	CHECK(model_inv_find("NOPE") == NULL);
}

int main(void)
{
	RUN(t_catalogue);
	RUN(t_anomaly);
	RUN(t_response_syntax);
	TEST_EXIT();
}
