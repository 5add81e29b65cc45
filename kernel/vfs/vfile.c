/*
 * Open files on vnodes: regular files, directories and O_PATH handles.
 * f->priv is the vnode, held for the life of the file.
 */
#include "vfs_impl.h"
#include <poll.h>

static int can_read(struct file *f)
{
	return !(f->flags & O_PATH) && (f->flags & O_ACCMODE) != O_WRONLY;
}

static int can_write(struct file *f)
{
	return !(f->flags & O_PATH) && (f->flags & O_ACCMODE) != O_RDONLY;
}

static ssize_t reg_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct vnode *v = f->priv;
	if (!can_read(f))
		return -EBADF;
	if (*pos < 0)
		return -EINVAL;
	vfs_enter();
	ssize_t n = v->ops->read(v, buf, len, *pos);
	if (n > 0)
		*pos += n;
	vnode_touch(v, 1, 0, 0);
	vfs_exit();
	return n;
}

static ssize_t reg_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct vnode *v = f->priv;
	if (!can_write(f))
		return -EBADF;
	vfs_enter();
	if (f->flags & O_APPEND)
		*pos = v->size;
	ssize_t n;
	if (*pos < 0)
		n = -EINVAL;
	else
		n = v->ops->write(v, buf, len, *pos);
	if (n > 0) {
		*pos += n;
		vnode_touch(v, 0, 1, 1);
		/* O_SYNC and O_DSYNC (O_DSYNC's bit is part of O_SYNC's): stable
		 * before the write returns. */
		if ((f->flags & O_DSYNC) && v->ops->fsync) {
			int err = v->ops->fsync(v, (f->flags & O_SYNC) != O_SYNC);
			if (err)
				n = err;
		}
	}
	vfs_exit();
	return n;
}

static off_t vfile_seek(struct file *f, off_t off, int whence)
{
	struct vnode *v = f->priv;
	off_t base, res;
	if (f->flags & O_PATH)
		return -EBADF;
	vfs_enter();
	off_t size = v->size;
	vfs_exit();
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->pos;
		break;
	case SEEK_END:
		base = size;
		break;
	case 3: /* SEEK_DATA: all of a file is data here */
	case 4: /* SEEK_HOLE: the only hole is at the end */
		if (!S_ISREG(v->mode))
			return -EINVAL;
		if (off < 0 || off >= size)
			return -ENXIO;
		f->pos = (whence == 3) ? off : size;
		return f->pos;
	default:
		return -EINVAL;
	}
	if (__builtin_add_overflow(base, off, &res) || res < 0)
		return -EINVAL;
	f->pos = res;
	return res;
}

static int vfile_stat(struct file *f, struct stat *st)
{
	vfs_enter();
	vnode_stat(f->priv, st);
	vfs_exit();
	return 0;
}

static int reg_poll(struct file *f, int events)
{
	return events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
}

static int reg_truncate(struct file *f, off_t len)
{
	struct vnode *v = f->priv;
	if (!can_write(f) || len < 0)
		return -EINVAL;
	vfs_enter();
	int err = v->ops->truncate(v, len);
	if (err == 0)
		vnode_touch(v, 0, 1, 1);
	vfs_exit();
	return err;
}

static int reg_getpage(struct file *f, off_t off, void **page)
{
	struct vnode *v = f->priv;
	if (!v->ops->getpage)
		return -ENODEV;
	vfs_enter();
	int err = v->ops->getpage(v, off, page);
	vfs_exit();
	return err;
}

static void reg_putpage(struct file *f, off_t off, int flags)
{
	struct vnode *v = f->priv;
	vfs_enter();
	v->ops->putpage(v, off, flags);
	vfs_exit();
}

static int vfile_fsync_how(struct file *f, int datasync)
{
	if (f->flags & O_PATH)
		return -EBADF;
	struct vnode *v = f->priv;
	int err = 0;
	vfs_enter();
	if (v->ops->fsync && !vnode_rofs(v))
		err = v->ops->fsync(v, datasync);
	vfs_exit();
	return err;
}

static int vfile_fsync(struct file *f) { return vfile_fsync_how(f, 0); }

static void vfile_release(struct file *f)
{
	vfs_enter();
	vnode_rele(f->priv);
	vfs_exit();
}

static ssize_t dir_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	return (f->flags & O_PATH) ? -EBADF : -EISDIR;
}

static ssize_t dir_write(struct file *f, const void *buf, size_t len, off_t *pos) { return -EBADF; }

static ssize_t path_rw(struct file *f, void *buf, size_t len, off_t *pos) { return -EBADF; }

static ssize_t path_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	return -EBADF;
}

static long path_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	return (f->flags & O_PATH) ? -EBADF : -ENOTTY;
}

const struct file_ops vfs_reg_ops = {
    .read = reg_read,
    .write = reg_write,
    .ioctl = path_ioctl,
    .seek = vfile_seek,
    .stat = vfile_stat,
    .poll = reg_poll,
    .truncate = reg_truncate,
    .fsync = vfile_fsync,
    .getpage = reg_getpage,
    .putpage = reg_putpage,
    .release = vfile_release,
};

const struct file_ops vfs_dir_ops = {
    .read = dir_read,
    .write = dir_write,
    .ioctl = path_ioctl,
    .seek = vfile_seek,
    .stat = vfile_stat,
    .poll = reg_poll,
    .fsync = vfile_fsync,
    .release = vfile_release,
};

/* O_PATH handles on anything, and symlinks opened with O_PATH|O_NOFOLLOW. */
const struct file_ops vfs_path_ops = {
    .read = path_rw,
    .write = path_write,
    .ioctl = path_ioctl,
    .stat = vfile_stat,
    .release = vfile_release,
};

struct vnode *vfs_file_vnode(struct file *f)
{
	if (f->ops == &vfs_reg_ops || f->ops == &vfs_dir_ops || f->ops == &vfs_path_ops)
		return f->priv;
	return NULL;
}

/* Called locked; takes its own reference on v. */
int vfile_open(struct vnode *v, int flags, struct file **fp)
{
	const struct file_ops *ops;
	if (flags & O_PATH)
		ops = &vfs_path_ops;
	else if (S_ISDIR(v->mode))
		ops = &vfs_dir_ops;
	else if (S_ISREG(v->mode))
		ops = &vfs_reg_ops;
	else
		return -ENXIO;
	struct file *f = file_new(ops, flags, v);
	if (f == NULL)
		return -ENOMEM;
	vnode_hold(v);
	*fp = f;
	return 0;
}
