/*
 * Attributes: chmod, fchmod, fchmodat, chown, lchown, fchown, fchownat,
 * utimensat, access, faccessat(2), truncate, ftruncate.  Linux x86_64
 * semantics and errors.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>

/* Attributes: mode, owner, times */

/*
 * The held vnode that an attribute call names: path from dirfd (following
 * the last link unless nofollow), or the file dirfd itself for an empty
 * path with AT_EMPTY_PATH or a NULL path (utimensat).  -EBADF for an
 * O_PATH file where Linux refuses one (fchmod, fchown).  For a descriptor
 * that is not a VFS file, *vp is NULL and the call succeeds vacuously.
 */
static int attr_target(int dirfd, const char *path, int nofollow, int fdonly, struct vnode **vp)
{
	int err;
	if (fdonly)
		return vfs_fd_vnode(dirfd, vp);
	if ((err = vfs_lookup_begin(dirfd, path, nofollow ? NAMEI_NOFOLLOW : 0, vp)) == 0)
		vfs_exit(); /* the caller keeps the hold */
	return err;
}

static void attr_done(struct vnode *v)
{
	if (v)
		vfs_release(v);
}

static long do_chmod(int dirfd, const char *path, mode_t mode, int fdonly)
{
	struct vnode *v;
	int err = attr_target(dirfd, path, 0, fdonly, &v);
	if (err || v == NULL)
		return err;
	vfs_enter();
	if ((err = vnode_rofs(v)) == 0) {
		v->mode = (v->mode & S_IFMT) | (mode & 07777);
		vnode_touch(v, 0, 0, 1);
	}
	vfs_exit();
	attr_done(v);
	return err;
}
static long sys_chmod(SYSARGS) { return do_chmod(AT_FDCWD, (const char *)a0, (mode_t)a1, 0); }
static long sys_fchmod(SYSARGS) { return do_chmod((int)a0, NULL, (mode_t)a1, 1); }
static long sys_fchmodat(SYSARGS) { return do_chmod((int)a0, (const char *)a1, (mode_t)a2, 0); }
SYSCALL_REGISTER(SYS_chmod, sys_chmod, FULL, "");
SYSCALL_REGISTER(SYS_fchmod, sys_fchmod, FULL, "");
SYSCALL_REGISTER(SYS_fchmodat, sys_fchmodat, FULL, "");

static long do_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags, int fdonly)
{
	struct vnode *v;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (!fdonly && path && path[0] == '\0' && (flags & AT_EMPTY_PATH))
		fdonly = 1;
	int err = attr_target(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, fdonly, &v);
	if (err || v == NULL)
		return err;
	vfs_enter();
	if ((err = vnode_rofs(v)) == 0) {
		if (uid != (uid_t)-1)
			v->uid = uid;
		if (gid != (gid_t)-1)
			v->gid = gid;
		vnode_touch(v, 0, 0, 1);
	}
	vfs_exit();
	attr_done(v);
	return err;
}
static long sys_chown(SYSARGS) { return do_chown(AT_FDCWD, (const char *)a0, a1, a2, 0, 0); }
static long sys_lchown(SYSARGS)
{
	return do_chown(AT_FDCWD, (const char *)a0, a1, a2, AT_SYMLINK_NOFOLLOW, 0);
}
static long sys_fchown(SYSARGS) { return do_chown((int)a0, NULL, a1, a2, 0, 1); }
static long sys_fchownat(SYSARGS)
{
	return do_chown((int)a0, (const char *)a1, a2, a3, (int)a4, 0);
}
SYSCALL_REGISTER(SYS_chown, sys_chown, FULL, "");
SYSCALL_REGISTER(SYS_lchown, sys_lchown, FULL, "");
SYSCALL_REGISTER(SYS_fchown, sys_fchown, FULL, "");
SYSCALL_REGISTER(SYS_fchownat, sys_fchownat, FULL, "");

static long sys_utimensat(SYSARGS)
{
	int dirfd = (int)a0, flags = (int)a3;
	const char *path = (const char *)a1;
	const struct timespec *ts = (const struct timespec *)a2;
	struct vnode *v;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	for (int i = 0; ts && i < 2; i++)
		if (ts[i].tv_nsec != UTIME_NOW && ts[i].tv_nsec != UTIME_OMIT &&
		    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000))
			return -EINVAL;
	int fdonly = (path == NULL) || (path[0] == '\0' && (flags & AT_EMPTY_PATH));
	if (fdonly && dirfd == AT_FDCWD && path == NULL)
		return -EFAULT;
	int err = attr_target(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, fdonly, &v);
	if (err || v == NULL)
		return err;
	vfs_enter();
	if ((err = vnode_rofs(v)) != 0) {
		vfs_exit();
		attr_done(v);
		return err;
	}
	int64_t ns = time_wall_ns();
	struct timespec now = {ns / 1000000000, ns % 1000000000};
	struct timespec *dst[2] = {&v->atime, &v->mtime};
	for (int i = 0; i < 2; i++) {
		if (ts == NULL || ts[i].tv_nsec == UTIME_NOW)
			*dst[i] = now;
		else if (ts[i].tv_nsec != UTIME_OMIT)
			*dst[i] = ts[i];
	}
	v->ctime = now;
	vfs_exit();
	attr_done(v);
	return 0;
}
SYSCALL_REGISTER(SYS_utimensat, sys_utimensat, FULL, "");

static long do_faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct vnode *v;
	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (path && path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		int err = attr_target(dirfd, path, 0, 1, &v);
		if (err || v == NULL)
			return err;
		vfs_enter();
		err = vnode_access(v, mode);
		vfs_exit();
		attr_done(v);
		return err;
	}
	int err =
	    vfs_lookup_begin(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? NAMEI_NOFOLLOW : 0, &v);
	if (err)
		return err;
	err = vnode_access(v, mode);
	vfs_lookup_done(v);
	return err;
}
static long sys_access(SYSARGS) { return do_faccessat(AT_FDCWD, (const char *)a0, (int)a1, 0); }
static long sys_faccessat(SYSARGS) { return do_faccessat((int)a0, (const char *)a1, (int)a2, 0); }
static long sys_faccessat2(SYSARGS)
{
	return do_faccessat((int)a0, (const char *)a1, (int)a2, (int)a3);
}
SYSCALL_REGISTER(SYS_access, sys_access, FULL, "root: only X is checked");
SYSCALL_REGISTER(SYS_faccessat, sys_faccessat, FULL, "as access");
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
SYSCALL_REGISTER(SYS_faccessat2, sys_faccessat2, FULL, "as access");

/* Sizes and syncing */

static long sys_truncate(SYSARGS)
{
	const char *path = (const char *)a0;
	off_t len = a1;
	struct vnode *v;
	if (len < 0)
		return -EINVAL;
	int err = vfs_lookup_begin(AT_FDCWD, path, 0, &v);
	if (err)
		return err;
	if (S_ISDIR(v->mode))
		err = -EISDIR;
	else if (!S_ISREG(v->mode))
		err = -EINVAL;
	else if ((err = vnode_rofs(v)) != 0)
		;
	else if ((err = v->ops->truncate(v, len)) == 0)
		vnode_touch(v, 0, 1, 1);
	vfs_lookup_done(v);
	return err;
}
SYSCALL_REGISTER(SYS_truncate, sys_truncate, FULL, "");

static long sys_ftruncate(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	int err;
	if (f->flags & O_PATH)
		err = -EBADF;
	else if (a1 < 0)
		err = -EINVAL;
	else
		err = f->ops->truncate ? f->ops->truncate(f, a1) : -EINVAL;
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_ftruncate, sys_ftruncate, FULL, "");
