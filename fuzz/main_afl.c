/* AFL++ driver: persistent mode with shared-memory test cases. Build with
 * afl-clang-fast (preset afl); run as
 *   afl-fuzz -i fuzz/corpus/T -o out -x fuzz/T.dict -- build-afl/fuzz_T
 * Outside afl-fuzz the same binary reads one test case from stdin, or runs
 * the files named on the command line (handy to check a crash from
 * out/default/crashes/). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "main_afl.c needs afl-clang-fast (cmake --preset afl)"
#endif

__AFL_FUZZ_INIT();

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t n;
	while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (buf == NULL)
		return -1;
	/* Exactly len bytes, so ASan sees any read past the end. */
	uint8_t *exact = malloc(len ? len : 1);
	memcpy(exact, buf, len);
	free(buf);
	fprintf(stderr, "fuzz: running %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1 && getenv("__AFL_SHM_ID") == NULL && getenv("__AFL_SHM_FUZZ_ID") == NULL) {
		int rc = 0;
		for (int i = 1; i < argc; i++)
			rc |= run_file(argv[i]) != 0;
		return rc;
	}
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();
#endif
	/* Must come after __AFL_INIT: the buffer is the shared memory. */
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000)) {
		size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
		/* A private copy of exactly len bytes: targets may keep
		 * pointers into it, and the shared buffer is reused. */
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
	}
	return 0;
}
