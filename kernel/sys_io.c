/* Reading, writing and controlling open files: the calls every program makes. */
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <kernel/syscall.h>
#include <fcntl.h>
#include <limits.h>

static int can_read(struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static int can_write(struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

static ssize_t do_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	if (!can_read(f))
		return -EBADF;
	if (!f->ops->read)
		return -EINVAL;
	return f->ops->read(f, buf, len, pos);
}

static ssize_t do_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	if (!can_write(f))
		return -EBADF;
	if (!f->ops->write)
		return -EINVAL;
	return f->ops->write(f, buf, len, pos);
}

/* Vectored transfer; stops at the first short or failed part, like Linux. */
static ssize_t do_rw_vec(
    struct file *f, const struct iovec *iov, int iovcnt, off_t *pos, int writing)
{
	ssize_t total = 0, n;
	int i;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		n = writing ? do_write(f, iov[i].iov_base, iov[i].iov_len, pos)
		            : do_read(f, iov[i].iov_base, iov[i].iov_len, pos);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return total;
}

/*
 * One transfer: buf/len is a buffer or (vec) an iovec array and its count;
 * off < 0 means at the file's own position, else at off without moving it
 * (pread and friends: the file must be seekable).
 */
static long transfer(long fd, long buf, long len, off_t off, int vec, int writing)
{
	struct file *f = fd_get(fd);
	off_t *pos, at = off;
	long rv;

	if (!f)
		return -EBADF;
	pos = off < 0 ? &f->pos : &at;
	if (off >= 0 && !f->ops->seek)
		rv = -ESPIPE;
	else if (vec)
		rv = do_rw_vec(f, (const struct iovec *)buf, len, pos, writing);
	else if (writing)
		rv = do_write(f, (const void *)buf, len, pos);
	else
		rv = do_read(f, (void *)buf, len, pos);
	file_drop(f);
	return rv;
}

#define AT_POSITION (-1)

static long sys_read(SYSARGS)
{
	long fd = a0, buf = a1, len = a2;
	return transfer(fd, buf, len, AT_POSITION, 0, 0);
}
SYSCALL_REGISTER(SYS_read, sys_read, FULL, "");

static long sys_write(SYSARGS)
{
	long fd = a0, buf = a1, len = a2;
	return transfer(fd, buf, len, AT_POSITION, 0, 1);
}
SYSCALL_REGISTER(SYS_write, sys_write, FULL, "");

static long sys_readv(SYSARGS)
{
	long fd = a0, iov = a1, cnt = a2;
	return transfer(fd, iov, cnt, AT_POSITION, 1, 0);
}
SYSCALL_REGISTER(SYS_readv, sys_readv, FULL, "");

static long sys_writev(SYSARGS)
{
	long fd = a0, iov = a1, cnt = a2;
	return transfer(fd, iov, cnt, AT_POSITION, 1, 1);
}
SYSCALL_REGISTER(SYS_writev, sys_writev, FULL, "");

static long sys_pread64(SYSARGS)
{
	long fd = a0, buf = a1, len = a2, off = a3;
	return off < 0 ? -EINVAL : transfer(fd, buf, len, off, 0, 0);
}
SYSCALL_REGISTER(SYS_pread64, sys_pread64, FULL, "");

static long sys_pwrite64(SYSARGS)
{
	long fd = a0, buf = a1, len = a2, off = a3;
	return off < 0 ? -EINVAL : transfer(fd, buf, len, off, 0, 1);
}
SYSCALL_REGISTER(SYS_pwrite64, sys_pwrite64, FULL, "");

static long sys_preadv(SYSARGS)
{
	long fd = a0, iov = a1, cnt = a2, off = a3;
	return off < 0 ? -EINVAL : transfer(fd, iov, cnt, off, 1, 0);
}
SYSCALL_REGISTER(SYS_preadv, sys_preadv, FULL, "");

static long sys_pwritev(SYSARGS)
{
	long fd = a0, iov = a1, cnt = a2, off = a3;
	return off < 0 ? -EINVAL : transfer(fd, iov, cnt, off, 1, 1);
}
SYSCALL_REGISTER(SYS_pwritev, sys_pwritev, FULL, "");

static long sys_lseek(SYSARGS)
{
	long fd = a0, off = a1, whence = a2;
	struct file *f = fd_get(fd);
	off_t pos;

	if (!f)
		return -EBADF;
	if (!f->ops->seek) {
		file_drop(f);
		return -ESPIPE;
	}
	pos = f->ops->seek(f, off, whence); /* the op validates whence */
	if (pos >= 0)
		f->pos = pos;
	file_drop(f);
	return pos;
}
SYSCALL_REGISTER(SYS_lseek, sys_lseek, FULL, "SEEK_DATA/SEEK_HOLE see the whole file as data");

static long sys_ioctl(SYSARGS)
{
	long fd = a0, cmd = a1, arg = a2;
	struct file *f = fd_get(fd);
	long rv;

	if (!f)
		return -EBADF;
	rv = f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
	file_drop(f);
	return rv;
}
SYSCALL_REGISTER(SYS_ioctl, sys_ioctl, PARTIAL,
    "what each file type serves (FIONBIO, FIONREAD, SIOCGIF*, SIOCOUTQ, TCGETS, TIOCGWINSZ...); "
    "others ENOTTY");

static long sys_close(SYSARGS)
{
	long fd = a0;
	return fd_close(fd);
}
SYSCALL_REGISTER(SYS_close, sys_close, FULL, "");

/*
 * sendfile: copy from in_fd (at *offset, which moves, or at its position)
 * to out_fd (a socket, usually) through a kernel buffer.  Stops at the end
 * of the input or at a short write (a full non-blocking socket); returns
 * what went, or the error when nothing did.
 */
#define SENDFILE_CHUNK (64 * 1024)

static long sys_sendfile(SYSARGS)
{
	long out_fd = a0, in_fd = a1, offp = a2, count = a3;
	struct file *in = fd_get(in_fd), *out = fd_get(out_fd);
	off_t *offset = (off_t *)offp, at;
	long done = 0, rv = 0;
	char *buf = NULL;

	if (!in || !out) {
		rv = -EBADF;
		goto out;
	}
	if (count < 0 || (offset && *offset < 0)) {
		rv = -EINVAL;
		goto out;
	}
	if (offset && !in->ops->seek) {
		rv = -ESPIPE;
		goto out;
	}
	if ((out->flags & O_APPEND)) {
		rv = -EINVAL; /* as Linux */
		goto out;
	}
	if ((buf = kpages_alloc(SENDFILE_CHUNK)) == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	at = offset ? *offset : in->pos;
	while (done < count) {
		size_t want = count - done < SENDFILE_CHUNK ? count - done : SENDFILE_CHUNK;
		off_t rpos = at;
		ssize_t n = do_read(in, buf, want, &rpos), w = 0;

		if (n <= 0) {
			rv = n;
			break;
		}
		while (w < n) {
			ssize_t m = do_write(out, buf + w, n - w, &out->pos);

			if (m <= 0) {
				rv = m;
				break;
			}
			w += m;
		}
		at += w;
		done += w;
		if (w < n)
			break;
	}
	if (offset)
		*offset = at;
	else
		in->pos = at;
out:
	if (buf)
		kpages_free(buf, SENDFILE_CHUNK);
	if (in)
		file_drop(in);
	if (out)
		file_drop(out);
	return done ? done : rv;
}
SYSCALL_REGISTER(SYS_sendfile, sys_sendfile, FULL, "through a 64 KiB kernel buffer");
