/* One checker test per invariant ID. argv[1] is the rules folder, argv[2]
 * docs/invariants.md.
 *
 * The folder holds, for each ID the history checker can report, a tiny
 * history that breaks the rule (ID.bad.jsonl) and its nearest legal
 * variant (ID.good.jsonl); a pair may also have a variant name
 * (ID.VARIANT.bad.jsonl, ID.VARIANT.good.jsonl). Each file is read with
 * the model's history reader and fed to the checker as `ratchet check`
 * does: a bad file must be reported under its ID at the catalogue's
 * severity, a good file must give no violation at all. Every bad file
 * needs its good twin and the reverse.
 *
 * Every ID in the tables of docs/invariants.md must have a pair, or be in
 * checked_elsewhere below with where it is checked (or why not yet); an
 * ID there must have no pair, so the list stays exact. A file that shows
 * a checker bug is in known_failing: it is expected to fail, and the test
 * fails once it passes, so that the entry goes. */
#include "checker.h"
#include "history.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct elsewhere {
	const char *id;
	const char *where;
} elsewhere;

/* IDs without a rule pair, and where they are checked instead. */
static const elsewhere checked_elsewhere[] = {
	{"UID-NONEXISTENT-IGNORED", "not reported by the history checker (no rule in "
	 "model/checker names it); the reference store: reference-store/store/tests/test_store.c "
	 "t_store (a STORE on absent UIDs changes no HIGHESTMODSEQ)"},
	{"RECENT-SESSION", "not reported by the history checker (no rule in model/checker "
	 "names it); the simulated server: reference-store/session/tests/test_session_sync.c "
	 "test_recent_one_claimer (one session claims \\Recent)"},
	{"UNCHANGEDSINCE-ACCEPT", "not reported by the history checker (no rule in "
	 "model/checker names it); reference-store/store/tests/test_store.c t_store and "
	 "reference-store/session/tests/test_session_modseq.c test_unchangedsince (an unchanged message is "
	 "stored, with a MODSEQ above UNCHANGEDSINCE)"},
	{"EXPUNGED-DURING-STORE", "never reported under its own ID: its one error (the "
	 "UID exists again) is reported as UID-NO-REUSE, rules UID-NO-REUSE.*; the "
	 "answers it accepts: model/checker/tests/test_checker_flags.c t_store_response (OK with the "
	 "flags from before the expunge)"},
	{"QRESYNC-NO-GAP", "not reported by the history checker (no rule in model/checker "
	 "names it); the simulated server: reference-store/session/tests/test_session_races.c "
	 "test_highestmodseq_with_pending_expunge"},
	{"SCENARIO-EXPECT", "not reported by the history checker: `ratchet explore` "
	 "judges a scenario's expectations of its replies (harness/explore/expect.c); "
	 "tests/test_explore.py test_an_expectation_*"},
};

typedef struct known {
	const char *file;
	const char *why;
} known;

/* Files that show a checker bug: written as they should behave. */
static const known known_failing[] = {
	{"VANISHED-EARLIER-COMPLETE.own-expunge.bad.jsonl", "missed: an expunge "
	 "reported only in the expunging command's own reply never records when it "
	 "completed (its status is set after the reply is replayed)"},
	{"MOVE-NO-DUP.own-move.bad.jsonl", "reported as UID-NO-REUSE: the moving "
	 "session's own MOVE reply is replayed before the MOVE's OK is recorded"},
	{"UID-BELOW-UIDNEXT.same-select.bad.jsonl", "missed: a UID of the SELECT's own "
	 "view at or above that SELECT's UIDNEXT (only UIDs seen before it count)"},
};

#define N_ELSEWHERE (sizeof(checked_elsewhere) / sizeof(checked_elsewhere[0]))
#define N_KNOWN (sizeof(known_failing) / sizeof(known_failing[0]))
#define NAME_MAX_LEN 256

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

/* ---- one history file ---- */

typedef struct outcome {
	bool found;           /* the ID, at its catalogue severity */
	uint64_t violations;  /* errors and warnings */
	char seen[512];       /* what was reported, for messages */
} outcome;

static void describe(const model_checker *c, model_inv want, outcome *o)
{
	size_t n, at = 0;
	const model_violation *v = model_checker_violations(c, &n);
	const model_checker_stats *st = model_checker_get_stats(c);
	o->violations = st->errors + st->warnings;
	o->seen[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const model_inv_info *info = model_inv_get(v[i].inv);
		if (v[i].inv == want && v[i].severity == model_inv_get(want)->severity)
			o->found = true;
		if (at < sizeof(o->seen))
			at += (size_t)snprintf(o->seen + at, sizeof(o->seen) - at, "%s%s %s",
					       i ? ", " : "", info->id,
					       v[i].severity == MODEL_SEV_ERROR ? "error"
										: "warning");
	}
	if (n == 0)
		snprintf(o->seen, sizeof(o->seen), "nothing");
}

/* Reads path into a checker set up from its header; 0, or -1 with err. */
static int check_file(const char *path, model_inv want, outcome *o, char *err,
		      size_t errlen)
{
	FILE *in = fopen(path, "r");
	if (in == NULL) {
		snprintf(err, errlen, "cannot open");
		return -1;
	}
	model_history_header h;
	cm_err e;
	model_history_reader *rd = model_history_reader_new(in, &h, &e);
	if (rd == NULL) {
		snprintf(err, errlen, "%s", e.text);
		fclose(in);
		return -1;
	}
	model_checker_options co = {.capabilities = h.capabilities,
				    .imap4rev2 = (h.capabilities & MODEL_CAP_IMAP4REV2) != 0};
	model_checker *c = model_checker_new(&co);
	model_event ev;
	model_event_init(&ev);
	model_history_got got;
	while ((got = model_history_read(rd, &ev, &e)) == MODEL_HISTORY_EVENT)
		model_checker_feed(c, &ev);
	model_event_free(&ev);
	if (got == MODEL_HISTORY_NEXT_RUN)
		snprintf(err, errlen, "more than one run in the file");
	if (got == MODEL_HISTORY_ERROR)
		snprintf(err, errlen, "%s", e.text);
	if (got == MODEL_HISTORY_END) {
		model_checker_finish(c);
		describe(c, want, o);
	}
	model_checker_free(c);
	model_history_reader_free(rd);
	fclose(in);
	return got == MODEL_HISTORY_END ? 0 : -1;
}

/* ---- file names ---- */

typedef struct rule_file {
	char name[NAME_MAX_LEN];
	char stem[NAME_MAX_LEN];  /* the name without .bad.jsonl / .good.jsonl */
	char id[NAME_MAX_LEN];    /* the stem up to its first '.' */
	bool bad;
} rule_file;

static bool ends_with(const char *s, const char *suffix, size_t *cut)
{
	size_t n = strlen(s), k = strlen(suffix);
	if (n <= k || strcmp(s + n - k, suffix) != 0)
		return false;
	*cut = n - k;
	return true;
}

/* False if name is not a rule file (any other *.jsonl is a failure). */
static bool parse_name(const char *name, rule_file *f)
{
	size_t cut;
	if (strlen(name) >= NAME_MAX_LEN)
		return false;
	if (ends_with(name, ".bad.jsonl", &cut))
		f->bad = true;
	else if (ends_with(name, ".good.jsonl", &cut))
		f->bad = false;
	else
		return false;
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->stem, sizeof(f->stem), "%.*s", (int)cut, name);
	snprintf(f->id, sizeof(f->id), "%.*s", (int)strcspn(f->stem, "."), f->stem);
	return true;
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const rule_file *)a)->name, ((const rule_file *)b)->name);
}

/* The rule files of dir, sorted by name; NULL if it cannot be read. */
static rule_file *list_rules(const char *dir, size_t *n_r)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	rule_file *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		rule_file f;
		if (!parse_name(e->d_name, &f)) {
			size_t cut;
			if (ends_with(e->d_name, ".jsonl", &cut))
				fail("%s: not NAME.bad.jsonl or NAME.good.jsonl", e->d_name);
			continue;
		}
		CM_GROW(v, cap, n + 1);
		v[n++] = f;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_files);
	*n_r = n;
	return v;
}

/* ---- the lists ---- */

static const elsewhere *find_elsewhere(const char *id)
{
	for (size_t i = 0; i < N_ELSEWHERE; i++)
		if (strcmp(checked_elsewhere[i].id, id) == 0)
			return &checked_elsewhere[i];
	return NULL;
}

static const known *find_known(const char *file)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (strcmp(known_failing[i].file, file) == 0)
			return &known_failing[i];
	return NULL;
}

static bool has_file(const rule_file *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return true;
	return false;
}

/* ---- judging ---- */

/* Runs one file and says whether it behaved as its name says. */
static void judge(const char *dir, const rule_file *f, const model_inv_info *info)
{
	char path[2 * NAME_MAX_LEN + 8], err[sizeof(((cm_err *)0)->text)] = "";
	outcome o = {0};
	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	if (check_file(path, info->inv, &o, err, sizeof(err)) < 0) {
		fail("%s: unreadable history: %s", f->name, err);
		return;
	}
	bool ok = f->bad ? o.found : o.violations == 0;
	const known *k = find_known(f->name);
	if (ok && k != NULL) {
		fail("%s passes now: remove it from known_failing (%s)", f->name, k->why);
	} else if (!ok && k != NULL) {
		printf("known failing %s: %s (reported: %s)\n", f->name, k->why, o.seen);
	} else if (!ok && f->bad) {
		fail("%s: %s (%s) not reported; reported: %s", f->name, info->id,
		     info->severity == MODEL_SEV_ERROR ? "error" : "warning", o.seen);
	} else if (!ok) {
		fail("%s: a legal history, yet reported: %s", f->name, o.seen);
	} else if (f->bad && o.violations > 1) {
		printf("note %s: also reported: %s\n", f->name, o.seen);
	}
}

/* Checks one file's name, twin and lists, then runs it. */
static void check_rule(const char *dir, const rule_file *v, size_t n, size_t i,
		       bool *paired)
{
	const rule_file *f = &v[i];
	char twin[NAME_MAX_LEN + 8];
	const model_inv_info *info = model_inv_find(f->id);
	if (info == NULL) {
		fail("%s: %s is not an invariant ID of the catalogue", f->name, f->id);
		return;
	}
	snprintf(twin, sizeof(twin), "%s.%s.jsonl", f->stem, f->bad ? "good" : "bad");
	if (!has_file(v, n, twin))
		fail("%s has no twin %s", f->name, twin);
	if (find_elsewhere(f->id) != NULL)
		fail("%s has a rule pair but is listed in checked_elsewhere (%s)", f->id,
		     find_elsewhere(f->id)->where);
	if (strcmp(f->stem, f->id) == 0 && has_file(v, n, twin))
		paired[info->inv] = true;
	judge(dir, f, info);
}

/* An ID cell of a catalogue table row ("| UID-ASCENDING | ..."), or false. */
static bool table_id(const char *line, char *id, size_t idlen)
{
	if (strncmp(line, "| ", 2) != 0)
		return false;
	size_t n = strcspn(line + 2, " |");
	if (n == 0 || n >= idlen || strncmp(line + 2 + n, " |", 2) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = line[2 + i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	snprintf(id, idlen, "%.*s", (int)n, line + 2);
	return strcmp(id, "ID") != 0;
}

/* Every ID of the catalogue tables has a pair or a checked_elsewhere entry;
 * every entry names an ID of the tables. Returns the IDs with pairs. */
static size_t check_catalogue(const char *doc, const bool *paired, bool *in_doc)
{
	FILE *in = fopen(doc, "r");
	char line[4096], id[64];
	size_t pairs = 0;
	if (in == NULL) {
		fail("%s: cannot open", doc);
		return 0;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		if (!table_id(line, id, sizeof(id)))
			continue;
		const model_inv_info *info = model_inv_find(id);
		if (info == NULL) {
			fail("%s: %s is in the tables but not in model/vocabulary/inv.c", doc, id);
			continue;
		}
		in_doc[info->inv] = true;
		if (paired[info->inv])
			pairs++;
		else if (find_elsewhere(id) == NULL)
			fail("%s has no rule pair (%s.bad.jsonl, %s.good.jsonl) and is not in "
			     "checked_elsewhere", id, id, id);
	}
	fclose(in);
	for (size_t i = 0; i < N_ELSEWHERE; i++) {
		const model_inv_info *info = model_inv_find(checked_elsewhere[i].id);
		if (info == NULL || !in_doc[info->inv])
			fail("checked_elsewhere names %s, which is not in the tables of %s",
			     checked_elsewhere[i].id, doc);
	}
	return pairs;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_model_rules RULES-DIR docs/invariants.md\n");
		return 2;
	}
	size_t n = 0;
	rule_file *v = list_rules(argv[1], &n);
	if (v == NULL) {
		fprintf(stderr, "test_model_rules: cannot read %s\n", argv[1]);
		return 2;
	}
	bool paired[MODEL_INV_COUNT] = {false}, in_doc[MODEL_INV_COUNT] = {false};
	for (size_t i = 0; i < n; i++)
		check_rule(argv[1], v, n, i, paired);
	for (size_t i = 0; i < N_KNOWN; i++)
		if (!has_file(v, n, known_failing[i].file))
			fail("known_failing names %s, which is not in %s", known_failing[i].file,
			     argv[1]);
	size_t pairs = check_catalogue(argv[2], paired, in_doc);
	for (size_t i = 0; i < N_ELSEWHERE; i++)
		printf("checked elsewhere %s: %s\n", checked_elsewhere[i].id,
		       checked_elsewhere[i].where);
	printf("%zu rule files, %zu IDs with a rule pair, %zu checked elsewhere, %zu "
	       "known failing files; %d failures\n", n, pairs, N_ELSEWHERE, N_KNOWN, failures);
	free(v);
	return failures ? 1 : 0;
}
