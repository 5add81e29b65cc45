/*
 * Init and exit, and the virtual CPU: one FIFO ticket lock that a thread
 * holds while it runs kernel code, so that kernel code runs one thread at a
 * time and changes hands only where a thread blocks, as on bare metal.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <time.h>
#include "posix.h"
#include "rumprun_posix.h"

const struct rumpuser_hyperup *posix_hyp;

static pthread_mutex_t cpu_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cpu_turn = PTHREAD_COND_INITIALIZER;
static unsigned long cpu_next_ticket, cpu_serving;
static __thread int cpu_held;

int rumpuser_init(int version, const struct rumpuser_hyperup *hyp)
{
	if (version != RUMPUSER_VERSION) {
		fprintf(stderr,
		    "rumprun posix: the kernel wants hypercall version %d, "
		    "this platform has %d\n",
		    version, RUMPUSER_VERSION);
		return EINVAL;
	}
	posix_hyp = hyp;
	return 0;
}

/* Take a ticket and wait for it to be served; cpu_lock is held. */
static void cpu_take_locked(void)
{
	unsigned long ticket = cpu_next_ticket++;

	while (ticket != cpu_serving)
		pthread_cond_wait(&cpu_turn, &cpu_lock);
	cpu_held = 1;
}

/* Hand the CPU to the next ticket; cpu_lock is held. */
static void cpu_give_locked(void)
{
	if (!cpu_held)
		posix_fatal("kernel code ran without the virtual CPU "
		            "(call it between rumprun_posix_enter and rumprun_posix_leave)");
	cpu_held = 0;
	cpu_serving++;
	pthread_cond_broadcast(&cpu_turn);
}

void posix_cpu_acquire(void)
{
	if (cpu_held)
		posix_fatal("a thread took the virtual CPU it already holds");
	pthread_mutex_lock(&cpu_lock);
	cpu_take_locked();
	pthread_mutex_unlock(&cpu_lock);
}

void posix_cpu_release(void)
{
	pthread_mutex_lock(&cpu_lock);
	cpu_give_locked();
	pthread_mutex_unlock(&cpu_lock);
}

void rumprun_posix_enter(void) { posix_cpu_acquire(); }

void rumprun_posix_leave(void) { posix_cpu_release(); }

void posix_upcall_unschedule(void)
{
	if (posix_hyp && posix_hyp->hyp_unschedule)
		posix_hyp->hyp_unschedule();
}

void posix_upcall_schedule(void)
{
	if (posix_hyp && posix_hyp->hyp_schedule)
		posix_hyp->hyp_schedule();
}

void posix_unschedule(void)
{
	posix_upcall_unschedule();
	posix_cpu_release();
}

void posix_schedule(void)
{
	posix_cpu_acquire();
	posix_upcall_schedule();
}

/* Wait queues: the list is guarded by cpu_lock, waiters live on their
 * sleepers' stacks. */
struct posix_waiter {
	struct posix_waiter *next, *prev;
	int woken;
};

void posix_waitq_init(struct posix_waitq *wq)
{
	pthread_condattr_t a;

	wq->head = wq->tail = NULL;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&wq->cond, &a);
	pthread_condattr_destroy(&a);
}

void posix_waitq_destroy(struct posix_waitq *wq) { pthread_cond_destroy(&wq->cond); }

static void waitq_remove(struct posix_waitq *wq, struct posix_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		wq->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		wq->tail = w->prev;
}

int posix_cpu_sleep(struct posix_waitq *wq, const struct timespec *deadline)
{
	struct posix_waiter w = {.next = NULL, .woken = 0};
	int rv = 0;

	pthread_mutex_lock(&cpu_lock);
	w.prev = wq->tail;
	if (wq->tail)
		wq->tail->next = &w;
	else
		wq->head = &w;
	wq->tail = &w;
	cpu_give_locked();
	while (!w.woken) {
		if (!deadline) {
			pthread_cond_wait(&wq->cond, &cpu_lock);
		} else if (pthread_cond_timedwait(&wq->cond, &cpu_lock, deadline) == ETIMEDOUT &&
		    !w.woken) {
			waitq_remove(wq, &w);
			rv = ETIMEDOUT;
			break;
		}
	}
	cpu_take_locked();
	pthread_mutex_unlock(&cpu_lock);
	return rv;
}

int posix_waitq_wakeone(struct posix_waitq *wq)
{
	struct posix_waiter *w;

	pthread_mutex_lock(&cpu_lock);
	if ((w = wq->head) != NULL) {
		waitq_remove(wq, w);
		w->woken = 1;
		pthread_cond_broadcast(&wq->cond);
	}
	pthread_mutex_unlock(&cpu_lock);
	return w != NULL;
}

void posix_waitq_wakeall(struct posix_waitq *wq)
{
	while (posix_waitq_wakeone(wq))
		;
}

void posix_fatal(const char *what)
{
	fflush(stdout);
	fprintf(stderr, "rumprun: panic: %s\n", what);
	exit(1);
}

void rumpuser_exit(int value)
{
	fflush(stdout);
	if (value == RUMPUSER_PANIC) {
		fprintf(stderr, "rumprun: the kernel panicked\n");
		exit(1);
	}
	exit(value & 0xff);
}
