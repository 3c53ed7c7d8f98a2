/* Strict decimal numbers for command lines and files: what a person
 * typed must mean exactly one value, or be refused. */
#include "cm.h"

bool cm_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	/* strtoull would take " 5", "+5" and "-1" (as 2^64-1), and saturate
	 * on overflow: digits only, and overflow seen before it happens. */
	if (s == NULL || *s == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (x < min || x > max)
		return false;
	*v = x;
	return true;
}
