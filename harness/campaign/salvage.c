/* What an internal error must still do before ratchet exits 3: the
 * history so far reaches its file, the report says what was found so far
 * and why the run stopped, and a wire run's mailboxes are deleted (or at
 * least named: the wire driver's clean callback). Commands fill rt_salvage_now as their objects come and go;
 * cm_panic (and a failed assertion, through SIGABRT) runs salvage() once. */
#include "campaign.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rt_salvage rt_salvage_now;
/* Given back first: out of memory is the commonest internal error, and
 * writing the report needs some. */
static void *parachute;
#define PARACHUTE_BYTES ((size_t)8 << 20)

static void save_report(rt_salvage *s, const char *what)
{
	rt_report *r = s->report;
	if (s->checker != NULL)
		rt_report_add_checker(r, s->segment, s->checker);
	snprintf(r->failure, sizeof(r->failure), "internal error: %.200s", what);
	rt_report_print(r, stdout, false);
	fflush(stdout);
	if (s->report_path != NULL && rt_report_write_json(r, s->report_path) != 0)
		cm_error("cannot write %s", s->report_path);
	if (s->junit_path != NULL && rt_report_write_junit(r, s->junit_path) != 0)
		cm_error("cannot write %s", s->junit_path);
}

static void salvage(void *ctx, const char *what)
{
	rt_salvage *s = ctx;
	free(parachute);
	parachute = NULL;
	if (s->history != NULL)
		fflush(s->history);
	if (s->report != NULL)
		save_report(s, what);
	if (s->clean != NULL)
		s->clean(s->clean_ctx);
	fflush(stderr);
}

static void on_abort(int sig)
{
	(void)sig;
	static const char msg[] = "ratchet: internal error: abort\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing better to do: we are on the way out */
	}
	cm_panic_exit("abort (a failed assertion?)");
}

void rt_salvage_arm(void)
{
	memset(&rt_salvage_now, 0, sizeof(rt_salvage_now));
	cm_panic_set_hook(salvage, &rt_salvage_now);
	/* Out of memory in the JSON library is ours too: it used to read as
	 * "invalid JSON at column -1" (exit 2). */
	json_set_alloc_funcs(cm_xmalloc, free);
	parachute = malloc(PARACHUTE_BYTES);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_abort;
	sa.sa_flags = SA_RESETHAND; /* an abort inside salvage() kills */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGABRT, &sa, NULL);
}
