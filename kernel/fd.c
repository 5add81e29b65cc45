/*
 * Open file descriptions and descriptor tables.  Each program has its own
 * table (its lwps point at it); code running outside any program (boot,
 * tests in a process) uses the boot table.
 *
 * A table grows on demand, doubling, up to its RLIMIT_NOFILE soft limit;
 * a bitmap of used slots finds the lowest free descriptor without walking
 * every slot.  Each table has a lock (threads of a program share it); a
 * file is never released with the lock held, since releasing can take
 * other locks (a socket's, the VFS's).
 */
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <kernel/thread.h>

#define BITS (8 * sizeof(unsigned long))
#define FIRST_SIZE 64

struct fdtable {
	struct rumpuser_mtx *lock;
	int size; /* slots */
	struct file **files;
	unsigned char *cloexec;
	unsigned long *used; /* size / BITS words */
	int next_free; /* no free slot below it */
	unsigned long soft, hard; /* RLIMIT_NOFILE */
};

static struct fdtable boot_table;

static void table_init(struct fdtable *t)
{
	rumpuser_mutex_init(&t->lock, RUMPUSER_MTX_KMUTEX);
	t->soft = FD_DEFAULT_SOFT;
	t->hard = FD_DEFAULT_HARD;
}

static struct fdtable *current(void)
{
	struct lwp *l = curlwp();

	if (l && l->fds)
		return l->fds;
	/* The first thread initialises it before any other can run. */
	if (!boot_table.lock)
		table_init(&boot_table);
	return &boot_table;
}

struct fdtable *fdtable_boot(void)
{
	if (!boot_table.lock)
		table_init(&boot_table);
	return &boot_table;
}

/* Make room for slot fd (locked).  0 or -ENOMEM. */
static int table_grow(struct fdtable *t, int fd)
{
	int size = t->size ? t->size : FIRST_SIZE;
	struct file **files;
	unsigned char *cloexec;
	unsigned long *used;

	while (size <= fd)
		size *= 2;
	files = kzalloc(size * sizeof(*files));
	cloexec = kzalloc(size);
	used = kzalloc(size / BITS * sizeof(*used));
	if (!files || !cloexec || !used) {
		if (files)
			kfree(files, size * sizeof(*files));
		if (cloexec)
			kfree(cloexec, size);
		if (used)
			kfree(used, size / BITS * sizeof(*used));
		return -ENOMEM;
	}
	if (t->size) {
		memcpy(files, t->files, t->size * sizeof(*files));
		memcpy(cloexec, t->cloexec, t->size);
		memcpy(used, t->used, t->size / BITS * sizeof(*used));
		kfree(t->files, t->size * sizeof(*files));
		kfree(t->cloexec, t->size);
		kfree(t->used, t->size / BITS * sizeof(*used));
	}
	t->files = files;
	t->cloexec = cloexec;
	t->used = used;
	t->size = size;
	return 0;
}

/* Put f in slot fd (locked; the slot is free and exists). */
static void slot_set(struct fdtable *t, int fd, struct file *f, int cloexec)
{
	t->files[fd] = f;
	t->cloexec[fd] = cloexec != 0;
	t->used[fd / BITS] |= 1UL << (fd % BITS);
}

/* Empty slot fd (locked); its file, for the caller to drop unlocked. */
static struct file *slot_clear(struct fdtable *t, int fd)
{
	struct file *f = t->files[fd];

	t->files[fd] = NULL;
	t->cloexec[fd] = 0;
	t->used[fd / BITS] &= ~(1UL << (fd % BITS));
	if (fd < t->next_free)
		t->next_free = fd;
	return f;
}

/* The lowest free slot >= from, possibly == t->size (locked). */
static int first_free(struct fdtable *t, int from)
{
	int w;

	for (w = from / BITS; w < t->size / (int)BITS; w++) {
		unsigned long bits = t->used[w];

		if (w == from / (int)BITS)
			bits |= (1UL << (from % BITS)) - 1; /* slots below from */
		if (bits != ~0UL)
			return w * BITS + __builtin_ctzl(~bits);
	}
	return t->size > from ? t->size : from;
}

struct fdtable *fdtable_copy(const struct fdtable *cfrom)
{
	struct fdtable *from = (struct fdtable *)cfrom;
	struct fdtable *t = kzalloc(sizeof(*t));
	int fd;

	if (!t)
		return NULL;
	table_init(t);
	rumpuser_mutex_enter(from->lock);
	t->soft = from->soft;
	t->hard = from->hard;
	if (from->size && table_grow(t, from->size - 1) != 0) {
		rumpuser_mutex_exit(from->lock);
		rumpuser_mutex_destroy(t->lock);
		kfree(t, sizeof(*t));
		return NULL;
	}
	for (fd = 0; fd < from->size; fd++) {
		if (from->files[fd]) {
			file_hold(from->files[fd]);
			slot_set(t, fd, from->files[fd], from->cloexec[fd]);
		}
	}
	t->next_free = from->next_free;
	rumpuser_mutex_exit(from->lock);
	return t;
}

void fdtable_free(struct fdtable *t)
{
	fdtable_close_all(t);
	if (t->size) {
		kfree(t->files, t->size * sizeof(*t->files));
		kfree(t->cloexec, t->size);
		kfree(t->used, t->size / BITS * sizeof(*t->used));
	}
	rumpuser_mutex_destroy(t->lock);
	kfree(t, sizeof(*t));
}

void fdtable_close_all(struct fdtable *t)
{
	int fd;

	for (fd = 0; fd < t->size; fd++) {
		struct file *f;

		rumpuser_mutex_enter(t->lock);
		f = fd < t->size && t->files[fd] ? slot_clear(t, fd) : NULL;
		rumpuser_mutex_exit(t->lock);
		if (f)
			file_drop(f);
	}
}

int fdtable_install_at(struct fdtable *t, struct file *f, int fd)
{
	struct file *old = NULL;

	rumpuser_mutex_enter(t->lock);
	if (fd >= t->size && table_grow(t, fd) != 0) {
		rumpuser_mutex_exit(t->lock);
		return -ENOMEM;
	}
	if (t->files[fd])
		old = slot_clear(t, fd);
	slot_set(t, fd, f, 0);
	rumpuser_mutex_exit(t->lock);
	if (old)
		file_drop(old);
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

void file_hold(struct file *f) { __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED); }

int file_tryhold(struct file *f)
{
	int n = __atomic_load_n(&f->refs, __ATOMIC_RELAXED);

	while (n > 0)
		if (__atomic_compare_exchange_n(
		        &f->refs, &n, n + 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return 1;
	return 0;
}

void file_drop(struct file *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (f->watchers)
		file_watchers_gone(f);
	if (f->ops->release)
		f->ops->release(f);
	kfree(f, sizeof(*f));
}

int fd_install(struct file *f, int minfd, int cloexec)
{
	struct fdtable *t = current();
	int fd;

	if (minfd < 0)
		minfd = 0;
	rumpuser_mutex_enter(t->lock);
	fd = first_free(t, minfd > t->next_free ? minfd : t->next_free);
	if ((unsigned long)fd >= t->soft) {
		rumpuser_mutex_exit(t->lock);
		return -EMFILE;
	}
	if (fd >= t->size && table_grow(t, fd) != 0) {
		rumpuser_mutex_exit(t->lock);
		return -ENOMEM;
	}
	slot_set(t, fd, f, cloexec);
	if (minfd <= t->next_free)
		t->next_free = fd + 1;
	rumpuser_mutex_exit(t->lock);
	return fd;
}

int fd_install_at(struct file *f, int fd, int cloexec)
{
	struct fdtable *t = current();
	struct file *old = NULL;

	rumpuser_mutex_enter(t->lock);
	if (fd < 0 || (unsigned long)fd >= t->soft) {
		rumpuser_mutex_exit(t->lock);
		return -EBADF;
	}
	if (fd >= t->size && table_grow(t, fd) != 0) {
		rumpuser_mutex_exit(t->lock);
		return -ENOMEM;
	}
	if (t->files[fd])
		old = slot_clear(t, fd);
	slot_set(t, fd, f, cloexec);
	rumpuser_mutex_exit(t->lock);
	if (old)
		file_drop(old);
	return fd;
}

struct file *fd_get(int fd)
{
	struct fdtable *t = current();
	struct file *f = NULL;

	rumpuser_mutex_enter(t->lock);
	if (fd >= 0 && fd < t->size && (f = t->files[fd]) != NULL)
		file_hold(f);
	rumpuser_mutex_exit(t->lock);
	return f;
}

int fd_close(int fd)
{
	struct fdtable *t = current();
	struct file *f = NULL;

	rumpuser_mutex_enter(t->lock);
	if (fd >= 0 && fd < t->size && t->files[fd])
		f = slot_clear(t, fd);
	rumpuser_mutex_exit(t->lock);
	if (!f)
		return -EBADF;
	file_drop(f);
	return 0;
}

int fd_cloexec(int fd)
{
	struct fdtable *t = current();
	int on;

	rumpuser_mutex_enter(t->lock);
	on = fd >= 0 && fd < t->size && t->cloexec[fd];
	rumpuser_mutex_exit(t->lock);
	return on;
}

void fd_set_cloexec(int fd, int on)
{
	struct fdtable *t = current();

	rumpuser_mutex_enter(t->lock);
	if (fd >= 0 && fd < t->size && t->files[fd])
		t->cloexec[fd] = on != 0;
	rumpuser_mutex_exit(t->lock);
}

void fd_get_limit(unsigned long *soft, unsigned long *hard)
{
	struct fdtable *t = current();

	rumpuser_mutex_enter(t->lock);
	*soft = t->soft;
	*hard = t->hard;
	rumpuser_mutex_exit(t->lock);
}

int fd_set_limit(unsigned long soft, unsigned long hard)
{
	struct fdtable *t = current();

	if (soft > hard)
		return -EINVAL;
	if (hard > FD_NR_OPEN)
		return -EPERM;
	rumpuser_mutex_enter(t->lock);
	t->soft = soft;
	t->hard = hard;
	rumpuser_mutex_exit(t->lock);
	return 0;
}

int fd_limit(void)
{
	unsigned long soft, hard;

	fd_get_limit(&soft, &hard);
	return soft > FD_NR_OPEN ? FD_NR_OPEN : (int)soft;
}
