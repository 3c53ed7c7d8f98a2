/* Error codes and messages. */
#include "rs_private.h"

#include <stdarg.h>
#include <stdio.h>

const char *rs_strerror(rs_err err)
{
	switch (err) {
	case RS_OK: return "ok";
	case RS_ENOENT: return "no such mailbox or message";
	case RS_EEXIST: return "mailbox already exists";
	case RS_ENOSPC: return "over quota or out of space";
	case RS_EFAIL: return "file-system call failed";
	case RS_ELOCKED: return "mailbox lock not obtained in time";
	case RS_ECORRUPT: return "corrupt mailbox file";
	case RS_EINVAL: return "invalid argument";
	case RS_EEXPUNGED: return "message expunged meanwhile";
	case RS_EUNKNOWN: return "failed after commit began: outcome unknown";
	}
	return "unknown error";
}

rs_err rs_err_from_errno(int neg_errno)
{
	switch (-neg_errno) {
	case ENOENT: return RS_ENOENT;
	case EEXIST: return RS_EEXIST;
	case ENOSPC:
	case EDQUOT: return RS_ENOSPC;
	default: return RS_EFAIL;
	}
}

rs_err rs_fail(rs_mailbox *mb, rs_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(mb->err, sizeof(mb->err), fmt, ap);
	va_end(ap);
	return err;
}

const char *rs_last_error(const rs_mailbox *mb)
{
	return mb->err;
}

_Noreturn void rs_assert_fail(const char *what, const char *cond,
			      const char *file, int line)
{
	cm_panic("store invariant %s broken at %s:%d (%s)", what, file, line, cond);
}
