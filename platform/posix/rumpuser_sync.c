/*
 * Locks and condition variables over pthreads.  Mutexes remember their
 * owner's lwp (for rumpuser_mutex_owner) and report recursive entry as a
 * panic, as rumpuser.h allows.  Condition variables wait on the monotonic
 * clock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "posix.h"

struct rumpuser_mtx {
	pthread_mutex_t m;
	pthread_t owner;
	int held;
	struct lwp *owner_lwp;
	int flags;
};

struct rumpuser_cv {
	pthread_cond_t c;
	int waiters;
};

struct rumpuser_rw {
	pthread_rwlock_t l;
	pthread_mutex_t m;	/* guards the counts */
	int readers;
	int writer;
	pthread_t wowner;
};

static void
fatal(const char *what)
{
	fflush(stdout);
	fprintf(stderr, "rumprun: panic: %s\n", what);
	exit(1);
}

void
rumpuser_mutex_init(struct rumpuser_mtx **mtxp, int flags)
{
	struct rumpuser_mtx *m = calloc(1, sizeof(*m));
	if (m == NULL)
		fatal("out of memory for a mutex");
	pthread_mutex_init(&m->m, NULL);
	m->flags = flags;
	*mtxp = m;
}

static void
took(struct rumpuser_mtx *m)
{
	m->owner = pthread_self();
	m->held = 1;
	m->owner_lwp = rumpuser_curlwp();
}

void
rumpuser_mutex_enter_nowrap(struct rumpuser_mtx *m)
{
	if (m->held && pthread_equal(m->owner, pthread_self()))
		fatal("mutex entered by its owner (not recursive)");
	pthread_mutex_lock(&m->m);
	took(m);
}

void
rumpuser_mutex_enter(struct rumpuser_mtx *m)
{
	if (pthread_mutex_trylock(&m->m) == 0) {
		took(m);
		return;
	}
	if (m->held && pthread_equal(m->owner, pthread_self()))
		fatal("mutex entered by its owner (not recursive)");
	posix_unschedule();
	pthread_mutex_lock(&m->m);
	posix_schedule();
	took(m);
}

int
rumpuser_mutex_tryenter(struct rumpuser_mtx *m)
{
	if (pthread_mutex_trylock(&m->m) != 0)
		return EBUSY;
	took(m);
	return 0;
}

void
rumpuser_mutex_exit(struct rumpuser_mtx *m)
{
	m->held = 0;
	m->owner_lwp = NULL;
	pthread_mutex_unlock(&m->m);
}

void
rumpuser_mutex_destroy(struct rumpuser_mtx *m)
{
	pthread_mutex_destroy(&m->m);
	free(m);
}

void
rumpuser_mutex_owner(struct rumpuser_mtx *m, struct lwp **lp)
{
	*lp = m->held ? m->owner_lwp : NULL;
}

/* Reader/writer locks */

void
rumpuser_rw_init(struct rumpuser_rw **rwp)
{
	struct rumpuser_rw *rw = calloc(1, sizeof(*rw));
	if (rw == NULL)
		fatal("out of memory for a rwlock");
	pthread_rwlock_init(&rw->l, NULL);
	pthread_mutex_init(&rw->m, NULL);
	*rwp = rw;
}

static void
rw_took(struct rumpuser_rw *rw, int op)
{
	pthread_mutex_lock(&rw->m);
	if (op == RUMPUSER_RW_WRITER) {
		rw->writer = 1;
		rw->wowner = pthread_self();
	} else {
		rw->readers++;
	}
	pthread_mutex_unlock(&rw->m);
}

void
rumpuser_rw_enter(int op, struct rumpuser_rw *rw)
{
	posix_unschedule();
	if (op == RUMPUSER_RW_WRITER)
		pthread_rwlock_wrlock(&rw->l);
	else
		pthread_rwlock_rdlock(&rw->l);
	posix_schedule();
	rw_took(rw, op);
}

int
rumpuser_rw_tryenter(int op, struct rumpuser_rw *rw)
{
	int r = op == RUMPUSER_RW_WRITER ? pthread_rwlock_trywrlock(&rw->l)
	    : pthread_rwlock_tryrdlock(&rw->l);
	if (r)
		return EBUSY;
	rw_took(rw, op);
	return 0;
}

int
rumpuser_rw_tryupgrade(struct rumpuser_rw *rw)
{
	/* Only a sole reader can upgrade, and pthreads cannot do it
	 * atomically: refuse, callers then drop and retake. */
	return EBUSY;
}

void
rumpuser_rw_downgrade(struct rumpuser_rw *rw)
{
	/* Not atomic over pthreads: release and take as a reader. */
	rumpuser_rw_exit(rw);
	rumpuser_rw_enter(RUMPUSER_RW_READER, rw);
}

void
rumpuser_rw_exit(struct rumpuser_rw *rw)
{
	pthread_mutex_lock(&rw->m);
	if (rw->writer && pthread_equal(rw->wowner, pthread_self()))
		rw->writer = 0;
	else if (rw->readers > 0)
		rw->readers--;
	pthread_mutex_unlock(&rw->m);
	pthread_rwlock_unlock(&rw->l);
}

void
rumpuser_rw_destroy(struct rumpuser_rw *rw)
{
	pthread_rwlock_destroy(&rw->l);
	pthread_mutex_destroy(&rw->m);
	free(rw);
}

void
rumpuser_rw_held(int op, struct rumpuser_rw *rw, int *held)
{
	pthread_mutex_lock(&rw->m);
	if (op == RUMPUSER_RW_WRITER)
		*held = rw->writer && pthread_equal(rw->wowner, pthread_self());
	else
		*held = rw->readers > 0;
	pthread_mutex_unlock(&rw->m);
}

/* Condition variables */

void
rumpuser_cv_init(struct rumpuser_cv **cvp)
{
	struct rumpuser_cv *cv = calloc(1, sizeof(*cv));
	pthread_condattr_t a;
	if (cv == NULL)
		fatal("out of memory for a condition variable");
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv->c, &a);
	pthread_condattr_destroy(&a);
	*cvp = cv;
}

void
rumpuser_cv_destroy(struct rumpuser_cv *cv)
{
	pthread_cond_destroy(&cv->c);
	free(cv);
}

void
rumpuser_cv_wait_nowrap(struct rumpuser_cv *cv, struct rumpuser_mtx *m)
{
	cv->waiters++;
	m->held = 0;
	pthread_cond_wait(&cv->c, &m->m);
	took(m);
	cv->waiters--;
}

void
rumpuser_cv_wait(struct rumpuser_cv *cv, struct rumpuser_mtx *m)
{
	posix_unschedule();
	rumpuser_cv_wait_nowrap(cv, m);
	posix_schedule();
}

int
rumpuser_cv_timedwait(struct rumpuser_cv *cv, struct rumpuser_mtx *m,
    rumpuser_int64_t sec, rumpuser_int64_t nsec)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += sec + (ts.tv_nsec + nsec) / 1000000000;
	ts.tv_nsec = (ts.tv_nsec + nsec) % 1000000000;
	posix_unschedule();
	cv->waiters++;
	m->held = 0;
	int r = pthread_cond_timedwait(&cv->c, &m->m, &ts);
	took(m);
	cv->waiters--;
	posix_schedule();
	return r == ETIMEDOUT ? ETIMEDOUT : 0;
}

void
rumpuser_cv_signal(struct rumpuser_cv *cv)
{
	pthread_cond_signal(&cv->c);
}

void
rumpuser_cv_broadcast(struct rumpuser_cv *cv)
{
	pthread_cond_broadcast(&cv->c);
}

void
rumpuser_cv_has_waiters(struct rumpuser_cv *cv, int *nwaiters)
{
	*nwaiters = cv->waiters;
}
