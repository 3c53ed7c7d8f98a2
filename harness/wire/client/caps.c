/* Capability names the client acts on, as bits. */
#include "imapc_int.h"

static const struct {
	const char *name;
	uint32_t bit;
} cap_names[] = {
	{"IMAP4rev1", IMAPC_CAP_IMAP4REV1},
	{"IMAP4rev2", IMAPC_CAP_IMAP4REV2},
	{"UIDPLUS", IMAPC_CAP_UIDPLUS},
	{"CONDSTORE", IMAPC_CAP_CONDSTORE},
	{"QRESYNC", IMAPC_CAP_QRESYNC},
	{"MOVE", IMAPC_CAP_MOVE},
	{"ENABLE", IMAPC_CAP_ENABLE},
	{"LITERAL+", IMAPC_CAP_LITERALPLUS},
	{"LITERAL-", IMAPC_CAP_LITERALMINUS},
	{"SASL-IR", IMAPC_CAP_SASL_IR},
	{"ESEARCH", IMAPC_CAP_ESEARCH},
	{"IDLE", IMAPC_CAP_IDLE},
	{"AUTH=PLAIN", IMAPC_CAP_AUTH_PLAIN},
	{"LOGINDISABLED", IMAPC_CAP_LOGINDISABLED},
	{"STARTTLS", IMAPC_CAP_STARTTLS},
	{"BINARY", IMAPC_CAP_BINARY},
	{"UTF8=ACCEPT", IMAPC_CAP_UTF8_ACCEPT},
};

uint32_t imapc_cap_bit(const char *name, size_t len)
{
	imapc_str s = {name, len};
	for (size_t i = 0; i < CM_ARRAY_LEN(cap_names); i++)
		if (imapc_str_eq(s, cap_names[i].name))
			return cap_names[i].bit;
	return 0;
}

bool imapc_caps_has(const imapc_caps *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (imapc_str_eq(c->names[i], name))
			return true;
	return false;
}
