/*
 * The posix platform's internals: the hypercall interface (rumpuser.h)
 * implemented in an ordinary Linux process, over pthreads and the host's
 * clocks, for testing kernel components without booting anything.
 * One file per group of rumpuser.h, as in NetBSD's librumpuser.
 */
#ifndef POSIX_PLATFORM_H
#define POSIX_PLATFORM_H

#include <pthread.h>
#include <time.h>
#include "rumpuser.h"

/* The kernel's upcalls, from rumpuser_init (NULL members are skipped). */
extern const struct rumpuser_hyperup *posix_hyp;

/*
 * The virtual CPU (rumpuser.c): a thread holds it while it runs kernel
 * code (rumprun_posix.h says how a host thread gets it).
 *
 * posix_unschedule/posix_schedule go around every host call that may
 * block (a sleep, a join, file I/O): the kernel's hyp_unschedule upcall
 * and giving the CPU up, then taking it back and hyp_schedule.
 * posix_upcall_unschedule/posix_upcall_schedule are the upcalls alone,
 * for the wrapped lock calls, which sleep through posix_cpu_sleep.
 */
void posix_cpu_acquire(void);
void posix_cpu_release(void);
void posix_unschedule(void);
void posix_schedule(void);
void posix_upcall_unschedule(void);
void posix_upcall_schedule(void);

/*
 * Wait queues for the locks: posix_cpu_sleep queues the caller on wq,
 * gives the CPU up, waits for a wake-up or the deadline (CLOCK_MONOTONIC,
 * NULL: none) and takes the CPU back: 0 when woken, ETIMEDOUT otherwise.
 * The queue is joined before the CPU is let go, so a wake-up from the next
 * thread to run cannot be missed.  wakeone returns whether it woke one.
 */
struct posix_waiter;
struct posix_waitq {
	struct posix_waiter *head, *tail;
	pthread_cond_t cond;
};
void posix_waitq_init(struct posix_waitq *wq);
void posix_waitq_destroy(struct posix_waitq *wq);
int posix_cpu_sleep(struct posix_waitq *wq, const struct timespec *deadline);
int posix_waitq_wakeone(struct posix_waitq *wq);
void posix_waitq_wakeall(struct posix_waitq *wq);

/* Report a misuse of the platform on stderr and exit with status 1. */
void posix_fatal(const char *what) __attribute__((noreturn));

#endif
