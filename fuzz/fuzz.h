/* The entry points every fuzz target defines (libFuzzer's interface), shared
 * by the three ways a target is built: libFuzzer, AFL++ (main_afl.c) and
 * the standalone corpus main (main_corpus.c). */
#ifndef RATCHET_FUZZ_H
#define RATCHET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* One input: must return 0; a bug aborts (or trips a sanitizer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time set-up (environment, flags). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A target's own check: prints "ratchet: <ID>: <detail>" and aborts, so a
 * fuzzer records the input as a crash and the message says which rule. */
#define FUZZ_FAIL(id, ...)                                              \
	do {                                                            \
		fprintf(stderr, "ratchet: %s: ", (id));                 \
		fprintf(stderr, __VA_ARGS__);                           \
		fputc('\n', stderr);                                    \
		abort();                                                \
	} while (0)

#define FUZZ_ASSERT(cond, id, ...)                                      \
	do {                                                            \
		if (!(cond))                                            \
			FUZZ_FAIL(id, __VA_ARGS__);                     \
	} while (0)

#endif
