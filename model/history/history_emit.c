/* The history writer's direct encoder (history_emit.h): values, the header
 * and the event around op and reply (history_emit_op.c,
 * history_emit_result.c).
 *
 * Why not jansson, as before: building a DOM per event (an allocation per
 * object, array, string and number, then a dump through a callback) cost
 * more than simulating the event. The jansson encoder (hj_*_to_json) stays
 * in the tree as the reference this one is checked against, byte for byte.
 * The UTF-8 rules are written again here rather than shared with
 * history_json.c, so that the check compares two codings, not one. */
#include "history_emit.h"
#include "history_json.h" /* hj_cap_names, hj_utf8_seq (as hj_str) */

#include <assert.h>
#include <stdint.h>

void hj_emit_close(hj_emit *e, char sep, char close)
{
	char *p = hj_emit_room(e, 2);
	size_t n = 0;
	if (sep != ',')
		p[n++] = sep; /* nothing was put in: "{}" or "[]" */
	p[n++] = close;
	p[n] = '\0';
	e->b->len += n;
}

/* ---- numbers: what jansson's "%lld" gives ---- */

/* "00" to "99": two digits per division, as most numbers (times, ids,
 * mod-sequences) have ten or more. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Writes v's decimal digits at p; returns the end. */
static char *put_digits(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = sizeof(tmp);
	while (v >= 100) {
		size_t pair = (size_t)(v % 100) * 2;
		v /= 100;
		n -= 2;
		memcpy(tmp + n, digit_pairs + pair, 2);
	}
	if (v >= 10) {
		n -= 2;
		memcpy(tmp + n, digit_pairs + v * 2, 2);
	} else {
		tmp[--n] = (char)('0' + v);
	}
	memcpy(p, tmp + n, sizeof(tmp) - n);
	return p + (sizeof(tmp) - n);
}

void hj_emit_u32(hj_emit *e, uint32_t v)
{
	char *p = hj_emit_room(e, 10);
	char *end = put_digits(p, v);
	*end = '\0';
	e->b->len += (size_t)(end - p);
}

void hj_emit_u64(hj_emit *e, uint64_t v)
{
	/* 2^63-1 is the largest JSON integer jansson holds; above it, a string. */
	bool quoted = v > INT64_MAX;
	char *p = hj_emit_room(e, 22), *end = p;
	if (quoted)
		*end++ = '"';
	end = put_digits(end, v);
	if (quoted)
		*end++ = '"';
	*end = '\0';
	e->b->len += (size_t)(end - p);
}

void hj_emit_i64(hj_emit *e, int64_t v)
{
	char *p = hj_emit_room(e, 20), *end = p;
	uint64_t mag = (uint64_t)v;
	if (v < 0) {
		*end++ = '-';
		mag = 0 - mag; /* INT64_MIN too: unsigned negation is defined */
	}
	end = put_digits(end, mag);
	*end = '\0';
	e->b->len += (size_t)(end - p);
}

void hj_emit_true(hj_emit *e)
{
	hj_emit_raw(e, "true", 4);
}

void hj_emit_hex64(hj_emit *e, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char *p = hj_emit_room(e, 18);
	p[0] = '"';
	for (int i = 0; i < 16; i++)
		p[1 + i] = hex[(v >> (60 - 4 * i)) & 0xf];
	p[17] = '"';
	p[18] = '\0';
	e->b->len += 18;
}

/* ---- strings ---- */

/* jansson's escape of an ASCII byte that needs one (a quote, a backslash,
 * a control character) at p; returns the end. Uppercase hex, as its
 * "\\u%04X"; '/' and DEL are not escaped, nor is anything non-ASCII. */
static char *put_escape(char *p, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	*p++ = '\\';
	switch (c) {
	case '"': *p++ = '"'; break;
	case '\\': *p++ = '\\'; break;
	case '\b': *p++ = 'b'; break;
	case '\f': *p++ = 'f'; break;
	case '\n': *p++ = 'n'; break;
	case '\r': *p++ = 'r'; break;
	case '\t': *p++ = 't'; break;
	default:
		assert(c < 0x20);
		memcpy(p, "u00", 3);
		p[3] = hex[c >> 4];
		p[4] = hex[c & 0xf];
		p += 5;
		break;
	}
	return p;
}

/* s[0, len) as a JSON string. Invalid UTF-8 becomes U+FFFD with replace,
 * else makes the line unrepresentable. */
static void put_string(hj_emit *e, const char *s, size_t len, bool replace)
{
	const unsigned char *u = (const unsigned char *)s;
	/* At most 6 bytes out per byte in ("\u001F"), and the quotes. */
	char *start = hj_emit_room(e, 6 * len + 2), *p = start;
	*p++ = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*p++ = (char)c;
			i++;
		} else if (c < 0x80) {
			p = put_escape(p, c);
			i++;
		} else {
			size_t n = hj_utf8_seq(u + i, len - i);
			if (n == 0 && !replace) {
				e->ok = false;
				break;
			}
			memcpy(p, n ? (const char *)u + i : "\xef\xbf\xbd", n ? n : 3);
			p += n ? n : 3;
			i += n ? n : 1;
		}
	}
	*p++ = '"';
	*p = '\0';
	assert((size_t)(p - start) <= 6 * len + 2); /* within the room taken */
	e->b->len += (size_t)(p - start);
}

void hj_emit_text(hj_emit *e, const char *s, size_t max)
{
	put_string(e, s, strnlen(s, max), true);
}

void hj_emit_name(hj_emit *e, const char *s)
{
	if (s == NULL) {
		e->ok = false;
		return;
	}
	put_string(e, s, strlen(s), false);
}

/* ---- sets, bits, flags ---- */

void hj_emit_set(hj_emit *e, const cm_uidset *s)
{
	/* "4294967295:4294967295," is 22 bytes. */
	char *start = hj_emit_room(e, 22 * s->n + 2), *p = start;
	*p++ = '"';
	for (size_t i = 0; i < s->n; i++) {
		if (i > 0)
			*p++ = ',';
		p = put_digits(p, s->r[i].lo);
		if (s->r[i].lo != s->r[i].hi) {
			*p++ = ':';
			p = put_digits(p, s->r[i].hi);
		}
	}
	*p++ = '"';
	*p = '\0';
	assert((size_t)(p - start) <= 22 * s->n + 2); /* within the room taken */
	e->b->len += (size_t)(p - start);
}

void hj_emit_bits(hj_emit *e, unsigned bits, const char *const *names, size_t n)
{
	char sep = '[';
	for (size_t i = 0; i < n; i++) {
		if (!(bits & (1u << i)))
			continue;
		hj_emit_sep(e, &sep);
		hj_emit_name(e, names[i]);
	}
	hj_emit_close(e, sep, ']');
}

void hj_emit_flags(hj_emit *e, cm_flags flags)
{
	char sep = '[';
	for (int bit = 0; bit < CM_FLAGS_MAX && flags != 0; bit++) {
		cm_flags m = (cm_flags)1 << bit;
		if (!(flags & m))
			continue;
		flags &= ~m;
		hj_emit_sep(e, &sep);
		/* NULL (a bit without a name) fails: names are the truth. */
		hj_emit_name(e, cm_flag_name(bit));
	}
	hj_emit_close(e, sep, ']');
}

/* ---- lines ---- */

int hj_emit_header(cm_buf *line, const model_history_header *h)
{
	hj_emit e = {line, true};
	char sep = '{';
	HJ_KEY(&e, &sep, "ratchet_history");
	hj_emit_raw(&e, "1", 1);
	HJ_KEY(&e, &sep, "seed");
	hj_emit_u64(&e, h->seed);
	HJ_KEY(&e, &sep, "target");
	hj_emit_text(&e, h->target, sizeof(h->target));
	HJ_KEY(&e, &sep, "capabilities");
	hj_emit_bits(&e, h->capabilities, hj_cap_names, HJ_CAP_COUNT);
	HJ_KEY(&e, &sep, "clients");
	hj_emit_u32(&e, h->clients);
	if (h->mutant[0]) {
		HJ_KEY(&e, &sep, "mutant");
		hj_emit_text(&e, h->mutant, sizeof(h->mutant));
	}
	hj_emit_close(&e, sep, '}');
	return e.ok ? 0 : -1;
}

static void emit_untagged_list(hj_emit *e, const model_result *r)
{
	char sep = '[';
	for (size_t i = 0; i < r->nut; i++) {
		hj_emit_sep(e, &sep);
		hj_emit_untagged(e, &r->ut[i]);
	}
	hj_emit_close(e, sep, ']');
}

/* A completion's reply, after the event's own keys. */
static void emit_result(hj_emit *e, char *sep, const model_result *r)
{
	HJ_KEY(e, sep, "status");
	hj_emit_name(e, model_status_name(r->status));
	if (r->code.kind != MODEL_CODE_NONE) {
		HJ_KEY(e, sep, "code");
		hj_emit_code(e, &r->code);
	}
	if (r->nut) {
		HJ_KEY(e, sep, "untagged");
		emit_untagged_list(e, r);
	}
	if (r->text[0]) {
		HJ_KEY(e, sep, "text");
		hj_emit_text(e, r->text, sizeof(r->text));
	}
	if (r->anomaly[0]) {
		HJ_KEY(e, sep, "anomaly");
		hj_emit_text(e, r->anomaly, sizeof(r->anomaly));
	}
	if (r->protocol[0]) {
		HJ_KEY(e, sep, "protocol_error");
		hj_emit_text(e, r->protocol, sizeof(r->protocol));
	}
}

int hj_emit_event(cm_buf *line, const model_event *ev)
{
	if (ev->type > MODEL_EV_INFO)
		return -1;
	hj_emit e = {line, true};
	char sep = '{';
	HJ_KEY(&e, &sep, "t");
	hj_emit_u64(&e, ev->t_ns);
	HJ_KEY(&e, &sep, "c");
	hj_emit_u32(&e, ev->client);
	HJ_KEY(&e, &sep, "id");
	hj_emit_u64(&e, ev->op_id);
	HJ_KEY(&e, &sep, "ev");
	hj_emit_name(&e, model_ev_name(ev->type));
	/* A fault has no invoke: its info event is the only place for its op. */
	if (ev->type == MODEL_EV_INVOKE ||
	    (ev->type == MODEL_EV_INFO && ev->op.kind == MODEL_OP_FAULT)) {
		HJ_KEY(&e, &sep, "op");
		hj_emit_op(&e, &ev->op);
	}
	if (ev->type != MODEL_EV_INVOKE)
		emit_result(&e, &sep, &ev->res);
	hj_emit_close(&e, sep, '}');
	return e.ok ? 0 : -1;
}
