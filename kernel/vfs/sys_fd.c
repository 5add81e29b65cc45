/*
 * System calls on descriptors as such: dup, dup2, dup3, fcntl, flock.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <sys/file.h>

static long sys_dup(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	int fd = fd_install(f, 0, 0);
	if (fd < 0)
		file_drop(f);
	return fd;
}
SYSCALL_REGISTER(SYS_dup, sys_dup, FULL, "");

static long do_dup3(int oldfd, int newfd, int flags, int is_dup2)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	struct file *f = fd_get(oldfd);
	if (f == NULL)
		return -EBADF;
	if (oldfd == newfd) {
		file_drop(f);
		return is_dup2 ? newfd : -EINVAL;
	}
	int fd = fd_install_at(f, newfd, (flags & O_CLOEXEC) != 0);
	if (fd < 0)
		file_drop(f);
	return fd;
}

static long sys_dup2(SYSARGS) { return do_dup3((int)a0, (int)a1, 0, 1); }
static long sys_dup3(SYSARGS) { return do_dup3((int)a0, (int)a1, (int)a2, 0); }
SYSCALL_REGISTER(SYS_dup2, sys_dup2, FULL, "");
SYSCALL_REGISTER(SYS_dup3, sys_dup3, FULL, "");

#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

static long sys_fcntl(SYSARGS)
{
	int fd = (int)a0, cmd = (int)a1;
	unsigned long arg = a2;
	struct file *f = fd_get(fd);
	long ret = 0;
	if (f == NULL)
		return -EBADF;
	/* An O_PATH descriptor allows only the descriptor-level commands. */
	if ((f->flags & O_PATH) && cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC && cmd != F_GETFD &&
	    cmd != F_SETFD && cmd != F_GETFL) {
		file_drop(f);
		return -EBADF;
	}
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if ((long)arg < 0 || arg >= (unsigned long)fd_limit()) {
			ret = -EINVAL;
			break;
		}
		ret = fd_install(f, (int)arg, cmd == F_DUPFD_CLOEXEC);
		if (ret >= 0)
			return ret; /* the reference went to the new fd */
		break;
	case F_GETFD:
		ret = fd_cloexec(fd) ? FD_CLOEXEC : 0;
		break;
	case F_SETFD:
		fd_set_cloexec(fd, (arg & FD_CLOEXEC) != 0);
		break;
	case F_GETFL:
		ret = f->flags;
		break;
	case F_SETFL:
		f->flags = (f->flags & ~SETFL_MASK) | (arg & SETFL_MASK);
		break;
	case F_GETLK:
	case F_OFD_GETLK: {
		/* One process: no lock can conflict. */
		struct flock *fl = (struct flock *)arg;
		if (fl == NULL)
			ret = -EFAULT;
		else if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK)
			ret = -EINVAL;
		else
			fl->l_type = F_UNLCK;
		break;
	}
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW: {
		struct flock *fl = (struct flock *)arg;
		if (fl == NULL)
			ret = -EFAULT;
		else if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
			ret = -EINVAL;
		else if (fl->l_type == F_RDLCK && (f->flags & O_ACCMODE) == O_WRONLY)
			ret = -EBADF;
		else if (fl->l_type == F_WRLCK && (f->flags & O_ACCMODE) == O_RDONLY)
			ret = -EBADF;
		break;
	}
	case F_GETOWN:
	case F_SETOWN:
		ret = 0;
		break;
	case F_GETPIPE_SZ:
		ret = pipe_capacity(f);
		break;
	case F_SETPIPE_SZ:
		ret = pipe_capacity(f);
		if (ret > 0 && (long)arg > ret)
			ret = -EPERM; /* the capacity is fixed */
		break;
	default:
		ret = -EINVAL;
		break;
	}
	file_drop(f);
	return ret;
}
SYSCALL_REGISTER(SYS_fcntl, sys_fcntl, PARTIAL,
    "record locks always granted (one process); F_SETPIPE_SZ cannot grow a pipe");

static long sys_flock(SYSARGS)
{
	int op = (int)a1 & ~LOCK_NB;
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	file_drop(f);
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return -EINVAL;
	return 0;
}
SYSCALL_REGISTER(SYS_flock, sys_flock, PARTIAL, "always granted (one process)");
