/* IMAP date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 3501 date-time) to
 * seconds since the epoch, UTC. Strict: INTERNALDATE is compared across
 * sessions (UID-IMMUTABLE), so a half-understood value would mislead. */
#include "imap_syntax.h"

#include <strings.h>

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

/* Exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, unsigned n,
		   unsigned *out)
{
	unsigned v = 0;
	for (unsigned k = 0; k < n; k++, (*i)++) {
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[*i] - '0');
	}
	*out = v;
	return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

static bool parse_day(const char *s, size_t len, size_t *i, unsigned *day)
{
	if (*i < len && s[*i] == ' ')
		(*i)++;
	if (!digits(s, len, i, 1, day))
		return false;
	if (*i < len && s[*i] >= '0' && s[*i] <= '9')
		*day = *day * 10 + (unsigned)(s[(*i)++] - '0');
	return true;
}

static bool parse_month(const char *s, size_t len, size_t *i, unsigned *mon)
{
	if (len - *i < 3)
		return false;
	for (unsigned m = 0; m < 12; m++) {
		if (strncasecmp(s + *i, months[m], 3) == 0) {
			*mon = m + 1;
			*i += 3;
			return true;
		}
	}
	return false;
}

bool imap_parse_date_time(const char *s, size_t len, int64_t *t,
			   int32_t *tz_offset)
{
	size_t i = 0;
	unsigned day, mon, year, hh, mm, ss, zh, zm;
	if (!parse_day(s, len, &i, &day) || !expect(s, len, &i, '-') ||
	    !parse_month(s, len, &i, &mon) || !expect(s, len, &i, '-') ||
	    !digits(s, len, &i, 4, &year) || !expect(s, len, &i, ' ') ||
	    !digits(s, len, &i, 2, &hh) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &mm) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &ss) || !expect(s, len, &i, ' '))
		return false;
	if (i >= len || (s[i] != '+' && s[i] != '-'))
		return false;
	int sign = s[i++] == '-' ? -1 : 1;
	if (!digits(s, len, &i, 2, &zh) || !digits(s, len, &i, 2, &zm) || i != len)
		return false;
	if (day < 1 || day > month_days(year, mon) || hh > 23 || mm > 59 ||
	    ss > 60 || zh > 23 || zm > 59)
		return false;
	int32_t tz = sign * (int32_t)(zh * 3600 + zm * 60);
	*t = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss - tz;
	*tz_offset = tz;
	return true;
}
