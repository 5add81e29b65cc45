/*
 * poll, ppoll, select, pselect6.
 *
 * Each round asks every file's poll op what is ready (a file without one
 * is always ready for reading and writing, like a regular file).  When
 * nothing is, the caller sleeps on one condition variable until some
 * component calls poll_wakeup() or a short slice passes (so files whose
 * components do not call poll_wakeup yet, like console input, are still
 * noticed), then asks again, until the timeout.  A generation counter
 * read before the round keeps a wake-up during the round from being lost.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/time.h>

#define POLL_SLICE_NS 20000000LL	/* 20 ms */
#define DEFAULT_MASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

static struct rumpuser_mtx *poll_mtx;
static struct rumpuser_cv *poll_cv;
static unsigned long poll_gen;

static void
poll_init(void)
{
	/* Racy only if two threads poll before anything else ran: the
	 * platform's first thread calls vfs_init, which calls this. */
	if (poll_mtx == NULL) {
		rumpuser_mutex_init(&poll_mtx, RUMPUSER_MTX_KMUTEX);
		rumpuser_cv_init(&poll_cv);
	}
}

void
poll_wakeup(void)
{
	if (poll_mtx == NULL)
		return;
	rumpuser_mutex_enter(poll_mtx);
	poll_gen++;
	rumpuser_cv_broadcast(poll_cv);
	rumpuser_mutex_exit(poll_mtx);
}

static unsigned long
poll_generation(void)
{
	poll_init();
	rumpuser_mutex_enter(poll_mtx);
	unsigned long g = poll_gen;
	rumpuser_mutex_exit(poll_mtx);
	return g;
}

/*
 * Sleep until a wake-up after generation gen, a slice, or the deadline
 * (monotonic ns; -1 for none).  Returns 0, or 1 when the deadline passed.
 */
static int
poll_sleep(unsigned long gen, int64_t deadline)
{
	int64_t wait = POLL_SLICE_NS;
	if (deadline >= 0) {
		int64_t left = deadline - time_mono_ns();
		if (left <= 0)
			return 1;
		if (left < wait)
			wait = left;
	}
	rumpuser_mutex_enter(poll_mtx);
	if (poll_gen == gen)
		rumpuser_cv_timedwait(poll_cv, poll_mtx, wait / 1000000000, wait % 1000000000);
	rumpuser_mutex_exit(poll_mtx);
	return 0;
}

/* What fd is ready for among events; POLLNVAL for a bad descriptor. */
static int
poll_fd(int fd, int events)
{
	struct file *f = fd_get(fd);
	if (f == NULL)
		return POLLNVAL;
	int r = f->ops->poll ? f->ops->poll(f, events) : DEFAULT_MASK;
	file_drop(f);
	return r & (events | POLLERR | POLLHUP);
}

static int64_t
deadline_after(int64_t ns)
{
	return ns < 0 ? -1 : time_mono_ns() + ns;
}

static long
do_poll(struct pollfd *fds, unsigned long nfds, int64_t timeout_ns)
{
	if (nfds > FD_MAX)
		return -EINVAL;
	if (nfds && fds == NULL)
		return -EFAULT;
	int64_t deadline = deadline_after(timeout_ns);
	for (;;) {
		unsigned long gen = poll_generation();
		long n = 0;
		for (unsigned long i = 0; i < nfds; i++) {
			fds[i].revents = fds[i].fd < 0 ? 0 : poll_fd(fds[i].fd, fds[i].events);
			if (fds[i].revents)
				n++;
		}
		if (n || timeout_ns == 0)
			return n;
		if (poll_sleep(gen, deadline))
			return 0;
	}
}

static int
timespec_ns(const struct timespec *ts, int64_t *ns)
{
	if (ts == NULL) {
		*ns = -1;
		return 0;
	}
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL;
	if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
		*ns = -1;
	else
		*ns = ts->tv_sec * 1000000000 + ts->tv_nsec;
	return 0;
}

/* What is left of a timeout of ns started at start, for the calls that
 * report it back: nothing once the wait timed out (r == 0). */
static int64_t
time_left(int64_t ns, int64_t start, long r)
{
	int64_t left = r == 0 ? 0 : ns - (time_mono_ns() - start);
	return left < 0 ? 0 : left;
}

static long
sys_poll(SYSARGS)
{
	int ms = (int)a2;
	return do_poll((struct pollfd *)a0, (unsigned long)a1, ms < 0 ? -1 : (int64_t)ms * 1000000);
}
SYSCALL_REGISTER(SYS_poll, sys_poll);

static long
sys_ppoll(SYSARGS)
{
	struct timespec *ts = (struct timespec *)a2;
	int64_t ns;
	int err = timespec_ns(ts, &ns);
	if (err)
		return err;
	int64_t start = time_mono_ns();
	long r = do_poll((struct pollfd *)a0, (unsigned long)a1, ns);
	if (ts && r >= 0) {
		int64_t left = time_left(ns, start, r);
		ts->tv_sec = left / 1000000000;
		ts->tv_nsec = left % 1000000000;
	}
	return r;
}
SYSCALL_REGISTER(SYS_ppoll, sys_ppoll);

/* select: the fd_set words as the kernel sees them (unsigned long bits). */
#define NBITS (8 * sizeof(unsigned long))

static int
isset(const unsigned long *set, int fd)
{
	return set && (set[fd / NBITS] >> (fd % NBITS)) & 1;
}

static long
do_select(int nfds, unsigned long *rs, unsigned long *ws, unsigned long *es, int64_t timeout_ns)
{
	if (nfds < 0 || nfds > FD_MAX)
		return -EINVAL;
	size_t words = (nfds + NBITS - 1) / NBITS;
	unsigned long rout[FD_MAX / NBITS], wout[FD_MAX / NBITS], eout[FD_MAX / NBITS];
	int64_t deadline = deadline_after(timeout_ns);
	for (;;) {
		unsigned long gen = poll_generation();
		long n = 0;
		memset(rout, 0, sizeof(rout));
		memset(wout, 0, sizeof(wout));
		memset(eout, 0, sizeof(eout));
		for (int fd = 0; fd < nfds; fd++) {
			int r = isset(rs, fd), w = isset(ws, fd), e = isset(es, fd);
			if (!r && !w && !e)
				continue;
			int ev = (r ? POLLIN | POLLRDNORM : 0) | (w ? POLLOUT | POLLWRNORM : 0) |
			    (e ? POLLPRI : 0);
			int got = poll_fd(fd, ev);
			if (got & POLLNVAL)
				return -EBADF;
			unsigned long bit = 1UL << (fd % NBITS);
			if (r && (got & (POLLIN | POLLRDNORM | POLLHUP | POLLERR))) {
				rout[fd / NBITS] |= bit;
				n++;
			}
			if (w && (got & (POLLOUT | POLLWRNORM | POLLERR))) {
				wout[fd / NBITS] |= bit;
				n++;
			}
			if (e && (got & POLLPRI)) {
				eout[fd / NBITS] |= bit;
				n++;
			}
		}
		if (n || timeout_ns == 0 || poll_sleep(gen, deadline)) {
			if (rs)
				memcpy(rs, rout, words * sizeof(unsigned long));
			if (ws)
				memcpy(ws, wout, words * sizeof(unsigned long));
			if (es)
				memcpy(es, eout, words * sizeof(unsigned long));
			return n;
		}
	}
}

static long
sys_select(SYSARGS)
{
	struct timeval *tv = (struct timeval *)a4;
	int64_t ns = -1;
	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
			return -EINVAL;
		ns = tv->tv_sec * 1000000000LL + tv->tv_usec * 1000LL;
	}
	int64_t start = time_mono_ns();
	long r = do_select((int)a0, (unsigned long *)a1, (unsigned long *)a2,
	    (unsigned long *)a3, ns);
	if (tv && r >= 0) {
		int64_t left = time_left(ns, start, r);
		tv->tv_sec = left / 1000000000;
		tv->tv_usec = (left % 1000000000) / 1000;
	}
	return r;
}
SYSCALL_REGISTER(SYS_select, sys_select);

static long
sys_pselect6(SYSARGS)
{
	struct timespec *ts = (struct timespec *)a4;
	int64_t ns;
	int err = timespec_ns(ts, &ns);
	if (err)
		return err;
	/* a5 points at { const sigset_t *, size_t }: no signals yet. */
	int64_t start = time_mono_ns();
	long r = do_select((int)a0, (unsigned long *)a1, (unsigned long *)a2,
	    (unsigned long *)a3, ns);
	if (ts && r >= 0) {
		int64_t left = time_left(ns, start, r);
		ts->tv_sec = left / 1000000000;
		ts->tv_nsec = left % 1000000000;
	}
	return r;
}
SYSCALL_REGISTER(SYS_pselect6, sys_pselect6);

void
vfs_poll_init(void)
{
	poll_init();
}
