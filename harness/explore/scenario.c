/* The scenario file format (scenarios/README.md): header lines, then one
 * indented program per client. Every error names the file, the line and
 * the column. */
#include "scenario.h"
#include "imapd.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const rt_scenario_boxes[4] = {"INBOX", "Archive", "Work", "Junk"};

#define SCENARIO_FILE_MAX (64u << 10)

/* Where the parser is, for errors. */
typedef struct pos {
	const char *path;
	unsigned line;
	const char *start;   /* the line's first byte */
	cm_err *err;
} pos;

static int fail_at(const pos *p, const char *at, const char *what, const char *detail)
{
	unsigned col = (unsigned)(at - p->start) + 1;
	return cm_err_set(p->err, "%s:%u:%u: %s%s%s", p->path, p->line, col, what,
			  detail[0] ? ": " : "", detail);
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int rt_scenario_box(const char *s, size_t n)
{
	for (int i = 0; i < 4; i++)
		if (strlen(rt_scenario_boxes[i]) == n &&
		    strncasecmp(rt_scenario_boxes[i], s, n) == 0)
			return i;
	return -1;
}

static size_t word_len(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

/* "INBOX (\Seen)" or "INBOX": the box, and the flags if any. */
static int parse_box_flags(const pos *p, const char *s, int *box, cm_flags *flags,
			   bool flags_ok)
{
	size_t n = word_len(s);
	*box = rt_scenario_box(s, n);
	if (*box < 0)
		return fail_at(p, s, "unknown mailbox",
			       "a scenario uses INBOX, Archive, Work or Junk");
	const char *f = skip_space(s + n);
	*flags = 0;
	if (*f == '\0')
		return 0;
	if (!flags_ok)
		return fail_at(p, f, "unexpected text after the mailbox", "");
	if (cm_flags_parse(f, strlen(f), flags, NULL) < 0)
		return fail_at(p, f, "bad flag list", "");
	return 0;
}

/* The IMAP command text with every $var replaced by value (or 1 when
 * value is NULL). 0, or -1 when it does not fit or a $ is not a name. */
static int substitute(const char *text, const rt_scenario_vars *vars, char *out,
		      size_t cap)
{
	size_t o = 0;
	for (const char *s = text; *s != '\0';) {
		char num[24];
		const char *put = s;
		size_t len = 1;
		if (*s == '$') {
			size_t n = 1;
			while (isalnum((unsigned char)s[n]) || s[n] == '_')
				n++;
			if (n == 1 || n - 1 >= RT_SCENARIO_VAR_MAX)
				return -1;
			uint64_t v = vars == NULL ? 1 : 0;
			for (size_t i = 0; vars != NULL && i < vars->n; i++)
				if (strlen(vars->name[i]) == n - 1 &&
				    memcmp(vars->name[i], s + 1, n - 1) == 0)
					v = vars->value[i];
			snprintf(num, sizeof(num), "%" PRIu64, v);
			put = num;
			len = strlen(num);
			s += n;
		} else {
			s++;
		}
		if (o + len + 1 > cap)
			return -1;
		memcpy(out + o, put, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

/* Parses "TAG text" into op. 0, or -1 with why filled. */
static int imap_op(const char *text, const rt_scenario_vars *vars, model_op *op,
		   cm_err *why)
{
	char line[RT_SCENARIO_TEXT_MAX + 256], tag[16];
	memcpy(line, "s ", 2);
	if (substitute(text, vars, line + 2, sizeof(line) - 2) < 0)
		return cm_err_set(why, "a $variable is malformed or the line too long");
	model_op_init(op, MODEL_OP_NONE);
	int r = imapd_parse_command(line, strlen(line), tag, sizeof(tag), op, why);
	if (r != IMAPD_PARSE_OK)
		return -1;
	switch (op->kind) {
	case MODEL_OP_SELECT: case MODEL_OP_STATUS: case MODEL_OP_NOOP:
	case MODEL_OP_ENABLE: case MODEL_OP_STORE: case MODEL_OP_FETCH:
	case MODEL_OP_SEARCH: case MODEL_OP_EXPUNGE: case MODEL_OP_COPY:
	case MODEL_OP_MOVE:
		return 0;
	default:
		model_op_free(op);
		return cm_err_set(why, "%s is not a scenario step (sessions connect by "
				  "themselves; APPEND and DELIVER take a mailbox and flags)",
				  model_op_name(op->kind));
	}
}

/* One indented program line into st. 0, or -1 with the error set. */
static int parse_step(const pos *p, const char *s, bool agent, bool syncs,
		      rt_scenario_step *st)
{
	memset(st, 0, sizeof(*st));
	st->line = p->line;
	char body[RT_SCENARIO_TEXT_MAX];
	const char *arrow = strstr(s, "=>");
	size_t n = arrow ? (size_t)(arrow - s) : strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(body))
		return fail_at(p, s, n ? "step too long" : "empty step", "");
	memcpy(body, s, n);
	body[n] = '\0';
	if (arrow != NULL) {
		const char *v = skip_space(arrow + 2);
		size_t k = v[0] == '$' ? word_len(v) : 0;
		if (k < 2 || k - 1 >= RT_SCENARIO_VAR_MAX || v[k] != '\0')
			return fail_at(p, v, "expected one $variable after =>", "");
		memcpy(st->capture, v + 1, k - 1);
	}
	size_t w = word_len(body);
	bool is_append = w == 6 && strncasecmp(body, "APPEND", 6) == 0;
	bool is_deliver = w == 7 && strncasecmp(body, "DELIVER", 7) == 0;
	bool is_sync = w == 4 && strncasecmp(body, "SYNC", 4) == 0;
	if (syncs != is_sync)
		return fail_at(p, s, syncs ? "a sync agent only syncs" :
			       "SYNC is for a sync agent", "\"SYNC mailbox\"");
	if (is_sync) {
		cm_flags none;
		st->kind = MODEL_OP_SYNC;
		return parse_box_flags(p, s + (skip_space(body + w) - body), &st->box, &none,
				       false);
	}
	if (agent != is_deliver)
		return fail_at(p, s, agent ? "an agent only delivers" :
			       "DELIVER is for agents", "\"DELIVER mailbox\"");
	if (is_append || is_deliver) {
		st->kind = is_append ? MODEL_OP_APPEND : MODEL_OP_DELIVER;
		return parse_box_flags(p, s + (skip_space(body + w) - body), &st->box,
				       &st->flags, is_append);
	}
	snprintf(st->text, sizeof(st->text), "%s", body);
	model_op op;
	cm_err why;
	if (imap_op(body, NULL, &op, &why) < 0)
		return fail_at(p, s, "not a command a scenario can run", why.text);
	st->kind = op.kind;
	model_op_free(&op);
	return 0;
}

/* "client A:", "agent D:" or "sync S:"; 0 with a new client, or -1. */
static int parse_client(const pos *p, const char *s, bool agent, rt_scenario *sc,
			rt_scenario_client **cur)
{
	bool syncs = strncmp(s, "sync ", 5) == 0;
	const char *name = skip_space(s + (agent ? 5 : 6));
	size_t n = 0;
	while (isalnum((unsigned char)name[n]) || name[n] == '_' || name[n] == '-')
		n++;
	if (n == 0 || n >= sizeof((*cur)->name) || name[n] != ':' ||
	    *skip_space(name + n + 1) != '\0')
		return fail_at(p, name, "expected a name and ':'", "\"client A:\"");
	if (sc->nclients + sc->nagents >= RT_SCENARIO_CLIENTS_MAX)
		return fail_at(p, s, "too many clients", "at most 4");
	if (!agent && sc->nagents > 0)
		return fail_at(p, s, "IMAP clients come before agents", "");
	if (sc->nagents > 0 && sc->client[sc->nclients + sc->nagents - 1].syncs)
		return fail_at(p, s, "the sync agent comes last", "");
	rt_scenario_client *c = &sc->client[sc->nclients + sc->nagents];
	memset(c, 0, sizeof(*c));
	memcpy(c->name, name, n);
	c->agent = agent;
	c->syncs = syncs;
	for (size_t i = 0; i < sc->nclients + sc->nagents; i++)
		if (strcmp(sc->client[i].name, c->name) == 0)
			return fail_at(p, name, "client name used twice", "");
	if (agent)
		sc->nagents++;
	else
		sc->nclients++;
	*cur = c;
	return 0;
}

/* "invariants: ID ID ..." */
static int parse_targets(const pos *p, const char *v, rt_scenario *sc)
{
	while (*(v = skip_space(v)) != '\0') {
		size_t n = word_len(v);
		char id[64];
		if (n >= sizeof(id) || sc->ntargets >= CM_ARRAY_LEN(sc->targets))
			return fail_at(p, v, "too many or too long invariant IDs", "");
		memcpy(id, v, n);
		id[n] = '\0';
		const model_inv_info *inv = model_inv_find(id);
		if (inv == NULL)
			return fail_at(p, v, "unknown invariant ID", "see docs/invariants.md");
		sc->targets[sc->ntargets++] = inv->inv;
		v += n;
	}
	return 0;
}

/* "mailboxes: INBOX Archive" */
static int parse_boxes(const pos *p, const char *v, rt_scenario *sc)
{
	while (*(v = skip_space(v)) != '\0') {
		size_t n = word_len(v);
		int b = rt_scenario_box(v, n);
		if (b < 0)
			return fail_at(p, v, "unknown mailbox",
				       "a scenario uses INBOX, Archive, Work or Junk");
		sc->boxes = CM_MAX(sc->boxes, b + 1);
		v += n;
	}
	return 0;
}

/* "kill: A B": names of clients a schedule may kill (checked once the
 * clients are known). */
static int parse_kill(const pos *p, const char *v, rt_scenario *sc)
{
	size_t k = 0;
	sc->kill_line = p->line;
	while (*(v = skip_space(v)) != '\0') {
		size_t n = word_len(v);
		if (k >= RT_SCENARIO_CLIENTS_MAX || n >= sizeof(sc->kill_names[0]))
			return fail_at(p, v, "too many or too long client names", "");
		memcpy(sc->kill_names[k++], v, n);
		v += n;
	}
	if (k == 0)
		return fail_at(p, v, "expected the names of clients", "\"kill: A\"");
	return 0;
}

/* "capabilities: CONDSTORE MOVE": the extensions the scenario needs. */
static int parse_caps(const pos *p, const char *v, rt_scenario *sc)
{
	while (*(v = skip_space(v)) != '\0') {
		size_t n = word_len(v);
		unsigned bit = 0;
		for (unsigned b = 1; b != 0 && model_cap_name(b) != NULL; b <<= 1)
			if (strlen(model_cap_name(b)) == n &&
			    strncasecmp(model_cap_name(b), v, n) == 0)
				bit = b;
		if (bit == 0)
			return fail_at(p, v, "unknown capability", "UIDPLUS, CONDSTORE, "
				       "QRESYNC, MOVE, ENABLE, LITERAL+, ESEARCH, IMAP4rev2");
		sc->caps |= bit;
		v += n;
	}
	return 0;
}

/* A number 0..max at v into *out. */
static int parse_count(const pos *p, const char *v, unsigned max, const char *what,
		       unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long b = strtoul(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || b > max)
		return fail_at(p, v, what, "");
	*out = (unsigned)b;
	return 0;
}

static int copy_text(const pos *p, const char *v, char *out, size_t cap)
{
	if (strlen(v) >= cap)
		return fail_at(p, v, "text too long", "");
	snprintf(out, cap, "%s", v);
	return 0;
}

/* One header line "key: value". */
static int parse_header(const pos *p, const char *s, rt_scenario *sc,
			rt_scenario_client **cur)
{
	if (strncmp(s, "client ", 7) == 0)
		return parse_client(p, s, false, sc, cur);
	if (strncmp(s, "agent ", 6) == 0 || strncmp(s, "sync ", 5) == 0)
		return parse_client(p, s, true, sc, cur);
	const char *colon = strchr(s, ':');
	if (colon == NULL)
		return fail_at(p, s, "expected \"key: value\" or an indented step", "");
	size_t k = (size_t)(colon - s);
	const char *v = skip_space(colon + 1);
	*cur = NULL;
	if (k == 8 && strncmp(s, "scenario", k) == 0)
		return copy_text(p, v, sc->name, sizeof(sc->name));
	if (k == 5 && strncmp(s, "about", k) == 0)
		return copy_text(p, v, sc->about, sizeof(sc->about));
	if (k == 6 && strncmp(s, "design", k) == 0)
		return copy_text(p, v, sc->design, sizeof(sc->design));
	if (k == 10 && strncmp(s, "invariants", k) == 0)
		return parse_targets(p, v, sc);
	if (k == 9 && strncmp(s, "mailboxes", k) == 0)
		return parse_boxes(p, v, sc);
	if (k == 5 && strncmp(s, "bound", k) == 0)
		return parse_count(p, v, 8, "bound must be 0 to 8", &sc->bound);
	if (k == 5 && strncmp(s, "crash", k) == 0)
		return parse_count(p, v, 2, "crash must be 0 to 2", &sc->crashes);
	if (k == 8 && strncmp(s, "replicas", k) == 0) {
		if (parse_count(p, v, 2, "replicas must be 2", &sc->replicas) < 0)
			return -1;
		return sc->replicas == 2 ? 0 : fail_at(p, v, "replicas must be 2", "");
	}
	if (k == 4 && strncmp(s, "kill", k) == 0)
		return parse_kill(p, v, sc);
	if (k == 12 && strncmp(s, "capabilities", k) == 0)
		return parse_caps(p, v, sc);
	if (k == 8 && strncmp(s, "lose-log", k) == 0) {
		cm_flags none;
		return parse_box_flags(p, v, &sc->lose_log, &none, false);
	}
	if (k == 12 && strncmp(s, "rotate-bytes", k) == 0) {
		unsigned b = 0;
		if (parse_count(p, v, 1u << 20, "rotate-bytes must be 0 to 1048576", &b) < 0)
			return -1;
		sc->rotate_bytes = b;
		return 0;
	}
	if (k == 7 && strncmp(s, "message", k) == 0) {
		if (sc->nmsg >= RT_SCENARIO_MESSAGES_MAX)
			return fail_at(p, s, "too many starting messages", "at most 32");
		struct rt_scenario_message *m = &sc->msg[sc->nmsg++];
		return parse_box_flags(p, v, &m->box, &m->flags, true);
	}
	return fail_at(p, s, "unknown key", "scenarios/README.md lists them");
}

/* Adds the $names of text (or the one name when whole) to names[*n],
 * each once; false when there would be more than the slots. */
static bool add_names(const char *text, bool whole, char names[][RT_SCENARIO_VAR_MAX],
		      size_t *n)
{
	for (const char *s = text; *s != '\0'; s++) {
		if (!whole && *s != '$')
			continue;
		const char *name = whole ? s : s + 1;
		size_t len = 0;
		while (isalnum((unsigned char)name[len]) || name[len] == '_')
			len++;
		if (len == 0 || len >= RT_SCENARIO_VAR_MAX)
			continue; /* not a name: the step or expectation says so */
		size_t k = 0;
		while (k < *n && (strlen(names[k]) != len || memcmp(names[k], name, len) != 0))
			k++;
		if (k == *n) {
			if (*n >= RT_SCENARIO_VARS_MAX)
				return false;
			memcpy(names[(*n)++], name, len);
			names[k][len] = '\0';
		}
		if (whole)
			break;
		s = name + len - 1;
	}
	return true;
}

/* Each client names at most RT_SCENARIO_VARS_MAX variables: captures and
 * what its '*' expectations bind. 0, or -1 naming the client. */
static int check_vars(const pos *p, const rt_scenario *sc)
{
	for (size_t i = 0; i < sc->nclients + sc->nagents; i++) {
		char names[RT_SCENARIO_VARS_MAX][RT_SCENARIO_VAR_MAX] = {{0}};
		size_t n = 0;
		bool ok = true;
		const rt_scenario_client *c = &sc->client[i];
		for (size_t k = 0; k < c->nsteps && ok; k++) {
			const rt_scenario_step *st = &c->step[k];
			ok = add_names(st->capture, true, names, &n);
			for (size_t e = 0; e < st->nexpect && ok; e++)
				ok = st->expect[e].kind != '*' ||
				     add_names(st->expect[e].text, false, names, &n);
		}
		if (!ok)
			return cm_err_set(p->err, "%s: client %s names more than %d "
					  "$variables", p->path, c->name, RT_SCENARIO_VARS_MAX);
	}
	return 0;
}

/* The "kill:" names into sc->killable. 0, or -1 naming the unknown one. */
static int resolve_kill(const pos *p, rt_scenario *sc)
{
	for (size_t k = 0; k < CM_ARRAY_LEN(sc->kill_names) && sc->kill_names[k][0]; k++) {
		size_t i = 0;
		while (i < sc->nclients + sc->nagents &&
		       strcmp(sc->client[i].name, sc->kill_names[k]) != 0)
			i++;
		if (i == sc->nclients + sc->nagents)
			return cm_err_set(p->err, "%s:%u: kill: no client is named %s",
					  p->path, sc->kill_line, sc->kill_names[k]);
		sc->killable |= 1u << i;
	}
	return 0;
}

/* The whole scenario is consistent: a name, a program per client, every
 * mailbox it names declared. */
static int check_whole(const pos *p, rt_scenario *sc)
{
	if (sc->name[0] == '\0')
		return cm_err_set(p->err, "%s: no \"scenario: NAME\" line", p->path);
	if (sc->nclients + sc->nagents == 0)
		return cm_err_set(p->err, "%s: no client", p->path);
	for (size_t i = 0; i < sc->nclients + sc->nagents; i++) {
		const rt_scenario_client *c = &sc->client[i];
		if (c->nsteps == 0)
			return cm_err_set(p->err, "%s: client %s has no step", p->path,
					  c->name);
		for (size_t k = 0; k < c->nsteps; k++)
			if ((c->step[k].kind == MODEL_OP_APPEND ||
			     c->step[k].kind == MODEL_OP_DELIVER ||
			     c->step[k].kind == MODEL_OP_SYNC) &&
			    c->step[k].box >= sc->boxes)
				return cm_err_set(p->err, "%s:%u: mailbox %s is not in "
						  "\"mailboxes:\"", p->path, c->step[k].line,
						  rt_scenario_boxes[c->step[k].box]);
	}
	if (resolve_kill(p, sc) < 0 || check_vars(p, sc) < 0)
		return -1;
	bool syncer = sc->nagents > 0 && sc->client[sc->nclients + sc->nagents - 1].syncs;
	if (syncer != (sc->replicas > 0))
		return cm_err_set(p->err, "%s: %s", p->path, syncer
				  ? "a sync agent needs \"replicas: 2\""
				  : "\"replicas: 2\" needs a sync agent (\"sync S:\", last)");
	if (syncer && (sc->crashes > 0 || sc->killable != 0 || sc->rotate_bytes != 0))
		return cm_err_set(p->err, "%s: a replicated scenario has no crash:, kill: "
				  "or rotate-bytes: (the agent has no full sync)", p->path);
	if (sc->lose_log >= sc->boxes)
		return cm_err_set(p->err, "%s: lose-log: mailbox %s is not in \"mailboxes:\"",
				  p->path, rt_scenario_boxes[sc->lose_log]);
	if (sc->lose_log >= 0 && sc->crashes == 0)
		return cm_err_set(p->err, "%s: lose-log: needs \"crash:\" (the log is "
				  "lost when the store crashes)", p->path);
	for (size_t i = 0; i < sc->nmsg; i++)
		if (sc->msg[i].box >= sc->boxes)
			return cm_err_set(p->err, "%s: a starting message's mailbox %s is "
					  "not in \"mailboxes:\"", p->path,
					  rt_scenario_boxes[sc->msg[i].box]);
	return 0;
}

/* An expectation line of cur's last step: 1, 0 when t is not one (a
 * step), -1 after the error. */
static int parse_expect(const pos *p, const char *t, rt_scenario_client *cur)
{
	rt_expect e;
	cm_err why;
	unsigned col;
	int r = rt_expect_parse(t, &e, &why, &col);
	if (r == 0)
		return 0;
	if (r < 0)
		return fail_at(p, t + col - 1, "bad expectation", why.text);
	if (cur->nsteps == 0)
		return fail_at(p, t, "an expectation before any step", "it follows "
			       "the step whose reply it is about");
	rt_scenario_step *st = &cur->step[cur->nsteps - 1];
	if (st->nexpect >= RT_SCENARIO_EXPECT_MAX)
		return fail_at(p, t, "too many expectations", "at most 4 per step");
	st->expect_line[st->nexpect] = p->line;
	st->expect[st->nexpect++] = e;
	return 1;
}

/* One line (NUL-terminated, no newline). 0, or -1. */
static int parse_line(pos *p, const char *s, rt_scenario *sc, rt_scenario_client **cur)
{
	const char *t = skip_space(s);
	if (*t == '\0' || *t == '#')
		return 0;
	if (t == s)
		return parse_header(p, s, sc, cur);
	if (*cur == NULL)
		return fail_at(p, t, "a step outside a client", "indent steps under "
			       "\"client NAME:\" or \"agent NAME:\"");
	int e = parse_expect(p, t, *cur);
	if (e != 0)
		return e < 0 ? -1 : 0;
	if ((*cur)->nsteps >= RT_SCENARIO_STEPS_MAX)
		return fail_at(p, t, "too many steps", "at most 16 per client");
	if (parse_step(p, t, (*cur)->agent && !(*cur)->syncs, (*cur)->syncs,
		       &(*cur)->step[(*cur)->nsteps]) < 0)
		return -1;
	(*cur)->nsteps++;
	return 0;
}

int rt_scenario_parse(const char *path, const char *text, size_t len,
		      rt_scenario *sc, cm_err *err)
{
	memset(sc, 0, sizeof(*sc));
	sc->boxes = 1;
	sc->bound = 2;
	sc->lose_log = -1;
	pos p = {.path = path, .err = err};
	rt_scenario_client *cur = NULL;
	char line[512];
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t raw = nl ? (size_t)(nl - (text + i)) : len - i, n = raw;
		p.line++;
		if (n > 0 && text[i + n - 1] == '\r')
			n--;
		if (n >= sizeof(line) || memchr(text + i, '\0', n) != NULL)
			return cm_err_set(err, "%s:%u:1: line too long or not text", path,
					  p.line);
		memcpy(line, text + i, n);
		line[n] = '\0';
		p.start = line;
		if (parse_line(&p, line, sc, &cur) < 0)
			return -1;
		i += raw + (nl ? 1 : 0);
	}
	return check_whole(&p, sc);
}

int rt_scenario_load(const char *path, rt_scenario *sc, cm_err *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return cm_err_set(err, "%s: cannot open: %s", path, strerror(errno));
	char *buf = cm_xmalloc(SCENARIO_FILE_MAX + 1);
	size_t n = fread(buf, 1, SCENARIO_FILE_MAX + 1, f);
	bool bad = ferror(f) != 0;
	fclose(f);
	int r;
	if (bad)
		r = cm_err_set(err, "%s: read error", path);
	else if (n > SCENARIO_FILE_MAX)
		r = cm_err_set(err, "%s: larger than 64 KiB", path);
	else
		r = rt_scenario_parse(path, buf, n, sc, err);
	free(buf);
	return r;
}

int rt_scenario_step_op(const rt_scenario_step *st, const rt_scenario_vars *vars,
			uint64_t msg_seq, model_op *op, cm_err *err)
{
	if (st->kind == MODEL_OP_SYNC) {
		model_op_init(op, MODEL_OP_SYNC);
		snprintf(op->mailbox, sizeof(op->mailbox), "%s", rt_scenario_boxes[st->box]);
		op->replica = 1;
		op->peer = 2;
		op->opaque = true; /* the agent's writes are not ops of their own */
		return 0;
	}
	if (st->kind != MODEL_OP_APPEND && st->kind != MODEL_OP_DELIVER)
		return imap_op(st->text, vars, op, err);
	model_op_init(op, st->kind);
	snprintf(op->mailbox, sizeof(op->mailbox), "%s", rt_scenario_boxes[st->box]);
	op->flags = st->flags;
	snprintf(op->msg_id, sizeof(op->msg_id), "s-%" PRIu64, msg_seq);
	cm_buf b = {0};
	model_message_bytes(op->msg_id, &b);
	op->size = (uint32_t)b.len;
	op->body_hash = cm_hash64(b.data, b.len);
	cm_buf_free(&b);
	return 0;
}

/* The slot of variable name[0..len) in vars, or -1. */
static int var_find(const rt_scenario_vars *vars, const char *name, size_t len)
{
	for (size_t k = 0; k < vars->n; k++)
		if (strlen(vars->name[k]) == len && memcmp(vars->name[k], name, len) == 0)
			return (int)k;
	return -1;
}

static bool var_get(void *ctx, const char *name, size_t len, uint64_t *v)
{
	const rt_scenario_vars *vars = ctx;
	int k = var_find(vars, name, len);
	if (k >= 0)
		*v = vars->value[k];
	return k >= 0;
}

static void var_set(void *ctx, const char *name, size_t len, uint64_t v)
{
	rt_scenario_vars *vars = ctx;
	int k = var_find(vars, name, len);
	if (k < 0) {
		/* check_vars bounded a client's names by the slots */
		assert(vars->n < CM_ARRAY_LEN(vars->value) && len < RT_SCENARIO_VAR_MAX);
		k = (int)vars->n++;
		memcpy(vars->name[k], name, len);
		vars->name[k][len] = '\0';
	}
	vars->value[k] = v;
}

void rt_scenario_step_words(const rt_scenario_step *st, cm_buf *out)
{
	if (st->kind == MODEL_OP_APPEND || st->kind == MODEL_OP_DELIVER)
		cm_buf_printf(out, "%s %s", model_op_name(st->kind),
			      rt_scenario_boxes[st->box]);
	else
		cm_buf_puts(out, st->text);
	cm_buf_printf(out, " (line %u)", st->line);
}

void rt_scenario_order_words(const rt_scenario *sc, const uint32_t *seq, size_t len,
			     cm_buf *out)
{
	size_t next[RT_SCENARIO_CLIENTS_MAX] = {0};
	cm_buf_clear(out);
	for (size_t i = 0; i < len; i++) {
		assert(seq[i] < sc->nclients + sc->nagents);
		const rt_scenario_client *c = &sc->client[seq[i]];
		assert(next[seq[i]] < c->nsteps);
		cm_buf_printf(out, "%s%s: ", i ? ", then " : "", c->name);
		rt_scenario_step_words(&c->step[next[seq[i]]++], out);
	}
}

void rt_scenario_capture(const rt_scenario_step *st, const model_result *res,
			 rt_scenario_vars *vars)
{
	if (st->capture[0] == '\0')
		return;
	uint64_t v = 0;
	for (size_t i = 0; i < res->nut && v == 0; i++)
		if (res->ut[i].kind == MODEL_UT_FETCH &&
		    (res->ut[i].fetch.has & MODEL_F_MODSEQ))
			v = res->ut[i].fetch.modseq;
	var_set(vars, st->capture, strlen(st->capture), v);
}

const model_violation *rt_scenario_verdict(const model_checker *c,
					   const rt_scenario_unmet *unmet, bool *failed)
{
	size_t nv;
	const model_violation *v = model_checker_violations(c, &nv), *first = NULL;
	for (size_t i = 0; i < nv; i++) {
		if (v[i].severity != MODEL_SEV_ERROR || (unsigned)v[i].inv >= MODEL_INV_COUNT)
			continue;
		failed[v[i].inv] = true;
		if (first == NULL)
			first = &v[i];
	}
	if (unmet->failed) {
		assert(unmet->v.inv == MODEL_INV_SCENARIO_EXPECT);
		failed[MODEL_INV_SCENARIO_EXPECT] = true;
		if (first == NULL)
			first = &unmet->v;
	}
	return first;
}

void rt_scenario_expect(const rt_scenario *sc, size_t c, const rt_scenario_step *st,
			const model_result *res, uint32_t id, uint64_t op_id,
			rt_scenario_vars *vars, rt_scenario_unmet *unmet)
{
	assert(c < sc->nclients + sc->nagents);
	rt_expect_vars cb = {var_get, var_set, vars};
	cm_buf why = {0};
	size_t i = 0;
	while (i < st->nexpect && rt_expect_check(&st->expect[i], res, &cb, &why))
		i++;
	if (i < st->nexpect && !unmet->failed) {
		model_violation *v = &unmet->v;
		memset(v, 0, sizeof(*v));
		v->inv = MODEL_INV_SCENARIO_EXPECT;
		v->severity = MODEL_SEV_ERROR;
		v->client = id;
		v->events[0] = op_id;
		cm_buf step = {0};
		rt_scenario_step_words(st, &step);
		snprintf(v->detail, sizeof(v->detail), "client %s, %s: %s (expectation on "
			 "line %u)", sc->client[c].name, step.data, why.data,
			 st->expect_line[i]);
		cm_buf_free(&step);
		unmet->failed = true;
	}
	cm_buf_free(&why);
}
