/*
 * Kernel threads of the application (kernel/thread.c): one struct lwp per
 * app thread, bound to its platform thread with rumpuser_curlwpop().
 */
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H

#include <stdint.h>
#include <signal.h>

struct program;
struct fdtable;
struct vmspace;

struct lwp {
	int tid;
	int *clear_child_tid; /* set_tid_address / CLONE_CHILD_CLEARTID */
	void *robust_list; /* set_robust_list (glibc) */
	stack_t altstack; /* sigaltstack (Go's runtime) */
	uint64_t sigmask;
	struct program *prog; /* the program it belongs to (program.h) */
	struct fdtable *fds; /* its program's descriptors */
	struct vmspace *vm; /* its program's memory (vm.h) */
	char comm[16]; /* its name (prctl PR_SET_NAME): the program's, or its creator's */
};

/* A signal's disposition, as rt_sigaction passes it (Linux's layout). */
struct k_sigaction {
	unsigned long handler, flags, restorer, mask;
};

/* The calling thread's lwp (never NULL while serving the app). */
struct lwp *curlwp(void);
/* A new lwp with a fresh tid, or NULL (ENOMEM). */
struct lwp *lwp_new(void);
/*
 * A signal the kernel raises for the calling thread (SIGPIPE on a broken
 * socket): when its action is the default one and it is not blocked, the
 * machine ends as the process would (status 128 + sig); ignored, blocked
 * or caught signals change nothing (handlers cannot run yet), and the
 * caller goes on returning its error (EPIPE).
 */
void signal_raise(int sig);
/* Wake up to n futex waiters on uaddr; the number woken. */
int futex_wake(int *uaddr, int n);
/* Wake every futex waiter of program p (it has ended). */
void futex_wake_program(struct program *p);

#endif
