/*
 * Threads on x86_64: the bmk core's context-switch hooks, the TLS base
 * (FS), and forking an application context for clone.
 */
#include <bmk/core.h>
#include <x86_64/cpu.h>
#include <errno.h>
#include "rumpuser.h"

void bmk_platform_switch(void **save, void *load) { x86_switch(save, load); }

void *bmk_platform_thread_init(void *stack_top)
{
	/* x86_switch pops six callee-saved registers, then returns to the
	 * trampoline with rsp 16-byte aligned, as its call expects. */
	uint64_t *sp = (uint64_t *)((uintptr_t)stack_top & ~15UL);
	int i;

	*--sp = (uint64_t)x86_thread_trampoline;
	for (i = 0; i < 6; i++)
		*--sp = 0;
	return sp;
}

void bmk_platform_switched(void *tls, void *kstack_top)
{
	wrmsr(MSR_FS_BASE, (uintptr_t)tls);
	x86_kstack_top = (uintptr_t)kstack_top & ~15UL;
}

void rumpuser_ext_set_tls(void *base)
{
	bmk_thread_set_tls(bmk_current(), base);
	wrmsr(MSR_FS_BASE, (uintptr_t)base);
}

void *rumpuser_ext_get_tls(void) { return bmk_thread_tls(bmk_current()); }

/* clone: the child resumes a copy of the parent's system call frame. */
struct app_fork {
	struct trapframe tf;
	void (*start)(void *);
	void *arg;
};

static void *app_fork_child(void *p)
{
	struct app_fork fork = *(struct app_fork *)p;

	bmk_memfree(p, sizeof(fork));
	fork.start(fork.arg);
	x86_frame_return(&fork.tf);
}

int rumpuser_ext_app_fork(void *stack, void *tls, void (*start)(void *), void *arg)
{
	struct trapframe *parent = bmk_thread_frame(bmk_current());
	struct app_fork *fork;
	struct bmk_thread *t;

	if (!parent)
		return EINVAL;
	if ((fork = bmk_memalloc(sizeof(*fork), 0)) == NULL)
		return ENOMEM;
	fork->tf = *parent;
	fork->tf.rax = 0;
	fork->tf.rsp = (uintptr_t)stack;
	fork->start = start;
	fork->arg = arg;
	/* Named as its parent (the program) in crash and watchdog reports. */
	if ((t = bmk_sched_create(bmk_thread_name(bmk_current()), app_fork_child, fork, 0, 0)) ==
	    NULL) {
		bmk_memfree(fork, sizeof(*fork));
		return EAGAIN;
	}
	bmk_thread_set_tls(t, tls);
	return 0;
}
