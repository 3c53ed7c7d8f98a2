/* Set-up and tear-down over one blocking admin connection: log in, learn
 * the capabilities and the hierarchy separator, make the run's mailboxes
 * under its own prefix, and remove them afterwards.
 *
 * Safety: a run only ever writes to mailboxes under its prefix (and to
 * INBOX with --allow-inbox). A prefix that already holds messages is
 * refused unless --reuse, so two runs (or a person's mail) never mix. */
#include "wire_private.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FOUND 64
#define ALL_FLAGS (~(cm_flags)0)

/* ---- small helpers ---- */

static int run_cmd(rt_wire_setup *s, const imapc_cmd *cmd, imapc_result *res)
{
	return imapc_client_run(s->admin, cmd, s->timeout_ms, res);
}

/* "tag NO text" or the outcome, for one error line. */
static void why(const imapc_result *res, char *out, size_t outlen)
{
	if (res->outcome == IMAPC_REPLIED && res->tagged != NULL)
		snprintf(out, outlen, "%s %.*s", imapc_type_name(res->status),
			 (int)CM_MIN(res->tagged->text.len, 160), res->tagged->text.p);
	else
		snprintf(out, outlen, "%s (%.180s)", imapc_outcome_name(res->outcome),
			 res->reason);
}

/* Runs "VERB mailbox" and returns 0 on OK. */
static int box_cmd(rt_wire_setup *s, const char *verb, const char *name, char *err,
		   size_t errlen)
{
	imapc_cmd cmd;
	imapc_result res;
	imapc_cmd_init(&cmd);
	imapc_cmd_printf(&cmd, "%s ", verb);
	imapc_cmd_astring(&cmd, name, strlen(name));
	int rc = run_cmd(s, &cmd, &res);
	if (rc != 0 && err != NULL)
		why(&res, err, errlen);
	imapc_result_free(&res);
	imapc_cmd_free(&cmd);
	return rc;
}

/* ---- logging in ---- */

static int login(rt_wire_setup *s, imapc_client *cl, cm_err *err)
{
	const imapc_caps *caps = imapc_client_caps(cl);
	const imapc_response *greeting = imapc_client_greeting(cl); /* NULL: STARTTLS */
	if (greeting != NULL && greeting->type == IMAPC_T_PREAUTH)
		return 0; /* logged in already (imap4d --preauth) */
	if (rt_wire_check_plaintext(s, caps, err) != 0)
		return -1;
	if ((caps->mask & IMAPC_CAP_LOGINDISABLED) && (caps->mask & IMAPC_CAP_AUTH_PLAIN))
		return imapc_client_authenticate_plain(cl, s->url.user, s->url.pass, err);
	return imapc_client_login(cl, s->url.user, s->url.pass, err);
}

/* The admin connection, secured as the target asks; NULL with err. */
static imapc_client *admin_connect(rt_wire_setup *s, cm_err *err)
{
	imapc_conn_opts co = {.tag_prefix = "adm", .timeout_ms = s->timeout_ms};
	int fd = rt_wire_connect(s, &co, err);
	return fd < 0 ? NULL : imapc_client_new_fd(fd, s->timeout_ms, &co, err);
}

static int connect_admin(rt_wire_setup *s)
{
	cm_err err = {{0}};
	s->admin = admin_connect(s, &err);
	if (s->admin == NULL) {
		cm_error("cannot reach %s: %s", s->url.display, err.text);
		return CM_EXIT_USAGE;
	}
	imapc_client_set_deadline(s->admin, s->deadline_ns);
	if (rt_wire_check_plaintext(s, imapc_client_caps(s->admin), &err) != 0) {
		cm_error("%s", err.text);
		imapc_client_free(s->admin);
		s->admin = NULL;
		return CM_EXIT_USAGE;
	}
	if (login(s, s->admin, &err) != 0) {
		cm_error("login to %s failed: %s", s->url.display, err.text);
		imapc_client_free(s->admin);
		s->admin = NULL;
		return CM_EXIT_USAGE;
	}
	return CM_EXIT_CLEAN;
}

/* ---- namespace and separator ---- */

static void learn_separator(rt_wire_setup *s)
{
	imapc_result res;
	s->sep = '\0';
	if (imapc_client_runf(s->admin, &res, "LIST \"\" \"\"") == 0)
		for (size_t i = 0; i < res.n_untagged; i++)
			if (res.untagged[i]->type == IMAPC_T_LIST)
				s->sep = res.untagged[i]->list.delim;
	imapc_result_free(&res);
}

/* The personal namespace's prefix from `* NAMESPACE (("P" "/")...) ...`:
 * servers like Cyrus and Courier only allow mailboxes below "INBOX.". */
static void learn_namespace(rt_wire_setup *s)
{
	imapc_result res;
	s->ns[0] = '\0';
	if (!imapc_caps_has(imapc_client_caps(s->admin), "NAMESPACE"))
		return;
	if (imapc_client_runf(s->admin, &res, "NAMESPACE") == 0)
		for (size_t i = 0; i < res.n_untagged; i++) {
			const imapc_response *r = res.untagged[i];
			if (r->type != IMAPC_T_UNKNOWN || !imapc_str_eq(r->name, "NAMESPACE"))
				continue;
			const char *p = memchr(r->text.p, '(', r->text.len);
			const char *end = r->text.p + r->text.len;
			if (p == NULL || end - p < 4 || p[1] != '(' || p[2] != '"')
				continue;
			const char *q = memchr(p + 3, '"', (size_t)(end - p - 3));
			if (q != NULL && (size_t)(q - p - 3) < sizeof(s->ns))
				snprintf(s->ns, sizeof(s->ns), "%.*s", (int)(q - p - 3), p + 3);
		}
	imapc_result_free(&res);
}

int rt_wire_setup_open(rt_wire_setup *s, const rt_opts *o, uint64_t deadline_ns)
{
	return rt_wire_setup_open_url(s, o->target, o, deadline_ns);
}

int rt_wire_setup_open_url(rt_wire_setup *s, const char *url, const rt_opts *o,
			   uint64_t deadline_ns)
{
	cm_err err;
	memset(s, 0, sizeof(*s));
	s->deadline_ns = deadline_ns;
	s->timeout_ms = (uint32_t)CM_MAX(o->timeout * 1000.0, 1.0);
	if (rt_wire_url_parse(url, &s->url, &err) != 0 ||
	    rt_wire_secure_open(s, o, &err) != 0) {
		cm_error("%s", err.text);
		rt_wire_secure_close(s);
		return CM_EXIT_USAGE;
	}
	int rc = connect_admin(s);
	if (rc != CM_EXIT_CLEAN) {
		rt_wire_secure_close(s);
		return rc;
	}
	s->imapc_caps = imapc_client_caps(s->admin)->mask;
	s->caps = rt_wire_model_caps(s->imapc_caps);
	learn_separator(s);
	learn_namespace(s);
	return CM_EXIT_CLEAN;
}

/* ---- the run's mailboxes ---- */

typedef struct found {
	char names[MAX_FOUND][MODEL_NAME_MAX];
	bool noselect[MAX_FOUND];
	int n;
} found;

bool rt_wire_name_under(const char *prefix, char sep, const char *name)
{
	size_t n = strlen(prefix);
	assert(n > 0);
	if (strcasecmp(name, "INBOX") == 0)
		return false;
	if (strncmp(name, prefix, n) != 0)
		return false;
	return name[n] == '\0' || (name[n] == (sep ? sep : '-') && name[n + 1] != '\0');
}

static bool listed(const found *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return true;
	return false;
}

/* What LIST answers, but only names under the run's prefix: a server may
 * answer any names for a pattern, and --reuse deletes what is found. */
static void list_into(rt_wire_setup *s, const char *pattern, found *f)
{
	imapc_cmd cmd;
	imapc_result res;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "LIST \"\" ");
	imapc_cmd_string(&cmd, pattern, strlen(pattern));
	if (run_cmd(s, &cmd, &res) == 0)
		for (size_t i = 0; i < res.n_untagged && f->n < MAX_FOUND; i++) {
			const imapc_response *r = res.untagged[i];
			if (r->type != IMAPC_T_LIST || r->list.name.len >= MODEL_NAME_MAX ||
			    memchr(r->list.name.p, '\0', r->list.name.len) != NULL)
				continue;
			bool nosel = false;
			for (size_t k = 0; k < r->list.n_attrs; k++)
				nosel |= imapc_str_eq(r->list.attrs[k], "\\Noselect") ||
					 imapc_str_eq(r->list.attrs[k], "\\NonExistent");
			snprintf(f->names[f->n], MODEL_NAME_MAX, "%.*s",
				 (int)r->list.name.len, r->list.name.p);
			if (!rt_wire_name_under(s->prefix, s->sep, f->names[f->n]) ||
			    listed(f, f->names[f->n]))
				continue;
			f->noselect[f->n++] = nosel;
		}
	imapc_result_free(&res);
	imapc_cmd_free(&cmd);
}

/* Messages in a mailbox (STATUS), 0 if it cannot be read. */
static uint32_t messages_in(rt_wire_setup *s, const char *name)
{
	imapc_cmd cmd;
	imapc_result res;
	uint32_t n = 0;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "STATUS ");
	imapc_cmd_astring(&cmd, name, strlen(name));
	imapc_cmd_raw(&cmd, " (MESSAGES)");
	if (run_cmd(s, &cmd, &res) == 0)
		for (size_t i = 0; i < res.n_untagged; i++)
			if (res.untagged[i]->type == IMAPC_T_STATUS)
				n = res.untagged[i]->status.messages;
	imapc_result_free(&res);
	imapc_cmd_free(&cmd);
	return n;
}

static int by_length_desc(const void *a, const void *b)
{
	return (int)strlen(b) - (int)strlen(a);
}

static bool is_our_box(const rt_wire_setup *s, const char *name)
{
	for (int i = 0; i < s->nboxes; i++)
		if (strcmp(s->boxes[i], name) == 0 && !(i == 0 && s->inbox))
			return true;
	return false;
}

/* What the prefix already holds: refused when it holds messages (unless
 * --reuse, which deletes everything under it, children first). Otherwise
 * only the run's own (empty) mailboxes are made afresh; anything else is
 * left alone, and so is a prefix mailbox that existed before. */
static int clear_prefix(rt_wire_setup *s, const rt_opts *o)
{
	found f = {0};
	char pat[MODEL_NAME_MAX + 4];
	list_into(s, s->prefix, &f);
	snprintf(pat, sizeof(pat), "%s%c*", s->prefix, s->sep ? s->sep : '-');
	list_into(s, pat, &f);
	for (int i = 0; i < f.n && !o->reuse; i++) {
		uint32_t n = f.noselect[i] ? 0 : messages_in(s, f.names[i]);
		if (n > 0) {
			cm_error("mailbox '%s' already exists with %" PRIu32 " messages: "
				 "pass --reuse to delete and recreate it, or another "
				 "--mailbox-prefix", f.names[i], n);
			return CM_EXIT_USAGE;
		}
		if (strcmp(f.names[i], s->prefix) == 0)
			s->prefix_existed = true;
	}
	qsort(f.names, (size_t)f.n, MODEL_NAME_MAX, by_length_desc);
	for (int i = 0; i < f.n; i++)
		if (o->reuse || is_our_box(s, f.names[i]))
			box_cmd(s, "DELETE", f.names[i], NULL, 0);
	return CM_EXIT_CLEAN;
}

/* LIST wildcards in the prefix would reach other mailboxes. */
static bool prefix_ok(const char *p)
{
	return p[0] != '\0' && strpbrk(p, "*%\"\r\n") == NULL &&
	       strncasecmp(p, "INBOX", 5) != 0;
}

/* The run's prefix: --mailbox-prefix, or ratchet-SEED, under the
 * personal namespace, without a trailing separator. */
static void name_prefix(rt_wire_setup *s, const rt_opts *o)
{
	char user[MODEL_NAME_MAX];
	if (o->mailbox_prefix != NULL)
		snprintf(user, sizeof(user), "%s", o->mailbox_prefix);
	else
		snprintf(user, sizeof(user), "ratchet-%" PRIu64, o->seed);
	size_t n = strlen(user);
	while (n > 0 && s->sep && user[n - 1] == s->sep)
		user[--n] = '\0';
	snprintf(s->prefix, sizeof(s->prefix), "%.40s%.50s", s->ns, user);
}

static void name_boxes(rt_wire_setup *s, const rt_opts *o, int nboxes)
{
	s->nboxes = nboxes;
	s->inbox = o->allow_inbox;
	for (int i = 0; i < nboxes; i++) {
		if (i == 0 && s->inbox)
			snprintf(s->boxes[i], MODEL_NAME_MAX, "INBOX");
		else
			snprintf(s->boxes[i], MODEL_NAME_MAX, "%.90s%c%c", s->prefix,
				 s->sep ? s->sep : '-', 'A' + i);
	}
}

/* The flags a mailbox keeps: PERMANENTFLAGS, all keywords with \*, all
 * flags when the server does not say (3501 7.1). Read with SELECT, as
 * EXAMINE is read-only and answers PERMANENTFLAGS () (Dovecot, Cyrus),
 * then CLOSE: the admin session must not keep a mailbox it will delete
 * open (the run's own mailbox, so CLOSE's expunge is harmless). */
void rt_wire_setup_learn_flags(rt_wire_setup *s, const char *name)
{
	imapc_cmd cmd;
	imapc_result res;
	s->allowed = ALL_FLAGS;
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "SELECT ");
	imapc_cmd_astring(&cmd, name, strlen(name));
	if (run_cmd(s, &cmd, &res) == 0)
		for (size_t i = 0; i < res.n_untagged; i++) {
			const imapc_code *c = &res.untagged[i]->code;
			if (res.untagged[i]->type == IMAPC_T_OK &&
			    c->kind == IMAPC_CODE_PERMANENTFLAGS)
				s->allowed = c->flags.star ? ALL_FLAGS
					     : c->flags.flags;
		}
	imapc_result_free(&res);
	imapc_client_runf(s->admin, &res, "CLOSE");
	imapc_result_free(&res);
	imapc_cmd_free(&cmd);
}

/* --mailbox-prefix is usable: CM_EXIT_CLEAN, or CM_EXIT_USAGE after the
 * error line. */
static int check_prefix_option(const rt_opts *o)
{
	if (o->mailbox_prefix != NULL && !prefix_ok(o->mailbox_prefix)) {
		cm_error("--mailbox-prefix '%s': give a name that is not INBOX or "
			 "below it and has no LIST wildcards (* %%)", o->mailbox_prefix);
		return CM_EXIT_USAGE;
	}
	return CM_EXIT_CLEAN;
}

int rt_wire_setup_prefix(rt_wire_setup *s, const rt_opts *o)
{
	int rc = check_prefix_option(o);
	if (rc != CM_EXIT_CLEAN)
		return rc;
	name_prefix(s, o);
	s->nboxes = 0;
	rc = clear_prefix(s, o);
	s->ready = rc == CM_EXIT_CLEAN;
	return rc;
}

int rt_wire_setup_create(rt_wire_setup *s)
{
	char err[256];
	assert(s->nboxes >= 0 && s->nboxes <= RT_MAX_BOXES);
	for (int i = 0; i < s->nboxes; i++) {
		if ((i == 0 && s->inbox) || s->created[i])
			continue;
		assert(rt_wire_name_under(s->prefix, s->sep, s->boxes[i]));
		if (box_cmd(s, "CREATE", s->boxes[i], err, sizeof(err)) != 0) {
			cm_error("cannot create mailbox '%s' on %s: %s", s->boxes[i],
				 s->url.display, err);
			return CM_EXIT_USAGE;
		}
		s->created[i] = true;
		s->made_any = true;
	}
	return CM_EXIT_CLEAN;
}

int rt_wire_setup_boxes(rt_wire_setup *s, const rt_opts *o, int nboxes)
{
	int rc = check_prefix_option(o);
	if (rc != CM_EXIT_CLEAN)
		return rc;
	name_prefix(s, o);
	name_boxes(s, o, nboxes);
	rc = clear_prefix(s, o);
	if (rc == CM_EXIT_CLEAN)
		rc = rt_wire_setup_create(s);
	if (rc != CM_EXIT_CLEAN)
		return rc;
	rt_wire_setup_learn_flags(s, s->boxes[nboxes - 1]);
	s->ready = true;
	return CM_EXIT_CLEAN;
}

/* ---- the second server of a replicated pair ---- */

int rt_wire_setup_mirror(rt_wire_setup *s, const rt_wire_setup *from, const rt_opts *o)
{
	assert(from->ready && from->nboxes > 0);
	name_prefix(s, o);
	if (strcmp(s->prefix, from->prefix) != 0 || s->sep != from->sep) {
		cm_error("the replica %s names the run's mailboxes '%s', the target "
			 "'%s': give both servers one namespace and separator",
			 s->url.display, s->prefix, from->prefix);
		return CM_EXIT_USAGE;
	}
	name_boxes(s, o, from->nboxes);
	return clear_prefix(s, o);
}

int rt_wire_setup_adopt(rt_wire_setup *s)
{
	for (int i = 0; i < s->nboxes; i++) {
		if (i == 0 && s->inbox)
			continue;
		char err[256] = "it holds messages";
		if (box_cmd(s, "EXAMINE", s->boxes[i], err, sizeof(err)) != 0 ||
		    messages_in(s, s->boxes[i]) != 0) {
			cm_error("the first sync did not bring mailbox '%s' empty to the "
				 "replica %s (%s)", s->boxes[i], s->url.display, err);
			return CM_EXIT_USAGE;
		}
		s->created[i] = true;
		s->made_any = true;
	}
	rt_wire_setup_learn_flags(s, s->boxes[s->nboxes - 1]);
	s->ready = true;
	return CM_EXIT_CLEAN;
}

/* ---- what every run against the target shares ---- */

model_checker *rt_wire_checker_new(const rt_wire_setup *s, size_t max_violations)
{
	model_checker_options co = {
		.capabilities = s->caps,
		.imap4rev2 = (s->caps & MODEL_CAP_IMAP4REV2) != 0,
		.max_violations = max_violations,
	};
	return model_checker_new(&co);
}

void rt_wire_history_header(const rt_wire_setup *s, uint64_t seed, unsigned clients,
			    model_history_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	h->seed = seed;
	h->capabilities = s->caps;
	h->clients = clients;
	snprintf(h->target, sizeof(h->target), "%.127s", s->url.display);
}

/* ---- tear-down ---- */

/* The admin connection may have died during a long run: log in again. */
static bool admin_alive(rt_wire_setup *s)
{
	/* A server's idle BYE shows only when we next talk: ask. */
	if (s->admin != NULL && !imapc_conn_closed(imapc_client_conn(s->admin))) {
		imapc_result res;
		int rc = imapc_client_runf(s->admin, &res, "NOOP");
		imapc_result_free(&res);
		if (rc == 0)
			return true;
	}
	imapc_client_free(s->admin);
	s->admin = NULL;
	cm_err err = {{0}};
	s->admin = admin_connect(s, &err);
	if (s->admin != NULL)
		imapc_client_set_deadline(s->admin, s->deadline_ns);
	if (s->admin != NULL && login(s, s->admin, &err) == 0)
		return true;
	cm_error("clean-up: cannot log in to %s again: %s", s->url.display, err.text);
	return false;
}

/* With --allow-inbox: expunge what this run added to INBOX, found by its
 * X-Ratchet-Id prefix; only UID EXPUNGE can spare other \Deleted mail. */
static void clean_inbox(rt_wire_setup *s, const char *id_prefix)
{
	imapc_result res;
	cm_uidset uids = {0};
	if (!(s->caps & MODEL_CAP_UIDPLUS)) {
		cm_error("clean-up: without UIDPLUS the run's messages stay in INBOX");
		return;
	}
	if (box_cmd(s, "SELECT", "INBOX", NULL, 0) != 0)
		return;
	if (imapc_client_runf(s->admin, &res, "UID SEARCH HEADER X-Ratchet-Id \"%s\"",
			      id_prefix) == 0)
		for (size_t i = 0; i < res.n_untagged; i++)
			for (size_t k = 0; res.untagged[i]->type == IMAPC_T_SEARCH &&
			     k < res.untagged[i]->search.n; k++)
				cm_uidset_add(&uids, res.untagged[i]->search.nums[k]);
	imapc_result_free(&res);
	if (uids.n > 0) {
		cm_buf set = {0};
		cm_uidset_format(&set, &uids);
		imapc_client_runf(s->admin, &res, "UID STORE %s +FLAGS.SILENT (\\Deleted)",
				  set.data);
		imapc_result_free(&res);
		imapc_client_runf(s->admin, &res, "UID EXPUNGE %s", set.data);
		imapc_result_free(&res);
		cm_buf_free(&set);
	}
	imapc_client_runf(s->admin, &res, "CLOSE");
	imapc_result_free(&res);
	cm_uidset_free(&uids);
}

int rt_wire_setup_delete(rt_wire_setup *s)
{
	char err[256];
	int rc = 0;
	for (int i = s->nboxes - 1; i >= 0; i--) {
		if (!s->created[i])
			continue;
		if (box_cmd(s, "DELETE", s->boxes[i], err, sizeof(err)) != 0) {
			cm_error("clean-up: cannot delete '%s': %s", s->boxes[i], err);
			rc = -1;
		}
		s->created[i] = false;
	}
	return rc;
}

void rt_wire_setup_cleanup(rt_wire_setup *s, const rt_opts *o, const char *id_prefix,
			   uint64_t deadline_ns)
{
	bool any = false;
	s->deadline_ns = deadline_ns;
	if (s->admin != NULL)
		imapc_client_set_deadline(s->admin, deadline_ns);
	for (int i = 0; i < s->nboxes; i++)
		any |= s->created[i];
	if (o->keep || (!any && !s->ready) || !admin_alive(s))
		return;
	if (s->inbox && s->ready)
		clean_inbox(s, id_prefix);
	rt_wire_setup_delete(s);
	/* The parent the hierarchy may have made (\Noselect), unless it was
	 * there before; with other children left, the server refuses. */
	if (s->sep && s->made_any && !s->prefix_existed)
		box_cmd(s, "DELETE", s->prefix, NULL, 0);
}

void rt_wire_setup_close(rt_wire_setup *s)
{
	if (s->admin != NULL) {
		cm_err err;
		imapc_client_logout(s->admin, &err);
		imapc_client_free(s->admin);
		s->admin = NULL;
	}
	rt_wire_secure_close(s);
}

void rt_wire_salvage_clean(void *ctx)
{
	rt_wire_salvage *sc = ctx;
	rt_wire_setup *both[2] = {sc->setup, sc->peer};
	for (int k = 0; k < 2 && both[k] != NULL; k++) {
		rt_wire_setup *ws = both[k];
		fprintf(stderr, "ratchet: this run's mailboxes on %s:", ws->url.display);
		for (int i = 0; i < ws->nboxes; i++)
			if (ws->created[i]) {
				fputc(' ', stderr);
				cm_escape_puts(stderr, ws->boxes[i]);
			}
		fputs("; deleting them\n", stderr);
		rt_wire_setup_cleanup(ws, sc->opts, sc->id_prefix,
				      cm_now_ns() + 10000000000ull);
	}
}
