/* Internals of the sync agent (rs_repl.h). */
#ifndef RS_REPL_PRIVATE_H
#define RS_REPL_PRIVATE_H

#include "rs_repl.h"
#include "rs_session.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

/* A UID of a source replica and the name (GUID) its A record gave it. */
typedef struct repl_name {
	uint32_t uid;
	char name[RS_MSG_NAME_MAX];
} repl_name;

/* One mailbox in one direction: how far the source's log was shipped. */
typedef struct repl_link {
	char box[MODEL_NAME_MAX];
	uint32_t src, dst;
	bool started;
	uint32_t indexid, log_seq;   /* the log the position is in */
	uint64_t off;                /* bytes of records shipped */
	repl_name *names;            /* every UID the source's log added,
				      * ascending: an E record names UIDs
				      * already gone from its state */
	size_t n, cap;
} repl_link;

/* A message whose flags the lower replica changed in this sync: its
 * changes win over the higher one's to the same flags. */
typedef struct repl_won {
	char name[RS_MSG_NAME_MAX];
	cm_flags bits;
} repl_won;

typedef struct repl_handle {
	uint32_t replica;
	char box[MODEL_NAME_MAX];
	rs_mailbox *mb;
	bool stale;                  /* its replica crashed: open it afresh */
} repl_handle;

struct rs_repl {
	rs_repl_options o;
	repl_handle *h;
	size_t nh, caph;
	repl_link *links;
	size_t nlinks, caplinks;
	repl_won *won;
	size_t nwon, capwon;
	uint64_t fixups;             /* names of renumbered copies */
	cm_buf buf;                  /* a log or a message body */
};

/* One direction's work in one round. */
typedef struct repl_pass {
	rs_repl *r;
	repl_link *link;
	rs_mailbox *src, *dst;
	bool lower;                  /* src is the lower replica: its flag
				      * changes win */
	uint64_t shipped;
	repl_name *later;            /* adds waiting for a fix-up */
	size_t nlater, caplater;
	rs_repl_stats *st;
	const char **why;
} repl_pass;

/* repl.c */
repl_won *rs_repl_won(rs_repl *r, const char *name, bool create);
/* The UID a fix-up may take: the agent's next, above both sides. */
uint32_t rs_repl_fixup_uid(rs_repl *r, rs_mailbox *src, rs_mailbox *dst);
void rs_repl_fixup_name(rs_repl *r, const char *old, char out[RS_MSG_NAME_MAX]);
void rs_repl_name_add(repl_link *l, uint32_t uid, const char *name);
const char *rs_repl_name_of(const repl_link *l, uint32_t uid);
/* The UID of the message called name in mb's state, 0 if none. */
uint32_t rs_repl_uid_of(const rs_mailbox *mb, const char *name);

/* repl_pass.c: ships link's new records from src to dst. RS_OK or the
 * first failure (nothing after it applied, the position before it). */
rs_err rs_repl_pass(repl_pass *p);

#endif
