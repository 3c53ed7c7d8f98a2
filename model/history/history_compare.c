/* Two events compared field by field (hj_event_diff, history_json.h): how
 * the reader's verify mode, the differential tests and the history fuzz
 * target tell that the fast path and the general parser read a line
 * alike. Every field of the model structs is compared, strings up to
 * their NUL (what follows it is stale), sets range by range. */
#include "history_json.h"

#include <stdio.h>
#include <string.h>

/* Each returns the name of the first field that differs, or NULL. */
#define DIFF(field)                                   \
	do {                                          \
		if (a->field != b->field)             \
			return #field;                \
	} while (0)
#define DIFF_STR(field)                                     \
	do {                                                \
		if (strcmp(a->field, b->field) != 0)        \
			return #field;                      \
	} while (0)
#define DIFF_SET(field)                                          \
	do {                                                     \
		if (!cm_uidset_equal(&a->field, &b->field))      \
			return #field;                           \
	} while (0)

static const char *op_diff(const model_op *a, const model_op *b)
{
	DIFF(kind); DIFF(uid); DIFF_SET(set); DIFF_STR(mailbox);
	DIFF(readonly); DIFF(condstore); DIFF(qresync); DIFF(q_uidvalidity);
	DIFF(q_modseq); DIFF_SET(q_known);
	DIFF(mode); DIFF(flags); DIFF(silent); DIFF(has_unchangedsince);
	DIFF(unchangedsince);
	DIFF(items); DIFF(has_changedsince); DIFF(changedsince); DIFF(vanished);
	DIFF_STR(msg_id); DIFF(body_hash); DIFF(size);
	DIFF(caps); DIFF(status_items); DIFF(fault); DIFF(fault_client);
	DIFF(replica); DIFF(peer); DIFF(opaque);
	return NULL;
}

static const char *code_diff(const model_code *a, const model_code *b)
{
	DIFF(kind); DIFF(uidvalidity); DIFF(value); DIFF_SET(set); DIFF_SET(dst);
	DIFF(flags); DIFF(star); DIFF_STR(text);
	return NULL;
}

static const char *untagged_diff(const model_untagged *a, const model_untagged *b)
{
	DIFF(kind); DIFF(n); DIFF(earlier); DIFF(value); DIFF_SET(set);
	DIFF(flags); DIFF(caps);
	DIFF(fetch.has); DIFF(fetch.uid); DIFF(fetch.flags); DIFF(fetch.recent);
	DIFF(fetch.modseq); DIFF(fetch.body_hash); DIFF(fetch.size); DIFF(fetch.idate);
	DIFF_STR(fetch.id); DIFF(fetch.duplicate_items);
	DIFF_STR(status.mailbox); DIFF(status.has); DIFF(status.messages);
	DIFF(status.recent); DIFF(status.uidnext); DIFF(status.uidvalidity);
	DIFF(status.unseen); DIFF(status.highestmodseq);
	return code_diff(&a->code, &b->code) != NULL ? "code" : NULL;
}

static const char *event_head_diff(const model_event *a, const model_event *b)
{
	DIFF(type); DIFF(client); DIFF(op_id); DIFF(t_ns);
	DIFF(res.status); DIFF(res.nut);
	DIFF_STR(res.text); DIFF_STR(res.anomaly); DIFF_STR(res.protocol);
	return NULL;
}

bool hj_event_diff(const model_event *a, const model_event *b, char *what, size_t size)
{
	const char *f = event_head_diff(a, b);
	if (f != NULL) {
		snprintf(what, size, "%s", f);
		return true;
	}
	if ((f = op_diff(&a->op, &b->op)) != NULL) {
		snprintf(what, size, "op.%s", f);
		return true;
	}
	if ((f = code_diff(&a->res.code, &b->res.code)) != NULL) {
		snprintf(what, size, "res.code.%s", f);
		return true;
	}
	for (size_t i = 0; i < a->res.nut; i++) {
		const model_untagged *ua = &a->res.ut[i], *ub = &b->res.ut[i];
		if ((f = untagged_diff(ua, ub)) == NULL)
			continue;
		if (strcmp(f, "code") == 0)
			snprintf(what, size, "res.ut[%zu].code.%s", i,
				 code_diff(&ua->code, &ub->code));
		else
			snprintf(what, size, "res.ut[%zu].%s", i, f);
		return true;
	}
	return false;
}
