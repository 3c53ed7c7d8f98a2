/* Response codes: "[" name [SP args] "]". Codes the checker relies on are
 * parsed strictly (a malformed UIDNEXT is an error, not a guess); any other
 * code is kept as its name plus the raw argument text. */
#include "imapc_int.h"

static const char *const code_names[] = {
	[IMAPC_CODE_NONE] = "",
	[IMAPC_CODE_ALERT] = "ALERT",
	[IMAPC_CODE_PARSE] = "PARSE",
	[IMAPC_CODE_READ_ONLY] = "READ-ONLY",
	[IMAPC_CODE_READ_WRITE] = "READ-WRITE",
	[IMAPC_CODE_TRYCREATE] = "TRYCREATE",
	[IMAPC_CODE_UIDNEXT] = "UIDNEXT",
	[IMAPC_CODE_UIDVALIDITY] = "UIDVALIDITY",
	[IMAPC_CODE_UNSEEN] = "UNSEEN",
	[IMAPC_CODE_PERMANENTFLAGS] = "PERMANENTFLAGS",
	[IMAPC_CODE_HIGHESTMODSEQ] = "HIGHESTMODSEQ",
	[IMAPC_CODE_NOMODSEQ] = "NOMODSEQ",
	[IMAPC_CODE_MODIFIED] = "MODIFIED",
	[IMAPC_CODE_APPENDUID] = "APPENDUID",
	[IMAPC_CODE_COPYUID] = "COPYUID",
	[IMAPC_CODE_CLOSED] = "CLOSED",
	[IMAPC_CODE_CAPABILITY] = "CAPABILITY",
	[IMAPC_CODE_NONEXISTENT] = "NONEXISTENT",
	[IMAPC_CODE_ALREADYEXISTS] = "ALREADYEXISTS",
	[IMAPC_CODE_INUSE] = "INUSE",
	[IMAPC_CODE_OVERQUOTA] = "OVERQUOTA",
	[IMAPC_CODE_LIMIT] = "LIMIT",
	[IMAPC_CODE_SERVERBUG] = "SERVERBUG",
	[IMAPC_CODE_UNAVAILABLE] = "UNAVAILABLE",
	[IMAPC_CODE_EXPUNGEISSUED] = "EXPUNGEISSUED",
	[IMAPC_CODE_NOPERM] = "NOPERM",
	[IMAPC_CODE_UIDNOTSTICKY] = "UIDNOTSTICKY",
	[IMAPC_CODE_OTHER] = "OTHER",
};

const char *imapc_code_name(imapc_code_kind k)
{
	if ((size_t)k >= CM_ARRAY_LEN(code_names))
		return "?";
	return code_names[k];
}

static imapc_code_kind code_lookup(imapc_str name)
{
	for (size_t k = IMAPC_CODE_ALERT; k < IMAPC_CODE_OTHER; k++)
		if (imapc_str_eq(name, code_names[k]))
			return (imapc_code_kind)k;
	return IMAPC_CODE_OTHER;
}

/* The arguments of codes that take them, cursor after "name SP". */
static bool code_args(imapc_lex *l, imapc_response *r)
{
	imapc_code *c = &r->code;
	switch (c->kind) {
	case IMAPC_CODE_UIDNEXT: case IMAPC_CODE_UIDVALIDITY:
	case IMAPC_CODE_UNSEEN:
		return imapc_lex_number(l, &c->num);
	case IMAPC_CODE_HIGHESTMODSEQ:
		return imapc_lex_number64(l, &c->modseq);
	case IMAPC_CODE_PERMANENTFLAGS:
		return imapc_parse_flaglist_(l, &c->flags);
	case IMAPC_CODE_MODIFIED:
		return imapc_parse_seqset_(l, r, 0, &c->uids);
	case IMAPC_CODE_APPENDUID:
		return imapc_lex_number(l, &c->num) && imapc_lex_sp(l) &&
		       imapc_parse_seqset_(l, r, 0, &c->uids);
	case IMAPC_CODE_COPYUID:
		return imapc_lex_number(l, &c->num) && imapc_lex_sp(l) &&
		       imapc_parse_seqset_(l, r, 0, &c->uids) && imapc_lex_sp(l) &&
		       imapc_parse_seqset_(l, r, 1, &c->dst);
	default:
		/* resp-text-code: atom [SP 1*<any TEXT-CHAR except "]">] */
		while (l->p < l->end && *l->p != ']')
			l->p++;
		return true;
	}
}

static bool takes_args(imapc_code_kind k)
{
	switch (k) {
	case IMAPC_CODE_UIDNEXT: case IMAPC_CODE_UIDVALIDITY:
	case IMAPC_CODE_UNSEEN: case IMAPC_CODE_HIGHESTMODSEQ:
	case IMAPC_CODE_PERMANENTFLAGS: case IMAPC_CODE_MODIFIED:
	case IMAPC_CODE_APPENDUID: case IMAPC_CODE_COPYUID:
		return true;
	default:
		return false;
	}
}

bool imapc_parse_code_(imapc_lex *l, imapc_response *r)
{
	imapc_code *c = &r->code;
	if (!imapc_lex_char(l, '[') || !imapc_lex_atom(l, &c->name))
		return false;
	c->kind = code_lookup(c->name);
	if (c->kind == IMAPC_CODE_CAPABILITY) {
		const char *s = l->p;
		if (!imapc_parse_caps_(l, r, true, &c->caps))
			return false;
		c->args.p = s + (l->p > s);
		c->args.len = l->p > s ? (size_t)(l->p - s - 1) : 0;
		return imapc_lex_char(l, ']');
	}
	if (imapc_lex_peek(l) == ' ') {
		l->p++;
		c->args.p = l->p;
		if (!code_args(l, r))
			return false;
		c->args.len = (size_t)(l->p - c->args.p);
	} else if (takes_args(c->kind)) {
		return imapc_lex_fail(l, "response code %s needs arguments",
				      imapc_code_name(c->kind));
	}
	return imapc_lex_char(l, ']');
}
