/* cm_options: every kind parsed, every mistake one line naming the option
 * and the value, and a help text that names every option. */
#include "cm.h"
#include "cm_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const colours[] = {"red", "green", "blue", NULL};

/* What a test program's table fills. */
typedef struct values {
	bool quiet, seen_ops;
	unsigned verbose;
	const char *report;
	uint64_t ops, colours;
	double timeout;
	const char *file;
} values;

static cm_options_result parse(values *v, int argc, char **argv)
{
	const cm_option table[] = {
		{.name = "quiet", .short_name = 'q', .to.flag = &v->quiet, .help = "no progress"},
		{.name = "verbose", .short_name = 'v', .kind = CM_OPTION_COUNT,
		 .to.count = &v->verbose, .help = "say more"},
		{.help = "outputs:"},
		{.name = "report", .kind = CM_OPTION_STRING, .to.string = &v->report,
		 .arg = "FILE", .help = "a report"},
		{.name = "ops", .kind = CM_OPTION_U64, .to.u64 = &v->ops, .arg = "N",
		 .help = "ops,\nfrom 1 to 100", .min = 1, .max = 100, .given = &v->seen_ops},
		{.name = "timeout", .kind = CM_OPTION_SECONDS, .to.seconds = &v->timeout,
		 .arg = "S", .help = "per command", .max_s = 60},
		{.name = "colour", .kind = CM_OPTION_CHOICE, .to.choice = &v->colours,
		 .arg = "NAME", .help = "colours", .names = colours},
	};
	cm_options spec = {"prog", "cmd", NULL, table, CM_ARRAY_LEN(table), &v->file, 1,
			   "FILE", NULL};
	memset(v, 0, sizeof(*v));
	v->timeout = 10;
	return cm_options_parse(&spec, argc, argv);
}

/* Runs parse with stderr in a buffer: the result, and the text in err. */
static cm_options_result parse_err(values *v, char *err, size_t size, int argc, char **argv)
{
	FILE *t = tmpfile();
	REQUIRE(t != NULL);
	fflush(stderr);
	int saved = dup(2);
	REQUIRE(saved >= 0 && dup2(fileno(t), 2) == 2);
	cm_options_result r = parse(v, argc, argv);
	fflush(stderr);
	REQUIRE(dup2(saved, 2) == 2);
	close(saved);
	rewind(t);
	size_t n = fread(err, 1, size - 1, t);
	err[n] = '\0';
	fclose(t);
	return r;
}

#define ARGV(...) (sizeof((char *[]){"cmd", __VA_ARGS__}) / sizeof(char *)), \
	(char *[]){"cmd", __VA_ARGS__}

static void test_every_kind(void)
{
	values v;
	CHECK_EQ(parse(&v, ARGV("-q", "-v", "--verbose", "--report", "r.json", "--ops", "7",
				"--timeout", "0.5", "--colour", "RED,blue", "--colour=green",
				"in.txt")), CM_OPTIONS_OK);
	CHECK(v.quiet);
	CHECK_EQ(v.verbose, 2);
	CHECK_STR(v.report, "r.json");
	CHECK_EQ(v.ops, 7);
	CHECK(v.seen_ops);
	CHECK(v.timeout == 0.5);
	CHECK_EQ(v.colours, 7);
	CHECK_STR(v.file, "in.txt");
	/* --name=VALUE, a value that starts with '-', "-" as an argument,
	 * an empty list, the last of two values, and defaults kept. */
	CHECK_EQ(parse(&v, ARGV("-", "--report=-x", "--ops", "1", "--ops=100",
				"--colour", "")), CM_OPTIONS_OK);
	CHECK_STR(v.file, "-");
	CHECK_STR(v.report, "-x");
	CHECK_EQ(v.ops, 100);
	CHECK_EQ(v.colours, 0);
	CHECK(v.timeout == 10);
	CHECK(!v.quiet);
	CHECK_EQ(parse(&v, ARGV("--report", "--ops", "x")), CM_OPTIONS_OK);
	CHECK_STR(v.report, "--ops");
	CHECK_STR(v.file, "x");
	CHECK(!v.seen_ops);
}

/* Each mistake: CM_OPTIONS_USAGE, and one line naming what is wrong. */
static void test_mistakes(void)
{
	const struct {
		int argc;
		char **argv;
		const char *says;
	} cases[] = {
		{ARGV("--bogus", "f"), "prog: cmd: unknown option '--bogus'"},
		{ARGV("-x", "f"), "prog: cmd: unknown option '-x'"},
		{ARGV("--quietly", "f"), "prog: cmd: unknown option '--quietly'"},
		{ARGV("f", "--report"), "prog: cmd: --report needs a value"},
		{ARGV("f", "--ops", "0"), "prog: cmd: --ops needs a number from 1 to 100, not '0'"},
		{ARGV("f", "--ops=101"), "--ops needs a number from 1 to 100, not '101'"},
		{ARGV("f", "--ops", " 5"), "--ops needs a number from 1 to 100, not ' 5'"},
		{ARGV("f", "--ops", "+5"), "not '+5'"},
		{ARGV("f", "--ops", ""), "not ''"},
		{ARGV("f", "--timeout", "0"), "--timeout needs a number of seconds above 0 "
					      "and up to 60, not '0'"},
		{ARGV("f", "--timeout", "60.5"), "not '60.5'"},
		{ARGV("f", "--timeout", "1e1"), "not '1e1'"},
		{ARGV("f", "--timeout", "1.2.3"), "not '1.2.3'"},
		{ARGV("f", "--timeout", "."), "not '.'"},
		{ARGV("f", "--colour", "red,pink"), "--colour: unknown name 'pink' "
						    "(one of: red, green, blue)"},
		{ARGV("f", "--quiet=yes"), "--quiet takes no value, not 'yes'"},
		{ARGV("f", "g"), "prog: cmd: unexpected argument 'g'"},
		{ARGV("--quiet"), "prog: cmd: missing FILE"},
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(cases); i++) {
		values v;
		char err[2048];
		CHECK_EQ(parse_err(&v, err, sizeof(err), cases[i].argc, cases[i].argv),
			 CM_OPTIONS_USAGE);
		CHECK(strstr(err, cases[i].says) != NULL);
		CHECK(strncmp(err, "prog: cmd: ", 11) == 0);
		CHECK(strstr(err, " (try 'prog cmd --help')\n") != NULL);
		CHECK_EQ(strchr(err, '\n') - err + 1, (long long)strlen(err));
		if (strstr(err, cases[i].says) == NULL)
			fprintf(stderr, "  case %zu said: %s", i, err);
	}
	values v;
	char err[2048];
	CHECK_EQ(parse_err(&v, err, sizeof(err), ARGV("f", "--ops", "1\033[2J")),
		 CM_OPTIONS_USAGE);
	CHECK(strstr(err, "not '1\\x1b[2J'") != NULL); /* cm_error escapes it */
}

static void test_help(void)
{
	values v;
	FILE *t = tmpfile();
	REQUIRE(t != NULL);
	fflush(stdout);
	int saved = dup(1);
	REQUIRE(saved >= 0 && dup2(fileno(t), 1) == 1);
	cm_options_result r = parse(&v, ARGV("--quiet", "--help", "--bogus"));
	CHECK_EQ(parse(&v, ARGV("-h")), CM_OPTIONS_HELP);
	fflush(stdout);
	REQUIRE(dup2(saved, 1) == 1);
	close(saved);
	CHECK_EQ(r, CM_OPTIONS_HELP);
	CHECK_EQ(cm_options_exit(r), CM_EXIT_CLEAN);
	CHECK_EQ(cm_options_exit(CM_OPTIONS_USAGE), CM_EXIT_USAGE);
	char text[8192];
	rewind(t);
	text[fread(text, 1, sizeof(text) - 1, t)] = '\0';
	fclose(t);
	static const char *const want[] = {
		"usage: prog cmd [options] FILE\n",
		"  --quiet, -q    no progress\n",
		"  --verbose, -v  say more\n",
		"\noutputs:\n",
		"  --report FILE  a report\n",
		"  --ops N        ops,\n                 from 1 to 100\n",
		"  --timeout S    per command\n",
		"  --colour NAME  colours\n                 one of: red, green, blue\n",
		"  --help, -h     this text\n",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(want); i++) {
		CHECK(strstr(text, want[i]) != NULL);
		if (strstr(text, want[i]) == NULL)
			fprintf(stderr, "  missing: %s", want[i]);
	}
}

/* --help-man: the page a man(7) reader shows, every option of the table
 * in it, its text escaped (a hyphen is \-, a backslash \e, a line never
 * starts a request). */
static void test_man_page(void)
{
	bool quiet = false;
	const char *out = NULL, *arg = NULL;
	const cm_option table[] = {
		{.name = "quiet", .short_name = 'q', .to.flag = &quiet, .help = "no-progress\\"},
		{.help = ".outputs:"},
		{.name = "out", .kind = CM_OPTION_STRING, .to.string = &out, .arg = "FILE",
		 .help = "a file,\n'quoted'"},
	};
	static const char *const exits[] = {"0", "ok", "2", "usage", NULL};
	cm_man_page page = {.program = "my-prog", .version = "1.2", .summary = "does -x",
			    .description = "One.\n\n.Two", .exits = exits,
			    .see_also = "ratchet(1)"};
	cm_options spec = {.program = "my-prog", .options = table, .noptions = 3,
			   .args = &arg, .nargs = 1, .args_name = "DIR", .man = &page};
	FILE *t = tmpfile();
	REQUIRE(t != NULL);
	fflush(stdout);
	int saved = dup(1);
	REQUIRE(saved >= 0 && dup2(fileno(t), 1) == 1);
	cm_options_result r = cm_options_parse(&spec, ARGV("--help-man"));
	fflush(stdout);
	REQUIRE(dup2(saved, 1) == 1);
	close(saved);
	CHECK_EQ(r, CM_OPTIONS_HELP);
	char text[8192];
	rewind(t);
	text[fread(text, 1, sizeof(text) - 1, t)] = '\0';
	fclose(t);
	static const char *const want[] = {
		".TH \"MY-PROG\" 1 \"\" \"ratchet 1.2\" \"User Commands\"\n",
		".SH NAME\nmy\\-prog \\- does \\-x\n",
		".SH SYNOPSIS\n\\fBmy\\-prog\\fR [options] \\fIDIR\\fR\n",
		".PP\nOne.\n.PP\n\\&.Two\n",
		".SH OPTIONS\n.TP\n\\fB\\-\\-quiet\\fR, \\fB\\-q\\fR\nno\\-progress\\e\n",
		".PP\n\\&.outputs:\n",
		".TP\n\\fB\\-\\-out\\fR \\fIFILE\\fR\na file, 'quoted'\n",
		".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\n",
		".SH EXIT STATUS\n.TP\n\\fB0\\fR\nok\n.TP\n\\fB2\\fR\nusage\n",
		".SH SEE ALSO\nratchet(1)\n",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(want); i++) {
		CHECK(strstr(text, want[i]) != NULL);
		if (strstr(text, want[i]) == NULL)
			fprintf(stderr, "  missing: %s", want[i]);
	}
	CHECK(!quiet && out == NULL); /* nothing parsed after --help-man */
}

/* A table with two entries of one name is a programmer's mistake: the
 * first parse stops on an assertion (in a child, to see it). */
static void test_table_sanity(void)
{
	const char *a = NULL, *b = NULL;
	const cm_option twice[] = {
		{.name = "out", .kind = CM_OPTION_STRING, .to.string = &a, .arg = "F", .help = "x"},
		{.name = "out", .kind = CM_OPTION_STRING, .to.string = &b, .arg = "F", .help = "y"},
	};
	cm_options spec = {.program = "prog", .options = twice, .noptions = 2};
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(2); /* the assertion's text is expected, not news */
		cm_options_parse(&spec, ARGV("--out", "f"));
		_exit(0);
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	cm_error_program("prog"); /* as the program's main does */
	RUN(test_every_kind);
	RUN(test_mistakes);
	RUN(test_help);
	RUN(test_man_page);
	RUN(test_table_sanity);
	TEST_EXIT();
}
