/* FETCH arguments: the item list (or a macro) and the CONDSTORE/QRESYNC
 * modifiers (3501 6.4.5, 7162 3.1.4, 3.2.6). Body items are kept as
 * sections for the formatter; for the model, a HEADER.FIELDS naming
 * X-Ratchet-Id is MODEL_F_ID, the whole message or header MODEL_F_BODY |
 * MODEL_F_ID (the id comes with it), any other body item MODEL_F_BODY
 * (the session reads the message for each). */
#include "imapd_int.h"

#include <string.h>
#include <strings.h>

/* Fetch attribute names are letters, digits and dots; '[' starts a section. */
static bool att_name(imapd_lx *l, const char **s, size_t *n)
{
	const char *start = l->p;
	while (l->p < l->end) {
		char c = *l->p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.'))
			break;
		l->p++;
	}
	*s = start;
	*n = (size_t)(l->p - start);
	return *n > 0 || imapd_lx_fail(l, "Expected a FETCH item");
}

static bool name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static bool field_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

/* header-list "(" header-fld-name *(SP header-fld-name) ")" as
 * "Name1 Name2" in sec->fields. */
static bool header_list(imapd_lx *l, imapd_section *sec)
{
	size_t used = 0;
	if (!imapd_lx_sp(l) || !imapd_lx_char(l, '('))
		return false;
	do {
		char name[IMAPD_FIELDS_MAX];
		size_t n;
		if (!imapd_lx_astring(l, name, sizeof(name), &n))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!field_char((unsigned char)name[i]))
				return imapd_lx_fail(l, "Invalid header field name");
		if (n == 0 || used + n + 2 > sizeof(sec->fields))
			return imapd_lx_fail(l, "Header field list too long or empty name");
		if (used > 0)
			sec->fields[used++] = ' ';
		memcpy(sec->fields + used, name, n);
		used += n;
		sec->fields[used] = '\0';
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_char(l, ')');
}

/* section-spec between the brackets; parts ("1.2") are not supported:
 * every message the harness writes is single-part. */
static bool section_spec(imapd_lx *l, imapd_section *sec)
{
	const char *s;
	size_t n;
	sec->kind = IMAPD_SEC_ALL;
	if (imapd_lx_peek(l) == ']')
		return true;
	if (!att_name(l, &s, &n))
		return false;
	if (name_is(s, n, "HEADER"))
		sec->kind = IMAPD_SEC_HEADER;
	else if (name_is(s, n, "TEXT"))
		sec->kind = IMAPD_SEC_TEXT;
	else if (name_is(s, n, "HEADER.FIELDS"))
		sec->kind = IMAPD_SEC_FIELDS;
	else if (name_is(s, n, "HEADER.FIELDS.NOT"))
		sec->kind = IMAPD_SEC_FIELDS_NOT;
	else
		return imapd_lx_fail(l, "Unsupported body section");
	if (sec->kind == IMAPD_SEC_FIELDS || sec->kind == IMAPD_SEC_FIELDS_NOT)
		return header_list(l, sec);
	return true;
}

/* "<" origin "." count ">" */
static bool partial(imapd_lx *l, imapd_section *sec)
{
	uint64_t origin, count;
	if (!imapd_lx_accept(l, '<'))
		return true;
	if (!imapd_lx_number(l, UINT32_MAX, &origin) || !imapd_lx_char(l, '.') ||
	    !imapd_lx_number(l, UINT32_MAX, &count) || !imapd_lx_char(l, '>'))
		return false;
	if (count == 0)
		return imapd_lx_fail(l, "Partial count must not be 0");
	sec->partial = true;
	sec->origin = (uint32_t)origin;
	sec->count = (uint32_t)count;
	return true;
}

static bool mentions_id(const char *fields)
{
	static const char id[] = "X-Ratchet-Id";
	for (const char *p = fields; *p;) {
		size_t n = strcspn(p, " ");
		if (n == sizeof(id) - 1 && strncasecmp(p, id, n) == 0)
			return true;
		p += n + (p[n] == ' ');
	}
	return false;
}

static imapd_section *add_section(imapd_lx *l, imapd_cmd *cmd, imapd_sec_kind kind,
				  imapd_sec_form form, bool peek)
{
	if (cmd->nsec == IMAPD_SECTIONS_MAX) {
		imapd_lx_fail(l, "Too many body items");
		return NULL;
	}
	imapd_section *sec = &cmd->sec[cmd->nsec++];
	memset(sec, 0, sizeof(*sec));
	sec->kind = kind;
	sec->form = form;
	sec->peek = peek;
	cmd->sets_seen |= !peek;
	return sec;
}

static bool body_item(imapd_lx *l, imapd_cmd *cmd, bool peek)
{
	imapd_section *sec = add_section(l, cmd, IMAPD_SEC_ALL, IMAPD_FORM_BODY, peek);
	if (sec == NULL || !imapd_lx_char(l, '[') || !section_spec(l, sec) ||
	    !imapd_lx_char(l, ']') || !partial(l, sec))
		return false;
	if (sec->kind == IMAPD_SEC_FIELDS)
		cmd->op.items |= mentions_id(sec->fields) ? MODEL_F_ID : MODEL_F_BODY;
	else if (sec->kind == IMAPD_SEC_ALL || sec->kind == IMAPD_SEC_HEADER)
		cmd->op.items |= MODEL_F_BODY | MODEL_F_ID; /* the id comes with it */
	else
		cmd->op.items |= MODEL_F_BODY;
	return true;
}

static bool rfc822_item(imapd_lx *l, imapd_cmd *cmd, imapd_sec_kind kind,
			imapd_sec_form form)
{
	/* RFC822.HEADER is BODY.PEEK[HEADER]; the other two set \Seen. */
	bool peek = form == IMAPD_FORM_RFC822_HEADER;
	if (add_section(l, cmd, kind, form, peek) == NULL)
		return false;
	cmd->op.items |= MODEL_F_BODY | (kind != IMAPD_SEC_TEXT ? MODEL_F_ID : 0);
	return true;
}

static bool fetch_att(imapd_lx *l, imapd_cmd *cmd)
{
	static const struct { const char *name; unsigned bit; } simple[] = {
		{"UID", MODEL_F_UID}, {"FLAGS", MODEL_F_FLAGS},
		{"MODSEQ", MODEL_F_MODSEQ}, {"INTERNALDATE", MODEL_F_IDATE},
		{"RFC822.SIZE", MODEL_F_SIZE},
	};
	const char *s;
	size_t n;
	if (!att_name(l, &s, &n))
		return false;
	for (size_t i = 0; i < CM_ARRAY_LEN(simple); i++) {
		if (name_is(s, n, simple[i].name)) {
			cmd->op.items |= simple[i].bit;
			return true;
		}
	}
	if (name_is(s, n, "BODY.PEEK") || (name_is(s, n, "BODY") && imapd_lx_peek(l) == '['))
		return body_item(l, cmd, n == 9);
	if (name_is(s, n, "RFC822"))
		return rfc822_item(l, cmd, IMAPD_SEC_ALL, IMAPD_FORM_RFC822);
	if (name_is(s, n, "RFC822.HEADER"))
		return rfc822_item(l, cmd, IMAPD_SEC_HEADER, IMAPD_FORM_RFC822_HEADER);
	if (name_is(s, n, "RFC822.TEXT"))
		return rfc822_item(l, cmd, IMAPD_SEC_TEXT, IMAPD_FORM_RFC822_TEXT);
	return imapd_lx_fail(l, "Unsupported FETCH item %.*s", (int)CM_MIN(n, 32), s);
}

static bool fetch_macro(imapd_lx *l, imapd_cmd *cmd)
{
	if (imapd_lx_kw(l, "FAST")) {
		cmd->op.items |= MODEL_F_FLAGS | MODEL_F_IDATE | MODEL_F_SIZE;
		return true;
	}
	if (imapd_lx_kw(l, "ALL") || imapd_lx_kw(l, "FULL"))
		return imapd_lx_fail(l, "ENVELOPE and BODYSTRUCTURE are not supported");
	return fetch_att(l, cmd);
}

static bool fetch_modifiers(imapd_lx *l, model_op *op)
{
	if (!imapd_lx_char(l, '('))
		return false;
	do {
		if (imapd_lx_kw(l, "CHANGEDSINCE")) {
			if (op->has_changedsince)
				return imapd_lx_fail(l, "CHANGEDSINCE given twice");
			op->has_changedsince = true;
			if (!imapd_lx_sp(l) || !imapd_lx_number(l, INT64_MAX, &op->changedsince))
				return false;
		} else if (imapd_lx_kw(l, "VANISHED")) {
			if (op->vanished)
				return imapd_lx_fail(l, "VANISHED given twice");
			op->vanished = true;
		} else {
			return imapd_lx_fail(l, "Unknown FETCH modifier");
		}
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_char(l, ')');
}

/* After "FETCH set": SP (macro / att / "(" att *(SP att) ")") [SP modifiers] */
bool imapd_parse_fetch_args(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd)
{
	(void)ctx;
	if (!imapd_lx_sp(l))
		return false;
	if (imapd_lx_accept(l, '(')) {
		do {
			if (!fetch_att(l, cmd))
				return false;
		} while (imapd_lx_accept(l, ' '));
		if (!imapd_lx_char(l, ')'))
			return false;
	} else if (!fetch_macro(l, cmd)) {
		return false;
	}
	if (imapd_lx_accept(l, ' ') && !fetch_modifiers(l, &cmd->op))
		return false;
	return imapd_lx_end(l);
}
