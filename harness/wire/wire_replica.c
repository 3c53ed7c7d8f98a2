/* The second server of a replicated pair (`--replica URL --sync-cmd CMD`):
 * its set-up beside the target's.
 *
 * The run's mailboxes are created on the target (replica 1) only; the
 * first run of the sync command, before any op and unrecorded, brings
 * them to replica 2, where they must then exist, empty. Creating them on
 * both sides instead gives each its own mailbox GUID, and Dovecot's dsync
 * then fails on every run ("Mailbox changes caused a desync ... Remote
 * lost mailbox GUID", exit 2: docs/wire.md#replicated-pairs). The pair is
 * driven with what both servers offer: the capabilities and permanent
 * flags they have in common. */
#include "wire_private.h"

#include <stdio.h>

/* The first sync: CM_EXIT_CLEAN, or CM_EXIT_USAGE after one line. */
static int first_sync(rt_wire_sync *sync)
{
	model_result res;
	cm_err err = {{0}};
	model_result_init(&res);
	int rc = CM_EXIT_CLEAN;
	if (rt_wire_sync_run(sync, &res, &err) != 0) {
		cm_error("%s", err.text);
		rc = CM_EXIT_USAGE;
	} else if (res.status != MODEL_REPLY_OK) {
		cm_error("the first run of the sync command (before any op) failed: %s",
			 res.text);
		rc = CM_EXIT_USAGE;
	}
	model_result_free(&res);
	return rc;
}

static int replica_open(rt_wire_setup *a, rt_wire_setup *b, rt_wire_sync *sync,
			 const rt_opts *o, uint64_t deadline_ns)
{
	assert(a->ready && o->replica != NULL && o->sync_cmd != NULL);
	int rc = rt_wire_setup_open_url(b, o->replica, o, deadline_ns);
	if (rc == CM_EXIT_CLEAN)
		rc = rt_wire_setup_mirror(b, a, o);
	if (rc == CM_EXIT_CLEAN)
		rc = first_sync(sync);
	if (rc == CM_EXIT_CLEAN)
		rc = rt_wire_setup_adopt(b);
	if (rc != CM_EXIT_CLEAN)
		return rc;
	a->caps &= b->caps;
	a->imapc_caps &= b->imapc_caps;
	a->allowed &= b->allowed;
	return CM_EXIT_CLEAN;
}

int rt_wire_replica_attach(rt_wire *w, rt_wire_setup *peer, rt_wire_sync *sync,
			   uint64_t deadline_ns)
{
	const rt_opts *o = w->o;
	assert(o->replica != NULL && w->peer == NULL && w->users > 0);
	/* Its ops' client: after the users, the delivery and two auditors. */
	rt_wire_sync_init(sync, o->sync_cmd, w->users + 4, o->timeout);
	w->peer = peer;
	w->sync = sync;
	return replica_open(w->setup, peer, sync, o, deadline_ns);
}

void rt_wire_replica_detach(rt_wire *w, uint64_t deadline_ns)
{
	if (w->peer == NULL)
		return;
	rt_wire_setup_cleanup(w->peer, w->o, w->work.id_prefix, deadline_ns);
	rt_wire_setup_close(w->peer);
	rt_wire_sync_free(w->sync);
	w->peer = NULL;
	w->sync = NULL;
}
