/* Issue 10, sections 3 and 4: the decisions that keep the user's data and
 * the run's evidence safe, one small test each. */
#include "cli.h"
#include "cli.h"
#include "wire.h"
#include "cm_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* --reuse deleted whatever LIST named: INBOX and "Important" included. */
static void test_name_under(void)
{
	CHECK(rt_wire_name_under("ratchet-7", '/', "ratchet-7"));
	CHECK(rt_wire_name_under("ratchet-7", '/', "ratchet-7/A"));
	CHECK(rt_wire_name_under("ratchet-7", '/', "ratchet-7/A/deep"));
	CHECK(!rt_wire_name_under("ratchet-7", '/', "INBOX"));
	CHECK(!rt_wire_name_under("ratchet-7", '/', "inbox"));
	CHECK(!rt_wire_name_under("ratchet-7", '/', "Important"));
	CHECK(!rt_wire_name_under("ratchet-7", '/', "ratchet-70"));      /* a sibling */
	CHECK(!rt_wire_name_under("ratchet-7", '/', "ratchet-7.A"));     /* other separator */
	CHECK(!rt_wire_name_under("ratchet-7", '/', "ratchet-7/"));
	CHECK(!rt_wire_name_under("ratchet-7", '/', "ratchet"));
	CHECK(!rt_wire_name_under("ratchet-7", '/', ""));
	/* Flat servers: the run's boxes are prefix-A. */
	CHECK(rt_wire_name_under("ratchet-7", '\0', "ratchet-7-A"));
	CHECK(!rt_wire_name_under("ratchet-7", '\0', "ratchet-7A"));
	/* Cyrus: the personal namespace is INBOX.; names below the run's
	 * prefix are the run's, INBOX itself never. */
	CHECK(rt_wire_name_under("INBOX.ratchet-7", '.', "INBOX.ratchet-7.A"));
	CHECK(!rt_wire_name_under("INBOX.ratchet-7", '.', "INBOX"));
	CHECK(!rt_wire_name_under("INBOX.ratchet-7", '.', "INBOX.Important"));
}

static char dir[64];

static const char *at(const char *name)
{
	static char buf[4][128];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* --history X --report X replaced the history; check X --report X its
 * input; --report /nonexistent/r.json was refused after the run. */
static void test_paths(void)
{
	cm_err err;
	snprintf(dir, sizeof(dir), "/tmp/ratchet-paths-XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	int fd = open(at("h.jsonl"), O_CREAT | O_WRONLY, 0644);
	REQUIRE(fd >= 0);
	close(fd);
	rt_path same[] = {{"--history", at("x"), false}, {"--report", at("./x"), false}};
	CHECK_EQ(rt_paths_check(same, 2, &err), -1);
	CHECK(strstr(err.text, "are the same file") != NULL);
	/* The second path names the same directory by another route, the
	 * third spells the input as it is. */
	char other[160];
	snprintf(other, sizeof(other), "%s/../%s/h.jsonl", dir, strrchr(dir, '/') + 1);
	rt_path input[] = {{"the history", at("h.jsonl"), true},
			   {"--report", other, false},
			   {"--junit", at("h.jsonl"), false}};
	CHECK_EQ(rt_paths_check(input, 2, &err), -1);
	CHECK(strstr(err.text, "overwrite its input") != NULL);
	rt_path spelled[] = {input[0], input[2]};
	CHECK_EQ(rt_paths_check(spelled, 2, &err), -1);
	CHECK(strstr(err.text, "overwrite its input") != NULL);
	CHECK_EQ(rt_paths_check(input + 2, 1, &err), 0);
	rt_path missing[] = {{"--report", "/nonexistent-ratchet/r.json", false}};
	CHECK_EQ(rt_paths_check(missing, 1, &err), -1);
	CHECK_STR(err.text, "--report /nonexistent-ratchet/r.json: directory /nonexistent-ratchet "
		  "does not exist");
	rt_path isdir[] = {{"--junit", dir, false}};
	CHECK_EQ(rt_paths_check(isdir, 1, &err), -1);
	rt_path noinput[] = {{"the history", at("none.jsonl"), true}};
	CHECK_EQ(rt_paths_check(noinput, 1, &err), -1);
	rt_path fine[] = {{"the history", "-", true}, {"--history", at("a"), false},
			  {"--report", at("b"), false}, {"--junit", NULL, false},
			  {"--x", at("h.jsonl"), true}, {"--y", at("h.jsonl"), true}};
	CHECK_EQ(rt_paths_check(fine, CM_ARRAY_LEN(fine), &err), 0);
	unlink(at("h.jsonl"));
	rmdir(dir);
}

/* A server that never answered gave "no violations", exit 0. */
static void test_max_unknown(void)
{
	rt_opts o;
	cm_err why = {{0}};
	char *argv[] = {"run", NULL, NULL};
	REQUIRE(rt_opts_parse(&o, 1, argv) == -1);
	CHECK(rt_opts_unknown_ok(&o, 0, 0, &why));
	CHECK(rt_opts_unknown_ok(&o, 50, 100, &why));   /* default 50% */
	CHECK(!rt_opts_unknown_ok(&o, 51, 100, &why));
	CHECK(strstr(why.text, "51 of 100 ops ended with outcome unknown") != NULL);
	CHECK(strstr(why.text, "--max-unknown 50%") != NULL);
	argv[1] = "--max-unknown";
	argv[2] = "3";
	REQUIRE(rt_opts_parse(&o, 3, argv) == -1);
	CHECK(rt_opts_unknown_ok(&o, 3, 4, &why));
	CHECK(!rt_opts_unknown_ok(&o, 4, 1000, &why));
	argv[2] = "0%";
	REQUIRE(rt_opts_parse(&o, 3, argv) == -1);
	CHECK(!rt_opts_unknown_ok(&o, 1, 1000000, &why));
	argv[2] = "100%";
	REQUIRE(rt_opts_parse(&o, 3, argv) == -1);
	CHECK(rt_opts_unknown_ok(&o, 7, 7, &why));
	const char *bad[] = {"101%", "-1", "%", "", "1.5", "x%", "10%%"};
	for (size_t i = 0; i < CM_ARRAY_LEN(bad); i++) {
		argv[2] = (char *)bad[i];
		CHECK_EQ(rt_opts_parse(&o, 3, argv), CM_EXIT_USAGE);
	}
}

int main(void)
{
	RUN(test_name_under);
	RUN(test_paths);
	RUN(test_max_unknown);
	TEST_EXIT();
}
