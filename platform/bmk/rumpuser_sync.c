/*
 * rumpuser locks and condition variables on the cooperative scheduler.
 * One CPU and no preemption: a lock is a flag plus a wait queue, and no
 * wake-up can slip between "release" and "sleep".
 */
#include <bmk/core.h>
#include <errno.h>
#include "rumpuser_impl.h"

struct rumpuser_mtx {
	struct bmk_thread *owner;
	struct bmk_waitq wait;
	int flags;
};

struct rumpuser_rw {
	struct bmk_thread *writer;
	int readers;
	struct bmk_waitq wait;
};

struct rumpuser_cv {
	struct bmk_waitq wait;
};

static void *alloc_zero(size_t size)
{
	char *p = bmk_memalloc(size, 0);
	size_t i;

	if (!p) {
		bmk_printf("rumprun: out of memory for a lock\n");
		bmk_exit(1, 1);
	}
	for (i = 0; i < size; i++)
		p[i] = 0;
	return p;
}

void rumpuser_mutex_init(struct rumpuser_mtx **mtxp, int flags)
{
	*mtxp = alloc_zero(sizeof(**mtxp));
	(*mtxp)->flags = flags;
}

void rumpuser_mutex_enter_nowrap(struct rumpuser_mtx *mtx)
{
	if (mtx->owner == bmk_current()) {
		bmk_printf("rumprun: panic: mutex %p entered twice by \"%s\"\n", (void *)mtx,
		    bmk_thread_name(bmk_current()));
		bmk_exit(1, 1);
	}
	while (mtx->owner)
		bmk_waitq_sleep(&mtx->wait, -1);
	mtx->owner = bmk_current();
}

void rumpuser_mutex_enter(struct rumpuser_mtx *mtx)
{
	if (!mtx->owner) {
		mtx->owner = bmk_current();
		return;
	}
	bmk_unschedule();
	rumpuser_mutex_enter_nowrap(mtx);
	bmk_schedule();
}

int rumpuser_mutex_tryenter(struct rumpuser_mtx *mtx)
{
	if (mtx->owner)
		return EBUSY;
	mtx->owner = bmk_current();
	return 0;
}

void rumpuser_mutex_exit(struct rumpuser_mtx *mtx)
{
	mtx->owner = NULL;
	bmk_waitq_wakeone(&mtx->wait);
}

void rumpuser_mutex_destroy(struct rumpuser_mtx *mtx) { bmk_memfree(mtx, sizeof(*mtx)); }

void rumpuser_mutex_owner(struct rumpuser_mtx *mtx, struct lwp **lp)
{
	*lp = mtx->owner ? bmk_thread_lwp(mtx->owner) : NULL;
}

void rumpuser_rw_init(struct rumpuser_rw **rwp) { *rwp = alloc_zero(sizeof(**rwp)); }

void rumpuser_rw_enter(int lock, struct rumpuser_rw *rw)
{
	int write = lock == RUMPUSER_RW_WRITER;

	if (rumpuser_rw_tryenter(lock, rw) == 0)
		return;
	bmk_unschedule();
	if (write) {
		while (rw->writer || rw->readers)
			bmk_waitq_sleep(&rw->wait, -1);
		rw->writer = bmk_current();
	} else {
		while (rw->writer)
			bmk_waitq_sleep(&rw->wait, -1);
		rw->readers++;
	}
	bmk_schedule();
}

int rumpuser_rw_tryenter(int lock, struct rumpuser_rw *rw)
{
	int write = lock == RUMPUSER_RW_WRITER;

	if (rw->writer || (write && rw->readers))
		return EBUSY;
	if (write)
		rw->writer = bmk_current();
	else
		rw->readers++;
	return 0;
}

void rumpuser_rw_exit(struct rumpuser_rw *rw)
{
	if (rw->writer)
		rw->writer = NULL;
	else
		rw->readers--;
	bmk_waitq_wakeall(&rw->wait);
}

int rumpuser_rw_tryupgrade(struct rumpuser_rw *rw)
{
	if (rw->readers != 1)
		return EBUSY;
	rw->readers = 0;
	rw->writer = bmk_current();
	return 0;
}

void rumpuser_rw_downgrade(struct rumpuser_rw *rw)
{
	rw->writer = NULL;
	rw->readers = 1;
	bmk_waitq_wakeall(&rw->wait);
}

void rumpuser_rw_held(int lock, struct rumpuser_rw *rw, int *held)
{
	*held = lock == RUMPUSER_RW_WRITER ? rw->writer == bmk_current() : rw->readers > 0;
}

void rumpuser_rw_destroy(struct rumpuser_rw *rw) { bmk_memfree(rw, sizeof(*rw)); }

void rumpuser_cv_init(struct rumpuser_cv **cvp) { *cvp = alloc_zero(sizeof(**cvp)); }

void rumpuser_cv_destroy(struct rumpuser_cv *cv) { bmk_memfree(cv, sizeof(*cv)); }

void rumpuser_cv_wait_nowrap(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx)
{
	rumpuser_mutex_exit(mtx);
	bmk_waitq_sleep(&cv->wait, -1);
	rumpuser_mutex_enter_nowrap(mtx);
}

void rumpuser_cv_wait(struct rumpuser_cv *cv, struct rumpuser_mtx *mtx)
{
	bmk_unschedule();
	rumpuser_cv_wait_nowrap(cv, mtx);
	bmk_schedule();
}

int rumpuser_cv_timedwait(
    struct rumpuser_cv *cv, struct rumpuser_mtx *mtx, rumpuser_int64_t sec, rumpuser_int64_t nsec)
{
	int64_t deadline = bmk_platform_clock_mono() + sec * 1000000000LL + nsec;
	int rv;

	bmk_unschedule();
	rumpuser_mutex_exit(mtx);
	rv = bmk_waitq_sleep(&cv->wait, deadline);
	rumpuser_mutex_enter_nowrap(mtx);
	bmk_schedule();
	return rv;
}

void rumpuser_cv_signal(struct rumpuser_cv *cv) { bmk_waitq_wakeone(&cv->wait); }

void rumpuser_cv_broadcast(struct rumpuser_cv *cv) { bmk_waitq_wakeall(&cv->wait); }

void rumpuser_cv_has_waiters(struct rumpuser_cv *cv, int *nwaiters)
{
	*nwaiters = bmk_waitq_count(&cv->wait);
}
