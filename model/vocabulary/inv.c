/* The invariant catalogue: docs/invariants.md in code. */
#include "model.h"

#include <string.h>

#define E MODEL_SEV_ERROR
#define W MODEL_SEV_WARNING
/* What a check needs of the target (model_inv_info.gated_by). */
#define UNGATED 0
#define CONDSTORE MODEL_CAP_CONDSTORE
#define QRESYNC MODEL_CAP_QRESYNC
#define UIDPLUS MODEL_CAP_UIDPLUS
#define MOVE MODEL_CAP_MOVE

static const model_inv_info catalogue[MODEL_INV_COUNT] = {
	{MODEL_INV_UIDVALIDITY_STABLE, "UIDVALIDITY-STABLE", 'A', E, false, "RFC 3501 2.3.1.1",
	 "UIDVALIDITY never changes while selected and never goes down", UNGATED},
	{MODEL_INV_UID_IMMUTABLE, "UID-IMMUTABLE", 'A', E, false, "RFC 3501 2.3.1.1",
	 "content, size and internal date of a UID never change", UNGATED},
	{MODEL_INV_UID_NO_REUSE, "UID-NO-REUSE", 'A', E, false, "RFC 3501 2.3.1.1",
	 "an expunged UID never exists again; assigned UIDs are new", UNGATED},
	{MODEL_INV_UID_ASCENDING, "UID-ASCENDING", 'A', E, false, "RFC 3501 2.3.1.1-2",
	 "UIDs ascend with sequence numbers; new messages get higher UIDs", UNGATED},
	{MODEL_INV_UID_ORDER_GLOBAL, "UID-ORDER-GLOBAL", 'A', E, false, "RFC 3501 2.3.1.1",
	 "a message added after another completed gets a higher UID", UNGATED},
	{MODEL_INV_UIDNEXT_MONO, "UIDNEXT-MONO", 'A', E, false, "RFC 3501 2.3.1.1",
	 "UIDNEXT never decreases and passes every assigned UID", UNGATED},
	{MODEL_INV_UID_BELOW_UIDNEXT, "UID-BELOW-UIDNEXT", 'A', E, false, "RFC 3501 2.3.1.1",
	 "existing UIDs are below UIDNEXT; later additions are at least UIDNEXT", UNGATED},
	{MODEL_INV_UID_NONEXISTENT_IGNORED, "UID-NONEXISTENT-IGNORED", 'A', E, false, "RFC 3501 6.4.8",
	 "UID commands naming absent UIDs affect nothing else", UNGATED},
	{MODEL_INV_UID_NONZERO, "UID-NONZERO", 'A', E, false, "RFC 3501 2.3.1.1, 9",
	 "a UID a server reports is a nonzero 32-bit number", UNGATED},
	{MODEL_INV_EXPUNGE_SEQNUM_VALID, "EXPUNGE-SEQNUM-VALID", 'B', E, false, "RFC 3501 7.4.1",
	 "EXPUNGE numbers are valid; no EXPUNGE where forbidden", UNGATED},
	{MODEL_INV_SESSION_VIEW_CONVERGES, "SESSION-VIEW-CONVERGES", 'B', E, true, "DERIVED",
	 "after NOOP in a quiet mailbox every session's view equals a fresh one", UNGATED},
	{MODEL_INV_EXPUNGE_DELETED_ONLY, "EXPUNGE-DELETED-ONLY", 'B', E, false, "RFC 3501 6.4.3, 4315 2.1",
	 "only \\Deleted messages are expunged", UNGATED},
	{MODEL_INV_FLAGS_MERGE, "FLAGS-MERGE", 'C', E, true, "DERIVED",
	 "observed flags are explained by an order of the STOREs; no lost update", UNGATED},
	{MODEL_INV_STORE_RESPONSE_VALUE, "STORE-RESPONSE-VALUE", 'C', E, false, "RFC 3501 6.4.6",
	 "a STORE's FETCH shows what it added and lacks what it removed", UNGATED},
	{MODEL_INV_RECENT_SESSION, "RECENT-SESSION", 'C', W, false, "RFC 3501 2.3.2",
	 "\\Recent is seen by at most one session", UNGATED},
	{MODEL_INV_MODSEQ_POSITIVE, "MODSEQ-POSITIVE", 'D', E, false, "RFC 7162 7",
	 "1 <= modseq <= 2^63-1", CONDSTORE},
	{MODEL_INV_MODSEQ_STORE_UNIQUE, "MODSEQ-STORE-UNIQUE", 'D', E, false, "RFC 7162 3.1",
	 "distinct STORE commands never get the same new modseq", CONDSTORE},
	{MODEL_INV_MODSEQ_MONO, "MODSEQ-MONO", 'D', E, false, "RFC 7162 3.1",
	 "a message's modseq never decreases", CONDSTORE},
	{MODEL_INV_MODSEQ_ON_CHANGE, "MODSEQ-ON-CHANGE", 'D', E, false, "RFC 7162 3.1, 3.1.3",
	 "every flag change raises the modseq", CONDSTORE},
	{MODEL_INV_MODSEQ_ON_APPEND, "MODSEQ-ON-APPEND", 'D', E, false, "RFC 7162 3.1, 6851 4.4",
	 "an added message's modseq is above every modseq in the mailbox", CONDSTORE},
	{MODEL_INV_MODSEQ_IN_FETCH, "MODSEQ-IN-FETCH", 'D', E, false, "RFC 7162 3.1.3, 3.2.4",
	 "with CONDSTORE enabled, FETCH updates carry MODSEQ", CONDSTORE},
	{MODEL_INV_HIGHESTMODSEQ_MONO, "HIGHESTMODSEQ-MONO", 'D', E, false, "RFC 7162 3.1.2.1, 3.2",
	 "HIGHESTMODSEQ never decreases", CONDSTORE},
	{MODEL_INV_HIGHESTMODSEQ_COVERS, "HIGHESTMODSEQ-COVERS", 'D', E, false, "RFC 7162 3.1.2.1",
	 "HIGHESTMODSEQ covers every modseq returned before", CONDSTORE},
	{MODEL_INV_NOMODSEQ_RULES, "NOMODSEQ-RULES", 'D', E, false, "RFC 7162 3.1.2.2",
	 "after NOMODSEQ, modseq commands fail and HIGHESTMODSEQ is 0", CONDSTORE},
	{MODEL_INV_UNCHANGEDSINCE_REJECT, "UNCHANGEDSINCE-REJECT", 'E', E, false, "RFC 7162 3.1.3",
	 "a conditional STORE does not modify a message changed since", CONDSTORE},
	{MODEL_INV_UNCHANGEDSINCE_ACCEPT, "UNCHANGEDSINCE-ACCEPT", 'E', E, false, "RFC 7162 3.1.3",
	 "a conditional STORE on an unchanged message succeeds", CONDSTORE},
	{MODEL_INV_MODIFIED_CORRECT, "MODIFIED-CORRECT", 'E', E, false, "RFC 7162 3.1.3, 3.1.12",
	 "MODIFIED lists only unchanged messages with a higher modseq", CONDSTORE},
	{MODEL_INV_EXPUNGED_DURING_STORE, "EXPUNGED-DURING-STORE", 'E', E, false, "RFC 7162 3.1.3",
	 "a STORE on an expunged message never brings it back", CONDSTORE},
	{MODEL_INV_EXPUNGE_MODSEQ, "EXPUNGE-MODSEQ", 'F', E, false, "RFC 7162 3.2.7-9, 6851 4.4",
	 "expunging raises the mailbox modseq", QRESYNC},
	{MODEL_INV_VANISHED_INSTEAD, "VANISHED-INSTEAD", 'F', E, false, "RFC 7162 3.2.10",
	 "with QRESYNC, VANISHED replaces EXPUNGE and names known UIDs", QRESYNC},
	{MODEL_INV_VANISHED_EARLIER_COMPLETE, "VANISHED-EARLIER-COMPLETE", 'F', E, false, "RFC 7162 3.2.6",
	 "VANISHED (EARLIER) lists every UID expunged since the modseq", QRESYNC},
	{MODEL_INV_CHANGEDSINCE_COMPLETE, "CHANGEDSINCE-COMPLETE", 'F', E, false, "RFC 7162 3.1.4.1",
	 "CHANGEDSINCE returns every message changed since, and only those", QRESYNC},
	{MODEL_INV_SELECT_QRESYNC, "SELECT-QRESYNC", 'F', E, false, "RFC 7162 3.2.5",
	 "SELECT (QRESYNC) resynchronises like UID FETCH CHANGEDSINCE VANISHED", QRESYNC},
	{MODEL_INV_QRESYNC_NO_GAP, "QRESYNC-NO-GAP", 'F', E, false, "RFC 7162 3.2",
	 "HIGHESTMODSEQ never covers a change the session was not told", QRESYNC},
	{MODEL_INV_APPEND_ATOMIC, "APPEND-ATOMIC", 'G', E, false, "RFC 9051 6.3.12",
	 "a failed APPEND leaves no message; a lost reply zero or one", UNGATED},
	{MODEL_INV_APPENDUID_CONSISTENT, "APPENDUID-CONSISTENT", 'G', E, false, "RFC 4315 3",
	 "APPENDUID names the new message in the current epoch", UIDPLUS},
	{MODEL_INV_COPY_ATOMIC, "COPY-ATOMIC", 'G', E, false, "RFC 3501 6.4.7",
	 "a failed COPY copies nothing; copies are identical", UNGATED},
	{MODEL_INV_COPYUID_CONSISTENT, "COPYUID-CONSISTENT", 'G', E, false, "RFC 4315 3",
	 "COPYUID pairs the copied UIDs with new destination UIDs", UIDPLUS},
	{MODEL_INV_ADD_NO_LOSS, "ADD-NO-LOSS", 'G', E, false, "RFC 3501 6.3.11, 4315 3, 6851 3.3",
	 "an acknowledged APPEND, delivery, COPY or MOVE is in every later fresh read", UNGATED},
	{MODEL_INV_DELIVER_ONCE, "DELIVER-ONCE", 'G', E, false, "design.md#delivery, RFC 2033 4.2",
	 "an acknowledged delivery is added once, a refused one never", UNGATED},
	{MODEL_INV_MOVE_NO_LOSS, "MOVE-NO-LOSS", 'G', E, false, "RFC 6851 3.3",
	 "after MOVE every message is in the source or the target", MOVE},
	{MODEL_INV_MOVE_NO_DUP, "MOVE-NO-DUP", 'G', E, false, "RFC 6851 3.3, 9051",
	 "after MOVE OK no message is in both", MOVE},
	{MODEL_INV_MOVE_SHAPE, "MOVE-SHAPE", 'G', E, false, "RFC 6851 3.3, 4.3",
	 "MOVE expunges what it moved, reports COPYUID, never shows \\Deleted", MOVE},
	{MODEL_INV_STORE_DURABLE, "STORE-DURABLE", 'H', E, false, "design.md#delivery, #copy-move",
	 "after a crash every completed operation is still there", UNGATED},
	{MODEL_INV_STORE_LOCK_FREE_READ, "STORE-LOCK-FREE-READ", 'H', E, false, "design.md#copy-move",
	 "readers never see a UID without its message or the reverse", UNGATED},
	{MODEL_INV_MODSEQ_REBUILD_MONO, "MODSEQ-REBUILD-MONO", 'H', E, false, "design.md#modseq",
	 "after rotation or rebuild modseqs stay above every value reported", UNGATED},
	{MODEL_INV_REPL_CONVERGE, "REPL-CONVERGE", 'H', E, false, "design.md#flags",
	 "replicas converge to the same messages, flags and expunges", UNGATED},
	{MODEL_INV_REPL_UID_FIXUP, "REPL-UID-FIXUP", 'H', E, false, "design.md#replication",
	 "a UID assigned twice in a partition is fixed without rebinding", UNGATED},
	{MODEL_INV_REPL_FLAGS_MERGE, "REPL-FLAGS-MERGE", 'H', E, false, "design.md#flags",
	 "after a sync every flag has a value some client's STORE gave it", UNGATED},
	{MODEL_INV_REPL_NO_RESURRECT, "REPL-NO-RESURRECT", 'H', E, false,
	 "design.md#replication", "a UID expunged on one replica is gone from all after a sync",
	 UNGATED},
	{MODEL_INV_RESPONSE_SYNTAX, "RESPONSE-SYNTAX", 'I', E, false, "RFC 3501 9, RFC 9051 9",
	 "every server response follows the formal syntax", UNGATED},
	{MODEL_INV_SCENARIO_EXPECT, "SCENARIO-EXPECT", 'J', E, false, "scenarios/README.md",
	 "every reply meets the expectations its scenario writes for it", UNGATED},
};

const model_inv_info *model_inv_get(model_inv inv)
{
	if ((unsigned)inv >= MODEL_INV_COUNT || catalogue[inv].inv != inv)
		cm_panic("invariant %d out of catalogue order", (int)inv);
	return &catalogue[inv];
}

const model_inv_info *model_inv_find(const char *id)
{
	for (int i = 0; i < MODEL_INV_COUNT; i++)
		if (strcmp(catalogue[i].id, id) == 0)
			return &catalogue[i];
	return NULL;
}

const char *model_cap_name(unsigned cap)
{
	static const char *const names[] = {
		"IMAP4rev2", "UIDPLUS", "CONDSTORE", "QRESYNC",
		"MOVE", "ENABLE", "LITERAL+", "ESEARCH",
	};
	for (size_t i = 0; i < CM_ARRAY_LEN(names); i++)
		if (cap == 1u << i)
			return names[i];
	return NULL;
}

const char *model_section_name(char section)
{
	switch (section) {
	case 'A': return "A. UIDs and mailbox identity";
	case 'B': return "B. Sequence numbers, EXISTS, EXPUNGE";
	case 'C': return "C. Flags";
	case 'D': return "D. CONDSTORE";
	case 'E': return "E. UNCHANGEDSINCE and MODIFIED";
	case 'F': return "F. QRESYNC";
	case 'G': return "G. APPEND, COPY, MOVE";
	case 'H': return "H. Store-level invariants";
	case 'I': return "I. Protocol";
	case 'J': return "J. Scenarios";
	}
	return "?";
}
