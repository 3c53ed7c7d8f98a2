/* Coroutines for the simulator's virtual clients: makecontext() starts one,
 * _setjmp/_longjmp switch between them (no signal-mask syscall: ~30 ns per
 * round trip instead of ~2 us with swapcontext). ASan is told about every
 * stack switch so it keeps working. */
#undef _FORTIFY_SOURCE /* __longjmp_chk refuses jumps to another stack */
#define _XOPEN_SOURCE 700
#include "sim_private.h"

#include <assert.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
				    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
				     size_t *size_old);
void __asan_unpoison_memory_region(const volatile void *addr, size_t size);
#endif

struct rt_coro {
	jmp_buf jb;
	ucontext_t boot;
	void *stack;
	size_t size;
	void (*fn)(void *);
	void *arg;
	bool started, done;
#ifdef CORO_ASAN
	void *fake;
#endif
};

static jmp_buf sched_jb;
static rt_coro *current;
#ifdef CORO_ASAN
static const void *sched_bottom;
static size_t sched_size;
static void *sched_fake;
#endif

static void start_switch_to_coro(rt_coro *co)
{
#ifdef CORO_ASAN
	__sanitizer_start_switch_fiber(&sched_fake, co->stack, co->size);
#else
	(void)co;
#endif
}

static void finish_switch_in_coro(rt_coro *co)
{
#ifdef CORO_ASAN
	__sanitizer_finish_switch_fiber(co->fake, &sched_bottom, &sched_size);
#else
	(void)co;
#endif
}

static void start_switch_to_sched(rt_coro *co, bool dying)
{
#ifdef CORO_ASAN
	__sanitizer_start_switch_fiber(dying ? NULL : &co->fake, sched_bottom, sched_size);
#else
	(void)co;
	(void)dying;
#endif
}

static void finish_switch_in_sched(void)
{
#ifdef CORO_ASAN
	__sanitizer_finish_switch_fiber(sched_fake, NULL, NULL);
#endif
}

static void trampoline(void)
{
	rt_coro *co = current;
	finish_switch_in_coro(co);
	co->fn(co->arg);
	co->done = true;
	start_switch_to_sched(co, true);
	_longjmp(sched_jb, 1);
}

/* Stacks of finished coroutines, kept for the next ones: a fuzz execution
 * is one short run, and mapping and unmapping its clients' stacks was a
 * fifth of an execution on empty input. At most POOL_MAX are kept (each
 * keeps the pages it touched). Single-threaded, like the scheduler. */
#define POOL_MAX 16
static struct {
	void *stack;
	size_t size;
} pool[POOL_MAX];
static size_t npool;

static void *stack_take(size_t size)
{
	for (size_t i = npool; i > 0; i--) {
		if (pool[i - 1].size != size)
			continue;
		void *stack = pool[i - 1].stack;
		pool[i - 1] = pool[--npool];
#ifdef CORO_ASAN
		/* A coroutine that ended inside its frames left them poisoned. */
		__asan_unpoison_memory_region(stack, size);
#endif
		return stack;
	}
	void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		cm_panic("coroutine stack: out of memory");
	return stack;
}

static void stack_give(void *stack, size_t size)
{
	if (npool < POOL_MAX) {
		pool[npool].stack = stack;
		pool[npool++].size = size;
	} else {
		munmap(stack, size);
	}
}

rt_coro *rt_coro_new(size_t stack_size, void (*fn)(void *), void *arg)
{
	rt_coro *co = cm_xcalloc(1, sizeof(*co));
	co->size = stack_size;
	co->stack = stack_take(stack_size);
	co->fn = fn;
	co->arg = arg;
	return co;
}

void rt_coro_resume(rt_coro *co)
{
	if (co->done || current != NULL)
		cm_panic("rt_coro_resume: finished coroutine or nested resume");
	current = co;
	if (_setjmp(sched_jb) != 0) {
		finish_switch_in_sched();
		current = NULL;
		return;
	}
	start_switch_to_coro(co);
	if (!co->started) {
		co->started = true;
		if (getcontext(&co->boot) < 0)
			cm_panic("getcontext failed");
		co->boot.uc_stack.ss_sp = co->stack;
		co->boot.uc_stack.ss_size = co->size;
		co->boot.uc_link = NULL;
		makecontext(&co->boot, trampoline, 0);
		setcontext(&co->boot);
		cm_panic("setcontext returned");
	}
	_longjmp(co->jb, 1);
}

void rt_coro_yield(void)
{
	rt_coro *co = current;
	if (co == NULL)
		cm_panic("rt_coro_yield outside a coroutine");
	if (_setjmp(co->jb) == 0) {
		start_switch_to_sched(co, false);
		_longjmp(sched_jb, 1);
	}
	finish_switch_in_coro(co);
}

rt_coro *rt_coro_current(void)
{
	return current;
}

bool rt_coro_done(const rt_coro *co)
{
	return co->done;
}

void rt_coro_free(rt_coro *co)
{
	if (co == NULL)
		return;
	assert(co != current);
	stack_give(co->stack, co->size);
	free(co);
}
