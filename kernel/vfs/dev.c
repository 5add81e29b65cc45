/*
 * /dev: device nodes and the memory devices (null, zero, full, random,
 * urandom), plus /dev/console and /dev/tty for the console file.
 */
#include "vfs_impl.h"
#include <poll.h>
#include <sys/sysmacros.h>

int vfs_register_device(const char *name, mode_t perm, const struct vfs_device *dev)
{
	struct vnode *d, *v;
	int err;
	vfs_enter();
	d = vfs_root->ops->lookup(vfs_root, "dev", 3);
	if (d == NULL || !S_ISDIR(d->mode)) {
		err = -ENOENT;
		goto out;
	}
	if (d->ops->lookup(d, name, strlen(name))) {
		err = -EEXIST;
		goto out;
	}
	mode_t type = (perm & S_IFMT) == S_IFBLK ? S_IFBLK : S_IFCHR;
	err = d->ops->create(d, name, strlen(name), type | (perm & 07777), NULL, &v);
	if (err == 0) {
		v->dev = dev;
		v->rdev = dev->rdev;
	}
out:
	vfs_exit();
	return err;
}

enum memdev { DEV_NULL, DEV_ZERO, DEV_FULL, DEV_RANDOM, DEV_URANDOM };

static int memdev_kind(struct file *f)
{
	return (int)(long)((const struct vfs_device *)f->priv)->priv;
}

static ssize_t memdev_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	switch (memdev_kind(f)) {
	case DEV_NULL:
		return 0;
	case DEV_ZERO:
	case DEV_FULL:
		memset(buf, 0, len);
		return len;
	default: {
		int flags =
		    memdev_kind(f) == DEV_RANDOM ? RUMPUSER_RANDOM_HARD : RUMPUSER_RANDOM_NOWAIT;
		size_t done = 0;
		while (done < len) {
			rumpuser_size_t got = 0;
			int err = rumpuser_getrandom((char *)buf + done, len - done, flags, &got);
			if (err)
				return done ? (ssize_t)done : -err;
			if (got == 0)
				break;
			done += got;
		}
		return done;
	}
	}
}

static ssize_t memdev_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return memdev_kind(f) == DEV_FULL ? -ENOSPC : (ssize_t)len;
}

static off_t memdev_seek(struct file *f, off_t off, int whence)
{
	f->pos = 0;
	return 0;
}

static int memdev_stat(struct file *f, struct stat *st)
{
	const struct vfs_device *dev = f->priv;
	memset(st, 0, sizeof(*st));
	st->st_dev = 1;
	st->st_mode = S_IFCHR | 0666;
	st->st_nlink = 1;
	st->st_rdev = dev->rdev;
	st->st_blksize = PAGE_SIZE;
	return 0;
}

static int memdev_poll(struct file *f, int events)
{
	return events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
}

static const struct file_ops memdev_ops = {
    .read = memdev_read,
    .write = memdev_write,
    .seek = memdev_seek,
    .stat = memdev_stat,
    .poll = memdev_poll,
};

static int memdev_open(const struct vfs_device *dev, int flags, struct file **fp)
{
	*fp = file_new(&memdev_ops, flags, (void *)dev);
	return *fp ? 0 : -ENOMEM;
}

static int console_dev_open(const struct vfs_device *dev, int flags, struct file **fp)
{
	*fp = console_open(flags);
	return *fp ? 0 : -ENOMEM;
}

static const struct vfs_device devices[] = {
    {memdev_open, makedev(1, 3), (void *)DEV_NULL},
    {memdev_open, makedev(1, 5), (void *)DEV_ZERO},
    {memdev_open, makedev(1, 7), (void *)DEV_FULL},
    {memdev_open, makedev(1, 8), (void *)DEV_RANDOM},
    {memdev_open, makedev(1, 9), (void *)DEV_URANDOM},
    {console_dev_open, makedev(5, 1), NULL},
    {console_dev_open, makedev(5, 0), NULL},
};
static const char *const names[] = {
    "null",
    "zero",
    "full",
    "random",
    "urandom",
    "console",
    "tty",
};

void dev_populate(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(devices); i++)
		if (vfs_register_device(names[i], i < 5 ? 0666 : 0620, &devices[i]))
			panic("vfs: cannot create /dev/%s", names[i]);
}
