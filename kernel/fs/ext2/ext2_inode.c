/*
 * ext2: inodes and file contents.  Loading inodes into vnodes (a cache per
 * volume, by inode number), writing them back, the block map (direct,
 * indirect, double and triple indirect blocks; holes read as zeros),
 * reading, writing, truncating, and freeing inodes whose last name and
 * last reference are gone.
 */
#include "ext2.h"

static uint32_t ino_group(struct ext2_mount *em, uint32_t ino)
{
	return (ino - 1) / em->sb.s_inodes_per_group;
}

/* The block holding inode ino, and the inode's offset in it. */
static int inode_block(struct ext2_mount *em, uint32_t ino, uint32_t *blk, unsigned *off)
{
	if (ino < 1 || ino > em->sb.s_inodes_count)
		return -EIO;
	uint32_t g = ino_group(em, ino);
	uint32_t idx = (ino - 1) % em->sb.s_inodes_per_group;
	uint64_t byte = (uint64_t)idx * em->inode_size;
	*blk = em->gd[g].bg_inode_table + (uint32_t)(byte / em->bsize);
	*off = (unsigned)(byte % em->bsize);
	return 0;
}

static int is_fast_symlink(struct vnode *v)
{
	if (!S_ISLNK(v->mode))
		return 0;
	uint64_t acl = EI(v)->file_acl ? EM(v)->bsize / 512 : 0;
	return v->blocks - acl == 0 && v->size < (off_t)sizeof(EI(v)->block);
}

/* Fast symlinks keep their target in i_block: nothing to map or free. */
static int has_blocks(struct vnode *v)
{
	return (S_ISREG(v->mode) || S_ISDIR(v->mode) || S_ISLNK(v->mode)) && !is_fast_symlink(v);
}

static unsigned vhash_slot(struct ext2_mount *em, uint32_t ino) { return ino % em->nvhash; }

void ext2_vhash_remove(struct ext2_mount *em, struct vnode *v)
{
	struct vnode **pp = &em->vhash[vhash_slot(em, (uint32_t)v->ino)];
	while (*pp && *pp != v)
		pp = &EI(*pp)->hnext;
	if (*pp)
		*pp = EI(v)->hnext;
}

static void vhash_insert(struct ext2_mount *em, struct vnode *v)
{
	unsigned h = vhash_slot(em, (uint32_t)v->ino);
	EI(v)->hnext = em->vhash[h];
	em->vhash[h] = v;
}

static struct timespec dtime_of(uint32_t sec, uint32_t extra, int have_extra)
{
	struct timespec ts = {.tv_sec = (int32_t)sec, .tv_nsec = 0};
	if (have_extra) {
		ts.tv_sec += (int64_t)(extra & 3) << 32;
		ts.tv_nsec = extra >> 2;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_nsec = 0;
	}
	return ts;
}

static uint32_t extra_of(struct timespec ts)
{
	return ((uint32_t)ts.tv_nsec << 2) | (uint32_t)((ts.tv_sec >> 32) & 3);
}

static void free_vnode(struct vnode *v)
{
	if (v->target)
		kfree(v->target, strlen(v->target) + 1);
	kfree(v->fsdata, sizeof(struct ext2_inode));
	kfree(v, sizeof(*v));
}

/* Load a symlink's target into v->target. */
static int load_target(struct vnode *v)
{
	struct ext2_mount *em = EM(v);
	size_t n = (size_t)v->size;
	if (n >= 4096 || (!is_fast_symlink(v) && n > em->bsize))
		return -EIO;
	if ((v->target = kmalloc(n + 1)) == NULL)
		return -ENOMEM;
	if (is_fast_symlink(v)) {
		memcpy(v->target, EI(v)->block, n);
	} else {
		struct buf *b;
		int err = EI(v)->block[0] ? bread(em->bc, EI(v)->block[0], &b) : -EIO;
		if (err) {
			kfree(v->target, n + 1);
			v->target = NULL;
			return err;
		}
		memcpy(v->target, b->data, n);
		brelse(b);
	}
	v->target[n] = '\0';
	return 0;
}

int ext2_vget(struct ext2_mount *em, uint32_t ino, struct vnode **vp)
{
	for (struct vnode *v = em->vhash[vhash_slot(em, ino)]; v; v = EI(v)->hnext)
		if (v->ino == ino) {
			*vp = v;
			return 0;
		}
	uint32_t blk;
	unsigned off;
	struct buf *b;
	int err = inode_block(em, ino, &blk, &off);
	if (err || (err = bread(em->bc, blk, &b)) != 0)
		return err;
	struct ext2_dinode d;
	memset(&d, 0, sizeof(d));
	memcpy(&d, b->data + off, em->inode_size < sizeof(d) ? em->inode_size : sizeof(d));
	brelse(b);
	if (d.i_mode == 0 || d.i_links_count == 0) {
		kprintf("rumprun: ext2 %s: a directory names inode %u, which is not in "
		        "use (run e2fsck on the image)\n",
		    em->mp->source, ino);
		return -EIO;
	}
	if (d.i_flags & EXT2_EXTENTS_FL) {
		kprintf("rumprun: ext2 %s: inode %u uses extents (ext4)\n", em->mp->source, ino);
		return -EIO;
	}
	struct vnode *v = kzalloc(sizeof(*v));
	struct ext2_inode *ei = kzalloc(sizeof(*ei));
	if (v == NULL || ei == NULL) {
		if (v)
			kfree(v, sizeof(*v));
		if (ei)
			kfree(ei, sizeof(*ei));
		return -ENOMEM;
	}
	vnode_init_attrs(v, d.i_mode);
	v->ops = &ext2_vnode_ops;
	v->fsdata = ei;
	v->mount = em->mp;
	v->ino = ino;
	v->uid = d.i_uid | ((uint32_t)d.i_uid_high << 16);
	v->gid = d.i_gid | ((uint32_t)d.i_gid_high << 16);
	v->nlink = d.i_links_count;
	v->size = d.i_size;
	if (S_ISREG(d.i_mode))
		v->size |= (off_t)d.i_size_high << 32;
	int extra = em->inode_size > EXT2_GOOD_OLD_INODE_SIZE && d.i_extra_isize >= 16;
	v->atime = dtime_of(d.i_atime, d.i_atime_extra, extra);
	v->mtime = dtime_of(d.i_mtime, d.i_mtime_extra, extra);
	v->ctime = dtime_of(d.i_ctime, d.i_ctime_extra, extra);
	v->btime =
	    (extra && d.i_extra_isize >= 24) ? dtime_of(d.i_crtime, d.i_crtime_extra, 1) : v->ctime;
	v->vflags |= VN_BLOCKS;
	v->blocks = d.i_blocks;
	ei->em = em;
	memcpy(ei->block, d.i_block, sizeof(ei->block));
	ei->flags = d.i_flags;
	ei->file_acl = d.i_file_acl;
	ei->generation = d.i_generation;
	if (S_ISCHR(d.i_mode) || S_ISBLK(d.i_mode)) {
		uint32_t b0 = d.i_block[0], b1 = d.i_block[1];
		if (b0)
			v->rdev = ((b0 >> 8) & 0xff) << 8 | (b0 & 0xff);
		else
			v->rdev =
			    (((b1 >> 8) & 0xfff) << 8) | (b1 & 0xff) | ((b1 >> 12) & 0xfff00) << 12;
	}
	if (S_ISLNK(d.i_mode) && (err = load_target(v)) != 0) {
		free_vnode(v);
		return err;
	}
	vhash_insert(em, v);
	vnode_pending(v);
	*vp = v;
	return 0;
}

int ext2_iupdate(struct vnode *v)
{
	struct ext2_inode *ei = EI(v);
	struct ext2_mount *em = ei->em;
	if (em->readonly || ei->deleted)
		return 0;
	uint32_t blk;
	unsigned off;
	struct buf *b;
	int err = inode_block(em, (uint32_t)v->ino, &blk, &off);
	if (err || (err = bread(em->bc, blk, &b)) != 0)
		return err;
	size_t n = em->inode_size < sizeof(struct ext2_dinode) ? em->inode_size
	                                                       : sizeof(struct ext2_dinode);
	struct ext2_dinode d;
	memcpy(&d, b->data + off, n);
	d.i_mode = (uint16_t)v->mode;
	d.i_uid = (uint16_t)v->uid;
	d.i_gid = (uint16_t)v->gid;
	d.i_size = (uint32_t)v->size;
	d.i_size_high = S_ISREG(v->mode) ? (uint32_t)((uint64_t)v->size >> 32) : 0;
	d.i_atime = (uint32_t)v->atime.tv_sec;
	d.i_ctime = (uint32_t)v->ctime.tv_sec;
	d.i_mtime = (uint32_t)v->mtime.tv_sec;
	d.i_links_count = (uint16_t)v->nlink;
	d.i_blocks = (uint32_t)v->blocks;
	d.i_flags = ei->flags;
	memcpy(d.i_block, ei->block, sizeof(d.i_block));
	d.i_generation = ei->generation;
	d.i_file_acl = ei->file_acl;
	if (em->sb.s_creator_os == 0) { /* Linux's osd2 */
		d.i_blocks_hi = 0;
		d.i_uid_high = (uint16_t)(v->uid >> 16);
		d.i_gid_high = (uint16_t)(v->gid >> 16);
	}
	if (n > EXT2_GOOD_OLD_INODE_SIZE && d.i_extra_isize >= 16) {
		d.i_ctime_extra = extra_of(v->ctime);
		d.i_mtime_extra = extra_of(v->mtime);
		d.i_atime_extra = extra_of(v->atime);
		if (d.i_extra_isize >= 24) {
			d.i_crtime = (uint32_t)v->btime.tv_sec;
			d.i_crtime_extra = extra_of(v->btime);
		}
	}
	if (memcmp(b->data + off, &d, n) != 0) {
		memcpy(b->data + off, &d, n);
		bdirty(b, 1);
	}
	brelse(b);
	if (S_ISREG(v->mode) && v->size > 0x7fffffffLL &&
	    !(em->sb.s_feature_ro_compat & RO_COMPAT_LARGE_FILE) && em->sb.s_rev_level > 0) {
		em->sb.s_feature_ro_compat |= RO_COMPAT_LARGE_FILE;
		em->sb_dirty = 1;
	}
	return 0;
}

/* --- the block map ------------------------------------------------------- */

static uint32_t alloc_goal(struct vnode *v)
{
	struct ext2_inode *ei = EI(v);
	struct ext2_mount *em = ei->em;
	if (ei->alloc_goal)
		return ei->alloc_goal;
	return em->sb.s_first_data_block +
	    ino_group(em, (uint32_t)v->ino) * em->sb.s_blocks_per_group;
}

static int new_block(struct vnode *v, int meta, uint32_t *bnp)
{
	struct ext2_mount *em = EM(v);
	int err = ext2_alloc_block(em, alloc_goal(v), bnp);
	if (err)
		return err;
	EI(v)->alloc_goal = *bnp + 1;
	v->blocks += em->bsize / 512;
	if (meta) {
		/* An indirect block starts as zeros (no children). */
		struct buf *b;
		if ((err = bget(em->bc, *bnp, &b)) != 0)
			return err;
		memset(b->data, 0, em->bsize);
		bdirty(b, 1);
		brelse(b);
	}
	return 0;
}

/*
 * The physical block of logical block lbn in *bnp (0: a hole).  With
 * alloc, holes get blocks (and indirect blocks as needed); *newp says the
 * data block is new (its old contents are garbage: the caller zeroes it).
 */
static int bmap(struct vnode *v, uint64_t lbn, int alloc, uint32_t *bnp, int *newp)
{
	struct ext2_inode *ei = EI(v);
	struct ext2_mount *em = ei->em;
	uint64_t p = em->ptrs;
	int levels, err;
	uint32_t *slot;
	struct buf *held = NULL;

	if (newp)
		*newp = 0;
	if (lbn < EXT2_NDIR) {
		slot = &ei->block[lbn];
		levels = 0;
	} else if ((lbn -= EXT2_NDIR) < p) {
		slot = &ei->block[EXT2_IND];
		levels = 1;
	} else if ((lbn -= p) < p * p) {
		slot = &ei->block[EXT2_DIND];
		levels = 2;
	} else if ((lbn -= p * p) < p * p * p) {
		slot = &ei->block[EXT2_TIND];
		levels = 3;
	} else {
		return -EFBIG;
	}
	for (int level = levels;; level--) {
		if (*slot == 0) {
			if (!alloc) {
				*bnp = 0;
				err = 0;
				goto out;
			}
			uint32_t nb;
			if ((err = new_block(v, level > 0, &nb)) != 0)
				goto out;
			*slot = nb;
			if (held)
				bdirty(held, 1);
			if (level == 0 && newp)
				*newp = 1;
		}
		if (level == 0) {
			*bnp = *slot;
			err = 0;
			goto out;
		}
		struct buf *b;
		if ((err = bread(em->bc, *slot, &b)) != 0)
			goto out;
		if (held)
			brelse(held);
		held = b;
		uint64_t span = 1;
		for (int k = 1; k < level; k++)
			span *= p;
		slot = &((uint32_t *)b->data)[(lbn / span) % p];
	}
out:
	if (held)
		brelse(held);
	return err;
}

int ext2_bmap(struct vnode *v, uint64_t lbn, int alloc, uint32_t *bnp)
{
	return bmap(v, lbn, alloc, bnp, NULL);
}

/*
 * Free the blocks of the subtree under *slot (level 0: a data block)
 * whose logical blocks are >= keep; first is the subtree's first logical
 * block.  Clears *slot when the whole subtree went.  Returns whether the
 * containing block changed.
 */
static int free_tree(struct vnode *v, uint32_t *slot, int level, uint64_t first, uint64_t keep)
{
	struct ext2_mount *em = EM(v);
	uint64_t span = 1;
	for (int k = 0; k < level; k++)
		span *= em->ptrs;
	if (*slot == 0 || first + span <= keep)
		return 0;
	if (level > 0) {
		struct buf *b;
		if (bread(em->bc, *slot, &b) != 0)
			return 0;
		uint64_t child = span / em->ptrs;
		int changed = 0;
		uint32_t *ptr = (uint32_t *)b->data;
		for (unsigned i = 0; i < em->ptrs; i++)
			changed |= free_tree(v, &ptr[i], level - 1, first + i * child, keep);
		if (changed)
			bdirty(b, 1);
		brelse(b);
		if (first < keep)
			return 0; /* partly kept: the indirect block stays */
	}
	ext2_free_block(em, *slot);
	v->blocks -= em->bsize / 512;
	*slot = 0;
	return 1;
}

int ext2_itrunc(struct vnode *v, uint64_t size)
{
	struct ext2_inode *ei = EI(v);
	struct ext2_mount *em = ei->em;
	uint64_t keep = (size + em->bsize - 1) / em->bsize;
	uint64_t p = em->ptrs;
	if (has_blocks(v)) {
		/* The kept part of the last block: zeros past the new end. */
		if (size % em->bsize && size < (uint64_t)v->size) {
			uint32_t bn;
			struct buf *b;
			if (bmap(v, size / em->bsize, 0, &bn, NULL) == 0 && bn &&
			    bread(em->bc, bn, &b) == 0) {
				memset(b->data + size % em->bsize, 0, em->bsize - size % em->bsize);
				bdirty(b, S_ISDIR(v->mode));
				brelse(b);
			}
		}
		for (unsigned i = 0; i < EXT2_NDIR; i++)
			free_tree(v, &ei->block[i], 0, i, keep);
		free_tree(v, &ei->block[EXT2_IND], 1, EXT2_NDIR, keep);
		free_tree(v, &ei->block[EXT2_DIND], 2, EXT2_NDIR + p, keep);
		free_tree(v, &ei->block[EXT2_TIND], 3, EXT2_NDIR + p + p * p, keep);
	}
	v->size = (off_t)size;
	if (ei->alloc_goal == 0 || size == 0)
		ei->alloc_goal = 0;
	return ext2_iupdate(v);
}

/* --- contents ------------------------------------------------------------ */

#define READ_AHEAD (256 * 1024)

/* Bring the blocks of [off, off + len) into the cache in few requests. */
static void prefetch(struct vnode *v, off_t off, size_t len)
{
	struct ext2_mount *em = EM(v);
	uint64_t lbn = off / em->bsize, end = (off + len + em->bsize - 1) / em->bsize;
	uint32_t run_start = 0, run_len = 0;
	for (; lbn < end; lbn++) {
		uint32_t bn;
		if (bmap(v, lbn, 0, &bn, NULL) != 0)
			break;
		if (bn && run_len && bn == run_start + run_len) {
			run_len++;
			continue;
		}
		if (run_len > 1)
			bcache_prefetch(em->bc, run_start, run_len);
		run_start = bn;
		run_len = bn ? 1 : 0;
	}
	if (run_len > 1)
		bcache_prefetch(em->bc, run_start, run_len);
}

ssize_t ext2_read(struct vnode *v, void *buf, size_t len, off_t off)
{
	struct ext2_mount *em = EM(v);
	if (S_ISDIR(v->mode))
		return -EISDIR;
	if (off >= v->size)
		return 0;
	if ((uint64_t)len > (uint64_t)(v->size - off))
		len = (size_t)(v->size - off);
	if (len > em->bsize) {
		size_t ahead = len + READ_AHEAD;
		if ((uint64_t)ahead > (uint64_t)(v->size - off))
			ahead = (size_t)(v->size - off);
		prefetch(v, off, ahead);
	}
	size_t done = 0;
	while (done < len) {
		uint64_t pos = (uint64_t)off + done;
		unsigned boff = pos % em->bsize;
		size_t n = em->bsize - boff;
		if (n > len - done)
			n = len - done;
		uint32_t bn;
		int err = bmap(v, pos / em->bsize, 0, &bn, NULL);
		if (err == 0 && bn) {
			struct buf *b;
			if ((err = bread(em->bc, bn, &b)) == 0) {
				memcpy((char *)buf + done, b->data + boff, n);
				brelse(b);
			}
		} else if (err == 0) {
			memset((char *)buf + done, 0, n);
		}
		if (err)
			return done ? (ssize_t)done : err;
		done += n;
	}
	return (ssize_t)done;
}

ssize_t ext2_write(struct vnode *v, const void *buf, size_t len, off_t off)
{
	struct ext2_mount *em = EM(v);
	uint64_t p = em->ptrs;
	uint64_t max_blocks = EXT2_NDIR + p + p * p + p * p * p;
	uint64_t max = max_blocks * em->bsize;
	if ((uint64_t)off >= max || (uint64_t)off + len > max) {
		if ((uint64_t)off >= max)
			return -EFBIG;
		len = (size_t)(max - (uint64_t)off);
	}
	size_t done = 0;
	int err = 0;
	while (done < len) {
		uint64_t pos = (uint64_t)off + done;
		unsigned boff = pos % em->bsize;
		size_t n = em->bsize - boff;
		if (n > len - done)
			n = len - done;
		uint32_t bn;
		int isnew;
		if ((err = bmap(v, pos / em->bsize, 1, &bn, &isnew)) != 0)
			break;
		struct buf *b;
		if (n == em->bsize || isnew)
			err = bget(em->bc, bn, &b);
		else
			err = bread(em->bc, bn, &b);
		if (err)
			break;
		if (isnew && n < em->bsize)
			memset(b->data, 0, em->bsize);
		memcpy(b->data + boff, (const char *)buf + done, n);
		bdirty(b, S_ISDIR(v->mode));
		brelse(b);
		done += n;
		if ((off_t)(pos + n) > v->size)
			v->size = (off_t)(pos + n);
	}
	ext2_iupdate(v);
	return done ? (ssize_t)done : err;
}

int ext2_truncate(struct vnode *v, off_t len)
{
	if (S_ISDIR(v->mode))
		return -EISDIR;
	return ext2_itrunc(v, (uint64_t)len);
}

/* Free an extended attribute block (one more user gone). */
static void drop_xattr_block(struct vnode *v)
{
	struct ext2_mount *em = EM(v);
	struct ext2_inode *ei = EI(v);
	struct buf *b;
	if (ei->file_acl == 0 || bread(em->bc, ei->file_acl, &b) != 0)
		return;
	uint32_t *hdr = (uint32_t *)b->data; /* magic, refcount, blocks, hash */
	int free_it = 1;
	if (hdr[0] == 0xEA020000 && hdr[1] > 1) {
		hdr[1]--;
		bdirty(b, 1);
		free_it = 0;
	}
	brelse(b);
	if (free_it) {
		ext2_free_block(em, ei->file_acl);
		v->blocks -= em->bsize / 512;
	}
	ei->file_acl = 0;
}

void ext2_inactive(struct vnode *v)
{
	struct ext2_inode *ei = EI(v);
	struct ext2_mount *em = ei->em;
	if (v->nlink == 0 && !em->readonly && !ei->deleted) {
		/* No names and no users: the inode and its blocks go. */
		ext2_itrunc(v, 0);
		drop_xattr_block(v);
		uint32_t blk;
		unsigned off;
		struct buf *b;
		ext2_iupdate(v);
		if (inode_block(em, (uint32_t)v->ino, &blk, &off) == 0 &&
		    bread(em->bc, blk, &b) == 0) {
			struct ext2_dinode *d = (struct ext2_dinode *)(b->data + off);
			d->i_dtime = (uint32_t)(time_wall_ns() / 1000000000);
			d->i_links_count = 0;
			if (d->i_dtime == 0)
				d->i_dtime = 1;
			bdirty(b, 1);
			brelse(b);
		}
		ext2_free_inode(em, (uint32_t)v->ino, S_ISDIR(v->mode));
		ei->deleted = 1;
	} else {
		ext2_iupdate(v);
	}
	ext2_vhash_remove(em, v);
	struct vnode *parent = v->parent;
	v->parent = NULL;
	free_vnode(v);
	if (parent && parent != v)
		vnode_rele(parent);
}

int ext2_fsync(struct vnode *v, int datasync)
{
	(void)datasync;
	struct ext2_mount *em = EM(v);
	if (em->readonly)
		return 0;
	return em->mp->ops->sync(em->mp);
}

/* A new inode of mode (no names yet), near dir; unheld (pending). */
int ext2_newnode(struct ext2_mount *em, struct vnode *dir, mode_t mode, struct vnode **vp)
{
	uint32_t ino, blk;
	unsigned off;
	int err = ext2_alloc_inode(em, (uint32_t)dir->ino, S_ISDIR(mode), &ino);
	if (err)
		return err;
	struct buf *b;
	if ((err = inode_block(em, ino, &blk, &off)) != 0 || (err = bread(em->bc, blk, &b)) != 0) {
		ext2_free_inode(em, ino, S_ISDIR(mode));
		return err;
	}
	struct ext2_dinode *d = (struct ext2_dinode *)(b->data + off);
	uint32_t generation = d->i_generation + 1;
	memset(b->data + off, 0, em->inode_size);
	if (em->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		unsigned room = em->inode_size - EXT2_GOOD_OLD_INODE_SIZE;
		d->i_extra_isize = room < 32 ? room & ~3u : 32;
	}
	bdirty(b, 1);
	brelse(b);
	struct vnode *v = kzalloc(sizeof(*v));
	struct ext2_inode *ei = kzalloc(sizeof(*ei));
	if (v == NULL || ei == NULL) {
		if (v)
			kfree(v, sizeof(*v));
		if (ei)
			kfree(ei, sizeof(*ei));
		ext2_free_inode(em, ino, S_ISDIR(mode));
		return -ENOMEM;
	}
	vnode_init_attrs(v, mode);
	v->ops = &ext2_vnode_ops;
	v->fsdata = ei;
	v->mount = em->mp;
	v->ino = ino;
	v->vflags |= VN_BLOCKS;
	ei->em = em;
	ei->generation = generation;
	vhash_insert(em, v);
	vnode_pending(v);
	*vp = v;
	return 0;
}

const struct vnode_ops ext2_vnode_ops = {
    .lookup = ext2_lookup,
    .create = ext2_create,
    .link = ext2_link,
    .unlink = ext2_unlink,
    .rename = ext2_rename,
    .isempty = ext2_isempty,
    .readdir = ext2_readdir,
    .read = ext2_read,
    .write = ext2_write,
    .truncate = ext2_truncate,
    .inactive = ext2_inactive,
    .fsync = ext2_fsync,
};
