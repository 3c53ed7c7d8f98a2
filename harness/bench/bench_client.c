/* The IMAP client's parse throughput on typical traffic: mostly flag
 * FETCHes with a few EXISTS/EXPUNGE and tagged replies, fed in 16 KiB
 * socket-sized chunks: imapc.parse, responses/s. */
#include "bench.h"
#include "imapc.h"

#include <stdio.h>
#include <stdlib.h>

static int count_cb(void *ctx, const imapc_response *r)
{
	uint64_t *n = ctx;
	*n += r->fetch.uid != 0 || r->type != IMAPC_T_FETCH;
	return 0;
}

int rt_bench_client(rt_bench *b)
{
	if (!rt_bench_wanted(b, "imapc.parse"))
		return 0;
	double seconds = b->quick ? 0.2 : 1.0;
	cm_buf in = {0};
	size_t per_round = 0;
	for (unsigned i = 1; i <= 2000; i++) {
		if (i % 50 == 0)
			cm_buf_printf(&in, "* %u EXISTS\r\n", i);
		else if (i % 97 == 0)
			cm_buf_printf(&in, "a%04u OK Store completed (0.001 + 0.000 secs).\r\n", i);
		else
			cm_buf_printf(&in, "* %u FETCH (UID %u MODSEQ (%u) FLAGS (\\Seen $Junk))\r\n",
				      i, i + 333, i * 7 + 6789);
		per_round++;
	}
	imapc_parser *p = imapc_parser_new(NULL);
	uint64_t n = 0, rounds = 0;
	uint64_t t0 = cm_now_ns(), budget = (uint64_t)(seconds * 1e9);
	do {
		for (size_t off = 0; off < in.len; off += 16384) {
			size_t len = CM_MIN(16384, in.len - off);
			if (imapc_parser_feed(p, in.data + off, len, count_cb, &n) < 0) {
				cm_error("bench: imapc.parse: %s", imapc_parser_error(p));
				return 1;
			}
		}
		rounds++;
	} while (cm_now_ns() - t0 < budget);
	double dt = (double)(cm_now_ns() - t0) / 1e9;
	if (n != rounds * per_round) {
		cm_error("bench: imapc.parse: parsed %llu of %llu",
			 (unsigned long long)n, (unsigned long long)(rounds * per_round));
		return 1;
	}
	rt_bench_add(b, "imapc.parse", "responses/s", (double)n / dt);
	imapc_parser_free(p);
	cm_buf_free(&in);
	return 0;
}
