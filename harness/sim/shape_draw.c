/* A simulated run's shape, drawn from its choice source (swarm testing):
 * clients, delivery agent, op mix, fault rates, checkpoints, log rotation,
 * mailbox sizes. Every probability a shape draws is here, with why (the
 * one per crash, CRASH_TEARS, is in faults.c). */
#include "sim.h"

#include <assert.h>
#include <string.h>

/* ---- how often: every probability of the simulator, and why ----
 * A run of 2000 ops makes on the order of 100,000 file-system calls, each
 * one draw against the per-call probabilities below; a run draws each of
 * those uniformly below its MAX (a mean of half of it). */
/* Most runs race a local delivery agent against the IMAP clients; the
 * rest show what the clients alone do. */
#define WITH_DELIVERER RT_PERCENT(70)
/* A client switch at up to 2 in 5 calls: from long uninterrupted
 * stretches (near 0) to a switch every few calls. */
#define SWITCH_MAX RT_RATIO(2, 5)
/* Three runs in five inject faults; the rest check the races alone, so
 * that a violation without faults is not lost among crashes. */
#define WITH_FAULTS RT_RATIO(3, 5)
/* Store crashes and client deaths at up to 3 in 10,000 calls: some
 * fifteen of each in a faulty run, so recovery and lock breaking run
 * often while most ops still complete between them. */
#define CRASH_MAX RT_RATIO(3, 10000)
#define KILL_MAX RT_RATIO(3, 10000)
/* ENOSPC applies only to writes, links and renames, a minority of the
 * calls: ten times the crash rate for a similar count. */
#define ENOSPC_MAX RT_RATIO(3, 1000)
/* A failing rename applies to renames alone, rarer still. */
#define RENAME_MAX RT_RATIO(1, 200)
/* Per crash, up to 2 in 5 lose a mailbox's log: rebuilds happen in
 * most faulty runs, but most crashes recover from the log. */
#define INDEX_LOSS_MAX RT_RATIO(2, 5)
/* Three runs in ten rotate the log at 4 KiB, so rotation races the
 * writers; the rest keep the store's default (1 MiB: a 2000-op run
 * seldom reaches it). */
#define SMALL_LOG RT_RATIO(3, 10)
/* Three runs in four keep their mailboxes at a steady size, as load tools
 * and the wire driver (--mailbox-size) do: a client above it trims the
 * mailbox it has selected (STORE \Deleted + EXPUNGE, racing the others).
 * Unbounded, every FETCH 1:* of bodies and every SELECT costs more with
 * each op of a run; the rest stay unbounded for what only long mailboxes
 * show (high UIDs and sequence numbers, logs near rotation). */
#define STEADY_BOXES RT_RATIO(3, 4)
static const uint32_t steady_sizes[] = {10, 25, 60, 150};
/* One run in four is replicated (docs/replication.md): two replicas, a
 * sync agent, the link between them going down and up at up to one in
 * five of the agent's turns. Drawn last, so that every other draw of a
 * shape is as before. Such a run keeps its logs (no rotation, no loss):
 * the agent has no full sync to fall back on. */
#define REPLICATED RT_RATIO(1, 4)
#define PARTITION_MAX RT_RATIO(1, 5)

void rt_shape_draw(rt_shape *cfg, rt_choice_source *ch)
{
	/* Every run draws its own shape from the choice source (swarm
	 * testing); 0 everywhere is the simplest run. */
	memset(cfg, 0, sizeof(*cfg));
	cfg->clients = 2 + (unsigned)rt_choice_below(ch, 7);
	cfg->deliverer = rt_choice_chance(ch, WITH_DELIVERER);
	rt_mix_swarm(&cfg->mix, ch);
	cfg->p_switch = rt_choice_probability(ch, SWITCH_MAX);
	bool faults = rt_choice_chance(ch, WITH_FAULTS);
	if (faults) {
		cfg->p_crash = rt_choice_probability(ch, CRASH_MAX);
		cfg->p_kill = rt_choice_probability(ch, KILL_MAX);
		cfg->p_enospc = rt_choice_probability(ch, ENOSPC_MAX);
		cfg->p_rename = rt_choice_probability(ch, RENAME_MAX);
		cfg->p_index_loss = rt_choice_probability(ch, INDEX_LOSS_MAX);
	}
	cfg->checkpoint_every = 50 + (uint32_t)rt_choice_below(ch, 400);
	cfg->log_rotate_bytes = rt_choice_chance(ch, SMALL_LOG) ? 4096 : 0;
	if (rt_choice_chance(ch, STEADY_BOXES))
		cfg->mix.box_target = steady_sizes[rt_choice_below(ch, CM_ARRAY_LEN(steady_sizes))];
	cfg->ops = 2000;
	if (rt_choice_chance(ch, REPLICATED))
		rt_shape_replicate(cfg, 2, rt_choice_probability(ch, PARTITION_MAX));
}

void rt_shape_replicate(rt_shape *cfg, unsigned replicas, rt_probability p_partition)
{
	assert(replicas >= 2 && replicas <= RT_REPLICAS_MAX);
	cfg->replicas = replicas;
	cfg->p_partition = p_partition;
	cfg->p_index_loss = (rt_probability){0};
	cfg->log_rotate_bytes = 0;
}
