/* Fuzz target: the history writer's two encoders on the same events. The
 * input is read as events (model/history/tests/history_gen.h: every field
 * of every struct, any value, including what the harness never makes),
 * each encoded by the direct encoder the writer uses (history_emit.h) and
 * by jansson's (hj_event_to_json, the reference), and then:
 *
 *  1. Both write the same bytes, or both refuse the event.
 *  2. A header made of the input is written alike too.
 *
 * Histories replay byte-identically only while 1 holds. */
#include "fuzz.h"
#include "history_gen.h"

#include <string.h>

/* Events per input: the input runs out long before, as a rule. */
#define MAX_EVENTS 64

static cm_buf g_a, g_b;

static void check_header(gen_src *g)
{
	model_history_header h = {.version = 1};
	h.seed = gen_u64(g);
	h.capabilities = gen_u32(g);
	h.clients = gen_u32(g);
	gen_str(g, h.target, sizeof(h.target));
	gen_str(g, h.mutant, sizeof(h.mutant));
	cm_buf_clear(&g_a);
	cm_buf_clear(&g_b);
	int ra = hj_emit_header(&g_a, &h);
	int rb = hj_json_dump(&g_b, hj_header_to_json(&h));
	FUZZ_ASSERT(ra == rb && (ra != 0 || strcmp(g_a.data, g_b.data) == 0),
		    "HISTORY-EMIT-HEADER", "direct %d \"%.300s\", jansson %d \"%.300s\"", ra,
		    g_a.data ? g_a.data : "", rb, g_b.data ? g_b.data : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gen_src g = {data, size, 0};
	check_header(&g);
	model_event ev;
	model_event_init(&ev);
	for (int i = 0; i < MAX_EVENTS && g.i < g.n; i++) {
		gen_event(&g, &ev);
		char why[512];
		bool written;
		FUZZ_ASSERT(gen_compare(&ev, &g_a, &g_b, &written, why, sizeof(why)) == 0,
			    "HISTORY-EMIT", "event %d: %s", i, why);
	}
	model_event_free(&ev);
	return 0;
}
