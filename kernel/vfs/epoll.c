/*
 * epoll: epoll_create1, epoll_create, epoll_ctl, epoll_wait, epoll_pwait,
 * epoll_pwait2.
 *
 * Each registered (descriptor, file) pair is an item holding a watch on
 * the file (poll.c).  When the file notifies, the watch puts the item on
 * the instance's ready list; epoll_wait asks only the items on that list
 * what is ready, so its cost follows the number of ready descriptors, not
 * the number registered.  A level-triggered item that was ready goes back
 * on the list after it is reported (the next epoll_wait asks it again);
 * an edge-triggered one (EPOLLET) only when its file notifies again;
 * EPOLLONESHOT disarms the item until EPOLL_CTL_MOD.  Files that do not
 * notify are asked on every wait, and the wait sleeps in slices.
 *
 * As on Linux an item does not hold its file: when the file's last
 * reference goes (every descriptor for it closed), the item goes too.
 * Everything here is guarded by the poll lock.  The instance itself is a
 * file that notifies, so epoll instances can be polled and nested.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <poll.h>
#include <sys/epoll.h>

#define EP_FLAG_BITS (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP | EPOLLEXCLUSIVE)
#define EP_MAX_EVENTS (INT32_MAX / (int)sizeof(struct epoll_event))

struct epitem {
	struct file_watch watch; /* watch.file: the file (NULL once gone) */
	struct eventpoll *ep;
	struct file *file; /* the key, with fd */
	int fd;
	uint32_t events; /* requested, with EPOLLET/ONESHOT */
	uint64_t data;
	int ready; /* on the ready list */
	int disarmed; /* EPOLLONESHOT fired */
	int busy; /* epoll_wait is asking it, unlocked */
	int dead; /* removed while busy: free when done */
	int legacy; /* its file does not notify */
	struct epitem *rnext, *rprev; /* ready list */
	struct epitem *hnext; /* hash chain */
};

/* A thread in epoll_wait, on the instance's list. */
struct ep_waiter {
	struct poll_waiter pw;
	struct ep_waiter *next;
};

struct eventpoll {
	struct file *file;
	struct epitem **hash;
	unsigned hsize, count;
	struct epitem *rhead, *rtail;
	int legacy; /* items whose files do not notify */
	struct ep_waiter *waiters;
};

static const struct file_ops epoll_ops;

/* ---- the ready list and waking (poll lock held) ---------------------- */

static void ready_add(struct eventpoll *ep, struct epitem *it)
{
	if (it->ready)
		return;
	it->ready = 1;
	it->rnext = NULL;
	it->rprev = ep->rtail;
	if (ep->rtail)
		ep->rtail->rnext = it;
	else
		ep->rhead = it;
	ep->rtail = it;
}

static void ready_del(struct eventpoll *ep, struct epitem *it)
{
	if (!it->ready)
		return;
	if (it->rprev)
		it->rprev->rnext = it->rnext;
	else
		ep->rhead = it->rnext;
	if (it->rnext)
		it->rnext->rprev = it->rprev;
	else
		ep->rtail = it->rprev;
	it->ready = 0;
}

static void ep_wake_waiters(struct eventpoll *ep)
{
	for (struct ep_waiter *w = ep->waiters; w; w = w->next)
		poll_waiter_wake_locked(&w->pw);
	file_notify_locked(ep->file, POLLIN); /* pollers of the instance */
}

static void item_wake(struct file_watch *w, int events)
{
	struct epitem *it = (struct epitem *)w;
	struct eventpoll *ep = it->ep;

	if (it->disarmed)
		return;
	if (events && !(events & (it->events | EPOLLERR | EPOLLHUP)))
		return;
	if (!it->ready) {
		ready_add(ep, it);
		ep_wake_waiters(ep);
	}
}

/* ---- the item table (poll lock held) ------------------------------------ */

static struct epitem **hash_slot(struct eventpoll *ep, int fd, struct file *f)
{
	struct epitem **pp = &ep->hash[(unsigned)fd & (ep->hsize - 1)];

	while (*pp && ((*pp)->fd != fd || (*pp)->file != f))
		pp = &(*pp)->hnext;
	return pp;
}

static int hash_grow(struct eventpoll *ep)
{
	unsigned size = ep->hsize ? ep->hsize * 2 : 16, i;
	struct epitem **hash = kzalloc(size * sizeof(*hash));

	if (!hash)
		return -ENOMEM;
	for (i = 0; i < ep->hsize; i++) {
		while (ep->hash[i]) {
			struct epitem *it = ep->hash[i];

			ep->hash[i] = it->hnext;
			it->hnext = hash[(unsigned)it->fd & (size - 1)];
			hash[(unsigned)it->fd & (size - 1)] = it;
		}
	}
	if (ep->hash)
		kfree(ep->hash, ep->hsize * sizeof(*hash));
	ep->hash = hash;
	ep->hsize = size;
	return 0;
}

/* Take it out of the instance: table, ready list, its file.  Freed now,
 * or by epoll_wait when it is asking it (busy). */
static void item_remove(struct epitem *it)
{
	struct eventpoll *ep = it->ep;
	struct epitem **pp = hash_slot(ep, it->fd, it->file);

	if (*pp == it)
		*pp = it->hnext;
	ep->count--;
	if (it->legacy)
		ep->legacy--;
	ready_del(ep, it);
	file_watch_del_locked(&it->watch);
	if (it->busy)
		it->dead = 1;
	else
		kfree(it, sizeof(*it));
}

/* The file of an item is being released (every descriptor closed). */
static void item_gone(struct file_watch *w) { item_remove((struct epitem *)w); }

/* ---- the instance as a file ------------------------------------------- */

static int epoll_poll(struct file *f, int events)
{
	struct eventpoll *ep = f->priv;
	int r;

	poll_lock();
	r = ep->rhead || ep->legacy ? POLLIN | POLLRDNORM : 0;
	poll_unlock();
	return r & events;
}

static void epoll_release(struct file *f)
{
	struct eventpoll *ep = f->priv;
	unsigned i;

	poll_lock();
	for (i = 0; i < ep->hsize; i++)
		while (ep->hash[i])
			item_remove(ep->hash[i]);
	poll_unlock();
	if (ep->hash)
		kfree(ep->hash, ep->hsize * sizeof(*ep->hash));
	kfree(ep, sizeof(*ep));
}

static int epoll_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = 0600; /* an anonymous inode, as on Linux */
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

static const struct file_ops epoll_ops = {
    .poll = epoll_poll,
    .stat = epoll_stat,
    .release = epoll_release,
    .notifies = 1,
};

static long do_epoll_create(int flags)
{
	struct eventpoll *ep;
	struct file *f;
	int fd;

	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	if ((ep = kzalloc(sizeof(*ep))) == NULL)
		return -ENOMEM;
	if ((f = file_new(&epoll_ops, O_RDWR, ep)) == NULL) {
		kfree(ep, sizeof(*ep));
		return -ENOMEM;
	}
	ep->file = f;
	if ((fd = fd_install(f, 0, flags & EPOLL_CLOEXEC)) < 0)
		file_drop(f);
	return fd;
}

static long sys_epoll_create1(SYSARGS) { return do_epoll_create((int)a0); }
SYSCALL_REGISTER(SYS_epoll_create1, sys_epoll_create1, FULL, "");

static long sys_epoll_create(SYSARGS) { return (int)a0 <= 0 ? -EINVAL : do_epoll_create(0); }
SYSCALL_REGISTER(SYS_epoll_create, sys_epoll_create, FULL, "");

/* ---- epoll_ctl ------------------------------------------------------------ */

/* Is target an epoll instance that (through nested instances) watches
 * the instance ep?  Such a loop is refused (ELOOP), as on Linux.  Poll
 * lock held; depth-limited like Linux's EP_MAX_NESTS. */
static int reaches(struct eventpoll *target, struct eventpoll *ep, int depth)
{
	unsigned i;

	if (target == ep)
		return 1;
	if (depth > 4)
		return 1;
	for (i = 0; i < target->hsize; i++)
		for (struct epitem *it = target->hash[i]; it; it = it->hnext)
			if (it->file->ops == &epoll_ops && reaches(it->file->priv, ep, depth + 1))
				return 1;
	return 0;
}

/* Ask the item's file now (the item is busy, the lock not held) and
 * queue the item if the file is ready. */
static void item_check(struct eventpoll *ep, struct epitem *it, struct file *f)
{
	int r = f->ops->poll(f, it->events) & (it->events | EPOLLERR | EPOLLHUP);

	poll_lock();
	it->busy = 0;
	if (it->dead)
		kfree(it, sizeof(*it));
	else if (r && !it->disarmed && !it->ready) {
		ready_add(ep, it);
		ep_wake_waiters(ep);
	}
	poll_unlock();
}

static long sys_epoll_ctl(SYSARGS)
{
	int epfd = (int)a0, op = (int)a1, fd = (int)a2;
	const struct epoll_event *ev = (const struct epoll_event *)a3;
	struct file *epf, *f;
	struct eventpoll *ep;
	struct epitem *it = NULL, **slot;
	long ret = 0;

	if ((epf = fd_get(epfd)) == NULL)
		return -EBADF;
	if ((f = fd_get(fd)) == NULL) {
		file_drop(epf);
		return -EBADF;
	}
	if (epf->ops != &epoll_ops || f == epf) {
		ret = -EINVAL;
		goto out;
	}
	if (f->ops->poll == NULL || vfs_file_vnode(f)) {
		ret = -EPERM; /* regular files and directories: always ready, as Linux says */
		goto out;
	}
	if (op != EPOLL_CTL_DEL && ev == NULL) {
		ret = -EFAULT;
		goto out;
	}
	ep = epf->priv;
	if (op == EPOLL_CTL_ADD && (it = kzalloc(sizeof(*it))) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	poll_lock();
	if (ep->hsize == 0 && hash_grow(ep) != 0) {
		ret = -ENOMEM;
		goto unlock;
	}
	slot = hash_slot(ep, fd, f);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (*slot) {
			ret = -EEXIST;
			break;
		}
		if (f->ops == &epoll_ops && reaches(f->priv, ep, 0)) {
			ret = -ELOOP;
			break;
		}
		if (ep->count >= ep->hsize && hash_grow(ep) != 0) {
			ret = -ENOMEM;
			break;
		}
		it->ep = ep;
		it->file = f;
		it->fd = fd;
		it->events = ev->events;
		it->data = ev->data.u64;
		it->legacy = !f->ops->notifies;
		it->watch.wake = item_wake;
		it->watch.gone = item_gone;
		file_watch_add_locked(f, &it->watch);
		slot = hash_slot(ep, fd, f); /* the table may have grown */
		it->hnext = NULL;
		*slot = it;
		ep->count++;
		if (it->legacy) {
			ep->legacy++;
			ready_add(ep, it);
		}
		it->busy = 1;
		break;
	case EPOLL_CTL_MOD:
		if (!(it = *slot)) {
			ret = -ENOENT;
			break;
		}
		if ((it->events & EPOLLEXCLUSIVE) || (ev->events & EPOLLEXCLUSIVE)) {
			ret = -EINVAL;
			break;
		}
		it->events = ev->events;
		it->data = ev->data.u64;
		it->disarmed = 0;
		it->busy = 1;
		break;
	case EPOLL_CTL_DEL:
		if (!(it = *slot)) {
			ret = -ENOENT;
			break;
		}
		item_remove(it);
		it = NULL;
		break;
	default:
		ret = -EINVAL;
		break;
	}
unlock:
	poll_unlock();
	if (ret == 0 && op != EPOLL_CTL_DEL)
		item_check(ep, it, f);
	else if (ret != 0 && op == EPOLL_CTL_ADD)
		kfree(it, sizeof(*it));
out:
	file_drop(f);
	file_drop(epf);
	return ret;
}
SYSCALL_REGISTER(SYS_epoll_ctl, sys_epoll_ctl, FULL, "level, edge, oneshot, exclusive");

/* ---- epoll_wait ----------------------------------------------------------- */

/*
 * One pass over the items on the ready list now (those put back during
 * the pass wait for the next one, so nothing is reported twice): in
 * batches, take them off the list, hold their files and mark them busy,
 * ask their files outside the lock, then report those that are ready.
 * Returns how many events were written to out (at most max).
 */
#define BATCH 32

static int ep_scan(struct eventpoll *ep, struct epoll_event *out, int max)
{
	struct epitem *batch[BATCH];
	struct file *files[BATCH];
	int revents[BATCH];
	int got = 0, left = 0, n, i;

	poll_lock();
	for (struct epitem *it = ep->rhead; it; it = it->rnext)
		left++;
	while (left > 0 && got < max) {
		n = 0;
		while (ep->rhead && left > 0 && n < BATCH && n < max - got) {
			struct epitem *it = ep->rhead;

			left--;
			ready_del(ep, it);
			if (!file_tryhold(it->file))
				continue; /* being released: item_gone is coming */
			it->busy = 1;
			files[n] = it->file;
			batch[n++] = it;
		}
		poll_unlock();
		for (i = 0; i < n; i++)
			revents[i] = files[i]->ops->poll(files[i], batch[i]->events) &
			    (batch[i]->events | EPOLLERR | EPOLLHUP);
		poll_lock();
		for (i = 0; i < n; i++) {
			struct epitem *it = batch[i];

			it->busy = 0;
			if (it->dead) {
				kfree(it, sizeof(*it));
				continue;
			}
			if (revents[i] && !it->disarmed) {
				out[got].events = revents[i];
				out[got].data.u64 = it->data;
				got++;
				if (it->events & EPOLLONESHOT)
					it->disarmed = 1;
				else if (!(it->events & EPOLLET))
					ready_add(
					    ep, it); /* level-triggered: ask again next time */
			}
			if (it->legacy && !it->disarmed)
				ready_add(ep, it);
		}
		if (n) {
			poll_unlock();
			for (i = 0; i < n; i++)
				file_drop(files[i]);
			poll_lock();
		}
	}
	poll_unlock();
	return got;
}

static long do_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int64_t timeout_ns)
{
	struct file *epf;
	struct eventpoll *ep;
	struct ep_waiter w;
	int64_t deadline = timeout_ns < 0 ? -1 : time_mono_ns() + timeout_ns;
	int got = 0, waiting = 0;

	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (events == NULL)
		return -EFAULT;
	if ((epf = fd_get(epfd)) == NULL)
		return -EBADF;
	if (epf->ops != &epoll_ops) {
		file_drop(epf);
		return -EINVAL;
	}
	ep = epf->priv;
	for (;;) {
		got = ep_scan(ep, events, maxevents);
		if (got || timeout_ns == 0)
			break;
		if (!waiting) {
			/* Wait on the instance: from now on a wake-up is not lost. */
			poll_waiter_init(&w.pw);
			poll_lock();
			w.next = ep->waiters;
			ep->waiters = &w;
			poll_unlock();
			waiting = 1;
			continue; /* look once more before sleeping */
		}
		poll_lock();
		int timed_out = ep->rhead && !ep->legacy
		    ? 0
		    : poll_waiter_sleep_locked(&w.pw, deadline, ep->legacy > 0);
		poll_unlock();
		if (timed_out)
			break;
	}
	if (waiting) {
		poll_lock();
		struct ep_waiter **pp = &ep->waiters;
		while (*pp != &w)
			pp = &(*pp)->next;
		*pp = w.next;
		poll_unlock();
		poll_waiter_fini(&w.pw);
	}
	file_drop(epf);
	return got;
}

static int64_t ms_timeout(int ms) { return ms < 0 ? -1 : (int64_t)ms * 1000000; }

static long sys_epoll_wait(SYSARGS)
{
	return do_epoll_wait((int)a0, (struct epoll_event *)a1, (int)a2, ms_timeout((int)a3));
}
SYSCALL_REGISTER(SYS_epoll_wait, sys_epoll_wait, FULL, "");

/* No signals are delivered yet, so the mask changes nothing. */
static long sys_epoll_pwait(SYSARGS)
{
	return do_epoll_wait((int)a0, (struct epoll_event *)a1, (int)a2, ms_timeout((int)a3));
}
SYSCALL_REGISTER(SYS_epoll_pwait, sys_epoll_pwait, FULL, "the signal mask is not applied");

static long sys_epoll_pwait2(SYSARGS)
{
	const struct timespec *ts = (const struct timespec *)a3;
	int64_t ns = -1;

	if (ts) {
		if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
			return -EINVAL;
		ns = ts->tv_sec > INT64_MAX / 1000000000 - 1
		    ? -1
		    : ts->tv_sec * 1000000000 + ts->tv_nsec;
	}
	return do_epoll_wait((int)a0, (struct epoll_event *)a1, (int)a2, ns);
}
SYSCALL_REGISTER(SYS_epoll_pwait2, sys_epoll_pwait2, FULL, "as epoll_pwait");
