/* Open file descriptions and the descriptor table. */
#include <kernel/kernel.h>
#include <kernel/file.h>

static struct file *fdtab[FD_MAX];
static unsigned char fdcloexec[FD_MAX];

struct file *file_new(const struct file_ops *ops, int flags, void *priv)
{
	struct file *f = kzalloc(sizeof(*f));

	if (f) {
		f->ops = ops;
		f->flags = flags;
		f->refs = 1;
		f->priv = priv;
	}
	return f;
}

void file_hold(struct file *f)
{
	f->refs++;
}

void file_drop(struct file *f)
{
	if (--f->refs > 0)
		return;
	if (f->ops->release)
		f->ops->release(f);
	kfree(f, sizeof(*f));
}

int fd_install(struct file *f, int minfd, int cloexec)
{
	int fd;

	for (fd = minfd < 0 ? 0 : minfd; fd < FD_MAX; fd++) {
		if (!fdtab[fd]) {
			fdtab[fd] = f;
			fdcloexec[fd] = cloexec != 0;
			return fd;
		}
	}
	return -EMFILE;
}

int fd_install_at(struct file *f, int fd, int cloexec)
{
	struct file *old;

	if (fd < 0 || fd >= FD_MAX)
		return -EBADF;
	old = fdtab[fd];
	fdtab[fd] = f;
	fdcloexec[fd] = cloexec != 0;
	if (old)
		file_drop(old);
	return fd;
}

struct file *fd_get(int fd)
{
	struct file *f;

	if (fd < 0 || fd >= FD_MAX || !(f = fdtab[fd]))
		return NULL;
	file_hold(f);
	return f;
}

int fd_close(int fd)
{
	struct file *f;

	if (fd < 0 || fd >= FD_MAX || !(f = fdtab[fd]))
		return -EBADF;
	fdtab[fd] = NULL;
	file_drop(f);
	return 0;
}

int fd_cloexec(int fd)
{
	return fd >= 0 && fd < FD_MAX && fdcloexec[fd];
}

void fd_set_cloexec(int fd, int on)
{
	if (fd >= 0 && fd < FD_MAX)
		fdcloexec[fd] = on != 0;
}
