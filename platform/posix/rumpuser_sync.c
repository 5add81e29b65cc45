/*
 * Locks and condition variables on the virtual CPU (rumpuser.c), built the
 * way the bare-metal core builds them: kernel code runs one thread at a
 * time, so a lock is an owner plus a queue of sleepers, and sleeping gives
 * the CPU up (posix_cpu_sleep) until a wake-up.  No host mutex is ever
 * waited for while holding the CPU, and since a sleeper is on its queue
 * before it lets the CPU go, no wake-up slips between "release" and
 * "sleep", exactly as on bare metal.  Mutexes report recursive entry as a
 * panic, as rumpuser.h allows.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "posix.h"

struct rumpuser_mtx {
	int held;
	pthread_t owner;
	struct lwp *owner_lwp;
	struct posix_waitq wait;
	int flags;
};

struct rumpuser_rw {
	int readers;
	int writer;
	pthread_t wowner;
	struct posix_waitq wait;
};

struct rumpuser_cv {
	struct posix_waitq wait;
	int waiters;
};

static void *alloc_zero(size_t size, const char *what)
{
	void *p = calloc(1, size);

	if (p == NULL)
		posix_fatal(what);
	return p;
}

void rumpuser_mutex_init(struct rumpuser_mtx **mtxp, int flags)
{
	struct rumpuser_mtx *m = alloc_zero(sizeof(*m), "out of memory for a mutex");

	posix_waitq_init(&m->wait);
	m->flags = flags;
	*mtxp = m;
}

static void took(struct rumpuser_mtx *m)
{
	m->held = 1;
	m->owner = pthread_self();
	m->owner_lwp = rumpuser_curlwp();
}

void rumpuser_mutex_enter_nowrap(struct rumpuser_mtx *m)
{
	if (m->held && pthread_equal(m->owner, pthread_self()))
		posix_fatal("mutex entered by its owner (not recursive)");
	while (m->held)
		posix_cpu_sleep(&m->wait, NULL);
	took(m);
}

void rumpuser_mutex_enter(struct rumpuser_mtx *m)
{
	if (!m->held) {
		took(m);
		return;
	}
	posix_upcall_unschedule();
	rumpuser_mutex_enter_nowrap(m);
	posix_upcall_schedule();
}

int rumpuser_mutex_tryenter(struct rumpuser_mtx *m)
{
	if (m->held)
		return EBUSY;
	took(m);
	return 0;
}

void rumpuser_mutex_exit(struct rumpuser_mtx *m)
{
	m->held = 0;
	m->owner_lwp = NULL;
	posix_waitq_wakeone(&m->wait);
}

void rumpuser_mutex_destroy(struct rumpuser_mtx *m)
{
	posix_waitq_destroy(&m->wait);
	free(m);
}

void rumpuser_mutex_owner(struct rumpuser_mtx *m, struct lwp **lp)
{
	*lp = m->held ? m->owner_lwp : NULL;
}

/* Reader/writer locks */

void rumpuser_rw_init(struct rumpuser_rw **rwp)
{
	struct rumpuser_rw *rw = alloc_zero(sizeof(*rw), "out of memory for a rwlock");

	posix_waitq_init(&rw->wait);
	*rwp = rw;
}

int rumpuser_rw_tryenter(int op, struct rumpuser_rw *rw)
{
	if (rw->writer || (op == RUMPUSER_RW_WRITER && rw->readers))
		return EBUSY;
	if (op == RUMPUSER_RW_WRITER) {
		rw->writer = 1;
		rw->wowner = pthread_self();
	} else {
		rw->readers++;
	}
	return 0;
}

void rumpuser_rw_enter(int op, struct rumpuser_rw *rw)
{
	if (rumpuser_rw_tryenter(op, rw) == 0)
		return;
	posix_upcall_unschedule();
	while (rumpuser_rw_tryenter(op, rw) != 0)
		posix_cpu_sleep(&rw->wait, NULL);
	posix_upcall_schedule();
}

int rumpuser_rw_tryupgrade(struct rumpuser_rw *rw)
{
	if (rw->readers != 1)
		return EBUSY;
	rw->readers = 0;
	rw->writer = 1;
	rw->wowner = pthread_self();
	return 0;
}

void rumpuser_rw_downgrade(struct rumpuser_rw *rw)
{
	rw->writer = 0;
	rw->readers = 1;
	posix_waitq_wakeall(&rw->wait);
}

void rumpuser_rw_exit(struct rumpuser_rw *rw)
{
	if (rw->writer)
		rw->writer = 0;
	else if (rw->readers > 0)
		rw->readers--;
	posix_waitq_wakeall(&rw->wait);
}

void rumpuser_rw_destroy(struct rumpuser_rw *rw)
{
	posix_waitq_destroy(&rw->wait);
	free(rw);
}

void rumpuser_rw_held(int op, struct rumpuser_rw *rw, int *held)
{
	if (op == RUMPUSER_RW_WRITER)
		*held = rw->writer && pthread_equal(rw->wowner, pthread_self());
	else
		*held = rw->readers > 0;
}

/* Condition variables */

void rumpuser_cv_init(struct rumpuser_cv **cvp)
{
	struct rumpuser_cv *cv = alloc_zero(sizeof(*cv), "out of memory for a condition variable");

	posix_waitq_init(&cv->wait);
	*cvp = cv;
}

void rumpuser_cv_destroy(struct rumpuser_cv *cv)
{
	posix_waitq_destroy(&cv->wait);
	free(cv);
}

/* Release m, sleep on cv until woken or deadline, re-enter m: 0 or ETIMEDOUT. */
static int cv_sleep(struct rumpuser_cv *cv, struct rumpuser_mtx *m, const struct timespec *deadline)
{
	int rv;

	cv->waiters++;
	rumpuser_mutex_exit(m);
	rv = posix_cpu_sleep(&cv->wait, deadline);
	cv->waiters--;
	rumpuser_mutex_enter_nowrap(m);
	return rv;
}

void rumpuser_cv_wait_nowrap(struct rumpuser_cv *cv, struct rumpuser_mtx *m)
{
	cv_sleep(cv, m, NULL);
}

void rumpuser_cv_wait(struct rumpuser_cv *cv, struct rumpuser_mtx *m)
{
	posix_upcall_unschedule();
	cv_sleep(cv, m, NULL);
	posix_upcall_schedule();
}

int rumpuser_cv_timedwait(
    struct rumpuser_cv *cv, struct rumpuser_mtx *m, rumpuser_int64_t sec, rumpuser_int64_t nsec)
{
	struct timespec ts;
	int rv;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += sec + (ts.tv_nsec + nsec) / 1000000000;
	ts.tv_nsec = (ts.tv_nsec + nsec) % 1000000000;
	posix_upcall_unschedule();
	rv = cv_sleep(cv, m, &ts);
	posix_upcall_schedule();
	return rv;
}

void rumpuser_cv_signal(struct rumpuser_cv *cv) { posix_waitq_wakeone(&cv->wait); }

void rumpuser_cv_broadcast(struct rumpuser_cv *cv) { posix_waitq_wakeall(&cv->wait); }

void rumpuser_cv_has_waiters(struct rumpuser_cv *cv, int *nwaiters) { *nwaiters = cv->waiters; }
