/*
 * ext2: the volume.  Probe and mount (feature checks), the group
 * descriptors, block and inode allocation through the bitmaps, the
 * superblock and its counters, statfs, sync and unmount.
 *
 * Why our own and not e2fsprogs' libext2fs: libext2fs is an offline
 * library for user programs: it expects the C library (stdio, malloc,
 * qsort, time, com_err's error tables), does its own caching through an
 * io_manager and is written for one caller at a time with the whole
 * volume to itself.  Inside the kernel we need vnodes, the shared buffer
 * cache, lazy write-back and the VFS's lock; wrapping libext2fs would
 * mean emulating half a C library under it and still writing the VFS
 * glue.  ext2 itself is small and documented, and e2fsck (from the same
 * e2fsprogs) checks what we write in the tests.
 */
#include "ext2.h"
#include <sys/statfs.h>

#define SUPER_OFFSET 1024

static int read_super(struct blkdev *bd, struct ext2_super *sb)
{
	uint32_t ss = bd->sector_size;
	size_t len = ss > 2048 ? ss : 2048;
	if (bd->size < 2048)
		return -EINVAL;
	char *tmp = kmalloc(len);
	if (tmp == NULL)
		return -ENOMEM;
	int err = blkdev_io(bd, BLKDEV_READ, tmp, len, 0);
	if (err == 0)
		memcpy(sb, tmp + SUPER_OFFSET, sizeof(*sb));
	kfree(tmp, len);
	return err;
}

static int ext2_probe(struct blkdev *bd)
{
	struct ext2_super sb;
	return read_super(bd, &sb) == 0 && sb.s_magic == EXT2_MAGIC;
}

/* The group of block bn, and its index there. */
static unsigned block_group(struct ext2_mount *em, uint32_t bn, unsigned *idx)
{
	uint32_t rel = bn - em->sb.s_first_data_block;
	*idx = rel % em->sb.s_blocks_per_group;
	return rel / em->sb.s_blocks_per_group;
}

static uint32_t group_first_block(struct ext2_mount *em, unsigned g)
{
	return em->sb.s_first_data_block + g * em->sb.s_blocks_per_group;
}

static unsigned group_nblocks(struct ext2_mount *em, unsigned g)
{
	uint32_t first = group_first_block(em, g);
	uint32_t n = em->sb.s_blocks_count - first;
	return n < em->sb.s_blocks_per_group ? n : em->sb.s_blocks_per_group;
}

/* First clear bit in [from, n) of a bitmap, or -1. */
static int find_clear(const uint8_t *map, unsigned from, unsigned n)
{
	unsigned i = from;
	while (i < n && (i & 7)) {
		if (!(map[i >> 3] & (1u << (i & 7))))
			return (int)i;
		i++;
	}
	for (; i < n; i += 8) {
		uint8_t byte = map[i >> 3];
		if (byte == 0xff)
			continue;
		for (unsigned b = 0; b < 8 && i + b < n; b++)
			if (!(byte & (1u << b)))
				return (int)(i + b);
	}
	return -1;
}

int ext2_alloc_block(struct ext2_mount *em, uint32_t goal, uint32_t *bnp)
{
	if (em->sb.s_free_blocks_count == 0)
		return -ENOSPC;
	unsigned idx = 0, g0 = 0;
	if (goal >= em->sb.s_first_data_block && goal < em->sb.s_blocks_count)
		g0 = block_group(em, goal, &idx);
	for (unsigned k = 0; k <= em->ngroups; k++) {
		unsigned g = (g0 + k) % em->ngroups;
		unsigned from = (k == 0) ? idx : 0;
		if (em->gd[g].bg_free_blocks_count == 0)
			continue;
		struct buf *b;
		int err = bread(em->bc, em->gd[g].bg_block_bitmap, &b);
		if (err)
			return err;
		unsigned n = group_nblocks(em, g);
		int bit = find_clear((uint8_t *)b->data, from, n);
		if (bit < 0 && from)
			bit = find_clear((uint8_t *)b->data, 0, from);
		if (bit < 0) {
			brelse(b);
			continue;
		}
		b->data[bit >> 3] |= (char)(1u << (bit & 7));
		bdirty(b, 1);
		brelse(b);
		em->gd[g].bg_free_blocks_count--;
		em->sb.s_free_blocks_count--;
		em->gd_dirty = em->sb_dirty = 1;
		*bnp = group_first_block(em, g) + (uint32_t)bit;
		return 0;
	}
	return -ENOSPC;
}

void ext2_free_block(struct ext2_mount *em, uint32_t bn)
{
	unsigned idx, g;
	if (bn < em->sb.s_first_data_block || bn >= em->sb.s_blocks_count)
		return;
	g = block_group(em, bn, &idx);
	struct buf *b;
	if (bread(em->bc, em->gd[g].bg_block_bitmap, &b) != 0)
		return;
	if (b->data[idx >> 3] & (1u << (idx & 7))) {
		b->data[idx >> 3] &= (char)~(1u << (idx & 7));
		bdirty(b, 1);
		em->gd[g].bg_free_blocks_count++;
		em->sb.s_free_blocks_count++;
		em->gd_dirty = em->sb_dirty = 1;
	} else {
		kprintf("rumprun: ext2 %s: freeing free block %u\n", em->mp->source, bn);
	}
	brelse(b);
	bcache_forget(em->bc, bn);
}

int ext2_alloc_inode(struct ext2_mount *em, uint32_t parent_ino, int dir, uint32_t *inop)
{
	if (em->sb.s_free_inodes_count == 0)
		return -ENOSPC;
	unsigned ipg = em->sb.s_inodes_per_group;
	unsigned g0 = (parent_ino - 1) / ipg;
	if (dir) {
		/* Spread directories: the group with the most free blocks among
		 * those with free inodes at or above the average. */
		unsigned avg = em->sb.s_free_inodes_count / em->ngroups, best = g0;
		int found = 0;
		for (unsigned g = 0; g < em->ngroups; g++) {
			if (em->gd[g].bg_free_inodes_count == 0 ||
			    em->gd[g].bg_free_inodes_count < avg)
				continue;
			if (!found ||
			    em->gd[g].bg_free_blocks_count > em->gd[best].bg_free_blocks_count) {
				best = g;
				found = 1;
			}
		}
		g0 = best;
	}
	for (unsigned k = 0; k < em->ngroups; k++) {
		unsigned g = (g0 + k) % em->ngroups;
		if (em->gd[g].bg_free_inodes_count == 0)
			continue;
		struct buf *b;
		int err = bread(em->bc, em->gd[g].bg_inode_bitmap, &b);
		if (err)
			return err;
		unsigned from = 0;
		if (g == 0 && em->sb.s_first_ino > 1)
			from = em->sb.s_first_ino - 1; /* reserved inodes */
		int bit = find_clear((uint8_t *)b->data, from, ipg);
		if (bit < 0) {
			brelse(b);
			continue;
		}
		b->data[bit >> 3] |= (char)(1u << (bit & 7));
		bdirty(b, 1);
		brelse(b);
		em->gd[g].bg_free_inodes_count--;
		if (dir)
			em->gd[g].bg_used_dirs_count++;
		em->sb.s_free_inodes_count--;
		em->gd_dirty = em->sb_dirty = 1;
		*inop = g * ipg + (uint32_t)bit + 1;
		return 0;
	}
	return -ENOSPC;
}

void ext2_free_inode(struct ext2_mount *em, uint32_t ino, int dir)
{
	unsigned ipg = em->sb.s_inodes_per_group;
	unsigned g = (ino - 1) / ipg, bit = (ino - 1) % ipg;
	struct buf *b;
	if (g >= em->ngroups || bread(em->bc, em->gd[g].bg_inode_bitmap, &b) != 0)
		return;
	if (b->data[bit >> 3] & (1u << (bit & 7))) {
		b->data[bit >> 3] &= (char)~(1u << (bit & 7));
		bdirty(b, 1);
		em->gd[g].bg_free_inodes_count++;
		if (dir && em->gd[g].bg_used_dirs_count)
			em->gd[g].bg_used_dirs_count--;
		em->sb.s_free_inodes_count++;
		em->gd_dirty = em->sb_dirty = 1;
	}
	brelse(b);
}

/* Copy the superblock and descriptors into their (primary) blocks. */
int ext2_write_super(struct ext2_mount *em)
{
	struct buf *b;
	int err;
	if (em->readonly)
		return 0;
	if (em->gd_dirty) {
		uint32_t first = em->sb.s_first_data_block + 1;
		size_t total = (size_t)em->ngroups * sizeof(struct ext2_gd);
		for (unsigned i = 0; i < em->gd_blocks; i++) {
			if ((err = bread(em->bc, first + i, &b)) != 0)
				return err;
			size_t off = (size_t)i * em->bsize;
			size_t n = total - off < em->bsize ? total - off : em->bsize;
			if (memcmp(b->data, (char *)em->gd + off, n) != 0) {
				memcpy(b->data, (char *)em->gd + off, n);
				bdirty(b, 1);
			}
			brelse(b);
		}
		em->gd_dirty = 0;
	}
	if (em->sb_dirty) {
		uint32_t blk = SUPER_OFFSET / em->bsize;
		unsigned off = SUPER_OFFSET % em->bsize;
		if ((err = bread(em->bc, blk, &b)) != 0)
			return err;
		memcpy(b->data + off, &em->sb, sizeof(em->sb));
		bdirty(b, 1);
		brelse(b);
		em->sb_dirty = 0;
	}
	return 0;
}

static uint32_t now_sec(void) { return (uint32_t)(time_wall_ns() / 1000000000); }

/* Write back every cached inode, the counters, then all buffers. */
static int ext2_sync(struct mount *mp)
{
	struct ext2_mount *em = mp->data;
	int first = 0;
	if (em->readonly)
		return 0;
	for (unsigned h = 0; h < em->nvhash; h++)
		for (struct vnode *v = em->vhash[h]; v; v = EI(v)->hnext) {
			int err = ext2_iupdate(v);
			if (err && !first)
				first = err;
		}
	struct bcache_stats st;
	bcache_stats(em->bc, &st);
	if (st.dirty == 0 && !em->sb_dirty && !em->gd_dirty)
		return first; /* nothing changed since the last sync */
	em->sb.s_wtime = now_sec();
	em->sb_dirty = 1;
	int err = ext2_write_super(em);
	if (err && !first)
		first = err;
	err = bcache_sync(em->bc);
	return first ? first : err;
}

static int ext2_statfs(struct mount *mp, struct statfs *sf)
{
	struct ext2_mount *em = mp->data;
	sf->f_type = EXT2_MAGIC;
	sf->f_bsize = em->bsize;
	sf->f_frsize = em->bsize;
	sf->f_blocks = em->sb.s_blocks_count;
	sf->f_bfree = em->sb.s_free_blocks_count;
	sf->f_bavail = em->sb.s_free_blocks_count > em->sb.s_r_blocks_count
	    ? em->sb.s_free_blocks_count - em->sb.s_r_blocks_count
	    : 0;
	sf->f_files = em->sb.s_inodes_count;
	sf->f_ffree = em->sb.s_free_inodes_count;
	sf->f_namelen = 255;
	return 0;
}

static void ext2_unmount(struct mount *mp)
{
	struct ext2_mount *em = mp->data;
	if (!em->readonly) {
		/* Clean again, unless it was not clean when we came. */
		if (em->mount_state & EXT2_VALID_FS)
			em->sb.s_state |= EXT2_VALID_FS;
		em->sb.s_wtime = now_sec();
		em->sb_dirty = 1;
		ext2_write_super(em);
	}
	int err = bcache_sync(em->bc);
	if (err)
		kprintf("rumprun: ext2 %s: write-back at unmount failed (error %d)\n", mp->source,
		    -err);
	/* Vnodes still cached stay (the machine is ending); the volume is
	 * no longer written: mark it so. */
	em->readonly = 1;
}

static const struct mount_ops ext2_mount_ops = {
    .statfs = ext2_statfs,
    .sync = ext2_sync,
    .unmount = ext2_unmount,
};

/* Names of the features in mask (of a word), for messages. */
static void feature_names(char *out, size_t size, uint32_t mask, int word)
{
	static const struct {
		int word;
		uint32_t bit;
		const char *name;
	} names[] = {
	    {0, COMPAT_HAS_JOURNAL, "has_journal"},
	    {1, 0x0001, "compression"},
	    {1, INCOMPAT_RECOVER, "needs_recovery"},
	    {1, 0x0008, "journal_dev"},
	    {1, INCOMPAT_META_BG, "meta_bg"},
	    {1, INCOMPAT_EXTENTS, "extent"},
	    {1, INCOMPAT_64BIT, "64bit"},
	    {1, 0x0100, "mmp"},
	    {1, INCOMPAT_FLEX_BG, "flex_bg"},
	    {1, 0x0400, "ea_inode"},
	    {1, 0x8000, "inline_data"},
	    {1, 0x10000, "encrypt"},
	    {1, 0x20000, "casefold"},
	    {2, 0x0004, "btree_dir"},
	    {2, 0x0008, "huge_file"},
	    {2, 0x0010, "uninit_bg"},
	    {2, 0x0020, "dir_nlink"},
	    {2, 0x0040, "extra_isize"},
	    {2, 0x0100, "quota"},
	    {2, 0x0200, "bigalloc"},
	    {2, 0x0400, "metadata_csum"},
	    {2, 0x1000, "read-only"},
	    {2, 0x2000, "project"},
	};
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].word != word || !(mask & names[i].bit))
			continue;
		mask &= ~names[i].bit;
		size_t n = strlen(names[i].name);
		if (used + n + 3 >= size)
			break;
		if (used) {
			memcpy(out + used, ", ", 2);
			used += 2;
		}
		memcpy(out + used, names[i].name, n);
		used += n;
		out[used] = '\0';
	}
	if (mask && used + 8 < size)
		memcpy(out + used, used ? ", others" : "others", used ? 9 : 7);
}

static int ext2_mount(struct mount *mp, struct vnode **rootp)
{
	struct ext2_mount *em = kzalloc(sizeof(*em));
	char names[160];
	int err;
	if (em == NULL)
		return -ENOMEM;
	em->mp = mp;
	em->bd = mp->bd;
	if ((err = read_super(em->bd, &em->sb)) != 0)
		goto fail;
	struct ext2_super *sb = &em->sb;
	err = -EINVAL;
	if (sb->s_magic != EXT2_MAGIC)
		goto fail;
	if (sb->s_log_block_size > 2) {
		kprintf("rumprun: ext2 %s: blocks of %u KiB: only 1, 2 and 4 KiB are supported\n",
		    mp->source, 1u << sb->s_log_block_size);
		err = -EOPNOTSUPP;
		goto fail;
	}
	em->bsize = 1024u << sb->s_log_block_size;
	em->ptrs = em->bsize / 4;
	if (sb->s_rev_level == 0) {
		em->inode_size = EXT2_GOOD_OLD_INODE_SIZE;
		sb->s_first_ino = EXT2_GOOD_OLD_FIRST_INO;
		sb->s_feature_compat = sb->s_feature_incompat = sb->s_feature_ro_compat = 0;
	} else {
		em->inode_size = sb->s_inode_size;
	}
	if (sb->s_blocks_per_group == 0 || sb->s_inodes_per_group == 0 ||
	    em->inode_size < EXT2_GOOD_OLD_INODE_SIZE || em->inode_size > em->bsize ||
	    (em->inode_size & (em->inode_size - 1)) || sb->s_blocks_count == 0 ||
	    sb->s_first_data_block >= sb->s_blocks_count ||
	    (uint64_t)sb->s_blocks_count * em->bsize > em->bd->size ||
	    em->bsize < em->bd->sector_size) {
		kprintf("rumprun: ext2 %s: the superblock is damaged (or the image is "
		        "shorter than the file system)\n",
		    mp->source);
		goto fail;
	}
	uint32_t incompat = sb->s_feature_incompat & ~INCOMPAT_SUPPORTED;
	if (incompat) {
		feature_names(names, sizeof(names), incompat, 1);
		kprintf("rumprun: ext2 %s: the file system uses ext3/ext4 features this "
		        "kernel cannot read (%s): make it with 'rumprun mkfs ext2'\n",
		    mp->source, names);
		err = -EOPNOTSUPP;
		goto fail;
	}
	em->filetype = (sb->s_feature_incompat & INCOMPAT_FILETYPE) != 0;
	uint32_t rocompat = sb->s_feature_ro_compat & ~RO_COMPAT_SUPPORTED;
	uint32_t journal = sb->s_feature_compat & COMPAT_HAS_JOURNAL;
	if ((rocompat || journal) && !(mp->flags & MNT_RDONLY)) {
		if (rocompat)
			feature_names(names, sizeof(names), rocompat, 2);
		else
			feature_names(names, sizeof(names), journal, 0);
		kprintf("rumprun: ext2 %s: mounted read-only: the file system uses "
		        "features this kernel cannot keep right when writing (%s)\n",
		    mp->source, names);
		mp->flags |= MNT_RDONLY;
	}
	em->readonly = (mp->flags & MNT_RDONLY) != 0;
	em->ngroups = (sb->s_blocks_count - sb->s_first_data_block + sb->s_blocks_per_group - 1) /
	    sb->s_blocks_per_group;
	if ((uint64_t)em->ngroups * sb->s_inodes_per_group < sb->s_inodes_count) {
		kprintf("rumprun: ext2 %s: the superblock is damaged (inode counts)\n", mp->source);
		goto fail;
	}
	size_t gdbytes = (size_t)em->ngroups * sizeof(struct ext2_gd);
	em->gd_blocks = (gdbytes + em->bsize - 1) / em->bsize;
	if ((em->gd = kmalloc((size_t)em->gd_blocks * em->bsize)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	/* The cache: a quarter of the machine's memory, 4 MiB at least. */
	size_t cache = param_number(RUMPRUN_PARAM_MEMSIZE) / 4;
	if (cache < (4u << 20))
		cache = (cache == 0) ? (32u << 20) : (4u << 20);
	if ((em->bc = bcache_create(em->bd, em->bsize, cache)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < em->gd_blocks; i++) {
		struct buf *b;
		if ((err = bread(em->bc, sb->s_first_data_block + 1 + i, &b)) != 0)
			goto fail;
		memcpy((char *)em->gd + (size_t)i * em->bsize, b->data, em->bsize);
		brelse(b);
	}
	for (unsigned g = 0; g < em->ngroups; g++) {
		struct ext2_gd *gd = &em->gd[g];
		if (gd->bg_block_bitmap >= sb->s_blocks_count ||
		    gd->bg_inode_bitmap >= sb->s_blocks_count ||
		    gd->bg_inode_table >= sb->s_blocks_count) {
			kprintf(
			    "rumprun: ext2 %s: group descriptor %u is damaged\n", mp->source, g);
			err = -EINVAL;
			goto fail;
		}
	}
	em->nvhash = 1024;
	if ((em->vhash = kzalloc(em->nvhash * sizeof(*em->vhash))) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	mp->data = em;
	mp->ops = &ext2_mount_ops;
	em->mount_state = sb->s_state;
	if (!em->readonly) {
		if (!(sb->s_state & EXT2_VALID_FS))
			kprintf("rumprun: ext2 %s: was not cleanly unmounted: run e2fsck on "
			        "the image\n",
			    mp->source);
		if (sb->s_state & EXT2_ERROR_FS)
			kprintf(
			    "rumprun: ext2 %s: has errors: run e2fsck on the image\n", mp->source);
		sb->s_state &= ~EXT2_VALID_FS;
		sb->s_mnt_count++;
		sb->s_mtime = now_sec();
		size_t n = strnlen(mp->path, sizeof(sb->s_last_mounted) - 1);
		if (sb->s_rev_level > 0) {
			memset(sb->s_last_mounted, 0, sizeof(sb->s_last_mounted));
			memcpy(sb->s_last_mounted, mp->path, n);
		}
		em->sb_dirty = 1;
		/* The volume is marked in use on the disk before anything else. */
		if ((err = ext2_write_super(em)) != 0 || (err = bcache_sync(em->bc)) != 0)
			goto fail;
	}
	struct vnode *root;
	if ((err = ext2_vget(em, EXT2_ROOT_INO, &root)) != 0)
		goto fail;
	if (!S_ISDIR(root->mode)) {
		kprintf("rumprun: ext2 %s: the root is not a directory\n", mp->source);
		err = -EINVAL;
		goto fail;
	}
	root->mount = mp;
	root->parent = root;
	vnode_hold(root);
	*rootp = root;
	return 0;
fail:
	mp->data = NULL;
	if (em->bc)
		bcache_destroy(em->bc);
	if (em->gd)
		kfree(em->gd, (size_t)em->gd_blocks * em->bsize);
	if (em->vhash)
		kfree(em->vhash, em->nvhash * sizeof(*em->vhash));
	kfree(em, sizeof(*em));
	return err;
}

static const struct vfs_fstype ext2_type = {
    .name = "ext2",
    .needs_blkdev = 1,
    .probe = ext2_probe,
    .mount = ext2_mount,
};
VFS_FSTYPE_REGISTER(ext2_type);
