/* The bytes of a message the harness adds, derived from its id only, so
 * the workload knows the expected hash and size without asking anyone. */
#include "model.h"

#include <string.h>

void model_message_bytes_sized(const char *id, uint32_t size, cm_buf *out)
{
	cm_buf_clear(out);
	cm_buf_printf(out,
		      "X-Ratchet-Id: %s\r\n"
		      "From: ratchet <ratchet@example.invalid>\r\n"
		      "To: ratchet <ratchet@example.invalid>\r\n"
		      "Subject: ratchet %s\r\n"
		      "Message-ID: <%s@ratchet.invalid>\r\n"
		      "Date: Sat, 01 Jan 2000 00:00:00 +0000\r\n"
		      "\r\n"
		      "ratchet message %s\r\n",
		      id, id, id, id);
	cm_rng rng;
	cm_rng_seed(&rng, cm_hash64(id, strlen(id)));
	size_t col = 0;
	while (out->len < size) {
		/* Lines of 76 letters; CRLF only as a pair. */
		if (col == 76 && size - out->len >= 2) {
			cm_buf_puts(out, "\r\n");
			col = 0;
			continue;
		}
		cm_buf_putc(out, (char)('a' + cm_rng_below(&rng, 26)));
		col++;
	}
}

void model_message_bytes(const char *id, cm_buf *out)
{
	model_message_bytes_sized(id, 0, out);
}
