/* The hostile-client policy of ratchet-imapd as pure functions (the
 * connection applies them; tests check them without sockets). Before
 * login a client is nobody: it gets a few KiB and a few seconds. */
#include "imapd.h"

size_t imapd_line_limit(bool authed)
{
	return authed ? IMAPD_LINE_MAX : IMAPD_PREAUTH_MAX;
}

bool imapd_literal_fits(bool authed, size_t cmd_len, uint64_t n, unsigned nth)
{
	size_t cmd_max = authed ? IMAPD_COMMAND_MAX : IMAPD_PREAUTH_MAX;
	uint64_t lit_max = authed ? IMAPD_LITERAL_MAX : IMAPD_PREAUTH_MAX;
	return nth >= 1 && nth <= IMAPD_LITERALS_MAX && n <= lit_max &&
	       cmd_len <= cmd_max && n <= cmd_max - cmd_len;
}

unsigned imapd_auth_delay_ms(unsigned failures)
{
	if (failures == 0)
		return 0;
	/* Doubling, capped (the count is capped anyway; no shift overflow). */
	unsigned shift = CM_MIN(failures - 1, 8u);
	return IMAPD_AUTH_DELAY_MS << shift;
}
