/* The command parser: one complete command to an imapd_cmd (RFC 3501
 * section 9 with UIDPLUS, CONDSTORE/QRESYNC, MOVE, ENABLE, LITERAL+).
 * FETCH's item list lives in imapd_parse_fetch.c. */
#include "imapd_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef bool parse_fn(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd);

/* '*' of a sequence set: the session's message count for sequence
 * numbers, "the largest UID" (UINT32_MAX; the connection refines it) for
 * UIDs. */
static uint32_t star_of(const imapd_parse_ctx *ctx, const imapd_cmd *cmd)
{
	if (cmd->op.uid)
		return UINT32_MAX;
	return ctx != NULL ? ctx->exists : UINT32_MAX;
}

static bool seqset(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd,
		   cm_uidset *set)
{
	bool star = false;
	if (!imapd_lx_seqset(l, star_of(ctx, cmd), set, &star))
		return false;
	cmd->uid_star |= star && cmd->op.uid;
	return true;
}

/* ---- commands without arguments ---- */

static bool p_verb(imapd_lx *l, imapd_cmd *cmd, imapd_verb verb,
		   model_op_kind kind)
{
	cmd->verb = verb;
	cmd->op.kind = kind;
	return imapd_lx_end(l);
}

static bool p_capability(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	return p_verb(l, cmd, IMAPD_V_CAPABILITY, MODEL_OP_NONE);
}

static bool p_noop(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	return p_verb(l, cmd, IMAPD_V_OP, MODEL_OP_NOOP);
}

static bool p_logout(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	return p_verb(l, cmd, IMAPD_V_OP, MODEL_OP_LOGOUT);
}

static bool p_close(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	return p_verb(l, cmd, IMAPD_V_CLOSE, MODEL_OP_NONE);
}

static bool p_unselect(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	return p_verb(l, cmd, IMAPD_V_UNSELECT, MODEL_OP_NONE);
}

/* EXPUNGE, and UID EXPUNGE seqset (4315 2.1). */
static bool p_expunge(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = MODEL_OP_EXPUNGE;
	if (cmd->op.uid && !(imapd_lx_sp(l) && seqset(l, ctx, cmd, &cmd->op.set)))
		return false;
	return imapd_lx_end(l);
}

/* ---- authentication ---- */

static bool p_login(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_LOGIN;
	return imapd_lx_sp(l) && imapd_lx_astring(l, cmd->user, sizeof(cmd->user), NULL) &&
	       imapd_lx_sp(l) && imapd_lx_astring(l, cmd->pass, sizeof(cmd->pass), NULL) &&
	       imapd_lx_end(l);
}

static bool b64_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* AUTHENTICATE mech [SP initial-response] (RFC 4959 SASL-IR). */
static bool p_authenticate(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	const char *s;
	size_t n;
	cmd->verb = IMAPD_V_AUTHENTICATE;
	if (!imapd_lx_sp(l) || !imapd_lx_atom(l, false, &s, &n))
		return false;
	if (n >= sizeof(cmd->user))
		return imapd_lx_fail(l, "Mechanism name too long");
	memcpy(cmd->user, s, n);
	cmd->user[n] = '\0';
	if (!imapd_lx_accept(l, ' '))
		return imapd_lx_end(l);
	cmd->ir = l->p;
	while (b64_char(imapd_lx_peek(l)))
		l->p++;
	cmd->ir_len = (size_t)(l->p - cmd->ir);
	if (cmd->ir_len == 0)
		return imapd_lx_fail(l, "Bad initial response");
	return imapd_lx_end(l);
}

/* ---- mailboxes ---- */

static bool p_enable(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = MODEL_OP_ENABLE;
	if (!imapd_lx_sp(l))
		return false;
	do {
		const char *s;
		size_t n;
		if (!imapd_lx_atom(l, false, &s, &n))
			return false;
		/* Unknown extensions are simply not enabled (5161 3.1). */
		if (n == 9 && strncasecmp(s, "CONDSTORE", n) == 0)
			cmd->op.caps |= MODEL_CAP_CONDSTORE;
		else if (n == 7 && strncasecmp(s, "QRESYNC", n) == 0)
			cmd->op.caps |= MODEL_CAP_QRESYNC;
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_end(l);
}

/* seq-match-data "(" known-sequence-set SP known-uid-set ")": checked,
 * then ignored (an optimisation hint: 7162 3.2.5.2 lets us answer as if
 * it were absent). */
static bool seq_match(imapd_lx *l)
{
	cm_uidset a = {0}, b = {0};
	bool ok = imapd_lx_char(l, '(') && imapd_lx_seqset(l, UINT32_MAX, &a, NULL) &&
		  imapd_lx_sp(l) && imapd_lx_seqset(l, UINT32_MAX, &b, NULL) &&
		  imapd_lx_char(l, ')');
	cm_uidset_free(&a);
	cm_uidset_free(&b);
	return ok;
}

/* QRESYNC (uidvalidity modseq [known-uids] [seq-match-data]) */
static bool qresync_params(imapd_lx *l, imapd_cmd *cmd)
{
	uint64_t uv, ms;
	if (cmd->op.qresync)
		return imapd_lx_fail(l, "QRESYNC given twice");
	cmd->op.qresync = true;
	if (!imapd_lx_sp(l) || !imapd_lx_char(l, '(') ||
	    !imapd_lx_number(l, UINT32_MAX, &uv) || !imapd_lx_sp(l) ||
	    !imapd_lx_number(l, INT64_MAX, &ms))
		return false;
	if (uv == 0)
		return imapd_lx_fail(l, "UIDVALIDITY must not be 0");
	cmd->op.q_uidvalidity = (uint32_t)uv;
	cmd->op.q_modseq = ms;
	if (imapd_lx_accept(l, ' ')) {
		bool known = imapd_lx_peek(l) != '(';
		if (known && !imapd_lx_seqset(l, UINT32_MAX, &cmd->op.q_known, NULL))
			return false;
		if ((!known || imapd_lx_accept(l, ' ')) && !seq_match(l))
			return false;
	}
	return imapd_lx_char(l, ')');
}

static bool select_params(imapd_lx *l, imapd_cmd *cmd)
{
	if (!imapd_lx_char(l, '('))
		return false;
	do {
		if (imapd_lx_kw(l, "CONDSTORE")) {
			if (cmd->op.condstore)
				return imapd_lx_fail(l, "CONDSTORE given twice");
			cmd->op.condstore = true;
		} else if (imapd_lx_kw(l, "QRESYNC")) {
			if (!qresync_params(l, cmd))
				return false;
		} else {
			return imapd_lx_fail(l, "Unknown SELECT parameter");
		}
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_char(l, ')');
}

static bool p_select(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = MODEL_OP_SELECT;
	cmd->op.readonly = strcmp(cmd->name, "EXAMINE") == 0;
	if (!imapd_lx_sp(l) || !imapd_lx_mailbox(l, cmd->op.mailbox))
		return false;
	if (imapd_lx_accept(l, ' ') && !select_params(l, cmd))
		return false;
	return imapd_lx_end(l);
}

static bool p_create(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = strcmp(cmd->name, "CREATE") == 0 ? MODEL_OP_CREATE
							 : MODEL_OP_DELETE;
	return imapd_lx_sp(l) && imapd_lx_mailbox(l, cmd->op.mailbox) &&
	       imapd_lx_end(l);
}

/* LIST reference list-mailbox; the reference goes in op.mailbox. */
static bool p_list(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_LIST;
	if (!imapd_lx_sp(l) || !imapd_lx_mailbox(l, cmd->op.mailbox) || !imapd_lx_sp(l))
		return false;
	int ch = imapd_lx_peek(l);
	if (ch == '"' || ch == '{')
		return imapd_lx_string(l, cmd->pattern, sizeof(cmd->pattern), NULL) &&
		       imapd_lx_end(l);
	const char *start = l->p;
	while (l->p < l->end && (imap_atom_char((unsigned char)*l->p) ||
				 *l->p == '%' || *l->p == '*' || *l->p == ']'))
		l->p++;
	size_t n = (size_t)(l->p - start);
	if (n == 0 || n >= sizeof(cmd->pattern))
		return imapd_lx_fail(l, "Bad LIST pattern");
	memcpy(cmd->pattern, start, n);
	cmd->pattern[n] = '\0';
	return imapd_lx_end(l);
}

static bool status_item(imapd_lx *l, unsigned *items)
{
	for (unsigned i = 0; i < MODEL_STATUS_COUNT; i++) {
		if (imapd_lx_kw(l, model_status_item_names[i])) {
			*items |= 1u << i;
			return true;
		}
	}
	return imapd_lx_fail(l, "Unsupported STATUS item");
}

static bool p_status(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = MODEL_OP_STATUS;
	if (!imapd_lx_sp(l) || !imapd_lx_mailbox(l, cmd->op.mailbox) ||
	    !imapd_lx_sp(l) || !imapd_lx_char(l, '('))
		return false;
	do {
		if (!status_item(l, &cmd->op.status_items))
			return false;
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_char(l, ')') && imapd_lx_end(l);
}

/* ---- APPEND ---- */

/* The X-Ratchet-Id header's value (header section only), or "" when it is
 * absent or too long for the model. */
static void message_id(const char *p, size_t len, char out[MODEL_ID_MAX])
{
	static const char key[] = "X-Ratchet-Id:";
	const char *end = p + len;
	out[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			return; /* end of the header */
		if (n >= sizeof(key) - 1 && strncasecmp(p, key, sizeof(key) - 1) == 0) {
			const char *v = p + sizeof(key) - 1, *ve = p + n;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if ((size_t)(ve - v) < MODEL_ID_MAX && memchr(v, '\0', (size_t)(ve - v)) == NULL)
				snprintf(out, MODEL_ID_MAX, "%.*s", (int)(ve - v), v);
			return;
		}
		if (eol == NULL)
			return;
		p = eol + 1;
	}
}

static bool append_date(imapd_lx *l, imapd_cmd *cmd)
{
	char d[40];
	size_t n;
	if (!imapd_lx_string(l, d, sizeof(d), &n))
		return false;
	if (!imapd_parse_date(d, n, &cmd->date))
		return imapd_lx_fail(l, "Invalid date-time");
	cmd->has_date = true;
	return true;
}

/* APPEND mailbox [SP flag-list] [SP date-time] SP literal */
static bool p_append(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	model_op *op = &cmd->op;
	cmd->verb = IMAPD_V_OP;
	op->kind = MODEL_OP_APPEND;
	if (!imapd_lx_sp(l) || !imapd_lx_mailbox(l, op->mailbox) || !imapd_lx_sp(l))
		return false;
	if (imapd_lx_peek(l) == '(' && !(imapd_lx_flag_list(l, &op->flags) && imapd_lx_sp(l)))
		return false;
	if (imapd_lx_peek(l) == '"' && !(append_date(l, cmd) && imapd_lx_sp(l)))
		return false;
	if (imapd_lx_peek(l) != '{')
		return imapd_lx_fail(l, "Expected the message as a literal");
	if (!imapd_lx_literal(l, &cmd->body, &cmd->body_len) || !imapd_lx_end(l))
		return false;
	if (cmd->body_len == 0)
		return imapd_lx_fail(l, "Empty message");
	op->size = (uint32_t)cmd->body_len;
	op->body_hash = cm_hash64(cmd->body, cmd->body_len);
	message_id(cmd->body, cmd->body_len, op->msg_id);
	return true;
}

/* ---- selected state ---- */

static bool store_action(imapd_lx *l, model_op *op)
{
	const char *s;
	size_t n;
	if (!imapd_lx_atom(l, false, &s, &n))
		return false;
	op->mode = MODEL_STORE_REPLACE;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		op->mode = s[0] == '+' ? MODEL_STORE_ADD : MODEL_STORE_REMOVE;
		s++, n--;
	}
	if (n == 12 && strncasecmp(s, "FLAGS.SILENT", n) == 0)
		op->silent = true;
	else if (n != 5 || strncasecmp(s, "FLAGS", n) != 0)
		return imapd_lx_fail(l, "Expected FLAGS, +FLAGS or -FLAGS");
	return true;
}

/* STORE set [SP (UNCHANGEDSINCE n)] SP action SP (flag-list / flag *(SP flag)) */
static bool p_store(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd)
{
	model_op *op = &cmd->op;
	cmd->verb = IMAPD_V_OP;
	op->kind = MODEL_OP_STORE;
	if (!imapd_lx_sp(l) || !seqset(l, ctx, cmd, &op->set) || !imapd_lx_sp(l))
		return false;
	if (imapd_lx_accept(l, '(')) {
		if (!imapd_lx_kw(l, "UNCHANGEDSINCE"))
			return imapd_lx_fail(l, "Unknown STORE modifier");
		if (!imapd_lx_sp(l) || !imapd_lx_number(l, INT64_MAX, &op->unchangedsince) ||
		    !imapd_lx_char(l, ')') || !imapd_lx_sp(l))
			return false;
		op->has_unchangedsince = true;
	}
	if (!store_action(l, op) || !imapd_lx_sp(l))
		return false;
	if (imapd_lx_peek(l) == '(')
		return imapd_lx_flag_list(l, &op->flags) && imapd_lx_end(l);
	do {
		if (!imapd_lx_flag(l, &op->flags))
			return false;
	} while (imapd_lx_accept(l, ' '));
	return imapd_lx_end(l);
}

/* SEARCH [CHARSET astring SP] ALL: the one key the session evaluates. */
static bool p_search(imapd_lx *l, const imapd_parse_ctx *c, imapd_cmd *cmd)
{
	char charset[64];
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = MODEL_OP_SEARCH;
	if (!imapd_lx_sp(l))
		return false;
	if (imapd_lx_kw(l, "CHARSET") &&
	    !(imapd_lx_sp(l) && imapd_lx_astring(l, charset, sizeof(charset), NULL) &&
	      imapd_lx_sp(l)))
		return false;
	if (!imapd_lx_kw(l, "ALL"))
		return imapd_lx_fail(l, "Only SEARCH ALL is supported");
	return imapd_lx_end(l);
}

static bool p_copy(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = strcmp(cmd->name + (cmd->op.uid ? 4 : 0), "MOVE") == 0
			       ? MODEL_OP_MOVE : MODEL_OP_COPY;
	return imapd_lx_sp(l) && seqset(l, ctx, cmd, &cmd->op.set) && imapd_lx_sp(l) &&
	       imapd_lx_mailbox(l, cmd->op.mailbox) && imapd_lx_end(l);
}

static bool p_fetch(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd)
{
	cmd->verb = IMAPD_V_OP;
	cmd->op.kind = MODEL_OP_FETCH;
	if (!imapd_lx_sp(l) || !seqset(l, ctx, cmd, &cmd->op.set))
		return false;
	return imapd_parse_fetch_args(l, ctx, cmd);
}

/* ---- dispatch ---- */

typedef struct command {
	const char *name;
	parse_fn *fn;
	bool uid;          /* allowed after UID */
} command;

static const command commands[] = {
	{"CAPABILITY", p_capability, false}, {"NOOP", p_noop, false},
	{"CHECK", p_noop, false},            {"LOGOUT", p_logout, false},
	{"LOGIN", p_login, false},           {"AUTHENTICATE", p_authenticate, false},
	{"ENABLE", p_enable, false},         {"SELECT", p_select, false},
	{"EXAMINE", p_select, false},        {"CREATE", p_create, false},
	{"DELETE", p_create, false},         {"LIST", p_list, false},
	{"STATUS", p_status, false},         {"APPEND", p_append, false},
	{"CLOSE", p_close, false},           {"UNSELECT", p_unselect, false},
	{"EXPUNGE", p_expunge, true},        {"FETCH", p_fetch, true},
	{"STORE", p_store, true},            {"SEARCH", p_search, true},
	{"COPY", p_copy, true},              {"MOVE", p_copy, true},
};

static const command *find_command(const char *name, bool uid)
{
	for (size_t i = 0; i < CM_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0 && (!uid || commands[i].uid))
			return &commands[i];
	return NULL;
}

/* Appends the next atom, upper-cased, to cmd->name. */
static bool command_name(imapd_lx *l, imapd_cmd *cmd)
{
	const char *s;
	size_t n, have = strlen(cmd->name);
	if (!imapd_lx_atom(l, false, &s, &n))
		return imapd_lx_fail(l, "Missing command");
	if (have + n >= sizeof(cmd->name))
		return imapd_lx_fail(l, "Unknown command");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		cmd->name[have + i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	cmd->name[have + n] = '\0';
	return true;
}

static bool parse_body(imapd_lx *l, const imapd_parse_ctx *ctx, imapd_cmd *cmd)
{
	if (!imapd_lx_accept(l, ' ') || !command_name(l, cmd))
		return imapd_lx_fail(l, "Missing command");
	if (strcmp(cmd->name, "UID") == 0) {
		cmd->op.uid = true;
		cmd->name[3] = ' ';
		cmd->name[4] = '\0';
		if (!imapd_lx_accept(l, ' ') || !command_name(l, cmd))
			return imapd_lx_fail(l, "Missing UID command");
	}
	const command *c = find_command(cmd->name + (cmd->op.uid ? 4 : 0), cmd->op.uid);
	if (c == NULL)
		return imapd_lx_fail(l, "Unknown command");
	return c->fn(l, ctx, cmd);
}

void imapd_cmd_init(imapd_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	model_op_init(&cmd->op, MODEL_OP_NONE);
}

void imapd_cmd_free(imapd_cmd *cmd)
{
	model_op_free(&cmd->op);
	imapd_cmd_init(cmd);
}

static bool tag_char(unsigned char c)
{
	return (imap_atom_char(c) || c == ']') && c != '+';
}

bool imapd_parse_tag(const char *line, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	while (n < len && tag_char((unsigned char)line[n]))
		n++;
	if (n == 0 || n >= cap || (n < len && line[n] != ' '))
		return false;
	memcpy(out, line, n);
	out[n] = '\0';
	return true;
}

int imapd_parse(const char *line, size_t len, const imapd_parse_ctx *ctx,
		imapd_cmd *cmd, cm_err *err)
{
	imapd_lx l = {.p = line, .end = line + len, .err = err};
	imapd_cmd_free(cmd);
	if (err != NULL)
		err->text[0] = '\0';
	if (!imapd_parse_tag(line, len, cmd->tag, sizeof(cmd->tag))) {
		imapd_lx_fail(&l, "Missing or invalid tag");
		return IMAPD_PARSE_NOTAG;
	}
	l.p += strlen(cmd->tag);
	if (!parse_body(&l, ctx, cmd))
		return IMAPD_PARSE_BAD;
	return IMAPD_PARSE_OK;
}

int imapd_parse_command(const char *line, size_t len, char *tag_out,
			size_t tagcap, model_op *op, cm_err *err)
{
	imapd_cmd cmd;
	imapd_cmd_init(&cmd);
	int r = imapd_parse(line, len, NULL, &cmd, err);
	if (tag_out != NULL && tagcap > 0)
		snprintf(tag_out, tagcap, "%s", r == IMAPD_PARSE_NOTAG ? "*" : cmd.tag);
	model_op_free(op);
	model_op_init(op, MODEL_OP_NONE);
	if (r == IMAPD_PARSE_OK && cmd.verb == IMAPD_V_OP)
		model_op_copy(op, &cmd.op);
	imapd_cmd_free(&cmd);
	return r;
}
