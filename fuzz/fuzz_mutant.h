/* The mutant a fuzz target hunts, from the environment or the build. */
#ifndef RATCHET_FUZZ_MUTANT_H
#define RATCHET_FUZZ_MUTANT_H

#include "rs.h"

#include <stdio.h>
#include <stdlib.h>

/* RATCHET_FUZZ_MUTANT=name (or -DRATCHET_FUZZ_MUTANT="name") makes a target
 * that runs the store run a mutant; unknown names stop the program.
 * *name_r (may be NULL) gets the name as given, "" for none. */
static inline unsigned fx_mutant_from_env(const char **name_r)
{
	const char *name = getenv("RATCHET_FUZZ_MUTANT");
#ifdef RATCHET_FUZZ_MUTANT
	if (name == NULL || name[0] == '\0')
		name = RATCHET_FUZZ_MUTANT;
#endif
	if (name_r != NULL)
		*name_r = name != NULL ? name : "";
	if (name == NULL || name[0] == '\0')
		return 0;
	unsigned m = rs_mutant_parse(name);
	if (m == 0) {
		fprintf(stderr, "fuzz: unknown mutant '%s'; one of:", name);
		for (const char *const *n = rs_mutant_names(); *n != NULL; n++)
			fprintf(stderr, " %s", *n);
		fputc('\n', stderr);
		exit(2);
	}
	return m;
}

#endif
