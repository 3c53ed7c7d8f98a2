/* The wire campaign's loop state (wire.c), shared with the scripted
 * conflicts (wire_conflict.c). */
#ifndef RT_WIRE_LOOP_H
#define RT_WIRE_LOOP_H

#include "wire_private.h"

typedef enum phase {
	PH_RUN,     /* clients take ops from the workload */
	PH_DRAIN,   /* waiting for every op in flight to end */
	PH_SYNC,    /* replicated: the quiet point's sync command */
	PH_NOOP,    /* the checkpoint's NOOPs */
	PH_AUDIT,   /* the checkpoint's fresh reads */
	PH_DONE,
} phase;

typedef struct wire_loop {
	rt_wire w;
	phase ph;
	bool stopping;              /* budget spent: one last checkpoint */
	bool keep_going;            /* else stop at the first error */
	struct conflict {           /* a scripted conflict, see conflict_step */
		rt_wire_client *a, *b;
		uint32_t uid;
		int stage;          /* 0 none, 1 A reads, 2 B writes, 3 A stores */
	} conflict;
	uint64_t budget, started;   /* workload ops */
	uint64_t deadline;          /* no op starts after it */
	uint64_t hard_deadline;     /* nothing in flight after it (+ grace) */
	bool cut;                   /* the run was cut at hard_deadline */
	uint64_t every, next_ckpt;  /* checkpoint spacing in ops */
	unsigned sync_tries;        /* replicated: runs at this quiet point */
	uint64_t ckpt_id, checkpoints;
	uint64_t start_ns, progress_ns;
	uint64_t line_every_ns, line_ns; /* --progress-every: its next line */
	bool progress;
	char fatal[256];
	struct pollfd *pfd;
	rt_wire_client **pcl;
} wire_loop;

/* A ready client a may start a scripted conflict (one op in ten). */
void rt_wire_conflict_start(wire_loop *loop, rt_wire_client *a);
/* The scripted conflict's next step, once both its clients are idle. */
void rt_wire_conflict_step(wire_loop *loop);

#endif
