/*
 * eventfd, eventfd2: a 64-bit counter as a file, the wake-up channel event
 * loops (libuv, libevent, thread pools) put into poll and epoll.
 *
 * write adds its 8-byte value (waiting, or EAGAIN, while the sum would
 * pass 0xfffffffffffffffe); read takes the whole count, or 1 with
 * EFD_SEMAPHORE (waiting, or EAGAIN, while it is 0).  Readable while the
 * count is not 0, writable while 1 more fits.  One lock per eventfd; every
 * change notifies the file's watchers.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <poll.h>
#include <sys/eventfd.h>

#define EVENTFD_MAX 0xfffffffffffffffeULL

struct eventfd {
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *cv;
	uint64_t count;
	int semaphore;
};

static ssize_t efd_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct eventfd *e = f->priv;
	uint64_t v;

	if (len < sizeof(v))
		return -EINVAL;
	rumpuser_mutex_enter(e->mtx);
	while (e->count == 0) {
		if (f->flags & O_NONBLOCK) {
			rumpuser_mutex_exit(e->mtx);
			return -EAGAIN;
		}
		rumpuser_cv_wait(e->cv, e->mtx);
	}
	v = e->semaphore ? 1 : e->count;
	e->count -= v;
	rumpuser_cv_broadcast(e->cv);
	file_notify(f, POLLOUT);
	rumpuser_mutex_exit(e->mtx);
	memcpy(buf, &v, sizeof(v));
	return sizeof(v);
}

static ssize_t efd_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct eventfd *e = f->priv;
	uint64_t v;

	if (len < sizeof(v))
		return -EINVAL;
	memcpy(&v, buf, sizeof(v));
	if (v == ~0ULL)
		return -EINVAL;
	rumpuser_mutex_enter(e->mtx);
	while (EVENTFD_MAX - e->count < v) {
		if (f->flags & O_NONBLOCK) {
			rumpuser_mutex_exit(e->mtx);
			return -EAGAIN;
		}
		rumpuser_cv_wait(e->cv, e->mtx);
	}
	e->count += v;
	if (v) {
		rumpuser_cv_broadcast(e->cv);
		file_notify(f, POLLIN);
	}
	rumpuser_mutex_exit(e->mtx);
	return sizeof(v);
}

static int efd_poll(struct file *f, int events)
{
	struct eventfd *e = f->priv;
	int r = 0;

	rumpuser_mutex_enter(e->mtx);
	if (e->count > 0)
		r |= POLLIN | POLLRDNORM;
	if (e->count < EVENTFD_MAX)
		r |= POLLOUT | POLLWRNORM;
	rumpuser_mutex_exit(e->mtx);
	return r & events;
}

static int efd_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = 0600; /* an anonymous inode, as on Linux */
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

static void efd_release(struct file *f)
{
	struct eventfd *e = f->priv;

	rumpuser_cv_destroy(e->cv);
	rumpuser_mutex_destroy(e->mtx);
	kfree(e, sizeof(*e));
}

static const struct file_ops efd_ops = {
    .read = efd_read,
    .write = efd_write,
    .poll = efd_poll,
    .stat = efd_stat,
    .release = efd_release,
    .notifies = 1,
};

static long do_eventfd(unsigned initval, int flags)
{
	struct eventfd *e;
	struct file *f;
	int fd;

	if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
		return -EINVAL;
	if ((e = kzalloc(sizeof(*e))) == NULL)
		return -ENOMEM;
	rumpuser_mutex_init(&e->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&e->cv);
	e->count = initval;
	e->semaphore = (flags & EFD_SEMAPHORE) != 0;
	if ((f = file_new(&efd_ops, O_RDWR | (flags & EFD_NONBLOCK ? O_NONBLOCK : 0), e)) == NULL) {
		efd_release(&(struct file){.priv = e});
		return -ENOMEM;
	}
	if ((fd = fd_install(f, 0, flags & EFD_CLOEXEC)) < 0)
		file_drop(f);
	return fd;
}

static long sys_eventfd(SYSARGS) { return do_eventfd((unsigned)a0, 0); }
static long sys_eventfd2(SYSARGS) { return do_eventfd((unsigned)a0, (int)a1); }
SYSCALL_REGISTER(SYS_eventfd, sys_eventfd, FULL, "");
SYSCALL_REGISTER(SYS_eventfd2, sys_eventfd2, FULL, "EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC");
