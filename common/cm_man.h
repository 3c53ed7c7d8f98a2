/* cm_man: a program's man page, rendered as roff from the option tables
 * that parse its command line (cm_options.h), so that the page and --help
 * never say different things. Reached through the hidden option
 * --help-man, which cm_options_parse takes like --help; the build runs
 * every program with it and installs what it prints. Included by cm.h. */
#ifndef CM_MAN_H
#define CM_MAN_H

#include <stdio.h>

struct cm_options;

/* What a page says besides the options. Every text is plain (no roff):
 * cm_man escapes it. */
typedef struct cm_man_page {
	const char *program;      /* "ratchet-imapd": the title and NAME */
	const char *version;      /* "0.1.0": the footer */
	const char *summary;      /* NAME: "PROGRAM - SUMMARY" */
	const char *const *synopsis; /* lines of SYNOPSIS, NULL-terminated; NULL:
				   * the table's usage line */
	const char *description;  /* paragraphs, separated by an empty line */
	const char *const *exits; /* EXIT STATUS: code, meaning, code, ...,
				   * NULL */
	const char *see_also;     /* "ratchet(1), rs-deliver(1)" */
} cm_man_page;

/* Escaped text: backslashes and hyphens made literal, a line starting
 * with '.' or '\'' kept as text, each '\n' a space (help lines wrap in
 * the terminal, roff fills). */
void cm_man_text(FILE *out, const char *text);
/* .TH, NAME, SYNOPSIS (spec's usage line when page->synopsis is NULL;
 * spec may then not be NULL) and DESCRIPTION. */
void cm_man_head(const cm_man_page *page, const struct cm_options *spec, FILE *out);
/* One table: its usage line, then a tagged paragraph per option (the
 * headings as plain paragraphs), then --help. Under ".SH OPTIONS" for a
 * program without commands, under ".SS COMMAND" for a command. */
void cm_man_options(const struct cm_options *spec, FILE *out);
/* EXIT STATUS and SEE ALSO. */
void cm_man_tail(const cm_man_page *page, FILE *out);

#endif
