/* Command-line options of `ratchet run`: strict, one clear line per
 * mistake, exit 2. */
#include "cli.h"
#include "rs.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The shared strict parser (strtoull took " 5" and "+5"). */
static bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	return cm_parse_u64(s, 0, max, v);
}

static bool parse_seconds(const char *s, double *v)
{
	char *end;
	if (s == NULL || *s == '\0')
		return false;
	double x = strtod(s, &end);
	if (*end != '\0' || !isfinite(x) || x <= 0 || x > 1e7)
		return false;
	*v = x;
	return true;
}

/* "N" (ops) or "N%" (of the recorded ops, 0 to 100). */
static bool parse_max_unknown(const char *s, rt_opts *o)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= sizeof(num))
		return false;
	bool pct = s[n - 1] == '%';
	memcpy(num, s, n - pct);
	num[n - pct] = '\0';
	if (!parse_u64(num, pct ? 100 : UINT64_MAX / 2, &o->max_unknown))
		return false;
	o->max_unknown_pct = pct;
	return true;
}

static void mutant_list(void)
{
	fputs("ratchet: mutants:", stderr);
	for (const char *const *n = rs_mutant_names(); *n != NULL; n++)
		fprintf(stderr, " %s", *n);
	fputc('\n', stderr);
}

static int bad(const char *fmt, const char *arg)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	cm_error("run: %s", msg);
	return CM_EXIT_USAGE;
}

static void defaults(rt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->seed = (cm_wall_ns() ^ ((uint64_t)getpid() << 32)) >> 1 & 0xffffffffffffULL;
	o->ops = 400000;
	o->seconds = 30;
	o->shrink_seconds = 30;
	o->timeout = 10;
	o->box_size = 300;
	o->max_unknown = 50;
	o->max_unknown_pct = true;
}

int rt_opts_parse(rt_opts *o, int argc, char **argv, void (*usage)(FILE *out))
{
	defaults(o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		bool takes = true;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return CM_EXIT_CLEAN;
		} else if (strcmp(a, "--seed") == 0) {
			if (!parse_u64(v, INT64_MAX, &o->seed))
				return bad("--seed needs a number below 2^63, not '%s'", v);
		} else if (strcmp(a, "--clients") == 0) {
			_Static_assert(RT_MAX_CLIENTS == 64, "the message below names it");
			if (!cm_parse_u64(v, 1, RT_MAX_CLIENTS, &n))
				return bad("--clients needs a number from 1 to 64, not '%s'", v);
			o->clients = (unsigned)n;
		} else if (strcmp(a, "--ops") == 0) {
			if (!parse_u64(v, UINT64_MAX / 2, &o->ops) || o->ops == 0)
				return bad("--ops needs a positive number, not '%s'", v);
			o->ops_set = true;
		} else if (strcmp(a, "--runs") == 0) {
			if (!parse_u64(v, UINT32_MAX, &o->runs) || o->runs == 0)
				return bad("--runs needs a positive number, not '%s'", v);
		} else if (strcmp(a, "--seconds") == 0) {
			if (!parse_seconds(v, &o->seconds))
				return bad("--seconds needs a positive number, not '%s'", v);
			o->seconds_set = true;
		} else if (strcmp(a, "--shrink-seconds") == 0) {
			if (!parse_seconds(v, &o->shrink_seconds))
				return bad("--shrink-seconds needs a positive number, not '%s'", v);
		} else if (strcmp(a, "--timeout") == 0) {
			if (!parse_seconds(v, &o->timeout))
				return bad("--timeout needs a positive number of seconds, not '%s'", v);
		} else if (strcmp(a, "--max-unknown") == 0) {
			if (!parse_max_unknown(v, o))
				return bad("--max-unknown needs a number of ops or a percentage "
					   "(0%%-100%%), not '%s'", v);
		} else if (strcmp(a, "--mutant") == 0) {
			unsigned m = v ? rs_mutant_parse(v) : 0;
			if (m == 0) {
				mutant_list();
				return bad("unknown mutant '%s'", v);
			}
			o->mutant = v;
			o->mutants |= m;
		} else if (strcmp(a, "--report") == 0) {
			o->report = v;
		} else if (strcmp(a, "--junit") == 0) {
			o->junit = v;
		} else if (strcmp(a, "--history") == 0) {
			o->history = v;
		} else if (strcmp(a, "--target") == 0) {
			o->target = v;
		} else if (strcmp(a, "--mailbox-prefix") == 0) {
			o->mailbox_prefix = v;
		} else if (strcmp(a, "--mailbox-size") == 0) {
			if (!parse_u64(v, 1000000, &n))
				return bad("--mailbox-size needs a number up to 1000000, not '%s'", v);
			o->box_size = (uint32_t)n;
		} else {
			takes = false;
			if (strcmp(a, "--keep-going") == 0)
				o->keep_going = true;
			else if (strcmp(a, "--no-shrink") == 0)
				o->no_shrink = true;
			else if (strcmp(a, "--quiet") == 0)
				o->quiet = true;
			else if (strcmp(a, "--keep") == 0)
				o->keep = true;
			else if (strcmp(a, "--allow-inbox") == 0)
				o->allow_inbox = true;
			else if (strcmp(a, "--reuse") == 0)
				o->reuse = true;
			else if (strcmp(a, "--list-mutants") == 0) {
				for (const char *const *m = rs_mutant_names(); *m; m++)
					puts(*m);
				return CM_EXIT_CLEAN;
			} else
				return bad("unknown option '%s' (try --help)", a);
		}
		if (takes) {
			if (v == NULL)
				return bad("%s needs a value", a);
			i++;
		}
	}
	if (o->target == NULL && (o->mailbox_prefix || o->keep || o->allow_inbox || o->reuse))
		return bad("%s", "--mailbox-prefix, --keep, --allow-inbox and --reuse need --target");
	if (o->target != NULL && o->mutant != NULL)
		return bad("%s", "--mutant switches the embedded store's mutants; a real server "
			   "takes none (ratchet-imapd --mutant NAME does)");
	return -1;
}
