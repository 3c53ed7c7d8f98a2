/* The one command-line parser of the project (cm_options.h): a program
 * describes its options once, in a table, and both its parsing and its
 * --help come from that table. */
#include "cm.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Help lines stay within a terminal's 80 columns where they can. */
#define USAGE_COLUMNS 79

static bool takes_value(const cm_option *opt)
{
	return opt->kind != CM_OPTION_FLAG && opt->kind != CM_OPTION_COUNT;
}

static size_t choice_count(const char *const *names)
{
	size_t n = 0;
	while (names[n] != NULL)
		n++;
	return n;
}

/* A table is code: its mistakes are the programmer's, caught by the first
 * run of any test of that program (every run parses its table). */
static void options_check(const cm_options *s)
{
	assert(s->program != NULL && (s->options != NULL || s->noptions == 0));
	assert(s->nargs == 0 || (s->args != NULL && s->args_name != NULL));
	for (size_t i = 0; i < s->noptions; i++) {
		const cm_option *o = &s->options[i];
		assert(o->help != NULL);
		if (o->name == NULL)
			continue;
		assert(o->name[0] != '\0' && o->name[0] != '-' && strchr(o->name, '=') == NULL);
		assert(strcmp(o->name, "help") != 0 && strcmp(o->name, "help-man") != 0);
		assert(o->short_name != 'h');
		assert(o->short_name != '-' && o->short_name != '=');
		assert(o->to.flag != NULL); /* every member is a pointer: one test */
		assert((o->arg != NULL) == takes_value(o));
		assert(o->kind != CM_OPTION_U64 || o->min <= o->max);
		assert(o->kind != CM_OPTION_SECONDS || (o->min_s >= 0 && o->min_s <= o->max_s));
		assert(o->kind != CM_OPTION_CHOICE ||
		       (o->names != NULL && choice_count(o->names) <= 64));
		for (size_t j = 0; j < i; j++) {
			const cm_option *p = &s->options[j];
			assert(p->name == NULL || strcmp(p->name, o->name) != 0);
			assert(p->name == NULL || o->short_name == 0 ||
			       p->short_name != o->short_name);
		}
	}
}

/* The one line of a mistake, with the way to the usage. */
static cm_options_result mistake(const cm_options *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static cm_options_result mistake(const cm_options *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *cmd = s->command != NULL ? s->command : "";
	const char *sep = s->command != NULL ? " " : "";
	cm_error("%s%s%s (try '%s%s%s --help')", cmd, s->command != NULL ? ": " : "", msg,
		 s->program, sep, cmd);
	return CM_OPTIONS_USAGE;
}

/* Seconds as a person types them: digits and at most one '.', nothing
 * else (strtod would also take " 5", "+5", "1e3", "0x1p3" and "inf"). */
static bool parse_seconds(const char *s, double *v)
{
	size_t digits = 0, points = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.')
			points++;
		else
			return false;
	}
	if (digits == 0 || points > 1)
		return false;
	*v = strtod(s, NULL);
	return isfinite(*v);
}

/* The bits of a comma-separated list of names; -1 naming the stranger. */
static int parse_choice(const cm_options *s, const cm_option *opt, const char *v,
			uint64_t *bits)
{
	size_t len;
	for (const char *p = v; *p != '\0'; p += len + (p[len] == ',')) {
		len = strcspn(p, ",");
		size_t i = 0;
		while (opt->names[i] != NULL &&
		       (strlen(opt->names[i]) != len || strncasecmp(opt->names[i], p, len) != 0))
			i++;
		if (len > 0 && opt->names[i] == NULL) {
			cm_buf all = {0};
			for (size_t j = 0; opt->names[j] != NULL; j++)
				cm_buf_printf(&all, "%s%s", j ? ", " : "", opt->names[j]);
			mistake(s, "--%s: unknown name '%.*s' (one of: %s)", opt->name, (int)len,
				p, all.data != NULL ? all.data : "");
			cm_buf_free(&all);
			return -1;
		}
		if (len > 0)
			*bits |= (uint64_t)1 << i;
	}
	return 0;
}

/* Stores v (NULL for FLAG and COUNT) where opt says. */
static cm_options_result store(const cm_options *s, const cm_option *opt, const char *v)
{
	double d;
	switch (opt->kind) {
	case CM_OPTION_FLAG:
		*opt->to.flag = true;
		break;
	case CM_OPTION_COUNT:
		(*opt->to.count)++;
		break;
	case CM_OPTION_STRING:
		*opt->to.string = v;
		break;
	case CM_OPTION_U64:
		if (!cm_parse_u64(v, opt->min, opt->max, opt->to.u64))
			return mistake(s, "--%s needs a number from %" PRIu64 " to %" PRIu64
				       ", not '%s'", opt->name, opt->min, opt->max, v);
		break;
	case CM_OPTION_SECONDS:
		if (!parse_seconds(v, &d) || d <= 0 || d < opt->min_s || d > opt->max_s)
			return mistake(s, "--%s needs a number of seconds %s %.15g %s %.15g, "
				       "not '%s'", opt->name, opt->min_s > 0 ? "from" : "above",
				       opt->min_s, opt->min_s > 0 ? "to" : "and up to", opt->max_s, v);
		*opt->to.seconds = d;
		break;
	case CM_OPTION_CHOICE:
		if (parse_choice(s, opt, v, opt->to.choice) != 0)
			return CM_OPTIONS_USAGE;
		break;
	}
	if (opt->given != NULL)
		*opt->given = true;
	return CM_OPTIONS_OK;
}

/* The entry an option argument names ("--name", "--name=...", "-x"), and
 * where its "=value" starts (NULL: none). */
static const cm_option *find(const cm_options *s, const char *a, const char **eq)
{
	*eq = NULL;
	if (a[1] != '-') {
		for (size_t i = 0; a[2] == '\0' && i < s->noptions; i++)
			if (s->options[i].name != NULL && s->options[i].short_name == a[1])
				return &s->options[i];
		return NULL;
	}
	size_t len = strcspn(a + 2, "=");
	if (a[2 + len] == '=')
		*eq = a + 2 + len + 1;
	for (size_t i = 0; i < s->noptions; i++) {
		const char *name = s->options[i].name;
		if (name != NULL && strlen(name) == len && strncmp(name, a + 2, len) == 0)
			return &s->options[i];
	}
	return NULL;
}

cm_options_result cm_options_parse(const cm_options *s, int argc, char **argv)
{
	/* No cm_error_program(s->program) here: the history fuzz target
	 * defines its own cm_error and links no error.c, so the program's
	 * main names itself (ratchet's default needs nothing). */
	options_check(s);
	size_t nargs = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (a[0] != '-' || a[1] == '\0') {
			if (nargs == s->nargs)
				return mistake(s, "unexpected argument '%s'", a);
			s->args[nargs++] = a;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cm_options_usage(s, stdout);
			return CM_OPTIONS_HELP;
		}
		if (strcmp(a, "--help-man") == 0) {
			if (s->man != NULL)
				cm_man_head(s->man, s, stdout);
			cm_man_options(s, stdout);
			if (s->man != NULL)
				cm_man_tail(s->man, stdout);
			return CM_OPTIONS_HELP;
		}
		const cm_option *opt = find(s, a, &v);
		if (opt == NULL)
			return mistake(s, "unknown option '%s'", a);
		if (!takes_value(opt) && v != NULL)
			return mistake(s, "--%s takes no value, not '%s'", opt->name, v);
		if (takes_value(opt) && v == NULL) {
			if (i + 1 == argc)
				return mistake(s, "%s needs a value", a);
			v = argv[++i];
		}
		if (store(s, opt, v) != CM_OPTIONS_OK)
			return CM_OPTIONS_USAGE;
	}
	if (nargs < s->nargs)
		return mistake(s, "missing %s", s->args_name);
	return CM_OPTIONS_OK;
}

/* "--name ARG, -x": the left column of an option's help. */
static void option_head(const cm_option *o, char *out, size_t size)
{
	char shortname[8] = "";
	if (o->short_name != 0)
		snprintf(shortname, sizeof(shortname), ", -%c", o->short_name);
	snprintf(out, size, "--%s%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
		 shortname);
}

/* A help text in the column at width + 4: each '\n' starts a line there. */
static void put_help(FILE *out, const char *head, int width, const char *help)
{
	fprintf(out, "  %-*s  ", width, head);
	for (const char *p = help; *p != '\0'; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", width + 4, "");
	}
	fputc('\n', out);
}

/* A CHOICE's names under its help, wrapped at USAGE_COLUMNS, each line's
 * first name under the first line's. */
static void put_names(FILE *out, int width, const char *const *names)
{
	int col = fprintf(out, "%*sone of:", width + 4, "");
	for (size_t i = 0; names[i] != NULL; i++) {
		int len = (int)strlen(names[i]) + (names[i + 1] != NULL);
		if (col + 1 + len > USAGE_COLUMNS)
			col = fprintf(out, "\n%*s", width + 4 + 7, "") - 1;
		col += fprintf(out, " %s%s", names[i], names[i + 1] != NULL ? "," : "");
	}
	fputc('\n', out);
}

void cm_options_usage(const cm_options *s, FILE *out)
{
	char head[128];
	int width = (int)strlen("--help, -h");
	for (size_t i = 0; i < s->noptions; i++) {
		if (s->options[i].name == NULL)
			continue;
		option_head(&s->options[i], head, sizeof(head));
		width = CM_MAX(width, (int)strlen(head));
	}
	fprintf(out, "usage: %s%s%s ", s->program, s->command ? " " : "",
		s->command ? s->command : "");
	if (s->synopsis != NULL)
		fprintf(out, "%s\n", s->synopsis);
	else
		fprintf(out, "[options]%s%s\n", s->nargs ? " " : "", s->nargs ? s->args_name : "");
	for (size_t i = 0; i < s->noptions; i++) {
		const cm_option *o = &s->options[i];
		if (o->name == NULL) {
			fprintf(out, "%s\n", o->help);
			continue;
		}
		option_head(o, head, sizeof(head));
		put_help(out, head, width, o->help);
		if (o->kind == CM_OPTION_CHOICE)
			put_names(out, width, o->names);
	}
	put_help(out, "--help, -h", width, "this text");
}

int cm_options_exit(cm_options_result r)
{
	assert(r != CM_OPTIONS_OK);
	return r == CM_OPTIONS_HELP ? CM_EXIT_CLEAN : CM_EXIT_USAGE;
}
