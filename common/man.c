/* Man pages from option tables (cm_man.h): the roff a man(7) reader
 * needs, nothing more. */
#include "cm.h"

#include <stdlib.h>
#include <string.h>

void cm_man_text(FILE *out, const char *text)
{
	bool line_start = true;
	for (const char *p = text; *p != '\0'; p++) {
		if (line_start && (*p == '.' || *p == '\''))
			fputs("\\&", out); /* else roff takes the line for a request */
		line_start = false;
		if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-')
			fputs("\\-", out); /* a hyphen-minus a reader can copy */
		else if (*p == '\n')
			fputc(' ', out);
		else
			fputc(*p, out);
	}
}

/* "PROGRAM COMMAND SYNOPSIS" in bold and italic, as the usage line has it. */
static void usage_line(const cm_options *s, FILE *out)
{
	fputs("\\fB", out);
	cm_man_text(out, s->program);
	if (s->command != NULL) {
		fputc(' ', out);
		cm_man_text(out, s->command);
	}
	fputs("\\fR ", out);
	if (s->synopsis != NULL) {
		cm_man_text(out, s->synopsis);
	} else {
		fputs("[options]", out);
		if (s->nargs > 0) {
			fputs(" \\fI", out);
			cm_man_text(out, s->args_name);
			fputs("\\fR", out);
		}
	}
	fputc('\n', out);
}

void cm_man_head(const cm_man_page *p, const cm_options *spec, FILE *out)
{
	fputs(".TH \"", out);
	for (const char *c = p->program; *c != '\0'; c++)
		fputc(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c, out);
	fprintf(out, "\" 1 \"\" \"ratchet %s\" \"User Commands\"\n.SH NAME\n", p->version);
	cm_man_text(out, p->program);
	fputs(" \\- ", out);
	cm_man_text(out, p->summary);
	fputs("\n.SH SYNOPSIS\n", out);
	if (p->synopsis == NULL) {
		usage_line(spec, out);
	} else {
		for (size_t i = 0; p->synopsis[i] != NULL; i++) {
			fputs(i > 0 ? ".br\n\\fB" : "\\fB", out);
			cm_man_text(out, p->synopsis[i]);
			fputs("\\fR\n", out);
		}
	}
	fputs(".SH DESCRIPTION\n", out);
	const char *para = p->description;
	while (para != NULL) {
		const char *end = strstr(para, "\n\n");
		size_t len = end != NULL ? (size_t)(end - para) : strlen(para);
		char *one = cm_xstrndup(para, len);
		fputs(".PP\n", out);
		cm_man_text(out, one);
		fputc('\n', out);
		free(one);
		para = end != NULL ? end + 2 : NULL;
	}
}

/* ".TP", then "--name ARG, -x" in bold and italic. */
static void option_tag(FILE *out, const cm_option *o)
{
	fputs(".TP\n\\fB\\-\\-", out);
	cm_man_text(out, o->name);
	fputs("\\fR", out);
	if (o->arg != NULL) {
		fputs(" \\fI", out);
		cm_man_text(out, o->arg);
		fputs("\\fR", out);
	}
	if (o->short_name != 0)
		fprintf(out, ", \\fB\\-%c\\fR", o->short_name);
	fputc('\n', out);
}

void cm_man_options(const cm_options *s, FILE *out)
{
	if (s->command != NULL) {
		fputs(".SS ", out);
		cm_man_text(out, s->command);
		fputs("\n.PP\n", out);
		usage_line(s, out);
	} else {
		fputs(".SH OPTIONS\n", out);
	}
	for (size_t i = 0; i < s->noptions; i++) {
		const cm_option *o = &s->options[i];
		if (o->name == NULL) {
			fputs(".PP\n", out);
			cm_man_text(out, o->help);
			fputc('\n', out);
			continue;
		}
		option_tag(out, o);
		cm_man_text(out, o->help);
		fputc('\n', out);
		if (o->kind != CM_OPTION_CHOICE)
			continue;
		fputs(".br\none of: ", out);
		for (size_t j = 0; o->names[j] != NULL; j++) {
			cm_man_text(out, o->names[j]);
			fputs(o->names[j + 1] != NULL ? ", " : "\n", out);
		}
	}
	fputs(".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\nthe options, on standard output\n", out);
}

void cm_man_tail(const cm_man_page *p, FILE *out)
{
	fputs(".SH EXIT STATUS\n", out);
	for (size_t i = 0; p->exits != NULL && p->exits[i] != NULL; i += 2) {
		fputs(".TP\n\\fB", out);
		cm_man_text(out, p->exits[i]);
		fputs("\\fR\n", out);
		cm_man_text(out, p->exits[i + 1]);
		fputc('\n', out);
	}
	fputs(".SH SEE ALSO\n", out);
	cm_man_text(out, p->see_also);
	fputc('\n', out);
}
