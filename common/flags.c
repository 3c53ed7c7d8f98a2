/* Flag names <-> bits. System flags are fixed; keywords are interned into a
 * process-wide table so that every library shares one bit per name. */
#include "cm.h"

#include <string.h>
#include <strings.h>

static const char *const system_names[] = {
	"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft",
};

static char *keyword_names[CM_FLAGS_MAX];
static int keyword_count = 5; /* next free bit */

static bool flag_char_ok(unsigned char c)
{
	/* atom-char minus the ones IMAP reserves (RFC 3501 section 9). */
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static bool flag_name_ok(const char *name, size_t len)
{
	size_t i = 0;
	if (len == 0 || len > 64)
		return false;
	if (name[0] == '\\')
		i = 1;
	if (i == len)
		return false;
	for (; i < len; i++)
		if (!flag_char_ok((unsigned char)name[i]))
			return false;
	return true;
}

static bool name_eq(const char *a, const char *b, size_t blen)
{
	return strlen(a) == blen && strncasecmp(a, b, blen) == 0;
}

int cm_flag_lookup(const char *name, size_t len)
{
	for (int i = 0; i < 5; i++)
		if (name_eq(system_names[i], name, len))
			return i;
	if (name_eq("\\Recent", name, len))
		return -2;
	for (int i = 5; i < keyword_count; i++)
		if (name_eq(keyword_names[i], name, len))
			return i;
	return -1;
}

int cm_flag_intern(const char *name, size_t len)
{
	int bit = cm_flag_lookup(name, len);
	if (bit != -1)
		return bit;
	if (!flag_name_ok(name, len) || keyword_count >= CM_FLAGS_MAX)
		return -1;
	keyword_names[keyword_count] = cm_xstrndup(name, len);
	return keyword_count++;
}

const char *cm_flag_name(int bit)
{
	if (bit >= 0 && bit < 5)
		return system_names[bit];
	if (bit >= 5 && bit < keyword_count)
		return keyword_names[bit];
	return NULL;
}

cm_flags cm_flags_all_known(void)
{
	return keyword_count >= 64 ? ~(cm_flags)0
				   : (((cm_flags)1 << keyword_count) - 1);
}

int cm_flags_parse(const char *s, size_t len, cm_flags *flags_r, bool *recent_r)
{
	size_t i = 0;
	cm_flags flags = 0;
	bool recent = false;

	while (len > 0 && s[0] == ' ')
		s++, len--;
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len > 0 && s[0] == '(') {
		if (len < 2 || s[len - 1] != ')')
			return -1;
		s++;
		len -= 2;
	}
	while (i < len) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		int bit = cm_flag_intern(s + start, i - start);
		if (bit == -2)
			recent = true;
		else if (bit < 0)
			return -1;
		else
			flags |= (cm_flags)1 << bit;
	}
	*flags_r = flags;
	if (recent_r != NULL)
		*recent_r = recent;
	return 0;
}

void cm_flags_format(cm_buf *b, cm_flags flags)
{
	bool first = true;
	cm_buf_reserve(b, 0);
	for (int bit = 0; bit < CM_FLAGS_MAX && flags != 0; bit++) {
		if ((flags & ((cm_flags)1 << bit)) == 0)
			continue;
		flags &= ~((cm_flags)1 << bit);
		const char *name = cm_flag_name(bit);
		if (name == NULL)
			cm_panic("flag bit %d has no name", bit);
		if (!first)
			cm_buf_putc(b, ' ');
		cm_buf_puts(b, name);
		first = false;
	}
}
