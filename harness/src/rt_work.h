/* The workload generator and the client-side view (shared by the simulator
 * and the wire driver). */
#ifndef RT_WORK_H
#define RT_WORK_H

#include "rt.h"
#include "model.h"

typedef struct rt_view_entry {
	uint32_t uid;
	bool has_flags, has_id;
	cm_flags flags;
	uint64_t modseq;
} rt_view_entry;

/* Messages a client's view follows: it only picks targets among them, so
 * a server claiming 4294967295 (EXISTS) costs 1.5 MB, not 100 GB. */
#define RT_VIEW_MAX 65536u

/* What a client knows about its session, from its own responses. */
typedef struct rt_view {
	bool connected, selected, readonly, condstore, qresync, need_sync;
	bool trim_next;                 /* a trim set \Deleted: EXPUNGE next */
	int box;                        /* selected mailbox index, -1 none */
	uint32_t uidvalidity;
	rt_view_entry *e;               /* by sequence number - 1 */
	size_t n, cap;
	uint64_t hms;
	struct rt_view_cache {          /* for SELECT (QRESYNC ...) later */
		uint32_t uidvalidity;
		uint64_t modseq;
		cm_uidset known;
	} cache[RT_MAX_BOXES];
} rt_view;

typedef struct rt_workload {
	rt_mix mix;
	unsigned caps;                  /* MODEL_CAP_* of the target */
	char boxes[RT_MAX_BOXES][MODEL_NAME_MAX];
	char id_prefix[24];
	uint64_t next_id;
	cm_flags flag_bits[8];
	/* The exact bytes the target will store for a message id. */
	void (*message_bytes)(const char *id, cm_buf *out);
} rt_workload;

void rt_workload_init(rt_workload *w, const rt_mix *mix, unsigned caps,
		      const char *const *boxes, const char *id_prefix);
int rt_workload_box_index(const rt_workload *w, const char *name);
void rt_workload_next(rt_workload *w, const rt_view *v, rt_choice *c, model_op *op);
void rt_workload_deliver(rt_workload *w, rt_choice *c, model_op *op);
/* A quiet checkpoint's fresh read of mailbox box: EXAMINE, UID SEARCH ALL
 * and UID FETCH 1:* of what the checker compares (MODSEQ with condstore). */
void rt_workload_audit(const rt_workload *w, int box, bool condstore, model_op ops[3]);

void rt_view_reset(rt_view *v);
void rt_view_free(rt_view *v);
void rt_view_apply(rt_view *v, const rt_workload *w, const model_op *op,
		   const model_result *res);

#endif
