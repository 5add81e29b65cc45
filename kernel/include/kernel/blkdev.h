/*
 * Block devices (kernel/dev/blkdev.c): the registry that disk drivers fill
 * and file systems read from.  The I/O model is rumpuser(3)'s block I/O
 * (rumpuser_bio): a request names an operation, a buffer, a length and a
 * byte offset, is submitted asynchronously, and its completion callback
 * gets the byte count moved and an error.  blkdev_io() is the synchronous
 * form built on it.
 *
 * File systems see only this header; drivers (virtio-blk, module disks,
 * the posix tests' file-backed disks) fill a struct blkdev and register it.
 * Every function returns 0 or a negative errno unless said otherwise.
 */
#ifndef KERNEL_BLKDEV_H
#define KERNEL_BLKDEV_H

#include <stddef.h>
#include <stdint.h>

/* Operations (rumpuser_bio's RUMPUSER_BIO_READ/WRITE/SYNC, plus FLUSH). */
#define BLKDEV_READ 0x01
#define BLKDEV_WRITE 0x02
#define BLKDEV_SYNC 0x04 /* with WRITE: stable on the medium when done */
#define BLKDEV_FLUSH 0x08 /* alone: everything completed before is stable */

/*
 * Completion: called once per request, from any thread (a driver's
 * interrupt thread, or the submitter itself), with no blkdev lock held.
 * done is the number of bytes moved (len on success); error is 0 or a
 * positive errno value (EIO for a device error), as rumpuser's biodone.
 */
typedef void (*blkdev_done_fn)(void *arg, size_t done, int error);

struct blkdev;

struct blkdev_ops {
	/*
	 * Start the request and return; call done(arg, ...) when it is over
	 * (possibly before returning).  The registry has checked op, that
	 * off and len are multiples of the sector size and inside the device,
	 * and that a write is not to a read-only device.  buf is any kernel
	 * memory (a driver copies or translates addresses as it needs); len
	 * is at most max_transfer.  Errors are reported through done only.
	 */
	void (*submit)(struct blkdev *bd, int op, void *buf, size_t len, uint64_t off,
	    blkdev_done_fn done, void *arg);
};

struct blkdev {
	/* Filled by the driver before blkdev_register: */
	const struct blkdev_ops *ops;
	void *priv; /* the driver's */
	uint32_t sector_size; /* 512 or a power of two above */
	uint64_t size; /* bytes, a multiple of sector_size */
	int readonly; /* writes fail with EROFS */
	size_t max_transfer; /* bytes per request, 0: no limit */
	char origin[64]; /* where it came from ("images/x.img" for a
					 * multiboot module), or "" */
	/* Set by blkdev_register: */
	char name[16]; /* "ld0", "ld1" ... in registration order,
					 * unless the driver set one */
	int unit;
	int users; /* mounts and open /dev nodes */
};

/*
 * Register a disk found by a driver.  Unless bd->name is set, names it
 * "ldN" (N counting from 0 in registration order, which is discovery
 * order: the launcher's -b order).  Also makes /dev/NAME, a block device
 * node (read/write/pread/pwrite/lseek/fsync, ioctl BLKGETSIZE64,
 * BLKSSZGET, BLKROGET).  bd must live as long as the machine.
 * Returns 0, -EEXIST (name taken), -EINVAL (bad sector size or size).
 */
int blkdev_register(struct blkdev *bd);

/* Lookups: by name ("ld0"), by origin ("images/x.img"), by index from 0. */
struct blkdev *blkdev_lookup(const char *name);
struct blkdev *blkdev_lookup_origin(const char *origin);
struct blkdev *blkdev_get(int index);
int blkdev_count(void);

/*
 * Asynchronous request (rumpuser_bio's shape).  op is BLKDEV_READ,
 * BLKDEV_WRITE (optionally | BLKDEV_SYNC) or BLKDEV_FLUSH (len 0).
 * Returns 0 when the request was started (done will be called), or
 * -EINVAL (misaligned, beyond the end, len 0 for a transfer, too long),
 * -EROFS (write to a read-only device) without calling done.
 */
int blkdev_submit(
    struct blkdev *bd, int op, void *buf, size_t len, uint64_t off, blkdev_done_fn done, void *arg);

/*
 * Synchronous I/O built on blkdev_submit: sleeps (through rumpuser's
 * condition variables) until the request completes; splits requests
 * longer than max_transfer.  Returns 0, -EIO, -EINVAL, -EROFS.
 */
int blkdev_io(struct blkdev *bd, int op, void *buf, size_t len, uint64_t off);
/* Make every completed write stable (a device cache flush). */
int blkdev_flush(struct blkdev *bd);

#endif
