/* Fuzz target: `ratchet check` in process. The input is a history file
 * (JSON Lines, docs/history.md), possibly several runs one after the
 * other, read from memory (fmemopen) by the same function the command
 * uses (rt_check_stream: the history reader, one checker per run, the
 * report), then printed as the command prints it (to /dev/null).
 *
 * A history is untrusted input (shared files, other tools' recordings), so
 * besides "no crash, no sanitizer report":
 *
 *  1. The result is exit code 0 (a valid history, violations or not) or 2
 *     (not a valid history) — never anything else.
 *  2. Exit code 2 comes with exactly one error, in the command's shape
 *     "check: <file>: line N: ...", one printable line once escaped as the
 *     command prints it; a valid history gives none.
 *  3. Memory and time follow the input, not the numbers in it: a claimed
 *     EXISTS of 4294967295 or a UID near 2^32 must not cost gigabytes or
 *     seconds. These are the engine's limits, set in history.options
 *     (malloc_limit_mb, rss_limit_mb, timeout): an input over them is a
 *     crash like any other.
 *  4. The reader's fast path (model/history/history_scan*.c) reads every
 *     line it takes as the general parser (jansson) does: the readers run
 *     in verify mode (hj_reader_default_mode), where both read each such
 *     line and a line the general parser rejects, or an event that
 *     differs in any field, is an internal error (cm_panic: an abort here).
 */
#include "fuzz.h"
#include "model.h"
#include "cli.h"
#include "history_json.h"

#include <stdarg.h>
#include <string.h>

#define NAME "fuzz.jsonl"
#define PLACE "check: " NAME ": line "

static FILE *g_null;
static unsigned g_errors;
static char g_error[512];

/* The commands' error printer (common/error.c, alone in its object
 * file, so this definition takes its place at link time) without the
 * output: the message is kept for the checks, and escaped as error.c
 * escapes it, which must leave one printable line whatever the history
 * quoted. */
void cm_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_error, sizeof(g_error), fmt, ap);
	va_end(ap);
	g_errors++;
	char shown[4 * sizeof(g_error) + 4];
	cm_escape(shown, sizeof(shown), g_error, strlen(g_error));
	for (const char *p = shown; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f, "CHECK-ERROR-TEXT",
			    "escaped error has byte 0x%02x: \"%.200s\"", (unsigned char)*p, shown);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	hj_reader_default_mode(HJ_READ_VERIFY);
	g_null = fopen("/dev/null", "w");
	if (g_null == NULL) {
		perror("fuzz_history: /dev/null");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses a zero-sized buffer */
	FILE *in = fmemopen((void *)data, size, "r");
	FUZZ_ASSERT(in != NULL, "FMEMOPEN", "fmemopen of %zu bytes failed", size);
	g_errors = 0;
	g_error[0] = '\0';
	rt_report r;
	rt_report_init(&r, 0, NAME);
	int rc = rt_check_stream(in, NAME, false, &r);
	fclose(in);
	FUZZ_ASSERT(rc == CM_EXIT_CLEAN || rc == CM_EXIT_USAGE, "CHECK-EXIT",
		    "rt_check_stream returned %d", rc);
	if (rc == CM_EXIT_USAGE) {
		FUZZ_ASSERT(g_errors == 1, "CHECK-ERROR", "%u error lines for one bad history",
			    g_errors);
		FUZZ_ASSERT(strncmp(g_error, PLACE, sizeof(PLACE) - 1) == 0, "CHECK-ERROR",
			    "error without its place: \"%.200s\"", g_error);
	} else {
		FUZZ_ASSERT(g_errors == 0, "CHECK-ERROR", "a valid history gave an error: "
			    "\"%.200s\"", g_error);
		/* What `ratchet check` prints for people, every violation. */
		for (size_t i = 0; i < r.nv; i++)
			rt_violation_print(&r.v[i], g_null, false);
		rt_report_print(&r, g_null, false);
	}
	rt_report_free(&r);
	return 0;
}
