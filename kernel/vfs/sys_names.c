/*
 * Names: mkdir(at), mknod(at), rmdir, unlink(at), rename(at/at2),
 * link(at), symlink(at), readlink(at).  Linux x86_64 semantics and errors.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>

/* Directories, links, names */

/* Resolve the parent of path for a call that changes names. */
struct parent {
	struct vnode *start, *dir;
	const char *name;
	size_t len;
	int trailing;
};

/* On success the lock is held; leave with parent_done. */
static int parent_begin(int dirfd, const char *path, struct parent *p)
{
	int err = vfs_start_dir(dirfd, path, &p->start);
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

static void parent_done(struct parent *p)
{
	vnode_rele(p->dir);
	vnode_rele(p->start);
	vfs_exit();
}

/* Create a new node of type (S_IFDIR, S_IFREG) at path; EEXIST if taken. */
static long create_at(int dirfd, const char *path, mode_t type, mode_t mode)
{
	struct parent p;
	struct vnode *v;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	if (vfs_is_dot(p.name, p.len) || dir_lookup(p.dir, p.name, p.len))
		err = -EEXIST;
	else if (p.dir->nlink == 0)
		err = -ENOENT;
	else if ((err = vnode_rofs(p.dir)) == 0)
		err = p.dir->ops->create(
		    p.dir, p.name, p.len, type | (mode & 07777 & ~vfs_umask), NULL, &v);
	parent_done(&p);
	return err;
}

static long do_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return create_at(dirfd, path, S_IFDIR, mode);
}

static long sys_mkdir(SYSARGS) { return do_mkdirat(AT_FDCWD, (const char *)a0, (mode_t)a1); }
static long sys_mkdirat(SYSARGS) { return do_mkdirat((int)a0, (const char *)a1, (mode_t)a2); }
SYSCALL_REGISTER(SYS_mkdir, sys_mkdir, FULL, "");
SYSCALL_REGISTER(SYS_mkdirat, sys_mkdirat, FULL, "");

static long do_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	mode_t type = mode & S_IFMT;
	if (type != 0 && type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO &&
	    type != S_IFSOCK)
		return -EINVAL;
	if (type != 0 && type != S_IFREG)
		return -EPERM; /* no FIFOs, sockets or devices by name here */
	return create_at(dirfd, path, S_IFREG, mode);
}
static long sys_mknod(SYSARGS)
{
	return do_mknodat(AT_FDCWD, (const char *)a0, (mode_t)a1, (dev_t)a2);
}
static long sys_mknodat(SYSARGS)
{
	return do_mknodat((int)a0, (const char *)a1, (mode_t)a2, (dev_t)a3);
}
SYSCALL_REGISTER(
    SYS_mknod, sys_mknod, PARTIAL, "regular files only; FIFOs, sockets and devices EPERM");
SYSCALL_REGISTER(SYS_mknodat, sys_mknodat, PARTIAL, "as mknod");

static long do_rmdir(int dirfd, const char *path)
{
	struct parent p;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	struct vnode *v = NULL;
	if (p.len == 1 && p.name[0] == '.')
		err = path[strspn(path, "/")] == '\0' ? -EBUSY : -EINVAL;
	else if (vfs_is_dot(p.name, p.len))
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

static long do_unlink(int dirfd, const char *path)
{
	struct parent p;
	int err = parent_begin(dirfd, path, &p);
	if (err)
		return err;
	struct vnode *v = NULL;
	if (vfs_is_dot(p.name, p.len))
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
static long sys_unlinkat(SYSARGS)
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

static long do_renameat2(
    int odirfd, const char *opath, int ndirfd, const char *npath, unsigned flags)
{
	struct vnode *ostart, *nstart, *od = NULL, *nd = NULL;
	const char *oname, *nname;
	size_t olen, nlen;
	int otrail, ntrail, err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (flags & (RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((err = vfs_start_dir(odirfd, opath, &ostart)) != 0)
		return err;
	if ((err = vfs_start_dir(ndirfd, npath, &nstart)) != 0) {
		vfs_release(ostart);
		return err;
	}
	vfs_enter();
	if ((err = namei_parent(ostart, opath, &od, &oname, &olen, &otrail)) != 0)
		goto out;
	if ((err = namei_parent(nstart, npath, &nd, &nname, &nlen, &ntrail)) != 0)
		goto out;
	if (vfs_is_dot(oname, olen) || vfs_is_dot(nname, nlen)) {
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
		goto out; /* the same file: nothing to do */
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
			if (a == vfs_root || a->parent == a || (a->mount && a == a->mount->root))
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

static long sys_rename(SYSARGS)
{
	return do_renameat2(AT_FDCWD, (const char *)a0, AT_FDCWD, (const char *)a1, 0);
}
static long sys_renameat(SYSARGS)
{
	return do_renameat2((int)a0, (const char *)a1, (int)a2, (const char *)a3, 0);
}
static long sys_renameat2(SYSARGS)
{
	return do_renameat2((int)a0, (const char *)a1, (int)a2, (const char *)a3, (unsigned)a4);
}
SYSCALL_REGISTER(SYS_rename, sys_rename, FULL, "");
SYSCALL_REGISTER(SYS_renameat, sys_renameat, FULL, "");
SYSCALL_REGISTER(SYS_renameat2, sys_renameat2, PARTIAL,
    "RENAME_NOREPLACE; RENAME_EXCHANGE and RENAME_WHITEOUT EINVAL");

static long do_linkat(int odirfd, const char *opath, int ndirfd, const char *npath, int flags)
{
	struct vnode *ov = NULL;
	struct parent p;
	int err;
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (opath && opath[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		if ((err = vfs_fd_vnode(odirfd, &ov)) != 0)
			return err;
		if (ov == NULL)
			return -EPERM;
	} else {
		err = vfs_lookup_begin(
		    odirfd, opath, (flags & AT_SYMLINK_FOLLOW) ? 0 : NAMEI_NOFOLLOW, &ov);
		if (err)
			return err;
		vfs_exit(); /* keep ov's hold for the second lookup */
	}
	if ((err = parent_begin(ndirfd, npath, &p)) != 0) {
		vfs_release(ov);
		return err;
	}
	if (S_ISDIR(ov->mode))
		err = -EPERM;
	else if (vfs_is_dot(p.name, p.len) || dir_lookup(p.dir, p.name, p.len))
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

static long sys_link(SYSARGS)
{
	return do_linkat(AT_FDCWD, (const char *)a0, AT_FDCWD, (const char *)a1, 0);
}
static long sys_linkat(SYSARGS)
{
	return do_linkat((int)a0, (const char *)a1, (int)a2, (const char *)a3, (int)a4);
}
SYSCALL_REGISTER(SYS_link, sys_link, FULL, "");
SYSCALL_REGISTER(SYS_linkat, sys_linkat, FULL, "");

static long do_symlinkat(const char *target, int dirfd, const char *path)
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
	if (vfs_is_dot(p.name, p.len) || dir_lookup(p.dir, p.name, p.len))
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
static long sys_symlink(SYSARGS)
{
	return do_symlinkat((const char *)a0, AT_FDCWD, (const char *)a1);
}
static long sys_symlinkat(SYSARGS)
{
	return do_symlinkat((const char *)a0, (int)a1, (const char *)a2);
}
SYSCALL_REGISTER(SYS_symlink, sys_symlink, FULL, "");
SYSCALL_REGISTER(SYS_symlinkat, sys_symlinkat, FULL, "");

static long do_readlinkat(int dirfd, const char *path, char *buf, long size)
{
	struct vnode *v;
	long n = 0;
	if (size <= 0)
		return -EINVAL;
	int err = vfs_lookup_begin(dirfd, path, NAMEI_NOFOLLOW, &v);
	if (err)
		return err;
	if (!S_ISLNK(v->mode)) {
		err = -EINVAL;
	} else {
		n = strlen(v->target);
		if (n > size)
			n = size;
		memcpy(buf, v->target, n);
		vnode_touch(v, 1, 0, 0);
	}
	vfs_lookup_done(v);
	return err ? err : n;
}
static long sys_readlink(SYSARGS)
{
	return do_readlinkat(AT_FDCWD, (const char *)a0, (char *)a1, a2);
}
static long sys_readlinkat(SYSARGS)
{
	return do_readlinkat((int)a0, (const char *)a1, (char *)a2, a3);
}
SYSCALL_REGISTER(SYS_readlink, sys_readlink, FULL, "");
SYSCALL_REGISTER(SYS_readlinkat, sys_readlinkat, FULL, "");
