/*
 * Readiness: watches on files (file.h), and poll, ppoll, select, pselect6
 * on top of them.  epoll (epoll.c) uses the same watches and lock.
 *
 * A waiter puts a watch on every file it waits for, then asks each file's
 * poll op what is ready; when nothing is, it sleeps until a watch fires
 * (the file called file_notify), poll_wakeup() is called, or the timeout.
 * Watching before asking means a change in between is never lost.  Files
 * that do not notify (their ops lack .notifies) are asked again every
 * POLL_SLICE_NS instead.
 *
 * One leaf lock, the poll lock, guards every watch list, every waiter and
 * epoll's ready lists; watch callbacks run with it held.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/time.h>

#define DEFAULT_MASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

static struct rumpuser_mtx *poll_mtx;
static struct poll_waiter *sleepers; /* for poll_wakeup() */

static void poll_init(void)
{
	/* The platform's first thread calls vfs_init, which calls this,
	 * before any other thread can poll. */
	if (poll_mtx == NULL)
		rumpuser_mutex_init(&poll_mtx, RUMPUSER_MTX_KMUTEX);
}

void poll_lock(void) { rumpuser_mutex_enter(poll_mtx); }
void poll_unlock(void) { rumpuser_mutex_exit(poll_mtx); }

/* ---- watches ------------------------------------------------------------ */

void file_watch_add(struct file *f, struct file_watch *w)
{
	poll_lock();
	file_watch_add_locked(f, w);
	poll_unlock();
}

void file_watch_add_locked(struct file *f, struct file_watch *w)
{
	w->file = f;
	w->prev = NULL;
	w->next = f->watchers;
	if (f->watchers)
		f->watchers->prev = w;
	f->watchers = w;
}

void file_watch_del(struct file_watch *w)
{
	poll_lock();
	file_watch_del_locked(w);
	poll_unlock();
}

void file_watch_del_locked(struct file_watch *w)
{
	if (w->file == NULL)
		return; /* the file went first */
	if (w->prev)
		w->prev->next = w->next;
	else
		w->file->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->file = NULL;
}

void file_notify_locked(struct file *f, int events)
{
	struct file_watch *w, *next;
	for (w = f->watchers; w; w = next) {
		next = w->next;
		w->wake(w, events);
	}
}

void file_notify(struct file *f, int events)
{
	if (f->watchers == NULL)
		return; /* nobody waits: no lock needed to know it */
	poll_lock();
	file_notify_locked(f, events);
	poll_unlock();
}

void file_watchers_gone(struct file *f)
{
	poll_lock();
	while (f->watchers) {
		struct file_watch *w = f->watchers;
		file_watch_del_locked(w);
		if (w->gone)
			w->gone(w);
	}
	poll_unlock();
}

/* ---- waiting -------------------------------------------------------------- */

void poll_waiter_init(struct poll_waiter *pw)
{
	rumpuser_cv_init(&pw->cv);
	pw->woken = 0;
	poll_lock();
	pw->prev = NULL;
	pw->next = sleepers;
	if (sleepers)
		sleepers->prev = pw;
	sleepers = pw;
	poll_unlock();
}

void poll_waiter_fini(struct poll_waiter *pw)
{
	poll_lock();
	if (pw->prev)
		pw->prev->next = pw->next;
	else
		sleepers = pw->next;
	if (pw->next)
		pw->next->prev = pw->prev;
	poll_unlock();
	rumpuser_cv_destroy(pw->cv);
}

void poll_waiter_wake_locked(struct poll_waiter *pw)
{
	pw->woken = 1;
	rumpuser_cv_signal(pw->cv);
}

int poll_waiter_sleep_locked(struct poll_waiter *pw, int64_t deadline, int slices)
{
	while (!pw->woken) {
		int64_t wait = -1, now = time_mono_ns();
		if (deadline >= 0) {
			if (now >= deadline)
				return 1;
			wait = deadline - now;
		}
		if (slices && (wait < 0 || wait > POLL_SLICE_NS))
			wait = POLL_SLICE_NS;
		if (wait < 0) {
			rumpuser_cv_wait(pw->cv, poll_mtx);
		} else if (rumpuser_cv_timedwait(pw->cv, poll_mtx, wait / 1000000000,
		               wait % 1000000000) == ETIMEDOUT &&
		    slices && (deadline < 0 || time_mono_ns() < deadline)) {
			return 0; /* a slice passed: look again */
		}
	}
	pw->woken = 0;
	return 0;
}

void poll_wakeup(void)
{
	if (poll_mtx == NULL)
		return;
	poll_lock();
	for (struct poll_waiter *pw = sleepers; pw; pw = pw->next)
		poll_waiter_wake_locked(pw);
	poll_unlock();
}

/* ---- poll ----------------------------------------------------------------- */

struct polled {
	struct file_watch watch; /* watch.file: the watched file, or NULL */
	struct file *file; /* held; NULL for a bad or negative fd */
	struct poll_waiter *waiter;
	int events;
	int fd; /* select's */
};

static void polled_wake(struct file_watch *w, int events)
{
	struct polled *p = (struct polled *)w;
	if (events == 0 || (events & (p->events | POLLERR | POLLHUP)))
		poll_waiter_wake_locked(p->waiter);
}

/* What f is ready for among events. */
static int poll_file(struct file *f, int events)
{
	int r = f->ops->poll ? f->ops->poll(f, events) : DEFAULT_MASK;
	return r & (events | POLLERR | POLLHUP);
}

/*
 * Wait until one of the n files in ps is ready or the deadline (ns, -1:
 * none; 0: do not wait).  ps[i].events is what to look for; on return
 * revents[i] is what is ready (POLLNVAL when ps[i].file is NULL and nval
 * says so).  Returns how many entries have something.
 */
static long poll_files(
    struct polled *ps, unsigned long n, int *revents, const int *nval, int64_t timeout_ns)
{
	struct poll_waiter waiter;
	int64_t deadline = timeout_ns < 0 ? -1 : time_mono_ns() + timeout_ns;
	int slices = 0;
	long ready;
	unsigned long i;

	if (timeout_ns != 0) {
		poll_waiter_init(&waiter);
		poll_lock();
		for (i = 0; i < n; i++) {
			struct file *f = ps[i].file;
			ps[i].waiter = &waiter;
			ps[i].watch.file = NULL;
			if (f == NULL || f->ops->poll == NULL)
				continue;
			if (!f->ops->notifies) {
				slices = 1;
				continue;
			}
			ps[i].watch.wake = polled_wake;
			ps[i].watch.gone = NULL;
			file_watch_add_locked(f, &ps[i].watch);
		}
		poll_unlock();
	}
	for (;;) {
		ready = 0;
		for (i = 0; i < n; i++) {
			if (ps[i].file)
				revents[i] = poll_file(ps[i].file, ps[i].events);
			else
				revents[i] = nval[i] ? POLLNVAL : 0;
			if (revents[i])
				ready++;
		}
		if (ready || timeout_ns == 0)
			break;
		poll_lock();
		int timed_out = poll_waiter_sleep_locked(&waiter, deadline, slices);
		poll_unlock();
		if (timed_out)
			break;
	}
	if (timeout_ns != 0) {
		poll_lock();
		for (i = 0; i < n; i++)
			file_watch_del_locked(&ps[i].watch);
		poll_unlock();
		poll_waiter_fini(&waiter);
	}
	return ready;
}

/* Room for small calls on the stack; bigger ones allocate. */
#define POLL_STACK 16

struct poll_set {
	struct polled *ps;
	int *revents, *nval;
	unsigned long n;
	struct polled ps_small[POLL_STACK];
	int revents_small[POLL_STACK], nval_small[POLL_STACK];
};

static int poll_set_alloc(struct poll_set *s, unsigned long n)
{
	s->n = n;
	if (n <= POLL_STACK) {
		s->ps = s->ps_small;
		s->revents = s->revents_small;
		s->nval = s->nval_small;
	} else {
		s->ps = kmalloc(n * sizeof(*s->ps));
		s->revents = kmalloc(n * sizeof(int));
		s->nval = kmalloc(n * sizeof(int));
	}
	if (s->ps && s->revents && s->nval) {
		for (unsigned long i = 0; i < n; i++)
			s->ps[i].file = NULL;
		return 0;
	}
	if (s->ps)
		kfree(s->ps, n * sizeof(*s->ps));
	if (s->revents)
		kfree(s->revents, n * sizeof(int));
	if (s->nval)
		kfree(s->nval, n * sizeof(int));
	return -ENOMEM;
}

static void poll_set_free(struct poll_set *s)
{
	for (unsigned long i = 0; i < s->n; i++)
		if (s->ps[i].file)
			file_drop(s->ps[i].file);
	if (s->ps != s->ps_small) {
		kfree(s->ps, s->n * sizeof(*s->ps));
		kfree(s->revents, s->n * sizeof(int));
		kfree(s->nval, s->n * sizeof(int));
	}
}

static long do_poll(struct pollfd *fds, unsigned long nfds, int64_t timeout_ns)
{
	struct poll_set s;
	if (nfds > (unsigned long)fd_limit())
		return -EINVAL;
	if (nfds && fds == NULL)
		return -EFAULT;
	if (poll_set_alloc(&s, nfds))
		return -ENOMEM;
	for (unsigned long i = 0; i < nfds; i++) {
		s.ps[i].file = fds[i].fd < 0 ? NULL : fd_get(fds[i].fd);
		s.ps[i].events = fds[i].events;
		s.nval[i] = fds[i].fd >= 0;
	}
	long n = poll_files(s.ps, nfds, s.revents, s.nval, timeout_ns);
	for (unsigned long i = 0; i < nfds; i++)
		fds[i].revents = s.revents[i];
	poll_set_free(&s);
	return n;
}

static int timespec_ns(const struct timespec *ts, int64_t *ns)
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
static int64_t time_left(int64_t ns, int64_t start, long r)
{
	int64_t left = r == 0 ? 0 : ns - (time_mono_ns() - start);
	return left < 0 ? 0 : left;
}

static long sys_poll(SYSARGS)
{
	int ms = (int)a2;
	return do_poll((struct pollfd *)a0, (unsigned long)a1, ms < 0 ? -1 : (int64_t)ms * 1000000);
}
SYSCALL_REGISTER(SYS_poll, sys_poll, FULL, "");

static long sys_ppoll(SYSARGS)
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
SYSCALL_REGISTER(SYS_ppoll, sys_ppoll, FULL, "the signal mask is not applied");

/* ---- select --------------------------------------------------------------- */

/* select: the fd_set words as the kernel sees them (unsigned long bits). */
#define NBITS (8 * sizeof(unsigned long))

static int isset(const unsigned long *set, int fd)
{
	return set && (set[fd / NBITS] >> (fd % NBITS)) & 1;
}

static long do_select(
    int nfds, unsigned long *rs, unsigned long *ws, unsigned long *es, int64_t timeout_ns)
{
	if (nfds < 0)
		return -EINVAL;
	if (nfds > fd_limit())
		nfds = fd_limit(); /* as Linux: no descriptor is above it */
	size_t words = (nfds + NBITS - 1) / NBITS;
	unsigned long n = 0, i = 0;
	for (int fd = 0; fd < nfds; fd++)
		if (isset(rs, fd) || isset(ws, fd) || isset(es, fd))
			n++;
	struct poll_set s;
	if (poll_set_alloc(&s, n))
		return -ENOMEM;
	long ret = 0;
	for (int fd = 0; fd < nfds && i < n; fd++) {
		int r = isset(rs, fd), w = isset(ws, fd), e = isset(es, fd);
		if (!r && !w && !e)
			continue;
		s.ps[i].fd = fd;
		s.ps[i].events = (r ? POLLIN | POLLRDNORM : 0) | (w ? POLLOUT | POLLWRNORM : 0) |
		    (e ? POLLPRI : 0);
		s.nval[i] = 1;
		if ((s.ps[i].file = fd_get(fd)) == NULL)
			ret = -EBADF;
		i++;
	}
	if (ret == 0) {
		poll_files(s.ps, n, s.revents, s.nval, timeout_ns);
		for (size_t w = 0; w < words; w++) {
			if (rs)
				rs[w] = 0;
			if (ws)
				ws[w] = 0;
			if (es)
				es[w] = 0;
		}
		/* select counts bits, not descriptors. */
		for (i = 0; i < n; i++) {
			int got = s.revents[i], ev = s.ps[i].events, fd = s.ps[i].fd;
			unsigned long bit = 1UL << (fd % NBITS);
			if ((ev & POLLIN) && (got & (POLLIN | POLLRDNORM | POLLHUP | POLLERR))) {
				rs[fd / NBITS] |= bit;
				ret++;
			}
			if ((ev & POLLOUT) && (got & (POLLOUT | POLLWRNORM | POLLERR))) {
				ws[fd / NBITS] |= bit;
				ret++;
			}
			if ((ev & POLLPRI) && (got & POLLPRI)) {
				es[fd / NBITS] |= bit;
				ret++;
			}
		}
	}
	poll_set_free(&s);
	return ret;
}

static long sys_select(SYSARGS)
{
	struct timeval *tv = (struct timeval *)a4;
	int64_t ns = -1;
	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
			return -EINVAL;
		ns = tv->tv_sec * 1000000000LL + tv->tv_usec * 1000LL;
	}
	int64_t start = time_mono_ns();
	long r =
	    do_select((int)a0, (unsigned long *)a1, (unsigned long *)a2, (unsigned long *)a3, ns);
	if (tv && r >= 0) {
		int64_t left = time_left(ns, start, r);
		tv->tv_sec = left / 1000000000;
		tv->tv_usec = (left % 1000000000) / 1000;
	}
	return r;
}
SYSCALL_REGISTER(SYS_select, sys_select, FULL, "");

static long sys_pselect6(SYSARGS)
{
	struct timespec *ts = (struct timespec *)a4;
	int64_t ns;
	int err = timespec_ns(ts, &ns);
	if (err)
		return err;
	/* a5 points at { const sigset_t *, size_t }: no signals yet. */
	int64_t start = time_mono_ns();
	long r =
	    do_select((int)a0, (unsigned long *)a1, (unsigned long *)a2, (unsigned long *)a3, ns);
	if (ts && r >= 0) {
		int64_t left = time_left(ns, start, r);
		ts->tv_sec = left / 1000000000;
		ts->tv_nsec = left % 1000000000;
	}
	return r;
}
SYSCALL_REGISTER(SYS_pselect6, sys_pselect6, FULL, "the signal mask is not applied");

void vfs_poll_init(void) { poll_init(); }
