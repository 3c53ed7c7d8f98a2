/* Small pure helpers of the parser: literal announcements at the end of a
 * line, date-time, SASL PLAIN. */
#include "imapd_int.h"

#include <string.h>
#include <strings.h>

int imapd_line_literal(const char *line, size_t len, uint64_t *n_r, bool *plus_r)
{
	if (len < 3 || line[len - 1] != '}')
		return 0;
	size_t i = len - 1;
	bool plus = line[i - 1] == '+';
	if (plus)
		i--;
	size_t digits_end = i;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == digits_end || i == 0 || line[i - 1] != '{')
		return 0;
	uint64_t n = 0;
	for (size_t k = i; k < digits_end; k++) {
		unsigned d = (unsigned)(line[k] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*n_r = n;
	*plus_r = plus;
	return 1;
}

/* ---- date-time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

static bool digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

static bool month_of(const char *s, unsigned *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (unsigned i = 0; i < 12; i++) {
		if (strncasecmp(s, names + 3 * i, 3) == 0) {
			*m = i + 1;
			return true;
		}
	}
	return false;
}

bool imapd_parse_date(const char *s, size_t len, int64_t *t_r)
{
	/* Normalise the day to two characters: "d-", " d-", "dd-". */
	char b[27];
	if (len == 25 && s[1] == '-') {
		b[0] = '0';
		memcpy(b + 1, s, len);
	} else if (len == 26) {
		memcpy(b, s, len);
		if (b[0] == ' ')
			b[0] = '0';
	} else {
		return false;
	}
	unsigned d, m, y, hh, mm, ss, zh, zm;
	if (b[2] != '-' || b[6] != '-' || b[11] != ' ' || b[14] != ':' || b[17] != ':' ||
	    b[20] != ' ' || (b[21] != '+' && b[21] != '-'))
		return false;
	if (!digits(b, 2, &d) || !month_of(b + 3, &m) || !digits(b + 7, 4, &y) ||
	    !digits(b + 12, 2, &hh) || !digits(b + 15, 2, &mm) ||
	    !digits(b + 18, 2, &ss) || !digits(b + 22, 2, &zh) || !digits(b + 24, 2, &zm))
		return false;
	if (d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 60 ||
	    zh > 23 || zm > 59)
		return false;
	int64_t zone = (int64_t)(zh * 3600 + zm * 60) * (b[21] == '-' ? -1 : 1);
	*t_r = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - zone;
	return true;
}

/* ---- SASL PLAIN ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict base64 (padding required) into out; -1 if bad or too long. */
static int b64_decode(const char *s, size_t len, unsigned char *out, size_t cap,
		      size_t *n_r)
{
	size_t n = 0;
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + (size_t)k];
			bool last = i + 4 == len;
			if (c == '=' && last && k >= 2 && (k == 3 || s[i + 3] == '=')) {
				v[k] = 0;
				pad++;
			} else if ((v[k] = b64_value(c)) < 0) {
				return -1;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		int bytes = 3 - pad;
		if (n + (size_t)bytes > cap)
			return -1;
		for (int k = 0; k < bytes; k++)
			out[n++] = (unsigned char)(w >> (16 - 8 * k));
	}
	*n_r = n;
	return 0;
}

int imapd_sasl_plain(const char *b64, size_t len, char user[IMAPD_AUTH_MAX],
		     char pass[IMAPD_AUTH_MAX])
{
	unsigned char buf[3 * IMAPD_AUTH_MAX + 3];
	size_t n;
	if (b64_decode(b64, len, buf, sizeof(buf), &n) < 0)
		return -1;
	/* authzid NUL authcid NUL passwd */
	const unsigned char *a = buf, *end = buf + n;
	const unsigned char *z1 = memchr(a, 0, n);
	const unsigned char *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
	if (z2 == NULL)
		return -1;
	size_t la = (size_t)(z1 - a), lu = (size_t)(z2 - z1 - 1), lp = (size_t)(end - z2 - 1);
	if (lu == 0 || lu >= IMAPD_AUTH_MAX || lp >= IMAPD_AUTH_MAX ||
	    memchr(z2 + 1, 0, lp) != NULL)
		return -1;
	if (la != 0 && (la != lu || memcmp(a, z1 + 1, lu) != 0))
		return -1; /* acting for somebody else: not offered */
	memcpy(user, z1 + 1, lu);
	user[lu] = '\0';
	memcpy(pass, z2 + 1, lp);
	pass[lp] = '\0';
	return 0;
}
