/* Scripted conflicts of the wire campaign (wire.c). */
#include "wire_loop.h"

/* ---- scripted conflicts ----
 *
 * The "read a modseq, let another client change the message, then
 * store conditionally", in that order across two connections: A fetches
 * UID x's MODSEQ, B changes x (and completes), then A stores with
 * UNCHANGEDSINCE what it read. A correct server answers MODIFIED; one that
 * compares with stale state of its own (unchangedsince-stale) applies it,
 * and the checker has B's completed change as evidence. */

/* A ready client starts such a conflict at one op in ten: often enough
 * that every run has many, rarely enough that the two connections still
 * spend most of their ops on the ordinary mix. */
#define CONFLICT_START RT_RATIO(1, 10)

static const rt_client_msg *known_uid(const rt_client_state *v, uint32_t uid)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->e[i].uid == uid)
			return &v->e[i];
	return NULL;
}

static bool ready(const rt_wire_client *cl)
{
	return cl->state == RT_WIRE_IDLE && cl->nqueue == 0 && cl->known.selected &&
	       !cl->known.readonly && cl->known.condstore && rt_wire_client_usable(cl);
}

/* Picks A, B and a UID both know, with a probability from A's choices. */
void rt_wire_conflict_start(wire_loop *loop, rt_wire_client *a)
{
	if (!(loop->w.setup->caps & MODEL_CAP_CONDSTORE) || !ready(a) ||
	    a->role != RT_WIRE_USER || !rt_choice_chance(&a->ch, CONFLICT_START))
		return;
	for (unsigned i = 0; i < loop->w.users; i++) {
		rt_wire_client *b = &loop->w.cl[i];
		if (b == a || !ready(b) || b->known.box != a->known.box || a->known.n == 0)
			continue;
		const rt_client_msg *e = &a->known.e[rt_choice_below(&a->ch, a->known.n)];
		if (e->uid == 0 || known_uid(&b->known, e->uid) == NULL)
			return;
		loop->conflict = (struct conflict){a, b, e->uid, 1};
		model_op op;
		model_op_init(&op, MODEL_OP_FETCH);
		op.uid = true;
		cm_uidset_add(&op.set, e->uid);
		op.items = MODEL_F_UID | MODEL_F_FLAGS | MODEL_F_MODSEQ;
		rt_wire_client_push(a, &op);
		loop->started++;
		return;
	}
}

void rt_wire_conflict_step(wire_loop *loop)
{
	struct conflict *scene = &loop->conflict;
	if (scene->stage == 0 || scene->a->state != RT_WIRE_IDLE || scene->a->nqueue ||
	    scene->b->state != RT_WIRE_IDLE || scene->b->nqueue)
		return;
	const rt_client_msg *e = known_uid(&scene->a->known, scene->uid);
	if (!rt_wire_client_usable(scene->a) || !rt_wire_client_usable(scene->b) || e == NULL ||
	    scene->stage == 3) {
		scene->stage = 0; /* done, or the scene fell apart */
		return;
	}
	model_op op;
	model_op_init(&op, MODEL_OP_STORE);
	op.uid = true;
	cm_uidset_add(&op.set, scene->uid);
	op.flags = (scene->stage == 2 ? CM_FLAG_SEEN : CM_FLAG_FLAGGED) & loop->w.setup->allowed;
	if (scene->stage == 1) {
		/* B toggles \Flagged, so that its STORE changes something. */
		const rt_client_msg *eb = known_uid(&scene->b->known, scene->uid);
		op.mode = eb != NULL && (eb->flags & CM_FLAG_FLAGGED) ? MODEL_STORE_REMOVE
								       : MODEL_STORE_ADD;
		rt_wire_client_push(scene->b, &op);
		scene->stage = 2;
	} else {
		op.mode = MODEL_STORE_REPLACE;
		op.has_unchangedsince = true;
		op.unchangedsince = e->modseq;
		rt_wire_client_push(scene->a, &op);
		scene->stage = 3;
	}
	loop->started++;
}

