/*
 * ext2: directories.  Linear directories of variable-length entries
 * (inode, rec_len, name_len, file_type, name), never crossing a block.
 * Entries are added in the first gap that fits (splitting an entry's
 * slack) or in a new block; removed by merging into the entry before (or
 * clearing the inode of the first entry of a block).  Hashed (htree)
 * directories read as linear ones (their index blocks look like empty
 * entries); the first change to one clears its index flag, as Linux's
 * ext2 does, so the stale index is never believed.
 */
#include "ext2.h"
#include <dirent.h>

struct dirpos {
	struct buf *b; /* held, the block holding the entry */
	unsigned off; /* the entry's offset in the block */
	int prev; /* offset of the entry before in the block, or -1 */
};

static int bad_entry(struct vnode *dir, const struct ext2_dirent *de, unsigned off)
{
	struct ext2_mount *em = EM(dir);
	if (de->rec_len >= 8 && (de->rec_len & 3) == 0 && off + de->rec_len <= em->bsize &&
	    de->name_len + 8u <= de->rec_len)
		return 0;
	kprintf("rumprun: ext2 %s: directory inode %lu is damaged (an entry at offset %u)\n",
	    em->mp->source, (unsigned long)dir->ino, off);
	return 1;
}

/* The directory's block lbn, held. */
static int dir_block(struct vnode *dir, uint64_t lbn, struct buf **bp)
{
	uint32_t bn;
	int err = ext2_bmap(dir, lbn, 0, &bn);
	if (err)
		return err;
	if (bn == 0)
		return -EIO; /* directories have no holes */
	return bread(EM(dir)->bc, bn, bp);
}

static int find_entry(struct vnode *dir, const char *name, size_t len, struct dirpos *dp)
{
	struct ext2_mount *em = EM(dir);
	uint64_t nblocks = (uint64_t)dir->size / em->bsize;
	for (uint64_t lbn = 0; lbn < nblocks; lbn++) {
		struct buf *b;
		int err = dir_block(dir, lbn, &b);
		if (err)
			return err;
		int prev = -1;
		for (unsigned off = 0; off < em->bsize;) {
			struct ext2_dirent *de = (struct ext2_dirent *)(b->data + off);
			if (bad_entry(dir, de, off)) {
				brelse(b);
				return -EIO;
			}
			if (de->inode && de->name_len == len && memcmp(de->name, name, len) == 0) {
				dp->b = b;
				dp->off = off;
				dp->prev = prev;
				return 0;
			}
			prev = (int)off;
			off += de->rec_len;
		}
		brelse(b);
	}
	return -ENOENT;
}

static uint8_t ftype_of(struct ext2_mount *em, mode_t mode)
{
	if (!em->filetype)
		return FT_UNKNOWN;
	switch (mode & S_IFMT) {
	case S_IFREG:
		return FT_REG;
	case S_IFDIR:
		return FT_DIR;
	case S_IFCHR:
		return FT_CHR;
	case S_IFBLK:
		return FT_BLK;
	case S_IFIFO:
		return FT_FIFO;
	case S_IFSOCK:
		return FT_SOCK;
	case S_IFLNK:
		return FT_LNK;
	default:
		return FT_UNKNOWN;
	}
}

static unsigned char dtype_of(uint8_t ft)
{
	static const unsigned char map[] = {
	    DT_UNKNOWN,
	    DT_REG,
	    DT_DIR,
	    DT_CHR,
	    DT_BLK,
	    DT_FIFO,
	    DT_SOCK,
	    DT_LNK,
	};
	return ft < ARRAY_SIZE(map) ? map[ft] : DT_UNKNOWN;
}

/* A change to dir: times, and no more trusting an htree index. */
static void dir_changed(struct vnode *dir)
{
	EI(dir)->flags &= ~EXT2_INDEX_FL;
	vnode_touch(dir, 0, 1, 1);
}

static void put_entry(
    struct ext2_dirent *de, uint32_t ino, const char *name, size_t len, uint8_t ft)
{
	de->inode = ino;
	de->name_len = (uint8_t)len;
	de->file_type = ft;
	memcpy(de->name, name, len);
}

static int add_entry(struct vnode *dir, const char *name, size_t len, uint32_t ino, uint8_t ft)
{
	struct ext2_mount *em = EM(dir);
	unsigned need = DIRENT_SIZE(len);
	uint64_t nblocks = (uint64_t)dir->size / em->bsize;
	for (uint64_t lbn = 0; lbn < nblocks; lbn++) {
		struct buf *b;
		int err = dir_block(dir, lbn, &b);
		if (err)
			return err;
		for (unsigned off = 0; off < em->bsize;) {
			struct ext2_dirent *de = (struct ext2_dirent *)(b->data + off);
			if (bad_entry(dir, de, off)) {
				brelse(b);
				return -EIO;
			}
			unsigned used = de->inode ? DIRENT_SIZE(de->name_len) : 0;
			if (de->rec_len - used >= need) {
				if (used) {
					struct ext2_dirent *ne =
					    (struct ext2_dirent *)(b->data + off + used);
					ne->rec_len = (uint16_t)(de->rec_len - used);
					de->rec_len = (uint16_t)used;
					de = ne;
				}
				put_entry(de, ino, name, len, ft);
				bdirty(b, 1);
				brelse(b);
				dir_changed(dir);
				return 0;
			}
			off += de->rec_len;
		}
		brelse(b);
	}
	/* No room: a new block holding just this entry. */
	uint32_t bn;
	struct buf *b;
	int err;
	uint64_t old_blocks = dir->blocks;
	if ((err = ext2_bmap(dir, nblocks, 1, &bn)) != 0)
		return err;
	if ((err = bget(em->bc, bn, &b)) != 0)
		return err;
	memset(b->data, 0, em->bsize);
	struct ext2_dirent *de = (struct ext2_dirent *)b->data;
	de->rec_len = (uint16_t)em->bsize;
	put_entry(de, ino, name, len, ft);
	bdirty(b, 1);
	brelse(b);
	(void)old_blocks;
	dir->size += em->bsize;
	dir_changed(dir);
	return ext2_iupdate(dir);
}

static int remove_entry(struct vnode *dir, const char *name, size_t len)
{
	struct dirpos dp;
	int err = find_entry(dir, name, len, &dp);
	if (err)
		return err;
	struct ext2_dirent *de = (struct ext2_dirent *)(dp.b->data + dp.off);
	if (dp.prev >= 0) {
		struct ext2_dirent *pe = (struct ext2_dirent *)(dp.b->data + dp.prev);
		pe->rec_len = (uint16_t)(pe->rec_len + de->rec_len);
	} else {
		de->inode = 0;
	}
	bdirty(dp.b, 1);
	brelse(dp.b);
	dir_changed(dir);
	return 0;
}

struct vnode *ext2_lookup(struct vnode *dir, const char *name, size_t len)
{
	struct dirpos dp;
	struct vnode *v;
	if (find_entry(dir, name, len, &dp) != 0)
		return NULL;
	uint32_t ino = ((struct ext2_dirent *)(dp.b->data + dp.off))->inode;
	brelse(dp.b);
	if (ext2_vget(EM(dir), ino, &v) != 0)
		return NULL;
	if (S_ISDIR(v->mode) && v->parent == NULL && v != dir) {
		v->parent = dir;
		vnode_hold(dir);
	}
	return v;
}

int ext2_create(struct vnode *dir, const char *name, size_t len, mode_t mode, const char *target,
    struct vnode **vp)
{
	struct ext2_mount *em = EM(dir);
	struct vnode *v;
	size_t tlen = 0;
	int err;
	if (S_ISLNK(mode)) {
		tlen = strlen(target);
		if (tlen >= em->bsize)
			return -ENAMETOOLONG;
	}
	if (S_ISDIR(mode) && dir->nlink >= 65000)
		return -EMLINK;
	if ((err = ext2_newnode(em, dir, mode, &v)) != 0)
		return err;
	struct ext2_inode *ei = EI(v);
	if (S_ISDIR(mode)) {
		uint32_t bn;
		struct buf *b;
		if ((err = ext2_bmap(v, 0, 1, &bn)) != 0 || (err = bget(em->bc, bn, &b)) != 0)
			goto undo;
		memset(b->data, 0, em->bsize);
		struct ext2_dirent *dot = (struct ext2_dirent *)b->data;
		dot->rec_len = 12;
		put_entry(dot, (uint32_t)v->ino, ".", 1, ftype_of(em, S_IFDIR));
		struct ext2_dirent *dotdot = (struct ext2_dirent *)(b->data + 12);
		dotdot->rec_len = (uint16_t)(em->bsize - 12);
		put_entry(dotdot, (uint32_t)dir->ino, "..", 2, ftype_of(em, S_IFDIR));
		bdirty(b, 1);
		brelse(b);
		v->size = em->bsize;
		v->nlink = 2;
	} else if (S_ISLNK(mode)) {
		if (tlen < sizeof(ei->block)) {
			memcpy(ei->block, target, tlen);
		} else {
			uint32_t bn;
			struct buf *b;
			if ((err = ext2_bmap(v, 0, 1, &bn)) != 0 ||
			    (err = bget(em->bc, bn, &b)) != 0)
				goto undo;
			memset(b->data, 0, em->bsize);
			memcpy(b->data, target, tlen);
			bdirty(b, 1);
			brelse(b);
		}
		v->size = (off_t)tlen;
		if ((v->target = kmalloc(tlen + 1)) == NULL) {
			err = -ENOMEM;
			goto undo;
		}
		memcpy(v->target, target, tlen + 1);
		v->nlink = 1;
	} else {
		v->nlink = 1;
	}
	if ((err = add_entry(dir, name, len, (uint32_t)v->ino, ftype_of(em, mode))) != 0)
		goto undo;
	if (S_ISDIR(mode)) {
		dir->nlink++;
		v->parent = dir;
		vnode_hold(dir);
	}
	ext2_iupdate(v);
	ext2_iupdate(dir);
	*vp = v;
	return 0;
undo:
	v->nlink = 0; /* freed when the pending vnode is retired */
	return err;
}

int ext2_link(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	struct ext2_mount *em = EM(dir);
	if (v->nlink >= 65000)
		return -EMLINK;
	int err = add_entry(dir, name, len, (uint32_t)v->ino, ftype_of(em, v->mode));
	if (err)
		return err;
	v->nlink++;
	vnode_touch(v, 0, 0, 1);
	ext2_iupdate(v);
	return ext2_iupdate(dir);
}

int ext2_unlink(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	int err = remove_entry(dir, name, len);
	if (err)
		return err;
	if (S_ISDIR(v->mode)) {
		v->nlink = 0;
		if (dir->nlink > 2)
			dir->nlink--;
	} else if (v->nlink > 0) {
		v->nlink--;
	}
	vnode_touch(v, 0, 0, 1);
	ext2_iupdate(v);
	return ext2_iupdate(dir);
}

/* Point the moved directory v's ".." at ndir. */
static int set_dotdot(struct vnode *v, struct vnode *ndir)
{
	struct buf *b;
	int err = dir_block(v, 0, &b);
	if (err)
		return err;
	struct ext2_dirent *dot = (struct ext2_dirent *)b->data;
	if (bad_entry(v, dot, 0) || dot->rec_len + 12u > EM(v)->bsize) {
		brelse(b);
		return -EIO;
	}
	struct ext2_dirent *dotdot = (struct ext2_dirent *)(b->data + dot->rec_len);
	if (dotdot->name_len != 2 || memcmp(dotdot->name, "..", 2) != 0) {
		brelse(b);
		return -EIO;
	}
	dotdot->inode = (uint32_t)ndir->ino;
	bdirty(b, 1);
	brelse(b);
	EI(v)->flags &= ~EXT2_INDEX_FL;
	return 0;
}

int ext2_rename(struct vnode *odir, const char *oname, size_t olen, struct vnode *v,
    struct vnode *ndir, const char *nname, size_t nlen, struct vnode *tv)
{
	struct ext2_mount *em = EM(odir);
	int err;
	if (tv) {
		/* Replace the entry's inode in place: the name never vanishes. */
		struct dirpos dp;
		if ((err = find_entry(ndir, nname, nlen, &dp)) != 0)
			return err;
		struct ext2_dirent *de = (struct ext2_dirent *)(dp.b->data + dp.off);
		de->inode = (uint32_t)v->ino;
		de->file_type = ftype_of(em, v->mode);
		bdirty(dp.b, 1);
		brelse(dp.b);
		dir_changed(ndir);
		if (S_ISDIR(tv->mode)) {
			tv->nlink = 0;
			if (ndir->nlink > 2)
				ndir->nlink--;
		} else if (tv->nlink > 0) {
			tv->nlink--;
		}
		vnode_touch(tv, 0, 0, 1);
		ext2_iupdate(tv);
	} else if ((err = add_entry(ndir, nname, nlen, (uint32_t)v->ino, ftype_of(em, v->mode))) !=
	    0) {
		return err;
	}
	if ((err = remove_entry(odir, oname, olen)) != 0)
		kprintf("rumprun: ext2 %s: rename lost the old name (error %d)\n", em->mp->source,
		    -err);
	if (S_ISDIR(v->mode) && odir != ndir) {
		set_dotdot(v, ndir);
		if (odir->nlink > 2)
			odir->nlink--;
		ndir->nlink++;
		struct vnode *old = v->parent;
		vnode_hold(ndir);
		v->parent = ndir;
		if (old && old != v)
			vnode_rele(old);
	}
	vnode_touch(v, 0, 0, 1);
	ext2_iupdate(v);
	ext2_iupdate(odir);
	return ext2_iupdate(ndir);
}

int ext2_isempty(struct vnode *dir)
{
	struct ext2_mount *em = EM(dir);
	uint64_t nblocks = (uint64_t)dir->size / em->bsize;
	for (uint64_t lbn = 0; lbn < nblocks; lbn++) {
		struct buf *b;
		if (dir_block(dir, lbn, &b) != 0)
			return 0;
		for (unsigned off = 0; off < em->bsize;) {
			struct ext2_dirent *de = (struct ext2_dirent *)(b->data + off);
			if (bad_entry(dir, de, off)) {
				brelse(b);
				return 0;
			}
			if (de->inode && !(de->name_len == 1 && de->name[0] == '.') &&
			    !(de->name_len == 2 && de->name[0] == '.' && de->name[1] == '.')) {
				brelse(b);
				return 0;
			}
			off += de->rec_len;
		}
		brelse(b);
	}
	return 1;
}

/* Cookies: 0 ".", 1 "..", then 2 + the entry's byte offset. */
int ext2_readdir(struct vnode *dir, off_t *cookie,
    int (*emit)(void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len),
    void *arg)
{
	struct ext2_mount *em = EM(dir);
	off_t c = *cookie;
	if (c == 0) {
		if (emit(arg, dir->ino, 1, DT_DIR, ".", 1))
			return 0;
		*cookie = c = 1;
	}
	if (c == 1) {
		ino_t pino = dir->parent ? dir->parent->ino : dir->ino;
		if (emit(arg, pino, 2, DT_DIR, "..", 2))
			return 0;
		*cookie = c = 2;
	}
	uint64_t pos = (uint64_t)(c - 2);
	uint64_t size = (uint64_t)dir->size;
	while (pos < size) {
		uint64_t lbn = pos / em->bsize, base = lbn * em->bsize;
		unsigned want = (unsigned)(pos - base);
		struct buf *b;
		int err = dir_block(dir, lbn, &b);
		if (err)
			return err;
		for (unsigned off = 0; off < em->bsize;) {
			struct ext2_dirent *de = (struct ext2_dirent *)(b->data + off);
			if (bad_entry(dir, de, off)) {
				brelse(b);
				return -EIO;
			}
			unsigned next = off + de->rec_len;
			if (off >= want && de->inode &&
			    !(de->name_len == 1 && de->name[0] == '.') &&
			    !(de->name_len == 2 && de->name[0] == '.' && de->name[1] == '.')) {
				if (emit(arg, de->inode, (off_t)(2 + base + next),
				        em->filetype ? dtype_of(de->file_type) : DT_UNKNOWN,
				        de->name, de->name_len)) {
					*cookie = (off_t)(2 + base + off);
					brelse(b);
					return 0;
				}
			}
			off = next;
		}
		brelse(b);
		pos = base + em->bsize;
		*cookie = (off_t)(2 + pos);
	}
	*cookie = (off_t)(2 + size);
	return 0;
}
