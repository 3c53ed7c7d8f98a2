/* Minimal unit-test helpers: each test file is one executable run by ctest.
 * (A framework such as cmocka adds nothing ctest does not already give us:
 * one process per test file, exit status as verdict, output on failure.) */
#ifndef CM_TEST_H
#define CM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cm_test_failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,  \
				__LINE__, #cond);                            \
			cm_test_failures++;                                  \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long ca_ = (long long)(a), cb_ = (long long)(b);        \
		if (ca_ != cb_) {                                            \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", \
				__FILE__, __LINE__, #a, ca_, #b, cb_);       \
			cm_test_failures++;                                  \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *ca_ = (a), *cb_ = (b);                           \
		if (ca_ == NULL || cb_ == NULL || strcmp(ca_, cb_) != 0) {   \
			fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, ca_ ? ca_ : "(null)",    \
				cb_ ? cb_ : "(null)");                       \
			cm_test_failures++;                                  \
		}                                                            \
	} while (0)

/* Fatal: stop this test file when continuing makes no sense. */
#define REQUIRE(cond)                                                        \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			exit(1);                                             \
		}                                                            \
	} while (0)

#define RUN(fn)                                                              \
	do {                                                                 \
		int before_ = cm_test_failures;                              \
		fn();                                                        \
		fprintf(stderr, "%s %s\n",                                   \
			cm_test_failures == before_ ? "ok  " : "FAIL", #fn);  \
	} while (0)

#define TEST_EXIT() return cm_test_failures ? 1 : 0

#endif
