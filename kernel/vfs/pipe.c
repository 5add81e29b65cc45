/*
 * Pipes: a 64 KiB ring buffer between a read end and a write end.
 *
 * A reader of an empty pipe blocks until data comes or the last writer
 * goes (then EOF); a writer of a full pipe blocks until a reader makes
 * room.  Writes of at most PIPE_BUF bytes are atomic.  Writing with no
 * reader left fails with EPIPE (there are no signals yet, so no SIGPIPE).
 * O_NONBLOCK turns the waits into EAGAIN.  Each pipe has its own lock;
 * every change of state notifies the end it concerns (file_notify).
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <limits.h>
#include <poll.h>
#include <sys/ioctl.h>

#define PIPE_CAPACITY 65536

struct pipe {
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *readable, *writable;
	char *buf;
	size_t head, count; /* read position and bytes buffered */
	int readers, writers;
	struct file *rfile, *wfile; /* the two ends, while open */
	ino_t ino;
	struct timespec time;
};

static const struct file_ops pipe_ops;

static ssize_t pipe_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct pipe *p = f->priv;
	if ((f->flags & O_ACCMODE) != O_RDONLY)
		return -EBADF;
	if (len == 0)
		return 0;
	rumpuser_mutex_enter(p->mtx);
	while (p->count == 0) {
		if (p->writers == 0) {
			rumpuser_mutex_exit(p->mtx);
			return 0;
		}
		if (f->flags & O_NONBLOCK) {
			rumpuser_mutex_exit(p->mtx);
			return -EAGAIN;
		}
		rumpuser_cv_wait(p->readable, p->mtx);
	}
	size_t done = 0;
	while (done < len && p->count > 0) {
		size_t n = PIPE_CAPACITY - p->head;
		if (n > p->count)
			n = p->count;
		if (n > len - done)
			n = len - done;
		memcpy((char *)buf + done, p->buf + p->head, n);
		p->head = (p->head + n) % PIPE_CAPACITY;
		p->count -= n;
		done += n;
	}
	rumpuser_cv_broadcast(p->writable);
	if (p->wfile)
		file_notify(p->wfile, POLLOUT);
	rumpuser_mutex_exit(p->mtx);
	return done;
}

static ssize_t pipe_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct pipe *p = f->priv;
	if ((f->flags & O_ACCMODE) != O_WRONLY)
		return -EBADF;
	size_t done = 0;
	ssize_t ret;
	rumpuser_mutex_enter(p->mtx);
	while (done < len) {
		if (p->readers == 0) {
			ret = done ? (ssize_t)done : -EPIPE;
			goto out;
		}
		size_t space = PIPE_CAPACITY - p->count;
		/* A write of at most PIPE_BUF bytes goes in at once or not at all. */
		if (space == 0 || (len <= PIPE_BUF && space < len)) {
			if (f->flags & O_NONBLOCK) {
				ret = done ? (ssize_t)done : -EAGAIN;
				goto out;
			}
			rumpuser_cv_wait(p->writable, p->mtx);
			continue;
		}
		while (space > 0 && done < len) {
			size_t tail = (p->head + p->count) % PIPE_CAPACITY;
			size_t n = PIPE_CAPACITY - tail;
			if (n > space)
				n = space;
			if (n > len - done)
				n = len - done;
			memcpy(p->buf + tail, (const char *)buf + done, n);
			p->count += n;
			space -= n;
			done += n;
		}
		rumpuser_cv_broadcast(p->readable);
		if (p->rfile)
			file_notify(p->rfile, POLLIN);
	}
	ret = done;
out:
	rumpuser_mutex_exit(p->mtx);
	return ret;
}

static int pipe_poll(struct file *f, int events)
{
	struct pipe *p = f->priv;
	int r = 0;
	rumpuser_mutex_enter(p->mtx);
	if ((f->flags & O_ACCMODE) == O_RDONLY) {
		if (p->count > 0)
			r |= POLLIN | POLLRDNORM;
		if (p->writers == 0)
			r |= POLLHUP;
	} else {
		if (p->readers == 0)
			r |= POLLERR;
		else if (PIPE_CAPACITY - p->count >= PIPE_BUF)
			r |= POLLOUT | POLLWRNORM;
	}
	rumpuser_mutex_exit(p->mtx);
	return r & (events | POLLHUP | POLLERR);
}

static int pipe_stat(struct file *f, struct stat *st)
{
	struct pipe *p = f->priv;
	memset(st, 0, sizeof(*st));
	st->st_dev = 2;
	st->st_ino = p->ino;
	st->st_mode = S_IFIFO | 0600;
	st->st_nlink = 1;
	st->st_blksize = PAGE_SIZE;
	st->st_atim = st->st_mtim = st->st_ctim = p->time;
	return 0;
}

static long pipe_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	struct pipe *p = f->priv;
	if (cmd != FIONREAD)
		return -ENOTTY;
	rumpuser_mutex_enter(p->mtx);
	*(int *)arg = (int)p->count;
	rumpuser_mutex_exit(p->mtx);
	return 0;
}

static void pipe_free(struct pipe *p)
{
	if (p->buf)
		kpages_free(p->buf, PIPE_CAPACITY);
	if (p->mtx)
		rumpuser_mutex_destroy(p->mtx);
	if (p->readable)
		rumpuser_cv_destroy(p->readable);
	if (p->writable)
		rumpuser_cv_destroy(p->writable);
	kfree(p, sizeof(*p));
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	rumpuser_mutex_enter(p->mtx);
	if ((f->flags & O_ACCMODE) == O_RDONLY) {
		p->readers--;
		p->rfile = NULL;
		if (p->wfile)
			file_notify(p->wfile, POLLERR);
	} else {
		p->writers--;
		p->wfile = NULL;
		if (p->rfile)
			file_notify(p->rfile, POLLHUP);
	}
	int gone = (p->readers == 0 && p->writers == 0);
	rumpuser_cv_broadcast(p->readable);
	rumpuser_cv_broadcast(p->writable);
	rumpuser_mutex_exit(p->mtx);
	if (gone)
		pipe_free(p);
}

static const struct file_ops pipe_ops = {
    .read = pipe_read,
    .write = pipe_write,
    .ioctl = pipe_ioctl,
    .stat = pipe_stat,
    .poll = pipe_poll,
    .release = pipe_release,
    .notifies = 1,
};

long pipe_capacity(struct file *f) { return f->ops == &pipe_ops ? PIPE_CAPACITY : -EBADF; }

static long do_pipe2(int *fds, int flags)
{
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	if (fds == NULL)
		return -EFAULT;
	struct pipe *p = kzalloc(sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->buf = kpages_alloc(PIPE_CAPACITY);
	if (p->buf == NULL) {
		pipe_free(p);
		return -ENOMEM;
	}
	rumpuser_mutex_init(&p->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&p->readable);
	rumpuser_cv_init(&p->writable);
	vfs_enter();
	p->ino = vnode_next_ino();
	vfs_exit();
	int64_t ns = time_wall_ns();
	p->time.tv_sec = ns / 1000000000;
	p->time.tv_nsec = ns % 1000000000;

	int fl = flags & O_NONBLOCK;
	struct file *r = file_new(&pipe_ops, O_RDONLY | fl, p);
	struct file *w = r ? file_new(&pipe_ops, O_WRONLY | fl, p) : NULL;
	if (w == NULL) {
		if (r) {
			p->readers = 1;
			file_drop(r); /* frees p: no writer either */
		} else {
			pipe_free(p);
		}
		return -ENOMEM;
	}
	p->readers = p->writers = 1;
	p->rfile = r;
	p->wfile = w;
	int cloexec = (flags & O_CLOEXEC) != 0;
	int rfd = fd_install(r, 0, cloexec);
	if (rfd < 0) {
		file_drop(r);
		file_drop(w);
		return rfd;
	}
	int wfd = fd_install(w, 0, cloexec);
	if (wfd < 0) {
		fd_close(rfd);
		file_drop(w);
		return wfd;
	}
	fds[0] = rfd;
	fds[1] = wfd;
	return 0;
}

static long sys_pipe(SYSARGS) { return do_pipe2((int *)a0, 0); }
static long sys_pipe2(SYSARGS) { return do_pipe2((int *)a0, (int)a1); }
SYSCALL_REGISTER(SYS_pipe, sys_pipe, PARTIAL,
    "64 KiB buffers; a write without readers is EPIPE but raises no SIGPIPE");
SYSCALL_REGISTER(SYS_pipe2, sys_pipe2, PARTIAL, "as pipe");
