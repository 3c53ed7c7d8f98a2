/* libFuzzer target: the whole buffer through imapc_parse_all, then the
 * same bytes in two chunks; both must agree on success. Small limits make
 * the limit paths reachable. */
#include "imapc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cb(void *ctx, const imapc_response *r)
{
	cm_buf *b = ctx;
	imapc_response_dump(r, b);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	imapc_limits lim = {.max_line = 4096, .max_literal = 4096,
			    .max_response = 65536, .max_depth = 32,
			    .max_items = 4096, .max_literals = 16};
	cm_buf a = {0}, b = {0};
	imapc_error err;
	bool ok = imapc_parse_all(data, size, &lim, cb, &a, &err);
	imapc_parser *p = imapc_parser_new(&lim);
	size_t cut = size ? data[0] % (size + 1) : 0;
	int rc = imapc_parser_feed(p, data, cut, cb, &b);
	if (rc == 0)
		rc = imapc_parser_feed(p, data + cut, size - cut, cb, &b);
	if (rc == 0 && imapc_parser_pending(p) > 0)
		rc = -1;
	if (ok != (rc == 0) || (ok && (a.len != b.len ||
				       (a.len && memcmp(a.data, b.data, a.len) != 0))))
		abort();
	imapc_parser_free(p);
	cm_buf_free(&a);
	cm_buf_free(&b);
	return 0;
}
