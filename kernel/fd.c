/*
 * Open file descriptions and descriptor tables.  Each program has its own
 * table (its lwps point at it); code running outside any program (boot,
 * tests in a process) uses the boot table.
 */
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <kernel/thread.h>

struct fdtable {
	struct file *files[FD_MAX];
	unsigned char cloexec[FD_MAX];
};

static struct fdtable boot_table;

static struct fdtable *current(void)
{
	struct lwp *l = curlwp();

	return l && l->fds ? l->fds : &boot_table;
}

#define fdtab (current()->files)
#define fdcloexec (current()->cloexec)

struct fdtable *fdtable_boot(void)
{
	return &boot_table;
}

struct fdtable *fdtable_copy(const struct fdtable *from)
{
	struct fdtable *t = kzalloc(sizeof(*t));
	int fd;

	if (!t)
		return NULL;
	for (fd = 0; fd < FD_MAX; fd++) {
		if ((t->files[fd] = from->files[fd]) != NULL)
			file_hold(t->files[fd]);
		t->cloexec[fd] = from->cloexec[fd];
	}
	return t;
}

void fdtable_free(struct fdtable *t)
{
	fdtable_close_all(t);
	kfree(t, sizeof(*t));
}

void fdtable_close_all(struct fdtable *t)
{
	int fd;

	for (fd = 0; fd < FD_MAX; fd++) {
		if (t->files[fd]) {
			struct file *f = t->files[fd];

			t->files[fd] = NULL;
			file_drop(f);
		}
	}
}

int fdtable_install_at(struct fdtable *t, struct file *f, int fd)
{
	if (t->files[fd])
		file_drop(t->files[fd]);
	t->files[fd] = f;
	t->cloexec[fd] = 0;
	return fd;
}

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
