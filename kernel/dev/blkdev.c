/*
 * The block device registry, rumpuser_bio-style asynchronous requests with
 * a synchronous helper, and the /dev/ldN nodes (raw block I/O).
 */
#include <kernel/kernel.h>
#include <kernel/blkdev.h>
#include <kernel/file.h>
#include <kernel/vfs.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* <linux/fs.h>'s block ioctls (the kernel is built against musl alone). */
#define BLKROGET 0x125e
#define BLKGETSIZE 0x1260
#define BLKFLSBUF 0x1261
#define BLKSSZGET 0x1268
#define BLKGETSIZE64 0x80081272

#define BLKDEV_MAX 16

static struct blkdev *devs[BLKDEV_MAX];
static int ndevs;
static int next_ld;

int blkdev_count(void) { return ndevs; }

struct blkdev *blkdev_get(int index) { return (index >= 0 && index < ndevs) ? devs[index] : NULL; }

struct blkdev *blkdev_lookup(const char *name)
{
	for (int i = 0; i < ndevs; i++)
		if (strcmp(devs[i]->name, name) == 0)
			return devs[i];
	return NULL;
}

struct blkdev *blkdev_lookup_origin(const char *origin)
{
	for (int i = 0; i < ndevs; i++)
		if (devs[i]->origin[0] && strcmp(devs[i]->origin, origin) == 0)
			return devs[i];
	return NULL;
}

static int valid(struct blkdev *bd, int op, size_t len, uint64_t off)
{
	uint32_t ss = bd->sector_size;
	if (op == BLKDEV_FLUSH)
		return len == 0 ? 0 : -EINVAL;
	int kind = op & (BLKDEV_READ | BLKDEV_WRITE);
	if ((kind != BLKDEV_READ && kind != BLKDEV_WRITE) || (op & ~(kind | BLKDEV_SYNC)))
		return -EINVAL;
	if ((op & BLKDEV_SYNC) && kind != BLKDEV_WRITE)
		return -EINVAL;
	if (len == 0 || len % ss || off % ss || off > bd->size || len > bd->size - off)
		return -EINVAL;
	if (kind == BLKDEV_WRITE && bd->readonly)
		return -EROFS;
	return 0;
}

int blkdev_submit(
    struct blkdev *bd, int op, void *buf, size_t len, uint64_t off, blkdev_done_fn done, void *arg)
{
	int err = valid(bd, op, len, off);
	if (err)
		return err;
	if (bd->max_transfer && len > bd->max_transfer)
		return -EINVAL;
	bd->ops->submit(bd, op, buf, len, off, done, arg);
	return 0;
}

/* A request waited for: the submitter sleeps on cv until done runs. */
struct waiter {
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *cv;
	int finished;
	int error;
};

static void wake(void *arg, size_t done, int error)
{
	struct waiter *w = arg;
	(void)done;
	rumpuser_mutex_enter_nowrap(w->mtx);
	w->error = error;
	w->finished = 1;
	rumpuser_cv_broadcast(w->cv); /* shared by every waiter */
	rumpuser_mutex_exit(w->mtx);
}

static struct rumpuser_mtx *wait_mtx;
static struct rumpuser_cv *wait_cv;

static int wait_one(struct blkdev *bd, int op, void *buf, size_t len, uint64_t off)
{
	struct waiter w = {.mtx = wait_mtx, .cv = wait_cv};
	int err = blkdev_submit(bd, op, buf, len, off, wake, &w);
	if (err)
		return err;
	rumpuser_mutex_enter(w.mtx);
	while (!w.finished)
		rumpuser_cv_wait(w.cv, w.mtx);
	rumpuser_mutex_exit(w.mtx);
	return w.error ? -w.error : 0;
}

int blkdev_io(struct blkdev *bd, int op, void *buf, size_t len, uint64_t off)
{
	if (op == BLKDEV_FLUSH)
		return wait_one(bd, op, NULL, 0, 0);
	int err = valid(bd, op, len, off);
	if (err)
		return err;
	size_t max = bd->max_transfer ? bd->max_transfer : len;
	max -= max % bd->sector_size;
	while (len) {
		size_t n = len < max ? len : max;
		if ((err = wait_one(bd, op, buf, n, off)) != 0)
			return err;
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

int blkdev_flush(struct blkdev *bd) { return blkdev_io(bd, BLKDEV_FLUSH, NULL, 0, 0); }

/*
 * /dev/NAME: byte-addressed block I/O.  Transfers that are not whole
 * sectors go through a bounce sector (read-modify-write for writes).
 */
struct rawdev {
	struct vfs_device vdev;
	struct blkdev *bd;
};

static struct blkdev *raw_bd(struct file *f)
{
	return ((const struct rawdev *)((const struct vfs_device *)f->priv)->priv)->bd;
}

static ssize_t raw_xfer(struct file *f, void *buf, size_t len, off_t *pos, int write)
{
	struct blkdev *bd = raw_bd(f);
	uint32_t ss = bd->sector_size;
	uint64_t off = (uint64_t)*pos;
	size_t done = 0;
	char *sector = NULL;
	int err = 0;

	if (write && (f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (!write && (f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (*pos < 0)
		return -EINVAL;
	if (off >= bd->size) {
		if (write && len)
			return -ENOSPC;
		return 0;
	}
	if (len > bd->size - off)
		len = bd->size - off;
	while (done < len && err == 0) {
		uint64_t at = off + done;
		size_t head = at % ss;
		if (head == 0 && len - done >= ss) {
			/* Whole sectors straight from or to the caller's buffer. */
			size_t n = (len - done) - (len - done) % ss;
			if (n > (1u << 20))
				n = 1u << 20;
			err = blkdev_io(
			    bd, write ? BLKDEV_WRITE : BLKDEV_READ, (char *)buf + done, n, at);
			if (err == 0)
				done += n;
			continue;
		}
		if (sector == NULL && (sector = kmalloc(ss)) == NULL) {
			err = -ENOMEM;
			break;
		}
		size_t n = ss - head;
		if (n > len - done)
			n = len - done;
		if ((err = blkdev_io(bd, BLKDEV_READ, sector, ss, at - head)) != 0)
			break;
		if (write) {
			memcpy(sector + head, (const char *)buf + done, n);
			err = blkdev_io(bd, BLKDEV_WRITE, sector, ss, at - head);
		} else {
			memcpy((char *)buf + done, sector + head, n);
		}
		if (err == 0)
			done += n;
	}
	if (sector)
		kfree(sector, ss);
	*pos += done;
	return done ? (ssize_t)done : err;
}

static ssize_t raw_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	return raw_xfer(f, buf, len, pos, 0);
}

static ssize_t raw_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	return raw_xfer(f, (void *)buf, len, pos, 1);
}

static off_t raw_seek(struct file *f, off_t off, int whence)
{
	off_t base;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->pos;
		break;
	case SEEK_END:
		base = (off_t)raw_bd(f)->size;
		break;
	default:
		return -EINVAL;
	}
	if (base + off < 0)
		return -EINVAL;
	return base + off;
}

static int raw_stat(struct file *f, struct stat *st)
{
	const struct vfs_device *vd = f->priv;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFBLK | 0660;
	st->st_rdev = vd->rdev;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_ino = 1000 + raw_bd(f)->unit;
	return 0;
}

static long raw_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	struct blkdev *bd = raw_bd(f);
	switch ((unsigned int)cmd) { /* Linux's cmd is an unsigned int */
	case BLKGETSIZE64:
		*(uint64_t *)arg = bd->size;
		return 0;
	case BLKGETSIZE:
		*(unsigned long *)arg = bd->size / 512;
		return 0;
	case BLKSSZGET:
		*(int *)arg = (int)bd->sector_size;
		return 0;
	case BLKROGET:
		*(int *)arg = bd->readonly;
		return 0;
	case BLKFLSBUF:
		return 0;
	default:
		return -ENOTTY;
	}
}

static int raw_fsync(struct file *f)
{
	struct blkdev *bd = raw_bd(f);
	return bd->readonly ? 0 : blkdev_flush(bd);
}

static void raw_release(struct file *f) { raw_bd(f)->users--; }

static const struct file_ops raw_ops = {
    .read = raw_read,
    .write = raw_write,
    .seek = raw_seek,
    .stat = raw_stat,
    .ioctl = raw_ioctl,
    .fsync = raw_fsync,
    .release = raw_release,
};

static int raw_open(const struct vfs_device *vd, int flags, struct file **fp)
{
	struct blkdev *bd = ((const struct rawdev *)vd->priv)->bd;
	if (bd->readonly && (flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	*fp = file_new(&raw_ops, flags, (void *)vd);
	if (*fp == NULL)
		return -ENOMEM;
	bd->users++;
	return 0;
}

int blkdev_register(struct blkdev *bd)
{
	uint32_t ss = bd->sector_size;
	if (ss < 512 || (ss & (ss - 1)) || bd->size % ss || bd->ops == NULL)
		return -EINVAL;
	if (ndevs == BLKDEV_MAX)
		return -ENOSPC;
	if (wait_mtx == NULL) {
		rumpuser_mutex_init(&wait_mtx, RUMPUSER_MTX_KMUTEX);
		rumpuser_cv_init(&wait_cv);
	}
	if (bd->name[0] == '\0') {
		char *p = bd->name;
		int n = next_ld++, digits = 1;
		for (int t = n; t >= 10; t /= 10)
			digits++;
		memcpy(p, "ld", 2);
		for (int i = digits - 1; i >= 0; i--, n /= 10)
			p[2 + i] = '0' + n % 10;
		p[2 + digits] = '\0';
	} else if (blkdev_lookup(bd->name)) {
		return -EEXIST;
	}
	struct rawdev *rd = kzalloc(sizeof(*rd));
	if (rd == NULL)
		return -ENOMEM;
	bd->unit = ndevs;
	rd->bd = bd;
	rd->vdev.open = raw_open;
	rd->vdev.rdev = makedev(259, bd->unit); /* Linux's blkext major */
	rd->vdev.priv = rd;
	int err = vfs_register_device(bd->name, S_IFBLK | 0660, &rd->vdev);
	if (err) {
		kfree(rd, sizeof(*rd));
		return err;
	}
	devs[ndevs++] = bd;
	return 0;
}
