/*
 * Directories as a program walks them: getdents64, getcwd, chdir, fchdir,
 * and the umask.  Linux x86_64 semantics and errors.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <dirent.h>

/* Reading directories */

struct dents {
	char *buf;
	size_t size, used;
	int full; /* an entry did not fit */
};

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

static int emit_dent(
    void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len)
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

static long sys_getdents64(SYSARGS)
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
		struct dents d = {(char *)a1, (size_t)a2, 0, 0};
		vfs_enter();
		off_t cookie = f->pos;
		if (v->nlink == 0 && cookie < 2)
			cookie = 2; /* a removed directory lists nothing */
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

static int match_ino(
    void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len)
{
	struct find_name *fn = arg;
	if (ino != fn->ino || (len <= 2 && vfs_is_dot(name, len)))
		return 0;
	fn->name = (char *)name;
	fn->len = len;
	return 1;
}

static long sys_getcwd(SYSARGS)
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
		struct find_name fn = {v->ino, NULL, 0};
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
	size_t n = PATH_MAX_LEN - pos; /* with the NUL */
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

static long set_cwd(struct vnode *v)
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

static long sys_chdir(SYSARGS)
{
	struct vnode *v;
	int err = vfs_lookup_begin(AT_FDCWD, (const char *)a0, 0, &v);
	if (err)
		return err;
	err = set_cwd(v); /* takes over the hold */
	vfs_exit();
	return err;
}
SYSCALL_REGISTER(SYS_chdir, sys_chdir, FULL, "");

static long sys_fchdir(SYSARGS)
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

static long sys_umask(SYSARGS)
{
	vfs_enter();
	mode_t old = vfs_umask;
	vfs_umask = a0 & 0777;
	vfs_exit();
	return old;
}
SYSCALL_REGISTER(SYS_umask, sys_umask, FULL, "");
