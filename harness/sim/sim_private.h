/* Internals of the simulator: coroutines, choice sources, the workload and
 * the driver. */
#ifndef RT_SIM_PRIVATE_H
#define RT_SIM_PRIVATE_H

#include "sim.h"

/* ---- coroutines (coro.c) ---- */
typedef struct rt_coro rt_coro;
rt_coro *rt_coro_new(size_t stack_size, void (*fn)(void *), void *arg);
void rt_coro_resume(rt_coro *co);   /* from the scheduler */
void rt_coro_yield(void);           /* from inside a coroutine */
rt_coro *rt_coro_current(void);
bool rt_coro_done(const rt_coro *co);
void rt_coro_free(rt_coro *co);

#endif
