/*
 * Opening files, and writing an open file back: open, openat, creat;
 * fsync, fdatasync, sync, syncfs.  Linux x86_64 semantics and errors.
 *
 * Pattern (every kernel/vfs/sys_*.c): resolve the start directory
 * (vfs_start_dir, no lock), do the work under vfs_lock, then install
 * descriptors (fd_*) with no VFS lock held, since closing a descriptor may
 * take vfs_lock.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>

#define OPEN_KEEP_FLAGS \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_PATH | O_SYNC | O_DSYNC | O_DIRECT | \
	    O_NOATIME | O_ASYNC)

static long do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	struct vnode *dir, *v = NULL;
	struct file *f = NULL;
	int err;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return -EINVAL;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	if ((err = vfs_start_dir(dirfd, path, &dir)) != 0)
		return err;
	vfs_enter();
	if (flags & O_CREAT)
		err = namei_create(dir, path,
		    ((flags & O_EXCL) ? NAMEI_EXCL : 0) |
		        ((flags & O_NOFOLLOW) ? NAMEI_NOFOLLOW : 0),
		    mode, &v);
	else
		err = namei(dir, path, (flags & O_NOFOLLOW) ? NAMEI_NOFOLLOW : 0, &v);
	if (err)
		goto out;
	if (S_ISLNK(v->mode) && !(flags & O_PATH)) {
		err = -ELOOP;
		goto out;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(v->mode)) {
		err = -ENOTDIR;
		goto out;
	}
	if (S_ISDIR(v->mode) && !(flags & O_PATH) &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT))) {
		err = -EISDIR;
		goto out;
	}
	if (!(flags & O_PATH) && !S_ISCHR(v->mode) && !S_ISBLK(v->mode) &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) && (err = vnode_rofs(v)) != 0)
		goto out;
	if ((S_ISCHR(v->mode) || S_ISBLK(v->mode)) && !(flags & O_PATH)) {
		const struct vfs_device *dev = v->dev;
		vfs_exit();
		err = dev ? dev->open(dev, flags & OPEN_KEEP_FLAGS, &f) : -ENXIO;
		vfs_enter();
		goto out;
	}
	if ((flags & O_TRUNC) && S_ISREG(v->mode) && (flags & O_ACCMODE) != O_RDONLY) {
		if ((err = v->ops->truncate(v, 0)) != 0)
			goto out;
		vnode_touch(v, 0, 1, 1);
	}
	err = vfile_open(v, flags & OPEN_KEEP_FLAGS, &f);
out:
	if (v)
		vnode_rele(v);
	vnode_rele(dir);
	vfs_exit();
	if (err)
		return err;
	int fd = fd_install(f, 0, (flags & O_CLOEXEC) != 0);
	if (fd < 0)
		file_drop(f);
	return fd;
}

static long sys_open(SYSARGS) { return do_open(AT_FDCWD, (const char *)a0, (int)a1, (mode_t)a2); }
static long sys_openat(SYSARGS) { return do_open((int)a0, (const char *)a1, (int)a2, (mode_t)a3); }
static long sys_creat(SYSARGS)
{
	return do_open(AT_FDCWD, (const char *)a0, O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a1);
}
SYSCALL_REGISTER(SYS_open, sys_open, FULL, "");
SYSCALL_REGISTER(SYS_openat, sys_openat, FULL, "");
SYSCALL_REGISTER(SYS_creat, sys_creat, FULL, "");

/* Writing back */

static long sys_fsync(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	int err = f->ops->fsync ? f->ops->fsync(f) : -EINVAL;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_fsync, sys_fsync, FULL,
    "the file system writes the file back and flushes the disk (tmpfs: nothing to do)");
static long sys_fdatasync(SYSARGS) { return sys_fsync(a0, a1, a2, a3, a4, a5); }
SYSCALL_REGISTER(SYS_fdatasync, sys_fdatasync, FULL, "as fsync");
static long sys_sync(SYSARGS)
{
	vfs_sync_all();
	return 0;
}
SYSCALL_REGISTER(SYS_sync, sys_sync, FULL, "writes back every mounted file system");
static long sys_syncfs(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	struct vnode *v = vfs_file_vnode(f);
	int err = 0;
	if (v) {
		vfs_enter();
		if (v->mount)
			err = mount_sync_locked(v->mount);
		vfs_exit();
	}
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_syncfs, sys_syncfs, FULL, "writes back the file's file system");
