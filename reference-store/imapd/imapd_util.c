/* Small pure helpers of the parser: literal announcements at the end of a
 * line, date-time and base64 (the client library's), SASL PLAIN. */
#include "imapd_int.h"
#include "imap_syntax.h"

#include <string.h>

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

bool imapd_parse_date(const char *s, size_t len, int64_t *t_r)
{
	int32_t zone;
	return imap_parse_date_time(s, len, t_r, &zone);
}

/* ---- SASL PLAIN ---- */

/* authzid NUL authcid NUL passwd */
static int split_plain(const unsigned char *buf, size_t n, char user[IMAPD_AUTH_MAX],
		       char pass[IMAPD_AUTH_MAX])
{
	if (n == 0)
		return -1;
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

int imapd_sasl_plain(const char *b64, size_t len, char user[IMAPD_AUTH_MAX],
		     char pass[IMAPD_AUTH_MAX])
{
	cm_buf dec = {0};
	int rc = -1;
	if (len <= 4 * (IMAPD_AUTH_MAX + 1) && imap_base64_decode(&dec, b64, len) == 0)
		rc = split_plain((const unsigned char *)dec.data, dec.len, user, pass);
	cm_buf_free(&dec);
	return rc;
}
