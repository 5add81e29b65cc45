/*
 * A file-backed block device for kernel tests on the posix platform: a
 * host file (or a fresh temporary one) registered with the kernel's block
 * device registry as the next ldN.  Requests complete synchronously
 * (pread/pwrite/fdatasync), through the same completion callback a driver
 * calls.  Counts requests so tests can see what reached the "disk".
 */
#ifndef KBLK_H
#define KBLK_H

#include "ktest.h"
#include <kernel/blkdev.h>

struct kblk {
	struct blkdev bd;
	int fd;
	long reads, writes, flushes;
};

static void kblk_submit(
    struct blkdev *bd, int op, void *buf, size_t len, uint64_t off, blkdev_done_fn done, void *arg)
{
	struct kblk *k = bd->priv;
	ssize_t n = 0;
	int err = 0;
	if (op & BLKDEV_READ) {
		k->reads++;
		n = pread(k->fd, buf, len, (off_t)off);
	} else if (op & BLKDEV_WRITE) {
		k->writes++;
		n = pwrite(k->fd, buf, len, (off_t)off);
	}
	if (n < 0 || (size_t)n != len)
		err = EIO;
	if ((op & (BLKDEV_SYNC | BLKDEV_FLUSH)) && err == 0) {
		k->flushes++;
		if (fdatasync(k->fd) != 0)
			err = EIO;
	}
	if (op == BLKDEV_FLUSH)
		n = 0;
	done(arg, n < 0 ? 0 : (size_t)n, err);
}

static const struct blkdev_ops kblk_ops = {.submit = kblk_submit};

/* Register the host file path (size bytes when creating it, 0: keep). */
static inline struct kblk *kblk_attach(const char *path, off_t size, int readonly)
{
	struct kblk *k = calloc(1, sizeof(*k));
	k->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CREAT, 0644);
	if (k->fd < 0) {
		printf("FAIL cannot open %s\n", path);
		exit(2);
	}
	if (size && ftruncate(k->fd, size) != 0)
		exit(2);
	struct stat st;
	fstat(k->fd, &st);
	k->bd.ops = &kblk_ops;
	k->bd.priv = k;
	k->bd.sector_size = 512;
	k->bd.size = (uint64_t)st.st_size & ~511ULL;
	k->bd.readonly = readonly;
	rumprun_posix_enter();
	int err = blkdev_register(&k->bd);
	rumprun_posix_leave();
	if (err) {
		printf("FAIL blkdev_register %s: %d\n", path, err);
		exit(2);
	}
	return k;
}

/* A fresh temporary disk of size bytes (removed from the host at once). */
static inline struct kblk *kblk_temp(off_t size)
{
	char path[] = "/tmp/kblk-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct kblk *k = kblk_attach(path, size, 0);
	unlink(path);
	return k;
}

#endif
