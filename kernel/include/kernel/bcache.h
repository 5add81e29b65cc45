/*
 * The buffer cache shared by disk file systems (kernel/fs/bcache.c): the
 * blocks of one block device, in file-system-sized blocks, cached and
 * written back lazily.
 *
 * Locking: none of its own.  Every call is made by a file system with
 * vfs_lock held (kernel/fs.h), which serialises them; I/O sleeps with it
 * held.
 *
 * Write-back order.  A dirty buffer is either data (file contents) or
 * metadata (inodes, directories, bitmaps, indirect blocks, group
 * descriptors, the superblock).  bcache_sync writes every dirty data
 * buffer, then every dirty metadata buffer, then flushes the device's
 * cache: after it returns 0, all of it is stable.  When the cache is full,
 * the least recently used clean buffers are dropped first; dirty ones are
 * written back (in the same order) only when nothing clean is left.
 *
 * Functions returning int return 0 or a negative errno.
 */
#ifndef KERNEL_BCACHE_H
#define KERNEL_BCACHE_H

#include <stddef.h>
#include <stdint.h>

struct blkdev;
struct bcache;

struct buf {
	uint64_t blkno; /* in the cache's block size */
	char *data; /* bsize bytes */
	int flags; /* B_* below */
	int refs;
	struct bcache *bc;
	/* The cache's own links. */
	struct buf *hnext, *lru_prev, *lru_next;
};
#define B_VALID 0x1 /* data holds the block's contents */
#define B_DIRTY 0x2 /* must be written back */
#define B_META 0x4 /* metadata: written after data */

/* A cache for bd in blocks of bsize bytes (a multiple of the sector
 * size), holding at most max_bytes of them.  NULL when out of memory. */
struct bcache *bcache_create(struct blkdev *bd, unsigned bsize, size_t max_bytes);
/* Write everything back and free the cache; the first error. */
int bcache_destroy(struct bcache *bc);

/* The block, read from the disk unless cached, held in *bp.  -EIO. */
int bread(struct bcache *bc, uint64_t blkno, struct buf **bp);
/* The block held, without reading it: for a caller about to overwrite
 * all of it (contents zeroed unless cached).  -ENOMEM. */
int bget(struct bcache *bc, uint64_t blkno, struct buf **bp);
/* Read blocks blkno..blkno+n-1 that are not cached yet, in as few
 * requests as possible (read-ahead for sequential file reads). */
int bcache_prefetch(struct bcache *bc, uint64_t blkno, unsigned n);
/* Mark a held buffer dirty; meta: it holds metadata. */
void bdirty(struct buf *bp, int meta);
/* Drop the hold. */
void brelse(struct buf *bp);
/* Forget a block that was freed on disk (its dirty contents too). */
void bcache_forget(struct bcache *bc, uint64_t blkno);
/* Write back every dirty buffer, data before metadata, then flush the
 * device (see above).  The first error (-EIO). */
int bcache_sync(struct bcache *bc);
/* Statistics, for tests and benchmarks. */
struct bcache_stats {
	uint64_t hits, misses, reads, writes, flushes;
	size_t bytes, dirty;
};
void bcache_stats(struct bcache *bc, struct bcache_stats *st);

#endif
