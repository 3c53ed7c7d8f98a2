/* CRC-32 (IEEE) for log records: a torn or garbled record must not parse. */
#include "rs_private.h"

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = true;
}

uint32_t rs_crc32(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t c = 0xffffffffu;
	if (!crc_ready)
		crc_init();
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ s[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}
