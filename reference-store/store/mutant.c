/* Names of the switchable mutants (see rs.h). */
#include "rs_private.h"

#include <string.h>

static const char *const mutant_names[] = {
	"move-rename", "deliver-nolock", "unchangedsince-stale",
	"modseq-reset", "flags-last-writer", "copy-visible-early",
	"deliver-unsynced", "flags-read-unlocked",
	"copy-link-once", "deliver-rename-late",
	"expunge-unlink-first", "deliver-sync-late",
	"repl-final-flags", "repl-no-step", "repl-rebind", "repl-resurrect",
	"repl-mixed-records", NULL,
};

/* Name i is bit 1 << i: the last name is the last mutant. */
_Static_assert(RS_MUTANT_REPL_MIXED_RECORDS ==
	       1u << (sizeof(mutant_names) / sizeof(*mutant_names) - 2),
	       "one name per rs_mutant bit, in bit order");

unsigned rs_mutant_parse(const char *name)
{
	for (unsigned i = 0; mutant_names[i] != NULL; i++)
		if (strcmp(mutant_names[i], name) == 0)
			return 1u << i;
	return 0;
}

const char *rs_mutant_name(unsigned mutant_bit)
{
	for (unsigned i = 0; mutant_names[i] != NULL; i++)
		if (mutant_bit == 1u << i)
			return mutant_names[i];
	return NULL;
}

const char *const *rs_mutant_names(void)
{
	return mutant_names;
}
