/* Base64 (RFC 4648) for SASL. */
#include "imap_syntax.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void imap_base64_encode(cm_buf *out, const void *data, size_t len)
{
	const unsigned char *s = data;
	cm_buf_reserve(out, (len + 2) / 3 * 4);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		cm_buf_putc(out, alphabet[(v >> 18) & 63]);
		cm_buf_putc(out, alphabet[(v >> 12) & 63]);
		cm_buf_putc(out, i + 1 < len ? alphabet[(v >> 6) & 63] : '=');
		cm_buf_putc(out, i + 2 < len ? alphabet[v & 63] : '=');
	}
}

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int imap_base64_decode(cm_buf *out, const char *s, size_t len)
{
	if (len % 4 != 0)
		return -1;
	cm_buf_reserve(out, len / 4 * 3);
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = value_of(s[i + k])) < 0) {
				return -1;
			}
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		cm_buf_putc(out, (char)(x >> 16));
		if (pad < 2)
			cm_buf_putc(out, (char)(x >> 8));
		if (pad < 1)
			cm_buf_putc(out, (char)x);
	}
	return 0;
}
