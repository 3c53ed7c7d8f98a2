/* Events made of bytes, for the differential check of the writer's two
 * encoders (history_emit.h against jansson's hj_event_to_json): shared by
 * test_history_emit (bytes from a seeded PRNG) and fuzz/history_emit.c
 * (bytes from the fuzzer). Every field of every struct is reachable,
 * including what the harness never makes (out-of-range kinds, unnamed flag
 * bits, unnormalised sets, strings filling their array without a NUL), as
 * both encoders must agree on those too: both write, or both refuse. */
#ifndef HISTORY_GEN_H
#define HISTORY_GEN_H

#include "history.h"
#include "history_emit.h"
#include "history_json.h"

#include <stdio.h>
#include <string.h>

typedef struct gen_src {
	const uint8_t *p;
	size_t n, i;
} gen_src;

/* The next byte; 0 once the input is used up. */
static inline uint8_t gen_u8(gen_src *g)
{
	return g->i < g->n ? g->p[g->i++] : 0;
}

static inline uint32_t gen_u32(gen_src *g)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | gen_u8(g);
	return v;
}

/* Edge values most of the time, any 64 bits otherwise. */
static inline uint64_t gen_u64(gen_src *g)
{
	static const uint64_t edges[] = {
		0, 1, 9, 10, 99, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
		(uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX, UINT64_MAX - 1,
		1000000000000000000ULL, 10000000000000000000ULL,
	};
	uint8_t k = gen_u8(g);
	if (k < 2 * CM_ARRAY_LEN(edges))
		return edges[k % CM_ARRAY_LEN(edges)];
	return ((uint64_t)gen_u32(g) << 32) | gen_u32(g);
}

static inline uint32_t gen_num32(gen_src *g)
{
	return (uint32_t)gen_u64(g);
}

/* Pieces that exercise the escaper and the UTF-8 rules: quotes, backslash,
 * slash, controls, DEL, valid 2-, 3- and 4-byte sequences, and invalid
 * ones (a lone continuation, overlongs, a surrogate, above U+10FFFF,
 * bytes that never start one, a sequence cut short). */
static const char *const gen_pieces[] = {
	"\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f", "\x7f", " ",
	"a", "Z", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
	"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
	"\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5", "\xff", "\xe2\x82", "\xf0\x9f",
	"\xc3", "\\u0000", "INBOX", "\xef\xbf\xbd",
	/* Each side of each UTF-8 boundary: the least of each length and the
	 * overlong below it, the surrogates' edges, U+10FFFF and above. */
	"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf",
	"\xed\xbf\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf",
	"\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xe2\x28\xa1", "\xf0\x9f\x98\x28",
};

/* A string field of size bytes: up to size bytes (filling the array
 * without a NUL when they reach it), raw bytes or pieces. */
static inline void gen_str(gen_src *g, char *dst, size_t size)
{
	uint8_t mode = gen_u8(g);
	size_t want = gen_u8(g);
	if (mode & 0x80)
		want = size - (mode & 3); /* at or near the limit */
	want = CM_MIN(want, size);
	memset(dst, 0, size);
	size_t len = 0;
	while (len < want) {
		if (mode & 1) {
			dst[len++] = (char)gen_u8(g);
			continue;
		}
		const char *piece = gen_pieces[gen_u8(g) % CM_ARRAY_LEN(gen_pieces)];
		size_t n = CM_MIN(strlen(piece), want - len);
		memcpy(dst + len, piece, n);
		len += n;
	}
}

/* Ranges as they come, unnormalised: the encoders format what they get. */
static inline void gen_set(gen_src *g, cm_uidset *s)
{
	cm_uidset_clear(s);
	size_t n = gen_u8(g) % 6;
	for (size_t i = 0; i < n; i++) {
		CM_GROW(s->r, s->cap, s->n + 1);
		s->r[s->n].lo = gen_num32(g);
		s->r[s->n].hi = gen_u8(g) & 1 ? s->r[s->n].lo : gen_num32(g);
		s->n++;
	}
}

/* Named flags mostly; now and then a bit without a name (both refuse). */
static inline cm_flags gen_flags(gen_src *g)
{
	cm_flags f = ((cm_flags)gen_u32(g) << 32) | gen_u32(g);
	uint8_t k = gen_u8(g);
	if (k < 64)
		return 0;
	return k == 255 ? f : f & cm_flags_all_known();
}

/* An enum value: mostly in range, sometimes one or more past it. */
static inline unsigned gen_enum(gen_src *g, unsigned count)
{
	uint8_t k = gen_u8(g);
	return k >= 250 ? count + (k - 250) : k % count;
}

static inline void gen_op(gen_src *g, model_op *op)
{
	model_op_init(op, (model_op_kind)gen_enum(g, MODEL_OP_KIND_COUNT));
	uint32_t bits = gen_u32(g);
	op->uid = bits & 1;
	op->readonly = bits & 2;
	op->condstore = bits & 4;
	op->qresync = bits & 8;
	op->silent = bits & 16;
	op->has_unchangedsince = bits & 32;
	op->has_changedsince = bits & 64;
	op->vanished = bits & 128;
	if (bits & 256)
		gen_set(g, &op->set);
	if (bits & 512)
		gen_str(g, op->mailbox, sizeof(op->mailbox));
	if (bits & 1024)
		gen_set(g, &op->q_known);
	op->q_uidvalidity = gen_num32(g);
	op->q_modseq = gen_u64(g);
	op->mode = (model_store_mode)gen_enum(g, 3);
	op->flags = gen_flags(g);
	op->unchangedsince = gen_u64(g);
	op->items = gen_u8(g);
	op->changedsince = gen_u64(g);
	if (bits & 2048)
		gen_str(g, op->msg_id, sizeof(op->msg_id));
	op->body_hash = bits & 4096 ? gen_u64(g) : 0;
	op->size = bits & 8192 ? gen_num32(g) : 0;
	op->caps = gen_u8(g) | (bits & 16384 ? 0x100u : 0);
	op->status_items = gen_u8(g);
	op->fault = (model_fault)(bits & 32768 ? gen_enum(g, MODEL_FAULT_HEAL + 1) : 0);
	op->fault_client = bits & 65536 ? gen_num32(g) : 0;
	op->replica = bits & 131072 ? gen_num32(g) : 0;
	op->peer = bits & 262144 ? gen_num32(g) : 0;
	op->opaque = (bits & 524288) != 0;
}

static inline void gen_code(gen_src *g, model_code *c)
{
	uint8_t bits = gen_u8(g);
	c->kind = (model_code_kind)gen_enum(g, MODEL_CODE_KIND_COUNT);
	c->uidvalidity = bits & 1 ? gen_num32(g) : 0;
	c->value = bits & 2 ? gen_u64(g) : 0;
	if (bits & 4)
		gen_set(g, &c->set);
	if (bits & 8)
		gen_set(g, &c->dst);
	c->flags = bits & 16 ? gen_flags(g) : 0;
	c->star = bits & 32;
	if (bits & 64)
		gen_str(g, c->text, sizeof(c->text));
}

static inline void gen_fetch(gen_src *g, model_fetch *f)
{
	f->has = gen_u8(g);
	f->uid = gen_num32(g);
	f->flags = gen_flags(g);
	f->recent = gen_u8(g) & 1;
	f->modseq = gen_u64(g);
	f->body_hash = gen_u64(g);
	f->size = gen_num32(g);
	f->idate = (int64_t)gen_u64(g);
	if (f->has & MODEL_F_ID)
		gen_str(g, f->id, sizeof(f->id));
	f->duplicate_items = gen_u8(g) & 1;
}

static inline void gen_status(gen_src *g, model_status_data *s)
{
	gen_str(g, s->mailbox, sizeof(s->mailbox));
	s->has = gen_u8(g);
	s->messages = gen_num32(g);
	s->recent = gen_num32(g);
	s->uidnext = gen_num32(g);
	s->uidvalidity = gen_num32(g);
	s->unseen = gen_num32(g);
	s->highestmodseq = gen_u64(g);
}

static inline void gen_untagged(gen_src *g, model_result *r)
{
	model_ut_kind kind = (model_ut_kind)gen_enum(g, MODEL_UT_KIND_COUNT);
	model_untagged *u = model_result_add(r, kind);
	u->n = gen_num32(g);
	switch (kind) {
	case MODEL_UT_VANISHED: case MODEL_UT_SEARCH:
		gen_set(g, &u->set);
		u->earlier = gen_u8(g) & 1;
		u->value = gen_u8(g) & 1 ? gen_u64(g) : 0;
		break;
	case MODEL_UT_FETCH: gen_fetch(g, &u->fetch); break;
	case MODEL_UT_FLAGS: u->flags = gen_flags(g); break;
	case MODEL_UT_CODE: gen_code(g, &u->code); break;
	case MODEL_UT_STATUS: gen_status(g, &u->status); break;
	case MODEL_UT_ENABLED: u->caps = gen_u8(g); break;
	default: break;
	}
}

/* The next event of g into ev (initialised by the caller; freed and
 * initialised again here). */
static inline void gen_event(gen_src *g, model_event *ev)
{
	model_event_free(ev);
	model_event_init(ev);
	ev->type = (model_ev_type)gen_enum(g, MODEL_EV_INFO + 1);
	ev->client = gen_num32(g);
	ev->op_id = gen_u64(g);
	ev->t_ns = gen_u64(g);
	gen_op(g, &ev->op);
	if (gen_u8(g) & 1)
		ev->op.kind = MODEL_OP_FAULT; /* an info event carries its op */
	ev->res.status = (model_reply)gen_enum(g, MODEL_REPLY_UNKNOWN + 1);
	if (gen_u8(g) & 1)
		gen_code(g, &ev->res.code);
	size_t nut = gen_u8(g) % 8;
	for (size_t i = 0; i < nut; i++)
		gen_untagged(g, &ev->res);
	uint8_t texts = gen_u8(g);
	if (texts & 1)
		gen_str(g, ev->res.text, sizeof(ev->res.text));
	if (texts & 2)
		gen_str(g, ev->res.anomaly, sizeof(ev->res.anomaly));
	if (texts & 4)
		gen_str(g, ev->res.protocol, sizeof(ev->res.protocol));
}

/* ---- the two encoders side by side ---- */

/* Encodes ev both ways into a (direct) and b (jansson). 0 when they agree
 * (both wrote the same bytes, or both refused), else -1 with what differs
 * in why. *written_r says whether they wrote. */
static inline int gen_compare(const model_event *ev, cm_buf *a, cm_buf *b,
			      bool *written_r, char *why, size_t whylen)
{
	cm_buf_clear(a);
	cm_buf_clear(b);
	int ra = hj_emit_event(a, ev);
	int rb = hj_json_dump(b, hj_event_to_json(ev));
	*written_r = ra == 0;
	if (ra != rb) {
		snprintf(why, whylen, "direct %s, jansson %s", ra ? "refused" : "wrote",
			 rb ? "refused" : "wrote");
		return -1;
	}
	if (ra != 0 || (a->len == b->len && memcmp(a->data, b->data, a->len) == 0))
		return 0;
	size_t i = 0;
	while (i < a->len && i < b->len && a->data[i] == b->data[i])
		i++;
	size_t from = i > 60 ? i - 60 : 0;
	snprintf(why, whylen, "differ at byte %zu:\n  direct:  %.*s\n  jansson: %.*s", i,
		 (int)CM_MIN(a->len - from, 160), a->data + from,
		 (int)CM_MIN(b->len - from, 160), b->data + from);
	return -1;
}

#endif
