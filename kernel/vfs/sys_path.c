/*
 * The system calls on paths and on the files behind them: open and the
 * stat family, directories, links and names, attributes, the current
 * directory.  Linux x86_64 semantics and errors.
 *
 * Pattern: resolve the start directory (vfs_at_dir, no lock), then do the
 * work under vfs_lock, then install descriptors (fd_*) with no VFS lock
 * held, since closing a descriptor may take vfs_lock.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <dirent.h>

#ifndef ST_RDONLY
#define ST_RDONLY 0x0001	/* <sys/statvfs.h>'s, and Linux's f_flags */
#endif
#ifndef ST_VALID
#define ST_VALID 0x0020	/* f_flags is meaningful */
#endif

static int
is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/* The held start directory for path relative to dirfd. */
static int
start_dir(int dirfd, const char *path, struct vnode **dvp)
{
	if (path == NULL)
		return -EFAULT;
	if (path[0] == '/') {
		vfs_enter();
		vnode_hold(vfs_root);
		vfs_exit();
		*dvp = vfs_root;
		return 0;
	}
	return vfs_at_dir(dirfd, dvp);
}

static void
release_dir(struct vnode *d)
{
	vfs_enter();
	vnode_rele(d);
	vfs_exit();
}

/* open */

#define OPEN_KEEP_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_PATH | \
	O_SYNC | O_DSYNC | O_DIRECT | O_NOATIME | O_ASYNC)

static long
do_open(int dirfd, const char *path, int flags, mode_t mode)
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
	if ((err = start_dir(dirfd, path, &dir)) != 0)
		return err;
	vfs_enter();
	if (flags & O_CREAT) {
		struct vnode *d;
		const char *name;
		size_t len;
		int trailing;
		if ((err = namei_parent(dir, path, &d, &name, &len, &trailing)) != 0)
			goto out;
		struct vnode *e = dir_lookup(d, name, len);
		if (e && (flags & O_EXCL)) {
			err = -EEXIST;
		} else if (e == NULL) {
			if (trailing)
				err = -EISDIR;
			else if (d->nlink == 0)
				err = -ENOENT;
			else if ((err = vnode_rofs(d)) != 0)
				;
			else if ((err = d->ops->create(d, name, len,
			    S_IFREG | (mode & 07777 & ~vfs_umask), NULL, &v)) == 0)
				vnode_hold(v);
		} else if (trailing && !S_ISDIR(e->mode) && !S_ISLNK(e->mode)) {
			err = -EISDIR;
		} else if (S_ISLNK(e->mode)) {
			if (flags & O_NOFOLLOW)
				err = -ELOOP;
			else
				err = namei(dir, path, 0, &v);
		} else {
			v = vnode_cross(e);
			vnode_hold(v);
		}
		vnode_rele(d);
	} else {
		err = namei(dir, path, (flags & O_NOFOLLOW) ? NAMEI_NOFOLLOW : 0, &v);
	}
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
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) &&
	    (err = vnode_rofs(v)) != 0)
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

/* The stat family */

static int
fstat_file(int fd, struct stat *st)
{
	struct file *f = fd_get(fd);
	if (f == NULL)
		return -EBADF;
	int err = 0;
	if (f->ops->stat) {
		err = f->ops->stat(f, st);
	} else {
		memset(st, 0, sizeof(*st));
		st->st_blksize = PAGE_SIZE;
	}
	file_drop(f);
	return err;
}

static int
do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct vnode *dir, *v;
	int err;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if (st == NULL)
		return -EFAULT;
	if (path && path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		if (dirfd == AT_FDCWD) {
			vfs_enter();
			vnode_stat(vfs_cwd, st);
			vfs_exit();
			return 0;
		}
		return fstat_file(dirfd, st);
	}
	if ((err = start_dir(dirfd, path, &dir)) != 0)
		return err;
	vfs_enter();
	err = namei(dir, path, (flags & AT_SYMLINK_NOFOLLOW) ? NAMEI_NOFOLLOW : 0, &v);
	if (err == 0) {
		vnode_stat(v, st);
		vnode_rele(v);
	}
	vnode_rele(dir);
	vfs_exit();
	return err;
}

static long sys_stat(SYSARGS) { return do_fstatat(AT_FDCWD, (const char *)a0, (struct stat *)a1, 0); }
static long sys_lstat(SYSARGS)
{
	return do_fstatat(AT_FDCWD, (const char *)a0, (struct stat *)a1, AT_SYMLINK_NOFOLLOW);
}
static long sys_fstat(SYSARGS)
{
	if (a1 == 0)
		return -EFAULT;
	return fstat_file((int)a0, (struct stat *)a1);
}
static long sys_newfstatat(SYSARGS)
{
	return do_fstatat((int)a0, (const char *)a1, (struct stat *)a2, (int)a3);
}
SYSCALL_REGISTER(SYS_stat, sys_stat, FULL, "");
SYSCALL_REGISTER(SYS_lstat, sys_lstat, FULL, "");
SYSCALL_REGISTER(SYS_fstat, sys_fstat, FULL, "");
SYSCALL_REGISTER(SYS_newfstatat, sys_newfstatat, FULL, "");

/* Linux's struct statx (include/uapi/linux/stat.h), 256 bytes. */
struct statx_ts {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct linux_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare2[14];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx is 256 bytes");
#define STATX_BASIC_STATS 0x7ffU

static long
sys_statx(SYSARGS)
{
	struct stat st;
	struct linux_statx *sx = (struct linux_statx *)a4;
	if (a3 & 0x80000000L)	/* STATX__RESERVED */
		return -EINVAL;
	if (sx == NULL)
		return -EFAULT;
	int err = do_fstatat((int)a0, (const char *)a1, &st, (int)a2);
	if (err)
		return err;
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = st.st_blksize;
	sx->stx_nlink = st.st_nlink;
	sx->stx_uid = st.st_uid;
	sx->stx_gid = st.st_gid;
	sx->stx_mode = st.st_mode;
	sx->stx_ino = st.st_ino;
	sx->stx_size = st.st_size;
	sx->stx_blocks = st.st_blocks;
#define TS(d, s) do { sx->d.tv_sec = st.s.tv_sec; sx->d.tv_nsec = st.s.tv_nsec; } while (0)
	TS(stx_atime, st_atim);
	TS(stx_mtime, st_mtim);
	TS(stx_ctime, st_ctim);
#undef TS
	sx->stx_rdev_major = major(st.st_rdev);
	sx->stx_rdev_minor = minor(st.st_rdev);
	sx->stx_dev_major = major(st.st_dev);
	sx->stx_dev_minor = minor(st.st_dev);
	return 0;
}
SYSCALL_REGISTER(SYS_statx, sys_statx, FULL, "");

/* Directories, links, names */

/* Resolve the parent of path for a call that changes names. */
struct parent {
	struct vnode *start, *dir;
	const char *name;
	size_t len;
	int trailing;
};

/* On success the lock is held; leave with parent_done. */
static int
parent_begin(int dirfd, const char *path, struct parent *p)
{
	int err = start_dir(dirfd, path, &p->start);
	if (err)
		return err;
	vfs_enter();
	err = namei_parent(p->start, path, &p->dir, &p->name, &p->len, &p->trailing);
	if (err) {
		vnode_rele(p->start);
		vfs_exit();
	}
	return err;
}

static void
parent_done(struct parent *p)
{
	vnode_rele(p->dir);
	vnode_rele(p->start);
	vfs_exit();
}

/* Create a new node of type (S_IFDIR, S_IFREG) at path; EEXIST if taken. */
static long
create_at(int dirfd, const char *path, mode_t type, mode_t mode)
{
	struct parent p;
	struct vnode *v;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	if (is_dot(p.name, p.len) || dir_lookup(p.dir, p.name, p.len))
		err = -EEXIST;
	else if (p.dir->nlink == 0)
		err = -ENOENT;
	else if ((err = vnode_rofs(p.dir)) == 0)
		err = p.dir->ops->create(p.dir, p.name, p.len,
		    type | (mode & 07777 & ~vfs_umask), NULL, &v);
	parent_done(&p);
	return err;
}

static long
do_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return create_at(dirfd, path, S_IFDIR, mode);
}

static long sys_mkdir(SYSARGS) { return do_mkdirat(AT_FDCWD, (const char *)a0, (mode_t)a1); }
static long sys_mkdirat(SYSARGS) { return do_mkdirat((int)a0, (const char *)a1, (mode_t)a2); }
SYSCALL_REGISTER(SYS_mkdir, sys_mkdir, FULL, "");
SYSCALL_REGISTER(SYS_mkdirat, sys_mkdirat, FULL, "");

static long
do_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	mode_t type = mode & S_IFMT;
	if (type != 0 && type != S_IFREG && type != S_IFCHR && type != S_IFBLK &&
	    type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	if (type != 0 && type != S_IFREG)
		return -EPERM;	/* no FIFOs, sockets or devices by name here */
	return create_at(dirfd, path, S_IFREG, mode);
}
static long sys_mknod(SYSARGS) { return do_mknodat(AT_FDCWD, (const char *)a0, (mode_t)a1, (dev_t)a2); }
static long sys_mknodat(SYSARGS) { return do_mknodat((int)a0, (const char *)a1, (mode_t)a2, (dev_t)a3); }
SYSCALL_REGISTER(SYS_mknod, sys_mknod, PARTIAL,
    "regular files only; FIFOs, sockets and devices EPERM");
SYSCALL_REGISTER(SYS_mknodat, sys_mknodat, PARTIAL, "as mknod");

static long
do_rmdir(int dirfd, const char *path)
{
	struct parent p;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	struct vnode *v = NULL;
	if (p.len == 1 && p.name[0] == '.')
		err = path[strspn(path, "/")] == '\0' ? -EBUSY : -EINVAL;
	else if (is_dot(p.name, p.len))
		err = -ENOTEMPTY;
	else if ((v = dir_lookup(p.dir, p.name, p.len)) == NULL)
		err = -ENOENT;
	else if (!S_ISDIR(v->mode))
		err = -ENOTDIR;
	else if (v == vfs_root || v->mounted)
		err = -EBUSY;
	else if ((err = vnode_rofs(p.dir)) != 0)
		;
	else if (!v->ops->isempty(v))
		err = -ENOTEMPTY;
	else
		err = p.dir->ops->unlink(p.dir, p.name, p.len, v);
	parent_done(&p);
	return err;
}

static long
do_unlink(int dirfd, const char *path)
{
	struct parent p;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	struct vnode *v = NULL;
	if (is_dot(p.name, p.len))
		err = -EISDIR;
	else if ((v = dir_lookup(p.dir, p.name, p.len)) == NULL)
		err = -ENOENT;
	else if (S_ISDIR(v->mode))
		err = -EISDIR;
	else if (p.trailing)
		err = -ENOTDIR;
	else if ((err = vnode_rofs(p.dir)) == 0)
		err = p.dir->ops->unlink(p.dir, p.name, p.len, v);
	parent_done(&p);
	return err;
}

static long sys_rmdir(SYSARGS) { return do_rmdir(AT_FDCWD, (const char *)a0); }
static long sys_unlink(SYSARGS) { return do_unlink(AT_FDCWD, (const char *)a0); }
static long
sys_unlinkat(SYSARGS)
{
	if (a2 & ~AT_REMOVEDIR)
		return -EINVAL;
	if (a2 & AT_REMOVEDIR)
		return do_rmdir((int)a0, (const char *)a1);
	return do_unlink((int)a0, (const char *)a1);
}
SYSCALL_REGISTER(SYS_rmdir, sys_rmdir, FULL, "");
SYSCALL_REGISTER(SYS_unlink, sys_unlink, FULL, "");
SYSCALL_REGISTER(SYS_unlinkat, sys_unlinkat, FULL, "");

#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4

static long
do_renameat2(int odirfd, const char *opath, int ndirfd, const char *npath, unsigned flags)
{
	struct vnode *ostart, *nstart, *od = NULL, *nd = NULL;
	const char *oname, *nname;
	size_t olen, nlen;
	int otrail, ntrail, err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (flags & (RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((err = start_dir(odirfd, opath, &ostart)) != 0)
		return err;
	if ((err = start_dir(ndirfd, npath, &nstart)) != 0) {
		release_dir(ostart);
		return err;
	}
	vfs_enter();
	if ((err = namei_parent(ostart, opath, &od, &oname, &olen, &otrail)) != 0)
		goto out;
	if ((err = namei_parent(nstart, npath, &nd, &nname, &nlen, &ntrail)) != 0)
		goto out;
	if (is_dot(oname, olen) || is_dot(nname, nlen)) {
		err = -EBUSY;
		goto out;
	}
	struct vnode *ov = dir_lookup(od, oname, olen);
	if (ov == NULL) {
		err = -ENOENT;
		goto out;
	}
	if ((otrail || ntrail) && !S_ISDIR(ov->mode)) {
		err = -ENOTDIR;
		goto out;
	}
	struct vnode *nv = dir_lookup(nd, nname, nlen);
	if (nv && (flags & RENAME_NOREPLACE)) {
		err = -EEXIST;
		goto out;
	}
	if (od->mount != nd->mount) {
		err = -EXDEV;
		goto out;
	}
	if (ov->mounted || (nv && nv->mounted)) {
		err = -EBUSY;
		goto out;
	}
	if ((err = vnode_rofs(od)) != 0)
		goto out;
	if (nv == ov)
		goto out;	/* the same file: nothing to do */
	if (S_ISDIR(ov->mode)) {
		if (nv && !S_ISDIR(nv->mode)) {
			err = -ENOTDIR;
			goto out;
		}
		if (nv && !nv->ops->isempty(nv)) {
			err = -ENOTEMPTY;
			goto out;
		}
		/* Not into itself or below itself. */
		for (struct vnode *a = nd;; a = a->parent) {
			if (a == ov) {
				err = -EINVAL;
				goto out;
			}
			if (a == vfs_root || a->parent == a ||
			    (a->mount && a == a->mount->root))
				break;
		}
		if (ov == vfs_root) {
			err = -EBUSY;
			goto out;
		}
	} else if (nv && S_ISDIR(nv->mode)) {
		err = -EISDIR;
		goto out;
	}
	if (nd->nlink == 0) {
		err = -ENOENT;
		goto out;
	}
	err = od->ops->rename(od, oname, olen, ov, nd, nname, nlen, nv);
out:
	if (od)
		vnode_rele(od);
	if (nd)
		vnode_rele(nd);
	vnode_rele(ostart);
	vnode_rele(nstart);
	vfs_exit();
	return err;
}

static long
sys_rename(SYSARGS)
{
	return do_renameat2(AT_FDCWD, (const char *)a0, AT_FDCWD, (const char *)a1, 0);
}
static long
sys_renameat(SYSARGS)
{
	return do_renameat2((int)a0, (const char *)a1, (int)a2, (const char *)a3, 0);
}
static long
sys_renameat2(SYSARGS)
{
	return do_renameat2((int)a0, (const char *)a1, (int)a2, (const char *)a3, (unsigned)a4);
}
SYSCALL_REGISTER(SYS_rename, sys_rename, FULL, "");
SYSCALL_REGISTER(SYS_renameat, sys_renameat, FULL, "");
SYSCALL_REGISTER(SYS_renameat2, sys_renameat2, PARTIAL,
    "RENAME_NOREPLACE; RENAME_EXCHANGE and RENAME_WHITEOUT EINVAL");

static long
do_linkat(int odirfd, const char *opath, int ndirfd, const char *npath, int flags)
{
	struct vnode *ostart, *ov = NULL;
	struct parent p;
	int err;
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (opath && opath[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		struct file *f = fd_get(odirfd);
		if (f == NULL)
			return -EBADF;
		ov = vfs_file_vnode(f);
		if (ov) {
			vfs_enter();
			vnode_hold(ov);
			vfs_exit();
		}
		file_drop(f);
		if (ov == NULL)
			return -EPERM;
	} else {
		if ((err = start_dir(odirfd, opath, &ostart)) != 0)
			return err;
		vfs_enter();
		err = namei(ostart, opath, (flags & AT_SYMLINK_FOLLOW) ? 0 : NAMEI_NOFOLLOW, &ov);
		vnode_rele(ostart);
		vfs_exit();
		if (err)
			return err;
	}
	if ((err = parent_begin(ndirfd, npath, &p)) != 0) {
		release_dir(ov);
		return err;
	}
	if (S_ISDIR(ov->mode))
		err = -EPERM;
	else if (is_dot(p.name, p.len) || dir_lookup(p.dir, p.name, p.len))
		err = -EEXIST;
	else if (p.trailing)
		err = -ENOENT;
	else if (ov->nlink == 0 || p.dir->nlink == 0)
		err = -ENOENT;
	else if (ov->mount != p.dir->mount)
		err = -EXDEV;
	else if ((err = vnode_rofs(p.dir)) == 0)
		err = p.dir->ops->link(p.dir, p.name, p.len, ov);
	vnode_rele(ov);
	parent_done(&p);
	return err;
}

static long
sys_link(SYSARGS)
{
	return do_linkat(AT_FDCWD, (const char *)a0, AT_FDCWD, (const char *)a1, 0);
}
static long
sys_linkat(SYSARGS)
{
	return do_linkat((int)a0, (const char *)a1, (int)a2, (const char *)a3, (int)a4);
}
SYSCALL_REGISTER(SYS_link, sys_link, FULL, "");
SYSCALL_REGISTER(SYS_linkat, sys_linkat, FULL, "");

static long
do_symlinkat(const char *target, int dirfd, const char *path)
{
	struct parent p;
	struct vnode *v;
	if (target == NULL)
		return -EFAULT;
	if (target[0] == '\0')
		return -ENOENT;
	if (strnlen(target, PATH_MAX_LEN) == PATH_MAX_LEN)
		return -ENAMETOOLONG;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	if (is_dot(p.name, p.len) || dir_lookup(p.dir, p.name, p.len))
		err = -EEXIST;
	else if (p.trailing)
		err = -ENOENT;
	else if (p.dir->nlink == 0)
		err = -ENOENT;
	else if ((err = vnode_rofs(p.dir)) == 0)
		err = p.dir->ops->create(p.dir, p.name, p.len, S_IFLNK | 0777, target, &v);
	parent_done(&p);
	return err;
}
static long sys_symlink(SYSARGS) { return do_symlinkat((const char *)a0, AT_FDCWD, (const char *)a1); }
static long sys_symlinkat(SYSARGS) { return do_symlinkat((const char *)a0, (int)a1, (const char *)a2); }
SYSCALL_REGISTER(SYS_symlink, sys_symlink, FULL, "");
SYSCALL_REGISTER(SYS_symlinkat, sys_symlinkat, FULL, "");

static long
do_readlinkat(int dirfd, const char *path, char *buf, long size)
{
	struct vnode *dir, *v;
	if (size <= 0)
		return -EINVAL;
	int err = start_dir(dirfd, path, &dir);
	if (err)
		return err;
	vfs_enter();
	err = namei(dir, path, NAMEI_NOFOLLOW, &v);
	long n = 0;
	if (err == 0) {
		if (!S_ISLNK(v->mode)) {
			err = -EINVAL;
		} else {
			n = strlen(v->target);
			if (n > size)
				n = size;
			memcpy(buf, v->target, n);
			vnode_touch(v, 1, 0, 0);
		}
		vnode_rele(v);
	}
	vnode_rele(dir);
	vfs_exit();
	return err ? err : n;
}
static long sys_readlink(SYSARGS) { return do_readlinkat(AT_FDCWD, (const char *)a0, (char *)a1, a2); }
static long sys_readlinkat(SYSARGS) { return do_readlinkat((int)a0, (const char *)a1, (char *)a2, a3); }
SYSCALL_REGISTER(SYS_readlink, sys_readlink, FULL, "");
SYSCALL_REGISTER(SYS_readlinkat, sys_readlinkat, FULL, "");

/* Attributes: mode, owner, times */

/*
 * The held vnode that an attribute call names: path from dirfd (following
 * the last link unless nofollow), or the file dirfd itself for an empty
 * path with AT_EMPTY_PATH or a NULL path (utimensat).  -EBADF for an
 * O_PATH file where Linux refuses one (fchmod, fchown).  For a descriptor
 * that is not a VFS file, *vp is NULL and the call succeeds vacuously.
 */
static int
attr_target(int dirfd, const char *path, int nofollow, int fdonly, struct vnode **vp)
{
	struct vnode *dir;
	int err;
	if (fdonly) {
		struct file *f = fd_get(dirfd);
		if (f == NULL)
			return -EBADF;
		struct vnode *v = vfs_file_vnode(f);
		if (v) {
			vfs_enter();
			vnode_hold(v);
			vfs_exit();
		}
		file_drop(f);
		*vp = v;
		return 0;
	}
	if ((err = start_dir(dirfd, path, &dir)) != 0)
		return err;
	vfs_enter();
	err = namei(dir, path, nofollow ? NAMEI_NOFOLLOW : 0, vp);
	vnode_rele(dir);
	vfs_exit();
	return err;
}

static void
attr_done(struct vnode *v)
{
	if (v)
		release_dir(v);
}

static long
do_chmod(int dirfd, const char *path, mode_t mode, int fdonly)
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

static long
do_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags, int fdonly)
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
static long sys_fchownat(SYSARGS) { return do_chown((int)a0, (const char *)a1, a2, a3, (int)a4, 0); }
SYSCALL_REGISTER(SYS_chown, sys_chown, FULL, "");
SYSCALL_REGISTER(SYS_lchown, sys_lchown, FULL, "");
SYSCALL_REGISTER(SYS_fchown, sys_fchown, FULL, "");
SYSCALL_REGISTER(SYS_fchownat, sys_fchownat, FULL, "");

static long
sys_utimensat(SYSARGS)
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
	struct timespec now = { ns / 1000000000, ns % 1000000000 };
	struct timespec *dst[2] = { &v->atime, &v->mtime };
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

static long
do_faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct vnode *dir, *v;
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
	int err = start_dir(dirfd, path, &dir);
	if (err)
		return err;
	vfs_enter();
	err = namei(dir, path, (flags & AT_SYMLINK_NOFOLLOW) ? NAMEI_NOFOLLOW : 0, &v);
	if (err == 0) {
		err = vnode_access(v, mode);
		vnode_rele(v);
	}
	vnode_rele(dir);
	vfs_exit();
	return err;
}
static long sys_access(SYSARGS) { return do_faccessat(AT_FDCWD, (const char *)a0, (int)a1, 0); }
static long sys_faccessat(SYSARGS) { return do_faccessat((int)a0, (const char *)a1, (int)a2, 0); }
static long sys_faccessat2(SYSARGS) { return do_faccessat((int)a0, (const char *)a1, (int)a2, (int)a3); }
SYSCALL_REGISTER(SYS_access, sys_access, FULL, "root: only X is checked");
SYSCALL_REGISTER(SYS_faccessat, sys_faccessat, FULL, "as access");
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
SYSCALL_REGISTER(SYS_faccessat2, sys_faccessat2, FULL, "as access");

/* Sizes and syncing */

static long
sys_truncate(SYSARGS)
{
	const char *path = (const char *)a0;
	off_t len = a1;
	struct vnode *dir, *v;
	if (len < 0)
		return -EINVAL;
	int err = start_dir(AT_FDCWD, path, &dir);
	if (err)
		return err;
	vfs_enter();
	err = namei(dir, path, 0, &v);
	if (err == 0) {
		if (S_ISDIR(v->mode))
			err = -EISDIR;
		else if (!S_ISREG(v->mode))
			err = -EINVAL;
		else if ((err = vnode_rofs(v)) != 0)
			;
		else if ((err = v->ops->truncate(v, len)) == 0)
			vnode_touch(v, 0, 1, 1);
		vnode_rele(v);
	}
	vnode_rele(dir);
	vfs_exit();
	return err;
}
SYSCALL_REGISTER(SYS_truncate, sys_truncate, FULL, "");

static long
sys_ftruncate(SYSARGS)
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

static long
sys_fsync(SYSARGS)
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
static long sys_sync(SYSARGS) { vfs_sync_all(); return 0; }
SYSCALL_REGISTER(SYS_sync, sys_sync, FULL, "writes back every mounted file system");
static long
sys_syncfs(SYSARGS)
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

void
vfs_fill_statfs_tmpfs(struct statfs *sf)
{
	char buf[32];
	unsigned long long mem = 256ULL << 20;
	if (rumpuser_getparam(RUMPRUN_PARAM_MEMSIZE, buf, sizeof(buf)) == 0) {
		mem = 0;
		for (char *p = buf; *p >= '0' && *p <= '9'; p++)
			mem = mem * 10 + (*p - '0');
	}
	memset(sf, 0, sizeof(*sf));
	sf->f_type = 0x01021994;	/* TMPFS_MAGIC */
	sf->f_bsize = PAGE_SIZE;
	sf->f_frsize = PAGE_SIZE;
	sf->f_blocks = mem / PAGE_SIZE;
	sf->f_bfree = sf->f_bavail = mem / PAGE_SIZE / 2;
	sf->f_files = sf->f_ffree = mem / 1024;
	sf->f_namelen = NAME_MAX_LEN;
}

/* statfs of the file system holding v (locked). */
static int
fill_statfs(struct vnode *v, struct statfs *sf)
{
	struct mount *mp = v->mount;
	int err = 0;
	memset(sf, 0, sizeof(*sf));
	if (mp && mp->ops && mp->ops->statfs)
		err = mp->ops->statfs(mp, sf);
	else
		vfs_fill_statfs_tmpfs(sf);
	if (err)
		return err;
	if (mp && (mp->flags & MNT_RDONLY))
		sf->f_flags |= ST_RDONLY;
	sf->f_flags |= ST_VALID;
	dev_t dev = mp ? mp->dev : 1;
	sf->f_fsid.__val[0] = (int)dev;
	sf->f_fsid.__val[1] = (int)(dev >> 32);
	return 0;
}

static long
sys_statfs(SYSARGS)
{
	struct vnode *dir, *v;
	const char *path = (const char *)a0;
	if (a1 == 0)
		return -EFAULT;
	int err = start_dir(AT_FDCWD, path, &dir);
	if (err)
		return err;
	struct statfs sf;
	vfs_enter();
	err = namei(dir, path, 0, &v);
	if (err == 0) {
		err = fill_statfs(v, &sf);
		vnode_rele(v);
	}
	vnode_rele(dir);
	vfs_exit();
	if (err == 0)
		memcpy((void *)a1, &sf, sizeof(sf));
	return err;
}
static long
sys_fstatfs(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	struct vnode *v = vfs_file_vnode(f);
	struct statfs sf;
	int err = 0;
	if (a1 == 0) {
		err = -EFAULT;
	} else if (v) {
		vfs_enter();
		err = fill_statfs(v, &sf);
		vfs_exit();
	} else {
		memset(&sf, 0, sizeof(sf));
		vfs_fill_statfs_tmpfs(&sf);
	}
	file_drop(f);
	if (err == 0 && a1)
		memcpy((void *)a1, &sf, sizeof(sf));
	return err;
}
SYSCALL_REGISTER(SYS_statfs, sys_statfs, FULL, "the mount's figures (tmpfs: from the machine's memory)");
SYSCALL_REGISTER(SYS_fstatfs, sys_fstatfs, FULL, "as statfs");

/* Reading directories */

struct dents {
	char *buf;
	size_t size, used;
	int full;	/* an entry did not fit */
};

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

static int
emit_dent(void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len)
{
	struct dents *d = arg;
	size_t reclen = ROUNDUP(offsetof(struct linux_dirent64, d_name) + len + 1, 8);
	if (d->used + reclen > d->size) {
		d->full = 1;
		return 1;
	}
	struct linux_dirent64 *e = (struct linux_dirent64 *)(d->buf + d->used);
	e->d_ino = ino;
	e->d_off = next;
	e->d_reclen = reclen;
	e->d_type = type;
	memcpy(e->d_name, name, len);
	memset(e->d_name + len, 0, reclen - offsetof(struct linux_dirent64, d_name) - len);
	d->used += reclen;
	return 0;
}

static long
sys_getdents64(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	struct vnode *v = vfs_file_vnode(f);
	long ret;
	if (f->flags & O_PATH) {
		ret = -EBADF;
	} else if (v == NULL || !S_ISDIR(v->mode)) {
		ret = -ENOTDIR;
	} else {
		struct dents d = { (char *)a1, (size_t)a2, 0, 0 };
		vfs_enter();
		off_t cookie = f->pos;
		if (v->nlink == 0 && cookie < 2)
			cookie = 2;	/* a removed directory lists nothing */
		ret = v->ops->readdir(v, &cookie, emit_dent, &d);
		f->pos = cookie;
		vnode_touch(v, 1, 0, 0);
		vfs_exit();
		if (ret == 0)
			ret = d.full && d.used == 0 ? -EINVAL : (long)d.used;
	}
	file_drop(f);
	return ret;
}
SYSCALL_REGISTER(SYS_getdents64, sys_getdents64, FULL, "");

/* The current directory and the umask */

struct find_name {
	ino_t ino;
	char *name;
	size_t len;
};

static int
match_ino(void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len)
{
	struct find_name *fn = arg;
	if (ino != fn->ino || (len <= 2 && is_dot(name, len)))
		return 0;
	fn->name = (char *)name;
	fn->len = len;
	return 1;
}

static long
sys_getcwd(SYSARGS)
{
	char *buf = (char *)a0;
	size_t size = (size_t)a1;
	if (buf == NULL)
		return -EFAULT;
	char *tmp = kmalloc(PATH_MAX_LEN);
	if (tmp == NULL)
		return -ENOMEM;
	size_t pos = PATH_MAX_LEN - 1;
	long err = 0;
	tmp[pos] = '\0';
	vfs_enter();
	struct vnode *v = vfs_cwd;
	if (v->nlink == 0)
		err = -ENOENT;
	while (err == 0 && v != vfs_root) {
		if (v->mount && v == v->mount->root && v->mount->covered) {
			v = v->mount->covered;
			continue;
		}
		struct vnode *p = v->parent;
		struct find_name fn = { v->ino, NULL, 0 };
		off_t cookie = 2;
		p->ops->readdir(p, &cookie, match_ino, &fn);
		if (fn.name == NULL) {
			err = -ENOENT;
			break;
		}
		if (fn.len + 1 > pos) {
			err = -ENAMETOOLONG;
			break;
		}
		pos -= fn.len;
		memcpy(tmp + pos, fn.name, fn.len);
		tmp[--pos] = '/';
		v = p;
	}
	vfs_exit();
	if (err == 0 && pos == PATH_MAX_LEN - 1)
		tmp[--pos] = '/';
	size_t n = PATH_MAX_LEN - pos;	/* with the NUL */
	if (err == 0 && n > size)
		err = -ERANGE;
	if (err == 0) {
		memcpy(buf, tmp + pos, n);
		err = n;
	}
	kfree(tmp, PATH_MAX_LEN);
	return err;
}
SYSCALL_REGISTER(SYS_getcwd, sys_getcwd, FULL, "");

static long
set_cwd(struct vnode *v)
{
	/* Called locked with v held; consumes the hold. */
	int err = 0;
	if (!S_ISDIR(v->mode))
		err = -ENOTDIR;
	else if ((err = vnode_access(v, X_OK)) == 0) {
		struct vnode *old = vfs_cwd;
		vfs_cwd = v;
		vnode_rele(old);
		return 0;
	}
	vnode_rele(v);
	return err;
}

static long
sys_chdir(SYSARGS)
{
	const char *path = (const char *)a0;
	struct vnode *dir, *v;
	int err = start_dir(AT_FDCWD, path, &dir);
	if (err)
		return err;
	vfs_enter();
	err = namei(dir, path, 0, &v);
	if (err == 0)
		err = set_cwd(v);
	vnode_rele(dir);
	vfs_exit();
	return err;
}
SYSCALL_REGISTER(SYS_chdir, sys_chdir, FULL, "");

static long
sys_fchdir(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	struct vnode *v = vfs_file_vnode(f);
	int err;
	if (v == NULL) {
		err = -ENOTDIR;
	} else {
		vfs_enter();
		vnode_hold(v);
		err = set_cwd(v);
		vfs_exit();
	}
	file_drop(f);
	return err;
}
SYSCALL_REGISTER(SYS_fchdir, sys_fchdir, FULL, "");

static long
sys_umask(SYSARGS)
{
	vfs_enter();
	mode_t old = vfs_umask;
	vfs_umask = a0 & 0777;
	vfs_exit();
	return old;
}
SYSCALL_REGISTER(SYS_umask, sys_umask, FULL, "");
