/* Commands of ratchet-imapd that are more than one rs_session_exec:
 * login, APPEND of bytes the session cannot regenerate, the implicit
 * \Seen of BODY[], CLOSE/UNSELECT, LIST, and the message bytes a FETCH
 * shows (the session reports hashes, not bytes). */
#include "imapd_conn.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* No mailbox can have this name: the parser refuses control bytes. */
#define NO_MAILBOX "\x01ratchet-imapd-unselect"

/* ---- output helpers ---- */

/* Logs the last line queued since start: the tagged reply (or the BYE). */
static void log_reply(imapd_conn *c, size_t start)
{
	if (c->cfg->log_fd < 0 || c->out.len <= start)
		return;
	const char *end = c->out.data + c->out.len, *last = c->out.data + start;
	for (const char *p = last; p + 2 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			last = p + 2;
	size_t n = 0;
	while (last + n < end && last[n] != '\r' && n < 200)
		n++;
	imapd_log(c->cfg, "S: %.*s", (int)n, last);
}

static void answer_fmt(imapd_conn *c, const imapd_cmd *cmd, model_result *res,
		       const imapd_fmt *f)
{
	size_t start = c->out.len;
	if (imapd_format_result(&c->out, cmd->tag, res, f) & IMAPD_FMT_CLOSE)
		c->closing = true;
	log_reply(c, start);
}

static void answer(imapd_conn *c, const imapd_cmd *cmd, model_result *res)
{
	imapd_fmt f = {.cmd = cmd};
	answer_fmt(c, cmd, res, &f);
}

/* The untagged responses of an auxiliary session call; false if the
 * session was lost (then BYE is queued and the connection closes). */
static bool splice(imapd_conn *c, const model_result *res)
{
	if (res->status == MODEL_REPLY_UNKNOWN) {
		imapd_format_result(&c->out, "*", res, NULL);
		c->closing = true;
		return false;
	}
	for (size_t i = 0; i < res->nut; i++)
		imapd_format_untagged(&c->out, &res->ut[i], NULL);
	return true;
}

/* ---- login ---- */

/* Constant time in the secret's length: no timing oracle. */
static bool secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return d == 0;
}

/* The guessing bound: a password is checked only with the server-wide
 * turn, and a wrong one keeps it for its delay (1, 2, 4 s). A client
 * cannot skip the delay by hanging up (a right guess is answered only
 * after its turn), nor multiply it by connecting many times. */
static void login_as(imapd_conn *c, const imapd_cmd *cmd, const char *user,
		     const char *pass)
{
	if (!imapd_conn_login_turn(c, true)) {
		cm_buf_puts(&c->out, "* BYE No login turn before the login deadline\r\n");
		c->closing = true;
		return;
	}
	/* Both compared, whatever the first says. */
	bool user_ok = secret_eq(user, c->cfg->user);
	bool pass_ok = secret_eq(pass, c->cfg->pass);
	bool ok = user_ok && pass_ok;
	if (!ok)
		imapd_conn_pause(imapd_auth_delay_ms(++c->auth_failures));
	imapd_conn_login_turn(c, false);
	if (!ok) {
		cm_buf_printf(&c->out, "%s NO [AUTHENTICATIONFAILED] Invalid credentials\r\n",
			      cmd->tag);
		imapd_log(c->cfg, "login failed");
		if (c->auth_failures >= IMAPD_AUTH_FAILS_MAX) {
			cm_buf_puts(&c->out, "* BYE Too many failed logins\r\n");
			c->closing = true;
		}
		return;
	}
	c->s = rs_session_new(c->fs, c->cfg->root, &c->sopt);
	cm_buf_printf(&c->out, "%s OK [CAPABILITY ", cmd->tag);
	imapd_conn_caps(c, &c->out, true);
	cm_buf_puts(&c->out, "] Logged in\r\n");
	imapd_log(c->cfg, "logged in");
}

void imapd_exec_login(imapd_conn *c, const imapd_cmd *cmd)
{
	if (c->s != NULL)
		cm_buf_printf(&c->out, "%s BAD Already logged in\r\n", cmd->tag);
	else
		login_as(c, cmd, cmd->user, cmd->pass);
}

/* AUTHENTICATE PLAIN, with the response inline (SASL-IR) or after "+". */
void imapd_exec_authenticate(imapd_conn *c, const imapd_cmd *cmd)
{
	char user[IMAPD_AUTH_MAX], pass[IMAPD_AUTH_MAX];
	const char *data = cmd->ir;
	size_t len = cmd->ir_len;
	if (c->s != NULL) {
		cm_buf_printf(&c->out, "%s BAD Already logged in\r\n", cmd->tag);
		return;
	}
	if (strcasecmp(cmd->user, "PLAIN") != 0) {
		cm_buf_printf(&c->out, "%s NO Unsupported mechanism\r\n", cmd->tag);
		return;
	}
	if (data == NULL) {
		cm_buf_puts(&c->out, "+ \r\n");
		if (!imapd_conn_flush(c) || imapd_conn_line(c, &data, &len) != 1) {
			c->closing = true;
			return;
		}
	}
	if (len == 1 && data[0] == '*') {
		cm_buf_printf(&c->out, "%s BAD Authentication cancelled\r\n", cmd->tag);
		return;
	}
	if (imapd_sasl_plain(data, len, user, pass) < 0) {
		cm_buf_printf(&c->out, "%s BAD Malformed PLAIN response\r\n", cmd->tag);
		return;
	}
	login_as(c, cmd, user, pass);
}

/* ---- message bytes for FETCH ---- */

static void body_handle_drop(imapd_conn *c)
{
	rs_close(c->body_mb);
	c->body_mb = NULL;
	c->body_name[0] = '\0';
}

static rs_mailbox *body_handle(imapd_conn *c, const char *name)
{
	if (c->body_mb != NULL && strcmp(c->body_name, name) == 0)
		return c->body_mb;
	body_handle_drop(c);
	char *path = rs_namespace_mailbox_path(c->cfg->root, name);
	rs_options o = {.pid = c->sopt.pid, .mutants = c->sopt.mutants};
	if (path != NULL && rs_open(c->fs, path, &o, &c->body_mb, NULL) == RS_OK)
		snprintf(c->body_name, sizeof(c->body_name), "%s", name);
	free(path);
	return c->body_mb;
}

/* imapd_body_fn: our own handle reads what the session just read. A
 * handle left on a mailbox deleted and created again is replaced once. */
static int body_bytes(void *ctx, uint32_t uid, cm_buf *out)
{
	imapd_conn *c = ctx;
	const char *name = rs_session_selected(c->s);
	uint64_t ns;
	cm_buf_clear(out);
	for (int attempt = 0; name != NULL && attempt < 2; attempt++) {
		rs_mailbox *mb = body_handle(c, name);
		if (mb == NULL)
			return -1;
		if (rs_fetch_body(mb, uid, out, &ns) == RS_OK)
			return 0;
		if (rs_sync(mb, false) == RS_OK && rs_fetch_body(mb, uid, out, &ns) == RS_OK)
			return 0;
		body_handle_drop(c);
	}
	return -1;
}

void imapd_exec_cleanup(imapd_conn *c)
{
	body_handle_drop(c);
	rs_session_free(c->s);
	c->s = NULL;
}

/* ---- APPEND of arbitrary bytes ---- */

/* The session stores model_message_bytes_sized(id, size): exactly the
 * client's bytes when they are a harness message. */
static bool append_canonical(const imapd_cmd *cmd)
{
	if (cmd->op.msg_id[0] == '\0')
		return false;
	cm_buf b = {0};
	model_message_bytes_sized(cmd->op.msg_id, cmd->op.size, &b);
	bool same = b.len == cmd->body_len && memcmp(b.data, cmd->body, b.len) == 0;
	cm_buf_free(&b);
	return same;
}

static void append_error(model_result *res, rs_err err)
{
	res->status = MODEL_REPLY_NO;
	snprintf(res->text, sizeof(res->text), "APPEND: %s", rs_strerror(err));
	if (err == RS_ENOENT) {
		res->code.kind = MODEL_CODE_TRYCREATE;
		snprintf(res->text, sizeof(res->text), "No such mailbox");
	} else if (err == RS_ENOSPC || err == RS_ELOCKED) {
		res->code.kind = MODEL_CODE_OTHER;
		snprintf(res->code.text, sizeof(res->code.text), "%s",
			 err == RS_ENOSPC ? "OVERQUOTA" : "INUSE");
	} else if (err == RS_EUNKNOWN) {
		res->status = MODEL_REPLY_UNKNOWN;
	}
}

/* The same store call the session makes, with the client's bytes. */
static void append_raw(imapd_conn *c, const imapd_cmd *cmd, model_result *res)
{
	const model_op *op = &cmd->op;
	char *path = rs_namespace_mailbox_path(c->cfg->root, op->mailbox);
	rs_options o = {.pid = c->sopt.pid, .mutants = c->sopt.mutants};
	rs_mailbox *mb = NULL;
	uint32_t uid = 0;
	uint64_t modseq = 0;
	rs_err err = path == NULL ? RS_ENOENT : rs_open(c->fs, path, &o, &mb, NULL);
	free(path);
	if (err == RS_OK)
		err = rs_append(mb, cmd->body, cmd->body_len, op->flags, &uid, &modseq);
	if (err != RS_OK) {
		append_error(res, err);
	} else {
		res->status = MODEL_REPLY_OK;
		if (c->cfg->caps & MODEL_CAP_UIDPLUS) {
			res->code.kind = MODEL_CODE_APPENDUID;
			res->code.uidvalidity = rs_uidvalidity(mb);
			cm_uidset_add(&res->code.set, uid);
		}
	}
	rs_close(mb);
}

/* An APPEND the session could not store faithfully; the selected
 * mailbox's news follow as after any command (a NOOP's sync). */
static void exec_append_raw(imapd_conn *c, const imapd_cmd *cmd)
{
	model_result res, sync;
	model_result_init(&res);
	model_result_init(&sync);
	append_raw(c, cmd, &res);
	bool alive = true;
	if (res.status != MODEL_REPLY_UNKNOWN && rs_session_selected(c->s) != NULL) {
		model_op noop;
		model_op_init(&noop, MODEL_OP_NOOP);
		rs_session_exec(c->s, &noop, &sync);
		alive = splice(c, &sync);
	}
	if (alive)
		answer(c, cmd, &res);
	model_result_free(&res);
	model_result_free(&sync);
}

/* ---- session ops ---- */

/* "n:*" with n above every UID still names the highest UID (3501 6.4.8). */
static void refine_uid_star(imapd_conn *c, imapd_cmd *cmd)
{
	size_t n = rs_session_exists(c->s);
	cm_uidset *set = &cmd->op.set;
	if (!cmd->uid_star || n == 0 || set->n == 0)
		return;
	uint32_t last = rs_session_uid_at(c->s, n);
	if (set->r[set->n - 1].hi == UINT32_MAX && set->r[set->n - 1].lo > last)
		cm_uidset_add(set, last);
}

/* BODY[] without PEEK sets \Seen (3501 6.4.5): a STORE first, whose
 * FETCH responses carry the new flags. False if the session was lost. */
static bool implicit_seen(imapd_conn *c, const imapd_cmd *cmd)
{
	model_op st;
	model_result res;
	model_op_init(&st, MODEL_OP_STORE);
	model_result_init(&res);
	st.uid = cmd->op.uid;
	cm_uidset_copy(&st.set, &cmd->op.set);
	st.mode = MODEL_STORE_ADD;
	st.flags = CM_FLAG_SEEN;
	rs_session_exec(c->s, &st, &res);
	bool alive = splice(c, &res); /* NO (read-only) or BAD: the FETCH says */
	model_result_free(&res);
	model_op_free(&st);
	return alive;
}

void imapd_exec_op(imapd_conn *c, imapd_cmd *cmd)
{
	if (cmd->op.kind == MODEL_OP_APPEND && !append_canonical(cmd)) {
		exec_append_raw(c, cmd);
		return;
	}
	refine_uid_star(c, cmd);
	if (cmd->op.kind == MODEL_OP_FETCH && cmd->sets_seen && !implicit_seen(c, cmd))
		return;
	model_result res;
	model_result_init(&res);
	rs_session_exec(c->s, &cmd->op, &res);
	imapd_fmt f = {.cmd = cmd, .body = body_bytes, .ctx = c};
	answer_fmt(c, cmd, &res, &f);
	model_result_free(&res);
}

/* ---- CLOSE and UNSELECT ---- */

/* CLOSE expunges silently (3501 6.4.2): the EXPUNGE's responses are
 * dropped. Leaving the selected state is a SELECT that fails. */
void imapd_exec_close(imapd_conn *c, const imapd_cmd *cmd)
{
	model_op op;
	model_result res;
	if (rs_session_selected(c->s) == NULL) {
		cm_buf_printf(&c->out, "%s BAD No mailbox selected\r\n", cmd->tag);
		return;
	}
	model_result_init(&res);
	model_op_init(&op, MODEL_OP_EXPUNGE);
	if (cmd->verb == IMAPD_V_CLOSE)
		rs_session_exec(c->s, &op, &res);
	if (res.status != MODEL_REPLY_UNKNOWN) {
		model_op_init(&op, MODEL_OP_SELECT);
		snprintf(op.mailbox, sizeof(op.mailbox), "%s", NO_MAILBOX);
		rs_session_exec(c->s, &op, &res);
	}
	if (res.status == MODEL_REPLY_UNKNOWN) {
		splice(c, &res);
	} else {
		model_result_clear(&res);
		res.status = MODEL_REPLY_OK;
		answer(c, cmd, &res);
	}
	model_result_free(&res);
}

/* ---- LIST ---- */

/* '*' and '%' alike: the namespace is flat (no hierarchy delimiter). */
static bool glob(const char *pat, const char *name)
{
	const char *star = NULL, *resume = NULL;
	while (*name) {
		if (*pat == '*' || *pat == '%') {
			star = pat++;
			resume = name;
		} else if (*pat == *name) {
			pat++, name++;
		} else if (star != NULL) {
			pat = star + 1;
			name = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*' || *pat == '%')
		pat++;
	return *pat == '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A directory entry back to the mailbox name; false for our own files
 * and anything that does not map back to itself. */
static bool entry_name(const char *root, const char *entry, char out[MODEL_NAME_MAX])
{
	size_t n = 0;
	char path[RS_NAMESPACE_PATH_MAX], want[RS_NAMESPACE_PATH_MAX];
	if (entry[0] == '.')
		return false;
	for (const char *p = entry; *p; p++) {
		int hi = p[0] == '%' ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
		if (n + 1 >= MODEL_NAME_MAX)
			return false;
		if (lo >= 0) {
			out[n++] = (char)(hi * 16 + lo);
			p += 2;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	snprintf(want, sizeof(want), "%s/%s", root, entry);
	return rs_namespace_path(root, out, path, sizeof(path)) == 0 && strcmp(path, want) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t collect_names(imapd_conn *c, char ***names_r)
{
	size_t n = 0, cap = 0;
	char **v = NULL, name[MODEL_NAME_MAX];
	DIR *d = opendir(c->cfg->root);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		if (!entry_name(c->cfg->root, e->d_name, name) ||
		    !rs_namespace_exists(c->fs, c->cfg->root, name))
			continue;
		CM_GROW(v, cap, n + 1);
		v[n++] = cm_xstrdup(name);
	}
	if (d != NULL)
		closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*names_r = v;
	return n;
}

void imapd_exec_list(imapd_conn *c, const imapd_cmd *cmd)
{
	char pat[2 * MODEL_NAME_MAX];
	char **names = NULL;
	snprintf(pat, sizeof(pat), "%s%s", cmd->op.mailbox, cmd->pattern);
	if (pat[0] == '\0') {
		/* 3501 6.3.8: the hierarchy delimiter (none) and the root. */
		cm_buf_puts(&c->out, "* LIST (\\Noselect) NIL \"\"\r\n");
	} else {
		size_t n = collect_names(c, &names);
		for (size_t i = 0; i < n; i++) {
			bool inbox = strcmp(names[i], "INBOX") == 0 && strcasecmp(pat, "INBOX") == 0;
			if (inbox || glob(pat, names[i])) {
				cm_buf_puts(&c->out, "* LIST () NIL ");
				imapd_format_astring(&c->out, names[i], strlen(names[i]));
				cm_buf_puts(&c->out, "\r\n");
			}
			free(names[i]);
		}
		free(names);
	}
	cm_buf_printf(&c->out, "%s OK LIST completed\r\n", cmd->tag);
}
