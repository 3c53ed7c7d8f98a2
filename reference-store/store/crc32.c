/* CRC-32 (IEEE) for log records: a torn or garbled record must not parse.
 * Slice-by-8: readers check every record they read, so this is hot. */
#include "rs_private.h"

#include <string.h>

static uint32_t crc_table[8][256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
	crc_ready = true;
}

uint32_t rs_crc32(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t c = 0xffffffffu;
	if (!crc_ready)
		crc_init();
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (n >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, s, 4);
		memcpy(&hi, s + 4, 4);
		lo ^= c; /* little-endian hosts: byte 0 is the low byte */
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		    crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		s += 8;
		n -= 8;
	}
#endif
	while (n--)
		c = crc_table[0][(c ^ *s++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}
